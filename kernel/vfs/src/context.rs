//! Per-task file state: the descriptor table and the working directory.

use crate::file::{File, Result};
use crate::{Console, Errno};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::TypeId;
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
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor.
    pub fn insert(&mut self, file: Arc<dyn File>) -> Result<Fd> {
        self.insert_from(0, file)
    }

    /// Installs `file` at the lowest free descriptor at or above `min` (`fcntl(F_DUPFD)`):
    /// `EINVAL` if `min` is past the table's limit, `EMFILE` if nothing is free from it.
    pub fn insert_from(&mut self, min: Fd, file: Arc<dyn File>) -> Result<Fd> {
        let min = min as usize;
        if min >= MAX_FDS {
            return Err(Errno::EINVAL);
        }
        let free = self.slots.iter().skip(min).position(Option::is_none);
        let fd = match free {
            Some(i) => min + i,
            None if self.slots.len().max(min) < MAX_FDS => {
                let fd = self.slots.len().max(min);
                self.slots.resize(fd + 1, None);
                fd
            }
            None => return Err(Errno::EMFILE),
        };
        self.slots[fd] = Some(file);
        Ok(fd as Fd)
    }

    /// Puts `file` at `fd`, returning what was there (the caller drops it outside any lock).
    pub fn insert_at(&mut self, fd: Fd, file: Arc<dyn File>) -> Result<Option<Arc<dyn File>>> {
        let i = fd as usize;
        if i >= MAX_FDS {
            return Err(Errno::EBADF);
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
            .ok_or(Errno::EBADF)?;
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

/// What a task shares with its threads: open descriptors, the working directory, the
/// command-line arguments and the environment variables.
///
/// Attached to a task with `task::set_context`; tasks spawned afterwards inherit the same
/// `Arc` (threads). To give a task its own table, build one with [`ProcessContext::new_child`]
/// or [`ProcessContext::fork`] and spawn with [`crate::spawn_with_context`]. Both copy the
/// environment (a child process inherits it); `fork` copies the arguments too.
pub struct ProcessContext {
    fds: Mutex<FdTable>,
    cwd: Mutex<String>,
    args: Mutex<Vec<String>>,
    /// The auxiliary vector the program was started with, as `(key, value)` words ending with
    /// `AT_NULL` (`prctl(PR_GET_AUXV)`, `/proc/self/auxv`); empty for no program.
    auxv: Mutex<Vec<u64>>,
    /// The absolute path of the program the process runs (`/proc/self/exe`), if any.
    exe: Mutex<Option<String>>,
    /// `(name, value)` pairs in insertion order, names unique.
    env: Mutex<Vec<(String, String)>>,
    /// What the process's code needs while any of its tasks runs (a loaded program image):
    /// freed with the context, when the last task of the process ends, however it ends. Each
    /// with its type's id, so that a lookup (every system call makes one) compares ids
    /// instead of asking each resource its type through a virtual call.
    resources: Mutex<Vec<Resource>>,
    /// The job (process group) the process belongs to for terminal job control, 0 for none
    /// (see [`crate::set_console_foreground`]). Children and forks inherit it.
    job: core::sync::atomic::AtomicU64,
    /// The process id: the id of the first task the context was attached to (its main task),
    /// 0 until then. Threads share it (they share the context).
    pid: core::sync::atomic::AtomicU64,
    /// The id of the process whose task made this context, 0 if none did (a task's own
    /// console context, made on its first file call).
    parent: u64,
    /// What its `read`/`write` calls moved (`/proc/PID/io`).
    io: crate::io_accounting::IoCounters,
    /// CPU time (all, user mode) of the process's tasks that ended ([`charge_ending_task`]).
    ended_times: (core::sync::atomic::AtomicU64, core::sync::atomic::AtomicU64),
}

/// A resource a [`ProcessContext`] keeps alive, with the id of its type.
type Resource = (TypeId, Box<dyn core::any::Any + Send + Sync>);

/// The first resource of type `R` in `resources`.
fn find<R: core::any::Any>(resources: &[Resource]) -> Option<&R> {
    let (_, found) = resources.iter().find(|(id, _)| *id == TypeId::of::<R>())?;
    found.downcast_ref::<R>()
}

/// Adds the running task's CPU time to its process's [`ProcessContext::ended_times`]: the
/// kernel calls it as each task ends (`task::set_ending_observer`), so a process's time
/// keeps its ended threads', as Linux's does.
pub fn charge_ending_task() {
    if let Some(context) = task::context::<ProcessContext>() {
        let me = task::current();
        let (cpu, user) = &context.ended_times;
        cpu.fetch_add(me.cpu_ns(), core::sync::atomic::Ordering::Relaxed);
        user.fetch_add(me.user_ns(), core::sync::atomic::Ordering::Relaxed);
    }
}

/// The id of the running task's process: its context's, or the task's own if it has none
/// (0 before the scheduler runs).
fn caller_pid() -> u64 {
    let me = task::current_id();
    if me == 0 {
        return 0;
    }
    task::context::<ProcessContext>()
        .map(|c| c.pid())
        .filter(|&p| p != 0)
        .unwrap_or(me)
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
            args: Mutex::new(Vec::new()),
            auxv: Mutex::new(Vec::new()),
            exe: Mutex::new(None),
            env: Mutex::new(Vec::new()),
            resources: Mutex::new(Vec::new()),
            job: core::sync::atomic::AtomicU64::new(0),
            pid: core::sync::atomic::AtomicU64::new(0),
            io: Default::default(),
            ended_times: Default::default(),
            parent: caller_pid(),
        })
    }

    /// A context whose fds 0, 1 and 2 are the console and whose cwd is `/`, made by no other
    /// process (the running task's own, see [`crate::current_context`]).
    pub fn with_console() -> Arc<ProcessContext> {
        let console: Arc<dyn File> = Arc::new(Console::new());
        let mut ctx = Self::new(console.clone(), console.clone(), console, "/");
        Arc::get_mut(&mut ctx)
            .expect("a new context has one owner")
            .parent = 0;
        ctx
    }

    /// A context for a new task: this one's cwd and environment (no arguments), and only the
    /// given stdio as fds 0, 1, 2 (other descriptors are not inherited, as if close-on-exec).
    pub fn new_child(
        &self,
        stdin: Arc<dyn File>,
        stdout: Arc<dyn File>,
        stderr: Arc<dyn File>,
    ) -> Arc<ProcessContext> {
        let child = ProcessContext::new(stdin, stdout, stderr, &self.cwd());
        *child.env.lock() = self.env_vars();
        child.set_job(self.job());
        child
    }

    /// A copy of this context (every descriptor, sharing the open files, the cwd, the
    /// arguments, the auxiliary vector and the environment), like `fork`.
    pub fn fork(&self) -> Arc<ProcessContext> {
        Arc::new(ProcessContext {
            fds: Mutex::new(self.fds.lock().clone()),
            cwd: Mutex::new(self.cwd()),
            args: Mutex::new(self.args()),
            auxv: Mutex::new(self.auxv()),
            exe: Mutex::new(self.exe()),
            env: Mutex::new(self.env_vars()),
            resources: Mutex::new(Vec::new()),
            job: core::sync::atomic::AtomicU64::new(self.job()),
            pid: core::sync::atomic::AtomicU64::new(0),
            io: Default::default(),
            ended_times: Default::default(),
            parent: caller_pid(),
        })
    }

    /// The process id (`getpid`, `/proc/PID`): the task id of the process's main task, or 0 if
    /// the context was never attached to a task.
    pub fn pid(&self) -> u64 {
        self.pid.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// The id of the process whose task made this context, 0 if none did.
    pub fn parent_pid(&self) -> u64 {
        self.parent
    }

    /// What the process's `read`/`write` calls have moved.
    pub fn io(&self) -> &crate::io_accounting::IoCounters {
        &self.io
    }

    /// CPU time `(all, user mode)` in ns of the process's tasks that have ended.
    pub fn ended_times(&self) -> (u64, u64) {
        let (cpu, user) = &self.ended_times;
        (
            cpu.load(core::sync::atomic::Ordering::Relaxed),
            user.load(core::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Records `task` as the process's main task if it has none yet (the first task the
    /// context is attached to: see [`crate::spawn_with_context`], [`crate::current_context`]).
    pub(crate) fn claim_pid(&self, task: task::TaskId) {
        let _ = self.pid.compare_exchange(
            0,
            task,
            core::sync::atomic::Ordering::Relaxed,
            core::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The job (process group) this process belongs to, 0 for none.
    pub fn job(&self) -> u64 {
        self.job.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Puts the process in job `job` (the shell does, for each job it starts; see
    /// [`crate::new_job_id`]).
    pub fn set_job(&self, job: u64) {
        self.job.store(job, core::sync::atomic::Ordering::Relaxed);
    }

    /// Keeps `resource` alive as long as this context (the process's tasks) lives.
    pub fn keep_alive(&self, resource: Box<dyn core::any::Any + Send + Sync>) {
        let id = (*resource).type_id();
        self.resources.lock().push((id, resource));
    }

    /// The resource of type `Arc<T>` kept alive by this context, created with `init` (and kept)
    /// if there is none yet.
    pub fn resource_or_insert_with<T: core::any::Any + Send + Sync>(
        &self,
        init: impl FnOnce() -> T,
    ) -> Arc<T> {
        let mut resources = self.resources.lock();
        if let Some(found) = find::<Arc<T>>(&resources) {
            return found.clone();
        }
        let value = Arc::new(init());
        resources.push((TypeId::of::<Arc<T>>(), Box::new(value.clone())));
        value
    }

    /// The resource of type `Arc<T>`, if there is one.
    pub fn resource<T: core::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        find::<Arc<T>>(&self.resources.lock()).cloned()
    }

    /// Takes out every resource of type `T` kept alive with [`ProcessContext::keep_alive`] (an
    /// `exec` replacing the program's image).
    pub fn take_resources<T: core::any::Any + Send + Sync>(
        &self,
    ) -> Vec<Box<dyn core::any::Any + Send + Sync>> {
        let mut resources = self.resources.lock();
        let mut taken = Vec::new();
        let mut i = 0;
        while i < resources.len() {
            if resources[i].0 == TypeId::of::<T>() {
                taken.push(resources.remove(i).1);
            } else {
                i += 1;
            }
        }
        taken
    }

    /// Removes the resource of type `Arc<T>` (see [`ProcessContext::resource_or_insert_with`]).
    pub fn remove_resource<T: core::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let mut resources = self.resources.lock();
        let i = resources
            .iter()
            .position(|(id, _)| *id == TypeId::of::<Arc<T>>())?;
        resources.remove(i).1.downcast::<Arc<T>>().ok().map(|b| *b)
    }

    /// The absolute path of the program the process runs.
    pub fn exe(&self) -> Option<String> {
        self.exe.lock().clone()
    }

    /// Records the program the process runs (at spawn and exec).
    pub fn set_exe(&self, path: &str) {
        *self.exe.lock() = Some(path.into());
    }

    /// Replaces the whole environment.
    pub fn set_env(&self, vars: Vec<(String, String)>) {
        *self.env.lock() = vars;
    }

    /// The command-line arguments (`argv`, program name first if the spawner set one).
    pub fn args(&self) -> Vec<String> {
        self.args.lock().clone()
    }

    /// Replaces the command-line arguments.
    pub fn set_args(&self, args: Vec<String>) {
        *self.args.lock() = args;
    }

    /// The auxiliary vector's words (`key, value` pairs, the last `AT_NULL, 0`).
    pub fn auxv(&self) -> Vec<u64> {
        self.auxv.lock().clone()
    }

    /// Records the auxiliary vector a program starts with (at spawn and exec).
    pub fn set_auxv(&self, words: Vec<u64>) {
        *self.auxv.lock() = words;
    }

    /// The value of environment variable `name`.
    pub fn env_var(&self, name: &str) -> Option<String> {
        let env = self.env.lock();
        env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// Sets environment variable `name` (replacing its value in place if it exists).
    pub fn set_env_var(&self, name: &str, value: &str) {
        let mut env = self.env.lock();
        match env.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.into(),
            None => env.push((name.into(), value.into())),
        }
    }

    /// Removes environment variable `name`, returning its value.
    pub fn remove_env_var(&self, name: &str) -> Option<String> {
        let mut env = self.env.lock();
        let i = env.iter().position(|(n, _)| n == name)?;
        Some(env.remove(i).1)
    }

    /// Every environment variable as `(name, value)`, in the order they were first set.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        self.env.lock().clone()
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
        self.dup_from(fd, 0)
    }

    /// Duplicates `fd` onto the lowest free descriptor at or above `min`, in one step under
    /// the table's lock (threads duplicating at once get different descriptors).
    pub fn dup_from(&self, fd: Fd, min: Fd) -> Result<Fd> {
        let mut fds = self.fds.lock();
        let file = fds.get(fd)?;
        fds.insert_from(min, file)
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
