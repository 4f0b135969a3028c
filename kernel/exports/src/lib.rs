//! The kernel's export table: the symbols loaded programs may bind to (the Hermit `sys_*` ABI
//! that stock `std` calls, and later POSIX-named functions). `export_symbol!(name)` puts a
//! `(name, address)` record in the `.theseus_exports` linker section; the program loader
//! resolves a program's undefined symbols with [`lookup`].
//!
//! A linker section (like `ktest`) keeps the exporting crates (posix) above the loader in the
//! layering: the loader reads the table without depending on them. Depends on nothing.

#![no_std]

/// One exported symbol.
#[repr(C)]
pub struct Export {
    pub name: &'static str,
    pub address: *const (),
}

// SAFETY: a name and a code address, both immutable for the kernel's life.
unsafe impl Sync for Export {}

/// Exports the function `$name` under its own name: `export_symbol!(sys_write);`.
#[macro_export]
macro_rules! export_symbol {
    ($($name:ident),+ $(,)?) => {
        $(
            const _: () = {
                #[used]
                #[unsafe(link_section = ".theseus_exports")]
                static EXPORT: $crate::Export = $crate::Export {
                    name: stringify!($name),
                    address: $name as *const (),
                };
            };
        )+
    };
}

/// Every exported symbol.
#[cfg(target_os = "none")]
pub fn all() -> &'static [Export] {
    unsafe extern "C" {
        static __exports_start: u8;
        static __exports_end: u8;
    }
    let start = (&raw const __exports_start).cast::<Export>();
    let end = (&raw const __exports_end).cast::<Export>();
    let len = (end as usize - start as usize) / core::mem::size_of::<Export>();
    // SAFETY: the linker script puts exactly the `.theseus_exports` records (all `Export`s,
    // laid out as an array) between these two symbols.
    unsafe { core::slice::from_raw_parts(start, len) }
}

/// The address of the exported symbol `name`.
#[cfg(target_os = "none")]
pub fn lookup(name: &str) -> Option<u64> {
    all()
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.address as u64)
}
