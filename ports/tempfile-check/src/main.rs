//! `tempfile` on this OS: temporary directories and named temporary files in `/tmp`
//! (`std::env::temp_dir()`; `/tmp` must exist), written, read back and removed on drop,
//! `NamedTempFile::new` + `persist`, a `SpooledTempFile`, and temporary directories removed on
//! `close` and drop. (`tempfile::tempfile()` needs a file that outlives its name, which the
//! OS's in-memory file system does not keep yet: `O_TMPFILE` is `EOPNOTSUPP`.) Prints `tempfile-check: ok (...)` and exits 0, or what failed and exits 1.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tempfile::{Builder, NamedTempFile, SpooledTempFile, TempDir};

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.into()) }
}

/// The entries of `dir`.
fn names_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect()
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

    // The platform-backed calls (tempfile's unix backend).
    let mut nf = NamedTempFile::new().map_err(|e| format!("NamedTempFile::new: {e}"))?;
    nf.write_all(b"persist me").map_err(|e| e.to_string())?;
    let target = d1.path().join("persisted");
    nf.persist(&target).map_err(|e| format!("persist: {e}"))?;
    ensure(
        fs::read(&target).ok().as_deref() == Some(&b"persist me"[..]),
        "persisted content",
    )?;
    notes.push("NamedTempFile::new + persist");

    // Removal of temp dirs.
    let d1_path = d1.path().to_path_buf();
    d1.close().map_err(|e| format!("TempDir::close: {e}"))?;
    ensure(!d1_path.exists(), "closed temp dir still there")?;
    let d2_path = d2.path().to_path_buf();
    drop(d2);
    ensure(!d2_path.exists(), "dropped temp dir still there")?;
    notes.push("TempDir removed on close/drop");
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
