//! The routines against byte-by-byte references, under their test names.

extern crate std;

use std::vec::Vec;

unsafe extern "C" {
    fn mem_routines_memset(dest: *mut u8, c: i32, n: usize) -> *mut u8;
    fn mem_routines_memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn mem_routines_memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
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
            for len in [0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 200] {
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
