//! Runs a WASI command on wasmtime (the kernel's version) with Cranelift and wasmtime's own
//! Linux runtime, configured as the kernel's engine is (`wasmtime_config::configure`) and
//! compiling, as the kernel's `wasmtime-compile` does, for an explicitly named target: Cranelift's
//! baseline x86-64 flags, not the host's detected features, so both sides run the same code.

use std::path::Path;
use std::time::Duration;

use wasmtime::{Caller, Config, Engine, Extern, Linker, Module, Store};

use crate::wasi::{self, Wasi};

const WASI: &str = "wasi_snapshot_preview1";
/// This program's own target (the host, with baseline flags when named explicitly).
const TARGET: &str = "x86_64-unknown-linux-musl";

/// `proc_exit(code)`: ends the run (carried as the host function's error).
#[derive(Debug)]
struct Exit(i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit with status {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// Runs `_start`; the exit code (`proc_exit`'s, or 0 when `_start` returns), or what failed.
pub fn run(bytes: &[u8], wasi: Wasi) -> Result<i32, String> {
    let engine = engine()?;
    let module = Module::new(&engine, bytes).map_err(|e| format!("compile: {e:#}"))?;
    start(&engine, &module, wasi)
}

/// Compiles the module (not timed) and keeps the native code in a file, as a cache would; then
/// one untimed run and `runs` timed ones (fewer if one exits with a non-zero status), each
/// from reading that file and loading the code to the end of `_start`: what a run with a warm
/// cache does (the OS's `wasm` command checks and loads its cached code the same way). The
/// last exit code and the times.
pub fn timed(
    bytes: &[u8],
    wasi: impl Fn() -> Wasi,
    runs: usize,
) -> Result<(i32, Vec<Duration>), String> {
    let engine = engine()?;
    let module = Module::new(&engine, bytes).map_err(|e| format!("compile: {e:#}"))?;
    let native = module
        .serialize()
        .map_err(|e| format!("serialize: {e:#}"))?;
    drop(module);
    let path = std::env::temp_dir().join(format!("wasm-bench-peer-{}.cwasm", std::process::id()));
    std::fs::write(&path, native).map_err(|e| format!("{}: {e}", path.display()))?;
    let outcome = crate::timed_runs(runs, || start(&engine, &load(&engine, &path)?, wasi()));
    let _ = std::fs::remove_file(&path);
    outcome
}

/// The kernel's engine configuration, for the baseline x86-64 target.
fn engine() -> Result<Engine, String> {
    let mut config = Config::new();
    config.target(TARGET).map_err(|e| format!("{e:#}"))?;
    wasmtime_config::configure(&mut config);
    Engine::new(&config).map_err(|e| format!("engine: {e:#}"))
}

/// The module whose native code `timed` wrote to `path`.
#[allow(unsafe_code)]
fn load(engine: &Engine, path: &Path) -> Result<Module, String> {
    let native = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: `deserialize` must be given only what `Module::serialize` produced, unmodified.
    // These bytes are exactly that: written by `timed` a moment before, from a module of this
    // same engine, to a file named after this process in the guest's private tmpfs, which
    // nothing else writes. wasmtime still checks the header and the engine configuration.
    unsafe { Module::deserialize(engine, &native) }.map_err(|e| format!("load: {e:#}"))
}

fn start(engine: &Engine, module: &Module, wasi: Wasi) -> Result<i32, String> {
    let mut store = Store::new(engine, wasi);
    // Epoch interruption is compiled in (the kernel's configuration); nothing here advances the
    // epoch, so the deadline is never reached.
    store.set_epoch_deadline(u64::MAX / 2);
    let mut linker = Linker::<Wasi>::new(engine);
    define(&mut linker).map_err(|e| format!("link: {e:#}"))?;
    let outcome = linker.instantiate(&mut store, module).and_then(|instance| {
        instance
            .get_typed_func::<(), ()>(&mut store, "_start")?
            .call(&mut store, ())
    });
    match outcome {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<Exit>() {
            Some(Exit(code)) => Ok(*code),
            None => Err(format!("trap: {e:#}")),
        },
    }
}

type C<'a> = Caller<'a, Wasi>;

/// Calls `f` with the WASI state and the caller's exported memory (`FAULT` without one).
fn with_memory(caller: &mut C, f: impl FnOnce(&mut Wasi, &mut [u8]) -> i32) -> i32 {
    let Some(memory) = caller.get_export("memory").and_then(Extern::into_memory) else {
        return wasi::FAULT;
    };
    let (bytes, wasi) = memory.data_and_store_mut(caller);
    f(wasi, bytes)
}

fn define(l: &mut Linker<Wasi>) -> wasmtime::Result<()> {
    crate::define_preview1!(l, C);
    l.func_wrap(
        WASI,
        "proc_exit",
        |_: C, code: i32| -> wasmtime::Result<()> { Err(wasmtime::Error::new(Exit(code))) },
    )?;
    Ok(())
}
