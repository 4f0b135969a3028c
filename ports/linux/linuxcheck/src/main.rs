//! Exercises the parts of stock `std` a program most needs, built for
//! `x86_64-unknown-linux-musl` (a static-pie ELF that talks to the kernel only through Linux
//! system calls), and reports each area as `NAME ok (what)` or `NAME FAILED: why`, then
//! `linuxcheck: N passed, N failed`. Exit status 0 only if every check passed. The same binary
//! runs on a Linux host, which is the reference for what it must print.
//!
//! Run: `linuxcheck [CHECK | ARGS...]`. A first argument that names a check (`stdio`, `fs`,
//! `thread`, `unwind`, `sync`, `time`, `env`, `hashmap`, `process`, `net`) runs only that check;
//! otherwise every
//! check runs and the arguments are echoed back by `env`. `linuxcheck --panic` panics in
//! `main` without catching it (status 101, as on Linux); `linuxcheck --lines` echoes the lines
//! of standard input with their numbers until end of file. The printed lines are deterministic
//! (no timings, pids or paths), so tests can compare them. The `process` check starts this very
//! program (found as `argv[0]`, through `PATH` if it has no `/`) in child modes `--child-*`.

use std::collections::HashMap;
use std::fs;
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Check = fn() -> Result<String, String>;

const CHECKS: &[(&str, Check)] = &[
    ("stdio", stdio),
    ("fs", fs_check),
    ("thread", threads),
    ("unwind", unwind),
    ("sync", sync),
    ("time", time),
    ("env", env),
    ("hashmap", hashmap),
    ("process", process),
    ("net", net),
];

/// 2020-01-01T00:00:00Z.
const YEAR_2020: u64 = 1_577_836_800;

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.into()) }
}

/// `op` with the error prefixed by what was being done.
fn step<T>(what: &str, op: std::io::Result<T>) -> Result<T, String> {
    op.map_err(|e| format!("{what}: {e}"))
}

/// Runs `f` with panic messages silenced (the panics it causes are expected).
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = f();
    std::panic::set_hook(previous);
    result
}

fn stdio() -> Result<String, String> {
    println!("linuxcheck: println works");
    eprintln!("linuxcheck: eprintln works");
    let mut out = std::io::stdout().lock();
    step(
        "write to stdout",
        out.write_all(b"linuxcheck: write_all works\n"),
    )?;
    step("flush stdout", out.flush())?;
    Ok("println!, eprintln!, write_all, flush".into())
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Result<Vec<String>, String> {
    let what = format!("read_dir {}", dir.display());
    let mut names = step(&what, fs::read_dir(dir))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| format!("{what}: entry: {e}"))?;
    names.sort();
    Ok(names)
}

fn fs_check() -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("linuxcheck.{}", std::process::id()));
    if dir.exists() {
        step("remove an old test directory", fs::remove_dir_all(&dir))?;
    }
    step("create_dir", fs::create_dir(&dir))?;
    let result = fs_in(&dir);
    if result.is_err() {
        let _ = fs::remove_dir_all(&dir);
    }
    result
}

fn fs_in(dir: &Path) -> Result<String, String> {
    let mut done = Vec::new();

    // An empty directory lists as nothing, without an error.
    ensure(
        names_in(dir)?.is_empty(),
        "read_dir of an empty directory is not empty",
    )?;
    done.push("empty read_dir");

    // Create, write, append, read back, metadata.
    let a = dir.join("a.txt");
    step("write", fs::write(&a, b"hello, file\n"))?;
    let mut f = step(
        "open for append",
        fs::OpenOptions::new().append(true).open(&a),
    )?;
    step("append", f.write_all(b"second line\n"))?;
    drop(f);
    let mut text = String::new();
    step(
        "read",
        fs::File::open(&a).and_then(|mut f| f.read_to_string(&mut text)),
    )?;
    ensure(
        text == "hello, file\nsecond line\n",
        format!("read back {text:?}"),
    )?;
    let meta = step("metadata", fs::metadata(&a))?;
    ensure(
        meta.is_file() && meta.len() == 24,
        format!("metadata: file of 24 bytes, got {meta:?}"),
    )?;
    ensure(
        step("metadata of the directory", fs::metadata(dir))?.is_dir(),
        "directory is not a dir",
    )?;
    let missing = fs::File::open(dir.join("missing")).err().map(|e| e.kind());
    ensure(
        missing == Some(ErrorKind::NotFound),
        format!("opening a missing file: {missing:?}"),
    )?;
    done.push("create, write, append, read back, metadata");

    // Modified time: now-ish, then set to a fixed second and read back.
    let now = SystemTime::now();
    let modified = step("modified", meta.modified())?;
    let since_2020 = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    ensure(
        since_2020 > YEAR_2020,
        format!("mtime {modified:?} is before 2020"),
    )?;
    ensure(
        modified <= now + Duration::from_secs(60),
        format!("mtime {modified:?} is after now ({now:?})"),
    )?;
    let fixed = UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let file = step(
        "open for set_modified",
        fs::OpenOptions::new().write(true).open(&a),
    )?;
    step("set_modified", file.set_modified(fixed))?;
    drop(file);
    let modified = step(
        "modified after set_modified",
        fs::metadata(&a).and_then(|m| m.modified()),
    )?;
    ensure(
        modified == fixed,
        format!("set_modified: read back {modified:?}"),
    )?;
    done.push("mtime");

    // Permissions: read-only and back. (No write attempt: root may write read-only files.)
    let mut perms = step("metadata for permissions", fs::metadata(&a))?.permissions();
    perms.set_readonly(true);
    step("set_permissions readonly", fs::set_permissions(&a, perms))?;
    let perms = step("metadata after set_permissions", fs::metadata(&a))?.permissions();
    ensure(
        perms.readonly() && perms.mode() & 0o777 == 0o444,
        format!("read-only mode is {:o}", perms.mode()),
    )?;
    step(
        "set_permissions 0644",
        fs::set_permissions(&a, fs::Permissions::from_mode(0o644)),
    )?;
    let mode = step("metadata after chmod", fs::metadata(&a))?
        .permissions()
        .mode();
    ensure(
        mode & 0o777 == 0o644,
        format!("mode after chmod 644 is {mode:o}"),
    )?;
    done.push("set_permissions");

    // Rename.
    let b = dir.join("b.txt");
    step("rename", fs::rename(&a, &b))?;
    ensure(!a.exists(), "old name still exists after rename")?;
    ensure(
        step("read renamed", fs::read(&b))?.len() == 24,
        "renamed file content",
    )?;
    ensure(names_in(dir)? == ["b.txt"], "read_dir after rename")?;
    done.push("rename");

    // Canonicalize through `..` and `.`.
    let canonical_dir = step("canonicalize the directory", fs::canonicalize(dir))?;
    step("create_dir sub", fs::create_dir(dir.join("sub")))?;
    let through = step(
        "canonicalize sub/../b.txt",
        fs::canonicalize(dir.join("sub/.././b.txt")),
    )?;
    ensure(
        through == canonical_dir.join("b.txt"),
        format!("canonicalize gave {}", through.display()),
    )?;
    done.push("canonicalize");

    // Symbolic link: read_link, metadata through it, symlink_metadata of it.
    let link = dir.join("link");
    step("symlink", std::os::unix::fs::symlink("b.txt", &link))?;
    let target = step("read_link", fs::read_link(&link))?;
    ensure(
        target == Path::new("b.txt"),
        format!("read_link gave {}", target.display()),
    )?;
    let through = step("metadata through the link", fs::metadata(&link))?;
    ensure(
        through.is_file() && through.len() == 24,
        "metadata through the link",
    )?;
    let own = step("symlink_metadata", fs::symlink_metadata(&link))?;
    ensure(
        own.file_type().is_symlink(),
        "symlink_metadata is not a symlink",
    )?;
    ensure(
        step("read through the link", fs::read(&link))?.len() == 24,
        "content through link",
    )?;
    let linked_canonical = step("canonicalize the link", fs::canonicalize(&link))?;
    ensure(
        linked_canonical == canonical_dir.join("b.txt"),
        "canonicalize does not follow the link",
    )?;
    done.push("symlink, read_link");

    // Hard link, where the file system has them.
    let hard = dir.join("hard.txt");
    match fs::hard_link(&b, &hard) {
        Ok(()) => {
            ensure(
                step("read the hard link", fs::read(&hard))?.len() == 24,
                "hard link content",
            )?;
            step("remove the hard link", fs::remove_file(&hard))?;
            done.push("hard link");
        }
        Err(e) if e.kind() == ErrorKind::Unsupported => done.push("no hard links (unsupported)"),
        Err(e) => return Err(format!("hard_link: {e}")),
    }

    // remove_dir_all of a small tree; a symbolic link in it is removed, not followed.
    let tree = dir.join("tree");
    step("create_dir_all", fs::create_dir_all(tree.join("x/y")))?;
    step("write in tree", fs::write(tree.join("x/y/f.txt"), b"f"))?;
    step("write in tree", fs::write(tree.join("g.txt"), b"g"))?;
    step("create_dir in tree", fs::create_dir(tree.join("empty")))?;
    step(
        "symlink in tree",
        std::os::unix::fs::symlink("../sub", tree.join("up")),
    )?;
    ensure(
        names_in(&tree)? == ["empty", "g.txt", "up", "x"],
        "read_dir of the tree",
    )?;
    step("remove_dir_all", fs::remove_dir_all(&tree))?;
    ensure(!tree.exists(), "tree still exists after remove_dir_all")?;
    ensure(
        dir.join("sub").is_dir(),
        "remove_dir_all followed a symbolic link",
    )?;
    done.push("remove_dir_all");

    // An open file outlives its name (what `tempfile::tempfile()` relies on).
    let scratch = dir.join("scratch");
    let mut open = step(
        "create scratch",
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&scratch),
    )?;
    step("unlink the open file", fs::remove_file(&scratch))?;
    step("write after unlink", open.write_all(b"still here"))?;
    step("seek after unlink", open.seek(SeekFrom::Start(0)))?;
    let mut text = String::new();
    step("read after unlink", open.read_to_string(&mut text))?;
    ensure(text == "still here", format!("read {text:?} after unlink"))?;
    drop(open);
    ensure(!scratch.exists(), "the unlinked file came back")?;
    done.push("unlinked open file");

    // A removed working directory: getcwd fails, as on Linux.
    let cwd = step("current_dir", std::env::current_dir())?;
    let gone = dir.join("gone");
    step("create_dir gone", fs::create_dir(&gone))?;
    step("set_current_dir gone", std::env::set_current_dir(&gone))?;
    step("remove the working directory", fs::remove_dir(&gone))?;
    let after = std::env::current_dir();
    step("set_current_dir back", std::env::set_current_dir(&cwd))?;
    ensure(
        after.as_ref().err().map(|e| e.kind()) == Some(ErrorKind::NotFound),
        format!("current_dir in a removed directory: {after:?}"),
    )?;
    done.push("removed working directory");

    // Remove the rest one by one.
    step("remove_file link", fs::remove_file(&link))?;
    step("remove_file", fs::remove_file(&b))?;
    step("remove_dir", fs::remove_dir(dir.join("sub")))?;
    ensure(
        names_in(dir)?.is_empty(),
        "directory not empty after removing everything",
    )?;
    step("remove the test directory", fs::remove_dir(dir))?;
    ensure(!dir.exists(), "test directory still exists")?;
    done.push("remove");
    Ok(done.join(", "))
}

thread_local! {
    static PER_THREAD: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn threads() -> Result<String, String> {
    let handles: Vec<_> = (0..8u64)
        .map(|i| {
            std::thread::spawn(move || {
                for x in 0..1000u64 {
                    PER_THREAD.with(|c| c.set(c.get() + x * i));
                }
                PER_THREAD.with(|c| c.get())
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.join().map_err(|_| "a thread panicked".to_string())?;
    }
    ensure(
        total == (0..8u64).map(|i| 499_500 * i).sum::<u64>(),
        "wrong sum from 8 threads",
    )?;
    ensure(
        PER_THREAD.with(|c| c.get()) == 0,
        "thread-locals are shared with the main thread",
    )?;

    let named = std::thread::Builder::new()
        .name("worker-7".into())
        .spawn(|| std::thread::current().name().map(str::to_string));
    let named = step("Builder::spawn", named)?
        .join()
        .map_err(|_| "named thread panicked")?;
    ensure(
        named.as_deref() == Some("worker-7"),
        format!("thread name {named:?}"),
    )?;

    let joined = quietly(|| std::thread::spawn(|| panic!("linuxcheck: deliberate panic")).join());
    let payload = joined.err().ok_or("a panicking thread joined as Ok")?;
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .unwrap_or("(not a &str)");
    ensure(
        message == "linuxcheck: deliberate panic",
        format!("panic payload {message:?}"),
    )?;
    Ok(
        "8 threads spawned and joined, thread-locals, names, a panicking thread joins as Err"
            .into(),
    )
}

struct SetOnDrop<'a>(&'a AtomicUsize);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[inline(never)]
fn nested_panic(depth: u32, dropped: &AtomicUsize) -> u32 {
    let _guard = SetOnDrop(dropped);
    if depth == 0 {
        panic!("deep");
    }
    std::hint::black_box(nested_panic(depth - 1, dropped)) + 1
}

fn unwind() -> Result<String, String> {
    let dropped = AtomicUsize::new(0);
    let caught = quietly(|| std::panic::catch_unwind(|| nested_panic(5, &dropped)));
    let payload = caught.err().ok_or("catch_unwind returned Ok")?;
    ensure(
        payload.downcast_ref::<&str>() == Some(&"deep"),
        "panic payload is not \"deep\"",
    )?;
    ensure(
        dropped.load(Ordering::SeqCst) == 6,
        format!(
            "{} of 6 frames dropped their guard",
            dropped.load(Ordering::SeqCst)
        ),
    )?;
    let formatted =
        quietly(|| std::panic::catch_unwind(|| panic!("value {}", std::hint::black_box(42))));
    let payload = formatted
        .err()
        .ok_or("catch_unwind of a formatted panic returned Ok")?;
    ensure(
        payload.downcast_ref::<String>().map(String::as_str) == Some("value 42"),
        "formatted panic payload",
    )?;
    let resumed = quietly(|| {
        std::panic::catch_unwind(|| {
            let inner = std::panic::catch_unwind(|| panic!("inner")).unwrap_err();
            std::panic::resume_unwind(inner)
        })
    });
    ensure(
        resumed
            .err()
            .and_then(|p| p.downcast_ref::<&str>().copied())
            == Some("inner"),
        "resume_unwind",
    )?;
    Ok("catch_unwind through 6 frames with destructors, String payload, resume_unwind".into())
}

fn sync() -> Result<String, String> {
    let counter = Arc::new(Mutex::new(0u32));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    ensure(*counter.lock().unwrap() == 4000, "mutex counter")?;

    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = pair.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        *p2.0.lock().unwrap() = true;
        p2.1.notify_one();
    });
    let mut ready = pair.0.lock().unwrap();
    while !*ready {
        ready = pair.1.wait(ready).unwrap();
    }
    drop(ready);
    h.join().unwrap();
    let (guard, timeout) = pair
        .1
        .wait_timeout(pair.0.lock().unwrap(), Duration::from_millis(10))
        .unwrap();
    ensure(
        *guard && timeout.timed_out(),
        "Condvar::wait_timeout did not time out",
    )?;
    drop(guard);

    let (tx, rx) = mpsc::channel();
    for i in 0..4 {
        let tx = tx.clone();
        std::thread::spawn(move || tx.send(i).unwrap());
    }
    drop(tx);
    let mut got: Vec<i32> = rx.iter().collect();
    got.sort();
    ensure(got == [0, 1, 2, 3], "mpsc values")?;

    let barrier = Arc::new(Barrier::new(4));
    let lock = Arc::new(RwLock::new(0u32));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let (barrier, lock) = (barrier.clone(), lock.clone());
            std::thread::spawn(move || {
                barrier.wait();
                *lock.write().unwrap() += 1;
                barrier.wait();
                *lock.read().unwrap()
            })
        })
        .collect();
    let seen: Vec<u32> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    ensure(
        seen == [4, 4, 4, 4],
        format!("Barrier/RwLock: threads saw {seen:?}"),
    )?;
    Ok("Mutex, Condvar, mpsc, Barrier, RwLock".into())
}

fn time() -> Result<String, String> {
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(30));
    let dt = t0.elapsed();
    ensure(
        dt >= Duration::from_millis(30) && dt < Duration::from_secs(2),
        format!("sleep(30 ms) took {dt:?}"),
    )?;
    ensure(Instant::now() >= t0 + dt, "Instant went backwards")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    ensure(now.as_secs() > YEAR_2020, "SystemTime before 2020")?;
    Ok("Instant across a 30 ms sleep, SystemTime after 2020".into())
}

fn env() -> Result<String, String> {
    let args: Vec<String> = std::env::args().collect();
    ensure(!args.is_empty(), "no argv[0]")?;
    // `linuxcheck env ARGS...`: the arguments after the check's name.
    let echoed = if args
        .get(1)
        .is_some_and(|a| CHECKS.iter().any(|(n, _)| n == a))
    {
        2
    } else {
        1
    };
    // SAFETY: the other threads of the earlier checks have all been joined.
    unsafe { std::env::set_var("LINUXCHECK_VAR", "value") };
    ensure(
        std::env::var("LINUXCHECK_VAR").as_deref() == Ok("value"),
        "set_var/var",
    )?;
    ensure(
        std::env::vars().any(|(k, v)| k == "LINUXCHECK_VAR" && v == "value"),
        "vars() misses a variable",
    )?;
    // SAFETY: as above.
    unsafe { std::env::remove_var("LINUXCHECK_VAR") };
    ensure(std::env::var_os("LINUXCHECK_VAR").is_none(), "remove_var")?;
    let cwd: PathBuf = step("current_dir", std::env::current_dir())?;
    ensure(cwd.is_absolute(), "current_dir is not absolute")?;
    Ok(format!("args {:?}", &args[echoed..]))
}

fn hashmap() -> Result<String, String> {
    let mut m = HashMap::new();
    for i in 0..1000 {
        m.insert(format!("key{i}"), i);
    }
    ensure(m.len() == 1000 && m["key999"] == 999, "HashMap contents")?;
    // RandomState draws random keys: two maps hash differently.
    let hash =
        || std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 1u32);
    ensure(hash() != hash(), "RandomState keys are not random")?;
    Ok("1000 entries, random hash keys".into())
}

/// `std::process::Command`: piped stdin, stdout and stderr, exit codes, a child killed by a
/// signal, environment and working directory for the child, a program that does not exist,
/// and many children in a row.
fn process() -> Result<String, String> {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let me = std::env::args().next().ok_or("no argv[0]")?;
    let mut child = step(
        "spawn --child-echo",
        Command::new(&me)
            .arg("--child-echo")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn(),
    )?;
    let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
    step("write to the child", stdin.write_all(b"hello\n"))?;
    drop(stdin);
    let out = step("wait_with_output", child.wait_with_output())?;
    ensure(
        out.stdout == b"HELLO\n",
        format!("child stdout {:?}", String::from_utf8_lossy(&out.stdout)),
    )?;
    ensure(
        out.stderr == b"child stderr\n",
        format!("child stderr {:?}", String::from_utf8_lossy(&out.stderr)),
    )?;
    ensure(out.status.code() == Some(3), format!("child status {}", out.status))?;

    let status = step(
        "run --child-abort",
        Command::new(&me).arg("--child-abort").stderr(Stdio::null()).status(),
    )?;
    ensure(
        status.code().is_none() && status.signal() == Some(6),
        format!("aborted child: {status}"),
    )?;

    let out = step(
        "run --child-env",
        Command::new(&me)
            .arg("--child-env")
            .env("LINUXCHECK_VAR", "for the child")
            .current_dir("/tmp")
            .output(),
    )?;
    ensure(
        out.stdout == b"LINUXCHECK_VAR=for the child cwd=/tmp\n",
        format!("child env/cwd {:?}", String::from_utf8_lossy(&out.stdout)),
    )?;

    let missing = Command::new("/no/such/program").spawn();
    ensure(
        matches!(&missing, Err(e) if e.kind() == ErrorKind::NotFound),
        format!("spawning a missing program: {:?}", missing.map(|_| ())),
    )?;

    for i in 0..20 {
        let status = step("run --child-exit", Command::new(&me).arg("--child-exit").arg(i.to_string()).status())?;
        ensure(status.code() == Some(i), format!("child {i} status {status}"))?;
    }

    // kill(2) reaches another process: Child::kill sends SIGKILL, wait reports it.
    let mut sleeper = step("spawn --child-sleep", Command::new(&me).arg("--child-sleep").spawn())?;
    step("Child::kill", sleeper.kill())?;
    let status = step("wait for the killed child", sleeper.wait())?;
    ensure(status.signal() == Some(9), format!("killed child: {status}"))?;

    // A child in a process group of its own: the group's id is the child's pid, and
    // kill(-group) reaches it.
    use std::os::unix::process::CommandExt;
    let mut grouped = step(
        "spawn --child-sleep in a new process group",
        Command::new(&me).arg("--child-sleep").process_group(0).spawn(),
    )?;
    let pid = grouped.id() as i32;
    // SAFETY: system calls with integer arguments only.
    let (group, own, sent) = unsafe { (getpgid(pid), getpgrp(), kill(-pid, 15)) };
    ensure(group == pid, format!("getpgid(child {pid}) = {group}"))?;
    ensure(own != pid && own > 0, format!("own group {own} (child {pid})"))?;
    ensure(sent == 0, format!("kill(-{pid}, SIGTERM) = {sent}"))?;
    let status = step("wait for the child's group", grouped.wait())?;
    ensure(status.signal() == Some(15), format!("child of the killed group: {status}"))?;
    Ok("Command with piped stdio, exit codes, a signal, env and cwd, NotFound, 20 children, \
        Child::kill, a child's own process group killed by kill(-pgid)"
        .into())
}

/// `std::net` and `std::os::unix::net` on loopback: TCP echo with threads (several clients,
/// names, shutdown), UDP with addresses and connected, timeouts, refused connections, a port
/// in use, non-blocking sockets, IPv6, Unix streams and datagrams.
fn net() -> Result<String, String> {
    use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
    use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

    let would_block =
        |r: &std::io::Result<usize>| matches!(r, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));

    // TCP: a server thread echoes three clients, each on its own thread, 256 KiB each.
    let listener = step("bind 127.0.0.1:0", TcpListener::bind("127.0.0.1:0"))?;
    let addr = step("local_addr", listener.local_addr())?;
    ensure(addr.port() != 0 && addr.ip().is_loopback(), format!("listener at {addr}"))?;
    let server = std::thread::spawn(move || -> Result<(), String> {
        for _ in 0..3 {
            let (mut conn, peer) = step("accept", listener.accept())?;
            ensure(peer.ip().is_loopback(), format!("peer {peer}"))?;
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
        Ok(())
    });
    let clients: Vec<_> = (0..3u8)
        .map(|k| {
            std::thread::spawn(move || -> Result<(), String> {
                let mut s = step("connect", TcpStream::connect(addr))?;
                step("set_nodelay", s.set_nodelay(true))?;
                ensure(step("nodelay", s.nodelay())?, "nodelay not kept")?;
                ensure(step("peer_addr", s.peer_addr())? == addr, "peer_addr")?;
                let data: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8 ^ k).collect();
                let mut w = step("try_clone", s.try_clone())?;
                let sent = data.clone();
                let writer = std::thread::spawn(move || {
                    let r = w.write_all(&sent);
                    let _ = w.shutdown(Shutdown::Write);
                    r
                });
                let mut back = Vec::new();
                step("read_to_end", s.read_to_end(&mut back))?;
                let written = writer.join().map_err(|_| "writer panicked")?;
                step("write_all", written)?;
                ensure(back == data, format!("client {k}: {} bytes back, not the same", back.len()))
            })
        })
        .collect();
    for c in clients {
        c.join().map_err(|_| "client panicked")??;
    }
    server.join().map_err(|_| "server panicked")??;

    // UDP: addresses both ways, then connected.
    let a = step("bind udp a", UdpSocket::bind("127.0.0.1:0"))?;
    let b = step("bind udp b", UdpSocket::bind("127.0.0.1:0"))?;
    let (a_addr, b_addr) = (step("a addr", a.local_addr())?, step("b addr", b.local_addr())?);
    step("send_to", a.send_to(b"ping", b_addr))?;
    let mut buf = [0u8; 64];
    let (n, from) = step("recv_from", b.recv_from(&mut buf))?;
    ensure(&buf[..n] == b"ping" && from == a_addr, format!("udp got {n} bytes from {from}"))?;
    step("connect udp", b.connect(a_addr))?;
    step("send", b.send(b"pong"))?;
    let n = step("recv", a.recv(&mut buf))?;
    ensure(&buf[..n] == b"pong", "udp reply")?;
    step("send", b.send(b"x"))?;
    ensure(step("peek", a.peek(&mut buf))? == 1, "udp peek")?;

    // Timeouts: a read with nothing to read ends after the timeout.
    let listener = step("bind", TcpListener::bind("127.0.0.1:0"))?;
    let quiet = step("connect", TcpStream::connect(step("local_addr", listener.local_addr())?))?;
    let (_held, _) = step("accept", listener.accept())?;
    step("set_read_timeout", quiet.set_read_timeout(Some(Duration::from_millis(100))))?;
    ensure(
        step("read_timeout", quiet.read_timeout())? == Some(Duration::from_millis(100)),
        "read_timeout not kept",
    )?;
    let start = Instant::now();
    let r = (&quiet).read(&mut buf);
    let waited = start.elapsed();
    ensure(would_block(&r), format!("read with a timeout: {r:?}"))?;
    ensure(
        waited >= Duration::from_millis(90) && waited < Duration::from_secs(5),
        format!("read timed out after {waited:?}"),
    )?;
    step("set_write_timeout", quiet.set_write_timeout(Some(Duration::from_millis(50))))?;
    step("udp set_read_timeout", b.set_read_timeout(Some(Duration::from_millis(50))))?;
    let r = b.recv(&mut buf);
    ensure(would_block(&r), format!("udp recv with a timeout: {r:?}"))?;

    // A closed port refuses (connect_timeout too); a port in use cannot be bound.
    let closed = {
        let l = step("bind", TcpListener::bind("127.0.0.1:0"))?;
        step("local_addr", l.local_addr())?
    };
    let r = TcpStream::connect(closed);
    ensure(
        matches!(&r, Err(e) if e.kind() == ErrorKind::ConnectionRefused),
        format!("connect to a closed port: {:?}", r.map(|_| ())),
    )?;
    let r = TcpStream::connect_timeout(&closed, Duration::from_secs(2));
    ensure(
        matches!(&r, Err(e) if e.kind() == ErrorKind::ConnectionRefused),
        format!("connect_timeout to a closed port: {:?}", r.map(|_| ())),
    )?;
    let l = step("bind", TcpListener::bind("127.0.0.1:0"))?;
    let taken = step("local_addr", l.local_addr())?;
    let r = TcpListener::bind(taken);
    ensure(
        matches!(&r, Err(e) if e.kind() == ErrorKind::AddrInUse),
        format!("binding a port in use: {:?}", r.map(|_| ())),
    )?;

    // Non-blocking: accept and read say WouldBlock instead of waiting.
    step("set_nonblocking listener", l.set_nonblocking(true))?;
    let r = l.accept();
    ensure(
        matches!(&r, Err(e) if e.kind() == ErrorKind::WouldBlock),
        format!("non-blocking accept: {:?}", r.map(|_| ())),
    )?;
    let c = step("connect_timeout", TcpStream::connect_timeout(&taken, Duration::from_secs(2)))?;
    let (mut s, _) = step("non-blocking accept of a queued connection", l.accept())?;
    step("set_nonblocking stream", s.set_nonblocking(true))?;
    let r = s.read(&mut buf);
    ensure(
        matches!(&r, Err(e) if e.kind() == ErrorKind::WouldBlock),
        format!("non-blocking read: {r:?}"),
    )?;
    step("write", (&c).write_all(b"late"))?;
    step("shutdown", c.shutdown(Shutdown::Write))?;
    step("set_nonblocking off", s.set_nonblocking(false))?;
    let mut got = Vec::new();
    step("read_to_end", s.read_to_end(&mut got))?;
    ensure(got == b"late", format!("after shutdown: {got:?}"))?;
    ensure(step("take_error", c.take_error())?.is_none(), "take_error")?;
    step("set_ttl", c.set_ttl(32))?;
    ensure(step("ttl", c.ttl())? == 32, "ttl not kept")?;

    // IPv6 loopback.
    let l6 = step("bind [::1]:0", TcpListener::bind("[::1]:0"))?;
    let a6 = step("local_addr", l6.local_addr())?;
    let mut c6 = step("connect [::1]", TcpStream::connect(a6))?;
    let (mut s6, p6) = step("accept v6", l6.accept())?;
    ensure(matches!(p6, SocketAddr::V6(_)), format!("v6 peer {p6}"))?;
    step("write v6", c6.write_all(b"six"))?;
    let mut three = [0u8; 3];
    step("read v6", s6.read_exact(&mut three))?;
    ensure(&three == b"six", "v6 data")?;

    // Unix domain: a listener on a path, a pair, datagrams.
    let path = std::env::temp_dir().join(format!("linuxcheck.{}.sock", std::process::id()));
    let _ = fs::remove_file(&path);
    let ul = step("UnixListener::bind", UnixListener::bind(&path))?;
    let mut uc = step("UnixStream::connect", UnixStream::connect(&path))?;
    let (mut us, _) = step("unix accept", ul.accept())?;
    step("unix write", uc.write_all(b"unix"))?;
    let mut four = [0u8; 4];
    step("unix read", us.read_exact(&mut four))?;
    ensure(&four == b"unix", "unix data")?;
    drop((uc, us, ul));
    step("remove the socket file", fs::remove_file(&path))?;
    let (mut p, mut q) = step("UnixStream::pair", UnixStream::pair())?;
    step("pair write", p.write_all(b"pair"))?;
    step("pair read", q.read_exact(&mut four))?;
    let (d1, d2) = step("UnixDatagram::pair", UnixDatagram::pair())?;
    step("datagram send", d1.send(b"one"))?;
    step("datagram send", d1.send(b"three"))?;
    let n1 = step("datagram recv", d2.recv(&mut buf))?;
    let n2 = step("datagram recv", d2.recv(&mut buf))?;
    ensure((n1, n2) == (3, 5), format!("datagram sizes {n1}, {n2}"))?;

    Ok("TCP echo of 3 x 256 KiB with threads, UDP, timeouts, refused, in use, non-blocking, \
        IPv6, Unix stream and datagram"
        .into())
}

unsafe extern "C" {
    fn getpgid(pid: i32) -> i32;
    fn getpgrp() -> i32;
    fn kill(pid: i32, signal: i32) -> i32;
}

/// The child modes of the `process` check.
fn child_mode(mode: &str) -> Option<i32> {
    match mode {
        "--child-echo" => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).ok()?;
            print!("{}", input.to_uppercase());
            eprintln!("child stderr");
            Some(3)
        }
        "--child-abort" => std::process::abort(),
        "--child-env" => {
            let var = std::env::var("LINUXCHECK_VAR").unwrap_or_default();
            let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
            println!("LINUXCHECK_VAR={var} cwd={cwd}");
            Some(0)
        }
        "--child-exit" => std::env::args().nth(2)?.parse().ok(),
        "--child-sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(30));
            Some(0)
        }
        _ => None,
    }
}

fn main() {
    let first = std::env::args().nth(1);
    if let Some(code) = first.as_deref().and_then(child_mode) {
        std::process::exit(code);
    }
    if first.as_deref() == Some("--lines") {
        // Reads standard input line by line as a program reading a terminal does, echoing
        // each line back with its number, until end of file.
        let mut n = 0;
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            n += 1;
            println!("line {n}: {line:?}");
        }
        println!("linuxcheck: {n} lines");
        std::process::exit(0);
    }
    if first.as_deref() == Some("--cpus") {
        // What std reports for sizing thread pools.
        match std::thread::available_parallelism() {
            Ok(n) => println!("available_parallelism: {n}"),
            Err(e) => println!("available_parallelism: {e}"),
        }
        std::process::exit(0);
    }
    if first.as_deref() == Some("--panic") {
        // An uncaught panic: std prints it and the process exits with status 101.
        panic!("linuxcheck: deliberate panic");
    }
    let selected: Vec<&(&str, Check)> = match CHECKS
        .iter()
        .find(|(name, _)| Some(*name) == first.as_deref())
    {
        Some(check) => vec![check],
        None => CHECKS.iter().collect(),
    };
    let mut failed = 0;
    for (name, check) in &selected {
        match check() {
            Ok(detail) => println!("{name:8} ok ({detail})"),
            Err(why) => {
                failed += 1;
                println!("{name:8} FAILED: {why}");
            }
        }
    }
    println!(
        "linuxcheck: {} passed, {failed} failed",
        selected.len() - failed
    );
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
