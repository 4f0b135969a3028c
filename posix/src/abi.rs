//! The Hermit ABI's data: constants, `#[repr(C)]` structs and the pure logic that translates
//! between them and libtheseus's notions (open flags, file modes, `dirent64` records, seeks,
//! poll events). Copied by hand from the documented layout of `hermit-abi` 0.5.2 (what stock
//! `std` for `os = "hermit"` is compiled against); the `const` assertions pin the layouts.
//! No dependencies: host-tested.

#![allow(non_camel_case_types)]

use core::mem::{align_of, offset_of, size_of};

// ---- errno (Linux numbers, as hermit-abi's `errno` module) ------------------------------------

pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const ESRCH: i32 = 3;
pub const EBADF: i32 = 9;
pub const EAGAIN: i32 = 11;
pub const ENOMEM: i32 = 12;
pub const EACCES: i32 = 13;
pub const EFAULT: i32 = 14;
pub const EEXIST: i32 = 17;
pub const ENOTDIR: i32 = 20;
pub const EISDIR: i32 = 21;
pub const EINVAL: i32 = 22;
pub const ENOTTY: i32 = 25;
pub const ENOSYS: i32 = 38;
pub const ENOTEMPTY: i32 = 39;
pub const ETIMEDOUT: i32 = 110;

// ---- getaddrinfo errors (positive, not errno) ---------------------------------------------------

pub const EAI_AGAIN: i32 = 2;
pub const EAI_FAIL: i32 = 4;
pub const EAI_NONAME: i32 = 8;
pub const EAI_SYSTEM: i32 = 11;

// ---- constants ---------------------------------------------------------------------------------

pub const CLOCK_REALTIME: i32 = 1;
pub const CLOCK_MONOTONIC: i32 = 4;
pub const FUTEX_RELATIVE_TIMEOUT: u32 = 1;

pub const O_RDONLY: i32 = 0o0;
pub const O_WRONLY: i32 = 0o1;
pub const O_RDWR: i32 = 0o2;
pub const O_ACCMODE: i32 = 0o3;
pub const O_CREAT: i32 = 0o100;
pub const O_EXCL: i32 = 0o200;
pub const O_TRUNC: i32 = 0o1000;
pub const O_APPEND: i32 = 0o2000;
pub const O_NONBLOCK: i32 = 0o4000;
pub const O_DIRECTORY: i32 = 0o200000;
/// Not in hermit-abi; Linux's value, accepted and ignored (there is no `exec`).
pub const O_CLOEXEC: i32 = 0o2000000;

pub const F_DUPFD: i32 = 0;
pub const F_GETFD: i32 = 1;
pub const F_SETFD: i32 = 2;
pub const F_GETFL: i32 = 3;
pub const F_SETFL: i32 = 4;
pub const FD_CLOEXEC: i32 = 1;

pub const SEEK_SET: i32 = 0;
pub const SEEK_CUR: i32 = 1;
pub const SEEK_END: i32 = 2;

pub const FIONBIO: i32 = 0x8008667eu32 as i32;

pub const POLLIN: i16 = 0x1;
pub const POLLPRI: i16 = 0x2;
pub const POLLOUT: i16 = 0x4;
pub const POLLERR: i16 = 0x8;
pub const POLLHUP: i16 = 0x10;
pub const POLLNVAL: i16 = 0x20;
pub const POLLRDNORM: i16 = 0x040;
pub const POLLRDBAND: i16 = 0x080;
pub const POLLWRNORM: i16 = 0x0100;
pub const POLLWRBAND: i16 = 0x0200;

pub const EFD_SEMAPHORE: i16 = 0o1;
pub const EFD_NONBLOCK: i16 = 0o4000;
pub const EFD_CLOEXEC: i16 = 0o40000;

/// `sys_read_entropy` flags (Linux `getrandom` values; both accepted, neither changes
/// anything: the source never blocks).
pub const GRND_NONBLOCK: u32 = 0x1;
pub const GRND_RANDOM: u32 = 0x2;

pub const IOV_MAX: usize = 1024;

pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;

pub const S_IFIFO: u32 = 0o1_0000;
pub const S_IFCHR: u32 = 0o2_0000;
pub const S_IFDIR: u32 = 0o4_0000;
pub const S_IFREG: u32 = 0o10_0000;
pub const S_IFLNK: u32 = 0o12_0000;
pub const S_IFMT: u32 = 0o17_0000;

// ---- structs -------------------------------------------------------------------------------------

/// `timespec`: note the 32-bit `tv_nsec` of hermit-abi.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct timespec {
    pub tv_sec: i64,
    pub tv_nsec: i32,
}

/// `stat`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atim: timespec,
    pub st_mtim: timespec,
    pub st_ctim: timespec,
}

/// `dirent64` with its maximal name; records are variable-length (`d_reclen`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct dirent64 {
    pub d_ino: u64,
    pub d_off: i64,
    pub d_reclen: u16,
    pub d_type: u8,
    pub d_name: [u8; 256],
}

/// `iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct iovec {
    pub iov_base: *mut u8,
    pub iov_len: usize,
}

/// `pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct pollfd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

/// `sockaddr` (BSD layout with a length byte).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct sockaddr {
    pub sa_len: u8,
    pub sa_family: u8,
    pub sa_data: [u8; 14],
}

/// `addrinfo`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct addrinfo {
    pub ai_flags: i32,
    pub ai_family: i32,
    pub ai_socktype: i32,
    pub ai_protocol: i32,
    pub ai_addrlen: u32,
    pub ai_canonname: *mut u8,
    pub ai_addr: *mut sockaddr,
    pub ai_next: *mut addrinfo,
}

pub type socklen_t = u32;

const _: () = assert!(size_of::<timespec>() == 16 && align_of::<timespec>() == 8);
const _: () = assert!(offset_of!(timespec, tv_nsec) == 8);
const _: () = assert!(size_of::<stat>() == 120);
const _: () = assert!(offset_of!(stat, st_rdev) == 40);
const _: () = assert!(offset_of!(stat, st_size) == 48);
const _: () = assert!(offset_of!(stat, st_atim) == 72);
const _: () = assert!(offset_of!(stat, st_ctim) == 104);
const _: () = assert!(size_of::<dirent64>() == 280 && align_of::<dirent64>() == 8);
const _: () = assert!(offset_of!(dirent64, d_reclen) == 16);
const _: () = assert!(offset_of!(dirent64, d_type) == 18);
const _: () = assert!(offset_of!(dirent64, d_name) == 19);
const _: () = assert!(size_of::<iovec>() == 16);
const _: () = assert!(size_of::<pollfd>() == 8);
const _: () = assert!(size_of::<sockaddr>() == 16);
const _: () = assert!(size_of::<addrinfo>() == 48 && offset_of!(addrinfo, ai_canonname) == 24);

// ---- open flags -------------------------------------------------------------------------------

/// What `sys_open`'s `flags` and `mode` ask for, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenRequest {
    pub read: bool,
    pub write: bool,
    pub create: bool,
    pub truncate: bool,
    pub append: bool,
    pub exclusive: bool,
    pub directory: bool,
    pub nonblocking: bool,
    /// Permission bits of a created file (`mode & 0o7777`).
    pub mode: u32,
}

/// Decodes open flags: `EINVAL` for access mode 3. Unknown bits are ignored (as Linux does).
pub fn decode_open(flags: i32, mode: i32) -> Result<OpenRequest, i32> {
    let (read, write) = match flags & O_ACCMODE {
        O_RDONLY => (true, false),
        O_WRONLY => (false, true),
        O_RDWR => (true, true),
        _ => return Err(EINVAL),
    };
    Ok(OpenRequest {
        read,
        write,
        create: flags & O_CREAT != 0,
        truncate: flags & O_TRUNC != 0,
        append: flags & O_APPEND != 0,
        exclusive: flags & O_EXCL != 0,
        directory: flags & O_DIRECTORY != 0,
        nonblocking: flags & O_NONBLOCK != 0,
        mode: (mode as u32) & 0o7777,
    })
}

/// The `F_GETFL` status flags kept for a description opened with `flags` (access mode and
/// `O_APPEND`; `O_NONBLOCK` is tracked separately).
pub fn status_flags(flags: i32) -> i32 {
    flags & (O_ACCMODE | O_APPEND)
}

// ---- file kinds ---------------------------------------------------------------------------------

/// What a path or descriptor names (libtheseus's `FileType`, mirrored so this module stays
/// pure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
    Symlink,
    Fifo,
    CharDevice,
}

/// `st_mode`: the type bits of `kind` and the permission bits of `perm`.
pub fn st_mode(kind: Kind, perm: u32) -> u32 {
    let ty = match kind {
        Kind::File => S_IFREG,
        Kind::Directory => S_IFDIR,
        Kind::Symlink => S_IFLNK,
        Kind::Fifo => S_IFIFO,
        Kind::CharDevice => S_IFCHR,
    };
    ty | (perm & 0o7777)
}

/// `d_type` of `kind`.
pub fn d_type(kind: Kind) -> u8 {
    match kind {
        Kind::File => DT_REG,
        Kind::Directory => DT_DIR,
        Kind::Symlink => DT_LNK,
        Kind::Fifo => DT_FIFO,
        Kind::CharDevice => DT_CHR,
    }
}

/// Nanoseconds as a hermit `timespec`.
pub fn timespec_from_ns(ns: u64) -> timespec {
    timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i32,
    }
}

/// A `timespec` as nanoseconds (saturating); `None` if negative or `tv_nsec` is out of
/// `0..1e9`.
pub fn timespec_to_ns(t: &timespec) -> Option<u64> {
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return None;
    }
    Some(
        (t.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(t.tv_nsec as u64),
    )
}

// ---- dirent64 records ---------------------------------------------------------------------------

/// The length of the `dirent64` record for a name of `name_len` bytes: header, name, NUL,
/// rounded up to 8 (as Hermit computes it).
pub fn dirent_reclen(name_len: usize) -> usize {
    (offset_of!(dirent64, d_name) + name_len + 1).next_multiple_of(align_of::<dirent64>())
}

/// Writes one `dirent64` record at the start of `buf`; returns its length, or `None` if it
/// does not fit (then `buf` is unchanged).
pub fn encode_dirent(buf: &mut [u8], ino: u64, off: i64, ty: u8, name: &[u8]) -> Option<usize> {
    let len = dirent_reclen(name.len());
    let rec = buf.get_mut(..len)?;
    let reclen = u16::try_from(len).ok()?;
    rec[..8].copy_from_slice(&ino.to_ne_bytes());
    rec[8..16].copy_from_slice(&off.to_ne_bytes());
    rec[16..18].copy_from_slice(&reclen.to_ne_bytes());
    rec[18] = ty;
    let name_at = offset_of!(dirent64, d_name);
    rec[name_at..name_at + name.len()].copy_from_slice(name);
    rec[name_at + name.len()..].fill(0);
    Some(len)
}

// ---- seeks ----------------------------------------------------------------------------------------

/// Where `sys_lseek` moves from (libtheseus's `SeekFrom`, mirrored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seek {
    Start(u64),
    Current(i64),
    End(i64),
}

/// Decodes `sys_lseek`'s `offset` and `whence`: `EINVAL` for an unknown `whence` or a
/// negative absolute offset.
pub fn decode_seek(offset: isize, whence: i32) -> Result<Seek, i32> {
    match whence {
        SEEK_SET => u64::try_from(offset).map(Seek::Start).map_err(|_| EINVAL),
        SEEK_CUR => Ok(Seek::Current(offset as i64)),
        SEEK_END => Ok(Seek::End(offset as i64)),
        _ => Err(EINVAL),
    }
}

// ---- poll ------------------------------------------------------------------------------------------

/// The `revents` of a descriptor asked for `events` that is `readable` / `writable` now.
pub fn poll_revents(events: i16, readable: bool, writable: bool) -> i16 {
    let mut r = 0;
    if readable {
        r |= events & (POLLIN | POLLRDNORM);
    }
    if writable {
        r |= events & (POLLOUT | POLLWRNORM);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_decode() {
        let r = decode_open(O_WRONLY | O_CREAT | O_TRUNC, 0o100644).unwrap();
        assert!(!r.read && r.write && r.create && r.truncate && !r.append && !r.exclusive);
        assert_eq!(r.mode, 0o644);
        let r = decode_open(O_RDONLY | O_DIRECTORY, 0).unwrap();
        assert!(r.read && !r.write && r.directory);
        let r = decode_open(
            O_RDWR | O_APPEND | O_EXCL | O_CREAT | O_NONBLOCK | O_CLOEXEC,
            0,
        )
        .unwrap();
        assert!(r.read && r.write && r.append && r.exclusive && r.create && r.nonblocking);
        assert_eq!(decode_open(3, 0), Err(EINVAL));
        assert_eq!(
            status_flags(O_WRONLY | O_APPEND | O_CREAT),
            O_WRONLY | O_APPEND
        );
    }

    #[test]
    fn hermit_constants() {
        // Spot checks against hermit-abi 0.5.2.
        assert_eq!(O_DIRECTORY, 65536);
        assert_eq!(FIONBIO, -2146933122);
        assert_eq!(EFD_CLOEXEC, 16384);
        assert_eq!((CLOCK_REALTIME, CLOCK_MONOTONIC), (1, 4));
    }

    #[test]
    fn modes_and_types() {
        assert_eq!(st_mode(Kind::File, 0o644), 0o100644);
        assert_eq!(st_mode(Kind::Directory, 0o40755), 0o40755);
        assert_eq!(st_mode(Kind::Symlink, 0o777) & S_IFMT, S_IFLNK);
        assert_eq!(d_type(Kind::Directory), DT_DIR);
        assert_eq!(d_type(Kind::Fifo), DT_FIFO);
    }

    #[test]
    fn timespecs() {
        let t = timespec_from_ns(3_000_000_007);
        assert_eq!((t.tv_sec, t.tv_nsec), (3, 7));
        assert_eq!(timespec_to_ns(&t), Some(3_000_000_007));
        assert_eq!(
            timespec_to_ns(&timespec {
                tv_sec: -1,
                tv_nsec: 0
            }),
            None
        );
        assert_eq!(
            timespec_to_ns(&timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000_000
            }),
            None
        );
        assert_eq!(
            timespec_to_ns(&timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0
            }),
            Some(u64::MAX)
        );
    }

    #[test]
    fn dirent_records() {
        assert_eq!(dirent_reclen(1), 24);
        assert_eq!(dirent_reclen(4), 24);
        assert_eq!(dirent_reclen(5), 32);
        let mut buf = [0xffu8; 40];
        assert_eq!(encode_dirent(&mut buf, 7, 2, DT_REG, b"hello"), Some(32));
        assert_eq!(u64::from_ne_bytes(buf[..8].try_into().unwrap()), 7);
        assert_eq!(i64::from_ne_bytes(buf[8..16].try_into().unwrap()), 2);
        assert_eq!(u16::from_ne_bytes([buf[16], buf[17]]), 32);
        assert_eq!(buf[18], DT_REG);
        assert_eq!(&buf[19..25], b"hello\0");
        assert_eq!(buf[32], 0xff, "nothing written past the record");
        let mut small = [0u8; 31];
        assert_eq!(encode_dirent(&mut small, 7, 2, DT_REG, b"hello"), None);
        assert!(small.iter().all(|&b| b == 0));
    }

    #[test]
    fn seeks() {
        assert_eq!(decode_seek(5, SEEK_SET), Ok(Seek::Start(5)));
        assert_eq!(decode_seek(-5, SEEK_SET), Err(EINVAL));
        assert_eq!(decode_seek(-5, SEEK_CUR), Ok(Seek::Current(-5)));
        assert_eq!(decode_seek(-1, SEEK_END), Ok(Seek::End(-1)));
        assert_eq!(decode_seek(0, 3), Err(EINVAL));
    }

    #[test]
    fn poll_events() {
        assert_eq!(poll_revents(POLLIN | POLLOUT, true, false), POLLIN);
        assert_eq!(poll_revents(POLLIN | POLLOUT, true, true), POLLIN | POLLOUT);
        assert_eq!(poll_revents(POLLOUT, true, false), 0);
        assert_eq!(
            poll_revents(POLLRDNORM | POLLWRNORM, true, true),
            POLLRDNORM | POLLWRNORM
        );
    }
}
