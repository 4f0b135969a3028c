//! Builds the Linux-ABI test programs of `ports/linux/` and says where they are, for the
//! ramdisk's `/bin`. They are stock static `x86_64-unknown-linux-musl` binaries, the very files
//! that run on a Linux host, which the kernel runs through its Linux system-call ABI. (The
//! crates.io programs of `ports/` are built by `ports_build.rs`, for the JSON target only.)
//!
//! - Rust: every `ports/linux/NAME/` with a `src/main.rs` (a member of the `ports/linux`
//!   workspace; std only but for `hyper-check`) is built with `cargo build --release --target
//!   x86_64-unknown-linux-musl` (the stock target and its prebuilt std: a static-pie ELF, with
//!   frame pointers for the kernel's backtraces) and installed as `/bin/NAME`; and again for
//!   the project's own target `targets/x86_64-theseus-linux-musl.json` (same ABI, std built
//!   from source with frame pointers, see `linux_target.rs`), in `target/ports-linux/theseus`,
//!   installed as `/bin/NAME-theseus`.
//! - C: every row of [`C_PROGRAMS`] compiles a `ports/linux/c/*.c` with Debian's `musl-gcc`
//!   (package `musl-tools`), static-pie, or dynamically linked for the test that the kernel
//!   refuses such a binary, and installs it as `/bin/NAME`. A program is rebuilt when its source
//!   is newer than the output.
//!
//! The rustup target and `musl-tools` are installed by `setup.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

/// The stock Rust target of the Linux programs.
pub const LINUX_TARGET: &str = "x86_64-unknown-linux-musl";
const MUSL_GCC: &str = "musl-gcc";
/// Where Debian's `musl-dev` keeps musl's start files and `libc.a`.
const MUSL_LIB_DIR: &str = "/usr/lib/x86_64-linux-musl";
/// Suffix of the `/bin` names of the programs built for the JSON target.
const THESEUS_SUFFIX: &str = "-theseus";
/// Flags for every C program.
const CFLAGS: &[&str] = &["-O2", "-g", "-fno-omit-frame-pointer", "-Wall", "-Wextra"];

/// How a C program is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Self-relocating static PIE: no program interpreter, no shared libraries.
    StaticPie,
    /// musl-gcc's default: a PIE with `PT_INTERP` `/lib/ld-musl-x86_64.so.1` and `libc.so`.
    Dynamic,
}

/// The C programs: source in `ports/linux/c/`, name in `/bin`, linking. Every source in that
/// directory must appear here (a unit test checks it). `hello.c` is not `/bin/hello`: that would
/// shadow the WASI `hello.wasm`, which the shell finds by the same name.
const C_PROGRAMS: &[(&str, &str, Link)] = &[
    ("hello.c", "hello-c", Link::StaticPie),
    ("cfiles.c", "cfiles", Link::StaticPie),
    ("badcalls.c", "badcalls", Link::StaticPie),
    ("signals.c", "signals", Link::StaticPie),
    ("sockets.c", "sockets", Link::StaticPie),
    ("hold.c", "hold", Link::StaticPie),
    ("rawkeys.c", "rawkeys", Link::StaticPie),
    ("inotify.c", "inotify", Link::StaticPie),
    ("iocalls.c", "iocalls", Link::StaticPie),
    ("procinfo.c", "procinfo", Link::StaticPie),
    ("pidfds.c", "pidfds", Link::StaticPie),
    ("timers.c", "timers", Link::StaticPie),
    ("eintr.c", "eintr", Link::StaticPie),
    ("ifaddrs.c", "ifaddrs", Link::StaticPie),
    ("ownaddr.c", "ownaddr", Link::StaticPie),
    ("names.c", "names", Link::StaticPie),
    ("sysregs.c", "sysregs", Link::StaticPie),
    ("cpus.c", "cpus-c", Link::StaticPie),
    ("parallel.c", "parallel", Link::StaticPie),
    ("caps.c", "caps", Link::StaticPie),
    ("udpmsgs.c", "udpmsgs", Link::StaticPie),
    ("openat2.c", "openat2", Link::StaticPie),
    ("splices.c", "splices", Link::StaticPie),
    ("mqueue.c", "posixmq", Link::StaticPie),
    ("dualstack.c", "dualstack", Link::StaticPie),
    ("waitfor.c", "waitfor", Link::StaticPie),
    ("spawnwait.c", "spawnwait", Link::StaticPie),
    ("stress.c", "stress", Link::StaticPie),
    ("hello.c", "hello-dyn", Link::Dynamic),
];

/// The header every C test program may include (`check`): a change rebuilds them all.
const C_HEADER: &str = "check.h";

fn source_dir(ws: &Workspace) -> PathBuf {
    ws.root().join("ports/linux")
}

/// `target/ports-linux`: cargo's target directory for the workspace, C outputs in `c/`.
fn target_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("ports-linux")
}

/// `target/ports-linux/theseus`: the JSON target's build, apart from the stock one.
fn theseus_target_dir(ws: &Workspace) -> PathBuf {
    target_dir(ws).join("theseus")
}

fn c_out_dir(ws: &Workspace) -> PathBuf {
    target_dir(ws).join("c")
}

/// The Rust program names (directories of `ports/linux/` with a `src/main.rs`), sorted.
fn rust_program_names(ws: &Workspace) -> Vec<String> {
    crate::ports_build::programs_in(&source_dir(ws))
}

/// `(name in /bin, host path)` of every program this module builds, built or not.
fn all_programs(ws: &Workspace) -> Vec<(String, PathBuf)> {
    let rust_dir = target_dir(ws).join(LINUX_TARGET).join("release");
    let theseus_dir = theseus_target_dir(ws)
        .join(crate::linux_target::NAME)
        .join("release");
    let names = rust_program_names(ws);
    let mut programs: Vec<(String, PathBuf)> = names
        .iter()
        .map(|name| (name.clone(), rust_dir.join(name)))
        .collect();
    programs.extend(
        names
            .iter()
            .map(|name| (format!("{name}{THESEUS_SUFFIX}"), theseus_dir.join(name))),
    );
    programs.extend(
        C_PROGRAMS
            .iter()
            .map(|&(_, name, _)| (name.to_string(), c_out_dir(ws).join(name))),
    );
    programs
}

/// `(name in /bin, host path)` of every built program.
pub fn built_programs(ws: &Workspace) -> Vec<(String, PathBuf)> {
    all_programs(ws)
        .into_iter()
        .filter(|(_, path)| path.is_file())
        .collect()
}

/// Builds the Rust and the C programs.
pub fn build(ws: &Workspace, verbose: bool) -> Result<Vec<(String, PathBuf)>> {
    build_rust(ws, verbose)?;
    build_rust_theseus(ws, verbose)?;
    build_c(ws, verbose)?;
    Ok(built_programs(ws))
}

/// `cargo build --release --target x86_64-unknown-linux-musl` in `ports/linux`.
fn build_rust(ws: &Workspace, verbose: bool) -> Result<()> {
    if rust_program_names(ws).is_empty() {
        return Ok(());
    }
    let mut cargo = ws.cargo();
    cargo.current_dir(source_dir(ws));
    cargo.env("CARGO_TARGET_DIR", target_dir(ws));
    // Frame pointers for the kernel's backtraces, for this build only. The encoded form would
    // take precedence over RUSTFLAGS, so it must not come from the environment.
    cargo.env("RUSTFLAGS", "-C force-frame-pointers=yes");
    cargo.env_remove("CARGO_ENCODED_RUSTFLAGS");
    // For crates with C code, should a program get one (cc-rs looks for x86_64-linux-musl-gcc).
    cargo.env("CC_x86_64_unknown_linux_musl", MUSL_GCC);
    cargo.args(["build", "--release", "--target", LINUX_TARGET]);
    if !verbose {
        cargo.arg("--quiet");
    }
    let status = cargo
        .status()
        .context(|| "could not start cargo".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!(
            "building ports/linux for {LINUX_TARGET} failed ({status})"
        )));
    }
    Ok(())
}

/// The same programs for `targets/x86_64-theseus-linux-musl.json` (std from source), in their
/// own target directory. Hermetic: the environment's `RUSTFLAGS` are not used.
fn build_rust_theseus(ws: &Workspace, verbose: bool) -> Result<()> {
    if rust_program_names(ws).is_empty() {
        return Ok(());
    }
    crate::linux_target::build_workspace(
        ws,
        &source_dir(ws),
        &theseus_target_dir(ws),
        "ports/linux",
        verbose,
    )
}

fn up_to_date(src: &Path, out: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(src), modified(out)), (Some(s), Some(o)) if o >= s)
}

/// Compiles every C program whose source changed.
fn build_c(ws: &Workspace, verbose: bool) -> Result<()> {
    let out_dir = c_out_dir(ws);
    std::fs::create_dir_all(&out_dir).context(|| format!("creating {}", out_dir.display()))?;
    for &(source, name, link) in C_PROGRAMS {
        let src = source_dir(ws).join("c").join(source);
        let out = out_dir.join(name);
        if up_to_date(&src, &out) && up_to_date(&source_dir(ws).join("c").join(C_HEADER), &out) {
            continue;
        }
        let mut command = c_command(link, &src, &out)?;
        if verbose {
            eprintln!("xtask: {command:?}");
        }
        let status = command
            .status()
            .context(|| format!("could not start {MUSL_GCC}"))?;
        if !status.success() {
            // A failed link may leave a partial file that would look up to date.
            let _ = std::fs::remove_file(&out);
            return Err(Error::failed(format!(
                "compiling {} with {MUSL_GCC} failed ({status})",
                src.display()
            )));
        }
    }
    Ok(())
}

/// The compiler command for one C program.
///
/// Static-pie: Debian's `musl-gcc` (musl 1.2.3) ignores `-static-pie`. Its specs file replaces
/// gcc's link spec with `-dynamic-linker /lib/ld-musl-x86_64.so.1 -nostdlib` plus `-static` only
/// for `-static`, and its start files are always `Scrt1.o`, so `musl-gcc -static-pie` makes a
/// *dynamically linked* PIE (interpreter ld-musl, libc.so). So the link is spelled out:
/// `-nostdlib` with musl's self-relocating `rcrt1.o` (the static-pie start file), `crti.o`,
/// gcc's `crtbeginS.o`, the program, `libc.a` and libgcc in a group, `crtendS.o`, `crtn.o`,
/// and the linker options gcc itself uses for `-static-pie` (`-static -pie --no-dynamic-linker
/// -z text`, `--eh-frame-hdr`). `file` then says `static-pie linked`.
fn c_command(link: Link, src: &Path, out: &Path) -> Result<Command> {
    let mut command = Command::new(MUSL_GCC);
    command.args(CFLAGS);
    match link {
        Link::Dynamic => {
            command.arg("-o").arg(out).arg(src);
        }
        Link::StaticPie => {
            let lib = Path::new(MUSL_LIB_DIR);
            let rcrt1 = lib.join("rcrt1.o");
            if !rcrt1.is_file() {
                return Err(Error::failed(format!(
                    "{} is missing: the Debian package musl-dev (musl-tools) provides it",
                    rcrt1.display()
                )));
            }
            command.args(["-static-pie", "-fPIE", "-nostdlib", "-o"]);
            command.arg(out);
            command.arg(rcrt1).arg(lib.join("crti.o"));
            command.arg(gcc_file("crtbeginS.o")?);
            command.arg(src);
            command.arg("-Wl,-static,-pie,--no-dynamic-linker,-z,text,--eh-frame-hdr");
            command.args([
                "-Wl,--start-group",
                "-lc",
                "-lgcc",
                "-lgcc_eh",
                "-Wl,--end-group",
            ]);
            command.arg(gcc_file("crtendS.o")?);
            command.arg(lib.join("crtn.o"));
        }
    }
    Ok(command)
}

/// A file of gcc's own (`crtbeginS.o`): `musl-gcc -print-file-name=NAME`.
fn gcc_file(name: &str) -> Result<PathBuf> {
    let output = Command::new(MUSL_GCC)
        .arg(format!("-print-file-name={name}"))
        .output()
        .context(|| format!("could not start {MUSL_GCC}"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if output.status.success() && path.is_absolute() && path.is_file() {
        Ok(path)
    } else {
        Err(Error::failed(format!(
            "{MUSL_GCC} -print-file-name={name} found no such file"
        )))
    }
}

/// The built `/bin/hello-c`, for the bad-input cases made from it.
fn hello_c(ws: &Workspace) -> Result<Vec<u8>> {
    let path = built_programs(ws)
        .into_iter()
        .find(|(name, _)| name == "hello-c")
        .map(|(_, path)| path)
        .ok_or_else(|| Error::failed("hello-c is not built"))?;
    std::fs::read(&path).context(|| format!("reading {}", path.display()))
}

/// `hello-c` cut in half: its segments run past the end of the file.
pub fn truncated_hello(ws: &Workspace) -> Result<Vec<u8>> {
    let mut bytes = hello_c(ws)?;
    bytes.truncate(bytes.len() / 2);
    Ok(bytes)
}

/// `hello-c` claiming to be for AArch64 (`e_machine` 183).
pub fn aarch64_hello(ws: &Workspace) -> Result<Vec<u8>> {
    let mut bytes = hello_c(ws)?;
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_c_source_is_listed_and_exists() {
        let ws = Workspace::locate();
        let dir = source_dir(&ws).join("c");
        let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".c"))
            .collect();
        let listed: BTreeSet<String> = C_PROGRAMS.iter().map(|p| p.0.to_string()).collect();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn finds_the_rust_programs() {
        let ws = Workspace::locate();
        assert!(rust_program_names(&ws).contains(&"linuxcheck".to_string()));
    }

    #[test]
    fn rust_programs_are_installed_for_both_targets() {
        let ws = Workspace::locate();
        let programs = all_programs(&ws);
        let path = |name: &str| {
            programs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| panic!("no /bin/{name}"))
        };
        assert!(path("linuxcheck").ends_with("x86_64-unknown-linux-musl/release/linuxcheck"));
        assert!(
            path("linuxcheck-theseus")
                .ends_with("theseus/x86_64-theseus-linux-musl/release/linuxcheck")
        );
    }

    /// A Linux program must not shadow (or be shadowed by) another `/bin` entry or a WASI
    /// module the shell finds by the same name, and `ports/linux` itself is not a program of
    /// `ports/`.
    #[test]
    fn names_do_not_clash_with_other_programs() {
        let ws = Workspace::locate();
        let ports = crate::ports_build::program_names(&ws);
        assert!(!ports.contains(&"linux".to_string()), "{ports:?}");
        let wasm: Vec<String> = std::fs::read_dir(ws.root().join("wasm/tests/c"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|name| name.strip_suffix(".c").map(str::to_string))
            .collect();
        let programs = all_programs(&ws);
        let mut names: Vec<&str> = programs.iter().map(|(name, _)| name.as_str()).collect();
        for name in &names {
            assert!(!ports.iter().any(|p| p == name), "{name} is also a port");
            assert!(
                !wasm.iter().any(|w| w == name),
                "{name} is also {name}.wasm"
            );
        }
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "two programs with one name");
    }

    #[test]
    fn static_pie_command_spells_out_the_link() {
        // Needs musl-gcc (setup installs it); nothing to check without it.
        if crate::setup::find_on_path(MUSL_GCC).is_none() {
            eprintln!("{MUSL_GCC} not installed: nothing to test");
            return;
        }
        let command = c_command(Link::StaticPie, Path::new("x.c"), Path::new("x")).unwrap();
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let at = |needle: &str| {
            args.iter()
                .position(|a| a.ends_with(needle))
                .unwrap_or_else(|| panic!("{needle} missing in {args:?}"))
        };
        more_asserts::assert_lt!(at("rcrt1.o"), at("crtbeginS.o"));
        more_asserts::assert_lt!(at("crtbeginS.o"), at("x.c"));
        more_asserts::assert_lt!(at("x.c"), at("-lc"));
        more_asserts::assert_lt!(at("-lc"), at("crtendS.o"));
        more_asserts::assert_lt!(at("crtendS.o"), at("crtn.o"));
        assert!(args.iter().any(|a| a.contains("--no-dynamic-linker")));
    }
}
