//! Bad WebAssembly modules for the end-to-end tests, made at test time (no binaries are
//! committed): a real module cut in half, garbage after a valid header, and modules
//! declaring a huge memory or a huge table, built byte by byte.

use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

/// `\0asm` and version 1.
const HEADER: [u8; 8] = *b"\0asm\x01\0\0\0";

/// Unsigned LEB128.
fn leb(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// Section `id` with `body`, its size prefixed.
fn section(id: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![id];
    out.extend(leb(body.len() as u64));
    out.extend_from_slice(body);
    out
}

/// An export section with one export of `kind` (2 memory, 1 table) index 0 named `name`.
fn export_section(name: &str, kind: u8) -> Vec<u8> {
    let mut body = leb(1);
    body.extend(leb(name.len() as u64));
    body.extend_from_slice(name.as_bytes());
    body.push(kind);
    body.extend(leb(0));
    section(7, &body)
}

/// A module with one memory of at least `pages` 64 KiB pages, exported as `memory`.
pub fn huge_memory_module(pages: u64) -> Vec<u8> {
    let mut body = leb(1);
    body.push(0x00); // limits: minimum only
    body.extend(leb(pages));
    let mut out = HEADER.to_vec();
    out.extend(section(5, &body));
    out.extend(export_section("memory", 2));
    out
}

/// A module with one funcref table of at least `elements`, exported as `table`.
pub fn huge_table_module(elements: u64) -> Vec<u8> {
    let mut body = leb(1);
    body.push(0x70); // funcref
    body.push(0x00); // limits: minimum only
    body.extend(leb(elements));
    let mut out = HEADER.to_vec();
    out.extend(section(4, &body));
    out.extend(export_section("table", 1));
    out
}

/// A valid header followed by 256 pseudo-random bytes (a fixed seed: the same every run).
pub fn garbage_module() -> Vec<u8> {
    let mut out = HEADER.to_vec();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..256 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push((x >> 24) as u8);
    }
    out
}

/// The first half of the built `hello.wasm`.
pub fn truncated_hello(ws: &Workspace) -> Result<Vec<u8>> {
    let (_, path) = crate::wasm_build::built_modules(ws)
        .into_iter()
        .find(|(name, _)| name == "hello.wasm")
        .ok_or_else(|| Error::failed("hello.wasm was not built"))?;
    let bytes = std::fs::read(&path).context(|| format!("reading {}", path.display()))?;
    Ok(bytes[..bytes.len() / 2].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128() {
        assert_eq!(leb(0), [0]);
        assert_eq!(leb(127), [0x7f]);
        assert_eq!(leb(128), [0x80, 0x01]);
        assert_eq!(leb(65536), [0x80, 0x80, 0x04]);
    }

    #[test]
    fn huge_memory_bytes() {
        let m = huge_memory_module(65536);
        assert_eq!(
            m,
            [
                0, b'a', b's', b'm', 1, 0, 0, 0, // header
                5, 5, 1, 0, 0x80, 0x80, 0x04, // memory section: min 65536 pages
                7, 10, 1, 6, b'm', b'e', b'm', b'o', b'r', b'y', 2, 0, // export
            ]
        );
    }

    #[test]
    fn huge_table_and_garbage() {
        let t = huge_table_module(10_000_000);
        assert_eq!(&t[8..13], [4, 7, 1, 0x70, 0]);
        assert_eq!(&t[13..17], leb(10_000_000).as_slice());
        let g = garbage_module();
        assert_eq!(g.len(), 8 + 256);
        assert!(g.starts_with(b"\0asm\x01\0\0\0"));
        assert_eq!(g, garbage_module());
    }
}
