//! The kernel heap (`#[global_allocator]`). It gives memory back: whatever is freed returns
//! its frames to the frame allocator, so a big file or a big program that goes away leaves
//! the machine as it found it.
//!
//! Two parts, chosen by the request's layout:
//! - **Small** allocations (under [`LARGE`]) come from `talc` (a boundary-tagged, binned
//!   free-list allocator) over *slots*: the heap range is cut into [`SLOT_SIZE`] slots, each
//!   holding at most one talc heap, mapped from the slot's start as far as needed. When talc
//!   runs out it asks [`Slots::acquire`], which maps more of the growing slot or opens a new
//!   one. When the top of a heap becomes free, talc calls [`Slots::resize`]: a free top larger
//!   than [`TRIM_AT`] is unmapped down to [`SLACK`] bytes (in the growing slot: past
//!   [`CURRENT_TRIM_AT`], down to [`CURRENT_SLACK`]), and a heap left empty is unmapped whole
//!   (except the growing slot). Frames come back as soon as the memory above the last
//!   live allocation of a slot is free.
//! - **Large** allocations (at least [`LARGE`] bytes, alignment at most a page) are blocks of
//!   their own: committed mappings in a region of their own (`mapping.rs`), unmapped on free, so
//!   their frames return at once. `realloc` between large sizes moves the frames to a new
//!   block by rewriting page tables (no copy, no second copy of the data in memory), which
//!   keeps a doubling `Vec` (a file, a wasm linear memory) cheap.
//!
//! Every pointer handed to `dealloc` is checked first (it must lie in a live small heap or be
//! a live large block of that size): a wild one is reported through the bad-free handler
//! (the kernel ends the task) before anything is touched. The small heap's lock is taken with
//! interrupts masked; [`heap_held_here`] tells the fault and panic paths that this CPU holds it.
//!
//! The allocator proper is `talc`; what is written here is only what no allocator crate can
//! know: where memory comes from and goes back to (this kernel's page tables and frame
//! allocator, through talc's `Source` hooks), and the page-granular blocks, which are this
//! kernel's `Mapping`s.

use crate::paging::{PageFlags, map_page, unmap_range};
use crate::{HEAP_BLOCKS_SIZE, HEAP_BLOCKS_START, HEAP_MAX, HEAP_START, PAGE_SIZE, mapping};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use cpu_mutex::CpuMutex;
use talc::DefaultBinning;
use talc::base::binning::Binning;
use talc::base::{CHUNK_UNIT, Talc};
use talc::source::Source;
use x86_64::instructions::interrupts::without_interrupts;

/// Requests of at least this many bytes (alignment up to a page) get a block of their own.
/// Chosen by measurement (docs/ARCHITECTURE.md, "The kernel heap"): above the 1 MiB bounce
/// buffers of the system calls, which a mapping would make several times slower.
pub const LARGE: usize = 2 << 20;
/// Size of a slot of the small heap.
const SLOT_SIZE: u64 = 4 << 20;
const SLOTS: usize = (HEAP_MAX / SLOT_SIZE) as usize;
/// Least a slot grows by.
const GROWTH: u64 = 256 * 1024;
/// A free top of a heap larger than this is unmapped...
const TRIM_AT: u64 = 256 * 1024;
/// ... down to this much (rounded to pages), so that alloc/free around a boundary does not
/// map and unmap each time.
const SLACK: u64 = 64 * 1024;
/// The same two for the growing slot, where requests up to [`LARGE`] come and go (a system
/// call's bounce buffer): it keeps room for one of them.
const CURRENT_TRIM_AT: u64 = 3 << 20;
const CURRENT_SLACK: u64 = LARGE as u64;

/// talc's source of memory: the slots of the heap range.
#[derive(Debug)]
struct Slots {
    /// Mapped pages of each slot, counted from its start; 0 for a free slot. A live heap's
    /// end is always its slot's start plus these pages.
    pages: [u16; SLOTS],
    /// The slot that grows when talc needs memory (never deleted while it grows).
    current: Option<usize>,
    /// No slot below this one is free.
    hint: usize,
    /// Pages mapped in all slots.
    mapped_pages: u64,
}

fn slot_base(slot: usize) -> u64 {
    HEAP_START + slot as u64 * SLOT_SIZE
}

/// Maps `len` bytes (page multiple) at `start`, all or nothing.
fn map_all(start: u64, len: u64) -> bool {
    for page in (start..start + len).step_by(PAGE_SIZE as usize) {
        if map_page(page, PageFlags::RW).is_err() {
            unmap_range(start, page);
            return false;
        }
    }
    true
}

impl Slots {
    const fn new() -> Slots {
        Slots {
            pages: [0; SLOTS],
            current: None,
            hint: 0,
            mapped_pages: 0,
        }
    }

    /// Whether `addr..addr + len` lies in the mapped part of a live slot.
    fn contains(&self, addr: u64, len: usize) -> bool {
        let Some(offset) = addr.checked_sub(HEAP_START).filter(|&o| o < HEAP_MAX) else {
            return false;
        };
        let slot = (offset / SLOT_SIZE) as usize;
        let mapped = u64::from(self.pages[slot]) * PAGE_SIZE;
        (offset % SLOT_SIZE)
            .checked_add(len as u64)
            .is_some_and(|end| end <= mapped)
    }

    /// Unmaps `start..end` (page aligned) of `slot`, whose mapped part then ends at `start`.
    fn release(&mut self, slot: usize, start: u64, end: u64) {
        let pages = (end - start) / PAGE_SIZE;
        unmap_range(start, end);
        self.pages[slot] = ((start - slot_base(slot)) / PAGE_SIZE) as u16;
        self.mapped_pages -= pages;
        if self.pages[slot] == 0 {
            self.hint = self.hint.min(slot);
        }
    }
}

// SAFETY: `acquire` maps fresh memory and hands it to talc through `claim`/`extend` only;
// `resize` returns page-aligned ends (CHUNK_UNIT divides a page) at or above `chunk_base` and
// unmaps only memory above what it returns. Neither allocates.
unsafe impl Source for Slots {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let mut need = layout.size() + layout.align() + 4 * CHUNK_UNIT;
        if !talc.is_metadata_established() {
            need += talc::min_first_heap_layout::<B>().size() + CHUNK_UNIT;
        }
        let need = (need as u64).next_multiple_of(PAGE_SIZE);
        if need > SLOT_SIZE {
            return Err(());
        }
        // Grow the current slot's heap at its top.
        if let Some(slot) = talc.source.current {
            let base = slot_base(slot);
            let mapped = u64::from(talc.source.pages[slot]) * PAGE_SIZE;
            let room = SLOT_SIZE - mapped;
            for add in [need.max(GROWTH).min(room), need] {
                if add < need || add > room || !map_all(base + mapped, add) {
                    continue;
                }
                let end = base + mapped;
                // SAFETY: `end` is the heap's current end (slot start + mapped pages) and the
                // memory above it up to `end + add` was just mapped for talc alone.
                unsafe {
                    talc.extend(
                        NonNull::new_unchecked(end as *mut u8),
                        (end + add) as *mut u8,
                    )
                };
                talc.source.pages[slot] += (add / PAGE_SIZE) as u16;
                talc.source.mapped_pages += add / PAGE_SIZE;
                return Ok(());
            }
        }
        // Open a new slot.
        let source = &mut talc.source;
        let slot = (source.hint..SLOTS)
            .find(|&s| source.pages[s] == 0)
            .ok_or(())?;
        let base = slot_base(slot);
        let len = [need.max(GROWTH), need]
            .into_iter()
            .find(|&len| map_all(base, len))
            .ok_or(())?;
        // SAFETY: `base..base + len` was just mapped for talc alone.
        if unsafe { talc.claim(base as *mut u8, len as usize) }.is_none() {
            unmap_range(base, base + len);
            return Err(());
        }
        let source = &mut talc.source;
        source.pages[slot] = (len / PAGE_SIZE) as u16;
        source.mapped_pages += len / PAGE_SIZE;
        source.current = Some(slot);
        source.hint = slot + 1;
        Ok(())
    }

    const TRACK_HEAP_END: bool = true;

    unsafe fn resize(
        &mut self,
        chunk_base: *mut u8,
        heap_end: *mut u8,
        is_heap_base: bool,
    ) -> *mut u8 {
        let (free_from, end) = (chunk_base as u64, heap_end as u64);
        let slot = ((end - 1 - HEAP_START) / SLOT_SIZE) as usize;
        let base = slot_base(slot);
        assert_eq!(
            base + u64::from(self.pages[slot]) * PAGE_SIZE,
            end,
            "kernel heap: slot bookkeeping"
        );
        if is_heap_base && self.current != Some(slot) {
            // Empty: the whole slot goes back.
            self.release(slot, base, end);
            return chunk_base;
        }
        let (trim_at, slack) = if self.current == Some(slot) {
            (CURRENT_TRIM_AT, CURRENT_SLACK)
        } else {
            (TRIM_AT, SLACK)
        };
        if end - free_from < trim_at {
            return heap_end;
        }
        let keep = (free_from + slack).next_multiple_of(PAGE_SIZE);
        self.release(slot, keep, end);
        keep as *mut u8
    }
}

static SMALL: CpuMutex<Talc<Slots, DefaultBinning>> = CpuMutex::new(Talc::new(Slots::new()));
/// Bytes requested by the live large allocations, and the bytes of their blocks.
static LARGE_USED: AtomicUsize = AtomicUsize::new(0);
static LARGE_MAPPED: AtomicU64 = AtomicU64::new(0);

/// What happens to a task that frees memory the heap never gave out.
static BAD_FREE: spin::Once<fn(core::fmt::Arguments) -> !> = spin::Once::new();

/// Installs what [`GlobalAlloc::dealloc`] calls, with no heap lock held, for a pointer the
/// heap never gave out (the kernel ends the task with that message). Without one it panics.
pub fn set_bad_free_handler(handler: fn(core::fmt::Arguments) -> !) {
    BAD_FREE.call_once(|| handler);
}

#[cold]
fn bad_free(addr: u64, layout: Layout) -> ! {
    let args = format_args!(
        "kernel heap: free of {addr:#x} ({} bytes), which the heap never gave out",
        layout.size()
    );
    match BAD_FREE.get() {
        Some(handler) => handler(args),
        None => panic!("{args}"),
    }
}

/// Whether this CPU holds the small heap's lock. It is taken with interrupts masked, so `true`
/// in a fault or panic handler means the interrupted code holds it: the handler must not
/// allocate.
pub(crate) fn heap_held_here() -> bool {
    SMALL.held_here()
}

pub(crate) fn init() {
    // The first slot (talc's metadata lives in it) is mapped now: early boot has no frame
    // allocator users yet, and a failure here is a clear message.
    let p = without_interrupts(|| {
        // SAFETY: a valid non-zero layout.
        unsafe { SMALL.lock().allocate(Layout::new::<u64>()) }
    })
    .expect("no memory for the initial heap");
    without_interrupts(|| {
        // SAFETY: allocated just above with this layout.
        unsafe { SMALL.lock().deallocate(p.as_ptr(), Layout::new::<u64>()) }
    });
}

fn is_large(layout: Layout) -> bool {
    layout.size() >= LARGE && layout.align() <= PAGE_SIZE as usize
}

fn in_blocks(addr: u64) -> bool {
    (HEAP_BLOCKS_START..HEAP_BLOCKS_START + HEAP_BLOCKS_SIZE).contains(&addr)
}

fn block_len(size: usize) -> u64 {
    (size as u64).next_multiple_of(PAGE_SIZE)
}

fn large_alloc(size: usize) -> *mut u8 {
    let len = block_len(size);
    match mapping::heap_block_new(len) {
        Some(start) => {
            LARGE_USED.fetch_add(size, Ordering::Relaxed);
            LARGE_MAPPED.fetch_add(len, Ordering::Relaxed);
            start as *mut u8
        }
        None => core::ptr::null_mut(),
    }
}

/// Checks a small-heap pointer under the lock and runs `f` on the heap, or reports the bad
/// free once the lock is released.
fn with_small<R>(
    addr: u64,
    layout: Layout,
    f: impl FnOnce(&mut Talc<Slots, DefaultBinning>) -> R,
) -> R {
    let result = without_interrupts(|| {
        let mut heap = SMALL.lock();
        if !heap.source.contains(addr, layout.size()) || !addr.is_multiple_of(layout.align() as u64)
        {
            return None;
        }
        Some(f(&mut heap))
    });
    result.unwrap_or_else(|| bad_free(addr, layout))
}

struct KernelAllocator;

// Only the kernel uses it: a host build of this crate (clippy, docs) keeps the system allocator.
#[cfg_attr(target_os = "none", global_allocator)]
static ALLOCATOR: KernelAllocator = KernelAllocator;

// SAFETY: small allocations come from talc over memory mapped for it alone, under one lock
// with interrupts masked (an interrupt handler that allocates cannot deadlock against it);
// large ones are whole committed mappings owned by the heap. Pointers are checked before any
// state changes.
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout) {
            return large_alloc(layout.size());
        }
        // SAFETY: GlobalAlloc's callers never pass a zero size.
        without_interrupts(|| unsafe { SMALL.lock().allocate(layout) })
            .map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout) {
            // Fresh frames are zeroed already.
            return large_alloc(layout.size());
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { self.alloc(layout) };
        if !p.is_null() {
            // SAFETY: `p` is a fresh allocation of `layout.size()` bytes.
            unsafe { core::ptr::write_bytes(p, 0, layout.size()) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let addr = ptr as u64;
        if is_large(layout) && in_blocks(addr) {
            let len = block_len(layout.size());
            if !mapping::is_heap_block(addr, len) {
                bad_free(addr, layout);
            }
            mapping::heap_block_free(addr, len);
            LARGE_USED.fetch_sub(layout.size(), Ordering::Relaxed);
            LARGE_MAPPED.fetch_sub(len, Ordering::Relaxed);
            return;
        }
        // SAFETY: `ptr` lies in the heap (checked) and came from `alloc` with this layout
        // (GlobalAlloc's contract).
        with_small(addr, layout, |heap| unsafe { heap.deallocate(ptr, layout) });
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let addr = ptr as u64;
        // SAFETY: GlobalAlloc's contract: `new_size` rounded to the alignment does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if is_large(layout) && is_large(new_layout) && in_blocks(addr) {
            let (old_len, new_len) = (block_len(layout.size()), block_len(new_size));
            if !mapping::is_heap_block(addr, old_len) {
                bad_free(addr, layout);
            }
            let start = if old_len == new_len {
                Some(addr)
            } else {
                mapping::heap_block_resize(addr, old_len, new_len)
            };
            let Some(start) = start else {
                return core::ptr::null_mut();
            };
            LARGE_USED.fetch_add(new_size, Ordering::Relaxed);
            LARGE_USED.fetch_sub(layout.size(), Ordering::Relaxed);
            LARGE_MAPPED.fetch_add(new_len, Ordering::Relaxed);
            LARGE_MAPPED.fetch_sub(old_len, Ordering::Relaxed);
            return start as *mut u8;
        }
        if !is_large(layout) && !is_large(new_layout) {
            // SAFETY: `ptr` lies in the heap (checked) and came from `alloc` with `layout`.
            let in_place = with_small(addr, layout, |heap| unsafe {
                heap.try_realloc_in_place(ptr, layout, new_size)
            });
            if in_place {
                return ptr;
            }
        }
        // Between the two parts, or no room in place: move.
        // SAFETY: `new_layout` is valid (above) and non-zero.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both are live allocations of at least the copied length; distinct.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

/// Heap usage in bytes: `used` by live allocations, `size` mapped for them (small heaps'
/// pages and large blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapStats {
    pub used: usize,
    pub size: usize,
    /// Of `size`, the bytes of large blocks.
    pub large: usize,
}

pub fn heap_stats() -> HeapStats {
    let (small_used, small_mapped) = without_interrupts(|| {
        let heap = SMALL.lock();
        (
            heap.counters().allocated_bytes,
            heap.source.mapped_pages * PAGE_SIZE,
        )
    });
    let large = LARGE_MAPPED.load(Ordering::Relaxed);
    HeapStats {
        used: small_used + LARGE_USED.load(Ordering::Relaxed),
        size: (small_mapped + large) as usize,
        large: large as usize,
    }
}
