//! `memcpy`, `memmove`, `memset` and `memcmp`/`bcmp` of the kernel image: unrolled loops of
//! 64-bit moves, and a compare eight bytes at a time.
//!
//! Every copy and fill in the kernel ends here: the frames a page fault zeroes, the data
//! `read` and `write` move between files and programs, the kernel's own `Vec`s and boxes.
//! `compiler_builtins` provides these symbols too, as weak definitions built on `rep movsq` /
//! `rep stosq` (the kernel target has no `ermsb`); these strong ones replace them at link
//! time. Written by hand because no crate offers a replacement, and because the kernel runs
//! under QEMU's TCG, where a `rep` string instruction costs one pass through the emulator's
//! dispatch per element. Measured in the OS (a static C program, one vCPU, 256 KiB per call,
//! QEMU 7.2 TCG): zeroing with `rep stosq` 60 us, with 8 x `mov` per loop 30 us; copying with
//! `rep movsq` 79 us, with 4 x `mov` load/store pairs per loop 58 us (`rep movsb` 490/585 us,
//! SSE copies 144 us: 128-bit loads are slow in TCG). Linux on the same CPU model (`qemu64`,
//! no `REP_GOOD`/`ERMS`) uses such loops as well. The copy moves 64 bytes per iteration (two
//! blocks of four load/store pairs): a 64 KiB `read` took 26 700 guest instructions in
//! `memcpy` with 32 per iteration, 22 000 with 64, in half the translation blocks. Its `memcmp` (which every `str` and
//! slice comparison calls: a directory lookup compares names, a path walk many of them)
//! compares a byte per loop iteration; this one compares eight. No routine has a byte loop:
//! the 1 to 7 bytes a length leaves over a multiple of eight are covered by the last eight
//! bytes moved again (loaded before anything is stored, so overlapping moves stay right), and
//! a length under eight by two overlapping pieces of four or two bytes (a byte loop is a
//! translation block per byte under TCG; a 12-byte name copied in it took three of them).
//!
//! The routines use only general registers the C ABI lets a callee change (no SSE, no string
//! instructions, so the direction flag does not matter) and no stack.
//!
//! Depends on nothing. Host tests (`cargo test -p mem_routines`) call the same code by its own
//! names (`mem_routines_memcpy`, ...; only the kernel build gives it the C names): every
//! length up to 300 at every alignment, overlapping moves both ways, compares differing at
//! every position both ways, against byte-by-byte references.

#![no_std]

// SAFETY (of the definitions): each routine reads and writes only `count` bytes at the
// pointers it is given, as the C standard specifies, and follows the System V calling
// convention (arguments in rdi, rsi, rdx; result in rax; only rcx, rdx, rsi, rdi, r8-r11
// changed; no stack use, so the kernel's lack of a red zone does not matter).
core::arch::global_asm!(
    r#"
    .section .text.mem_routines, "ax"

    // memset(rdi = dest, esi = byte, rdx = count) -> rax = dest
    .global mem_routines_memset
    .type mem_routines_memset, @function
mem_routines_memset:
    mov rax, rdi
    movzx esi, sil
    mov rcx, 0x0101010101010101
    imul rsi, rcx
    cmp rdx, 8
    jb 7f
    cmp rdx, 64
    jb 2f
1:
    mov [rdi], rsi
    mov [rdi + 8], rsi
    mov [rdi + 16], rsi
    mov [rdi + 24], rsi
    mov [rdi + 32], rsi
    mov [rdi + 40], rsi
    mov [rdi + 48], rsi
    mov [rdi + 56], rsi
    add rdi, 64
    sub rdx, 64
    cmp rdx, 64
    jae 1b
2:
    cmp rdx, 8
    jb 4f
3:
    mov [rdi], rsi
    add rdi, 8
    sub rdx, 8
    cmp rdx, 8
    jae 3b
4:
    // The 0 to 7 bytes left: the last eight of the whole (at least eight) written again.
    mov [rdi + rdx - 8], rsi
    ret
    // Under 8 bytes: the first and the last four (or two) bytes, overlapping; or one byte.
7:
    cmp rdx, 4
    jb 8f
    mov [rdi], esi
    mov [rdi + rdx - 4], esi
    ret
8:
    cmp rdx, 2
    jb 9f
    mov [rdi], si
    mov [rdi + rdx - 2], si
    ret
9:
    test rdx, rdx
    jz 6f
    mov [rdi], sil
6:
    ret
    .size mem_routines_memset, . - mem_routines_memset

    // memcpy(rdi = dest, rsi = src, rdx = count) -> rax = dest; the regions do not overlap.
    // memmove jumps here too when a forward copy is safe (dest below src, or no overlap):
    // each step loads a whole block before storing it, and a store below the source never
    // reaches bytes not loaded yet.
    .global mem_routines_memcpy
    .type mem_routines_memcpy, @function
    // Copies the 32 bytes at `rsi + off` to `rdi + off`: four loads, then four stores.
    .macro copy32_forward off
    mov rcx, [rsi + \off]
    mov r8, [rsi + \off + 8]
    mov r9, [rsi + \off + 16]
    mov r10, [rsi + \off + 24]
    mov [rdi + \off], rcx
    mov [rdi + \off + 8], r8
    mov [rdi + \off + 16], r9
    mov [rdi + \off + 24], r10
    .endm
mem_routines_memcpy:
    mov rax, rdi
    cmp rdx, 8
    jb .Lcopy_under_8
    // The source's last eight bytes, loaded before anything is stored and stored last, over
    // the 0 to 7 bytes the steps below leave (and some they copied, with the same values):
    // no byte loop. Loaded first, they are right for a forward memmove too.
    mov r11, [rsi + rdx - 8]
    cmp rdx, 64
    jb 7f
    // 64 bytes per iteration, as two blocks of 32 (the loop's own instructions are a fifth
    // of it instead of a third).
1:
    copy32_forward 0
    copy32_forward 32
    add rsi, 64
    add rdi, 64
    sub rdx, 64
    cmp rdx, 64
    jae 1b
7:
    cmp rdx, 32
    jb 2f
    copy32_forward 0
    add rsi, 32
    add rdi, 32
    sub rdx, 32
2:
    cmp rdx, 8
    jb 4f
3:
    mov rcx, [rsi]
    mov [rdi], rcx
    add rsi, 8
    add rdi, 8
    sub rdx, 8
    cmp rdx, 8
    jae 3b
4:
    mov [rdi + rdx - 8], r11
    ret
    // Under 8 bytes: the first and the last four (or two) bytes, overlapping, all loaded
    // before they are stored (memmove comes here for any overlap); or one byte.
.Lcopy_under_8:
    cmp rdx, 4
    jb 5f
    mov ecx, [rsi]
    mov r8d, [rsi + rdx - 4]
    mov [rdi], ecx
    mov [rdi + rdx - 4], r8d
    ret
5:
    cmp rdx, 2
    jb 6f
    movzx ecx, word ptr [rsi]
    movzx r8d, word ptr [rsi + rdx - 2]
    mov [rdi], cx
    mov [rdi + rdx - 2], r8w
    ret
6:
    test rdx, rdx
    jz 8f
    mov cl, [rsi]
    mov [rdi], cl
8:
    ret
    .size mem_routines_memcpy, . - mem_routines_memcpy

    // memmove(rdi = dest, rsi = src, rdx = count) -> rax = dest; the regions may overlap.
    // With dest above src and overlapping, copy from the end down: each step loads a whole
    // block before storing it, and a store above the source never reaches bytes not loaded.
    .global mem_routines_memmove
    .type mem_routines_memmove, @function
mem_routines_memmove:
    mov rcx, rdi
    sub rcx, rsi
    cmp rcx, rdx
    jae mem_routines_memcpy
    mov rax, rdi
    cmp rdx, 8
    jb .Lcopy_under_8
    // The source's first eight bytes, loaded before anything is stored and stored last at
    // the destination's start, over the 0 to 7 bytes the steps down leave.
    mov r11, [rsi]
    add rsi, rdx
    add rdi, rdx
    cmp rdx, 32
    jb 2f
1:
    mov rcx, [rsi - 8]
    mov r8, [rsi - 16]
    mov r9, [rsi - 24]
    mov r10, [rsi - 32]
    mov [rdi - 8], rcx
    mov [rdi - 16], r8
    mov [rdi - 24], r9
    mov [rdi - 32], r10
    sub rsi, 32
    sub rdi, 32
    sub rdx, 32
    cmp rdx, 32
    jae 1b
2:
    cmp rdx, 8
    jb 4f
3:
    mov rcx, [rsi - 8]
    mov [rdi - 8], rcx
    sub rsi, 8
    sub rdi, 8
    sub rdx, 8
    cmp rdx, 8
    jae 3b
4:
    mov [rax], r11
    ret
    .size mem_routines_memmove, . - mem_routines_memmove

    // memcmp(rdi = a, rsi = b, rdx = count) -> eax: negative, 0 or positive as the first
    // differing byte of `a` is below or above `b`'s (unsigned), 0 when all are equal. Eight
    // bytes at a time, the last eight (overlapping bytes already found equal) read once
    // more; a differing word is byte-swapped so that its first byte is the most significant
    // one. Under 8 bytes: the first and the last four (overlapping), then byte by byte.
    .global mem_routines_memcmp
    .type mem_routines_memcmp, @function
mem_routines_memcmp:
    cmp rdx, 8
    jb 4f
    lea r8, [rdi + rdx - 8]
    lea r9, [rsi + rdx - 8]
1:
    mov rax, [rdi]
    mov rcx, [rsi]
    cmp rax, rcx
    jne 3f
    add rdi, 8
    add rsi, 8
    cmp rdi, r8
    jb 1b
    mov rax, [r8]
    mov rcx, [r9]
    cmp rax, rcx
    jne 3f
    xor eax, eax
    ret
3:
    bswap rax
    bswap rcx
    cmp rax, rcx
    sbb eax, eax
    or eax, 1
    ret
4:
    cmp edx, 4
    jb 6f
    mov eax, [rdi]
    mov ecx, [rsi]
    cmp eax, ecx
    jne 5f
    mov eax, [rdi + rdx - 4]
    mov ecx, [rsi + rdx - 4]
    cmp eax, ecx
    jne 5f
    xor eax, eax
    ret
5:
    bswap eax
    bswap ecx
    cmp eax, ecx
    sbb eax, eax
    or eax, 1
    ret
6:
    xor eax, eax
    test edx, edx
    jz 8f
7:
    movzx eax, byte ptr [rdi]
    movzx ecx, byte ptr [rsi]
    sub eax, ecx
    jnz 8f
    inc rdi
    inc rsi
    dec edx
    jnz 7b
8:
    ret
    .size mem_routines_memcmp, . - mem_routines_memcmp
"#
);

// The C names, in the kernel only (a host test binary keeps its C library's).
#[cfg(not(test))]
core::arch::global_asm!(
    ".global memset",
    ".set memset, mem_routines_memset",
    ".global memcpy",
    ".set memcpy, mem_routines_memcpy",
    ".global memmove",
    ".set memmove, mem_routines_memmove",
    ".global memcmp",
    ".set memcmp, mem_routines_memcmp",
    ".global bcmp",
    ".set bcmp, mem_routines_memcmp",
);

#[cfg(test)]
mod tests;
