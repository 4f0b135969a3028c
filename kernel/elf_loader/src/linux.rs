//! Linux programs: static, position-independent x86_64 executables (what the stock
//! `x86_64-unknown-linux-musl` target and `musl-gcc -static-pie` produce) mapped into the user
//! region, unrelocated: such a program relocates itself (musl's `rcrt1.o`) from the auxiliary
//! vector the process builds. Its segments get their own permissions; nothing else is done.

use crate::{LoadError, checked_segments, map_image, open};
use alloc::sync::Arc;
use memory::{Mapping, SharedPages};
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};

/// Checks that `bytes` is a program this OS runs: a static, position-independent x86_64
/// executable. Says why not otherwise (a dynamically linked one needs a loader the OS does not
/// have; `ET_EXEC` is not position independent; a shared library is not a program).
pub fn classify(bytes: &[u8]) -> Result<(), LoadError> {
    let file = open(bytes)?;
    let endian = file.endian();
    let header = file.elf_header();
    let headers = file.elf_program_headers();
    if headers.iter().any(|p| p.p_type(endian) == elf::PT_INTERP) {
        return Err(LoadError::NeedsInterpreter);
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_DYN {
        return Err(LoadError::NotPositionIndependent(kind.0));
    }
    // PIE executables say so (DF_1_PIE); a shared library does not.
    let pie = file.elf_dynamic_table().is_ok_and(|d| {
        d.iter()
            .any(|e| e.tag == elf::DT_FLAGS_1 && e.val & elf::DF_1_PIE.0 != 0)
    });
    if pie {
        Ok(())
    } else {
        Err(LoadError::NotAnExecutable)
    }
}

/// A Linux program mapped into the user region.
pub struct LinuxProgram {
    image: Mapping,
    read_only: Arc<SharedPages>,
    entry: u64,
    phdr: u64,
    phnum: u64,
}

impl LinuxProgram {
    /// Where the image starts (the load bias: `AT_BASE`-like) and its length.
    pub fn image_range(&self) -> (u64, u64) {
        (self.image.start(), self.image.len())
    }
    /// The entry point (`AT_ENTRY`, where the first thread starts).
    pub fn entry(&self) -> u64 {
        self.entry
    }
    /// Where the program headers are in memory (`AT_PHDR`) and how many (`AT_PHNUM`).
    pub fn program_headers(&self) -> (u64, u64) {
        (self.phdr, self.phnum)
    }
    /// The read-only pages the image maps (text, read-only data): to be shared by the next
    /// loads of the same bytes ([`load_sharing`]).
    pub fn read_only_pages(&self) -> &Arc<SharedPages> {
        &self.read_only
    }
    /// The image, to keep alive while the program runs.
    pub fn into_image(self) -> Mapping {
        self.image
    }
}

/// Maps a static Linux executable (see [`classify`]) into the user region.
pub fn load(bytes: &[u8]) -> Result<LinuxProgram, LoadError> {
    load_sharing(bytes, None)
}

/// [`load`], mapping the read-only pages of `read_only` (from an earlier load of the same
/// bytes, [`LinuxProgram::read_only_pages`]) instead of filling new ones: only the writable
/// pages are copied from `bytes`. The caller vouches that `read_only` came from these bytes.
pub fn load_sharing(
    bytes: &[u8],
    read_only: Option<&Arc<SharedPages>>,
) -> Result<LinuxProgram, LoadError> {
    classify(bytes)?;
    let file = open(bytes)?;
    let endian = file.endian();
    let header = file.elf_header();
    let (loads, span) = checked_segments(&file, bytes)?;
    let (image, read_only) = map_image(&file, &loads, bytes, span, read_only)?;
    let base = image.start();

    let entry = header.e_entry(endian);
    if entry >= span {
        return Err(LoadError::BadSegment(alloc::format!(
            "entry point {entry:#x} outside the image"
        )));
    }
    let phnum = u64::from(header.e_phnum(endian));
    let phsize = phnum * core::mem::size_of::<elf::ProgramHeader64<object::Endianness>>() as u64;
    // AT_PHDR: PT_PHDR's address, or the headers' file offset inside the segment that maps it.
    let phoff = header.e_phoff(endian);
    let phdr = file
        .elf_program_headers()
        .iter()
        .find(|p| p.p_type(endian) == elf::PT_PHDR)
        .map(|p| p.p_vaddr(endian))
        .or_else(|| {
            loads.iter().find_map(|p| {
                let (off, filesz) = (p.p_offset(endian), p.p_filesz(endian));
                // Checked: every field comes from the file (segments were checked against the
                // file and the image already, the header fields were not).
                let end = phoff.checked_add(phsize)?;
                (phoff >= off && end <= off.checked_add(filesz)?)
                    .then(|| p.p_vaddr(endian).checked_add(phoff - off))
                    .flatten()
            })
        })
        .filter(|&v| v.checked_add(phsize).is_some_and(|e| e <= span))
        .ok_or_else(|| LoadError::BadSegment("program headers are not in a segment".into()))?;
    Ok(LinuxProgram {
        image,
        read_only,
        entry: base + entry,
        phdr: base + phdr,
        phnum,
    })
}
