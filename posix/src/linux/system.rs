//! System information, clocks and sleeps: `clock_gettime` (realtime, monotonic, boot time,
//! process and thread CPU time), `clock_getres`, `clock_nanosleep`, `nanosleep`,
//! `gettimeofday`, `uname`, `getrandom`, `getrlimit`/`prlimit64`, `sysinfo`, and the calls
//! that answer 0 (user and group ids: everything runs as root).

use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result, thread, time};
use linux_raw_sys::general as g;

const NS_PER_S: u64 = 1_000_000_000;

pub fn zero(_: &mut Registers, _: [u64; 6]) -> Result<u64> {
    Ok(0)
}

/// `getresuid` / `getresgid`: real, effective and saved ids, all 0 (one user, root).
pub fn getres_ids(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    for addr in &a[..3] {
        usermode::write_value(*addr, &0u32)?;
    }
    Ok(0)
}

/// The id-setting calls: the only user and group is root (0), so setting 0 (or `-1`,
/// "unchanged", where the call takes it) succeeds and changes nothing; any other id is
/// `EPERM` (no other identities exist).
fn only_root(ids: &[u64]) -> Result<u64> {
    if ids
        .iter()
        .all(|&id| id as u32 == 0 || id as u32 == u32::MAX)
    {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

/// `getgroups`: the supplementary groups `setgroups` set (none at first).
pub fn getgroups(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (size, list) = (a[0] as i32, a[1]);
    let groups = super::state::current().groups.lock().clone();
    if size < 0 || (size != 0 && (size as usize) < groups.len()) {
        return Err(Errno::EINVAL);
    }
    if size != 0 {
        for (i, g) in groups.iter().enumerate() {
            usermode::write_value(list + 4 * i as u64, g)?;
        }
    }
    Ok(groups.len() as u64)
}

/// `setgroups`: records the process's supplementary groups (root may name any; with no
/// permission checks in the OS they change nothing else).
pub fn setgroups(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const NGROUPS_MAX: u64 = 65536;
    let (size, list) = (a[0], a[1]);
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let groups = (0..size)
        .map(|i| usermode::read_value::<u32>(list + 4 * i))
        .collect::<Result<alloc::vec::Vec<u32>>>()?;
    *super::state::current().groups.lock() = groups;
    Ok(0)
}

/// `setuid`, `setgid`.
pub fn set_id(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] as u32 == u32::MAX {
        return Err(Errno::EINVAL);
    }
    only_root(&a[..1])
}

/// `setreuid`, `setregid`.
pub fn set_re_ids(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    only_root(&a[..2])
}

/// `setresuid`, `setresgid`.
pub fn set_res_ids(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    only_root(&a[..3])
}

/// `getcpu`: the CPU running the caller, in NUMA node 0 (either pointer may be null).
pub fn getcpu(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let cpu = libtheseus::thread::current_cpu() as u32;
    for (addr, value) in [(a[0], cpu), (a[1], 0)] {
        if addr != 0 {
            usermode::write_value(addr, &value)?;
        }
    }
    Ok(0)
}

fn clock_ns(clock: u32) -> Result<u64> {
    Ok(match clock {
        g::CLOCK_REALTIME | g::CLOCK_REALTIME_COARSE | g::CLOCK_TAI => time::realtime_ns(),
        g::CLOCK_MONOTONIC
        | g::CLOCK_MONOTONIC_RAW
        | g::CLOCK_MONOTONIC_COARSE
        | g::CLOCK_BOOTTIME => time::monotonic_ns(),
        g::CLOCK_PROCESS_CPUTIME_ID => libtheseus::process::cpu_times().0,
        g::CLOCK_THREAD_CPUTIME_ID => thread::cpu_time_ns(),
        _ if (clock as i32) < 0 => cpu_clock_ns(clock as i32)?,
        _ => return Err(Errno::EINVAL),
    })
}

/// A CPU-time clock of a process or thread by id (`clock_getcpuclockid`,
/// `pthread_getcpuclockid`): Linux encodes `!id << 3`, bit 2 for a thread, and in the low two
/// bits what to count (0: user + system, 1: user, 2: all run time). Id 0 is the caller.
fn cpu_clock_ns(clock: i32) -> Result<u64> {
    const PER_THREAD: i32 = 4;
    let id = u64::from(!(clock >> 3) as u32);
    let times = if clock & PER_THREAD != 0 {
        if id == 0 {
            Some(thread::cpu_times())
        } else {
            // Only the caller's own threads.
            let process = super::state::current();
            let mine = id == process.pid || process.threads.lock().contains_key(&id);
            mine.then(|| thread::cpu_times_of(id)).flatten()
        }
    } else if id == 0 {
        Some(libtheseus::process::cpu_times())
    } else {
        libtheseus::process::cpu_times_of(id)
    };
    let (all, user) = times.ok_or(Errno::EINVAL)?;
    match clock & 3 {
        0 | 2 => Ok(all),
        1 => Ok(user),
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn write_timespec(addr: u64, ns: u64) -> Result<()> {
    let ts: [i64; 2] = [(ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as i64];
    usermode::write_value(addr, &ts)
}

pub(super) fn read_timespec(addr: u64) -> Result<u64> {
    let ts: [i64; 2] = usermode::read_value(addr)?;
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    Ok((ts[0] as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts[1] as u64))
}

pub fn clock_gettime(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let ns = clock_ns(a[0] as u32)?;
    write_timespec(a[1], ns).map(|_| 0)
}

pub fn clock_getres(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    clock_ns(a[0] as u32)?;
    if a[1] != 0 {
        write_timespec(a[1], 1)?;
    }
    Ok(0)
}

pub fn gettimeofday(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] != 0 {
        let ns = time::realtime_ns();
        let tv: [i64; 2] = [
            (ns / 1_000_000_000) as i64,
            ((ns % 1_000_000_000) / 1000) as i64,
        ];
        usermode::write_value(a[0], &tv)?;
    }
    Ok(0)
}

/// Sleeps until the monotonic clock reaches `deadline`. A signal for the thread ends the
/// sleep with `EINTR`, after writing the time left to `rem` (a user address; 0: none).
fn sleep_until(deadline: u64, rem: u64) -> Result<()> {
    match thread::sleep_until_interruptible(deadline) {
        Err(Errno::EINTR) if rem != 0 => {
            let left = deadline.saturating_sub(time::monotonic_ns());
            let ts = [(left / NS_PER_S) as i64, (left % NS_PER_S) as i64];
            usermode::write_value(rem, &ts)?;
            Err(Errno::EINTR)
        }
        other => other,
    }
}

pub fn nanosleep(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let ns = read_timespec(a[0])?;
    sleep_until(time::monotonic_ns().saturating_add(ns), a[1])?;
    Ok(0)
}

pub fn clock_nanosleep(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (clock, flags) = (a[0] as u32, a[1] as u32);
    let ns = read_timespec(a[2])?;
    let now = clock_ns(clock)?;
    // The time left is reported for relative sleeps only, as Linux does.
    let (wait, rem) = if flags & g::TIMER_ABSTIME != 0 {
        (ns.saturating_sub(now), 0)
    } else {
        (ns, a[3])
    };
    sleep_until(time::monotonic_ns().saturating_add(wait), rem)?;
    Ok(0)
}

pub fn uname(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    // struct new_utsname: six 65-byte fields.
    let mut u = [0u8; 6 * 65];
    use libtheseus::identity as id;
    for (i, value) in [
        id::SYSNAME,
        id::NODENAME,
        id::RELEASE,
        id::VERSION,
        id::MACHINE,
        id::DOMAINNAME,
    ]
    .iter()
    .enumerate()
    {
        u[i * 65..i * 65 + value.len()].copy_from_slice(value.as_bytes());
    }
    usermode::write(a[0], &u).map(|_| 0)
}

pub fn getrandom(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let len = (a[1] as usize).min(1 << 20);
    usermode::check(a[0], len, true)?;
    let mut buf = alloc::vec![0u8; len];
    libtheseus::random::fill(&mut buf);
    usermode::write(a[0], &buf)?;
    Ok(len as u64)
}

/// `(soft, hard)` limit of resource `r` (the kernel's, `libtheseus::process::limit`).
fn limit(r: u32) -> Result<(u64, u64)> {
    libtheseus::process::limit(r).ok_or(Errno::EINVAL)
}

pub fn getrlimit(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (soft, hard) = limit(a[0] as u32)?;
    usermode::write_value(a[1], &[soft, hard]).map(|_| 0)
}

/// Limits can be read; setting them is accepted and has no effect.
pub fn prlimit64(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] != 0 && a[0] != super::state::current().pid {
        return Err(Errno::ESRCH);
    }
    let (soft, hard) = limit(a[1] as u32)?;
    if a[2] != 0 {
        let _: [u64; 2] = usermode::read_value(a[2])?;
    }
    if a[3] != 0 {
        usermode::write_value(a[3], &[soft, hard])?;
    }
    Ok(0)
}

pub fn sysinfo(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let mem = libtheseus::mmap::memory_stats();
    // struct sysinfo: uptime, loads[3], totalram, freeram, sharedram, bufferram, totalswap,
    // freeswap (longs), procs (u16, padded), totalhigh, freehigh, mem_unit (u32), padding.
    let mut raw = [0u8; 112];
    let mut put = |off: usize, v: u64| raw[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, time::monotonic_ns() / 1_000_000_000);
    put(32, mem.total_bytes);
    put(40, mem.free_bytes);
    raw[80..82].copy_from_slice(&1u16.to_le_bytes());
    raw[104..108].copy_from_slice(&1u32.to_le_bytes());
    usermode::write(a[0], &raw).map(|_| 0)
}

/// `prctl`: the thread's name (`PR_SET_NAME`/`PR_GET_NAME`: 15 bytes, shown in `/proc` and
/// `ps`), and the process and thread settings programs read back (`super::state::Settings`).
/// What each setting does here: no set-user-id programs exist, so `no_new_privs` holds
/// trivially; no core dumps, capabilities, huge pages, machine-check recovery or perf
/// counters exist, so `dumpable`, `keepcaps`, `thp_disable`, the MCE policy and the perf
/// switches change nothing; timers have no slack; `PR_SET_PDEATHSIG` is kept but not sent (a
/// parent's end leaves its children running), and `PR_SET_CHILD_SUBREAPER` is kept (orphans
/// are not re-parented). `PR_GET_AUXV` copies the auxiliary vector the program started with.
/// Other options are `EINVAL`.
pub fn prctl(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_GET_KEEPCAPS: u64 = 7;
    const PR_SET_KEEPCAPS: u64 = 8;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_GET_TIMERSLACK: u64 = 30;
    const PR_SET_TIMERSLACK: u64 = 29;
    const PR_TASK_PERF_EVENTS_DISABLE: u64 = 31;
    const PR_TASK_PERF_EVENTS_ENABLE: u64 = 32;
    const PR_MCE_KILL: u64 = 33;
    const PR_MCE_KILL_GET: u64 = 34;
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    const PR_GET_CHILD_SUBREAPER: u64 = 37;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    const PR_SET_THP_DISABLE: u64 = 41;
    const PR_GET_THP_DISABLE: u64 = 42;
    const PR_GET_AUXV: u64 = 0x4155_5856;
    const PR_MCE_KILL_CLEAR: u64 = 0;
    const PR_MCE_KILL_SET: u64 = 1;
    /// Linux's default slack: 50 us.
    const DEFAULT_SLACK: u64 = 50_000;
    let process = super::state::current();
    let flag = |v: u64| -> Result<bool> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Errno::EINVAL),
        }
    };
    let mut settings = process.settings.lock();
    let me = thread::current_id().as_u64();
    match a[0] {
        PR_GET_AUXV => {
            // As Linux: the whole vector's size, after copying as much as `size` holds.
            if a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            let bytes: alloc::vec::Vec<u8> = libtheseus::env::auxv()
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect();
            let n = bytes.len().min(a[2] as usize);
            if n > 0 {
                usermode::write(a[1], &bytes[..n])?;
            }
            Ok(bytes.len() as u64)
        }
        PR_SET_NAME => {
            // Up to the NUL or 15 bytes, as Linux's copy of a name is.
            let mut name = alloc::vec::Vec::with_capacity(15);
            for at in a[1]..a[1] + 15 {
                match usermode::read_value::<u8>(at)? {
                    0 => break,
                    b => name.push(b),
                }
            }
            thread::set_current_name(&name);
            Ok(0)
        }
        PR_GET_NAME => {
            let mut name = [0u8; 16];
            let current = thread::current_name();
            let n = current.len().min(15);
            name[..n].copy_from_slice(&current.as_bytes()[..n]);
            usermode::write(a[1], &name).map(|_| 0)
        }
        PR_SET_PDEATHSIG => {
            if a[1] > 64 {
                return Err(Errno::EINVAL);
            }
            settings.death_signal.insert(me, a[1] as u32);
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let sig = settings.death_signal.get(&me).copied().unwrap_or(0) as i32;
            usermode::write_value(a[1], &sig).map(|_| 0)
        }
        PR_GET_DUMPABLE => Ok(u64::from(settings.dumpable)),
        PR_SET_DUMPABLE => {
            settings.dumpable = flag(a[1])?;
            Ok(0)
        }
        PR_GET_KEEPCAPS => Ok(u64::from(settings.keep_caps.contains(&me))),
        PR_SET_KEEPCAPS => {
            if flag(a[1])? {
                settings.keep_caps.insert(me);
            } else {
                settings.keep_caps.remove(&me);
            }
            Ok(0)
        }
        PR_GET_TIMERSLACK => Ok(settings
            .timer_slack
            .get(&me)
            .copied()
            .unwrap_or(DEFAULT_SLACK)),
        PR_SET_TIMERSLACK => {
            let slack = if a[1] == 0 { DEFAULT_SLACK } else { a[1] };
            settings.timer_slack.insert(me, slack);
            Ok(0)
        }
        PR_TASK_PERF_EVENTS_DISABLE | PR_TASK_PERF_EVENTS_ENABLE => Ok(0),
        PR_MCE_KILL => match a[1] {
            PR_MCE_KILL_CLEAR => {
                settings.mce_kill.remove(&me);
                Ok(0)
            }
            // Policies: early (1), late (0), default (2).
            PR_MCE_KILL_SET if a[2] <= 2 => {
                settings.mce_kill.insert(me, a[2] as u32);
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
        PR_MCE_KILL_GET => Ok(u64::from(settings.mce_kill.get(&me).copied().unwrap_or(2))),
        PR_SET_CHILD_SUBREAPER => {
            settings.subreaper = a[1] != 0;
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            usermode::write_value(a[1], &i32::from(settings.subreaper)).map(|_| 0)
        }
        PR_SET_NO_NEW_PRIVS => {
            // Once set it stays set; only 1 is accepted.
            if a[1] != 1 || a[2..5].iter().any(|&v| v != 0) {
                return Err(Errno::EINVAL);
            }
            settings.no_new_privs = true;
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => Ok(u64::from(settings.no_new_privs)),
        PR_SET_THP_DISABLE => {
            settings.thp_disable = a[1] != 0;
            Ok(0)
        }
        PR_GET_THP_DISABLE => Ok(u64::from(settings.thp_disable)),
        _ => Err(Errno::EINVAL),
    }
}

/// `getrusage`: user and system CPU time of the calling process (`RUSAGE_SELF`, ended
/// threads included) or thread (`RUSAGE_THREAD`), the rest zero; children's usage is not
/// kept (zeros).
pub fn getrusage(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_THREAD: i32 = 1;
    let (cpu, user) = match a[0] as i32 {
        RUSAGE_SELF => libtheseus::process::cpu_times(),
        RUSAGE_THREAD => thread::cpu_times(),
        RUSAGE_CHILDREN => (0, 0),
        _ => return Err(Errno::EINVAL),
    };
    let mut raw = [0u8; 144];
    for (at, ns) in [(0, user), (16, cpu - user)] {
        raw[at..at + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        raw[at + 8..at + 16].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    }
    usermode::write(a[1], &raw).map(|_| 0)
}

/// `statfs`/`fstatfs`: the in-memory file system (type `TMPFS_MAGIC`), sized from the
/// machine's memory.
fn statfs_into(addr: u64) -> Result<u64> {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    let mem = libtheseus::mmap::memory_stats();
    let mut raw = [0u8; 120];
    let mut put = |at: usize, v: u64| raw[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put(0, TMPFS_MAGIC); // f_type
    put(8, 4096); // f_bsize
    put(16, mem.total_bytes / 4096); // f_blocks
    put(24, mem.free_bytes / 4096); // f_bfree
    put(32, mem.free_bytes / 4096); // f_bavail
    put(40, 1 << 20); // f_files
    put(48, 1 << 20); // f_ffree
    put(64, 255); // f_namelen
    put(72, 4096); // f_frsize
    usermode::write(addr, &raw).map(|_| 0)
}

pub fn statfs(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let path = usermode::read_c_string(a[0], 4096)?;
    libtheseus::fs::stat(core::str::from_utf8(&path).map_err(|_| Errno::ENOENT)?)?;
    statfs_into(a[1])
}

pub fn fstatfs(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    libtheseus::fs::fstat(u32::try_from(a[0] as i64).map_err(|_| Errno::EBADF)?)?;
    statfs_into(a[1])
}
