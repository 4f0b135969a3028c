//! Per-thread CPU fault handlers (the basis of POSIX signals for synchronous faults and of
//! wasmtime's trap handling), and per-thread alternate stacks (`sigaltstack`).
//!
//! A thread installs a [`Handler`] with [`set_handler`]. When the thread faults (a page fault
//! the memory system does not resolve, a division by zero, an invalid opcode, ...), the
//! handler runs with a [`FaultInfo`] saying what happened and a [`Context`] over the
//! interrupted register state. It returns `true` to resume the thread with that (possibly
//! changed) state, `false` to decline: the fault then ends the thread as without a handler
//! (its joiner sees it killed, with the fault and a backtrace as the reason). Handlers are
//! not inherited by spawned threads.
//!
//! The handler runs in the fault's context: interrupts are disabled and, for page faults, it
//! runs on a small dedicated exception stack. It must be short and must not block, take locks
//! the interrupted code may hold, allocate (the fault may have hit inside the allocator) or
//! fault itself. To do real work, it redirects the thread: [`Context::redirect_to`] makes the
//! thread continue in a function, with up to three arguments, on another stack, typically the
//! thread's alternate stack ([`set_alt_stack`], [`alt_stack`]). That function runs as normal
//! thread code (interrupts on) and must not return; it may end the thread ([`crate::exit`]).
//!
//! Faults the kernel handles itself never reach a handler: demand paging of
//! [`crate::mmap::Commit::OnDemand`] pages and `int3` breakpoints. Double faults, NMIs and
//! machine checks are never offered.

use crate::mmap::{Commit, Protection, Region};
use crate::{Errno, Result};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use interrupts::{FaultKind as KernelFault, TrapFrame};
use spin::{Mutex, Once};

/// The POSIX signal a fault corresponds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `SIGSEGV`: a bad memory access (page fault, general protection, stack segment...).
    Segv,
    /// `SIGBUS`: a misaligned access with alignment checking on.
    Bus,
    /// `SIGILL`: an invalid instruction.
    Ill,
    /// `SIGFPE`: integer division error or an unmasked floating-point exception.
    Fpe,
    /// `SIGTRAP`: a debug exception.
    Trap,
}

impl FaultKind {
    /// The Linux signal number (`SIGSEGV` = 11, ...).
    pub const fn signal_number(self) -> i32 {
        match self {
            FaultKind::Segv => 11,
            FaultKind::Bus => 7,
            FaultKind::Ill => 4,
            FaultKind::Fpe => 8,
            FaultKind::Trap => 5,
        }
    }
}

/// The precise cause of a fault (what POSIX reports as `si_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A page fault. `present`: the page is mapped but the access broke its protection
    /// (`SEGV_ACCERR`); otherwise nothing is mapped there (`SEGV_MAPERR`).
    Page {
        write: bool,
        exec: bool,
        present: bool,
    },
    /// A general-protection fault (non-canonical address, privileged instruction...).
    GeneralProtection,
    /// A stack-segment or segment fault.
    Segment,
    /// Integer division by zero or overflow (`FPE_INTDIV`).
    DivideError,
    /// An x87 or SIMD floating-point exception.
    FloatingPoint,
    /// An undefined instruction (`ud2` included).
    InvalidOpcode,
    /// An alignment-check fault.
    Alignment,
    /// A debug exception (single step, hardware breakpoint).
    Debug,
    /// Another exception vector (bound range, overflow, control protection...).
    Other(u8),
}

/// What faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    pub kind: FaultKind,
    pub cause: Cause,
    /// For page faults the faulting data address; otherwise the faulting instruction's
    /// address (as POSIX `si_addr`).
    pub addr: usize,
    /// Address of the faulting instruction.
    pub ip: usize,
}

impl FaultInfo {
    fn from_kernel(frame: &TrapFrame, kind: KernelFault) -> Option<FaultInfo> {
        let ip = frame.rip as usize;
        let (kind, cause, addr) = match kind {
            KernelFault::PageFault {
                addr,
                write,
                exec,
                present,
            } => (
                FaultKind::Segv,
                Cause::Page {
                    write,
                    exec,
                    present,
                },
                addr as usize,
            ),
            KernelFault::GeneralProtection => (FaultKind::Segv, Cause::GeneralProtection, ip),
            KernelFault::StackSegment | KernelFault::SegmentNotPresent => {
                (FaultKind::Segv, Cause::Segment, ip)
            }
            KernelFault::DivideError => (FaultKind::Fpe, Cause::DivideError, ip),
            KernelFault::X87Floating | KernelFault::SimdFloating => {
                (FaultKind::Fpe, Cause::FloatingPoint, ip)
            }
            KernelFault::InvalidOpcode => (FaultKind::Ill, Cause::InvalidOpcode, ip),
            KernelFault::AlignmentCheck => (FaultKind::Bus, Cause::Alignment, ip),
            KernelFault::Debug | KernelFault::Breakpoint => (FaultKind::Trap, Cause::Debug, ip),
            KernelFault::Overflow
            | KernelFault::BoundRange
            | KernelFault::DeviceNotAvailable
            | KernelFault::InvalidTss
            | KernelFault::ControlProtection => {
                (FaultKind::Segv, Cause::Other(frame.vector as u8), ip)
            }
            KernelFault::DoubleFault
            | KernelFault::Nmi
            | KernelFault::MachineCheck
            | KernelFault::Virtualization
            | KernelFault::HypervisorInjection
            | KernelFault::VmmCommunication
            | KernelFault::Security
            | KernelFault::Unknown(_) => return None,
        };
        Some(FaultInfo {
            kind,
            cause,
            addr,
            ip,
        })
    }
}

/// A general-purpose register of the interrupted context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Register {
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
}

/// RFLAGS bits a handler may change: CF, PF, AF, ZF, SF, DF, OF.
const USER_FLAGS: u64 = 0x0cd5;
/// RFLAGS direction flag (the ABI wants it clear at function entry).
const FLAG_DF: u64 = 1 << 10;

/// The interrupted register state of a faulting thread, as a handler sees it. Reading is
/// safe; changing the instruction pointer, stack pointer or a register redirects the
/// interrupted code, so those setters are `unsafe`.
pub struct Context<'a> {
    frame: &'a mut TrapFrame,
}

impl Context<'_> {
    /// The instruction pointer (for a fault: the faulting instruction).
    pub fn ip(&self) -> usize {
        self.frame.rip as usize
    }

    /// The stack pointer.
    pub fn sp(&self) -> usize {
        self.frame.rsp as usize
    }

    /// The frame pointer (`rbp`).
    pub fn fp(&self) -> usize {
        self.frame.rbp as usize
    }

    /// RFLAGS.
    pub fn rflags(&self) -> u64 {
        self.frame.rflags
    }

    /// A general-purpose register.
    pub fn get(&self, reg: Register) -> u64 {
        let f = &*self.frame;
        match reg {
            Register::Rax => f.rax,
            Register::Rbx => f.rbx,
            Register::Rcx => f.rcx,
            Register::Rdx => f.rdx,
            Register::Rsi => f.rsi,
            Register::Rdi => f.rdi,
            Register::Rbp => f.rbp,
            Register::Rsp => f.rsp,
            Register::R8 => f.r8,
            Register::R9 => f.r9,
            Register::R10 => f.r10,
            Register::R11 => f.r11,
            Register::R12 => f.r12,
            Register::R13 => f.r13,
            Register::R14 => f.r14,
            Register::R15 => f.r15,
        }
    }

    /// Sets the status flags (CF, PF, AF, ZF, SF, DF, OF) from `rflags`; the other bits
    /// (interrupt flag, ...) are kept.
    pub fn set_rflags(&mut self, rflags: u64) {
        self.frame.rflags = (self.frame.rflags & !USER_FLAGS) | (rflags & USER_FLAGS);
    }

    /// Sets the instruction pointer the thread resumes at.
    ///
    /// # Safety
    /// `ip` must be the start of an instruction whose code expects the resulting register
    /// and stack state (e.g. the instruction after the faulting one, when the handler knows
    /// its length and that skipping it is sound).
    pub unsafe fn set_ip(&mut self, ip: usize) {
        self.frame.rip = ip as u64;
    }

    /// Sets the stack pointer the thread resumes with.
    ///
    /// # Safety
    /// As for [`Context::set_ip`]: the code resumed must expect this stack.
    pub unsafe fn set_sp(&mut self, sp: usize) {
        self.frame.rsp = sp as u64;
    }

    /// Sets a general-purpose register.
    ///
    /// # Safety
    /// As for [`Context::set_ip`]: the code resumed must expect this value.
    pub unsafe fn set(&mut self, reg: Register, value: u64) {
        let f = &mut *self.frame;
        *match reg {
            Register::Rax => &mut f.rax,
            Register::Rbx => &mut f.rbx,
            Register::Rcx => &mut f.rcx,
            Register::Rdx => &mut f.rdx,
            Register::Rsi => &mut f.rsi,
            Register::Rdi => &mut f.rdi,
            Register::Rbp => &mut f.rbp,
            Register::Rsp => &mut f.rsp,
            Register::R8 => &mut f.r8,
            Register::R9 => &mut f.r9,
            Register::R10 => &mut f.r10,
            Register::R11 => &mut f.r11,
            Register::R12 => &mut f.r12,
            Register::R13 => &mut f.r13,
            Register::R14 => &mut f.r14,
            Register::R15 => &mut f.r15,
        } = value;
    }

    /// Makes the thread resume by entering the function at `target` with the System V
    /// arguments `args` (in rdi, rsi, rdx), on the stack ending at `stack_top`, as if it had
    /// been called there: the stack pointer is `stack_top` rounded down to 16 bytes minus 8,
    /// where a zero return address is written; rbp is zeroed (ending backtraces there) and the
    /// direction flag cleared. The interrupted frames are abandoned (nothing on them is
    /// dropped). Typically `stack_top` is [`alt_stack`]'s top.
    ///
    /// # Safety
    /// `target` must be an `extern "C"` function taking up to three integer or pointer
    /// arguments that never returns; the 16 bytes below `stack_top` must be mapped writable
    /// and already backed (the handler must not fault), and the stack must be large enough
    /// for `target` and unused by anything else. Abandoning the interrupted frames must be
    /// sound (no borrowed stack data another thread still uses).
    pub unsafe fn redirect_to(&mut self, target: usize, stack_top: usize, args: [usize; 3]) {
        let sp = (stack_top & !15) - 8;
        // SAFETY: the caller guarantees this slot is mapped, writable and backed.
        unsafe { (sp as *mut u64).write(0) };
        let f = &mut *self.frame;
        f.rip = target as u64;
        f.rsp = sp as u64;
        f.rbp = 0;
        f.rdi = args[0] as u64;
        f.rsi = args[1] as u64;
        f.rdx = args[2] as u64;
        f.rflags &= !FLAG_DF;
    }
}

/// A fault handler: see the module documentation. Returns `true` to resume the thread with
/// the (possibly changed) context, `false` to let the fault end it.
pub type Handler = Arc<dyn Fn(&FaultInfo, &mut Context<'_>) -> bool + Send + Sync>;

/// Sets (or with `None` removes) the running thread's fault handler.
pub fn set_handler(handler: Option<Handler>) {
    task::set_fault_handler(handler.map(|h| -> task::FaultHandler {
        Arc::new(move |frame: &mut TrapFrame, kind: KernelFault| {
            match FaultInfo::from_kernel(frame, kind) {
                Some(info) => h(&info, &mut Context { frame }),
                None => false,
            }
        })
    }));
}

/// Whether the running thread has a fault handler.
pub fn has_handler() -> bool {
    task::fault_handler().is_some()
}

// ---- alternate stacks ------------------------------------------------------------------------

/// Bounds of an alternate stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackBounds {
    /// Lowest address.
    pub base: usize,
    /// One past the highest address: the initial stack pointer.
    pub top: usize,
}

/// Keys of the running thread's alternate stack: its top (whose destructor releases the
/// stack when the thread ends) and its base.
struct AltKeys {
    top: task::TlsKey,
    base: task::TlsKey,
}

static ALT_KEYS: Once<AltKeys> = Once::new();
/// Installed alternate stacks by top address.
static ALT_STACKS: Mutex<BTreeMap<u64, Region>> = Mutex::new(BTreeMap::new());
/// Alternate stacks of threads that ended while running on them: freed once the thread has
/// switched away for good.
static RETIRED: Mutex<Vec<(Arc<task::Task>, Region)>> = Mutex::new(Vec::new());

fn alt_keys() -> &'static AltKeys {
    ALT_KEYS.call_once(|| AltKeys {
        top: task::TlsKey::new(Some(release_alt_stack)),
        base: task::TlsKey::new(None),
    })
}

/// TLS destructor of an ending thread's alternate stack.
fn release_alt_stack(top: u64) {
    let Some(region) = ALT_STACKS.lock().remove(&top) else {
        return;
    };
    let marker = 0u8;
    if region.contains(&marker as *const u8 as usize) {
        // Still running on it (it ends from a redirected handler): free it later.
        RETIRED.lock().push((task::current(), region));
    }
}

/// Frees retired alternate stacks whose threads have ended.
fn reap_retired() {
    let done: Vec<Region> = {
        let mut retired = RETIRED.lock();
        let (done, keep): (Vec<_>, Vec<_>) = core::mem::take(&mut *retired)
            .into_iter()
            .partition(|(t, _)| t.state() == task::State::Exited);
        *retired = keep;
        done.into_iter().map(|(_, r)| r).collect()
    };
    drop(done);
}

/// A new alternate stack of `size` bytes (rounded up to pages): read-write, backed now (so a
/// handler can write to it), above a reserved guard page. Install it with [`set_alt_stack`].
pub fn new_alt_stack(size: usize) -> Result<Region> {
    let page = crate::mmap::page_size();
    let size = size.checked_next_multiple_of(page).ok_or(Errno::EINVAL)?;
    let total = size.checked_add(page).ok_or(Errno::EINVAL)?;
    let region = Region::new(total, Protection::NONE, Commit::Now)?;
    region.protect(page, size, Protection::RW)?;
    region.commit(page, size)?;
    Ok(region)
}

/// Installs `stack` (or with `None` removes) as the running thread's alternate stack and
/// returns the previous one. The stack is committed now so a handler may write to it; its
/// usable part is the region minus leading `NONE` pages (a guard). The thread's stack is
/// freed when it ends (even if it ends while running on it). `EINVAL` if the region's top
/// page is not writable.
pub fn set_alt_stack(stack: Option<Region>) -> Result<Option<Region>> {
    reap_retired();
    let keys = alt_keys();
    let base = match &stack {
        Some(region) => {
            let page = crate::mmap::page_size();
            let mut base = region.start();
            while region.protection(base - region.start()) == Some(Protection::NONE) {
                base += page;
            }
            let top_page = region.len() - page;
            if base >= region.end() || !region.protection(top_page).is_some_and(|p| p.write) {
                return Err(Errno::EINVAL);
            }
            region.commit(base - region.start(), region.end() - base)?;
            base
        }
        None => 0,
    };
    let old_top = keys.top.get();
    let old = (old_top != 0)
        .then(|| ALT_STACKS.lock().remove(&old_top))
        .flatten();
    match stack {
        Some(region) => {
            let top = region.end() as u64;
            ALT_STACKS.lock().insert(top, region);
            keys.base.set(base as u64);
            keys.top.set(top);
        }
        None => {
            keys.top.set(0);
            keys.base.set(0);
        }
    }
    Ok(old)
}

/// The running thread's alternate stack, if it installed one. Callable from a handler.
pub fn alt_stack() -> Option<StackBounds> {
    let keys = ALT_KEYS.get()?;
    let top = keys.top.get();
    (top != 0).then(|| StackBounds {
        base: keys.base.get() as usize,
        top: top as usize,
    })
}
