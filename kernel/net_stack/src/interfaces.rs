//! The network interfaces programs can name (`SIOCGIFINDEX`, `/sys/class/net`): the loopback
//! network, index 1, and the network device, `eth0`, index 2, when there is one.

use alloc::vec;
use alloc::vec::Vec;

/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = 772;
/// `ARPHRD_ETHER`.
pub const ARPHRD_ETHER: u16 = 1;

const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_RUNNING: u32 = 0x40;
const IFF_MULTICAST: u32 = 0x1000;

/// One interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetInterface {
    pub name: &'static str,
    pub index: u32,
    pub mac: [u8; 6],
    pub mtu: usize,
    /// `ARPHRD_*`.
    pub hardware: u16,
    /// `IFF_*` bits.
    pub flags: u32,
    /// The device's counters (`None` for `lo`, which counts nothing).
    pub counters: Option<virtio_net::Stats>,
    /// Its addresses and their prefix lengths.
    pub addresses: Vec<(core::net::IpAddr, u8)>,
}

/// The interfaces there are now.
pub fn interfaces() -> Vec<NetInterface> {
    let mut out = vec![NetInterface {
        name: "lo",
        index: 1,
        mac: [0; 6],
        mtu: 65536,
        hardware: ARPHRD_LOOPBACK,
        flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING,
        counters: None,
        addresses: vec![
            (core::net::Ipv4Addr::LOCALHOST.into(), 8),
            (core::net::Ipv6Addr::LOCALHOST.into(), 128),
        ],
    }];
    if let Some(info) = crate::info() {
        out.push(NetInterface {
            name: "eth0",
            index: 2,
            mac: info.mac,
            // The largest frame the device takes less the 14-byte Ethernet header.
            mtu: virtio_net::MAX_FRAME - 14,
            hardware: ARPHRD_ETHER,
            flags: IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST,
            counters: Some(info.device),
            addresses: info
                .ipv4
                .map(|c| (core::net::Ipv4Addr::from(c.address).into(), c.prefix_len))
                .into_iter()
                .chain(
                    info.ipv6
                        .iter()
                        .map(|a| (core::net::Ipv6Addr::from(*a).into(), 64)),
                )
                .collect(),
        });
    }
    out
}
