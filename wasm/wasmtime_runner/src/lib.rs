//! `wasmtime_runner`: runs a WASI preview1 module as native code with wasmtime, its
//! `wasi_snapshot_preview1` imports linked to [`wasi_host`], like `wasm_runner` does with
//! wasmi (same [`Limits`], same [`RunError`] lines and statuses).
//!
//! From file to native code: [`run`] checks the magic number, then gets the module's
//! precompiled artifact from the compile cache ([`cache`]: a hit is an entry this kernel
//! sealed for the module's hash and the engine configuration; a miss or a rejected entry runs
//! the compiler the caller gives, which the kernel implements by running
//! `/bin/wasmtime-compile`, Cranelift in a Linux program), deserializes it
//! (`Module::deserialize`: wasmtime maps the code with `wasmtime_platform`'s virtual memory
//! and makes it executable), checks the imports, instantiates it with the memory and table
//! limits and calls `_start` in the calling task. The engine is built once with the settings
//! of `wasmtime_config` (those the compiler used) and the CPU's features
//! (`wasmtime_platform::detect_host_feature`).
//!
//! Traps: the guest thread is prepared with `wasmtime_platform::GuestThread`, so
//! out-of-bounds accesses, division by zero, `unreachable` and failed checks (hardware faults
//! in compiled code) become wasm traps; their messages are wasmi's words for the same trap,
//! and the backtrace lists the guest's frames from wasmtime's own stack walk, named from the
//! `name` section, as `N: name (func I)`, at most 40 lines and `... N more`.
//!
//! Kills: as in `wasm_runner`, every host call is a kill point (a call hook). A guest that
//! computes without calling the host meets its kill through epoch interruption: the compiled
//! code compares the engine's epoch with the store's deadline at every function entry and
//! loop back edge; [`run_epoch_ticker`] (a kernel task) advances the epoch every
//! [`EPOCH_TICK`] while a guest runs, and the store's deadline callback ends the run of a
//! killed guest (an error that unwinds its wasm frames) or extends the deadline by one tick.
//! The runner then reaches a kill point, and the store is dropped. Between host calls the
//! thread is async-stoppable (Ctrl-Z stops it at a timer tick).
//!
//! Fuel: not offered (it changes the compiled code; `--fuel` is wasmi's).
//!
//! Depends on libtheseus, `wasi_host`, `wasmtime`, `wasmtime_config`, `wasmtime_platform`,
//! `sha2` and `hmac`.

#![no_std]

extern crate alloc;

pub mod cache;
mod tests;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::num::NonZeroUsize;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;
use libtheseus::futex;
use libtheseus::sync::Once;
use libtheseus::thread;
use wasi_host::guest;
use wasi_host::run::{Declared, Import, compile_error, format_frames};
pub use wasi_host::run::{Limits, RunError, STATUS_CANNOT_RUN, TABLE_LIMIT};
use wasi_host::{Errno, GuestMemory, Preopen, WasiCtx, abi};
use wasmtime::{
    CallHook, Caller, Config, Engine, ExternType, Linker, Module, Store, StoreLimits,
    StoreLimitsBuilder, Trap, UpdateDeadline, WasmBacktrace,
};

pub use cache::{Compile, CompileError, Lookup};

/// The store's data: the WASI state and the resource limits.
struct Host {
    wasi: WasiCtx,
    limits: StoreLimits,
}

/// `proc_exit(code)`: ends the run (carried as the host function's error).
#[derive(Debug)]
struct Exit(i32);

impl core::fmt::Display for Exit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "exit with status {}", self.0)
    }
}

impl core::error::Error for Exit {}

/// The one engine, once built.
static ENGINE: Once<Result<Engine, String>> = Once::new();

/// How often [`run_epoch_ticker`] advances the engine's epoch while guests run: the longest a
/// killed guest computes on before it checks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Guests running now (the epoch ticker sleeps while there are none).
static GUESTS: AtomicU32 = AtomicU32::new(0);

/// Counts one running guest while it lives.
struct Running;

impl Running {
    fn start() -> Running {
        GUESTS.fetch_add(1, Ordering::SeqCst);
        futex::wake_all(&GUESTS);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        GUESTS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The epoch ticker's body, for a task of the kernel's own (not a guest's, which a kill would
/// end with the guest): advances the engine's epoch every [`EPOCH_TICK`] while a guest runs,
/// and sleeps while none does. Never returns.
pub fn run_epoch_ticker() -> ! {
    loop {
        // Blocks while no guest runs (returns at once otherwise).
        let _ = futex::wait(&GUESTS, 0, None);
        thread::sleep(EPOCH_TICK);
        if let Some(Ok(engine)) = ENGINE.get() {
            engine.increment_epoch();
        }
    }
}

/// The one engine (wasmtime's code registry and type tables are per engine).
pub fn engine() -> Result<&'static Engine, String> {
    ENGINE
        .call_once(|| {
            let mut config = Config::new();
            wasmtime_config::configure(&mut config);
            config.wasm_backtrace_max_frames(NonZeroUsize::new(1 << 20));
            // SAFETY: `detect_host_feature` answers from CPUID (the AVX family as absent, since
            // the kernel does not enable its state), so only code the CPU runs is accepted.
            unsafe { config.detect_host_feature(wasmtime_platform::detect_host_feature) };
            // SAFETY: the kernel's target is hard-float with SSE (targets/x86_64-theseus-none.json),
            // the float ABI Cranelift's code uses.
            unsafe { config.x86_float_abi_ok(true) };
            Engine::new(&config).map_err(|e| format!("{e:#}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs the WASI command in `bytes` with `args` (`argv`, program name first), `env` and
/// `preopens`, in the calling task with its stdio, within `limits` (no fuel), compiling with
/// `compile` when the cache has no valid artifact. Returns the exit code (`proc_exit`'s, or 0
/// when `_start` returns).
pub fn run(
    bytes: &[u8],
    args: Vec<String>,
    env: Vec<(String, String)>,
    preopens: Vec<Preopen>,
    limits: Limits,
    compile: Compile<'_>,
) -> Result<i32, RunError> {
    if limits.fuel.is_some() {
        return Err(RunError::Unsupported(
            "fuel metering is offered by the wasmi engine only".into(),
        ));
    }
    wasi_host::run::check_magic(bytes)?;
    let engine = engine().map_err(RunError::Instantiate)?;
    let (artifact, _lookup) = cache::artifact(bytes, compile).map_err(|e| match e {
        cache::CacheError::Compile(CompileError::Rejected(m)) => compile_error(&m),
        cache::CacheError::Compile(CompileError::Failed(m)) => RunError::Compiler(m),
        cache::CacheError::Io(m) => RunError::Compiler(format!("compile cache: {m}")),
    })?;
    // SAFETY: the artifact is the output of our own compiler for this engine's configuration,
    // either just produced or read from an entry whose HMAC under this boot's secret key
    // proves this kernel sealed it for this module and configuration (`cache::unseal`).
    let module = unsafe { Module::deserialize(engine, &artifact) }
        .map_err(|e| RunError::Instantiate(format!("precompiled module: {e:#}")))?;
    drop(artifact);
    run_module(engine, &module, args, env, preopens, limits)
}

fn run_module(
    engine: &Engine,
    module: &Module,
    args: Vec<String>,
    env: Vec<(String, String)>,
    preopens: Vec<Preopen>,
    limits: Limits,
) -> Result<i32, RunError> {
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
    let _guest = wasmtime_platform::GuestThread::enter()
        .map_err(|e| RunError::Instantiate(format!("guest thread: {e}")))?;
    let host = Host {
        wasi: WasiCtx::new(args, env, preopens),
        limits: StoreLimitsBuilder::new()
            .memory_size(limits.max_memory)
            .table_elements(TABLE_LIMIT)
            .build(),
    };
    let mut store = Store::new(engine, host);
    store.limiter(|h| &mut h.limits);
    store.call_hook(|_, hook| kill_hook(hook));
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| {
        guest::check_kill()?;
        Ok(UpdateDeadline::Continue(1))
    });
    let _running = Running::start();
    let mut linker = Linker::<Host>::new(engine);
    define_wasi(&mut linker).map_err(|e| RunError::Instantiate(e.to_string()))?;
    let _stoppable = guest::StoppableRun;
    let instance = linker
        .instantiate(&mut store, module)
        .map_err(|e| match outcome(&e) {
            Some(Ok(_)) | None => RunError::Instantiate(one_line(&format!("{e:#}"))),
            Some(Err(t)) => t,
        })?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|_| RunError::NoStart)?;
    let result = start.call(&mut store, ());
    // A kill stopped the guest at a host call or an epoch deadline: unwind from here,
    // dropping the store.
    thread::kill_point();
    match result {
        Ok(()) => Ok(0),
        Err(e) => match outcome(&e) {
            Some(r) => r,
            None => Err(trap_error(one_line(&format!("{e:#}")), 4, Vec::new())),
        },
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The engine's call hook: `wasi_host::guest`'s stop and kill points, as in `wasm_runner`.
fn kill_hook(hook: CallHook) -> wasmtime::Result<()> {
    match hook {
        CallHook::CallingWasm | CallHook::ReturningFromHost => guest::entering_wasm(),
        CallHook::CallingHost | CallHook::ReturningFromWasm => guest::leaving_wasm()?,
    }
    Ok(())
}

/// `proc_exit`'s code, or a trap with its signal and backtrace; `None` for other errors.
fn outcome(e: &wasmtime::Error) -> Option<Result<i32, RunError>> {
    if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
        return Some(Ok(*code));
    }
    let trap = e.downcast_ref::<Trap>()?;
    let (message, signal) = trap_words(*trap);
    let backtrace = e
        .downcast_ref::<WasmBacktrace>()
        .map(|bt| {
            format_frames(
                bt.frames().len(),
                bt.frames().iter().map(|f| (f.func_index(), f.func_name())),
            )
        })
        .unwrap_or_default();
    Some(Err(trap_error(message.into(), signal, backtrace)))
}

/// wasmi's message for a trap (so both engines print the same line) and the signal a native
/// program would have died of.
fn trap_words(trap: Trap) -> (&'static str, i32) {
    match trap {
        Trap::IntegerDivisionByZero => ("integer divide by zero", 8),
        Trap::IntegerOverflow => ("integer overflow", 8),
        Trap::BadConversionToInteger => ("invalid conversion to integer", 8),
        Trap::MemoryOutOfBounds => ("out of bounds memory access", 11),
        Trap::TableOutOfBounds => ("undefined element: out of bounds table access", 11),
        Trap::IndirectCallToNull => ("uninitialized element 2", 11),
        Trap::StackOverflow => ("call stack exhausted", 11),
        Trap::UnreachableCodeReached => ("wasm `unreachable` instruction executed", 4),
        Trap::BadSignature => ("indirect call type mismatch", 4),
        Trap::HeapMisaligned => ("unaligned atomic", 7),
        _ => ("wasm trap", 4),
    }
}

fn trap_error(message: String, signal: i32, backtrace: Vec<String>) -> RunError {
    RunError::Trap {
        message,
        signal,
        backtrace,
    }
}

/// A host function's result: the errno number, or an error that ends the run.
type HostResult = wasmtime::Result<i32>;

/// Calls `f` with the WASI state and the caller's exported `memory` (`FAULT` if it has
/// none) and turns its result into the errno number.
fn with_memory(
    caller: &mut Caller<'_, Host>,
    f: impl FnOnce(&mut WasiCtx, &mut dyn GuestMemory) -> Result<(), Errno>,
) -> HostResult {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return Ok(wasi_host::errno_result(Err(Errno::FAULT)));
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

/// Runs one host function (`wasi_host::guest::host_call`): a kill point or panic inside it
/// unwinds only to there (not through wasm frames) and becomes an error that ends the run.
fn host_call(f: impl FnOnce() -> Result<(), Errno>) -> HostResult {
    guest::host_call(f).map_err(wasmtime::Error::msg)
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
        $l.func_wrap(abi::MODULE, stringify!($name), |_: C, $code: $ty| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(Exit($code as i32)))
        })?
    };
}

/// `define_wasi`: every row of the table linked.
macro_rules! define_wasi {
    ($($kind:ident $name:ident($($param:ident: $ty:ident),* $(,)?);)*) => {
        /// Defines every preview1 function (`wasi_host::preview1_functions!`): each calls the
        /// `WasiCtx` method of its name.
        fn define_wasi(l: &mut Linker<Host>) -> wasmtime::Result<()> {
            $(link_function!(l, $kind $name($($param: $ty),*));)*
            Ok(())
        }
    };
}

wasi_host::preview1_functions!(define_wasi);
