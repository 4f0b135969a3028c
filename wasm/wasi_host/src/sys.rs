//! The preview1 calls that reach the operating system, over libtheseus: files, directories,
//! clocks, randomness, yielding. Built only for the kernel's target.

use crate::ctx::{Entry, Kind};
use crate::types::{
    DirentPacker, Filestat, clockid, fdflags, fdstat_bytes, filetype, lookupflags, oflags, rights,
    whence,
};
use crate::{Errno, GuestMemory, WasiCtx, path};
use alloc::string::String;
use libtheseus::fs::{self, FileType, Metadata, OpenOptions, SeekFrom};
use libtheseus::iovec;
use libtheseus::time::{self, Clock};

fn ft(t: FileType) -> u8 {
    match t {
        FileType::File => filetype::REGULAR_FILE,
        FileType::Directory => filetype::DIRECTORY,
        FileType::Symlink => filetype::SYMBOLIC_LINK,
        FileType::Pipe => filetype::UNKNOWN,
        FileType::CharDevice => filetype::CHARACTER_DEVICE,
        FileType::Socket => filetype::SOCKET_STREAM,
    }
}

/// A WASI timestamp (unsigned nanoseconds since the Unix epoch) of a file time: a time before
/// 1970 shows as the epoch itself.
fn timestamp(ns: i64) -> u64 {
    u64::try_from(ns).unwrap_or(0)
}

fn filestat(m: &Metadata) -> Filestat {
    Filestat {
        dev: 1,
        ino: m.ino,
        filetype: ft(m.file_type),
        nlink: u64::from(m.nlink),
        size: m.size,
        atim: timestamp(m.accessed_ns),
        mtim: timestamp(m.modified_ns),
        ctim: timestamp(m.created_ns),
    }
}

impl WasiCtx {
    /// The libtheseus descriptor behind a stream or file descriptor (`BADF` for
    /// directories), after checking `right`.
    pub(crate) fn host_fd(&self, fd: u32, right: u64) -> Result<u32, Errno> {
        let e = self.entry(fd)?;
        if e.rights_base & right != right {
            return Err(Errno::NOTCAPABLE);
        }
        match e.kind {
            Kind::Stdio(h) | Kind::File { fd: h, .. } => Ok(h),
            Kind::Dir { .. } => Err(Errno::ISDIR),
        }
    }

    /// A path argument read from guest memory and the libtheseus descriptor of the directory
    /// it is relative to (checked for `right`); resolve it with the `fs::*_beneath` calls.
    pub(crate) fn guest_path(
        &self,
        mem: &dyn GuestMemory,
        fd: u32,
        right: u64,
        ptr: u32,
        len: u32,
    ) -> Result<(u32, String), Errno> {
        let p = mem.read_str(ptr, len)?;
        let dir = self.dir(fd, right)?;
        path::check(&p)?;
        Ok((dir, p))
    }

    // ---- streams -------------------------------------------------------------------------

    /// `fd_write`: gathers the `ciovec`s into one write (`libtheseus::iovec`); returns the
    /// count written in `nwritten`.
    pub fn fd_write(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        n: u32,
        nwritten: u32,
    ) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_WRITE)?;
        let vecs = mem.iovecs(iovs, n)?;
        let write = |data: &[u8]| fs::write(h, data).map_err(Errno::from);
        let total = iovec::write_vectored(&vecs, |p, dst| mem.read(p, dst), write)?;
        mem.write_u32(nwritten, total as u32)
    }

    /// `fd_read`: one read of the `iovec`s' total size, scattered (`libtheseus::iovec`).
    pub fn fd_read(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        n: u32,
        nread: u32,
    ) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_READ)?;
        let vecs = mem.iovecs(iovs, n)?;
        let read = |buf: &mut [u8]| fs::read(h, buf).map_err(Errno::from);
        let total = iovec::read_vectored(&vecs, read, |p, src| mem.write(p, src))?;
        mem.write_u32(nread, total as u32)
    }

    /// `fd_seek`: `whence` is `set`, `cur` or `end`; the new offset goes to `out`.
    pub fn fd_seek(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        offset: i64,
        wh: u32,
        out: u32,
    ) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_SEEK)?;
        let pos = match u8::try_from(wh).map_err(|_| Errno::INVAL)? {
            whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::INVAL)?),
            whence::CUR => SeekFrom::Current(offset),
            whence::END => SeekFrom::End(offset),
            _ => return Err(Errno::INVAL),
        };
        let at = fs::seek(h, pos).map_err(Errno::from)?;
        mem.write_u64(out, at)
    }

    /// `fd_tell`.
    pub fn fd_tell(&mut self, mem: &mut dyn GuestMemory, fd: u32, out: u32) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_TELL)?;
        let at = fs::seek(h, SeekFrom::Current(0)).map_err(Errno::from)?;
        mem.write_u64(out, at)
    }

    /// `fd_close`: closes what this context owns; stdio descriptors are only forgotten.
    pub fn fd_close(&mut self, fd: u32) -> Result<(), Errno> {
        let e = self.remove(fd).ok_or(Errno::BADF)?;
        close_entry(e);
        Ok(())
    }

    /// `fd_fdstat_get`.
    pub fn fd_fdstat_get(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        out: u32,
    ) -> Result<(), Errno> {
        let e = self.entry(fd)?;
        let (ty, flags) = match e.kind {
            Kind::Stdio(h) => (
                fs::fstat(h)
                    .map(|m| ft(m.file_type))
                    .unwrap_or(filetype::CHARACTER_DEVICE),
                e.flags,
            ),
            Kind::File { fd: h } => (ft(fs::fstat(h).map_err(Errno::from)?.file_type), e.flags),
            Kind::Dir { .. } => (filetype::DIRECTORY, e.flags),
        };
        mem.write(
            out,
            &fdstat_bytes(ty, flags, e.rights_base, e.rights_inheriting),
        )
    }

    /// `fd_filestat_get`.
    pub fn fd_filestat_get(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        out: u32,
    ) -> Result<(), Errno> {
        let m = match &self.entry(fd)?.kind {
            Kind::Stdio(h) | Kind::File { fd: h, .. } | Kind::Dir { fd: h, .. } => fs::fstat(*h),
        }
        .map_err(Errno::from)?;
        mem.write(out, &filestat(&m).to_bytes())
    }

    /// `fd_readdir`: `.` and `..` (cookies 0 and 1), then the directory's entries (the VFS's
    /// cookies plus 2) after `cookie`, packed into `buf_len` bytes (the last one cut); the
    /// count of bytes used goes to `used`. `.` and `..` carry the directory's own inode.
    pub fn fd_readdir(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        buf: u32,
        buf_len: u32,
        cookie: u64,
        used: u32,
    ) -> Result<(), Errno> {
        mem.slice(buf, buf_len)?;
        let h = self.dir(fd, rights::FD_READDIR)?;
        let ino = fs::fstat(h).map_err(Errno::from)?.ino;
        let dots = [
            (1, ino, ".", filetype::DIRECTORY),
            (2, ino, "..", filetype::DIRECTORY),
        ];
        let skip = usize::try_from(cookie.min(2)).unwrap_or(2);
        let mut packer = DirentPacker::new(buf_len as usize);
        let room = dots
            .into_iter()
            .skip(skip)
            .all(|(next, ino, name, t)| packer.push(next, ino, name, t));
        if room {
            fs::readdir_each(h, cookie.saturating_sub(2), |d| {
                packer.push(d.next + 2, d.ino, d.name, ft(d.file_type))
            })
            .map_err(Errno::from)?;
        }
        let bytes = packer.finish();
        mem.write(buf, &bytes)?;
        mem.write_u32(used, bytes.len() as u32)
    }

    // ---- paths ---------------------------------------------------------------------------

    /// `path_open` with `oflags` `creat`/`excl`/`trunc`/`directory` and `fdflags` `append`,
    /// `nonblock` (the sync flags are `NOTSUP`, as in wasmtime); the new descriptor goes to
    /// `out`. The last component is followed if it is a symbolic link only with
    /// `lookupflags::SYMLINK_FOLLOW` (otherwise a link there is `LOOP`). `trunc` needs the
    /// directory's `PATH_FILESTAT_SET_SIZE` right; `directory` with `FD_WRITE` is `ISDIR`.
    #[allow(clippy::too_many_arguments)]
    pub fn path_open(
        &mut self,
        mem: &mut dyn GuestMemory,
        dirfd: u32,
        dirflags: u32,
        path_ptr: u32,
        path_len: u32,
        oflags: u32,
        rights_base: u64,
        rights_inheriting: u64,
        fdflags: u32,
        out: u32,
    ) -> Result<(), Errno> {
        mem.slice(out, 4)?;
        let follow = dirflags & lookupflags::SYMLINK_FOLLOW != 0;
        let (dir, p) = self.guest_path(mem, dirfd, rights::PATH_OPEN, path_ptr, path_len)?;
        let parent = self.entry(dirfd)?;
        let (parent_base, parent_inheriting) = (parent.rights_base, parent.rights_inheriting);
        let oflags = oflags as u16;
        let fdflags = fdflags as u16;
        if fdflags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
            return Err(Errno::NOTSUP);
        }
        if oflags & oflags::TRUNC != 0 && parent_base & rights::PATH_FILESTAT_SET_SIZE == 0 {
            return Err(Errno::NOTCAPABLE);
        }
        let h = if oflags & oflags::DIRECTORY != 0 {
            if rights_base & rights::FD_WRITE != 0 {
                return Err(Errno::ISDIR);
            }
            let opts = OpenOptions::new().read(true).directory(true);
            let h = fs::open_beneath(dir, &p, &opts, follow).map_err(Errno::from)?;
            if oflags & (oflags::CREAT | oflags::EXCL) == oflags::CREAT | oflags::EXCL {
                let _ = fs::close(h);
                return Err(Errno::EXIST);
            }
            h
        } else {
            let append = fdflags & fdflags::APPEND != 0;
            let write = rights_base
                & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE)
                != 0
                || append
                || oflags & oflags::TRUNC != 0;
            let read = rights_base & (rights::FD_READ | rights::FD_READDIR) != 0 || !write;
            let opts = OpenOptions::new()
                .read(read)
                .write(write)
                .append(append)
                .create(oflags & oflags::CREAT != 0)
                .exclusive(oflags & oflags::EXCL != 0)
                .truncate(oflags & oflags::TRUNC != 0);
            fs::open_beneath(dir, &p, &opts, follow).map_err(Errno::from)?
        };
        let is_dir = fs::fstat(h).is_ok_and(|m| m.file_type == FileType::Directory);
        let entry = if is_dir {
            Entry {
                kind: Kind::Dir {
                    fd: h,
                    preopen: None,
                },
                rights_base: rights_base & rights::DIRECTORY & parent_inheriting,
                rights_inheriting: rights_inheriting & parent_inheriting,
                flags: fdflags & fdflags::NONBLOCK,
            }
        } else {
            if fdflags & fdflags::NONBLOCK != 0 {
                let _ = fs::set_nonblocking(h, true);
            }
            Entry {
                kind: Kind::File { fd: h },
                rights_base: rights_base & rights::FILE & parent_inheriting,
                rights_inheriting: 0,
                flags: fdflags & (fdflags::APPEND | fdflags::NONBLOCK),
            }
        };
        match self.insert(entry) {
            Ok(fd) => mem.write_u32(out, fd),
            Err(e) => {
                let _ = fs::close(h);
                Err(e)
            }
        }
    }

    /// `path_create_directory`.
    pub fn path_create_directory(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        ptr: u32,
        len: u32,
    ) -> Result<(), Errno> {
        let (dir, p) = self.guest_path(mem, fd, rights::PATH_CREATE_DIRECTORY, ptr, len)?;
        fs::mkdir_beneath(dir, &p, 0o755).map_err(Errno::from)
    }

    /// `path_remove_directory`: an empty directory, never the descriptor's own (`INVAL`).
    pub fn path_remove_directory(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        ptr: u32,
        len: u32,
    ) -> Result<(), Errno> {
        let (dir, p) = self.guest_path(mem, fd, rights::PATH_REMOVE_DIRECTORY, ptr, len)?;
        fs::rmdir_beneath(dir, &p).map_err(Errno::from)
    }

    /// `path_unlink_file`: a file or symbolic link (`ISDIR` for a directory, `NOTDIR` for a
    /// file named with a trailing slash).
    pub fn path_unlink_file(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        ptr: u32,
        len: u32,
    ) -> Result<(), Errno> {
        let (dir, p) = self.guest_path(mem, fd, rights::PATH_UNLINK_FILE, ptr, len)?;
        fs::unlink_beneath(dir, &p).map_err(Errno::from)
    }

    /// `path_filestat_get`.
    pub fn path_filestat_get(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        flags: u32,
        ptr: u32,
        len: u32,
        out: u32,
    ) -> Result<(), Errno> {
        let follow = flags & lookupflags::SYMLINK_FOLLOW != 0;
        let (dir, p) = self.guest_path(mem, fd, rights::PATH_FILESTAT_GET, ptr, len)?;
        let m = fs::stat_beneath(dir, &p, follow).map_err(Errno::from)?;
        mem.write(out, &filestat(&m).to_bytes())
    }

    // ---- clocks, randomness, scheduling ---------------------------------------------------

    /// `clock_res_get`: realtime and monotonic; CPU-time clocks are `NOTSUP` for now.
    pub fn clock_res_get(
        &mut self,
        mem: &mut dyn GuestMemory,
        id: u32,
        out: u32,
    ) -> Result<(), Errno> {
        let res = time::resolution(clock(id)?).as_ns();
        mem.write_u64(out, res)
    }

    /// `clock_time_get` (the precision argument is ignored).
    pub fn clock_time_get(
        &mut self,
        mem: &mut dyn GuestMemory,
        id: u32,
        _precision: u64,
        out: u32,
    ) -> Result<(), Errno> {
        let now = match clock(id)? {
            Clock::Monotonic => time::monotonic_ns(),
            Clock::Realtime => time::realtime_ns(),
        };
        mem.write_u64(out, now)
    }

    /// `random_get`.
    pub fn random_get(
        &mut self,
        mem: &mut dyn GuestMemory,
        buf: u32,
        len: u32,
    ) -> Result<(), Errno> {
        libtheseus::random::fill(mem.slice_mut(buf, len)?);
        Ok(())
    }

    /// `sched_yield`.
    pub fn sched_yield(&mut self) -> Result<(), Errno> {
        libtheseus::thread::yield_now();
        Ok(())
    }
}

pub(crate) fn clock(id: u32) -> Result<Clock, Errno> {
    match id {
        clockid::REALTIME => Ok(Clock::Realtime),
        clockid::MONOTONIC => Ok(Clock::Monotonic),
        clockid::PROCESS_CPUTIME_ID | clockid::THREAD_CPUTIME_ID => Err(Errno::NOTSUP),
        _ => Err(Errno::INVAL),
    }
}

pub(crate) fn close_entry(e: Entry) {
    match e.kind {
        Kind::File { fd, .. } | Kind::Dir { fd, .. } => {
            let _ = fs::close(fd);
        }
        // The task's stdio outlives the guest: give it back blocking.
        Kind::Stdio(h) if e.flags & fdflags::NONBLOCK != 0 => {
            let _ = fs::set_nonblocking(h, false);
        }
        Kind::Stdio(_) => {}
    }
}

impl Drop for WasiCtx {
    fn drop(&mut self) {
        for (_, e) in core::mem::take(&mut self.fds) {
            close_entry(e);
        }
    }
}
