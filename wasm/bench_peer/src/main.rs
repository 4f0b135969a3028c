//! `wasm-bench-peer [--stdin FILE] [--discard-stdout] [--timed N] [--arg WORD]... MODULE
//! ENGINE... [-- ARG...]`: the Linux peer of the OS's `wasm --engine ENGINE MODULE` for `cargo
//! xtask bench`. Runs the WASI command MODULE (argv: MODULE's name, then the ARGs) on each
//! ENGINE (`wasmi`, `wasmtime`: the kernel's crate versions, see the crate's manifest), in
//! the order given, stdout and stderr passed through, each engine's runs between the lines
//! `wasm-bench: ENGINE start` and `wasm-bench: ENGINE exit STATUS` (or `wasm-bench: ENGINE
//! error MESSAGE`); the OS side prints the same lines around its runs, and xtask reads both the
//! same way. A static `x86_64-unknown-linux-musl` program, started by `osbench --exec` as the
//! Linux guest's process 1.
//!
//! - `--stdin FILE`: the guest's standard input is FILE's contents (else empty).
//! - `--discard-stdout`: the guest's standard output is dropped, not printed.
//! - `--arg WORD` (repeatable): one more guest argument, after those behind `--`; for command
//!   lines that cannot carry `--` (the Linux kernel's hands nothing after a second `--` to init).
//! - `--timed N`: after one untimed run, N timed runs (see `on_wasmi::timed` and
//!   `on_wasmtime::timed` for what each includes), each reported as `wasm-bench: ENGINE time
//!   NANOSECONDS`. Without it, one run, which times itself (CoreMark).
//!
//! Exit status: 0 when every run ended (whatever the guest's status), 1 when one failed, 2
//! usage or file errors.

#![deny(unsafe_code)]

mod imports;
mod on_wasmi;
mod on_wasmtime;
mod wasi;

use std::io::Write;
use std::process::ExitCode;

/// The command line.
#[derive(Debug, Default, PartialEq)]
struct Options {
    stdin: Option<String>,
    discard_stdout: bool,
    timed: Option<usize>,
    module: String,
    engines: Vec<String>,
    guest_args: Vec<String>,
}

fn parse(args: &[String]) -> Option<Options> {
    let (mine, guest_args) = match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (args, &args[args.len()..]),
    };
    let mut options = Options {
        guest_args: guest_args.to_vec(),
        ..Options::default()
    };
    let mut words = mine.iter();
    let mut rest = Vec::new();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--stdin" => options.stdin = Some(words.next()?.clone()),
            "--discard-stdout" => options.discard_stdout = true,
            "--arg" => options.guest_args.push(words.next()?.clone()),
            "--timed" => options.timed = Some(words.next()?.parse().ok().filter(|&n| n > 0)?),
            _ if word.starts_with("--") => return None,
            _ => rest.push(word.clone()),
        }
    }
    let (module, engines) = rest.split_first()?;
    if engines.is_empty() || engines.iter().any(|e| e != "wasmi" && e != "wasmtime") {
        return None;
    }
    options.module = module.clone();
    options.engines = engines.to_vec();
    Some(options)
}

/// One untimed call of `run`, then up to `runs` timed ones, stopping after one that exits
/// with a non-zero status: the last exit code and the times.
fn timed_runs(
    runs: usize,
    mut run: impl FnMut() -> Result<i32, String>,
) -> Result<(i32, Vec<std::time::Duration>), String> {
    let mut status = run()?;
    let mut times = Vec::new();
    while status == 0 && times.len() < runs {
        let began = std::time::Instant::now();
        status = run()?;
        times.push(began.elapsed());
    }
    Ok((status, times))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(options) = parse(&args) else {
        eprintln!(
            "usage: wasm-bench-peer [--stdin FILE] [--discard-stdout] [--timed N] [--arg WORD]... \
             MODULE wasmi|wasmtime... [-- ARG...]"
        );
        return ExitCode::from(2);
    };
    let read =
        |path: &str| std::fs::read(path).map_err(|e| eprintln!("wasm-bench-peer: {path}: {e}"));
    let Ok(bytes) = read(&options.module) else {
        return ExitCode::from(2);
    };
    let stdin = match &options.stdin {
        Some(path) => match read(path) {
            Ok(b) => b,
            Err(()) => return ExitCode::from(2),
        },
        None => Vec::new(),
    };
    let name = options.module.rsplit('/').next().unwrap_or(&options.module);
    let argv: Vec<String> = std::iter::once(name.to_string())
        .chain(options.guest_args.iter().cloned())
        .collect();
    let wasi = || {
        wasi::Wasi::new(argv.clone())
            .with_stdin(stdin.clone())
            .discarding_stdout(options.discard_stdout)
    };
    let mut failed = false;
    for engine in &options.engines {
        println!("wasm-bench: {engine} start");
        let _ = std::io::stdout().flush();
        let outcome = match (options.timed, engine.as_str()) {
            (None, "wasmi") => on_wasmi::run(&bytes, wasi()),
            (None, _) => on_wasmtime::run(&bytes, wasi()),
            (Some(runs), engine) => {
                let timed = if engine == "wasmi" {
                    on_wasmi::timed(&bytes, wasi, runs)
                } else {
                    on_wasmtime::timed(&bytes, wasi, runs)
                };
                timed.map(|(status, times)| {
                    for time in times {
                        println!("wasm-bench: {engine} time {}", time.as_nanos());
                    }
                    status
                })
            }
        };
        match outcome {
            Ok(status) => println!("wasm-bench: {engine} exit {status}"),
            Err(message) => {
                failed = true;
                let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
                println!("wasm-bench: {engine} error {line}");
            }
        }
        let _ = std::io::stdout().flush();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn command_lines() {
        let o = parse(&words("m.wasm wasmi wasmtime -- -x y")).unwrap();
        assert_eq!(o.module, "m.wasm");
        assert_eq!(o.engines, ["wasmi", "wasmtime"]);
        assert_eq!(o.guest_args, ["-x", "y"]);
        assert_eq!((o.stdin, o.discard_stdout, o.timed), (None, false, None));
        let o = parse(&words(
            "--stdin in.svg --discard-stdout --timed 3 m.wasm wasmtime",
        ))
        .unwrap();
        assert_eq!(o.stdin.as_deref(), Some("in.svg"));
        assert!(o.discard_stdout);
        assert_eq!(o.timed, Some(3));
        let o = parse(&words("--arg --x --arg - m.wasm wasmtime -- y")).unwrap();
        assert_eq!(o.guest_args, ["y", "--x", "-"]);
        for bad in [
            "m.wasm wasmi --arg",
            "",
            "m.wasm",
            "m.wasm v8",
            "--timed 0 m.wasm wasmi",
            "--timed",
            "--x m.wasm wasmi",
        ] {
            assert_eq!(parse(&words(bad)), None, "{bad}");
        }
    }
}
