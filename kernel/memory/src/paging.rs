//! The frame allocator instance and the kernel's page tables.

use crate::PHYS_OFFSET;
use arrayvec::ArrayVec;
use boot_info::{BootInfo, PhysRange};
use core::sync::atomic::{AtomicUsize, Ordering};
use cpu_mutex::CpuMutex;
use frame_allocator::{FrameAllocator, Range, bitmap_words, find_space};
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::instructions::tlb;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::{MapToError, Translate, TranslateResult, UnmapError};
use x86_64::structures::paging::{
    FrameAllocator as X86FrameAllocator, Mapper, OffsetPageTable, Page, PageTable,
    PageTableFlags as F, PhysFrame, Size2MiB, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

static FRAMES: CpuMutex<Option<FrameAllocator<'static>>> = CpuMutex::new(None);
/// The TLB shootdown (`fn(start, end)`) installed with [`set_tlb_shootdown`] (0: none).
static SHOOTDOWN: AtomicUsize = AtomicUsize::new(0);
/// Lock order: `TABLE` before `FRAMES`.
static TABLE: CpuMutex<Option<OffsetPageTable<'static>>> = CpuMutex::new(None);

unsafe extern "C" {
    static __kernel_start: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __kernel_end: u8;
}

fn sym(s: &u8) -> u64 {
    s as *const u8 as u64
}

/// The virtual address at which physical address `phys` can be accessed.
pub fn phys_to_virt(phys: u64) -> u64 {
    phys + PHYS_OFFSET
}

/// Permissions of a mapped page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFlags {
    pub write: bool,
    pub exec: bool,
    /// Accessible from user mode (ring 3): pages of a program's own mappings.
    pub user: bool,
}

impl PageFlags {
    pub const RO: PageFlags = PageFlags {
        write: false,
        exec: false,
        user: false,
    };
    pub const RW: PageFlags = PageFlags {
        write: true,
        exec: false,
        user: false,
    };
    pub const RX: PageFlags = PageFlags {
        write: false,
        exec: true,
        user: false,
    };

    fn bits(self) -> F {
        let mut f = F::PRESENT;
        if self.write {
            f |= F::WRITABLE;
        }
        if !self.exec {
            f |= F::NO_EXECUTE;
        }
        if self.user {
            f |= F::USER_ACCESSIBLE;
        }
        f
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    OutOfFrames,
    AlreadyMapped,
    NotMapped,
    /// An address or length is not page aligned, or a length is 0.
    Unaligned,
    /// A sub-range does not lie inside its mapping.
    OutOfRange,
    /// No free virtual range is large enough.
    OutOfAddressSpace,
    /// Shared pages ([`crate::SharedPages`]) asked for with write access: they are only
    /// ever mapped read-only (a writable protection gives a page a private copy first).
    SharedWritable,
}

/// A page-table entry's software bit marking a borrowed frame: mapped here, owned elsewhere
/// (the [`crate::SharedPages`] it was shared from). Unmapping such a page leaves its frame
/// alone, and it is never made writable (see [`privatize_range`]).
const BORROWED: F = F::BIT_9;

struct Frames<'a>(&'a mut FrameAllocator<'static>);

// SAFETY: every frame handed out is unused RAM owned from now on by the page tables.
unsafe impl X86FrameAllocator<Size4KiB> for Frames<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let addr = self.0.allocate()?;
        Some(PhysFrame::containing_address(PhysAddr::new(addr)))
    }
}

fn map_err<S: x86_64::structures::paging::PageSize>(e: MapToError<S>) -> MapError {
    match e {
        MapToError::FrameAllocationFailed => MapError::OutOfFrames,
        _ => MapError::AlreadyMapped,
    }
}

pub(crate) unsafe fn init(info: &BootInfo) {
    // SAFETY: linker-script symbols; only their addresses are used.
    let (kstart, text_start, text_end, ro_start, ro_end, data_start, kend) = unsafe {
        (
            sym(&__kernel_start),
            sym(&__text_start),
            sym(&__text_end),
            sym(&__rodata_start),
            sym(&__rodata_end),
            sym(&__data_start),
            sym(&__kernel_end),
        )
    };
    let usable: ArrayVec<Range, 96> = info
        .usable
        .iter()
        .map(|r| Range::new(r.start, r.end))
        .collect();
    let mut reserved: ArrayVec<Range, 96> = info
        .reserved
        .iter()
        .map(|r: &PhysRange| Range::new(r.start, r.end))
        .collect();
    // The first MiB holds firmware data (BIOS area, EBDA, the real-mode IVT): never use it.
    reserved.push(Range::new(0, 0x10_0000));
    reserved.push(Range::new(kstart, kend));

    let max_addr = usable.iter().map(|r| r.end).max().unwrap_or(0);
    let words = bitmap_words(max_addr);
    let bytes = (words * 8) as u64;
    let place = find_space(&usable, &reserved, bytes).expect("no room for the frame bitmap");
    assert!(
        place + bytes <= 4 << 30,
        "frame bitmap must sit in the first 4 GiB"
    );
    reserved.push(Range::new(place, place + bytes));
    // SAFETY: `place..place+bytes` is usable RAM outside every reservation, reachable through
    // the boot direct map, and from now on owned by the frame allocator alone.
    let bitmap = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(place) as *mut u64, words) };
    let mut frames = FrameAllocator::new(bitmap, &usable, &reserved);

    let pml4_phys = frames.allocate().expect("no frame for the PML4");
    let pml4_ptr = phys_to_virt(pml4_phys) as *mut PageTable;
    // SAFETY: a fresh frame, reachable through the direct map, used only as this PML4.
    let pml4 = unsafe {
        pml4_ptr.write(PageTable::new());
        &mut *pml4_ptr
    };
    // SAFETY: the direct map covers all RAM at PHYS_OFFSET (the boot tables for the first
    // 4 GiB now, and the tables built here from CR3's switch on).
    let mut table = unsafe { OffsetPageTable::new(pml4, VirtAddr::new(PHYS_OFFSET)) };
    let mut alloc = Frames(&mut frames);

    // Direct map: every physical address up to max(RAM, 4 GiB) with 2 MiB pages, RW + NX;
    // 3 GiB..4 GiB is the PCI/APIC hole, mapped uncached.
    let end = max_addr.max(4 << 30).next_multiple_of(2 << 20);
    let mut phys = 0;
    while phys < end {
        let mut flags = F::PRESENT | F::WRITABLE | F::NO_EXECUTE;
        if MMIO_WINDOW.contains(&phys) {
            flags |= F::NO_CACHE | F::WRITE_THROUGH;
        }
        let page = Page::<Size2MiB>::containing_address(VirtAddr::new(phys + PHYS_OFFSET));
        let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(phys));
        // SAFETY: maps physical memory at an address range reserved for exactly this.
        unsafe { table.map_to(page, frame, flags, &mut alloc) }
            .expect("direct map")
            .ignore();
        phys += 2 << 20;
    }

    // The kernel image, identity mapped, each section with its own permissions.
    let sections = [
        (kstart, text_start, PageFlags::RX),
        (text_start, text_end, PageFlags::RX),
        (ro_start, ro_end, PageFlags::RO),
        (data_start, kend, PageFlags::RW),
    ];
    for (start, end, flags) in sections {
        let mut addr = start;
        while addr < end {
            let page = Page::<Size4KiB>::containing_address(VirtAddr::new(addr));
            let frame = PhysFrame::containing_address(PhysAddr::new(addr));
            // SAFETY: identity-maps the kernel's own image, as it is linked.
            unsafe { table.map_to(page, frame, flags.bits(), &mut alloc) }
                .expect("kernel image map")
                .ignore();
            addr += 4096;
        }
    }

    // SAFETY: the new tables map the running code, its stack (.bss), and the direct map at
    // the same addresses as the boot tables, so execution continues unchanged.
    unsafe {
        Cr3::write(
            PhysFrame::containing_address(PhysAddr::new(pml4_phys)),
            Cr3Flags::empty(),
        )
    };
    log::info!(
        "memory: {} MiB usable, {} frames free, kernel {:#x}..{:#x}",
        (frames.total_frames() * 4096) >> 20,
        frames.free_frames(),
        kstart,
        kend
    );
    *FRAMES.lock() = Some(frames);
    *TABLE.lock() = Some(table);
}

/// Installs the function that makes every other CPU drop its TLB entries for the pages of
/// `[start, end)` and returns once they all have (the `smp` crate's shootdown). `memory` calls
/// it, with interrupts disabled and the page tables possibly locked, after it unmapped a page
/// or changed its permissions or frame and flushed the local TLB, and before it frees a frame
/// or page table that was unmapped: no CPU may still reach a freed frame through a stale TLB
/// entry. It must therefore answer even while the other CPUs spin with interrupts disabled
/// (the `smp` crate uses non-maskable interrupts). Without one, only the local TLB is flushed:
/// right while no other CPU runs code that uses the pages that change.
pub fn set_tlb_shootdown(shootdown: fn(u64, u64)) {
    SHOOTDOWN.store(shootdown as usize, Ordering::SeqCst);
}

/// Drops this CPU's whole TLB (a CR3 reload), for the emulator's sake: the scheduler calls it
/// at each timer tick of a CPU that runs a task. QEMU's TCG sizes each vCPU's software TLB
/// (direct-mapped) only when that TLB is flushed whole, from how full it got since the last
/// such flush, doubling it while it is more than 70% used; this kernel, with one address
/// space, otherwise never flushes a busy CPU's TLB whole, so a vCPU kept the size it had
/// when it started. A one-threaded round of 1000 files took 48-80 ms on the second vCPU
/// against 35-37 ms on the first; 37-64 ms with this (docs/ARCHITECTURE.md, "Two vCPUs").
/// What it costs is a refill of the working set's entries every tick.
pub fn flush_local_tlb() {
    tlb::flush_all();
}

/// Flushes `[start, end)` (page aligned) from the other CPUs' TLBs, if a shootdown is
/// installed. Interrupts must be disabled.
fn flush_other_cpus(start: u64, end: u64) {
    let f = SHOOTDOWN.load(Ordering::Acquire);
    if f != 0 && start < end {
        // SAFETY: only `set_tlb_shootdown` stores here, always a valid fn of this type.
        let f: fn(u64, u64) = unsafe { core::mem::transmute(f) };
        f(start, end);
    }
}

/// Frame counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameStats {
    pub total: u64,
    pub free: u64,
}

pub fn frame_stats() -> FrameStats {
    without_interrupts(|| {
        let guard = FRAMES.lock();
        let f = guard.as_ref().expect("memory not initialized");
        FrameStats {
            total: f.total_frames(),
            free: f.free_frames(),
        }
    })
}

/// Allocates a physical frame (zeroed).
pub fn allocate_frame() -> Option<u64> {
    let phys = without_interrupts(|| FRAMES.lock().as_mut()?.allocate())?;
    // SAFETY: the frame was just handed to us and is reachable through the direct map.
    unsafe { core::ptr::write_bytes(phys_to_virt(phys) as *mut u8, 0, 4096) };
    Some(phys)
}

/// Returns a frame obtained from [`allocate_frame`].
pub fn free_frame(phys: u64) -> Result<(), frame_allocator::FreeError> {
    without_interrupts(|| {
        FRAMES
            .lock()
            .as_mut()
            .expect("memory not initialized")
            .free(phys)
    })
}

/// Allocates `count` physically contiguous zeroed frames (for device DMA) and returns the
/// first one's physical address; reach them through [`phys_to_virt`].
pub fn allocate_contiguous_frames(count: u64) -> Option<u64> {
    let phys = without_interrupts(|| FRAMES.lock().as_mut()?.allocate_contiguous(count, 4096))?;
    // SAFETY: the frames were just handed to us and are reachable through the direct map.
    unsafe { core::ptr::write_bytes(phys_to_virt(phys) as *mut u8, 0, (count * 4096) as usize) };
    Some(phys)
}

/// Returns `count` frames obtained from [`allocate_contiguous_frames`].
pub fn free_contiguous_frames(phys: u64, count: u64) -> Result<(), frame_allocator::FreeError> {
    (0..count).try_for_each(|i| free_frame(phys + i * 4096))
}

/// Physical addresses the direct map covers uncached: the PCI/APIC hole below 4 GiB, where
/// firmware places device memory (BARs).
pub const MMIO_WINDOW: core::ops::Range<u64> = 0xc000_0000..0x1_0000_0000;

/// The virtual address of device memory `phys..phys + len` through the uncached part of the
/// direct map, or `None` if the range lies outside [`MMIO_WINDOW`].
pub fn mmio_to_virt(phys: u64, len: u64) -> Option<u64> {
    let end = phys.checked_add(len)?;
    (MMIO_WINDOW.contains(&phys) && end <= MMIO_WINDOW.end).then(|| phys_to_virt(phys))
}

/// Maps a fresh zeroed frame at `virt` with `flags`.
pub fn map_page(virt: u64, flags: PageFlags) -> Result<(), MapError> {
    if !virt.is_multiple_of(4096) {
        return Err(MapError::Unaligned);
    }
    let phys = allocate_frame().ok_or(MapError::OutOfFrames)?;
    let result = without_interrupts(|| {
        let mut tguard = TABLE.lock();
        let table = tguard.as_mut().expect("memory not initialized");
        // Intermediate tables are always writable and executable: the leaf alone decides, so
        // a later `protect_page` to RW or RX takes effect. User pages need the user bit on
        // every level; the user region shares no table with the kernel's ranges.
        let mut parents = F::PRESENT | F::WRITABLE;
        if flags.user {
            parents |= F::USER_ACCESSIBLE;
        }
        // Most pages land in a page table that exists: one entry to write (the crate's
        // `map_to` walks the four levels through its generic walker, a few hundred
        // instructions of every page fault).
        if let Some(leaf) = leaf_table(table, virt, parents) {
            // SAFETY: a page table of the active tables, under the TABLE lock held here.
            let entry = unsafe { &mut (&mut (*leaf))[((virt >> 12) & 511) as usize] };
            if !entry.is_unused() {
                return Err(MapError::AlreadyMapped);
            }
            // Not present before: nothing to invalidate (see below).
            entry.set_addr(PhysAddr::new(phys), flags.bits());
            return Ok(());
        }
        let mut fguard = FRAMES.lock();
        let mut alloc = Frames(fguard.as_mut().unwrap());
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
        let frame = PhysFrame::containing_address(PhysAddr::new(phys));
        // SAFETY: maps a frame nobody else owns at a page that the caller owns.
        unsafe { table.map_to_with_table_flags(page, frame, flags.bits(), parents, &mut alloc) }
            // No TLB caches a page that was not present: nothing to invalidate (an `invlpg`
            // is a call into the emulator under TCG, on every page fault).
            .map(|flush| flush.ignore())
            .map_err(map_err)
    });
    if result.is_err() {
        let _ = free_frame(phys);
    }
    result
}

/// Unmaps the page at `virt` and frees its frame (unless it was borrowed).
pub fn unmap_page(virt: u64) -> Result<(), MapError> {
    let (phys, borrowed) = without_interrupts(|| {
        let mut tguard = TABLE.lock();
        let table = tguard.as_mut().expect("memory not initialized");
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
        let borrowed = matches!(
            table.translate(page.start_address()),
            TranslateResult::Mapped { flags, .. } if flags.contains(BORROWED)
        );
        match table.unmap(page) {
            Ok((frame, flush)) => {
                flush.flush();
                // Before the frame is free: no CPU may keep reaching it.
                flush_other_cpus(virt & !0xfff, (virt & !0xfff) + 4096);
                Ok((frame.start_address().as_u64(), borrowed))
            }
            Err(UnmapError::PageNotMapped) => Err(MapError::NotMapped),
            Err(_) => Err(MapError::NotMapped),
        }
    })?;
    if !borrowed {
        free_frame(phys).expect("unmapped frame was not allocated");
    }
    Ok(())
}

/// Changes the permissions of the mapped page at `virt`.
pub fn protect_page(virt: u64, flags: PageFlags) -> Result<(), MapError> {
    without_interrupts(|| {
        let mut tguard = TABLE.lock();
        let table = tguard.as_mut().expect("memory not initialized");
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
        // SAFETY: the caller owns the page; changing its permissions affects only its users.
        unsafe { table.update_flags(page, flags.bits()) }
            .map(|flush| flush.flush())
            .map_err(|_| MapError::NotMapped)?;
        flush_other_cpus(virt & !0xfff, (virt & !0xfff) + 4096);
        Ok(())
    })
}

/// The physical address `virt` maps to, if mapped.
pub fn translate(virt: u64) -> Option<u64> {
    without_interrupts(|| {
        let mut guard = TABLE.lock();
        let table = guard.as_mut()?;
        // 4 KiB pages (every page-fault check) by a direct walk; huge pages (the direct map)
        // through the crate.
        if let Some(leaf) = leaf_table(table, virt, F::PRESENT) {
            // SAFETY: a page table of the active tables, under the TABLE lock held here.
            let entry = unsafe { &(&(*leaf))[((virt >> 12) & 511) as usize] };
            return entry
                .flags()
                .contains(F::PRESENT)
                .then(|| entry.addr().as_u64() + (virt & 0xfff));
        }
        table
            .translate_addr(VirtAddr::new(virt))
            .map(|p| p.as_u64())
    })
}

/// Full translation result (flags included), for tests and diagnostics.
pub fn translate_full(virt: u64) -> TranslateResult {
    without_interrupts(|| {
        let guard = TABLE.lock();
        guard
            .as_ref()
            .expect("memory not initialized")
            .translate(VirtAddr::new(virt))
    })
}

/// Whether this CPU holds the page tables' or the frame allocator's lock. Both are taken with
/// interrupts masked, so `true` in an exception handler means the interrupted code holds
/// them and the handler must not take them; held by another CPU, they are only waited for.
pub(crate) fn tables_held_here() -> bool {
    TABLE.held_here() || FRAMES.held_here()
}

/// What [`walk`] does to each present 4 KiB page.
#[derive(Clone, Copy)]
enum Op {
    /// Unmap it, free its frame, and free page tables (PT, PD) left empty.
    Unmap,
    /// Unmap it and free its frame; keep the page tables (a stack slot's, to be reused).
    UnmapKeepTables,
    /// Give it these flags (a borrowed page keeps its mark, and is never made writable).
    Protect(F),
    /// Give a borrowed page a frame of its own with a copy of its contents (same flags).
    Privatize,
    /// Leave it as it is (count it).
    Count,
}

/// Frames (of pages and page tables) that [`walk`] unmapped and that wait for the other CPUs'
/// TLB flush before they are freed; flushed and freed in batches (no allocation here: the
/// heap may be growing or shrinking through these very functions).
struct PendingFrees<'a> {
    frames: &'a mut FrameAllocator<'static>,
    waiting: ArrayVec<u64, 128>,
    /// Borrowed pages were unmapped: their frames are not freed here, but their owner may
    /// free them once it is dropped, so other CPUs must forget them too.
    unmapped_borrowed: bool,
    /// [`Op::Privatize`] found no free frame (the pages after it stayed borrowed).
    out_of_frames: bool,
    /// The range whose TLB entries the flush covers (the whole walk's range).
    start: u64,
    end: u64,
}

impl PendingFrees<'_> {
    fn push(&mut self, phys: u64) {
        if self.waiting.is_full() {
            self.flush_and_free();
        }
        self.waiting.push(phys);
    }

    fn flush_and_free(&mut self) {
        if self.waiting.is_empty() && !self.unmapped_borrowed {
            return;
        }
        self.unmapped_borrowed = false;
        flush_other_cpus(self.start, self.end);
        for phys in self.waiting.drain(..) {
            self.frames
                .free(phys)
                .expect("unmapped frame was not allocated");
        }
    }
}

/// Applies `op` to every present 4 KiB page in `[start, end)` (page aligned) of `table`, a
/// table of `level` (4 = PML4), skipping absent subtrees whole. Returns the pages visited.
/// Frames it unmaps go to `pending` (freed once no other CPU can reach them).
///
/// # Safety
/// `table` is part of the active page tables, locked by the caller (TABLE held); the caller
/// owns every page of the range (so `Op::Unmap` may free their frames).
unsafe fn walk(
    pending: &mut PendingFrees<'_>,
    table: &mut PageTable,
    level: u32,
    start: u64,
    end: u64,
    op: Op,
) -> u64 {
    if start >= end {
        return 0;
    }
    let shift = 12 + 9 * (level - 1);
    let span = 1u64 << shift;
    // The address entry 0 of this table maps (with the sign-extended top bits).
    let base = start & !((span << 9).wrapping_sub(1));
    let (first, last) = ((start >> shift) & 511, ((end - 1) >> shift) & 511);
    let mut visited = 0;
    // By index: most entries a walk passes are absent, and this loop skips them in a few
    // instructions each.
    for index in first as usize..=last as usize {
        let entry = &mut table[index];
        if !entry.flags().contains(F::PRESENT) {
            continue;
        }
        let addr = base | (index as u64) << shift;
        let next = addr.checked_add(span).map_or(end, |n| n.min(end));
        if level == 1 {
            match op {
                Op::Unmap | Op::UnmapKeepTables => {
                    let phys = entry.addr().as_u64();
                    let borrowed = entry.flags().contains(BORROWED);
                    entry.set_unused();
                    tlb::flush(VirtAddr::new(addr));
                    if borrowed {
                        pending.unmapped_borrowed = true;
                    } else {
                        pending.push(phys);
                    }
                }
                Op::Protect(flags) => {
                    let borrowed = entry.flags() & BORROWED;
                    assert!(
                        borrowed.is_empty() || !flags.contains(F::WRITABLE),
                        "borrowed page at {addr:#x} made writable"
                    );
                    entry.set_flags(flags | borrowed);
                    tlb::flush(VirtAddr::new(addr));
                }
                Op::Privatize => {
                    let flags = entry.flags();
                    if flags.contains(BORROWED) && !pending.out_of_frames {
                        match pending.frames.allocate() {
                            Some(phys) => {
                                // SAFETY: both frames are reachable through the direct map;
                                // the new one is ours alone, the old one only read.
                                unsafe {
                                    core::ptr::copy_nonoverlapping(
                                        phys_to_virt(entry.addr().as_u64()) as *const u8,
                                        phys_to_virt(phys) as *mut u8,
                                        4096,
                                    )
                                };
                                entry.set_addr(PhysAddr::new(phys), flags - BORROWED);
                                tlb::flush(VirtAddr::new(addr));
                                // The old frame stays its owner's; other CPUs must forget it.
                                pending.unmapped_borrowed = true;
                            }
                            None => pending.out_of_frames = true,
                        }
                    }
                }
                Op::Count => {}
            }
            visited += 1;
        } else {
            assert!(
                !entry.flags().contains(F::HUGE_PAGE),
                "huge page inside a 4 KiB-mapped range at {addr:#x}"
            );
            let child_phys = entry.addr().as_u64();
            // SAFETY: a present non-huge entry points at the next-level table, reachable
            // through the direct map and guarded by the TABLE lock the caller holds.
            let child = unsafe { &mut *(phys_to_virt(child_phys) as *mut PageTable) };
            let from = addr.max(start);
            // SAFETY: forwarded from the caller, for the part of the range under this entry.
            let under = unsafe { walk(pending, child, level - 1, from, next, op) };
            visited += under;
            // PDPTs (level 3) stay: PML4 entries of the kernel half never change once made. A
            // table the range covers whole is empty now (its tables were freed the same way);
            // one it covers in part is looked at only if something in it went.
            let covered = from == addr && addr.checked_add(span) == Some(next);
            if matches!(op, Op::Unmap) && level <= 3 && (covered || (under > 0 && child.is_empty()))
            {
                entry.set_unused();
                tlb::flush(VirtAddr::new(addr));
                pending.push(child_phys);
            }
        }
    }
    visited
}

fn walk_range(start: u64, end: u64, op: Op) -> Result<u64, MapError> {
    assert!(start.is_multiple_of(4096) && end.is_multiple_of(4096) && start <= end);
    without_interrupts(|| {
        let mut tguard = TABLE.lock();
        let table = tguard.as_mut().expect("memory not initialized");
        let mut fguard = FRAMES.lock();
        let mut pending = PendingFrees {
            frames: fguard.as_mut().unwrap(),
            waiting: ArrayVec::new(),
            unmapped_borrowed: false,
            out_of_frames: false,
            start,
            end,
        };
        // A range inside one page table, for an operation that frees no table (an `mprotect`
        // of a few pages): straight to that table, not down from the top.
        let leaf = match op {
            Op::Protect(_) | Op::Privatize | Op::Count
                if start < end && start >> 21 == (end - 1) >> 21 =>
            {
                leaf_table(table, start, F::PRESENT)
            }
            _ => None,
        };
        let visited = match leaf {
            // SAFETY: a page table of the active tables covering the whole range, under the
            // TABLE lock; the caller owns the range (see the callers' contracts).
            Some(leaf) => unsafe { walk(&mut pending, &mut *leaf, 1, start, end, op) },
            // SAFETY: the active tables, under the TABLE lock; the caller owns the range (see
            // the callers' contracts).
            None => unsafe { walk(&mut pending, table.level_4_table_mut(), 4, start, end, op) },
        };
        match op {
            Op::Unmap | Op::UnmapKeepTables | Op::Privatize => pending.flush_and_free(),
            Op::Protect(_) if visited > 0 => flush_other_cpus(start, end),
            _ => {}
        }
        if pending.out_of_frames {
            return Err(MapError::OutOfFrames);
        }
        Ok(visited)
    })
}

/// Unmaps every mapped page in `[start, end)`, frees their frames and the page tables left
/// empty; returns how many pages were unmapped. The caller owns the whole range.
pub(crate) fn unmap_range(start: u64, end: u64) -> u64 {
    walk_range(start, end, Op::Unmap).expect("unmapping takes no frame")
}

/// Unmaps every mapped page in `[start, end)` and frees their frames, keeping the page tables
/// (a range that will be mapped again: a stack slot); returns how many pages were unmapped.
/// The caller owns the whole range.
pub(crate) fn unmap_range_keep_tables(start: u64, end: u64) -> u64 {
    walk_range(start, end, Op::UnmapKeepTables).expect("unmapping takes no frame")
}

/// Gives every mapped page in `[start, end)` the permissions `flags`; returns how many pages
/// changed. The caller owns the whole range.
pub(crate) fn protect_range(start: u64, end: u64, flags: PageFlags) -> u64 {
    walk_range(start, end, Op::Protect(flags.bits())).expect("protecting takes no frame")
}

/// Gives every borrowed page in `[start, end)` a frame of its own holding a copy of its
/// contents, with the same (read-only) flags: after this the range may be made writable.
/// On `OutOfFrames` the pages copied so far keep their copies (no one can tell) and the rest
/// stay borrowed. The caller owns the whole range.
pub(crate) fn privatize_range(start: u64, end: u64) -> Result<(), MapError> {
    walk_range(start, end, Op::Privatize).map(|_| ())
}

/// Maps at the `pages` pages from `to` (page aligned, unmapped) the frames mapped at the pages
/// from `from` (all mapped; they stay there), as borrowed pages with `flags`, which must not
/// allow writing. On error (`AlreadyMapped`, or `OutOfFrames` for a page table) the pages
/// mapped so far are unmapped again. The caller owns `to`'s range and keeps `from`'s frames
/// alive for as long as they are mapped at `to`.
pub(crate) fn map_borrowed(
    from: u64,
    to: u64,
    pages: u64,
    flags: PageFlags,
) -> Result<(), MapError> {
    if flags.write {
        return Err(MapError::SharedWritable);
    }
    // Batches keep the time with interrupts masked short.
    const BATCH: u64 = 256;
    let mut done = 0;
    while done < pages {
        let n = BATCH.min(pages - done);
        let (src, dst) = (from + done * 4096, to + done * 4096);
        if let Err(e) = without_interrupts(|| borrow_batch(src, dst, n, flags)) {
            unmap_range_keep_tables(to, to + done * 4096);
            return Err(e);
        }
        done += n;
    }
    Ok(())
}

/// One step of [`map_borrowed`], with interrupts masked; undoes itself on failure.
///
/// The first page of each stretch that lies in one page table on both sides is mapped
/// through the `x86_64` crate (which makes the tables `to` lacks); the rest of the stretch is
/// written straight into that page table, entry by entry from the source's (a `map_to` walks
/// all four levels for each page: most of the work of a program's spawn).
fn borrow_batch(from: u64, to: u64, pages: u64, flags: PageFlags) -> Result<(), MapError> {
    let mut tguard = TABLE.lock();
    let table = tguard.as_mut().expect("memory not initialized");
    let mut fguard = FRAMES.lock();
    let mut alloc = Frames(fguard.as_mut().unwrap());
    let page_at = |addr: u64| Page::<Size4KiB>::containing_address(VirtAddr::new(addr));
    let mut parents = F::PRESENT | F::WRITABLE;
    if flags.user {
        parents |= F::USER_ACCESSIBLE;
    }
    let leaf = flags.bits() | BORROWED;
    let index = |addr: u64| ((addr >> 12) & 511) as usize;
    let mut done = 0;
    let mut failure = None;
    while done < pages {
        let (src, dst) = (from + done * 4096, to + done * 4096);
        let frame = match table.translate(VirtAddr::new(src)) {
            TranslateResult::Mapped { frame, .. } => {
                PhysFrame::containing_address(frame.start_address())
            }
            _ => {
                failure = Some(MapError::NotMapped);
                break;
            }
        };
        // SAFETY: maps a frame read-only at a page the caller owns; the frame's owner keeps it
        // alive while it is mapped here (the caller's contract).
        let mapped = unsafe {
            table.map_to_with_table_flags(page_at(dst), frame, leaf, parents, &mut alloc)
        };
        // Not present before: nothing to invalidate (see `map_page`).
        if let Err(e) = mapped.map(|flush| flush.ignore()) {
            failure = Some(map_err(e));
            break;
        }
        done += 1;
        let stretch = (pages - done + 1)
            .min(512 - index(src) as u64)
            .min(512 - index(dst) as u64);
        if stretch <= 1 {
            continue;
        }
        let (Some(src_table), Some(dst_table)) = (
            leaf_table(table, src, F::PRESENT),
            leaf_table(table, dst, parents),
        ) else {
            // Not reached: both pages were mapped a moment ago (4 KiB pages).
            failure = Some(MapError::NotMapped);
            break;
        };
        for k in 1..stretch as usize {
            // SAFETY: page tables of the active tables, under the TABLE lock this function
            // holds; the source entry is copied out before the target is borrowed (the two
            // tables may be one).
            let source = unsafe { (&(*src_table))[index(src) + k].clone() };
            // SAFETY: as above.
            let target = unsafe { &mut (&mut (*dst_table))[index(dst) + k] };
            if !source.flags().contains(F::PRESENT) {
                failure = Some(MapError::NotMapped);
            } else if !target.is_unused() {
                failure = Some(MapError::AlreadyMapped);
            }
            if failure.is_some() {
                break;
            }
            // A not-present entry becoming present needs no TLB flush.
            target.set_addr(source.addr(), leaf);
            done += 1;
        }
        if failure.is_some() {
            break;
        }
    }
    let Some(e) = failure else { return Ok(()) };
    for j in 0..done {
        let (_, flush) = table
            .unmap(page_at(to + j * 4096))
            .expect("mapped a moment ago");
        flush.flush();
    }
    flush_other_cpus(to, to + done * 4096);
    Err(e)
}

/// The page table (level 1) that maps `addr`, if every level above it is present with at
/// least the flags `parents` (4 KiB pages only), as a pointer into the direct map.
fn leaf_table(
    table: &mut OffsetPageTable<'static>,
    addr: u64,
    parents: F,
) -> Option<*mut PageTable> {
    let mut current: *mut PageTable = table.level_4_table_mut();
    for level in (2..=4).rev() {
        // SAFETY: `current` is a page table of the active tables (the PML4, then tables
        // reached through present entries), under the TABLE lock the caller holds.
        let entry = unsafe { &(&*current)[((addr >> (12 + 9 * (level - 1))) & 511) as usize] };
        if !entry.flags().contains(parents) || entry.flags().contains(F::HUGE_PAGE) {
            return None;
        }
        current = phys_to_virt(entry.addr().as_u64()) as *mut PageTable;
    }
    Some(current)
}

/// How many pages of `[start, end)` (page aligned) have a frame now: the resident part of a
/// mapping. Changes nothing; absent page-table subtrees are skipped whole.
pub fn resident_pages(start: u64, end: u64) -> u64 {
    walk_range(start, end, Op::Count).expect("counting takes no frame")
}

/// Moves the frames mapped at the `pages` pages from `from` to the unmapped pages at `to`
/// (both page aligned), keeping their flags: what was at `from + i * 4096` is at
/// `to + i * 4096` afterwards and `from`'s pages are unmapped. No byte is copied. On
/// `OutOfFrames` (a page table for `to` could not be had) every page moved so far goes back
/// and nothing changed. The caller owns both ranges; `from` must be fully mapped.
pub(crate) fn move_range(from: u64, to: u64, pages: u64) -> Result<(), MapError> {
    // Batches keep the time with interrupts masked short.
    const BATCH: u64 = 256;
    let mut done = 0;
    while done < pages {
        let n = BATCH.min(pages - done);
        let (start, target) = (from + done * 4096, to + done * 4096);
        if let Err(e) = without_interrupts(|| move_batch(start, target, n)) {
            // Put the earlier batches back; their tables at `from` still exist.
            let back = without_interrupts(|| move_batch(to, from, done));
            assert!(back.is_ok(), "page tables vanished while moving pages back");
            return Err(e);
        }
        done += n;
    }
    Ok(())
}

/// One step of [`move_range`], with interrupts masked; undoes itself on failure.
fn move_batch(from: u64, to: u64, pages: u64) -> Result<(), MapError> {
    let mut tguard = TABLE.lock();
    let table = tguard.as_mut().expect("memory not initialized");
    let mut fguard = FRAMES.lock();
    let mut alloc = Frames(fguard.as_mut().unwrap());
    let page_at = |addr: u64| Page::<Size4KiB>::containing_address(VirtAddr::new(addr));
    let mut moved = 0;
    let mut failure = None;
    while moved < pages {
        let (src, dst) = (page_at(from + moved * 4096), page_at(to + moved * 4096));
        let flags = match table.translate(src.start_address()) {
            TranslateResult::Mapped { flags, .. } => flags,
            _ => panic!("move_range: {:#x} is not mapped", src.start_address()),
        };
        let (frame, flush) = table.unmap(src).expect("mapped page unmaps");
        flush.flush();
        // SAFETY: the frame was just unmapped from `src`, whose owner also owns `dst`.
        let mapped = unsafe {
            table.map_to_with_table_flags(dst, frame, flags, F::PRESENT | F::WRITABLE, &mut alloc)
        };
        match mapped {
            Ok(flush) => flush.flush(),
            Err(e) => {
                // SAFETY: puts the frame back where it was; that page table still exists.
                unsafe { table.map_to(src, frame, flags, &mut alloc) }
                    .expect("remap at the old place")
                    .flush();
                failure = Some(map_err(e));
                break;
            }
        }
        moved += 1;
    }
    // The frames stay in use (now at `to`), but no CPU may keep reaching them at `from`.
    flush_other_cpus(from, from + moved * 4096);
    let Some(e) = failure else { return Ok(()) };
    for i in 0..moved {
        let (src, dst) = (page_at(from + i * 4096), page_at(to + i * 4096));
        let flags = match table.translate(dst.start_address()) {
            TranslateResult::Mapped { flags, .. } => flags,
            _ => unreachable!("page moved a moment ago"),
        };
        let (frame, flush) = table.unmap(dst).expect("moved page unmaps");
        flush.flush();
        // SAFETY: as above, back to its own place.
        unsafe { table.map_to(src, frame, flags, &mut alloc) }
            .expect("remap at the old place")
            .flush();
    }
    flush_other_cpus(to, to + moved * 4096);
    Err(e)
}
