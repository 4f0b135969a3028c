//! File commands: ls, cd, pwd, mkdir, rm, rmdir, touch, cp, mv, find. They reach the file
//! system through `vfs` only.

use super::{STATUS_BROKEN_PIPE, flags};
use crate::{Io, Shell};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use vfs::{Errno, FileKind, OpenOptions};

fn kind_suffix(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Directory => "/",
        FileKind::Symlink => "@",
        _ => "",
    }
}

pub(super) fn cmd_ls(args: &[String], io: &mut Io) -> i32 {
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
        let listing = vfs::absolute(p).and_then(|abs| {
            let meta = vfs::stat(&abs)?;
            if meta.kind != FileKind::Directory {
                return Ok(alloc::vec![(p.clone(), meta)]);
            }
            vfs::read_dir(&abs)?
                .into_iter()
                .map(|e| {
                    let meta = vfs::lstat(&join(&abs, &e.name))?;
                    Ok((String::from(&*e.name), meta))
                })
                .collect()
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
                            FileKind::Directory => 'd',
                            FileKind::Symlink => 'l',
                            FileKind::File => '-',
                            FileKind::Pipe => 'p',
                            FileKind::CharDevice => 'c',
                            FileKind::Socket => 's',
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

pub(super) fn cmd_cd(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let target = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| sh.vars.get("HOME").cloned().unwrap_or_else(|| "/".into()));
    let result = sh.abs_path(&target).and_then(|abs| {
        if vfs::stat(&abs)?.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(abs)
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

pub(super) fn cmd_pwd(_: &[String], io: &mut Io) -> i32 {
    io.out(&format!("{}\n", vfs::getcwd()));
    0
}

/// Runs `op` on each operand's absolute path, reporting errors as `cmd: operand: error`.
fn for_each_path(
    cmd: &str,
    operands: &[String],
    io: &mut Io,
    mut op: impl FnMut(&str) -> vfs::Result<()>,
) -> i32 {
    if operands.is_empty() {
        io.err(&format!("{cmd}: missing operand\n"));
        return 2;
    }
    let mut status = 0;
    for p in operands {
        if let Err(e) = vfs::absolute(p).and_then(|abs| op(&abs)) {
            io.err(&format!("{cmd}: {p}: {e}\n"));
            status = 1;
        }
    }
    status
}

pub(super) fn cmd_mkdir(args: &[String], io: &mut Io) -> i32 {
    let Some((opts, operands)) = flags("mkdir", args, "p", io) else {
        return 2;
    };
    let make = if opts.contains('p') {
        vfs::mkdir_all
    } else {
        vfs::mkdir
    };
    for_each_path("mkdir", operands, io, |abs| make(abs, 0o755))
}

/// Removes `abs` and, if it is a directory (not a link to one), everything below it.
fn remove_tree(abs: &str) -> vfs::Result<()> {
    if vfs::lstat(abs)?.kind != FileKind::Directory {
        return vfs::unlink(abs);
    }
    for entry in vfs::read_dir(abs)? {
        remove_tree(&join(abs, &entry.name))?;
    }
    vfs::rmdir(abs)
}

/// `dir/name` without doubling the root's slash.
fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

pub(super) fn cmd_rm(args: &[String], io: &mut Io) -> i32 {
    let Some((opts, operands)) = flags("rm", args, "rf", io) else {
        return 2;
    };
    let remove = if opts.contains('r') {
        remove_tree
    } else {
        vfs::unlink
    };
    for_each_path("rm", operands, io, remove)
}

pub(super) fn cmd_rmdir(args: &[String], io: &mut Io) -> i32 {
    for_each_path("rmdir", &args[1..], io, vfs::rmdir)
}

pub(super) fn cmd_touch(args: &[String], io: &mut Io) -> i32 {
    for_each_path("touch", &args[1..], io, |abs| {
        let now = vfs::now();
        match vfs::set_times(abs, true, Some(now), Some(now)) {
            Err(Errno::ENOENT) => {
                let create = OpenOptions::new().write(true).create(true).exclusive(true);
                vfs::open_file(abs, create.mode(0o644)).map(|_| ())
            }
            other => other,
        }
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

pub(super) fn cmd_cp(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_mv(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_find(args: &[String], io: &mut Io) -> i32 {
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
    let walked =
        vfs::absolute(&start).and_then(|root| walk_tree(&start, &root, pattern.as_deref()));
    let found = match walked {
        Ok(found) => found,
        Err(e) => {
            io.err(&format!("find: {start}: {e}\n"));
            return 1;
        }
    };
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

/// What `find` lists: `start` (as given; `root` is it made absolute) and everything below
/// it, depth first in name order, each as `start/...`; only names matching `pattern` if
/// there is one. Links are listed, not followed.
fn walk_tree(start: &str, root: &str, pattern: Option<&str>) -> vfs::Result<Vec<String>> {
    let base = root
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or("/");
    // (path as shown, absolute path, name, kind)
    let mut stack = alloc::vec![(
        String::from(start),
        String::from(root),
        String::from(base),
        vfs::stat(root)?.kind
    )];
    let mut found = Vec::new();
    while let Some((shown, path, name, kind)) = stack.pop() {
        if pattern.is_none_or(|p| glob_match(p, &name)) {
            found.push(shown.clone());
        }
        if kind == FileKind::Directory {
            for e in vfs::read_dir(&path)?.into_iter().rev() {
                stack.push((
                    join(&shown, &e.name),
                    join(&path, &e.name),
                    String::from(&*e.name),
                    e.kind,
                ));
            }
        }
    }
    Ok(found)
}
