//! Per-process and per-thread state of the Linux layer: what a Linux kernel keeps in its
//! process and thread structures and libtheseus does not (the memory the program mapped, its
//! signal actions, directory descriptors' paths and read positions, `clear_child_tid`...).
//! One [`Process`] per process, created by its first system call and dropped with the process
//! (`libtheseus::process::local`), which unmaps everything the program mapped.

use super::mem::Space;
use super::signal::Action;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use libtheseus::sync::Mutex;
use libtheseus::{Errno, Result, futex, thread};

/// Per-thread state, by thread id.
#[derive(Clone, Copy, Debug, Default)]
pub struct Thread {
    /// `set_tid_address`/`CLONE_CHILD_CLEARTID`: zeroed and futex-woken when the thread exits.
    pub clear_child_tid: u64,
    /// The blocked-signal mask (`rt_sigprocmask`).
    pub sigmask: u64,
    /// `sigaltstack`: (sp, flags, size).
    pub altstack: (u64, i32, u64),
    /// Signals sent to the thread and not delivered yet (bit `n - 1` for signal `n`).
    pub pending: u64,
    /// The mask a `ppoll`/`pselect6`/`epoll_pwait` interrupted by a signal replaced, to put
    /// back after the handler (`signal::with_mask`).
    pub saved_mask: Option<u64>,
}

/// A word a waiter blocks on until it becomes non-zero (a `vfork` parent waiting for its child
/// to `execve` or end; a parent waiting for any child to end counts ends instead).
#[derive(Default)]
pub struct Event(AtomicU32);

impl Event {
    /// Marks the event and wakes every waiter.
    pub fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        futex::wake_all(&self.0);
    }

    /// The current count.
    pub fn count(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }

    /// Blocks until the count differs from `seen` or the monotonic clock reaches `deadline_ns`.
    pub fn wait_until(&self, seen: u32, deadline_ns: Option<u64>) {
        let _ = futex::wait_until(&self.0, seen, deadline_ns);
    }

    /// Blocks until the count differs from `seen` (or `timeout_ms` passes).
    pub fn wait_change(&self, seen: u32, timeout_ms: u64) {
        let _ = futex::wait(
            &self.0,
            seen,
            Some(core::time::Duration::from_millis(timeout_ms)),
        );
    }

    /// [`Event::wait_change`] that a signal for the thread cuts short with `EINTR` (a
    /// program's blocking call: `wait4`, a lock wait).
    pub fn wait_change_interruptible(&self, seen: u32, timeout_ms: u64) -> Result<()> {
        let deadline = libtheseus::time::monotonic_ns().saturating_add(timeout_ms * 1_000_000);
        match futex::wait_until_interruptible(&self.0, seen, Some(deadline)) {
            Err(Errno::EINTR) => Err(Errno::EINTR),
            _ => Ok(()),
        }
    }
}

/// A child process, as its parent sees it.
pub struct Child {
    pub handle: thread::JoinHandle,
    /// Signalled as the child's process state goes (the child's [`Process::end_event`]), a
    /// moment before its main thread's exit status is published.
    pub ended: Arc<Event>,
}

impl Child {
    /// Whether the child ended: its main thread has, or its process state went and the thread
    /// is about to (`wait4` then joins it). The parent's `child_ended` is signalled in the
    /// same drop of the state, before the thread publishes its status: looking at the thread
    /// alone, a parent on another CPU woken by that signal could find it still running and go
    /// back to waiting with nothing left to wake it.
    pub fn has_ended(&self) -> bool {
        self.ended.count() != 0 || self.handle.is_finished()
    }
}

pub struct Process {
    /// The process id: the thread id of the process's main thread (`libtheseus::process::id`,
    /// the same number `/proc` shows).
    pub pid: u64,
    /// The parent's process id (the shell's for programs it starts).
    pub ppid: AtomicU64,
    /// `THESEUS_STRACE` in the environment at start (or at the last `execve`); set through
    /// [`Process::set_trace`], which keeps [`TRACING_PROCESSES`] counting.
    trace: AtomicU32,
    /// Children not waited for yet, by process id.
    pub children: Mutex<BTreeMap<u64, Child>>,
    /// Signalled by a child when it ends (for `wait4` on any child).
    pub child_ended: Arc<Event>,
    /// The parent's `child_ended`, signalled when this process's state goes (it ended).
    pub parent_event: Mutex<Option<Arc<Event>>>,
    /// The `ended` event of the parent's record of this process ([`Child`]), signalled when
    /// this process's state goes, before `parent_event`.
    pub end_event: Mutex<Option<Arc<Event>>>,
    /// Set for a `vfork` child: signalled at its `execve` or end, releasing the parent.
    pub vfork_release: Mutex<Option<Arc<Event>>>,
    /// Descriptors to close at `execve` (`O_CLOEXEC`, `FD_CLOEXEC`).
    pub cloexec: Mutex<BTreeSet<u32>>,
    /// Numbers that returned `ENOSYS` (no handler, or a handler refusing the arguments), with
    /// the call's name if it has a handler, and counts.
    missing: Mutex<BTreeMap<u64, (Option<&'static str>, u32)>>,
    pub memory: Mutex<Space>,
    pub actions: Mutex<BTreeMap<u32, Action>>,
    pub threads: Mutex<BTreeMap<u64, Thread>>,
    /// Paths of directory descriptors, for `*at` calls relative to them.
    pub dir_paths: Mutex<BTreeMap<u32, String>>,
    /// `getdents64` positions (cookies) of directory descriptors.
    pub dir_cookies: Mutex<BTreeMap<u32, u64>>,
    pub umask: Mutex<u32>,
    /// Signalled when a signal becomes pending in the process or a signal timer is set (for
    /// the signal waits: `sigsuspend`, `sigtimedwait`, `pause`).
    pub signalled: Event,
    /// Signal timers (`setitimer`, `timer_create`).
    pub timers: Mutex<super::timers::Timers>,
    /// What `prctl` sets and reads back.
    pub settings: Mutex<Settings>,
    /// Supplementary group ids (`setgroups`).
    pub groups: Mutex<alloc::vec::Vec<u32>>,
}

/// The process's and its threads' `prctl` settings (see `system::prctl` for what each does
/// here). Per-thread ones by thread id.
pub struct Settings {
    pub dumpable: bool,
    pub subreaper: bool,
    pub no_new_privs: bool,
    pub thp_disable: bool,
    pub death_signal: BTreeMap<u64, u32>,
    pub keep_caps: BTreeSet<u64>,
    pub timer_slack: BTreeMap<u64, u64>,
    pub mce_kill: BTreeMap<u64, u32>,
    /// Capability sets (`capset`) of the threads that changed theirs; the others hold
    /// [`CapSets::ROOT`](crate::caps_abi::CapSets::ROOT).
    pub caps: BTreeMap<u64, crate::caps_abi::CapSets>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            dumpable: true,
            subreaper: false,
            no_new_privs: false,
            thp_disable: false,
            death_signal: BTreeMap::new(),
            keep_caps: BTreeSet::new(),
            timer_slack: BTreeMap::new(),
            mce_kill: BTreeMap::new(),
            caps: BTreeMap::new(),
        }
    }
}

impl Process {
    fn new() -> Process {
        let process = Process::empty();
        process.set_trace(trace_requested());
        process
    }

    fn empty() -> Process {
        Process {
            pid: libtheseus::process::id(),
            ppid: AtomicU64::new(libtheseus::process::parent_id()),
            trace: AtomicU32::new(Trace::Off as u32),
            children: Mutex::new(BTreeMap::new()),
            child_ended: Arc::new(Event::default()),
            parent_event: Mutex::new(None),
            end_event: Mutex::new(None),
            vfork_release: Mutex::new(None),
            cloexec: Mutex::new(BTreeSet::new()),
            missing: Mutex::new(BTreeMap::new()),
            memory: Mutex::new(Space::default()),
            actions: Mutex::new(BTreeMap::new()),
            threads: Mutex::new(BTreeMap::new()),
            dir_paths: Mutex::new(BTreeMap::new()),
            dir_cookies: Mutex::new(BTreeMap::new()),
            umask: Mutex::new(0o022),
            signalled: Event::default(),
            timers: Mutex::new(super::timers::Timers::default()),
            settings: Mutex::new(Settings::default()),
            groups: Mutex::new(alloc::vec::Vec::new()),
        }
    }

    pub fn count_missing(&self, number: u64, name: Option<&'static str>) {
        self.missing.lock().entry(number).or_insert((name, 0)).1 += 1;
    }

    /// `(number, name, count)` of the calls that returned `ENOSYS`.
    pub fn missing(&self) -> alloc::vec::Vec<(u64, Option<&'static str>, u32)> {
        self.missing
            .lock()
            .iter()
            .map(|(&n, &(name, c))| (n, name, c))
            .collect()
    }

    /// The calling thread's state (default if it has none yet).
    pub fn thread(&self) -> Thread {
        self.threads
            .lock()
            .get(&thread::current_id().as_u64())
            .copied()
            .unwrap_or_default()
    }

    /// What `execve` does to the process's state: close-on-exec descriptors closed, caught
    /// signals back to their default action (ignored ones stay ignored), what the old program
    /// mapped unmapped, only the calling thread left (mask and pending signals kept), root's
    /// capabilities back (`CapSets::after_exec`), a `vfork` parent released, tracing as the
    /// new environment says.
    pub fn reset_for_exec(&self) {
        let cloexec = core::mem::take(&mut *self.cloexec.lock());
        for fd in cloexec {
            // Bookkeeping first, as `close` does: the number may be reused once closed.
            self.dir_paths.lock().remove(&fd);
            self.dir_cookies.lock().remove(&fd);
            let _ = libtheseus::fs::close(fd);
        }
        self.actions
            .lock()
            .retain(|_, a| a.handler == super::signal::SIG_IGN);
        self.timers.lock().forget_posix_timers();
        let old = core::mem::take(&mut *self.memory.lock());
        drop(old);
        let me = thread::current_id().as_u64();
        let mut threads = self.threads.lock();
        let mine = threads.get(&me).copied().unwrap_or_default();
        for (tid, t) in threads.iter() {
            if *tid != me {
                super::signal::forget(t.pending);
            }
        }
        threads.clear();
        threads.insert(
            me,
            Thread {
                clear_child_tid: 0,
                sigmask: mine.sigmask,
                altstack: (0, linux_raw_sys::general::SS_DISABLE as i32, 0),
                pending: mine.pending,
                saved_mask: None,
            },
        );
        drop(threads);
        {
            let mut settings = self.settings.lock();
            let caps = settings.caps.get(&me).copied();
            settings.caps.clear();
            if let Some(caps) = caps {
                settings.caps.insert(me, caps.after_exec());
            }
        }
        if let Some(release) = self.vfork_release.lock().take() {
            release.signal();
        }
        self.set_trace(trace_requested());
    }

    /// Changes the calling thread's state.
    /// The action for `sig` (`rt_sigaction`'s record; the default action if none was set).
    pub fn action(&self, sig: u32) -> super::signal::Action {
        self.actions.lock().get(&sig).copied().unwrap_or_default()
    }

    pub fn update_thread(&self, f: impl FnOnce(&mut Thread)) {
        let mut threads = self.threads.lock();
        f(threads.entry(thread::current_id().as_u64()).or_default());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.set_trace(Trace::Off);
        super::lock::release_all(self.pid);
        self.timers.lock().disarm_all();
        for t in self.threads.lock().values() {
            super::signal::forget(t.pending);
        }
        if let Some(release) = self.vfork_release.lock().take() {
            release.signal();
        }
        if let Some(ended) = self.end_event.lock().take() {
            ended.signal();
        }
        if let Some(parent) = self.parent_event.lock().take() {
            parent.signal();
        }
    }
}

/// Where the environment asks system calls to be traced: `THESEUS_STRACE=1` on the program's
/// standard error, `THESEUS_STRACE=log` in the kernel log (the serial console, for programs
/// whose output must stay untouched); `THESEUS_STRACE=enosys` prints only the summary of the
/// calls that returned `ENOSYS`, on standard error when the program ends (what `cargo xtask
/// ports` collects from test binaries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trace {
    Off = 0,
    Stderr = 1,
    Log = 2,
    Missing = 3,
}

impl Process {
    /// Sets how this process's calls are traced.
    pub fn set_trace(&self, trace: Trace) {
        let was = Trace::from_raw(self.trace.swap(trace as u32, Ordering::Relaxed));
        match (was.per_call(), trace.per_call()) {
            (false, true) => TRACING_PROCESSES.fetch_add(1, Ordering::Relaxed),
            (true, false) => TRACING_PROCESSES.fetch_sub(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    pub fn trace(&self) -> Trace {
        Trace::from_raw(self.trace.load(Ordering::Relaxed))
    }
}

/// How many live processes trace every call (`Trace::Stderr` or `Trace::Log`): while none
/// does, the dispatcher does not look up the caller's process after each call to ask.
pub static TRACING_PROCESSES: AtomicUsize = AtomicUsize::new(0);

impl Trace {
    fn from_raw(raw: u32) -> Trace {
        match raw {
            1 => Trace::Stderr,
            2 => Trace::Log,
            3 => Trace::Missing,
            _ => Trace::Off,
        }
    }

    /// True if every call is printed.
    pub fn per_call(self) -> bool {
        matches!(self, Trace::Stderr | Trace::Log)
    }
}

pub fn trace_requested() -> Trace {
    match libtheseus::env::var("THESEUS_STRACE").as_deref() {
        Some("1") => Trace::Stderr,
        Some("log") => Trace::Log,
        Some("enosys") => Trace::Missing,
        _ => Trace::Off,
    }
}

/// The calling program's process state.
pub fn current() -> Arc<Process> {
    libtheseus::process::local(Process::new).expect("a user-mode program runs in a process")
}
