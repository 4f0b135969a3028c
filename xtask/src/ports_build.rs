//! Builds the programs in `ports/` (stock `std`, the Hermit ABI) for the OS's program target
//! and says where they are, for the ramdisk's `/bin`.
//!
//! Convention: every directory `ports/NAME/` with a `src/main.rs` is a program installed as
//! `/bin/NAME`.

use std::path::PathBuf;

use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

/// The program target, relative to the workspace root.
pub const PROGRAM_TARGET_SPEC: &str = "targets/x86_64-theseus-hermit.json";
const PROGRAM_TARGET_NAME: &str = "x86_64-theseus-hermit";

fn target_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("ports")
}

/// The program names (directories of `ports/` with a `src/main.rs`), sorted.
pub fn program_names(ws: &Workspace) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(ws.root().join("ports")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("src/main.rs").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// `(name, host path)` of every built program.
pub fn built_programs(ws: &Workspace) -> Vec<(String, PathBuf)> {
    let dir = target_dir(ws).join(PROGRAM_TARGET_NAME).join("release");
    program_names(ws)
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            (name, path)
        })
        .filter(|(_, path)| path.is_file())
        .collect()
}

/// Builds every program (std from the toolchain's own source, `-Zbuild-std`).
pub fn build(ws: &Workspace, verbose: bool) -> Result<Vec<(String, PathBuf)>> {
    if program_names(ws).is_empty() {
        return Ok(Vec::new());
    }
    let spec = ws.root().join(PROGRAM_TARGET_SPEC);
    let mut cargo = ws.cargo();
    cargo.current_dir(ws.root().join("ports"));
    cargo.env("CARGO_TARGET_DIR", target_dir(ws));
    cargo.args(["build", "--release", "--target"]);
    cargo.arg(&spec);
    cargo.args([
        "-Zbuild-std=std,panic_abort",
        "-Zbuild-std-features=compiler-builtins-mem",
        "-Zjson-target-spec",
    ]);
    if !verbose {
        cargo.arg("--quiet");
    }
    let status = cargo
        .status()
        .context(|| "could not start cargo".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!("building ports/ failed ({status})")));
    }
    Ok(built_programs(ws))
}
