//! The program loader: maps a program built for `targets/x86_64-theseus-hermit.json` (an
//! x86_64 ELF shared object: position independent, stock `std` inside, its undefined `sys_*`
//! symbols to be bound to the kernel's exports) into the address space and makes it ready to
//! run.
//!
//! Loading: parse with the `object` crate; reserve one [`memory::Mapping`] spanning every
//! `PT_LOAD` segment; copy the segments (the rest is zero); apply the dynamic relocations
//! (`RELATIVE`, `64`, `GLOB_DAT`, `JUMP_SLOT` against the program's own symbols or the resolver,
//! `TPOFF64` against the program's static TLS block, which `task` places right below the
//! kernel's in every thread of the program); then give each page its segment's permissions
//! (text RX, rodata R, data RW, never writable and executable). Bad input of any kind is an
//! error naming the problem, never a panic.
//!
//! Owns: ELF validation, relocation, the loaded image. Depends on `memory`, `task` (the static
//! TLS template type), `object`.

#![no_std]

extern crate alloc;

pub mod linux;
mod tests;

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use memory::{Commit, Mapping, Protection};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{
    Endianness, Object, ObjectSymbol, ObjectSymbolTable, RelocationFlags, RelocationTarget,
};
use task::ProgramTls;

const PAGE: u64 = 4096;
/// Largest image accepted (address span of all segments).
const MAX_IMAGE: u64 = 1 << 30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Not an ELF file, or its headers are cut off or inconsistent.
    NotElf(String),
    WrongClass,
    WrongMachine(u16),
    /// `ET_EXEC` or an object file: programs must be position-independent shared objects.
    NotPositionIndependent(u16),
    NoSegments,
    /// A segment lies outside the file or the image, or the image is too large.
    BadSegment(String),
    /// A relocation type the loader does not implement, or one pointing outside the image.
    BadRelocation {
        kind: u32,
        offset: u64,
    },
    /// An undefined symbol the kernel does not export.
    MissingSymbol(String),
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
                "ELF type {t} is not a position-independent program (link with -static-pie, or build for x86_64-theseus-hermit)"
            ),
            LoadError::NoSegments => f.write_str("no loadable segments"),
            LoadError::BadSegment(why) => write!(f, "bad segment: {why}"),
            LoadError::BadRelocation { kind, offset } => {
                write!(
                    f,
                    "unsupported or out-of-range relocation (type {kind}) at offset {offset:#x}"
                )
            }
            LoadError::MissingSymbol(name) => write!(
                f,
                "undefined symbol `{name}` (the kernel does not export it)"
            ),
            LoadError::NeedsInterpreter => f.write_str(
                "dynamically linked: needs a dynamic loader, which this OS does not have (link it statically, e.g. -static-pie)"
            ),
            LoadError::OutOfMemory => f.write_str("out of memory"),
        }
    }
}

/// A program mapped, relocated and protected, ready to run.
pub struct Program {
    image: Mapping,
    entry: u64,
    tls: Option<Arc<ProgramTls>>,
}

impl Program {
    /// Address of the entry point (`runtime_entry(argc, argv, envp)` for std programs).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// Where the image starts and how long it is.
    pub fn image_range(&self) -> (u64, u64) {
        (self.image.start(), self.image.len())
    }

    /// The static TLS template threads running this program need, if it has any.
    pub fn tls(&self) -> Option<Arc<ProgramTls>> {
        self.tls.clone()
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

/// Copies the segments' file bytes to `base` (the rest of the image stays zero).
fn copy_segments(file: &Elf<'_>, loads: &[&Phdr], bytes: &[u8], base: u64) {
    let endian = file.endian();
    for p in loads {
        let (vaddr, off, filesz) = (
            p.p_vaddr(endian),
            p.p_offset(endian) as usize,
            p.p_filesz(endian) as usize,
        );
        // SAFETY: `base + vaddr .. + filesz` lies inside the freshly committed, writable image
        // (checked against the span by `checked_segments`), and the source range inside
        // `bytes`.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes[off..off + filesz].as_ptr(),
                (base + vaddr) as *mut u8,
                filesz,
            )
        };
    }
}

/// Gives each page of the image its segment's permissions (a page shared by two segments
/// gets both's rights, never writable and executable; pages of no segment: none).
fn protect_segments(
    file: &Elf<'_>,
    loads: &[&Phdr],
    image: &mut Mapping,
    span: u64,
) -> Result<(), LoadError> {
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
    let mut i = 0;
    while i < pages.len() {
        let prot = pages[i];
        let mut j = i;
        while j < pages.len() && pages[j] == prot {
            j += 1;
        }
        image
            .protect(i as u64 * PAGE, (j - i) as u64 * PAGE, prot)
            .map_err(|_| LoadError::OutOfMemory)?;
        i = j;
    }
    Ok(())
}

/// Loads `bytes` as a program; `resolve` gives the address of each undefined symbol.
pub fn load(bytes: &[u8], resolve: &dyn Fn(&str) -> Option<u64>) -> Result<Program, LoadError> {
    let file = open(bytes)?;
    let endian = file.endian();
    let header = file.elf_header();
    let kind = header.e_type(endian);
    if kind != elf::ET_DYN {
        return Err(LoadError::NotPositionIndependent(kind.0));
    }
    let (loads, span) = checked_segments(&file, bytes)?;
    let mut image =
        Mapping::new(span, Protection::RW, Commit::Now).map_err(|_| LoadError::OutOfMemory)?;
    let base = image.start();
    copy_segments(&file, &loads, bytes, base);

    // Static TLS.
    let tls = file
        .elf_program_headers()
        .iter()
        .find(|p| p.p_type(endian) == elf::PT_TLS)
        .map(|p| {
            let (off, filesz) = (p.p_offset(endian) as usize, p.p_filesz(endian) as usize);
            let image = bytes
                .get(off..off + filesz)
                .ok_or_else(|| LoadError::BadSegment("TLS image outside the file".into()))?;
            let align = (p.p_align(endian) as usize).max(1);
            if !align.is_power_of_two() || align > 4096 {
                return Err(LoadError::BadSegment(alloc::format!(
                    "TLS alignment {align}"
                )));
            }
            Ok(Arc::new(ProgramTls {
                image: image.to_vec(),
                mem_size: p.p_memsz(endian) as usize,
                align,
            }))
        })
        .transpose()?;
    let tls_offset = tls.as_ref().map_or(0, |t| t.thread_pointer_offset());

    // Relocations.
    let dynsyms = file.dynamic_symbol_table();
    let symbol_value = |index: object::SymbolIndex| -> Result<(u64, bool), LoadError> {
        let table = dynsyms
            .as_ref()
            .ok_or_else(|| LoadError::NotElf("relocation without a symbol table".into()))?;
        let sym = table
            .symbol_by_index(index)
            .map_err(|e| LoadError::NotElf(e.to_string()))?;
        if sym.is_undefined() {
            let name = sym.name().map_err(|e| LoadError::NotElf(e.to_string()))?;
            match resolve(name) {
                Some(addr) => Ok((addr, false)),
                None if sym.is_weak() => Ok((0, false)),
                None => Err(LoadError::MissingSymbol(name.into())),
            }
        } else {
            Ok((sym.address(), true))
        }
    };
    if let Some(relocs) = file.dynamic_relocations() {
        for (offset, reloc) in relocs {
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                return Err(LoadError::BadRelocation { kind: 0, offset });
            };
            let addend = reloc.addend() as u64;
            let (sym, sym_local) = match reloc.target() {
                RelocationTarget::Symbol(index) => symbol_value(index)?,
                _ => (0, true),
            };
            let local = |v: u64| if sym_local { base.wrapping_add(v) } else { v };
            let value = match r_type {
                elf::R_X86_64_NONE => continue,
                elf::R_X86_64_RELATIVE => base.wrapping_add(addend),
                elf::R_X86_64_64 => local(sym).wrapping_add(addend),
                elf::R_X86_64_GLOB_DAT | elf::R_X86_64_JUMP_SLOT => local(sym),
                elf::R_X86_64_TPOFF64 if tls.is_some() => {
                    // `sym` is an offset inside the program's TLS segment.
                    (sym as i64 + addend as i64 + tls_offset) as u64
                }
                kind => {
                    return Err(LoadError::BadRelocation {
                        kind: kind.0,
                        offset,
                    });
                }
            };
            if offset.checked_add(8).is_none_or(|e| e > span) {
                return Err(LoadError::BadRelocation {
                    kind: r_type.0,
                    offset,
                });
            }
            // SAFETY: `offset + 8 <= span`: the word lies inside the writable image.
            unsafe { ((base + offset) as *mut u64).write_unaligned(value) };
        }
    }

    protect_segments(&file, &loads, &mut image, span)?;

    let entry = header.e_entry(endian);
    if entry >= span {
        return Err(LoadError::BadSegment(alloc::format!(
            "entry point {entry:#x} outside the image"
        )));
    }
    Ok(Program {
        image,
        entry: base + entry,
        tls,
    })
}
