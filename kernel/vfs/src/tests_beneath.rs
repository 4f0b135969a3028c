//! In-kernel tests of the calls beneath a directory descriptor and of hard links, with a
//! race: a second task swaps a directory and a symbolic link while the first opens paths.

use crate::*;
use alloc::format;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use ktest::kernel_test;
use task::ExitValue;

/// A fresh `/vfsbeneath/NAME` holding `box/d/inner.txt` ("inner") and `secret/secret.txt`.
fn boxed(name: &str) -> String {
    let root = format!("/vfsbeneath/{name}");
    rootfs::with(|fs| {
        let _ = fs.mkdir_all(&format!("{root}/box/d"), 0o755, 0);
        let _ = fs.mkdir_all(&format!("{root}/secret"), 0o755, 0);
    });
    let write = |path: &str, data: &[u8]| {
        let fd = open(path, OpenOptions::write_create()).unwrap();
        write_all(fd, data).unwrap();
        close(fd).unwrap();
    };
    write(&format!("{root}/box/d/inner.txt"), b"inner");
    write(&format!("{root}/secret/secret.txt"), b"secret");
    root
}

fn open_dir(path: &str) -> Fd {
    open(path, OpenOptions::read_only().directory(true)).unwrap()
}

fn content(dir: Fd, path: &str) -> Result<Vec<u8>> {
    let fd = open_beneath(dir, path, OpenOptions::read_only(), true)?;
    let data = read_to_end(fd);
    close(fd)?;
    data
}

kernel_test! {
    fn beneath_refuses_escapes() {
        let root = boxed("escapes");
        let boxfd = open_dir(&format!("{root}/box"));
        assert_eq!(content(boxfd, "d/inner.txt").unwrap(), b"inner");
        assert_eq!(content(boxfd, "d/../d/inner.txt").unwrap(), b"inner");
        for escape in ["..", "../secret/secret.txt", "d/../..", "/etc"] {
            assert_eq!(content(boxfd, escape), Err(Errno::EXDEV), "{escape}");
            assert_eq!(stat_beneath(boxfd, escape, true).map(|_| ()), Err(Errno::EXDEV));
        }
        symlink("../secret", &format!("{root}/box/up")).unwrap();
        assert_eq!(content(boxfd, "up/secret.txt"), Err(Errno::EXDEV));
        assert_eq!(stat_beneath(boxfd, "up", false).unwrap().kind, FileKind::Symlink);
        assert_eq!(readlink_beneath(boxfd, "up").unwrap(), "../secret");
        assert_eq!(open_beneath(boxfd, "up", OpenOptions::read_only(), false), Err(Errno::ELOOP));
        assert_eq!(mkdir_beneath(boxfd, "up/x", 0o755), Err(Errno::EXDEV));
        assert_eq!(symlink_beneath("x", boxfd, "../x"), Err(Errno::EXDEV));
        assert_eq!(rename_beneath(boxfd, "d", boxfd, "../d"), Err(Errno::EXDEV));
        assert_eq!(link_beneath(boxfd, "up/secret.txt", true, boxfd, "s"), Err(Errno::EXDEV));
        assert_eq!(unlink_beneath(boxfd, "../secret/secret.txt"), Err(Errno::EXDEV));
        assert_eq!(rmdir_beneath(boxfd, "../secret"), Err(Errno::EXDEV));
        assert_eq!(set_times_beneath(boxfd, "up", true, Some(1), None), Err(Errno::EXDEV));
        // A file descriptor is no directory to resolve from.
        let file = open_beneath(boxfd, "d/inner.txt", OpenOptions::read_only(), true).unwrap();
        assert_eq!(stat_beneath(file, "x", true).map(|_| ()), Err(Errno::ENOTDIR));
        close(file).unwrap();
        // Nothing left the box.
        assert_eq!(stat(&format!("{root}/d")).map(|_| ()), Err(Errno::ENOENT));
        assert_eq!(read_dir(&format!("{root}/secret")).unwrap().len(), 1);
        close(boxfd).unwrap();
    }
}

kernel_test! {
    fn beneath_creates_links_and_renames() {
        let root = boxed("calls");
        let boxfd = open_dir(&format!("{root}/box"));
        mkdir_beneath(boxfd, "n/", 0o755).unwrap();
        let f = open_beneath(boxfd, "n/f", OpenOptions::write_create(), false).unwrap();
        write_all(f, b"data").unwrap();
        close(f).unwrap();
        assert_eq!(open_beneath(boxfd, "n/g/", OpenOptions::write_create(), false), Err(Errno::EISDIR));
        assert_eq!(open_beneath(boxfd, "n/f/", OpenOptions::read_only(), true), Err(Errno::ENOTDIR));
        link_beneath(boxfd, "n/f", false, boxfd, "h").unwrap();
        assert_eq!(stat_beneath(boxfd, "h", false).unwrap().nlink, 2);
        assert_eq!(link_beneath(boxfd, "n", false, boxfd, "nd"), Err(Errno::EISDIR));
        assert_eq!(link_beneath(boxfd, "h", false, boxfd, "x/"), Err(Errno::ENOENT));
        assert_eq!(symlink_beneath("h", boxfd, "n/"), Err(Errno::EEXIST));
        assert_eq!(unlink_beneath(boxfd, "h/"), Err(Errno::ENOTDIR));
        assert_eq!(unlink_beneath(boxfd, "n/"), Err(Errno::EISDIR));
        rename_beneath(boxfd, "h", boxfd, "n/h2").unwrap();
        assert_eq!(rename_beneath(boxfd, "n/h2", boxfd, "n/h3/"), Err(Errno::ENOTDIR));
        assert_eq!(content(boxfd, "n/h2").unwrap(), b"data");
        unlink_beneath(boxfd, "n/f").unwrap();
        assert_eq!(stat_beneath(boxfd, "n/h2", true).unwrap().nlink, 1);
        unlink_beneath(boxfd, "n/h2").unwrap();
        assert_eq!(rmdir_beneath(boxfd, "."), Err(Errno::EINVAL));
        rmdir_beneath(boxfd, "n").unwrap();
        // Path-based hard links (the POSIX layer's `link`), and a file open while a name goes.
        let a = format!("{root}/a");
        let fd = open(&a, OpenOptions::write_create().read(true)).unwrap();
        link(&a, &format!("{root}/box/b"), false).unwrap();
        unlink(&a).unwrap();
        write_all(fd, b"still").unwrap();
        close(fd).unwrap();
        assert_eq!(content(boxfd, "b").unwrap(), b"still");
        assert_eq!(link(&format!("{root}/box"), &format!("{root}/c"), false), Err(Errno::EISDIR));
        close(boxfd).unwrap();
    }
}

kernel_test! {
    fn beneath_races_with_renames_and_symlink_swaps() {
        static STOP: AtomicBool = AtomicBool::new(false);
        static SWAPS: AtomicUsize = AtomicUsize::new(0);
        STOP.store(false, Ordering::SeqCst);
        SWAPS.store(0, Ordering::SeqCst);
        let root = boxed("race");
        let boxfd = open_dir(&format!("{root}/box"));
        let dfd = open_dir(&format!("{root}/box/d"));
        let swap_root = root.clone();
        // The attacker: box/d becomes a link to ../secret and back, over and over.
        let h = task::spawn("swapper", move || {
            let (d, old) = (format!("{swap_root}/box/d"), format!("{swap_root}/box/d.old"));
            while !STOP.load(Ordering::SeqCst) {
                rename(&d, &old).unwrap();
                symlink("../secret", &d).unwrap();
                task::yield_now();
                unlink(&d).unwrap();
                rename(&old, &d).unwrap();
                SWAPS.fetch_add(1, Ordering::SeqCst);
            }
            0
        })
        .unwrap();
        let (mut opens, mut inside) = (0, 0);
        // Until the box's path has also been seen as a directory (the swapper leaves it one
        // only briefly: with the host's CPUs busy, 3000 opens have missed it).
        let deadline = time::monotonic_ns() + 30_000_000_000;
        while (opens < 3000 || SWAPS.load(Ordering::SeqCst) < 100 || inside == 0)
            && time::monotonic_ns() < deadline
        {
            // Bound to the directory: never the secret, always the inner file.
            assert_eq!(content(dfd, "secret.txt"), Err(Errno::ENOENT));
            assert_eq!(content(dfd, "inner.txt").unwrap(), b"inner");
            // Through the box: the inner file or a refusal, never the secret.
            match content(boxfd, "d/secret.txt") {
                Err(Errno::ENOENT) | Err(Errno::EXDEV) => {}
                other => panic!("d/secret.txt through the box: {other:?}"),
            }
            if content(boxfd, "d/inner.txt").is_ok() {
                inside += 1;
            }
            opens += 1;
            if opens % 64 == 0 {
                task::yield_now();
            }
        }
        STOP.store(true, Ordering::SeqCst);
        assert_eq!(h.join(), ExitValue::Exited(0));
        assert!(inside > 0, "the box's path was also seen as a directory");
        close(dfd).unwrap();
        close(boxfd).unwrap();
    }
}
