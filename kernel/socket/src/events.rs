//! [`Events`]: a generation number and the tasks waiting for it to move. Every change that may
//! let a blocked call on a socket proceed bumps the socket's generation, wakes its waiters and
//! signals `vfs::readiness` (so `poll` and epoll waiters look again).
//!
//! A blocked call notes the generation, tries, and sleeps until the generation differs from
//! what it noted (the wait queue's condition looks only at the atomic, as wait-queue conditions
//! run with interrupts disabled): a change between the try and the sleep is never lost.

use crate::{Errno, Result};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};
use task::WaitQueue;

pub(crate) struct Events {
    generation: AtomicU32,
    waiters: WaitQueue,
}

impl Events {
    pub(crate) fn new() -> Arc<Events> {
        Arc::new(Events {
            generation: AtomicU32::new(0),
            waiters: WaitQueue::new(),
        })
    }

    pub(crate) fn seen(&self) -> u32 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Something changed: wake every waiter (and every `poll`/epoll waiter).
    pub(crate) fn notify(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.waiters.notify_all();
        vfs::readiness::changed();
    }

    /// Sleeps until the generation differs from `seen` or `deadline` (monotonic ns) passes.
    /// `EINTR` if a signal interrupts the wait or the task is being killed (a kill wakes a
    /// blocked task, and a task asked to die must not go to sleep), `EAGAIN` on timeout.
    pub(crate) fn wait(&self, seen: u32, deadline: Option<u64>) -> Result<()> {
        if task::kill_pending() {
            return Err(Errno::EINTR);
        }
        match self.waiters.wait_interruptible(
            &mut || self.generation.load(Ordering::SeqCst) != seen,
            deadline,
        ) {
            task::WaitEnd::Ready => Ok(()),
            task::WaitEnd::TimedOut => Err(Errno::EAGAIN),
            task::WaitEnd::Interrupted => Err(Errno::EINTR),
        }
    }
}

/// The deadline of a call that starts now with `timeout` (ns; `None`: none).
pub(crate) fn deadline(timeout: Option<u64>) -> Option<u64> {
    timeout.map(|t| time::monotonic_ns().saturating_add(t))
}
