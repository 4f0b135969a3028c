//! [`Errno`]: the error type of every layer that reports POSIX errors (`memfs`, `vfs`,
//! `socket`, libtheseus, `posix`), a Linux errno number. The numbers come from
//! `linux-raw-sys`; the names and the `strerror` messages (glibc's wording, which the shell
//! prints) are listed here, once. A layer passes an [`Errno`] up unchanged; only a foreign
//! ABI converts it, once, at its boundary (WASI's numbering in `wasm/wasi_host`).
//!
//! Pure and `no_std`; depends only on `linux-raw-sys`. Any crate of any layer may name it.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

use core::fmt;
use linux_raw_sys::errno as linux;

/// A Linux error number, as `errno` holds it. Compare with the associated constants
/// (`Errno::ENOENT`, usable in patterns); [`Errno::raw`] gives the number for a C ABI.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(i32);

/// `core::result::Result` with [`Errno`] errors.
pub type Result<T> = core::result::Result<T, Errno>;

macro_rules! errnos {
    ($($name:ident = $linux:ident, $msg:literal;)*) => {
        impl Errno {
            $(#[doc = $msg] pub const $name: Errno = Errno(linux::$linux as i32);)*

            /// Every named error, in number order (for tests and conversion tables).
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The symbolic name (`"ENOENT"`), if this is a known number.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Errno::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// The `strerror` message (`"No such file or directory"`).
            pub fn message(self) -> &'static str {
                match self {
                    $(Errno::$name => $msg,)*
                    _ => "Unknown error",
                }
            }
        }
    };
}

errnos! {
    EPERM = EPERM, "Operation not permitted";
    ENOENT = ENOENT, "No such file or directory";
    ESRCH = ESRCH, "No such process";
    EINTR = EINTR, "Interrupted system call";
    EIO = EIO, "Input/output error";
    ENXIO = ENXIO, "No such device or address";
    E2BIG = E2BIG, "Argument list too long";
    ENOEXEC = ENOEXEC, "Exec format error";
    EBADF = EBADF, "Bad file descriptor";
    ECHILD = ECHILD, "No child processes";
    EAGAIN = EAGAIN, "Resource temporarily unavailable";
    ENOMEM = ENOMEM, "Cannot allocate memory";
    EACCES = EACCES, "Permission denied";
    EFAULT = EFAULT, "Bad address";
    EBUSY = EBUSY, "Device or resource busy";
    EEXIST = EEXIST, "File exists";
    EXDEV = EXDEV, "Invalid cross-device link";
    ENODEV = ENODEV, "No such device";
    ENOTDIR = ENOTDIR, "Not a directory";
    EISDIR = EISDIR, "Is a directory";
    EINVAL = EINVAL, "Invalid argument";
    ENFILE = ENFILE, "Too many open files in system";
    EMFILE = EMFILE, "Too many open files";
    ENOTTY = ENOTTY, "Inappropriate ioctl for device";
    ETXTBSY = ETXTBSY, "Text file busy";
    EFBIG = EFBIG, "File too large";
    ENOSPC = ENOSPC, "No space left on device";
    ESPIPE = ESPIPE, "Illegal seek";
    EROFS = EROFS, "Read-only file system";
    EMLINK = EMLINK, "Too many links";
    EPIPE = EPIPE, "Broken pipe";
    EDOM = EDOM, "Numerical argument out of domain";
    ERANGE = ERANGE, "Numerical result out of range";
    EDEADLK = EDEADLK, "Resource deadlock avoided";
    ENAMETOOLONG = ENAMETOOLONG, "File name too long";
    ENOLCK = ENOLCK, "No locks available";
    ENOSYS = ENOSYS, "Function not implemented";
    ENOTEMPTY = ENOTEMPTY, "Directory not empty";
    ELOOP = ELOOP, "Too many levels of symbolic links";
    ENOMSG = ENOMSG, "No message of desired type";
    EIDRM = EIDRM, "Identifier removed";
    ENOLINK = ENOLINK, "Link has been severed";
    EPROTO = EPROTO, "Protocol error";
    EMULTIHOP = EMULTIHOP, "Multihop attempted";
    EBADMSG = EBADMSG, "Bad message";
    EOVERFLOW = EOVERFLOW, "Value too large for defined data type";
    EILSEQ = EILSEQ, "Invalid or incomplete multibyte or wide character";
    ENOTSOCK = ENOTSOCK, "Socket operation on non-socket";
    EDESTADDRREQ = EDESTADDRREQ, "Destination address required";
    EMSGSIZE = EMSGSIZE, "Message too long";
    EPROTOTYPE = EPROTOTYPE, "Protocol wrong type for socket";
    ENOPROTOOPT = ENOPROTOOPT, "Protocol not available";
    EPROTONOSUPPORT = EPROTONOSUPPORT, "Protocol not supported";
    ESOCKTNOSUPPORT = ESOCKTNOSUPPORT, "Socket type not supported";
    // Linux's headers have no `ENOTSUP`: it is `EOPNOTSUPP`.
    ENOTSUP = EOPNOTSUPP, "Operation not supported";
    EAFNOSUPPORT = EAFNOSUPPORT, "Address family not supported by protocol";
    EADDRINUSE = EADDRINUSE, "Address already in use";
    EADDRNOTAVAIL = EADDRNOTAVAIL, "Cannot assign requested address";
    ENETDOWN = ENETDOWN, "Network is down";
    ENETUNREACH = ENETUNREACH, "Network is unreachable";
    ENETRESET = ENETRESET, "Network dropped connection on reset";
    ECONNABORTED = ECONNABORTED, "Software caused connection abort";
    ECONNRESET = ECONNRESET, "Connection reset by peer";
    ENOBUFS = ENOBUFS, "No buffer space available";
    EISCONN = EISCONN, "Transport endpoint is already connected";
    ENOTCONN = ENOTCONN, "Transport endpoint is not connected";
    ETIMEDOUT = ETIMEDOUT, "Connection timed out";
    ECONNREFUSED = ECONNREFUSED, "Connection refused";
    EHOSTUNREACH = EHOSTUNREACH, "No route to host";
    EALREADY = EALREADY, "Operation already in progress";
    EINPROGRESS = EINPROGRESS, "Operation now in progress";
    ESTALE = ESTALE, "Stale file handle";
    EDQUOT = EDQUOT, "Disk quota exceeded";
    ECANCELED = ECANCELED, "Operation canceled";
    EOWNERDEAD = EOWNERDEAD, "Owner died";
    ENOTRECOVERABLE = ENOTRECOVERABLE, "State not recoverable";
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

#[cfg(test)]
mod tests;
