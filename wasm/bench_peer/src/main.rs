//! `wasm-bench-peer FILE ENGINE... [-- ARG...]`: the Linux peer of the OS's `wasm --engine
//! ENGINE FILE` for `cargo xtask bench`. Runs the WASI command FILE (argv: FILE's name, then
//! the ARGs) once on each ENGINE (`wasmi`, `wasmtime`: the kernel's crate versions, see the
//! crate's manifest), in the order given, stdout and stderr passed through, each run between
//! the lines `wasm-bench: ENGINE start` and `wasm-bench: ENGINE exit STATUS` (or `wasm-bench:
//! ENGINE error MESSAGE`); the OS side prints the same lines around its runs, and xtask reads
//! both the same way. A static `x86_64-unknown-linux-musl` program, started by `osbench
//! --exec` as the Linux guest's process 1.
//!
//! Exit status: 0 when every run ended (whatever the guest's status), 1 when one failed, 2
//! usage or file errors.

#![forbid(unsafe_code)]

mod on_wasmi;
mod on_wasmtime;
mod wasi;

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mine, guest_args) = match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (&args[..], &args[args.len()..]),
    };
    let [file, engines @ ..] = mine else {
        return usage();
    };
    if engines.is_empty() || engines.iter().any(|e| e != "wasmi" && e != "wasmtime") {
        return usage();
    }
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("wasm-bench-peer: {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let name = file.rsplit('/').next().unwrap_or(file);
    let argv: Vec<String> = std::iter::once(name.to_string())
        .chain(guest_args.iter().cloned())
        .collect();
    let mut failed = false;
    for engine in engines {
        println!("wasm-bench: {engine} start");
        let _ = std::io::stdout().flush();
        let wasi = wasi::Wasi::new(argv.clone());
        let outcome = if engine == "wasmi" {
            on_wasmi::run(&bytes, wasi)
        } else {
            on_wasmtime::run(&bytes, wasi)
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

fn usage() -> ExitCode {
    eprintln!("usage: wasm-bench-peer FILE wasmi|wasmtime... [-- ARG...]");
    ExitCode::from(2)
}
