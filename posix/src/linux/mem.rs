//! Memory calls: anonymous `mmap` in the user region, `munmap`, `mprotect`, `mremap`,
//! `madvise` and `brk`.
//!
//! Every mapping a program makes is a `libtheseus::mmap` user region; the process's [`Space`]
//! remembers which, so that they are all unmapped when the process ends, and the process's
//! memory map (`libtheseus::process::record_mapping`) shows them in `/proc`. A file mapping is a
//! copy of the file's bytes made at `mmap` time: exact for `MAP_PRIVATE`, and for read-only
//! `MAP_SHARED` while nobody writes the file; writable `MAP_SHARED` file mappings are not
//! supported (`ENODEV`), nor are `MAP_FIXED` mappings outside the program's own regions.
//! `brk` never grows (it returns the unchanged break, which musl's allocator reads as
//! "use mmap").

use super::state;
use alloc::collections::BTreeMap;
use libtheseus::mmap::{self, Commit, Protection, Region};
use libtheseus::usermode::Registers;
use libtheseus::{Errno, Result};
use linux_raw_sys::general as g;

/// The regions a process mapped: start -> length.
#[derive(Default)]
pub struct Space {
    regions: BTreeMap<usize, usize>,
}

impl Drop for Space {
    fn drop(&mut self) {
        for (&start, &len) in &self.regions {
            let _ = mmap::unmap_at(start, len);
        }
    }
}

const PAGE: u64 = 4096;

/// `PROT_READ`, `PROT_WRITE` and `PROT_EXEC` as a protection; other bits are ignored.
fn prot(bits: u64) -> Protection {
    let has = |bit: u32| bits & u64::from(bit) != 0;
    Protection::new(has(g::PROT_READ), has(g::PROT_WRITE), has(g::PROT_EXEC))
}

/// Whether `addr..addr + len` lies in the process's own regions.
fn owned(space: &Space, addr: u64, len: u64) -> bool {
    let end = addr.saturating_add(len);
    space
        .regions
        .range(..=addr as usize)
        .next_back()
        .is_some_and(|(&s, &l)| s as u64 <= addr && end <= (s + l) as u64)
}

pub fn mmap(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (addr, len, prot_bits, flags) = (a[0], a[1], a[2], a[3] as u32);
    if len == 0 || !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let file = if flags & g::MAP_ANONYMOUS == 0 {
        let shared = flags & g::MAP_TYPE == g::MAP_SHARED;
        if shared && prot_bits & u64::from(g::PROT_WRITE) != 0 {
            return Err(Errno::ENODEV);
        }
        let fd = u32::try_from(a[4] as i64).map_err(|_| Errno::EBADF)?;
        if !a[5].is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        Some((fd, a[5]))
    } else {
        None
    };
    let len = len.checked_next_multiple_of(PAGE).ok_or(Errno::ENOMEM)?;
    let process = state::current();
    let mut space = process.memory.lock();
    if let Some((fd, offset)) = file {
        if flags & (g::MAP_FIXED | g::MAP_FIXED_NOREPLACE) != 0 {
            return Err(Errno::EINVAL);
        }
        let start = map_file(fd, offset, len as usize, prot(prot_bits))?;
        space.regions.insert(start, len as usize);
        libtheseus::process::record_mapping(start, len as usize);
        return Ok(start as u64);
    }
    if flags & (g::MAP_FIXED | g::MAP_FIXED_NOREPLACE) != 0 {
        // Only over the program's own regions: give the pages fresh zeroed memory.
        if !owned(&space, addr, len) {
            return Err(Errno::ENOMEM);
        }
        mmap::protect_at(addr as usize, len as usize, Protection::NONE)?;
        mmap::protect_at(addr as usize, len as usize, prot(prot_bits))?;
        return Ok(addr);
    }
    let commit = if flags & g::MAP_POPULATE != 0 {
        Commit::Now
    } else {
        Commit::OnDemand
    };
    let start = Region::new_user(len as usize, prot(prot_bits), commit)?.into_raw();
    space.regions.insert(start, len as usize);
    libtheseus::process::record_mapping(start, len as usize);
    Ok(start as u64)
}

/// A new region holding `len` bytes of file `fd` from `offset` (zeros past its end), with
/// protection `prot`.
fn map_file(fd: u32, offset: u64, len: usize, prot: Protection) -> Result<usize> {
    let meta = libtheseus::fs::fstat(fd)?;
    if meta.file_type != libtheseus::fs::FileType::File {
        return Err(Errno::ENODEV);
    }
    let region = Region::new_user(len, Protection::RW, Commit::Now)?;
    let mut at = 0;
    let mut buf = alloc::vec![0u8; 64 * 1024];
    while at < len {
        let want = buf.len().min(len - at);
        let n = libtheseus::fs::pread(fd, &mut buf[..want], offset + at as u64)?;
        if n == 0 {
            break;
        }
        region.write_at(at, &buf[..n])?;
        at += n;
    }
    region.protect(0, len, prot)?;
    Ok(region.into_raw())
}

pub fn munmap(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (addr, len) = (a[0], a[1]);
    if !addr.is_multiple_of(PAGE) || len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_next_multiple_of(PAGE).ok_or(Errno::EINVAL)?;
    let process = state::current();
    let mut space = process.memory.lock();
    let end = addr.saturating_add(len);
    // Only the program's own regions; other pages are ignored, as Linux ignores unmapped ones.
    let parts: alloc::vec::Vec<(usize, usize)> = space
        .regions
        .iter()
        .filter(|&(&s, &l)| (s as u64) < end && (s + l) as u64 > addr)
        .map(|(&s, &l)| (s, l))
        .collect();
    for (s, l) in parts {
        let from = addr.max(s as u64);
        let to = end.min((s + l) as u64);
        mmap::unmap_at(from as usize, (to - from) as usize)?;
        libtheseus::process::record_unmapping(from as usize, (to - from) as usize);
        if from == s as u64 && to == (s + l) as u64 {
            space.regions.remove(&s);
        }
    }
    Ok(0)
}

pub fn mprotect(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (addr, len, prot_bits) = (a[0], a[1], a[2]);
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let len = len.checked_next_multiple_of(PAGE).ok_or(Errno::ENOMEM)?;
    let process = state::current();
    let space = process.memory.lock();
    if !owned(&space, addr, len) {
        return Err(Errno::ENOMEM);
    }
    mmap::protect_at(addr as usize, len as usize, prot(prot_bits))?;
    Ok(0)
}

/// Shrinking a mapping of the program's own unmaps its tail in place; growing or moving is not
/// supported (`ENOMEM`: callers such as musl's `realloc` then copy). `EFAULT` if the old range
/// is not the program's memory, as on Linux (musl's `pthread_getattr_np` probes the main
/// stack's size this way).
pub fn mremap(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (addr, old_len, new_len) = (a[0], a[1], a[2]);
    if !addr.is_multiple_of(PAGE) || new_len == 0 {
        return Err(Errno::EINVAL);
    }
    libtheseus::usermode::check(addr, old_len.max(1) as usize, false)?;
    let old_len = old_len
        .checked_next_multiple_of(PAGE)
        .ok_or(Errno::EINVAL)?;
    let new_len = new_len
        .checked_next_multiple_of(PAGE)
        .ok_or(Errno::EINVAL)?;
    if new_len == old_len {
        return Ok(addr);
    }
    if new_len < old_len {
        let process = state::current();
        let owned_range = owned(&process.memory.lock(), addr, old_len);
        drop(process);
        if owned_range {
            munmap(r, [addr + new_len, old_len - new_len, 0, 0, 0, 0])?;
            return Ok(addr);
        }
    }
    Err(Errno::ENOMEM)
}

/// Advice is accepted and ignored (`MADV_DONTNEED` would need to zero the pages: done).
pub fn madvise(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (addr, len, advice) = (a[0], a[1], a[2] as u32);
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    if advice == g::MADV_DONTNEED && len != 0 {
        let len = len.checked_next_multiple_of(PAGE).ok_or(Errno::EINVAL)?;
        let process = state::current();
        let space = process.memory.lock();
        if owned(&space, addr, len) {
            // Freeing the frames makes the pages read as zeros again, as Linux does.
            if let Some(info) = mmap::region_at(addr as usize)
                && let Some(p) = info.protection
            {
                mmap::protect_at(addr as usize, len as usize, Protection::NONE)?;
                mmap::protect_at(addr as usize, len as usize, p)?;
            }
        }
    }
    Ok(0)
}

pub fn brk(_: &mut Registers, _: [u64; 6]) -> Result<u64> {
    Ok(0)
}
