//! Socket addresses and the rules of the loopback network: which addresses are local, which
//! are reachable, what a wildcard binds to.

use alloc::vec::Vec;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`), without dual-stack: v4-mapped addresses are not reachable.
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

    pub(crate) fn ip(&self) -> Ip {
        let mut bits = [0u8; 16];
        match self {
            Addr::V4 { ip, .. } => bits[..4].copy_from_slice(ip),
            Addr::V6 { ip, .. } => bits = *ip,
            Addr::Unix(_) => {}
        }
        Ip(bits)
    }

    pub(crate) fn from_ip(family: Family, ip: Ip, port: u16) -> Addr {
        match family {
            Family::Inet => Addr::V4 {
                ip: [ip.0[0], ip.0[1], ip.0[2], ip.0[3]],
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

/// An IP address of either family, IPv4 in the first four bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Ip(pub [u8; 16]);

impl Ip {
    pub(crate) const ANY: Ip = Ip([0; 16]);

    pub(crate) fn is_any(self) -> bool {
        self == Ip::ANY
    }

    /// The loopback interface's own address: 127.0.0.1 or ::1 (the source of every packet).
    pub(crate) fn loopback(family: Family) -> Ip {
        let mut bits = [0u8; 16];
        match family {
            Family::Inet => bits[..4].copy_from_slice(&[127, 0, 0, 1]),
            _ => bits[15] = 1,
        }
        Ip(bits)
    }

    /// An address this host has (may bind to): 127.0.0.0/8 or ::1, or the wildcard.
    pub(crate) fn is_local(self, family: Family) -> bool {
        self.is_any()
            || match family {
                Family::Inet => self.0[0] == 127,
                _ => self == Ip::loopback(family),
            }
    }

    /// Where a packet to `self` goes: itself if local, the loopback address for the wildcard
    /// (Linux connects to 127.0.0.1 / ::1 when given 0.0.0.0 / ::), `None` if off the host.
    pub(crate) fn route(self, family: Family) -> Option<Ip> {
        if self.is_any() {
            Some(Ip::loopback(family))
        } else if self.is_local(family) {
            Some(self)
        } else {
            None
        }
    }
}
