//! Socket calls over `libtheseus::net` (the kernel's loopback network): `socket`,
//! `socketpair`, `bind`, `listen`, `accept`/`accept4`, `connect`, `getsockname`,
//! `getpeername`, `sendto`/`recvfrom`, `sendmsg`/`recvmsg`, `sendmmsg`/`recvmmsg`,
//! `shutdown`, `setsockopt`, `getsockopt`. `read`, `write`, `readv`, `writev`, `close`, `fcntl`, `ioctl(FIONBIO)`,
//! `poll` and epoll work on socket descriptors through the VFS (module `fs`).
//!
//! Addresses are decoded and encoded by [`crate::net_abi`]; every user pointer is checked
//! (`EFAULT`), and an address or buffer is checked before a connection is taken or data is
//! consumed, so a bad pointer loses nothing. Choices:
//! - ancillary data: `sendmsg` takes `UDP_SEGMENT` (the datagram goes out cut into
//!   segments, as GSO delivers it to a receiver); any other control message is `EINVAL`
//!   (descriptor passing and credentials are not implemented). `recvmsg` of a UDP datagram
//!   gives what the socket's options ask: `IP_PKTINFO`, `IP_TTL`, `IP_ORIGDSTADDR`,
//!   `IPV6_PKTINFO`, `IPV6_HOPLIMIT`, `IPV6_ORIGDSTADDR` (cut with `MSG_CTRUNC` if the buffer
//!   is short).
//! - `MSG_PEEK`, `MSG_WAITALL`, `MSG_DONTWAIT`, `MSG_TRUNC` and `MSG_NOSIGNAL` work;
//!   `MSG_MORE`, `MSG_EOR`, `MSG_CONFIRM` and `MSG_DONTROUTE` change nothing; `MSG_OOB` is
//!   `EOPNOTSUPP` (sending) or `EINVAL` (receiving: there is never urgent data);
//!   `MSG_ERRQUEUE` finds nothing (`EAGAIN`).
//! - `EPIPE` also sends `SIGPIPE` unless `MSG_NOSIGNAL`.
//! - Options with an effect: `SO_REUSEADDR`, `SO_REUSEPORT`, `SO_LINGER` (0: close resets),
//!   `SO_RCVTIMEO`, `SO_SNDTIMEO`, `UDP_SEGMENT`, and the ones that ask for control
//!   messages (above). Read-only: `SO_TYPE`, `SO_PROTOCOL`, `SO_DOMAIN`,
//!   `SO_ACCEPTCONN`, `SO_ERROR`, `SO_PEERCRED`, `TCP_INFO`. Options that change nothing on a
//!   loopback network (`TCP_NODELAY`, `SO_KEEPALIVE`, `SO_BROADCAST`, buffer sizes, `IP_TTL`,
//!   `IPV6_V6ONLY`, keep-alive timings...) are accepted, stored and reported back, with
//!   Linux's defaults before they are set; unknown options are `ENOPROTOOPT`, options of
//!   another protocol's level too, and any level but `SOL_SOCKET` on a Unix socket is
//!   `EOPNOTSUPP`.

use super::fs::{iovecs, set_cloexec};
use super::netlink;
use super::state;
use crate::net_abi::{self as abi, Addr, UnixName};
use alloc::vec;
use alloc::vec::Vec;
use libtheseus::iovec;
use libtheseus::net::{self, Direction, Family, Info, SocketAddr, SocketType, UnixAddr};
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result};
use linux_raw_sys::general as g;
use linux_raw_sys::net as n;

/// Largest single send or receive (bounds the kernel buffer).
const IO_CHUNK: usize = 1 << 20;
/// Largest option value kept (`TCP_CONGESTION` names, multicast requests...).
const OPTION_MAX: usize = 256;
/// The most control-message bytes a `sendmsg` may pass (Linux's `optmem_max`).
const CONTROL_MAX: usize = 20480;

fn fd(v: u64) -> Result<u32> {
    u32::try_from(v as i64).map_err(|_| Errno::EBADF)
}

fn abi_family(f: Family) -> abi::Family {
    match f {
        Family::Inet => abi::Family::Inet,
        Family::Inet6 => abi::Family::Inet6,
        Family::Unix => abi::Family::Unix,
    }
}

/// `Some(address)`, or `None` for `AF_UNSPEC`.
fn to_socket_addr(a: Addr<'_>) -> Option<SocketAddr> {
    Some(match a {
        Addr::Unspec => return None,
        Addr::V4 { ip, port } => SocketAddr::V4 { ip, port },
        Addr::V6 {
            ip,
            port,
            flowinfo,
            scope_id,
        } => SocketAddr::V6 {
            ip,
            port,
            flowinfo,
            scope_id,
        },
        Addr::Unix(UnixName::Unnamed) => SocketAddr::Unix(UnixAddr::Unnamed),
        Addr::Unix(UnixName::Path(p)) => SocketAddr::Unix(UnixAddr::Path(p.to_vec())),
        Addr::Unix(UnixName::Abstract(a)) => SocketAddr::Unix(UnixAddr::Abstract(a.to_vec())),
    })
}

fn to_abi_addr(a: &SocketAddr) -> Addr<'_> {
    match a {
        SocketAddr::V4 { ip, port } => Addr::V4 {
            ip: *ip,
            port: *port,
        },
        SocketAddr::V6 {
            ip,
            port,
            flowinfo,
            scope_id,
        } => Addr::V6 {
            ip: *ip,
            port: *port,
            flowinfo: *flowinfo,
            scope_id: *scope_id,
        },
        SocketAddr::Unix(UnixAddr::Unnamed) => Addr::Unix(UnixName::Unnamed),
        SocketAddr::Unix(UnixAddr::Path(p)) => Addr::Unix(UnixName::Path(p)),
        SocketAddr::Unix(UnixAddr::Abstract(a)) => Addr::Unix(UnixName::Abstract(a)),
    }
}

/// The address the caller passed at `addr` (`len` bytes) to a socket of `family`
/// (`None`: `AF_UNSPEC`).
fn read_addr(addr: u64, len: u64, family: Family) -> Result<Option<SocketAddr>> {
    let len = usize::try_from(len as u32 as i32).map_err(|_| Errno::EINVAL)?;
    if len > abi::SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; len];
    usermode::read(addr, &mut bytes)?;
    let decoded = abi::decode_addr(&bytes, abi_family(family))?;
    Ok(to_socket_addr(decoded))
}

/// The caller's address buffer: `(addr, capacity)` after checking that the length at
/// `len_ptr` is readable and non-negative and the buffer writable; `None` if `addr` is NULL.
fn addr_buffer(addr: u64, len_ptr: u64) -> Result<Option<(u64, usize)>> {
    if addr == 0 {
        return Ok(None);
    }
    let len: i32 = usermode::read_value(len_ptr)?;
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    usermode::check(len_ptr, 4, true)?;
    usermode::check(addr, len.min(abi::SOCKADDR_MAX), true)?;
    Ok(Some((addr, len)))
}

/// Stores `a` (`None`: no address, length 0) in a buffer from [`addr_buffer`], as Linux does:
/// the bytes that fit, and the full length at `len_ptr`.
fn write_addr(buf: Option<(u64, usize)>, len_ptr: u64, a: Option<&SocketAddr>) -> Result<()> {
    let Some((addr, cap)) = buf else {
        return Ok(());
    };
    let mut out = [0u8; abi::SOCKADDR_MAX];
    let full = a.map_or(0, |a| abi::encode_addr(&to_abi_addr(a), &mut out));
    usermode::write(addr, &out[..full.min(cap)])?;
    usermode::write_value(len_ptr, &(full as i32))
}

/// A send's result: `EPIPE` also sends the thread `SIGPIPE`, unless `MSG_NOSIGNAL`.
fn sent(r: Result<usize>, flags: u32) -> Result<u64> {
    if r == Err(Errno::EPIPE) && flags & n::MSG_NOSIGNAL == 0 {
        super::signal::send(libtheseus::thread::current_id().as_u64(), g::SIGPIPE);
    }
    r.map(|n| n as u64)
}

// ---- creating, naming, connecting -----------------------------------------------------------

fn lib_family(f: abi::Family) -> Family {
    match f {
        abi::Family::Inet => Family::Inet,
        abi::Family::Inet6 => Family::Inet6,
        abi::Family::Unix => Family::Unix,
    }
}

fn lib_type(t: abi::Type) -> SocketType {
    match t {
        abi::Type::Stream => SocketType::Stream,
        abi::Type::Datagram => SocketType::Datagram,
    }
}

pub fn socket(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    if a[0] as u32 == n::AF_NETLINK {
        let ty = a[1] as u32;
        let new = netlink::socket(ty & 0xf, a[2] as u32, ty & abi::SOCK_NONBLOCK != 0)?;
        set_cloexec(new, ty & abi::SOCK_CLOEXEC != 0);
        return Ok(u64::from(new));
    }
    let spec = abi::decode_socket(a[0] as u32, a[1] as u32, a[2] as u32)?;
    let new = net::socket(lib_family(spec.family), lib_type(spec.ty), spec.nonblocking)?;
    set_cloexec(new, spec.cloexec);
    Ok(u64::from(new))
}

pub fn socketpair(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (domain, ty) = (a[0] as u32, a[1] as u32);
    if domain == n::AF_INET || domain == n::AF_INET6 {
        abi::split_type(ty)?;
        return Err(Errno::EOPNOTSUPP);
    }
    let spec = abi::decode_socket(domain, ty, a[2] as u32)?;
    usermode::check(a[3], 8, true)?;
    let (x, y) = net::socketpair(lib_type(spec.ty), spec.nonblocking)?;
    set_cloexec(x, spec.cloexec);
    set_cloexec(y, spec.cloexec);
    usermode::write_value(a[3], &[x as i32, y as i32])?;
    Ok(0)
}

pub fn bind(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    if netlink::port(f).is_some() {
        let mut raw = [0u8; 12];
        let len = (a[2] as usize).min(raw.len());
        usermode::read(a[1], &mut raw[..len])?;
        return netlink::check_bind(&raw[..len]).map(|_| 0);
    }
    let info = net::info(f)?;
    let Some(addr) = read_addr(a[1], a[2], info.family)? else {
        return Err(if info.family == Family::Unix {
            Errno::EINVAL
        } else {
            Errno::EAFNOSUPPORT
        });
    };
    net::bind(f, &addr).map(|_| 0)
}

pub fn listen(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    // A negative backlog is a huge one (Linux compares it as unsigned): the maximum.
    let backlog = u32::try_from(a[1] as u32 as i32).unwrap_or(u32::MAX);
    net::listen(fd(a[0])?, backlog).map(|_| 0)
}

pub fn accept(r: &mut Registers, a: [u64; 6]) -> Result<u64> {
    accept4(r, [a[0], a[1], a[2], 0, 0, 0])
}

pub fn accept4(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let flags = a[3] as u32;
    if flags & !(abi::SOCK_NONBLOCK | abi::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    net::info(f)?;
    // Checked before a connection is taken, so a bad pointer does not lose it.
    let buf = addr_buffer(a[1], a[2])?;
    let (new, peer) = net::accept(f, flags & abi::SOCK_NONBLOCK != 0)?;
    if let Err(e) = write_addr(buf, a[2], Some(&peer)) {
        let _ = libtheseus::fs::close(new);
        return Err(e);
    }
    set_cloexec(new, flags & abi::SOCK_CLOEXEC != 0);
    Ok(u64::from(new))
}

pub fn connect(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let info = net::info(f)?;
    match read_addr(a[1], a[2], info.family)? {
        Some(addr) => match net::connect(f, &addr) {
            // A blocking TCP connect that timed out (SO_SNDTIMEO) goes on in the background
            // on Linux; a non-blocking one never waits here.
            Err(Errno::EAGAIN) if info.family != Family::Unix => Err(Errno::EINPROGRESS),
            r => r.map(|_| 0),
        },
        None if info.family == Family::Unix && info.socket_type == SocketType::Stream => {
            Err(Errno::EINVAL)
        }
        None => net::disconnect(f).map(|_| 0),
    }
}

pub fn getsockname(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    if let Some(port) = netlink::port(f) {
        return write_netlink_addr(a[1], a[2], port).map(|_| 0);
    }
    let local = net::local_addr(f)?;
    let buf = addr_buffer(a[1], a[2])?.ok_or(Errno::EFAULT)?;
    write_addr(Some(buf), a[2], Some(&local)).map(|_| 0)
}

pub fn getpeername(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let peer = net::peer_addr(f)?;
    let buf = addr_buffer(a[1], a[2])?.ok_or(Errno::EFAULT)?;
    write_addr(Some(buf), a[2], Some(&peer)).map(|_| 0)
}

pub fn shutdown(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let how = match a[1] as u32 {
        n::SHUT_RD => net::Shutdown::Read,
        n::SHUT_WR => net::Shutdown::Write,
        n::SHUT_RDWR => net::Shutdown::Both,
        _ => return Err(Errno::EINVAL),
    };
    net::shutdown(fd(a[0])?, how).map(|_| 0)
}

// ---- data -----------------------------------------------------------------------------------

/// Sends `data` on `f` with `flags`, to `dest` (user address and length; 0: none); a UDP
/// datagram carries `header` (TTL or hop limit, TOS or class, mark), or the socket's.
fn send_common(
    f: u32,
    info: &Info,
    data: &[u8],
    flags: u32,
    dest: (u64, u64),
    header: Option<net::Header>,
) -> Result<u64> {
    if flags & n::MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    // TCP ignores a destination; everything else is told.
    let to = if dest.0 != 0
        && !(info.socket_type == SocketType::Stream && info.family != Family::Unix)
    {
        read_addr(dest.0, dest.1, info.family)?
    } else {
        None
    };
    let dont_wait = flags & n::MSG_DONTWAIT != 0;
    let r = if info.socket_type == SocketType::Datagram && info.family != Family::Unix {
        let header = header.unwrap_or_else(|| header_of(f, info));
        net::send_with_header(f, data, to.as_ref(), dont_wait, header)
    } else {
        net::send(f, data, to.as_ref(), dont_wait)
    };
    sent(r, flags)
}

pub fn sendto(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let mut data = vec![0u8; (a[2] as usize).min(IO_CHUNK)];
    usermode::read(a[1], &mut data)?;
    if netlink::port(f).is_some() {
        return netlink::send(f, &data).map(|n| n as u64);
    }
    let info = net::info(f)?;
    let udp = info.socket_type == SocketType::Datagram && info.family != Family::Unix;
    let segment = if udp {
        option_int(f, abi::IPPROTO_UDP, UDP_SEGMENT).unwrap_or(0) as usize
    } else {
        0
    };
    send_segmented(f, &info, &data, a[3] as u32, (a[4], a[5]), None, segment)
}

/// Writes a `sockaddr_nl` of `port` to the caller's address buffer `(addr, len_ptr)`, cut to
/// its size, and the full length to `*len_ptr`.
fn write_netlink_addr(addr: u64, len_ptr: u64, port: u32) -> Result<()> {
    let Some((buf, cap)) = addr_buffer(addr, len_ptr)? else {
        return Ok(());
    };
    let raw = netlink::address(port);
    usermode::write(buf, &raw[..raw.len().min(cap)])?;
    usermode::write_value(len_ptr, &(raw.len() as u32))
}

/// A receive on a netlink socket: one queued answer datagram, cut to `len` bytes. Returns the
/// bytes and the value to return (the full length with `MSG_TRUNC`).
fn netlink_recv(f: u32, len: usize, flags: u32) -> Result<(Vec<u8>, usize, u64)> {
    let mut data =
        libtheseus::message_queue::pop(f, flags & n::MSG_PEEK != 0, flags & n::MSG_DONTWAIT != 0)?;
    let full = data.len();
    data.truncate(len);
    let ret = if flags & n::MSG_TRUNC != 0 {
        full
    } else {
        data.len()
    };
    Ok((data, full, ret as u64))
}

/// Receives on `f` into a buffer of `len` bytes: (what came, bytes, the value to return).
fn recv_common(
    f: u32,
    info: &Info,
    len: usize,
    flags: u32,
) -> Result<(net::Received, Vec<u8>, u64)> {
    if flags & n::MSG_OOB != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & n::MSG_ERRQUEUE != 0 {
        return Err(Errno::EAGAIN);
    }
    let mut data = vec![0u8; len.min(IO_CHUNK)];
    let how = net::RecvFlags {
        peek: flags & n::MSG_PEEK != 0,
        wait_all: flags & n::MSG_WAITALL != 0,
        dont_wait: flags & n::MSG_DONTWAIT != 0,
    };
    let got = net::recv(f, &mut data, how)?;
    data.truncate(got.len);
    // MSG_TRUNC: a datagram's real length.
    let ret = if flags & n::MSG_TRUNC != 0 && info.socket_type == SocketType::Datagram {
        got.full_len
    } else {
        got.len
    };
    Ok((got, data, ret as u64))
}

pub fn recvfrom(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    if netlink::port(f).is_some() {
        let (buf, len) = (a[1], a[2] as usize);
        usermode::check(buf, len.min(IO_CHUNK), true)?;
        let (data, _, ret) = netlink_recv(f, len, a[3] as u32)?;
        usermode::write(buf, &data)?;
        // The sender is the kernel, port 0.
        write_netlink_addr(a[4], a[5], 0)?;
        return Ok(ret);
    }
    let info = net::info(f)?;
    let (buf, len) = (a[1], a[2] as usize);
    usermode::check(buf, len.min(IO_CHUNK), true)?;
    let addr = addr_buffer(a[4], a[5])?;
    let (got, data, ret) = recv_common(f, &info, len, a[3] as u32)?;
    usermode::write(buf, &data)?;
    write_addr(addr, a[5], got.from.as_ref())?;
    Ok(ret)
}

/// `struct msghdr` fields (x86_64 layout of `linux-raw-sys`).
struct MsgHdr {
    name: u64,
    namelen: i32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
}

const MSGHDR_SIZE: usize = core::mem::size_of::<n::msghdr>();

fn read_msghdr(addr: u64) -> Result<MsgHdr> {
    use core::mem::offset_of;
    let mut b = [0u8; MSGHDR_SIZE];
    usermode::read(addr, &mut b)?;
    let u64_at = |at: usize| u64::from_ne_bytes(b[at..at + 8].try_into().unwrap());
    let i32_at = |at: usize| i32::from_ne_bytes(b[at..at + 4].try_into().unwrap());
    Ok(MsgHdr {
        name: u64_at(offset_of!(n::msghdr, msg_name)),
        namelen: i32_at(offset_of!(n::msghdr, msg_namelen)),
        iov: u64_at(offset_of!(n::msghdr, msg_iov)),
        iovlen: u64_at(offset_of!(n::msghdr, msg_iovlen)),
        control: u64_at(offset_of!(n::msghdr, msg_control)),
        controllen: u64_at(offset_of!(n::msghdr, msg_controllen)),
    })
}

fn msg_iovecs(m: &MsgHdr) -> Result<Vec<(u64, usize)>> {
    if m.iovlen > 1024 {
        return Err(Errno::EMSGSIZE);
    }
    iovecs(m.iov, m.iovlen)
}

pub fn sendmsg(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    sendmsg_at(fd(a[0])?, a[1], a[2] as u32)
}

/// Whether an option stored as an int is set (non-zero) on `f`.
fn option_on(f: u32, level: i32, name: u32) -> bool {
    option_int(f, level, name).is_some_and(|v| v != 0)
}

/// An int option stored on `f` (`None`: not set).
fn option_int(f: u32, level: i32, name: u32) -> Option<i32> {
    net::stored_option(f, level, name as i32)
        .ok()
        .flatten()
        .and_then(|v| Some(i32::from_ne_bytes(v.get(..4)?.try_into().ok()?)))
}

/// What a UDP datagram carries: the socket's TTL or hop limit and TOS or traffic class
/// (`IP_TTL`, `IP_TOS`, `IPV6_UNICAST_HOPS`, `IPV6_TCLASS`; -1 is the default), and its
/// `SO_MARK`.
fn header_of(f: u32, info: &Info) -> net::Header {
    let (hops, class) = if info.family == Family::Inet6 {
        (
            option_int(f, abi::IPPROTO_IPV6, n::IPV6_UNICAST_HOPS),
            option_int(f, abi::IPPROTO_IPV6, n::IPV6_TCLASS),
        )
    } else {
        (
            option_int(f, abi::IPPROTO_IP, n::IP_TTL),
            option_int(f, abi::IPPROTO_IP, n::IP_TOS),
        )
    };
    let byte = |v: Option<i32>, default: u8| match v {
        Some(v @ 0..=255) => v as u8,
        _ => default,
    };
    net::Header {
        hop_limit: byte(hops, 64),
        traffic_class: byte(class, 0),
        mark: option_int(f, SOL_SOCKET, n::SO_MARK).unwrap_or(0) as u32,
    }
}

/// What a `sendmsg`'s control messages ask for.
struct SendControl {
    /// UDP segment size (0: none).
    segment: usize,
    /// What the datagram carries: TTL or hop limit, TOS or traffic class, mark.
    header: net::Header,
}

/// An int control message's value (`EINVAL` unless it is one int), or with `byte_ok` also
/// one byte (`IP_TOS`), checked to be in `range`.
fn cmsg_int(data: &[u8], byte_ok: bool, range: core::ops::RangeInclusive<i32>) -> Result<i32> {
    let v = match data.len() {
        4 => i32::from_ne_bytes(data.try_into().unwrap()),
        1 if byte_ok => i32::from(data[0]),
        _ => return Err(Errno::EINVAL),
    };
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(Errno::EINVAL)
    }
}

/// Reads a `sendmsg`'s control messages, as Linux's `ip_cmsg_send`/`ip6_datagram_send_ctl`
/// read them: `UDP_SEGMENT` (UDP); `IP_TTL`, `IP_TOS`, `IP_PKTINFO` (IPv4);
/// `IPV6_HOPLIMIT`, `IPV6_TCLASS`, `IPV6_PKTINFO` (IPv6). The TTL or hop limit and the class
/// go in the datagram's header; a packet-info message is checked for its size (loopback
/// sends from the bound address whatever source it names). Credentials and descriptors
/// (`SCM_*`) are ignored on IP sockets, as Linux does; other messages of these levels are
/// `EINVAL`, messages of other levels are skipped. On a Unix socket any control message is
/// `EINVAL` (descriptor passing and credentials are not implemented).
fn send_control(f: u32, info: &Info, m: &MsgHdr) -> Result<SendControl> {
    let udp = info.socket_type == SocketType::Datagram && info.family != Family::Unix;
    let mut out = SendControl {
        segment: if udp {
            option_int(f, abi::IPPROTO_UDP, UDP_SEGMENT).unwrap_or(0) as usize
        } else {
            0
        },
        header: header_of(f, info),
    };
    if m.controllen < core::mem::size_of::<n::cmsghdr>() as u64 {
        return Ok(out);
    }
    let len = usize::try_from(m.controllen).map_err(|_| Errno::ENOBUFS)?;
    if len > CONTROL_MAX {
        return Err(Errno::ENOBUFS);
    }
    let mut control = vec![0u8; len];
    usermode::read(m.control, &mut control)?;
    let cmsgs = abi::parse_cmsgs(&control)?;
    if info.family == Family::Unix && !cmsgs.is_empty() {
        return Err(Errno::EINVAL);
    }
    let v6 = info.family == Family::Inet6;
    for c in cmsgs {
        let d = &c.data;
        match (c.level, c.kind as u32) {
            (SOL_SOCKET, SCM_RIGHTS | SCM_CREDENTIALS) => {}
            (SOL_SOCKET, n::SO_MARK) => {
                out.header.mark =
                    u32::from_ne_bytes(d.as_slice().try_into().map_err(|_| Errno::EINVAL)?);
            }
            (SOL_SOCKET, _) => return Err(Errno::EINVAL),
            (abi::IPPROTO_UDP, UDP_SEGMENT) if udp => {
                if d.len() != 2 {
                    return Err(Errno::EINVAL);
                }
                out.segment = usize::from(u16::from_ne_bytes([d[0], d[1]]));
            }
            (abi::IPPROTO_UDP, _) if udp => return Err(Errno::EINVAL),
            (abi::IPPROTO_IP, kind) if !v6 => match kind {
                n::IP_TTL => out.header.hop_limit = cmsg_int(d, false, 1..=255)? as u8,
                n::IP_TOS => out.header.traffic_class = cmsg_int(d, true, 0..=255)? as u8,
                // struct in_pktinfo: interface, local address, destination.
                n::IP_PKTINFO if d.len() == 12 => {}
                _ => return Err(Errno::EINVAL),
            },
            (abi::IPPROTO_IPV6, kind) if v6 => match kind {
                n::IPV6_HOPLIMIT => {
                    let v = cmsg_int(d, false, -1..=255)?;
                    out.header.hop_limit = if v < 0 { 64 } else { v as u8 };
                }
                n::IPV6_TCLASS => {
                    let v = cmsg_int(d, false, -1..=255)?;
                    out.header.traffic_class = if v < 0 { 0 } else { v as u8 };
                }
                // struct in6_pktinfo: address, interface.
                n::IPV6_PKTINFO if d.len() == 20 => {}
                _ => return Err(Errno::EINVAL),
            },
            _ => {}
        }
    }
    Ok(out)
}

/// One `sendmsg` of the `struct msghdr` at `hdr`.
fn sendmsg_at(f: u32, hdr: u64, flags: u32) -> Result<u64> {
    if netlink::port(f).is_some() {
        let m = read_msghdr(hdr)?;
        let data = iovec::gather(&msg_iovecs(&m)?, IO_CHUNK, usermode::read)?;
        return netlink::send(f, &data).map(|n| n as u64);
    }
    let info = net::info(f)?;
    let m = read_msghdr(hdr)?;
    let control = send_control(f, &info, &m)?;
    let data = iovec::gather(&msg_iovecs(&m)?, IO_CHUNK, usermode::read)?;
    let dest = if m.name != 0 && m.namelen != 0 {
        (m.name, m.namelen as u32 as u64)
    } else {
        (0, 0)
    };
    let header = Some(control.header);
    send_segmented(f, &info, &data, flags, dest, header, control.segment)
}

/// [`send_common`], with UDP segmentation when `segment` is not 0: the buffer goes out as
/// datagrams of `segment` bytes (the last shorter), as Linux's GSO delivers them to a
/// receiver without `UDP_GRO`.
fn send_segmented(
    f: u32,
    info: &Info,
    data: &[u8],
    flags: u32,
    dest: (u64, u64),
    header: Option<net::Header>,
    segment: usize,
) -> Result<u64> {
    if segment == 0 {
        return send_common(f, info, data, flags, dest, header);
    }
    let mut at = 0;
    for len in abi::udp_segments(data.len(), segment)? {
        send_common(f, info, &data[at..at + len], flags, dest, header)?;
        at += len;
    }
    Ok(data.len() as u64)
}

pub fn recvmsg(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    recvmsg_at(fd(a[0])?, a[1], a[2] as u32)
}

/// The control messages a received datagram brings, as the socket's options ask (in Linux's
/// order): `IP_PKTINFO`, `IP_TTL` (`IP_RECVTTL`), `IP_TOS` (`IP_RECVTOS`), `IP_ORIGDSTADDR`
/// on IPv4 sockets; `IPV6_PKTINFO`, `IPV6_HOPLIMIT`, `IPV6_TCLASS`, `IPV6_ORIGDSTADDR` on
/// IPv6 sockets. TTL and class are what the sender's header carried (a loopback datagram
/// crosses no router); the interface is the loopback's.
fn received_cmsgs(f: u32, info: &Info, got: &net::Received) -> Vec<abi::Cmsg> {
    const LOOPBACK_INDEX: u32 = 1;
    let mut out = Vec::new();
    if info.socket_type != SocketType::Datagram {
        return out;
    }
    socket_cmsgs(f, got, &mut out);
    if info.family == Family::Unix {
        return out;
    }
    let Some(to) = &got.to else {
        return out;
    };
    let mut push = |level: i32, kind: u32, data: Vec<u8>| {
        out.push(abi::Cmsg {
            level,
            kind: kind as i32,
            data,
        });
    };
    let encoded = |a: &SocketAddr| {
        let mut raw = [0u8; abi::SOCKADDR_MAX];
        let len = abi::encode_addr(&to_abi_addr(a), &mut raw);
        raw[..len].to_vec()
    };
    match (info.family, to) {
        (Family::Inet, SocketAddr::V4 { ip, .. }) => {
            let ip_on = |name| option_on(f, abi::IPPROTO_IP, name);
            if ip_on(n::IP_PKTINFO) {
                // struct in_pktinfo: interface, local address, header destination.
                let mut d = LOOPBACK_INDEX.to_ne_bytes().to_vec();
                d.extend_from_slice(ip);
                d.extend_from_slice(ip);
                push(abi::IPPROTO_IP, n::IP_PKTINFO, d);
            }
            if ip_on(n::IP_RECVTTL) {
                let ttl = i32::from(got.hop_limit);
                push(abi::IPPROTO_IP, n::IP_TTL, ttl.to_ne_bytes().to_vec());
            }
            if ip_on(n::IP_RECVTOS) {
                push(abi::IPPROTO_IP, n::IP_TOS, vec![got.traffic_class]);
            }
            if ip_on(n::IP_RECVORIGDSTADDR) {
                push(abi::IPPROTO_IP, n::IP_ORIGDSTADDR, encoded(to));
            }
        }
        (Family::Inet6, SocketAddr::V6 { ip, .. }) => {
            let ip6_on = |name| option_on(f, abi::IPPROTO_IPV6, name);
            if ip6_on(n::IPV6_RECVPKTINFO) {
                // struct in6_pktinfo: address, interface.
                let mut d = ip.to_vec();
                d.extend_from_slice(&LOOPBACK_INDEX.to_ne_bytes());
                push(abi::IPPROTO_IPV6, n::IPV6_PKTINFO, d);
            }
            if ip6_on(n::IPV6_RECVHOPLIMIT) {
                let hops = i32::from(got.hop_limit);
                push(
                    abi::IPPROTO_IPV6,
                    n::IPV6_HOPLIMIT,
                    hops.to_ne_bytes().to_vec(),
                );
            }
            if ip6_on(n::IPV6_RECVTCLASS) {
                let class = i32::from(got.traffic_class);
                push(
                    abi::IPPROTO_IPV6,
                    n::IPV6_TCLASS,
                    class.to_ne_bytes().to_vec(),
                );
            }
            if ip6_on(n::IPV6_RECVORIGDSTADDR) {
                push(abi::IPPROTO_IPV6, n::IPV6_ORIGDSTADDR, encoded(to));
            }
        }
        _ => {}
    }
    out
}

/// The socket-level control messages of a received datagram, in Linux's order: its arrival
/// time (`SO_TIMESTAMP` as a `timeval`, `SO_TIMESTAMPNS` as a `timespec`, or their `_NEW`
/// forms, the same layouts on x86_64; `SO_TIMESTAMPING` with `SOF_TIMESTAMPING_SOFTWARE` as
/// a `struct scm_timestamping`, software time only), then its mark (`SO_RCVMARK`). No
/// transmit timestamps are queued (`MSG_ERRQUEUE` finds nothing).
fn socket_cmsgs(f: u32, got: &net::Received, out: &mut Vec<abi::Cmsg>) {
    let at = got.arrived_ns;
    let (secs, ns) = ((at / 1_000_000_000) as i64, (at % 1_000_000_000) as i64);
    let stamp = |kind: u32, frac: i64| {
        let mut data = secs.to_ne_bytes().to_vec();
        data.extend_from_slice(&frac.to_ne_bytes());
        abi::Cmsg {
            level: SOL_SOCKET,
            kind: kind as i32,
            data,
        }
    };
    let on = |name| option_on(f, SOL_SOCKET, name);
    if at != 0 {
        for (name, micro) in TIMESTAMPS {
            if on(name) {
                out.push(stamp(name, if micro { ns / 1000 } else { ns }));
            }
        }
    }
    for name in [n::SO_TIMESTAMPING_OLD, n::SO_TIMESTAMPING_NEW] {
        let flags = option_int(f, SOL_SOCKET, name).unwrap_or(0) as u32;
        if at != 0 && flags & SOF_TIMESTAMPING_SOFTWARE != 0 {
            // struct scm_timestamping: the software time, then two unused (hardware) times.
            let mut data = secs.to_ne_bytes().to_vec();
            data.extend_from_slice(&ns.to_ne_bytes());
            data.resize(48, 0);
            out.push(abi::Cmsg {
                level: SOL_SOCKET,
                kind: name as i32,
                data,
            });
        }
    }
    if on(n::SO_RCVMARK) {
        out.push(abi::Cmsg {
            level: SOL_SOCKET,
            kind: n::SO_MARK as i32,
            data: got.mark.to_ne_bytes().to_vec(),
        });
    }
}

/// The receive-timestamp options (one at most is on) and whether each gives microseconds;
/// each control message has the option's number as its type.
const TIMESTAMPS: [(u32, bool); 4] = [
    (n::SO_TIMESTAMP_OLD, true),
    (n::SO_TIMESTAMPNS_OLD, false),
    (n::SO_TIMESTAMP_NEW, true),
    (n::SO_TIMESTAMPNS_NEW, false),
];

/// One `recvmsg` into the `struct msghdr` at `hdr`.
fn recvmsg_at(f: u32, hdr: u64, flags: u32) -> Result<u64> {
    use core::mem::offset_of;
    let m = read_msghdr(hdr)?;
    usermode::check(hdr, MSGHDR_SIZE, true)?;
    let vecs = msg_iovecs(&m)?;
    for &(base, len) in &vecs {
        usermode::check(base, len, true)?;
    }
    let name_cap = if m.name != 0 {
        let cap = usize::try_from(m.namelen).map_err(|_| Errno::EINVAL)?;
        usermode::check(m.name, cap.min(abi::SOCKADDR_MAX), true)?;
        Some(cap)
    } else {
        None
    };
    let control_cap = if m.control != 0 {
        let cap = usize::try_from(m.controllen.min(CONTROL_MAX as u64)).unwrap_or(0);
        usermode::check(m.control, cap, true)?;
        cap
    } else {
        0
    };
    let total = vecs.iter().fold(0usize, |t, v| t.saturating_add(v.1));
    if netlink::port(f).is_some() {
        let (data, full, ret) = netlink_recv(f, total, flags)?;
        iovec::scatter(&vecs, &data, usermode::write)?;
        let from = netlink::address(0);
        let namelen = match name_cap {
            Some(cap) => {
                usermode::write(m.name, &from[..from.len().min(cap)])?;
                from.len()
            }
            None => 0,
        };
        let msg_flags = if full > data.len() { n::MSG_TRUNC } else { 0 };
        usermode::write_value(
            hdr + offset_of!(n::msghdr, msg_namelen) as u64,
            &(namelen as i32),
        )?;
        usermode::write_value(hdr + offset_of!(n::msghdr, msg_controllen) as u64, &0u64)?;
        usermode::write_value(hdr + offset_of!(n::msghdr, msg_flags) as u64, &msg_flags)?;
        return Ok(ret);
    }
    let info = net::info(f)?;
    let (got, data, ret) = recv_common(f, &info, total, flags)?;
    iovec::scatter(&vecs, &data, usermode::write)?;
    let mut out = [0u8; abi::SOCKADDR_MAX];
    let namelen = match (&got.from, name_cap) {
        (Some(from), Some(cap)) => {
            let full = abi::encode_addr(&to_abi_addr(from), &mut out);
            usermode::write(m.name, &out[..full.min(cap)])?;
            full
        }
        _ => 0,
    };
    let mut msg_flags = if got.full_len > got.len {
        n::MSG_TRUNC
    } else {
        0
    };
    let cmsgs = received_cmsgs(f, &info, &got);
    let (control, cut) = if cmsgs.is_empty() {
        (Vec::new(), false)
    } else if m.control == 0 {
        (Vec::new(), true)
    } else {
        abi::put_cmsgs(&cmsgs, control_cap)
    };
    if cut {
        msg_flags |= n::MSG_CTRUNC;
    }
    usermode::write(m.control, &control)?;
    usermode::write_value(
        hdr + offset_of!(n::msghdr, msg_namelen) as u64,
        &(namelen as i32),
    )?;
    usermode::write_value(
        hdr + offset_of!(n::msghdr, msg_controllen) as u64,
        &(control.len() as u64),
    )?;
    usermode::write_value(hdr + offset_of!(n::msghdr, msg_flags) as u64, &msg_flags)?;
    Ok(ret)
}

/// `struct mmsghdr`: a `msghdr`, then the byte count of that message (`msg_len`).
const MMSGHDR_SIZE: u64 = core::mem::size_of::<n::mmsghdr>() as u64;
const MSG_LEN_AT: u64 = core::mem::offset_of!(n::mmsghdr, msg_len) as u64;
/// The most messages one `sendmmsg`/`recvmmsg` handles (`UIO_MAXIOV`); more are cut to it.
const MMSG_MAX: u64 = 1024;
/// `recvmmsg`: block for the first message only (`linux/socket.h`; not in `linux-raw-sys`).
const MSG_WAITFORONE: u32 = 0x10000;

/// `sendmmsg(fd, msgvec, vlen, flags)`: `sendmsg` of each message in turn, its byte count
/// written to its `msg_len`. Returns how many were sent; an error after the first is not
/// reported (the count is), as Linux does.
pub fn sendmmsg(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let (vec, count, flags) = (a[1], a[2].min(MMSG_MAX), a[3] as u32);
    let mut sent = 0;
    while sent < count {
        let hdr = vec + sent * MMSGHDR_SIZE;
        let r = sendmsg_at(f, hdr, flags)
            .and_then(|len| usermode::write_value(hdr + MSG_LEN_AT, &(len as u32)));
        match r {
            Ok(()) => sent += 1,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent)
}

/// `recvmmsg(fd, msgvec, vlen, flags, timeout)`: `recvmsg` of each message in turn, each
/// byte count written to its `msg_len`. `MSG_WAITFORONE` makes every receive after the
/// first non-blocking. With a timeout, no further message is waited for once it has passed
/// (checked after each message, as Linux does), and the time left is written back. Returns
/// how many came; an error after the first message ends the call with the count.
pub fn recvmmsg(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let (vec, count, mut flags, timeout) = (a[1], a[2].min(MMSG_MAX), a[3] as u32, a[4]);
    let deadline = if timeout != 0 {
        let ns = super::system::read_timespec(timeout)?;
        Some(libtheseus::time::monotonic_ns().saturating_add(ns))
    } else {
        None
    };
    let mut got = 0;
    while got < count {
        let hdr = vec + got * MMSGHDR_SIZE;
        let r = recvmsg_at(f, hdr, flags)
            .and_then(|len| usermode::write_value(hdr + MSG_LEN_AT, &(len as u32)));
        match r {
            Ok(()) => got += 1,
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
        if flags & MSG_WAITFORONE != 0 {
            flags |= n::MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| libtheseus::time::monotonic_ns() >= d) {
            break;
        }
    }
    if let Some(d) = deadline {
        let left = d.saturating_sub(libtheseus::time::monotonic_ns());
        super::system::write_timespec(timeout, left)?;
    }
    Ok(got)
}

// ---- options --------------------------------------------------------------------------------

const SOL_SOCKET: i32 = n::SOL_SOCKET as i32;
/// `SOL_UDP` options (`linux/udp.h`; not in `linux-raw-sys`): the segment size of UDP
/// segmentation (GSO), and receive coalescing (GRO).
const UDP_SEGMENT: u32 = 103;
const UDP_GRO: u32 = 104;
const UDP_SEGMENT_MAX: i32 = u16::MAX as i32;
/// `SOL_SOCKET` control messages an IP socket ignores.
const SCM_RIGHTS: u32 = n::SCM_RIGHTS;
/// `ARPHRD_LOOPBACK`: the loopback interface's hardware type.
const ARPHRD_LOOPBACK: u16 = 772;
/// `SO_TIMESTAMPING` flags: report software timestamps; every flag Linux knows.
const SOF_TIMESTAMPING_SOFTWARE: u32 = 1 << 4;
const SOF_TIMESTAMPING_MASK: i32 = (1 << 18) - 1;
/// The congestion-control algorithms `TCP_CONGESTION` may name (Linux's built-in ones).
const CONGESTION: [&[u8]; 2] = [b"cubic", b"reno"];
const SCM_CREDENTIALS: u32 = n::SCM_CREDENTIALS;

/// Options stored as an int, normalized to 0/1 (Linux reports these booleans as `!!value`).
fn is_boolean(level: i32, name: u32) -> bool {
    match level {
        SOL_SOCKET => matches!(
            name,
            n::SO_KEEPALIVE
                | n::SO_BROADCAST
                | n::SO_DEBUG
                | n::SO_DONTROUTE
                | n::SO_OOBINLINE
                | n::SO_PASSCRED
                | n::SO_TIMESTAMP_OLD
                | n::SO_TIMESTAMPNS_OLD
                | n::SO_TIMESTAMP_NEW
                | n::SO_TIMESTAMPNS_NEW
                | n::SO_RCVMARK
                | n::SO_ZEROCOPY
        ),
        abi::IPPROTO_TCP => matches!(
            name,
            n::TCP_NODELAY | n::TCP_CORK | n::TCP_QUICKACK | n::TCP_THIN_LINEAR_TIMEOUTS
        ),
        abi::IPPROTO_IP => matches!(
            name,
            n::IP_RECVERR
                | n::IP_PKTINFO
                | n::IP_FREEBIND
                | n::IP_BIND_ADDRESS_NO_PORT
                | n::IP_MULTICAST_LOOP
                | n::IP_RECVTOS
                | n::IP_RECVTTL
                | n::IP_TRANSPARENT
                | n::IP_RECVORIGDSTADDR
        ),
        abi::IPPROTO_IPV6 => matches!(
            name,
            n::IPV6_V6ONLY
                | n::IPV6_RECVERR
                | n::IPV6_RECVPKTINFO
                | n::IPV6_MULTICAST_LOOP
                | n::IPV6_RECVTCLASS
                | n::IPV6_DONTFRAG
                | n::IPV6_RECVHOPLIMIT
                | n::IPV6_RECVORIGDSTADDR
        ),
        abi::IPPROTO_UDP => name == UDP_GRO,
        _ => false,
    }
}

/// An option without an effect here: its default (what Linux reports before it is set), or
/// `None` if the option does not exist for this socket (`ENOPROTOOPT`).
fn stored_default(info: &Info, level: i32, name: u32) -> Option<Vec<u8>> {
    let tcp = info.socket_type == SocketType::Stream && info.family != Family::Unix;
    let udp = info.socket_type == SocketType::Datagram && info.family != Family::Unix;
    let int = |v: i32| Some(v.to_ne_bytes().to_vec());
    match level {
        SOL_SOCKET => match name {
            n::SO_SNDBUF => int(if tcp { 16384 } else { 212_992 }),
            n::SO_RCVBUF => int(if tcp { 131_072 } else { 212_992 }),
            n::SO_RCVLOWAT | n::SO_SNDLOWAT => int(1),
            n::SO_KEEPALIVE
            | n::SO_BROADCAST
            | n::SO_DEBUG
            | n::SO_DONTROUTE
            | n::SO_OOBINLINE
            | n::SO_PASSCRED
            | n::SO_TIMESTAMP_OLD
            | n::SO_TIMESTAMPNS_OLD
            | n::SO_TIMESTAMP_NEW
            | n::SO_TIMESTAMPNS_NEW
            | n::SO_RCVMARK
            | n::SO_ZEROCOPY
            | n::SO_PRIORITY
            | n::SO_MARK
            | n::SO_BUSY_POLL
            | n::SO_NO_CHECK => int(0),
            n::SO_INCOMING_CPU | n::SO_TIMESTAMPING_OLD | n::SO_TIMESTAMPING_NEW => int(0),
            n::SO_BINDTODEVICE => Some(Vec::new()),
            _ => None,
        },
        abi::IPPROTO_TCP if tcp => match name {
            n::TCP_NODELAY
            | n::TCP_CORK
            | n::TCP_QUICKACK
            | n::TCP_DEFER_ACCEPT
            | n::TCP_WINDOW_CLAMP
            | n::TCP_USER_TIMEOUT
            | n::TCP_FASTOPEN
            | n::TCP_FASTOPEN_CONNECT
            | n::TCP_THIN_LINEAR_TIMEOUTS => int(0),
            n::TCP_MAXSEG => int(536),
            n::TCP_KEEPIDLE => int(7200),
            n::TCP_KEEPINTVL => int(75),
            n::TCP_KEEPCNT => int(9),
            n::TCP_SYNCNT => int(6),
            n::TCP_LINGER2 => int(60),
            n::TCP_NOTSENT_LOWAT => int(-1),
            n::TCP_CONGESTION => Some(b"cubic\0".to_vec()),
            _ => None,
        },
        abi::IPPROTO_IP if info.family != Family::Unix => match name {
            n::IP_TTL => int(64),
            n::IP_MULTICAST_TTL | n::IP_MULTICAST_LOOP => int(1),
            n::IP_TOS
            | n::IP_RECVERR
            | n::IP_PKTINFO
            | n::IP_MTU_DISCOVER
            | n::IP_FREEBIND
            | n::IP_BIND_ADDRESS_NO_PORT
            | n::IP_TRANSPARENT
            | n::IP_RECVTOS
            | n::IP_RECVTTL
            | n::IP_RECVORIGDSTADDR => int(0),
            _ => None,
        },
        abi::IPPROTO_IPV6 if info.family == Family::Inet6 => match name {
            n::IPV6_UNICAST_HOPS => int(64),
            n::IPV6_MULTICAST_HOPS | n::IPV6_MULTICAST_LOOP => int(1),
            n::IPV6_V6ONLY
            | n::IPV6_TCLASS
            | n::IPV6_RECVERR
            | n::IPV6_RECVPKTINFO
            | n::IPV6_MTU_DISCOVER
            | n::IPV6_RECVTCLASS
            | n::IPV6_DONTFRAG
            | n::IPV6_RECVHOPLIMIT
            | n::IPV6_RECVORIGDSTADDR => int(0),
            _ => None,
        },
        abi::IPPROTO_UDP if udp => match name {
            UDP_SEGMENT | UDP_GRO => int(0),
            _ => None,
        },
        _ => None,
    }
}

/// `ENOPROTOOPT`, or `EOPNOTSUPP` for a level other than `SOL_SOCKET` on a Unix socket.
fn no_option(info: &Info, level: i32) -> Errno {
    if info.family == Family::Unix && level != SOL_SOCKET {
        Errno::EOPNOTSUPP
    } else {
        Errno::ENOPROTOOPT
    }
}

pub fn setsockopt(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let info = net::info(f)?;
    let (level, name) = (a[1] as i32, a[2] as u32);
    let len = usize::try_from(a[4] as u32 as i32).map_err(|_| Errno::EINVAL)?;
    let mut value = vec![0u8; len.min(OPTION_MAX)];
    usermode::read(a[3], &mut value)?;
    let int = || -> Result<i32> {
        let b = value.get(..4).ok_or(Errno::EINVAL)?;
        Ok(i32::from_ne_bytes(b.try_into().unwrap()))
    };
    if level == SOL_SOCKET {
        match name {
            n::SO_REUSEADDR => return net::set_reuse_address(f, int()? != 0).map(|_| 0),
            n::SO_REUSEPORT => return net::set_reuse_port(f, int()? != 0).map(|_| 0),
            n::SO_LINGER => {
                let b = value.get(..8).ok_or(Errno::EINVAL)?;
                let on = i32::from_ne_bytes(b[..4].try_into().unwrap());
                let secs = i32::from_ne_bytes(b[4..].try_into().unwrap());
                let linger = (on != 0).then_some(secs.max(0) as u32);
                return net::set_linger(f, linger).map(|_| 0);
            }
            n::SO_RCVTIMEO_OLD | n::SO_RCVTIMEO_NEW | n::SO_SNDTIMEO_OLD | n::SO_SNDTIMEO_NEW => {
                let timeout = abi::decode_timeval(&value)?;
                let dir = if matches!(name, n::SO_RCVTIMEO_OLD | n::SO_RCVTIMEO_NEW) {
                    Direction::Receive
                } else {
                    Direction::Send
                };
                return net::set_timeout(f, dir, timeout).map(|_| 0);
            }
            n::SO_SNDBUF | n::SO_RCVBUF | n::SO_SNDBUFFORCE | n::SO_RCVBUFFORCE => {
                let send = matches!(name, n::SO_SNDBUF | n::SO_SNDBUFFORCE);
                let forced = matches!(name, n::SO_SNDBUFFORCE | n::SO_RCVBUFFORCE);
                let size = abi::buffer_size(int()?, send, forced);
                let key = if send { n::SO_SNDBUF } else { n::SO_RCVBUF };
                net::set_stored_option(f, level, key as i32, &size.to_ne_bytes())?;
                return Ok(0);
            }
            n::SO_BINDTODEVICE => {
                let dev = value.split(|&b| b == 0).next().unwrap_or(&[]);
                let known = net::interfaces().iter().any(|i| i.name.as_bytes() == dev);
                if !dev.is_empty() && !known {
                    return Err(Errno::ENODEV);
                }
                net::set_stored_option(f, level, name as i32, dev)?;
                return Ok(0);
            }
            _ => {}
        }
    }
    let is_membership = (level == abi::IPPROTO_IP
        && matches!(name, n::IP_ADD_MEMBERSHIP | n::IP_DROP_MEMBERSHIP))
        || (level == abi::IPPROTO_IPV6
            && matches!(name, n::IPV6_ADD_MEMBERSHIP | n::IPV6_DROP_MEMBERSHIP));
    if is_membership && info.family != Family::Unix {
        // No multicast on the loopback network.
        return Err(Errno::ENODEV);
    }
    let Some(default) = stored_default(&info, level, name) else {
        return Err(no_option(&info, level));
    };
    if level == SOL_SOCKET
        && matches!(name, n::SO_TIMESTAMPING_OLD | n::SO_TIMESTAMPING_NEW)
        && int()? & !SOF_TIMESTAMPING_MASK != 0
    {
        return Err(Errno::EINVAL);
    }
    let stored = if default.len() == 4 {
        // IP-level integers may also be given as one byte (`ip_setsockopt`), or none (0).
        let v = match value.len() {
            1..=3 if level == abi::IPPROTO_IP => i32::from(value[0]),
            0 if level == abi::IPPROTO_IP => 0,
            _ => int()?,
        };
        if level == abi::IPPROTO_UDP && name == UDP_SEGMENT && !(0..=UDP_SEGMENT_MAX).contains(&v) {
            return Err(Errno::EINVAL);
        }
        let v = if is_boolean(level, name) {
            i32::from(v != 0)
        } else {
            v
        };
        v.to_ne_bytes().to_vec()
    } else {
        value
    };
    if level == abi::IPPROTO_TCP && name == n::TCP_CONGESTION {
        let algorithm = stored.split(|&b| b == 0).next().unwrap_or(&[]);
        if !CONGESTION.contains(&algorithm) {
            return Err(Errno::ENOENT);
        }
        let mut named = algorithm.to_vec();
        named.push(0);
        net::set_stored_option(f, level, name as i32, &named)?;
        return Ok(0);
    }
    if level == abi::IPPROTO_IPV6 && name == n::IPV6_V6ONLY {
        // Refused once bound (`EINVAL`): set before the stored value changes.
        net::set_v6_only(f, stored != [0; 4])?;
    }
    net::set_stored_option(f, level, name as i32, &stored)?;
    if level == SOL_SOCKET && stored != [0; 4] && TIMESTAMPS.iter().any(|&(t, _)| t == name) {
        // One receive timestamp at a time: the others go off.
        for (other, _) in TIMESTAMPS {
            if other != name {
                net::set_stored_option(f, level, other as i32, &[0; 4])?;
            }
        }
    }
    Ok(0)
}

fn int_bytes(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// The value of option `(level, name)` of socket `f`.
fn option_value(f: u32, info: &Info, level: i32, name: u32) -> Result<Vec<u8>> {
    let tcp = info.socket_type == SocketType::Stream && info.family != Family::Unix;
    if level == SOL_SOCKET {
        match name {
            n::SO_TYPE => {
                return Ok(int_bytes(match info.socket_type {
                    SocketType::Stream => n::SOCK_STREAM as i32,
                    SocketType::Datagram => n::SOCK_DGRAM as i32,
                }));
            }
            n::SO_PROTOCOL => {
                return Ok(int_bytes(match (info.family, info.socket_type) {
                    (Family::Unix, _) => 0,
                    (_, SocketType::Stream) => abi::IPPROTO_TCP,
                    (_, SocketType::Datagram) => abi::IPPROTO_UDP,
                }));
            }
            n::SO_DOMAIN => {
                return Ok(int_bytes(match info.family {
                    Family::Inet => n::AF_INET as i32,
                    Family::Inet6 => n::AF_INET6 as i32,
                    Family::Unix => n::AF_UNIX as i32,
                }));
            }
            n::SO_ACCEPTCONN => return Ok(int_bytes(i32::from(info.listening))),
            n::SO_ERROR => {
                return Ok(int_bytes(net::take_error(f)?.map_or(0, |e| e.raw())));
            }
            n::SO_REUSEADDR => return Ok(int_bytes(i32::from(net::reuse_address(f)?))),
            n::SO_REUSEPORT => return Ok(int_bytes(i32::from(net::reuse_port(f)?))),
            n::SO_LINGER => {
                let l = net::linger(f)?;
                let mut v = int_bytes(i32::from(l.is_some()));
                v.extend_from_slice(&(l.unwrap_or(0) as i32).to_ne_bytes());
                return Ok(v);
            }
            n::SO_RCVTIMEO_OLD | n::SO_RCVTIMEO_NEW => {
                return Ok(abi::encode_timeval(net::timeout(f, Direction::Receive)?).to_vec());
            }
            n::SO_SNDTIMEO_OLD | n::SO_SNDTIMEO_NEW => {
                return Ok(abi::encode_timeval(net::timeout(f, Direction::Send)?).to_vec());
            }
            n::SO_PEERCRED => {
                // Every process here runs as root; the peer is taken to be this process (socket
                // pairs and connections inside one program, the common case).
                let pid = if info.family == Family::Unix && net::peer_addr(f).is_ok() {
                    state::current().pid as u32
                } else {
                    0
                };
                let mut v = pid.to_ne_bytes().to_vec();
                v.extend_from_slice(&0u32.to_ne_bytes());
                v.extend_from_slice(&0u32.to_ne_bytes());
                return Ok(v);
            }
            _ => {}
        }
    }
    if level == abi::IPPROTO_TCP && tcp && name == n::TCP_INFO {
        // struct tcp_info: only tcpi_state (ESTABLISHED 1, LISTEN 10, CLOSE 7).
        let mut v = vec![0u8; 232];
        v[0] = if info.listening {
            10
        } else if net::peer_addr(f).is_ok() {
            1
        } else {
            7
        };
        return Ok(v);
    }
    if (level == abi::IPPROTO_IP && name == n::IP_MTU && info.family != Family::Unix)
        || (level == abi::IPPROTO_IPV6 && name == n::IPV6_MTU && info.family == Family::Inet6)
    {
        return Ok(int_bytes(path_mtu(f, level == abi::IPPROTO_IPV6)?));
    }
    let Some(default) = stored_default(info, level, name) else {
        return Err(no_option(info, level));
    };
    Ok(net::stored_option(f, level, name as i32)?.unwrap_or(default))
}

/// `IP_MTU`/`IPV6_MTU` of a connected socket (`ENOTCONN` otherwise): the MTU of the
/// interface its peer is reached through (the loopback's for a loopback peer), at most
/// 65535 for IPv4 (Linux's `IP_MAX_MTU`).
fn path_mtu(f: u32, v6: bool) -> Result<i32> {
    let peer = net::peer_addr(f).map_err(|_| Errno::ENOTCONN)?;
    let loopback = match peer {
        SocketAddr::V4 { ip, .. } => ip[0] == 127,
        SocketAddr::V6 { ip, .. } => {
            ip == core::net::Ipv6Addr::LOCALHOST.octets()
                || core::net::Ipv6Addr::from(ip)
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback())
        }
        _ => true,
    };
    let interfaces = net::interfaces();
    let mtu = interfaces
        .iter()
        .find(|i| (i.hardware == ARPHRD_LOOPBACK) == loopback)
        .or(interfaces.first())
        .map_or(65536, |i| i.mtu);
    let max = if v6 { usize::MAX } else { 65535 };
    Ok(mtu.min(max) as i32)
}

pub fn getsockopt(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let f = fd(a[0])?;
    let info = net::info(f)?;
    let (level, name) = (a[1] as i32, a[2] as u32);
    let len: i32 = usermode::read_value(a[4])?;
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    usermode::check(a[4], 4, true)?;
    // As on Linux, a pending SO_ERROR read into a bad buffer is lost.
    let value = option_value(f, &info, level, name)?;
    let n = len.min(value.len());
    usermode::write(a[3], &value[..n])?;
    usermode::write_value(a[4], &(n as i32))?;
    Ok(0)
}

/// The interface requests on a socket (`struct ifreq` at `addr`: a 16-byte name, then the
/// value): `SIOCGIFINDEX` (name to index), `SIOCGIFNAME` (index to name), `SIOCGIFFLAGS`,
/// `SIOCGIFMTU`, `SIOCGIFHWADDR`. An unknown name or index is `ENODEV`.
pub(super) fn interface_ioctl(request: u32, addr: u64) -> Result<u64> {
    use linux_raw_sys::ioctl as io;
    const NAME: usize = 16;
    let mut req = [0u8; 40];
    usermode::read(addr, &mut req)?;
    let all = net::interfaces();
    let found = if request == io::SIOCGIFNAME {
        let index = u32::from_ne_bytes(req[NAME..NAME + 4].try_into().unwrap());
        all.into_iter().find(|i| i.index == index)
    } else {
        let name = req[..NAME].split(|&b| b == 0).next().unwrap_or(&[]);
        all.into_iter().find(|i| i.name.as_bytes() == name)
    };
    let i = found.ok_or(Errno::ENODEV)?;
    let value = &mut req[NAME..];
    match request {
        io::SIOCGIFNAME => {
            let mut name = [0u8; NAME];
            name[..i.name.len()].copy_from_slice(i.name.as_bytes());
            req[..NAME].copy_from_slice(&name);
        }
        io::SIOCGIFINDEX => value[..4].copy_from_slice(&i.index.to_ne_bytes()),
        io::SIOCGIFFLAGS => value[..2].copy_from_slice(&(i.flags as u16).to_ne_bytes()),
        io::SIOCGIFMTU => value[..4].copy_from_slice(&(i.mtu as u32).to_ne_bytes()),
        _ => {
            // SIOCGIFHWADDR: a sockaddr with the hardware type and the address.
            value[..2].copy_from_slice(&i.hardware.to_ne_bytes());
            value[2..8].copy_from_slice(&i.mac);
            value[8..16].fill(0);
        }
    }
    usermode::write(addr, &req)?;
    Ok(0)
}
