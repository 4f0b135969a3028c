//! The in-memory file system the kernel mounts at `/` and fills from the
//! initial ramdisk.
//!
//! Owns the tree of nodes (directories, regular files, symbolic links), path
//! resolution inside that tree, and lexical path normalisation
//! ([`normalize`]). Depends on `core`, `alloc` and `errno` (its error type); it has no clock, so
//! every call that changes a time takes `now` (nanoseconds since the Unix
//! epoch) from the caller. Times are signed: a file may be dated before 1970 (`touch -d 1960`);
//! `i64` nanoseconds reach from 1677 to 2262.
//!
//! Hand-written: it is the kernel's own data structure, shaped for the VFS
//! that will sit on it. Nodes live in a slab addressed by [`NodeId`]; an id
//! carries a generation number, so an id kept by an open file handle after its
//! node was removed (and the slot reused) yields [`Errno::ENOENT`] instead
//! of reaching another node. A later VFS that wants POSIX "unlinked but still
//! open" files must keep its own reference count and delay the removal.
//!
//! Path arguments of [`MemFs`] methods are absolute. `.` and `..` in them are
//! resolved physically while walking (`..` follows the parent link, after any
//! symbolic link), unlike [`normalize`], which is purely lexical. A trailing
//! slash is ignored. Files and symbolic links may have several names (hard
//! links, [`MemFs::link`]); a node keeps a count of its names and is freed
//! when the last one goes. A directory has exactly one name and one parent.
//!
//! The `*_beneath` methods (`beneath.rs`) resolve a relative path from a given
//! directory node instead and never leave it: the capability model of
//! directory descriptors.
//!
//! Memory budget: the bytes the tree holds (each node counted as [`NODE_COST`], plus the
//! capacity of file contents and symbolic-link targets) never exceed the limit set with
//! [`MemFs::set_byte_limit`] (none by default); a call that would go past it fails with
//! [`Errno::ENOSPC`] and changes nothing. The kernel sets it so that a full file system
//! leaves the rest of the system memory to work with.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::borrow::{Cow, ToOwned};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Longest allowed name of one path component, in bytes.
pub const NAME_MAX: usize = 255;
/// Longest allowed path, in bytes.
pub const PATH_MAX: usize = 4096;
/// Most symbolic links followed while resolving one path.
pub const SYMLOOP_MAX: usize = 40;

/// Permission bits kept in a node's mode.
const PERMISSION_BITS: u32 = 0o7777;

/// Errors are Linux errno values: [`Errno::ENOENT`] for a missing component or a stale id,
/// [`Errno::ENAMETOOLONG`] past [`NAME_MAX`] or [`PATH_MAX`], [`Errno::ELOOP`] past
/// [`SYMLOOP_MAX`], [`Errno::EXDEV`] when a resolution beneath a directory would leave it
/// (as Linux's `openat2` with `RESOLVE_BENEATH`), and so on. The VFS passes them on unchanged.
pub use errno::Errno;

/// Names a node of one [`MemFs`]: a slab index plus the slot's generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    index: u32,
    generation: u32,
}

impl NodeId {
    const ROOT: Self = Self {
        index: 0,
        generation: 0,
    };

    /// Slab index of the node, stable for the node's life (an inode number).
    pub const fn index(self) -> u32 {
        self.index
    }

    /// Index and generation in one number: unlike [`Self::index`], never names a later node
    /// in the same slot.
    pub const fn key(self) -> u64 {
        (self.generation as u64) << 32 | self.index as u64
    }
}

/// A change to the tree's names and links, as told to the [observer](MemFs::set_observer)
/// (what inotify reports). Changes to a node's contents or attributes are not told: the layer
/// above sees them and knows the name the node was opened or found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// Entry `name` of directory `dir` now names `node`: `new` if the node was just created,
    /// else a further name of an existing file (a hard link).
    Added {
        dir: NodeId,
        name: &'a str,
        node: NodeId,
        kind: NodeKind,
        new: bool,
    },
    /// Entry `name` of directory `dir`, which named `node`, was removed.
    Removed {
        dir: NodeId,
        name: &'a str,
        node: NodeId,
        kind: NodeKind,
    },
    /// `node` moved from entry `from_name` of `from_dir` to entry `to_name` of `to_dir`.
    Moved {
        from_dir: NodeId,
        from_name: &'a str,
        to_dir: NodeId,
        to_name: &'a str,
        node: NodeId,
        kind: NodeKind,
    },
    /// The number of names of `node` changed, and some remain.
    LinkCount { node: NodeId, kind: NodeKind },
    /// `node` lost its last name (a file may live on while it is open).
    Deleted { node: NodeId, kind: NodeKind },
}

/// Told of every [`Change`], under the caller's hold of the tree.
pub type Observer = fn(&Change<'_>);

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe (`mkfifo`): no data of its own; opening it joins the pipe the VFS keeps
    /// for it.
    Fifo,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Name inside the directory (shared with the directory: listing one copies no names).
    pub name: Arc<str>,
    /// The node it names.
    pub node: NodeId,
    /// Kind of that node.
    pub kind: NodeKind,
}

/// Metadata of a node. Times are nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    /// Kind of node.
    pub kind: NodeKind,
    /// Bytes for a file, target length for a symlink, entry count for a directory.
    pub size: u64,
    /// Memory given to a file's bytes, in whole [`BLOCK_SIZE`] blocks (less than `size` when
    /// it ends in a hole); 0 for other nodes.
    pub allocated: u64,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    /// Link count: the names of a file or symlink, 2 plus subdirectories for directories.
    pub nlink: u32,
    /// Creation time.
    pub created: i64,
    /// Last change of the contents.
    pub modified: i64,
    /// Last access, as set by [`MemFs::set_times`] (reads take `&self`).
    pub accessed: i64,
}

/// Normalises `path` against the working directory `cwd`, lexically.
///
/// Returns an absolute path without `.`, `..`, repeated or trailing slashes
/// (`/..` is `/`). `cwd` must be absolute and is used only when `path` is
/// relative. Errors: [`Errno::ENOENT`] for an empty `path`,
/// [`Errno::EINVAL`] for a relative `cwd`, [`Errno::ENAMETOOLONG`]
/// for a component longer than [`NAME_MAX`] or a `path` or result longer than
/// [`PATH_MAX`].
pub fn normalize(cwd: &str, path: &str) -> Result<String, Errno> {
    normalized(cwd, path).map(Cow::into_owned)
}

/// [`normalize`] without a copy of a `path` that is already normal (absolute, and no empty,
/// `.` or `..` component: the common case).
pub fn normalized<'p>(cwd: &str, path: &'p str) -> Result<Cow<'p, str>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.starts_with('/') && is_plain(path) {
        return Ok(Cow::Borrowed(path));
    }
    let mut parts: Vec<&str> = Vec::new();
    if !path.starts_with('/') {
        if !cwd.starts_with('/') {
            return Err(Errno::EINVAL);
        }
        push_lexical(&mut parts, cwd)?;
    }
    push_lexical(&mut parts, path)?;
    let mut out = String::with_capacity(path.len() + 1);
    for part in &parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    if out.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(Cow::Owned(out))
}

/// Appends the components of `path` to `parts`, applying `.` and `..`.
fn push_lexical<'a>(parts: &mut Vec<&'a str>, path: &'a str) -> Result<(), Errno> {
    for comp in split(path) {
        match comp {
            "." => {}
            ".." => {
                parts.pop();
            }
            _ if comp.len() > NAME_MAX => return Err(Errno::ENAMETOOLONG),
            _ => parts.push(comp),
        }
    }
    Ok(())
}

/// The non-empty components of `path`, in order (either way). A scan for `/` bytes:
/// `str::split` with a `char` pattern goes through a general searcher, which costs more than
/// the whole walk of a short path.
fn split(path: &str) -> impl DoubleEndedIterator<Item = &str> + '_ {
    let base = path.as_ptr() as usize;
    path.as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(move |c| {
            // Between two `/` bytes (or an end), so on character boundaries.
            let at = c.as_ptr() as usize - base;
            &path[at..at + c.len()]
        })
}

/// Whether the absolute `path` is already normal: `/`, or no empty, `.` or `..` component
/// and none longer than [`NAME_MAX`].
fn is_plain(path: &str) -> bool {
    path.len() == 1
        || path.as_bytes()[1..]
            .split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b".." && c.len() <= NAME_MAX)
}

/// Checks an absolute path to walk: `EINVAL` if relative, `ENAMETOOLONG` if it or a
/// component is too long.
fn check_path(path: &str) -> Result<(), Errno> {
    if !path.starts_with('/') {
        return Err(Errno::EINVAL);
    }
    if path.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    // A path no longer than a name has no component too long (the common case).
    if path.len() > NAME_MAX && split(path).any(|c| c.len() > NAME_MAX) {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// Checks the target of a new symbolic link.
fn check_target(target: &str) -> Result<(), Errno> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    if target.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// Checks a name about to be stored in a directory.
fn check_new_name(name: &str) -> Result<(), Errno> {
    if name.contains('\0') {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

enum Content {
    Directory {
        parent: NodeId,
        children: BTreeMap<Arc<str>, NodeId>,
        /// How many of the children are directories (its link count is 2 more), kept as
        /// entries come and go so that `metadata` need not look at every child.
        subdirs: u32,
    },
    File(FileData),
    Symlink(String),
    Fifo,
}

struct Node {
    content: Content,
    /// Names of a file or symbolic link in directories (1 for a directory; 0 for a file whose
    /// last name went while it was open).
    links: u32,
    /// Open file descriptions of a file ([`MemFs::hold`]): a file without names lives on
    /// until the last is closed, as POSIX wants (`tempfile()` opens, then unlinks).
    opens: u32,
    mode: u32,
    created: i64,
    modified: i64,
    accessed: i64,
}

impl Node {
    fn new(content: Content, mode: u32, now: i64) -> Self {
        Self {
            content,
            links: 1,
            opens: 0,
            mode: mode & PERMISSION_BITS,
            created: now,
            modified: now,
            accessed: now,
        }
    }

    fn kind(&self) -> NodeKind {
        match self.content {
            Content::Directory { .. } => NodeKind::Directory,
            Content::File(_) => NodeKind::File,
            Content::Symlink(_) => NodeKind::Symlink,
            Content::Fifo => NodeKind::Fifo,
        }
    }
}

struct Slot {
    generation: u32,
    node: Option<Node>,
}

/// The last component of a path, as seen by operations that create or
/// remove a directory entry.
enum Last<'p> {
    /// The path is `/`.
    Root,
    /// The path ends in `.` or `..`.
    Dot,
    /// An ordinary name.
    Name(&'p str),
}

/// What one node counts for in the byte budget besides its contents: the slot, the
/// directory entry and its name, roughly.
pub const NODE_COST: u64 = 256;

/// An in-memory file system tree.
pub struct MemFs {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Bytes counted against the budget (see the crate documentation).
    used_bytes: u64,
    byte_limit: u64,
    observer: Option<Observer>,
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFs {
    /// Creates a file system holding only the root directory (mode `0o755`,
    /// all times 0; see [`MemFs::set_mode`] and [`MemFs::set_times`]).
    pub fn new() -> Self {
        let root = Node::new(
            Content::Directory {
                parent: NodeId::ROOT,
                children: BTreeMap::new(),
                subdirs: 0,
            },
            0o755,
            0,
        );
        Self {
            slots: alloc::vec![Slot {
                generation: 0,
                node: Some(root),
            }],
            free: Vec::new(),
            used_bytes: NODE_COST,
            byte_limit: u64::MAX,
            observer: None,
        }
    }

    /// Limits the bytes the tree may hold (see the crate documentation). A limit below what
    /// it holds already lets nothing grow until enough is removed.
    pub fn set_byte_limit(&mut self, limit: u64) {
        self.byte_limit = limit;
    }

    /// Tells `observer` of every later [`Change`] (`None`: nobody).
    pub fn set_observer(&mut self, observer: Option<Observer>) {
        self.observer = observer;
    }

    fn tell(&self, change: Change<'_>) {
        if let Some(observer) = self.observer {
            observer(&change);
        }
    }

    /// `(bytes held, limit)` of the budget.
    pub fn byte_usage(&self) -> (u64, u64) {
        (self.used_bytes, self.byte_limit)
    }

    /// Bytes the budget still allows.
    fn bytes_left(&self) -> u64 {
        self.byte_limit.saturating_sub(self.used_bytes)
    }

    /// The root directory.
    pub fn root(&self) -> NodeId {
        NodeId::ROOT
    }

    /// Number of live nodes, the root included.
    pub fn node_count(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Resolves an absolute path, following every symbolic link.
    pub fn lookup(&self, path: &str) -> Result<NodeId, Errno> {
        check_path(path)?;
        self.walk(path, true)
    }

    /// Resolves an absolute path without following a symbolic link in the
    /// last component (links in earlier components are followed).
    pub fn lookup_nofollow(&self, path: &str) -> Result<NodeId, Errno> {
        check_path(path)?;
        self.walk(path, false)
    }

    /// Creates a directory. The parent must exist.
    pub fn mkdir(&mut self, path: &str, mode: u32, now: i64) -> Result<NodeId, Errno> {
        self.insert_new(path, mode, now, |parent| Content::Directory {
            parent,
            children: BTreeMap::new(),
            subdirs: 0,
        })
    }

    /// Creates directory `name` in directory `parent`.
    pub fn mkdir_at(
        &mut self,
        parent: NodeId,
        name: &str,
        mode: u32,
        now: i64,
    ) -> Result<NodeId, Errno> {
        self.insert_at(parent, name, mode, now, |parent| Content::Directory {
            parent,
            children: BTreeMap::new(),
            subdirs: 0,
        })
    }

    /// Creates a directory and any missing ancestors, like `mkdir -p`.
    ///
    /// Existing directories (or symlinks to them) are fine; an existing
    /// non-directory gives [`Errno::EEXIST`] as the last component
    /// and [`Errno::ENOTDIR`] before it.
    pub fn mkdir_all(&mut self, path: &str, mode: u32, now: i64) -> Result<NodeId, Errno> {
        check_path(path)?;
        // Byte offsets where each non-empty component of `path` ends.
        let mut ends = Vec::new();
        let mut pos = 0;
        for part in path.split('/') {
            pos += part.len();
            if !part.is_empty() {
                ends.push(pos);
            }
            pos += 1;
        }
        let mut current = self.root();
        for (i, &end) in ends.iter().enumerate() {
            let prefix = &path[..end];
            current = match self.lookup(prefix) {
                Ok(id) if self.node(id)?.kind() == NodeKind::Directory => id,
                Ok(_) if i + 1 == ends.len() => return Err(Errno::EEXIST),
                Ok(_) => return Err(Errno::ENOTDIR),
                Err(Errno::ENOENT) => self.mkdir(prefix, mode, now)?,
                Err(e) => return Err(e),
            };
        }
        Ok(current)
    }

    /// Creates an empty regular file; [`Errno::EEXIST`] if the path
    /// names anything, a dangling symlink included.
    pub fn create_file(&mut self, path: &str, mode: u32, now: i64) -> Result<NodeId, Errno> {
        self.insert_new(path, mode, now, |_| Content::File(FileData::default()))
    }

    /// Resolves `path` as [`Self::lookup`] does, or creates an empty regular file there when
    /// its last component names nothing (`O_CREAT` without `O_EXCL`): the node, and whether
    /// it was created. The parent is walked once and, for a new file, searched once more to
    /// enter the name. A last component that is a symbolic link is followed; if its target
    /// does not exist the result is [`Errno::EEXIST`], as from [`Self::create_file`] (the
    /// link's name is taken).
    pub fn lookup_or_create_file(
        &mut self,
        path: &str,
        mode: u32,
        now: i64,
    ) -> Result<(NodeId, bool), Errno> {
        let (parent, last) = self.parent_and_last(path)?;
        let Last::Name(name) = last else {
            return Ok((self.walk(path, true)?, false));
        };
        let Some(&child) = self.children(parent)?.get(name) else {
            check_new_name(name)?;
            let id = self.insert_missing(parent, name, mode, now, |_| {
                Content::File(FileData::default())
            })?;
            return Ok((id, true));
        };
        if let Content::Symlink(_) = self.node(child)?.content {
            return match self.walk(path, true) {
                Err(Errno::ENOENT) => Err(Errno::EEXIST),
                found => found.map(|id| (id, false)),
            };
        }
        Ok((child, false))
    }

    /// Creates the empty regular file `name` in directory `parent`.
    pub fn create_file_at(
        &mut self,
        parent: NodeId,
        name: &str,
        mode: u32,
        now: i64,
    ) -> Result<NodeId, Errno> {
        self.insert_at(parent, name, mode, now, |_| {
            Content::File(FileData::default())
        })
    }

    /// Creates a named pipe at `path` (`mkfifo`).
    pub fn mkfifo(&mut self, path: &str, mode: u32, now: i64) -> Result<NodeId, Errno> {
        self.insert_new(path, mode, now, |_| Content::Fifo)
    }

    /// Creates a named pipe called `name` in directory `parent` (`mkfifo`).
    pub fn mkfifo_at(
        &mut self,
        parent: NodeId,
        name: &str,
        mode: u32,
        now: i64,
    ) -> Result<NodeId, Errno> {
        self.insert_at(parent, name, mode, now, |_| Content::Fifo)
    }

    /// Creates a symbolic link at `path` pointing to `target` (not checked
    /// for existence). An empty target gives [`Errno::ENOENT`].
    pub fn symlink(&mut self, path: &str, target: &str, now: i64) -> Result<NodeId, Errno> {
        check_target(target)?;
        let target = target.to_owned();
        self.insert_new(path, 0o777, now, |_| Content::Symlink(target))
    }

    /// Creates the symbolic link `name` in directory `parent`, as [`MemFs::symlink`].
    pub fn symlink_at(
        &mut self,
        parent: NodeId,
        name: &str,
        target: &str,
        now: i64,
    ) -> Result<NodeId, Errno> {
        check_target(target)?;
        let target = target.to_owned();
        self.insert_at(parent, name, 0o777, now, |_| Content::Symlink(target))
    }

    /// The target of a symbolic link; [`Errno::EINVAL`] for other nodes.
    pub fn readlink(&self, node: NodeId) -> Result<&str, Errno> {
        match &self.node(node)?.content {
            Content::Symlink(target) => Ok(target),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Copies file bytes from `offset` into `buf` (zeros from a hole past the stored bytes);
    /// returns the count copied (0 at or past the end). Does not change the access time.
    pub fn read_at(&self, node: NodeId, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(self.file(node)?.read_at(offset, buf))
    }

    /// Writes `data` at `offset`, growing the file and zero-filling any gap.
    /// Returns `data.len()`; an empty write changes nothing.
    pub fn write_at(
        &mut self,
        node: NodeId,
        offset: u64,
        data: &[u8],
        now: i64,
    ) -> Result<usize, Errno> {
        let left = self.bytes_left();
        let file = self.file_mut(node)?;
        if data.is_empty() {
            return Ok(0);
        }
        self.used_bytes += file.write_at(offset, data, left)?;
        self.node_mut(node)?.modified = now;
        Ok(data.len())
    }

    /// Sets the file length to `len`, cutting the file or extending it with a hole that
    /// reads as zeros and takes no memory until written.
    pub fn truncate(&mut self, node: NodeId, len: u64, now: i64) -> Result<(), Errno> {
        let file = self.file_mut(node)?;
        self.used_bytes -= file.set_len(len)?;
        self.node_mut(node)?.modified = now;
        Ok(())
    }

    /// Gives the file memory for its bytes up to `end` (`fallocate`): the length grows to
    /// `end` unless `keep_len`, which allocates only within the current length.
    pub fn allocate(
        &mut self,
        node: NodeId,
        end: u64,
        keep_len: bool,
        now: i64,
    ) -> Result<(), Errno> {
        let left = self.bytes_left();
        let file = self.file_mut(node)?;
        let before = file.len();
        let added = file.allocate(end, keep_len, left)?;
        let grew = file.len() != before;
        self.used_bytes += added;
        if grew {
            self.node_mut(node)?.modified = now;
        }
        Ok(())
    }

    /// The whole contents of a regular file (a copy when it ends in a hole).
    pub fn file_data(&self, node: NodeId) -> Result<Cow<'_, [u8]>, Errno> {
        self.file(node)?.contents()
    }

    /// The entries of a directory, sorted by name, without `.` and `..`.
    pub fn readdir(&self, node: NodeId) -> Result<Vec<DirEntry>, Errno> {
        let children = self.children(node)?;
        // Sized once: collecting the fallible map would grow the vector by doubling (a
        // 10 000-entry listing copied its entries about twice over).
        let mut entries = Vec::with_capacity(children.len());
        for (name, &id) in children {
            entries.push(DirEntry {
                name: name.clone(),
                node: id,
                kind: self.node(id)?.kind(),
            });
        }
        Ok(entries)
    }

    /// The parent of a directory (the root is its own parent).
    pub fn parent(&self, dir: NodeId) -> Result<NodeId, Errno> {
        match self.node(dir)?.content {
            Content::Directory { parent, .. } => Ok(parent),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Metadata of a node.
    pub fn metadata(&self, node: NodeId) -> Result<Metadata, Errno> {
        let n = self.node(node)?;
        let allocated = match &n.content {
            Content::File(data) => data.allocated(),
            _ => 0,
        };
        let (size, nlink) = match &n.content {
            Content::File(data) => (data.len(), n.links),
            Content::Symlink(target) => (target.len() as u64, n.links),
            Content::Fifo => (0, n.links),
            Content::Directory {
                children, subdirs, ..
            } => (children.len() as u64, subdirs.saturating_add(2)),
        };
        Ok(Metadata {
            kind: n.kind(),
            size,
            allocated,
            mode: n.mode,
            nlink,
            created: n.created,
            modified: n.modified,
            accessed: n.accessed,
        })
    }

    /// Sets the permission bits (`& 0o7777`).
    pub fn set_mode(&mut self, node: NodeId, mode: u32) -> Result<(), Errno> {
        self.node_mut(node)?.mode = mode & PERMISSION_BITS;
        Ok(())
    }

    /// Sets the access and/or modification time; `None` leaves one unchanged.
    pub fn set_times(
        &mut self,
        node: NodeId,
        accessed: Option<i64>,
        modified: Option<i64>,
    ) -> Result<(), Errno> {
        let n = self.node_mut(node)?;
        if let Some(t) = accessed {
            n.accessed = t;
        }
        if let Some(t) = modified {
            n.modified = t;
        }
        Ok(())
    }

    /// Removes a file or symbolic link (never follows the last component).
    pub fn unlink(&mut self, path: &str, now: i64) -> Result<(), Errno> {
        let (parent, last) = self.parent_and_last(path)?;
        let Last::Name(name) = last else {
            return Err(Errno::EISDIR);
        };
        self.unlink_at(parent, name, now)
    }

    /// Removes the entry `name` (a file or symbolic link) of directory
    /// `parent`; the node is freed with its last name.
    pub fn unlink_at(&mut self, parent: NodeId, name: &str, now: i64) -> Result<(), Errno> {
        // One search of the directory: the entry is taken out first and put back (its name
        // not copied) if it names a directory.
        let (key, child) = self
            .children_mut(parent)?
            .remove_entry(name)
            .ok_or(Errno::ENOENT)?;
        let kind = match self.node(child).map(Node::kind) {
            Ok(kind) if kind != NodeKind::Directory => kind,
            other => {
                self.children_mut(parent)?.insert(key, child);
                return Err(other.err().unwrap_or(Errno::EISDIR));
            }
        };
        self.node_mut(parent)?.modified = now;
        self.drop_name(child);
        self.tell(Change::Removed {
            dir: parent,
            name,
            node: child,
            kind,
        });
        Ok(())
    }

    /// Removes an empty directory. The root gives [`Errno::EBUSY`], a path
    /// ending in `.` or `..` gives [`Errno::EINVAL`].
    pub fn rmdir(&mut self, path: &str, now: i64) -> Result<(), Errno> {
        let (parent, last) = self.parent_and_last(path)?;
        let name = match last {
            Last::Root => return Err(Errno::EBUSY),
            Last::Dot => return Err(Errno::EINVAL),
            Last::Name(name) => name,
        };
        self.rmdir_at(parent, name, now)
    }

    /// Removes the empty directory `name` of directory `parent`.
    pub fn rmdir_at(&mut self, parent: NodeId, name: &str, now: i64) -> Result<(), Errno> {
        let child = self.child(parent, name)?;
        if !self.children(child)?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        self.detach(parent, name, now)?;
        self.free(child);
        self.tell(Change::Deleted {
            node: child,
            kind: NodeKind::Directory,
        });
        self.tell(Change::Removed {
            dir: parent,
            name,
            node: child,
            kind: NodeKind::Directory,
        });
        Ok(())
    }

    /// Gives the file or symbolic link at `from` a further name `to` (a hard
    /// link). `follow`: follow a symbolic link in the last component of
    /// `from`. A directory gives [`Errno::EISDIR`] (POSIX `EPERM`).
    pub fn link(&mut self, from: &str, to: &str, follow: bool, now: i64) -> Result<(), Errno> {
        let node = if follow {
            self.lookup(from)?
        } else {
            self.lookup_nofollow(from)?
        };
        let (parent, last) = self.parent_and_last(to)?;
        let Last::Name(name) = last else {
            return Err(Errno::EEXIST);
        };
        self.link_at(node, parent, name, now)
    }

    /// Adds the entry `name` naming `node` (a file or symbolic link) to
    /// directory `parent`.
    pub fn link_at(
        &mut self,
        node: NodeId,
        parent: NodeId,
        name: &str,
        now: i64,
    ) -> Result<(), Errno> {
        if self.node(node)?.kind() == NodeKind::Directory {
            return Err(Errno::EISDIR);
        }
        check_new_name(name)?;
        if self.children(parent)?.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let links = self.node(node)?.links.checked_add(1).ok_or(Errno::ENOSPC)?;
        self.children_mut(parent)?.insert(Arc::from(name), node);
        let n = self.node_mut(node)?;
        n.links = links;
        let kind = n.kind();
        self.node_mut(parent)?.modified = now;
        self.tell(Change::LinkCount { node, kind });
        self.tell(Change::Added {
            dir: parent,
            name,
            node,
            kind,
            new: false,
        });
        Ok(())
    }

    /// Moves `from` to `to` with POSIX `rename` semantics: an existing file
    /// or symlink at `to` is replaced by a non-directory, an existing empty
    /// directory by a directory. Neither last component is followed.
    /// Renaming a path onto itself (or onto another name of the same node)
    /// does nothing.
    pub fn rename(&mut self, from: &str, to: &str, now: i64) -> Result<(), Errno> {
        let (from_parent, from_last) = self.parent_and_last(from)?;
        let from_name = match from_last {
            Last::Root => return Err(Errno::EBUSY),
            Last::Dot => return Err(Errno::EINVAL),
            Last::Name(name) => name,
        };
        self.child(from_parent, from_name)?;
        let (to_parent, to_last) = self.parent_and_last(to)?;
        let to_name = match to_last {
            Last::Root => return Err(Errno::EBUSY),
            Last::Dot => return Err(Errno::EINVAL),
            Last::Name(name) => name,
        };
        self.rename_at(from_parent, from_name, to_parent, to_name, now)
    }

    /// [`MemFs::rename`] of entry `from_name` of directory `from_parent` to
    /// entry `to_name` of directory `to_parent`.
    pub fn rename_at(
        &mut self,
        from_parent: NodeId,
        from_name: &str,
        to_parent: NodeId,
        to_name: &str,
        now: i64,
    ) -> Result<(), Errno> {
        let src = self.child(from_parent, from_name)?;
        self.children(to_parent)?;
        check_new_name(to_name)?;
        let src_is_dir = self.node(src)?.kind() == NodeKind::Directory;
        if src_is_dir {
            // Refuse to move a directory below itself.
            let mut cur = to_parent;
            loop {
                if cur == src {
                    return Err(Errno::EINVAL);
                }
                if cur == NodeId::ROOT {
                    break;
                }
                cur = self.parent(cur)?;
            }
        }
        let replaced = match self.child(to_parent, to_name) {
            Ok(dst) if dst == src => return Ok(()),
            Ok(dst) => {
                match (src_is_dir, self.node(dst)?.kind() == NodeKind::Directory) {
                    (true, true) if !self.children(dst)?.is_empty() => {
                        return Err(Errno::ENOTEMPTY);
                    }
                    (true, false) => return Err(Errno::ENOTDIR),
                    (false, true) => return Err(Errno::EISDIR),
                    _ => {}
                }
                Some(dst)
            }
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        self.detach(from_parent, from_name, now)?;
        if let Some(dst) = replaced {
            // Tells the replaced node's `LinkCount` or `Deleted`.
            self.detach(to_parent, to_name, now)?;
            self.drop_name(dst);
        }
        self.attach(to_parent, to_name, src)?;
        self.node_mut(to_parent)?.modified = now;
        let node = self.node_mut(src)?;
        let kind = node.kind();
        if let Content::Directory { parent, .. } = &mut node.content {
            *parent = to_parent;
        }
        self.tell(Change::Moved {
            from_dir: from_parent,
            from_name,
            to_dir: to_parent,
            to_name,
            node: src,
            kind,
        });
        Ok(())
    }

    // ----- internals -----

    fn node(&self, id: NodeId) -> Result<&Node, Errno> {
        self.slots
            .get(id.index as usize)
            .filter(|slot| slot.generation == id.generation)
            .and_then(|slot| slot.node.as_ref())
            .ok_or(Errno::ENOENT)
    }

    fn node_mut(&mut self, id: NodeId) -> Result<&mut Node, Errno> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|slot| slot.generation == id.generation)
            .and_then(|slot| slot.node.as_mut())
            .ok_or(Errno::ENOENT)
    }

    fn file(&self, id: NodeId) -> Result<&FileData, Errno> {
        match &self.node(id)?.content {
            Content::File(data) => Ok(data),
            Content::Directory { .. } => Err(Errno::EISDIR),
            Content::Symlink(_) | Content::Fifo => Err(Errno::EINVAL),
        }
    }

    fn file_mut(&mut self, id: NodeId) -> Result<&mut FileData, Errno> {
        match &mut self.node_mut(id)?.content {
            Content::File(data) => Ok(data),
            Content::Directory { .. } => Err(Errno::EISDIR),
            Content::Symlink(_) | Content::Fifo => Err(Errno::EINVAL),
        }
    }

    fn children(&self, id: NodeId) -> Result<&BTreeMap<Arc<str>, NodeId>, Errno> {
        match &self.node(id)?.content {
            Content::Directory { children, .. } => Ok(children),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn children_mut(&mut self, id: NodeId) -> Result<&mut BTreeMap<Arc<str>, NodeId>, Errno> {
        match &mut self.node_mut(id)?.content {
            Content::Directory { children, .. } => Ok(children),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn child(&self, dir: NodeId, name: &str) -> Result<NodeId, Errno> {
        self.children(dir)?.get(name).copied().ok_or(Errno::ENOENT)
    }

    /// Walks `comps` from the root. Symlinks are followed, except in the last
    /// component when `follow_last` is false.
    fn walk(&self, path: &str, follow_last: bool) -> Result<NodeId, Errno> {
        // The components of `path` still to visit, and before them those of the symbolic
        // links met (last one on top): no allocation until a link is followed.
        let mut rest = split(path).peekable();
        let mut pending: Vec<&str> = Vec::new();
        let mut cur = NodeId::ROOT;
        let mut links = 0;
        while let Some(name) = pending.pop().or_else(|| rest.next()) {
            match name {
                "." => {
                    self.children(cur)?;
                }
                ".." => cur = self.parent(cur)?,
                _ => {
                    let child = self.child(cur, name)?;
                    let follow = follow_last || !pending.is_empty() || rest.peek().is_some();
                    match &self.node(child)?.content {
                        Content::Symlink(target) if follow => {
                            links += 1;
                            if links > SYMLOOP_MAX {
                                return Err(Errno::ELOOP);
                            }
                            if target.starts_with('/') {
                                cur = NodeId::ROOT;
                            }
                            pending.extend(split(target).rev());
                        }
                        _ => cur = child,
                    }
                }
            }
        }
        Ok(cur)
    }

    /// Resolves everything but the last component (which must then be a
    /// directory) and classifies the last one.
    fn parent_and_last<'p>(&self, path: &'p str) -> Result<(NodeId, Last<'p>), Errno> {
        check_path(path)?;
        let Some(last) = split(path).next_back() else {
            return Ok((NodeId::ROOT, Last::Root));
        };
        // Everything before the last component (it is a piece of `path`).
        let init = &path[..last.as_ptr() as usize - path.as_ptr() as usize];
        let parent = self.walk(init, true)?;
        self.children(parent)?;
        let last = match last {
            "." | ".." => Last::Dot,
            name => Last::Name(name),
        };
        Ok((parent, last))
    }

    /// Adds a new node named by the last component of `path`.
    fn insert_new(
        &mut self,
        path: &str,
        mode: u32,
        now: i64,
        content: impl FnOnce(NodeId) -> Content,
    ) -> Result<NodeId, Errno> {
        let (parent, last) = self.parent_and_last(path)?;
        let Last::Name(name) = last else {
            return Err(Errno::EEXIST);
        };
        self.insert_at(parent, name, mode, now, content)
    }

    /// Adds a new node as entry `name` of directory `parent`.
    fn insert_at(
        &mut self,
        parent: NodeId,
        name: &str,
        mode: u32,
        now: i64,
        content: impl FnOnce(NodeId) -> Content,
    ) -> Result<NodeId, Errno> {
        check_new_name(name)?;
        if self.children(parent)?.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        self.insert_missing(parent, name, mode, now, content)
    }

    /// Adds a new node as entry `name` of directory `parent`, which has no such entry (the
    /// caller looked) and `name` checked with `check_new_name`.
    fn insert_missing(
        &mut self,
        parent: NodeId,
        name: &str,
        mode: u32,
        now: i64,
        content: impl FnOnce(NodeId) -> Content,
    ) -> Result<NodeId, Errno> {
        let node = Node::new(content(parent), mode, now);
        let kind = node.kind();
        let id = self.alloc(node)?;
        self.attach(parent, name, id)?;
        self.node_mut(parent)?.modified = now;
        self.tell(Change::Added {
            dir: parent,
            name,
            node: id,
            kind,
            new: true,
        });
        Ok(id)
    }

    /// Forgets one name of a detached file or symlink, freeing it with its last (or with its
    /// last open, if still open); tells [`Change::LinkCount`] or [`Change::Deleted`].
    fn drop_name(&mut self, id: NodeId) {
        let Ok(n) = self.node_mut(id) else {
            return;
        };
        let kind = n.kind();
        if n.links > 1 {
            n.links -= 1;
            self.tell(Change::LinkCount { node: id, kind });
            return;
        }
        if n.opens > 0 {
            n.links = 0;
        } else {
            self.free(id);
        }
        self.tell(Change::Deleted { node: id, kind });
    }

    /// Counts one more open file description of `id` (a file or symbolic link; directories
    /// are not counted): it is not freed with its last name while opens remain.
    pub fn hold(&mut self, id: NodeId) -> Result<(), Errno> {
        let node = self.node_mut(id)?;
        if node.kind() != NodeKind::Directory {
            node.opens = node.opens.saturating_add(1);
        }
        Ok(())
    }

    /// Ends one [`Self::hold`]: a file without names is freed with its last open.
    pub fn release(&mut self, id: NodeId) {
        if let Ok(node) = self.node_mut(id)
            && node.kind() != NodeKind::Directory
        {
            node.opens = node.opens.saturating_sub(1);
            if node.opens == 0 && node.links == 0 {
                self.free(id);
            }
        }
    }

    /// Removes `name` from directory `parent`, leaving the node allocated.
    fn detach(&mut self, parent: NodeId, name: &str, now: i64) -> Result<(), Errno> {
        let id = self
            .children_mut(parent)?
            .remove(name)
            .ok_or(Errno::ENOENT)?;
        if self.node(id)?.kind() == NodeKind::Directory {
            self.count_subdir(parent, false);
        }
        self.node_mut(parent)?.modified = now;
        Ok(())
    }

    /// Enters node `id` as `name` in directory `parent` (the name is free).
    fn attach(&mut self, parent: NodeId, name: &str, id: NodeId) -> Result<(), Errno> {
        self.children_mut(parent)?.insert(Arc::from(name), id);
        if self.node(id)?.kind() == NodeKind::Directory {
            self.count_subdir(parent, true);
        }
        Ok(())
    }

    /// One more (`added`) or one fewer subdirectory in directory `dir`.
    fn count_subdir(&mut self, dir: NodeId, added: bool) {
        if let Ok(Node {
            content: Content::Directory { subdirs, .. },
            ..
        }) = self.node_mut(dir)
        {
            *subdirs = if added {
                subdirs.saturating_add(1)
            } else {
                subdirs.saturating_sub(1)
            };
        }
    }

    fn alloc(&mut self, node: Node) -> Result<NodeId, Errno> {
        let cost = node_cost(&node);
        if cost > self.bytes_left() {
            return Err(Errno::ENOSPC);
        }
        // Keep room in `free` for every slot, so that `free` never allocates.
        self.free
            .try_reserve(self.slots.len() + 1 - self.free.len())
            .map_err(|_| Errno::ENOSPC)?;
        self.used_bytes += cost;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.node = Some(node);
            return Ok(NodeId {
                index,
                generation: slot.generation,
            });
        }
        let index = u32::try_from(self.slots.len());
        let Ok(index) = index
            .map_err(|_| ())
            .and_then(|i| self.slots.try_reserve(1).map(|()| i).map_err(|_| ()))
        else {
            self.used_bytes -= cost;
            return Err(Errno::ENOSPC);
        };
        self.slots.push(Slot {
            generation: 0,
            node: Some(node),
        });
        Ok(NodeId {
            index,
            generation: 0,
        })
    }

    /// Frees the slot of a node already detached from the tree.
    fn free(&mut self, id: NodeId) {
        if let Some(slot) = self.slots.get_mut(id.index as usize)
            && slot.generation == id.generation
            && let Some(node) = slot.node.take()
        {
            self.used_bytes -= node_cost(&node);
            slot.generation = slot.generation.wrapping_add(1);
            // `alloc` keeps `free` able to hold every slot: no allocation here.
            self.free.push(id.index);
        }
    }
}

/// What `node` counts for in the byte budget.
fn node_cost(node: &Node) -> u64 {
    NODE_COST
        + match &node.content {
            Content::File(data) => data.capacity(),
            Content::Symlink(target) => target.capacity() as u64,
            Content::Directory { .. } | Content::Fifo => 0,
        }
}

mod beneath;
mod file_data;
pub use beneath::Beneath;
pub use file_data::BLOCK_SIZE;
use file_data::FileData;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_beneath;
#[cfg(test)]
mod tests_changes;
