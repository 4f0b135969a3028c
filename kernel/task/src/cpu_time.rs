//! The machine's CPU time by kind (what `/proc/stat` shows): time in tasks, the part of it in
//! user mode, time idle, and the number of task switches, summed over every CPU; and each
//! CPU's own time in tasks and idle and the switches to a task it made.

use crate::scheduler::MAX_CPUS;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};

static BUSY_NS: AtomicU64 = AtomicU64::new(0);
static USER_NS: AtomicU64 = AtomicU64::new(0);
static IDLE_NS: AtomicU64 = AtomicU64::new(0);
static SWITCHES: AtomicU64 = AtomicU64::new(0);

/// One CPU's share.
struct PerCpu {
    busy_ns: AtomicU64,
    user_ns: AtomicU64,
    idle_ns: AtomicU64,
    task_switches: AtomicU64,
    /// Since when the running task's time is not in the counters yet (monotonic ns; 0: the
    /// CPU runs no tasks yet), and whether it is the idle task: the time since is added when
    /// the stats are read.
    since_ns: AtomicU64,
    idle_now: AtomicBool,
    /// Odd while the CPU itself changes the counters, `since_ns` or `idle_now` (a sequence
    /// lock: a reader on another CPU retries until it saw them unchanged, so that it never
    /// counts a run twice or not at all, and `/proc/stat` never goes backwards).
    seq: AtomicU64,
}

/// Starts a change of CPU `cpu`'s times, counters and running mark (see `PerCpu::seq`),
/// before its clock is read for it: a reader that finds the sequence unchanged read the
/// clock before this, so the running time it added is part of what the change counts. Only
/// the CPU itself, interrupts disabled (writers never overlap); ended by [`end_update`].
pub(crate) fn begin_update(cpu: usize) {
    let c = &PER_CPU[cpu];
    c.seq
        .store(c.seq.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    fence(Ordering::SeqCst);
}

/// Ends the change [`begin_update`] started.
pub(crate) fn end_update(cpu: usize) {
    let c = &PER_CPU[cpu];
    c.seq
        .store(c.seq.load(Ordering::Relaxed) + 1, Ordering::Release);
}

static PER_CPU: [PerCpu; MAX_CPUS] = [const {
    PerCpu {
        busy_ns: AtomicU64::new(0),
        user_ns: AtomicU64::new(0),
        idle_ns: AtomicU64::new(0),
        task_switches: AtomicU64::new(0),
        since_ns: AtomicU64::new(0),
        idle_now: AtomicBool::new(false),
        seq: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// One CPU's time and switches since it started running tasks ([`cpu_run_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuRunStats {
    /// In tasks (user mode included).
    pub busy_ns: u64,
    /// The part of `busy_ns` in user mode (sampled by its timer ticks).
    pub user_ns: u64,
    /// In its idle task.
    pub idle_ns: u64,
    /// Switches to a task other than its idle task: how often it took a task to run.
    pub task_switches: u64,
}

/// CPU `cpu`'s time and switches (zeros for a CPU that runs no tasks).
pub fn cpu_run_stats(cpu: usize) -> CpuRunStats {
    let Some(c) = PER_CPU.get(cpu) else {
        return CpuRunStats::default();
    };
    let (mut stats, since, idle_now, now) = loop {
        let seq = c.seq.load(Ordering::Acquire);
        if seq % 2 == 1 {
            core::hint::spin_loop();
            continue;
        }
        let stats = CpuRunStats {
            busy_ns: c.busy_ns.load(Ordering::Relaxed),
            user_ns: c.user_ns.load(Ordering::Relaxed),
            idle_ns: c.idle_ns.load(Ordering::Relaxed),
            task_switches: c.task_switches.load(Ordering::Relaxed),
        };
        let since = c.since_ns.load(Ordering::Relaxed);
        let idle_now = c.idle_now.load(Ordering::Relaxed);
        // The clock before the second look: a switch that began after it counts at least
        // up to this time for the running task (see `begin_update`).
        let now = time::monotonic_ns();
        fence(Ordering::SeqCst);
        if c.seq.load(Ordering::Relaxed) == seq {
            break (stats, since, idle_now, now);
        }
    };
    if since != 0 {
        let running = now.saturating_sub(since);
        if idle_now {
            stats.idle_ns += running;
        } else {
            stats.busy_ns += running;
        }
    }
    stats
}

/// CPU `cpu` runs a task from `now` on (`idle`: its idle task). Inside an update
/// ([`begin_update`]) that read `now`.
pub(crate) fn started(cpu: usize, now: u64, idle: bool) {
    let c = &PER_CPU[cpu];
    c.idle_now.store(idle, Ordering::Relaxed);
    c.since_ns.store(now, Ordering::Relaxed);
}

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

/// The task running on CPU `cpu` (`idle`: its idle task) ran `ns` until `now` (a switch, or
/// a charge before its end): counted, the running time starts again at `now`. On the CPU
/// itself, interrupts disabled, inside an update ([`begin_update`]) that read `now`.
pub(crate) fn charge_run(cpu: usize, idle: bool, ns: u64, now: u64) {
    let counter = if idle { &IDLE_NS } else { &BUSY_NS };
    counter.fetch_add(ns, Ordering::Relaxed);
    let c = &PER_CPU[cpu];
    let own = if idle { &c.idle_ns } else { &c.busy_ns };
    own.fetch_add(ns, Ordering::Relaxed);
    if c.since_ns.load(Ordering::Relaxed) != 0 {
        c.since_ns.store(now, Ordering::Relaxed);
    }
}

/// CPU `cpu` switched to another task; `idle`: to its idle task.
pub(crate) fn count_switch(cpu: usize, idle: bool) {
    SWITCHES.fetch_add(1, Ordering::Relaxed);
    if !idle {
        PER_CPU[cpu].task_switches.fetch_add(1, Ordering::Relaxed);
    }
}

/// A timer tick of `ns` found a task in user mode on CPU `cpu`.
pub(crate) fn charge_user(cpu: usize, ns: u64) {
    USER_NS.fetch_add(ns, Ordering::Relaxed);
    PER_CPU[cpu].user_ns.fetch_add(ns, Ordering::Relaxed);
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
