//! In-kernel tests of the compile cache: the sealing of entries, and lookups with a stand-in
//! compiler (miss, hit, corrupted and truncated entries recompiled, a rejected module, a
//! compile that unwinds as a killed one does). The
//! end-to-end `wasmtime-*` cases run real modules through it with the real compiler.

use crate::cache::{entry_path, key, seal, unseal};
use alloc::string::ToString;
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

kernel_test! {
    fn wasmtime_cache_misses_hits_and_recompiles_a_corrupted_entry() {
        use crate::cache::{CacheError, CompileError, Lookup, artifact};
        use core::cell::Cell;
        use libtheseus::fs;
        // A stand-in compiler: writes "artifact of <input bytes>" and counts its runs.
        let runs = Cell::new(0);
        let compile = |input: &str, output: &str| -> Result<(), CompileError> {
            runs.set(runs.get() + 1);
            let mut out = b"artifact of ".to_vec();
            out.extend(fs::read_file(input).map_err(|e| CompileError::Failed(e.to_string()))?);
            fs::write_file(output, &out).map_err(|e| CompileError::Failed(e.to_string()))
        };
        let module = b"\0asm\x01\0\0\0 cache test module";
        let expected = [&b"artifact of "[..], &module[..]].concat();
        let path = entry_path(&key(module));
        let _ = fs::unlink(&path);
        assert_eq!(artifact(module, &compile), Ok((expected.clone(), Lookup::Miss)));
        assert_eq!(runs.get(), 1);
        assert_eq!(artifact(module, &compile), Ok((expected.clone(), Lookup::Hit)));
        assert_eq!(runs.get(), 1);
        // Corrupted (one byte of the artifact changed): rejected, compiled, replaced.
        let mut entry = fs::read_file(&path).unwrap();
        let last = entry.len() - 1;
        entry[last] ^= 0x20;
        fs::write_file(&path, &entry).unwrap();
        let (a, lookup) = artifact(module, &compile).unwrap();
        assert_eq!(a, expected);
        assert!(matches!(lookup, Lookup::Rejected(_)));
        assert_eq!(runs.get(), 2);
        // Truncated: the same.
        fs::write_file(&path, &entry[..20]).unwrap();
        assert!(matches!(artifact(module, &compile), Ok((_, Lookup::Rejected(_)))));
        assert_eq!(runs.get(), 3);
        assert_eq!(artifact(module, &compile), Ok((expected, Lookup::Hit)));
        // A compile failure is passed on and leaves no files behind.
        let refuse = |_: &str, _: &str| -> Result<(), CompileError> {
            Err(CompileError::Rejected("bad module".into()))
        };
        let other = b"\0asm\x01\0\0\0 rejected module";
        assert_eq!(
            artifact(other, &refuse),
            Err(CacheError::Compile(CompileError::Rejected("bad module".into())))
        );
        let leftovers: Vec<_> = fs::read_dir(crate::cache::DIR)
            .unwrap()
            .into_iter()
            .filter(|e| e.name.starts_with(&key(other)[..64]))
            .collect();
        assert!(leftovers.is_empty());
        let _ = fs::unlink(&path);
    }
}

kernel_test! {
    fn wasmtime_cache_compile_unwinding_leaves_no_files() {
        use crate::cache::{CompileError, artifact};
        use libtheseus::{fs, thread};
        // A stand-in compiler that writes half an artifact, then unwinds the way a kill
        // reaching a kill point in the compile does (Ctrl-C while wasmtime-compile runs).
        let interrupted = |_: &str, output: &str| -> Result<(), CompileError> {
            fs::write_file(output, b"half an artifact").unwrap();
            panic!("killed during the compile");
        };
        let module = b"\0asm\x01\0\0\0 interrupted compile";
        let k = key(module);
        let caught = thread::catch_unwind(|| artifact(module, &interrupted));
        assert!(caught.is_err(), "the compile did not unwind");
        let leftovers: Vec<_> = fs::read_dir(crate::cache::DIR)
            .unwrap()
            .into_iter()
            .filter(|e| e.name.starts_with(&k[..64]))
            .map(|e| e.name)
            .collect();
        assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
        // The unwound compile gave up its turn: the next lookup compiles at once.
        let works = |_: &str, output: &str| -> Result<(), CompileError> {
            fs::write_file(output, b"whole artifact").map_err(|e| CompileError::Failed(e.to_string()))
        };
        assert_eq!(
            artifact(module, &works),
            Ok((b"whole artifact".to_vec(), crate::cache::Lookup::Miss))
        );
        let _ = fs::unlink(&entry_path(&k));
    }
}

kernel_test! {
    fn wasmtime_cache_concurrent_misses_of_one_module_compile_once() {
        use crate::cache::{CompileError, Lookup, artifact};
        use core::sync::atomic::{AtomicUsize, Ordering};
        use core::time::Duration;
        use libtheseus::{fs, thread};
        // A stand-in compiler that takes a while (as wasmtime-compile does), counting runs.
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        static MISSES: AtomicUsize = AtomicUsize::new(0);
        static HITS: AtomicUsize = AtomicUsize::new(0);
        const MODULE: &[u8] = b"\0asm\x01\0\0\0 compiled once by four lookups";
        fn slow(input: &str, output: &str) -> Result<(), CompileError> {
            RUNS.fetch_add(1, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(300));
            let mut out = b"artifact of ".to_vec();
            out.extend(fs::read_file(input).map_err(|e| CompileError::Failed(e.to_string()))?);
            fs::write_file(output, &out).map_err(|e| CompileError::Failed(e.to_string()))
        }
        let _ = fs::unlink(&entry_path(&key(MODULE)));
        let expected = [&b"artifact of "[..], MODULE].concat();
        let lookups: Vec<_> = (0..4)
            .map(|_| {
                let expected = expected.clone();
                thread::spawn(move || match artifact(MODULE, &slow) {
                    Ok((a, lookup)) if a == expected => {
                        match lookup {
                            Lookup::Miss => MISSES.fetch_add(1, Ordering::SeqCst),
                            Lookup::Hit => HITS.fetch_add(1, Ordering::SeqCst),
                            Lookup::Rejected(_) => return 2,
                        };
                        0
                    }
                    _ => 1,
                })
                .unwrap()
            })
            .collect();
        for l in lookups {
            assert_eq!(l.join(), thread::ExitStatus::Exited(0));
        }
        assert_eq!(RUNS.load(Ordering::SeqCst), 1, "one compile for four lookups");
        assert_eq!(MISSES.load(Ordering::SeqCst), 1);
        assert_eq!(HITS.load(Ordering::SeqCst), 3);
        let _ = fs::unlink(&entry_path(&key(MODULE)));
    }
}
