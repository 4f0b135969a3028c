//! In-kernel tests of what the C programs cannot reach on QEMU's restricted network: the
//! network's ICMP port unreachable (libslirp drops the guest's UDP under `restrict=on` and
//! answers nothing), handed to the stack as if received (`net_stack::test_frames`).

use crate::*;
use core::net::{IpAddr, Ipv6Addr};
use ktest::kernel_test;
use net_stack::test_frames::{fec0_addresses, icmp_frame, inject, quoted_udp};

/// The port unreachable libslirp sends when `sock`'s datagram to `to` finds the port closed:
/// a 1000-byte datagram, quoted cut to 548 bytes.
fn refuse(sock: &Socket, to: (IpAddr, u16)) {
    let me = match to.0 {
        IpAddr::V4(_) => IpAddr::from(net_stack::ipv4().unwrap().address),
        IpAddr::V6(_) => fec0_addresses().0,
    };
    let code = if to.0.is_ipv4() { 3 } else { 4 };
    let quoted = quoted_udp((me, sock.local_addr().port()), to, 1000, 520);
    inject(icmp_frame(me, code, &quoted, false));
}

/// Waits (up to 2 s) until `sock` polls readable: its error arrived.
fn wait_readable(sock: &Socket) {
    let deadline = time::monotonic_ns() + 2_000_000_000;
    while !File::poll_readable(sock) && time::monotonic_ns() < deadline {
        task::sleep_ns(5_000_000);
    }
}

const NO_WAIT: RecvFlags = RecvFlags {
    peek: false,
    wait_all: false,
    dont_wait: true,
};

kernel_test! {
    fn a_connected_udp_socket_gets_econnrefused_once_from_an_icmp_port_unreachable() {
        assert!(net_stack::wait_configured(time::monotonic_ns() + 5_000_000_000));
        let host: IpAddr = [10, 0, 2, 2].into();
        let to = Addr::V4 { ip: [10, 0, 2, 2], port: 9 };
        let mut buf = [0u8; 16];
        // An unconnected socket sends there first, then a connected one; both are answered.
        let free = socket(Family::Inet, SocketType::Datagram);
        free.clone().send(b"anyone?", Some(&to), false).unwrap();
        let conn = socket(Family::Inet, SocketType::Datagram);
        conn.clone().connect(&to).unwrap();
        conn.clone().send(b"x", None, false).unwrap();
        refuse(&free, (host, 9));
        refuse(&conn, (host, 9));
        // The blocked recv wakes with the error, once.
        conn.set_options(|o| o.recv_timeout = Some(2_000_000_000));
        let r = conn.clone().recv(&mut buf, RecvFlags::default());
        assert_eq!(r.err(), Some(Errno::ECONNREFUSED));
        assert_eq!(conn.clone().recv(&mut buf, NO_WAIT).err(), Some(Errno::EAGAIN));
        // The unconnected socket is not told (its error came first).
        assert_eq!(free.take_error(), None);
        assert_eq!(free.clone().recv(&mut buf, NO_WAIT).err(), Some(Errno::EAGAIN));
        // Again: `SO_ERROR` reads it, once; then `send` reports it.
        refuse(&conn, (host, 9));
        wait_readable(&conn);
        assert_eq!(conn.take_error(), Some(Errno::ECONNREFUSED));
        assert_eq!(conn.take_error(), None);
        refuse(&conn, (host, 9));
        wait_readable(&conn);
        assert_eq!(conn.clone().send(b"y", None, false).err(), Some(Errno::ECONNREFUSED));
        assert_eq!(conn.clone().send(b"z", None, false), Ok(1));
        // An error for a datagram to another port than the peer's is not the socket's.
        refuse(&conn, (host, 10));
        task::sleep_ns(100_000_000);
        assert_eq!(conn.take_error(), None);
        assert!(!File::poll_readable(&*conn));
    }
}

kernel_test! {
    fn ipv6_udp_sockets_are_refused_by_icmpv6_and_a_dual_stack_one_by_icmp_too() {
        assert!(net_stack::wait_configured(time::monotonic_ns() + 5_000_000_000));
        let v6 = |ip: Ipv6Addr| Addr::V6 { ip: ip.octets(), port: 9, flowinfo: 0, scope_id: 0 };
        let (_, host6) = fec0_addresses();
        let IpAddr::V6(slirp) = host6 else { unreachable!() };
        let six = socket(Family::Inet6, SocketType::Datagram);
        six.clone().connect(&v6(slirp)).unwrap();
        six.clone().send(b"x", None, false).unwrap();
        refuse(&six, (host6, 9));
        wait_readable(&six);
        assert_eq!(six.take_error(), Some(Errno::ECONNREFUSED));
        // A dual-stack socket connected to the host v4-mapped: the ICMP error names it by its
        // IPv4 address.
        let dual = socket(Family::Inet6, SocketType::Datagram);
        dual.clone().connect(&v6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0202))).unwrap();
        dual.clone().send(b"x", None, false).unwrap();
        refuse(&dual, ([10, 0, 2, 2].into(), 9));
        dual.set_options(|o| o.recv_timeout = Some(2_000_000_000));
        let mut buf = [0u8; 16];
        let r = dual.clone().recv(&mut buf, RecvFlags::default());
        assert_eq!(r.err(), Some(Errno::ECONNREFUSED));
    }
}
