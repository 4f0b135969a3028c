//! `sys_poll` (readiness of descriptors, with a timeout) and `sys_eventfd`: what mio's
//! Hermit backend needs.
//!
//! Poll checks every descriptor's readiness, and while none is ready sleeps in 1 ms steps
//! (the scheduler tick bounds the real latency) until the timeout passes: there is no
//! wake-up on readiness yet. `POLLHUP` is not reported separately: a pipe whose writers are
//! gone is readable (EOF).

use crate::abi::{self, pollfd};
use crate::edge::{self, ret_i32};
use crate::fd;
use core::time::Duration;
use libtheseus::fs;
use libtheseus::time::monotonic_ns;
use libtheseus::{Errno, thread};

/// Waits until one of the `nfds` descriptors is ready for its `events` or `timeout`
/// milliseconds pass (negative: no limit; 0: just check). Sets each `revents`; returns how
/// many are ready (0 on timeout). Negative `fd`s are skipped; closed ones get `POLLNVAL`.
///
/// # Safety
/// A non-null `fds` must point to `nfds` writable `pollfd`s.
pub(crate) unsafe extern "C" fn sys_poll(fds: *mut pollfd, nfds: usize, timeout: i32) -> i32 {
    ret_i32((|| {
        // SAFETY: the caller's contract.
        let fds = unsafe { edge::slice_mut(fds, nfds) }?;
        let deadline = u64::try_from(timeout)
            .ok()
            .map(|ms| monotonic_ns().saturating_add(ms.saturating_mul(1_000_000)));
        loop {
            let ready = scan(fds);
            if ready > 0 {
                return Ok(ready);
            }
            let now = monotonic_ns();
            let left = match deadline {
                Some(d) if now >= d => return Ok(0),
                Some(d) => d - now,
                None => u64::MAX,
            };
            thread::sleep(Duration::from_nanos(left.min(1_000_000)));
        }
    })())
}

/// Sets every `revents`; returns how many are non-zero.
fn scan(fds: &mut [pollfd]) -> i32 {
    let mut ready = 0;
    for p in fds.iter_mut() {
        p.revents = match u32::try_from(p.fd) {
            Err(_) => 0,
            Ok(fd) => match (fs::poll_readable(fd), fs::poll_writable(fd)) {
                (Ok(r), Ok(w)) => abi::poll_revents(p.events, r, w),
                _ => abi::POLLNVAL,
            },
        };
        if p.revents != 0 {
            ready += 1;
        }
    }
    ready
}

/// A new eventfd with counter `initval`; `flags`: `EFD_SEMAPHORE`, `EFD_NONBLOCK`,
/// `EFD_CLOEXEC` (recorded only). Returns its descriptor; `-EINVAL` for other flags.
pub(crate) extern "C" fn sys_eventfd(initval: u64, flags: i16) -> i32 {
    ret_i32((|| {
        let known = abi::EFD_SEMAPHORE | abi::EFD_NONBLOCK | abi::EFD_CLOEXEC;
        if flags & !known != 0 {
            return Err(Errno::EINVAL);
        }
        let nonblocking = flags & abi::EFD_NONBLOCK != 0;
        let new = fs::eventfd(initval, flags & abi::EFD_SEMAPHORE != 0, nonblocking)?;
        fd::record_new(new, abi::O_RDWR, nonblocking)?;
        if flags & abi::EFD_CLOEXEC != 0 {
            fd::with_desc(new, |d| d.cloexec = true)?;
        }
        Ok(new as i32)
    })())
}

libtheseus::export_symbol!(sys_poll, sys_eventfd);
