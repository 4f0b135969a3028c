//! In-kernel tests of process spawning errors (running real programs is tested end to end
//! with the programs xtask builds into /bin).

use crate::{SpawnError, spawn};
use alloc::vec;
use ktest::kernel_test;

kernel_test! {
    fn spawn_refuses_missing_and_malformed_files() {
        let ctx = vfs::current_context();
        match spawn("/no/such/program", vec!["x".into()], ctx.fork()) {
            Err(SpawnError::File(e)) => assert_eq!(e.raw(), 2),
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("spawned a missing file"),
        }
        let fd = vfs::open("/tmp/not-a-program", vfs::OpenOptions::write_create()).unwrap();
        vfs::write_all(fd, b"#!/bin/sh\necho hi\n").unwrap();
        vfs::close(fd).unwrap();
        match spawn("/tmp/not-a-program", vec!["x".into()], ctx.fork()) {
            Err(SpawnError::Load(e)) => assert!(alloc::format!("{e}").contains("not a valid ELF")),
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("spawned a shell script"),
        }
        vfs::unlink("/tmp/not-a-program").unwrap();
    }
}

kernel_test! {
    fn std_program_runs_and_reports_success() {
        // Built by xtask from ports/stdcheck; absent only in images built without ports.
        if vfs::stat("/bin/stdcheck").is_err() {
            panic!("/bin/stdcheck is missing from the ramdisk");
        }
        let (out_path, err_path) = ("/tmp/stdcheck.out", "/tmp/stdcheck.err");
        let out = vfs::open_file(out_path, vfs::OpenOptions::write_create()).unwrap();
        let err = vfs::open_file(err_path, vfs::OpenOptions::write_create()).unwrap();
        let null = vfs::open_file("/dev/null", vfs::OpenOptions::read_only()).unwrap_or_else(|_| out.clone());
        let ctx = vfs::current_context().new_child(null, out, err);
        ctx.set_env_var("FROM_KERNEL_TEST", "1");
        let handle = spawn("/bin/stdcheck", alloc::vec!["stdcheck".into(), "one".into(), "two".into()], ctx).unwrap();
        let status = crate::status(handle.join());
        let read = |p: &str| {
            let fd = vfs::open(p, vfs::OpenOptions::read_only()).unwrap();
            let data = vfs::read_to_end(fd).unwrap();
            vfs::close(fd).unwrap();
            alloc::string::String::from_utf8(data).unwrap()
        };
        let (stdout, stderr) = (read(out_path), read(err_path));
        assert_eq!(status, Ok(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stdout.contains("stdcheck: 7 passed, 0 failed"), "{stdout}");
        assert!(stdout.contains("args [\"one\", \"two\"]"), "{stdout}");
        assert!(stderr.contains("eprintln works"), "{stderr}");
    }
}

kernel_test! {
    fn killing_a_program_ends_all_its_threads() {
        let null = vfs::open_file("/dev/null", vfs::OpenOptions::read_only()).unwrap();
        let ctx = vfs::current_context().new_child(null.clone(), null.clone(), null);
        let handle = spawn("/bin/stdcheck", alloc::vec!["stdcheck".into(), "--spin".into()], ctx).unwrap();
        let main = handle.id();
        // Wait until the program's two extra threads exist.
        let t0 = time_ns();
        while task::tasks_sharing_context(main).len() < 3 {
            assert!(time_ns() - t0 < 10_000_000_000, "the program never started its threads");
            task::sleep_ns(10_000_000);
        }
        let threads = task::tasks_sharing_context(main);
        crate::kill(main, "killed by test").unwrap();
        match handle.join() {
            task::ExitValue::Killed(reason) => assert_eq!(reason, "killed by test"),
            other => panic!("{other:?}"),
        }
        let t0 = time_ns();
        while threads.iter().any(|&t| task::list().iter().any(|i| i.id == t && i.state != task::State::Exited)) {
            assert!(time_ns() - t0 < 5_000_000_000, "threads of a killed program keep running");
            task::sleep_ns(10_000_000);
        }
    }
}

fn time_ns() -> u64 {
    time::monotonic_ns()
}

kernel_test! {
    fn loads_share_symbols_and_read_only_pages_per_file_version_only() {
        use crate::linux::{load_known, read_program};
        use alloc::sync::Arc;
        let shared = |(program, table): (elf_loader::LinuxProgram, Option<_>)| {
            (program.read_only_pages().clone(), table.expect("a symbol table"))
        };
        // The same file, unchanged: one table and one set of read-only pages for both loads.
        let (hello, v1) = read_program("/bin/hello-c").unwrap();
        assert!(v1.is_some());
        let (pages, first) = shared(load_known(&hello, v1).unwrap());
        let (pages_again, again) = shared(load_known(&hello, v1).unwrap());
        assert!(Arc::ptr_eq(&first, &again));
        assert!(Arc::ptr_eq(&pages, &pages_again));
        // A copy at another path (another inode), then that file rewritten with another
        // program and its modification time set back: its own each time.
        let copy = "/tmp/symbols-test-program";
        let write = |bytes: &[u8]| {
            let fd = vfs::open(copy, vfs::OpenOptions::write_create()).unwrap();
            vfs::ftruncate(fd, 0).unwrap();
            vfs::write_all(fd, bytes).unwrap();
            vfs::close(fd).unwrap();
        };
        write(&hello);
        let (bytes, v2) = read_program(copy).unwrap();
        let (copied_pages, copied) = shared(load_known(&bytes, v2).unwrap());
        assert!(v2.is_some() && v2 != v1);
        assert!(!Arc::ptr_eq(&first, &copied));
        assert!(!Arc::ptr_eq(&pages, &copied_pages));
        assert_eq!(copied.len(), first.len());
        let modified = vfs::stat(copy).unwrap().modified;
        let (other, _) = read_program("/bin/cfiles").unwrap();
        write(&other);
        vfs::set_times(copy, true, None, Some(modified)).unwrap();
        let (bytes, v3) = read_program(copy).unwrap();
        let (rewritten_pages, rewritten) = shared(load_known(&bytes, v3).unwrap());
        assert!(v3 != v2);
        assert_ne!(rewritten.len(), copied.len());
        assert!(!Arc::ptr_eq(&rewritten_pages, &copied_pages));
        vfs::unlink(copy).unwrap();
    }
}
