//! Jobs: the stages of a running pipeline, background jobs and the `jobs`, `fg` and `wait`
//! builtins.

use crate::{INTERRUPT_REASON, Io, STATUS_INTERRUPTED, Shell, wait_stages};
use alloc::format;
use alloc::string::String;
use task::{ExitValue, JoinHandle, State};

/// One command of a pipeline: a task (with the command name), or a status already known
/// (a builtin that ran in the shell, a command not found, a failed redirection).
pub(crate) enum Stage {
    Task(String, JoinHandle),
    Done(i32),
}

impl Stage {
    fn running(&self) -> bool {
        matches!(self, Stage::Task(_, h) if h.task().state() != State::Exited)
    }

    fn exit(&self) -> Option<ExitValue> {
        match self {
            Stage::Task(_, h) => h.task().exit_value(),
            Stage::Done(s) => Some(ExitValue::Exited(*s as isize)),
        }
    }

    /// The stage's exit status (0 while it runs).
    pub(crate) fn status(&self) -> i32 {
        self.exit().map_or(0, |v| exit_status(&v))
    }
}

/// The shell status of a task's end: its return value, or 128 + the signal its kill reason
/// corresponds to (Ctrl-C 130, `kill` 143, faults by their signal, a panic 134 like abort).
pub(crate) fn exit_status(value: &ExitValue) -> i32 {
    match value {
        ExitValue::Exited(v) => *v as i32,
        ExitValue::Killed(reason) => {
            let first = reason.lines().next().unwrap_or("");
            if reason == INTERRUPT_REASON {
                STATUS_INTERRUPTED
            } else if reason == crate::tasks::KILL_REASON {
                128 + 15
            } else {
                signal_in(first).map_or(128 + 6, |n| 128 + n)
            }
        }
    }
}

/// The number of the signal a kill reason names in brackets (`... [SIGSEGV]`), if any.
fn signal_in(reason: &str) -> Option<i32> {
    const NAMES: [&str; 15] = [
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
    ];
    let start = reason.rfind("[SIG")?;
    let name = &reason[start + 1..start + reason[start..].find(']')?];
    NAMES.iter().position(|n| *n == name).map(|i| i as i32 + 1)
}

/// A background job.
pub(crate) struct BgJob {
    pub number: usize,
    /// The command line as typed.
    pub text: String,
    pub stages: alloc::vec::Vec<Stage>,
}

impl BgJob {
    pub fn running(&self) -> bool {
        self.stages.iter().any(Stage::running)
    }

    /// `Running`, `Done`, `Exit S` or `Killed`.
    fn state(&self) -> String {
        if self.running() {
            return "Running".into();
        }
        match self.stages.last().and_then(Stage::exit) {
            Some(ExitValue::Killed(_)) => "Killed".into(),
            Some(ExitValue::Exited(0)) | None => "Done".into(),
            Some(ExitValue::Exited(s)) => format!("Exit {s}"),
        }
    }

    /// `[N] STATE  text\n`.
    pub fn line(&self) -> String {
        format!("[{}] {}  {}\n", self.number, self.state(), self.text)
    }

    /// Task ids of the stages still running.
    pub fn running_ids(&self) -> alloc::vec::Vec<task::TaskId> {
        self.stages
            .iter()
            .filter(|s| s.running())
            .filter_map(|s| match s {
                Stage::Task(_, h) => Some(h.id()),
                Stage::Done(_) => None,
            })
            .collect()
    }
}

/// The job `%N` or `N` names (`None`, `%%` or `%+`: the newest).
pub(crate) fn find_job(sh: &Shell, spec: Option<&str>) -> Result<usize, String> {
    match spec {
        None | Some("%%") | Some("%+") => sh
            .jobs
            .len()
            .checked_sub(1)
            .ok_or_else(|| String::from("no current job")),
        Some(spec) => {
            let n: usize = spec
                .strip_prefix('%')
                .unwrap_or(spec)
                .parse()
                .map_err(|_| format!("{spec}: no such job"))?;
            sh.jobs
                .iter()
                .position(|j| j.number == n)
                .ok_or_else(|| format!("{spec}: no such job"))
        }
    }
}

pub(crate) fn cmd_jobs(sh: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    let mut text = String::new();
    for job in &sh.jobs {
        text.push_str(&job.line());
    }
    // Finished jobs are reported once, here or before the next prompt.
    sh.jobs.retain(BgJob::running);
    io.out(&text);
    0
}

pub(crate) fn cmd_fg(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let index = match find_job(sh, args.get(1).map(String::as_str)) {
        Ok(i) => i,
        Err(e) => {
            io.err(&format!("fg: {e}\n"));
            return 1;
        }
    };
    let job = sh.jobs.remove(index);
    io.out(&format!("{}\n", job.text));
    sh.wait_foreground(&job.stages)
}

pub(crate) fn cmd_wait(sh: &mut Shell, _: &[String], _: &mut Io) -> i32 {
    let mut status = 0;
    for job in &sh.jobs {
        if wait_stages(&job.stages, true) {
            return crate::STATUS_INTERRUPTED;
        }
        status = job.stages.last().map_or(0, Stage::status);
    }
    status
}
