//! `wasm_runner`: runs a WASI preview1 module with the `wasmi` interpreter, its
//! `wasi_snapshot_preview1` imports linked to [`wasi_host`].
//!
//! [`run`] validates and compiles the module, checks its imports (every preview1 function
//! is defined; the ones `wasi_host` does not implement return `NOSYS`; anything else is a
//! [`RunError::MissingImports`] naming them all), instantiates it with a memory limit
//! ([`MEMORY_LIMIT`]) and calls `_start` in the calling task. Execution consumes fuel:
//! every [`FUEL_SLICE`] units the guest gives the CPU up (`libtheseus::thread::yield_now`),
//! and a kill request for the task (the shell's Ctrl-C) takes effect there or at the next
//! preemption. `proc_exit(code)` ends the run with `Ok(code)`; returning from `_start` is 0.
//!
//! Dispatch: wasmi's `auto-dispatch` with `stable` (see the WebAssembly section of
//! docs/ARCHITECTURE.md for the measured behaviour on our target).
//!
//! Limits: wasmi 2.0 exposes no wasm backtrace, so a trap names its kind and the export
//! being run, not the guest's call stack; a task killed while running a guest does not
//! unwind, so the guest's memory is not freed (as for killed native programs).
//!
//! Depends only on libtheseus, `wasi_host` and `wasmi`.

#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use wasi_host::{Errno, GuestMemory, Preopen, WasiCtx, abi, errno_result};
use wasmi::{
    Caller, Config, Engine, ExternType, FuncType, Linker, Module, Store, StoreLimits,
    StoreLimitsBuilder, TrapCode, TypedResumableCall, Val, ValType,
};

/// Fuel units (about one per wasm instruction) between two yields.
pub const FUEL_SLICE: u64 = 10_000_000;

/// The most bytes one linear memory may grow to. Growing copies the memory on the kernel
/// heap (old and new both live for a moment), and the heap keeps the frames it grew by.
pub const MEMORY_LIMIT: usize = 128 << 20;

/// Status for a module that cannot run (malformed, missing imports, unsupported feature).
pub const STATUS_CANNOT_RUN: i32 = 125;

/// Why a module did not run to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// Not a valid WebAssembly module (the validator's message).
    Malformed(String),
    /// Uses a proposal this engine does not enable (SIMD, threads, ...).
    Unsupported(String),
    /// Imports nothing provides: `module.name` of each.
    MissingImports(Vec<String>),
    /// An import with the wrong type, or another instantiation failure.
    Instantiate(String),
    /// No `_start` function export (not a WASI command).
    NoStart,
    /// The guest trapped: the trap's message, the signal number a native program would
    /// have died of, and the guest frames (empty: wasmi 2.0 exposes none).
    Trap {
        message: String,
        signal: i32,
        backtrace: Vec<String>,
    },
}

impl RunError {
    /// The shell status: [`STATUS_CANNOT_RUN`] for modules that cannot run, 128 + the
    /// signal for traps.
    pub fn status(&self) -> i32 {
        match self {
            RunError::Trap { signal, .. } => 128 + signal,
            _ => STATUS_CANNOT_RUN,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Malformed(m) => write!(f, "malformed module: {m}"),
            RunError::Unsupported(m) => write!(f, "unsupported feature: {m}"),
            RunError::MissingImports(names) => write!(f, "missing imports: {}", names.join(", ")),
            RunError::Instantiate(m) => write!(f, "cannot instantiate: {m}"),
            RunError::NoStart => f.write_str("not a WASI command: no `_start` export"),
            RunError::Trap {
                message, backtrace, ..
            } => {
                write!(f, "trap: {message} in _start")?;
                for frame in backtrace {
                    write!(f, "\n  {frame}")?;
                }
                Ok(())
            }
        }
    }
}

/// The store's data: the WASI state and the resource limits.
struct Host {
    wasi: WasiCtx,
    limits: StoreLimits,
}

/// Runs the WASI command in `bytes` with `args` (`argv`, program name first), `env` and
/// `preopens`, in the calling task with its stdio. Returns the exit code (`proc_exit`'s, or
/// 0 when `_start` returns).
pub fn run(
    bytes: &[u8],
    args: Vec<String>,
    env: Vec<(String, String)>,
    preopens: Vec<Preopen>,
) -> Result<i32, RunError> {
    let mut config = Config::default();
    config.consume_fuel(true);
    let engine = Engine::new(&config);
    if !bytes.starts_with(b"\0asm") {
        return Err(RunError::Malformed(
            "not a WebAssembly module (no `\\0asm` magic number)".into(),
        ));
    }
    let module = Module::new(&engine, bytes).map_err(|e| compile_error(&e.to_string()))?;
    let missing: Vec<String> = module
        .imports()
        .filter(|i| {
            !(i.module() == abi::MODULE
                && abi::find(i.name()).is_some()
                && matches!(i.ty(), ExternType::Func(_)))
        })
        .map(|i| format!("{}.{}", i.module(), i.name()))
        .collect();
    if !missing.is_empty() {
        return Err(RunError::MissingImports(missing));
    }
    let host = Host {
        wasi: WasiCtx::new(args, env, preopens),
        limits: StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).build(),
    };
    let mut store = Store::new(&engine, host);
    store.limiter(|h| &mut h.limits);
    let mut linker = Linker::<Host>::new(&engine);
    define_wasi(&mut linker).map_err(|e| RunError::Instantiate(e.to_string()))?;
    // The start section runs during instantiation, before the fuel slices begin.
    let _ = store.set_fuel(u64::MAX / 2);
    let instance =
        linker
            .instantiate_and_start(&mut store, &module)
            .map_err(|e| match exit_or_trap(&e) {
                Some(Ok(_)) | None => RunError::Instantiate(e.to_string()),
                Some(Err(t)) => t,
            })?;
    let start = instance
        .get_typed_func::<(), ()>(&store, "_start")
        .map_err(|_| RunError::NoStart)?;
    let _ = store.set_fuel(FUEL_SLICE);
    let mut call = start.call_resumable(&mut store, ());
    loop {
        match call {
            Ok(TypedResumableCall::Finished(())) => return Ok(0),
            Ok(TypedResumableCall::OutOfFuel(invocation)) => {
                libtheseus::thread::yield_now();
                let _ = store.set_fuel(FUEL_SLICE.max(invocation.required_fuel()));
                call = invocation.resume(&mut store);
            }
            Ok(TypedResumableCall::HostTrap(invocation)) => {
                let e = invocation.host_error();
                return match exit_or_trap(e) {
                    Some(r) => r,
                    None => Err(trap_error(e.to_string(), 4)),
                };
            }
            Err(e) => {
                return match exit_or_trap(&e) {
                    Some(r) => r,
                    None => Err(trap_error(e.to_string(), 4)),
                };
            }
        }
    }
}

/// `proc_exit`'s code, or a trap with its signal; `None` for other errors.
fn exit_or_trap(e: &wasmi::Error) -> Option<Result<i32, RunError>> {
    if let Some(code) = e.i32_exit_status() {
        return Some(Ok(code));
    }
    let code = e.as_trap_code()?;
    let signal = match code {
        TrapCode::IntegerDivisionByZero
        | TrapCode::IntegerOverflow
        | TrapCode::BadConversionToInteger => 8,
        TrapCode::MemoryOutOfBounds
        | TrapCode::TableOutOfBounds
        | TrapCode::IndirectCallToNull
        | TrapCode::StackOverflow => 11,
        _ => 4,
    };
    Some(Err(trap_error(code.to_string(), signal)))
}

fn trap_error(message: String, signal: i32) -> RunError {
    RunError::Trap {
        message,
        signal,
        backtrace: Vec::new(),
    }
}

/// A compile error is `Unsupported` when the validator says a feature is not enabled. The
/// message is made one line.
fn compile_error(message: &str) -> RunError {
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let message = message.as_str();
    let lower = message.to_ascii_lowercase();
    if lower.contains("not enabled") || lower.contains("proposal") || lower.contains("unsupported")
    {
        RunError::Unsupported(message.into())
    } else {
        RunError::Malformed(message.into())
    }
}

/// Calls `f` with the WASI state and the caller's exported `memory` (`FAULT` if it has
/// none) and turns its result into the errno number.
fn with_memory(
    caller: &mut Caller<'_, Host>,
    f: impl FnOnce(&mut WasiCtx, &mut dyn GuestMemory) -> Result<(), Errno>,
) -> i32 {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return errno_result(Err(Errno::FAULT));
    };
    let (mut bytes, host) = memory.data_and_store_mut(caller);
    errno_result(f(&mut host.wasi, &mut bytes))
}

type C<'a> = Caller<'a, Host>;

/// Defines every preview1 function: the implemented ones call `wasi_host`, the others
/// return `NOSYS`.
fn define_wasi(l: &mut Linker<Host>) -> Result<(), wasmi::errors::LinkerError> {
    let m = abi::MODULE;
    l.func_wrap(m, "args_get", |mut c: C, a: u32, b: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.args_get(mem, a, b))
    })?;
    l.func_wrap(m, "args_sizes_get", |mut c: C, a: u32, b: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.args_sizes_get(mem, a, b))
    })?;
    l.func_wrap(m, "environ_get", |mut c: C, a: u32, b: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.environ_get(mem, a, b))
    })?;
    l.func_wrap(m, "environ_sizes_get", |mut c: C, a: u32, b: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.environ_sizes_get(mem, a, b))
    })?;
    l.func_wrap(m, "clock_res_get", |mut c: C, id: u32, out: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.clock_res_get(mem, id, out))
    })?;
    l.func_wrap(
        m,
        "clock_time_get",
        |mut c: C, id: u32, precision: u64, out: u32| -> i32 {
            with_memory(&mut c, |w, mem| w.clock_time_get(mem, id, precision, out))
        },
    )?;
    l.func_wrap(m, "fd_close", |mut c: C, fd: u32| -> i32 {
        errno_result(c.data_mut().wasi.fd_close(fd))
    })?;
    l.func_wrap(m, "fd_fdstat_get", |mut c: C, fd: u32, out: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.fd_fdstat_get(mem, fd, out))
    })?;
    l.func_wrap(m, "fd_filestat_get", |mut c: C, fd: u32, out: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.fd_filestat_get(mem, fd, out))
    })?;
    l.func_wrap(m, "fd_prestat_get", |mut c: C, fd: u32, out: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.fd_prestat_get(mem, fd, out))
    })?;
    l.func_wrap(
        m,
        "fd_prestat_dir_name",
        |mut c: C, fd: u32, p: u32, n: u32| -> i32 {
            with_memory(&mut c, |w, mem| w.fd_prestat_dir_name(mem, fd, p, n))
        },
    )?;
    l.func_wrap(
        m,
        "fd_read",
        |mut c: C, fd: u32, iovs: u32, n: u32, out: u32| -> i32 {
            with_memory(&mut c, |w, mem| w.fd_read(mem, fd, iovs, n, out))
        },
    )?;
    l.func_wrap(
        m,
        "fd_write",
        |mut c: C, fd: u32, iovs: u32, n: u32, out: u32| -> i32 {
            with_memory(&mut c, |w, mem| w.fd_write(mem, fd, iovs, n, out))
        },
    )?;
    l.func_wrap(
        m,
        "fd_readdir",
        |mut c: C, fd: u32, buf: u32, len: u32, cookie: u64, out: u32| -> i32 {
            with_memory(&mut c, |w, mem| {
                w.fd_readdir(mem, fd, buf, len, cookie, out)
            })
        },
    )?;
    l.func_wrap(
        m,
        "fd_seek",
        |mut c: C, fd: u32, offset: i64, whence: u32, out: u32| -> i32 {
            with_memory(&mut c, |w, mem| w.fd_seek(mem, fd, offset, whence, out))
        },
    )?;
    l.func_wrap(m, "fd_tell", |mut c: C, fd: u32, out: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.fd_tell(mem, fd, out))
    })?;
    l.func_wrap(
        m,
        "path_create_directory",
        |mut c: C, fd: u32, p: u32, n: u32| -> i32 {
            with_memory(&mut c, |w, mem| w.path_create_directory(mem, fd, p, n))
        },
    )?;
    l.func_wrap(
        m,
        "path_remove_directory",
        |mut c: C, fd: u32, p: u32, n: u32| -> i32 {
            with_memory(&mut c, |w, mem| w.path_remove_directory(mem, fd, p, n))
        },
    )?;
    l.func_wrap(
        m,
        "path_unlink_file",
        |mut c: C, fd: u32, p: u32, n: u32| -> i32 {
            with_memory(&mut c, |w, mem| w.path_unlink_file(mem, fd, p, n))
        },
    )?;
    l.func_wrap(
        m,
        "path_filestat_get",
        |mut c: C, fd: u32, flags: u32, p: u32, n: u32, out: u32| -> i32 {
            with_memory(&mut c, |w, mem| {
                w.path_filestat_get(mem, fd, flags, p, n, out)
            })
        },
    )?;
    l.func_wrap(
        m,
        "path_open",
        |mut c: C,
         fd: u32,
         dirflags: u32,
         p: u32,
         n: u32,
         oflags: u32,
         base: u64,
         inheriting: u64,
         fdflags: u32,
         out: u32|
         -> i32 {
            with_memory(&mut c, |w, mem| {
                w.path_open(
                    mem, fd, dirflags, p, n, oflags, base, inheriting, fdflags, out,
                )
            })
        },
    )?;
    l.func_wrap(
        m,
        "proc_exit",
        |_: C, code: u32| -> Result<(), wasmi::Error> { Err(wasmi::Error::i32_exit(code as i32)) },
    )?;
    l.func_wrap(m, "random_get", |mut c: C, buf: u32, len: u32| -> i32 {
        with_memory(&mut c, |w, mem| w.random_get(mem, buf, len))
    })?;
    l.func_wrap(m, "sched_yield", |mut c: C| -> i32 {
        errno_result(c.data_mut().wasi.sched_yield())
    })?;
    for f in abi::FUNCTIONS.iter().filter(|f| !f.implemented) {
        let params: Vec<ValType> = f
            .params
            .iter()
            .map(|t| match t {
                abi::Ty::I32 => ValType::I32,
                abi::Ty::I64 => ValType::I64,
            })
            .collect();
        let ty = FuncType::new(params, [ValType::I32]);
        l.func_new(m, f.name, ty, |_, _, results| {
            results[0] = Val::I32(i32::from(Errno::NOSYS.0));
            Ok(())
        })?;
    }
    Ok(())
}
