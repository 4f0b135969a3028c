//! wasmtime's locks (`custom-sync-primitives`): each is one pointer-sized word owned by
//! wasmtime, zero when unlocked. A mutex word is 0 or 1; a reader-writer word counts readers
//! in its low bits and has [`WRITER`] set while written. A contended waiter yields the
//! processor (`libtheseus::thread::yield_now`), so a preempted holder gets to run; wasmtime's
//! critical sections are short (registries, type tables). Written here because no crate
//! offers a lock that lives in a word someone else owns.

use core::sync::atomic::{AtomicUsize, Ordering};
use libtheseus::thread::yield_now;

const WRITER: usize = 1 << (usize::BITS - 1);

fn word<'a>(lock: *mut usize) -> &'a AtomicUsize {
    // SAFETY: wasmtime passes a pointer to a live, aligned `usize` that it uses only through
    // these functions (atomically) for as long as the lock exists.
    unsafe { AtomicUsize::from_ptr(lock) }
}

/// `wasmtime_sync_lock_acquire`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_sync_lock_acquire(lock: *mut usize) {
    let w = word(lock);
    while w
        .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        yield_now();
    }
}

/// `wasmtime_sync_lock_release`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_sync_lock_release(lock: *mut usize) {
    word(lock).store(0, Ordering::Release);
}

/// `wasmtime_sync_lock_free`: nothing is allocated per lock.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_sync_lock_free(_lock: *mut usize) {}

/// `wasmtime_sync_rwlock_read`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_sync_rwlock_read(lock: *mut usize) {
    let w = word(lock);
    loop {
        let v = w.load(Ordering::Relaxed);
        if v & WRITER == 0
            && w.compare_exchange_weak(v, v + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            return;
        }
        yield_now();
    }
}

/// `wasmtime_sync_rwlock_read_release`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_sync_rwlock_read_release(lock: *mut usize) {
    word(lock).fetch_sub(1, Ordering::Release);
}

/// `wasmtime_sync_rwlock_write`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_sync_rwlock_write(lock: *mut usize) {
    let w = word(lock);
    while w
        .compare_exchange_weak(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        yield_now();
    }
}

/// `wasmtime_sync_rwlock_write_release`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_sync_rwlock_write_release(lock: *mut usize) {
    word(lock).store(0, Ordering::Release);
}

/// `wasmtime_sync_rwlock_free`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_sync_rwlock_free(_lock: *mut usize) {}
