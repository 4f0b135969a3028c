//! Socket addresses and the rules of the loopback network: which addresses are local, which
//! are reachable, what a wildcard binds to.

use alloc::vec::Vec;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`), dual-stack as on Linux: IPv4 peers appear v4-mapped (`::ffff:a.b.c.d`).
    Inet6,
    /// Unix domain (`AF_UNIX`): path names and abstract names.
    Unix,
}

/// A socket type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SocketType {
    /// A connected byte stream (`SOCK_STREAM`: TCP for the IP families).
    Stream,
    /// Messages with boundaries (`SOCK_DGRAM`: UDP for the IP families).
    Datagram,
}

/// The name of a Unix-domain socket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnixName {
    /// No name (not bound, or a `socketpair` end).
    Unnamed,
    /// A file-system path, as given (relative paths resolve against the working directory).
    Path(Vec<u8>),
    /// A name in the abstract namespace (the bytes after the leading NUL).
    Abstract(Vec<u8>),
}

/// A socket address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
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
    Unix(UnixName),
}

impl Addr {
    pub fn family(&self) -> Family {
        match self {
            Addr::V4 { .. } => Family::Inet,
            Addr::V6 { .. } => Family::Inet6,
            Addr::Unix(_) => Family::Unix,
        }
    }

    /// The port (0 for Unix names).
    pub fn port(&self) -> u16 {
        match self {
            Addr::V4 { port, .. } | Addr::V6 { port, .. } => *port,
            Addr::Unix(_) => 0,
        }
    }

    /// The wildcard address of `family` with port 0 (an unbound socket's name).
    pub fn unspecified(family: Family) -> Addr {
        Addr::from_ip(family, Ip::ANY, 0)
    }

    /// The address's IP, canonical: an IPv4 address (and a v4-mapped IPv6 one) as
    /// `::ffff:a.b.c.d`, so both families' names of one IPv4 address are equal.
    pub(crate) fn ip(&self) -> Ip {
        match self {
            Addr::V4 { ip, .. } => Ip::v4(*ip),
            Addr::V6 { ip, .. } => Ip(*ip),
            Addr::Unix(_) => Ip::ANY,
        }
    }

    /// How a socket of `family` names `ip`: an IPv6 socket names an IPv4 address v4-mapped
    /// (as Linux does), an IPv4 socket its four bytes.
    pub(crate) fn from_ip(family: Family, ip: Ip, port: u16) -> Addr {
        match family {
            Family::Inet => Addr::V4 {
                ip: ip.as_v4().unwrap_or([0; 4]),
                port,
            },
            Family::Inet6 => Addr::V6 {
                ip: ip.0,
                port,
                flowinfo: 0,
                scope_id: 0,
            },
            Family::Unix => Addr::Unix(UnixName::Unnamed),
        }
    }

    pub(crate) fn with_port(&self, port: u16) -> Addr {
        let mut a = self.clone();
        if let Addr::V4 { port: p, .. } | Addr::V6 { port: p, .. } = &mut a {
            *p = port;
        }
        a
    }
}

/// An IP address of either family, canonical: IPv4 addresses as v4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`), as Linux's dual stack sees them. `ANY` is the IPv6 wildcard `::`,
/// [`Ip::V4_ANY`] the IPv4 one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Ip(pub [u8; 16]);

impl Ip {
    pub(crate) const ANY: Ip = Ip([0; 16]);
    pub(crate) const V4_ANY: Ip = Ip::v4([0; 4]);

    /// `a` v4-mapped.
    pub(crate) const fn v4(a: [u8; 4]) -> Ip {
        let mut bits = [0u8; 16];
        bits[10] = 0xff;
        bits[11] = 0xff;
        bits[12] = a[0];
        bits[13] = a[1];
        bits[14] = a[2];
        bits[15] = a[3];
        Ip(bits)
    }

    /// The IPv4 address, if this is one (v4-mapped).
    pub(crate) fn as_v4(self) -> Option<[u8; 4]> {
        let b = self.0;
        (b[..10] == [0; 10] && b[10] == 0xff && b[11] == 0xff).then(|| [b[12], b[13], b[14], b[15]])
    }

    pub(crate) fn is_v4(self) -> bool {
        self.as_v4().is_some()
    }

    /// A wildcard: `::`, or `0.0.0.0` (also as `::ffff:0.0.0.0`).
    pub(crate) fn is_any(self) -> bool {
        self == Ip::ANY || self == Ip::V4_ANY
    }

    /// The loopback address of `self`'s family: 127.0.0.1 or ::1 (the source of every
    /// packet sent to a loopback address of that family).
    pub(crate) fn loopback_of(self) -> Ip {
        if self.is_v4() {
            Ip::v4([127, 0, 0, 1])
        } else {
            let mut bits = [0u8; 16];
            bits[15] = 1;
            Ip(bits)
        }
    }

    /// An address this host has (may bind to): 127.0.0.0/8 or ::1, or a wildcard.
    pub(crate) fn is_local(self) -> bool {
        match self.as_v4() {
            Some(a) => a[0] == 127 || a == [0; 4],
            None => self == Ip::ANY || self == Ip::ANY.loopback_of(),
        }
    }

    /// Where a packet to `self` goes: itself if local, the loopback address for a wildcard
    /// (Linux connects to 127.0.0.1 / ::1 when given 0.0.0.0 / ::), `None` if off the host.
    pub(crate) fn route(self) -> Option<Ip> {
        if self.is_any() {
            Some(self.loopback_of())
        } else if self.is_local() {
            Some(self)
        } else {
            None
        }
    }
}

/// Which IP families a binding takes packets of (Linux's dual stack): an IPv4 socket IPv4, an
/// IPv6 socket bound to `::` both unless `IPV6_V6ONLY`, one bound to a v4-mapped address
/// IPv4, one bound to another IPv6 address IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reach {
    /// The IPv4 address it takes (canonical; `V4_ANY` for all).
    pub v4: Option<Ip>,
    /// The IPv6 address it takes (`ANY` for all).
    pub v6: Option<Ip>,
}

impl Reach {
    pub(crate) fn of(ip: Ip, v6_only: bool) -> Reach {
        if ip.is_v4() {
            Reach {
                v4: Some(ip),
                v6: None,
            }
        } else if ip == Ip::ANY {
            Reach {
                v4: (!v6_only).then_some(Ip::V4_ANY),
                v6: Some(Ip::ANY),
            }
        } else {
            Reach {
                v4: None,
                v6: Some(ip),
            }
        }
    }

    /// Whether a packet to `dst` may be taken, and how well: 2 for the exact address, 1 for
    /// a wildcard, 0 not at all.
    pub(crate) fn takes(self, dst: Ip) -> u8 {
        let mine = if dst.is_v4() { self.v4 } else { self.v6 };
        match mine {
            Some(a) if a == dst => 2,
            Some(a) if a.is_any() => 1,
            _ => 0,
        }
    }

    /// Whether two bindings of one port would take some of the same packets.
    pub(crate) fn overlaps(self, other: Reach) -> bool {
        let meet = |a: Option<Ip>, b: Option<Ip>| match (a, b) {
            (Some(a), Some(b)) => a.is_any() || b.is_any() || a == b,
            _ => false,
        };
        meet(self.v4, other.v4) || meet(self.v6, other.v6)
    }
}
