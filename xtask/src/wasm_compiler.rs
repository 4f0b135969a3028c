//! Builds `wasm/compiler` (`wasmtime-compile`: Cranelift in a static
//! `x86_64-unknown-linux-musl` program) for the ramdisk's `/bin`, where the kernel's wasmtime
//! engine runs it on a compile-cache miss. Its own workspace and target directory
//! (`target/wasmtime-compile`), which is also the build cache: a fresh build takes about 10
//! minutes on 2 cores, a build with nothing changed about a second.

use std::path::PathBuf;

use crate::error::{Context, Error, Result};
use crate::linux_programs::LINUX_TARGET;
use crate::workspace::Workspace;

/// The program's name in `/bin` (and its cargo binary name).
pub const NAME: &str = "wasmtime-compile";

fn source_dir(ws: &Workspace) -> PathBuf {
    ws.root().join("wasm/compiler")
}

/// `target/wasmtime-compile`.
fn target_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("wasmtime-compile")
}

fn binary(ws: &Workspace) -> PathBuf {
    target_dir(ws).join(LINUX_TARGET).join("release").join(NAME)
}

/// `(NAME, host path)` if built.
pub fn built_program(ws: &Workspace) -> Option<(String, PathBuf)> {
    let path = binary(ws);
    path.is_file().then(|| (NAME.to_string(), path))
}

/// `cargo build --release --target x86_64-unknown-linux-musl` in `wasm/compiler`, with the
/// settings of the `ports/linux` programs (frame pointers, musl-gcc for C code).
pub fn build(ws: &Workspace, verbose: bool) -> Result<()> {
    let mut cargo = ws.cargo();
    cargo.current_dir(source_dir(ws));
    cargo.env("CARGO_TARGET_DIR", target_dir(ws));
    // Flags come from the manifest's profile (frame pointers) only: an empty
    // CARGO_ENCODED_RUSTFLAGS keeps out RUSTFLAGS and any `build.rustflags` configuration.
    cargo.env_remove("RUSTFLAGS");
    cargo.env("CARGO_ENCODED_RUSTFLAGS", "");
    cargo.env("CC_x86_64_unknown_linux_musl", "musl-gcc");
    cargo.args(["build", "--release", "--target", LINUX_TARGET]);
    if !verbose {
        cargo.arg("--quiet");
    }
    let status = cargo
        .status()
        .context(|| "could not start cargo".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!(
            "building wasm/compiler ({NAME}) failed ({status})"
        )));
    }
    Ok(())
}
