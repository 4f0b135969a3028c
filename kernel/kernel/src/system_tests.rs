//! In-kernel tests of properties that need several subsystems at once: the scheduler's
//! preemption together with the IRQ stubs' FP/SIMD saving, the clock read by many tasks
//! under load, the entropy device shared by several tasks, where a waiting task waits.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use ktest::kernel_test;

/// Distinct 128-bit patterns, one per XMM register.
fn patterns(seed: u64) -> [[u64; 2]; 16] {
    let mut p = [[0u64; 2]; 16];
    let mut x = seed;
    for r in p.iter_mut() {
        for w in r.iter_mut() {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *w = x;
        }
    }
    p
}

/// Clobber rounds run by the other task; the test's task waits for a number of them.
static ROUNDS: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// Loads all 16 XMM registers from `vals`, spins `spins` times with them live, stores them to
/// `out`.
fn hold_xmm_spinning(vals: &[[u64; 2]; 16], out: &mut [[u64; 2]; 16], spins: u64) {
    // SAFETY: reads `vals` and writes `out` (256 bytes each, unaligned moves); every XMM
    // register and rcx are declared clobbered.
    unsafe {
        core::arch::asm!(
            "movdqu xmm0, [{v}]", "movdqu xmm1, [{v} + 16]", "movdqu xmm2, [{v} + 32]",
            "movdqu xmm3, [{v} + 48]", "movdqu xmm4, [{v} + 64]", "movdqu xmm5, [{v} + 80]",
            "movdqu xmm6, [{v} + 96]", "movdqu xmm7, [{v} + 112]", "movdqu xmm8, [{v} + 128]",
            "movdqu xmm9, [{v} + 144]", "movdqu xmm10, [{v} + 160]", "movdqu xmm11, [{v} + 176]",
            "movdqu xmm12, [{v} + 192]", "movdqu xmm13, [{v} + 208]", "movdqu xmm14, [{v} + 224]",
            "movdqu xmm15, [{v} + 240]",
            "2:", "pause", "dec rcx", "jnz 2b",
            "movdqu [{o}], xmm0", "movdqu [{o} + 16], xmm1", "movdqu [{o} + 32], xmm2",
            "movdqu [{o} + 48], xmm3", "movdqu [{o} + 64], xmm4", "movdqu [{o} + 80], xmm5",
            "movdqu [{o} + 96], xmm6", "movdqu [{o} + 112], xmm7", "movdqu [{o} + 128], xmm8",
            "movdqu [{o} + 144], xmm9", "movdqu [{o} + 160], xmm10", "movdqu [{o} + 176], xmm11",
            "movdqu [{o} + 192], xmm12", "movdqu [{o} + 208], xmm13", "movdqu [{o} + 224], xmm14",
            "movdqu [{o} + 240], xmm15",
            v = in(reg) vals.as_ptr(),
            o = in(reg) out.as_mut_ptr(),
            inout("rcx") spins.max(1) => _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _,
            out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _,
            out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _, out("xmm14") _,
            out("xmm15") _,
        );
    }
}

/// Loads all 16 XMM registers from `vals`, spins until `*counter >= target` (never yielding:
/// only preemption lets anything else run), stores them to `out`.
fn hold_xmm_until(
    vals: &[[u64; 2]; 16],
    out: &mut [[u64; 2]; 16],
    counter: &AtomicU64,
    target: u64,
) {
    // SAFETY: as in `hold_xmm_spinning`; `counter` is read with plain 64-bit loads (atomic
    // on x86_64).
    unsafe {
        core::arch::asm!(
            "movdqu xmm0, [{v}]", "movdqu xmm1, [{v} + 16]", "movdqu xmm2, [{v} + 32]",
            "movdqu xmm3, [{v} + 48]", "movdqu xmm4, [{v} + 64]", "movdqu xmm5, [{v} + 80]",
            "movdqu xmm6, [{v} + 96]", "movdqu xmm7, [{v} + 112]", "movdqu xmm8, [{v} + 128]",
            "movdqu xmm9, [{v} + 144]", "movdqu xmm10, [{v} + 160]", "movdqu xmm11, [{v} + 176]",
            "movdqu xmm12, [{v} + 192]", "movdqu xmm13, [{v} + 208]", "movdqu xmm14, [{v} + 224]",
            "movdqu xmm15, [{v} + 240]",
            "2:", "pause", "cmp [{c}], {t}", "jb 2b",
            "movdqu [{o}], xmm0", "movdqu [{o} + 16], xmm1", "movdqu [{o} + 32], xmm2",
            "movdqu [{o} + 48], xmm3", "movdqu [{o} + 64], xmm4", "movdqu [{o} + 80], xmm5",
            "movdqu [{o} + 96], xmm6", "movdqu [{o} + 112], xmm7", "movdqu [{o} + 128], xmm8",
            "movdqu [{o} + 144], xmm9", "movdqu [{o} + 160], xmm10", "movdqu [{o} + 176], xmm11",
            "movdqu [{o} + 192], xmm12", "movdqu [{o} + 208], xmm13", "movdqu [{o} + 224], xmm14",
            "movdqu [{o} + 240], xmm15",
            v = in(reg) vals.as_ptr(),
            o = in(reg) out.as_mut_ptr(),
            c = in(reg) counter.as_ptr(),
            t = in(reg) target,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _,
            out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _,
            out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _, out("xmm14") _,
            out("xmm15") _,
        );
    }
}

kernel_test! {
    fn simd_registers_survive_preemption_by_a_clobbering_task() {
        // This task holds 16 known XMM values and spins without yielding until another task
        // has run 50 rounds; that task can only run when this one is preempted (both are kept
        // to one CPU), and each round fills every XMM register with other values. Without the
        // IRQ stub's fxsave/fxrstor the values read back are the other task's.
        const PREEMPTIONS: u64 = 50;
        STOP.store(false, Ordering::SeqCst);
        let cpu = task::current_cpu();
        task::set_affinity(task::current_id(), 1 << cpu).unwrap();
        let start = ROUNDS.load(Ordering::SeqCst);
        let clobber = task::Builder::new("xmm-clobber")
            .affinity(1 << cpu)
            .spawn(|| {
                let mine = patterns(0xc10b);
                let mut back = [[0u64; 2]; 16];
                let mut wrong = 0;
                while !STOP.load(Ordering::SeqCst) {
                    hold_xmm_spinning(&mine, &mut back, 20_000);
                    if back != mine {
                        wrong += 1;
                    }
                    ROUNDS.fetch_add(1, Ordering::SeqCst);
                    task::yield_now();
                }
                wrong
            })
            .expect("spawn");
        let mine = patterns(0x5eed);
        let mut back = [[0u64; 2]; 16];
        hold_xmm_until(&mine, &mut back, &ROUNDS, start + PREEMPTIONS);
        STOP.store(true, Ordering::SeqCst);
        let other = clobber.join();
        for (i, (got, want)) in back.iter().zip(&mine).enumerate() {
            assert_eq!(got, want, "xmm{i} changed across {PREEMPTIONS} preemptions");
        }
        assert_eq!(other, task::ExitValue::Exited(0), "the clobbering task lost its values");
    }
}

kernel_test! {
    fn monotonic_clock_under_preemption_and_load() {
        // Four tasks read the clock in a tight loop for a second while two others load the
        // machine (heap churn and arithmetic). Each read must be >= the reader's previous
        // one and >= the newest value any reader published before it; the largest step
        // between two reads of one task (a preemption lasts a few 20 ms slices) must stay
        // far below a second.
        static LATEST: AtomicU64 = AtomicU64::new(0);
        static RUN: AtomicBool = AtomicBool::new(true);
        RUN.store(true, Ordering::SeqCst);
        let deadline = time::monotonic_ns() + 1_000_000_000;
        let mut loads = Vec::new();
        loads.push(
            task::Builder::new("clock-load-heap")
                .spawn(|| {
                    let mut keep: Vec<Vec<u8>> = Vec::new();
                    let mut i = 0usize;
                    while RUN.load(Ordering::Relaxed) {
                        keep.push(alloc::vec![i as u8; 64 + (i * 97) % 4000]);
                        if keep.len() > 64 {
                            keep.swap_remove(i % 64);
                        }
                        i += 1;
                    }
                    0
                })
                .expect("spawn"),
        );
        loads.push(
            task::Builder::new("clock-load-alu")
                .spawn(|| {
                    let mut x = 1u64;
                    while RUN.load(Ordering::Relaxed) {
                        x = core::hint::black_box(x.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 7);
                    }
                    core::hint::black_box(x);
                    0
                })
                .expect("spawn"),
        );
        let readers: Vec<_> = (0..4)
            .map(|n| {
                task::Builder::new("clock-reader")
                    .spawn(move || {
                        let (mut reads, mut back, mut behind, mut max_gap, mut gaps) = (0u64, 0u64, 0u64, 0u64, 0u64);
                        let mut last = time::monotonic_ns();
                        while last < deadline {
                            let published = LATEST.load(Ordering::SeqCst);
                            let now = time::monotonic_ns();
                            LATEST.fetch_max(now, Ordering::SeqCst);
                            reads += 1;
                            if now < last {
                                back += 1;
                            }
                            if now < published {
                                behind += 1;
                            }
                            let gap = now.saturating_sub(last);
                            max_gap = max_gap.max(gap);
                            if gap > 2_000_000 {
                                gaps += 1; // off the CPU for a while: preempted
                            }
                            last = now;
                        }
                        serial::println!(
                            "clock reader {n}: {reads} reads, {back} backwards, {behind} behind \
                             another task, {gaps} preemptions, largest step {} us",
                            max_gap / 1000
                        );
                        assert_eq!((back, behind), (0, 0));
                        assert!(gaps >= 3, "only {gaps} preemptions: not under preemption");
                        assert!(max_gap < 1_000_000_000, "the clock jumped by {max_gap} ns");
                        assert!(reads > 1000);
                        0
                    })
                    .expect("spawn")
            })
            .collect();
        let results: Vec<_> = readers.into_iter().map(task::JoinHandle::join).collect();
        RUN.store(false, Ordering::SeqCst);
        for l in loads {
            assert_eq!(l.join(), task::ExitValue::Exited(0));
        }
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(r, task::ExitValue::Exited(0), "reader {i}");
        }
    }
}

kernel_test! {
    fn virtio_rng_serves_several_tasks_at_once() {
        // Four tasks take 16 KiB each from the entropy device in getrandom-sized requests
        // while being preempted: every request is answered, and the device's byte count
        // grows by at least what they asked for.
        let (_, bytes0) = virtio_rng::stats();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                task::Builder::new("rng-user")
                    .spawn(|| {
                        let mut seen = [0u8; 32];
                        for _ in 0..512 {
                            let mut b = [0u8; 32];
                            virtio_rng::fill(&mut b).expect("virtio-rng request");
                            assert_ne!(b, seen);
                            seen = b;
                        }
                        0
                    })
                    .expect("spawn")
            })
            .collect();
        for t in tasks {
            assert_eq!(t.join(), task::ExitValue::Exited(0));
        }
        let (_, bytes1) = virtio_rng::stats();
        assert!(bytes1 - bytes0 >= 4 * 512 * 32);
    }
}

/// Waits in a function of its own (so that a backtrace of the waiting task names it).
#[inline(never)]
fn wait_in_a_named_function(release: &AtomicBool) -> isize {
    while !release.load(Ordering::SeqCst) {
        task::sleep_ns(5_000_000);
    }
    core::hint::black_box(0)
}

static RELEASE: AtomicBool = AtomicBool::new(false);

kernel_test! {
    fn a_waiting_task_shows_where_it_waits() {
        // The report on a stuck in-kernel test walks each waiting task's chain from the frame
        // its last switch saved: it must name the function the task waits in.
        RELEASE.store(false, Ordering::SeqCst);
        let waiter = task::spawn("waiter", || wait_in_a_named_function(&RELEASE)).expect("spawn");
        let deadline = time::monotonic_ns() + 5_000_000_000;
        let named = loop {
            task::sleep_ns(2_000_000);
            let frame = task::lookup(waiter.id()).and_then(|t| t.switched_out_frame());
            if let Some((rbp, ret)) = frame {
                let mut frames = [0u64; 16];
                let n = backtrace::capture_from_into(rbp, ret, &mut frames);
                let mut text = alloc::string::String::new();
                backtrace::write_backtrace(&frames[..n], &mut text).unwrap();
                if text.contains("wait_in_a_named_function") {
                    break text;
                }
            }
            assert!(time::monotonic_ns() < deadline, "never saw the waiter's function");
        };
        assert!(named.contains("sleep_ns"), "{named}");
        RELEASE.store(true, Ordering::SeqCst);
        assert_eq!(waiter.join(), task::ExitValue::Exited(0));
        // A running or ended task has no such frame.
        assert!(task::lookup(task::current_id()).unwrap().switched_out_frame().is_none());
    }
}
