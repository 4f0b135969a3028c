//! The virtio entropy device (QEMU `-device virtio-rng-pci`): random bytes from the host,
//! which QEMU takes from the host kernel's random source (`getrandom`, i.e. what
//! `/dev/urandom` gives). The first such device found on PCI is used; requests are polled
//! (no interrupt), one at a time.
//!
//! Depends on `virtio-drivers` (the device's queue protocol, `VirtIORng`), `virtio` (the
//! `Hal` and the PCI transport), `pci`, `spin`, `x86_64`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod tests;

use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use virtio::{DeviceType, KernelHal, PciTransport};
use virtio_drivers::device::rng::VirtIORng;
use x86_64::instructions::interrupts::without_interrupts;

type Rng = VirtIORng<KernelHal, PciTransport>;

static DEVICE: Mutex<Option<Rng>> = Mutex::new(None);
static BYTES: AtomicU64 = AtomicU64::new(0);
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Largest request handed to the device at once (the lock is held, with interrupts off, for
/// one request).
const CHUNK: usize = 256;

/// Why no bytes came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// No virtio entropy device was found (or [`init`] has not run).
    NoDevice,
    /// The device failed a request or kept returning nothing.
    Device,
}

/// Looks for an entropy device on PCI (after `pci::init`) and sets it up. Returns whether
/// one is in use; a device that fails to start is logged and skipped.
pub fn init() -> bool {
    if is_present() {
        return true;
    }
    for device in virtio::find(DeviceType::EntropySource) {
        let rng = virtio::transport(device)
            .map_err(|e| log::warn!("virtio-rng at {}: {e:?}", device.function))
            .and_then(|t| {
                Rng::new(t).map_err(|e| log::warn!("virtio-rng at {}: {e:?}", device.function))
            });
        if let Ok(rng) = rng {
            log::info!("virtio-rng at {}", device.function);
            without_interrupts(|| *DEVICE.lock() = Some(rng));
            return true;
        }
    }
    false
}

/// Reads (and so clears) the device's interrupt status. Requests are polled, but the device
/// still interrupts (with `RING_EVENT_IDX` it ignores the no-interrupt flag); a driver whose
/// device shares the line calls this from its handler, or the level stays asserted.
pub fn acknowledge_interrupt() {
    if let Some(rng) = DEVICE.lock().as_mut() {
        rng.ack_interrupt();
    }
}

/// Whether a device is in use.
pub fn is_present() -> bool {
    without_interrupts(|| DEVICE.lock().is_some())
}

/// Fills `buf` with bytes from the device.
pub fn fill(buf: &mut [u8]) -> Result<(), Error> {
    for chunk in buf.chunks_mut(CHUNK) {
        let mut done = 0;
        let mut empty = 0;
        while done < chunk.len() {
            let n = without_interrupts(|| {
                let mut guard = DEVICE.lock();
                let rng = guard.as_mut().ok_or(Error::NoDevice)?;
                rng.request_entropy(&mut chunk[done..])
                    .map_err(|_| Error::Device)
            })?;
            REQUESTS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(n as u64, Ordering::Relaxed);
            done += n.min(chunk.len() - done);
            if n == 0 {
                empty += 1;
                if empty > 100 {
                    return Err(Error::Device);
                }
            }
        }
    }
    Ok(())
}

/// Requests made and bytes received so far.
pub fn stats() -> (u64, u64) {
    (
        REQUESTS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    )
}
