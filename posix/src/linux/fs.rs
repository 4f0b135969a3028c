//! File calls: descriptors, paths (`*at` forms included), directories, metadata, pipes,
//! `poll`, terminal `ioctl`s, over `libtheseus::fs`.
//!
//! A descriptor relative path (`dirfd` other than `AT_FDCWD`) resolves against the path the
//! directory was opened with (the VFS has no directory handles yet). `getdents64` keeps each
//! directory descriptor's position and fills as many records as fit, `.` and `..` first.

use super::{signal, state};
use crate::abi;
use crate::resolve;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use libtheseus::epoll;
use libtheseus::fs::{self, FileType, Metadata, OpenOptions, SeekFrom};
use libtheseus::iovec;
use libtheseus::terminal;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result};
use linux_raw_sys::general as g;

const AT_FDCWD: i64 = -100;
pub(super) const NS_PER_S: i64 = 1_000_000_000;
const PATH_MAX: usize = 4096;
/// Largest single read or write (a longer one is a short count), and the bound of
/// `getdents64`'s kernel buffer.
const IO_CHUNK: usize = 1 << 20;

pub(super) fn fd(v: u64) -> Result<u32> {
    u32::try_from(v as i64).map_err(|_| Errno::EBADF)
}

/// The path string at `addr`, as given.
fn raw_path_at(addr: u64) -> Result<String> {
    let bytes = usermode::read_c_string(addr, PATH_MAX)?;
    String::from_utf8(bytes).map_err(|_| Errno::EINVAL)
}

/// The path at `addr` (`/proc/self/exe` and the rest of `/proc` are resolved by vfs).
pub(super) fn path_at(addr: u64) -> Result<String> {
    raw_path_at(addr)
}

/// The path named by `dirfd` and the string at `addr`.
fn resolve(dirfd: u64, addr: u64) -> Result<String> {
    let path = path_at(addr)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    relative_to(dirfd, path)
}

fn relative_to(dirfd: u64, path: String) -> Result<String> {
    if path.starts_with('/') || dirfd as i64 == AT_FDCWD {
        return Ok(path);
    }
    let f = fd(dirfd)?;
    let Some(dir) = state::current().dir_paths.lock().get(&f).cloned() else {
        // A descriptor of something else than a directory.
        return Err(if fs::fstat(f).is_ok() {
            Errno::ENOTDIR
        } else {
            Errno::EBADF
        });
    };
    Ok(if dir.ends_with('/') {
        alloc::format!("{dir}{path}")
    } else {
        alloc::format!("{dir}/{path}")
    })
}

/// Marks `fd` close-on-exec or not (the VFS does not keep the flag: `execve` does the closing).
pub(super) fn set_cloexec(fd: u32, on: bool) {
    set_cloexec_of(&state::current(), fd, on);
}

/// [`set_cloexec`] in the calling process's state `process`.
fn set_cloexec_of(process: &state::Process, fd: u32, on: bool) {
    let mut set = process.cloexec.lock();
    if on {
        set.insert(fd);
    } else {
        set.remove(&fd);
    }
}

// ---- descriptors ----------------------------------------------------------------------------

pub fn read(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (f, buf, len) = (fd(a[0])?, a[1], (a[2] as usize).min(IO_CHUNK));
    usermode::with_bytes_mut(buf, len, |data| fs::read(f, data))?.map(|n| n as u64)
}

/// A write's result; writing to a pipe without readers also sends the thread `SIGPIPE`.
fn written(r: Result<usize>) -> Result<u64> {
    if r == Err(Errno::EPIPE) {
        super::signal::send(libtheseus::thread::current_id().as_u64(), g::SIGPIPE);
    }
    r.map(|n| n as u64)
}

pub fn write(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (f, buf, len) = (fd(a[0])?, a[1], (a[2] as usize).min(IO_CHUNK));
    written(usermode::with_bytes(buf, len, |data| fs::write(f, data))?)
}

pub fn pread64(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (f, buf, len) = (fd(a[0])?, a[1], (a[2] as usize).min(IO_CHUNK));
    usermode::with_bytes_mut(buf, len, |data| fs::pread(f, data, a[3]))?.map(|n| n as u64)
}

pub fn pwrite64(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (f, buf, len) = (fd(a[0])?, a[1], (a[2] as usize).min(IO_CHUNK));
    written(usermode::with_bytes(buf, len, |data| {
        fs::pwrite(f, data, a[3])
    })?)
}

/// The `(base, len)` pairs of an iovec array (at most `IOV_MAX` = 1024).
pub(super) fn iovecs(addr: u64, count: u64) -> Result<Vec<(u64, usize)>> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; count as usize * 16];
    usermode::read(addr, &mut raw)?;
    Ok(raw
        .chunks_exact(16)
        .map(|c| {
            let base = u64::from_le_bytes(c[..8].try_into().unwrap());
            let len = u64::from_le_bytes(c[8..].try_into().unwrap());
            (base, len as usize)
        })
        .collect())
}

/// One read of the buffers' total size, scattered (`libtheseus::iovec`); every buffer is
/// checked first, so a bad one is `EFAULT` before anything is read.
pub fn readv(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let vecs = iovecs(a[1], a[2])?;
    for &(base, len) in &vecs {
        usermode::check(base, len, true)?;
    }
    let n = iovec::read_vectored(&vecs, |buf| fs::read(f, buf), usermode::write)?;
    Ok(n as u64)
}

/// The buffers gathered, then one write (`libtheseus::iovec`).
pub fn writev(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let vecs = iovecs(a[1], a[2])?;
    written(iovec::write_vectored(&vecs, usermode::read, |data| {
        fs::write(f, data)
    }))
}

pub fn lseek(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let off = a[1] as i64;
    let f = fd(a[0])?;
    let process = state::current();
    if process.dir_paths.lock().contains_key(&f) {
        // A directory's position is its `getdents64` cookie (the `d_off` of the entry read
        // last): `rewinddir` and `seekdir` set it.
        let mut cookies = process.dir_cookies.lock();
        let now = cookies.get(&f).copied().unwrap_or(0) as i64;
        let to = match a[2] {
            0 => off,
            1 => now.checked_add(off).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        let to = u64::try_from(to).map_err(|_| Errno::EINVAL)?;
        cookies.insert(f, to);
        return Ok(to);
    }
    drop(process);
    let pos = match a[2] {
        0 => SeekFrom::Start(u64::try_from(off).map_err(|_| Errno::EINVAL)?),
        1 => SeekFrom::Current(off),
        2 => SeekFrom::End(off),
        _ => return Err(Errno::EINVAL),
    };
    fs::seek(f, pos)
}

pub fn close(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    // The descriptor's bookkeeping goes while the number is still taken: once the close frees
    // it, another thread may get it (open, dup, socket...) and set its own.
    let process = state::current();
    process.dir_paths.lock().remove(&f);
    process.dir_cookies.lock().remove(&f);
    process.cloexec.lock().remove(&f);
    super::lock::on_close(f, process.pid);
    drop(process);
    fs::close(f)?;
    super::lock::after_close();
    Ok(0)
}

/// Records `new` as a copy of `old` for directory bookkeeping (not close-on-exec, as a
/// duplicate is).
fn copy_dir_state(old: u32, new: u32) {
    let process = state::current();
    process.cloexec.lock().remove(&new);
    process.dir_cookies.lock().remove(&new);
    let path = process.dir_paths.lock().get(&old).cloned();
    match path {
        Some(p) => process.dir_paths.lock().insert(new, p),
        None => process.dir_paths.lock().remove(&new),
    };
}

pub fn dup(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let old = fd(a[0])?;
    let new = fs::dup(old)?;
    copy_dir_state(old, new);
    Ok(u64::from(new))
}

pub fn dup2(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (old, new) = (fd(a[0])?, fd(a[1])?);
    if old == new {
        fs::fstat(old)?;
        return Ok(u64::from(new));
    }
    fs::dup2(old, new)?;
    copy_dir_state(old, new);
    Ok(u64::from(new))
}

/// `kcmp`: whether two processes share a kernel object. Only the calling process can be
/// inspected (another's `EPERM`); with itself it shares everything, and `KCMP_FILE` compares
/// the open file descriptions of two of its descriptors (0 same, 1 or 2 an order, `EBADF`).
pub fn kcmp(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    // `enum kcmp_type` in Linux's uapi (not in linux-raw-sys).
    const KCMP_FILE: u64 = 0;
    const KCMP_EPOLL_TFD: u64 = 7;
    let me = state::current().pid;
    if a[0] != me || a[1] != me {
        return Err(Errno::EPERM);
    }
    match a[2] {
        KCMP_FILE => {
            let (x, y) = (
                fs::description_id(fd(a[3])?)?,
                fs::description_id(fd(a[4])?)?,
            );
            Ok(match x.cmp(&y) {
                core::cmp::Ordering::Equal => 0,
                core::cmp::Ordering::Less => 1,
                core::cmp::Ordering::Greater => 2,
            })
        }
        t if t < KCMP_EPOLL_TFD => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn dup3(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] == a[1] || a[2] as u32 & !g::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let new = dup2(r, a)?;
    set_cloexec(new as u32, a[2] as u32 & g::O_CLOEXEC != 0);
    Ok(new)
}

pub fn fcntl(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    match a[1] as u32 {
        g::F_DUPFD | g::F_DUPFD_CLOEXEC => {
            // The lowest free descriptor at or above the argument, found and taken in one
            // step (two threads duplicating at once must not get the same one).
            let min = u32::try_from(a[2]).map_err(|_| Errno::EINVAL)?;
            let new = fs::dup_from(f, min)?;
            copy_dir_state(f, new);
            set_cloexec(new, a[1] as u32 == g::F_DUPFD_CLOEXEC);
            Ok(u64::from(new))
        }
        g::F_GETFD => {
            fs::check_open(f)?;
            let on = state::current().cloexec.lock().contains(&f);
            Ok(if on { u64::from(g::FD_CLOEXEC) } else { 0 })
        }
        g::F_SETFD => {
            fs::check_open(f)?;
            set_cloexec(f, a[2] as u32 & g::FD_CLOEXEC != 0);
            Ok(0)
        }
        g::F_GETFL => {
            let meta = fs::fstat(f)?;
            let status = fs::status(f)?;
            let mut flags = match (status.read, status.write) {
                (true, true) => g::O_RDWR,
                (false, true) => g::O_WRONLY,
                _ => g::O_RDONLY,
            };
            // Sockets keep O_NONBLOCK where it can be read back (socket2's `nonblocking()`).
            let socket_nonblocking = libtheseus::net::info(f).is_ok_and(|i| i.nonblocking);
            if status.nonblocking || socket_nonblocking {
                flags |= g::O_NONBLOCK;
            }
            if status.append {
                flags |= g::O_APPEND;
            }
            // As Linux on 64-bit machines: files and directories are opened `O_LARGEFILE`.
            match meta.file_type {
                FileType::Directory => flags |= g::O_DIRECTORY | g::O_LARGEFILE,
                FileType::File => flags |= g::O_LARGEFILE,
                _ => {}
            }
            Ok(u64::from(flags))
        }
        g::F_SETFL => {
            fs::set_nonblocking(f, a[2] as u32 & g::O_NONBLOCK != 0)?;
            fs::set_append(f, a[2] as u32 & g::O_APPEND != 0)?;
            Ok(0)
        }
        g::F_GETLK
        | g::F_SETLK
        | g::F_SETLKW
        | g::F_OFD_GETLK
        | g::F_OFD_SETLK
        | g::F_OFD_SETLKW => super::lock::fcntl_lock(f, a[1] as u32, a[2]),
        _ => Err(Errno::EINVAL),
    }
}

pub fn ioctl(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let meta = fs::fstat(f)?;
    let tty = meta.file_type == FileType::CharDevice && meta.ino != 0 && is_console(f);
    match a[1] as u32 {
        linux_raw_sys::ioctl::TIOCGWINSZ if tty => {
            let (rows, cols) = terminal::window_size();
            let ws = linux_raw_sys::general::winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            usermode::write_value(a[2], &ws)?;
            Ok(0)
        }
        linux_raw_sys::ioctl::TCGETS if tty => {
            usermode::write_value(a[2], &terminal::settings())?;
            Ok(0)
        }
        request @ (linux_raw_sys::ioctl::TCSETS
        | linux_raw_sys::ioctl::TCSETSW
        | linux_raw_sys::ioctl::TCSETSF)
            if tty =>
        {
            // Output is written synchronously, so TCSETSW has nothing to drain.
            let mut raw = [0u8; core::mem::size_of::<terminal::Termios>()];
            usermode::read(a[2], &mut raw)?;
            terminal::set_settings(
                abi::termios_from_bytes(&raw),
                request == linux_raw_sys::ioctl::TCSETSF,
            );
            Ok(0)
        }
        linux_raw_sys::ioctl::TIOCSWINSZ if tty => {
            let [rows, cols, _, _]: [u16; 4] = usermode::read_value(a[2])?;
            terminal::set_window_size(rows, cols);
            Ok(0)
        }
        linux_raw_sys::ioctl::TIOCGPGRP if tty => {
            let group = libtheseus::job_control::foreground_group()?;
            usermode::write_value(a[2], &(group as i32)).map(|_| 0)
        }
        linux_raw_sys::ioctl::TIOCSPGRP if tty => {
            let group: i32 = usermode::read_value(a[2])?;
            let group = u64::try_from(group).map_err(|_| Errno::EINVAL)?;
            libtheseus::job_control::set_foreground_group(group).map(|_| 0)
        }
        linux_raw_sys::ioctl::FIONBIO => {
            let on: u32 = usermode::read_value(a[2])?;
            fs::set_nonblocking(f, on != 0)?;
            Ok(0)
        }
        // Bytes a read would get now: sockets and inotify instances.
        linux_raw_sys::ioctl::FIONREAD => {
            let n = if meta.file_type == FileType::Socket {
                libtheseus::net::available(f)?
            } else {
                libtheseus::inotify::pending_bytes(f).map_err(|_| Errno::ENOTTY)?
            };
            usermode::write_value(a[2], &i32::try_from(n).unwrap_or(i32::MAX))?;
            Ok(0)
        }
        request @ (linux_raw_sys::ioctl::SIOCGIFINDEX
        | linux_raw_sys::ioctl::SIOCGIFNAME
        | linux_raw_sys::ioctl::SIOCGIFFLAGS
        | linux_raw_sys::ioctl::SIOCGIFMTU
        | linux_raw_sys::ioctl::SIOCGIFHWADDR)
            if meta.file_type == FileType::Socket =>
        {
            super::net::interface_ioctl(request, a[2])
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// Whether descriptor `f` is the console (a character device that is not `/dev/null`).
fn is_console(f: u32) -> bool {
    match fs::stat("/dev/null") {
        Ok(null) => fs::fstat(f).is_ok_and(|m| m.ino != null.ino),
        Err(_) => true,
    }
}

pub fn fsync(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::fstat(fd(a[0])?).map(|_| 0)
}

pub fn ftruncate(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::ftruncate(fd(a[0])?, a[1]).map(|_| 0)
}

pub fn truncate(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let len = u64::try_from(a[1] as i64).map_err(|_| Errno::EINVAL)?;
    let path = path_at(a[0])?;
    if fs::stat(&path)?.file_type == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    fs::truncate(&path, len).map(|_| 0)
}

/// `fadvise64`: advice about access patterns, checked and accepted (files are in memory);
/// `ESPIPE` for a pipe, as on Linux.
pub fn fadvise64(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    if a[3] > 5 || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    match fs::fstat(f)?.file_type {
        FileType::Pipe => Err(Errno::ESPIPE),
        _ => Ok(0),
    }
}

/// `fallocate`: mode 0 gives the file memory up to `offset + len`, extending it if shorter
/// (a hole left by `ftruncate` takes memory then); `FALLOC_FL_KEEP_SIZE` does so only within
/// the current length. Punching or collapsing ranges is not supported.
pub fn fallocate(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const FALLOC_FL_KEEP_SIZE: u64 = 1;
    let (f, mode, offset, len) = (fd(a[0])?, a[1], a[2] as i64, a[3] as i64);
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    if fs::fstat(f)?.file_type != FileType::File {
        return Err(Errno::ENODEV);
    }
    match mode {
        0 => fs::allocate(f, end, false).map(|_| 0),
        FALLOC_FL_KEEP_SIZE => fs::allocate(f, end, true).map(|_| 0),
        _ => Err(Errno::ENOTSUP),
    }
}

pub fn pipe(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    pipe2(r, [a[0], 0, 0, 0, 0, 0])
}

pub fn pipe2(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    usermode::check(a[0], 8, true)?;
    let (r, w) = fs::pipe()?;
    if a[1] as u32 & g::O_NONBLOCK != 0 {
        fs::set_nonblocking(r, true)?;
        fs::set_nonblocking(w, true)?;
    }
    let cloexec = a[1] as u32 & g::O_CLOEXEC != 0;
    set_cloexec(r, cloexec);
    set_cloexec(w, cloexec);
    usermode::write_value(a[0], &[r as i32, w as i32])?;
    Ok(0)
}

// ---- paths ----------------------------------------------------------------------------------

fn open_path(path: String, flags: u32, mode: u64) -> Result<u64> {
    // An unnamed file needs files that live on after their last name is gone, which the
    // in-memory file system does not have yet.
    if flags & g::__O_TMPFILE != 0 {
        return Err(Errno::ENOTSUP);
    }
    let req = abi::decode_open(flags, mode as u32)?;
    if flags & g::O_NOFOLLOW != 0
        && fs::lstat(&path).is_ok_and(|m| m.file_type == FileType::Symlink)
    {
        return Err(Errno::ELOOP);
    }
    let process = state::current();
    let umask = *process.umask.lock();
    let opts = OpenOptions::new()
        .read(req.read)
        .write(req.write)
        .create(req.create)
        .truncate(req.truncate)
        .append(req.append)
        .exclusive(req.exclusive)
        .directory(req.directory)
        .mode(req.mode & !umask)
        .nonblocking(req.nonblocking);
    let new = fs::open(&path, &opts)?;
    if req.nonblocking {
        fs::set_nonblocking(new, true)?;
    }
    if fs::is_directory(new).unwrap_or(false) {
        process
            .dir_paths
            .lock()
            .insert(new, fs::absolute(&path).unwrap_or(path));
    } else {
        process.dir_paths.lock().remove(&new);
    }
    process.dir_cookies.lock().remove(&new);
    set_cloexec_of(&process, new, flags & g::O_CLOEXEC != 0);
    Ok(u64::from(new))
}

pub fn open(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    open_path(path_at(a[0])?, a[1] as u32, a[2])
}

pub fn openat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    open_path(resolve(a[0], a[1])?, a[2] as u32, a[3])
}

/// The file system as `openat2`'s walk sees it.
struct Vfs;

impl resolve::Lookup for Vfs {
    fn link_target(&self, path: &str) -> Result<Option<String>> {
        if fs::lstat(path)?.file_type == FileType::Symlink {
            fs::readlink(path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn is_dir(&self, path: &str) -> bool {
        fs::stat(path).is_ok_and(|m| m.file_type == FileType::Directory)
    }

    fn mount(&self, path: &str) -> String {
        fs::mount_point(path)
    }

    /// `/proc`'s links to open files, working directories and programs (not `/proc/self`
    /// and `/proc/thread-self`, which are plain links).
    fn is_magic(&self, path: &str) -> bool {
        fs::mount_point(path) == "/proc" && !matches!(path, "/proc/self" | "/proc/thread-self")
    }
}

/// `openat2(dirfd, path, how, size)`: `openat` with a `struct open_how` (checked by
/// `resolve::open_how`: unknown flags are refused, not ignored) and the `RESOLVE_*`
/// restrictions, which `resolve::walk` applies component by component before the open.
/// `RESOLVE_CACHED` is honoured as is: every lookup here is answered from memory.
pub fn openat2(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let size = a[3] as usize;
    if size < resolve::OPEN_HOW_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > resolve::OPEN_HOW_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut raw = vec![0u8; size];
    usermode::read(a[2], &mut raw)?;
    let how = resolve::open_how(&raw)?;
    let path = path_at(a[1])?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let base = if a[0] as i64 == AT_FDCWD {
        fs::getcwd()
    } else {
        state::current()
            .dir_paths
            .lock()
            .get(&fd(a[0])?)
            .cloned()
            .ok_or(Errno::EBADF)?
    };
    let follow = how.flags & g::O_NOFOLLOW == 0;
    let walked = if how.resolve == 0 && !path.starts_with('/') {
        relative_to(a[0], path)?
    } else if how.resolve == 0 {
        path
    } else {
        resolve::walk(&Vfs, &base, &path, how.resolve, follow)?
    };
    open_path(walked, how.flags, u64::from(how.mode))
}

fn kind(t: FileType) -> abi::Kind {
    match t {
        FileType::File => abi::Kind::File,
        FileType::Directory => abi::Kind::Directory,
        FileType::Symlink => abi::Kind::Symlink,
        FileType::Pipe => abi::Kind::Fifo,
        FileType::CharDevice => abi::Kind::CharDevice,
        FileType::Socket => abi::Kind::Socket,
    }
}

fn to_stat(m: &Metadata) -> g::stat {
    // The kernel ABI's fields are unsigned: a time before 1970 goes as its two's complement,
    // which C reads back as the negative `time_t` it is.
    let ns = |t: i64| (t.div_euclid(NS_PER_S) as u64, t.rem_euclid(NS_PER_S) as u64);
    let (at, atn) = ns(m.accessed_ns);
    let (mt, mtn) = ns(m.modified_ns);
    let (ct, ctn) = ns(m.modified_ns);
    g::stat {
        st_dev: 1,
        st_ino: m.ino,
        st_nlink: u64::from(m.nlink),
        st_mode: abi::st_mode(kind(m.file_type), m.mode),
        st_uid: 0,
        st_gid: 0,
        __pad0: 0,
        st_rdev: 0,
        st_size: i64::try_from(m.size).unwrap_or(i64::MAX),
        st_blksize: 4096,
        st_blocks: (m.allocated / 512) as i64,
        st_atime: at,
        st_atime_nsec: atn,
        st_mtime: mt,
        st_mtime_nsec: mtn,
        st_ctime: ct,
        st_ctime_nsec: ctn,
        __unused: [0; 3],
    }
}

/// Metadata for the `*stat*at` calls: `AT_EMPTY_PATH` with an empty path is the descriptor
/// itself; `AT_SYMLINK_NOFOLLOW` does not follow a final link.
fn stat_at(dirfd: u64, addr: u64, flags: u32) -> Result<Metadata> {
    let path = path_at(addr)?;
    if path.is_empty() {
        if flags & g::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd as i64 == AT_FDCWD {
            return fs::stat(".");
        }
        return fs::fstat(fd(dirfd)?);
    }
    let path = relative_to(dirfd, path)?;
    if flags & g::AT_SYMLINK_NOFOLLOW != 0 {
        fs::lstat(&path)
    } else {
        fs::stat(&path)
    }
}

pub fn stat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let m = fs::stat(&path_at(a[0])?)?;
    usermode::write_value(a[1], &to_stat(&m)).map(|_| 0)
}

pub fn lstat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let m = fs::lstat(&path_at(a[0])?)?;
    usermode::write_value(a[1], &to_stat(&m)).map(|_| 0)
}

pub fn fstat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let m = fs::fstat(fd(a[0])?)?;
    usermode::write_value(a[1], &to_stat(&m)).map(|_| 0)
}

pub fn newfstatat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let m = stat_at(a[0], a[1], a[3] as u32)?;
    usermode::write_value(a[2], &to_stat(&m)).map(|_| 0)
}

pub fn statx(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let m = stat_at(a[0], a[1], a[2] as u32)?;
    let ts = |t: i64| g::statx_timestamp {
        tv_sec: t.div_euclid(NS_PER_S),
        tv_nsec: t.rem_euclid(NS_PER_S) as u32,
        __reserved: 0,
    };
    let s = g::statx {
        stx_mask: g::STATX_BASIC_STATS | g::STATX_BTIME,
        stx_blksize: 4096,
        stx_attributes: 0,
        stx_nlink: m.nlink,
        stx_uid: 0,
        stx_gid: 0,
        stx_mode: abi::st_mode(kind(m.file_type), m.mode) as u16,
        __spare0: [0],
        stx_ino: m.ino,
        stx_size: m.size,
        stx_blocks: m.allocated / 512,
        stx_attributes_mask: 0,
        stx_atime: ts(m.accessed_ns),
        stx_btime: ts(m.created_ns),
        stx_ctime: ts(m.modified_ns),
        stx_mtime: ts(m.modified_ns),
        stx_rdev_major: 0,
        stx_rdev_minor: 0,
        stx_dev_major: 0,
        stx_dev_minor: 1,
        stx_mnt_id: 0,
        stx_dio_mem_align: 0,
        stx_dio_offset_align: 0,
        stx_subvol: 0,
        stx_atomic_write_unit_min: 0,
        stx_atomic_write_unit_max: 0,
        stx_atomic_write_segments_max: 0,
        stx_dio_read_offset_align: 0,
        stx_atomic_write_unit_max_opt: 0,
        __spare2: [0],
        __spare3: [0; 8],
    };
    usermode::write_value(a[4], &s).map(|_| 0)
}

/// Access as root: everything may be read and written; executing needs an execute bit (any
/// of the three), except for directories.
fn check_access(m: &Metadata, mode: u64) -> Result<u64> {
    const X_OK: u64 = 1;
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    if mode & X_OK != 0 && m.file_type != FileType::Directory && m.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn access(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    check_access(&fs::stat(&path_at(a[0])?)?, a[1])
}

/// `faccessat` and `faccessat2` (flags `AT_EACCESS`, `AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH`).
pub fn faccessat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let flags = a[3] as u32;
    if flags & !(g::AT_EACCESS | g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    check_access(&stat_at(a[0], a[1], flags)?, a[2])
}

/// Directory listings start with `.` and `..` as on Linux; a descriptor's position is 0
/// (nothing read), 1 (`.` read), or 2 + the VFS cookie of the next entry.
pub fn eventfd(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    eventfd2(r, [a[0], 0, 0, 0, 0, 0])
}

pub fn eventfd2(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const EFD_SEMAPHORE: u32 = 1;
    let flags = a[1] as u32;
    if flags & !(EFD_SEMAPHORE | g::O_NONBLOCK | g::O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let new = fs::eventfd(
        a[0] & 0xffff_ffff,
        flags & EFD_SEMAPHORE != 0,
        flags & g::O_NONBLOCK != 0,
    )?;
    set_cloexec(new, flags & g::O_CLOEXEC != 0);
    Ok(u64::from(new))
}

pub fn epoll_create(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    Ok(u64::from(epoll::create()?))
}

pub fn epoll_create1(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] as u32 & !g::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let new = epoll::create()?;
    set_cloexec(new, a[0] as u32 & g::O_CLOEXEC != 0);
    Ok(u64::from(new))
}

pub fn epoll_ctl(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let op = match a[1] as u32 {
        g::EPOLL_CTL_ADD => epoll::Op::Add,
        g::EPOLL_CTL_MOD => epoll::Op::Modify,
        g::EPOLL_CTL_DEL => epoll::Op::Delete,
        _ => return Err(Errno::EINVAL),
    };
    // struct epoll_event is packed on x86_64: events (u32), data (u64).
    let (events, data) = if op == epoll::Op::Delete {
        (0, 0)
    } else {
        let raw: [u8; 12] = usermode::read_value(a[3])?;
        (
            u32::from_le_bytes(raw[..4].try_into().unwrap()),
            u64::from_le_bytes(raw[4..].try_into().unwrap()),
        )
    };
    epoll::ctl(fd(a[0])?, op, fd(a[2])?, events, data).map(|_| 0)
}

fn epoll_wait_until(a: [u64; 6], deadline: Option<u64>) -> Result<u64> {
    let max = a[2] as i32;
    if max <= 0 || max > 1 << 20 {
        return Err(Errno::EINVAL);
    }
    usermode::check(a[1], max as usize * 12, true)?;
    let ready = epoll::wait(fd(a[0])?, max as usize, deadline)?;
    let mut raw = Vec::with_capacity(ready.len() * 12);
    for (events, data) in &ready {
        raw.extend_from_slice(&events.to_le_bytes());
        raw.extend_from_slice(&data.to_le_bytes());
    }
    usermode::write(a[1], &raw)?;
    Ok(ready.len() as u64)
}

/// `epoll_wait`.
pub fn epoll_wait(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let timeout = a[3] as i32;
    let deadline =
        (timeout >= 0).then(|| libtheseus::time::monotonic_ns() + timeout as u64 * 1_000_000);
    epoll_wait_until(a, deadline)
}

/// `epoll_pwait`: `epoll_wait` with the signal mask replaced during the wait.
pub fn epoll_pwait(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    signal::with_mask(a[4], a[5], || epoll_wait(r, a))
}

pub fn epoll_pwait2(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let deadline = if a[3] == 0 {
        None
    } else {
        let ts: [i64; 2] = usermode::read_value(a[3])?;
        if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
            return Err(Errno::EINVAL);
        }
        Some(libtheseus::time::monotonic_ns() + ts[0] as u64 * 1_000_000_000 + ts[1] as u64)
    };
    signal::with_mask(a[4], a[5], || epoll_wait_until(a, deadline))
}

pub fn getdents64(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (f, buf, len) = (fd(a[0])?, a[1], (a[2] as usize).min(IO_CHUNK));
    usermode::check(buf, len, true)?;
    let process = state::current();
    let start = process.dir_cookies.lock().get(&f).copied().unwrap_or(0);
    let dir_type = abi::d_type(abi::Kind::Directory);
    // Past the dots, `readdir` itself answers `ENOTDIR` for other files: no `fstat` per call.
    let ino = if start < 2 {
        let dir = fs::fstat(f)?;
        if dir.file_type != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        dir.ino
    } else {
        0
    };
    // Encoded straight from the directory's listing into the program's buffer (checked
    // above): no vector of entries, no entry taken that does not fit.
    let (used, position, full) = usermode::with_bytes_mut(buf, len, |out| {
        let mut used = 0;
        let mut position = start;
        while position < 2 {
            let name: &[u8] = if position == 0 { b"." } else { b".." };
            match abi::encode_dirent(&mut out[used..], ino, position as i64 + 1, dir_type, name) {
                Some(n) => {
                    used += n;
                    position += 1;
                }
                None => return Ok((used, position, true)),
            }
        }
        let mut full = false;
        fs::readdir_each(f, position - 2, |e| {
            let ty = abi::d_type(kind(e.file_type));
            let next = e.next + 2;
            match abi::encode_dirent(&mut out[used..], e.ino, next as i64, ty, e.name.as_bytes()) {
                Some(n) => {
                    used += n;
                    position = next;
                    true
                }
                None => {
                    full = true;
                    false
                }
            }
        })?;
        Ok::<_, Errno>((used, position, full))
    })??;
    if used == 0 && full {
        // Not even one entry fits.
        return Err(Errno::EINVAL);
    }
    process.dir_cookies.lock().insert(f, position);
    Ok(used as u64)
}

pub fn getcwd(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let cwd = fs::getcwd();
    // The working directory is kept as a path: one that no longer names a directory was
    // removed (Linux answers ENOENT for an unlinked working directory).
    if !fs::stat(&cwd).is_ok_and(|m| m.file_type == fs::FileType::Directory) {
        return Err(Errno::ENOENT);
    }
    let mut cwd = cwd.into_bytes();
    cwd.push(0);
    if cwd.len() > a[1] as usize {
        return Err(Errno::ERANGE);
    }
    usermode::write(a[0], &cwd)?;
    Ok(cwd.len() as u64)
}

pub fn chdir(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::chdir(&path_at(a[0])?).map(|_| 0)
}

pub fn fchdir(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let path = state::current()
        .dir_paths
        .lock()
        .get(&fd(a[0])?)
        .cloned()
        .ok_or(Errno::ENOTDIR)?;
    fs::chdir(&path).map(|_| 0)
}

pub fn mkdir(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::mkdir(&path_at(a[0])?, a[1] as u32 & 0o7777).map(|_| 0)
}

pub fn mkdirat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::mkdir(&resolve(a[0], a[1])?, a[2] as u32 & 0o7777).map(|_| 0)
}

pub fn mknod(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    mknodat(r, [g::AT_FDCWD as i64 as u64, a[0], a[1], a[2], 0, 0])
}

/// `mknodat`: named pipes (`S_IFIFO`) and empty regular files (`S_IFREG` or no type); the
/// in-memory file system has no device or socket nodes (`EPERM`, what Linux answers an
/// unprivileged caller for devices).
pub fn mknodat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let path = resolve(a[0], a[1])?;
    let mode = a[2] as u32;
    let perm = mode & 0o7777 & !*state::current().umask.lock();
    match mode & g::S_IFMT {
        g::S_IFIFO => fs::mkfifo(&path, perm),
        0 | g::S_IFREG => fs::create_new_file(&path, perm),
        g::S_IFCHR | g::S_IFBLK | g::S_IFSOCK => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
    .map(|_| 0)
}

pub fn rmdir(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::rmdir(&path_at(a[0])?).map(|_| 0)
}

pub fn unlink(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::unlink(&path_at(a[0])?).map(|_| 0)
}

pub fn unlinkat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let path = resolve(a[0], a[1])?;
    if a[2] as u32 & g::AT_REMOVEDIR != 0 {
        fs::rmdir(&path).map(|_| 0)
    } else {
        fs::unlink(&path).map(|_| 0)
    }
}

pub fn rename(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::rename(&path_at(a[0])?, &path_at(a[1])?).map(|_| 0)
}

pub fn renameat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::rename(&resolve(a[0], a[1])?, &resolve(a[2], a[3])?).map(|_| 0)
}

pub fn renameat2(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let flags = a[4] as u32;
    if flags & !g::RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & g::RENAME_NOREPLACE != 0 && fs::lstat(&resolve(a[2], a[3])?).is_ok() {
        return Err(Errno::EEXIST);
    }
    renameat(r, a)
}

/// A hard link; a directory is `EPERM` (the VFS says `EISDIR`).
fn link_paths(from: &str, to: &str, follow: bool) -> Result<u64> {
    fs::link(from, to, follow).map(|_| 0).map_err(|e| match e {
        Errno::EISDIR => Errno::EPERM,
        e => e,
    })
}

/// `link(old, new)`: a symbolic link as `old` is linked itself.
pub fn link(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    link_paths(&path_at(a[0])?, &path_at(a[1])?, false)
}

/// `linkat(olddirfd, old, newdirfd, new, flags)` with `AT_SYMLINK_FOLLOW`.
pub fn linkat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let flags = a[4] as u32;
    if flags & !g::AT_SYMLINK_FOLLOW != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = flags & g::AT_SYMLINK_FOLLOW != 0;
    link_paths(&resolve(a[0], a[1])?, &resolve(a[2], a[3])?, follow)
}

pub fn symlink(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::symlink(&path_at(a[0])?, &path_at(a[1])?).map(|_| 0)
}

pub fn symlinkat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::symlink(&path_at(a[0])?, &resolve(a[1], a[2])?).map(|_| 0)
}

fn readlink_into(path: &str, buf: u64, len: u64) -> Result<u64> {
    let target = fs::readlink(path)?;
    let n = target.len().min(len as usize);
    usermode::write(buf, &target.as_bytes()[..n])?;
    Ok(n as u64)
}

pub fn readlink(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    readlink_into(&raw_path_at(a[0])?, a[1], a[2])
}

pub fn readlinkat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let path = raw_path_at(a[1])?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    readlink_into(&relative_to(a[0], path)?, a[2], a[3])
}

/// Permission bits are stored and reported, not enforced (everything runs as root).
pub fn chmod(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::set_mode(&path_at(a[0])?, true, a[1] as u32 & 0o7777).map(|_| 0)
}

pub fn fchmod(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::set_mode_fd(fd(a[0])?, a[1] as u32 & 0o7777).map(|_| 0)
}

pub fn fchmodat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let follow = a[3] as u32 & g::AT_SYMLINK_NOFOLLOW == 0;
    fs::set_mode(&resolve(a[0], a[1])?, follow, a[2] as u32 & 0o7777).map(|_| 0)
}

/// Ownership: everything belongs to root and stays so; changing it is accepted for existing
/// files (as root may).
pub fn chown(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::stat(&path_at(a[0])?).map(|_| 0)
}

pub fn lchown(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::lstat(&path_at(a[0])?).map(|_| 0)
}

pub fn fchown(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    fs::fstat(fd(a[0])?).map(|_| 0)
}

pub fn fchownat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    stat_at(a[0], a[1], a[4] as u32).map(|_| 0)
}

pub fn umask(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let process = state::current();
    let mut mask = process.umask.lock();
    let old = *mask;
    *mask = a[0] as u32 & 0o777;
    Ok(u64::from(old))
}

pub fn utimensat(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let now = fs::now();
    let times: [Option<i64>; 2] = if a[2] == 0 {
        [Some(now), Some(now)]
    } else {
        let ts: [[i64; 2]; 2] = usermode::read_value(a[2])?;
        // Times before 1970 are negative seconds; past what i64 nanoseconds hold (1677 to
        // 2262) is EOVERFLOW.
        let one = |t: [i64; 2]| -> Result<Option<i64>> {
            match t[1] {
                UTIME_NOW => Ok(Some(now)),
                UTIME_OMIT => Ok(None),
                ns if (0..NS_PER_S).contains(&ns) => t[0]
                    .checked_mul(NS_PER_S)
                    .and_then(|s| s.checked_add(ns))
                    .map(Some)
                    .ok_or(Errno::EOVERFLOW),
                _ => Err(Errno::EINVAL),
            }
        };
        [one(ts[0])?, one(ts[1])?]
    };
    if a[1] == 0 {
        return fs::set_times_fd(fd(a[0])?, times[0], times[1]).map(|_| 0);
    }
    let follow = a[3] as u32 & g::AT_SYMLINK_NOFOLLOW == 0;
    fs::set_times(&resolve(a[0], a[1])?, follow, times[0], times[1]).map(|_| 0)
}

// ---- poll -----------------------------------------------------------------------------------

/// Polls `fds` (Linux `struct pollfd` array) until one is ready or `deadline` (monotonic ns)
/// passes, sleeping on the VFS's readiness changes in between.
fn poll_until(addr: u64, count: u64, deadline: Option<u64>) -> Result<u64> {
    if count > 4096 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; count as usize * 8];
    usermode::read(addr, &mut raw)?;
    loop {
        let generation = fs::readiness_generation();
        let mut ready = 0;
        for entry in raw.chunks_exact_mut(8) {
            let f = i32::from_le_bytes(entry[..4].try_into().unwrap());
            let events = i16::from_le_bytes(entry[4..6].try_into().unwrap());
            let revents = if f < 0 {
                0
            } else {
                let f = f as u32;
                match (
                    fs::poll_readable(f),
                    fs::poll_writable(f),
                    fs::poll_hangup(f),
                ) {
                    (Ok(readable), Ok(writable), Ok((read_closed, hung_up))) => {
                        let state = abi::PollState {
                            readable,
                            writable,
                            read_closed,
                            hung_up,
                        };
                        abi::poll_revents(events, state)
                    }
                    _ => abi::POLLNVAL,
                }
            };
            entry[6..8].copy_from_slice(&revents.to_le_bytes());
            if revents != 0 {
                ready += 1;
            }
        }
        if ready > 0 || deadline.is_some_and(|d| libtheseus::time::monotonic_ns() >= d) {
            usermode::write(addr, &raw)?;
            return Ok(ready);
        }
        fs::wait_readiness_change(generation, deadline)?;
    }
}

pub fn poll(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let timeout = a[2] as i32;
    let deadline =
        (timeout >= 0).then(|| libtheseus::time::monotonic_ns() + timeout as u64 * 1_000_000);
    poll_until(a[0], a[1], deadline)
}

pub fn ppoll(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let deadline = if a[2] == 0 {
        None
    } else {
        let ts: [i64; 2] = usermode::read_value(a[2])?;
        if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
            return Err(Errno::EINVAL);
        }
        Some(libtheseus::time::monotonic_ns() + ts[0] as u64 * 1_000_000_000 + ts[1] as u64)
    };
    signal::with_mask(a[3], a[4], || poll_until(a[0], a[1], deadline))
}
