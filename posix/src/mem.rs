//! `sys_malloc`, `sys_realloc`, `sys_free`: std's global allocator, on the kernel's.
//!
//! Memory is not yet per-process: a program's blocks come from the kernel heap, so a program
//! that is killed (or exits without freeing) leaks its heap. As in Hermit, a zero size or an
//! invalid size/alignment pair gives a null pointer (and `sys_free` ignores them).

use alloc::alloc::{Layout, alloc, dealloc, realloc};
use core::ptr;

/// Allocates `size` bytes aligned to `align`; null on failure.
pub(crate) extern "C" fn sys_malloc(size: usize, align: usize) -> *mut u8 {
    match Layout::from_size_align(size, align) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) if size != 0 => unsafe { alloc(layout) },
        _ => ptr::null_mut(),
    }
}

/// Resizes the block `ptr` (allocated with `size` and `align`) to `new_size`; null on
/// failure (the old block then stays valid).
///
/// # Safety
/// `ptr` must come from `sys_malloc`/`sys_realloc` with this `size` and `align`.
pub(crate) unsafe extern "C" fn sys_realloc(
    ptr: *mut u8,
    size: usize,
    align: usize,
    new_size: usize,
) -> *mut u8 {
    match Layout::from_size_align(size, align) {
        Ok(layout) if !ptr.is_null() && size != 0 && new_size != 0 => {
            // SAFETY: the caller passes a live block of this layout; `new_size` is non-zero
            // (`realloc` checks its rounding overflow by returning null).
            unsafe { realloc(ptr, layout, new_size) }
        }
        _ => ptr::null_mut(),
    }
}

/// Frees the block `ptr` allocated with `size` and `align`.
///
/// # Safety
/// `ptr` must come from `sys_malloc`/`sys_realloc` with this `size` and `align`, and not be
/// used afterwards.
pub(crate) unsafe extern "C" fn sys_free(ptr: *mut u8, size: usize, align: usize) {
    if let Ok(layout) = Layout::from_size_align(size, align)
        && !ptr.is_null()
        && size != 0
    {
        // SAFETY: the caller passes a live block of this layout.
        unsafe { dealloc(ptr, layout) }
    }
}

libtheseus::export_symbol!(sys_malloc, sys_realloc, sys_free);
