//! The shell on the serial console: reads lines with `line_editor`, parses them with
//! `shell_parse`, expands variables, applies redirections and runs built-in commands.
//!
//! Owns: shell variables (`$?`, `$HOME`, `$PWD`...), the current directory, the command table.
//! Depends on `serial` (console I/O), `rootfs`/`memfs` (files), `memory` and `time` (the
//! `mem`, `uptime`, `date` commands), `shell_parse`, `line_editor`.
//!
//! To add a command: write `fn cmd_NAME(sh: &mut Shell, args: &[String], io: &mut Io) -> i32`
//! in `commands.rs` and add a row to `COMMANDS`.

#![no_std]

extern crate alloc;

mod commands;
mod tasks;
mod tests;

pub use tasks::run_crash;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use line_editor::{Event, LineEditor};
use shell_parse::{Job, RedirectKind, SimpleCommand};

/// What a command reads and writes: stdin bytes (from `<`, if any), and stdout/stderr
/// sinks (the console, or a buffer for `>`).
pub struct Io {
    pub stdin: Option<Vec<u8>>,
    pub stdout: Sink,
    pub stderr: Sink,
}

pub enum Sink {
    Console,
    Buffer(Vec<u8>),
}

impl Sink {
    pub fn write(&mut self, bytes: &[u8]) {
        match self {
            Sink::Console => serial::write_bytes(bytes),
            Sink::Buffer(b) => b.extend_from_slice(bytes),
        }
    }
}

impl Io {
    pub fn out(&mut self, s: &str) {
        self.stdout.write(s.as_bytes());
    }
    pub fn err(&mut self, s: &str) {
        self.stderr.write(s.as_bytes());
    }
}

/// Status of a command that was not found.
pub const STATUS_NOT_FOUND: i32 = 127;

pub struct Shell {
    vars: BTreeMap<String, String>,
    cwd: String,
    last_status: i32,
    /// Set by `exit`: stop running commands and leave with this status.
    exit: Option<i32>,
    /// When set, everything the shell and its commands print goes here instead of the console.
    capture: Option<Vec<u8>>,
}

impl Default for Shell {
    fn default() -> Self {
        Self::new()
    }
}

impl Shell {
    pub fn new() -> Self {
        let mut vars = BTreeMap::new();
        vars.insert("HOME".into(), "/".into());
        vars.insert("PATH".into(), "/bin".into());
        vars.insert("PWD".into(), "/".into());
        Shell {
            vars,
            cwd: "/".into(),
            last_status: 0,
            exit: None,
            capture: None,
        }
    }

    /// A shell whose output is kept in memory (see [`Shell::take_output`]) instead of printed.
    pub fn capturing() -> Self {
        Shell {
            capture: Some(Vec::new()),
            ..Self::new()
        }
    }

    /// What a capturing shell has printed so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.capture
            .as_mut()
            .map(core::mem::take)
            .unwrap_or_default()
    }

    /// Prints on the shell's console (or into its capture buffer).
    fn emit(&mut self, bytes: &[u8]) {
        match &mut self.capture {
            Some(buf) => buf.extend_from_slice(bytes),
            None => serial::write_bytes(bytes),
        }
    }

    fn console_sink(&self) -> Sink {
        if self.capture.is_some() {
            Sink::Buffer(Vec::new())
        } else {
            Sink::Console
        }
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
    pub fn abs_path(&self, path: &str) -> Result<String, memfs::FsError> {
        memfs::normalize(&self.cwd, path)
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
                    self.last_status = self.run_job(job);
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

    fn run_job(&mut self, job: Job) -> i32 {
        if job.background {
            self.emit(b"sh: background jobs (&) are not supported yet\n");
            return 2;
        }
        if job.pipeline.len() > 1 {
            self.emit(b"sh: pipelines (|) are not supported yet\n");
            return 2;
        }
        let Some(cmd) = job.pipeline.into_iter().next() else {
            return 0;
        };
        let mut io = Io {
            stdin: None,
            stdout: self.console_sink(),
            stderr: self.console_sink(),
        };
        let status = self.run_simple(cmd, &mut io);
        // A capturing shell collects what went to its console (redirected output is gone).
        for sink in [io.stdout, io.stderr] {
            if let (Sink::Buffer(data), Some(buf)) = (sink, self.capture.as_mut()) {
                buf.extend_from_slice(&data);
            }
        }
        status
    }

    fn run_simple(&mut self, cmd: SimpleCommand, io: &mut Io) -> i32 {
        if cmd.argv.is_empty() {
            // Only assignments: set shell variables.
            for (name, value) in cmd.assignments {
                self.vars.insert(name, value);
            }
            return 0;
        }
        let mut outputs = Vec::new();
        for r in &cmd.redirects {
            let path = match self.abs_path(&r.target) {
                Ok(p) => p,
                Err(e) => {
                    io.err(&format!("sh: {}: {e}\n", r.target));
                    return 1;
                }
            };
            match r.kind {
                RedirectKind::Read => match read_file(&path) {
                    Ok(data) if r.fd == 0 => io.stdin = Some(data),
                    Ok(_) => {}
                    Err(e) => {
                        io.err(&format!("sh: {}: {e}\n", r.target));
                        return 1;
                    }
                },
                RedirectKind::Write | RedirectKind::Append => {
                    let append = r.kind == RedirectKind::Append;
                    if let Err(e) = open_for_output(&path, append) {
                        io.err(&format!("sh: {}: {e}\n", r.target));
                        return 1;
                    }
                    match r.fd {
                        1 => io.stdout = Sink::Buffer(Vec::new()),
                        2 => io.stderr = Sink::Buffer(Vec::new()),
                        _ => {}
                    }
                    outputs.retain(|(fd, _, _)| *fd != r.fd);
                    outputs.push((r.fd, path, append));
                }
            }
        }
        let name = cmd.argv[0].as_str();
        let status = match commands::find(name) {
            Some(command) => (command.run)(self, &cmd.argv, io),
            None => {
                io.err(&format!("{name}: command not found\n"));
                STATUS_NOT_FOUND
            }
        };
        for (fd, path, append) in outputs {
            let sink = if fd == 2 {
                &mut io.stderr
            } else {
                &mut io.stdout
            };
            if let Sink::Buffer(data) = core::mem::replace(sink, self.console_sink())
                && let Err(e) = write_file(&path, &data, append)
            {
                io.err(&format!("sh: {path}: {e}\n"));
                return 1;
            }
        }
        status
    }

    fn prompt(&self) -> String {
        format!("theseus:{}$ ", self.cwd)
    }

    /// The interactive loop on the serial console. Returns the status given to `exit`.
    pub fn interactive(&mut self) -> i32 {
        let mut editor = LineEditor::new(200);
        let mut out = |b: &[u8]| serial::write_bytes(b);
        let mut pending = String::new();
        editor.start(&self.prompt(), &mut out);
        loop {
            let Some(byte) = next_input_byte() else {
                continue;
            };
            match editor.feed(byte, &mut out) {
                Event::Pending => {}
                Event::Tab => {}
                Event::Interrupt => {
                    pending.clear();
                    editor.start(&self.prompt(), &mut out);
                }
                Event::Eof => {
                    if pending.is_empty() {
                        out(b"\n");
                        return self.last_status;
                    }
                }
                Event::Line(line) => {
                    if !pending.is_empty() {
                        pending.push('\n');
                    }
                    pending.push_str(&line);
                    if shell_parse::is_incomplete(&pending) {
                        editor.start("> ", &mut out);
                        continue;
                    }
                    let full = core::mem::take(&mut pending);
                    editor.add_history(&full);
                    self.run_line(&full);
                    if let Some(status) = self.exit {
                        return status;
                    }
                    editor.start(&self.prompt(), &mut out);
                }
            }
        }
    }
}

/// Waits for the next byte from the serial console, halting the CPU until an interrupt.
fn next_input_byte() -> Option<u8> {
    x86_64::instructions::interrupts::disable();
    if let Some(b) = serial::read_byte() {
        x86_64::instructions::interrupts::enable();
        return Some(b);
    }
    // Atomically re-enable interrupts and halt: no wake-up can slip between check and halt.
    x86_64::instructions::interrupts::enable_and_hlt();
    None
}

fn now() -> u64 {
    time::realtime_ns()
}

pub(crate) fn read_file(path: &str) -> Result<Vec<u8>, memfs::FsError> {
    rootfs::with(|fs| {
        let node = fs.lookup(path)?;
        fs.file_data(node).map(<[u8]>::to_vec)
    })
}

fn open_for_output(path: &str, append: bool) -> Result<(), memfs::FsError> {
    rootfs::with(|fs| match fs.lookup(path) {
        Ok(node) => {
            if fs.metadata(node)?.kind == memfs::NodeKind::Directory {
                return Err(memfs::FsError::IsADirectory);
            }
            if !append {
                fs.truncate(node, 0, now())?;
            }
            Ok(())
        }
        Err(memfs::FsError::NotFound) => fs.create_file(path, 0o644, now()).map(|_| ()),
        Err(e) => Err(e),
    })
}

pub(crate) fn write_file(path: &str, data: &[u8], append: bool) -> Result<(), memfs::FsError> {
    rootfs::with(|fs| {
        let node = match fs.lookup(path) {
            Ok(n) => n,
            Err(memfs::FsError::NotFound) => fs.create_file(path, 0o644, now())?,
            Err(e) => return Err(e),
        };
        let offset = if append { fs.metadata(node)?.size } else { 0 };
        if !append {
            fs.truncate(node, 0, now())?;
        }
        fs.write_at(node, offset, data, now()).map(|_| ())
    })
}
