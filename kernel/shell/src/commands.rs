//! Built-in commands.

use crate::{Io, Shell, now, read_file};
use alloc::format;
use alloc::string::String;
use memfs::{FsError, NodeKind};

pub struct Command {
    pub name: &'static str,
    pub help: &'static str,
    pub run: fn(&mut Shell, &[String], &mut Io) -> i32,
}

pub static COMMANDS: &[Command] = &[
    Command {
        name: "help",
        help: "list the commands",
        run: cmd_help,
    },
    Command {
        name: "echo",
        help: "echo [-n] ARGS...: print the arguments",
        run: cmd_echo,
    },
    Command {
        name: "ls",
        help: "ls [-l] [PATH...]: list directories",
        run: cmd_ls,
    },
    Command {
        name: "cat",
        help: "cat [FILE...]: print files (or stdin)",
        run: cmd_cat,
    },
    Command {
        name: "cd",
        help: "cd [DIR]: change the current directory",
        run: cmd_cd,
    },
    Command {
        name: "pwd",
        help: "print the current directory",
        run: cmd_pwd,
    },
    Command {
        name: "mkdir",
        help: "mkdir [-p] DIR...: create directories",
        run: cmd_mkdir,
    },
    Command {
        name: "rm",
        help: "rm [-r] PATH...: remove files (and directories with -r)",
        run: cmd_rm,
    },
    Command {
        name: "rmdir",
        help: "rmdir DIR...: remove empty directories",
        run: cmd_rmdir,
    },
    Command {
        name: "touch",
        help: "touch FILE...: create files or update their times",
        run: cmd_touch,
    },
    Command {
        name: "mem",
        help: "show physical frames and kernel heap in use",
        run: cmd_mem,
    },
    Command {
        name: "uptime",
        help: "time since power-on",
        run: cmd_uptime,
    },
    Command {
        name: "date",
        help: "the current date and time (UTC)",
        run: cmd_date,
    },
    Command {
        name: "env",
        help: "list shell variables (NAME=value sets one)",
        run: cmd_env,
    },
    Command {
        name: "true",
        help: "do nothing, successfully",
        run: |_, _, _| 0,
    },
    Command {
        name: "false",
        help: "do nothing, unsuccessfully",
        run: |_, _, _| 1,
    },
    Command {
        name: "ps",
        help: "list tasks: id, state, CPU time, name",
        run: crate::tasks::cmd_ps,
    },
    Command {
        name: "kill",
        help: "kill ID...: end tasks",
        run: crate::tasks::cmd_kill,
    },
    Command {
        name: "crash",
        help: "crash panic|pagefault|divzero|stackoverflow|ud|gp: fail in a task",
        run: crate::tasks::cmd_crash,
    },
    Command {
        name: "exit",
        help: "exit [N]: leave the shell with status N",
        run: cmd_exit,
    },
    Command {
        name: "poweroff",
        help: "power the machine off",
        run: cmd_poweroff,
    },
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

fn cmd_help(_: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    io.out("Commands:\n");
    for c in COMMANDS {
        io.out(&format!("  {:<9} {}\n", c.name, c.help));
    }
    io.out("Syntax: CMD; CMD, 'quotes', \"double $VAR\", $?, NAME=value, > >> < redirections.\n");
    0
}

fn cmd_echo(_: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let (newline, words) = match args.get(1).map(String::as_str) {
        Some("-n") => (false, &args[2..]),
        _ => (true, &args[1..]),
    };
    let mut line = words.join(" ");
    if newline {
        line.push('\n');
    }
    io.out(&line);
    0
}

fn kind_suffix(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Directory => "/",
        NodeKind::Symlink => "@",
        NodeKind::File => "",
    }
}

fn cmd_ls(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
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
        let listing = sh.abs_path(p).and_then(|abs| {
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
                if paths.len() > 1 {
                    io.out(&format!("{}{p}:\n", if i > 0 { "\n" } else { "" }));
                }
                for (name, meta) in entries {
                    if long {
                        let kind = match meta.kind {
                            NodeKind::Directory => 'd',
                            NodeKind::Symlink => 'l',
                            NodeKind::File => '-',
                        };
                        io.out(&format!(
                            "{kind}{:04o} {:>10} {name}{}\n",
                            meta.mode,
                            meta.size,
                            kind_suffix(meta.kind)
                        ));
                    } else {
                        io.out(&format!("{name}{}\n", kind_suffix(meta.kind)));
                    }
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

fn cmd_cat(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    if args.len() == 1 {
        if let Some(data) = io.stdin.take() {
            io.stdout.write(&data);
        }
        return 0;
    }
    let mut status = 0;
    for p in &args[1..] {
        match sh.abs_path(p).and_then(|abs| read_file(&abs)) {
            Ok(data) => io.stdout.write(&data),
            Err(e) => {
                io.err(&format!("cat: {p}: {e}\n"));
                status = 1;
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
                return Err(FsError::NotADirectory);
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

fn cmd_pwd(sh: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    io.out(&format!("{}\n", sh.cwd));
    0
}

/// Runs `op` on each operand's absolute path, reporting errors as `cmd: operand: error`.
fn for_each_path(
    sh: &Shell,
    cmd: &str,
    operands: &[String],
    io: &mut Io,
    mut op: impl FnMut(&str) -> Result<(), FsError>,
) -> i32 {
    if operands.is_empty() {
        io.err(&format!("{cmd}: missing operand\n"));
        return 2;
    }
    let mut status = 0;
    for p in operands {
        if let Err(e) = sh.abs_path(p).and_then(|abs| op(&abs)) {
            io.err(&format!("{cmd}: {p}: {e}\n"));
            status = 1;
        }
    }
    status
}

fn cmd_mkdir(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let Some((opts, operands)) = flags("mkdir", args, "p", io) else {
        return 2;
    };
    let parents = opts.contains('p');
    for_each_path(sh, "mkdir", operands, io, |abs| {
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

fn remove_tree(fs: &mut memfs::MemFs, abs: &str) -> Result<(), FsError> {
    let node = fs.lookup_nofollow(abs)?;
    if fs.metadata(node)?.kind != NodeKind::Directory {
        return fs.unlink(abs, now());
    }
    for entry in fs.readdir(node)? {
        let child = if abs == "/" {
            format!("/{}", entry.name)
        } else {
            format!("{abs}/{}", entry.name)
        };
        remove_tree(fs, &child)?;
    }
    fs.rmdir(abs, now())
}

fn cmd_rm(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let Some((opts, operands)) = flags("rm", args, "rf", io) else {
        return 2;
    };
    let recursive = opts.contains('r');
    for_each_path(sh, "rm", operands, io, |abs| {
        rootfs::with(|fs| {
            if recursive {
                remove_tree(fs, abs)
            } else {
                fs.unlink(abs, now())
            }
        })
    })
}

fn cmd_rmdir(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    for_each_path(sh, "rmdir", &args[1..], io, |abs| {
        rootfs::with(|fs| fs.rmdir(abs, now()))
    })
}

fn cmd_touch(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    for_each_path(sh, "touch", &args[1..], io, |abs| {
        rootfs::with(|fs| match fs.lookup(abs) {
            Ok(node) => fs.set_times(node, Some(now()), Some(now())),
            Err(FsError::NotFound) => fs.create_file(abs, 0o644, now()).map(|_| ()),
            Err(e) => Err(e),
        })
    })
}

fn cmd_mem(_: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    let f = memory::frame_stats();
    let h = memory::heap_stats();
    let kib = |frames: u64| frames * 4;
    io.out(&format!(
        "frames: {} KiB used of {} KiB ({} of {} frames free)\nheap:   {} KiB used of {} KiB mapped\n",
        kib(f.total - f.free),
        kib(f.total),
        f.free,
        f.total,
        h.used / 1024,
        h.size / 1024
    ));
    0
}

fn cmd_uptime(_: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    let ns = time::monotonic_ns();
    io.out(&format!(
        "up {}.{:03} s\n",
        ns / 1_000_000_000,
        ns / 1_000_000 % 1000
    ));
    0
}

fn cmd_date(_: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    let d = time::civil_from_unix(time::realtime_ns() / 1_000_000_000);
    io.out(&format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC\n",
        d.year, d.month, d.day, d.hour, d.minute, d.second
    ));
    0
}

fn cmd_env(sh: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    for (k, v) in &sh.vars {
        io.out(&format!("{k}={v}\n"));
    }
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
