//! Gets everything QEMU needs for one boot: ramdisk, command line and, for GRUB, the ISO.

use crate::cmdline::{EXEC_FILE, EXEC_INLINE_MAX, Mode, kernel_cmdline};
use crate::error::{Error, Result};
use crate::iso;
use crate::qemu::Boot;
use crate::ramdisk::{self, AddSpec};
use crate::workspace::Workspace;

/// How one boot is set up. The kernel must already be built.
#[derive(Debug, Clone)]
pub struct BootSpec<'a> {
    pub mode: Mode,
    pub adds: &'a [AddSpec],
    /// Boot through a GRUB ISO instead of QEMU's `-kernel`.
    pub iso: bool,
    /// Append ` verbose` to the kernel command line.
    pub kernel_verbose: bool,
    /// Show tool chatter (grub-mkrescue).
    pub verbose: bool,
    /// Flip one byte of the ramdisk after its XXH64 is taken (the test of the kernel's check).
    pub corrupt_initrd: bool,
}

/// Packs the ramdisk and, for ISO boots, rebuilds the ISO for this command line.
pub fn prepare(ws: &Workspace, spec: &BootSpec<'_>) -> Result<Boot> {
    let kernel = ws.kernel_elf();
    if !kernel.is_file() {
        return Err(Error::failed(format!(
            "kernel ELF {} not found: build it first (cargo xtask build)",
            kernel.display()
        )));
    }
    let mut adds = spec.adds.to_vec();
    if let Mode::Exec(command) = &spec.mode
        && command.len() > EXEC_INLINE_MAX
    {
        let host = ws.out_dir().join("exec-command");
        ws.ensure_out_dir()?;
        std::fs::write(&host, command)
            .map_err(|e| Error::failed(format!("writing {}: {e}", host.display())))?;
        adds.push(AddSpec {
            host,
            guest: EXEC_FILE.into(),
        });
    }
    let initrd = ramdisk::write(ws, &adds)?;
    let read_err = |e: std::io::Error| Error::failed(format!("{}: {e}", initrd.display()));
    let mut archive = std::fs::read(&initrd).map_err(read_err)?;
    let hash = xxhash_rust::xxh64::xxh64(&archive, 0);
    if spec.corrupt_initrd {
        let middle = archive.len() / 2;
        archive[middle] ^= 0xff;
        std::fs::write(&initrd, &archive).map_err(read_err)?;
    }
    let cmdline = kernel_cmdline(&spec.mode, Some(hash), spec.kernel_verbose);
    if spec.iso {
        let image = iso::build(ws, &kernel, &initrd, &cmdline, spec.verbose)?;
        Ok(Boot::Iso(image))
    } else {
        Ok(Boot::Direct {
            kernel,
            initrd,
            cmdline,
        })
    }
}
