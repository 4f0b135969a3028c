//! The shell on the serial console: reads lines with `line_editor`, parses them with
//! `shell_parse`, and runs every command of a pipeline as its own task with its own
//! `vfs::ProcessContext` (stdin/stdout/stderr: the console, pipe ends, or redirected files).
//! Builtins that change the shell's state (`cd`, `exit`, assignments, `jobs`, `fg`, `kill`,
//! `wait`, `env`, `poweroff`) run in the shell's own task.
//!
//! Owns: shell variables (`$?`, `$HOME`, `$PWD`...), the current directory, the command
//! table, the background job table, Ctrl-C handling for the foreground job, Tab completion.
//! Depends on `vfs` (files, pipes, contexts, the console's terminal mode and signals), `tty`
//! (raw mode for the editor), `task` (spawn/kill/wait), `serial` (the editor's output),
//! `memory` and `time` (the `mem`, `uptime`, `date`, `sleep` commands), `shell_parse`,
//! `line_editor`. It reaches files only through `vfs`, never the file tree's crates
//! (`memfs`, `rootfs`): xtask's layer test checks that.
//!
//! WebAssembly (`wasm.rs`): the `wasm` command and `NAME` resolving to `NAME.wasm` on
//! `$PATH` run a WASI module in a task of its own through the [`WasmEngine`] the kernel
//! registers at boot (`kernel/kernel/src/wasm_commands.rs`); the shell depends on no `wasm/`
//! crate.
//!
//! Console input rule: at the prompt the shell reads the console in raw mode; while a
//! foreground job runs, the job owns console input in the terminal's starting (canonical)
//! mode (its stdin is the console unless redirected), except that Ctrl-C, Ctrl-\\ and
//! Ctrl-Z raise signals the shell delivers to the job. Every job is a process group
//! (`vfs::ProcessContext::job`); the foreground one owns the terminal
//! (`vfs::set_console_foreground`), and a background job that reads it is stopped
//! (`SIGTTIN`) until `fg`. Ctrl-Z stops the foreground job (`SIGTSTP`): the shell puts it in
//! the job table with the terminal mode it had, and `fg`/`bg` continue it.
//!
//! To add a command: write `fn cmd_NAME(args: &[String], io: &mut Io) -> i32` in the
//! `commands/` module of its job (`files`, `text`, `system`) and add a row to `COMMANDS`
//! (`commands/mod.rs`).

#![no_std]

extern crate alloc;

mod commands;
mod complete;
mod jobs;
mod tasks;
mod tests;
mod wasm;

pub use complete::Completion;
pub use tasks::run_crash;
pub use wasm::{STACK_PAGES as WASM_STACK_PAGES, WasmEngine, set_wasm_engine};

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use commands::Run;
use jobs::{BgJob, Stage};
use line_editor::{Event, LineEditor};
use shell_parse::{Job, RedirectKind, SimpleCommand};
use vfs::{Fd, File, FileKind, OpenOptions, Stat};

/// What a command reads and writes. A task command's `Io` uses its task's descriptors 0, 1
/// and 2 (through `vfs`); a builtin running in the shell's task gets the files directly.
pub struct Io {
    files: Option<[Arc<dyn File>; 3]>,
}

impl Io {
    /// The running task's fds 0, 1, 2.
    pub fn fds() -> Io {
        Io { files: None }
    }

    /// Explicit stdin, stdout, stderr.
    pub fn with_files(stdin: Arc<dyn File>, stdout: Arc<dyn File>, stderr: Arc<dyn File>) -> Io {
        Io {
            files: Some([stdin, stdout, stderr]),
        }
    }

    /// The open file behind `fd` (0, 1 or 2).
    pub fn file(&self, fd: Fd) -> vfs::Result<Arc<dyn File>> {
        match &self.files {
            Some(files) => files.get(fd as usize).cloned().ok_or(vfs::Errno::EBADF),
            None => vfs::file(fd),
        }
    }

    /// Writes all of `bytes` to `fd`.
    pub fn write(&self, fd: Fd, mut bytes: &[u8]) -> vfs::Result<()> {
        match &self.files {
            None => vfs::write_all(fd, bytes),
            Some(_) => {
                let f = self.file(fd)?;
                while !bytes.is_empty() {
                    match f.write(bytes)? {
                        0 => return Err(vfs::Errno::ENOSPC),
                        n => bytes = &bytes[n..],
                    }
                }
                Ok(())
            }
        }
    }

    /// Writes to stdout, reporting failure (a closed pipe gives `BrokenPipe`).
    pub fn write_out(&self, bytes: &[u8]) -> vfs::Result<()> {
        self.write(1, bytes)
    }

    /// Writes to stdout, ignoring failure.
    pub fn out(&mut self, s: &str) {
        let _ = self.write(1, s.as_bytes());
    }

    /// Writes to stderr, ignoring failure.
    pub fn err(&mut self, s: &str) {
        let _ = self.write(2, s.as_bytes());
    }
}

/// An in-memory output file: what a capturing shell's commands write to fds 1 and 2.
struct CaptureFile {
    buf: spin::Mutex<Vec<u8>>,
    ino: u64,
}

impl File for CaptureFile {
    fn kind(&self) -> FileKind {
        FileKind::CharDevice
    }

    fn write(&self, buf: &[u8]) -> vfs::Result<usize> {
        self.buf.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn stat(&self) -> vfs::Result<Stat> {
        Ok(Stat {
            kind: FileKind::CharDevice,
            size: 0,
            allocated: 0,
            mode: 0o600,
            nlink: 1,
            created: 0,
            modified: 0,
            accessed: 0,
            ino: self.ino,
        })
    }
}

/// Status of a command that was not found.
pub const STATUS_NOT_FOUND: i32 = 127;
/// Status of a program file that could not be run (not an executable, missing symbols...).
pub const STATUS_CANNOT_EXECUTE: i32 = 126;
/// Status of a job stopped by Ctrl-C (128 + SIGINT).
pub const STATUS_INTERRUPTED: i32 = 130;
/// The kill reason of tasks ended by Ctrl-C.
pub(crate) const INTERRUPT_REASON: &str = "interrupted (Ctrl-C)";
/// The kill reason of tasks ended by Ctrl-\\ (a status of 131, as `SIGQUIT`).
pub(crate) const QUIT_REASON: &str = "quit (Ctrl-\\) [SIGQUIT]";

/// How waiting for a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEnd {
    /// Every task ended by itself (or by a signal it did not take from the terminal).
    Done,
    /// Every task ended after a Ctrl-C or Ctrl-\\ was delivered.
    Interrupted,
    /// The job stopped (Ctrl-Z, a stop signal): this signal.
    Stopped(i32),
}

/// Woken when a job's task ends or Ctrl-C is intercepted; the shell waits on it.
static JOB_EVENT: task::WaitQueue = task::WaitQueue::new();

/// Called by the kernel's COM1 interrupt handler after the received bytes went through the
/// console's line discipline: wakes the shell if the terminal raised a signal (Ctrl-C,
/// Ctrl-\\) for the foreground job.
pub fn serial_input_hook() {
    if vfs::console_signal_pending() {
        JOB_EVENT.notify_all();
    }
}

/// Called by the kernel as each task ends, once its end is published (`task`'s end
/// observer): wakes the shell if it waits for a job, whose tasks (programs' threads included)
/// may be among those that end. The tasks the shell starts also notify it themselves, but
/// before their end is visible; this is the wake-up that finds them ended.
pub fn task_end_hook() {
    JOB_EVENT.notify_all();
}

/// Asks the shell to stop its foreground job, as a Ctrl-C on the console does.
pub fn interrupt_foreground() {
    vfs::raise_console_signal(SIGINT);
    JOB_EVENT.notify_all();
}

/// `SIGINT`, what Ctrl-C raises.
const SIGINT: i32 = 2;

pub struct Shell {
    vars: BTreeMap<String, String>,
    cwd: String,
    last_status: i32,
    /// Set by `exit`: stop running commands and leave with this status.
    exit: Option<i32>,
    /// The shell's own stdin, stdout, stderr: what its jobs inherit.
    stdin: Arc<dyn File>,
    stdout: Arc<dyn File>,
    stderr: Arc<dyn File>,
    /// When capturing, the file fds 1 and 2 write to.
    capture: Option<Arc<CaptureFile>>,
    /// Background and stopped jobs, oldest first.
    jobs: Vec<BgJob>,
    /// When the foreground job being run started, if it was prefixed with `time`.
    timing: Option<u64>,
}

impl Default for Shell {
    fn default() -> Self {
        Self::new()
    }
}

impl Shell {
    /// A shell on the console.
    pub fn new() -> Self {
        let console: Arc<dyn File> = Arc::new(vfs::Console::new());
        Self::with_stdio(console.clone(), console.clone(), console)
    }

    /// A shell whose jobs inherit the given stdin, stdout and stderr.
    pub fn with_stdio(stdin: Arc<dyn File>, stdout: Arc<dyn File>, stderr: Arc<dyn File>) -> Self {
        let mut vars = BTreeMap::new();
        vars.insert("HOME".into(), "/".into());
        vars.insert("PATH".into(), "/bin".into());
        vars.insert("PWD".into(), "/".into());
        Shell {
            vars,
            cwd: "/".into(),
            last_status: 0,
            exit: None,
            stdin,
            stdout,
            stderr,
            capture: None,
            jobs: Vec::new(),
            timing: None,
        }
    }

    /// A shell whose output (its own and its commands' fds 1 and 2) is kept in memory (see
    /// [`Shell::take_output`]) and whose commands read an empty stdin.
    pub fn capturing() -> Self {
        let capture = Arc::new(CaptureFile {
            buf: spin::Mutex::new(Vec::new()),
            ino: u64::MAX - 1,
        });
        let out: Arc<dyn File> = capture.clone();
        let mut sh = Self::with_stdio(Arc::new(vfs::NullDevice::new()), out.clone(), out);
        sh.capture = Some(capture);
        sh
    }

    /// What a capturing shell and its commands have printed so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.capture
            .as_ref()
            .map(|c| core::mem::take(&mut *c.buf.lock()))
            .unwrap_or_default()
    }

    /// Prints on the shell's stderr (messages of the shell itself).
    fn emit(&mut self, bytes: &[u8]) {
        let _ = Io::with_files(self.stdin.clone(), self.stdout.clone(), self.stderr.clone())
            .write(2, bytes);
    }

    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    pub fn last_status(&self) -> i32 {
        self.last_status
    }

    /// The status `exit` asked for, if it ran.
    pub fn exit_requested(&self) -> Option<i32> {
        self.exit
    }

    /// Makes `path` absolute against the current directory.
    pub fn abs_path(&self, path: &str) -> vfs::Result<String> {
        vfs::absolute_from(&self.cwd, path)
    }

    fn lookup_var(&self, name: &str) -> Option<String> {
        if name == "?" {
            return Some(self.last_status.to_string());
        }
        self.vars.get(name).cloned()
    }

    /// Parses and runs one command line; returns the status of the last command.
    ///
    /// The whole line is checked for syntax errors first (nothing runs if there is one); then
    /// jobs are parsed and run one at a time, so `$VAR` and `$?` see what earlier jobs set.
    pub fn run_line(&mut self, line: &str) -> i32 {
        if let Err(e) = shell_parse::parse(line, &|_| None) {
            return self.syntax_error(e);
        }
        let mut rest = line;
        while self.exit.is_none() {
            match shell_parse::parse_one(rest, &|n| self.lookup_var(n)) {
                Ok(Some((job, remainder))) => {
                    let text = job_text(&rest[..rest.len() - remainder.len()]);
                    self.last_status = self.run_job(job, text);
                    rest = remainder;
                }
                Ok(None) => break,
                Err(e) => return self.syntax_error(e),
            }
        }
        if let Some(status) = self.exit {
            self.last_status = status;
        }
        self.last_status
    }

    fn syntax_error(&mut self, e: shell_parse::ParseError) -> i32 {
        self.emit(format!("sh: {e}\n").as_bytes());
        self.last_status = 2;
        2
    }

    /// Opens the files of `cmd`'s redirections into `files` (fds 0, 1, 2) and `extra`
    /// (higher fds). The error message names the target.
    fn apply_redirects(
        &self,
        cmd: &SimpleCommand,
        files: &mut [Arc<dyn File>; 3],
        extra: &mut Vec<(Fd, Arc<dyn File>)>,
    ) -> Result<(), String> {
        for r in &cmd.redirects {
            let opts = match r.kind {
                RedirectKind::Read => OpenOptions::read_only(),
                RedirectKind::Write => OpenOptions::write_create(),
                RedirectKind::Append => OpenOptions::new().append(true).create(true),
            };
            let file = self
                .abs_path(&r.target)
                .and_then(|path| vfs::open_file(&path, opts))
                .map_err(|e| format!("sh: {}: {e}\n", r.target))?;
            match files.get_mut(r.fd as usize) {
                Some(slot) => *slot = file,
                None => {
                    extra.retain(|(fd, _)| *fd != r.fd);
                    extra.push((r.fd, file));
                }
            }
        }
        Ok(())
    }

    /// The program file a command name means: a path if it contains `/`, else the first
    /// regular file of that name in a `$PATH` directory, else the first `NAME.wasm` there
    /// (a WASI program, see `wasm.rs`).
    fn find_program(&self, name: &str) -> Option<String> {
        let is_file = |p: &str| vfs::stat(p).is_ok_and(|st| st.kind == vfs::FileKind::File);
        if name.contains('/') {
            return self.abs_path(name).ok().filter(|p| is_file(p));
        }
        let path = self.vars.get("PATH").cloned().unwrap_or_default();
        let dirs = || path.split(':').filter(|dir| !dir.is_empty());
        dirs()
            .map(|dir| format!("{}/{name}", dir.trim_end_matches('/')))
            .find(|p| is_file(p))
            .or_else(|| {
                dirs()
                    .map(|dir| format!("{}/{name}.wasm", dir.trim_end_matches('/')))
                    .find(|p| is_file(p))
            })
    }

    /// Sets a program's environment: `HOME`, `PATH`, `PWD` and the command's assignments.
    fn program_env(&self, ctx: &vfs::ProcessContext, assignments: &[(String, String)]) {
        for key in ["HOME", "PATH", "PWD"] {
            if let Some(value) = self.vars.get(key) {
                ctx.set_env_var(key, value);
            }
        }
        for (key, value) in assignments {
            ctx.set_env_var(key, value);
        }
    }

    /// Runs one job: every command of the pipeline in its own task (builtins that change
    /// shell state in this task), connected by pipes; waits for it unless it is a background
    /// job. Returns the status of the last command.
    fn run_job(&mut self, mut job: Job, text: String) -> i32 {
        // `time PIPELINE`: the wait below reports its times.
        let first = &mut job.pipeline[0];
        if !job.background
            && first.assignments.is_empty()
            && first.argv.first().is_some_and(|w| w == "time")
        {
            first.argv.remove(0);
            self.timing = Some(time::monotonic_ns());
        }
        let n = job.pipeline.len();
        // The job's process group: a background job that reads the terminal is stopped.
        let pgid = vfs::new_job_id();
        if !job.background {
            // Before any task starts: a foreground program may read the terminal at once.
            vfs::set_console_foreground(pgid);
        }
        let stdin: Arc<dyn File> = self.stdin.clone();
        let mut stages: Vec<Stage> = Vec::with_capacity(n);
        let mut inline = Vec::new();
        let mut next_stdin: Option<Arc<dyn File>> = None;
        for (i, cmd) in job.pipeline.into_iter().enumerate() {
            let input = next_stdin.take().unwrap_or_else(|| stdin.clone());
            let output: Arc<dyn File> = if i + 1 < n {
                let (r, w) = vfs::pipe_pair();
                next_stdin = Some(r);
                w
            } else {
                self.stdout.clone()
            };
            let mut files = [input, output, self.stderr.clone()];
            let mut extra = Vec::new();
            if let Err(msg) = self.apply_redirects(&cmd, &mut files, &mut extra) {
                let _ = Io::with_files(files[0].clone(), files[1].clone(), files[2].clone())
                    .write(2, msg.as_bytes());
                stages.push(Stage::Done(1));
                continue;
            }
            if cmd.argv.is_empty() {
                // Only assignments (and maybe redirections, whose files are now created).
                if n == 1 && !job.background {
                    for (name, value) in cmd.assignments {
                        self.vars.insert(name, value);
                    }
                }
                stages.push(Stage::Done(0));
                continue;
            }
            let name = cmd.argv[0].clone();
            let [fin, fout, ferr] = files;
            let found = commands::find(&name).map(|c| (c.run, c.stack_pages));
            match found.map(|(run, _)| run) {
                None => match self.find_program(&name) {
                    Some(path) if wasm::is_wasm(&path) => {
                        let ctx = vfs::ProcessContext::new(fin, fout, ferr, &self.cwd);
                        ctx.set_job(pgid);
                        self.program_env(&ctx, &cmd.assignments);
                        let context = Arc::downgrade(&ctx);
                        match wasm::spawn_program(&name, path, cmd.argv, ctx) {
                            Ok(handle) => stages.push(Stage::Task(name, handle, context)),
                            Err(_) => {
                                self.emit(format!("sh: {name}: cannot start a task\n").as_bytes());
                                stages.push(Stage::Done(1));
                            }
                        }
                    }
                    Some(path) => {
                        let ctx = vfs::ProcessContext::new(fin, fout, ferr, &self.cwd);
                        ctx.set_job(pgid);
                        self.program_env(&ctx, &cmd.assignments);
                        let context = Arc::downgrade(&ctx);
                        match process::spawn(&path, cmd.argv, ctx) {
                            Ok(handle) => stages.push(Stage::Task(name, handle, context)),
                            Err(e) => {
                                self.emit(format!("{name}: {e}\n").as_bytes());
                                stages.push(Stage::Done(STATUS_CANNOT_EXECUTE));
                            }
                        }
                    }
                    None => {
                        let _ = ferr.write(format!("{name}: command not found\n").as_bytes());
                        stages.push(Stage::Done(STATUS_NOT_FOUND));
                    }
                },
                Some(Run::Shell(f)) => {
                    inline.push((stages.len(), f, cmd.argv, Io::with_files(fin, fout, ferr)));
                    stages.push(Stage::Done(0));
                }
                Some(Run::Task(f)) => {
                    let ctx = vfs::ProcessContext::new(fin, fout, ferr, &self.cwd);
                    ctx.set_job(pgid);
                    let mut replaced = Vec::new();
                    for (fd, file) in extra {
                        if let Ok(Some(old)) = ctx.with_fds(|t| t.insert_at(fd, file)) {
                            replaced.push(old);
                        }
                    }
                    drop(replaced);
                    let argv = cmd.argv;
                    let pages = found.map_or(task::DEFAULT_STACK_PAGES, |(_, p)| p);
                    let builder = task::Builder::new(&name).stack_pages(pages);
                    let context = Arc::downgrade(&ctx);
                    let spawned = vfs::spawn_with_context(builder, ctx, move || {
                        let status = f(&argv, &mut Io::fds());
                        JOB_EVENT.notify_all();
                        status as isize
                    });
                    match spawned {
                        Ok(handle) => stages.push(Stage::Task(name, handle, context)),
                        Err(_) => {
                            self.emit(format!("sh: {name}: cannot start a task\n").as_bytes());
                            stages.push(Stage::Done(1));
                        }
                    }
                }
            }
        }
        drop(next_stdin);
        drop(stdin);
        // Builtins run after every task of the pipeline started, so a reader is there.
        for (i, f, argv, mut io) in inline {
            stages[i] = Stage::Done(f(self, &argv, &mut io));
        }
        let background = job.background;
        let job = BgJob {
            number: 0,
            text,
            stages,
            pgid,
            termios: None,
            winsize: vfs::console_window_size(),
        };
        if background && job.stages.iter().any(|s| matches!(s, Stage::Task(..))) {
            let number = self.next_job_number();
            let last_id = job
                .stages
                .iter()
                .rev()
                .find_map(|s| match s {
                    Stage::Task(_, h, _) => Some(h.id()),
                    Stage::Done(_) => None,
                })
                .unwrap_or(0);
            self.emit(format!("[{number}] {last_id}\n").as_bytes());
            self.jobs.push(BgJob { number, ..job });
            return 0;
        }
        self.wait_foreground(job, false)
    }

    /// The number for a new entry of the job table.
    fn next_job_number(&self) -> usize {
        self.jobs.iter().map(|j| j.number).max().unwrap_or(0) + 1
    }

    /// Runs `job` in the foreground: it owns the terminal (in the mode it had when it stopped,
    /// if it did), is continued first if `resume`, and is waited for. Ctrl-C and Ctrl-\\
    /// signal its tasks; Ctrl-Z (or another stop) stops it: it goes to the job table, the
    /// shell prints `[N]+ Stopped  TEXT` and gets the terminal back in its own mode. Reports
    /// tasks that were killed and returns the last stage's status (128 + the signal for a
    /// stopped job).
    fn wait_foreground(&mut self, mut job: BgJob, resume: bool) -> i32 {
        let shell_mode = vfs::console_termios();
        if let Some(mode) = job.termios.take() {
            vfs::set_console_termios(mode, false);
        }
        vfs::set_console_foreground(job.pgid);
        if resume {
            jobs::signal_job(&job, process::SIGCONT, "");
            // Resized while it was stopped or in the background (`resize`): tell it.
            if job.winsize != vfs::console_window_size() {
                jobs::signal_job(&job, process::SIGWINCH, "");
            }
        }
        let end = wait_stages(&job.stages, true);
        vfs::set_console_foreground(0);
        job.winsize = vfs::console_window_size();
        if let Some(start) = self.timing.take() {
            self.report_times(start, &job.stages);
        }
        if let WaitEnd::Stopped(signal) = end {
            job.termios = Some(vfs::console_termios());
            vfs::set_console_termios(shell_mode, false);
            if job.number == 0 {
                job.number = self.next_job_number();
            }
            // The terminal echoed the ^Z; end its line.
            self.emit(format!("\n[{}]+ Stopped  {}\n", job.number, job.text).as_bytes());
            self.jobs.push(job);
            self.jobs.sort_by_key(|j| j.number);
            return 128 + signal;
        }
        if end == WaitEnd::Interrupted {
            // The terminal echoed the ^C (or ^\\); end its line.
            self.emit(b"\n");
        }
        let stages = &job.stages;
        for stage in stages {
            if let Stage::Task(name, h, _) = stage
                && let Some(task::ExitValue::Killed(reason)) = h.task().exit_value()
                && reason != INTERRUPT_REASON
            {
                self.emit(format!("sh: {name}: killed: {}\n", reason.trim_end()).as_bytes());
            }
        }
        stages.last().map_or(0, Stage::status)
    }

    /// `time`'s report on stderr, as bash prints it: wall-clock time since `start`, and the
    /// user and system CPU time of the job's tasks and everything they spawned (a program's
    /// threads and children; builtins that ran in the shell count as neither).
    fn report_times(&mut self, start: u64, stages: &[Stage]) {
        let real = time::monotonic_ns().saturating_sub(start);
        let (mut user, mut cpu) = (0, 0);
        for stage in stages {
            if let Stage::Task(_, h, _) = stage {
                user += h.task().user_ns_with_descendants();
                cpu += h.task().cpu_ns_with_descendants();
            }
        }
        let show = |ns: u64| {
            let ms = ns / 1_000_000;
            format!("{}m{}.{:03}s", ms / 60_000, ms / 1000 % 60, ms % 1000)
        };
        let text = format!(
            "\nreal\t{}\nuser\t{}\nsys\t{}\n",
            show(real),
            show(user),
            show(cpu - user)
        );
        self.emit(text.as_bytes());
    }

    /// Prints finished background jobs (`[N] Done  cmd`, `[N] Exit S  cmd`, `[N] Killed
    /// cmd`) and forgets them. The interactive loop calls it before each prompt.
    pub fn report_finished_jobs(&mut self) {
        let mut text = String::new();
        self.jobs.retain(|job| {
            if job.running() {
                return true;
            }
            text.push_str(&job.line());
            false
        });
        if !text.is_empty() {
            self.emit(text.as_bytes());
        }
    }

    /// Completes the word before `cursor` (in chars) in `line`: see [`Completion`].
    pub fn complete(&self, line: &str, cursor: usize) -> Completion {
        complete::complete(&self.cwd, line, cursor)
    }

    fn prompt(&self) -> String {
        format!("theseus:{}$ ", self.cwd)
    }

    /// The interactive loop on the serial console. Returns the status given to `exit`.
    ///
    /// The shell's own editor reads the terminal in raw mode; each job gets it in the mode the
    /// shell started with (canonical, echoing: see `tty`), whatever the previous job left.
    pub fn interactive(&mut self) -> i32 {
        let console = vfs::Console::new();
        let cooked = vfs::console_termios();
        let mut raw = cooked;
        tty::make_raw(&mut raw);
        // Output keeps `\n` -> `\r\n` for the editor's echo of the prompt and the line.
        raw.c_oflag = cooked.c_oflag;
        vfs::set_console_termios(raw, false);
        let mut editor = LineEditor::new(200);
        let mut out = |b: &[u8]| serial::write_bytes(b);
        let mut pending = String::new();
        let mut prompt = self.prompt();
        editor.start(&prompt, &mut out);
        let mut input = [0u8; 64];
        loop {
            let Ok(len) = console.read(&mut input) else {
                continue;
            };
            for &byte in &input[..len] {
                match editor.feed(byte, &mut out) {
                    Event::Pending => {}
                    Event::Tab => self.tab(&mut editor, &prompt, &mut out),
                    Event::Interrupt => {
                        pending.clear();
                        prompt = self.prompt();
                        editor.start(&prompt, &mut out);
                    }
                    Event::Eof => {
                        if pending.is_empty() {
                            out(b"\n");
                            vfs::set_console_termios(cooked, false);
                            return self.last_status;
                        }
                    }
                    Event::Line(line) => {
                        if !pending.is_empty() {
                            pending.push('\n');
                        }
                        pending.push_str(&line);
                        if shell_parse::is_incomplete(&pending) {
                            prompt = String::from("> ");
                            editor.start(&prompt, &mut out);
                            continue;
                        }
                        let full = core::mem::take(&mut pending);
                        editor.add_history(&full);
                        vfs::set_console_termios(cooked, false);
                        self.run_line(&full);
                        vfs::set_console_termios(raw, false);
                        if let Some(status) = self.exit {
                            vfs::set_console_termios(cooked, false);
                            return status;
                        }
                        self.report_finished_jobs();
                        prompt = self.prompt();
                        editor.start(&prompt, &mut out);
                    }
                }
            }
        }
    }

    /// Tab: insert the completion; with several matches, list them and redraw the line.
    fn tab(&self, editor: &mut LineEditor, prompt: &str, out: &mut dyn FnMut(&[u8])) {
        let c = self.complete(editor.line(), editor.cursor());
        if c.matches.len() <= 1 {
            editor.insert_str(&c.insert, out);
            return;
        }
        let line: String = editor.line().into();
        let cursor = editor.cursor();
        let at = line
            .char_indices()
            .nth(cursor)
            .map_or(line.len(), |(i, _)| i);
        let after = line[at..].chars().count();
        out(format!("\n{}\n", c.matches.join("  ")).as_bytes());
        editor.start(prompt, out);
        editor.insert_str(&format!("{}{}{}", &line[..at], c.insert, &line[at..]), out);
        for _ in 0..after {
            for &b in b"\x1b[D" {
                editor.feed(b, out);
            }
        }
    }
}

/// The source text of a job, for `jobs`: without blanks and the `;`/`&`/newline ending it.
fn job_text(source: &str) -> String {
    let t = source.trim();
    let t = t
        .strip_suffix('&')
        .or_else(|| t.strip_suffix(';'))
        .unwrap_or(t);
    t.trim().into()
}

/// Waits until every task of `stages` has ended, or the job has stopped. If
/// `interruptible`, a Ctrl-C or Ctrl-\\ (intercepted by the serial driver meanwhile) signals
/// them (a program that handles the signal goes on), and a Ctrl-Z sends `SIGTSTP` (which
/// stops all but programs that handle it).
pub(crate) fn wait_stages(stages: &[Stage], interruptible: bool) -> WaitEnd {
    let handles: Vec<&task::JoinHandle> = stages
        .iter()
        .filter_map(|s| match s {
            Stage::Task(_, h, _) if s.running() => Some(h),
            _ => None,
        })
        .collect();
    let all_done = || stages.iter().all(|s| !s.running());
    if interruptible {
        vfs::take_console_signal();
        vfs::take_console_resized();
    }
    let stopped = || {
        let signal = stages.iter().find_map(Stage::stopped)?;
        stages
            .iter()
            .all(|s| !s.running() || s.stopped().is_some())
            .then_some(signal)
    };
    let mut interrupted = false;
    loop {
        if all_done() {
            break;
        }
        if let Some(signal) = stopped() {
            return WaitEnd::Stopped(signal);
        }
        if interruptible && vfs::take_console_resized() {
            // The window size changed (a program's TIOCSWINSZ, `resize` in the job).
            for h in &handles {
                let _ = process::signal(h.id(), process::SIGWINCH, "");
            }
        }
        if interruptible && let Some(signal) = vfs::take_console_signal() {
            // A program that handles the signal goes on (each Ctrl-C is delivered again),
            // the others end; the status says which signal (130 for Ctrl-C, 131 Ctrl-\\).
            if signal == process::SIGTSTP {
                // Stops the job (the wait ends once it has); a program that handles it goes
                // on, or stops itself.
                for h in &handles {
                    let _ = process::signal(h.id(), signal, "");
                }
                continue;
            }
            interrupted = true;
            let reason = match signal {
                SIGINT => INTERRUPT_REASON,
                _ => QUIT_REASON,
            };
            for h in &handles {
                let _ = process::signal(h.id(), signal, reason);
            }
            // A program whose main thread has ended but not its others: they end.
            for id in stages.iter().flat_map(Stage::leftover_threads) {
                let _ = task::kill(id, reason);
            }
            continue;
        }
        // Task ends notify JOB_EVENT (`task_end_hook`), and so do Ctrl-C and Ctrl-\\; a
        // task's stop and a window-size change do not, so poll too.
        let deadline = time::monotonic_ns() + 10_000_000;
        JOB_EVENT.wait_until_deadline(
            &mut || all_done() || (interruptible && vfs::console_signal_pending()),
            Some(deadline),
        );
    }
    if interrupted {
        WaitEnd::Interrupted
    } else {
        WaitEnd::Done
    }
}
