//! Netlink route sockets (`socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM, NETLINK_ROUTE)`) for what
//! programs read through them: the network interfaces and their addresses, the `RTM_GETLINK`
//! and `RTM_GETADDR` dumps that musl's `getifaddrs` and `if_nameindex` send (and crates such as
//! sysinfo and nix reach through them). Nothing can be changed through them and there are no
//! multicast groups: any other request is answered with `NLMSG_ERROR` `EOPNOTSUPP`.
//!
//! A request is answered as it is sent (the messages: `crate::netlink_abi`, over
//! `libtheseus::net::interfaces`): the answer's datagrams (the dump's messages, packed up to a
//! page each, then `NLMSG_DONE`) go into the socket's message queue
//! (`libtheseus::message_queue`), which `recv`, `recvfrom`, `recvmsg`, `read`, `poll` and
//! `epoll` see.

use crate::netlink_abi::{self, Link};
use alloc::vec::Vec;
use libtheseus::message_queue;
use libtheseus::{Errno, Result, net};
use linux_raw_sys::netlink as nl;

const AF_NETLINK: u16 = 16;

/// `socket(AF_NETLINK, type, protocol)`: a route socket on a new message queue whose port id
/// is the process id (as Linux gives the first socket of a process).
pub fn socket(base_type: u32, protocol: u32, nonblocking: bool) -> Result<u32> {
    const SOCK_DGRAM: u32 = 2;
    const SOCK_RAW: u32 = 3;
    if base_type != SOCK_RAW && base_type != SOCK_DGRAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if protocol != nl::NETLINK_ROUTE {
        return Err(Errno::EPROTONOSUPPORT);
    }
    message_queue::open(nonblocking, libtheseus::process::id())
}

/// The socket's port id if `fd` is a netlink socket.
pub fn port(fd: u32) -> Option<u32> {
    message_queue::tag(fd).map(|t| t as u32)
}

/// A `sockaddr_nl` for port `pid` (0: the kernel).
pub fn address(pid: u32) -> [u8; 12] {
    let mut raw = [0u8; 12];
    raw[0..2].copy_from_slice(&AF_NETLINK.to_ne_bytes());
    raw[4..8].copy_from_slice(&pid.to_ne_bytes());
    raw
}

/// `bind` to a `sockaddr_nl`: the family must be `AF_NETLINK`, no groups (there are none).
pub fn check_bind(addr: &[u8]) -> Result<()> {
    if addr.len() < 12 || u16::from_ne_bytes([addr[0], addr[1]]) != AF_NETLINK {
        return Err(Errno::EINVAL);
    }
    if u32::from_ne_bytes(addr[8..12].try_into().unwrap()) != 0 {
        return Err(Errno::ENOENT);
    }
    Ok(())
}

/// The requests in `data` (one or more netlink messages), answered into `fd`'s queue.
/// Returns the bytes consumed (all of them).
pub fn send(fd: u32, data: &[u8]) -> Result<usize> {
    let pid = port(fd).ok_or(Errno::ENOTSOCK)?;
    let interfaces = net::interfaces();
    let links: Vec<Link<'_>> = interfaces
        .iter()
        .map(|i| Link {
            name: i.name,
            index: i.index,
            mac: i.mac,
            mtu: u32::try_from(i.mtu).unwrap_or(u32::MAX),
            hardware: i.hardware,
            flags: i.flags,
            addresses: &i.addresses,
        })
        .collect();
    message_queue::push(fd, netlink_abi::answers(data, pid, &links)?)?;
    Ok(data.len())
}
