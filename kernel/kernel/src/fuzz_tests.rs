//! The fuzz and stress group (`kernel_fuzz!`, run by `mode=fuzz`: `cargo xtask fuzz` and
//! `cargo xtask test --slow`, not by the default run). Each test prints one line of counts.
//! Inputs made on the host (`xtask/src/fuzz_inputs.rs`) are in the ramdisk under `/fuzz`;
//! the rest is generated here from fixed seeds, so a failure can be replayed.
//!
//! Nothing here may panic or hang the kernel: every case either completes or is refused
//! with an error, and the counts say how many of each.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use ktest::kernel_fuzz;
use task::ExitValue;
use vfs::{File, ProcessContext};

/// xorshift64: a small deterministic generator for test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Free frames and heap bytes in use, after letting finished tasks be reaped.
fn accounting() -> (u64, usize) {
    for _ in 0..3 {
        task::sleep_ns(5_000_000);
    }
    (memory::frame_stats().free, memory::heap_stats().used)
}

fn null() -> Arc<dyn File> {
    Arc::new(vfs::NullDevice::new())
}

/// A context whose stdin, stdout and stderr are `/dev/null` (guests and shell lines here
/// must neither block on the console nor print to it), with `/` as the cwd.
fn quiet_context() -> Arc<ProcessContext> {
    ProcessContext::new(null(), null(), null(), "/")
}

/// A shell on `/dev/null`.
fn quiet_shell() -> shell::Shell {
    shell::Shell::with_stdio(null(), null(), null())
}

/// Runs `f` in a task of its own (`stack_pages` of kernel stack) with [`quiet_context`]
/// and returns how it ended; a task still running after `limit_s` seconds is killed (a hang
/// fails the test instead of the run).
fn run_quiet<F: FnOnce() -> isize + Send + 'static>(
    name: &str,
    limit_s: u64,
    stack_pages: u64,
    f: F,
) -> ExitValue {
    let builder = task::Builder::new(name).stack_pages(stack_pages);
    let handle = vfs::spawn_with_context(builder, quiet_context(), f).expect("spawn");
    let deadline = time::monotonic_ns() + limit_s * 1_000_000_000;
    while handle.task().exit_value().is_none() && time::monotonic_ns() < deadline {
        task::sleep_ns(10_000_000);
    }
    if handle.task().exit_value().is_none() {
        serial::println!("{name}: still running after {limit_s} s: killed");
        let _ = task::kill(handle.id(), "fuzz: time limit");
    }
    handle.join()
}

fn ramdisk_file(path: &str) -> Vec<u8> {
    rootfs::with(|fs| {
        let node = fs
            .lookup(path)
            .unwrap_or_else(|e| panic!("{path}: {e:?} (cargo xtask fuzz puts it in the ramdisk)"));
        fs.file_data(node).expect("a file").to_vec()
    })
}

/// Splits the host's module archive: `count: u32`, then `len: u32` and the bytes of each
/// (little-endian).
fn split_archive(data: &[u8]) -> Vec<&[u8]> {
    let word = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
    let count = word(0);
    let mut at = 4;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let len = word(at);
        out.push(&data[at + 4..at + 4 + len]);
        at += 4 + len;
    }
    assert_eq!(at, data.len(), "archive has trailing bytes");
    out
}

kernel_fuzz! {
    fn generated_wasm_modules_through_the_runner() {
        // Modules made by wasm-smith on the host (valid ones, and copies with bytes changed),
        // each validated, instrumented, instantiated and run with fuel and memory limits.
        let archive = Arc::new(ramdisk_file("/fuzz/wasm-modules.bin"));
        let total = split_archive(&archive).len();
        // Where the run is: a module that kills its task is counted and skipped, and a new
        // task goes on with the next one.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        static COUNTS: spin::Mutex<[u32; 8]> = spin::Mutex::new([0; 8]);
        NEXT.store(0, Ordering::SeqCst);
        *COUNTS.lock() = [0; 8];
        let mut killed = Vec::new();
        while NEXT.load(Ordering::SeqCst) < total {
            let archive = archive.clone();
            let end = run_quiet("fuzz-wasm", 900, shell::WASM_STACK_PAGES, move || {
                let modules = split_archive(&archive);
                for (i, bytes) in modules.iter().enumerate().skip(NEXT.load(Ordering::SeqCst)) {
                    NEXT.store(i, Ordering::SeqCst);
                    let limits = wasm_runner::Limits { fuel: Some(100_000), max_memory: 4 << 20 };
                    let r = wasm_runner::run_with_limits(
                        bytes,
                        alloc::vec!["fuzz".to_string()],
                        Vec::new(),
                        Vec::new(),
                        limits,
                    );
                    let slot = match r {
                        Ok(_) => 0,
                        Err(wasm_runner::RunError::Trap { signal, .. })
                            if signal == wasm_runner::SIGXCPU => 1,
                        Err(wasm_runner::RunError::Trap { .. }) => 2,
                        Err(wasm_runner::RunError::Malformed(_)) => 3,
                        Err(wasm_runner::RunError::Unsupported(_)) => 4,
                        Err(wasm_runner::RunError::MissingImports(_)) => 5,
                        // wasmi compiles in the kernel: no compiler program to fail.
                        Err(
                            wasm_runner::RunError::Instantiate(_)
                            | wasm_runner::RunError::Compiler(_),
                        ) => 6,
                        Err(wasm_runner::RunError::NoStart) => 7,
                    };
                    COUNTS.lock()[slot] += 1;
                }
                NEXT.store(modules.len(), Ordering::SeqCst);
                0
            });
            if let ExitValue::Killed(reason) = end {
                let at = NEXT.fetch_add(1, Ordering::SeqCst);
                let first = reason.lines().next().unwrap_or("").to_string();
                serial::println!("fuzz wasm: module {at} killed its task: {first}");
                killed.push(at);
            }
        }
        let c = *COUNTS.lock();
        serial::println!(
            "fuzz wasm: {total} modules: {} ran to the end, {} out of fuel, {} trapped, {} malformed, \
             {} unsupported, {} missing imports, {} not instantiable, {} without _start, {} killed \
             the task",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], killed.len()
        );
        assert!(total >= 10_000, "only {total} modules");
        assert!(c[0] + c[1] + c[2] > 0, "no module ran");
        assert!(c[3] > 0, "no module was malformed");
        assert!(killed.is_empty(), "modules {killed:?} killed the runner's task");
    }
}

kernel_fuzz! {
    fn every_wasi_function_with_random_pointers_and_lengths() {
        // A module made on the host calls every preview1 function many times with random
        // pointers (in memory, at its end, far past it), lengths, descriptors and flags, then
        // `proc_exit(42)`: 42 means every call returned.
        let module = ramdisk_file("/fuzz/wasi-calls.wasm");
        let calls = String::from_utf8(ramdisk_file("/fuzz/wasi-calls.count")).unwrap();
        let _ = vfs::mkdir("/tmp/fuzz-wasi", 0o755);
        let status = run_quiet("fuzz-wasi", 300, shell::WASM_STACK_PAGES, move || {
            let dir = vfs::open("/tmp/fuzz-wasi", vfs::OpenOptions::read_only().directory(true))
                .expect("the fuzz directory");
            let preopens = alloc::vec![wasi_host::Preopen {
                dir,
                guest: "/data".into(),
            }];
            let limits = wasm_runner::Limits { fuel: None, max_memory: 1 << 20 };
            let r = wasm_runner::run_with_limits(
                &module,
                alloc::vec!["fuzz".to_string()],
                Vec::new(),
                preopens,
                limits,
            );
            serial::println!("fuzz wasi: {} random calls: {r:?}", calls.trim());
            assert_eq!(r, Ok(42));
            0
        });
        assert_eq!(status, ExitValue::Exited(0));
    }
}

kernel_fuzz! {
    fn mutated_elf_programs_load_and_run() {
        // 10^4 copies of a real program with bytes changed (mostly in the ELF and program
        // headers) through the loader; then 200 copies changed anywhere (code included) run
        // as programs, each killed if still running after 300 ms.
        let bytes = ramdisk_file("/bin/hello-c");
        let mut rng = Rng(0x00e1_f00d_1234_5678);
        let mutate = |rng: &mut Rng, headers_only: bool| {
            let mut copy = bytes.clone();
            for _ in 0..1 + rng.below(8) {
                let span = if headers_only { 64 + 56 * 12 } else { copy.len() };
                let at = rng.below(span.min(copy.len()) as u64) as usize;
                copy[at] = match rng.below(4) {
                    0 => 0xff,
                    1 => 0,
                    _ => rng.next() as u8,
                };
            }
            copy
        };
        let (mut loaded, mut refused) = (0, 0);
        for round in 0..10_000 {
            match elf_loader::load(&mutate(&mut rng, round % 4 != 0)) {
                Ok(_) => loaded += 1,
                Err(_) => refused += 1,
            }
        }
        // Spawns keep the symbol tables of the last programs run (`process`'s cache, 8
        // entries): filling it with the same 8 unmutated copies before each count makes the
        // two counts comparable.
        let settle = || {
            for i in 0..8 {
                let path = format!("/tmp/fuzz-settle-{i}");
                let _ = vfs::unlink(&path);
                write_file(&path, &bytes);
                let handle = process::spawn(&path, alloc::vec![path.clone()], quiet_context())
                    .expect("spawn the unmutated program");
                assert_eq!(handle.join(), ExitValue::Exited(0));
            }
            accounting()
        };
        // One run of `n` programs changed anywhere (code included): (refused, exited,
        // killed, killed after the time limit).
        let mut run_mutated = |n: usize| {
            let (mut exited, mut killed, mut timed_out, mut not_started) = (0, 0, 0, 0);
            for _ in 0..n {
                let copy = mutate(&mut rng, false);
                let path = "/tmp/fuzz-elf";
                write_file(path, &copy);
                let handle =
                    match process::spawn(path, alloc::vec![path.to_string()], quiet_context()) {
                        Ok(h) => h,
                        Err(_) => {
                            not_started += 1;
                            continue;
                        }
                    };
                let deadline = time::monotonic_ns() + 300_000_000;
                while handle.task().exit_value().is_none() && time::monotonic_ns() < deadline {
                    task::sleep_ns(2_000_000);
                }
                if handle.task().exit_value().is_none() {
                    timed_out += 1;
                    for id in task::tasks_sharing_context(handle.id()) {
                        let _ = task::kill(id, "fuzz: still running after 300 ms");
                    }
                }
                match handle.join() {
                    ExitValue::Exited(_) => exited += 1,
                    ExitValue::Killed(_) => killed += 1,
                }
            }
            (not_started, exited, killed, timed_out)
        };
        // Warm up (tables the first crashes and faults build), then count.
        run_mutated(40);
        let before = settle();
        let (not_started, exited, killed, timed_out) = run_mutated(200);
        vfs::unlink("/tmp/fuzz-elf").unwrap();
        let after = settle();
        serial::println!(
            "fuzz elf: 10000 mutated copies loaded: {loaded} accepted, {refused} refused; 200 run: \
             {not_started} refused, {exited} exited, {killed} killed ({timed_out} after the 300 ms \
             limit); free frames {} -> {}, heap {} -> {} bytes",
            before.0, after.0, before.1, after.1
        );
        assert_eq!(loaded + refused, 10_000);
        assert!(refused > 0 && not_started + exited + killed == 200);
        // Every frame comes back. Heap bytes in use move by tens of KiB either way between
        // two counts (kernel tables that grow and shrink: measured -27 KiB and +7 KiB); a
        // program's own memory is frames, and a leak of even 1 KiB per run would exceed this.
        assert_eq!(before.0, after.0, "free frames changed");
        assert!(
            before.1.abs_diff(after.1) < HEAP_DRIFT,
            "heap bytes in use moved by {} bytes",
            before.1.abs_diff(after.1)
        );
    }
}

/// How far heap bytes in use may move between two counts around 200 program runs.
const HEAP_DRIFT: usize = 128 * 1024;

/// Creates or truncates `path` and writes `bytes` to it.
fn write_file(path: &str, bytes: &[u8]) {
    let fd = vfs::open(path, vfs::OpenOptions::write_create().truncate(true)).unwrap();
    vfs::write(fd, bytes).unwrap();
    vfs::close(fd).unwrap();
}

/// One random shell line: commands from a safe vocabulary (nothing that powers off, kills
/// tasks, waits for the console or runs for long) with random arguments, quotes, variables,
/// pipes, redirections and background jobs; or random bytes.
fn shell_line(rng: &mut Rng) -> String {
    const READ: &[&str] = &[
        "echo", "ls", "cat", "pwd", "wc", "head", "tail", "grep", "find", "true", "false", "env",
        "date", "uptime", "mem", "ps", "jobs", "help", "X=1", "nosuch", "wait",
    ];
    const WRITE: &[&str] = &["mkdir", "rm", "rmdir", "touch", "cp", "mv", "cd"];
    const ARGS: &[&str] = &[
        "a",
        "-n",
        "3",
        "-n",
        "x*",
        "-name",
        "*.txt",
        "$X",
        "${X}",
        "$?",
        "${",
        "'q q'",
        "\"d $X\"",
        "\\ ",
        "/etc",
        "/bin/hello-c",
        "/tmp/fz/a",
        "/nonexistent",
        "''",
        "\"",
        "'",
        "-",
        "--",
        "1000000000000",
        "-1",
        "é",
        "\\",
    ];
    const TMP: &[&str] = &[
        "/tmp/fz",
        "/tmp/fz/a",
        "/tmp/fz/b",
        "/tmp/fz/a/c",
        "/tmp/fz/o",
    ];
    const SEPS: &[&str] = &[
        " | ",
        " ; ",
        " & ",
        " > /tmp/fz/o ",
        " >> /tmp/fz/o ",
        " 2> /tmp/fz/e ",
        " < /tmp/fz/o ",
        " < /nonexistent ",
        " 2>> ",
        " | | ",
        ";;",
        " && ",
    ];
    if rng.below(4) == 0 {
        let len = rng.below(80) as usize;
        return (0..len)
            .map(|_| match rng.below(10) {
                0 => char::from(rng.below(32) as u8),
                1 => char::from_u32(0x80 + rng.below(0x700) as u32).unwrap_or('?'),
                _ => char::from(32 + rng.below(95) as u8),
            })
            .collect();
    }
    let mut line = String::new();
    for part in 0..1 + rng.below(4) {
        if part > 0 {
            line.push_str(rng.pick(SEPS));
        }
        if rng.below(3) == 0 {
            line.push_str(rng.pick(WRITE));
            for _ in 0..1 + rng.below(2) {
                line.push(' ');
                line.push_str(rng.pick(TMP));
            }
        } else {
            line.push_str(rng.pick(READ));
            for _ in 0..rng.below(4) {
                line.push(' ');
                line.push_str(if rng.below(3) == 0 {
                    rng.pick(TMP)
                } else {
                    rng.pick(ARGS)
                });
            }
        }
    }
    line
}

kernel_fuzz! {
    fn random_shell_input() {
        // 10^4 random byte sequences through the line editor (escape sequences, control keys,
        // history) and 2000 random command lines through the shell, with stdio on /dev/null.
        let mut rng = Rng(0x5e11_5e11_0bad_cafe);
        let mut editor = line_editor::LineEditor::new(32);
        let mut lines = 0;
        for _ in 0..10_000 {
            for _ in 0..rng.below(40) {
                let b = match rng.below(6) {
                    0 => 0x1b,
                    1 => *rng.pick(b"[OABCD3~HF"),
                    2 => rng.below(32) as u8,
                    _ => rng.next() as u8,
                };
                if let line_editor::Event::Line(l) = editor.feed(b, &mut |_| {}) {
                    editor.add_history(&l);
                    lines += 1;
                }
            }
        }
        let _ = vfs::mkdir("/tmp/fz", 0o755);
        let status = run_quiet("fuzz-shell", 300, task::DEFAULT_STACK_PAGES, move || {
            let mut sh = quiet_shell();
            let (mut ok, mut failed, mut not_found) = (0, 0, 0);
            for i in 0..2000 {
                let line = shell_line(&mut rng);
                match sh.run_line(&line) {
                    0 => ok += 1,
                    shell::STATUS_NOT_FOUND => not_found += 1,
                    _ => failed += 1,
                }
                if i % 50 == 49 {
                    sh.run_line("wait; cd /");
                }
            }
            sh.run_line("wait");
            serial::println!(
                "fuzz shell: 10000 random key sequences ({lines} lines entered); 2000 random \
                 command lines: {ok} status 0, {failed} other status, {not_found} not found"
            );
            0
        });
        assert_eq!(status, ExitValue::Exited(0));
    }
}

kernel_fuzz! {
    fn fifty_wasm_guests_at_once() {
        // 50 background jobs of the `spin` guest, all running at once, then `wait`: each must
        // write its result line.
        let status = run_quiet("fuzz-guests", 300, task::DEFAULT_STACK_PAGES, || {
            let _ = vfs::mkdir("/tmp/guests", 0o755);
            let mut sh = quiet_shell();
            let mut line = String::new();
            for i in 0..50 {
                line.push_str(&format!("WASM_ENGINE=wasmi spin 200000 > /tmp/guests/{i} & "));
            }
            line.push_str("jobs > /tmp/guests/jobs; wait");
            let t0 = time::monotonic_ns();
            let status = sh.run_line(&line);
            let ms = (time::monotonic_ns() - t0) / 1_000_000;
            let jobs = rootfs::with(|fs| {
                fs.lookup("/tmp/guests/jobs").and_then(|n| fs.file_data(n).map(|d| d.to_vec()))
            })
            .unwrap_or_default();
            let running = jobs.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
            let mut done = 0;
            for i in 0..50 {
                let out = rootfs::with(|fs| {
                    fs.lookup(&format!("/tmp/guests/{i}"))
                        .and_then(|n| fs.file_data(n).map(|d| d.to_vec()))
                })
                .unwrap_or_default();
                if out.starts_with(b"spin 200000 done: ") {
                    done += 1;
                }
            }
            serial::println!(
                "fuzz guests: 50 wasm guests started at once ({running} listed by jobs while \
                 running), {done} finished with their output, {ms} ms"
            );
            assert_eq!(status, 0);
            assert_eq!(done, 50);
            assert!(running >= 40, "only {running} guests were running together");
            0
        });
        assert_eq!(status, ExitValue::Exited(0));
    }
}

kernel_fuzz! {
    fn ten_thousand_spawn_exit_cycles_leave_no_trace() {
        // Warm up (lazily built tables), then 10^4 tasks spawned, joined and reaped: free
        // frames and heap bytes in use must be what they were.
        let cycle = |i: usize| {
            let h = task::Builder::new("cycle")
                .spawn(move || (i % 7) as isize)
                .expect("spawn");
            assert_eq!(h.join(), ExitValue::Exited((i % 7) as isize));
        };
        for i in 0..200 {
            cycle(i);
        }
        let before = accounting();
        let t0 = time::monotonic_ns();
        for i in 0..10_000 {
            cycle(i);
        }
        let ms = (time::monotonic_ns() - t0) / 1_000_000;
        let after = accounting();
        serial::println!(
            "fuzz spawn: 10000 spawn/exit cycles in {ms} ms; free frames {} -> {}, heap {} -> {} bytes",
            before.0, after.0, before.1, after.1
        );
        assert_eq!(before, after, "(free frames, heap bytes) changed");
    }
}

kernel_fuzz! {
    fn a_thousand_crash_tasks() {
        // Every kind of the shell's `crash` in turn, 1000 times: each task must be killed
        // (with its reason) and the kernel go on, with free frames and heap bytes as before.
        const KINDS: &[&str] = &["panic", "pagefault", "divzero", "ud", "gp", "stackoverflow"];
        for kind in KINDS {
            let _ = shell::run_crash(kind);
        }
        let before = accounting();
        let mut killed = [0u32; 6];
        for i in 0..1000 {
            let k = i % KINDS.len();
            match shell::run_crash(KINDS[k]) {
                Some((ExitValue::Killed(_), _)) => killed[k] += 1,
                other => panic!("crash {}: {other:?}", KINDS[k]),
            }
        }
        let after = accounting();
        let total: u32 = killed.iter().sum();
        serial::println!(
            "fuzz crash: {total} crash tasks killed ({}); free frames {} -> {}, heap {} -> {} bytes",
            KINDS.iter().zip(killed).map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", "),
            before.0, after.0, before.1, after.1
        );
        assert_eq!(total, 1000);
        assert_eq!(before, after, "(free frames, heap bytes) changed");
    }
}
