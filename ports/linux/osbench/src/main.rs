//! `osbench [NAME...]`: the micro-benchmarks of `cargo xtask bench`, one static musl binary that
//! runs unchanged in the OS (as `/bin/osbench`, through the Linux system-call ABI) and in a Linux
//! guest (as the initramfs's `/init`). Each benchmark times many repetitions of one operation
//! with `clock_gettime(CLOCK_MONOTONIC)` (std's `Instant`) inside the guest and prints
//! `osbench: NAME NS_PER_OP` (or `osbench: NAME error`), then `osbench: done`. xtask parses those lines.
//!
//! - As process 1 (the Linux guest) it first prints `osbench: init` (the boot marker), mounts
//!   devtmpfs, proc and a tmpfs on `/tmp`, takes its benchmark names from its arguments (the
//!   kernel passes the words after `--` on its command line) and powers the machine off at the
//!   end.
//! - `osbench --child` exits at once: the program the `spawn` benchmark starts.
//! - `osbench --none` runs no benchmark (a boot-time-only run).
//! - `osbench [NAME...] --exec PROGRAM [ARG...]` runs the benchmarks NAME first, then PROGRAM
//!   (its stdio the console), prints `osbench: exec STATUS`, then `osbench: done`: how the
//!   Linux guest runs another program as a benchmark (`cargo xtask bench`'s CoreMark and resvg
//!   rows run `wasm-bench-peer` this way).
//! - `parallel` splits a CPU-bound sum and a sort over the threads
//!   `std::thread::available_parallelism()` counts (printed first as `osbench: threads N`, so
//!   xtask can check each guest saw the vCPUs it was given): the same work whatever the count,
//!   so its time shows how much more CPUs give.
//! - `osbench --exec-copies N PROGRAM [ARG...]`: the same with N copies of PROGRAM at once,
//!   each one's output printed whole after all ended (the `coremark-x4` row: four CoreMark
//!   guests at once in `wasm-bench-peer`).
//! - `ripgrep` times a whole program: `/bench/rg` (ripgrep, started and waited for) searching
//!   the source tree `/bench/tree`, both put there by xtask on each side.
//!
//! Std only, plus `libc` for the calls std does not wrap (mmap, mprotect, futex, mount, reboot).

use std::fs;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// One benchmark: its name and one operation (called many times).
type Bench = (&'static str, fn(&mut State));

/// The benchmarks, in the order they run. The names are xtask's too.
const BENCHES: &[Bench] = &[
    ("null", null),
    ("mmap", mmap_touch_unmap),
    ("mprotect", mprotect_flip),
    ("futex", futex_pingpong),
    ("thread", thread_spawn_join),
    ("pipe", pipe_pingpong),
    ("files", small_files),
    ("read16m", read_16m),
    ("readdir", list_10k),
    ("spawn", spawn_wait),
    ("parallel", parallel_sum_sort),
    ("ripgrep", ripgrep),
];

/// Each benchmark runs batches of 1, 2, 4, ... operations until one batch takes this long;
/// that batch's time per operation is the result.
const BUDGET: Duration = Duration::from_millis(300);
/// Nor more operations than this in a batch (a very fast call).
const MAX_BATCH: u64 = 1 << 22;

/// Where the file benchmarks work.
const TMP: &str = "/tmp/osbench";

/// The `ripgrep` benchmark's program and the tree it searches (xtask adds both), and its
/// search: a regular expression (not a plain literal), a count per file, no output order to
/// sort out.
const RG: &str = "/bench/rg";
const RG_TREE: &str = "/bench/tree";
const RG_ARGS: &[&str] = &["--count", r"fn [a-z_]+\(", RG_TREE];

/// What the benchmarks share: set up before the timed batches, torn down after.
#[derive(Default)]
struct State {
    page: usize,
    futex: Option<FutexPair>,
    pipe: Option<PipePair>,
    me: String,
    buf: Vec<u8>,
    /// `parallel`: the threads it uses and the sum each operation must find.
    threads: usize,
    sum: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return;
    }
    let init = std::process::id() == 1;
    if init {
        become_init();
    }
    let me = if init {
        "/init".to_string()
    } else {
        args.first().cloned().unwrap_or_default()
    };
    let exec_at = args
        .iter()
        .position(|a| a == "--exec" || a == "--exec-copies");
    let names: Vec<&str> = args[..exec_at.unwrap_or(args.len())]
        .iter()
        .skip(1)
        .map(String::as_str)
        .filter(|a| !a.is_empty() && !a.starts_with('-'))
        .collect();
    // `--exec PROGRAM...` runs one copy, `--exec-copies N PROGRAM...` N at once.
    let exec = exec_at.map(|at| {
        if args[at] == "--exec" {
            (Some(1), &args[at + 1..])
        } else {
            let copies = args.get(at + 1).and_then(|n| n.parse().ok());
            (
                copies.filter(|&n: &usize| n > 0),
                args.get(at + 2..).unwrap_or(&[]),
            )
        }
    });
    // `--none`: only boot (the Linux guest's boot-time run).
    let status = if let Some((copies, command)) = exec {
        let program = |command| match copies {
            Some(1) => run_program(command),
            Some(n) => run_copies(n, command),
            None => {
                eprintln!("osbench: --exec-copies needs a positive count");
                println!("osbench: failed");
                2
            }
        };
        if names.is_empty() {
            program(command)
        } else {
            match run(&names, me, false) {
                0 => program(command),
                failed => failed,
            }
        }
    } else if args.iter().any(|a| a == "--none") {
        println!("osbench: done");
        0
    } else {
        run(&names, me, true)
    };
    if init {
        power_off();
    }
    std::process::exit(status);
}

/// `--exec PROGRAM ARG...`: PROGRAM's exit status (or 127 when it does not start, 128 + N
/// when signal N ended it), printed and returned.
fn run_program(command: &[String]) -> i32 {
    let Some((program, args)) = command.split_first() else {
        eprintln!("osbench: --exec needs a program");
        println!("osbench: failed");
        return 2;
    };
    let status = match std::process::Command::new(program).args(args).status() {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
        }
        Err(err) => {
            eprintln!("osbench: {program}: {err}");
            127
        }
    };
    println!("osbench: exec {status}");
    println!("osbench: done");
    status
}

/// `--exec-copies N PROGRAM ARG...`: N copies of PROGRAM at once, each one's standard output
/// collected and printed whole after all ended, in the order they started (so their lines do
/// not interleave); then `osbench: exec STATUS` (the first copy's non-zero status, else 0) and
/// `osbench: done`.
fn run_copies(copies: usize, command: &[String]) -> i32 {
    let Some((program, args)) = command.split_first() else {
        eprintln!("osbench: --exec-copies needs a program");
        println!("osbench: failed");
        return 2;
    };
    let mut readers = Vec::new();
    for _ in 0..copies {
        let child = std::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn();
        match child {
            Ok(mut child) => {
                let mut stdout = child.stdout.take().expect("piped");
                let reader = std::thread::spawn(move || {
                    let mut out = Vec::new();
                    let _ = stdout.read_to_end(&mut out);
                    out
                });
                readers.push((child, reader));
            }
            Err(err) => {
                eprintln!("osbench: {program}: {err}");
                println!("osbench: exec 127");
                println!("osbench: done");
                return 127;
            }
        }
    }
    let mut status = 0;
    for (mut child, reader) in readers {
        let out = reader.join().unwrap_or_default();
        let _ = std::io::stdout().write_all(&out);
        let code = match child.wait() {
            Ok(s) => {
                use std::os::unix::process::ExitStatusExt;
                s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
            }
            Err(_) => 1,
        };
        if status == 0 {
            status = code;
        }
    }
    println!("osbench: exec {status}");
    println!("osbench: done");
    status
}

/// Runs the benchmarks `names` (all when empty); `osbench: done` at the end when `last`.
fn run(names: &[&str], me: String, last: bool) -> i32 {
    for name in names {
        if !BENCHES.iter().any(|(n, _)| n == name) {
            eprintln!("osbench: unknown benchmark {name}");
            println!("osbench: failed");
            return 2;
        }
    }
    let mut state = State {
        me,
        ..State::default()
    };
    for &(name, op) in BENCHES {
        if !names.is_empty() && !names.contains(&name) {
            continue;
        }
        // A benchmark that fails (an unsupported call panics) is reported and skipped; the
        // others still run.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            setup(name, &mut state).map(|()| measure(|| op(&mut state)))
        }));
        teardown(name, &mut state);
        match outcome {
            Ok(Ok(ns)) => println!("osbench: {name} {ns:.1}"),
            Ok(Err(err)) => {
                eprintln!("osbench: {name}: setup failed: {err}");
                println!("osbench: {name} error");
            }
            Err(_) => println!("osbench: {name} error"),
        }
        let _ = std::io::stdout().flush();
    }
    if last {
        println!("osbench: done");
    }
    0
}

/// Nanoseconds per call of `op`, from the first batch (1, 2, 4, ... calls) that took at least
/// [`BUDGET`], after one call to warm up.
fn measure(mut op: impl FnMut()) -> f64 {
    op();
    let mut batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            op();
        }
        let took = start.elapsed();
        if took >= BUDGET || batch >= MAX_BATCH {
            return took.as_nanos() as f64 / batch as f64;
        }
        batch *= 2;
    }
}

fn check(ok: bool, what: &str) {
    if !ok {
        panic!(
            "osbench: {what} failed: {}",
            std::io::Error::last_os_error()
        );
    }
}

fn setup(name: &str, state: &mut State) -> std::io::Result<()> {
    match name {
        "mprotect" => {
            // SAFETY: a fresh anonymous private mapping; nothing else refers to it.
            let page = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            check(page != libc::MAP_FAILED, "mmap");
            state.page = page as usize;
        }
        "futex" => state.futex = Some(FutexPair::start()),
        "pipe" => state.pipe = Some(PipePair::start()?),
        "parallel" => {
            state.threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            println!("osbench: threads {}", state.threads);
            state.sum = mixed_sum(0, SUM_TERMS);
        }
        "ripgrep" => {
            // A clear error (the row left out) when xtask did not add the program or tree.
            fs::metadata(RG)?;
            fs::read_dir(RG_TREE)?;
        }
        "files" | "readdir" | "read16m" => {
            let _ = fs::remove_dir_all(TMP);
            fs::create_dir_all(TMP)?;
            if name == "readdir" {
                for i in 0..10_000 {
                    fs::File::create(format!("{TMP}/entry-{i:05}"))?;
                }
            }
            if name == "read16m" {
                let block = vec![0x5au8; 1 << 20];
                let mut file = fs::File::create(format!("{TMP}/big"))?;
                for _ in 0..16 {
                    file.write_all(&block)?;
                }
                state.buf = vec![0; 64 << 10];
            }
        }
        _ => {}
    }
    Ok(())
}

fn teardown(name: &str, state: &mut State) {
    match name {
        "mprotect" => {
            // SAFETY: the page mapped in `setup`, no longer used.
            unsafe { libc::munmap(state.page as *mut libc::c_void, 4096) };
        }
        "futex" => {
            if let Some(pair) = state.futex.take() {
                pair.stop();
            }
        }
        "pipe" => {
            if let Some(pair) = state.pipe.take() {
                pair.stop();
            }
        }
        "files" | "readdir" | "read16m" => {
            let _ = fs::remove_dir_all(TMP);
        }
        _ => {}
    }
}

/// The null system call.
fn null(_: &mut State) {
    // SAFETY: getpid has no preconditions. Called directly: musl does not cache it.
    std::hint::black_box(unsafe { libc::getpid() });
}

/// Map 1 MiB, write one byte per page, unmap.
fn mmap_touch_unmap(_: &mut State) {
    const LEN: usize = 1 << 20;
    // SAFETY: a fresh anonymous private mapping, written only within its length, then unmapped.
    unsafe {
        let at = libc::mmap(
            std::ptr::null_mut(),
            LEN,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        check(at != libc::MAP_FAILED, "mmap");
        let bytes = at.cast::<u8>();
        for page in (0..LEN).step_by(4096) {
            bytes.add(page).write_volatile(1);
        }
        check(libc::munmap(at, LEN) == 0, "munmap");
    }
}

/// Make the page read-only, then writable again, and write to it.
fn mprotect_flip(state: &mut State) {
    let page = state.page as *mut libc::c_void;
    // SAFETY: `page` is the page mapped in `setup`; it is writable again before the write.
    unsafe {
        check(libc::mprotect(page, 4096, libc::PROT_READ) == 0, "mprotect");
        check(
            libc::mprotect(page, 4096, libc::PROT_READ | libc::PROT_WRITE) == 0,
            "mprotect",
        );
        page.cast::<u8>().write_volatile(1);
    }
}

fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: `word` is a live, aligned u32; the kernel only reads it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: as in `futex_wait`.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

/// A second thread that answers each ping (word 1) with a pong (word 0); 2 means stop.
struct FutexPair {
    word: Arc<AtomicU32>,
    thread: std::thread::JoinHandle<()>,
}

impl FutexPair {
    fn start() -> Self {
        let word = Arc::new(AtomicU32::new(0));
        let other = Arc::clone(&word);
        let thread = std::thread::spawn(move || {
            loop {
                match other.load(Ordering::Acquire) {
                    0 => futex_wait(&other, 0),
                    1 => {
                        other.store(0, Ordering::Release);
                        futex_wake(&other);
                    }
                    _ => return,
                }
            }
        });
        FutexPair { word, thread }
    }

    fn stop(self) {
        self.word.store(2, Ordering::Release);
        futex_wake(&self.word);
        let _ = self.thread.join();
    }
}

/// One round trip: ping, wait for the pong.
fn futex_pingpong(state: &mut State) {
    let word = &state.futex.as_ref().expect("set up").word;
    word.store(1, Ordering::Release);
    futex_wake(word);
    while word.load(Ordering::Acquire) == 1 {
        futex_wait(word, 1);
    }
}

fn thread_spawn_join(_: &mut State) {
    std::thread::spawn(|| std::hint::black_box(1))
        .join()
        .expect("thread joins");
}

/// A second thread that echoes each byte from one pipe into another.
struct PipePair {
    to: std::io::PipeWriter,
    from: std::io::PipeReader,
    thread: std::thread::JoinHandle<()>,
}

impl PipePair {
    fn start() -> std::io::Result<Self> {
        let (mut their_in, to) = std::io::pipe()?;
        let (from, mut their_out) = std::io::pipe()?;
        let thread = std::thread::spawn(move || {
            let mut byte = [0u8];
            while their_in.read_exact(&mut byte).is_ok() {
                if their_out.write_all(&byte).is_err() {
                    return;
                }
            }
        });
        Ok(PipePair { to, from, thread })
    }

    fn stop(self) {
        drop(self.to);
        let _ = self.thread.join();
    }
}

/// One byte there and back.
fn pipe_pingpong(state: &mut State) {
    let pair = state.pipe.as_mut().expect("set up");
    let mut byte = [7u8];
    pair.to.write_all(&byte).expect("pipe write");
    pair.from.read_exact(&mut byte).expect("pipe read");
}

/// Create and write 1000 files of 100 bytes, read them back, delete them.
fn small_files(_: &mut State) {
    const COUNT: usize = 1000;
    let data = [0x42u8; 100];
    for i in 0..COUNT {
        fs::write(format!("{TMP}/f{i}"), data).expect("write a small file");
    }
    let mut buf = [0u8; 128];
    for i in 0..COUNT {
        let mut file = fs::File::open(format!("{TMP}/f{i}")).expect("open a small file");
        let n = file.read(&mut buf).expect("read a small file");
        assert_eq!(n, data.len());
    }
    for i in 0..COUNT {
        fs::remove_file(format!("{TMP}/f{i}")).expect("delete a small file");
    }
}

/// Read the 16 MiB file through a 64 KiB buffer.
fn read_16m(state: &mut State) {
    let mut file = fs::File::open(format!("{TMP}/big")).expect("open the big file");
    let mut total = 0;
    loop {
        let n = file.read(&mut state.buf).expect("read the big file");
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 16 << 20);
}

/// List the directory of 10 000 entries.
fn list_10k(_: &mut State) {
    let count = fs::read_dir(TMP).expect("read_dir").count();
    assert_eq!(count, 10_000);
}

/// `parallel`'s work per operation, the same whatever the thread count: the sum of
/// [`SUM_TERMS`] mixed integers and a sort of [`SORT_LEN`] pseudo-random numbers.
const SUM_TERMS: u64 = 1 << 21;
const SORT_LEN: usize = 1 << 17;

/// splitmix64's output function: a cheap, well-mixed 64-bit hash (multiplies the compiler
/// cannot fold or vectorise away).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The wrapping sum of `mix(i)` for `i` in `start..end`.
fn mixed_sum(start: u64, end: u64) -> u64 {
    (std::hint::black_box(start)..end).fold(0u64, |sum, i| sum.wrapping_add(mix(i)))
}

/// `parts` contiguous ranges covering `0..len`, as even as can be.
fn split(len: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    (0..parts)
        .map(|k| len * k / parts..len * (k + 1) / parts)
        .collect()
}

/// One pass of a merge sort: `a` and `b` (each sorted) into one sorted vector.
fn merge(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// The sum, then the sort, each split over `state.threads` threads: each thread sums its part
/// of the terms; each generates and sorts its part of the numbers, then the sorted parts are
/// merged pairwise, the merges of a round in parallel. Both results are checked.
fn parallel_sum_sort(state: &mut State) {
    let threads = state.threads.max(1);
    let sum = std::thread::scope(|scope| {
        let parts: Vec<_> = split(SUM_TERMS as usize, threads)
            .into_iter()
            .map(|r| scope.spawn(move || mixed_sum(r.start as u64, r.end as u64)))
            .collect();
        parts
            .into_iter()
            .map(|h| h.join().expect("sum thread"))
            .fold(0u64, u64::wrapping_add)
    });
    assert_eq!(sum, state.sum, "parallel sum");
    let mut runs: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let parts: Vec<_> = split(SORT_LEN, threads)
            .into_iter()
            .map(|r| {
                scope.spawn(move || {
                    let mut part: Vec<u64> = r.map(|i| mix(i as u64 ^ 0x5eed)).collect();
                    part.sort_unstable();
                    part
                })
            })
            .collect();
        parts
            .into_iter()
            .map(|h| h.join().expect("sort thread"))
            .collect()
    });
    while runs.len() > 1 {
        let mut pairs = Vec::new();
        let mut rest = runs.into_iter();
        let mut odd = None;
        while let Some(a) = rest.next() {
            match rest.next() {
                Some(b) => pairs.push((a, b)),
                None => odd = Some(a),
            }
        }
        runs = std::thread::scope(|scope| {
            let merged: Vec<_> = pairs
                .iter()
                .map(|(a, b)| scope.spawn(move || merge(a, b)))
                .collect();
            merged
                .into_iter()
                .map(|h| h.join().expect("merge thread"))
                .collect()
        });
        runs.extend(odd);
    }
    let sorted = runs.pop().unwrap_or_default();
    assert_eq!(sorted.len(), SORT_LEN, "sorted length");
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "not sorted");
}

/// ripgrep over the tree, its output discarded; it must find matches (status 0).
fn ripgrep(_: &mut State) {
    let status = std::process::Command::new(RG)
        .args(RG_ARGS)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("start ripgrep");
    assert!(status.success(), "ripgrep: {status}");
}

/// Start this program with `--child` and wait for it.
fn spawn_wait(state: &mut State) {
    let status = std::process::Command::new(&state.me)
        .arg("--child")
        .status()
        .expect("spawn the child");
    assert!(status.success());
}

/// Process 1 of the Linux guest: a console on fds 0-2, `/proc`, a tmpfs on `/tmp`; then the
/// boot marker.
fn become_init() {
    let mount = |source: &str, target: &str, fstype: &str| {
        let c = |s: &str| std::ffi::CString::new(s).expect("no NUL");
        let (source, target, fstype) = (c(source), c(target), c(fstype));
        let _ = fs::create_dir_all(target.to_str().unwrap_or("/"));
        // SAFETY: valid NUL-terminated strings, no data argument.
        unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                0,
                std::ptr::null(),
            )
        }
    };
    mount("devtmpfs", "/dev", "devtmpfs");
    // SAFETY: plain open/dup2 on a NUL-terminated path.
    unsafe {
        let fd = libc::open(c"/dev/console".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            for target in 0..3 {
                if fd != target {
                    libc::dup2(fd, target);
                }
            }
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
    println!("osbench: init");
    mount("proc", "/proc", "proc");
    mount("tmpfs", "/tmp", "tmpfs");
}

fn power_off() -> ! {
    let _ = std::io::stdout().flush();
    // SAFETY: sync and reboot take no pointers; as process 1 we may power off.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    // Reached only if reboot failed: process 1 must not exit.
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}
