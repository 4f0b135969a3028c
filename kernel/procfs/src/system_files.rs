//! The system-wide files of `/proc`: memory, CPU time, uptime, mounts, version, and
//! `sys/kernel`.

use crate::{cpu_ticks, identity, online_cpus};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// `/proc/meminfo`: what the frame allocator knows (no swap). Free memory is all available.
pub(crate) fn meminfo() -> String {
    let f = memory::frame_stats();
    let kib = |frames: u64| frames * memory::PAGE_SIZE / 1024;
    format!(
        "MemTotal:       {:>8} kB\nMemFree:        {:>8} kB\nMemAvailable:   {:>8} kB\n\
         SwapTotal:             0 kB\nSwapFree:              0 kB\n",
        kib(f.total),
        kib(f.free),
        kib(f.free),
    )
}

/// `/proc/stat`: CPU time since boot in `USER_HZ` ticks (system time is the tasks' time not
/// spent in user mode), task switches, boot time, and tasks running and blocked.
pub(crate) fn stat() -> String {
    let cpus: Vec<(u64, u64, u64)> = (0..online_cpus()).map(cpu_ticks).collect();
    let line = |name: &str, (user, system, idle): (u64, u64, u64)| {
        format!("{name} {user} 0 {system} {idle} 0 0 0 0 0 0\n")
    };
    let total = cpus
        .iter()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let mut out = line("cpu ", total);
    for (i, c) in cpus.iter().enumerate() {
        out.push_str(&line(&format!("cpu{i}"), *c));
    }
    let tasks = task::list();
    let running = tasks
        .iter()
        .filter(|t| matches!(t.state, task::State::Running | task::State::Runnable))
        .count();
    let blocked = tasks
        .iter()
        .filter(|t| t.state == task::State::Blocked)
        .count();
    let boot_s = (time::realtime_ns() - time::monotonic_ns()) / 1_000_000_000;
    out.push_str(&format!(
        "ctxt {}\nbtime {boot_s}\nprocs_running {running}\nprocs_blocked {blocked}\n",
        task::cpu_times().switches
    ));
    out
}

/// `/proc/uptime`: seconds since boot and seconds every CPU spent idle (summed).
pub(crate) fn uptime() -> String {
    let up = time::monotonic_ns() / 10_000_000;
    let idle: u64 = (0..online_cpus()).map(|i| cpu_ticks(i).2).sum();
    format!(
        "{}.{:02} {}.{:02}\n",
        up / 100,
        up % 100,
        idle / 100,
        idle % 100
    )
}

/// `/proc/mounts` (and `/proc/PID/mounts`): the in-memory root and the generated trees.
pub(crate) fn mounts() -> String {
    String::from(
        "rootfs / tmpfs rw 0 0\nproc /proc proc ro,nosuid,nodev,noexec 0 0\n\
         sysfs /sys sysfs ro,nosuid,nodev,noexec 0 0\n",
    )
}

/// `/proc/version`.
pub(crate) fn version() -> String {
    format!(
        "{} version {} (theseus) {}\n",
        identity::SYSNAME,
        identity::RELEASE,
        identity::VERSION
    )
}

/// The files of `/proc/sys/kernel`.
pub(crate) const KERNEL_FILES: [&str; 5] =
    ["domainname", "hostname", "osrelease", "ostype", "version"];

/// `/proc/sys/kernel/NAME`.
pub(crate) fn kernel_file(name: &str) -> Option<String> {
    let value = match name {
        "domainname" => identity::DOMAINNAME,
        "hostname" => identity::NODENAME,
        "osrelease" => identity::RELEASE,
        "ostype" => identity::SYSNAME,
        "version" => identity::VERSION,
        _ => return None,
    };
    Some(format!("{value}\n"))
}
