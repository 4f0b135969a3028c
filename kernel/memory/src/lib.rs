//! Kernel memory: the physical frame allocator instance, the kernel's own 4-level page tables,
//! kernel stacks with guard pages, the kernel heap (`#[global_allocator]`), and owned virtual
//! memory mappings ([`Mapping`]) with on-demand commit from the page-fault handler, and the
//! TLB: flushes after changes, the slot for other CPUs' shootdown, the whole flush a busy
//! CPU's ticks ask for ([`flush_local_tlb`]).
//!
//! Virtual layout (one address space for everything, as in Theseus):
//! - `0x10_0000..`: the kernel image, identity mapped, per-section permissions;
//! - [`PHYS_OFFSET`]`..`: every physical byte (RW, NX), the "direct map";
//! - [`HEAP_START`]`..`: the kernel heap's small part, slots mapped and unmapped as it grows
//!   and shrinks;
//! - [`HEAP_BLOCKS_START`]`..`: the kernel heap's large allocations, each a mapping of its own;
//! - [`STACKS_START`]`..`: kernel stacks, each with an unmapped guard page below it;
//! - [`MAPPINGS_START`]`..`: [`Mapping`]s, placed by a first-fit range allocator;
//! - [`SHARED_PAGES_START`]`..`: [`SharedPages`] (long-lived: programs' read-only pages),
//!   apart so that they share no page table with the mappings that come and go;
//! - [`USER_START`]`..`: user [`Mapping`]s (`Mapping::new_user`), the only user-accessible
//!   pages: programs running in ring 3 reach these and nothing else.
//!
//! Depends on `frame_allocator` (the bitmap logic), `vaddr_allocator` (the mappings region's
//! free ranges), `boot_info` (the memory map), `x86_64` (page-table structures and CR3),
//! `talc` (the small heap's allocator), `rangemap` (a mapping's protection runs),
//! `spin`.

#![no_std]
// A host build (clippy, docs) has no global allocator here, so the heap looks unused.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

extern crate alloc;

mod access_cache;
mod heap;
mod mapping;
mod paging;
mod stack;
mod tests;

pub use heap::{HeapStats, LARGE as HEAP_LARGE, heap_stats, set_bad_free_handler};
pub use mapping::{
    Commit, FaultKind, Mapping, Protection, SharedPages, handle_page_fault, mapping_space_free,
    page_fault_kind, protections, user_range_accessible,
};
pub use paging::{
    FrameStats, MMIO_WINDOW, MapError, PageFlags, allocate_contiguous_frames, allocate_frame,
    flush_local_tlb, frame_stats, free_contiguous_frames, free_frame, map_page, mmio_to_virt,
    phys_to_virt, protect_page, resident_pages, set_tlb_shootdown, translate, unmap_page,
};
pub use stack::{Stack, allocate_stack};

/// Where all physical memory is mapped.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Start of the kernel heap's virtual range.
pub const HEAP_START: u64 = 0xffff_9000_0000_0000;
/// Largest the heap may grow.
pub const HEAP_MAX: u64 = 64 << 30;
/// Start of the virtual range of the kernel heap's large blocks (see `heap.rs`).
pub const HEAP_BLOCKS_START: u64 = 0xffff_9800_0000_0000;
/// Size of the heap blocks' range (4 TiB).
pub const HEAP_BLOCKS_SIZE: u64 = 4 << 40;
/// Start of the kernel stacks' virtual range.
pub const STACKS_START: u64 = 0xffff_a000_0000_0000;
/// Start of the virtual range that [`Mapping`]s are placed in.
pub const MAPPINGS_START: u64 = 0xffff_c000_0000_0000;
/// Size of the mappings range (16 TiB).
pub const MAPPINGS_SIZE: u64 = 16 << 40;
/// Start of the virtual range of [`SharedPages`].
pub const SHARED_PAGES_START: u64 = 0xffff_d000_0000_0000;
/// Size of the shared pages' range (4 TiB).
pub const SHARED_PAGES_SIZE: u64 = 4 << 40;
/// Start of the user region: mappings of programs that run in user mode (ring 3). It lies in
/// the lower half, where Linux programs expect their addresses, away from the kernel image
/// (PML4 entry 0), and is the only range whose page tables carry the user bit.
pub const USER_START: u64 = 0x0000_1000_0000_0000;
/// Size of the user region (16 TiB).
pub const USER_SIZE: u64 = 16 << 40;
pub const PAGE_SIZE: u64 = 4096;

/// Sets up frames, the kernel's page tables (and switches to them) and the heap.
///
/// # Safety
/// Called once, on the boot CPU, with the boot trampoline's page tables (identity and direct
/// map of the first 4 GiB) active; `info` must describe the machine truthfully.
pub unsafe fn init(info: &boot_info::BootInfo) {
    // SAFETY: forwarded from the caller.
    unsafe { paging::init(info) };
    heap::init();
}

/// Whether an allocation now could deadlock: this CPU holds the small heap's lock or the page
/// tables' or frame allocator's (which the heap takes to grow). They are taken with interrupts
/// masked, so `true` in a fault or panic handler means the interrupted code holds them (a
/// fault inside the allocator): the handler must report without allocating. Held by another
/// CPU, an allocation only waits for them.
pub fn allocator_busy() -> bool {
    heap::heap_held_here() || paging::tables_held_here()
}
