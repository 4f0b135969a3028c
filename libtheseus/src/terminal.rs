//! The console as a terminal: its settings (Linux's `termios`: canonical or raw input, echo,
//! signal characters, output processing) and window size, for the terminal ioctls of
//! programs. The line discipline itself is the kernel's `tty`.

/// Linux's `struct termios` (the kernel's, 36 bytes: what `TCGETS` copies).
pub use vfs::Termios;

/// The console's current settings.
pub fn settings() -> Termios {
    vfs::console_termios()
}

/// Changes the console's settings; with `flush`, input not read yet is dropped first.
pub fn set_settings(termios: Termios, flush: bool) {
    vfs::set_console_termios(termios, flush)
}

/// The console's window size as (rows, columns).
pub fn window_size() -> (u16, u16) {
    vfs::console_window_size()
}

/// Records the console's window size.
pub fn set_window_size(rows: u16, cols: u16) {
    vfs::set_console_window_size(rows, cols)
}
