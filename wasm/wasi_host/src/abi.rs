//! Every `wasi_snapshot_preview1` function with its core wasm signature and whether this
//! host implements it, so an engine can link all of them (unimplemented ones return
//! [`Errno::NOSYS`](crate::Errno::NOSYS)) and a module importing any of them instantiates.

/// The import module name.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// A core wasm value type of a preview1 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    I32,
    I64,
}

use Ty::{I32, I64};

/// One preview1 function.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    pub name: &'static str,
    pub params: &'static [Ty],
    /// `true`: returns an `errno` (`i32`); `false`: returns nothing (`proc_exit`).
    pub returns_errno: bool,
    /// Implemented by [`WasiCtx`](crate::WasiCtx); the others return `NOSYS`.
    pub implemented: bool,
}

const fn f(name: &'static str, params: &'static [Ty], implemented: bool) -> Function {
    Function {
        name,
        params,
        returns_errno: true,
        implemented,
    }
}

/// All 46 preview1 functions, in witx order.
pub const FUNCTIONS: &[Function] = &[
    f("args_get", &[I32, I32], true),
    f("args_sizes_get", &[I32, I32], true),
    f("environ_get", &[I32, I32], true),
    f("environ_sizes_get", &[I32, I32], true),
    f("clock_res_get", &[I32, I32], true),
    f("clock_time_get", &[I32, I64, I32], true),
    f("fd_advise", &[I32, I64, I64, I32], true),
    f("fd_allocate", &[I32, I64, I64], true),
    f("fd_close", &[I32], true),
    f("fd_datasync", &[I32], true),
    f("fd_fdstat_get", &[I32, I32], true),
    f("fd_fdstat_set_flags", &[I32, I32], true),
    f("fd_fdstat_set_rights", &[I32, I64, I64], true),
    f("fd_filestat_get", &[I32, I32], true),
    f("fd_filestat_set_size", &[I32, I64], true),
    f("fd_filestat_set_times", &[I32, I64, I64, I32], true),
    f("fd_pread", &[I32, I32, I32, I64, I32], true),
    f("fd_prestat_get", &[I32, I32], true),
    f("fd_prestat_dir_name", &[I32, I32, I32], true),
    f("fd_pwrite", &[I32, I32, I32, I64, I32], true),
    f("fd_read", &[I32, I32, I32, I32], true),
    f("fd_readdir", &[I32, I32, I32, I64, I32], true),
    f("fd_renumber", &[I32, I32], true),
    f("fd_seek", &[I32, I64, I32, I32], true),
    f("fd_sync", &[I32], true),
    f("fd_tell", &[I32, I32], true),
    f("fd_write", &[I32, I32, I32, I32], true),
    f("path_create_directory", &[I32, I32, I32], true),
    f("path_filestat_get", &[I32, I32, I32, I32, I32], true),
    f(
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
        true,
    ),
    f("path_link", &[I32, I32, I32, I32, I32, I32, I32], true),
    f(
        "path_open",
        &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
        true,
    ),
    f("path_readlink", &[I32, I32, I32, I32, I32, I32], true),
    f("path_remove_directory", &[I32, I32, I32], true),
    f("path_rename", &[I32, I32, I32, I32, I32, I32], true),
    f("path_symlink", &[I32, I32, I32, I32, I32], true),
    f("path_unlink_file", &[I32, I32, I32], true),
    f("poll_oneoff", &[I32, I32, I32, I32], true),
    Function {
        name: "proc_exit",
        params: &[I32],
        returns_errno: false,
        implemented: true,
    },
    f("proc_raise", &[I32], true),
    f("sched_yield", &[], true),
    f("random_get", &[I32, I32], true),
    f("sock_accept", &[I32, I32, I32], true),
    f("sock_recv", &[I32, I32, I32, I32, I32, I32], true),
    f("sock_send", &[I32, I32, I32, I32, I32], true),
    f("sock_shutdown", &[I32, I32], true),
];

/// The preview1 function called `name`.
pub fn find(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}
