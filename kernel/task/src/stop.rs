//! Stops (job control): recording one, stopping at a stop point, resuming.

use crate::{
    KillError, STARTED, State, Task, TaskId, WakeReason, cancel_block, enqueue, find, nudge,
    schedule_locked_irqs_off,
};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use x86_64::instructions::interrupts;

/// A stop asked of an [async-stoppable](crate::set_async_stoppable) task (a wasm guest
/// computing between host calls) takes effect at a tick: the task holds no lock there (the
/// allocator's is checked), so stopping it is like a preemption that lasts until [`resume`].
pub(crate) fn stop_if_async_stoppable() {
    if ::interrupts::current_task() == 0 {
        return;
    }
    let me = crate::current();
    if me.stop_signal.load(Ordering::SeqCst) != 0
        && me.async_stoppable.load(Ordering::SeqCst)
        && !me.idle
        && !memory::allocator_busy()
    {
        stay_stopped(&me);
    }
}

/// While `me` (the running task, interrupts disabled) is asked to stop and has no kill to
/// act on, marks it `Stopped` and switches away; returns once [`resume`] or [`kill`](crate::kill) lets it
/// go on. Returns whether it stopped.
#[inline]
pub(crate) fn stay_stopped(me: &Arc<Task>) -> bool {
    debug_assert!(!interrupts::are_enabled());
    // The common case (no stop asked) without a call: every wait and switch passes here.
    if me.stop_signal.load(Ordering::SeqCst) == 0 {
        return false;
    }
    stay_stopped_slow(me)
}

#[inline(never)]
fn stay_stopped_slow(me: &Arc<Task>) -> bool {
    let mut stopped = false;
    let asked = |me: &Task| me.stop_signal.load(Ordering::SeqCst) != 0 && !me.kill_deliverable();
    while asked(me) && !me.idle && me.parent != 0 {
        me.sched.lock().state = State::Stopped;
        // A `resume` or `kill` on another CPU between the look above and the mark would
        // find the task not stopped yet and leave it stopped for good: look again.
        if !asked(me) {
            cancel_block(me);
            break;
        }
        stopped = true;
        schedule_locked_irqs_off();
    }
    stopped
}

/// A stop point: if the running task has been asked to stop ([`stop`]), it stops here until
/// [`resume`] (or a [`kill`](crate::kill), which it then acts on at its next kill point). Returns whether
/// it stopped. Call it only where the task holds no lock another task could need (the
/// return to user mode, where a program thread's kernel stack holds only the entry frames;
/// a file call before it takes any lock): waits already stop on their own (a task asked to
/// stop stops when it is woken, before it acts on the wake-up). Works with interrupts
/// disabled or enabled, and restores the flag.
#[inline]
pub fn stop_point() -> bool {
    if !STARTED.load(Ordering::Relaxed) {
        return false;
    }
    // The common case, checked without disabling interrupts or taking a reference (every
    // return to user mode passes here).
    if crate::scheduler::with_current(|me| me.stop_signal.load(Ordering::SeqCst) == 0) {
        return false;
    }
    stop_here()
}

/// Stops the running task until resumed (the rare path of [`stop_point`]).
#[cold]
#[inline(never)]
fn stop_here() -> bool {
    let me = crate::current();
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
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
/// timer tick while it is [async-stoppable](crate::set_async_stoppable) (a wasm guest between
/// host calls). A blocked task stays blocked meanwhile and stops when woken. [`resume`] lets it
/// go on; a [`kill`](crate::kill) of a stopped task ends it as usual.
pub fn stop(id: TaskId, signal: i32) -> Result<(), KillError> {
    let task = find(id).ok_or(KillError::NoSuchTask)?;
    if task.idle || task.parent == 0 {
        return Err(KillError::NotPermitted);
    }
    if task.exit_value().is_some() {
        return Err(KillError::NoSuchTask);
    }
    task.stop_signal.store(signal.max(1), Ordering::SeqCst);
    // Running on another CPU (in user mode, say): that CPU looks at it now.
    nudge(&task);
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
/// reason if given. (The task may still be switching away on its CPU: the queue's CPUs
/// wait for that, see `scheduler`.)
pub(crate) fn make_runnable_if_stopped(task: &Arc<Task>, reason: Option<WakeReason>) {
    let mut st = task.sched.lock();
    if st.state != State::Stopped {
        return;
    }
    st.state = State::Runnable;
    if let Some(reason) = reason {
        st.wake_reason = reason;
    }
    drop(st);
    enqueue(task.clone());
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
