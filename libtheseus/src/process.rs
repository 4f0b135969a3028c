//! Processes: the running program as a whole (all the threads sharing its context).

/// Ends the calling program with `status`: its other threads are killed, then the calling
/// one ends with the status as the program's exit status.
pub fn exit_current_process(status: i32) -> ! {
    process::exit_current_process(status)
}

/// Ends the calling program as killed with `reason` (its first line should end with the
/// signal in brackets, e.g. `[SIGABRT]`, which the shell turns into 128 + its number).
pub fn kill_current_process(reason: &str) -> ! {
    process::kill_current_process(reason)
}

/// The running process's value of type `T`, created with `init` by the first thread that asks:
/// state an upper layer keeps per process (e.g. the Linux system-call layer's memory map). It
/// lives as long as the process's context and is dropped with it, however the process ends.
/// `None` for a task that belongs to no process.
pub fn local<T: core::any::Any + Send + Sync>(
    init: impl FnOnce() -> T,
) -> Option<alloc::sync::Arc<T>> {
    let ctx = task::context::<vfs::ProcessContext>()?;
    Some(ctx.resource_or_insert_with(init))
}
