//! Processes: a program file run as a task of its own, with its arguments, environment and
//! stdio (a `vfs::ProcessContext`), its loaded image, and an exit status.
//!
//! Programs are static Linux executables that run in user mode (see [`linux`]): [`spawn`]
//! loads one with `elf_loader`, builds its initial stack and starts its main task, which
//! enters user mode at the program's entry point; its system calls reach the handler `posix`
//! installed in `usermode`. [`exec`] replaces the calling process's program. The image and
//! stack are owned by the process's context (shared by all its tasks), not by a task stack, so
//! they live while any of its threads runs and are freed when the last one ends, even when the
//! program is killed.
//!
//! Each process has a [`memory_map::MemoryMap`] recording its image, stack and mappings (what
//! `/proc` shows), and [`limits`] are the resource limits every process has.
//!
//! Depends on `elf_loader`, `memory`, `usermode`, `task`, `vfs`, `backtrace`, `symbols`,
//! `rangemap`, `xxhash-rust` (a program file's version key).

#![no_std]

extern crate alloc;

pub mod limits;
mod linux;
pub mod memory_map;
mod tests;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use task::{ExitValue, JoinHandle};
use vfs::ProcessContext;

pub use elf_loader::LoadError;
pub use linux::exec;

/// Main tasks of the programs started so far that may still run (pruned as they end).
static MAIN_TASKS: spin::Mutex<alloc::collections::BTreeSet<task::TaskId>> =
    spin::Mutex::new(alloc::collections::BTreeSet::new());

#[derive(Debug)]
pub enum SpawnError {
    /// The file could not be read.
    File(vfs::Errno),
    /// The file is not a program this OS can run.
    Load(LoadError),
    /// The arguments and environment do not fit the new program's stack.
    ArgumentsTooLong,
    OutOfMemory,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SpawnError::File(e) => write!(f, "{e}"),
            SpawnError::Load(e) => write!(f, "cannot run: {e}"),
            SpawnError::ArgumentsTooLong => f.write_str("argument list too long"),
            SpawnError::OutOfMemory => f.write_str("out of memory"),
        }
    }
}

/// The exit status of a finished process: its `sys_exit` status, or the kill reason.
pub fn status(value: ExitValue) -> Result<i32, String> {
    match value {
        ExitValue::Exited(status) => Ok((status & 0xff) as i32),
        ExitValue::Killed(reason) => Err(reason),
    }
}

/// Lays out `strings` as NUL-terminated C strings and returns (bytes, offsets).
fn c_strings(strings: &[String]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut offsets = Vec::new();
    for s in strings {
        offsets.push(bytes.len());
        // An interior NUL would cut the string: keep only what precedes it.
        bytes.extend(s.bytes().take_while(|&b| b != 0));
        bytes.push(0);
    }
    (bytes, offsets)
}

/// Starts the program at `path` (made absolute against the caller's cwd) with `args` (the
/// program's `argv`, name first) and `ctx` as its context (stdio, cwd, environment). The
/// returned handle joins the program's main task; [`status`] turns its exit value into an
/// exit status.
pub fn spawn(
    path: &str,
    args: Vec<String>,
    ctx: Arc<ProcessContext>,
) -> Result<JoinHandle, SpawnError> {
    linux::spawn(path, args, ctx)
}

/// Ends the calling program with `status` (`exit_group`): its other threads are killed, then
/// the calling one ends with the status.
pub fn exit_current_process(status: i32) -> ! {
    let me = task::current_id();
    for id in task::tasks_sharing_context(me) {
        if id != me {
            let _ = task::kill(id, "the program exited");
        }
    }
    task::exit(status as isize)
}

/// Kills every other thread of the calling program (`execve`).
pub fn kill_other_threads(reason: &str) {
    let me = task::current_id();
    for id in task::tasks_sharing_context(me) {
        if id != me {
            let _ = task::kill(id, reason);
        }
    }
}

/// Ends the calling program as killed with `reason` (a fatal signal, a fault): its other
/// threads are killed, then the calling one ends with the reason.
pub fn kill_current_process(reason: &str) -> ! {
    let me = task::current_id();
    for id in task::tasks_sharing_context(me) {
        if id != me {
            let _ = task::kill(id, reason);
        }
    }
    task::exit_with(ExitValue::Killed(reason.into()))
}

/// Decides whether a process takes a signal itself (it has a handler, or ignores it) instead
/// of being killed: installed by the system-call layer.
static SIGNAL_HOOK: spin::Once<fn(task::TaskId, i32) -> bool> = spin::Once::new();

/// Installs the function that offers a signal sent from outside (Ctrl-C's `SIGINT`) to the
/// process whose main task is `id`; it returns true if the process took it.
pub fn set_signal_hook(hook: fn(task::TaskId, i32) -> bool) {
    SIGNAL_HOOK.call_once(|| hook);
}

/// `SIGCONT`: continue a stopped process.
pub const SIGCONT: i32 = 18;
/// `SIGSTOP`: stop; cannot be caught.
pub const SIGSTOP: i32 = 19;
/// `SIGTSTP`: stop from the terminal (Ctrl-Z).
pub const SIGTSTP: i32 = 20;
/// `SIGTTIN`: a background job read the terminal.
pub const SIGTTIN: i32 = 21;
/// `SIGTTOU`: a background job wrote to (or set) the terminal.
pub const SIGTTOU: i32 = 22;

/// `SIGWINCH`: the terminal's window size changed (ignored unless handled).
pub const SIGWINCH: i32 = 28;

/// True for the signals whose default action stops a process.
pub fn is_stop_signal(signal: i32) -> bool {
    matches!(signal, SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU)
}

/// Sends signal `signal` to the program whose main task is `id` (Ctrl-C sends `SIGINT`,
/// Ctrl-Z `SIGTSTP`): a program that handles or ignores it gets it; otherwise its default
/// action applies: a stop signal stops every thread ([`stop`]), others kill it with `reason`.
/// `SIGCONT` always continues the program ([`resume`]), after its handler's signal is
/// pending. Tasks that are not
/// Linux programs (shell commands, wasm guests) take every signal's default action.
pub fn signal(id: task::TaskId, signal: i32, reason: &str) -> Result<(), task::KillError> {
    let taken = signal != SIGSTOP && SIGNAL_HOOK.get().is_some_and(|hook| hook(id, signal));
    match signal {
        // Continued after the handler's signal is pending, so the handler runs first.
        SIGCONT => resume(id),
        _ if taken => Ok(()),
        s if is_stop_signal(s) => stop(id, s),
        // Ignored by default: SIGCHLD, SIGURG, SIGWINCH.
        17 | 23 | SIGWINCH => Ok(()),
        _ => kill(id, reason),
    }
}

/// The tasks that signals for task `id` reach: every thread if it is a program's main task.
fn threads_of(id: task::TaskId) -> Vec<task::TaskId> {
    if !MAIN_TASKS.lock().contains(&id) {
        return alloc::vec![id];
    }
    let tasks = task::tasks_sharing_context(id);
    if tasks.is_empty() {
        alloc::vec![id]
    } else {
        tasks
    }
}

/// Stops task `id` and, if it is a program's main task, every thread of that program (job
/// control; each stops at its next stop point, see `task::stop`).
pub fn stop(id: task::TaskId, signal: i32) -> Result<(), task::KillError> {
    let mut result = Err(task::KillError::NoSuchTask);
    for t in threads_of(id) {
        let r = task::stop(t, signal);
        if t == id || result.is_err() {
            result = r;
        }
    }
    result
}

/// Lets task `id` and, for a program's main task, every thread of that program go on after a
/// [`stop`].
pub fn resume(id: task::TaskId) -> Result<(), task::KillError> {
    let mut result = Err(task::KillError::NoSuchTask);
    for t in threads_of(id) {
        let r = task::resume(t);
        if t == id || result.is_err() {
            result = r;
        }
    }
    result
}

/// Stops the calling program (every thread) for `signal`, the default action of a stop
/// signal it raised: the calling thread stops at its return to user mode.
pub fn stop_current_process(signal: i32) {
    let me = task::current_id();
    let _ = task::stop(me, signal);
    for id in task::tasks_sharing_context(me) {
        let _ = task::stop(id, signal);
    }
}

/// Kills task `id` and, if it is a program's main task, every thread of that program
/// (Ctrl-C, `kill`).
pub fn kill(id: task::TaskId, reason: &str) -> Result<(), task::KillError> {
    if !MAIN_TASKS.lock().contains(&id) {
        return task::kill(id, reason);
    }
    let tasks = task::tasks_sharing_context(id);
    if tasks.is_empty() {
        return task::kill(id, reason);
    }
    for t in tasks {
        let _ = task::kill(t, reason);
    }
    Ok(())
}
