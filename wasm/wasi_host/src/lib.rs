//! `wasi_host`: an engine-neutral WASI preview1 (`wasi_snapshot_preview1`) host over
//! libtheseus.
//!
//! An engine (see `wasm_runner`) links each preview1 import to a method of [`WasiCtx`],
//! passing the guest's linear memory as a [`GuestMemory`] (every pointer and length is
//! bounds-checked: a bad one is [`Errno::FAULT`], never a host fault) and returning the
//! [`Errno`] number. [`preview1_functions!`] lists all 46 preview1 functions once, with
//! their parameters; an engine generates its linker glue from it, and [`abi::FUNCTIONS`]
//! (the core wasm signatures) is generated from it too. All are implemented.
//!
//! Files: the guest sees descriptors 0, 1, 2 (the task's own stdio) and its preopened
//! directories from 3 ([`Preopen`]: a libtheseus descriptor open on the directory and the
//! guest's name for it). A directory descriptor is a capability bound to the directory it was
//! opened on: a path is resolved beneath that directory object by the VFS
//! (`fs::*_beneath`, see [`path`]), never through its name, so it does not leave it: not
//! through `..`, an absolute path or a symbolic link (`PERM`, as in wasmtime), and not after
//! the directory was renamed or its path replaced by a link.
//! Rights are kept per descriptor and checked for the calls below, narrowed at `path_open`
//! by the parent's inheriting rights.
//!
//! Implemented: all 46. `args_get`, `args_sizes_get`, `environ_get`, `environ_sizes_get`,
//! `clock_res_get`, `clock_time_get` (realtime and monotonic; the CPU-time clocks give
//! `NOTSUP`), `fd_write`, `fd_read`, `fd_pread`/`fd_pwrite` (positional, the offset does not
//! move; `SPIPE` on stdio), `fd_close`, `fd_seek`, `fd_tell`, `fd_renumber`, `fd_fdstat_get`,
//! `fd_fdstat_set_flags` (`APPEND`, `NONBLOCK`; the sync flags are `NOTSUP`),
//! `fd_fdstat_set_rights` (only dropping: `NOTCAPABLE` to add), `fd_filestat_get`,
//! `fd_filestat_set_size`, `fd_filestat_set_times` and `path_filestat_set_times` (`ATIM`,
//! `ATIM_NOW`, `MTIM`, `MTIM_NOW`; both forms for one time is `INVAL`; pipes and the
//! console have no times: `NOTSUP`), `fd_advise` (validated, then ignored), `fd_allocate`
//! (extends the file), `fd_sync`/`fd_datasync` (in-memory files: nothing to do),
//! `fd_prestat_get`, `fd_prestat_dir_name`, `fd_readdir` (`.` and `..` first, then the VFS's
//! entries), `path_open` (`creat`, `excl`, `trunc` (needs `PATH_FILESTAT_SET_SIZE`),
//! `directory` (`ISDIR` with `FD_WRITE`), `append`, `nonblock`; the sync flags are `NOTSUP`),
//! `path_create_directory`, `path_remove_directory`, `path_unlink_file`,
//! `path_filestat_get`, `path_rename`, `path_symlink` (an absolute target is `PERM`; a
//! relative one is stored as given and resolved, when followed, beneath the descriptor's
//! directory), `path_readlink`, `path_link` (hard links; `PERM` for a directory,
//! `SYMLINK_FOLLOW` is `INVAL` as in wasmtime), `poll_oneoff` (clock subscriptions,
//! relative or absolute on realtime/monotonic; `fd_read`/`fd_write` readiness of stdio and
//! files; a bad descriptor or clock is an event with its error; `INVAL` for no
//! subscriptions; the task sleeps until a deadline, checking descriptors every 1 ms),
//! `proc_exit` (the engine ends the run), `proc_raise` (`NOTSUP`: no signals are delivered
//! to a guest; 0 succeeds, above 30 is `INVAL`), `random_get`, `sched_yield`, and
//! `sock_accept`/`sock_recv`/`sock_send`/`sock_shutdown` (no sockets exist: `NOTSOCK` for
//! an open descriptor, `BADF` otherwise).
//!
//! Layout: `types` (witx numbers and struct layouts), `memory`, `path`, `abi`, `ctx`
//! (arguments, environment, descriptor table, preopens) and `run` (limits, checks before a
//! run, errors, backtrace lines: what both engines' runners share) are pure and host-tested;
//! `sys`, `fdops`, `pathops`, `poll` (the calls over libtheseus) and `guest` (the guest
//! task's stop and kill points and host calls, also shared by the runners) build only for
//! the kernel's target (`target_os = "none"`).

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod abi;
mod ctx;
#[cfg(target_os = "none")]
pub mod guest;
mod memory;
pub mod path;
pub mod run;
pub mod types;

#[cfg(target_os = "none")]
mod fdops;
#[cfg(target_os = "none")]
mod pathops;
#[cfg(target_os = "none")]
mod poll;
#[cfg(target_os = "none")]
mod sys;

#[cfg(test)]
mod tests;

pub use ctx::{MAX_FDS, Preopen, WasiCtx};
pub use memory::{GuestMemory, IOV_MAX, PATH_MAX};
pub use types::Errno;

/// How a host call ends the guest's run: `proc_exit(code)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcExit(pub u32);

/// The `errno` result an engine returns to the guest.
pub fn errno_result(r: Result<(), Errno>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => i32::from(e.0),
    }
}
