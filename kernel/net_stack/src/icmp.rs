//! ICMP port unreachable for the UDP ports: the destination of a datagram a port sent had no
//! socket on its port (ICMPv4 type 3 code 3, ICMPv6 type 1 code 4). Linux then reports
//! `ECONNREFUSED` to a socket connected to that destination, once; so after each run the
//! holder of the port that sent the datagram is told the destination
//! ([`Arrival::Refused`](crate::Arrival), `Stack::take_refusals`), and the socket layer
//! decides as Linux does.
//!
//! smoltcp hands ICMP errors to no UDP socket. Its ICMP socket bound to a UDP port
//! (`icmp::Endpoint::Udp`) would get them, but only when the error quotes the whole datagram:
//! `Icmpv4Repr::parse` checks the quoted IPv4 header's total length against what is quoted,
//! while RFC 792 requires only the header and 8 bytes, Linux quotes at most 576 bytes of
//! packet in all and libslirp 548 bytes of datagram (measured, QEMU 7.2: a 1000-byte datagram
//! comes back truncated). So each received frame is looked at here ([`port_unreachable`],
//! called by `phy` before smoltcp takes the frame, which drops such an error itself): the
//! outer packet through smoltcp's checked wire types and checksums, the quoted datagram only
//! as far as its IP header and the 8 bytes of its UDP header, which hold the ports.

use core::net::IpAddr;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet,
    Icmpv6DstUnreachable, Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv4Packet, Ipv6Packet,
    UdpPacket,
};

/// What a port unreachable tells: a datagram from `local` (an address and port of this
/// interface) to `remote` found no socket there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unreachable {
    pub(crate) local: (IpAddr, u16),
    pub(crate) remote: (IpAddr, u16),
}

/// Length of an IPv4 header without options, an IPv6 header, a UDP header.
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;

/// The port unreachable `frame` carries, if it is one: well formed, checksums right, quoting
/// a UDP datagram sent from the address the error is addressed to.
pub(crate) fn port_unreachable(frame: &[u8]) -> Option<Unreachable> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    match eth.ethertype() {
        EthernetProtocol::Ipv4 => v4(eth.payload()),
        EthernetProtocol::Ipv6 => v6(eth.payload()),
        _ => None,
    }
}

fn v4(packet: &[u8]) -> Option<Unreachable> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    if ip.next_header() != IpProtocol::Icmp
        || !ip.verify_checksum()
        || ip.more_frags()
        || ip.frag_offset() != 0
    {
        return None;
    }
    let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
    if icmp.msg_type() != Icmpv4Message::DstUnreachable
        || icmp.msg_code() != u8::from(Icmpv4DstUnreachable::PortUnreachable)
        || !icmp.verify_checksum()
    {
        return None;
    }
    // The quoted datagram, most likely cut short: not `new_checked`, which wants all of it.
    let quoted = icmp.data();
    if quoted.len() < IPV4_HEADER {
        return None;
    }
    let inner = Ipv4Packet::new_unchecked(quoted);
    let header = usize::from(inner.header_len());
    if inner.version() != 4
        || header < IPV4_HEADER
        || quoted.len() < header + UDP_HEADER
        || inner.next_header() != IpProtocol::Udp
        || inner.src_addr() != ip.dst_addr()
    {
        return None;
    }
    let udp = UdpPacket::new_unchecked(&quoted[header..header + UDP_HEADER]);
    Some(Unreachable {
        local: (IpAddr::V4(inner.src_addr()), udp.src_port()),
        remote: (IpAddr::V4(inner.dst_addr()), udp.dst_port()),
    })
}

/// IPv6: an ICMPv6 message right after the fixed header (libslirp's and Linux's errors carry
/// no extension header), quoting a datagram whose UDP header follows its fixed header.
fn v6(packet: &[u8]) -> Option<Unreachable> {
    let ip = Ipv6Packet::new_checked(packet).ok()?;
    if ip.next_header() != IpProtocol::Icmpv6 {
        return None;
    }
    let icmp = Icmpv6Packet::new_checked(ip.payload()).ok()?;
    if icmp.msg_type() != Icmpv6Message::DstUnreachable
        || icmp.msg_code() != u8::from(Icmpv6DstUnreachable::PortUnreachable)
        || !icmp.verify_checksum(&ip.src_addr(), &ip.dst_addr())
    {
        return None;
    }
    let quoted = icmp.payload();
    if quoted.len() < IPV6_HEADER + UDP_HEADER {
        return None;
    }
    let inner = Ipv6Packet::new_unchecked(quoted);
    if inner.version() != 6
        || inner.next_header() != IpProtocol::Udp
        || inner.src_addr() != ip.dst_addr()
    {
        return None;
    }
    let udp = UdpPacket::new_unchecked(&quoted[IPV6_HEADER..IPV6_HEADER + UDP_HEADER]);
    Some(Unreachable {
        local: (IpAddr::V6(inner.src_addr()), udp.src_port()),
        remote: (IpAddr::V6(inner.dst_addr()), udp.dst_port()),
    })
}
