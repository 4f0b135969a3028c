//! The serial console as a file (stdin/stdout/stderr) through its terminal line discipline
//! (`tty`), and the null device.

use crate::file::{File, FileKind, OpenStatus, Result, Stat, anonymous_ino};
use crate::{Errno, now};
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use spin::Mutex;
use task::WaitQueue;
use tty::{Read, Termios, Tty};
use x86_64::instructions::interrupts::without_interrupts;

/// Tasks blocked reading the console.
static INPUT_WAIT: WaitQueue = WaitQueue::new();

/// The console's line discipline. Taken with interrupts disabled (the COM1 interrupt feeds
/// it).
static TTY: Mutex<Option<Tty>> = Mutex::new(None);

/// The signal the terminal raised for the foreground job (Ctrl-C, Ctrl-\, Ctrl-Z), 0 if
/// none.
static PENDING_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The job (see [`ProcessContext::job`](crate::ProcessContext::job)) that owns the terminal's
/// input; 0 while the shell itself does (at its prompt).
static FOREGROUND: AtomicU64 = AtomicU64::new(0);

/// Set when the window size changes; the shell takes it ([`take_console_resized`]).
static RESIZED: AtomicBool = AtomicBool::new(false);

/// The last job id handed out by [`new_job_id`].
static LAST_JOB: AtomicU64 = AtomicU64::new(0);

/// `SIGTTIN`: what a background job that reads the terminal is stopped with.
const SIGTTIN: i32 = 21;

/// Where shell job ids start: above every task id (they count up from 1), so a job id never
/// equals a process id, which is what a process that makes a group of its own gets
/// (`setpgid(0, 0)`); below 2^31, so it is a valid `pid_t`.
const FIRST_JOB_ID: u64 = 1 << 30;

/// A new job id (process group) for a shell job, never 0.
pub fn new_job_id() -> u64 {
    FIRST_JOB_ID + LAST_JOB.fetch_add(1, Ordering::Relaxed)
}

/// Gives the terminal's input to job `job` (0: the shell's prompt). Readers of other jobs
/// are stopped with `SIGTTIN` (see [`Console`]).
pub fn set_console_foreground(job: u64) {
    FOREGROUND.store(job, Ordering::SeqCst);
    INPUT_WAIT.notify_all();
}

/// The job that owns the terminal's input (0: the shell).
pub fn console_foreground() -> u64 {
    FOREGROUND.load(Ordering::SeqCst)
}

/// The live tasks of job `job` (every thread of every process in it).
pub fn job_tasks(job: u64) -> alloc::vec::Vec<task::TaskId> {
    task::list()
        .into_iter()
        .filter(|t| t.state != task::State::Exited)
        .filter(|t| task::context_of::<crate::ProcessContext>(t.id).is_some_and(|c| c.job() == job))
        .map(|t| t.id)
        .collect()
}

/// If the calling task belongs to a job that does not own the terminal's input, stops that
/// whole job with `SIGTTIN` (as Linux does to a background process group that reads its
/// terminal) and returns once it is continued. Returns whether it stopped.
fn stop_if_background_reader() -> bool {
    let Some(ctx) = task::context::<crate::ProcessContext>() else {
        return false;
    };
    let job = ctx.job();
    drop(ctx);
    if job == 0 || job == console_foreground() {
        return false;
    }
    for id in job_tasks(job) {
        let _ = task::stop(id, SIGTTIN);
    }
    // Stopping here holds nothing: no lock is taken yet, as when the read blocks below.
    task::stop_point();
    task::kill_point();
    true
}

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

/// Records the console's window size (`TIOCSWINSZ`, the shell's `resize`). A change is
/// noted for the shell, which sends `SIGWINCH` to the foreground job
/// ([`take_console_resized`]).
pub fn set_console_window_size(rows: u16, cols: u16) {
    let changed = with_tty(|tty| {
        let changed = tty.window_size() != (rows, cols);
        tty.set_window_size(rows, cols);
        changed
    });
    if changed {
        RESIZED.store(true, Ordering::SeqCst);
    }
}

/// True if the window size changed since the last call (taking the note).
pub fn take_console_resized() -> bool {
    RESIZED.swap(false, Ordering::SeqCst)
}

/// The serial console: reads go through the line discipline (canonical by default: a read
/// waits for a complete line; see `tty`); writes go to the serial port, `\n` as `\r\n`
/// while the terminal's output processing says so. A reader whose job is not the
/// terminal's foreground job ([`set_console_foreground`]) is stopped with its job
/// (`SIGTTIN`) until the shell continues it, rather than taking the foreground's input.
pub struct Console {
    ino: u64,
    created: i64,
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

    fn status(&self) -> OpenStatus {
        OpenStatus {
            nonblocking: self.nonblocking.load(Ordering::Relaxed),
            ..OpenStatus::READ_WRITE
        }
    }

    fn path(&self) -> Option<String> {
        Some("/dev/console".into())
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            if stop_if_background_reader() {
                // Continued: in the foreground now, or stopped again on the next turn.
                continue;
            }
            match with_tty(|tty| tty.read(buf)) {
                Read::Data(n) => return Ok(n),
                Read::EndOfFile => return Ok(0),
                Read::Empty => {}
            }
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(Errno::EAGAIN);
            }
            // A change of foreground wakes the wait too: a background reader then stops.
            let job = task::context::<crate::ProcessContext>().map_or(0, |c| c.job());
            let end = INPUT_WAIT.wait_interruptible(
                &mut || with_tty(|tty| tty.readable()) || (job != 0 && job != console_foreground()),
                None,
            );
            if end == task::WaitEnd::Interrupted {
                return Err(Errno::EINTR);
            }
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        // A job stopped while it writes (Ctrl-Z during its output) stops here, holding
        // nothing, rather than printing over the shell's prompt.
        task::stop_point();
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
    created: i64,
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

    fn path(&self) -> Option<String> {
        Some(crate::NULL_DEVICE_PATH.into())
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
