//! `cargo xtask build-crate PATH [-- CARGO_ARGS]`: builds any crate (a directory with a
//! `Cargo.toml`, or the manifest itself) for `targets/x86_64-theseus-linux-musl.json` and prints
//! the paths of the binaries built, one a line, on stdout. Those are static-pie Linux x86_64
//! binaries with frame pointers, for the ramdisk's `/bin` (`run --add HOST:/bin/NAME`) or a Linux
//! host.
//!
//! It runs `cargo build --release --target targets/x86_64-theseus-linux-musl.json
//! -Zbuild-std=std,panic_unwind -Zjson-target-spec --manifest-path MANIFEST CARGO_ARGS` (see
//! `linux_target.rs` for how the link gets musl's objects) with `CARGO_TARGET_DIR=target/
//! build-crate` of this workspace, shared by every crate so std is built once. The caller's
//! `RUSTFLAGS` are kept (after the target's own flags).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{Context, Error, Result};
use crate::linux_target;
use crate::setup;
use crate::workspace::Workspace;
use serde_json::Value;

/// `target/build-crate`.
pub fn target_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("build-crate")
}

/// The manifest of `path`: `path` itself if it is a file, else `path/Cargo.toml`.
fn manifest(path: &Path) -> Result<PathBuf> {
    let manifest = if path.is_dir() {
        path.join("Cargo.toml")
    } else {
        path.to_path_buf()
    };
    if !manifest.is_file() {
        return Err(Error::usage(format!(
            "{}: no such crate (expected a directory with a Cargo.toml, or a Cargo.toml)",
            path.display()
        )));
    }
    std::path::absolute(&manifest).context(|| format!("resolving {}", manifest.display()))
}

pub fn run(ws: &Workspace, path: &Path, cargo_args: &[String]) -> Result<i32> {
    let manifest = manifest(path)?;
    setup::ensure_tools(ws, false)?;
    let mut cargo =
        linux_target::cargo_build(ws, &target_dir(ws), &linux_target::environment_rustflags())?;
    cargo.arg("--manifest-path").arg(&manifest);
    cargo.arg("--message-format=json-render-diagnostics");
    cargo.args(cargo_args);
    // From the crate's directory, so its own `.cargo/config.toml` applies as in a plain build.
    if let Some(dir) = manifest.parent() {
        cargo.current_dir(dir);
    }
    cargo.stdout(Stdio::piped());
    let mut child = cargo
        .spawn()
        .context(|| "could not start cargo".to_string())?;
    let mut binaries: Vec<String> = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context(|| "reading cargo's output".to_string())?;
            if let Some(path) = executable(&line)
                && !binaries.contains(&path)
            {
                binaries.push(path);
            }
        }
    }
    let status = child.wait().context(|| "waiting for cargo".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!(
            "building {} for {} failed ({status})",
            manifest.display(),
            linux_target::NAME
        )));
    }
    if binaries.is_empty() {
        eprintln!("xtask: {} built no binary", manifest.display());
    }
    for binary in binaries {
        println!("{binary}");
    }
    Ok(0)
}

/// The `executable` of a `compiler-artifact` message of cargo's JSON output, if any.
fn executable(line: &str) -> Option<String> {
    let message: Value = serde_json::from_str(line).ok()?;
    if message.get("reason").and_then(Value::as_str) != Some("compiler-artifact") {
        return None;
    }
    message
        .get("executable")
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_executables_from_cargo_messages() {
        let bin = r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["bin"],"name":"x"},"filenames":["/t/x"],"executable":"/t/a \"b\"/x","fresh":true}"#;
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"]},"filenames":["/t/libx.rlib"],"executable":null}"#;
        let done = r#"{"reason":"build-finished","success":true}"#;
        assert_eq!(executable(bin).as_deref(), Some("/t/a \"b\"/x"));
        assert_eq!(executable(lib), None);
        assert_eq!(executable(done), None);
        assert_eq!(executable("warning: not json"), None);
    }

    #[test]
    fn finds_the_manifest() {
        let ws = Workspace::locate();
        let dir = ws.root().join("ports/linux/linuxcheck");
        let from_dir = manifest(&dir).unwrap();
        assert!(from_dir.ends_with("ports/linux/linuxcheck/Cargo.toml"));
        assert_eq!(manifest(&from_dir).unwrap(), from_dir);
        assert_eq!(
            manifest(&ws.root().join("no/such")).unwrap_err().exit_code,
            2
        );
    }
}
