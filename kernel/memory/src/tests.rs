//! In-kernel tests of frames, mappings, stacks and the heap.

use crate::*;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;
use ktest::kernel_test;

/// A virtual range no other code uses, for mapping tests.
const TEST_VA: u64 = 0xffff_b000_0000_0000;

kernel_test! {
    fn frames_allocate_distinct_and_free() {
        let before = frame_stats();
        let mut frames: Vec<u64> = (0..200).map(|_| allocate_frame().unwrap()).collect();
        assert_eq!(frame_stats().free, before.free - 200);
        for &f in &frames {
            assert_eq!(f % PAGE_SIZE, 0);
            // Allocated frames come zeroed.
            let v = phys_to_virt(f) as *const u64;
            // SAFETY: the frame is ours and mapped through the direct map.
            assert_eq!(unsafe { v.read() }, 0);
        }
        frames.sort_unstable();
        frames.dedup();
        assert_eq!(frames.len(), 200);
        for f in frames {
            free_frame(f).unwrap();
        }
        assert_eq!(frame_stats(), before);
        let f = allocate_frame().unwrap();
        free_frame(f).unwrap();
        assert!(free_frame(f).is_err(), "double free is detected");
    }
}

kernel_test! {
    fn map_write_protect_unmap() {
        let before = frame_stats();
        assert_eq!(translate(TEST_VA), None);
        map_page(TEST_VA, PageFlags::RW).unwrap();
        assert_eq!(map_page(TEST_VA, PageFlags::RW), Err(MapError::AlreadyMapped));
        let phys = translate(TEST_VA).unwrap();
        let p = TEST_VA as *mut u64;
        // SAFETY: TEST_VA was just mapped writable and nothing else uses it.
        unsafe { p.write_volatile(0xdead_beef) };
        // The same frame is visible through the direct map.
        // SAFETY: direct-map view of the frame just written.
        assert_eq!(unsafe { (phys_to_virt(phys) as *const u64).read_volatile() }, 0xdead_beef);
        protect_page(TEST_VA, PageFlags::RO).unwrap();
        // SAFETY: still mapped, readable.
        assert_eq!(unsafe { p.read_volatile() }, 0xdead_beef);
        unmap_page(TEST_VA).unwrap();
        assert_eq!(translate(TEST_VA), None);
        assert_eq!(unmap_page(TEST_VA), Err(MapError::NotMapped));
        assert_eq!(protect_page(TEST_VA, PageFlags::RW), Err(MapError::NotMapped));
        assert_eq!(map_page(TEST_VA + 1, PageFlags::RW), Err(MapError::Unaligned));
        // Page-table frames created for the mapping stay; the data frame came back.
        assert!(frame_stats().free + 3 >= before.free);
        map_page(TEST_VA, PageFlags::RW).unwrap();
        let after_remap = frame_stats().free;
        unmap_page(TEST_VA).unwrap();
        assert_eq!(frame_stats().free, after_remap + 1);
    }
}

kernel_test! {
    fn kernel_sections_have_their_permissions() {
        use x86_64::structures::paging::{mapper::TranslateResult, PageTableFlags as F};
        let text = kernel_sections_have_their_permissions as *const () as u64;
        static RO: u64 = 5;
        static mut RW: u64 = 5;
        let ro = &raw const RO as u64;
        let rw = &raw mut RW as u64;
        let flags = |va: u64| match paging::translate_full(va) {
            TranslateResult::Mapped { flags, .. } => flags,
            _ => panic!("{va:#x} not mapped"),
        };
        assert!(!flags(text).contains(F::WRITABLE) && !flags(text).contains(F::NO_EXECUTE));
        assert!(!flags(ro).contains(F::WRITABLE) && flags(ro).contains(F::NO_EXECUTE));
        assert!(flags(rw).contains(F::WRITABLE) && flags(rw).contains(F::NO_EXECUTE));
        assert_eq!(translate(0), None, "the null page is unmapped");
    }
}

kernel_test! {
    fn stack_has_guard_page_and_is_freed() {
        let before = frame_stats();
        let stack = allocate_stack(4).unwrap();
        assert_eq!(stack.top() - stack.bottom(), 4 * PAGE_SIZE);
        assert_eq!(translate(stack.guard_page()), None);
        assert!(translate(stack.bottom()).is_some());
        assert!(translate(stack.top() - 8).is_some());
        let (b, t) = (stack.bottom(), stack.top());
        drop(stack);
        assert_eq!(translate(b), None);
        assert_eq!(translate(t - 8), None);
        assert!(frame_stats().free + 3 >= before.free, "stack frames returned");
    }
}

kernel_test! {
    fn heap_many_sizes_and_contents() {
        let before = heap_stats().used;
        let mut boxes: Vec<Box<[u8]>> = Vec::new();
        let mut seed = 12345u32;
        for i in 0..2000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let size = 1 + (seed >> 16) as usize % 3000;
            boxes.push(alloc::vec![(i % 251) as u8; size].into_boxed_slice());
        }
        // Free every other one (fragmentation), then allocate into the holes.
        let mut kept = Vec::new();
        for (i, b) in boxes.into_iter().enumerate() {
            if i % 2 == 0 {
                kept.push((i, b));
            }
        }
        let refill: Vec<Box<[u8]>> = (0..1000).map(|i| alloc::vec![0xa5u8; 1 + i % 700].into_boxed_slice()).collect();
        for (i, b) in &kept {
            assert!(b.iter().all(|&x| x == (i % 251) as u8), "heap block {i} corrupted");
        }
        assert!(refill.iter().all(|b| b.iter().all(|&x| x == 0xa5)));
        drop(kept);
        drop(refill);
        assert_eq!(heap_stats().used, before);
    }
}

kernel_test! {
    fn heap_alignment() {
        for shift in 0..13 {
            let align = 1usize << shift;
            let layout = Layout::from_size_align(24, align).unwrap();
            // SAFETY: non-zero size layout; freed below with the same layout.
            let p = unsafe { alloc::alloc::alloc(layout) };
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0, "alignment {align}");
            // SAFETY: allocated above with this layout.
            unsafe { alloc::alloc::dealloc(p, layout) };
        }
    }
}

kernel_test! {
    fn heap_grows_from_frames() {
        let before = heap_stats();
        let big = alloc::vec![7u8; 8 << 20];
        assert!(heap_stats().size >= before.size + (8 << 20) || before.size >= 8 << 20);
        assert!(big.iter().step_by(4096).all(|&b| b == 7));
        drop(big);
        assert_eq!(heap_stats().used, before.used);
    }
}
