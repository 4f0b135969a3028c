//! Host tests: the test binary's own symbol table, and malformed input.

use super::*;
use more_asserts::assert_gt;
use std::hint::black_box;

#[inline(never)]
fn anchor_function() -> u32 {
    black_box(7)
}

#[inline(never)]
fn target_function(x: u32) -> u32 {
    black_box(x).wrapping_mul(3).wrapping_add(black_box(1))
}

fn own_elf() -> Vec<u8> {
    std::fs::read(std::env::current_exe().unwrap()).unwrap()
}

fn own_table() -> SymbolTable {
    SymbolTable::from_elf(&own_elf()).expect("the test binary has a symbol table")
}

const ANCHOR: &str = "symbols::tests::anchor_function";

/// A lookup with the name shown (demangled), for comparisons.
fn shown(found: Option<(Name<'_>, u64)>) -> Option<(String, u64)> {
    found.map(|(name, offset)| (name.to_string(), offset))
}
const TARGET: &str = "symbols::tests::target_function";

/// Link-time address minus run-time address (the test binary is position independent).
fn load_bias(table: &SymbolTable) -> u64 {
    let (link, _) = table.address_of(ANCHOR).expect("anchor symbol present");
    let run = anchor_function as fn() -> u32 as usize as u64;
    link.wrapping_sub(run)
}

#[test]
fn finds_own_function_by_address() {
    assert_eq!(target_function(2), 7);
    let table = own_table();
    let bias = load_bias(&table);
    let run = target_function as fn(u32) -> u32 as usize as u64;
    let link = run.wrapping_add(bias);

    assert_eq!(shown(table.lookup(link)), Some((TARGET.to_string(), 0)));
    let (_, size) = table.address_of(TARGET).unwrap();
    assert_gt!(size, 4, "function has a size");
    assert_eq!(shown(table.lookup(link + 3)), Some((TARGET.to_string(), 3)));
    assert_eq!(
        shown(table.lookup(link + size - 1)),
        Some((TARGET.to_string(), size - 1))
    );
    // Past the end belongs to whatever follows, never to this function.
    assert!(table.lookup(link + size).is_none_or(|(n, _)| n != TARGET));
}

#[test]
fn names_are_demangled_without_hash() {
    let table = own_table();
    assert_gt!(table.len(), 100);
    let names: Vec<String> = table
        .entries
        .iter()
        .map(|e| table.name(e).to_string())
        .collect();
    assert!(names.iter().any(|n| n == ANCHOR));
    for name in names {
        assert!(
            !name.starts_with("_R") && !name.starts_with("_ZN"),
            "{name}"
        );
        // A legacy hash is a last path segment of `h` and 16 hex digits.
        let last = name.rsplit("::").next().unwrap();
        let is_hash = last.len() == 17
            && last.starts_with('h')
            && last[1..].chars().all(|c| c.is_ascii_hexdigit());
        assert!(!is_hash, "{name}");
    }
}

#[test]
fn sorted_and_sizes_honoured() {
    let table = own_table();
    assert!(table.entries.windows(2).all(|w| w[0].addr < w[1].addr));
    // A gap after a sized symbol resolves to nothing.
    let gap = table
        .entries
        .windows(2)
        .find(|w| w[0].size != 0 && w[0].addr + w[0].size < w[1].addr)
        .map(|w| w[0].addr + w[0].size);
    if let Some(addr) = gap {
        assert_eq!(table.lookup(addr), None);
    }
    let first = table.entries[0].addr;
    assert_eq!(table.lookup(first - 1), None);
    assert_eq!(table.lookup(0), None);
}

#[test]
fn zero_size_symbol_covers_up_to_next() {
    let mut table = SymbolTable::default();
    for (addr, size, name) in [(0x1000, 0x10, "a"), (0x2000, 0, "b"), (0x3000, 0x8, "c")] {
        let start = table.names.len() as u32;
        table.names.push_str(name);
        table.entries.push(Entry {
            addr,
            size,
            name_start: start,
            name_end: table.names.len() as u32,
        });
    }
    assert_eq!(table.lookup(0x0fff), None);
    assert_eq!(shown(table.lookup(0x1000)), Some(("a".to_string(), 0)));
    assert_eq!(shown(table.lookup(0x100f)), Some(("a".to_string(), 0xf)));
    assert_eq!(table.lookup(0x1010), None);
    assert_eq!(shown(table.lookup(0x2fff)), Some(("b".to_string(), 0xfff)));
    assert_eq!(shown(table.lookup(0x3007)), Some(("c".to_string(), 7)));
    assert_eq!(table.lookup(0x3008), None);
    assert_eq!(table.address_of("b"), Some((0x2000, 0)));
    assert_eq!(table.address_of("zz"), None);
}

#[test]
fn unaligned_input_parses_the_same() {
    let elf = own_elf();
    let mut shifted = vec![0u8; elf.len() + 1];
    shifted[1..].copy_from_slice(&elf);
    let a = SymbolTable::from_elf(&elf).unwrap();
    let b = SymbolTable::from_elf(&shifted[1..]).unwrap();
    assert_eq!(a.entries, b.entries);
    assert_eq!(a.names, b.names);
}

#[test]
fn garbage_is_an_error() {
    for bytes in [
        &b""[..],
        b"\x7fELF",
        b"hello, world, this is not an ELF file at all.................................",
        &[0u8; 4096],
        &[0xffu8; 4096],
    ] {
        assert!(
            matches!(SymbolTable::from_elf(bytes), Err(SymbolError::Malformed(_))),
            "{bytes:?}"
        );
    }
}

#[test]
fn truncated_elf_is_an_error() {
    let elf = own_elf();
    for cut in [1, 16, 63, 64, 200, 4096, elf.len() / 2, elf.len() - 1] {
        let result = SymbolTable::from_elf(&elf[..cut]);
        assert!(result.is_err(), "cut at {cut} of {} parsed", elf.len());
    }
}

#[test]
fn corrupted_elf_never_panics() {
    let elf = own_elf();
    // Flip bytes across the ELF header and the section header table (where the symbol and
    // string table locations live); any result is fine, a panic is not.
    let shoff = u64::from_le_bytes(elf[0x28..0x30].try_into().unwrap()) as usize;
    let mut positions: Vec<usize> = (0..64).step_by(3).collect();
    positions.extend((shoff..elf.len()).step_by(61));
    for pos in positions {
        for value in [0x00, 0xff] {
            let mut bad = elf.clone();
            bad[pos] = value;
            let _ = SymbolTable::from_elf(&bad);
        }
    }
}

#[test]
fn names_show_and_compare_demangled() {
    let table = own_table();
    let (link, _) = table.address_of(TARGET).unwrap();
    let (name, _) = table.lookup(link).unwrap();
    assert_ne!(name.mangled(), TARGET, "stored as the ELF file spells it");
    assert_eq!(name.to_string(), TARGET);
    assert!(name == TARGET);
    assert!(name != "symbols::tests::target_function2");
    assert!(name != "symbols::tests::target_functio");
    assert!(name.starts_with("symbols::tests::"));
    assert!(name.starts_with(TARGET));
    assert!(name.starts_with(""));
    assert!(!name.starts_with("symbols::tests::target_function2"));
    assert!(!name.starts_with("core::"));
}
