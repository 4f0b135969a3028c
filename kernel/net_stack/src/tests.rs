//! In-kernel tests of the stack on QEMU's user network (`cargo xtask` always attaches one).

use crate::test_frames::{fec0_addresses, icmp_frame, inject, quoted_udp};
use crate::*;
use ktest::kernel_test;

kernel_test! {
    fn dhcp_gives_the_interface_an_address_in_the_background() {
        // The kernel started the stack at boot; DHCP from QEMU's server takes milliseconds.
        assert!(is_present(), "no network stack (QEMU runs with -device virtio-net-pci)");
        assert!(wait_configured(time::monotonic_ns() + 5_000_000_000), "no DHCP lease in 5 s");
        let cfg = ipv4().unwrap();
        assert_eq!(cfg.address, [10, 0, 2, 15], "QEMU's user network gives 10.0.2.15");
        assert_eq!(cfg.prefix_len, 24);
        let info = info().unwrap();
        assert!(info.device.rx_packets > 0 && info.device.tx_packets > 0);
        assert!(info.device.interrupts > 0, "the device interrupts: {info:?}");
    }
}

kernel_test! {
    fn connections_off_the_subnet_are_unreachable_at_once() {
        assert!(wait_configured(time::monotonic_ns() + 5_000_000_000));
        let started = time::monotonic_ns();
        let r = tcp_connect([192, 0, 2, 1].into(), 80, alloc::sync::Arc::new(|| {}));
        assert_eq!(r.err(), Some(Errno::ENETUNREACH));
        assert!(time::monotonic_ns() - started < 100_000_000, "no waiting for a timeout");
        // Two listeners of one family on one port: the second is refused; the port is free
        // again after. An IPv4 and an IPv6 listener share it (`0.0.0.0:P` and a `[::]:P`
        // with `IPV6_V6ONLY`); a dual-stack one then finds it taken.
        let both = Families::any(true, true);
        let v4 = Families::any(true, false);
        let v6 = Families::any(false, true);
        let nothing = || alloc::sync::Arc::new(|| {});
        let a = tcp_listen(4321, 4, both, nothing()).unwrap();
        assert_eq!(tcp_listen(4321, 4, v4, nothing()).err(), Some(Errno::EADDRINUSE));
        assert_eq!(a.pending(), 0);
        drop(a);
        let a = tcp_listen(4321, 4, v4, nothing()).unwrap();
        let b = tcp_listen(4321, 4, v6, nothing()).unwrap();
        assert_eq!(tcp_listen(4321, 4, both, nothing()).err(), Some(Errno::EADDRINUSE));
        drop((a, b));
        drop(tcp_listen(4321, 4, both, nothing()).unwrap());
        // UDP ports likewise.
        let deliver = || -> Deliver { alloc::sync::Arc::new(|_: Arrival<'_>| {}) };
        let a = udp_bind(4321, v4, deliver()).unwrap();
        assert_eq!(udp_bind(4321, both, deliver()).err(), Some(Errno::EADDRINUSE));
        let b = udp_bind(4321, v6, deliver()).unwrap();
        drop(a);
        assert_eq!(udp_bind(4321, v6, deliver()).err(), Some(Errno::EADDRINUSE));
        drop(b);
        drop(udp_bind(4321, both, deliver()).unwrap());
        // Bound to one address of the interface: the wildcard of its family overlaps it,
        // another address does not; it takes only what is addressed to it.
        let own = ipv4().unwrap().address;
        let at = |a: [u8; 4]| Families {
            local: Some(core::net::IpAddr::from(a)),
            ..v4
        };
        let a = tcp_listen(4322, 4, at(own), nothing()).unwrap();
        assert_eq!(tcp_listen(4322, 4, v4, nothing()).err(), Some(Errno::EADDRINUSE));
        assert_eq!(tcp_listen(4322, 4, at(own), nothing()).err(), Some(Errno::EADDRINUSE));
        let b = tcp_listen(4322, 4, at([10, 0, 2, 99]), nothing()).unwrap();
        drop((a, b));
        let peer = smoltcp::wire::IpAddress::from(core::net::Ipv4Addr::new(10, 0, 2, 2));
        let to_own = smoltcp::wire::IpAddress::from(core::net::Ipv4Addr::from(own));
        let to_other = smoltcp::wire::IpAddress::from(core::net::Ipv4Addr::new(10, 0, 2, 99));
        assert!(at(own).takes(&peer, Some(&to_own)));
        assert!(!at(own).takes(&peer, Some(&to_other)));
        assert!(v4.takes(&peer, Some(&to_other)));
        assert!(!v6.takes(&peer, Some(&to_own)));
    }
}

kernel_test! {
    fn ipv6_addresses_come_from_the_mac_and_only_their_prefixes_are_reachable() {
        // QEMU's default MAC gives the addresses SLAAC would (modified EUI-64).
        let fe80: core::net::Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
        assert_eq!(ipv6_from_mac(IPV6_PREFIXES[0], [0x52, 0x54, 0, 0x12, 0x34, 0x56]), fe80.octets());
        let now = info().unwrap();
        let want: alloc::vec::Vec<[u8; 16]> =
            IPV6_PREFIXES.iter().map(|p| ipv6_from_mac(*p, now.mac)).collect();
        assert_eq!(now.ipv6, want, "link-local and fec0::/64 addresses");
        // They stay when DHCP configures IPv4.
        assert!(wait_configured(time::monotonic_ns() + 5_000_000_000));
        assert_eq!(info().unwrap().ipv6, want);
        let eth0 = interfaces().into_iter().find(|i| i.name == "eth0").unwrap();
        assert_eq!(eth0.addresses.len(), 3, "{eth0:?}");
        // Off the two prefixes: unreachable at once (no default route).
        let off: core::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        let r = tcp_connect(off.into(), 80, alloc::sync::Arc::new(|| {}));
        assert_eq!(r.err(), Some(Errno::ENETUNREACH));
    }
}

/// An Ethernet frame from libslirp's host (`fec0::2`, port 5353) to this interface's
/// `fec0::` address and `port`, carrying `payload` over IPv6 and UDP, checksum right unless
/// `bad_sum`.
fn udp6_frame(port: u16, payload: &[u8], bad_sum: bool) -> alloc::vec::Vec<u8> {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol,
        Ipv6Address, Ipv6Packet, Ipv6Repr, UdpPacket, UdpRepr,
    };
    let mac = info().unwrap().mac;
    let src = Ipv6Address::new(0xfec0, 0, 0, 0, 0, 0, 0, 2);
    let dst = Ipv6Address::from(ipv6_from_mac(IPV6_PREFIXES[1], mac));
    let udp_len = 8 + payload.len();
    let mut frame = alloc::vec![0u8; 14 + 40 + udp_len];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress([0x52, 0x55, 10, 0, 2, 2]),
        dst_addr: EthernetAddress(mac),
        ethertype: EthernetProtocol::Ipv6,
    }
    .emit(&mut eth);
    let mut ip = Ipv6Packet::new_unchecked(eth.payload_mut());
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: udp_len,
        hop_limit: 64,
    }
    .emit(&mut ip);
    let mut udp = UdpPacket::new_unchecked(ip.payload_mut());
    UdpRepr {
        src_port: 5353,
        dst_port: port,
    }
    .emit(
        &mut udp,
        &IpAddress::Ipv6(src),
        &IpAddress::Ipv6(dst),
        payload.len(),
        |b| b.copy_from_slice(payload),
        &ChecksumCapabilities::default(),
    );
    if bad_sum {
        let last = frame.len() - 1;
        frame[last] ^= 0xff;
    }
    frame
}

kernel_test! {
    fn udp_over_ipv6_reaches_the_holder_of_its_family() {
        // QEMU's restricted network sends the guest no UDP over IPv6: the frames are handed
        // to the stack as if received.
        use alloc::sync::Arc;
        use alloc::vec::Vec;
        use core::net::IpAddr;
        type Got = Arc<spin::Mutex<Vec<(IpAddr, u16, Vec<u8>)>>>;
        let holder = |got: &Got| -> Deliver {
            let got = got.clone();
            Arc::new(move |arrival: Arrival<'_>| {
                if let Arrival::Datagram { from: (ip, port), data } = arrival {
                    got.lock().push((ip, port, data.to_vec()))
                }
            })
        };
        let (six, four): (Got, Got) = Default::default();
        let v6 = udp_bind(4444, Families::any(false, true), holder(&six)).unwrap();
        let v4 = udp_bind(4444, Families::any(true, false), holder(&four)).unwrap();
        crate::phy::inject(udp6_frame(4444, b"bad sum", true));
        crate::phy::inject(udp6_frame(4444, b"over IPv6", false));
        let deadline = time::monotonic_ns() + 2_000_000_000;
        while six.lock().is_empty() && time::monotonic_ns() < deadline {
            task::sleep_ns(5_000_000);
        }
        let slirp: IpAddr = "fec0::2".parse().unwrap();
        assert_eq!(
            *six.lock(),
            alloc::vec![(slirp, 5353, b"over IPv6".to_vec())],
            "the IPv6 holder gets the datagram with a right checksum, and only it"
        );
        assert!(four.lock().is_empty(), "the IPv4 holder of the port gets no IPv6");
        // With only an IPv4 holder left, an IPv6 datagram to the port is dropped.
        drop(v6);
        crate::phy::inject(udp6_frame(4444, b"nobody", false));
        task::sleep_ns(100_000_000);
        assert!(four.lock().is_empty());
        drop(v4);
        // Sending over IPv6: only the prefixes are reachable; a frame's worth at most.
        let u = udp_bind(4445, Families::any(false, true), holder(&six)).unwrap();
        let off: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(u.send(off, 9, b"x"), Err(Errno::ENETUNREACH));
        assert_eq!(u.send(slirp, 9, &[0; UDP6_MAX_PAYLOAD + 1]), Err(Errno::EMSGSIZE));
        assert_eq!(u.send(slirp, 9, &[7; UDP6_MAX_PAYLOAD]), Ok(()));
        assert_eq!(source_for(slirp), Some(IpAddr::V6(ipv6_from_mac(IPV6_PREFIXES[1], info().unwrap().mac).into())));
    }
}

kernel_test! {
    fn icmp_port_unreachable_is_read_from_the_frame_even_when_the_quote_is_cut_short() {
        use crate::icmp::{Unreachable, port_unreachable};
        use core::net::IpAddr;
        let me: IpAddr = [10, 0, 2, 15].into();
        let host: IpAddr = [10, 0, 2, 2].into();
        let want = Some(Unreachable { local: (me, 4446), remote: (host, 9) });
        // The whole datagram quoted; a 1000-byte one cut to 548 bytes, as libslirp sends it
        // (smoltcp's `Icmpv4Repr::parse` refuses that); RFC 792's least, header and 8 bytes.
        let whole = quoted_udp((me, 4446), (host, 9), 5, 5);
        assert_eq!(port_unreachable(&icmp_frame(me, 3, &whole, false)), want);
        let cut = quoted_udp((me, 4446), (host, 9), 1000, 520);
        assert_eq!(cut.len(), 548);
        assert_eq!(port_unreachable(&icmp_frame(me, 3, &cut, false)), want);
        let least = quoted_udp((me, 4446), (host, 9), 1000, 0);
        assert_eq!(port_unreachable(&icmp_frame(me, 3, &least, false)), want);
        // Not one: host unreachable (code 1), a wrong checksum, less than the UDP header
        // quoted, a TCP segment quoted, a datagram sent from another address than the one
        // the error is addressed to.
        assert_eq!(port_unreachable(&icmp_frame(me, 1, &whole, false)), None);
        assert_eq!(port_unreachable(&icmp_frame(me, 3, &whole, true)), None);
        assert_eq!(port_unreachable(&icmp_frame(me, 3, &whole[..27], false)), None);
        let mut tcp = whole.clone();
        tcp[9] = 6;
        assert_eq!(port_unreachable(&icmp_frame(me, 3, &tcp, false)), None);
        assert_eq!(port_unreachable(&icmp_frame([10, 0, 2, 99].into(), 3, &whole, false)), None);
        // ICMPv6: destination unreachable code 4 (code 3 is address unreachable).
        let (me6, host6) = fec0_addresses();
        let want6 = Some(Unreachable { local: (me6, 4446), remote: (host6, 9) });
        let whole6 = quoted_udp((me6, 4446), (host6, 9), 5, 5);
        assert_eq!(port_unreachable(&icmp_frame(me6, 4, &whole6, false)), want6);
        let cut6 = quoted_udp((me6, 4446), (host6, 9), 1000, 500);
        assert_eq!(port_unreachable(&icmp_frame(me6, 4, &cut6, false)), want6);
        assert_eq!(port_unreachable(&icmp_frame(me6, 3, &whole6, false)), None);
        assert_eq!(port_unreachable(&icmp_frame(me6, 4, &whole6, true)), None);
        assert_eq!(port_unreachable(&icmp_frame(me6, 4, &whole6[..47], false)), None);
        // A datagram is no error.
        assert_eq!(port_unreachable(&udp6_frame(4446, b"x", false)), None);
    }
}

kernel_test! {
    fn a_port_unreachable_reaches_the_holder_of_the_port_and_family_that_sent_the_datagram() {
        // QEMU's restricted network drops the guest's UDP, so no error comes back by itself:
        // the frames are handed to the stack as if received.
        use alloc::sync::Arc;
        use alloc::vec::Vec;
        use core::net::IpAddr;
        assert!(wait_configured(time::monotonic_ns() + 5_000_000_000));
        type Got = Arc<spin::Mutex<Vec<(IpAddr, u16)>>>;
        let holder = |got: &Got| -> Deliver {
            let got = got.clone();
            Arc::new(move |arrival: Arrival<'_>| {
                if let Arrival::Refused { to } = arrival {
                    got.lock().push(to)
                }
            })
        };
        let (four, six): (Got, Got) = Default::default();
        let v4 = udp_bind(4446, Families::any(true, false), holder(&four)).unwrap();
        let v6 = udp_bind(4446, Families::any(false, true), holder(&six)).unwrap();
        let me: IpAddr = ipv4().unwrap().address.into();
        let host: IpAddr = [10, 0, 2, 2].into();
        let (me6, host6) = fec0_addresses();
        inject(icmp_frame(me, 3, &quoted_udp((me, 4446), (host, 9), 1000, 520), false));
        inject(icmp_frame(me6, 4, &quoted_udp((me6, 4446), (host6, 53), 5, 5), false));
        let deadline = time::monotonic_ns() + 2_000_000_000;
        while (four.lock().is_empty() || six.lock().is_empty()) && time::monotonic_ns() < deadline {
            task::sleep_ns(5_000_000);
        }
        assert_eq!(*four.lock(), alloc::vec![(host, 9)], "the IPv4 holder, told the destination");
        assert_eq!(*six.lock(), alloc::vec![(host6, 53)], "the IPv6 holder, told the destination");
        // A datagram sent from an address the interface does not have: nobody's. Nor is one
        // from a port nobody holds any more.
        let other: IpAddr = [10, 0, 2, 99].into();
        inject(icmp_frame(other, 3, &quoted_udp((other, 4446), (host, 9), 5, 5), false));
        drop(v6);
        inject(icmp_frame(me6, 4, &quoted_udp((me6, 4446), (host6, 53), 5, 5), false));
        task::sleep_ns(100_000_000);
        assert_eq!(four.lock().len(), 1);
        assert_eq!(six.lock().len(), 1);
        drop(v4);
    }
}
