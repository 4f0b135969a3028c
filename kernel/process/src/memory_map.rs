//! A process's memory map: which address ranges belong to it and what each is (its program
//! image, its main stack, what it mapped itself), for `/proc/PID/maps`, `statm` and `status`.
//!
//! The map is a record, not the owner: the image and stack are owned by the process's
//! context (see `linux.rs`), the mappings a program makes by the POSIX layer, which reports
//! them here as it makes and removes them. Kept as a resource of the process context, so it
//! goes with the process.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;
use rangemap::RangeMap;
use spin::Mutex;
use vfs::ProcessContext;

/// What a range of a process's memory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// The program file's loaded segments.
    Image,
    /// The main thread's stack (its guard page included).
    Stack,
    /// A mapping the program made (`mmap`): thread stacks, heap, files.
    Mapped,
}

/// The ranges of one process's memory.
#[derive(Default)]
pub struct MemoryMap {
    ranges: Mutex<RangeMap<u64, RegionKind>>,
}

/// Sizes of a process's memory, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Every range (address space taken).
    pub size: u64,
    /// The pages that have memory now.
    pub resident: u64,
    pub image: u64,
    pub stack: u64,
    pub mapped: u64,
}

impl MemoryMap {
    /// The map of the process `ctx` belongs to (made empty on first use).
    pub fn of(ctx: &ProcessContext) -> Arc<MemoryMap> {
        ctx.resource_or_insert_with(MemoryMap::default)
    }

    /// Records `range` as holding `kind` (replacing what the map said of it).
    pub fn insert(&self, range: Range<u64>, kind: RegionKind) {
        if !range.is_empty() {
            self.ranges.lock().insert(range, kind);
        }
    }

    /// Forgets `range` (a part of a region, or several).
    pub fn remove(&self, range: Range<u64>) {
        if !range.is_empty() {
            self.ranges.lock().remove(range);
        }
    }

    /// Forgets every range of `kind` (an `exec` replacing the image and stack).
    pub fn remove_kind(&self, kind: RegionKind) {
        let mut ranges = self.ranges.lock();
        let of_kind: Vec<Range<u64>> = ranges
            .iter()
            .filter(|&(_, k)| *k == kind)
            .map(|(r, _)| r.clone())
            .collect();
        for r in of_kind {
            ranges.remove(r);
        }
    }

    /// Every range and what it holds, by address.
    pub fn regions(&self) -> Vec<(Range<u64>, RegionKind)> {
        self.ranges
            .lock()
            .iter()
            .map(|(r, k)| (r.clone(), *k))
            .collect()
    }

    /// The sizes of the map; `resident` counts the pages with a frame now.
    pub fn usage(&self) -> MemoryUsage {
        let mut usage = MemoryUsage::default();
        for (range, kind) in self.regions() {
            let len = range.end - range.start;
            usage.size += len;
            usage.resident += memory::resident_pages(range.start, range.end) * memory::PAGE_SIZE;
            match kind {
                RegionKind::Image => usage.image += len,
                RegionKind::Stack => usage.stack += len,
                RegionKind::Mapped => usage.mapped += len,
            }
        }
        usage
    }
}
