//! The scheduler: the run queue (one round-robin queue per priority), sleepers, the running
//! task, switching between tasks, blocking and waking, and the timer tick that preempts.

use crate::switch;
use crate::tls;
use crate::{
    DEFAULT_STACK_PAGES, State, TASKS, Task, TaskId, WakeReason, kill_point, new_task, spawn_inner,
    stay_stopped, stop_if_async_stoppable,
};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;
use x86_64::instructions::interrupts;

/// Timer ticks a task runs before it is preempted (10 ms each).
const TIME_SLICE_TICKS: u32 = 2;

/// Scheduling priorities: 0 (lowest) to `PRIORITIES - 1`. A runnable task of a higher
/// priority always runs before lower ones; equal priorities share the CPU round-robin.
pub const PRIORITIES: usize = 4;

/// The priority tasks get unless their spawner chooses another.
pub const DEFAULT_PRIORITY: u8 = 1;

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

    pub(crate) fn push_back(&mut self, task: Arc<Task>) {
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

pub(crate) struct Scheduler {
    pub(crate) current: Option<Arc<Task>>,
    pub(crate) run_queue: RunQueue,
    sleepers: Vec<Sleeper>,
    idle: Option<Arc<Task>>,
    /// An exited task whose stack can be freed once we are off it.
    reap: Option<Arc<Task>>,
    slice_left: u32,
    last_switch_ns: u64,
}

pub(crate) static SCHED: Mutex<Scheduler> = Mutex::new(Scheduler {
    current: None,
    run_queue: RunQueue::new(),
    sleepers: Vec::new(),
    idle: None,
    reap: None,
    slice_left: TIME_SLICE_TICKS,
    last_switch_ns: 0,
});

pub(crate) static STARTED: AtomicBool = AtomicBool::new(false);

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
        ::interrupts::set_current_task(Arc::as_ptr(&boot) as usize);
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
///
/// Read from the per-CPU block (no lock): the scheduler records `SCHED.current` there each
/// time it changes, with interrupts disabled.
pub fn current() -> Arc<Task> {
    let task = running_task();
    // SAFETY: the address is `Arc::as_ptr` of the scheduler's `current`, which holds a strong
    // reference for as long as the task runs; the caller is that running task (a preemption
    // in between switches back to it before it continues), so the count is above zero here.
    unsafe {
        Arc::increment_strong_count(task);
        Arc::from_raw(task)
    }
}

/// The running task as recorded in the per-CPU block.
fn running_task() -> *const Task {
    let task = ::interrupts::current_task() as *const Task;
    assert!(!task.is_null(), "task::init not called");
    task
}

/// Runs `f` on the running task without taking a reference count (the hot paths of every
/// system call: kill and stop checks, the context lookup).
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
    current().id
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
pub(crate) fn schedule() {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    schedule_locked_irqs_off();
    if were_enabled {
        interrupts::enable();
    }
}

pub(crate) fn schedule_locked_irqs_off() {
    let (prev_rsp, next_rsp, next_tp, next_entry) = {
        let mut s = SCHED.lock();
        let prev = s.current.take().expect("scheduler not started");
        let now = time::monotonic_ns();
        let ran = now.saturating_sub(s.last_switch_ns);
        prev.cpu_ns.fetch_add(ran, Ordering::Relaxed);
        prev.totals.charge(|t| &t.cpu_ns, ran);
        crate::cpu_time::charge_run(prev.idle, ran);
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
        ::interrupts::set_current_task(Arc::as_ptr(&next) as usize);
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
}

/// Runs on the new task right after a switch: frees the stack of a task that exited.
pub(crate) fn finish_switch() {
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
        crate::cpu_time::charge_user(tick);
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
    stop_if_async_stoppable();
}
