//! Sockets: there is no network stack yet, so every socket call fails with `-ENOSYS`
//! (std turns it into an `io::Error` "Function not implemented"), name lookup fails with
//! `EAI_FAIL` (std: "failed to lookup address information") and `sys_freeaddrinfo` has
//! nothing to free. Signatures are hermit-abi's (pointers are never dereferenced, except the
//! result slot of `sys_getaddrinfo`, which is set to null).

use crate::abi::{self, addrinfo, sockaddr, socklen_t};
use crate::edge::{self, err};
use core::ffi::c_char;

fn unsupported() -> i32 {
    edge::set_errno(err(abi::ENOSYS));
    -abi::ENOSYS
}

pub(crate) extern "C" fn sys_socket(_domain: i32, _ty: i32, _protocol: i32) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_bind(_s: i32, _name: *const sockaddr, _len: socklen_t) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_listen(_s: i32, _backlog: i32) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_accept(_s: i32, _addr: *mut sockaddr, _len: *mut socklen_t) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_connect(_s: i32, _name: *const sockaddr, _len: socklen_t) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_recv(_s: i32, _buf: *mut u8, _len: usize, _flags: i32) -> isize {
    unsupported() as isize
}

pub(crate) extern "C" fn sys_recvfrom(
    _s: i32,
    _buf: *mut u8,
    _len: usize,
    _flags: i32,
    _addr: *mut sockaddr,
    _addrlen: *mut socklen_t,
) -> isize {
    unsupported() as isize
}

pub(crate) extern "C" fn sys_send(_s: i32, _mem: *const u8, _len: usize, _flags: i32) -> isize {
    unsupported() as isize
}

pub(crate) extern "C" fn sys_sendto(
    _s: i32,
    _mem: *const u8,
    _len: usize,
    _flags: i32,
    _to: *const sockaddr,
    _tolen: socklen_t,
) -> isize {
    unsupported() as isize
}

pub(crate) extern "C" fn sys_shutdown(_s: i32, _how: i32) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_getpeername(
    _s: i32,
    _name: *mut sockaddr,
    _len: *mut socklen_t,
) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_getsockname(
    _s: i32,
    _name: *mut sockaddr,
    _len: *mut socklen_t,
) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_getsockopt(
    _s: i32,
    _level: i32,
    _optname: i32,
    _optval: *mut u8,
    _optlen: *mut socklen_t,
) -> i32 {
    unsupported()
}

pub(crate) extern "C" fn sys_setsockopt(
    _s: i32,
    _level: i32,
    _optname: i32,
    _optval: *const u8,
    _optlen: socklen_t,
) -> i32 {
    unsupported()
}

/// Fails with `EAI_FAIL` (a positive `EAI_*` code, not an errno); a non-null `res` is set
/// to null so a caller that frees it anyway frees nothing.
///
/// # Safety
/// A non-null `res` must be writable for a pointer.
pub(crate) unsafe extern "C" fn sys_getaddrinfo(
    _nodename: *const c_char,
    _servname: *const c_char,
    _hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> i32 {
    if !res.is_null() {
        // SAFETY: the caller's contract (null and misalignment are refused by write_out).
        let _ = unsafe { edge::write_out(res, core::ptr::null_mut()) };
    }
    abi::EAI_FAIL
}

/// Nothing to free: `sys_getaddrinfo` never returns a list.
pub(crate) extern "C" fn sys_freeaddrinfo(_ai: *mut addrinfo) {}

libtheseus::export_symbol!(
    sys_socket,
    sys_bind,
    sys_listen,
    sys_accept,
    sys_connect,
    sys_recv,
    sys_recvfrom,
    sys_send,
    sys_sendto,
    sys_shutdown,
    sys_getpeername,
    sys_getsockname,
    sys_getsockopt,
    sys_setsockopt,
    sys_getaddrinfo,
    sys_freeaddrinfo,
);
