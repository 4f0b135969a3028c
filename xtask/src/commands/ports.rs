//! `cargo xtask ports [NAME...]` measures the crates of `ports/manifest.toml` (all, or those
//! named) and rewrites `ports/STATUS.json` and `ports/STATUS.md` (rows of crates not measured
//! in this run are kept as they were, with their own dates). `cargo xtask ports try
//! NAME[@VERSION] [--features F]` measures any crate the same way and prints its row and
//! failing tests without touching the table; its exit status is 0 when the crate is `ok`.
//!
//! In `cargo xtask test --slow`, [`group`] measures every crate again (without writing the
//! table) and fails a crate that does worse than its row in `ports/STATUS.json`.

use std::process::Command;

use super::test::Tally;
use crate::error::{Error, Result};
use crate::ports_status::manifest::{self, CrateSpec};
use crate::ports_status::report::{self, Row, Status};
use crate::ports_status::{self, Measured};
use crate::workspace::Workspace;
use crate::{kernel_build, setup};

/// How many failing tests `ports try` lists (all are in the log).
const SHOWN_FAILURES: usize = 40;

pub fn run(ws: &Workspace, names: &[String], verbose: bool) -> Result<i32> {
    let specs = manifest::load(ws.root())?;
    for name in names {
        if !specs.iter().any(|spec| &spec.name == name) {
            return Err(Error::usage(format!(
                "{name} is not in {} (`cargo xtask ports try {name}` measures any crate)",
                manifest::PATH
            )));
        }
    }
    prepare(ws, verbose)?;
    let (date, toolchain, commit) = (today(), toolchain(ws), commit(ws));
    let mut rows = report::load(ws.root())?;
    if names.is_empty() {
        rows.retain(|row| specs.iter().any(|spec| spec.name == row.krate));
    }
    let chosen: Vec<&CrateSpec> = specs
        .iter()
        .filter(|spec| names.is_empty() || names.contains(&spec.name))
        .collect();
    let started = std::time::Instant::now();
    let mut i = 0;
    ports_status::measure_each(ws, &chosen, &date, verbose, |spec, measured| {
        i += 1;
        let measured = measured?;
        println!("ports [{i}/{}] {}", chosen.len(), summary(&measured.row));
        rows.retain(|row| row.krate != spec.name);
        rows.push(measured.row);
        report::save(ws.root(), &mut rows, &toolchain, &commit)
    })?;
    println!(
        "measured {} crates in {} s",
        chosen.len(),
        started.elapsed().as_secs()
    );
    let ok = rows.iter().filter(|row| row.status == Status::Ok).count();
    println!(
        "{} crates in {}: {ok} ok ({}%)",
        rows.len(),
        report::MD_PATH,
        if rows.is_empty() {
            0
        } else {
            ok * 100 / rows.len()
        }
    );
    Ok(0)
}

pub fn try_crate(
    ws: &Workspace,
    name: &str,
    version: Option<&str>,
    features: Vec<String>,
    verbose: bool,
) -> Result<i32> {
    prepare(ws, verbose)?;
    let spec = CrateSpec::adhoc(name, version, features);
    let Measured {
        row,
        failing,
        log_dir,
    } = ports_status::measure(ws, &spec, &today(), verbose)?;
    println!("{}", summary(&row));
    if !row.missing_syscalls.is_empty() {
        let calls: Vec<String> = row
            .missing_syscalls
            .iter()
            .map(|(call, n)| format!("{call} ({n})"))
            .collect();
        println!("ENOSYS: {}", calls.join(", "));
    }
    if !row.notes.is_empty() {
        println!("notes: {}", row.notes);
    }
    for (test, why) in failing.iter().take(SHOWN_FAILURES) {
        println!("FAILED {test}\n    {why}");
    }
    if failing.len() > SHOWN_FAILURES {
        println!("... {} more", failing.len() - SHOWN_FAILURES);
    }
    println!("logs: {}", log_dir.display());
    Ok(if row.status == Status::Ok { 0 } else { 1 })
}

/// The `--slow` group, on an already built kernel: one `ports CRATE ... ok|FAILED` per crate
/// of the manifest, failed when it measures worse than its recorded row.
pub fn group(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    let specs = manifest::load(ws.root())?;
    let recorded = report::load(ws.root())?;
    let date = today();
    let specs: Vec<&CrateSpec> = specs.iter().collect();
    ports_status::measure_each(ws, &specs, &date, verbose, |spec, measured| {
        let result = measured.map(|measured| {
            let before = recorded.iter().find(|row| row.krate == spec.name);
            regression(before, &measured.row)
        });
        if matches!(result, Ok(None)) {
            println!("ports {} ... ok", spec.name);
        }
        tally.record("ports", &spec.name, result);
        Ok(())
    })
}

/// Why `now` is worse than `before` (a worse status, or fewer tests passing than 95% of
/// before's), if it is. A crate without a recorded row only has to build.
fn regression(before: Option<&Row>, now: &Row) -> Option<String> {
    let Some(before) = before else {
        return (now.build != "ok").then(|| format!("  not recorded; now {}", summary(now)));
    };
    let worse = now.status > before.status && before.status != Status::Untested;
    let fewer = (now.passed as f64) < report::OK_SHARE * before.passed as f64;
    (worse || fewer).then(|| {
        format!(
            "  recorded: {}
  now:      {}",
            summary(before),
            summary(now)
        )
    })
}

/// Tools, the kernel and the ramdisk's programs, once for the whole run.
fn prepare(ws: &Workspace, verbose: bool) -> Result<()> {
    setup::ensure_tools(ws, true)?;
    kernel_build::build(ws, verbose)?;
    Ok(())
}

/// `NAME VERSION: STATUS (build ..., P passed, F failed (L fail on Linux too), I ignored, S s)`.
pub fn summary(row: &Row) -> String {
    format!(
        "{} {}: {} (build {}, {} passed, {} failed ({} fail on Linux too), {} ignored, {} s)",
        row.krate,
        if row.version.is_empty() {
            "?"
        } else {
            &row.version
        },
        row.status.name(),
        row.build,
        row.passed,
        row.failed,
        row.linux_failed,
        row.ignored,
        row.seconds
    )
}

fn output_line(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    })
}

/// `YYYY-MM-DD` (UTC).
fn today() -> String {
    output_line(Command::new("date").args(["-u", "+%Y-%m-%d"])).unwrap_or_else(|| "?".into())
}

/// `rustc --version` of the project's toolchain.
fn toolchain(ws: &Workspace) -> String {
    output_line(
        Command::new("rustc")
            .current_dir(ws.root())
            .arg("--version"),
    )
    .unwrap_or_else(|| "rustc (unknown)".into())
}

/// The commit measured (`-dirty` when the tree has changes).
fn commit(ws: &Workspace) -> String {
    let head = output_line(Command::new("git").current_dir(ws.root()).args([
        "rev-parse",
        "--short",
        "HEAD",
    ]))
    .unwrap_or_else(|| "?".into());
    let dirty = Command::new("git")
        .current_dir(ws.root())
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|out| !out.stdout.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn row(status: Status, passed: u64) -> Row {
        Row {
            krate: "x".into(),
            version: "1.0.0".into(),
            build: "ok".into(),
            passed,
            failed: 0,
            ignored: 0,
            linux_failed: 0,
            status,
            missing_syscalls: BTreeMap::new(),
            notes: String::new(),
            causes: BTreeMap::new(),
            seconds: 1,
            measured: "2026-12-05".into(),
        }
    }

    #[test]
    fn regressions_against_the_recorded_row() {
        let ok = row(Status::Ok, 100);
        assert_eq!(regression(Some(&ok), &row(Status::Ok, 100)), None);
        assert_eq!(regression(Some(&ok), &row(Status::Ok, 96)), None);
        assert!(regression(Some(&ok), &row(Status::Ok, 90)).is_some());
        assert!(regression(Some(&ok), &row(Status::Partial, 100)).is_some());
        let partial = row(Status::Partial, 10);
        assert_eq!(regression(Some(&partial), &row(Status::Ok, 12)), None);
        assert_eq!(regression(None, &row(Status::Broken, 0)), None);
        let mut unbuilt = row(Status::Broken, 0);
        unbuilt.build = "failed: error".into();
        assert!(regression(None, &unbuilt).is_some());
    }
}
