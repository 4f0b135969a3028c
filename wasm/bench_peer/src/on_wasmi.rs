//! Runs a WASI command on wasmi (the kernel's version and features, plus `std`), with the
//! default engine configuration: no fuel metering, lazy compilation.

use std::time::{Duration, Instant};

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
    let mut status = run(bytes, wasi())?;
    let mut times = Vec::new();
    while status == 0 && times.len() < runs {
        let began = Instant::now();
        status = run(bytes, wasi())?;
        times.push(began.elapsed());
    }
    Ok((status, times))
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
    l.func_wrap(WASI, "fd_filestat_get", |mut c: C, fd: i32, out: i32| {
        with_memory(&mut c, |w, m| w.fd_filestat_get(m, fd, out))
    })?;
    l.func_wrap(WASI, "fd_close", |c: C, fd: i32| c.data().fd_close(fd))?;
    l.func_wrap(WASI, "fd_prestat_get", |c: C, _fd: i32, _out: i32| {
        c.data().no_directory()
    })?;
    l.func_wrap(
        WASI,
        "fd_prestat_dir_name",
        |c: C, _fd: i32, _buf: i32, _len: i32| c.data().no_directory(),
    )?;
    l.func_wrap(
        WASI,
        "fd_readdir",
        |c: C, _fd: i32, _buf: i32, _len: i32, _cookie: i64, _out: i32| c.data().no_directory(),
    )?;
    l.func_wrap(
        WASI,
        "path_open",
        |c: C,
         _fd: i32,
         _flags: i32,
         _path: i32,
         _len: i32,
         _oflags: i32,
         _base: i64,
         _inh: i64,
         _fdflags: i32,
         _out: i32| { c.data().no_directory() },
    )?;
    l.func_wrap(
        WASI,
        "path_filestat_get",
        |c: C, _fd: i32, _flags: i32, _path: i32, _len: i32, _out: i32| c.data().no_directory(),
    )?;
    l.func_wrap(
        WASI,
        "fd_read",
        |mut c: C, fd: i32, iovs: i32, len: i32, out: i32| {
            with_memory(&mut c, |w, m| w.fd_read(m, fd, iovs, len, out))
        },
    )?;
    l.func_wrap(WASI, "random_get", |mut c: C, buf: i32, len: i32| {
        with_memory(&mut c, |w, m| w.random_get(m, buf, len))
    })?;
    l.func_wrap(
        WASI,
        "proc_exit",
        |_: C, code: i32| -> Result<(), wasmi::Error> { Err(wasmi::Error::i32_exit(code)) },
    )?;
    Ok(())
}
