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
//!
//! A CPU halted in its idle loop is not asked (Linux leaves flushes to CPUs in lazy TLB mode
//! the same way): under TCG a halted vCPU's host thread sleeps, and waking it to answer cost
//! the sender 35 us to over a millisecond per request (the host's own wake-up latency), a
//! dozen times per program start. Right before its `hlt` a CPU marks itself idle
//! ([`enter_idle`]); a request finding the mark adds "stale" to it and goes on; the CPU ends
//! the mark first thing on its next interrupt (the IRQ entry hook, before any handler runs)
//! or after the `hlt` (an NMI woke it), and reloads CR3 if the mark said stale
//! ([`leave_idle`]). In between it executes only `sti; hlt` and the interrupt's entry, whose
//! stacks, code and per-CPU data keep their mappings for as long as the CPU is online; a
//! frame freed meanwhile is in no mapping it uses before it drops its TLB.

use crate::{CPUS, Cpu, MAX_CPUS, lapic};
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

/// `Cpu::tlb`: the CPU runs code that may use any mapping; requests wait for its answer.
pub(crate) const TLB_LIVE: u8 = 0;
/// `Cpu::tlb`: halted in the idle loop, its TLB as before the halt.
const TLB_IDLE: u8 = 1;
/// `Cpu::tlb`: halted in the idle loop, requests made since: it drops its TLB as it wakes.
const TLB_IDLE_STALE: u8 = 2;

/// Marks this CPU (`cpu`) idle, right before its `hlt`, with interrupts disabled.
pub(crate) fn enter_idle(cpu: &Cpu) {
    cpu.tlb.store(TLB_IDLE, Ordering::SeqCst);
}

/// Ends this CPU's idle mark, if it has one, dropping its whole TLB if requests came while
/// it was set. Only the CPU itself sets the mark, so a plain load that finds it clear needs
/// no more.
pub(crate) fn leave_idle(cpu: &Cpu) {
    if cpu.tlb.load(Ordering::Relaxed) == TLB_LIVE {
        return;
    }
    // The requests' page-table writes came before their "stale" (see `leave_to_idle`).
    if cpu.tlb.swap(TLB_LIVE, Ordering::SeqCst) == TLB_IDLE_STALE {
        tlb::flush_all();
    }
}

/// The IRQ entry hook: the interrupted CPU leaves its idle mark before the handler runs.
fn on_irq_entry() {
    if let Some(cpu) = CPUS.get(interrupts::cpu_index()) {
        leave_idle(cpu);
    }
}

/// Leaves the request in flight to `cpu`'s wake if it is halted in its idle loop (true);
/// false if it runs, and must answer now.
fn leave_to_idle(cpu: &Cpu) -> bool {
    let mut state = cpu.tlb.load(Ordering::SeqCst);
    while state != TLB_LIVE {
        match cpu.tlb.compare_exchange_weak(
            state,
            TLB_IDLE_STALE,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => {
                cpu.deferred.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            Err(now) => state = now,
        }
    }
    false
}

/// Installs the shootdown in `memory`, the answer in the NMI path and the end of the idle
/// mark in the IRQ entry; the boot CPU joins.
pub(crate) fn init() {
    join(0);
    interrupts::set_nmi_handler(on_nmi);
    interrupts::set_irq_entry_hook(on_irq_entry);
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
    // The CPUs halted in their idle loop flush as they wake; the others are asked now.
    let asked = (0..MAX_CPUS)
        .filter(|&i| others & (1 << i) != 0 && !leave_to_idle(&CPUS[i]))
        .fold(0u64, |mask, i| mask | (1 << i));
    let targets = (0..MAX_CPUS).filter(|i| asked & (1 << i) != 0);
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
