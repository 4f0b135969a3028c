//! Faults and unwinding state of a task: its fault handler, the faults waiting for the
//! kernel's fault paths, the panic and kill payloads it unwinds with, and catching them.

use crate::unwind;
use crate::{STARTED, current};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::Ordering;
use x86_64::instructions::interrupts;

/// The payload the kernel's panic handler gives [`start_unwinding`].
pub struct PanicPayload(pub String);

/// The payload a [`kill_point`](crate::kill_point) unwinds with: the kill's reason.
pub(crate) struct KillPayload(pub(crate) String);

pub(crate) fn panic_reason(payload: Box<dyn Any + Send>) -> String {
    let payload = match payload.downcast::<PanicPayload>() {
        Ok(p) => return p.0,
        Err(other) => other,
    };
    match payload.downcast::<KillPayload>() {
        Ok(k) => k.0,
        Err(_) => "panicked".into(),
    }
}

/// Runs `f`; if the task unwinds out of it (a [`kill_point`](crate::kill_point) or a panic), returns the reason
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
