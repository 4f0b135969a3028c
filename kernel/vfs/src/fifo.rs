//! Named pipes (`mkfifo`): a FIFO node in the file tree has no data of its own; every open of
//! it joins the one pipe kept for that node while any end is open (a later open after all
//! ends closed starts a new, empty pipe). As on Linux, opening for reading waits until some
//! writer has opened, and opening for writing until some reader has; with `O_NONBLOCK` a
//! read-only open returns at once and a write-only open without a reader fails with `ENXIO`;
//! a read-write open never waits.

use crate::file::{File, FileKind, OpenStatus, Result, Stat};
use crate::pipe::{Pipe, PipeReader, PipeWriter};
use crate::{Errno, OpenOptions};
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::Ordering;
use spin::Mutex;

/// The live pipe of each named pipe that has an open end.
static PIPES: Mutex<BTreeMap<memfs::NodeId, Weak<Pipe>>> = Mutex::new(BTreeMap::new());

fn pipe_of(node: memfs::NodeId) -> Arc<Pipe> {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let mut pipes = PIPES.lock();
        pipes.retain(|_, p| p.strong_count() > 0);
        if let Some(pipe) = pipes.get(&node).and_then(Weak::upgrade) {
            return pipe;
        }
        let pipe = Pipe::new(crate::file::node_ino(node));
        pipes.insert(node, Arc::downgrade(&pipe));
        pipe
    })
}

/// Both ends at once: a named pipe opened for reading and writing.
struct Duplex {
    reader: Arc<PipeReader>,
    writer: Arc<PipeWriter>,
}

impl File for Duplex {
    fn kind(&self) -> FileKind {
        FileKind::Pipe
    }
    fn status(&self) -> OpenStatus {
        OpenStatus {
            nonblocking: self.reader.status().nonblocking,
            ..OpenStatus::READ_WRITE
        }
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.reader.read(buf)
    }
    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.writer.write(buf)
    }
    fn stat(&self) -> Result<Stat> {
        self.reader.stat()
    }
    fn poll_readable(&self) -> bool {
        self.reader.poll_readable()
    }
    fn poll_writable(&self) -> bool {
        self.writer.poll_writable()
    }
    fn set_nonblocking(&self, nonblocking: bool) {
        self.reader.set_nonblocking(nonblocking);
        self.writer.set_nonblocking(nonblocking);
    }
}

/// Opens named pipe `node` as `opts` asks (see the module docs). Waits outside any file-system
/// lock: the caller holds none.
pub(crate) fn open(node: memfs::NodeId, opts: OpenOptions) -> Result<Arc<dyn File>> {
    let pipe = pipe_of(node);
    let write = opts.write || opts.append;
    let file: Arc<dyn File> = match (opts.read, write) {
        (true, true) => Arc::new(Duplex {
            reader: PipeReader::join(&pipe),
            writer: PipeWriter::join(&pipe),
        }),
        (true, false) => {
            let seen = pipe.writers_made.load(Ordering::SeqCst);
            let reader = PipeReader::join(&pipe);
            if !opts.nonblocking {
                wait(&pipe.readable, || {
                    pipe.writers.load(Ordering::SeqCst) > 0
                        || pipe.writers_made.load(Ordering::SeqCst) != seen
                })?;
            }
            reader
        }
        (false, true) => {
            let seen = pipe.readers_made.load(Ordering::SeqCst);
            if opts.nonblocking && pipe.readers.load(Ordering::SeqCst) == 0 {
                return Err(Errno::ENXIO);
            }
            let writer = PipeWriter::join(&pipe);
            if !opts.nonblocking {
                wait(&pipe.writable, || {
                    pipe.readers.load(Ordering::SeqCst) > 0
                        || pipe.readers_made.load(Ordering::SeqCst) != seen
                })?;
            }
            writer
        }
        (false, false) => return Err(Errno::EINVAL),
    };
    file.set_nonblocking(opts.nonblocking);
    crate::readiness::changed();
    Ok(file)
}

/// Waits on `queue` until `ready`; `EINTR` if a signal interrupts the wait or the task is
/// killed meanwhile.
fn wait(queue: &task::WaitQueue, ready: impl Fn() -> bool) -> Result<()> {
    loop {
        if ready() {
            return Ok(());
        }
        if task::kill_pending() {
            return Err(Errno::EINTR);
        }
        if queue.wait_interruptible(&mut || ready(), None) == task::WaitEnd::Interrupted {
            return Err(Errno::EINTR);
        }
        task::kill_point();
    }
}
