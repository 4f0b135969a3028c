//! A spin lock that knows which CPU holds it, for the fault and panic paths that must tell
//! "the code I interrupted holds this lock" (taking it would deadlock: give up) from "another
//! CPU holds it" (it will let go: wait). On one CPU `is_locked` answered both; on several it
//! cannot. The locks this serves are taken with interrupts disabled, so while one is held by
//! this CPU, the holder is the code this CPU interrupted (a fault inside it).
//!
//! The CPU index comes from the function given to [`set_cpu_index`] (`interrupts` gives it
//! once the boot CPU's per-CPU block is loaded); before that, every caller is CPU 0, which is
//! true: only the boot CPU runs then.
//!
//! Depends on `spin` only.

#![no_std]
#![forbid(unsafe_code)]

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};

/// `owner` when no CPU holds the lock.
const NOBODY: usize = usize::MAX;

/// The function that names the running CPU (0 until [`set_cpu_index`]).
static CPU_INDEX: spin::Once<fn() -> usize> = spin::Once::new();

/// Gives the function that returns the index of the CPU running it. Call once, as soon as
/// it works on the boot CPU; every CPU must have it working before it takes a lock.
pub fn set_cpu_index(f: fn() -> usize) {
    CPU_INDEX.call_once(|| f);
}

fn this_cpu() -> usize {
    CPU_INDEX.get().map_or(0, |f| f())
}

/// A `spin::Mutex` that records the CPU holding it.
pub struct CpuMutex<T> {
    inner: spin::Mutex<T>,
    owner: AtomicUsize,
}

/// Access to the data of a locked [`CpuMutex`]; unlocks on drop.
pub struct CpuMutexGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    owner: &'a AtomicUsize,
}

impl<T> CpuMutex<T> {
    pub const fn new(value: T) -> CpuMutex<T> {
        CpuMutex {
            inner: spin::Mutex::new(value),
            owner: AtomicUsize::new(NOBODY),
        }
    }

    fn guard<'a>(&'a self, guard: spin::MutexGuard<'a, T>) -> CpuMutexGuard<'a, T> {
        self.owner.store(this_cpu(), Ordering::Relaxed);
        CpuMutexGuard {
            guard: Some(guard),
            owner: &self.owner,
        }
    }

    /// Locks, spinning while another holder has it.
    pub fn lock(&self) -> CpuMutexGuard<'_, T> {
        self.guard(self.inner.lock())
    }

    /// Locks if nobody holds it.
    pub fn try_lock(&self) -> Option<CpuMutexGuard<'_, T>> {
        self.inner.try_lock().map(|g| self.guard(g))
    }

    /// Whether the CPU running this holds the lock: in a fault or panic handler, that the
    /// interrupted code does (if the lock is only taken with interrupts disabled).
    pub fn held_here(&self) -> bool {
        self.owner.load(Ordering::Relaxed) == this_cpu()
    }

    /// Locks unless this CPU holds the lock already (`None`): what a fault handler does,
    /// which must not wait for the code it interrupted but may wait for another CPU.
    pub fn lock_unless_held_here(&self) -> Option<CpuMutexGuard<'_, T>> {
        loop {
            if let Some(g) = self.try_lock() {
                return Some(g);
            }
            if self.held_here() {
                return None;
            }
            core::hint::spin_loop();
        }
    }

    /// Whether anybody holds the lock.
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }
}

impl<T> Deref for CpuMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("guard present until drop")
    }
}

impl<T> DerefMut for CpuMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("guard present until drop")
    }
}

impl<T> Drop for CpuMutexGuard<'_, T> {
    fn drop(&mut self) {
        // Nobody first: from the unlock on, another CPU may take it and record itself.
        self.owner.store(NOBODY, Ordering::Relaxed);
        self.guard.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static CPU: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn tells_this_cpu_from_another() {
        set_cpu_index(|| CPU.load(Ordering::Relaxed));
        let m = CpuMutex::new(5);
        assert!(!m.held_here() && !m.is_locked());
        let g = m.lock();
        assert!(m.held_here() && m.is_locked());
        assert!(m.lock_unless_held_here().is_none(), "held by this CPU");
        assert!(m.try_lock().is_none());
        CPU.store(1, Ordering::Relaxed);
        assert!(!m.held_here(), "CPU 1 does not hold it");
        drop(g);
        assert!(!m.held_here() && !m.is_locked());
        let mut g = m.lock_unless_held_here().expect("free");
        *g += 1;
        assert!(m.held_here());
        CPU.store(0, Ordering::Relaxed);
        assert!(!m.held_here(), "CPU 1 holds it, not CPU 0");
        drop(g);
        assert_eq!(*m.lock(), 6);
    }
}
