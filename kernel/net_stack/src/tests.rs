//! In-kernel tests of the stack on QEMU's user network (`cargo xtask` always attaches one).

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
        // Two listeners on one port: the second is refused; the port is free again after.
        let a = tcp_listen(4321, 4, alloc::sync::Arc::new(|| {})).unwrap();
        assert_eq!(tcp_listen(4321, 4, alloc::sync::Arc::new(|| {})).err(), Some(Errno::EADDRINUSE));
        assert_eq!(a.pending(), 0);
        drop(a);
        drop(tcp_listen(4321, 4, alloc::sync::Arc::new(|| {})).unwrap());
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
