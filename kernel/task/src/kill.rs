//! Kills: recording one and acting on it at a kill point (unwinding). A kill never ends a task
//! where it runs: code that computes without reaching a kill point (a wasm guest) must check
//! for one itself (the wasm runners do, from fuel slices or epoch deadlines).

use crate::unwind;
use crate::{
    ExitValue, KillPayload, STARTED, Task, TaskId, WakeReason, current, current_id, exit_with,
    find, make_runnable_if_stopped, nudge, wake,
};
use alloc::boxed::Box;
use alloc::string::String;
use core::sync::atomic::Ordering;
use x86_64::instructions::interrupts;

/// A pending kill: the reason the task will end with.
pub(crate) struct KillRequest {
    reason: String,
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
    // Running on another CPU: a program thread in user mode ends on the way back from the
    // interrupt this sends; kernel code at its next kill point, as everywhere.
    nudge(&task);
    Ok(())
}

impl Task {
    /// True if a kill is pending and the task is not already unwinding (a kill point inside
    /// a destructor run by the unwinding must not start a second one).
    #[inline]
    pub(crate) fn kill_deliverable(&self) -> bool {
        self.kill_flag.load(Ordering::SeqCst) && !self.unwinding.load(Ordering::SeqCst)
    }
}

/// The kill's reason if the running task has a kill to act on (for the system-call return
/// path, which ends a program thread without unwinding: nothing of the thread's lives on its
/// kernel stack there).
#[inline]
pub fn pending_kill() -> Option<String> {
    if !STARTED.load(Ordering::Relaxed) {
        return None;
    }
    if !crate::scheduler::with_current(|me| me.kill_deliverable()) {
        return None;
    }
    kill_reason()
}

/// The running task's kill request's reason (the rare path of [`pending_kill`]).
#[cold]
#[inline(never)]
fn kill_reason() -> Option<String> {
    crate::scheduler::with_current(|me| {
        interrupts::without_interrupts(|| me.kill_request.lock().as_ref().map(|k| k.reason.clone()))
    })
}

/// A kill point: if the running task has been asked to die ([`kill`]), unwinds its stack
/// like a panic, so every frame's destructors run (locks are released, memory freed), and
/// the task ends with `ExitValue::Killed(reason)`. Otherwise returns at once (one atomic
/// load). Waits, sleeps and file calls are kill points; long loops in kernel code should
/// call it. Skipped with interrupts disabled (the caller may hold an interrupt-safe lock)
/// and in the boot and idle tasks.
#[inline]
pub fn kill_point() {
    if !STARTED.load(Ordering::Relaxed) || !interrupts::are_enabled() {
        return;
    }
    // The common case (no kill) without taking a reference to the task.
    if !crate::scheduler::with_current(|me| !me.idle && me.parent != 0 && me.kill_deliverable()) {
        return;
    }
    unwind_for_kill();
}

/// Unwinds the running task for its kill (the rare path of [`kill_point`]).
#[cold]
#[inline(never)]
fn unwind_for_kill() {
    let Some(reason) = pending_kill() else {
        return;
    };
    current().unwinding.store(true, Ordering::SeqCst);
    let code = unwind::raise(Box::new(KillPayload(reason.clone())));
    // No frame information to unwind with: end without unwinding.
    log::warn!(
        "task {}: a kill could not unwind (code {}); ended where it was",
        current_id(),
        code.0
    );
    exit_with(ExitValue::Killed(reason));
}

/// Marks whether the running task may be stopped (job control) at a timer tick, where it
/// runs: only for code that holds no lock, such as a wasm guest between two host calls (see
/// [`stop`](crate::stop)). Kills are not affected: they always wait for a kill point.
pub fn set_async_stoppable(on: bool) {
    if STARTED.load(Ordering::Relaxed) {
        current().async_stoppable.store(on, Ordering::SeqCst);
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
