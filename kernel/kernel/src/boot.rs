//! The boot trampoline: from the 32-bit protected-mode entry of either boot protocol to
//! `kernel_entry` in 64-bit long mode.
//!
//! Two entries, one ELF:
//! - multiboot2 (GRUB, the real path): `mb2_entry`, the ELF entry point; EAX holds the
//!   multiboot2 magic and EBX the physical address of the boot information.
//! - PVH (QEMU `-kernel`, the fast test path): `pvh_entry`, named by the `XEN_ELFNOTE_PHYS32_ENTRY`
//!   note; EBX holds the physical address of `hvm_start_info`.
//!
//! Both arrive with paging off. The trampoline zeroes .bss, checks for long mode, builds
//! temporary page tables that map the first 4 GiB twice (identity, and at the direct-map offset
//! `0xffff_8000_0000_0000` the rest of the kernel uses for physical memory), enables PAE, long
//! mode, NX, write protection and SSE (the kernel is compiled with SSE2), and calls
//! `kernel_entry(protocol, info_phys)`. The kernel replaces these tables with its own at once.
//!
//! Written in assembly by hand: no crate provides a multiboot2 + PVH trampoline.

use core::arch::global_asm;

/// `kernel_entry`'s first argument when booted by a multiboot2 loader.
pub const PROTOCOL_MULTIBOOT2: u32 = 1;
/// `kernel_entry`'s first argument when booted through PVH.
pub const PROTOCOL_PVH: u32 = 2;

global_asm!(
    r#"
    .section .multiboot2_header, "a"
    .balign 8
mb2_header_start:
    .long 0xe85250d6
    .long 0
    .long mb2_header_end - mb2_header_start
    .long 0x100000000 - (0xe85250d6 + (mb2_header_end - mb2_header_start))
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .balign 4
    .long pvh_entry
    .balign 4

    .section .boot.text, "ax"
    .code32
    .global mb2_entry
mb2_entry:
    cmp eax, 0x36d76289
    jne boot_fail
    mov esi, ebx
    mov edi, 1
    jmp boot_common

    .global pvh_entry
pvh_entry:
    mov esi, ebx
    mov edi, 2
    jmp boot_common

boot_common:
    cli
    cld
    mov ebp, edi
    mov edi, offset __bss_start
    mov ecx, offset __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb
    mov edi, ebp
    mov esp, offset boot_stack_top
    mov dword ptr [boot_protocol], edi
    mov dword ptr [boot_info_phys], esi

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb boot_fail
    mov eax, 0x80000001
    cpuid
    test edx, 0x20000000
    jz boot_fail

    mov eax, offset boot_pdpt
    or eax, 3
    mov dword ptr [boot_pml4], eax
    mov dword ptr [boot_pml4 + 256 * 8], eax

    xor ecx, ecx
.Lpdpt_loop:
    mov eax, ecx
    shl eax, 12
    add eax, offset boot_pd
    or eax, 3
    mov dword ptr [boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jne .Lpdpt_loop

    xor ecx, ecx
.Lpd_loop:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov dword ptr [boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 2048
    jne .Lpd_loop

    mov eax, cr4
    or eax, 0x620
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x900
    wrmsr
    mov eax, cr0
    and eax, 0xfffffffb
    or eax, 0x80010002
    mov cr0, eax
    lgdt [boot_gdt_ptr]
    mov eax, offset long_mode_entry
    push 0x08
    push eax
    retf

boot_fail:
    mov dx, 0x3f8
    mov al, 0x21
    out dx, al
.Lfail_loop:
    cli
    hlt
    jmp .Lfail_loop

    .code64
long_mode_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov edi, dword ptr [boot_protocol]
    mov esi, dword ptr [boot_info_phys]
    xor ebp, ebp
    call kernel_entry
.Lhalt64:
    cli
    hlt
    jmp .Lhalt64

    .section .rodata
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096 * 4
boot_stack_bottom:
    .skip 65536
boot_stack_top:
boot_protocol:
    .skip 4
boot_info_phys:
    .skip 4
"#
);
