//! Descriptor calls over libtheseus beyond reading and writing: advice, allocation, sync,
//! flags, rights, size, times, positional I/O, renumbering; and the calls with no object
//! behind them here (`proc_raise`, sockets). Built only for the kernel's target.

use crate::ctx::Kind;
use crate::sys::close_entry;
use crate::types::{ADVICE_MAX, SIGNAL_MAX, fdflags, rights, set_times_args};
use crate::{Errno, GuestMemory, WasiCtx};
use libtheseus::fs::{self, FileType};
use libtheseus::iovec;

impl WasiCtx {
    /// Checks that `fd` is open and has `right`.
    fn check(&self, fd: u32, right: u64) -> Result<&crate::ctx::Entry, Errno> {
        let e = self.entry(fd)?;
        if e.rights_base & right != right {
            return Err(Errno::NOTCAPABLE);
        }
        Ok(e)
    }

    /// The libtheseus descriptor of a seekable guest descriptor: `SPIPE` for stdio, pipes
    /// and devices (checked before the `FD_SEEK` right, which stdio never has).
    fn seekable_fd(&self, fd: u32, right: u64) -> Result<u32, Errno> {
        let h = self.host_fd(fd, right)?;
        if matches!(self.entry(fd)?.kind, Kind::Stdio(_))
            || fs::fstat(h).map_err(Errno::from)?.file_type != FileType::File
        {
            return Err(Errno::SPIPE);
        }
        self.check(fd, rights::FD_SEEK)?;
        Ok(h)
    }

    /// `fd_advise`: the advice is validated (`INVAL` above `noreuse`) and otherwise ignored
    /// (a hint; the files are in memory).
    pub fn fd_advise(
        &mut self,
        fd: u32,
        _offset: u64,
        _len: u64,
        advice: u32,
    ) -> Result<(), Errno> {
        let e = self.check(fd, rights::FD_ADVISE)?;
        if advice > ADVICE_MAX {
            return Err(Errno::INVAL);
        }
        match e.kind {
            Kind::Stdio(h) | Kind::File { fd: h } => {
                if fs::fstat(h).map_err(Errno::from)?.file_type == FileType::Pipe {
                    return Err(Errno::SPIPE);
                }
                Ok(())
            }
            Kind::Dir { .. } => Ok(()),
        }
    }

    /// `fd_allocate`: makes the file at least `offset + len` bytes long (zero-filled).
    pub fn fd_allocate(&mut self, fd: u32, offset: u64, len: u64) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_ALLOCATE)?;
        let m = fs::fstat(h).map_err(Errno::from)?;
        match m.file_type {
            FileType::File => {}
            FileType::Pipe => return Err(Errno::SPIPE),
            _ => return Err(Errno::NODEV),
        }
        if len == 0 {
            return Err(Errno::INVAL);
        }
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or(Errno::FBIG)?;
        if m.size < end {
            fs::ftruncate(h, end).map_err(|e| match Errno::from(e) {
                Errno::ACCES => Errno::BADF,
                e => e,
            })?;
        }
        Ok(())
    }

    /// `fd_datasync`: the files are in memory, so there is nothing to write back.
    pub fn fd_datasync(&mut self, fd: u32) -> Result<(), Errno> {
        self.check(fd, rights::FD_DATASYNC).map(|_| ())
    }

    /// `fd_sync`: as `fd_datasync`.
    pub fn fd_sync(&mut self, fd: u32) -> Result<(), Errno> {
        self.check(fd, rights::FD_SYNC).map(|_| ())
    }

    /// `fd_fdstat_set_flags`: `APPEND` and `NONBLOCK` (set on the open file; on stdio,
    /// `NONBLOCK` is cleared again when the guest's descriptor goes). The sync flags are
    /// `NOTSUP`, unknown bits `INVAL`; a directory takes only `NONBLOCK` (no effect).
    pub fn fd_fdstat_set_flags(&mut self, fd: u32, flags: u32) -> Result<(), Errno> {
        let known = u32::from(
            fdflags::APPEND | fdflags::DSYNC | fdflags::NONBLOCK | fdflags::RSYNC | fdflags::SYNC,
        );
        if flags & !known != 0 {
            return Err(Errno::INVAL);
        }
        let flags = flags as u16;
        if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
            return Err(Errno::NOTSUP);
        }
        let e = self.check(fd, rights::FD_FDSTAT_SET_FLAGS)?;
        match e.kind {
            Kind::Stdio(h) | Kind::File { fd: h } => {
                fs::set_append(h, flags & fdflags::APPEND != 0).map_err(Errno::from)?;
                fs::set_nonblocking(h, flags & fdflags::NONBLOCK != 0).map_err(Errno::from)?;
            }
            Kind::Dir { .. } if flags & fdflags::APPEND != 0 => return Err(Errno::ISDIR),
            Kind::Dir { .. } => {}
        }
        if let Some(e) = self.fds.get_mut(&fd) {
            e.flags = flags;
        }
        Ok(())
    }

    /// `fd_fdstat_set_rights`: rights can only be dropped (`NOTCAPABLE` to add one).
    pub fn fd_fdstat_set_rights(
        &mut self,
        fd: u32,
        base: u64,
        inheriting: u64,
    ) -> Result<(), Errno> {
        let e = self.fds.get_mut(&fd).ok_or(Errno::BADF)?;
        if base & !e.rights_base != 0 || inheriting & !e.rights_inheriting != 0 {
            return Err(Errno::NOTCAPABLE);
        }
        e.rights_base = base;
        e.rights_inheriting = inheriting;
        Ok(())
    }

    /// `fd_filestat_set_size`: truncates or zero-extends a regular file.
    pub fn fd_filestat_set_size(&mut self, fd: u32, size: u64) -> Result<(), Errno> {
        let h = self.host_fd(fd, rights::FD_FILESTAT_SET_SIZE)?;
        if size > i64::MAX as u64 {
            return Err(Errno::FBIG);
        }
        fs::ftruncate(h, size).map_err(|e| match Errno::from(e) {
            Errno::ACCES => Errno::BADF,
            e => e,
        })
    }

    /// `fd_filestat_set_times` (`fstflags` `ATIM`, `ATIM_NOW`, `MTIM`, `MTIM_NOW`). Pipes
    /// and the console have no stored times: `NOTSUP`.
    pub fn fd_filestat_set_times(
        &mut self,
        fd: u32,
        atim: u64,
        mtim: u64,
        flags: u32,
    ) -> Result<(), Errno> {
        let e = self.check(fd, rights::FD_FILESTAT_SET_TIMES)?;
        let (a, m) = set_times_args(atim, mtim, flags, fs::now())?;
        match &e.kind {
            Kind::Stdio(h) | Kind::File { fd: h } | Kind::Dir { fd: h, .. } => {
                fs::set_times_fd(*h, a, m)
            }
        }
        .map_err(Errno::from)
    }

    /// `fd_pread`: reads at `offset` into the `iovec`s without moving the offset.
    pub fn fd_pread(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        n: u32,
        offset: u64,
        nread: u32,
    ) -> Result<(), Errno> {
        let h = self.seekable_fd(fd, rights::FD_READ)?;
        if offset > i64::MAX as u64 {
            return Err(Errno::INVAL);
        }
        mem.slice(nread, 4)?;
        let vecs = mem.iovecs(iovs, n)?;
        let read = |buf: &mut [u8]| fs::pread(h, buf, offset).map_err(Errno::from);
        let total = iovec::read_vectored(&vecs, read, |p, src| mem.write(p, src))?;
        mem.write_u32(nread, total as u32)
    }

    /// `fd_pwrite`: writes the `ciovec`s at `offset` without moving the offset (also on an
    /// `APPEND` descriptor, where the data goes at `offset`, not at the end).
    pub fn fd_pwrite(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        n: u32,
        offset: u64,
        nwritten: u32,
    ) -> Result<(), Errno> {
        let h = self.seekable_fd(fd, rights::FD_WRITE)?;
        if offset > i64::MAX as u64 {
            return Err(Errno::INVAL);
        }
        mem.slice(nwritten, 4)?;
        let vecs = mem.iovecs(iovs, n)?;
        let write = |data: &[u8]| fs::pwrite(h, data, offset).map_err(Errno::from);
        let total = iovec::write_vectored(&vecs, |p, dst| mem.read(p, dst), write)?;
        mem.write_u32(nwritten, total as u32)
    }

    /// `fd_renumber`: moves descriptor `from` to `to`, closing what `to` was (`BADF` unless
    /// both are open).
    pub fn fd_renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        if !self.fds.contains_key(&from) || !self.fds.contains_key(&to) {
            return Err(Errno::BADF);
        }
        if from == to {
            return Ok(());
        }
        let e = self.remove(from).ok_or(Errno::BADF)?;
        if let Some(old) = self.fds.insert(to, e) {
            close_entry(old);
        }
        Ok(())
    }

    /// `proc_raise`: there are no signal handlers in a WASI guest and this host does not
    /// deliver signals: `NOTSUP` for a valid signal, success for 0 (`none`), `INVAL` above
    /// `sigsys`. (wasi-libc's `abort` traps with `unreachable` instead.)
    pub fn proc_raise(&mut self, sig: u32) -> Result<(), Errno> {
        match sig {
            0 => Ok(()),
            s if s <= SIGNAL_MAX => Err(Errno::NOTSUP),
            _ => Err(Errno::INVAL),
        }
    }

    /// `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`: no socket can be open here,
    /// so an open descriptor is `NOTSOCK` and another `BADF`.
    fn sock_call(&mut self, fd: u32) -> Result<(), Errno> {
        self.entry(fd)?;
        Err(Errno::NOTSOCK)
    }

    /// `sock_accept`: see `sock_call`.
    pub fn sock_accept(&mut self, fd: u32, _flags: u32, _out: u32) -> Result<(), Errno> {
        self.sock_call(fd)
    }

    /// `sock_recv`: see `sock_call`.
    pub fn sock_recv(
        &mut self,
        fd: u32,
        _: u32,
        _: u32,
        _: u32,
        _: u32,
        _: u32,
    ) -> Result<(), Errno> {
        self.sock_call(fd)
    }

    /// `sock_send`: see `sock_call`.
    pub fn sock_send(&mut self, fd: u32, _: u32, _: u32, _: u32, _: u32) -> Result<(), Errno> {
        self.sock_call(fd)
    }

    /// `sock_shutdown`: see `sock_call`.
    pub fn sock_shutdown(&mut self, fd: u32, _how: u32) -> Result<(), Errno> {
        self.sock_call(fd)
    }
}
