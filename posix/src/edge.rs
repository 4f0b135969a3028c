//! The C-ABI edge shared by every module: the per-thread errno, turning results into
//! hermit's return values, and turning raw pointers into references and slices.
//!
//! The pointer functions are `unsafe`: they check null (`EFAULT`) and alignment (`EINVAL`),
//! but trust that a non-null pointer is valid for the given length, as the `sys_*`
//! functions' callers (trusted programs in the same address space) guarantee.

use crate::abi;
use core::ffi::{CStr, c_char};
use libtheseus::sync::Once;
use libtheseus::{Errno, Result, tls};

/// The TLS key of the per-thread errno (`sys_get_errno`).
fn errno_key() -> tls::Key {
    static KEY: Once<tls::Key> = Once::new();
    *KEY.call_once(|| tls::Key::new(None))
}

/// The calling thread's last errno (0 if none yet).
pub fn errno() -> i32 {
    errno_key().get() as u32 as i32
}

/// Records `e` as the calling thread's errno.
pub fn set_errno(e: Errno) {
    errno_key().set(u64::from(e.raw() as u32));
}

/// An errno from an `abi::E*` number.
pub fn err(n: i32) -> Errno {
    Errno::from_raw(n)
}

/// Hermit's `i32` return: the value, or the negated errno (also recorded).
pub fn ret_i32(r: Result<i32>) -> i32 {
    r.unwrap_or_else(|e| {
        set_errno(e);
        -e.raw()
    })
}

/// Hermit's `isize` return for counts.
pub fn ret_isize(r: Result<usize>) -> isize {
    match r {
        Ok(n) => isize::try_from(n).unwrap_or(isize::MAX),
        Err(e) => {
            set_errno(e);
            -(e.raw() as isize)
        }
    }
}

/// A descriptor argument: negative ones are `EBADF`.
pub fn fd(fd: i32) -> Result<u32> {
    u32::try_from(fd).map_err(|_| Errno::EBADF)
}

/// A path argument: `EFAULT` if null, `EINVAL` if not UTF-8.
///
/// # Safety
/// A non-null `name` must point to a NUL-terminated string valid during `'a`.
pub unsafe fn path<'a>(name: *const c_char) -> Result<&'a str> {
    if name.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: non-null; the program passes a NUL-terminated string that stays valid for the
    // call (trusted program in the same address space).
    let c = unsafe { CStr::from_ptr(name) };
    c.to_str().map_err(|_| Errno::EINVAL)
}

/// `len` bytes at `ptr` to read (`EFAULT` if null and `len > 0`).
///
/// # Safety
/// A non-null `ptr` must be valid for reads of `len` bytes during `'a`.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8]> {
    // SAFETY: forwarded contract.
    unsafe { slice(ptr, len) }
}

/// `len` bytes at `ptr` to write (`EFAULT` if null and `len > 0`).
///
/// # Safety
/// A non-null `ptr` must be valid for writes of `len` bytes, unaliased, during `'a`.
pub unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8]> {
    // SAFETY: forwarded contract.
    unsafe { slice_mut(ptr, len) }
}

/// `len` values at `ptr` to read: `EFAULT` if null (with `len > 0`), `EINVAL` if misaligned.
///
/// # Safety
/// A non-null `ptr` must be valid for reads of `len` initialised values during `'a`.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check(ptr)?;
    // SAFETY: non-null and aligned (checked); the program guarantees `len` initialised
    // values there for the call (lengths are trusted).
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` values at `ptr` to write: `EFAULT` if null (with `len > 0`), `EINVAL` if
/// misaligned. Only for plain-data `T` (integers, `#[repr(C)]` structs of them) so stale
/// bytes are valid values.
///
/// # Safety
/// A non-null `ptr` must be valid for writes of `len` values, unaliased, during `'a`.
pub unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    check(ptr)?;
    // SAFETY: non-null and aligned (checked); the program guarantees `len` writable values
    // there, not aliased during the call (lengths are trusted).
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// Reads the value at `ptr` (`EFAULT` if null, `EINVAL` if misaligned).
///
/// # Safety
/// A non-null `ptr` must point to a valid `T`.
pub unsafe fn read_in<T: Copy>(ptr: *const T) -> Result<T> {
    check(ptr)?;
    // SAFETY: non-null and aligned (checked); the program passes a valid `T` (trusted).
    Ok(unsafe { ptr.read() })
}

/// Writes `value` to `ptr` (`EFAULT` if null, `EINVAL` if misaligned).
///
/// # Safety
/// A non-null `ptr` must be valid for a write of a `T`.
pub unsafe fn write_out<T>(ptr: *mut T, value: T) -> Result<()> {
    check(ptr)?;
    // SAFETY: non-null and aligned (checked); the program passes memory for a `T` (trusted).
    // `write` does not read or drop the old bytes.
    unsafe { ptr.write(value) };
    Ok(())
}

fn check<T>(ptr: *const T) -> Result<()> {
    if ptr.is_null() {
        Err(Errno::EFAULT)
    } else if !ptr.is_aligned() {
        Err(err(abi::EINVAL))
    } else {
        Ok(())
    }
}
