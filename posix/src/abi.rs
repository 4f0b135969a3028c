//! The pure part of the Linux ABI: translating open flags, file kinds and modes, `dirent64`
//! records and poll events between Linux's encodings (`linux-raw-sys`) and the layer's own
//! notions. No kernel dependencies (errors are the `errno` crate's): host-tested.

use errno::Errno;
use linux_raw_sys::general as g;

/// What `open`'s `flags` and `mode` ask for, decoded.
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
pub fn decode_open(flags: u32, mode: u32) -> Result<OpenRequest, Errno> {
    let (read, write) = match flags & g::O_ACCMODE {
        g::O_RDONLY => (true, false),
        g::O_WRONLY => (false, true),
        g::O_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    Ok(OpenRequest {
        read,
        write,
        create: flags & g::O_CREAT != 0,
        truncate: flags & g::O_TRUNC != 0,
        append: flags & g::O_APPEND != 0,
        exclusive: flags & g::O_EXCL != 0,
        directory: flags & g::O_DIRECTORY != 0,
        nonblocking: flags & g::O_NONBLOCK != 0,
        mode: mode & 0o7777,
    })
}

/// What a path or descriptor names (libtheseus's `FileType`, mirrored so this module stays
/// pure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
    Symlink,
    Fifo,
    CharDevice,
    Socket,
}

/// `st_mode`: the type bits of `kind` and the permission bits of `perm`.
pub fn st_mode(kind: Kind, perm: u32) -> u32 {
    let ty = match kind {
        Kind::File => g::S_IFREG,
        Kind::Directory => g::S_IFDIR,
        Kind::Symlink => g::S_IFLNK,
        Kind::Fifo => g::S_IFIFO,
        Kind::CharDevice => g::S_IFCHR,
        Kind::Socket => g::S_IFSOCK,
    };
    ty | (perm & 0o7777)
}

/// `d_type` of `kind`.
pub fn d_type(kind: Kind) -> u8 {
    (match kind {
        Kind::File => g::DT_REG,
        Kind::Directory => g::DT_DIR,
        Kind::Symlink => g::DT_LNK,
        Kind::Fifo => g::DT_FIFO,
        Kind::CharDevice => g::DT_CHR,
        Kind::Socket => g::DT_SOCK,
    }) as u8
}

/// Offset of `d_name` in `struct linux_dirent64` (ino, off, reclen, type).
const DIRENT_NAME: usize = 8 + 8 + 2 + 1;

/// The length of the `dirent64` record for a name of `name_len` bytes: header, name, NUL,
/// rounded up to 8.
pub fn dirent_reclen(name_len: usize) -> usize {
    (DIRENT_NAME + name_len + 1).next_multiple_of(8)
}

/// Writes one `dirent64` record at the start of `buf`; returns its length, or `None` if it
/// does not fit (then `buf` is unchanged).
pub fn encode_dirent(buf: &mut [u8], ino: u64, off: i64, ty: u8, name: &[u8]) -> Option<usize> {
    let len = dirent_reclen(name.len());
    let rec = buf.get_mut(..len)?;
    let reclen = u16::try_from(len).ok()?;
    // The NUL and the padding: the record's last 8 bytes zeroed first (one store, where a
    // fill of 1 to 8 bytes is a call), then the header and the name written over them.
    rec[len - 8..].copy_from_slice(&[0; 8]);
    rec[..8].copy_from_slice(&ino.to_ne_bytes());
    rec[8..16].copy_from_slice(&off.to_ne_bytes());
    rec[16..18].copy_from_slice(&reclen.to_ne_bytes());
    rec[18] = ty;
    rec[DIRENT_NAME..DIRENT_NAME + name.len()].copy_from_slice(name);
    Some(len)
}

pub const POLLIN: i16 = g::POLLIN as i16;
pub const POLLOUT: i16 = g::POLLOUT as i16;
pub const POLLNVAL: i16 = g::POLLNVAL as i16;
const POLLRDNORM: i16 = g::POLLRDNORM as i16;
const POLLWRNORM: i16 = g::POLLWRNORM as i16;

const POLLHUP: i16 = g::POLLHUP as i16;
const POLLRDHUP: i16 = g::POLLRDHUP as i16;

/// What `poll` learns of a descriptor now.
#[derive(Clone, Copy, Debug, Default)]
pub struct PollState {
    pub readable: bool,
    pub writable: bool,
    /// Its reading side is closed for good (the peer shut down writing): `POLLRDHUP`.
    pub read_closed: bool,
    /// Hung up (no writer left, or closed both ways): `POLLHUP`, reported whatever was asked.
    pub hung_up: bool,
}

/// The `revents` of a descriptor asked for `events` in `state`.
pub fn poll_revents(events: i16, state: PollState) -> i16 {
    let mut r = 0;
    if state.readable {
        r |= events & (POLLIN | POLLRDNORM);
    }
    if state.writable {
        r |= events & (POLLOUT | POLLWRNORM);
    }
    if state.read_closed {
        r |= events & POLLRDHUP;
    }
    if state.hung_up {
        r |= POLLHUP;
    }
    r
}

/// Linux's `struct termios` (`TCSETS*`) from its 36 bytes as a program laid them out.
pub fn termios_from_bytes(b: &[u8; 36]) -> linux_raw_sys::general::termios {
    let word = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let mut c_cc = [0u8; 19];
    c_cc.copy_from_slice(&b[17..36]);
    linux_raw_sys::general::termios {
        c_iflag: word(0),
        c_oflag: word(4),
        c_cflag: word(8),
        c_lflag: word(12),
        c_line: b[16],
        c_cc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termios_layout() {
        let mut b = [0u8; 36];
        b[0] = 0x00; // iflag 0x0100 (ICRNL)
        b[1] = 0x01;
        b[4] = 0x05; // oflag OPOST|ONLCR
        b[12] = 0x0a; // lflag ICANON|ECHO... low byte
        b[16] = 7;
        b[17 + g::VMIN as usize] = 1;
        b[35] = 9;
        let t = termios_from_bytes(&b);
        assert_eq!(
            (t.c_iflag, t.c_oflag, t.c_lflag, t.c_line),
            (g::ICRNL, 5, 0x0a, 7)
        );
        assert_eq!(t.c_cc[g::VMIN as usize], 1);
        assert_eq!(t.c_cc[18], 9);
        assert_eq!(core::mem::size_of::<linux_raw_sys::general::termios>(), 36);
    }

    #[test]
    fn open_flags_decode() {
        let r = decode_open(g::O_WRONLY | g::O_CREAT | g::O_TRUNC, 0o100644).unwrap();
        assert!(!r.read && r.write && r.create && r.truncate && !r.append && !r.exclusive);
        assert_eq!(r.mode, 0o644);
        let r = decode_open(g::O_RDONLY | g::O_DIRECTORY, 0).unwrap();
        assert!(r.read && !r.write && r.directory);
        let flags = g::O_RDWR | g::O_APPEND | g::O_EXCL | g::O_CREAT | g::O_NONBLOCK;
        let r = decode_open(flags | g::O_CLOEXEC, 0).unwrap();
        assert!(r.read && r.write && r.append && r.exclusive && r.create && r.nonblocking);
        assert_eq!(decode_open(3, 0), Err(Errno::EINVAL));
        // Linux x86_64 values.
        assert_eq!((g::O_DIRECTORY, g::O_CLOEXEC), (0o200000, 0o2000000));
    }

    #[test]
    fn modes_and_types() {
        assert_eq!(st_mode(Kind::File, 0o644), 0o100644);
        assert_eq!(st_mode(Kind::Directory, 0o40755), 0o40755);
        assert_eq!(st_mode(Kind::Symlink, 0o777) & g::S_IFMT, g::S_IFLNK);
        assert_eq!(d_type(Kind::Directory), 4);
        assert_eq!(d_type(Kind::Fifo), 1);
        assert_eq!(st_mode(Kind::Socket, 0o777), 0o140777);
        assert_eq!(d_type(Kind::Socket), 12);
    }

    #[test]
    fn dirent_records() {
        assert_eq!(dirent_reclen(1), 24);
        assert_eq!(dirent_reclen(4), 24);
        assert_eq!(dirent_reclen(5), 32);
        let mut buf = [0xffu8; 40];
        assert_eq!(encode_dirent(&mut buf, 7, 2, 8, b"hello"), Some(32));
        assert_eq!(u64::from_ne_bytes(buf[..8].try_into().unwrap()), 7);
        assert_eq!(i64::from_ne_bytes(buf[8..16].try_into().unwrap()), 2);
        assert_eq!(u16::from_ne_bytes([buf[16], buf[17]]), 32);
        assert_eq!(buf[18], 8);
        assert_eq!(&buf[19..25], b"hello\0");
        assert!(buf[25..32].iter().all(|&b| b == 0), "padding zeroed");
        assert_eq!(buf[32], 0xff, "nothing written past the record");
        // The shortest record: the zeroed tail overlaps the header, written after it.
        let mut buf = [0xffu8; 24];
        assert_eq!(encode_dirent(&mut buf, 9, 3, 4, b"a"), Some(24));
        assert_eq!(u16::from_ne_bytes([buf[16], buf[17]]), 24);
        assert_eq!(buf[18], 4);
        assert_eq!(&buf[19..], b"a\0\0\0\0");
        // A name that ends right before the last byte: one NUL, no padding.
        let mut buf = [0xffu8; 32];
        assert_eq!(encode_dirent(&mut buf, 9, 3, 4, b"twelve-bytes"), Some(32));
        assert_eq!(&buf[19..], b"twelve-bytes\0");
        let mut small = [0u8; 31];
        assert_eq!(encode_dirent(&mut small, 7, 2, 8, b"hello"), None);
        assert!(small.iter().all(|&b| b == 0));
    }

    #[test]
    fn poll_events() {
        let state = |readable, writable| PollState {
            readable,
            writable,
            ..PollState::default()
        };
        assert_eq!(poll_revents(POLLIN | POLLOUT, state(true, false)), POLLIN);
        assert_eq!(
            poll_revents(POLLIN | POLLOUT, state(true, true)),
            POLLIN | POLLOUT
        );
        assert_eq!(poll_revents(POLLOUT, state(true, false)), 0);
        assert_eq!(
            poll_revents(POLLRDNORM | POLLWRNORM, state(true, true)),
            POLLRDNORM | POLLWRNORM
        );
        // Hang-ups: POLLHUP whatever was asked, POLLRDHUP only when asked.
        let closed = PollState {
            readable: true,
            read_closed: true,
            hung_up: true,
            ..PollState::default()
        };
        assert_eq!(poll_revents(POLLOUT, closed), POLLHUP);
        assert_eq!(
            poll_revents(POLLIN | POLLRDHUP, closed),
            POLLIN | POLLRDHUP | POLLHUP
        );
    }
}
