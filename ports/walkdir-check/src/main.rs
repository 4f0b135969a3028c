//! `walkdir` on this OS: builds a small tree under /tmp, walks it (sorted, depth limits,
//! `filter_entry`, metadata) and removes it again with a contents-first walk. Prints
//! `walkdir-check: ok (...)` and exits 0, or what failed and exits 1.

use std::fs;
use std::path::Path;

use walkdir::{DirEntry, WalkDir};

const ROOT: &str = "/tmp/walkdir-check";

fn rel(p: &Path) -> String {
    p.strip_prefix(ROOT).unwrap().to_string_lossy().into_owned()
}

/// Every entry of a walk; any error fails it.
fn walk(items: impl Iterator<Item = walkdir::Result<DirEntry>>) -> Result<Vec<DirEntry>, String> {
    items
        .map(|item| item.map_err(|e| format!("walk: {e}")))
        .collect()
}

/// Removes `dir` and everything under it with a contents-first walk (children before their
/// directory).
fn remove_tree(dir: &str) -> Result<usize, String> {
    let entries = walk(WalkDir::new(dir).contents_first(true).into_iter())?;
    for e in &entries {
        if e.file_type().is_dir() {
            fs::remove_dir(e.path())
        } else {
            fs::remove_file(e.path())
        }
        .map_err(|err| format!("remove {}: {err}", e.path().display()))?;
    }
    Ok(entries.len())
}

fn run() -> Result<String, String> {
    if Path::new(ROOT).exists() {
        remove_tree(ROOT)?;
    }
    for d in ["a/b/c", "a/d", "e", ".hidden"] {
        fs::create_dir_all(format!("{ROOT}/{d}")).map_err(|e| format!("mkdir {d}: {e}"))?;
    }
    for (f, len) in [
        ("top.txt", 3),
        ("a/one.rs", 10),
        ("a/b/two.rs", 20),
        ("a/b/c/three.txt", 30),
        ("a/d/four.rs", 40),
        (".hidden/x", 1),
    ] {
        fs::write(format!("{ROOT}/{f}"), vec![b'x'; len]).map_err(|e| format!("write {f}: {e}"))?;
    }

    let all = walk(WalkDir::new(ROOT).sort_by_file_name().into_iter())?;
    let names: Vec<String> = all.iter().map(|e| rel(e.path())).collect();
    let expected = [
        "",
        ".hidden",
        ".hidden/x",
        "a",
        "a/b",
        "a/b/c",
        "a/b/c/three.txt",
        "a/b/two.rs",
        "a/d",
        "a/d/four.rs",
        "a/one.rs",
        "e",
        "top.txt",
    ];
    if names != expected {
        return Err(format!("sorted walk gave {names:?}"));
    }
    let three = all
        .iter()
        .find(|e| e.file_name() == "three.txt")
        .ok_or("no three.txt")?;
    if three.depth() != 4 || !three.file_type().is_file() {
        return Err("depth/type of a/b/c/three.txt".into());
    }
    let dirs = all.iter().filter(|e| e.file_type().is_dir()).count();

    // Only depth 1..=2, skipping hidden entries.
    let shallow = walk(
        WalkDir::new(ROOT)
            .min_depth(1)
            .max_depth(2)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.')),
    )?;
    let shallow: Vec<String> = shallow.iter().map(|e| rel(e.path())).collect();
    if shallow != ["a", "a/b", "a/d", "a/one.rs", "e", "top.txt"] {
        return Err(format!("depth 1..=2 without hidden gave {shallow:?}"));
    }
    // Rust files' total size through each entry's metadata.
    let mut rs_bytes = 0;
    for e in all
        .iter()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
    {
        rs_bytes += e.metadata().map_err(|e| e.to_string())?.len();
    }
    if rs_bytes != 70 {
        return Err(format!(".rs files hold {rs_bytes} bytes"));
    }
    match WalkDir::new("/no/such/dir").into_iter().next() {
        Some(Err(e)) if e.io_error().map(|e| e.kind()) == Some(std::io::ErrorKind::NotFound) => {}
        other => return Err(format!("walking a missing dir gave {other:?}")),
    }

    let removed = remove_tree(ROOT)?;
    if Path::new(ROOT).exists() || removed != expected.len() {
        return Err(format!(
            "contents-first removal removed {removed} of {}",
            expected.len()
        ));
    }
    Ok(format!(
        "{} entries ({dirs} dirs), sorted, depth limits, filter_entry, metadata, contents-first removal",
        all.len()
    ))
}

fn main() {
    match run() {
        Ok(summary) => println!("walkdir-check: ok ({summary})"),
        Err(why) => {
            println!("walkdir-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
