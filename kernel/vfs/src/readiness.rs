//! Readiness changes: one generation number, bumped (and its waiters woken) whenever some
//! open file may have become readable or writable (pipe reads and writes and closed ends,
//! console input, eventfd counters...). `poll`-style waiters note the generation, check their
//! files, and sleep until it moves or their deadline passes: no busy polling, and no wake-up
//! can be lost between the check and the sleep. Safe to signal from interrupt handlers.
//!
//! Files that become ready at a time rather than at an event (timer descriptors) hold a
//! [`Deadline`]: when the earliest one passes, the waiter that sees it bumps the generation,
//! so every waiter re-checks its files, with no task or interrupt dedicated to timers.

use alloc::collections::BTreeSet;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use task::WaitQueue;

static GENERATION: AtomicU32 = AtomicU32::new(0);
static WAITERS: WaitQueue = WaitQueue::new();

/// Some file's readiness may have changed: wake every waiter.
pub fn changed() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    WAITERS.notify_all();
}

/// The current generation (note it before checking files).
pub fn generation() -> u32 {
    GENERATION.load(Ordering::SeqCst)
}

/// Sleeps until the generation differs from `seen` or `deadline` (monotonic ns) passes.
/// Returns false on timeout; `EINTR` if a signal for the task interrupts the wait
/// ([`task::interrupt`]).
pub fn wait_change(seen: u32, deadline: Option<u64>) -> crate::Result<bool> {
    loop {
        let changed = || GENERATION.load(Ordering::SeqCst) != seen;
        if changed() {
            return Ok(true);
        }
        // A file's deadline that passed makes a change.
        let now = time::monotonic_ns();
        if take_passed(now) {
            self::changed();
            return Ok(true);
        }
        let next = with_deadlines(|d| d.first().map(|&(at, _)| at));
        let until = match (deadline, next) {
            (Some(d), Some(n)) => Some(d.min(n)),
            (d, n) => d.or(n),
        };
        match WAITERS.wait_interruptible(&mut || changed(), until) {
            task::WaitEnd::Ready => return Ok(true),
            task::WaitEnd::Interrupted => return Err(crate::Errno::EINTR),
            task::WaitEnd::TimedOut => {}
        }
        if deadline.is_some_and(|d| time::monotonic_ns() >= d) {
            return Ok(false);
        }
        // A deadline passed (or the wait was cut short): look again.
    }
}

/// Pending file deadlines: (monotonic ns, the [`Deadline`]'s number). Taken with interrupts
/// off (never held across a preemption).
static DEADLINES: spin::Mutex<BTreeSet<(u64, u64)>> = spin::Mutex::new(BTreeSet::new());

fn with_deadlines<R>(f: impl FnOnce(&mut BTreeSet<(u64, u64)>) -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(|| f(&mut DEADLINES.lock()))
}

/// Removes the deadlines at or before `now`; true if there were any.
fn take_passed(now: u64) -> bool {
    with_deadlines(|deadlines| {
        let mut any = false;
        while let Some(&first) = deadlines.first()
            && first.0 <= now
        {
            deadlines.remove(&first);
            any = true;
        }
        any
    })
}

/// The time (monotonic ns) at which a file becomes ready by itself, e.g. a timer
/// descriptor's next expiry: waiters wake then and re-check. Removed when dropped.
pub struct Deadline {
    id: u64,
    at: spin::Mutex<Option<u64>>,
}

impl Deadline {
    pub fn new() -> Deadline {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Deadline {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            at: spin::Mutex::new(None),
        }
    }

    /// Sets (or with `None` clears) the time, and wakes the waiters so they see it.
    pub fn set(&self, at: Option<u64>) {
        with_deadlines(|deadlines| {
            let mut mine = self.at.lock();
            if let Some(old) = mine.take() {
                deadlines.remove(&(old, self.id));
            }
            if let Some(at) = at {
                deadlines.insert((at, self.id));
            }
            *mine = at;
        });
        changed();
    }
}

impl Default for Deadline {
    fn default() -> Deadline {
        Deadline::new()
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        with_deadlines(|deadlines| {
            if let Some(at) = self.at.lock().take() {
                deadlines.remove(&(at, self.id));
            }
        });
    }
}
