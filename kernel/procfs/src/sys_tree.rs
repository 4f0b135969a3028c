//! The `/sys` tree: CPUs (`devices/system/cpu`) and network interfaces (`class/net`).

use crate::online_cpus;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use net_stack::{NetInterface, interfaces};
use vfs::generated::{Node, Tree};
use vfs::{Errno, FileKind};

/// The files of an interface directory and their contents.
fn interface_files(i: &NetInterface) -> Vec<(&'static str, String)> {
    // Linux says `unknown` for the loopback device, which has no carrier.
    let up = if i.hardware == net_stack::ARPHRD_LOOPBACK {
        "unknown\n"
    } else {
        "up\n"
    };
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
        ("operstate", up.into()),
        ("type", format!("{}\n", i.hardware)),
    ]
}

/// The files of an interface's `statistics` directory (none for `lo`).
fn statistics(i: &NetInterface) -> Vec<(&'static str, u64)> {
    let Some(d) = i.counters else {
        return Vec::new();
    };
    vec![
        ("rx_bytes", d.rx_bytes),
        ("rx_packets", d.rx_packets),
        ("rx_errors", d.rx_errors),
        ("tx_bytes", d.tx_bytes),
        ("tx_packets", d.tx_packets),
        ("tx_errors", d.tx_errors),
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
                        if i.counters.is_some() {
                            entries.push(("statistics".into(), FileKind::Directory));
                        }
                        Node::Dir(entries)
                    }
                    ["statistics"] if i.counters.is_some() => Node::Dir(
                        statistics(i)
                            .iter()
                            .map(|(n, _)| (n.to_string(), FileKind::File))
                            .collect(),
                    ),
                    ["statistics", stat] => {
                        let (_, v) = statistics(i)
                            .into_iter()
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
