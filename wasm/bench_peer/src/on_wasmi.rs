//! Runs a WASI command on wasmi (the kernel's version and features, plus `std`), with the
//! default engine configuration: no fuel metering, lazy compilation.

use wasmi::{Caller, Config, Engine, Extern, Linker, Module, Store};

use crate::wasi::{self, Wasi};

const WASI: &str = "wasi_snapshot_preview1";

/// Runs `_start`; the exit code (`proc_exit`'s, or 0 when `_start` returns), or what failed.
pub fn run(bytes: &[u8], wasi: Wasi) -> Result<i32, String> {
    let engine = Engine::new(&Config::default());
    let module = Module::new(&engine, bytes).map_err(|e| format!("compile: {e}"))?;
    let mut store = Store::new(&engine, wasi);
    let mut linker = Linker::<Wasi>::new(&engine);
    define(&mut linker).map_err(|e| format!("link: {e}"))?;
    let outcome = linker
        .instantiate_and_start(&mut store, &module)
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
fn with_memory(caller: &mut C, f: impl FnOnce(&Wasi, &mut [u8]) -> i32) -> i32 {
    let Some(memory) = caller.get_export("memory").and_then(Extern::into_memory) else {
        return wasi::FAULT;
    };
    let (bytes, wasi) = memory.data_and_store_mut(caller);
    f(wasi, bytes)
}

fn define(l: &mut Linker<Wasi>) -> Result<(), wasmi::Error> {
    l.func_wrap(WASI, "args_sizes_get", |mut c: C, a: i32, b: i32| {
        with_memory(&mut c, |w, m| w.args_sizes_get(m, a, b))
    })?;
    l.func_wrap(WASI, "args_get", |mut c: C, a: i32, b: i32| {
        with_memory(&mut c, |w, m| w.args_get(m, a, b))
    })?;
    l.func_wrap(WASI, "environ_sizes_get", |mut c: C, a: i32, b: i32| {
        with_memory(&mut c, |w, m| w.environ_sizes_get(m, a, b))
    })?;
    l.func_wrap(WASI, "environ_get", |mut c: C, a: i32, b: i32| {
        with_memory(&mut c, |w, m| w.environ_get(m, a, b))
    })?;
    l.func_wrap(
        WASI,
        "clock_time_get",
        |mut c: C, id: i32, p: i64, out: i32| {
            with_memory(&mut c, |w, m| w.clock_time_get(m, id, p, out))
        },
    )?;
    l.func_wrap(WASI, "fd_fdstat_get", |mut c: C, fd: i32, out: i32| {
        with_memory(&mut c, |w, m| w.fd_fdstat_get(m, fd, out))
    })?;
    l.func_wrap(
        WASI,
        "fd_write",
        |mut c: C, fd: i32, iovs: i32, len: i32, out: i32| {
            with_memory(&mut c, |w, m| w.fd_write(m, fd, iovs, len, out))
        },
    )?;
    l.func_wrap(
        WASI,
        "proc_exit",
        |_: C, code: i32| -> Result<(), wasmi::Error> { Err(wasmi::Error::i32_exit(code)) },
    )?;
    Ok(())
}
