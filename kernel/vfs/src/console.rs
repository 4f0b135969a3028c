//! The serial console as a file (stdin/stdout/stderr) through its terminal line discipline
//! (`tty`), and the null device.

use crate::file::{File, FileKind, Result, Stat, anonymous_ino};
use crate::{VfsError, now};
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use spin::Mutex;
use task::WaitQueue;
use tty::{Read, Termios, Tty};
use x86_64::instructions::interrupts::without_interrupts;

/// Tasks blocked reading the console.
static INPUT_WAIT: WaitQueue = WaitQueue::new();

/// The console's line discipline. Taken with interrupts disabled (the COM1 interrupt feeds
/// it).
static TTY: Mutex<Option<Tty>> = Mutex::new(None);

/// The signal the terminal raised for the foreground job (Ctrl-C, Ctrl-\), 0 if none.
static PENDING_SIGNAL: AtomicI32 = AtomicI32::new(0);

fn with_tty<R>(f: impl FnOnce(&mut Tty) -> R) -> R {
    without_interrupts(|| f(TTY.lock().get_or_insert_with(Tty::new)))
}

/// Runs the bytes the serial driver received through the line discipline (echoing them),
/// then wakes console readers. The COM1 interrupt handler calls it after
/// `serial::receive_pending()`. Interrupt-safe.
pub fn console_input_ready() {
    let mut any = false;
    with_tty(|tty| {
        while let Some(byte) = serial::read_byte() {
            any = true;
            if let Some(signal) = tty.input(byte, &mut |echo| serial::write_bytes(echo)) {
                PENDING_SIGNAL.store(signal.number(), Ordering::SeqCst);
            }
        }
    });
    if any {
        INPUT_WAIT.notify_all();
        crate::readiness::changed();
    }
}

/// The signal the console raised for the foreground job since the last call (2 for Ctrl-C,
/// 3 for Ctrl-\), taking it.
pub fn take_console_signal() -> Option<i32> {
    Some(PENDING_SIGNAL.swap(0, Ordering::SeqCst)).filter(|&s| s != 0)
}

/// True if the console raised a signal not taken yet.
pub fn console_signal_pending() -> bool {
    PENDING_SIGNAL.load(Ordering::SeqCst) != 0
}

/// Raises `signal` for the foreground job as if typed (e.g. a Ctrl-C from elsewhere).
pub fn raise_console_signal(signal: i32) {
    PENDING_SIGNAL.store(signal, Ordering::SeqCst);
}

/// The console's terminal settings (`TCGETS`).
pub fn console_termios() -> Termios {
    with_tty(|tty| tty.termios())
}

/// Changes the console's terminal settings (`TCSETS`); with `flush`, unread input is dropped
/// first (`TCSETSF`).
pub fn set_console_termios(termios: Termios, flush: bool) {
    with_tty(|tty| {
        if flush {
            tty.flush_input();
        }
        tty.set_termios(termios);
    });
    crate::readiness::changed();
}

/// The console's window size as (rows, columns) (`TIOCGWINSZ`).
pub fn console_window_size() -> (u16, u16) {
    with_tty(|tty| tty.window_size())
}

/// Records the console's window size (`TIOCSWINSZ`).
pub fn set_console_window_size(rows: u16, cols: u16) {
    with_tty(|tty| tty.set_window_size(rows, cols));
}

/// The serial console: reads go through the line discipline (canonical by default: a read
/// waits for a complete line; see `tty`); writes go to the serial port, `\n` as `\r\n`
/// while the terminal's output processing says so.
pub struct Console {
    ino: u64,
    created: u64,
    nonblocking: AtomicBool,
}

impl Console {
    pub fn new() -> Console {
        Console {
            ino: anonymous_ino(),
            created: now(),
            nonblocking: AtomicBool::new(false),
        }
    }
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl File for Console {
    fn kind(&self) -> FileKind {
        FileKind::CharDevice
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match with_tty(|tty| tty.read(buf)) {
                Read::Data(n) => return Ok(n),
                Read::EndOfFile => return Ok(0),
                Read::Empty => {}
            }
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(VfsError::WouldBlock);
            }
            INPUT_WAIT.wait_until(|| with_tty(|tty| tty.readable()));
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if with_tty(|tty| tty.translates_newlines()) {
            serial::write_bytes(buf);
        } else {
            serial::write_bytes_exact(buf);
        }
        Ok(buf.len())
    }

    fn stat(&self) -> Result<Stat> {
        Ok(Stat::anonymous(
            FileKind::CharDevice,
            0,
            self.ino,
            self.created,
        ))
    }

    fn poll_readable(&self) -> bool {
        with_tty(|tty| tty.readable())
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

/// `/dev/null`: reads end at once, writes are discarded.
pub struct NullDevice {
    ino: u64,
    created: u64,
}

impl NullDevice {
    pub fn new() -> NullDevice {
        NullDevice {
            ino: anonymous_ino(),
            created: now(),
        }
    }
}

impl Default for NullDevice {
    fn default() -> Self {
        Self::new()
    }
}

impl File for NullDevice {
    fn kind(&self) -> FileKind {
        FileKind::CharDevice
    }

    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Ok(0)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        Ok(buf.len())
    }

    fn stat(&self) -> Result<Stat> {
        Ok(Stat::anonymous(
            FileKind::CharDevice,
            0,
            self.ino,
            self.created,
        ))
    }
}
