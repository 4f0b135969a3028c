//! The pure part of the socket calls: `socket`'s domain, type and protocol checked as Linux
//! checks them, `struct sockaddr` of each family decoded and encoded (the `linux-raw-sys`
//! layouts), and the `struct timeval` and buffer-size values of socket options. No kernel
//! dependencies (errors are the `errno` crate's): host-tested.

use core::mem::{offset_of, size_of};
use errno::Errno;
use linux_raw_sys::general as g;
use linux_raw_sys::net as n;

pub const IPPROTO_IP: i32 = 0;
pub const IPPROTO_ICMP: u32 = 1;
pub const IPPROTO_TCP: i32 = 6;
pub const IPPROTO_UDP: i32 = 17;
pub const IPPROTO_IPV6: i32 = 41;
pub const IPPROTO_ICMPV6: u32 = 58;

/// `struct sockaddr_storage`: the largest address (and the most a caller may pass).
pub const SOCKADDR_MAX: usize = 128;
const SOCKADDR_IN: usize = size_of::<n::sockaddr_in>();
const SOCKADDR_IN6: usize = size_of::<n::sockaddr_in6>();
/// RFC 2133's `sockaddr_in6` without `sin6_scope_id`, which Linux still accepts.
const SOCKADDR_IN6_OLD: usize = 24;
const SUN_PATH: usize = offset_of!(n::sockaddr_un, sun_path);
const SOCKADDR_UN: usize = size_of::<n::sockaddr_un>();

const _: () = assert!(SOCKADDR_IN == 16 && SOCKADDR_IN6 == 28 && SOCKADDR_UN == 110);
const _: () = assert!(SUN_PATH == 2);

/// An address family the loopback network has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Inet,
    Inet6,
    Unix,
}

/// A socket type the loopback network has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Stream,
    Datagram,
}

/// A `socket` call's arguments, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketSpec {
    pub family: Family,
    pub ty: Type,
    pub nonblocking: bool,
    pub cloexec: bool,
}

/// `SOCK_NONBLOCK` and `SOCK_CLOEXEC` are `O_NONBLOCK` and `O_CLOEXEC` on Linux.
pub const SOCK_NONBLOCK: u32 = g::O_NONBLOCK;
pub const SOCK_CLOEXEC: u32 = g::O_CLOEXEC;
const SOCK_TYPE_MASK: u32 = 0xf;
/// `SOCK_PACKET` + 1.
const SOCK_MAX: u32 = 11;

/// The type bits and the flags (`SOCK_NONBLOCK`, `SOCK_CLOEXEC`) of a `socket` type argument.
pub fn split_type(ty: u32) -> Result<(u32, bool, bool), Errno> {
    if ty & !SOCK_TYPE_MASK & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((
        ty & SOCK_TYPE_MASK,
        ty & SOCK_NONBLOCK != 0,
        ty & SOCK_CLOEXEC != 0,
    ))
}

/// Checks `socket(domain, type, protocol)` with Linux's errors for what the loopback network
/// lacks: raw and packet sockets need privileges we do not grant (`EPERM`; raw with protocol
/// 0 is `EPROTONOSUPPORT`, as on Linux), ping sockets `EACCES`, other families (netlink...)
/// `EAFNOSUPPORT`, other types `ESOCKTNOSUPPORT`, a protocol not of the type
/// `EPROTONOSUPPORT`. `SOCK_SEQPACKET` is not implemented (`ESOCKTNOSUPPORT`); a Unix
/// `SOCK_RAW` is a datagram socket, as on Linux.
pub fn decode_socket(domain: u32, ty: u32, protocol: u32) -> Result<SocketSpec, Errno> {
    let (base, nonblocking, cloexec) = split_type(ty)?;
    if domain >= n::AF_MAX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if base >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    let spec = |family, ty| SocketSpec {
        family,
        ty,
        nonblocking,
        cloexec,
    };
    match domain {
        n::AF_INET | n::AF_INET6 => {
            let family = if domain == n::AF_INET {
                Family::Inet
            } else {
                Family::Inet6
            };
            let icmp = if family == Family::Inet {
                IPPROTO_ICMP
            } else {
                IPPROTO_ICMPV6
            };
            match base {
                n::SOCK_STREAM if protocol == 0 || protocol == IPPROTO_TCP as u32 => {
                    Ok(spec(family, Type::Stream))
                }
                n::SOCK_DGRAM if protocol == 0 || protocol == IPPROTO_UDP as u32 => {
                    Ok(spec(family, Type::Datagram))
                }
                n::SOCK_DGRAM if protocol == icmp => Err(Errno::EACCES),
                n::SOCK_STREAM | n::SOCK_DGRAM => Err(Errno::EPROTONOSUPPORT),
                n::SOCK_RAW if protocol == 0 => Err(Errno::EPROTONOSUPPORT),
                n::SOCK_RAW | 10 => Err(Errno::EPERM),
                _ => Err(Errno::ESOCKTNOSUPPORT),
            }
        }
        n::AF_UNIX => {
            if protocol != 0 && protocol != n::AF_UNIX {
                return Err(Errno::EPROTONOSUPPORT);
            }
            match base {
                n::SOCK_STREAM => Ok(spec(Family::Unix, Type::Stream)),
                n::SOCK_DGRAM | n::SOCK_RAW => Ok(spec(Family::Unix, Type::Datagram)),
                _ => Err(Errno::ESOCKTNOSUPPORT),
            }
        }
        n::AF_PACKET => Err(Errno::EPERM),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// A decoded socket address, borrowing a Unix name from the caller's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr<'a> {
    /// `AF_UNSPEC` (for `connect`: dissolve the association).
    Unspec,
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
    Unix(UnixName<'a>),
}

/// A Unix-domain name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnixName<'a> {
    /// `sizeof(sa_family_t)` bytes only: no name (`bind` autobinds).
    Unnamed,
    /// A path, without its terminating NUL.
    Path(&'a [u8]),
    /// An abstract name: the bytes after the leading NUL, NULs included.
    Abstract(&'a [u8]),
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes the `struct sockaddr` in `bytes` (the caller's `addrlen` bytes) for a socket of
/// `family`, with Linux's checks: too short for the family is `EINVAL`; another family is
/// `EAFNOSUPPORT` for IP sockets and `EINVAL` for Unix ones; `AF_UNSPEC` is [`Addr::Unspec`].
pub fn decode_addr(bytes: &[u8], family: Family) -> Result<Addr<'_>, Errno> {
    if bytes.len() < 2 || bytes.len() > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let af = u32::from(u16_at(bytes, 0));
    if af == n::AF_UNSPEC {
        return Ok(Addr::Unspec);
    }
    match family {
        Family::Inet => {
            if bytes.len() < SOCKADDR_IN {
                return Err(Errno::EINVAL);
            }
            if af != n::AF_INET {
                return Err(Errno::EAFNOSUPPORT);
            }
            let at = offset_of!(n::sockaddr_in, sin_addr);
            Ok(Addr::V4 {
                ip: [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]],
                port: u16::from_be(u16_at(bytes, offset_of!(n::sockaddr_in, sin_port))),
            })
        }
        Family::Inet6 => {
            if bytes.len() < SOCKADDR_IN6_OLD {
                return Err(Errno::EINVAL);
            }
            if af != n::AF_INET6 {
                return Err(Errno::EAFNOSUPPORT);
            }
            let at = offset_of!(n::sockaddr_in6, sin6_addr);
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&bytes[at..at + 16]);
            let scope_id = if bytes.len() >= SOCKADDR_IN6 {
                u32_at(bytes, offset_of!(n::sockaddr_in6, sin6_scope_id))
            } else {
                0
            };
            Ok(Addr::V6 {
                ip,
                port: u16::from_be(u16_at(bytes, offset_of!(n::sockaddr_in6, sin6_port))),
                flowinfo: u32::from_be(u32_at(bytes, offset_of!(n::sockaddr_in6, sin6_flowinfo))),
                scope_id,
            })
        }
        Family::Unix => {
            if af != n::AF_UNIX || bytes.len() > SOCKADDR_UN {
                return Err(Errno::EINVAL);
            }
            let path = &bytes[SUN_PATH..];
            Ok(Addr::Unix(match path.first() {
                None => UnixName::Unnamed,
                Some(0) => UnixName::Abstract(&path[1..]),
                Some(_) => {
                    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                    UnixName::Path(&path[..end])
                }
            }))
        }
    }
}

/// Encodes `addr` into `out`; returns its full length (what Linux reports as `addrlen`; the
/// caller copies only what fits the caller's buffer).
pub fn encode_addr(addr: &Addr<'_>, out: &mut [u8; SOCKADDR_MAX]) -> usize {
    out.fill(0);
    let family = |out: &mut [u8; SOCKADDR_MAX], af: u32| {
        out[..2].copy_from_slice(&(af as u16).to_ne_bytes());
    };
    match addr {
        Addr::Unspec => {
            family(out, n::AF_UNSPEC);
            2
        }
        Addr::V4 { ip, port } => {
            family(out, n::AF_INET);
            let p = offset_of!(n::sockaddr_in, sin_port);
            out[p..p + 2].copy_from_slice(&port.to_be_bytes());
            let a = offset_of!(n::sockaddr_in, sin_addr);
            out[a..a + 4].copy_from_slice(ip);
            SOCKADDR_IN
        }
        Addr::V6 {
            ip,
            port,
            flowinfo,
            scope_id,
        } => {
            family(out, n::AF_INET6);
            let p = offset_of!(n::sockaddr_in6, sin6_port);
            out[p..p + 2].copy_from_slice(&port.to_be_bytes());
            let f = offset_of!(n::sockaddr_in6, sin6_flowinfo);
            out[f..f + 4].copy_from_slice(&flowinfo.to_be_bytes());
            let a = offset_of!(n::sockaddr_in6, sin6_addr);
            out[a..a + 16].copy_from_slice(ip);
            let s = offset_of!(n::sockaddr_in6, sin6_scope_id);
            out[s..s + 4].copy_from_slice(&scope_id.to_ne_bytes());
            SOCKADDR_IN6
        }
        Addr::Unix(name) => {
            family(out, n::AF_UNIX);
            let room = SOCKADDR_UN - SUN_PATH;
            match name {
                UnixName::Unnamed => SUN_PATH,
                UnixName::Path(p) => {
                    // The path and its NUL (a 108-byte path has none, as on Linux).
                    let len = p.len().min(room);
                    out[SUN_PATH..SUN_PATH + len].copy_from_slice(&p[..len]);
                    SUN_PATH + (len + 1).min(room)
                }
                UnixName::Abstract(name) => {
                    let len = name.len().min(room - 1);
                    out[SUN_PATH + 1..SUN_PATH + 1 + len].copy_from_slice(&name[..len]);
                    SUN_PATH + 1 + len
                }
            }
        }
    }
}

/// A `struct timeval` option value (`SO_RCVTIMEO`, `SO_SNDTIMEO`) as a timeout in ns:
/// `None` for zero (no timeout); a negative time is a zero timeout (`Some(0)`: fail at once),
/// as on Linux; microseconds out of range are `EDOM`, a short value `EINVAL`.
pub fn decode_timeval(bytes: &[u8]) -> Result<Option<u64>, Errno> {
    if bytes.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let sec = i64::from_ne_bytes(bytes[..8].try_into().unwrap());
    let usec = i64::from_ne_bytes(bytes[8..16].try_into().unwrap());
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(0));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    Ok(Some(
        (sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(usec as u64 * 1000),
    ))
}

/// A timeout as `struct timeval` (zero for none).
pub fn encode_timeval(ns: Option<u64>) -> [u8; 16] {
    let ns = ns.unwrap_or(0);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_ne_bytes());
    out[8..].copy_from_slice(&((ns % 1_000_000_000 / 1000) as i64).to_ne_bytes());
    out
}

/// What `getsockopt(SO_SNDBUF/SO_RCVBUF)` reports after setting `requested`: Linux doubles the
/// value (for its bookkeeping), capped by `[wr]mem_max` (212992) unless forced, and at least
/// its minimum (4608 for send, 2304 for receive).
pub fn buffer_size(requested: i32, send: bool, forced: bool) -> i32 {
    const MEM_MAX: i32 = 212_992;
    let v = requested.max(0);
    let v = if forced { v } else { v.min(MEM_MAX) };
    let min = if send { 4608 } else { 2304 };
    v.saturating_mul(2).max(min)
}

/// `struct cmsghdr`: length (8 bytes), level, type; data follows, each message padded to 8.
const CMSG_HDR: usize = core::mem::size_of::<n::cmsghdr>();
const _: () = assert!(CMSG_HDR == 16);

/// `CMSG_ALIGN`: control messages are 8-byte aligned on x86_64.
fn cmsg_align(len: usize) -> usize {
    (len + 7) & !7
}

/// One control message: level, type and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmsg {
    pub level: i32,
    pub kind: i32,
    pub data: alloc::vec::Vec<u8>,
}

/// The control messages of a `sendmsg` buffer, as Linux walks them (`CMSG_FIRSTHDR`,
/// `CMSG_NXTHDR`): a message whose length is under a header's or runs past the buffer is
/// `EINVAL`; a tail shorter than a header ends the walk.
pub fn parse_cmsgs(buf: &[u8]) -> Result<alloc::vec::Vec<Cmsg>, Errno> {
    let mut out = alloc::vec::Vec::new();
    let mut at = 0;
    while buf.len() - at >= CMSG_HDR {
        let len = u64::from_ne_bytes(buf[at..at + 8].try_into().unwrap());
        let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
        if len < CMSG_HDR || len > buf.len() - at {
            return Err(Errno::EINVAL);
        }
        out.push(Cmsg {
            level: i32::from_ne_bytes(buf[at + 8..at + 12].try_into().unwrap()),
            kind: i32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap()),
            data: buf[at + CMSG_HDR..at + len].to_vec(),
        });
        at += cmsg_align(len);
        if at > buf.len() {
            break;
        }
    }
    Ok(out)
}

/// The control buffer `recvmsg` writes for `cmsgs` into `cap` bytes, and whether it was cut
/// (`MSG_CTRUNC`), as Linux's `put_cmsg` does: a message that does not fit is written as far
/// as room goes (its header's length saying so), and nothing after it.
pub fn put_cmsgs(cmsgs: &[Cmsg], cap: usize) -> (alloc::vec::Vec<u8>, bool) {
    let mut out = alloc::vec::Vec::new();
    for c in cmsgs {
        let room = cap - out.len();
        if room < CMSG_HDR {
            return (out, true);
        }
        let full = CMSG_HDR + c.data.len();
        let len = full.min(room);
        out.extend_from_slice(&(len as u64).to_ne_bytes());
        out.extend_from_slice(&c.level.to_ne_bytes());
        out.extend_from_slice(&c.kind.to_ne_bytes());
        out.extend_from_slice(&c.data[..len - CMSG_HDR]);
        if len < full {
            return (out, true);
        }
        let padded = cmsg_align(full).min(cap);
        out.resize(out.len() + (padded - full), 0);
    }
    (out, false)
}

/// How `sendmsg` with UDP segmentation (`UDP_SEGMENT`, Linux's GSO) cuts `len` bytes into
/// datagrams of `size`: the lengths, or `EINVAL` for a size of 0 or more than 64
/// segments (`UDP_MAX_SEGMENTS`). A buffer that fits one segment is sent as it is.
pub fn udp_segments(len: usize, size: usize) -> Result<alloc::vec::Vec<usize>, Errno> {
    const UDP_MAX_SEGMENTS: usize = 64;
    if len <= size {
        return Ok(alloc::vec![len]);
    }
    if size == 0 || len.div_ceil(size) > UDP_MAX_SEGMENTS {
        return Err(Errno::EINVAL);
    }
    Ok((0..len)
        .step_by(size)
        .map(|at| size.min(len - at))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_arguments_as_linux_checks_them() {
        let tcp = decode_socket(n::AF_INET, n::SOCK_STREAM | SOCK_CLOEXEC, 0).unwrap();
        assert_eq!(
            tcp,
            SocketSpec {
                family: Family::Inet,
                ty: Type::Stream,
                nonblocking: false,
                cloexec: true
            }
        );
        let udp6 = decode_socket(n::AF_INET6, n::SOCK_DGRAM | SOCK_NONBLOCK, 17).unwrap();
        assert_eq!(
            (udp6.family, udp6.ty, udp6.nonblocking),
            (Family::Inet6, Type::Datagram, true)
        );
        assert_eq!(
            decode_socket(n::AF_INET, n::SOCK_STREAM, 17),
            Err(Errno::EPROTONOSUPPORT)
        );
        assert_eq!(
            decode_socket(n::AF_INET, n::SOCK_SEQPACKET, 0),
            Err(Errno::ESOCKTNOSUPPORT)
        );
        assert_eq!(
            decode_socket(n::AF_INET, n::SOCK_RAW, 0),
            Err(Errno::EPROTONOSUPPORT)
        );
        assert_eq!(decode_socket(n::AF_INET, n::SOCK_RAW, 1), Err(Errno::EPERM));
        assert_eq!(
            decode_socket(n::AF_INET, n::SOCK_DGRAM, 1),
            Err(Errno::EACCES)
        );
        assert_eq!(decode_socket(n::AF_INET, 11, 0), Err(Errno::EINVAL));
        assert_eq!(
            decode_socket(n::AF_INET, n::SOCK_STREAM | 0x10, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            decode_socket(n::AF_NETLINK, n::SOCK_RAW, 0),
            Err(Errno::EAFNOSUPPORT)
        );
        assert_eq!(
            decode_socket(n::AF_PACKET, n::SOCK_RAW, 0),
            Err(Errno::EPERM)
        );
        assert_eq!(
            decode_socket(n::AF_MAX, n::SOCK_STREAM, 0),
            Err(Errno::EAFNOSUPPORT)
        );
        let raw_unix = decode_socket(n::AF_UNIX, n::SOCK_RAW, 0).unwrap();
        assert_eq!(raw_unix.ty, Type::Datagram);
        assert_eq!(
            decode_socket(n::AF_UNIX, n::SOCK_STREAM, 6),
            Err(Errno::EPROTONOSUPPORT)
        );
    }

    #[test]
    fn ipv4_addresses_round_trip() {
        let a = Addr::V4 {
            ip: [127, 0, 0, 1],
            port: 8080,
        };
        let mut out = [0u8; SOCKADDR_MAX];
        let len = encode_addr(&a, &mut out);
        assert_eq!(len, 16);
        assert_eq!(&out[..8], &[2, 0, 0x1f, 0x90, 127, 0, 0, 1]);
        assert_eq!(decode_addr(&out[..len], Family::Inet), Ok(a));
        assert_eq!(decode_addr(&out[..15], Family::Inet), Err(Errno::EINVAL));
        assert_eq!(decode_addr(&out[..16], Family::Inet6), Err(Errno::EINVAL));
        let mut unspec = out;
        unspec[0] = 0;
        assert_eq!(decode_addr(&unspec[..16], Family::Inet), Ok(Addr::Unspec));
    }

    #[test]
    fn ipv6_addresses_round_trip() {
        let mut ip = [0u8; 16];
        ip[15] = 1;
        let a = Addr::V6 {
            ip,
            port: 443,
            flowinfo: 7,
            scope_id: 3,
        };
        let mut out = [0u8; SOCKADDR_MAX];
        assert_eq!(encode_addr(&a, &mut out), 28);
        assert_eq!(decode_addr(&out[..28], Family::Inet6), Ok(a));
        // The RFC 2133 size: no scope id.
        let old = decode_addr(&out[..24], Family::Inet6).unwrap();
        assert!(matches!(
            old,
            Addr::V6 {
                scope_id: 0,
                port: 443,
                ..
            }
        ));
        assert_eq!(
            decode_addr(&out[..28], Family::Inet),
            Err(Errno::EAFNOSUPPORT)
        );
    }

    #[test]
    fn unix_names() {
        let mut b = [0u8; 110];
        b[..2].copy_from_slice(&(n::AF_UNIX as u16).to_ne_bytes());
        b[2..7].copy_from_slice(b"/tmp/");
        b[7] = b's';
        assert_eq!(
            decode_addr(&b[..8], Family::Unix),
            Ok(Addr::Unix(UnixName::Path(b"/tmp/s")))
        );
        // A NUL inside ends the path.
        assert_eq!(
            decode_addr(&b[..20], Family::Unix),
            Ok(Addr::Unix(UnixName::Path(b"/tmp/s")))
        );
        assert_eq!(
            decode_addr(&b[..2], Family::Unix),
            Ok(Addr::Unix(UnixName::Unnamed))
        );
        let mut abs = [0u8; 8];
        abs[..2].copy_from_slice(&(n::AF_UNIX as u16).to_ne_bytes());
        abs[3..6].copy_from_slice(b"abc");
        assert_eq!(
            decode_addr(&abs, Family::Unix),
            Ok(Addr::Unix(UnixName::Abstract(b"abc\0\0")))
        );
        let mut out = [0u8; SOCKADDR_MAX];
        assert_eq!(
            encode_addr(&Addr::Unix(UnixName::Path(b"/tmp/s")), &mut out),
            2 + 6 + 1
        );
        assert_eq!(&out[2..9], b"/tmp/s\0");
        assert_eq!(
            encode_addr(&Addr::Unix(UnixName::Abstract(b"ab")), &mut out),
            5
        );
        assert_eq!(&out[2..5], b"\0ab");
        assert_eq!(encode_addr(&Addr::Unix(UnixName::Unnamed), &mut out), 2);
        // Another family on a Unix socket, or too long: EINVAL.
        let mut inet = b;
        inet[0] = 2;
        assert_eq!(decode_addr(&inet[..16], Family::Unix), Err(Errno::EINVAL));
        assert_eq!(
            decode_addr(&[1, 0].repeat(56), Family::Unix),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn timevals() {
        let tv = |s: i64, us: i64| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&s.to_ne_bytes());
            b[8..].copy_from_slice(&us.to_ne_bytes());
            b
        };
        assert_eq!(decode_timeval(&tv(0, 0)), Ok(None));
        assert_eq!(decode_timeval(&tv(1, 500_000)), Ok(Some(1_500_000_000)));
        assert_eq!(decode_timeval(&tv(-1, 0)), Ok(Some(0)));
        assert_eq!(decode_timeval(&tv(0, 1_000_000)), Err(Errno::EDOM));
        assert_eq!(decode_timeval(&tv(0, 0)[..8]), Err(Errno::EINVAL));
        assert_eq!(encode_timeval(Some(2_250_000_000)), tv(2, 250_000));
        assert_eq!(encode_timeval(None), tv(0, 0));
    }

    #[test]
    fn buffer_sizes_double_as_on_linux() {
        assert_eq!(buffer_size(65536, true, false), 131072);
        assert_eq!(buffer_size(1, true, false), 4608);
        assert_eq!(buffer_size(1, false, false), 2304);
        assert_eq!(buffer_size(1 << 30, false, false), 425_984);
        assert_eq!(buffer_size(1 << 20, false, true), 1 << 21);
    }

    #[test]
    fn control_messages() {
        let cm = |level, kind, data: &[u8]| Cmsg {
            level,
            kind,
            data: data.to_vec(),
        };
        let two = [cm(0, 20, &[1; 16]), cm(17, 103, &[2, 0])];
        let (buf, cut) = put_cmsgs(&two, 256);
        assert!(!cut);
        // 16 + 16, then 16 + 2 padded to 24 (the last message's padding included).
        assert_eq!(buf.len(), 32 + 24);
        assert_eq!(&buf[0..8], &32u64.to_ne_bytes());
        assert_eq!(&buf[32..40], &18u64.to_ne_bytes());
        assert_eq!(parse_cmsgs(&buf).unwrap(), two);
        // Room for the first only, and part of the second's header: cut.
        let (buf, cut) = put_cmsgs(&two, 40);
        assert!(cut);
        assert_eq!(buf.len(), 32);
        // Room for a header and part of the data: the message is cut, its length says so.
        let (buf, cut) = put_cmsgs(&two, 20);
        assert!(cut);
        assert_eq!(&buf[0..8], &20u64.to_ne_bytes());
        assert_eq!(buf.len(), 20);
        // Less than a header: nothing.
        assert_eq!(put_cmsgs(&two, 8), (alloc::vec![], true));
        // A length under a header's or past the end is refused; a short tail ends the walk.
        let mut bad = put_cmsgs(&two[..1], 64).0;
        bad[0] = 8;
        assert_eq!(parse_cmsgs(&bad), Err(Errno::EINVAL));
        bad[0] = 64;
        assert_eq!(parse_cmsgs(&bad), Err(Errno::EINVAL));
        assert_eq!(parse_cmsgs(&[0; 12]).unwrap(), alloc::vec![]);
    }

    #[test]
    fn gso_segments() {
        assert_eq!(udp_segments(13, 2).unwrap(), [2, 2, 2, 2, 2, 2, 1]);
        assert_eq!(udp_segments(4, 2).unwrap(), [2, 2]);
        assert_eq!(udp_segments(1, 2).unwrap(), [1]);
        assert_eq!(udp_segments(0, 0).unwrap(), [0]);
        assert_eq!(udp_segments(5, 0), Err(Errno::EINVAL));
        assert_eq!(udp_segments(65, 1), Err(Errno::EINVAL));
        assert_eq!(udp_segments(64, 1).unwrap().len(), 64);
    }
}
