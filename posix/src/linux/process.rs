//! Processes: `clone` without `CLONE_THREAD` and `vfork` (a new process that shares the
//! caller's memory, `CLONE_VM | CLONE_VFORK`: what musl's `posix_spawn`, and so
//! `std::process::Command`, uses), `execve`, `wait4`, `waitid`.
//!
//! A new process gets a copy of the caller's descriptor table, working directory and
//! environment (libtheseus's `process::spawn`), its signal actions, mask and close-on-exec
//! set, and starts in user mode with the caller's registers (`rax` = 0) on the stack it gave.
//! The caller is suspended until the child calls `execve` or ends, as `vfork` does. `fork`
//! (a copy of the memory) has no meaning in one address space: `ENOSYS`.
//!
//! `execve` ends the process's other threads, loads the new program (libtheseus
//! `process::exec`), closes the close-on-exec descriptors, resets caught signals to their
//! default action, unmaps what the old program mapped, releases a `vfork` parent, and enters
//! the new program. `wait4` waits for a child (`pid` > 0) or any child (-1, 0 or < -1: there
//! are no process groups) and reports Linux wait statuses: exit code, or the signal named in
//! the kill reason (`SIGKILL` for a kill without one, `SIGINT` for Ctrl-C).

use super::state::{self, Child, Event};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use libtheseus::thread::ExitStatus;
use libtheseus::usermode::{self, Reg, Registers};
use libtheseus::{Errno, Result, pidfd, thread};
use linux_raw_sys::general as g;

/// Largest total size of `execve`'s arguments and environment.
const ARG_MAX: usize = 128 * 1024;
const PATH_MAX: usize = 4096;

pub fn vfork(r: &mut Registers, _: [u64; 6]) -> Result<u64> {
    let flags = u64::from(g::CLONE_VM | g::CLONE_VFORK) | u64::from(g::SIGCHLD);
    clone_process(r, [flags, 0, 0, 0, 0, 0])
}

pub fn clone_process(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (flags, stack, tls) = (a[0], a[1], a[4]);
    let shared = u64::from(g::CLONE_VM | g::CLONE_VFORK);
    if flags & shared != shared {
        return Err(Errno::ENOSYS);
    }
    let mut child = r.clone();
    child.set(Reg::Rax, 0);
    if stack != 0 {
        child.set(Reg::Rsp, stack);
    }
    if flags & u64::from(g::CLONE_SETTLS) != 0 {
        if tls >= 0x0000_8000_0000_0000 {
            return Err(Errno::EPERM);
        }
        child.set_thread_pointer(tls);
    }
    let parent = state::current();
    let release = Arc::new(Event::default());
    let seen = release.count();
    let ended = Arc::new(Event::default());
    let inherited = (
        parent.pid,
        parent.actions.lock().clone(),
        parent.cloexec.lock().clone(),
        parent.dir_paths.lock().clone(),
        *parent.umask.lock(),
        parent.thread().sigmask,
        parent.child_ended.clone(),
        release.clone(),
        ended.clone(),
    );
    let handle = libtheseus::process::spawn(&thread::current_name(), move || {
        let (ppid, actions, cloexec, dirs, umask, sigmask, parent_event, release, ended) =
            inherited;
        let me = state::current();
        me.ppid.store(ppid, Ordering::Relaxed);
        *me.actions.lock() = actions;
        *me.cloexec.lock() = cloexec;
        *me.dir_paths.lock() = dirs;
        *me.umask.lock() = umask;
        *me.parent_event.lock() = Some(parent_event);
        *me.end_event.lock() = Some(ended);
        *me.vfork_release.lock() = Some(release);
        me.update_thread(|t| t.sigmask = sigmask);
        drop(me);
        usermode::enter(&child)
    })?;
    let pid = handle.id().as_u64();
    parent.children.lock().insert(pid, Child { handle, ended });
    drop(parent);
    // The parent continues once the child has called execve or ended.
    while release.count() == seen {
        release.wait_change(seen, 100);
    }
    Ok(pid)
}

/// A NULL-terminated array of C strings (`argv`, `envp`) from user memory.
fn string_array(addr: u64, total: &mut usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    for i in 0.. {
        let ptr: u64 = usermode::read_value(addr + i * 8)?;
        if ptr == 0 {
            break;
        }
        let bytes = usermode::read_c_string(ptr, ARG_MAX)?;
        *total += bytes.len() + 9;
        if *total > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        out.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(out)
}

pub fn execve(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let path = usermode::read_c_string(a[0], PATH_MAX)?;
    let path = String::from_utf8(path).map_err(|_| Errno::ENOENT)?;
    let mut total = 0;
    let args = string_array(a[1], &mut total)?;
    let env = string_array(a[2], &mut total)?;
    // Check what can be checked before the point of no return.
    let meta = libtheseus::fs::stat(&path)?;
    if meta.file_type != libtheseus::fs::FileType::File {
        return Err(Errno::EACCES);
    }
    libtheseus::process::kill_other_threads("the program called execve");
    let regs = libtheseus::process::exec(&path, args, env)?;
    let process = state::current();
    process.reset_for_exec();
    drop(process);
    usermode::enter(&regs)
}

/// The Linux wait status of a child's end.
fn wait_status(exit: &ExitStatus) -> u32 {
    match exit {
        ExitStatus::Exited(code) => ((*code as u32) & 0xff) << 8,
        ExitStatus::Killed(reason) => {
            let first = reason.lines().next().unwrap_or("");
            super::signal::number_in(first).unwrap_or(if first.contains("interrupt") {
                g::SIGINT
            } else {
                g::SIGKILL
            })
        }
    }
}

pub fn wait4(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (pid, status_at, options, rusage) = (a[0] as i32, a[1], a[2] as u32, a[3]);
    if options & !(g::WNOHANG | g::WUNTRACED | g::WCONTINUED | g::__WALL | g::__WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    if status_at != 0 {
        usermode::check(status_at, 4, true)?;
    }
    if rusage != 0 {
        usermode::check(rusage, 144, true)?;
    }
    match wait_child(pid, options & g::WNOHANG != 0)? {
        Some((child_pid, status)) => {
            if status_at != 0 {
                usermode::write_value(status_at, &status)?;
            }
            if rusage != 0 {
                usermode::write(rusage, &[0u8; 144])?;
            }
            Ok(child_pid)
        }
        None => Ok(0),
    }
}

/// `waitid(idtype, id, infop, options)`: `P_ALL`, `P_PID` or `P_PIDFD`, `WEXITED` (with
/// `WNOHANG`, `WNOWAIT` is not supported); fills `siginfo` with `SIGCHLD`, `CLD_EXITED` or
/// `CLD_KILLED`, the pid and the status.
pub fn waitid(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const P_PIDFD: u64 = g::P_PIDFD as u64;
    let (idtype, id, info, options) = (a[0], a[1], a[2], a[3] as u32);
    if options & g::WEXITED == 0 || options & g::WNOWAIT != 0 {
        return Err(Errno::EINVAL);
    }
    let pid = match idtype {
        P_ALL => -1,
        P_PID => i32::try_from(id).map_err(|_| Errno::EINVAL)?,
        P_PIDFD => {
            let fd = u32::try_from(id).map_err(|_| Errno::EBADF)?;
            i32::try_from(pidfd::pid_of(fd)?).map_err(|_| Errno::EINVAL)?
        }
        _ => return Err(Errno::EINVAL),
    };
    if info != 0 {
        usermode::check(info, 128, true)?;
    }
    let mut raw = [0u8; 128];
    if let Some((child_pid, status)) = wait_child(pid, options & g::WNOHANG != 0)? {
        const CLD_EXITED: i32 = 1;
        const CLD_KILLED: i32 = 2;
        let (code, value) = if status & 0x7f == 0 {
            (CLD_EXITED, (status >> 8) & 0xff)
        } else {
            (CLD_KILLED, status & 0x7f)
        };
        raw[0..4].copy_from_slice(&(g::SIGCHLD as i32).to_le_bytes());
        raw[8..12].copy_from_slice(&code.to_le_bytes());
        raw[16..20].copy_from_slice(&(child_pid as i32).to_le_bytes());
        raw[24..28].copy_from_slice(&(value as i32).to_le_bytes());
    }
    if info != 0 {
        usermode::write(info, &raw)?;
    }
    Ok(0)
}

/// `pidfd_open(pid, flags)`: a descriptor for process `pid` (close-on-exec, as on Linux),
/// readable once the process has ended; `flags` 0 or `PIDFD_NONBLOCK` (`O_NONBLOCK`).
pub fn pidfd_open(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let flags = a[1] as u32;
    if flags & !g::O_NONBLOCK != 0 {
        return Err(Errno::EINVAL);
    }
    let pid = i32::try_from(a[0]).map_err(|_| Errno::EINVAL)?;
    if pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let nonblocking = flags & g::O_NONBLOCK != 0;
    // A child that ended and was not waited for is no longer a live task: its handle is.
    let fd = match state::current().children.lock().get(&(pid as u64)) {
        Some(child) => pidfd::open_child(&child.handle, nonblocking)?,
        None => pidfd::open(pid as u64, nonblocking)?,
    };
    super::fs::set_cloexec(fd, true);
    Ok(u64::from(fd))
}

/// `pidfd_send_signal(pidfd, sig, info, flags)`: `kill` of the descriptor's process (no
/// `siginfo`, no flags).
pub fn pidfd_send_signal(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[2] != 0 || a[3] != 0 {
        return Err(Errno::EINVAL);
    }
    let pid = pidfd::pid_of(u32::try_from(a[0]).map_err(|_| Errno::EBADF)?)?;
    super::thread::kill(r, [pid, a[1], 0, 0, 0, 0])
}

/// Waits for the end of child `pid` (> 0) or of any child; `None` if `nohang` and none has
/// ended. Returns the child's pid and Linux wait status; the child is forgotten.
fn wait_child(pid: i32, nohang: bool) -> Result<Option<(u64, u32)>> {
    let process = state::current();
    loop {
        let seen = process.child_ended.count();
        let ended = {
            let mut children = process.children.lock();
            let candidate = if pid > 0 {
                if !children.contains_key(&(pid as u64)) {
                    return Err(Errno::ECHILD);
                }
                children
                    .get(&(pid as u64))
                    .filter(|c| c.has_ended())
                    .map(|_| pid as u64)
            } else {
                if children.is_empty() {
                    return Err(Errno::ECHILD);
                }
                children
                    .iter()
                    .find(|(_, c)| c.has_ended())
                    .map(|(&p, _)| p)
            };
            candidate.and_then(|p| children.remove(&p).map(|c| (p, c)))
        };
        if let Some((child_pid, Child { handle, .. })) = ended {
            return Ok(Some((child_pid, wait_status(&handle.join()))));
        }
        if nohang {
            return Ok(None);
        }
        process.child_ended.wait_change_interruptible(seen, 50)?;
    }
}
