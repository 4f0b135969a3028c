//! Frames for kernel tests, here and in the layers above, to hand the stack as if the device
//! had received them ([`inject`]): QEMU's restricted network sends the guest no UDP over IPv6
//! and no ICMP error (libslirp drops the guest's UDP under `restrict=on`).

use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv4Message, Icmpv4Packet,
    Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, UdpPacket,
};

/// Receives `frame` on the next run of the stack, as if from the wire.
pub fn inject(frame: Vec<u8>) {
    crate::phy::inject(frame);
}

/// A UDP datagram of `len` payload bytes from `src` to `dst` as an ICMP error quotes it: its
/// IP and UDP headers, then the first `quoted` bytes of its payload.
pub fn quoted_udp(src: (IpAddr, u16), dst: (IpAddr, u16), len: usize, quoted: usize) -> Vec<u8> {
    let ip_len = if src.0.is_ipv4() { 20 } else { 40 };
    let mut d = vec![0u8; ip_len + 8 + quoted];
    match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(t)) => Ipv4Repr {
            src_addr: s,
            dst_addr: t,
            next_header: IpProtocol::Udp,
            payload_len: 8 + len,
            hop_limit: 64,
        }
        .emit(
            &mut Ipv4Packet::new_unchecked(&mut d[..ip_len]),
            &ChecksumCapabilities::default(),
        ),
        (IpAddr::V6(s), IpAddr::V6(t)) => Ipv6Repr {
            src_addr: s,
            dst_addr: t,
            next_header: IpProtocol::Udp,
            payload_len: 8 + len,
            hop_limit: 64,
        }
        .emit(&mut Ipv6Packet::new_unchecked(&mut d[..ip_len])),
        _ => panic!("one family"),
    }
    let mut udp = UdpPacket::new_unchecked(&mut d[ip_len..ip_len + 8]);
    udp.set_src_port(src.1);
    udp.set_dst_port(dst.1);
    udp.set_len((8 + len) as u16);
    d
}

/// An Ethernet frame to this interface carrying an ICMP destination unreachable of `code`
/// (ICMPv4 or ICMPv6, by `to`'s family) addressed to `to` and quoting `quoted`, from where
/// libslirp sends them (127.0.0.1 and ::1, measured); the checksum broken if `bad_sum`.
pub fn icmp_frame(to: IpAddr, code: u8, quoted: &[u8], bad_sum: bool) -> Vec<u8> {
    let mac = crate::info().unwrap().mac;
    let ip_len = if to.is_ipv4() { 20 } else { 40 };
    let icmp_len = 8 + quoted.len();
    let mut frame = vec![0u8; 14 + ip_len + icmp_len];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress([0x52, 0x55, 10, 0, 2, 2]),
        dst_addr: EthernetAddress(mac),
        ethertype: if to.is_ipv4() {
            EthernetProtocol::Ipv4
        } else {
            EthernetProtocol::Ipv6
        },
    }
    .emit(&mut eth);
    match to {
        IpAddr::V4(dst) => {
            let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
            Ipv4Repr {
                src_addr: Ipv4Addr::LOCALHOST,
                dst_addr: dst,
                next_header: IpProtocol::Icmp,
                payload_len: icmp_len,
                hop_limit: 255,
            }
            .emit(&mut ip, &ChecksumCapabilities::default());
            let mut icmp = Icmpv4Packet::new_unchecked(ip.payload_mut());
            icmp.set_msg_type(Icmpv4Message::DstUnreachable);
            icmp.set_msg_code(code);
            icmp.data_mut().copy_from_slice(quoted);
            icmp.fill_checksum();
        }
        IpAddr::V6(dst) => {
            let mut ip = Ipv6Packet::new_unchecked(eth.payload_mut());
            Ipv6Repr {
                src_addr: Ipv6Addr::LOCALHOST,
                dst_addr: dst,
                next_header: IpProtocol::Icmpv6,
                payload_len: icmp_len,
                hop_limit: 64,
            }
            .emit(&mut ip);
            let mut icmp = Icmpv6Packet::new_unchecked(ip.payload_mut());
            icmp.set_msg_type(Icmpv6Message::DstUnreachable);
            icmp.set_msg_code(code);
            icmp.payload_mut().copy_from_slice(quoted);
            icmp.fill_checksum(&Ipv6Addr::LOCALHOST, &dst);
        }
    }
    if bad_sum {
        let last = frame.len() - 1;
        frame[last] ^= 0xff;
    }
    frame
}

/// This interface's address in `fec0::/64` and libslirp's host there.
pub fn fec0_addresses() -> (IpAddr, IpAddr) {
    let me = Ipv6Addr::from(crate::ipv6_from_mac(
        crate::IPV6_PREFIXES[1],
        crate::info().unwrap().mac,
    ));
    let host = Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 2);
    (me.into(), host.into())
}
