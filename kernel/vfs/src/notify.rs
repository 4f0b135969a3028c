//! File-system events for inotify: the one [`fs_notify::Registry`] of the system, fed from the
//! tree's name changes ([`memfs::Change`], told under the file-system lock) and from what
//! happens to open files and to nodes named by a path (opened, read, written, attributes
//! changed, closed). Wakes readiness waiters when an instance queued something.
//!
//! An event about a node goes to its directory's watches with the entry's name, then to the
//! node's own watches, as on Linux (`IN_ISDIR` marks a directory, except in `IN_DELETE_SELF`
//! and `IN_MOVE_SELF`, as on Linux). The directory is found from the path the node was opened or
//! named by, if that path still names it (a file opened beneath a directory descriptor has
//! none: its events go to its own watches only). Nothing is computed while no watch exists.

use crate::file::Result;
use crate::{Errno, absolute};
use fs_notify::{
    IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_DONT_FOLLOW, IN_ISDIR, IN_MOVE_SELF, IN_MOVED_FROM,
    IN_MOVED_TO, IN_ONLYDIR, InstanceId, Registry,
};
use memfs::{Change, MemFs, NodeId, NodeKind};

pub use fs_notify::{IN_ACCESS, IN_ATTRIB, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_MODIFY, IN_OPEN};

/// Every inotify instance and watch.
pub static WATCHES: Registry = Registry::new();

fn dir_bit(kind: NodeKind) -> u32 {
    if kind == NodeKind::Directory {
        IN_ISDIR
    } else {
        0
    }
}

fn woke(queued: bool) {
    if queued {
        crate::readiness::changed();
    }
}

/// The memfs observer: name and link changes as inotify events.
fn on_change(change: &Change<'_>) {
    let queued = match *change {
        Change::Added {
            dir, name, kind, ..
        } => WATCHES.notify(dir.key(), IN_CREATE | dir_bit(kind), 0, Some(name)),
        Change::Removed {
            dir, name, kind, ..
        } => WATCHES.notify(dir.key(), IN_DELETE | dir_bit(kind), 0, Some(name)),
        Change::Moved {
            from_dir,
            from_name,
            to_dir,
            to_name,
            node,
            kind,
        } => {
            let cookie = WATCHES.new_cookie();
            let bit = dir_bit(kind);
            let from = WATCHES.notify(from_dir.key(), IN_MOVED_FROM | bit, cookie, Some(from_name));
            let to = WATCHES.notify(to_dir.key(), IN_MOVED_TO | bit, cookie, Some(to_name));
            let own = WATCHES.notify(node.key(), IN_MOVE_SELF, 0, None);
            from | to | own
        }
        Change::LinkCount { node, kind } => {
            WATCHES.notify(node.key(), IN_ATTRIB | dir_bit(kind), 0, None)
        }
        Change::Deleted { node, kind } => {
            // A file's link count drops to 0 first (a directory's is not reported).
            let attrib =
                kind != NodeKind::Directory && WATCHES.notify(node.key(), IN_ATTRIB, 0, None);
            let gone = WATCHES.notify(node.key(), IN_DELETE_SELF, 0, None);
            attrib | gone | WATCHES.node_gone(node.key())
        }
    };
    woke(queued);
}

/// Reports `mask` about `node`, found by `path` (absolute) if any: to the node's watches and
/// to its directory's with the entry name. Called under the file-system lock.
pub(crate) fn report(fs: &MemFs, node: NodeId, path: Option<&str>, mask: u32) {
    if mask == 0 || !WATCHES.any_watches() {
        return;
    }
    let Ok(meta) = fs.metadata(node) else {
        return;
    };
    let mask = mask | dir_bit(meta.kind);
    let mut queued = false;
    if let Some((dir, name)) = path.and_then(|p| entry_of(fs, node, p)) {
        queued |= WATCHES.notify(dir.key(), mask, 0, Some(name));
    }
    queued |= WATCHES.notify(node.key(), mask, 0, None);
    woke(queued);
}

/// The event for setting times, as on Linux: both is `IN_ATTRIB`, the access time alone
/// `IN_ACCESS`, the modification time alone `IN_MODIFY`; none, no event (0).
pub(crate) fn times_mask(accessed: Option<i64>, modified: Option<i64>) -> u32 {
    match (accessed, modified) {
        (Some(_), Some(_)) => IN_ATTRIB,
        (Some(_), None) => IN_ACCESS,
        (None, Some(_)) => IN_MODIFY,
        (None, None) => 0,
    }
}

/// The directory and entry name by which `path` names `node`, if it still does.
fn entry_of<'p>(fs: &MemFs, node: NodeId, path: &'p str) -> Option<(NodeId, &'p str)> {
    let trimmed = path.trim_end_matches('/');
    let (dir, name) = trimmed.rsplit_once('/')?;
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    if fs.lookup_nofollow(trimmed).ok()? != node {
        return None;
    }
    let dir = fs.lookup(if dir.is_empty() { "/" } else { dir }).ok()?;
    Some((dir, name))
}

/// `inotify_add_watch`: watches the node at `path` for `instance`; the watch descriptor.
/// `IN_DONT_FOLLOW`: a symbolic link as the last component is watched itself;
/// `IN_ONLYDIR`: anything but a directory is `ENOTDIR`.
pub fn add_watch(instance: InstanceId, path: &str, mask: u32) -> Result<i32> {
    let path = absolute(path)?;
    rootfs::with(|fs| {
        fs.set_observer(Some(on_change));
        let node = if mask & IN_DONT_FOLLOW != 0 {
            fs.lookup_nofollow(&path)?
        } else {
            fs.lookup(&path)?
        };
        if mask & IN_ONLYDIR != 0 && fs.metadata(node)?.kind != NodeKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        WATCHES.add_watch(instance, node.key(), mask)
    })
}
