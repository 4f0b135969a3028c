//! TCP connections and listeners over smoltcp, as the socket layer uses them: handles that
//! own a smoltcp socket, with Linux's outcomes (`ECONNREFUSED`, `ECONNRESET`, `EPIPE`, end of
//! file) computed from smoltcp's states.
//!
//! smoltcp has no listening socket that queues connections: a socket in `Listen` becomes the
//! connection when a SYN arrives. A [`Listener`] therefore keeps spare listening sockets on
//! its port ([`SPARES`], refilled before every received packet) and moves each one that
//! completes its handshake to the accept queue of the listener of its family: an IPv4 and an
//! IPv6-only listener may share a port (Linux's `0.0.0.0:P` next to `[::]:P` with
//! `IPV6_V6ONLY`), and a connection of a family no listener on its port takes is reset.

use crate::{Errno, Families, ListenerState, Meta, Stack, Waker, look, with_stack};
use alloc::vec::Vec;
use core::net::IpAddr;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self as stcp, State};
use smoltcp::time::Duration;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

/// Receive and send buffer of each connection.
pub const BUFFER: usize = 64 * 1024;
/// Listening sockets a listener keeps ready beyond the connections in its handshakes.
pub const SPARES: usize = 8;
/// A connection whose data (or SYN) goes unacknowledged this long is aborted.
pub(crate) const CONNECT_TIMEOUT_NS: u64 = 20_000_000_000;

fn new_socket() -> stcp::Socket<'static> {
    let mut s = stcp::Socket::new(
        stcp::SocketBuffer::new(alloc::vec![0; BUFFER]),
        stcp::SocketBuffer::new(alloc::vec![0; BUFFER]),
    );
    s.set_timeout(Some(Duration::from_micros(CONNECT_TIMEOUT_NS / 1000)));
    s.set_nagle_enabled(false);
    s
}

fn meta(waker: Option<Waker>, connect_started: Option<u64>) -> Meta {
    Meta {
        waker,
        seen: u64::MAX,
        closed_by_us: false,
        established: false,
        orphan_since: None,
        connect_started,
        error: None,
        error_reported: false,
    }
}

fn endpoint(e: IpEndpoint) -> (IpAddr, u16) {
    match e.addr {
        IpAddress::Ipv4(a) => (IpAddr::V4(a), e.port),
        IpAddress::Ipv6(a) => (IpAddr::V6(a), e.port),
    }
}

/// What a receive got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recv {
    Data(usize),
    /// Nothing yet: wait.
    WouldBlock,
    /// The peer closed its direction (or the connection is gone, its error reported).
    Eof,
}

/// A TCP connection (connecting, established, or closing). Dropping it closes the
/// connection in an orderly way; [`Tcp::abort`] first makes it a reset.
pub struct Tcp {
    handle: SocketHandle,
}

/// Opens a connection to `ip:port` from an ephemeral port. The handshake goes on in the
/// background; `waker` is called whenever the connection changes. Only the interface's
/// subnets are reachable (IPv4 from DHCP, IPv6 [`crate::IPV6_PREFIXES`]).
pub fn tcp_connect(ip: IpAddr, port: u16, waker: Waker) -> Result<Tcp, Errno> {
    with_stack(|st| {
        if !st.on_link(ip) {
            return Err(Errno::ENETUNREACH);
        }
        let local = st.ephemeral_port();
        let mut s = new_socket();
        let remote = IpEndpoint::new(ip.into(), port);
        s.connect(st.iface.context(), remote, local)
            .map_err(|e| match e {
                stcp::ConnectError::Unaddressable => Errno::ENETUNREACH,
                stcp::ConnectError::InvalidState => Errno::EISCONN,
            })?;
        let handle = st.sockets.add(s);
        st.meta
            .insert(handle, meta(Some(waker), Some(time::monotonic_ns())));
        Ok(Tcp { handle })
    })
    .unwrap_or(Err(Errno::ENETUNREACH))
}

/// Listens on `port` of every address of the interface, for connections of `families`.
/// `EADDRINUSE` if another listener on the port takes one of them.
pub fn tcp_listen(
    port: u16,
    backlog: usize,
    families: Families,
    waker: Waker,
) -> Result<Listener, Errno> {
    with_stack(|st| {
        if port == 0
            || st
                .listeners
                .values()
                .any(|l| l.port == port && l.families.overlaps(families))
        {
            return Err(Errno::EADDRINUSE);
        }
        let id = st.next_listener;
        st.next_listener += 1;
        st.listeners.insert(
            id,
            ListenerState {
                port,
                families,
                pool: Vec::new(),
                ready: Default::default(),
                backlog: backlog.max(1),
                waker,
            },
        );
        Ok(Listener { id })
    })
    .unwrap_or(Err(Errno::ENETUNREACH))
}

impl Tcp {
    /// Runs `f` on the connection, then the stack (a change).
    fn with<R>(&self, f: impl FnOnce(&mut stcp::Socket<'static>, &mut Meta) -> R) -> R {
        with_stack(|st| {
            let meta = st
                .meta
                .get_mut(&self.handle)
                .expect("live connection has its meta");
            f(st.sockets.get_mut::<stcp::Socket>(self.handle), meta)
        })
        .expect("a connection exists only with the stack")
    }

    /// Runs `f` on the connection without running the stack (a question).
    fn ask<R>(&self, f: impl FnOnce(&mut stcp::Socket<'static>, &mut Meta) -> R) -> R {
        look(|st| {
            let meta = st
                .meta
                .get_mut(&self.handle)
                .expect("live connection has its meta");
            f(st.sockets.get_mut::<stcp::Socket>(self.handle), meta)
        })
        .expect("a connection exists only with the stack")
    }

    /// The handshake is still going on.
    pub fn is_connecting(&self) -> bool {
        self.ask(|s, m| {
            m.error.is_none() && matches!(s.state(), State::SynSent | State::SynReceived)
        })
    }

    /// The pending error (reset, refused, timed out), reported once.
    pub fn take_error(&self) -> Option<Errno> {
        self.ask(|_, m| {
            if m.error_reported {
                return None;
            }
            let e = m.error?;
            m.error_reported = true;
            Some(e)
        })
    }

    /// Receives into `buf` (`peek`: without consuming).
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> Result<Recv, Errno> {
        self.with(|s, m| {
            if let Some(e) = m.error {
                if m.error_reported {
                    return Ok(Recv::Eof);
                }
                m.error_reported = true;
                return Err(e);
            }
            let r = if peek {
                s.peek_slice(buf)
            } else {
                s.recv_slice(buf)
            };
            match r {
                Ok(0) | Err(stcp::RecvError::InvalidState)
                    if matches!(s.state(), State::SynSent | State::SynReceived) || s.may_recv() =>
                {
                    Ok(Recv::WouldBlock)
                }
                Ok(0) => Ok(Recv::Eof),
                Ok(n) => Ok(Recv::Data(n)),
                Err(_) => Ok(Recv::Eof),
            }
        })
    }

    /// Queues what fits of `data`; 0 when the buffer is full (or the handshake not done).
    /// `EPIPE` once this side or the connection is closed for sending.
    pub fn send(&self, data: &[u8]) -> Result<usize, Errno> {
        self.with(|s, m| {
            if let Some(e) = m.error {
                if m.error_reported {
                    return Err(Errno::EPIPE);
                }
                m.error_reported = true;
                return Err(e);
            }
            if matches!(s.state(), State::SynSent | State::SynReceived) {
                return Ok(0);
            }
            if !s.may_send() {
                return Err(Errno::EPIPE);
            }
            s.send_slice(data).map_err(|_| Errno::EPIPE)
        })
    }

    /// Data (or end of file, or an error) is there to read.
    pub fn readable(&self) -> bool {
        self.ask(|s, m| {
            m.error.is_some()
                || s.recv_queue() > 0
                || (!s.may_recv() && !matches!(s.state(), State::SynSent | State::SynReceived))
        })
    }

    /// A write would not block.
    pub fn writable(&self) -> bool {
        self.ask(|s, m| match s.state() {
            _ if m.error.is_some() => true,
            State::SynSent | State::SynReceived => false,
            _ if !s.may_send() => true,
            _ => s.send_queue() < s.send_capacity(),
        })
    }

    /// Bytes waiting to be read.
    pub fn available(&self) -> usize {
        self.ask(|s, _| s.recv_queue())
    }

    /// Sends FIN after the queued data: the peer reads end of file; reading goes on.
    pub fn shutdown_write(&self) {
        self.with(|s, m| {
            m.closed_by_us = true;
            s.close();
        });
    }

    /// Resets the connection (`SO_LINGER` 0, close with unread data).
    pub fn abort(&self) {
        self.with(|s, m| {
            m.closed_by_us = true;
            s.abort();
        });
    }

    /// This side's address and port.
    pub fn local(&self) -> Option<(IpAddr, u16)> {
        self.ask(|s, _| s.local_endpoint().map(endpoint))
    }

    /// The peer's address and port.
    pub fn remote(&self) -> Option<(IpAddr, u16)> {
        self.ask(|s, _| s.remote_endpoint().map(endpoint))
    }
}

impl Drop for Tcp {
    fn drop(&mut self) {
        let handle = self.handle;
        with_stack(|st| {
            if let Some(m) = st.meta.get_mut(&handle) {
                m.closed_by_us = true;
                m.waker = None;
                m.orphan_since = Some(time::monotonic_ns());
            }
            st.sockets.get_mut::<stcp::Socket>(handle).close();
        });
    }
}

/// Connections arriving on a port, each handed out by [`Listener::accept`].
pub struct Listener {
    id: u64,
}

impl Listener {
    /// The next established connection, which calls `waker` from now on.
    pub fn accept(&self, waker: Waker) -> Option<Tcp> {
        with_stack(|st| {
            let handle = st.listeners.get_mut(&self.id)?.ready.pop_front()?;
            // It completed its handshake: a later reset is `ECONNRESET`.
            let mut m = meta(Some(waker), None);
            m.established = true;
            st.meta.insert(handle, m);
            Some(Tcp { handle })
        })
        .flatten()
    }

    /// Established connections waiting for `accept`.
    pub fn pending(&self) -> usize {
        look(|st| st.listeners.get(&self.id).map_or(0, |l| l.ready.len())).unwrap_or(0)
    }

    pub fn set_backlog(&self, backlog: usize) {
        with_stack(|st| {
            if let Some(l) = st.listeners.get_mut(&self.id) {
                l.backlog = backlog.max(1);
            }
        });
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let id = self.id;
        with_stack(|st| {
            if let Some(l) = st.listeners.remove(&id) {
                for h in l.pool.into_iter().chain(l.ready) {
                    st.sockets.get_mut::<stcp::Socket>(h).abort();
                    // Kept until the reset went out, then reaped.
                    let mut m = meta(None, None);
                    m.closed_by_us = true;
                    m.orphan_since = Some(time::monotonic_ns());
                    st.meta.insert(h, m);
                }
            }
        });
    }
}

impl Stack {
    /// Moves handshakes that completed to their listener's accept queue, drops those that
    /// failed, and tops every listener up to [`SPARES`] listening sockets while its queue has
    /// room.
    pub(crate) fn refill_listeners(&mut self) {
        let ids: Vec<u64> = self.listeners.keys().copied().collect();
        // Handshakes completed on a listener of the port that does not take their family.
        let mut strays: Vec<(u16, SocketHandle)> = Vec::new();
        for id in ids {
            let Some(l) = self.listeners.get_mut(&id) else {
                continue;
            };
            let mut i = 0;
            let mut listening = 0;
            let mut woke = false;
            while i < l.pool.len() {
                let h = l.pool[i];
                let s = self.sockets.get::<stcp::Socket>(h);
                match s.state() {
                    State::Listen => {
                        listening += 1;
                        i += 1;
                    }
                    State::SynReceived => i += 1,
                    State::Closed | State::TimeWait => {
                        l.pool.swap_remove(i);
                        self.sockets.remove(h);
                    }
                    _ => {
                        l.pool.swap_remove(i);
                        if s.remote_endpoint().is_some_and(|e| {
                            l.families
                                .takes(&e.addr, s.local_endpoint().map(|e| e.addr).as_ref())
                        }) {
                            l.ready.push_back(h);
                            woke = true;
                        } else {
                            strays.push((l.port, h));
                        }
                    }
                }
            }
            if woke {
                self.to_wake.push(l.waker.clone());
            }
            while listening < SPARES && l.ready.len() + l.pool.len() < l.backlog + SPARES {
                let mut s = new_socket();
                if s.listen(IpListenEndpoint::from(l.port)).is_err() {
                    break;
                }
                l.pool.push(self.sockets.add(s));
                listening += 1;
            }
        }
        for (port, h) in strays {
            let s = self.sockets.get::<stcp::Socket>(h);
            let (peer, local) = (s.remote_endpoint(), s.local_endpoint().map(|e| e.addr));
            let owner = self.listeners.values_mut().find(|l| {
                l.port == port && peer.is_some_and(|e| l.families.takes(&e.addr, local.as_ref()))
            });
            match owner {
                Some(l) => {
                    l.ready.push_back(h);
                    self.to_wake.push(l.waker.clone());
                }
                None => {
                    // No listener of its family: reset, as Linux does to a SYN no socket takes.
                    self.sockets.get_mut::<stcp::Socket>(h).abort();
                    let mut m = meta(None, None);
                    m.closed_by_us = true;
                    m.orphan_since = Some(time::monotonic_ns());
                    self.meta.insert(h, m);
                }
            }
        }
    }
}
