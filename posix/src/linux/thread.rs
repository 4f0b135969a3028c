//! Threads and processes: `clone` for threads, `exit`/`exit_group`, `futex`,
//! `set_tid_address`, `arch_prctl` (the thread pointer), ids, `kill`/`tgkill` to itself,
//! `wait4` (no child processes yet: `ECHILD`), `sched_yield`, `sched_getaffinity` and
//! `sched_setaffinity` (a thread's CPUs, kept by the scheduler).

use super::state;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use libtheseus::usermode::{self, Reg, Registers};
use libtheseus::{Errno, Result, futex, job_control, thread};
use linux_raw_sys::general as g;

pub fn gettid(_: &mut Registers, _: [u64; 6]) -> Result<u64> {
    Ok(thread::current_id().as_u64())
}

pub fn getpid(_: &mut Registers, _: [u64; 6]) -> Result<u64> {
    // The process state's `pid` is this one (taken from it when the state was made).
    Ok(libtheseus::process::id())
}

/// Programs started from the shell have the shell as parent (`/proc/PID/stat` shows the same).
pub fn getppid(_: &mut Registers, _: [u64; 6]) -> Result<u64> {
    Ok(state::current().ppid.load(Ordering::Relaxed))
}

pub fn sched_yield(_: &mut Registers, _: [u64; 6]) -> Result<u64> {
    thread::yield_now();
    Ok(0)
}

/// The CPUs thread `a[0]` (0: the caller) may run on among those online (at most 64: one
/// word of mask, the size Linux reports too), so `available_parallelism` and
/// `sysconf(_SC_NPROCESSORS_ONLN)` count them.
pub fn sched_getaffinity(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[1] < 8 || !a[1].is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let mask = thread::affinity(thread_or_self(a[0])).ok_or(Errno::ESRCH)?;
    usermode::write_value(a[2], &(mask & online_mask(thread::cpus_online())))?;
    Ok(8)
}

/// Keeps thread `a[0]` (0: the caller) to the CPUs of the mask at `a[2]` (`a[1]` bytes; bits
/// past the 64th are ignored, as there are no such CPUs): `EINVAL` if it names no CPU online,
/// `ESRCH` if there is no such thread.
pub fn sched_setaffinity(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 8];
    let len = (a[1] as usize).min(8);
    usermode::read(a[2], &mut raw[..len])?;
    let mask = u64::from_le_bytes(raw) & online_mask(thread::cpus_online());
    if mask == 0 {
        return Err(Errno::EINVAL);
    }
    thread::set_affinity(thread_or_self(a[0]), mask)?;
    Ok(0)
}

/// A thread id argument: 0 names the calling thread.
fn thread_or_self(id: u64) -> u64 {
    if id == 0 {
        thread::current_id().as_u64()
    } else {
        id
    }
}

/// The affinity mask of CPUs `0..count`.
fn online_mask(count: usize) -> u64 {
    match count {
        0 => 1,
        64.. => u64::MAX,
        n => (1u64 << n) - 1,
    }
}

pub fn set_tid_address(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    state::current().update_thread(|t| t.clear_child_tid = a[0]);
    Ok(thread::current_id().as_u64())
}

pub fn arch_prctl(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const ARCH_SET_FS: u32 = 0x1002;
    const ARCH_GET_FS: u32 = 0x1003;
    match a[0] as u32 {
        ARCH_SET_FS => {
            if a[1] >= 0x0000_8000_0000_0000 {
                return Err(Errno::EPERM);
            }
            r.set_thread_pointer(a[1]);
            Ok(0)
        }
        ARCH_GET_FS => {
            usermode::write_value(a[1], &r.thread_pointer())?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// The futex word at a user address, checked (`EINVAL` if unaligned).
fn word(addr: u64) -> Result<&'static AtomicU32> {
    usermode::atomic_u32(addr)
}

/// Reads a `timespec` as nanoseconds.
fn timespec_ns(addr: u64) -> Result<u64> {
    let ts: [i64; 2] = usermode::read_value(addr)?;
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    Ok((ts[0] as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts[1] as u64))
}

/// `futex`: `WAIT` (relative timeout), `WAIT_BITSET` (absolute, `FUTEX_CLOCK_REALTIME` or
/// monotonic), `WAKE`, `WAKE_BITSET`, `REQUEUE`/`CMP_REQUEUE` (the requeued waiters are woken
/// instead: waiters re-check their word, so this only costs a spurious wake-up). Bitsets other
/// than all ones are treated as all ones. A wait ends with `EINTR` when a signal the thread
/// would take arrives (its handler then runs, or its default action ends the process).
pub fn futex(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (addr, op, val, timeout) = (a[0], a[1] as u32, a[2] as u32, a[3]);
    let cmd = op & !(g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME);
    let w = word(addr)?;
    match cmd {
        g::FUTEX_WAIT => {
            let deadline = if timeout == 0 {
                None
            } else {
                Some(libtheseus::time::monotonic_ns().saturating_add(timespec_ns(timeout)?))
            };
            super::signal::wait_on_futex(w, val, deadline).map(|_| 0)
        }
        g::FUTEX_WAIT_BITSET => {
            let deadline = if timeout == 0 {
                None
            } else {
                let abs = timespec_ns(timeout)?;
                Some(if op & g::FUTEX_CLOCK_REALTIME != 0 {
                    let now_real = libtheseus::time::realtime_ns();
                    let now_mono = libtheseus::time::monotonic_ns();
                    now_mono.saturating_add(abs.saturating_sub(now_real))
                } else {
                    abs
                })
            };
            super::signal::wait_on_futex(w, val, deadline).map(|_| 0)
        }
        g::FUTEX_WAKE | g::FUTEX_WAKE_BITSET => Ok(futex::wake(w, val as usize) as u64),
        g::FUTEX_REQUEUE | g::FUTEX_CMP_REQUEUE => {
            if cmd == g::FUTEX_CMP_REQUEUE && w.load(Ordering::SeqCst) != a[5] as u32 {
                return Err(Errno::EAGAIN);
            }
            let requeue = (timeout as u32) as usize;
            Ok(futex::wake(w, (val as usize).saturating_add(requeue)) as u64)
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// Clears and wakes the calling thread's `clear_child_tid` word (a joining thread waits on it).
fn clear_child_tid() {
    let addr = state::current().thread().clear_child_tid;
    if addr != 0
        && usermode::write_value(addr, &0u32).is_ok()
        && let Ok(w) = word(addr)
    {
        futex::wake(w, 1);
    }
}

pub fn exit(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    clear_child_tid();
    let process = state::current();
    let me = thread::current_id().as_u64();
    if let Some(t) = process.threads.lock().remove(&me) {
        super::signal::forget(t.pending);
    }
    let status = (a[0] & 0xff) as i32;
    if me == process.pid {
        // The main thread: the program's status (other threads, if any, end with it).
        drop(process);
        libtheseus::process::exit_current_process(status)
    }
    drop(process);
    thread::exit(status as isize)
}

pub fn exit_group(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let process = state::current();
    let trace = process.trace();
    for (number, name, count) in process.missing() {
        let name = name.unwrap_or("?");
        let line = alloc::format!("[strace] ENOSYS: system call {number} ({name}) x{count}\n");
        match trace {
            state::Trace::Off => {}
            state::Trace::Stderr | state::Trace::Missing => {
                let _ = libtheseus::fs::write_all(libtheseus::fs::STDERR, line.as_bytes());
            }
            state::Trace::Log => log::info!("{} {}", process.pid, line.trim_end()),
        }
    }
    drop(process);
    libtheseus::process::exit_current_process((a[0] & 0xff) as i32)
}

const THREAD_FLAGS: u64 =
    (g::CLONE_VM | g::CLONE_FS | g::CLONE_FILES | g::CLONE_SIGHAND | g::CLONE_THREAD) as u64;

/// `clone` for threads (`CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD`,
/// with `SETTLS`, `PARENT_SETTID`, `CHILD_SETTID`, `CHILD_CLEARTID`): a new task that starts
/// in user mode with the caller's registers, `rax` = 0 and the given stack. New processes
/// (`fork`, `vfork`) are not supported yet: `ENOSYS`.
pub fn clone(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (flags, stack, parent_tid, child_tid, tls) = (a[0], a[1], a[2], a[3], a[4]);
    if flags & u64::from(g::CLONE_THREAD) == 0 {
        return super::process::clone_process(r, a);
    }
    if flags & THREAD_FLAGS != THREAD_FLAGS {
        return Err(Errno::EINVAL);
    }
    if stack == 0 {
        return Err(Errno::EINVAL);
    }
    let mut child = r.clone();
    child.set(Reg::Rax, 0);
    child.set(Reg::Rsp, stack);
    if flags & u64::from(g::CLONE_SETTLS) != 0 {
        if tls >= 0x0000_8000_0000_0000 {
            return Err(Errno::EPERM);
        }
        child.set_thread_pointer(tls);
    }
    if flags & u64::from(g::CLONE_PARENT_SETTID) != 0 {
        usermode::check(parent_tid, 4, true)?;
    }
    if flags & u64::from(g::CLONE_CHILD_SETTID | g::CLONE_CHILD_CLEARTID) != 0 {
        usermode::check(child_tid, 4, true)?;
    }
    // The child waits until the parent has stored its id (PARENT_SETTID), so that the id is
    // in place before the child can run (and exit, clearing it).
    let go = Arc::new(AtomicBool::new(false));
    let child_go = go.clone();
    let process = state::current();
    let child_process = process.clone();
    let caps = process
        .settings
        .lock()
        .caps
        .get(&thread::current_id().as_u64())
        .copied();
    let handle = thread::Builder::new()
        .name(&thread::current_name())
        .spawn(move || {
            while !child_go.load(Ordering::Acquire) {
                thread::yield_now();
            }
            let me = thread::current_id().as_u64();
            if flags & u64::from(g::CLONE_CHILD_SETTID) != 0 {
                let _ = usermode::write_value(child_tid, &(me as u32));
            }
            if let Some(caps) = caps {
                child_process.settings.lock().caps.insert(me, caps);
            }
            let sigmask = child_process.thread().sigmask;
            child_process.threads.lock().insert(
                me,
                state::Thread {
                    clear_child_tid: if flags & u64::from(g::CLONE_CHILD_CLEARTID) != 0 {
                        child_tid
                    } else {
                        0
                    },
                    sigmask,
                    altstack: (0, g::SS_DISABLE as i32, 0),
                    pending: 0,
                    saved_mask: None,
                },
            );
            drop(child_process);
            usermode::enter(&child)
        })?;
    let tid = handle.id().as_u64();
    if flags & u64::from(g::CLONE_PARENT_SETTID) != 0 {
        usermode::write_value(parent_tid, &(tid as u32))?;
    }
    go.store(true, Ordering::Release);
    // The handle is not joined: the thread's end is seen through its clear_child_tid word.
    drop(handle);
    drop(process);
    Ok(tid)
}

/// Whether thread `tid` belongs to the calling process (it has made a system call or was
/// created by `clone`).
fn own_thread(tid: u64) -> bool {
    let process = state::current();
    tid == process.pid
        || tid == thread::current_id().as_u64()
        || process.threads.lock().contains_key(&tid)
}

/// `kill(2)`: to a process (`pid` > 0), to the caller's process group (0), or to group
/// `-pid`; `-1` reaches only the caller. Signal 0 checks that the target exists.
pub fn kill(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (pid, sig) = (a[0] as i32, a[1] as i32);
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let me = state::current().pid;
    let reason = if sig == 0 {
        alloc::string::String::new()
    } else {
        alloc::format!(
            "killed by process {me} [{}]",
            super::signal::name(sig as u32)
        )
    };
    let raise_own = || {
        if sig == 0 {
            Ok(0)
        } else {
            // To the process: the calling thread takes it.
            super::signal::raise(thread::current_id().as_u64(), sig as u64)
        }
    };
    match pid {
        -1 => raise_own(),
        p if p > 0 && p as u64 == me => raise_own(),
        p if p > 0 => job_control::signal(p as u64, sig, &reason).map(|_| 0),
        p => {
            let group = if p == 0 {
                job_control::group_of(0)?
            } else {
                u64::from(p.unsigned_abs())
            };
            let mine = job_control::group_of(0)? == group;
            match job_control::signal_group(group, sig, &reason, Some(me)) {
                Ok(_) | Err(Errno::ESRCH) if mine => raise_own(),
                result => result.map(|_| 0),
            }
        }
    }
}

/// `getpgid(2)` (and `getpgrp`, which passes 0 along).
pub fn getpgid(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let pid = a[0] as i32;
    let me = state::current().pid;
    let pid = match pid {
        0 => 0,
        p if p > 0 && p as u64 == me => 0,
        p if p > 0 => p as u64,
        _ => return Err(Errno::ESRCH),
    };
    job_control::group_of(pid)
}

pub fn getpgrp(r: &mut Registers, _: [u64; 6]) -> Result<u64> {
    getpgid(r, [0; 6])
}

/// `setpgid(2)`: moves a process (0: the caller) to a group (0: its own).
pub fn setpgid(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (pid, group) = (a[0] as i32, a[1] as i32);
    if pid < 0 || group < 0 {
        return Err(Errno::EINVAL);
    }
    let me = state::current().pid;
    let pid = if pid as u64 == me { 0 } else { pid as u64 };
    job_control::set_group(pid, group as u64).map(|_| 0)
}

pub fn tkill(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if own_thread(a[0]) {
        super::signal::raise(a[0], a[1])
    } else {
        Err(Errno::ESRCH)
    }
}

pub fn tgkill(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] == state::current().pid && own_thread(a[1]) {
        super::signal::raise(a[1], a[2])
    } else {
        Err(Errno::ESRCH)
    }
}
