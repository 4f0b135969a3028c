//! `libtheseus`: the platform layer between the kernel and everything above it.
//!
//! `posix/`, `wasm/` and `ports/` depend on this crate only, never on kernel crates. It is a
//! safe, documented facade over the kernel's subsystems with its own small types (no kernel
//! type appears in its API):
//!
//! | module | what | over |
//! |---|---|---|
//! | [`mmap`] | anonymous memory regions: reserve, map, commit, protect, unmap by handle or by address | `memory::Mapping` |
//! | [`signal`] | per-thread CPU fault handlers that may resume elsewhere, alternate stacks | `task::set_fault_handler` |
//! | [`tls`] | thread-local keys with destructors, the thread pointer | `task::TlsKey` |
//! | [`backtrace`] | capture and symbolize call stacks (own or of a fault [`signal::Context`]) | `backtrace` |
//! | [`epoll`] | epoll instances: interest lists and waits on descriptors' readiness | `vfs` |
//! | [`fs`] | files, descriptors, directories, stdio, cwd with [`Errno`] errors | `vfs` |
//! | [`iovec`] | vectored reads and writes: one transfer, one rule for partial results | — |
//! | [`net`] | sockets on the loopback network: TCP/UDP-like IPv4 and IPv6, Unix domain | `socket` |
//! | [`thread`] | spawn, join, yield, sleep, exit, ids | `task` |
//! | [`futex`] | wait on / wake an `AtomicU32` | `task` |
//! | [`time`] | monotonic and realtime clocks, [`time::Timespec`] | `time` |
//! | [`random`] | RDSEED/RDRAND, or a ChaCha20 generator seeded from TSC jitter and the RTC | CPU, `rand_chacha` |
//! | [`env`] | per-process arguments and environment variables | `vfs::ProcessContext` |
//! | [`message_queue`] | descriptors that read whole messages a layer above queued (netlink answers) | `vfs` |
//! | [`mqueue`] | POSIX message queues: named, with priorities, blocking sends and receives, one notification | `vfs`, `task` |
//! | [`pidfd`] | process descriptors: readable when the process ends | `task`, `vfs` |
//! | [`job_control`] | signals between processes, process groups, the console's foreground group | `process`, `vfs` |
//! | [`terminal`] | the console's terminal settings (`termios`) and window size | `vfs`, `tty` |
//! | [`sync`] | `Mutex` and `Once` that yield while contended | `spin` |
//! | [`identity`] | what the system calls itself (`uname`'s fields) | `procfs` |
//! | [`usermode`] | user-mode programs: system-call handler, saved registers, checked access to their memory | `usermode`, `memory` |
//!
//! Errors are [`Errno`] values with POSIX (Linux) numbers, so a POSIX layer passes them on
//! unchanged. "Thread" here is a kernel task; "process" is the set of tasks sharing one
//! `vfs` process context (descriptors, cwd, arguments, environment).

#![no_std]

extern crate alloc;

pub mod backtrace;
pub mod env;
pub mod epoll;
mod errno;
mod eventfd;
pub mod fs;
pub mod futex;
pub mod inotify;
pub mod iovec;
pub mod job_control;
pub mod layer_file;
pub mod message_queue;
pub mod mmap;
pub mod mqueue;
pub mod net;
pub mod pidfd;
pub mod process;
pub mod random;
pub mod signal;
pub mod sync;
pub mod terminal;
pub mod thread;
pub mod time;
pub mod timerfd;
pub mod tls;
pub mod usermode;

mod tests;

pub use errno::{Errno, Result};
/// What the system calls itself: `uname`'s fields, the same `/proc/sys/kernel` shows.
pub use procfs::identity;
pub use thread::exit;
