//! The root file system instance: one `MemFs` mounted at `/`, filled from the initial
//! ramdisk at boot. Owns the global instance, the ramdisk's integrity check (XXH64) and the
//! ramdisk-to-tree loader. Depends on `memfs`, `initrd`, `spin`, `xxhash-rust`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use initrd::{EntryKind, InitrdError};
use memfs::{Errno, MemFs};
use spin::{Lazy, Mutex};

static ROOT: Lazy<Mutex<MemFs>> = Lazy::new(|| Mutex::new(MemFs::new()));

/// Memory the kernel keeps out of the file system's reach: a quarter of RAM, at least
/// 64 MiB (programs, wasm guests, tasks and the kernel's own structures live there).
pub fn reserve_for(ram_bytes: u64) -> u64 {
    (ram_bytes / 4).max(64 << 20).min(ram_bytes)
}

/// The byte budget of the root file system on a machine with `ram_bytes` of RAM: all of it
/// but [`reserve_for`]. Beyond it, writes fail with `ENOSPC` and the system keeps working.
pub fn byte_limit_for(ram_bytes: u64) -> u64 {
    ram_bytes - reserve_for(ram_bytes)
}

/// Runs `f` with the root file system locked.
pub fn with<R>(f: impl FnOnce(&mut MemFs) -> R) -> R {
    f(&mut ROOT.lock())
}

/// Why the ramdisk could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The archive's XXH64 is not the one the boot loader's command line gave.
    Corrupted {
        expected: u64,
        actual: u64,
    },
    Archive(InitrdError),
    File {
        path: alloc::string::String,
        error: Errno,
    },
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            LoadError::Corrupted { expected, actual } => write!(
                f,
                "initial ramdisk is corrupted: its XXH64 is {actual:#018x}, the kernel command \
                 line says {expected:#018x} (initrd-xxh64=)"
            ),
            LoadError::Archive(e) => write!(f, "initial ramdisk: {e}"),
            LoadError::File { path, error } => write!(f, "initial ramdisk: /{path}: {error}"),
        }
    }
}

/// The XXH64 (seed 0) of `bytes`: the ramdisk's check value (xtask computes the same).
pub fn xxh64(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

/// Checks that `archive` has the XXH64 (seed 0) `expected`. A bit flipped in a file's data
/// leaves a well-formed archive, which [`load_archive`] would load with that file silently
/// wrong: this check is what tells. (It was CRC-32 until 2026-12-06: 113 ms of a 1.1 s boot
/// for the 62 MB ramdisk under TCG, about 20 ms as XXH64.)
pub fn check_xxh64(archive: &[u8], expected: u64) -> Result<(), LoadError> {
    let actual = xxh64(archive);
    if actual == expected {
        Ok(())
    } else {
        Err(LoadError::Corrupted { expected, actual })
    }
}

/// Adds every entry of the cpio `archive` to `fs` (parents created as needed; an entry that
/// exists already is replaced for files, kept for directories). The archive is validated
/// completely before anything is added. Returns the number of entries.
pub fn load_archive(fs: &mut MemFs, archive: &[u8], now_ns: i64) -> Result<usize, LoadError> {
    let entries = initrd::parse(archive).map_err(LoadError::Archive)?;
    for e in &entries {
        let path = alloc::format!("/{}", e.path);
        let err = |error| LoadError::File {
            path: e.path.into(),
            error,
        };
        let mtime = i64::try_from(e.mtime)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        if let Some((parent, _)) = path.rsplit_once('/')
            && !parent.is_empty()
        {
            fs.mkdir_all(parent, 0o755, now_ns).map_err(err)?;
        }
        match e.kind {
            EntryKind::Directory => {
                let node = fs.mkdir_all(&path, e.mode, now_ns).map_err(err)?;
                fs.set_mode(node, e.mode).map_err(err)?;
            }
            EntryKind::File => {
                if fs.lookup_nofollow(&path).is_ok() {
                    fs.unlink(&path, now_ns).map_err(err)?;
                }
                let node = fs.create_file(&path, e.mode, now_ns).map_err(err)?;
                fs.write_at(node, 0, e.data, mtime).map_err(err)?;
                fs.set_times(node, Some(mtime), Some(mtime)).map_err(err)?;
            }
            EntryKind::Symlink => {
                let target = core::str::from_utf8(e.data).map_err(|_| err(Errno::EINVAL))?;
                if fs.lookup_nofollow(&path).is_ok() {
                    fs.unlink(&path, now_ns).map_err(err)?;
                }
                fs.symlink(&path, target, now_ns).map_err(err)?;
            }
            EntryKind::Other => {}
        }
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive() -> alloc::vec::Vec<u8> {
        let mut b = initrd::Builder::new();
        b.add_dir("etc", 0o755, 1);
        b.add_file("etc/motd", 0o644, 1_700_000_000, b"hello\n");
        b.add_file("deep/er/file", 0o600, 2, b"x");
        b.add_symlink("link", "/etc/motd", 3);
        b.finish()
    }

    #[test]
    fn byte_limit_leaves_a_reserve() {
        assert_eq!(byte_limit_for(1 << 30), 768 << 20);
        assert_eq!(byte_limit_for(128 << 20), 64 << 20);
        assert_eq!(byte_limit_for(32 << 20), 0);
        assert_eq!(byte_limit_for(16 << 30), 12 << 30);
    }

    #[test]
    fn loads_tree() {
        let mut fs = MemFs::new();
        assert_eq!(load_archive(&mut fs, &archive(), 5).unwrap(), 4);
        let n = fs.lookup("/etc/motd").unwrap();
        assert_eq!(&*fs.file_data(n).unwrap(), b"hello\n");
        assert_eq!(fs.metadata(n).unwrap().modified, 1_700_000_000_000_000_000);
        assert_eq!(
            &*fs.file_data(fs.lookup("/deep/er/file").unwrap()).unwrap(),
            b"x"
        );
        assert_eq!(
            &*fs.file_data(fs.lookup("/link").unwrap()).unwrap(),
            b"hello\n"
        );
    }

    #[test]
    fn xxh64_check_tells_a_flipped_bit() {
        let a = archive();
        let crc = xxh64(&a);
        // XXH64's published check values (seed 0): the empty input, and "abc".
        assert_eq!(xxh64(b""), 0xef46_db37_51d8_e999);
        assert_eq!(xxh64(b"abc"), 0x44bc_2cf5_ad77_0999);
        assert_eq!(check_xxh64(&a, crc), Ok(()));
        // One bit of `etc/motd`'s data: still a valid archive, but not the one xtask packed.
        let mut bad = a.clone();
        let at = bad.windows(6).position(|w| w == b"hello\n").unwrap();
        bad[at] ^= 0x20;
        let mut fs = MemFs::new();
        assert!(
            load_archive(&mut fs, &bad, 0).is_ok(),
            "the parser cannot see it"
        );
        let err = check_xxh64(&bad, crc).unwrap_err();
        let actual = xxh64(&bad);
        assert_eq!(
            err,
            LoadError::Corrupted {
                expected: crc,
                actual
            }
        );
        let message = alloc::format!("{err}");
        assert!(
            message.contains(&alloc::format!("{crc:#018x}")),
            "{message}"
        );
        assert!(
            message.contains(&alloc::format!("{actual:#018x}")),
            "{message}"
        );
    }

    #[test]
    fn corrupt_archive_adds_nothing() {
        let a = archive();
        let mut bad_magic = a.clone();
        bad_magic[0] = b'9';
        let cuts = [0, 1, 6, 50, 100, 120, a.len() - 20, a.len() - 1];
        for bad in cuts.iter().map(|&cut| &a[..cut]).chain([&bad_magic[..]]) {
            let mut fs = MemFs::new();
            let err = load_archive(&mut fs, bad, 0).unwrap_err();
            assert!(matches!(err, LoadError::Archive(_)), "{err:?}");
            let message = alloc::format!("{err}");
            assert!(message.starts_with("initial ramdisk:"), "{message}");
            assert!(fs.readdir(fs.root()).unwrap().is_empty());
        }
    }
}
