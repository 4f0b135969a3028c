//! Path and metadata calls: open, stat, lstat, fstat, getdents64, mkdir, rmdir, unlink.

use crate::abi::{self, Kind, stat};
use crate::edge::{self, err, ret_i32};
use crate::fd;
use core::ffi::c_char;
use libtheseus::fs::{self, FileType, Metadata, OpenOptions};
use libtheseus::{Errno, Result};

/// Opens `name` with hermit's `O_*` `flags` (`O_RDONLY`/`O_WRONLY`/`O_RDWR`, `O_CREAT`,
/// `O_EXCL`, `O_TRUNC`, `O_APPEND`, `O_DIRECTORY`, `O_NONBLOCK`; others ignored) and, for a
/// created file, permission bits `mode`. Returns the lowest free descriptor.
///
/// # Safety
/// A non-null `name` must be a NUL-terminated string.
pub(crate) unsafe extern "C" fn sys_open(name: *const c_char, flags: i32, mode: i32) -> i32 {
    ret_i32((|| {
        // SAFETY: the caller's contract.
        let path = unsafe { edge::path(name) }?;
        let req = abi::decode_open(flags, mode).map_err(err)?;
        let opts = OpenOptions::new()
            .read(req.read)
            .write(req.write)
            .create(req.create)
            .truncate(req.truncate)
            .append(req.append)
            .exclusive(req.exclusive)
            .directory(req.directory)
            .mode(req.mode);
        let new = fs::open(path, &opts)?;
        if req.nonblocking {
            fs::set_nonblocking(new, true)?;
        }
        fd::record_new(new, abi::status_flags(flags), req.nonblocking)?;
        Ok(new as i32)
    })())
}

fn kind(t: FileType) -> Kind {
    match t {
        FileType::File => Kind::File,
        FileType::Directory => Kind::Directory,
        FileType::Symlink => Kind::Symlink,
        FileType::Pipe => Kind::Fifo,
        FileType::CharDevice => Kind::CharDevice,
    }
}

/// Hermit's `stat` of libtheseus metadata. `st_ctim` holds the creation time: std for Hermit
/// reads `created()` from it. Owner ids and the device are 0; blocks are 512-byte units.
fn to_stat(m: &Metadata) -> stat {
    stat {
        st_dev: 0,
        st_ino: m.ino,
        st_nlink: u64::from(m.nlink),
        st_mode: abi::st_mode(kind(m.file_type), m.mode),
        st_uid: 0,
        st_gid: 0,
        st_rdev: 0,
        st_size: i64::try_from(m.size).unwrap_or(i64::MAX),
        st_blksize: 4096,
        st_blocks: i64::try_from(m.size.div_ceil(512)).unwrap_or(i64::MAX),
        st_atim: abi::timespec_from_ns(m.accessed_ns),
        st_mtim: abi::timespec_from_ns(m.modified_ns),
        st_ctim: abi::timespec_from_ns(m.created_ns),
    }
}

/// # Safety
/// A non-null `name` must be a NUL-terminated string; a non-null `out` writable for a `stat`.
unsafe fn path_stat(name: *const c_char, out: *mut stat, f: fn(&str) -> Result<Metadata>) -> i32 {
    ret_i32((|| {
        // SAFETY: the caller's contract.
        let path = unsafe { edge::path(name) }?;
        if out.is_null() {
            return Err(Errno::EFAULT);
        }
        let m = f(path)?;
        // SAFETY: the caller's contract.
        unsafe { edge::write_out(out, to_stat(&m)) }?;
        Ok(0)
    })())
}

/// Metadata of `name`, following symbolic links.
///
/// # Safety
/// A non-null `name` must be a NUL-terminated string; a non-null `st` writable for a `stat`.
pub(crate) unsafe extern "C" fn sys_stat(name: *const c_char, st: *mut stat) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { path_stat(name, st, fs::stat) }
}

/// Metadata of `name`, not following a symbolic link in its last component.
///
/// # Safety
/// As [`sys_stat`].
pub(crate) unsafe extern "C" fn sys_lstat(name: *const c_char, st: *mut stat) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { path_stat(name, st, fs::lstat) }
}

/// Metadata of the file open at `fd`.
///
/// # Safety
/// A non-null `st` must be writable for a `stat`.
pub(crate) unsafe extern "C" fn sys_fstat(fd: i32, st: *mut stat) -> i32 {
    ret_i32((|| {
        let fd = edge::fd(fd)?;
        if st.is_null() {
            return Err(Errno::EFAULT);
        }
        let m = fs::fstat(fd)?;
        // SAFETY: the caller's contract.
        unsafe { edge::write_out(st, to_stat(&m)) }?;
        Ok(0)
    })())
}

/// Fills `dirp` with `dirent64` records (Linux layout, 8-byte aligned lengths) of *all* the
/// entries of the directory open at `fd` not yet returned on this description; `.` and `..`
/// are not listed. Returns the bytes written, 0 at the end, or `-EINVAL` (nothing consumed)
/// if those records do not all fit in `count` bytes.
///
/// All-or-`EINVAL` is Hermit's contract, which std relies on: its `read_dir` calls this once
/// on a fresh descriptor and doubles its buffer on `EINVAL`, so a partial listing would
/// silently lose the rest of the directory. A caller that loops until 0 works too.
///
/// # Safety
/// A non-null `dirp` must be valid for writes of `count` bytes.
pub(crate) unsafe extern "C" fn sys_getdents64(fd: i32, dirp: *mut u8, count: usize) -> i64 {
    let r = (|| {
        let fd = edge::fd(fd)?;
        if count == 0 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller's contract.
        let buf = unsafe { edge::bytes_mut(dirp, count) }?;
        let cursor = fd::with_desc(fd, |d| d.dir_cursor)?;
        let entries = fs::readdir(fd, cursor, usize::MAX)?;
        let needed: usize = entries
            .iter()
            .map(|e| abi::dirent_reclen(e.name.len()))
            .sum();
        if needed > count {
            return Err(Errno::EINVAL);
        }
        let mut used = 0;
        let mut next = cursor;
        for e in &entries {
            let off = i64::try_from(e.next).unwrap_or(i64::MAX);
            let ty = abi::d_type(kind(e.file_type));
            used += abi::encode_dirent(&mut buf[used..], e.ino, off, ty, e.name.as_bytes())
                .ok_or(Errno::EINVAL)?;
            next = e.next;
        }
        fd::with_desc(fd, |d| d.dir_cursor = next)?;
        Ok(used)
    })();
    match r {
        Ok(n) => n as i64,
        Err(e) => {
            edge::set_errno(e);
            -i64::from(e.raw())
        }
    }
}

/// Creates the directory `name` with permission bits `mode`.
///
/// # Safety
/// A non-null `name` must be a NUL-terminated string.
pub(crate) unsafe extern "C" fn sys_mkdir(name: *const c_char, mode: u32) -> i32 {
    ret_i32((|| {
        // SAFETY: the caller's contract.
        fs::mkdir(unsafe { edge::path(name) }?, mode & 0o7777)?;
        Ok(0)
    })())
}

/// Removes the empty directory `name`.
///
/// # Safety
/// A non-null `name` must be a NUL-terminated string.
pub(crate) unsafe extern "C" fn sys_rmdir(name: *const c_char) -> i32 {
    ret_i32((|| {
        // SAFETY: the caller's contract.
        fs::rmdir(unsafe { edge::path(name) }?)?;
        Ok(0)
    })())
}

/// Removes the file or symbolic link `name`.
///
/// # Safety
/// A non-null `name` must be a NUL-terminated string.
pub(crate) unsafe extern "C" fn sys_unlink(name: *const c_char) -> i32 {
    ret_i32((|| {
        // SAFETY: the caller's contract.
        fs::unlink(unsafe { edge::path(name) }?)?;
        Ok(0)
    })())
}

libtheseus::export_symbol!(
    sys_open,
    sys_stat,
    sys_lstat,
    sys_fstat,
    sys_getdents64,
    sys_mkdir,
    sys_rmdir,
    sys_unlink,
);
