//! Descriptors whose reads the layer above serves: it implements [`Source`] (a read that
//! never blocks, and whether one would find data now) and gets a descriptor for it; this
//! module adds blocking, non-blocking mode, `poll`/`epoll` readiness and `fstat`. The POSIX
//! layer's signal descriptors (`signalfd`) are made this way.
//!
//! A blocked reader and `poll`/`epoll` waiters look again whenever the VFS's readiness
//! generation moves: a source whose readiness changes calls [`changed`].

use crate::fs::Fd;
use crate::{Errno, Result};
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use vfs::{File, FileKind, Stat};

/// What the layer above provides.
pub trait Source: Any + Send + Sync {
    /// Reads what is there into `buf` without blocking: `EAGAIN` when nothing is.
    fn read(&self, buf: &mut [u8]) -> Result<usize>;
    /// Whether a read would find something now.
    fn readable(&self) -> bool;
}

struct LayerFile {
    source: Arc<dyn Source>,
    nonblocking: AtomicBool,
    ino: u64,
    created: i64,
}

impl File for LayerFile {
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
            match self.source.read(buf) {
                Err(Errno::EAGAIN) if !self.nonblocking.load(Ordering::Relaxed) => {
                    vfs::readiness::wait_change(seen, None)?;
                    task::kill_point();
                }
                other => return other,
            }
        }
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
        self.source.readable()
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

/// A new descriptor (the lowest free one) reading from `source`.
pub fn open(source: Arc<dyn Source>, nonblocking: bool) -> Result<Fd> {
    // Inode numbers of these descriptors: above those of timer descriptors.
    static NEXT_INO: AtomicU64 = AtomicU64::new(7 << 48);
    vfs::install(Arc::new(LayerFile {
        source,
        nonblocking: AtomicBool::new(nonblocking),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        created: vfs::now(),
    }))
}

/// The source behind `fd`, if it is such a descriptor and its source is a `T`.
pub fn source<T: Source>(fd: Fd) -> Result<Arc<T>> {
    let file: Arc<dyn Any + Send + Sync> = vfs::file(fd)?;
    let file = file.downcast::<LayerFile>().map_err(|_| Errno::EINVAL)?;
    let source: Arc<dyn Any + Send + Sync> = file.source.clone();
    source.downcast::<T>().map_err(|_| Errno::EINVAL)
}

/// A time (monotonic ns) at which a source becomes ready by itself (e.g. a signal timer
/// expires): blocked readers and `poll`/`epoll` waiters look again then.
pub use vfs::readiness::Deadline;

/// Some source's readiness may have changed: blocked readers and `poll`/`epoll` waiters
/// look again.
pub fn changed() {
    vfs::readiness::changed();
}
