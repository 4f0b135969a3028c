//! In-kernel tests of frames, mappings, stacks and the heap.

use crate::*;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;
use ktest::kernel_test_alone;

/// A virtual range no other code uses, for mapping tests.
const TEST_VA: u64 = 0xffff_b000_0000_0000;

kernel_test_alone! {
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

kernel_test_alone! {
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

kernel_test_alone! {
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

kernel_test_alone! {
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

kernel_test_alone! {
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

kernel_test_alone! {
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

kernel_test_alone! {
    fn heap_grows_from_frames() {
        // A warm-up: the mapping registry's tree may keep a node a large block made it split.
        drop(alloc::vec![7u8; 8 << 20]);
        let before = heap_stats();
        let big = alloc::vec![7u8; 8 << 20];
        assert!(heap_stats().size >= before.size + (8 << 20) || before.size >= 8 << 20);
        assert!(big.iter().step_by(4096).all(|&b| b == 7));
        drop(big);
        assert_eq!(heap_stats().used, before.used);
    }
}

/// Free frames, for "memory comes back" checks.
fn free_frames() -> u64 {
    frame_stats().free
}

/// Frames the small heap may keep mapped after a free: the growing slot's slack (room for
/// one request just under [`HEAP_LARGE`]) and a few page tables.
const HEAP_SLOP: u64 = HEAP_LARGE as u64 / PAGE_SIZE + 64;

kernel_test_alone! {
    fn large_allocations_give_their_frames_back() {
        // Warm up (page tables of the blocks' region, registry nodes).
        drop(alloc::vec![1u8; 4 << 20]);
        let (frames, heap) = (free_frames(), heap_stats());
        let big = alloc::vec![3u8; 32 << 20];
        assert!(free_frames() + 8192 <= frames, "32 MiB took no frames");
        assert_eq!(heap_stats().large, heap.large + (32 << 20));
        assert!(big.iter().step_by(4096).all(|&b| b == 3));
        drop(big);
        // Frames come back at once (a few page tables may stay).
        assert!(free_frames() + 8 >= frames, "frames not returned: {} -> {}", frames, free_frames());
        assert_eq!(heap_stats(), heap);
    }
}

kernel_test_alone! {
    fn large_realloc_keeps_contents_and_frees_the_rest() {
        let frames = free_frames();
        let mut v: Vec<u32> = Vec::new();
        // Doubling growth: every step past HEAP_LARGE moves pages to a new block.
        for i in 0..(4u32 << 20) {
            v.push(i);
        }
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32), "contents lost");
        // Shrinking gives the tail's frames back.
        v.truncate(1 << 16);
        v.shrink_to_fit();
        assert!(free_frames() + HEAP_SLOP >= frames, "shrink kept frames: {} -> {}", frames, free_frames());
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
        drop(v);
        assert!(free_frames() + HEAP_SLOP >= frames, "frames not returned: {} -> {}", frames, free_frames());
    }
}

kernel_test_alone! {
    fn small_heap_unmaps_what_is_freed() {
        drop(alloc::vec![0u8; 16]);
        let (frames, heap) = (free_frames(), heap_stats());
        // 48 MiB of small blocks: the small heap opens a dozen slots.
        let boxes: Vec<Box<[u8; 4000]>> = (0..12_000).map(|_| Box::new([9u8; 4000])).collect();
        assert!(heap_stats().size >= heap.size + (40 << 20));
        assert!(boxes.iter().all(|b| b[3999] == 9));
        drop(boxes);
        let after = heap_stats();
        assert_eq!(after.used, heap.used);
        // What stays mapped is at most one slot's worth plus the slack of each live one.
        assert!(after.size <= heap.size + (4 << 20), "heap kept {} KiB mapped", (after.size - heap.size) >> 10);
        assert!(free_frames() + 1024 + HEAP_SLOP >= frames, "frames not returned: {} -> {}", frames, free_frames());
    }
}

/// Writes `value` to the first word of page `page` of `m`.
fn poke(m: &Mapping, page: u64, value: u64) {
    // SAFETY: the caller only names accessible, writable pages of the live mapping `m`.
    unsafe { ((m.start() + page * PAGE_SIZE) as *mut u64).write_volatile(value) }
}

/// Reads the first word of page `page` of `m`.
fn peek(m: &Mapping, page: u64) -> u64 {
    // SAFETY: the caller only names accessible pages of the live mapping `m`.
    unsafe { ((m.start() + page * PAGE_SIZE) as *const u64).read_volatile() }
}

fn writable(va: u64) -> bool {
    use x86_64::structures::paging::{PageTableFlags as F, mapper::TranslateResult};
    match paging::translate_full(va) {
        TranslateResult::Mapped { flags, .. } => flags.contains(F::WRITABLE),
        _ => panic!("{va:#x} not mapped"),
    }
}

/// One create / write / read back / drop round over a 16-page mapping.
fn mapping_round() -> u64 {
    let free_before = frame_stats().free;
    let m = Mapping::new(16 * PAGE_SIZE, Protection::RW, Commit::Now).unwrap();
    assert!(m.start() >= MAPPINGS_START && m.start() + m.len() <= MAPPINGS_START + MAPPINGS_SIZE);
    assert_eq!(m.start() % PAGE_SIZE, 0);
    assert_eq!(m.len(), 16 * PAGE_SIZE);
    assert!(
        frame_stats().free + 16 <= free_before,
        "Commit::Now backs every page"
    );
    for p in 0..16 {
        assert!(translate(m.start() + p * PAGE_SIZE).is_some());
        assert_eq!(peek(&m, p), 0, "committed pages are zeroed");
        poke(&m, p, 0x1000 + p);
    }
    for p in 0..16 {
        assert_eq!(peek(&m, p), 0x1000 + p);
    }
    let start = m.start();
    drop(m);
    for p in 0..16 {
        assert_eq!(translate(start + p * PAGE_SIZE), None);
    }
    start
}

kernel_test_alone! {
    fn mapping_lifecycle_returns_frames_heap_and_range() {
        let first = mapping_round(); // warm-up: page tables, allocator state
        let (frames, heap, space) = (frame_stats(), heap_stats().used, mapping_space_free());
        let second = mapping_round();
        assert_eq!(second, first, "first fit reuses the returned range");
        assert_eq!(frame_stats(), frames);
        assert_eq!(heap_stats().used, heap);
        assert_eq!(mapping_space_free(), space);
        assert_eq!(Mapping::new(0, Protection::RW, Commit::Now).unwrap_err(), MapError::Unaligned);
        assert_eq!(Mapping::new(100, Protection::RW, Commit::Now).unwrap_err(), MapError::Unaligned);
        assert_eq!(
            Mapping::new(MAPPINGS_SIZE + PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap_err(),
            MapError::OutOfAddressSpace
        );
        // Two live mappings never overlap.
        let a = Mapping::new(3 * PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        let b = Mapping::new(PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        assert!(a.start() + a.len() <= b.start() || b.start() + b.len() <= a.start());
        drop((a, b));
        assert_eq!(mapping_space_free(), space);
    }
}

kernel_test_alone! {
    fn mapping_protect_then_unmap_in_the_middle() {
        drop(Mapping::new(8 * PAGE_SIZE, Protection::RW, Commit::Now).unwrap()); // warm-up
        let (frames, heap) = (frame_stats(), heap_stats().used);
        let mut m = Mapping::new(8 * PAGE_SIZE, Protection::RW, Commit::Now).unwrap();
        let start = m.start();
        let va = move |p: u64| start + p * PAGE_SIZE;
        for p in 0..8 {
            poke(&m, p, 0xabc0 + p);
        }
        m.protect(2 * PAGE_SIZE, 4 * PAGE_SIZE, Protection::R).unwrap();
        for p in 0..8 {
            assert_eq!(writable(va(p)), !(2..6).contains(&p), "page {p}");
            assert_eq!(peek(&m, p), 0xabc0 + p, "protect keeps contents");
        }
        assert_eq!(m.protection(3 * PAGE_SIZE), Some(Protection::R));
        assert_eq!(m.protection(PAGE_SIZE), Some(Protection::RW));
        assert_eq!(page_fault_kind(va(3)), FaultKind::MappingPage(Protection::R));

        let free = frame_stats().free;
        m.unmap(3 * PAGE_SIZE, 2 * PAGE_SIZE).unwrap();
        assert_eq!(frame_stats().free, free + 2, "the hole's frames are freed");
        assert_eq!(translate(va(3)), None);
        assert_eq!(translate(va(4)), None);
        for p in [0, 1, 2, 5, 6, 7] {
            assert!(translate(va(p)).is_some(), "neighbour {p} still mapped");
            assert_eq!(peek(&m, p), 0xabc0 + p);
            assert_eq!(writable(va(p)), !(2..6).contains(&p), "page {p}");
        }
        assert_eq!(m.protection(3 * PAGE_SIZE), None);
        assert_eq!(page_fault_kind(va(4) + 8), FaultKind::MappingUnmapped);
        assert!(!handle_page_fault(va(3), false, false, false), "unmapped pages never come back");
        // The hole cannot be protected or committed; the rest of a request is left unchanged.
        assert_eq!(m.protect(2 * PAGE_SIZE, 2 * PAGE_SIZE, Protection::RW), Err(MapError::NotMapped));
        assert!(!writable(va(2)));
        assert_eq!(m.commit(4 * PAGE_SIZE, PAGE_SIZE), Err(MapError::NotMapped));
        assert_eq!(translate(va(4)), None);
        // Unmapping again (overlapping the hole) is fine and frees only what was mapped.
        let free = frame_stats().free;
        m.unmap(4 * PAGE_SIZE, 2 * PAGE_SIZE).unwrap();
        assert_eq!(frame_stats().free, free + 1);
        // Splitting the R run again and merging it back with its RW neighbours.
        m.protect(2 * PAGE_SIZE, PAGE_SIZE, Protection::RW).unwrap();
        assert!(writable(va(2)));
        poke(&m, 2, 7);
        assert_eq!(peek(&m, 2), 7);
        // Bad sub-ranges.
        assert_eq!(m.protect(1, PAGE_SIZE, Protection::R), Err(MapError::Unaligned));
        assert_eq!(m.protect(0, 0, Protection::R), Err(MapError::Unaligned));
        assert_eq!(m.protect(0, 9 * PAGE_SIZE, Protection::R), Err(MapError::OutOfRange));
        assert_eq!(m.unmap(8 * PAGE_SIZE, PAGE_SIZE), Err(MapError::OutOfRange));
        assert_eq!(m.commit(!(PAGE_SIZE - 1), PAGE_SIZE), Err(MapError::OutOfRange));
        drop(m);
        for p in 0..8 {
            assert_eq!(translate(start + p * PAGE_SIZE), None);
        }
        assert_eq!(frame_stats(), frames);
        assert_eq!(heap_stats().used, heap);
    }
}

kernel_test_alone! {
    fn mapping_protect_none_discards_pages_and_guards() {
        let mut m = Mapping::new(4 * PAGE_SIZE, Protection::RW, Commit::Now).unwrap();
        poke(&m, 1, 99);
        let free = frame_stats().free;
        m.protect(PAGE_SIZE, PAGE_SIZE, Protection::NONE).unwrap();
        assert_eq!(frame_stats().free, free + 1);
        assert_eq!(translate(m.start() + PAGE_SIZE), None);
        assert_eq!(page_fault_kind(m.start() + PAGE_SIZE), FaultKind::MappingGuard);
        m.commit(0, 4 * PAGE_SIZE).unwrap();
        assert_eq!(translate(m.start() + PAGE_SIZE), None, "commit skips NONE pages");
        // Accessible again: a Commit::Now mapping backs the page at once, with zeros.
        m.protect(PAGE_SIZE, PAGE_SIZE, Protection::RW).unwrap();
        assert!(translate(m.start() + PAGE_SIZE).is_some());
        assert_eq!(peek(&m, 1), 0);
    }
}

kernel_test_alone! {
    fn mapping_demand_commits_only_touched_pages() {
        const GIB: u64 = 1 << 30;
        let offsets = [0, GIB / 2 + 5 * PAGE_SIZE, GIB - PAGE_SIZE];
        let round = || {
            let m = Mapping::new(GIB, Protection::RW, Commit::OnDemand).unwrap();
            for (i, off) in offsets.iter().enumerate() {
                // SAFETY: an RW page of the live mapping; the first touch faults it in.
                unsafe { ((m.start() + off) as *mut u64).write_volatile(i as u64 + 1) };
            }
            m
        };
        drop(round()); // warm-up: the PDPT over the range stays
        let (frames, heap) = (frame_stats(), heap_stats().used);
        let m = Mapping::new(GIB, Protection::RW, Commit::OnDemand).unwrap();
        assert_eq!(frame_stats(), frames, "a reservation takes no frames, not even page tables");
        drop(m);
        let m = round();
        for (i, off) in offsets.iter().enumerate() {
            assert!(translate(m.start() + off).is_some());
            // SAFETY: committed RW page of the live mapping.
            assert_eq!(unsafe { ((m.start() + off) as *const u64).read_volatile() }, i as u64 + 1);
        }
        assert_eq!(translate(m.start() + PAGE_SIZE), None, "untouched pages stay uncommitted");
        // Touched pages plus one PT per 2 MiB and one PD per 1 GiB region touched.
        let regions = |shift: u32| {
            let mut r = offsets.map(|o| (m.start() + o) >> shift);
            r.sort_unstable();
            r.windows(2).filter(|w| w[0] != w[1]).count() + 1
        };
        let expected = (offsets.len() + regions(21) + regions(30)) as u64;
        assert_eq!(frames.free - frame_stats().free, expected);
        drop(m);
        assert_eq!(frame_stats(), frames, "data frames and emptied page tables are freed");
        assert_eq!(heap_stats().used, heap);
    }
}

kernel_test_alone! {
    fn mapping_commit_prefaults_a_range() {
        let mut m = Mapping::new(16 * PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        m.protect(5 * PAGE_SIZE, PAGE_SIZE, Protection::NONE).unwrap();
        m.commit(4 * PAGE_SIZE, 4 * PAGE_SIZE).unwrap();
        for p in 0..16 {
            let committed = translate(m.start() + p * PAGE_SIZE).is_some();
            assert_eq!(committed, [4, 6, 7].contains(&p), "page {p}");
        }
        m.commit(4 * PAGE_SIZE, 4 * PAGE_SIZE).unwrap(); // idempotent
        assert!(!handle_page_fault(m.start() + 4 * PAGE_SIZE, true, false, true), "already committed");
    }
}

kernel_test_alone! {
    fn ascending_first_touches_of_a_user_mapping_commit_pages_ahead() {
        let mut m = Mapping::new_user(64 * PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        m.protect(40 * PAGE_SIZE, PAGE_SIZE, Protection::R).unwrap();
        let start = m.start();
        let va = move |p: u64| start + p * PAGE_SIZE;
        let committed = || (0..64).filter(|&p| translate(va(p)).is_some()).collect::<Vec<u64>>();
        let free = frame_stats().free;
        // A first touch commits its page only; each touch right after the pages the last one
        // committed commits twice as many more: 1, 2, 4, 8, 16, 16, ...
        assert!(handle_page_fault(va(0), true, false, false));
        assert_eq!(committed(), [0]);
        assert!(handle_page_fault(va(1) + 8, true, false, false));
        assert_eq!(committed(), [0, 1, 2]);
        assert!(handle_page_fault(va(3), false, false, false));
        assert_eq!(committed(), (0..6).collect::<Vec<u64>>());
        assert!(handle_page_fault(va(6), true, false, false));
        assert_eq!(committed(), (0..11).collect::<Vec<u64>>());
        // The window ends at a committed page and at the run's end (page 40 is read-only).
        assert!(handle_page_fault(va(11), true, false, false));
        assert_eq!(committed(), (0..20).collect::<Vec<u64>>());
        m.commit(25 * PAGE_SIZE, PAGE_SIZE).unwrap();
        assert!(handle_page_fault(va(20), true, false, false));
        assert_eq!(committed(), (0..26).collect::<Vec<u64>>(), "stops at page 25");
        for p in [26, 27, 29, 32] {
            assert!(handle_page_fault(va(p), true, false, false));
        }
        assert_eq!(committed(), (0..37).collect::<Vec<u64>>());
        assert!(handle_page_fault(va(37), true, false, false));
        assert_eq!(committed(), (0..40).collect::<Vec<u64>>(), "stops at the read-only run");
        // Touches out of order commit one page each.
        assert!(handle_page_fault(va(50), true, false, false));
        assert!(handle_page_fault(va(45), true, false, false));
        assert!(handle_page_fault(va(60), true, false, false));
        let mut want: Vec<u64> = (0..40).collect();
        want.extend([45, 50, 60]);
        assert_eq!(committed(), want);
        assert_eq!(peek(&m, 29), 0, "pages committed ahead are zeroed");
        assert!(free - frame_stats().free >= 43);
        drop(m);
        // Kernel mappings never commit ahead.
        let k = Mapping::new(8 * PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        for p in 0..3 {
            assert!(handle_page_fault(k.start() + p * PAGE_SIZE, true, false, false));
        }
        assert_eq!(translate(k.start() + 3 * PAGE_SIZE), None);
    }
}

kernel_test_alone! {
    fn page_fault_handler_refuses_what_it_must() {
        let mut m = Mapping::new(4 * PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        m.protect(0, PAGE_SIZE, Protection::NONE).unwrap();
        m.protect(PAGE_SIZE, PAGE_SIZE, Protection::R).unwrap();
        let start = m.start();
        let va = move |p: u64| start + p * PAGE_SIZE;
        // A NONE page: no access of any kind.
        assert!(!handle_page_fault(va(0), false, false, false));
        assert!(!handle_page_fault(va(0) + 100, true, false, false));
        assert_eq!(translate(va(0)), None);
        assert_eq!(page_fault_kind(va(0)), FaultKind::MappingGuard);
        // A write to a read-only run, then a read, which commits the page read-only.
        assert!(!handle_page_fault(va(1), true, false, false));
        assert_eq!(translate(va(1)), None);
        assert!(handle_page_fault(va(1) + 8, false, false, false));
        assert!(!writable(va(1)));
        assert_eq!(peek(&m, 1), 0);
        assert!(!handle_page_fault(va(1), true, false, true), "a write to a committed RO page");
        // Execution from a non-executable run; a write commits the page.
        assert!(!handle_page_fault(va(2), false, true, false));
        assert!(handle_page_fault(va(2) + 4095, true, false, false));
        assert!(!handle_page_fault(va(2), true, false, true), "already committed");
        // A not-present fault on a page found committed: another CPU's fault on the same page
        // committed it meanwhile; the access is retried.
        assert!(handle_page_fault(va(2), true, false, false));
        poke(&m, 2, 5);
        // Outside any mapping.
        assert!(!handle_page_fault(m.start() + m.len(), false, false, false));
        assert!(!handle_page_fault(MAPPINGS_START - PAGE_SIZE, false, false, false));
        assert!(!handle_page_fault(0x1000, false, false, false));
        assert_eq!(page_fault_kind(0x1000), FaultKind::Other);
        // A Commit::Now mapping never commits on faults.
        let mut now = Mapping::new(2 * PAGE_SIZE, Protection::RW, Commit::Now).unwrap();
        now.protect(0, PAGE_SIZE, Protection::NONE).unwrap();
        assert!(!handle_page_fault(now.start(), false, false, false));
        // A dropped mapping's pages are gone for good.
        let last = va(3);
        drop(m);
        assert!(!handle_page_fault(last, false, false, false));
        assert_eq!(translate(last), None);
        // Kernel stack guard pages are named as such.
        let stack = allocate_stack(2).unwrap();
        assert_eq!(page_fault_kind(stack.guard_page()), FaultKind::StackGuard);
        assert_eq!(page_fault_kind(stack.bottom()), FaultKind::Other);
    }
}

kernel_test_alone! {
    fn resident_pages_and_protection_runs_of_a_mapping() {
        let mut m = Mapping::new(16 * PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        let (start, end) = (m.start(), m.start() + m.len());
        assert_eq!(resident_pages(start, end), 0, "nothing committed yet");
        for page in [0, 5, 9] {
            poke(&m, page, page + 1);
        }
        assert_eq!(resident_pages(start, end), 3);
        assert_eq!(resident_pages(start + 6 * PAGE_SIZE, end), 1, "a part of the range");
        m.protect(4 * PAGE_SIZE, 4 * PAGE_SIZE, Protection::R).unwrap();
        m.unmap(12 * PAGE_SIZE, 4 * PAGE_SIZE).unwrap();
        let runs = protections(start..end);
        let expect = [
            (start..start + 4 * PAGE_SIZE, Protection::RW),
            (start + 4 * PAGE_SIZE..start + 8 * PAGE_SIZE, Protection::R),
            (start + 8 * PAGE_SIZE..start + 12 * PAGE_SIZE, Protection::RW),
        ];
        assert_eq!(runs, expect, "runs by protection, the unmapped tail left out");
        let inner = protections(start + PAGE_SIZE..start + 5 * PAGE_SIZE);
        assert_eq!(inner[0], (start + PAGE_SIZE..start + 4 * PAGE_SIZE, Protection::RW));
        assert_eq!(inner[1].0.end, start + 5 * PAGE_SIZE, "clipped to the range asked");
        let other = Mapping::new(2 * PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        let both = protections(start.min(other.start())..end.max(other.start() + 2 * PAGE_SIZE));
        assert!(
            both.iter().any(|(r, _)| *r == (other.start()..other.start() + 2 * PAGE_SIZE)),
            "another mapping is a run of its own: {both:?}"
        );
        drop(m);
        assert_eq!(resident_pages(start, end), 0, "freed with the mapping");
    }
}

kernel_test_alone! {
    fn user_range_checks_follow_every_change() {
        let mut m = Mapping::new_user(8 * PAGE_SIZE, Protection::RW, Commit::OnDemand).unwrap();
        let start = m.start();
        let va = move |p: u64| start + p * PAGE_SIZE;
        // Asked twice: the second answer may come from the cache of accessible ranges.
        for _ in 0..2 {
            assert!(user_range_accessible(va(1) + 8, 100, true));
            assert!(user_range_accessible(va(0), 8 * PAGE_SIZE, false));
            assert!(!user_range_accessible(va(7), 2 * PAGE_SIZE, false), "past the end");
        }
        m.protect(PAGE_SIZE, PAGE_SIZE, Protection::R).unwrap();
        assert!(!user_range_accessible(va(1) + 8, 100, true), "read-only now");
        for _ in 0..2 {
            assert!(user_range_accessible(va(1) + 8, 100, false));
            assert!(user_range_accessible(va(2), 100, true));
        }
        assert!(!user_range_accessible(va(1) + 8, 100, true), "a read left it read-only");
        assert!(!user_range_accessible(va(0), 3 * PAGE_SIZE, true), "across the read-only run");
        m.protect(2 * PAGE_SIZE, PAGE_SIZE, Protection::NONE).unwrap();
        assert!(!user_range_accessible(va(2), 100, false), "no access now");
        m.unmap(3 * PAGE_SIZE, PAGE_SIZE).unwrap();
        assert!(!user_range_accessible(va(3) + 4000, 50, false), "unmapped");
        assert!(user_range_accessible(va(4), 100, true));
        drop(m);
        assert!(!user_range_accessible(va(4), 100, true), "the mapping is gone");
        assert!(!user_range_accessible(va(4), 100, false));
        // A kernel mapping is never a program's.
        let k = Mapping::new(PAGE_SIZE, Protection::RW, Commit::Now).unwrap();
        assert!(!user_range_accessible(k.start(), 8, false));
    }
}

/// Shared pages of three pages, the first two filled with their index + 1 (in every word of
/// their first 64 bytes), the third never committed.
fn shared_two_of_three() -> alloc::sync::Arc<SharedPages> {
    let mut pages = SharedPages::new(3 * PAGE_SIZE).unwrap();
    let bytes = pages.fill(0, 2 * PAGE_SIZE).unwrap();
    for (i, chunk) in bytes.chunks_mut(PAGE_SIZE as usize).enumerate() {
        for word in chunk[..64].chunks_mut(8) {
            word.copy_from_slice(&(i as u64 + 1).to_le_bytes());
        }
    }
    pages.finish().unwrap()
}

kernel_test_alone! {
    fn shared_pages_are_read_only_copied_on_write_protect_and_outlive_the_arc() {
        // A first round creates the page tables the user region keeps.
        let round = || {
            let pages = shared_two_of_three();
            let mut m = Mapping::new_user(4 * PAGE_SIZE, Protection::NONE, Commit::Now).unwrap();
            m.share(0, 2 * PAGE_SIZE, &pages, 0, Protection::RX).unwrap();
            drop(pages);
            assert_eq!(peek(&m, 1), 2, "the pages live while a mapping shares them");
        };
        round();
        let (frames, heap) = (frame_stats(), heap_stats().used);
        let pages = shared_two_of_three();
        let mut a = Mapping::new_user(4 * PAGE_SIZE, Protection::NONE, Commit::Now).unwrap();
        let mut b = Mapping::new_user(4 * PAGE_SIZE, Protection::NONE, Commit::Now).unwrap();
        // Refused: writable, over committed pages, from uncommitted pages, out of range.
        assert_eq!(
            a.share(0, PAGE_SIZE, &pages, 0, Protection::RW),
            Err(MapError::SharedWritable)
        );
        assert_eq!(
            a.share(0, PAGE_SIZE, &pages, 2 * PAGE_SIZE, Protection::R),
            Err(MapError::NotMapped)
        );
        assert_eq!(
            a.share(0, 2 * PAGE_SIZE, &pages, 2 * PAGE_SIZE, Protection::R),
            Err(MapError::OutOfRange)
        );
        a.protect(3 * PAGE_SIZE, PAGE_SIZE, Protection::RW).unwrap();
        assert_eq!(
            a.share(3 * PAGE_SIZE, PAGE_SIZE, &pages, 0, Protection::R),
            Err(MapError::AlreadyMapped)
        );
        a.share(0, 2 * PAGE_SIZE, &pages, 0, Protection::R).unwrap();
        b.share(PAGE_SIZE, PAGE_SIZE, &pages, PAGE_SIZE, Protection::RX).unwrap();
        // The same frames, read-only, in both.
        let frame = |va: u64| translate(va).unwrap();
        assert_eq!(frame(a.start() + PAGE_SIZE), frame(b.start() + PAGE_SIZE));
        assert_eq!((peek(&a, 0), peek(&a, 1), peek(&b, 1)), (1, 2, 2));
        assert!(!writable(a.start()) && !writable(b.start() + PAGE_SIZE));
        assert!(user_range_accessible(a.start(), 2 * PAGE_SIZE, false));
        assert!(!user_range_accessible(a.start(), 8, true));
        assert_eq!(protections(b.start()..b.start() + 2 * PAGE_SIZE)[0].1, Protection::NONE);
        // Made writable: a copy of its own, the others unchanged.
        b.protect(PAGE_SIZE, PAGE_SIZE, Protection::RW).unwrap();
        assert_ne!(frame(a.start() + PAGE_SIZE), frame(b.start() + PAGE_SIZE));
        assert_eq!(peek(&b, 1), 2, "the copy has the contents");
        poke(&b, 1, 99);
        assert_eq!((peek(&a, 1), peek(&b, 1)), (2, 99));
        // Protected again (still shared pages stay so), unmapped: the frames stay the owner's.
        a.protect(0, 2 * PAGE_SIZE, Protection::RX).unwrap();
        assert_eq!(peek(&a, 0), 1);
        a.unmap(0, PAGE_SIZE).unwrap();
        drop(pages);
        assert_eq!(peek(&a, 1), 2, "alive while a shares it");
        drop(a);
        drop(b);
        assert_eq!(frame_stats(), frames, "every frame back, none freed twice");
        assert_eq!(heap_stats().used, heap);
    }
}
