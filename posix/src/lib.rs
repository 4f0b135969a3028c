//! `posix`: the Linux x86_64 system-call ABI for programs that run in user mode (stock static
//! musl binaries, Rust's `x86_64-unknown-linux-musl` and the project's
//! `x86_64-theseus-linux-musl`), implemented on libtheseus.
//!
//! [`init`] installs the system-call handler (module `linux`: one table from number to
//! handler; see its documentation for the calls and their choices). [`abi`] holds the pure
//! translations (open flags, modes, `dirent64` records, poll events), [`net_abi`] those of
//! the socket calls (socket arguments, `struct sockaddr`, option values, control messages),
//! [`caps_abi`] the capability sets of `capget`/`capset`, [`resolve`] `openat2`'s
//! `struct open_how` and `RESOLVE_*` path walk, [`mq_abi`] the message-queue calls' names,
//! attributes and `struct sigevent`, [`syscall_restart`] which interrupted calls a signal
//! makes again; all host-tested.
//!
//! Depends only on libtheseus, `linux-raw-sys` (Linux constants and structs) and `log`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod abi;
pub mod caps_abi;
pub mod mq_abi;
pub mod net_abi;
pub mod netlink_abi;
pub mod resolve;
pub mod syscall_restart;

#[cfg(target_os = "none")]
mod linux;

/// Installs the Linux system-call handler for user-mode programs.
#[cfg(target_os = "none")]
pub fn init() {
    linux::init();
}
