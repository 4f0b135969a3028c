//! The Linux x86_64 system-call ABI for programs running in user mode (stock
//! `x86_64-unknown-linux-musl` static binaries, C programs built with `musl-gcc`).
//!
//! [`init`] installs [`handle`] as the system-call handler. One table ([`lookup`]) maps each
//! Linux number to a small handler written against libtheseus; a handler gets the arguments
//! (and the caller's registers, for the calls that change them) and returns the value or an
//! [`Errno`], which goes back negated in `rax`, as the kernel ABI wants. A number without a
//! handler returns `ENOSYS` and is counted per process.
//!
//! Tracing: a program started with `THESEUS_STRACE=1` in its environment prints each call as
//! `[strace] name(args) = result` on its standard error, and when it ends (`exit_group`) a
//! summary of the calls that returned `ENOSYS`; with `THESEUS_STRACE=log` the same lines go to
//! the kernel log (the serial console, `run --verbose`), leaving the program's output as is.
//!
//! | module | calls |
//! |---|---|
//! | `caps` | `capget`, `capset` |
//! | `copy` | `sendfile`, `copy_file_range`, `splice`, `vmsplice`, `tee` |
//! | `fs` | descriptors, paths (`openat2` too), directories, metadata, ownership, pipes, poll, epoll, eventfd, ioctl, `truncate`, `fadvise64` |
//! | `inotify` | `inotify_init`, `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch` |
//! | `interrupted` | what a call a signal interrupted does next: made again or `EINTR` |
//! | `lock` | `flock` and `fcntl` record locks (whole-file, per process) |
//! | `mem` | `mmap`, `munmap`, `mprotect`, `mremap`, `madvise`, `brk` |
//! | `mqueue` | `mq_open`, `mq_unlink`, `mq_timedsend`, `mq_timedreceive`, `mq_notify`, `mq_getsetattr` |
//! | `net` | sockets: `socket`, `socketpair`, `bind`, `listen`, `accept4`, `connect`, `sendto`/`recvfrom`, `sendmsg`/`recvmsg`, `sendmmsg`/`recvmmsg`, `shutdown`, `[gs]etsockopt`, names |
//! | `thread` | `clone` (threads), `exit`, `exit_group`, `futex`, `set_tid_address`, `arch_prctl`, ids, `kill` |
//! | `select` | `select`, `pselect6` |
//! | `vectored` | `preadv`, `pwritev`, `preadv2`, `pwritev2` |
//! | `process` | `clone`/`vfork` of processes sharing memory (`CLONE_VM | CLONE_VFORK`), `execve`, `wait4`, `waitid`, `pidfd_open`, `pidfd_send_signal` |
//! | `signal` | `rt_sigaction`, `rt_sigprocmask`, `sigaltstack`, `rt_sigreturn`, `rt_sigsuspend`, `pause`, `rt_sigtimedwait`; delivery of faults and sent signals to handlers |
//! | `signalfd` | `signalfd`, `signalfd4` |
//! | `timers` | `timerfd_create`/`_settime`/`_gettime`, `alarm`, `setitimer`/`getitimer`, `timer_create`/`_settime`/`_gettime`/`_getoverrun`/`_delete` |
//! | `system` | clocks and sleeps, `uname`, user ids (`getresuid`...), `getcpu`, `getrandom`, limits, `sysinfo` |

mod caps;
mod copy;
mod fs;
mod inotify;
mod interrupted;
mod lock;
mod mem;
mod mqueue;
mod net;
mod netlink;
mod process;
mod select;
mod signal;
mod signalfd;
mod state;
mod system;
mod thread;
mod timers;
mod vectored;

use alloc::format;
use alloc::string::String;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result};
use linux_raw_sys::general as nr;

/// Installs the Linux system-call handler.
pub fn init() {
    usermode::set_syscall_handler(handle);
    signal::init();
}

/// A system call's handler: the six arguments and the caller's registers.
type Handler = fn(&mut Registers, [u64; 6]) -> Result<u64>;

/// The handler of system call `number` and its name.
fn lookup(number: u64) -> Option<(&'static str, Handler)> {
    let Ok(n) = u32::try_from(number) else {
        return None;
    };
    Some(match n {
        nr::__NR_read => ("read", fs::read),
        nr::__NR_write => ("write", fs::write),
        nr::__NR_open => ("open", fs::open),
        nr::__NR_close => ("close", fs::close),
        nr::__NR_stat => ("stat", fs::stat),
        nr::__NR_fstat => ("fstat", fs::fstat),
        nr::__NR_lstat => ("lstat", fs::lstat),
        nr::__NR_poll => ("poll", fs::poll),
        nr::__NR_lseek => ("lseek", fs::lseek),
        nr::__NR_mmap => ("mmap", mem::mmap),
        nr::__NR_mprotect => ("mprotect", mem::mprotect),
        nr::__NR_munmap => ("munmap", mem::munmap),
        nr::__NR_brk => ("brk", mem::brk),
        nr::__NR_rt_sigaction => ("rt_sigaction", signal::rt_sigaction),
        nr::__NR_rt_sigprocmask => ("rt_sigprocmask", signal::rt_sigprocmask),
        nr::__NR_rt_sigreturn => ("rt_sigreturn", signal::rt_sigreturn),
        nr::__NR_rt_sigsuspend => ("rt_sigsuspend", signal::rt_sigsuspend),
        nr::__NR_rt_sigtimedwait => ("rt_sigtimedwait", signal::rt_sigtimedwait),
        nr::__NR_pause => ("pause", signal::pause),
        nr::__NR_signalfd => ("signalfd", signalfd::signalfd),
        nr::__NR_signalfd4 => ("signalfd4", signalfd::signalfd4),
        nr::__NR_alarm => ("alarm", timers::alarm),
        nr::__NR_setitimer => ("setitimer", timers::setitimer),
        nr::__NR_getitimer => ("getitimer", timers::getitimer),
        nr::__NR_timer_create => ("timer_create", timers::timer_create),
        nr::__NR_timer_settime => ("timer_settime", timers::timer_settime),
        nr::__NR_timer_gettime => ("timer_gettime", timers::timer_gettime),
        nr::__NR_timer_getoverrun => ("timer_getoverrun", timers::timer_getoverrun),
        nr::__NR_timer_delete => ("timer_delete", timers::timer_delete),
        nr::__NR_timerfd_create => ("timerfd_create", timers::timerfd_create),
        nr::__NR_timerfd_settime => ("timerfd_settime", timers::timerfd_settime),
        nr::__NR_timerfd_gettime => ("timerfd_gettime", timers::timerfd_gettime),
        nr::__NR_ioctl => ("ioctl", fs::ioctl),
        nr::__NR_pread64 => ("pread64", fs::pread64),
        nr::__NR_pwrite64 => ("pwrite64", fs::pwrite64),
        nr::__NR_readv => ("readv", fs::readv),
        nr::__NR_preadv => ("preadv", vectored::preadv),
        nr::__NR_pwritev => ("pwritev", vectored::pwritev),
        nr::__NR_preadv2 => ("preadv2", vectored::preadv2),
        nr::__NR_pwritev2 => ("pwritev2", vectored::pwritev2),
        nr::__NR_select => ("select", select::select),
        nr::__NR_pselect6 => ("pselect6", select::pselect6),
        nr::__NR_sendfile => ("sendfile", copy::sendfile),
        nr::__NR_copy_file_range => ("copy_file_range", copy::copy_file_range),
        nr::__NR_splice => ("splice", copy::splice),
        nr::__NR_vmsplice => ("vmsplice", copy::vmsplice),
        nr::__NR_tee => ("tee", copy::tee),
        nr::__NR_writev => ("writev", fs::writev),
        nr::__NR_access => ("access", fs::access),
        nr::__NR_pipe => ("pipe", fs::pipe),
        nr::__NR_sched_yield => ("sched_yield", thread::sched_yield),
        nr::__NR_mremap => ("mremap", mem::mremap),
        nr::__NR_madvise => ("madvise", mem::madvise),
        nr::__NR_dup => ("dup", fs::dup),
        nr::__NR_dup2 => ("dup2", fs::dup2),
        nr::__NR_nanosleep => ("nanosleep", system::nanosleep),
        nr::__NR_getpid => ("getpid", thread::getpid),
        nr::__NR_clone => ("clone", thread::clone),
        nr::__NR_exit => ("exit", thread::exit),
        nr::__NR_wait4 => ("wait4", process::wait4),
        nr::__NR_execve => ("execve", process::execve),
        nr::__NR_waitid => ("waitid", process::waitid),
        nr::__NR_pidfd_open => ("pidfd_open", process::pidfd_open),
        nr::__NR_pidfd_send_signal => ("pidfd_send_signal", process::pidfd_send_signal),
        nr::__NR_vfork => ("vfork", process::vfork),
        nr::__NR_kill => ("kill", thread::kill),
        nr::__NR_uname => ("uname", system::uname),
        nr::__NR_fcntl => ("fcntl", fs::fcntl),
        nr::__NR_fsync => ("fsync", fs::fsync),
        nr::__NR_fdatasync => ("fdatasync", fs::fsync),
        nr::__NR_ftruncate => ("ftruncate", fs::ftruncate),
        nr::__NR_truncate => ("truncate", fs::truncate),
        nr::__NR_fadvise64 => ("fadvise64", fs::fadvise64),
        nr::__NR_getdents64 => ("getdents64", fs::getdents64),
        nr::__NR_getcwd => ("getcwd", fs::getcwd),
        nr::__NR_chdir => ("chdir", fs::chdir),
        nr::__NR_fchdir => ("fchdir", fs::fchdir),
        nr::__NR_rename => ("rename", fs::rename),
        nr::__NR_mkdir => ("mkdir", fs::mkdir),
        nr::__NR_rmdir => ("rmdir", fs::rmdir),
        nr::__NR_mknod => ("mknod", fs::mknod),
        nr::__NR_mknodat => ("mknodat", fs::mknodat),
        nr::__NR_unlink => ("unlink", fs::unlink),
        nr::__NR_symlink => ("symlink", fs::symlink),
        nr::__NR_link => ("link", fs::link),
        nr::__NR_readlink => ("readlink", fs::readlink),
        nr::__NR_chmod => ("chmod", fs::chmod),
        nr::__NR_fchmod => ("fchmod", fs::fchmod),
        nr::__NR_umask => ("umask", fs::umask),
        nr::__NR_gettimeofday => ("gettimeofday", system::gettimeofday),
        nr::__NR_getrlimit => ("getrlimit", system::getrlimit),
        nr::__NR_sysinfo => ("sysinfo", system::sysinfo),
        nr::__NR_getresuid => ("getresuid", system::getres_ids),
        nr::__NR_getresgid => ("getresgid", system::getres_ids),
        nr::__NR_getcpu => ("getcpu", system::getcpu),
        nr::__NR_getuid => ("getuid", system::zero),
        nr::__NR_getgid => ("getgid", system::zero),
        nr::__NR_geteuid => ("geteuid", system::zero),
        nr::__NR_getegid => ("getegid", system::zero),
        nr::__NR_getppid => ("getppid", thread::getppid),
        nr::__NR_getpgrp => ("getpgrp", thread::getpgrp),
        nr::__NR_getpgid => ("getpgid", thread::getpgid),
        nr::__NR_getsid => ("getsid", thread::getpid),
        nr::__NR_sigaltstack => ("sigaltstack", signal::sigaltstack),
        nr::__NR_arch_prctl => ("arch_prctl", thread::arch_prctl),
        nr::__NR_gettid => ("gettid", thread::gettid),
        nr::__NR_tkill => ("tkill", thread::tkill),
        nr::__NR_futex => ("futex", thread::futex),
        nr::__NR_sched_getaffinity => ("sched_getaffinity", thread::sched_getaffinity),
        nr::__NR_set_tid_address => ("set_tid_address", thread::set_tid_address),
        nr::__NR_clock_gettime => ("clock_gettime", system::clock_gettime),
        nr::__NR_clock_getres => ("clock_getres", system::clock_getres),
        nr::__NR_clock_nanosleep => ("clock_nanosleep", system::clock_nanosleep),
        nr::__NR_exit_group => ("exit_group", thread::exit_group),
        nr::__NR_tgkill => ("tgkill", thread::tgkill),
        nr::__NR_openat => ("openat", fs::openat),
        nr::__NR_openat2 => ("openat2", fs::openat2),
        nr::__NR_mkdirat => ("mkdirat", fs::mkdirat),
        nr::__NR_newfstatat => ("newfstatat", fs::newfstatat),
        nr::__NR_unlinkat => ("unlinkat", fs::unlinkat),
        nr::__NR_renameat => ("renameat", fs::renameat),
        nr::__NR_renameat2 => ("renameat2", fs::renameat2),
        nr::__NR_symlinkat => ("symlinkat", fs::symlinkat),
        nr::__NR_linkat => ("linkat", fs::linkat),
        nr::__NR_readlinkat => ("readlinkat", fs::readlinkat),
        nr::__NR_fchmodat => ("fchmodat", fs::fchmodat),
        nr::__NR_faccessat => ("faccessat", fs::faccessat),
        nr::__NR_faccessat2 => ("faccessat2", fs::faccessat),
        nr::__NR_ppoll => ("ppoll", fs::ppoll),
        nr::__NR_set_robust_list => ("set_robust_list", system::zero),
        nr::__NR_utimensat => ("utimensat", fs::utimensat),
        nr::__NR_dup3 => ("dup3", fs::dup3),
        nr::__NR_kcmp => ("kcmp", fs::kcmp),
        nr::__NR_pipe2 => ("pipe2", fs::pipe2),
        nr::__NR_prlimit64 => ("prlimit64", system::prlimit64),
        nr::__NR_getrandom => ("getrandom", system::getrandom),
        nr::__NR_statx => ("statx", fs::statx),
        nr::__NR_prctl => ("prctl", system::prctl),
        nr::__NR_capget => ("capget", caps::capget),
        nr::__NR_capset => ("capset", caps::capset),
        nr::__NR_flock => ("flock", lock::flock),
        nr::__NR_fallocate => ("fallocate", fs::fallocate),
        nr::__NR_getrusage => ("getrusage", system::getrusage),
        nr::__NR_sched_setaffinity => ("sched_setaffinity", thread::sched_setaffinity),
        nr::__NR_statfs => ("statfs", system::statfs),
        nr::__NR_fstatfs => ("fstatfs", system::fstatfs),
        nr::__NR_chown => ("chown", fs::chown),
        nr::__NR_lchown => ("lchown", fs::lchown),
        nr::__NR_fchown => ("fchown", fs::fchown),
        nr::__NR_fchownat => ("fchownat", fs::fchownat),
        nr::__NR_setpgid => ("setpgid", thread::setpgid),
        nr::__NR_setsid => ("setsid", thread::getpid),
        nr::__NR_getgroups => ("getgroups", system::getgroups),
        nr::__NR_setgroups => ("setgroups", system::setgroups),
        nr::__NR_setuid => ("setuid", system::set_id),
        nr::__NR_setgid => ("setgid", system::set_id),
        nr::__NR_setreuid => ("setreuid", system::set_re_ids),
        nr::__NR_setregid => ("setregid", system::set_re_ids),
        nr::__NR_setresuid => ("setresuid", system::set_res_ids),
        nr::__NR_setresgid => ("setresgid", system::set_res_ids),
        nr::__NR_socket => ("socket", net::socket),
        nr::__NR_socketpair => ("socketpair", net::socketpair),
        nr::__NR_bind => ("bind", net::bind),
        nr::__NR_listen => ("listen", net::listen),
        nr::__NR_accept => ("accept", net::accept),
        nr::__NR_accept4 => ("accept4", net::accept4),
        nr::__NR_connect => ("connect", net::connect),
        nr::__NR_getsockname => ("getsockname", net::getsockname),
        nr::__NR_getpeername => ("getpeername", net::getpeername),
        nr::__NR_sendto => ("sendto", net::sendto),
        nr::__NR_recvfrom => ("recvfrom", net::recvfrom),
        nr::__NR_sendmsg => ("sendmsg", net::sendmsg),
        nr::__NR_recvmsg => ("recvmsg", net::recvmsg),
        nr::__NR_sendmmsg => ("sendmmsg", net::sendmmsg),
        nr::__NR_recvmmsg => ("recvmmsg", net::recvmmsg),
        nr::__NR_shutdown => ("shutdown", net::shutdown),
        nr::__NR_setsockopt => ("setsockopt", net::setsockopt),
        nr::__NR_getsockopt => ("getsockopt", net::getsockopt),
        nr::__NR_eventfd => ("eventfd", fs::eventfd),
        nr::__NR_eventfd2 => ("eventfd2", fs::eventfd2),
        nr::__NR_epoll_create => ("epoll_create", fs::epoll_create),
        nr::__NR_epoll_create1 => ("epoll_create1", fs::epoll_create1),
        nr::__NR_inotify_init => ("inotify_init", inotify::inotify_init),
        nr::__NR_inotify_init1 => ("inotify_init1", inotify::inotify_init1),
        nr::__NR_inotify_add_watch => ("inotify_add_watch", inotify::inotify_add_watch),
        nr::__NR_inotify_rm_watch => ("inotify_rm_watch", inotify::inotify_rm_watch),
        nr::__NR_epoll_ctl => ("epoll_ctl", fs::epoll_ctl),
        nr::__NR_epoll_wait => ("epoll_wait", fs::epoll_wait),
        nr::__NR_epoll_pwait => ("epoll_pwait", fs::epoll_pwait),
        nr::__NR_epoll_pwait2 => ("epoll_pwait2", fs::epoll_pwait2),
        nr::__NR_mq_open => ("mq_open", mqueue::mq_open),
        nr::__NR_mq_unlink => ("mq_unlink", mqueue::mq_unlink),
        nr::__NR_mq_timedsend => ("mq_timedsend", mqueue::mq_timedsend),
        nr::__NR_mq_timedreceive => ("mq_timedreceive", mqueue::mq_timedreceive),
        nr::__NR_mq_notify => ("mq_notify", mqueue::mq_notify),
        nr::__NR_mq_getsetattr => ("mq_getsetattr", mqueue::mq_getsetattr),
        _ => return None,
    })
}

/// The system-call entry: dispatch, trace, return value. Nothing is held across the handler
/// call: some handlers never return (`exit`, `execve`), and what they leave on this stack is
/// never dropped.
fn handle(regs: &mut Registers) {
    let number = regs.syscall_number();
    let args = regs.syscall_args();
    interrupted::settle();
    let found = lookup(number);
    let result = match found {
        Some((_, handler)) => handler(regs, args),
        None => Err(Errno::ENOSYS),
    };
    if result == Err(Errno::ENOSYS) {
        state::current().count_missing(number, found.map(|(name, _)| name));
    }
    let ret = match result {
        Ok(v) => v as i64,
        Err(e) => -i64::from(e.raw()),
    };
    regs.set_return(ret);
    if result == Err(Errno::EINTR) {
        interrupted::after(regs, number, args);
    }
    if state::TRACING_PROCESSES.load(core::sync::atomic::Ordering::Relaxed) == 0 {
        return;
    }
    let process = state::current();
    let trace = process.trace();
    if matches!(trace, state::Trace::Off | state::Trace::Missing) {
        return;
    }
    let name: String = found.map_or_else(|| format!("syscall_{number}"), |(n, _)| n.into());
    let shown = match result {
        Ok(v) => format!("{v:#x}"),
        Err(e) => format!("-{} {e}", e.raw()),
    };
    let line = format!(
        "[strace] {name}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {shown}\n",
        args[0], args[1], args[2], args[3], args[4], args[5]
    );
    if trace == state::Trace::Log {
        log::info!("{} {}", process.pid, line.trim_end());
    } else {
        drop(process);
        let _ = libtheseus::fs::write_all(libtheseus::fs::STDERR, line.as_bytes());
    }
}
