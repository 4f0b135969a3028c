//! In-kernel tests: real call chains symbolized with the kernel's own table (loaded at boot
//! from `/boot/kernel.elf`), and the frame walker's stop conditions on made-up chains.

use crate::*;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::hint::black_box;
use ktest::kernel_test;

#[inline(never)]
fn level_one() -> Vec<u64> {
    // black_box after the call keeps it from becoming a tail call (which drops the frame).
    black_box(level_two())
}

#[inline(never)]
fn level_two() -> Vec<u64> {
    black_box(level_three())
}

#[inline(never)]
fn level_three() -> Vec<u64> {
    black_box(capture())
}

/// Names of the functions holding each return address.
fn names(frames: &[u64]) -> Vec<String> {
    frames
        .iter()
        .map(|&a| symbolize(a - 1).map_or("<unknown>".into(), |(name, _)| name.to_string()))
        .collect()
}

kernel_test! {
    fn symbols_loaded_at_boot() {
        let table = symbols().expect("kernel_main loads /boot/kernel.elf before the tests");
        assert!(table.len() > 50, "{} functions", table.len());
        let (name, offset) = symbolize(symbolize as fn(u64) -> _ as usize as u64).unwrap();
        assert_eq!((name.to_string().as_str(), offset), ("backtrace::symbolize", 0));
    }
}

kernel_test! {
    fn captures_nested_calls_in_order() {
        let frames = level_one();
        assert!(frames.len() >= 4, "{frames:x?}");
        let names = names(&frames);
        let at = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| {
            panic!("{n} not in {names:?}")
        });
        let three = at("backtrace::tests::level_three");
        let (two, one) = (at("backtrace::tests::level_two"), at("backtrace::tests::level_one"));
        // The innermost frame is the caller of `capture`.
        assert_eq!((three, two, one), (0, 1, 2), "{names:?}");
        assert_eq!(names[3], "backtrace::tests::captures_nested_calls_in_order");
        // Return addresses lie after a call instruction: never at offset 0.
        for &addr in &frames[..4] {
            assert!(symbolize(addr - 1).is_some_and(|(_, off)| off + 1 >= 2));
        }
    }
}

kernel_test! {
    fn capture_into_matches_capture_bounds() {
        let mut small = [0u64; 2];
        assert_eq!(capture_into(&mut small), 2);
        assert_eq!(
            names(&small)[0],
            "backtrace::tests::capture_into_matches_capture_bounds"
        );
        assert_eq!(capture_into(&mut []), 0);
        let mut big = [0u64; MAX_FRAMES + 10];
        let n = capture_into(&mut big);
        assert!((1..=MAX_FRAMES).contains(&n));
    }
}

kernel_test! {
    fn formats_symbolized_lines() {
        let frames = level_one();
        let mut text = String::new();
        write_backtrace(&frames[..3], &mut text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let (name, offset) = symbolize(frames[0] - 1).unwrap();
        assert_eq!(
            lines[0],
            alloc::format!("  0: {:#018x} {name}+{:#x}", frames[0], offset + 1)
        );
        assert!(lines[1].starts_with("  1: 0x") && lines[1].contains(" backtrace::tests::level_two+0x"));

        text.clear();
        write_backtrace(&[0x10, 0], &mut text).unwrap();
        assert_eq!(
            text,
            "  0: 0x0000000000000010 <unknown>\n  1: 0x0000000000000000 <unknown>\n"
        );
    }
}

kernel_test! {
    fn fault_context_first_frame_is_exact() {
        let rip = level_two as fn() -> Vec<u64> as usize as u64;
        let rbp: u64;
        // SAFETY: reads a register.
        unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp) };
        let frames = capture_from(rbp, rip);
        assert_eq!(frames[0], rip);
        assert!(frames.len() >= 2);
        let mut text = String::new();
        write_fault_backtrace(&frames[..2], &mut text).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(first, alloc::format!("  0: {rip:#018x} backtrace::tests::level_two+0x0"));
        // The same address read as a return address belongs to whatever precedes it.
        text.clear();
        write_backtrace(&frames[..1], &mut text).unwrap();
        assert!(!text.contains("level_two+0x0"), "{text}");
    }
}

kernel_test! {
    fn walker_stops_at_bad_frame_pointers() {
        for rbp in [
            0,                          // null
            0x1234_5671,                // unaligned
            0x0000_5000_0000_0000,      // canonical, unmapped
            0x8000_0000_0000_0000,      // non-canonical
            0xffff_ffff_ffff_fff8,      // would wrap
        ] {
            assert_eq!(capture_from(rbp, 0xabc), [0xabc], "rbp {rbp:#x}");
        }
        assert!(!is_mapped(0));
        assert!(!is_mapped(0x8000_0000_0000_0000));
        let local = 5u64;
        assert!(is_mapped(&raw const local as u64));
        let heap = alloc::boxed::Box::new(5u64);
        assert!(is_mapped(&raw const *heap as u64));
    }
}

kernel_test! {
    fn walker_follows_made_up_chain() {
        // Three records at increasing addresses, the last pointing back down (stop after it).
        let mut chain = [0u64; 8];
        let base = chain.as_ptr() as u64;
        chain[0] = base + 16;
        chain[1] = 0x1111;
        chain[2] = base + 32;
        chain[3] = 0x2222;
        chain[4] = base; // not above: stop
        chain[5] = 0x3333;
        black_box(&mut chain);
        assert_eq!(capture_from(base, 1), [1, 0x1111, 0x2222, 0x3333]);

        // A zero return address ends the chain without being recorded.
        let mut chain = [0u64; 4];
        let base = chain.as_ptr() as u64;
        chain[0] = base + 16;
        chain[1] = 0x1111;
        chain[2] = base + 24;
        chain[3] = 0;
        black_box(&mut chain);
        assert_eq!(capture_from(base, 1), [1, 0x1111]);

        // A chain that keeps going up is cut at MAX_FRAMES.
        let mut long = alloc::vec![0u64; 2 * (MAX_FRAMES + 8)];
        let base = long.as_ptr() as u64;
        for i in 0..MAX_FRAMES + 8 {
            long[2 * i] = base + 16 * (i as u64 + 1);
            long[2 * i + 1] = 0x1000 + i as u64;
        }
        black_box(&mut long);
        let frames = capture_from(base, 1);
        assert_eq!(frames.len(), MAX_FRAMES);
        assert_eq!(frames[1], 0x1000);
    }
}
