//! Per-task file state: the descriptor table and the working directory.

use crate::file::{File, Result};
use crate::{Console, VfsError};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;

/// A file descriptor number.
pub type Fd = u32;

/// Most descriptors a table holds (`RLIMIT_NOFILE`).
pub const MAX_FDS: usize = 1024;

/// Descriptor numbers to open file descriptions. New descriptors take the lowest free number.
#[derive(Clone, Default)]
pub struct FdTable {
    slots: Vec<Option<Arc<dyn File>>>,
}

impl FdTable {
    pub fn new() -> FdTable {
        FdTable { slots: Vec::new() }
    }

    /// The open file behind `fd`.
    pub fn get(&self, fd: Fd) -> Result<Arc<dyn File>> {
        self.slots
            .get(fd as usize)
            .and_then(Clone::clone)
            .ok_or(VfsError::BadFileDescriptor)
    }

    /// Installs `file` at the lowest free descriptor.
    pub fn insert(&mut self, file: Arc<dyn File>) -> Result<Fd> {
        let fd = match self.slots.iter().position(Option::is_none) {
            Some(fd) => fd,
            None if self.slots.len() < MAX_FDS => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(VfsError::TooManyOpenFiles),
        };
        self.slots[fd] = Some(file);
        Ok(fd as Fd)
    }

    /// Puts `file` at `fd`, returning what was there (the caller drops it outside any lock).
    pub fn insert_at(&mut self, fd: Fd, file: Arc<dyn File>) -> Result<Option<Arc<dyn File>>> {
        let i = fd as usize;
        if i >= MAX_FDS {
            return Err(VfsError::BadFileDescriptor);
        }
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        Ok(self.slots[i].replace(file))
    }

    /// Removes `fd`, returning its file (the caller drops it outside any lock).
    pub fn remove(&mut self, fd: Fd) -> Result<Arc<dyn File>> {
        let file = self
            .slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(VfsError::BadFileDescriptor)?;
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        Ok(file)
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The open descriptor numbers, ascending.
    pub fn fds(&self) -> Vec<Fd> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].is_some())
            .map(|i| i as Fd)
            .collect()
    }
}

/// What a task shares with its threads: open descriptors and the working directory.
///
/// Attached to a task with `task::set_context`; tasks spawned afterwards inherit the same
/// `Arc` (threads). To give a task its own table, build one with [`ProcessContext::new_child`]
/// or [`ProcessContext::fork`] and spawn with [`crate::spawn_with_context`].
pub struct ProcessContext {
    fds: Mutex<FdTable>,
    cwd: Mutex<String>,
}

impl ProcessContext {
    /// A context with the given stdin, stdout and stderr (fds 0, 1, 2) and `cwd` (absolute).
    pub fn new(
        stdin: Arc<dyn File>,
        stdout: Arc<dyn File>,
        stderr: Arc<dyn File>,
        cwd: &str,
    ) -> Arc<ProcessContext> {
        let mut fds = FdTable::new();
        for f in [stdin, stdout, stderr] {
            let _ = fds.insert(f);
        }
        Arc::new(ProcessContext {
            fds: Mutex::new(fds),
            cwd: Mutex::new(cwd.into()),
        })
    }

    /// A context whose fds 0, 1 and 2 are the console and whose cwd is `/`.
    pub fn with_console() -> Arc<ProcessContext> {
        let console: Arc<dyn File> = Arc::new(Console::new());
        Self::new(console.clone(), console.clone(), console, "/")
    }

    /// A context for a new task: this one's cwd, and only the given stdio as fds 0, 1, 2
    /// (other descriptors are not inherited, as if close-on-exec).
    pub fn new_child(
        &self,
        stdin: Arc<dyn File>,
        stdout: Arc<dyn File>,
        stderr: Arc<dyn File>,
    ) -> Arc<ProcessContext> {
        Self::new(stdin, stdout, stderr, &self.cwd())
    }

    /// A copy of this context (every descriptor, sharing the open files, and the cwd), like
    /// `fork`.
    pub fn fork(&self) -> Arc<ProcessContext> {
        Arc::new(ProcessContext {
            fds: Mutex::new(self.fds.lock().clone()),
            cwd: Mutex::new(self.cwd()),
        })
    }

    /// The working directory.
    pub fn cwd(&self) -> String {
        self.cwd.lock().clone()
    }

    pub(crate) fn set_cwd(&self, cwd: String) {
        *self.cwd.lock() = cwd;
    }

    /// The open file behind `fd`.
    pub fn file(&self, fd: Fd) -> Result<Arc<dyn File>> {
        self.fds.lock().get(fd)
    }

    /// Runs `f` on the descriptor table. Do not block or drop files inside `f`.
    pub fn with_fds<R>(&self, f: impl FnOnce(&mut FdTable) -> R) -> R {
        f(&mut self.fds.lock())
    }

    /// Installs `file` at the lowest free descriptor.
    pub fn install(&self, file: Arc<dyn File>) -> Result<Fd> {
        self.fds.lock().insert(file)
    }

    /// Closes `fd`.
    pub fn close(&self, fd: Fd) -> Result<()> {
        let file = self.fds.lock().remove(fd)?;
        drop(file); // outside the lock: a pipe end wakes its peers
        Ok(())
    }

    /// Duplicates `fd` onto the lowest free descriptor.
    pub fn dup(&self, fd: Fd) -> Result<Fd> {
        let mut fds = self.fds.lock();
        let file = fds.get(fd)?;
        fds.insert(file)
    }

    /// Makes `new` refer to the file of `old`, closing what `new` referred to.
    pub fn dup2(&self, old: Fd, new: Fd) -> Result<Fd> {
        let replaced = {
            let mut fds = self.fds.lock();
            let file = fds.get(old)?;
            if old == new {
                return Ok(new);
            }
            fds.insert_at(new, file)?
        };
        drop(replaced);
        Ok(new)
    }
}
