//! Resource limits: what `getrlimit` reports and `/proc/PID/limits` lists, from the bounds
//! the kernel really has (the main stack's size, the descriptor table's size); everything
//! else is unlimited. Setting a limit is accepted and changes nothing (see `posix`).

/// No limit (`RLIM_INFINITY`).
pub const UNLIMITED: u64 = u64::MAX;

/// One limit, as Linux names it in `/proc/PID/limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub soft: u64,
    pub hard: u64,
    /// `seconds`, `bytes`, ... or empty.
    pub unit: &'static str,
}

const fn unlimited(name: &'static str, unit: &'static str) -> Limit {
    Limit {
        name,
        soft: UNLIMITED,
        hard: UNLIMITED,
        unit,
    }
}

/// Every limit, indexed by Linux's `RLIMIT_*` number.
pub const LIMITS: [Limit; 16] = [
    unlimited("Max cpu time", "seconds"),
    unlimited("Max file size", "bytes"),
    unlimited("Max data size", "bytes"),
    Limit {
        name: "Max stack size",
        soft: crate::linux::STACK_SIZE,
        hard: UNLIMITED,
        unit: "bytes",
    },
    Limit {
        name: "Max core file size",
        soft: 0,
        hard: UNLIMITED,
        unit: "bytes",
    },
    unlimited("Max resident set", "bytes"),
    unlimited("Max processes", "processes"),
    Limit {
        name: "Max open files",
        soft: vfs::MAX_FDS as u64,
        hard: vfs::MAX_FDS as u64,
        unit: "files",
    },
    unlimited("Max locked memory", "bytes"),
    unlimited("Max address space", "bytes"),
    unlimited("Max file locks", "locks"),
    unlimited("Max pending signals", "signals"),
    unlimited("Max msgqueue size", "bytes"),
    unlimited("Max nice priority", ""),
    unlimited("Max realtime priority", ""),
    unlimited("Max realtime timeout", "us"),
];

/// `(soft, hard)` of limit `resource` (`RLIMIT_*`), `None` for an unknown number.
pub fn limit(resource: u32) -> Option<(u64, u64)> {
    LIMITS.get(resource as usize).map(|l| (l.soft, l.hard))
}
