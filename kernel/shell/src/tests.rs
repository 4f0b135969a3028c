//! In-kernel tests of the shell: parsing and running lines against the real file system.

use crate::{STATUS_NOT_FOUND, Shell};
use alloc::string::String;
use ktest::kernel_test;

/// Runs `line` in `sh`, returning (status, output as text).
fn run(sh: &mut Shell, line: &str) -> (i32, String) {
    let status = sh.run_line(line);
    let out = String::from_utf8(sh.take_output()).expect("output is UTF-8");
    (status, out)
}

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
        assert_eq!(vfs::read_file("/tmp/shtest/f").unwrap(), b"one  two\nthree\n");
        assert_eq!(sh.run_line("cat < f > g"), 0);
        assert_eq!(vfs::read_file("/tmp/shtest/g").unwrap(), b"one  two\nthree\n");
        assert_eq!(sh.run_line("cd a; cd ..; pwd > p"), 0);
        assert_eq!(vfs::read_file("/tmp/shtest/p").unwrap(), b"/tmp/shtest\n");
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
        assert!(vfs::read_file("/tmp/shtest/f").is_err());
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
        let round = || {
            for kind in &kinds {
                for _ in 0..50 {
                    run(kind);
                }
            }
        };
        round();
        let middle = memory::heap_stats().used;
        round();
        // `task` keeps up to two ended tasks' default-sized stacks mapped for the next spawns
        // (its stack pool): whether it holds one or two now depends on what else ended
        // meanwhile, so that much is not a leak (700 crashes leaking a frame each would be).
        let pooled = 2 * task::DEFAULT_STACK_PAGES;
        task::yield_now();
        assert!(free() + 32 + pooled >= frames, "frames leaked: {} -> {}", frames, free());
        // 350 crashes, twice: a leak of one small allocation per crash would show as
        // kilobytes in both counts. Tables that other tasks grow once meanwhile show in one
        // count only (1469 bytes were seen in the whole count, with the host's CPUs busy
        // with other work).
        let first = middle.saturating_sub(heap);
        let second = memory::heap_stats().used.saturating_sub(middle);
        assert!(
            first.min(second) < 1024 && first.max(second) < 8192,
            "heap grew by {first} bytes, then by {second}"
        );
    }
}

kernel_test! {
    fn bad_free_kills_only_that_task() {
        use core::alloc::Layout;
        // Three wild frees: past the live heap, outside every heap range, and a "large block"
        // in the mappings region that is no block. Each ends its task with the heap's message,
        // and the heap stays usable from other tasks.
        fn wild(addr: u64, size: usize) -> isize {
            let layout = Layout::from_size_align(size, 8).expect("valid layout");
            // SAFETY: not safe: a deliberate bad free, which the heap refuses.
            unsafe { alloc::alloc::dealloc(core::hint::black_box(addr) as *mut u8, layout) };
            0
        }
        let cases: [(u64, usize); 3] = [
            (memory::HEAP_START + (40 << 30), 64),
            (0xdead_0000, 64),
            (memory::HEAP_BLOCKS_START + (2 << 40), 4 << 20),
        ];
        for (addr, size) in cases {
            let t = task::spawn("bad-free", move || wild(addr, size)).unwrap();
            match t.join() {
                task::ExitValue::Killed(reason) => {
                    assert!(reason.contains("which the heap never gave out"), "{reason}");
                    assert!(reason.contains(&alloc::format!("{addr:#x}")), "{reason}");
                }
                other => panic!("bad free of {addr:#x} survived: {other:?}"),
            }
            let t = task::spawn("after-bad-free", || {
                let small: alloc::vec::Vec<u64> = (0..1000).collect();
                let big = alloc::vec![1u8; 4 << 20];
                (small.iter().sum::<u64>() + big.len() as u64) as isize
            })
            .unwrap();
            assert!(matches!(t.join(), task::ExitValue::Exited(v) if v == 499_500 + (4 << 20)));
        }
        let (status, out) = run(&mut Shell::capturing(), "crash badfree");
        assert_eq!(status, 134, "{out}");
        assert!(out.contains("never gave out"), "{out}");
    }
}

kernel_test! {
    fn pipelines_connect_commands() {
        let mut sh = Shell::capturing();
        assert_eq!(run(&mut sh, "echo a b c | wc -w"), (0, "3\n".into()));
        assert_eq!(sh.run_line("mkdir -p /tmp/shpipe; cd /tmp/shpipe"), 0);
        assert_eq!(sh.run_line("echo 'x1\ny\nax\nz x' > f"), 0);
        assert_eq!(run(&mut sh, "cat f | grep x | wc -l"), (0, "3\n".into()));
        assert_eq!(run(&mut sh, "cat f | grep -v x"), (0, "y\n".into()));
        assert_eq!(run(&mut sh, "cat < f | head -n 2 | cat - | wc -c"), (0, "5\n".into()));
        // The status is the last command's; a missing middle command breaks nothing else.
        assert_eq!(run(&mut sh, "false | true"), (0, "".into()));
        assert_eq!(run(&mut sh, "true | false"), (1, "".into()));
        assert_eq!(
            run(&mut sh, "echo x | nosuch-cmd | wc -l"),
            (0, "nosuch-cmd: command not found\n0\n".into())
        );
        // `yes` stops with BrokenPipe (141) when `head` has read enough and exits.
        assert_eq!(run(&mut sh, "yes | head -n 3"), (0, "y\ny\ny\n".into()));
        assert_eq!(run(&mut sh, "yes ab cd | head -n 2 | grep -c 'ab cd'"), (0, "2\n".into()));
        assert_eq!(run(&mut sh, "yes | head -n 1 > /dev-null-missing/x"), (1, "sh: /dev-null-missing/x: No such file or directory\n".into()));
        // A builtin in a pipeline writes into the pipe.
        assert_eq!(run(&mut sh, "env | grep -c PWD="), (0, "1\n".into()));
        assert_eq!(sh.run_line("cd /; rm -r /tmp/shpipe"), 0);
    }
}

kernel_test! {
    fn redirections_on_task_commands() {
        let mut sh = Shell::capturing();
        assert_eq!(sh.run_line("mkdir -p /tmp/shred; cd /tmp/shred"), 0);
        assert_eq!(run(&mut sh, "echo one > f; echo two >> f; cat < f"), (0, "one\ntwo\n".into()));
        assert_eq!(run(&mut sh, "echo three > f; cat f"), (0, "three\n".into()));
        // 2> and 2>> take stderr only.
        assert_eq!(run(&mut sh, "cat missing 2> err; echo $?"), (0, "1\n".into()));
        assert_eq!(vfs::read_file("/tmp/shred/err").unwrap(), b"cat: missing: No such file or directory\n");
        assert_eq!(run(&mut sh, "nosuch 2>> err"), (STATUS_NOT_FOUND, "".into()));
        assert_eq!(
            vfs::read_file("/tmp/shred/err").unwrap(),
            b"cat: missing: No such file or directory\nnosuch: command not found\n"
        );
        assert_eq!(run(&mut sh, "cat < nothere"), (1, "sh: nothere: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "> empty; wc -c empty"), (0, "0 empty\n".into()));
        // A redirected builtin in the shell's task.
        assert_eq!(run(&mut sh, "env > vars; grep HOME vars"), (0, "HOME=/\n".into()));
        assert_eq!(sh.run_line("cd /; rm -r /tmp/shred"), 0);
    }
}

kernel_test! {
    fn background_jobs_jobs_and_fg() {
        let mut sh = Shell::capturing();
        let (status, out) = run(&mut sh, "sleep 0.2 &");
        assert_eq!(status, 0);
        assert!(out.starts_with("[1] ") && out.ends_with('\n'), "{out:?}");
        let id: u64 = out[4..out.len() - 1].parse().expect("a task id");
        assert!(task::list().iter().any(|t| t.id == id && t.name == "sleep"));
        assert!(run(&mut sh, "false &").1.starts_with("[2] "));
        task::sleep_ns(20_000_000);
        assert_eq!(run(&mut sh, "jobs"), (0, "[1] Running  sleep 0.2\n[2] Exit 1  false\n".into()));
        // `jobs` reported job 2 as finished, so it is gone.
        assert_eq!(run(&mut sh, "fg %2"), (1, "fg: %2: no such job\n".into()));
        assert_eq!(run(&mut sh, "fg"), (0, "sleep 0.2\n".into()));
        assert_eq!(run(&mut sh, "fg"), (1, "fg: no current job\n".into()));
        // Finished jobs are reported (then forgotten) by report_finished_jobs.
        assert_eq!(run(&mut sh, "true & sleep 5 &").1.lines().count(), 2);
        assert_eq!(run(&mut sh, "kill %2; wait; echo $?"), (0, "143\n".into()));
        sh.report_finished_jobs();
        assert_eq!(
            String::from_utf8(sh.take_output()).unwrap(),
            "[1] Done  true\n[2] Killed  sleep 5\n"
        );
        assert_eq!(run(&mut sh, "jobs"), (0, "".into()));
        assert_eq!(run(&mut sh, "kill %7"), (1, "kill: %7: no such job\n".into()));
    }
}

kernel_test! {
    fn killed_and_interrupted_foreground_jobs() {
        let mut sh = Shell::capturing();
        // A crash inside a command: `crash` reports it and returns the signal status.
        let (status, out) = run(&mut sh, "crash divzero");
        assert_eq!(status, 136);
        assert!(out.starts_with("crash: task killed: ") && out.contains("divide error"), "{out}");
        // Ctrl-C (the signal the terminal raises) stops the whole foreground job.
        let helper = task::spawn("ctrl-c", || {
            task::sleep_ns(100_000_000);
            crate::interrupt_foreground();
            0
        })
        .unwrap();
        let start = time::monotonic_ns();
        let (status, out) = run(&mut sh, "yes | sleep 10");
        // The terminal echoes a typed ^C; the shell ends the line.
        assert_eq!((status, out.as_str()), (crate::STATUS_INTERRUPTED, "\n"));
        assert!(time::monotonic_ns() - start < 2_000_000_000, "Ctrl-C was late");
        assert_eq!(helper.join(), task::ExitValue::Exited(0));
        assert_eq!(run(&mut sh, "echo $?"), (0, "130\n".into()));
        assert!(!task::list().iter().any(|t| t.name == "yes" && t.state != task::State::Exited));
        // A task killed by `kill` gives 143 and its reason on stderr.
        let (status, out) = run(&mut sh, "sleep 5 & kill %1; fg");
        assert_eq!(status, 143);
        assert!(out.ends_with("sleep 5\nsh: sleep: killed: killed by `kill`\n"), "{out}");
    }
}

kernel_test! {
    fn file_commands_cp_mv_find_grep() {
        let mut sh = Shell::capturing();
        assert_eq!(sh.run_line("mkdir -p /tmp/shfc/d/e; cd /tmp/shfc; echo 'Hello\nworld\nhello again' > a"), 0);
        assert_eq!(run(&mut sh, "cp a b; cat b"), (0, "Hello\nworld\nhello again\n".into()));
        assert_eq!(run(&mut sh, "cp a d; cat d/a | wc -l"), (0, "3\n".into()));
        assert_eq!(run(&mut sh, "cp a a"), (1, "cp: a and a are the same file\n".into()));
        assert_eq!(run(&mut sh, "cp d x"), (1, "cp: d: Is a directory\n".into()));
        assert_eq!(run(&mut sh, "cp nope x"), (1, "cp: nope: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "cp a"), (2, "cp: usage: cp SRC DST\n".into()));
        assert_eq!(run(&mut sh, "mv b c; cat c | head -n 1; cat b"), (1, "Hello\ncat: b: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "mv c d/e; ls d/e"), (0, "c\n".into()));
        assert_eq!(run(&mut sh, "mv nope x"), (1, "mv: nope: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "find"), (0, ".\n./a\n./d\n./d/a\n./d/e\n./d/e/c\n".into()));
        assert_eq!(run(&mut sh, "find /tmp/shfc -name ?"), (0, "/tmp/shfc/a\n/tmp/shfc/d\n/tmp/shfc/d/a\n/tmp/shfc/d/e\n/tmp/shfc/d/e/c\n".into()));
        assert_eq!(run(&mut sh, "find d -name '*c*'"), (0, "d/e/c\n".into()));
        assert_eq!(run(&mut sh, "find nope"), (1, "find: nope: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "grep hello a"), (0, "hello again\n".into()));
        assert_eq!(run(&mut sh, "grep -i -n hello a"), (0, "1:Hello\n3:hello again\n".into()));
        assert_eq!(run(&mut sh, "grep -c -v o a"), (1, "0\n".into()));
        assert_eq!(run(&mut sh, "grep zzz a; echo $?"), (0, "1\n".into()));
        assert_eq!(run(&mut sh, "grep -c l a d/a"), (0, "a:3\nd/a:3\n".into()));
        assert_eq!(run(&mut sh, "grep -c x d"), (2, "grep: d: Is a directory\n".into()));
        assert_eq!(run(&mut sh, "grep x nope"), (2, "grep: nope: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "grep"), (2, "grep: usage: grep [-i] [-v] [-c] [-n] PATTERN [FILE...]\n".into()));
        assert_eq!(run(&mut sh, "head -n 1 a d/a"), (0, "==> a <==\nHello\n\n==> d/a <==\nHello\n".into()));
        assert_eq!(run(&mut sh, "wc -l a; wc -w < a"), (0, "3 a\n4\n".into()));
        assert_eq!(run(&mut sh, "sleep x"), (1, "sleep: invalid time interval 'x'\n".into()));
        assert!(crate::commands::files::glob_match("*.t?t", "a.txt"));
        assert!(crate::commands::files::glob_match("a*b*c", "aXbYbZc"));
        assert!(!crate::commands::files::glob_match("a*b", "ab c"));
        assert_eq!(crate::commands::system::parse_seconds("0.25"), Some(250_000_000));
        assert_eq!(crate::commands::system::parse_seconds(".5"), Some(500_000_000));
        assert_eq!(crate::commands::system::parse_seconds("2"), Some(2_000_000_000));
        assert_eq!(crate::commands::system::parse_seconds("1.2.3"), None);
        assert_eq!(sh.run_line("cd /; rm -r /tmp/shfc"), 0);
    }
}

kernel_test! {
    fn tab_completes_commands_and_paths() {
        let mut sh = Shell::capturing();
        let c = sh.complete("gre", 3);
        assert_eq!((c.insert.as_str(), c.matches.len()), ("p ", 1));
        // /bin/hello.wasm (a WASI program) completes as `hello`; /bin/hello-c and
        // /bin/hello-dyn are Linux programs.
        let c = sh.complete("echo x | he", 11);
        assert_eq!(
            (c.insert.as_str(), c.matches.as_slice()),
            ("", &["head".into(), "hello".into(), "hello-c".into(), "hello-dyn".into(), "help".into()][..])
        );
        let c = sh.complete("echo x | hea", 12);
        assert_eq!(c.insert, "d ");
        let c = sh.complete("m", 1);
        assert_eq!(c.insert, "");
        // Builtins and /bin's programs (`mktemp` is coreutils'), each name once.
        assert_eq!(c.matches, ["mem", "mkdir", "mktemp", "mv"]);
        assert_eq!(sh.run_line("mkdir -p /tmp/shtab/dir1 /tmp/shtab/dir2; touch /tmp/shtab/file.txt; cd /tmp/shtab"), 0);
        // Paths: relative to the cwd, directories get a `/`, the common prefix is inserted.
        let c = sh.complete("cat fi", 6);
        assert_eq!((c.insert.as_str(), c.matches.len()), ("le.txt ", 1));
        let c = sh.complete("ls d", 4);
        assert_eq!(c.insert, "ir");
        assert_eq!(c.matches, ["dir1/", "dir2/"]);
        let c = sh.complete("ls /tmp/shtab/dir1 x", 15);
        assert_eq!(c.insert, "ir");
        let c = sh.complete("cd /tmp/sht", 11);
        assert_eq!((c.insert.as_str(), c.matches.as_slice()), ("ab/", &["shtab/".into()][..]));
        let c = sh.complete("cat < file", 10);
        assert_eq!(c.insert, ".txt ");
        let c = sh.complete("ls zzz", 6);
        assert_eq!((c.insert.as_str(), c.matches.len()), ("", 0));
        assert_eq!(sh.run_line("cd /; rm -r /tmp/shtab"), 0);
        assert_eq!(sh.take_output(), b"");
    }
}

/// A module whose `_start` loops forever (no imports, no memory).
const WASM_LOOP: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: () -> ()
    0x03, 0x02, 0x01, 0x00, // func 0: type 0
    0x07, 0x0a, 0x01, 0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x00, // export _start
    0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // loop { br 0 }
];

/// A module whose `_start` calls `proc_exit(7)` (and exports no memory).
const WASM_EXIT7: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x08, 0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x00, // (i32) -> (), () -> ()
    0x02, 0x24, 0x01, 0x16, b'w', b'a', b's', b'i', b'_', b's', b'n', b'a', b'p', b's', b'h', b'o',
    b't', b'_', b'p', b'r', b'e', b'v', b'i', b'e', b'w', b'1', 0x09, b'p', b'r', b'o', b'c', b'_',
    b'e', b'x', b'i', b't', 0x00, 0x00, // import proc_exit: type 0
    0x03, 0x02, 0x01, 0x01, // func 1: type 1
    0x07, 0x0a, 0x01, 0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x01, // export _start
    0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x07, 0x10, 0x00, 0x0b, // proc_exit(7)
];

fn write_file(path: &str, bytes: &[u8]) {
    let fd = vfs::open(path, vfs::OpenOptions::write_create()).expect("create");
    vfs::write_all(fd, bytes).expect("write");
    vfs::close(fd).expect("close");
}

kernel_test! {
    fn wasm_modules_run_exit_and_stop_on_ctrl_c() {
        let mut sh = Shell::capturing();
        assert_eq!(sh.run_line("mkdir -p /tmp/shwasm"), 0);
        write_file("/tmp/shwasm/exit7.wasm", WASM_EXIT7);
        write_file("/tmp/shwasm/loop.wasm", WASM_LOOP);
        write_file("/tmp/shwasm/junk.wasm", b"\0asm\x01\0\0\0\x05garbage");
        // proc_exit's code is the status, by path, by name on $PATH and through `wasm`.
        assert_eq!(run(&mut sh, "/tmp/shwasm/exit7.wasm; echo $?"), (0, "7\n".into()));
        assert_eq!(run(&mut sh, "PATH=/tmp/shwasm; exit7; echo $?; PATH=/bin"), (0, "7\n".into()));
        assert_eq!(run(&mut sh, "wasm /tmp/shwasm/exit7.wasm"), (7, "".into()));
        // Bad modules and usage: one line and status 125 (2 for usage).
        let (status, out) = run(&mut sh, "wasm /tmp/shwasm/junk.wasm");
        assert_eq!(status, 125);
        assert!(out.starts_with("wasm: /tmp/shwasm/junk.wasm: malformed module: "), "{out}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert_eq!(run(&mut sh, "wasm --dir /nonexistent x.wasm").0, 2);
        assert_eq!(run(&mut sh, "wasm").0, 2);
        // Ctrl-C stops a guest spinning in a loop, quickly, and leaves no task behind.
        let helper = task::spawn("ctrl-c", || {
            task::sleep_ns(200_000_000);
            crate::interrupt_foreground();
            0
        })
        .unwrap();
        let start = time::monotonic_ns();
        let (status, out) = run(&mut sh, "/tmp/shwasm/loop.wasm");
        // The terminal echoes a typed ^C; the shell ends the line.
        assert_eq!((status, out.as_str()), (crate::STATUS_INTERRUPTED, "\n"));
        assert!(time::monotonic_ns() - start < 3_000_000_000, "Ctrl-C was late");
        assert_eq!(helper.join(), task::ExitValue::Exited(0));
        assert!(!task::list().iter().any(|t| t.name == "/tmp/shwasm/loop.wasm" && t.state != task::State::Exited));
    }
}

kernel_test! {
    fn tail_prints_the_last_lines() {
        let mut sh = Shell::capturing();
        assert_eq!(
            run(&mut sh, "mkdir -p /tmp/tailtest; echo one > /tmp/tailtest/f; echo two >> /tmp/tailtest/f; echo three >> /tmp/tailtest/f"),
            (0, String::new())
        );
        assert_eq!(run(&mut sh, "tail -n 2 /tmp/tailtest/f"), (0, "two\nthree\n".into()));
        assert_eq!(run(&mut sh, "cat /tmp/tailtest/f | tail -n 1"), (0, "three\n".into()));
        assert_eq!(run(&mut sh, "yes | head -n 5 | tail -n 2 | wc -l"), (0, "2\n".into()));
        assert_eq!(run(&mut sh, "tail -n 0 /tmp/tailtest/f"), (0, String::new()));
        let (status, out) = run(&mut sh, "tail /tmp/tailtest/missing");
        assert_eq!(status, 1);
        assert!(out.starts_with("tail: /tmp/tailtest/missing:"), "{out}");
        assert_eq!(run(&mut sh, "rm -r /tmp/tailtest"), (0, String::new()));
    }
}

kernel_test! {
    /// The output and messages of the file commands that reach the tree through `vfs`.
    fn file_commands_ls_mkdir_rm_rmdir_touch_cd() {
        let mut sh = Shell::capturing();
        assert_eq!(sh.run_line("mkdir -p /tmp/shls/d/e; cd /tmp/shls; echo abc > f"), 0);
        assert_eq!(run(&mut sh, "ls"), (0, "d/\nf\n".into()));
        assert_eq!(run(&mut sh, "ls -l d f"), (0, "d:\nd0755          0 e/\n\nf:\n-0644          4 f\n".into()));
        assert_eq!(run(&mut sh, "ls f nope"), (1, "f:\nf\nls: nope: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "mkdir d"), (1, "mkdir: d: File exists\n".into()));
        assert_eq!(run(&mut sh, "mkdir x/y"), (1, "mkdir: x/y: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "mkdir -p f/y"), (1, "mkdir: f/y: Not a directory\n".into()));
        assert_eq!(run(&mut sh, "mkdir"), (2, "mkdir: missing operand\n".into()));
        assert_eq!(run(&mut sh, "rmdir d"), (1, "rmdir: d: Directory not empty\n".into()));
        assert_eq!(run(&mut sh, "rm d"), (1, "rm: d: Is a directory\n".into()));
        assert_eq!(run(&mut sh, "touch d/e/t f; ls d/e"), (0, "t\n".into()));
        assert_eq!(run(&mut sh, "cd f"), (1, "cd: f: Not a directory\n".into()));
        assert_eq!(run(&mut sh, "cd nope"), (1, "cd: nope: No such file or directory\n".into()));
        assert_eq!(run(&mut sh, "rm -r d; ls"), (0, "f\n".into()));
        assert_eq!(run(&mut sh, "mem | grep -c 'KiB allowed'"), (0, "1\n".into()));
        assert_eq!(sh.run_line("cd /; rm -r /tmp/shls"), 0);
    }
}

kernel_test! {
    fn the_shell_is_woken_when_a_task_ends() {
        // A task that never notifies the shell itself (a program's threads do not): its end
        // alone (the kernel's end observer calling `task_end_hook`) must wake a wait for it,
        // long before the deadline that otherwise ends the wait.
        let handle = task::spawn("quiet", || {
            task::sleep_ns(20_000_000);
            0
        })
        .expect("spawn");
        let deadline = time::monotonic_ns() + 5_000_000_000;
        let ended = crate::JOB_EVENT.wait_until_deadline(
            &mut || handle.task().state() == task::State::Exited,
            Some(deadline),
        );
        assert!(ended, "not woken by the task's end within 5 s");
        handle.join();
    }
}

kernel_test! {
    fn a_job_ends_with_the_last_thread_of_its_program() {
        // A program whose main task ends before another of its threads (as after an
        // `exit_group`, whose kills take the other threads a moment to finish): the shell's
        // wait goes on until that thread has ended too, as `waitpid` does in Linux.
        use core::sync::atomic::{AtomicBool, Ordering};
        static RELEASE: AtomicBool = AtomicBool::new(false);
        static LATE_DONE: AtomicBool = AtomicBool::new(false);
        let ctx = vfs::ProcessContext::with_console();
        let context = alloc::sync::Arc::downgrade(&ctx);
        let builder = task::Builder::new("early-main");
        let main = vfs::spawn_with_context(builder, ctx, || {
            task::spawn("late-thread", || {
                while !RELEASE.load(Ordering::SeqCst) {
                    task::sleep_ns(1_000_000);
                }
                LATE_DONE.store(true, Ordering::SeqCst);
                0
            })
            .expect("spawn the second thread");
            0
        })
        .expect("spawn");
        let main_task = main.task().clone();
        let stages = [crate::Stage::Task("early-main".into(), main, context)];
        while main_task.state() != task::State::Exited {
            task::sleep_ns(1_000_000);
        }
        let left = stages[0].leftover_threads();
        assert_eq!(left.len(), 1, "the second thread outlives the main one: {left:?}");
        assert!(stages[0].running(), "a program with a live thread still runs");
        task::spawn("releaser", || {
            task::sleep_ns(30_000_000);
            RELEASE.store(true, Ordering::SeqCst);
            0
        })
        .expect("spawn the releaser");
        assert_eq!(crate::wait_stages(&stages, false), crate::WaitEnd::Done);
        assert!(LATE_DONE.load(Ordering::SeqCst), "the wait ended before the last thread");
        assert!(!stages[0].running());
        assert!(stages[0].leftover_threads().is_empty());
    }
}
