//! In-kernel tests of exception and IRQ delivery.

use ktest::kernel_test;

kernel_test! {
    fn breakpoint_returns() {
        let before = crate::breakpoint_count();
        x86_64::instructions::interrupts::int3();
        x86_64::instructions::interrupts::int3();
        assert_eq!(crate::breakpoint_count(), before + 2);
    }
}

kernel_test! {
    fn simd_registers_survive_interrupts() {
        // Put known values in every XMM register, wait for several interrupts with `hlt`, and
        // read them back: the IRQ entry stubs must save and restore the FP/SIMD state.
        let mut out = [0u64; 16];
        // SAFETY: only XMM registers (declared clobbered) and `out` are touched; `hlt` with
        // interrupts enabled returns after the next interrupt (the timer ticks).
        unsafe {
            core::arch::asm!(
                "mov rax, 0x1111111111111111",
                "movq xmm0, rax", "add rax, rax", "movq xmm1, rax", "add rax, 3", "movq xmm2, rax",
                "add rax, 5", "movq xmm3, rax", "add rax, 7", "movq xmm4, rax", "add rax, 9",
                "movq xmm5, rax", "add rax, 11", "movq xmm6, rax", "add rax, 13", "movq xmm7, rax",
                "add rax, 15", "movq xmm8, rax", "add rax, 17", "movq xmm9, rax", "add rax, 19",
                "movq xmm10, rax", "add rax, 21", "movq xmm11, rax", "add rax, 23", "movq xmm12, rax",
                "add rax, 25", "movq xmm13, rax", "add rax, 27", "movq xmm14, rax", "add rax, 29",
                "movq xmm15, rax",
                "sti", "hlt", "hlt", "hlt", "hlt",
                "movq [{o}], xmm0", "movq [{o} + 8], xmm1", "movq [{o} + 16], xmm2",
                "movq [{o} + 24], xmm3", "movq [{o} + 32], xmm4", "movq [{o} + 40], xmm5",
                "movq [{o} + 48], xmm6", "movq [{o} + 56], xmm7", "movq [{o} + 64], xmm8",
                "movq [{o} + 72], xmm9", "movq [{o} + 80], xmm10", "movq [{o} + 88], xmm11",
                "movq [{o} + 96], xmm12", "movq [{o} + 104], xmm13", "movq [{o} + 112], xmm14",
                "movq [{o} + 120], xmm15",
                o = in(reg) out.as_mut_ptr(),
                out("rax") _, out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _,
                out("xmm9") _, out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _,
                out("xmm14") _, out("xmm15") _,
            );
        }
        let mut expect = [0u64; 16];
        let mut v: u64 = 0x2222_2222_2222_2222;
        expect[0] = 0x1111_1111_1111_1111;
        expect[1] = v;
        for (i, e) in expect.iter_mut().enumerate().skip(2) {
            v += 2 * i as u64 - 1;
            *e = v;
        }
        assert_eq!(out, expect);
    }
}
