//! The UDP datagrams in a pcap file QEMU's `filter-dump` wrote (Ethernet frames, classic
//! pcap format): each with its addresses, ports and payload, and whether its checksums hold,
//! over IPv4 and over IPv6 (without extension headers). The network tests read what the guest
//! sent on the wire with it. Written here rather than taken from a crate: it is a few dozen
//! lines over a fixed, simple format.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One UDP datagram seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub payload: Vec<u8>,
    /// IPv4: the header checksum and the UDP checksum (when not zero) are right; IPv6: the
    /// UDP checksum, which IPv6 requires, is there and right.
    pub checksums_ok: bool,
}

fn u16be(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The one's-complement sum of `parts`, folded (RFC 1071).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for part in parts {
        for pair in part.chunks(2) {
            sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The UDP datagram in an Ethernet frame, if it holds one.
fn datagram(frame: &[u8]) -> Option<Datagram> {
    if frame.len() < 14 {
        return None;
    }
    match u16be(frame, 12) {
        0x0800 => datagram4(&frame[14..]),
        0x86dd => datagram6(&frame[14..]),
        _ => None,
    }
}

/// The UDP datagram in an IPv6 packet whose next header is UDP.
fn datagram6(ip: &[u8]) -> Option<Datagram> {
    if ip.len() < 40 + 8 || ip[0] >> 4 != 6 || ip[6] != 17 {
        return None;
    }
    let payload_len = usize::from(u16be(ip, 4));
    if 40 + payload_len > ip.len() {
        return None;
    }
    let udp = &ip[40..40 + payload_len];
    let len = usize::from(u16be(udp, 4));
    if len < 8 || len > udp.len() {
        return None;
    }
    let udp = &udp[..len];
    let addr = |at: usize| {
        let b: [u8; 16] = ip[at..at + 16].try_into().unwrap_or([0; 16]);
        IpAddr::V6(Ipv6Addr::from(b))
    };
    let length = (len as u32).to_be_bytes();
    let pseudo = [&ip[8..40], &length, &[0, 0, 0, 17]].concat();
    Some(Datagram {
        src: (addr(8), u16be(udp, 0)),
        dst: (addr(24), u16be(udp, 2)),
        payload: udp[8..].to_vec(),
        checksums_ok: u16be(udp, 6) != 0 && checksum(&[&pseudo, udp]) == 0,
    })
}

/// The UDP datagram in an IPv4 packet.
fn datagram4(ip: &[u8]) -> Option<Datagram> {
    if ip.len() < 20 + 8 {
        return None;
    }
    let ihl = usize::from(ip[0] & 15) * 4;
    let total = usize::from(u16be(ip, 2));
    if ip[0] >> 4 != 4 || ip[9] != 17 || ihl < 20 || total > ip.len() || total < ihl + 8 {
        return None;
    }
    let udp = &ip[ihl..total];
    let len = usize::from(u16be(udp, 4));
    if len < 8 || len > udp.len() {
        return None;
    }
    let udp = &udp[..len];
    let addr = |at: usize| IpAddr::V4(Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]));
    let pseudo = [&ip[12..20], &[0, 17], &udp[4..6]].concat();
    let udp_ok = u16be(udp, 6) == 0 || checksum(&[&pseudo, udp]) == 0;
    Some(Datagram {
        src: (addr(12), u16be(udp, 0)),
        dst: (addr(16), u16be(udp, 2)),
        payload: udp[8..].to_vec(),
        checksums_ok: checksum(&[&ip[..ihl]]) == 0 && udp_ok,
    })
}

/// Every UDP datagram in a pcap file's bytes, in order; a truncated last record is left out
/// (QEMU may still be writing).
pub fn udp_datagrams(file: &[u8]) -> Vec<Datagram> {
    let mut out = Vec::new();
    if file.len() < 24 || file[..4] != 0xa1b2_c3d4u32.to_le_bytes() {
        return out;
    }
    let mut at = 24;
    while at + 16 <= file.len() {
        let caplen = u32::from_le_bytes([file[at + 8], file[at + 9], file[at + 10], file[at + 11]]);
        let start = at + 16;
        let end = start + caplen as usize;
        if end > file.len() {
            break;
        }
        out.extend(datagram(&file[start..end]));
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pcap file with one Ethernet frame: 10.0.2.15:7070 -> 10.0.2.2:5000, "hi!".
    fn sample() -> Vec<u8> {
        let payload = b"hi!";
        let mut udp = vec![0x1b, 0x9e, 0x13, 0x88, 0, 11, 0, 0];
        udp.extend_from_slice(payload);
        let mut ip = vec![
            0x45, 0, 0, 31, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2,
        ];
        let sum = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let pseudo = [&ip[12..20], &[0, 17, 0, 11]].concat();
        let sum = checksum(&[&pseudo, &udp]);
        udp[6..8].copy_from_slice(&sum.to_be_bytes());
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[8, 0]);
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&udp);
        pcap_file(&frame)
    }

    #[test]
    fn reads_udp_datagrams_and_checks_their_sums() {
        let file = sample();
        let got = udp_datagrams(&file);
        assert_eq!(
            got,
            vec![Datagram {
                src: (Ipv4Addr::new(10, 0, 2, 15).into(), 7070),
                dst: (Ipv4Addr::new(10, 0, 2, 2).into(), 5000),
                payload: b"hi!".to_vec(),
                checksums_ok: true,
            }]
        );
        // A flipped payload byte breaks the UDP checksum.
        let mut bad = file.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(!udp_datagrams(&bad)[0].checksums_ok);
        // A record cut short is not read; a file that is not pcap has nothing.
        assert!(udp_datagrams(&file[..file.len() - 1]).is_empty());
        assert!(udp_datagrams(b"not a pcap file at all, no").is_empty());
    }

    /// A little-endian pcap file holding `frame` as its one record.
    fn pcap_file(frame: &[u8]) -> Vec<u8> {
        let mut file = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
        file.extend_from_slice(&[0; 20]);
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(frame);
        file
    }

    /// A pcap file with one Ethernet frame: [fec0::15]:7070 -> [fec0::2]:5000, "hi!".
    fn sample6() -> Vec<u8> {
        let src: Ipv6Addr = "fec0::15".parse().unwrap();
        let dst: Ipv6Addr = "fec0::2".parse().unwrap();
        let mut udp = vec![0x1b, 0x9e, 0x13, 0x88, 0, 11, 0, 0];
        udp.extend_from_slice(b"hi!");
        let pseudo = [
            &src.octets()[..],
            &dst.octets(),
            &[0, 0, 0, 11],
            &[0, 0, 0, 17],
        ]
        .concat();
        let sum = checksum(&[&pseudo, &udp]);
        udp[6..8].copy_from_slice(&sum.to_be_bytes());
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 11, 17, 64]);
        frame.extend_from_slice(&src.octets());
        frame.extend_from_slice(&dst.octets());
        frame.extend_from_slice(&udp);
        pcap_file(&frame)
    }

    #[test]
    fn reads_ipv6_udp_datagrams_and_checks_their_sums() {
        let file = sample6();
        let got = udp_datagrams(&file);
        assert_eq!(
            got,
            vec![Datagram {
                src: ("fec0::15".parse().unwrap(), 7070),
                dst: ("fec0::2".parse().unwrap(), 5000),
                payload: b"hi!".to_vec(),
                checksums_ok: true,
            }]
        );
        let mut bad = file.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(!udp_datagrams(&bad)[0].checksums_ok);
        // IPv6 requires the UDP checksum: zero is wrong.
        let mut zero = file.clone();
        let at = zero.len() - 3 - 2;
        zero[at] = 0;
        zero[at + 1] = 0;
        assert!(!udp_datagrams(&zero)[0].checksums_ok);
    }
}
