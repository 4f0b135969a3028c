//! Vectored reads and writes at an offset: `preadv`, `pwritev`, `preadv2`, `pwritev2` (one
//! transfer through `libtheseus::iovec`, as `readv`/`writev`).

use super::fs::{fd, iovecs};
use libtheseus::fs;
use libtheseus::iovec;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result};

/// The offset argument: `None` for -1 (the `*v2` calls' "use the file position").
fn offset(v: u64, current_allowed: bool) -> Result<Option<u64>> {
    match v as i64 {
        -1 if current_allowed => Ok(None),
        o if o < 0 => Err(Errno::EINVAL),
        o => Ok(Some(o as u64)),
    }
}

fn read_at(f: u32, iov: u64, count: u64, at: Option<u64>) -> Result<u64> {
    let vecs = iovecs(iov, count)?;
    for &(base, len) in &vecs {
        usermode::check(base, len, true)?;
    }
    let n = iovec::read_vectored(
        &vecs,
        |buf| match at {
            Some(o) => fs::pread(f, buf, o),
            None => fs::read(f, buf),
        },
        usermode::write,
    )?;
    Ok(n as u64)
}

fn write_at(f: u32, iov: u64, count: u64, at: Option<u64>) -> Result<u64> {
    let vecs = iovecs(iov, count)?;
    let n = iovec::write_vectored(&vecs, usermode::read, |data| match at {
        Some(o) => fs::pwrite(f, data, o),
        None => fs::write(f, data),
    })?;
    Ok(n as u64)
}

pub fn preadv(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    read_at(fd(a[0])?, a[1], a[2], offset(a[3], false)?)
}

pub fn pwritev(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    write_at(fd(a[0])?, a[1], a[2], offset(a[3], false)?)
}

/// `preadv2`: flags (`RWF_*`: hints) are accepted when known; offset -1 reads at the position.
pub fn preadv2(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    check_flags(a[5])?;
    read_at(fd(a[0])?, a[1], a[2], offset(a[3], true)?)
}

pub fn pwritev2(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    check_flags(a[5])?;
    write_at(fd(a[0])?, a[1], a[2], offset(a[3], true)?)
}

/// `RWF_HIPRI`, `RWF_DSYNC`, `RWF_SYNC` change nothing for memory-backed files; `RWF_NOWAIT`
/// and `RWF_APPEND` are not supported (`EOPNOTSUPP`, as Linux for a file system without them).
fn check_flags(flags: u64) -> Result<()> {
    const HIPRI_DSYNC_SYNC: u64 = 0x1 | 0x2 | 0x4;
    match flags & !HIPRI_DSYNC_SYNC {
        0 => Ok(()),
        _ => Err(Errno::EOPNOTSUPP),
    }
}
