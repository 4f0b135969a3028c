//! Runs a WASI command on wasmi (the kernel's version and features, plus `std`), with the
//! default engine configuration: no fuel metering, lazy compilation.

use std::time::Duration;

use wasmi::{Caller, Config, Engine, Extern, Linker, Module, Store};

use crate::wasi::{self, Wasi};

const WASI: &str = "wasi_snapshot_preview1";

/// Runs `_start`; the exit code (`proc_exit`'s, or 0 when `_start` returns), or what failed.
pub fn run(bytes: &[u8], wasi: Wasi) -> Result<i32, String> {
    let engine = Engine::new(&Config::default());
    let module = Module::new(&engine, bytes).map_err(|e| format!("compile: {e}"))?;
    start(&engine, &module, wasi)
}

/// One untimed run, then `runs` timed ones (fewer if one exits with a non-zero status), each
/// from the module's bytes (wasmi parses and validates them and compiles each function when
/// it is first called) to the end of `_start`. The last exit code and the times.
pub fn timed(
    bytes: &[u8],
    wasi: impl Fn() -> Wasi,
    runs: usize,
) -> Result<(i32, Vec<Duration>), String> {
    crate::timed_runs(runs, || run(bytes, wasi()))
}

fn start(engine: &Engine, module: &Module, wasi: Wasi) -> Result<i32, String> {
    let mut store = Store::new(engine, wasi);
    let mut linker = Linker::<Wasi>::new(engine);
    define(&mut linker).map_err(|e| format!("link: {e}"))?;
    let outcome = linker
        .instantiate_and_start(&mut store, module)
        .and_then(|instance| {
            instance
                .get_typed_func::<(), ()>(&store, "_start")?
                .call(&mut store, ())
        });
    match outcome {
        Ok(()) => Ok(0),
        Err(e) => e.i32_exit_status().ok_or_else(|| format!("trap: {e}")),
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

fn define(l: &mut Linker<Wasi>) -> Result<(), wasmi::Error> {
    crate::define_preview1!(l, C);
    l.func_wrap(
        WASI,
        "proc_exit",
        |_: C, code: i32| -> Result<(), wasmi::Error> { Err(wasmi::Error::i32_exit(code)) },
    )?;
    Ok(())
}
