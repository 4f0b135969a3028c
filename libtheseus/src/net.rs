//! Sockets on the loopback network: stream (TCP-like) and datagram (UDP-like) sockets for
//! IPv4 (`127.0.0.0/8`, wildcard `0.0.0.0`) and IPv6 (`::1`, wildcard `::`), and Unix-domain
//! sockets (path names, abstract names, pairs), as descriptors of the running process.
//!
//! A socket is an open file: `fs::read`, `fs::write`, `fs::close`, `fs::dup`, `fs::poll_*`
//! and [`crate::epoll`] work on its descriptor. The calls here take the descriptor and fail
//! with `EBADF` if it is not open and `ENOTSOCK` if it is not a socket; the other errors are
//! Linux's (`ECONNREFUSED`, `EADDRINUSE`, `ENOTCONN`, `ENETUNREACH` for a destination off the
//! host, `EAGAIN` for a non-blocking call that is not ready or a timeout that passed...).
//! Over the kernel's `socket` crate, whose documentation describes the model.

use crate::fs::Fd;
use crate::{Errno, Result};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Inet,
    Inet6,
    Unix,
}

/// A socket type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketType {
    Stream,
    Datagram,
}

/// The name of a Unix-domain socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnixAddr {
    /// No name.
    Unnamed,
    /// A path (relative paths resolve against the working directory).
    Path(Vec<u8>),
    /// An abstract name (the bytes after the leading NUL of `sun_path`).
    Abstract(Vec<u8>),
}

/// A socket address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SocketAddr {
    V4 {
        ip: [u8; 4],
        port: u16,
    },
    V6 {
        ip: [u8; 16],
        port: u16,
        flowinfo: u32,
        scope_id: u32,
    },
    Unix(UnixAddr),
}

impl SocketAddr {
    pub fn family(&self) -> Family {
        match self {
            SocketAddr::V4 { .. } => Family::Inet,
            SocketAddr::V6 { .. } => Family::Inet6,
            SocketAddr::Unix(_) => Family::Unix,
        }
    }

    fn to_kernel(&self) -> socket::Addr {
        match self {
            SocketAddr::V4 { ip, port } => socket::Addr::V4 {
                ip: *ip,
                port: *port,
            },
            SocketAddr::V6 {
                ip,
                port,
                flowinfo,
                scope_id,
            } => socket::Addr::V6 {
                ip: *ip,
                port: *port,
                flowinfo: *flowinfo,
                scope_id: *scope_id,
            },
            SocketAddr::Unix(UnixAddr::Unnamed) => socket::Addr::Unix(socket::UnixName::Unnamed),
            SocketAddr::Unix(UnixAddr::Path(p)) => {
                socket::Addr::Unix(socket::UnixName::Path(p.clone()))
            }
            SocketAddr::Unix(UnixAddr::Abstract(n)) => {
                socket::Addr::Unix(socket::UnixName::Abstract(n.clone()))
            }
        }
    }

    fn from_kernel(a: socket::Addr) -> SocketAddr {
        match a {
            socket::Addr::V4 { ip, port } => SocketAddr::V4 { ip, port },
            socket::Addr::V6 {
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
            socket::Addr::Unix(socket::UnixName::Unnamed) => SocketAddr::Unix(UnixAddr::Unnamed),
            socket::Addr::Unix(socket::UnixName::Path(p)) => SocketAddr::Unix(UnixAddr::Path(p)),
            socket::Addr::Unix(socket::UnixName::Abstract(n)) => {
                SocketAddr::Unix(UnixAddr::Abstract(n))
            }
        }
    }
}

fn family_to_kernel(f: Family) -> socket::Family {
    match f {
        Family::Inet => socket::Family::Inet,
        Family::Inet6 => socket::Family::Inet6,
        Family::Unix => socket::Family::Unix,
    }
}

fn type_to_kernel(t: SocketType) -> socket::SocketType {
    match t {
        SocketType::Stream => socket::SocketType::Stream,
        SocketType::Datagram => socket::SocketType::Datagram,
    }
}

/// Which directions [`shutdown`] closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    Read,
    Write,
    Both,
}

/// How [`recv`] reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvFlags {
    /// Copy without consuming (`MSG_PEEK`).
    pub peek: bool,
    /// Streams: wait for the whole buffer, end of file or an error (`MSG_WAITALL`).
    pub wait_all: bool,
    /// Do not block for this call (`MSG_DONTWAIT`).
    pub dont_wait: bool,
}

/// What [`recv`] got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes copied (0: end of file, or an empty datagram).
    pub len: usize,
    /// A datagram's full length (more than `len` if it was truncated).
    pub full_len: usize,
    /// The sender, for datagram sockets.
    pub from: Option<SocketAddr>,
    /// Where a UDP datagram was sent (`IP_ORIGDSTADDR`).
    pub to: Option<SocketAddr>,
    /// A UDP datagram's TTL or hop limit, TOS or traffic class, and mark (`SO_MARK`).
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub mark: u32,
    /// When a datagram was queued for the receiver (realtime ns; 0 for streams).
    pub arrived_ns: u64,
}

/// A timeout's direction (`SO_RCVTIMEO`, `SO_SNDTIMEO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Receive,
    Send,
}

/// What a socket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub family: Family,
    pub socket_type: SocketType,
    pub listening: bool,
    pub nonblocking: bool,
}

fn sock(fd: Fd) -> Result<Arc<socket::Socket>> {
    let file = vfs::file(fd)?;
    socket::from_file(&file).ok_or(Errno::ENOTSOCK)
}

/// A new socket on the lowest free descriptor.
pub fn socket(family: Family, ty: SocketType, nonblocking: bool) -> Result<Fd> {
    let s = socket::socket(family_to_kernel(family), type_to_kernel(ty));
    vfs::File::set_nonblocking(&*s, nonblocking);
    vfs::install(s)
}

/// Two connected, unnamed Unix sockets (`socketpair`).
pub fn socketpair(ty: SocketType, nonblocking: bool) -> Result<(Fd, Fd)> {
    let (a, b) = socket::pair(type_to_kernel(ty));
    vfs::File::set_nonblocking(&*a, nonblocking);
    vfs::File::set_nonblocking(&*b, nonblocking);
    let fa = vfs::install(a)?;
    match vfs::install(b) {
        Ok(fb) => Ok((fa, fb)),
        Err(e) => {
            let _ = vfs::close(fa);
            Err(e)
        }
    }
}

/// What the socket `fd` is.
pub fn info(fd: Fd) -> Result<Info> {
    let s = sock(fd)?;
    Ok(Info {
        family: match s.family() {
            socket::Family::Inet => Family::Inet,
            socket::Family::Inet6 => Family::Inet6,
            socket::Family::Unix => Family::Unix,
        },
        socket_type: match s.socket_type() {
            socket::SocketType::Stream => SocketType::Stream,
            socket::SocketType::Datagram => SocketType::Datagram,
        },
        listening: s.is_listening(),
        nonblocking: s.is_nonblocking(),
    })
}

/// Binds to `addr` (port 0: an ephemeral port, from [`EPHEMERAL_PORTS`]; `UnixAddr::Unnamed`:
/// an autobound abstract name). A Unix path name creates the file at the path.
pub fn bind(fd: Fd, addr: &SocketAddr) -> Result<()> {
    sock(fd)?.bind(&addr.to_kernel())
}

/// The ports given to binds to port 0 and to unbound sockets that connect or send.
pub const EPHEMERAL_PORTS: core::ops::Range<u16> = socket::EPHEMERAL_PORTS;

/// Starts listening (stream sockets) with room for about `backlog` pending connections.
pub fn listen(fd: Fd, backlog: u32) -> Result<()> {
    sock(fd)?.listen(backlog)
}

/// Accepts a connection: its new descriptor (non-blocking if asked) and the peer's address.
pub fn accept(fd: Fd, nonblocking: bool) -> Result<(Fd, SocketAddr)> {
    let conn = sock(fd)?.accept()?;
    vfs::File::set_nonblocking(&*conn, nonblocking);
    let peer = conn
        .peer_addr()
        .unwrap_or(socket::Addr::Unix(socket::UnixName::Unnamed));
    let new = vfs::install(conn)?;
    Ok((new, SocketAddr::from_kernel(peer)))
}

/// Connects a stream socket to a listener, or sets a datagram socket's peer. Connections on
/// the loopback network are established at once: there is no `EINPROGRESS`.
pub fn connect(fd: Fd, addr: &SocketAddr) -> Result<()> {
    sock(fd)?.connect(&addr.to_kernel())
}

/// Forgets a datagram socket's peer (`connect` to `AF_UNSPEC`); aborts a stream connection.
pub fn disconnect(fd: Fd) -> Result<()> {
    sock(fd)?.disconnect()
}

/// Sends `data` (to `to`, for unconnected datagram sockets). Blocking stream sends send
/// everything; `dont_wait` or a non-blocking socket sends what fits (`EAGAIN`: nothing).
pub fn send(fd: Fd, data: &[u8], to: Option<&SocketAddr>, dont_wait: bool) -> Result<usize> {
    let to = to.map(SocketAddr::to_kernel);
    sock(fd)?.send(data, to.as_ref(), dont_wait)
}

/// What a UDP datagram carries besides its bytes (see [`send_with_header`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// TTL (IPv4) or hop limit (IPv6).
    pub hop_limit: u8,
    /// TOS (IPv4) or traffic class (IPv6).
    pub traffic_class: u8,
    /// The sender's mark (`SO_MARK`).
    pub mark: u32,
}

/// [`send`] of a UDP datagram that carries `header`, which a receiver may ask to see. Other
/// sockets ignore it.
pub fn send_with_header(
    fd: Fd,
    data: &[u8],
    to: Option<&SocketAddr>,
    dont_wait: bool,
    header: Header,
) -> Result<usize> {
    let to = to.map(SocketAddr::to_kernel);
    let header = socket::IpHeader {
        hop_limit: header.hop_limit,
        traffic_class: header.traffic_class,
        mark: header.mark,
    };
    sock(fd)?.send_with_header(data, to.as_ref(), dont_wait, header)
}

/// Receives into `buf`.
pub fn recv(fd: Fd, buf: &mut [u8], flags: RecvFlags) -> Result<Received> {
    let flags = socket::RecvFlags {
        peek: flags.peek,
        wait_all: flags.wait_all,
        dont_wait: flags.dont_wait,
    };
    let r = sock(fd)?.recv(buf, flags)?;
    Ok(Received {
        len: r.len,
        full_len: r.full_len,
        from: r.from.map(SocketAddr::from_kernel),
        to: r.to.map(SocketAddr::from_kernel),
        hop_limit: r.header.hop_limit,
        traffic_class: r.header.traffic_class,
        mark: r.header.mark,
        arrived_ns: r.arrived_ns,
    })
}

/// `fs::read` on a socket: a plain receive, without holding the socket while it sleeps.
pub(crate) fn recv_from_socket(s: Arc<socket::Socket>, buf: &mut [u8]) -> Result<usize> {
    Ok(s.recv(buf, socket::RecvFlags::default())?.len)
}

/// `fs::write` on a socket: a plain send.
pub(crate) fn send_to_socket(s: Arc<socket::Socket>, data: &[u8]) -> Result<usize> {
    s.send(data, None, false)
}

/// Shuts down one or both directions.
pub fn shutdown(fd: Fd, how: Shutdown) -> Result<()> {
    let how = match how {
        Shutdown::Read => socket::Shutdown::Read,
        Shutdown::Write => socket::Shutdown::Write,
        Shutdown::Both => socket::Shutdown::Both,
    };
    sock(fd)?.shutdown(how)
}

/// The socket's own address (the wildcard with port 0 if unbound).
pub fn local_addr(fd: Fd) -> Result<SocketAddr> {
    Ok(SocketAddr::from_kernel(sock(fd)?.local_addr()))
}

/// The connected peer's address (`ENOTCONN` if none).
pub fn peer_addr(fd: Fd) -> Result<SocketAddr> {
    Ok(SocketAddr::from_kernel(sock(fd)?.peer_addr()?))
}

/// The pending error (`SO_ERROR`), cleared.
pub fn take_error(fd: Fd) -> Result<Option<Errno>> {
    Ok(sock(fd)?.take_error())
}

/// Bytes a read would get now (`FIONREAD`).
pub fn available(fd: Fd) -> Result<usize> {
    Ok(sock(fd)?.available())
}

/// `SO_REUSEADDR` (for later binds).
pub fn set_reuse_address(fd: Fd, on: bool) -> Result<()> {
    sock(fd)?.set_options(|o| o.reuse_addr = on);
    Ok(())
}

pub fn reuse_address(fd: Fd) -> Result<bool> {
    Ok(sock(fd)?.with_options(|o| o.reuse_addr))
}

/// `IPV6_V6ONLY`: whether an IPv6 socket bound to `::` takes IPv4 too (off: Linux's dual
/// stack, IPv4 peers v4-mapped) and may reach IPv4 addresses. `EINVAL` once bound, as on
/// Linux; `ENOPROTOOPT` on a socket that is not IPv6.
pub fn set_v6_only(fd: Fd, on: bool) -> Result<()> {
    sock(fd)?.set_v6_only(on)
}

/// `SO_REUSEPORT` (for later binds).
pub fn set_reuse_port(fd: Fd, on: bool) -> Result<()> {
    sock(fd)?.set_options(|o| o.reuse_port = on);
    Ok(())
}

pub fn reuse_port(fd: Fd) -> Result<bool> {
    Ok(sock(fd)?.with_options(|o| o.reuse_port))
}

/// `SO_LINGER` in seconds (`Some(0)`: close aborts the connection).
pub fn set_linger(fd: Fd, linger: Option<u32>) -> Result<()> {
    sock(fd)?.set_options(|o| o.linger = linger);
    Ok(())
}

pub fn linger(fd: Fd) -> Result<Option<u32>> {
    Ok(sock(fd)?.with_options(|o| o.linger))
}

/// The receive or send timeout in ns (`None`: block without limit).
pub fn set_timeout(fd: Fd, direction: Direction, ns: Option<u64>) -> Result<()> {
    sock(fd)?.set_options(|o| match direction {
        Direction::Receive => o.recv_timeout = ns,
        Direction::Send => o.send_timeout = ns,
    });
    Ok(())
}

pub fn timeout(fd: Fd, direction: Direction) -> Result<Option<u64>> {
    Ok(sock(fd)?.with_options(|o| match direction {
        Direction::Receive => o.recv_timeout,
        Direction::Send => o.send_timeout,
    }))
}

/// Stores the value of an option that has no effect on the loopback network (`TCP_NODELAY`,
/// `SO_KEEPALIVE`, buffer sizes...), under the caller's `(level, name)`, so reading it gives
/// it back. Accepted connections inherit the listener's options.
pub fn set_stored_option(fd: Fd, level: i32, name: i32, value: &[u8]) -> Result<()> {
    sock(fd)?.set_options(|o| {
        o.other.insert((level, name), value.to_vec());
    });
    Ok(())
}

/// The value stored by [`set_stored_option`], if any.
pub fn stored_option(fd: Fd, level: i32, name: i32) -> Result<Option<Vec<u8>>> {
    Ok(sock(fd)?.with_options(|o| o.other.get(&(level, name)).cloned()))
}

/// A network interface: the loopback network (`lo`, index 1) or the network device (`eth0`,
/// index 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub name: &'static str,
    pub index: u32,
    /// The hardware address (zeros for `lo`).
    pub mac: [u8; 6],
    pub mtu: usize,
    /// Linux's `ARPHRD_*` type: 772 loopback, 1 Ethernet.
    pub hardware: u16,
    /// Linux's `IFF_*` bits.
    pub flags: u32,
    /// Its addresses and their prefix lengths.
    pub addresses: Vec<(core::net::IpAddr, u8)>,
}

/// The network interfaces there are now, by index.
pub fn interfaces() -> Vec<Interface> {
    net_stack::interfaces()
        .into_iter()
        .map(|i| Interface {
            name: i.name,
            index: i.index,
            mac: i.mac,
            mtu: i.mtu,
            hardware: i.hardware,
            flags: i.flags,
            addresses: i.addresses,
        })
        .collect()
}
