//! A few kernel stacks of the default size kept mapped after their tasks end, for the next
//! tasks: mapping a stack is 64 frames allocated and zeroed and 64 page-table entries, and
//! freeing one unmaps them with a TLB shootdown; under TCG that was most of a thread's spawn
//! and join (`cargo xtask bench thread`). Linux keeps two per CPU for the same reason. A
//! stack comes back as its task left it (the kernel's own memory: no user mode reads it) and
//! its guard page stays unmapped.
//!
//! The pool is taken with interrupts disabled (a task's end gives its stack back in
//! `finish_switch`, where they are) and never allocates.

use crate::DEFAULT_STACK_PAGES;
use memory::Stack;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;

/// Stacks kept at most (512 KiB of default-sized ones).
const KEPT: usize = 2;

static POOL: Mutex<[Option<Stack>; KEPT]> = Mutex::new([const { None }; KEPT]);

/// A stack of `pages` pages: a kept one if the size is the default and one is there, else a
/// new one.
pub(crate) fn take(pages: u64) -> Option<Stack> {
    if pages == DEFAULT_STACK_PAGES {
        let kept = without_interrupts(|| POOL.lock().iter_mut().find_map(Option::take));
        if kept.is_some() {
            return kept;
        }
    }
    memory::allocate_stack(pages)
}

/// Gives an ended task's stack back: kept if it has the default size and there is room,
/// else dropped (unmapped and freed, outside the pool's lock: the unmap shoots down TLBs).
pub(crate) fn give_back(stack: Stack) {
    if stack.top() - stack.bottom() != DEFAULT_STACK_PAGES * memory::PAGE_SIZE {
        return;
    }
    let unkept = without_interrupts(|| {
        let mut pool = POOL.lock();
        match pool.iter_mut().find(|s| s.is_none()) {
            Some(slot) => slot.replace(stack),
            None => Some(stack),
        }
    });
    drop(unkept);
}
