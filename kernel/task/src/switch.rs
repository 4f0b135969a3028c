//! The context switch and the layout of a new task's first stack frame.

/// Saves the callee-saved registers, MXCSR and the x87 control word on the current stack,
/// stores the stack pointer in `*prev_rsp`, loads `next_rsp` and restores the same set from
/// there. Caller-saved registers (including every XMM register) are dead across a call by the
/// ABI; a preempted task's full register and FP/SIMD state was already saved on its own stack
/// by the IRQ entry stub.
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
        "sub rsp, 8",
        "stmxcsr [rsp]",
        "fnstcw [rsp + 4]",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "ldmxcsr [rsp]",
        "fldcw [rsp + 4]",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Default MXCSR (all exceptions masked, round to nearest) and x87 control word.
const MXCSR_DEFAULT: u64 = 0x1f80;
const FCW_DEFAULT: u64 = 0x037f;

/// Writes the frame [`switch`] expects at the top of a fresh stack so that switching to it
/// "returns" into `entry` with a 16-byte aligned stack (as after a call) and zeroed
/// callee-saved registers (rbp = 0 ends backtraces). Returns the initial stack pointer.
///
/// # Safety
/// `top` must be the 16-byte aligned top of a mapped, writable stack of at least 128 bytes
/// that nothing else uses.
pub unsafe fn initial_stack(top: u64, entry: extern "C" fn() -> !) -> u64 {
    let words: [u64; 9] = [
        MXCSR_DEFAULT | (FCW_DEFAULT << 32),
        0, // r15
        0, // r14
        0, // r13
        0, // r12
        0, // rbx
        0, // rbp
        entry as usize as u64,
        0, // the "return address" of entry: never used
    ];
    let rsp = top - (words.len() as u64) * 8;
    // SAFETY: the caller guarantees [top - 72, top) is mapped, writable and unused.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), rsp as *mut u64, words.len()) };
    rsp
}
