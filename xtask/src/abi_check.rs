//! The program ABI check: every symbol a built program imports (its undefined dynamic
//! symbols: the `sys_*` calls stock std makes on this target) must be in the kernel's export
//! table (the `.theseus_exports` section of the kernel ELF). A toolchain update that makes std
//! need a new call fails here, on the host, instead of at load time in the guest.

use std::collections::BTreeSet;

use object::{Object, ObjectSection, ObjectSymbol};

use crate::error::{Error, Result};

/// Names in the kernel's `.theseus_exports` records (`{ name: &str, address }`, 24 bytes).
pub fn kernel_exports(elf: &[u8]) -> Result<BTreeSet<String>> {
    let file = object::File::parse(elf).map_err(|e| Error::failed(format!("kernel ELF: {e}")))?;
    let section = file
        .section_by_name(".theseus_exports")
        .ok_or_else(|| Error::failed("the kernel has no .theseus_exports section".to_string()))?;
    let data = section
        .data()
        .map_err(|e| Error::failed(format!("kernel ELF: {e}")))?;
    let read_at = |addr: u64, len: u64| -> Option<&[u8]> {
        file.sections().find_map(|s| {
            let (start, size) = (s.address(), s.size());
            if addr >= start && addr + len <= start + size {
                let bytes = s.data().ok()?;
                bytes.get((addr - start) as usize..(addr - start + len) as usize)
            } else {
                None
            }
        })
    };
    let mut names = BTreeSet::new();
    for record in data.chunks_exact(24) {
        let ptr = u64::from_le_bytes(record[0..8].try_into().unwrap());
        let len = u64::from_le_bytes(record[8..16].try_into().unwrap());
        let name = read_at(ptr, len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| {
                Error::failed(format!("export record names unreadable memory {ptr:#x}"))
            })?;
        names.insert(name.to_string());
    }
    Ok(names)
}

/// The undefined dynamic symbols of a program.
pub fn program_imports(elf: &[u8]) -> Result<BTreeSet<String>> {
    let file = object::File::parse(elf).map_err(|e| Error::failed(format!("program ELF: {e}")))?;
    Ok(file
        .dynamic_symbols()
        .filter(|s| s.is_undefined() && !s.name().unwrap_or("").is_empty())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect())
}

/// Imports of `program` that `exports` lacks.
pub fn missing(program: &[u8], exports: &BTreeSet<String>) -> Result<Vec<String>> {
    Ok(program_imports(program)?
        .into_iter()
        .filter(|name| !exports.contains(name))
        .collect())
}
