//! The program loader: checks an x86_64 ELF executable and maps its segments into the user
//! region with their own permissions (text RX, rodata R, data RW, never writable and
//! executable). Programs are static, position-independent Linux executables ([`linux`]); they
//! relocate themselves. Bad input of any kind is an error naming the problem, never a panic.
//! The pages no writable segment touches are filled once into `memory::SharedPages`, which
//! later loads of the same bytes map instead of copying ([`load_sharing`]); only the writable
//! pages are each image's own.
//!
//! Owns: ELF validation, the mapped image. Depends on `memory`, `object`.

#![no_std]

extern crate alloc;

pub mod linux;
mod tests;

pub use linux::{LinuxProgram, classify, load, load_sharing};

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use memory::{Commit, Mapping, Protection, SharedPages};
use object::Endianness;
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};

const PAGE: u64 = 4096;
/// Largest image accepted (address span of all segments).
const MAX_IMAGE: u64 = 1 << 30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Not an ELF file, or its headers are cut off or inconsistent.
    NotElf(String),
    WrongClass,
    WrongMachine(u16),
    /// `ET_EXEC` or an object file: programs must be position-independent executables.
    NotPositionIndependent(u16),
    NoSegments,
    /// A segment lies outside the file or the image, or the image is too large.
    BadSegment(String),
    /// A position-independent file that is not an executable (a shared library).
    NotAnExecutable,
    /// A dynamically linked executable (it names an interpreter in `PT_INTERP`).
    NeedsInterpreter,
    OutOfMemory,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            LoadError::NotElf(why) => write!(f, "not a valid ELF file: {why}"),
            LoadError::WrongClass => f.write_str("not a 64-bit ELF file"),
            LoadError::WrongMachine(m) => {
                write!(f, "built for another machine (e_machine {m}), not x86_64")
            }
            LoadError::NotPositionIndependent(t) => write!(
                f,
                "ELF type {t} is not a position-independent executable (link with -static-pie)"
            ),
            LoadError::NoSegments => f.write_str("no loadable segments"),
            LoadError::BadSegment(why) => write!(f, "bad segment: {why}"),
            LoadError::NotAnExecutable => {
                f.write_str("a shared library, not an executable (link with -static-pie)")
            }
            LoadError::NeedsInterpreter => f.write_str(
                "dynamically linked: needs a dynamic loader, which this OS does not have (link it statically, e.g. -static-pie)"
            ),
            LoadError::OutOfMemory => f.write_str("out of memory"),
        }
    }
}

fn prot_of(flags: elf::ProgramFlags) -> Protection {
    let exec = flags.0 & elf::PF_X.0 != 0;
    // W^X: a writable segment is never executable.
    let write = flags.0 & elf::PF_W.0 != 0;
    Protection::new(true, write, exec && !write)
}

type Elf<'a> = ElfFile64<'a, Endianness>;
type Phdr = elf::ProgramHeader64<Endianness>;

/// Parses `bytes` as an x86_64 ELF64 file.
fn open(bytes: &[u8]) -> Result<Elf<'_>, LoadError> {
    if bytes.len() < 5 || &bytes[..4] != b"\x7fELF" {
        return Err(LoadError::NotElf("missing ELF magic".into()));
    }
    if bytes[4] != elf::ELFCLASS64.0 {
        return Err(LoadError::WrongClass);
    }
    let file = Elf::parse(bytes).map_err(|e| LoadError::NotElf(e.to_string()))?;
    let machine = file.elf_header().e_machine(file.endian());
    if machine != elf::EM_X86_64 {
        return Err(LoadError::WrongMachine(machine.0));
    }
    Ok(file)
}

/// The `PT_LOAD` headers, each checked against the file, and the image span (page rounded).
fn checked_segments<'a>(file: &Elf<'a>, bytes: &[u8]) -> Result<(Vec<&'a Phdr>, u64), LoadError> {
    let endian = file.endian();
    let loads: Vec<_> = file
        .elf_program_headers()
        .iter()
        .filter(|p| p.p_type(endian) == elf::PT_LOAD)
        .collect();
    if loads.is_empty() {
        return Err(LoadError::NoSegments);
    }
    let mut span = 0u64;
    for p in &loads {
        let (vaddr, memsz, filesz) = (p.p_vaddr(endian), p.p_memsz(endian), p.p_filesz(endian));
        let end = vaddr
            .checked_add(memsz)
            .ok_or_else(|| LoadError::BadSegment("address overflow".into()))?;
        if filesz > memsz {
            return Err(LoadError::BadSegment(alloc::format!(
                "file size {filesz:#x} > memory size {memsz:#x}"
            )));
        }
        let off = p.p_offset(endian);
        if off
            .checked_add(filesz)
            .is_none_or(|e| e > bytes.len() as u64)
        {
            return Err(LoadError::BadSegment(alloc::format!(
                "segment at {vaddr:#x} lies outside the file"
            )));
        }
        span = span.max(end);
    }
    let span = span.next_multiple_of(PAGE);
    if span > MAX_IMAGE {
        return Err(LoadError::BadSegment(alloc::format!(
            "image of {span:#x} bytes is too large"
        )));
    }
    Ok((loads, span))
}

/// Each page's protection from the segments over it (a page shared by two segments gets both's
/// rights, never writable and executable; pages of no segment: none), as runs of equal
/// protection: (first page, page count, protection).
fn page_runs(file: &Elf<'_>, loads: &[&Phdr], span: u64) -> Vec<(u64, u64, Protection)> {
    let endian = file.endian();
    let mut pages: Vec<Protection> = alloc::vec![Protection::NONE; (span / PAGE) as usize];
    for p in loads {
        let prot = prot_of(p.p_flags(endian));
        let (start, end) = (
            p.p_vaddr(endian) / PAGE,
            (p.p_vaddr(endian) + p.p_memsz(endian)).div_ceil(PAGE),
        );
        for page in &mut pages[start as usize..end as usize] {
            *page = Protection::new(
                true,
                page.write || prot.write,
                (page.exec || prot.exec) && !(page.write || prot.write),
            );
        }
    }
    let mut runs = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let prot = pages[i];
        let mut j = i;
        while j < pages.len() && pages[j] == prot {
            j += 1;
        }
        runs.push((i as u64, (j - i) as u64, prot));
        i = j;
    }
    runs
}

/// Copies into `dst`, the image bytes at `at..at + dst.len()`, the segments' file bytes that
/// fall there (the rest of `dst` is left as it is: zeros).
fn copy_segments(file: &Elf<'_>, loads: &[&Phdr], bytes: &[u8], at: u64, dst: &mut [u8]) {
    let endian = file.endian();
    let end = at + dst.len() as u64;
    for p in loads {
        let (vaddr, off, filesz) = (p.p_vaddr(endian), p.p_offset(endian), p.p_filesz(endian));
        // Checked against the file and the span by `checked_segments`.
        let (from, to) = (vaddr.max(at), (vaddr + filesz).min(end));
        if from >= to {
            continue;
        }
        let src = (off + (from - vaddr)) as usize..(off + (to - vaddr)) as usize;
        dst[(from - at) as usize..(to - at) as usize].copy_from_slice(&bytes[src]);
    }
}

/// The image of a checked file: a user mapping of `span` bytes whose writable pages are its
/// own (zeroed, then the segments' bytes copied in) and whose read-only pages map the frames
/// of `read_only` (the program's text and read-only data, filled from the file the first
/// time and shared by every process running it). `shared` is reused when it has the image's
/// length (the caller vouches that it was made from the same bytes), else made here.
fn map_image(
    file: &Elf<'_>,
    loads: &[&Phdr],
    bytes: &[u8],
    span: u64,
    shared: Option<&Arc<SharedPages>>,
) -> Result<(Mapping, Arc<SharedPages>), LoadError> {
    let oom = |_| LoadError::OutOfMemory;
    let runs = page_runs(file, loads, span);
    let read_only = match shared {
        Some(pages) if pages.len() == span => pages.clone(),
        _ => {
            let mut pages = SharedPages::new(span).map_err(oom)?;
            for &(first, count, prot) in &runs {
                if prot.is_accessible() && !prot.write {
                    let at = first * PAGE;
                    copy_segments(
                        file,
                        loads,
                        bytes,
                        at,
                        pages.fill(at, count * PAGE).map_err(oom)?,
                    );
                }
            }
            pages.finish().map_err(oom)?
        }
    };
    let mut image = Mapping::new_user(span, Protection::NONE, Commit::Now).map_err(oom)?;
    for (first, count, prot) in runs {
        let (at, len) = (first * PAGE, count * PAGE);
        if !prot.is_accessible() {
            continue;
        }
        if !prot.write {
            image.share(at, len, &read_only, at, prot).map_err(oom)?;
            continue;
        }
        image.protect(at, len, prot).map_err(oom)?;
        // SAFETY: `at..at + len` lies inside the image, committed and writable just now, and
        // nothing else reaches this fresh mapping yet.
        let dst = unsafe {
            core::slice::from_raw_parts_mut((image.start() + at) as *mut u8, len as usize)
        };
        copy_segments(file, loads, bytes, at, dst);
    }
    Ok((image, read_only))
}
