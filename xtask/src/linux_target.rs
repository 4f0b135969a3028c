//! The project's target for ported crates, `targets/x86_64-theseus-linux-musl.json`: the stock
//! `x86_64-unknown-linux-musl` target (same ABI, `"os": "linux"`, `"env": "musl"`, static-pie
//! output with musl's self-relocating `rcrt1.o`) plus frame pointers always, with std built from
//! source (`-Zbuild-std=std,panic_unwind`) so that std has them too. The kernel runs the result
//! through its Linux system-call ABI, like a stock musl binary.
//!
//! The link: the spec links with the toolchain's own `rust-lld` (`"linker-flavor": "gnu-lld"`;
//! rustc finds it in its sysroot), so no host `cc` or `musl-gcc` is involved. musl's crt objects
//! (`rcrt1.o`, `crti.o`, `crtbeginS.o`, `crtendS.o`, `crtn.o`), `libc.a` and `libunwind.a` are
//! those of the stock target's rust-std, in `<sysroot>/lib/rustlib/x86_64-unknown-linux-musl/
//! lib/self-contained/`: rustc looks for a target's self-contained objects only under the
//! target's own name, which a JSON target does not have, so xtask adds that directory as
//! `-L native=DIR` (in `CARGO_ENCODED_RUSTFLAGS`, for that one build). rustc looks for crt
//! objects in every `-L native` directory, and the same `-L` lets the linker find `-lc` and
//! `-lunwind`, which std's `libc` and `unwind` crates ask for. A path in the spec's link args
//! would tie the file to one machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The target spec, relative to the workspace root.
pub const SPEC: &str = "targets/x86_64-theseus-linux-musl.json";
/// The directory name cargo derives from [`SPEC`] (`<target dir>/NAME/release/...`).
pub const NAME: &str = "x86_64-theseus-linux-musl";
/// The stock target whose musl objects the link uses (installed by `setup.rs`).
const STOCK_TARGET: &str = crate::linux_programs::LINUX_TARGET;
/// The C compiler for crates with C code (cc-rs reads `CC_<target>`), as for the stock target.
/// The Rust link itself does not use it.
const C_COMPILER: (&str, &str) = ("CC_x86_64_theseus_linux_musl", "musl-gcc");

/// `<sysroot>/lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained`.
pub fn self_contained_dir(sysroot: &Path) -> PathBuf {
    sysroot
        .join("lib/rustlib")
        .join(STOCK_TARGET)
        .join("lib/self-contained")
}

/// The rustc flags that give the link musl's objects.
fn link_rustflags(self_contained: &Path) -> Vec<String> {
    vec![
        "-L".to_string(),
        format!("native={}", self_contained.display()),
    ]
}

/// `cargo build --release --target targets/x86_64-theseus-linux-musl.json -Zbuild-std=...`
/// with `CARGO_TARGET_DIR=target_dir` and the link's search path; `extra_rustflags` follow it
/// (the environment's `RUSTFLAGS` are not used). The caller adds its own arguments (such as
/// `--manifest-path`) and runs it.
pub fn cargo_build(
    ws: &Workspace,
    target_dir: &Path,
    extra_rustflags: &[String],
) -> Result<Command> {
    cargo_for_target(ws, target_dir, extra_rustflags, &["build", "--release"])
}

/// [`cargo_build`] with another cargo subcommand and profile (`subcommand`, e.g. `["test",
/// "--no-run"]`).
pub fn cargo_for_target(
    ws: &Workspace,
    target_dir: &Path,
    extra_rustflags: &[String],
    subcommand: &[&str],
) -> Result<Command> {
    let sysroot = crate::setup::rust_sysroot(ws)?;
    let dir = self_contained_dir(&sysroot);
    if !dir.join("rcrt1.o").is_file() || !dir.join("libc.a").is_file() {
        return Err(Error::failed(format!(
            "{} has no rcrt1.o or libc.a: `rustup target add {STOCK_TARGET}` installs them",
            dir.display()
        )));
    }
    let mut rustflags = link_rustflags(&dir);
    rustflags.extend(extra_rustflags.iter().cloned());
    if let Some(flag) = rustflags.iter().find(|f| f.contains('\x1f')) {
        return Err(Error::failed(format!("rustc flag {flag:?} contains 0x1f")));
    }
    let mut cargo = ws.cargo();
    cargo.env("CARGO_TARGET_DIR", target_dir);
    // The encoded form keeps a sysroot path with spaces in one piece; it takes precedence over
    // RUSTFLAGS, which is removed so nothing else looks at it.
    cargo.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"));
    cargo.env_remove("RUSTFLAGS");
    cargo.env(C_COMPILER.0, C_COMPILER.1);
    cargo.args(subcommand);
    cargo.arg("--target");
    cargo.arg(ws.root().join(SPEC));
    cargo.args(["-Zbuild-std=std,panic_unwind", "-Zjson-target-spec"]);
    Ok(cargo)
}

/// Builds the cargo workspace at `workspace` (`ports/`, `ports/linux/`) for the project's
/// target into `target_dir` (see [`cargo_build`]); `what` names it in the error.
pub fn build_workspace(
    ws: &Workspace,
    workspace: &Path,
    target_dir: &Path,
    what: &str,
    verbose: bool,
) -> Result<()> {
    let mut cargo = cargo_build(ws, target_dir, &[])?;
    cargo.current_dir(workspace);
    if !verbose {
        cargo.arg("--quiet");
    }
    let status = cargo
        .status()
        .map_err(|e| Error::failed(format!("could not start cargo: {e}")))?;
    if !status.success() {
        return Err(Error::failed(format!(
            "building {what} for {SPEC} failed ({status})"
        )));
    }
    Ok(())
}

/// The rustc flags of the caller's environment, as cargo would read them
/// (`CARGO_ENCODED_RUSTFLAGS`, else `RUSTFLAGS` split at whitespace).
pub fn environment_rustflags() -> Vec<String> {
    match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(encoded) if !encoded.is_empty() => encoded.split('\x1f').map(str::to_string).collect(),
        _ => std::env::var("RUSTFLAGS")
            .map(|flags| flags.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    fn spec(ws: &Workspace) -> Value {
        let text = std::fs::read_to_string(ws.root().join(SPEC)).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{SPEC} is not JSON: {err}"))
    }

    #[test]
    fn spec_is_json_for_linux_musl() {
        let ws = Workspace::locate();
        let spec = spec(&ws);
        let field = |key: &str| spec.get(key).and_then(Value::as_str);
        assert_eq!(field("os"), Some("linux"));
        assert_eq!(field("env"), Some("musl"));
        assert_eq!(field("arch"), Some("x86_64"));
        assert_eq!(field("llvm-target"), Some(STOCK_TARGET));
        assert_eq!(field("frame-pointer"), Some("always"));
        assert!(SPEC.ends_with(&format!("{NAME}.json")));
    }

    /// `rustc --print target-spec-json` of the spec and of the stock target: the same in every
    /// field but the ones the project chose (frame pointers, the linker, vendor, description).
    /// rustc also checks the spec against this nightly's rules.
    #[test]
    fn spec_is_the_stock_target_plus_frame_pointers() {
        let ws = Workspace::locate();
        let print = |target: &str| -> Value {
            let output = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
                .current_dir(ws.root())
                .args(["-Zunstable-options", "--print", "target-spec-json"])
                .args(["--target", target])
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "rustc refuses {target}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            serde_json::from_slice(&output.stdout).unwrap()
        };
        let ours = print(SPEC);
        let stock = print(STOCK_TARGET);
        let (Value::Object(ours), Value::Object(stock)) = (ours, stock) else {
            panic!("not objects");
        };
        let (ours, stock): (Map<String, Value>, Map<String, Value>) = (ours, stock);
        let chosen = [
            "frame-pointer",
            "linker",
            "linker-flavor",
            "metadata",
            "vendor",
        ];
        for (key, value) in &stock {
            if !chosen.contains(&key.as_str()) {
                assert_eq!(
                    ours.get(key),
                    Some(value),
                    "{key} differs from {STOCK_TARGET}"
                );
            }
        }
        for (key, _) in &ours {
            assert!(
                chosen.contains(&key.as_str()) || stock.contains_key(key),
                "{key} is not in {STOCK_TARGET}"
            );
        }
    }

    #[test]
    fn link_flags_name_the_stock_self_contained_directory() {
        let dir = self_contained_dir(Path::new("/sysroot"));
        assert_eq!(
            dir,
            Path::new("/sysroot/lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained")
        );
        assert_eq!(
            link_rustflags(&dir),
            [
                "-L",
                "native=/sysroot/lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained"
            ]
        );
    }
}
