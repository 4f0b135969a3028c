//! System and session commands: help, sleep, mem, nproc, cpus, uptime, date, clear, resize, and the
//! builtins env, exit and poweroff.

use super::COMMANDS;
use crate::{Io, Shell};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use vfs::File;

pub(super) fn cmd_help(_: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_sleep(args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_mem(_: &[String], io: &mut Io) -> i32 {
    let f = memory::frame_stats();
    let h = memory::heap_stats();
    let files = vfs::fs_usage();
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
        files.used / 1024,
        files.limit / 1024
    ));
    0
}

/// `nproc`: the CPUs online, as coreutils' `nproc` prints them.
pub(super) fn cmd_nproc(_: &[String], io: &mut Io) -> i32 {
    io.out(&format!("{}\n", smp::cpus_online()));
    0
}

/// `cpus`: how many CPUs the firmware lists and how many are online, then one line per CPU:
/// whether it runs tasks (a task kept to that CPU alone ran there), and for an application
/// processor whether its local APIC timer ticked and whether it halted between interrupts
/// (no more returns from `hlt` than interrupts) during a 100 ms look.
pub(super) fn cmd_cpus(_: &[String], io: &mut Io) -> i32 {
    let before: Vec<smp::CpuInfo> = (0..smp::MAX_CPUS).map_while(smp::cpu).collect();
    task::sleep_ns(100_000_000);
    io.out(&format!(
        "{} of {} CPUs online\n",
        smp::cpus_online(),
        smp::cpus_found()
    ));
    for b in &before {
        let Some(a) = smp::cpu(b.index) else { continue };
        let runs = if runs_tasks(a.index) {
            "runs tasks"
        } else {
            "runs no tasks"
        };
        let role = if a.index == 0 {
            format!("boot CPU, {runs}")
        } else {
            let ticks = a.ticks - b.ticks;
            let interrupts =
                ticks + (a.reschedules - b.reschedules) + (a.shootdowns - b.shootdowns);
            let wakeups = a.wakeups - b.wakeups;
            format!(
                "{runs}, {}, {}",
                if ticks > 0 {
                    "timer ticking"
                } else {
                    "timer stopped"
                },
                if wakeups <= interrupts + 2 {
                    "halted between interrupts"
                } else {
                    "spinning"
                }
            )
        };
        let answered = if smp::cpus_online() > 1 {
            format!(
                ", {} task switches, {} TLB shootdowns answered, {} flushed on waking",
                task::cpu_run_stats(a.index).task_switches,
                a.shootdowns,
                a.deferred
            )
        } else {
            String::new()
        };
        io.out(&format!(
            "cpu {}: APIC id {}, {role}{answered}\n",
            a.index, a.apic_id
        ));
    }
    if smp::cpus_online() > 1 {
        let s = smp::shootdown_stats();
        io.out(&format!(
            "TLB shootdowns: {} sent, {} us each on average\n",
            s.sent,
            (s.wait_ns / s.sent.max(1)) / 1000
        ));
        let q = task::run_queue_stats();
        io.out(&format!(
            "run queue lock: taken {} times, {} found held by another CPU ({}.{:02}%), {} us waited in all\n",
            q.taken,
            q.contended,
            q.contended * 100 / q.taken.max(1),
            q.contended * 10000 / q.taken.max(1) % 100,
            q.wait_ns / 1000
        ));
    }
    0
}

/// Whether CPU `cpu` runs tasks: a task allowed on that CPU alone runs there.
fn runs_tasks(cpu: usize) -> bool {
    if task::active_cpus() & (1 << cpu) == 0 {
        return false;
    }
    task::Builder::new("cpus-probe")
        .affinity(1 << cpu)
        .spawn(|| task::current_cpu() as isize)
        .is_ok_and(|h| h.join() == task::ExitValue::Exited(cpu as isize))
}

/// Homes the cursor and erases the screen (the ANSI sequences `clear` prints for xterm-like
/// terminals), then the scrollback.
pub(super) fn cmd_clear(_: &[String], io: &mut Io) -> i32 {
    io.out("\x1b[H\x1b[2J\x1b[3J");
    0
}

/// How long `resize` waits for the terminal's answer.
const RESIZE_TIMEOUT_NS: u64 = 3_000_000_000;

/// `resize`: learns the terminal's current size as xterm's `resize` does (a serial line
/// cannot signal a resize): sends `tty::SIZE_QUERY` to the terminal in raw mode, reads the
/// cursor position report it answers with, records it as the console's window size (what
/// `TIOCGWINSZ` gives programs from then on) and prints it as `COLUMNS`/`LINES` assignments.
pub(super) fn cmd_resize(_: &[String], io: &mut Io) -> i32 {
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

/// `ip`: the loopback interface and the network device with its addresses and counters.
pub(super) fn cmd_ip(_: &[String], io: &mut Io) -> i32 {
    let mut text = String::from("lo: inet 127.0.0.1/8\n  inet6 ::1/128\n");
    match net_stack::info() {
        None => text.push_str("eth0: none (no virtio-net device)\n"),
        Some(i) => {
            let m = i.mac;
            text.push_str(&format!(
                "eth0: virtio-net {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} irq {}\n",
                m[0],
                m[1],
                m[2],
                m[3],
                m[4],
                m[5],
                i.irq.map_or(String::from("-"), |n| format!("{n}"))
            ));
            match i.ipv4 {
                Some(c) => {
                    let [a, b, cc, d] = c.address;
                    text.push_str(&format!("  inet {a}.{b}.{cc}.{d}/{}", c.prefix_len));
                    if let Some([a, b, cc, d]) = c.gateway {
                        text.push_str(&format!(" gateway {a}.{b}.{cc}.{d}"));
                    }
                    text.push_str(" (dhcp)\n");
                }
                None => text.push_str("  inet none (waiting for dhcp)\n"),
            }
            for a in &i.ipv6 {
                let scope = if a[0] == 0xfe && a[1] & 0xc0 == 0x80 {
                    "link"
                } else {
                    "site"
                };
                text.push_str(&format!(
                    "  inet6 {}/64 scope {scope}\n",
                    core::net::Ipv6Addr::from(*a)
                ));
            }
            let d = i.device;
            text.push_str(&format!(
                "  rx {} packets {} bytes {} errors\n  tx {} packets {} bytes {} errors\n",
                d.rx_packets, d.rx_bytes, d.rx_errors, d.tx_packets, d.tx_bytes, d.tx_errors
            ));
            text.push_str(&format!(
                "  interrupts {} stack runs {} tcp sockets {} listeners {}\n",
                d.interrupts, i.polls, i.tcp_sockets, i.listeners
            ));
        }
    }
    io.out(&text);
    0
}

pub(super) fn cmd_uptime(_: &[String], io: &mut Io) -> i32 {
    let ns = time::monotonic_ns();
    io.out(&format!(
        "up {}.{:03} s\n",
        ns / 1_000_000_000,
        ns / 1_000_000 % 1000
    ));
    0
}

pub(super) fn cmd_date(_: &[String], io: &mut Io) -> i32 {
    let d = time::civil_from_unix(time::realtime_ns() / 1_000_000_000);
    io.out(&format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC\n",
        d.year, d.month, d.day, d.hour, d.minute, d.second
    ));
    0
}

pub(super) fn cmd_env(sh: &mut Shell, _: &[String], io: &mut Io) -> i32 {
    let mut text = String::new();
    for (k, v) in &sh.vars {
        text.push_str(&format!("{k}={v}\n"));
    }
    io.out(&text);
    0
}

pub(super) fn cmd_exit(sh: &mut Shell, args: &[String], io: &mut Io) -> i32 {
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

pub(super) fn cmd_poweroff(sh: &mut Shell, _: &[String], _: &mut Io) -> i32 {
    sh.exit = Some(0);
    sh.vars.insert("POWEROFF".into(), "1".into());
    0
}
