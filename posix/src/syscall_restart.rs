//! Which system calls a signal's handler makes again (Linux's `ERESTARTSYS` family, signal(7)'s
//! lists): the pure part of `linux::interrupted`, host-tested.

use linux_raw_sys::general as g;

/// What an interrupted call does when a signal is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Made again unless a handler without `SA_RESTART` runs (Linux's `ERESTARTSYS`).
    Restart,
    /// Made again only when no handler runs (`ERESTARTNOHAND`, `ERESTART_RESTARTBLOCK`).
    RestartWithoutHandler,
    /// `EINTR` when a signal is taken, even without a handler (`epoll_wait`, Linux's quirk
    /// that signal(7) describes for stop signals).
    Never,
    /// The signal waits (`rt_sigsuspend`, `pause`, `rt_sigtimedwait`): their `EINTR` is
    /// their answer, never a cut-short wait.
    SignalWait,
}

/// The rule for system call `number` with arguments `a` (signal(7)'s lists).
pub fn rule(number: u64, a: [u64; 6]) -> Rule {
    use linux_raw_sys::general as nr;
    match number as u32 {
        nr::__NR_read
        | nr::__NR_write
        | nr::__NR_readv
        | nr::__NR_writev
        | nr::__NR_pread64
        | nr::__NR_pwrite64
        | nr::__NR_preadv
        | nr::__NR_pwritev
        | nr::__NR_preadv2
        | nr::__NR_pwritev2
        | nr::__NR_open
        | nr::__NR_openat
        | nr::__NR_creat
        | nr::__NR_wait4
        | nr::__NR_waitid
        | nr::__NR_accept
        | nr::__NR_accept4
        | nr::__NR_connect
        | nr::__NR_recvfrom
        | nr::__NR_sendto
        | nr::__NR_recvmsg
        | nr::__NR_sendmsg
        | nr::__NR_recvmmsg
        | nr::__NR_sendmmsg
        | nr::__NR_flock
        | nr::__NR_fcntl
        | nr::__NR_ioctl
        | nr::__NR_sendfile
        | nr::__NR_copy_file_range
        | nr::__NR_splice
        | nr::__NR_tee
        | nr::__NR_mq_timedsend
        | nr::__NR_mq_timedreceive => Rule::Restart,
        // A futex wait with a timeout resumes with the time left on Linux: here, only when
        // no handler runs; without a timeout it is an ordinary restartable wait.
        nr::__NR_futex if a[3] != 0 && futex_waits_with_timeout(a[1]) => {
            Rule::RestartWithoutHandler
        }
        nr::__NR_futex => Rule::Restart,
        nr::__NR_poll
        | nr::__NR_ppoll
        | nr::__NR_select
        | nr::__NR_pselect6
        | nr::__NR_nanosleep
        | nr::__NR_clock_nanosleep => Rule::RestartWithoutHandler,
        nr::__NR_rt_sigsuspend | nr::__NR_pause | nr::__NR_rt_sigtimedwait => Rule::SignalWait,
        _ => Rule::Never,
    }
}

/// Whether futex operation `op` reads its fourth argument as a timeout.
fn futex_waits_with_timeout(op: u64) -> bool {
    let cmd = (op as u32) & !(g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME);
    matches!(
        cmd,
        g::FUTEX_WAIT | g::FUTEX_WAIT_BITSET | g::FUTEX_LOCK_PI | g::FUTEX_WAIT_REQUEUE_PI
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use linux_raw_sys::general as nr;

    #[test]
    fn reads_restart_and_sleeps_restart_only_without_a_handler() {
        assert_eq!(rule(nr::__NR_read.into(), [0; 6]), Rule::Restart);
        assert_eq!(rule(nr::__NR_wait4.into(), [0; 6]), Rule::Restart);
        assert_eq!(
            rule(nr::__NR_nanosleep.into(), [0; 6]),
            Rule::RestartWithoutHandler
        );
        assert_eq!(rule(nr::__NR_epoll_wait.into(), [0; 6]), Rule::Never);
        assert_eq!(
            rule(nr::__NR_rt_sigsuspend.into(), [0; 6]),
            Rule::SignalWait
        );
    }

    #[test]
    fn futex_waits_with_a_timeout_restart_only_without_a_handler() {
        let wait = u64::from(nr::FUTEX_WAIT | nr::FUTEX_PRIVATE_FLAG);
        let futex = u64::from(nr::__NR_futex);
        assert_eq!(rule(futex, [0, wait, 0, 0, 0, 0]), Rule::Restart);
        assert_eq!(
            rule(futex, [0, wait, 0, 0x1000, 0, 0]),
            Rule::RestartWithoutHandler
        );
        // FUTEX_WAKE's fourth argument is not a timeout.
        let wake = u64::from(nr::FUTEX_WAKE);
        assert_eq!(rule(futex, [0, wake, 1, 0x1000, 0, 0]), Rule::Restart);
    }
}
