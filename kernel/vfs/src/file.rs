//! Open file descriptions: the [`File`] trait and the types its methods use.

use crate::Errno;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

pub type Result<T> = core::result::Result<T, Errno>;

/// What an open file or a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    File,
    Directory,
    Symlink,
    /// A pipe end (`S_IFIFO`).
    Pipe,
    /// The console or the null device (`S_IFCHR`).
    CharDevice,
    /// A socket (`S_IFSOCK`): the `socket` crate's endpoints.
    Socket,
}

impl From<memfs::NodeKind> for FileKind {
    fn from(k: memfs::NodeKind) -> Self {
        match k {
            memfs::NodeKind::File => FileKind::File,
            memfs::NodeKind::Directory => FileKind::Directory,
            memfs::NodeKind::Symlink => FileKind::Symlink,
            memfs::NodeKind::Fifo => FileKind::Pipe,
        }
    }
}

/// Metadata of a file. Times are nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: FileKind,
    /// Bytes of a file, target length of a symlink, entry count of a directory, bytes
    /// buffered in a pipe, 0 for devices.
    pub size: u64,
    /// Memory given to a file's bytes, in whole blocks (less than `size` when the file ends
    /// in a hole); 0 for other objects.
    pub allocated: u64,
    /// Permission bits (no type bits).
    pub mode: u32,
    pub nlink: u32,
    pub created: i64,
    pub modified: i64,
    pub accessed: i64,
    /// Inode number: unique among live objects.
    pub ino: u64,
}

impl Stat {
    pub(crate) fn from_metadata(m: memfs::Metadata, node: memfs::NodeId) -> Stat {
        Stat {
            kind: m.kind.into(),
            size: m.size,
            allocated: m.allocated,
            mode: m.mode,
            nlink: m.nlink,
            created: m.created,
            modified: m.modified,
            accessed: m.accessed,
            ino: node_ino(node),
        }
    }

    /// Stat of an object that is not in the file tree (pipes, devices, eventfd, epoll and
    /// inotify instances): mode 0600, one link, every time `created`.
    pub fn anonymous(kind: FileKind, size: u64, ino: u64, created: i64) -> Stat {
        Stat {
            kind,
            size,
            allocated: 0,
            mode: 0o600,
            nlink: 1,
            created,
            modified: created,
            accessed: created,
            ino,
        }
    }
}

/// Inode number of a tree node (never 0).
pub(crate) fn node_ino(node: memfs::NodeId) -> u64 {
    u64::from(node.index()) + 1
}

/// Inode numbers of pipes and devices, above every tree node's.
pub(crate) fn anonymous_ino() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1 << 32);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// How an open file description may be used and its status flags (`fcntl(F_GETFL)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenStatus {
    pub read: bool,
    pub write: bool,
    /// `O_APPEND`.
    pub append: bool,
    /// `O_NONBLOCK`.
    pub nonblocking: bool,
}

impl OpenStatus {
    /// Readable and writable, blocking, not appending: what a file says that keeps no mode.
    pub const READ_WRITE: OpenStatus = OpenStatus {
        read: true,
        write: true,
        append: false,
        nonblocking: false,
    };
    /// Read-only, blocking.
    pub const READ: OpenStatus = OpenStatus {
        write: false,
        ..OpenStatus::READ_WRITE
    };
}

/// Where [`File::seek`] moves from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekFrom {
    Start(u64),
    End(i64),
    Current(i64),
}

/// One directory entry as [`File::readdir_each`] shows it, borrowed from the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntryRef<'a> {
    pub name: &'a str,
    pub kind: FileKind,
    pub ino: u64,
    /// Cookie to pass to `readdir` to continue after this entry.
    pub next: u64,
}

/// One directory entry as returned by [`File::readdir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Shared with the directory's snapshot (and the file system's own entry).
    pub name: alloc::sync::Arc<str>,
    pub kind: FileKind,
    pub ino: u64,
    /// Cookie to pass to `readdir` to continue after this entry.
    pub next: u64,
}

/// An open file description: what a descriptor refers to. Shared (through `Arc`) by every
/// descriptor duplicated from the same `open`, so the offset and flags are shared too, as in
/// POSIX. Dropping the last reference closes it.
///
/// Default methods report the operation as unsupported the way POSIX does for that call.
pub trait File: core::any::Any + Send + Sync {
    /// What this is.
    fn kind(&self) -> FileKind;

    /// Reads into `buf`; returns the count read, 0 at end of file. Blocks (unless
    /// non-blocking) while a pipe or the console has nothing to read yet.
    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EACCES)
    }

    /// Writes from `buf`; returns the count written.
    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EACCES)
    }

    /// Copies into `buf` what a read would take, without taking it (a pipe's bytes, for
    /// `tee`). Never blocks: `EAGAIN` while nothing is there yet, 0 at end of file. Objects
    /// without a queue of bytes: `EINVAL`.
    fn peek(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EINVAL)
    }

    /// Moves the offset; returns the new one. `ESPIPE` on pipes and devices.
    fn seek(&self, _pos: SeekFrom) -> Result<u64> {
        Err(Errno::ESPIPE)
    }

    fn stat(&self) -> Result<Stat>;

    /// Entries of a directory after `cookie` (0: from the start), at most `max`. The listing
    /// is a snapshot taken when reading from cookie 0, so removing entries while iterating
    /// neither skips nor repeats others. `.` and `..` are not listed. Empty at the end.
    fn readdir(&self, _cookie: u64, _max: usize) -> Result<Vec<DirEntry>> {
        Err(Errno::ENOTDIR)
    }

    /// [`File::readdir`]'s entries one at a time, in order from `cookie`, until `visit`
    /// returns false or the listing ends: no vector, no name handed out (`getdents64`
    /// encodes each entry straight from the listing).
    fn readdir_each(
        &self,
        cookie: u64,
        visit: &mut dyn FnMut(DirEntryRef<'_>) -> bool,
    ) -> Result<()> {
        for e in self.readdir(cookie, usize::MAX)? {
            let entry = DirEntryRef {
                name: &e.name,
                kind: e.kind,
                ino: e.ino,
                next: e.next,
            };
            if !visit(entry) {
                break;
            }
        }
        Ok(())
    }

    /// Sets the length of a regular file.
    fn set_len(&self, _len: u64) -> Result<()> {
        Err(Errno::EINVAL)
    }

    /// Gives a file memory for its bytes up to `end` (`fallocate`): the length grows to `end`
    /// unless `keep_len`. `NotSupported` for objects that are not regular files.
    fn allocate(&self, _end: u64, _keep_len: bool) -> Result<()> {
        Err(Errno::ENOTSUP)
    }

    /// True if a read would not block (data, end of file or an error is ready).
    fn poll_readable(&self) -> bool {
        true
    }

    /// True if a write would not block.
    fn poll_writable(&self) -> bool {
        true
    }

    /// True if reading is closed for good: a stream socket's peer shut down writing (or the
    /// socket shut down reading). Linux's `EPOLLRDHUP`; most files never report it.
    fn poll_read_closed(&self) -> bool {
        false
    }

    /// True if the file is hung up: a stream socket closed in both directions or reset.
    /// Linux's `EPOLLHUP`.
    fn poll_hung_up(&self) -> bool {
        false
    }

    /// How the description may be used and its `O_APPEND`/`O_NONBLOCK` flags.
    fn status(&self) -> OpenStatus {
        OpenStatus::READ_WRITE
    }

    /// Makes reads and writes fail with `EAGAIN` instead of blocking (`O_NONBLOCK`).
    /// Objects that never block ignore it.
    fn set_nonblocking(&self, _nonblocking: bool) {}

    /// Reads at `offset` without using or moving the file offset (`pread`). `ESPIPE`
    /// on pipes and devices.
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Err(Errno::ESPIPE)
    }

    /// Writes at `offset` without using or moving the file offset (`pwrite`, also with
    /// `O_APPEND`). `ESPIPE` on pipes and devices.
    fn write_at(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::ESPIPE)
    }

    /// Sets or clears `O_APPEND` (`fcntl(F_SETFL)`). Objects without an offset ignore it.
    fn set_append(&self, _append: bool) {}

    /// Sets the access and/or modification time (ns since the Unix epoch; `None` leaves one
    /// unchanged). `ENOTSUP` for objects outside the file tree (pipes, devices).
    fn set_times(&self, _accessed: Option<i64>, _modified: Option<i64>) -> Result<()> {
        Err(Errno::ENOTSUP)
    }

    /// Sets the permission bits. `ENOTSUP` for objects outside the file tree.
    fn set_mode(&self, _mode: u32) -> Result<()> {
        Err(Errno::ENOTSUP)
    }

    /// The absolute path the file was opened by, or the device's path (`/dev/null`), if it has
    /// one: what `/proc/PID/fd/N` links to. Pipes, sockets and other objects outside the tree
    /// have none.
    fn path(&self) -> Option<String> {
        None
    }

    /// The directory node an open directory is bound to (the base of the `*_beneath`
    /// calls); `None` for everything else.
    fn dir_node(&self) -> Option<memfs::NodeId> {
        None
    }
}
