//! The names of the loopback network: which socket has which port (per type, like Linux's TCP
//! and UDP port tables, which both IP families share: an IPv6 socket bound to `::` without
//! `IPV6_V6ONLY` holds the port for IPv4 too) and which Unix names are bound. One lock, taken before any
//! socket's own lock, never while one is held.

use crate::Socket;
use crate::addr::{Family, Ip, Reach, SocketType};
use crate::{Errno, Result};
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use spin::Mutex;

/// Ports handed out for binds to port 0 and for connecting unbound sockets (Linux's default
/// `ip_local_port_range`).
pub const EPHEMERAL_PORTS: core::ops::Range<u16> = 32768..61000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PortKey {
    pub ty: SocketType,
    pub port: u16,
}

pub(crate) struct Binding {
    /// The socket's id.
    pub id: u64,
    pub family: Family,
    /// What it takes of each IP family.
    pub reach: Reach,
    pub reuse_addr: bool,
    pub reuse_port: bool,
    pub listening: bool,
    pub socket: Weak<Socket>,
}

/// A key of the Unix path namespace: the bound file's inode number and creation time (a path
/// reaches the socket through any name of the file, and a new file that reuses the inode
/// number is not the socket).
pub(crate) type PathKey = (u64, i64);

pub(crate) struct Names {
    pub ports: BTreeMap<PortKey, Vec<Binding>>,
    next_ephemeral: u16,
    pub unix_paths: BTreeMap<PathKey, (u64, Weak<Socket>)>,
    pub unix_abstract: BTreeMap<Vec<u8>, (u64, Weak<Socket>)>,
    next_autobind: u32,
}

pub(crate) static NAMES: Mutex<Names> = Mutex::new(Names {
    ports: BTreeMap::new(),
    next_ephemeral: EPHEMERAL_PORTS.start,
    unix_paths: BTreeMap::new(),
    unix_abstract: BTreeMap::new(),
    next_autobind: 0,
});

/// What a new binding asks for.
pub(crate) struct BindRequest {
    pub id: u64,
    pub family: Family,
    pub ty: SocketType,
    pub ip: Ip,
    /// `IPV6_V6ONLY` (an IPv6 socket bound to `::` then takes no IPv4).
    pub v6_only: bool,
    /// 0: an ephemeral port.
    pub port: u16,
    pub reuse_addr: bool,
    pub reuse_port: bool,
    pub socket: Weak<Socket>,
}

impl Names {
    /// Whether `req` may share `port` with the sockets already there (Linux's rules: the
    /// addresses overlap unless different and neither is the wildcard, across the families as
    /// [`Reach`] says; `SO_REUSEPORT` on both shares; `SO_REUSEADDR` on both shares, for TCP
    /// only while the other is not listening).
    fn free_for(&self, req: &BindRequest, port: u16) -> bool {
        let key = PortKey { ty: req.ty, port };
        let reach = Reach::of(req.ip, req.v6_only);
        self.ports.get(&key).is_none_or(|list| {
            list.iter().all(|b| {
                !b.reach.overlaps(reach)
                    || (b.reuse_port && req.reuse_port)
                    || (b.reuse_addr
                        && req.reuse_addr
                        && (req.ty == SocketType::Datagram || !b.listening))
            })
        })
    }

    /// Binds `req`; returns the port.
    pub(crate) fn bind(&mut self, req: BindRequest) -> Result<u16> {
        let port = if req.port != 0 {
            if !self.free_for(&req, req.port) {
                return Err(Errno::EADDRINUSE);
            }
            req.port
        } else {
            let span = EPHEMERAL_PORTS.end - EPHEMERAL_PORTS.start;
            let mut found = None;
            for _ in 0..span {
                let p = self.next_ephemeral;
                self.next_ephemeral = if p + 1 >= EPHEMERAL_PORTS.end {
                    EPHEMERAL_PORTS.start
                } else {
                    p + 1
                };
                // An ephemeral port is one nobody has, whatever their options.
                let key = PortKey {
                    ty: req.ty,
                    port: p,
                };
                if self.ports.get(&key).is_none_or(Vec::is_empty) {
                    found = Some(p);
                    break;
                }
            }
            found.ok_or(Errno::EADDRNOTAVAIL)?
        };
        let key = PortKey { ty: req.ty, port };
        self.ports.entry(key).or_default().push(Binding {
            id: req.id,
            family: req.family,
            reach: Reach::of(req.ip, req.v6_only),
            reuse_addr: req.reuse_addr,
            reuse_port: req.reuse_port,
            listening: false,
            socket: req.socket,
        });
        Ok(port)
    }

    /// Marks socket `id` (bound at `key`) listening: `EADDRINUSE` if another socket listens on
    /// an overlapping address (unless both use `SO_REUSEPORT`).
    pub(crate) fn listen(&mut self, key: PortKey, id: u64) -> Result<()> {
        let list = self.ports.get_mut(&key).ok_or(Errno::EINVAL)?;
        let me = list.iter().position(|b| b.id == id).ok_or(Errno::EINVAL)?;
        let (reach, reuse_port) = (list[me].reach, list[me].reuse_port);
        let clash = list.iter().any(|b| {
            b.id != id && b.listening && b.reach.overlaps(reach) && !(b.reuse_port && reuse_port)
        });
        if clash {
            return Err(Errno::EADDRINUSE);
        }
        list[me].listening = true;
        Ok(())
    }

    /// Forgets every name of socket `id`.
    pub(crate) fn release(&mut self, id: u64) {
        self.ports.retain(|_, list| {
            list.retain(|b| b.id != id);
            !list.is_empty()
        });
        self.unix_paths.retain(|_, (owner, _)| *owner != id);
        self.unix_abstract.retain(|_, (owner, _)| *owner != id);
    }

    /// The listening socket a connection to `ip`:`port` (canonical) reaches: an exact address
    /// before a wildcard, an IPv4 socket before an IPv6 one.
    pub(crate) fn listener(&self, ip: Ip, port: u16) -> Option<Arc<Socket>> {
        let key = PortKey {
            ty: SocketType::Stream,
            port,
        };
        let list = self.ports.get(&key)?;
        let mut found: Vec<&Binding> = list
            .iter()
            .filter(|b| b.listening && b.reach.takes(ip) > 0)
            .collect();
        found.sort_by_key(|b| (core::cmp::Reverse(b.reach.takes(ip)), b.family));
        found.into_iter().find_map(|b| b.socket.upgrade())
    }

    /// The datagram sockets bound where a datagram to `ip`:`port` (canonical) may go, best
    /// match first (the caller skips those connected to someone other than the sender).
    pub(crate) fn datagram_receivers(&self, ip: Ip, port: u16) -> Vec<Arc<Socket>> {
        let key = PortKey {
            ty: SocketType::Datagram,
            port,
        };
        let Some(list) = self.ports.get(&key) else {
            return Vec::new();
        };
        let mut found: Vec<&Binding> = list.iter().filter(|b| b.reach.takes(ip) > 0).collect();
        found.sort_by_key(|b| (core::cmp::Reverse(b.reach.takes(ip)), b.family));
        found
            .into_iter()
            .filter_map(|b| b.socket.upgrade())
            .collect()
    }

    /// A fresh abstract name for an autobound Unix socket: five hex digits, as Linux makes.
    pub(crate) fn autobind_name(&mut self) -> Vec<u8> {
        loop {
            let n = self.next_autobind & 0xf_ffff;
            self.next_autobind = self.next_autobind.wrapping_add(1);
            let name = alloc::format!("{n:05x}").into_bytes();
            if !self.unix_abstract.contains_key(&name) {
                return name;
            }
        }
    }
}
