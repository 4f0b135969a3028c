//! The initial ramdisk format: a cpio "newc" archive (magic `070701`).
//!
//! Owns both directions of the format so that it lives in one place: the
//! reader ([`parse`], [`entries`]) used by the kernel to unpack the ramdisk,
//! and the writer ([`Builder`]) used by the host build tool to make it.
//! Depends only on `core` and `alloc`; no workspace crates.
//!
//! Hand-written rather than using `cpio_reader` (the only no_std cpio crate on
//! crates.io): that crate stops iterating silently on a corrupt or truncated
//! entry instead of reporting an error, `unwrap`s size conversions, rejects
//! modes with bits it does not know, and has no writer. The newc format is
//! tiny (a fixed 110-byte ASCII header), so a strict reader that reports every
//! defect as an [`InitrdError`] is less code than working around it.
//!
//! Layout of one entry: a 110-byte header (`070701` then 13 fields of 8 hex
//! digits: ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
//! rdevmajor, rdevminor, namesize, check), the name with its NUL terminator
//! (`namesize` bytes), zero padding up to a multiple of 4 counted from the
//! start of the archive, the data (`filesize` bytes), and zero padding to a
//! multiple of 4 again. The archive ends with an entry named `TRAILER!!!`;
//! anything after it (such as cpio's padding to 512-byte blocks) is ignored.
//!
//! Hard links (several entries sharing an inode, only the last one carrying
//! the data) are not merged: each appears as its own entry.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

/// Length in bytes of a newc header.
pub const HEADER_LEN: usize = 110;
/// The newc magic number, first 6 bytes of every header.
pub const MAGIC: &[u8; 6] = b"070701";
/// Name of the entry that ends the archive.
pub const TRAILER_NAME: &str = "TRAILER!!!";
/// Longest entry name accepted by the reader, in bytes without the NUL.
pub const MAX_NAME_LEN: usize = 4096;

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
const PERMISSION_BITS: u32 = 0o7777;

/// Names of the 13 hex fields of a header, in order.
const FIELDS: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];
const F_MODE: usize = 1;
const F_MTIME: usize = 5;
const F_FILESIZE: usize = 6;
const F_NAMESIZE: usize = 11;

/// What an archive entry is, from the file-type bits of its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file; `data` is its contents.
    File,
    /// A directory; `data` is empty.
    Directory,
    /// A symbolic link; `data` is the link target.
    Symlink,
    /// Anything else (device node, FIFO, socket).
    Other,
}

/// One entry of an archive, borrowing from the archive bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path with any leading `./` and `/` removed, e.g. `bin/hello`.
    pub path: &'a str,
    /// Kind of entry.
    pub kind: EntryKind,
    /// Permission bits (`mode & 0o7777`), without the file-type bits.
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: u64,
    /// File contents, or the target for a symlink.
    pub data: &'a [u8],
}

/// Why an archive could not be read. Every offset is a byte offset from the
/// start of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitrdError {
    /// The archive ends inside the header, name or data starting at `offset`.
    Truncated { offset: usize },
    /// The header at `offset` does not start with `070701`.
    BadMagic { offset: usize },
    /// The header field `field` at `offset` is not 8 hex digits, or its value
    /// is impossible (a zero `namesize`, a name not ending in NUL).
    BadHeaderField { offset: usize, field: &'static str },
    /// The name at `offset` is not valid UTF-8.
    NameNotUtf8 { offset: usize },
    /// The name at `offset` is `len` bytes long, more than [`MAX_NAME_LEN`].
    NameTooLong { offset: usize, len: usize },
    /// The archive ends without a `TRAILER!!!` entry.
    MissingTrailer,
}

impl fmt::Display for InitrdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { offset } => {
                write!(
                    f,
                    "initrd truncated: entry part at byte offset {offset} is cut off"
                )
            }
            Self::BadMagic { offset } => {
                write!(
                    f,
                    "initrd: bad magic at byte offset {offset} (expected \"070701\")"
                )
            }
            Self::BadHeaderField { offset, field } => {
                write!(
                    f,
                    "initrd: bad header field `{field}` at byte offset {offset}"
                )
            }
            Self::NameNotUtf8 { offset } => {
                write!(f, "initrd: entry name at byte offset {offset} is not UTF-8")
            }
            Self::NameTooLong { offset, len } => write!(
                f,
                "initrd: entry name at byte offset {offset} is {len} bytes (max {MAX_NAME_LEN})"
            ),
            Self::MissingTrailer => write!(f, "initrd: archive ends without a TRAILER!!! entry"),
        }
    }
}

impl core::error::Error for InitrdError {}

/// Reads a whole archive, skipping the root (`.`) entry.
///
/// Returns the first error met; never panics, whatever the input.
pub fn parse(archive: &[u8]) -> Result<Vec<Entry<'_>>, InitrdError> {
    entries(archive).collect()
}

/// Iterates over the entries of an archive, skipping the root (`.`) entry.
///
/// After yielding an error, or on reaching the trailer, the iterator ends.
pub fn entries(archive: &[u8]) -> Entries<'_> {
    Entries {
        archive,
        pos: 0,
        done: false,
    }
}

/// Iterator returned by [`entries`].
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    archive: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, InitrdError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match read_entry(self.archive, self.pos) {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(None) => self.done = true,
                Ok(Some((raw, next))) => {
                    self.pos = next;
                    let path = strip_path(raw.name);
                    if path.is_empty() || path == "." {
                        continue;
                    }
                    return Some(Ok(Entry {
                        path,
                        kind: kind_of(raw.mode),
                        mode: raw.mode & PERMISSION_BITS,
                        mtime: raw.mtime,
                        data: raw.data,
                    }));
                }
            }
        }
        None
    }
}

impl core::iter::FusedIterator for Entries<'_> {}

/// An entry as stored, before path clean-up.
struct RawEntry<'a> {
    name: &'a str,
    mode: u32,
    mtime: u64,
    data: &'a [u8],
}

/// Rounds `n` up to a multiple of 4, or `None` on overflow.
fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|v| v & !3)
}

/// Returns `archive[start..start + len]`, or `Truncated { offset: start }`.
fn slice(archive: &[u8], start: usize, len: usize) -> Result<&[u8], InitrdError> {
    start
        .checked_add(len)
        .and_then(|end| archive.get(start..end))
        .ok_or(InitrdError::Truncated { offset: start })
}

/// Parses 8 ASCII hex digits (no sign, no prefix).
fn parse_hex8(bytes: &[u8]) -> Option<u32> {
    if bytes.len() != 8 {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, &b| {
        let digit = char::from(b).to_digit(16)?;
        Some((acc << 4) | digit)
    })
}

/// Reads the entry at `pos`. `Ok(None)` means the trailer was reached.
/// On success also returns the offset of the next entry.
fn read_entry(archive: &[u8], pos: usize) -> Result<Option<(RawEntry<'_>, usize)>, InitrdError> {
    if pos == archive.len() {
        return Err(InitrdError::MissingTrailer);
    }
    let header = slice(archive, pos, HEADER_LEN)?;
    if &header[..6] != MAGIC {
        return Err(InitrdError::BadMagic { offset: pos });
    }
    let mut fields = [0u32; 13];
    for (i, (value, name)) in fields.iter_mut().zip(FIELDS).enumerate() {
        let start = 6 + 8 * i;
        *value = parse_hex8(&header[start..start + 8]).ok_or(InitrdError::BadHeaderField {
            offset: pos + start,
            field: name,
        })?;
    }
    let field_offset = |i: usize| pos + 6 + 8 * i;

    let namesize = fields[F_NAMESIZE] as usize;
    if namesize == 0 {
        return Err(InitrdError::BadHeaderField {
            offset: field_offset(F_NAMESIZE),
            field: "namesize",
        });
    }
    let name_start = pos + HEADER_LEN;
    let name_len = namesize - 1;
    if name_len > MAX_NAME_LEN {
        return Err(InitrdError::NameTooLong {
            offset: name_start,
            len: name_len,
        });
    }
    let name_with_nul = slice(archive, name_start, namesize)?;
    let (name_bytes, nul) = name_with_nul.split_at(name_len);
    if nul != [0] || name_bytes.contains(&0) {
        return Err(InitrdError::BadHeaderField {
            offset: field_offset(F_NAMESIZE),
            field: "namesize",
        });
    }
    let name = core::str::from_utf8(name_bytes)
        .map_err(|_| InitrdError::NameNotUtf8 { offset: name_start })?;

    let name_end = name_start + namesize;
    let data_start = align4(name_end).ok_or(InitrdError::Truncated { offset: name_end })?;
    // The padding after the name must be present, even for the trailer.
    slice(archive, name_end, data_start - name_end)?;

    if name == TRAILER_NAME {
        return Ok(None);
    }

    let filesize =
        usize::try_from(fields[F_FILESIZE]).map_err(|_| InitrdError::BadHeaderField {
            offset: field_offset(F_FILESIZE),
            field: "filesize",
        })?;
    let data = slice(archive, data_start, filesize)?;
    let data_end = data_start + filesize;
    let next = align4(data_end).ok_or(InitrdError::Truncated { offset: data_end })?;
    if next > archive.len() {
        return Err(InitrdError::Truncated { offset: data_end });
    }
    Ok(Some((
        RawEntry {
            name,
            mode: fields[F_MODE],
            mtime: u64::from(fields[F_MTIME]),
            data,
        },
        next,
    )))
}

/// Removes leading `./` and `/` sequences; a bare `.` stays `.`.
fn strip_path(mut name: &str) -> &str {
    loop {
        if let Some(rest) = name.strip_prefix("./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix('/') {
            name = rest;
        } else {
            return name;
        }
    }
}

fn kind_of(mode: u32) -> EntryKind {
    match mode & S_IFMT {
        S_IFREG => EntryKind::File,
        S_IFDIR => EntryKind::Directory,
        S_IFLNK => EntryKind::Symlink,
        _ => EntryKind::Other,
    }
}

/// Writes a newc archive in memory. Used by the host build tool.
///
/// Paths are written as given (use relative paths such as `bin/hello`);
/// inode numbers are assigned from 1 upwards.
#[derive(Debug, Default, Clone)]
pub struct Builder {
    out: Vec<u8>,
    next_ino: u32,
}

impl Builder {
    /// Starts an empty archive.
    pub fn new() -> Self {
        Self {
            out: Vec::new(),
            next_ino: 1,
        }
    }

    /// Adds a directory with permission bits `mode` (`& 0o7777`) and
    /// modification time `mtime` (seconds; saturates at `u32::MAX`).
    pub fn add_dir(&mut self, path: &str, mode: u32, mtime: u64) {
        self.push(path, S_IFDIR | (mode & PERMISSION_BITS), 2, mtime, &[]);
    }

    /// Adds a regular file.
    ///
    /// # Panics
    /// If `data` is 4 GiB or larger, which newc cannot represent.
    pub fn add_file(&mut self, path: &str, mode: u32, mtime: u64, data: &[u8]) {
        self.push(path, S_IFREG | (mode & PERMISSION_BITS), 1, mtime, data);
    }

    /// Adds a symbolic link pointing to `target` (permission bits 0o777).
    pub fn add_symlink(&mut self, path: &str, target: &str, mtime: u64) {
        self.push(path, S_IFLNK | 0o777, 1, mtime, target.as_bytes());
    }

    /// Writes the trailer and returns the archive bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.write_header(TRAILER_NAME, 0, 0, 1, 0, 0);
        self.out
    }

    fn push(&mut self, path: &str, mode: u32, nlink: u32, mtime: u64, data: &[u8]) {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.wrapping_add(1);
        let mtime = u32::try_from(mtime).unwrap_or(u32::MAX);
        let size = u32::try_from(data.len()).expect("newc cannot store a file of 4 GiB or more");
        self.write_header(path, ino, mode, nlink, mtime, size);
        self.out.extend_from_slice(data);
        self.pad();
    }

    /// Writes header, name, NUL and padding.
    fn write_header(&mut self, name: &str, ino: u32, mode: u32, nlink: u32, mtime: u32, size: u32) {
        let namesize =
            u32::try_from(name.len() + 1).expect("newc cannot store a name of 4 GiB or more");
        let fields = [ino, mode, 0, 0, nlink, mtime, size, 0, 0, 0, 0, namesize, 0];
        self.out.extend_from_slice(MAGIC);
        for value in fields {
            for shift in (0..8).rev() {
                let digit = (value >> (shift * 4)) & 0xf;
                self.out.push(b"0123456789ABCDEF"[digit as usize]);
            }
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }
}

#[cfg(test)]
mod tests;
