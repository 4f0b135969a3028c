//! The network group of `cargo xtask test`: the OS on QEMU's user network (restricted: it
//! reaches nothing but the forwards) talks to the host's loopback in both directions.
//!
//! - A server in the OS (`netcheck serve`, std::net) is reached from the host through `run
//!   --forward`'s hostfwd: one 10 MB body, 100 connections at once, a connection closed before
//!   its request and one abandoned in the middle of its response; every body is checked byte
//!   for byte on the host, and the server must count every connection and go on. Also a 2 MB
//!   upload the server checks, and 5 requests on one kept-alive connection.
//! - Then a client in the OS (`netcheck get`) fetches 3 MB from a server this test runs on
//!   the host's 127.0.0.1, through `--connect`'s guestfwd, and checks every byte. It names
//!   the server `hostservice`, which the OS's `/etc/hosts` gives as 10.0.2.100 (musl's
//!   resolver reads it; there is no DNS).
//! - Then a UDP server in the OS (`netcheck udp-echo`) answers datagrams of 1 to 1472 bytes
//!   from the host through a UDP hostfwd (`recv_from`/`send_to`, then `connect` and
//!   `recv`/`send`, `poll` before each): its own test, `network udp-hostfwd-echo`. Each answer
//!   is checked byte for byte in the frames QEMU records (libslirp drops the guest's UDP under
//!   `restrict=on` before it reaches the host; see `netspec`).
//! - Then the same from a dual-stack `[::]` socket (`netcheck udp-echo6`): the host's IPv4
//!   datagrams arrive named `::ffff:10.0.2.2`, the answers leave as IPv4 (`network
//!   udp-dual-stack-echo`).
//! - Then UDP over IPv6 (`network udp6-to-slirp-host`): `netcheck udp-send6` sends datagrams
//!   of 1 to 1452 bytes to libslirp's `[fec0::2]` (`send_to`, then `connect` and `send`);
//!   each is checked in the recorded frames (addresses, payload, the UDP checksum IPv6
//!   requires). libslirp drops every IPv6 datagram of a guest under `restrict=on` and QEMU
//!   7.2's hostfwd takes no IPv6 address, so nothing can answer.
//! - Then `netcheck resolve` shows `localhost` and `hostservice` from `/etc/hosts`.
//! - Then a server on `[::]` (`netcheck serve6`, dual-stack as on Linux) answers an IPv4
//!   connection from the host through a forward and names both ends v4-mapped
//!   (`::ffff:10.0.2.2`, `::ffff:10.0.2.15`): its own test, `network dual-stack-listener`.
//! - Then a server bound to the interface's own address (`netcheck serve-at 10.0.2.15`)
//!   answers through a forward, naming the gateway as its peer and 10.0.2.15 as itself:
//!   `network own-address-listener`.
//! - Then IPv6 on the wire (`network ipv6-to-slirp-host`): `ip` shows the link-local and
//!   `fec0::/64` addresses, a connection to libslirp's `[fec0::2]:80` is refused by its reset
//!   (QEMU 7.2's hostfwd takes no IPv6 address, and under `restrict=on` libslirp resets every
//!   TCP connection but a guestfwd's, so this is as far as IPv6 gets), and one off the
//!   prefixes is unreachable at once.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::test::Tally;
use crate::error::{Context, Result};
use crate::exec::{self, ExecOutcome, ExecRequest};
use crate::netspec::{Connect, Forward, Network};
use crate::pcap;
use crate::workspace::Workspace;

/// The guest port of the server and the guest address of the host's server.
const GUEST_PORT: u16 = 8080;
const HOST_SERVER_IN_GUEST: &str = "10.0.2.100:80";
/// The same, by its name in the OS's `/etc/hosts`.
const HOST_SERVER_NAME: &str = "hostservice:80";
/// The dual-stack (`[::]`) server's guest port: one connection, from IPv4 through the forward.
const DUAL_GUEST_PORT: u16 = 8081;
/// The port of the server bound to the interface's own address (`netcheck serve-at`).
const OWN_GUEST_PORT: u16 = 8082;
/// IPv6: libslirp's host address (answers neighbour solicitations; under `restrict=on` it
/// resets every TCP connection that is not a guestfwd's) and an address off the prefixes.
const V6_HOST: &str = "[fec0::2]:80";
const V6_OFF: &str = "[2001:db8::1]:80";
/// The guest's IPv6 addresses (QEMU's default MAC 52:54:00:12:34:56, modified EUI-64).
const GUEST_V6: [&str; 2] = [
    "inet6 fe80::5054:ff:fe12:3456/64 scope link\n",
    "inet6 fec0::5054:ff:fe12:3456/64 scope site\n",
];
/// The UDP server's guest port and the sizes of the datagrams it answers.
const UDP_GUEST_PORT: u16 = 7070;
const UDP_SIZES: [usize; 6] = [1, 64, 512, 1000, 1400, 1472];
/// The dual-stack (`[::]`) UDP server's guest port.
const UDP_DUAL_GUEST_PORT: u16 = 7071;
/// Where `netcheck udp-send6` sends (libslirp's IPv6 address), the sizes it sends (as
/// `ports/linux/netcheck`), and the guest's address in `fec0::/64`.
const UDP6_TO: (Ipv6Addr, u16) = (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 2), 5353);
const UDP6_SIZES: [usize; 4] = [1, 100, 1000, 1452];
const GUEST_IP6: Ipv6Addr = Ipv6Addr::new(0xfec0, 0, 0, 0, 0x5054, 0xff, 0xfe12, 0x3456);
/// The guest's address (QEMU's DHCP) and the host as the guest sees it.
const GUEST_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// Bodies: one large, then many small ones at once.
const LARGE: u64 = 10 * 1024 * 1024;
const CONCURRENT: usize = 100;
/// What the client in the OS fetches from the host.
const FROM_HOST: u64 = 3 * 1024 * 1024;
/// What the host sends the server in the OS, and the requests on one kept-alive connection.
const UPLOAD: u64 = 2 * 1024 * 1024;
const KEPT_ALIVE: u64 = 5;
/// Connections the server in the OS takes: the large one, the upload, the kept-alive one, the
/// concurrent ones, two bad ones.
const CONNECTIONS: usize = 1 + 1 + 1 + CONCURRENT + 2;
const TIMEOUT: Duration = Duration::from_secs(120);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Between the concurrent clients' connects (see [`host_clients`]).
const CONNECT_GAP: Duration = Duration::from_millis(10);

/// Byte `i` of every body (the same pattern as `ports/linux/netcheck`).
fn byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 8)) as u8
}

/// A port on the host's loopback that is free now.
fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context(|| "binding 127.0.0.1:0".to_string())?;
    Ok(l.local_addr()
        .context(|| "local address".to_string())?
        .port())
}

/// A connection to the server in the OS through the forward.
fn connect(port: u16) -> std::result::Result<TcpStream, String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let s =
        TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).ok();
    Ok(s)
}

/// `GET /bytes/size` on `s`, checking the status, length and every byte.
fn fetch_on(mut s: TcpStream, size: u64) -> std::result::Result<(), String> {
    // One write: the request in one segment, as curl sends it.
    s.write_all(format!("GET /bytes/{size} HTTP/1.1\r\nHost: os\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut all = Vec::new();
    s.read_to_end(&mut all).map_err(|e| format!("read: {e}"))?;
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head in {} bytes", all.len()))?;
    let head = String::from_utf8_lossy(&all[..end]);
    let want = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n");
    if !head.starts_with(&want) {
        return Err(format!("response head {head:?}"));
    }
    let body = &all[end + 4..];
    if body.len() as u64 != size {
        return Err(format!("{} body bytes for /bytes/{size}", body.len()));
    }
    match (0..size).find(|&i| body[i as usize] != byte(i)) {
        Some(i) => Err(format!("/bytes/{size}: byte {i} differs")),
        None => Ok(()),
    }
}

/// Reads one response on `s` whose body is `Content-Length` long (the connection stays).
fn response(s: &mut TcpStream) -> std::result::Result<(String, Vec<u8>), String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            other => return Err(format!("response head cut short ({other:?}): {head:?}")),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no Content-Length in {head:?}"))?;
    let mut body = vec![0u8; length];
    s.read_exact(&mut body)
        .map_err(|e| format!("body of {length} bytes: {e}"))?;
    Ok((head, body))
}

/// `POST /upload` of `size` pattern bytes: the server must find every byte right (`ok`).
fn upload(mut s: TcpStream, size: u64) -> std::result::Result<(), String> {
    let body: Vec<u8> = (0..size).map(byte).collect();
    write!(s, "POST /upload HTTP/1.1\r\nContent-Length: {size}\r\n\r\n")
        .and_then(|_| s.write_all(&body))
        .map_err(|e| format!("send: {e}"))?;
    match response(&mut s)? {
        (_, ok) if ok == b"ok" => Ok(()),
        (head, body) => Err(format!(
            "answer {head:?} {:?}",
            String::from_utf8_lossy(&body)
        )),
    }
}

/// `count` requests on one connection (`Connection: keep-alive`), each answered in turn.
fn kept_alive(mut s: TcpStream, count: u64) -> std::result::Result<(), String> {
    for i in 0..count {
        let size = 100 + i;
        write!(
            s,
            "GET /bytes/{size} HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"
        )
        .map_err(|e| format!("request {i}: {e}"))?;
        let (head, body) = response(&mut s).map_err(|e| format!("request {i}: {e}"))?;
        if !head.contains("Connection: keep-alive") {
            return Err(format!("request {i}: not kept alive: {head:?}"));
        }
        if let Some(j) = (0..size).find(|&j| body.get(j as usize) != Some(&byte(j))) {
            return Err(format!("request {i}: body byte {j} differs"));
        }
    }
    Ok(())
}

/// Everything the host does against the server in the OS, once it listens.
fn host_clients(port: u16) -> Vec<String> {
    let mut problems = Vec::new();
    let started = Instant::now();
    if let Err(e) = connect(port).and_then(|s| fetch_on(s, LARGE)) {
        problems.push(format!("10 MB body: {e}"));
    }
    if let Err(e) = connect(port).and_then(|s| upload(s, UPLOAD)) {
        problems.push(format!("upload: {e}"));
    }
    if let Err(e) = connect(port).and_then(|s| kept_alive(s, KEPT_ALIVE)) {
        problems.push(format!("kept-alive connection: {e}"));
    }
    let large = started.elapsed();
    // All connections are open at once before any request is sent, so the server holds
    // CONCURRENT of them. They are opened a few milliseconds apart: QEMU's hostfwd listener
    // has a backlog of 1, and on this host the connections of a burst that overflow it are
    // lost before QEMU accepts them (none of their packets reaches the guest).
    let barrier = Arc::new(Barrier::new(CONCURRENT));
    let mut threads = Vec::new();
    for i in 0..CONCURRENT {
        let barrier = barrier.clone();
        threads.push(thread::spawn(move || {
            let s = connect(port);
            barrier.wait();
            fetch_on(s?, 1000 + 37 * i as u64)
        }));
        thread::sleep(CONNECT_GAP);
    }
    for (i, t) in threads.into_iter().enumerate() {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => problems.push(format!("concurrent client {i}: {e}")),
            Err(_) => problems.push(format!("concurrent client {i} panicked")),
        }
    }
    // Bad peers: one closes before sending anything, one asks for 5 MB and goes away after
    // the first bytes (unread data: the host resets the connection).
    match TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => drop(s),
        Err(e) => problems.push(format!("closing client: {e}")),
    }
    match TcpStream::connect(("127.0.0.1", port)) {
        Ok(mut s) => {
            let _ = write!(s, "GET /bytes/5000000 HTTP/1.1\r\n\r\n");
            let mut some = [0u8; 1000];
            let _ = s.read(&mut some);
            let _ = s.shutdown(Shutdown::Both);
        }
        Err(e) => problems.push(format!("abandoning client: {e}")),
    }
    if problems.is_empty() {
        eprintln!(
            "xtask: network: 10 MB from the OS in {:.1} s, {CONCURRENT} concurrent in {:.1} s",
            large.as_secs_f64(),
            (started.elapsed() - large).as_secs_f64()
        );
    }
    problems
}

/// The host's server for the client in the OS: answers `GET /bytes/N` once.
fn host_server(listener: TcpListener) -> std::result::Result<(), String> {
    let (mut s, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).ok();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return Err(format!("request head cut short: {head:?}")),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let size: u64 = text
        .strip_prefix("GET /bytes/")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("bad request {text:?}"))?;
    let body: Vec<u8> = (0..size).map(byte).collect();
    write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    )
    .and_then(|_| s.write_all(&body))
    .map_err(|e| format!("answer: {e}"))?;
    // The client closes first: QEMU's guestfwd turns a close on this side into a reset
    // toward the guest.
    let _ = s.read_to_end(&mut Vec::new());
    Ok(())
}

/// The host's side of the UDP exchange. Each datagram must come back reversed; under
/// `restrict=on` QEMU drops the guest's UDP before it reaches the host (see `netspec`), so the
/// answer is looked for in the frames QEMU recorded (`dump`), where it must also carry the
/// right addresses, ports and checksums. An answer that does reach the host socket counts
/// too.
fn udp_client(port: u16, guest_port: u16, dump: &Path) -> Vec<String> {
    let sock = match UdpSocket::bind("127.0.0.1:0") {
        Ok(s) => s,
        Err(e) => return vec![format!("udp: bind: {e}")],
    };
    let my_port = sock.local_addr().map_or(0, |a| a.port());
    sock.set_read_timeout(Some(Duration::from_millis(50))).ok();
    let mut buf = vec![0u8; 65536];
    for size in UDP_SIZES {
        let data: Vec<u8> = (0..size as u64).map(|i| byte(i + size as u64)).collect();
        let mut want = data.clone();
        want.reverse();
        if let Err(e) = sock.send_to(&data, ("127.0.0.1", port)) {
            return vec![format!("udp: send {size} bytes: {e}")];
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                if buf[..n] != want[..] {
                    return vec![format!("udp: {size} bytes came back as {n} other bytes")];
                }
                break;
            }
            let sent = std::fs::read(dump).unwrap_or_default();
            let answers: Vec<pcap::Datagram> = pcap::udp_datagrams(&sent)
                .into_iter()
                .filter(|d| {
                    d.src == (IpAddr::V4(GUEST_IP), guest_port)
                        && d.dst == (IpAddr::V4(GATEWAY), my_port)
                })
                .collect();
            if let Some(d) = answers.iter().find(|d| d.payload.len() == size) {
                if d.payload != want || !d.checksums_ok {
                    return vec![format!(
                        "udp: the answer to {size} bytes is wrong (checksums ok: {}, {} bytes)",
                        d.checksums_ok,
                        d.payload.len()
                    )];
                }
                break;
            }
            if Instant::now() > deadline {
                return vec![format!(
                    "udp: no answer to {size} bytes ({} answers from the guest seen)",
                    answers.len()
                )];
            }
        }
    }
    Vec::new()
}

/// The datagrams `netcheck udp-send6` sent over IPv6, as recorded in `dump`: one of each
/// size, from the guest's `fec0::` address and the port it printed (`output`) to
/// [`UDP6_TO`], each byte as `netcheck` makes it, checksums right.
fn udp6_sent(output: &str, dump: &Path) -> Vec<String> {
    let (to_ip, to_port) = UDP6_TO;
    let line = format!(
        "netcheck: udp6 sent {} datagrams from [{GUEST_IP6}]:",
        UDP6_SIZES.len()
    );
    let Some(rest) = output.split_once(&line).map(|(_, r)| r) else {
        return vec![format!("no line {line:?}PORT to [{to_ip}]:{to_port}")];
    };
    // The connected socket is named by its address in `fec0::/64` and its port.
    let (port, tail) = rest.split_once(' ').unwrap_or_default();
    let port = port.parse::<u16>().ok();
    let Some(port) = port.filter(|_| tail.starts_with(&format!("to [{to_ip}]:{to_port}\n"))) else {
        return vec![format!(
            "udp6: the socket is not named as expected: {rest:.80?}"
        )];
    };
    let sent = std::fs::read(dump).unwrap_or_default();
    let frames: Vec<pcap::Datagram> = pcap::udp_datagrams(&sent)
        .into_iter()
        .filter(|d| d.src == (IpAddr::V6(GUEST_IP6), port) && d.dst == (IpAddr::V6(to_ip), to_port))
        .collect();
    let mut problems = Vec::new();
    for size in UDP6_SIZES {
        let want: Vec<u8> = (0..size).map(|i| byte((i + size) as u64)).collect();
        match frames.iter().find(|d| d.payload.len() == size) {
            Some(d) if d.payload == want && d.checksums_ok => {}
            Some(d) => problems.push(format!(
                "udp6: the {size}-byte datagram is wrong on the wire (checksums ok: {})",
                d.checksums_ok
            )),
            None => problems.push(format!("udp6: no {size}-byte datagram on the wire")),
        }
    }
    if frames.len() != UDP6_SIZES.len() {
        problems.push(format!(
            "udp6: {} datagrams on the wire, want {}",
            frames.len(),
            UDP6_SIZES.len()
        ));
    }
    problems
}

/// Passes the guest's output on and tells the clients when a server in the OS is ready
/// (it printed its marker).
struct Watch {
    text: Vec<u8>,
    waiting: Vec<(String, mpsc::Sender<()>)>,
}

impl Write for Watch {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.text.extend_from_slice(buf);
        // The line's newline is not looked for: the exec parser holds back a trailing
        // newline (it may begin the END marker) until more output follows, and a server
        // prints nothing more until its clients are done.
        let text = String::from_utf8_lossy(&self.text).into_owned();
        self.waiting.retain(|(marker, tx)| {
            let ready = text.contains(marker.as_str());
            if ready {
                let _ = tx.send(());
            }
            !ready
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `cargo xtask network`: the group alone.
pub fn run(ws: &Workspace, verbose: bool) -> Result<i32> {
    super::test::run_group(ws, verbose, group)
}

pub fn group(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    let host_listener =
        TcpListener::bind("127.0.0.1:0").context(|| "binding 127.0.0.1:0".to_string())?;
    let host_port = host_listener
        .local_addr()
        .context(|| "local address".to_string())?
        .port();
    let forward_port = free_port()?;
    let udp_port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .context(|| "binding UDP 127.0.0.1:0".to_string())?
        .port();
    let udp_dual_port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .context(|| "binding UDP 127.0.0.1:0".to_string())?
        .port();
    let dump = ws.ensure_out_dir()?.join("network-udp.pcap");
    // QEMU appends to nothing: a dump of an earlier run must not answer for this one.
    let _ = std::fs::remove_file(&dump);
    let dump_client = dump.clone();
    let (udp_tx, udp_rx) = mpsc::channel();
    let udp = thread::spawn(move || match udp_rx.recv_timeout(TIMEOUT) {
        Ok(()) => udp_client(udp_port, UDP_GUEST_PORT, &dump_client),
        Err(_) => vec!["the UDP server in the OS never said it was ready".to_string()],
    });
    let dump_client = dump.clone();
    let (udp_dual_tx, udp_dual_rx) = mpsc::channel();
    let udp_dual = thread::spawn(move || match udp_dual_rx.recv_timeout(TIMEOUT) {
        Ok(()) => udp_client(udp_dual_port, UDP_DUAL_GUEST_PORT, &dump_client),
        Err(_) => vec!["the dual-stack UDP server in the OS never said it was ready".to_string()],
    });
    let dual_port = free_port()?;
    let (dual_tx, dual_rx) = mpsc::channel();
    let dual = thread::spawn(move || match dual_rx.recv_timeout(TIMEOUT) {
        Ok(()) => match connect(dual_port).and_then(|s| fetch_on(s, 4321)) {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!("dual-stack listener: {e}")],
        },
        Err(_) => vec!["the dual-stack server in the OS never listened".to_string()],
    });
    let own_port = free_port()?;
    let (own_tx, own_rx) = mpsc::channel();
    let own = thread::spawn(move || match own_rx.recv_timeout(TIMEOUT) {
        Ok(()) => match connect(own_port).and_then(|s| fetch_on(s, 1234)) {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!("listener on {GUEST_IP}: {e}")],
        },
        Err(_) => vec![format!("the server on {GUEST_IP} in the OS never listened")],
    });
    let server = thread::spawn(move || host_server(host_listener));
    let (tx, rx) = mpsc::channel();
    let clients = thread::spawn(move || match rx.recv_timeout(TIMEOUT) {
        Ok(()) => host_clients(forward_port),
        Err(_) => vec!["the server in the OS never listened".to_string()],
    });
    let command = format!(
        "netcheck serve {GUEST_PORT} {CONNECTIONS}; netcheck get {HOST_SERVER_NAME} {FROM_HOST}; \
         netcheck udp-echo {UDP_GUEST_PORT} {n}; netcheck udp-echo6 {UDP_DUAL_GUEST_PORT} {n}; \
         netcheck udp-send6 [{}]:{}; netcheck resolve localhost hostservice; \
         netcheck serve6 {DUAL_GUEST_PORT} 1; netcheck serve-at {GUEST_IP} {OWN_GUEST_PORT} 1; \
         netcheck get {V6_HOST} 1; netcheck get {V6_OFF} 1; ip",
        UDP6_TO.0,
        UDP6_TO.1,
        n = UDP_SIZES.len()
    );
    let (addr, port) = HOST_SERVER_IN_GUEST.split_once(':').unwrap_or_default();
    let request = ExecRequest {
        verbose,
        network: Network {
            forwards: vec![
                Forward {
                    host_port: forward_port,
                    guest_port: GUEST_PORT,
                    udp: false,
                },
                Forward {
                    host_port: udp_port,
                    guest_port: UDP_GUEST_PORT,
                    udp: true,
                },
                Forward {
                    host_port: udp_dual_port,
                    guest_port: UDP_DUAL_GUEST_PORT,
                    udp: true,
                },
                Forward {
                    host_port: dual_port,
                    guest_port: DUAL_GUEST_PORT,
                    udp: false,
                },
                Forward {
                    host_port: own_port,
                    guest_port: OWN_GUEST_PORT,
                    udp: false,
                },
            ],
            connects: vec![Connect {
                guest_addr: addr.parse().unwrap_or([10, 0, 2, 100].into()),
                guest_port: port.parse().unwrap_or(80),
                host_port,
            }],
            dump: Some(dump.clone()),
        },
        ..ExecRequest::new(&command, &[], TIMEOUT)
    };
    let mut watch = Watch {
        text: Vec::new(),
        waiting: vec![
            (format!("netcheck: listening on {GUEST_PORT}"), tx),
            (format!("netcheck: udp on {UDP_GUEST_PORT}"), udp_tx),
            (
                format!("netcheck: udp on {UDP_DUAL_GUEST_PORT}"),
                udp_dual_tx,
            ),
            (format!("netcheck: listening on {DUAL_GUEST_PORT}"), dual_tx),
            (format!("netcheck: listening on {OWN_GUEST_PORT}"), own_tx),
        ],
    };
    let outcome = exec::exec(ws, &request, &mut watch)?;
    // Clients still waiting for a server that never got ready stop waiting now.
    watch.waiting.clear();
    // The clients end by themselves once the OS is gone (connections fail).
    let mut problems = clients
        .join()
        .unwrap_or_else(|_| vec!["clients panicked".into()]);
    let mut udp_problems = udp
        .join()
        .unwrap_or_else(|_| vec!["UDP client panicked".into()]);
    let mut udp_dual_problems = udp_dual
        .join()
        .unwrap_or_else(|_| vec!["dual-stack UDP client panicked".into()]);
    let mut dual_problems = dual
        .join()
        .unwrap_or_else(|_| vec!["dual-stack client panicked".into()]);
    let mut own_problems = own
        .join()
        .unwrap_or_else(|_| vec!["own-address client panicked".into()]);
    let output = String::from_utf8_lossy(&watch.text).into_owned();
    // The connection through the forward arrives from the gateway, at the own address.
    let own_line = format!("to {GUEST_IP}:{OWN_GUEST_PORT}\n");
    let own_named = output
        .split_once(&format!("netcheck: connection from {GATEWAY}:"))
        .and_then(|(_, rest)| rest.lines().next())
        .is_some_and(|l| format!("{l}\n").ends_with(&own_line));
    if !own_named {
        own_problems.push(format!(
            "no `netcheck: connection from {GATEWAY}:PORT (getpeername ...) {own_line}`"
        ));
    }
    // Both ends of the IPv4 connection to the `[::]` listener, v4-mapped as on Linux.
    let names = format!("netcheck: connection from [::ffff:{GATEWAY}]:");
    let local = format!("to [::ffff:{GUEST_IP}]:{DUAL_GUEST_PORT}\n");
    let peer_named = format!("(getpeername [::ffff:{GATEWAY}]:");
    let line = output
        .split_once(&names)
        .and_then(|(_, rest)| rest.lines().next())
        .map(|l| format!("{l}\n"));
    if !line.is_some_and(|l| l.contains(&peer_named) && l.ends_with(&local)) {
        dual_problems.push(format!(
            "the dual-stack listener does not name the IPv4 connection \
             `{names}PORT {peer_named}PORT) {local}`"
        ));
    }
    if !output.contains("netcheck: served 1 connections: 1 answered") {
        dual_problems.push("the dual-stack listener did not answer".to_string());
    }
    // IPv6 on the wire: the connection to the slirp host is refused by its reset (the
    // neighbour solicitation answered, the SYN sent), not unreachable as without IPv6.
    let mut v6_problems = Vec::new();
    let expected = [
        format!("netcheck: get {V6_HOST}: connect {V6_HOST}: Connection refused (os error 111)\n"),
        format!("netcheck: get {V6_OFF}: connect {V6_OFF}: Network unreachable (os error 101)\n"),
    ];
    for line in expected.iter().map(String::as_str).chain(GUEST_V6) {
        if !output.contains(line) {
            v6_problems.push(format!("missing {line:?}"));
        }
    }
    let served = format!("netcheck: served {CONNECTIONS} connections: ");
    let answered = output
        .split_once(&served)
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    // The closed client always fails; the abandoned one may have been answered in full
    // before the reset came.
    if !answered.is_some_and(|n| (CONCURRENT + 3..=CONCURRENT + 4).contains(&n)) {
        problems.push(format!("the server's count: {answered:?} answered"));
    }
    let expected = [
        (
            format!("netcheck: got {FROM_HOST} bytes from {HOST_SERVER_NAME}, all as expected\n"),
            "the client in the OS did not get the host's body",
        ),
        (
            "netcheck: localhost -> 127.0.0.1".to_string(),
            "`localhost` does not resolve to 127.0.0.1",
        ),
        (
            "netcheck: hostservice -> 10.0.2.100\n".to_string(),
            "`hostservice` does not resolve to 10.0.2.100 alone",
        ),
    ];
    for (line, problem) in expected {
        if !output.contains(&line) {
            problems.push(problem.to_string());
        }
    }
    if !output.contains("inet 10.0.2.15/24") {
        problems.push("`ip` does not show the DHCP address".to_string());
    }
    // The guest has its answer before this side's last read sees the client's close (through
    // QEMU's guestfwd): give the server a moment to finish.
    let waited = Instant::now();
    while !server.is_finished() && waited.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(20));
    }
    if !server.is_finished() {
        problems.push("the host's server was never reached".to_string());
    } else if let Ok(Err(e)) = server.join() {
        problems.push(format!("the host's server: {e}"));
    }
    match &outcome {
        ExecOutcome::Completed { status: 0, .. } => {}
        other => problems.push(format!(
            "the command line did not complete with status 0: {}",
            other.problem().unwrap_or_else(|| format!("{other:?}"))
        )),
    }
    let udp_done = format!(
        "netcheck: udp echoed {} datagrams, the first from {GATEWAY}\n",
        UDP_SIZES.len()
    );
    if !output.contains(&udp_done) {
        udp_problems.push("the UDP server in the OS did not answer every datagram".to_string());
    }
    // The dual-stack socket names its IPv4 sender v4-mapped.
    let udp_dual_done = format!(
        "netcheck: udp echoed {} datagrams, the first from ::ffff:{GATEWAY}\n",
        UDP_SIZES.len()
    );
    if !output.contains(&udp_dual_done) {
        udp_dual_problems.push(format!("missing {udp_dual_done:?}"));
    }
    let udp6_problems = udp6_sent(&output, &dump);
    for (name, problems) in [
        ("network host-to-os-and-back", problems),
        ("network udp-hostfwd-echo", udp_problems),
        ("network udp-dual-stack-echo", udp_dual_problems),
        ("network udp6-to-slirp-host", udp6_problems),
        ("network dual-stack-listener", dual_problems),
        ("network own-address-listener", own_problems),
        ("network ipv6-to-slirp-host", v6_problems),
    ] {
        let verdict = (!problems.is_empty())
            .then(|| format!("  {}\n  output: {output:?}", problems.join("\n  ")));
        tally.verdict(name, verdict);
    }
    Ok(())
}
