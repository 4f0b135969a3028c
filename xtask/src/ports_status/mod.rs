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
use std::time::Instant;

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
    let broken = |mut row: Row, why: String, log_dir: PathBuf| {
        row.build = format!("failed: {}", libtest::shorten(&why, 200));
        row.seconds = started.elapsed().as_secs();
        Measured {
            row,
            failing: Vec::new(),
            log_dir,
        }
    };
    let source = match source::prepare(ws, &root, spec) {
        Ok(source) => source,
        Err(err) => return Ok(broken(row, err.to_string(), log_dir)),
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
            return Ok(broken(row, first, log_dir));
        }
    }
    if binaries.is_empty() {
        row.notes = join_notes(&row.notes, build_note.as_deref().unwrap_or("no test built"));
        row.status = Status::Untested;
        row.seconds = started.elapsed().as_secs();
        return Ok(Measured {
            row,
            failing: Vec::new(),
            log_dir,
        });
    }
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
    row.seconds = started.elapsed().as_secs();
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
