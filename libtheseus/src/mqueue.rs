//! POSIX message queues: named queues of whole messages with priorities, opened as
//! descriptors (what Linux's `mq_*` calls work on).
//!
//! A queue has a name (one global namespace, as Linux's mqueue file system of one IPC
//! namespace), a capacity in messages and a largest message size, fixed at creation. A send
//! waits while the queue is full, a receive while it is empty, unless the descriptor is
//! non-blocking (`EAGAIN`) or the deadline passes (`ETIMEDOUT`); a signal for the thread ends
//! the wait with `EINTR`. Messages come out highest priority first, in order of sending within
//! a priority. `unlink` removes the name; the queue lives while a descriptor is open.
//!
//! A descriptor is readable while a message waits and writable while there is room (`poll`,
//! `epoll`); `read` gives Linux's status line (`QSIZE:...`). One notification request per
//! queue ([`notify`]): the layer above registers it, and learns from [`send`] when it
//! fired (a message arrived in an empty queue with no receiver waiting); it is then removed.

use crate::fs::Fd;
use crate::{Errno, Result, futex};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use spin::Mutex;
use vfs::{File, FileKind, Stat};

/// Live queues by name (unlinked ones are not here).
static NAMES: Mutex<BTreeMap<String, Arc<Queue>>> = Mutex::new(BTreeMap::new());
/// Open descriptions by their key (`fs::description_id`).
static DESCRIPTIONS: Mutex<BTreeMap<u64, Weak<Description>>> = Mutex::new(BTreeMap::new());

/// A queue's fixed sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Messages it holds at most.
    pub max_messages: usize,
    /// Bytes of its largest message.
    pub message_size: usize,
}

/// What `mq_getattr` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub limits: Limits,
    /// Messages waiting.
    pub messages: usize,
    /// The descriptor's `O_NONBLOCK`.
    pub nonblocking: bool,
}

/// A notification request: which process asked, and what the layer above keeps with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    pub owner: u64,
    pub signal: u32,
    pub value: u64,
}

struct Inner {
    /// By priority, each in order of sending.
    messages: BTreeMap<u32, alloc::collections::VecDeque<Vec<u8>>>,
    count: usize,
    bytes: usize,
    notify: Option<Notification>,
}

struct Queue {
    limits: Limits,
    inner: Mutex<Inner>,
    /// Bumped (and futex-woken) at every send and receive, so waiters look again.
    generation: AtomicU32,
    /// Receivers waiting now (a notification is not sent while one waits).
    receivers: AtomicUsize,
    mode: u32,
    ino: u64,
    created: i64,
}

struct Description {
    queue: Arc<Queue>,
    read: bool,
    write: bool,
    nonblocking: AtomicBool,
}

struct QueueFile(Arc<Description>);

impl Drop for QueueFile {
    fn drop(&mut self) {
        let me = self as *const QueueFile as usize as u64;
        DESCRIPTIONS.lock().remove(&me);
    }
}

impl Queue {
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        futex::wake_all(&self.generation);
        vfs::readiness::changed();
    }

    /// Waits for the next change after `seen`, until `deadline` (monotonic ns).
    fn wait(&self, seen: u32, deadline: Option<u64>) -> Result<()> {
        match futex::wait_until_interruptible(&self.generation, seen, deadline) {
            Ok(()) | Err(Errno::EAGAIN) => {}
            Err(e) => return Err(e),
        }
        task::kill_point();
        if deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            return Err(Errno::ETIMEDOUT);
        }
        Ok(())
    }
}

impl File for QueueFile {
    fn kind(&self) -> FileKind {
        FileKind::File
    }

    fn status(&self) -> vfs::OpenStatus {
        vfs::OpenStatus {
            read: self.0.read,
            write: self.0.write,
            append: false,
            nonblocking: self.0.nonblocking.load(Ordering::Relaxed),
        }
    }

    /// Linux's status line of the queue: bytes queued and the notification.
    fn read(&self, buf: &mut [u8]) -> vfs::Result<usize> {
        let inner = self.0.queue.inner.lock();
        let (kind, signal, pid) = inner.notify.map_or((0, 0, 0), |n| (0, n.signal, n.owner));
        let line = format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            inner.bytes, kind, signal, pid
        );
        let n = line.len().min(buf.len());
        buf[..n].copy_from_slice(&line.as_bytes()[..n]);
        Ok(n)
    }

    fn write(&self, _buf: &[u8]) -> vfs::Result<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> vfs::Result<Stat> {
        let q = &self.0.queue;
        let mut stat = Stat::anonymous(FileKind::File, 0, q.ino, q.created);
        stat.mode = q.mode & 0o7777;
        Ok(stat)
    }

    fn poll_readable(&self) -> bool {
        self.0.queue.inner.lock().count > 0
    }

    fn poll_writable(&self) -> bool {
        self.0.queue.inner.lock().count < self.0.queue.limits.max_messages
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.0.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

/// How `open` finds or makes the queue.
#[derive(Clone, Copy, Debug)]
pub struct OpenRequest {
    pub read: bool,
    pub write: bool,
    pub create: bool,
    pub exclusive: bool,
    pub nonblocking: bool,
    /// Permission bits of a new queue.
    pub mode: u32,
    /// A new queue's sizes.
    pub limits: Limits,
}

/// Opens the queue `name` on the lowest free descriptor (creating it if asked): `ENOENT`
/// if it does not exist and is not to be created, `EEXIST` if it exists and `exclusive`.
pub fn open(name: &str, req: &OpenRequest) -> Result<Fd> {
    // Inode numbers of message queues: above those of netlink queues.
    static NEXT_INO: AtomicU64 = AtomicU64::new(6 << 48);
    let queue = {
        let mut names = NAMES.lock();
        match names.get(name) {
            Some(_) if req.create && req.exclusive => return Err(Errno::EEXIST),
            Some(q) => q.clone(),
            None if !req.create => return Err(Errno::ENOENT),
            None => {
                let q = Arc::new(Queue {
                    limits: req.limits,
                    inner: Mutex::new(Inner {
                        messages: BTreeMap::new(),
                        count: 0,
                        bytes: 0,
                        notify: None,
                    }),
                    generation: AtomicU32::new(0),
                    receivers: AtomicUsize::new(0),
                    mode: req.mode,
                    ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
                    created: vfs::now(),
                });
                names.insert(String::from(name), q.clone());
                q
            }
        }
    };
    let description = Arc::new(Description {
        queue,
        read: req.read,
        write: req.write,
        nonblocking: AtomicBool::new(req.nonblocking),
    });
    let file = Arc::new(QueueFile(description.clone()));
    let key = Arc::as_ptr(&file) as usize as u64;
    DESCRIPTIONS
        .lock()
        .insert(key, Arc::downgrade(&description));
    vfs::install(file)
}

/// Removes the name `name` (`ENOENT` if there is none); open descriptors keep the queue.
pub fn unlink(name: &str) -> Result<()> {
    NAMES.lock().remove(name).map(|_| ()).ok_or(Errno::ENOENT)
}

fn description(fd: Fd) -> Result<Arc<Description>> {
    let key = crate::fs::description_id(fd)?;
    DESCRIPTIONS
        .lock()
        .get(&key)
        .and_then(Weak::upgrade)
        .ok_or(Errno::EBADF)
}

/// Whether `fd` is a message queue descriptor.
pub fn is_queue(fd: Fd) -> bool {
    description(fd).is_ok()
}

/// Sends `message` with `priority` on `fd` (`EBADF` unless open for writing, `EMSGSIZE` if
/// larger than the queue's message size); waits for room until `deadline` (monotonic ns).
/// Returns the notification that fired, if this message should trigger one.
pub fn send(
    fd: Fd,
    message: &[u8],
    priority: u32,
    deadline: Option<u64>,
) -> Result<Option<Notification>> {
    let d = description(fd)?;
    if !d.write {
        return Err(Errno::EBADF);
    }
    let q = &d.queue;
    if message.len() > q.limits.message_size {
        return Err(Errno::EMSGSIZE);
    }
    loop {
        let seen = q.generation.load(Ordering::SeqCst);
        {
            let mut inner = q.inner.lock();
            if inner.count < q.limits.max_messages {
                let was_empty = inner.count == 0;
                inner
                    .messages
                    .entry(priority)
                    .or_default()
                    .push_back(message.to_vec());
                inner.count += 1;
                inner.bytes += message.len();
                let fired = if was_empty && q.receivers.load(Ordering::SeqCst) == 0 {
                    inner.notify.take()
                } else {
                    None
                };
                drop(inner);
                q.changed();
                return Ok(fired);
            }
        }
        if d.nonblocking.load(Ordering::Relaxed) {
            return Err(Errno::EAGAIN);
        }
        q.wait(seen, deadline)?;
    }
}

/// Receives the first message (highest priority, oldest) from `fd` into at most `capacity`
/// bytes (`EMSGSIZE` if that is less than the queue's message size; `EBADF` unless open for
/// reading); waits for one until `deadline` (monotonic ns). Returns it and its priority.
pub fn receive(fd: Fd, capacity: usize, deadline: Option<u64>) -> Result<(Vec<u8>, u32)> {
    let d = description(fd)?;
    if !d.read {
        return Err(Errno::EBADF);
    }
    let q = &d.queue;
    if capacity < q.limits.message_size {
        return Err(Errno::EMSGSIZE);
    }
    loop {
        let seen = q.generation.load(Ordering::SeqCst);
        {
            let mut inner = q.inner.lock();
            let first = inner.messages.last_entry().map(|mut e| {
                let priority = *e.key();
                let message = e.get_mut().pop_front().unwrap_or_default();
                if e.get().is_empty() {
                    e.remove();
                }
                (message, priority)
            });
            if let Some((message, priority)) = first {
                inner.count -= 1;
                inner.bytes -= message.len();
                drop(inner);
                q.changed();
                return Ok((message, priority));
            }
        }
        if d.nonblocking.load(Ordering::Relaxed) {
            return Err(Errno::EAGAIN);
        }
        q.receivers.fetch_add(1, Ordering::SeqCst);
        let waited = q.wait(seen, deadline);
        q.receivers.fetch_sub(1, Ordering::SeqCst);
        waited?;
    }
}

/// The attributes of `fd`'s queue and description; with `nonblocking`, sets the
/// description's `O_NONBLOCK` afterwards (the attributes returned are the old ones).
pub fn attributes(fd: Fd, nonblocking: Option<bool>) -> Result<Attributes> {
    let d = description(fd)?;
    let old = Attributes {
        limits: d.queue.limits,
        messages: d.queue.inner.lock().count,
        nonblocking: d.nonblocking.load(Ordering::Relaxed),
    };
    if let Some(on) = nonblocking {
        d.nonblocking.store(on, Ordering::Relaxed);
    }
    Ok(old)
}

/// Registers `request` as the queue's notification (`EBUSY` if another is registered), or
/// with `None` removes the one `owner` registered (if any).
pub fn notify(fd: Fd, owner: u64, request: Option<Notification>) -> Result<()> {
    let d = description(fd)?;
    let mut inner = d.queue.inner.lock();
    match request {
        Some(n) => {
            if inner.notify.is_some() {
                return Err(Errno::EBUSY);
            }
            inner.notify = Some(n);
        }
        None => {
            if inner.notify.is_some_and(|n| n.owner == owner) {
                inner.notify = None;
            }
        }
    }
    Ok(())
}
