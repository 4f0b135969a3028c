//! The context switch and the layout of a new task's first stack frame.

/// Saves the callee-saved registers and the FP/SIMD state that is not dead across a call on
/// the current stack, stores the stack pointer in `*prev_rsp`, loads `next_rsp` and restores
/// the same set from there.
///
/// The XMM registers are dead across a call by the ABI (an interrupted or system-calling
/// program's are in its entry frame), but MXCSR and the x87 state are not the kernel's: a
/// task switched away from inside a system call, a fault or an interrupt still has its
/// program's x87 registers live in the CPU (the entries save only MXCSR and XMM, see
/// `interrupts::TrapFrame::fx_xmm_only`), so they travel with the task here. Not with
/// `fxsave64`/`fxrstor64`, which cost 0.63 us each under QEMU's TCG (over a microsecond per
/// switch): `fnstenv` (0.05 us) stores the x87 environment, and when its tag word says every
/// x87 register is empty (programs rarely use x87 or MMX; the ABI leaves the register stack
/// empty at every call) that and MXCSR are the whole state to keep. The save area records
/// which of three forms it holds (the `SAVED_*` constants): the initial x87 state (restored with
/// `fninit`, almost free), an environment with empty registers (`fldenv`), or everything
/// (`fxsave64`, when a register is in use).
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
        // The save area: the first 16-byte aligned bytes of these (see `fx_at`).
        "sub rsp, {area}",
        "lea rax, [rsp + 15]",
        "and rax, -16",
        "stmxcsr [rax + 24]",
        // (`fnstenv` also masks every x87 exception in the CPU: harmless, the next task's
        // restore replaces the whole environment.)
        "fnstenv [rax + {env}]",
        "cmp word ptr [rax + {env} + 8], 0xffff",
        "jne 2f",
        "cmp word ptr [rax + {env}], 0x37f",
        "jne 1f",
        "cmp word ptr [rax + {env} + 4], 0",
        "jne 1f",
        "mov byte ptr [rax + {kind}], {initial}",
        "jmp 3f",
        "1:",
        "mov byte ptr [rax + {kind}], {env_only}",
        "jmp 3f",
        "2:",
        // A register in use: everything, with the environment as it was before `fnstenv`.
        "fldenv [rax + {env}]",
        "fxsave64 [rax]",
        "mov byte ptr [rax + {kind}], {full}",
        "3:",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "lea rax, [rsp + 15]",
        "and rax, -16",
        "cmp byte ptr [rax + {kind}], {env_only}",
        "je 5f",
        "ja 6f",
        "fninit",
        "ldmxcsr [rax + 24]",
        "jmp 7f",
        "5:",
        "fldenv [rax + {env}]",
        "ldmxcsr [rax + 24]",
        "jmp 7f",
        "6:",
        "fxrstor64 [rax]",
        "7:",
        "add rsp, {area}",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
        area = const AREA,
        env = const ENV_AT,
        kind = const KIND_AT,
        initial = const SAVED_INITIAL,
        env_only = const SAVED_ENV,
        full = const SAVED_FULL,
    )
}

/// Bytes `switch` reserves below the callee-saved registers for the FP/SIMD state: an
/// `fxsave` area (MXCSR at 24 in every form), the 28-byte `fnstenv` image at [`ENV_AT`] and
/// the form byte at [`KIND_AT`], from the first 16-byte aligned address.
const AREA: u64 = 560;
/// Bytes from a saved stack pointer to the end of its return address (see [`saved_frame`]).
pub(crate) const SAVED_FRAME_BYTES: u64 = AREA + 56;
/// Where in the save area `fnstenv` stores the x87 environment (control word at 0, status
/// word at 4, tag word at 8, each in the low half of a 32-bit slot).
const ENV_AT: u64 = 512;
/// Where in the save area the form of the saved state is (a `SAVED_*` constant).
const KIND_AT: u64 = ENV_AT + 28;
const _: () = assert!(KIND_AT + 1 + 15 <= AREA);

/// The forms of the saved FP state (the byte at [`KIND_AT`]): x87 as after `fninit` (control
/// word 0x37f, status 0, every register empty) and MXCSR; the x87 environment (registers
/// empty) and MXCSR; the complete `fxsave64` image.
const SAVED_INITIAL: u8 = 0;
const SAVED_ENV: u8 = 1;
const SAVED_FULL: u8 = 2;

/// The frame pointer and return address `switch` saved at `rsp` (a stack pointer it saved, or
/// [`initial_stack`] built): where the switched-out task's call chain starts.
///
/// # Safety
/// `[rsp, rsp + SAVED_FRAME_BYTES)` must be mapped for the whole call (the words may change meanwhile:
/// they are read as plain data).
pub unsafe fn saved_frame(rsp: u64) -> (u64, u64) {
    let at = rsp + AREA;
    // SAFETY: the caller keeps the words mapped; above the save area `switch` pushed r15,
    // r14, r13, r12, rbx and rbp, and the call pushed the return address.
    unsafe {
        (
            ((at + 40) as *const u64).read_volatile(),
            ((at + 48) as *const u64).read_volatile(),
        )
    }
}

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
    // SAFETY: the caller guarantees [top - 624, top) is mapped, writable and unused; the FP
    // area lies inside [rsp, rsp + AREA) and the words right above it.
    unsafe {
        core::ptr::copy_nonoverlapping(words.as_ptr(), (rsp + AREA) as *mut u64, words.len());
        core::ptr::copy_nonoverlapping(fx.0.as_ptr(), fx_at(rsp) as *mut u8, 512);
        ((fx_at(rsp) + KIND_AT) as *mut u8).write(SAVED_INITIAL);
    }
    rsp
}
