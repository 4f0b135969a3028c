//! [`Errno`]: the error type of every fallible libtheseus call, with POSIX (Linux) numbers.

use core::fmt;

/// A POSIX error number (Linux values), as `errno` holds it. Compare with the associated
/// constants (`Errno::ENOENT`); [`Errno::raw`] gives the number for a C ABI.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(i32);

/// `core::result::Result` with [`Errno`] errors.
pub type Result<T> = core::result::Result<T, Errno>;

macro_rules! errnos {
    ($($name:ident = $num:literal, $msg:literal;)*) => {
        impl Errno {
            $(#[doc = $msg] pub const $name: Errno = Errno($num);)*

            /// The symbolic name (`"ENOENT"`), if this is a known number.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($num => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// The `strerror` message.
            pub fn message(self) -> &'static str {
                match self.0 {
                    $($num => $msg,)*
                    _ => "Unknown error",
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EPIPE = 32, "Broken pipe";
    ERANGE = 34, "Numerical result out of range";
    ENAMETOOLONG = 36, "File name too long";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    ENOTSUP = 95, "Operation not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETUNREACH = 101, "Network is unreachable";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
}

impl Errno {
    /// `EWOULDBLOCK` is `EAGAIN` on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `EOPNOTSUPP` is `ENOTSUP` on Linux.
    pub const EOPNOTSUPP: Errno = Errno::ENOTSUP;

    /// An errno from its number (any value is kept as is).
    pub const fn from_raw(n: i32) -> Errno {
        Errno(n)
    }

    /// The number.
    pub const fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for Errno {}

impl From<vfs::VfsError> for Errno {
    fn from(e: vfs::VfsError) -> Errno {
        Errno(e.errno())
    }
}

impl From<socket::NetError> for Errno {
    fn from(e: socket::NetError) -> Errno {
        Errno(e.errno())
    }
}

impl From<memory::MapError> for Errno {
    fn from(e: memory::MapError) -> Errno {
        use memory::MapError::*;
        match e {
            OutOfFrames | OutOfAddressSpace | NotMapped => Errno::ENOMEM,
            AlreadyMapped | Unaligned | OutOfRange => Errno::EINVAL,
        }
    }
}

impl From<task::SpawnError> for Errno {
    fn from(_: task::SpawnError) -> Errno {
        Errno::EAGAIN
    }
}
