//! Signals between processes, process groups and the terminal's foreground group.
//!
//! A process is named by its id (its first thread's id). A process group is the job the
//! shell started the process in (`vfs::ProcessContext::job`), inherited by children; a
//! process may move itself or another process to a group of its own (`setpgid`), whose id is
//! then that process's id. The shell's job ids lie above every task id, so the two never
//! meet. The console's foreground group is the job whose readers get its input (others are
//! stopped with `SIGTTIN`) and whose processes Ctrl-C and Ctrl-Z reach.

use crate::{Errno, Result};
use alloc::sync::Arc;
use alloc::vec::Vec;
use vfs::ProcessContext;

/// The context of the live process `pid`, if `pid` names one (its first thread).
fn process(pid: u64) -> Option<Arc<ProcessContext>> {
    let ctx = task::context_of::<ProcessContext>(pid)?;
    task::tasks_sharing_context(pid)
        .contains(&pid)
        .then_some(ctx)
}

/// Whether `pid` is a live process.
pub fn exists(pid: u64) -> bool {
    process(pid).is_some()
}

/// Sends `signal` to process `pid` as `kill(2)` does: a program that handles or ignores it
/// gets it, otherwise its default action applies (stop, continue, ignore, or end the
/// process, which then ends with `reason`). Signal 0 only checks that `pid` exists. `ESRCH`
/// if it does not.
pub fn signal(pid: u64, signal: i32, reason: &str) -> Result<()> {
    if !(0..=64).contains(&signal) {
        return Err(Errno::EINVAL);
    }
    if process(pid).is_none() {
        return Err(Errno::ESRCH);
    }
    if signal == 0 {
        return Ok(());
    }
    ::process::signal(pid, signal, reason).map_err(|_| Errno::ESRCH)
}

/// The process group of process `pid` (0: the caller). A process started outside any job
/// is its own group.
pub fn group_of(pid: u64) -> Result<u64> {
    let (pid, ctx) = if pid == 0 {
        let ctx = task::context::<ProcessContext>().ok_or(Errno::ESRCH)?;
        (own_pid(), ctx)
    } else {
        (pid, process(pid).ok_or(Errno::ESRCH)?)
    };
    Ok(match ctx.job() {
        0 => pid,
        job => job,
    })
}

/// The calling process's id: the lowest id among its live threads, which is its first.
fn own_pid() -> u64 {
    let me = task::current_id();
    task::tasks_sharing_context(me)
        .into_iter()
        .min()
        .unwrap_or(me)
}

/// Moves process `pid` (0: the caller) to group `group` (0: a group of its own, whose id is
/// the process's id), as `setpgid(2)`. `group` must be the process's own id or an existing
/// group (`EPERM` otherwise).
pub fn set_group(pid: u64, group: u64) -> Result<()> {
    let (pid, ctx) = if pid == 0 {
        (
            own_pid(),
            task::context::<ProcessContext>().ok_or(Errno::ESRCH)?,
        )
    } else {
        (pid, process(pid).ok_or(Errno::ESRCH)?)
    };
    let group = if group == 0 { pid } else { group };
    if group != pid && members(group).is_empty() {
        return Err(Errno::EPERM);
    }
    ctx.set_job(group);
    Ok(())
}

/// The processes of group `group`, by id.
pub fn members(group: u64) -> Vec<u64> {
    let mut pids: Vec<u64> = vfs::job_tasks(group)
        .into_iter()
        .filter_map(|t| task::tasks_sharing_context(t).into_iter().min())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Sends `signal` to every process of group `group` but `except`; how many there were
/// (`ESRCH` when the group has no process, `except` aside).
pub fn signal_group(group: u64, signal: i32, reason: &str, except: Option<u64>) -> Result<usize> {
    let targets: Vec<u64> = members(group)
        .into_iter()
        .filter(|&pid| Some(pid) != except)
        .collect();
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    for &pid in &targets {
        // A member that ended meanwhile is no error.
        let _ = self::signal(pid, signal, reason);
    }
    Ok(targets.len())
}

/// The group that owns the console's input (`tcgetpgrp`); the caller's group while the
/// shell's prompt holds it.
pub fn foreground_group() -> Result<u64> {
    match vfs::console_foreground() {
        0 => group_of(0),
        job => Ok(job),
    }
}

/// Gives the console's input to group `group` (`tcsetpgrp`); `EPERM` if it has no process.
pub fn set_foreground_group(group: u64) -> Result<()> {
    if members(group).is_empty() {
        return Err(Errno::EPERM);
    }
    vfs::set_console_foreground(group);
    Ok(())
}
