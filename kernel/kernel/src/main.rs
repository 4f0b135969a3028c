//! The kernel binary: the boot trampoline, the initialization sequence, the choice of what to
//! run (interactive shell, `run --exec` command line, or in-kernel tests) from the command
//! line, and the panic handler. It links every layer, so it is the one kernel crate that may
//! depend on upper ones: it gives the shell its WebAssembly commands (`wasm_commands`).
//!
//! Boot flow: `boot.rs` (32-bit entry, long mode) -> [`kernel_entry`] (serial, boot info,
//! frames and page tables, heap) -> switch to a guarded kernel stack -> [`kernel_main`] (GDT,
//! IDT, PICs, timer, clocks, ramdisk, application processors) -> shell / exec / tests.

#![no_std]
#![no_main]

extern crate alloc;

mod boot;
mod cmdline;
mod fault_tests;
mod faults;
mod fuzz_tests;
mod ktest_runner;
mod panic;
mod system_tests;
mod wasm_commands;
mod wasmtime_compiler;

use alloc::string::String;
use boot_info::{BootInfo, PhysMemory};
use memory::PHYS_OFFSET;
// Linked for its in-kernel tests (nothing in the kernel calls the platform layer).
use libtheseus as _;
// Linked for its `memcpy`, `memmove` and `memset` (they replace compiler_builtins' weak ones).
use mem_routines as _;

/// Physical memory as seen through the direct map (boot tables and kernel tables alike).
struct DirectMap;

impl PhysMemory for DirectMap {
    fn read(&self, phys: u64, len: usize) -> Option<&[u8]> {
        // The boot page tables map only the first 4 GiB.
        if phys.checked_add(len as u64)? > 4 << 30 {
            return None;
        }
        // SAFETY: the range lies inside the direct map, which maps all of it readable.
        Some(unsafe { core::slice::from_raw_parts((phys + PHYS_OFFSET) as *const u8, len) })
    }
}

static BOOT_INFO: spin::Once<BootInfo> = spin::Once::new();

/// Entered from the trampoline in long mode on the boot stack.
#[unsafe(no_mangle)]
extern "C" fn kernel_entry(protocol: u32, info_phys: u32) -> ! {
    serial::init(true);
    serial::init_logger(log::LevelFilter::Info);
    let info = match protocol {
        boot::PROTOCOL_PVH => boot_info::parse_pvh(&DirectMap, u64::from(info_phys)),
        // SAFETY: the multiboot2 loader passed this pointer; the boot tables map it.
        boot::PROTOCOL_MULTIBOOT2 => unsafe {
            boot_info::parse_multiboot2(&DirectMap, u64::from(info_phys), PHYS_OFFSET)
        },
        other => panic!("unknown boot protocol {other}"),
    };
    let info = info.unwrap_or_else(|e| panic!("cannot read the boot information: {e}"));
    log::info!(
        "boot: {:?}, {} memory regions, {} modules",
        info.protocol,
        info.usable.len(),
        info.modules.len()
    );
    // SAFETY: first and only call, boot tables active, `info` from the loader.
    unsafe { memory::init(&info) };
    BOOT_INFO.call_once(|| info);
    let stack = memory::allocate_stack(64).expect("no memory for the kernel stack");
    let top = stack.top();
    core::mem::forget(stack); // the boot CPU's stack lives forever
    // SAFETY: `top` is the top of a freshly mapped stack; kernel_main never returns, so
    // nothing on the old stack is used again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {main}",
            "ud2",
            top = in(reg) top,
            main = sym kernel_main,
            options(noreturn)
        )
    }
}

/// Each task's end, once published: it can make a process descriptor readable, and end the
/// shell's foreground job.
fn on_task_end() {
    vfs::readiness::changed();
    shell::task_end_hook();
}

extern "C" fn kernel_main() -> ! {
    interrupts::init();
    time::init();
    serial::set_log_clock(time::monotonic_ns);
    interrupts::register_irq(4, on_serial_irq);
    task::init("kernel_main");
    task::set_end_observer(on_task_end);
    // A process's CPU time keeps its ended threads'.
    task::set_ending_observer(vfs::charge_ending_task);
    usermode::init();
    faults::init();
    posix::init();
    x86_64::instructions::interrupts::enable();
    devices();
    let info = BOOT_INFO
        .get()
        .expect("boot information recorded in kernel_entry");
    let cmdline = info
        .cmdline
        .and_then(|r| DirectMap.read(r.start, (r.end - r.start) as usize))
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("");
    let args = cmdline::parse(cmdline);
    log::info!("kernel command line: {cmdline:?}");
    load_ramdisk(info, args.initrd_xxh64);
    standard_directories();
    load_kernel_symbols();
    wasm_commands::register();
    if let Some((rows, cols)) = args.window {
        vfs::set_console_window_size(rows, cols);
    }
    // Last: the boot information (which may lie in the start-up page) has been read.
    // Each CPU has its own `syscall` registers, and then runs tasks.
    smp::start_application_processors(
        &[usermode::init_this_cpu],
        Some(smp::ApEntry {
            prepare: task::prepare_cpu,
            enter: task::run_this_cpu,
        }),
    );
    match args.mode {
        cmdline::Mode::Test => ktest_runner::run_all(ktest::Group::Default),
        cmdline::Mode::Fuzz => ktest_runner::run_all(ktest::Group::Fuzz),
        cmdline::Mode::Exec => run_exec(&exec_command(&args), args.verbose),
        cmdline::Mode::Shell => run_interactive(),
    }
}

/// Finds the PCI devices and starts the drivers for those the kernel uses.
fn devices() {
    pci::init();
    if !virtio_rng::init() {
        log::info!("no virtio-rng device: random bytes come from the CPU or the fallback");
    }
    let mut seed = [0u8; 8];
    if virtio_rng::fill(&mut seed).is_err() {
        seed = time::monotonic_ns().to_le_bytes();
    }
    // On QEMU's `pc` machine virtio-rng and virtio-net may share an IRQ line.
    virtio_net::set_shared_line_hook(virtio_rng::acknowledge_interrupt);
    // DHCP goes on in the background: boot does not wait for an address.
    if !net_stack::init(u64::from_le_bytes(seed)) {
        log::info!("no virtio-net device: sockets reach loopback only");
    }
}

/// COM1 interrupt: queue the received bytes, then wake tasks blocked reading the console and
/// the shell if it intercepted a Ctrl-C for its foreground job.
fn on_serial_irq() {
    serial::receive_pending();
    vfs::console_input_ready();
    shell::serial_input_hook();
}

/// Creates the directories every program may expect, whatever the ramdisk holds, and mounts
/// `/proc` and `/sys`.
fn standard_directories() {
    let now = vfs::now();
    rootfs::with(|fs| {
        for (dir, mode) in [("/tmp", 0o1777), ("/dev", 0o755), ("/bin", 0o755)] {
            if let Err(e) = fs.mkdir_all(dir, mode, now) {
                log::warn!("{dir}: {e}");
            }
        }
    });
    if let Err(e) = procfs::mount() {
        log::warn!("/proc and /sys: {e}");
    }
}

/// Fills the root file system from the first boot module (the cpio initial ramdisk), within
/// its byte budget: RAM less the kernel's reserve. With `xxh64` (from `initrd-xxh64=`) the
/// module is checked first; a corrupted one is not loaded at all: the error names both
/// values and the system comes up with an empty `/` (the shell and built-in commands work,
/// so the user sees the error and can still look around), rather than with files that may
/// hold wrong bytes, the kernel's symbol file (`/boot/kernel.elf`) among them.
fn load_ramdisk(info: &BootInfo, xxh64: Option<u64>) {
    let ram = memory::frame_stats().total * memory::PAGE_SIZE;
    rootfs::with(|fs| fs.set_byte_limit(rootfs::byte_limit_for(ram)));
    let Some(module) = info.modules.first() else {
        log::warn!("no initial ramdisk: / is empty");
        return;
    };
    let len = (module.end - module.start) as usize;
    let Some(archive) = DirectMap.read(module.start, len) else {
        log::error!(
            "initial ramdisk at {:#x} is outside the direct map",
            module.start
        );
        return;
    };
    match xxh64 {
        Some(expected) => {
            if let Err(e) = rootfs::check_xxh64(archive, expected) {
                log::error!("{e}; not loaded: / starts empty");
                return;
            }
            log::info!("initial ramdisk: XXH64 {expected:#018x} as expected");
        }
        None => log::info!("initial ramdisk: no initrd-xxh64= on the command line; not checked"),
    }
    let now = vfs::now();
    match rootfs::with(|fs| rootfs::load_archive(fs, archive, now)) {
        Ok(n) => log::info!("initial ramdisk: {n} entries, {} KiB", len / 1024),
        Err(e) => log::error!("{e}; continuing with what was loaded"),
    }
}

/// Loads the kernel's symbol table for backtraces from the ramdisk's copy of the kernel ELF
/// (parsed in place: only the table is kept).
fn load_kernel_symbols() {
    const PATH: &str = "/boot/kernel.elf";
    let loaded = rootfs::with(|fs| {
        let elf = fs.lookup(PATH).and_then(|n| fs.file_data(n)).ok()?;
        Some(backtrace::load_symbols(&elf))
    });
    match loaded {
        Some(Ok(table)) => log::info!(
            "kernel symbols: {} functions ({} KiB) from {PATH}",
            table.len(),
            table.heap_bytes() / 1024
        ),
        Some(Err(e)) => log::warn!("{PATH}: {e}; backtraces show bare addresses"),
        None => log::warn!("no {PATH} in the ramdisk; backtraces show bare addresses"),
    }
}

/// The `run --exec` command: from `exec=`, or from the ramdisk file `exec-file=` names.
fn exec_command(args: &cmdline::Args) -> String {
    match (&args.exec, &args.exec_file) {
        (Some(command), _) => command.clone(),
        (None, Some(path)) => {
            let data = rootfs::with(|fs| {
                fs.lookup(path)
                    .and_then(|n| fs.file_data(n).map(|d| d.into_owned()))
            });
            match data.map(String::from_utf8) {
                Ok(Ok(command)) => command,
                Ok(Err(_)) => {
                    log::error!("{path}: the command is not UTF-8");
                    String::new()
                }
                Err(e) => {
                    log::error!("{path}: {e}");
                    String::new()
                }
            }
        }
        (None, None) => String::new(),
    }
}

/// `run --exec`: run one command line, framed by markers xtask looks for, then power off.
fn run_exec(command: &str, verbose: bool) -> ! {
    let boot_us = time::monotonic_ns() / 1000;
    if !verbose {
        log::set_max_level(log::LevelFilter::Warn);
    }
    serial::set_raw(true);
    if !serial::at_line_start() {
        serial::write_bytes(b"\n");
    }
    serial::print!("@@THESEUS-EXEC-BEGIN boot_us={boot_us}@@\n");
    let mut sh = shell::Shell::new();
    let status = sh.run_line(command) & 0xff;
    serial::print!("\n@@THESEUS-EXEC-END status={status}@@\n");
    panic::power_off(status as u8)
}

fn run_interactive() -> ! {
    let ready_ms = time::monotonic_ns() / 1_000_000;
    if let Ok(motd) = rootfs::with(|fs| {
        fs.lookup("/etc/motd")
            .and_then(|n| fs.file_data(n).map(|d| d.into_owned()))
    }) {
        serial::write_bytes(&motd);
    }
    serial::println!(
        "Shell ready {ready_ms} ms after power-on. Type `help` for commands, `poweroff` to leave."
    );
    let mut sh = shell::Shell::new();
    sh.interactive();
    panic::power_off(0)
}
