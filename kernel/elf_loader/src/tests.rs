//! In-kernel tests of the loader's error handling (loading real programs is tested end to end
//! with the programs xtask builds).

use crate::{LoadError, load};
use ktest::kernel_test;

kernel_test! {
    fn malformed_inputs_are_refused_with_clear_errors() {
        let none = |_: &str| None;
        assert!(matches!(load(b"", &none), Err(LoadError::NotElf(_))));
        assert!(matches!(load(b"#!/bin/sh\n", &none), Err(LoadError::NotElf(_))));
        let mut header = [0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 1; // 32-bit
        assert_eq!(load(&header, &none).err(), Some(LoadError::WrongClass));
        header[4] = 2;
        header[5] = 1; // little endian
        header[6] = 1;
        // Truncated: program headers claimed but absent.
        header[16] = 3; // ET_DYN
        header[18] = 62; // EM_X86_64
        header[52] = 64; // e_ehsize
        header[54] = 56; // e_phentsize
        header[56] = 4; // e_phnum
        header[32] = 64; // e_phoff
        assert!(matches!(load(&header, &none), Err(LoadError::NotElf(_))));
        header[56] = 0;
        assert_eq!(load(&header, &none).err(), Some(LoadError::NoSegments));
        header[18] = 183; // aarch64
        assert_eq!(load(&header, &none).err(), Some(LoadError::WrongMachine(183)));
        header[18] = 62;
        header[16] = 2; // ET_EXEC
        assert_eq!(load(&header, &none).err(), Some(LoadError::NotPositionIndependent(2)));
        let msg = alloc::format!("{}", LoadError::MissingSymbol("sys_nope".into()));
        assert!(msg.contains("sys_nope"));
    }
}

/// The bytes of a real program from the ramdisk (xtask installs ports/stdcheck as
/// /bin/stdcheck).
fn real_program() -> alloc::vec::Vec<u8> {
    rootfs::with(|fs| {
        let node = fs
            .lookup("/bin/stdcheck")
            .expect("/bin/stdcheck in the ramdisk");
        fs.file_data(node).unwrap().to_vec()
    })
}

kernel_test! {
    fn real_program_loads_and_damaged_copies_are_refused() {
        use object::{Object, ObjectSection};
        let bytes = real_program();
        // The intact program loads when every import resolves (to a dummy address here).
        let program = load(&bytes, &|_| Some(0x1000)).expect("stdcheck loads");
        let (start, len) = program.image_range();
        assert!(program.entry() > start && program.entry() < start + len);
        assert!(program.tls().is_some(), "std programs have thread-locals");
        drop(program);
        // Missing symbols are named.
        match load(&bytes, &|_| None) {
            Err(LoadError::MissingSymbol(name)) => assert!(name.starts_with("sys_"), "{name}"),
            other => panic!("expected a missing symbol, got {:?}", other.err()),
        }
        // Truncated copies: an error, never a panic.
        for cut in [0, 4, 20, 64, 100, bytes.len() / 3, bytes.len() - 1] {
            assert!(load(&bytes[..cut], &|_| Some(0x1000)).is_err(), "cut at {cut}");
        }
        // Another machine.
        let mut other = bytes.clone();
        other[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(load(&other, &|_| Some(0x1000)).err(), Some(LoadError::WrongMachine(183)));
        // A relocation of a type the loader does not know.
        let file = object::File::parse(&*bytes).unwrap();
        let rela = file.section_by_name(".rela.dyn").expect(".rela.dyn");
        let (offset, _) = rela.file_range().unwrap();
        let mut bad = bytes.clone();
        let info = offset as usize + 8; // r_info of the first entry
        bad[info..info + 4].copy_from_slice(&99u32.to_le_bytes());
        match load(&bad, &|_| Some(0x1000)) {
            Err(LoadError::BadRelocation { kind: 99, .. }) => {}
            other => panic!("expected a bad relocation, got {:?}", other.err()),
        }
        let msg = alloc::format!("{}", LoadError::BadRelocation { kind: 99, offset: 0x40 });
        assert!(msg.contains("type 99") && msg.contains("0x40"), "{msg}");
    }
}
