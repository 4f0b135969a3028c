//! The pure part of `openat2`: its `struct open_how` checked as Linux checks it, and a path
//! walked one component at a time under the `RESOLVE_*` restrictions (`RESOLVE_BENEATH`,
//! `RESOLVE_IN_ROOT`, `RESOLVE_NO_SYMLINKS`, `RESOLVE_NO_MAGICLINKS`, `RESOLVE_NO_XDEV`,
//! `RESOLVE_CACHED`). The file system is seen through [`Lookup`]; host-tested.
//!
//! The walk gives the absolute path the open then uses, with every symbolic link resolved
//! except a last component that is not to be followed (`O_NOFOLLOW`).

use alloc::string::String;
use alloc::vec::Vec;
use errno::Errno;
use linux_raw_sys::general as g;

/// `struct open_how`'s first version: flags, mode, resolve (three `u64`).
pub const OPEN_HOW_SIZE_VER0: usize = 24;
/// The largest `struct open_how` a caller may pass (Linux: a page).
pub const OPEN_HOW_SIZE_MAX: usize = 4096;
/// Symbolic links followed at most in one walk (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

pub const RESOLVE_NO_XDEV: u64 = g::RESOLVE_NO_XDEV as u64;
pub const RESOLVE_NO_MAGICLINKS: u64 = g::RESOLVE_NO_MAGICLINKS as u64;
pub const RESOLVE_NO_SYMLINKS: u64 = g::RESOLVE_NO_SYMLINKS as u64;
pub const RESOLVE_BENEATH: u64 = g::RESOLVE_BENEATH as u64;
pub const RESOLVE_IN_ROOT: u64 = g::RESOLVE_IN_ROOT as u64;
pub const RESOLVE_CACHED: u64 = g::RESOLVE_CACHED as u64;
const VALID_RESOLVE: u64 = RESOLVE_NO_XDEV
    | RESOLVE_NO_MAGICLINKS
    | RESOLVE_NO_SYMLINKS
    | RESOLVE_BENEATH
    | RESOLVE_IN_ROOT
    | RESOLVE_CACHED;

/// Linux's `VALID_OPEN_FLAGS`: `openat2` refuses any other bit (`open` ignores them).
const VALID_OPEN_FLAGS: u64 = (g::O_RDONLY
    | g::O_WRONLY
    | g::O_RDWR
    | g::O_CREAT
    | g::O_EXCL
    | g::O_NOCTTY
    | g::O_TRUNC
    | g::O_APPEND
    | g::O_NONBLOCK
    | g::O_DSYNC
    | g::FASYNC
    | g::O_DIRECT
    | g::O_LARGEFILE
    | g::O_DIRECTORY
    | g::O_NOFOLLOW
    | g::O_NOATIME
    | g::O_CLOEXEC
    | g::O_PATH
    | g::__O_SYNC
    | g::__O_TMPFILE) as u64;
/// The flags that go with `O_PATH` (Linux's `O_PATH_FLAGS`).
const O_PATH_FLAGS: u64 = (g::O_DIRECTORY | g::O_NOFOLLOW | g::O_PATH | g::O_CLOEXEC) as u64;
/// `S_IALLUGO`: the mode bits a created file may be given.
const S_IALLUGO: u64 = 0o7777;

/// A checked `struct open_how`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenHow {
    pub flags: u32,
    pub mode: u32,
    pub resolve: u64,
}

/// Checks the `size` bytes of a `struct open_how` (`raw`, as many bytes as the caller
/// passed): smaller than version 0 is `EINVAL`, larger than a page or with a non-zero byte
/// past the fields this ABI knows is `E2BIG`; unknown flags or resolve bits, a mode without
/// `O_CREAT`/`O_TMPFILE` (or outside `07777`), flags beyond `O_PATH`'s with it, and
/// `RESOLVE_BENEATH` with `RESOLVE_IN_ROOT` are `EINVAL`.
pub fn open_how(raw: &[u8]) -> Result<OpenHow, Errno> {
    if raw.len() < OPEN_HOW_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if raw.len() > OPEN_HOW_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    if raw[OPEN_HOW_SIZE_VER0..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let field = |i: usize| u64::from_ne_bytes(raw[8 * i..8 * i + 8].try_into().unwrap());
    let (flags, mode, resolve) = (field(0), field(1), field(2));
    if flags & !VALID_OPEN_FLAGS != 0 || resolve & !VALID_RESOLVE != 0 {
        return Err(Errno::EINVAL);
    }
    let creating = flags & u64::from(g::O_CREAT) != 0
        || flags & u64::from(g::__O_TMPFILE) == u64::from(g::__O_TMPFILE);
    if (creating && mode & !S_IALLUGO != 0) || (!creating && mode != 0) {
        return Err(Errno::EINVAL);
    }
    if flags & u64::from(g::O_PATH) != 0 && flags & !O_PATH_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & RESOLVE_BENEATH != 0 && resolve & RESOLVE_IN_ROOT != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & RESOLVE_CACHED != 0
        && flags & u64::from(g::O_CREAT | g::O_TRUNC | g::__O_TMPFILE) != 0
    {
        // A cached lookup cannot create or truncate (Linux: try again without it).
        return Err(Errno::EAGAIN);
    }
    Ok(OpenHow {
        flags: flags as u32,
        mode: mode as u32,
        resolve,
    })
}

/// What the walk needs from the file system.
pub trait Lookup {
    /// The target of `path` if it is a symbolic link, `None` if it is something else;
    /// `Err` if it does not exist (or cannot be looked at).
    fn link_target(&self, path: &str) -> Result<Option<String>, Errno>;
    /// Whether `path` (which exists) is a directory.
    fn is_dir(&self, path: &str) -> bool;
    /// The mount point of the file system `path` lives on, for `RESOLVE_NO_XDEV`.
    fn mount(&self, path: &str) -> String;
    /// Whether the link at `path` is a "magic" one (`/proc`'s links to open files).
    fn is_magic(&self, path: &str) -> bool;
}

fn join(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = String> + '_ {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(String::from)
}

/// Walks `path` from the absolute directory `base` under `resolve`; `follow_last`: resolve
/// a symbolic link in the last component. Returns the absolute path to open (a trailing
/// slash kept, so the open still requires a directory).
///
/// `RESOLVE_BENEATH`: an absolute path, `..` above `base`, or a link that leads out is
/// `EXDEV`. `RESOLVE_IN_ROOT`: `base` is the root (absolute paths, absolute link targets and
/// `..` stay in it). `RESOLVE_NO_SYMLINKS`: any link on the way is `ELOOP` (a last component
/// that is not followed is left to the open); `RESOLVE_NO_MAGICLINKS` likewise for magic
/// links. `RESOLVE_NO_XDEV`: crossing into another file system is `EXDEV`. More than 40
/// links is `ELOOP`; a missing directory on the way is `ENOENT`, a file used as one
/// `ENOTDIR`.
pub fn walk(
    fs: &dyn Lookup,
    base: &str,
    path: &str,
    resolve: u64,
    follow_last: bool,
) -> Result<String, Errno> {
    let beneath = resolve & RESOLVE_BENEATH != 0;
    let in_root = resolve & RESOLVE_IN_ROOT != 0;
    let scoped = beneath || in_root;
    let root: Vec<String> = components(base).collect();
    let floor = if scoped { root.len() } else { 0 };
    let start_mount = fs.mount(base);
    let mut cur: Vec<String> = if path.starts_with('/') {
        if beneath {
            return Err(Errno::EXDEV);
        }
        if in_root { root.clone() } else { Vec::new() }
    } else {
        root.clone()
    };
    let trailing_slash = path.ends_with('/') && path.len() > 1;
    // Components still to walk, the next one last.
    let mut todo: Vec<String> = components(path).rev().collect();
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            if cur.len() <= floor {
                if beneath {
                    return Err(Errno::EXDEV);
                }
                // At the root (or the IN_ROOT root): `..` stays.
                continue;
            }
            cur.pop();
            continue;
        }
        cur.push(name);
        let here = join(&cur);
        let last = todo.is_empty();
        let target = match fs.link_target(&here) {
            Ok(t) => t,
            Err(e) if last => {
                if e == Errno::ENOENT {
                    break;
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if resolve & RESOLVE_NO_XDEV != 0 && fs.mount(&here) != start_mount {
            return Err(Errno::EXDEV);
        }
        let Some(target) = target else {
            if !last && !fs.is_dir(&here) {
                return Err(Errno::ENOTDIR);
            }
            continue;
        };
        if last && !follow_last && !trailing_slash {
            break;
        }
        let magic = fs.is_magic(&here);
        if resolve & RESOLVE_NO_SYMLINKS != 0 || (magic && resolve & RESOLVE_NO_MAGICLINKS != 0) {
            return Err(Errno::ELOOP);
        }
        if magic && scoped {
            // Linux refuses magic links under BENEATH and IN_ROOT (they could jump anywhere).
            return Err(Errno::EXDEV);
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(Errno::ELOOP);
        }
        cur.pop();
        if target.starts_with('/') {
            if beneath {
                return Err(Errno::EXDEV);
            }
            cur = if in_root { root.clone() } else { Vec::new() };
        }
        todo.extend(components(&target).rev());
    }
    let mut out = join(&cur);
    if trailing_slash && out != "/" {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;

    /// A little tree: directories, files and links, and a mount at /mnt.
    struct Tree(BTreeMap<&'static str, Option<&'static str>>);

    impl Tree {
        fn new() -> Tree {
            let mut t = BTreeMap::new();
            for d in [
                "/",
                "/a",
                "/a/b",
                "/mnt",
                "/mnt/x",
                "/proc",
                "/proc/self",
                "/proc/self/fd",
            ] {
                t.insert(d, None);
            }
            t.insert("/a/b/f", None);
            t.insert("/a/file", None);
            t.insert("/a/b/up", Some(".."));
            t.insert("/a/b/abs", Some("/a/file"));
            t.insert("/a/b/out", Some("../../etc"));
            t.insert("/a/b/loop", Some("loop"));
            t.insert("/proc/self/fd/3", Some("/a/file"));
            Tree(t)
        }
    }

    impl Lookup for Tree {
        fn link_target(&self, path: &str) -> Result<Option<String>, Errno> {
            match self.0.get(path) {
                Some(t) => Ok(t.map(|s| s.to_string())),
                None => Err(Errno::ENOENT),
            }
        }
        fn is_dir(&self, path: &str) -> bool {
            !path.contains("file") && !path.ends_with("/f")
        }
        fn mount(&self, path: &str) -> String {
            String::from(if path.starts_with("/mnt") {
                "/mnt"
            } else {
                "/"
            })
        }
        fn is_magic(&self, path: &str) -> bool {
            path.starts_with("/proc/")
        }
    }

    fn how(flags: u32, mode: u64, resolve: u64, extra: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&u64::from(flags).to_ne_bytes());
        v.extend_from_slice(&mode.to_ne_bytes());
        v.extend_from_slice(&resolve.to_ne_bytes());
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn open_how_checks() {
        let ok = open_how(&how(g::O_RDONLY, 0, RESOLVE_BENEATH, &[])).unwrap();
        assert_eq!(ok.resolve, RESOLVE_BENEATH);
        assert_eq!(open_how(&[0; 16]), Err(Errno::EINVAL));
        assert!(open_how(&how(0, 0, 0, &[0; 8])).is_ok());
        assert_eq!(open_how(&how(0, 0, 0, &[0, 1])), Err(Errno::E2BIG));
        assert_eq!(open_how(&[0; 4097]), Err(Errno::E2BIG));
        // A mode without O_CREAT, or a bad mode with it.
        assert_eq!(open_how(&how(0, 0o644, 0, &[])), Err(Errno::EINVAL));
        assert!(open_how(&how(g::O_CREAT, 0o644, 0, &[])).is_ok());
        assert_eq!(
            open_how(&how(g::O_CREAT, 0o10000, 0, &[])),
            Err(Errno::EINVAL)
        );
        // Unknown bits.
        assert_eq!(open_how(&how(1 << 30, 0, 0, &[])), Err(Errno::EINVAL));
        assert_eq!(open_how(&how(0, 0, 0x40, &[])), Err(Errno::EINVAL));
        assert_eq!(
            open_how(&how(0, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT, &[])),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            open_how(&how(g::O_PATH | g::O_RDWR, 0, 0, &[])),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            open_how(&how(g::O_CREAT, 0, RESOLVE_CACHED, &[])),
            Err(Errno::EAGAIN)
        );
    }

    #[test]
    fn walks() {
        let t = Tree::new();
        assert_eq!(walk(&t, "/a", "b/f", 0, true).unwrap(), "/a/b/f");
        assert_eq!(walk(&t, "/a", "b/new", 0, true).unwrap(), "/a/b/new");
        assert_eq!(walk(&t, "/a", "b/", 0, true).unwrap(), "/a/b/");
        assert_eq!(walk(&t, "/a", "nope/x", 0, true), Err(Errno::ENOENT));
        assert_eq!(walk(&t, "/a", "file/x", 0, true), Err(Errno::ENOTDIR));
        assert_eq!(walk(&t, "/a/b", "abs", 0, true).unwrap(), "/a/file");
        assert_eq!(walk(&t, "/a/b", "abs", 0, false).unwrap(), "/a/b/abs");
        assert_eq!(walk(&t, "/a/b", "up/file", 0, true).unwrap(), "/a/file");
        assert_eq!(walk(&t, "/", "../../a", 0, true).unwrap(), "/a");
        assert_eq!(walk(&t, "/a/b", "loop", 0, true), Err(Errno::ELOOP));
    }

    #[test]
    fn beneath_and_in_root() {
        let t = Tree::new();
        let b = RESOLVE_BENEATH;
        assert_eq!(walk(&t, "/a", "b/f", b, true).unwrap(), "/a/b/f");
        assert_eq!(walk(&t, "/a", "/a/file", b, true), Err(Errno::EXDEV));
        assert_eq!(walk(&t, "/a", "../a/file", b, true), Err(Errno::EXDEV));
        assert_eq!(walk(&t, "/a", "b/../file", b, true).unwrap(), "/a/file");
        assert_eq!(walk(&t, "/a/b", "abs", b, true), Err(Errno::EXDEV));
        assert_eq!(walk(&t, "/a/b", "up", b, true), Err(Errno::EXDEV));
        assert_eq!(walk(&t, "/a", "b/up/file", b, true).unwrap(), "/a/file");
        let r = RESOLVE_IN_ROOT;
        assert_eq!(walk(&t, "/a", "/b/f", r, true).unwrap(), "/a/b/f");
        assert_eq!(walk(&t, "/a", "../../b/f", r, true).unwrap(), "/a/b/f");
        // The absolute link is taken from the new root: /a + /a/file, and /a/a does not exist.
        assert_eq!(walk(&t, "/a", "b/abs", r, true), Err(Errno::ENOENT));
        assert_eq!(walk(&t, "/", "a/b/abs", r, true).unwrap(), "/a/file");
    }

    #[test]
    fn link_restrictions() {
        let t = Tree::new();
        assert_eq!(
            walk(&t, "/a/b", "abs", RESOLVE_NO_SYMLINKS, true),
            Err(Errno::ELOOP)
        );
        assert_eq!(
            walk(&t, "/a/b", "abs", RESOLVE_NO_SYMLINKS, false).unwrap(),
            "/a/b/abs"
        );
        assert_eq!(
            walk(&t, "/a", "b/up/b/f", RESOLVE_NO_SYMLINKS, true),
            Err(Errno::ELOOP)
        );
        let fd = "/proc/self/fd/3";
        assert_eq!(walk(&t, "/", fd, 0, true).unwrap(), "/a/file");
        assert_eq!(
            walk(&t, "/", fd, RESOLVE_NO_MAGICLINKS, true),
            Err(Errno::ELOOP)
        );
        assert_eq!(
            walk(&t, "/", "a/b/abs", RESOLVE_NO_MAGICLINKS, true).unwrap(),
            "/a/file"
        );
        assert_eq!(
            walk(&t, "/", "mnt/x", RESOLVE_NO_XDEV, true),
            Err(Errno::EXDEV)
        );
        assert_eq!(
            walk(&t, "/mnt", "x", RESOLVE_NO_XDEV, true).unwrap(),
            "/mnt/x"
        );
        assert_eq!(
            walk(&t, "/a", "b/f", RESOLVE_NO_XDEV, true).unwrap(),
            "/a/b/f"
        );
    }
}
