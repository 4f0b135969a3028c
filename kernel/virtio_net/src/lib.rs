//! The virtio network device (QEMU `-device virtio-net-pci`): Ethernet frames in and out,
//! interrupt-driven. The first such device found on PCI is used. Received frames are copied
//! out of the device's buffers and the buffers go straight back to the device; a frame is
//! sent by handing it to the device and waiting for the device to take it (QEMU does so at
//! once). The device's interrupt (its legacy INTx line, which firmware routed to an 8259 IRQ)
//! is acknowledged here and then reported to the hook the network stack installs
//! ([`set_interrupt_hook`]), which wakes the stack's task: nothing polls the device while
//! the network is idle.
//!
//! Depends on `virtio-drivers` (the device's queue protocol, `VirtIONet`), `virtio` (the
//! `Hal` and the PCI transport), `pci`, `interrupts` (the IRQ handler), `spin`, `x86_64`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod tests;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use spin::Mutex;
use virtio::{DeviceType, KernelHal, PciTransport};
use virtio_drivers::device::net::VirtIONet;
use x86_64::instructions::interrupts::without_interrupts;

/// Descriptors per queue (receive buffers posted at once).
const QUEUE: usize = 64;
/// Bytes per receive buffer: the virtio header plus a full Ethernet frame (1514), rounded up.
const BUF_LEN: usize = 2048;
/// The largest Ethernet frame (without FCS) the device sends or receives.
pub const MAX_FRAME: usize = 1514;

type Net = VirtIONet<KernelHal, PciTransport, QUEUE>;

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
    /// The device refused the request.
    Device,
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
                Net::new(t, BUF_LEN)
                    .map_err(|e| log::warn!("virtio-net at {}: {e:?}", device.function))
            });
        let Ok(mut net) = net else { continue };
        let mac = net.mac_address();
        net.enable_interrupts();
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
        net.ack_interrupt();
    }
    if let Some(hook) = *HOOK.lock() {
        hook();
    }
}

/// Whether a received frame is waiting.
pub fn can_receive() -> bool {
    without_interrupts(|| DEVICE.lock().as_ref().is_some_and(Net::can_recv))
}

/// Takes the next received frame (a copy; the device gets its buffer back at once).
pub fn receive() -> Option<Vec<u8>> {
    without_interrupts(|| {
        let mut guard = DEVICE.lock();
        let net = guard.as_mut()?;
        if !net.can_recv() {
            return None;
        }
        let buf = match net.receive() {
            Ok(buf) => buf,
            Err(_) => {
                RX_ERRORS.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        let frame = buf.packet().to_vec();
        if net.recycle_rx_buffer(buf).is_err() {
            RX_ERRORS.fetch_add(1, Ordering::Relaxed);
        }
        RX_PACKETS.fetch_add(1, Ordering::Relaxed);
        RX_BYTES.fetch_add(frame.len() as u64, Ordering::Relaxed);
        Some(frame)
    })
}

/// Whether the device has room for a frame to send.
pub fn can_send() -> bool {
    without_interrupts(|| DEVICE.lock().as_ref().is_some_and(Net::can_send))
}

/// Sends one Ethernet frame (without FCS).
pub fn send(frame: &[u8]) -> Result<(), Error> {
    if frame.len() > MAX_FRAME {
        return Err(Error::TooLong);
    }
    let r = without_interrupts(|| {
        let mut guard = DEVICE.lock();
        let net = guard.as_mut().ok_or(Error::NoDevice)?;
        let mut tx = net.new_tx_buffer(frame.len());
        tx.packet_mut().copy_from_slice(frame);
        net.send(tx).map_err(|_| Error::Device)
    });
    match r {
        Ok(()) => {
            TX_PACKETS.fetch_add(1, Ordering::Relaxed);
            TX_BYTES.fetch_add(frame.len() as u64, Ordering::Relaxed);
        }
        Err(Error::Device) => {
            TX_ERRORS.fetch_add(1, Ordering::Relaxed);
        }
        Err(_) => {}
    }
    r
}

/// The counters so far.
pub fn stats() -> Stats {
    Stats {
        rx_packets: RX_PACKETS.load(Ordering::Relaxed),
        rx_bytes: RX_BYTES.load(Ordering::Relaxed),
        rx_errors: RX_ERRORS.load(Ordering::Relaxed),
        tx_packets: TX_PACKETS.load(Ordering::Relaxed),
        tx_bytes: TX_BYTES.load(Ordering::Relaxed),
        tx_errors: TX_ERRORS.load(Ordering::Relaxed),
        interrupts: INTERRUPTS.load(Ordering::Relaxed),
    }
}
