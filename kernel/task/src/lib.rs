//! Tasks: preemptive round-robin scheduling of kernel tasks (threads of the one address
//! space), spawn with a name, join with an exit value, exit, sleep, yield, kill; blocking wait
//! queues and a futex (wait/wake on an address) for higher-level synchronization; per-task
//! kernel stacks above guard pages, per-task TLS (`#[thread_local]` through FS base, and keys
//! with destructors), per-task CPU time, and a per-task context object that upper layers
//! (files, stdio) attach and that children inherit.
//!
//! Tasks run on every CPU: each CPU has its own running task, idle task and time slice, and
//! takes tasks from one run queue they share (behind a lock taken with interrupts disabled);
//! a task may be kept to some CPUs ([`set_affinity`]). See `scheduler` for the rules that
//! make switching and blocking safe across CPUs.
//!
//! This file holds the `Task` type and what the crate exports; the work is split by job:
//! `scheduler` (run queue, switching, blocking and waking, the timer tick), `lifecycle`
//! (spawn, task entry, exit, join), `registry` (live tasks by id, `list`), `kill` and `stop`
//! (kills and job-control stops, acted on at kill and stop points), `faults` (fault
//! handlers, pending faults, panic and kill payloads, `catch_unwind`), `context` (the upper
//! layers' context object, the user-mode entry stack), `wait` (wait queues, futex), `tls`,
//! `unwind` (raising and catching unwinds), `stack_pool` (ended tasks' stacks kept for the
//! next ones) and `switch` (the context switch).
//!
//! Depends on `memory` (stacks), `time` (tick hook, clock), `interrupts` (the per-CPU block:
//! running task, CPU index), `smp` (reschedule IPI, idle halt, the other CPUs' timer ticks),
//! `x86_64`, `spin`, `log`.

#![no_std]
#![feature(thread_local)]
#![feature(core_intrinsics)]
#![allow(internal_features)]

extern crate alloc;

mod context;
mod cpu_time;
mod faults;
mod kill;
mod lifecycle;
mod registry;
mod scheduler;
mod stack_pool;
mod stop;
mod switch;
mod tests;
mod tls;
mod unwind;
mod wait;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use spin::Mutex;
use x86_64::instructions::interrupts;

pub use context::{
    context, context_of, set_context, set_context_of, set_user_entry_stack, tasks_sharing_context,
    tasks_with_context, user_entry_stack, with_context,
};
pub use cpu_time::{CpuRunStats, CpuTimes, cpu_run_stats, cpu_times};
pub use faults::{
    FaultHandler, PanicPayload, catch_unwind, current_is_killable, current_is_unwinding,
    fault_handler, set_fault_handler, set_pending_fault, set_pending_user_fault, start_unwinding,
    take_pending_fault, take_pending_user_fault,
};
pub use kill::{KillError, kill, kill_pending, kill_point, pending_kill, set_async_stoppable};
pub use lifecycle::{
    Builder, JoinHandle, SpawnError, exit, exit_with, set_end_observer, set_ending_observer, spawn,
};
pub use registry::{TaskInfo, list, lookup};
pub use scheduler::{
    AffinityError, CpuHold, DEFAULT_PRIORITY, PRIORITIES, RunQueueStats, active_cpus, affinity,
    current, current_cpu, current_id, hold_other_cpus, init, prepare_cpu, run_queue_stats,
    run_this_cpu, set_affinity, sleep_ns, yield_now,
};
pub use stop::{resume, stop, stop_point, stop_signal};
pub use tls::TlsKey;
pub use wait::{
    FutexError, WaitEnd, WaitQueue, clear_interrupt, futex_wait, futex_wait_interruptible,
    futex_wake, interrupt, interrupt_pending, set_interrupt_deadline, sleep_until_interruptible,
};

use faults::{KillPayload, panic_reason};
use kill::KillRequest;
use lifecycle::{new_task, spawn_inner};
use registry::{TASKS, find};
use scheduler::{
    NO_CPU, STARTED, cancel_block, commit_block, enqueue, finish_switch, nudge, prepare_block,
    schedule, schedule_locked_irqs_off, wake, wake_if,
};
use stop::{make_runnable_if_stopped, stay_stopped, stop_if_async_stoppable};

pub type TaskId = u64;

/// A task's code as stored in its `Task`: runs the spawned closure the first time it is
/// called (`None` afterwards).
type Entry = dyn FnMut() -> Option<isize> + Send;

/// Default kernel stack size of a spawned task, in pages.
pub const DEFAULT_STACK_PAGES: u64 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Runnable,
    Running,
    Blocked,
    /// Stopped (job control, see [`stop`]): not scheduled until [`resume`] or [`kill`].
    Stopped,
    Exited,
}

/// How a task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitValue {
    /// Returned from its entry function (or called [`exit`]) with this value.
    Exited(isize),
    /// Killed: by a fault, a panic, or [`kill`]; the reason says which.
    Killed(String),
}

/// Why a blocked task woke up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeReason {
    Notified,
    TimedOut,
    Killed,
    /// [`interrupt`]: a signal for the task, which an interruptible wait gives up for.
    Interrupted,
}

pub(crate) struct SchedState {
    state: State,
    wake_reason: WakeReason,
    /// Incremented on every block, so a stale timeout cannot wake a later wait.
    block_seq: u64,
}

pub struct Task {
    id: TaskId,
    name: String,
    /// The name a program gave the thread (`PR_SET_NAME`: up to 15 bytes), shown instead of
    /// `name` in `/proc` and `ps`. Taken with interrupts off.
    comm: Mutex<Option<[u8; 16]>>,
    parent: TaskId,
    /// When the task was created (monotonic ns).
    started_ns: u64,
    sched: Mutex<SchedState>,
    saved_rsp: AtomicU64,
    /// The CPU on this task's stack (`NO_CPU` for none): set when a CPU picks the task,
    /// cleared once that CPU has switched away from it (its `saved_rsp` is complete then).
    /// No other CPU switches to the task meanwhile.
    on_cpu: AtomicUsize,
    /// The CPUs the task may run on (bit i: CPU index i).
    affinity: AtomicU64,
    /// Where this task enters the kernel from user mode (top of the free part of its kernel
    /// stack), 0 if it never runs user code.
    user_entry_rsp: AtomicU64,
    thread_pointer: u64,
    tls_block: Mutex<Option<tls::TlsBlock>>,
    stack: Mutex<Option<memory::Stack>>,
    /// The task's code. It stays owned by the task (not moved onto its stack) so that it is
    /// freed even when a stack overflow ends the task without unwinding.
    entry: Mutex<Option<Box<Entry>>>,
    exit: Mutex<Option<ExitValue>>,
    joiners: WaitQueue,
    cpu_ns: AtomicU64,
    /// The part of `cpu_ns` spent in user mode, sampled: each timer tick that interrupts the
    /// task in user mode charges one tick period.
    user_ns: AtomicU64,
    /// This task's CPU time together with that of every task it spawned, directly or not.
    totals: Arc<CpuTotals>,
    /// A pending [`kill`]: why, and when it was asked (monotonic ns). Taken only with
    /// interrupts disabled (the timer tick reads it).
    kill_request: Mutex<Option<KillRequest>>,
    /// Set with `kill_request`, so hot paths can test it without a lock.
    kill_flag: AtomicBool,
    /// Set by [`interrupt`] (a signal waits for the task), cleared by
    /// [`clear_interrupt`]: an interruptible wait returns at once while it is set.
    interrupt_flag: AtomicBool,
    /// True while the task is in an interruptible wait (a futex wait, a wait queue's or a sleep).
    interruptible: AtomicBool,
    /// [`set_interrupt_deadline`]: monotonic ns, 0 for none. Only the task itself touches it.
    interrupt_at: AtomicU64,
    /// The signal a pending or completed [`stop`] names (`SIGTSTP`, `SIGTTIN`...), 0 if the
    /// task is not asked to stop.
    stop_signal: core::sync::atomic::AtomicI32,
    /// True while the task runs code that holds no kernel lock (a wasm guest between host
    /// calls): a [`stop`] then takes effect at a timer tick, where it runs.
    async_stoppable: AtomicBool,
    keys: Mutex<BTreeMap<usize, u64>>,
    context: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
    unwinding: AtomicBool,
    pending_fault: Mutex<Option<String>>,
    /// A fault in user mode waiting for the kernel's user-fault path (frame and kind).
    pending_user_fault: Mutex<Option<Box<(::interrupts::TrapFrame, ::interrupts::FaultKind)>>>,
    fault_handler: Mutex<Option<FaultHandler>>,
    priority: core::sync::atomic::AtomicU8,
    idle: bool,
}

impl Task {
    pub fn id(&self) -> TaskId {
        self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The name a program gave the thread, if it gave one.
    pub fn comm(&self) -> Option<String> {
        let comm = interrupts::without_interrupts(|| *self.comm.lock())?;
        let len = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
        Some(String::from_utf8_lossy(&comm[..len]).into_owned())
    }
    /// Names the thread as a program does (`PR_SET_NAME`): its first 15 bytes are kept.
    pub fn set_comm(&self, name: &[u8]) {
        let mut comm = [0u8; 16];
        let len = name.len().min(15);
        comm[..len].copy_from_slice(&name[..len]);
        interrupts::without_interrupts(|| *self.comm.lock() = Some(comm));
    }
    /// Scheduling priority (see [`PRIORITIES`]).
    pub fn priority(&self) -> u8 {
        self.priority.load(Ordering::Relaxed)
    }
    pub fn state(&self) -> State {
        interrupts::without_interrupts(|| self.sched.lock().state)
    }
    /// The CPU the task runs on (or is being switched away from), if any.
    pub fn cpu(&self) -> Option<usize> {
        Some(self.on_cpu.load(Ordering::SeqCst)).filter(|&c| c != NO_CPU)
    }
    /// The CPUs the task may run on (bit i: CPU index i; see [`set_affinity`]).
    pub fn affinity(&self) -> u64 {
        self.affinity.load(Ordering::Relaxed)
    }
    /// CPU time used so far, in nanoseconds.
    pub fn cpu_ns(&self) -> u64 {
        self.cpu_ns.load(Ordering::Relaxed)
    }
    /// The part of [`Task::cpu_ns`] spent in user mode (sampled at timer ticks, so a multiple
    /// of 10 ms).
    pub fn user_ns(&self) -> u64 {
        self.user_ns.load(Ordering::Relaxed).min(self.cpu_ns())
    }
    /// CPU time of this task and of every task it spawned, directly or not (a program's
    /// threads and child processes): what `time` reports for a command.
    pub fn cpu_ns_with_descendants(&self) -> u64 {
        self.totals.cpu_ns.load(Ordering::Relaxed)
    }
    /// The user-mode part of [`Task::cpu_ns_with_descendants`].
    pub fn user_ns_with_descendants(&self) -> u64 {
        self.totals
            .user_ns
            .load(Ordering::Relaxed)
            .min(self.cpu_ns_with_descendants())
    }
    /// The exit value, once the task has ended.
    pub fn exit_value(&self) -> Option<ExitValue> {
        interrupts::without_interrupts(|| self.exit.lock().clone())
    }
    /// Where the task waits, if it is on no CPU: the frame pointer and return address its
    /// last switch saved (the start of its call chain, for a report on stuck tasks). `None`
    /// while a CPU runs it, once it has ended, or for a task without a stack of its own.
    pub fn switched_out_frame(&self) -> Option<(u64, u64)> {
        interrupts::without_interrupts(|| {
            // The stack cannot be given back (and unmapped) while its lock is held here.
            let stack = self.stack.lock();
            let stack = stack.as_ref()?;
            if self.on_cpu.load(Ordering::SeqCst) != NO_CPU {
                return None;
            }
            let rsp = self.saved_rsp.load(Ordering::SeqCst);
            if rsp < stack.bottom() || rsp.checked_add(switch::SAVED_FRAME_BYTES)? > stack.top() {
                return None;
            }
            // SAFETY: the saved frame lies in the task's mapped stack (checked above), which
            // stays mapped while its lock is held; the task may be switched in meanwhile, so
            // the words are plain data that may be stale.
            Some(unsafe { switch::saved_frame(rsp) })
        })
    }
    /// The bottom of the task's kernel stack and its guard page, if it has its own stack.
    pub fn stack_bounds(&self) -> Option<(u64, u64)> {
        interrupts::without_interrupts(|| {
            self.stack
                .lock()
                .as_ref()
                .map(|s| (s.guard_page(), s.top()))
        })
    }
}

/// CPU time of a task and its descendants: each task charges its own and every ancestor's
/// totals (a chain a few links long: boot, shell, job, threads, children).
struct CpuTotals {
    cpu_ns: AtomicU64,
    user_ns: AtomicU64,
    parent: Option<Arc<CpuTotals>>,
}

impl CpuTotals {
    fn charge(self: &Arc<Self>, field: fn(&CpuTotals) -> &AtomicU64, ns: u64) {
        let mut at: Option<&CpuTotals> = Some(self);
        while let Some(totals) = at {
            field(totals).fetch_add(ns, Ordering::Relaxed);
            at = totals.parent.as_deref();
        }
    }
}
