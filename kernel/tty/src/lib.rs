//! The terminal line discipline of the console: what happens between the bytes a terminal
//! sends and what a reading program gets, following Linux's `termios` (the structure, flag
//! bits and control characters are Linux's, from `linux-raw-sys`).
//!
//! Canonical mode (the default): input is edited a line at a time (erase with DEL or
//! Backspace, kill the line with Ctrl-U, erase a word with Ctrl-W, end of file with Ctrl-D on
//! an empty line) and a reader gets a line once it is complete; `\r` arrives as `\n`; typed
//! characters are echoed, control characters as `^X`. Non-canonical (raw/cbreak) mode hands
//! over each byte as it comes. With `ISIG`, Ctrl-C, Ctrl-\ and Ctrl-Z are not input but
//! signals for the foreground job ([`Signal`]). Output processing (`OPOST` + `ONLCR`: `\n` ->
//! `\r\n`) is left to the writer, which asks [`Tty::translates_newlines`].
//!
//! Also the window-size query a serial terminal answers ([`SIZE_QUERY`],
//! [`parse_size_report`]).
//!
//! Pure logic with no I/O: the caller feeds received bytes and gets echo bytes and signals
//! back. Owns nothing else; depends on `alloc` and `linux-raw-sys`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use linux_raw_sys::general as g;

pub use g::termios as Termios;

/// Longest line canonical mode keeps (Linux's `N_TTY_BUF_SIZE` is 4096); further input is
/// dropped until the line ends.
pub const MAX_LINE: usize = 4095;
/// Most bytes waiting for readers before further input is dropped.
pub const MAX_PENDING: usize = 64 * 1024;

/// A signal the terminal raises for its foreground job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C (`VINTR`): `SIGINT`.
    Interrupt,
    /// Ctrl-\ (`VQUIT`): `SIGQUIT`.
    Quit,
    /// Ctrl-Z (`VSUSP`): `SIGTSTP`.
    Suspend,
}

impl Signal {
    /// The Linux signal number.
    pub fn number(self) -> i32 {
        match self {
            Signal::Interrupt => g::SIGINT as i32,
            Signal::Quit => g::SIGQUIT as i32,
            Signal::Suspend => g::SIGTSTP as i32,
        }
    }
}

/// What a read may take now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// This many bytes were copied.
    Data(usize),
    /// End of file (Ctrl-D on an empty line): a read returns 0.
    EndOfFile,
    /// Nothing yet: block (or `EAGAIN`).
    Empty,
}

/// The settings a terminal starts with (Linux's defaults for a new tty, as `stty sane`):
/// canonical, echoing, signals on, `\r` -> `\n` on input and `\n` -> `\r\n` on output.
pub fn default_termios() -> Termios {
    let mut cc = [0u8; 19];
    cc[g::VINTR as usize] = 0x03;
    cc[g::VQUIT as usize] = 0x1c;
    cc[g::VERASE as usize] = 0x7f;
    cc[g::VKILL as usize] = 0x15;
    cc[g::VEOF as usize] = 0x04;
    cc[g::VMIN as usize] = 1;
    cc[g::VSUSP as usize] = 0x1a;
    cc[g::VWERASE as usize] = 0x17;
    cc[g::VLNEXT as usize] = 0x16;
    Termios {
        c_iflag: g::ICRNL | g::IXON | g::IUTF8,
        c_oflag: g::OPOST | g::ONLCR,
        c_cflag: g::B38400 | g::CS8 | g::CREAD | g::HUPCL,
        c_lflag: g::ISIG
            | g::ICANON
            | g::ECHO
            | g::ECHOE
            | g::ECHOK
            | g::ECHOCTL
            | g::ECHOKE
            | g::IEXTEN,
        c_line: 0,
        c_cc: cc,
    }
}

/// Raw mode as `cfmakeraw` sets it: no line editing, echo, signals or translations.
pub fn make_raw(t: &mut Termios) {
    t.c_iflag &=
        !(g::IGNBRK | g::BRKINT | g::PARMRK | g::ISTRIP | g::INLCR | g::IGNCR | g::ICRNL | g::IXON);
    t.c_oflag &= !g::OPOST;
    t.c_lflag &= !(g::ECHO | g::ECHONL | g::ICANON | g::ISIG | g::IEXTEN);
    t.c_cflag = (t.c_cflag & !(g::CSIZE | g::PARENB)) | g::CS8;
    t.c_cc[g::VMIN as usize] = 1;
    t.c_cc[g::VTIME as usize] = 0;
}

/// What a terminal is sent to learn its size, as xterm's `resize` does (a serial line has
/// no way to tell): save the cursor, move it to row 999, column 999 (the terminal stops it at
/// its last row and column), ask for the cursor position report (`CSI 6 n`), restore the
/// cursor. The answer is `CSI rows ; cols R` ([`parse_size_report`]).
pub const SIZE_QUERY: &[u8] = b"\x1b7\x1b[999;999H\x1b[6n\x1b8";

/// The (rows, columns) of the first cursor position report (`ESC [ rows ; cols R`) in
/// `bytes`, the answer to [`SIZE_QUERY`]; bytes around it are ignored. `None` until a
/// complete, valid report has arrived.
pub fn parse_size_report(bytes: &[u8]) -> Option<(u16, u16)> {
    let mut rest = bytes;
    while let Some(at) = rest.windows(2).position(|w| w == b"\x1b[") {
        rest = &rest[at + 2..];
        let number = |s: &[u8]| -> Option<(u16, usize)> {
            let len = s.iter().take_while(|b| b.is_ascii_digit()).count();
            let text = core::str::from_utf8(&s[..len]).ok()?;
            Some((text.parse().ok().filter(|&n| n > 0)?, len))
        };
        let Some((rows, len)) = number(rest) else {
            continue;
        };
        if rest.get(len) != Some(&b';') {
            continue;
        }
        let Some((cols, len2)) = number(&rest[len + 1..]) else {
            continue;
        };
        if rest.get(len + 1 + len2) == Some(&b'R') {
            return Some((rows, cols));
        }
    }
    None
}

/// One entry of the queue readers take from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Byte(u8),
    /// The end of a line that Ctrl-D handed over without a newline: a read stops there.
    Break,
    /// Ctrl-D on an empty line: the read that meets it first returns 0.
    EndOfFile,
}

/// One terminal's input state.
pub struct Tty {
    termios: Termios,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// What readers may take, in order.
    ready: VecDeque<Item>,
    /// The next byte is taken literally (after `VLNEXT`).
    literal_next: bool,
    /// Window size (rows, columns).
    size: (u16, u16),
}

impl Default for Tty {
    fn default() -> Self {
        Self::new()
    }
}

impl Tty {
    pub fn new() -> Tty {
        Tty {
            termios: default_termios(),
            line: Vec::new(),
            ready: VecDeque::new(),
            literal_next: false,
            size: (24, 80),
        }
    }

    pub fn termios(&self) -> Termios {
        self.termios
    }

    /// Applies new settings (`TCSETS`). Leaving canonical mode hands the partial line to
    /// readers, as Linux does.
    pub fn set_termios(&mut self, t: Termios) {
        let was_canonical = self.canonical();
        self.termios = t;
        if was_canonical && !self.canonical() {
            let line = core::mem::take(&mut self.line);
            self.push_ready(&line);
        }
    }

    /// Discards input not read yet (`TCSETSF`, `TCFLSH`).
    pub fn flush_input(&mut self) {
        self.line.clear();
        self.ready.clear();
    }

    /// Window size as (rows, columns).
    pub fn window_size(&self) -> (u16, u16) {
        self.size
    }

    pub fn set_window_size(&mut self, rows: u16, cols: u16) {
        self.size = (rows, cols);
    }

    /// True if output `\n` should be written as `\r\n` (`OPOST` and `ONLCR`).
    pub fn translates_newlines(&self) -> bool {
        let o = self.termios.c_oflag;
        o & g::OPOST != 0 && o & g::ONLCR != 0
    }

    fn canonical(&self) -> bool {
        self.termios.c_lflag & g::ICANON != 0
    }

    fn lflag(&self, flag: u32) -> bool {
        self.termios.c_lflag & flag != 0
    }

    fn cc(&self, index: u32) -> Option<u8> {
        // A control character of 0 (`_POSIX_VDISABLE`) is disabled.
        Some(self.termios.c_cc[index as usize]).filter(|&c| c != 0)
    }

    /// True if a read would not block.
    pub fn readable(&self) -> bool {
        !self.ready.is_empty()
    }

    fn push_ready(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.ready.len() < MAX_PENDING {
                self.ready.push_back(Item::Byte(b));
            }
        }
    }

    /// Processes one received byte. Echo goes to `echo` (before output processing); a signal
    /// for the foreground job is returned.
    pub fn input(&mut self, byte: u8, echo: &mut dyn FnMut(&[u8])) -> Option<Signal> {
        let iflag = self.termios.c_iflag;
        let mut byte = if iflag & g::ISTRIP != 0 {
            byte & 0x7f
        } else {
            byte
        };
        if self.literal_next {
            self.literal_next = false;
            self.add_char(byte, echo);
            return None;
        }
        match byte {
            b'\r' if iflag & g::IGNCR != 0 => return None,
            b'\r' if iflag & g::ICRNL != 0 => byte = b'\n',
            b'\n' if iflag & g::INLCR != 0 => byte = b'\r',
            _ => {}
        }
        if self.lflag(g::ISIG) {
            let signal = [
                (g::VINTR, Signal::Interrupt),
                (g::VQUIT, Signal::Quit),
                (g::VSUSP, Signal::Suspend),
            ]
            .into_iter()
            .find(|&(index, _)| self.cc(index) == Some(byte))
            .map(|(_, s)| s);
            if let Some(signal) = signal {
                if !self.lflag(g::NOFLSH) {
                    self.flush_input();
                }
                if self.lflag(g::ECHO) {
                    self.echo_char(byte, echo);
                }
                return Some(signal);
            }
        }
        if !self.canonical() {
            self.push_ready(&[byte]);
            if self.lflag(g::ECHO) || (byte == b'\n' && self.lflag(g::ECHONL)) {
                self.echo_char(byte, echo);
            }
            return None;
        }
        if self.lflag(g::IEXTEN) && self.cc(g::VLNEXT) == Some(byte) {
            self.literal_next = true;
            return None;
        }
        if self.cc(g::VERASE) == Some(byte) || byte == 0x08 {
            self.erase_chars(1, echo);
        } else if self.cc(g::VKILL) == Some(byte) {
            let n = self.line.len();
            self.erase_chars(n, echo);
        } else if self.lflag(g::IEXTEN) && self.cc(g::VWERASE) == Some(byte) {
            let trailing = self
                .line
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_whitespace());
            let spaces = trailing.count();
            let word = self.line[..self.line.len() - spaces]
                .iter()
                .rev()
                .take_while(|b| !b.is_ascii_whitespace())
                .count();
            self.erase_chars(spaces + word, echo);
        } else if self.cc(g::VEOF) == Some(byte) {
            // Ends the line without a newline; on an empty line, an end of file.
            let line = core::mem::take(&mut self.line);
            if line.is_empty() {
                self.ready.push_back(Item::EndOfFile);
            } else {
                self.push_ready(&line);
                self.ready.push_back(Item::Break);
            }
        } else if byte == b'\n' || self.cc(g::VEOL) == Some(byte) {
            let mut line = core::mem::take(&mut self.line);
            line.push(byte);
            self.push_ready(&line);
            if self.lflag(g::ECHO) || self.lflag(g::ECHONL) {
                echo(b"\n");
            }
        } else {
            self.add_char(byte, echo);
        }
        None
    }

    fn add_char(&mut self, byte: u8, echo: &mut dyn FnMut(&[u8])) {
        if !self.canonical() {
            self.push_ready(&[byte]);
        } else if self.line.len() < MAX_LINE {
            self.line.push(byte);
        } else {
            return;
        }
        if self.lflag(g::ECHO) {
            self.echo_char(byte, echo);
        }
    }

    /// Echoes `byte`, a control character as `^X` with `ECHOCTL`.
    fn echo_char(&self, byte: u8, echo: &mut dyn FnMut(&[u8])) {
        let control = byte < 0x20 && byte != b'\n' && byte != b'\t' || byte == 0x7f;
        if control && self.lflag(g::ECHOCTL) {
            echo(&[b'^', byte ^ 0x40]);
        } else {
            echo(&[byte]);
        }
    }

    /// Removes the last `n` characters of the line (a UTF-8 sequence counts as one), rubbing
    /// each out on the screen with `ECHOE` (two columns for a `^X`).
    fn erase_chars(&mut self, n: usize, echo: &mut dyn FnMut(&[u8])) {
        for _ in 0..n {
            let Some(last) = self.line.pop() else { break };
            if last >= 0x80 {
                // Drop the rest of a multi-byte character back to its first byte.
                let mut first = last;
                while first & 0xc0 == 0x80 {
                    match self.line.pop() {
                        Some(b) => first = b,
                        None => break,
                    }
                }
            }
            if self.lflag(g::ECHO) && self.lflag(g::ECHOE) {
                let width = if (last < 0x20 || last == 0x7f) && self.lflag(g::ECHOCTL) {
                    2
                } else {
                    1
                };
                for _ in 0..width {
                    echo(b"\x08 \x08");
                }
            }
        }
    }

    /// Takes what a read may get now: in canonical mode at most one line (up to and including
    /// its `\n`), otherwise every byte there is.
    pub fn read(&mut self, buf: &mut [u8]) -> Read {
        if buf.is_empty() {
            return Read::Data(0);
        }
        if self.ready.is_empty() {
            // VMIN 0: a read never waits.
            if !self.canonical() && self.termios.c_cc[g::VMIN as usize] == 0 {
                return Read::Data(0);
            }
            return Read::Empty;
        }
        let mut n = 0;
        while n < buf.len() {
            match self.ready.front().copied() {
                Some(Item::Byte(b)) => {
                    self.ready.pop_front();
                    buf[n] = b;
                    n += 1;
                    let line_end = b == b'\n' || self.cc(g::VEOL) == Some(b);
                    if self.canonical() && line_end {
                        break;
                    }
                }
                Some(Item::Break) => {
                    self.ready.pop_front();
                    if n > 0 {
                        break;
                    }
                }
                Some(Item::EndOfFile) if n == 0 => {
                    self.ready.pop_front();
                    return Read::EndOfFile;
                }
                // An end of file stays for the next read.
                Some(Item::EndOfFile) | None => break,
            }
        }
        if n == 0 {
            return Read::Empty;
        }
        Read::Data(n)
    }
}

#[cfg(test)]
mod tests;
