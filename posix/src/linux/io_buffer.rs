//! The kernel-side buffers of `read`, `write`, `pread64` and `pwrite64`. Data goes between the
//! file and the program through a buffer of the call's length; a new one is zero-filled first,
//! which under TCG costs about what the copy itself does (16 MiB read in 64 KiB calls: 256
//! zeroings). So each thread keeps one buffer for calls of [`KEPT_MIN`] to [`KEPT_MAX`] bytes:
//! zeroed when it grows, reused as it is after (what a call finds there is overwritten before
//! it is read: the read fills it, the write copies the program's bytes in). Smaller calls
//! still take a new buffer (cheaper than finding the kept one).
//!
//! The buffer is taken out of the process's map for the call and put back after, so nothing
//! is held while the call blocks (a thread killed meanwhile loses only that buffer, as it
//! would lose a new one). `exit` drops the thread's buffer.

use super::state;
use alloc::vec;
use alloc::vec::Vec;
use libtheseus::Result;
use libtheseus::thread;

/// Calls of at least this many bytes use the kept buffer.
const KEPT_MIN: usize = 16 * 1024;
/// The largest buffer a thread keeps (std's default `BufReader` is 8 KiB; readers of big
/// files use 64 KiB or so).
const KEPT_MAX: usize = 64 * 1024;

/// Runs `f` on a buffer of `len` bytes (contents unspecified: `f` overwrites what it uses).
pub fn with<R>(len: usize, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
    if !(KEPT_MIN..=KEPT_MAX).contains(&len) {
        return f(&mut vec![0u8; len]);
    }
    let me = thread::current_id().as_u64();
    let mut buf: Vec<u8> = state::current()
        .io_buffers
        .lock()
        .remove(&me)
        .unwrap_or_default();
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let result = f(&mut buf[..len]);
    state::current().io_buffers.lock().insert(me, buf);
    result
}

/// Drops the calling thread's buffer (it ends).
pub fn forget_mine() {
    let me = thread::current_id().as_u64();
    let buf = state::current().io_buffers.lock().remove(&me);
    drop(buf);
}
