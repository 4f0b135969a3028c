//! Threads: spawn (with a name and a stack size), join, yield, sleep, exit, ids.
//!
//! A thread is a kernel task in the one address space. A spawned thread shares the spawning
//! thread's process: its descriptors, working directory, arguments and environment. Its exit
//! value is what its function returns, or what it passes to [`exit`]. A thread that faults
//! without handling it ([`crate::signal`]) or panics is killed: [`JoinHandle::join`] reports
//! [`ExitStatus::Killed`] with the reason.

use crate::{Errno, Result};
use alloc::string::String;
use core::time::Duration;

/// A thread's identity (unique while the kernel runs, never 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(u64);

impl ThreadId {
    pub(crate) fn from_u64(id: u64) -> ThreadId {
        ThreadId(id)
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// How a thread ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Returned this value from its function, or called [`exit`] with it.
    Exited(isize),
    /// Killed by a fault, a panic or a kill request; the reason (with a backtrace for faults).
    Killed(String),
}

/// The default stack size of a spawned thread, in bytes.
pub const DEFAULT_STACK_SIZE: usize = task::DEFAULT_STACK_PAGES as usize * 4096;

/// Options for a new thread.
#[derive(Clone, Debug)]
pub struct Builder {
    name: String,
    stack_size: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Name `"thread"`, [`DEFAULT_STACK_SIZE`].
    pub fn new() -> Builder {
        Builder {
            name: "thread".into(),
            stack_size: DEFAULT_STACK_SIZE,
        }
    }

    /// The thread's name (shown by `ps` and in fault reports).
    pub fn name(mut self, name: &str) -> Builder {
        self.name = name.into();
        self
    }

    /// The stack size in bytes (rounded up to pages, at least 16 KiB; a guard page below it
    /// catches overflows).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes;
        self
    }

    /// Starts the thread running `f`; its return value is the exit value. `EAGAIN` if memory
    /// for it is lacking.
    pub fn spawn<F: FnOnce() -> isize + Send + 'static>(self, f: F) -> Result<JoinHandle> {
        let pages = self.stack_size.div_ceil(4096) as u64;
        let inner = task::Builder::new(&self.name)
            .stack_pages(pages)
            .spawn(f)
            .map_err(crate::errno::spawn_error)?;
        Ok(JoinHandle { inner })
    }
}

/// Spawns a thread with the default options.
pub fn spawn<F: FnOnce() -> isize + Send + 'static>(f: F) -> Result<JoinHandle> {
    Builder::new().spawn(f)
}

/// A handle to wait for a thread's end.
pub struct JoinHandle {
    inner: task::JoinHandle,
}

impl JoinHandle {
    pub(crate) fn from_task(inner: task::JoinHandle) -> JoinHandle {
        JoinHandle { inner }
    }

    pub fn id(&self) -> ThreadId {
        ThreadId(self.inner.id())
    }

    pub(crate) fn task(&self) -> &alloc::sync::Arc<task::Task> {
        self.inner.task()
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.inner.task().exit_value().is_some()
    }

    /// Waits for the thread to end.
    pub fn join(self) -> ExitStatus {
        match self.inner.join() {
            task::ExitValue::Exited(v) => ExitStatus::Exited(v),
            task::ExitValue::Killed(reason) => ExitStatus::Killed(reason),
        }
    }
}

/// The running thread's id.
pub fn current_id() -> ThreadId {
    ThreadId(task::current_id())
}

/// CPU time the running thread has used, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`). It is
/// accounted when the thread is switched out and at each timer tick, so it advances in steps
/// and lags by at most one tick (10 ms).
pub fn cpu_time_ns() -> u64 {
    task::current().cpu_ns()
}

/// The running thread's CPU time in ns, `(all, user mode)`, as [`cpu_time_ns`] counts it.
pub fn cpu_times() -> (u64, u64) {
    let me = task::current();
    let cpu = me.cpu_ns();
    (cpu, me.user_ns().min(cpu))
}

/// A signal waits for thread `id`: a blocking call it is in (a pipe, socket, terminal or
/// file-lock wait, `poll`, a sleep, [`crate::futex::wait_until_interruptible`]...) ends with
/// `EINTR`, and so do its next ones until it calls [`clear_interrupt`]. False if no such
/// thread runs.
pub fn interrupt(id: u64) -> bool {
    task::interrupt(id)
}

/// The calling thread has taken its signals: interruptible waits block again.
pub fn clear_interrupt() {
    task::clear_interrupt();
}

/// Sets (`None`: clears) the time (monotonic ns, [`crate::time::monotonic_ns`]) at which the
/// calling thread's blocking calls end with `EINTR` as if [`interrupt`] had been called (a
/// program's next signal timer).
#[inline]
pub fn set_interrupt_deadline(at: Option<u64>) {
    task::set_interrupt_deadline(at);
}

/// Whether [`interrupt`] was called for the calling thread and not cleared since.
#[inline]
pub fn interrupt_pending() -> bool {
    task::interrupt_pending()
}

/// Thread `id`'s CPU time in ns, `(all, user mode)`, as [`cpu_times`] counts it; `None` if
/// no such thread runs.
pub fn cpu_times_of(id: u64) -> Option<(u64, u64)> {
    let t = task::lookup(id)?;
    let cpu = t.cpu_ns();
    Some((cpu, t.user_ns().min(cpu)))
}

/// The running thread's name: the one it was given with [`set_current_name`], else the one
/// it was created with.
pub fn current_name() -> String {
    let me = task::current();
    me.comm().unwrap_or_else(|| me.name().into())
}

/// Renames the running thread as programs do (`PR_SET_NAME`): up to 15 bytes, shown by
/// `/proc` and `ps`.
pub fn set_current_name(name: &[u8]) {
    task::current().set_comm(name);
}

/// CPUs online: what `available_parallelism` and `sched_getaffinity` report. Threads run
/// on every one of them.
pub fn cpus_online() -> usize {
    smp::cpus_online()
}

/// The index of the CPU running the calling thread (0 for the boot CPU); the thread may be
/// moved to another right after.
pub fn current_cpu() -> usize {
    task::current_cpu()
}

/// The CPUs thread `id` may run on (bit i: CPU i); `None` if no such thread runs.
pub fn affinity(id: u64) -> Option<u64> {
    task::affinity(id)
}

/// Lets thread `id` run only on the CPUs of `mask` (bit i: CPU i): `ESRCH` if no such thread
/// runs, `EINVAL` if the mask names no CPU online, `EPERM` for the kernel's own idle and boot
/// threads. The calling thread moves at once if it may no longer run where it is.
pub fn set_affinity(id: u64, mask: u64) -> Result<()> {
    task::set_affinity(id, mask).map_err(|e| match e {
        task::AffinityError::NoSuchTask => Errno::ESRCH,
        task::AffinityError::NoCpu => Errno::EINVAL,
        task::AffinityError::NotPermitted => Errno::EPERM,
    })
}

/// Lets other runnable threads run.
pub fn yield_now() {
    task::yield_now()
}

/// Blocks the running thread for at least `d`.
pub fn sleep(d: Duration) {
    task::sleep_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Blocks the running thread until the monotonic clock ([`crate::time::monotonic_ns`])
/// reaches `deadline_ns`; `EINTR` if a signal [`interrupt`]s it first.
pub fn sleep_until_interruptible(deadline_ns: u64) -> Result<()> {
    if task::sleep_until_interruptible(deadline_ns) {
        Ok(())
    } else {
        Err(Errno::EINTR)
    }
}

/// True if the running thread has been asked to end (a kill: Ctrl-C, `kill`). It ends at its
/// next kill point: any file call, wait or sleep, or [`kill_point`].
pub fn kill_pending() -> bool {
    task::kill_pending()
}

/// Ends the running thread here if it has been killed, unwinding its stack so that what its
/// frames own is dropped (its joiner sees [`ExitStatus::Killed`]); returns at once otherwise.
pub fn kill_point() {
    task::kill_point()
}

/// Runs `f`; if the thread unwinds out of it (a kill point was reached after a kill, or a
/// panic), returns the reason instead, and the thread goes on. For a boundary the unwinder
/// cannot cross (an interpreter's frames): the caller stops what it is doing and reaches a
/// [`kill_point`] above the boundary, where the kill then ends the thread.
pub fn catch_unwind<R>(f: impl FnOnce() -> R) -> core::result::Result<R, String> {
    task::catch_unwind(f)
}

/// Marks whether the running thread may be stopped (job control: Ctrl-Z, `kill -STOP`) at a
/// timer tick, where it runs: only for code that takes no lock, such as an engine running
/// guest code between host calls. A kill is never acted on there: such code must check
/// [`kill_pending`] often (the wasm runners do from fuel slices or epoch deadlines) and reach
/// a [`kill_point`] above itself.
pub fn set_async_stoppable(on: bool) {
    task::set_async_stoppable(on)
}

/// Ends the running thread with `value` (what its joiner sees as
/// [`ExitStatus::Exited`]). TLS key destructors run; values on the thread's stack are *not*
/// dropped (return from the thread's function for that).
pub fn exit(value: isize) -> ! {
    task::exit(value)
}
