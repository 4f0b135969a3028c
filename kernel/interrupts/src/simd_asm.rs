//! The assembly that saves and restores MXCSR and XMM0-15 around kernel code, shared by every
//! entry stub (exceptions, IRQs, and `usermode`'s system-call entry).
//!
//! Each macro expands to a string literal for an `asm!` template: the registers go to and
//! come from an area in `fxsave` layout at `rsp` (16-byte aligned; MXCSR at 24, XMM0-15 at
//! 160..416), the layout of [`crate::TrapFrame::fx`]. Why not `fxsave64`/`fxrstor64`: under
//! QEMU's TCG each of them costs about 0.63 us (a helper that moves all 512 bytes one word at
//! a time), more than the rest of a null system call; and the x87 part need not move at all,
//! since the kernel never executes x87 instructions (it stays in the CPU, and the task switch
//! carries it). Why the restore loads each register as two halves (`movlps` + `movhps`):
//! QEMU 7.2 emulates a 128-bit load (`movaps`, `movups`, `movdqa`) about five times slower
//! than two 64-bit ones (measured in the OS with a static C program, one vCPU: four 128-bit
//! loads 27 ns, four pairs 5 ns; stores cost the same either way, 5 ns for four).

/// Saves MXCSR and XMM0-15 into the `fxsave`-layout area at `rsp`.
#[macro_export]
macro_rules! save_simd_asm {
    () => {
        "stmxcsr [rsp + 24]
        movaps [rsp + 160], xmm0
        movaps [rsp + 176], xmm1
        movaps [rsp + 192], xmm2
        movaps [rsp + 208], xmm3
        movaps [rsp + 224], xmm4
        movaps [rsp + 240], xmm5
        movaps [rsp + 256], xmm6
        movaps [rsp + 272], xmm7
        movaps [rsp + 288], xmm8
        movaps [rsp + 304], xmm9
        movaps [rsp + 320], xmm10
        movaps [rsp + 336], xmm11
        movaps [rsp + 352], xmm12
        movaps [rsp + 368], xmm13
        movaps [rsp + 384], xmm14
        movaps [rsp + 400], xmm15"
    };
}

/// Restores MXCSR and XMM0-15 from the `fxsave`-layout area at `rsp`.
#[macro_export]
macro_rules! restore_simd_asm {
    () => {
        "ldmxcsr [rsp + 24]
        movlps xmm0, [rsp + 160]
        movhps xmm0, [rsp + 168]
        movlps xmm1, [rsp + 176]
        movhps xmm1, [rsp + 184]
        movlps xmm2, [rsp + 192]
        movhps xmm2, [rsp + 200]
        movlps xmm3, [rsp + 208]
        movhps xmm3, [rsp + 216]
        movlps xmm4, [rsp + 224]
        movhps xmm4, [rsp + 232]
        movlps xmm5, [rsp + 240]
        movhps xmm5, [rsp + 248]
        movlps xmm6, [rsp + 256]
        movhps xmm6, [rsp + 264]
        movlps xmm7, [rsp + 272]
        movhps xmm7, [rsp + 280]
        movlps xmm8, [rsp + 288]
        movhps xmm8, [rsp + 296]
        movlps xmm9, [rsp + 304]
        movhps xmm9, [rsp + 312]
        movlps xmm10, [rsp + 320]
        movhps xmm10, [rsp + 328]
        movlps xmm11, [rsp + 336]
        movhps xmm11, [rsp + 344]
        movlps xmm12, [rsp + 352]
        movhps xmm12, [rsp + 360]
        movlps xmm13, [rsp + 368]
        movhps xmm13, [rsp + 376]
        movlps xmm14, [rsp + 384]
        movhps xmm14, [rsp + 392]
        movlps xmm15, [rsp + 400]
        movhps xmm15, [rsp + 408]"
    };
}
