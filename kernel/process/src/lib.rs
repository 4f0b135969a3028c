//! Processes: a program file run as a task of its own, with its arguments, environment and
//! stdio (a `vfs::ProcessContext`), its loaded image, and an exit status.
//!
//! [`spawn`] reads the file, has `elf_loader` map and relocate it (binding its undefined
//! symbols to the kernel's export table), lays out `argv`/`envp` as C strings, and starts the
//! main task at the program's entry (`runtime_entry(argc, argv, envp)` for std programs) with
//! the program's static TLS. The image is owned by the process's context (shared by all its
//! tasks), not by a task stack, so it lives while any of its threads runs and is freed when
//! the last one ends, even when the program is killed without unwinding.
//!
//! Limits today: threads a program leaves running after its main task ends are not killed
//! (std programs join theirs); the program's heap comes from the kernel heap, so a killed
//! program leaks what it allocated.
//!
//! Depends on `elf_loader`, `exports`, `task`, `vfs`.

#![no_std]

extern crate alloc;

mod linux;
mod tests;

use alloc::format;
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

/// Kernel stack of a program's main task: 2 MiB (std's default main-thread expectations).
const MAIN_STACK_PAGES: u64 = 512;

/// What a process keeps alive while it runs.
struct Image {
    program: elf_loader::Program,
    /// The C strings and pointer arrays `argv` and `envp` point into.
    _strings: Vec<u8>,
    _pointers: Vec<u64>,
}

impl Drop for Image {
    fn drop(&mut self) {
        backtrace::unregister_image(self.program.image_range().0);
    }
}

#[derive(Debug)]
pub enum SpawnError {
    /// The file could not be read.
    File(vfs::VfsError),
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
    let fd = vfs::open(path, vfs::OpenOptions::read_only()).map_err(SpawnError::File)?;
    let bytes = vfs::read_to_end(fd);
    let _ = vfs::close(fd);
    let bytes = bytes.map_err(SpawnError::File)?;
    if elf_loader::linux::classify(&bytes).map_err(SpawnError::Load)?
        == elf_loader::linux::Kind::Linux
    {
        return linux::spawn(&bytes, path, args, ctx);
    }
    let program = elf_loader::load(&bytes, &exports::lookup).map_err(SpawnError::Load)?;
    // Name the program's own functions in backtraces (a program without symbols just shows
    // addresses).
    if let Ok(table) = symbols::SymbolTable::from_elf(&bytes) {
        let (start, len) = program.image_range();
        backtrace::register_image(start, start + len, table);
    }
    drop(bytes);

    let env: Vec<String> = ctx
        .env_vars()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let (arg_bytes, arg_offsets) = c_strings(&args);
    let (env_bytes, env_offsets) = c_strings(&env);
    let mut strings = arg_bytes;
    let env_base = strings.len();
    strings.extend_from_slice(&env_bytes);
    let base = strings.as_ptr() as u64;
    let mut pointers: Vec<u64> = arg_offsets.iter().map(|&o| base + o as u64).collect();
    pointers.push(0);
    let envp_index = pointers.len();
    pointers.extend(env_offsets.iter().map(|&o| base + (env_base + o) as u64));
    pointers.push(0);
    let argv = pointers.as_ptr() as u64;
    let envp = argv + (envp_index * 8) as u64;
    let argc = args.len() as i32;
    let entry = program.entry();
    ctx.set_args(args.clone());

    let name = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a))
        .unwrap_or(path);
    let builder = task::Builder::new(name)
        .stack_pages(MAIN_STACK_PAGES)
        .program_tls(program.tls());
    ctx.keep_alive(alloc::boxed::Box::new(Image {
        program,
        _strings: strings,
        _pointers: pointers,
    }));
    let handle = vfs::spawn_with_context(builder, ctx, move || {
        // SAFETY: `entry` is the entry point of the image just loaded, which the task's
        // context keeps mapped for as long as any task of the process runs; `argv`/`envp`
        // point into NUL-terminated arrays of NUL-terminated strings kept there too. std's
        // `runtime_entry` has this signature.
        let run: extern "C" fn(i32, u64, u64) -> isize =
            unsafe { core::mem::transmute(entry as usize) };
        run(argc, argv, envp)
    })
    .map_err(|_| SpawnError::OutOfMemory)?;
    let mut mains = MAIN_TASKS.lock();
    mains.retain(|&id| task::tasks_sharing_context(id).contains(&id));
    mains.insert(handle.id());
    drop(mains);
    Ok(handle)
}

/// Ends the calling program with `status` (the Hermit `sys_exit`): its other threads are
/// killed, then the calling one ends with the status.
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
