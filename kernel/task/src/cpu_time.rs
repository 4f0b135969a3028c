//! The machine's CPU time by kind (what `/proc/stat` shows): time in tasks, the part of it in
//! user mode, time idle, and the number of task switches. Sums over every CPU.

use core::sync::atomic::{AtomicU64, Ordering};

static BUSY_NS: AtomicU64 = AtomicU64::new(0);
static USER_NS: AtomicU64 = AtomicU64::new(0);
static IDLE_NS: AtomicU64 = AtomicU64::new(0);
static SWITCHES: AtomicU64 = AtomicU64::new(0);

/// CPU time since boot, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// In tasks (user mode included), not counting the idle task.
    pub busy_ns: u64,
    /// The part of `busy_ns` in user mode (sampled by the timer tick).
    pub user_ns: u64,
    /// In the idle task (halted).
    pub idle_ns: u64,
    /// Task switches.
    pub switches: u64,
}

/// A task ran `ns` until a switch; `idle`: it was an idle task.
pub(crate) fn charge_run(idle: bool, ns: u64) {
    let counter = if idle { &IDLE_NS } else { &BUSY_NS };
    counter.fetch_add(ns, Ordering::Relaxed);
    SWITCHES.fetch_add(1, Ordering::Relaxed);
}

/// A timer tick of `ns` found a task in user mode.
pub(crate) fn charge_user(ns: u64) {
    USER_NS.fetch_add(ns, Ordering::Relaxed);
}

/// CPU time since boot.
pub fn cpu_times() -> CpuTimes {
    CpuTimes {
        busy_ns: BUSY_NS.load(Ordering::Relaxed),
        user_ns: USER_NS.load(Ordering::Relaxed),
        idle_ns: IDLE_NS.load(Ordering::Relaxed),
        switches: SWITCHES.load(Ordering::Relaxed),
    }
}
