//! Task commands: `ps`, `kill` (of tasks and jobs), and `crash` (spawn a task that fails in a
//! chosen way, to show that a fault or panic ends only that task).

use crate::{Io, Shell};
use alloc::format;
use alloc::string::String;
use task::{ExitValue, State};

pub(crate) fn cmd_ps(_: &[String], io: &mut Io) -> i32 {
    let mut text = String::from("   ID  STATE     CPU(ms)  PRI  NAME\n");
    let mut tasks = task::list();
    tasks.sort_by_key(|t| t.id);
    for t in tasks {
        let state = match t.state {
            State::Running => "running",
            State::Runnable => "ready",
            State::Blocked => "blocked",
            State::Stopped => "stopped",
            State::Exited => "exited",
        };
        text.push_str(&format!(
            "{:>5}  {:<8} {:>8}  {:>3}  {}\n",
            t.id,
            state,
            t.cpu_ns / 1_000_000,
            t.priority,
            t.comm.as_ref().unwrap_or(&t.name)
        ));
    }
    io.out(&text);
    0
}

/// The kill reason of tasks ended by the `kill` builtin.
pub(crate) const KILL_REASON: &str = "killed by `kill`";

/// Signal names `kill -NAME` takes (`-SIGNAME` and numbers too), by number - 1.
const SIGNAL_NAMES: [&str; 22] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
];

/// The signal number `-NAME`, `-SIGNAME` or `-N` means.
fn parse_signal(arg: &str) -> Option<i32> {
    let name = arg.strip_prefix('-')?;
    if let Ok(n) = name.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let name = name.strip_prefix("SIG").unwrap_or(name);
    SIGNAL_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|i| i as i32 + 1)
}

/// Sends `signal` to task `id` as `kill` does: `SIGTERM` (the default) ends it with
/// [`KILL_REASON`]; stop signals and `SIGCONT` stop and continue it; others go through
/// `process::signal` (a program that handles the signal gets it).
fn send(id: task::TaskId, signal: i32) -> Result<(), task::KillError> {
    const SIGTERM: i32 = 15;
    if signal == SIGTERM {
        return process::kill(id, KILL_REASON);
    }
    let name = SIGNAL_NAMES
        .get(signal as usize - 1)
        .copied()
        .unwrap_or("RT");
    process::signal(id, signal, &format!("killed by `kill -{name}` [SIG{name}]"))
}

pub(crate) fn cmd_kill(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
    let (signal, targets) = match args.get(1) {
        Some(a) if a.starts_with('-') && a.len() > 1 => match parse_signal(a) {
            Some(n) => (n, &args[2..]),
            None => {
                io.err(&format!("kill: {a}: invalid signal specification\n"));
                return 2;
            }
        },
        _ => (15, args.get(1..).unwrap_or(&[])),
    };
    if targets.is_empty() {
        io.err("kill: usage: kill [-SIGNAL] %JOB|ID...\n");
        return 2;
    }
    let mut status = 0;
    for arg in targets {
        if arg.starts_with('%') {
            match crate::jobs::find_job(sh, Some(arg)) {
                Ok(i) => {
                    for id in sh.jobs[i].running_ids() {
                        let _ = send(id, signal);
                    }
                }
                Err(e) => {
                    io.err(&format!("kill: {e}\n"));
                    status = 1;
                }
            }
            continue;
        }
        let result = arg
            .parse::<u64>()
            .map_err(|_| "not a task id")
            .and_then(|id| {
                send(id, signal).map_err(|e| match e {
                    task::KillError::NoSuchTask => "no such task",
                    task::KillError::NotPermitted => "operation not permitted",
                })
            });
        if let Err(e) = result {
            io.err(&format!("kill: {arg}: {e}\n"));
            status = 1;
        }
    }
    status
}

#[inline(never)]
fn crash_page_fault() -> isize {
    // An address in the never-mapped first page.
    let p = core::hint::black_box(0x18usize) as *const u64;
    // SAFETY: not safe at all: this read faults on purpose, and the fault ends the task.
    unsafe { p.read_volatile() as isize }
}

#[inline(never)]
fn crash_divide_by_zero() -> isize {
    let d = core::hint::black_box(0u64);
    let q: u64;
    // SAFETY: `div` by zero raises #DE on purpose; the fault ends the task.
    unsafe {
        core::arch::asm!("xor edx, edx", "div {d}", d = in(reg) d, inout("rax") 1u64 => q, out("rdx") _);
    }
    q as isize
}

#[inline(never)]
fn crash_invalid_opcode() -> isize {
    // SAFETY: `ud2` raises #UD on purpose; the fault ends the task.
    unsafe { core::arch::asm!("ud2") };
    0
}

#[inline(never)]
fn crash_general_protection() -> isize {
    // A non-canonical address raises #GP.
    let p = core::hint::black_box(0x8000_0000_0000_0000usize) as *const u64;
    // SAFETY: not safe: this read faults on purpose, and the fault ends the task.
    unsafe { p.read_volatile() as isize }
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn crash_stack_overflow(depth: u64) -> isize {
    let mut buf = [0u8; 1024];
    buf[depth as usize % 1024] = depth as u8;
    core::hint::black_box(&mut buf);
    crash_stack_overflow(depth + 1) + buf[0] as isize
}

#[inline(never)]
fn crash_panic() -> isize {
    panic!("crash: deliberate panic")
}

#[inline(never)]
fn crash_bad_free() -> isize {
    // In the heap's range but in no live part of it: the old heap wrote its free-list node
    // there, faulted with its lock held, and the fault path deadlocked allocating the report.
    let p = core::hint::black_box(memory::HEAP_START + (40 << 30)) as *mut u8;
    let layout = core::alloc::Layout::from_size_align(64, 8).expect("valid layout");
    // SAFETY: not safe: a free of memory never allocated, on purpose; the heap refuses it and
    // the task ends.
    unsafe { alloc::alloc::dealloc(p, layout) };
    0
}

/// A way to crash: its name, the code that crashes, and the status `crash` then returns
/// (128 + the POSIX signal number the fault would raise).
type CrashKind = (&'static str, fn() -> isize, i32);

pub(crate) const CRASH_KINDS: &[CrashKind] = &[
    ("panic", crash_panic, 134),
    ("pagefault", crash_page_fault, 139),
    ("divzero", crash_divide_by_zero, 136),
    ("stackoverflow", || crash_stack_overflow(0), 139),
    ("ud", crash_invalid_opcode, 132),
    ("gp", crash_general_protection, 139),
    ("badfree", crash_bad_free, 134),
];

/// Runs one crash of `kind` in its own task and returns how that task ended.
pub fn run_crash(kind: &str) -> Option<(ExitValue, i32)> {
    let &(_, f, status) = CRASH_KINDS.iter().find(|(k, _, _)| *k == kind)?;
    let handle = task::spawn(&format!("crash-{kind}"), f).ok()?;
    Some((handle.join(), status))
}

pub(crate) fn cmd_crash(args: &[String], io: &mut Io) -> i32 {
    let kinds: String = CRASH_KINDS
        .iter()
        .map(|(k, _, _)| *k)
        .collect::<alloc::vec::Vec<_>>()
        .join("|");
    let Some(kind) = args.get(1) else {
        io.err(&format!("crash: usage: crash {kinds}\n"));
        return 2;
    };
    match run_crash(kind) {
        Some((ExitValue::Killed(reason), status)) => {
            io.err(&format!("crash: task killed: {}\n", reason.trim_end()));
            status
        }
        Some((ExitValue::Exited(v), _)) => {
            io.err(&format!("crash: the task survived and returned {v}\n"));
            1
        }
        None => {
            io.err(&format!("crash: unknown kind {kind:?} (one of {kinds})\n"));
            2
        }
    }
}
