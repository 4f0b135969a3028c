//! Path calls relative to an open directory that never leave it: the directory descriptor is a
//! capability bound to its node (`memfs`'s `*_beneath` resolution). An absolute path, `..`
//! above the directory, or a symbolic link leading out of it is [`Errno::EXDEV`]
//! (`EXDEV`, as Linux's `openat2` with `RESOLVE_BENEATH`); a descriptor that is not an open
//! directory is `ENOTDIR`. Each call resolves and acts under one hold of the file
//! system, so a concurrent rename or symlink swap cannot redirect it.
//!
//! A trailing slash makes a path name a directory: `ENOTDIR` for a file there,
//! `EISDIR` when creating a file by that name, `ENOENT` for a new symlink or hard
//! link by that name.

use crate::file::{Result, Stat};
use crate::{
    Errno, Fd, OpenOptions, Prepared, current_context, now, open_description, prepare_open,
};
use alloc::string::String;
use memfs::{MemFs, NodeId, NodeKind};

/// The node the open directory `dir` is bound to.
fn base(dir: Fd) -> Result<NodeId> {
    current_context()
        .file(dir)?
        .dir_node()
        .ok_or(Errno::ENOTDIR)
}

/// Opens `path` beneath directory `dir` and returns the lowest free descriptor. A symbolic
/// link as the last component is followed only if `follow` (creating through a dangling one
/// creates its target, beneath `dir` too); otherwise opening one is `ELOOP`
/// (as `O_NOFOLLOW`).
pub fn open_beneath(dir: Fd, path: &str, opts: OpenOptions, follow: bool) -> Result<Fd> {
    let writable = opts.write || opts.append;
    if !opts.read && !writable {
        return Err(Errno::EINVAL);
    }
    if opts.create && opts.directory {
        return Err(Errno::EINVAL);
    }
    let base = base(dir)?;
    let t = now();
    let found = |fs: &mut memfs::MemFs| -> Result<(NodeId, Prepared)> {
        let exclusive = opts.create && opts.exclusive;
        let node = match fs.lookup_beneath(base, path, follow && !exclusive) {
            Ok(_) if exclusive => return Err(Errno::EEXIST),
            Ok(node) => node,
            Err(Errno::ENOENT) if opts.create && follow => {
                // A dangling link as the last component: its target is created.
                let (parent, name) = fs.create_point_beneath(base, path)?;
                let file = fs.create_file_at(parent, &name, opts.mode, t)?;
                return Ok((file, Prepared::CREATED));
            }
            Err(Errno::ENOENT) if opts.create => {
                let at = fs.parent_beneath(base, path)?;
                let name = match at.name {
                    Some(name) if !at.dir_only => name,
                    _ => return Err(Errno::EISDIR),
                };
                let file = fs.create_file_at(at.parent, name, opts.mode, t)?;
                return Ok((file, Prepared::CREATED));
            }
            Err(e) => return Err(e),
        };
        if fs.metadata(node)?.kind == NodeKind::Symlink {
            return Err(Errno::ELOOP);
        }
        Ok((node, prepare_open(fs, node, opts, t)?))
    };
    let opened = rootfs::with(|fs| {
        let (node, prepared) = found(fs)?;
        open_description(fs, node, prepared, opts, None)
    })?;
    current_context().install(opened.finish(opts)?)
}

/// Metadata of `path` beneath `dir`; `follow`: follow a symbolic link in the last component.
pub fn stat_beneath(dir: Fd, path: &str, follow: bool) -> Result<Stat> {
    let base = base(dir)?;
    rootfs::with(|fs| {
        let node = fs.lookup_beneath(base, path, follow)?;
        Ok(Stat::from_metadata(fs.metadata(node)?, node))
    })
}

/// Creates directory `path` beneath `dir`.
pub fn mkdir_beneath(dir: Fd, path: &str, mode: u32) -> Result<()> {
    let base = base(dir)?;
    rootfs::with(|fs| {
        let at = fs.parent_beneath(base, path)?;
        let name = at.name.ok_or(Errno::EEXIST)?;
        fs.mkdir_at(at.parent, name, mode, now())?;
        Ok(())
    })
}

/// Removes the empty directory `path` beneath `dir` (`EINVAL` for a path ending in
/// `.` or `..`, the directory itself included).
pub fn rmdir_beneath(dir: Fd, path: &str) -> Result<()> {
    let base = base(dir)?;
    rootfs::with(|fs| {
        let at = fs.parent_beneath(base, path)?;
        let name = at.name.ok_or(Errno::EINVAL)?;
        fs.rmdir_at(at.parent, name, now())?;
        Ok(())
    })
}

/// Removes the file or symbolic link `path` beneath `dir`.
pub fn unlink_beneath(dir: Fd, path: &str) -> Result<()> {
    let base = base(dir)?;
    rootfs::with(|fs| {
        let at = fs.parent_beneath(base, path)?;
        let name = at.name.ok_or(Errno::EISDIR)?;
        if at.dir_only {
            let node = fs.lookup_beneath(at.parent, name, true)?;
            return Err(match fs.metadata(node)?.kind {
                NodeKind::Directory => Errno::EISDIR,
                _ => Errno::ENOTDIR,
            });
        }
        fs.unlink_at(at.parent, name, now())?;
        Ok(())
    })
}

/// POSIX `rename` of `from` beneath `from_dir` to `to` beneath `to_dir` (neither last
/// component followed). A trailing slash on either needs a directory to move; a path ending
/// in `.` or `..` is `EBUSY`.
pub fn rename_beneath(from_dir: Fd, from: &str, to_dir: Fd, to: &str) -> Result<()> {
    let (from_base, to_base) = (base(from_dir)?, base(to_dir)?);
    rootfs::with(|fs| {
        let src = fs.parent_beneath(from_base, from)?;
        let dst = fs.parent_beneath(to_base, to)?;
        let src_name = src.name.ok_or(Errno::EBUSY)?;
        let dst_name = dst.name.ok_or(Errno::EBUSY)?;
        if src.dir_only || dst.dir_only {
            let node = fs.lookup_beneath(src.parent, src_name, false)?;
            if fs.metadata(node)?.kind != NodeKind::Directory {
                return Err(Errno::ENOTDIR);
            }
        }
        fs.rename_at(src.parent, src_name, dst.parent, dst_name, now())?;
        Ok(())
    })
}

/// A hard link `to` beneath `to_dir` to the file or symbolic link `from` beneath `from_dir`
/// (`follow`: follow a link in the last component of `from`). A directory is
/// `EISDIR` (POSIX says `EPERM`).
pub fn link_beneath(from_dir: Fd, from: &str, follow: bool, to_dir: Fd, to: &str) -> Result<()> {
    let (from_base, to_base) = (base(from_dir)?, base(to_dir)?);
    rootfs::with(|fs| {
        let node = fs.lookup_beneath(from_base, from, follow)?;
        let (parent, name) = new_entry(fs, to_base, to)?;
        fs.link_at(node, parent, name, now())?;
        Ok(())
    })
}

/// Creates the symbolic link `path` beneath `dir` pointing to `target` (stored as given;
/// following it later is held to the same rules).
pub fn symlink_beneath(target: &str, dir: Fd, path: &str) -> Result<()> {
    let base = base(dir)?;
    rootfs::with(|fs| {
        let (parent, name) = new_entry(fs, base, path)?;
        fs.symlink_at(parent, name, target, now())?;
        Ok(())
    })
}

/// The directory and name of a new non-directory entry at `path`: `EEXIST` if the
/// path names something (or ends in `.`/`..`), `ENOENT` for a new name with a trailing
/// slash.
fn new_entry<'p>(fs: &MemFs, base: NodeId, path: &'p str) -> Result<(NodeId, &'p str)> {
    let at = fs.parent_beneath(base, path)?;
    let name = at.name.ok_or(Errno::EEXIST)?;
    if at.dir_only {
        return Err(match fs.lookup_beneath(at.parent, name, false) {
            Ok(_) => Errno::EEXIST,
            Err(_) => Errno::ENOENT,
        });
    }
    Ok((at.parent, name))
}

/// The target of the symbolic link `path` beneath `dir` (`EINVAL` if it is not one).
pub fn readlink_beneath(dir: Fd, path: &str) -> Result<String> {
    let base = base(dir)?;
    rootfs::with(|fs| {
        let node = fs.lookup_beneath(base, path, false)?;
        Ok(String::from(fs.readlink(node)?))
    })
}

/// Sets the access and/or modification time of `path` beneath `dir` (`None` leaves one);
/// `follow`: follow a symbolic link in the last component, else the link's own change.
pub fn set_times_beneath(
    dir: Fd,
    path: &str,
    follow: bool,
    accessed: Option<i64>,
    modified: Option<i64>,
) -> Result<()> {
    let base = base(dir)?;
    rootfs::with(|fs| {
        let node = fs.lookup_beneath(base, path, follow)?;
        fs.set_times(node, accessed, modified)?;
        let mask = crate::notify::times_mask(accessed, modified);
        crate::notify::report(fs, node, None, mask);
        Ok(())
    })
}
