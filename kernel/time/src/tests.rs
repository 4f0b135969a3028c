//! In-kernel tests of the timer and clocks.

use crate::*;
use ktest::kernel_test;

kernel_test! {
    fn timer_ticks_advance() {
        // From a tick's arrival (not from anywhere inside one tick's period).
        let edge = ticks();
        while ticks() == edge {
            x86_64::instructions::interrupts::enable_and_hlt();
        }
        let start = ticks();
        let t0 = monotonic_ns();
        while ticks() < start + 5 {
            x86_64::instructions::interrupts::enable_and_hlt();
        }
        let elapsed = monotonic_ns() - t0;
        // Five ticks at 100 Hz: 50 ms, less up to one period if the tick waited for above
        // came late (the emulator's thread off the host's CPUs: the next ones keep their
        // times), more if some were lost that way; a busy host has made three ticks from an
        // arbitrary start take 18.7 ms.
        assert!(elapsed > 35_000_000 && elapsed < 2_000_000_000, "5 ticks took {elapsed} ns");
    }
}

kernel_test! {
    fn monotonic_clock_is_monotonic_and_fine() {
        let mut last = monotonic_ns();
        let mut distinct = 0;
        for _ in 0..10_000 {
            let now = monotonic_ns();
            assert!(now >= last);
            if now != last {
                distinct += 1;
            }
            last = now;
        }
        assert!(distinct > 1000, "nanosecond clock should change between reads ({distinct})");
        assert!(tsc_hz() > 1_000_000);
    }
}

kernel_test! {
    fn sleep_waits_long_enough() {
        let t0 = monotonic_ns();
        sleep_ns(30_000_000);
        let dt = monotonic_ns() - t0;
        assert!((30_000_000..300_000_000).contains(&dt), "slept {dt} ns");
    }
}

kernel_test! {
    fn realtime_is_after_2024() {
        assert!(realtime_ns() / 1_000_000_000 > 1_704_067_200);
    }
}

kernel_test! {
    fn civil_date_conversions() {
        assert_eq!(
            civil_from_unix(0),
            DateTime { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 }
        );
        assert_eq!(
            civil_from_unix(951_782_400), // 2000-02-29 00:00:00
            DateTime { year: 2000, month: 2, day: 29, hour: 0, minute: 0, second: 0 }
        );
        for secs in [0u64, 68_169_600, 951_782_400, 1_764_000_000, 4_102_444_799] {
            let d = civil_from_unix(secs);
            assert_eq!(unix_from_civil(d.year, d.month, d.day, d.hour, d.minute, d.second), secs);
        }
    }
}

kernel_test! {
    fn tsc_calibration_is_repeatable() {
        // The calibration used at boot, repeated now (interrupts on, other work around):
        // every run must agree with the boot value within 0.5%. One raw 10 ms measurement,
        // as the calibration was before, is printed for comparison.
        let boot = tsc_hz();
        let mut worst = 0u64;
        for _ in 0..3 {
            let hz = calibrate_tsc();
            worst = worst.max(hz.abs_diff(boot) * 100_000 / boot);
        }
        let (mut lo, mut hi) = (u64::MAX, 0);
        for _ in 0..10 {
            let hz = calibrate_tsc_single();
            lo = lo.min(hz);
            hi = hi.max(hz);
        }
        log::warn!(
            "tsc calibration: boot {} kHz; repeated: worst {}.{:03}% off; single 10 ms \
             measurements: {} .. {} kHz",
            boot / 1000,
            worst / 1000,
            worst % 1000,
            lo / 1000,
            hi / 1000
        );
        assert!(worst < 500, "calibration off by {}.{:03}%", worst / 1000, worst % 1000);
    }
}

kernel_test! {
    fn tsc_conversion_matches_the_division_it_replaces() {
        for hz in [1_000_000u64, 1_193_182, 2_099_999_999, 3_000_000_000, 4_700_123_456] {
            let mult = ns_mult(hz);
            for tsc in [0u64, 1, 999, hz - 1, hz, 3 * hz + 7, hz * 86_400, hz * 86_400 * 365] {
                let exact = (u128::from(tsc) * 1_000_000_000 / u128::from(hz)) as u64;
                let fast = tsc_to_ns(tsc, mult);
                // Never ahead of the exact value, and behind by at most 1 ns per 100 s
                // (+1 for the two truncations).
                assert!(fast <= exact, "{tsc} cycles at {hz} Hz: {fast} > {exact}");
                assert!(
                    exact - fast <= exact / 100_000_000_000 + 1,
                    "{tsc} cycles at {hz} Hz: {fast}, exactly {exact}"
                );
            }
        }
    }
}
