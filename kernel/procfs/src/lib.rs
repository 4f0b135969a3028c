//! `/proc` and `/sys`: the kernel's state as read-only files, generated when they are read.
//!
//! Owns the content of both trees: per-process directories (`/proc/PID/...`, `self`,
//! `thread-self`), the system-wide files programs and crates such as `sysinfo` read
//! (`meminfo`, `stat`, `cpuinfo`, `uptime`, `mounts`, `sys/kernel/*`), and the
//! `/sys` files for CPUs and network interfaces. vfs's generated-tree mechanism
//! (`vfs::generated`) resolves paths and opens the nodes; [`mount`] registers both trees.
//!
//! Depends on `vfs` (the mount mechanism, processes' contexts), `process` (resource limits), `task` (tasks, CPU time),
//! `memory` (frame and heap counters), `time`, `net_stack` (interfaces), `smp` (CPUs).
//!
//! A process is a group of tasks sharing one `vfs::ProcessContext`; its id is the context's
//! (its main task's id), the number `getpid` gives. Kernel tasks without a context are
//! processes of their own. A process's memory is its `process::memory_map::MemoryMap` (image,
//! stack, mappings; resident pages counted in the page tables); its CPU time is its live
//! tasks' plus its ended threads' (kept in the context); its I/O counters are the context's
//! (`vfs::io_accounting`). What is not tracked is left out rather than made up: there is no
//! `/proc/loadavg`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod cpu;
pub mod identity;
mod proc_tree;
mod process_files;
mod processes;
mod sys_tree;
mod system_files;
mod tests;

use alloc::sync::Arc;

/// Mounts `/proc` and `/sys`.
pub fn mount() -> Result<(), vfs::Errno> {
    vfs::generated::mount("/proc", Arc::new(proc_tree::Proc))?;
    vfs::generated::mount("/sys", Arc::new(sys_tree::Sys))
}

/// Clock ticks per second in `/proc` times (Linux's `USER_HZ`, what `sysconf(_SC_CLK_TCK)`
/// answers).
pub const USER_HZ: u64 = 100;

/// `ns` in `USER_HZ` ticks.
fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

/// CPU time `(all, user mode)` in ns of process `pid` (its ended threads' included), if it
/// has a live task (`getrusage(RUSAGE_SELF)`, `/proc/PID/stat`).
pub fn process_cpu_times(pid: u64) -> Option<(u64, u64)> {
    processes::get(pid).map(|p| p.cpu_times())
}

/// CPUs online (`smp`; `sched_getaffinity` agrees).
pub fn online_cpus() -> usize {
    smp::cpus_online()
}

/// CPU time since boot of CPU `index` in `USER_HZ` ticks: (user, system, idle), as the
/// scheduler counts it for that CPU (`task::cpu_run_stats`: time in tasks, the part of it in
/// user mode, time in its idle task).
fn cpu_ticks(index: usize) -> (u64, u64, u64) {
    let t = task::cpu_run_stats(index);
    let user = ticks(t.user_ns.min(t.busy_ns));
    (
        user,
        ticks(t.busy_ns).saturating_sub(user),
        ticks(t.idle_ns),
    )
}
