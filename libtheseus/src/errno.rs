//! [`Errno`]: the error type of every fallible libtheseus call, the `errno` crate's Linux
//! errno, which the VFS and sockets already return (so their errors pass through unchanged).
//! Here only the kernel errors that are not errnos get their number.

pub use errno::{Errno, Result};

/// The errno of a failed mapping call.
pub(crate) fn map_error(e: memory::MapError) -> Errno {
    use memory::MapError::*;
    match e {
        OutOfFrames | OutOfAddressSpace | NotMapped => Errno::ENOMEM,
        AlreadyMapped | Unaligned | OutOfRange => Errno::EINVAL,
        SharedWritable => Errno::EACCES,
    }
}

/// The errno of a failed task spawn (out of memory for its stack): `EAGAIN`, as `clone`.
pub(crate) fn spawn_error(_: task::SpawnError) -> Errno {
    Errno::EAGAIN
}
