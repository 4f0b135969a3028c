//! CPU exceptions: the IDT, one assembly entry stub per exception vector, and the dispatcher.
//!
//! Every stub saves the complete register state as a [`TrapFrame`] (general registers, vector,
//! error code, and what the CPU pushed), saves MXCSR and XMM0-15 (see `simd_asm`), aligns the
//! stack to 16 bytes (so the Rust code may use SSE), and links a frame record
//! `[interrupted rbp, faulting rip]` so that frame-pointer backtraces run from the handler
//! through the faulting function into its callers. The dispatcher handles breakpoints and
//! demand paging itself; every other fault goes to the hook the kernel installed (which ends
//! the faulting task, or, later, runs the task's own fault handler — the hook may change the
//! frame to resume elsewhere); what nobody handles is a kernel panic naming the exception,
//! error code, RIP and, for page faults, the address and what it belongs to.
//!
//! The stubs are hand-written assembly: the `x86-interrupt` ABI neither exposes the full
//! register state nor (on this LLVM) keeps the stack aligned in handlers with an error code.

use crate::gdt::{DOUBLE_FAULT_IST, NMI_IST, PAGE_FAULT_IST};
use crate::irq::{IRQ_BASE, LOCAL_TIMER_IRQ, LOCAL_TIMER_VECTOR, SPURIOUS_VECTOR, STUBS};
use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::InterruptDescriptorTable;

/// The FP/SIMD state as `fxsave64` stores it (x87, MXCSR, XMM0-15).
#[repr(C, align(16))]
#[derive(Clone)]
pub struct FxArea(pub [u8; 512]);

impl FxArea {
    /// The state of a fresh thread: every register zero, x87 control word 0x37f, MXCSR 0x1f80
    /// (all exceptions masked, round to nearest).
    pub fn initial() -> FxArea {
        let mut a = [0u8; 512];
        a[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        a[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        a[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
        FxArea(a)
    }
}

impl Default for FxArea {
    fn default() -> FxArea {
        FxArea::initial()
    }
}

impl fmt::Debug for FxArea {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("FxArea")
    }
}

/// The interrupted context, as the entry stubs save it (lowest address first): the FP/SIMD
/// state, the general registers, then what the CPU pushed. Entry stubs, the system-call entry
/// and the return to user mode all use this one layout; restoring a frame restores everything
/// in it, FP/SIMD state included.
///
/// `fs_base` is the user FS base when the context is in user mode (`cs & 3 == 3`): entries
/// from user mode save it there and load the task's kernel FS base; the return to user mode
/// loads it back (so changing it changes the program's thread pointer). For kernel contexts
/// it is 0 and unused.
///
/// Every entry (system call, exception, interrupt) saves only MXCSR and XMM0-15 into `fx`
/// (see `simd_asm`: under TCG, `fxsave64`/`fxrstor64` cost more than the rest of a null call)
/// and sets `fx_xmm_only`: the kernel never executes x87 instructions, so the interrupted x87
/// state stays in the CPU, and the context switch (`task`'s `switch`) carries it when the task
/// blocks or is preempted. Read the state with [`TrapFrame::fp_image`] (or `clone`, which
/// completes the copy), and replace it with [`TrapFrame::set_fp_image`]; the return to user
/// mode restores what the flag says is there (only MXCSR and XMM, or the complete image).
#[repr(C)]
#[derive(Debug, Default)]
pub struct TrapFrame {
    pub fx: FxArea,
    /// Nonzero: `fx` holds only MXCSR and XMM0-15, the x87 part is live in the CPU (an entry
    /// of the running task). Also keeps `fx` 16-byte aligned below the CPU's frame.
    pub fx_xmm_only: u64,
    pub fs_base: u64,
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// What went wrong, decoded from a trap frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    DivideError,
    Debug,
    Nmi,
    Breakpoint,
    Overflow,
    BoundRange,
    InvalidOpcode,
    DeviceNotAvailable,
    DoubleFault,
    InvalidTss,
    SegmentNotPresent,
    StackSegment,
    GeneralProtection,
    /// `addr` is CR2; `write`/`exec` say what access faulted; `present` whether the page was
    /// mapped (a protection violation) or not.
    PageFault {
        addr: u64,
        write: bool,
        exec: bool,
        present: bool,
    },
    X87Floating,
    AlignmentCheck,
    MachineCheck,
    SimdFloating,
    Virtualization,
    ControlProtection,
    HypervisorInjection,
    VmmCommunication,
    Security,
    Unknown(u64),
}

impl TrapFrame {
    /// Whether the interrupted context runs in user mode (ring 3).
    pub fn is_user(&self) -> bool {
        self.cs & 3 == 3
    }

    /// The complete FP/SIMD state of this context in `fxsave` format. For a frame of an
    /// entry of the running task (`fx_xmm_only`), the x87 part comes from the CPU, where it
    /// still is; call it only from that task (every frame a system call's or a fault's
    /// handler sees is its own).
    pub fn fp_image(&self) -> FxArea {
        let mut image = self.fx.clone();
        if self.fx_xmm_only != 0 {
            let mut live = FxArea([0; 512]);
            // SAFETY: stores 512 bytes into a local, 16-byte aligned area; changes no state.
            unsafe {
                core::arch::asm!("fxsave64 [{}]", in(reg) live.0.as_mut_ptr(), options(nostack))
            };
            // x87 control, status, tag, opcode and pointers (0..24), MXCSR_MASK (28..32) and
            // ST0-7 (32..160); MXCSR and the XMM registers are the frame's.
            image.0[..24].copy_from_slice(&live.0[..24]);
            image.0[28..160].copy_from_slice(&live.0[28..160]);
        }
        image
    }

    /// Replaces the FP/SIMD state the context resumes with (`fxsave` format, complete).
    pub fn set_fp_image(&mut self, image: FxArea) {
        self.fx = image;
        self.fx_xmm_only = 0;
    }
}

/// A copy holds the complete FP/SIMD state (see [`TrapFrame::fp_image`]), so it can resume
/// on any task.
impl Clone for TrapFrame {
    fn clone(&self) -> TrapFrame {
        TrapFrame {
            fx: self.fp_image(),
            fx_xmm_only: 0,
            fs_base: self.fs_base,
            r15: self.r15,
            r14: self.r14,
            r13: self.r13,
            r12: self.r12,
            r11: self.r11,
            r10: self.r10,
            r9: self.r9,
            r8: self.r8,
            rbp: self.rbp,
            rdi: self.rdi,
            rsi: self.rsi,
            rdx: self.rdx,
            rcx: self.rcx,
            rbx: self.rbx,
            rax: self.rax,
            vector: self.vector,
            error_code: self.error_code,
            rip: self.rip,
            cs: self.cs,
            rflags: self.rflags,
            rsp: self.rsp,
            ss: self.ss,
        }
    }
}

impl FaultKind {
    pub fn from_frame(frame: &TrapFrame) -> FaultKind {
        match frame.vector {
            0 => FaultKind::DivideError,
            1 => FaultKind::Debug,
            2 => FaultKind::Nmi,
            3 => FaultKind::Breakpoint,
            4 => FaultKind::Overflow,
            5 => FaultKind::BoundRange,
            6 => FaultKind::InvalidOpcode,
            7 => FaultKind::DeviceNotAvailable,
            8 => FaultKind::DoubleFault,
            10 => FaultKind::InvalidTss,
            11 => FaultKind::SegmentNotPresent,
            12 => FaultKind::StackSegment,
            13 => FaultKind::GeneralProtection,
            14 => FaultKind::PageFault {
                addr: Cr2::read_raw(),
                write: frame.error_code & 2 != 0,
                exec: frame.error_code & 16 != 0,
                present: frame.error_code & 1 != 0,
            },
            16 => FaultKind::X87Floating,
            17 => FaultKind::AlignmentCheck,
            18 => FaultKind::MachineCheck,
            19 => FaultKind::SimdFloating,
            20 => FaultKind::Virtualization,
            21 => FaultKind::ControlProtection,
            28 => FaultKind::HypervisorInjection,
            29 => FaultKind::VmmCommunication,
            30 => FaultKind::Security,
            v => FaultKind::Unknown(v),
        }
    }

    /// The POSIX signal this fault would raise (SIGSEGV, SIGFPE, SIGILL, SIGBUS, SIGTRAP).
    pub fn signal_name(&self) -> &'static str {
        match self {
            FaultKind::DivideError | FaultKind::X87Floating | FaultKind::SimdFloating => "SIGFPE",
            FaultKind::InvalidOpcode => "SIGILL",
            FaultKind::Debug | FaultKind::Breakpoint => "SIGTRAP",
            FaultKind::AlignmentCheck => "SIGBUS",
            _ => "SIGSEGV",
        }
    }
}

/// A fault with its context, for messages.
pub struct Fault<'a> {
    pub kind: FaultKind,
    pub frame: &'a TrapFrame,
}

impl fmt::Display for Fault<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let name = match self.kind {
            FaultKind::DivideError => "divide error (#DE)",
            FaultKind::Debug => "debug exception (#DB)",
            FaultKind::Nmi => "non-maskable interrupt",
            FaultKind::Breakpoint => "breakpoint (#BP)",
            FaultKind::Overflow => "overflow (#OF)",
            FaultKind::BoundRange => "bound range exceeded (#BR)",
            FaultKind::InvalidOpcode => "invalid opcode (#UD)",
            FaultKind::DeviceNotAvailable => "device not available (#NM)",
            FaultKind::DoubleFault => "double fault (#DF)",
            FaultKind::InvalidTss => "invalid TSS (#TS)",
            FaultKind::SegmentNotPresent => "segment not present (#NP)",
            FaultKind::StackSegment => "stack-segment fault (#SS)",
            FaultKind::GeneralProtection => "general protection fault (#GP)",
            FaultKind::PageFault { .. } => "page fault (#PF)",
            FaultKind::X87Floating => "x87 floating-point error (#MF)",
            FaultKind::AlignmentCheck => "alignment check (#AC)",
            FaultKind::MachineCheck => "machine check (#MC)",
            FaultKind::SimdFloating => "SIMD floating-point error (#XM)",
            FaultKind::Virtualization => "virtualization exception (#VE)",
            FaultKind::ControlProtection => "control protection (#CP)",
            FaultKind::HypervisorInjection => "hypervisor injection",
            FaultKind::VmmCommunication => "VMM communication (#VC)",
            FaultKind::Security => "security exception (#SX)",
            FaultKind::Unknown(_) => "unknown exception",
        };
        write!(f, "CPU exception {name} (vector {}", self.frame.vector)?;
        if has_error_code(self.frame.vector) {
            write!(f, ", error code {:#x}", self.frame.error_code)?;
        }
        write!(f, ") at rip {:#x}", self.frame.rip)?;
        if let FaultKind::PageFault {
            addr,
            write,
            exec,
            present,
        } = self.kind
        {
            write!(
                f,
                " accessing {addr:#x} ({}{}, {})",
                if write { "write" } else { "read" },
                if exec { ", instruction fetch" } else { "" },
                if present {
                    "protection violation"
                } else {
                    "page not present"
                }
            )?;
            f.write_str(match memory::page_fault_kind(addr) {
                memory::FaultKind::Other => "",
                memory::FaultKind::MappingGuard => " (guard page of a mapping)",
                memory::FaultKind::MappingUnmapped => " (unmapped part of a mapping)",
                memory::FaultKind::MappingPage(_) => " (access not allowed by the mapping)",
                memory::FaultKind::StackGuard => " (stack overflow: kernel stack guard page)",
            })?;
            if addr < 4096 {
                f.write_str(" (null pointer)")?;
            }
        }
        Ok(())
    }
}

fn has_error_code(vector: u64) -> bool {
    matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30)
}

/// What the kernel's fault hook decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// The frame was repaired or redirected: resume it.
    Resume,
    /// Nobody handles it: kernel panic.
    Panic,
}

static IDT: Once<InterruptDescriptorTable> = Once::new();
static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);
static FAULT_HOOK: AtomicUsize = AtomicUsize::new(0);

/// How many breakpoint exceptions (`int3`) have been handled.
pub fn breakpoint_count() -> u64 {
    BREAKPOINTS.load(Ordering::SeqCst)
}

/// Installs the function that decides about faults the kernel does not resolve itself. It
/// runs with interrupts disabled, on the faulting stack or (page faults, double faults, NMIs)
/// on an IST stack, and may modify the frame.
pub fn set_fault_hook(hook: fn(&mut TrapFrame, FaultKind) -> FaultAction) {
    FAULT_HOOK.store(hook as usize, Ordering::SeqCst);
}

/// Runs before every return to user mode through a `TrapFrame` (see [`set_user_return_hook`]).
static USER_RETURN_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Installs the function that runs, with interrupts disabled, on the task's kernel stack,
/// right before a `TrapFrame` returns to user mode after an interrupt, an exception or a
/// system call (not after a demand-paging fault, which runs on an IST stack). It may change
/// the frame: the system-call layer delivers pending signals there.
pub fn set_user_return_hook(hook: fn(&mut TrapFrame)) {
    USER_RETURN_HOOK.store(hook as usize, Ordering::SeqCst);
}

/// Runs the user-return hook on `frame`, if it returns to user mode.
#[inline]
pub fn before_user_return(frame: &mut TrapFrame) {
    let hook = USER_RETURN_HOOK.load(Ordering::SeqCst);
    if hook != 0 && frame.is_user() {
        // SAFETY: only `set_user_return_hook` stores here, always a valid fn of this type.
        let hook: fn(&mut TrapFrame) = unsafe { core::mem::transmute(hook) };
        hook(frame);
    }
}

/// The NMI handler installed with [`set_nmi_handler`] (0: none).
static NMI_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Installs the function every non-maskable interrupt goes to first (the `smp` crate's TLB
/// shootdown answers there). It returns true if the NMI was its own; any other NMI stays a
/// fault (the fault hook, then a panic). It runs on the NMI's IST stack, and an NMI may arrive
/// anywhere, even between an entry from user mode and its `swapgs` or FS base switch: it must
/// not use the GS or FS base (so neither `cpu_index` nor `#[thread_local]`s), take a lock,
/// allocate or fault.
pub fn set_nmi_handler(handler: fn() -> bool) {
    NMI_HANDLER.store(handler as usize, Ordering::SeqCst);
}

fn nmi_claimed() -> bool {
    let handler = NMI_HANDLER.load(Ordering::SeqCst);
    if handler == 0 {
        return false;
    }
    // SAFETY: only `set_nmi_handler` stores here, always a valid fn of this type.
    let handler: fn() -> bool = unsafe { core::mem::transmute(handler) };
    handler()
}

extern "C" fn exception_dispatch(frame: &mut TrapFrame) {
    // Hardware interrupts that arrived in user mode come here too (with the full frame, so
    // the return to user mode can deliver signals).
    if frame.vector == 2 && nmi_claimed() {
        return;
    }
    let irq = if frame.vector == u64::from(LOCAL_TIMER_VECTOR) {
        Some(LOCAL_TIMER_IRQ)
    } else if frame.vector == u64::from(crate::irq::CALL_VECTOR) {
        Some(crate::irq::CALL_IRQ)
    } else if frame.vector == u64::from(crate::irq::RESCHEDULE_VECTOR) {
        Some(crate::irq::RESCHEDULE_IRQ)
    } else if (u64::from(IRQ_BASE)..u64::from(IRQ_BASE) + 16).contains(&frame.vector) {
        Some((frame.vector - u64::from(IRQ_BASE)) as u32)
    } else {
        None
    };
    if let Some(irq) = irq {
        crate::gdt::set_interrupted_user_mode(frame.is_user());
        crate::irq::dispatch(irq);
        crate::gdt::set_interrupted_user_mode(false);
        before_user_return(frame);
        return;
    }
    let kind = FaultKind::from_frame(frame);
    match kind {
        FaultKind::Breakpoint if !frame.is_user() => {
            BREAKPOINTS.fetch_add(1, Ordering::SeqCst);
            return;
        }
        FaultKind::PageFault {
            addr,
            write,
            exec,
            present,
        } if memory::handle_page_fault(addr, write, exec, present) => {
            // Not the user-return hook: this runs on the page-fault IST stack.
            return;
        }
        _ => {}
    }
    let hook = FAULT_HOOK.load(Ordering::SeqCst);
    if hook != 0 && !matches!(kind, FaultKind::MachineCheck) {
        // SAFETY: only `set_fault_hook` stores here, always a valid fn of this type.
        let hook: fn(&mut TrapFrame, FaultKind) -> FaultAction =
            unsafe { core::mem::transmute(hook) };
        if hook(frame, kind) == FaultAction::Resume {
            if !matches!(
                kind,
                FaultKind::PageFault { .. } | FaultKind::DoubleFault | FaultKind::Nmi
            ) {
                before_user_return(frame);
            }
            return;
        }
    }
    panic!("{}", Fault { kind, frame })
}

unsafe extern "C" {
    fn exception_stub_0();
    fn exception_stub_1();
    fn exception_stub_2();
    fn exception_stub_3();
    fn exception_stub_4();
    fn exception_stub_5();
    fn exception_stub_6();
    fn exception_stub_7();
    fn exception_stub_8();
    fn exception_stub_10();
    fn exception_stub_11();
    fn exception_stub_12();
    fn exception_stub_13();
    fn exception_stub_14();
    fn exception_stub_16();
    fn exception_stub_17();
    fn exception_stub_18();
    fn exception_stub_19();
    fn exception_stub_20();
    fn exception_stub_21();
    fn exception_stub_28();
    fn exception_stub_29();
    fn exception_stub_30();
}

core::arch::global_asm!(
    r#"
    .section .text.exception_stubs, "ax"
    .global exception_stub_0
exception_stub_0:
    push 0
    push 0
    jmp exception_common
    .global exception_stub_1
exception_stub_1:
    push 0
    push 1
    jmp exception_common
    .global exception_stub_2
exception_stub_2:
    push 0
    push 2
    jmp exception_common
    .global exception_stub_3
exception_stub_3:
    push 0
    push 3
    jmp exception_common
    .global exception_stub_4
exception_stub_4:
    push 0
    push 4
    jmp exception_common
    .global exception_stub_5
exception_stub_5:
    push 0
    push 5
    jmp exception_common
    .global exception_stub_6
exception_stub_6:
    push 0
    push 6
    jmp exception_common
    .global exception_stub_7
exception_stub_7:
    push 0
    push 7
    jmp exception_common
    .global exception_stub_8
exception_stub_8:
    push 8
    jmp exception_common
    .global exception_stub_10
exception_stub_10:
    push 10
    jmp exception_common
    .global exception_stub_11
exception_stub_11:
    push 11
    jmp exception_common
    .global exception_stub_12
exception_stub_12:
    push 12
    jmp exception_common
    .global exception_stub_13
exception_stub_13:
    push 13
    jmp exception_common
    .global exception_stub_14
exception_stub_14:
    push 14
    jmp exception_common
    .global exception_stub_16
exception_stub_16:
    push 0
    push 16
    jmp exception_common
    .global exception_stub_17
exception_stub_17:
    push 17
    jmp exception_common
    .global exception_stub_18
exception_stub_18:
    push 0
    push 18
    jmp exception_common
    .global exception_stub_19
exception_stub_19:
    push 0
    push 19
    jmp exception_common
    .global exception_stub_20
exception_stub_20:
    push 0
    push 20
    jmp exception_common
    .global exception_stub_21
exception_stub_21:
    push 21
    jmp exception_common
    .global exception_stub_28
exception_stub_28:
    push 0
    push 28
    jmp exception_common
    .global exception_stub_29
exception_stub_29:
    push 29
    jmp exception_common
    .global exception_stub_30
exception_stub_30:
    push 30
    jmp exception_common

    .global exception_common
exception_common:
    // From user mode: GS becomes the per-CPU block (cs is 3 words above the error code).
    test byte ptr [rsp + 24], 3
    jz 1f
    swapgs
1:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    push 0
    // The CPU aligned its frame to 16 bytes: 7 + 15 + 1 words pushed, one more (`fx_xmm_only`
    // = 1: MXCSR and XMM only, the x87 state stays in the CPU) keeps the FP/SIMD area (the
    // frame's first field) aligned.
    push 1
    sub rsp, 512
    "#,
    crate::save_simd_asm!(),
    r#"
    mov rbx, rsp
    test byte ptr [rbx + {cs}], 3
    jz 2f
    // From user mode: save the user FS base in the frame, load the task's kernel one.
    mov ecx, 0xC0000100
    rdmsr
    mov [rbx + {fs_base}], eax
    mov [rbx + {fs_base} + 4], edx
    mov rax, gs:[{kernel_fs}]
    mov rdx, rax
    shr rdx, 32
    wrmsr
2:
    // A frame record [interrupted rbp, faulting rip]: backtraces continue through the
    // interrupted function.
    push qword ptr [rbx + {rip}]
    push rbp
    mov rbp, rsp
    cld
    mov rdi, rbx
    call {dispatch}
    mov rsp, rbx
    // The frame may have been changed to return to either mode.
    test byte ptr [rsp + {cs}], 3
    jz 5f

    // Returns to user mode from a `TrapFrame` at rsp (interrupts disabled, GS = per-CPU):
    // the user FS base, then the path every return takes.
    .global user_return_from_frame
user_return_from_frame:
    mov ecx, 0xC0000100
    mov eax, [rsp + {fs_base}]
    mov edx, [rsp + {fs_base} + 4]
    wrmsr
5:
    cmp qword ptr [rsp + {xmm_only}], 0
    jne 7f
    fxrstor64 [rsp]
    jmp 8f
7:
    // MXCSR and XMM only (the x87 state is still the CPU's).
    "#,
    crate::restore_simd_asm!(),
    r#"
8:
    add rsp, 8 + 512 + 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    test byte ptr [rsp + 8], 3
    jz 6f
    swapgs
6:
    iretq
"#,
    dispatch = sym exception_dispatch,
    kernel_fs = const crate::gdt::PERCPU_KERNEL_FS,
    fs_base = const core::mem::offset_of!(TrapFrame, fs_base),
    xmm_only = const core::mem::offset_of!(TrapFrame, fx_xmm_only),
    cs = const core::mem::offset_of!(TrapFrame, cs),
    rip = const core::mem::offset_of!(TrapFrame, rip),
);

unsafe extern "C" {
    /// The return to user mode: entered with rsp pointing at a user-mode [`TrapFrame`],
    /// interrupts disabled and GS the per-CPU block; restores everything in the frame.
    pub fn user_return_from_frame() -> !;
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 704);
const _: () = assert!(core::mem::offset_of!(TrapFrame, rip) == 664);

pub(crate) fn init_idt() {
    /// Points an IDT entry at an assembly stub (whatever the entry's handler signature).
    ///
    /// # Safety
    /// `stub` must be a complete exception entry that ends in iretq or never returns.
    unsafe fn set<F>(
        entry: &mut x86_64::structures::idt::Entry<F>,
        stub: unsafe extern "C" fn(),
    ) -> &mut x86_64::structures::idt::EntryOptions {
        // SAFETY: forwarded from the caller.
        unsafe { entry.set_handler_addr(VirtAddr::new(stub as usize as u64)) }
    }
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        // SAFETY: every stub below is an entry of `exception_common`, which saves and restores
        // the full state and ends in iretq; the IST indices name stacks installed in the TSS
        // by gdt::init.
        unsafe {
            set(&mut idt.divide_error, exception_stub_0);
            set(&mut idt.debug, exception_stub_1);
            set(&mut idt.non_maskable_interrupt, exception_stub_2).set_stack_index(NMI_IST);
            set(&mut idt.breakpoint, exception_stub_3);
            set(&mut idt.overflow, exception_stub_4);
            set(&mut idt.bound_range_exceeded, exception_stub_5);
            set(&mut idt.invalid_opcode, exception_stub_6);
            set(&mut idt.device_not_available, exception_stub_7);
            set(&mut idt.double_fault, exception_stub_8).set_stack_index(DOUBLE_FAULT_IST);
            set(&mut idt.invalid_tss, exception_stub_10);
            set(&mut idt.segment_not_present, exception_stub_11);
            set(&mut idt.stack_segment_fault, exception_stub_12);
            set(&mut idt.general_protection_fault, exception_stub_13);
            set(&mut idt.page_fault, exception_stub_14).set_stack_index(PAGE_FAULT_IST);
            set(&mut idt.x87_floating_point, exception_stub_16);
            set(&mut idt.alignment_check, exception_stub_17);
            set(&mut idt.machine_check, exception_stub_18);
            set(&mut idt.simd_floating_point, exception_stub_19);
            set(&mut idt.virtualization, exception_stub_20);
            set(&mut idt.cp_protection_exception, exception_stub_21);
            set(&mut idt.hv_injection_exception, exception_stub_28);
            set(&mut idt.vmm_communication_exception, exception_stub_29);
            set(&mut idt.security_exception, exception_stub_30);
        }
        for (i, stub) in STUBS.iter().enumerate() {
            // SAFETY: each stub is a complete interrupt entry ending in iretq.
            unsafe {
                idt[IRQ_BASE + i as u8].set_handler_addr(VirtAddr::new(*stub as usize as u64));
            }
        }
        // SAFETY: all four are complete interrupt entries ending in iretq.
        unsafe {
            idt[crate::irq::RESCHEDULE_VECTOR].set_handler_addr(VirtAddr::new(
                crate::irq::reschedule_stub as *const () as u64,
            ));
            idt[LOCAL_TIMER_VECTOR].set_handler_addr(VirtAddr::new(
                crate::irq::local_timer_stub as *const () as u64,
            ));
            idt[crate::irq::CALL_VECTOR]
                .set_handler_addr(VirtAddr::new(crate::irq::call_stub as *const () as u64));
            idt[SPURIOUS_VECTOR]
                .set_handler_addr(VirtAddr::new(crate::irq::spurious_stub as *const () as u64));
        }
        idt
    });
    idt.load();
}

/// Loads the IDT (built by the boot CPU's `init`) on the CPU that runs this.
pub(crate) fn load_idt() {
    IDT.get().expect("the boot CPU built the IDT").load();
}
