//! Resolution of relative paths beneath a directory node: what a directory
//! descriptor that is a capability (cap-std's model, Linux's `openat2` with
//! `RESOLVE_BENEATH`) needs.
//!
//! The walk keeps the stack of directory nodes it actually entered, starting
//! with the base. `..` pops that stack and may not pop the base
//! ([`Errno::EXDEV`]); it never reads a parent link, so a directory moved
//! elsewhere meanwhile cannot lead the walk out. An absolute path or an
//! absolute symbolic-link target is [`Errno::EXDEV`] too; a relative link
//! target is walked from the link's directory on the same stack, so a link
//! climbing above the base is refused the same way. Every step looks up the
//! node ids met at that moment, and the caller holds the file system for the
//! whole call, so no rename or symlink swap (before or after) can make the
//! walk reach a node outside the base's subtree.
//!
//! A trailing slash makes the path name a directory: the last component's
//! link is followed and a non-directory there is [`Errno::ENOTDIR`].

use crate::{Content, Errno, MemFs, NAME_MAX, NodeId, PATH_MAX, SYMLOOP_MAX};
use alloc::string::String;
use alloc::vec::Vec;

/// Where a path resolved by [`MemFs::parent_beneath`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beneath<'p> {
    /// The directory holding the last component.
    pub parent: NodeId,
    /// The last component; `None` when the path ends in `.` or `..`.
    pub name: Option<&'p str>,
    /// The path ends with a slash (it must name a directory).
    pub dir_only: bool,
}

/// Checks a relative path's length, form and component lengths.
fn check_relative(path: &str) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.starts_with('/') {
        return Err(Errno::EXDEV);
    }
    if path.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.split('/').any(|c| c.len() > NAME_MAX) {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

impl MemFs {
    /// Resolves the relative `path` beneath directory `base`, following
    /// symbolic links (the last one only if `follow_last` or the path ends
    /// with a slash). See the module docs for what is refused.
    pub fn lookup_beneath(
        &self,
        base: NodeId,
        path: &str,
        follow_last: bool,
    ) -> Result<NodeId, Errno> {
        check_relative(path)?;
        let dir_only = path.ends_with('/');
        let node = self.walk_beneath(base, path, follow_last || dir_only)?;
        if dir_only {
            self.children(node)?;
        }
        Ok(node)
    }

    /// Resolves all but the last component of the relative `path` beneath
    /// directory `base` (which must lead to a directory) and returns that
    /// directory with the last name, for calls that create, remove or rename
    /// an entry. A path ending in `.` or `..` is still checked not to leave
    /// `base`.
    pub fn parent_beneath<'p>(&self, base: NodeId, path: &'p str) -> Result<Beneath<'p>, Errno> {
        check_relative(path)?;
        let trimmed = path.trim_end_matches('/');
        let (init, last) = match trimmed.rfind('/') {
            Some(at) => (&trimmed[..at], &trimmed[at + 1..]),
            None => ("", trimmed),
        };
        let parent = self.walk_beneath(base, init, true)?;
        self.children(parent)?;
        let name = match last {
            "." | ".." => {
                self.walk_beneath(base, trimmed, true)?;
                None
            }
            name => Some(name),
        };
        Ok(Beneath {
            parent,
            name,
            dir_only: path.ends_with('/'),
        })
    }

    /// Where a file created at `path` beneath `base` goes when a symbolic link in the last
    /// component is followed (POSIX `open` with `O_CREAT`: a dangling link creates its
    /// target): the directory and the new entry's name. The link's target is walked beneath
    /// `base` like any path. [`Errno::EEXIST`] if the path (after its links) names
    /// something, [`Errno::EISDIR`] for a name with a trailing slash or ending in
    /// `.` or `..`.
    pub fn create_point_beneath(
        &self,
        base: NodeId,
        path: &str,
    ) -> Result<(NodeId, String), Errno> {
        let mut path = String::from(path);
        for _ in 0..=SYMLOOP_MAX {
            let at = self.parent_beneath(base, &path)?;
            let name = match at.name {
                Some(name) if !at.dir_only => name,
                _ => return Err(Errno::EISDIR),
            };
            let child = match self.child(at.parent, name) {
                Ok(child) => child,
                Err(Errno::ENOENT) => return Ok((at.parent, String::from(name))),
                Err(e) => return Err(e),
            };
            let Content::Symlink(target) = &self.node(child)?.content else {
                return Err(Errno::EEXIST);
            };
            if target.starts_with('/') {
                return Err(Errno::EXDEV);
            }
            // The target replaces the last component: the directory part stays.
            let dir = path.rfind('/').map_or("", |at| &path[..=at]);
            let next = alloc::format!("{dir}{target}");
            check_relative(&next)?;
            path = next;
        }
        Err(Errno::ELOOP)
    }

    /// The walk itself: `path` relative (not checked here), from `base`.
    fn walk_beneath<'a>(
        &'a self,
        base: NodeId,
        path: &'a str,
        follow_last: bool,
    ) -> Result<NodeId, Errno> {
        self.children(base)?;
        // The directories entered, base first: `..` pops, never past the base.
        let mut stack: Vec<NodeId> = alloc::vec![base];
        // Components still to visit, next one on top.
        let mut pending: Vec<&'a str> = path.split('/').rev().filter(|c| !c.is_empty()).collect();
        // Where the walk is: the top of `stack`, or a non-directory met last.
        let mut cur = base;
        let mut links = 0;
        while let Some(name) = pending.pop() {
            let dir = *stack.last().ok_or(Errno::ENOENT)?;
            if cur != dir {
                // More components after a file or an unfollowed link.
                return Err(Errno::ENOTDIR);
            }
            match name {
                "." => {}
                ".." => {
                    if stack.len() == 1 {
                        return Err(Errno::EXDEV);
                    }
                    stack.pop();
                    cur = *stack.last().ok_or(Errno::ENOENT)?;
                }
                _ => {
                    let child = self.child(dir, name)?;
                    let follow = follow_last || !pending.is_empty();
                    match &self.node(child)?.content {
                        Content::Symlink(target) if follow => {
                            links += 1;
                            if links > SYMLOOP_MAX {
                                return Err(Errno::ELOOP);
                            }
                            if target.starts_with('/') {
                                return Err(Errno::EXDEV);
                            }
                            pending.extend(target.split('/').rev().filter(|c| !c.is_empty()));
                        }
                        Content::Directory { .. } => {
                            stack.push(child);
                            cur = child;
                        }
                        _ => cur = child,
                    }
                }
            }
        }
        Ok(cur)
    }
}
