//! The contents of a regular file: the bytes stored, and a length that may reach past them.
//! The part past the stored bytes is a hole that reads as zeros and takes no memory, as
//! `ftruncate` past the end makes on Linux's tmpfs; writing into it, or `allocate`, stores
//! bytes up to that point. Holes exist only at the end: a write past the stored bytes fills
//! the gap before it.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::Errno;

/// The allocation unit reported for files (`st_blocks` counts these, in 512-byte units).
pub const BLOCK_SIZE: u64 = 4096;

/// The largest file length (Linux's, for a 64-bit `off_t`).
const MAX_LEN: u64 = i64::MAX as u64;

#[derive(Default)]
pub(crate) struct FileData {
    stored: Vec<u8>,
    len: u64,
}

impl FileData {
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Bytes of memory given to the contents, in whole blocks.
    pub(crate) fn allocated(&self) -> u64 {
        (self.stored.len() as u64).div_ceil(BLOCK_SIZE) * BLOCK_SIZE
    }

    /// What the contents cost in the file system's byte budget.
    pub(crate) fn capacity(&self) -> u64 {
        self.stored.capacity() as u64
    }

    /// The whole contents: borrowed when nothing of it is a hole, else a copy with the
    /// hole's zeros (`NoSpace` when memory for it runs out).
    pub(crate) fn contents(&self) -> Result<Cow<'_, [u8]>, Errno> {
        if self.stored.len() as u64 == self.len {
            return Ok(Cow::Borrowed(&self.stored));
        }
        let len = usize::try_from(self.len).map_err(|_| Errno::ENOSPC)?;
        let mut all = Vec::new();
        all.try_reserve_exact(len).map_err(|_| Errno::ENOSPC)?;
        all.extend_from_slice(&self.stored);
        all.resize(len, 0);
        Ok(Cow::Owned(all))
    }

    /// Copies bytes from `offset` into `buf` (zeros from a hole); the count copied, 0 at or
    /// past the end.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        if offset >= self.len {
            return 0;
        }
        let n = buf
            .len()
            .min(usize::try_from(self.len - offset).unwrap_or(usize::MAX));
        let stored = self.stored.len() as u64;
        let from_stored = if offset < stored {
            let start = offset as usize;
            let k = n.min(self.stored.len() - start);
            buf[..k].copy_from_slice(&self.stored[start..start + k]);
            k
        } else {
            0
        };
        buf[from_stored..n].fill(0);
        n
    }

    /// Writes `data` at `offset`, storing any gap before it as zeros; the growth of the
    /// capacity (within `left` bytes of budget).
    pub(crate) fn write_at(&mut self, offset: u64, data: &[u8], left: u64) -> Result<u64, Errno> {
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&end| end <= MAX_LEN)
            .ok_or(Errno::ENOSPC)?;
        let added = self.store_to(end, left)?;
        let start = offset as usize;
        self.stored[start..start + data.len()].copy_from_slice(data);
        self.len = self.len.max(end);
        Ok(added)
    }

    /// Sets the length: cutting stored bytes, or making a hole up to `len` (no memory).
    /// Returns the capacity released.
    pub(crate) fn set_len(&mut self, len: u64) -> Result<u64, Errno> {
        if len > MAX_LEN {
            return Err(Errno::ENOSPC);
        }
        let before = self.stored.capacity();
        if (len as usize) < self.stored.len() {
            let len = len as usize;
            self.stored.truncate(len);
            if self.stored.capacity() / 2 > len {
                self.stored.shrink_to_fit();
            }
        }
        self.len = len;
        Ok((before - self.stored.capacity()) as u64)
    }

    /// Stores bytes up to `end` (zeros where nothing was stored); with `keep_len` only up to
    /// the current length, else the length grows to `end`. The growth of the capacity.
    pub(crate) fn allocate(&mut self, end: u64, keep_len: bool, left: u64) -> Result<u64, Errno> {
        if end > MAX_LEN {
            return Err(Errno::ENOSPC);
        }
        let end = if keep_len { end.min(self.len) } else { end };
        let added = self.store_to(end, left)?;
        self.len = self.len.max(end);
        Ok(added)
    }

    /// Zero-extends the stored bytes to at least `end`, the capacity growing by at most
    /// `left` (doubling while the budget allows, then exactly to what is needed). Returns the
    /// growth; `NoSpace` (nothing changed) past the budget or when memory runs out.
    fn store_to(&mut self, end: u64, left: u64) -> Result<u64, Errno> {
        let len = usize::try_from(end).map_err(|_| Errno::ENOSPC)?;
        let file = &mut self.stored;
        let before = file.capacity();
        if len > before {
            let most = (before as u64).saturating_add(left);
            if len as u64 > most {
                return Err(Errno::ENOSPC);
            }
            let target = before
                .saturating_mul(2)
                .max(len)
                .min(usize::try_from(most).unwrap_or(usize::MAX));
            file.try_reserve_exact(target - file.len())
                .or_else(|_| file.try_reserve_exact(len - file.len()))
                .map_err(|_| Errno::ENOSPC)?;
        }
        if len > file.len() {
            file.resize(len, 0);
        }
        Ok((file.capacity() - before) as u64)
    }
}

impl From<Vec<u8>> for FileData {
    fn from(stored: Vec<u8>) -> Self {
        FileData {
            len: stored.len() as u64,
            stored,
        }
    }
}
