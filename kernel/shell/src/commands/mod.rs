//! The command table and what its commands share (option flags, the broken-pipe status).
//! The commands are grouped by job: [`files`] (ls, cd, pwd, mkdir, rm, rmdir, touch, cp, mv,
//! find), [`text`] (echo, cat, wc, head, tail, grep, yes) and [`system`] (help, sleep, mem,
//! uptime, date, clear, resize, env, exit, poweroff); `crate::tasks` (ps, kill, crash),
//! `crate::jobs` (jobs, fg, bg, wait) and `crate::wasm` (wasm) hold the others.
//!
//! A [`Run::Task`] command runs in a task of its own whose `ProcessContext` holds its stdin,
//! stdout and stderr (fds 0, 1, 2) and the shell's cwd; it reads and writes only through
//! those descriptors (`Io` wraps `vfs::read`/`vfs::write_all`). A [`Run::Shell`] builtin
//! changes the shell's own state (`cd`, `exit`, `jobs`...) and so runs in the shell's task.

pub(crate) mod files;
pub(crate) mod system;
pub(crate) mod text;

use crate::{Io, Shell};
use alloc::format;
use alloc::string::String;
use files::{
    cmd_cd, cmd_cp, cmd_find, cmd_ls, cmd_mkdir, cmd_mv, cmd_pwd, cmd_rm, cmd_rmdir, cmd_touch,
};
use system::{
    cmd_clear, cmd_cpus, cmd_date, cmd_env, cmd_exit, cmd_help, cmd_ip, cmd_mem, cmd_nproc,
    cmd_poweroff, cmd_resize, cmd_sleep, cmd_uptime,
};
use text::{cmd_cat, cmd_echo, cmd_grep, cmd_head, cmd_tail, cmd_wc, cmd_yes};

/// How a command runs.
#[derive(Clone, Copy)]
pub enum Run {
    /// In its own task, on its own descriptors.
    Task(fn(&[String], &mut Io) -> i32),
    /// In the shell's task: it changes shell state.
    Shell(fn(&mut Shell, &[String], &mut Io) -> i32),
}

pub struct Command {
    pub name: &'static str,
    pub help: &'static str,
    pub run: Run,
    /// Stack of a `Run::Task` command's task, in 4 KiB pages.
    pub stack_pages: u64,
}

const fn task(name: &'static str, help: &'static str, f: fn(&[String], &mut Io) -> i32) -> Command {
    Command {
        name,
        help,
        run: Run::Task(f),
        stack_pages: task::DEFAULT_STACK_PAGES,
    }
}

impl Command {
    /// The same task command with a bigger stack (a wasm engine needs one).
    const fn with_stack_pages(self, stack_pages: u64) -> Command {
        Command {
            stack_pages,
            ..self
        }
    }
}

const fn builtin(
    name: &'static str,
    help: &'static str,
    f: fn(&mut Shell, &[String], &mut Io) -> i32,
) -> Command {
    Command {
        name,
        help,
        run: Run::Shell(f),
        stack_pages: 0,
    }
}

pub static COMMANDS: &[Command] = &[
    task(
        "wasm",
        "wasm [--engine wasmi|wasmtime] [--dir HOST[::GUEST]]... [--env K=V]... [--fuel N] [--max-memory BYTES] FILE.wasm [ARGS...]: run a WASI module (engine: wasmtime by default, native code compiled on the first run and cached; wasmi, the interpreter, with --engine wasmi or --fuel, and by name with WASM_ENGINE=wasmi; fuel: wasmi only, at most N units, out of fuel is status 152; memory: default 128 MiB, K/M/G allowed)",
        crate::wasm::cmd_wasm,
    )
    .with_stack_pages(crate::wasm::STACK_PAGES),
    task("help", "list the commands", cmd_help),
    task("echo", "echo [-n] ARGS...: print the arguments", cmd_echo),
    task("ls", "ls [-l] [PATH...]: list directories", cmd_ls),
    task(
        "cat",
        "cat [FILE...]: print files (stdin when none or -)",
        cmd_cat,
    ),
    builtin("cd", "cd [DIR]: change the current directory", cmd_cd),
    task("pwd", "print the current directory", cmd_pwd),
    task("mkdir", "mkdir [-p] DIR...: create directories", cmd_mkdir),
    task(
        "rm",
        "rm [-r] PATH...: remove files (and directories with -r)",
        cmd_rm,
    ),
    task("rmdir", "rmdir DIR...: remove empty directories", cmd_rmdir),
    task(
        "touch",
        "touch FILE...: create files or update their times",
        cmd_touch,
    ),
    task(
        "cp",
        "cp SRC DST: copy a file (into DST if it is a directory)",
        cmd_cp,
    ),
    task(
        "mv",
        "mv SRC DST: rename (into DST if it is a directory)",
        cmd_mv,
    ),
    task(
        "wc",
        "wc [-l|-w|-c] [FILE...]: count lines, words, bytes",
        cmd_wc,
    ),
    task(
        "head",
        "head [-n N|-N] [FILE...]: the first N (10) lines",
        cmd_head,
    ),
    task(
        "tail",
        "tail [-n N|-N] [FILE...]: the last N (10) lines",
        cmd_tail,
    ),
    task("clear", "clear: clear the terminal screen", cmd_clear),
    task(
        "resize",
        "resize: ask the terminal for its size (after the window changed)",
        cmd_resize,
    ),
    task(
        "grep",
        "grep [-i] [-v] [-c] [-n] PATTERN [FILE...]: lines containing PATTERN (a plain substring, no regex)",
        cmd_grep,
    ),
    task(
        "find",
        "find [DIR] [-name GLOB]: list a tree (GLOB: * and ?)",
        cmd_find,
    ),
    task(
        "sleep",
        "sleep SECS: wait (fractions allowed; Ctrl-C stops it)",
        cmd_sleep,
    ),
    task(
        "yes",
        "yes [WORD...]: print WORD (y) forever, until the reader goes",
        cmd_yes,
    ),
    task(
        "mem",
        "show physical frames and kernel heap in use",
        cmd_mem,
    ),
    task(
        "ip",
        "the network interfaces: addresses, device counters",
        cmd_ip,
    ),
    task("nproc", "the number of CPUs online", cmd_nproc),
    task(
        "cpus",
        "the CPUs: online count, APIC ids, whether idle ones tick and halt",
        cmd_cpus,
    ),
    task("uptime", "time since power-on", cmd_uptime),
    task("date", "the current date and time (UTC)", cmd_date),
    builtin("env", "list shell variables (NAME=value sets one)", cmd_env),
    task("true", "do nothing, successfully", |_, _| 0),
    task("false", "do nothing, unsuccessfully", |_, _| 1),
    task(
        "ps",
        "list tasks: id, state, CPU time, name",
        crate::tasks::cmd_ps,
    ),
    builtin(
        "kill",
        "kill [-SIG] %JOB|ID...: signal (default: end) a job or a task; -STOP, -CONT...",
        crate::tasks::cmd_kill,
    ),
    task(
        "crash",
        "crash panic|pagefault|divzero|stackoverflow|ud|gp|badfree: fail in a task",
        crate::tasks::cmd_crash,
    ),
    builtin(
        "jobs",
        "list background and stopped jobs",
        crate::jobs::cmd_jobs,
    ),
    builtin(
        "fg",
        "fg [%N]: continue a job in the foreground and wait for it",
        crate::jobs::cmd_fg,
    ),
    builtin(
        "bg",
        "bg [%N]: continue a stopped job in the background",
        crate::jobs::cmd_bg,
    ),
    builtin(
        "wait",
        "wait for every background job",
        crate::jobs::cmd_wait,
    ),
    builtin("exit", "exit [N]: leave the shell with status N", cmd_exit),
    builtin("poweroff", "power the machine off", cmd_poweroff),
];

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Splits leading `-x` flags (from `allowed`) from operands. An unknown flag is an error.
fn flags<'a>(
    cmd: &str,
    args: &'a [String],
    allowed: &str,
    io: &mut Io,
) -> Option<(String, &'a [String])> {
    let mut set = String::new();
    let mut rest = &args[1..];
    while let Some(first) = rest.first() {
        if first == "--" {
            rest = &rest[1..];
            break;
        }
        if !first.starts_with('-') || first.len() == 1 {
            break;
        }
        for c in first[1..].chars() {
            if !allowed.contains(c) {
                io.err(&format!("{cmd}: unknown option -{c}\n"));
                return None;
            }
            set.push(c);
        }
        rest = &rest[1..];
    }
    Some((set, rest))
}

/// Status of a command whose output pipe lost its reader (128 + SIGPIPE).
const STATUS_BROKEN_PIPE: i32 = 141;
