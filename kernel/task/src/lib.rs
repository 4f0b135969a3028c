//! Tasks: preemptive round-robin scheduling of kernel tasks (threads of the one address
//! space), spawn with a name, join with an exit value, exit, sleep, yield, kill; blocking wait
//! queues and a futex (wait/wake on an address) for higher-level synchronization; per-task
//! kernel stacks above guard pages, per-task TLS (`#[thread_local]` through FS base, and keys
//! with destructors), per-task CPU time, and a per-task context object that upper layers
//! (files, stdio) attach and that children inherit.
//!
//! Single CPU today. Everything the scheduler shares sits behind one lock taken with interrupts
//! disabled, and tasks are `Arc`s, so SMP means per-CPU run queues and `current` pointers, not
//! a rewrite.
//!
//! Depends on `memory` (stacks), `time` (tick hook, clock), `x86_64`, `spin`, `log`.

#![no_std]
#![feature(thread_local)]
#![feature(core_intrinsics)]
#![allow(internal_features)]

extern crate alloc;

mod switch;
mod tests;
mod tls;
mod unwind;
mod wait;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;
use x86_64::instructions::interrupts;

pub use tls::TlsKey;
pub use wait::{FutexError, WaitQueue, futex_wait, futex_wake};

pub type TaskId = u64;

/// A task's code as stored in its `Task`: runs the spawned closure the first time it is
/// called (`None` afterwards).
type Entry = dyn FnMut() -> Option<isize> + Send;

/// Timer ticks a task runs before it is preempted (10 ms each).
const TIME_SLICE_TICKS: u32 = 2;
/// Default kernel stack size of a spawned task, in pages.
pub const DEFAULT_STACK_PAGES: u64 = 64;
/// How long a kill waits for an [`async-killable`](set_async_killable) task to reach a kill
/// point before it ends the task where it runs.
pub const KILL_GRACE_NS: u64 = 100_000_000;

/// A pending kill: the reason the task will end with, and when it was asked.
struct KillRequest {
    reason: String,
    at_ns: u64,
}

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
}

struct SchedState {
    state: State,
    wake_reason: WakeReason,
    /// Incremented on every block, so a stale timeout cannot wake a later wait.
    block_seq: u64,
}

pub struct Task {
    id: TaskId,
    name: String,
    parent: TaskId,
    sched: Mutex<SchedState>,
    saved_rsp: AtomicU64,
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
    /// The signal a pending or completed [`stop`] names (`SIGTSTP`, `SIGTTIN`...), 0 if the
    /// task is not asked to stop.
    stop_signal: core::sync::atomic::AtomicI32,
    /// True while the task runs code that holds no kernel lock and owns nothing a forced end
    /// could leave inconsistent (a wasm guest between host calls): a kill it does not reach a
    /// kill point for within [`KILL_GRACE_NS`] then ends it where it is.
    async_killable: AtomicBool,
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
    /// Scheduling priority (see [`PRIORITIES`]).
    pub fn priority(&self) -> u8 {
        self.priority.load(Ordering::Relaxed)
    }
    pub fn state(&self) -> State {
        interrupts::without_interrupts(|| self.sched.lock().state)
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

/// Scheduling priorities: 0 (lowest) to `PRIORITIES - 1`. A runnable task of a higher
/// priority always runs before lower ones; equal priorities share the CPU round-robin.
pub const PRIORITIES: usize = 4;
/// The priority tasks get unless their spawner chooses another.
pub const DEFAULT_PRIORITY: u8 = 1;

/// Runnable tasks, one round-robin queue per priority.
struct RunQueue {
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

    fn pop_front(&mut self) -> Option<Arc<Task>> {
        self.levels.iter_mut().rev().find_map(VecDeque::pop_front)
    }

    fn is_empty(&self) -> bool {
        self.levels.iter().all(VecDeque::is_empty)
    }

    /// The highest priority with a runnable task.
    fn top_priority(&self) -> Option<u8> {
        (0..PRIORITIES)
            .rev()
            .find(|&l| !self.levels[l].is_empty())
            .map(|l| l as u8)
    }
}

struct Sleeper {
    deadline: u64,
    seq: u64,
    task: Arc<Task>,
}

struct Scheduler {
    current: Option<Arc<Task>>,
    run_queue: RunQueue,
    sleepers: Vec<Sleeper>,
    idle: Option<Arc<Task>>,
    /// An exited task whose stack can be freed once we are off it.
    reap: Option<Arc<Task>>,
    slice_left: u32,
    last_switch_ns: u64,
}

static SCHED: Mutex<Scheduler> = Mutex::new(Scheduler {
    current: None,
    run_queue: RunQueue::new(),
    sleepers: Vec::new(),
    idle: None,
    reap: None,
    slice_left: TIME_SLICE_TICKS,
    last_switch_ns: 0,
});
static TASKS: Mutex<BTreeMap<TaskId, Weak<Task>>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static STARTED: AtomicBool = AtomicBool::new(false);

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

fn new_task(
    name: &str,
    parent: TaskId,
    idle: bool,
    parent_totals: Option<Arc<CpuTotals>>,
) -> Option<Task> {
    let tls = tls::TlsBlock::new()?;
    Some(Task {
        id: NEXT_ID.fetch_add(1, Ordering::SeqCst),
        name: name.into(),
        parent,
        sched: Mutex::new(SchedState {
            state: State::Runnable,
            wake_reason: WakeReason::Notified,
            block_seq: 0,
        }),
        saved_rsp: AtomicU64::new(0),
        user_entry_rsp: AtomicU64::new(0),
        thread_pointer: tls.thread_pointer(),
        tls_block: Mutex::new(Some(tls)),
        stack: Mutex::new(None),
        entry: Mutex::new(None),
        exit: Mutex::new(None),
        joiners: WaitQueue::new(),
        cpu_ns: AtomicU64::new(0),
        user_ns: AtomicU64::new(0),
        totals: Arc::new(CpuTotals {
            cpu_ns: AtomicU64::new(0),
            user_ns: AtomicU64::new(0),
            parent: parent_totals,
        }),
        kill_request: Mutex::new(None),
        kill_flag: AtomicBool::new(false),
        stop_signal: core::sync::atomic::AtomicI32::new(0),
        async_killable: AtomicBool::new(false),
        keys: Mutex::new(BTreeMap::new()),
        context: Mutex::new(None),
        unwinding: AtomicBool::new(false),
        pending_fault: Mutex::new(None),
        pending_user_fault: Mutex::new(None),
        fault_handler: Mutex::new(None),
        priority: core::sync::atomic::AtomicU8::new(DEFAULT_PRIORITY),
        idle,
    })
}

/// Turns the running boot code into task 1 (`name`), creates the idle task and starts
/// preemption. Call once, after the heap, interrupts and `time` are up.
pub fn init(name: &str) {
    let boot = Arc::new(new_task(name, 0, false, None).expect("no memory for the boot task"));
    tls::activate(boot.thread_pointer);
    ::interrupts::set_kernel_entry(0, boot.thread_pointer);
    boot.sched.lock().state = State::Running;
    let idle = spawn_inner("idle", 0, DEFAULT_STACK_PAGES / 8, true, None, || {
        idle_loop()
    })
    .expect("no memory for the idle task");
    interrupts::without_interrupts(|| {
        let mut s = SCHED.lock();
        s.current = Some(boot.clone());
        s.last_switch_ns = time::monotonic_ns();
        let mut tasks = TASKS.lock();
        tasks.insert(boot.id, Arc::downgrade(&boot));
        tasks.insert(idle.id, Arc::downgrade(&idle));
        s.idle = Some(idle);
    });
    STARTED.store(true, Ordering::SeqCst);
    time::set_tick_hook(on_tick);
}

fn idle_loop() -> ! {
    loop {
        interrupts::enable_and_hlt();
        let runnable = interrupts::without_interrupts(|| !SCHED.lock().run_queue.is_empty());
        if runnable {
            yield_now();
        }
    }
}

/// The running task.
pub fn current() -> Arc<Task> {
    interrupts::without_interrupts(|| SCHED.lock().current.clone().expect("task::init not called"))
}

/// The running task's id (0 before `init`).
pub fn current_id() -> TaskId {
    if !STARTED.load(Ordering::Relaxed) {
        return 0;
    }
    current().id
}

/// Options for a new task.
pub struct Builder {
    name: String,
    stack_pages: u64,
    priority: Option<u8>,
}

impl Builder {
    pub fn new(name: &str) -> Builder {
        Builder {
            name: name.into(),
            stack_pages: DEFAULT_STACK_PAGES,
            priority: None,
        }
    }

    /// Kernel stack size in pages (plus one guard page).
    pub fn stack_pages(mut self, pages: u64) -> Builder {
        self.stack_pages = pages.max(4);
        self
    }

    /// Scheduling priority, 0..`PRIORITIES` (default: the spawning task's).
    pub fn priority(mut self, priority: u8) -> Builder {
        self.priority = Some(priority.min(PRIORITIES as u8 - 1));
        self
    }

    /// Starts the task. It inherits the spawning task's context object.
    pub fn spawn<F: FnOnce() -> isize + Send + 'static>(
        self,
        f: F,
    ) -> Result<JoinHandle, SpawnError> {
        let parent = current();
        let task = spawn_inner(
            &self.name,
            parent.id,
            self.stack_pages,
            false,
            Some(parent.totals.clone()),
            f,
        )?;
        *task.context.lock() = parent.context.lock().clone();
        let priority = self.priority.unwrap_or_else(|| parent.priority());
        task.priority.store(priority, Ordering::Relaxed);
        interrupts::without_interrupts(|| {
            TASKS.lock().insert(task.id, Arc::downgrade(&task));
            SCHED.lock().run_queue.push_back(task.clone());
        });
        Ok(JoinHandle { task })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnError {
    OutOfMemory,
}

fn spawn_inner<F: FnOnce() -> isize + Send + 'static>(
    name: &str,
    parent: TaskId,
    stack_pages: u64,
    idle: bool,
    parent_totals: Option<Arc<CpuTotals>>,
    f: F,
) -> Result<Arc<Task>, SpawnError> {
    let task = new_task(name, parent, idle, parent_totals).ok_or(SpawnError::OutOfMemory)?;
    let stack = memory::allocate_stack(stack_pages).ok_or(SpawnError::OutOfMemory)?;
    // SAFETY: the stack was just mapped for this task alone; its top is page (so 16-byte)
    // aligned.
    let rsp = unsafe { switch::initial_stack(stack.top(), task_entry) };
    task.saved_rsp.store(rsp, Ordering::SeqCst);
    *task.stack.lock() = Some(stack);
    let mut f = Some(f);
    *task.entry.lock() = Some(Box::new(move || f.take().map(|f| f())));
    Ok(Arc::new(task))
}

/// Spawns a task running `f`; its return value is the exit value.
pub fn spawn<F: FnOnce() -> isize + Send + 'static>(
    name: &str,
    f: F,
) -> Result<JoinHandle, SpawnError> {
    Builder::new(name).spawn(f)
}

/// First code of every spawned task.
extern "C" fn task_entry() -> ! {
    finish_switch();
    interrupts::enable();
    let me = current();
    let entry: *mut Entry = &mut **me.entry.lock().as_mut().expect("task without entry");
    drop(me);
    // SAFETY: the entry is owned by this task's `Task`, which outlives the task's execution
    // (it is freed only after the task has switched away for good), and only this task ever
    // touches it after spawn.
    let run = || unsafe { (*entry)() };
    // A panic in the task unwinds to here (running destructors on the way), then ends it.
    match unwind::catch(run) {
        Ok(value) => exit_with(ExitValue::Exited(value.expect("task entry ran twice"))),
        Err(payload) => exit_with(ExitValue::Killed(panic_reason(payload))),
    }
}

/// The payload the kernel's panic handler gives [`start_unwinding`].
pub struct PanicPayload(pub String);

/// The payload a [`kill_point`] unwinds with: the kill's reason.
struct KillPayload(String);

fn panic_reason(payload: Box<dyn Any + Send>) -> String {
    let payload = match payload.downcast::<PanicPayload>() {
        Ok(p) => return p.0,
        Err(other) => other,
    };
    match payload.downcast::<KillPayload>() {
        Ok(k) => k.0,
        Err(_) => "panicked".into(),
    }
}

/// Runs `f`; if the task unwinds out of it (a [`kill_point`] or a panic), returns the reason
/// the task should end with instead. For code that calls into deeper layers from a frame the
/// unwinder cannot pass (the system-call entry stub): the caller then ends the task with
/// `ExitValue::Killed(reason)`.
///
/// The task is no longer unwinding afterwards: a kill it caught takes effect again at its
/// next kill point.
pub fn catch_unwind<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    unwind::catch(f).map_err(|payload| {
        if STARTED.load(Ordering::Relaxed) {
            current().unwinding.store(false, Ordering::SeqCst);
        }
        panic_reason(payload)
    })
}

/// True if the running task is one that a fault or panic may end (a spawned task, not the
/// boot task or the idle task).
pub fn current_is_killable() -> bool {
    if !STARTED.load(Ordering::Relaxed) {
        return false;
    }
    let me = current();
    !me.idle && me.parent != 0
}

/// Starts unwinding the running task's stack with `reason` (from the panic handler). Returns
/// only if unwinding could not start (no frame information); the caller then ends the task
/// without unwinding.
pub fn start_unwinding(reason: String) {
    current().unwinding.store(true, Ordering::SeqCst);
    let _ = unwind::raise(Box::new(PanicPayload(reason)));
}

/// A task's own handler for CPU faults (the basis of POSIX-style signal handlers). It gets the
/// full register state and may change it (e.g. set `rip`/`rsp` to resume elsewhere, on an
/// alternate stack if it likes); it returns true if the task should resume with that state,
/// false to let the fault end the task. It runs with interrupts disabled in the fault's
/// context, so it must not block.
pub type FaultHandler =
    Arc<dyn Fn(&mut ::interrupts::TrapFrame, ::interrupts::FaultKind) -> bool + Send + Sync>;

/// Sets (or with `None` removes) the running task's fault handler. Tasks it spawns do not
/// inherit it.
pub fn set_fault_handler(handler: Option<FaultHandler>) {
    let me = current();
    interrupts::without_interrupts(|| *me.fault_handler.lock() = handler);
}

/// The running task's fault handler, if any (for the kernel's fault path).
pub fn fault_handler() -> Option<FaultHandler> {
    if !STARTED.load(Ordering::Relaxed) {
        return None;
    }
    let me = current();
    me.fault_handler.lock().clone()
}

/// Records why the running task is about to unwind after a CPU fault (the fault handler sets
/// it; the unwind trampoline takes it).
pub fn set_pending_fault(reason: String) {
    *current().pending_fault.lock() = Some(reason);
}

pub fn take_pending_fault() -> Option<String> {
    current().pending_fault.lock().take()
}

/// Records a fault of the running task in user mode, for the kernel's user-fault path that
/// runs next on the task's own stack.
pub fn set_pending_user_fault(frame: ::interrupts::TrapFrame, kind: ::interrupts::FaultKind) {
    *current().pending_user_fault.lock() = Some(Box::new((frame, kind)));
}

pub fn take_pending_user_fault() -> Option<(::interrupts::TrapFrame, ::interrupts::FaultKind)> {
    current().pending_user_fault.lock().take().map(|b| *b)
}

/// True while the running task unwinds after a panic (a second panic then ends it at once).
pub fn current_is_unwinding() -> bool {
    STARTED.load(Ordering::Relaxed) && current().unwinding.load(Ordering::SeqCst)
}

/// Ends the running task with `value`.
pub fn exit(value: isize) -> ! {
    exit_with(ExitValue::Exited(value))
}

/// Ends the running task: runs its TLS key destructors, publishes the exit value, wakes its
/// joiners and switches away for good. Its stack and TLS block are freed by the next task.
pub fn exit_with(value: ExitValue) -> ! {
    let me = current();
    assert!(!me.idle, "the idle task cannot exit");
    tls::run_destructors(&me.keys);
    *me.context.lock() = None;
    interrupts::disable();
    *me.exit.lock() = Some(value);
    me.sched.lock().state = State::Exited;
    me.joiners.notify_all();
    drop(me);
    schedule();
    unreachable!("an exited task was scheduled again");
}

/// A handle to wait for a task's end.
pub struct JoinHandle {
    task: Arc<Task>,
}

impl JoinHandle {
    pub fn id(&self) -> TaskId {
        self.task.id
    }

    pub fn task(&self) -> &Arc<Task> {
        &self.task
    }

    /// Waits for the task to end and returns how it ended.
    pub fn join(self) -> ExitValue {
        let task = self.task;
        task.joiners.wait_until(|| task.exit.lock().is_some());
        task.exit.lock().clone().unwrap()
    }
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

/// Marks the running task blocked (optionally until `deadline`) and switches away. The caller
/// has put the task on a wait queue (or relies on the deadline) with interrupts disabled, and
/// they stay disabled on return. Returns why the task woke.
/// A task with a kill pending (and not yet unwinding) does not block: it returns
/// `WakeReason::Killed` at once, and the caller, once it has undone its own bookkeeping,
/// reaches a [`kill_point`].
pub(crate) fn block_current(deadline: Option<u64>) -> WakeReason {
    debug_assert!(!interrupts::are_enabled());
    let me = SCHED.lock().current.clone().unwrap();
    if me.kill_deliverable() {
        return WakeReason::Killed;
    }
    let seq = {
        let mut st = me.sched.lock();
        st.state = State::Blocked;
        st.block_seq += 1;
        st.block_seq
    };
    if let Some(deadline) = deadline {
        SCHED.lock().sleepers.push(Sleeper {
            deadline,
            seq,
            task: me.clone(),
        });
    }
    schedule_locked_irqs_off();
    // Woken: a task asked to stop stops here, where it was blocked anyway, before it acts on
    // what woke it (input it would take from the terminal, for one).
    stay_stopped(&me);
    let reason = me.sched.lock().wake_reason;
    if deadline.is_some() && reason != WakeReason::TimedOut {
        // Woken before the deadline: drop the now stale timeout entry (it holds the task).
        SCHED
            .lock()
            .sleepers
            .retain(|s| !(Arc::ptr_eq(&s.task, &me) && s.seq == seq));
    }
    reason
}

/// Makes a blocked task runnable. Returns false if it was not blocked.
pub(crate) fn wake(task: &Arc<Task>, reason: WakeReason) -> bool {
    interrupts::without_interrupts(|| {
        let mut st = task.sched.lock();
        if st.state != State::Blocked {
            return false;
        }
        st.state = State::Runnable;
        st.wake_reason = reason;
        drop(st);
        SCHED.lock().run_queue.push_back(task.clone());
        true
    })
}

/// Switches to the next runnable task (the idle task if none). Restores the caller's
/// interrupt flag on return.
fn schedule() {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    schedule_locked_irqs_off();
    if were_enabled {
        interrupts::enable();
    }
}

fn schedule_locked_irqs_off() {
    let (prev_rsp, next_rsp, next_tp, next_entry) = {
        let mut s = SCHED.lock();
        let prev = s.current.take().expect("scheduler not started");
        let now = time::monotonic_ns();
        let ran = now.saturating_sub(s.last_switch_ns);
        prev.cpu_ns.fetch_add(ran, Ordering::Relaxed);
        prev.totals.charge(|t| &t.cpu_ns, ran);
        s.last_switch_ns = now;
        let prev_state = prev.sched.lock().state;
        match prev_state {
            State::Running => {
                prev.sched.lock().state = State::Runnable;
                if !prev.idle {
                    s.run_queue.push_back(prev.clone());
                }
            }
            State::Exited => s.reap = Some(prev.clone()),
            State::Blocked | State::Runnable | State::Stopped => {}
        }
        let next = match s.run_queue.pop_front() {
            Some(t) => t,
            None => s.idle.clone().expect("no idle task"),
        };
        next.sched.lock().state = State::Running;
        s.slice_left = TIME_SLICE_TICKS;
        s.current = Some(next.clone());
        if Arc::ptr_eq(&prev, &next) {
            return;
        }
        (
            prev.saved_rsp.as_ptr(),
            next.saved_rsp.load(Ordering::SeqCst),
            next.thread_pointer,
            next.user_entry_rsp.load(Ordering::Relaxed),
        )
    };
    tls::activate(next_tp);
    ::interrupts::set_kernel_entry(next_entry, next_tp);
    // SAFETY: `prev_rsp` points into a task kept alive by the run queue, a wait queue, the
    // sleepers list or the reap slot; `next_rsp` was saved by `switch` or built by
    // `initial_stack` on a stack owned by that task; interrupts are disabled.
    unsafe { switch::switch(prev_rsp, next_rsp) };
    finish_switch();
    force_kill_if_due();
}

/// Runs on the new task right after a switch: frees the stack of a task that exited.
fn finish_switch() {
    let dead = SCHED.lock().reap.take();
    if let Some(dead) = dead {
        let stack = dead.stack.lock().take();
        let tls = dead.tls_block.lock().take();
        let entry = dead.entry.lock().take();
        drop(stack);
        drop(tls);
        drop(entry);
        TASKS.lock().remove(&dead.id);
    }
}

/// The forced end of a kill: ends the running task where it is, without unwinding, if it
/// is [async-killable](set_async_killable), its kill has waited [`KILL_GRACE_NS`] for a kill
/// point, and no allocator lock is held (it could be this task's). Runs with interrupts
/// disabled, on a switch back to the task and on every tick.
fn force_kill_if_due() {
    let Some(me) = SCHED.lock().current.clone() else {
        return;
    };
    if !me.kill_deliverable()
        || !me.async_killable.load(Ordering::SeqCst)
        || memory::allocator_busy()
    {
        return;
    }
    let due = me
        .kill_request
        .lock()
        .as_ref()
        .filter(|k| time::monotonic_ns().saturating_sub(k.at_ns) >= KILL_GRACE_NS)
        .map(|k| k.reason.clone());
    if let Some(reason) = due {
        drop(me);
        // Ending the task drops its context (closing files, which may wait for locks that
        // preempted tasks hold): let them run meanwhile. This may be an interrupt handler
        // whose end of interrupt was sent already, so nesting is fine.
        interrupts::enable();
        exit_with(ExitValue::Killed(reason));
    }
}

/// Timer interrupt: wakes sleepers whose deadline passed and preempts the running task when
/// its time slice is used up.
fn on_tick() {
    let now = time::monotonic_ns();
    if ::interrupts::take_interrupted_user_mode()
        && let Some(current) = SCHED.lock().current.as_ref()
    {
        let tick = 1_000_000_000 / time::TICK_HZ;
        current.user_ns.fetch_add(tick, Ordering::Relaxed);
        current.totals.charge(|t| &t.user_ns, tick);
    }
    let due: Vec<Sleeper> = {
        let mut s = SCHED.lock();
        let mut due = Vec::new();
        let mut i = 0;
        while i < s.sleepers.len() {
            if s.sleepers[i].deadline <= now {
                due.push(s.sleepers.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due
    };
    for sleeper in due {
        let current_seq = sleeper.task.sched.lock().block_seq;
        if current_seq == sleeper.seq {
            wake(&sleeper.task, WakeReason::TimedOut);
        }
    }
    let preempt = {
        let mut s = SCHED.lock();
        s.slice_left = s.slice_left.saturating_sub(1);
        let on_idle = s.current.as_ref().is_some_and(|c| c.idle);
        let current = s.current.as_ref().map_or(0, |c| c.priority());
        let higher_waiting = s.run_queue.top_priority().is_some_and(|p| p > current);
        !s.run_queue.is_empty() && (s.slice_left == 0 || on_idle || higher_waiting)
    };
    if preempt {
        schedule_locked_irqs_off();
    }
    force_kill_if_due();
    stop_if_async_killable();
}

/// A stop asked of an [async-killable](set_async_killable) task (a wasm guest computing
/// between host calls) takes effect at a tick: the task holds no lock there (the allocator's
/// is checked, as for a forced kill), so stopping it is like a preemption that lasts until
/// [`resume`].
fn stop_if_async_killable() {
    let Some(me) = SCHED.lock().current.clone() else {
        return;
    };
    if me.stop_signal.load(Ordering::SeqCst) != 0
        && me.async_killable.load(Ordering::SeqCst)
        && !me.idle
        && !memory::allocator_busy()
    {
        stay_stopped(&me);
    }
}

/// While `me` (the running task, interrupts disabled) is asked to stop and has no kill to
/// act on, marks it `Stopped` and switches away; returns once [`resume`] or [`kill`] lets it
/// go on. Returns whether it stopped.
fn stay_stopped(me: &Arc<Task>) -> bool {
    debug_assert!(!interrupts::are_enabled());
    let mut stopped = false;
    while me.stop_signal.load(Ordering::SeqCst) != 0
        && !me.kill_deliverable()
        && !me.idle
        && me.parent != 0
    {
        me.sched.lock().state = State::Stopped;
        stopped = true;
        schedule_locked_irqs_off();
    }
    stopped
}

/// A stop point: if the running task has been asked to stop ([`stop`]), it stops here until
/// [`resume`] (or a [`kill`], which it then acts on at its next kill point). Returns whether
/// it stopped. Call it only where the task holds no lock another task could need (the
/// return to user mode, where a program thread's kernel stack holds only the entry frames;
/// a file call before it takes any lock): waits already stop on their own (a task asked to
/// stop stops when it is woken, before it acts on the wake-up). Works with interrupts
/// disabled or enabled, and restores the flag.
pub fn stop_point() -> bool {
    if !STARTED.load(Ordering::Relaxed) {
        return false;
    }
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    let me = SCHED.lock().current.clone().expect("scheduler not started");
    let stopped = stay_stopped(&me);
    drop(me);
    if were_enabled {
        interrupts::enable();
    }
    stopped
}

/// Asks task `id` to stop (job control: Ctrl-Z's `SIGTSTP`, a background read's `SIGTTIN`,
/// `SIGSTOP`), recording `signal` as the reason. The task is not preempted where it runs:
/// it stops at its next stop point, so it never stops holding a lock: when a wait it is
/// blocked in (or enters) ends, at its return to user mode (a program thread), or at a
/// timer tick while it is [async-killable](set_async_killable) (a wasm guest between host
/// calls). A blocked task stays blocked meanwhile and stops when woken. [`resume`] lets it
/// go on; a [`kill`] of a stopped task ends it as usual.
pub fn stop(id: TaskId, signal: i32) -> Result<(), KillError> {
    let task = find(id).ok_or(KillError::NoSuchTask)?;
    if task.idle || task.parent == 0 {
        return Err(KillError::NotPermitted);
    }
    if task.exit_value().is_some() {
        return Err(KillError::NoSuchTask);
    }
    task.stop_signal.store(signal.max(1), Ordering::SeqCst);
    Ok(())
}

/// Lets a task asked to stop ([`stop`]) go on (`SIGCONT`): a stopped task becomes runnable;
/// one that had not reached a stop point yet simply does not stop.
pub fn resume(id: TaskId) -> Result<(), KillError> {
    let task = find(id).ok_or(KillError::NoSuchTask)?;
    interrupts::without_interrupts(|| {
        task.stop_signal.store(0, Ordering::SeqCst);
        make_runnable_if_stopped(&task, None);
    });
    Ok(())
}

/// Puts a `Stopped` task back on the run queue (interrupts disabled), setting its wake
/// reason if given.
fn make_runnable_if_stopped(task: &Arc<Task>, reason: Option<WakeReason>) {
    let mut st = task.sched.lock();
    if st.state != State::Stopped {
        return;
    }
    st.state = State::Runnable;
    if let Some(reason) = reason {
        st.wake_reason = reason;
    }
    drop(st);
    SCHED.lock().run_queue.push_back(task.clone());
}

impl Task {
    /// The signal of the stop this task is asked for or stopped by ([`stop`]), if any.
    pub fn stop_signal(&self) -> Option<i32> {
        Some(self.stop_signal.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }
}

/// The signal task `id` is asked to stop for or stopped by, if any.
pub fn stop_signal(id: TaskId) -> Option<i32> {
    find(id).and_then(|t| t.stop_signal())
}

/// Asks task `id` to end with `ExitValue::Killed(reason)`. The task ends at its next kill
/// point (see [`kill_point`]): at once if it is blocked in a wait (the wait returns and
/// unwinds), at its next file call, sleep or wait otherwise; a program thread in user mode
/// ends on its way back to user mode. Unwinding runs the destructors of its frames, so the
/// locks and memory they hold are given back. Killing the running task unwinds it now.
pub fn kill(id: TaskId, reason: &str) -> Result<(), KillError> {
    let task = find(id).ok_or(KillError::NoSuchTask)?;
    if task.idle || task.parent == 0 {
        return Err(KillError::NotPermitted);
    }
    if task.exit_value().is_some() {
        return Err(KillError::NoSuchTask);
    }
    interrupts::without_interrupts(|| {
        let mut request = task.kill_request.lock();
        if request.is_none() {
            *request = Some(KillRequest {
                reason: reason.into(),
                at_ns: time::monotonic_ns(),
            });
        }
        task.kill_flag.store(true, Ordering::SeqCst);
    });
    if task.id == current_id() {
        drop(task);
        kill_point();
        return Ok(());
    }
    if !wake(&task, WakeReason::Killed) {
        // A stopped task goes on to its next kill point (right after its stop point).
        interrupts::without_interrupts(|| {
            make_runnable_if_stopped(&task, Some(WakeReason::Killed))
        });
    }
    Ok(())
}

impl Task {
    /// True if a kill is pending and the task is not already unwinding (a kill point inside
    /// a destructor run by the unwinding must not start a second one).
    fn kill_deliverable(&self) -> bool {
        self.kill_flag.load(Ordering::SeqCst) && !self.unwinding.load(Ordering::SeqCst)
    }
}

/// The kill's reason if the running task has a kill to act on (for the system-call return
/// path, which ends a program thread without unwinding: nothing of the thread's lives on its
/// kernel stack there).
pub fn pending_kill() -> Option<String> {
    if !STARTED.load(Ordering::Relaxed) {
        return None;
    }
    let me = current();
    if !me.kill_deliverable() {
        return None;
    }
    interrupts::without_interrupts(|| me.kill_request.lock().as_ref().map(|k| k.reason.clone()))
}

/// A kill point: if the running task has been asked to die ([`kill`]), unwinds its stack
/// like a panic, so every frame's destructors run (locks are released, memory freed), and
/// the task ends with `ExitValue::Killed(reason)`. Otherwise returns at once (one atomic
/// load). Waits, sleeps and file calls are kill points; long loops in kernel code should
/// call it. Skipped with interrupts disabled (the caller may hold an interrupt-safe lock)
/// and in the boot and idle tasks.
pub fn kill_point() {
    if !STARTED.load(Ordering::Relaxed) || !interrupts::are_enabled() {
        return;
    }
    let me = current();
    if me.idle || me.parent == 0 || !me.kill_deliverable() {
        return;
    }
    let Some(reason) = pending_kill() else {
        return;
    };
    me.unwinding.store(true, Ordering::SeqCst);
    drop(me);
    let code = unwind::raise(Box::new(KillPayload(reason.clone())));
    // No frame information to unwind with: end without unwinding.
    log::warn!(
        "task {}: a kill could not unwind (code {}); ended where it was",
        current_id(),
        code.0
    );
    exit_with(ExitValue::Killed(reason));
}

/// Marks whether the running task may be ended where it runs by a kill it does not reach a
/// kill point for (see [`KILL_GRACE_NS`]): only for code that holds no lock and whose state
/// nothing else needs, such as a wasm guest between two host calls. Its memory is not freed
/// then (nothing unwinds), so such code should reach kill points when it can.
pub fn set_async_killable(on: bool) {
    if STARTED.load(Ordering::Relaxed) {
        current().async_killable.store(on, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillError {
    NoSuchTask,
    NotPermitted,
}

fn find(id: TaskId) -> Option<Arc<Task>> {
    interrupts::without_interrupts(|| TASKS.lock().get(&id).and_then(Weak::upgrade))
}

/// A snapshot of one task for `ps`.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    pub id: TaskId,
    pub name: String,
    pub state: State,
    pub cpu_ns: u64,
    pub priority: u8,
}

/// Every live task (those that exited but are still referenced by a joiner included).
pub fn list() -> Vec<TaskInfo> {
    let tasks: Vec<Arc<Task>> = interrupts::without_interrupts(|| {
        let mut map = TASKS.lock();
        map.retain(|_, w| w.strong_count() > 0);
        map.values().filter_map(Weak::upgrade).collect()
    });
    tasks
        .iter()
        .map(|t| TaskInfo {
            id: t.id,
            name: t.name.clone(),
            state: t.state(),
            cpu_ns: t.cpu_ns(),
            priority: t.priority(),
        })
        .collect()
}

/// Attaches an upper layer's context object (files, stdio...) to the running task; tasks it
/// spawns inherit it.
pub fn set_context(ctx: Arc<dyn Any + Send + Sync>) {
    *current().context.lock() = Some(ctx);
}

/// The running task's context object, if it is of type `T`.
pub fn context<T: Any + Send + Sync>() -> Option<Arc<T>> {
    let ctx = current().context.lock().clone()?;
    ctx.downcast::<T>().ok()
}

/// Task `id`'s context object, if it is of type `T`.
pub fn context_of<T: Any + Send + Sync>(id: TaskId) -> Option<Arc<T>> {
    let ctx = find(id)?.context.lock().clone()?;
    ctx.downcast::<T>().ok()
}

/// The live tasks whose context object is the same as task `id`'s (the threads of one
/// process), `id` included; empty if `id` does not exist or has no context.
pub fn tasks_sharing_context(id: TaskId) -> Vec<TaskId> {
    let Some(ctx) = find(id).and_then(|t| t.context.lock().clone()) else {
        return Vec::new();
    };
    let tasks: Vec<Arc<Task>> = interrupts::without_interrupts(|| {
        TASKS.lock().values().filter_map(Weak::upgrade).collect()
    });
    tasks
        .iter()
        .filter(|t| t.exit_value().is_none())
        .filter(|t| {
            t.context
                .lock()
                .as_ref()
                .is_some_and(|c| Arc::ptr_eq(c, &ctx))
        })
        .map(|t| t.id)
        .collect()
}

/// Sets the context object of a task that has not started running yet (right after spawn).
pub fn set_context_of(task: &Task, ctx: Arc<dyn Any + Send + Sync>) {
    *task.context.lock() = Some(ctx);
}

/// Makes `rsp` (the top of the unused part of the running task's kernel stack) the stack its
/// entries from user mode (system calls, interrupts, exceptions) run on, from now on.
pub fn set_user_entry_stack(rsp: u64) {
    interrupts::without_interrupts(|| {
        let me = SCHED.lock().current.clone().expect("scheduler not started");
        me.user_entry_rsp.store(rsp, Ordering::Relaxed);
        ::interrupts::set_kernel_entry(rsp, me.thread_pointer);
    });
}

/// The running task's entry stack for user mode (see [`set_user_entry_stack`]); 0 if it never
/// ran user code.
pub fn user_entry_stack() -> u64 {
    interrupts::without_interrupts(|| {
        SCHED
            .lock()
            .current
            .as_ref()
            .map_or(0, |t| t.user_entry_rsp.load(Ordering::Relaxed))
    })
}

/// True if the running task has been asked to die (for long loops that want to stop early).
pub fn kill_pending() -> bool {
    STARTED.load(Ordering::Relaxed) && current().kill_flag.load(Ordering::SeqCst)
}
