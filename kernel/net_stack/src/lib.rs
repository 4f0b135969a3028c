//! The TCP/IP stack: smoltcp (IPv4, IPv6, TCP, UDP, DHCP) over the virtio network device, and
//! the kernel task that runs it; and what smoltcp leaves out for UDP, ICMP port unreachable
//! (`icmp`).
//!
//! Owns: the one smoltcp `Interface` and its sockets (behind one lock, always taken with
//! interrupts off, so the device's interrupt can never find it held by a preempted task),
//! the interface's address (from QEMU's DHCP server, asked in the background so boot does not
//! wait; no default route: on QEMU's restricted network only the subnet, where the host's
//! forwards are, exists), its IPv6 addresses (link-local and one in QEMU's `fec0::/64`, both
//! from the MAC address, see [`IPV6_PREFIXES`]), the `net` task, and the TCP connections, listeners and UDP ports the
//! socket layer uses ([`Tcp`], [`Listener`], [`Udp`]). May depend on `virtio_net` (frames),
//! `task` (the task and its wait queue), `time` (smoltcp's clock), `errno`, `spin`,
//! `x86_64`; nothing above it.
//!
//! Nothing polls while the network is idle: the `net` task sleeps until the device
//! interrupts ([`virtio_net::set_interrupt_hook`]), a socket call changes something, or
//! smoltcp's next timer (a retransmission, a DHCP renewal) is due. Socket calls run the
//! stack themselves after changing a socket (so a `send` goes out at once), and every
//! connection whose state or queues changed in a run has its waker called afterwards, with
//! the lock released: that is how the socket layer's blocked calls and `poll` waiters learn
//! about it.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod icmp;
mod interfaces;
mod phy;
mod tcp;
pub mod test_frames;
mod tests;
mod udp;

pub use errno::Errno;
pub use interfaces::{ARPHRD_ETHER, ARPHRD_LOOPBACK, NetInterface, interfaces};
pub use tcp::{Listener, Recv, Tcp, tcp_connect, tcp_listen};
pub use udp::{
    Arrival, Deliver, Families, MAX_PAYLOAD as UDP_MAX_PAYLOAD, MAX_PAYLOAD_V6 as UDP6_MAX_PAYLOAD,
    Udp, udp_bind,
};

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv6Addr};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use phy::Phy;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp as stcp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Cidr, Ipv6Cidr};
use spin::Mutex;
use task::WaitQueue;
use x86_64::instructions::interrupts::without_interrupts;

/// Called after a run of the stack changed a connection or listener.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// What a run of the stack leaves to do once its lock is released: wakers to call and
/// received datagrams (and port unreachables) to deliver.
pub(crate) struct After {
    wakers: Vec<Waker>,
    datagrams: Vec<udp::Arrived>,
}

impl After {
    fn run(self) {
        for d in self.datagrams {
            d.deliver();
        }
        for w in self.wakers {
            w();
        }
    }
}

/// Received packets handled per run before sending (and before the `net` task looks at
/// other work): bounds the time the lock is held with interrupts off.
const INGRESS_BATCH: usize = 64;

/// The interface's IPv4 configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Config {
    pub address: [u8; 4],
    pub prefix_len: u8,
    pub gateway: Option<[u8; 4]>,
}

/// The IPv6 prefixes (/64) the interface has an address in: the link-local one and QEMU's user
/// network's (libslirp's default `fec0::/64`, where the host is `fec0::2`). The interface ID
/// is the modified EUI-64 of the MAC address, so the addresses are those SLAAC would give
/// (libslirp sends router advertisements for `fec0::/64`; smoltcp does no SLAAC, so they
/// are set at start). Only these prefixes are reachable (no default route, as for IPv4).
pub const IPV6_PREFIXES: [[u16; 4]; 2] = [[0xfe80, 0, 0, 0], [0xfec0, 0, 0, 0]];

/// The address in `prefix` (/64) whose interface ID is the modified EUI-64 of `mac`.
pub fn ipv6_from_mac(prefix: [u16; 4], mac: [u8; 6]) -> [u8; 16] {
    let mut a = [0u8; 16];
    for (i, p) in prefix.iter().enumerate() {
        a[2 * i..2 * i + 2].copy_from_slice(&p.to_be_bytes());
    }
    a[8..].copy_from_slice(&[
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ]);
    a
}

/// What `ip` shows.
#[derive(Clone, Debug)]
pub struct Info {
    pub mac: [u8; 6],
    pub ipv4: Option<Ipv4Config>,
    /// The IPv6 addresses (prefix length 64).
    pub ipv6: Vec<[u8; 16]>,
    pub irq: Option<u8>,
    pub device: virtio_net::Stats,
    /// TCP connections (listening spares included) and listeners.
    pub tcp_sockets: usize,
    pub listeners: usize,
    /// Runs of the stack so far.
    pub polls: u64,
}

/// Per-connection bookkeeping next to smoltcp's socket.
pub(crate) struct Meta {
    pub(crate) waker: Option<Waker>,
    /// State and queue lengths at the last run, to call the waker only on a change.
    pub(crate) seen: u64,
    /// This side closed or aborted: a later `Closed` state is not the peer's reset.
    pub(crate) closed_by_us: bool,
    /// Reached `Established` once.
    pub(crate) established: bool,
    /// The handle is gone from the socket layer: remove once closed.
    pub(crate) orphan_since: Option<u64>,
    /// Started by `connect` at this time (ns), for `ETIMEDOUT`.
    pub(crate) connect_started: Option<u64>,
    /// Reset, refused or timed out: reported once, then end of file.
    pub(crate) error: Option<Errno>,
    pub(crate) error_reported: bool,
}

pub(crate) struct ListenerState {
    pub(crate) port: u16,
    /// The connections it takes: IPv4, IPv6 or both.
    pub(crate) families: Families,
    /// Sockets listening or in the middle of a handshake.
    pub(crate) pool: Vec<SocketHandle>,
    /// Established connections not yet accepted.
    pub(crate) ready: VecDeque<SocketHandle>,
    pub(crate) backlog: usize,
    pub(crate) waker: Waker,
}

pub(crate) struct Stack {
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    dhcp: SocketHandle,
    pub(crate) meta: BTreeMap<SocketHandle, Meta>,
    pub(crate) listeners: BTreeMap<u64, ListenerState>,
    pub(crate) next_listener: u64,
    pub(crate) next_port: u16,
    config: Option<Ipv4Config>,
    /// Wakers of listeners that got a connection during the current run.
    pub(crate) to_wake: Vec<Waker>,
    /// The open UDP ports.
    pub(crate) udp: udp::Ports,
    /// The device, and the port unreachables it received (`icmp`).
    pub(crate) phy: Phy,
}

static STACK: Mutex<Option<Stack>> = Mutex::new(None);
/// Set by the interrupt and by socket calls; the `net` task runs the stack when it is set.
static KICK: AtomicBool = AtomicBool::new(false);
static WAKEUP: WaitQueue = WaitQueue::new();
/// The interface has an address (waiters of [`wait_configured`] sleep on `CONFIGURED_WAIT`).
static CONFIGURED: AtomicBool = AtomicBool::new(false);
static CONFIGURED_WAIT: WaitQueue = WaitQueue::new();
static POLLS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn now() -> Instant {
    Instant::from_micros((time::monotonic_ns() / 1000) as i64)
}

/// Starts the network: the virtio device (after `pci::init`), the interface, DHCP in the
/// background and the `net` task. `seed` seeds smoltcp's initial sequence numbers and
/// ports. Returns whether a device is in use.
pub fn init(seed: u64) -> bool {
    if is_present() {
        return true;
    }
    if !virtio_net::init() {
        return false;
    }
    let Some(mac) = virtio_net::mac_address() else {
        return false;
    };
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    config.random_seed = seed;
    let mut phy = Phy::default();
    let mut iface = Interface::new(config, &mut phy, now());
    iface.update_ip_addrs(|addrs| {
        for prefix in IPV6_PREFIXES {
            let a = Ipv6Addr::from(ipv6_from_mac(prefix, mac));
            let _ = addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(a, 64)));
        }
    });
    let mut sockets = SocketSet::new(vec![]);
    let dhcp = sockets.add(dhcpv4::Socket::new());
    let stack = Stack {
        iface,
        sockets,
        dhcp,
        meta: BTreeMap::new(),
        listeners: BTreeMap::new(),
        next_listener: 1,
        next_port: 49152 + (seed % 16384) as u16,
        config: None,
        to_wake: Vec::new(),
        udp: udp::Ports::default(),
        phy,
    };
    without_interrupts(|| *STACK.lock() = Some(stack));
    virtio_net::set_interrupt_hook(kick);
    if let Err(e) = task::Builder::new("net").spawn(run) {
        log::error!("net: no task for the network stack: {e:?}");
        without_interrupts(|| *STACK.lock() = None);
        return false;
    }
    kick();
    true
}

/// Whether the stack runs (a network device was found).
pub fn is_present() -> bool {
    without_interrupts(|| STACK.lock().is_some())
}

/// Asks the `net` task to run the stack (safe from an interrupt handler).
pub fn kick() {
    KICK.store(true, Ordering::SeqCst);
    WAKEUP.notify_one();
}

/// Waits until DHCP gave the interface an address or `deadline` (monotonic ns) passes.
/// Returns whether it has one.
pub fn wait_configured(deadline: u64) -> bool {
    if !is_present() {
        return false;
    }
    CONFIGURED_WAIT.wait_until_deadline(&mut || CONFIGURED.load(Ordering::SeqCst), Some(deadline))
}

/// The interface's address, if DHCP configured it.
pub fn ipv4() -> Option<Ipv4Config> {
    without_interrupts(|| STACK.lock().as_ref().and_then(|s| s.config))
}

/// The interface's address a packet to `ip` leaves from: the one on `ip`'s subnet (`None`
/// if `ip` is not on one: unreachable).
pub fn source_for(ip: IpAddr) -> Option<IpAddr> {
    look(|st| match ip {
        IpAddr::V4(a) => st
            .ipv4_cidr()
            .filter(|c| c.contains_addr(&a))
            .map(|c| IpAddr::V4(c.address())),
        IpAddr::V6(a) => st
            .ipv6()
            .find(|c| c.contains_addr(&a))
            .map(|c| IpAddr::V6(c.address())),
    })
    .flatten()
}

/// What the interface and device look like now.
pub fn info() -> Option<Info> {
    let mac = virtio_net::mac_address()?;
    without_interrupts(|| {
        let guard = STACK.lock();
        let st = guard.as_ref()?;
        Some(Info {
            mac,
            ipv4: st.config,
            ipv6: st.ipv6().map(|c| c.address().octets()).collect(),
            irq: virtio_net::irq(),
            device: virtio_net::stats(),
            tcp_sockets: st.sockets.iter().count().saturating_sub(1),
            listeners: st.listeners.len(),
            polls: POLLS.load(Ordering::Relaxed),
        })
    })
}

/// Runs `f` on the stack (interrupts off), then runs the stack so what `f` changed goes
/// out, then calls the wakers of what changed (lock released). `None` without a stack.
pub(crate) fn with_stack<R>(f: impl FnOnce(&mut Stack) -> R) -> Option<R> {
    let (r, wakers) = without_interrupts(|| {
        let mut guard = STACK.lock();
        let st = guard.as_mut()?;
        let r = f(st);
        let after = st.poll();
        Some((r, after))
    })?;
    wakers.run();
    // The change may have armed a timer (a retransmission, a delayed ACK) the `net` task
    // is not sleeping for yet.
    kick();
    Some(r)
}

/// Runs `f` on the stack (interrupts off) without running it: for questions.
pub(crate) fn look<R>(f: impl FnOnce(&mut Stack) -> R) -> Option<R> {
    without_interrupts(|| STACK.lock().as_mut().map(f))
}

/// The `net` task: runs the stack whenever kicked or when smoltcp's next timer is due.
fn run() -> isize {
    loop {
        let step = without_interrupts(|| {
            let mut guard = STACK.lock();
            let st = guard.as_mut()?;
            let after = st.poll();
            let delay = st.iface.poll_delay(now(), &st.sockets);
            Some((after, delay, virtio_net::can_receive()))
        });
        let Some((after, delay, more)) = step else {
            return 0;
        };
        after.run();
        if more {
            task::yield_now();
            continue;
        }
        let deadline = delay.map(|d| time::monotonic_ns().saturating_add(d.total_micros() * 1000));
        WAKEUP.wait_until_deadline(&mut || KICK.swap(false, Ordering::SeqCst), deadline);
    }
}

impl Stack {
    /// One run: received packets (a batch), timers and queued data out, DHCP, listeners,
    /// closed connections removed. Returns what to do with the lock released.
    fn poll(&mut self) -> After {
        POLLS.fetch_add(1, Ordering::Relaxed);
        let now = now();
        for _ in 0..INGRESS_BATCH {
            // Every listener keeps spare listening sockets, so a burst of connection
            // requests is not refused while a batch is handled.
            self.refill_listeners();
            if self
                .iface
                .poll_ingress_single(now, &mut self.phy, &mut self.sockets)
                == PollIngressSingleResult::None
            {
                break;
            }
        }
        self.iface
            .poll_egress(now, &mut self.phy, &mut self.sockets);
        self.dhcp_events();
        self.refill_listeners();
        self.reap();
        self.reap_udp();
        let mut after = After {
            wakers: core::mem::take(&mut self.to_wake),
            datagrams: Vec::new(),
        };
        self.changed(&mut after.wakers);
        self.take_datagrams(&mut after.datagrams);
        self.take_refusals(&mut after.datagrams);
        after
    }

    fn dhcp_events(&mut self) {
        let event = self.sockets.get_mut::<dhcpv4::Socket>(self.dhcp).poll();
        match event {
            Some(dhcpv4::Event::Configured(c)) => {
                self.iface.update_ip_addrs(|addrs| {
                    addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
                    let _ = addrs.push(IpCidr::Ipv4(c.address));
                });
                // No default route: the network is QEMU's restricted user network, where
                // nothing exists beyond the host's forwards, which live on this subnet. A
                // connection elsewhere fails at once (`ENETUNREACH`) instead of timing out.
                let cfg = Ipv4Config {
                    address: c.address.address().octets(),
                    prefix_len: c.address.prefix_len(),
                    gateway: c.router.map(|r| r.octets()),
                };
                log::info!(
                    "net: address {}/{} from DHCP, gateway {:?}",
                    c.address.address(),
                    c.address.prefix_len(),
                    c.router
                );
                self.config = Some(cfg);
                CONFIGURED.store(true, Ordering::SeqCst);
                CONFIGURED_WAIT.notify_all();
            }
            Some(dhcpv4::Event::Deconfigured) => {
                self.iface
                    .update_ip_addrs(|addrs| addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_))));
                self.config = None;
                CONFIGURED.store(false, Ordering::SeqCst);
                log::info!("net: DHCP lease lost");
            }
            None => {}
        }
    }

    /// The connections whose state or queues changed since the last run.
    fn changed(&mut self, wakers: &mut Vec<Waker>) {
        let now_ns = time::monotonic_ns();
        for (handle, meta) in self.meta.iter_mut() {
            let s = self.sockets.get::<stcp::Socket>(*handle);
            let state = s.state();
            if state == stcp::State::Established {
                meta.established = true;
            }
            if state == stcp::State::Closed && !meta.closed_by_us && meta.error.is_none() {
                meta.error = Some(if meta.established {
                    Errno::ECONNRESET
                } else if meta
                    .connect_started
                    .is_some_and(|t| now_ns.saturating_sub(t) >= tcp::CONNECT_TIMEOUT_NS)
                {
                    Errno::ETIMEDOUT
                } else {
                    Errno::ECONNREFUSED
                });
            }
            let snapshot = (state as u64)
                | (s.recv_queue() as u64) << 8
                | (s.send_queue() as u64) << 32
                | u64::from(s.may_recv()) << 62
                | u64::from(s.may_send()) << 63;
            if snapshot != meta.seen {
                meta.seen = snapshot;
                if let Some(w) = &meta.waker {
                    wakers.push(w.clone());
                }
            }
        }
    }

    /// Removes connections the socket layer let go of once they are closed (or after a
    /// minute, however far their close got).
    fn reap(&mut self) {
        let now_ns = time::monotonic_ns();
        let done: Vec<SocketHandle> = self
            .meta
            .iter()
            .filter(|(h, m)| {
                m.orphan_since.is_some_and(|t| {
                    let state = self.sockets.get::<stcp::Socket>(**h).state();
                    matches!(state, stcp::State::Closed | stcp::State::TimeWait)
                        || now_ns.saturating_sub(t) > 60_000_000_000
                })
            })
            .map(|(h, _)| *h)
            .collect();
        for h in done {
            self.meta.remove(&h);
            self.sockets.get_mut::<stcp::Socket>(h).abort();
            self.sockets.remove(h);
        }
    }

    /// An unused local port for an outgoing connection.
    pub(crate) fn ephemeral_port(&mut self) -> u16 {
        for _ in 0..16384 {
            let port = self.next_port;
            self.next_port = if port == u16::MAX { 49152 } else { port + 1 };
            let used = self.sockets.iter().any(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(t) => {
                    t.local_endpoint().is_some_and(|e| e.port == port)
                        || t.listen_endpoint().port == port
                }
                _ => false,
            }) || self.listeners.values().any(|l| l.port == port);
            if !used {
                return port;
            }
        }
        self.next_port
    }

    pub(crate) fn ipv4_cidr(&self) -> Option<Ipv4Cidr> {
        self.config
            .map(|c| Ipv4Cidr::new(c.address.into(), c.prefix_len))
    }

    /// The interface's IPv6 addresses.
    fn ipv6(&self) -> impl Iterator<Item = Ipv6Cidr> + '_ {
        self.iface.ip_addrs().iter().filter_map(|a| match a {
            IpCidr::Ipv6(c) => Some(*c),
            _ => None,
        })
    }

    /// Whether `ip` is on one of the interface's subnets (the only places reachable).
    pub(crate) fn on_link(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.ipv4_cidr().is_some_and(|c| c.contains_addr(&a)),
            IpAddr::V6(a) => self.ipv6().any(|c| c.contains_addr(&a)),
        }
    }
}
