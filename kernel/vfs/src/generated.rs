//! Generated trees: read-only directories whose content a higher layer computes when a path
//! is looked up (`/proc`, `/sys`), mounted over a directory of the file tree.
//!
//! A [`Tree`] answers for the paths below its mount point with a [`Node`]: a file's bytes (a
//! snapshot taken at that moment), a directory's entries, or a symbolic link's target. vfs
//! resolves every path call against the mount table first ([`resolve`]): components below a
//! mount point are asked of its tree one prefix at a time, symbolic links met on the way are
//! followed (an absolute target starts over, so `/proc/self/cwd/x` continues in the file tree),
//! and a path that is under no mount point goes to the file tree unchanged. Links in the file
//! tree that point into a generated tree are not followed into it.
//!
//! Opened, a node becomes a [`GeneratedFile`] (offset over the snapshot) or a
//! [`GeneratedDir`] (entries as listed at open). Every change under a mount point (create,
//! remove, rename, write, chmod...) is `EACCES`.

use crate::file::{DirEntry, File, FileKind, OpenStatus, Result, SeekFrom, Stat};
use crate::{Errno, now};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::{Mutex, RwLock};

/// What a generated tree has at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A file and its bytes, as they are now.
    File(Vec<u8>),
    /// A directory and its entries: names (no `.` or `..`) and kinds.
    Dir(Vec<(String, FileKind)>),
    /// A symbolic link and its target (absolute, or relative to the link's directory).
    Symlink(String),
}

/// A directory tree whose nodes are computed on lookup.
pub trait Tree: Send + Sync {
    /// The node at `components` below the mount point (empty: the mount point itself), or
    /// `ENOENT`. Called for every prefix of a path being resolved, so a prefix is always a
    /// directory here.
    fn node(&self, components: &[&str]) -> Result<Node>;
}

struct Mount {
    /// Absolute, normalized, not `/`.
    at: String,
    tree: Arc<dyn Tree>,
}

static MOUNTS: RwLock<Vec<Mount>> = RwLock::new(Vec::new());

/// Most symbolic links followed in one resolution (Linux's limit), then `ELOOP`.
const MAX_LINKS: usize = 40;

/// Mounts `tree` at the absolute directory path `at` (e.g. `/proc`), replacing an earlier
/// mount there, and makes sure the file tree has a directory of that name, so listings of
/// its parent show it.
pub fn mount(at: &str, tree: Arc<dyn Tree>) -> Result<()> {
    let at = memfs::normalize("/", at)?;
    if at == "/" {
        return Err(Errno::EINVAL);
    }
    rootfs::with(|fs| fs.mkdir_all(&at, 0o555, now()))?;
    let mut mounts = MOUNTS.write();
    mounts.retain(|m| m.at != at);
    mounts.push(Mount { at, tree });
    Ok(())
}

/// Where a path led.
pub(crate) enum Resolved {
    /// A node of a generated tree, and its absolute path.
    Generated(String, Node),
    /// A path of the file tree (the path given, or where a generated link led).
    Tree(String),
}

/// The mount `path` is at or below, and the components below its mount point.
fn mount_of(path: &str) -> Option<(String, Arc<dyn Tree>)> {
    let mounts = MOUNTS.read();
    mounts
        .iter()
        .find(|m| {
            path.strip_prefix(m.at.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .map(|m| (m.at.clone(), m.tree.clone()))
}

/// The mount point of the generated tree the absolute, normalized `path` is at or below, or
/// `None` for a path of the file tree.
pub fn mount_point(path: &str) -> Option<String> {
    mount_of(path).map(|(at, _)| at)
}

/// True if the absolute path `path` is a mount point or below one.
pub(crate) fn is_generated(path: &str) -> bool {
    !MOUNTS.read().is_empty() && mount_of(path).is_some()
}

/// `EACCES` if the absolute path `path` is in a generated tree (which cannot be changed).
pub(crate) fn check_changeable(path: &str) -> Result<()> {
    if is_generated(path) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// Resolves the absolute, normalized `path` against the mounted trees; `follow`: follow a
/// symbolic link in the last component too.
pub(crate) fn resolve(mut path: String, follow: bool) -> Result<Resolved> {
    let mut links = 0;
    'restart: loop {
        let Some((at, tree)) = mount_of(&path) else {
            return Ok(Resolved::Tree(path));
        };
        let below: Vec<&str> = path[at.len()..]
            .split('/')
            .filter(|c| !c.is_empty())
            .collect();
        if below.is_empty() {
            let node = tree.node(&[])?;
            return Ok(Resolved::Generated(path, node));
        }
        for i in 0..below.len() {
            let last = i + 1 == below.len();
            let node = tree.node(&below[..=i])?;
            match node {
                Node::Symlink(target) if !last || follow => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Errno::ELOOP);
                    }
                    let mut dir = at.clone();
                    for c in &below[..i] {
                        dir.push('/');
                        dir.push_str(c);
                    }
                    let mut next = memfs::normalize(&dir, &target)?;
                    for c in &below[i + 1..] {
                        next.push('/');
                        next.push_str(c);
                    }
                    path = memfs::normalize("/", &next)?;
                    continue 'restart;
                }
                Node::Dir(_) => {}
                _ if !last => return Err(Errno::ENOTDIR),
                _ => {}
            }
            if last {
                return Ok(Resolved::Generated(path, node));
            }
        }
        unreachable!("a path below a mount point has a last component");
    }
}

/// The inode number of a generated node: a hash of its path, above every other kind's range
/// (tree nodes and anonymous objects are below 2^63).
fn ino(path: &str) -> u64 {
    // FNV-1a: a small stable hash that needs no state.
    let hash = path.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (1 << 63) | (hash >> 1)
}

/// Metadata of the generated `node` at `path`: read-only (files 0444, directories 0555),
/// times now.
pub(crate) fn stat(path: &str, node: &Node) -> Stat {
    let t = now();
    let (kind, size, mode, nlink) = match node {
        Node::File(bytes) => (FileKind::File, bytes.len() as u64, 0o444, 1),
        Node::Dir(entries) => (FileKind::Directory, entries.len() as u64, 0o555, 2),
        Node::Symlink(target) => (FileKind::Symlink, target.len() as u64, 0o777, 1),
    };
    let mut st = Stat::anonymous(kind, size, ino(path), t);
    st.mode = mode;
    st.nlink = nlink;
    st
}

/// Opens the generated `node` at `path` (read-only).
pub(crate) fn open(
    path: String,
    node: Node,
    write: bool,
    directory: bool,
) -> Result<Arc<dyn File>> {
    if write {
        return Err(if matches!(node, Node::Dir(_)) {
            Errno::EISDIR
        } else {
            Errno::EACCES
        });
    }
    let stat = stat(&path, &node);
    match node {
        Node::Dir(entries) => Ok(Arc::new(GeneratedDir {
            path,
            stat,
            entries,
        })),
        _ if directory => Err(Errno::ENOTDIR),
        Node::File(bytes) => Ok(Arc::new(GeneratedFile {
            path,
            stat,
            bytes,
            offset: Mutex::new(0),
        })),
        // Only reached when opening without following (`O_NOFOLLOW`, `O_PATH`).
        Node::Symlink(_) => Err(Errno::ELOOP),
    }
}

/// An open generated file: the bytes as they were at open, and an offset.
pub struct GeneratedFile {
    path: String,
    stat: Stat,
    bytes: Vec<u8>,
    offset: Mutex<u64>,
}

impl File for GeneratedFile {
    fn kind(&self) -> FileKind {
        FileKind::File
    }

    fn status(&self) -> OpenStatus {
        OpenStatus::READ
    }

    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let mut offset = self.offset.lock();
        let n = self.read_at(buf, *offset)?;
        *offset += n as u64;
        Ok(n)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }

    fn seek(&self, pos: SeekFrom) -> Result<u64> {
        let mut offset = self.offset.lock();
        let base = match pos {
            SeekFrom::Start(n) => {
                *offset = n;
                return Ok(n);
            }
            SeekFrom::End(d) => (self.bytes.len() as u64, d),
            SeekFrom::Current(d) => (*offset, d),
        };
        let new = base.0.checked_add_signed(base.1).ok_or(Errno::EINVAL)?;
        *offset = new;
        Ok(new)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.stat)
    }
}

/// An open generated directory: its entries as they were at open.
pub struct GeneratedDir {
    path: String,
    stat: Stat,
    entries: Vec<(String, FileKind)>,
}

impl File for GeneratedDir {
    fn kind(&self) -> FileKind {
        FileKind::Directory
    }

    fn status(&self) -> OpenStatus {
        OpenStatus::READ
    }

    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }

    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EISDIR)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.stat)
    }

    /// Cookies are entry positions: entry `i`'s `next` is `i + 1`.
    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<DirEntry>> {
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        Ok(self
            .entries
            .iter()
            .enumerate()
            .skip(start)
            .take(max)
            .map(|(i, (name, kind))| DirEntry {
                name: Arc::from(name.as_str()),
                kind: *kind,
                ino: ino(&alloc::format!("{}/{name}", self.path)),
                next: i as u64 + 1,
            })
            .collect())
    }
}
