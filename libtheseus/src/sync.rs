//! Locks for code above libtheseus (which may not name `spin` or kernel crates itself).
//!
//! [`Mutex`] and [`Once`] are spin locks whose contended path yields the processor
//! ([`crate::thread::yield_now`]) instead of burning the time slice, so a thread that was
//! preempted while holding the lock gets to run and release it. Keep critical sections short
//! and never block (sleep, futex wait, I/O) while holding a [`Mutex`].

/// The relax strategy of [`Mutex`] and [`Once`]: yield to other runnable threads.
pub struct Yield;

impl spin::RelaxStrategy for Yield {
    fn relax() {
        task::yield_now()
    }
}

/// A mutual-exclusion lock: `Mutex::new(value)`, `lock()` gives a guard.
pub type Mutex<T> = spin::mutex::SpinMutex<T, Yield>;

/// The guard of a locked [`Mutex`].
pub type MutexGuard<'a, T> = spin::mutex::SpinMutexGuard<'a, T>;

/// A spin lock that records the CPU holding it, for registries a fault handler consults:
/// `lock_unless_held_here` waits for a holder on another CPU and gives up (`None`) when the
/// lock was taken on the handler's own CPU (by the code it interrupted, or a thread preempted
/// there while holding it). Its `lock` spins without yielding: keep its critical sections
/// short.
pub use cpu_mutex::{CpuMutex, CpuMutexGuard};

/// A value initialised once (`call_once`), then shared read-only.
pub type Once<T> = spin::once::Once<T, Yield>;
