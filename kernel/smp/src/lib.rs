//! Symmetric multiprocessing: finds the processors (ACPI's MADT, `acpi` crate), starts the
//! application processors with INIT and start-up IPIs through a small real-mode trampoline
//! (`trampoline`), gives each its own GDT, TSS, IST stacks and per-CPU block (made by
//! `interrupts`), its local APIC with a 100 Hz timer, the per-CPU set-up the caller names
//! (the `syscall` registers), and then hands it to the scheduler the caller names
//! ([`ApEntry`]: each processor runs tasks from then on). Also the reschedule IPI
//! ([`send_reschedule`]) and the halt of an idle CPU ([`halt_until_interrupt`]) the
//! scheduler uses, the TLB shootdown `memory` uses once other CPUs run (`shootdown`, by NMI;
//! left to the wake of a CPU halted in its idle loop),
//! running a function on another CPU ([`run_on`], by IPI), and the count of CPUs online for
//! `sched_getaffinity` and friends.
//!
//! Depends on `interrupts` (per-CPU tables, vectors), `memory` (stacks, the direct map),
//! `time` (the TSC clock the start-up delays and timer calibration use), `acpi`, `x86_64`.

#![no_std]

extern crate alloc;

mod call;
mod lapic;
mod madt;
mod shootdown;
mod tests;
mod trampoline;

pub use call::run_on;
pub use shootdown::{ShootdownStats, shootdown_stats};
pub use trampoline::TRAMPOLINE_PHYS;

use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// The most CPUs the kernel runs (xtask's `--smp` limit is the same).
pub const MAX_CPUS: usize = 64;
/// Application processors' start stacks: 64 KiB (they become the stacks of their idle tasks,
/// which run only the idle loop and the interrupts that arrive while it runs).
const AP_STACK_PAGES: u64 = 16;
/// The local APIC timer's rate on the application processors, as the PIT's on the boot CPU.
const TIMER_HZ: u64 = 100;

/// What the kernel knows about one CPU, by CPU index.
struct Cpu {
    apic_id: AtomicU32,
    online: AtomicBool,
    /// Local APIC timer interrupts handled.
    ticks: AtomicU64,
    /// Returns from `hlt` in the idle loop (one per interrupt when the CPU really halts).
    wakeups: AtomicU64,
    /// The last TLB shootdown generation this CPU has flushed (see `shootdown`).
    flushed: AtomicU64,
    /// TLB shootdowns this CPU answered (by NMI).
    shootdowns: AtomicU64,
    /// Whether this CPU halts in its idle loop, and whether requests were left to its wake
    /// meanwhile (`shootdown::TLB_LIVE` ...).
    tlb: AtomicU8,
    /// TLB shootdowns left to this CPU's wake (it was halted when they were made).
    deferred: AtomicU64,
    /// Reschedule IPIs this CPU took.
    reschedules: AtomicU64,
    /// True from a reschedule IPI's sending until its handler runs: a second request meanwhile
    /// sends nothing (the handler will look at the run queue after it anyway).
    reschedule_pending: AtomicBool,
    /// The call slot of [`run_on`].
    call: call::CallSlot,
}

static CPUS: [Cpu; MAX_CPUS] = [const {
    Cpu {
        apic_id: AtomicU32::new(0),
        online: AtomicBool::new(false),
        ticks: AtomicU64::new(0),
        wakeups: AtomicU64::new(0),
        flushed: AtomicU64::new(0),
        shootdowns: AtomicU64::new(0),
        tlb: AtomicU8::new(shootdown::TLB_LIVE),
        deferred: AtomicU64::new(0),
        reschedules: AtomicU64::new(0),
        reschedule_pending: AtomicBool::new(false),
        call: call::CallSlot::new(),
    }
}; MAX_CPUS];
/// CPUs running (the boot CPU counts from the start).
static ONLINE: AtomicUsize = AtomicUsize::new(1);
/// Usable processors the MADT lists (1 until [`start_application_processors`] read it).
static FOUND: AtomicUsize = AtomicUsize::new(1);
/// Timer counts (bus clock / 16) per tick, measured by the first application processor.
static TIMER_COUNTS: AtomicU32 = AtomicU32::new(0);
/// The boot CPU's CR0 and CR4, which every application processor copies (the trampoline
/// sets only what long mode needs; INIT leaves CR0's cache-disable bits set).
static BOOT_CR0: AtomicU64 = AtomicU64::new(0);
static BOOT_CR4: AtomicU64 = AtomicU64::new(0);
/// Set once every processor that could be started is online: they enter the scheduler then.
static ALL_STARTED: AtomicBool = AtomicBool::new(false);
/// How the processors enter the scheduler (see [`ApEntry`]).
static ENTRY: spin::Once<ApEntry> = spin::Once::new();
/// The scheduler's functions for each application processor's timer tick and for the
/// reschedule IPI (see [`set_scheduler_hooks`]).
static TIMER_HOOK: spin::Once<fn()> = spin::Once::new();
static RESCHEDULE_HOOK: spin::Once<fn()> = spin::Once::new();

/// How application processors join the scheduler.
#[derive(Clone, Copy)]
pub struct ApEntry {
    /// Runs on the boot CPU, with the CPU's index, before that CPU is started: what it needs
    /// that must be allocated (its idle task).
    pub prepare: fn(usize),
    /// Runs on the application processor once every processor is online, with interrupts
    /// disabled, on its start stack; never returns (it becomes the CPU's idle task).
    pub enter: fn() -> !,
}

/// Names the scheduler's function for every application processor's timer tick (after the
/// end of interrupt, so it may switch tasks) and for the reschedule IPI (the same). Set once.
pub fn set_scheduler_hooks(timer: fn(), reschedule: fn()) {
    TIMER_HOOK.call_once(|| timer);
    RESCHEDULE_HOOK.call_once(|| reschedule);
}

/// CPUs online (1 before the application processors were started).
pub fn cpus_online() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// Usable processors in the firmware's MADT (what QEMU's `-smp` gave).
pub fn cpus_found() -> usize {
    FOUND.load(Ordering::Acquire)
}

/// One CPU as [`cpu`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuInfo {
    pub index: usize,
    pub apic_id: u32,
    pub online: bool,
    /// Local APIC timer interrupts (0 on the boot CPU, whose timer is the PIT).
    pub ticks: u64,
    /// Returns from `hlt` in the idle loop.
    pub wakeups: u64,
    /// TLB shootdowns it answered by NMI (requests from the other CPUs).
    pub shootdowns: u64,
    /// TLB shootdowns left to its wake: made while it was halted, so nobody waited for it;
    /// it dropped its whole TLB as it woke, before touching any other memory.
    pub deferred: u64,
    /// Reschedule IPIs it took.
    pub reschedules: u64,
}

/// CPU `index` (0: the boot CPU), or `None` past the last one online.
pub fn cpu(index: usize) -> Option<CpuInfo> {
    let c = CPUS.get(index)?;
    let online = c.online.load(Ordering::Acquire);
    if !online && index != 0 {
        return None;
    }
    Some(CpuInfo {
        index,
        apic_id: c.apic_id.load(Ordering::Relaxed),
        online: online || index == 0,
        ticks: c.ticks.load(Ordering::Relaxed),
        wakeups: c.wakeups.load(Ordering::Relaxed),
        shootdowns: c.shootdowns.load(Ordering::Relaxed),
        deferred: c.deferred.load(Ordering::Relaxed),
        reschedules: c.reschedules.load(Ordering::Relaxed),
    })
}

/// Asks CPU `cpu` (the boot CPU or one online) to look at the run queue again, by the
/// reschedule IPI: a task it may run became runnable while it idles, or the task it runs has a
/// kill, stop or signal to notice (an interrupt that arrived in user mode returns through the
/// checks of the return to user mode). Sends nothing while an earlier request to that CPU is
/// not handled yet, or before the local APIC is set up (no other CPU runs then).
pub fn send_reschedule(cpu: usize) {
    let Some(c) = CPUS.get(cpu) else { return };
    if cpu != 0 && !c.online.load(Ordering::Acquire) {
        return;
    }
    if !lapic::ready() || c.reschedule_pending.swap(true, Ordering::AcqRel) {
        return;
    }
    lapic::send_fixed(
        c.apic_id.load(Ordering::Relaxed),
        interrupts::RESCHEDULE_VECTOR,
    );
}

/// The reschedule IPI: counts it, ends the interrupt and lets the scheduler look.
fn on_reschedule() {
    if let Some(cpu) = CPUS.get(interrupts::cpu_index()) {
        cpu.reschedules.fetch_add(1, Ordering::Relaxed);
        // Cleared before the scheduler looks: a request after that look sends a new IPI.
        cpu.reschedule_pending.store(false, Ordering::Release);
    }
    lapic::end_of_interrupt();
    if let Some(hook) = RESCHEDULE_HOOK.get() {
        hook();
    }
}

/// An idle CPU's wait: enables interrupts and halts until the next one (`sti; hlt`, so one
/// that arrives after a check made with interrupts disabled still ends the halt), and counts
/// the return. Interrupts stay enabled. While halted the CPU is marked idle: TLB shootdowns
/// do not wait for it but are left to its wake (see `shootdown`), as Linux leaves them to a
/// CPU in lazy TLB mode. Call with interrupts disabled, from the idle loop only: it must
/// touch no memory but its own stack between the caller's last look and the halt.
pub fn halt_until_interrupt() {
    let cpu = CPUS.get(interrupts::cpu_index());
    if let Some(cpu) = cpu {
        shootdown::enter_idle(cpu);
    }
    x86_64::instructions::interrupts::enable_and_hlt();
    if let Some(cpu) = cpu {
        // Woken by an interrupt, its entry did this already; by an NMI, not.
        shootdown::leave_idle(cpu);
        cpu.wakeups.fetch_add(1, Ordering::Relaxed);
    }
}

/// The start-up data of one application processor (leaked: it lives as long as the CPU).
struct ApStart {
    index: usize,
    tables: &'static interrupts::CpuTables,
    /// The caller's per-CPU set-up, run first thing.
    per_cpu: &'static [fn()],
}

/// Starts every usable processor of the MADT other than the boot CPU, one at a time, and
/// returns how many CPUs are online. Call once, on the boot CPU, with interrupts enabled,
/// after the boot information has been read (the start-up code overwrites physical page
/// [`TRAMPOLINE_PHYS`], where a loader may have left it). A processor that does not come up
/// within a second is reported and the start stops there (a late start must not find its
/// stack handed to the next one). Each processor runs the functions of `per_cpu` as soon as
/// its GDT, TSS, IDT and GS base are loaded, with interrupts disabled: the set-up every CPU
/// needs of its own (the boot CPU's was done by whoever names them). With `entry`, each
/// processor then waits until the start is over and enters the scheduler (see [`ApEntry`]);
/// without, it only halts between interrupts.
pub fn start_application_processors(per_cpu: &'static [fn()], entry: Option<ApEntry>) -> usize {
    let began = time::monotonic_ns();
    let processors = match madt::processors() {
        Ok(list) => list,
        Err(e) => {
            log::warn!("no ACPI processor list ({e:?}): one CPU");
            return cpus_online();
        }
    };
    let usable: alloc::vec::Vec<_> = processors.iter().filter(|p| p.enabled).collect();
    FOUND.store(usable.len().max(1), Ordering::Release);
    if let Err(e) = lapic::init() {
        log::error!("{e}: one CPU");
        return cpus_online();
    }
    let own_id = lapic::id();
    CPUS[0].apic_id.store(own_id, Ordering::Relaxed);
    shootdown::init();
    interrupts::set_call_handler(call::on_call);
    interrupts::set_reschedule_handler(on_reschedule);
    if let Some(entry) = entry {
        ENTRY.call_once(|| entry);
    }
    if usable.len() <= 1 {
        return cpus_online();
    }
    // The other CPUs send the boot CPU reschedule and call IPIs.
    lapic::software_enable(interrupts::SPURIOUS_VECTOR);
    let cr3 = x86_64::registers::control::Cr3::read()
        .0
        .start_address()
        .as_u64();
    let Ok(cr3) = u32::try_from(cr3) else {
        log::error!("the page-table root {cr3:#x} is above 4 GiB: one CPU");
        return cpus_online();
    };
    trampoline::AP_CR3.store(cr3, Ordering::Release);
    BOOT_CR0.store(
        x86_64::registers::control::Cr0::read_raw(),
        Ordering::Release,
    );
    BOOT_CR4.store(
        x86_64::registers::control::Cr4::read_raw(),
        Ordering::Release,
    );
    let code = trampoline::real_mode_code();
    assert!(code.len() <= 4096);
    // SAFETY: the start-up page lies in the first MiB, which the frame allocator never hands
    // out, and the caller said nothing else uses it; the direct map maps it writable.
    unsafe {
        core::ptr::copy_nonoverlapping(
            code.as_ptr(),
            memory::phys_to_virt(trampoline::TRAMPOLINE_PHYS) as *mut u8,
            code.len(),
        );
    }
    interrupts::set_local_timer_handler(on_local_timer);
    for p in usable.iter().filter(|p| p.apic_id != own_id) {
        let index = ONLINE.load(Ordering::Acquire);
        if index >= MAX_CPUS {
            log::warn!("more than {MAX_CPUS} CPUs; the others stay off");
            break;
        }
        if !start(index, p.apic_id, per_cpu) {
            log::error!(
                "the CPU with APIC id {} did not start; the others stay off",
                p.apic_id
            );
            break;
        }
    }
    // The processors online go on into the scheduler.
    ALL_STARTED.store(true, Ordering::Release);
    log::info!(
        "{} of {} CPUs online ({} ms to start them)",
        cpus_online(),
        cpus_found(),
        (time::monotonic_ns() - began) / 1_000_000
    );
    cpus_online()
}

/// Starts the processor `apic_id` as CPU `index` and waits until it is online.
fn start(index: usize, apic_id: u32, per_cpu: &'static [fn()]) -> bool {
    let Some(stack) = memory::allocate_stack(AP_STACK_PAGES) else {
        log::error!("no memory for a CPU's stack");
        return false;
    };
    if let Some(entry) = ENTRY.get() {
        (entry.prepare)(index);
    }
    let start: &'static ApStart = alloc::boxed::Box::leak(alloc::boxed::Box::new(ApStart {
        index,
        tables: interrupts::prepare_cpu(index),
        per_cpu,
    }));
    CPUS[index].apic_id.store(apic_id, Ordering::Relaxed);
    trampoline::AP_STACK.store(stack.top(), Ordering::Release);
    trampoline::AP_ARG.store(start as *const ApStart as u64, Ordering::Release);
    // The stack serves the CPU for the kernel's whole life (also if it starts late).
    core::mem::forget(stack);
    let page = (trampoline::TRAMPOLINE_PHYS / 4096) as u8;
    // Intel's sequence: INIT, 10 ms, start-up, 200 us, start-up again if it is not running.
    lapic::send_init(apic_id);
    wait_ns(10_000_000);
    lapic::send_startup(apic_id, page);
    wait_ns(200_000);
    if !CPUS[index].online.load(Ordering::Acquire) {
        lapic::send_startup(apic_id, page);
    }
    let deadline = time::monotonic_ns() + 1_000_000_000;
    while !CPUS[index].online.load(Ordering::Acquire) {
        if time::monotonic_ns() > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

fn wait_ns(ns: u64) {
    let end = time::monotonic_ns() + ns;
    while time::monotonic_ns() < end {
        core::hint::spin_loop();
    }
}

/// An application processor's first Rust code, on its own stack, interrupts disabled, with
/// the kernel's page tables and the trampoline's GDT. Until it is online it touches no lock,
/// allocates nothing (the boot CPU made everything it needs) and no `#[thread_local]` (its
/// FS base is 0); once every processor is started it enters the scheduler (`ApEntry::enter`),
/// which gives it a task of its own first.
extern "C" fn ap_main(start: &'static ApStart) -> ! {
    interrupts::init_this_cpu(start.tables);
    // SAFETY: the boot CPU's control registers: the same paging mode (PG, PE, PAE, WP), the
    // same caching and FP/SIMD set-up, on the same page tables; this CPU runs kernel code
    // only, which the boot CPU runs with these values.
    unsafe {
        x86_64::registers::control::Cr0::write_raw(BOOT_CR0.load(Ordering::Acquire));
        x86_64::registers::control::Cr4::write_raw(BOOT_CR4.load(Ordering::Acquire));
    }
    // SAFETY: resets the x87 unit to its defined state (control word 0x37f); MXCSR is 0x1f80
    // after INIT already. Tasks bring their own FP/SIMD state; this is the idle loop's.
    unsafe { core::arch::asm!("fninit", options(nostack, preserves_flags)) };
    for f in start.per_cpu {
        f();
    }
    // From here on this CPU's TLB takes part in every shootdown.
    shootdown::join(start.index);
    lapic::enable(interrupts::SPURIOUS_VECTOR);
    let mut counts = TIMER_COUNTS.load(Ordering::Acquire);
    if counts == 0 {
        counts = lapic::timer_counts_in(1_000_000_000 / TIMER_HZ).max(1);
        TIMER_COUNTS.store(counts, Ordering::Release);
    }
    lapic::start_periodic_timer(interrupts::LOCAL_TIMER_VECTOR, counts);
    let cpu = &CPUS[start.index];
    ONLINE.fetch_add(1, Ordering::AcqRel);
    cpu.online.store(true, Ordering::Release);
    // Halt until every processor is started (the boot CPU's start-up sequence keeps its
    // timing), then run tasks; without a scheduler, halt forever.
    loop {
        if let Some(entry) = ENTRY.get()
            && ALL_STARTED.load(Ordering::Acquire)
        {
            x86_64::instructions::interrupts::disable();
            (entry.enter)();
        }
        halt_until_interrupt();
    }
}

/// The local APIC timer of an application processor: counts the tick, ends the interrupt
/// and gives the tick to the scheduler (which may switch tasks).
fn on_local_timer() {
    if let Some(cpu) = CPUS.get(interrupts::cpu_index()) {
        cpu.ticks.fetch_add(1, Ordering::Relaxed);
    }
    lapic::end_of_interrupt();
    if let Some(hook) = TIMER_HOOK.get() {
        hook();
    }
}
