//! `select` and `pselect6`: the readiness of descriptors given as `fd_set` bitmaps, waited for
//! on the VFS's readiness generation like `poll` (no busy polling). Exceptional conditions are
//! never reported (nothing here has out-of-band data). `select` writes the time left back to
//! its `timeval`, as Linux does; `pselect6` replaces the signal mask during the wait.

use super::fs::NS_PER_S;
use alloc::vec;
use alloc::vec::Vec;
use libtheseus::fs;
use libtheseus::time::monotonic_ns;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result};

/// `FD_SETSIZE`: the bits of one `fd_set`.
const FD_SETSIZE: u64 = 1024;

/// One `fd_set` argument: its address (0: none) and its first `nfds` bits.
struct Set {
    addr: u64,
    bits: Vec<u8>,
}

impl Set {
    fn read(addr: u64, nfds: u64) -> Result<Set> {
        let mut bits = vec![0u8; nfds.div_ceil(64) as usize * 8];
        if addr != 0 {
            usermode::read(addr, &mut bits)?;
        }
        Ok(Set { addr, bits })
    }

    fn has(&self, fd: u64) -> bool {
        self.bits[(fd / 8) as usize] & (1 << (fd % 8)) != 0
    }

    fn write_back(&self, ready: &[u64]) -> Result<()> {
        if self.addr == 0 {
            return Ok(());
        }
        let mut out = vec![0u8; self.bits.len()];
        for &fd in ready {
            out[(fd / 8) as usize] |= 1 << (fd % 8);
        }
        usermode::write(self.addr, &out)
    }
}

/// Waits until a descriptor of `sets` (read, write, except) is ready or `deadline` passes;
/// returns the count of ready bits and leaves only those set.
fn select_until(nfds: u64, sets: [u64; 3], deadline: Option<u64>) -> Result<u64> {
    if nfds > FD_SETSIZE {
        return Err(Errno::EINVAL);
    }
    let [read, write, except] = sets.map(|addr| Set::read(addr, nfds));
    let (read, write, except) = (read?, write?, except?);
    loop {
        let generation = fs::readiness_generation();
        let (mut readable, mut writable) = (Vec::new(), Vec::new());
        for f in 0..nfds {
            let (r, w, e) = (read.has(f), write.has(f), except.has(f));
            if !(r || w || e) {
                continue;
            }
            let fd = f as u32;
            if r && fs::poll_readable(fd).map_err(|_| Errno::EBADF)? {
                readable.push(f);
            }
            if w && fs::poll_writable(fd).map_err(|_| Errno::EBADF)? {
                writable.push(f);
            }
            if e {
                fs::fstat(fd).map_err(|_| Errno::EBADF)?;
            }
        }
        let count = (readable.len() + writable.len()) as u64;
        if count > 0 || deadline.is_some_and(|d| monotonic_ns() >= d) {
            read.write_back(&readable)?;
            write.write_back(&writable)?;
            except.write_back(&[])?;
            return Ok(count);
        }
        fs::wait_readiness_change(generation, deadline)?;
    }
}

/// A relative timeout of `secs` and `nanos` as a monotonic deadline; `EINVAL` if negative.
fn deadline(secs: i64, nanos: i64) -> Result<u64> {
    if secs < 0 || !(0..NS_PER_S).contains(&nanos) {
        return Err(Errno::EINVAL);
    }
    let ns = (secs as u64).saturating_mul(NS_PER_S as u64) + nanos as u64;
    Ok(monotonic_ns().saturating_add(ns))
}

pub fn select(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let timeout = a[4];
    let until = if timeout == 0 {
        None
    } else {
        let tv: [i64; 2] = usermode::read_value(timeout)?;
        if !(0..1_000_000).contains(&tv[1]) {
            return Err(Errno::EINVAL);
        }
        Some(deadline(tv[0], tv[1] * 1000)?)
    };
    let n = select_until(a[0], [a[1], a[2], a[3]], until)?;
    if let Some(until) = until {
        let left = until.saturating_sub(monotonic_ns());
        let tv = [
            (left / NS_PER_S as u64) as i64,
            ((left % NS_PER_S as u64) / 1000) as i64,
        ];
        usermode::write_value(timeout, &tv)?;
    }
    Ok(n)
}

pub fn pselect6(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let until = if a[4] == 0 {
        None
    } else {
        let ts: [i64; 2] = usermode::read_value(a[4])?;
        Some(deadline(ts[0], ts[1])?)
    };
    // The sixth argument: { const sigset_t *set; size_t size } (no struct: no mask).
    let (set, size) = if a[5] == 0 {
        (0, 0)
    } else {
        usermode::read_value::<[u64; 2]>(a[5])?.into()
    };
    super::signal::with_mask(set, size, || select_until(a[0], [a[1], a[2], a[3]], until))
}
