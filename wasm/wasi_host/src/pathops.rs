//! Path calls that link, rename and set times, over libtheseus, each path resolved inside
//! its descriptor's preopen (`NOTCAPABLE` for `..` above it, absolute paths and links
//! leaving it). Built only for the kernel's target.

use crate::sys::{not_root, sys};
use crate::types::{lookupflags, rights, set_times_args};
use crate::{Errno, GuestMemory, WasiCtx};
use libtheseus::fs::{self, FileType};
use libtheseus::time;

impl WasiCtx {
    /// `path_filestat_set_times`: the last component is followed if it is a symbolic link
    /// only with `SYMLINK_FOLLOW` (inside the sandbox), else the link's own times change.
    #[allow(clippy::too_many_arguments)]
    pub fn path_filestat_set_times(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        lookup: u32,
        ptr: u32,
        len: u32,
        atim: u64,
        mtim: u64,
        flags: u32,
    ) -> Result<(), Errno> {
        let (a, m) = set_times_args(atim, mtim, flags, time::realtime_ns())?;
        let follow = lookup & lookupflags::SYMLINK_FOLLOW != 0;
        let (host, _) =
            self.guest_path(mem, fd, rights::PATH_FILESTAT_SET_TIMES, ptr, len, follow)?;
        fs::set_times(&host, follow, a, m).map_err(sys)
    }

    /// `path_link`: both paths are checked (sandbox, existence), then `NOTSUP`: the file
    /// system has no hard links.
    #[allow(clippy::too_many_arguments)]
    pub fn path_link(
        &mut self,
        mem: &mut dyn GuestMemory,
        old_fd: u32,
        old_flags: u32,
        old_ptr: u32,
        old_len: u32,
        new_fd: u32,
        new_ptr: u32,
        new_len: u32,
    ) -> Result<(), Errno> {
        let follow = old_flags & lookupflags::SYMLINK_FOLLOW != 0;
        let (old, _) = self.guest_path(
            mem,
            old_fd,
            rights::PATH_LINK_SOURCE,
            old_ptr,
            old_len,
            follow,
        )?;
        let (new, new_root) = self.guest_path(
            mem,
            new_fd,
            rights::PATH_LINK_TARGET,
            new_ptr,
            new_len,
            false,
        )?;
        let m = if follow {
            fs::stat(&old)
        } else {
            fs::lstat(&old)
        }
        .map_err(sys)?;
        if fs::lstat(&new).is_ok() || new.trim_end_matches('/') == new_root.trim_end_matches('/') {
            return Err(Errno::EXIST);
        }
        if m.file_type == FileType::Directory {
            return Err(Errno::PERM);
        }
        Err(Errno::NOTSUP)
    }

    /// `path_readlink`: the target of a symbolic link, as stored, cut to `buf_len` bytes
    /// (not NUL-terminated); the count goes to `used`. `INVAL` if the path is not a link.
    #[allow(clippy::too_many_arguments)]
    pub fn path_readlink(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        ptr: u32,
        len: u32,
        buf: u32,
        buf_len: u32,
        used: u32,
    ) -> Result<(), Errno> {
        mem.slice(buf, buf_len)?;
        mem.slice(used, 4)?;
        let (host, _) = self.guest_path(mem, fd, rights::PATH_READLINK, ptr, len, false)?;
        if fs::lstat(&host).map_err(sys)?.file_type != FileType::Symlink {
            return Err(Errno::INVAL);
        }
        let target = fs::readlink(&host).map_err(sys)?;
        let n = target.len().min(buf_len as usize);
        mem.write(buf, &target.as_bytes()[..n])?;
        mem.write_u32(used, n as u32)
    }

    /// `path_rename`: POSIX rename inside the preopens (neither path may be a preopen itself
    /// or leave one; a symbolic link as the last component is renamed, not followed).
    #[allow(clippy::too_many_arguments)]
    pub fn path_rename(
        &mut self,
        mem: &mut dyn GuestMemory,
        old_fd: u32,
        old_ptr: u32,
        old_len: u32,
        new_fd: u32,
        new_ptr: u32,
        new_len: u32,
    ) -> Result<(), Errno> {
        let (old, old_root) = self.guest_path(
            mem,
            old_fd,
            rights::PATH_RENAME_SOURCE,
            old_ptr,
            old_len,
            false,
        )?;
        let (new, new_root) = self.guest_path(
            mem,
            new_fd,
            rights::PATH_RENAME_TARGET,
            new_ptr,
            new_len,
            false,
        )?;
        not_root(&old, &old_root)?;
        not_root(&new, &new_root).map_err(|_| Errno::BUSY)?;
        fs::rename(&old, &new).map_err(sys)
    }

    /// `path_symlink`: creates a link at `new` (inside the preopen) whose target is the
    /// string `old` stored as is; resolving it later stays inside the preopen (an absolute
    /// target or one climbing out is `NOTCAPABLE` then).
    pub fn path_symlink(
        &mut self,
        mem: &mut dyn GuestMemory,
        old_ptr: u32,
        old_len: u32,
        fd: u32,
        new_ptr: u32,
        new_len: u32,
    ) -> Result<(), Errno> {
        let target = mem.read_str(old_ptr, old_len)?;
        if target.contains('\0') {
            return Err(Errno::INVAL);
        }
        if target.is_empty() {
            return Err(Errno::NOENT);
        }
        let (host, root) =
            self.guest_path(mem, fd, rights::PATH_SYMLINK, new_ptr, new_len, false)?;
        if fs::lstat(&host).is_ok() || not_root(&host, &root).is_err() {
            return Err(Errno::EXIST);
        }
        fs::symlink(&target, &host).map_err(sys)
    }
}
