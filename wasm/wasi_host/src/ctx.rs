//! [`WasiCtx`]: one guest's WASI state (arguments, environment, descriptor table with its
//! preopened directories) and the calls that need no operating system (arguments,
//! environment, preopen queries). The calls over libtheseus are in `sys.rs`.

// Parts used only by `sys` (the kernel's target) look dead in host builds.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

use crate::types::{preopentype, rights};
use crate::{Errno, GuestMemory};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// At most this many guest descriptors are open at once (then `MFILE`).
pub const MAX_FDS: usize = 1024;

/// A directory of the host given to the guest under a name (`--dir HOST::GUEST`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preopen {
    /// A libtheseus descriptor open on the directory (`OpenOptions::directory`), owned by the
    /// context from then on. The guest's access is bound to that directory, not to its path.
    pub dir: u32,
    /// The name the guest sees (`fd_prestat_dir_name`), such as `/data` or `.`.
    pub guest: String,
}

/// What a guest descriptor refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The task's own stdio descriptor 0, 1 or 2 (never closed by the guest's `fd_close`).
    Stdio(u32),
    /// A libtheseus descriptor this context owns.
    File { fd: u32 },
    /// A directory: a libtheseus descriptor open on it, which this context owns. Paths are
    /// resolved beneath that directory object (`fs::*_beneath`), never by its name.
    Dir {
        fd: u32,
        /// The guest name, for a preopened directory.
        preopen: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) kind: Kind,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
    /// The `fdflags` the guest set (`APPEND`, `NONBLOCK`), as `fd_fdstat_get` reports them.
    pub(crate) flags: u16,
}

/// One guest's WASI state. Descriptors 0, 1, 2 are the task's stdio; preopens follow from 3.
#[derive(Debug)]
pub struct WasiCtx {
    args: Vec<String>,
    env: Vec<String>,
    pub(crate) fds: BTreeMap<u32, Entry>,
    /// Descriptors freed by `fd_close`/`fd_renumber`, most recent last: reused first, as
    /// wasmtime does (programs such as yosys depend on which number a new file gets).
    freed: Vec<u32>,
    /// The lowest descriptor never handed out.
    next: u32,
}

impl WasiCtx {
    /// A context with `args` (`argv`, program name first), `env` (`(name, value)` pairs)
    /// and `preopens` (on descriptors 3, 4, ... in order).
    pub fn new(args: Vec<String>, env: Vec<(String, String)>, preopens: Vec<Preopen>) -> Self {
        let mut fds = BTreeMap::new();
        for fd in 0..3 {
            fds.insert(
                fd,
                Entry {
                    kind: Kind::Stdio(fd),
                    rights_base: rights::FILE & !rights::FD_SEEK & !rights::FD_TELL,
                    rights_inheriting: 0,
                    flags: 0,
                },
            );
        }
        for (i, p) in preopens.into_iter().enumerate() {
            fds.insert(
                3 + i as u32,
                Entry {
                    kind: Kind::Dir {
                        fd: p.dir,
                        preopen: Some(p.guest),
                    },
                    rights_base: rights::DIRECTORY,
                    rights_inheriting: rights::DIRECTORY | rights::FILE,
                    flags: 0,
                },
            );
        }
        let next = fds.keys().next_back().map_or(0, |&fd| fd + 1);
        WasiCtx {
            args,
            env: env.into_iter().map(|(k, v)| k + "=" + &v).collect(),
            fds,
            freed: Vec::new(),
            next,
        }
    }

    pub(crate) fn entry(&self, fd: u32) -> Result<&Entry, Errno> {
        self.fds.get(&fd).ok_or(Errno::BADF)
    }

    /// Inserts `entry` on the most recently freed descriptor, else on a new one.
    pub(crate) fn insert(&mut self, entry: Entry) -> Result<u32, Errno> {
        if self.fds.len() >= MAX_FDS {
            return Err(Errno::MFILE);
        }
        let fd = loop {
            match self.freed.pop() {
                Some(fd) if !self.fds.contains_key(&fd) => break fd,
                Some(_) => continue,
                None => {
                    let fd = self.next;
                    self.next += 1;
                    break fd;
                }
            }
        };
        self.fds.insert(fd, entry);
        Ok(fd)
    }

    /// Removes descriptor `fd`, remembering its number for reuse.
    pub(crate) fn remove(&mut self, fd: u32) -> Option<Entry> {
        let e = self.fds.remove(&fd)?;
        self.freed.push(fd);
        Some(e)
    }

    /// The libtheseus descriptor of directory descriptor `fd` (`NOTDIR` for other
    /// descriptors), after checking it has `right`.
    pub(crate) fn dir(&self, fd: u32, right: u64) -> Result<u32, Errno> {
        let e = self.entry(fd)?;
        match &e.kind {
            Kind::Dir { fd, .. } => {
                if e.rights_base & right != right {
                    return Err(Errno::NOTCAPABLE);
                }
                Ok(*fd)
            }
            _ => Err(Errno::NOTDIR),
        }
    }

    // ---- arguments and environment -----------------------------------------------------

    /// `args_sizes_get`: the count and the buffer size (NUL-terminated strings).
    pub fn args_sizes_get(
        &self,
        mem: &mut dyn GuestMemory,
        argc: u32,
        size: u32,
    ) -> Result<(), Errno> {
        sizes_get(&self.args, mem, argc, size)
    }

    /// `args_get`: the pointer array at `argv`, the strings at `buf`.
    pub fn args_get(&self, mem: &mut dyn GuestMemory, argv: u32, buf: u32) -> Result<(), Errno> {
        strings_get(&self.args, mem, argv, buf)
    }

    /// `environ_sizes_get`.
    pub fn environ_sizes_get(
        &self,
        mem: &mut dyn GuestMemory,
        count: u32,
        size: u32,
    ) -> Result<(), Errno> {
        sizes_get(&self.env, mem, count, size)
    }

    /// `environ_get`: `NAME=value` strings.
    pub fn environ_get(
        &self,
        mem: &mut dyn GuestMemory,
        environ: u32,
        buf: u32,
    ) -> Result<(), Errno> {
        strings_get(&self.env, mem, environ, buf)
    }

    // ---- preopens ------------------------------------------------------------------------

    /// `fd_prestat_get`: tag `dir` and the name's length (`BADF` for a descriptor that is
    /// not a preopen: how wasi-libc finds the end of the list).
    pub fn fd_prestat_get(
        &self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        out: u32,
    ) -> Result<(), Errno> {
        let name = self.preopen_name(fd)?;
        let mut b = [0u8; 8];
        b[0] = preopentype::DIR;
        b[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
        mem.write(out, &b)
    }

    /// `fd_prestat_dir_name`: the guest name of a preopen, not NUL-terminated (`NAMETOOLONG`
    /// if `len` is too small).
    pub fn fd_prestat_dir_name(
        &self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        ptr: u32,
        len: u32,
    ) -> Result<(), Errno> {
        let name = self.preopen_name(fd)?;
        if (len as usize) < name.len() {
            return Err(Errno::NAMETOOLONG);
        }
        mem.write(ptr, name.as_bytes())
    }

    fn preopen_name(&self, fd: u32) -> Result<&str, Errno> {
        match &self.entry(fd)?.kind {
            Kind::Dir {
                preopen: Some(name),
                ..
            } => Ok(name),
            _ => Err(Errno::BADF),
        }
    }
}

fn sizes_get(
    strings: &[String],
    mem: &mut dyn GuestMemory,
    count: u32,
    size: u32,
) -> Result<(), Errno> {
    let bytes: usize = strings.iter().map(|s| s.len() + 1).sum();
    mem.write_u32(count, strings.len() as u32)?;
    mem.write_u32(size, u32::try_from(bytes).map_err(|_| Errno::TOOBIG)?)
}

fn strings_get(
    strings: &[String],
    mem: &mut dyn GuestMemory,
    ptrs: u32,
    buf: u32,
) -> Result<(), Errno> {
    let mut at = buf;
    for (i, s) in strings.iter().enumerate() {
        let slot = ptrs.checked_add(4 * i as u32).ok_or(Errno::FAULT)?;
        mem.write_u32(slot, at)?;
        mem.write(at, s.as_bytes())?;
        let end = at.checked_add(s.len() as u32).ok_or(Errno::FAULT)?;
        mem.write_u8(end, 0)?;
        at = end.checked_add(1).ok_or(Errno::FAULT)?;
    }
    Ok(())
}
