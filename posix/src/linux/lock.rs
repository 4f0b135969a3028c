//! Advisory file locks: `flock` and `fcntl`'s `F_SETLK`/`F_SETLKW`/`F_GETLK` (and the OFD
//! variants), as whole-file shared/exclusive locks owned by a process. A process's locks on a
//! file go when it closes a descriptor of that file or ends (the POSIX record-lock rule, used
//! for `flock` too: one simplification, since `flock` locks belong to open file
//! descriptions). Byte ranges are not distinguished: any two locks on a file conflict as
//! whole-file locks would. Blocking requests sleep until the file's locks change.

use super::state::{self, Event};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use libtheseus::sync::Mutex;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result, fs};
use linux_raw_sys::general as g;

#[derive(Default)]
struct FileLocks {
    /// The process holding the exclusive lock.
    exclusive: Option<u64>,
    /// Processes holding shared locks.
    shared: alloc::collections::BTreeSet<u64>,
}

/// Locks by inode, and an event signalled whenever any lock is released.
static LOCKS: Mutex<BTreeMap<u64, FileLocks>> = Mutex::new(BTreeMap::new());
static RELEASED: libtheseus::sync::Once<Arc<Event>> = libtheseus::sync::Once::new();

fn released() -> &'static Arc<Event> {
    RELEASED.call_once(|| Arc::new(Event::default()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shared,
    Exclusive,
}

/// The process (other than `pid`) whose lock conflicts with a `kind` lock by `pid`, if any.
fn conflict(locks: &FileLocks, pid: u64, kind: Kind) -> Option<u64> {
    if let Some(owner) = locks.exclusive.filter(|&o| o != pid) {
        return Some(owner);
    }
    if kind == Kind::Exclusive {
        return locks.shared.iter().copied().find(|&o| o != pid);
    }
    None
}

/// Takes (or converts to) a `kind` lock on `ino` for `pid`; waits while it conflicts unless
/// `wait` is false (`EAGAIN` then).
fn lock(ino: u64, pid: u64, kind: Kind, wait: bool) -> Result<()> {
    loop {
        let seen = released().count();
        {
            let mut all = LOCKS.lock();
            let locks = all.entry(ino).or_default();
            if conflict(locks, pid, kind).is_none() {
                match kind {
                    Kind::Exclusive => {
                        locks.shared.remove(&pid);
                        locks.exclusive = Some(pid);
                    }
                    Kind::Shared => {
                        if locks.exclusive == Some(pid) {
                            locks.exclusive = None;
                            released().signal();
                        }
                        locks.shared.insert(pid);
                    }
                }
                return Ok(());
            }
        }
        if !wait {
            return Err(Errno::EAGAIN);
        }
        released().wait_change(seen, 100);
    }
}

/// Drops `pid`'s lock on `ino`.
fn unlock(ino: u64, pid: u64) {
    let mut all = LOCKS.lock();
    if let Some(locks) = all.get_mut(&ino) {
        if locks.exclusive == Some(pid) {
            locks.exclusive = None;
        }
        locks.shared.remove(&pid);
        if locks.exclusive.is_none() && locks.shared.is_empty() {
            all.remove(&ino);
        }
    }
    drop(all);
    released().signal();
}

/// Drops `pid`'s locks on the file `fd` names (before that descriptor is closed).
pub fn on_close(fd: u32, pid: u64) {
    if let Ok(meta) = fs::fstat(fd)
        && LOCKS.lock().contains_key(&meta.ino)
    {
        unlock(meta.ino, pid);
    }
}

/// Drops every lock of process `pid` (it ended).
pub fn release_all(pid: u64) {
    let inos: alloc::vec::Vec<u64> = LOCKS
        .lock()
        .iter()
        .filter(|(_, l)| l.exclusive == Some(pid) || l.shared.contains(&pid))
        .map(|(&ino, _)| ino)
        .collect();
    for ino in inos {
        unlock(ino, pid);
    }
}

pub fn flock(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    let fd = u32::try_from(a[0] as i64).map_err(|_| Errno::EBADF)?;
    let ino = fs::fstat(fd)?.ino;
    let pid = state::current().pid;
    let wait = a[1] & LOCK_NB == 0;
    match a[1] & !LOCK_NB {
        LOCK_SH => lock(ino, pid, Kind::Shared, wait).map(|_| 0),
        LOCK_EX => lock(ino, pid, Kind::Exclusive, wait).map(|_| 0),
        LOCK_UN => {
            unlock(ino, pid);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `fcntl`'s lock commands on `fd`; `arg` points at a `struct flock` (type, whence, start,
/// length, pid).
pub fn fcntl_lock(fd: u32, cmd: u32, arg: u64) -> Result<u64> {
    let raw: [u8; 32] = usermode::read_value(arg)?;
    let l_type = i16::from_le_bytes([raw[0], raw[1]]) as u32;
    let ino = fs::fstat(fd)?.ino;
    let pid = state::current().pid;
    let kind = match l_type {
        g::F_RDLCK => Some(Kind::Shared),
        g::F_WRLCK => Some(Kind::Exclusive),
        g::F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    match cmd {
        g::F_GETLK | g::F_OFD_GETLK => {
            let kind = kind.ok_or(Errno::EINVAL)?;
            let holder = LOCKS.lock().get(&ino).and_then(|l| conflict(l, pid, kind));
            let mut out = raw;
            match holder {
                Some(owner) => {
                    let t = if LOCKS
                        .lock()
                        .get(&ino)
                        .is_some_and(|l| l.exclusive == Some(owner))
                    {
                        g::F_WRLCK
                    } else {
                        g::F_RDLCK
                    };
                    out[0..2].copy_from_slice(&(t as i16).to_le_bytes());
                    out[24..28].copy_from_slice(&(owner as i32).to_le_bytes());
                }
                None => out[0..2].copy_from_slice(&(g::F_UNLCK as i16).to_le_bytes()),
            }
            usermode::write_value(arg, &out).map(|_| 0)
        }
        _ => {
            let wait = matches!(cmd, g::F_SETLKW | g::F_OFD_SETLKW);
            match kind {
                Some(kind) => lock(ino, pid, kind, wait).map(|_| 0),
                None => {
                    unlock(ino, pid);
                    Ok(0)
                }
            }
        }
    }
}
