//! Kernel stacks: mapped pages with an unmapped guard page below, so an overflow faults
//! instead of corrupting memory. Dropping a `Stack` unmaps it and frees its frames.

use crate::paging::{PageFlags, map_page, unmap_page};
use crate::{PAGE_SIZE, STACKS_START};
use core::sync::atomic::{AtomicU64, Ordering};

/// Next free virtual address in the stack range. Stack address ranges are not reused yet:
/// the range is 16 TiB, enough for millions of stacks.
static NEXT: AtomicU64 = AtomicU64::new(STACKS_START);

#[derive(Debug)]
pub struct Stack {
    guard: u64,
    pages: u64,
}

/// Allocates a stack of `pages` mapped pages above one guard page.
pub fn allocate_stack(pages: u64) -> Option<Stack> {
    let guard = NEXT.fetch_add((pages + 1) * PAGE_SIZE, Ordering::Relaxed);
    let stack = Stack { guard, pages: 0 };
    let mut stack = stack;
    for i in 0..pages {
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
        for i in 0..self.pages {
            unmap_page(self.guard + (i + 1) * PAGE_SIZE).expect("stack page was mapped");
        }
    }
}
