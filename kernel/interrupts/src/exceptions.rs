//! The IDT: a handler for every CPU exception and the IRQ stubs.

use crate::gdt::{DOUBLE_FAULT_IST, NMI_IST, PAGE_FAULT_IST};
use crate::irq::{IRQ_BASE, STUBS};
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode};

static IDT: Once<InterruptDescriptorTable> = Once::new();
static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);

/// How many breakpoint exceptions (`int3`) have been handled.
pub fn breakpoint_count() -> u64 {
    BREAKPOINTS.load(Ordering::SeqCst)
}

fn fatal(name: &str, vector: u8, frame: &InterruptStackFrame, error: Option<u64>) -> ! {
    match error {
        Some(code) => panic!(
            "CPU exception {name} (vector {vector}, error code {code:#x}) at rip {:#x}, rsp {:#x}",
            frame.instruction_pointer.as_u64(),
            frame.stack_pointer.as_u64()
        ),
        None => panic!(
            "CPU exception {name} (vector {vector}) at rip {:#x}, rsp {:#x}",
            frame.instruction_pointer.as_u64(),
            frame.stack_pointer.as_u64()
        ),
    }
}

macro_rules! plain {
    ($fn:ident, $name:literal, $vector:literal) => {
        extern "x86-interrupt" fn $fn(frame: InterruptStackFrame) {
            fatal($name, $vector, &frame, None)
        }
    };
}

macro_rules! with_code {
    ($fn:ident, $name:literal, $vector:literal) => {
        extern "x86-interrupt" fn $fn(frame: InterruptStackFrame, code: u64) {
            fatal($name, $vector, &frame, Some(code))
        }
    };
}

plain!(divide_error, "divide error (#DE)", 0);
plain!(debug, "debug (#DB)", 1);
plain!(nmi, "non-maskable interrupt", 2);
plain!(overflow, "overflow (#OF)", 4);
plain!(bound_range, "bound range exceeded (#BR)", 5);
plain!(invalid_opcode, "invalid opcode (#UD)", 6);
plain!(device_not_available, "device not available (#NM)", 7);
with_code!(invalid_tss, "invalid TSS (#TS)", 10);
with_code!(segment_not_present, "segment not present (#NP)", 11);
with_code!(stack_segment, "stack-segment fault (#SS)", 12);
with_code!(general_protection, "general protection fault (#GP)", 13);
plain!(x87_fp, "x87 floating-point error (#MF)", 16);
with_code!(alignment_check, "alignment check (#AC)", 17);
plain!(simd_fp, "SIMD floating-point error (#XM)", 19);
plain!(virtualization, "virtualization exception (#VE)", 20);
with_code!(control_protection, "control protection (#CP)", 21);
plain!(hv_injection, "hypervisor injection", 28);
with_code!(vmm_communication, "VMM communication (#VC)", 29);
with_code!(security, "security exception (#SX)", 30);

extern "x86-interrupt" fn breakpoint(_frame: InterruptStackFrame) {
    BREAKPOINTS.fetch_add(1, Ordering::SeqCst);
}

extern "x86-interrupt" fn page_fault(frame: InterruptStackFrame, code: PageFaultErrorCode) {
    let addr = Cr2::read_raw();
    panic!(
        "CPU exception page fault (#PF, vector 14) accessing {addr:#x} ({}{}{}) at rip {:#x}{}",
        if code.contains(PageFaultErrorCode::CAUSED_BY_WRITE) {
            "write"
        } else {
            "read"
        },
        if code.contains(PageFaultErrorCode::INSTRUCTION_FETCH) {
            ", instruction fetch"
        } else {
            ""
        },
        if code.contains(PageFaultErrorCode::PROTECTION_VIOLATION) {
            ", protection violation"
        } else {
            ", page not present"
        },
        frame.instruction_pointer.as_u64(),
        guard_hint(addr, frame.stack_pointer.as_u64()),
    )
}

/// Names a likely stack overflow: a fault just below the faulting code's stack pointer.
fn guard_hint(addr: u64, rsp: u64) -> &'static str {
    if addr < rsp && rsp - addr <= 4096 * 2 {
        " (stack overflow into the guard page)"
    } else {
        ""
    }
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, code: u64) -> ! {
    fatal("double fault (#DF)", 8, &frame, Some(code))
}

extern "x86-interrupt" fn machine_check(frame: InterruptStackFrame) -> ! {
    fatal("machine check (#MC)", 18, &frame, None)
}

pub(crate) fn init_idt() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        idt.divide_error.set_handler_fn(divide_error);
        idt.debug.set_handler_fn(debug);
        // SAFETY (all three): the IST indices name stacks installed in the TSS by gdt::init.
        unsafe {
            idt.non_maskable_interrupt
                .set_handler_fn(nmi)
                .set_stack_index(NMI_IST);
            idt.double_fault
                .set_handler_fn(double_fault)
                .set_stack_index(DOUBLE_FAULT_IST);
            idt.page_fault
                .set_handler_fn(page_fault)
                .set_stack_index(PAGE_FAULT_IST);
        }
        idt.breakpoint.set_handler_fn(breakpoint);
        idt.overflow.set_handler_fn(overflow);
        idt.bound_range_exceeded.set_handler_fn(bound_range);
        idt.invalid_opcode.set_handler_fn(invalid_opcode);
        idt.device_not_available
            .set_handler_fn(device_not_available);
        idt.invalid_tss.set_handler_fn(invalid_tss);
        idt.segment_not_present.set_handler_fn(segment_not_present);
        idt.stack_segment_fault.set_handler_fn(stack_segment);
        idt.general_protection_fault
            .set_handler_fn(general_protection);
        idt.x87_floating_point.set_handler_fn(x87_fp);
        idt.alignment_check.set_handler_fn(alignment_check);
        idt.machine_check.set_handler_fn(machine_check);
        idt.simd_floating_point.set_handler_fn(simd_fp);
        idt.virtualization.set_handler_fn(virtualization);
        idt.cp_protection_exception
            .set_handler_fn(control_protection);
        idt.hv_injection_exception.set_handler_fn(hv_injection);
        idt.vmm_communication_exception
            .set_handler_fn(vmm_communication);
        idt.security_exception.set_handler_fn(security);
        for (i, stub) in STUBS.iter().enumerate() {
            // SAFETY: each stub is a complete interrupt entry ending in iretq.
            unsafe {
                idt[IRQ_BASE + i as u8].set_handler_addr(VirtAddr::new(*stub as usize as u64));
            }
        }
        idt
    });
    idt.load();
}
