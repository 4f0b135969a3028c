//! Text commands: echo, cat, wc, head, tail, grep, yes. They read their operands (stdin when
//! none or `-`) line by line and write to stdout.

use super::{STATUS_BROKEN_PIPE, flags};
use crate::Io;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use vfs::{Errno, File, OpenOptions};

pub(super) fn cmd_echo(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_cat(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_wc(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_head(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_tail(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_grep(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_yes(args: &[String], io: &mut Io) -> i32 {
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
