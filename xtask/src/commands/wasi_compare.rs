//! A group of `cargo xtask test`: WASI test programs of our own (`wasm/tests/c`) run on the
//! host under the `wasmtime` Python package ([`crate::registry`]) and in the OS, with the same
//! two preopens: a fresh scratch directory as `/all` and its subdirectory `box` as `/box`;
//! in the OS once on each engine (`wasm --engine wasmi`, `wasm --engine wasmtime`). Exit status, stdout and stderr must match byte for byte, and wasmtime's status must be 0:
//! the programs check their own expectations, which are written to be wasmtime's, so a
//! change of the reference shows up as a failing host run rather than as a silent new
//! expectation.
//!
//! The sandbox and the preview1 details these programs probe are where runtimes differ, so
//! wasmtime answers live instead of recorded outputs. The first run installs `wasmtime` with
//! `pip` (network once), later runs reuse `target/registry-cache/`.

use std::fs;
use std::path::Path;
use std::time::Duration;

use super::test::Tally;
use super::wasm_registry::{Run, first_difference, run_in_os};
use crate::error::{Context, Error, Result};
use crate::registry::{Cache, shell_quote};
use crate::workspace::Workspace;
use crate::{setup, wasm_build};

/// Per program, in the OS (QEMU, boot included).
const OS_TIMEOUT: Duration = Duration::from_secs(120);

/// The engines each program runs on in the OS.
const ENGINES: [&str; 2] = ["wasmi", "wasmtime"];

/// Where the OS run puts the two preopens.
const GUEST_SCRATCH: &str = "/tmp/wasi-compare";

/// One program: `/bin/{program}.wasm` with `args`.
struct Case {
    program: &'static str,
    args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        program: "sandbox",
        args: &[],
    },
    Case {
        program: "semantics",
        args: &[],
    },
    Case {
        program: "links",
        args: &["/box"],
    },
    Case {
        program: "files",
        args: &["/box"],
    },
];

/// `cargo xtask wasi-compare`: builds the kernel and runs only this group.
pub fn run(ws: &Workspace, verbose: bool) -> Result<i32> {
    super::test::run_group(ws, verbose, group)
}

/// The group, on an already built kernel: one `wasi-compare NAME on ENGINE ... ok|FAILED`
/// per case and engine.
pub fn group(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    let cache = match setup::ensure_python().and_then(|()| Cache::ensure(ws, &[])) {
        Ok(cache) => cache,
        Err(err) => {
            println!("wasi-compare wasmtime ... FAILED: {err}");
            tally.failed += 1;
            return Ok(());
        }
    };
    let modules = wasm_build::built_modules(ws);
    for case in CASES {
        for engine in ENGINES {
            let file = format!("{}.wasm", case.program);
            let result = match modules.iter().find(|(name, _)| *name == file) {
                Some((_, module)) => run_case(ws, &cache, case, engine, module, verbose),
                None => Err(Error::failed(format!("{file} was not built"))),
            };
            let label = format!("{} on {engine}", case.program);
            tally.record("wasi-compare", &label, result);
        }
    }
    Ok(())
}

/// Runs `case` on both sides, in the OS on `engine`; `Some(details)` if they differ or
/// wasmtime's run failed.
fn run_case(
    ws: &Workspace,
    cache: &Cache,
    case: &Case,
    engine: &str,
    module: &Path,
    verbose: bool,
) -> Result<Option<String>> {
    let work = ws
        .ensure_out_dir()?
        .join("wasi-compare")
        .join(format!("{}-{engine}", case.program));
    if work.exists() {
        fs::remove_dir_all(&work).context(|| format!("removing {}", work.display()))?;
    }
    let root = work.join("root");
    fs::create_dir_all(root.join("box")).context(|| format!("creating {}", root.display()))?;
    let (stdout, stderr) = (work.join("stdout"), work.join("stderr"));
    let result = cache
        .host_script("run-boxed")
        .arg(module)
        .arg(&root)
        .arg(&stdout)
        .arg(&stderr)
        .arg(case.program)
        .args(case.args)
        .output()
        .context(|| "could not start python3".to_string())?;
    if !result.stderr.is_empty() {
        return Err(Error::failed(format!(
            "the host reference failed: {}",
            String::from_utf8_lossy(&result.stderr).trim_end()
        )));
    }
    let read = |path: &Path| fs::read(path).context(|| format!("reading {}", path.display()));
    let host = Run {
        status: result.status.code().unwrap_or(-1),
        stdout: read(&stdout)?,
        stderr: read(&stderr)?,
        output: Vec::new(),
    };
    if host.status != 0 {
        return Ok(Some(format!(
            "  under wasmtime the program exited with {} (its expectations are not wasmtime's)\n  stdout: {}",
            host.status,
            String::from_utf8_lossy(&host.stdout).trim_end()
        )));
    }

    let (os, _) = match run_in_os(ws, &guest_command(case, engine), &[], OS_TIMEOUT, verbose)? {
        Ok(done) => done,
        Err(problem) => return Ok(Some(problem)),
    };
    fs::write(work.join("os-stdout"), &os.stdout)
        .context(|| format!("writing {}", work.display()))?;
    if host == os {
        println!(
            "wasi-compare {} on {engine} ... ok (status 0, {} lines of stdout identical with wasmtime)",
            case.program,
            os.stdout.iter().filter(|&&b| b == b'\n').count()
        );
        return Ok(None);
    }
    let mut details = String::new();
    for (what, h, o) in [
        ("stdout", &host.stdout, &os.stdout),
        ("stderr", &host.stderr, &os.stderr),
    ] {
        if h != o {
            details.push_str(&format!("  {what}: {}\n", first_difference(h, o)));
        }
    }
    if let Some(line) = first_differing_line(&host.stdout, &os.stdout) {
        details.push_str(&line);
    }
    if host.status != os.status {
        details.push_str(&format!(
            "  exit status: {} (wasmtime), {} (OS)\n",
            host.status, os.status
        ));
    }
    Ok(Some(details))
}

/// `  wasmtime: LINE\n  OS:       LINE\n` for the first line that differs.
fn first_differing_line(host: &[u8], os: &[u8]) -> Option<String> {
    let (h, o) = (String::from_utf8_lossy(host), String::from_utf8_lossy(os));
    let mut os_lines = o.lines();
    for line in h.lines() {
        let other = os_lines.next().unwrap_or("(nothing)");
        if line != other {
            return Some(format!("  wasmtime: {line}\n  OS:       {other}\n"));
        }
    }
    os_lines
        .next()
        .map(|extra| format!("  wasmtime: (nothing)\n  OS:       {extra}\n"))
}

/// The OS side: a fresh scratch directory with `box` in it, the program run by `wasm` on
/// `engine` with the two preopens, then its status, stdout and stderr after the markers
/// `run_in_os` parses.
fn guest_command(case: &Case, engine: &str) -> String {
    let mut line = format!(
        "mkdir -p {GUEST_SCRATCH}/box /out; wasm --engine {engine} --dir {GUEST_SCRATCH}::/all --dir {GUEST_SCRATCH}/box::/box /bin/{}.wasm",
        case.program
    );
    for arg in case.args {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    line.push_str(" >/out/.stdout 2>/out/.stderr; echo status=$?; echo @@stdout@@; cat /out/.stdout; echo; echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_command_line() {
        assert_eq!(
            guest_command(&CASES[2], "wasmtime"),
            "mkdir -p /tmp/wasi-compare/box /out; wasm --engine wasmtime --dir /tmp/wasi-compare::/all \
             --dir /tmp/wasi-compare/box::/box /bin/links.wasm /box >/out/.stdout \
             2>/out/.stderr; echo status=$?; echo @@stdout@@; cat /out/.stdout; echo; \
             echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@"
        );
    }

    #[test]
    fn differing_lines_are_shown() {
        assert_eq!(first_differing_line(b"a\nb\n", b"a\nb\n"), None);
        assert_eq!(
            first_differing_line(b"a\nb\n", b"a\nc\n").as_deref(),
            Some("  wasmtime: b\n  OS:       c\n")
        );
        assert_eq!(
            first_differing_line(b"a\n", b"a\nx\n").as_deref(),
            Some("  wasmtime: (nothing)\n  OS:       x\n")
        );
    }
}
