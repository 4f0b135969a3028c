//! Every `wasi_snapshot_preview1` function, listed once in [`preview1_functions!`]: its
//! parameters with their types and how [`WasiCtx`](crate::WasiCtx) implements it. From that
//! one table come the signature table here ([`FUNCTIONS`]) and an engine's linker glue
//! (`wasm_runner` links each row to the `WasiCtx` method of the same name).

/// The import module name.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// Calls `$callback! { ROWS }` with one row per preview1 function, in witx order. A row is
/// `KIND name(param: type, ...);` where the types are `u32`, `u64` or `i64` (core wasm `i32`
/// and `i64`) and KIND says what the `WasiCtx` method of that name takes besides the
/// parameters, in order: `mem` (the guest memory first), `ctx` (nothing) or, for
/// `proc_exit`, `exit` (no method: the engine ends the run with the code). Every function
/// returns an `errno` except `proc_exit`.
#[macro_export]
macro_rules! preview1_functions {
    ($callback:ident) => {
        $callback! {
            mem args_get(argv: u32, buf: u32);
            mem args_sizes_get(count: u32, size: u32);
            mem environ_get(environ: u32, buf: u32);
            mem environ_sizes_get(count: u32, size: u32);
            mem clock_res_get(id: u32, out: u32);
            mem clock_time_get(id: u32, precision: u64, out: u32);
            ctx fd_advise(fd: u32, offset: u64, len: u64, advice: u32);
            ctx fd_allocate(fd: u32, offset: u64, len: u64);
            ctx fd_close(fd: u32);
            ctx fd_datasync(fd: u32);
            mem fd_fdstat_get(fd: u32, out: u32);
            ctx fd_fdstat_set_flags(fd: u32, flags: u32);
            ctx fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64);
            mem fd_filestat_get(fd: u32, out: u32);
            ctx fd_filestat_set_size(fd: u32, size: u64);
            ctx fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, flags: u32);
            mem fd_pread(fd: u32, iovs: u32, n: u32, offset: u64, out: u32);
            mem fd_prestat_get(fd: u32, out: u32);
            mem fd_prestat_dir_name(fd: u32, path: u32, len: u32);
            mem fd_pwrite(fd: u32, iovs: u32, n: u32, offset: u64, out: u32);
            mem fd_read(fd: u32, iovs: u32, n: u32, out: u32);
            mem fd_readdir(fd: u32, buf: u32, len: u32, cookie: u64, out: u32);
            ctx fd_renumber(from: u32, to: u32);
            mem fd_seek(fd: u32, offset: i64, whence: u32, out: u32);
            ctx fd_sync(fd: u32);
            mem fd_tell(fd: u32, out: u32);
            mem fd_write(fd: u32, iovs: u32, n: u32, out: u32);
            mem path_create_directory(fd: u32, path: u32, len: u32);
            mem path_filestat_get(fd: u32, flags: u32, path: u32, len: u32, out: u32);
            mem path_filestat_set_times(
                fd: u32, flags: u32, path: u32, len: u32, atim: u64, mtim: u64, fst: u32
            );
            mem path_link(
                old_fd: u32, old_flags: u32, old_path: u32, old_len: u32, new_fd: u32,
                new_path: u32, new_len: u32
            );
            mem path_open(
                fd: u32, dirflags: u32, path: u32, len: u32, oflags: u32, base: u64,
                inheriting: u64, fdflags: u32, out: u32
            );
            mem path_readlink(fd: u32, path: u32, len: u32, buf: u32, buf_len: u32, out: u32);
            mem path_remove_directory(fd: u32, path: u32, len: u32);
            mem path_rename(
                old_fd: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32, new_len: u32
            );
            mem path_symlink(old_path: u32, old_len: u32, fd: u32, new_path: u32, new_len: u32);
            mem path_unlink_file(fd: u32, path: u32, len: u32);
            mem poll_oneoff(input: u32, out: u32, n: u32, nevents: u32);
            exit proc_exit(code: u32);
            ctx proc_raise(sig: u32);
            ctx sched_yield();
            mem random_get(buf: u32, len: u32);
            ctx sock_accept(fd: u32, flags: u32, out: u32);
            ctx sock_recv(fd: u32, iovs: u32, n: u32, flags: u32, len: u32, oflags: u32);
            ctx sock_send(fd: u32, iovs: u32, n: u32, flags: u32, len: u32);
            ctx sock_shutdown(fd: u32, how: u32);
        }
    };
}

/// A core wasm value type of a preview1 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    I32,
    I64,
}

/// One preview1 function.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    pub name: &'static str,
    pub params: &'static [Ty],
    /// `true`: returns an `errno` (`i32`); `false`: returns nothing (`proc_exit`).
    pub returns_errno: bool,
}

/// The core wasm type of a table type.
macro_rules! wasm_ty {
    (u32) => {
        Ty::I32
    };
    (u64) => {
        Ty::I64
    };
    (i64) => {
        Ty::I64
    };
}

/// Whether a row of this kind returns an `errno`: all but `exit`.
macro_rules! returns_errno {
    (exit) => {
        false
    };
    ($kind:ident) => {
        true
    };
}

macro_rules! signature_table {
    ($($kind:ident $name:ident($($param:ident: $ty:ident),* $(,)?);)*) => {
        /// All 46 preview1 functions, in witx order.
        pub const FUNCTIONS: &[Function] = &[$(Function {
            name: stringify!($name),
            params: &[$(wasm_ty!($ty)),*],
            returns_errno: returns_errno!($kind),
        }),*];
    };
}

preview1_functions!(signature_table);

/// The preview1 function called `name`.
pub fn find(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}
