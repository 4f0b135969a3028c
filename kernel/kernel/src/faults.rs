//! What happens when code faults: a CPU exception in a spawned task ends that task only.
//!
//! The exception dispatcher (`interrupts`) calls [`on_fault`] for every fault it does not
//! resolve itself. The running task's own fault handler, if it registered one
//! (`task::set_fault_handler`), is asked first and may resume the task with a changed register
//! state. Otherwise, in a task that may be killed, the fault is turned into an unwind: the trap
//! frame is redirected to [`fault_unwind_trampoline`] as if the faulting instruction had called
//! it, so the DWARF unwinder walks from there through the faulting function and its callers,
//! running destructors, up to the task's entry, which records the kill reason (the fault and
//! its symbolized backtrace). When the stack has no room left for that (a stack overflow into
//! the guard page, a double fault, or a fault while already unwinding), the task is ended on
//! the spot instead. Faults in the boot task or the idle task stay kernel panics.

use alloc::format;
use alloc::string::String;
use interrupts::{Fault, FaultAction, FaultKind, TrapFrame};
use task::ExitValue;

/// Stack the unwinder needs below the faulting frame to run.
const UNWIND_HEADROOM: u64 = 24 * 1024;

pub fn init() {
    interrupts::set_fault_hook(on_fault);
    memory::set_bad_free_handler(bad_free);
}

/// The heap's handler for a free of memory it never gave out (no heap lock is held here). The
/// task ends where it stands: Rust's allocation calls are `nounwind`, so there is no unwinding
/// out of `dealloc`.
fn bad_free(message: core::fmt::Arguments) -> ! {
    if !task::current_is_killable() {
        panic!("{message}");
    }
    let mut reason = format!("{message} [SIGABRT]\nbacktrace:\n");
    let mut frames = [0u64; backtrace::MAX_FRAMES];
    let n = backtrace::capture_into(&mut frames);
    let _ = backtrace::write_backtrace(&frames[..n], &mut reason);
    log::info!(
        "task {} ({}) killed: {}",
        task::current_id(),
        task::current().name(),
        reason.lines().next().unwrap_or("")
    );
    task::exit_with(ExitValue::Killed(reason))
}

fn reason(frame: &TrapFrame, kind: FaultKind) -> String {
    let mut reason = format!(
        "{} [{}]\nbacktrace:\n",
        Fault { kind, frame },
        kind.signal_name()
    );
    let mut frames = [0u64; backtrace::MAX_FRAMES];
    if frame.is_user() || frame.rip >= 4096 {
        let n = backtrace::capture_from_into(frame.rbp, frame.rip, &mut frames);
        let _ = backtrace::write_fault_backtrace(&frames[..n], &mut reason);
        return reason;
    }
    // Kernel code jumped to a null address: through a null function pointer (its return
    // address is at rsp, and names the caller) or by a `ret` that found zero where its
    // return address should be (a corrupt or never-written stack). The words around rsp and
    // the task's stack tell which.
    let (n, called) =
        backtrace::capture_null_jump_into(frame.rbp, frame.rip, frame.rsp, &mut frames);
    let _ = backtrace::write_fault_backtrace(&frames[..n], &mut reason);
    if !called {
        let _ = null_jump_context(frame, &mut reason);
    }
    reason
}

/// For a jump to a null address that was no call: where the stack pointer was (its task's
/// stack, its CPU) and the words around it.
fn null_jump_context(frame: &TrapFrame, out: &mut String) -> core::fmt::Result {
    use core::fmt::Write;
    write!(
        out,
        "no return address at rsp {:#x} (CPU {}",
        frame.rsp,
        interrupts::cpu_index()
    )?;
    match task::current().stack_bounds() {
        Some((guard, top)) => write!(out, ", the task's stack {:#x}-{top:#x})", guard + 4096)?,
        None => out.write_str(", a task without a stack of its own)")?,
    }
    out.write_str("; words from rsp - 64:")?;
    for i in 0..16u64 {
        match frame
            .rsp
            .checked_sub(64)
            .and_then(|a| backtrace::peek(a + i * 8))
        {
            Some(word) => write!(out, " {word:#x}")?,
            None => out.write_str(" -")?,
        }
    }
    out.write_str("\n")
}

fn on_fault(frame: &mut TrapFrame, kind: FaultKind) -> FaultAction {
    // The task's own handler comes first (the `signal` API): it may repair or redirect.
    if let Some(handler) = task::fault_handler()
        && handler(frame, kind)
    {
        return FaultAction::Resume;
    }
    if memory::allocator_busy() {
        crate::panic::fatal_in_allocator(
            format_args!(
                "{} [{}] inside the memory allocator",
                Fault { kind, frame },
                kind.signal_name()
            ),
            Some((frame.rbp, frame.rip)),
        );
    }
    if !task::current_is_killable() || matches!(kind, FaultKind::Nmi) {
        return FaultAction::Panic;
    }
    if frame.is_user() {
        return user_fault(frame, kind);
    }
    let reason = reason(frame, kind);
    log::info!(
        "task {} ({}) killed: {}",
        task::current_id(),
        task::current().name(),
        reason.lines().next().unwrap_or("")
    );
    let room = task::current()
        .stack_bounds()
        .is_some_and(|(guard, top)| frame.rsp > guard + 4096 + UNWIND_HEADROOM && frame.rsp <= top);
    if matches!(kind, FaultKind::DoubleFault) || !room || task::current_is_unwinding() {
        task::exit_with(ExitValue::Killed(reason));
    }
    task::set_pending_fault(reason);
    // Resume in the trampoline, which pushes r11 as its "return address" first thing: the
    // stack below the interrupted rsp may hold this very trap frame, so nothing is written
    // there from here. rip + 1 makes the unwinder's "return address - 1" land on the
    // faulting instruction itself.
    frame.r11 = frame.rip + 1;
    frame.rip = fault_unwind_trampoline as *const () as u64;
    FaultAction::Resume
}

/// A fault in user mode. Nothing here may touch the program's memory (this runs on the fault's
/// stack, an IST stack for page faults, with interrupts off), so the faulting state is set
/// aside and the frame redirected to [`user_fault_entry`], in kernel mode on the task's own
/// kernel stack: there the system-call layer may turn the fault into a signal handler's run,
/// or the program ends (all its threads) with the report as the kill reason.
fn user_fault(frame: &mut TrapFrame, kind: FaultKind) -> FaultAction {
    let stack = task::user_entry_stack();
    if stack == 0 {
        return FaultAction::Panic;
    }
    task::set_pending_user_fault(frame.clone(), kind);
    // As if called: rsp = 8 mod 16 at the first instruction.
    frame.rsp = (stack & !15) - 8;
    frame.rip = user_fault_entry as *const () as u64;
    frame.cs = u64::from(interrupts::KERNEL_CS);
    frame.ss = u64::from(interrupts::KERNEL_SS);
    frame.rflags = 0x202;
    frame.rbp = 0;
    FaultAction::Resume
}

extern "C" fn user_fault_entry() -> ! {
    let Some((mut frame, kind)) = task::take_pending_user_fault() else {
        process::kill_current_process("fault [SIGSEGV]")
    };
    let original = frame.clone();
    if usermode::handle_fault(&mut frame, kind) {
        usermode::enter_user(&frame);
    }
    let reason = reason(&original, kind);
    log::info!(
        "program task {} ({}) killed: {}",
        task::current_id(),
        task::current().name(),
        reason.lines().next().unwrap_or("")
    );
    process::kill_current_process(&reason)
}

unsafe extern "C" {
    /// Entered with the faulting context's registers (r11 = faulting rip + 1); after its first
    /// instruction the stack looks as if the faulting instruction had called it, which its
    /// hand-written CFI describes to the unwinder.
    fn fault_unwind_trampoline() -> !;
}

core::arch::global_asm!(
    r#"
    .section .text.fault_unwind_trampoline, "ax"
    .global fault_unwind_trampoline
fault_unwind_trampoline:
    .cfi_startproc
    .cfi_def_cfa_offset 0
    push r11
    .cfi_def_cfa_offset 8
    push rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbp, 0
    mov rbp, rsp
    .cfi_def_cfa_register rbp
    and rsp, -16
    call {entry}
    ud2
    .cfi_endproc
"#,
    entry = sym fault_unwind_entry,
);

extern "C-unwind" fn fault_unwind_entry() -> ! {
    let reason = task::take_pending_fault().unwrap_or_else(|| "fault".into());
    task::start_unwinding(reason.clone());
    task::exit_with(ExitValue::Killed(reason))
}
