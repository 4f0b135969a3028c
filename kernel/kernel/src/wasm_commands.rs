//! The shell's WebAssembly commands, registered into the shell at boot (the shell itself
//! depends on no `wasm/` crate; this crate links everything): `wasm [--engine
//! wasmi|wasmtime] [--dir HOST[::GUEST]]... [--env K=V]... [--fuel N] [--max-memory BYTES]
//! FILE.wasm [ARGS...]` (explicit preopens and environment, a sandbox) and `NAME` found as
//! `NAME.wasm` on `$PATH` (feels native: the whole file system preopened as `/`, the shell's
//! cwd as `.`, the program environment; `WASM_ENGINE=wasmi|wasmtime` in it picks the engine).
//! Both run the module in the calling task (the shell gives it a task of its own with the
//! command's stdio, so Ctrl-C stops it like any job) with wasmtime (`wasmtime_runner`: native
//! code, compiled inside the OS on the first run and cached), the default, or wasmi
//! (`wasm_runner`: the interpreter); `proc_exit`'s code becomes `$?`; a module that cannot
//! run prints one line and gives 125, a trap 128 + the signal a native program would have
//! died of. `wasm --fuel N` and `--max-memory BYTES` limit one run (`-W fuel=N` and `-W
//! max-memory-size=BYTES`, wasmtime's spellings, are accepted too); only wasmi meters fuel,
//! so `--fuel` without `--engine` runs on wasmi.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use shell::Io;
use wasi_host::Preopen;

/// Gives the shell its WebAssembly commands, and starts the task that advances wasmtime's
/// epoch while guests run (`wasmtime_runner::run_epoch_ticker`: a killed guest that computes
/// without host calls checks for its kill at the next epoch). It is the boot task's child, in
/// no job, so no Ctrl-C or `kill` of a guest ends it.
pub fn register() {
    shell::set_wasm_engine(shell::WasmEngine {
        run_file,
        command: cmd_wasm,
    });
    let ticker = task::Builder::new("wasm-epoch")
        .stack_pages(4)
        .spawn(|| wasmtime_runner::run_epoch_ticker());
    if let Err(e) = ticker {
        log::warn!(
            "wasm-epoch: cannot start ({e:?}): a killed wasmtime guest ends at its next host call"
        );
    }
}

/// `NAME` resolved to a module file: runs `path` as command `name` with `argv`, the whole file
/// system preopened as `/` and the cwd as `.`, in the environment of the task's context.
fn run_file(name: &str, path: &str, argv: Vec<String>, io: &mut Io) -> i32 {
    let ctx = vfs::current_context();
    let preopens = alloc::vec![("/".into(), "/".into()), (ctx.cwd(), ".".into())];
    let env = ctx.env_vars();
    let engine = match env.iter().find(|(key, _)| key == ENGINE_VAR) {
        Some((_, value)) if !value.is_empty() => match Engine::parse(value) {
            Some(engine) => engine,
            None => {
                io.err(&format!(
                    "{name}: {ENGINE_VAR}={value}: expected wasmi or wasmtime\n"
                ));
                return 2;
            }
        },
        _ => Engine::DEFAULT,
    };
    let limits = wasm_runner::Limits::default();
    run_module(name, path, argv, env, preopens, (engine, limits), io)
}

/// The environment variable that picks the engine of a by-name run (`WASM_ENGINE=wasmi
/// NAME`); unset or empty, [`Engine::DEFAULT`] runs it. The guest sees it like any other
/// variable of its environment.
const ENGINE_VAR: &str = "WASM_ENGINE";

fn read_module(path: &str) -> Result<Vec<u8>, vfs::Errno> {
    let fd = vfs::open(path, vfs::OpenOptions::read_only())?;
    let bytes = vfs::read_to_end(fd);
    let _ = vfs::close(fd);
    bytes
}

/// Opens each `(host path, guest name)` directory for the guest: its access is bound to the
/// directory opened here, whatever is renamed later. On an error the ones opened are closed.
fn open_preopens(dirs: Vec<(String, String)>) -> Result<Vec<Preopen>, String> {
    let mut preopens: Vec<Preopen> = Vec::new();
    for (host, guest) in dirs {
        match vfs::open(&host, vfs::OpenOptions::read_only().directory(true)) {
            Ok(dir) => preopens.push(Preopen { dir, guest }),
            Err(e) => {
                for p in preopens {
                    let _ = vfs::close(p.dir);
                }
                return Err(format!("{host}: {e}"));
            }
        }
    }
    Ok(preopens)
}

/// The engine that runs a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    /// `wasm_runner`: the wasmi interpreter.
    Wasmi,
    /// `wasmtime_runner`: native code compiled by Cranelift.
    Wasmtime,
}

impl Engine {
    /// The engine of by-name runs and of `wasm` without `--engine` (or `--fuel`): wasmtime,
    /// which runs native code (CoreMark about 7 times wasmi's score in the OS) and passes
    /// every test wasmi does; the price is a compile on a module's first run (1.4 s for a
    /// small one under QEMU TCG, minutes for a very large one), cached for later runs.
    const DEFAULT: Engine = Engine::Wasmtime;

    /// `wasmi` or `wasmtime`.
    fn parse(name: &str) -> Option<Engine> {
        match name {
            "wasmi" => Some(Engine::Wasmi),
            "wasmtime" => Some(Engine::Wasmtime),
            _ => None,
        }
    }
}

/// Runs `path` and turns the outcome into a status, printing errors as `prefix: error`.
/// `dirs`: the `(host path, guest name)` directories to preopen.
fn run_module(
    prefix: &str,
    path: &str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dirs: Vec<(String, String)>,
    (engine, limits): (Engine, wasm_runner::Limits),
    io: &mut Io,
) -> i32 {
    let bytes = match read_module(path) {
        Ok(b) => b,
        Err(e) => {
            io.err(&format!("{prefix}: {e}\n"));
            return shell::STATUS_NOT_FOUND;
        }
    };
    let preopens = match open_preopens(dirs) {
        Ok(p) => p,
        Err(e) => {
            io.err(&format!("{prefix}: {e}\n"));
            return 2;
        }
    };
    let outcome = match engine {
        Engine::Wasmi => wasm_runner::run_with_limits(&bytes, args, env, preopens, limits),
        Engine::Wasmtime => wasmtime_runner::run(
            &bytes,
            args,
            env,
            preopens,
            limits,
            &crate::wasmtime_compiler::compile,
        ),
    };
    match outcome {
        Ok(code) => code & 0xff,
        // No compiler, or it failed on a module it did not reject: the interpreter needs none.
        Err(e @ wasmtime_runner::RunError::Compiler(_)) => {
            io.err(&format!(
                "{prefix}: {e} (the wasmi interpreter needs no compiler: `wasm --engine wasmi`, \
                 or `{ENGINE_VAR}=wasmi` before a name)\n"
            ));
            e.status()
        }
        Err(e) => {
            io.err(&format!("{prefix}: {e}\n"));
            e.status()
        }
    }
}

const USAGE: &str = "usage: wasm [--engine wasmi|wasmtime] [--dir HOST[::GUEST]]... \
                     [--env K=V]... [--fuel N] [--max-memory BYTES] FILE.wasm [ARGS...]\n\
                     engine: wasmtime (native code, compiled on the first run and cached) \
                     unless --engine wasmi, or --fuel N (only the wasmi interpreter meters fuel)\n";

/// A byte count: digits with an optional `K`, `M` or `G` suffix (powers of 1024).
fn parse_bytes(text: &str) -> Option<usize> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 10),
        b'M' | b'm' => (&text[..text.len() - 1], 20),
        b'G' | b'g' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let n: usize = digits.parse().ok()?;
    n.checked_mul(1usize << shift)
}

/// `wasm [--engine wasmi|wasmtime] [--dir HOST[::GUEST]]... [--env K=V]... [--fuel N]
/// [--max-memory BYTES] FILE.wasm [ARGS...]`: runs a WASI module with the engine (unless
/// given, [`Engine::DEFAULT`], or wasmi with `--fuel`, which only wasmi meters), only the given directories preopened (`GUEST`
/// defaults to `HOST` as written), only the given environment, and optionally at most `N`
/// units of fuel (about one per instruction; running out is a trap, status 152) and a
/// linear memory of at most `BYTES` (default 128 MiB; `K`/`M`/`G` suffixes allowed). `-W
/// fuel=N` and `-W max-memory-size=BYTES` are wasmtime's spellings of the last two.
fn cmd_wasm(args: &[String], io: &mut Io) -> i32 {
    let mut preopens = Vec::new();
    let mut env = Vec::new();
    let mut limits = wasm_runner::Limits::default();
    let mut engine = None;
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_str();
        let (opt, inline) = match a.split_once('=') {
            Some((o @ ("--dir" | "--env" | "--fuel" | "--max-memory" | "--engine"), v)) => {
                (o, Some(v))
            }
            _ => (a, None),
        };
        match opt {
            "--" => {
                i += 1;
                break;
            }
            "--dir" | "--env" | "--fuel" | "--max-memory" | "--engine" | "-W" => {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        match args.get(i) {
                            Some(v) => v.as_str(),
                            None => {
                                io.err(USAGE);
                                return 2;
                            }
                        }
                    }
                };
                let (opt, value) = match (opt, value.split_once('=')) {
                    ("-W", Some(("fuel", v))) => ("--fuel", v),
                    ("-W", Some(("max-memory-size", v))) => ("--max-memory", v),
                    ("-W", _) => {
                        io.err(&format!(
                            "wasm: -W {value}: expected fuel=N or max-memory-size=BYTES\n"
                        ));
                        return 2;
                    }
                    _ => (opt, value),
                };
                if opt == "--engine" {
                    engine = match Engine::parse(value) {
                        Some(engine) => Some(engine),
                        None => {
                            io.err(&format!(
                                "wasm: --engine {value}: expected wasmi or wasmtime\n"
                            ));
                            return 2;
                        }
                    };
                } else if opt == "--fuel" {
                    match value.parse::<u64>() {
                        Ok(n) => limits.fuel = Some(n),
                        Err(_) => {
                            io.err(&format!("wasm: --fuel {value}: expected a number\n"));
                            return 2;
                        }
                    }
                } else if opt == "--max-memory" {
                    match parse_bytes(value) {
                        Some(n) => limits.max_memory = n,
                        None => {
                            io.err(&format!(
                                "wasm: --max-memory {value}: expected a byte count (K, M, G allowed)\n"
                            ));
                            return 2;
                        }
                    }
                } else if opt == "--env" {
                    match value.split_once('=') {
                        Some((k, v)) if !k.is_empty() => env.push((k.into(), v.into())),
                        _ => {
                            io.err(&format!("wasm: --env {value}: expected NAME=VALUE\n"));
                            return 2;
                        }
                    }
                } else {
                    let (host, guest) = value.split_once("::").unwrap_or((value, value));
                    let abs = match vfs::absolute(host) {
                        Ok(p)
                            if vfs::stat(&p).is_ok_and(|s| s.kind == vfs::FileKind::Directory) =>
                        {
                            p
                        }
                        _ => {
                            io.err(&format!("wasm: --dir {host}: not a directory\n"));
                            return 2;
                        }
                    };
                    preopens.push((abs, guest.into()));
                }
                i += 1;
            }
            _ if a.starts_with("--") => {
                io.err(&format!("wasm: unknown option {a}\n{USAGE}"));
                return 2;
            }
            _ => break,
        }
    }
    let Some(file) = args.get(i) else {
        io.err(USAGE);
        return 2;
    };
    let engine = match (engine, limits.fuel) {
        (Some(Engine::Wasmtime), Some(_)) => {
            io.err("wasm: --fuel needs --engine wasmi (wasmtime runs without fuel metering)\n");
            return 2;
        }
        (Some(engine), _) => engine,
        // Only wasmi meters fuel: a budget picks it.
        (None, Some(_)) => Engine::Wasmi,
        (None, None) => Engine::DEFAULT,
    };
    let prefix = format!("wasm: {file}");
    let args = args[i..].to_vec();
    run_module(&prefix, file, args, env, preopens, (engine, limits), io)
}
