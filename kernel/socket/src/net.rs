//! The network path of IPv4 and IPv6 TCP sockets: connections to addresses off the host go
//! through the TCP/IP stack (`net_stack`, smoltcp over virtio-net; an IPv6 socket reaches
//! IPv4 addresses v4-mapped), and a listener bound to the wildcard address also takes
//! connections arriving from the network. The calls are the same
//! as on loopback; only the socket's state differs (`State::Net`). An IPv4 datagram socket
//! bound to the wildcard (or sending to the network) also has a UDP port on the interface,
//! whose datagrams land in the socket's own queue.

use crate::addr::Ip;
use crate::events::Events;
use crate::table::NAMES;
use crate::{Addr, Errno, Family, Result, Socket, SocketType, State};
use alloc::sync::{Arc, Weak};
use core::net::{IpAddr, Ipv6Addr};

/// How long a connect waits for DHCP to give the interface an address.
const ADDRESS_WAIT_NS: u64 = 5_000_000_000;

/// A waker for the stack that notifies `events` (held weakly: a closed socket is not kept).
pub(crate) fn waker(events: &Arc<Events>) -> net_stack::Waker {
    let weak: Weak<Events> = Arc::downgrade(events);
    Arc::new(move || {
        if let Some(e) = weak.upgrade() {
            e.notify();
        }
    })
}

/// Whether a stream connection to `addr` goes to the network: IPv4 or IPv6 (v4-mapped
/// addresses too), not on this host.
pub(crate) fn is_remote(family: Family, addr: &Addr) -> bool {
    matches!(family, Family::Inet | Family::Inet6)
        && addr.ip().route(family).is_none()
        && net_stack::is_present()
}

/// The network address `addr` stands for: an IPv4 one for `V4` and v4-mapped `V6`.
fn target(addr: &Addr) -> Option<(IpAddr, u16)> {
    match *addr {
        Addr::V4 { ip, port } => Some((IpAddr::from(ip), port)),
        Addr::V6 { ip, port, .. } => {
            let ip = Ipv6Addr::from(ip);
            Some((ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4), port))
        }
        Addr::Unix(_) => None,
    }
}

/// How a socket of `family` names a network address: an IPv6 socket names an IPv4 one
/// v4-mapped (`::ffff:a.b.c.d`), as Linux does.
fn name(family: Family, ip: IpAddr, port: u16) -> Addr {
    match (family, ip) {
        (Family::Inet6, IpAddr::V4(a)) => v4_mapped(a.octets(), port),
        (_, IpAddr::V4(a)) => v4(a.octets(), port),
        (_, IpAddr::V6(a)) => Addr::V6 {
            ip: a.octets(),
            port,
            flowinfo: 0,
            scope_id: 0,
        },
    }
}

fn v4(ip: [u8; 4], port: u16) -> Addr {
    Addr::V4 { ip, port }
}

/// `ip` as an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
fn v4_mapped(ip: [u8; 4], port: u16) -> Addr {
    let mut bits = [0u8; 16];
    bits[10] = 0xff;
    bits[11] = 0xff;
    bits[12..].copy_from_slice(&ip);
    Addr::V6 {
        ip: bits,
        port,
        flowinfo: 0,
        scope_id: 0,
    }
}

/// The interface's own address (for names), 0.0.0.0 before DHCP answered.
fn own_ip() -> [u8; 4] {
    net_stack::ipv4().map_or([0; 4], |c| c.address)
}

impl Socket {
    /// Starts a TCP connection to `addr` over the network: `EAGAIN` (which the system call
    /// layer reports as `EINPROGRESS`) for a non-blocking socket, else waits for the
    /// handshake.
    pub(crate) fn connect_net(self: Arc<Self>, addr: &Addr) -> Result<()> {
        let Some((ip, port)) = target(addr) else {
            return Err(Errno::EAFNOSUPPORT);
        };
        if port == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        if ip.is_ipv4()
            && net_stack::ipv4().is_none()
            && !net_stack::wait_configured(time::monotonic_ns() + ADDRESS_WAIT_NS)
        {
            return Err(Errno::ENETUNREACH);
        }
        let tcp = Arc::new(net_stack::tcp_connect(ip, port, waker(&self.events))?);
        {
            let mut inner = self.inner.lock();
            if !matches!(inner.state, State::Unconnected) {
                return Err(Errno::EISCONN);
            }
            let (lip, lport) = tcp.local().unwrap_or((IpAddr::from(own_ip()), 0));
            inner.local = Some(name(self.family, lip, lport));
            inner.peer = Some(addr.clone());
            inner.state = State::Net(tcp.clone());
        }
        self.events.notify();
        if self.is_nonblocking() {
            return Err(Errno::EAGAIN);
        }
        self.wait_connected(&tcp)
    }

    /// A second `connect` on a socket whose network connection is under way or done.
    pub(crate) fn reconnect_net(self: Arc<Self>, tcp: Arc<net_stack::Tcp>) -> Result<()> {
        if !tcp.is_connecting() {
            return match tcp.take_error() {
                Some(e) => Err(e),
                None => Err(Errno::EISCONN),
            };
        }
        if self.is_nonblocking() {
            return Err(Errno::EALREADY);
        }
        self.wait_connected(&tcp)
    }

    fn wait_connected(self: Arc<Self>, tcp: &net_stack::Tcp) -> Result<()> {
        let deadline = crate::deadline(self.with_options(|o| o.send_timeout));
        let events = self.events.clone();
        crate::block_on(crate::Holder::Owned(self), &events, false, deadline, |_| {
            if tcp.is_connecting() {
                return None;
            }
            Some(match tcp.take_error() {
                Some(e) => Err(e),
                None => Ok(()),
            })
        })
    }

    /// Listens on the network too (a wildcard-bound IPv4 listener on port `port`, or an
    /// IPv6 one that is not `v6_only`: the network is IPv4, so it takes IPv4 connections).
    pub(crate) fn listen_net(
        &self,
        port: u16,
        backlog: usize,
        v6_only: bool,
    ) -> Option<net_stack::Listener> {
        let dual_stack = self.family == Family::Inet6 && !v6_only;
        if !(self.family == Family::Inet || dual_stack) || !net_stack::is_present() {
            return None;
        }
        net_stack::tcp_listen(port, backlog, waker(&self.events)).ok()
    }

    /// A connection the network listener completed, as a new connected socket.
    pub(crate) fn accept_net(&self, listener: &net_stack::Listener) -> Option<Arc<Socket>> {
        if listener.pending() == 0 {
            return None;
        }
        let conn = crate::socket(self.family, crate::SocketType::Stream);
        let tcp = Arc::new(listener.accept(waker(&conn.events))?);
        // The interface's listening sockets take both families; an IPv4 listener refuses
        // an IPv6 connection (reset).
        if self.family == Family::Inet && tcp.remote().is_some_and(|(ip, _)| ip.is_ipv6()) {
            tcp.abort();
            return None;
        }
        let options = self.inner.lock().options.clone();
        // An IPv6 listener names both ends of an IPv4 connection as Linux does:
        // v4-mapped (`::ffff:a.b.c.d`).
        {
            let mut c = conn.inner.lock();
            let (lip, lport) = tcp.local().unwrap_or((IpAddr::from(own_ip()), 0));
            c.local = Some(name(self.family, lip, lport));
            c.peer = tcp.remote().map(|(ip, port)| name(self.family, ip, port));
            c.options = options;
            c.state = State::Net(tcp);
        }
        Some(conn)
    }
}

/// Whether a datagram to `addr` goes to the network: IPv4, not on this host.
pub(crate) fn is_remote_udp(family: Family, addr: &Addr) -> bool {
    family == Family::Inet && addr.ip().route(family).is_none() && net_stack::is_present()
}

impl Socket {
    /// Opens the socket's bound port on the network too (an IPv4 datagram socket bound to
    /// the wildcard address), so datagrams from the network reach its queue. Called with no
    /// lock of the socket held: running the stack delivers datagrams, maybe to this socket.
    pub(crate) fn open_net_udp(&self) -> Option<Arc<net_stack::Udp>> {
        if self.family != Family::Inet
            || self.ty != SocketType::Datagram
            || !net_stack::is_present()
        {
            return None;
        }
        let port = {
            let inner = self.inner.lock();
            if let Some(u) = &inner.net_udp {
                return Some(u.clone());
            }
            inner.local.as_ref()?.port()
        };
        let me = self.me.clone();
        let deliver: net_stack::Deliver = Arc::new(move |ip, port, data| {
            if let Some(s) = me.upgrade() {
                s.take_udp(&v4(ip, port), None, crate::IpHeader::default(), data);
            }
        });
        let udp = Arc::new(net_stack::udp_bind(port, deliver).ok()?);
        let mut inner = self.inner.lock();
        if let Some(first) = inner.net_udp.clone() {
            // A concurrent call opened it first: keep that one, and close ours with no lock
            // held (closing runs the stack).
            drop(inner);
            drop(udp);
            return Some(first);
        }
        inner.net_udp = Some(udp.clone());
        Some(udp)
    }

    /// Binds an unbound socket to an ephemeral port of the wildcard address; returns its
    /// port on the network.
    fn net_udp_port(&self) -> Result<Arc<net_stack::Udp>> {
        {
            let mut names = NAMES.lock();
            let mut inner = self.inner.lock();
            if inner.local.is_none() {
                let req = self.bind_request(Ip::ANY, 0, &inner.options);
                let port = names.bind(req)?;
                inner.local = Some(Addr::unspecified(self.family).with_port(port));
            }
        }
        self.open_net_udp().ok_or(Errno::ENETUNREACH)
    }

    /// One datagram to an address on the network.
    pub(crate) fn send_udp_net(&self, data: &[u8], dest: &Addr) -> Result<usize> {
        let Addr::V4 { ip, port } = *dest else {
            return Err(Errno::EAFNOSUPPORT);
        };
        if port == 0 {
            return Err(Errno::EINVAL);
        }
        if data.len() > net_stack::UDP_MAX_PAYLOAD {
            return Err(Errno::EMSGSIZE);
        }
        if net_stack::ipv4().is_none()
            && !net_stack::wait_configured(time::monotonic_ns() + ADDRESS_WAIT_NS)
        {
            return Err(Errno::ENETUNREACH);
        }
        self.net_udp_port()?.send(ip, port, data)?;
        Ok(data.len())
    }

    /// `connect` of an IPv4 datagram socket to an address on the network: the default
    /// destination, and the only sender whose datagrams are taken.
    pub(crate) fn connect_udp_net(&self, addr: &Addr) -> Result<()> {
        let Addr::V4 { ip, .. } = *addr else {
            return Err(Errno::EAFNOSUPPORT);
        };
        if net_stack::ipv4().is_none()
            && !net_stack::wait_configured(time::monotonic_ns() + ADDRESS_WAIT_NS)
        {
            return Err(Errno::ENETUNREACH);
        }
        if !net_stack::ipv4().is_some_and(|c| same_subnet(c, ip)) {
            return Err(Errno::ENETUNREACH);
        }
        self.net_udp_port()?;
        let mut inner = self.inner.lock();
        // The source address the route picks becomes the local name, as on Linux.
        if let Some(local) = inner.local.clone()
            && local.ip().is_any()
        {
            inner.local = Some(v4(own_ip(), local.port()));
        }
        inner.peer = Some(addr.clone());
        inner.error = None;
        // Datagrams from others already queued stay, as on Linux.
        Ok(())
    }
}

/// Whether `ip` is on the interface's subnet (the only place reachable).
fn same_subnet(c: net_stack::Ipv4Config, ip: [u8; 4]) -> bool {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(c.prefix_len))
        .unwrap_or(0);
    u32::from_be_bytes(c.address) & mask == u32::from_be_bytes(ip) & mask
}
