//! UDP ports over smoltcp, as the socket layer uses them: a [`Udp`] is one socket's hold on a
//! port of the interface for IPv4, IPv6 or both; each port has one smoltcp UDP socket, and
//! what arrives on it is handed to the holder of the datagram's family (Linux's dual stack:
//! an IPv4 socket on `0.0.0.0:P` and an `IPV6_V6ONLY` one on `[::]:P` share the port), with
//! the socket layer's `deliver` function after each run of the stack (lock released), so
//! received datagrams land in the same queue as loopback ones and `recv`, `poll` and epoll
//! need no second path. A datagram of a family nobody holds is dropped, as if no socket had
//! its port. An ICMP port unreachable for a datagram a port sent (`icmp`) goes the same way
//! to the holder of the destination's family ([`Arrival::Refused`]): Linux's `ECONNREFUSED`
//! for a socket connected there is the socket layer's.
//!
//! Without IP fragmentation (smoltcp's is not enabled), a datagram larger than one frame
//! ([`MAX_PAYLOAD`], [`MAX_PAYLOAD_V6`]) cannot be sent: `EMSGSIZE`.

use crate::{Errno, Stack, with_stack};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::IpAddr;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint};

/// Datagrams and payload bytes each direction of a port holds between two runs.
const PACKETS: usize = 64;
const PAYLOAD: usize = 128 * 1024;
/// The largest datagram that fits one Ethernet frame: 1500 - 20 - 8 over IPv4, 1500 - 40 - 8
/// over IPv6.
pub const MAX_PAYLOAD: usize = 1472;
pub const MAX_PAYLOAD_V6: usize = 1452;

/// What arrived for a port's holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival<'a> {
    /// A datagram: the sender's address and port, the bytes.
    Datagram { from: (IpAddr, u16), data: &'a [u8] },
    /// An ICMP port unreachable: a datagram the port sent to `to` found no socket there.
    Refused { to: (IpAddr, u16) },
}

/// Called with what arrived for a port's holder (after a run of the stack, lock released).
pub type Deliver = Arc<dyn Fn(Arrival<'_>) + Send + Sync>;

/// What a holder (a UDP port's socket, a TCP listener) takes: packets from peers of these
/// families, and, if `local` is set, only those addressed to that one address of the
/// interface (a socket bound to the interface's own address rather than the wildcard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Families {
    pub v4: bool,
    pub v6: bool,
    pub local: Option<IpAddr>,
}

impl Families {
    /// Every address of the families.
    pub const fn any(v4: bool, v6: bool) -> Families {
        Families {
            v4,
            v6,
            local: None,
        }
    }

    pub(crate) fn overlaps(self, other: Families) -> bool {
        ((self.v4 && other.v4) || (self.v6 && other.v6))
            && (self.local.is_none() || other.local.is_none() || self.local == other.local)
    }

    /// Whether a packet from `peer` to `local` is for this holder.
    pub(crate) fn takes(self, peer: &IpAddress, local: Option<&IpAddress>) -> bool {
        let family = match peer {
            IpAddress::Ipv4(_) => self.v4,
            IpAddress::Ipv6(_) => self.v6,
        };
        family
            && self
                .local
                .is_none_or(|mine| local.is_some_and(|l| ip_addr(*l) == mine))
    }
}

/// smoltcp's address as core's.
pub(crate) fn ip_addr(a: IpAddress) -> IpAddr {
    match a {
        IpAddress::Ipv4(a) => IpAddr::V4(a),
        IpAddress::Ipv6(a) => IpAddr::V6(a),
    }
}

/// How long a port whose holders are gone keeps sending what they queued (a datagram may
/// wait for neighbour discovery), as Linux sends what a closed socket queued.
const DRAIN_NS: u64 = 3_000_000_000;

/// One port of the interface: its smoltcp socket and its holders.
pub(crate) struct PortState {
    handle: SocketHandle,
    holders: Vec<(u64, Families, Deliver)>,
    /// No holders since then (ns): the port goes once its queued datagrams left.
    draining_since: Option<u64>,
}

/// The open UDP ports.
#[derive(Default)]
pub(crate) struct Ports {
    ports: BTreeMap<u16, PortState>,
    next_id: u64,
}

/// A socket's hold on a UDP port of the interface, until dropped.
pub struct Udp {
    port: u16,
    id: u64,
}

/// Opens `port` (already reserved by the socket layer) on every address of the interface,
/// for the datagrams of `families`. `EADDRINUSE` if another holder takes one of them.
pub fn udp_bind(port: u16, families: Families, deliver: Deliver) -> Result<Udp, Errno> {
    with_stack(|st| {
        if port == 0 || !(families.v4 || families.v6) {
            return Err(Errno::EINVAL);
        }
        if let Some(p) = st.udp.ports.get(&port)
            && p.holders.iter().any(|(_, f, _)| f.overlaps(families))
        {
            return Err(Errno::EADDRINUSE);
        }
        let id = st.udp.next_id;
        st.udp.next_id += 1;
        if let Some(p) = st.udp.ports.get_mut(&port) {
            p.holders.push((id, families, deliver));
            p.draining_since = None;
            return Ok(Udp { port, id });
        }
        let mut s = udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; PACKETS], vec![0; PAYLOAD]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; PACKETS], vec![0; PAYLOAD]),
        );
        s.bind(port).map_err(|_| Errno::EADDRINUSE)?;
        let handle = st.sockets.add(s);
        st.udp.ports.insert(
            port,
            PortState {
                handle,
                holders: vec![(id, families, deliver)],
                draining_since: None,
            },
        );
        Ok(Udp { port, id })
    })
    .unwrap_or(Err(Errno::ENETUNREACH))
}

impl Udp {
    /// Queues one datagram to `ip:port` and runs the stack, so it leaves at once.
    pub fn send(&self, ip: IpAddr, port: u16, data: &[u8]) -> Result<(), Errno> {
        let max = if ip.is_ipv4() {
            MAX_PAYLOAD
        } else {
            MAX_PAYLOAD_V6
        };
        if data.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        with_stack(|st| {
            if !st.on_link(ip) {
                return Err(Errno::ENETUNREACH);
            }
            let handle = st.udp.ports.get(&self.port).ok_or(Errno::EBADF)?.handle;
            let to = IpEndpoint::new(ip.into(), port);
            st.sockets
                .get_mut::<udp::Socket>(handle)
                .send_slice(data, to)
                .map_err(|e| match e {
                    udp::SendError::Unaddressable => Errno::EINVAL,
                    // Linux too reports a full device queue this way; UDP may drop.
                    udp::SendError::BufferFull => Errno::ENOBUFS,
                })
        })
        .unwrap_or(Err(Errno::ENETUNREACH))
    }
}

impl Drop for Udp {
    fn drop(&mut self) {
        let (port, id) = (self.port, self.id);
        with_stack(|st| {
            let Some(p) = st.udp.ports.get_mut(&port) else {
                return;
            };
            p.holders.retain(|(h, _, _)| *h != id);
            if p.holders.is_empty() {
                // What was queued still goes out; `reap_udp` closes the port after.
                p.draining_since = Some(time::monotonic_ns());
            }
        });
    }
}

/// A datagram taken out of smoltcp, or a port unreachable, to deliver with the lock released.
pub(crate) struct Arrived {
    deliver: Deliver,
    what: What,
}

enum What {
    Datagram((IpAddr, u16), Vec<u8>),
    Refused((IpAddr, u16)),
}

impl Arrived {
    pub(crate) fn deliver(self) {
        (self.deliver)(match &self.what {
            What::Datagram(from, data) => Arrival::Datagram { from: *from, data },
            What::Refused(to) => Arrival::Refused { to: *to },
        });
    }
}

impl Stack {
    /// Closes the ports without holders whose queued datagrams left (or that waited too long).
    pub(crate) fn reap_udp(&mut self) {
        let now = time::monotonic_ns();
        let sockets = &mut self.sockets;
        self.udp.ports.retain(|_, p| {
            let Some(since) = p.draining_since else {
                return true;
            };
            let s = sockets.get_mut::<udp::Socket>(p.handle);
            if s.send_queue() > 0 && now.saturating_sub(since) < DRAIN_NS {
                return true;
            }
            s.close();
            sockets.remove(p.handle);
            false
        });
    }

    /// Takes every datagram the UDP ports received in this run, each for the holder of its
    /// family (dropped if none).
    pub(crate) fn take_datagrams(&mut self, out: &mut Vec<Arrived>) {
        for p in self.udp.ports.values() {
            let s = self.sockets.get_mut::<udp::Socket>(p.handle);
            while let Ok((data, meta)) = s.recv() {
                let Some((_, _, deliver)) = p
                    .holders
                    .iter()
                    .find(|(_, f, _)| f.takes(&meta.endpoint.addr, meta.local_address.as_ref()))
                else {
                    continue;
                };
                let from = ip_addr(meta.endpoint.addr);
                out.push(Arrived {
                    deliver: deliver.clone(),
                    what: What::Datagram((from, meta.endpoint.port), data.to_vec()),
                });
            }
        }
    }

    /// Takes the port unreachables received in this run, each for the holder of the port
    /// that sent the datagram, of the family of its destination (as a datagram from there
    /// would go; dropped if none).
    pub(crate) fn take_refusals(&mut self, out: &mut Vec<Arrived>) {
        for u in core::mem::take(&mut self.phy.unreachable) {
            let local = IpAddress::from(u.local.0);
            let remote = IpAddress::from(u.remote.0);
            if !self.iface.has_ip_addr(local) {
                continue;
            }
            let Some(p) = self.udp.ports.get(&u.local.1) else {
                continue;
            };
            if let Some((_, _, deliver)) = p
                .holders
                .iter()
                .find(|(_, f, _)| f.takes(&remote, Some(&local)))
            {
                out.push(Arrived {
                    deliver: deliver.clone(),
                    what: What::Refused(u.remote),
                });
            }
        }
    }
}
