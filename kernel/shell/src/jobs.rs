//! Jobs: the stages of a running pipeline, background and stopped jobs, and the `jobs`,
//! `fg`, `bg` and `wait` builtins.

use crate::{INTERRUPT_REASON, Io, STATUS_INTERRUPTED, Shell, WaitEnd, wait_stages};
use alloc::format;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use task::{ExitValue, JoinHandle, State};

/// One command of a pipeline: a task (with the command name and the context its threads
/// share), or a status already known (a builtin that ran in the shell, a command not found, a
/// failed redirection).
pub(crate) enum Stage {
    Task(String, JoinHandle, Weak<vfs::ProcessContext>),
    Done(i32),
}

impl Stage {
    /// True until the stage's program has ended (a stopped one counts): its main task and
    /// every other thread of it, which hold its context (as a Linux shell's `waitpid` returns
    /// once the whole thread group is gone: a command after a killed multi-threaded program
    /// does not see its last threads).
    pub(crate) fn running(&self) -> bool {
        matches!(self, Stage::Task(_, h, ctx)
            if h.task().state() != State::Exited || ctx.strong_count() > 0)
    }

    /// The threads of the stage's program still alive after its main task ended (threads
    /// being killed by its `exit_group`, or left running by a main thread's plain `exit`).
    pub(crate) fn leftover_threads(&self) -> alloc::vec::Vec<task::TaskId> {
        match self {
            Stage::Task(_, h, ctx) if h.task().state() == State::Exited => {
                ctx.upgrade().map_or_else(alloc::vec::Vec::new, |ctx| {
                    let ctx: Arc<dyn core::any::Any + Send + Sync> = ctx;
                    task::tasks_with_context(&ctx)
                })
            }
            _ => alloc::vec::Vec::new(),
        }
    }

    /// The signal the stage's live task is stopped (or asked to stop) by, if any (none once
    /// its main task has ended: a task killed while stopped keeps its stop signal).
    pub(crate) fn stopped(&self) -> Option<i32> {
        match self {
            Stage::Task(_, h, _) if h.task().state() != State::Exited => h.task().stop_signal(),
            _ => None,
        }
    }

    fn exit(&self) -> Option<ExitValue> {
        match self {
            Stage::Task(_, h, _) => h.task().exit_value(),
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

/// A job: a pipeline in the foreground, or in the job table (background or stopped).
pub(crate) struct BgJob {
    /// The job's number in the table (`%N`), 0 until it gets one.
    pub number: usize,
    /// The command line as typed.
    pub text: String,
    pub stages: alloc::vec::Vec<Stage>,
    /// Its process group for the terminal (`vfs::ProcessContext::job`).
    pub pgid: u64,
    /// The terminal settings it had when it was stopped, given back by `fg`.
    pub termios: Option<vfs::Termios>,
    /// The window size when it last owned the terminal (or started): `fg` sends `SIGWINCH`
    /// if it changed meanwhile.
    pub winsize: (u16, u16),
}

impl BgJob {
    /// True until every task of the job has ended (stopped jobs included).
    pub fn running(&self) -> bool {
        self.stages.iter().any(Stage::running)
    }

    /// The signal that stopped the job, if it is stopped: some task is stopped and none of
    /// the others still runs.
    pub fn stopped(&self) -> Option<i32> {
        let signal = self.stages.iter().find_map(Stage::stopped)?;
        self.stages
            .iter()
            .all(|s| !s.running() || s.stopped().is_some())
            .then_some(signal)
    }

    /// `Running`, `Stopped`, `Stopped (tty input)`, `Done`, `Exit S` or `Killed`.
    fn state(&self) -> String {
        match self.stopped() {
            Some(process::SIGTTIN) => return "Stopped (tty input)".into(),
            Some(process::SIGTTOU) => return "Stopped (tty output)".into(),
            Some(_) => return "Stopped".into(),
            None => {}
        }
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
                Stage::Task(_, h, _) => Some(h.id()),
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

/// Sends `signal` to every live task of `job` (`SIGCONT` continues stopped ones).
pub(crate) fn signal_job(job: &BgJob, signal: i32, reason: &str) {
    for stage in &job.stages {
        if let Stage::Task(_, h, _) = stage
            && stage.running()
        {
            let _ = process::signal(h.id(), signal, reason);
        }
    }
}

/// `fg [%N]`: the job gets the terminal (in the mode it had when it stopped), is continued
/// if stopped, and is waited for like a foreground job.
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
    sh.wait_foreground(job, true)
}

/// `bg [%N]`: continues a stopped job in the background.
pub(crate) fn cmd_bg(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let index = match find_job(sh, args.get(1).map(String::as_str)) {
        Ok(i) => i,
        Err(e) => {
            io.err(&format!("bg: {e}\n"));
            return 1;
        }
    };
    let job = &sh.jobs[index];
    if job.stopped().is_none() {
        io.err(&format!("bg: job {} already in background\n", job.number));
        return 0;
    }
    signal_job(job, process::SIGCONT, "");
    io.out(&format!("[{}]+ {} &\n", job.number, job.text));
    0
}

/// `wait`: waits for every background job to end (or stop; Ctrl-C interrupts it).
pub(crate) fn cmd_wait(sh: &mut Shell, _: &[String], _: &mut Io) -> i32 {
    let mut status = 0;
    for job in &sh.jobs {
        match wait_stages(&job.stages, true) {
            WaitEnd::Interrupted => return crate::STATUS_INTERRUPTED,
            WaitEnd::Stopped(signal) => status = 128 + signal,
            WaitEnd::Done => status = job.stages.last().map_or(0, Stage::status),
        }
    }
    status
}
