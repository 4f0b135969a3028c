//! Rust panics as unwinding exceptions: raising one with a payload, and catching it at a
//! task's entry. The DWARF unwinder and the personality routine come from the `unwinding`
//! crate; its own `panic` module does not build on this nightly (changed intrinsics), so the
//! two small functions it would provide are written here against the current intrinsics.

use alloc::boxed::Box;
use core::any::Any;
use core::mem::{ManuallyDrop, MaybeUninit};
use unwinding::abi::{_Unwind_RaiseException, UnwindException, UnwindReasonCode};

/// The exception class of Rust panics ("MOZ\0RUST", as rustc's own runtime uses).
const CLASS: u64 = u64::from_ne_bytes(*b"MOZ\0RUST");
static CANARY: u8 = 0;

#[repr(C)]
struct Exception {
    header: MaybeUninit<UnwindException>,
    canary: *const u8,
    payload: Box<dyn Any + Send>,
}

unsafe extern "C" fn cleanup(_code: UnwindReasonCode, ex: *mut UnwindException) {
    // SAFETY: the unwinder hands back the exception `raise` leaked with Box::into_raw.
    drop(unsafe { Box::from_raw(ex as *mut Exception) });
}

/// Starts unwinding with `payload`. Returns only if no handler frame was found (or there is
/// no frame information), with the unwinder's reason; the exception has been freed then.
pub fn raise(payload: Box<dyn Any + Send>) -> UnwindReasonCode {
    let ex = Box::into_raw(Box::new(Exception {
        header: MaybeUninit::uninit(),
        canary: &CANARY,
        payload,
    }));
    // SAFETY: `ex` is a live, exclusively owned allocation whose first field is the header
    // the unwinder works on; class and cleanup are the only fields we must fill in.
    unsafe {
        let header = (*ex).header.as_mut_ptr();
        (*header).exception_class = CLASS;
        (*header).exception_cleanup = Some(cleanup);
        let code = _Unwind_RaiseException(header);
        cleanup(code, header);
        code
    }
}

/// Runs `f`; if it panics, returns the panic payload instead of its result.
pub fn catch<R, F: FnOnce() -> R>(f: F) -> Result<R, Box<dyn Any + Send>> {
    union Data<F, R> {
        f: ManuallyDrop<F>,
        r: ManuallyDrop<R>,
        p: ManuallyDrop<Box<dyn Any + Send>>,
    }

    fn do_call<F: FnOnce() -> R, R>(data: *mut u8) {
        // SAFETY: `data` is the `Data` below, holding `f` until this call takes it.
        unsafe {
            let data = &mut *(data as *mut Data<F, R>);
            let f = ManuallyDrop::take(&mut data.f);
            data.r = ManuallyDrop::new(f());
        }
    }

    fn do_catch<F, R>(data: *mut u8, exception: *mut u8) {
        // SAFETY: `exception` is the header of an `Exception` raised by `raise` (checked by
        // class and canary before it is reinterpreted); `data` is the `Data` below.
        unsafe {
            let header = exception as *mut UnwindException;
            let is_ours = (*header).exception_class == CLASS
                && core::ptr::eq((*(exception as *mut Exception)).canary, &CANARY);
            if !is_ours {
                // A foreign exception cannot be turned into a payload: stop here.
                core::intrinsics::abort();
            }
            let ex = Box::from_raw(exception as *mut Exception);
            let data = &mut *(data as *mut Data<F, R>);
            data.p = ManuallyDrop::new(ex.payload);
        }
    }

    let mut data = Data {
        f: ManuallyDrop::new(f),
    };
    let ptr = &raw mut data as *mut u8;
    // SAFETY: do_call/do_catch match `data`'s type; the intrinsic returns 0 when `f`
    // returned normally (then `r` is set) and non-zero after do_catch set `p`.
    unsafe {
        if core::intrinsics::catch_unwind(do_call::<F, R>, ptr, do_catch::<F, R>) == 0 {
            Ok(ManuallyDrop::into_inner(data.r))
        } else {
            Err(ManuallyDrop::into_inner(data.p))
        }
    }
}
