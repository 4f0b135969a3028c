//! `poll_oneoff`: waits for the first of its subscriptions (clock timeouts, relative or
//! absolute, on the realtime or monotonic clock; readiness of descriptors to read or write,
//! from libtheseus's `poll_readable`/`poll_writable`). The task sleeps until the nearest
//! timeout while only clocks are waited for; with descriptors it checks them every
//! millisecond (there is no wake-up on readiness yet). Built only for the kernel's target.

use crate::ctx::Kind;
use crate::sys::clock;
use crate::types::{
    EVENT_SIZE, SUBSCRIPTION_SIZE, Subscription, event_bytes, eventrwflags, rights,
};
use crate::{Errno, GuestMemory, WasiCtx};
use alloc::vec::Vec;
use core::time::Duration;
use libtheseus::fs::{self, FileType, SeekFrom};
use libtheseus::thread;
use libtheseus::time::{self, Clock};

/// What one subscription waits for.
enum Wait {
    /// A monotonic-clock deadline (ns).
    Until(u64),
    /// A libtheseus descriptor to read from (`true`) or write to.
    Fd { h: u32, read: bool },
    /// An event due at once with this error (a bad descriptor or clock).
    Error(Errno),
}

impl WasiCtx {
    /// `poll_oneoff`: `n` subscriptions at `in_ptr`, events written at `out_ptr`, their count
    /// at `nevents`. `INVAL` for none (it would wait forever).
    pub fn poll_oneoff(
        &mut self,
        mem: &mut dyn GuestMemory,
        in_ptr: u32,
        out_ptr: u32,
        n: u32,
        nevents: u32,
    ) -> Result<(), Errno> {
        if n == 0 {
            return Err(Errno::INVAL);
        }
        let in_len = n.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::FAULT)?;
        let out_len = n.checked_mul(EVENT_SIZE).ok_or(Errno::FAULT)?;
        mem.slice(out_ptr, out_len)?;
        mem.slice(nevents, 4)?;
        let subs = mem
            .slice(in_ptr, in_len)?
            .chunks_exact(SUBSCRIPTION_SIZE as usize)
            .map(Subscription::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let start = time::monotonic_ns();
        let waits: Vec<Wait> = subs.iter().map(|s| self.wait_for(s, start)).collect();
        loop {
            let now = time::monotonic_ns();
            let mut events = Vec::new();
            for (s, w) in subs.iter().zip(&waits) {
                let fired = match *w {
                    Wait::Until(d) => (now >= d).then_some((Errno::SUCCESS, 0, 0)),
                    Wait::Error(e) => Some((e, 0, 0)),
                    Wait::Fd { h, read } => fd_ready(h, read),
                };
                if let Some((err, nbytes, flags)) = fired {
                    events.push(event_bytes(s.userdata(), err, s.eventtype(), nbytes, flags));
                }
            }
            if !events.is_empty() {
                for (i, ev) in events.iter().enumerate() {
                    mem.write(out_ptr + i as u32 * EVENT_SIZE, ev)?;
                }
                return mem.write_u32(nevents, events.len() as u32);
            }
            let next = waits
                .iter()
                .filter_map(|w| match w {
                    Wait::Until(d) => Some(d.saturating_sub(now)),
                    _ => None,
                })
                .min()
                .unwrap_or(u64::MAX);
            let has_fds = waits.iter().any(|w| matches!(w, Wait::Fd { .. }));
            let step = if has_fds { 1_000_000 } else { 100_000_000 };
            thread::sleep(Duration::from_nanos(next.min(step)));
        }
    }

    fn wait_for(&self, s: &Subscription, start: u64) -> Wait {
        match *s {
            Subscription::Clock {
                id,
                timeout,
                abstime,
                ..
            } => match clock(id) {
                Err(e) => Wait::Error(e),
                Ok(_) if !abstime => Wait::Until(start.saturating_add(timeout)),
                Ok(Clock::Monotonic) => Wait::Until(timeout),
                Ok(Clock::Realtime) => {
                    let left = timeout.saturating_sub(time::realtime_ns());
                    Wait::Until(start.saturating_add(left))
                }
            },
            Subscription::Fd { fd, read, .. } => match self.entry(fd) {
                Err(e) => Wait::Error(e),
                Ok(e) if e.rights_base & rights::POLL_FD_READWRITE == 0 => {
                    Wait::Error(Errno::NOTCAPABLE)
                }
                Ok(e) => match e.kind {
                    Kind::Stdio(h) | Kind::File { fd: h } => Wait::Fd { h, read },
                    Kind::Dir { .. } => Wait::Error(Errno::BADF),
                },
            },
        }
    }
}

/// `(error, nbytes, flags)` if `h` is ready: for reading, `nbytes` is what a regular file
/// has left after the offset or a pipe holds; a pipe without writers is `HANGUP`.
fn fd_ready(h: u32, read: bool) -> Option<(Errno, u64, u16)> {
    let ready = if read {
        fs::poll_readable(h)
    } else {
        fs::poll_writable(h)
    };
    match ready {
        Err(e) => Some((Errno::from(e), 0, 0)),
        Ok(false) => None,
        Ok(true) if !read => Some((Errno::SUCCESS, 0, 0)),
        Ok(true) => {
            let m = fs::fstat(h).ok();
            let (nbytes, flags) = match m.map(|m| (m.file_type, m.size)) {
                Some((FileType::File, size)) => {
                    let at = fs::seek(h, SeekFrom::Current(0)).unwrap_or(size);
                    (size.saturating_sub(at), 0)
                }
                Some((FileType::Pipe, 0)) => (0, eventrwflags::FD_READWRITE_HANGUP),
                Some((FileType::Pipe, size)) => (size, 0),
                _ => (1, 0),
            };
            Some((Errno::SUCCESS, nbytes, flags))
        }
    }
}
