//! Timers: timer descriptors (`timerfd_create`, `timerfd_settime`, `timerfd_gettime`, over
//! `libtheseus::timerfd`) and timers that send a signal: `setitimer`/`getitimer`/`alarm`
//! (`ITIMER_REAL`, `SIGALRM`) and POSIX timers (`timer_create`, `timer_settime`,
//! `timer_gettime`, `timer_getoverrun`, `timer_delete`).
//!
//! Signal timers are checked, not driven by an interrupt: a due timer marks its signal pending
//! when a thread of its process next returns to user mode (after every system call, and at
//! every scheduler tick of a running thread) or while a thread waits for a signal
//! (`sigsuspend`, `sigtimedwait` and `pause` sleep until the next expiry at most). A thread
//! blocked in another call is interrupted at the next expiry (`interrupted::settle` sets the
//! thread's interrupt deadline) and sends it then. Times are kept on the monotonic clock; an absolute real-time setting is
//! converted when it is made. `ITIMER_VIRTUAL` and `ITIMER_PROF` are not offered (`EINVAL`).

use super::state::{self, Process};
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicUsize, Ordering};
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result, layer_file, time, timerfd};
use linux_raw_sys::general as g;

/// Armed signal timers in all processes: the return hook's fast path.
static ARMED: AtomicUsize = AtomicUsize::new(0);

const NS: u64 = 1_000_000_000;
/// POSIX timers a process may hold at most.
const MAX_TIMERS: usize = 256;

/// A timer that sends a signal.
#[derive(Clone, Copy, Debug, Default)]
struct SignalTimer {
    /// The next expiry (monotonic ns), `None` when disarmed.
    next: Option<u64>,
    interval: u64,
    /// The signal sent (0: none, `SIGEV_NONE`).
    signal: u32,
    /// The thread it goes to (`SIGEV_THREAD_ID`), else the process.
    thread: Option<u64>,
    /// Expirations beyond the first in the last firing (`timer_getoverrun`).
    overrun: u32,
    /// The clock its absolute settings are on.
    clock: u32,
}

/// A process's signal timers.
#[derive(Default)]
pub struct Timers {
    real: SignalTimer,
    posix: BTreeMap<u32, SignalTimer>,
    /// The earliest expiry, for waiters on descriptors (a blocked `signalfd` read wakes then
    /// and sees the signal).
    deadline: layer_file::Deadline,
    deadline_at: Option<u64>,
}

impl Timers {
    fn armed(&self) -> usize {
        usize::from(self.real.next.is_some())
            + self.posix.values().filter(|t| t.next.is_some()).count()
    }

    /// The earliest expiry of any timer.
    fn next(&self) -> Option<u64> {
        core::iter::once(&self.real)
            .chain(self.posix.values())
            .filter_map(|t| t.next)
            .min()
    }

    /// Changes the timers through `f`, keeping [`ARMED`] right.
    fn change<R>(&mut self, f: impl FnOnce(&mut Timers) -> R) -> R {
        let before = self.armed();
        let r = f(self);
        let after = self.armed();
        if after > before {
            ARMED.fetch_add(after - before, Ordering::SeqCst);
        } else {
            ARMED.fetch_sub(before - after, Ordering::SeqCst);
        }
        let next = self.next();
        if next != self.deadline_at {
            self.deadline_at = next;
            self.deadline.set(next);
        }
        r
    }

    /// What `execve` does: POSIX timers go (`ITIMER_REAL` stays).
    pub fn forget_posix_timers(&mut self) {
        self.change(|t| t.posix.clear());
    }

    /// What a process's end does: its armed timers stop counting.
    pub fn disarm_all(&mut self) {
        self.change(|t| {
            t.real.next = None;
            for timer in t.posix.values_mut() {
                timer.next = None;
            }
        });
    }
}

/// Sends the signals of `process`'s due timers (re-arming periodic ones) and returns the
/// next expiry. Cheap when no timer is armed anywhere.
pub fn fire_due(process: &Process) -> Option<u64> {
    if ARMED.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let now = time::monotonic_ns();
    let mut due = alloc::vec::Vec::new();
    let next = process.timers.lock().change(|timers| {
        for timer in core::iter::once(&mut timers.real).chain(timers.posix.values_mut()) {
            let Some(at) = timer.next.filter(|&at| at <= now) else {
                continue;
            };
            let expirations = match (now - at).checked_div(timer.interval) {
                // One shot.
                None => {
                    timer.next = None;
                    1
                }
                Some(periods) => {
                    let n = periods + 1;
                    timer.next = Some(at.saturating_add(n.saturating_mul(timer.interval)));
                    n
                }
            };
            if timer.signal != 0 {
                due.push((timer.signal, timer.thread));
                let extra = u32::try_from(expirations - 1).unwrap_or(u32::MAX);
                timer.overrun = timer.overrun.saturating_add(extra);
            }
        }
        timers.next()
    });
    for (signal, thread) in due {
        let target = thread.unwrap_or_else(|| super::signal::receiver(process, signal));
        super::signal::mark_pending(process, target, signal);
    }
    next
}

// ---- timer descriptors ---------------------------------------------------------------------

fn read_timespec_pair(addr: u64) -> Result<(u64, u64)> {
    let raw: [i64; 4] = usermode::read_value(addr)?;
    let ns = |s: i64, n: i64| -> Result<u64> {
        if s < 0 || !(0..NS as i64).contains(&n) {
            return Err(Errno::EINVAL);
        }
        Ok((s as u64).saturating_mul(NS).saturating_add(n as u64))
    };
    // struct itimerspec: it_interval, then it_value.
    Ok((ns(raw[0], raw[1])?, ns(raw[2], raw[3])?))
}

fn write_timespec_pair(addr: u64, interval: u64, value: u64) -> Result<()> {
    let raw: [i64; 4] = [
        (interval / NS) as i64,
        (interval % NS) as i64,
        (value / NS) as i64,
        (value % NS) as i64,
    ];
    usermode::write_value(addr, &raw)
}

/// The monotonic time of `value` on `clock`: absolute (`abstime`) or from now.
fn to_monotonic(clock: u32, value: u64, abstime: bool) -> u64 {
    let now = time::monotonic_ns();
    if !abstime {
        return now.saturating_add(value);
    }
    match clock {
        g::CLOCK_REALTIME | g::CLOCK_REALTIME_ALARM => {
            now.saturating_add(value.saturating_sub(time::realtime_ns()))
        }
        _ => value,
    }
}

fn check_clock(clock: u32) -> Result<()> {
    match clock {
        g::CLOCK_REALTIME
        | g::CLOCK_MONOTONIC
        | g::CLOCK_BOOTTIME
        | g::CLOCK_REALTIME_ALARM
        | g::CLOCK_BOOTTIME_ALARM => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

pub fn timerfd_create(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (clock, flags) = (a[0] as u32, a[1] as u32);
    check_clock(clock)?;
    if flags & !(g::O_NONBLOCK | g::O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    // The descriptor keeps its clock for absolute settings.
    let fd = timerfd::create(flags & g::O_NONBLOCK != 0, clock)?;
    super::fs::set_cloexec(fd, flags & g::O_CLOEXEC != 0);
    Ok(u64::from(fd))
}

pub fn timerfd_settime(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const TFD_TIMER_ABSTIME: u32 = 1;
    const TFD_TIMER_CANCEL_ON_SET: u32 = 2;
    let (fd, flags, new, old) = (a[0] as u32, a[1] as u32, a[2], a[3]);
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = read_timespec_pair(new)?;
    let clock = timerfd::tag(fd)?;
    let first = (value != 0).then(|| to_monotonic(clock, value, flags & TFD_TIMER_ABSTIME != 0));
    let was = timerfd::set(fd, first, interval)?;
    if old != 0 {
        write_timespec_pair(old, was.interval_ns, was.value_ns)?;
    }
    Ok(0)
}

pub fn timerfd_gettime(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let now = timerfd::get(a[0] as u32)?;
    write_timespec_pair(a[1], now.interval_ns, now.value_ns).map(|_| 0)
}

// ---- signal timers -------------------------------------------------------------------------

/// A timer's (interval, time left) now.
fn setting(timer: &SignalTimer) -> (u64, u64) {
    let left = timer
        .next
        .map_or(0, |n| n.saturating_sub(time::monotonic_ns()).max(1));
    (timer.interval, left)
}

fn read_timeval_pair(addr: u64) -> Result<(u64, u64)> {
    let raw: [i64; 4] = usermode::read_value(addr)?;
    let ns = |s: i64, us: i64| -> Result<u64> {
        if s < 0 || !(0..1_000_000).contains(&us) {
            return Err(Errno::EINVAL);
        }
        Ok((s as u64)
            .saturating_mul(NS)
            .saturating_add(us as u64 * 1000))
    };
    // struct itimerval: it_interval, then it_value.
    Ok((ns(raw[0], raw[1])?, ns(raw[2], raw[3])?))
}

fn write_timeval_pair(addr: u64, (interval, value): (u64, u64)) -> Result<()> {
    // Round a time left up to a microsecond, so an armed timer never reads as disarmed.
    let us = |ns: u64| ns.div_ceil(1000);
    let raw: [i64; 4] = [
        (us(interval) / 1_000_000) as i64,
        (us(interval) % 1_000_000) as i64,
        (us(value) / 1_000_000) as i64,
        (us(value) % 1_000_000) as i64,
    ];
    usermode::write_value(addr, &raw)
}

/// Sets `ITIMER_REAL` to expire in `value` ns (0 disarms) and then every `interval`;
/// returns the previous (interval, time left).
fn set_real(value: u64, interval: u64) -> (u64, u64) {
    let process = state::current();
    let mut timers = process.timers.lock();
    let old = setting(&timers.real);
    timers.change(|t| {
        t.real = SignalTimer {
            next: (value != 0).then(|| time::monotonic_ns().saturating_add(value)),
            interval: if value != 0 { interval } else { 0 },
            signal: g::SIGALRM,
            thread: None,
            overrun: 0,
            clock: g::CLOCK_MONOTONIC,
        };
    });
    drop(timers);
    process.signalled.signal();
    old
}

pub fn setitimer(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (which, new, old) = (a[0] as u32, a[1], a[2]);
    if which != g::ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = if new == 0 {
        (0, 0)
    } else {
        read_timeval_pair(new)?
    };
    let was = set_real(value, interval);
    if old != 0 {
        write_timeval_pair(old, was)?;
    }
    Ok(0)
}

pub fn getitimer(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] as u32 != g::ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let now = setting(&state::current().timers.lock().real);
    write_timeval_pair(a[1], now).map(|_| 0)
}

/// `alarm`: `SIGALRM` in `a[0]` seconds (0 cancels); returns the seconds the previous alarm
/// had left, rounded to the nearest (at least 1 if any time was left), as Linux does.
pub fn alarm(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let seconds = a[0] & 0xffff_ffff;
    let (_, left) = set_real(seconds.saturating_mul(NS), 0);
    Ok(if left == 0 {
        0
    } else {
        ((left + NS / 2) / NS).max(1)
    })
}

pub fn timer_create(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (clock, event, out) = (a[0] as u32, a[1], a[2]);
    check_clock(clock)?;
    let process = state::current();
    let mut timers = process.timers.lock();
    if timers.posix.len() >= MAX_TIMERS {
        return Err(Errno::EAGAIN);
    }
    let id = (0..).find(|i| !timers.posix.contains_key(i)).unwrap_or(0);
    let mut timer = SignalTimer {
        signal: g::SIGALRM,
        clock,
        ..SignalTimer::default()
    };
    if event != 0 {
        // struct sigevent: sigev_value (8), sigev_signo (4), sigev_notify (4), then the
        // thread id for SIGEV_THREAD_ID.
        let raw: [u32; 5] = usermode::read_value(event)?;
        let (signo, notify, tid) = (raw[2], raw[3], raw[4]);
        match notify {
            g::SIGEV_NONE => timer.signal = 0,
            g::SIGEV_SIGNAL | g::SIGEV_THREAD_ID => {
                if !(1..=64).contains(&signo) {
                    return Err(Errno::EINVAL);
                }
                timer.signal = signo;
                if notify == g::SIGEV_THREAD_ID {
                    if !process.threads.lock().contains_key(&u64::from(tid))
                        && u64::from(tid) != process.pid
                    {
                        return Err(Errno::EINVAL);
                    }
                    timer.thread = Some(u64::from(tid));
                }
            }
            _ => return Err(Errno::EINVAL),
        }
    }
    usermode::write_value(out, &(id as i32))?;
    timers.posix.insert(id, timer);
    Ok(0)
}

pub fn timer_settime(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (id, flags, new, old) = (a[0] as u32, a[1] as u32, a[2], a[3]);
    if flags & !g::TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = read_timespec_pair(new)?;
    let process = state::current();
    let mut timers = process.timers.lock();
    let was = setting(timers.posix.get(&id).ok_or(Errno::EINVAL)?);
    timers.change(|t| {
        if let Some(timer) = t.posix.get_mut(&id) {
            let abstime = flags & g::TIMER_ABSTIME != 0;
            timer.next = (value != 0).then(|| to_monotonic(timer.clock, value, abstime));
            timer.interval = if value != 0 { interval } else { 0 };
            timer.overrun = 0;
        }
    });
    drop(timers);
    process.signalled.signal();
    if old != 0 {
        write_timespec_pair(old, was.0, was.1)?;
    }
    Ok(0)
}

pub fn timer_gettime(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let process = state::current();
    let now = setting(
        process
            .timers
            .lock()
            .posix
            .get(&(a[0] as u32))
            .ok_or(Errno::EINVAL)?,
    );
    write_timespec_pair(a[1], now.0, now.1).map(|_| 0)
}

pub fn timer_getoverrun(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let process = state::current();
    let timers = process.timers.lock();
    let timer = timers.posix.get(&(a[0] as u32)).ok_or(Errno::EINVAL)?;
    Ok(u64::from(timer.overrun.min(i32::MAX as u32)))
}

pub fn timer_delete(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let id = a[0] as u32;
    let process = state::current();
    process
        .timers
        .lock()
        .change(|t| t.posix.remove(&id))
        .ok_or(Errno::EINVAL)?;
    Ok(0)
}

/// Whether any process has an armed signal timer (the return hook's fast path).
/// The earliest expiry of `process`'s signal timers.
pub fn next_expiry(process: &Process) -> Option<u64> {
    process.timers.lock().deadline_at
}

pub fn any_armed() -> bool {
    ARMED.load(Ordering::Relaxed) != 0
}
