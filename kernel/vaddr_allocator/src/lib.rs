//! The virtual address range allocator: which parts of a virtual region are free.
//!
//! Free ranges are kept in a `BTreeMap` (start -> end, half-open), in address order and always
//! coalesced: no two free ranges touch. Allocation is first fit (the lowest suitably aligned
//! address whose range fits); freeing merges the range with its free neighbours. Frees are
//! checked: a range outside the region or overlapping free space (a double free) is an error
//! and changes nothing. The allocator does not remember allocations, so a caller may return
//! any part of what it holds.
//!
//! Pure logic, tested on the host; the `memory` crate holds the kernel's instance for its
//! mappings region. Depends on `alloc` only.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::BTreeMap;

/// Why a [`VaddrAllocator::free`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The range is empty.
    Empty,
    /// The range does not lie inside the allocator's region.
    OutOfBounds,
    /// Part of the range is already free (a double free).
    AlreadyFree,
}

/// First-fit allocator of address ranges inside `[start, end)`.
#[derive(Clone, Debug)]
pub struct VaddrAllocator {
    start: u64,
    end: u64,
    /// Free ranges: start -> end (exclusive), never empty, never touching each other.
    free: BTreeMap<u64, u64>,
}

impl VaddrAllocator {
    /// An allocator whose whole region `[start, start + len)` is free.
    ///
    /// # Panics
    /// If the region wraps around the end of the address space.
    pub fn new(start: u64, len: u64) -> Self {
        let end = start
            .checked_add(len)
            .expect("region wraps around the address space");
        let mut free = BTreeMap::new();
        if len > 0 {
            free.insert(start, end);
        }
        VaddrAllocator { start, end, free }
    }

    /// Start of the region.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// End (exclusive) of the region.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Reserves `len` bytes at an address that is a multiple of `align` (a power of two):
    /// the lowest such address whose whole range is free. `None` if `len` is 0 or nothing fits.
    pub fn allocate(&mut self, len: u64, align: u64) -> Option<u64> {
        assert!(align.is_power_of_two(), "alignment must be a power of two");
        if len == 0 {
            return None;
        }
        let (free_start, free_end, addr) = self.free.iter().find_map(|(&s, &e)| {
            let addr = s.checked_next_multiple_of(align)?;
            (addr.checked_add(len)? <= e).then_some((s, e, addr))
        })?;
        self.free.remove(&free_start);
        if addr > free_start {
            self.free.insert(free_start, addr);
        }
        if addr + len < free_end {
            self.free.insert(addr + len, free_end);
        }
        Some(addr)
    }

    /// Returns `[start, start + len)` to the free ranges, merging it with free neighbours.
    pub fn free(&mut self, start: u64, len: u64) -> Result<(), FreeError> {
        if len == 0 {
            return Err(FreeError::Empty);
        }
        let end = start.checked_add(len).ok_or(FreeError::OutOfBounds)?;
        if start < self.start || end > self.end {
            return Err(FreeError::OutOfBounds);
        }
        let before = self.free.range(..=start).next_back().map(|(&s, &e)| (s, e));
        let after = self.free.range(start..).next().map(|(&s, &e)| (s, e));
        if before.is_some_and(|(_, e)| e > start) || after.is_some_and(|(s, _)| s < end) {
            return Err(FreeError::AlreadyFree);
        }
        let mut new_start = start;
        let mut new_end = end;
        if let Some((s, e)) = before
            && e == start
        {
            self.free.remove(&s);
            new_start = s;
        }
        if let Some((s, e)) = after
            && s == end
        {
            self.free.remove(&s);
            new_end = e;
        }
        self.free.insert(new_start, new_end);
        Ok(())
    }

    /// Whether every byte of `[start, start + len)` is free.
    pub fn is_free(&self, start: u64, len: u64) -> bool {
        let Some(end) = start.checked_add(len) else {
            return false;
        };
        self.free
            .range(..=start)
            .next_back()
            .is_some_and(|(_, &e)| e >= end)
    }

    /// Total free bytes.
    pub fn free_bytes(&self) -> u64 {
        self.free.iter().map(|(s, e)| e - s).sum()
    }

    /// Size of the largest free range (what an unaligned allocation can get at most).
    pub fn largest_free(&self) -> u64 {
        self.free.iter().map(|(s, e)| e - s).max().unwrap_or(0)
    }

    /// The free ranges as `(start, end)` pairs, in address order.
    pub fn free_ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.free.iter().map(|(&s, &e)| (s, e))
    }
}

#[cfg(test)]
mod tests;
