//! The GRUB boot image: kernel, ramdisk and a grub.cfg carrying the command line.
//!
//! The command line differs per run (exec mode embeds the command), so the image is rebuilt
//! for every ISO boot.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

/// grub.cfg booting the kernel through multiboot2 at once, with GRUB on the serial port
/// (as a `dumb` terminal: its messages, such as load errors, without screen-clearing escapes).
pub fn grub_cfg(cmdline: &str) -> String {
    format!(
        "serial --unit=0 --speed=115200\n\
         terminfo serial dumb\n\
         terminal_input serial\n\
         terminal_output serial\n\
         set timeout=0\n\
         set default=0\n\
         menuentry \"theseus\" {{\n  \
           multiboot2 /boot/kernel {cmdline}\n  \
           module2 /boot/initrd.cpio initrd\n  \
           boot\n\
         }}\n"
    )
}

/// Builds `target/theseus/theseus.iso` from `kernel` and `initrd`; returns its path.
/// grub-mkrescue's chatter is shown only with `verbose` or on failure.
pub fn build(
    ws: &Workspace,
    kernel: &Path,
    initrd: &Path,
    cmdline: &str,
    verbose: bool,
) -> Result<PathBuf> {
    let staging = ws.ensure_out_dir()?.join("iso-root");
    if staging.exists() {
        fs::remove_dir_all(&staging).context(|| format!("removing {}", staging.display()))?;
    }
    let grub_dir = staging.join("boot/grub");
    fs::create_dir_all(&grub_dir).context(|| format!("creating {}", grub_dir.display()))?;
    copy(kernel, &staging.join("boot/kernel"))?;
    copy(initrd, &staging.join("boot/initrd.cpio"))?;
    let cfg = grub_dir.join("grub.cfg");
    fs::write(&cfg, grub_cfg(cmdline)).context(|| format!("writing {}", cfg.display()))?;

    let iso = ws.iso();
    let output = Command::new("grub-mkrescue")
        .arg("-o")
        .arg(&iso)
        .arg(&staging)
        .output()
        .context(|| "could not start grub-mkrescue".to_string())?;
    if verbose || !output.status.success() {
        eprint!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
    }
    if !output.status.success() {
        return Err(Error::failed(format!(
            "grub-mkrescue failed ({})",
            output.status
        )));
    }
    Ok(iso)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(|_| ())
        .context(|| format!("copying {} to {}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_embeds_cmdline() {
        let cfg = grub_cfg("mode=shell verbose");
        assert!(cfg.contains("set timeout=0\nset default=0\nmenuentry \"theseus\" {\n"));
        assert!(cfg.contains("\n  multiboot2 /boot/kernel mode=shell verbose\n"));
        assert!(cfg.contains("\n  module2 /boot/initrd.cpio initrd\n  boot\n}\n"));
        assert!(cfg.starts_with("serial --unit=0 --speed=115200\n"));
    }
}
