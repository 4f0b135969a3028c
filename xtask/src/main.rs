//! `cargo xtask`: the project's build, run and test tool. `cargo xtask help` lists commands.
//!
//! Every command first makes sure the host tools exist (QEMU, GRUB, xorriso, mtools, the
//! rust-src and llvm-tools components), installing what is missing, then builds the kernel.
//!
//! # Exit status of `cargo xtask run --exec 'CMD'` (public contract)
//!
//! The guest boots, runs the command line `CMD` in its shell, and powers off. xtask's stdout
//! carries exactly the bytes the command line wrote (nothing else); all of xtask's own
//! messages go to stderr, and so do the guest's `ERROR` log lines from before its shell was
//! ready (`xtask: guest: ...`, e.g. a corrupted ramdisk). The exit status is:
//!
//! - `0..=255`: the exit status of the command line in the guest (that of its last command,
//!   as `$?` would show: e.g. `127` for a command that does not exist);
//! - `1` also when the guest stopped (panic, reboot, QEMU exit) before reporting a status:
//!   stderr then says `xtask: guest stopped before the command finished` and shows the last
//!   40 lines of serial output;
//! - `1` also when xtask itself fails before the guest runs (tool install, kernel build,
//!   QEMU start), with `xtask: error: ...` on stderr;
//! - `2` also for a command-line mistake (unknown flag, bad `--add`), with
//!   `xtask: error: ...` on stderr, before anything is built;
//! - `124` when `--timeout SECS` (default 600) expired: QEMU is killed and stderr says
//!   `xtask: timeout after SECS s`.
//!
//! So a status other than 124 can only be told apart from the command's own status by
//! stderr; scripts that need certainty should make the command print a sentinel.

#![forbid(unsafe_code)]

mod bench_net;
mod bench_peer;
mod bench_programs;
mod bench_report;
mod bench_stats;
mod boot;
mod cli;
mod cmdline;
mod commands;
mod coremark;
mod error;
mod exec;
mod fuzz_inputs;
mod iso;
mod kernel_build;
mod ktest;
#[cfg(test)]
mod layers;
mod linux_guest;
mod linux_programs;
mod linux_target;
mod markers;
mod netspec;
mod pcap;
mod ports_build;
mod ports_status;
mod qemu;
mod ramdisk;
mod registry;
mod registry_programs;
mod setup;
mod userland;
mod wasm_bad;
mod wasm_build;
mod wasm_compiler;
mod workspace;

use std::env;
use std::process::ExitCode;

use cli::{Command, Group};
use error::{EXIT_USAGE, Error, Result};
use workspace::Workspace;

fn main() -> ExitCode {
    let code = match dispatch() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            if err.exit_code == EXIT_USAGE {
                eprintln!("xtask: see `cargo xtask help`");
            }
            err.exit_code
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn dispatch() -> Result<i32> {
    let args = env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| Error::usage(format!("argument {arg:?} is not valid UTF-8")))
        })
        .collect::<Result<Vec<String>>>()?;
    let ws = Workspace::locate();
    match cli::parse(&args)? {
        Command::Run(run) => {
            qemu::set_default_cpus(run.smp);
            commands::run::run(&ws, &run)
        }
        Command::Test {
            verbose,
            slow,
            smp,
            cases,
        } => {
            qemu::set_default_cpus(smp);
            if cases.is_empty() {
                commands::test::run(&ws, verbose, slow)
            } else {
                commands::test::run_cases(&ws, &cases, verbose)
            }
        }
        Command::Group {
            group,
            verbose,
            smp,
        } => {
            qemu::set_default_cpus(smp);
            match group {
                Group::WasmRegistry => commands::wasm_registry::run(&ws, verbose),
                Group::Fuzz => commands::fuzz::run(&ws, verbose),
                Group::Network => commands::network::run(&ws, verbose),
                Group::HostCompare => commands::host_compare::run(&ws, verbose),
                Group::WasiCompare => commands::wasi_compare::run(&ws, verbose),
            }
        }
        Command::Build { adds, verbose } => commands::build::run(&ws, &adds, verbose),
        Command::BuildCrate { path, args } => {
            commands::build_crate::run(&ws, std::path::Path::new(&path), &args)
        }
        Command::BootTime { runs, verbose } => commands::boottime::run(&ws, runs, verbose),
        Command::Bench {
            runs,
            smp,
            names,
            verbose,
        } => commands::bench::run(&ws, runs, &smp, &names, verbose),
        Command::Ports { names, verbose } => commands::ports::run(&ws, &names, verbose),
        Command::PortsTry {
            name,
            version,
            features,
            verbose,
        } => commands::ports::try_crate(&ws, &name, version.as_deref(), features, verbose),
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(0)
        }
    }
}
