//! In-kernel tests of the shell: parsing and running lines against the real file system.

use crate::{STATUS_NOT_FOUND, Shell};
use ktest::kernel_test;

kernel_test! {
    fn status_variable_and_unknown_command() {
        let mut sh = Shell::capturing();
        assert_eq!(sh.run_line("true"), 0);
        assert_eq!(sh.run_line("false; echo $?; echo $?"), 0);
        assert_eq!(sh.take_output(), b"1\n0\n");
        assert_eq!(sh.run_line("nosuch-command-xyz"), STATUS_NOT_FOUND);
        assert_eq!(sh.take_output(), b"nosuch-command-xyz: command not found\n");
        assert_eq!(sh.last_status(), 127);
        assert_eq!(sh.run_line("A=1; B=\"$A 2\"; echo \"[$B]\" '$B'"), 0);
        assert_eq!(sh.take_output(), b"[1 2] $B\n");
        assert_eq!(sh.run_line("X=5; exit $X"), 5);
        assert_eq!(sh.exit_requested(), Some(5));
    }
}

kernel_test! {
    fn files_through_redirection() {
        let mut sh = Shell::capturing();
        assert_eq!(sh.run_line("mkdir -p /tmp/shtest/a; cd /tmp/shtest"), 0);
        assert_eq!(sh.cwd(), "/tmp/shtest");
        assert_eq!(sh.run_line("echo 'one  two' > f; echo three >> f"), 0);
        assert_eq!(crate::read_file("/tmp/shtest/f").unwrap(), b"one  two\nthree\n");
        assert_eq!(sh.run_line("cat < f > g"), 0);
        assert_eq!(crate::read_file("/tmp/shtest/g").unwrap(), b"one  two\nthree\n");
        assert_eq!(sh.run_line("cd a; cd ..; pwd > p"), 0);
        assert_eq!(crate::read_file("/tmp/shtest/p").unwrap(), b"/tmp/shtest\n");
        assert_eq!(sh.take_output(), b"");
        assert_eq!(sh.run_line("rm a"), 1, "rm of a directory without -r fails");
        assert_eq!(sh.run_line("cat missing"), 1);
        assert_eq!(
            sh.take_output(),
            b"rm: a: Is a directory\ncat: missing: No such file or directory\n"
        );
        assert_eq!(sh.run_line("ls"), 0);
        assert_eq!(sh.take_output(), b"a/\nf\ng\np\n");
        assert_eq!(sh.run_line("cd /; rm -r /tmp/shtest"), 0);
        assert!(crate::read_file("/tmp/shtest/f").is_err());
    }
}

kernel_test! {
    fn syntax_errors_set_status_2() {
        let mut sh = Shell::capturing();
        assert_eq!(sh.run_line("echo 'unterminated"), 2);
        assert_eq!(sh.run_line("echo ok; | x"), 2);
        let out = sh.take_output();
        assert!(!out.starts_with(b"ok"), "nothing runs when the line has a syntax error");
        assert!(out.starts_with(b"sh: "));
        assert_eq!(sh.run_line("\u{1b}[A\u{7f}\u{0}é"), STATUS_NOT_FOUND);
    }
}

kernel_test! {
    fn line_editor_edits_and_recalls_history() {
        use line_editor::{Event, LineEditor};
        let mut ed = LineEditor::new(10);
        let mut sink = |_: &[u8]| {};
        ed.start("$ ", &mut sink);
        let feed = |ed: &mut LineEditor, bytes: &[u8]| {
            let mut last = Event::Pending;
            for &b in bytes {
                last = ed.feed(b, &mut |_: &[u8]| {});
            }
            last
        };
        // Type "ecoh", fix it with left-arrow/backspace edits, then Enter.
        assert_eq!(feed(&mut ed, b"ech\x1b[Do"), Event::Pending);
        assert_eq!(ed.line(), "ecoh");
        feed(&mut ed, b"\x1b[C\x7f\x7fho");
        assert_eq!(ed.line(), "echo");
        assert_eq!(feed(&mut ed, b" \xc3\xa9\r"), Event::Line("echo \u{e9}".into()));
        ed.add_history("echo \u{e9}");
        ed.start("$ ", &mut sink);
        // Home, insert, End; then recall the history entry with Up.
        feed(&mut ed, b"b\x01a\x05c");
        assert_eq!(ed.line(), "abc");
        feed(&mut ed, b"\x1b[A");
        assert_eq!(ed.line(), "echo \u{e9}");
        feed(&mut ed, b"\x1b[B");
        assert_eq!(ed.line(), "abc");
        assert_eq!(feed(&mut ed, b"\x03"), Event::Interrupt);
        // Control and invalid UTF-8 bytes never panic and never corrupt the line.
        ed.start("$ ", &mut sink);
        feed(&mut ed, b"\x00\x02\xff\xfe\x1b[99;99Zx");
        assert!(ed.line().ends_with('x'));
    }
}

kernel_test! {
    fn ramdisk_loading_rejects_corrupt_archives() {
        let mut b = initrd::Builder::new();
        b.add_file("a/b.txt", 0o644, 0, b"content");
        let good = b.finish();
        let mut fs = memfs::MemFs::new();
        assert_eq!(rootfs::load_archive(&mut fs, &good, 0).unwrap(), 1);
        for cut in [0, 6, 100, good.len() - 1] {
            let mut fs = memfs::MemFs::new();
            let err = rootfs::load_archive(&mut fs, &good[..cut], 0).unwrap_err();
            assert!(alloc::format!("{err}").starts_with("initial ramdisk:"));
        }
        let mut bad = good.clone();
        bad[0] = b'9';
        assert!(rootfs::load_archive(&mut memfs::MemFs::new(), &bad, 0).is_err());
    }
}

kernel_test! {
    fn every_crash_kind_100_times_without_leaks() {
        let kinds: alloc::vec::Vec<&str> = crate::tasks::CRASH_KINDS.iter().map(|k| k.0).collect();
        let run = |kind: &str| match crate::run_crash(kind) {
            Some((task::ExitValue::Killed(reason), _)) => {
                assert!(reason.contains("backtrace:"), "{kind}: {reason}");
            }
            other => panic!("crash {kind}: {other:?}"),
        };
        // Warm up: lazily grown structures (free lists, page tables) stay afterwards.
        for kind in &kinds {
            run(kind);
        }
        task::yield_now();
        let free = || memory::frame_stats().free + memory::heap_stats().size as u64 / 4096;
        let (frames, heap) = (free(), memory::heap_stats().used);
        for kind in &kinds {
            for _ in 0..100 {
                run(kind);
            }
        }
        task::yield_now();
        assert_eq!(free(), frames, "frames leaked");
        assert_eq!(memory::heap_stats().used, heap, "heap leaked");
    }
}
