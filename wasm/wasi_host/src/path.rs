//! Sandboxed path resolution: a guest path, relative to a directory descriptor, resolved
//! lexically under that descriptor's preopened root. It may not leave the root: not with
//! `..`, not as an absolute path, not through a symbolic link (a link's target is resolved
//! the same way, relative to the link's directory; an absolute target or one climbing out is
//! `NOTCAPABLE`).

use crate::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// At most this many symbolic links are followed in one resolution (then `LOOP`).
pub const MAX_SYMLINKS: usize = 40;

/// Resolves `path` (a guest path) against `base` (components below the preopen `root`, the
/// directory the guest's descriptor names) and returns the host path under `root`.
///
/// `readlink(host_path)` returns the target if `host_path` is a symbolic link. Links in
/// intermediate components are always followed; the last one only if `follow_last`.
pub fn resolve(
    root: &str,
    base: &[String],
    path: &str,
    follow_last: bool,
    readlink: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Errno> {
    if path.is_empty() {
        return Err(Errno::NOENT);
    }
    if path.contains('\0') {
        return Err(Errno::INVAL);
    }
    if path.starts_with('/') {
        return Err(Errno::NOTCAPABLE);
    }
    let mut stack: Vec<String> = base.to_vec();
    // Components still to walk, in reverse order (pop from the end).
    let mut todo: Vec<String> = path.split('/').rev().map(String::from).collect();
    let mut links = 0;
    while let Some(comp) = todo.pop() {
        match comp.as_str() {
            "" | "." => continue,
            ".." => {
                stack.pop().ok_or(Errno::NOTCAPABLE)?;
                continue;
            }
            _ => {}
        }
        stack.push(comp);
        let is_last = todo.iter().all(|c| c.is_empty() || c == ".");
        if is_last && !follow_last {
            continue;
        }
        if let Some(target) = readlink(&join(root, &stack)) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::LOOP);
            }
            if target.starts_with('/') || target.is_empty() {
                return Err(Errno::NOTCAPABLE);
            }
            stack.pop();
            todo.extend(target.split('/').rev().map(String::from));
        }
    }
    Ok(join(root, &stack))
}

/// `root` followed by `components`, with `/` separators.
pub fn join(root: &str, components: &[String]) -> String {
    let mut out = String::from(root.trim_end_matches('/'));
    for c in components {
        out.push('/');
        out.push_str(c);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The components of `host` below `root` (`None` if `host` is not `root` or under it).
pub fn components_under(root: &str, host: &str) -> Option<Vec<String>> {
    let root = root.trim_end_matches('/');
    let rest = host.strip_prefix(root)?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    Some(
        rest.split('/')
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect(),
    )
}
