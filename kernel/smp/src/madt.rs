//! The processors the firmware lists in ACPI's MADT (through the `acpi` crate), read through
//! the direct map.

use acpi::platform::ProcessorState;
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use alloc::vec::Vec;
use core::ptr::NonNull;

/// ACPI tables are ordinary physical memory: the direct map already maps all of it.
#[derive(Clone, Copy)]
struct DirectMap;

impl AcpiHandler for DirectMap {
    unsafe fn map_physical_region<T>(&self, phys: usize, size: usize) -> PhysicalMapping<Self, T> {
        let virt = memory::phys_to_virt(phys as u64) as *mut T;
        // SAFETY: the direct map maps every physical address below max(RAM, 4 GiB), where
        // firmware puts its tables; the mapping stays valid forever.
        unsafe {
            PhysicalMapping::new(
                phys,
                NonNull::new(virt).expect("the direct map is not at 0"),
                size,
                size,
                *self,
            )
        }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// One processor of the MADT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Processor {
    pub apic_id: u32,
    /// Usable (not marked disabled by the firmware).
    pub enabled: bool,
}

/// Every processor of the MADT, the boot processor first, or why there is no list.
pub fn processors() -> Result<Vec<Processor>, acpi::AcpiError> {
    // SAFETY: the BIOS areas the search reads (the EBDA pointer, 0xe0000..0x100000) are
    // physical memory reached through the direct map.
    let tables = unsafe { AcpiTables::search_for_rsdp_bios(DirectMap)? };
    let info = tables.platform_info()?;
    let Some(processors) = info.processor_info else {
        return Ok(Vec::new());
    };
    let entry = |p: &acpi::platform::Processor| Processor {
        apic_id: p.local_apic_id,
        enabled: p.state != ProcessorState::Disabled,
    };
    let mut list = Vec::with_capacity(processors.application_processors.len() + 1);
    list.push(entry(&processors.boot_processor));
    list.extend(processors.application_processors.iter().map(entry));
    Ok(list)
}
