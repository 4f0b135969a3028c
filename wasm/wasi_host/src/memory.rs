//! [`GuestMemory`]: a guest's linear memory seen by the host, every access bounds-checked
//! (an out-of-range pointer or length is `EFAULT`, never a host fault).

use crate::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Most entries of an `iovec`/`ciovec` array (Linux's `IOV_MAX`); more is `INVAL`, so the
/// host never allocates more than 8 KiB for one, whatever the guest asks.
pub const IOV_MAX: u32 = 1024;
/// Longest path a guest may pass (Linux's `PATH_MAX`); longer is `NAMETOOLONG`, before the
/// host copies it.
pub const PATH_MAX: u32 = 4096;

/// A guest's linear memory. Implementors give the byte slice; every accessor checks
/// `ptr + len` against its length (with overflow checks) and fails with [`Errno::FAULT`].
pub trait GuestMemory {
    /// All of the memory.
    fn bytes(&self) -> &[u8];
    /// All of the memory, writable.
    fn bytes_mut(&mut self) -> &mut [u8];

    /// `len` bytes at `ptr`.
    fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let (start, end) = range(ptr, len)?;
        self.bytes().get(start..end).ok_or(Errno::FAULT)
    }

    /// `len` bytes at `ptr`, writable.
    fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let (start, end) = range(ptr, len)?;
        self.bytes_mut().get_mut(start..end).ok_or(Errno::FAULT)
    }

    /// Fills `dst` from `ptr`.
    fn read(&self, ptr: u32, dst: &mut [u8]) -> Result<(), Errno> {
        let len = u32::try_from(dst.len()).map_err(|_| Errno::FAULT)?;
        dst.copy_from_slice(self.slice(ptr, len)?);
        Ok(())
    }

    /// Copies `data` to `ptr`.
    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::FAULT)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        let b = self.slice(ptr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn write_u8(&mut self, ptr: u32, v: u8) -> Result<(), Errno> {
        self.write(ptr, &[v])
    }

    fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// A UTF-8 path of `len` bytes at `ptr` (`ILSEQ` if it is not UTF-8, `NAMETOOLONG` past
    /// [`PATH_MAX`]).
    fn read_str(&self, ptr: u32, len: u32) -> Result<String, Errno> {
        let b = self.slice(ptr, len)?;
        if len > PATH_MAX {
            return Err(Errno::NAMETOOLONG);
        }
        core::str::from_utf8(b)
            .map(String::from)
            .map_err(|_| Errno::ILSEQ)
    }

    /// The `(buf, buf_len)` pairs of an `iovec`/`ciovec` array of `count` entries at `ptr`,
    /// each checked to lie inside the memory (`FAULT`). More than [`IOV_MAX`] entries is
    /// `INVAL`; lengths adding up past `u32::MAX` (the count the call returns) `OVERFLOW`.
    fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, usize)>, Errno> {
        let table = self.slice(ptr, count.checked_mul(8).ok_or(Errno::FAULT)?)?;
        if count > IOV_MAX {
            return Err(Errno::INVAL);
        }
        let mut out = Vec::with_capacity(count as usize);
        let mut total: u32 = 0;
        for chunk in table.chunks_exact(8) {
            let buf = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            range(buf, len)
                .ok()
                .filter(|&(_, end)| end <= self.bytes().len())
                .ok_or(Errno::FAULT)?;
            total = total.checked_add(len).ok_or(Errno::OVERFLOW)?;
            out.push((buf, len as usize));
        }
        Ok(out)
    }
}

fn range(ptr: u32, len: u32) -> Result<(usize, usize), Errno> {
    let start = ptr as usize;
    let end = start.checked_add(len as usize).ok_or(Errno::FAULT)?;
    Ok((start, end))
}

impl GuestMemory for [u8] {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl GuestMemory for &mut [u8] {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl GuestMemory for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}
