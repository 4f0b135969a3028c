//! Function symbols of an ELF image, for symbolized backtraces: [`SymbolTable::from_elf`]
//! collects the `STT_FUNC` symbols (address, size, name) of an ELF file, and
//! [`SymbolTable::lookup`] maps a code address to `function + offset`.
//!
//! Names are kept as the ELF file spells them (mangled) and demangled when shown ([`Name`]'s
//! `Display`, which allocates nothing): demangling every name up front was a quarter of the
//! kernel's boot (10 711 functions, about 90 million instructions under TCG), and a table is
//! built for every program the kernel loads, while few names are ever shown.
//!
//! Pure logic, host-tested. Owns only the table it builds (the ELF bytes can be dropped
//! afterwards). Depends on `object` (ELF reading) and `rustc-demangle`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use object::{Object, ObjectSymbol, SymbolKind};

/// Why an ELF image gave no symbol table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolError {
    /// Not a well-formed ELF file (or truncated).
    Malformed(String),
    /// A well-formed ELF file without any function symbol (stripped).
    NoSymbols,
}

impl fmt::Display for SymbolError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SymbolError::Malformed(why) => write!(f, "malformed ELF file: {why}"),
            SymbolError::NoSymbols => f.write_str("ELF file has no function symbols"),
        }
    }
}

/// One function: `[addr, addr + size)`, its name at `names[name_start..name_end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    addr: u64,
    size: u64,
    name_start: u32,
    name_end: u32,
}

/// The function symbols of one ELF image, sorted by address. Names are stored back to back
/// in one string, as the ELF file spells them.
#[derive(Debug, Clone, Default)]
pub struct SymbolTable {
    entries: Vec<Entry>,
    names: String,
}

impl SymbolTable {
    /// Collects every defined function symbol of the ELF file `bytes` (from `.symtab`, or
    /// `.dynsym` when there is no `.symtab`). Never panics on malformed input.
    pub fn from_elf(bytes: &[u8]) -> Result<SymbolTable, SymbolError> {
        let file = object::File::parse(bytes)
            .map_err(|e| SymbolError::Malformed(alloc::format!("{e}")))?;
        if file.format() != object::BinaryFormat::Elf {
            return Err(SymbolError::Malformed("not an ELF file".into()));
        }
        let mut raw: Vec<(u64, u64, &str)> = Vec::new();
        collect_functions(file.symbols(), &mut raw);
        if raw.is_empty() {
            collect_functions(file.dynamic_symbols(), &mut raw);
        }
        if raw.is_empty() {
            return Err(SymbolError::NoSymbols);
        }
        // By address; at one address (aliases) the symbol with a size first, then by name so
        // the choice does not depend on the symbol table's order.
        raw.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| (a.1 == 0).cmp(&(b.1 == 0)))
                .then_with(|| a.2.cmp(b.2))
        });
        raw.dedup_by_key(|s| s.0);

        let mut table = SymbolTable {
            entries: Vec::with_capacity(raw.len()),
            names: String::new(),
        };
        for (addr, size, name) in raw {
            let name_start = table.names.len();
            table.names.push_str(name);
            let (Ok(name_start), Ok(name_end)) =
                (u32::try_from(name_start), u32::try_from(table.names.len()))
            else {
                return Err(SymbolError::Malformed("symbol names too long".into()));
            };
            table.entries.push(Entry {
                addr,
                size,
                name_start,
                name_end,
            });
        }
        table.names.shrink_to_fit();
        Ok(table)
    }

    /// The function containing `addr` and the offset of `addr` in it. A symbol with a size
    /// covers exactly `[start, start + size)`; one without a size covers everything up to the
    /// next symbol.
    pub fn lookup(&self, addr: u64) -> Option<(Name<'_>, u64)> {
        let index = self
            .entries
            .partition_point(|e| e.addr <= addr)
            .checked_sub(1)?;
        let entry = &self.entries[index];
        let offset = addr - entry.addr;
        if entry.size != 0 && offset >= entry.size {
            return None;
        }
        Some((self.name(entry), offset))
    }

    /// Start address and size of the first function whose demangled name is `name`.
    pub fn address_of(&self, name: &str) -> Option<(u64, u64)> {
        self.entries
            .iter()
            .find(|e| self.name(e) == name)
            .map(|e| (e.addr, e.size))
    }

    /// Number of functions in the table.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Approximate heap bytes the table owns.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<Entry>() + self.names.capacity()
    }

    fn name(&self, entry: &Entry) -> Name<'_> {
        Name(&self.names[entry.name_start as usize..entry.name_end as usize])
    }
}

/// A function's name in a [`SymbolTable`]: shown (`Display`) and compared demangled, without
/// the hash (`crate::module::function`), with no allocation (panic paths show names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'a>(&'a str);

impl<'a> Name<'a> {
    /// The name as the ELF file spells it.
    pub fn mangled(&self) -> &'a str {
        self.0
    }

    /// Whether the demangled name starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> bool {
        let m = self.compare(prefix);
        m.equal && m.rest.is_empty()
    }

    /// Writes the demangled name into a [`Matcher`] against `text` (it stops the write at the
    /// first difference, or once `text` is used up).
    fn compare<'t>(&self, text: &'t str) -> Matcher<'t> {
        let mut m = Matcher {
            rest: text,
            equal: true,
            longer: false,
        };
        // An error only means the matcher stopped the write early: it holds the answer.
        let _ = write!(m, "{self}");
        m
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:#}", rustc_demangle::demangle(self.0))
    }
}

impl PartialEq<str> for Name<'_> {
    fn eq(&self, other: &str) -> bool {
        let m = self.compare(other);
        m.equal && m.rest.is_empty() && !m.longer
    }
}

impl PartialEq<&str> for Name<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

/// Compares text written to it with `rest`, piece by piece: `equal` while all of it matched
/// the start of `rest` (which shrinks as it matches); `longer` once the text went on past the
/// end of `rest`. It stops the write (an error) as soon as the answer is known.
struct Matcher<'s> {
    rest: &'s str,
    equal: bool,
    longer: bool,
}

impl Write for Matcher<'_> {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        if let Some(rest) = self.rest.strip_prefix(piece) {
            self.rest = rest;
            return Ok(());
        }
        if piece.starts_with(self.rest) {
            self.rest = "";
            self.longer = true;
        } else {
            self.equal = false;
        }
        Err(fmt::Error)
    }
}

/// Appends the defined, named function symbols of `symbols` to `out`.
fn collect_functions<'data, S: ObjectSymbol<'data>>(
    symbols: impl Iterator<Item = S>,
    out: &mut Vec<(u64, u64, &'data str)>,
) {
    for sym in symbols {
        if sym.kind() != SymbolKind::Text || sym.is_undefined() || sym.address() == 0 {
            continue;
        }
        if let Ok(name) = sym.name()
            && !name.is_empty()
        {
            out.push((sym.address(), sym.size(), name));
        }
    }
}

#[cfg(test)]
mod tests;
