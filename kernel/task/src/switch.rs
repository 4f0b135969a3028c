//! The context switch and the layout of a new task's first stack frame.

/// Saves the callee-saved registers and the whole FP/SIMD state (`fxsave64`: x87, MXCSR, XMM)
/// on the current stack, stores the stack pointer in `*prev_rsp`, loads `next_rsp` and
/// restores the same set from there. The XMM registers are dead across a call by the ABI, but
/// the x87 state is not the kernel's: a task switched away from inside a system call still has
/// its program's x87 registers live in the CPU (the system-call entry saves only MXCSR and XMM,
/// see `interrupts::TrapFrame::fx_xmm_only`), so they travel with the task here. A preempted
/// task's full state was already saved on its own stack by the IRQ entry stub.
///
/// # Safety
/// `next_rsp` must be a stack pointer saved by this function or built by [`initial_stack`],
/// on a stack that stays mapped while the task can run; interrupts must be disabled.
#[unsafe(naked)]
pub unsafe extern "C" fn switch(prev_rsp: *mut u64, next_rsp: u64) {
    core::arch::naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        // The save area: the first 16-byte aligned 512 bytes of these (see `fx_at`).
        "sub rsp, {area}",
        "lea rax, [rsp + 15]",
        "and rax, -16",
        "fxsave64 [rax]",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "lea rax, [rsp + 15]",
        "and rax, -16",
        "fxrstor64 [rax]",
        "add rsp, {area}",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
        area = const AREA,
    )
}

/// Bytes `switch` reserves below the callee-saved registers for the FP/SIMD state.
const AREA: u64 = 512 + 16;

/// Where `switch` keeps the FP/SIMD state for a saved stack pointer `rsp`.
fn fx_at(rsp: u64) -> u64 {
    (rsp + 15) & !15
}

/// Writes the frame [`switch`] expects at the top of a fresh stack so that switching to it
/// "returns" into `entry` with a 16-byte aligned stack (as after a call), zeroed callee-saved
/// registers (rbp = 0 ends backtraces) and the initial FP/SIMD state (MXCSR 0x1f80, x87 control
/// word 0x37f). Returns the initial stack pointer.
///
/// # Safety
/// `top` must be the 16-byte aligned top of a mapped, writable stack of at least 1024 bytes
/// that nothing else uses.
pub unsafe fn initial_stack(top: u64, entry: extern "C" fn() -> !) -> u64 {
    let words: [u64; 8] = [
        0, // r15
        0, // r14
        0, // r13
        0, // r12
        0, // rbx
        0, // rbp
        entry as usize as u64,
        0, // the "return address" of entry: never used
    ];
    let rsp = top - (words.len() as u64) * 8 - AREA;
    let fx = ::interrupts::FxArea::initial();
    // SAFETY: the caller guarantees [top - 592, top) is mapped, writable and unused; the FP
    // area lies inside [rsp, rsp + AREA) and the words right above it.
    unsafe {
        core::ptr::copy_nonoverlapping(words.as_ptr(), (rsp + AREA) as *mut u64, words.len());
        core::ptr::copy_nonoverlapping(fx.0.as_ptr(), fx_at(rsp) as *mut u8, 512);
    }
    rsp
}
