//! Wasm traps from CPU faults (`custom-native-signals`): `wasmtime_init_traps` records
//! wasmtime's handler; [`GuestThread::enter`] gives the calling thread a libtheseus fault
//! handler that hands faults in wasm code to it (see the crate documentation).

use crate::vm::is_wasm_code;
use alloc::sync::Arc;
use libtheseus::Errno;
use libtheseus::mmap::Region;
use libtheseus::signal::{self, Cause, Context, FaultInfo};
use libtheseus::sync::Once;

/// wasmtime's handler: `(ip, fp, has_faulting_addr, faulting_addr)`; it does not return for
/// a fault at one of its trap sites.
type TrapHandler = extern "C" fn(usize, usize, bool, usize);

static HANDLER: Once<TrapHandler> = Once::new();

/// Stands for "no faulting address" in the three arguments the redirect can pass.
const NO_ADDR: usize = usize::MAX;

/// The alternate stack wasmtime's handler runs on (it looks up trap tables; no deep calls).
const ALT_STACK_SIZE: usize = 64 << 10;

/// `wasmtime_init_traps`: remembers `handler` (wasmtime calls this once per engine set-up;
/// the first handler stays). Returns 0.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_init_traps(handler: TrapHandler) -> i32 {
    HANDLER.call_once(|| handler);
    0
}

/// The running thread's readiness to run wasm code: its fault handler and alternate stack,
/// removed when this is dropped (in the same thread).
pub struct GuestThread {
    previous_stack: Option<Region>,
}

impl GuestThread {
    /// Prepares the calling thread to run wasmtime code: an alternate stack and the fault
    /// handler that turns faults in wasm code into wasm traps. Errors: memory for the stack.
    pub fn enter() -> Result<GuestThread, Errno> {
        let stack = signal::new_alt_stack(ALT_STACK_SIZE)?;
        let previous_stack = signal::set_alt_stack(Some(stack))?;
        signal::set_handler(Some(Arc::new(on_fault)));
        Ok(GuestThread { previous_stack })
    }
}

impl Drop for GuestThread {
    fn drop(&mut self) {
        signal::set_handler(None);
        let _ = signal::set_alt_stack(self.previous_stack.take());
    }
}

/// The thread's fault handler (interrupt context: reads only, never blocks or allocates).
/// Takes a fault of a kind compiled wasm raises on purpose whose instruction is in wasm code,
/// and redirects the thread to [`call_wasmtime_handler`] on its alternate stack.
fn on_fault(info: &FaultInfo, ctx: &mut Context<'_>) -> bool {
    if HANDLER.get().is_none() {
        return false;
    }
    let addr = match info.cause {
        Cause::Page { .. } => info.addr,
        Cause::InvalidOpcode | Cause::DivideError | Cause::GeneralProtection => NO_ADDR,
        _ => return false,
    };
    if !is_wasm_code(info.ip) {
        return false;
    }
    let Some(stack) = signal::alt_stack() else {
        return false;
    };
    let target = call_wasmtime_handler as extern "C" fn(usize, usize, usize) -> ! as usize;
    let fp = ctx.fp();
    // SAFETY: `call_wasmtime_handler` is an `extern "C"` function of three integer
    // arguments that never returns; the alternate stack was committed read-write by
    // `set_alt_stack` and only this thread's fault redirects use it (a redirect abandons it:
    // wasmtime resumes on the thread's own stack, or the thread ends). The abandoned frames
    // are compiled wasm code, which wasmtime unwinds past itself.
    unsafe { ctx.redirect_to(target, stack.top, [info.ip, fp, addr]) };
    true
}

/// Runs wasmtime's handler in thread context on the alternate stack. It does not return for
/// a wasm trap; if it does, the fault was in wasm code but at no trap site: the thread's
/// process is killed as a native program would be.
extern "C" fn call_wasmtime_handler(ip: usize, fp: usize, addr: usize) -> ! {
    if let Some(handler) = HANDLER.get() {
        handler(ip, fp, addr != NO_ADDR, addr);
    }
    libtheseus::process::kill_current_process(
        "fault in compiled wasm code outside a trap site [SIGSEGV]",
    )
}
