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
