//! The `/sys` tree: CPUs (`devices/system/cpu`) and network interfaces (`class/net`).

use crate::online_cpus;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use vfs::generated::{Node, Tree};
use vfs::{Errno, FileKind};

/// Ethernet payload size: the largest frame the device takes less its 14-byte header.
const ETHERNET_MTU: usize = virtio_net::MAX_FRAME - 14;

/// A network interface as `/sys/class/net/NAME` shows it.
struct Interface {
    name: &'static str,
    index: u32,
    mac: [u8; 6],
    mtu: usize,
    /// `ARPHRD_*`: 772 loopback, 1 Ethernet.
    kind: u32,
    /// `IFF_*` bits.
    flags: u32,
    /// Traffic counters (`statistics/`), where the device counts them (not for `lo`).
    stats: Vec<(&'static str, u64)>,
}

/// The interfaces: the loopback network, and `eth0` if there is a network device. Their
/// indexes are fixed: `lo` 1, `eth0` 2.
fn interfaces() -> Vec<Interface> {
    const IFF_UP: u32 = 0x1;
    const IFF_BROADCAST: u32 = 0x2;
    const IFF_LOOPBACK: u32 = 0x8;
    const IFF_RUNNING: u32 = 0x40;
    const IFF_MULTICAST: u32 = 0x1000;
    let mut out = vec![Interface {
        name: "lo",
        index: 1,
        mac: [0; 6],
        mtu: 65536,
        kind: 772,
        flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING,
        stats: Vec::new(),
    }];
    if let Some(info) = net_stack::info() {
        let d = info.device;
        out.push(Interface {
            name: "eth0",
            index: 2,
            mac: info.mac,
            mtu: ETHERNET_MTU,
            kind: 1,
            flags: IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST,
            stats: vec![
                ("rx_bytes", d.rx_bytes),
                ("rx_packets", d.rx_packets),
                ("rx_errors", d.rx_errors),
                ("tx_bytes", d.tx_bytes),
                ("tx_packets", d.tx_packets),
                ("tx_errors", d.tx_errors),
            ],
        });
    }
    out
}

/// The files of an interface directory and their contents.
fn interface_files(i: &Interface) -> Vec<(&'static str, String)> {
    let m = i.mac;
    vec![
        (
            "address",
            format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
        ),
        ("addr_len", "6\n".into()),
        ("flags", format!("{:#x}\n", i.flags)),
        ("ifindex", format!("{}\n", i.index)),
        ("mtu", format!("{}\n", i.mtu)),
        (
            "operstate",
            if i.kind == 772 { "unknown\n" } else { "up\n" }.into(),
        ),
        ("type", format!("{}\n", i.kind)),
    ]
}

/// `0` or `0-N`: the CPU list format of `online`, `possible` and `present`.
fn cpu_list() -> String {
    match online_cpus() {
        1 => "0\n".into(),
        n => format!("0-{}\n", n - 1),
    }
}

fn dir(names: &[&str], kind: FileKind) -> Node {
    Node::Dir(names.iter().map(|n| (n.to_string(), kind)).collect())
}

pub(crate) struct Sys;

impl Tree for Sys {
    fn node(&self, components: &[&str]) -> Result<Node, Errno> {
        Ok(match components {
            [] => dir(&["class", "devices"], FileKind::Directory),
            ["class"] => dir(&["net"], FileKind::Directory),
            ["class", "net"] => Node::Dir(
                interfaces()
                    .iter()
                    .map(|i| (i.name.to_string(), FileKind::Directory))
                    .collect(),
            ),
            ["class", "net", name, rest @ ..] => {
                let all = interfaces();
                let i = all.iter().find(|i| i.name == *name).ok_or(Errno::ENOENT)?;
                let files = interface_files(i);
                match rest {
                    [] => {
                        let mut entries: Vec<(String, FileKind)> = files
                            .iter()
                            .map(|(n, _)| (n.to_string(), FileKind::File))
                            .collect();
                        if !i.stats.is_empty() {
                            entries.push(("statistics".into(), FileKind::Directory));
                        }
                        Node::Dir(entries)
                    }
                    ["statistics"] if !i.stats.is_empty() => Node::Dir(
                        i.stats
                            .iter()
                            .map(|(n, _)| (n.to_string(), FileKind::File))
                            .collect(),
                    ),
                    ["statistics", stat] => {
                        let (_, v) = i
                            .stats
                            .iter()
                            .find(|(n, _)| n == stat)
                            .ok_or(Errno::ENOENT)?;
                        Node::File(format!("{v}\n").into_bytes())
                    }
                    [file] => {
                        let (_, text) = files
                            .into_iter()
                            .find(|(n, _)| n == file)
                            .ok_or(Errno::ENOENT)?;
                        Node::File(text.into_bytes())
                    }
                    _ => return Err(Errno::ENOENT),
                }
            }
            ["devices"] => dir(&["system"], FileKind::Directory),
            ["devices", "system"] => dir(&["cpu"], FileKind::Directory),
            ["devices", "system", "cpu"] => {
                let mut entries: Vec<(String, FileKind)> = ["online", "possible", "present"]
                    .iter()
                    .map(|n| (n.to_string(), FileKind::File))
                    .collect();
                entries
                    .extend((0..online_cpus()).map(|i| (format!("cpu{i}"), FileKind::Directory)));
                Node::Dir(entries)
            }
            [
                "devices",
                "system",
                "cpu",
                "online" | "possible" | "present",
            ] => Node::File(cpu_list().into_bytes()),
            ["devices", "system", "cpu", cpu, rest @ ..] => {
                let i: usize = cpu
                    .strip_prefix("cpu")
                    .and_then(|n| n.parse().ok())
                    .filter(|&i| i < online_cpus())
                    .ok_or(Errno::ENOENT)?;
                match rest {
                    [] => dir(&["topology"], FileKind::Directory),
                    ["topology"] => dir(&["core_id", "physical_package_id"], FileKind::File),
                    ["topology", "core_id"] => Node::File(format!("{i}\n").into_bytes()),
                    ["topology", "physical_package_id"] => Node::File(b"0\n".to_vec()),
                    _ => return Err(Errno::ENOENT),
                }
            }
            _ => return Err(Errno::ENOENT),
        })
    }
}
