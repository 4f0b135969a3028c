//! Timer descriptors (Linux `timerfd_create(2)` semantics): a descriptor that expires at a
//! time, once or periodically. A read of 8 bytes returns how many expirations happened since
//! the last read (native-endian `u64`), blocking until there is at least one; readable (for
//! `poll` and `epoll`) once it has expired, through a [`vfs::readiness::Deadline`] at its next
//! expiry.
//!
//! Times are kept on the monotonic clock. A timer set on the real-time clock with an absolute
//! time is converted when it is set: a later change of the real-time clock does not move it.

use crate::fs::Fd;
use crate::{Errno, Result};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use spin::Mutex;
use vfs::{File, FileKind, Stat};

/// A timer's setting: time to the next expiry and the period (ns; 0 = disarmed / one shot),
/// as `itimerspec` holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setting {
    pub value_ns: u64,
    pub interval_ns: u64,
}

#[derive(Default)]
struct State {
    /// The next expiry (monotonic ns), `None` when disarmed.
    next: Option<u64>,
    interval: u64,
    /// Expirations counted and not read yet (at a re-arm, those before it stay readable).
    unread: u64,
}

impl State {
    /// Counts the expirations up to `now` into `unread` and moves `next` past `now`.
    fn advance(&mut self, now: u64) {
        let Some(next) = self.next else {
            return;
        };
        if next > now {
            return;
        }
        match (now - next).checked_div(self.interval) {
            // One shot.
            None => {
                self.unread = self.unread.saturating_add(1);
                self.next = None;
            }
            Some(periods) => {
                let n = periods + 1;
                self.unread = self.unread.saturating_add(n);
                self.next = Some(next.saturating_add(n.saturating_mul(self.interval)));
            }
        }
    }
}

pub(crate) struct TimerFd {
    state: Mutex<State>,
    /// Wakes `poll`/`epoll` waiters at the next expiry.
    deadline: vfs::readiness::Deadline,
    /// Bumped (and futex-woken) at each setting, so a blocked reader looks again.
    generation: AtomicU32,
    nonblocking: AtomicBool,
    /// What the layer above keeps with the timer (the POSIX layer: its clock).
    tag: u32,
    ino: u64,
    created: i64,
}

impl TimerFd {
    fn state(&self) -> spin::MutexGuard<'_, State> {
        let mut state = self.state.lock();
        state.advance(crate::time::monotonic_ns());
        state
    }

    fn setting(state: &State, now: u64) -> Setting {
        Setting {
            value_ns: state.next.map_or(0, |n| n.saturating_sub(now).max(1)),
            interval_ns: state.interval,
        }
    }
}

impl File for TimerFd {
    fn kind(&self) -> FileKind {
        // Linux reports an anonymous inode; a character device is the closest kind here.
        FileKind::CharDevice
    }

    fn status(&self) -> vfs::OpenStatus {
        vfs::OpenStatus {
            nonblocking: self.nonblocking.load(Ordering::Relaxed),
            ..vfs::OpenStatus::READ
        }
    }

    /// The expirations since the last read (8 bytes); blocks until there is one.
    fn read(&self, buf: &mut [u8]) -> vfs::Result<usize> {
        let Some(out) = buf.get_mut(..8) else {
            return Err(Errno::EINVAL);
        };
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            let next = {
                let mut state = self.state();
                if state.unread > 0 {
                    out.copy_from_slice(&state.unread.to_ne_bytes());
                    state.unread = 0;
                    let next = state.next;
                    drop(state);
                    self.deadline.set(next);
                    return Ok(8);
                }
                state.next
            };
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(Errno::EAGAIN);
            }
            // Until the next expiry, or a new setting (a disarmed timer waits for one).
            let timeout = next.map(|n| {
                core::time::Duration::from_nanos(n.saturating_sub(crate::time::monotonic_ns()))
            });
            let _ = crate::futex::wait(&self.generation, generation, timeout);
            task::kill_point();
        }
    }

    fn stat(&self) -> vfs::Result<Stat> {
        Ok(Stat::anonymous(
            FileKind::CharDevice,
            0,
            self.ino,
            self.created,
        ))
    }

    fn poll_readable(&self) -> bool {
        self.state().unread > 0
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

/// A new, disarmed timer descriptor on the lowest free descriptor, with `tag` kept for the
/// caller.
pub fn create(nonblocking: bool, tag: u32) -> Result<Fd> {
    // Inode numbers of timer descriptors: above those of message queues.
    static NEXT_INO: AtomicU64 = AtomicU64::new(6 << 48);
    vfs::install(Arc::new(TimerFd {
        state: Mutex::new(State::default()),
        deadline: vfs::readiness::Deadline::new(),
        generation: AtomicU32::new(0),
        nonblocking: AtomicBool::new(nonblocking),
        tag,
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        created: vfs::now(),
    }))
}

fn timer(fd: Fd) -> Result<Arc<TimerFd>> {
    let file: Arc<dyn core::any::Any + Send + Sync> = vfs::file(fd)?;
    file.downcast::<TimerFd>().map_err(|_| Errno::EINVAL)
}

/// The tag `fd`'s timer was created with (`EINVAL` if `fd` is not a timer descriptor).
pub fn tag(fd: Fd) -> Result<u32> {
    Ok(timer(fd)?.tag)
}

/// What is left of `fd`'s timer and its period (`timerfd_gettime`; `EINVAL` if `fd` is not a
/// timer descriptor).
pub fn get(fd: Fd) -> Result<Setting> {
    let timer = timer(fd)?;
    let state = timer.state();
    Ok(TimerFd::setting(&state, crate::time::monotonic_ns()))
}

/// Arms `fd`'s timer to expire at monotonic time `first_ns` (`None` disarms it), then every
/// `interval_ns` if not 0 (`timerfd_settime`). Expirations not read yet are dropped, as on
/// Linux. Returns the previous setting.
pub fn set(fd: Fd, first_ns: Option<u64>, interval_ns: u64) -> Result<Setting> {
    let timer = timer(fd)?;
    let now = crate::time::monotonic_ns();
    let (old, next) = {
        let mut state = timer.state();
        let old = TimerFd::setting(&state, now);
        state.next = first_ns;
        state.interval = if first_ns.is_some() { interval_ns } else { 0 };
        state.unread = 0;
        state.advance(now);
        (old, state.next)
    };
    timer.deadline.set(next);
    timer.generation.fetch_add(1, Ordering::SeqCst);
    crate::futex::wake_all(&timer.generation);
    Ok(old)
}
