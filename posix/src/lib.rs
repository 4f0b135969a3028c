//! `posix`: the Hermit `sys_*` C ABI that stock Rust `std` (built for
//! `targets/x86_64-theseus-hermit.json`, `os = "hermit"`) calls, implemented on libtheseus and
//! exported to loaded programs with `libtheseus::export_symbol!`.
//!
//! Programs run in the kernel's address space at its privilege level and call these functions
//! directly. Conventions are hermit-abi 0.5.2's: most calls return a negative errno on failure
//! (and also record it as the calling thread's errno, read by `sys_get_errno`). Null pointers
//! give `-EFAULT` (`-EINVAL` where hermit-abi documents it); lengths are trusted (same address
//! space, trusted Rust programs: a wrong length is the program's memory-safety bug, as in
//! Rust itself).
//!
//! | module | calls |
//! |---|---|
//! | [`abi`] | structs, constants, pure translation (host-tested) |
//! | `mem` | `sys_malloc`, `sys_realloc`, `sys_free` |
//! | `runtime` | `sys_exit`, `sys_abort`, `sys_get_errno`, `sys_available_parallelism`, `sys_clock_gettime`, `sys_read_entropy`, `sys_secure_rand32`, `sys_secure_rand64` |
//! | `thread` | `sys_spawn2`, `sys_join`, `sys_yield`, `sys_usleep`, `sys_futex_wait`, `sys_futex_wake` |
//! | `fd` | `sys_read`, `sys_write`, `sys_readv`, `sys_writev`, `sys_close`, `sys_dup`, `sys_lseek`, `sys_ioctl`, `sys_fcntl` |
//! | `fs` | `sys_open`, `sys_stat`, `sys_lstat`, `sys_fstat`, `sys_getdents64`, `sys_mkdir`, `sys_rmdir`, `sys_unlink` |
//! | `net` | sockets (all `-ENOSYS`: no network stack yet), `sys_getaddrinfo`, `sys_freeaddrinfo` |
//! | `poll` | `sys_poll`, `sys_eventfd` |
//! | [`posix_names`] | POSIX-named `mmap`, `munmap`, `mprotect`, `sigaction`, `sigaltstack`, `pthread_key_*`, `pthread_{get,set}specific`, `clock_gettime`, `getrandom` (POSIX returns: -1 and errno) |
//!
//! It also holds the Linux x86_64 system-call ABI (module `linux`, installed by [`init`]) for
//! programs that run in user mode: stock static musl binaries. Programs move there from the
//! Hermit ABI.
//!
//! Depends only on libtheseus and `linux-raw-sys` (and `ktest` for its in-kernel tests).

#![cfg_attr(not(test), no_std)]

pub mod abi;

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod edge;
#[cfg(target_os = "none")]
mod fd;
#[cfg(target_os = "none")]
mod fs;
#[cfg(target_os = "none")]
mod linux;
#[cfg(target_os = "none")]
mod mem;
#[cfg(target_os = "none")]
mod net;
#[cfg(target_os = "none")]
mod poll;
#[cfg(target_os = "none")]
pub mod posix_names;
#[cfg(target_os = "none")]
mod runtime;
#[cfg(target_os = "none")]
mod thread;

#[cfg(target_os = "none")]
mod tests;

/// Installs the Linux system-call handler for user-mode programs (see `linux`).
#[cfg(target_os = "none")]
pub fn init() {
    linux::init();
}

/// Every symbol stock `std` (and `mio`, `getrandom`) for Hermit needs from the kernel: an in-kernel test
/// checks that each is exported.
pub const REQUIRED: &[&str] = &[
    // memory
    "sys_malloc",
    "sys_realloc",
    "sys_free",
    // runtime
    "sys_exit",
    "sys_abort",
    "sys_get_errno",
    "sys_available_parallelism",
    // threads, time, random
    "sys_spawn2",
    "sys_join",
    "sys_yield",
    "sys_usleep",
    "sys_futex_wait",
    "sys_futex_wake",
    "sys_clock_gettime",
    "sys_read_entropy",
    // getrandom 0.4 (`rand`)
    "sys_secure_rand32",
    "sys_secure_rand64",
    // descriptors
    "sys_read",
    "sys_write",
    "sys_readv",
    "sys_writev",
    "sys_close",
    "sys_dup",
    "sys_lseek",
    "sys_ioctl",
    // files
    "sys_open",
    "sys_stat",
    "sys_lstat",
    "sys_fstat",
    "sys_getdents64",
    "sys_mkdir",
    "sys_rmdir",
    "sys_unlink",
    // network
    "sys_socket",
    "sys_bind",
    "sys_listen",
    "sys_accept",
    "sys_connect",
    "sys_recv",
    "sys_recvfrom",
    "sys_send",
    "sys_sendto",
    "sys_shutdown",
    "sys_getpeername",
    "sys_getsockname",
    "sys_getsockopt",
    "sys_setsockopt",
    "sys_getaddrinfo",
    "sys_freeaddrinfo",
    "sys_poll",
    // mio
    "sys_eventfd",
    "sys_fcntl",
];

/// The POSIX-named calls (module `posix_names`) for code that calls them directly (C, or the
/// `libc` crate): an in-kernel test checks that each is exported.
pub const POSIX_NAMES: &[&str] = &[
    "mmap",
    "munmap",
    "mprotect",
    "sigaction",
    "sigaltstack",
    "pthread_key_create",
    "pthread_key_delete",
    "pthread_getspecific",
    "pthread_setspecific",
    "clock_gettime",
    "getrandom",
];

#[cfg(test)]
mod host_tests {
    #[test]
    fn required_names_are_unique_sys_names() {
        let mut names = super::REQUIRED.to_vec();
        assert_eq!(names.len(), 52);
        assert!(names.iter().all(|n| n.starts_with("sys_")));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::REQUIRED.len());
    }

    #[test]
    fn posix_names_are_unique_and_not_sys_names() {
        let mut names = super::POSIX_NAMES.to_vec();
        assert!(names.iter().all(|n| !n.starts_with("sys_")));
        assert!(names.iter().all(|n| !super::REQUIRED.contains(n)));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::POSIX_NAMES.len());
    }
}
