//! The VFS error type, with POSIX errno numbers and messages.

use core::fmt;
use memfs::FsError;

/// Errors of VFS calls, named after their POSIX counterparts (see [`VfsError::errno`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VfsError {
    /// `ENOENT`: no such file or directory (also a file removed while open).
    NotFound,
    /// `ENOTDIR`: a component used as a directory is not one.
    NotADirectory,
    /// `EISDIR`: the operation needs a non-directory.
    IsADirectory,
    /// `EEXIST`: the target exists.
    AlreadyExists,
    /// `ENOTEMPTY`: the directory still has entries.
    DirectoryNotEmpty,
    /// `ENAMETOOLONG`: a component or the whole path is too long.
    NameTooLong,
    /// `EINVAL`: an invalid argument (bad flags, negative offset, ...).
    InvalidArgument,
    /// `ELOOP`: too many symbolic links while resolving a path.
    TooManyLinks,
    /// `EBUSY`: for example removing or renaming the root directory.
    Busy,
    /// `ENOSPC`: out of memory, or a size or offset too large.
    NoSpace,
    /// `EBADF`: the descriptor is not open.
    BadFileDescriptor,
    /// `EACCES`: the descriptor is not open for this access (a write to a read-only
    /// descriptor, a read from a write-only one). POSIX `read`/`write` report `EBADF` for
    /// this; a POSIX layer should map it so for those two calls.
    PermissionDenied,
    /// `EPIPE`: write to a pipe without readers.
    BrokenPipe,
    /// `EAGAIN`: a non-blocking descriptor is not ready.
    WouldBlock,
    /// `ESPIPE`: seek on a pipe or a device.
    IllegalSeek,
    /// `ENOTSUP`: the object does not support the operation.
    NotSupported,
    /// `EMFILE`: the descriptor table is full.
    TooManyOpenFiles,
    /// `EINTR`: a blocking call gave up because its task is being killed.
    Interrupted,
    /// `ENOTCONN`: a socket that is not connected.
    NotConnected,
    /// `ECONNRESET`: the socket's peer aborted the connection.
    ConnectionReset,
    /// `ECONNREFUSED`: nothing listens at the address (also reported later on a connected
    /// datagram socket whose datagrams found no receiver).
    ConnectionRefused,
    /// `EDESTADDRREQ`: a datagram socket without a peer was given no address.
    DestinationRequired,
    /// `EMSGSIZE`: a datagram too large to send in one piece.
    MessageTooLong,
    /// `EXDEV`: a path resolved beneath a directory descriptor would leave it (the
    /// `*_beneath` calls; Linux's `openat2` with `RESOLVE_BENEATH` reports it so).
    CrossDevice,
}

impl VfsError {
    /// The Linux errno number of this error.
    pub fn errno(&self) -> i32 {
        match self {
            Self::NotFound => 2,
            Self::NotADirectory => 20,
            Self::IsADirectory => 21,
            Self::AlreadyExists => 17,
            Self::DirectoryNotEmpty => 39,
            Self::NameTooLong => 36,
            Self::InvalidArgument => 22,
            Self::TooManyLinks => 40,
            Self::Busy => 16,
            Self::NoSpace => 28,
            Self::BadFileDescriptor => 9,
            Self::PermissionDenied => 13,
            Self::BrokenPipe => 32,
            Self::WouldBlock => 11,
            Self::IllegalSeek => 29,
            Self::NotSupported => 95,
            Self::TooManyOpenFiles => 24,
            Self::Interrupted => 4,
            Self::NotConnected => 107,
            Self::ConnectionReset => 104,
            Self::ConnectionRefused => 111,
            Self::DestinationRequired => 89,
            Self::MessageTooLong => 90,
            Self::CrossDevice => 18,
        }
    }

    /// Every variant (for tests and errno tables).
    pub const ALL: [VfsError; 24] = [
        Self::NotFound,
        Self::NotADirectory,
        Self::IsADirectory,
        Self::AlreadyExists,
        Self::DirectoryNotEmpty,
        Self::NameTooLong,
        Self::InvalidArgument,
        Self::TooManyLinks,
        Self::Busy,
        Self::NoSpace,
        Self::BadFileDescriptor,
        Self::PermissionDenied,
        Self::BrokenPipe,
        Self::WouldBlock,
        Self::IllegalSeek,
        Self::NotSupported,
        Self::TooManyOpenFiles,
        Self::Interrupted,
        Self::NotConnected,
        Self::ConnectionReset,
        Self::ConnectionRefused,
        Self::DestinationRequired,
        Self::MessageTooLong,
        Self::CrossDevice,
    ];
}

impl fmt::Display for VfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "No such file or directory",
            Self::NotADirectory => "Not a directory",
            Self::IsADirectory => "Is a directory",
            Self::AlreadyExists => "File exists",
            Self::DirectoryNotEmpty => "Directory not empty",
            Self::NameTooLong => "File name too long",
            Self::InvalidArgument => "Invalid argument",
            Self::TooManyLinks => "Too many levels of symbolic links",
            Self::Busy => "Device or resource busy",
            Self::NoSpace => "No space left on device",
            Self::BadFileDescriptor => "Bad file descriptor",
            Self::PermissionDenied => "Permission denied",
            Self::BrokenPipe => "Broken pipe",
            Self::WouldBlock => "Resource temporarily unavailable",
            Self::IllegalSeek => "Illegal seek",
            Self::NotSupported => "Operation not supported",
            Self::TooManyOpenFiles => "Too many open files",
            Self::Interrupted => "Interrupted system call",
            Self::NotConnected => "Transport endpoint is not connected",
            Self::ConnectionReset => "Connection reset by peer",
            Self::ConnectionRefused => "Connection refused",
            Self::DestinationRequired => "Destination address required",
            Self::MessageTooLong => "Message too long",
            Self::CrossDevice => "Invalid cross-device link",
        })
    }
}

impl core::error::Error for VfsError {}

impl From<FsError> for VfsError {
    fn from(e: FsError) -> Self {
        match e {
            FsError::NotFound => Self::NotFound,
            FsError::NotADirectory => Self::NotADirectory,
            FsError::IsADirectory => Self::IsADirectory,
            FsError::AlreadyExists => Self::AlreadyExists,
            FsError::DirectoryNotEmpty => Self::DirectoryNotEmpty,
            FsError::NameTooLong => Self::NameTooLong,
            FsError::InvalidArgument => Self::InvalidArgument,
            FsError::TooManyLinks => Self::TooManyLinks,
            FsError::Busy => Self::Busy,
            FsError::NoSpace => Self::NoSpace,
            FsError::Escapes => Self::CrossDevice,
        }
    }
}
