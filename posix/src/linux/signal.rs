//! Signals, as far as they go today: the actions (`rt_sigaction`), the per-thread mask
//! (`rt_sigprocmask`) and alternate stack (`sigaltstack`) are recorded and reported back as
//! Linux does, so that runtimes that install handlers at start (std's stack-overflow handler,
//! musl's `abort`) work. A signal a program sends itself with its default action ends the
//! program (`SIGABRT` from `abort()` included); an ignored one does nothing. Running
//! user handlers (for faults, `SIGINT`...) is the next step; until then a CPU fault ends the
//! program with the kernel's report.

use super::state;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result};
use linux_raw_sys::general as g;

/// A recorded `struct sigaction` (kernel layout).
#[derive(Clone, Copy, Debug, Default)]
pub struct Action {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;

/// Signals whose default action is to be ignored.
fn ignored_by_default(sig: u32) -> bool {
    matches!(sig, g::SIGCHLD | g::SIGURG | g::SIGWINCH | g::SIGCONT)
}

pub fn rt_sigaction(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (sig, new, old, size) = (a[0] as u32, a[1], a[2], a[3]);
    if sig == 0 || sig > 64 || size != 8 {
        return Err(Errno::EINVAL);
    }
    let new: Option<[u64; 4]> = if new == 0 {
        None
    } else {
        Some(usermode::read_value(new)?)
    };
    if new.is_some() && (sig == g::SIGKILL || sig == g::SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let process = state::current();
    let mut actions = process.actions.lock();
    let current = actions.get(&sig).copied().unwrap_or_default();
    if old != 0 {
        let raw = [
            current.handler,
            current.flags,
            current.restorer,
            current.mask,
        ];
        usermode::write_value(old, &raw)?;
    }
    if let Some(n) = new {
        actions.insert(
            sig,
            Action {
                handler: n[0],
                flags: n[1],
                restorer: n[2],
                mask: n[3],
            },
        );
    }
    Ok(0)
}

pub fn rt_sigprocmask(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (how, set, old, size) = (a[0] as u32, a[1], a[2], a[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let process = state::current();
    let current = process.thread().sigmask;
    let set: Option<u64> = if set == 0 {
        None
    } else {
        Some(usermode::read_value(set)?)
    };
    if old != 0 {
        usermode::write_value(old, &current)?;
    }
    if let Some(s) = set {
        let unblockable = (1u64 << (g::SIGKILL - 1)) | (1u64 << (g::SIGSTOP - 1));
        let mask = match how {
            g::SIG_BLOCK => current | s,
            g::SIG_UNBLOCK => current & !s,
            g::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        } & !unblockable;
        process.update_thread(|t| t.sigmask = mask);
    }
    Ok(0)
}

pub fn sigaltstack(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (new, old) = (a[0], a[1]);
    let process = state::current();
    let (sp, flags, size) = process.thread().altstack;
    if old != 0 {
        // stack_t: ss_sp, ss_flags (int, padded), ss_size.
        let flags = if sp == 0 { g::SS_DISABLE as i32 } else { flags };
        let raw: (u64, i32, u32, u64) = (sp, flags, 0, size);
        usermode::write_value(old, &raw)?;
    }
    if new != 0 {
        let (nsp, nflags, _, nsize): (u64, i32, u32, u64) = usermode::read_value(new)?;
        if nflags as u32 & g::SS_DISABLE != 0 {
            process.update_thread(|t| t.altstack = (0, g::SS_DISABLE as i32, 0));
        } else if nflags != 0 && nflags as u32 != g::SS_AUTODISARM {
            return Err(Errno::EINVAL);
        } else if nsize < u64::from(g::MINSIGSTKSZ) {
            return Err(Errno::ENOMEM);
        } else {
            process.update_thread(|t| t.altstack = (nsp, 0, nsize));
        }
    }
    Ok(0)
}

/// Signal `sig` sent by the program to itself.
pub fn deliver_fatal(sig: u32) -> Result<u64> {
    let action = state::current()
        .actions
        .lock()
        .get(&sig)
        .copied()
        .unwrap_or_default();
    if action.handler == SIG_IGN || (action.handler == SIG_DFL && ignored_by_default(sig)) {
        return Ok(0);
    }
    // A handler cannot run yet: the default action (termination) happens either way.
    let name = match sig {
        g::SIGABRT => "SIGABRT",
        g::SIGSEGV => "SIGSEGV",
        g::SIGBUS => "SIGBUS",
        g::SIGILL => "SIGILL",
        g::SIGFPE => "SIGFPE",
        g::SIGTRAP => "SIGTRAP",
        g::SIGTERM => "SIGTERM",
        g::SIGKILL => "SIGKILL",
        g::SIGINT => "SIGINT",
        _ => "signal",
    };
    libtheseus::process::kill_current_process(&alloc::format!(
        "killed by {name} (signal {sig}) [{name}]"
    ))
}
