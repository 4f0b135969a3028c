//! Program runtime: exit, abort, errno, parallelism, clocks, entropy.

use crate::abi::{self, timespec};
use crate::edge::{self, err, ret_i32, ret_isize};
use libtheseus::time::{self, Clock};
use libtheseus::{Errno, random};

/// Ends the program with `status`.
///
/// For now this ends the calling thread with `status` as its exit value (the program's other
/// threads keep running); the process module will turn it into a process exit.
pub(crate) extern "C" fn sys_exit(status: i32) -> ! {
    libtheseus::exit(status as isize)
}

/// Ends the program abnormally: like `sys_exit(134)` (128 + SIGABRT).
pub(crate) extern "C" fn sys_abort() -> ! {
    libtheseus::exit(134)
}

/// The calling thread's last errno.
pub(crate) extern "C" fn sys_get_errno() -> i32 {
    edge::errno()
}

/// The parallelism std should assume: the kernel schedules programs on one core.
pub(crate) extern "C" fn sys_available_parallelism() -> usize {
    1
}

/// Stores the time of `clock` (`CLOCK_REALTIME` = 1, `CLOCK_MONOTONIC` = 4) at `tp`. 0, or
/// `-EINVAL` for another clock, `-EFAULT` for a null `tp`.
///
/// # Safety
/// A non-null `tp` must be valid for a write of a `timespec`.
pub(crate) unsafe extern "C" fn sys_clock_gettime(clock: i32, tp: *mut timespec) -> i32 {
    ret_i32((|| {
        let clock = match clock {
            abi::CLOCK_REALTIME => Clock::Realtime,
            abi::CLOCK_MONOTONIC => Clock::Monotonic,
            _ => return Err(err(abi::EINVAL)),
        };
        let now = time::now(clock);
        let t = timespec {
            tv_sec: now.sec,
            tv_nsec: now.nsec as i32,
        };
        // SAFETY: the caller's contract.
        unsafe { edge::write_out(tp, t) }?;
        Ok(0)
    })())
}

/// Fills `len` bytes at `buf` with random data; returns `len`. `-EINVAL` for unknown flags,
/// `-EFAULT` for a null `buf` (with `len > 0`).
///
/// # Safety
/// A non-null `buf` must be valid for writes of `len` bytes.
pub(crate) unsafe extern "C" fn sys_read_entropy(buf: *mut u8, len: usize, flags: u32) -> isize {
    ret_isize((|| {
        if flags & !(abi::GRND_NONBLOCK | abi::GRND_RANDOM) != 0 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller's contract.
        let out = unsafe { edge::bytes_mut(buf, len) }?;
        random::fill(out);
        Ok(len)
    })())
}

libtheseus::export_symbol!(
    sys_exit,
    sys_abort,
    sys_get_errno,
    sys_available_parallelism,
    sys_clock_gettime,
    sys_read_entropy,
);
