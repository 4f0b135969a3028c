//! The guest's network: QEMU's user network (`-netdev user`) with `restrict=on`, so the
//! guest reaches nothing but what is forwarded, and a `virtio-net-pci` device on it. `run
//! --forward [udp:]HOST_PORT:GUEST_PORT` adds a `hostfwd` (TCP, or UDP) bound to the host's
//! 127.0.0.1 (a server in the OS reachable from the host); `--connect GUEST_ADDR:PORT=HOST_PORT` adds a
//! `guestfwd` that takes connections to `GUEST_ADDR:PORT` to the host's 127.0.0.1:HOST_PORT
//! (a client in the OS reaching a server on the host).
//!
//! libslirp (4.7, QEMU 7.2) drops every UDP datagram the guest sends under `restrict=on`
//! except DHCP and TFTP to the gateway (`udp_input` checks `restricted` before it looks for
//! the socket, so a UDP hostfwd's answers are dropped too): a UDP forward delivers the
//! host's datagrams to the guest, and the guest's answers go no further than QEMU. A test
//! sees them in the frames QEMU records with `dump` (a `filter-dump` pcap of the device).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// A host port forwarded to a guest port (TCP, or UDP with `udp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    pub host_port: u16,
    pub guest_port: u16,
    pub udp: bool,
}

/// A guest address taken to a host port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect {
    pub guest_addr: Ipv4Addr,
    pub guest_port: u16,
    pub host_port: u16,
}

/// Every forward of one boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    pub forwards: Vec<Forward>,
    pub connects: Vec<Connect>,
    /// Records every frame in and out of the device in this pcap file.
    pub dump: Option<PathBuf>,
}

fn port(text: &str, what: &str) -> Result<u16> {
    text.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| Error::usage(format!("{what}: `{text}` is not a port (1-65535)")))
}

impl Forward {
    /// `HOST_PORT:GUEST_PORT` (TCP) or `udp:HOST_PORT:GUEST_PORT`.
    pub fn parse(text: &str) -> Result<Forward> {
        let (udp, ports) = match text.strip_prefix("udp:") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (host, guest) = ports.split_once(':').ok_or_else(|| {
            Error::usage(format!(
                "--forward {text}: expected [udp:]HOST_PORT:GUEST_PORT"
            ))
        })?;
        Ok(Forward {
            host_port: port(host, "--forward")?,
            guest_port: port(guest, "--forward")?,
            udp,
        })
    }
}

impl Connect {
    /// `GUEST_ADDR:PORT=HOST_PORT`.
    pub fn parse(text: &str) -> Result<Connect> {
        let bad = || {
            Error::usage(format!(
                "--connect {text}: expected GUEST_ADDR:PORT=HOST_PORT"
            ))
        };
        let (guest, host) = text.split_once('=').ok_or_else(bad)?;
        let (addr, guest_port) = guest.rsplit_once(':').ok_or_else(bad)?;
        let guest_addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        Ok(Connect {
            guest_addr,
            guest_port: port(guest_port, "--connect")?,
            host_port: port(host, "--connect")?,
        })
    }
}

impl Network {
    /// QEMU's arguments for this network.
    pub fn qemu_args(&self) -> Vec<String> {
        let mut netdev = String::from("user,id=net0,restrict=on");
        for f in &self.forwards {
            let proto = if f.udp { "udp" } else { "tcp" };
            netdev += &format!(
                ",hostfwd={proto}:127.0.0.1:{}-:{}",
                f.host_port, f.guest_port
            );
        }
        for c in &self.connects {
            netdev += &format!(
                ",guestfwd=tcp:{}:{}-tcp:127.0.0.1:{}",
                c.guest_addr, c.guest_port, c.host_port
            );
        }
        let mut args = vec![
            "-netdev".into(),
            netdev,
            "-device".into(),
            "virtio-net-pci,netdev=net0".into(),
        ];
        if let Some(file) = &self.dump {
            args.push("-object".into());
            args.push(format!(
                "filter-dump,id=dump0,netdev=net0,file={}",
                file.display()
            ));
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_parse_and_become_qemu_arguments() {
        let net = Network {
            forwards: vec![
                Forward::parse("8080:80").unwrap(),
                Forward::parse("udp:5353:53").unwrap(),
            ],
            connects: vec![Connect::parse("10.0.2.100:80=9000").unwrap()],
            dump: None,
        };
        assert_eq!(
            net.qemu_args().join(" "),
            "-netdev user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80,\
             hostfwd=udp:127.0.0.1:5353-:53,guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:9000 -device virtio-net-pci,netdev=net0"
        );
        assert!(Forward::parse("8080").is_err());
        assert!(Forward::parse("0:80").is_err());
        assert!(Forward::parse("8080:x").is_err());
        assert!(Forward::parse("tcp:8080:80").is_err());
        let dumped = Network {
            dump: Some(PathBuf::from("/tmp/d.pcap")),
            ..Network::default()
        };
        assert!(
            dumped
                .qemu_args()
                .join(" ")
                .ends_with("-object filter-dump,id=dump0,netdev=net0,file=/tmp/d.pcap")
        );
        assert!(Connect::parse("10.0.2.100:80").is_err());
        assert!(Connect::parse("host:80=9000").is_err());
        assert!(Connect::parse("10.0.2.100:80=70000").is_err());
    }
}
