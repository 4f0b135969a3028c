//! epoll instances: a descriptor holding an interest list of other descriptors, and a wait
//! that returns which of them are ready (Linux `epoll(7)` semantics over the VFS's
//! `poll_readable`/`poll_writable`).
//!
//! An instance is a VFS file (so its descriptor is closed, duplicated and inherited like any
//! other); its state is found from the descriptor through the open file description. Waiting
//! sleeps on the VFS's readiness generation (`vfs::readiness`), so a change to any file wakes
//! it and nothing polls. Level-triggered registrations report while the condition holds;
//! edge-triggered ones (`EPOLLET`) report a condition when it appears, or again after some
//! file's readiness changed since the last report (a wake-up too many is allowed, one too few
//! is not); `EPOLLONESHOT` disables a registration after one report until `EPOLL_CTL_MOD`.
//! `EPOLLRDHUP` (when asked for) and `EPOLLHUP` (always) report a file's hang-ups
//! (`vfs::File::poll_read_closed`, `poll_hung_up`), with the readable condition's edge.
//! A registration goes away when its descriptor is closed. Regular files and directories
//! cannot be registered (`EPERM`, as on Linux: they are always ready).

use crate::fs::{self, Fd, FileType};
use crate::{Errno, Result};
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use vfs::{File, FileKind, Stat};

pub const EPOLLIN: u32 = 0x1;
pub const EPOLLPRI: u32 = 0x2;
pub const EPOLLOUT: u32 = 0x4;
pub const EPOLLERR: u32 = 0x8;
pub const EPOLLHUP: u32 = 0x10;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;

/// `epoll_ctl` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Modify,
    Delete,
}

struct Registration {
    events: u32,
    data: u64,
    /// The open file description registered (a reused descriptor number is a new file).
    description: u64,
    /// Readable / writable at the last look, and the readiness generation of the last report.
    last: (bool, bool),
    reported_at: Option<u32>,
    disabled: bool,
}

struct Instance {
    interest: Mutex<BTreeMap<Fd, Registration>>,
    ino: u64,
    created: i64,
}

/// Live instances, by open file description.
static INSTANCES: Mutex<BTreeMap<u64, Weak<Instance>>> = Mutex::new(BTreeMap::new());

struct EpollFile(Arc<Instance>);

impl Drop for EpollFile {
    fn drop(&mut self) {
        let me = self as *const EpollFile as usize as u64;
        INSTANCES.lock().remove(&me);
    }
}

impl File for EpollFile {
    fn kind(&self) -> FileKind {
        FileKind::CharDevice
    }

    fn read(&self, _buf: &mut [u8]) -> vfs::Result<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _buf: &[u8]) -> vfs::Result<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> vfs::Result<Stat> {
        Ok(Stat::anonymous(
            FileKind::CharDevice,
            0,
            self.0.ino,
            self.0.created,
        ))
    }

    /// Readable when a wait would report something (an epoll descriptor inside `poll` or
    /// another epoll instance).
    fn poll_readable(&self) -> bool {
        self.0.interest.lock().iter().any(|(&fd, r)| {
            !r.disabled && ready_events(fd, r.events).is_some_and(|(e, _, _)| e != 0)
        })
    }

    fn poll_writable(&self) -> bool {
        false
    }
}

/// A new epoll instance; returns its descriptor.
pub fn create() -> Result<Fd> {
    static NEXT_INO: AtomicU64 = AtomicU64::new(4 << 48);
    let instance = Arc::new(Instance {
        interest: Mutex::new(BTreeMap::new()),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        created: vfs::now(),
    });
    let weak = Arc::downgrade(&instance);
    let file = Arc::new(EpollFile(instance));
    let key = Arc::as_ptr(&file) as usize as u64;
    INSTANCES.lock().insert(key, weak);
    vfs::install(file)
}

fn instance(epfd: Fd) -> Result<Arc<Instance>> {
    let key = fs::description_id(epfd)?;
    INSTANCES
        .lock()
        .get(&key)
        .and_then(Weak::upgrade)
        .ok_or(Errno::EINVAL)
}

/// The events of `fd` that `events` asks for and that hold now, with (readable, writable);
/// `None` if `fd` is closed.
fn ready_events(fd: Fd, events: u32) -> Option<(u32, bool, bool)> {
    let r = fs::poll_readable(fd).ok()?;
    let w = fs::poll_writable(fd).ok()?;
    let mut ev = 0;
    if r && events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP) != 0 {
        ev |= EPOLLIN & events;
    }
    if w && events & EPOLLOUT != 0 {
        ev |= EPOLLOUT;
    }
    // Hang-ups are only looked for on something readable (a closed side reads end of file).
    if r {
        let (read_closed, hung_up) = fs::poll_hangup(fd).ok()?;
        if read_closed && events & EPOLLRDHUP != 0 {
            ev |= EPOLLRDHUP;
        }
        // Always reported, asked for or not (as on Linux).
        if hung_up {
            ev |= EPOLLHUP;
        }
    }
    Some((ev, r, w))
}

/// `epoll_ctl`: adds, changes or removes the registration of `fd` in instance `epfd`.
pub fn ctl(epfd: Fd, op: Op, fd: Fd, events: u32, data: u64) -> Result<()> {
    let inst = instance(epfd)?;
    let meta = fs::fstat(fd)?;
    if fd == epfd {
        return Err(Errno::EINVAL);
    }
    if matches!(meta.file_type, FileType::File | FileType::Directory) {
        return Err(Errno::EPERM);
    }
    let description = fs::description_id(fd)?;
    let mut interest = inst.interest.lock();
    // A registration left by a closed descriptor whose number came back is stale.
    if interest
        .get(&fd)
        .is_some_and(|r| r.description != description)
    {
        interest.remove(&fd);
    }
    let fresh = Registration {
        events,
        data,
        description,
        last: (false, false),
        reported_at: None,
        disabled: false,
    };
    match op {
        Op::Add if interest.contains_key(&fd) => Err(Errno::EEXIST),
        Op::Add => {
            interest.insert(fd, fresh);
            Ok(())
        }
        Op::Modify => match interest.get_mut(&fd) {
            Some(r) => {
                *r = fresh;
                Ok(())
            }
            None => Err(Errno::ENOENT),
        },
        Op::Delete => interest.remove(&fd).map(|_| ()).ok_or(Errno::ENOENT),
    }
}

/// Collects up to `max` ready `(events, data)` pairs at readiness generation `generation`.
fn collect(inst: &Instance, max: usize, generation: u32) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut interest = inst.interest.lock();
    let mut closed = Vec::new();
    for (&fd, reg) in interest.iter_mut() {
        if out.len() >= max {
            break;
        }
        if reg.disabled {
            continue;
        }
        let Some((ev, r, w)) = ready_events(fd, reg.events) else {
            closed.push(fd);
            continue;
        };
        if fs::description_id(fd).ok() != Some(reg.description) {
            closed.push(fd);
            continue;
        }
        let (was_r, was_w) = reg.last;
        reg.last = (r, w);
        if ev == 0 {
            continue;
        }
        let report = if reg.events & EPOLLET != 0 {
            let again = reg.reported_at != Some(generation);
            let mut e = 0;
            // A hang-up is an edge of the readable condition (a closed side is readable).
            let hangup = EPOLLIN | EPOLLRDHUP | EPOLLHUP;
            if ev & hangup != 0 && (!was_r || again) {
                e |= ev & hangup;
            }
            if ev & EPOLLOUT != 0 && (!was_w || again) {
                e |= EPOLLOUT;
            }
            e
        } else {
            ev
        };
        if report == 0 {
            continue;
        }
        reg.reported_at = Some(generation);
        if reg.events & EPOLLONESHOT != 0 {
            reg.disabled = true;
        }
        out.push((report, reg.data));
    }
    for fd in closed {
        interest.remove(&fd);
    }
    out
}

/// `epoll_wait`: up to `max` ready `(events, data)` pairs, waiting until at least one is ready
/// or `deadline_ns` (monotonic) passes (`None`: no limit; a past deadline: no wait).
pub fn wait(epfd: Fd, max: usize, deadline_ns: Option<u64>) -> Result<Vec<(u32, u64)>> {
    let inst = instance(epfd)?;
    if max == 0 {
        return Err(Errno::EINVAL);
    }
    loop {
        let generation = vfs::readiness::generation();
        let ready = collect(&inst, max, generation);
        if !ready.is_empty() {
            return Ok(ready);
        }
        if deadline_ns.is_some_and(|d| time::monotonic_ns() >= d) {
            return Ok(ready);
        }
        if task::kill_pending() {
            return Err(Errno::EINTR);
        }
        vfs::readiness::wait_change(generation, deadline_ns)?;
    }
}
