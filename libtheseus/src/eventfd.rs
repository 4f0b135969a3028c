//! The eventfd object behind [`crate::fs::eventfd`]: a 64-bit counter read and written as
//! 8-byte native-endian integers (Linux `eventfd(2)` semantics).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use vfs::{Errno, File, FileKind, Stat};

/// The largest counter value (`u64::MAX - 1`, as on Linux).
const MAX: u64 = u64::MAX - 1;

pub(crate) struct EventFd {
    count: AtomicU64,
    /// Bumped (and futex-woken) whenever `count` changes, so blocked readers and writers
    /// re-check it.
    generation: AtomicU32,
    semaphore: bool,
    nonblocking: AtomicBool,
    ino: u64,
    created: i64,
}

impl EventFd {
    pub(crate) fn new(initval: u64, semaphore: bool, nonblocking: bool) -> Arc<EventFd> {
        // Inode numbers of eventfds: above those of tree nodes, pipes and devices.
        static NEXT_INO: AtomicU64 = AtomicU64::new(3 << 48);
        Arc::new(EventFd {
            count: AtomicU64::new(initval),
            generation: AtomicU32::new(0),
            semaphore,
            nonblocking: AtomicBool::new(nonblocking),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            created: vfs::now(),
        })
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        task::futex_wake(&self.generation, usize::MAX);
        vfs::readiness::changed();
    }

    /// Blocks until `ready` holds (re-checked after every change), or fails with
    /// `EAGAIN` if non-blocking.
    fn wait_for(&self, ready: impl Fn() -> bool) -> vfs::Result<()> {
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            if ready() {
                return Ok(());
            }
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(Errno::EAGAIN);
            }
            // Returns at once if the generation moved since we looked at the counter.
            if let Err(task::FutexError::Interrupted) =
                task::futex_wait_interruptible(&self.generation, generation, None)
            {
                return Err(Errno::EINTR);
            }
        }
    }
}

impl File for EventFd {
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

    /// Reads the counter (8 bytes): the whole value, which resets it to 0, or 1 in
    /// semaphore mode (decrementing it). Blocks while it is 0.
    fn read(&self, buf: &mut [u8]) -> vfs::Result<usize> {
        let Some(out) = buf.get_mut(..8) else {
            return Err(Errno::EINVAL);
        };
        loop {
            self.wait_for(|| self.count.load(Ordering::SeqCst) != 0)?;
            let taken = self
                .count
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| match c {
                    0 => None,
                    _ if self.semaphore => Some(c - 1),
                    _ => Some(0),
                });
            if let Ok(old) = taken {
                let value = if self.semaphore { 1 } else { old };
                out.copy_from_slice(&value.to_ne_bytes());
                self.changed();
                return Ok(8);
            }
        }
    }

    /// Adds an 8-byte value to the counter; blocks while the sum would exceed
    /// `u64::MAX - 1`. `u64::MAX` itself is invalid.
    fn write(&self, buf: &[u8]) -> vfs::Result<usize> {
        let Some(bytes) = buf.get(..8) else {
            return Err(Errno::EINVAL);
        };
        let mut raw = [0u8; 8];
        raw.copy_from_slice(bytes);
        let add = u64::from_ne_bytes(raw);
        if add == u64::MAX {
            return Err(Errno::EINVAL);
        }
        loop {
            self.wait_for(|| self.count.load(Ordering::SeqCst) <= MAX - add)?;
            let done = self
                .count
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                    (c <= MAX - add).then_some(c + add)
                });
            if done.is_ok() {
                self.changed();
                return Ok(8);
            }
        }
    }

    fn stat(&self) -> vfs::Result<Stat> {
        Ok(Stat::anonymous(
            FileKind::CharDevice,
            0,
            self.ino,
            self.created,
        ))
    }

    fn poll_readable(&self) -> bool {
        self.count.load(Ordering::SeqCst) != 0
    }

    fn poll_writable(&self) -> bool {
        self.count.load(Ordering::SeqCst) < MAX
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}
