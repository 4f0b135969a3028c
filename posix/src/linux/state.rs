//! Per-process and per-thread state of the Linux layer: what a Linux kernel keeps in its
//! process and thread structures and libtheseus does not (the memory the program mapped, its
//! signal actions, directory descriptors' paths and read positions, `clear_child_tid`...).
//! One [`Process`] per process, created by its first system call and dropped with the process
//! (`libtheseus::process::local`), which unmaps everything the program mapped.

use super::mem::Space;
use super::signal::Action;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use libtheseus::sync::Mutex;
use libtheseus::thread;

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
}

pub struct Process {
    /// The process id: the thread id of the thread that made the first system call (the main
    /// thread).
    pub pid: u64,
    /// `THESEUS_STRACE=1` in the environment at start.
    pub trace: bool,
    /// Numbers that returned `ENOSYS`, with counts.
    missing: Mutex<BTreeMap<u64, u32>>,
    pub memory: Mutex<Space>,
    pub actions: Mutex<BTreeMap<u32, Action>>,
    pub threads: Mutex<BTreeMap<u64, Thread>>,
    /// Paths of directory descriptors, for `*at` calls relative to them.
    pub dir_paths: Mutex<BTreeMap<u32, String>>,
    /// `getdents64` positions (cookies) of directory descriptors.
    pub dir_cookies: Mutex<BTreeMap<u32, u64>>,
    pub umask: Mutex<u32>,
}

impl Process {
    fn new() -> Process {
        Process {
            pid: thread::current_id().as_u64(),
            trace: libtheseus::env::var("THESEUS_STRACE").is_some_and(|v| v == "1"),
            missing: Mutex::new(BTreeMap::new()),
            memory: Mutex::new(Space::default()),
            actions: Mutex::new(BTreeMap::new()),
            threads: Mutex::new(BTreeMap::new()),
            dir_paths: Mutex::new(BTreeMap::new()),
            dir_cookies: Mutex::new(BTreeMap::new()),
            umask: Mutex::new(0o022),
        }
    }

    pub fn count_missing(&self, number: u64) {
        *self.missing.lock().entry(number).or_insert(0) += 1;
    }

    /// `(number, count)` of the calls that returned `ENOSYS`.
    pub fn missing(&self) -> alloc::vec::Vec<(u64, u32)> {
        self.missing.lock().iter().map(|(&n, &c)| (n, c)).collect()
    }

    /// The calling thread's state (default if it has none yet).
    pub fn thread(&self) -> Thread {
        self.threads
            .lock()
            .get(&thread::current_id().as_u64())
            .copied()
            .unwrap_or_default()
    }

    /// Changes the calling thread's state.
    pub fn update_thread(&self, f: impl FnOnce(&mut Thread)) {
        let mut threads = self.threads.lock();
        f(threads.entry(thread::current_id().as_u64()).or_default());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        for t in self.threads.lock().values() {
            super::signal::forget(t.pending);
        }
    }
}

/// The calling program's process state.
pub fn current() -> Arc<Process> {
    libtheseus::process::local(Process::new).expect("a user-mode program runs in a process")
}
