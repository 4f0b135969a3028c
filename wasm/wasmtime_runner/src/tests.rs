//! In-kernel tests of the compile cache's sealing (the end-to-end cases run modules through
//! it: hit, miss, corrupted and forged entries).

use crate::cache::{entry_path, key, seal, unseal};
use alloc::vec::Vec;
use ktest::kernel_test;

kernel_test! {
    fn wasmtime_cache_entries_unseal_only_unchanged_and_for_their_key() {
        let artifact: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let k = key(b"\0asm\x01\0\0\0");
        assert_eq!(k.len(), 64 + 1 + 16);
        assert_ne!(k, key(b"\0asm\x01\0\0\0\0"));
        assert!(entry_path(&k).starts_with("/var/cache/wasmtime/"));
        let entry = seal(&k, &artifact);
        assert_eq!(unseal(&k, &entry), Ok(&artifact[..]));
        // Truncated anywhere: rejected.
        for len in [0, 7, 8, 39, 40, 41, entry.len() - 1] {
            assert!(unseal(&k, &entry[..len]).is_err(), "truncated to {len}");
        }
        // One flipped bit in the tag or the artifact: rejected.
        for at in [8, 39, 40, 1000, entry.len() - 1] {
            let mut bad = entry.clone();
            bad[at] ^= 1;
            assert!(unseal(&k, &bad).is_err(), "flipped at {at}");
        }
        // Another module's key (an entry copied under another name): rejected.
        let other = key(b"other module");
        assert!(unseal(&other, &entry).is_err());
        // A forged entry: right layout, tag from another secret.
        let mut forged = b"THWTCW01".to_vec();
        forged.extend_from_slice(&[0u8; 32]);
        forged.extend_from_slice(&artifact);
        assert!(unseal(&k, &forged).is_err());
    }
}
