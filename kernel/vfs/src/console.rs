//! The serial console as a file (stdin/stdout/stderr) and the null device.

use crate::file::{File, FileKind, Result, Stat, anonymous_ino};
use crate::{VfsError, now};
use core::sync::atomic::{AtomicBool, Ordering};
use task::WaitQueue;

/// Tasks blocked reading the console.
static INPUT_WAIT: WaitQueue = WaitQueue::new();

/// Wakes console readers. The COM1 interrupt handler calls it after
/// `serial::receive_pending()` moved bytes into the input queue. Interrupt-safe.
pub fn console_input_ready() {
    if serial::has_input() {
        INPUT_WAIT.notify_all();
        crate::readiness::changed();
    }
}

/// The serial console: reads take bytes from the interrupt-fed input queue (blocking until
/// at least one byte arrived, then returning what is there, like a terminal in raw mode);
/// writes go to `serial::write_bytes`.
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
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let mut n = 0;
            while n < buf.len() {
                match serial::read_byte() {
                    Some(b) => {
                        buf[n] = b;
                        n += 1;
                    }
                    None => break,
                }
            }
            if n > 0 {
                return Ok(n);
            }
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(VfsError::WouldBlock);
            }
            INPUT_WAIT.wait_until(serial::has_input);
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        serial::write_bytes(buf);
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
        serial::has_input()
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
