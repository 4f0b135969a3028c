//! In-kernel tests of tasks, blocking, futexes and TLS.

use crate::*;
use alloc::vec::Vec;
use core::cell::Cell;
use core::sync::atomic::{AtomicU32, AtomicUsize};
use ktest::kernel_test;

kernel_test! {
    fn spawn_and_join_200_tasks() {
        fn round() {
            let handles: Vec<JoinHandle> =
                (0..200).map(|i| spawn("worker", move || i * 2).unwrap()).collect();
            let mut sum = 0;
            for h in handles {
                match h.join() {
                    ExitValue::Exited(v) => sum += v,
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(sum, (0..200).map(|i| i * 2).sum::<isize>());
            yield_now(); // let the last exited task be reaped
        }
        // The first round creates page-table pages and free-list capacity that stay.
        round();
        // Frames backing the heap stay with the heap once it grew: count them as free.
        let free = || memory::frame_stats().free + memory::heap_stats().size as u64 / 4096;
        let (frames, heap) = (free(), memory::heap_stats().used);
        for _ in 0..3 {
            round();
        }
        // A leaked stack would be 65 frames per task; page-table pages for stack slots that
        // other tasks of the test kernel took meanwhile are a few, and the stack pool may
        // hold up to two stacks more than before (it depends on what else ended meanwhile:
        // one more was seen with the host's CPUs busy).
        let pooled = 2 * DEFAULT_STACK_PAGES;
        assert!(free() + 32 + pooled >= frames, "task stacks returned: {} -> {}", frames, free());
        // 600 tasks later, twice: a leak of even one small allocation per task would show as
        // kilobytes in both counts. Tables that other tasks of the test kernel grow once
        // meanwhile (a queue's capacity: 4.5 KiB was seen, with one CPU model and not with
        // another) show in one count only (2176 bytes in the second once, with the host's
        // CPUs busy).
        let middle = memory::heap_stats().used;
        for _ in 0..3 {
            round();
        }
        let first = middle.saturating_sub(heap);
        let second = memory::heap_stats().used.saturating_sub(middle);
        log::info!("600 tasks grew the heap by {first} bytes, the next 600 by {second}");
        assert!(
            first.min(second) < 2048 && first.max(second) < 8192,
            "task structures freed: the heap grew by {first} bytes, then by {second}"
        );
    }
}

kernel_test! {
    fn futex_wait_wake_many_waiters() {
        let word = Arc::new(AtomicU32::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let handles: Vec<JoinHandle> = (0..20)
            .map(|_| {
                let (word, woken) = (word.clone(), woken.clone());
                spawn("futex-waiter", move || {
                    while word.load(Ordering::SeqCst) == 0 {
                        let _ = futex_wait(&word, 0, None);
                    }
                    woken.fetch_add(1, Ordering::SeqCst);
                    0
                })
                .unwrap()
            })
            .collect();
        sleep_ns(30_000_000);
        assert_eq!(woken.load(Ordering::SeqCst), 0, "nobody passes before the wake");
        word.store(1, Ordering::SeqCst);
        assert_eq!(futex_wake(&word, 5), 5);
        let rest = futex_wake(&word, usize::MAX);
        assert_eq!(rest, 15);
        for h in handles {
            assert_eq!(h.join(), ExitValue::Exited(0));
        }
        assert_eq!(woken.load(Ordering::SeqCst), 20);
        assert_eq!(futex_wait(&word, 0, None), Err(FutexError::WouldBlock));
        let deadline = time::monotonic_ns() + 20_000_000;
        assert_eq!(futex_wait(&word, 1, Some(deadline)), Err(FutexError::TimedOut));
        assert!(time::monotonic_ns() >= deadline);
        assert_eq!(futex_wake(&word, 1), 0);
    }
}

kernel_test! {
    fn sleep_is_accurate() {
        for ms in [15u64, 50] {
            let t0 = time::monotonic_ns();
            sleep_ns(ms * 1_000_000);
            let slept = time::monotonic_ns() - t0;
            assert!(slept >= ms * 1_000_000, "slept {slept} ns for {ms} ms");
            assert!(slept < (ms + 40) * 1_000_000, "slept {slept} ns for {ms} ms");
        }
    }
}

kernel_test! {
    fn busy_loops_are_preempted() {
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), progress.clone());
        // Both on this task's CPU (with another CPU free, the spinner would simply run there).
        let cpu = current_cpu();
        set_affinity(current_id(), 1 << cpu).unwrap();
        let spinner = Builder::new("spinner")
            .affinity(1 << cpu)
            .spawn(move || {
                while !s.load(Ordering::SeqCst) {
                    p.fetch_add(1, Ordering::SeqCst);
                    core::hint::spin_loop();
                }
                0
            })
            .unwrap();
        // This task never yields either: only preemption lets the spinner make progress.
        let t0 = time::monotonic_ns();
        while progress.load(Ordering::SeqCst) < 1000 {
            assert!(time::monotonic_ns() - t0 < 5_000_000_000, "spinner never ran");
            core::hint::spin_loop();
        }
        stop.store(true, Ordering::SeqCst);
        assert_eq!(spinner.join(), ExitValue::Exited(0));
        assert!(find(current_id()).unwrap().cpu_ns() > 0);
    }
}

kernel_test! {
    fn a_task_that_never_switches_sees_its_cpu_time_grow() {
        // Spinning without a switch (nothing else wants this CPU, or it is preempted: either
        // way), the task's CPU time must grow: the timer ticks charge it.
        let me = find(current_id()).unwrap();
        let (start, t0) = (me.cpu_ns(), time::monotonic_ns());
        while me.cpu_ns() < start + 30_000_000 {
            assert!(
                time::monotonic_ns() - t0 < 5_000_000_000,
                "CPU time stayed at {} ns for 5 s of spinning",
                me.cpu_ns()
            );
            core::hint::spin_loop();
        }
    }
}

kernel_test! {
    fn wait_queue_blocks_until_notified() {
        let wq = Arc::new(WaitQueue::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (w, f) = (wq.clone(), flag.clone());
        let h = spawn("waiter", move || {
            w.wait_until(|| f.load(Ordering::SeqCst));
            7
        })
        .unwrap();
        sleep_ns(20_000_000);
        assert_eq!(h.task().state(), State::Blocked);
        flag.store(true, Ordering::SeqCst);
        assert_eq!(wq.notify_all(), 1);
        assert_eq!(h.join(), ExitValue::Exited(7));
        let timed_out = !wq.wait_until_deadline(&mut || false, Some(time::monotonic_ns() + 10_000_000));
        assert!(timed_out);
    }
}

kernel_test! {
    fn wait_queue_ping_pong_loses_no_wakeup() {
        // Two tasks (on two CPUs when there are two) hand a turn back and forth through two
        // queues: notifications of empty queues skip the lock, so a notification that missed
        // its waiter would leave it asleep until its deadline (a wait of 3 s here).
        const ROUNDS: u64 = 3_000;
        const LOST: u64 = 3_000_000_000;
        let turn = Arc::new(AtomicU64::new(0));
        let queues = Arc::new([WaitQueue::new(), WaitQueue::new()]);
        let wait = |q: &WaitQueue, turn: &AtomicU64, want: u64| {
            let t0 = time::monotonic_ns();
            let ready =
                q.wait_until_deadline(&mut || turn.load(Ordering::SeqCst) == want, Some(t0 + LOST));
            ready && time::monotonic_ns() - t0 < LOST
        };
        let (t, q) = (turn.clone(), queues.clone());
        let other = spawn("pong", move || {
            for i in 0..ROUNDS {
                if !wait(&q[1], &t, 2 * i + 1) {
                    return 1;
                }
                t.store(2 * i + 2, Ordering::SeqCst);
                q[0].notify_all();
            }
            0
        })
        .unwrap();
        for i in 0..ROUNDS {
            turn.store(2 * i + 1, Ordering::SeqCst);
            queues[1].notify_one();
            assert!(wait(&queues[0], &turn, 2 * i + 2), "round {i}: a wake-up was lost");
        }
        assert_eq!(other.join(), ExitValue::Exited(0));
        assert!(queues[0].is_empty() && queues[1].is_empty());
        assert_eq!(queues[0].notify_all(), 0);
        assert!(!queues[1].notify_one());
    }
}

#[thread_local]
static TLS_VALUE: Cell<u64> = Cell::new(42);
#[thread_local]
static TLS_ZERO: Cell<u64> = Cell::new(0);

static DESTROYED: AtomicU64 = AtomicU64::new(0);

kernel_test! {
    fn thread_locals_are_per_task_and_key_destructors_run() {
        TLS_VALUE.set(1);
        let key = TlsKey::new(Some(|v| {
            DESTROYED.fetch_add(v, Ordering::SeqCst);
        }));
        let handles: Vec<JoinHandle> = (1..=8u64)
            .map(|i| {
                spawn("tls", move || {
                    // A new task starts from the template, not from its parent's values.
                    assert_eq!(TLS_VALUE.get(), 42);
                    assert_eq!(TLS_ZERO.get(), 0);
                    TLS_VALUE.set(i * 100);
                    TLS_ZERO.set(i);
                    key.set(i);
                    for _ in 0..5 {
                        yield_now();
                        sleep_ns(1_000_000);
                    }
                    assert_eq!(key.get(), i);
                    (TLS_VALUE.get() + TLS_ZERO.get()) as isize
                })
                .unwrap()
            })
            .collect();
        for (i, h) in (1..=8u64).zip(handles) {
            assert_eq!(h.join(), ExitValue::Exited((i * 100 + i) as isize));
        }
        assert_eq!(TLS_VALUE.get(), 1, "other tasks did not touch ours");
        assert_eq!(key.get(), 0);
        assert_eq!(DESTROYED.load(Ordering::SeqCst), (1..=8).sum::<u64>());
    }
}

kernel_test! {
    fn kill_ends_a_blocked_task() {
        let wq = Arc::new(WaitQueue::new());
        let w = wq.clone();
        let h = spawn("sleeper", move || {
            w.wait_until(|| false);
            0
        })
        .unwrap();
        sleep_ns(10_000_000);
        kill(h.id(), "killed by test").unwrap();
        assert_eq!(h.join(), ExitValue::Killed("killed by test".into()));
        // The boot task (tests run in tasks of their own) cannot be killed.
        let boot = list()
            .into_iter()
            .find(|t| t.name == "kernel_main")
            .expect("the boot task");
        assert_eq!(kill(boot.id, "no"), Err(KillError::NotPermitted));
        assert_eq!(kill(999_999, "no"), Err(KillError::NoSuchTask));
        assert!(list().iter().any(|t| t.name == "idle"));
    }
}

static DROPPED: AtomicUsize = AtomicUsize::new(0);

kernel_test! {
    fn panic_unwinds_the_task_and_runs_destructors() {
        struct Guard;
        impl Drop for Guard {
            fn drop(&mut self) {
                DROPPED.fetch_add(1, Ordering::SeqCst);
            }
        }
        #[inline(never)]
        fn deep(n: u32) {
            let _g = Guard;
            if n == 0 {
                panic!("deliberate panic in a task");
            }
            deep(core::hint::black_box(n - 1));
        }
        let lock = Arc::new(spin::Mutex::new(0u32));
        let l = lock.clone();
        let h = spawn("panicker", move || {
            let _held = l.lock();
            deep(3);
            0
        })
        .unwrap();
        match h.join() {
            ExitValue::Killed(reason) => {
                assert!(reason.contains("deliberate panic in a task"), "{reason}");
                assert!(reason.contains("deep"), "backtrace names the function: {reason}");
            }
            other => panic!("expected a kill, got {other:?}"),
        }
        assert_eq!(DROPPED.load(Ordering::SeqCst), 4, "every frame's destructor ran");
        assert!(lock.try_lock().is_some(), "the lock the task held was released");
    }
}

kernel_test! {
    fn fault_handler_can_resume_the_task_elsewhere() {
        use ::interrupts::FaultKind;
        let h = spawn("handled", || {
            set_fault_handler(Some(Arc::new(|frame, kind| {
                if kind == FaultKind::InvalidOpcode {
                    frame.rip += 2; // skip the 2-byte ud2
                    frame.rax = 99;
                    true
                } else {
                    false
                }
            })));
            let v: u64;
            // SAFETY: `ud2` faults on purpose; the handler above resumes after it with rax = 99.
            unsafe { core::arch::asm!("mov rax, 1", "ud2", out("rax") v) };
            // A fault the handler declines still ends the task.
            let p = core::hint::black_box(0usize) as *const u64;
            // SAFETY: not safe: reads the null page on purpose.
            let w = unsafe { p.read_volatile() };
            (v + w) as isize
        })
        .unwrap();
        match h.join() {
            ExitValue::Killed(reason) => assert!(reason.contains("page fault"), "{reason}"),
            other => panic!("expected the declined page fault to kill the task: {other:?}"),
        }
        let ok = spawn("handled-ok", || {
            set_fault_handler(Some(Arc::new(|frame, _| {
                frame.rip += 2;
                frame.rax = 7;
                true
            })));
            let v: u64;
            // SAFETY: as above.
            unsafe { core::arch::asm!("ud2", out("rax") v) };
            v as isize
        })
        .unwrap();
        assert_eq!(ok.join(), ExitValue::Exited(7));
        assert!(fault_handler().is_none(), "handlers are per task");
    }
}

kernel_test! {
    fn higher_priorities_run_first() {
        // On one CPU: another could run the low one meanwhile.
        let cpu = current_cpu();
        set_affinity(current_id(), 1 << cpu).unwrap();
        let order = Arc::new(spin::Mutex::new(Vec::new()));
        let spawn_at = |priority: u8| {
            let order = order.clone();
            Builder::new("prio")
                .priority(priority)
                .affinity(1 << cpu)
                .spawn(move || {
                    order.lock().push(priority);
                    0
                })
                .unwrap()
        };
        // Queued low first: the high one still runs first, and the low one only when nothing
        // of a higher priority (this task included) is runnable.
        let low = spawn_at(0);
        let high = spawn_at(3);
        assert_eq!(high.task().priority(), 3);
        assert_eq!(high.join(), ExitValue::Exited(0));
        assert_eq!(low.join(), ExitValue::Exited(0));
        assert_eq!(*order.lock(), [3, 0]);
        assert_eq!(Builder::new("x").priority(200).spawn(|| 0).unwrap().task().priority(), 3);
    }
}

static KILL_DROPS: AtomicUsize = AtomicUsize::new(0);

kernel_test! {
    fn kill_unwinds_a_blocked_task_releasing_its_lock() {
        struct Guard;
        impl Drop for Guard {
            fn drop(&mut self) {
                KILL_DROPS.fetch_add(1, Ordering::SeqCst);
            }
        }
        static LOCK: Mutex<u32> = Mutex::new(0);
        KILL_DROPS.store(0, Ordering::SeqCst);
        let wq = Arc::new(WaitQueue::new());
        let w = wq.clone();
        let h = spawn("holder", move || {
            let _g = Guard;
            let _held = LOCK.lock();
            // A bug of its own (waiting while holding a lock) must not outlive a kill.
            w.wait_until(|| false);
            0
        })
        .unwrap();
        sleep_ns(10_000_000);
        assert!(LOCK.is_locked());
        kill(h.id(), "killed by test").unwrap();
        assert_eq!(h.join(), ExitValue::Killed("killed by test".into()));
        assert_eq!(KILL_DROPS.load(Ordering::SeqCst), 1, "the frame's destructor ran");
        assert!(!LOCK.is_locked(), "the lock the killed task held was released");
        assert_eq!(wq.len(), 0, "the killed task left the wait queue");
    }
}

kernel_test! {
    fn kill_in_a_tight_loop_never_leaves_a_lock_held() {
        // Workers take a lock for a while and let go, with a kill point between rounds; they
        // are killed at arbitrary moments. A kill that ended a task where it was preempted
        // would leave the lock held (and this test stuck on it).
        static LOCK: Mutex<u64> = Mutex::new(0);
        for round in 0..200u64 {
            let h = spawn("locker", || {
                loop {
                    {
                        let mut g = LOCK.lock();
                        for i in 0..2000u64 {
                            *g = g.wrapping_add(i);
                            core::hint::spin_loop();
                        }
                    }
                    kill_point();
                }
            })
            .unwrap();
            // Vary the moment of the kill: from before the first round to a few slices in.
            if round % 4 != 0 {
                sleep_ns((round % 7) * 3_000_000);
            }
            kill(h.id(), "stop").unwrap();
            assert_eq!(h.join(), ExitValue::Killed("stop".into()));
            let free = LOCK.try_lock().is_some();
            assert!(free, "round {round}: the killed task left the lock held");
        }
    }
}

kernel_test! {
    fn a_kill_waits_for_the_kill_point_even_when_async_stoppable() {
        // An async-stoppable task (a wasm guest computing) is never ended where it runs: it
        // goes on until it reaches a kill point, so whatever its frames own is dropped.
        static REACHED: AtomicUsize = AtomicUsize::new(0);
        REACHED.store(0, Ordering::SeqCst);
        let h = spawn("spinner", || {
            set_async_stoppable(true);
            let until = time::monotonic_ns() + 300_000_000;
            while time::monotonic_ns() < until {
                core::hint::spin_loop();
            }
            set_async_stoppable(false);
            REACHED.store(1, Ordering::SeqCst);
            kill_point();
            REACHED.store(2, Ordering::SeqCst);
            0
        })
        .unwrap();
        sleep_ns(5_000_000);
        kill(h.id(), "cooperative").unwrap();
        assert_eq!(h.join(), ExitValue::Killed("cooperative".into()));
        assert_eq!(REACHED.load(Ordering::SeqCst), 1, "ran to its kill point and ended there");
    }
}

kernel_test! {
    fn a_stopped_waiter_does_not_act_on_its_wakeup_until_resumed() {
        let wq = Arc::new(WaitQueue::new());
        let flag = Arc::new(AtomicBool::new(false));
        let passed = Arc::new(AtomicUsize::new(0));
        let (w, f, p) = (wq.clone(), flag.clone(), passed.clone());
        let h = spawn("stopped-waiter", move || {
            w.wait_until(|| f.load(Ordering::SeqCst));
            p.fetch_add(1, Ordering::SeqCst);
            5
        })
        .unwrap();
        sleep_ns(20_000_000);
        assert_eq!(h.task().state(), State::Blocked);
        stop(h.id(), 20).unwrap();
        assert_eq!(h.task().stop_signal(), Some(20));
        // Blocked and asked to stop: it stays blocked until woken, then stops right there.
        flag.store(true, Ordering::SeqCst);
        wq.notify_all();
        sleep_ns(30_000_000);
        assert_eq!(h.task().state(), State::Stopped);
        assert_eq!(passed.load(Ordering::SeqCst), 0, "a stopped task acted on its wake-up");
        resume(h.id()).unwrap();
        assert_eq!(h.task().stop_signal(), None);
        assert_eq!(h.join(), ExitValue::Exited(5));
        assert_eq!(passed.load(Ordering::SeqCst), 1);
    }
}

kernel_test! {
    fn an_async_stoppable_spinner_stops_at_a_tick_and_resumes() {
        let progress = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (p, d) = (progress.clone(), done.clone());
        let h = spawn("stop-spinner", move || {
            set_async_stoppable(true);
            while !d.load(Ordering::SeqCst) {
                p.fetch_add(1, Ordering::SeqCst);
                core::hint::spin_loop();
            }
            set_async_stoppable(false);
            0
        })
        .unwrap();
        while progress.load(Ordering::SeqCst) == 0 {
            yield_now();
        }
        stop(h.id(), 20).unwrap();
        sleep_ns(50_000_000);
        assert_eq!(h.task().state(), State::Stopped);
        let at_stop = progress.load(Ordering::SeqCst);
        sleep_ns(50_000_000);
        assert_eq!(progress.load(Ordering::SeqCst), at_stop, "a stopped task ran");
        resume(h.id()).unwrap();
        let t0 = time::monotonic_ns();
        while progress.load(Ordering::SeqCst) == at_stop {
            assert!(time::monotonic_ns() - t0 < 2_000_000_000, "the resumed task never ran");
            yield_now();
        }
        done.store(true, Ordering::SeqCst);
        assert_eq!(h.join(), ExitValue::Exited(0));
    }
}

kernel_test! {
    fn stops_never_hold_a_lock_and_a_stopped_task_can_be_killed() {
        let lock = Arc::new(Mutex::new(0u64));
        let l = lock.clone();
        let h = spawn("stop-locker", move || {
            let mut held = Vec::with_capacity(1 << 20);
            held.resize(1 << 20, 1u8);
            loop {
                {
                    let mut g = l.lock();
                    for _ in 0..1000 {
                        *g = core::hint::black_box(*g + 1);
                    }
                }
                sleep_ns(1_000_000);
                core::hint::black_box(&held);
            }
        })
        .unwrap();
        while *lock.lock() == 0 {
            sleep_ns(1_000_000);
        }
        let heap_before = memory::heap_stats().used;
        for round in 0..20 {
            stop(h.id(), 20).unwrap();
            let t0 = time::monotonic_ns();
            while h.task().state() != State::Stopped {
                assert!(time::monotonic_ns() - t0 < 2_000_000_000, "round {round}: never stopped");
                sleep_ns(1_000_000);
            }
            let count = *lock.try_lock().expect("a task stopped holding a lock");
            sleep_ns(5_000_000);
            assert_eq!(*lock.lock(), count, "a stopped task ran");
            if round < 19 {
                resume(h.id()).unwrap();
                sleep_ns(3_000_000);
            }
        }
        // Killed while stopped: it goes on to its kill point and unwinds, freeing its memory.
        kill(h.id(), "killed while stopped").unwrap();
        assert_eq!(h.join(), ExitValue::Killed("killed while stopped".into()));
        yield_now();
        let heap_after = memory::heap_stats().used;
        assert!(
            heap_after + (1 << 20) <= heap_before + 4096,
            "the stopped task's memory came back: {heap_before} -> {heap_after}"
        );
    }
}

kernel_test! {
    /// `time` of a command counts the threads it spawned: a task that only waits for a child,
    /// which waits for a grandchild that spins 50 ms, has at least those 50 ms in its totals.
    fn cpu_totals_include_descendants() {
        let parent = spawn("totals-parent", || {
            let child = spawn("totals-child", || {
                let grandchild = spawn("totals-grandchild", || {
                    let t0 = time::monotonic_ns();
                    while time::monotonic_ns() - t0 < 50_000_000 {
                        core::hint::spin_loop();
                    }
                    0
                })
                .unwrap();
                grandchild.join();
                0
            })
            .unwrap();
            child.join();
            0
        })
        .unwrap();
        let task = parent.task().clone();
        assert_eq!(parent.join(), ExitValue::Exited(0));
        let own = task.cpu_ns();
        let total = task.cpu_ns_with_descendants();
        assert!(total >= 50_000_000, "totals {total} ns miss the grandchild's 50 ms");
        assert!(own < 50_000_000, "the parent itself only waited ({own} ns)");
        assert!(task.user_ns_with_descendants() <= total);
    }
}

kernel_test! {
    /// Producers and consumers on every CPU pass 4000 items through one wait queue, consumers
    /// taking items and producers waiting for room: a lost wake-up would leave a waiter asleep
    /// past its 5-second deadline (the test fails on it), a lost or doubled item shows in
    /// the counts. And each CPU must have run some of them.
    fn a_wait_queue_shared_by_every_cpu_loses_no_wakeup() {
        const ITEMS: usize = 4000;
        const ROOM: usize = 3;
        let cpus = active_cpus();
        let before: Vec<u64> = (0..64).map(|c| cpu_run_stats(c).task_switches).collect();
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = Arc::new(AtomicUsize::new(0));
        let changed = Arc::new(WaitQueue::new());
        let lock = Arc::new(Mutex::new(()));
        let workers = 2 * (cpus.count_ones() as usize).max(2);
        let handles: Vec<JoinHandle> = (0..workers)
            .map(|n| {
                let (queued, taken, changed, lock) =
                    (queued.clone(), taken.clone(), changed.clone(), lock.clone());
                let cpu = (0..64)
                    .filter(|c| cpus & (1 << c) != 0)
                    .nth(n / 2 % cpus.count_ones() as usize)
                    .unwrap();
                Builder::new("wq-worker")
                    .affinity(1 << cpu)
                    .spawn(move || {
                        let producer = n % 2 == 0;
                        let share = ITEMS / (workers / 2);
                        for _ in 0..share {
                            let deadline = Some(time::monotonic_ns() + 5_000_000_000);
                            loop {
                                // Take or add an item under the lock, checking the room.
                                let done = interrupts::without_interrupts(|| {
                                    let _g = lock.lock();
                                    let q = queued.load(Ordering::SeqCst);
                                    if producer && q < ROOM {
                                        queued.store(q + 1, Ordering::SeqCst);
                                        true
                                    } else if !producer && q > 0 {
                                        queued.store(q - 1, Ordering::SeqCst);
                                        taken.fetch_add(1, Ordering::SeqCst);
                                        true
                                    } else {
                                        false
                                    }
                                });
                                if done {
                                    changed.notify_all();
                                    break;
                                }
                                let ready = changed.wait_until_deadline(
                                    &mut || {
                                        let q = queued.load(Ordering::SeqCst);
                                        if producer { q < ROOM } else { q > 0 }
                                    },
                                    deadline,
                                );
                                if !ready {
                                    return 1;
                                }
                            }
                        }
                        0
                    })
                    .unwrap()
            })
            .collect();
        for (n, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join(), ExitValue::Exited(0), "worker {n} slept through a wake-up");
        }
        let share = ITEMS / (workers / 2);
        assert_eq!(taken.load(Ordering::SeqCst), share * (workers / 2));
        assert_eq!(queued.load(Ordering::SeqCst), 0);
        for c in (0..64).filter(|c| cpus & (1 << c) != 0) {
            assert!(cpu_run_stats(c).task_switches > before[c], "CPU {c} ran no worker");
        }
    }
}

kernel_test! {
    /// Each CPU's time in tasks and idle (what `/proc/stat` shows) never goes backwards, read
    /// from any CPU while tasks start, end and switch: a reader must not count the running
    /// task's time twice (after a charge before a task's end) or lose it (a switch between
    /// its loads).
    fn cpu_times_never_go_backwards() {
        use core::sync::atomic::AtomicBool;
        static STOP: AtomicBool = AtomicBool::new(false);
        static ENDED: AtomicUsize = AtomicUsize::new(0);
        STOP.store(false, Ordering::SeqCst);
        ENDED.store(0, Ordering::SeqCst);
        let churn = spawn("churner", || {
            while !STOP.load(Ordering::SeqCst) {
                // Runs a while, so that a run counted twice would show.
                let h = spawn("short", || {
                    let end = time::monotonic_ns() + 50_000;
                    while time::monotonic_ns() < end {
                        core::hint::spin_loop();
                    }
                    0
                })
                .unwrap();
                h.join();
                ENDED.fetch_add(1, Ordering::SeqCst);
            }
            0
        })
        .unwrap();
        let cpus = active_cpus();
        let online = || (0..64).filter(move |c| cpus & (1 << c) != 0);
        let mut last: Vec<(u64, u64)> = (0..64).map(|_| (0, 0)).collect();
        let deadline = time::monotonic_ns() + 20_000_000_000;
        let mut reads = 0;
        while (reads < 20_000 || ENDED.load(Ordering::SeqCst) < 1000)
            && time::monotonic_ns() < deadline
        {
            for c in online() {
                let s = cpu_run_stats(c);
                let (busy, idle) = last[c];
                assert!(
                    s.busy_ns >= busy && s.idle_ns >= idle,
                    "CPU {c}: busy {busy} -> {}, idle {idle} -> {}",
                    s.busy_ns,
                    s.idle_ns
                );
                last[c] = (s.busy_ns, s.idle_ns);
            }
            reads += 1;
        }
        STOP.store(true, Ordering::SeqCst);
        churn.join();
        assert!(ENDED.load(Ordering::SeqCst) >= 1000, "tasks ended meanwhile");
    }
}
