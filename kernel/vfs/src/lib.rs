//! The virtual file system layer: open file descriptions ([`File`]: regular files and
//! directories of the root `MemFs`, pipes, the console, the null device), per-task descriptor
//! tables and working directories ([`ProcessContext`]), and POSIX-like calls on the running
//! task (`open`, `read`, `write`, `pipe`, `dup2`, `chdir`, `stat`, ...), with Linux errno
//! errors ([`Errno`], from the `errno` crate; memfs's errors pass through unchanged).
//!
//! Owns: the `File` implementations, the descriptor tables, the console input wait queue
//! ([`console_input_ready`] is called by the COM1 interrupt handler). Depends on `memfs`
//! (the tree), `rootfs` (the mounted instance), `task` (wait queues, the per-task context
//! slot), `serial` (console bytes), `time` (timestamps), `spin`; `memory` and `ktest` for
//! its in-kernel tests only.
//!
//! The running task's [`ProcessContext`] lives in its `task` context slot. A task without one
//! gets a fresh context (console on fds 0/1/2, cwd `/`) attached on its first call. Relative
//! paths are resolved against the cwd lexically (`memfs::normalize`: `a/link/..` is `a`).
//!
//! Limitations: a file removed while open cannot be used any more through its descriptor
//! (reads and writes give `ENOENT`; POSIX keeps it alive until closed). Permission bits are
//! stored but not enforced. A task that ends without unwinding (killed while blocked inside a
//! call) leaks the references its stack held, so a pipe end it was using stays open.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod beneath;
mod console;
mod context;
mod fifo;
mod file;
pub mod generated;
pub mod io_accounting;
pub mod notify;
mod pipe;
pub mod readiness;
mod regular;
mod tests;
mod tests_beneath;

pub use beneath::{
    link_beneath, mkdir_beneath, open_beneath, readlink_beneath, rename_beneath, rmdir_beneath,
    set_times_beneath, stat_beneath, symlink_beneath, unlink_beneath,
};
pub use console::{
    Console, NullDevice, console_foreground, console_input_ready, console_signal_pending,
    console_termios, console_window_size, job_tasks, new_job_id, raise_console_signal,
    set_console_foreground, set_console_termios, set_console_window_size, take_console_resized,
    take_console_signal,
};
pub use context::{Fd, FdTable, MAX_FDS, ProcessContext, charge_ending_task};
pub use errno::Errno;
pub use file::{DirEntry, DirEntryRef, File, FileKind, OpenStatus, Result, SeekFrom, Stat};
pub use pipe::{PIPE_BUF, PIPE_CAPACITY, PipeReader, PipeWriter, pipe_pair};
pub use regular::{DirHandle, RegularFile};
pub use tty::Termios;

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use generated::Resolved;
use memfs::NodeKind;

/// Wall-clock time for timestamps (ns since the Unix epoch).
/// The wall-clock time as the file tree keeps it: signed nanoseconds since the Unix epoch.
pub fn now() -> i64 {
    i64::try_from(time::realtime_ns()).unwrap_or(i64::MAX)
}

/// Default permission bits of files [`open`] creates.
pub const DEFAULT_FILE_MODE: u32 = 0o644;

/// How to open a path (`O_RDONLY`, `O_WRONLY`, `O_RDWR`, `O_CREAT`, `O_TRUNC`, `O_APPEND`,
/// `O_EXCL`, `O_DIRECTORY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    pub read: bool,
    pub write: bool,
    pub create: bool,
    pub truncate: bool,
    /// Every write goes to the end; implies `write`.
    pub append: bool,
    /// With `create`: fail with `EEXIST` if the path names anything.
    pub exclusive: bool,
    /// Fail with `ENOTDIR` unless the path is a directory.
    pub directory: bool,
    /// Permission bits of a created file.
    pub mode: u32,
    /// `O_NONBLOCK` at open time (a named pipe's open does not wait for the other side).
    pub nonblocking: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// A builder method `name(self, value) -> Self` setting the field of that name, for each field.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $($(#[$doc])* pub const fn $name(mut self, v: $ty) -> Self {
            self.$name = v;
            self
        })*
    };
}

impl OpenOptions {
    /// Nothing set (add at least `read`, `write` or `append`).
    pub const fn new() -> Self {
        OpenOptions {
            read: false,
            write: false,
            create: false,
            truncate: false,
            append: false,
            exclusive: false,
            directory: false,
            mode: DEFAULT_FILE_MODE,
            nonblocking: false,
        }
    }
    /// `O_RDONLY`.
    pub const fn read_only() -> Self {
        Self::new().read(true)
    }
    /// `O_WRONLY | O_CREAT | O_TRUNC`, what `>` redirection uses.
    pub const fn write_create() -> Self {
        Self::new().write(true).create(true).truncate(true)
    }
    setters! {
        /// `O_RDONLY` or `O_RDWR`: open for reading.
        read: bool;
        /// `O_WRONLY` or `O_RDWR`: open for writing.
        write: bool;
        /// `O_CREAT`: create the file if it does not exist.
        create: bool;
        /// `O_TRUNC`: cut the file to length 0.
        truncate: bool;
        /// `O_APPEND`: every write goes to the end.
        append: bool;
        /// `O_EXCL` (with `create`): fail with `EEXIST` if the file exists.
        exclusive: bool;
        /// `O_DIRECTORY`: fail with `ENOTDIR` unless it is a directory.
        directory: bool;
        /// The permission bits of a created file.
        mode: u32;
        /// `O_NONBLOCK` at open time.
        nonblocking: bool;
    }
}

// ---- the running task's context ------------------------------------------------------------

/// The running task's context, attaching a console one if it has none.
///
/// Every file call starts here, so it is a kill point: a killed task unwinds from here (see
/// `task::kill_point`) before it takes any file-system lock.
pub fn current_context() -> Arc<ProcessContext> {
    task::kill_point();
    if let Some(ctx) = task::context::<ProcessContext>() {
        return ctx;
    }
    let ctx = ProcessContext::with_console();
    ctx.claim_pid(task::current_id());
    task::set_context(ctx.clone());
    ctx
}

/// Spawns a task that runs `f` with `ctx` as its context (give it its own stdio with
/// [`ProcessContext::new_child`]). The context is attached before `f` runs. Dropping the
/// last reference to the context when the task ends closes its descriptors.
pub fn spawn_with_context<F: FnOnce() -> isize + Send + 'static>(
    builder: task::Builder,
    ctx: Arc<ProcessContext>,
    f: F,
) -> core::result::Result<task::JoinHandle, task::SpawnError> {
    builder.spawn(move || {
        ctx.claim_pid(task::current_id());
        task::set_context(ctx);
        f()
    })
}

/// [`absolute`] for a call that changes what `path` names: `EACCES` in a generated tree.
fn changeable(path: &str) -> Result<Cow<'_, str>> {
    let path = absolute_ref(path)?;
    generated::check_changeable(&path)?;
    Ok(path)
}

/// Makes `path` absolute against the running task's cwd (lexically).
pub fn absolute(path: &str) -> Result<String> {
    absolute_ref(path).map(Cow::into_owned)
}

/// [`absolute`] without a copy of a path that is already absolute and normal.
fn absolute_ref(path: &str) -> Result<Cow<'_, str>> {
    // Looked up (a kill point, attaching a context if the task has none) even when the
    // working directory is not needed; it is copied only when it is.
    let ctx = current_context();
    if path.starts_with('/') {
        return memfs::normalized("/", path);
    }
    absolute_from(&ctx.cwd(), path).map(Cow::Owned)
}

/// Makes `path` absolute against the absolute directory `cwd`, lexically (`a/link/..` is
/// `a`): what [`absolute`] does with the running task's cwd, for a caller that keeps its own
/// (the shell).
pub fn absolute_from(cwd: &str, path: &str) -> Result<String> {
    memfs::normalize(cwd, path)
}

// ---- descriptors ------------------------------------------------------------------------

/// Opens `path` and returns the lowest free descriptor.
pub fn open(path: &str, opts: OpenOptions) -> Result<Fd> {
    let file = open_file(path, opts)?;
    current_context().install(file)
}

/// Where the null device is found by [`open`] and [`open_file`].
pub const NULL_DEVICE_PATH: &str = "/dev/null";

/// Opens `path` as an open file description, without installing a descriptor (for a new
/// task's stdio).
pub fn open_file(path: &str, opts: OpenOptions) -> Result<Arc<dyn File>> {
    let writable = opts.write || opts.append;
    if !opts.read && !writable {
        return Err(Errno::EINVAL);
    }
    if opts.create && opts.directory {
        return Err(Errno::EINVAL);
    }
    let path = absolute(path)?;
    if path == NULL_DEVICE_PATH {
        // The in-memory file system has no device nodes: the one device is named here.
        return Ok(Arc::new(NullDevice::new()));
    }
    let path = match generated::resolve(path, true)? {
        Resolved::Tree(path) => path,
        Resolved::Generated(_, _) if opts.create && opts.exclusive => return Err(Errno::EEXIST),
        Resolved::Generated(path, node) => {
            return generated::open(path, node, writable || opts.truncate, opts.directory);
        }
    };
    let t = now();
    let found = |fs: &mut memfs::MemFs, path: &str| -> Result<(memfs::NodeId, Prepared)> {
        let node = match (opts.create, opts.exclusive) {
            // O_EXCL: even a dangling symlink counts as existing.
            (true, true) => match fs.lookup_nofollow(path) {
                Ok(_) => return Err(Errno::EEXIST),
                Err(Errno::ENOENT) => {
                    return Ok((fs.create_file(path, opts.mode, t)?, Prepared::CREATED));
                }
                Err(e) => return Err(e),
            },
            (true, false) => match fs.lookup_or_create_file(path, opts.mode, t)? {
                (node, true) => return Ok((node, Prepared::CREATED)),
                (node, false) => node,
            },
            (false, _) => fs.lookup(path)?,
        };
        Ok((node, prepare_open(fs, node, opts, t)?))
    };
    let opened = rootfs::with(|fs| {
        let (node, prepared) = found(fs, &path)?;
        // The description keeps the path (no copy: it is not needed after this).
        open_description(fs, node, prepared, opts, Some(path))
    })?;
    opened.finish(opts)
}

/// What [`open_description`] made: an open file, or a named pipe to join once the
/// file-system lock is released (joining may wait for the other side).
pub(crate) enum Opened {
    File(Arc<dyn File>),
    Fifo(memfs::NodeId),
}

impl Opened {
    pub(crate) fn finish(self, opts: OpenOptions) -> Result<Arc<dyn File>> {
        match self {
            Opened::File(file) => Ok(file),
            Opened::Fifo(node) => fifo::open(node, opts),
        }
    }
}

/// What [`prepare_open`] found and did.
#[derive(Clone, Copy)]
pub(crate) struct Prepared {
    is_dir: bool,
    /// A named pipe.
    is_fifo: bool,
    /// `O_TRUNC` emptied an existing file.
    truncated: bool,
}

impl Prepared {
    /// A file the open just created.
    pub(crate) const CREATED: Prepared = Prepared {
        is_dir: false,
        is_fifo: false,
        truncated: false,
    };
}

/// Checks an existing `node` against `opts` (a directory is not opened for writing, `O_DIRECTORY`
/// needs one) and truncates a file for `O_TRUNC`.
pub(crate) fn prepare_open(
    fs: &mut memfs::MemFs,
    node: memfs::NodeId,
    opts: OpenOptions,
    t: i64,
) -> Result<Prepared> {
    let writable = opts.write || opts.append;
    let kind = fs.metadata(node)?.kind;
    let is_dir = match kind {
        NodeKind::Directory if writable => return Err(Errno::EISDIR),
        NodeKind::Directory => true,
        _ if opts.directory => return Err(Errno::ENOTDIR),
        _ => false,
    };
    let is_fifo = kind == NodeKind::Fifo;
    // O_TRUNC does nothing to a named pipe.
    let truncated = !is_dir && !is_fifo && opts.truncate && writable;
    if truncated {
        fs.truncate(node, 0, t)?;
    }
    Ok(Prepared {
        is_dir,
        is_fifo,
        truncated,
    })
}

/// The open file description of a prepared tree node, made under the file-system lock: a
/// file's description holds its node ([`memfs::MemFs::hold`]) until it is dropped, so the
/// file outlives an unlink while it is open. `path`: the absolute path it was opened by, if any
/// (for inotify, which reports the open here, and a truncation after it as on Linux).
pub(crate) fn open_description(
    fs: &mut memfs::MemFs,
    node: memfs::NodeId,
    prepared: Prepared,
    opts: OpenOptions,
    path: Option<String>,
) -> Result<Opened> {
    notify::report(fs, node, path.as_deref(), notify::IN_OPEN);
    if prepared.truncated {
        notify::report(fs, node, path.as_deref(), notify::IN_MODIFY);
    }
    if prepared.is_dir {
        return Ok(Opened::File(Arc::new(DirHandle::new(node, path))));
    }
    if prepared.is_fifo {
        return Ok(Opened::Fifo(node));
    }
    fs.hold(node)?;
    let writable = opts.write || opts.append;
    Ok(Opened::File(Arc::new(RegularFile::new(
        node,
        path,
        opts.read,
        writable,
        opts.append,
    ))))
}

/// The open file behind `fd`.
pub fn file(fd: Fd) -> Result<Arc<dyn File>> {
    current_context().file(fd)
}

/// Installs an open file at the lowest free descriptor.
pub fn install(file: Arc<dyn File>) -> Result<Fd> {
    current_context().install(file)
}

/// Reads from `fd` (counted in the process's I/O counters).
pub fn read(fd: Fd, buf: &mut [u8]) -> Result<usize> {
    let ctx = current_context();
    let f = ctx.file(fd)?;
    let n = f.read(buf)?;
    ctx.io().read(n, f.kind() == FileKind::File);
    Ok(n)
}

/// Copies what a read of `fd` would take without taking it ([`File::peek`]).
pub fn peek(fd: Fd, buf: &mut [u8]) -> Result<usize> {
    current_context().file(fd)?.peek(buf)
}

/// Writes to `fd` (counted in the process's I/O counters).
pub fn write(fd: Fd, buf: &[u8]) -> Result<usize> {
    let ctx = current_context();
    let f = ctx.file(fd)?;
    let n = f.write(buf)?;
    ctx.io().write(n, f.kind() == FileKind::File);
    Ok(n)
}

/// Writes all of `buf` (looping over short writes).
pub fn write_all(fd: Fd, mut buf: &[u8]) -> Result<()> {
    let f = file(fd)?;
    while !buf.is_empty() {
        match f.write(buf)? {
            0 => return Err(Errno::ENOSPC),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// Reads until end of file.
pub fn read_to_end(fd: Fd) -> Result<Vec<u8>> {
    read_all(&*file(fd)?)
}

/// The whole content of the file at `path`.
pub fn read_file(path: &str) -> Result<Vec<u8>> {
    read_all(&*open_file(path, OpenOptions::read_only())?)
}

/// Runs `f` on the contents of the regular file at `path` as the file system stores them
/// (no copy) and on its metadata; `Ok(None)`, without running `f`, for a file not stored as
/// plain bytes (a generated file, one ending in a hole: read those). The file system stays
/// locked while `f` runs, so the contents cannot change under it: `f` must be short and must
/// not use files. (A program's spawn copies its segments from here.)
pub fn with_file_bytes<R>(path: &str, f: impl FnOnce(&[u8], &Stat) -> R) -> Result<Option<R>> {
    let path = match generated::resolve(absolute(path)?, true)? {
        Resolved::Tree(path) => path,
        Resolved::Generated(..) => return Ok(None),
    };
    rootfs::with(|fs| {
        let node = fs.lookup(&path)?;
        let stat = Stat::from_metadata(fs.metadata(node)?, node);
        match stat.kind {
            FileKind::File => {}
            FileKind::Directory => return Err(Errno::EISDIR),
            _ => return Ok(None),
        }
        match fs.file_data(node)? {
            alloc::borrow::Cow::Borrowed(bytes) => Ok(Some(f(bytes, &stat))),
            alloc::borrow::Cow::Owned(_) => Ok(None),
        }
    })
}

/// Reads `f` from its offset until end of file.
fn read_all(f: &dyn File) -> Result<Vec<u8>> {
    // Read straight into the result (a program image: one allocation, one copy), sized from
    // the file's length with room for the read that finds the end; it grows by chunks only
    // if the file grows meanwhile or is not a regular file.
    const CHUNK: usize = 64 << 10;
    const END_PROBE: usize = 4096;
    let size = f
        .stat()
        .map_or(0, |s| usize::try_from(s.size).unwrap_or(0).min(1 << 30));
    let mut out = Vec::with_capacity(size + END_PROBE);
    out.resize(size.max(END_PROBE), 0);
    let mut filled = 0;
    loop {
        if filled == out.len() {
            let more = if out.len() == size { END_PROBE } else { CHUNK };
            out.resize(filled + more, 0);
        }
        match f.read(&mut out[filled..])? {
            0 => {
                out.truncate(filled);
                return Ok(out);
            }
            n => filled += n,
        }
    }
}

pub fn seek(fd: Fd, pos: SeekFrom) -> Result<u64> {
    file(fd)?.seek(pos)
}

pub fn close(fd: Fd) -> Result<()> {
    current_context().close(fd)
}

pub fn dup(fd: Fd) -> Result<Fd> {
    current_context().dup(fd)
}

/// Duplicates `fd` onto the lowest free descriptor at or above `min` (`fcntl(F_DUPFD)`).
pub fn dup_from(fd: Fd, min: Fd) -> Result<Fd> {
    current_context().dup_from(fd, min)
}

pub fn dup2(old: Fd, new: Fd) -> Result<Fd> {
    current_context().dup2(old, new)
}

pub fn fstat(fd: Fd) -> Result<Stat> {
    file(fd)?.stat()
}

/// Directory entries of `fd` after `cookie` (0: from the start), at most `max`; each entry's
/// `next` is the cookie to continue after it.
pub fn readdir(fd: Fd, cookie: u64, max: usize) -> Result<Vec<DirEntry>> {
    file(fd)?.readdir(cookie, max)
}

/// The entries of `fd` from `cookie` on, one at a time, until `visit` returns false
/// ([`File::readdir_each`]).
pub fn readdir_each(
    fd: Fd,
    cookie: u64,
    visit: &mut dyn FnMut(DirEntryRef<'_>) -> bool,
) -> Result<()> {
    file(fd)?.readdir_each(cookie, visit)
}

pub fn ftruncate(fd: Fd, len: u64) -> Result<()> {
    file(fd)?.set_len(len)
}

/// Gives the file of `fd` memory for its bytes up to `end` ([`File::allocate`]).
pub fn allocate(fd: Fd, end: u64, keep_len: bool) -> Result<()> {
    file(fd)?.allocate(end, keep_len)
}

/// Sets or clears `O_NONBLOCK` on the open file of `fd`.
pub fn set_nonblocking(fd: Fd, nonblocking: bool) -> Result<()> {
    file(fd)?.set_nonblocking(nonblocking);
    Ok(())
}

/// Reads at `offset` without moving the offset of `fd` (`pread`).
pub fn pread(fd: Fd, buf: &mut [u8], offset: u64) -> Result<usize> {
    let ctx = current_context();
    let f = ctx.file(fd)?;
    let n = f.read_at(buf, offset)?;
    ctx.io().read(n, f.kind() == FileKind::File);
    Ok(n)
}

/// Writes at `offset` without moving the offset of `fd` (`pwrite`).
pub fn pwrite(fd: Fd, buf: &[u8], offset: u64) -> Result<usize> {
    let ctx = current_context();
    let f = ctx.file(fd)?;
    let n = f.write_at(buf, offset)?;
    ctx.io().write(n, f.kind() == FileKind::File);
    Ok(n)
}

/// Sets or clears `O_APPEND` on the open file of `fd`.
pub fn set_append(fd: Fd, append: bool) -> Result<()> {
    file(fd)?.set_append(append);
    Ok(())
}

/// Sets the access and/or modification time of the open file of `fd` (`futimens`).
pub fn set_times_fd(fd: Fd, accessed: Option<i64>, modified: Option<i64>) -> Result<()> {
    file(fd)?.set_times(accessed, modified)
}

/// A new pipe as two descriptors: (read end, write end).
pub fn pipe() -> Result<(Fd, Fd)> {
    let (r, w) = pipe_pair();
    let ctx = current_context();
    let rfd = ctx.install(r)?;
    match ctx.install(w) {
        Ok(wfd) => Ok((rfd, wfd)),
        Err(e) => {
            let _ = ctx.close(rfd);
            Err(e)
        }
    }
}

// ---- paths ------------------------------------------------------------------------------

/// Metadata of `path`, following symbolic links.
pub fn stat(path: &str) -> Result<Stat> {
    let path = match generated::resolve(absolute(path)?, true)? {
        Resolved::Tree(path) => path,
        Resolved::Generated(path, node) => return Ok(generated::stat(&path, &node)),
    };
    rootfs::with(|fs| {
        let node = fs.lookup(&path)?;
        Ok(Stat::from_metadata(fs.metadata(node)?, node))
    })
}

/// Metadata of `path`, not following a symbolic link in its last component.
pub fn lstat(path: &str) -> Result<Stat> {
    let path = match generated::resolve(absolute(path)?, false)? {
        Resolved::Tree(path) => path,
        Resolved::Generated(path, node) => return Ok(generated::stat(&path, &node)),
    };
    rootfs::with(|fs| {
        let node = fs.lookup_nofollow(&path)?;
        Ok(Stat::from_metadata(fs.metadata(node)?, node))
    })
}

/// Every entry of the directory at `path`, sorted by name (no `.` and `..`).
pub fn read_dir(path: &str) -> Result<Vec<DirEntry>> {
    let path = absolute(path)?;
    let dir = open_file(&path, OpenOptions::read_only().directory(true))?;
    dir.readdir(0, usize::MAX)
}

pub fn mkdir(path: &str, mode: u32) -> Result<()> {
    let path = changeable(path)?;
    rootfs::with(|fs| fs.mkdir(&path, mode, now()))?;
    Ok(())
}

/// Creates the named pipe `path` (`mkfifo`) with permission bits `mode`.
pub fn mkfifo(path: &str, mode: u32) -> Result<()> {
    let path = changeable(path)?;
    rootfs::with(|fs| fs.mkfifo(&path, mode, now()))?;
    Ok(())
}

/// Creates the empty regular file `path` (`mknod` with `S_IFREG`); `EEXIST` if the path
/// names anything.
pub fn create_new_file(path: &str, mode: u32) -> Result<()> {
    let path = changeable(path)?;
    rootfs::with(|fs| fs.create_file(&path, mode, now()))?;
    Ok(())
}

/// Creates the directory `path` and any missing ancestors, like `mkdir -p`. Existing
/// directories (or symbolic links to them) are fine; an existing non-directory is
/// `AlreadyExists` as the last component and `NotADirectory` before it.
pub fn mkdir_all(path: &str, mode: u32) -> Result<()> {
    if let Ok(Resolved::Generated(_, generated::Node::Dir(_))) =
        generated::resolve(absolute(path)?, true)
    {
        return Ok(());
    }
    let path = changeable(path)?;
    rootfs::with(|fs| fs.mkdir_all(&path, mode, now()))?;
    Ok(())
}

pub fn rmdir(path: &str) -> Result<()> {
    let path = changeable(path)?;
    rootfs::with(|fs| fs.rmdir(&path, now()))?;
    Ok(())
}

/// Removes a file or symbolic link.
pub fn unlink(path: &str) -> Result<()> {
    let path = changeable(path)?;
    rootfs::with(|fs| fs.unlink(&path, now()))?;
    Ok(())
}

/// POSIX `rename`: replaces an existing file, or an empty directory by a directory.
pub fn rename(from: &str, to: &str) -> Result<()> {
    let (from, to) = (changeable(from)?, changeable(to)?);
    rootfs::with(|fs| fs.rename(&from, &to, now()))?;
    Ok(())
}

/// Sets the length of the file at `path`.
pub fn truncate(path: &str, len: u64) -> Result<()> {
    let path = changeable(path)?;
    rootfs::with(|fs| {
        let node = fs.lookup(&path)?;
        fs.truncate(node, len, now())?;
        notify::report(fs, node, Some(&path), notify::IN_MODIFY);
        Ok::<_, Errno>(())
    })?;
    Ok(())
}

/// Sets the access and/or modification time of `path` (`utimensat`); `follow`: follow a
/// symbolic link in the last component (otherwise the link's own times change).
pub fn set_times(
    path: &str,
    follow: bool,
    accessed: Option<i64>,
    modified: Option<i64>,
) -> Result<()> {
    let path = changeable(path)?;
    rootfs::with(|fs| {
        let node = if follow {
            fs.lookup(&path)?
        } else {
            fs.lookup_nofollow(&path)?
        };
        fs.set_times(node, accessed, modified)?;
        let mask = notify::times_mask(accessed, modified);
        notify::report(fs, node, Some(&path), mask);
        Ok::<_, Errno>(())
    })?;
    Ok(())
}

/// Sets the permission bits of `path` (`chmod`); `follow`: follow a symbolic link in the last
/// component. The bits are stored and reported, not enforced.
pub fn set_mode(path: &str, follow: bool, mode: u32) -> Result<()> {
    let path = changeable(path)?;
    rootfs::with(|fs| {
        let node = if follow {
            fs.lookup(&path)?
        } else {
            fs.lookup_nofollow(&path)?
        };
        fs.set_mode(node, mode)?;
        notify::report(fs, node, Some(&path), notify::IN_ATTRIB);
        Ok::<_, Errno>(())
    })?;
    Ok(())
}

/// Sets the permission bits of the file open as `fd` (`fchmod`).
pub fn set_mode_fd(fd: Fd, mode: u32) -> Result<()> {
    file(fd)?.set_mode(mode)
}

/// Creates a symbolic link at `link` pointing to `target` (stored as given).
pub fn symlink(target: &str, link: &str) -> Result<()> {
    let link = changeable(link)?;
    rootfs::with(|fs| fs.symlink(&link, target, now()))?;
    Ok(())
}

/// Gives the file or symbolic link at `from` the further name `to` (a hard link); `follow`:
/// follow a symbolic link in the last component of `from`. A directory is `EISDIR`
/// (POSIX says `EPERM`).
pub fn link(from: &str, to: &str, follow: bool) -> Result<()> {
    let (from, to) = (changeable(from)?, changeable(to)?);
    rootfs::with(|fs| fs.link(&from, &to, follow, now()))?;
    Ok(())
}

/// The target of the symbolic link at `path`.
pub fn readlink(path: &str) -> Result<String> {
    let path = match generated::resolve(absolute(path)?, false)? {
        Resolved::Tree(path) => path,
        Resolved::Generated(_, generated::Node::Symlink(target)) => return Ok(target),
        Resolved::Generated(..) => return Err(Errno::EINVAL),
    };
    rootfs::with(|fs| {
        let node = fs.lookup_nofollow(&path)?;
        fs.readlink(node).map(String::from)
    })
}

/// Changes the running task's working directory (shared with the tasks sharing its context).
pub fn chdir(path: &str) -> Result<()> {
    let ctx = current_context();
    let path = absolute_from(&ctx.cwd(), path)?;
    let path = match generated::resolve(path, true)? {
        Resolved::Tree(path) => {
            let kind = rootfs::with(|fs| fs.lookup(&path).and_then(|n| fs.metadata(n)))?.kind;
            if kind != NodeKind::Directory {
                return Err(Errno::ENOTDIR);
            }
            path
        }
        Resolved::Generated(path, generated::Node::Dir(_)) => path,
        Resolved::Generated(..) => return Err(Errno::ENOTDIR),
    };
    ctx.set_cwd(path);
    Ok(())
}

/// The running task's working directory.
pub fn getcwd() -> String {
    current_context().cwd()
}

/// The byte budget of the file tree: what its files hold and the limit beyond which writes
/// fail with `NoSpace` (see [`fs_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsUsage {
    /// Bytes the tree holds: a fixed cost per node plus file contents and link targets.
    pub used: u64,
    pub limit: u64,
}

/// The file tree's current byte usage and limit.
pub fn fs_usage() -> FsUsage {
    let (used, limit) = rootfs::with(|fs| fs.byte_usage());
    FsUsage { used, limit }
}
