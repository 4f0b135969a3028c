//! Signal descriptors (`signalfd`, `signalfd4`): a descriptor from which a program reads the
//! signals of a set as 128-byte `signalfd_siginfo` records instead of having them delivered
//! (the program blocks them with `sigprocmask` first, as on Linux). A read takes the pending
//! signals of the set (the reading thread's, then those sent to the whole process), as many
//! records as fit, and blocks while there are none unless the descriptor is non-blocking; the
//! descriptor is readable for `poll`/`epoll` while one is pending. Served through
//! `libtheseus::layer_file`.

use super::{signal, state, timers};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use libtheseus::layer_file::{self, Source};
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result};
use linux_raw_sys::general as g;

/// `sizeof(struct signalfd_siginfo)`.
const RECORD: usize = 128;
/// Signals that can never be read this way (Linux ignores them in the mask).
const UNREADABLE: u64 = (1 << (g::SIGKILL - 1)) | (1 << (g::SIGSTOP - 1));

struct SignalFd {
    mask: AtomicU64,
}

impl Source for SignalFd {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < RECORD {
            return Err(Errno::EINVAL);
        }
        let process = state::current();
        timers::fire_due(&process);
        let mask = self.mask.load(Ordering::SeqCst);
        let mut n = 0;
        while n + RECORD <= buf.len() {
            let Some(sig) = signal::take_pending(&process, mask) else {
                break;
            };
            let record = &mut buf[n..n + RECORD];
            record.fill(0);
            // ssi_signo, ssi_errno, ssi_code (SI_TKILL), ssi_pid, ssi_uid, ssi_fd, ssi_tid.
            record[0..4].copy_from_slice(&sig.to_ne_bytes());
            record[8..12].copy_from_slice(&(-6i32).to_ne_bytes());
            record[12..16].copy_from_slice(&(process.pid as u32).to_ne_bytes());
            n += RECORD;
        }
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(n)
    }

    fn readable(&self) -> bool {
        let process = state::current();
        timers::fire_due(&process);
        signal::is_pending(&process, self.mask.load(Ordering::SeqCst))
    }
}

pub fn signalfd(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    signalfd4(r, [a[0], a[1], a[2], 0, 0, 0])
}

pub fn signalfd4(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (fd, mask_at, size, flags) = (a[0] as i32, a[1], a[2], a[3] as u32);
    if size != 8 || flags & !(g::O_NONBLOCK | g::O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let mask = usermode::read_value::<u64>(mask_at)? & !UNREADABLE;
    if fd != -1 {
        // A new mask for an existing signal descriptor.
        let source = layer_file::source::<SignalFd>(fd as u32)?;
        source.mask.store(mask, Ordering::SeqCst);
        layer_file::changed();
        return Ok(fd as u64);
    }
    let source = Arc::new(SignalFd {
        mask: AtomicU64::new(mask),
    });
    let new = layer_file::open(source, flags & g::O_NONBLOCK != 0)?;
    super::fs::set_cloexec(new, flags & g::O_CLOEXEC != 0);
    Ok(u64::from(new))
}
