//! In-kernel tests of the VFS: files, metadata, directories, errors, descriptors, cwd, pipes.

use crate::*;
use alloc::format;
use alloc::vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use ktest::kernel_test;
use task::ExitValue;

/// A new empty directory `/vfstest/NAME` (removed first if a previous run left it).
fn fresh_dir(name: &str) -> String {
    match mkdir("/vfstest", 0o755) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => panic!("mkdir /vfstest: {e}"),
    }
    let dir = format!("/vfstest/{name}");
    if stat(&dir).is_ok() {
        for e in read_dir(&dir).unwrap() {
            let p = format!("{dir}/{}", e.name);
            if e.kind == FileKind::Directory {
                rmdir(&p).unwrap();
            } else {
                unlink(&p).unwrap();
            }
        }
        rmdir(&dir).unwrap();
    }
    mkdir(&dir, 0o755).unwrap();
    dir
}

fn rw_create() -> OpenOptions {
    OpenOptions::new().read(true).write(true).create(true)
}

fn read_exact(fd: Fd, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let got = read(fd, &mut buf).unwrap();
    buf.truncate(got);
    buf
}

fn sleep_ms(ms: u64) {
    task::sleep_ns(ms * 1_000_000);
}

kernel_test! {
    fn file_write_read_back_and_seek() {
        let dir = fresh_dir("rw");
        let path = format!("{dir}/f");
        let fd = open(&path, rw_create()).unwrap();
        assert_eq!(write(fd, b"hello world").unwrap(), 11);
        assert_eq!(seek(fd, SeekFrom::Current(0)).unwrap(), 11);
        assert_eq!(read(fd, &mut [0u8; 4]).unwrap(), 0, "end of file");
        assert_eq!(seek(fd, SeekFrom::Start(0)).unwrap(), 0);
        assert_eq!(read_exact(fd, 5), b"hello");
        assert_eq!(seek(fd, SeekFrom::Current(1)).unwrap(), 6);
        assert_eq!(read_exact(fd, 100), b"world");
        assert_eq!(seek(fd, SeekFrom::End(-5)).unwrap(), 6);
        assert_eq!(read_exact(fd, 2), b"wo");
        assert_eq!(seek(fd, SeekFrom::End(-12)), Err(Errno::EINVAL));
        assert_eq!(seek(fd, SeekFrom::Current(0)).unwrap(), 8, "failed seek moves nothing");
        // Writing past the end leaves a zero-filled hole.
        assert_eq!(seek(fd, SeekFrom::End(3)).unwrap(), 14);
        write(fd, b"!").unwrap();
        assert_eq!(fstat(fd).unwrap().size, 15);
        seek(fd, SeekFrom::Start(9)).unwrap();
        assert_eq!(read_exact(fd, 10), b"ld\0\0\0!");
        // Overwrite in the middle.
        seek(fd, SeekFrom::Start(0)).unwrap();
        write(fd, b"J").unwrap();
        close(fd).unwrap();
        let fd = open(&path, OpenOptions::read_only()).unwrap();
        assert_eq!(read_to_end(fd).unwrap(), b"Jello world\0\0\0!");
        close(fd).unwrap();
    }
}

kernel_test! {
    fn append_truncate_and_exclusive() {
        let dir = fresh_dir("append");
        let path = format!("{dir}/log");
        let a = open(&path, OpenOptions::new().append(true).create(true)).unwrap();
        let b = open(&path, OpenOptions::new().append(true)).unwrap();
        write(a, b"one ").unwrap();
        write(b, b"two ").unwrap();
        seek(a, SeekFrom::Start(0)).unwrap();
        write(a, b"three").unwrap();
        assert_eq!(seek(a, SeekFrom::Current(0)).unwrap(), 13, "append leaves offset at end");
        assert_eq!(stat(&path).unwrap().size, 13);
        close(a).unwrap();
        close(b).unwrap();
        let r = open(&path, OpenOptions::read_only()).unwrap();
        assert_eq!(read_to_end(r).unwrap(), b"one two three");
        close(r).unwrap();

        // O_EXCL refuses an existing path; O_CREAT alone opens it.
        let excl = OpenOptions::new().write(true).create(true).exclusive(true);
        assert_eq!(open(&path, excl), Err(Errno::EEXIST));
        let fd = open(&path, OpenOptions::new().write(true).create(true)).unwrap();
        assert_eq!(fstat(fd).unwrap().size, 13, "no truncation without O_TRUNC");
        close(fd).unwrap();
        symlink("nowhere", &format!("{dir}/dangling")).unwrap();
        assert_eq!(open(&format!("{dir}/dangling"), excl), Err(Errno::EEXIST));

        // O_TRUNC, ftruncate (grow with zeros, shrink), truncate by path.
        let fd = open(&path, OpenOptions::write_create()).unwrap();
        assert_eq!(fstat(fd).unwrap().size, 0);
        ftruncate(fd, 6).unwrap();
        write(fd, b"ab").unwrap();
        close(fd).unwrap();
        let r = open(&path, OpenOptions::read_only()).unwrap();
        assert_eq!(read_to_end(r).unwrap(), b"ab\0\0\0\0");
        assert_eq!(ftruncate(r, 0), Err(Errno::EACCES), "read-only fd");
        truncate(&path, 1).unwrap();
        seek(r, SeekFrom::Start(0)).unwrap();
        assert_eq!(read_to_end(r).unwrap(), b"a");
        close(r).unwrap();
        assert_eq!(truncate(&dir, 0), Err(Errno::EISDIR));
    }
}

kernel_test! {
    fn metadata_kinds_sizes_and_times() {
        let dir = fresh_dir("meta");
        let path = format!("{dir}/f");
        let fd = open(&path, rw_create().mode(0o600)).unwrap();
        let s0 = fstat(fd).unwrap();
        assert_eq!(s0.kind, FileKind::File);
        assert_eq!((s0.size, s0.mode, s0.nlink), (0, 0o600, 1));
        assert!(s0.created > 1_600_000_000_000_000_000, "wall-clock timestamps");
        assert_eq!(stat(&path).unwrap(), s0, "stat and fstat agree");
        sleep_ms(2);
        write(fd, b"12345").unwrap();
        let s1 = fstat(fd).unwrap();
        assert_eq!(s1.size, 5);
        assert!(s1.modified > s0.modified, "write advances mtime");
        assert_eq!(s1.created, s0.created);
        assert_eq!(s1.ino, s0.ino);
        sleep_ms(2);
        seek(fd, SeekFrom::Start(0)).unwrap();
        read_exact(fd, 5);
        let s2 = fstat(fd).unwrap();
        assert!(s2.accessed > s1.accessed, "read advances atime");
        assert_eq!(s2.modified, s1.modified, "read leaves mtime");
        close(fd).unwrap();

        let d = stat(&dir).unwrap();
        assert_eq!((d.kind, d.size), (FileKind::Directory, 1));
        mkdir(&format!("{dir}/sub"), 0o755).unwrap();
        assert_eq!(stat(&dir).unwrap().nlink, 3, "2 plus one subdirectory");
        assert_ne!(stat(&format!("{dir}/sub")).unwrap().ino, s0.ino);

        symlink("f", &format!("{dir}/link")).unwrap();
        let l = lstat(&format!("{dir}/link")).unwrap();
        assert_eq!((l.kind, l.size), (FileKind::Symlink, 1));
        assert_eq!(stat(&format!("{dir}/link")).unwrap().ino, s0.ino, "stat follows");
        assert_eq!(readlink(&format!("{dir}/link")).unwrap(), "f");
        assert_eq!(readlink(&path), Err(Errno::EINVAL));

        let (r, w) = pipe().unwrap();
        assert_eq!(fstat(r).unwrap().kind, FileKind::Pipe);
        write(w, b"abc").unwrap();
        assert_eq!(fstat(r).unwrap().size, 3);
        assert_eq!(fstat(r).unwrap().ino, fstat(w).unwrap().ino);
        close(r).unwrap();
        close(w).unwrap();
        assert_eq!(fstat(1).unwrap().kind, FileKind::CharDevice);
    }
}

kernel_test! {
    fn rename_unlink_mkdir_rmdir() {
        let dir = fresh_dir("ops");
        let a = format!("{dir}/a");
        let b = format!("{dir}/b");
        let fd = open(&a, rw_create()).unwrap();
        write(fd, b"A").unwrap();
        close(fd).unwrap();
        rename(&a, &b).unwrap();
        assert_eq!(stat(&a), Err(Errno::ENOENT));
        assert_eq!(stat(&b).unwrap().size, 1);
        // Rename over an existing file replaces it.
        let fd = open(&a, rw_create()).unwrap();
        write(fd, b"newer").unwrap();
        close(fd).unwrap();
        rename(&a, &b).unwrap();
        assert_eq!(stat(&b).unwrap().size, 5);

        let sub = format!("{dir}/sub");
        mkdir(&sub, 0o755).unwrap();
        assert_eq!(mkdir(&sub, 0o755), Err(Errno::EEXIST));
        assert_eq!(rename(&sub, &b), Err(Errno::ENOTDIR));
        assert_eq!(rename(&b, &sub), Err(Errno::EISDIR));
        assert_eq!(rename(&sub, &format!("{sub}/inner")), Err(Errno::EINVAL));
        rename(&b, &format!("{sub}/moved")).unwrap();
        assert_eq!(rmdir(&sub), Err(Errno::ENOTEMPTY));
        assert_eq!(unlink(&sub), Err(Errno::EISDIR));
        assert_eq!(rmdir(&format!("{sub}/moved")), Err(Errno::ENOTDIR));
        unlink(&format!("{sub}/moved")).unwrap();
        assert_eq!(unlink(&format!("{sub}/moved")), Err(Errno::ENOENT));
        rmdir(&sub).unwrap();
        assert_eq!(stat(&sub), Err(Errno::ENOENT));
        assert_eq!(rmdir("/"), Err(Errno::EBUSY));
        assert!(read_dir(&dir).unwrap().is_empty());
    }
}

kernel_test! {
    fn readdir_each_stops_where_told_and_resumes() {
        let dir = fresh_dir("readdir-each");
        for i in 0..6 {
            close(open(&format!("{dir}/f{i}"), rw_create()).unwrap()).unwrap();
        }
        let fd = open(&dir, OpenOptions::read_only().directory(true)).unwrap();
        let whole = readdir(fd, 0, usize::MAX).unwrap();
        // Entries as readdir gives them, up to the one the visitor refuses (not taken).
        let mut seen = Vec::new();
        readdir_each(fd, 0, &mut |e| {
            if seen.len() == 4 {
                return false;
            }
            seen.push((String::from(e.name), e.kind, e.ino, e.next));
            true
        })
        .unwrap();
        let expect = |range: core::ops::Range<usize>| {
            whole[range].iter().map(|e| (String::from(&*e.name), e.kind, e.ino, e.next)).collect::<Vec<_>>()
        };
        assert_eq!(seen, expect(0..4));
        // From the last entry's cookie: the rest, to the end.
        let mut rest = Vec::new();
        readdir_each(fd, seen[3].3, &mut |e| {
            rest.push((String::from(e.name), e.kind, e.ino, e.next));
            true
        })
        .unwrap();
        assert_eq!(rest, expect(4..6));
        // Past the end: nothing visited.
        readdir_each(fd, 6, &mut |_| panic!("visited past the end")).unwrap();
        close(fd).unwrap();
        let file = open(&format!("{dir}/f0"), OpenOptions::read_only()).unwrap();
        assert_eq!(readdir_each(file, 0, &mut |_| true), Err(Errno::ENOTDIR));
        close(file).unwrap();
    }
}

kernel_test! {
    fn readdir_resumes_from_cookies() {
        let dir = fresh_dir("readdir");
        let mut names: Vec<String> = (0..10).map(|i| format!("e{i:02}")).collect();
        for n in &names {
            close(open(&format!("{dir}/{n}"), rw_create()).unwrap()).unwrap();
        }
        mkdir(&format!("{dir}/zdir"), 0o755).unwrap();
        names.push("zdir".into());

        let fd = open(&dir, OpenOptions::read_only().directory(true)).unwrap();
        let mut seen = Vec::new();
        let mut cookie = 0;
        loop {
            let batch = readdir(fd, cookie, 3).unwrap();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= 3);
            cookie = batch.last().unwrap().next;
            seen.extend(batch);
        }
        assert_eq!(seen.iter().map(|e| String::from(&*e.name)).collect::<Vec<_>>(), names);
        assert_eq!(seen.last().unwrap().kind, FileKind::Directory);
        assert_eq!(seen[0].kind, FileKind::File);
        assert_eq!(seen[0].ino, stat(&format!("{dir}/e00")).unwrap().ino);
        // Resuming from a cookie in the middle gives the same entries again.
        let again = readdir(fd, seen[4].next, 2).unwrap();
        assert_eq!(again, seen[5..7].to_vec());

        // Removing entries while iterating neither skips nor repeats any.
        let mut cookie = 0;
        let mut removed = Vec::new();
        loop {
            let batch = readdir(fd, cookie, 1).unwrap();
            let Some(e) = batch.first() else { break };
            let p = format!("{dir}/{}", e.name);
            if e.kind == FileKind::Directory { rmdir(&p).unwrap() } else { unlink(&p).unwrap() }
            removed.push(String::from(&*e.name));
            cookie = e.next;
        }
        assert_eq!(removed, names);
        assert!(readdir(fd, 0, 100).unwrap().is_empty(), "cookie 0 rereads the directory");
        assert_eq!(read(fd, &mut [0; 4]), Err(Errno::EISDIR));
        close(fd).unwrap();
        let f = open(&format!("{dir}/file"), rw_create()).unwrap();
        assert_eq!(readdir(f, 0, 10), Err(Errno::ENOTDIR));
        close(f).unwrap();
    }
}

kernel_test! {
    fn every_named_error() {
        let dir = fresh_dir("errors");
        let file = format!("{dir}/file");
        close(open(&file, rw_create()).unwrap()).unwrap();
        // Missing path.
        assert_eq!(open(&format!("{dir}/missing"), OpenOptions::read_only()), Err(Errno::ENOENT));
        assert_eq!(stat(&format!("{dir}/missing/x")), Err(Errno::ENOENT));
        assert_eq!(open("", OpenOptions::read_only()), Err(Errno::ENOENT));
        // Not a directory.
        assert_eq!(open(&format!("{file}/x"), rw_create()), Err(Errno::ENOTDIR));
        assert_eq!(chdir(&file), Err(Errno::ENOTDIR));
        assert_eq!(open(&file, OpenOptions::read_only().directory(true)), Err(Errno::ENOTDIR));
        assert_eq!(read_dir(&file), Err(Errno::ENOTDIR));
        // Is a directory.
        assert_eq!(open(&dir, OpenOptions::new().write(true)), Err(Errno::EISDIR));
        // Directory not empty.
        assert_eq!(rmdir(&dir), Err(Errno::ENOTEMPTY));
        // Name too long.
        let long = "n".repeat(memfs::NAME_MAX + 1);
        assert_eq!(open(&format!("{dir}/{long}"), rw_create()), Err(Errno::ENAMETOOLONG));
        assert_eq!(mkdir(&long, 0o755), Err(Errno::ENAMETOOLONG));
        close(open(&format!("{dir}/{}", "n".repeat(memfs::NAME_MAX)), rw_create()).unwrap()).unwrap();
        // Symlink loops.
        symlink("loop", &format!("{dir}/loop")).unwrap();
        assert_eq!(stat(&format!("{dir}/loop")), Err(Errno::ELOOP));
        // Bad descriptors.
        let mut buf = [0u8; 4];
        assert_eq!(read(999, &mut buf), Err(Errno::EBADF));
        assert_eq!(write(1000, b"x"), Err(Errno::EBADF));
        assert_eq!(close(77), Err(Errno::EBADF));
        assert_eq!(fstat(u32::MAX), Err(Errno::EBADF));
        let fd = open(&file, OpenOptions::read_only()).unwrap();
        close(fd).unwrap();
        assert_eq!(close(fd), Err(Errno::EBADF), "double close");
        assert_eq!(read(fd, &mut buf), Err(Errno::EBADF), "use after close");
        // Access mode.
        let ro = open(&file, OpenOptions::read_only()).unwrap();
        assert_eq!(write(ro, b"x"), Err(Errno::EACCES));
        close(ro).unwrap();
        let wo = open(&file, OpenOptions::new().write(true)).unwrap();
        assert_eq!(read(wo, &mut buf), Err(Errno::EACCES));
        close(wo).unwrap();
        assert_eq!(stat(&file).unwrap().size, 0, "nothing was written");
        // Flags.
        assert_eq!(open(&file, OpenOptions::new()), Err(Errno::EINVAL));
        // Seeks on pipes; pipe ends in the wrong direction.
        let (r, w) = pipe().unwrap();
        assert_eq!(seek(r, SeekFrom::Start(0)), Err(Errno::ESPIPE));
        assert_eq!(write(r, b"x"), Err(Errno::EACCES));
        assert_eq!(read(w, &mut buf), Err(Errno::EACCES));
        close(r).unwrap();
        close(w).unwrap();
    }
}

kernel_test! {
    fn dup_and_dup2_share_the_open_file() {
        let dir = fresh_dir("dup");
        let path = format!("{dir}/f");
        let fd = open(&path, rw_create()).unwrap();
        write(fd, b"abcdef").unwrap();
        seek(fd, SeekFrom::Start(0)).unwrap();
        let d = dup(fd).unwrap();
        assert_ne!(d, fd);
        assert_eq!(read_exact(fd, 2), b"ab");
        assert_eq!(read_exact(d, 2), b"cd", "duplicates share the offset");
        // Lowest free descriptor: closing `fd` makes it the next one.
        close(fd).unwrap();
        let d2 = dup(d).unwrap();
        assert_eq!(d2, fd);
        assert_eq!(read_exact(d, 10), b"ef", "closing one duplicate keeps the file open");

        // dup2 onto an open descriptor closes it first.
        let other = open(&format!("{dir}/g"), rw_create()).unwrap();
        assert_eq!(dup2(d, other).unwrap(), other);
        seek(other, SeekFrom::Start(1)).unwrap();
        assert_eq!(read_exact(d, 1), b"b");
        assert_eq!(stat(&format!("{dir}/g")).unwrap().size, 0);
        assert_eq!(dup2(d, d).unwrap(), d);
        assert_eq!(dup2(55, 56), Err(Errno::EBADF));
        assert_eq!(dup2(d, MAX_FDS as Fd), Err(Errno::EBADF));
        let high = dup2(d, 100).unwrap();
        assert_eq!(high, 100);
        assert!(file(99).is_err());
        for f in [d, d2, other, high] {
            close(f).unwrap();
        }
        assert_eq!(close(d), Err(Errno::EBADF));
    }
}

kernel_test! {
    fn duplicate_at_or_above() {
        let null: Arc<dyn File> = Arc::new(NullDevice::new());
        let ctx = ProcessContext::new(null.clone(), null.clone(), null.clone(), "/");
        assert_eq!(ctx.dup_from(1, 0).unwrap(), 3, "the lowest free one");
        assert_eq!(ctx.dup_from(1, 10).unwrap(), 10, "past the table's end");
        assert!(ctx.file(9).is_err(), "the slots in between stay free");
        assert_eq!(ctx.dup_from(1, 10).unwrap(), 11);
        assert_eq!(ctx.dup_from(1, 5).unwrap(), 5, "a free slot inside the table");
        assert_eq!(ctx.dup_from(42, 5), Err(Errno::EBADF));
        ctx.close(10).unwrap();
        assert_eq!(ctx.dup_from(2, 6).unwrap(), 6);
        assert_eq!(ctx.dup_from(2, 7).unwrap(), 7);
        assert_eq!(ctx.dup_from(2, 9).unwrap(), 9);
        assert_eq!(ctx.dup_from(2, 9).unwrap(), 10, "the closed one again");
    }
}

kernel_test! {
    fn descriptor_table_limit() {
        let null: Arc<dyn File> = Arc::new(NullDevice::new());
        let ctx = ProcessContext::new(null.clone(), null.clone(), null.clone(), "/");
        for expected in 3..MAX_FDS as Fd {
            assert_eq!(ctx.install(null.clone()).unwrap(), expected);
        }
        assert_eq!(ctx.install(null.clone()), Err(Errno::EMFILE));
        assert_eq!(ctx.dup(0), Err(Errno::EMFILE));
        ctx.close(500).unwrap();
        assert_eq!(ctx.dup_from(0, 501), Err(Errno::EMFILE), "nothing free above 500");
        assert_eq!(ctx.dup_from(0, MAX_FDS as Fd), Err(Errno::EINVAL));
        assert_eq!(ctx.dup(0).unwrap(), 500);
        assert_eq!(ctx.with_fds(|t| t.len()), MAX_FDS);
        drop(ctx);
        assert_eq!(Arc::strong_count(&null), 1, "dropping the context closes everything");
    }
}

kernel_test! {
    fn null_device_and_console() {
        let null: Arc<dyn File> = Arc::new(NullDevice::new());
        assert_eq!(null.read(&mut [0; 8]).unwrap(), 0);
        assert_eq!(null.write(b"gone").unwrap(), 4);
        assert_eq!(null.seek(SeekFrom::Start(0)), Err(Errno::ESPIPE));
        let console = Console::new();
        assert_eq!(console.write(b"").unwrap(), 0);
        assert!(console.poll_writable());
        if !serial::has_input() {
            console.set_nonblocking(true);
            assert_eq!(console.read(&mut [0; 8]), Err(Errno::EAGAIN));
            assert!(!console.poll_readable());
        }
    }
}

kernel_test! {
    fn cwd_is_per_context() {
        let dir = fresh_dir("cwd");
        let before = getcwd();
        chdir(&dir).unwrap();
        assert_eq!(getcwd(), dir);
        mkdir("sub", 0o755).unwrap();
        let fd = open("sub/../rel", rw_create()).unwrap();
        close(fd).unwrap();
        assert!(stat(&format!("{dir}/rel")).is_ok(), "relative paths use the cwd");
        chdir("sub").unwrap();
        assert_eq!(getcwd(), format!("{dir}/sub"));
        assert_eq!(stat("../rel").unwrap().kind, FileKind::File);

        // A task with its own context changes only its own cwd.
        let child_ctx = current_context().fork();
        let h = spawn_with_context(task::Builder::new("cwd-child"), child_ctx, || {
            assert_eq!(getcwd().rsplit('/').next(), Some("sub"), "inherits the cwd");
            chdir("/").unwrap();
            assert_eq!(getcwd(), "/");
            0
        }).unwrap();
        assert_eq!(h.join(), ExitValue::Exited(0));
        assert_eq!(getcwd(), format!("{dir}/sub"));

        // A thread (plain spawn) shares the context, so its chdir is seen by the parent.
        let h = task::spawn("cwd-thread", || {
            chdir("..").unwrap();
            0
        }).unwrap();
        assert_eq!(h.join(), ExitValue::Exited(0));
        assert_eq!(getcwd(), dir);
        chdir(&before).unwrap();
    }
}

kernel_test! {
    fn threads_share_descriptors_children_do_not() {
        let dir = fresh_dir("share");
        let path = format!("{dir}/f");
        let h = task::spawn("fd-thread", move || {
            open(&path, rw_create()).unwrap() as isize
        }).unwrap();
        let ExitValue::Exited(fd) = h.join() else { panic!("thread failed") };
        let fd = fd as Fd;
        write(fd, b"shared").unwrap();
        close(fd).unwrap();

        let ctx = current_context();
        let null: Arc<dyn File> = Arc::new(NullDevice::new());
        let child = ctx.new_child(null.clone(), null.clone(), null.clone());
        let own = open(&format!("{dir}/f"), OpenOptions::read_only()).unwrap();
        let h = spawn_with_context(task::Builder::new("fd-child"), child, move || {
            assert_eq!(read(own, &mut [0; 4]), Err(Errno::EBADF));
            assert_eq!(write(1, b"to null").unwrap(), 7);
            0
        }).unwrap();
        assert_eq!(h.join(), ExitValue::Exited(0));
        close(own).unwrap();
        task::yield_now();
        assert_eq!(Arc::strong_count(&null), 1, "the child's table was dropped at exit");
    }
}

/// Byte `i` of the pipe test stream.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8 ^ (i >> 12) as u8
}

const STREAM_LEN: usize = 1 << 20;

/// A writer task (own context: stdout = the pipe's write end) sends 1 MiB in odd-sized
/// chunks; this task reads it back with odd-sized reads and expects EOF after the writer ends.
fn pipe_round() {
    let (r, w) = pipe_pair();
    let null: Arc<dyn File> = Arc::new(NullDevice::new());
    let ctx = current_context().new_child(null.clone(), w, null);
    let h = spawn_with_context(task::Builder::new("pipe-writer"), ctx, || {
        const CHUNKS: [usize; 6] = [1, 7, 4093, 5001, 65_537, 333];
        let mut buf = vec![0u8; 65_537];
        let mut pos = 0;
        let mut i = 0;
        while pos < STREAM_LEN {
            let n = CHUNKS[i % CHUNKS.len()].min(STREAM_LEN - pos);
            for (k, b) in buf[..n].iter_mut().enumerate() {
                *b = pattern(pos + k);
            }
            assert_eq!(
                write(1, &buf[..n]).unwrap(),
                n,
                "blocking writes are complete"
            );
            pos += n;
            i += 1;
        }
        0
    })
    .unwrap();
    let mut buf = vec![0u8; 3001];
    let mut got = 0;
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for (k, &b) in buf[..n].iter().enumerate() {
            assert_eq!(b, pattern(got + k), "byte {}", got + k);
        }
        got += n;
    }
    assert_eq!(got, STREAM_LEN);
    assert_eq!(h.join(), ExitValue::Exited(0));
    assert_eq!(r.read(&mut buf).unwrap(), 0, "EOF stays");
    drop(r);
    task::yield_now(); // let the writer be reaped
}

ktest::kernel_test_alone! {
    fn pipe_streams_1mib_between_tasks_without_leaking() {
        pipe_round(); // warm-up: lasting capacity of scheduler queues and tables
        let heap = memory::heap_stats().used;
        pipe_round();
        assert_eq!(memory::heap_stats().used, heap, "pipe, task and context freed");
    }
}

kernel_test! {
    fn blocked_pipe_reader_is_woken() {
        let (r, w) = pipe().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let got = Arc::new(AtomicUsize::new(0));
        let (d, g) = (done.clone(), got.clone());
        let h = task::spawn("pipe-reader", move || {
            let mut buf = [0u8; 16];
            let n = read(r, &mut buf).unwrap();
            g.store(n, Ordering::SeqCst);
            d.store(true, Ordering::SeqCst);
            assert_eq!(&buf[..n], b"wake");
            0
        })
        .unwrap();
        sleep_ms(20);
        assert!(!done.load(Ordering::SeqCst), "reader blocks on an empty pipe");
        assert!(!file(r).unwrap().poll_readable());
        write(w, b"wake").unwrap();
        assert_eq!(h.join(), ExitValue::Exited(0));
        assert_eq!(got.load(Ordering::SeqCst), 4);

        // A reader blocked on an empty pipe gets EOF when the last writer closes.
        let h = task::spawn("eof-reader", move || read(r, &mut [0u8; 4]).unwrap() as isize)
            .unwrap();
        sleep_ms(10);
        close(w).unwrap();
        assert_eq!(h.join(), ExitValue::Exited(0));
        assert!(file(r).unwrap().poll_readable(), "EOF is readable");
        close(r).unwrap();
    }
}

kernel_test! {
    fn broken_pipe_and_nonblocking() {
        let (r, w) = pipe().unwrap();
        close(r).unwrap();
        assert_eq!(write(w, b"x"), Err(Errno::EPIPE));
        assert!(file(w).unwrap().poll_writable(), "error is reported without blocking");
        close(w).unwrap();

        // Fill a pipe without blocking; then a blocked writer is released by the reader's close.
        let (r, w) = pipe().unwrap();
        set_nonblocking(w, true).unwrap();
        let chunk = vec![7u8; 10_000];
        let mut total = 0;
        loop {
            match write(w, &chunk) {
                Ok(n) => total += n,
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(total, PIPE_CAPACITY);
        assert!(!file(w).unwrap().poll_writable());
        set_nonblocking(r, true).unwrap();
        assert_eq!(read_exact(r, 3), [7, 7, 7]);
        set_nonblocking(w, false).unwrap();
        let writer = |len: usize| {
            task::spawn("blocked-writer", move || match write(w, &vec![1u8; len]) {
                Err(Errno::EPIPE) => -1,
                Ok(n) => n as isize,
                Err(e) => -(e.raw() as isize) - 1000,
            })
            .unwrap()
        };
        // An atomic (<= PIPE_BUF) write waits for room for all of it; a large one writes what
        // fits (3 bytes) and waits for more.
        let small = writer(100);
        let large = writer(5000);
        sleep_ms(20);
        assert_eq!(small.task().state(), task::State::Blocked, "writer waits for room");
        assert_eq!(large.task().state(), task::State::Blocked, "writer waits for room");
        assert_eq!(fstat(w).unwrap().size, PIPE_CAPACITY as u64);
        close(r).unwrap();
        assert_eq!(small.join(), ExitValue::Exited(-1), "BrokenPipe once the reader is gone");
        assert_eq!(large.join(), ExitValue::Exited(3), "a partial write reports its count");
        close(w).unwrap();

        // Non-blocking read of an empty pipe with a writer: WouldBlock.
        let (r, w) = pipe().unwrap();
        set_nonblocking(r, true).unwrap();
        assert_eq!(read(r, &mut [0; 4]), Err(Errno::EAGAIN));
        close(w).unwrap();
        assert_eq!(read(r, &mut [0; 4]), Ok(0));
        close(r).unwrap();
    }
}

kernel_test! {
    fn killing_tasks_in_file_calls_leaves_the_file_system_working() {
        // Tasks create, write, read, rename and delete files and pipes in a tight loop and are
        // killed at arbitrary moments. A kill that ended one inside a call, holding the file
        // system's lock, would hang every later call (this test included).
        let dir = fresh_dir("kills");
        for round in 0..120u64 {
            let d = dir.clone();
            let h = task::spawn("file-worker", move || {
                let mut i = 0u64;
                loop {
                    let p = format!("{d}/f{}", i % 3);
                    let fd = open(&p, rw_create().truncate(true)).unwrap();
                    write_all(fd, &[b'x'; 700]).unwrap();
                    let _ = seek(fd, SeekFrom::Start(0));
                    let mut buf = [0u8; 64];
                    let _ = read(fd, &mut buf);
                    close(fd).unwrap();
                    let _ = rename(&p, &format!("{d}/g{}", i % 3));
                    let (r, w) = pipe().unwrap();
                    write_all(w, b"ping").unwrap();
                    let _ = read(r, &mut buf);
                    close(r).unwrap();
                    close(w).unwrap();
                    let _ = unlink(&format!("{d}/g{}", i % 3));
                    i += 1;
                }
            })
            .unwrap();
            if round % 3 != 0 {
                task::sleep_ns((round % 5) * 2_000_000 + 1_000_000);
            }
            task::kill(h.id(), "stop").unwrap();
            assert_eq!(h.join(), ExitValue::Killed("stop".into()), "round {round}");
            // The file system still answers, from this task.
            let probe = format!("{dir}/probe");
            let fd = open(&probe, rw_create()).unwrap();
            write_all(fd, b"ok").unwrap();
            close(fd).unwrap();
            assert!(read_dir(&dir).unwrap().iter().any(|e| &*e.name == "probe"));
            unlink(&probe).unwrap();
        }
    }
}

kernel_test! {
    /// `tempfile()`'s way: create, unlink, then use the descriptor (and a duplicate); the
    /// bytes go back to the file system only when the last descriptor closes.
    fn an_unlinked_file_works_until_its_last_close() {
        let dir = fresh_dir("unlinked");
        let path = format!("{dir}/scratch");
        let fd = open(&path, rw_create()).unwrap();
        let used_before = fs_usage().used;
        unlink(&path).unwrap();
        assert_eq!(stat(&path).unwrap_err(), Errno::ENOENT);
        let data = vec![7u8; 64 * 1024];
        write_all(fd, &data).unwrap();
        assert_eq!(fstat(fd).unwrap().nlink, 0);
        let copy = dup(fd).unwrap();
        close(fd).unwrap();
        assert_eq!(seek(copy, SeekFrom::Start(0)).unwrap(), 0);
        assert_eq!(read_exact(copy, data.len()), data);
        let used_open = fs_usage().used;
        assert!(used_open >= used_before + data.len() as u64);
        close(copy).unwrap();
        let used_after = fs_usage().used;
        assert!(used_after < used_before, "{used_after} >= {used_before}: not freed");
        assert!(read_dir(&dir).unwrap().is_empty());
    }
}

kernel_test! {
    /// The calls the shell's file commands use: `mkdir -p`, whole-file reads, paths against a
    /// cwd of the caller's own, and the byte budget `mem` reports.
    fn mkdir_all_read_file_absolute_from_and_usage() {
        let dir = fresh_dir("tree");
        let deep = format!("{dir}/a/b/c");
        mkdir_all(&deep, 0o755).unwrap();
        assert_eq!(stat(&deep).unwrap().kind, FileKind::Directory);
        mkdir_all(&deep, 0o755).unwrap();
        let file = format!("{dir}/a/f");
        let before = fs_usage();
        let fd = open(&file, rw_create()).unwrap();
        write_all(fd, &[1u8; 10_000]).unwrap();
        close(fd).unwrap();
        let after = fs_usage();
        assert!(after.used >= before.used + 10_000, "{before:?} -> {after:?}");
        assert!(after.used <= after.limit);
        assert_eq!(read_file(&file).unwrap(), [1u8; 10_000]);
        assert_eq!(read_file(&deep).unwrap_err(), Errno::EISDIR);
        assert_eq!(mkdir_all(&file, 0o755).unwrap_err(), Errno::EEXIST);
        assert_eq!(
            mkdir_all(&format!("{file}/x"), 0o755).unwrap_err(),
            Errno::ENOTDIR
        );
        unlink(&file).unwrap();
        assert!(fs_usage().used < after.used);
        assert_eq!(absolute_from("/a/b", "../c/./d").unwrap(), "/a/c/d");
        assert_eq!(absolute_from("/a", "/x/").unwrap(), "/x");
        assert_eq!(absolute_from("/a", "").unwrap_err(), Errno::ENOENT);
        for d in ["a/b/c", "a/b", "a"] {
            rmdir(&format!("{dir}/{d}")).unwrap();
        }
    }
}

kernel_test! {
    fn file_bytes_are_lent_only_for_plain_regular_files() {
        let dir = fresh_dir("bytes");
        let path = format!("{dir}/f");
        let fd = open(&path, rw_create()).unwrap();
        write_all(fd, b"program bytes").unwrap();
        let lent = with_file_bytes(&path, |bytes, stat| (bytes.to_vec(), stat.size)).unwrap();
        assert_eq!(lent, Some((b"program bytes".to_vec(), 13)));
        // Relative paths and links resolve as for `open`.
        symlink("f", &format!("{dir}/link")).unwrap();
        let via_link = with_file_bytes(&format!("{dir}/link"), |bytes, _| bytes.len()).unwrap();
        assert_eq!(via_link, Some(13));
        // A file ending in a hole is not stored as plain bytes: read it instead.
        ftruncate(fd, 4096).unwrap();
        assert_eq!(with_file_bytes(&path, |_, _| ()).unwrap(), None);
        close(fd).unwrap();
        assert_eq!(with_file_bytes(&dir, |_, _| ()), Err(Errno::EISDIR));
        assert_eq!(with_file_bytes(&format!("{dir}/none"), |_, _| ()), Err(Errno::ENOENT));
        assert_eq!(with_file_bytes("/proc/self/status", |_, _| ()).unwrap(), None);
    }
}
