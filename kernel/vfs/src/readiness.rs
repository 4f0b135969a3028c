//! Readiness changes: one generation number, bumped (and its waiters woken) whenever some
//! open file may have become readable or writable (pipe reads and writes and closed ends,
//! console input, eventfd counters...). `poll`-style waiters note the generation, check their
//! files, and sleep until it moves or their deadline passes: no busy polling, and no wake-up
//! can be lost between the check and the sleep. Safe to signal from interrupt handlers.

use core::sync::atomic::{AtomicU32, Ordering};
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
/// Returns false on timeout.
pub fn wait_change(seen: u32, deadline: Option<u64>) -> bool {
    WAITERS.wait_until_deadline(&mut || GENERATION.load(Ordering::SeqCst) != seen, deadline)
}
