//! The virtio network device (QEMU `-device virtio-net-pci`): Ethernet frames in and out,
//! interrupt-driven. The first such device found on PCI is used.
//!
//! Owns the device and its buffers: [`QUEUE`] receive buffers, always posted to the device
//! (a received frame is copied out and its buffer posted again at once), and [`QUEUE`]
//! transmit buffers. A frame is sent by copying it into a free transmit buffer and posting
//! it, without waiting for the device: buffers the device finished with are taken back
//! before the next frame goes out, and [`can_send`] is false while all are in flight (the
//! device's interrupt for finished frames then wakes the stack). The device is notified only
//! when it asks to be (event indices are hidden from virtio-drivers, see
//! `virtio::NoEventIndex`), so a burst of frames costs one notification, not one per frame.
//! The device's interrupt (its legacy INTx line, which firmware routed to an 8259 IRQ) is
//! acknowledged here and then reported to the hook the network stack installs
//! ([`set_interrupt_hook`]), which wakes the stack's task: nothing polls the device while
//! the network is idle.
//!
//! Depends on `virtio-drivers` (the device's queue protocol, `VirtIONetRaw`), `virtio` (the
//! `Hal` and the PCI transport), `pci`, `interrupts` (the IRQ handler), `spin`, `x86_64`.
//! Its only `unsafe` is handing buffers to the device and taking them back.

#![no_std]

extern crate alloc;

mod buffers;
mod tests;

use alloc::vec::Vec;
use buffers::Buffers;
use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use spin::Mutex;
use virtio::{DeviceType, KernelHal, NoEventIndex, PciTransport};
use virtio_drivers::device::net::VirtIONetRaw;
use x86_64::instructions::interrupts::without_interrupts;

/// Descriptors per queue: receive buffers posted at once, and frames in flight.
const QUEUE: usize = 64;
/// Bytes per buffer: the virtio header plus a full Ethernet frame (1514), rounded up.
const BUF_LEN: usize = 2048;
/// The largest Ethernet frame (without FCS) the device sends or receives.
pub const MAX_FRAME: usize = 1514;

type Raw = VirtIONetRaw<KernelHal, NoEventIndex<PciTransport>, QUEUE>;

/// The device and its buffers. The device is declared first so that it is dropped (and
/// reset) before the buffers it may hold.
struct Net {
    raw: Raw,
    buffers: Buffers,
}

/// The device, locked only with interrupts off (the IRQ handler takes it too).
static DEVICE: Mutex<Option<Net>> = Mutex::new(None);
static MAC: Mutex<[u8; 6]> = Mutex::new([0; 6]);
static HOOK: Mutex<Option<fn()>> = Mutex::new(None);
static SHARED: Mutex<Option<fn()>> = Mutex::new(None);
static IRQ: AtomicU8 = AtomicU8::new(0xff);

static RX_PACKETS: AtomicU64 = AtomicU64::new(0);
static RX_BYTES: AtomicU64 = AtomicU64::new(0);
static TX_PACKETS: AtomicU64 = AtomicU64::new(0);
static TX_BYTES: AtomicU64 = AtomicU64::new(0);
static TX_ERRORS: AtomicU64 = AtomicU64::new(0);
static RX_ERRORS: AtomicU64 = AtomicU64::new(0);
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Why a frame was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// No device (or [`init`] has not run).
    NoDevice,
    /// Longer than [`MAX_FRAME`].
    TooLong,
    /// The device refused the request or returned something unusable.
    Device,
    /// Every transmit buffer is in flight ([`can_send`] is false).
    Busy,
}

/// The device's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub rx_errors: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_errors: u64,
    pub interrupts: u64,
    /// Frames posted that the device has not finished with yet.
    pub tx_in_flight: u64,
}

/// Looks for a network device on PCI (after `pci::init`), starts it and enables its
/// interrupt. Returns whether one is in use; a device that fails to start is logged and
/// skipped.
pub fn init() -> bool {
    if is_present() {
        return true;
    }
    for device in virtio::find(DeviceType::Network) {
        let Some(irq) = pci::interrupt_line(device) else {
            log::warn!("virtio-net at {}: no interrupt line", device.function);
            continue;
        };
        let net = virtio::transport(device)
            .map_err(|e| log::warn!("virtio-net at {}: {e:?}", device.function))
            .and_then(|t| {
                Raw::new(NoEventIndex(t))
                    .map_err(|e| log::warn!("virtio-net at {}: {e:?}", device.function))
            })
            .and_then(|mut raw| match Buffers::post(&mut raw) {
                Ok(buffers) => Ok(Net { raw, buffers }),
                Err(e) => {
                    // Dropping the device resets it (the buffers it took were leaked).
                    log::warn!("virtio-net at {}: receive buffers: {e:?}", device.function);
                    Err(())
                }
            });
        let Ok(mut net) = net else { continue };
        let mac = net.raw.mac_address();
        net.raw.enable_interrupts();
        without_interrupts(|| {
            *DEVICE.lock() = Some(net);
            *MAC.lock() = mac;
        });
        IRQ.store(irq, Ordering::SeqCst);
        interrupts::register_irq(irq, on_interrupt);
        log::info!(
            "virtio-net at {}: MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, IRQ {irq}",
            device.function,
            mac[0],
            mac[1],
            mac[2],
            mac[3],
            mac[4],
            mac[5]
        );
        return true;
    }
    false
}

/// Whether a device is in use.
pub fn is_present() -> bool {
    without_interrupts(|| DEVICE.lock().is_some())
}

/// The device's MAC address (`None` without a device).
pub fn mac_address() -> Option<[u8; 6]> {
    is_present().then(|| without_interrupts(|| *MAC.lock()))
}

/// The IRQ the device interrupts on (`None` without a device).
pub fn irq() -> Option<u8> {
    let irq = IRQ.load(Ordering::SeqCst);
    (irq < 16).then_some(irq)
}

/// Installs the function the interrupt handler calls after acknowledging the device (with
/// interrupts disabled: it must only wake someone).
pub fn set_interrupt_hook(hook: fn()) {
    without_interrupts(|| *HOOK.lock() = Some(hook));
}

/// Installs the function that acknowledges another device's interrupt, called first by the
/// interrupt handler (for a line shared with a polled device that still interrupts).
pub fn set_shared_line_hook(acknowledge: fn()) {
    without_interrupts(|| *SHARED.lock() = Some(acknowledge));
}

fn on_interrupt() {
    INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    // Other devices firmware put on the same line (virtio-rng on QEMU's `pc`): their
    // interrupt status must be read too, or their level keeps the line asserted.
    if let Some(other) = *SHARED.lock() {
        other();
    }
    // The IRQ line may be shared: acknowledging reads and clears the device's interrupt
    // status, which lowers its (level-triggered) line.
    if let Some(net) = DEVICE.lock().as_mut() {
        net.raw.ack_interrupt();
    }
    if let Some(hook) = *HOOK.lock() {
        hook();
    }
}

/// Whether a received frame is waiting.
pub fn can_receive() -> bool {
    without_interrupts(|| {
        DEVICE
            .lock()
            .as_ref()
            .is_some_and(|net| net.raw.poll_receive().is_some())
    })
}

/// Takes the next received frame (a copy; the device gets its buffer back at once).
pub fn receive() -> Option<Vec<u8>> {
    let frame = without_interrupts(|| {
        let mut guard = DEVICE.lock();
        let net = guard.as_mut()?;
        net.buffers.receive(&mut net.raw)
    })?;
    match frame {
        Ok(frame) => {
            RX_PACKETS.fetch_add(1, Ordering::Relaxed);
            RX_BYTES.fetch_add(frame.len() as u64, Ordering::Relaxed);
            Some(frame)
        }
        Err(_) => {
            RX_ERRORS.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Whether the device has room for a frame to send now (frames it finished with are taken
/// back first).
pub fn can_send() -> bool {
    without_interrupts(|| {
        DEVICE.lock().as_mut().is_some_and(|net| {
            net.buffers.reclaim(&mut net.raw);
            net.buffers.can_send(&net.raw)
        })
    })
}

/// Sends one Ethernet frame (without FCS): posts it to the device and returns without
/// waiting for the device to take it.
pub fn send(frame: &[u8]) -> Result<(), Error> {
    if frame.len() > MAX_FRAME {
        return Err(Error::TooLong);
    }
    let r = without_interrupts(|| {
        let mut guard = DEVICE.lock();
        let net = guard.as_mut().ok_or(Error::NoDevice)?;
        net.buffers.send(&mut net.raw, frame)
    });
    match r {
        Ok(()) => {
            TX_PACKETS.fetch_add(1, Ordering::Relaxed);
            TX_BYTES.fetch_add(frame.len() as u64, Ordering::Relaxed);
        }
        Err(Error::Device | Error::Busy) => {
            TX_ERRORS.fetch_add(1, Ordering::Relaxed);
        }
        Err(_) => {}
    }
    r
}

/// The counters so far.
pub fn stats() -> Stats {
    let tx_in_flight = without_interrupts(|| {
        DEVICE.lock().as_mut().map_or(0, |net| {
            // Frames the device finished with count as done even if no send took them back.
            net.buffers.reclaim(&mut net.raw);
            net.buffers.in_flight() as u64
        })
    });
    Stats {
        rx_packets: RX_PACKETS.load(Ordering::Relaxed),
        rx_bytes: RX_BYTES.load(Ordering::Relaxed),
        rx_errors: RX_ERRORS.load(Ordering::Relaxed),
        tx_packets: TX_PACKETS.load(Ordering::Relaxed),
        tx_bytes: TX_BYTES.load(Ordering::Relaxed),
        tx_errors: TX_ERRORS.load(Ordering::Relaxed),
        interrupts: INTERRUPTS.load(Ordering::Relaxed),
        tx_in_flight,
    }
}
