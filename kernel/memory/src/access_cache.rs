//! A few user ranges recently found accessible, so that the check a system call makes on a
//! program's pointer ([`crate::user_range_accessible`]) usually skips the registry: the
//! same stack buffer, futex word or heap block is checked again and again.
//!
//! Each slot holds a range lying in one run of one user mapping and whether that run allows
//! writing. Slots are written only under the registry's lock (filled by a check that found
//! the range accessible, emptied by every change of the registry), and read without it
//! through a sequence count (odd while a write is under way; a read that saw it change
//! counts as a miss). So a hit answers as the registry did at some moment during the check,
//! as the locked lookup would.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};

const SLOTS: usize = 8;

/// Bit 0 of a slot's end: the run allows writing (ends are page aligned).
const WRITABLE: u64 = 1;

pub(crate) struct AccessCache {
    seq: AtomicU64,
    /// `(start, end | WRITABLE)`; an empty slot has `end` 0.
    slots: [(AtomicU64, AtomicU64); SLOTS],
    /// The slot the next fill replaces.
    next: AtomicUsize,
}

impl AccessCache {
    pub(crate) const fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            slots: [const { (AtomicU64::new(0), AtomicU64::new(0)) }; SLOTS],
            next: AtomicUsize::new(0),
        }
    }

    /// Whether a slot covers `start..end` (non-empty) with the access asked for; false also
    /// when a write to the cache was under way.
    pub(crate) fn covers(&self, start: u64, end: u64, write: bool) -> bool {
        let seq = self.seq.load(Ordering::Acquire);
        if seq & 1 != 0 {
            return false;
        }
        let hit = self.slots.iter().any(|(s, e)| {
            let slot_end = e.load(Ordering::Relaxed);
            start >= s.load(Ordering::Relaxed)
                && end <= slot_end & !WRITABLE
                && (!write || slot_end & WRITABLE != 0)
        });
        fence(Ordering::Acquire);
        hit && self.seq.load(Ordering::Relaxed) == seq
    }

    /// Records `start..end` (page aligned, one run of a user mapping) as accessible, for
    /// writing too if `writable`. Only with the registry locked.
    pub(crate) fn fill(&self, start: u64, end: u64, writable: bool) {
        self.write(|slots| {
            let i = self.next.load(Ordering::Relaxed);
            self.next.store((i + 1) % SLOTS, Ordering::Relaxed);
            slots[i].0.store(start, Ordering::Relaxed);
            slots[i]
                .1
                .store(end | u64::from(writable), Ordering::Relaxed);
        });
    }

    /// Forgets every range: the registry is about to change. Only with the registry locked.
    pub(crate) fn clear(&self) {
        self.write(|slots| {
            for (s, e) in slots {
                s.store(0, Ordering::Relaxed);
                e.store(0, Ordering::Relaxed);
            }
        });
    }

    fn write(&self, f: impl FnOnce(&[(AtomicU64, AtomicU64); SLOTS])) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        f(&self.slots);
        self.seq.fetch_add(1, Ordering::Release);
    }
}
