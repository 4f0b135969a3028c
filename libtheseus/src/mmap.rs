//! Anonymous virtual memory: regions that are reserved, mapped and committed with a
//! protection, re-protected and unmapped on page-aligned sub-ranges, by handle or by address.
//!
//! A [`Region`] owns a range of the address space (a `memory::Mapping`) and unmaps all of it
//! when dropped. Every region created here is also kept in a registry of live regions keyed by
//! address, so the POSIX-style calls [`protect_at`] and [`unmap_at`] (`mprotect`/`munmap`) and
//! [`region_at`] work on plain addresses, even across several regions. [`map`] (`mmap`)
//! returns a bare address: that region lives until [`unmap_at`] has removed all of its pages.
//! A region whose pages have all been unmapped by address is freed at once (its range may be
//! reused); an owned [`Region`] handle to it then owns nothing and its drop does nothing.
//!
//! Pages are [`page_size`] bytes. Lengths are rounded up to whole pages; addresses and offsets
//! must be page aligned (`EINVAL` otherwise). `Protection::NONE` pages are reserved: they hold
//! no memory and any access faults (a [`crate::signal`] handler sees it as `Segv`). With
//! [`Commit::OnDemand`] a page gets a zeroed frame on its first access; with [`Commit::Now`]
//! every accessible page is backed before the call returns. Protecting a range to `NONE`
//! frees its frames: made accessible again it reads as zeros. x86 cannot make a page writable
//! or executable but not readable, so every protection but `NONE` allows reads.

use crate::errno::map_error;
use crate::{Errno, Result};
use alloc::collections::BTreeMap;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};
use cpu_mutex::CpuMutex;
use rangemap::RangeSet;

/// Access rights of pages: the kernel's own type (`memory::Protection`, one definition for
/// every layer); `NONE` is `PROT_NONE`, `R`, `RW`, `RX`, `RWX` the others.
pub use memory::Protection;

/// When the pages of a region get memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Commit {
    /// Every accessible page is backed (zeroed) before the call returns.
    Now,
    /// A page is backed (zeroed) on its first access, or by [`Region::commit`].
    OnDemand,
}

/// The size of a page in bytes (4096).
pub const fn page_size() -> usize {
    memory::PAGE_SIZE as usize
}

fn round_up(len: usize) -> Option<usize> {
    len.checked_next_multiple_of(page_size())
}

fn is_aligned(v: usize) -> bool {
    v.is_multiple_of(page_size())
}

struct Slot {
    /// Distinguishes regions that reuse the same start address.
    id: u64,
    mapping: memory::Mapping,
    /// Absolute address ranges given up with `unmap`.
    unmapped: RangeSet<u64>,
}

impl Slot {
    fn range(&self) -> Range<u64> {
        self.mapping.start()..self.mapping.start() + self.mapping.len()
    }

    fn fully_unmapped(&self) -> bool {
        let r = self.range();
        self.unmapped.gaps(&r).next().is_none()
    }
}

/// Live regions by start address.
static REGIONS: CpuMutex<BTreeMap<u64, Slot>> = CpuMutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// An owned region of anonymous memory: see the module documentation. Dropping it unmaps
/// every page and frees the address range.
#[derive(Debug)]
pub struct Region {
    start: usize,
    len: usize,
    id: u64,
}

impl Region {
    /// Maps `len` bytes (rounded up to whole pages, not 0) with protection `prot`.
    pub fn new(len: usize, prot: Protection, commit: Commit) -> Result<Region> {
        Region::new_in(false, len, prot, commit)
    }

    /// Like [`Region::new`], in the user region: memory a user-mode program may access (its
    /// `mmap`s). Kernel code reaches it too (one address space).
    pub fn new_user(len: usize, prot: Protection, commit: Commit) -> Result<Region> {
        Region::new_in(true, len, prot, commit)
    }

    fn new_in(user: bool, len: usize, prot: Protection, commit: Commit) -> Result<Region> {
        let len = round_up(len).filter(|&l| l != 0).ok_or(Errno::EINVAL)?;
        let commit = match commit {
            Commit::Now => memory::Commit::Now,
            Commit::OnDemand => memory::Commit::OnDemand,
        };
        // Created (and with `Now` backed) before taking the registry lock.
        let mapping = if user {
            memory::Mapping::new_user(len as u64, prot, commit).map_err(map_error)?
        } else {
            memory::Mapping::new(len as u64, prot, commit).map_err(map_error)?
        };
        let start = mapping.start();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let slot = Slot {
            id,
            mapping,
            unmapped: RangeSet::new(),
        };
        REGIONS.lock().insert(start, slot);
        Ok(Region {
            start: start as usize,
            len,
            id,
        })
    }

    /// Reserves `len` bytes of address space with no access and no memory; make parts usable
    /// with [`Region::protect`]. Pages made accessible later are backed on first touch.
    pub fn reserve(len: usize) -> Result<Region> {
        Region::new(len, Protection::NONE, Commit::OnDemand)
    }

    /// First address.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Length in bytes (whole pages).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: regions are at least one page.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// One past the last address.
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    /// Whether `addr` lies inside the region's range.
    pub fn contains(&self, addr: usize) -> bool {
        (self.start..self.end()).contains(&addr)
    }

    /// The first byte, as a pointer (dereferencing it is the caller's business: the pages
    /// must allow the access).
    pub fn as_ptr(&self) -> *const u8 {
        self.start as *const u8
    }

    /// The first byte, as a mutable pointer.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.start as *mut u8
    }

    fn sub(&self, offset: usize, len: usize) -> Result<usize> {
        let len = round_up(len).ok_or(Errno::EINVAL)?;
        if !is_aligned(offset) || len == 0 || offset.checked_add(len).is_none_or(|e| e > self.len) {
            return Err(Errno::EINVAL);
        }
        Ok(len)
    }

    /// Runs `f` on this region's slot; `EINVAL` if every page of it was unmapped by address.
    fn with_slot<T>(&self, f: impl FnOnce(&mut Slot) -> Result<T>) -> Result<T> {
        let mut regions = REGIONS.lock();
        match regions.get_mut(&(self.start as u64)) {
            Some(slot) if slot.id == self.id => f(slot),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Changes the protection of `offset..offset + len` (offset page aligned, len rounded up,
    /// inside the region). `ENOMEM` (changing nothing) if part of it was unmapped.
    pub fn protect(&self, offset: usize, len: usize, prot: Protection) -> Result<()> {
        let len = self.sub(offset, len)?;
        self.with_slot(|s| {
            s.mapping
                .protect(offset as u64, len as u64, prot)
                .map_err(map_error)
        })
    }

    /// Backs every accessible page of `offset..offset + len` that has no memory yet (pre-faults
    /// it). `ENOMEM` if part of it was unmapped or memory ran out.
    pub fn commit(&self, offset: usize, len: usize) -> Result<()> {
        let len = self.sub(offset, len)?;
        self.with_slot(|s| {
            s.mapping
                .commit(offset as u64, len as u64)
                .map_err(map_error)
        })
    }

    /// Unmaps `offset..offset + len`: its memory is freed and any access faults; the address
    /// range stays owned by the region until it is dropped. Unmapping pages twice is allowed.
    pub fn unmap(&self, offset: usize, len: usize) -> Result<()> {
        let len = self.sub(offset, len)?;
        unmap_at(self.start + offset, len)
    }

    /// The protection of the page at `offset`; `None` if it was unmapped or is outside.
    pub fn protection(&self, offset: usize) -> Option<Protection> {
        if offset >= self.len {
            return None;
        }
        lookup(&REGIONS.lock(), self.start + offset)
            .filter(|info| info.start == self.start)
            .and_then(|info| info.protection)
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`. `EFAULT` (copying nothing) if part of
    /// the range is outside the region or does not allow reads.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.check_access(offset, buf.len(), false)?;
        // SAFETY: the range lies inside this region and every page of it is readable (checked
        // just above); `buf` is a distinct Rust allocation. A concurrent `protect_at` by
        // another thread could still revoke access, which faults like any bad access.
        unsafe {
            core::ptr::copy(
                (self.start + offset) as *const u8,
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        Ok(())
    }

    /// Copies `data` to `offset`. `EFAULT` (copying nothing) if part of the range is outside
    /// the region or does not allow writes.
    pub fn write_at(&self, offset: usize, data: &[u8]) -> Result<()> {
        self.check_access(offset, data.len(), true)?;
        // SAFETY: as in `read_at`, with every page writable.
        unsafe { core::ptr::copy(data.as_ptr(), (self.start + offset) as *mut u8, data.len()) };
        Ok(())
    }

    fn check_access(&self, offset: usize, len: usize, write: bool) -> Result<()> {
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= self.len)
            .ok_or(Errno::EFAULT)?;
        if len == 0 {
            return Ok(());
        }
        let first = offset / page_size() * page_size();
        for page in (first..end).step_by(page_size()) {
            match self.protection(page) {
                Some(p) if p.is_accessible() && (!write || p.write) => {}
                _ => return Err(Errno::EFAULT),
            }
        }
        Ok(())
    }

    /// Gives up the handle: the region stays mapped (like `mmap`) until [`unmap_at`] removes
    /// all of its pages. Returns its start address.
    pub fn into_raw(self) -> usize {
        let start = self.start;
        core::mem::forget(self);
        start
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        let slot = {
            let mut regions = REGIONS.lock();
            match regions.get(&(self.start as u64)) {
                Some(s) if s.id == self.id => regions.remove(&(self.start as u64)),
                _ => None,
            }
        };
        drop(slot); // unmapped outside the registry lock
    }
}

/// `mmap` of anonymous memory: maps `len` bytes (rounded up) and returns the start address.
/// The region stays until [`unmap_at`] has removed all of its pages.
pub fn map(len: usize, prot: Protection, commit: Commit) -> Result<usize> {
    Ok(Region::new(len, prot, commit)?.into_raw())
}

/// `munmap`: unmaps every page of `addr..addr + len` (addr page aligned, len rounded up, not
/// 0) that belongs to a live region; pages of no region are ignored, as in POSIX. A region
/// left with no mapped page is freed.
pub fn unmap_at(addr: usize, len: usize) -> Result<()> {
    let range = checked_range(addr, len)?;
    let mut freed = alloc::vec::Vec::new();
    {
        let mut regions = REGIONS.lock();
        let starts: alloc::vec::Vec<u64> = overlapping(&regions, &range).collect();
        for start in starts {
            let slot = regions.get_mut(&start).expect("listed region");
            let r = slot.range();
            let part = range.start.max(r.start)..range.end.min(r.end);
            slot.mapping
                .unmap(part.start - r.start, part.end - part.start)
                .map_err(map_error)?;
            slot.unmapped.insert(part);
            if slot.fully_unmapped() {
                freed.push(regions.remove(&start).expect("listed region"));
            }
        }
    }
    drop(freed); // address ranges returned outside the registry lock
    Ok(())
}

/// `mprotect`: changes the protection of `addr..addr + len` (addr page aligned, len rounded
/// up). Every page must belong to a live region and not be unmapped: `ENOMEM` otherwise, and
/// then nothing changes.
pub fn protect_at(addr: usize, len: usize, prot: Protection) -> Result<()> {
    let range = checked_range(addr, len)?;
    let mut regions = REGIONS.lock();
    // The common case first: one region holds the whole range (one lookup).
    if let Some((_, slot)) = regions.range_mut(..=range.start).next_back() {
        let r = slot.range();
        if r.start <= range.start && range.end <= r.end {
            if slot.unmapped.overlaps(&range) {
                return Err(Errno::ENOMEM);
            }
            return slot
                .mapping
                .protect(range.start - r.start, range.end - range.start, prot)
                .map_err(map_error);
        }
    }
    // Check that the regions cover the whole range with mapped pages, then change.
    let mut covered = range.start;
    for start in overlapping(&regions, &range) {
        let slot = &regions[&start];
        let r = slot.range();
        let part = range.start.max(r.start)..range.end.min(r.end);
        if part.start != covered || slot.unmapped.overlaps(&part) {
            return Err(Errno::ENOMEM);
        }
        covered = part.end;
    }
    if covered != range.end {
        return Err(Errno::ENOMEM);
    }
    // Region by region from the start (no list: one region is the common case).
    let mut at = range.start;
    while at < range.end {
        let (_, slot) = regions
            .range_mut(..=at)
            .next_back()
            .expect("checked region");
        let r = slot.range();
        let part = at..range.end.min(r.end);
        slot.mapping
            .protect(part.start - r.start, part.end - part.start, prot)
            .map_err(map_error)?;
        at = part.end;
    }
    Ok(())
}

/// What [`region_at`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// First address of the region containing the address.
    pub start: usize,
    /// Its length in bytes.
    pub len: usize,
    /// The protection of the page holding the address; `None` if that page was unmapped.
    pub protection: Option<Protection>,
}

/// The live region containing `addr`, if any.
///
/// Usable from a [`crate::signal`] handler (to tell a guard-page hit from a wild access): it
/// does not allocate, and if the registry was locked on this CPU (the interrupted code, or a
/// thread preempted on this CPU while it held it) it answers `None` instead of waiting; a hold
/// taken on another CPU is waited out. That holder may be a thread preempted with the lock
/// (the registry is taken with interrupts enabled): the wait ends when a CPU runs it again,
/// which the CPU it locked on (never waiting here) or any other can.
pub fn region_at(addr: usize) -> Option<RegionInfo> {
    let regions = REGIONS.lock_unless_held_here()?;
    lookup(&regions, addr)
}

fn lookup(regions: &BTreeMap<u64, Slot>, addr: usize) -> Option<RegionInfo> {
    let addr = addr as u64;
    let (_, slot) = regions.range(..=addr).next_back()?;
    if !slot.range().contains(&addr) {
        return None;
    }
    let page = addr & !(page_size() as u64 - 1);
    let protection = slot.mapping.protection(page - slot.mapping.start());
    Some(RegionInfo {
        start: slot.mapping.start() as usize,
        len: slot.mapping.len() as usize,
        protection,
    })
}

fn checked_range(addr: usize, len: usize) -> Result<Range<u64>> {
    let len = round_up(len).ok_or(Errno::EINVAL)?;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    if !is_aligned(addr) || len == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(addr as u64..end as u64)
}

/// Start addresses of the regions overlapping `range`, ascending.
fn overlapping<'a>(
    regions: &'a BTreeMap<u64, Slot>,
    range: &Range<u64>,
) -> impl Iterator<Item = u64> + 'a {
    // The region starting at or before `range.start` may reach into it.
    let first = regions
        .range(..=range.start)
        .next_back()
        .filter(|(_, s)| s.range().end > range.start)
        .map(|(k, _)| *k);
    first
        .into_iter()
        .chain(regions.range(range.start + 1..range.end).map(|(k, _)| *k))
}

/// Physical memory figures (`sysinfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryStats {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// The machine's physical memory: total and free.
pub fn memory_stats() -> MemoryStats {
    let f = memory::frame_stats();
    MemoryStats {
        total_bytes: f.total * memory::PAGE_SIZE,
        free_bytes: f.free * memory::PAGE_SIZE,
    }
}
