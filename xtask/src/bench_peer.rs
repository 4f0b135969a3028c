//! Builds `wasm/bench_peer` (`wasm-bench-peer`: wasmi and wasmtime, the kernel's versions, in
//! a static `x86_64-unknown-linux-musl` program) for the Linux guest of `cargo xtask bench`.
//! Built only by `bench`, with wasm/compiler's settings and into its target directory
//! (`target/wasmtime-compile`), so the Cranelift crates both use are compiled once: a first
//! build takes about 10 minutes on 2 cores (less after `wasmtime-compile`), a build with
//! nothing changed about a second.

use std::path::PathBuf;

use crate::error::{Context, Error, Result};
use crate::linux_programs::LINUX_TARGET;
use crate::workspace::Workspace;

/// The program's cargo binary name (and its name in the Linux guest's initramfs).
pub const NAME: &str = "wasm-bench-peer";

/// `target/wasmtime-compile`, shared with `wasm_compiler.rs`.
fn target_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("wasmtime-compile")
}

/// Builds the program (nothing to do when it is up to date) and returns its path.
pub fn build(ws: &Workspace, verbose: bool) -> Result<PathBuf> {
    let mut cargo = ws.cargo();
    cargo.current_dir(ws.root().join("wasm/bench_peer"));
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
            "building wasm/bench_peer ({NAME}) failed ({status})"
        )));
    }
    let binary = target_dir(ws).join(LINUX_TARGET).join("release").join(NAME);
    if !binary.is_file() {
        return Err(Error::failed(format!("{} is missing", binary.display())));
    }
    Ok(binary)
}
