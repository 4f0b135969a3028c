//! User mode: how programs run in ring 3 and enter the kernel.
//!
//! Owns the `syscall` instruction's set-up (EFER.SCE, STAR, LSTAR, FMASK), the system-call
//! entry stub, the return path to user mode, and [`enter_user`], which starts a thread in user
//! mode with a given register state. A program's pages are in the user region
//! (`memory::Mapping::new_user`); the kernel's are not user-accessible, so a stray access from
//! a program faults (and `interrupts` hands the fault to the kernel's fault hook) instead of
//! corrupting the kernel.
//!
//! Entry from user mode, on every path (this stub, and the exception and IRQ stubs of
//! `interrupts`): `swapgs` makes GS the per-CPU block, the stack becomes the running task's
//! kernel stack (the per-CPU `kernel_rsp`, or the TSS's `rsp0` for interrupts), the user FS
//! base is saved in the [`TrapFrame`] and the task's kernel FS base loaded (the kernel's
//! `#[thread_local]`s live there). The return to user mode undoes each step. A system call
//! saves the register state (the Linux ABI preserves every register but `rax`, `rcx` and
//! `r11`) as a `TrapFrame` with `vector` [`SYSCALL_VECTOR`]: the general registers, MXCSR and
//! XMM0-15 (`TrapFrame::fx_xmm_only`: the x87 state stays in the CPU, the kernel never touches
//! it), runs the installed handler with interrupts enabled (so it may block and be preempted),
//! and returns to whatever state the handler left in the frame: with `sysretq` when that is
//! exactly what `iretq` would restore (`rcx` = `rip`, `r11` = `rflags`, no trap flag, a
//! lower-half `rip`, the FP/SIMD state as saved), else with `iretq`.
//!
//! Depends on `interrupts` (selectors, per-CPU block offsets, `TrapFrame`), `task` (the
//! running task's entry stack), `x86_64`.

#![no_std]

use core::sync::atomic::{AtomicUsize, Ordering};
pub use interrupts::TrapFrame;
use interrupts::{
    KERNEL_CS, PERCPU_KERNEL_FS, PERCPU_KERNEL_RSP, PERCPU_USER_RSP, USER_CS, USER_SS,
};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, Msr, SFMask};
use x86_64::registers::rflags::RFlags;

/// `TrapFrame::vector` of a system call (above every CPU exception and IRQ vector).
pub const SYSCALL_VECTOR: u64 = 0x100;

/// `rax` for a system call when no handler is installed: `-ENOSYS`.
const ENOSYS: u64 = (-38i64) as u64;

static HANDLER: AtomicUsize = AtomicUsize::new(0);
static FAULT_HANDLER: AtomicUsize = AtomicUsize::new(0);
static RETURN_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Installs the function that runs right before every return to user mode (after a system
/// call, an interrupt or a handled fault), with interrupts disabled; it may change the state
/// the thread resumes with (the system-call layer delivers signals there).
pub fn set_return_hook(hook: fn(&mut TrapFrame)) {
    RETURN_HOOK.store(hook as usize, Ordering::SeqCst);
}

/// Every return to user mode passes here. A thread whose task was killed ends here instead
/// of returning: its kernel stack holds only this entry's frames, so nothing is left behind.
/// For the same reason it is the stop point of a program thread asked to stop
/// (`task::stop`: job control), after the hook (which may ask for the stop itself, as a
/// signal's default action); once resumed, the hook runs again (a `SIGCONT` handler).
fn before_return(frame: &mut TrapFrame) {
    if let Some(reason) = task::pending_kill() {
        task::exit_with(task::ExitValue::Killed(reason));
    }
    run_return_hook(frame);
    if task::stop_point() {
        if let Some(reason) = task::pending_kill() {
            task::exit_with(task::ExitValue::Killed(reason));
        }
        run_return_hook(frame);
    }
}

fn run_return_hook(frame: &mut TrapFrame) {
    let hook = RETURN_HOOK.load(Ordering::SeqCst);
    if hook != 0 {
        // SAFETY: only `set_return_hook` stores here, always a valid fn of this type.
        let hook: fn(&mut TrapFrame) = unsafe { core::mem::transmute(hook) };
        hook(frame);
    }
}

/// Installs the handler of CPU faults in user mode (the system-call layer turns them into
/// signals). It runs in the faulting thread, in kernel mode on its own stack with interrupts
/// enabled, gets the faulting user state, and returns true if it changed the state to resume
/// (e.g. to run a signal handler); false lets the fault end the program.
pub fn set_fault_handler(handler: fn(&mut TrapFrame, interrupts::FaultKind) -> bool) {
    FAULT_HANDLER.store(handler as usize, Ordering::SeqCst);
}

/// Offers a user-mode fault to the installed handler (see [`set_fault_handler`]); on `true`
/// the caller resumes `frame` with [`enter_user`].
pub fn handle_fault(frame: &mut TrapFrame, kind: interrupts::FaultKind) -> bool {
    let handler = FAULT_HANDLER.load(Ordering::SeqCst);
    if handler == 0 {
        return false;
    }
    // SAFETY: only `set_fault_handler` stores here, always a valid fn of this type.
    let handler: fn(&mut TrapFrame, interrupts::FaultKind) -> bool =
        unsafe { core::mem::transmute(handler) };
    handler(frame, kind)
}

/// Installs the return path's hook and turns on the `syscall` instruction on the boot CPU.
/// Call once, after `interrupts::init`.
pub fn init() {
    interrupts::set_user_return_hook(before_return);
    init_this_cpu();
}

/// Turns on the `syscall` instruction on the CPU that runs this: EFER.SCE and the STAR,
/// LSTAR and FMASK registers, which every CPU has its own of. [`init`] does it for the boot
/// CPU; each application processor calls it as it starts (`smp`), after its GDT is loaded.
pub fn init_this_cpu() {
    // STAR: kernel CS (SS = CS + 8) for syscall; for sysret the user SS/CS base (SS = base +
    // 8, CS = base + 16: the GDT's user data and code segments).
    let star = (u64::from(USER_SS - 8) << 48) | (u64::from(KERNEL_CS) << 32);
    let mut star_msr = Msr::new(0xC000_0081);
    // SAFETY: STAR's selectors name the GDT's kernel and user segments; LSTAR points at a
    // complete entry stub; FMASK clears IF (the stub swaps GS and the stack with interrupts
    // off), DF, TF and AC on entry; SCE only enables the instruction.
    unsafe {
        star_msr.write(star);
        LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
        SFMask::write(
            RFlags::INTERRUPT_FLAG
                | RFlags::DIRECTION_FLAG
                | RFlags::TRAP_FLAG
                | RFlags::ALIGNMENT_CHECK,
        );
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
    }
}

/// Installs the system-call handler: it gets the caller's saved registers (number in `rax`,
/// arguments in `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`) and leaves the result in `rax`; it
/// may change any register, the FS base included, before the return to user mode.
pub fn set_syscall_handler(handler: fn(&mut TrapFrame)) {
    HANDLER.store(handler as usize, Ordering::SeqCst);
}

extern "C" fn syscall_dispatch(frame: &mut TrapFrame) {
    let handler = HANDLER.load(Ordering::SeqCst);
    if handler == 0 {
        frame.rax = ENOSYS;
        return;
    }
    // SAFETY: only `set_syscall_handler` stores here, always a valid fn of this type.
    let handler: fn(&mut TrapFrame) = unsafe { core::mem::transmute(handler) };
    // A kill (or a panic) inside the handler unwinds to here: the unwinder cannot pass the
    // entry stub, and nothing above it needs unwinding (the thread's state lives in its
    // process, not on this stack).
    if let Err(reason) = task::catch_unwind(|| handler(frame)) {
        task::exit_with(task::ExitValue::Killed(reason));
    }
    sanitize(frame);
    x86_64::instructions::interrupts::disable();
    // The hook `init` installed for every return to user mode, called directly (no indirect
    // call on the system-call path; the frame returns to user mode, as sanitized above).
    before_return(frame);
    sanitize(frame);
}

/// Keeps a frame that returns to user mode in user mode: user selectors, interrupts on, no
/// I/O privilege, and a canonical lower-half instruction pointer (`iretq` to another one
/// faults in the kernel).
fn sanitize(frame: &mut TrapFrame) {
    frame.cs = u64::from(USER_CS);
    frame.ss = u64::from(USER_SS);
    let keep = RFlags::CARRY_FLAG
        | RFlags::PARITY_FLAG
        | RFlags::AUXILIARY_CARRY_FLAG
        | RFlags::ZERO_FLAG
        | RFlags::SIGN_FLAG
        | RFlags::TRAP_FLAG
        | RFlags::DIRECTION_FLAG
        | RFlags::OVERFLOW_FLAG
        | RFlags::ALIGNMENT_CHECK
        | RFlags::ID;
    frame.rflags = (frame.rflags & keep.bits()) | RFlags::INTERRUPT_FLAG.bits() | 2;
    if frame.rip >= 0x0000_8000_0000_0000 {
        frame.rip = 0x0000_7fff_ffff_f000;
    }
    if frame.fs_base >= 0x0000_8000_0000_0000 && frame.fs_base < 0xffff_8000_0000_0000 {
        frame.fs_base = 0;
    }
}

/// Continues the running task in user mode with the register state `frame` (its `cs`, `ss`
/// and flags are set to user values; `fs_base` is the program's thread pointer; the FP/SIMD
/// state is `frame.fx`). The first call on a task fixes its kernel entry stack right below
/// the caller's frames; later calls (resuming after a fault handled as a signal) reuse it,
/// discarding everything on it. Returns never: the thread ends through a system call (exit)
/// or a kill, which end the task.
pub fn enter_user(frame: &TrapFrame) -> ! {
    x86_64::instructions::interrupts::disable();
    let mut entry = task::user_entry_stack();
    if entry == 0 {
        let here: u64;
        // SAFETY: reads the stack pointer.
        unsafe { core::arch::asm!("mov {}, rsp", out(reg) here, options(nomem, nostack)) };
        // Everything above `entry` stays as it is (this function's caller chain); entries from
        // user mode start below it.
        entry = (here - 512) & !15;
        task::set_user_entry_stack(entry);
    }
    let at = entry - core::mem::size_of::<TrapFrame>() as u64;
    let scratch = interrupts::scratch_frame();
    // SAFETY: interrupts are off, so the per-CPU scratch frame is this code's until the
    // `iretq`. The frame goes there first because `at..entry` may overlap the stack this
    // function runs on (a later call); the copy to `at` then runs in assembly with nothing
    // live on the stack, and `user_return_from_frame` restores the frame at `at` (16-byte
    // aligned, on the running task's kernel stack) and leaves with `iretq` to user mode.
    unsafe {
        scratch.write(frame.clone());
        sanitize(&mut *scratch);
        core::arch::asm!(
            "mov rsp, rdi",
            "rep movsb",
            "jmp {ret}",
            ret = sym interrupts::user_return_from_frame,
            in("rdi") at,
            in("rsi") scratch,
            in("rcx") core::mem::size_of::<TrapFrame>(),
            options(noreturn)
        );
    }
}

unsafe extern "C" {
    fn syscall_entry();
}

core::arch::global_asm!(
    r#"
    .section .text.syscall_entry, "ax"
    .global syscall_entry
syscall_entry:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{kernel_rsp}]
    // The frame the CPU would push for an interrupt, an error code and the vector.
    push {user_ss}
    push qword ptr gs:[{user_rsp}]
    push r11
    push {user_cs}
    push rcx
    push 0
    push {vector}
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
    // `fx_xmm_only`: MXCSR and XMM0-15 only (the kernel uses SSE; it never touches x87, whose
    // state stays in the CPU and moves with the task at a switch).
    push 1
    sub rsp, 512
    "#,
    interrupts::save_simd_asm!(),
    r#"
    mov rbx, rsp
    mov ecx, 0xC0000100
    rdmsr
    mov [rbx + {fs_base}], eax
    mov [rbx + {fs_base} + 4], edx
    mov rax, gs:[{kernel_fs}]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    // A frame record through the user's rip: kernel backtraces continue into the program.
    push qword ptr [rbx + {rip}]
    push rbp
    mov rbp, rsp
    cld
    sti
    mov rdi, rbx
    call {dispatch}
    cli
    mov rsp, rbx
    // `sysretq` when it restores exactly what `iretq` would: rcx is the return address and
    // r11 the flags (true for an ordinary return; a handler that rewrote the frame, such as
    // `rt_sigreturn` or a signal delivery, usually makes them differ), no single-stepping,
    // a lower-half address (sysret to a non-canonical one would fault in ring 0), and the
    // FP/SIMD state as the entry saved it (MXCSR and XMM only).
    cmp qword ptr [rsp + {xmm_only}], 0
    je 9f
    mov rcx, [rsp + {rip}]
    cmp rcx, [rsp + {rcx}]
    jne 9f
    mov r11, [rsp + {rflags}]
    cmp r11, [rsp + {r11}]
    jne 9f
    test r11, {tf}
    jnz 9f
    shr rcx, 47
    jnz 9f
    mov ecx, 0xC0000100
    mov eax, [rsp + {fs_base}]
    mov edx, [rsp + {fs_base} + 4]
    wrmsr
    "#,
    interrupts::restore_simd_asm!(),
    r#"
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
    // Past the vector and error code: rip, cs, rflags, rsp, ss.
    mov rsp, [rsp + 16 + 24]
    swapgs
    sysretq
9:
    jmp {user_return}
"#,
    user_rsp = const PERCPU_USER_RSP,
    kernel_rsp = const PERCPU_KERNEL_RSP,
    kernel_fs = const PERCPU_KERNEL_FS,
    user_ss = const USER_SS as u64,
    user_cs = const USER_CS as u64,
    vector = const SYSCALL_VECTOR,
    dispatch = sym syscall_dispatch,
    user_return = sym interrupts::user_return_from_frame,
    fs_base = const core::mem::offset_of!(TrapFrame, fs_base),
    rip = const core::mem::offset_of!(TrapFrame, rip),
    rcx = const core::mem::offset_of!(TrapFrame, rcx),
    rflags = const core::mem::offset_of!(TrapFrame, rflags),
    r11 = const core::mem::offset_of!(TrapFrame, r11),
    tf = const RFlags::TRAP_FLAG.bits(),
    xmm_only = const core::mem::offset_of!(TrapFrame, fx_xmm_only),
);
