//! [`NetError`]: what socket calls fail with, named after the POSIX errors.

use core::fmt;
use vfs::VfsError;

/// Errors of socket calls; [`NetError::errno`] gives the Linux number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetError {
    /// `EAGAIN`: non-blocking and not ready, or a timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO`) passed.
    WouldBlock,
    /// `EINTR`: the calling task is being killed.
    Interrupted,
    /// `EINVAL`.
    InvalidArgument,
    /// `ENOTCONN`.
    NotConnected,
    /// `EISCONN`: already connected (or listening, for TCP).
    IsConnected,
    /// `ECONNREFUSED`: nothing listens there.
    ConnectionRefused,
    /// `ECONNRESET`: the peer aborted the connection.
    ConnectionReset,
    /// `EPIPE`: writing where no more can be written.
    BrokenPipe,
    /// `EADDRINUSE`.
    AddressInUse,
    /// `EADDRNOTAVAIL`: not a local address, or no ephemeral port left.
    AddressNotAvailable,
    /// `ENETUNREACH`: not on the loopback network.
    NetworkUnreachable,
    /// `EDESTADDRREQ`: no address and no peer.
    DestinationRequired,
    /// `EMSGSIZE`: a datagram too large.
    MessageTooLong,
    /// `EPROTOTYPE`: the socket at the address has another type.
    WrongType,
    /// `EOPNOTSUPP`: not an operation of this socket type.
    NotSupported,
    /// `EAFNOSUPPORT`: an address of another family.
    FamilyNotSupported,
    /// `ENOBUFS`: out of memory for buffers.
    NoBuffers,
    /// `EBADF`: the socket was closed (by another thread) while a call slept.
    Closed,
    /// A file-system error while binding or connecting to a path (`ENOENT`, `ENOTDIR`...).
    Fs(VfsError),
}

/// `core::result::Result` with [`NetError`].
pub type Result<T> = core::result::Result<T, NetError>;

impl NetError {
    /// The Linux errno number.
    pub fn errno(self) -> i32 {
        match self {
            Self::WouldBlock => 11,
            Self::Interrupted => 4,
            Self::InvalidArgument => 22,
            Self::NotConnected => 107,
            Self::IsConnected => 106,
            Self::ConnectionRefused => 111,
            Self::ConnectionReset => 104,
            Self::BrokenPipe => 32,
            Self::AddressInUse => 98,
            Self::AddressNotAvailable => 99,
            Self::NetworkUnreachable => 101,
            Self::DestinationRequired => 89,
            Self::MessageTooLong => 90,
            Self::WrongType => 91,
            Self::NotSupported => 95,
            Self::FamilyNotSupported => 97,
            Self::NoBuffers => 105,
            Self::Closed => 9,
            Self::Fs(e) => e.errno(),
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?} (errno {})", self.errno())
    }
}

impl From<VfsError> for NetError {
    fn from(e: VfsError) -> NetError {
        NetError::Fs(e)
    }
}

/// For the `vfs::File` methods (`read`, `write` on a socket descriptor): the errors those can
/// give have VFS names; anything else is reported as `EINVAL`.
impl From<NetError> for VfsError {
    fn from(e: NetError) -> VfsError {
        match e {
            NetError::WouldBlock => VfsError::WouldBlock,
            NetError::Interrupted => VfsError::Interrupted,
            NetError::NotConnected => VfsError::NotConnected,
            NetError::ConnectionRefused => VfsError::ConnectionRefused,
            NetError::ConnectionReset => VfsError::ConnectionReset,
            NetError::BrokenPipe => VfsError::BrokenPipe,
            NetError::DestinationRequired => VfsError::DestinationRequired,
            NetError::MessageTooLong => VfsError::MessageTooLong,
            NetError::NoBuffers => VfsError::NoSpace,
            NetError::Closed => VfsError::BadFileDescriptor,
            NetError::NotSupported => VfsError::NotSupported,
            NetError::Fs(e) => e,
            _ => VfsError::InvalidArgument,
        }
    }
}
