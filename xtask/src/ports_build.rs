//! Builds the programs in `ports/` (stock `std` and unchanged crates.io crates) for the
//! project's Linux-ABI target `targets/x86_64-theseus-linux-musl.json` (see `linux_target.rs`)
//! and says where they are, for the ramdisk's `/bin`. The kernel runs them through its Linux
//! system-call ABI, like any static musl binary.
//!
//! Convention: every directory `ports/NAME/` with a `src/main.rs` is a program installed as
//! `/bin/NAME`. The build has its own target directory, `target/ports` (apart from
//! `ports/linux`'s `target/ports-linux`), and is hermetic: the environment's `RUSTFLAGS` are
//! not used.

use std::path::PathBuf;

use crate::error::Result;
use crate::linux_target;
use crate::workspace::Workspace;

/// `target/ports`: cargo's target directory for the `ports/` workspace.
fn target_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("ports")
}

/// The program names (directories of `ports/` with a `src/main.rs`), sorted.
pub fn program_names(ws: &Workspace) -> Vec<String> {
    programs_in(&ws.root().join("ports"))
}

/// The directories of `dir` with a `src/main.rs` (cargo binary crates), sorted.
pub fn programs_in(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
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

/// `(name, host path)` of every program, built or not.
fn all_programs(ws: &Workspace) -> Vec<(String, PathBuf)> {
    let dir = target_dir(ws).join(linux_target::NAME).join("release");
    program_names(ws)
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            (name, path)
        })
        .collect()
}

/// `(name, host path)` of every built program.
pub fn built_programs(ws: &Workspace) -> Vec<(String, PathBuf)> {
    all_programs(ws)
        .into_iter()
        .filter(|(_, path)| path.is_file())
        .collect()
}

/// Builds every program: `cargo build --release` in `ports/` for the JSON target, std from
/// the toolchain's own source (`-Zbuild-std=std,panic_unwind`).
pub fn build(ws: &Workspace, verbose: bool) -> Result<Vec<(String, PathBuf)>> {
    if program_names(ws).is_empty() {
        return Ok(Vec::new());
    }
    linux_target::build_workspace(
        ws,
        &ws.root().join("ports"),
        &target_dir(ws),
        "ports/",
        verbose,
    )?;
    Ok(built_programs(ws))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_built_for_the_linux_target() {
        let ws = Workspace::locate();
        let programs = all_programs(&ws);
        let stdcheck = programs
            .iter()
            .find(|(name, _)| name == "stdcheck")
            .map(|(_, path)| path)
            .expect("ports/stdcheck is a program");
        assert!(stdcheck.ends_with("ports/x86_64-theseus-linux-musl/release/stdcheck"));
        // ports/linux is a workspace of its own, not a program of this one.
        assert!(!programs.iter().any(|(name, _)| name == "linux"));
    }
}
