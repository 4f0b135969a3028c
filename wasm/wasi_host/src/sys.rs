//! The preview1 calls that reach the operating system, over libtheseus: files, directories,
//! clocks, randomness, yielding. Built only for the kernel's target.

use crate::ctx::{Entry, Kind};
use crate::types::{
    Filestat, clockid, fdflags, fdstat_bytes, filetype, lookupflags, oflags, pack_dirents, rights,
    whence,
};
use crate::{Errno, GuestMemory, WasiCtx, path};
use alloc::string::String;
use libtheseus::fs::{self, FileType, Metadata, OpenOptions, SeekFrom};
use libtheseus::time::{self, Clock};

pub(crate) fn sys(e: libtheseus::Errno) -> Errno {
    Errno::from_posix(e.raw())
}

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

fn filestat(m: &Metadata) -> Filestat {
    Filestat {
        dev: 1,
        ino: m.ino,
        filetype: ft(m.file_type),
        nlink: u64::from(m.nlink),
        size: m.size,
        atim: m.accessed_ns,
        mtim: m.modified_ns,
        ctim: m.created_ns,
    }
}

/// The target of `host` if it is a symbolic link.
pub(crate) fn readlink(host: &str) -> Option<String> {
    match fs::lstat(host) {
        Ok(m) if m.file_type == FileType::Symlink => fs::readlink(host).ok(),
        _ => None,
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

    /// Resolves a path argument read from guest memory.
    pub(crate) fn guest_path(
        &self,
        mem: &dyn GuestMemory,
        fd: u32,
        right: u64,
        ptr: u32,
        len: u32,
        follow: bool,
    ) -> Result<(String, String), Errno> {
        let p = mem.read_str(ptr, len)?;
        self.resolve(fd, right, &p, follow, &readlink)
    }

    // ---- streams -------------------------------------------------------------------------

    /// `fd_write`: gathers the `ciovec`s; returns the count written in `nwritten`.
    pub fn fd_write(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        n: u32,
        nwritten: u32,
    ) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_WRITE)?;
        let mut total: u32 = 0;
        for (buf, len) in mem.iovecs(iovs, n)? {
            let data = mem.slice(buf, len)?;
            let mut done = 0;
            while done < data.len() {
                match fs::write(h, &data[done..]) {
                    Ok(0) => break,
                    Ok(k) => done += k,
                    Err(e) if done == 0 && total == 0 => return Err(sys(e)),
                    Err(_) => break,
                }
            }
            total = total.saturating_add(done as u32);
            if done < data.len() {
                break;
            }
        }
        mem.write_u32(nwritten, total)
    }

    /// `fd_read`: scatters into the `iovec`s; stops at a short read.
    pub fn fd_read(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        n: u32,
        nread: u32,
    ) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_READ)?;
        let mut total: u32 = 0;
        for (buf, len) in mem.iovecs(iovs, n)? {
            let dst = mem.slice_mut(buf, len)?;
            let k = match fs::read(h, dst) {
                Ok(k) => k,
                Err(e) if total == 0 => return Err(sys(e)),
                Err(_) => break,
            };
            total = total.saturating_add(k as u32);
            if k < len as usize {
                break;
            }
        }
        mem.write_u32(nread, total)
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
        let at = fs::seek(h, pos).map_err(sys)?;
        mem.write_u64(out, at)
    }

    /// `fd_tell`.
    pub fn fd_tell(&mut self, mem: &mut dyn GuestMemory, fd: u32, out: u32) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_TELL)?;
        let at = fs::seek(h, SeekFrom::Current(0)).map_err(sys)?;
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
            Kind::File { fd: h } => (ft(fs::fstat(h).map_err(sys)?.file_type), e.flags),
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
            Kind::Stdio(h) | Kind::File { fd: h, .. } => fs::fstat(*h),
            Kind::Dir { root, rel, .. } => fs::stat(&path::join(root, rel)),
        }
        .map_err(sys)?;
        mem.write(out, &filestat(&m).to_bytes())
    }

    /// `fd_readdir`: entries after `cookie` packed into `buf_len` bytes (the last one cut);
    /// the count of bytes used goes to `used`. No `.`/`..` entries.
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
        let e = self.fds.get_mut(&fd).ok_or(Errno::BADF)?;
        if e.rights_base & rights::FD_READDIR == 0 {
            return Err(Errno::NOTCAPABLE);
        }
        let Kind::Dir {
            root, rel, fd: dfd, ..
        } = &mut e.kind
        else {
            return Err(Errno::NOTDIR);
        };
        let h = match dfd {
            Some(h) => *h,
            None => {
                let opts = OpenOptions::new().read(true).directory(true);
                let h = fs::open(&path::join(root, rel), &opts).map_err(sys)?;
                *dfd = Some(h);
                h
            }
        };
        let max = (buf_len as usize / 24).saturating_add(1).min(4096);
        let entries = fs::readdir(h, cookie, max).map_err(sys)?;
        let bytes = pack_dirents(
            entries
                .iter()
                .map(|d| (d.next, d.ino, d.name.as_str(), ft(d.file_type))),
            buf_len as usize,
        );
        mem.write(buf, &bytes)?;
        mem.write_u32(used, bytes.len() as u32)
    }

    // ---- paths ---------------------------------------------------------------------------

    /// `path_open` with `oflags` `creat`/`excl`/`trunc`/`directory` and `fdflags` `append`;
    /// the new descriptor goes to `out`. The last component is followed if it is a symbolic
    /// link only with `lookupflags::SYMLINK_FOLLOW` (otherwise a link there is `LOOP`).
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
        let (host, root) =
            self.guest_path(mem, dirfd, rights::PATH_OPEN, path_ptr, path_len, follow)?;
        let parent_inheriting = self.entry(dirfd)?.rights_inheriting;
        let oflags = oflags as u16;
        let fdflags = fdflags as u16;
        let existing = fs::lstat(&host).ok();
        if existing.is_some_and(|m| m.file_type == FileType::Symlink) {
            return Err(Errno::LOOP);
        }
        let is_dir = existing.is_some_and(|m| m.file_type == FileType::Directory);
        if oflags & oflags::DIRECTORY != 0 || (is_dir && oflags & oflags::CREAT == 0) {
            match existing {
                None => return Err(Errno::NOENT),
                Some(_) if !is_dir => return Err(Errno::NOTDIR),
                Some(_)
                    if oflags & (oflags::CREAT | oflags::EXCL) == oflags::CREAT | oflags::EXCL =>
                {
                    return Err(Errno::EXIST);
                }
                Some(_)
                    if rights_base & rights::FD_WRITE != 0 && oflags & oflags::DIRECTORY == 0 =>
                {
                    return Err(Errno::ISDIR);
                }
                Some(_) => {}
            }
            let rel = path::components_under(&root, &host).ok_or(Errno::NOTCAPABLE)?;
            let fd = self.insert(Entry {
                kind: Kind::Dir {
                    root,
                    rel,
                    preopen: None,
                    fd: None,
                },
                rights_base: rights_base & rights::DIRECTORY & parent_inheriting,
                rights_inheriting: rights_inheriting & parent_inheriting,
                flags: fdflags & fdflags::NONBLOCK,
            })?;
            return mem.write_u32(out, fd);
        }
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
        let h = fs::open(&host, &opts).map_err(sys)?;
        let nonblock = fdflags & fdflags::NONBLOCK != 0;
        if nonblock {
            let _ = fs::set_nonblocking(h, true);
        }
        let entry = Entry {
            kind: Kind::File { fd: h },
            rights_base: rights_base & rights::FILE & parent_inheriting,
            rights_inheriting: 0,
            flags: fdflags & (fdflags::APPEND | fdflags::NONBLOCK),
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
        let (host, root) =
            self.guest_path(mem, fd, rights::PATH_CREATE_DIRECTORY, ptr, len, false)?;
        not_root(&host, &root)?;
        fs::mkdir(&host, 0o755).map_err(sys)
    }

    /// `path_remove_directory`: an empty directory, never the preopen itself.
    pub fn path_remove_directory(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        ptr: u32,
        len: u32,
    ) -> Result<(), Errno> {
        let (host, root) =
            self.guest_path(mem, fd, rights::PATH_REMOVE_DIRECTORY, ptr, len, false)?;
        not_root(&host, &root)?;
        match fs::lstat(&host).map_err(sys)?.file_type {
            FileType::Directory => fs::rmdir(&host).map_err(sys),
            _ => Err(Errno::NOTDIR),
        }
    }

    /// `path_unlink_file`: a file or symbolic link (`ISDIR` for a directory).
    pub fn path_unlink_file(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        ptr: u32,
        len: u32,
    ) -> Result<(), Errno> {
        let (host, root) = self.guest_path(mem, fd, rights::PATH_UNLINK_FILE, ptr, len, false)?;
        not_root(&host, &root)?;
        match fs::lstat(&host).map_err(sys)?.file_type {
            FileType::Directory => Err(Errno::ISDIR),
            _ => fs::unlink(&host).map_err(sys),
        }
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
        let (host, _) = self.guest_path(mem, fd, rights::PATH_FILESTAT_GET, ptr, len, follow)?;
        let m = if follow {
            fs::stat(&host)
        } else {
            fs::lstat(&host)
        }
        .map_err(sys)?;
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

/// A path call on the preopen itself (`rmdir .`) is refused.
pub(crate) fn not_root(host: &str, root: &str) -> Result<(), Errno> {
    if host.trim_end_matches('/') == root.trim_end_matches('/') {
        Err(Errno::INVAL)
    } else {
        Ok(())
    }
}

pub(crate) fn close_entry(e: Entry) {
    match e.kind {
        Kind::File { fd, .. } | Kind::Dir { fd: Some(fd), .. } => {
            let _ = fs::close(fd);
        }
        // The task's stdio outlives the guest: give it back blocking.
        Kind::Stdio(h) if e.flags & fdflags::NONBLOCK != 0 => {
            let _ = fs::set_nonblocking(h, false);
        }
        Kind::Stdio(_) | Kind::Dir { fd: None, .. } => {}
    }
}

impl Drop for WasiCtx {
    fn drop(&mut self) {
        for (_, e) in core::mem::take(&mut self.fds) {
            close_entry(e);
        }
    }
}
