//! Files and directories of the root file system, opened by node id.

use crate::file::{
    DirEntry, DirEntryRef, File, FileKind, OpenStatus, Result, SeekFrom, Stat, node_ino,
};
use crate::notify::{
    IN_ACCESS, IN_ATTRIB, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_MODIFY, report, times_mask,
};
use crate::{Errno, now};
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use memfs::NodeId;
use spin::Mutex;

/// An open regular file: node, offset, access mode and `O_APPEND`, and the absolute path it
/// was opened by (where inotify looks for its directory), if any.
pub struct RegularFile {
    node: NodeId,
    path: Option<String>,
    offset: Mutex<u64>,
    readable: bool,
    writable: bool,
    append: AtomicBool,
    /// `O_NONBLOCK`: kept to be read back (`F_GETFL`); reads and writes never block anyway.
    nonblocking: AtomicBool,
}

impl RegularFile {
    /// A description of `node`, which the caller has [held](memfs::MemFs::hold) for it.
    pub(crate) fn new(
        node: NodeId,
        path: Option<String>,
        readable: bool,
        writable: bool,
        append: bool,
    ) -> Self {
        RegularFile {
            node,
            path,
            offset: Mutex::new(0),
            readable,
            writable,
            append: AtomicBool::new(append),
            nonblocking: AtomicBool::new(false),
        }
    }
}

impl Drop for RegularFile {
    /// The last descriptor closed: a file unlinked meanwhile is freed now. (No description is
    /// dropped while the file-system lock is held: every caller of `rootfs::with` drops its
    /// files outside it.)
    fn drop(&mut self) {
        let closed = if self.writable {
            IN_CLOSE_WRITE
        } else {
            IN_CLOSE_NOWRITE
        };
        rootfs::with(|fs| {
            report(fs, self.node, self.path.as_deref(), closed);
            fs.release(self.node)
        });
    }
}

impl File for RegularFile {
    fn kind(&self) -> FileKind {
        FileKind::File
    }

    fn status(&self) -> OpenStatus {
        OpenStatus {
            read: self.readable,
            write: self.writable,
            append: self.append.load(Ordering::Relaxed),
            nonblocking: self.nonblocking.load(Ordering::Relaxed),
        }
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }

    fn path(&self) -> Option<String> {
        self.path.clone()
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if !self.readable {
            return Err(Errno::EACCES);
        }
        let mut offset = self.offset.lock();
        let n = rootfs::with(|fs| {
            let n = fs.read_at(self.node, *offset, buf)?;
            fs.set_times(self.node, Some(now()), None)?;
            report(fs, self.node, self.path.as_deref(), IN_ACCESS);
            Ok::<_, Errno>(n)
        })?;
        *offset += n as u64;
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if !self.writable {
            return Err(Errno::EACCES);
        }
        let mut offset = self.offset.lock();
        let (start, n) = rootfs::with(|fs| {
            let start = if self.append.load(Ordering::Relaxed) {
                fs.metadata(self.node)?.size
            } else {
                *offset
            };
            let n = fs.write_at(self.node, start, buf, now())?;
            report(fs, self.node, self.path.as_deref(), IN_MODIFY);
            Ok::<_, Errno>((start, n))
        })?;
        *offset = start + n as u64;
        Ok(n)
    }

    fn seek(&self, pos: SeekFrom) -> Result<u64> {
        let mut offset = self.offset.lock();
        let (base, delta) = match pos {
            SeekFrom::Start(n) => (0, i128::from(n)),
            SeekFrom::Current(d) => (*offset, i128::from(d)),
            SeekFrom::End(d) => (
                rootfs::with(|fs| fs.metadata(self.node))?.size,
                i128::from(d),
            ),
        };
        let new = i128::from(base) + delta;
        if new < 0 || new > i128::from(i64::MAX) {
            return Err(Errno::EINVAL);
        }
        *offset = new as u64;
        Ok(*offset)
    }

    fn stat(&self) -> Result<Stat> {
        let m = rootfs::with(|fs| fs.metadata(self.node))?;
        Ok(Stat::from_metadata(m, self.node))
    }

    fn set_len(&self, len: u64) -> Result<()> {
        if !self.writable {
            return Err(Errno::EACCES);
        }
        changed(self.node, self.path.as_deref(), IN_MODIFY, |fs| {
            fs.truncate(self.node, len, now())
        })
    }

    fn allocate(&self, end: u64, keep_len: bool) -> Result<()> {
        if !self.writable {
            return Err(Errno::EBADF);
        }
        changed(self.node, self.path.as_deref(), IN_MODIFY, |fs| {
            fs.allocate(self.node, end, keep_len, now())
        })
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        if !self.readable {
            return Err(Errno::EACCES);
        }
        rootfs::with(|fs| {
            let n = fs.read_at(self.node, offset, buf)?;
            fs.set_times(self.node, Some(now()), None)?;
            report(fs, self.node, self.path.as_deref(), IN_ACCESS);
            Ok(n)
        })
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        if !self.writable {
            return Err(Errno::EACCES);
        }
        rootfs::with(|fs| {
            let n = fs.write_at(self.node, offset, buf, now())?;
            report(fs, self.node, self.path.as_deref(), IN_MODIFY);
            Ok(n)
        })
    }

    fn set_append(&self, append: bool) {
        self.append.store(append, Ordering::Relaxed);
    }

    fn set_times(&self, accessed: Option<i64>, modified: Option<i64>) -> Result<()> {
        let mask = times_mask(accessed, modified);
        changed(self.node, self.path.as_deref(), mask, |fs| {
            fs.set_times(self.node, accessed, modified)
        })
    }

    fn set_mode(&self, mode: u32) -> Result<()> {
        changed(self.node, self.path.as_deref(), IN_ATTRIB, |fs| {
            fs.set_mode(self.node, mode)
        })
    }
}

/// Runs `change` on `node` under the file-system lock and reports `mask` (found by `path`) if
/// it succeeded.
fn changed(
    node: NodeId,
    path: Option<&str>,
    mask: u32,
    change: impl FnOnce(&mut memfs::MemFs) -> core::result::Result<(), Errno>,
) -> Result<()> {
    rootfs::with(|fs| {
        change(fs)?;
        report(fs, node, path, mask);
        Ok(())
    })
}

/// A directory's entries as a listing saw them: name (shared with the file system's entry, so
/// taking a snapshot copies no names), kind, inode number.
type Snapshot = Vec<SnapshotEntry>;
type SnapshotEntry = (alloc::sync::Arc<str>, FileKind, u64);

/// An open directory: readdir with cookies over a snapshot of its entries, and the absolute
/// path it was opened by, if any (as for [`RegularFile`]).
pub struct DirHandle {
    node: NodeId,
    path: Option<String>,
    snapshot: Mutex<Option<Snapshot>>,
}

impl DirHandle {
    pub(crate) fn new(node: NodeId, path: Option<String>) -> Self {
        DirHandle {
            node,
            path,
            snapshot: Mutex::new(None),
        }
    }

    /// Runs `f` on the listing's entries from `cookie` on and the cookie after the first of
    /// them, taking a new snapshot when reading from cookie 0 (or first).
    fn with_listing<R>(
        &self,
        cookie: u64,
        f: impl FnOnce(&[SnapshotEntry], u64) -> R,
    ) -> Result<R> {
        let mut snapshot = self.snapshot.lock();
        if cookie == 0 || snapshot.is_none() {
            let entries = rootfs::with(|fs| {
                let entries = fs.readdir(self.node)?;
                report(fs, self.node, self.path.as_deref(), IN_ACCESS);
                Ok::<_, Errno>(entries)
            })?;
            *snapshot = Some(
                entries
                    .into_iter()
                    .map(|e| (e.name, e.kind.into(), node_ino(e.node)))
                    .collect(),
            );
        }
        let all = snapshot.as_deref().unwrap_or_default();
        // A slice from the cookie on: resuming costs nothing however far the listing is.
        let start = usize::try_from(cookie).map_or(all.len(), |c| c.min(all.len()));
        Ok(f(&all[start..], start as u64 + 1))
    }
}

impl Drop for DirHandle {
    fn drop(&mut self) {
        rootfs::with(|fs| report(fs, self.node, self.path.as_deref(), IN_CLOSE_NOWRITE));
    }
}

impl File for DirHandle {
    fn kind(&self) -> FileKind {
        FileKind::Directory
    }

    fn status(&self) -> OpenStatus {
        OpenStatus::READ
    }

    fn path(&self) -> Option<String> {
        self.path.clone()
    }

    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EISDIR)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EISDIR)
    }

    fn seek(&self, pos: SeekFrom) -> Result<u64> {
        // Directory offsets are readdir cookies; only rewinding is meaningful here.
        match pos {
            SeekFrom::Start(0) => Ok(0),
            _ => Err(Errno::EINVAL),
        }
    }

    fn stat(&self) -> Result<Stat> {
        let m = rootfs::with(|fs| fs.metadata(self.node))?;
        Ok(Stat::from_metadata(m, self.node))
    }

    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<DirEntry>> {
        self.with_listing(cookie, |rest, first_next| {
            rest.iter()
                .zip(first_next..)
                .take(max)
                .map(|((name, kind, ino), next)| DirEntry {
                    name: name.clone(),
                    kind: *kind,
                    ino: *ino,
                    next,
                })
                .collect()
        })
    }

    fn readdir_each(
        &self,
        cookie: u64,
        visit: &mut dyn FnMut(DirEntryRef<'_>) -> bool,
    ) -> Result<()> {
        self.with_listing(cookie, |rest, first_next| {
            for ((name, kind, ino), next) in rest.iter().zip(first_next..) {
                let entry = DirEntryRef {
                    name,
                    kind: *kind,
                    ino: *ino,
                    next,
                };
                if !visit(entry) {
                    break;
                }
            }
        })
    }

    fn set_times(&self, accessed: Option<i64>, modified: Option<i64>) -> Result<()> {
        let mask = times_mask(accessed, modified);
        changed(self.node, self.path.as_deref(), mask, |fs| {
            fs.set_times(self.node, accessed, modified)
        })
    }

    fn set_mode(&self, mode: u32) -> Result<()> {
        changed(self.node, self.path.as_deref(), IN_ATTRIB, |fs| {
            fs.set_mode(self.node, mode)
        })
    }

    fn dir_node(&self) -> Option<NodeId> {
        Some(self.node)
    }
}
