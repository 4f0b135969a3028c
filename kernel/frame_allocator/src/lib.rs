//! The physical frame allocator: which 4 KiB frames of RAM are free.
//!
//! A bitmap over every frame up to the highest usable address, one bit per frame (1 = free),
//! built from the boot memory map minus reserved ranges (the kernel image, boot structures,
//! modules, the bitmap itself). Frees are checked: freeing a frame that is already free is an
//! error, not silent corruption. Single frames are found with a rotating hint and word-wide
//! scans; contiguous runs (for page tables, DMA, huge pages) with a linear search.
//!
//! Pure logic over a caller-provided `&mut [u64]`, so it is tested on the host. Depends on
//! nothing. Hand-written: the bitmap is a dozen lines, and available crates either allocate
//! from a heap (which does not exist yet when this runs) or lack double-free detection.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

/// Size of a frame in bytes.
pub const FRAME_SIZE: u64 = 4096;

/// A physical address range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub const fn new(start: u64, end: u64) -> Self {
        Range { start, end }
    }
}

/// Errors of [`FrameAllocator::free`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The address is not frame aligned.
    Unaligned(u64),
    /// The frame lies outside memory this allocator manages.
    OutOfRange(u64),
    /// The frame is already free.
    DoubleFree(u64),
}

/// How many `u64` words of bitmap are needed for memory up to `max_addr`.
pub const fn bitmap_words(max_addr: u64) -> usize {
    let frames = max_addr.div_ceil(FRAME_SIZE);
    frames.div_ceil(64) as usize
}

/// The frames a reserved range touches (even partly): `start` rounded down, `end` up.
fn reserved_frames(res: &Range) -> core::ops::Range<u64> {
    res.start / FRAME_SIZE..res.end.div_ceil(FRAME_SIZE)
}

pub struct FrameAllocator<'a> {
    bitmap: &'a mut [u64],
    frames: u64,
    free: u64,
    total: u64,
    hint: usize,
}

impl<'a> FrameAllocator<'a> {
    /// Builds the allocator: frames wholly inside some `usable` range and not touching any
    /// `reserved` range start free. `bitmap` must have [`bitmap_words`] words for the highest
    /// usable address (more is fine); frames beyond it are ignored.
    pub fn new(bitmap: &'a mut [u64], usable: &[Range], reserved: &[Range]) -> Self {
        bitmap.fill(0);
        let frames = bitmap.len() as u64 * 64;
        let mut this = FrameAllocator {
            bitmap,
            frames,
            free: 0,
            total: 0,
            hint: 0,
        };
        for r in usable {
            let mut f = r.start.div_ceil(FRAME_SIZE);
            let last = (r.end / FRAME_SIZE).min(frames);
            // Runs of frames between reservations, marked a bitmap word at a time (one pass
            // per frame cost 30 ms of boot under TCG for 1 GiB).
            while f < last {
                // A reservation touching frame `f` (its frames: `reserved_frames`) skips past it.
                if let Some(end) = reserved
                    .iter()
                    .map(reserved_frames)
                    .filter(|frames| frames.contains(&f))
                    .map(|frames| frames.end)
                    .max()
                {
                    f = end;
                    continue;
                }
                let run_end = reserved
                    .iter()
                    .map(|res| reserved_frames(res).start)
                    .filter(|&start| start > f)
                    .fold(last, u64::min);
                this.free += this.mark_free(f, run_end);
                f = run_end;
            }
        }
        this.total = this.free;
        this
    }

    /// Marks frames `first..end` free; returns how many were not free already (usable ranges
    /// may overlap).
    fn mark_free(&mut self, first: u64, end: u64) -> u64 {
        let mut newly = 0;
        let mut f = first;
        while f < end {
            let bit = f % 64;
            let n = (64 - bit).min(end - f);
            let mask = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << bit
            };
            let word = &mut self.bitmap[(f / 64) as usize];
            newly += u64::from((mask & !*word).count_ones());
            *word |= mask;
            f += n;
        }
        newly
    }

    fn is_free(&self, frame: u64) -> bool {
        self.bitmap[(frame / 64) as usize] & (1 << (frame % 64)) != 0
    }

    fn set(&mut self, frame: u64, free: bool) {
        let word = &mut self.bitmap[(frame / 64) as usize];
        if free {
            *word |= 1 << (frame % 64);
        } else {
            *word &= !(1 << (frame % 64));
        }
    }

    /// Allocates one frame, returning its physical address.
    pub fn allocate(&mut self) -> Option<u64> {
        if self.free == 0 {
            return None;
        }
        let n = self.bitmap.len();
        for i in 0..n {
            let w = (self.hint + i) % n;
            let word = self.bitmap[w];
            if word != 0 {
                let frame = w as u64 * 64 + u64::from(word.trailing_zeros());
                self.set(frame, false);
                self.free -= 1;
                self.hint = w;
                return Some(frame * FRAME_SIZE);
            }
        }
        None
    }

    /// Allocates `count` physically contiguous frames whose first address is a multiple of
    /// `align` bytes (a power of two, at least a frame).
    pub fn allocate_contiguous(&mut self, count: u64, align: u64) -> Option<u64> {
        if count == 0 || count > self.free || !align.is_power_of_two() {
            return None;
        }
        let step = (align / FRAME_SIZE).max(1);
        let mut start = 0;
        while start + count <= self.frames {
            match (start..start + count).find(|&f| !self.is_free(f)) {
                None => {
                    for f in start..start + count {
                        self.set(f, false);
                    }
                    self.free -= count;
                    return Some(start * FRAME_SIZE);
                }
                Some(busy) => start = (busy + 1).next_multiple_of(step),
            }
        }
        None
    }

    /// Returns a frame.
    pub fn free(&mut self, addr: u64) -> Result<(), FreeError> {
        if !addr.is_multiple_of(FRAME_SIZE) {
            return Err(FreeError::Unaligned(addr));
        }
        let frame = addr / FRAME_SIZE;
        if frame >= self.frames {
            return Err(FreeError::OutOfRange(addr));
        }
        if self.is_free(frame) {
            return Err(FreeError::DoubleFree(addr));
        }
        self.set(frame, true);
        self.free += 1;
        Ok(())
    }

    /// Frames currently free.
    pub fn free_frames(&self) -> u64 {
        self.free
    }

    /// Frames that were free when the allocator was built (usable RAM minus reservations).
    pub fn total_frames(&self) -> u64 {
        self.total
    }
}

/// Finds `len` bytes (frame aligned) inside `usable` and outside `reserved`, for placing the
/// bitmap itself before any allocator exists.
pub fn find_space(usable: &[Range], reserved: &[Range], len: u64) -> Option<u64> {
    let len = len.next_multiple_of(FRAME_SIZE);
    for r in usable {
        let mut start = r.start.next_multiple_of(FRAME_SIZE);
        while start + len <= r.end {
            match reserved
                .iter()
                .filter(|res| start < res.end && start + len > res.start)
                .map(|res| res.end)
                .max()
            {
                None => return Some(start),
                Some(end) => start = end.next_multiple_of(FRAME_SIZE),
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc_with(usable: &[Range], reserved: &[Range]) -> FrameAllocator<'static> {
        let max = usable.iter().map(|r| r.end).max().unwrap();
        let bitmap = Box::leak(vec![0u64; bitmap_words(max)].into_boxed_slice());
        FrameAllocator::new(bitmap, usable, reserved)
    }

    #[test]
    fn counts_usable_minus_reserved() {
        let a = alloc_with(
            &[Range::new(0x1000, 0x11000), Range::new(0x20000, 0x30000)],
            &[Range::new(0x2000, 0x3800)],
        );
        // 16 + 16 frames, minus 0x2000 and 0x3000 (the reservation touches both).
        assert_eq!(a.total_frames(), 30);
        assert_eq!(a.free_frames(), 30);
    }

    /// The rule `new` implements, frame by frame: inside a usable range, touching no
    /// reservation.
    fn free_by_rule(usable: &[Range], reserved: &[Range], frames: u64) -> Vec<u64> {
        (0..frames)
            .filter(|&f| {
                let (start, end) = (f * FRAME_SIZE, (f + 1) * FRAME_SIZE);
                usable.iter().any(|r| r.start <= start && end <= r.end)
                    && !reserved.iter().any(|r| start < r.end && end > r.start)
            })
            .collect()
    }

    #[test]
    fn runs_match_the_per_frame_rule() {
        // Overlapping usable ranges, reservations unaligned, empty, overlapping each other,
        // straddling word and range edges; a small xorshift makes many such layouts.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |bound: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % bound
        };
        for _ in 0..300 {
            let span = 0x200 * FRAME_SIZE;
            let usable: Vec<Range> = (0..1 + next(3))
                .map(|_| {
                    let a = next(span);
                    Range::new(a, a + next(span - a + 1))
                })
                .collect();
            let reserved: Vec<Range> = (0..next(5))
                .map(|_| {
                    let a = next(span);
                    Range::new(a, a + next(0x40 * FRAME_SIZE))
                })
                .collect();
            let max = usable.iter().map(|r| r.end).max().unwrap().max(1);
            let bitmap = Box::leak(vec![0u64; bitmap_words(max)].into_boxed_slice());
            let words = bitmap.len() as u64;
            let a = FrameAllocator::new(bitmap, &usable, &reserved);
            let want = free_by_rule(&usable, &reserved, words * 64);
            let got: Vec<u64> = (0..words * 64).filter(|&f| a.is_free(f)).collect();
            assert_eq!(got, want, "usable {usable:x?} reserved {reserved:x?}");
            assert_eq!(a.free_frames(), want.len() as u64);
        }
    }

    #[test]
    fn partial_frames_at_region_edges_are_not_usable() {
        let a = alloc_with(&[Range::new(0x1800, 0x4800)], &[]);
        assert_eq!(a.total_frames(), 2); // 0x2000 and 0x3000
    }

    #[test]
    fn allocate_all_then_exhausted_then_free_and_reuse() {
        let mut a = alloc_with(&[Range::new(0x10000, 0x20000)], &[]);
        let mut got = Vec::new();
        while let Some(f) = a.allocate() {
            assert!((0x10000..0x20000).contains(&f));
            assert_eq!(f % FRAME_SIZE, 0);
            got.push(f);
        }
        assert_eq!(got.len(), 16);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 16, "no frame handed out twice");
        assert_eq!(a.free_frames(), 0);
        a.free(0x15000).unwrap();
        assert_eq!(a.allocate(), Some(0x15000));
    }

    #[test]
    fn reserved_frames_are_never_handed_out() {
        let mut a = alloc_with(&[Range::new(0, 0x100000)], &[Range::new(0x8000, 0x9000)]);
        while let Some(f) = a.allocate() {
            assert_ne!(f, 0x8000);
        }
    }

    #[test]
    fn free_errors() {
        let mut a = alloc_with(&[Range::new(0, 0x10000)], &[]);
        let f = a.allocate().unwrap();
        assert_eq!(a.free(f + 1), Err(FreeError::Unaligned(f + 1)));
        a.free(f).unwrap();
        assert_eq!(a.free(f), Err(FreeError::DoubleFree(f)));
        assert_eq!(a.free(0x1000_0000), Err(FreeError::OutOfRange(0x1000_0000)));
    }

    #[test]
    fn contiguous_respects_alignment_and_holes() {
        let mut a = alloc_with(&[Range::new(0, 0x400000)], &[Range::new(0x1000, 0x2000)]);
        let p = a.allocate_contiguous(4, 0x10000).unwrap();
        assert_eq!(p % 0x10000, 0);
        let q = a.allocate_contiguous(512, 0x200000).unwrap();
        assert_eq!(q, 0x200000);
        assert!(a.allocate_contiguous(512, 0x200000).is_none());
        for f in 0..512 {
            a.free(q + f * FRAME_SIZE).unwrap();
        }
        assert_eq!(a.allocate_contiguous(512, 0x200000), Some(0x200000));
    }

    #[test]
    fn find_space_skips_reservations() {
        let usable = [Range::new(0x1000, 0x10000), Range::new(0x100000, 0x200000)];
        let reserved = [Range::new(0x0, 0x9000), Range::new(0x100000, 0x101000)];
        assert_eq!(find_space(&usable, &reserved, 0x3000), Some(0x9000));
        assert_eq!(find_space(&usable, &reserved, 0x8000), Some(0x101000));
        assert_eq!(find_space(&usable, &reserved, 0x200000), None);
    }
}
