//! The scheduler: the run queue (one round-robin queue per priority, shared by every CPU),
//! sleepers, each CPU's running task, switching between tasks, blocking and waking, and the
//! timer ticks that preempt.
//!
//! Every CPU runs tasks. Each has its own scheduler state ([`CpuSched`], indexed by
//! `interrupts::cpu_index`): the running task, its idle task, the task it just switched away
//! from, its time slice and the time of its last switch. The run queue and the sleepers are
//! shared, behind one lock taken with interrupts disabled. Lock order: a CPU's state, then
//! the queue, then a task's `sched` lock.
//!
//! A task carries an "on a CPU" mark ([`Task::on_cpu`]): set when a CPU picks it, cleared by
//! [`finish_switch`] on that CPU's next task, once `switch` has saved the task's stack
//! pointer. No CPU switches to a task another CPU has marked: a task preempted or woken while
//! its old CPU is still inside `switch` waits in the queue until the mark is gone (the CPU
//! that clears it wakes an idle CPU for it).
//!
//! Blocking is in two steps so that no wake-up is lost while another CPU runs the waker: the
//! task marks itself blocked first ([`prepare_block`]), then looks at its condition (a waker
//! that ran meanwhile has made it runnable again), then sleeps ([`commit_block`]) or goes on
//! ([`cancel_block`]).
//!
//! An idle CPU halts; a task made runnable wakes one idle CPU that may run it by the
//! reschedule IPI. Each CPU's own timer (the PIT on the boot CPU, the local APIC timer on the
//! others, 100 Hz each) drives its time slice; the sleepers are woken by the boot CPU's tick.

use crate::switch;
use crate::tls;
use crate::{
    DEFAULT_STACK_PAGES, SchedState, State, TASKS, Task, TaskId, WakeReason, kill_point, new_task,
    spawn_inner, stay_stopped, stop_if_async_stoppable,
};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use spin::Mutex;
use x86_64::instructions::interrupts;

/// Timer ticks a task runs before it is preempted (10 ms each).
const TIME_SLICE_TICKS: u32 = 2;

/// Scheduling priorities: 0 (lowest) to `PRIORITIES - 1`. A runnable task of a higher
/// priority always runs before lower ones on a CPU that may run it; equal priorities share
/// the CPUs round-robin.
pub const PRIORITIES: usize = 4;

/// The priority tasks get unless their spawner chooses another.
pub const DEFAULT_PRIORITY: u8 = 1;

/// The most CPUs the scheduler runs on (CPU indices are below this; affinity masks are one
/// `u64`).
pub(crate) const MAX_CPUS: usize = smp::MAX_CPUS;
const _: () = assert!(MAX_CPUS <= 64);

/// [`Task::on_cpu`] of a task no CPU runs on.
pub(crate) const NO_CPU: usize = usize::MAX;

/// Runnable tasks, one round-robin queue per priority.
pub(crate) struct RunQueue {
    levels: [VecDeque<Arc<Task>>; PRIORITIES],
}

impl RunQueue {
    const fn new() -> RunQueue {
        RunQueue {
            levels: [const { VecDeque::new() }; PRIORITIES],
        }
    }

    fn push_back(&mut self, task: Arc<Task>) {
        let level = usize::from(task.priority()).min(PRIORITIES - 1);
        self.levels[level].push_back(task);
    }

    /// Removes and returns the first task of the highest priority that CPU `cpu` may run.
    fn take_for(&mut self, cpu: usize) -> Option<Arc<Task>> {
        for level in self.levels.iter_mut().rev() {
            if let Some(i) = level.iter().position(|t| t.may_run_on(cpu)) {
                // The front in the common case: `pop_front` is a fraction of `remove`.
                return if i == 0 {
                    level.pop_front()
                } else {
                    level.remove(i)
                };
            }
        }
        None
    }

    /// The highest priority of a task that CPU `cpu` may run.
    fn top_priority_for(&self, cpu: usize) -> Option<u8> {
        (0..PRIORITIES)
            .rev()
            .find(|&l| self.levels[l].iter().any(|t| t.may_run_on(cpu)))
            .map(|l| l as u8)
    }
}

impl Task {
    /// Whether CPU `cpu` may switch to this queued task: its affinity allows that CPU, and no
    /// other CPU is still on its stack (its saved stack pointer is complete only once the CPU
    /// that ran it last has switched away).
    fn may_run_on(&self, cpu: usize) -> bool {
        let on = self.on_cpu.load(Ordering::SeqCst);
        self.welcome_on(cpu) && (on == NO_CPU || on == cpu)
    }

    /// Whether the task may run on CPU `cpu` at all: its affinity, and a hold of the other
    /// CPUs ([`hold_other_cpus`]).
    fn welcome_on(&self, cpu: usize) -> bool {
        let only = ONLY_CPU.load(Ordering::SeqCst);
        self.affinity.load(Ordering::Relaxed) & (1 << cpu) != 0
            && (only == NO_CPU || only == cpu || self.idle)
    }
}

struct Sleeper {
    deadline: u64,
    seq: u64,
    task: Arc<Task>,
}

/// What every CPU shares: the run queue and the sleepers.
struct Shared {
    run_queue: RunQueue,
    sleepers: Vec<Sleeper>,
}

static QUEUE: Mutex<Shared> = Mutex::new(Shared {
    run_queue: RunQueue::new(),
    sleepers: Vec::new(),
});

/// Times the queue lock was taken, found held by another CPU, and the time spent waiting for
/// it then (ns): the measure of what one shared queue costs ([`run_queue_stats`]).
static QUEUE_TAKEN: AtomicU64 = AtomicU64::new(0);
static QUEUE_CONTENDED: AtomicU64 = AtomicU64::new(0);
static QUEUE_WAIT_NS: AtomicU64 = AtomicU64::new(0);

/// Takes the queue lock (interrupts disabled), counting contention.
fn queue() -> spin::MutexGuard<'static, Shared> {
    QUEUE_TAKEN.fetch_add(1, Ordering::Relaxed);
    if let Some(q) = QUEUE.try_lock() {
        return q;
    }
    let started = time::monotonic_ns();
    let q = QUEUE.lock();
    QUEUE_CONTENDED.fetch_add(1, Ordering::Relaxed);
    QUEUE_WAIT_NS.fetch_add(
        time::monotonic_ns().saturating_sub(started),
        Ordering::Relaxed,
    );
    q
}

/// How the one run queue's lock fared since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunQueueStats {
    /// Times a CPU took it.
    pub taken: u64,
    /// Times it was held by another CPU then.
    pub contended: u64,
    /// Time spent waiting for it in those cases (ns).
    pub wait_ns: u64,
}

/// The run queue lock's counters.
pub fn run_queue_stats() -> RunQueueStats {
    RunQueueStats {
        taken: QUEUE_TAKEN.load(Ordering::Relaxed),
        contended: QUEUE_CONTENDED.load(Ordering::Relaxed),
        wait_ns: QUEUE_WAIT_NS.load(Ordering::Relaxed),
    }
}

/// One CPU's scheduler state. Only that CPU touches it, with interrupts disabled (the lock
/// is never contended; it keeps the code free of `unsafe`).
struct CpuSched {
    current: Option<Arc<Task>>,
    idle: Option<Arc<Task>>,
    /// The task this CPU switched away from last: [`finish_switch`] on the next task clears
    /// its mark and frees it if it exited.
    prev: Option<Arc<Task>>,
    slice_left: u32,
    last_switch_ns: u64,
}

static CPUS: [Mutex<CpuSched>; MAX_CPUS] = [const {
    Mutex::new(CpuSched {
        current: None,
        idle: None,
        prev: None,
        slice_left: TIME_SLICE_TICKS,
        last_switch_ns: 0,
    })
}; MAX_CPUS];

/// CPUs that run tasks (bit = CPU index).
static ACTIVE_CPUS: AtomicU64 = AtomicU64::new(0);
/// While not `NO_CPU`, the one CPU that takes tasks (see [`hold_other_cpus`]).
static ONLY_CPU: AtomicUsize = AtomicUsize::new(NO_CPU);
/// CPUs running their idle task. Changed under the queue lock, so a task pushed after an
/// idle CPU looked at the queue finds that CPU's bit.
static IDLE_CPUS: AtomicU64 = AtomicU64::new(0);

pub(crate) static STARTED: AtomicBool = AtomicBool::new(false);

/// The CPU running this (see `interrupts::cpu_index`).
pub(crate) fn this_cpu() -> usize {
    ::interrupts::cpu_index()
}

/// The CPUs that run tasks, as a mask (bit = CPU index).
pub fn active_cpus() -> u64 {
    ACTIVE_CPUS.load(Ordering::SeqCst)
}

/// The index of the CPU that runs the calling task (it may run elsewhere right after).
pub fn current_cpu() -> usize {
    this_cpu()
}

/// Turns the running boot code into task 1 (`name`), creates the boot CPU's idle task and
/// starts preemption. Call once, after the heap, interrupts and `time` are up. Application
/// processors join with [`prepare_cpu`] and [`run_this_cpu`].
pub fn init(name: &str) {
    let boot = Arc::new(new_task(name, 0, false, None).expect("no memory for the boot task"));
    tls::activate(boot.thread_pointer);
    ::interrupts::set_kernel_entry(0, boot.thread_pointer);
    boot.sched.lock().state = State::Running;
    let cpu = this_cpu();
    boot.on_cpu.store(cpu, Ordering::SeqCst);
    let idle = spawn_inner("idle", 0, DEFAULT_STACK_PAGES / 8, true, None, || {
        idle_loop()
    })
    .expect("no memory for the idle task");
    interrupts::without_interrupts(|| {
        let mut c = CPUS[cpu].lock();
        c.current = Some(boot.clone());
        ::interrupts::set_current_task(Arc::as_ptr(&boot) as usize);
        crate::cpu_time::begin_update(cpu);
        c.last_switch_ns = time::monotonic_ns();
        crate::cpu_time::started(cpu, c.last_switch_ns, false);
        crate::cpu_time::end_update(cpu);
        let mut tasks = TASKS.lock();
        tasks.insert(boot.id, Arc::downgrade(&boot));
        tasks.insert(idle.id, Arc::downgrade(&idle));
        c.idle = Some(idle);
    });
    ACTIVE_CPUS.fetch_or(1 << cpu, Ordering::SeqCst);
    STARTED.store(true, Ordering::SeqCst);
    time::set_tick_hook(on_boot_cpu_tick);
    smp::set_scheduler_hooks(on_cpu_tick, on_reschedule);
}

/// Makes CPU `cpu`'s idle task (on the boot CPU, before that CPU starts: it allocates). The
/// idle task runs on the CPU's start stack, so it has no stack of its own.
pub fn prepare_cpu(cpu: usize) {
    if cpu >= MAX_CPUS {
        return;
    }
    match new_task("idle", 0, true, None) {
        Some(idle) => {
            let idle = Arc::new(idle);
            interrupts::without_interrupts(|| CPUS[cpu].lock().idle = Some(idle));
        }
        None => log::error!("no memory for CPU {cpu}'s idle task: it will run no tasks"),
    }
}

/// An application processor enters the scheduler (with interrupts disabled, on its start
/// stack, once [`prepare_cpu`] made its idle task): the code running becomes that idle task,
/// and the CPU takes tasks from the run queue from now on. Never returns.
pub fn run_this_cpu() -> ! {
    let cpu = this_cpu();
    let idle = if cpu < MAX_CPUS {
        interrupts::without_interrupts(|| CPUS[cpu].lock().idle.clone())
    } else {
        None
    };
    let Some(idle) = idle else {
        // No idle task: this CPU runs nothing.
        loop {
            smp::halt_until_interrupt();
        }
    };
    interrupts::disable();
    tls::activate(idle.thread_pointer);
    ::interrupts::set_kernel_entry(0, idle.thread_pointer);
    idle.sched.lock().state = State::Running;
    idle.on_cpu.store(cpu, Ordering::SeqCst);
    {
        let mut c = CPUS[cpu].lock();
        c.current = Some(idle.clone());
        crate::cpu_time::begin_update(cpu);
        c.last_switch_ns = time::monotonic_ns();
        c.slice_left = TIME_SLICE_TICKS;
        crate::cpu_time::started(cpu, c.last_switch_ns, true);
        crate::cpu_time::end_update(cpu);
    }
    ::interrupts::set_current_task(Arc::as_ptr(&idle) as usize);
    drop(idle);
    {
        // Under the queue lock, as every change of the idle mask (see `IDLE_CPUS`).
        let _q = queue();
        IDLE_CPUS.fetch_or(1 << cpu, Ordering::SeqCst);
        ACTIVE_CPUS.fetch_or(1 << cpu, Ordering::SeqCst);
    }
    idle_loop()
}

/// An idle task: runs whatever becomes runnable for this CPU, halts otherwise.
fn idle_loop() -> ! {
    loop {
        interrupts::disable();
        if runnable_here() {
            schedule_locked_irqs_off();
        } else {
            // A task pushed after the look above finds this CPU in `IDLE_CPUS` and sends the
            // reschedule IPI, which ends the halt (`sti; hlt`).
            smp::halt_until_interrupt();
        }
    }
}

/// Whether the run queue holds a task this CPU may run (interrupts disabled).
fn runnable_here() -> bool {
    queue().run_queue.top_priority_for(this_cpu()).is_some()
}

/// The running task.
///
/// Read from the per-CPU block (no lock): the scheduler records each CPU's `current` there
/// each time it changes, with interrupts disabled.
pub fn current() -> Arc<Task> {
    let task = running_task();
    // SAFETY: the address is `Arc::as_ptr` of this CPU's `current`, which holds a strong
    // reference for as long as the task runs; the caller is that running task (the load is
    // one instruction: a preemption before or after it switches back to this task, on
    // whichever CPU, before it continues), so the count is above zero here.
    unsafe {
        Arc::increment_strong_count(task);
        Arc::from_raw(task)
    }
}

/// The running task as recorded in the per-CPU block.
#[inline]
fn running_task() -> *const Task {
    let task = ::interrupts::current_task() as *const Task;
    assert!(!task.is_null(), "task::init not called");
    task
}

/// Runs `f` on the running task without taking a reference count (the hot paths of every
/// system call: kill and stop checks, the context lookup).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Task) -> R) -> R {
    // SAFETY: as in `current`: the scheduler's `current` holds the task for as long as it
    // runs, and `f` runs in that task (a preemption in between switches back to it first);
    // the reference does not outlive `f`.
    f(unsafe { &*running_task() })
}

/// The running task's id (0 before `init`).
pub fn current_id() -> TaskId {
    if !STARTED.load(Ordering::Relaxed) {
        return 0;
    }
    with_current(|me| me.id)
}

/// Gives up the CPU to the next runnable task, if any.
pub fn yield_now() {
    schedule();
}

/// Blocks the running task for at least `ns` nanoseconds.
/// A kill interrupts the sleep (the task ends at once, see [`kill_point`]).
pub fn sleep_ns(ns: u64) {
    let deadline = time::monotonic_ns() + ns;
    while time::monotonic_ns() < deadline {
        interrupts::disable();
        if block_current(Some(deadline)) == WakeReason::Killed {
            break;
        }
    }
    interrupts::enable();
    kill_point();
}

/// First step of blocking (interrupts disabled): marks the running task `me` blocked, so that
/// a wake from now on (from any CPU) makes it runnable again. The caller then puts it where
/// wakers find it, looks at its condition, and calls [`commit_block`] to sleep or
/// [`cancel_block`] to go on. Returns the block's sequence number (for its timeout).
pub(crate) fn prepare_block(me: &Task) -> u64 {
    debug_assert!(!interrupts::are_enabled());
    let mut st = me.sched.lock();
    st.state = State::Blocked;
    st.block_seq += 1;
    st.block_seq
}

/// Gives up a block prepared by [`prepare_block`] (or a stop, see `stay_stopped`): the task
/// goes on running. Returns the wake reason if a wake came meanwhile: the task is then on the
/// run queue (or about to be), so it switches away once and is picked again from there.
pub(crate) fn cancel_block(me: &Task) -> Option<WakeReason> {
    debug_assert!(!interrupts::are_enabled());
    let mut st = me.sched.lock();
    if matches!(st.state, State::Blocked | State::Stopped) {
        st.state = State::Running;
        return None;
    }
    let reason = st.wake_reason;
    drop(st);
    schedule_locked_irqs_off();
    Some(reason)
}

/// Second step of blocking: sleeps until a wake (or `deadline`, monotonic ns), unless a kill
/// is pending (and the task not yet unwinding): then the block is cancelled and the call
/// returns `WakeReason::Killed` at once; the caller, once it has undone its own bookkeeping,
/// reaches a [`kill_point`]. Interrupts stay disabled. Returns why the task woke.
pub(crate) fn commit_block(me: &Arc<Task>, seq: u64, deadline: Option<u64>) -> WakeReason {
    debug_assert!(!interrupts::are_enabled());
    if me.kill_deliverable() {
        cancel_block(me);
        return WakeReason::Killed;
    }
    if let Some(deadline) = deadline {
        queue().sleepers.push(Sleeper {
            deadline,
            seq,
            task: me.clone(),
        });
    }
    schedule_locked_irqs_off();
    // Woken: a task asked to stop stops here, where it was blocked anyway, before it acts on
    // what woke it (input it would take from the terminal, for one).
    stay_stopped(me);
    let reason = me.sched.lock().wake_reason;
    if deadline.is_some() && reason != WakeReason::TimedOut {
        // Woken before the deadline: drop the now stale timeout entry (it holds the task).
        queue()
            .sleepers
            .retain(|s| !(Arc::ptr_eq(&s.task, me) && s.seq == seq));
    }
    reason
}

/// Marks the running task blocked (optionally until `deadline`) and switches away: for a
/// task that relies on the deadline or on a direct [`wake`] (kills) alone. Interrupts must be
/// disabled and stay so. Returns why the task woke.
pub(crate) fn block_current(deadline: Option<u64>) -> WakeReason {
    let me = current();
    let seq = prepare_block(&me);
    commit_block(&me, seq, deadline)
}

/// Makes a blocked task runnable. Returns false if it was not blocked.
pub(crate) fn wake(task: &Arc<Task>, reason: WakeReason) -> bool {
    wake_if(task, reason, |_| true)
}

/// Makes a blocked task runnable if `ok` holds for its state (checked under the task's lock,
/// so the task cannot meanwhile start another block). Returns whether it was woken.
pub(crate) fn wake_if(
    task: &Arc<Task>,
    reason: WakeReason,
    ok: impl FnOnce(&SchedState) -> bool,
) -> bool {
    interrupts::without_interrupts(|| {
        let mut st = task.sched.lock();
        if st.state != State::Blocked || !ok(&st) {
            return false;
        }
        st.state = State::Runnable;
        st.wake_reason = reason;
        drop(st);
        enqueue(task.clone());
        true
    })
}

/// Puts a task that just became `Runnable` on the run queue and wakes an idle CPU that may
/// run it (interrupts disabled).
pub(crate) fn enqueue(task: Arc<Task>) {
    let affinity = task.affinity.load(Ordering::Relaxed);
    queue().run_queue.push_back(task);
    kick_for(affinity);
}

/// A task became runnable: unless this CPU idles (its idle loop looks at the queue as soon
/// as the interrupt it is in returns), sends one idle CPU that may run it the reschedule
/// IPI. With no idle CPU, the task waits for a CPU's time slice to end.
fn kick(task: &Task) {
    kick_for(task.affinity.load(Ordering::Relaxed));
}

/// [`kick`] for a task of affinity mask `affinity`.
fn kick_for(affinity: u64) {
    let me = this_cpu();
    let idle = IDLE_CPUS.load(Ordering::SeqCst) & affinity;
    if idle & (1 << me) != 0 {
        return;
    }
    if idle != 0 {
        smp::send_reschedule(idle.trailing_zeros() as usize);
    }
}

/// Makes the CPU that runs `task`, if another, look at it soon (the reschedule IPI): a
/// kill, stop or signal it should notice, or an affinity it no longer has. A program thread
/// interrupted in user mode goes through the checks of the return to user mode.
pub(crate) fn nudge(task: &Task) {
    let cpu = task.on_cpu.load(Ordering::SeqCst);
    if cpu != NO_CPU && cpu != this_cpu() {
        smp::send_reschedule(cpu);
    }
}

/// Charges `task`, which runs on `cpu`, the time since the CPU's last switch (or charge):
/// to its own time, to its and its ancestors' totals and to the CPU's statistics. Returns
/// the time now.
fn charge_since_last_switch(c: &mut CpuSched, cpu: usize, task: &Task) -> u64 {
    let now = time::monotonic_ns();
    let ran = now.saturating_sub(c.last_switch_ns);
    task.cpu_ns.fetch_add(ran, Ordering::Relaxed);
    task.totals.charge(|t| &t.cpu_ns, ran);
    crate::cpu_time::charge_run(cpu, task.idle, ran, now);
    c.last_switch_ns = now;
    now
}

/// Charges the running task the time it has run since it was switched in (as a switch
/// would): an ending task does so before its joiners wake, so that their totals already
/// hold all of its time (another CPU may run them before this one switches away).
pub(crate) fn charge_running_task() {
    interrupts::without_interrupts(|| {
        let cpu = this_cpu();
        charge_current(&mut CPUS[cpu].lock(), cpu);
    });
}

/// Charges CPU `cpu`'s running task (`c` is that CPU's state, locked, interrupts disabled)
/// as a switch would, as one change for readers of the CPU's times.
fn charge_current(c: &mut CpuSched, cpu: usize) {
    if let Some(task) = c.current.clone() {
        crate::cpu_time::begin_update(cpu);
        charge_since_last_switch(c, cpu, &task);
        crate::cpu_time::end_update(cpu);
    }
}

/// Switches to the next runnable task (the idle task if none). Restores the caller's
/// interrupt flag on return.
pub(crate) fn schedule() {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    schedule_locked_irqs_off();
    if were_enabled {
        interrupts::enable();
    }
}

pub(crate) fn schedule_locked_irqs_off() {
    let cpu = this_cpu();
    let (prev_rsp, next_rsp, next_tp, next_entry) = {
        let mut c = CPUS[cpu].lock();
        let mut q = queue();
        let prev = c.current.take().expect("scheduler not started");
        // The charge and the next task's start are one change for readers of the CPU times.
        crate::cpu_time::begin_update(cpu);
        let now = charge_since_last_switch(&mut c, cpu, &prev);
        {
            let mut st = prev.sched.lock();
            // Blocked, stopped and exited tasks leave the CPU; a runnable one was woken
            // while it was about to block and is on the queue already.
            if st.state == State::Running {
                st.state = State::Runnable;
                if !prev.idle {
                    q.run_queue.push_back(prev.clone());
                }
            }
        }
        let next = match q.run_queue.take_for(cpu) {
            Some(t) => t,
            None => c.idle.clone().expect("no idle task"),
        };
        next.sched.lock().state = State::Running;
        next.on_cpu.store(cpu, Ordering::SeqCst);
        crate::cpu_time::started(cpu, now, next.idle);
        crate::cpu_time::end_update(cpu);
        if next.idle {
            IDLE_CPUS.fetch_or(1 << cpu, Ordering::SeqCst);
        } else {
            IDLE_CPUS.fetch_and(!(1 << cpu), Ordering::SeqCst);
        }
        drop(q);
        c.slice_left = TIME_SLICE_TICKS;
        c.current = Some(next.clone());
        ::interrupts::set_current_task(Arc::as_ptr(&next) as usize);
        if Arc::ptr_eq(&prev, &next) {
            return;
        }
        crate::cpu_time::count_switch(cpu, next.idle);
        // The interrupt this CPU is in (if any) is not the next task's.
        ::interrupts::take_interrupted_user_mode();
        let switch_args = (
            prev.saved_rsp.as_ptr(),
            next.saved_rsp.load(Ordering::SeqCst),
            next.thread_pointer,
            next.user_entry_rsp.load(Ordering::Relaxed),
        );
        c.prev = Some(prev);
        switch_args
    };
    tls::activate(next_tp);
    ::interrupts::set_kernel_entry(next_entry, next_tp);
    // SAFETY: `prev_rsp` points into the task this CPU's `prev` slot keeps alive until
    // `finish_switch`; `next_rsp` was saved by `switch` or built by `initial_stack` on a stack
    // owned by that task, and no other CPU is on that stack (its mark was clear or this
    // CPU's); interrupts are disabled.
    unsafe { switch::switch(prev_rsp, next_rsp) };
    finish_switch();
}

/// Runs on the new task right after a switch (interrupts disabled): the previous task's
/// stack pointer is saved now, so its mark goes (a CPU may take it from the queue: an idle
/// one is woken for it), and an exited one's stack and TLS block are freed.
pub(crate) fn finish_switch() {
    let prev = CPUS[this_cpu()].lock().prev.take();
    let Some(prev) = prev else { return };
    prev.on_cpu.store(NO_CPU, Ordering::SeqCst);
    let state = prev.sched.lock().state;
    match state {
        State::Exited => {
            let stack = prev.stack.lock().take();
            let tls = prev.tls_block.lock().take();
            let entry = prev.entry.lock().take();
            if let Some(stack) = stack {
                crate::stack_pool::give_back(stack);
            }
            drop(tls);
            drop(entry);
            TASKS.lock().remove(&prev.id);
        }
        State::Runnable => kick(&prev),
        State::Running | State::Blocked | State::Stopped => {}
    }
}

/// The boot CPU's timer interrupt (the PIT): wakes sleepers whose deadline passed, then
/// does what every CPU's tick does.
fn on_boot_cpu_tick() {
    let now = time::monotonic_ns();
    let due: Vec<Sleeper> = {
        let mut q = queue();
        let mut due = Vec::new();
        let mut i = 0;
        while i < q.sleepers.len() {
            if q.sleepers[i].deadline <= now {
                due.push(q.sleepers.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due
    };
    for sleeper in due {
        // Only the block the entry was made for: the task may have been woken and be
        // blocked again since.
        wake_if(&sleeper.task, WakeReason::TimedOut, |st| {
            st.block_seq == sleeper.seq
        });
    }
    on_cpu_tick();
}

/// A CPU's timer tick: charges the running task its time (so that a task alone on its CPU,
/// never switched out, still sees its CPU time grow, as do `ps` and `/proc`), and preempts
/// it when its time slice is used up and another may run here, when the CPU idles, or when a
/// task of a higher priority waits.
fn on_cpu_tick() {
    if ::interrupts::current_task() == 0 {
        // This CPU runs no tasks yet.
        return;
    }
    let cpu = this_cpu();
    if !with_current(|t| t.idle) {
        // So that the emulator sizes this CPU's TLB to the work it runs (see there).
        memory::flush_local_tlb();
    }
    if ::interrupts::take_interrupted_user_mode() {
        let tick = 1_000_000_000 / time::TICK_HZ;
        with_current(|current| {
            current.user_ns.fetch_add(tick, Ordering::Relaxed);
            current.totals.charge(|t| &t.user_ns, tick);
        });
        crate::cpu_time::charge_user(cpu, tick);
    }
    let preempt = {
        let mut c = CPUS[cpu].lock();
        charge_current(&mut c, cpu);
        c.slice_left = c.slice_left.saturating_sub(1);
        let slice_over = c.slice_left == 0;
        let current = c.current.as_ref().expect("a running task");
        let (on_idle, priority) = (current.idle, current.priority());
        let unwelcome = !current.welcome_on(cpu);
        let top = queue().run_queue.top_priority_for(cpu);
        unwelcome || top.is_some_and(|p| slice_over || on_idle || p > priority)
    };
    if preempt {
        schedule_locked_irqs_off();
    }
    stop_if_async_stoppable();
}

/// The reschedule IPI: a task this CPU may run became runnable (switch to it if the CPU
/// idles or it has a higher priority), the running task may no longer run here, or it has a
/// stop to act on.
fn on_reschedule() {
    if ::interrupts::current_task() == 0 {
        return;
    }
    let cpu = this_cpu();
    let switch = {
        let c = CPUS[cpu].lock();
        let current = c.current.as_ref().expect("a running task");
        let (on_idle, priority) = (current.idle, current.priority());
        let unwelcome = !current.welcome_on(cpu);
        let top = queue().run_queue.top_priority_for(cpu);
        unwelcome || top.is_some_and(|p| on_idle || p > priority)
    };
    if switch {
        schedule_locked_irqs_off();
    }
    stop_if_async_stoppable();
}

/// Why [`set_affinity`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AffinityError {
    NoSuchTask,
    /// The mask names no CPU that runs tasks.
    NoCpu,
    /// An idle task or the boot task: they stay where they are.
    NotPermitted,
}

/// The CPUs task `id` may run on (bit i: CPU index i), if it exists.
pub fn affinity(id: TaskId) -> Option<u64> {
    crate::find(id).map(|t| t.affinity())
}

/// Lets task `id` run only on the CPUs of `mask` (bit i: CPU index i), at least one of which
/// must run tasks. The calling task moves at once if it may no longer run where it is; a task
/// running on another CPU is moved off it by the reschedule IPI; tasks it spawns from then on
/// inherit the mask.
pub fn set_affinity(id: TaskId, mask: u64) -> Result<(), AffinityError> {
    let task = crate::find(id).ok_or(AffinityError::NoSuchTask)?;
    if task.idle || task.parent == 0 {
        return Err(AffinityError::NotPermitted);
    }
    if mask & active_cpus() == 0 {
        return Err(AffinityError::NoCpu);
    }
    task.affinity.store(mask, Ordering::SeqCst);
    if task.id == current_id() {
        if mask & (1 << this_cpu()) == 0 {
            // Back to the queue, where only the CPUs of the mask take it (one idle is woken
            // for it once this CPU is off its stack).
            yield_now();
        }
    } else {
        nudge(&task);
    }
    Ok(())
}

/// The other CPUs kept idle while it lives ([`hold_other_cpus`]).
pub struct CpuHold {
    affinity: u64,
}

/// Keeps the calling task on its CPU and every other CPU idle (their tasks go back to the
/// queue at their next tick, or at once by the reschedule IPI) until the returned hold is
/// dropped: one CPU runs everything meanwhile, as on a one-CPU machine. For tests that count
/// the heap's bytes or the free frames exactly. Waits (up to a second) for the other CPUs to
/// reach their idle tasks.
pub fn hold_other_cpus() -> CpuHold {
    let me = current();
    let affinity = me.affinity();
    // Interrupts off: the mark names the CPU this task stays on.
    let cpu = interrupts::without_interrupts(|| {
        let cpu = this_cpu();
        me.affinity.store(1 << cpu, Ordering::SeqCst);
        ONLY_CPU.store(cpu, Ordering::SeqCst);
        cpu
    });
    let others = active_cpus() & !(1 << cpu);
    for other in (0..MAX_CPUS).filter(|c| others & (1 << c) != 0) {
        smp::send_reschedule(other);
    }
    let deadline = time::monotonic_ns() + 1_000_000_000;
    while IDLE_CPUS.load(Ordering::SeqCst) & others != others && time::monotonic_ns() < deadline {
        core::hint::spin_loop();
    }
    CpuHold { affinity }
}

impl Drop for CpuHold {
    fn drop(&mut self) {
        ONLY_CPU.store(NO_CPU, Ordering::SeqCst);
        with_current(|me| me.affinity.store(self.affinity, Ordering::SeqCst));
        // The idle CPUs look at the queue again.
        let idle = IDLE_CPUS.load(Ordering::SeqCst) & !(1 << this_cpu());
        for cpu in (0..MAX_CPUS).filter(|c| idle & (1 << c) != 0) {
            smp::send_reschedule(cpu);
        }
    }
}
