//! `tempfile` on this OS: temporary directories and named temporary files in `/tmp`
//! (`std::env::temp_dir()` on Hermit; `/tmp` must exist), written, read back and removed on
//! drop, plus a `SpooledTempFile`. Prints `tempfile-check: ok (...)` and exits 0, or what
//! failed and exits 1.
//!
//! Known limits here (see ports/README.md), checked to fail exactly as documented so a
//! change is noticed: `tempfile` has no Hermit backend, so `NamedTempFile::new`, `tempfile()`,
//! `reopen`, `persist` and `keep` return "operation not supported on this platform" (named
//! files still work through `Builder::make`); removing a `TempDir` (drop, `close`) needs
//! `std::fs::remove_dir_all`, which std's Hermit backend does not implement.

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tempfile::{Builder, NamedTempFile, SpooledTempFile, TempDir};

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.into()) }
}

/// An error is the documented limitation of tempfile's fallback backend.
fn is_platform_unsupported(e: &std::io::Error) -> bool {
    e.to_string()
        .contains("operation not supported on this platform")
}

/// The names in `dir`. std's Hermit `read_dir` fails on an empty directory with "os error 0"
/// (see ports/README.md): that is an empty list here.
fn names_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    match fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.map(|e| e.path())).collect(),
        Err(e) if e.raw_os_error() == Some(0) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Removes an (unnested) directory by hand.
fn remove_flat_dir(dir: &Path) -> std::io::Result<()> {
    for p in names_in(dir)? {
        fs::remove_file(p)?;
    }
    fs::remove_dir(dir)
}

fn run() -> Result<String, String> {
    let tmp = std::env::temp_dir();
    ensure(
        tmp == Path::new("/tmp"),
        format!("temp_dir() is {}", tmp.display()),
    )?;
    ensure(
        tempfile::env::temp_dir() == tmp,
        "tempfile::env::temp_dir differs from std's",
    )?;
    let mut notes = Vec::new();

    // Temporary directories: unique names with our prefix, usable for files.
    let d1 = Builder::new()
        .prefix("tc-")
        .suffix(".d")
        .tempdir()
        .map_err(|e| format!("tempdir: {e}"))?;
    let d2 = TempDir::new().map_err(|e| format!("TempDir::new: {e}"))?;
    let name = d1
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    ensure(
        d1.path().starts_with(&tmp) && name.starts_with("tc-") && name.ends_with(".d"),
        format!("tempdir name {name}"),
    )?;
    ensure(
        d1.path() != d2.path() && d1.path().is_dir() && d2.path().is_dir(),
        "two temp dirs",
    )?;
    let inner = d1.path().join("data.txt");
    fs::write(&inner, "inside a temp dir").map_err(|e| format!("write in temp dir: {e}"))?;
    ensure(
        fs::read_to_string(&inner).ok().as_deref() == Some("inside a temp dir"),
        "read in temp dir",
    )?;

    // Named temporary files through Builder::make: created exclusively, removed on drop.
    let mut f = Builder::new()
        .prefix("note-")
        .suffix(".txt")
        .make_in(d1.path(), |p| {
            File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(p)
        })
        .map_err(|e| format!("Builder::make_in: {e}"))?;
    writeln!(f, "line one")
        .and_then(|_| writeln!(f, "line two"))
        .map_err(|e| format!("write: {e}"))?;
    f.as_file_mut()
        .seek(SeekFrom::Start(0))
        .map_err(|e| format!("seek: {e}"))?;
    let mut s = String::new();
    f.read_to_string(&mut s).map_err(|e| format!("read: {e}"))?;
    ensure(s == "line one\nline two\n", format!("read back {s:?}"))?;
    let path: PathBuf = f.path().to_path_buf();
    ensure(
        fs::read_to_string(&path).ok().as_deref() == Some("line one\nline two\n"),
        "reading by path",
    )?;
    let many: Vec<NamedTempFile> = (0..20)
        .map(|_| Builder::new().make_in(d2.path(), |p| File::create_new(p)))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("20 named files: {e}"))?;
    let count = names_in(d2.path()).map_err(|e| e.to_string())?.len();
    ensure(count == 20, format!("{count} of 20 named files in the dir"))?;
    drop(many);
    drop(f);
    ensure(!path.exists(), "named temp file still there after drop")?;
    ensure(
        names_in(d2.path()).map_err(|e| e.to_string())?.is_empty(),
        "named files left after drop",
    )?;
    let kept = Builder::new()
        .disable_cleanup(true)
        .make_in(d1.path(), |p| File::create_new(p))
        .map_err(|e| format!("disable_cleanup: {e}"))?;
    let kept_path = kept.path().to_path_buf();
    drop(kept);
    ensure(kept_path.exists(), "disable_cleanup file removed")?;

    // SpooledTempFile: in memory below its limit.
    let mut sp = SpooledTempFile::new(1024);
    sp.write_all(b"spooled bytes").map_err(|e| e.to_string())?;
    sp.seek(SeekFrom::Start(8)).map_err(|e| e.to_string())?;
    let mut tail = String::new();
    sp.read_to_string(&mut tail).map_err(|e| e.to_string())?;
    ensure(tail == "bytes" && !sp.is_rolled(), "spooled file")?;

    // The platform-backed calls: full checks if they work, else the documented error.
    match NamedTempFile::new() {
        Ok(mut nf) => {
            nf.write_all(b"persist me").map_err(|e| e.to_string())?;
            let target = d1.path().join("persisted");
            nf.persist(&target).map_err(|e| format!("persist: {e}"))?;
            ensure(
                fs::read(&target).ok().as_deref() == Some(&b"persist me"[..]),
                "persisted content",
            )?;
            notes.push("NamedTempFile::new + persist");
        }
        Err(e) if is_platform_unsupported(&e) => {
            ensure(
                tempfile::tempfile().is_err_and(|e| is_platform_unsupported(&e)),
                "tempfile() error",
            )?;
            notes.push(
                "NamedTempFile::new/tempfile()/persist unsupported (no Hermit backend in tempfile)",
            );
        }
        Err(e) => return Err(format!("NamedTempFile::new: {e}")),
    }

    // Removal of temp dirs.
    let d1_path = d1.path().to_path_buf();
    match d1.close() {
        Ok(()) => {
            ensure(!d1_path.exists(), "closed temp dir still there")?;
            let d2_path = d2.path().to_path_buf();
            drop(d2);
            ensure(!d2_path.exists(), "dropped temp dir still there")?;
            notes.push("TempDir removed on close/drop");
        }
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            ensure(d1_path.exists(), "close failed but removed")?;
            remove_flat_dir(&d1_path)
                .map_err(|e| format!("removing {} by hand: {e}", d1_path.display()))?;
            let d2_path = d2.keep();
            remove_flat_dir(&d2_path)
                .map_err(|e| format!("removing {} by hand: {e}", d2_path.display()))?;
            notes.push("TempDir close/drop unsupported (std remove_dir_all), removed by hand");
        }
        Err(e) => return Err(format!("TempDir::close: {e}")),
    }
    ensure(!d1_path.exists(), "temp dir left behind")?;
    Ok(format!(
        "2 temp dirs, 22 named files written/read/removed on drop, spooled; {}",
        notes.join("; ")
    ))
}

fn main() {
    match run() {
        Ok(summary) => println!("tempfile-check: ok ({summary})"),
        Err(why) => {
            println!("tempfile-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
