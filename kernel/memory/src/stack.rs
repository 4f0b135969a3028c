//! Kernel stacks: mapped pages with an unmapped guard page below, so an overflow faults
//! instead of corrupting memory. Dropping a `Stack` unmaps it and frees its frames.

use crate::paging::{PageFlags, map_page, unmap_range_keep_tables};
use crate::{PAGE_SIZE, STACKS_START};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;

/// Next never-used virtual address in the stack range.
static NEXT: AtomicU64 = AtomicU64::new(STACKS_START);
/// Address ranges of dropped stacks, as (guard page, pages), reused by stacks of the same size
/// so that the page-table pages covering them are reused too (no growth over time).
static FREE_SLOTS: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

fn take_slot(pages: u64) -> u64 {
    let reused = without_interrupts(|| {
        let mut free = FREE_SLOTS.lock();
        let i = free.iter().position(|&(_, p)| p == pages)?;
        Some(free.swap_remove(i).0)
    });
    reused.unwrap_or_else(|| NEXT.fetch_add((pages + 1) * PAGE_SIZE, Ordering::Relaxed))
}

#[derive(Debug)]
pub struct Stack {
    guard: u64,
    /// Pages mapped so far (all of them once allocation succeeded).
    pages: u64,
    slot_pages: u64,
}

/// Allocates a stack of `pages` mapped pages above one guard page.
pub fn allocate_stack(pages: u64) -> Option<Stack> {
    let guard = take_slot(pages);
    let mut stack = Stack {
        guard,
        pages: 0,
        slot_pages: pages,
    };
    for i in 0..pages {
        // On failure, dropping `stack` unmaps what was mapped and frees the slot.
        map_page(guard + (i + 1) * PAGE_SIZE, PageFlags::RW).ok()?;
        stack.pages += 1;
    }
    Some(stack)
}

impl Stack {
    /// The initial stack pointer (one past the highest byte).
    pub fn top(&self) -> u64 {
        self.guard + (self.pages + 1) * PAGE_SIZE
    }

    /// The lowest usable address.
    pub fn bottom(&self) -> u64 {
        self.guard + PAGE_SIZE
    }

    /// The unmapped page right below the stack.
    pub fn guard_page(&self) -> u64 {
        self.guard
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // One range: one TLB shootdown for the whole stack when other CPUs run. The page
        // tables stay for the slot's next stack.
        let bottom = self.guard + PAGE_SIZE;
        let unmapped = unmap_range_keep_tables(bottom, bottom + self.pages * PAGE_SIZE);
        assert_eq!(unmapped, self.pages, "stack pages were mapped");
        let slot = (self.guard, self.slot_pages);
        without_interrupts(|| FREE_SLOTS.lock().push(slot));
    }
}
