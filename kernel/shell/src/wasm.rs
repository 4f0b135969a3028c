//! WASI programs from the shell, engine-neutral: `NAME` found as `NAME.wasm` on `$PATH` (or
//! any file that starts with `\0asm`) runs in a task of its own with the command's stdio, so
//! Ctrl-C stops it like any job, and the `wasm` command. What runs the module is a
//! [`WasmEngine`] that the crate linking the system registers at boot: the shell depends on no
//! `wasm/` crate. Without one, both say so and give 125.

use crate::Io;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Stack of a task running a wasm guest, in 4 KiB pages (2 MiB: module validation and
/// wasmi's executor run on it).
pub const STACK_PAGES: u64 = 512;

/// Status of a module that cannot run (as `wasm_runner` reports it).
const STATUS_CANNOT_RUN: i32 = 125;

/// What runs WebAssembly modules for the shell.
pub struct WasmEngine {
    /// Runs the module file `path` as command `name` with `argv` (program name first) in the
    /// calling task, with its stdio, cwd and environment; returns the exit status.
    pub run_file: fn(name: &str, path: &str, argv: Vec<String>, io: &mut Io) -> i32,
    /// The `wasm` command (its arguments, `wasm` first).
    pub command: fn(args: &[String], io: &mut Io) -> i32,
}

static ENGINE: spin::Once<WasmEngine> = spin::Once::new();

/// Registers the engine (once, at boot).
pub fn set_wasm_engine(engine: WasmEngine) {
    ENGINE.call_once(|| engine);
}

fn no_engine(name: &str, io: &mut Io) -> i32 {
    io.err(&format!("{name}: no WebAssembly engine in this system\n"));
    STATUS_CANNOT_RUN
}

/// Whether `path` is a WebAssembly module: named `*.wasm`, or starting with `\0asm`.
pub(crate) fn is_wasm(path: &str) -> bool {
    if path.ends_with(".wasm") {
        return true;
    }
    let Ok(fd) = vfs::open(path, vfs::OpenOptions::read_only()) else {
        return false;
    };
    let mut magic = [0u8; 4];
    let n = vfs::read(fd, &mut magic);
    let _ = vfs::close(fd);
    n == Ok(4) && &magic == b"\0asm"
}

/// Starts the WASI program at `path` as command `name` with `argv` in a task with `ctx`.
pub(crate) fn spawn_program(
    name: &str,
    path: String,
    argv: Vec<String>,
    ctx: Arc<vfs::ProcessContext>,
) -> Result<task::JoinHandle, task::SpawnError> {
    let name = String::from(name);
    let builder = task::Builder::new(&name).stack_pages(STACK_PAGES);
    vfs::spawn_with_context(builder, ctx, move || {
        let mut io = Io::fds();
        let status = match ENGINE.get() {
            Some(engine) => (engine.run_file)(&name, &path, argv, &mut io),
            None => no_engine(&name, &mut io),
        };
        crate::JOB_EVENT.notify_all();
        status as isize
    })
}

/// The `wasm` command, through the registered engine.
pub(crate) fn cmd_wasm(args: &[String], io: &mut Io) -> i32 {
    match ENGINE.get() {
        Some(engine) => (engine.command)(args, io),
        None => no_engine("wasm", io),
    }
}
