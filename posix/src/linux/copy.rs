//! In-kernel copies between descriptors: `sendfile` (any readable source to any writable
//! destination) and `copy_file_range` (regular files). Both move the data in chunks through a
//! kernel buffer, from an offset given by pointer (updated) or the file position, and stop at
//! the end of the source or a short write; an error after some bytes moved returns the count.
//!
//! The pipe calls: `splice` (one side a pipe: one transfer of what is there, up to `len`,
//! waiting only while nothing is) and `vmsplice` (the program's buffers into a pipe, or out
//! of one) and `tee` (a pipe's bytes copied into another pipe without being taken). Pipes
//! here have no pages to lend, so all three copy; `SPLICE_F_MOVE`, `SPLICE_F_MORE` and
//! `SPLICE_F_GIFT` change nothing.

use super::fs::{fd, iovecs};
use alloc::vec;
use libtheseus::fs::{self, FileType, SeekFrom};
use libtheseus::iovec;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result};

/// Bytes moved per step.
const CHUNK: usize = 64 * 1024;

/// Where one side reads or writes: at an offset kept in the program's memory, or at the file
/// position.
#[derive(Clone, Copy)]
enum At {
    Pointer(u64, u64),
    Position,
}

impl At {
    fn new(addr: u64) -> Result<At> {
        if addr == 0 {
            return Ok(At::Position);
        }
        let off: i64 = usermode::read_value(addr)?;
        u64::try_from(off)
            .map(|o| At::Pointer(addr, o))
            .map_err(|_| Errno::EINVAL)
    }

    fn advance(&mut self, n: usize) {
        if let At::Pointer(_, o) = self {
            *o += n as u64;
        }
    }

    fn store(&self) -> Result<()> {
        match *self {
            At::Pointer(addr, o) => usermode::write_value(addr, &(o as i64)),
            At::Position => Ok(()),
        }
    }
}

/// Copies up to `len` bytes from `src` to `dst`; the count. `once`: stop after the first
/// read that got something (a pipe's transfer: what was there).
fn copy(src: u32, mut from: At, dst: u32, mut to: At, len: usize, once: bool) -> Result<u64> {
    let mut buf = vec![0u8; CHUNK.min(len)];
    let mut done = 0usize;
    let result = loop {
        if done == len {
            break Ok(());
        }
        let want = (len - done).min(CHUNK);
        let got = match from {
            At::Pointer(_, o) => fs::pread(src, &mut buf[..want], o),
            At::Position => fs::read(src, &mut buf[..want]),
        };
        let got = match got {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        let put = match to {
            At::Pointer(_, o) => fs::pwrite(dst, &buf[..got], o),
            At::Position => fs::write(dst, &buf[..got]),
        };
        match put {
            Ok(n) => {
                from.advance(n);
                to.advance(n);
                done += n;
                if n < got {
                    // Give back what was read but not written.
                    if let At::Position = from {
                        let _ = fs::seek(src, SeekFrom::Current(-((got - n) as i64)));
                    }
                    break Ok(());
                }
                if once {
                    break Ok(());
                }
            }
            Err(e) => {
                if let At::Position = from {
                    let _ = fs::seek(src, SeekFrom::Current(-(got as i64)));
                }
                break Err(e);
            }
        }
    };
    from.store()?;
    to.store()?;
    match result {
        Err(e) if done == 0 => Err(e),
        _ => Ok(done as u64),
    }
}

pub fn sendfile(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (dst, src) = (fd(a[0])?, fd(a[1])?);
    let from = At::new(a[2])?;
    let len = usize::try_from(a[3]).unwrap_or(usize::MAX).min(0x7fff_f000);
    copy(src, from, dst, At::Position, len, false)
}

pub fn copy_file_range(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (src, dst) = (fd(a[0])?, fd(a[2])?);
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let (s, d) = (fs::fstat(src)?, fs::fstat(dst)?);
    if s.file_type == FileType::Directory || d.file_type == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    if s.file_type != FileType::File || d.file_type != FileType::File {
        return Err(Errno::EINVAL);
    }
    let (from, to) = (At::new(a[1])?, At::new(a[3])?);
    let len = usize::try_from(a[4]).unwrap_or(usize::MAX).min(0x7fff_f000);
    if s.ino == d.ino {
        // Linux refuses overlapping ranges of one file.
        let pos = |at: At, f: u32| match at {
            At::Pointer(_, o) => fs::seek(f, SeekFrom::Current(0)).map(|_| o),
            At::Position => fs::seek(f, SeekFrom::Current(0)),
        };
        let (i, o) = (pos(from, src)?, pos(to, dst)?);
        if i < o.saturating_add(len as u64) && o < i.saturating_add(len as u64) {
            return Err(Errno::EINVAL);
        }
    }
    copy(src, from, dst, to, len, false)
}

const SPLICE_F_NONBLOCK: u64 = 2;
/// `SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT`.
const SPLICE_F_ALL: u64 = 0xf;

fn is_pipe(f: u32) -> Result<bool> {
    Ok(fs::fstat(f)?.file_type == FileType::Pipe)
}

/// For `SPLICE_F_NONBLOCK`: `EAGAIN` unless the pipe side(s) can move data now.
fn ready(src: u32, src_pipe: bool, dst: u32, dst_pipe: bool) -> Result<()> {
    if (src_pipe && !fs::poll_readable(src)?) || (dst_pipe && !fs::poll_writable(dst)?) {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// `splice(fd_in, off_in, fd_out, off_out, len, flags)`: at least one side is a pipe (else
/// `EINVAL`); a pipe side takes no offset (`ESPIPE`); the other side reads or writes at
/// `*off` (updated) or its file position. Unreadable/unwritable descriptors are `EBADF`.
pub fn splice(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (src, dst) = (fd(a[0])?, fd(a[2])?);
    let flags = a[5];
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (s, d) = (fs::status(src)?, fs::status(dst)?);
    if !s.read || !d.write {
        return Err(Errno::EBADF);
    }
    if d.append {
        return Err(Errno::EINVAL);
    }
    let (src_pipe, dst_pipe) = (is_pipe(src)?, is_pipe(dst)?);
    if !src_pipe && !dst_pipe {
        return Err(Errno::EINVAL);
    }
    if (src_pipe && a[1] != 0) || (dst_pipe && a[3] != 0) {
        return Err(Errno::ESPIPE);
    }
    let len = usize::try_from(a[4]).unwrap_or(usize::MAX).min(CHUNK);
    if len == 0 {
        return Ok(0);
    }
    let (from, to) = (At::new(a[1])?, At::new(a[3])?);
    if flags & SPLICE_F_NONBLOCK != 0 {
        ready(src, src_pipe, dst, dst_pipe)?;
    }
    // One transfer: what the source has now (a pipe waits for its first bytes), up to `len`.
    copy(src, from, dst, to, len, true)
}

/// `vmsplice(fd, iov, nr_segs, flags)`: into a pipe's write end, the buffers gathered and
/// written (`writev`); out of a read end, read into them (`readv`). Any other descriptor is
/// `EBADF`.
pub fn vmsplice(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    if a[3] & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if !is_pipe(f)? {
        return Err(Errno::EBADF);
    }
    let status = fs::status(f)?;
    let vecs = iovecs(a[1], a[2])?;
    let nonblocking = a[3] & SPLICE_F_NONBLOCK != 0;
    if status.write {
        if nonblocking && !fs::poll_writable(f)? {
            return Err(Errno::EAGAIN);
        }
        let n = iovec::write_vectored(&vecs, usermode::read, |data| fs::write(f, data))?;
        return Ok(n as u64);
    }
    if !status.read {
        return Err(Errno::EBADF);
    }
    if nonblocking && !fs::poll_readable(f)? {
        return Err(Errno::EAGAIN);
    }
    for &(base, len) in &vecs {
        usermode::check(base, len, true)?;
    }
    let n = iovec::read_vectored(&vecs, |buf| fs::read(f, buf), usermode::write)?;
    Ok(n as u64)
}

/// `tee(fd_in, fd_out, len, flags)`: copies up to `len` of the bytes waiting in pipe
/// `fd_in` into pipe `fd_out`, leaving them in `fd_in`. Waits while `fd_in` is empty and
/// has writers (0 at its end of file) unless `SPLICE_F_NONBLOCK` (`EAGAIN`, also when
/// `fd_out` is full). Both must be pipes, and not the same one (`EINVAL`); `fd_in` readable
/// and `fd_out` writable (`EBADF`).
pub fn tee(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (src, dst) = (fd(a[0])?, fd(a[1])?);
    let flags = a[3];
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (s, d) = (fs::status(src)?, fs::status(dst)?);
    if !s.read || !d.write {
        return Err(Errno::EBADF);
    }
    let (si, di) = (fs::fstat(src)?, fs::fstat(dst)?);
    if si.file_type != FileType::Pipe || di.file_type != FileType::Pipe || si.ino == di.ino {
        return Err(Errno::EINVAL);
    }
    let len = usize::try_from(a[2]).unwrap_or(usize::MAX).min(CHUNK);
    if len == 0 {
        return Ok(0);
    }
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0;
    let mut buf = vec![0u8; len];
    let n = loop {
        let seen = fs::readiness_generation();
        match fs::peek(src, &mut buf) {
            Ok(n) => break n,
            Err(Errno::EAGAIN) if !nonblocking => {
                fs::wait_readiness_change(seen, None)?;
            }
            Err(e) => return Err(e),
        }
    };
    if n == 0 {
        return Ok(0);
    }
    if nonblocking && !fs::poll_writable(dst)? {
        return Err(Errno::EAGAIN);
    }
    fs::write(dst, &buf[..n]).map(|w| w as u64)
}
