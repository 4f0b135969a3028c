//! Kills: recording one, acting on it at a kill point (unwinding), and the forced end of an
//! async-killable task that does not reach one in time.

use crate::unwind;
use crate::{
    ExitValue, KillPayload, SCHED, STARTED, Task, TaskId, WakeReason, current, current_id,
    exit_with, find, make_runnable_if_stopped, wake,
};
use alloc::boxed::Box;
use alloc::string::String;
use core::sync::atomic::Ordering;
use x86_64::instructions::interrupts;

/// How long a kill waits for an [`async-killable`](set_async_killable) task to reach a kill
/// point before it ends the task where it runs.
pub const KILL_GRACE_NS: u64 = 100_000_000;

/// A pending kill: the reason the task will end with, and when it was asked.
pub(crate) struct KillRequest {
    reason: String,
    at_ns: u64,
}

/// The forced end of a kill: ends the running task where it is, without unwinding, if it
/// is [async-killable](set_async_killable), its kill has waited [`KILL_GRACE_NS`] for a kill
/// point, and no allocator lock is held (it could be this task's). Runs with interrupts
/// disabled, on a switch back to the task and on every tick.
pub(crate) fn force_kill_if_due() {
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
    pub(crate) fn kill_deliverable(&self) -> bool {
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
    crate::scheduler::with_current(|me| {
        if !me.kill_deliverable() {
            return None;
        }
        interrupts::without_interrupts(|| me.kill_request.lock().as_ref().map(|k| k.reason.clone()))
    })
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

/// True if the running task has been asked to die (for long loops that want to stop early).
pub fn kill_pending() -> bool {
    STARTED.load(Ordering::Relaxed) && current().kill_flag.load(Ordering::SeqCst)
}
