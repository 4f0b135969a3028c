//! Builds the C test programs in `wasm/tests/c/` for `wasm32-wasi` with Debian's clang-14
//! and wasi-libc, and says where they are, for the ramdisk's `/bin`.
//!
//! Convention: every `wasm/tests/c/NAME.c` is a WASI command installed as
//! `/bin/NAME.wasm` (so `NAME` runs it from the shell). A source whose first line is
//! `// xtask-cflags: FLAGS` gets those extra flags. A module is rebuilt when its source is
//! newer.

use std::path::PathBuf;
use std::process::Command;

use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

const CLANG: &str = "clang-14";

fn source_dir(ws: &Workspace) -> PathBuf {
    ws.root().join("wasm/tests/c")
}

fn target_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("wasm-tests")
}

/// `(NAME, source)` of every C test program, sorted.
fn sources(ws: &Workspace) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(source_dir(ws)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
        .collect();
    out.sort();
    out
}

/// `(NAME.wasm, host path)` of every built module.
pub fn built_modules(ws: &Workspace) -> Vec<(String, PathBuf)> {
    sources(ws)
        .into_iter()
        .map(|(name, _)| {
            let file = format!("{name}.wasm");
            let path = target_dir(ws).join(&file);
            (file, path)
        })
        .filter(|(_, path)| path.is_file())
        .collect()
}

fn up_to_date(src: &PathBuf, out: &PathBuf) -> bool {
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(src), modified(out)), (Some(s), Some(o)) if o >= s)
}

/// Compiles every C test program that changed: `clang-14 --target=wasm32-wasi
/// --sysroot=/usr -O2`.
pub fn build(ws: &Workspace, verbose: bool) -> Result<Vec<(String, PathBuf)>> {
    let dir = target_dir(ws);
    std::fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
    for (name, src) in sources(ws) {
        let out = dir.join(format!("{name}.wasm"));
        if up_to_date(&src, &out) {
            continue;
        }
        if verbose {
            eprintln!("xtask: {CLANG} {} -> {}", src.display(), out.display());
        }
        let text =
            std::fs::read_to_string(&src).context(|| format!("reading {}", src.display()))?;
        let extra: Vec<&str> = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// xtask-cflags:"))
            .map(|f| f.split_whitespace().collect())
            .unwrap_or_default();
        let status = Command::new(CLANG)
            .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-Wall"])
            .args(&extra)
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .context(|| format!("could not start {CLANG}"))?;
        if !status.success() {
            return Err(Error::failed(format!(
                "compiling {} to wasm32-wasi failed ({status})",
                src.display()
            )));
        }
    }
    Ok(built_modules(ws))
}
