//! Process descriptors (Linux `pidfd_open(2)`): a descriptor that refers to one process and
//! becomes readable when the process ends, so a program can wait for a child in `poll` or
//! `epoll` next to its other descriptors (tokio's process reaper does).
//!
//! The descriptor holds the process's main task (a process is the tasks sharing a
//! `vfs::ProcessContext`; its id is its main task's), so it still refers to a process that
//! ended. An ended task leaves the task registry, so a child that ended and was not waited for
//! is found through its parent's handle ([`open_child`]). Readiness follows task ends: the kernel calls
//! `vfs::readiness::changed` after each one (`task::set_end_observer`). The process id behind a
//! descriptor is found through its open file description, as epoll instances are.

use crate::fs::{self, Fd};
use crate::{Errno, Result};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;
use vfs::{File, FileKind, Stat};

/// Open process descriptors: open file description -> process id.
static PIDS: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());

struct PidFd {
    task: Arc<task::Task>,
    nonblocking: AtomicBool,
    ino: u64,
    created: i64,
}

impl Drop for PidFd {
    fn drop(&mut self) {
        let me = self as *const PidFd as usize as u64;
        PIDS.lock().remove(&me);
    }
}

impl File for PidFd {
    fn kind(&self) -> FileKind {
        // Linux reports an anonymous inode; a character device is the closest kind here.
        FileKind::CharDevice
    }

    fn status(&self) -> vfs::OpenStatus {
        vfs::OpenStatus {
            nonblocking: self.nonblocking.load(Ordering::Relaxed),
            ..vfs::OpenStatus::READ_WRITE
        }
    }

    /// Nothing to read or write: a process descriptor is for waiting and signalling.
    fn read(&self, _buf: &mut [u8]) -> vfs::Result<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _buf: &[u8]) -> vfs::Result<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> vfs::Result<Stat> {
        Ok(Stat::anonymous(
            FileKind::CharDevice,
            0,
            self.ino,
            self.created,
        ))
    }

    /// Readable once the process has ended.
    fn poll_readable(&self) -> bool {
        self.task.exit_value().is_some()
    }

    fn poll_writable(&self) -> bool {
        false
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}

/// A process descriptor for the live process `pid`, on the lowest free descriptor. `ESRCH`
/// if no such process runs (for a child that ended, see [`open_child`]), `EINVAL` if `pid` is
/// a thread of a process but not its main one.
pub fn open(pid: u64, nonblocking: bool) -> Result<Fd> {
    let task = task::lookup(pid)
        .filter(|t| t.exit_value().is_none())
        .ok_or(Errno::ESRCH)?;
    let process = task::context_of::<vfs::ProcessContext>(pid)
        .map(|c| c.pid())
        .filter(|&p| p != 0)
        .unwrap_or(pid);
    if process != pid {
        return Err(Errno::EINVAL);
    }
    install(pid, task, nonblocking)
}

/// A process descriptor for a child process, by the handle its parent keeps until it waits
/// for it: the child may have ended already (the descriptor is then readable at once).
pub fn open_child(child: &crate::thread::JoinHandle, nonblocking: bool) -> Result<Fd> {
    install(child.id().as_u64(), child.task().clone(), nonblocking)
}

fn install(pid: u64, task: Arc<task::Task>, nonblocking: bool) -> Result<Fd> {
    // Inode numbers of process descriptors: above those of eventfds.
    static NEXT_INO: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(4 << 48);
    let file = Arc::new(PidFd {
        task,
        nonblocking: AtomicBool::new(nonblocking),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        created: vfs::now(),
    });
    let key = Arc::as_ptr(&file) as usize as u64;
    PIDS.lock().insert(key, pid);
    vfs::install(file)
}

/// The process id a process descriptor refers to; `EBADF` if `fd` is not one.
pub fn pid_of(fd: Fd) -> Result<u64> {
    let key = fs::description_id(fd)?;
    PIDS.lock().get(&key).copied().ok_or(Errno::EBADF)
}
