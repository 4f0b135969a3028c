//! TLB shootdown: when `memory` unmaps a page or changes its permissions or frame, every other
//! CPU drops its TLB entries for it before `memory` goes on (and before it frees the frame).
//!
//! The request goes by non-maskable interrupt, not by an ordinary vector: `memory` asks with
//! interrupts disabled and its page-table locks held (and its callers with others: the heap
//! shrinks under its own lock), while another CPU may be spinning on one of those locks with
//! interrupts disabled. A maskable IPI would never be taken there and both CPUs would wait
//! for ever; an NMI is taken anyway. For the same reason two CPUs that shoot at each other
//! cannot deadlock: one waits for [`LOCK`] (the one request in flight), answering NMIs
//! meanwhile, while the other collects its answers.
//!
//! One request at a time: its range and a generation number in statics; each CPU answers by
//! storing the generation it has flushed. An NMI handler may run between any two instructions,
//! even between an entry from user mode and its `swapgs`, so it finds its CPU by its local
//! APIC id (not through GS) and touches only atomics and the TLB.

use crate::{CPUS, MAX_CPUS, lapic};
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use x86_64::instructions::tlb;

/// Held, with interrupts disabled, by the CPU whose request is in flight.
static LOCK: Mutex<()> = Mutex::new(());
/// The request in flight (or the last one): its generation and range.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static START: AtomicU64 = AtomicU64::new(0);
static END: AtomicU64 = AtomicU64::new(0);
/// The CPUs that answer requests (bit = CPU index).
static MEMBERS: AtomicU64 = AtomicU64::new(0);
/// Requests sent (each to every other member) and the time spent waiting for the answers.
static SENT: AtomicU64 = AtomicU64::new(0);
static WAIT_NS: AtomicU64 = AtomicU64::new(0);
/// Past this many pages a CPU reloads CR3 (drops every entry) instead of one `invlpg` each.
const MAX_INVLPG: u64 = 32;
/// A CPU that has not answered in this time is stuck: a panic says which. Generous: under
/// TCG with more vCPUs than host cores, a vCPU thread can stay off the host's CPUs (or wait
/// for QEMU's big lock behind device emulation) for over a second while the guest's clock
/// runs on; Linux waits for ever, warning after 5 s.
const ANSWER_TIMEOUT_NS: u64 = 10_000_000_000;

/// Makes the CPU that runs this one of those every request goes to, then drops its whole TLB
/// (whatever it cached before it joined). `index` is its CPU index. Interrupts disabled.
pub(crate) fn join(index: usize) {
    // Requests so far did not count this CPU: mark them answered (the flush below covers
    // them, as it comes after every page-table change they were about).
    CPUS[index]
        .flushed
        .store(GENERATION.load(Ordering::SeqCst), Ordering::SeqCst);
    MEMBERS.fetch_or(1 << index, Ordering::SeqCst);
    tlb::flush_all();
}

/// Installs the shootdown in `memory` and the answer in the NMI path; the boot CPU joins.
pub(crate) fn init() {
    join(0);
    interrupts::set_nmi_handler(on_nmi);
    memory::set_tlb_shootdown(shoot);
}

/// Shootdown statistics since boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShootdownStats {
    /// Requests sent (each to every other CPU online).
    pub sent: u64,
    /// Total time the senders waited for all answers.
    pub wait_ns: u64,
}

/// What the shootdowns cost so far.
pub fn shootdown_stats() -> ShootdownStats {
    ShootdownStats {
        sent: SENT.load(Ordering::Relaxed),
        wait_ns: WAIT_NS.load(Ordering::Relaxed),
    }
}

/// `memory`'s shootdown: every other member CPU flushes `[start, end)`; returns when all
/// have. Called with interrupts disabled (its own flush `memory` has done).
fn shoot(start: u64, end: u64) {
    let me = interrupts::cpu_index();
    // The page-table writes (plain stores) become visible before MEMBERS is read: a CPU that
    // joins after this read flushes after seeing them (see `join`).
    core::sync::atomic::fence(Ordering::SeqCst);
    if MEMBERS.load(Ordering::SeqCst) & !(1 << me) == 0 {
        return;
    }
    let _guard = LOCK.lock();
    let others = MEMBERS.load(Ordering::SeqCst) & !(1 << me);
    let began = time::monotonic_ns();
    let generation = GENERATION.load(Ordering::Relaxed) + 1;
    START.store(start, Ordering::Relaxed);
    END.store(end, Ordering::Relaxed);
    // Publishes the range, and the page-table writes before it, to whoever reads this value.
    GENERATION.store(generation, Ordering::SeqCst);
    let targets = (0..MAX_CPUS).filter(|i| others & (1 << i) != 0);
    for i in targets.clone() {
        lapic::send_nmi(CPUS[i].apic_id.load(Ordering::Relaxed));
    }
    for i in targets {
        let beats = heartbeat(i);
        while CPUS[i].flushed.load(Ordering::Acquire) < generation {
            if time::monotonic_ns() - began > ANSWER_TIMEOUT_NS {
                // Timer interrupts taken meanwhile mean the CPU runs but lost the NMI; none,
                // that it is stuck with interrupts disabled or not running at all.
                panic!(
                    "CPU {i} did not answer a TLB shootdown within {} s (it took {} timer \
                     interrupts meanwhile)",
                    ANSWER_TIMEOUT_NS / 1_000_000_000,
                    heartbeat(i) - beats
                );
            }
            core::hint::spin_loop();
        }
    }
    SENT.fetch_add(1, Ordering::Relaxed);
    WAIT_NS.fetch_add(time::monotonic_ns() - began, Ordering::Relaxed);
}

/// Timer interrupts CPU `i` has taken (the PIT's on the boot CPU, its local APIC timer's
/// elsewhere).
fn heartbeat(i: usize) -> u64 {
    if i == 0 {
        time::ticks()
    } else {
        CPUS[i].ticks.load(Ordering::Relaxed)
    }
}

/// This CPU's index, found by its local APIC id (no GS: see the module's comment).
fn index_by_apic_id() -> Option<usize> {
    let id = lapic::id();
    let members = MEMBERS.load(Ordering::Acquire);
    (0..MAX_CPUS)
        .filter(|i| members & (1 << i) != 0)
        .find(|&i| CPUS[i].apic_id.load(Ordering::Relaxed) == id)
}

/// The NMI handler: answers the request in flight if this CPU has not yet; any other NMI is
/// not ours (false).
fn on_nmi() -> bool {
    let Some(index) = index_by_apic_id() else {
        return false;
    };
    let cpu = &CPUS[index];
    let generation = GENERATION.load(Ordering::SeqCst);
    if cpu.flushed.load(Ordering::Relaxed) >= generation {
        return false;
    }
    let (start, end) = (START.load(Ordering::Relaxed), END.load(Ordering::Relaxed));
    if (end - start) / 4096 > MAX_INVLPG {
        tlb::flush_all();
    } else {
        for page in (start..end).step_by(4096) {
            tlb::flush(x86_64::VirtAddr::new(page));
        }
    }
    cpu.shootdowns.fetch_add(1, Ordering::Relaxed);
    cpu.flushed.store(generation, Ordering::Release);
    true
}
