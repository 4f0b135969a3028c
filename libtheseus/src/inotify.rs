//! inotify instances (Linux `inotify(7)`): a descriptor whose reads return the events of the
//! file-system nodes it watches. The watches and queues are `fs_notify`'s, fed by the VFS
//! (`vfs::notify`); this module makes an instance a VFS file, so its descriptor is closed,
//! duplicated, inherited and polled (`poll`, `epoll`) like any other, and finds the instance
//! again from a descriptor. Reads block until an event is queued unless non-blocking; a
//! buffer too small for the next event is `EINVAL`.

use crate::fs::{self, Fd};
use crate::{Errno, Result};
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use fs_notify::InstanceId;
use spin::Mutex;
use vfs::notify::WATCHES;
use vfs::{File, FileKind, Stat};

/// Live instances, by open file description.
static INSTANCES: Mutex<BTreeMap<u64, InstanceId>> = Mutex::new(BTreeMap::new());

struct InotifyFile {
    id: InstanceId,
    nonblocking: AtomicBool,
    ino: u64,
    created: i64,
}

impl Drop for InotifyFile {
    fn drop(&mut self) {
        let me = self as *const InotifyFile as usize as u64;
        INSTANCES.lock().remove(&me);
        WATCHES.destroy(self.id);
    }
}

impl File for InotifyFile {
    fn kind(&self) -> FileKind {
        // Linux reports an anonymous inode; a character device is the closest kind here.
        FileKind::CharDevice
    }

    fn status(&self) -> vfs::OpenStatus {
        vfs::OpenStatus {
            nonblocking: self.nonblocking.load(Ordering::Relaxed),
            ..vfs::OpenStatus::READ
        }
    }

    fn read(&self, buf: &mut [u8]) -> vfs::Result<usize> {
        loop {
            let seen = vfs::readiness::generation();
            match WATCHES.read(self.id, buf) {
                Err(Errno::EAGAIN) if !self.nonblocking.load(Ordering::Relaxed) => {
                    vfs::readiness::wait_change(seen, None)?;
                }
                done => return done,
            }
        }
    }

    fn write(&self, _buf: &[u8]) -> vfs::Result<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> vfs::Result<Stat> {
        Ok(Stat::anonymous(
            FileKind::CharDevice,
            0,
            self.ino,
            self.created,
        ))
    }

    fn poll_readable(&self) -> bool {
        WATCHES.pending_bytes(self.id) > 0
    }

    fn poll_writable(&self) -> bool {
        false
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

/// `inotify_init1`: a new instance watching nothing; returns its descriptor.
pub fn init(nonblocking: bool) -> Result<Fd> {
    static NEXT_INO: AtomicU64 = AtomicU64::new(5 << 48);
    let file = alloc::sync::Arc::new(InotifyFile {
        id: WATCHES.create()?,
        nonblocking: AtomicBool::new(nonblocking),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        created: vfs::now(),
    });
    let key = alloc::sync::Arc::as_ptr(&file) as usize as u64;
    INSTANCES.lock().insert(key, file.id);
    vfs::install(file)
}

/// The instance open as `fd`; `EINVAL` if `fd` is open but not an inotify instance.
fn instance(fd: Fd) -> Result<InstanceId> {
    let key = fs::description_id(fd)?;
    INSTANCES.lock().get(&key).copied().ok_or(Errno::EINVAL)
}

/// `inotify_add_watch`: watches the node at `path` for the events in `mask` (with the flags
/// `IN_DONT_FOLLOW`, `IN_ONLYDIR`, `IN_MASK_ADD`, `IN_MASK_CREATE`, `IN_ONESHOT`); returns the
/// watch descriptor (the same one again for a node the instance watches already).
pub fn add_watch(fd: Fd, path: &str, mask: u32) -> Result<i32> {
    vfs::notify::add_watch(instance(fd)?, path, mask)
}

/// `inotify_rm_watch`: removes a watch (its `IN_IGNORED` is queued).
pub fn rm_watch(fd: Fd, wd: i32) -> Result<()> {
    let queued = WATCHES.rm_watch(instance(fd)?, wd);
    vfs::readiness::changed();
    queued
}

/// Bytes a read of instance `fd` would get now (`FIONREAD`).
pub fn pending_bytes(fd: Fd) -> Result<usize> {
    Ok(WATCHES.pending_bytes(instance(fd)?))
}
