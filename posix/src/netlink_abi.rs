//! The netlink route protocol's messages, as the Linux system-call layer answers them
//! (`linux/netlink.rs` has the sockets): `RTM_GETLINK` and `RTM_GETADDR` dumps built from a
//! list of interfaces, `NLMSG_ERROR` `EOPNOTSUPP` for anything else. Written by hand: the
//! messages are a few fixed layouts, and the netlink crates need std. Host-tested.

use alloc::vec::Vec;
use core::net::IpAddr;
use errno::Errno;
use linux_raw_sys::netlink as nl;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// `NLM_F_ROOT | NLM_F_MATCH`.
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_HDRLEN: usize = 16;
/// Most bytes in one answer datagram (a page, as Linux packs dumps by default).
pub const DATAGRAM_MAX: usize = 4096;
const IFA_F_PERMANENT: u8 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_HOST: u8 = 254;
const IF_OPER_UP: u8 = 6;
const IF_OPER_UNKNOWN: u8 = 0;
const IFF_LOOPBACK: u32 = 0x8;

/// A network interface as the answers describe it.
pub struct Link<'a> {
    pub name: &'a str,
    pub index: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
    /// `ARPHRD_*`.
    pub hardware: u16,
    /// `IFF_*`.
    pub flags: u32,
    /// Addresses and prefix lengths.
    pub addresses: &'a [(IpAddr, u8)],
}

/// The datagrams answering the requests in `data` (one or more netlink messages) sent by port
/// `pid`, about `links`. `EINVAL` for a malformed message.
pub fn answers(data: &[u8], pid: u32, links: &[Link<'_>]) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    let mut at = 0;
    while data.len() - at >= NLMSG_HDRLEN {
        let header = &data[at..];
        let len = u32::from_ne_bytes(header[0..4].try_into().unwrap()) as usize;
        if len < NLMSG_HDRLEN || len > header.len() {
            return Err(Errno::EINVAL);
        }
        let request = Request {
            kind: u16::from_ne_bytes([header[4], header[5]]),
            flags: u16::from_ne_bytes([header[6], header[7]]),
            seq: u32::from_ne_bytes(header[8..12].try_into().unwrap()),
            pid,
            body: &header[NLMSG_HDRLEN..len],
        };
        out.extend(answer(&request, links));
        at += align(len).min(data.len() - at);
    }
    Ok(out)
}

/// One request's header fields and body.
struct Request<'a> {
    kind: u16,
    flags: u16,
    seq: u32,
    pid: u32,
    body: &'a [u8],
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// The datagrams answering `request`.
fn answer(request: &Request<'_>, interfaces: &[Link<'_>]) -> Vec<Vec<u8>> {
    let dump = request.flags & NLM_F_DUMP == NLM_F_DUMP;
    // The first byte of a dump request's body is the address family asked for.
    let family = request.body.first().copied().unwrap_or(0);
    let messages: Vec<Vec<u8>> = match request.kind {
        k if k == nl::RTM_GETLINK as u16 && dump => {
            interfaces.iter().map(|i| link(request, i)).collect()
        }
        k if k == nl::RTM_GETADDR as u16 && dump => interfaces
            .iter()
            .flat_map(|i| {
                i.addresses
                    .iter()
                    .filter(move |(a, _)| family == 0 || family == family_of(a))
                    .map(move |(a, prefix)| addr(request, i, a, *prefix))
            })
            .collect(),
        _ => return alloc::vec![error(request, Errno::EOPNOTSUPP)],
    };
    let done = message(request, nl::NLMSG_DONE as u16, 0, &0i32.to_ne_bytes(), &[]);
    let mut datagrams: Vec<Vec<u8>> = Vec::new();
    let mut current = Vec::new();
    for m in messages.into_iter().chain(core::iter::once(done)) {
        if !current.is_empty() && current.len() + m.len() > DATAGRAM_MAX {
            datagrams.push(core::mem::take(&mut current));
        }
        current.extend(m);
    }
    datagrams.push(current);
    datagrams
}

fn family_of(a: &IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

/// A netlink message: header, fixed body, then attributes (`(type, value)`), each aligned.
fn message(r: &Request<'_>, kind: u16, flags: u16, body: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut m = alloc::vec![0u8; NLMSG_HDRLEN];
    m.extend_from_slice(body);
    m.resize(align(m.len()), 0);
    for (kind, value) in attrs {
        let len = 4 + value.len();
        m.extend_from_slice(&(len as u16).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(value);
        m.resize(align(m.len()), 0);
    }
    let total = m.len() as u32;
    m[0..4].copy_from_slice(&total.to_ne_bytes());
    m[4..6].copy_from_slice(&kind.to_ne_bytes());
    m[6..8].copy_from_slice(&flags.to_ne_bytes());
    m[8..12].copy_from_slice(&r.seq.to_ne_bytes());
    m[12..16].copy_from_slice(&r.pid.to_ne_bytes());
    m
}

/// `NLMSG_ERROR` with `-errno` and the request's header.
fn error(r: &Request<'_>, errno: Errno) -> Vec<u8> {
    let mut body = (-errno.raw()).to_ne_bytes().to_vec();
    let mut header = [0u8; NLMSG_HDRLEN];
    header[0..4].copy_from_slice(&((NLMSG_HDRLEN + r.body.len()) as u32).to_ne_bytes());
    header[4..6].copy_from_slice(&r.kind.to_ne_bytes());
    header[6..8].copy_from_slice(&r.flags.to_ne_bytes());
    header[8..12].copy_from_slice(&r.seq.to_ne_bytes());
    header[12..16].copy_from_slice(&r.pid.to_ne_bytes());
    body.extend_from_slice(&header);
    message(r, nl::NLMSG_ERROR as u16, 0, &body, &[])
}

/// `RTM_NEWLINK` for interface `i`: `ifinfomsg`, then name, hardware and broadcast
/// addresses, MTU and operational state, as Linux orders them.
fn link(r: &Request<'_>, i: &Link<'_>) -> Vec<u8> {
    let mut body = [0u8; 16];
    body[2..4].copy_from_slice(&i.hardware.to_ne_bytes());
    body[4..8].copy_from_slice(&(i.index as i32).to_ne_bytes());
    body[8..12].copy_from_slice(&i.flags.to_ne_bytes());
    let name = [i.name.as_bytes(), &[0]].concat();
    let mtu = i.mtu.to_ne_bytes();
    let loopback = i.flags & IFF_LOOPBACK != 0;
    let broadcast = if loopback { [0u8; 6] } else { [0xff; 6] };
    let oper = [if loopback {
        IF_OPER_UNKNOWN
    } else {
        IF_OPER_UP
    }];
    message(
        r,
        nl::RTM_NEWLINK as u16,
        nl::NLM_F_MULTI as u16,
        &body,
        &[
            (nl::IFLA_IFNAME as u16, &name),
            (nl::IFLA_MTU as u16, &mtu),
            (nl::IFLA_OPERSTATE as u16, &oper),
            (nl::IFLA_ADDRESS as u16, &i.mac),
            (nl::IFLA_BROADCAST as u16, &broadcast),
        ],
    )
}

/// `RTM_NEWADDR` for address `a`/`prefix` of interface `i`: `ifaddrmsg`, then (IPv4) address,
/// local address, broadcast and label, or (IPv6) address, as Linux orders them.
fn addr(r: &Request<'_>, i: &Link<'_>, a: &IpAddr, prefix: u8) -> Vec<u8> {
    let loopback = i.flags & IFF_LOOPBACK != 0;
    let scope = if loopback {
        RT_SCOPE_HOST
    } else {
        RT_SCOPE_UNIVERSE
    };
    let mut body = [0u8; 8];
    body[0] = family_of(a);
    body[1] = prefix;
    body[2] = IFA_F_PERMANENT;
    body[3] = scope;
    body[4..8].copy_from_slice(&i.index.to_ne_bytes());
    let kind = nl::RTM_NEWADDR as u16;
    let multi = nl::NLM_F_MULTI as u16;
    match a {
        IpAddr::V4(v4) => {
            let octets = v4.octets();
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            let broadcast = (u32::from_be_bytes(octets) | !mask).to_be_bytes();
            let label = [i.name.as_bytes(), &[0]].concat();
            let mut attrs: Vec<(u16, &[u8])> = alloc::vec![
                (nl::IFA_ADDRESS as u16, &octets),
                (nl::IFA_LOCAL as u16, &octets),
            ];
            if !loopback {
                attrs.push((nl::IFA_BROADCAST as u16, &broadcast));
            }
            attrs.push((nl::IFA_LABEL as u16, &label));
            message(r, kind, multi, &body, &attrs)
        }
        IpAddr::V6(v6) => {
            let octets = v6.octets();
            message(r, kind, multi, &body, &[(nl::IFA_ADDRESS as u16, &octets)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LO_ADDRESSES: [(IpAddr, u8); 2] = [
        (IpAddr::V4(core::net::Ipv4Addr::LOCALHOST), 8),
        (IpAddr::V6(core::net::Ipv6Addr::LOCALHOST), 128),
    ];

    fn lo() -> Link<'static> {
        Link {
            name: "lo",
            index: 1,
            mac: [0; 6],
            mtu: 65536,
            hardware: 772,
            flags: 0x1 | IFF_LOOPBACK | 0x40,
            addresses: &LO_ADDRESSES,
        }
    }

    fn request(kind: u16, flags: u16, body: &[u8]) -> Request<'_> {
        Request {
            kind,
            flags,
            seq: 7,
            pid: 42,
            body,
        }
    }

    /// The messages of a datagram: (type, total length).
    fn messages(d: &[u8]) -> Vec<(u16, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + NLMSG_HDRLEN <= d.len() {
            let len = u32::from_ne_bytes(d[at..at + 4].try_into().unwrap()) as usize;
            out.push((u16::from_ne_bytes([d[at + 4], d[at + 5]]), len));
            at += align(len);
        }
        assert_eq!(at, d.len(), "messages fill the datagram");
        out
    }

    #[test]
    fn requests_in_one_send_are_each_answered() {
        // Two requests back to back: a link dump and an address dump.
        let mut data = Vec::new();
        for kind in [nl::RTM_GETLINK as u16, nl::RTM_GETADDR as u16] {
            data.extend_from_slice(&20u32.to_ne_bytes());
            data.extend_from_slice(&kind.to_ne_bytes());
            data.extend_from_slice(&(0x1 | NLM_F_DUMP).to_ne_bytes());
            data.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
        let out = answers(&data, 9, &[lo()]).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(answers(&[20, 0, 0, 0, 0, 0], 9, &[lo()]).unwrap().len(), 0);
        let mut short = data.clone();
        short[0] = 200;
        assert_eq!(answers(&short, 9, &[lo()]), Err(Errno::EINVAL));
    }

    #[test]
    fn link_dump_is_one_message_per_interface_then_done() {
        let r = request(nl::RTM_GETLINK as u16, 0x1 | NLM_F_DUMP, &[0; 16]);
        let answer = answer(&r, &[lo()]);
        assert_eq!(answer.len(), 1);
        let kinds: Vec<u16> = messages(&answer[0]).iter().map(|m| m.0).collect();
        assert_eq!(kinds, [nl::RTM_NEWLINK as u16, nl::NLMSG_DONE as u16]);
        let d = &answer[0];
        // Sequence number and port id echo the request.
        assert_eq!(u32::from_ne_bytes(d[8..12].try_into().unwrap()), 7);
        assert_eq!(u32::from_ne_bytes(d[12..16].try_into().unwrap()), 42);
        // ifinfomsg: type ARPHRD_LOOPBACK, index 1; then IFLA_IFNAME "lo\0".
        assert_eq!(u16::from_ne_bytes([d[18], d[19]]), 772);
        assert_eq!(i32::from_ne_bytes(d[20..24].try_into().unwrap()), 1);
        assert_eq!(u16::from_ne_bytes([d[34], d[35]]), nl::IFLA_IFNAME as u16);
        assert_eq!(&d[36..39], b"lo\0");
    }

    #[test]
    fn address_dump_filters_by_family() {
        let all = answer(&request(nl::RTM_GETADDR as u16, NLM_F_DUMP, &[0]), &[lo()]);
        let v4 = answer(
            &request(nl::RTM_GETADDR as u16, NLM_F_DUMP, &[AF_INET]),
            &[lo()],
        );
        let v6 = answer(
            &request(nl::RTM_GETADDR as u16, NLM_F_DUMP, &[AF_INET6]),
            &[lo()],
        );
        assert_eq!(messages(&all[0]).len(), 3);
        assert_eq!(messages(&v4[0]).len(), 2);
        assert_eq!(messages(&v6[0]).len(), 2);
        // ifaddrmsg of 127.0.0.1/8, scope host; IFA_ADDRESS 127.0.0.1.
        let d = &v4[0];
        assert_eq!((d[16], d[17], d[19]), (AF_INET, 8, RT_SCOPE_HOST));
        assert_eq!(&d[28..32], &[127, 0, 0, 1]);
    }

    #[test]
    fn other_requests_get_an_error_and_big_dumps_span_datagrams() {
        let answer_of = answer(&request(nl::RTM_NEWLINK as u16, 0x5, &[]), &[lo()]);
        let kinds = messages(&answer_of[0]);
        assert_eq!(kinds[0].0, nl::NLMSG_ERROR as u16);
        let e = &answer_of[0];
        assert_eq!(
            i32::from_ne_bytes(e[16..20].try_into().unwrap()),
            -Errno::EOPNOTSUPP.raw()
        );
        let many: Vec<Link<'_>> = (0..100).map(|_| lo()).collect();
        let dump = answer(&request(nl::RTM_GETLINK as u16, NLM_F_DUMP, &[]), &many);
        assert!(dump.len() > 1);
        assert!(dump.iter().all(|d| d.len() <= DATAGRAM_MAX));
        let total: usize = dump.iter().map(|d| messages(d).len()).sum();
        assert_eq!(total, 101);
        let last = messages(dump.last().unwrap());
        assert_eq!(last.last().unwrap().0, nl::NLMSG_DONE as u16);
    }
}
