//! `wasm_runner`: runs a WASI preview1 module with the `wasmi` interpreter, its
//! `wasi_snapshot_preview1` imports linked to [`wasi_host`].
//!
//! [`run`] validates and compiles the module, checks its imports (every preview1 function
//! is defined, linked to the `WasiCtx` method of its name by glue generated from the one
//! table `wasi_host::preview1_functions!`; anything else is a
//! [`RunError::MissingImports`] naming them all), instantiates it with a memory limit
//! ([`MEMORY_LIMIT`] by default, [`Limits::max_memory`] per run; tables up to
//! [`TABLE_LIMIT`] elements) and calls `_start` in the calling task. The guest needs no fuel
//! to be preemptible: it runs in its own task, which the scheduler preempts like any other.
//!
//! Fuel is always metered, for kills: the guest runs on slices of [`FUEL_SLICE`] units (a
//! few milliseconds), and at the end of each the runner checks for a kill (see Kills below);
//! metering cost about 15%. Without a [`Limits::fuel`] budget the slices never run out and
//! translating a function costs no fuel (so wasmi's lazy translation, which cannot resume
//! when fuel runs out while it translates, never meets the end of a slice). [`Limits::fuel`]
//! is a budget handed out in the same slices, with eager compilation and wasmi's default
//! costs (as a budget, translation is counted); running out is the trap `all fuel consumed
//! by WebAssembly` with the signal [`SIGXCPU`] (status 152, as a native program over its
//! CPU-time limit). `proc_exit(code)` ends the run with `Ok(code)`; returning from `_start`
//! is 0.
//!
//! Dispatch: wasmi's `auto-dispatch` with `stable`, the wasmi crates compiled without frame
//! pointers (the root Cargo.toml's release profile; see the WebAssembly section of
//! docs/ARCHITECTURE.md for the measured behaviour on our target).
//!
//! Backtraces: wasmi 2.0 exposes none, so the module is rewritten before compiling to keep
//! a shadow call stack (the `shadow` module); a trap prints the guest's frames, innermost
//! first, named from the `name` section (running out of fuel prints none).
//!
//! Kills (Ctrl-C, `kill`): every host call is a kill point (see `kill_hook`), and so is the
//! end of every fuel slice, so a killed guest unwinds and its store is freed whether it
//! waits in the host, calls it, or computes without calling it (within one slice). Between
//! host calls the guest is async-stoppable: Ctrl-Z stops it at a timer tick.
//!
//! Depends only on libtheseus, `wasi_host`, `wasmi`, `wasmparser` and `wasm-encoder`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod shadow;
mod tests;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use libtheseus::thread;
use wasi_host::guest;
use wasi_host::run::{Declared, Import};
pub use wasi_host::run::{
    Limits, MEMORY_LIMIT, RunError, SIGXCPU, STATUS_CANNOT_RUN, TABLE_LIMIT, compile_error,
};
use wasi_host::{Errno, GuestMemory, Preopen, WasiCtx, abi, errno_result};
use wasmi::{
    CallHook, Caller, CompilationMode, Config, CustomFuelCosts, Engine, ExternType, Linker, Module,
    Store, StoreLimits, StoreLimitsBuilder, TrapCode, TypedResumableCall, Val,
};

/// Fuel units the guest runs on between two checks for a kill: about as many wasmi
/// instructions, a few milliseconds of guest code under QEMU.
pub const FUEL_SLICE: u64 = 1 << 20;

/// The store's data: the WASI state and the resource limits.
struct Host {
    wasi: WasiCtx,
    limits: StoreLimits,
}

/// Runs the WASI command in `bytes` with `args` (`argv`, program name first), `env` and
/// `preopens`, in the calling task with its stdio, with the default [`Limits`]. Returns the
/// exit code (`proc_exit`'s, or 0 when `_start` returns).
pub fn run(
    bytes: &[u8],
    args: Vec<String>,
    env: Vec<(String, String)>,
    preopens: Vec<Preopen>,
) -> Result<i32, RunError> {
    run_with_limits(bytes, args, env, preopens, Limits::default())
}

/// [`run`] with the given [`Limits`].
pub fn run_with_limits(
    bytes: &[u8],
    args: Vec<String>,
    env: Vec<(String, String)>,
    preopens: Vec<Preopen>,
    limits: Limits,
) -> Result<i32, RunError> {
    let mut config = Config::default();
    config.consume_fuel(true);
    if limits.fuel.is_some() {
        config.compilation_mode(CompilationMode::Eager);
    } else {
        // wasmi's default copy cost; translation free (see the crate docs).
        config.fuel_cost(CustomFuelCosts {
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        });
    }
    let engine = Engine::new(&config);
    wasi_host::run::check_magic(bytes)?;
    // The shadow-stack copy when the rewrite handles the module and the copy compiles;
    // otherwise the module as given (whose errors are the ones reported), without a
    // backtrace.
    let module = match shadow::instrument(bytes).and_then(|b| Module::new(&engine, &b[..]).ok()) {
        Some(module) => module,
        None => Module::new(&engine, bytes).map_err(|e| compile_error(&e.to_string()))?,
    };
    wasi_host::run::check_imports(module.imports().map(|i| Import {
        module: i.module(),
        name: i.name(),
        is_function: matches!(i.ty(), ExternType::Func(_)),
    }))?;
    wasi_host::run::check_declared_sizes(
        module.exports().filter_map(|e| {
            let declared = match e.ty() {
                ExternType::Memory(m) => Declared::MemoryPages(m.minimum()),
                ExternType::Table(t) => Declared::TableElements(t.minimum()),
                _ => return None,
            };
            Some((e.name(), declared))
        }),
        limits.max_memory,
    )?;
    let host = Host {
        wasi: WasiCtx::new(args, env, preopens),
        limits: StoreLimitsBuilder::new()
            .memory_size(limits.max_memory)
            .table_elements(TABLE_LIMIT)
            .build(),
    };
    let mut store = Store::new(&engine, host);
    store.limiter(|h| &mut h.limits);
    store.call_hook(|_, hook| kill_hook(hook));
    // All of it for instantiation (a start function is not resumable), slices for `_start`.
    let mut tank = FuelTank {
        left: limits.fuel.map(|_| 0),
    };
    store
        .set_fuel(limits.fuel.unwrap_or(u64::MAX))
        .map_err(|e| RunError::Instantiate(e.to_string()))?;
    let mut linker = Linker::<Host>::new(&engine);
    define_wasi(&mut linker).map_err(|e| RunError::Instantiate(e.to_string()))?;
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
    let _stoppable = guest::StoppableRun;
    let out_of_fuel = || trap_error(TrapCode::OutOfFuel.to_string(), SIGXCPU);
    if !tank.refill(&mut store, 0) {
        return Err(out_of_fuel());
    }
    let mut call = start.call_resumable(&mut store, ());
    loop {
        // A kill stopped the guest at a host call or at the end of a fuel slice: unwind from
        // here, dropping the call and the store.
        thread::kill_point();
        match call {
            Ok(TypedResumableCall::Finished(())) => return Ok(0),
            Ok(TypedResumableCall::OutOfFuel(invocation)) => {
                if !tank.refill(&mut store, invocation.required_fuel()) {
                    return Err(out_of_fuel());
                }
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
                    Some(Err(RunError::Trap {
                        message, signal, ..
                    })) => Err(RunError::Trap {
                        message,
                        signal,
                        backtrace: guest_backtrace(&store, &instance, bytes),
                    }),
                    Some(r) => r,
                    None => Err(trap_error(e.to_string(), 4)),
                };
            }
        }
    }
}

/// The fuel the guest may still use beyond what the store holds: `None` without a budget
/// (unlimited), else the rest of the [`Limits::fuel`] budget.
struct FuelTank {
    left: Option<u64>,
}

impl FuelTank {
    /// Gives the store its next slice: [`FUEL_SLICE`] units, or `required` if the next
    /// instruction needs more, from the budget together with what the store still holds.
    /// False when the budget cannot cover `required`.
    fn refill(&mut self, store: &mut Store<Host>, required: u64) -> bool {
        let in_store = store.get_fuel().unwrap_or(0);
        let slice = FUEL_SLICE.max(required);
        let slice = match &mut self.left {
            None => slice,
            Some(left) => {
                let total = left.saturating_add(in_store);
                if total < required {
                    return false;
                }
                let slice = slice.min(total);
                *left = total - slice;
                slice
            }
        };
        store.set_fuel(slice).is_ok()
    }
}

/// The engine's call hook: `wasi_host::guest`'s stop and kill points (a host call is a kill
/// point: a pending kill fails the call before it starts, and `run_with_limits` then unwinds,
/// freeing the guest's store; a guest that calls no host function meets its kill at the end
/// of its fuel slice).
fn kill_hook(hook: CallHook) -> Result<(), wasmi::Error> {
    match hook {
        CallHook::CallingWasm | CallHook::ReturningFromHost => guest::entering_wasm(),
        CallHook::CallingHost | CallHook::ReturningFromWasm => {
            guest::leaving_wasm().map_err(|k| wasmi::Error::new(k.to_string()))?
        }
    }
    Ok(())
}

/// The guest's frames from the shadow stack (empty for a module run unmodified).
fn guest_backtrace(store: &Store<Host>, instance: &wasmi::Instance, bytes: &[u8]) -> Vec<String> {
    let (Some(memory), Some(sp)) = (
        instance.get_memory(store, shadow::MEMORY_EXPORT),
        instance.get_global(store, shadow::SP_EXPORT),
    ) else {
        return Vec::new();
    };
    let Val::I32(sp) = sp.get(store) else {
        return Vec::new();
    };
    shadow::backtrace(
        sp as u32,
        memory.data(store),
        &shadow::function_names(bytes),
    )
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
        TrapCode::OutOfFuel => SIGXCPU,
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

/// A host function's result: the errno number, or a trap.
type HostResult = Result<i32, wasmi::Error>;

/// Calls `f` with the WASI state and the caller's exported `memory` (`FAULT` if it has
/// none) and turns its result into the errno number.
fn with_memory(
    caller: &mut Caller<'_, Host>,
    f: impl FnOnce(&mut WasiCtx, &mut dyn GuestMemory) -> Result<(), Errno>,
) -> HostResult {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return Ok(errno_result(Err(Errno::FAULT)));
    };
    let (mut bytes, host) = memory.data_and_store_mut(caller);
    host_call(|| f(&mut host.wasi, &mut bytes))
}

/// Calls `f` with the WASI state (for functions that take no guest memory).
fn with_ctx(
    caller: &mut Caller<'_, Host>,
    f: impl FnOnce(&mut WasiCtx) -> Result<(), Errno>,
) -> HostResult {
    host_call(|| f(&mut caller.data_mut().wasi))
}

/// Runs one host function (`wasi_host::guest::host_call`): a kill or panic inside it
/// unwinds only to there (wasmi's interpreter frames cannot be unwound) and becomes a trap;
/// `run_with_limits` then finishes the kill above the interpreter.
fn host_call(f: impl FnOnce() -> Result<(), Errno>) -> HostResult {
    guest::host_call(f).map_err(wasmi::Error::new)
}

type C<'a> = Caller<'a, Host>;

/// Links one row of `wasi_host::preview1_functions!` to the `WasiCtx` method of its name.
macro_rules! link_function {
    ($l:ident, mem $name:ident($($param:ident: $ty:ident),*)) => {
        $l.func_wrap(abi::MODULE, stringify!($name), |mut c: C, $($param: $ty),*| -> HostResult {
            with_memory(&mut c, |w, mem| w.$name(mem, $($param),*))
        })?
    };
    ($l:ident, ctx $name:ident($($param:ident: $ty:ident),*)) => {
        $l.func_wrap(abi::MODULE, stringify!($name), |mut c: C, $($param: $ty),*| -> HostResult {
            with_ctx(&mut c, |w| w.$name($($param),*))
        })?
    };
    ($l:ident, exit $name:ident($code:ident: $ty:ident)) => {
        $l.func_wrap(abi::MODULE, stringify!($name), |_: C, $code: $ty| -> Result<(), wasmi::Error> {
            Err(wasmi::Error::i32_exit($code as i32))
        })?
    };
}

/// `define_wasi`: every row of the table linked.
macro_rules! define_wasi {
    ($($kind:ident $name:ident($($param:ident: $ty:ident),* $(,)?);)*) => {
        /// Defines every preview1 function (`wasi_host::preview1_functions!`): each calls the
        /// `WasiCtx` method of its name.
        fn define_wasi(l: &mut Linker<Host>) -> Result<(), wasmi::errors::LinkerError> {
            $(link_function!(l, $kind $name($($param: $ty),*));)*
            Ok(())
        }
    };
}

wasi_host::preview1_functions!(define_wasi);
