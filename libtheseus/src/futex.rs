//! The futex: block on a 32-bit atomic word until another thread wakes that address. The
//! building block of mutexes and condition variables (and of the Linux `futex` system call).

use crate::{Errno, Result};
use core::sync::atomic::AtomicU32;
use core::time::Duration;

/// Blocks while `*word == expected`, until [`wake`] is called on `word` or `timeout` passes.
/// The check and the sleep are atomic with respect to [`wake`]. Returns `Ok` when woken
/// (possibly spuriously: re-check the word), `EAGAIN` if the word was not `expected`,
/// `ETIMEDOUT` on timeout.
pub fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> Result<()> {
    let deadline = timeout.map(|t| {
        let ns = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
        time::monotonic_ns().saturating_add(ns)
    });
    wait_until(word, expected, deadline)
}

/// Like [`wait`] with an absolute deadline on the monotonic clock ([`crate::time::monotonic_ns`]).
pub fn wait_until(word: &AtomicU32, expected: u32, deadline_ns: Option<u64>) -> Result<()> {
    task::futex_wait(word, expected, deadline_ns).map_err(errno)
}

/// The errno of a futex wait's failure.
fn errno(e: task::FutexError) -> Errno {
    match e {
        task::FutexError::WouldBlock => Errno::EAGAIN,
        task::FutexError::TimedOut => Errno::ETIMEDOUT,
        task::FutexError::Interrupted => Errno::EINTR,
    }
}

/// [`wait_until`] that a signal for the thread interrupts (`EINTR`): see
/// [`crate::thread::interrupt`].
pub fn wait_until_interruptible(
    word: &AtomicU32,
    expected: u32,
    deadline_ns: Option<u64>,
) -> Result<()> {
    task::futex_wait_interruptible(word, expected, deadline_ns).map_err(errno)
}

/// Wakes up to `count` threads waiting on `word`; returns how many were woken.
pub fn wake(word: &AtomicU32, count: usize) -> usize {
    task::futex_wake(word, count)
}

/// Wakes every thread waiting on `word`.
pub fn wake_all(word: &AtomicU32) -> usize {
    wake(word, usize::MAX)
}
