//! What every virtio driver needs from this kernel: the virtio-drivers `Hal` (DMA memory from
//! the frame allocator, device memory through the uncached direct map, buffers shared with
//! the device by physical address) and the virtio 1.0 PCI transport of a device found by
//! `pci`. The drivers themselves (`virtio_rng`, later `virtio_net`) are crates of their own
//! on top of virtio-drivers' device types.
//!
//! Also a transport adapter that keeps virtio-drivers away from event indices
//! ([`NoEventIndex`]).
//!
//! Depends on `virtio-drivers`, `zerocopy` (the transport trait's bounds), `memory` (frames,
//! translation, the MMIO window), `pci`.

#![no_std]

extern crate alloc;

mod no_event_index;
mod tests;

use core::ptr::NonNull;
pub use no_event_index::NoEventIndex;
pub use virtio_drivers::transport::DeviceType;
pub use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::Command;
use virtio_drivers::transport::pci::virtio_device_type;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

const PAGE: u64 = 4096;

/// The kernel's `Hal` for virtio-drivers.
pub struct KernelHal;

fn pages_for(len: usize) -> u64 {
    (len as u64).div_ceil(PAGE).max(1)
}

// SAFETY: DMA memory comes zeroed from the frame allocator, page-aligned, owned by the caller
// until `dma_dealloc` and reachable through the direct map; `mmio_phys_to_virt` only returns
// direct-map addresses of the uncached MMIO window; `share` returns the physical address of
// memory holding the buffer's bytes for the whole time it is shared.
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        match memory::allocate_contiguous_frames(pages as u64) {
            Some(phys) => {
                let virt = memory::phys_to_virt(phys) as *mut u8;
                (
                    phys,
                    NonNull::new(virt).expect("direct map address is not null"),
                )
            }
            None => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        match memory::free_contiguous_frames(paddr, pages as u64) {
            Ok(()) => 0,
            Err(_) => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        // `transport` checked every memory BAR against the window before building the
        // transport, so this cannot fail for a device it accepted.
        let virt = memory::mmio_to_virt(paddr, size as u64)
            .unwrap_or_else(|| panic!("virtio: MMIO {paddr:#x}+{size:#x} outside the window"));
        NonNull::new(virt as *mut u8).expect("direct map address is not null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let start = buffer.as_ptr() as *mut u8 as u64;
        let len = buffer.len();
        // A buffer within one page is contiguous in physical memory: the device uses it in
        // place. Others are copied to (and back from) contiguous frames.
        if start / PAGE == (start + len as u64 - 1) / PAGE
            && let Some(phys) = memory::translate(start)
        {
            return phys;
        }
        let Some(phys) = memory::allocate_contiguous_frames(pages_for(len)) else {
            panic!("virtio: no frames for a {len}-byte bounce buffer");
        };
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the caller guarantees `buffer` is valid and unused meanwhile; the bounce
            // frames are ours and at least `len` bytes long.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    start as *const u8,
                    memory::phys_to_virt(phys) as *mut u8,
                    len,
                )
            };
        }
        phys
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let start = buffer.as_ptr() as *mut u8 as u64;
        let len = buffer.len();
        if start / PAGE == (start + len as u64 - 1) / PAGE
            && memory::translate(start) == Some(paddr)
        {
            return; // shared in place
        }
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: `paddr` is the bounce buffer `share` filled for this same buffer.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    memory::phys_to_virt(paddr) as *const u8,
                    start as *mut u8,
                    len,
                )
            };
        }
        let _ = memory::free_contiguous_frames(paddr, pages_for(len));
    }
}

/// Why a virtio device could not be used.
#[derive(Debug)]
pub enum Error {
    /// A memory BAR lies outside the uncached MMIO window (`memory::MMIO_WINDOW`).
    BarOutsideWindow(u64, u64),
    /// The PCI root is not set up (`pci::init` has not run) or a BAR could not be read.
    Pci,
    /// The virtio transport rejected the device.
    Transport(virtio_drivers::transport::pci::VirtioPciError),
}

/// Every PCI function that is a virtio device of type `kind`.
pub fn find(kind: DeviceType) -> impl Iterator<Item = &'static pci::Device> {
    pci::devices()
        .iter()
        .filter(move |d| virtio_device_type(&d.info) == Some(kind))
}

/// Enables memory decoding and bus mastering (DMA) for `device` and builds its virtio 1.0
/// PCI transport, after checking that its memory BARs are reachable.
pub fn transport(device: &pci::Device) -> Result<PciTransport, Error> {
    pci::with_root(|root| {
        let df = device.function;
        let bars = root.bars(df).map_err(|_| Error::Pci)?;
        for bar in bars.iter().flatten() {
            if let Some((addr, size)) = bar.memory_address_size()
                && addr != 0
                && memory::mmio_to_virt(addr, size).is_none()
            {
                return Err(Error::BarOutsideWindow(addr, size));
            }
        }
        let (_, command) = root.get_status_command(df);
        root.set_command(df, command | Command::MEMORY_SPACE | Command::BUS_MASTER);
        PciTransport::new::<KernelHal, _>(root, df).map_err(Error::Transport)
    })
    .ok_or(Error::Pci)?
}
