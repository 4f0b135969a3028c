//! Owned virtual memory mappings (Theseus's `MappedPages` idea): a [`Mapping`] owns a range
//! of the mappings region, the frames committed in it, and the per-range protections; dropping
//! it unmaps everything and returns the range.
//!
//! Every live mapping is in [`REGISTRY`] (start -> [`Entry`]), which the page-fault handler
//! reads to commit on-demand pages. Each entry keeps the protection of every page as runs in a
//! `rangemap::RangeMap` keyed by absolute address, which splits and merges runs as sub-ranges
//! change. Whether a page is committed is read from the page tables themselves.
//!
//! [`SharedPages`] lend their frames, read-only, to user mappings ([`Mapping::share`]): a
//! program's text, mapped by every process that runs it (see `paging::BORROWED`).
//!
//! The kernel heap's large allocations are mappings too, in a region of their own and owned by
//! the heap (see "blocks of the kernel heap" below).
//!
//! Lock order: `REGISTRY` before the heap before `TABLE` before `FRAMES`; `VADDRS` is taken
//! alone. Both locks here are only taken with interrupts masked, so an exception handler that
//! finds `REGISTRY` (a `CpuMutex`) held by its own CPU knows the interrupted code holds it and
//! gives up instead of deadlocking; held by another CPU, it waits.

use crate::access_cache::AccessCache;
use crate::paging::{
    self, MapError, PageFlags, map_borrowed, map_page, privatize_range, protect_range, translate,
    unmap_range,
};
use crate::{
    HEAP_BLOCKS_SIZE, HEAP_BLOCKS_START, MAPPINGS_SIZE, MAPPINGS_START, PAGE_SIZE,
    SHARED_PAGES_SIZE, SHARED_PAGES_START, STACKS_START, USER_SIZE, USER_START,
};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;
use cpu_mutex::CpuMutex;
use rangemap::RangeMap;
use spin::Mutex;
use vaddr_allocator::VaddrAllocator;
use x86_64::instructions::interrupts::without_interrupts;

/// Access rights of a range of a [`Mapping`]. x86 cannot deny reads of a page that allows
/// writing or executing, so any right implies `read`; only [`Protection::NONE`] denies all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protection {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Protection {
    /// No access: a reserved guard range. Its pages hold no frames.
    pub const NONE: Protection = Protection::new(false, false, false);
    pub const R: Protection = Protection::new(true, false, false);
    pub const RW: Protection = Protection::new(true, true, false);
    pub const RX: Protection = Protection::new(true, false, true);
    pub const RWX: Protection = Protection::new(true, true, true);

    pub const fn new(read: bool, write: bool, exec: bool) -> Protection {
        Protection { read, write, exec }
    }

    /// Whether any access is allowed (pages can be committed).
    pub fn is_accessible(self) -> bool {
        self.read || self.write || self.exec
    }

    /// Whether an access (a read unless `write` or `exec`) is allowed.
    pub fn allows(self, write: bool, exec: bool) -> bool {
        self.is_accessible() && (!write || self.write) && (!exec || self.exec)
    }

    fn page_flags(self, user: bool) -> PageFlags {
        PageFlags {
            write: self.write,
            exec: self.exec,
            user,
        }
    }
}

/// When the pages of a [`Mapping`] get frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// Every accessible page is backed by a zeroed frame before the call returns.
    Now,
    /// Pages get a zeroed frame on their first access (see [`handle_page_fault`]) or through
    /// [`Mapping::commit`]; creating even a huge mapping allocates no frames or page tables.
    OnDemand,
}

/// State of a run of pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// Usable with this protection (`NONE`: reserved, never committed).
    Access(Protection),
    /// Given up with [`Mapping::unmap`]: no frames, no access; the range stays owned.
    Unmapped,
}

struct Entry {
    len: u64,
    commit: Commit,
    /// In the user region: its pages are user-accessible.
    user: bool,
    /// A block of the kernel heap (its large allocations, see `heap.rs`), owned by the heap
    /// rather than by a `Mapping` value.
    heap: bool,
    /// Absolute address ranges -> state, covering `start..start + len` exactly.
    runs: RangeMap<u64, Run>,
    /// First touches in order (see [`handle_page_fault`]): the page after those the last
    /// fault committed, and how many the fault committed past its own page.
    ahead_next: u64,
    ahead_pages: u64,
}

/// The most pages a fault in a user mapping commits past its own when the program touches
/// the mapping's fresh pages in ascending order (the window doubles from 1 with each fault
/// that lands right after the previous window): 64 KiB, at most 15 pages never touched.
const MAX_AHEAD_PAGES: u64 = 16;

static REGISTRY: CpuMutex<BTreeMap<u64, Entry>> = CpuMutex::new(BTreeMap::new());
/// User ranges found accessible in [`REGISTRY`], emptied whenever it changes.
static ACCESSIBLE: AccessCache = AccessCache::new();
/// The free parts of the mappings region, created on first use (it needs the heap).
static VADDRS: Mutex<Option<VaddrAllocator>> = Mutex::new(None);
/// The free parts of the user region, created on first use.
static USER_VADDRS: Mutex<Option<VaddrAllocator>> = Mutex::new(None);
/// The free parts of the heap blocks' region, created on first use.
static HEAP_VADDRS: Mutex<Option<VaddrAllocator>> = Mutex::new(None);
/// The free parts of the shared pages' region, created on first use.
static SHARED_VADDRS: Mutex<Option<VaddrAllocator>> = Mutex::new(None);

/// The regions mappings are placed in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Space {
    /// The mappings region ([`Mapping::new`]).
    Kernel,
    /// The user region ([`Mapping::new_user`]).
    User,
    /// The kernel heap's large blocks (their own region, so that they share no page table
    /// with other mappings).
    Heap,
    /// [`SharedPages`] (their own region too: they live long).
    Shared,
}

impl Space {
    fn of(addr: u64) -> Space {
        if (USER_START..USER_START + USER_SIZE).contains(&addr) {
            Space::User
        } else if (HEAP_BLOCKS_START..HEAP_BLOCKS_START + HEAP_BLOCKS_SIZE).contains(&addr) {
            Space::Heap
        } else if (SHARED_PAGES_START..SHARED_PAGES_START + SHARED_PAGES_SIZE).contains(&addr) {
            Space::Shared
        } else {
            Space::Kernel
        }
    }

    fn range(self) -> (u64, u64) {
        match self {
            Space::Kernel => (MAPPINGS_START, MAPPINGS_SIZE),
            Space::User => (USER_START, USER_SIZE),
            Space::Heap => (HEAP_BLOCKS_START, HEAP_BLOCKS_SIZE),
            Space::Shared => (SHARED_PAGES_START, SHARED_PAGES_SIZE),
        }
    }

    /// The allocator of the region's free ranges.
    fn vaddrs(self) -> &'static Mutex<Option<VaddrAllocator>> {
        match self {
            Space::Kernel => &VADDRS,
            Space::User => &USER_VADDRS,
            Space::Heap => &HEAP_VADDRS,
            Space::Shared => &SHARED_VADDRS,
        }
    }
}

/// Free bytes of the mappings region's address space.
pub fn mapping_space_free() -> u64 {
    without_interrupts(|| {
        VADDRS
            .lock()
            .as_ref()
            .map_or(MAPPINGS_SIZE, |v| v.free_bytes())
    })
}

/// The protections of the mapped pages in `range`, as runs of equal protection by address,
/// one or more per mapping (`/proc/PID/maps`); unmapped and unregistered parts are left out.
pub fn protections(range: Range<u64>) -> Vec<(Range<u64>, Protection)> {
    without_interrupts(|| {
        let registry = REGISTRY.lock();
        let mut out: Vec<(Range<u64>, Protection)> = Vec::new();
        let first = registry
            .range(..range.start)
            .next_back()
            .map_or(range.start, |(&s, _)| s);
        for (_, entry) in registry.range(first..range.end) {
            // Runs merge within a mapping, never across two (each is a region of its own).
            let mut merged: Option<(Range<u64>, Protection)> = None;
            for (run, state) in entry.runs.overlapping(&range) {
                let Run::Access(p) = state else { continue };
                let part = run.start.max(range.start)..run.end.min(range.end);
                match &mut merged {
                    Some((last, lp)) if last.end == part.start && lp == p => last.end = part.end,
                    _ => out.extend(merged.replace((part, *p))),
                }
            }
            out.extend(merged);
        }
        out
    })
}

/// A range of the mappings region, owned: see the module documentation.
#[derive(Debug)]
pub struct Mapping {
    start: u64,
    len: u64,
    /// The shared pages some of its pages map ([`Mapping::share`]), kept alive until it is
    /// dropped (after its own pages are unmapped).
    lent: Vec<Arc<SharedPages>>,
}

impl Mapping {
    /// Reserves `len` bytes (a non-zero multiple of [`PAGE_SIZE`]) with protection `prot`.
    /// With [`Commit::Now`] every page is backed before this returns (unless `prot` is
    /// `NONE`); with [`Commit::OnDemand`] nothing is allocated but the range's bookkeeping.
    pub fn new(len: u64, prot: Protection, commit: Commit) -> Result<Mapping, MapError> {
        Mapping::new_in(false, len, prot, commit)
    }

    /// Like [`Mapping::new`], in the user region: the pages are accessible from user mode
    /// (a program's image, stacks and `mmap`s).
    pub fn new_user(len: u64, prot: Protection, commit: Commit) -> Result<Mapping, MapError> {
        Mapping::new_in(true, len, prot, commit)
    }

    fn new_in(user: bool, len: u64, prot: Protection, commit: Commit) -> Result<Mapping, MapError> {
        let space = if user { Space::User } else { Space::Kernel };
        let mut mapping = Mapping::reserve_in(space, len, prot, commit)?;
        if commit == Commit::Now {
            mapping.commit(0, len)?;
        }
        Ok(mapping)
    }

    /// Takes a range and registers it, committing nothing (whatever `commit` says).
    fn reserve_in(
        space: Space,
        len: u64,
        prot: Protection,
        commit: Commit,
    ) -> Result<Mapping, MapError> {
        if len == 0 || !len.is_multiple_of(PAGE_SIZE) {
            return Err(MapError::Unaligned);
        }
        let start = without_interrupts(|| {
            let (base, size) = space.range();
            space
                .vaddrs()
                .lock()
                .get_or_insert_with(|| VaddrAllocator::new(base, size))
                .allocate(len, PAGE_SIZE)
        })
        .ok_or(MapError::OutOfAddressSpace)?;
        let mut runs = RangeMap::new();
        runs.insert(start..start + len, Run::Access(prot));
        without_interrupts(|| {
            let mut registry = REGISTRY.lock();
            ACCESSIBLE.clear();
            registry.insert(
                start,
                Entry {
                    len,
                    commit,
                    user: space == Space::User,
                    heap: space == Space::Heap,
                    runs,
                    ahead_next: 0,
                    ahead_pages: 0,
                },
            );
        });
        // From here on, dropping the mapping undoes everything.
        Ok(Mapping {
            start,
            len,
            lent: Vec::new(),
        })
    }

    /// First address.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether this mapping is in the user region.
    pub fn is_user(&self) -> bool {
        (USER_START..USER_START + USER_SIZE).contains(&self.start)
    }

    /// Always false: mappings are at least one page.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The protection of the page at `offset`; `None` if it was unmapped or is outside.
    pub fn protection(&self, offset: u64) -> Option<Protection> {
        if offset >= self.len {
            return None;
        }
        self.with_entry(|e| match e.runs.get(&(self.start + offset)) {
            Some(Run::Access(p)) => Some(*p),
            _ => None,
        })
    }

    /// Absolute address range of the sub-range `offset..offset + len`, checked.
    fn sub_range(&self, offset: u64, len: u64) -> Result<Range<u64>, MapError> {
        if len == 0 || !len.is_multiple_of(PAGE_SIZE) || !offset.is_multiple_of(PAGE_SIZE) {
            return Err(MapError::Unaligned);
        }
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(self.start + offset..self.start + end),
            _ => Err(MapError::OutOfRange),
        }
    }

    /// Runs `f` on this mapping's registry entry, with interrupts masked.
    fn with_entry<T>(&self, f: impl FnOnce(&mut Entry) -> T) -> T {
        without_interrupts(|| {
            let mut registry = REGISTRY.lock();
            ACCESSIBLE.clear();
            f(registry
                .get_mut(&self.start)
                .expect("live mapping is registered"))
        })
    }

    /// Changes the protection of `offset..offset + len` (page aligned, inside the mapping).
    /// Committed pages keep their contents, except that protecting to `NONE` frees them: a
    /// range made accessible again reads as zeros. With [`Commit::Now`] pages made
    /// accessible are committed at once. Fails with `NotMapped`, changing nothing, if part of
    /// the range was unmapped.
    ///
    /// Shared pages ([`Mapping::share`]) made writable get a private copy first (a program
    /// that makes its own text writable changes no other process's); `OutOfFrames` if that
    /// copy finds no memory, with nothing changed that anyone could see.
    pub fn protect(&mut self, offset: u64, len: u64, prot: Protection) -> Result<(), MapError> {
        let range = self.sub_range(offset, len)?;
        let shares = !self.lent.is_empty();
        let commit = self.with_entry(|e| {
            if e.runs
                .overlapping(&range)
                .any(|(_, run)| *run == Run::Unmapped)
            {
                return Err(MapError::NotMapped);
            }
            if shares && prot.write {
                privatize_range(range.start, range.end)?;
            }
            e.runs.insert(range.clone(), Run::Access(prot));
            if prot.is_accessible() {
                protect_range(range.start, range.end, prot.page_flags(e.user));
            } else {
                unmap_range(range.start, range.end);
            }
            Ok(e.commit)
        })?;
        if commit == Commit::Now && prot.is_accessible() {
            self.commit(offset, len)?;
        }
        Ok(())
    }

    /// Unmaps `offset..offset + len` (page aligned, inside the mapping): its frames are freed
    /// and it can no longer be accessed, committed or protected, but its address range stays
    /// owned by this mapping until it is dropped. Unmapping pages again is allowed.
    pub fn unmap(&mut self, offset: u64, len: u64) -> Result<(), MapError> {
        let range = self.sub_range(offset, len)?;
        self.with_entry(|e| {
            e.runs.insert(range.clone(), Run::Unmapped);
            unmap_range(range.start, range.end);
        });
        Ok(())
    }

    /// Backs every accessible page of `offset..offset + len` that has no frame yet with a
    /// zeroed frame (pre-faulting). `NONE` pages are skipped; fails with `NotMapped` if part
    /// of the range was unmapped, and with `OutOfFrames` (pages committed so far stay) when
    /// memory runs out.
    pub fn commit(&mut self, offset: u64, len: u64) -> Result<(), MapError> {
        let range = self.sub_range(offset, len)?;
        let user = self.is_user();
        let runs: Vec<(Range<u64>, Protection)> = self.with_entry(|e| {
            e.runs
                .overlapping(&range)
                .map(|(r, run)| match run {
                    Run::Access(p) => Ok((r.start.max(range.start)..r.end.min(range.end), *p)),
                    Run::Unmapped => Err(MapError::NotMapped),
                })
                .filter(|r| !matches!(r, Ok((_, p)) if !p.is_accessible()))
                .collect::<Result<Vec<_>, _>>()
        })?;
        // Mapped without the registry lock so interrupts stay enabled; `&mut self` excludes
        // other changes to the runs, and a page committed meanwhile by the fault handler
        // shows up as `AlreadyMapped`.
        for (run, prot) in runs {
            for page in run.step_by(PAGE_SIZE as usize) {
                // A page already committed is skipped before `map_page` takes (and zeroes) a
                // frame it would only give back (re-committing a range after a protect).
                if translate(page).is_some() {
                    continue;
                }
                match map_page(page, prot.page_flags(user)) {
                    Ok(()) | Err(MapError::AlreadyMapped) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Maps the frames of `source`'s pages `source_offset..source_offset + len` at
    /// `offset..offset + len` of this mapping, with `prot` (which must not allow writing:
    /// `SharedWritable`): every mapping sharing them reads the same bytes, and none can write
    /// them (a later writable [`Mapping::protect`] copies them first). The range must hold no
    /// frame yet (a fresh range of a [`Commit::Now`] mapping created `NONE`, or one never
    /// touched): `AlreadyMapped` otherwise. `source` stays alive while this mapping does.
    /// Fails, changing nothing, with `NotMapped` if part of the range was unmapped or part of
    /// `source`'s range is not committed, `OutOfFrames` when no frame is left for a page table.
    pub fn share(
        &mut self,
        offset: u64,
        len: u64,
        source: &Arc<SharedPages>,
        source_offset: u64,
        prot: Protection,
    ) -> Result<(), MapError> {
        let range = self.sub_range(offset, len)?;
        let from = source.mapping.sub_range(source_offset, len)?;
        if prot.write {
            return Err(MapError::SharedWritable);
        }
        let pages = len / PAGE_SIZE;
        let user = self.is_user();
        self.with_entry(|e| {
            if e.runs
                .overlapping(&range)
                .any(|(_, run)| *run == Run::Unmapped)
            {
                return Err(MapError::NotMapped);
            }
            // The registry stays locked, so no fault commits a page here meanwhile.
            if paging::resident_pages(range.start, range.end) != 0 {
                return Err(MapError::AlreadyMapped);
            }
            if prot.is_accessible() {
                // Checks that every source page is committed (`NotMapped`, undone, if not).
                map_borrowed(from.start, range.start, pages, prot.page_flags(user))?;
            }
            e.runs.insert(range.clone(), Run::Access(prot));
            Ok(())
        })?;
        if prot.is_accessible() && !self.lent.iter().any(|s| Arc::ptr_eq(s, source)) {
            self.lent.push(source.clone());
        }
        Ok(())
    }
}

/// Pages filled once and from then on only read, whose frames user mappings map at once with
/// [`Mapping::share`]: a program's text and read-only data, shared by every process that runs
/// the same version of it. A mapping of the mappings region of its own, read-only once
/// [`SharedPages::finish`]ed; its frames are freed when the last mapping sharing them and the
/// last `Arc` are gone.
#[derive(Debug)]
pub struct SharedPages {
    mapping: Mapping,
}

impl SharedPages {
    /// `len` bytes (a non-zero page multiple), nothing committed yet.
    pub fn new(len: u64) -> Result<SharedPages, MapError> {
        Ok(SharedPages {
            mapping: Mapping::reserve_in(Space::Shared, len, Protection::RW, Commit::OnDemand)?,
        })
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.mapping.len()
    }

    /// Always false: at least one page.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Commits the pages of `offset..offset + len` (page aligned) and lends them out to be
    /// written (zeros where nothing was written before).
    pub fn fill(&mut self, offset: u64, len: u64) -> Result<&mut [u8], MapError> {
        let range = self.mapping.sub_range(offset, len)?;
        self.mapping.commit(offset, len)?;
        // SAFETY: `range` lies in this mapping, committed and writable just now; `&mut self`
        // makes the slice the only way to reach it while it lives (nothing is shared yet: that
        // takes `finish`, which consumes `self`).
        Ok(unsafe { core::slice::from_raw_parts_mut(range.start as *mut u8, len as usize) })
    }

    /// Done filling: the pages become read-only, to be shared.
    pub fn finish(mut self) -> Result<Arc<SharedPages>, MapError> {
        self.mapping.protect(0, self.mapping.len(), Protection::R)?;
        Ok(Arc::new(self))
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Unregistered first: from now on no fault commits a page here.
        without_interrupts(|| {
            let mut registry = REGISTRY.lock();
            ACCESSIBLE.clear();
            registry.remove(&self.start)
        })
        .expect("live mapping is registered");
        unmap_range(self.start, self.start + self.len);
        without_interrupts(|| {
            Space::of(self.start)
                .vaddrs()
                .lock()
                .as_mut()
                .expect("mapping range was allocated")
                .free(self.start, self.len)
                .expect("mapping range was allocated")
        });
    }
}

// ---- blocks of the kernel heap --------------------------------------------------------------
//
// The heap serves its large allocations from mappings of their own (page granular, committed,
// RW, in a region of their own), so that freeing one gives its frames back at once. The heap keeps only the start and
// the length of each; the registry entry, marked `heap`, is what proves a pointer handed to
// `dealloc` is one of them.

/// A new committed RW block of `len` bytes (page multiple); its start.
pub(crate) fn heap_block_new(len: u64) -> Option<u64> {
    let mut block = Mapping::reserve_in(Space::Heap, len, Protection::RW, Commit::Now).ok()?;
    block.commit(0, len).ok()?;
    let start = block.start;
    core::mem::forget(block);
    Some(start)
}

/// Whether `start` is the start of a live heap block of exactly `len` bytes.
pub(crate) fn is_heap_block(start: u64, len: u64) -> bool {
    without_interrupts(|| {
        REGISTRY
            .lock()
            .get(&start)
            .is_some_and(|e| e.heap && e.len == len)
    })
}

/// Frees a block from [`heap_block_new`] (checked with [`is_heap_block`] by the caller):
/// unmaps it, frees its frames and returns its range.
pub(crate) fn heap_block_free(start: u64, len: u64) {
    drop(Mapping {
        start,
        len,
        lent: Vec::new(),
    });
}

/// Gives the block at `start` (checked, `old_len` bytes) a length of `new_len` bytes: a new
/// block takes over its frames without copying (page tables are rewritten) and gets fresh
/// frames for any growth; the old range is freed. Returns the new start, or `None` (the old
/// block unchanged) when memory runs out.
pub(crate) fn heap_block_resize(start: u64, old_len: u64, new_len: u64) -> Option<u64> {
    let mut block = Mapping::reserve_in(Space::Heap, new_len, Protection::RW, Commit::Now).ok()?;
    let keep = old_len.min(new_len) / PAGE_SIZE;
    paging::move_range(start, block.start, keep).ok()?;
    if new_len > old_len && block.commit(old_len, new_len - old_len).is_err() {
        // The old range's page tables are still there: moving back needs no frame.
        paging::move_range(block.start, start, keep).expect("pages move back");
        return None;
    }
    // Frees what is left of the old block: frames past `new_len` when shrinking, its range.
    drop(Mapping {
        start,
        len: old_len,
        lent: Vec::new(),
    });
    let new_start = block.start;
    core::mem::forget(block);
    Some(new_start)
}

/// Commits the page holding `addr` if it belongs to a live [`Commit::OnDemand`] mapping, its
/// protection allows the access (a read unless `write` or `exec`) and it has no frame yet:
/// maps a zeroed frame there with the run's protection and returns true. `present` is the
/// fault's error-code bit 0 (a protection fault on a present page, not a missing one): a
/// missing-page fault on a page found committed (by another CPU's fault on it meanwhile)
/// returns true too, to retry the access. Returns false for every other fault (no mapping,
/// `NONE` or unmapped page, access not allowed, a protection fault on a committed page, no
/// free frame), which the caller must treat as a real fault.
///
/// A program that touches a user mapping's fresh pages in ascending order (filling a buffer
/// or an array) gets the next pages of the same run committed with the faulting one, twice
/// as many with each such fault up to [`MAX_AHEAD_PAGES`] (as Linux maps pages around a fault
/// in a file mapping): each fault costs much more than zeroing a page (under QEMU's TCG the
/// exception alone is about a microsecond). Pages that hold a frame already end the window.
///
/// Meant for the page-fault handler (interrupts masked); takes no heap allocation.
pub fn handle_page_fault(addr: u64, write: bool, exec: bool, present: bool) -> bool {
    without_interrupts(|| {
        // Held by this CPU means held by the interrupted code (they are taken with interrupts
        // masked): a fault inside the memory code itself. Another CPU's hold is waited out.
        if paging::tables_held_here() {
            return false;
        }
        let Some(mut registry) = REGISTRY.lock_unless_held_here() else {
            return false;
        };
        let page = addr & !(PAGE_SIZE - 1);
        let Some((&start, entry)) = registry
            .range_mut(..=addr)
            .next_back()
            .filter(|(start, e)| addr - **start < e.len)
        else {
            return false;
        };
        if entry.commit != Commit::OnDemand {
            return false;
        }
        let Some((run, &Run::Access(prot))) = entry.runs.get_key_value(&page) else {
            return false;
        };
        if !prot.allows(write, exec) {
            return false;
        }
        let run_end = run.end.min(start + entry.len);
        if translate(page).is_some() {
            // A not-present fault on a page that is present now: another CPU's fault on the
            // same page committed it meanwhile (this one waited for the registry), with the
            // run's permissions, which allow this access: retry it. (No TLB holds a
            // not-present entry, so the retry walks the tables again.) A protection fault on
            // a committed page is refused.
            return !present;
        }
        // The registry stays locked, so no protect or unmap can race with this commit.
        let flags = prot.page_flags(entry.user);
        if map_page(page, flags).is_err() {
            return false;
        }
        let ahead = if entry.user && page == entry.ahead_next {
            (entry.ahead_pages * 2).clamp(1, MAX_AHEAD_PAGES)
        } else {
            0
        };
        let mut end = page + PAGE_SIZE;
        while end < run_end && end < page + (ahead + 1) * PAGE_SIZE && translate(end).is_none() {
            // Out of frames: the pages ahead are only a guess, the fault's own is done.
            if map_page(end, flags).is_err() {
                break;
            }
            end += PAGE_SIZE;
        }
        entry.ahead_next = end;
        entry.ahead_pages = ahead;
        true
    })
}

/// Whether every byte of `addr..addr + len` lies in live user mappings whose protection
/// allows the access (a read, or a write if `write`): the check a system call makes before it
/// touches memory a program named. Pages not committed yet count (touching them commits
/// them). An empty range is accessible.
pub fn user_range_accessible(addr: u64, len: u64, write: bool) -> bool {
    if len == 0 {
        return true;
    }
    let Some(end) = addr.checked_add(len) else {
        return false;
    };
    if addr < USER_START || end > USER_START + USER_SIZE {
        return false;
    }
    if ACCESSIBLE.covers(addr, end, write) {
        return true;
    }
    without_interrupts(|| {
        let registry = REGISTRY.lock();
        let mut at = addr;
        while at < end {
            let Some((start, entry)) = registry
                .range(..=at)
                .next_back()
                .filter(|(start, e)| at - **start < e.len && e.user)
            else {
                return false;
            };
            let entry_end = (start + entry.len).min(end);
            // Run by run (one lookup each: most ranges lie in one run); a gap is no access.
            while at < entry_end {
                match entry.runs.get_key_value(&at) {
                    Some((range, Run::Access(p))) if p.allows(write, false) => {
                        if at == addr && range.end >= end {
                            // All in one run: remembered for the next checks.
                            let run = range.start.max(*start)..range.end.min(start + entry.len);
                            ACCESSIBLE.fill(run.start, run.end, p.allows(true, false));
                        }
                        at = range.end.min(entry_end);
                    }
                    _ => return false,
                }
            }
        }
        true
    })
}

/// What a faulting address is, for fault messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// A `NONE` (guard / reserved) page of a live mapping.
    MappingGuard,
    /// A page unmapped from a live mapping with [`Mapping::unmap`].
    MappingUnmapped,
    /// An accessible page of a live mapping: the access broke its protection.
    MappingPage(Protection),
    /// An unmapped page of the kernel stacks region: a stack guard page (or a freed stack).
    StackGuard,
    /// None of the above (or the registry was busy).
    Other,
}

/// Classifies a faulting address.
pub fn page_fault_kind(addr: u64) -> FaultKind {
    const STACKS_SIZE: u64 = 16 << 40;
    if (STACKS_START..STACKS_START + STACKS_SIZE).contains(&addr) {
        return if paging::tables_held_here() || translate(addr).is_some() {
            FaultKind::Other
        } else {
            FaultKind::StackGuard
        };
    }
    without_interrupts(|| {
        let Some(registry) = REGISTRY.lock_unless_held_here() else {
            return FaultKind::Other;
        };
        let found = registry
            .range(..=addr)
            .next_back()
            .filter(|(start, e)| addr - **start < e.len)
            .and_then(|(_, e)| e.runs.get(&addr).copied());
        match found {
            Some(Run::Access(p)) if p.is_accessible() => FaultKind::MappingPage(p),
            Some(Run::Access(_)) => FaultKind::MappingGuard,
            Some(Run::Unmapped) => FaultKind::MappingUnmapped,
            None => FaultKind::Other,
        }
    })
}
