//! Time: the PIT ticking at [`TICK_HZ`] (IRQ 0), a monotonic clock with nanosecond
//! resolution from the TSC calibrated against the PIT, and wall-clock time from the CMOS RTC.
//!
//! The monotonic clock counts from power-on (the TSC starts at zero at reset), so
//! [`monotonic_ns`] read at the shell prompt is the boot time. Depends on `x86_64` (ports,
//! `rdtsc`) and `interrupts` (IRQ registration).
//!
//! The RTC and PIT drivers are hand-written: each is a handful of port accesses, and no
//! maintained no_std crate covers PIT channel-2 calibration.

#![no_std]

mod rtc;
mod tests;

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

/// Timer interrupts per second.
pub const TICK_HZ: u64 = 100;
const PIT_HZ: u64 = 1_193_182;

static TICKS: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per TSC cycle as a fixed-point number (`2^40 * 10^9 / TSC_HZ`): a clock
/// read multiplies instead of dividing (a 128-bit division is a library call of ~50
/// instructions, on every wait and every `clock_gettime`).
static TSC_NS_MULT: AtomicU64 = AtomicU64::new(0);
/// Wall-clock nanoseconds since the Unix epoch at monotonic time zero.
static EPOCH_OFFSET_NS: AtomicU64 = AtomicU64::new(0);
static TICK_HOOK: AtomicU64 = AtomicU64::new(0);

fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// One PIT channel-2 measurement: the TSC ticks of `count` PIT periods and the uncertainty
/// of that number (how far apart the TSC reads around the two PIT events were). A preemption
/// of the whole machine (QEMU's thread descheduled by the host) between a PIT event and its
/// TSC read shows as a large uncertainty instead of a wrong rate.
fn measure_pit(count: u16) -> (u64, u64) {
    let mut gate: Port<u8> = Port::new(0x61);
    let mut cmd: Port<u8> = Port::new(0x43);
    let mut ch2: Port<u8> = Port::new(0x42);
    // SAFETY: PIT and keyboard-controller port B accesses; channel 2 drives only the speaker
    // gate, which stays off (bit 1 clear).
    unsafe {
        let g = gate.read();
        gate.write((g & !0x02) | 0x01);
        cmd.write(0b1011_0000); // channel 2, lobyte/hibyte, mode 0, binary
        ch2.write((count & 0xff) as u8);
        // Counting starts with the high byte.
        let s0 = rdtsc();
        ch2.write((count >> 8) as u8);
        let s1 = rdtsc();
        // The output goes high between the last read that saw it low and the first that
        // sees it high: bracket that event by the TSC reads around both.
        let mut before_last_low = s1;
        loop {
            let a = rdtsc();
            let high = gate.read() & 0x20 != 0;
            let b = rdtsc();
            if high {
                gate.write(g);
                let ticks = (before_last_low + b) / 2 - (s0 + s1) / 2;
                let uncertainty = (b - before_last_low) / 2 + (s1 - s0) / 2;
                return (ticks, uncertainty);
            }
            before_last_low = a;
        }
    }
}

/// PIT periods in one calibration measurement (10 ms).
const CALIBRATION_COUNT: u16 = (PIT_HZ / 100) as u16;

/// The TSC rate in Hz: the median of five 10 ms PIT measurements whose uncertainty is below
/// 0.1% (up to 40 tries; if too few are that good, the best ones). One measurement alone was
/// off by tens of percent whenever the host descheduled QEMU in its window, which made the
/// clock run too fast or too slow for the whole session.
pub fn calibrate_tsc() -> u64 {
    let mut good: [(u64, u64); 40] = [(0, u64::MAX); 40];
    let mut n = 0;
    let mut accepted = 0;
    while n < good.len() && accepted < 5 {
        let (ticks, unc) = measure_pit(CALIBRATION_COUNT);
        good[n] = (ticks, unc);
        n += 1;
        if unc.saturating_mul(1000) < ticks {
            accepted += 1;
        }
    }
    let tried = &mut good[..n];
    // Best (smallest uncertainty) first, then the median of the best five by rate.
    tried.sort_unstable_by_key(|&(_, unc)| unc);
    let best = &mut tried[..n.min(5)];
    best.sort_unstable_by_key(|&(ticks, _)| ticks);
    let ticks = best[best.len() / 2].0;
    ticks * PIT_HZ / u64::from(CALIBRATION_COUNT)
}

/// One uncorrected 10 ms measurement, as the calibration was before: for comparison in tests.
pub fn calibrate_tsc_single() -> u64 {
    measure_pit(CALIBRATION_COUNT).0 * PIT_HZ / u64::from(CALIBRATION_COUNT)
}

fn start_pit() {
    let divisor = (PIT_HZ / TICK_HZ) as u16;
    // SAFETY: programs PIT channel 0 (the system timer) as a rate generator.
    unsafe {
        Port::<u8>::new(0x43).write(0b0011_0100);
        Port::<u8>::new(0x40).write((divisor & 0xff) as u8);
        Port::<u8>::new(0x40).write((divisor >> 8) as u8);
    }
}

fn on_tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
    let hook = TICK_HOOK.load(Ordering::Relaxed);
    if hook != 0 {
        // SAFETY: only `set_tick_hook` stores here, always a valid `fn()`.
        let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(hook as usize) };
        f();
    }
}

/// Calibrates the TSC, reads the RTC and starts the timer interrupt (after `interrupts::init`).
pub fn init() {
    let hz = calibrate_tsc();
    TSC_HZ.store(hz.max(1), Ordering::SeqCst);
    TSC_NS_MULT.store(ns_mult(hz.max(1)), Ordering::SeqCst);
    let wall = rtc::read_unix_seconds();
    let mono = monotonic_ns();
    EPOCH_OFFSET_NS.store(
        (wall * 1_000_000_000).saturating_sub(mono),
        Ordering::SeqCst,
    );
    start_pit();
    interrupts::register_irq(0, on_tick);
    log::info!(
        "time: TSC {} MHz, RTC {} s since the epoch",
        hz / 1_000_000,
        wall
    );
}

/// Runs `hook` on every timer tick, in interrupt context (the scheduler's entry point).
pub fn set_tick_hook(hook: fn()) {
    TICK_HOOK.store(hook as usize as u64, Ordering::SeqCst);
}

/// The TSC frequency in Hz (0 before `init`).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// The largest value [`monotonic_ns`] has returned.
static LAST_NS: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds since power-on: never smaller than a value returned before, to any task (the
/// TSC conversion is raised to the latest value handed out, should the TSC ever step back,
/// e.g. between CPUs).
pub fn monotonic_ns() -> u64 {
    let mult = TSC_NS_MULT.load(Ordering::Relaxed);
    if mult == 0 {
        return 0;
    }
    let now = tsc_to_ns(rdtsc(), mult);
    LAST_NS.fetch_max(now, Ordering::AcqRel).max(now)
}

/// Fraction bits of [`TSC_NS_MULT`].
const NS_MULT_SHIFT: u32 = 40;

/// [`TSC_NS_MULT`] for a TSC of `hz` (at least 1; below 60 Hz it saturates).
fn ns_mult(hz: u64) -> u64 {
    ((1_000_000_000u128 << NS_MULT_SHIFT) / u128::from(hz)).min(u128::from(u64::MAX)) as u64
}

/// `tsc` cycles in ns at [`ns_mult`]'s `mult`: the truncated multiplier makes it lag the
/// exact quotient by `hz / 2^40` ns per second (0.003 ns at 3 GHz).
fn tsc_to_ns(tsc: u64, mult: u64) -> u64 {
    ((u128::from(tsc) * u128::from(mult)) >> NS_MULT_SHIFT) as u64
}

/// Nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    EPOCH_OFFSET_NS.load(Ordering::Relaxed) + monotonic_ns()
}

/// Timer interrupts since the timer started.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Waits at least `ns` nanoseconds, halting the CPU between interrupts.
pub fn sleep_ns(ns: u64) {
    let end = monotonic_ns() + ns;
    while monotonic_ns() < end {
        x86_64::instructions::interrupts::enable_and_hlt();
    }
}

/// A civil date and time (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Converts seconds since the Unix epoch into a UTC date (proleptic Gregorian calendar).
pub fn civil_from_unix(secs: u64) -> DateTime {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days-to-civil conversion over 400-year eras (Howard Hinnant's public-domain method).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    DateTime {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
    }
}

/// Converts a UTC date into seconds since the Unix epoch.
pub fn unix_from_civil(year: i64, month: u32, day: u32, h: u32, m: u32, s: u32) -> u64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)).max(0) as u64
}
