//! The network path of IPv4 TCP sockets: connections to addresses off the host go through
//! the TCP/IP stack (`net_stack`, smoltcp over virtio-net), and a listener bound to the
//! wildcard address also takes connections arriving from the network. The calls are the same
//! as on loopback; only the socket's state differs (`State::Net`).

use crate::events::Events;
use crate::{Addr, Errno, Family, Result, Socket, State};
use alloc::sync::{Arc, Weak};

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

/// Whether a stream connection to `addr` goes to the network: IPv4, not on this host.
pub(crate) fn is_remote(family: Family, addr: &Addr) -> bool {
    family == Family::Inet && addr.ip().route(family).is_none() && net_stack::is_present()
}

fn v4(ip: [u8; 4], port: u16) -> Addr {
    Addr::V4 { ip, port }
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
        let Addr::V4 { ip, port } = *addr else {
            return Err(Errno::EAFNOSUPPORT);
        };
        if port == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        if net_stack::ipv4().is_none()
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
            let (lip, lport) = tcp.local().unwrap_or((own_ip(), 0));
            inner.local = Some(v4(lip, lport));
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

    /// Listens on the network too (a wildcard-bound IPv4 listener on port `port`).
    pub(crate) fn listen_net(&self, port: u16, backlog: usize) -> Option<net_stack::Listener> {
        if self.family != Family::Inet || !net_stack::is_present() {
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
        let options = self.inner.lock().options.clone();
        {
            let mut c = conn.inner.lock();
            let (lip, lport) = tcp.local().unwrap_or((own_ip(), 0));
            c.local = Some(v4(lip, lport));
            c.peer = tcp.remote().map(|(ip, port)| v4(ip, port));
            c.options = options;
            c.state = State::Net(tcp);
        }
        Some(conn)
    }
}
