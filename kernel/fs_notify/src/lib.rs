//! inotify's bookkeeping (Linux `inotify(7)` semantics): the watches that instances put on
//! file-system nodes, and each instance's queue of events, encoded as `struct inotify_event`
//! records when read.
//!
//! Knows nothing of files, paths or descriptors: a node is a [`NodeKey`] chosen by the file
//! system, an instance an [`InstanceId`]. The file system reports what happened with
//! [`Registry::notify`] (an event on a node, or on a directory's entry `name`) and
//! [`Registry::node_gone`]; the VFS turns an instance into a descriptor and wakes readers when
//! a call reports that it queued something. Depends on `spin`, `errno` and `linux-raw-sys`
//! (the event bits). Hand-written: no no_std crate keeps inotify state.
//!
//! Semantics kept from Linux: a watch's mask filters events (`IN_IGNORED`, `IN_Q_OVERFLOW`,
//! `IN_UNMOUNT` always pass); one watch per node and instance (adding again replaces its mask,
//! or extends it with `IN_MASK_ADD`; `IN_MASK_CREATE` refuses with `EEXIST`); `IN_ONESHOT`
//! removes a watch after its first event; removing a watch, or the node going away, queues
//! `IN_IGNORED`; an event identical to the last one still queued is merged into it; a full queue
//! ends in one `IN_Q_OVERFLOW` (watch descriptor -1); names are padded with NULs to a multiple of
//! 16 bytes; a read buffer too small for the next event is `EINVAL`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

#[cfg(test)]
mod tests;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
pub use errno::Errno;
pub use linux_raw_sys::general::{
    IN_ACCESS, IN_ALL_EVENTS, IN_ATTRIB, IN_CLOEXEC, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_CREATE,
    IN_DELETE, IN_DELETE_SELF, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_IGNORED, IN_ISDIR, IN_MASK_ADD,
    IN_MASK_CREATE, IN_MODIFY, IN_MOVE_SELF, IN_MOVED_FROM, IN_MOVED_TO, IN_NONBLOCK, IN_ONESHOT,
    IN_ONLYDIR, IN_OPEN, IN_Q_OVERFLOW, IN_UNMOUNT,
};
use spin::Mutex;

/// A node of the file system, as the file system names it (stable while the node lives, never
/// reused for another node while a watch could still name it).
pub type NodeKey = u64;

/// One inotify instance.
pub type InstanceId = u64;

/// Size of `struct inotify_event` without its name.
pub const EVENT_HEADER: usize = 16;

/// Events an instance queues before it reports `IN_Q_OVERFLOW` (Linux's default
/// `max_queued_events`).
pub const MAX_QUEUED_EVENTS: usize = 16384;

/// Watches one instance may hold (`ENOSPC` past it).
pub const MAX_WATCHES: usize = 65536;

/// Live instances the system allows (`EMFILE` past it).
pub const MAX_INSTANCES: usize = 1024;

/// Flags `inotify_add_watch` accepts besides event bits.
const WATCH_FLAGS: u32 =
    IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_ADD | IN_MASK_CREATE | IN_ONESHOT | IN_ONLYDIR;

/// One queued event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Watch descriptor (-1 for `IN_Q_OVERFLOW`).
    pub wd: i32,
    pub mask: u32,
    /// Ties an `IN_MOVED_FROM` to its `IN_MOVED_TO`; 0 otherwise.
    pub cookie: u32,
    /// Entry of a watched directory the event is about.
    pub name: Option<String>,
}

impl Event {
    /// Bytes the name takes in the record: with its NUL, rounded up to 16; 0 without a name.
    fn name_field_len(&self) -> usize {
        self.name
            .as_ref()
            .map_or(0, |n| (n.len() + 1).next_multiple_of(EVENT_HEADER))
    }

    /// Bytes of the whole record.
    pub fn record_len(&self) -> usize {
        EVENT_HEADER + self.name_field_len()
    }

    /// Writes the record at the start of `out` (at least [`Self::record_len`] bytes).
    fn encode(&self, out: &mut [u8]) {
        let name_len = self.name_field_len();
        out[0..4].copy_from_slice(&self.wd.to_ne_bytes());
        out[4..8].copy_from_slice(&self.mask.to_ne_bytes());
        out[8..12].copy_from_slice(&self.cookie.to_ne_bytes());
        out[12..16].copy_from_slice(&(name_len as u32).to_ne_bytes());
        let field = &mut out[EVENT_HEADER..EVENT_HEADER + name_len];
        field.fill(0);
        if let Some(name) = &self.name {
            field[..name.len()].copy_from_slice(name.as_bytes());
        }
    }
}

struct Watch {
    node: NodeKey,
    mask: u32,
}

#[derive(Default)]
struct Instance {
    watches: BTreeMap<i32, Watch>,
    next_wd: i32,
    queue: VecDeque<Event>,
    queued_bytes: usize,
}

impl Instance {
    /// Queues `event` (merged into an identical last event; the overflow marker once the
    /// queue is full).
    fn push(&mut self, event: Event) {
        if self.queue.back() == Some(&event) {
            return;
        }
        let event = if self.queue.len() >= MAX_QUEUED_EVENTS {
            if self.queue.back().is_some_and(|e| e.mask == IN_Q_OVERFLOW) {
                return;
            }
            Event {
                wd: -1,
                mask: IN_Q_OVERFLOW,
                cookie: 0,
                name: None,
            }
        } else {
            event
        };
        self.queued_bytes += event.record_len();
        self.queue.push_back(event);
    }
}

#[derive(Default)]
struct Inner {
    instances: BTreeMap<InstanceId, Instance>,
    /// Watches by node: (instance, watch descriptor).
    by_node: BTreeMap<NodeKey, Vec<(InstanceId, i32)>>,
    next_instance: InstanceId,
}

impl Inner {
    /// Drops watch `wd` of `instance` (on `node`) from the node index.
    fn unindex(&mut self, node: NodeKey, instance: InstanceId, wd: i32) {
        if let Some(list) = self.by_node.get_mut(&node) {
            list.retain(|&(i, w)| (i, w) != (instance, wd));
            if list.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }
}

/// Every instance and watch of the system.
pub struct Registry {
    inner: Mutex<Option<Inner>>,
    /// Watches alive, read without the lock: the file system skips reporting while it is 0.
    watches: AtomicUsize,
    next_cookie: AtomicU32,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    pub const fn new() -> Self {
        Registry {
            inner: Mutex::new(None),
            watches: AtomicUsize::new(0),
            next_cookie: AtomicU32::new(1),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(self.inner.lock().get_or_insert_with(Inner::default))
    }

    /// True if some node is watched (cheap: no lock).
    pub fn any_watches(&self) -> bool {
        self.watches.load(Ordering::Relaxed) != 0
    }

    /// A fresh cookie for one rename's `IN_MOVED_FROM`/`IN_MOVED_TO` pair (never 0).
    pub fn new_cookie(&self) -> u32 {
        loop {
            let c = self.next_cookie.fetch_add(1, Ordering::Relaxed);
            if c != 0 {
                return c;
            }
        }
    }

    /// A new instance with no watches; `EMFILE` when too many live.
    pub fn create(&self) -> Result<InstanceId, Errno> {
        self.with(|inner| {
            if inner.instances.len() >= MAX_INSTANCES {
                return Err(Errno::EMFILE);
            }
            inner.next_instance += 1;
            let id = inner.next_instance;
            inner.instances.insert(
                id,
                Instance {
                    next_wd: 1,
                    ..Instance::default()
                },
            );
            Ok(id)
        })
    }

    /// Ends an instance (its descriptor's last close): its watches and queue go.
    pub fn destroy(&self, instance: InstanceId) {
        self.with(|inner| {
            let Some(gone) = inner.instances.remove(&instance) else {
                return;
            };
            for (wd, watch) in gone.watches {
                inner.unindex(watch.node, instance, wd);
                self.watches.fetch_sub(1, Ordering::Relaxed);
            }
        })
    }

    /// `inotify_add_watch` on `node` (the caller resolved the path and checked `IN_ONLYDIR`):
    /// the watch descriptor, the same one if the instance watches the node already.
    pub fn add_watch(&self, instance: InstanceId, node: NodeKey, mask: u32) -> Result<i32, Errno> {
        if mask & IN_ALL_EVENTS == 0
            || mask & !(IN_ALL_EVENTS | WATCH_FLAGS) != 0
            || mask & (IN_MASK_ADD | IN_MASK_CREATE) == IN_MASK_ADD | IN_MASK_CREATE
        {
            return Err(Errno::EINVAL);
        }
        let kept = mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
        self.with(|inner| {
            let existing = inner
                .by_node
                .get(&node)
                .and_then(|list| list.iter().find(|&&(i, _)| i == instance))
                .map(|&(_, wd)| wd);
            let inst = inner.instances.get_mut(&instance).ok_or(Errno::EBADF)?;
            if let Some(wd) = existing {
                if mask & IN_MASK_CREATE != 0 {
                    return Err(Errno::EEXIST);
                }
                let watch = inst.watches.get_mut(&wd).ok_or(Errno::EINVAL)?;
                watch.mask = if mask & IN_MASK_ADD != 0 {
                    watch.mask | kept
                } else {
                    kept
                };
                return Ok(wd);
            }
            if inst.watches.len() >= MAX_WATCHES {
                return Err(Errno::ENOSPC);
            }
            let wd = inst.next_wd;
            inst.next_wd = inst.next_wd.checked_add(1).ok_or(Errno::ENOSPC)?;
            inst.watches.insert(wd, Watch { node, mask: kept });
            inner.by_node.entry(node).or_default().push((instance, wd));
            self.watches.fetch_add(1, Ordering::Relaxed);
            Ok(wd)
        })
    }

    /// `inotify_rm_watch`: removes watch `wd` and queues its `IN_IGNORED`; `EINVAL` if the
    /// instance has no such watch.
    pub fn rm_watch(&self, instance: InstanceId, wd: i32) -> Result<(), Errno> {
        self.with(|inner| {
            let inst = inner.instances.get_mut(&instance).ok_or(Errno::EBADF)?;
            let watch = inst.watches.remove(&wd).ok_or(Errno::EINVAL)?;
            inst.push(ignored(wd));
            inner.unindex(watch.node, instance, wd);
            self.watches.fetch_sub(1, Ordering::Relaxed);
            Ok(())
        })
    }

    /// Reports `mask` (an event bit, with `IN_ISDIR` if the subject is a directory) on `node`,
    /// or on its entry `name` when `node` is a directory reporting about a child. Returns true
    /// if some instance queued it (its readers should be woken).
    pub fn notify(&self, node: NodeKey, mask: u32, cookie: u32, name: Option<&str>) -> bool {
        if !self.any_watches() {
            return false;
        }
        self.with(|inner| {
            let Some(list) = inner.by_node.get(&node) else {
                return false;
            };
            let mut queued = false;
            let mut oneshots = Vec::new();
            for &(instance, wd) in list {
                let Some(inst) = inner.instances.get_mut(&instance) else {
                    continue;
                };
                let Some(watch) = inst.watches.get(&wd) else {
                    continue;
                };
                if watch.mask & mask & IN_ALL_EVENTS == 0 {
                    continue;
                }
                let oneshot = watch.mask & IN_ONESHOT != 0;
                inst.push(Event {
                    wd,
                    mask,
                    cookie,
                    name: name.map(String::from),
                });
                if oneshot {
                    inst.watches.remove(&wd);
                    inst.push(ignored(wd));
                    oneshots.push((instance, wd));
                }
                queued = true;
            }
            for (instance, wd) in oneshots {
                inner.unindex(node, instance, wd);
                self.watches.fetch_sub(1, Ordering::Relaxed);
            }
            queued
        })
    }

    /// `node` is gone (deleted, its last name removed): every watch on it ends with
    /// `IN_IGNORED`. Returns true if some instance queued something.
    pub fn node_gone(&self, node: NodeKey) -> bool {
        if !self.any_watches() {
            return false;
        }
        self.with(|inner| {
            let Some(list) = inner.by_node.remove(&node) else {
                return false;
            };
            for (instance, wd) in list {
                if let Some(inst) = inner.instances.get_mut(&instance)
                    && inst.watches.remove(&wd).is_some()
                {
                    inst.push(ignored(wd));
                    self.watches.fetch_sub(1, Ordering::Relaxed);
                }
            }
            true
        })
    }

    /// Moves whole queued events into `buf` (`read(2)` on the instance): the bytes written,
    /// `EAGAIN` if nothing is queued, `EINVAL` if the next event does not fit.
    pub fn read(&self, instance: InstanceId, buf: &mut [u8]) -> Result<usize, Errno> {
        self.with(|inner| {
            let inst = inner.instances.get_mut(&instance).ok_or(Errno::EBADF)?;
            let mut written = 0;
            while let Some(event) = inst.queue.front() {
                let len = event.record_len();
                let Some(out) = buf.get_mut(written..written + len) else {
                    break;
                };
                event.encode(out);
                written += len;
                inst.queued_bytes -= len;
                inst.queue.pop_front();
            }
            match (written, inst.queue.is_empty()) {
                (0, true) => Err(Errno::EAGAIN),
                (0, false) => Err(Errno::EINVAL),
                _ => Ok(written),
            }
        })
    }

    /// Bytes a read would get now (`FIONREAD`); 0 for an unknown instance.
    pub fn pending_bytes(&self, instance: InstanceId) -> usize {
        self.with(|inner| {
            inner
                .instances
                .get(&instance)
                .map_or(0, |inst| inst.queued_bytes)
        })
    }
}

fn ignored(wd: i32) -> Event {
    Event {
        wd,
        mask: IN_IGNORED,
        cookie: 0,
        name: None,
    }
}
