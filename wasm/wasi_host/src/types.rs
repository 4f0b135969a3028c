//! WASI preview1 numbers from the `wasi_snapshot_preview1` witx: errno values, file types,
//! clock ids, whence, flags and rights bits, and the byte layouts of the structs the calls
//! write.

/// A WASI errno value (`errno` in the witx, a `u16`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Errno(pub u16);

macro_rules! errnos {
    ($($name:ident = $num:literal;)*) => {
        impl Errno {
            $(pub const $name: Errno = Errno($num);)*

            /// The witx name (`"noent"`), if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($num => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    SUCCESS = 0; TOOBIG = 1; ACCES = 2; ADDRINUSE = 3; ADDRNOTAVAIL = 4; AFNOSUPPORT = 5;
    AGAIN = 6; ALREADY = 7; BADF = 8; BADMSG = 9; BUSY = 10; CANCELED = 11; CHILD = 12;
    CONNABORTED = 13; CONNREFUSED = 14; CONNRESET = 15; DEADLK = 16; DESTADDRREQ = 17;
    DOM = 18; DQUOT = 19; EXIST = 20; FAULT = 21; FBIG = 22; HOSTUNREACH = 23; IDRM = 24;
    ILSEQ = 25; INPROGRESS = 26; INTR = 27; INVAL = 28; IO = 29; ISCONN = 30; ISDIR = 31;
    LOOP = 32; MFILE = 33; MLINK = 34; MSGSIZE = 35; MULTIHOP = 36; NAMETOOLONG = 37;
    NETDOWN = 38; NETRESET = 39; NETUNREACH = 40; NFILE = 41; NOBUFS = 42; NODEV = 43;
    NOENT = 44; NOEXEC = 45; NOLCK = 46; NOLINK = 47; NOMEM = 48; NOMSG = 49;
    NOPROTOOPT = 50; NOSPC = 51; NOSYS = 52; NOTCONN = 53; NOTDIR = 54; NOTEMPTY = 55;
    NOTRECOVERABLE = 56; NOTSOCK = 57; NOTSUP = 58; NOTTY = 59; NXIO = 60; OVERFLOW = 61;
    OWNERDEAD = 62; PERM = 63; PIPE = 64; PROTO = 65; PROTONOSUPPORT = 66; PROTOTYPE = 67;
    RANGE = 68; ROFS = 69; SPIPE = 70; SRCH = 71; STALE = 72; TIMEDOUT = 73; TXTBSY = 74;
    XDEV = 75; NOTCAPABLE = 76;
}

/// The one conversion of an error on its way to a guest: the OS's Linux errno (what every
/// libtheseus call fails with) to its WASI number. Each Linux error with a witx counterpart
/// gets it; `EXDEV`, which only the VFS's beneath calls give (the path would leave its
/// directory), is `PERM`, wasmtime's answer for a sandbox escape; anything else is `IO`.
macro_rules! from_linux {
    ($($linux:ident => $wasi:ident;)*) => {
        impl From<errno::Errno> for Errno {
            fn from(e: errno::Errno) -> Errno {
                match e {
                    errno::Errno::EXDEV => Errno::PERM,
                    $(errno::Errno::$linux => Errno::$wasi,)*
                    _ => Errno::IO,
                }
            }
        }
    };
}

from_linux! {
    E2BIG => TOOBIG;
    EACCES => ACCES; EADDRINUSE => ADDRINUSE; EADDRNOTAVAIL => ADDRNOTAVAIL;
    EAFNOSUPPORT => AFNOSUPPORT; EAGAIN => AGAIN; EALREADY => ALREADY; EBADF => BADF;
    EBADMSG => BADMSG; EBUSY => BUSY; ECANCELED => CANCELED; ECHILD => CHILD;
    ECONNABORTED => CONNABORTED; ECONNREFUSED => CONNREFUSED; ECONNRESET => CONNRESET;
    EDEADLK => DEADLK; EDESTADDRREQ => DESTADDRREQ; EDOM => DOM; EDQUOT => DQUOT; EEXIST => EXIST;
    EFAULT => FAULT; EFBIG => FBIG; EHOSTUNREACH => HOSTUNREACH; EIDRM => IDRM; EILSEQ => ILSEQ;
    EINPROGRESS => INPROGRESS; EINTR => INTR; EINVAL => INVAL; EIO => IO; EISCONN => ISCONN;
    EISDIR => ISDIR; ELOOP => LOOP; EMFILE => MFILE; EMLINK => MLINK; EMSGSIZE => MSGSIZE;
    EMULTIHOP => MULTIHOP; ENAMETOOLONG => NAMETOOLONG; ENETDOWN => NETDOWN; ENETRESET => NETRESET;
    ENETUNREACH => NETUNREACH; ENFILE => NFILE; ENOBUFS => NOBUFS; ENODEV => NODEV;
    ENOENT => NOENT; ENOEXEC => NOEXEC; ENOLCK => NOLCK; ENOLINK => NOLINK; ENOMEM => NOMEM;
    ENOMSG => NOMSG; ENOPROTOOPT => NOPROTOOPT; ENOSPC => NOSPC; ENOSYS => NOSYS;
    ENOTCONN => NOTCONN; ENOTDIR => NOTDIR; ENOTEMPTY => NOTEMPTY;
    ENOTRECOVERABLE => NOTRECOVERABLE; ENOTSOCK => NOTSOCK; ENOTSUP => NOTSUP; ENOTTY => NOTTY;
    ENXIO => NXIO; EOVERFLOW => OVERFLOW; EOWNERDEAD => OWNERDEAD; EPERM => PERM; EPIPE => PIPE;
    EPROTO => PROTO; EPROTONOSUPPORT => PROTONOSUPPORT; EPROTOTYPE => PROTOTYPE; ERANGE => RANGE;
    EROFS => ROFS; ESPIPE => SPIPE; ESRCH => SRCH; ESTALE => STALE; ETIMEDOUT => TIMEDOUT;
    ETXTBSY => TXTBSY;
}

/// `filetype`.
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_DGRAM: u8 = 5;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `clockid`.
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// `whence`.
pub mod whence {
    pub const SET: u8 = 0;
    pub const CUR: u8 = 1;
    pub const END: u8 = 2;
}

/// `fdflags`.
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
}

/// `oflags`.
pub mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
}

/// `lookupflags`.
pub mod lookupflags {
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// `preopentype`.
pub mod preopentype {
    pub const DIR: u8 = 0;
}

/// `rights` bits.
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// Rights of a regular file or stream descriptor.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;

    /// Rights of a directory descriptor.
    pub const DIRECTORY: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
}

/// `fdstat`: 24 bytes.
pub fn fdstat_bytes(filetype: u8, flags: u16, base: u64, inheriting: u64) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[0] = filetype;
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[8..16].copy_from_slice(&base.to_le_bytes());
    b[16..24].copy_from_slice(&inheriting.to_le_bytes());
    b
}

/// `filestat`: 64 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Filestat {
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16] = self.filetype;
        b[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        b[32..40].copy_from_slice(&self.size.to_le_bytes());
        b[40..48].copy_from_slice(&self.atim.to_le_bytes());
        b[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        b[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        b
    }
}

/// The 24-byte `dirent` header (the name follows it, not NUL-terminated).
pub fn dirent_header(next: u64, ino: u64, namlen: u32, filetype: u8) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[0..8].copy_from_slice(&next.to_le_bytes());
    b[8..16].copy_from_slice(&ino.to_le_bytes());
    b[16..20].copy_from_slice(&namlen.to_le_bytes());
    b[20] = filetype;
    b
}

/// The serialized form `fd_readdir` fills `buf_len` bytes with, built one entry at a time
/// (straight from the directory's listing, with no vector of entries): entries `(next
/// cookie, ino, name, filetype)` one after another, the last one cut at `buf_len` (so a full
/// buffer tells the guest to call again).
pub struct DirentPacker {
    out: alloc::vec::Vec<u8>,
    buf_len: usize,
}

impl DirentPacker {
    pub fn new(buf_len: usize) -> DirentPacker {
        DirentPacker {
            out: alloc::vec::Vec::with_capacity(buf_len.min(64 << 10)),
            buf_len,
        }
    }

    /// Adds an entry; false once the buffer is full (this entry may be cut, and no more go
    /// in).
    pub fn push(&mut self, next: u64, ino: u64, name: &str, filetype: u8) -> bool {
        if self.out.len() >= self.buf_len {
            return false;
        }
        let namlen = u32::try_from(name.len()).unwrap_or(u32::MAX);
        self.out
            .extend_from_slice(&dirent_header(next, ino, namlen, filetype));
        self.out.extend_from_slice(name.as_bytes());
        self.out.len() < self.buf_len
    }

    /// The bytes for the guest's buffer.
    pub fn finish(mut self) -> alloc::vec::Vec<u8> {
        self.out.truncate(self.buf_len);
        self.out
    }
}

/// `fstflags`: which times `*_set_times` changes.
pub mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
}

/// The new access and modification times of a `*_set_times` call: `None` leaves one
/// unchanged. `INVAL` for unknown bits or both a time and `*_NOW` for the same one.
pub fn set_times_args(
    atim: u64,
    mtim: u64,
    flags: u32,
    now: i64,
) -> Result<(Option<i64>, Option<i64>), Errno> {
    use fstflags::*;
    let known = u32::from(ATIM | ATIM_NOW | MTIM | MTIM_NOW);
    if flags & !known != 0 {
        return Err(Errno::INVAL);
    }
    let flags = flags as u16;
    let pick = |set: u16, now_bit: u16, t: u64| match (flags & set != 0, flags & now_bit != 0) {
        (true, true) => Err(Errno::INVAL),
        // The file tree keeps signed nanoseconds: past year 2262 does not fit.
        (true, false) => i64::try_from(t).map(Some).map_err(|_| Errno::OVERFLOW),
        (false, true) => Ok(Some(now)),
        (false, false) => Ok(None),
    };
    Ok((pick(ATIM, ATIM_NOW, atim)?, pick(MTIM, MTIM_NOW, mtim)?))
}

/// `advice` values of `fd_advise` (`normal` .. `noreuse`).
pub const ADVICE_MAX: u32 = 5;

/// The largest `signal` number (`sigsys`).
pub const SIGNAL_MAX: u32 = 30;

/// `eventtype`.
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags`.
pub mod subclockflags {
    pub const ABSTIME: u16 = 1 << 0;
}

/// `eventrwflags`.
pub mod eventrwflags {
    pub const FD_READWRITE_HANGUP: u16 = 1 << 0;
}

/// Size of a `subscription`.
pub const SUBSCRIPTION_SIZE: u32 = 48;
/// Size of an `event`.
pub const EVENT_SIZE: u32 = 32;

/// A decoded `subscription`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subscription {
    Clock {
        userdata: u64,
        id: u32,
        timeout: u64,
        abstime: bool,
    },
    /// `FD_READ` (`read: true`) or `FD_WRITE`.
    Fd { userdata: u64, fd: u32, read: bool },
}

impl Subscription {
    /// Decodes 48 bytes (`INVAL` for an unknown tag).
    pub fn parse(b: &[u8]) -> Result<Subscription, Errno> {
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(a)
        };
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if b.len() < SUBSCRIPTION_SIZE as usize {
            return Err(Errno::FAULT);
        }
        let userdata = u64_at(0);
        match b[8] {
            eventtype::CLOCK => Ok(Subscription::Clock {
                userdata,
                id: u32_at(16),
                timeout: u64_at(24),
                abstime: u16::from_le_bytes([b[40], b[41]]) & subclockflags::ABSTIME != 0,
            }),
            t @ (eventtype::FD_READ | eventtype::FD_WRITE) => Ok(Subscription::Fd {
                userdata,
                fd: u32_at(16),
                read: t == eventtype::FD_READ,
            }),
            _ => Err(Errno::INVAL),
        }
    }

    pub fn userdata(&self) -> u64 {
        match *self {
            Subscription::Clock { userdata, .. } | Subscription::Fd { userdata, .. } => userdata,
        }
    }

    pub fn eventtype(&self) -> u8 {
        match *self {
            Subscription::Clock { .. } => eventtype::CLOCK,
            Subscription::Fd { read: true, .. } => eventtype::FD_READ,
            Subscription::Fd { read: false, .. } => eventtype::FD_WRITE,
        }
    }
}

/// An `event`: 32 bytes.
pub fn event_bytes(userdata: u64, error: Errno, ty: u8, nbytes: u64, flags: u16) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&userdata.to_le_bytes());
    b[8..10].copy_from_slice(&error.0.to_le_bytes());
    b[10] = ty;
    b[16..24].copy_from_slice(&nbytes.to_le_bytes());
    b[24..26].copy_from_slice(&flags.to_le_bytes());
    b
}
