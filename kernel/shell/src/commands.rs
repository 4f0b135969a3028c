//! The command table and the commands that run as their own tasks.
//!
//! A [`Run::Task`] command runs in a task of its own whose `ProcessContext` holds its stdin,
//! stdout and stderr (fds 0, 1, 2) and the shell's cwd; it reads and writes only through
//! those descriptors (`Io` wraps `vfs::read`/`vfs::write_all`). A [`Run::Shell`] builtin
//! changes the shell's own state (`cd`, `exit`, `jobs`...) and so runs in the shell's task.

use crate::{Io, Shell, now};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use memfs::NodeKind;
use vfs::{Errno, File, OpenOptions};

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

/// A task command that needs a big stack (a wasm engine).
const fn big_task(
    name: &'static str,
    help: &'static str,
    f: fn(&[String], &mut Io) -> i32,
) -> Command {
    Command {
        name,
        help,
        run: Run::Task(f),
        stack_pages: crate::wasm::STACK_PAGES,
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
    big_task(
        "wasm",
        "wasm [--dir HOST[::GUEST]]... [--env K=V]... [--fuel N] [--max-memory BYTES] FILE.wasm [ARGS...]: run a WASI module (fuel: at most N units, out of fuel is status 152; memory: default 128 MiB, K/M/G allowed)",
        crate::wasm::cmd_wasm,
    ),
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

/// Makes `path` absolute against the running task's cwd.
fn abs(path: &str) -> Result<String, Errno> {
    memfs::normalize(&vfs::getcwd(), path)
}

/// Status of a command whose output pipe lost its reader (128 + SIGPIPE).
const STATUS_BROKEN_PIPE: i32 = 141;

fn cmd_help(_: &[String], io: &mut Io) -> i32 {
    io.out("Commands:\n");
    for c in COMMANDS {
        io.out(&format!("  {:<9} {}\n", c.name, c.help));
    }
    io.out(
        "Syntax: CMD; CMD, CMD | CMD, CMD &, 'quotes', \"double $VAR\", $?, NAME=value,\n\
         < > >> 2> 2>> redirections. Tab completes; Ctrl-C stops the foreground job.\n\
         Programs: NAME or a path runs a std program (/bin/NAME) or a WASI module\n\
         (/bin/NAME.wasm) found on $PATH; `ls /bin` lists them.\n",
    );
    0
}

fn cmd_echo(args: &[String], io: &mut Io) -> i32 {
    let (newline, words) = match args.get(1).map(String::as_str) {
        Some("-n") => (false, &args[2..]),
        _ => (true, &args[1..]),
    };
    let mut line = words.join(" ");
    if newline {
        line.push('\n');
    }
    match io.write_out(line.as_bytes()) {
        Err(Errno::EPIPE) => STATUS_BROKEN_PIPE,
        Err(_) => 1,
        Ok(()) => 0,
    }
}

fn kind_suffix(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Directory => "/",
        NodeKind::Symlink => "@",
        NodeKind::File => "",
    }
}

fn cmd_ls(args: &[String], io: &mut Io) -> i32 {
    let Some((opts, paths)) = flags("ls", args, "l", io) else {
        return 2;
    };
    let long = opts.contains('l');
    let default = [String::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut status = 0;
    for (i, p) in paths.iter().enumerate() {
        let listing = abs(p).and_then(|abs| {
            rootfs::with(|fs| {
                let node = fs.lookup(&abs)?;
                let meta = fs.metadata(node)?;
                if meta.kind != NodeKind::Directory {
                    return Ok(alloc::vec![(p.clone(), meta)]);
                }
                fs.readdir(node)?
                    .into_iter()
                    .map(|e| Ok((e.name, fs.metadata(e.node)?)))
                    .collect()
            })
        });
        match listing {
            Ok(entries) => {
                let mut text = String::new();
                if paths.len() > 1 {
                    text.push_str(&format!("{}{p}:\n", if i > 0 { "\n" } else { "" }));
                }
                for (name, meta) in entries {
                    if long {
                        let kind = match meta.kind {
                            NodeKind::Directory => 'd',
                            NodeKind::Symlink => 'l',
                            NodeKind::File => '-',
                        };
                        text.push_str(&format!(
                            "{kind}{:04o} {:>10} {name}{}\n",
                            meta.mode,
                            meta.size,
                            kind_suffix(meta.kind)
                        ));
                    } else {
                        text.push_str(&format!("{name}{}\n", kind_suffix(meta.kind)));
                    }
                }
                if io.write_out(text.as_bytes()).is_err() {
                    return STATUS_BROKEN_PIPE;
                }
            }
            Err(e) => {
                io.err(&format!("ls: {p}: {e}\n"));
                status = 1;
            }
        }
    }
    status
}

/// The input named `name`: stdin for `-`, otherwise the file opened for reading.
fn open_input(name: &str, io: &Io) -> vfs::Result<Arc<dyn File>> {
    if name == "-" {
        io.file(0)
    } else {
        vfs::open_file(name, OpenOptions::read_only())
    }
}

/// The operands as inputs to read: `-` (stdin) when there are none.
fn inputs(operands: &[String]) -> Vec<String> {
    if operands.is_empty() {
        alloc::vec![String::from("-")]
    } else {
        operands.to_vec()
    }
}

/// Calls `f` with every line of `file` (with its `\n`, if it has one) until `f` returns
/// false or the input ends.
fn for_each_line(file: &Arc<dyn File>, mut f: impl FnMut(&[u8]) -> bool) -> vfs::Result<()> {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            if !pending.is_empty() {
                f(&pending);
            }
            return Ok(());
        }
        pending.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos + 1;
            if !f(&pending[start..end]) {
                return Ok(());
            }
            start = end;
        }
        pending.drain(..start);
    }
}

fn cmd_cat(args: &[String], io: &mut Io) -> i32 {
    let mut status = 0;
    for name in inputs(&args[1..]) {
        let file = match open_input(&name, io) {
            Ok(f) => f,
            Err(e) => {
                io.err(&format!("cat: {name}: {e}\n"));
                status = 1;
                continue;
            }
        };
        let mut chunk = [0u8; 4096];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => match io.write_out(&chunk[..n]) {
                    Ok(()) => {}
                    Err(Errno::EPIPE) => return STATUS_BROKEN_PIPE,
                    Err(e) => {
                        io.err(&format!("cat: write error: {e}\n"));
                        return 1;
                    }
                },
                Err(e) => {
                    io.err(&format!("cat: {name}: {e}\n"));
                    status = 1;
                    break;
                }
            }
        }
    }
    status
}

fn cmd_cd(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let target = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| sh.vars.get("HOME").cloned().unwrap_or_else(|| "/".into()));
    let result = sh.abs_path(&target).and_then(|abs| {
        rootfs::with(|fs| {
            let node = fs.lookup(&abs)?;
            if fs.metadata(node)?.kind != NodeKind::Directory {
                return Err(Errno::ENOTDIR);
            }
            Ok(abs)
        })
    });
    match result {
        Ok(abs) => {
            sh.vars.insert("PWD".into(), abs.clone());
            sh.cwd = abs;
            0
        }
        Err(e) => {
            io.err(&format!("cd: {target}: {e}\n"));
            1
        }
    }
}

fn cmd_pwd(_: &[String], io: &mut Io) -> i32 {
    io.out(&format!("{}\n", vfs::getcwd()));
    0
}

/// Runs `op` on each operand's absolute path, reporting errors as `cmd: operand: error`.
fn for_each_path(
    cmd: &str,
    operands: &[String],
    io: &mut Io,
    mut op: impl FnMut(&str) -> Result<(), Errno>,
) -> i32 {
    if operands.is_empty() {
        io.err(&format!("{cmd}: missing operand\n"));
        return 2;
    }
    let mut status = 0;
    for p in operands {
        if let Err(e) = abs(p).and_then(|abs| op(&abs)) {
            io.err(&format!("{cmd}: {p}: {e}\n"));
            status = 1;
        }
    }
    status
}

fn cmd_mkdir(args: &[String], io: &mut Io) -> i32 {
    let Some((opts, operands)) = flags("mkdir", args, "p", io) else {
        return 2;
    };
    let parents = opts.contains('p');
    for_each_path("mkdir", operands, io, |abs| {
        rootfs::with(|fs| {
            if parents {
                fs.mkdir_all(abs, 0o755, now())
            } else {
                fs.mkdir(abs, 0o755, now())
            }
            .map(|_| ())
        })
    })
}

fn remove_tree(fs: &mut memfs::MemFs, abs: &str) -> Result<(), Errno> {
    let node = fs.lookup_nofollow(abs)?;
    if fs.metadata(node)?.kind != NodeKind::Directory {
        return fs.unlink(abs, now());
    }
    for entry in fs.readdir(node)? {
        remove_tree(fs, &join(abs, &entry.name))?;
    }
    fs.rmdir(abs, now())
}

/// `dir/name` without doubling the root's slash.
fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn cmd_rm(args: &[String], io: &mut Io) -> i32 {
    let Some((opts, operands)) = flags("rm", args, "rf", io) else {
        return 2;
    };
    let recursive = opts.contains('r');
    for_each_path("rm", operands, io, |abs| {
        rootfs::with(|fs| {
            if recursive {
                remove_tree(fs, abs)
            } else {
                fs.unlink(abs, now())
            }
        })
    })
}

fn cmd_rmdir(args: &[String], io: &mut Io) -> i32 {
    for_each_path("rmdir", &args[1..], io, |abs| {
        rootfs::with(|fs| fs.rmdir(abs, now()))
    })
}

fn cmd_touch(args: &[String], io: &mut Io) -> i32 {
    for_each_path("touch", &args[1..], io, |abs| {
        rootfs::with(|fs| match fs.lookup(abs) {
            Ok(node) => fs.set_times(node, Some(now()), Some(now())),
            Err(Errno::ENOENT) => fs.create_file(abs, 0o644, now()).map(|_| ()),
            Err(e) => Err(e),
        })
    })
}

/// The destination of `cp`/`mv`: `dst`, or `dst/basename(src)` if `dst` is a directory.
fn destination(src: &str, dst: &str) -> vfs::Result<String> {
    let dst_abs = vfs::absolute(dst)?;
    match vfs::stat(&dst_abs) {
        Ok(st) if st.kind == vfs::FileKind::Directory => {
            let src_abs = vfs::absolute(src)?;
            let base = src_abs.rsplit('/').next().unwrap_or("");
            if base.is_empty() {
                return Err(Errno::EBUSY);
            }
            Ok(join(&dst_abs, base))
        }
        _ => Ok(dst_abs),
    }
}

/// Two operands, or a usage error.
fn two_operands<'a>(cmd: &str, args: &'a [String], io: &mut Io) -> Option<(&'a str, &'a str)> {
    match args {
        [_, src, dst] => Some((src, dst)),
        _ => {
            io.err(&format!("{cmd}: usage: {cmd} SRC DST\n"));
            None
        }
    }
}

fn cmd_cp(args: &[String], io: &mut Io) -> i32 {
    let Some((src, dst)) = two_operands("cp", args, io) else {
        return 2;
    };
    fn at(name: &str) -> impl Fn(Errno) -> (String, Errno) + '_ {
        move |e| (String::from(name), e)
    }
    let copy = || -> Result<(), (String, Errno)> {
        let st = vfs::stat(src).map_err(at(src))?;
        if st.kind == vfs::FileKind::Directory {
            return Err((src.into(), Errno::EISDIR));
        }
        let target = destination(src, dst).map_err(at(dst))?;
        if vfs::absolute(src).map_err(at(src))? == target
            || vfs::stat(&target).is_ok_and(|t| t.ino == st.ino)
        {
            return Err((format!("{src} and {dst}"), Errno::EEXIST));
        }
        let input = vfs::open_file(src, OpenOptions::read_only()).map_err(at(src))?;
        let output = vfs::open_file(&target, OpenOptions::write_create()).map_err(at(dst))?;
        let mut chunk = [0u8; 4096];
        loop {
            let n = input.read(&mut chunk).map_err(at(src))?;
            if n == 0 {
                return Ok(());
            }
            let mut rest = &chunk[..n];
            while !rest.is_empty() {
                let w = output.write(rest).map_err(at(dst))?;
                rest = &rest[w..];
            }
        }
    };
    match copy() {
        Ok(()) => 0,
        Err((what, Errno::EEXIST)) => {
            io.err(&format!("cp: {what} are the same file\n"));
            1
        }
        Err((what, e)) => {
            io.err(&format!("cp: {what}: {e}\n"));
            1
        }
    }
}

fn cmd_mv(args: &[String], io: &mut Io) -> i32 {
    let Some((src, dst)) = two_operands("mv", args, io) else {
        return 2;
    };
    if let Err(e) = vfs::lstat(src) {
        io.err(&format!("mv: {src}: {e}\n"));
        return 1;
    }
    let result = destination(src, dst).and_then(|target| vfs::rename(src, &target));
    match result {
        Ok(()) => 0,
        Err(e) => {
            io.err(&format!("mv: {src} -> {dst}: {e}\n"));
            1
        }
    }
}

fn cmd_wc(args: &[String], io: &mut Io) -> i32 {
    let Some((opts, operands)) = flags("wc", args, "lwc", io) else {
        return 2;
    };
    let opts = if opts.is_empty() { "lwc".into() } else { opts };
    let names = inputs(operands);
    let mut totals = [0u64; 3];
    let mut status = 0;
    let mut text = String::new();
    let show = |counts: &[u64; 3], name: Option<&str>| {
        let mut parts: Vec<String> = Vec::new();
        for (i, flag) in ['l', 'w', 'c'].iter().enumerate() {
            if opts.contains(*flag) {
                parts.push(format!("{}", counts[i]));
            }
        }
        let mut line = parts.join(" ");
        if let Some(name) = name {
            line.push(' ');
            line.push_str(name);
        }
        line.push('\n');
        line
    };
    for name in &names {
        let mut counts = [0u64; 3];
        let result = open_input(name, io).and_then(|file| {
            for_each_line(&file, |line| {
                counts[0] += u64::from(line.ends_with(b"\n"));
                counts[1] += line
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|w| !w.is_empty())
                    .count() as u64;
                counts[2] += line.len() as u64;
                true
            })
        });
        if let Err(e) = result {
            io.err(&format!("wc: {name}: {e}\n"));
            status = 1;
            continue;
        }
        for i in 0..3 {
            totals[i] += counts[i];
        }
        text.push_str(&show(&counts, (name != "-").then_some(name.as_str())));
    }
    if names.len() > 1 {
        text.push_str(&show(&totals, Some("total")));
    }
    io.out(&text);
    status
}

/// Parses `-n N` / `-nN` / `-N` (or none: `default`) before the operands.
fn count_option(args: &[String], default: u64) -> Result<(u64, &[String]), String> {
    let mut rest = &args[1..];
    let mut count = default;
    if let Some(first) = rest.first()
        && let Some(digits) = first.strip_prefix('-')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        count = digits
            .parse()
            .map_err(|_| format!("invalid number of lines: '{digits}'"))?;
        rest = &rest[1..];
    } else if let Some(first) = rest.first()
        && let Some(value) = first.strip_prefix("-n")
    {
        let (value, skip) = if value.is_empty() {
            (rest.get(1).map(String::as_str).unwrap_or(""), 2)
        } else {
            (value, 1)
        };
        count = value
            .parse()
            .map_err(|_| format!("invalid number of lines: '{value}'"))?;
        rest = &rest[skip.min(rest.len())..];
    }
    Ok((count, rest))
}

/// How one file of `head`/`tail` went.
enum LinesOutcome {
    Done,
    /// The reader of our output went away: stop at once.
    BrokenPipe,
    Failed(vfs::Errno),
}

/// The common part of `head` and `tail`: `-n N` (default 10), each operand (stdin when none)
/// opened and, with several, preceded by a `==> NAME <==` header; `each(count, file, io)`
/// prints what the command keeps of it.
fn for_each_lines_input(
    cmd: &str,
    args: &[String],
    io: &mut Io,
    mut each: impl FnMut(u64, &Arc<dyn File>, &mut Io) -> LinesOutcome,
) -> i32 {
    let (count, operands) = match count_option(args, 10) {
        Ok(v) => v,
        Err(e) => {
            io.err(&format!("{cmd}: {e}\n"));
            return 2;
        }
    };
    let names = inputs(operands);
    let mut status = 0;
    for (i, name) in names.iter().enumerate() {
        let file = match open_input(name, io) {
            Ok(f) => f,
            Err(e) => {
                io.err(&format!("{cmd}: {name}: {e}\n"));
                status = 1;
                continue;
            }
        };
        if names.len() > 1 {
            io.out(&format!(
                "{}==> {name} <==\n",
                if i > 0 { "\n" } else { "" }
            ));
        }
        match each(count, &file, io) {
            LinesOutcome::Done => {}
            LinesOutcome::BrokenPipe => return STATUS_BROKEN_PIPE,
            LinesOutcome::Failed(e) => {
                io.err(&format!("{cmd}: {name}: {e}\n"));
                status = 1;
            }
        }
    }
    status
}

fn cmd_head(args: &[String], io: &mut Io) -> i32 {
    for_each_lines_input("head", args, io, |count, file, io| {
        let mut left = count;
        let mut broken = false;
        let result = if left == 0 {
            Ok(())
        } else {
            for_each_line(file, |line| {
                if io.write_out(line).is_err() {
                    broken = true;
                    return false;
                }
                left -= 1;
                left > 0
            })
        };
        match (broken, result) {
            (true, _) => LinesOutcome::BrokenPipe,
            (false, Ok(())) => LinesOutcome::Done,
            (false, Err(e)) => LinesOutcome::Failed(e),
        }
    })
}

fn cmd_tail(args: &[String], io: &mut Io) -> i32 {
    for_each_lines_input("tail", args, io, |count, file, io| {
        // Keep only the last `count` lines while reading.
        let mut last: alloc::collections::VecDeque<Vec<u8>> = alloc::collections::VecDeque::new();
        let result = for_each_line(file, |line| {
            if count > 0 {
                if last.len() as u64 == count {
                    last.pop_front();
                }
                last.push_back(line.to_vec());
            }
            true
        });
        if let Err(e) = result {
            return LinesOutcome::Failed(e);
        }
        for line in &last {
            if io.write_out(line).is_err() {
                return LinesOutcome::BrokenPipe;
            }
        }
        LinesOutcome::Done
    })
}

fn cmd_grep(args: &[String], io: &mut Io) -> i32 {
    let Some((opts, rest)) = flags("grep", args, "ivcn", io) else {
        return 2;
    };
    let Some((pattern, files)) = rest.split_first() else {
        io.err("grep: usage: grep [-i] [-v] [-c] [-n] PATTERN [FILE...]\n");
        return 2;
    };
    let ignore_case = opts.contains('i');
    let invert = opts.contains('v');
    let count_only = opts.contains('c');
    let numbers = opts.contains('n');
    let lower = |b: &[u8]| -> Vec<u8> {
        if ignore_case {
            b.to_ascii_lowercase()
        } else {
            b.to_vec()
        }
    };
    let needle = lower(pattern.as_bytes());
    let names = inputs(files);
    let prefix_names = names.len() > 1;
    let mut any = false;
    let mut error = false;
    for name in &names {
        let file = match open_input(name, io) {
            Ok(f) => f,
            Err(e) => {
                io.err(&format!("grep: {name}: {e}\n"));
                error = true;
                continue;
            }
        };
        let shown = if name == "-" {
            "(standard input)"
        } else {
            name
        };
        let mut count = 0u64;
        let mut number = 0u64;
        let mut broken = false;
        let result = for_each_line(&file, |line| {
            number += 1;
            let hay = lower(line);
            let found = needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle);
            if found == invert {
                return true;
            }
            count += 1;
            if count_only {
                return true;
            }
            let mut out = Vec::new();
            if prefix_names {
                out.extend_from_slice(format!("{shown}:").as_bytes());
            }
            if numbers {
                out.extend_from_slice(format!("{number}:").as_bytes());
            }
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.push(b'\n');
            }
            if io.write_out(&out).is_err() {
                broken = true;
                return false;
            }
            true
        });
        if broken {
            return STATUS_BROKEN_PIPE;
        }
        if let Err(e) = result {
            io.err(&format!("grep: {name}: {e}\n"));
            error = true;
            continue;
        }
        if count_only {
            if prefix_names {
                io.out(&format!("{shown}:{count}\n"));
            } else {
                io.out(&format!("{count}\n"));
            }
        }
        any |= count > 0;
    }
    if error {
        2
    } else if any {
        0
    } else {
        1
    }
}

/// Glob match of a whole name: `*` is any run of chars, `?` any one char.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and the name position it currently absorbs up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn cmd_find(args: &[String], io: &mut Io) -> i32 {
    let mut start = String::from(".");
    let mut pattern: Option<String> = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "-name" => match args.get(i + 1) {
                Some(p) => {
                    pattern = Some(p.clone());
                    i += 2;
                }
                None => {
                    io.err("find: -name needs a pattern\n");
                    return 2;
                }
            },
            a if a.starts_with('-') => {
                io.err(&format!("find: unknown predicate {a}\n"));
                return 2;
            }
            a if i == 1 => {
                start = a.into();
                i += 1;
            }
            a => {
                io.err(&format!("find: unexpected operand {a}\n"));
                return 2;
            }
        }
    }
    let root = match abs(&start) {
        Ok(p) => p,
        Err(e) => {
            io.err(&format!("find: {start}: {e}\n"));
            return 1;
        }
    };
    let mut found = Vec::new();
    let walked = rootfs::with(|fs| -> Result<(), Errno> {
        let node = fs.lookup(&root)?;
        // (absolute path, path as shown, name, node)
        let base = root
            .rsplit('/')
            .next()
            .filter(|b| !b.is_empty())
            .unwrap_or("/");
        let mut stack = alloc::vec![(start.clone(), String::from(base), node)];
        while let Some((shown, name, node)) = stack.pop() {
            if pattern.as_deref().is_none_or(|p| glob_match(p, &name)) {
                found.push(shown.clone());
            }
            if fs.metadata(node)?.kind == NodeKind::Directory {
                let entries = fs.readdir(node)?;
                for e in entries.into_iter().rev() {
                    stack.push((join(&shown, &e.name), e.name, e.node));
                }
            }
        }
        Ok(())
    });
    if let Err(e) = walked {
        io.err(&format!("find: {start}: {e}\n"));
        return 1;
    }
    let mut text = String::new();
    for f in found {
        text.push_str(&f);
        text.push('\n');
    }
    if io.write_out(text.as_bytes()).is_err() {
        return STATUS_BROKEN_PIPE;
    }
    0
}

/// Parses a non-negative decimal number of seconds (`1`, `0.25`, `.5`) into nanoseconds.
pub(crate) fn parse_seconds(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut ns = 0u64;
    for (i, c) in frac.chars().take(9).enumerate() {
        ns += u64::from(c as u8 - b'0') * 10u64.pow(8 - i as u32);
    }
    secs.checked_mul(1_000_000_000)?.checked_add(ns)
}

fn cmd_sleep(args: &[String], io: &mut Io) -> i32 {
    let [_, secs] = args else {
        io.err("sleep: usage: sleep SECS\n");
        return 2;
    };
    let Some(ns) = parse_seconds(secs) else {
        io.err(&format!("sleep: invalid time interval '{secs}'\n"));
        return 1;
    };
    task::sleep_ns(ns);
    0
}

fn cmd_yes(args: &[String], io: &mut Io) -> i32 {
    let mut line = if args.len() > 1 {
        args[1..].join(" ")
    } else {
        String::from("y")
    };
    line.push('\n');
    // Whole lines, up to PIPE_BUF bytes per write (so writes stay atomic).
    let mut buf = Vec::new();
    while buf.is_empty() || buf.len() + line.len() <= vfs::PIPE_BUF {
        buf.extend_from_slice(line.as_bytes());
    }
    loop {
        match io.write_out(&buf) {
            Ok(()) => {}
            Err(Errno::EPIPE) => return STATUS_BROKEN_PIPE,
            Err(e) => {
                io.err(&format!("yes: {e}\n"));
                return 1;
            }
        }
    }
}

fn cmd_mem(_: &[String], io: &mut Io) -> i32 {
    let f = memory::frame_stats();
    let h = memory::heap_stats();
    let (files, limit) = rootfs::with(|fs| fs.byte_usage());
    let kib = |frames: u64| frames * 4;
    io.out(&format!(
        "frames: {} KiB used of {} KiB ({} of {} frames free)\nheap:   {} KiB used of {} KiB mapped ({} KiB in large blocks)\nfiles:  {} KiB of {} KiB allowed\n",
        kib(f.total - f.free),
        kib(f.total),
        f.free,
        f.total,
        h.used / 1024,
        h.size / 1024,
        h.large / 1024,
        files / 1024,
        limit / 1024
    ));
    0
}

/// Homes the cursor and erases the screen (the ANSI sequences `clear` prints for xterm-like
/// terminals), then the scrollback.
fn cmd_clear(_: &[String], io: &mut Io) -> i32 {
    io.out("\x1b[H\x1b[2J\x1b[3J");
    0
}

/// How long `resize` waits for the terminal's answer.
const RESIZE_TIMEOUT_NS: u64 = 3_000_000_000;

/// `resize`: learns the terminal's current size as xterm's `resize` does (a serial line
/// cannot signal a resize): sends `tty::SIZE_QUERY` to the terminal in raw mode, reads the
/// cursor position report it answers with, records it as the console's window size (what
/// `TIOCGWINSZ` gives programs from then on) and prints it as `COLUMNS`/`LINES` assignments.
fn cmd_resize(_: &[String], io: &mut Io) -> i32 {
    let saved = vfs::console_termios();
    let mut raw = saved;
    tty::make_raw(&mut raw);
    // Unread input is dropped, so typed keys are not taken for the answer.
    vfs::set_console_termios(raw, true);
    let console = vfs::Console::new();
    console.set_nonblocking(true);
    let _ = console.write(tty::SIZE_QUERY);
    let deadline = time::monotonic_ns() + RESIZE_TIMEOUT_NS;
    let mut reply = Vec::new();
    let size = loop {
        let mut buf = [0u8; 64];
        if let Ok(n) = console.read(&mut buf) {
            reply.extend_from_slice(&buf[..n]);
        }
        if let Some(size) = tty::parse_size_report(&reply) {
            break Some(size);
        }
        if time::monotonic_ns() >= deadline || reply.len() > 256 {
            break None;
        }
        task::sleep_ns(10_000_000);
    };
    vfs::set_console_termios(saved, false);
    match size {
        Some((rows, cols)) => {
            vfs::set_console_window_size(rows, cols);
            io.out(&format!(
                "COLUMNS={cols};\nLINES={rows};\nexport COLUMNS LINES;\n"
            ));
            0
        }
        None => {
            io.err("resize: the terminal did not report its size\n");
            1
        }
    }
}

fn cmd_uptime(_: &[String], io: &mut Io) -> i32 {
    let ns = time::monotonic_ns();
    io.out(&format!(
        "up {}.{:03} s\n",
        ns / 1_000_000_000,
        ns / 1_000_000 % 1000
    ));
    0
}

fn cmd_date(_: &[String], io: &mut Io) -> i32 {
    let d = time::civil_from_unix(time::realtime_ns() / 1_000_000_000);
    io.out(&format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC\n",
        d.year, d.month, d.day, d.hour, d.minute, d.second
    ));
    0
}

fn cmd_env(sh: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    let mut text = String::new();
    for (k, v) in &sh.vars {
        text.push_str(&format!("{k}={v}\n"));
    }
    io.out(&text);
    0
}

fn cmd_exit(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let status = match args.get(1) {
        None => sh.last_status,
        Some(n) => match n.parse::<i32>() {
            Ok(v) => v & 0xff,
            Err(_) => {
                io.err(&format!("exit: {n}: numeric argument required\n"));
                2
            }
        },
    };
    sh.exit = Some(status);
    status
}

fn cmd_poweroff(sh: &mut Shell, _: &[String], _: &mut Io) -> i32 {
    sh.exit = Some(0);
    sh.vars.insert("POWEROFF".into(), "1".into());
    0
}
