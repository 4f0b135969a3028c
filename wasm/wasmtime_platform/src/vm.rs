//! Virtual memory for wasmtime (`custom-virtual-memory`): its mappings are libtheseus
//! regions; the ranges it makes executable (its compiled code) are remembered so the trap
//! handler can tell a fault in wasm code from any other.
//!
//! wasmtime passes page-aligned addresses and lengths. Memory is committed on first touch
//! (`Commit::OnDemand`), so a linear memory's 4 GiB reservation costs only address space.
//! Errors are returned as positive errno numbers (wasmtime reports "os error N").

use alloc::collections::BTreeMap;
use libtheseus::Errno;
use libtheseus::mmap::{self, Commit, Protection};
use libtheseus::sync::CpuMutex;

const PROT_READ: u32 = 1 << 0;
const PROT_WRITE: u32 = 1 << 1;
const PROT_EXEC: u32 = 1 << 2;

/// Executable ranges made by `wasmtime_mprotect`: start -> end.
static CODE: CpuMutex<BTreeMap<usize, usize>> = CpuMutex::new(BTreeMap::new());

fn protection(flags: u32) -> Protection {
    // x86 cannot make a page writable or executable without reads.
    let read = flags & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0;
    Protection::new(read, flags & PROT_WRITE != 0, flags & PROT_EXEC != 0)
}

fn status(r: Result<(), Errno>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.raw().max(1),
    }
}

/// Forgets executable ranges overlapping `start..end`.
fn forget_code(start: usize, end: usize) {
    let mut code = CODE.lock();
    let overlapping: alloc::vec::Vec<usize> = code
        .range(..end)
        .filter(|&(_, &e)| e > start)
        .map(|(&s, _)| s)
        .collect();
    for s in overlapping {
        code.remove(&s);
    }
}

/// Whether `ip` lies in code wasmtime made executable. Usable from a fault handler: it does
/// not allocate, waits for a holder of the registry on another CPU, and answers `false` if
/// the registry was locked on this CPU (by the code the fault interrupted, or a thread
/// preempted here while holding it).
pub fn is_wasm_code(ip: usize) -> bool {
    let Some(code) = CODE.lock_unless_held_here() else {
        return false;
    };
    code.range(..=ip)
        .next_back()
        .is_some_and(|(_, &end)| ip < end)
}

/// `wasmtime_mmap_new`: a new mapping of `size` bytes with `prot_flags`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_mmap_new(size: usize, prot_flags: u32, ret: &mut *mut u8) -> i32 {
    match mmap::map(size, protection(prot_flags), Commit::OnDemand) {
        Ok(addr) => {
            *ret = addr as *mut u8;
            0
        }
        Err(e) => status(Err(e)),
    }
}

/// `wasmtime_mmap_remap`: fresh zeroed pages with `prot_flags` over `addr..addr + size`
/// (protecting to `NONE` frees the old frames; pages made accessible again read as zeros).
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_mmap_remap(addr: *mut u8, size: usize, prot_flags: u32) -> i32 {
    let addr = addr as usize;
    forget_code(addr, addr.saturating_add(size));
    let r = mmap::protect_at(addr, size, Protection::NONE);
    let r = r.and_then(|()| match protection(prot_flags) {
        Protection::NONE => Ok(()),
        p => mmap::protect_at(addr, size, p),
    });
    status(r)
}

/// `wasmtime_munmap`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_munmap(ptr: *mut u8, size: usize) -> i32 {
    let addr = ptr as usize;
    forget_code(addr, addr.saturating_add(size));
    status(mmap::unmap_at(addr, size))
}

/// `wasmtime_mprotect`: executable ranges are recorded for the trap handler.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_mprotect(ptr: *mut u8, size: usize, prot_flags: u32) -> i32 {
    let addr = ptr as usize;
    let end = addr.saturating_add(size);
    forget_code(addr, end);
    let r = mmap::protect_at(addr, size, protection(prot_flags));
    if r.is_ok() && prot_flags & PROT_EXEC != 0 {
        CODE.lock().insert(addr, end);
    }
    status(r)
}

/// `wasmtime_page_size`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_page_size() -> usize {
    mmap::page_size()
}

/// wasmtime's opaque memory-image type (never created here).
pub(crate) enum WasmtimeMemoryImage {}

/// `wasmtime_memory_image_new`: no images (NULL, not an error), so wasmtime initializes
/// memories by copying their data segments (`memory_init_cow` is off in `wasmtime_config`
/// too).
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_memory_image_new(
    _ptr: *const u8,
    _len: usize,
    ret: &mut *mut WasmtimeMemoryImage,
) -> i32 {
    *ret = core::ptr::null_mut();
    0
}

/// `wasmtime_memory_image_map_at`: never called (no image is ever made); an error if it is.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_memory_image_map_at(
    _image: *mut WasmtimeMemoryImage,
    _addr: *mut u8,
    _len: usize,
) -> i32 {
    Errno::ENOSYS.raw()
}

/// `wasmtime_memory_image_free`: nothing to free.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_memory_image_free(_image: *mut WasmtimeMemoryImage) {}
