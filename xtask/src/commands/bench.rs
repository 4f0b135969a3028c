//! `cargo xtask bench [--runs N] [--smp N[,N...]] [NAME...]`: the same benchmark program
//! (`ports/linux/osbench`) in the OS (`run --exec 'osbench NAME...'`) and in a Linux guest in
//! the same QEMU configuration (as its `/init`, see `linux_guest.rs`), run after run
//! alternately (the side that goes first alternates too), plus the boot time of both. Prints each benchmark's
//! medians, ratio and spreads, writes `target/bench/results.json`, and, when every benchmark
//! ran, rewrites the README's generated Performance table from that file. Both guests get the
//! vCPUs `--smp` names (default one); with several counts every selected row runs at each, and
//! the speed-up of each side over the first count is printed and written too.
//!
//! The CoreMark rows run one `coremark.wasm` (`coremark.rs`) on each engine: in the OS with
//! `wasm --engine ENGINE` (a boot of its own), in Linux with `wasm-bench-peer` (`bench_peer.rs`:
//! the same wasmi and wasmtime versions) started by `osbench --exec` as the guest's process 1
//! (a boot of its own, its initramfs holding both files). The value is the time of one CoreMark
//! iteration, 1 / the score CoreMark reports from its own timing (the WASI monotonic clock,
//! a run of at least 10 s it calibrates itself); the module's compilation is not in it.
//! `coremark-x4` runs four wasmtime guests at once (one boot of its own per side) and sums
//! their scores: the throughput of four guests, which more vCPUs should raise.
//! The `ripgrep` and `resvg` rows (whole programs on real input) and the network rows have
//! boots of their own too: `bench_programs.rs`, `bench_net.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::bench_report::{self, CpuRows, Results, Row};
use crate::bench_stats::{parse_coremark_all, parse_coremark_runs, parse_guest_output};
use crate::error::{Context, Error, Result};
use crate::exec::{self, ExecOutcome, ExecRequest};
use crate::ramdisk::AddSpec;
use crate::workspace::Workspace;
use crate::{
    bench_net, bench_peer, bench_programs, coremark, kernel_build, linux_guest, linux_programs,
    qemu, setup,
};

/// Every benchmark: its name (those of `osbench` but `boot`) and what it times.
pub const BENCHES: &[(&str, &str)] = &[
    (
        "boot",
        "power-on to shell prompt (ours) / to `/init` (Linux), host clock from QEMU start",
    ),
    ("null", "null system call (getpid)"),
    ("mmap", "mmap 1 MiB, write every page, munmap"),
    (
        "mprotect",
        "mprotect a page read-only and back, then write it",
    ),
    ("futex", "futex ping-pong between two threads (round trip)"),
    ("thread", "thread spawn + join"),
    (
        "pipe",
        "pipe ping-pong between two threads (1 byte round trip)",
    ),
    (
        "files",
        "create+write, read, delete 1000 files of 100 bytes in /tmp",
    ),
    ("read16m", "read a 16 MiB file in /tmp (64 KiB reads)"),
    ("readdir", "list a directory of 10 000 entries in /tmp"),
    (
        "spawn",
        "spawn + wait of a static program (`osbench --child`)",
    ),
    (
        "parallel",
        "sum of 2^21 mixed integers, then sort of 2^17 random u64 (each thread sorts a part, merged pairwise), split over `available_parallelism()` threads",
    ),
    (
        "coremark-wasmi",
        "CoreMark 1.0 (crates.io `coremark`, wasm32-wasip1) on wasmi 2.0.0: one iteration (1 / score)",
    ),
    (
        "coremark-wasmtime",
        "CoreMark 1.0 on wasmtime 50.0.1 (Cranelift, compile not timed): one iteration (1 / score)",
    ),
    (
        X4_ROW,
        "4 CoreMark guests at once on wasmtime (as coremark-wasmtime): one iteration of the four together (1 / the sum of their scores)",
    ),
    // Whole programs on real input (`bench_programs`), one boot per side for both.
    ("ripgrep", bench_programs::ROWS[0].1),
    ("resvg", bench_programs::ROWS[1].1),
    // The network rows (`bench_net`): `netcheck` behind a hostfwd, driven from the host.
    ("net-tx", bench_net::ROWS[0].1),
    ("net-conn", bench_net::ROWS[1].1),
    ("net-rx", bench_net::ROWS[2].1),
    ("net-rps", bench_net::ROWS[3].1),
];

/// The CoreMark rows: benchmark name and engine (`wasm --engine`, `wasm-bench-peer`).
const COREMARK_ROWS: &[(&str, &str)] = &[
    ("coremark-wasmi", "wasmi"),
    ("coremark-wasmtime", "wasmtime"),
];

/// The row of [`X4_COPIES`] CoreMark guests on wasmtime at once: in the OS as background jobs
/// of the shell, in Linux as processes of `wasm-bench-peer` (`osbench --exec-copies`).
const X4_ROW: &str = "coremark-x4";
const X4_COPIES: usize = 4;

/// Where the module is in both guests.
const COREMARK_OURS: &str = "/bin/coremark.wasm";
const COREMARK_LINUX: &str = "/coremark.wasm";

/// The program, in `/bin` of the OS and as `/init` of the Linux guest.
const PROGRAM: &str = "osbench";
const TIMEOUT: Duration = Duration::from_secs(400);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Linux,
}

/// One side's results of one run: nanoseconds by benchmark name.
type Measured = BTreeMap<String, f64>;

/// The benchmarks to run: `names` in the table's order, or all; unknown names are an error.
pub fn select(names: &[String]) -> Result<Vec<&'static str>> {
    if let Some(unknown) = names
        .iter()
        .find(|n| !BENCHES.iter().any(|(name, _)| name == n))
    {
        let known: Vec<&str> = BENCHES.iter().map(|(n, _)| *n).collect();
        return Err(Error::usage(format!(
            "unknown benchmark `{unknown}` (known: {})",
            known.join(", ")
        )));
    }
    Ok(BENCHES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| names.is_empty() || names.iter().any(|m| m == n))
        .collect())
}

pub fn run(
    ws: &Workspace,
    runs: usize,
    smp: &[usize],
    names: &[String],
    verbose: bool,
) -> Result<i32> {
    let selected = select(names)?;
    let Some((&first_cpus, _)) = smp.split_first() else {
        return Err(Error::usage("--smp names no vCPU count"));
    };
    setup::ensure_tools(ws, true)?;
    kernel_build::build(ws, verbose)?;
    let dir = bench_dir(ws);
    let kernel = linux_guest::ensure_kernel(&dir.join("linux"), verbose)?;
    let program = linux_programs::built_programs(ws)
        .into_iter()
        .find(|(name, _)| name == PROGRAM)
        .map(|(_, path)| path)
        .ok_or_else(|| Error::failed(format!("{PROGRAM} is not built")))?;
    let init = std::fs::read(&program).context(|| format!("reading {}", program.display()))?;
    let initramfs = dir.join("initramfs.cpio");
    std::fs::write(&initramfs, linux_guest::initramfs(&init, &[]))
        .context(|| format!("writing {}", initramfs.display()))?;
    let guest_names: Vec<&str> = selected
        .iter()
        .copied()
        .filter(|n| {
            *n != "boot"
                && *n != X4_ROW
                && coremark_engine(n).is_none()
                && !bench_net::is_net(n)
                && !bench_programs::is_program(n)
        })
        .collect();
    let osbench_boot = selected.contains(&"boot") || !guest_names.is_empty();
    let engines: Vec<&str> = selected.iter().filter_map(|n| coremark_engine(n)).collect();
    let x4 = selected.contains(&X4_ROW);
    let coremark = if engines.is_empty() && !x4 {
        None
    } else {
        let module = coremark::ensure_built(ws, verbose)?;
        let peer = bench_peer::build(ws, verbose)?;
        let read =
            |p: &std::path::Path| std::fs::read(p).context(|| format!("reading {}", p.display()));
        let files: [(&str, &[u8]); 2] = [
            (bench_peer::NAME, &read(&peer)?),
            (COREMARK_LINUX.trim_start_matches('/'), &read(&module)?),
        ];
        let initramfs = dir.join("initramfs-coremark.cpio");
        std::fs::write(&initramfs, linux_guest::initramfs(&init, &files))
            .context(|| format!("writing {}", initramfs.display()))?;
        Some((module, initramfs))
    };
    let program_names: Vec<&str> = selected
        .iter()
        .copied()
        .filter(|n| bench_programs::is_program(n))
        .collect();
    let programs = if program_names.is_empty() {
        None
    } else {
        let peer = if program_names.contains(&"resvg") {
            Some(bench_peer::build(ws, verbose)?)
        } else {
            None
        };
        Some(bench_programs::prepare(
            ws,
            &dir,
            &init,
            peer.as_deref(),
            verbose,
        )?)
    };
    let net = selected.iter().any(|n| bench_net::is_net(n));
    let net_initramfs = if net {
        let netcheck = linux_programs::built_programs(ws)
            .into_iter()
            .find(|(name, _)| name == "netcheck")
            .map(|(_, path)| path)
            .ok_or_else(|| Error::failed("netcheck is not built".to_string()))?;
        Some(bench_net::linux_initramfs(
            &dir.join("linux"),
            &kernel.package,
            &netcheck,
        )?)
    } else {
        None
    };

    // (vCPUs, side, values) of every boot.
    let mut measured: Vec<(usize, Side, Measured)> = Vec::new();
    for &cpus in smp {
        // Every QEMU from here on, ours and Linux's, gets `cpus` vCPUs.
        qemu::set_default_cpus(cpus);
        for run in 1..=runs {
            let order = if run % 2 == 1 {
                [Side::Ours, Side::Linux]
            } else {
                [Side::Linux, Side::Ours]
            };
            for side in order {
                if smp.len() > 1 {
                    eprintln!("xtask: bench, {cpus} vCPUs, run {run}/{runs}: {side:?}");
                } else {
                    eprintln!("xtask: bench run {run}/{runs}: {side:?}");
                }
                let mut values = Measured::new();
                if osbench_boot {
                    let mut osbench = match side {
                        Side::Ours => run_ours(ws, &guest_names, verbose)?,
                        Side::Linux => run_linux(&kernel.vmlinuz, &initramfs, &guest_names)?,
                    };
                    check_threads(&mut osbench, &guest_names, cpus, side)?;
                    values.extend(osbench);
                }
                if let Some((module, initramfs)) = coremark.as_ref().filter(|_| !engines.is_empty())
                {
                    values.extend(match side {
                        Side::Ours => run_ours_coremark(ws, module, &engines, verbose)?,
                        Side::Linux => run_linux_coremark(&kernel.vmlinuz, initramfs, &engines)?,
                    });
                }
                if let Some((module, initramfs)) = coremark.as_ref().filter(|_| x4) {
                    values.extend(match side {
                        Side::Ours => run_ours_x4(ws, module, verbose)?,
                        Side::Linux => run_linux_x4(&kernel.vmlinuz, initramfs)?,
                    });
                }
                if let Some(inputs) = &programs {
                    values.extend(match side {
                        Side::Ours => bench_programs::ours(ws, inputs, &program_names, verbose)?,
                        Side::Linux => {
                            bench_programs::linux(&kernel.vmlinuz, inputs, &program_names)?
                        }
                    });
                }
                if let Some(net_initramfs) = &net_initramfs {
                    values.extend(match side {
                        Side::Ours => bench_net::ours(ws, verbose)?,
                        Side::Linux => bench_net::linux(&kernel.vmlinuz, net_initramfs)?,
                    });
                }
                if verbose {
                    eprintln!("xtask: {values:?}");
                }
                measured.push((cpus, side, values));
            }
        }
    }

    let rows_at = |cpus: usize| -> Vec<Row> {
        selected
            .iter()
            .map(|&name| {
                let what = BENCHES.iter().find(|(n, _)| *n == name).map_or("", |b| b.1);
                let values = |side: Side| -> Vec<f64> {
                    measured
                        .iter()
                        .filter(|(c, s, _)| *c == cpus && *s == side)
                        .filter_map(|(_, _, m)| m.get(name).copied())
                        .collect()
                };
                Row {
                    name: name.to_string(),
                    what: what.to_string(),
                    ours_ns: values(Side::Ours),
                    linux_ns: values(Side::Linux),
                }
            })
            .collect()
    };
    let results = Results {
        date: utc_now(),
        machine: machine(),
        linux_kernel: kernel.package.clone(),
        runs,
        cpus: first_cpus,
        rows: rows_at(first_cpus),
        more_cpus: smp[1..]
            .iter()
            .map(|&cpus| CpuRows {
                cpus,
                rows: rows_at(cpus),
            })
            .collect(),
    };
    let json = dir.join("results.json");
    std::fs::write(&json, results.to_json()).context(|| format!("writing {}", json.display()))?;
    // The table and the README come from the file, as a later reader would see it.
    let text = std::fs::read_to_string(&json).context(|| format!("reading {}", json.display()))?;
    let results = Results::from_json(&text).context(|| format!("parsing {}", json.display()))?;
    print!("{}", results.text_table());
    println!(
        "ratio = our median time / Linux's; results in {}",
        json.display()
    );
    if names.is_empty() {
        let readme = ws.root().join("README.md");
        let old =
            std::fs::read_to_string(&readme).context(|| format!("reading {}", readme.display()))?;
        let new = bench_report::splice_readme(&old, &results.readme_section());
        if new != old {
            std::fs::write(&readme, new).context(|| format!("writing {}", readme.display()))?;
        }
        println!("README.md: Performance table updated");
    }
    Ok(0)
}

/// `target/bench`: the Linux kernel, the initramfs and `results.json`.
fn bench_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("bench")
}

/// The OS: one boot running `osbench NAME...`; boot = QEMU start to the shell's ready marker.
fn run_ours(ws: &Workspace, names: &[&str], verbose: bool) -> Result<Measured> {
    let command = if names.is_empty() {
        "true".to_string()
    } else {
        format!("{PROGRAM} {}", names.join(" "))
    };
    let request = ExecRequest {
        verbose,
        ..ExecRequest::new(&command, &[], TIMEOUT)
    };
    let mut out = Vec::new();
    let outcome = exec::exec(ws, &request, &mut out)?;
    let output = String::from_utf8_lossy(&out).into_owned();
    let ExecOutcome::Completed { status, timing, .. } = outcome else {
        let problem = outcome.problem().unwrap_or_default();
        return Err(Error::failed(format!(
            "the OS side failed:\n{output}\n{problem}"
        )));
    };
    let mut values = if names.is_empty() {
        Measured::new()
    } else {
        guest_values(&output, names, status == 0, "the OS")?
    };
    values.insert("boot".into(), timing.host.as_nanos() as f64);
    Ok(values)
}

/// Linux: one boot with `osbench` as `/init`; boot = QEMU start to its first line.
fn run_linux(
    kernel: &std::path::Path,
    initramfs: &std::path::Path,
    names: &[&str],
) -> Result<Measured> {
    let args: Vec<&str> = if names.is_empty() {
        vec!["--none"]
    } else {
        names.to_vec()
    };
    let guest = boot_osbench(kernel, initramfs, &args)?;
    let mut values = guest_values(&guest.console, names, true, "Linux")?;
    values.insert("boot".into(), guest.boot.as_nanos() as f64);
    Ok(values)
}

/// The `parallel` row's check that the guest's program saw the vCPUs QEMU was given
/// (`osbench: threads N`, its `available_parallelism()`); the line's value is taken out.
fn check_threads(values: &mut Measured, names: &[&str], cpus: usize, side: Side) -> Result<()> {
    let threads = values.remove("threads");
    if !names.contains(&"parallel") || !values.contains_key("parallel") {
        return Ok(());
    }
    match threads {
        Some(n) if n == cpus as f64 => Ok(()),
        other => Err(Error::failed(format!(
            "{side:?}: osbench parallel used {} threads with {cpus} vCPUs",
            other.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string())
        ))),
    }
}

/// The engine of a CoreMark row.
fn coremark_engine(name: &str) -> Option<&'static str> {
    COREMARK_ROWS
        .iter()
        .find(|(row, _)| *row == name)
        .map(|(_, engine)| *engine)
}

/// The OS: one boot running CoreMark on each engine, between the `wasm-bench:` lines that
/// `wasm-bench-peer` prints on the Linux side.
fn run_ours_coremark(
    ws: &Workspace,
    module: &std::path::Path,
    engines: &[&str],
    verbose: bool,
) -> Result<Measured> {
    let command = engines
        .iter()
        .map(|e| {
            format!(
                "echo wasm-bench: {e} start; wasm --engine {e} {COREMARK_OURS}; \
                 echo wasm-bench: {e} exit $?"
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let output = coremark_in_os(ws, module, &command, verbose, "the OS side of CoreMark")?;
    Ok(coremark_values(&output, engines, "the OS"))
}

/// One boot of the OS with the CoreMark module at [`COREMARK_OURS`], running `command`; its
/// output (`what` names the run in errors).
fn coremark_in_os(
    ws: &Workspace,
    module: &std::path::Path,
    command: &str,
    verbose: bool,
    what: &str,
) -> Result<String> {
    let adds = [AddSpec {
        host: module.to_path_buf(),
        guest: COREMARK_OURS.to_string(),
    }];
    let request = ExecRequest {
        verbose,
        ..ExecRequest::new(command, &adds, TIMEOUT)
    };
    exec::completed_output(ws, &request, what)
}

/// Linux: one boot, `osbench --exec /wasm-bench-peer /coremark.wasm ENGINE...` as `/init`.
fn run_linux_coremark(
    kernel: &std::path::Path,
    initramfs: &std::path::Path,
    engines: &[&str],
) -> Result<Measured> {
    let peer = format!("/{}", bench_peer::NAME);
    let mut args = vec!["--exec", &peer, COREMARK_LINUX];
    args.extend_from_slice(engines);
    let guest = boot_osbench(kernel, initramfs, &args)?;
    Ok(coremark_values(&guest.console, engines, "Linux"))
}

/// The OS: one boot, [`X4_COPIES`] `wasm --engine wasmtime` guests started as background jobs
/// (one compiles the module, the others wait for its cache entry), each one's output into a
/// file; `fg` waits for each and takes its status; then each output between the `wasm-bench:`
/// lines, as `osbench --exec-copies` prints them in Linux.
fn run_ours_x4(ws: &Workspace, module: &std::path::Path, verbose: bool) -> Result<Measured> {
    let mut command = vec!["mkdir -p /tmp".to_string()];
    for i in 1..=X4_COPIES {
        command.push(format!(
            "wasm --engine wasmtime {COREMARK_OURS} > /tmp/coremark-{i} &"
        ));
    }
    for i in 1..=X4_COPIES {
        command.push(format!("fg %{i}; S{i}=$?"));
    }
    for i in 1..=X4_COPIES {
        command.push(format!(
            "echo wasm-bench: wasmtime start; cat /tmp/coremark-{i}; \
             echo wasm-bench: wasmtime exit $S{i}"
        ));
    }
    // `&` ends a job as `;` does.
    let command = command.join("; ").replace("&;", "&");
    let output = coremark_in_os(ws, module, &command, verbose, "the OS side of coremark-x4")?;
    Ok(x4_values(&output, "the OS"))
}

/// One boot of the Linux guest with `osbench ARGS` as `/init`, until it is done (or failed).
fn boot_osbench(
    kernel: &std::path::Path,
    initramfs: &std::path::Path,
    args: &[&str],
) -> Result<linux_guest::GuestRun> {
    linux_guest::boot(
        kernel,
        initramfs,
        linux_guest::cmdline(args),
        "osbench: init",
        &["osbench: done", "osbench: failed", "Kernel panic"],
        TIMEOUT,
    )
}

/// Linux: one boot, `osbench --exec-copies 4 /wasm-bench-peer /coremark.wasm wasmtime`.
fn run_linux_x4(kernel: &std::path::Path, initramfs: &std::path::Path) -> Result<Measured> {
    let peer = format!("/{}", bench_peer::NAME);
    let copies = X4_COPIES.to_string();
    let args = ["--exec-copies", &copies, &peer, COREMARK_LINUX, "wasmtime"];
    let guest = boot_osbench(kernel, initramfs, &args)?;
    Ok(x4_values(&guest.console, "Linux"))
}

/// The `coremark-x4` row's value: 1 / the sum of the copies' scores (all must count), or
/// nothing with a warning saying why.
fn x4_values(output: &str, side: &str) -> Measured {
    let runs: Vec<_> = parse_coremark_all(output)
        .into_iter()
        .filter(|(engine, _)| engine == "wasmtime")
        .map(|(_, run)| run)
        .collect();
    let mut values = Measured::new();
    let scores: std::result::Result<Vec<f64>, String> = runs.into_iter().collect();
    match scores {
        Ok(scores) if scores.len() == X4_COPIES => {
            values.insert(X4_ROW.to_string(), 1e9 / scores.iter().sum::<f64>());
        }
        Ok(scores) => eprintln!(
            "xtask: warning: {side}: {X4_ROW}: {} of {X4_COPIES} runs (left out)",
            scores.len()
        ),
        Err(why) => eprintln!("xtask: warning: {side}: {X4_ROW}: {why} (left out)"),
    }
    values
}

/// The CoreMark rows' values (nanoseconds per iteration) in a transcript; an engine whose run
/// does not count is left out with a warning saying why.
fn coremark_values(output: &str, engines: &[&str], side: &str) -> Measured {
    let runs = parse_coremark_runs(output);
    let mut values = Measured::new();
    for &(row, engine) in COREMARK_ROWS.iter().filter(|(_, e)| engines.contains(e)) {
        match runs.get(engine) {
            Some(Ok(score)) => {
                values.insert(row.to_string(), 1e9 / score);
            }
            Some(Err(why)) => eprintln!("xtask: warning: {side}: {row}: {why} (left out)"),
            None => eprintln!("xtask: warning: {side}: {row} did not run (left out)"),
        }
    }
    values
}

/// The values in `osbench`'s output: an error unless it ran to its end; a benchmark that
/// failed in the guest (`osbench: NAME error`) is left out with a warning.
fn guest_values(output: &str, names: &[&str], exited_ok: bool, side: &str) -> Result<Measured> {
    let report = parse_guest_output(output);
    if report.failed || !report.done || !exited_ok {
        return Err(Error::failed(format!(
            "{side}: {PROGRAM} did not finish; its output:\n{output}"
        )));
    }
    for name in names.iter().filter(|n| !report.values.contains_key(**n)) {
        eprintln!("xtask: warning: {side}: benchmark {name} failed (left out)");
    }
    Ok(report.values)
}

/// `YYYY-MM-DD HH:MM` in UTC, from `date`.
fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown date".into())
}

/// The host's CPU model and count, and QEMU's version.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|p| p.1.trim())
        })
        .unwrap_or("unknown CPU");
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let qemu = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().replace("QEMU emulator version", "QEMU"))
        })
        .unwrap_or_else(|| "QEMU".into());
    format!("{cpus} x {model}, {qemu}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_keeps_table_order_and_rejects_unknown_names() {
        assert_eq!(select(&[]).unwrap().len(), BENCHES.len());
        let names = vec!["pipe".to_string(), "null".to_string()];
        assert_eq!(select(&names).unwrap(), ["null", "pipe"]);
        let err = select(&["nope".to_string()]).unwrap_err();
        assert_eq!(err.exit_code, 2);
    }

    #[test]
    fn guest_values_need_every_name_and_the_end_line() {
        let out = "osbench: null 10\nosbench: pipe 20\nosbench: done\n";
        let values = guest_values(out, &["null", "pipe"], true, "x").unwrap();
        assert_eq!(values["pipe"], 20.0);
        let partial = guest_values(out, &["null", "mmap"], true, "x").unwrap();
        assert!(!partial.contains_key("mmap"));
        assert!(guest_values("osbench: null 10\n", &["null"], true, "x").is_err());
        assert!(guest_values(out, &["null"], false, "x").is_err());
    }

    #[test]
    fn coremark_rows_are_time_per_iteration() {
        let out = "wasm-bench: wasmi start\nIterations/Sec   : 250\n\
                   Correct operation validated.\nwasm-bench: wasmi exit 0\n\
                   wasm-bench: wasmtime start\nwasm-bench: wasmtime exit 139\n";
        let values = coremark_values(out, &["wasmi", "wasmtime"], "x");
        assert_eq!(values.len(), 1);
        assert_eq!(values["coremark-wasmi"], 4e6);
        assert!(coremark_values(out, &["wasmtime"], "x").is_empty());
        assert_eq!(coremark_engine("coremark-wasmtime"), Some("wasmtime"));
        assert_eq!(coremark_engine("null"), None);
        // Every CoreMark row is a benchmark of the table.
        for (row, _) in COREMARK_ROWS {
            assert!(select(&[row.to_string()]).is_ok());
        }
    }

    #[test]
    fn x4_row_sums_the_scores_of_every_copy() {
        let run = |score: &str| {
            format!(
                "wasm-bench: wasmtime start\nIterations/Sec   : {score}\n\
                 Correct operation validated.\nwasm-bench: wasmtime exit 0\n"
            )
        };
        let four = [run("100"), run("150"), run("150"), run("100")].concat();
        assert_eq!(x4_values(&four, "x")[X4_ROW], 2e6);
        // Three of four, or one that did not validate: no value.
        assert!(x4_values(&four[run("100").len()..], "x").is_empty());
        let bad = four.replacen("Correct operation validated.\n", "", 1);
        assert!(x4_values(&bad, "x").is_empty());
        let failed = four.replacen("exit 0", "exit 139", 1);
        assert!(x4_values(&failed, "x").is_empty());
    }

    /// The program's benchmark names are the table's (but `boot`, CoreMark, the network rows
    /// and `resvg`, which the shell and `wasm-bench-peer` run).
    #[test]
    fn names_match_the_program() {
        let ws = Workspace::locate();
        let source =
            std::fs::read_to_string(ws.root().join("ports/linux/osbench/src/main.rs")).unwrap();
        let osbench_rows = BENCHES.iter().filter(|(n, _)| {
            *n != "boot"
                && *n != "resvg"
                && *n != X4_ROW
                && coremark_engine(n).is_none()
                && !bench_net::is_net(n)
        });
        for (name, _) in osbench_rows {
            assert!(
                source.contains(&format!("(\"{name}\", ")),
                "{name} not in osbench"
            );
        }
    }
}
