//! Program runtime: exit, abort, errno, parallelism, clocks, entropy.

use crate::abi::{self, timespec};
use crate::edge::{self, err, ret_i32, ret_isize};
use libtheseus::time::{self, Clock};
use libtheseus::{Errno, random};

/// Ends the program with `status`: all its threads end.
pub(crate) extern "C" fn sys_exit(status: i32) -> ! {
    libtheseus::process::exit_current_process(status)
}

/// Ends the program abnormally: like `sys_exit(134)` (128 + SIGABRT).
pub(crate) extern "C" fn sys_abort() -> ! {
    libtheseus::process::exit_current_process(134)
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

/// Stores a random `u32` at `value` (hermit-abi's `sys_secure_rand32`, which `getrandom`
/// 0.4 calls for `getrandom::u32`). 0, or -1 for a null `value` (hermit's only error value).
///
/// # Safety
/// A non-null `value` must be valid for a write of a `u32`.
pub(crate) unsafe extern "C" fn sys_secure_rand32(value: *mut u32) -> i32 {
    // SAFETY: the caller's contract.
    match unsafe { edge::write_out(value, random::u64() as u32) } {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// Stores a random `u64` at `value` (hermit-abi's `sys_secure_rand64`, `getrandom::u64`). 0,
/// or -1 for a null `value`.
///
/// # Safety
/// A non-null `value` must be valid for a write of a `u64`.
pub(crate) unsafe extern "C" fn sys_secure_rand64(value: *mut u64) -> i32 {
    // SAFETY: the caller's contract.
    match unsafe { edge::write_out(value, random::u64()) } {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

libtheseus::export_symbol!(
    sys_exit,
    sys_abort,
    sys_get_errno,
    sys_available_parallelism,
    sys_clock_gettime,
    sys_read_entropy,
    sys_secure_rand32,
    sys_secure_rand64,
);
