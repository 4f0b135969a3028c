//! A process's I/O counters (Linux's `/proc/PID/io`): bytes and calls of reads and writes on
//! any descriptor (counted by `vfs::read`/`write`/`pread`/`pwrite` and by libtheseus's
//! socket-aware `read`/`write`, through the context they already hold), and the bytes that
//! went to or came from regular files, this system's storage (the in-memory file system).

use core::sync::atomic::{AtomicU64, Ordering};

/// Counters kept in each [`crate::ProcessContext`], shared by its threads.
#[derive(Default)]
pub struct IoCounters {
    read_chars: AtomicU64,
    written_chars: AtomicU64,
    read_calls: AtomicU64,
    write_calls: AtomicU64,
    storage_read: AtomicU64,
    storage_written: AtomicU64,
}

/// A snapshot of [`IoCounters`], named as in `/proc/PID/io`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoTotals {
    pub rchar: u64,
    pub wchar: u64,
    pub syscr: u64,
    pub syscw: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
}

impl IoCounters {
    /// A read call that returned `n` bytes, from a regular file if `storage`.
    pub fn read(&self, n: usize, storage: bool) {
        self.read_calls.fetch_add(1, Ordering::Relaxed);
        self.read_chars.fetch_add(n as u64, Ordering::Relaxed);
        if storage {
            self.storage_read.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// A write call that wrote `n` bytes, to a regular file if `storage`.
    pub fn write(&self, n: usize, storage: bool) {
        self.write_calls.fetch_add(1, Ordering::Relaxed);
        self.written_chars.fetch_add(n as u64, Ordering::Relaxed);
        if storage {
            self.storage_written.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    pub fn totals(&self) -> IoTotals {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        IoTotals {
            rchar: get(&self.read_chars),
            wchar: get(&self.written_chars),
            syscr: get(&self.read_calls),
            syscw: get(&self.write_calls),
            read_bytes: get(&self.storage_read),
            write_bytes: get(&self.storage_written),
        }
    }
}
