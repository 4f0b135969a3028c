//! System calls that a signal interrupts: what the thread's blocking waits need at each
//! system-call entry, and whether an interrupted call restarts or fails with `EINTR`.
//!
//! A signal marked pending on a thread that would take it calls `thread::interrupt`, which
//! ends the thread's blocking wait (pipe, socket, terminal, `poll`, sleep, futex, lock,
//! `wait4`...) with `EINTR`. The mark stays until [`settle`] finds, at the next system-call
//! entry, that no signal the thread would take is pending any more: it is a level, as Linux's
//! `TIF_SIGPENDING`, so a signal that arrives between two calls still interrupts the next
//! wait, and a signal already delivered does not.
//!
//! When the call returns `EINTR`, [`after`] takes the signal right away (before the return
//! hook would) so it can decide first, as Linux's `ERESTARTSYS` family does, per call:
//! `Rule::Restart` calls are made again when no handler runs (the signal was a stop, or
//! ignored meanwhile) or when the handler has `SA_RESTART`; `Rule::RestartWithoutHandler`
//! calls (`poll`, `select`, sleeps, futex waits with a timeout) only when no handler runs;
//! the others return `EINTR`. Making a call again means resuming at its `syscall`
//! instruction (2 bytes back) with its number in `rax`; the arguments are still in their
//! registers. A sleep made again sleeps its whole time again (Linux resumes with the time
//! left). The process's next signal timer also ends the waits (`thread::set_interrupt_deadline`
//! at each entry): the timer's signal is then sent and taken the same way.

use super::{signal, state, timers};
use crate::syscall_restart::{Rule, rule};
use libtheseus::thread;
use libtheseus::usermode::{Reg, Registers};
use linux_raw_sys::general as g;

/// At a system call's entry: the thread's interrupt mark holds again only if a signal it
/// would take is still pending (one delivered since, or blocked meanwhile, no longer cuts
/// its waits short).
pub fn settle() {
    if thread::interrupt_pending() {
        settle_now();
    }
    // The process's next signal timer cuts the call's waits short, so that its signal is
    // sent (by `after`) even to a thread blocked in a pipe read.
    let next_timer = if timers::any_armed() {
        timers::next_expiry(&state::current())
    } else {
        None
    };
    thread::set_interrupt_deadline(next_timer);
}

/// [`settle`] whether or not the mark is set (the thread's mask changed).
pub fn settle_now() {
    thread::clear_interrupt();
    // Looked at after the clear: a signal marked pending meanwhile sets the mark again.
    if signal::deliverable(&state::current()) {
        thread::interrupt(thread::current_id().as_u64());
    }
}

/// Call `number` (arguments `a`) returned `EINTR` (already in `rax`): take the pending
/// signal now, making the call again first if its rule says so (the handler's frame then
/// holds the state that makes it again), and put back the mask a `ppoll`/`pselect6`/
/// `epoll_pwait` replaced for its wait (in the handler's frame, so that `rt_sigreturn`
/// restores it, or at once when no handler runs).
pub fn after(r: &mut Registers, number: u64, a: [u64; 6]) {
    let rule = rule(number, a);
    let process = state::current();
    let restore = signal::take_saved_mask(&process);
    let taken = signal::take_deliverable(&process);
    drop(process);
    let handler = taken.and_then(|(_, action)| signal::handles(&action).then_some(action.flags));
    let again = match (rule, taken.is_some(), handler) {
        (Rule::SignalWait, ..) => false,
        // Nothing to take (a timer's deadline that sent no signal, a signal blocked or
        // ignored meanwhile): the wait was cut short for nothing.
        (_, false, _) => true,
        (Rule::Never, true, _) => false,
        (_, true, None) => true,
        (Rule::Restart, true, Some(flags)) => flags & u64::from(g::SA_RESTART) != 0,
        (Rule::RestartWithoutHandler, true, Some(_)) => false,
    };
    if again {
        r.set(Reg::Rip, r.get(Reg::Rip).wrapping_sub(2));
        r.set(Reg::Rax, number);
    }
    match taken {
        Some((sig, _)) => signal::deliver_taken(r, sig, restore),
        None => {
            if let Some(mask) = restore {
                signal::set_mask(mask);
            }
        }
    }
}
