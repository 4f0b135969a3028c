//! CPU tables and interrupt delivery: the GDT with a TSS whose IST stacks (each above a guard
//! page) take double faults, NMIs and page faults; the IDT with a handler for every CPU
//! exception (reported with vector, error code, RIP and, for page faults, CR2 — never a silent
//! triple fault); the legacy 8259 PICs remapped to vectors 32..48; and hardware IRQ entry
//! stubs that save the general registers, MXCSR and XMM0-15 around the Rust handler, so
//! interrupted code may use SSE freely (the local APIC timer's vector too; the x87 state,
//! which the kernel never touches, stays in the CPU); and
//! each CPU's own GDT, TSS and per-CPU block.
//!
//! Depends on `x86_64` (descriptor tables), `pic8259`, `memory` (IST stacks), `spin`, `log`.

#![no_std]

extern crate alloc;

mod exceptions;
mod gdt;
mod irq;
mod simd_asm;
mod tests;

pub use exceptions::{
    Fault, FaultAction, FaultKind, FxArea, TrapFrame, before_user_return, breakpoint_count,
    set_fault_hook, set_nmi_handler, set_user_return_hook, user_return_from_frame,
};
pub use gdt::{
    CpuTables, KERNEL_CS, KERNEL_SS, PERCPU_KERNEL_FS, PERCPU_KERNEL_RSP, PERCPU_USER_RSP, USER_CS,
    USER_SS, cpu_index, current_task, init_this_cpu, prepare_cpu, scratch_frame, set_current_task,
    set_kernel_entry, take_interrupted_user_mode,
};
pub use irq::{
    CALL_VECTOR, IRQ_BASE, LOCAL_TIMER_VECTOR, RESCHEDULE_VECTOR, SPURIOUS_VECTOR, register_irq,
    set_call_handler, set_irq_entry_hook, set_local_timer_handler, set_reschedule_handler,
};

/// Loads the GDT, TSS and IDT and initializes the PICs with every IRQ masked.
/// Interrupts stay disabled; enable them with `x86_64::instructions::interrupts::enable`.
pub fn init() {
    gdt::init();
    // GS now names the boot CPU's block: locks can record their holder's CPU.
    cpu_mutex::set_cpu_index(cpu_index);
    exceptions::init_idt();
    irq::init_pics();
}
