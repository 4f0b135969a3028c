//! Descriptor calls, and the state posix keeps per open file description beside the VFS
//! (status flags for `F_GETFL`, the directory cursor of `sys_getdents64`).
//!
//! The state is keyed by `libtheseus::fs::description_id` (shared by `dup`ed descriptors).
//! It is created by posix's own `open`/`eventfd` (replacing any stale entry of a reused id)
//! or on first use, counted by posix's `dup`, and dropped by posix's `close` of the last
//! descriptor posix knows of. Descriptions that end otherwise (a killed program's
//! descriptors) leave a stale entry until their id is reused by a posix `open`.

use crate::abi::{self, Seek, iovec};
use crate::edge::{self, err, ret_i32, ret_isize};
use alloc::collections::BTreeMap;
use libtheseus::fs::{self, SeekFrom};
use libtheseus::sync::Mutex;
use libtheseus::{Errno, Result};

/// What posix knows of one open file description.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Desc {
    /// Access mode and `O_APPEND` (`F_GETFL`).
    pub status: i32,
    pub nonblocking: bool,
    /// `FD_CLOEXEC`: recorded per description (there is no `exec` to honour it).
    pub cloexec: bool,
    /// The `readdir` cookie where the next `sys_getdents64` continues.
    pub dir_cursor: u64,
    /// Descriptors posix knows to refer to it.
    refs: u32,
}

impl Desc {
    fn new(status: i32, nonblocking: bool) -> Desc {
        Desc {
            status,
            nonblocking,
            cloexec: false,
            dir_cursor: 0,
            refs: 1,
        }
    }
}

static DESCS: Mutex<BTreeMap<u64, Desc>> = Mutex::new(BTreeMap::new());

/// Records the description of the new descriptor `fd` (replacing a stale entry).
pub(crate) fn record_new(fd: u32, status: i32, nonblocking: bool) -> Result<()> {
    let id = fs::description_id(fd)?;
    DESCS.lock().insert(id, Desc::new(status, nonblocking));
    Ok(())
}

/// Runs `f` on the state of `fd`'s description (created on first use: read-write,
/// blocking). `EBADF` if `fd` is not open.
pub(crate) fn with_desc<R>(fd: u32, f: impl FnOnce(&mut Desc) -> R) -> Result<R> {
    let id = fs::description_id(fd)?;
    let mut descs = DESCS.lock();
    let desc = descs
        .entry(id)
        .or_insert_with(|| Desc::new(abi::O_RDWR, false));
    Ok(f(desc))
}

/// `EACCES` (not open for this access) is `EBADF` for `read` and `write` in POSIX.
fn rw_errno(e: Errno) -> Errno {
    if e == Errno::EACCES { Errno::EBADF } else { e }
}

/// Reads up to `len` bytes into `buf`; returns the count (0 at end of file).
///
/// # Safety
/// A non-null `buf` must be valid for writes of `len` bytes.
pub(crate) unsafe extern "C" fn sys_read(fd: i32, buf: *mut u8, len: usize) -> isize {
    ret_isize((|| {
        let fd = edge::fd(fd)?;
        // SAFETY: the caller's contract.
        let buf = unsafe { edge::bytes_mut(buf, len) }?;
        fs::read(fd, buf).map_err(rw_errno)
    })())
}

/// Writes `len` bytes from `buf`; returns the count written.
///
/// # Safety
/// A non-null `buf` must be valid for reads of `len` bytes.
pub(crate) unsafe extern "C" fn sys_write(fd: i32, buf: *const u8, len: usize) -> isize {
    ret_isize((|| {
        let fd = edge::fd(fd)?;
        // SAFETY: the caller's contract.
        let buf = unsafe { edge::bytes(buf, len) }?;
        fs::write(fd, buf).map_err(rw_errno)
    })())
}

/// `readv`: fills the `iovcnt` buffers in order, stopping at a short read. An error after
/// some bytes were read returns the count so far.
///
/// # Safety
/// A non-null `iov` must point to `iovcnt` `iovec`s, each valid for writes of its length.
pub(crate) unsafe extern "C" fn sys_readv(fd: i32, iov: *const iovec, iovcnt: usize) -> isize {
    ret_isize((|| {
        let fd = edge::fd(fd)?;
        // SAFETY: the caller's contract.
        let iovs = unsafe { iovecs(iov, iovcnt) }?;
        let mut total = 0;
        for v in iovs {
            // SAFETY: the caller's contract (each iovec describes a writable buffer).
            let buf = unsafe { edge::bytes_mut(v.iov_base, v.iov_len) }?;
            match fs::read(fd, buf) {
                Ok(n) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Err(_) if total > 0 => break,
                Err(e) => return Err(rw_errno(e)),
            }
        }
        Ok(total)
    })())
}

/// `writev`: writes the `iovcnt` buffers in order, stopping at a short write. An error
/// after some bytes were written returns the count so far.
///
/// # Safety
/// A non-null `iov` must point to `iovcnt` `iovec`s, each valid for reads of its length.
pub(crate) unsafe extern "C" fn sys_writev(fd: i32, iov: *const iovec, iovcnt: usize) -> isize {
    ret_isize((|| {
        let fd = edge::fd(fd)?;
        // SAFETY: the caller's contract.
        let iovs = unsafe { iovecs(iov, iovcnt) }?;
        let mut total = 0;
        for v in iovs {
            // SAFETY: the caller's contract (each iovec describes a readable buffer).
            let buf = unsafe { edge::bytes(v.iov_base, v.iov_len) }?;
            match fs::write(fd, buf) {
                Ok(n) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Err(_) if total > 0 => break,
                Err(e) => return Err(rw_errno(e)),
            }
        }
        Ok(total)
    })())
}

/// # Safety
/// A non-null `iov` must point to `iovcnt` `iovec`s.
unsafe fn iovecs<'a>(iov: *const iovec, iovcnt: usize) -> Result<&'a [iovec]> {
    if iovcnt > abi::IOV_MAX {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the caller's contract.
    unsafe { edge::slice(iov, iovcnt) }
}

/// Closes `fd`.
pub(crate) extern "C" fn sys_close(fd: i32) -> i32 {
    ret_i32((|| {
        let fd = edge::fd(fd)?;
        let id = fs::description_id(fd)?;
        fs::close(fd)?;
        let mut descs = DESCS.lock();
        if let Some(d) = descs.get_mut(&id) {
            d.refs = d.refs.saturating_sub(1);
            if d.refs == 0 {
                descs.remove(&id);
            }
        }
        Ok(0)
    })())
}

/// Duplicates `fd` onto the lowest free descriptor (sharing offset and flags).
pub(crate) extern "C" fn sys_dup(fd: i32) -> i32 {
    ret_i32((|| {
        let new = fs::dup(edge::fd(fd)?)?;
        with_desc(new, |d| d.refs += 1)?;
        Ok(new as i32)
    })())
}

/// Moves the offset of `fd` (`whence` 0 = SET, 1 = CUR, 2 = END); returns the new offset.
/// On a directory, `lseek(fd, 0, SEEK_SET)` rewinds `sys_getdents64`.
pub(crate) extern "C" fn sys_lseek(fd: i32, offset: isize, whence: i32) -> isize {
    ret_isize((|| {
        let fd = edge::fd(fd)?;
        let pos = match abi::decode_seek(offset, whence).map_err(err)? {
            Seek::Start(n) => SeekFrom::Start(n),
            Seek::Current(n) => SeekFrom::Current(n),
            Seek::End(n) => SeekFrom::End(n),
        };
        let new = fs::seek(fd, pos)?;
        if new == 0 {
            with_desc(fd, |d| d.dir_cursor = 0)?;
        }
        usize::try_from(new).map_err(|_| err(abi::EINVAL))
    })())
}

/// `FIONBIO` (`*argp` non-zero: non-blocking) is the one request; others are `-EINVAL`.
///
/// # Safety
/// For `FIONBIO`, a non-null `argp` must point to an `i32`.
pub(crate) unsafe extern "C" fn sys_ioctl(fd: i32, cmd: i32, argp: *mut u8) -> i32 {
    ret_i32((|| {
        let fd = edge::fd(fd)?;
        if cmd != abi::FIONBIO {
            fs::description_id(fd)?;
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller's contract.
        let on = unsafe { edge::read_in(argp.cast::<i32>()) }? != 0;
        set_nonblocking(fd, on)?;
        Ok(0)
    })())
}

fn set_nonblocking(fd: u32, on: bool) -> Result<()> {
    fs::set_nonblocking(fd, on)?;
    with_desc(fd, |d| d.nonblocking = on)
}

/// `F_GETFD`/`F_SETFD` (`FD_CLOEXEC`, recorded only), `F_GETFL`/`F_SETFL` (only
/// `O_NONBLOCK` can change), `F_DUPFD` with `arg` 0 (= `dup`). Others: `-EINVAL`.
pub(crate) extern "C" fn sys_fcntl(fd: i32, cmd: i32, arg: i32) -> i32 {
    ret_i32((|| {
        let ufd = edge::fd(fd)?;
        match cmd {
            abi::F_GETFD => with_desc(ufd, |d| if d.cloexec { abi::FD_CLOEXEC } else { 0 }),
            abi::F_SETFD => with_desc(ufd, |d| {
                d.cloexec = arg & abi::FD_CLOEXEC != 0;
                0
            }),
            abi::F_GETFL => with_desc(ufd, |d| {
                d.status | if d.nonblocking { abi::O_NONBLOCK } else { 0 }
            }),
            abi::F_SETFL => {
                set_nonblocking(ufd, arg & abi::O_NONBLOCK != 0)?;
                Ok(0)
            }
            abi::F_DUPFD if arg == 0 => match sys_dup(fd) {
                n if n < 0 => Err(err(-n)),
                n => Ok(n),
            },
            _ => {
                fs::description_id(ufd)?;
                Err(Errno::EINVAL)
            }
        }
    })())
}

libtheseus::export_symbol!(
    sys_read, sys_write, sys_readv, sys_writev, sys_close, sys_dup, sys_lseek, sys_ioctl,
    sys_fcntl,
);
