//! `ports/manifest.toml`: the crates.io crates whose own test suites `cargo xtask ports` runs
//! in the OS, each with a version requirement, features, which of its test targets to build
//! and how long one test binary may run.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Context, Error, Result};

/// The manifest, relative to the workspace root.
pub const PATH: &str = "ports/manifest.toml";
/// How long one test may run in the OS unless the manifest says.
const DEFAULT_TIMEOUT_SECS: u64 = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "crate")]
    crates: Vec<CrateSpec>,
}

/// One crate to measure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CrateSpec {
    pub name: String,
    /// A cargo version requirement (`"1"`, `"=0.4.35"`); the newest matching release is used.
    #[serde(default = "any_version")]
    pub version: String,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default = "yes")]
    pub default_features: bool,
    /// `cargo test` target selection (`["--lib", "--test", "NAME"]`); default `--tests`: the
    /// library's unit tests, the binaries' and every integration test.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Seconds one test may run in the OS.
    #[serde(default)]
    pub timeout: Option<u64>,
    /// What the row should say besides the numbers (why targets were narrowed, say).
    #[serde(default)]
    pub notes: String,
}

fn any_version() -> String {
    "*".to_string()
}

fn yes() -> bool {
    true
}

impl CrateSpec {
    /// A crate outside the manifest (`ports try NAME[@VERSION] [--features F]`).
    pub fn adhoc(name: &str, version: Option<&str>, features: Vec<String>) -> Self {
        CrateSpec {
            name: name.to_string(),
            version: version.map_or_else(any_version, str::to_string),
            features,
            default_features: true,
            targets: Vec::new(),
            timeout: None,
            notes: String::new(),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS))
    }

    /// The `cargo test --no-run` arguments that select targets and features.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = if self.targets.is_empty() {
            vec!["--tests".to_string()]
        } else {
            self.targets.clone()
        };
        if !self.default_features {
            args.push("--no-default-features".to_string());
        }
        if !self.features.is_empty() {
            args.push("--features".to_string());
            args.push(self.features.join(","));
        }
        args
    }
}

/// Reads and checks the manifest at `root/PATH`.
pub fn load(root: &Path) -> Result<Vec<CrateSpec>> {
    let path = root.join(PATH);
    let text = std::fs::read_to_string(&path).context(|| format!("reading {}", path.display()))?;
    parse(&text).map_err(|err| Error::failed(format!("{}: {err}", path.display())))
}

fn parse(text: &str) -> std::result::Result<Vec<CrateSpec>, String> {
    let file: File = toml::from_str(text).map_err(|err| err.to_string())?;
    let mut seen = std::collections::BTreeSet::new();
    for spec in &file.crates {
        if !seen.insert(spec.name.as_str()) {
            return Err(format!("crate {} is listed twice", spec.name));
        }
        if spec.name.is_empty()
            || !spec
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!("{:?} is not a crate name", spec.name));
        }
    }
    Ok(file.crates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Workspace;

    #[test]
    fn defaults_and_cargo_arguments() {
        let crates = parse(
            r#"
            [[crate]]
            name = "memchr"
            [[crate]]
            name = "tokio"
            version = "1"
            features = ["full", "test-util"]
            default-features = false
            targets = ["--lib", "--test", "sync_mpsc"]
            timeout = 60
            "#,
        )
        .unwrap();
        assert_eq!(crates[0].version, "*");
        assert_eq!(crates[0].cargo_args(), ["--tests"]);
        assert_eq!(
            crates[0].timeout(),
            Duration::from_secs(DEFAULT_TIMEOUT_SECS)
        );
        assert_eq!(
            crates[1].cargo_args(),
            [
                "--lib",
                "--test",
                "sync_mpsc",
                "--no-default-features",
                "--features",
                "full,test-util"
            ]
        );
        assert_eq!(crates[1].timeout(), Duration::from_secs(60));
    }

    #[test]
    fn mistakes_are_refused() {
        assert!(parse("[[crate]]\nname = \"a\"\n[[crate]]\nname = \"a\"\n").is_err());
        assert!(parse("[[crate]]\nname = \"a b\"\n").is_err());
        assert!(parse("[[crate]]\nname = \"a\"\nfeature = [\"x\"]\n").is_err());
    }

    #[test]
    fn the_manifest_lists_enough_crates() {
        let crates = load(Workspace::locate().root()).unwrap();
        assert!(crates.len() >= 60, "{} crates", crates.len());
    }
}
