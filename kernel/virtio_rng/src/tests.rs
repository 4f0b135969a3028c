//! In-kernel tests of the virtio entropy device (`cargo xtask` starts QEMU with
//! `-device virtio-rng-pci`, so the device must be there).

use crate::*;
use ktest::kernel_test;

kernel_test! {
    fn device_is_found_and_gives_varied_bytes() {
        pci::init();
        assert!(init(), "no virtio-rng device (QEMU runs with -device virtio-rng-pci)");
        let (req0, bytes0) = stats();
        let mut a = [0u8; 4096];
        let mut b = [0u8; 4096];
        fill(&mut a).unwrap();
        fill(&mut b).unwrap();
        assert_ne!(a, b);
        let (req1, bytes1) = stats();
        assert!(req1 > req0);
        assert!(bytes1 - bytes0 >= 8192);
        // Crude quality check: every byte value appears in 8 KiB (expected ~32 each; a
        // constant or low-entropy source fails this) and about half the bits are set.
        let mut counts = [0u32; 256];
        for &x in a.iter().chain(b.iter()) {
            counts[usize::from(x)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 0 && c < 100), "byte histogram {counts:?}");
        let ones: u32 = a.iter().chain(b.iter()).map(|x| x.count_ones()).sum();
        assert!((31_000..34_500).contains(&ones), "{ones} of 65536 bits set");
    }
}

kernel_test! {
    fn odd_sizes_and_unaligned_buffers_fill_completely() {
        pci::init();
        assert!(init());
        // Lengths around the chunk size and a page, at odd offsets: every byte gets written
        // (a region left zero in both of two fills would show a short fill).
        let mut big = alloc::vec![0u8; 3 * 4096 + 7];
        for len in [1usize, 7, 255, 256, 257, 4095, 4097, 3 * 4096] {
            for off in [0usize, 1, 5] {
                let mut seen = alloc::vec![0u8; len];
                for _ in 0..4 {
                    big.fill(0);
                    fill(&mut big[off..off + len]).unwrap();
                    for (s, b) in seen.iter_mut().zip(&big[off..off + len]) {
                        *s |= *b;
                    }
                    assert!(big[..off].iter().all(|&x| x == 0), "wrote before the buffer");
                    assert!(big[off + len..].iter().all(|&x| x == 0), "wrote past the buffer");
                }
                assert!(seen.iter().all(|&x| x != 0), "{len} bytes at {off}: a byte stayed 0");
            }
        }
        // Timing: a 32-byte request, as getrandom's typical caller makes.
        let t0 = time::monotonic_ns();
        let mut k = [0u8; 32];
        for _ in 0..100 {
            fill(&mut k).unwrap();
        }
        log::warn!("virtio-rng: 32-byte request {} us", (time::monotonic_ns() - t0) / 100_000);
    }
}
