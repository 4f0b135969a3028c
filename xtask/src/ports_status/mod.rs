//! Porting status measured per crate (`cargo xtask ports`): for each crate of
//! `ports/manifest.toml` (or one named on the command line), its published source, its own
//! tests built for the OS target, every test binary run in the OS and on the Linux host, and
//! one [`report::Row`] from what the runs printed. Work files and logs live in
//! `target/ports-status/` (`logs/CRATE/`: the build log, each binary's output on both sides,
//! and the failing tests with their reasons).
//!
//! | module | job |
//! |---|---|
//! | `manifest` | reads the manifest |
//! | `source` | resolves a version and copies its source |
//! | `test_build` | `cargo test --no-run` for the OS target |
//! | `runner` | runs a test binary in the OS or on the host, again after it stops in a test |
//! | `libtest` | reads libtest's JSON events and the kernel's `ENOSYS` summary |
//! | `report` | rows, `ports/STATUS.json`, `ports/STATUS.md` and its to-do list |

pub mod libtest;
pub mod manifest;
pub mod report;
pub mod runner;
pub mod source;
pub mod test_build;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libtest::Outcome;
use manifest::CrateSpec;
use report::{Row, Status};
use runner::Place;
use test_build::Built;

use crate::error::{Context, Result};
use crate::workspace::Workspace;

/// `target/ports-status`.
pub fn work_dir(ws: &Workspace) -> PathBuf {
    ws.out_dir()
        .parent()
        .map_or_else(|| ws.root().join("target"), PathBuf::from)
        .join("ports-status")
}

/// A crate's measurement: its row and the tests that failed in the OS only, with reasons.
pub struct Measured {
    pub row: Row,
    pub failing: Vec<(String, String)>,
    pub log_dir: PathBuf,
}

/// Measures one crate (errors are only failures of the tool itself: a crate that does not
/// resolve or build gives a `broken` row).
pub fn measure(ws: &Workspace, spec: &CrateSpec, date: &str, verbose: bool) -> Result<Measured> {
    match build_stage(ws, spec, date)? {
        Stage::Done(measured) => Ok(measured),
        Stage::Built(built) => run_stage(ws, spec, built, verbose),
    }
}

/// Measures `specs` in order, building the next crate while the current one's tests run (the
/// OS's single vCPU and the host run leave cargo a core): `each` gets every crate's result
/// as soon as it is measured. A tool failure ends the run after `each` has seen it.
pub fn measure_each(
    ws: &Workspace,
    specs: &[&CrateSpec],
    date: &str,
    verbose: bool,
    mut each: impl FnMut(&CrateSpec, Result<Measured>) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        // Rendezvous: the builder hands over a built crate only when the runner takes it, so
        // it is never more than one crate ahead.
        let (send, receive) = std::sync::mpsc::sync_channel::<Result<Stage>>(0);
        scope.spawn(move || {
            for spec in specs {
                if send.send(build_stage(ws, spec, date)).is_err() {
                    break;
                }
            }
        });
        for (spec, stage) in specs.iter().zip(receive) {
            let result = stage.and_then(|stage| match stage {
                Stage::Done(measured) => Ok(measured),
                Stage::Built(built) => run_stage(ws, spec, built, verbose),
            });
            each(spec, result)?;
        }
        Ok(())
    })
}

/// A crate after its build: measured already (it did not resolve or build, or has no test),
/// or its test binaries ready to run.
enum Stage {
    Done(Measured),
    Built(BuiltCrate),
}

struct BuiltCrate {
    row: Row,
    source: source::Source,
    binaries: Vec<test_build::TestBinary>,
    build_note: Option<String>,
    log_dir: PathBuf,
    /// Time spent building (the row's `seconds` counts building and running, not waiting).
    build_time: Duration,
}

/// Resolves and copies the source and builds the tests.
fn build_stage(ws: &Workspace, spec: &CrateSpec, date: &str) -> Result<Stage> {
    let started = Instant::now();
    let root = work_dir(ws);
    let log_dir = root.join("logs").join(&spec.name);
    let _ = std::fs::remove_dir_all(&log_dir);
    std::fs::create_dir_all(&log_dir).context(|| format!("creating {}", log_dir.display()))?;
    let mut row = Row {
        krate: spec.name.clone(),
        version: String::new(),
        build: "ok".to_string(),
        passed: 0,
        failed: 0,
        ignored: 0,
        linux_failed: 0,
        status: Status::Broken,
        missing_syscalls: BTreeMap::new(),
        notes: spec.notes.clone(),
        causes: BTreeMap::new(),
        seconds: 0,
        measured: date.to_string(),
    };
    let done = |mut row: Row, log_dir: PathBuf| {
        row.seconds = started.elapsed().as_secs();
        Stage::Done(Measured {
            row,
            failing: Vec::new(),
            log_dir,
        })
    };
    let source = match source::prepare(ws, &root, spec) {
        Ok(source) => source,
        Err(err) => {
            row.build = format!("failed: {}", libtest::shorten(&err.to_string(), 200));
            return Ok(done(row, log_dir));
        }
    };
    row.version = source.version.clone();
    let Built { binaries, error } =
        test_build::build(ws, &root, spec, &source, &log_dir.join("build.log"))?;
    let mut build_note = None;
    if let Some(first) = error {
        let linux_log = log_dir.join("build-linux.log");
        if !test_build::builds_for_linux(ws, &root, spec, &source, &linux_log)? {
            build_note = Some(format!(
                "a test target does not build for Linux either: {}",
                libtest::shorten(&first, 160)
            ));
        } else {
            row.build = format!("failed: {}", libtest::shorten(&first, 200));
            return Ok(done(row, log_dir));
        }
    }
    if binaries.is_empty() {
        row.notes = join_notes(&row.notes, build_note.as_deref().unwrap_or("no test built"));
        row.status = Status::Untested;
        return Ok(done(row, log_dir));
    }
    Ok(Stage::Built(BuiltCrate {
        row,
        source,
        binaries,
        build_note,
        log_dir,
        build_time: started.elapsed(),
    }))
}

/// Runs the built tests in the OS and on the host and fills in the row.
fn run_stage(
    ws: &Workspace,
    spec: &CrateSpec,
    built: BuiltCrate,
    verbose: bool,
) -> Result<Measured> {
    let started = Instant::now();
    let BuiltCrate {
        mut row,
        source,
        binaries,
        build_note,
        log_dir,
        build_time,
    } = built;
    let root = work_dir(ws);
    let place = Place {
        ws,
        crate_name: &spec.name,
        version: &source.version,
        src: &source.dir,
        tmp: root.join("build").join("tmp"),
        timeout: spec.timeout(),
        verbose,
    };
    let mut os_results: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut linux_failed: BTreeMap<String, String> = BTreeMap::new();
    let mut problems = Vec::new();
    // The OS runs in QEMU (one core) while the host runs the same binaries.
    let (os_runs, linux_runs) = std::thread::scope(|scope| {
        let linux = scope.spawn(|| -> Result<Vec<runner::BinaryRun>> {
            binaries
                .iter()
                .map(|binary| runner::on_linux(&place, binary, &root.join("host")))
                .collect()
        });
        let os = runner::in_os(&place, &binaries);
        let linux = linux
            .join()
            .unwrap_or_else(|_| Err(crate::error::Error::failed("the host run panicked")));
        (os, linux)
    });
    let (os_runs, linux_runs) = (os_runs?, linux_runs?);
    for ((binary, os), linux) in binaries.iter().zip(os_runs).zip(linux_runs) {
        let file = binary.label.replace(' ', "-");
        write_log(&log_dir.join(format!("os-{file}.log")), &os.output);
        write_log(&log_dir.join(format!("linux-{file}.log")), &linux.output);
        for (name, n) in os.missing {
            *row.missing_syscalls.entry(name).or_insert(0) += n;
        }
        for problem in os.problems {
            problems.push(format!("{}: {problem}", binary.label));
        }
        let qualified = |name: &str| format!("{}: {name}", binary.label);
        for (name, outcome) in os.tests {
            os_results.insert(qualified(&name), outcome);
        }
        for (name, outcome) in linux.tests {
            if let Outcome::Failed(why) = outcome {
                linux_failed.insert(qualified(&name), why);
            }
        }
    }
    let mut failing = Vec::new();
    for (name, outcome) in &os_results {
        match outcome {
            Outcome::Passed => row.passed += 1,
            Outcome::Ignored => row.ignored += 1,
            Outcome::Failed(why) => {
                row.failed += 1;
                if linux_failed.contains_key(name) {
                    row.linux_failed += 1;
                } else {
                    *row.causes.entry(cause(why)).or_insert(0) += 1;
                    failing.push((name.clone(), why.clone()));
                }
            }
        }
    }
    row.status = Status::of(row.passed, row.failed, row.linux_failed);
    if let Some(note) = build_note {
        row.notes = join_notes(&row.notes, &note);
    }
    if !problems.is_empty() {
        row.notes = join_notes(&row.notes, &libtest::shorten(&problems.join("; "), 200));
    }
    let mut text = String::new();
    for (name, why) in &failing {
        let _ = writeln!(text, "{name}\n    {why}");
    }
    write_log(&log_dir.join("failures.txt"), text.as_bytes());
    row.seconds = (build_time + started.elapsed()).as_secs();
    Ok(Measured {
        row,
        failing,
        log_dir,
    })
}

/// A failure reason as a cause shared between tests and crates: digits of addresses, sizes
/// and positions do not make a new cause.
fn cause(why: &str) -> String {
    let mut out = String::new();
    let mut digits = 0;
    for c in why.chars() {
        if c.is_ascii_digit() {
            digits += 1;
            if digits <= 3 {
                out.push(c);
            } else if digits == 4 {
                out.push('…');
            }
        } else {
            digits = 0;
            out.push(c);
        }
    }
    libtest::shorten(&out, 120)
}

fn join_notes(notes: &str, more: &str) -> String {
    if notes.is_empty() {
        more.to_string()
    } else {
        format!("{notes}; {more}")
    }
}

fn write_log(path: &Path, bytes: &[u8]) {
    if let Err(err) = std::fs::write(path, bytes) {
        eprintln!("xtask: writing {}: {err}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_ignore_long_numbers() {
        assert_eq!(cause("os error 38"), "os error 38");
        assert_eq!(
            cause("bad address 0x7fff1234 at 123456"),
            "bad address 0x7fff123… at 123…"
        );
    }
}
