//! The Linux peer of `cargo xtask bench`: Debian's kernel (the package `linux-image-amd64`
//! depends on, fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
//! `target/bench/linux/`, once), an initramfs made here around one static program as `/init`,
//! and a boot of both in QEMU with exactly the OS's settings ([`crate::qemu::command`]: TCG,
//! `-cpu qemu64`, 1 GiB, the vCPUs of [`crate::qemu::default_cpus`]: one, or what `bench
//! --smp` sets for both sides), its console read by xtask.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::netspec::Network;
use crate::qemu::{self, Boot, Console, Ending, Flow};

/// The Debian package whose dependency names the current kernel image.
const META_PACKAGE: &str = "linux-image-amd64";

/// The unpacked kernel: `dir/vmlinuz` and the package name in `dir/package`.
pub struct Kernel {
    pub vmlinuz: PathBuf,
    pub package: String,
}

/// The kernel image package `linux-image-amd64` depends on, from `apt-cache depends`.
pub fn image_package(apt_cache_depends: &str) -> Option<String> {
    apt_cache_depends.lines().find_map(|line| {
        let name = line.trim().strip_prefix("Depends:")?.trim();
        (name.starts_with("linux-image-") && !name.contains(' ')).then(|| name.to_string())
    })
}

/// Fetches and unpacks the kernel into `dir` unless it is there already.
pub fn ensure_kernel(dir: &Path, verbose: bool) -> Result<Kernel> {
    let vmlinuz = dir.join("vmlinuz");
    let package_file = dir.join("package");
    if vmlinuz.is_file()
        && let Ok(package) = std::fs::read_to_string(&package_file)
    {
        return Ok(Kernel {
            vmlinuz,
            package: package.trim().to_string(),
        });
    }
    std::fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
    let mut package = image_package(&apt_cache_depends()?);
    if package.is_none() {
        // A fresh machine's package lists may be empty.
        run(
            Command::new("apt-get").args(["update", "-q"]),
            "apt-get update",
        )?;
        package = image_package(&apt_cache_depends()?);
    }
    let package = package.ok_or_else(|| {
        Error::failed(format!(
            "apt-cache names no kernel image that {META_PACKAGE} depends on"
        ))
    })?;
    eprintln!("xtask: fetching the Linux peer's kernel ({package})");
    run(
        Command::new("apt-get")
            .args(["download", "-q", &package])
            .current_dir(dir),
        "apt-get download",
    )?;
    let deb = std::fs::read_dir(dir)
        .context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .ok_or_else(|| Error::failed(format!("apt-get download left no {package} .deb")))?;
    let root = dir.join("root");
    let _ = std::fs::remove_dir_all(&root);
    run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
        "dpkg-deb -x",
    )?;
    let boot = root.join("boot");
    let image = std::fs::read_dir(&boot)
        .context(|| format!("listing {}", boot.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .ok_or_else(|| Error::failed(format!("{package} has no boot/vmlinuz-*")))?;
    std::fs::copy(&image, &vmlinuz).context(|| format!("copying {}", image.display()))?;
    // Only the image is needed (the modules are 400 MB unpacked).
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_file(&deb);
    std::fs::write(&package_file, format!("{package}\n"))
        .context(|| format!("writing {}", package_file.display()))?;
    if verbose {
        eprintln!("xtask: {} from {package}", vmlinuz.display());
    }
    Ok(Kernel { vmlinuz, package })
}

fn apt_cache_depends() -> Result<String> {
    let out = Command::new("apt-cache")
        .args(["depends", META_PACKAGE])
        .output()
        .context(|| "could not start apt-cache".to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let out = command
        .output()
        .context(|| format!("could not start {what}"))?;
    if !out.status.success() {
        return Err(Error::failed(format!(
            "{what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// A newc initramfs with `init` as `/init`, the empty directories it mounts on, and `files`
/// (`(path under /, contents)`, executable; their directories are made).
pub fn initramfs(init: &[u8], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = initrd::Builder::new();
    let mut dirs = std::collections::BTreeSet::new();
    for dir in ["dev", "proc", "tmp"] {
        builder.add_dir(dir, 0o755, 0);
        dirs.insert(dir.to_string());
    }
    builder.add_file("init", 0o755, 0, init);
    for (name, data) in files {
        // Linux unpacks entries in order and makes no missing parent: each directory first.
        let mut at = 0;
        while let Some(slash) = name[at..].find('/') {
            let dir = &name[..at + slash];
            if dirs.insert(dir.to_string()) {
                builder.add_dir(dir, 0o755, 0);
            }
            at += slash + 1;
        }
        builder.add_file(name, 0o755, 0, data);
    }
    builder.finish()
}

/// The kernel command line: the console on the first serial port, quiet, no reboot on a
/// panic, and `init_args` passed to `/init` (the words after `--`).
pub fn cmdline(init_args: &[&str]) -> String {
    let mut line = String::from("console=ttyS0 quiet panic=-1");
    if !init_args.is_empty() {
        line.push_str(" -- ");
        line.push_str(&init_args.join(" "));
    }
    line
}

/// One boot of the Linux guest.
pub struct GuestRun {
    /// Host clock: QEMU spawn to `boot_marker` on the console.
    pub boot: Duration,
    /// Everything the console printed.
    pub console: String,
}

/// Boots `kernel` with `initrd` and `cmdline`; finished when a line of the console contains
/// one of `end_markers`. Errors when QEMU ends before that or `timeout` expires.
pub fn boot(
    kernel: &Path,
    initrd: &Path,
    cmdline: String,
    boot_marker: &str,
    end_markers: &[&str],
    timeout: Duration,
) -> Result<GuestRun> {
    let network = Network::default();
    boot_with_network(
        &network,
        kernel,
        initrd,
        cmdline,
        boot_marker,
        end_markers,
        timeout,
    )
}

/// [`boot`] with forwards on the guest's network.
pub fn boot_with_network(
    network: &Network,
    kernel: &Path,
    initrd: &Path,
    cmdline: String,
    boot_marker: &str,
    end_markers: &[&str],
    timeout: Duration,
) -> Result<GuestRun> {
    let spec = Boot::Direct {
        kernel: kernel.to_path_buf(),
        initrd: initrd.to_path_buf(),
        cmdline,
    };
    let command = qemu::command_with_network(
        &spec,
        Console::Piped,
        qemu::kvm_usable(),
        qemu::CPU,
        network,
        qemu::default_cpus(),
    );
    let start = Instant::now();
    let mut console = Vec::new();
    let mut booted: Option<Duration> = None;
    let mut finished = false;
    let ending = qemu::supervise(command, Some(timeout), qemu::GRACE_AFTER_FINISH, |chunk| {
        console.extend_from_slice(chunk);
        let text = String::from_utf8_lossy(&console);
        if booted.is_none() && text.contains(boot_marker) {
            booted = Some(start.elapsed());
        }
        if end_markers.iter().any(|m| text.contains(m)) {
            finished = true;
            Flow::Finished
        } else {
            Flow::Continue
        }
    })?;
    let console = String::from_utf8_lossy(&console).into_owned();
    match (booted, finished) {
        (Some(boot), true) => Ok(GuestRun { boot, console }),
        _ => {
            let how = match ending {
                Ending::TimedOut => format!("timed out after {} s", timeout.as_secs()),
                other => format!("stopped early ({other:?})"),
            };
            let tail: Vec<&str> = console.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(Error::failed(format!(
                "the Linux guest {how}; last console lines:\n{}",
                tail.join("\n")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_image_package() {
        let out = "linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n";
        assert_eq!(
            image_package(out).as_deref(),
            Some("linux-image-6.1.0-57-amd64")
        );
        assert_eq!(image_package("linux-image-amd64\n"), None);
        assert_eq!(image_package("x\n  Depends: <virtual thing>\n"), None);
    }

    #[test]
    fn initramfs_has_init_and_mount_points() {
        let archive = initramfs(b"\x7fELF...", &[]);
        let entries = initrd::parse(&archive).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.path).collect();
        assert_eq!(names, ["dev", "proc", "tmp", "init"]);
        let init = entries.last().unwrap();
        assert_eq!(init.data, b"\x7fELF...");
        assert_eq!((init.kind, init.mode), (initrd::EntryKind::File, 0o755));
        let archive = initramfs(b"i", &[("peer", b"p"), ("m.wasm", b"\0asm")]);
        let entries = initrd::parse(&archive).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.path).collect();
        assert_eq!(names, ["dev", "proc", "tmp", "init", "peer", "m.wasm"]);
        assert_eq!(entries[5].data, b"\0asm");
        // Each parent directory once, before what it holds.
        let archive = initramfs(b"i", &[("a/b/c", b"1"), ("a/d", b"2"), ("tmp/e", b"3")]);
        let entries = initrd::parse(&archive).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.path).collect();
        assert_eq!(
            names,
            [
                "dev", "proc", "tmp", "init", "a", "a/b", "a/b/c", "a/d", "tmp/e"
            ]
        );
        assert_eq!(entries[5].kind, initrd::EntryKind::Directory);
    }

    #[test]
    fn command_line_passes_arguments_to_init() {
        assert_eq!(cmdline(&[]), "console=ttyS0 quiet panic=-1");
        assert_eq!(
            cmdline(&["null", "pipe"]),
            "console=ttyS0 quiet panic=-1 -- null pipe"
        );
    }
}
