//! What the boot loader tells the kernel, in one form for both boot protocols: usable RAM,
//! modules (the initial ramdisk), the command line, and the physical ranges those structures
//! occupy (so the frame allocator does not hand them out).
//!
//! Multiboot2 information is read with the `multiboot2` crate; PVH's `hvm_start_info` is three
//! small fixed structs, read by hand through a [`PhysMemory`] view so the parser is tested on
//! the host. No heap: this runs before one exists, so lists are `ArrayVec`s.
//! Depends on `multiboot2` and `arrayvec`.

#![cfg_attr(not(test), no_std)]

use arrayvec::ArrayVec;
use core::fmt;

pub const MAX_REGIONS: usize = 64;
pub const MAX_MODULES: usize = 8;
pub const MAX_RESERVED: usize = 16;

/// A physical range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    pub start: u64,
    pub end: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Multiboot2,
    Pvh,
}

#[derive(Clone, Debug)]
pub struct BootInfo {
    pub protocol: Protocol,
    /// Usable RAM as reported by the loader.
    pub usable: ArrayVec<PhysRange, MAX_REGIONS>,
    /// Boot modules (the initial ramdisk is the first).
    pub modules: ArrayVec<PhysRange, MAX_MODULES>,
    /// The kernel command line (physical range, without the NUL).
    pub cmdline: Option<PhysRange>,
    /// Structures the loader placed in RAM that must stay untouched while in use.
    pub reserved: ArrayVec<PhysRange, MAX_RESERVED>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// A structure lies outside readable memory.
    Unreadable(u64),
    BadMagic(u32),
    /// The PVH structure predates the memory map (version 0).
    NoMemoryMap,
    Multiboot2(&'static str),
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            BootInfoError::Unreadable(a) => write!(f, "boot structure at {a:#x} is not readable"),
            BootInfoError::BadMagic(m) => write!(f, "bad PVH start_info magic {m:#x}"),
            BootInfoError::NoMemoryMap => write!(f, "PVH start_info has no memory map"),
            BootInfoError::Multiboot2(e) => write!(f, "multiboot2: {e}"),
        }
    }
}

/// Read access to physical memory (the kernel's direct map; a buffer in tests).
pub trait PhysMemory {
    fn read(&self, phys: u64, len: usize) -> Option<&[u8]>;
}

fn u32_at(mem: &dyn PhysMemory, phys: u64) -> Result<u32, BootInfoError> {
    let b = mem.read(phys, 4).ok_or(BootInfoError::Unreadable(phys))?;
    Ok(u32::from_le_bytes(b.try_into().unwrap()))
}

fn u64_at(mem: &dyn PhysMemory, phys: u64) -> Result<u64, BootInfoError> {
    let b = mem.read(phys, 8).ok_or(BootInfoError::Unreadable(phys))?;
    Ok(u64::from_le_bytes(b.try_into().unwrap()))
}

/// Length of the NUL-terminated string at `phys` (at most `max`).
fn c_strlen(mem: &dyn PhysMemory, phys: u64, max: usize) -> Result<usize, BootInfoError> {
    for i in 0..max {
        let b = mem
            .read(phys + i as u64, 1)
            .ok_or(BootInfoError::Unreadable(phys))?;
        if b[0] == 0 {
            return Ok(i);
        }
    }
    Ok(max)
}

pub const PVH_MAGIC: u32 = 0x336e_c578;
const PVH_START_INFO_SIZE: u64 = 56;
const PVH_MODLIST_ENTRY_SIZE: u64 = 32;
const PVH_MEMMAP_ENTRY_SIZE: u64 = 24;
const PVH_MEMMAP_RAM: u32 = 1;
const CMDLINE_MAX: usize = 64 * 1024;

fn push<T, const N: usize>(v: &mut ArrayVec<T, N>, item: T) {
    // Entries past capacity are dropped: the kernel then simply uses less RAM or fewer modules.
    let _ = v.try_push(item);
}

/// Parses PVH's `hvm_start_info` at `phys` (layout from Xen's public `start_info.h`).
pub fn parse_pvh(mem: &dyn PhysMemory, phys: u64) -> Result<BootInfo, BootInfoError> {
    let magic = u32_at(mem, phys)?;
    if magic != PVH_MAGIC {
        return Err(BootInfoError::BadMagic(magic));
    }
    let version = u32_at(mem, phys + 4)?;
    if version < 1 {
        return Err(BootInfoError::NoMemoryMap);
    }
    let nr_modules = u32_at(mem, phys + 12)?;
    let modlist = u64_at(mem, phys + 16)?;
    let cmdline_paddr = u64_at(mem, phys + 24)?;
    let memmap = u64_at(mem, phys + 40)?;
    let memmap_entries = u32_at(mem, phys + 48)?;

    let mut info = BootInfo {
        protocol: Protocol::Pvh,
        usable: ArrayVec::new(),
        modules: ArrayVec::new(),
        cmdline: None,
        reserved: ArrayVec::new(),
    };
    push(
        &mut info.reserved,
        PhysRange {
            start: phys,
            end: phys + PVH_START_INFO_SIZE,
        },
    );
    for i in 0..u64::from(memmap_entries) {
        let e = memmap + i * PVH_MEMMAP_ENTRY_SIZE;
        let (addr, size, ty) = (u64_at(mem, e)?, u64_at(mem, e + 8)?, u32_at(mem, e + 16)?);
        if ty == PVH_MEMMAP_RAM && size > 0 {
            push(
                &mut info.usable,
                PhysRange {
                    start: addr,
                    end: addr.saturating_add(size),
                },
            );
        }
    }
    push(
        &mut info.reserved,
        PhysRange {
            start: memmap,
            end: memmap + u64::from(memmap_entries) * PVH_MEMMAP_ENTRY_SIZE,
        },
    );
    if nr_modules > 0 {
        push(
            &mut info.reserved,
            PhysRange {
                start: modlist,
                end: modlist + u64::from(nr_modules) * PVH_MODLIST_ENTRY_SIZE,
            },
        );
    }
    for i in 0..u64::from(nr_modules) {
        let e = modlist + i * PVH_MODLIST_ENTRY_SIZE;
        let (addr, size) = (u64_at(mem, e)?, u64_at(mem, e + 8)?);
        let range = PhysRange {
            start: addr,
            end: addr.saturating_add(size),
        };
        push(&mut info.modules, range);
        push(&mut info.reserved, range);
    }
    if cmdline_paddr != 0 {
        let len = c_strlen(mem, cmdline_paddr, CMDLINE_MAX)? as u64;
        let range = PhysRange {
            start: cmdline_paddr,
            end: cmdline_paddr + len,
        };
        info.cmdline = Some(range);
        push(
            &mut info.reserved,
            PhysRange {
                start: range.start,
                end: range.end + 1,
            },
        );
    }
    Ok(info)
}

/// Parses multiboot2 boot information whose physical address is `phys`.
///
/// # Safety
/// `phys + phys_offset` must point at the multiboot2 information the loader handed over,
/// mapped and readable, and `mem` must view the same physical memory.
pub unsafe fn parse_multiboot2(
    mem: &dyn PhysMemory,
    phys: u64,
    phys_offset: u64,
) -> Result<BootInfo, BootInfoError> {
    use multiboot2::{BootInformation, BootInformationHeader, MemoryAreaType};
    let ptr = (phys + phys_offset) as *const BootInformationHeader;
    // SAFETY: the caller guarantees the pointer is the loader's multiboot2 information.
    let mbi = unsafe { BootInformation::load(ptr) }
        .map_err(|_| BootInfoError::Multiboot2("invalid boot information"))?;
    let mut info = BootInfo {
        protocol: Protocol::Multiboot2,
        usable: ArrayVec::new(),
        modules: ArrayVec::new(),
        cmdline: None,
        reserved: ArrayVec::new(),
    };
    push(
        &mut info.reserved,
        PhysRange {
            start: phys,
            end: phys + mbi.total_size() as u64,
        },
    );
    let mmap = mbi
        .memory_map_tag()
        .ok_or(BootInfoError::Multiboot2("no memory map"))?;
    for area in mmap.memory_areas() {
        if area.typ() == MemoryAreaType::Available && area.size() > 0 {
            let start = area.start_address();
            push(
                &mut info.usable,
                PhysRange {
                    start,
                    end: start + area.size(),
                },
            );
        }
    }
    for module in mbi.module_tags() {
        let range = PhysRange {
            start: u64::from(module.start_address()),
            end: u64::from(module.end_address()),
        };
        push(&mut info.modules, range);
        push(&mut info.reserved, range);
    }
    if let Some(tag) = mbi.command_line_tag()
        && let Ok(s) = tag.cmdline()
    {
        // The tag lives inside the (reserved) information structure: record where.
        let start = s.as_ptr() as u64 - phys_offset;
        info.cmdline = Some(PhysRange {
            start,
            end: start + s.len() as u64,
        });
        let _ = mem; // the string was validated by the crate; nothing more to read
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Buf {
        base: u64,
        data: Vec<u8>,
    }

    impl PhysMemory for Buf {
        fn read(&self, phys: u64, len: usize) -> Option<&[u8]> {
            let off = phys.checked_sub(self.base)? as usize;
            self.data.get(off..off.checked_add(len)?)
        }
    }

    impl Buf {
        fn put32(&mut self, phys: u64, v: u32) {
            let o = (phys - self.base) as usize;
            self.data[o..o + 4].copy_from_slice(&v.to_le_bytes());
        }
        fn put64(&mut self, phys: u64, v: u64) {
            let o = (phys - self.base) as usize;
            self.data[o..o + 8].copy_from_slice(&v.to_le_bytes());
        }
    }

    /// start_info at 0x1000, modlist at 0x1100, memmap at 0x1200, cmdline at 0x1300.
    fn pvh_image() -> Buf {
        let mut b = Buf {
            base: 0x1000,
            data: vec![0; 0x1000],
        };
        b.put32(0x1000, PVH_MAGIC);
        b.put32(0x1004, 1);
        b.put32(0x100c, 1);
        b.put64(0x1010, 0x1100);
        b.put64(0x1018, 0x1300);
        b.put64(0x1028, 0x1200);
        b.put32(0x1030, 3);
        b.put64(0x1100, 0x80_0000);
        b.put64(0x1108, 0x1234);
        b.put64(0x1200, 0);
        b.put64(0x1208, 0x9fc00);
        b.put32(0x1210, 1);
        b.put64(0x1218, 0xf0000);
        b.put64(0x1220, 0x10000);
        b.put32(0x1228, 2);
        b.put64(0x1230, 0x10_0000);
        b.put64(0x1238, 0x3ff0_0000);
        b.put32(0x1240, 1);
        let o = 0x300;
        b.data[o..o + 9].copy_from_slice(b"mode=test");
        b
    }

    #[test]
    fn pvh_memory_modules_cmdline() {
        let b = pvh_image();
        let info = parse_pvh(&b, 0x1000).unwrap();
        assert_eq!(info.protocol, Protocol::Pvh);
        assert_eq!(
            info.usable.as_slice(),
            &[
                PhysRange {
                    start: 0,
                    end: 0x9fc00
                },
                PhysRange {
                    start: 0x10_0000,
                    end: 0x4000_0000
                }
            ]
        );
        assert_eq!(
            info.modules.as_slice(),
            &[PhysRange {
                start: 0x80_0000,
                end: 0x80_1234
            }]
        );
        assert_eq!(
            info.cmdline,
            Some(PhysRange {
                start: 0x1300,
                end: 0x1309
            })
        );
        assert!(info.reserved.contains(&PhysRange {
            start: 0x80_0000,
            end: 0x80_1234
        }));
        assert!(info.reserved.iter().any(|r| r.start == 0x1000));
    }

    #[test]
    fn pvh_bad_magic_and_version() {
        let mut b = pvh_image();
        b.put32(0x1000, 0xdead);
        assert_eq!(
            parse_pvh(&b, 0x1000).unwrap_err(),
            BootInfoError::BadMagic(0xdead)
        );
        let mut b = pvh_image();
        b.put32(0x1004, 0);
        assert_eq!(
            parse_pvh(&b, 0x1000).unwrap_err(),
            BootInfoError::NoMemoryMap
        );
    }

    #[test]
    fn pvh_pointer_outside_memory_is_an_error() {
        let mut b = pvh_image();
        b.put64(0x1028, 0x9999_0000);
        assert_eq!(
            parse_pvh(&b, 0x1000).unwrap_err(),
            BootInfoError::Unreadable(0x9999_0000)
        );
        assert!(parse_pvh(&b, 0x5000).is_err());
    }
}
