//! Where things live: the workspace root, the kernel ELF and xtask's own outputs.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Context, Result};

/// The kernel's custom target, relative to the workspace root.
pub const TARGET_SPEC: &str = "targets/x86_64-theseus-none.json";
/// The target directory name cargo derives from [`TARGET_SPEC`].
const TARGET_NAME: &str = "x86_64-theseus-none";

/// Paths of the workspace xtask belongs to.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
}

impl Workspace {
    /// The workspace containing this xtask (the parent of its manifest directory).
    pub fn locate() -> Self {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf();
        let target_dir = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => root.join(dir),
            _ => root.join("target"),
        };
        Self { root, target_dir }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository's ramdisk tree, packed as `/` of the guest.
    pub fn initrd_tree(&self) -> PathBuf {
        self.root.join("initrd")
    }

    /// The kernel ELF produced by [`crate::kernel_build::build`].
    pub fn kernel_elf(&self) -> PathBuf {
        self.target_dir
            .join(TARGET_NAME)
            .join("release")
            .join("kernel")
    }

    /// xtask's own output directory: `target/theseus`.
    pub fn out_dir(&self) -> PathBuf {
        self.target_dir.join("theseus")
    }

    /// Downloads from the package registries, kept between runs: `target/registry-cache`.
    pub fn registry_cache(&self) -> PathBuf {
        self.target_dir.join("registry-cache")
    }

    /// Programs installed from crates.io with `cargo install --root`, one directory per crate
    /// and version, kept between runs: `target/registry-programs`.
    pub fn registry_programs(&self) -> PathBuf {
        self.target_dir.join("registry-programs")
    }

    /// The packed ramdisk.
    pub fn initrd_archive(&self) -> PathBuf {
        self.out_dir().join("initrd.cpio")
    }

    /// The bootable GRUB image.
    pub fn iso(&self) -> PathBuf {
        self.out_dir().join("theseus.iso")
    }

    /// Creates [`Self::out_dir`] if needed.
    pub fn ensure_out_dir(&self) -> Result<PathBuf> {
        let dir = self.out_dir();
        std::fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// A `cargo` command run from the workspace root, with the variables the outer
    /// `cargo run` set for xtask itself removed so they cannot confuse the inner cargo.
    pub fn cargo(&self) -> Command {
        let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut command = Command::new(cargo);
        command.current_dir(&self.root);
        for (key, _) in env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if is_outer_cargo_var(key) {
                command.env_remove(key);
            }
        }
        command
    }
}

/// Variables cargo sets when it runs a binary (`cargo run`), as opposed to user configuration
/// such as `CARGO_TARGET_DIR` or `CARGO_HOME`, which must be kept.
fn is_outer_cargo_var(key: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MAKEFLAGS",
    ];
    EXACT.contains(&key) || key.starts_with("CARGO_PKG_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_user_configuration() {
        assert!(is_outer_cargo_var("CARGO_PKG_NAME"));
        assert!(is_outer_cargo_var("CARGO_MANIFEST_DIR"));
        assert!(!is_outer_cargo_var("CARGO_TARGET_DIR"));
        assert!(!is_outer_cargo_var("CARGO_HOME"));
    }

    #[test]
    fn kernel_path_is_under_target() {
        let ws = Workspace::locate();
        let elf = ws.kernel_elf();
        assert!(elf.ends_with("x86_64-theseus-none/release/kernel"));
        assert!(ws.root().join("Cargo.toml").is_file());
    }
}
