//! Blocking: wait queues and the futex.
//!
//! Wakers may run on another CPU at any moment, so a waiter never looks at its condition
//! before it can be woken: it marks itself blocked (`prepare_block`) and puts itself on the
//! queue (or the futex's list) first, then looks, then sleeps or cancels the block. A waker
//! changes the condition before it takes a waiter off the queue, so either the waiter sees
//! the change or the waker sees the waiter.

use crate::{Task, WakeReason, cancel_block, commit_block, current, prepare_block, wake, wake_if};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};
use spin::Mutex;
use x86_64::instructions::interrupts;

/// How an interruptible wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEnd {
    /// The condition holds.
    Ready,
    /// The deadline passed (or a kill ended the wait) with the condition unmet.
    TimedOut,
    /// [`interrupt`]: a signal for the task.
    Interrupted,
}

/// Tasks waiting for something. Waiters re-check their condition after every wake-up.
///
/// A notification of an empty queue (most of them: every pipe write notifies its readers and
/// the readiness waiters) only reads a count, without masking interrupts or locking. That
/// count is the queue's length, stored under the lock after every change; a waiter stores it
/// (queued) and then fences before it looks at its condition, a notifier fences after the
/// change before it reads the count. With the two sequentially consistent fences, either the
/// waiter sees the change or the notifier sees the waiter counted.
pub struct WaitQueue {
    waiters: Mutex<VecDeque<Arc<Task>>>,
    queued: AtomicUsize,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub const fn new() -> WaitQueue {
        WaitQueue {
            waiters: Mutex::new(VecDeque::new()),
            queued: AtomicUsize::new(0),
        }
    }

    /// Blocks until `condition` holds. The condition is evaluated with interrupts disabled
    /// (it must not block or take a lock a preempted task may hold), after the task is on the
    /// queue: a waker that changes what it looks at and then notifies, on any CPU or in an
    /// interrupt handler, cannot slip between the look and the sleep.
    pub fn wait_until(&self, mut condition: impl FnMut() -> bool) {
        self.wait_until_deadline(&mut condition, None);
    }

    /// Like [`WaitQueue::wait_until`] with a deadline (monotonic ns). Returns false on timeout.
    ///
    /// A [`kill`](crate::kill) of the waiting task ends the wait: if interrupts were enabled
    /// on entry the task then unwinds from here ([`kill_point`](crate::kill_point));
    /// otherwise the call returns false with the condition unmet.
    pub fn wait_until_deadline(
        &self,
        condition: &mut dyn FnMut() -> bool,
        deadline: Option<u64>,
    ) -> bool {
        self.wait(condition, deadline, false) == WaitEnd::Ready
    }

    /// [`WaitQueue::wait_until_deadline`] that also ends, with [`WaitEnd::Interrupted`],
    /// when [`interrupt`] is called for the task or was called and not cleared yet: the
    /// blocking system calls of programs, which a signal must be able to cut short. The
    /// condition is looked at first, so a wait whose condition holds is never interrupted.
    pub fn wait_interruptible(
        &self,
        condition: &mut dyn FnMut() -> bool,
        deadline: Option<u64>,
    ) -> WaitEnd {
        self.wait(condition, deadline, true)
    }

    fn wait(
        &self,
        condition: &mut dyn FnMut() -> bool,
        deadline: Option<u64>,
        interruptible: bool,
    ) -> WaitEnd {
        let were_enabled = interrupts::are_enabled();
        interrupts::disable();
        let me = current();
        let interrupt_at = if interruptible {
            me.interrupt_deadline()
        } else {
            None
        };
        let end = loop {
            // A task asked to stop stops before it looks: the condition may be input meant
            // for whoever owns the terminal once it has stopped.
            crate::stay_stopped(&me);
            me.interruptible.store(interruptible, Ordering::SeqCst);
            let seq = prepare_block(&me);
            {
                let mut waiters = self.waiters.lock();
                waiters.push_back(me.clone());
                self.queued.store(waiters.len(), Ordering::Relaxed);
            }
            // Counted before the look (see the type's documentation).
            fence(Ordering::SeqCst);
            let now = if deadline.is_some() || interrupt_at.is_some() {
                time::monotonic_ns()
            } else {
                0
            };
            let verdict = if condition() {
                Some(WaitEnd::Ready)
            } else if deadline.is_some_and(|d| now >= d) {
                Some(WaitEnd::TimedOut)
            } else if interruptible
                && (me.interrupt_flag.load(Ordering::SeqCst)
                    || interrupt_at.is_some_and(|at| now >= at))
            {
                Some(WaitEnd::Interrupted)
            } else {
                None
            };
            if let Some(end) = verdict {
                let woken = cancel_block(&me);
                me.interruptible.store(false, Ordering::SeqCst);
                self.forget(&me);
                if woken == Some(WakeReason::Notified) {
                    // A notification came for a task that goes on anyway: pass it on, or
                    // a waiter behind it could sleep through the change it announced.
                    self.notify_one();
                }
                break end;
            }
            let reason = commit_block(&me, seq, earliest(deadline, interrupt_at));
            me.interruptible.store(false, Ordering::SeqCst);
            self.forget(&me);
            if reason == WakeReason::Killed && !condition() {
                break WaitEnd::TimedOut;
            }
            // Notified, and the change is there (the common case): done, without queuing
            // again only to look once more and take itself off. A task asked to stop stops
            // first, as at the top of the loop.
            if reason == WakeReason::Notified {
                crate::stay_stopped(&me);
                if condition() {
                    break WaitEnd::Ready;
                }
            }
            // Notified of something else, interrupted or a deadline: look again.
        };
        drop(me);
        if were_enabled {
            interrupts::enable();
            // A kill ended the wait: the task unwinds from here.
            crate::kill_point();
        }
        end
    }

    /// Takes `task` off the queue if it is still there (a notifier usually took it off).
    fn forget(&self, task: &Arc<Task>) {
        // Without the lock when the queue is empty: only the task itself queues it, and
        // every change of the queue stores its length, so a task still queued reads at least
        // its own count here (its own store, or a later one that found it queued).
        if self.queued.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut waiters = self.waiters.lock();
        if let Some(at) = waiters.iter().position(|t| Arc::ptr_eq(t, task)) {
            waiters.remove(at);
            self.queued.store(waiters.len(), Ordering::Relaxed);
        }
    }

    /// The first waiter, taken off the queue.
    fn pop(&self) -> Option<Arc<Task>> {
        let mut waiters = self.waiters.lock();
        let task = waiters.pop_front();
        self.queued.store(waiters.len(), Ordering::Relaxed);
        task
    }

    /// Whether no task is queued, as a notifier after its change sees it (see the type's
    /// documentation): true means every waiter will see the change by itself.
    fn nobody_queued(&self) -> bool {
        fence(Ordering::SeqCst);
        self.queued.load(Ordering::Relaxed) == 0
    }

    /// Wakes one waiter. Returns whether one was woken.
    pub fn notify_one(&self) -> bool {
        if self.nobody_queued() {
            return false;
        }
        interrupts::without_interrupts(|| {
            loop {
                let Some(task) = self.pop() else {
                    return false;
                };
                if wake(&task, WakeReason::Notified) {
                    return true;
                }
            }
        })
    }

    /// Wakes every waiter. Returns how many were woken.
    pub fn notify_all(&self) -> usize {
        if self.nobody_queued() {
            return 0;
        }
        interrupts::without_interrupts(|| {
            // One at a time, each taken off before it is woken (not under the queue's lock:
            // a wake takes the scheduler's), and only as many as were waiting: a woken task
            // that queues again meanwhile waits for the next notification. The queue keeps
            // its buffer, so a notification allocates nothing.
            // The count stored under the lock at the queue's last change.
            let waiting = self.queued.load(Ordering::Relaxed);
            let mut woken = 0;
            for _ in 0..waiting {
                let Some(task) = self.pop() else {
                    break;
                };
                woken += usize::from(wake(&task, WakeReason::Notified));
            }
            woken
        })
    }

    /// Number of tasks waiting.
    pub fn len(&self) -> usize {
        interrupts::without_interrupts(|| self.waiters.lock().len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Futex waiters, hashed by address into buckets, each a list of `(address, task)` in the
/// order they came. A bucket keeps its capacity, so a wait allocates nothing once its bucket
/// has held as many waiters before (a ping-pong between two threads never does).
static FUTEXES: [FutexBucket; FUTEX_BUCKETS] = [const { Mutex::new(Vec::new()) }; FUTEX_BUCKETS];
const FUTEX_BUCKETS: usize = 64;
type FutexBucket = Mutex<Vec<(usize, Arc<Task>)>>;

/// The bucket of the futex at `key` (Fibonacci hashing of the word's index).
fn futex_bucket(key: usize) -> &'static FutexBucket {
    let hash = ((key as u64 >> 2).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize;
    &FUTEXES[hash % FUTEX_BUCKETS]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexError {
    /// The value was not the expected one when checked.
    WouldBlock,
    /// The deadline passed.
    TimedOut,
    /// [`interrupt`] asked the task to give up the wait (only [`futex_wait_interruptible`]).
    Interrupted,
}

/// Blocks while `*addr == expected`, until a [`futex_wake`] on `addr` or `deadline`
/// (monotonic ns). The check and the sleep are atomic with respect to wakers.
pub fn futex_wait(
    addr: &AtomicU32,
    expected: u32,
    deadline: Option<u64>,
) -> Result<(), FutexError> {
    futex_wait_inner(addr, expected, deadline, false)
}

/// [`futex_wait`] that also ends, with [`FutexError::Interrupted`], when [`interrupt`] is
/// called for the task or was called and not cleared yet (a program's futex wait and sleep:
/// a signal handler must get to run).
pub fn futex_wait_interruptible(
    addr: &AtomicU32,
    expected: u32,
    deadline: Option<u64>,
) -> Result<(), FutexError> {
    futex_wait_inner(addr, expected, deadline, true)
}

fn futex_wait_inner(
    addr: &AtomicU32,
    expected: u32,
    deadline: Option<u64>,
    interruptible: bool,
) -> Result<(), FutexError> {
    let key = addr as *const AtomicU32 as usize;
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    let me = current();
    let interrupt_at = if interruptible {
        me.interrupt_deadline()
    } else {
        None
    };
    me.interruptible.store(interruptible, Ordering::SeqCst);
    let seq = prepare_block(&me);
    // The clock only when there is a time to compare it with.
    let now = if deadline.is_some() || interrupt_at.is_some() {
        time::monotonic_ns()
    } else {
        0
    };
    let bucket = futex_bucket(key);
    // The value is read under the bucket's lock, which `futex_wake` takes after the waker
    // changed it: either this sees the new value or the waker sees this task listed.
    let queued = {
        let mut waiters = bucket.lock();
        if addr.load(Ordering::SeqCst) != expected {
            Err(FutexError::WouldBlock)
        } else if deadline.is_some_and(|d| now >= d) {
            Err(FutexError::TimedOut)
        } else if interruptible
            && (me.interrupt_flag.load(Ordering::SeqCst)
                || interrupt_at.is_some_and(|at| now >= at))
        {
            Err(FutexError::Interrupted)
        } else {
            waiters.push((key, me.clone()));
            Ok(())
        }
    };
    let result = match queued {
        Err(e) => {
            // Not listed, so no futex wake is lost here (a kill's or a signal's wake is
            // answered by the caller's kill point or signal check).
            cancel_block(&me);
            Err(e)
        }
        Ok(()) => {
            let reason = commit_block(&me, seq, earliest(deadline, interrupt_at));
            // Still listed unless a `futex_wake` took it off (a deadline, a signal or a kill
            // ended the wait).
            let mut waiters = bucket.lock();
            if let Some(at) = waiters.iter().position(|(_, t)| Arc::ptr_eq(t, &me)) {
                waiters.remove(at);
            }
            drop(waiters);
            match reason {
                // The interrupt deadline, not the caller's.
                WakeReason::TimedOut
                    if interrupt_at.is_some()
                        && deadline.is_none_or(|d| time::monotonic_ns() < d) =>
                {
                    Err(FutexError::Interrupted)
                }
                WakeReason::TimedOut => Err(FutexError::TimedOut),
                WakeReason::Interrupted => Err(FutexError::Interrupted),
                _ => Ok(()),
            }
        }
    };
    me.interruptible.store(false, Ordering::SeqCst);
    drop(me);
    if were_enabled {
        interrupts::enable();
        crate::kill_point();
    }
    result
}

/// A signal waits for task `id`: an interruptible wait it is in ends now, and its next one
/// ends at once, until [`clear_interrupt`]. False if there is no such task.
pub fn interrupt(id: crate::TaskId) -> bool {
    let Some(task) = crate::registry::lookup(id) else {
        return false;
    };
    interrupts::without_interrupts(|| {
        task.interrupt_flag.store(true, Ordering::SeqCst);
        // Looked at under the task's lock: a task that left its interruptible wait and
        // started another, uninterruptible one is not woken by mistake.
        wake_if(&task, WakeReason::Interrupted, |_| {
            task.interruptible.load(Ordering::SeqCst)
        });
    });
    // Running on another CPU (in user mode, say): that CPU looks at its signals now.
    crate::nudge(&task);
    true
}

/// The running task has seen to its signals: interruptible waits block again.
pub fn clear_interrupt() {
    crate::current()
        .interrupt_flag
        .store(false, Ordering::SeqCst);
}

/// Sets (or with `None` clears) the time (monotonic ns) at which the running task's
/// interruptible waits and sleeps end as if [`interrupt`] had been called: a program's next
/// signal timer, whose signal the layer above then sends as the interrupted call returns.
#[inline]
pub fn set_interrupt_deadline(at: Option<u64>) {
    crate::scheduler::with_current(|me| {
        let raw = at.unwrap_or(0);
        if me.interrupt_at.load(Ordering::Relaxed) != raw {
            me.interrupt_at.store(raw, Ordering::Relaxed);
        }
    });
}

/// The earlier of two optional deadlines.
fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether [`interrupt`] was called for the running task and not cleared since.
#[inline]
pub fn interrupt_pending() -> bool {
    crate::scheduler::with_current(|me| me.interrupt_flag.load(Ordering::Relaxed))
}

/// Sleeps until `deadline` (monotonic ns), or until [`interrupt`] is called for the task
/// (false; also at once when it was called and not cleared yet). A kill ends the sleep and
/// unwinds the task, as [`crate::sleep_ns`] does.
pub fn sleep_until_interruptible(deadline: u64) -> bool {
    interrupts::disable();
    let me = current();
    let interrupt_at = me.interrupt_deadline();
    let slept = loop {
        me.interruptible.store(true, Ordering::SeqCst);
        let seq = prepare_block(&me);
        // Looked at once the task can be woken: an `interrupt` from another CPU after this
        // look finds it blocked.
        let now = time::monotonic_ns();
        let end = if now >= deadline {
            Some(true)
        } else if me.interrupt_flag.load(Ordering::SeqCst)
            || interrupt_at.is_some_and(|at| now >= at)
        {
            Some(false)
        } else {
            None
        };
        if let Some(end) = end {
            cancel_block(&me);
            me.interruptible.store(false, Ordering::SeqCst);
            break end;
        }
        let reason = commit_block(&me, seq, earliest(Some(deadline), interrupt_at));
        me.interruptible.store(false, Ordering::SeqCst);
        if reason == WakeReason::Killed {
            break false;
        }
    };
    drop(me);
    interrupts::enable();
    crate::kill_point();
    slept
}

impl Task {
    /// [`set_interrupt_deadline`]'s time, if set.
    fn interrupt_deadline(&self) -> Option<u64> {
        Some(self.interrupt_at.load(Ordering::Relaxed)).filter(|&at| at != 0)
    }
}

/// Wakes up to `count` tasks waiting on `addr`. Returns how many were woken.
pub fn futex_wake(addr: &AtomicU32, count: usize) -> usize {
    let key = addr as *const AtomicU32 as usize;
    let bucket = futex_bucket(key);
    interrupts::without_interrupts(|| {
        let mut woken = 0;
        while woken < count {
            // The first waiter on `addr`, taken off before it is woken (not under the lock:
            // a wake takes the scheduler's).
            let task = {
                let mut waiters = bucket.lock();
                let Some(at) = waiters.iter().position(|&(k, _)| k == key) else {
                    break;
                };
                waiters.remove(at).1
            };
            if wake(&task, WakeReason::Notified) {
                woken += 1;
            }
        }
        woken
    })
}
