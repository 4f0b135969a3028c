//! Programs installed from crates.io with `cargo install`, unmodified, for the stock
//! `x86_64-unknown-linux-musl` target (static-pie): the guest's standard utilities
//! ([`crate::userland`]) and the programs `host-compare` runs on both sides (ripgrep, fd).
//!
//! `cargo install --locked --target x86_64-unknown-linux-musl --root
//! target/registry-programs/CRATE-VERSION CRATE@=VERSION`, with the crate's own `Cargo.lock`
//! and release profile and no `RUSTFLAGS` or C flags from the environment (so the result does
//! not depend on the caller's shell). Crates with C code are compiled with Debian's `musl-gcc`
//! (`CC_x86_64_unknown_linux_musl`, set for that command only; build scripts link with the
//! host's `cc`: both are on the project's machines). DWARF is then stripped (`llvm-objcopy
//! --strip-debug`, symbols kept for the kernel's backtraces). A program whose `bin/NAME`
//! exists is not rebuilt: the second run builds nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::linux_programs::LINUX_TARGET;
use crate::setup;
use crate::workspace::Workspace;

/// The C compiler for crates with C code (Debian's `musl-tools`, installed by `setup.rs`).
const MUSL_GCC: &str = "musl-gcc";

/// A program installed from crates.io with `cargo install`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryProgram {
    /// The crate.
    pub krate: &'static str,
    /// Its exact version (`CRATE@=VERSION`).
    pub version: &'static str,
    /// The binary, also its name in the guest's `/bin`.
    pub bin: &'static str,
    /// Has C code for the target: needs a musl C compiler.
    pub c_code: bool,
    /// `None`: the crate's default features; else exactly these (`--no-default-features`).
    pub features: Option<&'static [&'static str]>,
}

impl RegistryProgram {
    /// `target/registry-programs/CRATE-VERSION`: the `cargo install --root`.
    pub fn root(&self, ws: &Workspace) -> PathBuf {
        ws.registry_programs()
            .join(format!("{}-{}", self.krate, self.version))
    }

    /// The installed binary.
    pub fn path(&self, ws: &Workspace) -> PathBuf {
        self.root(ws).join("bin").join(self.bin)
    }
}

/// ripgrep (`host-compare`, the `ripgrep` bench row): links jemalloc on musl (C code).
pub const RIPGREP: RegistryProgram = RegistryProgram {
    krate: "ripgrep",
    version: "15.2.0",
    bin: "rg",
    c_code: true,
    features: None,
};

/// Installs `program` unless its binary exists; returns the binary and, if it was built now,
/// how long that took. It is installed into `CRATE-VERSION.partial` and renamed when complete,
/// so an interrupted build is not mistaken for a finished one.
pub fn ensure_built(
    ws: &Workspace,
    program: &RegistryProgram,
    verbose: bool,
) -> Result<(PathBuf, Option<Duration>)> {
    let path = program.path(ws);
    if path.is_file() {
        return Ok((path, None));
    }
    let root = program.root(ws);
    let partial = ws
        .registry_programs()
        .join(format!("{}-{}.partial", program.krate, program.version));
    for dir in [&root, &partial] {
        if dir.exists() {
            fs::remove_dir_all(dir).context(|| format!("removing {}", dir.display()))?;
        }
    }
    eprintln!(
        "xtask: building {}@{} from crates.io for {LINUX_TARGET} (cargo install, once)",
        program.krate, program.version
    );
    let started = Instant::now();
    let mut cargo = install_command(ws, program, &partial);
    if !verbose {
        cargo.arg("--quiet");
    }
    let status = cargo
        .status()
        .context(|| "could not start cargo".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!(
            "cargo install {}@={} failed ({status})",
            program.krate, program.version
        )));
    }
    strip_debug(ws, &partial.join("bin").join(program.bin))?;
    fs::rename(&partial, &root).context(|| format!("renaming to {}", root.display()))?;
    if !path.is_file() {
        return Err(Error::failed(format!(
            "cargo install succeeded but {} is missing",
            path.display()
        )));
    }
    Ok((path, Some(started.elapsed())))
}

/// `cargo install --locked --target x86_64-unknown-linux-musl --root ROOT CRATE@=VERSION`
/// (plus the feature selection), with the environment's compiler and linker settings removed
/// and `musl-gcc` for C code.
fn install_command(ws: &Workspace, program: &RegistryProgram, root: &Path) -> Command {
    let mut cargo = ws.cargo();
    cargo
        .args(["install", "--locked", "--target", LINUX_TARGET, "--root"])
        .arg(root);
    if let Some(features) = program.features {
        cargo
            .arg("--no-default-features")
            .arg("--features")
            .arg(features.join(","));
    }
    cargo.arg(format!("{}@={}", program.krate, program.version));
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str()
            && is_build_override(key)
        {
            cargo.env_remove(key);
        }
    }
    if program.c_code {
        cargo.env("CC_x86_64_unknown_linux_musl", MUSL_GCC);
    }
    cargo
}

/// Environment variables that would change what `cargo install` builds: Rust flags, profile
/// and target settings, the C compiler settings that cc-rs and jemalloc's `configure` read, and
/// tikv-jemalloc-sys's own options.
pub(crate) fn is_build_override(key: &str) -> bool {
    const EXACT: &[&str] = &[
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CC",
        "CXX",
        "AR",
        "CFLAGS",
        "CXXFLAGS",
        "CPPFLAGS",
        "LDFLAGS",
        "CROSS_COMPILE",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_PROFILE_",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_",
        "TARGET_",
        "CC_",
        "CXX_",
        "AR_",
        "CFLAGS_",
        "CXXFLAGS_",
        "JEMALLOC_SYS_",
    ];
    EXACT.contains(&key) || PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

/// `llvm-objcopy --strip-debug` in place (symbols stay, for the kernel's backtraces); without
/// llvm-objcopy the binary keeps its debug information.
fn strip_debug(ws: &Workspace, binary: &Path) -> Result<()> {
    let Some(objcopy) = setup::rust_sysroot(ws)
        .ok()
        .and_then(|sysroot| setup::llvm_objcopy(&sysroot))
    else {
        return Ok(());
    };
    let stripped = binary.with_extension("stripped");
    let status = Command::new(&objcopy)
        .arg("--strip-debug")
        .arg(binary)
        .arg(&stripped)
        .status()
        .context(|| format!("running {}", objcopy.display()))?;
    if !status.success() {
        return Err(Error::failed(format!(
            "{} --strip-debug {} failed ({status})",
            objcopy.display(),
            binary.display()
        )));
    }
    fs::rename(&stripped, binary).context(|| format!("renaming to {}", binary.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_C: RegistryProgram = RegistryProgram {
        krate: "ripgrep",
        version: "15.2.0",
        bin: "rg",
        c_code: true,
        features: None,
    };

    fn args(command: &Command) -> Vec<String> {
        command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn cc(command: &Command) -> Option<&std::ffi::OsStr> {
        command
            .get_envs()
            .find(|(key, _)| *key == "CC_x86_64_unknown_linux_musl")
            .and_then(|(_, value)| value)
    }

    #[test]
    fn build_overrides_are_removed() {
        for key in [
            "RUSTFLAGS",
            "CARGO_PROFILE_RELEASE_DEBUG",
            "CC_x86_64_unknown_linux_musl",
            "CFLAGS",
            "TARGET_CC",
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER",
            "JEMALLOC_SYS_WITH_LG_PAGE",
        ] {
            assert!(is_build_override(key), "{key}");
        }
        for key in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "RUSTUP_TOOLCHAIN",
        ] {
            assert!(!is_build_override(key), "{key}");
        }
    }

    #[test]
    fn install_command_pins_version_target_and_compiler() {
        let ws = Workspace::locate();
        let command = install_command(&ws, &WITH_C, Path::new("/r"));
        assert_eq!(
            args(&command),
            [
                "install",
                "--locked",
                "--target",
                "x86_64-unknown-linux-musl",
                "--root",
                "/r",
                "ripgrep@=15.2.0"
            ]
        );
        assert_eq!(cc(&command), Some(std::ffi::OsStr::new(MUSL_GCC)));
        let selected = RegistryProgram {
            krate: "coreutils",
            version: "0.12.0",
            bin: "coreutils",
            c_code: false,
            features: Some(&["ls", "echo"]),
        };
        let command = install_command(&ws, &selected, Path::new("/r"));
        assert_eq!(
            args(&command)[6..],
            [
                "--no-default-features",
                "--features",
                "ls,echo",
                "coreutils@=0.12.0"
            ]
        );
        assert_eq!(cc(&command), None);
    }
}
