//! Path calls that link, rename and set times, over libtheseus, each path resolved beneath
//! its directory descriptor's directory (`PERM` for a path leaving it: `..` above it, an
//! absolute path, a symbolic link out of it). Built only for the kernel's target.

use crate::path;
use crate::types::{lookupflags, rights, set_times_args};
use crate::{Errno, GuestMemory, WasiCtx};
use libtheseus::fs;

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
        let (a, m) = set_times_args(atim, mtim, flags, fs::now())?;
        let follow = lookup & lookupflags::SYMLINK_FOLLOW != 0;
        let (dir, p) = self.guest_path(mem, fd, rights::PATH_FILESTAT_SET_TIMES, ptr, len)?;
        fs::set_times_beneath(dir, &p, follow, a, m).map_err(Errno::from)
    }

    /// `path_link`: a hard link `new` to the file or symbolic link `old` (a link as the last
    /// component of `old` is linked itself; `SYMLINK_FOLLOW` is `INVAL`, as in wasmtime);
    /// `PERM` for a directory, `EXIST` if `new` names anything.
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
        let (old_dir, old) =
            self.guest_path(mem, old_fd, rights::PATH_LINK_SOURCE, old_ptr, old_len)?;
        let (new_dir, new) =
            self.guest_path(mem, new_fd, rights::PATH_LINK_TARGET, new_ptr, new_len)?;
        if old_flags & lookupflags::SYMLINK_FOLLOW != 0 {
            return Err(Errno::INVAL);
        }
        fs::link_beneath(old_dir, &old, false, new_dir, &new).map_err(|e| match Errno::from(e) {
            Errno::ISDIR => Errno::PERM,
            e => e,
        })
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
        let (dir, p) = self.guest_path(mem, fd, rights::PATH_READLINK, ptr, len)?;
        let target = fs::readlink_beneath(dir, &p).map_err(Errno::from)?;
        let n = target.len().min(buf_len as usize);
        mem.write(buf, &target.as_bytes()[..n])?;
        mem.write_u32(used, n as u32)
    }

    /// `path_rename`: POSIX rename beneath the two directories (neither path may end in `.`
    /// or `..` or leave its directory; a symbolic link as the last component is renamed, not
    /// followed).
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
        let (old_dir, old) =
            self.guest_path(mem, old_fd, rights::PATH_RENAME_SOURCE, old_ptr, old_len)?;
        let (new_dir, new) =
            self.guest_path(mem, new_fd, rights::PATH_RENAME_TARGET, new_ptr, new_len)?;
        fs::rename_beneath(old_dir, &old, new_dir, &new).map_err(Errno::from)
    }

    /// `path_symlink`: creates a link at `new` whose target is the string `old` stored as is.
    /// An absolute target is `PERM` (wasmtime's policy); a relative one climbing out is
    /// stored, and following it later is `PERM`.
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
        let (dir, p) = self.guest_path(mem, fd, rights::PATH_SYMLINK, new_ptr, new_len)?;
        path::check_symlink_target(&target)?;
        fs::symlink_beneath(&target, dir, &p).map_err(Errno::from)
    }
}
