//! A crate's published source: the newest release matching the manifest's requirement, as
//! cargo resolves and downloads it (`cargo metadata` of a one-dependency project), copied into
//! `target/ports-status/src/NAME-VERSION` so that its tests build there with their own lock
//! file, never inside cargo's registry.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::manifest::CrateSpec;
use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

/// A crate's source, ready to build.
#[derive(Debug, Clone)]
pub struct Source {
    pub version: String,
    /// `target/ports-status/src/NAME-VERSION`.
    pub dir: PathBuf,
}

/// Resolves `spec` to a version and makes its source directory (reused when it exists).
pub fn prepare(ws: &Workspace, root: &Path, spec: &CrateSpec) -> Result<Source> {
    let (version, registry_dir) = resolve(ws, root, spec)?;
    let dir = root.join("src").join(format!("{}-{version}", spec.name));
    if !dir.join("Cargo.toml").is_file() {
        copy_source(&registry_dir, &dir)?;
    }
    own_manifest(&dir.join("Cargo.toml"))?;
    Ok(Source { version, dir })
}

/// `(version, registry source directory)` of the newest release that matches.
fn resolve(ws: &Workspace, root: &Path, spec: &CrateSpec) -> Result<(String, PathBuf)> {
    let project = root.join("resolve").join(&spec.name);
    std::fs::create_dir_all(project.join("src"))
        .context(|| format!("creating {}", project.display()))?;
    let manifest = format!(
        "[package]\nname = \"ports-resolve\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{} = {{ version = {:?}, default-features = false }}\n\n[workspace]\n",
        spec.name, spec.version
    );
    write(&project.join("Cargo.toml"), &manifest)?;
    write(&project.join("src/lib.rs"), "")?;
    // A new resolution each time: the newest matching release, not the one of the last run.
    let _ = std::fs::remove_file(project.join("Cargo.lock"));
    let output = ws
        .cargo()
        .current_dir(&project)
        .args(["metadata", "--format-version", "1"])
        .output()
        .context(|| "could not start cargo metadata".to_string())?;
    if !output.status.success() {
        return Err(Error::failed(format!(
            "no release of {} matches {:?}: {}",
            spec.name,
            spec.version,
            first_error(&String::from_utf8_lossy(&output.stderr))
        )));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .context(|| "cargo metadata printed no JSON".to_string())?;
    find_package(&metadata, &spec.name).ok_or_else(|| {
        Error::failed(format!(
            "cargo metadata does not list {} from crates.io",
            spec.name
        ))
    })
}

/// The registry package named `name` in `cargo metadata` output.
fn find_package(metadata: &Value, name: &str) -> Option<(String, PathBuf)> {
    let packages = metadata.get("packages")?.as_array()?;
    packages.iter().find_map(|package| {
        let from_registry = package
            .get("source")
            .and_then(Value::as_str)
            .is_some_and(|source| source.starts_with("registry+") || source.starts_with("sparse+"));
        if package.get("name")?.as_str()? != name || !from_registry {
            return None;
        }
        let version = package.get("version")?.as_str()?.to_string();
        let manifest = PathBuf::from(package.get("manifest_path")?.as_str()?);
        Some((version, manifest.parent()?.to_path_buf()))
    })
}

/// Files of a published crate that are the authors' own set-up, not the crate's: a lock file
/// (dependencies resolve afresh, as for a crate used as a dependency; a shipped lock can name
/// versions the registry no longer offers) and a toolchain pin (the project's nightly builds
/// std for the target).
const AUTHORS_FILES: &[&str] = &["Cargo.lock", "rust-toolchain", "rust-toolchain.toml"];

/// Copies the registry's unpacked source without [`AUTHORS_FILES`].
fn copy_source(from: &Path, to: &Path) -> Result<()> {
    let partial = to.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    if let Some(parent) = partial.parent() {
        std::fs::create_dir_all(parent).context(|| format!("creating {}", parent.display()))?;
    }
    let status = std::process::Command::new("cp")
        .arg("-R")
        .arg(from)
        .arg(&partial)
        .status()
        .context(|| "could not start cp".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!(
            "copying {} failed ({status})",
            from.display()
        )));
    }
    for file in AUTHORS_FILES {
        let _ = std::fs::remove_file(partial.join(file));
    }
    std::fs::rename(&partial, to).context(|| format!("creating {}", to.display()))
}

/// Makes the copied manifest the one the tool builds: a workspace of its own (an empty
/// `[workspace]` table, as cargo suggests), so that no enclosing workspace claims it, and
/// without the authors' `[profile.*]` settings. Those apply to the workspace root, and std is
/// built here in the root's profile: a crate's `panic = "abort"` or `lto` built another copy
/// of std into the shared build directory, where the next crate that says `extern crate
/// alloc` found two ("duplicate lang item"). Every crate is measured in the same profile.
fn own_manifest(manifest: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(manifest).context(|| format!("reading {}", manifest.display()))?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|err| Error::failed(format!("{}: {err}", manifest.display())))?;
    let had_profiles = table.remove("profile").is_some();
    let had_workspace = table.contains_key("workspace");
    if had_profiles || !had_workspace {
        table
            .entry("workspace")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let text = toml::to_string(&table)
            .map_err(|err| Error::failed(format!("{}: {err}", manifest.display())))?;
        write(manifest, &text)?;
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).context(|| format!("writing {}", path.display()))
}

/// The first line of cargo's stderr that says `error`, else its first line.
pub fn first_error(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("error"))
        .or_else(|| stderr.lines().map(str::trim).find(|line| !line.is_empty()))
        .unwrap_or("(no message)")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_registry_package() {
        let metadata: Value = serde_json::from_str(
            r#"{"packages": [
                {"name": "ports-resolve", "version": "0.0.0", "source": null,
                 "manifest_path": "/p/Cargo.toml"},
                {"name": "memchr", "version": "2.8.3",
                 "source": "registry+https://github.com/rust-lang/crates.io-index",
                 "manifest_path": "/home/u/.cargo/registry/src/x/memchr-2.8.3/Cargo.toml"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            find_package(&metadata, "memchr"),
            Some((
                "2.8.3".to_string(),
                PathBuf::from("/home/u/.cargo/registry/src/x/memchr-2.8.3")
            ))
        );
        assert_eq!(find_package(&metadata, "ports-resolve"), None);
    }

    #[test]
    fn first_error_line() {
        assert_eq!(
            first_error("   Compiling x\nwarning: y\nerror[E0433]: failed to resolve\nmore"),
            "error[E0433]: failed to resolve"
        );
        assert_eq!(first_error("\nsomething\n"), "something");
    }

    #[test]
    fn the_built_manifest_has_its_own_workspace_and_no_profiles() {
        let dir = std::env::temp_dir().join(format!("ports-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = dir.join("Cargo.toml");
        std::fs::write(
            &manifest,
            "[package]\nname = \"x\"\nversion = \"1.0.0\"\n\n[profile.dev]\npanic = \"abort\"\n\n\
             [dependencies]\nmemchr = \"2\"\n",
        )
        .unwrap();
        own_manifest(&manifest).unwrap();
        let once = std::fs::read_to_string(&manifest).unwrap();
        let table: toml::Table = once.parse().unwrap();
        assert!(table.get("profile").is_none());
        assert!(table["workspace"].as_table().unwrap().is_empty());
        assert_eq!(table["dependencies"]["memchr"].as_str(), Some("2"));
        own_manifest(&manifest).unwrap();
        assert_eq!(std::fs::read_to_string(&manifest).unwrap(), once);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
