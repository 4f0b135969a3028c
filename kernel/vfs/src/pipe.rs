//! Pipes: a bounded byte ring shared by a read end and a write end.
//!
//! Blocking uses `task::WaitQueue`, whose conditions run with interrupts disabled; so the
//! conditions look only at atomics (`len`, `readers`, `writers`), never at the ring's lock,
//! which a preempted task may hold. The atomics change only under the ring lock, and a waker
//! notifies after changing them; a waiter is on the queue before it looks at them, so no
//! wake-up is lost even when the waker runs on another CPU at the same moment.

use crate::file::{File, FileKind, OpenStatus, Result, Stat, anonymous_ino};
use crate::{Errno, now};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use spin::Mutex;
use task::WaitQueue;

/// Bytes a pipe buffers before writers block.
pub const PIPE_CAPACITY: usize = 64 * 1024;
/// Writes of at most this many bytes are atomic: never interleaved with other writers.
pub const PIPE_BUF: usize = 4096;

pub(crate) struct Pipe {
    ring: Mutex<VecDeque<u8>>,
    /// Bytes in `ring`.
    len: AtomicUsize,
    pub(crate) readers: AtomicUsize,
    pub(crate) writers: AtomicUsize,
    /// Read and write ends made so far (a named pipe's opener waits for the other side's
    /// count to move).
    pub(crate) readers_made: AtomicUsize,
    pub(crate) writers_made: AtomicUsize,
    /// Readers waiting for data or the last writer's close (and named-pipe openers waiting
    /// for a writer).
    pub(crate) readable: WaitQueue,
    /// Writers waiting for room or the last reader's close (and named-pipe openers waiting
    /// for a reader).
    pub(crate) writable: WaitQueue,
    ino: u64,
    created: i64,
}

impl Pipe {
    /// A pipe with no ends yet (they are made with [`PipeReader::join`] and
    /// [`PipeWriter::join`]), reporting inode `ino`.
    pub(crate) fn new(ino: u64) -> Arc<Pipe> {
        Arc::new(Pipe {
            ring: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
            readers: AtomicUsize::new(0),
            writers: AtomicUsize::new(0),
            readers_made: AtomicUsize::new(0),
            writers_made: AtomicUsize::new(0),
            readable: WaitQueue::new(),
            writable: WaitQueue::new(),
            ino,
            created: now(),
        })
    }

    fn stat(&self) -> Stat {
        Stat::anonymous(
            FileKind::Pipe,
            self.len.load(Ordering::SeqCst) as u64,
            self.ino,
            self.created,
        )
    }
}

/// Copies the first bytes of `ring` into `buf` (as many as fit); returns the count. Slice
/// copies, not a byte loop: a 64 KiB read is one or two `memcpy`s.
fn copy_front(ring: &VecDeque<u8>, buf: &mut [u8]) -> usize {
    let (a, b) = ring.as_slices();
    let from_a = a.len().min(buf.len());
    buf[..from_a].copy_from_slice(&a[..from_a]);
    let from_b = b.len().min(buf.len() - from_a);
    buf[from_a..from_a + from_b].copy_from_slice(&b[..from_b]);
    from_a + from_b
}

/// The read end of a pipe.
pub struct PipeReader {
    pipe: Arc<Pipe>,
    nonblocking: AtomicBool,
    /// Write ends made before this one: it reports a hang-up only once a writer that came
    /// after it has gone (a named pipe's reader waiting for its first writer is not hung up).
    writers_before: usize,
}

/// The write end of a pipe.
pub struct PipeWriter {
    pipe: Arc<Pipe>,
    nonblocking: AtomicBool,
}

/// A new pipe: (read end, write end).
pub fn pipe_pair() -> (Arc<PipeReader>, Arc<PipeWriter>) {
    let pipe = Pipe::new(anonymous_ino());
    (PipeReader::join(&pipe), PipeWriter::join(&pipe))
}

impl PipeReader {
    /// A new read end of `pipe` (writers waiting for a reader are woken).
    pub(crate) fn join(pipe: &Arc<Pipe>) -> Arc<PipeReader> {
        pipe.readers.fetch_add(1, Ordering::SeqCst);
        pipe.readers_made.fetch_add(1, Ordering::SeqCst);
        pipe.writable.notify_all();
        Arc::new(PipeReader {
            pipe: pipe.clone(),
            nonblocking: AtomicBool::new(false),
            writers_before: pipe.writers_made.load(Ordering::SeqCst),
        })
    }
}

impl PipeWriter {
    /// A new write end of `pipe` (readers waiting for a writer are woken).
    pub(crate) fn join(pipe: &Arc<Pipe>) -> Arc<PipeWriter> {
        pipe.writers.fetch_add(1, Ordering::SeqCst);
        pipe.writers_made.fetch_add(1, Ordering::SeqCst);
        pipe.readable.notify_all();
        Arc::new(PipeWriter {
            pipe: pipe.clone(),
            nonblocking: AtomicBool::new(false),
        })
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.pipe.readers.fetch_sub(1, Ordering::SeqCst);
        self.pipe.writable.notify_all();
        crate::readiness::changed();
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.pipe.writers.fetch_sub(1, Ordering::SeqCst);
        self.pipe.readable.notify_all();
        crate::readiness::changed();
    }
}

impl File for PipeReader {
    fn kind(&self) -> FileKind {
        FileKind::Pipe
    }

    fn status(&self) -> OpenStatus {
        OpenStatus {
            nonblocking: self.nonblocking.load(Ordering::Relaxed),
            ..OpenStatus::READ
        }
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let p = &*self.pipe;
        loop {
            // The writer count is read before the length: a writer's bytes are in the ring
            // before its count drops, so "no writers" seen first and then "no bytes" is end
            // of file. In the other order a writer could write and close between the two
            // loads, and its last bytes would be lost behind a false end of file.
            let no_writers = p.writers.load(Ordering::SeqCst) == 0;
            if p.len.load(Ordering::SeqCst) > 0 {
                let n = {
                    let mut ring = p.ring.lock();
                    let n = copy_front(&ring, buf);
                    ring.drain(..n);
                    p.len.store(ring.len(), Ordering::SeqCst);
                    n
                };
                p.writable.notify_all();
                crate::readiness::changed();
                return Ok(n);
            }
            if no_writers {
                return Ok(0);
            }
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(Errno::EAGAIN);
            }
            let end = p.readable.wait_interruptible(
                &mut || p.len.load(Ordering::SeqCst) > 0 || p.writers.load(Ordering::SeqCst) == 0,
                None,
            );
            if end == task::WaitEnd::Interrupted {
                return Err(Errno::EINTR);
            }
        }
    }

    fn peek(&self, buf: &mut [u8]) -> Result<usize> {
        let p = &*self.pipe;
        // As in `read`: the writer count first, then the bytes.
        let no_writers = p.writers.load(Ordering::SeqCst) == 0;
        let ring = p.ring.lock();
        if ring.is_empty() {
            return if no_writers {
                Ok(0)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        Ok(copy_front(&ring, buf))
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.pipe.stat())
    }

    /// Data, or end of file: every writer that came after this end has gone (a named pipe's
    /// reader waiting for its first writer is not readable, as on Linux).
    fn poll_readable(&self) -> bool {
        self.pipe.len.load(Ordering::SeqCst) > 0 || self.poll_hung_up()
    }

    fn poll_writable(&self) -> bool {
        false
    }

    /// Every write end is closed, and one was open since this end was made (`POLLHUP`,
    /// `EPOLLHUP`), as on Linux.
    fn poll_hung_up(&self) -> bool {
        self.pipe.writers.load(Ordering::SeqCst) == 0
            && self.pipe.writers_made.load(Ordering::SeqCst) > self.writers_before
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

impl File for PipeWriter {
    fn kind(&self) -> FileKind {
        FileKind::Pipe
    }

    fn status(&self) -> OpenStatus {
        OpenStatus {
            read: false,
            nonblocking: self.nonblocking.load(Ordering::Relaxed),
            ..OpenStatus::READ_WRITE
        }
    }

    /// Blocks until every byte is written (POSIX blocking-pipe semantics); writes of at
    /// most [`PIPE_BUF`] bytes go in at once. With no reader left: `EPIPE`, or the count
    /// written so far if some bytes went in.
    fn write(&self, buf: &[u8]) -> Result<usize> {
        let p = &*self.pipe;
        let mut written = 0;
        while written < buf.len() {
            if p.readers.load(Ordering::SeqCst) == 0 {
                return if written > 0 {
                    Ok(written)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            let rest = &buf[written..];
            // Room needed before writing anything: all of a small write, one byte otherwise.
            let need = if rest.len() <= PIPE_BUF {
                rest.len()
            } else {
                1
            };
            let n = {
                let mut ring = p.ring.lock();
                let room = PIPE_CAPACITY - ring.len();
                if room >= need {
                    let n = rest.len().min(room);
                    if ring.try_reserve(n).is_err() {
                        return Err(Errno::ENOSPC);
                    }
                    ring.extend(&rest[..n]);
                    p.len.store(ring.len(), Ordering::SeqCst);
                    n
                } else {
                    0
                }
            };
            if n > 0 {
                written += n;
                p.readable.notify_all();
                crate::readiness::changed();
                continue;
            }
            if self.nonblocking.load(Ordering::Relaxed) {
                return if written > 0 {
                    Ok(written)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            let end = p.writable.wait_interruptible(
                &mut || {
                    p.readers.load(Ordering::SeqCst) == 0
                        || PIPE_CAPACITY - p.len.load(Ordering::SeqCst) >= need
                },
                None,
            );
            // A signal: what went in so far, else EINTR.
            if end == task::WaitEnd::Interrupted {
                return if written > 0 {
                    Ok(written)
                } else {
                    Err(Errno::EINTR)
                };
            }
        }
        Ok(written)
    }

    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EACCES)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.pipe.stat())
    }

    fn poll_readable(&self) -> bool {
        false
    }

    fn poll_writable(&self) -> bool {
        self.pipe.readers.load(Ordering::SeqCst) == 0
            || PIPE_CAPACITY - self.pipe.len.load(Ordering::SeqCst) >= PIPE_BUF
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}
