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
//! itself for `task::current` ([`current_task`], read through GS). One CPU today; with SMP
//! each CPU gets its own block, TSS and GDT.

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
const _: () = assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == PERCPU_KERNEL_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, user_rsp) == PERCPU_USER_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, kernel_fs) == PERCPU_KERNEL_FS);
const _: () = assert!(core::mem::offset_of!(PerCpu, current_task) == PERCPU_CURRENT_TASK);

struct CpuCell<T>(UnsafeCell<T>);
// SAFETY: one CPU; the cells are written only with interrupts disabled (by the scheduler while
// it switches tasks, and by `init`), and read by the CPU itself or by entry code of that CPU.
unsafe impl<T> Sync for CpuCell<T> {}

static PERCPU: CpuCell<PerCpu> = CpuCell(UnsafeCell::new(PerCpu {
    kernel_rsp: 0,
    user_rsp: 0,
    kernel_fs: 0,
    current_task: 0,
    scratch: MaybeUninit::uninit(),
    irq_from_user: core::sync::atomic::AtomicBool::new(false),
}));
static TSS: Once<CpuCell<TaskStateSegment>> = Once::new();
static GDT: Once<(GlobalDescriptorTable, SegmentSelector)> = Once::new();

pub fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        for ist in [DOUBLE_FAULT_IST, NMI_IST, PAGE_FAULT_IST] {
            let stack = memory::allocate_stack(IST_STACK_PAGES).expect("no memory for IST stacks");
            tss.interrupt_stack_table[ist as usize] = VirtAddr::new(stack.top());
            // The IST stacks serve for the kernel's whole life.
            core::mem::forget(stack);
        }
        CpuCell(UnsafeCell::new(tss))
    });
    let (gdt, tss_sel) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        assert_eq!(
            [code.0, data.0, user_data.0, user_code.0],
            [KERNEL_CS, KERNEL_SS, USER_SS, USER_CS]
        );
        // SAFETY: the TSS lives forever (a `static`), and the descriptor only records its
        // address; `set_kernel_entry` later writes `rsp0` through the same cell.
        let tss_sel = gdt.append(Descriptor::tss_segment(unsafe { &*tss.0.get() }));
        (gdt, tss_sel)
    });
    gdt.load();
    // SAFETY: the selectors name the descriptors of the GDT just loaded, which lives forever.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CS));
        SS::set_reg(SegmentSelector(KERNEL_SS));
        DS::set_reg(SegmentSelector(KERNEL_SS));
        ES::set_reg(SegmentSelector(KERNEL_SS));
        load_tss(*tss_sel);
    }
    // Kernel mode runs with GS = the per-CPU block; user mode with GS = 0 (swapped in on
    // every entry from user mode).
    GsBase::write(VirtAddr::from_ptr(PERCPU.0.get()));
    KernelGsBase::write(VirtAddr::zero());
}

/// This CPU's scratch frame: a place outside every stack where code that is about to replace
/// its own stack with a `TrapFrame` (the return to user mode) keeps the frame meanwhile. Use
/// it only with interrupts disabled, and only until the next enabling of interrupts.
pub fn scratch_frame() -> *mut crate::TrapFrame {
    // SAFETY: only the address is taken; see the function's contract for its use.
    unsafe { (*PERCPU.0.get()).scratch.as_mut_ptr() }
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
        (*PERCPU.0.get())
            .irq_from_user
            .swap(false, core::sync::atomic::Ordering::Relaxed)
    }
}

pub(crate) fn set_interrupted_user_mode(on: bool) {
    // SAFETY: as above.
    unsafe {
        (*PERCPU.0.get())
            .irq_from_user
            .store(on, core::sync::atomic::Ordering::Relaxed)
    }
}

/// Records where the running task enters the kernel from user mode: `kernel_rsp` (the top of
/// the free part of its kernel stack; 0 for a task that never runs user code) and its kernel
/// FS base. Called by the scheduler, with interrupts disabled, each time it switches tasks.
pub fn set_kernel_entry(kernel_rsp: u64, kernel_fs: u64) {
    // SAFETY: one CPU, interrupts disabled (see `CpuCell`): nothing else reads or writes the
    // block or the TSS meanwhile; the CPU reads `rsp0` only at the next entry from user mode.
    unsafe {
        let percpu = &mut *PERCPU.0.get();
        percpu.kernel_fs = kernel_fs;
        if kernel_rsp != 0 {
            percpu.kernel_rsp = kernel_rsp;
            if let Some(tss) = TSS.get() {
                (*tss.0.get()).privilege_stack_table[0] = VirtAddr::new(kernel_rsp);
            }
        }
    }
}
