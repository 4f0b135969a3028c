//! The panic handler (message, location, symbolized backtrace), and power-off.

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

/// Prints the symbolized call chain (frame pointers + the kernel's symbol table). Takes no
/// lock but the console's, which `serial::panic_write` breaks, and does not allocate.
fn print_backtrace() {
    let mut frames = [0u64; backtrace::MAX_FRAMES];
    let n = backtrace::capture_into(&mut frames);
    serial::panic_write(format_args!("backtrace:\n"));
    let _ = backtrace::write_backtrace(&frames[..n], &mut PanicConsole);
}

/// Stops the kernel after a fault or panic inside the memory allocator (its locks held by
/// the failing code, the heap possibly half-updated): nothing may allocate or take those
/// locks, so the report goes straight to the console from fixed buffers. `fault` is the
/// faulting context's `(rbp, rip)`, where the backtrace starts (else: here).
pub fn fatal_in_allocator(what: core::fmt::Arguments, fault: Option<(u64, u64)>) -> ! {
    x86_64::instructions::interrupts::disable();
    if let Some(test) = ktest::current() {
        serial::panic_write(format_args!("\ntest {} ... FAILED\n", test.name));
    }
    serial::panic_write(format_args!(
        "\nKERNEL PANIC: {what}; its locks are held, so nothing can allocate and the heap may \
         be corrupt\nbacktrace:\n"
    ));
    let mut frames = [0u64; backtrace::MAX_FRAMES];
    let _ = match fault {
        Some((rbp, rip)) => {
            let n = backtrace::capture_from_into(rbp, rip, &mut frames);
            backtrace::write_fault_backtrace(&frames[..n], &mut PanicConsole)
        }
        None => {
            let n = backtrace::capture_into(&mut frames);
            backtrace::write_backtrace(&frames[..n], &mut PanicConsole)
        }
    };
    exit_qemu(QemuExit::Failure)
}

/// The console for reports that may not allocate or take locks other than the console's.
struct PanicConsole;

impl core::fmt::Write for PanicConsole {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        serial::panic_write(format_args!("{s}"));
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    let were_enabled = x86_64::instructions::interrupts::are_enabled();
    x86_64::instructions::interrupts::disable();
    // Inside the allocator: the usual reports below allocate.
    if memory::allocator_busy() {
        fatal_in_allocator(format_args!("{info}"), None);
    }
    // A panic in a spawned task ends that task only: unwind its stack (running destructors,
    // releasing what it held) back to its entry, which records the reason as its exit value.
    if task::current_is_killable() && !task::current_is_unwinding() {
        let reason = task_panic_reason(info);
        if were_enabled {
            x86_64::instructions::interrupts::enable();
        }
        task::start_unwinding(reason.clone());
        // No frame information to unwind with: end the task where it stands.
        task::exit_with(task::ExitValue::Killed(reason));
    }
    if task::current_is_killable() {
        // A second panic while unwinding: stop unwinding, end the task now.
        task::exit_with(task::ExitValue::Killed(alloc::format!(
            "panicked while unwinding: {info}"
        )));
    }
    if let Some(test) = ktest::current() {
        serial::panic_write(format_args!("\ntest {} ... FAILED\n", test.name));
        serial::panic_write(format_args!("test {} panicked: {}\n", test.name, info));
        print_backtrace();
        serial::panic_write(format_args!("ktest: aborted after a failure\n"));
        exit_qemu(QemuExit::Failure);
    }
    serial::panic_write(format_args!("\nKERNEL PANIC: {info}\n"));
    print_backtrace();
    exit_qemu(QemuExit::Failure)
}

/// "panicked at FILE:LINE: MESSAGE" plus the symbolized backtrace of the panicking task.
fn task_panic_reason(info: &PanicInfo) -> alloc::string::String {
    use core::fmt::Write;
    let mut reason = alloc::format!("{info}\nbacktrace:\n");
    let mut frames = [0u64; backtrace::MAX_FRAMES];
    let n = backtrace::capture_into(&mut frames);
    // Skip the panic machinery's own frames (handler, core::panicking).
    let skip = frames[..n]
        .iter()
        .position(|&f| {
            backtrace::symbolize(f.saturating_sub(1)).is_some_and(|(name, _)| {
                let name = alloc::string::ToString::to_string(&name);
                !name.starts_with("core::panicking")
                    && !name.contains("rust_begin_unwind")
                    && !name.contains("task_panic_reason")
            })
        })
        .unwrap_or(0);
    let _ = backtrace::write_backtrace(&frames[skip..n], &mut reason);
    let _ = reason.write_str("");
    reason
}
