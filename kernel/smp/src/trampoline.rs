//! The start-up path of an application processor, from the real mode a start-up IPI leaves
//! it in to [`crate::ap_main`] in long mode.
//!
//! A start-up IPI with vector `V` starts the processor in 16-bit real mode at physical
//! `V * 4096` (below 1 MiB), so a few bytes must live there: [`TRAMPOLINE_PHYS`] receives a
//! copy of `smp_trampoline_start..smp_trampoline_end`, which loads a small GDT (in the kernel
//! image's `.data`), turns on protected mode and jumps into the kernel image, which is
//! identity-mapped in the kernel's page tables. From there `smp_entry32` (32-bit) enables
//! PAE, SSE (as the boot trampoline does), loads the kernel's own page tables from
//! [`AP_CR3`], enables long mode, NX, write protection and paging, and far-jumps to
//! `smp_entry64`, which takes its stack from [`AP_STACK`] and calls `ap_main(AP_ARG)`.
//! The real-mode part is all that runs outside the kernel image: 40 bytes.
//!
//! Written in assembly by hand: no crate provides an SMP trampoline for this kernel's layout.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, AtomicU64};

/// Where the real-mode part is copied: page 8 (the start-up vector is the page number). The
/// first MiB is never handed out by the frame allocator.
pub const TRAMPOLINE_PHYS: u64 = 0x8000;

/// The kernel's page-table root for the processor starting now (loaded in 32-bit mode, so
/// it must lie below 4 GiB).
pub static AP_CR3: AtomicU32 = AtomicU32::new(0);
/// The top of the stack of the processor starting now.
pub static AP_STACK: AtomicU64 = AtomicU64::new(0);
/// `ap_main`'s argument for the processor starting now.
pub static AP_ARG: AtomicU64 = AtomicU64::new(0);

global_asm!(
    r#"
    .section .rodata.smp_trampoline, "a"
    .global smp_trampoline_start
    .global smp_trampoline_end
    .code16
smp_trampoline_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    # lgdt [smp_gdt_ptr] with a 32-bit operand (the GDT's base is above 16 MiB).
    .byte 0x66, 0x0f, 0x01, 0x16
    .short smp_gdt_ptr - smp_trampoline_start
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    # jmp far 0x18:smp_entry32, with a 32-bit offset.
    .byte 0x66, 0xea
    .long smp_entry32
    .short 0x18
    .balign 8
smp_gdt_ptr:
    .short smp_gdt_end - smp_gdt - 1
    .long smp_gdt
smp_trampoline_end:

    .section .data.smp_gdt, "aw"
    .balign 16
    # null; 0x08 64-bit code; 0x10 data; 0x18 32-bit code (accessed bits preset).
smp_gdt:
    .quad 0
    .quad 0x00af9b000000ffff
    .quad 0x00cf93000000ffff
    .quad 0x00cf9b000000ffff
smp_gdt_end:

    .section .text.smp_entry, "ax"
    .code32
smp_entry32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, 0x620
    mov cr4, eax
    mov eax, dword ptr [{cr3}]
    mov cr3, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x900
    wrmsr
    mov eax, cr0
    and eax, 0xfffffffb
    or eax, 0x80010002
    mov cr0, eax
    # jmp far 0x08:smp_entry64
    .byte 0xea
    .long smp_entry64
    .short 0x08

    .code64
smp_entry64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, qword ptr [rip + {stack}]
    mov rdi, qword ptr [rip + {arg}]
    xor ebp, ebp
    call {main}
    ud2
"#,
    cr3 = sym AP_CR3,
    stack = sym AP_STACK,
    arg = sym AP_ARG,
    main = sym crate::ap_main,
);

unsafe extern "C" {
    static smp_trampoline_start: u8;
    static smp_trampoline_end: u8;
}

/// The real-mode part's bytes (to copy to [`TRAMPOLINE_PHYS`]).
pub fn real_mode_code() -> &'static [u8] {
    // SAFETY: both symbols bound the trampoline's bytes in `.rodata`, start before end.
    unsafe {
        let start = &raw const smp_trampoline_start;
        let end = &raw const smp_trampoline_end;
        core::slice::from_raw_parts(start, end.offset_from(start) as usize)
    }
}
