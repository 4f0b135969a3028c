//! The CoreMark module of `cargo xtask bench`: the crates.io crate `coremark` ([`VERSION`],
//! a Rust port of EEMBC CoreMark 1.0), its command-line program built for `wasm32-wasip1`
//! with `cargo install --locked --root target/registry-programs/coremark-VERSION` (the crate's
//! own `Cargo.lock` and release profile, the environment's compiler settings removed, as for
//! ripgrep and fd in `host-compare`), once; later runs reuse `bin/coremark.wasm`.
//!
//! The toolchain has no `wasm32-wasip1` standard library (the only installable nightly has
//! none to download), so std is built from `rust-src` (`-Z build-std`) and linked by rust-lld
//! against Debian's wasi-libc (`/usr/lib/wasm32-wasi`, the C test programs' sysroot, see
//! `wasm_build.rs`) instead of the self-contained one: `-C link-self-contained=no`, that
//! directory on the library path and its `crt1-command.o` as the start object. About a
//! minute on the project's 2-core machine.

use std::fs;
use std::path::PathBuf;

use crate::error::{Context, Error, Result};
use crate::registry_programs::is_build_override;
use crate::workspace::Workspace;

pub const VERSION: &str = "1.0.0";
const TARGET: &str = "wasm32-wasip1";
/// Debian's wasi-libc (package `wasi-libc`).
const WASI_LIBC: &str = "/usr/lib/wasm32-wasi";

/// `target/registry-programs/coremark-VERSION/bin/coremark.wasm`, built if missing.
pub fn ensure_built(ws: &Workspace, verbose: bool) -> Result<PathBuf> {
    let name = format!("coremark-{VERSION}");
    let root = ws.registry_programs().join(&name);
    let module = root.join("bin").join("coremark.wasm");
    if module.is_file() {
        return Ok(module);
    }
    let partial = ws.registry_programs().join(format!("{name}.partial"));
    for dir in [&root, &partial] {
        if dir.exists() {
            fs::remove_dir_all(dir).context(|| format!("removing {}", dir.display()))?;
        }
    }
    eprintln!(
        "xtask: building coremark@{VERSION} from crates.io for {TARGET} (cargo install, once)"
    );
    let mut cargo = ws.cargo();
    cargo
        .args([
            "install",
            "--locked",
            "-Zbuild-std=std,panic_abort",
            "--target",
            TARGET,
        ])
        .arg("--root")
        .arg(&partial)
        .arg(format!("coremark@={VERSION}"));
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str()
            && is_build_override(key)
        {
            cargo.env_remove(key);
        }
    }
    cargo.env(
        "RUSTFLAGS",
        format!("-C link-self-contained=no -L {WASI_LIBC} -C link-arg={WASI_LIBC}/crt1-command.o"),
    );
    if !verbose {
        cargo.arg("--quiet");
    }
    let status = cargo
        .status()
        .context(|| "could not start cargo".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!(
            "cargo install coremark@={VERSION} for {TARGET} failed ({status})"
        )));
    }
    fs::rename(&partial, &root).context(|| format!("renaming to {}", root.display()))?;
    if !module.is_file() {
        return Err(Error::failed(format!(
            "cargo install succeeded but {} is missing",
            module.display()
        )));
    }
    Ok(module)
}
