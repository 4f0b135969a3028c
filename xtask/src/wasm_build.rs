//! Builds the C test programs in `wasm/tests/c/` for `wasm32-wasi` with Debian's clang-14
//! and wasi-libc, and says where they are, for the ramdisk's `/bin`.
//!
//! Convention: every `wasm/tests/c/NAME.c` is a WASI command installed as
//! `/bin/NAME.wasm` (so `NAME` runs it from the shell). A source whose first line is
//! `// xtask-cflags: FLAGS` gets those extra flags. A module is rebuilt when its source is
//! newer.
//!
//! Hermetic: compiling (`-c`, optimized) and linking are separate steps, and the link has no
//! `-O` flag, because clang's wasm driver runs binaryen's `wasm-opt` on an optimized link
//! whenever one is on `PATH` (it drops the name section and rewrites SIMD code): the modules
//! must not depend on what else is installed.

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

/// The arguments of clang's two runs for `src`: compile to `object` (optimized, with the
/// source's extra flags), then link `out` from it with no optimization flag, so clang never
/// runs `wasm-opt`.
fn compile_and_link(
    src: &std::path::Path,
    object: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> [Vec<std::ffi::OsString>; 2] {
    let common = ["--target=wasm32-wasi", "--sysroot=/usr"];
    let mut compile: Vec<std::ffi::OsString> = common.iter().map(Into::into).collect();
    compile.extend(["-O2", "-Wall", "-c"].iter().map(Into::into));
    compile.extend(extra.iter().map(Into::into));
    compile.extend(["-o".into(), object.into(), src.into()]);
    let mut link: Vec<std::ffi::OsString> = common.iter().map(Into::into).collect();
    link.extend(
        extra
            .iter()
            .filter(|f| !f.starts_with("-O"))
            .map(Into::into),
    );
    link.extend(["-o".into(), out.into(), object.into()]);
    [compile, link]
}

/// Compiles every C test program that changed: `clang-14 --target=wasm32-wasi
/// --sysroot=/usr -O2 -c`, then links the object without `-O` (see the module comment).
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
        let object = dir.join(format!("{name}.o"));
        for step in compile_and_link(&src, &object, &out, &extra) {
            let mut command = Command::new(CLANG);
            command.args(&step);
            let status = command
                .status()
                .context(|| format!("could not start {CLANG}"))?;
            if !status.success() {
                return Err(Error::failed(format!(
                    "compiling {} to wasm32-wasi failed ({status})",
                    src.display()
                )));
            }
        }
        let _ = std::fs::remove_file(&object);
    }
    Ok(built_modules(ws))
}

#[cfg(test)]
mod hermetic_tests {
    use super::compile_and_link;
    use std::path::Path;

    /// clang's wasm driver runs `wasm-opt` (when one is on PATH) only for a link with an `-O`
    /// flag: the link step must have none, whatever the source's extra flags say.
    #[test]
    fn the_link_has_no_optimization_flag() {
        let [compile, link] = compile_and_link(
            Path::new("a.c"),
            Path::new("a.o"),
            Path::new("a.wasm"),
            &["-msimd128", "-O3"],
        );
        assert!(compile.iter().any(|a| a == "-O2") && compile.iter().any(|a| a == "-c"));
        assert!(compile.iter().any(|a| a == "-msimd128"));
        assert!(
            link.iter().all(|a| !a.to_string_lossy().starts_with("-O")),
            "{link:?}"
        );
        assert!(link.iter().any(|a| a == "-msimd128") && link.iter().any(|a| a == "a.o"));
    }
}
