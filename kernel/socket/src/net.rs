//! The network path of IPv4 and IPv6 sockets: TCP connections to addresses off the host go
//! through the TCP/IP stack (`net_stack`, smoltcp over virtio-net; an IPv6 socket reaches
//! IPv4 addresses v4-mapped), and a listener bound to the wildcard address also takes
//! connections arriving from the network, as does one bound to the interface's own address
//! (those addressed to it). The calls are the same as on loopback; only the socket's state
//! differs (`State::Net`). A UDP socket bound to the wildcard or the own address (or sending
//! to the network) also holds its port on the interface, for the families its binding takes
//! (an IPv6 socket on `::`: both unless `IPV6_V6ONLY`), and the datagrams arriving there land
//! in the socket's own queue; an ICMP port unreachable for one it sent is its pending
//! `ECONNREFUSED` if it is connected to that destination, as on loopback (`Socket::refused`).

use crate::addr::{Ip, Reach};
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

/// Whether a connection or datagram to `addr` goes to the network: IPv4 or IPv6 (v4-mapped
/// addresses too), not on this host.
pub(crate) fn is_remote(family: Family, addr: &Addr) -> bool {
    matches!(family, Family::Inet | Family::Inet6)
        && crate::route(addr.ip()).is_none()
        && net_stack::is_present()
}

/// The network address `addr` stands for: an IPv4 one for `V4` and v4-mapped `V6`.
fn target(addr: &Addr) -> Option<(IpAddr, u16)> {
    match addr {
        Addr::Unix(_) => None,
        a => Some((to_net(a.ip()), a.port())),
    }
}

/// A canonical address as the stack's.
fn to_net(ip: Ip) -> IpAddr {
    match ip.as_v4() {
        Some(a) => IpAddr::from(a),
        None => IpAddr::V6(Ipv6Addr::from(ip.0)),
    }
}

/// The stack's address as a canonical one.
fn from_net(ip: IpAddr) -> Ip {
    match ip {
        IpAddr::V4(a) => Ip::v4(a.octets()),
        IpAddr::V6(a) => Ip(a.octets()),
    }
}

/// How a socket of `family` names a network address: an IPv6 socket names an IPv4 one
/// v4-mapped (`::ffff:a.b.c.d`), as Linux does.
fn name(family: Family, ip: IpAddr, port: u16) -> Addr {
    Addr::from_ip(family, from_net(ip), port)
}

/// The interface's own address (for names), 0.0.0.0 before DHCP answered.
fn own_ip() -> [u8; 4] {
    net_stack::ipv4().map_or([0; 4], |c| c.address)
}

/// The families a binding to `ip` takes from the network, and its one address if it is
/// bound to an address of the interface rather than the wildcard.
fn families(ip: Ip, v6_only: bool) -> net_stack::Families {
    let reach = Reach::of(ip, v6_only);
    net_stack::Families {
        v4: reach.v4.is_some(),
        v6: reach.v6.is_some(),
        local: (!ip.is_any()).then(|| to_net(ip)),
    }
}

/// Whether `ip` is one of the network interface's own addresses (its IPv4 address from DHCP,
/// its IPv6 ones): a socket may bind to it, and traffic to it from this host stays on the
/// host, as on Linux.
pub(crate) fn is_own(ip: Ip) -> bool {
    if ip.is_any() || ip.is_local() || !net_stack::is_present() {
        return false;
    }
    let ip = to_net(ip);
    net_stack::source_for(ip) == Some(ip)
}

/// Whether a binding to `ip` takes connections and datagrams from the network: the wildcard
/// and the interface's own addresses do, loopback addresses do not.
pub(crate) fn on_network(ip: Ip) -> bool {
    ip.is_any() || is_own(ip)
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
        Socket::wait_address(ip)?;
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

    /// Listens on the network too (a listener bound to the wildcard `ip` or to an address of
    /// the interface, on `port`), for the families its binding takes.
    pub(crate) fn listen_net(
        &self,
        ip: Ip,
        port: u16,
        backlog: usize,
        v6_only: bool,
    ) -> Option<net_stack::Listener> {
        if !net_stack::is_present() {
            return None;
        }
        let families = families(ip, v6_only);
        net_stack::tcp_listen(port, backlog, families, waker(&self.events)).ok()
    }

    /// A connection the network listener completed, as a new connected socket.
    pub(crate) fn accept_net(&self, listener: &net_stack::Listener) -> Option<Arc<Socket>> {
        if listener.pending() == 0 {
            return None;
        }
        let conn = crate::socket(self.family, crate::SocketType::Stream);
        // The stack hands it only connections of the families it listens for.
        let tcp = Arc::new(listener.accept(waker(&conn.events))?);
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

impl Socket {
    /// Holds the socket's bound port on the network too (a UDP socket bound to a wildcard
    /// address or the interface's own, or sending there), for the families its binding takes, so datagrams from the
    /// network reach its queue. Called with no lock of the socket held: running the stack
    /// delivers datagrams, maybe to this socket.
    pub(crate) fn open_net_udp(&self) -> Option<Arc<net_stack::Udp>> {
        if !matches!(self.family, Family::Inet | Family::Inet6)
            || self.ty != SocketType::Datagram
            || !net_stack::is_present()
        {
            return None;
        }
        let (ip, port, v6_only) = {
            let inner = self.inner.lock();
            if let Some(u) = &inner.net_udp {
                return Some(u.clone());
            }
            let local = inner.local.as_ref()?;
            (local.ip(), local.port(), self.v6_only(&inner.options))
        };
        let me = self.me.clone();
        let deliver: net_stack::Deliver = Arc::new(move |arrival: net_stack::Arrival<'_>| {
            let Some(s) = me.upgrade() else {
                return;
            };
            match arrival {
                net_stack::Arrival::Datagram {
                    from: (ip, port),
                    data,
                } => {
                    s.take_udp((from_net(ip), port), None, crate::IpHeader::default(), data);
                }
                // An ICMP port unreachable for a datagram it sent.
                net_stack::Arrival::Refused { to: (ip, port) } => s.refused((from_net(ip), port)),
            }
        });
        let udp = Arc::new(net_stack::udp_bind(port, families(ip, v6_only), deliver).ok()?);
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
                let req = self.bind_request(self.wildcard(), 0, &inner.options);
                let port = names.bind(req)?;
                inner.local = Some(Addr::unspecified(self.family).with_port(port));
            }
        }
        self.open_net_udp().ok_or(Errno::ENETUNREACH)
    }

    /// Waits (up to [`ADDRESS_WAIT_NS`]) for an IPv4 address from DHCP before IPv4 traffic;
    /// the IPv6 addresses are there from the start.
    fn wait_address(ip: IpAddr) -> Result<()> {
        if ip.is_ipv4()
            && net_stack::ipv4().is_none()
            && !net_stack::wait_configured(time::monotonic_ns() + ADDRESS_WAIT_NS)
        {
            return Err(Errno::ENETUNREACH);
        }
        Ok(())
    }

    /// One datagram to an address on the network.
    pub(crate) fn send_udp_net(&self, data: &[u8], dest: &Addr) -> Result<usize> {
        let (ip, port) = target(dest).ok_or(Errno::EAFNOSUPPORT)?;
        if port == 0 {
            return Err(Errno::EINVAL);
        }
        let max = if ip.is_ipv4() {
            net_stack::UDP_MAX_PAYLOAD
        } else {
            net_stack::UDP6_MAX_PAYLOAD
        };
        if data.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        Socket::wait_address(ip)?;
        self.net_udp_port()?.send(ip, port, data)?;
        Ok(data.len())
    }

    /// `connect` of a datagram socket to an address on the network: the default
    /// destination, and the only sender whose datagrams are taken.
    pub(crate) fn connect_udp_net(&self, addr: &Addr) -> Result<()> {
        let (ip, port) = target(addr).ok_or(Errno::EAFNOSUPPORT)?;
        Socket::wait_address(ip)?;
        // Only the interface's subnets are reachable; the address there becomes the local
        // name, as the route's source does on Linux.
        let src = net_stack::source_for(ip).ok_or(Errno::ENETUNREACH)?;
        self.net_udp_port()?;
        let mut inner = self.inner.lock();
        if let Some(local) = inner.local.clone()
            && local.ip().is_any()
        {
            inner.local = Some(name(self.family, src, local.port()));
        }
        inner.peer = Some(name(self.family, ip, port));
        inner.error = None;
        // Datagrams from others already queued stay, as on Linux.
        Ok(())
    }
}
