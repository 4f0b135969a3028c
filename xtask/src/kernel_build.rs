//! Builds the kernel ELF for the custom target with `build-std`.

use std::path::PathBuf;

use crate::error::{Context, Error, Result};
use crate::workspace::{TARGET_SPEC, Workspace};

/// `cargo build --release -p kernel` for the kernel target, then the programs of `ports/`
/// for targets/x86_64-theseus-linux-musl.json, the Linux-ABI programs of `ports/linux/` (for
/// x86_64-unknown-linux-musl and that JSON target) and the C test programs of `wasm/tests/c`
/// for wasm32-wasi, and `wasm/compiler` (`wasmtime-compile`); returns the kernel ELF path.
/// Compiler errors always reach stderr; progress only with `verbose`.
pub fn build(ws: &Workspace, verbose: bool) -> Result<PathBuf> {
    let mut cargo = ws.cargo();
    cargo.args([
        "build",
        "--release",
        "-p",
        "kernel",
        "--target",
        TARGET_SPEC,
    ]);
    // Flags come from the target and the root manifest's release profile only: an empty
    // CARGO_ENCODED_RUSTFLAGS keeps out RUSTFLAGS and any `build.rustflags` configuration.
    cargo.env_remove("RUSTFLAGS");
    cargo.env("CARGO_ENCODED_RUSTFLAGS", "");
    cargo.args([
        "-Zbuild-std=core,alloc,compiler_builtins",
        "-Zbuild-std-features=compiler-builtins-mem",
        "-Zjson-target-spec",
    ]);
    if !verbose {
        cargo.arg("--quiet");
    }
    let status = cargo
        .status()
        .context(|| "could not start cargo".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!("kernel build failed ({status})")));
    }
    crate::ports_build::build(ws, verbose)?;
    crate::linux_programs::build(ws, verbose)?;
    crate::wasm_build::build(ws, verbose)?;
    crate::wasm_compiler::build(ws, verbose)?;
    crate::userland::build(ws, verbose)?;
    let elf = ws.kernel_elf();
    if !elf.is_file() {
        return Err(Error::failed(format!(
            "kernel build succeeded but {} is missing",
            elf.display()
        )));
    }
    Ok(elf)
}
