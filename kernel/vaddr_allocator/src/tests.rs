use super::*;
use std::vec::Vec;

const P: u64 = 4096;
const BASE: u64 = 0xffff_c000_0000_0000;

fn ranges(a: &VaddrAllocator) -> Vec<(u64, u64)> {
    a.free_ranges().collect()
}

#[test]
fn first_fit_hands_out_ascending_addresses() {
    let mut a = VaddrAllocator::new(BASE, 100 * P);
    assert_eq!(a.allocate(P, P), Some(BASE));
    assert_eq!(a.allocate(3 * P, P), Some(BASE + P));
    assert_eq!(a.allocate(P, P), Some(BASE + 4 * P));
    assert_eq!(ranges(&a), [(BASE + 5 * P, BASE + 100 * P)]);
    assert_eq!(a.free_bytes(), 95 * P);
}

#[test]
fn zero_length_and_exhaustion() {
    let mut a = VaddrAllocator::new(BASE, 10 * P);
    assert_eq!(a.allocate(0, P), None);
    assert_eq!(a.allocate(11 * P, P), None);
    assert_eq!(a.allocate(10 * P, P), Some(BASE));
    assert_eq!(a.allocate(1, 1), None);
    assert_eq!(a.free_bytes(), 0);
    assert_eq!(a.largest_free(), 0);
    a.free(BASE, 10 * P).unwrap();
    assert_eq!(ranges(&a), [(BASE, BASE + 10 * P)]);
}

#[test]
fn first_fit_reuses_the_lowest_hole_that_fits() {
    let mut a = VaddrAllocator::new(BASE, 100 * P);
    let x: Vec<u64> = (0..10).map(|_| a.allocate(2 * P, P).unwrap()).collect();
    // Holes of 2 pages at x[1] and of 4 pages at x[4]..x[6].
    a.free(x[1], 2 * P).unwrap();
    a.free(x[4], 2 * P).unwrap();
    a.free(x[5], 2 * P).unwrap();
    assert_eq!(
        ranges(&a),
        [
            (x[1], x[1] + 2 * P),
            (x[4], x[4] + 4 * P),
            (BASE + 20 * P, BASE + 100 * P)
        ]
    );
    // 3 pages do not fit the first hole: the second one is used, and split.
    assert_eq!(a.allocate(3 * P, P), Some(x[4]));
    assert_eq!(a.allocate(P, P), Some(x[1]));
    assert_eq!(a.allocate(P, P), Some(x[1] + P));
    assert_eq!(a.allocate(P, P), Some(x[4] + 3 * P));
    assert_eq!(a.allocate(P, P), Some(BASE + 20 * P));
}

#[test]
fn free_coalesces_with_both_neighbours() {
    let mut a = VaddrAllocator::new(BASE, 3 * P);
    let x = a.allocate(P, P).unwrap();
    let y = a.allocate(P, P).unwrap();
    let z = a.allocate(P, P).unwrap();
    a.free(x, P).unwrap();
    a.free(z, P).unwrap();
    assert_eq!(ranges(&a), [(x, x + P), (z, z + P)]);
    assert_eq!(a.largest_free(), P);
    assert_eq!(a.allocate(2 * P, P), None, "fragmented: no 2-page range");
    a.free(y, P).unwrap();
    assert_eq!(ranges(&a), [(BASE, BASE + 3 * P)], "merged into one range");
    assert_eq!(a.allocate(3 * P, P), Some(BASE));
}

#[test]
fn free_coalesces_left_only_and_right_only() {
    let mut a = VaddrAllocator::new(BASE, 4 * P);
    let all = a.allocate(4 * P, P).unwrap();
    a.free(all, P).unwrap();
    a.free(all + P, P).unwrap();
    assert_eq!(ranges(&a), [(BASE, BASE + 2 * P)]);
    a.free(all + 3 * P, P).unwrap();
    a.free(all + 2 * P, P).unwrap();
    assert_eq!(ranges(&a), [(BASE, BASE + 4 * P)]);
}

#[test]
fn alignment_splits_a_range_in_three() {
    let mut a = VaddrAllocator::new(BASE, 2048 * P);
    assert_eq!(a.allocate(P, P), Some(BASE));
    let big = a.allocate(P, 512 * P).unwrap();
    assert_eq!(big, BASE + 512 * P);
    assert_eq!(
        ranges(&a),
        [
            (BASE + P, BASE + 512 * P),
            (BASE + 513 * P, BASE + 2048 * P)
        ]
    );
    // Small allocations still go into the gap left below the aligned one.
    assert_eq!(a.allocate(P, P), Some(BASE + P));
}

#[test]
fn bad_frees_are_refused_and_change_nothing() {
    let mut a = VaddrAllocator::new(BASE, 10 * P);
    let x = a.allocate(4 * P, P).unwrap();
    let before = ranges(&a);
    assert_eq!(a.free(x, 0), Err(FreeError::Empty));
    assert_eq!(a.free(BASE - P, P), Err(FreeError::OutOfBounds));
    assert_eq!(a.free(BASE + 9 * P, 2 * P), Err(FreeError::OutOfBounds));
    assert_eq!(a.free(u64::MAX - P, 2 * P), Err(FreeError::OutOfBounds));
    // Overlaps the free tail.
    assert_eq!(a.free(x + 3 * P, 2 * P), Err(FreeError::AlreadyFree));
    assert_eq!(ranges(&a), before);
    a.free(x + P, P).unwrap();
    // Double frees: exact, containing, overlapping the start of a free range.
    assert_eq!(a.free(x + P, P), Err(FreeError::AlreadyFree));
    assert_eq!(a.free(x, 3 * P), Err(FreeError::AlreadyFree));
    assert_eq!(a.free(x, 2 * P), Err(FreeError::AlreadyFree));
    assert_eq!(a.free(BASE + 5 * P, P), Err(FreeError::AlreadyFree));
    a.free(x, P).unwrap();
    a.free(x + 2 * P, 2 * P).unwrap();
    assert_eq!(ranges(&a), [(BASE, BASE + 10 * P)]);
}

#[test]
fn is_free_reports_whole_ranges() {
    let mut a = VaddrAllocator::new(BASE, 10 * P);
    let x = a.allocate(2 * P, P).unwrap();
    assert!(!a.is_free(x, P));
    assert!(a.is_free(x + 2 * P, 8 * P));
    assert!(!a.is_free(x + P, 2 * P));
    assert!(!a.is_free(BASE + 9 * P, 2 * P));
}

#[test]
fn empty_region() {
    let mut a = VaddrAllocator::new(BASE, 0);
    assert_eq!(a.allocate(P, P), None);
    assert_eq!(a.free(BASE, P), Err(FreeError::OutOfBounds));
}

#[test]
fn region_ending_near_the_top_of_the_address_space() {
    let start = u64::MAX - 16 * P + 1 - P;
    let mut a = VaddrAllocator::new(start, 16 * P);
    assert_eq!(a.allocate(16 * P, P), Some(start));
    a.free(start, 16 * P).unwrap();
    assert_eq!(a.allocate(P, 1 << 63), None, "no aligned address fits");
    assert_eq!(a.free(u64::MAX - P, 2 * P), Err(FreeError::OutOfBounds));
}

/// xorshift64*: deterministic pseudo-random numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Compares the allocator against a page bitmap with a brute-force first fit, over random
/// allocations (random sizes and alignments), frees of random parts of what is held, and
/// double frees; after every step the free ranges must be exactly the maximal free runs.
#[test]
fn randomized_against_a_bitmap_model() {
    const PAGES: usize = 512;
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut a = VaddrAllocator::new(BASE, PAGES as u64 * P);
        let mut used = [false; PAGES];
        // What the test holds, as (first page, page count).
        let mut held: Vec<(usize, usize)> = Vec::new();
        for _ in 0..3000 {
            match rng.below(10) {
                0..=4 => {
                    let max = if rng.below(4) == 0 { 100 } else { 8 };
                    let pages = 1 + rng.below(max) as usize;
                    let align_pages = 1usize << rng.below(5);
                    let expect = (0..PAGES)
                        .step_by(align_pages)
                        .find(|&p| p + pages <= PAGES && used[p..p + pages].iter().all(|u| !u));
                    let got = a.allocate(pages as u64 * P, align_pages as u64 * P);
                    assert_eq!(got, expect.map(|p| BASE + p as u64 * P), "seed {seed}");
                    if let Some(p) = expect {
                        used[p..p + pages].iter_mut().for_each(|u| *u = true);
                        held.push((p, pages));
                    }
                }
                5..=8 if !held.is_empty() => {
                    // Free a random sub-range of a held range; keep the rest held.
                    let i = rng.below(held.len() as u64) as usize;
                    let (p, n) = held.swap_remove(i);
                    let off = rng.below(n as u64) as usize;
                    let len = 1 + rng.below((n - off) as u64) as usize;
                    a.free(BASE + (p + off) as u64 * P, len as u64 * P).unwrap();
                    used[p + off..p + off + len]
                        .iter_mut()
                        .for_each(|u| *u = false);
                    if off > 0 {
                        held.push((p, off));
                    }
                    if off + len < n {
                        held.push((p + off + len, n - off - len));
                    }
                }
                _ => {
                    // Free a random range: refused exactly when some page of it is free.
                    let p = rng.below(PAGES as u64) as usize;
                    let n = 1 + rng.below((PAGES - p).min(4) as u64) as usize;
                    let any_free = used[p..p + n].iter().any(|u| !u);
                    let r = a.free(BASE + p as u64 * P, n as u64 * P);
                    if any_free {
                        assert_eq!(r, Err(FreeError::AlreadyFree), "seed {seed}");
                    } else {
                        // The whole range was held: give it back in the model too.
                        r.unwrap();
                        used[p..p + n].iter_mut().for_each(|u| *u = false);
                        held = held
                            .into_iter()
                            .flat_map(|(hp, hn)| {
                                let mut parts = Vec::new();
                                if hp < p {
                                    parts.push((hp, hn.min(p - hp)));
                                }
                                if hp + hn > p + n {
                                    let s = hp.max(p + n);
                                    parts.push((s, hp + hn - s));
                                }
                                parts
                            })
                            .collect();
                    }
                }
            }
            // The free ranges are exactly the maximal runs of free pages.
            let mut runs = Vec::new();
            let mut p = 0;
            while p < PAGES {
                if used[p] {
                    p += 1;
                    continue;
                }
                let s = p;
                while p < PAGES && !used[p] {
                    p += 1;
                }
                runs.push((BASE + s as u64 * P, BASE + p as u64 * P));
            }
            assert_eq!(ranges(&a), runs, "seed {seed}");
        }
        // Give everything back: one range again.
        for (p, n) in held {
            a.free(BASE + p as u64 * P, n as u64 * P).unwrap();
        }
        assert_eq!(ranges(&a), [(BASE, BASE + PAGES as u64 * P)]);
    }
}
