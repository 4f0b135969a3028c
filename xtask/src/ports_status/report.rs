//! The measured table: one [`Row`] per crate, kept in `ports/STATUS.json`, and
//! `ports/STATUS.md` rendered from it (the table, then the to-do list: the causes that fail
//! the most crates). Nothing here is typed by hand: every field comes from a run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Context, Result};

pub const JSON_PATH: &str = "ports/STATUS.json";
pub const MD_PATH: &str = "ports/STATUS.md";
/// The share of tests that must pass (of those that pass on Linux) for `ok`.
pub const OK_SHARE: f64 = 0.95;

/// One crate, as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    #[serde(rename = "crate")]
    pub krate: String,
    pub version: String,
    /// `ok`, or `failed: ` and the first error line.
    pub build: String,
    pub passed: u64,
    /// Tests that failed in the OS (those in `linux_failed` included).
    pub failed: u64,
    pub ignored: u64,
    /// Of `failed`, those that fail on the Linux host too: not counted against the OS.
    pub linux_failed: u64,
    pub status: Status,
    /// System calls that answered `ENOSYS`, with how many times.
    pub missing_syscalls: BTreeMap<String, u64>,
    pub notes: String,
    /// Failures in the OS only, grouped by reason, with counts.
    pub causes: BTreeMap<String, u64>,
    /// Wall-clock seconds for the build and both sides' runs.
    pub seconds: u64,
    /// `YYYY-MM-DD` of the run.
    pub measured: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// At least [`OK_SHARE`] of the tests that pass on Linux pass in the OS.
    Ok,
    /// Some pass.
    Partial,
    /// The build failed, or no test passed.
    Broken,
    /// It builds, but has no tests to run (none published, or none selected).
    Untested,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::Broken => "broken",
            Status::Untested => "untested",
        }
    }

    /// From the counts of a crate that built.
    pub fn of(passed: u64, failed: u64, linux_failed: u64) -> Status {
        let against = failed.saturating_sub(linux_failed);
        let counted = passed + against;
        if counted == 0 {
            return if failed == 0 {
                Status::Untested
            } else {
                Status::Broken
            };
        }
        if passed as f64 >= OK_SHARE * counted as f64 {
            Status::Ok
        } else if passed > 0 {
            Status::Partial
        } else {
            Status::Broken
        }
    }
}

/// The rows of `ports/STATUS.json` (none if it does not exist yet).
pub fn load(root: &Path) -> Result<Vec<Row>> {
    let path = root.join(JSON_PATH);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).context(|| format!("reading {}", path.display())),
        Err(_) => Ok(Vec::new()),
    }
}

/// Writes both files; rows are sorted by crate name.
pub fn save(root: &Path, rows: &mut [Row], toolchain: &str, commit: &str) -> Result<()> {
    rows.sort_by(|a, b| a.krate.cmp(&b.krate));
    let json = root.join(JSON_PATH);
    let text = serde_json::to_string_pretty(rows).context(|| "encoding rows".to_string())?;
    std::fs::write(&json, text + "\n").context(|| format!("writing {}", json.display()))?;
    let md = root.join(MD_PATH);
    std::fs::write(&md, render(rows, toolchain, commit))
        .context(|| format!("writing {}", md.display()))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `ports/STATUS.md`.
pub fn render(rows: &[Row], toolchain: &str, commit: &str) -> String {
    let mut out = String::new();
    let count = |status: Status| rows.iter().filter(|r| r.status == status).count();
    let dates: Vec<&str> = rows.iter().map(|r| r.measured.as_str()).collect();
    let first = dates.iter().min().copied().unwrap_or("-");
    let last = dates.iter().max().copied().unwrap_or("-");
    let _ = writeln!(out, "# Porting status, measured\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask ports` from its own runs (do not edit): each crate's own test \
         suite, built for `targets/x86_64-theseus-linux-musl.json`, run in the OS (QEMU, TCG, \
         `-cpu max`: SSSE3 and SSE4.2 as on real machines, no AVX) and, the very same binaries, \
         on the Linux host. A test that fails on Linux too is not \
         counted against the OS. `ok`: at least {:.0}% of the tests that pass on Linux pass in \
         the OS. Measured {first}{} with {toolchain}, kernel at {commit}.\n",
        OK_SHARE * 100.0,
        if first == last {
            String::new()
        } else {
            format!(" to {last}")
        }
    );
    let _ = writeln!(
        out,
        "{} crates: {} ok, {} partial, {} broken, {} untested.\n",
        rows.len(),
        count(Status::Ok),
        count(Status::Partial),
        count(Status::Broken),
        count(Status::Untested)
    );
    let _ = writeln!(
        out,
        "| crate | version | build | passed | failed | ignored | fail on Linux too | status | ENOSYS | notes |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---|---|---|");
    for row in rows {
        let missing: Vec<String> = row
            .missing_syscalls
            .iter()
            .map(|(name, n)| format!("{name} ({n})"))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&row.krate),
            cell(&row.version),
            cell(&row.build),
            row.passed,
            row.failed,
            row.ignored,
            row.linux_failed,
            row.status.name(),
            cell(&missing.join(", ")),
            cell(&row.notes)
        );
    }
    out.push_str(&todo(rows));
    out
}

/// The to-do list: system calls that answered `ENOSYS` and failure reasons, each with the
/// crates it blocks, most crates first.
fn todo(rows: &[Row]) -> String {
    let mut by_cause: BTreeMap<String, (Vec<String>, u64)> = BTreeMap::new();
    for row in rows {
        for (call, n) in &row.missing_syscalls {
            let entry = by_cause
                .entry(format!("system call `{call}` answers ENOSYS"))
                .or_default();
            entry.0.push(row.krate.clone());
            entry.1 += n;
        }
        for (reason, n) in &row.causes {
            let entry = by_cause.entry(format!("fails: {reason}")).or_default();
            entry.0.push(row.krate.clone());
            entry.1 += n;
        }
        if row.build != "ok" {
            let entry = by_cause.entry(format!("build: {}", row.build)).or_default();
            entry.0.push(row.krate.clone());
            entry.1 += 1;
        }
    }
    let mut causes: Vec<(String, Vec<String>, u64)> = by_cause
        .into_iter()
        .map(|(cause, (crates, n))| (cause, crates, n))
        .collect();
    causes.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(b.2.cmp(&a.2)));
    let mut out = String::from("\n## To do: the most frequent causes\n\n");
    if causes.is_empty() {
        out.push_str("Nothing failed.\n");
        return out;
    }
    out.push_str("| cause | crates | count (calls or tests) |\n|---|---|---:|\n");
    for (cause, crates, n) in causes.iter().take(30) {
        let _ = writeln!(
            out,
            "| {} | {} | {n} |",
            cell(cause),
            cell(&crates.join(", "))
        );
    }
    if causes.len() > 30 {
        let _ = writeln!(
            out,
            "\n{} more causes in `ports/STATUS.json`.",
            causes.len() - 30
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, status: Status) -> Row {
        Row {
            krate: name.to_string(),
            version: "1.0.0".to_string(),
            build: "ok".to_string(),
            passed: 10,
            failed: 1,
            ignored: 0,
            linux_failed: 1,
            status,
            missing_syscalls: BTreeMap::new(),
            notes: String::new(),
            causes: BTreeMap::new(),
            seconds: 3,
            measured: "2026-12-05".to_string(),
        }
    }

    #[test]
    fn status_from_counts() {
        assert_eq!(Status::of(95, 5, 0), Status::Ok);
        assert_eq!(Status::of(94, 6, 0), Status::Partial);
        assert_eq!(Status::of(90, 10, 10), Status::Ok);
        assert_eq!(Status::of(0, 3, 0), Status::Broken);
        assert_eq!(Status::of(0, 0, 0), Status::Untested);
        assert_eq!(Status::of(0, 2, 2), Status::Broken);
    }

    #[test]
    fn table_and_todo() {
        let mut a = row("a|b", Status::Ok);
        a.missing_syscalls.insert("fork".into(), 3);
        let mut b = row("c", Status::Partial);
        b.missing_syscalls.insert("fork".into(), 1);
        b.causes.insert("timed out".into(), 2);
        let text = render(&[a, b], "rustc 1.97.0-nightly", "abc1234");
        assert!(text.contains("2 crates: 1 ok, 1 partial, 0 broken, 0 untested."));
        assert!(text.contains("| a\\|b | 1.0.0 | ok | 10 | 1 | 0 | 1 | ok | fork (3) |  |"));
        let todo = text.split("## To do").nth(1).unwrap();
        let fork = todo.find("`fork`").unwrap();
        let timed = todo.find("timed out").unwrap();
        assert!(fork < timed, "the cause blocking two crates comes first");
        assert!(todo.contains("| a\\|b, c | 4 |"), "{todo}");
    }
}
