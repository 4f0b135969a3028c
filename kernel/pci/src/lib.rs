//! PCI: configuration space through the legacy x86 I/O ports `0xCF8`/`0xCFC`
//! (configuration mechanism #1) and the list of functions found on every bus at boot.
//!
//! Enumeration, BAR decoding and capability lists come from virtio-drivers' `PciRoot`
//! (`transport::pci::bus`), a maintained no_std implementation that drivers built on
//! virtio-drivers need anyway; this crate adds what it leaves to the platform: port-based
//! configuration access ([`PortCam`]), the walk over buses behind PCI-to-PCI bridges, and the
//! one shared [`PciRoot`] ([`with_root`]). Device drivers (virtio-rng now, virtio-net later)
//! find their device in [`devices`] and take the root to build a transport.
//!
//! Depends on `x86_64` (port I/O), `spin`, `log`, `virtio-drivers` (the bus types).

#![no_std]

extern crate alloc;

mod tests;

use alloc::vec::Vec;
use spin::{Mutex, Once};
use virtio_drivers::transport::pci::bus::{
    ConfigurationAccess, DeviceFunction, DeviceFunctionInfo, HeaderType, PciRoot,
};
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::instructions::port::Port;

pub use virtio_drivers::transport::pci::bus::{BarInfo, Command};

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;

/// Serializes the two-step address/data access of configuration mechanism #1.
static PORTS: Mutex<()> = Mutex::new(());

/// Configuration-space access through the I/O ports `0xCF8` (address) and `0xCFC` (data).
/// It holds no state: every instance reaches the same hardware, serialized by one lock.
#[derive(Debug)]
pub struct PortCam(());

impl PortCam {
    /// Port access to the configuration space of the PC's host bridge.
    pub const fn new() -> Self {
        PortCam(())
    }

    fn address(df: DeviceFunction, offset: u8) -> u32 {
        0x8000_0000
            | u32::from(df.bus) << 16
            | u32::from(df.device & 0x1f) << 11
            | u32::from(df.function & 0x07) << 8
            | u32::from(offset & 0xfc)
    }
}

impl Default for PortCam {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigurationAccess for PortCam {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        without_interrupts(|| {
            let _guard = PORTS.lock();
            // SAFETY: configuration mechanism #1: writing an enabled address to 0xCF8 selects
            // one dword of a function's configuration space, read through 0xCFC; both ports
            // belong to the host bridge and the lock keeps the pair together.
            unsafe {
                Port::<u32>::new(CONFIG_ADDRESS).write(Self::address(df, offset));
                Port::<u32>::new(CONFIG_DATA).read()
            }
        })
    }

    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        without_interrupts(|| {
            let _guard = PORTS.lock();
            // SAFETY: as in `read_word`; the caller (a driver owning the function) chose the
            // register and value.
            unsafe {
                Port::<u32>::new(CONFIG_ADDRESS).write(Self::address(df, offset));
                Port::<u32>::new(CONFIG_DATA).write(data);
            }
        })
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam(())
    }
}

/// One PCI function found at boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub function: DeviceFunction,
    pub info: DeviceFunctionInfo,
}

static DEVICES: Once<Vec<Device>> = Once::new();
static ROOT: Mutex<Option<PciRoot<PortCam>>> = Mutex::new(None);

/// Enumerates every bus reachable from bus 0 (following PCI-to-PCI bridges) once.
pub fn init() {
    DEVICES.call_once(|| {
        let root = PciRoot::new(PortCam::new());
        let found = scan(&root);
        for d in &found {
            log::info!("pci: {} {}", d.function, d.info);
        }
        *ROOT.lock() = Some(root);
        found
    });
}

fn scan(root: &PciRoot<PortCam>) -> Vec<Device> {
    let mut found = Vec::new();
    let mut buses = alloc::vec![0u8];
    let mut seen = [false; 256];
    while let Some(bus) = buses.pop() {
        if core::mem::replace(&mut seen[usize::from(bus)], true) {
            continue;
        }
        for (function, info) in root.enumerate_bus(bus) {
            if info.header_type == HeaderType::PciPciBridge {
                // Bus numbers register: primary, secondary, subordinate, latency.
                let secondary = (PortCam::new().read_word(function, 0x18) >> 8) as u8;
                if secondary != 0 {
                    buses.push(secondary);
                }
            }
            found.push(Device { function, info });
        }
    }
    found
}

/// Every function found by [`init`] (empty before it).
pub fn devices() -> &'static [Device] {
    DEVICES.get().map_or(&[], Vec::as_slice)
}

/// Runs `f` with the shared [`PciRoot`] (after [`init`]); drivers use it to read BARs and
/// capabilities and to build their transport.
pub fn with_root<R>(f: impl FnOnce(&mut PciRoot<PortCam>) -> R) -> Option<R> {
    without_interrupts(|| ROOT.lock().as_mut().map(f))
}

/// The legacy interrupt line (8259 IRQ number) firmware assigned to `device`'s INTx pin
/// (configuration register `0x3C`); `None` if the function uses no pin or none was assigned.
pub fn interrupt_line(device: &Device) -> Option<u8> {
    let word = PortCam::new().read_word(device.function, 0x3c);
    let (line, pin) = (word as u8, (word >> 8) as u8);
    (pin != 0 && line < 16).then_some(line)
}
