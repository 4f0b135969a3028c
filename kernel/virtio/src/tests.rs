//! In-kernel tests of the virtio `Hal`.

use crate::*;
use core::ptr::NonNull;
use ktest::kernel_test;

kernel_test! {
    fn dma_memory_is_contiguous_zeroed_and_returned() {
        let before = memory::frame_stats().free;
        let (phys, virt) = KernelHal::dma_alloc(3, BufferDirection::Both);
        assert_ne!(phys, 0);
        assert_eq!(phys % PAGE, 0);
        // SAFETY: three pages just allocated for us.
        let bytes = unsafe { core::slice::from_raw_parts_mut(virt.as_ptr(), 3 * 4096) };
        assert!(bytes.iter().all(|&b| b == 0));
        bytes.fill(0xa5);
        for page in 0..3u64 {
            assert_eq!(memory::translate(virt.as_ptr() as u64 + page * PAGE), Some(phys + page * PAGE));
        }
        assert_eq!(memory::frame_stats().free, before - 3);
        // SAFETY: returned exactly as allocated.
        assert_eq!(unsafe { KernelHal::dma_dealloc(phys, virt, 3) }, 0);
        assert_eq!(memory::frame_stats().free, before);
    }
}

kernel_test! {
    fn shared_buffers_round_trip() {
        // A buffer spanning pages goes through a bounce buffer: what the "device" writes at
        // the physical address comes back into the buffer on unshare.
        let mut buf = alloc::vec![7u8; 9000];
        let ptr = NonNull::from(buf.as_mut_slice());
        let before = memory::frame_stats().free;
        // SAFETY: `buf` is not touched while shared.
        let phys = unsafe { KernelHal::share(ptr, BufferDirection::Both) };
        // SAFETY: the bounce buffer holds 9000 bytes at `phys`.
        let dev = unsafe { core::slice::from_raw_parts_mut(memory::phys_to_virt(phys) as *mut u8, 9000) };
        assert!(dev.iter().all(|&b| b == 7), "driver-to-device copy");
        dev[8999] = 42;
        // SAFETY: as shared above.
        unsafe { KernelHal::unshare(phys, ptr, BufferDirection::Both) };
        assert_eq!(buf[8999], 42);
        assert_eq!(memory::frame_stats().free, before, "bounce frames returned");
        // A small buffer in one page is shared in place.
        #[repr(C, align(16))]
        struct Small([u8; 16]);
        let mut small = Small([0; 16]);
        let sp = NonNull::from(&mut small.0[..]);
        // SAFETY: `small` is not touched while shared.
        let phys = unsafe { KernelHal::share(sp, BufferDirection::DeviceToDriver) };
        assert_eq!(Some(phys), memory::translate(small.0.as_ptr() as u64));
    }
}
