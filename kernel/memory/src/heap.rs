//! The kernel heap: `linked_list_allocator`'s free lists over a virtual range that grows by
//! mapping fresh frames whenever an allocation does not fit.

use crate::paging::{PageFlags, map_page};
use crate::{HEAP_MAX, HEAP_START, PAGE_SIZE};
use core::alloc::{GlobalAlloc, Layout};
use linked_list_allocator::Heap;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;

const INITIAL_SIZE: u64 = 256 * 1024;
const MIN_GROWTH: u64 = 256 * 1024;

struct State {
    heap: Heap,
    /// End of the mapped part of the heap range.
    mapped_end: u64,
}

static STATE: Mutex<State> = Mutex::new(State {
    heap: Heap::empty(),
    mapped_end: HEAP_START,
});

/// Maps `bytes` more (page multiple) at the end of the heap range; returns how much was mapped.
fn map_more(state: &mut State, bytes: u64) -> u64 {
    let limit = HEAP_START + HEAP_MAX;
    let mut mapped = 0;
    while mapped < bytes && state.mapped_end + mapped < limit {
        if map_page(state.mapped_end + mapped, PageFlags::RW).is_err() {
            break;
        }
        mapped += PAGE_SIZE;
    }
    mapped
}

pub(crate) fn init() {
    without_interrupts(|| {
        let mut state = STATE.lock();
        let mapped = map_more(&mut state, INITIAL_SIZE);
        assert_eq!(mapped, INITIAL_SIZE, "no memory for the initial heap");
        // SAFETY: HEAP_START..+INITIAL_SIZE was just mapped RW and is used only by the heap.
        unsafe {
            state
                .heap
                .init(HEAP_START as *mut u8, INITIAL_SIZE as usize)
        };
        state.mapped_end += mapped;
    });
}

struct KernelAllocator;

// Only the kernel uses it: a host build of this crate (clippy, docs) keeps the system allocator.
#[cfg_attr(target_os = "none", global_allocator)]
static ALLOCATOR: KernelAllocator = KernelAllocator;

// SAFETY: allocations come from linked_list_allocator over mapped memory, under one lock with
// interrupts masked (an interrupt handler that allocates cannot deadlock against it).
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        without_interrupts(|| {
            let mut state = STATE.lock();
            loop {
                if let Ok(ptr) = state.heap.allocate_first_fit(layout) {
                    return ptr.as_ptr();
                }
                let need = (layout.size() + layout.align()) as u64;
                let grow = need.max(MIN_GROWTH).next_multiple_of(PAGE_SIZE);
                let mapped = map_more(&mut state, grow);
                if mapped == 0 {
                    return core::ptr::null_mut();
                }
                state.mapped_end += mapped;
                // SAFETY: the range right after the heap's top was just mapped for it.
                unsafe { state.heap.extend(mapped as usize) };
            }
        })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        without_interrupts(|| {
            // SAFETY: `ptr` came from `alloc` with this layout (GlobalAlloc's contract).
            unsafe {
                STATE
                    .lock()
                    .heap
                    .deallocate(core::ptr::NonNull::new_unchecked(ptr), layout)
            }
        })
    }
}

/// Heap usage in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapStats {
    pub used: usize,
    pub size: usize,
}

pub fn heap_stats() -> HeapStats {
    without_interrupts(|| {
        let state = STATE.lock();
        HeapStats {
            used: state.heap.used(),
            size: state.heap.size(),
        }
    })
}

/// True while some code holds the heap's lock (on one CPU with interrupts masked: the
/// interrupted task). The scheduler asks before ending a task where it runs.
pub fn heap_busy() -> bool {
    STATE.is_locked()
}
