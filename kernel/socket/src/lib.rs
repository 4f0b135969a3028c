//! Sockets on an in-kernel loopback network: TCP-like stream and UDP-like datagram sockets for
//! IPv4 (127.0.0.0/8, and `0.0.0.0` as the wildcard) and IPv6 (`::1`, `::`), and Unix-domain
//! stream and datagram sockets (file-system paths, abstract names, socket pairs).
//!
//! Owns: the [`Socket`] objects (each a `vfs::File`, so descriptors, `read`/`write`, `poll`,
//! epoll, `dup` and `close` work on them as on pipes), the port tables and Unix names
//! (`table`), the stream buffers (`stream`). May depend on `vfs` (the `File` trait, readiness
//! changes, creating and looking up the files of Unix path names), `task` (wait queues,
//! pending kills), `time` (timeouts, timestamps) and `spin`; nothing above it.
//!
//! The model is Linux's, as a program sees it through system calls, without packets: a
//! `connect` to a listening address queues an already-established connection on the
//! listener's accept queue (refused if nothing listens: `ECONNREFUSED`); bytes written to a
//! stream go straight into the peer's bounded receive buffer ([`STREAM_CAPACITY`]); datagrams
//! go straight into the receiving socket's queue ([`DATAGRAM_CAPACITY`]; UDP drops what does
//! not fit, Unix datagram senders block). What a peer sees after a close follows Linux: end of
//! file after an orderly close, `ECONNRESET` after an abortive one (unread data, `SO_LINGER`
//! 0, a connection never accepted); a TCP write after the peer closed is accepted once and
//! then fails with `EPIPE`. A connected UDP socket whose datagram finds no receiver gets
//! `ECONNREFUSED` on its next call (Linux's ICMP port-unreachable; over the network, the
//! ICMP error itself, `net`). Destinations off the host
//! are `ENETUNREACH`; binding to an address the host does not have is `EADDRNOTAVAIL`. The
//! network interface's own addresses are the host's too: sockets bind to them, and traffic
//! to them from this host stays in the loopback model (`net::is_own`).
//!
//! Blocking calls sleep on the socket's events (`events`), never spin, honour the socket's
//! timeouts (`SO_RCVTIMEO`/`SO_SNDTIMEO`: `EAGAIN` when they pass) and stop with `EINTR` when
//! the task is being killed. The calls that take an `Arc<Socket>` (`accept`, `connect`,
//! `send`, `recv`) do not hold the socket while they sleep: a killed task does not unwind, and
//! what its stack held would stay open (a killed server's port bound for good). Every change
//! that may make a socket readable or writable wakes `vfs::readiness` waiters.
//!
//! Unix path names: `bind` creates an empty file at the path (so the name is visible, `unlink`
//! removes it, and binding an existing path is `EADDRINUSE`); the socket is found through the
//! file's inode, so any link to it connects. `stat` shows a regular file, as the file system
//! has no socket nodes. The name is released when the socket closes; the file stays, as on
//! Linux. IPv6 is dual-stack as on Linux (`addr::Reach`): an IPv6 socket on `::` takes IPv4
//! too unless `IPV6_V6ONLY`, naming IPv4 peers v4-mapped, and reaches IPv4 sockets through
//! v4-mapped addresses; both families share one port table per protocol. Not done:
//! `SOCK_SEQPACKET`, out-of-band data, ancillary data (descriptor passing, credentials),
//! multicast and broadcast delivery.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod addr;
mod events;
mod net;
mod stream;
mod table;
mod tests;

pub use addr::{Addr, Family, SocketType, UnixName};
pub use stream::STREAM_CAPACITY;
pub use table::EPHEMERAL_PORTS;
pub use vfs::Errno;

/// `core::result::Result` with [`Errno`] errors, the same type as the VFS's, so a socket's
/// errors pass through `vfs::File` unchanged.
pub type Result<T> = core::result::Result<T, Errno>;

use addr::Ip;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use events::{Events, deadline};
use spin::Mutex;
use stream::{Close, Endpoint, ReadOutcome, connection};
use table::{BindRequest, NAMES, PortKey};
use vfs::{File, FileKind, Stat};

/// Bytes of datagrams a socket queues (each counted with [`DATAGRAM_OVERHEAD`]).
pub const DATAGRAM_CAPACITY: usize = 256 * 1024;
/// What a queued datagram costs beyond its payload (so empty datagrams are bounded too).
pub const DATAGRAM_OVERHEAD: usize = 256;
/// Largest UDP payload over IPv4 (65535 - 20 - 8) and over IPv6 (65535 - 8).
pub const UDP4_MAX: usize = 65_507;
pub const UDP6_MAX: usize = 65_527;
/// Largest Unix datagram (Linux's default send buffer less its overhead).
pub const UNIX_DATAGRAM_MAX: usize = 212_960;
/// Largest listen backlog (Linux's `somaxconn`).
pub const MAX_BACKLOG: u32 = 4096;

/// Socket options the network keeps. The numbers of options without an effect here are the
/// caller's business: `other` stores their values, by an opaque `(level, name)` key, so that
/// reading one gives back what was set.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub reuse_addr: bool,
    pub reuse_port: bool,
    /// `SO_LINGER`: `Some(0)` makes close abortive (the peer gets `ECONNRESET`).
    pub linger: Option<u32>,
    /// `SO_RCVTIMEO` / `SO_SNDTIMEO` in ns (`None`: block without limit).
    pub recv_timeout: Option<u64>,
    pub send_timeout: Option<u64>,
    /// `IPV6_V6ONLY`: an IPv6 socket takes no IPv4 datagrams or connections and reaches no
    /// IPv4 address (without it, one bound to `::` takes both families: Linux's dual stack).
    pub v6_only: bool,
    pub other: BTreeMap<(i32, i32), Vec<u8>>,
}

/// How `recv` reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvFlags {
    /// Copy without consuming (`MSG_PEEK`).
    pub peek: bool,
    /// Streams: wait until the buffer is full, end of file or an error (`MSG_WAITALL`).
    pub wait_all: bool,
    /// Do not block for this call (`MSG_DONTWAIT`).
    pub dont_wait: bool,
}

/// What `recv` got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes copied into the buffer (0 at end of file, or for an empty datagram).
    pub len: usize,
    /// The datagram's full length (more than `len` if it was truncated); `len` for streams.
    pub full_len: usize,
    /// The sender, for datagram sockets.
    pub from: Option<Addr>,
    /// The address a UDP datagram was sent to (`IP_ORIGDSTADDR`): the destination its
    /// sender named, or the receiver's own name for one from the network.
    pub to: Option<Addr>,
    /// A UDP datagram's IP header fields (defaults for one from the network).
    pub header: IpHeader,
    /// When a datagram was queued for the receiver (realtime ns; 0 for streams).
    pub arrived_ns: u64,
}

/// What a UDP datagram carries besides its bytes that a receiver may ask to see: its IP
/// header's fields (`IP_RECVTTL`, `IP_RECVTOS`, `IPV6_RECVHOPLIMIT`, `IPV6_RECVTCLASS`) and
/// the sender's mark (`SO_MARK`, `SO_RCVMARK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpHeader {
    /// TTL (IPv4) or hop limit (IPv6).
    pub hop_limit: u8,
    /// TOS (IPv4) or traffic class (IPv6).
    pub traffic_class: u8,
    /// The packet mark.
    pub mark: u32,
}

impl Default for IpHeader {
    /// Linux's defaults: 64 hops, class 0, no mark.
    fn default() -> IpHeader {
        IpHeader {
            hop_limit: 64,
            traffic_class: 0,
            mark: 0,
        }
    }
}

/// Which directions `shutdown` closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    Read,
    Write,
    Both,
}

enum State {
    Unconnected,
    Listening {
        queue: VecDeque<Arc<Socket>>,
        backlog: usize,
    },
    Connected(Endpoint),
    /// A TCP connection over the network (`net`).
    Net(Arc<net_stack::Tcp>),
}

struct Datagram {
    from: Addr,
    /// The destination the sender named (UDP over loopback).
    to: Option<Addr>,
    header: IpHeader,
    /// Realtime ns when it was queued.
    arrived_ns: u64,
    data: Vec<u8>,
}

struct Inner {
    state: State,
    /// The bound name (`None`: not bound yet).
    local: Option<Addr>,
    /// The connected peer (streams: once connected; datagrams: the default destination).
    peer: Option<Addr>,
    /// Unix datagram sockets: the connected peer itself (socket pairs have no names).
    peer_socket: Option<Weak<Socket>>,
    datagrams: VecDeque<Datagram>,
    /// Bytes charged for `datagrams`.
    queued: usize,
    /// Pending error (`SO_ERROR`) of a datagram socket or a listener.
    error: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    options: Options,
    /// A wildcard listener's listener on the network.
    net_listener: Option<Arc<net_stack::Listener>>,
    /// A UDP socket's port on the network (bound to a wildcard, or sending there).
    net_udp: Option<Arc<net_stack::Udp>>,
}

/// A socket: an endpoint of the loopback network and an open file.
pub struct Socket {
    me: Weak<Socket>,
    id: u64,
    family: Family,
    ty: SocketType,
    inner: Mutex<Inner>,
    events: Arc<Events>,
    nonblocking: AtomicBool,
    /// Closing aborts: a connection still in an accept queue.
    unaccepted: AtomicBool,
    created: i64,
}

/// Live sockets by the address of their `Socket` (the data pointer of the `Arc<dyn File>`).
static SOCKETS: Mutex<BTreeMap<usize, Weak<Socket>>> = Mutex::new(BTreeMap::new());

/// Inode numbers of sockets: above those of tree nodes, pipes, eventfds and epolls.
const INO_BASE: u64 = 5 << 48;

/// A new unbound socket.
pub fn socket(family: Family, ty: SocketType) -> Arc<Socket> {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let sock = Arc::new_cyclic(|me| Socket {
        me: me.clone(),
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        family,
        ty,
        inner: Mutex::new(Inner {
            state: State::Unconnected,
            local: None,
            peer: None,
            peer_socket: None,
            datagrams: VecDeque::new(),
            queued: 0,
            error: None,
            shut_rd: false,
            shut_wr: false,
            options: Options::default(),
            net_listener: None,
            net_udp: None,
        }),
        events: Events::new(),
        nonblocking: AtomicBool::new(false),
        unaccepted: AtomicBool::new(false),
        created: vfs::now(),
    });
    SOCKETS
        .lock()
        .insert(Arc::as_ptr(&sock) as usize, Arc::downgrade(&sock));
    sock
}

/// Two connected, unnamed Unix sockets of type `ty` (`socketpair`).
pub fn pair(ty: SocketType) -> (Arc<Socket>, Arc<Socket>) {
    let a = socket(Family::Unix, ty);
    let b = socket(Family::Unix, ty);
    match ty {
        SocketType::Stream => {
            let (ea, eb) = connection(&a.events, &b.events);
            for (s, e) in [(&a, ea), (&b, eb)] {
                let mut inner = s.inner.lock();
                inner.state = State::Connected(e);
                inner.local = Some(Addr::Unix(UnixName::Unnamed));
                inner.peer = Some(Addr::Unix(UnixName::Unnamed));
            }
        }
        SocketType::Datagram => {
            for (s, other) in [(&a, &b), (&b, &a)] {
                let mut inner = s.inner.lock();
                inner.peer = Some(Addr::Unix(UnixName::Unnamed));
                inner.peer_socket = Some(Arc::downgrade(other));
            }
        }
    }
    (a, b)
}

/// The socket behind an open file, if it is one.
pub fn from_file(file: &Arc<dyn File>) -> Option<Arc<Socket>> {
    // Every read and write asks: other kinds of file answer without the table's lock.
    if file.kind() != FileKind::Socket {
        return None;
    }
    let key = Arc::as_ptr(file).cast::<()>() as usize;
    let weak = SOCKETS.lock().get(&key).cloned();
    weak.and_then(|w| w.upgrade())
}

fn partial_or(done: usize, e: Errno) -> Result<usize> {
    if done > 0 { Ok(done) } else { Err(e) }
}

/// The socket a blocking call works on. A task killed while it sleeps ends without unwinding,
/// so whatever its stack holds is never dropped: the calls made through descriptors
/// (`accept`, `connect`, `send`, `recv`) take the socket (`Owned`), let go of it while
/// sleeping and take it back from a weak reference after, so a killed task keeps no socket
/// open (its descriptors close with its process, and with them the socket). The `File`
/// methods (`vfs::read`, `vfs::write`) hold it (`Borrowed`), as the VFS's own frame does
/// anyway; libtheseus's `fs::read` and `fs::write` take the owned way for sockets.
enum Holder<'a> {
    Borrowed(&'a Socket),
    Owned(Arc<Socket>),
}

impl Holder<'_> {
    fn get(&self) -> &Socket {
        match self {
            Holder::Borrowed(s) => s,
            Holder::Owned(s) => s,
        }
    }
}

/// Calls `attempt` until it has a result, sleeping on `events` between tries (unless
/// `nonblocking`: `EAGAIN`). `EAGAIN` when `deadline` passes, `EINTR` when the
/// task is being killed, `Closed` if the socket was closed while not held.
fn block_on<T>(
    holder: Holder<'_>,
    events: &Events,
    nonblocking: bool,
    deadline: Option<u64>,
    mut attempt: impl FnMut(&Socket) -> Option<Result<T>>,
) -> Result<T> {
    let weak = match &holder {
        Holder::Owned(s) => Some(Arc::downgrade(s)),
        Holder::Borrowed(_) => None,
    };
    let mut held = Some(holder);
    loop {
        let h = match held.take() {
            Some(h) => h,
            None => Holder::Owned(weak.as_ref().and_then(Weak::upgrade).ok_or(Errno::EBADF)?),
        };
        let seen = events.seen();
        if let Some(r) = attempt(h.get()) {
            return r;
        }
        if nonblocking {
            return Err(Errno::EAGAIN);
        }
        if let Holder::Borrowed(_) = h {
            held = Some(h);
        } else {
            drop(h);
        }
        events.wait(seen, deadline)?;
    }
}

/// The socket bound to a Unix name, if any.
fn unix_target(name: &UnixName) -> Result<Arc<Socket>> {
    let weak = match name {
        UnixName::Unnamed => return Err(Errno::EINVAL),
        UnixName::Abstract(n) => NAMES.lock().unix_abstract.get(n).map(|(_, w)| w.clone()),
        UnixName::Path(p) => {
            let path = core::str::from_utf8(p).map_err(|_| Errno::ENOENT)?;
            let st = vfs::stat(path)?;
            NAMES
                .lock()
                .unix_paths
                .get(&(st.ino, st.created))
                .map(|(_, w)| w.clone())
        }
    };
    weak.and_then(|w| w.upgrade()).ok_or(Errno::ECONNREFUSED)
}

impl Socket {
    pub fn family(&self) -> Family {
        self.family
    }

    pub fn socket_type(&self) -> SocketType {
        self.ty
    }

    /// TCP semantics (a stream socket of an IP family).
    fn tcp(&self) -> bool {
        self.ty == SocketType::Stream && self.family != Family::Unix
    }

    fn wrong_family(&self) -> Errno {
        if self.family == Family::Unix {
            Errno::EINVAL
        } else {
            Errno::EAFNOSUPPORT
        }
    }

    pub fn is_nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::Relaxed)
    }

    pub fn is_listening(&self) -> bool {
        matches!(self.inner.lock().state, State::Listening { .. })
    }

    /// Reads the options.
    pub fn with_options<R>(&self, f: impl FnOnce(&Options) -> R) -> R {
        f(&self.inner.lock().options)
    }

    /// Changes the options.
    pub fn set_options(&self, f: impl FnOnce(&mut Options)) {
        f(&mut self.inner.lock().options);
        self.events.notify();
    }

    /// The bound name: the wildcard address with port 0, or no name, if not bound.
    pub fn local_addr(&self) -> Addr {
        let inner = self.inner.lock();
        inner.local.clone().unwrap_or(match self.family {
            Family::Unix => Addr::Unix(UnixName::Unnamed),
            f => Addr::unspecified(f),
        })
    }

    /// The connected peer's name (`ENOTCONN` if not connected).
    pub fn peer_addr(&self) -> Result<Addr> {
        let inner = self.inner.lock();
        match (&inner.state, self.ty) {
            (State::Connected(_) | State::Net(_), _) | (_, SocketType::Datagram) => {
                inner.peer.clone().ok_or(Errno::ENOTCONN)
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// The pending error (`SO_ERROR`), cleared.
    pub fn take_error(&self) -> Option<Errno> {
        let mut inner = self.inner.lock();
        if let Some(e) = inner.error.take() {
            return Some(e);
        }
        match &inner.state {
            State::Connected(ep) => {
                let ep = ep.clone();
                drop(inner);
                ep.rx.take_error()
            }
            State::Net(tcp) => {
                let tcp = tcp.clone();
                drop(inner);
                tcp.take_error()
            }
            _ => None,
        }
    }

    /// Bytes a read would get now (`FIONREAD`): buffered stream bytes, or the size of the
    /// next datagram.
    pub fn available(&self) -> usize {
        let inner = self.inner.lock();
        match &inner.state {
            State::Connected(ep) => {
                let ep = ep.clone();
                drop(inner);
                ep.rx.available()
            }
            State::Net(tcp) => {
                let tcp = tcp.clone();
                drop(inner);
                tcp.available()
            }
            _ => inner.datagrams.front().map_or(0, |d| d.data.len()),
        }
    }

    fn bind_request(&self, ip: Ip, port: u16, options: &Options) -> BindRequest {
        BindRequest {
            id: self.id,
            family: self.family,
            ty: self.ty,
            ip,
            v6_only: self.v6_only(options),
            port,
            reuse_addr: options.reuse_addr,
            reuse_port: options.reuse_port,
            socket: self.me.clone(),
        }
    }

    /// `IPV6_V6ONLY` in effect (an IPv6 socket).
    fn v6_only(&self, options: &Options) -> bool {
        self.family == Family::Inet6 && options.v6_only
    }

    /// The wildcard address of this socket's family (canonical).
    fn wildcard(&self) -> Ip {
        if self.family == Family::Inet {
            Ip::V4_ANY
        } else {
            Ip::ANY
        }
    }

    /// `ENETUNREACH` for an IPv4 destination (v4-mapped) of an `IPV6_V6ONLY` socket, as Linux.
    fn check_v4_allowed(&self, dst: Ip) -> Result<()> {
        if dst.is_v4() && self.with_options(|o| self.v6_only(o)) {
            return Err(Errno::ENETUNREACH);
        }
        Ok(())
    }

    /// Sets `IPV6_V6ONLY`: `EINVAL` once the socket is bound (Linux), `ENOPROTOOPT` on a
    /// socket that is not IPv6.
    pub fn set_v6_only(&self, on: bool) -> Result<()> {
        if self.family != Family::Inet6 {
            return Err(Errno::ENOPROTOOPT);
        }
        let mut inner = self.inner.lock();
        if inner.local.is_some() {
            return Err(Errno::EINVAL);
        }
        inner.options.v6_only = on;
        Ok(())
    }

    /// Binds to `addr` (port 0: an ephemeral port; a Unix name without bytes: an autobound
    /// abstract name).
    pub fn bind(&self, addr: &Addr) -> Result<()> {
        if addr.family() != self.family {
            return Err(self.wrong_family());
        }
        match addr {
            Addr::Unix(name) => self.bind_unix(name),
            _ => {
                let ip = addr.ip();
                // A v4-mapped address binds an IPv6 socket to IPv4 alone; not with
                // `IPV6_V6ONLY` (Linux: `EINVAL`).
                if self.family == Family::Inet6 && ip.is_v4() && self.with_options(|o| o.v6_only) {
                    return Err(Errno::EINVAL);
                }
                if !ip.is_local() && !net::is_own(ip) {
                    return Err(Errno::EADDRNOTAVAIL);
                }
                let mut names = NAMES.lock();
                let mut inner = self.inner.lock();
                if inner.local.is_some() || !matches!(inner.state, State::Unconnected) {
                    return Err(Errno::EINVAL);
                }
                let req = self.bind_request(ip, addr.port(), &inner.options);
                let port = names.bind(req)?;
                inner.local = Some(addr.with_port(port));
                drop(inner);
                drop(names);
                if net::on_network(ip) {
                    self.open_net_udp();
                }
                Ok(())
            }
        }
    }

    fn bind_unix(&self, name: &UnixName) -> Result<()> {
        if self.inner.lock().local.is_some() {
            return Err(Errno::EINVAL);
        }
        let path_key = match name {
            UnixName::Path(p) => {
                let path = core::str::from_utf8(p).map_err(|_| Errno::ENOENT)?;
                let opts = vfs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .exclusive(true)
                    .mode(0o755);
                match vfs::open_file(path, opts) {
                    Ok(_) => {}
                    Err(Errno::EEXIST) => return Err(Errno::EADDRINUSE),
                    Err(e) => return Err(e),
                }
                let st = vfs::lstat(path)?;
                Some((st.ino, st.created))
            }
            _ => None,
        };
        let mut names = NAMES.lock();
        let mut inner = self.inner.lock();
        if inner.local.is_some() {
            return Err(Errno::EINVAL);
        }
        let entry = (self.id, self.me.clone());
        let bound = match (name, path_key) {
            (UnixName::Path(_), Some(key)) => {
                names.unix_paths.insert(key, entry);
                name.clone()
            }
            (UnixName::Abstract(n), _) => {
                if names.unix_abstract.contains_key(n) {
                    return Err(Errno::EADDRINUSE);
                }
                names.unix_abstract.insert(n.clone(), entry);
                name.clone()
            }
            _ => {
                let n = names.autobind_name();
                names.unix_abstract.insert(n.clone(), entry);
                UnixName::Abstract(n)
            }
        };
        inner.local = Some(Addr::Unix(bound));
        Ok(())
    }

    /// Starts listening (streams), binding an ephemeral port first if unbound (IP); again on a
    /// listener: changes the backlog.
    pub fn listen(&self, backlog: u32) -> Result<()> {
        if self.ty != SocketType::Stream {
            return Err(Errno::ENOTSUP);
        }
        let backlog = backlog.min(MAX_BACKLOG) as usize;
        let mut names = NAMES.lock();
        let mut inner = self.inner.lock();
        match &mut inner.state {
            State::Connected(_) | State::Net(_) => return Err(Errno::EINVAL),
            State::Listening { backlog: b, .. } => {
                *b = backlog;
                if let Some(l) = &inner.net_listener {
                    l.set_backlog(backlog);
                }
                return Ok(());
            }
            State::Unconnected => {}
        }
        if self.family == Family::Unix {
            if inner.local.is_none() {
                return Err(Errno::EINVAL);
            }
        } else {
            if inner.local.is_none() {
                let req = self.bind_request(self.wildcard(), 0, &inner.options);
                let port = names.bind(req)?;
                inner.local = Some(Addr::unspecified(self.family).with_port(port));
            }
            let port = inner.local.as_ref().map_or(0, Addr::port);
            let key = PortKey { ty: self.ty, port };
            names.listen(key, self.id)?;
            // A wildcard listener takes connections from the network too: IPv4 ones for an
            // IPv4 socket, both families for an IPv6 one (IPv4 peers v4-mapped), IPv6 alone
            // with `IPV6_V6ONLY`; one bound to the interface's address those addressed to it.
            if let Some(local) = inner.local.clone()
                && net::on_network(local.ip())
            {
                let v6_only = self.v6_only(&inner.options);
                inner.net_listener = self
                    .listen_net(local.ip(), port, backlog, v6_only)
                    .map(Arc::new);
            }
        }
        inner.state = State::Listening {
            queue: VecDeque::new(),
            backlog,
        };
        inner.shut_rd = false;
        drop(inner);
        drop(names);
        self.events.notify();
        Ok(())
    }

    /// Takes the next connection from the accept queue (blocking unless non-blocking). Takes
    /// the socket: it is not held while the call sleeps (see [`Holder`]).
    pub fn accept(self: Arc<Self>) -> Result<Arc<Socket>> {
        if self.ty != SocketType::Stream {
            return Err(Errno::ENOTSUP);
        }
        let deadline = deadline(self.with_options(|o| o.recv_timeout));
        let (events, nonblocking) = (self.events.clone(), self.is_nonblocking());
        block_on(Holder::Owned(self), &events, nonblocking, deadline, |s| {
            let mut inner = s.inner.lock();
            let shut = inner.shut_rd;
            let State::Listening { queue, .. } = &mut inner.state else {
                return Some(Err(Errno::EINVAL));
            };
            if shut {
                return Some(Err(Errno::EINVAL));
            }
            let conn = match queue.pop_front() {
                Some(conn) => conn,
                None => {
                    let net = inner.net_listener.clone()?;
                    drop(inner);
                    return s.accept_net(&net).map(Ok);
                }
            };
            drop(inner);
            conn.unaccepted.store(false, Ordering::SeqCst);
            // Room in the queue for blocked connectors.
            s.events.notify();
            Some(Ok(conn))
        })
    }

    /// Connects: a stream to a listener, or a datagram socket's default peer. Takes the
    /// socket: it is not held while the call sleeps.
    pub fn connect(self: Arc<Self>, addr: &Addr) -> Result<()> {
        if addr.family() != self.family {
            return Err(self.wrong_family());
        }
        match self.ty {
            SocketType::Stream => self.connect_stream(addr),
            SocketType::Datagram => self.connect_datagram(addr),
        }
    }

    /// Dissolves a datagram socket's association (`connect` with `AF_UNSPEC`); aborts a
    /// stream connection.
    pub fn disconnect(&self) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.peer_socket = None;
        if self.ty == SocketType::Datagram {
            inner.peer = None;
            return Ok(());
        }
        match core::mem::replace(&mut inner.state, State::Unconnected) {
            State::Connected(ep) => {
                inner.peer = None;
                drop(inner);
                ep.close(Close::Abort, self.tcp());
                self.events.notify();
            }
            State::Net(tcp) => {
                inner.peer = None;
                drop(inner);
                tcp.abort();
                self.events.notify();
            }
            other => inner.state = other,
        }
        Ok(())
    }

    /// The listener a stream connection to `addr` goes to, this socket's name (bound to an
    /// ephemeral port first if needed) and the peer's name as the client sees it.
    fn find_listener(&self, addr: &Addr) -> Result<(Arc<Socket>, Addr, Addr)> {
        if let Addr::Unix(name) = addr {
            let target = unix_target(name)?;
            if target.ty != SocketType::Stream {
                return Err(Errno::EPROTOTYPE);
            }
            let local = self
                .inner
                .lock()
                .local
                .clone()
                .unwrap_or(Addr::Unix(UnixName::Unnamed));
            // The client sees the listener's name as it was bound.
            let peer = target.local_addr();
            return Ok((target, local, peer));
        }
        self.check_v4_allowed(addr.ip())?;
        let dst = route(addr.ip()).ok_or(Errno::ENETUNREACH)?;
        if addr.port() == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        let found = {
            let mut names = NAMES.lock();
            let mut inner = self.inner.lock();
            if inner.local.is_none() {
                let src = source(Ip::ANY, dst)?;
                let req = self.bind_request(src, 0, &inner.options);
                let port = names.bind(req)?;
                inner.local = Some(Addr::from_ip(self.family, src, port));
            }
            let local = inner.local.clone().unwrap_or(Addr::Unix(UnixName::Unnamed));
            names.listener(dst, addr.port()).map(|l| (l, local))
        };
        let Some((listener, local)) = found else {
            return Err(Errno::ECONNREFUSED);
        };
        let src = source(local.ip(), dst)?;
        Ok((
            listener,
            Addr::from_ip(self.family, src, local.port()),
            Addr::from_ip(self.family, dst, addr.port()),
        ))
    }

    fn connect_stream(self: Arc<Self>, addr: &Addr) -> Result<()> {
        {
            let inner = self.inner.lock();
            match &inner.state {
                State::Connected(_) => return Err(Errno::EISCONN),
                State::Net(tcp) => {
                    let tcp = tcp.clone();
                    drop(inner);
                    return self.reconnect_net(tcp);
                }
                State::Listening { .. } if self.tcp() => return Err(Errno::EISCONN),
                State::Listening { .. } => return Err(Errno::EINVAL),
                State::Unconnected => {}
            }
        }
        if self.family != Family::Unix {
            self.check_v4_allowed(addr.ip())?;
        }
        if net::is_remote(self.family, addr) {
            return self.connect_net(addr);
        }
        let deadline = deadline(self.with_options(|o| o.send_timeout));
        let nonblocking = self.is_nonblocking();
        // A non-blocking TCP connect is never refused for a full queue (Linux would retry
        // the handshake in the background); a Unix one is (EAGAIN).
        let force = nonblocking && self.tcp();
        let weak = Arc::downgrade(&self);
        let mut held = Some(self);
        loop {
            let me = match held.take() {
                Some(me) => me,
                None => weak.upgrade().ok_or(Errno::EBADF)?,
            };
            let (listener, local, peer) = me.find_listener(addr)?;
            let events = listener.events.clone();
            let seen = events.seen();
            if listener.offer(&me, local, peer, force)? {
                return Ok(());
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            // Neither socket is held while waiting for room in the queue.
            drop(listener);
            drop(me);
            events.wait(seen, deadline)?;
        }
    }

    /// A listener takes a connection from `client` (named `client_addr`) to `dst`: the
    /// server's end goes on the accept queue, the client's end is connected. False if the
    /// queue is full (unless `force`).
    fn offer(&self, client: &Socket, client_addr: Addr, dst: Addr, force: bool) -> Result<bool> {
        let server = socket(self.family, SocketType::Stream);
        server.unaccepted.store(true, Ordering::SeqCst);
        let (client_end, server_end) = connection(&client.events, &server.events);
        {
            let mut l = self.inner.lock();
            let options = l.options.clone();
            // Each end names the addresses in its own family (an IPv6 listener's end of an
            // IPv4 connection: v4-mapped).
            let (server_local, server_peer) = match self.family {
                Family::Unix => (l.local.clone(), client_addr.clone()),
                f => (
                    Some(Addr::from_ip(f, dst.ip(), dst.port())),
                    Addr::from_ip(f, client_addr.ip(), client_addr.port()),
                ),
            };
            let shut = l.shut_rd;
            let State::Listening { queue, backlog } = &mut l.state else {
                return Err(Errno::ECONNREFUSED);
            };
            if shut {
                return Err(Errno::ECONNREFUSED);
            }
            // Linux accepts backlog + 1 connections before the queue counts as full. Forced
            // (non-blocking TCP) connections have a hard limit too.
            if queue.len() > *backlog && !force {
                return Ok(false);
            }
            if queue.len() >= 2 * MAX_BACKLOG as usize {
                return Err(Errno::ECONNREFUSED);
            }
            {
                let mut s = server.inner.lock();
                s.state = State::Connected(server_end);
                s.local = server_local;
                s.peer = Some(server_peer);
                s.options = options;
            }
            queue.push_back(server);
        }
        {
            let mut c = client.inner.lock();
            c.state = State::Connected(client_end);
            c.local = Some(client_addr);
            c.peer = Some(dst);
        }
        self.events.notify();
        client.events.notify();
        Ok(true)
    }

    fn connect_datagram(&self, addr: &Addr) -> Result<()> {
        match addr {
            Addr::Unix(name) => {
                let target = unix_target(name)?;
                if target.ty != SocketType::Datagram {
                    return Err(Errno::EPROTOTYPE);
                }
                let mut inner = self.inner.lock();
                inner.peer = Some(addr.clone());
                inner.peer_socket = Some(Arc::downgrade(&target));
                Ok(())
            }
            _ if net::is_remote(self.family, addr) => {
                self.check_v4_allowed(addr.ip())?;
                self.connect_udp_net(addr)
            }
            _ => {
                self.check_v4_allowed(addr.ip())?;
                let dst = route(addr.ip()).ok_or(Errno::ENETUNREACH)?;
                let mut names = NAMES.lock();
                let mut inner = self.inner.lock();
                if inner.local.is_none() {
                    let req = self.bind_request(self.wildcard(), 0, &inner.options);
                    let port = names.bind(req)?;
                    inner.local = Some(Addr::unspecified(self.family).with_port(port));
                }
                // The source address the route picks becomes the local name, as on Linux.
                if let Some(local) = inner.local.clone() {
                    let src = source(local.ip(), dst)?;
                    inner.local = Some(Addr::from_ip(self.family, src, local.port()));
                }
                inner.peer = Some(Addr::from_ip(self.family, dst, addr.port()));
                inner.error = None;
                Ok(())
            }
        }
    }

    /// Sends `data`: on a stream, to the peer (all of it when blocking; what fits when not);
    /// on a datagram socket, one datagram to `to` or the connected peer. Takes the socket: it
    /// is not held while the call sleeps.
    pub fn send(self: Arc<Self>, data: &[u8], to: Option<&Addr>, dont_wait: bool) -> Result<usize> {
        Socket::send_in(
            Holder::Owned(self),
            data,
            to,
            dont_wait,
            IpHeader::default(),
        )
    }

    /// [`Socket::send`] with the IP header fields a UDP datagram carries.
    pub fn send_with_header(
        self: Arc<Self>,
        data: &[u8],
        to: Option<&Addr>,
        dont_wait: bool,
        header: IpHeader,
    ) -> Result<usize> {
        Socket::send_in(Holder::Owned(self), data, to, dont_wait, header)
    }

    fn send_in(
        h: Holder<'_>,
        data: &[u8],
        to: Option<&Addr>,
        dont_wait: bool,
        header: IpHeader,
    ) -> Result<usize> {
        match h.get().ty {
            SocketType::Stream => Socket::send_stream(h, data, to, dont_wait),
            SocketType::Datagram => Socket::send_datagram(h, data, to, dont_wait, header),
        }
    }

    fn send_stream(
        h: Holder<'_>,
        data: &[u8],
        to: Option<&Addr>,
        dont_wait: bool,
    ) -> Result<usize> {
        let s = h.get();
        let tcp = s.tcp();
        let ep = {
            let inner = s.inner.lock();
            match &inner.state {
                State::Connected(_) if to.is_some() && !tcp => return Err(Errno::EISCONN),
                State::Connected(ep) => ep.clone(),
                State::Net(t) => {
                    let t = t.clone();
                    drop(inner);
                    return Socket::send_net(h, &t, data, dont_wait);
                }
                _ if to.is_some() && !tcp => return Err(Errno::ENOTSUP),
                _ if tcp => return Err(Errno::EPIPE),
                _ => return Err(Errno::ENOTCONN),
            }
        };
        let nonblocking = dont_wait || s.is_nonblocking();
        let deadline = deadline(s.with_options(|o| o.send_timeout));
        let events = s.events.clone();
        let mut written = 0;
        let r = block_on(h, &events, nonblocking, deadline, |s| {
            if tcp && let Some(e) = ep.rx.take_error() {
                return Some(Err(e));
            }
            if s.inner.lock().shut_wr {
                return Some(Err(Errno::EPIPE));
            }
            if data.is_empty() {
                return Some(Ok(0));
            }
            loop {
                match ep.tx.write(&data[written..], tcp, &ep.rx) {
                    Ok(0) => return None,
                    Ok(n) => {
                        written += n;
                        if written == data.len() {
                            return Some(Ok(written));
                        }
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
        });
        r.or_else(|e| partial_or(written, e))
    }

    /// A stream send over the network: all of `data` when blocking, what fits when not.
    fn send_net(
        h: Holder<'_>,
        tcp: &net_stack::Tcp,
        data: &[u8],
        dont_wait: bool,
    ) -> Result<usize> {
        let s = h.get();
        let nonblocking = dont_wait || s.is_nonblocking();
        let deadline = deadline(s.with_options(|o| o.send_timeout));
        let events = s.events.clone();
        let mut written = 0;
        let r = block_on(h, &events, nonblocking, deadline, |s| {
            if s.inner.lock().shut_wr {
                return Some(Err(Errno::EPIPE));
            }
            if data.is_empty() {
                return Some(Ok(0));
            }
            match tcp.send(&data[written..]) {
                Ok(0) => None,
                Ok(n) => {
                    written += n;
                    (written == data.len()).then_some(Ok(written))
                }
                Err(e) => Some(Err(e)),
            }
        });
        r.or_else(|e| partial_or(written, e))
    }

    /// A stream receive over the network.
    fn recv_net(
        h: Holder<'_>,
        tcp: &net_stack::Tcp,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<usize> {
        let s = h.get();
        if buf.is_empty() {
            return Ok(0);
        }
        let nonblocking = flags.dont_wait || s.is_nonblocking();
        let deadline = deadline(s.with_options(|o| o.recv_timeout));
        let events = s.events.clone();
        let mut got = 0;
        let r = block_on(h, &events, nonblocking, deadline, |s| {
            loop {
                if s.inner.lock().shut_rd {
                    return Some(Ok(got));
                }
                match tcp.recv(&mut buf[got..], flags.peek) {
                    Ok(net_stack::Recv::Data(n)) => {
                        got += n;
                        if !flags.wait_all || flags.peek || got == buf.len() {
                            return Some(Ok(got));
                        }
                    }
                    Ok(net_stack::Recv::WouldBlock) => return None,
                    Ok(net_stack::Recv::Eof) => return Some(Ok(got)),
                    Err(e) => return Some(Err(e)),
                }
            }
        });
        r.or_else(|e| partial_or(got, e))
    }

    fn send_datagram(
        h: Holder<'_>,
        data: &[u8],
        to: Option<&Addr>,
        dont_wait: bool,
        header: IpHeader,
    ) -> Result<usize> {
        let s = h.get();
        let (dest, peer_socket) = {
            let mut inner = s.inner.lock();
            if let Some(e) = inner.error.take() {
                return Err(e);
            }
            if inner.shut_wr {
                return Err(Errno::EPIPE);
            }
            match (to, &inner.peer) {
                (Some(a), _) => (a.clone(), None),
                (None, Some(p)) => (p.clone(), inner.peer_socket.clone()),
                (None, None) if s.family == Family::Unix => {
                    return Err(Errno::ENOTCONN);
                }
                (None, None) => return Err(Errno::EDESTADDRREQ),
            }
        };
        if dest.family() != s.family {
            return Err(s.wrong_family());
        }
        if s.family == Family::Unix {
            Socket::send_unix_datagram(h, data, &dest, peer_socket, dont_wait)
        } else {
            s.send_udp(data, &dest, header)
        }
    }

    fn send_udp(&self, data: &[u8], dest: &Addr, header: IpHeader) -> Result<usize> {
        let max = if self.family == Family::Inet {
            UDP4_MAX
        } else {
            UDP6_MAX
        };
        if data.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        self.check_v4_allowed(dest.ip())?;
        if net::is_remote(self.family, dest) {
            return self.send_udp_net(data, dest);
        }
        let dst = route(dest.ip()).ok_or(Errno::ENETUNREACH)?;
        if dest.port() == 0 {
            return Err(Errno::EINVAL);
        }
        let (from, receivers) = {
            let mut names = NAMES.lock();
            let mut inner = self.inner.lock();
            if inner.local.is_none() {
                let req = self.bind_request(self.wildcard(), 0, &inner.options);
                let port = names.bind(req)?;
                inner.local = Some(Addr::unspecified(self.family).with_port(port));
            }
            let local = inner.local.clone().unwrap_or(Addr::Unix(UnixName::Unnamed));
            (
                (source(local.ip(), dst)?, local.port()),
                names.datagram_receivers(dst, dest.port()),
            )
        };
        let to = (dst, dest.port());
        let delivered = receivers
            .iter()
            .any(|r| r.take_udp(from, Some(to), header, data));
        if !delivered {
            // What Linux's ICMP port unreachable does.
            self.refused(to);
        }
        Ok(data.len())
    }

    /// A datagram this socket sent to `to` (canonical address and port) found no receiver
    /// (on loopback, or an ICMP port unreachable from the network): a socket connected to
    /// `to` gets `ECONNREFUSED` from its next call (`send`, `recv`, `SO_ERROR`), once, as on
    /// Linux; an unconnected one, or one connected elsewhere, is not told.
    fn refused(&self, to: (Ip, u16)) {
        let to = Addr::from_ip(self.family, to.0, to.1);
        let mut inner = self.inner.lock();
        if inner.peer.as_ref() != Some(&to) {
            return;
        }
        inner.error = Some(Errno::ECONNREFUSED);
        drop(inner);
        // A blocked `recv` and `poll` (an error is readable and writable) learn of it.
        self.events.notify();
    }

    /// A UDP datagram from `from` (canonical address and port) for this socket, sent to
    /// `to`: true if this socket is its receiver (it may still be dropped for want of room,
    /// as UDP does). Both are named in this socket's family (an IPv6 socket's IPv4 sender:
    /// v4-mapped).
    fn take_udp(
        &self,
        from: (Ip, u16),
        to: Option<(Ip, u16)>,
        header: IpHeader,
        data: &[u8],
    ) -> bool {
        let from = &Addr::from_ip(self.family, from.0, from.1);
        let to = to.map(|(ip, port)| Addr::from_ip(self.family, ip, port));
        let to = to.as_ref();
        let mut inner = self.inner.lock();
        if inner.peer.as_ref().is_some_and(|p| p != from) {
            return false;
        }
        let cost = data.len() + DATAGRAM_OVERHEAD;
        if !inner.shut_rd && inner.queued + cost <= DATAGRAM_CAPACITY {
            inner.queued += cost;
            inner.datagrams.push_back(Datagram {
                from: from.clone(),
                to: to.cloned(),
                header,
                arrived_ns: time::realtime_ns(),
                data: data.to_vec(),
            });
            drop(inner);
            self.events.notify();
        }
        true
    }

    fn send_unix_datagram(
        h: Holder<'_>,
        data: &[u8],
        dest: &Addr,
        peer: Option<Weak<Socket>>,
        dont_wait: bool,
    ) -> Result<usize> {
        let s = h.get();
        if data.len() > UNIX_DATAGRAM_MAX {
            return Err(Errno::EMSGSIZE);
        }
        let target = match (peer, dest) {
            (Some(w), _) => w.upgrade().ok_or(Errno::ECONNREFUSED)?,
            (None, Addr::Unix(name)) => unix_target(name)?,
            (None, _) => return Err(Errno::EINVAL),
        };
        if target.ty != SocketType::Datagram {
            return Err(Errno::EPROTOTYPE);
        }
        let from = s
            .inner
            .lock()
            .local
            .clone()
            .unwrap_or(Addr::Unix(UnixName::Unnamed));
        let nonblocking = dont_wait || s.is_nonblocking();
        let deadline = deadline(s.with_options(|o| o.send_timeout));
        let events = target.events.clone();
        let target_weak = Arc::downgrade(&target);
        let mut target = Some(target);
        block_on(h, &events, nonblocking, deadline, |_| {
            let t = match target.take() {
                Some(t) => t,
                None => match target_weak.upgrade() {
                    Some(t) => t,
                    None => return Some(Err(Errno::ECONNREFUSED)),
                },
            };
            let mut ti = t.inner.lock();
            if ti.shut_rd {
                return Some(Err(Errno::ECONNREFUSED));
            }
            let cost = data.len() + DATAGRAM_OVERHEAD;
            // An empty queue takes any datagram that may be sent at all.
            if ti.datagrams.is_empty() || ti.queued + cost <= DATAGRAM_CAPACITY {
                ti.queued += cost;
                ti.datagrams.push_back(Datagram {
                    from: from.clone(),
                    to: None,
                    header: IpHeader::default(),
                    arrived_ns: time::realtime_ns(),
                    data: data.to_vec(),
                });
                drop(ti);
                t.events.notify();
                return Some(Ok(data.len()));
            }
            // The receiver is not held while waiting for room.
            None
        })
    }

    /// Receives into `buf`: stream bytes, or one datagram (truncated to `buf`, the rest of
    /// it discarded unless peeking). Takes the socket: it is not held while the call sleeps.
    pub fn recv(self: Arc<Self>, buf: &mut [u8], flags: RecvFlags) -> Result<Received> {
        Socket::recv_in(Holder::Owned(self), buf, flags)
    }

    fn recv_in(h: Holder<'_>, buf: &mut [u8], flags: RecvFlags) -> Result<Received> {
        match h.get().ty {
            SocketType::Stream => Socket::recv_stream(h, buf, flags).map(|len| Received {
                len,
                full_len: len,
                from: None,
                to: None,
                header: IpHeader::default(),
                arrived_ns: 0,
            }),
            SocketType::Datagram => Socket::recv_datagram(h, buf, flags),
        }
    }

    fn recv_stream(h: Holder<'_>, buf: &mut [u8], flags: RecvFlags) -> Result<usize> {
        let s = h.get();
        let ep = {
            let inner = s.inner.lock();
            match &inner.state {
                State::Connected(ep) => ep.clone(),
                State::Net(t) => {
                    let t = t.clone();
                    drop(inner);
                    return Socket::recv_net(h, &t, buf, flags);
                }
                _ if s.tcp() => return Err(Errno::ENOTCONN),
                _ => return Err(Errno::EINVAL),
            }
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let nonblocking = flags.dont_wait || s.is_nonblocking();
        let deadline = deadline(s.with_options(|o| o.recv_timeout));
        let events = s.events.clone();
        let mut got = 0;
        let r = block_on(h, &events, nonblocking, deadline, |s| {
            loop {
                let shut = s.inner.lock().shut_rd;
                match ep.rx.read(&mut buf[got..], flags.peek, shut) {
                    Ok(ReadOutcome::Done(0)) => return Some(Ok(got)),
                    Ok(ReadOutcome::Done(n)) => {
                        got += n;
                        if !flags.wait_all || flags.peek || got == buf.len() {
                            return Some(Ok(got));
                        }
                    }
                    Ok(ReadOutcome::Empty) => return None,
                    Err(e) => return Some(Err(e)),
                }
            }
        });
        r.or_else(|e| partial_or(got, e))
    }

    fn recv_datagram(h: Holder<'_>, buf: &mut [u8], flags: RecvFlags) -> Result<Received> {
        let s = h.get();
        let nonblocking = flags.dont_wait || s.is_nonblocking();
        let deadline = deadline(s.with_options(|o| o.recv_timeout));
        let events = s.events.clone();
        block_on(h, &events, nonblocking, deadline, |s| {
            let mut inner = s.inner.lock();
            if let Some(e) = inner.error.take() {
                return Some(Err(e));
            }
            if let Some(d) = inner.datagrams.front() {
                let len = buf.len().min(d.data.len());
                buf[..len].copy_from_slice(&d.data[..len]);
                // An unnamed Unix sender has no address (Linux: length 0).
                let from = match &d.from {
                    Addr::Unix(UnixName::Unnamed) => None,
                    a => Some(a.clone()),
                };
                let to = match (&d.to, &d.from) {
                    (_, Addr::Unix(_)) => None,
                    (Some(to), _) => Some(to.clone()),
                    (None, _) => inner.local.clone(),
                };
                let got = Received {
                    len,
                    full_len: d.data.len(),
                    from,
                    to,
                    header: d.header,
                    arrived_ns: d.arrived_ns,
                };
                if !flags.peek {
                    inner.queued -= d.data.len() + DATAGRAM_OVERHEAD;
                    inner.datagrams.pop_front();
                    drop(inner);
                    // Room for blocked Unix datagram senders.
                    s.events.notify();
                }
                return Some(Ok(got));
            }
            if inner.shut_rd {
                return Some(Ok(Received {
                    len: 0,
                    full_len: 0,
                    from: None,
                    to: None,
                    header: IpHeader::default(),
                    arrived_ns: 0,
                }));
            }
            None
        })
    }

    /// Shuts down reading, writing or both.
    pub fn shutdown(&self, how: Shutdown) -> Result<()> {
        let (rd, wr) = match how {
            Shutdown::Read => (true, false),
            Shutdown::Write => (false, true),
            Shutdown::Both => (true, true),
        };
        let mut inner = self.inner.lock();
        let ep = match &inner.state {
            State::Connected(ep) => Some(ep.clone()),
            State::Net(tcp) => {
                let tcp = tcp.clone();
                inner.shut_rd |= rd;
                inner.shut_wr |= wr;
                drop(inner);
                if wr {
                    tcp.shutdown_write();
                }
                self.events.notify();
                return Ok(());
            }
            State::Listening { .. } => None,
            State::Unconnected if self.ty == SocketType::Stream => {
                return Err(Errno::ENOTCONN);
            }
            State::Unconnected if self.family != Family::Unix && inner.peer.is_none() => {
                return Err(Errno::ENOTCONN);
            }
            State::Unconnected => None,
        };
        inner.shut_rd |= rd;
        inner.shut_wr |= wr;
        drop(inner);
        if let Some(ep) = ep {
            if wr {
                ep.tx.finish();
            }
            if rd && !self.tcp() {
                ep.rx.refuse_writes();
            }
        }
        self.events.notify();
        Ok(())
    }

    fn stat(&self) -> Stat {
        Stat {
            kind: FileKind::Socket,
            size: 0,
            allocated: 0,
            mode: 0o777,
            nlink: 1,
            created: self.created,
            modified: self.created,
            accessed: self.created,
            ino: INO_BASE + self.id,
        }
    }
}

/// Where a packet to `ip` goes when it stays on this host: itself for a local address or one
/// of the interface's own, the loopback address for a wildcard; `None` if off the host.
fn route(ip: Ip) -> Option<Ip> {
    ip.route().or_else(|| net::is_own(ip).then_some(ip))
}

/// The source address of a packet to `dst` (canonical, on this host) from a socket bound to
/// `bound`: for a wildcard the interface's address if `dst` is that, else the loopback
/// address of `dst`'s family; else the bound address, which must be of `dst`'s family
/// (`ENETUNREACH`; Linux would send an IPv6 socket's IPv4 packets from 127.0.0.6).
fn source(bound: Ip, dst: Ip) -> Result<Ip> {
    if bound.is_any() {
        if bound == Ip::V4_ANY && !dst.is_v4() {
            return Err(Errno::ENETUNREACH);
        }
        Ok(if net::is_own(dst) {
            dst
        } else {
            dst.loopback_of()
        })
    } else if bound.is_v4() == dst.is_v4() {
        Ok(bound)
    } else {
        Err(Errno::ENETUNREACH)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        SOCKETS.lock().remove(&(self as *const Socket as usize));
        NAMES.lock().release(self.id);
        let tcp = self.tcp();
        let aborted = self.unaccepted.load(Ordering::SeqCst);
        let inner = self.inner.get_mut();
        let state = core::mem::replace(&mut inner.state, State::Unconnected);
        match state {
            State::Connected(ep) => {
                let abort = aborted || inner.options.linger == Some(0) || ep.rx.has_unread();
                ep.close(if abort { Close::Abort } else { Close::Orderly }, tcp);
            }
            // Connections never accepted are aborted (their own drop sees `unaccepted`).
            State::Net(tcp) => {
                if inner.options.linger == Some(0) || tcp.available() > 0 {
                    tcp.abort();
                }
            }
            State::Listening { queue, .. } => drop(queue),
            State::Unconnected => {}
        }
        inner.net_listener = None;
        inner.net_udp = None;
        inner.datagrams.clear();
        self.events.notify();
    }
}

impl File for Socket {
    fn kind(&self) -> FileKind {
        FileKind::Socket
    }

    fn read(&self, buf: &mut [u8]) -> vfs::Result<usize> {
        Ok(Socket::recv_in(Holder::Borrowed(self), buf, RecvFlags::default())?.len)
    }

    fn write(&self, buf: &[u8]) -> vfs::Result<usize> {
        Socket::send_in(
            Holder::Borrowed(self),
            buf,
            None,
            false,
            IpHeader::default(),
        )
    }

    fn stat(&self) -> vfs::Result<Stat> {
        Ok(Socket::stat(self))
    }

    fn poll_readable(&self) -> bool {
        let inner = self.inner.lock();
        if inner.error.is_some() {
            return true;
        }
        match &inner.state {
            State::Listening { queue, .. } => {
                if !queue.is_empty() || inner.shut_rd {
                    return true;
                }
                let net = inner.net_listener.clone();
                drop(inner);
                net.is_some_and(|l| l.pending() > 0)
            }
            State::Connected(ep) => {
                let (ep, shut) = (ep.clone(), inner.shut_rd);
                drop(inner);
                ep.rx.readable(shut)
            }
            State::Net(tcp) => {
                let (tcp, shut) = (tcp.clone(), inner.shut_rd);
                drop(inner);
                shut || tcp.readable()
            }
            State::Unconnected => {
                self.ty == SocketType::Datagram && (!inner.datagrams.is_empty() || inner.shut_rd)
            }
        }
    }

    fn poll_writable(&self) -> bool {
        let inner = self.inner.lock();
        if inner.error.is_some() || inner.shut_wr {
            return true;
        }
        match &inner.state {
            State::Listening { .. } => false,
            State::Connected(ep) => {
                let ep = ep.clone();
                drop(inner);
                ep.rx.has_error() || ep.tx.writable()
            }
            State::Net(tcp) => {
                let tcp = tcp.clone();
                drop(inner);
                tcp.writable()
            }
            // Linux: a fresh TCP socket polls writable (and hung up).
            State::Unconnected if self.ty == SocketType::Stream => true,
            State::Unconnected => {
                let peer = inner.peer_socket.clone();
                drop(inner);
                match peer.map(|w| w.upgrade()) {
                    Some(Some(p)) => {
                        let t = p.inner.lock();
                        t.datagrams.is_empty() || t.queued + DATAGRAM_OVERHEAD < DATAGRAM_CAPACITY
                    }
                    _ => true,
                }
            }
        }
    }

    /// As Linux's `tcp_poll`: reading is closed once this socket shut down reading or the
    /// peer's end of file (or reset) arrived.
    fn poll_read_closed(&self) -> bool {
        let inner = self.inner.lock();
        match &inner.state {
            State::Connected(ep) => {
                let (ep, shut) = (ep.clone(), inner.shut_rd);
                drop(inner);
                shut || ep.rx.write_closed()
            }
            _ => inner.shut_rd,
        }
    }

    /// As Linux's `tcp_poll`: hung up when closed in both directions or reset; a Unix
    /// stream socket also when its peer is gone both ways (closed), as `unix_poll` says.
    fn poll_hung_up(&self) -> bool {
        let inner = self.inner.lock();
        match &inner.state {
            State::Connected(ep) => {
                let (ep, shut_rd, shut_wr) = (ep.clone(), inner.shut_rd, inner.shut_wr);
                drop(inner);
                let peer_gone =
                    self.family == Family::Unix && ep.rx.write_closed() && ep.tx.reader_gone();
                ep.rx.is_reset() || (shut_wr && (shut_rd || ep.rx.write_closed())) || peer_gone
            }
            _ => false,
        }
    }

    fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}
