//! Clocks: a monotonic clock (nanoseconds since power-on, from the calibrated TSC) and a
//! realtime clock (nanoseconds since the Unix epoch: the CMOS RTC read at boot plus the
//! monotonic clock since), as plain nanoseconds or as a POSIX-style [`Timespec`].

/// Which clock (`CLOCK_MONOTONIC`, `CLOCK_REALTIME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Clock {
    /// Never goes back; counts from power-on.
    Monotonic,
    /// Wall-clock time since 1970-01-01 00:00:00 UTC.
    Realtime,
}

/// A time split into seconds and nanoseconds (`struct timespec`); `nsec < 1_000_000_000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

impl Timespec {
    /// From nanoseconds.
    pub const fn from_ns(ns: u64) -> Timespec {
        Timespec {
            sec: (ns / 1_000_000_000) as i64,
            nsec: (ns % 1_000_000_000) as u32,
        }
    }

    /// As nanoseconds (saturating; negative times give 0).
    pub fn as_ns(self) -> u64 {
        if self.sec < 0 {
            return 0;
        }
        (self.sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(self.nsec))
    }
}

/// Nanoseconds since power-on.
pub fn monotonic_ns() -> u64 {
    time::monotonic_ns()
}

/// Nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    time::realtime_ns()
}

/// The current time of `clock` (`clock_gettime`).
pub fn now(clock: Clock) -> Timespec {
    Timespec::from_ns(match clock {
        Clock::Monotonic => monotonic_ns(),
        Clock::Realtime => realtime_ns(),
    })
}

/// The resolution of `clock` (`clock_getres`): one TSC tick rounded up to a nanosecond
/// (both clocks read the TSC).
pub fn resolution(_clock: Clock) -> Timespec {
    let hz = time::tsc_hz().max(1);
    Timespec::from_ns(1_000_000_000u64.div_ceil(hz).max(1))
}
