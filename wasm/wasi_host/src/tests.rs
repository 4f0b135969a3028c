//! Host tests of the pure parts: guest memory bounds, guest path checks, argument and
//! environment layout, preopen queries, struct layouts, the function table.

use crate::types::{DirentPacker, Filestat, fdstat_bytes};
use crate::{Errno, GuestMemory, IOV_MAX, PATH_MAX, Preopen, WasiCtx, abi, path};
use std::vec;
use std::vec::Vec;

#[test]
fn memory_accesses_are_bounds_checked() {
    let mut mem = vec![0u8; 64];
    assert!(mem.write(60, &[1, 2, 3, 4]).is_ok());
    assert_eq!(mem.write(61, &[1, 2, 3, 4]), Err(Errno::FAULT));
    assert_eq!(mem.slice(u32::MAX, 2).err(), Some(Errno::FAULT));
    assert_eq!(mem.slice(0, u32::MAX).err(), Some(Errno::FAULT));
    assert_eq!(mem.slice(64, 0).map(<[u8]>::len), Ok(0));
    assert_eq!(mem.slice(65, 0).err(), Some(Errno::FAULT));
    assert_eq!(mem.read_u32(60), Ok(0x0403_0201));
    assert_eq!(mem.read_u32(61), Err(Errno::FAULT));
    mem.write_u64(8, 0x1122_3344_5566_7788).unwrap();
    assert_eq!(
        &mem[8..16],
        &[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]
    );
    assert_eq!(mem.write_u64(57, 1), Err(Errno::FAULT));
}

#[test]
fn iovec_arrays_and_paths_are_bounded() {
    // A table of IOV_MAX + 1 empty entries fits in memory but is refused before any copy.
    let mem = vec![0u8; 16 << 10];
    assert_eq!(mem.iovecs(0, IOV_MAX).map(|v| v.len()), Ok(1024));
    assert_eq!(mem.iovecs(0, IOV_MAX + 1), Err(Errno::INVAL));
    // Lengths adding up past u32::MAX: each entry alone is fine.
    let mut mem = vec![0u8; 8 << 20];
    for i in 0..1024u32 {
        mem.write_u32(i * 8, 0).unwrap();
        mem.write_u32(i * 8 + 4, 8 << 20).unwrap();
    }
    assert_eq!(mem.iovecs(0, 1024), Err(Errno::OVERFLOW));
    assert_eq!(mem.iovecs(0, 511), Ok(vec![(0, 8 << 20); 511]));
    assert_eq!(mem.iovecs(0, 512), Err(Errno::OVERFLOW));
    // Paths: the longest allowed is copied, one byte more is NAMETOOLONG.
    mem[..5000].fill(b'a');
    assert_eq!(mem.read_str(0, PATH_MAX).map(|s| s.len()), Ok(4096));
    assert_eq!(mem.read_str(0, PATH_MAX + 1), Err(Errno::NAMETOOLONG));
}

#[test]
fn iovecs_are_checked_against_memory() {
    let mut mem = vec![0u8; 64];
    mem.write_u32(0, 32).unwrap();
    mem.write_u32(4, 16).unwrap();
    mem.write_u32(8, 48).unwrap();
    mem.write_u32(12, 16).unwrap();
    assert_eq!(mem.iovecs(0, 2), Ok(vec![(32, 16), (48, 16)]));
    mem.write_u32(12, 17).unwrap();
    assert_eq!(mem.iovecs(0, 2), Err(Errno::FAULT));
    // The table itself out of range, and a count whose size overflows.
    assert_eq!(mem.iovecs(60, 1), Err(Errno::FAULT));
    assert_eq!(mem.iovecs(0, u32::MAX), Err(Errno::FAULT));
    assert_eq!(mem.read_str(0, 100), Err(Errno::FAULT));
    mem.write(20, &[0xff, 0xfe]).unwrap();
    assert_eq!(mem.read_str(20, 2), Err(Errno::ILSEQ));
}

#[test]
fn guest_path_checks() {
    assert_eq!(path::check("a/b"), Ok(()));
    assert_eq!(path::check("a\0b"), Err(Errno::INVAL));
    assert_eq!(path::check_symlink_target("../x"), Ok(()));
    assert_eq!(path::check_symlink_target("/etc"), Err(Errno::PERM));
    assert_eq!(path::check_symlink_target(""), Err(Errno::NOENT));
}

fn ctx() -> WasiCtx {
    WasiCtx::new(
        vec!["hello".into(), "a b".into()],
        vec![("K".into(), "V".into())],
        vec![
            Preopen {
                dir: 10,
                guest: "/work".into(),
            },
            Preopen {
                dir: 11,
                guest: ".".into(),
            },
        ],
    )
}

#[test]
fn args_and_environment_layout() {
    let c = ctx();
    let mut mem = vec![0u8; 128];
    c.args_sizes_get(&mut mem, 0, 4).unwrap();
    assert_eq!(mem.read_u32(0), Ok(2));
    assert_eq!(mem.read_u32(4), Ok(10)); // "hello\0a b\0"
    c.args_get(&mut mem, 16, 64).unwrap();
    assert_eq!(mem.read_u32(16), Ok(64));
    assert_eq!(mem.read_u32(20), Ok(70));
    assert_eq!(&mem[64..74], b"hello\0a b\0");
    c.environ_sizes_get(&mut mem, 0, 4).unwrap();
    assert_eq!((mem.read_u32(0), mem.read_u32(4)), (Ok(1), Ok(4)));
    c.environ_get(&mut mem, 24, 100).unwrap();
    assert_eq!(mem.read_u32(24), Ok(100));
    assert_eq!(&mem[100..104], b"K=V\0");
    // A buffer running past the end of memory.
    assert_eq!(c.args_get(&mut mem, 16, 120), Err(Errno::FAULT));
    assert_eq!(c.args_sizes_get(&mut mem, 126, 0), Err(Errno::FAULT));
}

#[test]
fn preopens_are_listed_from_fd_3() {
    let c = ctx();
    let mut mem = vec![0u8; 64];
    c.fd_prestat_get(&mut mem, 3, 0).unwrap();
    assert_eq!(mem[0], 0);
    assert_eq!(mem.read_u32(4), Ok(5));
    c.fd_prestat_dir_name(&mut mem, 3, 16, 5).unwrap();
    assert_eq!(&mem[16..21], b"/work");
    assert_eq!(
        c.fd_prestat_dir_name(&mut mem, 3, 16, 4),
        Err(Errno::NAMETOOLONG)
    );
    c.fd_prestat_get(&mut mem, 4, 0).unwrap();
    assert_eq!(mem.read_u32(4), Ok(1));
    // Stdio and unknown descriptors are not preopens: wasi-libc stops at BADF.
    assert_eq!(c.fd_prestat_get(&mut mem, 1, 0), Err(Errno::BADF));
    assert_eq!(c.fd_prestat_get(&mut mem, 5, 0), Err(Errno::BADF));
    assert_eq!(c.fd_prestat_get(&mut mem, 3, 60), Err(Errno::FAULT));
}

#[test]
fn directory_descriptors_are_checked() {
    let c = ctx();
    assert_eq!(c.dir(3, 0), Ok(10));
    assert_eq!(c.dir(4, 0), Ok(11));
    assert_eq!(c.dir(1, 0), Err(Errno::NOTDIR));
    assert_eq!(c.dir(9, 0), Err(Errno::BADF));
}

#[test]
fn struct_layouts_match_the_witx() {
    let b = fdstat_bytes(4, 1, 0x0102, 0x0304);
    assert_eq!(b[0], 4);
    assert_eq!(&b[2..4], &[1, 0]);
    assert_eq!(&b[8..10], &[2, 1]);
    assert_eq!(&b[16..18], &[4, 3]);
    let s = Filestat {
        dev: 1,
        ino: 2,
        filetype: 3,
        nlink: 4,
        size: 5,
        atim: 6,
        mtim: 7,
        ctim: 8,
    }
    .to_bytes();
    for (off, v) in [
        (0, 1),
        (8, 2),
        (16, 3),
        (24, 4),
        (32, 5),
        (40, 6),
        (48, 7),
        (56, 8),
    ] {
        assert_eq!(s[off], v, "offset {off}");
    }
    // Two entries, the second cut by the buffer size.
    let mut p = DirentPacker::new(24 + 2 + 24 + 1);
    assert!(p.push(1, 10, "ab", 4));
    assert!(!p.push(2, 11, "cde", 3), "the buffer is full");
    assert!(!p.push(3, 12, "f", 4), "nothing more goes in");
    let d = p.finish();
    assert_eq!(d.len(), 51);
    assert_eq!(&d[0..8], &1u64.to_le_bytes());
    assert_eq!(&d[16..20], &2u32.to_le_bytes());
    assert_eq!(d[20], 4);
    assert_eq!(&d[24..26], b"ab");
    assert_eq!(&d[26..34], &2u64.to_le_bytes());
    assert_eq!(d[50], b'c');
    let mut p = DirentPacker::new(0);
    assert!(!p.push(1, 1, "x", 4));
    assert!(p.finish().is_empty());
    // Exactly full: the entry fits whole, and the packer says no more fit.
    let mut p = DirentPacker::new(24 + 1);
    assert!(!p.push(1, 1, "x", 4));
    assert_eq!(p.finish().len(), 25);
}

#[test]
fn errno_numbers_match_the_witx() {
    assert_eq!(Errno::NOENT.0, 44);
    assert_eq!(Errno::BADF.0, 8);
    assert_eq!(Errno::NOSYS.0, 52);
    assert_eq!(Errno::NOTCAPABLE.0, 76);
    assert_eq!(Errno::FAULT.name(), Some("FAULT"));
}

/// The one conversion from the OS's errno: each Linux error goes to the witx error of the same
/// name, except the two WASI spells differently (`E2BIG`, `EXDEV`); the rest is `IO`.
#[test]
fn linux_errors_convert_to_the_witx_error_of_the_same_name() {
    use errno::Errno as Linux;
    assert_eq!(Errno::from(Linux::ENOENT), Errno::NOENT);
    assert_eq!(Errno::from(Linux::ENOTEMPTY), Errno::NOTEMPTY);
    assert_eq!(Errno::from(Linux::EWOULDBLOCK), Errno::AGAIN);
    assert_eq!(Errno::from(Linux::EOPNOTSUPP), Errno::NOTSUP);
    assert_eq!(Errno::from(Linux::E2BIG), Errno::TOOBIG);
    // Leaving the directory (EXDEV from the VFS's beneath calls) is PERM, as in wasmtime.
    assert_eq!(Errno::from(Linux::EXDEV), Errno::PERM);
    assert_eq!(Errno::from(Linux::from_raw(9999)), Errno::IO);
    let mut converted = 0;
    for &linux in Linux::ALL {
        let wasi = Errno::from(linux);
        let name = &linux.name().unwrap()[1..];
        let same_name = (0..=u16::MAX).map(Errno).find(|w| w.name() == Some(name));
        match (linux, same_name) {
            (Linux::E2BIG | Linux::EXDEV, _) => {}
            (_, Some(w)) => {
                assert_eq!(wasi, w, "{linux:?}");
                converted += 1;
            }
            (_, None) => assert_eq!(wasi, Errno::IO, "{linux:?} has no witx name"),
        }
    }
    assert!(converted > 70, "{converted}");
}

#[test]
fn function_table_is_complete() {
    assert_eq!(abi::FUNCTIONS.len(), 46);
    let mut names: Vec<&str> = abi::FUNCTIONS.iter().map(|f| f.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 46);
    use abi::Ty::{I32, I64};
    let open = abi::find("path_open").unwrap();
    assert_eq!(open.params, [I32, I32, I32, I32, I32, I64, I64, I32, I32]);
    assert_eq!(abi::find("fd_seek").unwrap().params, [I32, I64, I32, I32]);
    assert_eq!(abi::find("sched_yield").unwrap().params, []);
    assert!(abi::find("sched_yield").unwrap().returns_errno);
    assert!(!abi::find("proc_exit").unwrap().returns_errno);
}

#[test]
fn set_times_flags() {
    use crate::types::{fstflags::*, set_times_args};
    let all = u32::from(ATIM | MTIM);
    assert_eq!(set_times_args(1, 2, all, 9), Ok((Some(1), Some(2))));
    assert_eq!(
        set_times_args(1, 2, u32::from(ATIM_NOW | MTIM), 9),
        Ok((Some(9), Some(2)))
    );
    assert_eq!(
        set_times_args(1, 2, u32::from(MTIM_NOW), 9),
        Ok((None, Some(9)))
    );
    assert_eq!(set_times_args(1, 2, 0, 9), Ok((None, None)));
    assert_eq!(
        set_times_args(u64::MAX, 2, all, 9),
        Err(Errno::OVERFLOW),
        "past 2262"
    );
    assert_eq!(
        set_times_args(1, 2, u32::from(ATIM | ATIM_NOW), 9),
        Err(Errno::INVAL)
    );
    assert_eq!(
        set_times_args(1, 2, u32::from(MTIM | MTIM_NOW), 9),
        Err(Errno::INVAL)
    );
    assert_eq!(set_times_args(1, 2, 1 << 4, 9), Err(Errno::INVAL));
}

#[test]
fn subscription_and_event_layouts() {
    use crate::types::{Subscription, event_bytes, eventtype};
    let mut b = [0u8; 48];
    b[0..8].copy_from_slice(&7u64.to_le_bytes());
    b[8] = eventtype::CLOCK;
    b[16..20].copy_from_slice(&1u32.to_le_bytes());
    b[24..32].copy_from_slice(&5_000u64.to_le_bytes());
    b[40] = 1;
    let s = Subscription::parse(&b).unwrap();
    assert_eq!(
        s,
        Subscription::Clock {
            userdata: 7,
            id: 1,
            timeout: 5_000,
            abstime: true
        }
    );
    assert_eq!((s.userdata(), s.eventtype()), (7, eventtype::CLOCK));
    b[8] = eventtype::FD_WRITE;
    b[16..20].copy_from_slice(&3u32.to_le_bytes());
    assert_eq!(
        Subscription::parse(&b),
        Ok(Subscription::Fd {
            userdata: 7,
            fd: 3,
            read: false
        })
    );
    b[8] = 3;
    assert_eq!(Subscription::parse(&b), Err(Errno::INVAL));
    assert_eq!(Subscription::parse(&b[..40]), Err(Errno::FAULT));
    let e = event_bytes(9, Errno::BADF, eventtype::FD_READ, 12, 1);
    assert_eq!(u64::from_le_bytes(e[0..8].try_into().unwrap()), 9);
    assert_eq!(u16::from_le_bytes([e[8], e[9]]), 8);
    assert_eq!(e[10], eventtype::FD_READ);
    assert_eq!(u64::from_le_bytes(e[16..24].try_into().unwrap()), 12);
    assert_eq!(u16::from_le_bytes([e[24], e[25]]), 1);
}

#[test]
fn checks_before_a_run_are_the_same_for_both_engines() {
    use crate::run::{
        Declared, Import, RunError, check_declared_sizes, check_imports, check_magic,
    };
    assert_eq!(check_magic(b"\0asm\x01\0\0\0"), Ok(()));
    assert!(matches!(
        check_magic(b"garbage"),
        Err(RunError::Malformed(_))
    ));
    let import = |module, name, is_function| Import {
        module,
        name,
        is_function,
    };
    assert_eq!(
        check_imports([
            import(abi::MODULE, "fd_write", true),
            import("env", "missing_fn", true),
            import(abi::MODULE, "no_such_call", true),
            import(abi::MODULE, "fd_read", false),
        ]),
        Err(RunError::MissingImports(vec![
            "env.missing_fn".into(),
            "wasi_snapshot_preview1.no_such_call".into(),
            "wasi_snapshot_preview1.fd_read".into(),
        ]))
    );
    assert_eq!(
        check_imports([import(abi::MODULE, "proc_exit", true)]),
        Ok(())
    );
    let limit = 128 << 20;
    assert_eq!(
        check_declared_sizes([("memory", Declared::MemoryPages(2048))], limit),
        Ok(())
    );
    assert_eq!(
        check_declared_sizes([("memory", Declared::MemoryPages(2049))], limit)
            .unwrap_err()
            .to_string(),
        "cannot instantiate: memory `memory` declares a minimum of 134283264 bytes, over the limit of 134217728 bytes"
    );
    assert_eq!(
        check_declared_sizes([("t", Declared::TableElements(10_000_000))], limit)
            .unwrap_err()
            .to_string(),
        "cannot instantiate: table `t` declares a minimum of 10000000 elements, over the limit of 1048576"
    );
    // A 4 GiB declaration does not overflow the byte count.
    assert!(check_declared_sizes([("m", Declared::MemoryPages(u64::MAX))], limit).is_err());
}

#[test]
fn backtrace_lines_name_frames_and_stop_at_forty() {
    use crate::run::format_frames;
    assert_eq!(
        format_frames(2, [(7, Some("divide")), (3, None)]),
        vec!["0: divide (func 7)".to_string(), "1: func 3".to_string()]
    );
    let deep = format_frames(1000, (0..1000).map(|i| (i, Some("deep"))));
    assert_eq!(deep.len(), 41);
    assert_eq!(deep[39], "39: deep (func 39)");
    assert_eq!(deep[40], "... 960 more");
    // Exactly forty frames: no `more` line.
    assert_eq!(format_frames(40, (0..40).map(|i| (i, None))).len(), 40);
    assert!(format_frames(0, []).is_empty());
}
