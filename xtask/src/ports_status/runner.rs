//! Runs one test binary to the end on one side (in the OS, or on the Linux host), in the
//! crate's source directory, as `cargo test` would. The harness runs one test at a time; when
//! the binary stops inside a test (it hangs past the timeout, the process dies, or the OS
//! stops), that test is recorded as failed with the reason, and the binary runs again without
//! it, up to [`MAX_RERUNS`] times.
//!
//! In the OS one boot (`exec`) runs all of a crate's binaries, added to the ramdisk as
//! `/ports-test/I`, with the crate's source directory at its host path, so paths compiled into
//! the tests (`env!("CARGO_MANIFEST_DIR")`, `CARGO_TARGET_TMPDIR`) are valid there too. On
//! the host each binary runs by itself; the two sides run at the same time.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::libtest::{self, Outcome};
use super::test_build::TestBinary;
use crate::error::{Context, Result};
use crate::exec::{self, ExecOutcome, ExecRequest};
use crate::qemu;
use crate::ramdisk::AddSpec;
use crate::registry::shell_quote;
use crate::workspace::Workspace;

/// How many times a binary is run again after stopping inside a test.
const MAX_RERUNS: usize = 4;
/// The most one boot may take, however steadily its tests end (a test's own limit is
/// [`Place::timeout`]).
const BINARY_LIMIT: Duration = Duration::from_secs(3600);
/// The most one test binary may take on the host.
const HOST_LIMIT: Duration = Duration::from_secs(900);
/// Where test binaries go in the guest.
const GUEST_DIR: &str = "/ports-test";

/// Where and how a crate's tests run.
pub struct Place<'a> {
    pub ws: &'a Workspace,
    pub crate_name: &'a str,
    pub version: &'a str,
    /// The crate's source directory (the tests' working directory).
    pub src: &'a Path,
    /// `CARGO_TARGET_TMPDIR` of integration tests (made before they run).
    pub tmp: PathBuf,
    /// How long one test may run in the OS (libtest prints an event as each test starts and
    /// ends, so silence that long means the test is stuck).
    pub timeout: Duration,
    pub verbose: bool,
}

/// A binary's results on one side.
#[derive(Debug, Default, Clone)]
pub struct BinaryRun {
    pub tests: BTreeMap<String, Outcome>,
    pub missing: BTreeMap<String, u64>,
    /// What went wrong beyond single tests (the binary stopped outside any test, too many
    /// reruns).
    pub problems: Vec<String>,
    /// Everything printed, run after run (the log).
    pub output: Vec<u8>,
}

/// How one run ended.
#[derive(Debug, Clone)]
enum Ended {
    Status(i32),
    /// Over the limit: one test's (`idle`) or the run's.
    TimedOut {
        after: Duration,
        idle: bool,
    },
    Stopped(String),
}

impl Ended {
    fn describe(&self) -> String {
        match self {
            Ended::Status(status) => format!("the test binary exited with status {status}"),
            Ended::TimedOut { after, idle: true } => {
                format!("did not finish within {} s", after.as_secs())
            }
            Ended::TimedOut { after, idle: false } => {
                format!("the run went over its {} s", after.as_secs())
            }
            Ended::Stopped(why) => why.clone(),
        }
    }
}

/// One binary's results so far, and what its next run must skip.
struct Progress<'a> {
    binary: &'a TestBinary,
    result: BinaryRun,
    skip: Vec<String>,
    runs: usize,
    done: bool,
}

impl<'a> Progress<'a> {
    fn new(binary: &'a TestBinary) -> Self {
        Progress {
            binary,
            result: BinaryRun::default(),
            skip: Vec::new(),
            runs: 0,
            done: false,
        }
    }

    fn args(&self) -> Vec<String> {
        if self.binary.harness {
            libtest::harness_args(&self.skip)
        } else {
            Vec::new()
        }
    }

    /// Takes one run's output; afterwards `done` says whether the binary needs no other run.
    fn absorb(&mut self, output: &[u8], ended: Ended) {
        let printed = libtest::parse(output);
        self.runs += 1;
        self.result.output.extend_from_slice(output);
        for (name, count) in printed.missing {
            *self.result.missing.entry(name).or_insert(0) += count;
        }
        if !self.binary.harness {
            let outcome = match ended {
                Ended::Status(0) => Outcome::Passed,
                other => Outcome::Failed(other.describe()),
            };
            self.result
                .tests
                .insert("(harness = false)".to_string(), outcome);
            self.done = true;
            return;
        }
        self.result.tests.extend(printed.tests);
        if printed.suite_ended && matches!(ended, Ended::Status(_)) {
            self.done = true;
            return;
        }
        let why = ended.describe();
        let Some(stopped_in) = printed.unfinished else {
            self.result
                .problems
                .push(format!("stopped outside any test: {why}"));
            self.done = true;
            return;
        };
        self.result.tests.insert(
            stopped_in.clone(),
            Outcome::Failed(format!("{why} in this test")),
        );
        self.skip.push(stopped_in);
        if self.runs > MAX_RERUNS {
            self.result.problems.push(format!(
                "gave up after {} runs that stopped inside a test",
                self.runs
            ));
            self.done = true;
        }
    }
}

/// Runs `binary` on this (Linux) host, again after each stop inside a test.
/// `scratch` holds the run's `HOME` and its output file.
pub fn on_linux(place: &Place<'_>, binary: &TestBinary, scratch: &Path) -> Result<BinaryRun> {
    let mut progress = Progress::new(binary);
    while !progress.done {
        let (output, ended) = once_on_linux(place, binary, &progress.args(), scratch)?;
        progress.absorb(&output, ended);
    }
    Ok(progress.result)
}

/// Runs every binary in the OS: one boot runs them in turn; after a stop (a test past its
/// limit, the OS stopping), the next boot goes on from the binary that stopped, skipping the
/// test it stopped in.
pub fn in_os(place: &Place<'_>, binaries: &[TestBinary]) -> Result<Vec<BinaryRun>> {
    let mut progress: Vec<Progress<'_>> = binaries.iter().map(Progress::new).collect();
    while let Some(next) = progress.iter().position(|p| !p.done) {
        let batch: Vec<(usize, Vec<String>)> = (next..progress.len())
            .filter(|&j| !progress[j].done)
            .map(|j| (j, progress[j].args()))
            .collect();
        let (output, ended) = boot_in_os(place, binaries, &batch)?;
        let segments = split_segments(&output);
        if !segments.iter().any(|(j, _, _)| *j == next) {
            // The OS stopped before the first binary began: no rerun would do better.
            let why = format!("the OS did not start it: {}", ended.describe());
            progress[next].result.problems.push(why);
            progress[next].result.output.extend_from_slice(&output);
            progress[next].done = true;
            continue;
        }
        for (j, text, status) in segments {
            let Some(p) = progress.get_mut(j) else {
                continue;
            };
            let stopped_here = status.is_none();
            p.absorb(text, status.map_or_else(|| ended.clone(), Ended::Status));
            if stopped_here {
                break;
            }
        }
    }
    Ok(progress.into_iter().map(|p| p.result).collect())
}

const BEGIN: &str = "@@ports-begin ";
const END: &str = "@@ports-end ";

/// Splits a boot's output at the markers around each binary: `(index, output, status)`, the
/// status missing for a binary the boot stopped in.
fn split_segments(output: &[u8]) -> Vec<(usize, &[u8], Option<i32>)> {
    let mut segments = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    let mut at = 0;
    for line in output.split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end();
        if let Some(index) = text.strip_prefix(BEGIN).and_then(|n| n.parse().ok()) {
            current = Some((index, at + line.len()));
        } else if let Some(rest) = text.strip_prefix(END)
            && let Some((index, status)) = rest.split_once(' ')
            && let (Ok(index), Ok(status)) = (index.parse::<usize>(), status.parse::<i32>())
            && let Some((begun, from)) = current
            && begun == index
        {
            segments.push((index, &output[from..at], Some(status)));
            current = None;
        }
        at += line.len();
    }
    if let Some((index, from)) = current {
        segments.push((index, &output[from..], None));
    }
    segments
}

/// The environment `cargo test` gives a test at run time that tests read.
fn test_env(place: &Place<'_>) -> Vec<(String, String)> {
    vec![
        (
            "CARGO_MANIFEST_DIR".to_string(),
            place.src.display().to_string(),
        ),
        ("CARGO_PKG_NAME".to_string(), place.crate_name.to_string()),
        ("CARGO_PKG_VERSION".to_string(), place.version.to_string()),
    ]
}

/// One boot that runs the binaries of `batch` (`(index, arguments)`) in turn, each between
/// `@@ports-begin I` and `@@ports-end I STATUS` lines.
fn boot_in_os(
    place: &Place<'_>,
    binaries: &[TestBinary],
    batch: &[(usize, Vec<String>)],
) -> Result<(Vec<u8>, Ended)> {
    let mut adds = vec![AddSpec::parse(&format!(
        "{}:{}",
        place.src.display(),
        place.src.display()
    ))?];
    let mut command = format!(
        "mkdir -p {}; cd {}",
        shell_quote(&place.tmp.display().to_string()),
        shell_quote(&place.src.display().to_string())
    );
    let env: String = test_env(place)
        .into_iter()
        .map(|(key, value)| format!("{key}={} ", shell_quote(&value)))
        .collect();
    for (index, args) in batch {
        let binary = &binaries[*index];
        let guest = format!("{GUEST_DIR}/{index}");
        adds.push(AddSpec::parse(&format!(
            "{}:{guest}",
            binary.path.display()
        ))?);
        command.push_str(&format!(
            "; echo {BEGIN}{index}; {env}THESEUS_STRACE=enosys {guest}"
        ));
        for arg in args {
            command.push(' ');
            command.push_str(&shell_quote(arg));
        }
        command.push_str(&format!("; echo {END}{index} $?"));
    }
    // Without the harness nothing reports progress: a test's limit is the whole run's.
    let all_harness = batch.iter().all(|(index, _)| binaries[*index].harness);
    let limit = if all_harness {
        BINARY_LIMIT
    } else {
        place.timeout * batch.len() as u32
    };
    let request = ExecRequest {
        idle_timeout: all_harness.then_some(place.timeout),
        cpu: Some(qemu::FULL_CPU),
        verbose: place.verbose,
        ..ExecRequest::new(&command, &adds, limit)
    };
    let mut output = Vec::new();
    let outcome = exec::exec(place.ws, &request, &mut output)?;
    let ended = match outcome {
        ExecOutcome::Completed { status, .. } => Ended::Status(i32::from(status)),
        ExecOutcome::TimedOut { after, idle } => Ended::TimedOut { after, idle },
        ExecOutcome::Stopped { serial_tail } => {
            let last = serial_tail
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string();
            Ended::Stopped(libtest::shorten(&format!("the OS stopped: {last}"), 160))
        }
    };
    Ok((output, ended))
}

fn once_on_linux(
    place: &Place<'_>,
    binary: &TestBinary,
    args: &[String],
    scratch: &Path,
) -> Result<(Vec<u8>, Ended)> {
    std::fs::create_dir_all(&place.tmp).context(|| format!("creating {}", place.tmp.display()))?;
    let home = scratch.join("home");
    std::fs::create_dir_all(&home).context(|| format!("creating {}", home.display()))?;
    let out_path = scratch.join("output");
    let out = File::create(&out_path).context(|| format!("creating {}", out_path.display()))?;
    let mut command = Command::new(&binary.path);
    command
        .args(args)
        .current_dir(place.src)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &home)
        .envs(test_env(place))
        .stdin(Stdio::null())
        .stdout(Stdio::from(
            out.try_clone()
                .context(|| "duplicating a descriptor".to_string())?,
        ))
        .stderr(Stdio::from(out));
    let mut child = command
        .spawn()
        .context(|| format!("could not start {}", binary.path.display()))?;
    let started = Instant::now();
    let ended = loop {
        if let Some(status) = child.try_wait().context(|| "waiting".to_string())? {
            use std::os::unix::process::ExitStatusExt;
            break match (status.code(), status.signal()) {
                (Some(code), _) => Ended::Status(code),
                (None, Some(signal)) => Ended::Stopped(format!("killed by signal {signal}")),
                _ => Ended::Stopped("ended without a status".to_string()),
            };
        }
        if started.elapsed() > HOST_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break Ended::TimedOut {
                after: HOST_LIMIT,
                idle: false,
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read(&out_path).unwrap_or_default();
    Ok((output, ended))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(harness: bool) -> TestBinary {
        TestBinary {
            label: "lib".into(),
            path: "/b/x".into(),
            harness,
        }
    }

    #[test]
    fn segments_between_markers() {
        let output = b"boot noise\n@@ports-begin 0\r\nA\n@@ports-end 0 0\n@@ports-begin 2\nB\nC";
        let segments = split_segments(output);
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0], (0, &b"A\n"[..], Some(0)));
        assert_eq!(segments[1], (2, &b"B\nC"[..], None));
    }

    #[test]
    fn a_stop_inside_a_test_fails_it_and_skips_it_next_time() {
        let bin = binary(true);
        let mut progress = Progress::new(&bin);
        let first = b"{ \"type\": \"test\", \"event\": \"started\", \"name\": \"a\" }\n\
{ \"type\": \"test\", \"name\": \"a\", \"event\": \"ok\" }\n\
{ \"type\": \"test\", \"event\": \"started\", \"name\": \"stuck\" }\n";
        progress.absorb(
            first,
            Ended::TimedOut {
                after: Duration::from_secs(9),
                idle: true,
            },
        );
        assert!(!progress.done);
        assert!(
            progress
                .args()
                .ends_with(&["--skip".to_string(), "stuck".to_string()])
        );
        assert_eq!(
            progress.result.tests.get("stuck"),
            Some(&Outcome::Failed(
                "did not finish within 9 s in this test".into()
            ))
        );
        let second = b"{ \"type\": \"suite\", \"event\": \"ok\", \"passed\": 1 }\n";
        progress.absorb(second, Ended::Status(0));
        assert!(progress.done);
        assert_eq!(progress.result.tests.get("a"), Some(&Outcome::Passed));
    }

    #[test]
    fn without_the_harness_the_status_decides() {
        let bin = binary(false);
        let mut progress = Progress::new(&bin);
        assert!(progress.args().is_empty());
        progress.absorb(b"whatever\n", Ended::Status(3));
        assert!(progress.done);
        assert_eq!(
            progress.result.tests.get("(harness = false)"),
            Some(&Outcome::Failed(
                "the test binary exited with status 3".into()
            ))
        );
    }

    #[test]
    fn a_binary_that_keeps_stopping_is_given_up() {
        let bin = binary(true);
        let mut progress = Progress::new(&bin);
        for round in 0..=MAX_RERUNS {
            assert!(!progress.done);
            let line = format!(
                "{{ \"type\": \"test\", \"event\": \"started\", \"name\": \"t{round}\" }}\n"
            );
            progress.absorb(
                line.as_bytes(),
                Ended::Stopped("the OS stopped: panic".into()),
            );
        }
        assert!(progress.done);
        assert_eq!(progress.result.problems.len(), 1);
    }
}
