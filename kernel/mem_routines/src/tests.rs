//! The routines against byte-by-byte references, under their test names.

extern crate std;

use core::cmp::Ordering;
use std::vec::Vec;

unsafe extern "C" {
    fn mem_routines_memset(dest: *mut u8, c: i32, n: usize) -> *mut u8;
    fn mem_routines_memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn mem_routines_memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn mem_routines_memcmp(a: *const u8, b: *const u8, n: usize) -> i32;
}

/// A buffer with a recognizable pattern (no two neighbouring bytes equal).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

const MAX: usize = 300;
const PAD: usize = 16;

#[test]
fn memset_fills_exactly_the_range() {
    for align in 0..8 {
        for len in 0..MAX {
            let mut buf = pattern(MAX + 2 * PAD, 1);
            let mut want = buf.clone();
            want[PAD + align..PAD + align + len].fill(0xa5);
            // SAFETY: the range lies inside `buf`.
            let ret = unsafe { mem_routines_memset(buf.as_mut_ptr().add(PAD + align), 0x1a5, len) };
            assert_eq!(
                ret,
                buf[PAD + align..].as_mut_ptr(),
                "len {len} align {align}"
            );
            assert_eq!(buf, want, "len {len} align {align}");
        }
    }
}

#[test]
fn memcpy_copies_exactly_the_range() {
    for src_align in 0..8 {
        for dst_align in 0..8 {
            for len in 0..MAX {
                let src = pattern(MAX + 2 * PAD, 3);
                let mut dst = pattern(MAX + 2 * PAD, 100);
                let mut want = dst.clone();
                want[PAD + dst_align..PAD + dst_align + len]
                    .copy_from_slice(&src[PAD + src_align..PAD + src_align + len]);
                // SAFETY: both ranges lie inside their buffers, which do not overlap.
                let ret = unsafe {
                    mem_routines_memcpy(
                        dst.as_mut_ptr().add(PAD + dst_align),
                        src.as_ptr().add(PAD + src_align),
                        len,
                    )
                };
                assert_eq!(ret, dst[PAD + dst_align..].as_mut_ptr());
                assert_eq!(dst, want, "len {len} src {src_align} dst {dst_align}");
            }
        }
    }
}

#[test]
fn memmove_handles_overlap_both_ways() {
    for from in 0..80 {
        for to in 0..80 {
            // Every length through two 32-byte blocks and the 8-byte steps (the pieces
            // under 8 bytes and the last eight stored over the tail), then two long ones.
            for len in (0..=72).chain([100, 200]) {
                let mut buf = pattern(MAX + 2 * PAD, 9);
                let mut want = buf.clone();
                want.copy_within(from..from + len, to);
                let base = buf.as_mut_ptr();
                // SAFETY: both ranges lie inside `buf` (80 + 200 < its length).
                let ret = unsafe { mem_routines_memmove(base.add(to), base.add(from), len) };
                assert_eq!(ret, base.wrapping_add(to));
                assert_eq!(buf, want, "len {len} from {from} to {to}");
            }
        }
    }
}

/// `memcmp` of the two ranges, as a sign.
fn compare(a: &[u8], b: &[u8]) -> core::cmp::Ordering {
    assert_eq!(a.len(), b.len());
    // SAFETY: both ranges lie inside their slices.
    let r = unsafe { mem_routines_memcmp(a.as_ptr(), b.as_ptr(), a.len()) };
    r.cmp(&0)
}

#[test]
fn memcmp_orders_by_the_first_differing_byte() {
    for a_align in 0..8 {
        for b_align in [0, 3, 5] {
            for len in 0..MAX {
                let a_buf = pattern(MAX + 2 * PAD, 11);
                let mut b_buf = pattern(MAX + 2 * PAD, 200);
                b_buf[PAD + b_align..PAD + b_align + len]
                    .copy_from_slice(&a_buf[PAD + a_align..PAD + a_align + len]);
                let a = &a_buf[PAD + a_align..PAD + a_align + len];
                assert_eq!(compare(a, &b_buf[PAD + b_align..][..len]), Ordering::Equal);
                // A difference at each position, both ways; bytes after it differ the other
                // way, so only the first difference may decide.
                for at in 0..len {
                    for (here, after) in [(1u8, 0xffu8), (0xff, 1)] {
                        let mut b = b_buf.clone();
                        let b = &mut b[PAD + b_align..PAD + b_align + len];
                        b[at] = a[at].wrapping_add(here);
                        for byte in &mut b[at + 1..] {
                            *byte = byte.wrapping_add(after);
                        }
                        assert_eq!(compare(a, b), a.cmp(b), "len {len} at {at} a {a_align}");
                    }
                }
            }
        }
    }
}
