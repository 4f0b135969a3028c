//! GDT, TSS and the per-CPU block.
//!
//! The GDT holds the kernel's code and data segments, the user (ring 3) data and code
//! segments in the order `syscall`/`sysret` require (kernel CS, kernel SS = CS + 8; user SS,
//! then user CS = SS + 8), and the TSS. The TSS names the IST stacks and `rsp0`, the kernel
//! stack the CPU switches to when an interrupt or exception arrives in user mode; the
//! scheduler points `rsp0` at the running task's kernel stack ([`set_kernel_entry`]).
//!
//! The per-CPU block ([`PerCpu`]) is what entry code from user mode finds through the GS base
//! after `swapgs`: the kernel stack to switch to, a scratch slot for the user stack pointer and
//! the running task's kernel FS base (the kernel's `#[thread_local]`s), and the running task
//! itself for `task::current` ([`current_task`], read through GS), the CPU's index
//! ([`cpu_index`]). Every CPU has its own block, TSS (with its own IST stacks) and GDT: the
//! boot CPU's are statics ([`init`]); an application processor's are made on the boot CPU
//! ([`prepare_cpu`]) and loaded by the processor itself ([`init_this_cpu`]).

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

pub const DOUBLE_FAULT_IST: u16 = 0;
pub const NMI_IST: u16 = 1;
pub const PAGE_FAULT_IST: u16 = 2;
const IST_STACK_PAGES: u64 = 8;

/// Selector values (fixed by the GDT's order below).
pub const KERNEL_CS: u16 = 0x08;
pub const KERNEL_SS: u16 = 0x10;
/// User data and stack segment, RPL 3.
pub const USER_SS: u16 = 0x18 | 3;
/// User 64-bit code segment, RPL 3.
pub const USER_CS: u16 = 0x20 | 3;

/// Per-CPU data reached through the GS base in kernel mode. The entry stubs address its
/// fields by offset (`PERCPU_*`), so the layout is fixed.
#[repr(C)]
pub struct PerCpu {
    /// Top of the kernel stack for entries from user mode (`syscall` switches to it by hand;
    /// the TSS's `rsp0` holds the same value for interrupts).
    pub kernel_rsp: u64,
    /// Scratch: the user stack pointer during `syscall` entry.
    pub user_rsp: u64,
    /// The running task's kernel FS base, loaded on every entry from user mode.
    pub kernel_fs: u64,
    /// The running task, as the scheduler sees it (an opaque address the `task` crate sets at
    /// every switch, see [`set_current_task`]): finding it needs no lock.
    current_task: u64,
    /// The block's own address: `gs:[PERCPU_THIS]` turns the GS base into a pointer.
    this: u64,
    /// This CPU's index: 0 for the boot CPU, then 1, 2... in the order the CPUs came up.
    cpu: u64,
    /// This CPU's TSS (its `rsp0` follows `kernel_rsp`).
    tss: *mut TaskStateSegment,
    /// Where a register state waits while the stack it goes to is overwritten (see
    /// [`scratch_frame`]).
    scratch: MaybeUninit<crate::TrapFrame>,
    /// True while an interrupt that arrived in user mode is being handled (the scheduler's
    /// tick charges the time to the task's user time).
    irq_from_user: core::sync::atomic::AtomicBool,
}

pub const PERCPU_KERNEL_RSP: usize = 0;
pub const PERCPU_USER_RSP: usize = 8;
pub const PERCPU_KERNEL_FS: usize = 16;
const PERCPU_CURRENT_TASK: usize = 24;
const PERCPU_THIS: usize = 32;
const PERCPU_CPU: usize = 40;
const _: () = assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == PERCPU_KERNEL_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, user_rsp) == PERCPU_USER_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, kernel_fs) == PERCPU_KERNEL_FS);
const _: () = assert!(core::mem::offset_of!(PerCpu, current_task) == PERCPU_CURRENT_TASK);
const _: () = assert!(core::mem::offset_of!(PerCpu, this) == PERCPU_THIS);
const _: () = assert!(core::mem::offset_of!(PerCpu, cpu) == PERCPU_CPU);

impl PerCpu {
    const fn new() -> PerCpu {
        PerCpu {
            kernel_rsp: 0,
            user_rsp: 0,
            kernel_fs: 0,
            current_task: 0,
            this: 0,
            cpu: 0,
            tss: core::ptr::null_mut(),
            scratch: MaybeUninit::uninit(),
            irq_from_user: core::sync::atomic::AtomicBool::new(false),
        }
    }
}

struct CpuCell<T>(UnsafeCell<T>);
// SAFETY: each cell belongs to one CPU: it is written only by that CPU with interrupts
// disabled (by the scheduler while it switches tasks, and by `init`/`init_this_cpu`) and read
// by that CPU's code and entry stubs; the boot CPU fills an application processor's cells
// before that processor starts and never touches them afterwards.
unsafe impl<T> Sync for CpuCell<T> {}

/// The boot CPU's block, TSS and GDT (statics: they exist before the heap does).
static PERCPU: CpuCell<PerCpu> = CpuCell(UnsafeCell::new(PerCpu::new()));
static TSS: Once<CpuCell<TaskStateSegment>> = Once::new();
static GDT: Once<(GlobalDescriptorTable, SegmentSelector)> = Once::new();

/// A TSS whose IST stacks (each above a guard page) are freshly allocated.
fn new_tss() -> TaskStateSegment {
    let mut tss = TaskStateSegment::new();
    for ist in [DOUBLE_FAULT_IST, NMI_IST, PAGE_FAULT_IST] {
        let stack = memory::allocate_stack(IST_STACK_PAGES).expect("no memory for IST stacks");
        tss.interrupt_stack_table[ist as usize] = VirtAddr::new(stack.top());
        // The IST stacks serve for the kernel's whole life.
        core::mem::forget(stack);
    }
    tss
}

/// A GDT with the kernel and user segments and `tss`.
fn new_gdt(tss: &'static TaskStateSegment) -> (GlobalDescriptorTable, SegmentSelector) {
    let mut gdt = GlobalDescriptorTable::new();
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let user_data = gdt.append(Descriptor::user_data_segment());
    let user_code = gdt.append(Descriptor::user_code_segment());
    assert_eq!(
        [code.0, data.0, user_data.0, user_code.0],
        [KERNEL_CS, KERNEL_SS, USER_SS, USER_CS]
    );
    let tss_sel = gdt.append(Descriptor::tss_segment(tss));
    (gdt, tss_sel)
}

/// Loads `gdt` and its segments and TSS, and makes `percpu` this CPU's block behind GS.
fn load(
    gdt: &'static GlobalDescriptorTable,
    tss_sel: SegmentSelector,
    percpu: *mut PerCpu,
    cpu: usize,
    tss: *mut TaskStateSegment,
) {
    gdt.load();
    // SAFETY: the selectors name the descriptors of the GDT just loaded, which lives forever.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CS));
        SS::set_reg(SegmentSelector(KERNEL_SS));
        DS::set_reg(SegmentSelector(KERNEL_SS));
        ES::set_reg(SegmentSelector(KERNEL_SS));
        load_tss(tss_sel);
    }
    // SAFETY: this CPU's own block, not yet reachable through GS (interrupts are disabled).
    unsafe {
        (*percpu).this = percpu as u64;
        (*percpu).cpu = cpu as u64;
        (*percpu).tss = tss;
    }
    // Kernel mode runs with GS = the per-CPU block; user mode with GS = 0 (swapped in on
    // every entry from user mode).
    GsBase::write(VirtAddr::from_ptr(percpu));
    KernelGsBase::write(VirtAddr::zero());
}

/// The boot CPU's tables: CPU index 0.
pub fn init() {
    let tss = TSS.call_once(|| CpuCell(UnsafeCell::new(new_tss())));
    // SAFETY: the TSS lives forever (a `static`), and the descriptor only records its
    // address; `set_kernel_entry` later writes `rsp0` through the same cell.
    let (gdt, tss_sel) = GDT.call_once(|| new_gdt(unsafe { &*tss.0.get() }));
    load(gdt, *tss_sel, PERCPU.0.get(), 0, tss.0.get());
}

/// The tables of one application processor, made by the boot CPU ([`prepare_cpu`]) and
/// loaded by that processor ([`init_this_cpu`]). They live forever.
pub struct CpuTables {
    percpu: CpuCell<PerCpu>,
    tss: CpuCell<TaskStateSegment>,
    gdt: Once<(GlobalDescriptorTable, SegmentSelector)>,
    cpu: usize,
}

/// Makes CPU `cpu`'s block, TSS (with its own IST stacks) and GDT. Runs on the boot CPU,
/// which may allocate; the processor itself then only loads them.
pub fn prepare_cpu(cpu: usize) -> &'static CpuTables {
    let tables: &'static CpuTables = alloc::boxed::Box::leak(alloc::boxed::Box::new(CpuTables {
        percpu: CpuCell(UnsafeCell::new(PerCpu::new())),
        tss: CpuCell(UnsafeCell::new(new_tss())),
        gdt: Once::new(),
        cpu,
    }));
    // SAFETY: the TSS lives forever (leaked), and the descriptor only records its address.
    tables
        .gdt
        .call_once(|| new_gdt(unsafe { &*tables.tss.0.get() }));
    tables
}

/// Loads `tables` on the CPU that runs this (an application processor starting up, with
/// interrupts disabled): GDT, segments, TSS, IDT and the GS base.
pub fn init_this_cpu(tables: &'static CpuTables) {
    let (gdt, tss_sel) = tables.gdt.get().expect("prepare_cpu built the GDT");
    load(
        gdt,
        *tss_sel,
        tables.percpu.0.get(),
        tables.cpu,
        tables.tss.0.get(),
    );
    crate::exceptions::load_idt();
}

/// This CPU's per-CPU block (through the GS base, which is the block in kernel mode).
fn this_cpu() -> *mut PerCpu {
    let v: usize;
    // SAFETY: a load from this CPU's block through the GS base (see `set_current_task`).
    unsafe {
        core::arch::asm!(
            "mov {v}, gs:[{off}]",
            off = const PERCPU_THIS,
            v = out(reg) v,
            options(nostack, readonly, preserves_flags)
        );
    }
    v as *mut PerCpu
}

/// The index of the CPU that runs this: 0 for the boot CPU, 1.. for the others in the
/// order they came up. A task that may be moved between CPUs gets a value that was true at
/// some moment of the call.
pub fn cpu_index() -> usize {
    let v: usize;
    // SAFETY: a load from this CPU's block through the GS base.
    unsafe {
        core::arch::asm!(
            "mov {v}, gs:[{off}]",
            off = const PERCPU_CPU,
            v = out(reg) v,
            options(nostack, readonly, preserves_flags)
        );
    }
    v
}

/// This CPU's scratch frame: a place outside every stack where code that is about to replace
/// its own stack with a `TrapFrame` (the return to user mode) keeps the frame meanwhile. Use
/// it only with interrupts disabled, and only until the next enabling of interrupts.
pub fn scratch_frame() -> *mut crate::TrapFrame {
    // SAFETY: only the address is taken; see the function's contract for its use.
    unsafe { (*this_cpu()).scratch.as_mut_ptr() }
}

/// Records the running task of this CPU (an address only the caller interprets; 0: none).
/// The scheduler calls it, with interrupts disabled, whenever its running task changes.
pub fn set_current_task(task: usize) {
    // SAFETY: a store to this CPU's block through the GS base, which is the block in kernel
    // mode (entries from user mode swap it in first); interrupts are disabled, so no entry
    // stub of this CPU runs meanwhile.
    unsafe {
        core::arch::asm!(
            "mov gs:[{off}], {v}",
            off = const PERCPU_CURRENT_TASK,
            v = in(reg) task,
            options(nostack, preserves_flags)
        );
    }
}

/// This CPU's running task as last given to [`set_current_task`] (0 before the first call).
/// One load through the GS base: no lock, interrupts may stay enabled (a task that reads it
/// is the running task, before and after any preemption in between).
#[inline]
pub fn current_task() -> usize {
    let v: usize;
    // SAFETY: a load from this CPU's block through the GS base (see `set_current_task`).
    unsafe {
        core::arch::asm!(
            "mov {v}, gs:[{off}]",
            off = const PERCPU_CURRENT_TASK,
            v = out(reg) v,
            options(nostack, readonly, preserves_flags)
        );
    }
    v
}

/// True if this CPU is handling an interrupt that arrived in user mode; clears the mark, so
/// a task switched to from this interrupt does not inherit it. The timer tick asks once.
pub fn take_interrupted_user_mode() -> bool {
    // SAFETY: a shared reference to an atomic field of this CPU's block.
    unsafe {
        (*this_cpu())
            .irq_from_user
            .swap(false, core::sync::atomic::Ordering::Relaxed)
    }
}

pub(crate) fn set_interrupted_user_mode(on: bool) {
    // SAFETY: as above.
    unsafe {
        (*this_cpu())
            .irq_from_user
            .store(on, core::sync::atomic::Ordering::Relaxed)
    }
}

/// Records where the running task enters the kernel from user mode: `kernel_rsp` (the top of
/// the free part of its kernel stack; 0 for a task that never runs user code) and its kernel
/// FS base. Called by the scheduler, with interrupts disabled, each time it switches tasks.
pub fn set_kernel_entry(kernel_rsp: u64, kernel_fs: u64) {
    // SAFETY: this CPU's own block and TSS, interrupts disabled (see `CpuCell`): nothing else
    // reads or writes them meanwhile; the CPU reads `rsp0` only at the next entry from user
    // mode.
    unsafe {
        let percpu = &mut *this_cpu();
        percpu.kernel_fs = kernel_fs;
        if kernel_rsp != 0 {
            percpu.kernel_rsp = kernel_rsp;
            (*percpu.tss).privilege_stack_table[0] = VirtAddr::new(kernel_rsp);
        }
    }
}
