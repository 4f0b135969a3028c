//! Per-task context: the upper layers' context object (files, stdio) and the stack a task's
//! entries from user mode run on.

use crate::{TASKS, Task, TaskId, current, find};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::Ordering;
use x86_64::instructions::interrupts;

/// Attaches an upper layer's context object (files, stdio...) to the running task; tasks it
/// spawns inherit it.
pub fn set_context(ctx: Arc<dyn Any + Send + Sync>) {
    *current().context.lock() = Some(ctx);
}

/// The running task's context object, if it is of type `T`.
pub fn context<T: Any + Send + Sync>() -> Option<Arc<T>> {
    let ctx = crate::scheduler::with_current(|me| me.context.lock().clone())?;
    ctx.downcast::<T>().ok()
}

/// Runs `f` on the running task's context object, if it is of type `T`, without taking a
/// reference to it (a lookup every system call makes). `f` runs holding the task's context
/// lock: it must not set or look up a task's context itself.
pub fn with_context<T: Any + Send + Sync, R>(f: impl FnOnce(&T) -> R) -> Option<R> {
    crate::scheduler::with_current(|me| {
        let ctx = me.context.lock();
        ctx.as_deref()?.downcast_ref::<T>().map(f)
    })
}

/// Task `id`'s context object, if it is of type `T`.
pub fn context_of<T: Any + Send + Sync>(id: TaskId) -> Option<Arc<T>> {
    let ctx = find(id)?.context.lock().clone()?;
    ctx.downcast::<T>().ok()
}

/// The live tasks whose context object is the same as task `id`'s (the threads of one
/// process), `id` included; empty if `id` does not exist or has no context.
pub fn tasks_sharing_context(id: TaskId) -> Vec<TaskId> {
    match find(id).and_then(|t| t.context.lock().clone()) {
        Some(ctx) => tasks_with_context(&ctx),
        None => Vec::new(),
    }
}

/// The live tasks whose context object is `ctx` (the threads of one process, found after its
/// main thread has ended too).
pub fn tasks_with_context(ctx: &Arc<dyn Any + Send + Sync>) -> Vec<TaskId> {
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
                .is_some_and(|c| Arc::ptr_eq(c, ctx))
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
    // Interrupts off: the entry stack is this CPU's until the task switches away (the
    // scheduler sets it again on whichever CPU the task runs next).
    interrupts::without_interrupts(|| {
        crate::scheduler::with_current(|me| {
            me.user_entry_rsp.store(rsp, Ordering::Relaxed);
            ::interrupts::set_kernel_entry(rsp, me.thread_pointer);
        })
    });
}

/// The running task's entry stack for user mode (see [`set_user_entry_stack`]); 0 if it never
/// ran user code.
pub fn user_entry_stack() -> u64 {
    if !crate::STARTED.load(Ordering::Relaxed) {
        return 0;
    }
    crate::scheduler::with_current(|me| me.user_entry_rsp.load(Ordering::Relaxed))
}
