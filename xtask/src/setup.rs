//! Makes sure the host tools exist, installing what is missing.
//!
//! Every check is a file lookup, so nothing is run when everything is present.
//! Each install prints one line on stderr; the installer's own output is shown
//! only if it fails.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

/// A Debian package and the file whose presence shows it is installed.
struct DebianTool {
    package: &'static str,
    probe: Probe,
}

enum Probe {
    /// An executable found on `PATH`.
    Binary(&'static str),
    /// A file or directory at a fixed path.
    Path(&'static str),
}

const DEBIAN_TOOLS: &[DebianTool] = &[
    DebianTool {
        package: "qemu-system-x86",
        probe: Probe::Binary("qemu-system-x86_64"),
    },
    DebianTool {
        package: "grub-pc-bin",
        probe: Probe::Path("/usr/lib/grub/i386-pc"),
    },
    DebianTool {
        package: "grub-common",
        probe: Probe::Binary("grub-mkrescue"),
    },
    DebianTool {
        package: "xorriso",
        probe: Probe::Binary("xorriso"),
    },
    DebianTool {
        package: "mtools",
        probe: Probe::Binary("mformat"),
    },
    // The initrd crate's tests check our archives against GNU cpio.
    DebianTool {
        package: "cpio",
        probe: Probe::Binary("cpio"),
    },
    // C test programs for the wasm runner: clang-14 for wasm32-wasi with wasi-libc.
    DebianTool {
        package: "clang-14",
        probe: Probe::Binary("clang-14"),
    },
    DebianTool {
        package: "lld-14",
        probe: Probe::Binary("wasm-ld-14"),
    },
    DebianTool {
        package: "wasi-libc",
        probe: Probe::Path("/usr/lib/wasm32-wasi/libc.a"),
    },
    DebianTool {
        package: "libclang-rt-14-dev-wasm32",
        probe: Probe::Path("/usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi"),
    },
    // C test programs for the Linux system-call ABI: musl's libc and the musl-gcc wrapper.
    DebianTool {
        package: "musl-tools",
        probe: Probe::Binary("musl-gcc"),
    },
];

/// Rust targets whose prebuilt std xtask builds for besides the host's (the Linux-ABI programs
/// of `ports/linux/`).
const RUST_TARGETS: &[&str] = &[crate::linux_programs::LINUX_TARGET];

/// The registries' clients, for `cargo xtask wasm-registry` only.
const REGISTRY_CLIENTS: &[DebianTool] = &[
    DebianTool {
        package: "python3",
        probe: Probe::Binary("python3"),
    },
    DebianTool {
        package: "python3-pip",
        probe: Probe::Binary("pip3"),
    },
    DebianTool {
        package: "npm",
        probe: Probe::Binary("npm"),
    },
];

/// Ensures `python3`, `pip` and `npm` (for the wasm-registry group).
pub fn ensure_registry_clients() -> Result<()> {
    ensure_debian_packages(REGISTRY_CLIENTS)
}

/// Ensures `python3` and `pip` (to install and run the `wasmtime` package, the host reference
/// of the wasi-compare group).
pub fn ensure_python() -> Result<()> {
    ensure_debian_packages(&REGISTRY_CLIENTS[..2])
}

/// Ensures the Rust components and targets (always) and the QEMU/GRUB tools (if
/// `need_vm_tools`).
pub fn ensure_tools(ws: &Workspace, need_vm_tools: bool) -> Result<()> {
    let sysroot = rust_sysroot(ws)?;
    ensure_rust_components(ws, &sysroot)?;
    ensure_rust_targets(ws, &sysroot)?;
    if need_vm_tools {
        ensure_debian_packages(DEBIAN_TOOLS)?;
    }
    Ok(())
}

fn ensure_debian_packages(tools: &[DebianTool]) -> Result<()> {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|tool| !tool.probe.present())
        .map(|tool| tool.package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    run_quietly(
        privileged("apt-get").args(["update", "-q"]),
        "apt-get update",
    )?;
    run_quietly(
        privileged("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q"])
            .args(&missing),
        "apt-get install",
    )?;
    let still_missing: Vec<&str> = tools
        .iter()
        .filter(|tool| !tool.probe.present())
        .map(|tool| tool.package)
        .collect();
    if still_missing.is_empty() {
        Ok(())
    } else {
        Err(Error::failed(format!(
            "still missing after installing: {}",
            still_missing.join(" ")
        )))
    }
}

fn ensure_rust_components(ws: &Workspace, sysroot: &Path) -> Result<()> {
    if rust_src_present(sysroot) && llvm_tools_present(sysroot) {
        return Ok(());
    }
    eprintln!("xtask: installing rustup components: rust-src llvm-tools");
    let mut rustup = Command::new("rustup");
    rustup
        .current_dir(ws.root())
        .args(["component", "add", "rust-src", "llvm-tools"]);
    run_quietly(&mut rustup, "rustup component add")?;
    if rust_src_present(sysroot) {
        Ok(())
    } else {
        Err(Error::failed(format!(
            "rust-src still missing in {}",
            sysroot.display()
        )))
    }
}

/// Installs every missing target of [`RUST_TARGETS`] (`rustup target add`, for the workspace's
/// toolchain: rustup is run from the workspace root, like for the components).
fn ensure_rust_targets(ws: &Workspace, sysroot: &Path) -> Result<()> {
    let missing: Vec<&str> = RUST_TARGETS
        .iter()
        .copied()
        .filter(|target| !rust_target_present(sysroot, target))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing rustup targets: {}", missing.join(" "));
    let mut rustup = Command::new("rustup");
    rustup
        .current_dir(ws.root())
        .args(["target", "add"])
        .args(&missing);
    run_quietly(&mut rustup, "rustup target add")?;
    match missing
        .iter()
        .find(|target| !rust_target_present(sysroot, target))
    {
        None => Ok(()),
        Some(target) => Err(Error::failed(format!(
            "rust target {target} still missing in {}",
            sysroot.display()
        ))),
    }
}

/// A target's std is installed in `lib/rustlib/<target>` of the sysroot.
fn rust_target_present(sysroot: &Path, target: &str) -> bool {
    sysroot.join("lib/rustlib").join(target).is_dir()
}

/// `rustc --print sysroot` for the toolchain the workspace uses.
pub(crate) fn rust_sysroot(ws: &Workspace) -> Result<PathBuf> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .current_dir(ws.root())
        .args(["--print", "sysroot"])
        .output()
        .context(|| "running rustc --print sysroot".to_string())?;
    if !output.status.success() {
        return Err(Error::failed(format!(
            "rustc --print sysroot failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    ))
}

fn rust_src_present(sysroot: &Path) -> bool {
    sysroot.join("lib/rustlib/src/rust/library").is_dir()
}

fn llvm_tools_present(sysroot: &Path) -> bool {
    llvm_objcopy(sysroot).is_some()
}

/// llvm-tools puts `llvm-objcopy` into `lib/rustlib/<host>/bin`.
pub(crate) fn llvm_objcopy(sysroot: &Path) -> Option<PathBuf> {
    fs::read_dir(sysroot.join("lib/rustlib"))
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin/llvm-objcopy"))
        .find(|path| path.is_file())
}

impl Probe {
    fn present(&self) -> bool {
        match self {
            Probe::Binary(name) => find_on_path(name).is_some(),
            Probe::Path(path) => Path::new(path).exists(),
        }
    }
}

/// The first `PATH` entry holding a file called `name`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `program`, prefixed with `sudo` unless xtask already runs as root.
fn privileged(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut command = Command::new("sudo");
        command.arg(program);
        command
    }
}

/// Reads the effective uid from `/proc/self/status` (no libc needed).
fn is_root() -> bool {
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// Runs `command` with its output captured; on failure shows that output.
fn run_quietly(command: &mut Command, what: &str) -> Result<Output> {
    let output = command
        .output()
        .context(|| format!("could not start {what}"))?;
    if output.status.success() {
        return Ok(output);
    }
    eprint!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    Err(Error::failed(format!("{what} failed ({})", output.status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_common_binary() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("surely-no-such-binary-xtask").is_none());
    }

    #[test]
    fn probes_installed_rust_targets() {
        let ws = Workspace::locate();
        let sysroot = rust_sysroot(&ws).unwrap();
        assert!(rust_target_present(&sysroot, "x86_64-unknown-linux-gnu"));
        assert!(!rust_target_present(&sysroot, "x86_64-unknown-no-such-os"));
    }
}
