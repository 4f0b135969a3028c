//! Advisory file locks: `flock`, and `fcntl`'s `F_SETLK`/`F_SETLKW`/`F_GETLK` and their
//! open-file-description (`F_OFD_*`) variants, as whole-file shared/exclusive locks.
//!
//! Owners follow Linux: an `fcntl` record lock belongs to the process, and goes when the
//! process closes any descriptor of the file or ends; a `flock` or OFD lock belongs to the open
//! file description, so two `open`s of one file conflict even in one process, while `dup`s
//! share the lock, which goes when the description's last descriptor is closed. Byte ranges
//! are not distinguished: any two locks on a file conflict as whole-file locks would.
//! Blocking requests sleep until the file's locks change.

use super::state::{self, Event};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use libtheseus::fs::DescriptionRef;
use libtheseus::sync::Mutex;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result, fs};
use linux_raw_sys::general as g;

/// Who holds a lock.
#[derive(Clone)]
enum Owner {
    /// A process (`fcntl` record locks), by pid.
    Process(u64),
    /// An open file description (`flock`, OFD locks).
    Description(DescriptionRef),
}

impl Owner {
    fn same(&self, other: &Owner) -> bool {
        match (self, other) {
            (Owner::Process(a), Owner::Process(b)) => a == b,
            (Owner::Description(a), Owner::Description(b)) => a.same(b),
            _ => false,
        }
    }

    /// A description whose descriptors are all closed holds nothing any more.
    fn is_live(&self) -> bool {
        match self {
            Owner::Process(_) => true,
            Owner::Description(d) => d.is_open(),
        }
    }

    /// `l_pid` of `F_GETLK`: the process, or -1 for a description's lock (as Linux).
    fn pid(&self) -> i32 {
        match self {
            Owner::Process(pid) => *pid as i32,
            Owner::Description(_) => -1,
        }
    }
}

#[derive(Default)]
struct FileLocks {
    exclusive: Option<Owner>,
    shared: Vec<Owner>,
}

impl FileLocks {
    /// Forgets the locks of descriptions that were closed since.
    fn prune(&mut self) {
        if self.exclusive.as_ref().is_some_and(|o| !o.is_live()) {
            self.exclusive = None;
        }
        self.shared.retain(Owner::is_live);
    }

    fn is_empty(&self) -> bool {
        self.exclusive.is_none() && self.shared.is_empty()
    }

    /// The holder (other than `owner`) whose lock conflicts with a `kind` lock by `owner`.
    fn conflict(&self, owner: &Owner, kind: Kind) -> Option<(&Owner, Kind)> {
        if let Some(holder) = self.exclusive.as_ref().filter(|o| !o.same(owner)) {
            return Some((holder, Kind::Exclusive));
        }
        if kind == Kind::Exclusive {
            return self
                .shared
                .iter()
                .find(|o| !o.same(owner))
                .map(|holder| (holder, Kind::Shared));
        }
        None
    }

    /// Drops `owner`'s lock.
    fn remove(&mut self, owner: &Owner) {
        self.shared.retain(|o| !o.same(owner));
        if self.exclusive.as_ref().is_some_and(|o| o.same(owner)) {
            self.exclusive = None;
        }
    }
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

/// How often a blocked request looks again without a release signal: a description's lock
/// goes when its last descriptor closes, which no lock call reports.
const RECHECK_MS: u64 = 100;

/// Takes (or converts to) a `kind` lock on `ino` for `owner`; waits while it conflicts unless
/// `wait` is false (`EAGAIN` then).
fn lock(ino: u64, owner: &Owner, kind: Kind, wait: bool) -> Result<()> {
    loop {
        let seen = released().count();
        {
            let mut all = LOCKS.lock();
            let locks = all.entry(ino).or_default();
            locks.prune();
            if locks.conflict(owner, kind).is_none() {
                let was_exclusive = locks.exclusive.as_ref().is_some_and(|o| o.same(owner));
                locks.remove(owner);
                match kind {
                    Kind::Exclusive => locks.exclusive = Some(owner.clone()),
                    Kind::Shared => locks.shared.push(owner.clone()),
                }
                if was_exclusive && kind == Kind::Shared {
                    released().signal();
                }
                return Ok(());
            }
        }
        if !wait {
            return Err(Errno::EAGAIN);
        }
        released().wait_change_interruptible(seen, RECHECK_MS)?;
    }
}

/// Drops `owner`'s lock on `ino`.
fn unlock(ino: u64, owner: &Owner) {
    let mut all = LOCKS.lock();
    if let Some(locks) = all.get_mut(&ino) {
        locks.remove(owner);
        locks.prune();
        if locks.is_empty() {
            all.remove(&ino);
        }
    }
    drop(all);
    released().signal();
}

/// Drops `pid`'s record locks on the file `fd` names (before that descriptor is closed).
pub fn on_close(fd: u32, pid: u64) {
    // The file's identity is looked up only when some file has locks (closes are common).
    if LOCKS.lock().is_empty() {
        return;
    }
    if let Ok(meta) = fs::fstat(fd)
        && LOCKS.lock().contains_key(&meta.ino)
    {
        unlock(meta.ino, &Owner::Process(pid));
    }
}

/// After a descriptor was closed: waiters look again (a description's lock may have gone).
pub fn after_close() {
    if !LOCKS.lock().is_empty() {
        released().signal();
    }
}

/// Drops every record lock of process `pid` (it ended).
pub fn release_all(pid: u64) {
    let owner = Owner::Process(pid);
    let inos: Vec<u64> = LOCKS
        .lock()
        .iter()
        .filter(|(_, l)| {
            l.exclusive.as_ref().is_some_and(|o| o.same(&owner))
                || l.shared.iter().any(|o| o.same(&owner))
        })
        .map(|(&ino, _)| ino)
        .collect();
    for ino in inos {
        unlock(ino, &owner);
    }
}

pub fn flock(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    let fd = u32::try_from(a[0] as i64).map_err(|_| Errno::EBADF)?;
    let ino = fs::fstat(fd)?.ino;
    let owner = Owner::Description(fs::description_ref(fd)?);
    let wait = a[1] & LOCK_NB == 0;
    match a[1] & !LOCK_NB {
        LOCK_SH => lock(ino, &owner, Kind::Shared, wait).map(|_| 0),
        LOCK_EX => lock(ino, &owner, Kind::Exclusive, wait).map(|_| 0),
        LOCK_UN => {
            unlock(ino, &owner);
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
    let owner = match cmd {
        g::F_OFD_GETLK | g::F_OFD_SETLK | g::F_OFD_SETLKW => {
            Owner::Description(fs::description_ref(fd)?)
        }
        _ => Owner::Process(state::current().pid),
    };
    let kind = match l_type {
        g::F_RDLCK => Some(Kind::Shared),
        g::F_WRLCK => Some(Kind::Exclusive),
        g::F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    match cmd {
        g::F_GETLK | g::F_OFD_GETLK => {
            let kind = kind.ok_or(Errno::EINVAL)?;
            let mut out = raw;
            let mut all = LOCKS.lock();
            let holder = all.get_mut(&ino).and_then(|locks| {
                locks.prune();
                locks
                    .conflict(&owner, kind)
                    .map(|(holder, held)| (holder.pid(), held))
            });
            drop(all);
            match holder {
                Some((pid, held)) => {
                    let t = match held {
                        Kind::Exclusive => g::F_WRLCK,
                        Kind::Shared => g::F_RDLCK,
                    };
                    out[0..2].copy_from_slice(&(t as i16).to_le_bytes());
                    out[24..28].copy_from_slice(&pid.to_le_bytes());
                }
                None => out[0..2].copy_from_slice(&(g::F_UNLCK as i16).to_le_bytes()),
            }
            usermode::write_value(arg, &out).map(|_| 0)
        }
        _ => {
            let wait = matches!(cmd, g::F_SETLKW | g::F_OFD_SETLKW);
            match kind {
                Some(kind) => lock(ino, &owner, kind, wait).map(|_| 0),
                None => {
                    unlock(ino, &owner);
                    Ok(0)
                }
            }
        }
    }
}
