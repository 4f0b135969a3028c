use super::*;
use alloc::string::String;
use alloc::vec;
use std::process::{Command, Stdio};

/// A small archive with every kind of entry the builder writes.
fn sample() -> Vec<u8> {
    let mut b = Builder::new();
    b.add_dir(".", 0o755, 1);
    b.add_dir("bin", 0o755, 2);
    b.add_file("bin/hello", 0o755, 3, b"\x7fELF hello");
    b.add_file("etc/empty", 0o644, 4, b"");
    b.add_symlink("lib", "bin", 5);
    b.finish()
}

/// Deterministic xorshift64 generator for the fuzz tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Builds a header by hand, for the error tests.
fn header(magic: &str, fields: [u32; 13]) -> Vec<u8> {
    let mut s = String::from(magic);
    for f in fields {
        s.push_str(&format!("{f:08x}"));
    }
    s.into_bytes()
}

/// Header fields for a file entry with the given name size and file size.
fn fields(namesize: u32, filesize: u32) -> [u32; 13] {
    [1, 0o100644, 0, 0, 1, 0, filesize, 0, 0, 0, 0, namesize, 0]
}

#[test]
fn round_trip_of_every_kind() {
    let archive = sample();
    assert_eq!(archive.len() % 4, 0);
    let entries = parse(&archive).unwrap();
    assert_eq!(
        entries,
        vec![
            Entry {
                path: "bin",
                kind: EntryKind::Directory,
                mode: 0o755,
                mtime: 2,
                data: b""
            },
            Entry {
                path: "bin/hello",
                kind: EntryKind::File,
                mode: 0o755,
                mtime: 3,
                data: b"\x7fELF hello"
            },
            Entry {
                path: "etc/empty",
                kind: EntryKind::File,
                mode: 0o644,
                mtime: 4,
                data: b""
            },
            Entry {
                path: "lib",
                kind: EntryKind::Symlink,
                mode: 0o777,
                mtime: 5,
                data: b"bin"
            },
        ]
    );
}

#[test]
fn every_data_and_name_length_mod_4_round_trips() {
    let mut b = Builder::new();
    let mut expected = Vec::new();
    for name_len in 1..=8 {
        for data_len in 0..=9 {
            let path = format!(
                "d{}/{}",
                name_len,
                "n".repeat(name_len) + &data_len.to_string()
            );
            let data: Vec<u8> = (0..data_len).map(|i| (i * 7 + name_len) as u8).collect();
            b.add_file(&path, 0o600, (name_len * 100 + data_len) as u64, &data);
            expected.push((path, data));
        }
    }
    let archive = b.finish();
    let entries = parse(&archive).unwrap();
    assert_eq!(entries.len(), expected.len());
    for (e, (path, data)) in entries.iter().zip(&expected) {
        assert_eq!(e.path, path);
        assert_eq!(e.data, &data[..]);
        assert_eq!(e.kind, EntryKind::File);
        assert_eq!(e.mode, 0o600);
    }
}

#[test]
fn nested_paths_and_leading_prefixes_are_stripped() {
    let mut b = Builder::new();
    b.add_dir("./", 0o755, 0);
    b.add_dir("/", 0o755, 0);
    b.add_dir("./a", 0o700, 0);
    b.add_dir("/a/b", 0o700, 0);
    b.add_file(".//a/b/c.txt", 0o644, 0, b"deep");
    b.add_file("a/b/.hidden", 0o644, 0, b"h");
    let archive = b.finish();
    let paths: Vec<&str> = parse(&archive).unwrap().iter().map(|e| e.path).collect();
    assert_eq!(paths, ["a", "a/b", "a/b/c.txt", "a/b/.hidden"]);
}

#[test]
fn builder_masks_mode_and_saturates_mtime() {
    let mut b = Builder::new();
    b.add_file("f", 0o104_755, u64::MAX, b"x");
    let archive = b.finish();
    let e = parse(&archive).unwrap()[0];
    assert_eq!(e.mode, 0o4755);
    assert_eq!(e.kind, EntryKind::File);
    assert_eq!(e.mtime, u64::from(u32::MAX));
}

#[test]
fn empty_builder_is_just_a_trailer() {
    let archive = Builder::new().finish();
    assert_eq!(archive.len(), 124); // 110 + 11 bytes of name, padded to 4
    assert_eq!(parse(&archive).unwrap(), vec![]);
}

#[test]
fn bytes_after_trailer_are_ignored_and_other_kinds_reported() {
    let mut archive = header("070701", [9, 0o020666, 0, 0, 1, 0, 0, 0, 0, 4, 1, 8, 0]);
    archive.extend_from_slice(b"dev/tty\0\0\0");
    archive.extend_from_slice(&Builder::new().finish());
    archive.extend_from_slice(&[0; 512]);
    let entries = parse(&archive).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].path, "dev/tty");
    assert_eq!(entries[0].kind, EntryKind::Other);
    assert_eq!(entries[0].mode, 0o666);
}

#[test]
fn lowercase_and_uppercase_hex_are_accepted() {
    let mut archive = header("070701", fields(2, 0xab));
    archive[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"000000aB");
    archive.extend_from_slice(b"f\0");
    archive.extend_from_slice(&[1; 0xab]);
    archive.push(0);
    archive.extend_from_slice(&Builder::new().finish());
    assert_eq!(parse(&archive).unwrap()[0].data, &[1; 0xab][..]);
}

#[test]
fn iterator_stops_after_an_error() {
    let mut archive = sample();
    archive.truncate(archive.len() - 1);
    let mut it = entries(&archive);
    assert_eq!(it.next().unwrap().unwrap().path, "bin");
    let results: Vec<_> = it.by_ref().collect();
    assert!(results.last().unwrap().is_err());
    assert!(it.next().is_none());
}

#[test]
fn error_truncated_header() {
    let archive = &sample()[..50];
    assert_eq!(parse(archive), Err(InitrdError::Truncated { offset: 0 }));
}

#[test]
fn error_truncated_data_names_the_data_offset() {
    let mut archive = header("070701", fields(2, 10));
    archive.extend_from_slice(b"f\0abc");
    assert_eq!(parse(&archive), Err(InitrdError::Truncated { offset: 112 }));
}

#[test]
fn error_bad_magic() {
    let mut archive = sample();
    archive[5] = b'2'; // "070702" is the crc variant, not newc
    assert_eq!(parse(&archive), Err(InitrdError::BadMagic { offset: 0 }));
    // In the second entry too.
    let mut archive = sample();
    // The "." entry is 110 + 2 bytes of name, padded to 112.
    let first_len = align4(HEADER_LEN + 2).unwrap();
    archive[first_len] = b'X';
    assert_eq!(
        parse(&archive),
        Err(InitrdError::BadMagic { offset: first_len })
    );
}

#[test]
fn error_bad_header_field_for_each_field() {
    for (i, name) in FIELDS.iter().enumerate() {
        let mut archive = sample();
        let at = 6 + 8 * i + 3;
        archive[at] = b'g';
        assert_eq!(
            parse(&archive),
            Err(InitrdError::BadHeaderField {
                offset: 6 + 8 * i,
                field: name
            }),
            "field {name}"
        );
    }
    // A sign or space is not a hex digit either.
    let mut archive = sample();
    archive[6] = b'+';
    assert!(matches!(
        parse(&archive),
        Err(InitrdError::BadHeaderField { field: "ino", .. })
    ));
}

#[test]
fn error_zero_namesize_and_missing_nul() {
    let mut archive = header("070701", fields(0, 0));
    archive.extend_from_slice(&Builder::new().finish());
    assert_eq!(
        parse(&archive),
        Err(InitrdError::BadHeaderField {
            offset: 94,
            field: "namesize"
        })
    );
    let mut archive = header("070701", fields(2, 0));
    archive.extend_from_slice(b"ab\0\0");
    archive.extend_from_slice(&Builder::new().finish());
    assert_eq!(
        parse(&archive),
        Err(InitrdError::BadHeaderField {
            offset: 94,
            field: "namesize"
        })
    );
    // An embedded NUL is rejected as well.
    let mut archive = header("070701", fields(4, 0));
    archive.extend_from_slice(b"a\0b\0\0\0");
    archive.extend_from_slice(&Builder::new().finish());
    assert!(matches!(
        parse(&archive),
        Err(InitrdError::BadHeaderField {
            field: "namesize",
            ..
        })
    ));
}

#[test]
fn error_name_not_utf8() {
    let mut archive = header("070701", fields(3, 0));
    archive.extend_from_slice(b"\xff\xfe\0\0\0\0");
    archive.extend_from_slice(&Builder::new().finish());
    assert_eq!(
        parse(&archive),
        Err(InitrdError::NameNotUtf8 { offset: 110 })
    );
}

#[test]
fn error_name_too_long() {
    let mut archive = header("070701", fields(u32::MAX, 0));
    archive.extend_from_slice(&Builder::new().finish());
    assert_eq!(
        parse(&archive),
        Err(InitrdError::NameTooLong {
            offset: 110,
            len: u32::MAX as usize - 1
        })
    );
    // The limit itself is fine.
    let mut b = Builder::new();
    let long = "x".repeat(MAX_NAME_LEN);
    b.add_file(&long, 0o644, 0, b"");
    assert_eq!(parse(&b.finish()).unwrap()[0].path, long);
    let mut b = Builder::new();
    b.add_file(&"x".repeat(MAX_NAME_LEN + 1), 0o644, 0, b"");
    assert_eq!(
        parse(&b.finish()),
        Err(InitrdError::NameTooLong {
            offset: 110,
            len: MAX_NAME_LEN + 1
        })
    );
}

#[test]
fn error_missing_trailer() {
    assert_eq!(parse(&[]), Err(InitrdError::MissingTrailer));
    let mut b = Builder::new();
    b.add_file("f", 0o644, 0, b"abc");
    let mut archive = b.finish();
    archive.truncate(archive.len() - 124);
    assert_eq!(parse(&archive), Err(InitrdError::MissingTrailer));
}

#[test]
fn huge_filesize_is_truncation_not_overflow() {
    let mut archive = header("070701", fields(2, u32::MAX));
    archive.extend_from_slice(b"f\0");
    assert_eq!(parse(&archive), Err(InitrdError::Truncated { offset: 112 }));
}

#[test]
fn display_names_the_offset() {
    let cases: [(InitrdError, &str); 6] = [
        (InitrdError::Truncated { offset: 7 }, "7"),
        (InitrdError::BadMagic { offset: 8 }, "8"),
        (
            InitrdError::BadHeaderField {
                offset: 9,
                field: "mode",
            },
            "`mode` at byte offset 9",
        ),
        (InitrdError::NameNotUtf8 { offset: 10 }, "10"),
        (
            InitrdError::NameTooLong {
                offset: 11,
                len: 5000,
            },
            "5000",
        ),
        (InitrdError::MissingTrailer, "TRAILER!!!"),
    ];
    for (err, needle) in cases {
        let msg = err.to_string();
        assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
        assert!(!msg.contains('\n'));
    }
}

#[test]
fn every_truncation_is_an_error() {
    let archive = sample();
    assert!(parse(&archive).is_ok());
    for len in 0..archive.len() {
        let result = parse(&archive[..len]);
        assert!(result.is_err(), "prefix of {len} bytes parsed: {result:?}");
    }
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..2000 {
        let len = rng.below(400);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Half the time start with the magic so the header fields get exercised.
        if len >= 6 && rng.below(2) == 0 {
            data[..6].copy_from_slice(MAGIC);
        }
        let _ = parse(&data);
    }
}

#[test]
fn random_mutations_of_a_valid_archive_never_panic() {
    let base = sample();
    let hex = b"0123456789abcdefFFFF";
    let mut rng = Rng(42);
    let mut errors = 0;
    for _ in 0..5000 {
        let mut data = base.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(data.len());
            // Mostly hex digits so that sizes change instead of fields breaking.
            data[at] = if rng.below(4) == 0 {
                rng.next() as u8
            } else {
                hex[rng.below(hex.len())]
            };
        }
        if rng.below(3) == 0 {
            data.truncate(rng.below(data.len()));
        }
        if parse(&data).is_err() {
            errors += 1;
        }
    }
    assert!(errors > 0);
}

/// Parses an archive written by the system `cpio -o -H newc`.
#[test]
fn reads_archive_made_by_gnu_cpio() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    if Command::new("cpio").arg("--version").output().is_err() {
        println!("note: `cpio` is not installed; skipping the GNU cpio interop test");
        return;
    }
    let dir = std::env::temp_dir().join(format!("initrd-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin/sub")).unwrap();
    std::fs::write(dir.join("bin/hello"), b"hello, world\n").unwrap();
    std::fs::write(dir.join("bin/sub/odd"), b"12345").unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    std::fs::set_permissions(
        dir.join("bin/hello"),
        std::fs::Permissions::from_mode(0o751),
    )
    .unwrap();
    std::fs::set_permissions(dir.join("bin/sub"), std::fs::Permissions::from_mode(0o710)).unwrap();
    symlink("bin/hello", dir.join("link")).unwrap();

    let mut child = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b".\n./bin\n./bin/hello\n./bin/sub\n./bin/sub/odd\n./empty\n./link\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let entries = parse(&out.stdout).unwrap();
    let summary: Vec<(&str, EntryKind, u32, &[u8])> = entries
        .iter()
        .map(|e| (e.path, e.kind, e.mode, e.data))
        .collect();
    let find = |p: &str| *summary.iter().find(|s| s.0 == p).unwrap();
    assert_eq!(summary.len(), 6, "{summary:?}");
    assert_eq!(find("bin").1, EntryKind::Directory);
    assert_eq!(
        find("bin/hello"),
        ("bin/hello", EntryKind::File, 0o751, &b"hello, world\n"[..])
    );
    assert_eq!(
        find("bin/sub"),
        ("bin/sub", EntryKind::Directory, 0o710, &b""[..])
    );
    assert_eq!(find("bin/sub/odd").3, b"12345");
    assert_eq!(find("empty").3, b"");
    assert_eq!(find("link").1, EntryKind::Symlink);
    assert_eq!(find("link").3, b"bin/hello");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(entries.iter().all(|e| e.mtime > 0 && e.mtime <= now + 1));

    // And GNU cpio reads what the builder writes.
    let mut b = Builder::new();
    b.add_dir("d", 0o755, 1_000_000);
    b.add_file("d/f", 0o644, 1_000_000, b"abc");
    b.add_symlink("l", "d/f", 1_000_000);
    let mut child = Command::new("cpio")
        .args(["-i", "-t", "-v", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&b.finish()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(lines[0].starts_with("drwxr-xr-x") && lines[0].ends_with(" d"));
    assert!(
        lines[1].starts_with("-rw-r--r--")
            && lines[1].contains(" 3 ")
            && lines[1].ends_with(" d/f")
    );
    assert!(lines[2].starts_with("lrwxrwxrwx") && lines[2].ends_with(" l -> d/f"));
}
