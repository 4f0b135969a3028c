//! `wasmtime-compile IN.wasm OUT.cwasm`: compiles a WebAssembly module with Cranelift into a
//! wasmtime artifact for the kernel's runtime (the configuration of `wasmtime_config`), so no
//! host is needed at run time. A static `x86_64-unknown-linux-musl` program: the kernel runs
//! it through its Linux system-call ABI when a module is not in its compile cache, and it runs
//! unchanged on a Linux host.
//!
//! Exit status: 0 compiled (OUT written), 1 the module does not compile (the reason on
//! stderr, one line), 2 usage or file errors.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.as_slice() {
        [_, flag] if flag == "--fingerprint" => {
            println!("{}", wasmtime_config::FINGERPRINT);
            ExitCode::SUCCESS
        }
        [_, input, output] => compile(input, output),
        _ => {
            eprintln!("usage: wasmtime-compile IN.wasm OUT.cwasm | --fingerprint");
            ExitCode::from(2)
        }
    }
}

fn compile(input: &str, output: &str) -> ExitCode {
    let wasm = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("wasmtime-compile: {input}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = wasmtime::Config::new();
    if let Err(e) = config.target(wasmtime_config::TARGET) {
        eprintln!("wasmtime-compile: {e}");
        return ExitCode::from(2);
    }
    wasmtime_config::configure(&mut config);
    let engine = match wasmtime::Engine::new(&config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("wasmtime-compile: {e}");
            return ExitCode::from(2);
        }
    };
    let artifact = match engine.precompile_module(&wasm) {
        Ok(a) => a,
        Err(e) => {
            // The whole error chain on one line (the kernel prints it as the reason).
            let message = format!("{e:#}");
            eprintln!(
                "{}",
                message.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            return ExitCode::from(1);
        }
    };
    if let Err(e) = std::fs::write(output, artifact) {
        eprintln!("wasmtime-compile: {output}: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
