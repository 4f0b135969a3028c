//! A task's life: creating and spawning it (`Builder`), its entry code, exit, and joining it.

use crate::WaitQueue;
use crate::switch;
use crate::tls;
use crate::unwind;
use crate::{
    CpuTotals, DEFAULT_PRIORITY, DEFAULT_STACK_PAGES, Entry, ExitValue, NO_CPU, PRIORITIES,
    SchedState, State, TASKS, Task, TaskId, WakeReason, current, enqueue, finish_switch,
    panic_reason, schedule,
};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use spin::Mutex;
use x86_64::instructions::interrupts;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn new_task(
    name: &str,
    parent: TaskId,
    idle: bool,
    parent_totals: Option<Arc<CpuTotals>>,
) -> Option<Task> {
    let tls = tls::TlsBlock::new()?;
    Some(Task {
        id: NEXT_ID.fetch_add(1, Ordering::SeqCst),
        name: name.into(),
        comm: Mutex::new(None),
        parent,
        started_ns: time::monotonic_ns(),
        sched: Mutex::new(SchedState {
            state: State::Runnable,
            wake_reason: WakeReason::Notified,
            block_seq: 0,
        }),
        saved_rsp: AtomicU64::new(0),
        on_cpu: AtomicUsize::new(NO_CPU),
        affinity: AtomicU64::new(u64::MAX),
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
        interrupt_flag: AtomicBool::new(false),
        interruptible: AtomicBool::new(false),
        interrupt_at: AtomicU64::new(0),
        stop_signal: core::sync::atomic::AtomicI32::new(0),
        async_stoppable: AtomicBool::new(false),
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

/// Options for a new task.
pub struct Builder {
    name: String,
    stack_pages: u64,
    priority: Option<u8>,
    affinity: Option<u64>,
}

impl Builder {
    pub fn new(name: &str) -> Builder {
        Builder {
            name: name.into(),
            stack_pages: DEFAULT_STACK_PAGES,
            priority: None,
            affinity: None,
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

    /// The CPUs the task may run on (bit i: CPU index i; default: the spawning task's). A
    /// mask with no CPU that runs tasks is ignored.
    pub fn affinity(mut self, mask: u64) -> Builder {
        self.affinity = Some(mask);
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
        let affinity = self
            .affinity
            .filter(|m| m & crate::active_cpus() != 0)
            .unwrap_or_else(|| parent.affinity());
        task.affinity.store(affinity, Ordering::Relaxed);
        interrupts::without_interrupts(|| {
            TASKS.lock().insert(task.id, Arc::downgrade(&task));
            enqueue(task.clone());
        });
        Ok(JoinHandle { task })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnError {
    OutOfMemory,
}

pub(crate) fn spawn_inner<F: FnOnce() -> isize + Send + 'static>(
    name: &str,
    parent: TaskId,
    stack_pages: u64,
    idle: bool,
    parent_totals: Option<Arc<CpuTotals>>,
    f: F,
) -> Result<Arc<Task>, SpawnError> {
    let task = new_task(name, parent, idle, parent_totals).ok_or(SpawnError::OutOfMemory)?;
    let stack = crate::stack_pool::take(stack_pages).ok_or(SpawnError::OutOfMemory)?;
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

/// Ends the running task with `value`.
pub fn exit(value: isize) -> ! {
    exit_with(ExitValue::Exited(value))
}

/// Called after each task's end is published, with interrupts disabled: set once, by the
/// layer that must follow task ends (the VFS's readiness, which process descriptors report).
static END_OBSERVER: spin::Once<fn()> = spin::Once::new();

/// Sets the function called after every task's end (once; later calls are ignored). It runs
/// with interrupts disabled on the ending task, so it must not block.
pub fn set_end_observer(observer: fn()) {
    END_OBSERVER.call_once(|| observer);
}

/// Called by each ending task while it still has its context (interrupts enabled): set once,
/// by the layer that keeps per-process totals (the VFS: ended threads' CPU time).
static ENDING_OBSERVER: spin::Once<fn()> = spin::Once::new();

/// Sets the function each task calls as it ends, before its context goes (once; later calls
/// are ignored).
pub fn set_ending_observer(observer: fn()) {
    ENDING_OBSERVER.call_once(|| observer);
}

/// Ends the running task: runs its TLS key destructors, publishes the exit value, wakes its
/// joiners and the end observer, and switches away for good. Its stack and TLS block are
/// freed by the next task.
pub fn exit_with(value: ExitValue) -> ! {
    let me = current();
    assert!(!me.idle, "the idle task cannot exit");
    tls::run_destructors(&me.keys);
    // All its time in the totals before the observer reads them and the joiners wake.
    crate::scheduler::charge_running_task();
    if let Some(observer) = ENDING_OBSERVER.get() {
        observer();
    }
    *me.context.lock() = None;
    interrupts::disable();
    *me.exit.lock() = Some(value);
    me.sched.lock().state = State::Exited;
    me.joiners.notify_all();
    if let Some(observer) = END_OBSERVER.get() {
        observer();
    }
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
