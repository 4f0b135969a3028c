//! Processes: the running program as a whole (all the threads sharing its context), new
//! processes, and `exec`.

use crate::thread::JoinHandle;
use crate::usermode::Registers;
use crate::{Errno, Result, errno};
use alloc::string::String;
use alloc::vec::Vec;

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

/// Stops the calling program (job control: the default action of `SIGTSTP`, `SIGSTOP`,
/// `SIGTTIN`, `SIGTTOU`; `signal` is recorded as the reason): every thread stops at its next
/// return to user mode until the shell continues the job (`fg`, `bg`, `SIGCONT`).
pub fn stop_current_process(signal: i32) {
    process::stop_current_process(signal)
}

/// The running process's value of type `T`, created with `init` by the first thread that asks:
/// state an upper layer keeps per process (e.g. the Linux system-call layer's memory map). It
/// lives as long as the process's context and is dropped with it, however the process ends.
/// `None` for a task that belongs to no process.
pub fn local<T: core::any::Any + Send + Sync>(
    init: impl FnOnce() -> T,
) -> Option<alloc::sync::Arc<T>> {
    // The common case (it exists) without a reference to the context; `init` runs outside
    // the task's context lock (it may look the context up).
    if let Some(found) = task::with_context(|ctx: &vfs::ProcessContext| ctx.resource::<T>())? {
        return Some(found);
    }
    let ctx = task::context::<vfs::ProcessContext>()?;
    Some(ctx.resource_or_insert_with(init))
}

/// The calling process's id (`getpid`, `/proc/self`): the thread id of its main thread.
pub fn id() -> u64 {
    // Read in place (no reference to the context taken: `getpid` is the null system call).
    task::with_context(|ctx: &vfs::ProcessContext| ctx.pid())
        .unwrap_or_else(|| vfs::current_context().pid())
}

/// CPU time of the calling process in ns, `(all, user mode)`: its live threads' and its
/// ended threads' (`getrusage(RUSAGE_SELF)`, `CLOCK_PROCESS_CPUTIME_ID`). Like
/// [`crate::thread::cpu_time_ns`], it advances at task switches.
pub fn cpu_times() -> (u64, u64) {
    procfs::process_cpu_times(id()).unwrap_or_else(crate::thread::cpu_times)
}

/// CPU time of process `pid` in ns, `(all, user mode)`, as [`cpu_times`] counts it; `None`
/// if there is no such process.
pub fn cpu_times_of(pid: u64) -> Option<(u64, u64)> {
    procfs::process_cpu_times(pid)
}

/// The id of the process that started the calling one (the shell for programs it runs), 0
/// if no process did.
pub fn parent_id() -> u64 {
    vfs::current_context().parent_pid()
}

/// `(soft, hard)` of resource limit `resource` (Linux's `RLIMIT_*` numbers; `u64::MAX` is
/// unlimited), `None` for an unknown number. The same for every process.
pub fn limit(resource: u32) -> Option<(u64, u64)> {
    process::limits::limit(resource)
}

/// Records that the calling process mapped `len` bytes at `start` for its program (its
/// memory map, what `/proc/self/maps` and `statm` show).
pub fn record_mapping(start: usize, len: usize) {
    let map = process::memory_map::MemoryMap::of(&vfs::current_context());
    let range = start as u64..start.saturating_add(len) as u64;
    map.insert(range, process::memory_map::RegionKind::Mapped);
}

/// Records that the calling process unmapped `len` bytes at `start`.
pub fn record_unmapping(start: usize, len: usize) {
    let map = process::memory_map::MemoryMap::of(&vfs::current_context());
    map.remove(start as u64..start.saturating_add(len) as u64);
}

/// The absolute path of the program the calling process runs (`/proc/self/exe`).
pub fn exe_path() -> Option<String> {
    task::context::<vfs::ProcessContext>()?.exe()
}

/// Kills every other thread of the calling process (they end before they run again).
pub fn kill_other_threads(reason: &str) {
    process::kill_other_threads(reason)
}

/// The value of type `T` of the process whose thread is `thread` (see [`local`]), if it has
/// one (none is created).
pub fn local_of<T: core::any::Any + Send + Sync>(
    thread: crate::thread::ThreadId,
) -> Option<alloc::sync::Arc<T>> {
    task::context_of::<vfs::ProcessContext>(thread.as_u64())?.resource::<T>()
}

/// Installs the function that offers a signal sent from outside (the shell's Ctrl-C sends
/// `SIGINT`, 2) to a process, named by its main thread: it returns true if the process takes
/// the signal (it handles or ignores it), false to let it be killed.
pub fn set_signal_handler(handler: fn(crate::thread::ThreadId, i32) -> bool) {
    static HANDLER: spin::Once<fn(crate::thread::ThreadId, i32) -> bool> = spin::Once::new();
    HANDLER.call_once(|| handler);
    process::set_signal_hook(|id, sig| {
        HANDLER
            .get()
            .is_some_and(|h| h(crate::thread::ThreadId::from_u64(id), sig))
    });
}

/// Removes the running process's value of type `T` (see [`local`]); the next [`local`] call
/// creates a new one.
pub fn remove_local<T: core::any::Any + Send + Sync>() -> Option<alloc::sync::Arc<T>> {
    task::context::<vfs::ProcessContext>()?.remove_resource::<T>()
}

/// Starts a new process running `f` in a new thread: a copy of the calling process's
/// descriptors (sharing the open files), working directory, arguments and environment, like
/// `fork` (the memory is the one address space). Its threads and what it keeps alive are its
/// own.
pub fn spawn<F: FnOnce() -> isize + Send + 'static>(name: &str, f: F) -> Result<JoinHandle> {
    let ctx = vfs::current_context().fork();
    let inner =
        vfs::spawn_with_context(task::Builder::new(name), ctx, f).map_err(errno::spawn_error)?;
    Ok(JoinHandle::from_task(inner))
}

/// Replaces the calling process's program with the Linux executable at `path`, run with
/// `args` and `env` (`NAME=value`): returns the registers to continue with in user mode
/// ([`crate::usermode::enter`]). The caller ends the process's other threads first. Errors:
/// those of opening the file, `ENOEXEC` for a file that is not a static Linux executable,
/// `E2BIG`, `ENOMEM`; then the process is unchanged.
pub fn exec(path: &str, args: Vec<String>, env: Vec<String>) -> Result<Registers> {
    match process::exec(path, args, env) {
        Ok(frame) => Ok(Registers::from_frame(frame)),
        Err(process::SpawnError::File(e)) => Err(e),
        Err(process::SpawnError::Load(_)) => Err(Errno::ENOEXEC),
        Err(process::SpawnError::ArgumentsTooLong) => Err(Errno::E2BIG),
        Err(process::SpawnError::OutOfMemory) => Err(Errno::ENOMEM),
    }
}
