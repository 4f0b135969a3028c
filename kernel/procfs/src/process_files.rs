//! The files of one process, `/proc/PID/...`, and of one of its threads,
//! `/proc/PID/task/TID/...`.

use crate::processes::Process;
use crate::ticks;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use process::memory_map::{MemoryMap, MemoryUsage, RegionKind};
use task::{State, TaskInfo};
use vfs::generated::Node;
use vfs::{Errno, FileKind};

type Result<T> = core::result::Result<T, Errno>;

/// The entries of a process directory.
const PROCESS_ENTRIES: [(&str, FileKind); 16] = [
    ("auxv", FileKind::File),
    ("cmdline", FileKind::File),
    ("comm", FileKind::File),
    ("cwd", FileKind::Symlink),
    ("environ", FileKind::File),
    ("exe", FileKind::Symlink),
    ("fd", FileKind::Directory),
    ("io", FileKind::File),
    ("limits", FileKind::File),
    ("maps", FileKind::File),
    ("root", FileKind::Symlink),
    ("stat", FileKind::File),
    ("statm", FileKind::File),
    ("status", FileKind::File),
    ("task", FileKind::Directory),
    ("mounts", FileKind::File),
];

/// The entries of a thread directory.
const THREAD_ENTRIES: [(&str, FileKind); 3] = [
    ("comm", FileKind::File),
    ("stat", FileKind::File),
    ("status", FileKind::File),
];

fn dir(entries: &[(&str, FileKind)]) -> Node {
    Node::Dir(entries.iter().map(|(n, k)| (n.to_string(), *k)).collect())
}

/// The node at `rest` below `/proc/PID` of process `p`.
pub(crate) fn node(p: &Process, rest: &[&str]) -> Result<Node> {
    let ctx = p.context.as_ref();
    Ok(match rest {
        [] => {
            let mut entries: Vec<(&str, FileKind)> = PROCESS_ENTRIES.to_vec();
            if ctx.is_none_or(|c| c.exe().is_none()) {
                entries.retain(|(n, _)| *n != "exe");
            }
            dir(&entries)
        }
        ["auxv"] => Node::File(
            ctx.map(|c| c.auxv())
                .unwrap_or_default()
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect(),
        ),
        ["cmdline"] => Node::File(nul_separated(ctx.map(|c| c.args()).unwrap_or_default())),
        ["environ"] => Node::File(nul_separated(
            ctx.map(|c| c.env_vars())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        )),
        ["comm"] => Node::File(format!("{}\n", p.name()).into_bytes()),
        ["exe"] => Node::Symlink(ctx.and_then(|c| c.exe()).ok_or(Errno::ENOENT)?),
        ["cwd"] => Node::Symlink(ctx.map_or_else(|| "/".into(), |c| c.cwd())),
        ["root"] => Node::Symlink("/".into()),
        ["stat"] => Node::File(stat(p, None).into_bytes()),
        ["status"] => Node::File(status(p, p.main()).into_bytes()),
        ["mounts"] => Node::File(crate::system_files::mounts().into_bytes()),
        ["io"] => Node::File(io(ctx.map(|c| c.io().totals()).unwrap_or_default()).into_bytes()),
        ["limits"] => Node::File(limits().into_bytes()),
        ["maps"] => Node::File(maps(p).into_bytes()),
        ["statm"] => Node::File(statm(p).into_bytes()),
        ["fd"] => Node::Dir(
            fds(p)
                .into_iter()
                .map(|(fd, _)| (fd.to_string(), FileKind::Symlink))
                .collect(),
        ),
        ["fd", n] => {
            let fd: u32 = n.parse().map_err(|_| Errno::ENOENT)?;
            let target = fds(p)
                .into_iter()
                .find(|&(f, _)| f == fd)
                .ok_or(Errno::ENOENT)?
                .1;
            Node::Symlink(target)
        }
        ["task"] => Node::Dir(
            p.tasks
                .iter()
                .map(|t| (t.id.to_string(), FileKind::Directory))
                .collect(),
        ),
        ["task", tid, more @ ..] => {
            let t = tid
                .parse()
                .ok()
                .and_then(|id| p.task(id))
                .ok_or(Errno::ENOENT)?;
            match more {
                [] => dir(&THREAD_ENTRIES),
                ["comm"] => Node::File(format!("{}\n", thread_name(p, t)).into_bytes()),
                ["stat"] => Node::File(stat(p, Some(t)).into_bytes()),
                ["status"] => Node::File(status(p, t).into_bytes()),
                _ => return Err(Errno::ENOENT),
            }
        }
        _ => return Err(Errno::ENOENT),
    })
}

/// `/proc/PID/io`: what the process's reads and writes moved (`read_bytes`/`write_bytes`:
/// those of regular files, this system's storage; nothing is cancelled).
fn io(t: vfs::io_accounting::IoTotals) -> String {
    format!(
        "rchar: {}\nwchar: {}\nsyscr: {}\nsyscw: {}\nread_bytes: {}\nwrite_bytes: {}\n\
         cancelled_write_bytes: 0\n",
        t.rchar, t.wchar, t.syscr, t.syscw, t.read_bytes, t.write_bytes
    )
}

/// `/proc/PID/limits`: the kernel's resource limits, in Linux's table layout.
fn limits() -> String {
    let value = |v: u64| {
        if v == process::limits::UNLIMITED {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    let mut out = format!(
        "{:<26}{:<21}{:<21}{:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    for l in process::limits::LIMITS {
        out.push_str(&format!(
            "{:<26}{:<21}{:<21}{:<10}\n",
            l.name,
            value(l.soft),
            value(l.hard),
            l.unit
        ));
    }
    out
}

/// `items`, each followed by a NUL byte.
fn nul_separated(items: Vec<String>) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        out.extend_from_slice(item.as_bytes());
        out.push(0);
    }
    out
}

/// The open descriptors of `p` and what each links to: the path it was opened by, else
/// Linux's `type:[inode]` form.
fn fds(p: &Process) -> Vec<(u32, String)> {
    let Some(ctx) = &p.context else {
        return Vec::new();
    };
    let files: Vec<(u32, alloc::sync::Arc<dyn vfs::File>)> = ctx.with_fds(|table| {
        table
            .fds()
            .into_iter()
            .filter_map(|fd| Some((fd, table.get(fd).ok()?)))
            .collect()
    });
    files
        .into_iter()
        .map(|(fd, file)| {
            let target = file.path().unwrap_or_else(|| {
                let ino = file.stat().map_or(0, |s| s.ino);
                match file.kind() {
                    FileKind::Pipe => format!("pipe:[{ino}]"),
                    FileKind::Socket => format!("socket:[{ino}]"),
                    _ => format!("anon_inode:[{ino}]"),
                }
            });
            (fd, target)
        })
        .collect()
}

/// A thread's name: the process's for the main thread, else the task's.
fn thread_name(p: &Process, t: &TaskInfo) -> String {
    if t.id == p.pid {
        p.name()
    } else {
        t.comm
            .clone()
            .unwrap_or_else(|| t.name.chars().take(15).collect())
    }
}

/// The one-letter state Linux shows.
fn state_letter(s: State) -> char {
    match s {
        State::Running | State::Runnable => 'R',
        State::Blocked => 'S',
        State::Stopped => 'T',
        State::Exited => 'Z',
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Running | State::Runnable => "R (running)",
        State::Blocked => "S (sleeping)",
        State::Stopped => "T (stopped)",
        State::Exited => "Z (zombie)",
    }
}

/// The process's state: running if a task runs, else sleeping if one sleeps, else the main
/// task's.
fn process_state(p: &Process) -> State {
    let has = |s: &[State]| p.tasks.iter().any(|t| s.contains(&t.state));
    if has(&[State::Running, State::Runnable]) {
        State::Running
    } else if has(&[State::Blocked]) {
        State::Blocked
    } else {
        p.main().state
    }
}

/// The process group (the shell's job), or the process itself outside any job.
fn group(p: &Process) -> u64 {
    p.context
        .as_ref()
        .map(|c| c.job())
        .filter(|&j| j != 0)
        .unwrap_or(p.pid)
}

/// The process's memory sizes (all 0 for a kernel task, which has no map of its own).
fn usage(p: &Process) -> MemoryUsage {
    p.context
        .as_ref()
        .and_then(|c| c.resource::<MemoryMap>())
        .map(|m| m.usage())
        .unwrap_or_default()
}

const PAGE: u64 = memory::PAGE_SIZE;

/// `/proc/PID/statm`: sizes in pages: total, resident, shared (0), text (the image), 0,
/// data + stack (the rest), 0.
fn statm(p: &Process) -> String {
    let u = usage(p);
    format!(
        "{} {} 0 {} 0 {} 0\n",
        u.size / PAGE,
        u.resident / PAGE,
        u.image / PAGE,
        (u.stack + u.mapped) / PAGE
    )
}

/// `/proc/PID/maps`: each range of the memory map with its protection, one line per run of
/// equal protection; the image and stack are named as Linux names them.
fn maps(p: &Process) -> String {
    let Some(map) = p.context.as_ref().and_then(|c| c.resource::<MemoryMap>()) else {
        return String::new();
    };
    let exe = p.context.as_ref().and_then(|c| c.exe()).unwrap_or_default();
    let mut out = String::new();
    for (range, kind) in map.regions() {
        let name = match kind {
            RegionKind::Image => exe.as_str(),
            RegionKind::Stack => "[stack]",
            RegionKind::Mapped => "",
        };
        let runs = memory::protections(range.clone());
        for (run, prot) in runs {
            let bit = |on: bool, c: char| if on { c } else { '-' };
            let line = format!(
                "{:x}-{:x} {}{}{}p 00000000 00:00 0",
                run.start,
                run.end,
                bit(prot.read, 'r'),
                bit(prot.write, 'w'),
                bit(prot.exec, 'x'),
            );
            if name.is_empty() {
                out.push_str(&line);
                out.push('\n');
            } else {
                out.push_str(&format!("{line:<73}{name}\n"));
            }
        }
    }
    out
}

/// `/proc/PID/stat` (`thread`: `None`) or `/proc/PID/task/TID/stat`: Linux's 52 fields.
/// Times are in `USER_HZ` ticks; memory is the process's (`vsize` bytes, `rss` pages).
fn stat(p: &Process, thread: Option<&TaskInfo>) -> String {
    let (id, name, state, user_ns, cpu_ns) = match thread {
        Some(t) => (t.id, thread_name(p, t), t.state, t.user_ns, t.cpu_ns),
        None => {
            let (cpu_ns, user_ns) = p.cpu_times();
            (p.pid, p.name(), process_state(p), user_ns, cpu_ns)
        }
    };
    let user_ns = user_ns.min(cpu_ns);
    let group = group(p);
    let start = ticks(p.main().started_ns);
    let memory = usage(p);
    let (vsize, rss) = (memory.size, memory.resident / PAGE);
    format!(
        "{id} ({name}) {} {} {group} {group} 0 -1 0 0 0 0 0 {} {} 0 0 20 0 {} 0 {start} {vsize} {rss} \
         18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        state_letter(state),
        p.ppid(),
        ticks(user_ns),
        ticks(cpu_ns - user_ns),
        p.tasks.len(),
    )
}

/// `/proc/PID/status` as seen from thread `t`.
fn status(p: &Process, t: &TaskInfo) -> String {
    let fd_slots = p.context.as_ref().map_or(0, |c| {
        c.with_fds(|table| table.fds().last().map_or(0, |&f| f + 1))
    });
    let fd_size = fd_slots.max(64).next_power_of_two();
    let state = if t.id == p.pid {
        process_state(p)
    } else {
        t.state
    };
    let m = usage(p);
    format!(
        "Name:\t{}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\n\
         Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t{fd_size}\nGroups:\t0\n\
         VmSize:\t{:>8} kB\nVmRSS:\t{:>8} kB\nVmData:\t{:>8} kB\nVmStk:\t{:>8} kB\n\
         VmExe:\t{:>8} kB\nThreads:\t{}\n",
        thread_name(p, t),
        state_name(state),
        p.pid,
        t.id,
        p.ppid(),
        m.size / 1024,
        m.resident / 1024,
        m.mapped / 1024,
        m.stack / 1024,
        m.image / 1024,
        p.tasks.len(),
    )
}
