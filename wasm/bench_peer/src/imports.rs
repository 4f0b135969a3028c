//! The preview1 functions both engines' linkers define the same way (`proc_exit` is each
//! engine's own): one list, so the two engines cannot drift apart.

/// Defines the calls of [`crate::wasi::Wasi`] on `$linker` (of either engine; `$caller` its
/// caller type), each with `?`. The expansion site provides `WASI` (the module name) and
/// `with_memory` (the caller's memory and WASI state).
#[macro_export]
macro_rules! define_preview1 {
    ($linker:expr, $caller:ty) => {
        $linker.func_wrap(WASI, "args_sizes_get", |mut c: $caller, a: i32, b: i32| {
            with_memory(&mut c, |w, m| w.args_sizes_get(m, a, b))
        })?;
        $linker.func_wrap(WASI, "args_get", |mut c: $caller, a: i32, b: i32| {
            with_memory(&mut c, |w, m| w.args_get(m, a, b))
        })?;
        $linker.func_wrap(
            WASI,
            "environ_sizes_get",
            |mut c: $caller, a: i32, b: i32| {
                with_memory(&mut c, |w, m| w.environ_sizes_get(m, a, b))
            },
        )?;
        $linker.func_wrap(WASI, "environ_get", |mut c: $caller, a: i32, b: i32| {
            with_memory(&mut c, |w, m| w.environ_get(m, a, b))
        })?;
        $linker.func_wrap(
            WASI,
            "clock_time_get",
            |mut c: $caller, id: i32, p: i64, out: i32| {
                with_memory(&mut c, |w, m| w.clock_time_get(m, id, p, out))
            },
        )?;
        $linker.func_wrap(
            WASI,
            "fd_fdstat_get",
            |mut c: $caller, fd: i32, out: i32| {
                with_memory(&mut c, |w, m| w.fd_fdstat_get(m, fd, out))
            },
        )?;
        $linker.func_wrap(
            WASI,
            "fd_write",
            |mut c: $caller, fd: i32, iovs: i32, len: i32, out: i32| {
                with_memory(&mut c, |w, m| w.fd_write(m, fd, iovs, len, out))
            },
        )?;
        $linker.func_wrap(
            WASI,
            "fd_filestat_get",
            |mut c: $caller, fd: i32, out: i32| {
                with_memory(&mut c, |w, m| w.fd_filestat_get(m, fd, out))
            },
        )?;
        $linker.func_wrap(WASI, "fd_close", |c: $caller, fd: i32| {
            c.data().fd_close(fd)
        })?;
        $linker.func_wrap(WASI, "fd_prestat_get", |c: $caller, _fd: i32, _out: i32| {
            c.data().no_directory()
        })?;
        $linker.func_wrap(
            WASI,
            "fd_prestat_dir_name",
            |c: $caller, _fd: i32, _buf: i32, _len: i32| c.data().no_directory(),
        )?;
        $linker.func_wrap(
            WASI,
            "fd_readdir",
            |c: $caller, _fd: i32, _buf: i32, _len: i32, _cookie: i64, _out: i32| {
                c.data().no_directory()
            },
        )?;
        $linker.func_wrap(
            WASI,
            "path_open",
            |c: $caller,
             _fd: i32,
             _flags: i32,
             _path: i32,
             _len: i32,
             _oflags: i32,
             _base: i64,
             _inh: i64,
             _fdflags: i32,
             _out: i32| { c.data().no_directory() },
        )?;
        $linker.func_wrap(
            WASI,
            "path_filestat_get",
            |c: $caller, _fd: i32, _flags: i32, _path: i32, _len: i32, _out: i32| {
                c.data().no_directory()
            },
        )?;
        $linker.func_wrap(
            WASI,
            "fd_read",
            |mut c: $caller, fd: i32, iovs: i32, len: i32, out: i32| {
                with_memory(&mut c, |w, m| w.fd_read(m, fd, iovs, len, out))
            },
        )?;
        $linker.func_wrap(WASI, "random_get", |mut c: $caller, buf: i32, len: i32| {
            with_memory(&mut c, |w, m| w.random_get(m, buf, len))
        })?;
    };
}
