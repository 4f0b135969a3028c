//! Reads what a test binary printed: libtest's JSON events (`-Zunstable-options --format
//! json`, one object a line: `{"type":"test","event":"started"|"ok"|"failed"|"ignored",
//! "name":..., "stdout":...}` and the suite's end), and the kernel's summary of the system
//! calls that returned `ENOSYS` (`[strace] ENOSYS: system call N (NAME) xCOUNT`, printed at
//! exit with `THESEUS_STRACE=enosys`). Other lines (a test writing to the console itself) are
//! ignored.

use std::collections::BTreeMap;

use serde_json::Value;

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Ignored,
    /// Failed, with the reason (the panic message, or what stopped the binary).
    Failed(String),
}

/// What one run of a test binary printed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Printed {
    /// Tests that ended, by name.
    pub tests: BTreeMap<String, Outcome>,
    /// The test that started last and did not end (the binary stopped inside it).
    pub unfinished: Option<String>,
    /// The suite reported its end (every selected test ran).
    pub suite_ended: bool,
    /// System-call name (or `#N` without a name) to the number of calls that returned
    /// `ENOSYS`.
    pub missing: BTreeMap<String, u64>,
}

/// The harness's arguments: JSON events, one test at a time (so a binary that stops names
/// the test it stopped in), and `skip` (run before and stopped the binary) left out.
pub fn harness_args(skip: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-Zunstable-options",
        "--format=json",
        "--report-time",
        "--test-threads=1",
        "--exact",
    ]
    .map(str::to_string)
    .to_vec();
    for name in skip {
        args.push("--skip".to_string());
        args.push(name.clone());
    }
    args
}

pub fn parse(output: &[u8]) -> Printed {
    let text = String::from_utf8_lossy(output);
    let mut printed = Printed::default();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("[strace] ENOSYS: system call ") {
            if let Some((name, count)) = parse_missing(rest) {
                *printed.missing.entry(name).or_insert(0) += count;
            }
            continue;
        }
        let Some(start) = line.find("{ \"type\"").or_else(|| line.find("{\"type\"")) else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(&line[start..]) else {
            continue;
        };
        let kind = event.get("type").and_then(Value::as_str);
        let what = event.get("event").and_then(Value::as_str).unwrap_or("");
        if kind == Some("suite") {
            if matches!(what, "ok" | "failed") {
                printed.suite_ended = true;
            }
            continue;
        }
        if kind != Some("test") {
            continue;
        }
        let Some(name) = event.get("name").and_then(Value::as_str) else {
            continue;
        };
        let outcome = match what {
            "started" => {
                printed.unfinished = Some(name.to_string());
                continue;
            }
            "ok" => Outcome::Passed,
            "ignored" => Outcome::Ignored,
            "failed" | "timeout" => Outcome::Failed(panic_message(
                event.get("stdout").and_then(Value::as_str).unwrap_or(""),
            )),
            _ => continue,
        };
        if printed.unfinished.as_deref() == Some(name) {
            printed.unfinished = None;
        }
        printed.tests.insert(name.to_string(), outcome);
    }
    printed
}

/// `N (NAME) xCOUNT` → (`NAME`, COUNT). The kernel names only the calls it has; for `?` the
/// name is Linux's for number N (`inotify_init1`), or `#N` if Linux has none.
fn parse_missing(rest: &str) -> Option<(String, u64)> {
    let (number, rest) = rest.split_once(' ')?;
    let (name, count) = rest.rsplit_once(" x")?;
    let name = name.trim_start_matches('(').trim_end_matches(')');
    let name = if name == "?" || name.is_empty() {
        number
            .parse()
            .ok()
            .and_then(syscalls::x86_64::Sysno::new)
            .map_or_else(|| format!("#{number}"), |call| call.name().to_string())
    } else {
        name.to_string()
    };
    Some((name, count.trim().parse().ok()?))
}

/// The panic message of a failed test's captured output: the line after `panicked at
/// FILE:LINE:COL:`, else the last non-empty line, shortened.
pub fn panic_message(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    let message = lines
        .iter()
        .position(|line| line.contains("panicked at"))
        .and_then(|at| {
            let line = lines[at];
            // Older form: `panicked at 'message', file:line:col`.
            if let Some(quoted) = line.split("panicked at '").nth(1) {
                return quoted.rsplit_once("', ").map(|(m, _)| m.to_string());
            }
            lines.get(at + 1).map(|m| m.to_string())
        })
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|line| !line.trim().is_empty())
                .map(|line| line.to_string())
        })
        .unwrap_or_else(|| "failed (no message)".to_string());
    shorten(message.trim(), 160)
}

pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events_and_missing_calls() {
        let output = concat!(
            "{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": 4 }\r\n",
            "{ \"type\": \"test\", \"event\": \"started\", \"name\": \"a::ok\" }\r\n",
            "{ \"type\": \"test\", \"name\": \"a::ok\", \"event\": \"ok\" }\r\n",
            "{ \"type\": \"test\", \"event\": \"started\", \"name\": \"a::bad\" }\n",
            "stray output of a test\n",
            "{ \"type\": \"test\", \"name\": \"a::bad\", \"event\": \"failed\", \"stdout\": \"\\nthread 'a::bad' panicked at src/lib.rs:3:5:\\nassertion `left == right` failed\\n  left: 1\\n\" }\n",
            "{ \"type\": \"test\", \"event\": \"ignored\", \"name\": \"a::slow\" }\n",
            "{ \"type\": \"test\", \"event\": \"started\", \"name\": \"a::hangs\" }\n",
            "[strace] ENOSYS: system call 56 (clone) x2\n",
            "[strace] ENOSYS: system call 999 (?) x1\n",
            "[strace] ENOSYS: system call 294 (?) x3\n",
        );
        let printed = parse(output.as_bytes());
        assert_eq!(printed.tests.get("a::ok"), Some(&Outcome::Passed));
        assert_eq!(printed.tests.get("a::slow"), Some(&Outcome::Ignored));
        assert_eq!(
            printed.tests.get("a::bad"),
            Some(&Outcome::Failed("assertion `left == right` failed".into()))
        );
        assert_eq!(printed.unfinished.as_deref(), Some("a::hangs"));
        assert!(!printed.suite_ended);
        assert_eq!(printed.missing.get("clone"), Some(&2));
        assert_eq!(printed.missing.get("#999"), Some(&1));
        assert_eq!(printed.missing.get("inotify_init1"), Some(&3));
    }

    #[test]
    fn the_suite_end_is_seen() {
        let printed = parse(
            b"{ \"type\": \"suite\", \"event\": \"ok\", \"passed\": 0, \"failed\": 0, \"ignored\": 0, \"measured\": 0, \"filtered_out\": 0, \"exec_time\": 0.1 }\n",
        );
        assert!(printed.suite_ended && printed.tests.is_empty());
    }

    #[test]
    fn skip_arguments() {
        let args = harness_args(&["x::y".to_string()]);
        assert!(args.ends_with(&["--skip".to_string(), "x::y".to_string()]));
        assert!(args.contains(&"--exact".to_string()));
    }

    #[test]
    fn old_panic_form_and_fallback() {
        assert_eq!(
            panic_message("thread 't' panicked at 'boom', src/a.rs:1:1\n"),
            "boom"
        );
        assert_eq!(
            panic_message("Error: Os { code: 38 }\n\n"),
            "Error: Os { code: 38 }"
        );
        assert_eq!(shorten("abcdef", 3), "abc…");
    }
}
