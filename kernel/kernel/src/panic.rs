//! The panic handler (message, location, backtrace of return addresses), and power-off.

use core::panic::PanicInfo;
use x86_64::instructions::port::Port;

#[derive(Clone, Copy)]
#[repr(u32)]
pub enum QemuExit {
    /// QEMU exits with status 33.
    Success = 0x10,
    /// QEMU exits with status 35.
    Failure = 0x11,
}

/// Ends QEMU through the `isa-debug-exit` device (status `(code << 1) | 1`).
pub fn exit_qemu(code: QemuExit) -> ! {
    // SAFETY: port 0xf4 is QEMU's isa-debug-exit device; without it the write is ignored.
    unsafe { Port::<u32>::new(0xf4).write(code as u32) };
    halt_forever()
}

/// Powers the machine off: ACPI on QEMU's PC machine, then isa-debug-exit, then halt.
pub fn power_off(_status: u8) -> ! {
    // SAFETY: QEMU's PIIX4 ACPI PM1a control port (S5 sleep); ignored where absent.
    unsafe { Port::<u16>::new(0x604).write(0x2000) };
    exit_qemu(QemuExit::Success)
}

pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Prints the return addresses found by following the frame-pointer chain (the kernel is
/// built with frame pointers). Symbolization comes with the backtrace subsystem.
fn print_backtrace() {
    let mut rbp: u64;
    // SAFETY: reads the frame pointer register.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp) };
    serial::panic_write(format_args!("backtrace:\n"));
    for depth in 0..32 {
        if rbp == 0
            || !rbp.is_multiple_of(8)
            || memory::translate(rbp).is_none()
            || memory::translate(rbp + 8).is_none()
        {
            break;
        }
        // SAFETY: rbp points at a mapped frame record [saved rbp, return address].
        let (next, ret) = unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
        if ret == 0 {
            break;
        }
        serial::panic_write(format_args!("  {depth:2}: {ret:#018x}\n"));
        if next <= rbp {
            break;
        }
        rbp = next;
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    if let Some(test) = ktest::current() {
        serial::panic_write(format_args!("FAILED\n"));
        serial::panic_write(format_args!("test {} panicked: {}\n", test.name, info));
        print_backtrace();
        serial::panic_write(format_args!("ktest: aborted after a failure\n"));
        exit_qemu(QemuExit::Failure);
    }
    serial::panic_write(format_args!("\nKERNEL PANIC: {info}\n"));
    print_backtrace();
    exit_qemu(QemuExit::Failure)
}
