//! Builds a crate's own tests for the OS target: `cargo test --no-run` for
//! `targets/x86_64-theseus-linux-musl.json` (std from source, as every port; see
//! `linux_target.rs`), in the shared `target/ports-status/build` so std and common
//! dependencies are built once. The result is the list of test binaries; the same files run
//! in the OS and on the Linux host.
//!
//! A target that fails to build is tried for the stock Linux target too
//! ([`builds_for_linux`]): when it fails there as well, it is the crate's failure.
//!
//! Profile: cargo's test profile (debug assertions on, as `cargo test` runs them) without
//! debug information, which would make the binaries (and the ramdisk) several times larger.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::manifest::CrateSpec;
use super::source::{Source, first_error};
use crate::error::{Context, Error, Result};
use crate::linux_target;
use crate::workspace::Workspace;

/// Everything, std among them (it is built from source here, in the profile of the build),
/// is optimized a little: `cargo test` on Linux links a std built in release mode, and
/// unoptimized code made test suites 10-20 times slower under QEMU's emulation than on the
/// host. Debug assertions and overflow checks stay on, as `cargo test` has them. The
/// settings override the crate's own `[profile.*]` sections (cargo gives `--config` the
/// last word).
const OPT_LEVEL: &[&str] = &[
    "profile.dev.opt-level=1",
    "profile.test.opt-level=1",
    "profile.dev.package.\"*\".opt-level=1",
    "profile.test.package.\"*\".opt-level=1",
];

/// One test executable of the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    /// `lib`, `test NAME` or `bin NAME`: how rows and logs name it.
    pub label: String,
    pub path: PathBuf,
    /// Built with libtest's harness (takes `--format json`); `harness = false` targets are
    /// run as one test that passes when the program exits with 0.
    pub harness: bool,
}

/// The build's result: the test binaries that built (cargo goes on past a target that fails,
/// `--no-fail-fast`) and, if any target failed, the first error line (the whole log is in
/// `log`).
pub struct Built {
    pub binaries: Vec<TestBinary>,
    pub error: Option<String>,
}

/// `cargo test --no-run --no-fail-fast` of `source` with `spec`'s targets and features for
/// the OS target; cargo's output goes to `log`.
pub fn build(
    ws: &Workspace,
    root: &Path,
    spec: &CrateSpec,
    source: &Source,
    log: &Path,
) -> Result<Built> {
    let dir = root.join("build");
    start_over_if_std_changed(ws, &dir)?;
    let cargo =
        linux_target::cargo_for_target(ws, &dir, &[], &["test", "--no-run", "--no-fail-fast"])?;
    run_cargo(cargo, spec, source, log)
}

/// When what std is built with changes (the profile settings above, the toolchain), cargo
/// builds std again under new file names and the old copies stay in `deps`, where a crate
/// that says `extern crate alloc` can find two and fail ("duplicate lang item in crate
/// `alloc`"). So the target's build directory starts over then.
fn start_over_if_std_changed(ws: &Workspace, dir: &Path) -> Result<()> {
    let rustc = Command::new("rustc")
        .current_dir(ws.root())
        .arg("-vV")
        .output()
        .context(|| "could not run rustc".to_string())?;
    let key = format!(
        "{}\n{}",
        OPT_LEVEL.join("\n"),
        String::from_utf8_lossy(&rustc.stdout)
    );
    let stamp = dir.join("std-build-key");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(key.as_str()) {
        let _ = std::fs::remove_dir_all(dir.join(linux_target::NAME));
        std::fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&stamp, key).context(|| format!("writing {}", stamp.display()))?;
    }
    Ok(())
}

/// The same build for the stock `x86_64-unknown-linux-musl` target (no std from source), in
/// `target/ports-status/build-linux`: whether a target that failed for the OS fails for
/// Linux too (a published crate whose test files were left out of the package, a dev-
/// dependency the registry does not have), which is the crate's failure, not the OS's.
pub fn builds_for_linux(
    ws: &Workspace,
    root: &Path,
    spec: &CrateSpec,
    source: &Source,
    log: &Path,
) -> Result<bool> {
    let mut cargo = ws.cargo();
    cargo
        .env("CARGO_TARGET_DIR", root.join("build-linux"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CC_x86_64_unknown_linux_musl", "musl-gcc")
        .args(["test", "--no-run", "--no-fail-fast", "--target"])
        .arg(crate::linux_programs::LINUX_TARGET);
    Ok(run_cargo(cargo, spec, source, log)?.error.is_none())
}

fn run_cargo(mut cargo: Command, spec: &CrateSpec, source: &Source, log: &Path) -> Result<Built> {
    cargo
        .current_dir(&source.dir)
        .arg("--manifest-path")
        .arg(source.dir.join("Cargo.toml"))
        .arg("--message-format=json-render-diagnostics")
        .args(spec.cargo_args())
        .env("CARGO_PROFILE_TEST_DEBUG", "false")
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .args(OPT_LEVEL.iter().flat_map(|config| ["--config", config]))
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            File::create(log).context(|| format!("creating {}", log.display()))?,
        ));
    let mut child = cargo
        .spawn()
        .context(|| "could not start cargo".to_string())?;
    let no_harness = no_harness_targets(&source.dir);
    let mut binaries = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context(|| "reading cargo's output".to_string())?;
            if let Some(binary) = test_binary(&line, &no_harness)
                && !binaries.contains(&binary)
            {
                binaries.push(binary);
            }
        }
    }
    let status = child.wait().context(|| "waiting for cargo".to_string())?;
    let error = (!status.success()).then(|| {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        first_error(&text)
    });
    if error.is_none() && binaries.is_empty() {
        return Err(Error::failed(format!(
            "cargo built no test binary for {}",
            spec.name
        )));
    }
    Ok(Built { binaries, error })
}

/// A test executable in a `compiler-artifact` message of cargo's JSON output.
fn test_binary(line: &str, no_harness: &BTreeSet<(String, String)>) -> Option<TestBinary> {
    let message: Value = serde_json::from_str(line).ok()?;
    if message.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    if !message.get("profile")?.get("test")?.as_bool()? {
        return None;
    }
    let path = PathBuf::from(message.get("executable")?.as_str()?);
    let target = message.get("target")?;
    let name = target.get("name")?.as_str()?.to_string();
    let kind = target
        .get("kind")?
        .as_array()?
        .first()?
        .as_str()?
        .to_string();
    let label = match kind.as_str() {
        "lib" | "rlib" | "proc-macro" | "cdylib" | "staticlib" | "dylib" => "lib".to_string(),
        other => format!("{other} {name}"),
    };
    let kind = if label == "lib" { "lib" } else { &kind };
    let harness = !no_harness.contains(&(kind.to_string(), name));
    Some(TestBinary {
        label,
        path,
        harness,
    })
}

/// `(kind, name)` of the targets with `harness = false` in the crate's `Cargo.toml` (cargo's
/// JSON messages do not say). The library's name does not matter: `("lib", "")`.
fn no_harness_targets(dir: &Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    let Ok(manifest) = text.parse::<toml::Table>() else {
        return BTreeSet::new();
    };
    let mut found = BTreeSet::new();
    let off =
        |target: &toml::Value| target.get("harness").and_then(toml::Value::as_bool) == Some(false);
    if manifest.get("lib").is_some_and(off) {
        found.insert(("lib".to_string(), String::new()));
    }
    for (section, kind) in [("test", "test"), ("bin", "bin")] {
        for target in manifest
            .get(section)
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            if off(target)
                && let Some(name) = target.get("name").and_then(toml::Value::as_str)
            {
                found.insert((kind.to_string(), name.replace('-', "_")));
                found.insert((kind.to_string(), name.to_string()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_test_executables() {
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"memchr"},"profile":{"test":true},"executable":"/b/memchr-1"}"#;
        let integration = r#"{"reason":"compiler-artifact","target":{"kind":["test"],"name":"fuzz"},"profile":{"test":true},"executable":"/b/fuzz-2"}"#;
        let dependency = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"libc"},"profile":{"test":false},"executable":null}"#;
        let mut off = BTreeSet::new();
        off.insert(("test".to_string(), "fuzz".to_string()));
        assert_eq!(
            test_binary(lib, &off),
            Some(TestBinary {
                label: "lib".into(),
                path: "/b/memchr-1".into(),
                harness: true
            })
        );
        assert_eq!(
            test_binary(integration, &off),
            Some(TestBinary {
                label: "test fuzz".into(),
                path: "/b/fuzz-2".into(),
                harness: false
            })
        );
        assert_eq!(test_binary(dependency, &off), None);
        assert_eq!(test_binary("not json", &off), None);
    }

    #[test]
    fn reads_harness_false_targets() {
        let dir = std::env::temp_dir().join(format!("ports-harness-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"x\"\n[[test]]\nname = \"custom-main\"\nharness = false\n\
             [[test]]\nname = \"plain\"\n",
        )
        .unwrap();
        let found = no_harness_targets(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(found.contains(&("test".to_string(), "custom_main".to_string())));
        assert!(!found.contains(&("test".to_string(), "plain".to_string())));
    }
}
