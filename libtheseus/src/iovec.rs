//! Reads and writes over a list of buffers (`readv`, `writev`, `sendmsg`, `recvmsg`, WASI's
//! `fd_read`, `fd_write`, `fd_pread`, `fd_pwrite`), with one rule for partial results.
//!
//! The buffers live in a memory the caller reaches its own way (a program's user memory, a
//! wasm guest's linear memory), so the caller passes them as `(address, length)` pairs, a
//! closure that copies in or out at an address, and its own error type. A vectored call is one transfer of the buffers' total size (at most
//! [`MAX_TRANSFER`]), gathered before or scattered after it, as Linux does: a second read for
//! a later buffer could block on a pipe that had exactly enough for the first, and a write
//! of up to `PIPE_BUF` bytes stays atomic.
//!
//! The rule: the steps run in order (each buffer's copy, the transfer) and stop at the first
//! one that is short or fails; the result is the bytes moved before it if there are any, else
//! the error.

use alloc::vec;
use alloc::vec::Vec;

/// The most bytes one vectored call moves; the rest is a short transfer the caller repeats.
pub const MAX_TRANSFER: usize = 1 << 20;

/// Copies the buffers (`(address, length)`, in order; at most `limit` bytes in all) into one
/// vector: `copy_in(address, dst)` fills `dst` from that address. A buffer whose copy fails
/// ends the gathering: what came before it is kept, or, if nothing did, the error is
/// returned.
pub fn gather<A: Copy, E>(
    bufs: &[(A, usize)],
    limit: usize,
    mut copy_in: impl FnMut(A, &mut [u8]) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    let mut data = Vec::new();
    for &(addr, len) in bufs {
        let take = len.min(limit - data.len());
        let start = data.len();
        data.resize(start + take, 0);
        if let Err(e) = copy_in(addr, &mut data[start..]) {
            data.truncate(start);
            if start == 0 {
                return Err(e);
            }
            break;
        }
        if data.len() == limit {
            break;
        }
    }
    Ok(data)
}

/// Copies `data` into the buffers (`(address, length)`, in order): `copy_out(address, src)`
/// copies `src` to that address. Returns the bytes copied: all of `data` unless a copy fails,
/// then those before it, or the error if there are none.
pub fn scatter<A: Copy, E>(
    bufs: &[(A, usize)],
    data: &[u8],
    mut copy_out: impl FnMut(A, &[u8]) -> Result<(), E>,
) -> Result<usize, E> {
    let mut done = 0;
    for &(addr, len) in bufs {
        if done == data.len() {
            break;
        }
        let take = len.min(data.len() - done);
        if let Err(e) = copy_out(addr, &data[done..done + take]) {
            return if done == 0 { Err(e) } else { Ok(done) };
        }
        done += take;
    }
    Ok(done)
}

/// A vectored write: the buffers gathered ([`gather`], at most [`MAX_TRANSFER`] bytes) and
/// written by one `write`, whose count (short or not) is the result.
pub fn write_vectored<A: Copy, E>(
    bufs: &[(A, usize)],
    copy_in: impl FnMut(A, &mut [u8]) -> Result<(), E>,
    write: impl FnOnce(&[u8]) -> Result<usize, E>,
) -> Result<usize, E> {
    write(&gather(bufs, MAX_TRANSFER, copy_in)?)
}

/// A vectored read: one `read` of the buffers' total size (at most [`MAX_TRANSFER`]), then
/// the bytes read scattered ([`scatter`]).
pub fn read_vectored<A: Copy, E>(
    bufs: &[(A, usize)],
    read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    copy_out: impl FnMut(A, &[u8]) -> Result<(), E>,
) -> Result<usize, E> {
    let total = bufs
        .iter()
        .fold(0usize, |t, &(_, len)| t.saturating_add(len))
        .min(MAX_TRANSFER);
    let mut data = vec![0u8; total];
    let n = read(&mut data)?;
    scatter(bufs, &data[..n.min(total)], copy_out)
}
