//! Runs one shell command line in a fresh guest and reports its output and exit status.
//!
//! Used by `run --exec`, by the end-to-end tests and by `boottime`. The protocol the kernel
//! follows is described in [`crate::markers`].

use std::cell::Cell;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::boot::{self, BootSpec};
use crate::cmdline::Mode;
use crate::error::Result;
use crate::markers::{Event, MarkerParser};
use crate::netspec::Network;
use crate::qemu::{self, Console, Ending, Flow};
use crate::ramdisk::AddSpec;
use crate::workspace::Workspace;

/// Default `--timeout` for `run --exec`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Exit code when the guest stops without reporting a status.
pub const EXIT_STOPPED: i32 = 1;
/// Exit code on timeout (as coreutils `timeout`).
pub const EXIT_TIMEOUT: i32 = 124;
/// How many lines of serial output to show when the guest stops early.
const TAIL_LINES: usize = 40;
/// How much serial output to keep for that.
const TAIL_BYTES: usize = 64 * 1024;

/// One command to run.
#[derive(Debug, Clone)]
pub struct ExecRequest<'a> {
    pub command: &'a str,
    pub adds: &'a [AddSpec],
    pub timeout: Option<Duration>,
    /// Also stop when the guest prints nothing this long (a test harness that reports every
    /// test: the limit is per test, not for the whole run).
    pub idle_timeout: Option<Duration>,
    /// The QEMU CPU model; `None`: [`qemu::CPU`].
    pub cpu: Option<&'static str>,
    /// vCPUs (`-smp`); `None`: [`qemu::default_cpus`].
    pub cpus: Option<usize>,
    pub iso: bool,
    /// Boot log, tool chatter and timings on stderr.
    pub verbose: bool,
    /// ` verbose` on the kernel command line.
    pub kernel_verbose: bool,
    /// Bytes typed on the serial console, their delay counted from the shell being ready
    /// (the BEGIN marker); `None` leaves QEMU's stdin closed (`run --exec`). Used by the
    /// end-to-end tests (Ctrl-C).
    pub input: Option<qemu::Input>,
    /// Corrupt the ramdisk after its XXH64 is taken ([`BootSpec::corrupt_initrd`]).
    pub corrupt_initrd: bool,
    /// Forwards on the guest's network (`run --forward`, `--connect`).
    pub network: Network,
}

impl<'a> ExecRequest<'a> {
    /// `command` with `adds` and `timeout`, and everything else as `run --exec` has it: the
    /// default CPU, no idle limit, direct boot, quiet, no typed input, an intact ramdisk.
    pub fn new(command: &'a str, adds: &'a [AddSpec], timeout: Duration) -> Self {
        ExecRequest {
            command,
            adds,
            timeout: Some(timeout),
            idle_timeout: None,
            cpu: None,
            cpus: None,
            iso: false,
            verbose: false,
            kernel_verbose: false,
            input: None,
            corrupt_initrd: false,
            network: Network::default(),
        }
    }
}

/// How long the guest took to get its shell ready.
#[derive(Debug, Clone, Copy, Default)]
pub struct BootTiming {
    /// Guest clock, power-on to shell ready, from the BEGIN marker.
    pub guest: Duration,
    /// Host clock, QEMU spawn to the BEGIN marker arriving.
    pub host: Duration,
}

#[derive(Debug)]
pub enum ExecOutcome {
    /// The command ran; `status` is its exit status; `boot_errors` are the guest's
    /// `ERROR` log lines from before the shell was ready (also shown on stderr).
    Completed {
        status: u8,
        timing: BootTiming,
        boot_errors: Vec<String>,
    },
    /// QEMU exited (or was killed) before the END marker.
    Stopped { serial_tail: String },
    /// The timeout expired first (`idle`: the idle timeout, the guest printed nothing for
    /// `after`).
    TimedOut { after: Duration, idle: bool },
}

impl ExecOutcome {
    /// The exit code of `run --exec` (see the contract in main.rs).
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecOutcome::Completed { status, .. } => i32::from(*status),
            ExecOutcome::Stopped { .. } => EXIT_STOPPED,
            ExecOutcome::TimedOut { .. } => EXIT_TIMEOUT,
        }
    }

    /// What went wrong, for stderr; `None` if the command completed.
    pub fn problem(&self) -> Option<String> {
        match self {
            ExecOutcome::Completed { .. } => None,
            ExecOutcome::Stopped { serial_tail } => Some(format!(
                "xtask: guest stopped before the command finished; last serial output:\n{serial_tail}"
            )),
            ExecOutcome::TimedOut { after, idle: false } => {
                Some(format!("xtask: timeout after {} s", after.as_secs()))
            }
            ExecOutcome::TimedOut { after, idle: true } => {
                Some(format!("xtask: no output for {} s", after.as_secs()))
            }
        }
    }
}

/// Runs `request` and returns what the guest printed, or an error naming `what` with that
/// output and the problem when the run did not complete (a boot failure, a timeout, a crash;
/// the command's own exit status is not judged here).
pub fn completed_output(ws: &Workspace, request: &ExecRequest<'_>, what: &str) -> Result<String> {
    let mut out = Vec::new();
    let outcome = exec(ws, request, &mut out)?;
    let output = String::from_utf8_lossy(&out).into_owned();
    if !matches!(outcome, ExecOutcome::Completed { .. }) {
        let problem = outcome.problem().unwrap_or_default();
        return Err(crate::error::Error::failed(format!(
            "{what} failed:\n{output}\n{problem}"
        )));
    }
    Ok(output)
}

/// Boots the (already built) kernel in exec mode and streams the command's output to `out`
/// as it arrives. Errors are failures to set up or start QEMU.
pub fn exec(ws: &Workspace, request: &ExecRequest<'_>, out: &mut dyn Write) -> Result<ExecOutcome> {
    let boot = boot::prepare(
        ws,
        &BootSpec {
            mode: Mode::Exec(request.command.to_string()),
            adds: request.adds,
            iso: request.iso,
            kernel_verbose: request.kernel_verbose,
            verbose: request.verbose,
            corrupt_initrd: request.corrupt_initrd,
        },
    )?;
    let qemu = qemu::command_with_network(
        &boot,
        Console::Piped,
        qemu::kvm_usable(),
        request.cpu.unwrap_or(qemu::CPU),
        &request.network,
        request.cpus.unwrap_or_else(qemu::default_cpus),
    );

    let mut parser = MarkerParser::new();
    let mut serial = SerialTail::default();
    let mut status = None;
    let mut timing = BootTiming::default();
    let mut boot_log = Vec::new();
    let mut boot_errors = Vec::new();
    let ready = Cell::new(false);
    let started = Instant::now();
    let mut handle = |events: Vec<Event>| {
        for event in events {
            match event {
                Event::BootLog(text) => {
                    if request.verbose {
                        let _ = io::stderr().write_all(&text);
                    }
                    if boot_log.len() < TAIL_BYTES {
                        boot_log.extend_from_slice(&text);
                    }
                }
                Event::Begin { boot_us } => {
                    ready.set(true);
                    boot_errors = error_lines(&String::from_utf8_lossy(&boot_log));
                    if !request.verbose {
                        for line in &boot_errors {
                            eprintln!("xtask: guest: {line}");
                        }
                    }
                    timing = BootTiming {
                        guest: Duration::from_micros(boot_us),
                        host: started.elapsed(),
                    };
                    if request.verbose {
                        eprintln!(
                            "xtask: guest boot to shell: {:.1} ms (guest clock), {:.1} ms (host, QEMU spawn to shell ready)",
                            millis(timing.guest),
                            millis(timing.host)
                        );
                    }
                }
                Event::Output(text) => {
                    // A closed stdout (e.g. `| head`) must not stop the guest early.
                    let _ = out.write_all(&text).and_then(|()| out.flush());
                }
                Event::End { status: code } => status = Some(code),
            }
        }
    };

    let ending = qemu::supervise_with_input(
        qemu,
        request.timeout,
        request.idle_timeout,
        qemu::GRACE_AFTER_FINISH,
        request.input.clone(),
        |chunk| {
            serial.push(chunk);
            handle(parser.feed(chunk));
            if parser.finished() {
                Flow::Finished
            } else if ready.get() {
                Flow::Ready
            } else {
                Flow::Continue
            }
        },
    )?;
    handle(parser.finish());

    Ok(match (status, ending) {
        (Some(status), _) => ExecOutcome::Completed {
            status,
            timing,
            boot_errors,
        },
        (None, Ending::TimedOut) => ExecOutcome::TimedOut {
            after: request.timeout.unwrap_or_default(),
            idle: false,
        },
        (None, Ending::Silent) => ExecOutcome::TimedOut {
            after: request.idle_timeout.unwrap_or_default(),
            idle: true,
        },
        (None, _) => ExecOutcome::Stopped {
            serial_tail: serial.last_lines(TAIL_LINES),
        },
    })
}

/// The kernel log's `ERROR` lines (`[    0.123456] ERROR kernel: ...`) of `log`, `\r` removed.
fn error_lines(log: &str) -> Vec<String> {
    log.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| {
            line.split_once("] ")
                .is_some_and(|(_, rest)| rest.starts_with("ERROR "))
        })
        .map(str::to_string)
        .collect()
}

pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The most recent serial output, bounded in size.
#[derive(Debug, Default)]
struct SerialTail {
    bytes: Vec<u8>,
}

impl SerialTail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > 2 * TAIL_BYTES {
            let excess = self.bytes.len() - TAIL_BYTES;
            self.bytes.drain(..excess);
        }
    }

    fn last_lines(&self, count: usize) -> String {
        last_lines(&String::from_utf8_lossy(&self.bytes), count)
    }
}

/// The last `count` lines of `text` (a final line without newline counts), `\r` removed.
pub fn last_lines(text: &str, count: usize) -> String {
    let text = text.replace('\r', "");
    let trimmed = text.strip_suffix('\n').unwrap_or(&text);
    if trimmed.is_empty() {
        return String::from("(no serial output)\n");
    }
    let lines: Vec<&str> = trimmed.split('\n').collect();
    let start = lines.len().saturating_sub(count);
    let mut out = lines[start..].join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_of_serial_output() {
        assert_eq!(last_lines("a\r\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc\n");
        assert_eq!(last_lines("a\n", 40), "a\n");
        assert_eq!(last_lines("", 40), "(no serial output)\n");
    }

    #[test]
    fn boot_errors_are_the_error_lines() {
        let log = "[    0.001000] INFO  kernel: booting\r\n[    0.002000] ERROR kernel: bad ramdisk\r\nERROR not a log line\n";
        assert_eq!(
            error_lines(log),
            ["[    0.002000] ERROR kernel: bad ramdisk"]
        );
    }

    #[test]
    fn serial_tail_is_bounded() {
        let mut tail = SerialTail::default();
        for _ in 0..1000 {
            tail.push(&[b'x'; 1000]);
        }
        more_asserts::assert_le!(tail.bytes.len(), 2 * TAIL_BYTES);
    }

    #[test]
    fn exit_codes() {
        let completed = ExecOutcome::Completed {
            status: 127,
            timing: BootTiming::default(),
            boot_errors: Vec::new(),
        };
        assert_eq!(completed.exit_code(), 127);
        assert!(completed.problem().is_none());
        let stopped = ExecOutcome::Stopped {
            serial_tail: "panic\n".into(),
        };
        assert_eq!(stopped.exit_code(), 1);
        assert!(
            stopped
                .problem()
                .unwrap()
                .starts_with("xtask: guest stopped before the command finished")
        );
        let timed_out = ExecOutcome::TimedOut {
            after: Duration::from_secs(7),
            idle: false,
        };
        assert_eq!(timed_out.exit_code(), 124);
        assert_eq!(timed_out.problem().unwrap(), "xtask: timeout after 7 s");
    }
}
