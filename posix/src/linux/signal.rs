//! Signals: actions (`rt_sigaction`), per-thread masks (`rt_sigprocmask`) and alternate stacks
//! (`sigaltstack`), delivery, and `rt_sigreturn`.
//!
//! Delivery: a CPU fault in user mode reaches [`on_fault`] (through libtheseus's user fault
//! handler), a signal a program sends (`kill`, `tkill`, `tgkill`, `SIGPIPE` from a write to a
//! pipe without readers) is marked pending on the target thread and delivered by [`on_return`]
//! right before that thread next returns to user mode. A handler runs on the thread's stack
//! below the red zone, or on its alternate stack with `SA_ONSTACK`, with the frame Linux
//! builds (`rt_sigframe`: return address = `sa_restorer`, `ucontext` with the interrupted
//! registers in `sigcontext` layout and the FP/SIMD state in `fxsave` layout, `siginfo`), so a
//! handler may read and edit the interrupted state; `rt_sigreturn` resumes from the (possibly
//! edited) `ucontext`. Default actions: terminate (with the signal's name in the kill reason,
//! which the shell turns into 128 + its number), ignore, or stop (`SIGTSTP`, `SIGSTOP`,
//! `SIGTTIN`, `SIGTTOU`: every thread stops at its return to user mode until the shell
//! continues the job). Blocking a fault signal, or a fault whose handler cannot get a frame,
//! ends the program as Linux does. Job control from outside (the shell's Ctrl-Z, `fg`, `bg`,
//! `kill -STOP`) reaches [`from_outside`]: a handler gets the signal, otherwise the process
//! layer applies the default action.
//!
//! A signal for a thread blocked in a system call ends that call's wait: `interrupted` says
//! what follows (restart or `EINTR`). Not yet: signals between processes.

use super::{state, timers};
use core::sync::atomic::{AtomicUsize, Ordering};
use libtheseus::usermode::{self, Fault, Reg, Registers};
use libtheseus::{Errno, Result, thread, time};
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
pub const SIG_IGN: u64 = 1;
/// Bits of signals that can be neither caught nor blocked.
const UNBLOCKABLE: u64 = (1 << (g::SIGKILL - 1)) | (1 << (g::SIGSTOP - 1));

/// How many signals are pending in all processes: the return hook's fast path.
static PENDING: AtomicUsize = AtomicUsize::new(0);

pub fn init() {
    usermode::set_fault_handler(on_fault);
    usermode::set_return_hook(on_return);
    libtheseus::process::set_signal_handler(from_outside);
}

/// A signal from outside the process (Ctrl-C's `SIGINT`) for the process whose main thread is
/// `main`: taken (pending on the main thread) if the program handles it, dropped if it
/// ignores it; otherwise (default action, or not a Linux program) the caller kills it.
fn from_outside(main: thread::ThreadId, sig: i32) -> bool {
    let Some(process) = libtheseus::process::local_of::<state::Process>(main) else {
        return false;
    };
    let sig = sig as u32;
    let action = process.action(sig);
    match action.handler {
        SIG_DFL => false,
        SIG_IGN => true,
        _ => {
            mark_pending(&process, receiver(&process, sig), sig);
            true
        }
    }
}

/// The thread a signal for the whole process goes to: the calling thread if it belongs to
/// `process` and does not block `sig`, else the first thread that does not block it, else
/// the main thread.
pub fn receiver(process: &state::Process, sig: u32) -> u64 {
    let me = thread::current_id().as_u64();
    let threads = process.threads.lock();
    if threads.get(&me).is_some_and(|t| t.sigmask & bit(sig) == 0) {
        return me;
    }
    threads
        .iter()
        .find(|(_, t)| t.sigmask & bit(sig) == 0)
        .map_or(process.pid, |(&tid, _)| tid)
}

/// Marks `sig` pending on thread `tid` of `process` and wakes the process's signal waiters;
/// a futex wait of that thread ends with `EINTR` if the thread would take the signal.
pub fn mark_pending(process: &state::Process, tid: u64, sig: u32) {
    let blocked = {
        let mut threads = process.threads.lock();
        let t = threads.entry(tid).or_default();
        if t.pending & bit(sig) == 0 {
            t.pending |= bit(sig);
            PENDING.fetch_add(1, Ordering::SeqCst);
        }
        t.sigmask & bit(sig) != 0
    };
    if !blocked && !ignored(process, sig) {
        thread::interrupt(tid);
    }
    process.signalled.signal();
    // A signal descriptor may have become readable.
    libtheseus::layer_file::changed();
}

/// Forgets `pending` signals of a thread or process that ends without taking them.
pub fn forget(pending: u64) {
    PENDING.fetch_sub(pending.count_ones() as usize, Ordering::SeqCst);
}

fn bit(sig: u32) -> u64 {
    1 << (sig - 1)
}

/// Signals whose default action is to be ignored.
fn ignored_by_default(sig: u32) -> bool {
    matches!(sig, g::SIGCHLD | g::SIGURG | g::SIGWINCH | g::SIGCONT)
}

/// Signals whose default action is to stop the process (job control).
fn stops_by_default(sig: u32) -> bool {
    matches!(sig, g::SIGSTOP | g::SIGTSTP | g::SIGTTIN | g::SIGTTOU)
}

pub fn name(sig: u32) -> &'static str {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get(sig as usize - 1).copied().unwrap_or("SIGRT")
}

/// The number of the signal a kill reason names in brackets (`... [SIGSEGV]`), if any.
pub fn number_in(reason: &str) -> Option<u32> {
    let start = reason.rfind("[SIG")?;
    let name = &reason[start + 1..start + reason[start..].find(']')?];
    (1..=31).find(|&n| self::name(n) == name)
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
    if new.is_some() && bit(sig) & UNBLOCKABLE != 0 {
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
                mask: n[3] & !UNBLOCKABLE,
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
        let mask = match how {
            g::SIG_BLOCK => current | s,
            g::SIG_UNBLOCK => current & !s,
            g::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        } & !UNBLOCKABLE;
        process.update_thread(|t| t.sigmask = mask);
    }
    Ok(0)
}

pub fn sigaltstack(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (new, old) = (a[0], a[1]);
    let process = state::current();
    let (sp, flags, size) = process.thread().altstack;
    let on_it = sp != 0 && (sp..sp + size).contains(&r.get(Reg::Rsp));
    if old != 0 {
        // stack_t: ss_sp, ss_flags (int, padded), ss_size.
        let flags = if sp == 0 {
            g::SS_DISABLE as i32
        } else if on_it {
            g::SS_ONSTACK as i32
        } else {
            flags
        };
        let raw: (u64, i32, u32, u64) = (sp, flags, 0, size);
        usermode::write_value(old, &raw)?;
    }
    if new != 0 {
        let (nsp, nflags, _, nsize): (u64, i32, u32, u64) = usermode::read_value(new)?;
        if on_it {
            return Err(Errno::EPERM);
        }
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

/// Marks `sig` pending on thread `tid` of the calling process (delivered when that thread
/// next returns to user mode).
pub fn send(tid: u64, sig: u32) {
    mark_pending(&state::current(), tid, sig);
}

/// `siginfo_t` (128 bytes): number, errno 0, code, then `si_addr` (faults) or `si_pid` and
/// `si_uid` (sent signals).
fn siginfo(sig: u32, code: i32, word: u64) -> [u8; 128] {
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&(sig as i32).to_le_bytes());
    info[8..12].copy_from_slice(&code.to_le_bytes());
    info[16..24].copy_from_slice(&word.to_le_bytes());
    info
}

/// Size of the kernel's `ucontext`: flags, link, `stack_t` (24), `sigcontext` (256), mask.
const UCONTEXT: u64 = 8 + 8 + 24 + 256 + 8;
const SIGCONTEXT_AT: usize = 40;

/// The interrupted registers in `struct sigcontext` order.
const SIGCONTEXT_REGS: [Reg; 18] = [
    Reg::R8,
    Reg::R9,
    Reg::R10,
    Reg::R11,
    Reg::R12,
    Reg::R13,
    Reg::R14,
    Reg::R15,
    Reg::Rdi,
    Reg::Rsi,
    Reg::Rbp,
    Reg::Rbx,
    Reg::Rdx,
    Reg::Rax,
    Reg::Rcx,
    Reg::Rsp,
    Reg::Rip,
    Reg::Rflags,
];

/// Runs the handler of `action` for `sig` on the calling thread: builds the signal frame on
/// its stack and points `r` at the handler. False if the frame cannot be written. The frame
/// keeps the thread's mask, or `restore` (what `sigsuspend` replaced) for `rt_sigreturn`.
fn run_handler(
    r: &mut Registers,
    sig: u32,
    action: Action,
    info: [u8; 128],
    cr2: u64,
    restore: Option<u64>,
) -> bool {
    let process = state::current();
    let t = process.thread();
    let saved = restore.unwrap_or(t.sigmask);
    let (alt_sp, _, alt_size) = t.altstack;
    let sp_now = r.get(Reg::Rsp);
    let use_alt = action.flags & u64::from(g::SA_ONSTACK) != 0
        && alt_sp != 0
        && !(alt_sp..alt_sp + alt_size).contains(&sp_now);
    let mut sp = if use_alt {
        alt_sp + alt_size
    } else {
        sp_now.wrapping_sub(128) // the red zone
    };
    sp = sp.wrapping_sub(512) & !63;
    let fpstate = sp;
    sp = (sp.wrapping_sub(8 + UCONTEXT + 128) & !15).wrapping_sub(8);
    let (uc, info_at) = (sp + 8, sp + 8 + UCONTEXT);

    let mut ucontext = [0u8; UCONTEXT as usize];
    let put = |buf: &mut [u8], at: usize, v: u64| buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
    // uc_stack: the alternate stack's description.
    put(&mut ucontext, 16, alt_sp);
    ucontext[24..28].copy_from_slice(&(if alt_sp == 0 { g::SS_DISABLE } else { 0 }).to_le_bytes());
    put(&mut ucontext, 32, alt_size);
    for (i, reg) in SIGCONTEXT_REGS.iter().enumerate() {
        put(&mut ucontext, SIGCONTEXT_AT + i * 8, r.get(*reg));
    }
    // cs, gs, fs, ss (16 bits each): user code and stack selectors.
    ucontext[SIGCONTEXT_AT + 144..SIGCONTEXT_AT + 146].copy_from_slice(&0x23u16.to_le_bytes());
    ucontext[SIGCONTEXT_AT + 150..SIGCONTEXT_AT + 152].copy_from_slice(&0x1bu16.to_le_bytes());
    let (trapno, err) = r.trap();
    put(&mut ucontext, SIGCONTEXT_AT + 152, err);
    put(&mut ucontext, SIGCONTEXT_AT + 160, trapno);
    put(&mut ucontext, SIGCONTEXT_AT + 168, saved);
    put(&mut ucontext, SIGCONTEXT_AT + 176, cr2);
    put(&mut ucontext, SIGCONTEXT_AT + 184, fpstate);
    put(&mut ucontext, SIGCONTEXT_AT + 256, saved);

    let written = usermode::write(fpstate, &r.fp_state())
        .and_then(|_| usermode::write_value(sp, &action.restorer))
        .and_then(|_| usermode::write(uc, &ucontext))
        .and_then(|_| usermode::write(info_at, &info));
    if written.is_err() {
        return false;
    }
    let mut mask = t.sigmask | action.mask;
    if action.flags & u64::from(g::SA_NODEFER) == 0 {
        mask |= bit(sig);
    }
    process.update_thread(|t| t.sigmask = mask & !UNBLOCKABLE);
    if action.flags & u64::from(g::SA_RESETHAND) != 0 {
        process.actions.lock().insert(sig, Action::default());
    }
    r.set(Reg::Rip, action.handler);
    r.set(Reg::Rsp, sp);
    r.set(Reg::Rdi, u64::from(sig));
    r.set(Reg::Rsi, info_at);
    r.set(Reg::Rdx, uc);
    r.set(Reg::Rax, 0);
    // Handlers start with the direction and trap flags clear.
    r.set(Reg::Rflags, r.get(Reg::Rflags) & !((1 << 10) | (1 << 8)));
    true
}

/// Ends the program as its default action for `sig` does.
fn terminate(sig: u32) -> ! {
    let name = name(sig);
    libtheseus::process::kill_current_process(&alloc::format!("by signal {sig} [{name}]"))
}

/// A CPU fault in user mode: run the program's handler for its signal if it has one (and does
/// not block it); otherwise the program ends.
fn on_fault(r: &mut Registers, fault: Fault) -> bool {
    let sig = fault.signal as u32;
    let process = state::current();
    let action = process.action(sig);
    let blocked = process.thread().sigmask & bit(sig) != 0;
    if action.handler == SIG_DFL || action.handler == SIG_IGN || blocked {
        return false;
    }
    run_handler(
        r,
        sig,
        action,
        siginfo(sig, fault.code, fault.addr),
        fault.addr,
        None,
    )
}

/// Delivers the calling thread's pending, unblocked signals (one handler frame at a time),
/// after sending what the process's timers owe.
fn on_return(r: &mut Registers) {
    if PENDING.load(Ordering::Relaxed) == 0 && !timers::any_armed() {
        return;
    }
    let process = state::current();
    timers::fire_due(&process);
    let Some(sig) = take_pending(&process, !process.thread().sigmask) else {
        return;
    };
    drop(process);
    deliver(r, sig, None);
}

/// Takes the lowest signal of `wanted` pending on the calling thread, or on the process's
/// main thread (where signals for the whole process wait when every thread blocked them).
pub(super) fn take_pending(process: &state::Process, wanted: u64) -> Option<u32> {
    let me = thread::current_id().as_u64();
    let mut threads = process.threads.lock();
    for tid in [me, process.pid] {
        let Some(t) = threads.get_mut(&tid) else {
            continue;
        };
        let ready = t.pending & wanted;
        if ready != 0 {
            let sig = ready.trailing_zeros() + 1;
            t.pending &= !bit(sig);
            PENDING.fetch_sub(1, Ordering::SeqCst);
            return Some(sig);
        }
    }
    None
}

/// Whether a signal of `wanted` is pending for the calling thread (or its process's main
/// thread).
pub(super) fn is_pending(process: &state::Process, wanted: u64) -> bool {
    let me = thread::current_id().as_u64();
    let threads = process.threads.lock();
    [me, process.pid]
        .iter()
        .any(|tid| threads.get(tid).is_some_and(|t| t.pending & wanted != 0))
}

/// Whether `process` ignores `sig` (its action, or the default one).
fn ignored(process: &state::Process, sig: u32) -> bool {
    let action = process.action(sig);
    action.handler == SIG_IGN || (action.handler == SIG_DFL && ignored_by_default(sig))
}

/// Whether the calling thread has a pending signal it would take now (not blocked, not
/// ignored).
pub(super) fn deliverable(process: &state::Process) -> bool {
    // None pending anywhere (the common case: a futex wait asks on every call). A signal
    // marked pending after this look interrupts the wait that follows (`mark_pending` counts
    // it before it interrupts the thread).
    if PENDING.load(Ordering::SeqCst) == 0 {
        return false;
    }
    let me = thread::current_id().as_u64();
    let pending = {
        let threads = process.threads.lock();
        let mask = threads.get(&me).map_or(0, |t| t.sigmask);
        [me, process.pid]
            .iter()
            .filter_map(|tid| threads.get(tid))
            .fold(0, |p, t| p | t.pending)
            & !mask
    };
    // Only the pending signals are looked at (a futex wait asks on every call).
    let mut left = pending;
    while left != 0 {
        let sig = left.trailing_zeros() + 1;
        if !ignored(process, sig) {
            return true;
        }
        left &= left - 1;
    }
    false
}

/// A program's futex wait: ends with `EINTR` when a signal the thread would take is pending
/// (already, or arriving meanwhile), so its handler can run; the process's signal timers fire
/// during the wait.
pub fn wait_on_futex(
    word: &core::sync::atomic::AtomicU32,
    expected: u32,
    deadline: Option<u64>,
) -> Result<()> {
    // The process's state only once a signal or a timer is about (most waits have neither).
    let mut process = None;
    loop {
        // Cleared before looking, so a signal after the look interrupts the wait.
        thread::clear_interrupt();
        let mut next_timer = None;
        if PENDING.load(Ordering::SeqCst) != 0 || timers::any_armed() {
            let process = process.get_or_insert_with(state::current);
            next_timer = timers::fire_due(process);
            if deliverable(process) {
                return Err(Errno::EINTR);
            }
        }
        let until = match (deadline, next_timer) {
            (Some(d), Some(t)) => Some(d.min(t)),
            (d, t) => d.or(t),
        };
        match libtheseus::futex::wait_until_interruptible(word, expected, until) {
            // A timer's expiry, not the caller's deadline: fire it and look again.
            Err(Errno::ETIMEDOUT) if deadline.is_none_or(|d| time::monotonic_ns() < d) => {}
            other => return other,
        }
    }
}

/// The next signal the calling thread takes (after the process's due timers have fired),
/// taken, with its action: for an interrupted call that decides on its restart first.
pub(super) fn take_deliverable(process: &state::Process) -> Option<(u32, Action)> {
    timers::fire_due(process);
    let sig = take_pending(process, !process.thread().sigmask)?;
    let action = process.action(sig);
    Some((sig, action))
}

/// Whether `action` runs a handler (neither the default action nor ignored).
pub(super) fn handles(action: &Action) -> bool {
    action.handler != SIG_DFL && action.handler != SIG_IGN
}

/// Delivers `sig`, taken by [`take_deliverable`]; `restore` (a mask a call replaced for its
/// wait) goes in the handler's frame, or back at once when no handler runs.
pub(super) fn deliver_taken(r: &mut Registers, sig: u32, restore: Option<u64>) {
    if !deliver(r, sig, restore)
        && let Some(mask) = restore
    {
        set_mask(mask);
    }
}

/// Sets the calling thread's signal mask (`SIGKILL` and `SIGSTOP` stay unblocked).
pub(super) fn set_mask(mask: u64) {
    state::current().update_thread(|t| t.sigmask = mask & !UNBLOCKABLE);
}

/// Runs `wait` with the calling thread's mask replaced by the set at user address `set`
/// (`sigsetsize` bytes; no set: the mask as it is), as `ppoll`, `pselect6` and `epoll_pwait`
/// do: a signal the set unblocks interrupts the wait. When the wait ends with `EINTR`, the
/// old mask is kept for [`super::interrupted::after`] to restore after the handler;
/// otherwise it is back at once.
pub fn with_mask<T>(set: u64, sigsetsize: u64, wait: impl FnOnce() -> Result<T>) -> Result<T> {
    if set == 0 {
        return wait();
    }
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let temporary: u64 = usermode::read_value(set)?;
    let old = state::current().thread().sigmask;
    set_mask(temporary);
    // A pending signal the set unblocks interrupts the wait from its start.
    super::interrupted::settle_now();
    let result = wait();
    if result.as_ref().err() == Some(&Errno::EINTR) {
        state::current().update_thread(|t| t.saved_mask = Some(old));
    } else {
        set_mask(old);
    }
    result
}

/// The mask [`with_mask`] kept for an interrupted wait, taken.
pub(super) fn take_saved_mask(process: &state::Process) -> Option<u64> {
    let mut saved = None;
    process.update_thread(|t| saved = t.saved_mask.take());
    saved
}

/// What taking `sig` does: its handler runs (frame keeping `restore` as the mask to return
/// to, if given), or its default action. False if it was ignored.
fn deliver(r: &mut Registers, sig: u32, restore: Option<u64>) -> bool {
    let action = state::current().action(sig);
    match action.handler {
        SIG_IGN => false,
        SIG_DFL if ignored_by_default(sig) => false,
        // Stopped where it returns to user mode (`usermode` stops it after this hook).
        SIG_DFL if stops_by_default(sig) => {
            libtheseus::process::stop_current_process(sig as i32);
            false
        }
        SIG_DFL => terminate(sig),
        _ => {
            // SI_TKILL, from this process.
            let info = siginfo(sig, -6, state::current().pid);
            if !run_handler(r, sig, action, info, 0, restore) {
                terminate(g::SIGSEGV);
            }
            true
        }
    }
}

/// Waits until a signal of `wanted` is pending for the calling thread and takes it, or until
/// `deadline` (monotonic ns) passes (`Ok(None)`). Process timers fire meanwhile. With
/// `others_interrupt`, another signal the thread would take ends the wait with `EINTR` (it
/// is left pending for delivery).
fn wait_for(wanted: u64, deadline: Option<u64>, others_interrupt: bool) -> Result<Option<u32>> {
    let process = state::current();
    loop {
        let seen = process.signalled.count();
        let next_timer = timers::fire_due(&process);
        if let Some(sig) = take_pending(&process, wanted) {
            return Ok(Some(sig));
        }
        if others_interrupt && deliverable(&process) {
            return Err(Errno::EINTR);
        }
        if deadline.is_some_and(|d| time::monotonic_ns() >= d) {
            return Ok(None);
        }
        thread::kill_point();
        let until = match (deadline, next_timer) {
            (Some(d), Some(t)) => Some(d.min(t)),
            (d, t) => d.or(t),
        };
        process.signalled.wait_until(seen, until);
    }
}

/// `rt_sigsuspend`: replaces the mask with the given one until a signal it does not block
/// arrives; that signal's handler runs with the old mask saved for `rt_sigreturn`, and the
/// call fails with `EINTR` (an ignored signal goes on waiting).
pub fn rt_sigsuspend(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let temporary: u64 = usermode::read_value::<u64>(a[0])? & !UNBLOCKABLE;
    suspend(r, temporary)
}

/// `pause`: `rt_sigsuspend` with the current mask.
pub fn pause(r: &mut Registers, _: [u64; 6]) -> Result<u64> {
    let mask = state::current().thread().sigmask;
    suspend(r, mask)
}

fn suspend(r: &mut Registers, temporary: u64) -> Result<u64> {
    let process = state::current();
    let old = process.thread().sigmask;
    process.update_thread(|t| t.sigmask = temporary);
    drop(process);
    loop {
        let Ok(Some(sig)) = wait_for(!temporary, None, false) else {
            continue;
        };
        // The interrupted call returns EINTR once the handler is done.
        r.set(Reg::Rax, (-i64::from(Errno::EINTR.raw())) as u64);
        if deliver(r, sig, Some(old)) {
            return Err(Errno::EINTR);
        }
        // Ignored or a stop: the mask stays the temporary one while waiting again.
    }
}

/// `rt_sigtimedwait`: takes a pending signal of the set (which the caller has blocked),
/// waiting for one until the timeout (`EAGAIN`) or until another signal the thread would take
/// arrives (`EINTR`, and that signal is delivered); fills `siginfo` if asked.
pub fn rt_sigtimedwait(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (set, info, timeout, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let wanted: u64 = usermode::read_value::<u64>(set)? & !UNBLOCKABLE;
    let deadline = if timeout == 0 {
        None
    } else {
        let ts: [i64; 2] = usermode::read_value(timeout)?;
        if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
            return Err(Errno::EINVAL);
        }
        let ns = (ts[0] as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts[1] as u64);
        Some(time::monotonic_ns().saturating_add(ns))
    };
    let sig = wait_for(wanted, deadline, true)?.ok_or(Errno::EAGAIN)?;
    if info != 0 {
        usermode::write(info, &siginfo(sig, -6, state::current().pid))?;
    }
    Ok(u64::from(sig))
}

/// `rt_sigreturn`: resumes the state saved in the `ucontext` a handler's frame holds (right
/// above the return address the handler's `ret` consumed), FP/SIMD state and mask included.
pub fn rt_sigreturn(r: &mut Registers, _: [u64; 6]) -> Result<u64> {
    let uc = r.get(Reg::Rsp);
    let mut ucontext = [0u8; UCONTEXT as usize];
    if usermode::read(uc, &mut ucontext).is_err() {
        terminate(g::SIGSEGV);
    }
    let word = |at: usize| u64::from_le_bytes(ucontext[at..at + 8].try_into().unwrap());
    let fpstate = word(SIGCONTEXT_AT + 184);
    if fpstate != 0 {
        let mut fp = [0u8; 512];
        if usermode::read(fpstate, &mut fp).is_err() {
            terminate(g::SIGSEGV);
        }
        r.set_fp_state(&fp);
    }
    for (i, reg) in SIGCONTEXT_REGS.iter().enumerate() {
        r.set(*reg, word(SIGCONTEXT_AT + i * 8));
    }
    let mask = word(SIGCONTEXT_AT + 256) & !UNBLOCKABLE;
    state::current().update_thread(|t| t.sigmask = mask);
    Ok(r.get(Reg::Rax))
}

/// `sig` sent by the program to its thread `tid` (0 probes).
pub fn raise(tid: u64, sig: u64) -> Result<u64> {
    if sig == 0 {
        return Ok(0);
    }
    if sig > 64 {
        return Err(Errno::EINVAL);
    }
    send(tid, sig as u32);
    Ok(0)
}
