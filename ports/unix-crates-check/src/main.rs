//! Smoke tests of the crates.io crates that have only Unix (or Windows) backends, one per
//! crate: the crates that did not build for the old Hermit target and now build for the
//! Linux-ABI target as they are. Each check prints one line, `NAME ok (...)`,
//! `NAME FAILED: why` or `NAME skipped: reason`, then `unix-crates-check: N passed, N failed,
//! N skipped`; the exit status is 0 only if nothing failed.
//!
//! Skipped means "needs sockets, and `socket()` said ENOSYS": the OS has no sockets yet. Any
//! other socket error is a failure. On a Linux host every check passes.
//!
//! `unix-crates-check NAME...` runs only the named checks (handy with `THESEUS_STRACE=1`).
//! Files go to `/tmp/unix-crates-check.PID` (`/tmp` must exist), removed at the end. The file
//! lock checks run the program again (`--lock-child CRATE KIND PATH`, found through argv[0]
//! and `PATH`) as the other process that contends for the lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Cursor, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one check found.
enum Outcome {
    Ok(String),
    Failed(String),
    Skipped(String),
}

type Check = fn(&Path) -> Result<Outcome, String>;

/// Every check: the crate's name and its test.
const CHECKS: &[(&str, Check)] = &[
    ("dirs", check_dirs),
    ("home", check_home),
    ("rustix", check_rustix),
    ("nix", check_nix),
    ("libc", check_libc),
    ("fs2", check_fs2),
    ("fd-lock", check_fd_lock),
    ("fs4", check_fs4),
    ("filetime", check_filetime),
    ("tar", check_tar),
    ("console", check_console),
    ("indicatif", check_indicatif),
    ("dialoguer", check_dialoguer),
    ("crossterm", check_crossterm),
    ("ctrlc", check_ctrlc),
    ("socket2", check_socket2),
    ("tokio-net", check_tokio_net),
    ("reqwest", check_reqwest),
];

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.into()) }
}

/// `context: error` for `map_err`.
fn ctx<E: std::fmt::Display>(context: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{context}: {e}")
}

fn errno_name(code: i32) -> &'static str {
    match code {
        libc::ENOSYS => "ENOSYS",
        libc::EINVAL => "EINVAL",
        libc::EBADF => "EBADF",
        libc::ENOTTY => "ENOTTY",
        libc::ENOENT => "ENOENT",
        libc::EWOULDBLOCK => "EWOULDBLOCK",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        _ => "errno",
    }
}

/// An `io::Error` with its errno's name, e.g. `ENOSYS (Function not implemented (os error 38))`.
fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => format!("{} ({e})", errno_name(code)),
        None => e.to_string(),
    }
}

/// The outcome of a socket operation that failed: skipped for ENOSYS (no sockets in the OS
/// yet), a failure for anything else.
fn socket_error(what: &str, e: &io::Error) -> Outcome {
    if e.raw_os_error() == Some(libc::ENOSYS) {
        Outcome::Skipped(format!(
            "{what}: {}: sockets are not implemented",
            describe(e)
        ))
    } else {
        Outcome::Failed(format!("{what}: {}", describe(e)))
    }
}

// --- home directories -------------------------------------------------------------------

fn home_var() -> Result<PathBuf, String> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| "HOME is not set".to_string())
}

fn check_dirs(_: &Path) -> Result<Outcome, String> {
    let want = home_var()?;
    let got = dirs::home_dir().ok_or("home_dir() is None")?;
    ensure(got == want, format!("home_dir() {got:?}, HOME {want:?}"))?;
    // XDG defaults are relative to the home directory when their variables are unset.
    let config = dirs::config_dir().ok_or("config_dir() is None")?;
    ensure(
        config.starts_with(&want) || std::env::var_os("XDG_CONFIG_HOME").is_some(),
        format!("config_dir() {config:?}"),
    )?;
    Ok(Outcome::Ok(format!(
        "home_dir {}, config_dir {}",
        got.display(),
        config.display()
    )))
}

fn check_home(_: &Path) -> Result<Outcome, String> {
    let want = home_var()?;
    let got = home::home_dir().ok_or("home_dir() is None")?;
    ensure(got == want, format!("home_dir() {got:?}, HOME {want:?}"))?;
    Ok(Outcome::Ok(format!("home_dir {}", got.display())))
}

// --- system-call wrappers ---------------------------------------------------------------

fn check_rustix(dir: &Path) -> Result<Outcome, String> {
    use rustix::fs::{Mode, OFlags};
    let a = dir.join("rustix-a");
    let b = dir.join("rustix-b");
    let fd = rustix::fs::open(
        &a,
        OFlags::CREATE | OFlags::WRONLY | OFlags::TRUNC | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .map_err(ctx("open"))?;
    let n = rustix::io::write(&fd, b"rustix bytes").map_err(ctx("write"))?;
    ensure(n == 12, format!("wrote {n} of 12 bytes"))?;
    let st = rustix::fs::fstat(&fd).map_err(ctx("fstat"))?;
    ensure(st.st_size == 12, format!("fstat size {}", st.st_size))?;
    drop(fd);
    rustix::fs::rename(&a, &b).map_err(ctx("rename"))?;
    let st = rustix::fs::stat(&b).map_err(ctx("stat"))?;
    ensure(
        st.st_size == 12 && rustix::fs::FileType::from_raw_mode(st.st_mode).is_file(),
        "stat of the renamed file",
    )?;
    match rustix::fs::stat(&a) {
        Err(rustix::io::Errno::NOENT) => {}
        other => return Err(format!("stat of the old name: {other:?}, not ENOENT")),
    }
    let pid = rustix::process::getpid();
    ensure(
        pid.as_raw_nonzero().get() as u32 == std::process::id(),
        "getpid differs from std::process::id",
    )?;
    rustix::fs::unlink(&b).map_err(ctx("unlink"))?;
    Ok(Outcome::Ok(format!(
        "open/write/fstat/rename/stat/unlink, getpid {}",
        pid.as_raw_nonzero()
    )))
}

fn check_nix(dir: &Path) -> Result<Outcome, String> {
    use nix::unistd;
    let pid = unistd::getpid();
    ensure(
        pid.as_raw() as u32 == std::process::id(),
        "getpid differs from std::process::id",
    )?;
    let (r, w) = unistd::pipe().map_err(ctx("pipe"))?;
    let n = unistd::write(&w, b"through a pipe").map_err(ctx("write"))?;
    ensure(n == 14, format!("wrote {n} of 14 bytes"))?;
    drop(w);
    let mut buf = [0u8; 32];
    let n = unistd::read(&r, &mut buf).map_err(ctx("read"))?;
    ensure(&buf[..n] == b"through a pipe", "read back from the pipe")?;
    let n = unistd::read(&r, &mut buf).map_err(ctx("read at EOF"))?;
    ensure(n == 0, "no EOF after the writer closed")?;
    let path = dir.join("nix-file");
    fs::write(&path, "0123456789").map_err(ctx("write file"))?;
    let st = nix::sys::stat::stat(&path).map_err(ctx("stat"))?;
    ensure(st.st_size == 10, format!("stat size {}", st.st_size))?;
    ensure(
        st.st_mode & libc::S_IFMT == libc::S_IFREG,
        "stat: not a regular file",
    )?;
    let file = File::open(&path).map_err(ctx("open"))?;
    let fst = nix::sys::stat::fstat(&file).map_err(ctx("fstat"))?;
    ensure(fst.st_ino == st.st_ino, "fstat and stat differ")?;
    match nix::sys::stat::stat(&dir.join("missing")) {
        Err(nix::errno::Errno::ENOENT) => {}
        other => return Err(format!("stat of a missing file: {other:?}, not ENOENT")),
    }
    Ok(Outcome::Ok(format!(
        "getpid {pid}, pipe/write/read/EOF, stat/fstat, ENOENT"
    )))
}

fn check_libc(_: &Path) -> Result<Outcome, String> {
    // SAFETY: plain system calls on this thread's own buffers and descriptors.
    unsafe {
        let pid = libc::getpid();
        ensure(pid as u32 == std::process::id(), "getpid")?;
        let mut t0: libc::timespec = std::mem::zeroed();
        let mut t1: libc::timespec = std::mem::zeroed();
        ensure(
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t0) == 0,
            format!("clock_gettime: {}", describe(&io::Error::last_os_error())),
        )?;
        std::thread::sleep(Duration::from_millis(10));
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t1);
        let ns = (t1.tv_sec - t0.tv_sec) as i64 * 1_000_000_000 + (t1.tv_nsec - t0.tv_nsec) as i64;
        ensure(
            ns >= 10_000_000,
            format!("monotonic clock advanced {ns} ns over a 10 ms sleep"),
        )?;
        let mut rt: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut rt);
        ensure(
            rt.tv_sec > 1_600_000_000,
            format!("realtime {} s", rt.tv_sec),
        )?;
        let mut fds = [0; 2];
        ensure(libc::pipe(fds.as_mut_ptr()) == 0, "pipe")?;
        let msg = b"raw write";
        let n = libc::write(fds[1], msg.as_ptr().cast(), msg.len());
        ensure(n == msg.len() as isize, format!("write returned {n}"))?;
        let mut buf = [0u8; 16];
        let n = libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len());
        ensure(
            n == msg.len() as isize && &buf[..msg.len()] == msg,
            "read back",
        )?;
        libc::close(fds[0]);
        libc::close(fds[1]);
        let n = libc::write(-1, msg.as_ptr().cast(), msg.len());
        let err = io::Error::last_os_error();
        ensure(
            n == -1 && err.raw_os_error() == Some(libc::EBADF),
            format!("write(-1): {n}, {}", describe(&err)),
        )?;
        Ok(Outcome::Ok(format!(
            "getpid {pid}, clock_gettime (slept {} ms), pipe/write/read, EBADF",
            ns / 1_000_000
        )))
    }
}

// --- file locks and times ---------------------------------------------------------------

fn open_rw(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| format!("open {}: {}", path.display(), describe(&e)))
}

/// How a lock request made in another process ended.
#[derive(Debug, PartialEq, Eq)]
enum Contender {
    Acquired,
    WouldBlock,
}

/// The `--lock-child` exit status for "would block".
const CHILD_WOULD_BLOCK: i32 = 3;

/// Runs this program again as `--lock-child CRATE KIND PATH`: another process that asks
/// `krate` for a non-blocking `kind` (`shared` or `exclusive`) lock on `path`.
fn lock_in_child(krate: &str, kind: &str, path: &Path) -> Result<Contender, String> {
    // argv[0]: found on PATH like the shell found it (there may be no /proc/self/exe).
    let me = std::env::args_os()
        .next()
        .ok_or("no argv[0] to run a second process")?;
    let output = std::process::Command::new(&me)
        .args(["--lock-child", krate, kind])
        .arg(path)
        .output()
        .map_err(|e| format!("running {me:?} --lock-child: {}", describe(&e)))?;
    match output.status.code() {
        Some(0) => Ok(Contender::Acquired),
        Some(CHILD_WOULD_BLOCK) => Ok(Contender::WouldBlock),
        _ => Err(format!(
            "the {kind} lock in another process: {} {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// Expects `want` from a `kind` lock request by another process.
fn contend(
    krate: &str,
    kind: &str,
    path: &Path,
    want: Contender,
    when: &str,
) -> Result<(), String> {
    let got = lock_in_child(krate, kind, path)?;
    ensure(
        got == want,
        format!("another process's {kind} lock {when}: {got:?}, not {want:?}"),
    )
}

/// `--lock-child CRATE KIND PATH`: takes the lock without blocking and exits 0, or
/// [`CHILD_WOULD_BLOCK`], or 1 with the error on stderr.
fn lock_child(args: &[String]) -> ! {
    let [krate, kind, path] = args else {
        eprintln!("usage: unix-crates-check --lock-child CRATE shared|exclusive PATH");
        std::process::exit(2);
    };
    let exclusive = kind == "exclusive";
    let file = match open_rw(Path::new(path)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let result: io::Result<()> = match krate.as_str() {
        "fs2" if exclusive => fs2::FileExt::try_lock_exclusive(&file),
        "fs2" => fs2::FileExt::try_lock_shared(&file),
        "fs4" if exclusive => fs4::FileExt::try_lock(&file).map_err(io::Error::from),
        "fs4" => fs4::FileExt::try_lock_shared(&file).map_err(io::Error::from),
        "fd-lock" => {
            let mut lock = fd_lock::RwLock::new(file);
            if exclusive {
                lock.try_write().map(drop)
            } else {
                lock.try_read().map(drop)
            }
        }
        _ => {
            eprintln!("--lock-child: unknown crate {krate}");
            std::process::exit(2);
        }
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock
                || e.raw_os_error() == fs2::lock_contended_error().raw_os_error() =>
        {
            std::process::exit(CHILD_WOULD_BLOCK)
        }
        Err(e) => {
            eprintln!("{krate} {kind} lock: {}", describe(&e));
            std::process::exit(1);
        }
    }
}

fn check_fs2(dir: &Path) -> Result<Outcome, String> {
    use Contender::{Acquired, WouldBlock};
    use fs2::FileExt;
    let path = dir.join("fs2.lock");
    let a = open_rw(&path)?;
    FileExt::try_lock_exclusive(&a).map_err(|e| format!("try_lock_exclusive: {}", describe(&e)))?;
    contend(
        "fs2",
        "exclusive",
        &path,
        WouldBlock,
        "over our exclusive one",
    )?;
    contend("fs2", "shared", &path, WouldBlock, "over our exclusive one")?;
    FileExt::unlock(&a).map_err(|e| format!("unlock: {}", describe(&e)))?;
    contend("fs2", "exclusive", &path, Acquired, "after our unlock")?;
    FileExt::lock_shared(&a).map_err(|e| format!("lock_shared: {}", describe(&e)))?;
    contend("fs2", "shared", &path, Acquired, "next to our shared one")?;
    contend("fs2", "exclusive", &path, WouldBlock, "over our shared one")?;
    FileExt::unlock(&a).map_err(|e| format!("unlock: {}", describe(&e)))?;
    // flock locks belong to open file descriptions: a second descriptor of the same file in
    // this process conflicts, a duplicate shares the lock, and closing the last descriptor of
    // the description releases it.
    FileExt::lock_exclusive(&a).map_err(|e| format!("lock_exclusive: {}", describe(&e)))?;
    let b = open_rw(&path)?;
    match FileExt::try_lock_exclusive(&b) {
        Err(e) if e.raw_os_error() == fs2::lock_contended_error().raw_os_error() => {}
        Ok(()) => return Err("a second open of the file got the exclusive lock too".into()),
        Err(e) => return Err(format!("second open's try_lock: {}", describe(&e))),
    }
    let dup = a.try_clone().map_err(|e| format!("dup: {}", describe(&e)))?;
    FileExt::try_lock_exclusive(&dup)
        .map_err(|e| format!("a duplicate's try_lock: {}", describe(&e)))?;
    drop(a);
    if FileExt::try_lock_exclusive(&b).is_ok() {
        return Err("the lock went with one of two descriptors of its description".into());
    }
    drop(dup);
    FileExt::try_lock_exclusive(&b).map_err(|e| {
        format!(
            "the lock stayed after its description was closed: {}",
            describe(&e)
        )
    })?;
    FileExt::unlock(&b).map_err(|e| format!("unlock: {}", describe(&e)))?;
    Ok(Outcome::Ok(
        "exclusive/shared locks against another process, unlocks; per open file description \
         (a second open conflicts, a dup shares, the last close releases)"
            .into(),
    ))
}

fn check_fd_lock(dir: &Path) -> Result<Outcome, String> {
    use Contender::{Acquired, WouldBlock};
    let path = dir.join("fd-lock.lock");
    let mut lock = fd_lock::RwLock::new(open_rw(&path)?);
    {
        let mut guard = lock
            .try_write()
            .map_err(|e| format!("try_write: {}", describe(&e)))?;
        guard
            .write_all(b"locked")
            .map_err(ctx("write under the lock"))?;
        contend(
            "fd-lock",
            "exclusive",
            &path,
            WouldBlock,
            "over our write lock",
        )?;
        contend(
            "fd-lock",
            "shared",
            &path,
            WouldBlock,
            "over our write lock",
        )?;
    }
    contend(
        "fd-lock",
        "exclusive",
        &path,
        Acquired,
        "after our guard's drop",
    )?;
    {
        let _guard = lock
            .try_read()
            .map_err(|e| format!("try_read: {}", describe(&e)))?;
        contend(
            "fd-lock",
            "shared",
            &path,
            Acquired,
            "next to our read lock",
        )?;
        contend(
            "fd-lock",
            "exclusive",
            &path,
            WouldBlock,
            "over our read lock",
        )?;
    }
    let _guard = lock
        .write()
        .map_err(|e| format!("write(): {}", describe(&e)))?;
    Ok(Outcome::Ok(
        "write/read guards against another process, released on drop".into(),
    ))
}

fn check_fs4(dir: &Path) -> Result<Outcome, String> {
    use Contender::{Acquired, WouldBlock};
    use fs4::FileExt;
    let path = dir.join("fs4.lock");
    let a = open_rw(&path)?;
    FileExt::lock_shared(&a).map_err(|e| format!("lock_shared: {}", describe(&e)))?;
    contend("fs4", "shared", &path, Acquired, "next to our shared one")?;
    contend("fs4", "exclusive", &path, WouldBlock, "over our shared one")?;
    FileExt::unlock(&a).map_err(|e| format!("unlock: {}", describe(&e)))?;
    contend("fs4", "exclusive", &path, Acquired, "after our unlock")?;
    FileExt::try_lock(&a).map_err(|e| format!("try_lock: {e}"))?;
    contend("fs4", "shared", &path, WouldBlock, "over our exclusive one")?;
    FileExt::allocate(&a, 4096).map_err(|e| format!("allocate: {}", describe(&e)))?;
    let len = a.metadata().map_err(ctx("metadata"))?.len();
    ensure(
        len >= 4096,
        format!("allocate(4096) left the length at {len}"),
    )?;
    FileExt::unlock(&a).map_err(|e| format!("unlock: {}", describe(&e)))?;
    Ok(Outcome::Ok(
        "shared/exclusive locks against another process, allocate 4096".into(),
    ))
}

fn check_filetime(dir: &Path) -> Result<Outcome, String> {
    use filetime::FileTime;
    let path = dir.join("filetime-file");
    fs::write(&path, "times").map_err(ctx("write"))?;
    let mtime = FileTime::from_unix_time(1_000_000_000, 123_456_000);
    filetime::set_file_mtime(&path, mtime)
        .map_err(|e| format!("set_file_mtime: {}", describe(&e)))?;
    let meta = fs::metadata(&path).map_err(ctx("metadata"))?;
    let got = FileTime::from_last_modification_time(&meta);
    ensure(got == mtime, format!("mtime {got}, set {mtime}"))?;
    let atime = FileTime::from_unix_time(1_100_000_000, 0);
    let mtime2 = FileTime::from_unix_time(1_200_000_000, 500_000_000);
    let file = File::options()
        .write(true)
        .open(&path)
        .map_err(ctx("open"))?;
    filetime::set_file_handle_times(&file, Some(atime), Some(mtime2))
        .map_err(|e| format!("set_file_handle_times: {}", describe(&e)))?;
    let meta = fs::metadata(&path).map_err(ctx("metadata"))?;
    let (got_a, got_m) = (
        FileTime::from_last_access_time(&meta),
        FileTime::from_last_modification_time(&meta),
    );
    ensure(
        got_a == atime && got_m == mtime2,
        format!("after set_file_handle_times: atime {got_a} mtime {got_m}"),
    )?;
    Ok(Outcome::Ok(format!(
        "set_file_mtime {mtime}, set_file_handle_times atime {atime} mtime {mtime2}"
    )))
}

fn check_tar(dir: &Path) -> Result<Outcome, String> {
    let files: [(&str, &[u8]); 3] = [
        ("top/a.txt", b"first file\n"),
        ("top/sub/b.bin", &[0u8, 1, 2, 255, 254]),
        ("top/empty", b""),
    ];
    let mut builder = tar::Builder::new(Vec::new());
    for (i, (name, data)) in files.iter().enumerate() {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o640);
        header.set_mtime(1_000_000_000 + i as u64);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *data)
            .map_err(ctx("append_data"))?;
    }
    let bytes = builder.into_inner().map_err(ctx("finish"))?;
    ensure(bytes.len() % 512 == 0, "archive not in 512-byte blocks")?;

    // Read it back from memory.
    let mut archive = tar::Archive::new(Cursor::new(&bytes));
    let mut seen = 0;
    for (i, entry) in archive.entries().map_err(ctx("entries"))?.enumerate() {
        let mut entry = entry.map_err(ctx("entry"))?;
        let path = entry.path().map_err(ctx("path"))?.into_owned();
        let (name, data) = files.get(i).ok_or("more entries than files")?;
        ensure(
            path == Path::new(name),
            format!("entry {i} is {}", path.display()),
        )?;
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(ctx("read entry"))?;
        ensure(content == *data, format!("content of {name}"))?;
        ensure(
            entry.header().mtime().ok() == Some(1_000_000_000 + i as u64),
            format!("mtime of {name}"),
        )?;
        seen += 1;
    }
    ensure(seen == files.len(), format!("{seen} entries"))?;

    // Unpack it into a directory: files, directories, modes and mtimes (through filetime).
    let out = dir.join("tar-out");
    tar::Archive::new(Cursor::new(&bytes))
        .unpack(&out)
        .map_err(|e| format!("unpack: {e}"))?;
    let a = out.join("top/a.txt");
    ensure(
        fs::read(&a).ok().as_deref() == Some(&b"first file\n"[..]),
        "unpacked a.txt",
    )?;
    let meta = fs::metadata(&a).map_err(ctx("metadata"))?;
    let mtime = filetime::FileTime::from_last_modification_time(&meta);
    ensure(
        mtime.unix_seconds() == 1_000_000_000,
        format!("unpacked mtime {mtime}"),
    )?;
    ensure(
        fs::read(out.join("top/sub/b.bin")).ok().as_deref() == Some(&[0u8, 1, 2, 255, 254][..]),
        "unpacked b.bin",
    )?;
    Ok(Outcome::Ok(format!(
        "{} entries, {} bytes in memory, read back and unpacked with mtimes",
        files.len(),
        bytes.len()
    )))
}

// --- terminals --------------------------------------------------------------------------

/// Whether fd 1 is a terminal, as libc says.
fn stdout_isatty() -> bool {
    // SAFETY: isatty only reads the descriptor's state.
    unsafe { libc::isatty(io::stdout().as_raw_fd()) == 1 }
}

fn check_console(_: &Path) -> Result<Outcome, String> {
    let term = console::Term::stdout();
    let tty = stdout_isatty();
    ensure(
        term.is_term() == tty,
        format!("is_term() {} but isatty(1) {tty}", term.is_term()),
    )?;
    let checked = term.size_checked();
    let (rows, cols) = term.size();
    if tty {
        let (r, c) = checked.ok_or("a terminal without a size")?;
        ensure((r, c) == (rows, cols), "size() differs from size_checked()")?;
        Ok(Outcome::Ok(format!("stdout is a terminal, {rows}x{cols}")))
    } else {
        ensure(
            checked.is_none(),
            format!("size_checked() {checked:?} on a non-terminal"),
        )?;
        ensure(
            !console::colors_enabled(),
            "colors enabled on a non-terminal",
        )?;
        Ok(Outcome::Ok(format!(
            "stdout is not a terminal, size() defaults to {rows}x{cols}, no colors"
        )))
    }
}

fn check_indicatif(_: &Path) -> Result<Outcome, String> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::hidden());
    let style =
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").map_err(ctx("template"))?;
    bar.set_style(style);
    ensure(bar.is_hidden(), "hidden bar is not hidden")?;
    for _ in 0..10 {
        bar.inc(100);
    }
    bar.set_message("done");
    ensure(
        bar.position() == 1000,
        format!("position {}", bar.position()),
    )?;
    bar.finish();
    ensure(bar.is_finished(), "not finished")?;
    Ok(Outcome::Ok(format!(
        "hidden bar to {}/{}, finished",
        bar.position(),
        bar.length().unwrap_or(0)
    )))
}

fn check_dialoguer(_: &Path) -> Result<Outcome, String> {
    use dialoguer::theme::ColorfulTheme;
    let theme = ColorfulTheme::default();
    let _confirm = dialoguer::Confirm::with_theme(&theme)
        .with_prompt("Continue?")
        .default(true);
    let _input = dialoguer::Input::<String>::new()
        .with_prompt("Name")
        .default("theseus".to_string());
    let _select = dialoguer::Select::new()
        .with_prompt("Pick one")
        .items(["a", "b", "c"])
        .default(1);
    Ok(Outcome::Ok(
        "Confirm, Input and Select built (not shown: no interaction)".into(),
    ))
}

fn check_crossterm(_: &Path) -> Result<Outcome, String> {
    use crossterm::tty::IsTty;
    let tty = io::stdout().is_tty();
    ensure(tty == stdout_isatty(), "is_tty() differs from isatty(1)")?;
    let what = if tty { "a terminal" } else { "not a terminal" };
    // Without a terminal crossterm tries /dev/tty, then fd 1, then runs `tput`: any answer
    // is fine as long as it comes back.
    Ok(Outcome::Ok(match crossterm::terminal::size() {
        Ok((cols, rows)) => format!("stdout is {what}; terminal::size() = {cols}x{rows}"),
        Err(e) => format!("stdout is {what}; terminal::size() fails: {}", describe(&e)),
    }))
}

// --- signals ----------------------------------------------------------------------------

fn check_ctrlc(_: &Path) -> Result<Outcome, String> {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    ctrlc::set_handler(move || {
        seen.fetch_add(1, Ordering::SeqCst);
    })
    .map_err(ctx("set_handler"))?;
    let wait_for = |n: usize| {
        let start = Instant::now();
        while calls.load(Ordering::SeqCst) < n && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        calls.load(Ordering::SeqCst)
    };
    for round in 1..=2 {
        // SAFETY: raise only sends SIGINT to this thread; the handler ctrlc installed runs.
        let rc = unsafe { libc::raise(libc::SIGINT) };
        ensure(
            rc == 0,
            format!("raise(SIGINT): {}", describe(&io::Error::last_os_error())),
        )?;
        let got = wait_for(round);
        ensure(
            got == round,
            format!("after raise #{round} the handler ran {got} times in 5 s"),
        )?;
    }
    Ok(Outcome::Ok(
        "handler ran once per raise(SIGINT), twice, on ctrlc's thread".into(),
    ))
}

// --- sockets ----------------------------------------------------------------------------

fn loopback() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
}

fn check_socket2(_: &Path) -> Result<Outcome, String> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let listener = match Socket::new(Domain::IPV4, Type::STREAM, None) {
        Ok(s) => s,
        Err(e) => return Ok(socket_error("socket(AF_INET, SOCK_STREAM)", &e)),
    };
    listener
        .set_reuse_address(true)
        .map_err(ctx("SO_REUSEADDR"))?;
    listener
        .bind(&SockAddr::from(loopback()))
        .map_err(|e| format!("bind: {}", describe(&e)))?;
    listener
        .listen(4)
        .map_err(|e| format!("listen: {}", describe(&e)))?;
    let addr = listener
        .local_addr()
        .map_err(ctx("local_addr"))?
        .as_socket()
        .ok_or("local_addr is not an IP address")?;
    let client = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(ctx("client socket"))?;
    client
        .connect(&SockAddr::from(addr))
        .map_err(|e| format!("connect: {}", describe(&e)))?;
    let (mut server, _) = listener
        .accept()
        .map_err(|e| format!("accept: {}", describe(&e)))?;
    (&client).write_all(b"ping").map_err(ctx("send"))?;
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).map_err(ctx("recv"))?;
    ensure(&buf == b"ping", "received other bytes")?;
    Ok(Outcome::Ok(format!(
        "bind/listen/connect/accept on {addr}, 4 bytes across"
    )))
}

fn check_tokio_net(_: &Path) -> Result<Outcome, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("runtime with I/O (epoll, eventfd): {}", describe(&e)))?;
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(loopback()).await {
            Ok(l) => l,
            Err(e) => return Ok(socket_error("TcpListener::bind", &e)),
        };
        let addr = listener.local_addr().map_err(ctx("local_addr"))?;
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = [0u8; 5];
            stream.read_exact(&mut buf).await?;
            stream.write_all(&buf).await?;
            io::Result::Ok(())
        });
        let mut client =
            tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
                .await
                .map_err(ctx("connect timed out"))?
                .map_err(|e| format!("connect: {}", describe(&e)))?;
        client.write_all(b"hello").await.map_err(ctx("write"))?;
        let mut buf = [0u8; 5];
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut buf))
            .await
            .map_err(ctx("echo timed out"))?
            .map_err(ctx("read"))?;
        ensure(&buf == b"hello", "echo differs")?;
        server
            .await
            .map_err(ctx("server task"))?
            .map_err(ctx("server"))?;
        Ok(Outcome::Ok(format!(
            "echo over {addr} on a current-thread runtime"
        )))
    })
}

/// The first `io::Error` in an error's source chain.
fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// One HTTP/1.1 response on `listener` to whatever request comes.
fn serve_once(listener: TcpListener) -> io::Result<String> {
    let (mut stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let body = "hello from the loopback";
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let request = String::from_utf8_lossy(&request);
    Ok(request.lines().next().unwrap_or_default().to_string())
}

fn check_reqwest(_: &Path) -> Result<Outcome, String> {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(ctx("Client::build"))?;
    let listener = match TcpListener::bind(loopback()) {
        Ok(l) => l,
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            // No server possible: the request itself must fail at socket() with ENOSYS.
            let err = match client.get("http://127.0.0.1:9/").send() {
                Ok(r) => return Err(format!("a request without sockets answered {}", r.status())),
                Err(err) => err,
            };
            return Ok(match io_cause(&err) {
                Some(io) => socket_error("GET http://127.0.0.1:9/ (connect)", io),
                None => Outcome::Failed(format!("GET failed without an io::Error: {err:?}")),
            });
        }
        Err(e) => {
            return Ok(Outcome::Failed(format!(
                "TcpListener::bind: {}",
                describe(&e)
            )));
        }
    };
    let addr = listener.local_addr().map_err(ctx("local_addr"))?;
    let server = std::thread::spawn(move || serve_once(listener));
    let url = format!("http://{addr}/check?x=1");
    let response = client
        .get(&url)
        .send()
        .map_err(|e| format!("GET {url}: {e:?}"))?;
    let status = response.status();
    let body = response.text().map_err(ctx("body"))?;
    let request_line = server
        .join()
        .map_err(|_| "server thread panicked".to_string())?
        .map_err(ctx("server"))?;
    ensure(status.as_u16() == 200, format!("status {status}"))?;
    ensure(body == "hello from the loopback", format!("body {body:?}"))?;
    ensure(
        request_line == "GET /check?x=1 HTTP/1.1",
        format!("request line {request_line:?}"),
    )?;
    Ok(Outcome::Ok(format!(
        "blocking GET {url}: {status}, {} bytes",
        body.len()
    )))
}

// --- driver -----------------------------------------------------------------------------

fn main() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    if only.first().map(String::as_str) == Some("--lock-child") {
        lock_child(&only[1..]);
    }
    for name in &only {
        if !CHECKS.iter().any(|(n, _)| n == name) {
            let names: Vec<&str> = CHECKS.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "unix-crates-check: no check {name:?}; checks: {}",
                names.join(" ")
            );
            std::process::exit(2);
        }
    }
    let dir = std::env::temp_dir().join(format!("unix-crates-check.{}", std::process::id()));
    if let Err(e) = fs::create_dir_all(&dir) {
        eprintln!("unix-crates-check: cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, check) in CHECKS {
        if !only.is_empty() && !only.iter().any(|n| n == name) {
            continue;
        }
        let outcome = match std::panic::catch_unwind(|| check(&dir)) {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(why)) => Outcome::Failed(why),
            Err(_) => Outcome::Failed("panicked".into()),
        };
        match outcome {
            Outcome::Ok(what) => {
                passed += 1;
                println!("{name} ok ({what})");
            }
            Outcome::Failed(why) => {
                failed += 1;
                println!("{name} FAILED: {why}");
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                println!("{name} skipped: {why}");
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
    println!("unix-crates-check: {passed} passed, {failed} failed, {skipped} skipped");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
