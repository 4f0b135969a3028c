//! Files, directories and descriptors of the running process, with [`Errno`] errors: a thin
//! layer over the kernel's VFS.
//!
//! Descriptors ([`Fd`]) are per process (shared by its threads, inherited as the VFS
//! describes); relative paths resolve against the process's working directory ([`getcwd`],
//! [`chdir`]). [`File`] owns a descriptor and closes it on drop; the `fd`-taking functions
//! are the raw POSIX-style calls for a C ABI. [`stdin`], [`stdout`] and [`stderr`] are
//! handles to descriptors 0, 1 and 2 (`Stdout` and `Stderr` implement `core::fmt::Write`).
//!
//! Limitations (from the VFS): permission bits are stored but not enforced; a file removed
//! while open gives `ENOENT` through its descriptors; reads and writes of the console are raw.

use crate::Result;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A file descriptor number.
pub type Fd = u32;

/// Standard input, output and error descriptors.
pub const STDIN: Fd = 0;
pub const STDOUT: Fd = 1;
pub const STDERR: Fd = 2;

/// How to open a path (`O_RDONLY`, `O_WRONLY`, `O_RDWR`, `O_CREAT`, `O_TRUNC`, `O_APPEND`,
/// `O_EXCL`, `O_DIRECTORY`, creation mode): the VFS's own options type.
pub use vfs::OpenOptions;

/// What a path or descriptor names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    File,
    Directory,
    Symlink,
    /// A pipe end.
    Pipe,
    /// The console or the null device.
    CharDevice,
    /// A socket ([`crate::net`]).
    Socket,
}

impl From<vfs::FileKind> for FileType {
    fn from(k: vfs::FileKind) -> FileType {
        match k {
            vfs::FileKind::File => FileType::File,
            vfs::FileKind::Directory => FileType::Directory,
            vfs::FileKind::Symlink => FileType::Symlink,
            vfs::FileKind::Pipe => FileType::Pipe,
            vfs::FileKind::CharDevice => FileType::CharDevice,
            vfs::FileKind::Socket => FileType::Socket,
        }
    }
}

/// Metadata of a file (`struct stat`). Times are nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub file_type: FileType,
    /// Bytes of a file, target length of a symlink, entry count of a directory, bytes
    /// buffered in a pipe, 0 for devices.
    pub size: u64,
    /// Memory given to a file's bytes, in whole blocks (less than `size` when the file ends
    /// in a hole); 0 for other objects.
    pub allocated: u64,
    /// Permission bits (no type bits).
    pub mode: u32,
    pub nlink: u32,
    /// Inode number, unique among live objects.
    pub ino: u64,
    /// Times: signed nanoseconds since the Unix epoch (negative before 1970).
    pub created_ns: i64,
    pub modified_ns: i64,
    pub accessed_ns: i64,
}

/// The current wall-clock time as files keep it (signed nanoseconds since the Unix epoch).
pub fn now() -> i64 {
    vfs::now()
}

impl From<vfs::Stat> for Metadata {
    fn from(s: vfs::Stat) -> Metadata {
        Metadata {
            file_type: s.kind.into(),
            size: s.size,
            allocated: s.allocated,
            mode: s.mode,
            nlink: s.nlink,
            ino: s.ino,
            created_ns: s.created,
            modified_ns: s.modified,
            accessed_ns: s.accessed,
        }
    }
}

/// One directory entry ([`read_dir`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Shared with the directory's listing: handing out entries copies no names.
    pub name: alloc::sync::Arc<str>,
    pub file_type: FileType,
    pub ino: u64,
    /// Cookie to pass to [`readdir_each`] to continue after this entry.
    pub next: u64,
}

impl From<vfs::DirEntry> for DirEntry {
    fn from(e: vfs::DirEntry) -> DirEntry {
        DirEntry {
            name: e.name,
            file_type: e.kind.into(),
            ino: e.ino,
            next: e.next,
        }
    }
}

/// One directory entry as [`readdir_each`] shows it, borrowed from the listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntryRef<'a> {
    pub name: &'a str,
    pub file_type: FileType,
    pub ino: u64,
    /// Cookie to pass to [`readdir_each`] to continue after this entry.
    pub next: u64,
}

/// Where a seek moves from (`SEEK_SET`, `SEEK_END`, `SEEK_CUR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeekFrom {
    Start(u64),
    End(i64),
    Current(i64),
}

impl SeekFrom {
    fn to_vfs(self) -> vfs::SeekFrom {
        match self {
            SeekFrom::Start(n) => vfs::SeekFrom::Start(n),
            SeekFrom::End(n) => vfs::SeekFrom::End(n),
            SeekFrom::Current(n) => vfs::SeekFrom::Current(n),
        }
    }
}

// ---- descriptors ---------------------------------------------------------------------------

/// Opens `path`; returns the lowest free descriptor.
pub fn open(path: &str, opts: &OpenOptions) -> Result<Fd> {
    vfs::open(path, *opts)
}

/// Reads into `buf`; returns the count read, 0 at end of file.
pub fn read(fd: Fd, buf: &mut [u8]) -> Result<usize> {
    let ctx = vfs::current_context();
    let file = ctx.file(fd)?;
    let kind = file.kind();
    if kind == vfs::FileKind::Socket
        && let Some(socket) = socket::from_file(&file)
    {
        // Not held while the call sleeps: a task killed in it keeps no socket open.
        drop(file);
        let n = crate::net::recv_from_socket(socket, buf)?;
        ctx.io().read(n, false);
        return Ok(n);
    }
    let n = file.read(buf)?;
    ctx.io().read(n, kind == vfs::FileKind::File);
    Ok(n)
}

/// Writes from `buf`; returns the count written.
pub fn write(fd: Fd, buf: &[u8]) -> Result<usize> {
    let ctx = vfs::current_context();
    let file = ctx.file(fd)?;
    let kind = file.kind();
    if kind == vfs::FileKind::Socket
        && let Some(socket) = socket::from_file(&file)
    {
        drop(file);
        let n = crate::net::send_to_socket(socket, buf)?;
        ctx.io().write(n, false);
        return Ok(n);
    }
    let n = file.write(buf)?;
    ctx.io().write(n, kind == vfs::FileKind::File);
    Ok(n)
}

/// Writes all of `buf`.
pub fn write_all(fd: Fd, buf: &[u8]) -> Result<()> {
    vfs::write_all(fd, buf)
}

/// Reads until end of file.
pub fn read_to_end(fd: Fd) -> Result<Vec<u8>> {
    vfs::read_to_end(fd)
}

/// Moves the offset; returns the new one (`ESPIPE` on pipes and devices).
pub fn seek(fd: Fd, pos: SeekFrom) -> Result<u64> {
    vfs::seek(fd, pos.to_vfs())
}

pub fn close(fd: Fd) -> Result<()> {
    vfs::close(fd)
}

/// Duplicates `fd` onto the lowest free descriptor (sharing offset and flags).
pub fn dup(fd: Fd) -> Result<Fd> {
    vfs::dup(fd)
}

/// Duplicates `fd` onto the lowest free descriptor at or above `min`, atomically.
pub fn dup_from(fd: Fd, min: Fd) -> Result<Fd> {
    vfs::dup_from(fd, min)
}

/// Makes `new` refer to the file of `old`, closing what `new` referred to.
pub fn dup2(old: Fd, new: Fd) -> Result<Fd> {
    vfs::dup2(old, new)
}

pub fn fstat(fd: Fd) -> Result<Metadata> {
    Ok(vfs::fstat(fd)?.into())
}

/// `EBADF` unless `fd` is open.
pub fn check_open(fd: Fd) -> Result<()> {
    vfs::file(fd).map(drop)
}

/// Whether `fd` is open on a directory (its kind, without reading the file's metadata).
pub fn is_directory(fd: Fd) -> Result<bool> {
    Ok(vfs::file(fd)?.kind() == vfs::FileKind::Directory)
}

/// The entries of directory `fd` after `cookie` (0: from the start), one at a time, in
/// order: `visit` gets each until it returns false or the listing ends (no vector of them).
pub fn readdir_each(
    fd: Fd,
    cookie: u64,
    mut visit: impl FnMut(DirEntryRef<'_>) -> bool,
) -> Result<()> {
    vfs::readdir_each(fd, cookie, &mut |e| {
        visit(DirEntryRef {
            name: e.name,
            file_type: e.kind.into(),
            ino: e.ino,
            next: e.next,
        })
    })
}

/// Sets the length of the file open at `fd`.
pub fn ftruncate(fd: Fd, len: u64) -> Result<()> {
    vfs::ftruncate(fd, len)
}

/// Gives the file of `fd` memory for its bytes up to `end` (Linux `fallocate`): the length
/// grows to `end` unless `keep_len`, which allocates only within the current length. `EBADF`
/// unless `fd` is open for writing.
pub fn allocate(fd: Fd, end: u64, keep_len: bool) -> Result<()> {
    vfs::allocate(fd, end, keep_len)
}

/// Sets or clears `O_NONBLOCK` (a pipe or console read or write that would block then fails
/// with `EAGAIN`).
pub fn set_nonblocking(fd: Fd, nonblocking: bool) -> Result<()> {
    vfs::set_nonblocking(fd, nonblocking)
}

/// Reads at `offset` without using or moving the descriptor's offset (`pread`; `ESPIPE` on
/// pipes and devices).
pub fn pread(fd: Fd, buf: &mut [u8], offset: u64) -> Result<usize> {
    vfs::pread(fd, buf, offset)
}

/// Writes at `offset` without using or moving the descriptor's offset (`pwrite`, even with
/// `O_APPEND`; `ESPIPE` on pipes and devices).
pub fn pwrite(fd: Fd, buf: &[u8], offset: u64) -> Result<usize> {
    vfs::pwrite(fd, buf, offset)
}

/// Sets or clears `O_APPEND` on the open file description of `fd`.
pub fn set_append(fd: Fd, append: bool) -> Result<()> {
    vfs::set_append(fd, append)
}

/// Sets the access and/or modification time (ns since the Unix epoch; `None` leaves it) of
/// the file open at `fd` (`futimens`; `ENOTSUP` for pipes and devices).
pub fn set_times_fd(fd: Fd, accessed: Option<i64>, modified: Option<i64>) -> Result<()> {
    vfs::set_times_fd(fd, accessed, modified)
}

/// A new pipe: (read end, write end).
pub fn pipe() -> Result<(Fd, Fd)> {
    vfs::pipe()
}

/// Whether a read from `fd` would not block.
pub fn poll_readable(fd: Fd) -> Result<bool> {
    Ok(vfs::file(fd)?.poll_readable())
}

/// Whether a write to `fd` would not block.
pub fn poll_writable(fd: Fd) -> Result<bool> {
    Ok(vfs::file(fd)?.poll_writable())
}

/// Whether `fd`'s reading side is closed for good and whether it is hung up (`EPOLLRDHUP`,
/// `EPOLLHUP`).
pub fn poll_hangup(fd: Fd) -> Result<(bool, bool)> {
    let file = vfs::file(fd)?;
    Ok((file.poll_read_closed(), file.poll_hung_up()))
}

/// The VFS's readiness generation: note it, check descriptors, then
/// [`wait_readiness_change`] sleeps until some file's readiness may have changed.
pub fn readiness_generation() -> u32 {
    vfs::readiness::generation()
}

/// Sleeps until the readiness generation differs from `seen` or `deadline_ns` (monotonic)
/// passes. Returns false on timeout; `EINTR` if a signal interrupts the wait.
pub fn wait_readiness_change(seen: u32, deadline_ns: Option<u64>) -> Result<bool> {
    vfs::readiness::wait_change(seen, deadline_ns)
}

/// How the open file description behind `fd` may be used and its flags (`fcntl(F_GETFL)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenStatus {
    pub read: bool,
    pub write: bool,
    /// Every write goes to the end (`O_APPEND`).
    pub append: bool,
    /// Reads and writes fail with `EAGAIN` instead of blocking (`O_NONBLOCK`).
    pub nonblocking: bool,
}

/// Copies what a read of `fd` would take without taking it (a pipe's bytes, for `tee`);
/// never blocks: `EAGAIN` while a pipe is empty and has writers, 0 at its end of file,
/// `EINVAL` for descriptors that are no pipe.
pub fn peek(fd: Fd, buf: &mut [u8]) -> Result<usize> {
    vfs::peek(fd, buf)
}

/// The access mode and status flags of the open file description behind `fd`.
pub fn status(fd: Fd) -> Result<OpenStatus> {
    let s = vfs::file(fd)?.status();
    Ok(OpenStatus {
        read: s.read,
        write: s.write,
        append: s.append,
        nonblocking: s.nonblocking,
    })
}

/// A number identifying the open file description behind `fd`: descriptors duplicated from
/// the same `open` (`dup`, `dup2`, inheritance) give the same number. Unique while the
/// description is open; a number may be reused after the description's last descriptor is
/// closed. For a POSIX layer that keeps per-description state (directory cursors, status
/// flags) beside the VFS.
pub fn description_id(fd: Fd) -> Result<u64> {
    let file = vfs::file(fd)?;
    Ok(alloc::sync::Arc::as_ptr(&file).cast::<()>() as usize as u64)
}

/// A reference to the open file description behind a descriptor that does not keep it open:
/// for state that belongs to a description and ends with it, such as `flock` locks, which
/// go when the description's last descriptor is closed.
#[derive(Clone)]
pub struct DescriptionRef(alloc::sync::Weak<dyn vfs::File>);

impl DescriptionRef {
    /// Whether a descriptor still refers to the description.
    pub fn is_open(&self) -> bool {
        self.0.strong_count() > 0
    }

    /// Whether both name the same description (the reference keeps its identity: the
    /// address is not reused while a reference exists).
    pub fn same(&self, other: &DescriptionRef) -> bool {
        alloc::sync::Weak::ptr_eq(&self.0, &other.0)
    }
}

/// The description behind `fd`, weakly.
pub fn description_ref(fd: Fd) -> Result<DescriptionRef> {
    Ok(DescriptionRef(alloc::sync::Arc::downgrade(&vfs::file(fd)?)))
}

/// A new eventfd (Linux `eventfd(2)`) on the lowest free descriptor: a 64-bit counter
/// starting at `initval`. A read of 8 bytes returns the counter and resets it to 0 (in
/// `semaphore` mode: returns 1 and decrements it), blocking while it is 0; a write of 8
/// bytes adds to it, blocking while the sum would exceed `u64::MAX - 1` (`u64::MAX` itself
/// is `EINVAL`, as are buffers under 8 bytes). Readable when non-zero, writable while below
/// the maximum. `nonblocking` makes blocked reads and writes fail with `EAGAIN`.
pub fn eventfd(initval: u64, semaphore: bool, nonblocking: bool) -> Result<Fd> {
    vfs::install(crate::eventfd::EventFd::new(
        initval,
        semaphore,
        nonblocking,
    ))
}

// ---- paths -----------------------------------------------------------------------------------

/// Metadata of `path`, following symbolic links.
pub fn stat(path: &str) -> Result<Metadata> {
    Ok(vfs::stat(path)?.into())
}

/// Metadata of `path`, not following a symbolic link in its last component.
pub fn lstat(path: &str) -> Result<Metadata> {
    Ok(vfs::lstat(path)?.into())
}

/// Every entry of the directory at `path`, sorted by name (no `.` and `..`).
pub fn read_dir(path: &str) -> Result<Vec<DirEntry>> {
    Ok(vfs::read_dir(path)?.into_iter().map(Into::into).collect())
}

pub fn mkdir(path: &str, mode: u32) -> Result<()> {
    vfs::mkdir(path, mode)
}

pub fn rmdir(path: &str) -> Result<()> {
    vfs::rmdir(path)
}

/// Creates the named pipe `path` (`mkfifo`): opening it joins one pipe shared by every
/// opener (a read-only open waits for a writer, a write-only open for a reader, unless
/// non-blocking).
pub fn mkfifo(path: &str, mode: u32) -> Result<()> {
    vfs::mkfifo(path, mode)
}

/// Creates the empty regular file `path`; `EEXIST` if the path names anything.
pub fn create_new_file(path: &str, mode: u32) -> Result<()> {
    vfs::create_new_file(path, mode)
}

/// Removes a file or symbolic link.
pub fn unlink(path: &str) -> Result<()> {
    vfs::unlink(path)
}

/// POSIX `rename`: replaces an existing file, or an empty directory by a directory.
pub fn rename(from: &str, to: &str) -> Result<()> {
    vfs::rename(from, to)
}

/// Sets the length of the file at `path`.
pub fn truncate(path: &str, len: u64) -> Result<()> {
    vfs::truncate(path, len)
}

/// Sets the access and/or modification time of `path` (`utimensat`; `None` leaves it);
/// `follow`: follow a symbolic link in the last component, else change the link's own.
pub fn set_times(
    path: &str,
    follow: bool,
    accessed: Option<i64>,
    modified: Option<i64>,
) -> Result<()> {
    vfs::set_times(path, follow, accessed, modified)
}

/// Sets the permission bits of `path` (`chmod`; stored, not enforced); `follow`: follow a
/// symbolic link in the last component.
pub fn set_mode(path: &str, follow: bool, mode: u32) -> Result<()> {
    vfs::set_mode(path, follow, mode)
}

/// Sets the permission bits of the file open as `fd` (`fchmod`).
pub fn set_mode_fd(fd: Fd, mode: u32) -> Result<()> {
    vfs::set_mode_fd(fd, mode)
}

/// Creates a symbolic link at `link` pointing to `target`.
pub fn symlink(target: &str, link: &str) -> Result<()> {
    vfs::symlink(target, link)
}

pub fn readlink(path: &str) -> Result<String> {
    vfs::readlink(path)
}

/// Gives the file or symbolic link at `from` the further name `to` (a hard link); `follow`:
/// follow a symbolic link in the last component of `from`. `EISDIR` for a directory.
pub fn link(from: &str, to: &str, follow: bool) -> Result<()> {
    vfs::link(from, to, follow)
}

// ---- paths beneath a directory descriptor ------------------------------------------------
//
// The directory descriptor is a capability: `path` (relative) is resolved from the directory
// it was opened on, whatever has been renamed since, and may not leave it: an absolute path,
// `..` above it or a symbolic link out of it is `EXDEV` (as Linux's `openat2` with
// `RESOLVE_BENEATH`). A trailing slash makes a path name a directory.

/// Opens `path` beneath directory `dir`; `follow`: follow a symbolic link in the last
/// component (else opening one is `ELOOP`).
pub fn open_beneath(dir: Fd, path: &str, opts: &OpenOptions, follow: bool) -> Result<Fd> {
    vfs::open_beneath(dir, path, *opts, follow)
}

/// Metadata of `path` beneath `dir`; `follow`: follow a symbolic link in the last component.
pub fn stat_beneath(dir: Fd, path: &str, follow: bool) -> Result<Metadata> {
    Ok(vfs::stat_beneath(dir, path, follow)?.into())
}

pub fn mkdir_beneath(dir: Fd, path: &str, mode: u32) -> Result<()> {
    vfs::mkdir_beneath(dir, path, mode)
}

pub fn rmdir_beneath(dir: Fd, path: &str) -> Result<()> {
    vfs::rmdir_beneath(dir, path)
}

/// Removes the file or symbolic link `path` beneath `dir`.
pub fn unlink_beneath(dir: Fd, path: &str) -> Result<()> {
    vfs::unlink_beneath(dir, path)
}

/// POSIX `rename` of `from` beneath `from_dir` to `to` beneath `to_dir`.
pub fn rename_beneath(from_dir: Fd, from: &str, to_dir: Fd, to: &str) -> Result<()> {
    vfs::rename_beneath(from_dir, from, to_dir, to)
}

/// A hard link `to` beneath `to_dir` to `from` beneath `from_dir` (`EISDIR` for a directory).
pub fn link_beneath(from_dir: Fd, from: &str, follow: bool, to_dir: Fd, to: &str) -> Result<()> {
    vfs::link_beneath(from_dir, from, follow, to_dir, to)
}

/// Creates the symbolic link `path` beneath `dir` pointing to `target` (stored as given).
pub fn symlink_beneath(target: &str, dir: Fd, path: &str) -> Result<()> {
    vfs::symlink_beneath(target, dir, path)
}

/// The target of the symbolic link `path` beneath `dir`.
pub fn readlink_beneath(dir: Fd, path: &str) -> Result<String> {
    vfs::readlink_beneath(dir, path)
}

/// Sets the access and/or modification time of `path` beneath `dir` (`None` leaves one).
pub fn set_times_beneath(
    dir: Fd,
    path: &str,
    follow: bool,
    accessed: Option<i64>,
    modified: Option<i64>,
) -> Result<()> {
    vfs::set_times_beneath(dir, path, follow, accessed, modified)
}

/// Changes the process's working directory.
pub fn chdir(path: &str) -> Result<()> {
    vfs::chdir(path)
}

/// The process's working directory (absolute).
pub fn getcwd() -> String {
    vfs::getcwd()
}

/// The mount point of the file system the absolute path `path` lives on (`/` for the file
/// tree, `/proc` or `/sys` for the generated ones). Lexical: links are not followed.
pub fn mount_point(path: &str) -> String {
    vfs::generated::mount_point(path).unwrap_or_else(|| String::from("/"))
}

/// Makes `path` absolute against the working directory (lexically: `a/../b` is `b`).
pub fn absolute(path: &str) -> Result<String> {
    vfs::absolute(path)
}

/// The whole content of the file at `path`.
pub fn read_file(path: &str) -> Result<Vec<u8>> {
    File::open(path)?.read_to_end()
}

/// Creates or truncates the file at `path` and writes `data` to it.
pub fn write_file(path: &str, data: &[u8]) -> Result<()> {
    File::create(path)?.write_all(data)
}

// ---- File ------------------------------------------------------------------------------------

/// An open descriptor, closed on drop.
#[derive(Debug)]
pub struct File {
    fd: Fd,
}

impl File {
    /// Opens `path` for reading.
    pub fn open(path: &str) -> Result<File> {
        File::open_with(path, &OpenOptions::new().read(true))
    }

    /// Creates (or truncates) `path` for writing.
    pub fn create(path: &str) -> Result<File> {
        File::open_with(
            path,
            &OpenOptions::new().write(true).create(true).truncate(true),
        )
    }

    /// Opens `path` with `opts`.
    pub fn open_with(path: &str, opts: &OpenOptions) -> Result<File> {
        Ok(File {
            fd: open(path, opts)?,
        })
    }

    /// Takes ownership of an open descriptor.
    pub fn from_raw_fd(fd: Fd) -> File {
        File { fd }
    }

    /// Gives up ownership of the descriptor (it stays open).
    pub fn into_raw_fd(self) -> Fd {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }

    /// The descriptor.
    pub fn fd(&self) -> Fd {
        self.fd
    }

    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        read(self.fd, buf)
    }

    pub fn read_to_end(&self) -> Result<Vec<u8>> {
        read_to_end(self.fd)
    }

    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        write(self.fd, buf)
    }

    pub fn write_all(&self, buf: &[u8]) -> Result<()> {
        write_all(self.fd, buf)
    }

    pub fn seek(&self, pos: SeekFrom) -> Result<u64> {
        seek(self.fd, pos)
    }

    pub fn metadata(&self) -> Result<Metadata> {
        fstat(self.fd)
    }

    pub fn set_len(&self, len: u64) -> Result<()> {
        ftruncate(self.fd, len)
    }

    /// A second descriptor to the same open file.
    pub fn try_clone(&self) -> Result<File> {
        Ok(File { fd: dup(self.fd)? })
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = close(self.fd);
    }
}

// ---- stdio -----------------------------------------------------------------------------------

/// Standard input (descriptor 0).
#[derive(Clone, Copy, Debug)]
pub struct Stdin;
/// Standard output (descriptor 1).
#[derive(Clone, Copy, Debug)]
pub struct Stdout;
/// Standard error (descriptor 2).
#[derive(Clone, Copy, Debug)]
pub struct Stderr;

pub fn stdin() -> Stdin {
    Stdin
}
pub fn stdout() -> Stdout {
    Stdout
}
pub fn stderr() -> Stderr {
    Stderr
}

impl Stdin {
    /// Reads what is available (blocking while nothing is).
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        read(STDIN, buf)
    }
}

impl Stdout {
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        write(STDOUT, buf)
    }
    pub fn write_all(&self, buf: &[u8]) -> Result<()> {
        write_all(STDOUT, buf)
    }
}

impl Stderr {
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        write(STDERR, buf)
    }
    pub fn write_all(&self, buf: &[u8]) -> Result<()> {
        write_all(STDERR, buf)
    }
}

impl fmt::Write for Stdout {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_all(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

impl fmt::Write for Stderr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_all(s.as_bytes()).map_err(|_| fmt::Error)
    }
}
