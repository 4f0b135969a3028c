//! Symbolized kernel backtraces: walks the RBP frame-pointer chain (the release profile forces
//! frame pointers in every crate of the image but the wasmi interpreter's, whose frames a walk
//! skips or ends at) and names each return address from the kernel's own symbol table, which
//! the boot code loads from `/boot/kernel.elf` in the ramdisk ([`load_symbols`]).
//!
//! Panic-safe: [`capture_into`], [`symbolize`] and [`write_backtrace`] take no lock and do
//! not allocate; frame pointers are validated with a lock-free walk of the active page
//! tables (through `memory`'s direct map), so a panic raised while the page-table lock is
//! held still gets its backtrace.
//!
//! Depends on `symbols` (the table), `memory` (direct map), `x86_64` (CR3), `spin` (the
//! global table).

#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;
pub use symbols::Name as SymbolName;
use symbols::{SymbolError, SymbolTable};

mod tests;

/// Most frames any capture records.
pub const MAX_FRAMES: usize = 64;

static SYMBOLS: spin::Once<SymbolTable> = spin::Once::new();

/// Symbol tables of loaded program images: `(start, end, table)` with addresses in the table
/// relative to `start`.
static IMAGES: cpu_mutex::CpuMutex<Vec<(u64, u64, alloc::sync::Arc<SymbolTable>)>> =
    cpu_mutex::CpuMutex::new(Vec::new());

/// Makes backtraces name functions of a program image mapped at `start..end` (its symbol
/// addresses are relative to `start`; images of the same program share one table). Undo
/// with [`unregister_image`].
pub fn register_image(start: u64, end: u64, table: alloc::sync::Arc<SymbolTable>) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        IMAGES.lock().push((start, end, table))
    });
}

/// Forgets the image registered at `start`.
pub fn unregister_image(start: u64) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        IMAGES.lock().retain(|(s, _, _)| *s != start)
    });
}

/// Writes the name of the program function containing `addr`, if a registered image has
/// one. Panic-safe: gives up (returns `Ok(false)`) if this CPU holds the image list's lock
/// (the code a fault or panic interrupted); waits if another CPU does.
fn write_image_symbol(
    addr: u64,
    adjust: u64,
    out: &mut dyn fmt::Write,
) -> Result<bool, fmt::Error> {
    let Some(images) = IMAGES.lock_unless_held_here() else {
        return Ok(false);
    };
    for (start, end, table) in images.iter() {
        if (*start..*end).contains(&addr)
            && let Some((name, offset)) = table.lookup(addr - start)
        {
            write!(out, "{name}+{:#x}", offset + adjust)?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Builds the global symbol table from the kernel's ELF file (the bytes are not kept). A
/// second call returns the table loaded first.
pub fn load_symbols(elf: &[u8]) -> Result<&'static SymbolTable, SymbolError> {
    if let Some(table) = SYMBOLS.get() {
        return Ok(table);
    }
    let table = SymbolTable::from_elf(elf)?;
    Ok(SYMBOLS.call_once(|| table))
}

/// The loaded symbol table, if any.
pub fn symbols() -> Option<&'static SymbolTable> {
    SYMBOLS.get()
}

/// The function containing `addr` and the offset into it (`None` before [`load_symbols`] or
/// outside every known function).
pub fn symbolize(addr: u64) -> Option<(SymbolName<'static>, u64)> {
    SYMBOLS.get()?.lookup(addr)
}

/// The return addresses of the current call chain, innermost first: the first one is in the
/// caller of `capture`. At most [`MAX_FRAMES`].
#[inline(never)]
pub fn capture() -> Vec<u64> {
    let mut frames = [0; MAX_FRAMES];
    let n = walk(read_rbp(), &mut frames, 0);
    frames[..n].to_vec()
}

/// [`capture`] into `buf` without allocating (for the panic path); returns the number of
/// frames written.
#[inline(never)]
pub fn capture_into(buf: &mut [u64]) -> usize {
    walk(read_rbp(), buf, 0)
}

/// The call chain of an interrupted context: `rip` first, then the return addresses found
/// from its frame pointer `rbp`. At most [`MAX_FRAMES`].
pub fn capture_from(rbp: u64, rip: u64) -> Vec<u64> {
    let mut frames = [0; MAX_FRAMES];
    let n = capture_from_into(rbp, rip, &mut frames);
    frames[..n].to_vec()
}

/// [`capture_from`] into `buf` without allocating; returns the number of frames written.
pub fn capture_from_into(rbp: u64, rip: u64, buf: &mut [u64]) -> usize {
    let Some(first) = buf.first_mut() else {
        return 0;
    };
    *first = rip;
    walk(rbp, buf, 1)
}

/// The call chain of a context that jumped to a null (or tiny) address: a call through a
/// null function pointer pushed its return address at `rsp`, so when that word names a
/// kernel function the chain is `rip`, that return address, then the frames from `rbp` (the
/// caller's frame is still current). Otherwise as [`capture_from_into`]. Returns the number
/// of frames written and whether `[rsp]` was taken as the return address.
pub fn capture_null_jump_into(rbp: u64, rip: u64, rsp: u64, buf: &mut [u64]) -> (usize, bool) {
    let ret = peek(rsp).filter(|&r| r != 0 && symbolize(r - 1).is_some());
    match (ret, buf.split_first_mut()) {
        (Some(ret), Some((first, rest))) if !rest.is_empty() => {
            *first = rip;
            (1 + capture_from_into(rbp, ret, rest), true)
        }
        _ => (capture_from_into(rbp, rip, buf), false),
    }
}

/// The 8-byte word at `addr` if it is aligned and mapped (a lock-free page-table walk, see
/// [`is_mapped`]); for reports about a broken context, whose stack pointer may be anything.
pub fn peek(addr: u64) -> Option<u64> {
    if !addr.is_multiple_of(8) || !is_mapped(addr) {
        return None;
    }
    // SAFETY: aligned and mapped (checked just above); the word is read as plain data.
    Some(unsafe { (addr as *const u64).read_volatile() })
}

/// Writes one line per frame, `  N: 0x0000000000123456 crate::module::function+0x1a`, for
/// frames that are all return addresses ([`capture`]). A return address points after its
/// call, so the function is looked up at `addr - 1` (the printed offset is of `addr`).
pub fn write_backtrace(frames: &[u64], out: &mut dyn fmt::Write) -> fmt::Result {
    write_frames(frames, false, out)
}

/// Like [`write_backtrace`] for [`capture_from`] frames: the first frame is the exact
/// instruction address of the interrupted context and is looked up as is.
pub fn write_fault_backtrace(frames: &[u64], out: &mut dyn fmt::Write) -> fmt::Result {
    write_frames(frames, true, out)
}

fn write_frames(frames: &[u64], exact_first: bool, out: &mut dyn fmt::Write) -> fmt::Result {
    for (i, &addr) in frames.iter().enumerate() {
        let adjust = u64::from(!(exact_first && i == 0) && addr != 0);
        match symbolize(addr - adjust) {
            Some((name, offset)) => {
                writeln!(out, "  {i}: {addr:#018x} {name}+{:#x}", offset + adjust)?
            }
            None => {
                write!(out, "  {i}: {addr:#018x} ")?;
                if !write_image_symbol(addr - adjust, adjust, out)? {
                    out.write_str("<unknown>")?;
                }
                out.write_str("\n")?;
            }
        }
    }
    Ok(())
}

/// The frame pointer of the calling function (callers are `#[inline(never)]`, so that is
/// their own frame).
#[inline(always)]
fn read_rbp() -> u64 {
    let rbp: u64;
    // SAFETY: reads a register; no memory access.
    unsafe {
        core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags))
    };
    rbp
}

/// Follows frame records `[saved rbp, return address]` from `rbp`, storing return addresses
/// in `buf[n..]`. Stops at a null, unaligned or unmapped frame pointer, a zero return
/// address, a saved frame pointer that does not move up the stack, or a full buffer.
fn walk(mut rbp: u64, buf: &mut [u64], mut n: usize) -> usize {
    while n < buf.len().min(MAX_FRAMES) {
        let Some(ret_slot) = rbp.checked_add(8) else {
            break;
        };
        if rbp == 0 || !rbp.is_multiple_of(8) || !is_mapped(rbp) || !is_mapped(ret_slot) {
            break;
        }
        // SAFETY: both words are 8-aligned and mapped (checked just above); a frame record
        // is plain data, and a stale or foreign one only yields a wrong address.
        let (next, ret) = unsafe {
            (
                (rbp as *const u64).read_volatile(),
                (ret_slot as *const u64).read_volatile(),
            )
        };
        if ret == 0 {
            break;
        }
        buf[n] = ret;
        n += 1;
        if next <= rbp {
            break;
        }
        rbp = next;
    }
    n
}

/// Whether `virt` is mapped in the active address space, by walking the page tables CR3
/// points at through the direct map, without taking the page-table lock.
pub fn is_mapped(virt: u64) -> bool {
    const PRESENT: u64 = 1;
    const HUGE: u64 = 1 << 7;
    const ADDR: u64 = 0x000f_ffff_ffff_f000;
    // Non-canonical addresses are never mapped (and would fault).
    let top = virt >> 47;
    if top != 0 && top != 0x1_ffff {
        return false;
    }
    let (frame, _) = x86_64::registers::control::Cr3::read();
    let mut table = frame.start_address().as_u64();
    for level in 0..4 {
        let index = (virt >> (39 - 9 * level)) & 0x1ff;
        let entry_addr = memory::phys_to_virt(table + index * 8);
        // SAFETY: page tables live in RAM, which the direct map covers entirely (read-only
        // access to an aligned u64 of an active table).
        let entry = unsafe { (entry_addr as *const u64).read_volatile() };
        if entry & PRESENT == 0 {
            return false;
        }
        // 1 GiB (level 1) and 2 MiB (level 2) pages end the walk.
        if (level == 1 || level == 2) && entry & HUGE != 0 {
            return true;
        }
        table = entry & ADDR;
    }
    true
}
