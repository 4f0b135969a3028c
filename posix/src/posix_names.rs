//! POSIX-named calls for code that uses them directly (C, or Rust through the `libc` crate):
//! `mmap`, `munmap`, `mprotect`, `sigaction`, `sigaltstack`, `pthread_key_create`,
//! `pthread_key_delete`, `pthread_getspecific`, `pthread_setspecific`, `clock_gettime`,
//! `getrandom`.
//!
//! Unlike the `sys_*` calls these follow POSIX conventions: failure returns -1 (`MAP_FAILED`
//! for `mmap`) and sets the calling thread's errno (the one `sys_get_errno` reads); the
//! `pthread_*` calls return the error number. Constants and struct layouts are Linux x86_64's
//! (glibc's for `struct sigaction`/`sigset_t`/`ucontext_t`), because the `libc` crate's
//! hermit module defines none of them. Note that `CLOCK_REALTIME`/`CLOCK_MONOTONIC` are Linux's
//! 0/1 here, not hermit's 1/4 (`libc::clock_gettime` on hermit links to `sys_clock_gettime`,
//! which keeps hermit's numbers).
//!
//! Signals: only the synchronous fault signals can be raised (`SIGSEGV`, `SIGBUS`, `SIGILL`,
//! `SIGFPE`, `SIGTRAP`); other signals may be given dispositions, which are recorded and never
//! used. A fault is delivered like this:
//!
//! 1. libtheseus's per-thread fault handler (installed by `sigaction`) runs in the fault's
//!    context (interrupts off). It picks a stack (the `sigaltstack` stack if the action has
//!    `SA_ONSTACK` and one is set, else a 16 KiB per-thread signal stack that `sigaction`
//!    allocated; below the current stack pointer if the thread already runs on that stack),
//!    writes a [`siginfo_t`] and a [`ucontext_t`] (Linux `mcontext_t` gregs: `REG_RIP`, ...)
//!    there and redirects the thread to [`sig_trampoline`] with `Context::redirect_to`.
//! 2. The trampoline runs as normal thread code (interrupts on; the handler may allocate,
//!    lock, print): it saves the FP/SIMD state into the ucontext's `fpregs`, calls the handler
//!    with the signal blocked (unless `SA_NODEFER`; plus `sa_mask`), restores the FP/SIMD state
//!    and executes `ud2` at [`sig_return`].
//! 3. The fault handler recognises that `ud2` as a sigreturn and resumes the thread with the
//!    general registers of the (possibly changed) ucontext: a handler skips a faulting
//!    instruction by adding its length to `gregs[REG_RIP]`. Only the status flags of
//!    `REG_EFL` are taken.
//!
//! Deviations: dispositions, the blocked mask and the alternate stack are per thread (the
//! libtheseus fault handler is per thread and posix has no per-process store yet; a thread
//! inherits nothing, so each thread that wants handlers calls `sigaction`). A fault signal
//! that is blocked, ignored or at `SIG_DFL` ends the thread as without a handler (as Linux
//! does for synchronous faults). `SS_AUTODISARM` is accepted and ignored. The stack needs
//! about 1.2 KiB for the frame plus 1 KiB for the handler beyond that (`SIGSTKSZ` = 8192 is
//! plenty), or the fault ends the thread.

#![allow(non_camel_case_types)]

use crate::edge::{self, set_errno};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ffi::{c_int, c_uint, c_void};
use core::mem::{offset_of, size_of};
use libtheseus::mmap::{self as lmmap, Commit, Protection};
use libtheseus::signal::{self, Cause, Context, FaultInfo, FaultKind, Register};
use libtheseus::sync::{Mutex, Once};
use libtheseus::time::{self, Clock};
use libtheseus::{Errno, Result, random, thread, tls};

// ---- constants (Linux x86_64) ------------------------------------------------------------------

pub const PROT_NONE: c_int = 0;
pub const PROT_READ: c_int = 1;
pub const PROT_WRITE: c_int = 2;
pub const PROT_EXEC: c_int = 4;

pub const MAP_SHARED: c_int = 0x01;
pub const MAP_PRIVATE: c_int = 0x02;
pub const MAP_TYPE: c_int = 0x0f;
pub const MAP_FIXED: c_int = 0x10;
pub const MAP_ANONYMOUS: c_int = 0x20;
pub const MAP_NORESERVE: c_int = 0x4000;
pub const MAP_POPULATE: c_int = 0x8000;
pub const MAP_STACK: c_int = 0x2_0000;
pub const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

pub const SIGILL: c_int = 4;
pub const SIGTRAP: c_int = 5;
pub const SIGBUS: c_int = 7;
pub const SIGFPE: c_int = 8;
pub const SIGKILL: c_int = 9;
pub const SIGSEGV: c_int = 11;
pub const SIGSTOP: c_int = 19;
/// Signals are 1..NSIG.
pub const NSIG: usize = 65;

pub const SIG_DFL: usize = 0;
pub const SIG_IGN: usize = 1;

pub const SA_SIGINFO: c_int = 4;
pub const SA_ONSTACK: c_int = 0x0800_0000;
pub const SA_RESTART: c_int = 0x1000_0000;
pub const SA_NODEFER: c_int = 0x4000_0000;
pub const SA_RESETHAND: c_int = 0x8000_0000_u32 as c_int;

pub const SS_ONSTACK: c_int = 1;
pub const SS_DISABLE: c_int = 2;
pub const SS_AUTODISARM: c_int = 0x8000_0000_u32 as c_int;
pub const MINSIGSTKSZ: usize = 2048;
pub const SIGSTKSZ: usize = 8192;

pub const SI_KERNEL: c_int = 0x80;
pub const SEGV_MAPERR: c_int = 1;
pub const SEGV_ACCERR: c_int = 2;
pub const BUS_ADRALN: c_int = 1;
pub const ILL_ILLOPN: c_int = 2;
pub const FPE_INTDIV: c_int = 1;
pub const FPE_FLTINV: c_int = 7;
pub const TRAP_BRKPT: c_int = 1;

// `mcontext_t` gregs indexes.
pub const REG_R8: usize = 0;
pub const REG_R9: usize = 1;
pub const REG_R10: usize = 2;
pub const REG_R11: usize = 3;
pub const REG_R12: usize = 4;
pub const REG_R13: usize = 5;
pub const REG_R14: usize = 6;
pub const REG_R15: usize = 7;
pub const REG_RDI: usize = 8;
pub const REG_RSI: usize = 9;
pub const REG_RBP: usize = 10;
pub const REG_RBX: usize = 11;
pub const REG_RDX: usize = 12;
pub const REG_RAX: usize = 13;
pub const REG_RCX: usize = 14;
pub const REG_RSP: usize = 15;
pub const REG_RIP: usize = 16;
pub const REG_EFL: usize = 17;
pub const REG_CSGSFS: usize = 18;
pub const REG_ERR: usize = 19;
pub const REG_TRAPNO: usize = 20;
pub const REG_OLDMASK: usize = 21;
pub const REG_CR2: usize = 22;
pub const NGREG: usize = 23;

pub const PTHREAD_KEYS_MAX: usize = 1024;
pub const PTHREAD_DESTRUCTOR_ITERATIONS: usize = 4;

pub const CLOCK_REALTIME: c_int = 0;
pub const CLOCK_MONOTONIC: c_int = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: c_int = 2;
pub const CLOCK_THREAD_CPUTIME_ID: c_int = 3;
pub const CLOCK_MONOTONIC_RAW: c_int = 4;
pub const CLOCK_REALTIME_COARSE: c_int = 5;
pub const CLOCK_MONOTONIC_COARSE: c_int = 6;
pub const CLOCK_BOOTTIME: c_int = 7;

pub const GRND_NONBLOCK: c_uint = 1;
pub const GRND_RANDOM: c_uint = 2;
pub const GRND_INSECURE: c_uint = 4;

// ---- structs ------------------------------------------------------------------------------------

/// `sigset_t` (glibc: 1024 bits; only the first 64 mean anything).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sigset_t {
    pub val: [u64; 16],
}

/// glibc's `struct sigaction`; `sa_sigaction` is also `sa_handler` (`SIG_DFL` = 0,
/// `SIG_IGN` = 1, or a function address).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct sigaction {
    pub sa_sigaction: usize,
    pub sa_mask: sigset_t,
    pub sa_flags: c_int,
    pub sa_restorer: usize,
}

/// `stack_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct stack_t {
    pub ss_sp: *mut c_void,
    pub ss_flags: c_int,
    pub ss_size: usize,
}

/// `siginfo_t` with the fault fields (`si_addr`); 128 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct siginfo_t {
    pub si_signo: c_int,
    pub si_errno: c_int,
    pub si_code: c_int,
    _pad: c_int,
    pub si_addr: *mut c_void,
    _rest: [u64; 13],
}

/// `mcontext_t`: general registers (indexed by `REG_*`) and a pointer to the FP/SIMD state
/// (`fxsave` layout).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mcontext_t {
    pub gregs: [i64; NGREG],
    pub fpregs: *mut c_void,
    _reserved1: [u64; 8],
}

/// glibc's `ucontext_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ucontext_t {
    pub uc_flags: u64,
    pub uc_link: *mut ucontext_t,
    pub uc_stack: stack_t,
    pub uc_mcontext: mcontext_t,
    pub uc_sigmask: sigset_t,
    pub fpregs_mem: [u64; 64],
    _ssp: [u64; 4],
}

/// Linux `struct timespec` (64-bit `tv_nsec`; also fits hermit's 32-bit field plus padding).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

pub type pthread_key_t = c_uint;
pub type clockid_t = c_int;

const _: () = assert!(size_of::<sigaction>() == 152 && offset_of!(sigaction, sa_flags) == 136);
const _: () = assert!(size_of::<stack_t>() == 24 && offset_of!(stack_t, ss_size) == 16);
const _: () = assert!(size_of::<siginfo_t>() == 128 && offset_of!(siginfo_t, si_addr) == 16);
const _: () = assert!(size_of::<mcontext_t>() == 256);
const _: () = assert!(offset_of!(ucontext_t, uc_mcontext) == 40);
const _: () = assert!(offset_of!(ucontext_t, uc_sigmask) == 296);
const _: () = assert!(offset_of!(ucontext_t, fpregs_mem) == 424);
const _: () = assert!(size_of::<ucontext_t>() == 968);

fn ret_int(r: Result<()>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

// ---- mmap, munmap, mprotect ---------------------------------------------------------------------

fn protection(prot: c_int) -> Result<Protection> {
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Protection::from_posix(prot as u32))
}

fn page_aligned(v: usize) -> bool {
    v.is_multiple_of(lmmap::page_size())
}

fn do_mmap(addr: usize, len: usize, prot: c_int, flags: c_int, off: i64) -> Result<usize> {
    let prot = protection(prot)?;
    if len == 0 || off < 0 || !page_aligned(off as usize) {
        return Err(Errno::EINVAL);
    }
    if !matches!(flags & MAP_TYPE, MAP_PRIVATE | MAP_SHARED) {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        return Err(Errno::from_raw(19)); // ENODEV: no file mappings
    }
    if flags & MAP_FIXED != 0 {
        // Only inside mapped pages of live regions: replaced by fresh zeroed pages (protecting
        // to NONE frees the frames; protect_at checks every page first and changes nothing
        // with ENOMEM).
        if !page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        lmmap::protect_at(addr, len, Protection::NONE).map_err(|_| Errno::EINVAL)?;
        if prot.is_accessible() {
            lmmap::protect_at(addr, len, prot)?;
        }
        return Ok(addr);
    }
    let commit = if flags & MAP_POPULATE != 0 {
        Commit::Now
    } else {
        Commit::OnDemand
    };
    lmmap::map(len, prot, commit)
}

/// `mmap`: anonymous memory only (`MAP_ANONYMOUS` with `MAP_PRIVATE` or `MAP_SHARED`, which
/// are the same without `fork`); address hints are ignored; `MAP_FIXED` only over mapped
/// pages of existing regions (replaced by zeroed pages), `EINVAL` elsewhere; `MAP_POPULATE`
/// backs every page now, otherwise pages get memory on first touch. Returns `MAP_FAILED` with
/// errno `EINVAL` (zero length, bad flags, protection or offset), `ENODEV` (file mappings) or
/// `ENOMEM`.
pub(crate) extern "C" fn mmap(
    addr: *mut c_void,
    len: usize,
    prot: c_int,
    flags: c_int,
    _fd: c_int,
    off: i64,
) -> *mut c_void {
    match do_mmap(addr as usize, len, prot, flags, off) {
        Ok(a) => a as *mut c_void,
        Err(e) => {
            set_errno(e);
            MAP_FAILED
        }
    }
}

/// `munmap`: unmaps the pages of `addr..addr + len` (pages of no mapping are ignored).
/// `EINVAL` for a misaligned `addr` or zero `len`.
pub(crate) extern "C" fn munmap(addr: *mut c_void, len: usize) -> c_int {
    ret_int(lmmap::unmap_at(addr as usize, len))
}

/// `mprotect`: `EINVAL` for a misaligned `addr` or unknown `prot` bits, `ENOMEM` if a page of
/// the range is not mapped (then nothing changes). A zero `len` succeeds.
pub(crate) extern "C" fn mprotect(addr: *mut c_void, len: usize, prot: c_int) -> c_int {
    ret_int((|| {
        let prot = protection(prot)?;
        if !page_aligned(addr as usize) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        lmmap::protect_at(addr as usize, len, prot)
    })())
}

// ---- signals ------------------------------------------------------------------------------------

/// The per-thread signal state, in TLS keys (readable from the fault handler).
struct SigKeys {
    handler: [tls::Key; NSIG],
    flags: [tls::Key; NSIG],
    mask: [tls::Key; NSIG],
    /// Bit `n - 1` blocks signal `n`.
    blocked: tls::Key,
    alt_sp: tls::Key,
    alt_size: tls::Key,
}

static SIG_KEYS: Once<SigKeys> = Once::new();

fn sig_keys() -> &'static SigKeys {
    SIG_KEYS.call_once(|| SigKeys {
        handler: core::array::from_fn(|_| tls::Key::new(None)),
        flags: core::array::from_fn(|_| tls::Key::new(None)),
        mask: core::array::from_fn(|_| tls::Key::new(None)),
        blocked: tls::Key::new(None),
        alt_sp: tls::Key::new(None),
        alt_size: tls::Key::new(None),
    })
}

fn sig_bit(signo: usize) -> u64 {
    1 << (signo - 1)
}

/// Size of the private per-thread signal stack used without `SA_ONSTACK`.
const SIGNAL_STACK: usize = 16 * 1024;
/// Stack the handler gets at least below its frame.
const HANDLER_ROOM: usize = 1024;
const FRAME_MAGIC: u64 = 0x5349_4746_5241_4d45;

/// What the fault handler writes on the signal stack.
#[repr(C, align(64))]
struct SigFrame {
    info: siginfo_t,
    /// Puts `uc.fpregs_mem` on a 16-byte boundary (for `fxsave64`).
    _pad: u64,
    uc: ucontext_t,
    handler: usize,
    signo: c_int,
    flags: c_int,
    magic: u64,
}

const FX_OFFSET: usize = offset_of!(SigFrame, uc) + offset_of!(ucontext_t, fpregs_mem);
const _: () = assert!(FX_OFFSET.is_multiple_of(16));

/// The user's alternate stack (`sigaltstack`), if set: (base, size).
fn user_alt_stack() -> Option<(usize, usize)> {
    let k = SIG_KEYS.get()?;
    let sp = k.alt_sp.get() as usize;
    (sp != 0).then(|| (sp, k.alt_size.get() as usize))
}

fn si_code(info: &FaultInfo) -> c_int {
    match info.cause {
        Cause::Page { present, .. } => {
            // A PROT_NONE page is not present either, but it is mapped: Linux says ACCERR.
            let mapped = lmmap::region_at(info.addr).is_some_and(|r| r.protection.is_some());
            if present || mapped {
                SEGV_ACCERR
            } else {
                SEGV_MAPERR
            }
        }
        Cause::DivideError => FPE_INTDIV,
        Cause::FloatingPoint => FPE_FLTINV,
        Cause::InvalidOpcode => ILL_ILLOPN,
        Cause::Alignment => BUS_ADRALN,
        Cause::Debug => TRAP_BRKPT,
        _ => SI_KERNEL,
    }
}

/// `REG_TRAPNO` and `REG_ERR` of a fault.
fn trap_and_error(cause: Cause) -> (i64, i64) {
    match cause {
        Cause::Page {
            write,
            exec,
            present,
        } => (
            14,
            i64::from(present) | i64::from(write) << 1 | i64::from(exec) << 4,
        ),
        Cause::GeneralProtection => (13, 0),
        Cause::Segment => (12, 0),
        Cause::DivideError => (0, 0),
        Cause::FloatingPoint => (16, 0),
        Cause::InvalidOpcode => (6, 0),
        Cause::Alignment => (17, 0),
        Cause::Debug => (1, 0),
        Cause::Other(v) => (i64::from(v), 0),
    }
}

const GREGS: [(usize, Register); 16] = [
    (REG_R8, Register::R8),
    (REG_R9, Register::R9),
    (REG_R10, Register::R10),
    (REG_R11, Register::R11),
    (REG_R12, Register::R12),
    (REG_R13, Register::R13),
    (REG_R14, Register::R14),
    (REG_R15, Register::R15),
    (REG_RDI, Register::Rdi),
    (REG_RSI, Register::Rsi),
    (REG_RBP, Register::Rbp),
    (REG_RBX, Register::Rbx),
    (REG_RDX, Register::Rdx),
    (REG_RAX, Register::Rax),
    (REG_RCX, Register::Rcx),
    (REG_RSP, Register::Rsp),
];

/// The thread's fault handler (fault context: interrupts off, no allocation, no blocking).
fn on_fault(info: &FaultInfo, ctx: &mut Context<'_>) -> bool {
    if info.kind == FaultKind::Ill && ctx.ip() == sig_return as *const () as usize {
        return finish_sigreturn(ctx);
    }
    deliver(info, ctx)
}

/// The stack range a frame may use: (lowest address, top).
fn signal_stack(flags: c_int, sp: usize) -> Option<(usize, usize)> {
    let (base, top) = match user_alt_stack() {
        Some((base, size)) if flags & SA_ONSTACK != 0 => (base, base + size),
        _ => {
            let s = signal::alt_stack()?;
            (s.base, s.top)
        }
    };
    // Already on it (a fault in a handler): below the interrupted code's stack.
    Some(if (base..top).contains(&sp) {
        (base, sp)
    } else {
        (base, top)
    })
}

fn deliver(info: &FaultInfo, ctx: &mut Context<'_>) -> bool {
    let Some(keys) = SIG_KEYS.get() else {
        return false;
    };
    let signo = info.kind.signal_number();
    let s = signo as usize;
    let handler = keys.handler[s].get() as usize;
    let blocked = keys.blocked.get();
    if handler == SIG_DFL || handler == SIG_IGN || blocked & sig_bit(s) != 0 {
        return false;
    }
    let flags = keys.flags[s].get() as u32 as c_int;
    let Some((base, top)) = signal_stack(flags, ctx.sp()) else {
        return false;
    };
    let Some(at) = top.checked_sub(size_of::<SigFrame>()).map(|a| a & !63) else {
        return false;
    };
    if at < base.saturating_add(HANDLER_ROOM) {
        return false;
    }
    let frame = at as *mut SigFrame;
    // SAFETY: `at..top` lies in a signal stack: the user's `sigaltstack` memory (valid for
    // writes and pre-touched by `sigaltstack`, as its caller guarantees) or the thread's
    // libtheseus alternate stack (committed read-write); below the interrupted stack pointer
    // if the thread was running on it, so nothing live is overwritten. Every field of
    // `SigFrame` is an integer or a raw pointer, so zero bytes are a valid value.
    let frame = unsafe {
        frame.write_bytes(0, 1);
        &mut *frame
    };
    frame.info.si_signo = signo;
    frame.info.si_code = si_code(info);
    frame.info.si_addr = info.addr as *mut c_void;
    let uc = &mut frame.uc;
    if let Some((sp, size)) = user_alt_stack() {
        uc.uc_stack = stack_t {
            ss_sp: sp as *mut c_void,
            ss_flags: if (sp..sp + size).contains(&ctx.sp()) {
                SS_ONSTACK
            } else {
                0
            },
            ss_size: size,
        };
    } else {
        uc.uc_stack.ss_flags = SS_DISABLE;
    }
    let g = &mut uc.uc_mcontext.gregs;
    for (i, reg) in GREGS {
        g[i] = ctx.get(reg) as i64;
    }
    g[REG_RIP] = ctx.ip() as i64;
    g[REG_EFL] = ctx.rflags() as i64;
    let (trapno, err) = trap_and_error(info.cause);
    g[REG_TRAPNO] = trapno;
    g[REG_ERR] = err;
    if matches!(info.cause, Cause::Page { .. }) {
        g[REG_CR2] = info.addr as i64;
    }
    uc.uc_mcontext.fpregs = (&raw mut uc.fpregs_mem).cast();
    uc.uc_sigmask.val[0] = blocked;
    frame.handler = handler;
    frame.signo = signo;
    frame.flags = flags;
    frame.magic = FRAME_MAGIC ^ at as u64;
    // SAFETY: `sig_trampoline` is a never-returning `extern "C"` function of one pointer
    // argument; the 16 bytes below `at` are in the same committed signal stack, with at least
    // `HANDLER_ROOM` bytes for the handler; the interrupted frames are not abandoned but
    // resumed by `finish_sigreturn`.
    unsafe { ctx.redirect_to(sig_trampoline as *const () as usize, at, [at, 0, 0]) };
    true
}

/// The `ud2` at `sig_return` after a handler: resume with the ucontext's registers.
fn finish_sigreturn(ctx: &mut Context<'_>) -> bool {
    let at = ctx.get(Register::Rdi) as usize;
    let on_stack = |(base, top): (usize, usize)| base <= at && at + size_of::<SigFrame>() <= top;
    let in_user = user_alt_stack().is_some_and(|(b, s)| on_stack((b, b + s)));
    let in_own = signal::alt_stack().is_some_and(|s| on_stack((s.base, s.top)));
    if !at.is_multiple_of(64) || !(in_user || in_own) {
        return false;
    }
    // SAFETY: `at` is 64-byte aligned and the frame lies inside one of the thread's signal
    // stacks (checked), where `deliver` wrote it; the magic check below rejects anything else.
    let frame = unsafe { &mut *(at as *mut SigFrame) };
    if frame.magic != FRAME_MAGIC ^ at as u64 {
        return false;
    }
    frame.magic = 0;
    let g = frame.uc.uc_mcontext.gregs;
    // SAFETY: the handler's contract (as on Linux): the register state it leaves in the
    // ucontext is one the interrupted code can resume with (unchanged, or e.g. REG_RIP moved
    // past the faulting instruction).
    unsafe {
        for (i, reg) in GREGS {
            ctx.set(reg, g[i] as u64);
        }
        ctx.set_ip(g[REG_RIP] as usize);
    }
    ctx.set_rflags(g[REG_EFL] as u64);
    true
}

type SigactionFn = extern "C" fn(c_int, *mut siginfo_t, *mut c_void);
type HandlerFn = extern "C" fn(c_int);

/// Runs the handler of the frame at `frame` (normal thread code on the signal stack).
///
/// # Safety
/// `frame` is the frame `deliver` wrote (only `sig_trampoline` calls this).
unsafe extern "C" fn dispatch(frame: *mut SigFrame) {
    // SAFETY: the frame `deliver` wrote; nothing else uses it until the sigreturn.
    let frame = unsafe { &mut *frame };
    let keys = sig_keys();
    let s = frame.signo as usize;
    let mut mask = keys.mask[s].get();
    if frame.flags & SA_NODEFER == 0 {
        mask |= sig_bit(s);
    }
    keys.blocked.set(frame.uc.uc_sigmask.val[0] | mask);
    if frame.flags & SA_RESETHAND != 0 {
        keys.handler[s].set(SIG_DFL as u64);
        keys.flags[s].set(0);
    }
    if frame.flags & SA_SIGINFO != 0 {
        // SAFETY: `sigaction` recorded this address as the program's `sa_sigaction` function
        // (`SA_SIGINFO`); the program guarantees it is one.
        let f = unsafe { core::mem::transmute::<usize, SigactionFn>(frame.handler) };
        f(frame.signo, &mut frame.info, (&raw mut frame.uc).cast());
    } else {
        // SAFETY: as above, an `sa_handler` function.
        let f = unsafe { core::mem::transmute::<usize, HandlerFn>(frame.handler) };
        f(frame.signo);
    }
    // As sigreturn: the mask of the (possibly changed) ucontext.
    keys.blocked.set(frame.uc.uc_sigmask.val[0]);
}

/// Entered by `deliver`'s redirect with the frame in rdi (stack pointer 8 mod 16, as after a
/// call): save the FP/SIMD state, run the handler, restore the state, sigreturn.
#[unsafe(naked)]
extern "C" fn sig_trampoline() -> ! {
    core::arch::naked_asm!(
        "push rbx",
        "mov rbx, rdi",
        "fxsave64 [rdi + {fx}]",
        "call {dispatch}",
        "mov rdi, rbx",
        "fxrstor64 [rdi + {fx}]",
        "jmp {ret}",
        fx = const FX_OFFSET,
        dispatch = sym dispatch,
        ret = sym sig_return,
    )
}

/// The sigreturn: a `ud2` the fault handler recognises by its address (rdi: the frame).
#[unsafe(naked)]
extern "C" fn sig_return() -> ! {
    core::arch::naked_asm!("ud2")
}

fn is_fault_signal(signo: c_int) -> bool {
    matches!(signo, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP)
}

/// # Safety
/// As [`sigaction`].
unsafe fn do_sigaction(signo: c_int, act: *const sigaction, old: *mut sigaction) -> Result<()> {
    if !(1..NSIG as c_int).contains(&signo) {
        return Err(Errno::EINVAL);
    }
    let s = signo as usize;
    let new = if act.is_null() {
        None
    } else {
        // SAFETY: the caller's contract (a non-null `act` points to a `struct sigaction`).
        Some(unsafe { edge::read_in(act) }?)
    };
    if new.is_some() && (signo == SIGKILL || signo == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let keys = sig_keys();
    if !old.is_null() {
        let mut mask = sigset_t::default();
        mask.val[0] = keys.mask[s].get();
        let prev = sigaction {
            sa_sigaction: keys.handler[s].get() as usize,
            sa_mask: mask,
            sa_flags: keys.flags[s].get() as u32 as c_int,
            sa_restorer: 0,
        };
        // SAFETY: the caller's contract (a non-null `old` is writable).
        unsafe { edge::write_out(old, prev) }?;
    }
    let Some(new) = new else {
        return Ok(());
    };
    if is_fault_signal(signo) && !matches!(new.sa_sigaction, SIG_DFL | SIG_IGN) {
        // The fault handler needs a stack to build frames on without SA_ONSTACK.
        if signal::alt_stack().is_none() {
            let stack = signal::new_alt_stack(SIGNAL_STACK)?;
            signal::set_alt_stack(Some(stack))?;
        }
        signal::set_handler(Some(Arc::new(on_fault)));
    }
    keys.handler[s].set(new.sa_sigaction as u64);
    keys.flags[s].set(u64::from(new.sa_flags as u32));
    keys.mask[s].set(new.sa_mask.val[0]);
    Ok(())
}

/// `sigaction`: sets and/or reads the calling thread's action for `signo` (1..=64; `EINVAL`
/// otherwise, and for setting `SIGKILL`/`SIGSTOP`). Setting a handler for a fault signal
/// installs the thread's fault handler (see the module documentation).
///
/// # Safety
/// Non-null `act`/`old` must point to a `struct sigaction`; a handler address must be a
/// function of the signature its `SA_SIGINFO` flag says, valid while the action is set.
pub(crate) unsafe extern "C" fn sigaction(
    signo: c_int,
    act: *const sigaction,
    old: *mut sigaction,
) -> c_int {
    // SAFETY: the caller's contract.
    ret_int(unsafe { do_sigaction(signo, act, old) })
}

/// # Safety
/// As [`sigaltstack`].
unsafe fn do_sigaltstack(ss: *const stack_t, old: *mut stack_t) -> Result<()> {
    let new = if ss.is_null() {
        None
    } else {
        // SAFETY: the caller's contract.
        Some(unsafe { edge::read_in(ss) }?)
    };
    let keys = sig_keys();
    let current = user_alt_stack();
    let marker = 0u8;
    let here = &marker as *const u8 as usize;
    let on = current.is_some_and(|(sp, size)| (sp..sp + size).contains(&here));
    if !old.is_null() {
        let (sp, size) = current.unwrap_or((0, 0));
        let prev = stack_t {
            ss_sp: sp as *mut c_void,
            ss_flags: match (current, on) {
                (None, _) => SS_DISABLE,
                (_, true) => SS_ONSTACK,
                _ => 0,
            },
            ss_size: size,
        };
        // SAFETY: the caller's contract.
        unsafe { edge::write_out(old, prev) }?;
    }
    let Some(new) = new else {
        return Ok(());
    };
    if on {
        return Err(Errno::EPERM);
    }
    let mode = new.ss_flags & !SS_AUTODISARM;
    if mode == SS_DISABLE {
        keys.alt_sp.set(0);
        keys.alt_size.set(0);
        return Ok(());
    }
    if mode != 0 && mode != SS_ONSTACK {
        return Err(Errno::EINVAL);
    }
    if new.ss_size < MINSIGSTKSZ {
        return Err(Errno::ENOMEM);
    }
    // Touch (zero) every page now: the fault handler writes frames there with interrupts off
    // and must not take a demand-paging fault.
    // SAFETY: the caller's contract: `ss_sp` is memory of `ss_size` bytes given to the system
    // for signal frames (its contents are not the program's).
    let mem = unsafe { edge::bytes_mut(new.ss_sp.cast(), new.ss_size) }?;
    mem.fill(0);
    keys.alt_sp.set(new.ss_sp as u64);
    keys.alt_size.set(new.ss_size as u64);
    Ok(())
}

/// `sigaltstack`: reads and/or sets the calling thread's alternate signal stack, used by
/// actions with `SA_ONSTACK`. `EPERM` while running on it, `EINVAL` for bad flags, `ENOMEM`
/// below `MINSIGSTKSZ`, `EFAULT` for a null `ss_sp`.
///
/// # Safety
/// Non-null `ss`/`old` must point to a `stack_t`; the memory `ss` gives must stay valid (and
/// unused by the program) while it is installed.
pub(crate) unsafe extern "C" fn sigaltstack(ss: *const stack_t, old: *mut stack_t) -> c_int {
    // SAFETY: the caller's contract.
    ret_int(unsafe { do_sigaltstack(ss, old) })
}

// ---- pthread keys -------------------------------------------------------------------------------

type Destructor = extern "C" fn(*mut c_void);

#[derive(Clone, Copy)]
enum KeySlot {
    Free,
    Used(Option<Destructor>),
}

/// Keys by number.
static PKEYS: Mutex<Vec<KeySlot>> = Mutex::new(Vec::new());
/// Non-null values by (thread id, key). Lock order: `PKEYS`, then `PVALUES`.
static PVALUES: Mutex<BTreeMap<(u64, pthread_key_t), usize>> = Mutex::new(BTreeMap::new());

/// The libtheseus key whose destructor runs a thread's pthread destructors (value: thread id
/// + 1, set once the thread stores a value).
fn exit_key() -> tls::Key {
    static KEY: Once<tls::Key> = Once::new();
    *KEY.call_once(|| tls::Key::new(Some(run_pthread_destructors)))
}

fn this_thread() -> u64 {
    thread::current_id().as_u64()
}

/// At thread end: call the destructors of the thread's non-null values (each value is set to
/// null first), repeating while destructors store new values, up to
/// `PTHREAD_DESTRUCTOR_ITERATIONS` rounds; then drop what is left.
fn run_pthread_destructors(v: u64) {
    let tid = v - 1;
    for _ in 0..PTHREAD_DESTRUCTOR_ITERATIONS {
        let calls: Vec<(Destructor, usize)> = {
            let keys = PKEYS.lock();
            let mut values = PVALUES.lock();
            let mine: Vec<(pthread_key_t, usize)> = values
                .range((tid, 0)..=(tid, pthread_key_t::MAX))
                .map(|(&(_, k), &v)| (k, v))
                .collect();
            mine.into_iter()
                .filter_map(|(k, v)| {
                    values.remove(&(tid, k));
                    match keys.get(k as usize) {
                        Some(KeySlot::Used(Some(d))) => Some((*d, v)),
                        _ => None,
                    }
                })
                .collect()
        };
        if calls.is_empty() {
            return;
        }
        for (d, v) in calls {
            d(v as *mut c_void);
        }
    }
    PVALUES.lock().retain(|&(t, _), _| t != tid);
}

/// `pthread_key_create`: a new key (value null in every thread) with an optional destructor
/// called at thread end with the thread's non-null value. `EAGAIN` beyond
/// `PTHREAD_KEYS_MAX` keys, `EINVAL` for a null `key`.
///
/// # Safety
/// A non-null `key` must be writable; `destructor` must stay callable while threads run.
pub(crate) unsafe extern "C" fn pthread_key_create(
    key: *mut pthread_key_t,
    destructor: Option<Destructor>,
) -> c_int {
    if key.is_null() || !key.is_aligned() {
        return Errno::EINVAL.raw();
    }
    let mut keys = PKEYS.lock();
    let k = match keys.iter().position(|s| matches!(s, KeySlot::Free)) {
        Some(k) => k,
        None if keys.len() < PTHREAD_KEYS_MAX => {
            keys.push(KeySlot::Free);
            keys.len() - 1
        }
        None => return Errno::EAGAIN.raw(),
    };
    keys[k] = KeySlot::Used(destructor);
    // SAFETY: non-null and aligned (checked); the caller's contract.
    unsafe { key.write(k as pthread_key_t) };
    0
}

/// `pthread_key_delete`: frees `key` (`EINVAL` if it is not a live key); every thread's
/// value for it is dropped without calling the destructor, so a key created later starts
/// null everywhere.
pub(crate) extern "C" fn pthread_key_delete(key: pthread_key_t) -> c_int {
    let mut keys = PKEYS.lock();
    match keys.get_mut(key as usize) {
        Some(slot @ KeySlot::Used(_)) => {
            *slot = KeySlot::Free;
            PVALUES.lock().retain(|&(_, k), _| k != key);
            0
        }
        _ => Errno::EINVAL.raw(),
    }
}

/// `pthread_getspecific`: the calling thread's value for `key` (null if never set or not a
/// live key).
pub(crate) extern "C" fn pthread_getspecific(key: pthread_key_t) -> *mut c_void {
    let v = PVALUES
        .lock()
        .get(&(this_thread(), key))
        .copied()
        .unwrap_or(0);
    v as *mut c_void
}

/// `pthread_setspecific`: sets the calling thread's value for `key`; `EINVAL` if it is not a
/// live key.
pub(crate) extern "C" fn pthread_setspecific(key: pthread_key_t, value: *const c_void) -> c_int {
    let tid = this_thread();
    {
        let keys = PKEYS.lock();
        if !matches!(keys.get(key as usize), Some(KeySlot::Used(_))) {
            return Errno::EINVAL.raw();
        }
        let mut values = PVALUES.lock();
        if value.is_null() {
            values.remove(&(tid, key));
            return 0;
        }
        values.insert((tid, key), value as usize);
    }
    exit_key().set(tid + 1);
    0
}

// ---- clock_gettime, getrandom -------------------------------------------------------------------

/// `clock_gettime` with Linux clock numbers: `CLOCK_REALTIME` (0; also `_COARSE`),
/// `CLOCK_MONOTONIC` (1; also `_RAW`, `_COARSE`, `CLOCK_BOOTTIME`: there is no suspend) and
/// `CLOCK_THREAD_CPUTIME_ID` (3; advances when the thread is switched out). `EINVAL` for
/// `CLOCK_PROCESS_CPUTIME_ID` (libtheseus cannot sum a process's threads) and unknown clocks,
/// `EFAULT` for a null `tp`.
///
/// # Safety
/// A non-null `tp` must be writable.
pub(crate) unsafe extern "C" fn clock_gettime(clock: clockid_t, tp: *mut timespec) -> c_int {
    ret_int((|| {
        let t = match clock {
            CLOCK_REALTIME | CLOCK_REALTIME_COARSE => time::now(Clock::Realtime),
            CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
                time::now(Clock::Monotonic)
            }
            CLOCK_THREAD_CPUTIME_ID => time::Timespec::from_ns(thread::cpu_time_ns()),
            _ => return Err(Errno::EINVAL),
        };
        let ts = timespec {
            tv_sec: t.sec,
            tv_nsec: i64::from(t.nsec),
        };
        // SAFETY: the caller's contract.
        unsafe { edge::write_out(tp, ts) }
    })())
}

/// `getrandom`: fills `len` bytes at `buf` (never blocks, never short); returns `len`.
/// `EINVAL` for unknown flags or `GRND_RANDOM | GRND_INSECURE`, `EFAULT` for a null `buf`.
///
/// # Safety
/// A non-null `buf` must be valid for writes of `len` bytes.
pub(crate) unsafe extern "C" fn getrandom(buf: *mut c_void, len: usize, flags: c_uint) -> isize {
    let r = (|| {
        let known = GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE;
        if flags & !known != 0
            || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE
        {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller's contract.
        let out = unsafe { edge::bytes_mut(buf.cast(), len) }?;
        random::fill(out);
        Ok(len)
    })();
    match r {
        Ok(n) => isize::try_from(n).unwrap_or(isize::MAX),
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

libtheseus::export_symbol!(
    mmap,
    munmap,
    mprotect,
    sigaction,
    sigaltstack,
    pthread_key_create,
    pthread_key_delete,
    pthread_getspecific,
    pthread_setspecific,
    clock_gettime,
    getrandom,
);

#[cfg(target_os = "none")]
mod tests;
