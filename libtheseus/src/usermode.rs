//! Programs in user mode (ring 3): their system calls, their saved registers, their memory.
//!
//! A Linux-ABI program runs in user mode in the one address space; its `syscall` instructions
//! reach the handler installed with [`set_syscall_handler`] with the program's [`Registers`]
//! (number in `rax`, arguments in `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`, result back in
//! `rax`). A new thread of such a program starts with [`enter`]. Memory a program names by
//! address is checked before use ([`check`], [`read`], [`write`], [`read_c_string`], and
//! [`with_bytes`]/[`with_bytes_mut`], which lend it to a call without a copy): only
//! the program's own user-region pages with the right protection are accepted, anything else
//! is `EFAULT`.

use crate::{Errno, Result};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use interrupts::TrapFrame;

/// The saved register state of a thread in user mode.
#[repr(transparent)]
#[derive(Clone, Debug, Default)]
pub struct Registers(TrapFrame);

/// A general-purpose register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    Rax,
    Rbx,
    Rcx,
    Rdx,
    Rsi,
    Rdi,
    Rbp,
    Rsp,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    Rip,
    Rflags,
}

impl Registers {
    /// The state a new thread starts with: only `ip` and `sp` set.
    pub fn new(ip: u64, sp: u64) -> Registers {
        Registers(TrapFrame {
            rip: ip,
            rsp: sp,
            ..TrapFrame::default()
        })
    }

    fn slot(&mut self, r: Reg) -> &mut u64 {
        let f = &mut self.0;
        match r {
            Reg::Rax => &mut f.rax,
            Reg::Rbx => &mut f.rbx,
            Reg::Rcx => &mut f.rcx,
            Reg::Rdx => &mut f.rdx,
            Reg::Rsi => &mut f.rsi,
            Reg::Rdi => &mut f.rdi,
            Reg::Rbp => &mut f.rbp,
            Reg::Rsp => &mut f.rsp,
            Reg::R8 => &mut f.r8,
            Reg::R9 => &mut f.r9,
            Reg::R10 => &mut f.r10,
            Reg::R11 => &mut f.r11,
            Reg::R12 => &mut f.r12,
            Reg::R13 => &mut f.r13,
            Reg::R14 => &mut f.r14,
            Reg::R15 => &mut f.r15,
            Reg::Rip => &mut f.rip,
            Reg::Rflags => &mut f.rflags,
        }
    }

    pub fn get(&self, r: Reg) -> u64 {
        *self.clone().slot(r)
    }

    pub fn set(&mut self, r: Reg, value: u64) {
        *self.slot(r) = value;
    }

    pub(crate) fn from_frame(frame: TrapFrame) -> Registers {
        Registers(frame)
    }

    /// The system-call number (`rax` at entry).
    pub fn syscall_number(&self) -> u64 {
        self.0.rax
    }

    /// The six system-call arguments.
    pub fn syscall_args(&self) -> [u64; 6] {
        let f = &self.0;
        [f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9]
    }

    /// Sets the system call's result (`rax`).
    pub fn set_return(&mut self, value: i64) {
        self.0.rax = value as u64;
    }

    /// The thread pointer (FS base).
    pub fn thread_pointer(&self) -> u64 {
        self.0.fs_base
    }

    pub fn set_thread_pointer(&mut self, value: u64) {
        self.0.fs_base = value;
    }

    /// The FP/SIMD registers in `fxsave` format (512 bytes). Only for the calling thread's
    /// own state (see `interrupts::TrapFrame::fp_image`).
    pub fn fp_state(&self) -> [u8; 512] {
        self.0.fp_image().0
    }

    /// Sets the FP/SIMD registers from `fxsave`-format bytes. MXCSR bits the CPU does not
    /// define are cleared (restoring them would fault).
    pub fn set_fp_state(&mut self, state: &[u8; 512]) {
        let mut image = interrupts::FxArea(*state);
        let mxcsr = u32::from_le_bytes(state[24..28].try_into().unwrap()) & 0xffff;
        image.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        self.0.set_fp_image(image);
    }

    /// The exception vector and error code of a fault's state (0 for system calls' states).
    pub fn trap(&self) -> (u64, u64) {
        (self.0.vector, self.0.error_code)
    }
}

/// A CPU fault in user mode, as a POSIX signal: number, `si_code` and `si_addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub signal: i32,
    pub code: i32,
    pub addr: u64,
}

impl Fault {
    fn from_kernel(kind: interrupts::FaultKind, frame: &TrapFrame) -> Fault {
        use interrupts::FaultKind as K;
        const SIGILL: i32 = 4;
        const SIGTRAP: i32 = 5;
        const SIGBUS: i32 = 7;
        const SIGFPE: i32 = 8;
        const SIGSEGV: i32 = 11;
        const SI_KERNEL: i32 = 0x80;
        let (signal, code, addr) = match kind {
            // SEGV_MAPERR / SEGV_ACCERR
            K::PageFault { addr, present, .. } => (SIGSEGV, if present { 2 } else { 1 }, addr),
            K::DivideError => (SIGFPE, 1, frame.rip), // FPE_INTDIV
            K::X87Floating | K::SimdFloating => (SIGFPE, 7, frame.rip), // FPE_FLTINV
            K::InvalidOpcode => (SIGILL, 2, frame.rip), // ILL_ILLOPN
            K::Breakpoint => (SIGTRAP, SI_KERNEL, 0),
            K::Debug => (SIGTRAP, 2, frame.rip), // TRAP_TRACE
            K::AlignmentCheck => (SIGBUS, 1, 0), // BUS_ADRALN
            K::StackSegment => (SIGBUS, SI_KERNEL, 0),
            _ => (SIGSEGV, SI_KERNEL, 0),
        };
        Fault { signal, code, addr }
    }
}

static FAULT_HANDLER: AtomicUsize = AtomicUsize::new(0);

fn on_fault(frame: &mut TrapFrame, kind: interrupts::FaultKind) -> bool {
    let handler = FAULT_HANDLER.load(Ordering::SeqCst);
    if handler == 0 {
        return false;
    }
    // SAFETY: only `set_fault_handler` stores here, always a valid fn of this type.
    let handler: fn(&mut Registers, Fault) -> bool = unsafe { core::mem::transmute(handler) };
    let fault = Fault::from_kernel(kind, frame);
    // SAFETY: `Registers` is a `repr(transparent)` wrapper of `TrapFrame`.
    handler(
        unsafe { &mut *(frame as *mut TrapFrame as *mut Registers) },
        fault,
    )
}

/// Installs the handler of CPU faults in user mode: it runs in the faulting thread (kernel
/// mode, its own stack, interrupts enabled) with the faulting state, and returns true if it
/// changed the state to resume (a signal handler's run), false to let the fault end the
/// program with the kernel's report.
pub fn set_fault_handler(handler: fn(&mut Registers, Fault) -> bool) {
    FAULT_HANDLER.store(handler as usize, Ordering::SeqCst);
    usermode::set_fault_handler(on_fault);
}

/// `handler` as a function of the kernel's frame type.
fn on_frames(handler: fn(&mut Registers)) -> fn(&mut TrapFrame) {
    // SAFETY: `Registers` is a `repr(transparent)` wrapper of `TrapFrame`, so `&mut Registers`
    // and `&mut TrapFrame` are the same pointer with the same ABI, and so are functions taking
    // either. Installed directly, the kernel calls the handler without a wrapper in between
    // (one indirect call less on every system call and every return to user mode).
    unsafe { core::mem::transmute::<fn(&mut Registers), fn(&mut TrapFrame)>(handler) }
}

/// Installs the function that runs right before a thread returns to user mode after a system
/// call or an interrupt, with interrupts disabled, and may change its state (pending signals
/// are delivered there). It must be quick: it runs on every such return.
pub fn set_return_hook(hook: fn(&mut Registers)) {
    usermode::set_return_hook(on_frames(hook));
}

/// Installs the handler of every system call from user mode.
pub fn set_syscall_handler(handler: fn(&mut Registers)) {
    usermode::set_syscall_handler(on_frames(handler));
}

/// Continues the calling thread in user mode with `regs`. Never returns: the thread ends with
/// a system call or a kill.
pub fn enter(regs: &Registers) -> ! {
    usermode::enter_user(&regs.0)
}

/// `EFAULT` unless `addr..addr + len` is user memory of the caller's program that allows the
/// access.
pub fn check(addr: u64, len: usize, write: bool) -> Result<()> {
    if memory::user_range_accessible(addr, len as u64, write) {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// Copies `buf.len()` bytes of user memory at `addr` into `buf`.
pub fn read(addr: u64, buf: &mut [u8]) -> Result<()> {
    if buf.is_empty() {
        // Nothing to copy (and `addr` may be NULL, which `copy_nonoverlapping` must not get).
        return Ok(());
    }
    check(addr, buf.len(), false)?;
    // SAFETY: checked above: the range is mapped, readable user memory.
    unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), buf.len()) };
    Ok(())
}

/// Copies `data` to user memory at `addr`.
pub fn write(addr: u64, data: &[u8]) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    check(addr, data.len(), true)?;
    // SAFETY: checked above: the range is mapped, writable user memory.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) };
    Ok(())
}

/// Runs `f` on the program's memory at `addr..addr + len` as a slice of bytes, checked as
/// [`check`] does (readable), without copying it: a `write` hands the program's own buffer to
/// the file. What the program's other threads do to those bytes meanwhile shows in what `f`
/// sees, as on Linux; a thread that unmaps them meanwhile makes the access fault, which ends
/// the calling thread (unwinding: the locks `f` took are let go).
pub fn with_bytes<R>(addr: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    if len == 0 {
        return Ok(f(&[]));
    }
    check(addr, len, false)?;
    // SAFETY: checked above: the range is mapped user memory that may be read (pages not yet
    // present are committed by the page-fault handler on first touch). Bytes have no invalid
    // values, so concurrent changes by the program cannot break `f`; the slice does not
    // outlive `f`.
    Ok(f(unsafe {
        core::slice::from_raw_parts(addr as *const u8, len)
    }))
}

/// Runs `f` on the program's memory at `addr..addr + len` as a slice of bytes it may fill,
/// checked as [`check`] does (writable), without a kernel-side buffer: a `read` copies from
/// the file straight into the program's buffer. As in [`with_bytes`], the program's other
/// threads may see or change the bytes meanwhile, and unmapping them ends the calling thread.
pub fn with_bytes_mut<R>(addr: u64, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> Result<R> {
    if len == 0 {
        return Ok(f(&mut []));
    }
    check(addr, len, true)?;
    // SAFETY: checked above: the range is mapped user memory that may be written (pages not
    // yet present are committed on first touch). The kernel holds no other reference to
    // user memory, bytes have no invalid values, and the slice does not outlive `f`.
    Ok(f(unsafe {
        core::slice::from_raw_parts_mut(addr as *mut u8, len)
    }))
}

/// Reads a plain-data value (a C struct of integers) from user memory.
pub fn read_value<T: Copy + Default>(addr: u64) -> Result<T> {
    check(addr, core::mem::size_of::<T>(), false)?;
    // SAFETY: checked above; `T` is plain data (any bit pattern valid, as for the C structs
    // this is used with), read unaligned.
    Ok(unsafe { core::ptr::read_unaligned(addr as *const T) })
}

/// Writes a plain-data value to user memory.
pub fn write_value<T: Copy>(addr: u64, value: &T) -> Result<()> {
    check(addr, core::mem::size_of::<T>(), true)?;
    // SAFETY: checked above: writable user memory of the value's size.
    unsafe { core::ptr::write_unaligned(addr as *mut T, *value) };
    Ok(())
}

/// The 32-bit word at `addr` of the program's memory as an atomic (a futex word): `EINVAL` if
/// unaligned, `EFAULT` unless it is the program's writable memory.
pub fn atomic_u32(addr: u64) -> Result<&'static AtomicU32> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    check(addr, 4, true)?;
    // SAFETY: checked above: an aligned, writable 4-byte word of the program's memory, which
    // stays mapped while the program runs (a program unmapping its own futex word meanwhile
    // would fault at worst in its own thread); atomics have no invalid bit patterns.
    Ok(unsafe { &*(addr as *const AtomicU32) })
}

/// A NUL-terminated string of at most `max` bytes (without the NUL) at `addr`; `ENAMETOOLONG`
/// if none ends in time.
pub fn read_c_string(addr: u64, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        // Check page by page: the string may end before an inaccessible page.
        let page_end = (at | 4095) + 1;
        let chunk = (page_end - at) as usize;
        check(at, chunk, false)?;
        // SAFETY: checked above: `at..page_end` is readable user memory.
        let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, chunk) };
        if let Some(n) = bytes.iter().position(|&b| b == 0) {
            out.extend_from_slice(&bytes[..n]);
            return if out.len() > max {
                Err(Errno::ENAMETOOLONG)
            } else {
                Ok(out)
            };
        }
        out.extend_from_slice(bytes);
        if out.len() > max {
            return Err(Errno::ENAMETOOLONG);
        }
        at = page_end;
    }
}
