//! The local APIC in xAPIC mode: its registers through the uncached part of the direct map.
//!
//! Written by hand (a dozen registers): the `x2apic` crate's `enable` rewrites LINT0 and LINT1
//! as unmasked fixed interrupts of vector 0 (QEMU would then deliver the 8259's interrupts to
//! every CPU as vector 0), and its `LocalApic` is a per-CPU object that cannot sit in a
//! static, while the boot CPU and the timer handler need the registers without one.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

const IA32_APIC_BASE: u32 = 0x1b;
const ID: u64 = 0x20;
const EOI: u64 = 0xb0;
const SPURIOUS: u64 = 0xf0;
const ERROR_STATUS: u64 = 0x280;
const ICR_LOW: u64 = 0x300;
const ICR_HIGH: u64 = 0x310;
const LVT_TIMER: u64 = 0x320;
const LVT_LINT0: u64 = 0x350;
const LVT_LINT1: u64 = 0x360;
const LVT_ERROR: u64 = 0x370;
const TIMER_INITIAL: u64 = 0x380;
const TIMER_CURRENT: u64 = 0x390;
const TIMER_DIVIDE: u64 = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const ICR_PENDING: u32 = 1 << 12;
const ICR_INIT: u32 = 0b101 << 8;
const ICR_STARTUP: u32 = 0b110 << 8;
const ICR_NMI: u32 = 0b100 << 8;
const ICR_ASSERT: u32 = 1 << 14;
/// Divide configuration 0b0011: the timer counts at the bus clock / 16.
const DIVIDE_BY_16: u32 = 0b0011;

/// The virtual address of the register page (the same physical page on every CPU: each
/// CPU sees its own local APIC there). 0 until [`init`].
static BASE: AtomicU64 = AtomicU64::new(0);

/// Finds the local APIC's registers (`IA32_APIC_BASE`). Fails if they lie outside the
/// uncached window of the direct map.
pub fn init() -> Result<(), &'static str> {
    // SAFETY: reading IA32_APIC_BASE has no side effect; every x86_64 CPU has it.
    let phys = unsafe { Msr::new(IA32_APIC_BASE).read() } & 0x000f_ffff_ffff_f000;
    let virt = memory::mmio_to_virt(phys, 4096)
        .ok_or("the local APIC's registers are outside the uncached MMIO window")?;
    BASE.store(virt, Ordering::Relaxed);
    Ok(())
}

/// Whether [`init`] found the registers.
pub fn ready() -> bool {
    BASE.load(Ordering::Relaxed) != 0
}

fn read(reg: u64) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    assert_ne!(base, 0, "local APIC used before smp::init");
    // SAFETY: a register of this CPU's local APIC, mapped uncached by the direct map.
    unsafe { core::ptr::read_volatile((base + reg) as *const u32) }
}

fn write(reg: u64, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    assert_ne!(base, 0, "local APIC used before smp::init");
    // SAFETY: as in `read`; every register written here is a documented xAPIC register.
    unsafe { core::ptr::write_volatile((base + reg) as *mut u32, value) }
}

/// This CPU's local APIC ID.
pub fn id() -> u32 {
    read(ID) >> 24
}

/// Software-enables this CPU's local APIC with `spurious` as its spurious vector, with
/// LINT0, LINT1, the error interrupt and the timer masked. For application processors only:
/// the boot CPU keeps the firmware's set-up, in which LINT0 carries the 8259's interrupts.
pub fn enable(spurious: u8) {
    write(LVT_LINT0, LVT_MASKED);
    write(LVT_LINT1, LVT_MASKED);
    write(LVT_ERROR, LVT_MASKED);
    write(LVT_TIMER, LVT_MASKED);
    write(SPURIOUS, (1 << 8) | u32::from(spurious));
    // The error status register is cleared by a write before it is read.
    write(ERROR_STATUS, 0);
}

/// Makes sure this CPU's local APIC is software-enabled (with `spurious` as its spurious
/// vector), changing nothing else: for the boot CPU, whose firmware set-up (LINT0 carrying the
/// 8259's interrupts) stays, and which must accept the fixed IPIs of the other CPUs.
pub fn software_enable(spurious: u8) {
    write(SPURIOUS, (1 << 8) | u32::from(spurious));
}

/// Counts the timer makes in `ns` nanoseconds (bus clock / 16), measured against the TSC
/// clock with the timer masked.
pub fn timer_counts_in(ns: u64) -> u32 {
    write(TIMER_DIVIDE, DIVIDE_BY_16);
    write(LVT_TIMER, LVT_MASKED);
    write(TIMER_INITIAL, u32::MAX);
    let start = time::monotonic_ns();
    while time::monotonic_ns() - start < ns {
        core::hint::spin_loop();
    }
    let counted = u32::MAX - read(TIMER_CURRENT);
    write(TIMER_INITIAL, 0);
    counted
}

/// Starts the periodic timer: an interrupt on `vector` every `counts` (bus clock / 16).
pub fn start_periodic_timer(vector: u8, counts: u32) {
    write(TIMER_DIVIDE, DIVIDE_BY_16);
    write(LVT_TIMER, LVT_PERIODIC | u32::from(vector));
    write(TIMER_INITIAL, counts.max(1));
}

/// Signals the end of the interrupt being handled.
pub fn end_of_interrupt() {
    write(EOI, 0);
}

fn send(apic_id: u32, command: u32) {
    // Interrupts off: a handler on this CPU that sent an IPI between the two writes would
    // change the destination.
    x86_64::instructions::interrupts::without_interrupts(|| {
        write(ICR_HIGH, apic_id << 24);
        write(ICR_LOW, command);
        while read(ICR_LOW) & ICR_PENDING != 0 {
            core::hint::spin_loop();
        }
    });
}

/// Sends a non-maskable interrupt to `apic_id` (it arrives even while that CPU has
/// interrupts disabled). Not from an NMI handler (which may have interrupted a send).
pub fn send_nmi(apic_id: u32) {
    send(apic_id, ICR_NMI | ICR_ASSERT);
}

/// Sends a fixed interrupt with `vector` to `apic_id`.
pub fn send_fixed(apic_id: u32, vector: u8) {
    send(apic_id, ICR_ASSERT | u32::from(vector));
}

/// Sends an INIT IPI (asserted) to `apic_id`: the processor resets and waits for a start-up
/// IPI. (The de-assert message older CPUs needed is ignored by every CPU with an integrated
/// APIC since the Pentium 4, so it is not sent.)
pub fn send_init(apic_id: u32) {
    send(apic_id, ICR_INIT | ICR_ASSERT);
}

/// Sends a start-up IPI to `apic_id`: it starts in real mode at `page * 4096`.
pub fn send_startup(apic_id: u32, page: u8) {
    send(apic_id, ICR_STARTUP | ICR_ASSERT | u32::from(page));
}
