//! Threads and their synchronisation: spawn, join, yield, sleep, futex.
//!
//! A thread spawned with `sys_spawn2` is a libtheseus thread of the calling program (it
//! shares its descriptors and gets the program's TLS). Its id is the libtheseus thread id;
//! the join handle waits in a table until `sys_join` takes it (a thread never joined leaves
//! its entry there: std joins or detaches; a detached thread's entry is a small leak).

use crate::abi::{self, timespec};
use crate::edge::{self, err, ret_i32};
use alloc::collections::BTreeMap;
use core::sync::atomic::AtomicU32;
use core::time::Duration;
use libtheseus::sync::Mutex;
use libtheseus::thread::{self, Builder, JoinHandle};
use libtheseus::{Errno, futex};

static THREADS: Mutex<BTreeMap<u32, JoinHandle>> = Mutex::new(BTreeMap::new());

/// Starts a thread running `func(arg)` with a stack of `stack_size` bytes (0: the default);
/// returns its id, or 0 if it could not be created. `prio` and `core_id` are ignored (one
/// priority, one core).
pub(crate) extern "C" fn sys_spawn2(
    func: extern "C" fn(usize),
    arg: usize,
    _prio: u8,
    stack_size: usize,
    _core_id: isize,
) -> u32 {
    let stack = if stack_size == 0 {
        thread::DEFAULT_STACK_SIZE
    } else {
        stack_size
    };
    let spawned = Builder::new()
        .name(&thread::current_name())
        .stack_size(stack)
        .spawn(move || {
            func(arg);
            0
        });
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => {
            edge::set_errno(e);
            return 0;
        }
    };
    // Thread ids are small sequential numbers; one beyond u32 cannot be handed out.
    let Ok(id) = u32::try_from(handle.id().as_u64()) else {
        edge::set_errno(Errno::EAGAIN);
        return 0;
    };
    THREADS.lock().insert(id, handle);
    id
}

/// Waits for the thread `id` (from `sys_spawn2`) to end. 0, or `-ESRCH` if there is no such
/// unjoined thread.
pub(crate) extern "C" fn sys_join(id: u32) -> i32 {
    ret_i32((|| {
        let handle = THREADS.lock().remove(&id).ok_or(Errno::ESRCH)?;
        handle.join();
        Ok(0)
    })())
}

/// Lets other threads run.
pub(crate) extern "C" fn sys_yield() {
    thread::yield_now()
}

/// Sleeps at least `usecs` microseconds.
pub(crate) extern "C" fn sys_usleep(usecs: u64) {
    thread::sleep(Duration::from_micros(usecs))
}

/// Blocks while `*address == expected` until `sys_futex_wake` on `address` or the timeout:
/// null = none; otherwise an absolute `CLOCK_MONOTONIC` time, or relative with
/// `FUTEX_RELATIVE_TIMEOUT` in `flags`. 0 when woken, `-EAGAIN` if the value differed,
/// `-ETIMEDOUT`; `-EINVAL` for a null or misaligned address, unknown flags or a negative
/// timeout.
///
/// # Safety
/// A non-null `address` must point to a live, 4-byte aligned `u32` (used atomically);
/// a non-null `timeout` to a `timespec`.
pub(crate) unsafe extern "C" fn sys_futex_wait(
    address: *mut u32,
    expected: u32,
    timeout: *const timespec,
    flags: u32,
) -> i32 {
    ret_i32((|| {
        if flags & !abi::FUTEX_RELATIVE_TIMEOUT != 0 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller's contract.
        let word = unsafe { futex_word(address) }?;
        let deadline = if timeout.is_null() {
            None
        } else {
            // SAFETY: the caller's contract.
            let t = unsafe { edge::read_in(timeout) }?;
            let ns = abi::timespec_to_ns(&t).ok_or(Errno::EINVAL)?;
            Some(if flags & abi::FUTEX_RELATIVE_TIMEOUT != 0 {
                libtheseus::time::monotonic_ns().saturating_add(ns)
            } else {
                ns
            })
        };
        futex::wait_until(word, expected, deadline)?;
        Ok(0)
    })())
}

/// Wakes up to `count` threads waiting on `address` (all for `i32::MAX`); returns how many.
/// `-EINVAL` for a negative count or a null address.
///
/// # Safety
/// A non-null `address` must point to a live, 4-byte aligned `u32`.
pub(crate) unsafe extern "C" fn sys_futex_wake(address: *mut u32, count: i32) -> i32 {
    ret_i32((|| {
        let count = usize::try_from(count).map_err(|_| Errno::EINVAL)?;
        // SAFETY: the caller's contract.
        let word = unsafe { futex_word(address) }?;
        let count = if count == i32::MAX as usize {
            usize::MAX
        } else {
            count
        };
        Ok(i32::try_from(futex::wake(word, count)).unwrap_or(i32::MAX))
    })())
}

/// The futex word at `address` (`EINVAL` if null or misaligned, as hermit-abi documents).
///
/// # Safety
/// A non-null, aligned `address` must point to a `u32` live while the reference is used.
unsafe fn futex_word<'a>(address: *mut u32) -> libtheseus::Result<&'a AtomicU32> {
    if address.is_null() || !address.is_aligned() {
        return Err(err(abi::EINVAL));
    }
    // SAFETY: non-null and aligned (checked), live (the caller's contract); `AtomicU32` has
    // the layout of `u32`, and all accesses to futex words are atomic.
    Ok(unsafe { AtomicU32::from_ptr(address) })
}

libtheseus::export_symbol!(
    sys_spawn2,
    sys_join,
    sys_yield,
    sys_usleep,
    sys_futex_wait,
    sys_futex_wake,
);
