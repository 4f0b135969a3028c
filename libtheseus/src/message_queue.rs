//! Message queues: a descriptor from which a program reads whole messages that the layer
//! above queued for it. The POSIX layer answers netlink route requests this way: the request
//! arrives through its `sendto`, the answer waits here for the program's `recv`.
//!
//! Readable while a message waits (so `poll` and `epoll` work); a read takes one message,
//! cut to the buffer; an empty queue blocks a reader unless the descriptor is non-blocking.
//! The queue of a descriptor is found through its open file description, as epoll
//! instances are.

use crate::fs::{self, Fd};
use crate::{Errno, Result};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use spin::Mutex;
use vfs::{File, FileKind, Stat};

/// Messages a queue holds at most; a push beyond that fails with `ENOBUFS`.
const MAX_MESSAGES: usize = 256;

/// Live queues, by open file description.
static QUEUES: Mutex<BTreeMap<u64, Weak<Queue>>> = Mutex::new(BTreeMap::new());

struct Queue {
    messages: Mutex<VecDeque<Vec<u8>>>,
    /// Bumped (and futex-woken) at each push, so a blocked reader looks again.
    generation: AtomicU32,
    nonblocking: AtomicBool,
    /// What the layer above keeps with the queue (a netlink socket's port id).
    tag: AtomicU64,
    ino: u64,
    created: i64,
}

struct QueueFile(Arc<Queue>);

impl Drop for QueueFile {
    fn drop(&mut self) {
        let me = self as *const QueueFile as usize as u64;
        QUEUES.lock().remove(&me);
    }
}

impl Queue {
    /// Takes (or, with `peek`, copies) the first message; waits for one unless `nonblocking`
    /// or the descriptor is. Returns `EAGAIN` when none comes.
    fn pop(&self, peek: bool, nonblocking: bool) -> Result<Vec<u8>> {
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            {
                let mut messages = self.messages.lock();
                let first = if peek {
                    messages.front().cloned()
                } else {
                    messages.pop_front()
                };
                if let Some(message) = first {
                    return Ok(message);
                }
            }
            if nonblocking || self.nonblocking.load(Ordering::Relaxed) {
                return Err(Errno::EAGAIN);
            }
            // Returns at once if a push came since the look above.
            if let Err(task::FutexError::Interrupted) =
                task::futex_wait_interruptible(&self.generation, generation, None)
            {
                return Err(Errno::EINTR);
            }
            task::kill_point();
        }
    }
}

impl File for QueueFile {
    fn kind(&self) -> FileKind {
        FileKind::Socket
    }

    fn status(&self) -> vfs::OpenStatus {
        vfs::OpenStatus {
            nonblocking: self.0.nonblocking.load(Ordering::Relaxed),
            ..vfs::OpenStatus::READ_WRITE
        }
    }

    /// One message, cut to `buf`.
    fn read(&self, buf: &mut [u8]) -> vfs::Result<usize> {
        let message = self.0.pop(false, false)?;
        let n = message.len().min(buf.len());
        buf[..n].copy_from_slice(&message[..n]);
        Ok(n)
    }

    /// Writes go through the layer above (`send`), which answers them.
    fn write(&self, _buf: &[u8]) -> vfs::Result<usize> {
        Err(Errno::EOPNOTSUPP)
    }

    fn stat(&self) -> vfs::Result<Stat> {
        Ok(Stat::anonymous(
            FileKind::Socket,
            0,
            self.0.ino,
            self.0.created,
        ))
    }

    fn poll_readable(&self) -> bool {
        !self.0.messages.lock().is_empty()
    }

    fn poll_writable(&self) -> bool {
        true
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.0.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

/// A new, empty queue on the lowest free descriptor, with `tag` kept for the caller.
pub fn open(nonblocking: bool, tag: u64) -> Result<Fd> {
    // Inode numbers of message queues: above those of process descriptors.
    static NEXT_INO: AtomicU64 = AtomicU64::new(5 << 48);
    let queue = Arc::new(Queue {
        messages: Mutex::new(VecDeque::new()),
        generation: AtomicU32::new(0),
        nonblocking: AtomicBool::new(nonblocking),
        tag: AtomicU64::new(tag),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        created: vfs::now(),
    });
    let file = Arc::new(QueueFile(queue.clone()));
    let key = Arc::as_ptr(&file) as usize as u64;
    QUEUES.lock().insert(key, Arc::downgrade(&queue));
    vfs::install(file)
}

fn queue(fd: Fd) -> Option<Arc<Queue>> {
    let key = fs::description_id(fd).ok()?;
    QUEUES.lock().get(&key).and_then(Weak::upgrade)
}

/// The tag of `fd`'s queue, `None` if `fd` is not a message queue.
pub fn tag(fd: Fd) -> Option<u64> {
    queue(fd).map(|q| q.tag.load(Ordering::Relaxed))
}

/// Queues `messages` for `fd`'s reader, all or none (`ENOBUFS` when they do not fit).
pub fn push(fd: Fd, messages: Vec<Vec<u8>>) -> Result<()> {
    let queue = queue(fd).ok_or(Errno::ENOTSOCK)?;
    {
        let mut queued = queue.messages.lock();
        if queued.len() + messages.len() > MAX_MESSAGES {
            return Err(Errno::ENOBUFS);
        }
        queued.extend(messages);
    }
    queue.generation.fetch_add(1, Ordering::SeqCst);
    task::futex_wake(&queue.generation, usize::MAX);
    vfs::readiness::changed();
    Ok(())
}

/// The first message of `fd`'s queue, taken (or copied, with `peek`); waits for one unless
/// `nonblocking` or the descriptor is non-blocking (`EAGAIN`).
pub fn pop(fd: Fd, peek: bool, nonblocking: bool) -> Result<Vec<u8>> {
    let queue = queue(fd).ok_or(Errno::ENOTSOCK)?;
    queue.pop(peek, nonblocking)
}
