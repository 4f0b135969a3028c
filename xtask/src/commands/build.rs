//! `cargo xtask build`: kernel ELF, ramdisk and GRUB ISO (booting the interactive shell).

use crate::boot::{self, BootSpec};
use crate::cmdline::Mode;
use crate::error::Result;
use crate::kernel_build;
use crate::ramdisk::AddSpec;
use crate::setup;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, adds: &[AddSpec], verbose: bool) -> Result<i32> {
    setup::ensure_tools(ws, true)?;
    let kernel = kernel_build::build(ws, verbose)?;
    boot::prepare(
        ws,
        &BootSpec {
            mode: Mode::Shell { window: None },
            adds,
            iso: true,
            kernel_verbose: false,
            verbose,
            corrupt_initrd: false,
        },
    )?;
    println!("kernel: {}", kernel.display());
    println!("initrd: {}", ws.initrd_archive().display());
    println!("iso:    {}", ws.iso().display());
    Ok(0)
}
