//! In-kernel copies between descriptors: `sendfile` (any readable source to any writable
//! destination) and `copy_file_range` (regular files). Both move the data in chunks through a
//! kernel buffer, from an offset given by pointer (updated) or the file position, and stop at
//! the end of the source or a short write; an error after some bytes moved returns the count.

use super::fs::fd;
use alloc::vec;
use libtheseus::fs::{self, FileType, SeekFrom};
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

/// Copies up to `len` bytes from `src` to `dst`; the count.
fn copy(src: u32, mut from: At, dst: u32, mut to: At, len: usize) -> Result<u64> {
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
    copy(src, from, dst, At::Position, len)
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
    copy(src, from, dst, to, len)
}
