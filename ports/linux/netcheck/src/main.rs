//! The network tests' program: a small HTTP/1.1 server and client on `std::net`.
//!
//! - `netcheck serve PORT COUNT`: listens on `0.0.0.0:PORT`, prints `netcheck: listening on
//!   PORT`, serves COUNT connections (a thread each), then prints how many requests it
//!   answered and how many connections ended without one (closed or reset by the peer).
//! - `netcheck serve6 PORT COUNT`: the same on `[::]:PORT` (dual-stack), printing each
//!   connection's addresses (an IPv4 peer as `::ffff:a.b.c.d`, as Linux names it).
//! - `netcheck serve-at ADDR PORT COUNT`: the same on `ADDR:PORT` (e.g. the interface's own
//!   address), printing each connection's addresses.
//! - `netcheck get ADDR:PORT SIZE`: fetches `/bytes/SIZE` and checks every byte (ADDR may be
//!   a name: musl's resolver reads `/etc/hosts`).
//! - `netcheck udp-echo PORT COUNT`: binds UDP `0.0.0.0:PORT`, prints `netcheck: udp on PORT`,
//!   and answers COUNT datagrams with their bytes reversed: the first with `recv_from` and
//!   `send_to`, then `connect`s to its sender and uses `recv`/`send`; `poll` waits for each.
//! - `netcheck udp-echo6 PORT COUNT`: the same on `[::]:PORT` (dual-stack: IPv4 senders
//!   arrive as `::ffff:a.b.c.d`).
//! - `netcheck udp-send6 [ADDR]:PORT`: from an IPv6 UDP socket, sends datagrams of
//!   [`UDP6_SIZES`] bytes to ADDR:PORT (`send_to`, then `connect` and `send`), checks that
//!   one byte more than a frame holds is `EMSGSIZE` and an address off the interface's
//!   prefixes `ENETUNREACH`, and prints its own address once connected (the answers cannot
//!   come back on QEMU's restricted network: the test reads the frames).
//! - `netcheck resolve NAME...`: prints the addresses each name resolves to.
//! - `netcheck linux-init PORT COUNT`: as `/init` of the network bench's Linux peer: loads
//!   the network driver, sets up `eth0` ([`linux_init`]), then `serve PORT COUNT`, then
//!   powers off. Prints `netcheck: init` first and `netcheck: done` (or `netcheck: failed`).
//!
//! `GET /bytes/N` answers N bytes of a fixed pattern ([`byte`]), the same on the host side of
//! the test (xtask), so both ends check the bodies byte for byte; `POST /upload` checks a body
//! of that pattern sent to the server and answers `ok` or `bad`; `Connection: keep-alive`
//! keeps the connection for more requests (the bench's `net-rx` and `net-rps`, [`answer`]).

mod linux_init;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Byte `i` of every body.
fn byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 8)) as u8
}

fn body_chunk(start: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| byte(start + i)).collect()
}

/// Reads a request or response head (up to the blank line), starting with the bytes `buf`
/// already holds; the bytes after it too. The peer's close before the head's first byte is
/// `UnexpectedEof`, in the middle of it `InvalidData`.
fn read_head(s: &mut TcpStream, mut buf: Vec<u8>) -> std::io::Result<(String, Vec<u8>)> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Ok((head, buf[end + 4..].to_vec()));
        }
        if buf.len() > 16 * 1024 {
            return Err(std::io::Error::other("head too long"));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            let kind = if buf.is_empty() {
                std::io::ErrorKind::UnexpectedEof
            } else {
                std::io::ErrorKind::InvalidData
            };
            return Err(std::io::Error::new(
                kind,
                "closed before the end of the head",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Answers the requests of one connection: `GET /bytes/N` with N bytes of the pattern,
/// `POST /upload` (with `Content-Length`) by reading and checking the body and answering
/// `ok` or `bad`. A request with `Connection: keep-alive` keeps the connection for the next
/// one (until the peer closes it); any other ends it.
fn answer(mut s: TcpStream) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut pending = Vec::new();
    let mut answered = 0;
    loop {
        let (head, rest) = match read_head(&mut s, std::mem::take(&mut pending)) {
            Ok(h) => h,
            // The peer closed between two kept-alive requests: done.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && answered > 0 => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        answered += 1;
        let keep = head
            .lines()
            .any(|l| l.eq_ignore_ascii_case("connection: keep-alive"));
        let connection = if keep { "keep-alive" } else { "close" };
        let first = head.lines().next().unwrap_or_default();
        if first.starts_with("POST /upload ") {
            let length: u64 = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("no length in {head:?}")))?;
            let ok = read_body(&mut s, rest, length)?;
            let verdict = if ok { "ok" } else { "bad" };
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{verdict}",
                verdict.len()
            )?;
        } else {
            let size: u64 = first
                .strip_prefix("GET /bytes/")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("bad request {head:?}")))?;
            pending = rest;
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: {connection}\r\n\r\n"
            )?;
            let mut sent = 0u64;
            while sent < size {
                let len = (size - sent).min(64 * 1024) as usize;
                s.write_all(&body_chunk(sent, len))?;
                sent += len as u64;
            }
        }
        s.flush()?;
        if !keep {
            return Ok(());
        }
    }
}

/// Reads `length` body bytes (`have` first) and whether each is the pattern's.
fn read_body(s: &mut TcpStream, have: Vec<u8>, length: u64) -> std::io::Result<bool> {
    let mut ok = true;
    let mut at = 0u64;
    let mut check = |bytes: &[u8], at: &mut u64| {
        for b in bytes {
            ok &= *b == byte(*at);
            *at += 1;
        }
    };
    let first = (have.len() as u64).min(length) as usize;
    check(&have[..first], &mut at);
    let mut chunk = vec![0u8; 64 * 1024];
    while at < length {
        let want = ((length - at) as usize).min(chunk.len());
        let n = s.read(&mut chunk[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed in the middle of the body",
            ));
        }
        check(&chunk[..n], &mut at);
    }
    Ok(ok)
}

/// Serves `count` connections on `ip:port` (`0.0.0.0`, `::`: dual-stack, Linux's default
/// and std's, which sets no `IPV6_V6ONLY`, or one address of the host). With `show_names`, prints each connection's
/// local and peer address (`getsockname`, `getpeername`).
fn serve(ip: &str, port: u16, count: usize, show_names: bool) -> i32 {
    let listener = match TcpListener::bind((ip, port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("netcheck: bind {ip} port {port}: {e}");
            return 1;
        }
    };
    println!("netcheck: listening on {port}");
    let _ = std::io::stdout().flush();
    let answered = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for _ in 0..count {
        let (s, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("netcheck: accept: {e}");
                return 1;
            }
        };
        if show_names {
            let local = s.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string());
            let named_peer = s.peer_addr().map_or_else(|e| e.to_string(), |a| a.to_string());
            println!("netcheck: connection from {peer} (getpeername {named_peer}) to {local}");
        }
        let (answered, failed) = (answered.clone(), failed.clone());
        threads.push(std::thread::spawn(move || match answer(s) {
            Ok(()) => answered.fetch_add(1, Ordering::SeqCst),
            Err(_) => failed.fetch_add(1, Ordering::SeqCst),
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    println!(
        "netcheck: served {count} connections: {} answered, {} closed or reset by the peer",
        answered.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst)
    );
    0
}

fn get(addr: &str, size: u64) -> Result<(), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET /bytes/{size} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let (head, mut body) =
        read_head(&mut s, Vec::new()).map_err(|e| format!("response head: {e}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("response {head:?}"));
    }
    // Read exactly the announced length, as an HTTP/1.1 client does: what the peer does
    // with the connection afterwards (close, reset) does not change the answer.
    let length: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no Content-Length in {head:?}"))?;
    let mut chunk = vec![0u8; 64 * 1024];
    while (body.len() as u64) < length {
        let want = ((length - body.len() as u64) as usize).min(chunk.len());
        match s.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("body after {} bytes: {e}", body.len())),
        }
    }
    if body.len() as u64 != size {
        return Err(format!("{} body bytes, expected {size}", body.len()));
    }
    if let Some(i) = (0..size).find(|&i| body[i as usize] != byte(i)) {
        return Err(format!("body byte {i} differs"));
    }
    Ok(())
}

/// Waits up to `ms` for `sock` to be readable (`poll`, so readiness is what is tested).
fn wait_readable(sock: &UdpSocket, ms: i32) -> Result<(), String> {
    let mut fds = [libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: `fds` is a valid array of one pollfd for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
    match n {
        1 if fds[0].revents & libc::POLLIN != 0 => Ok(()),
        0 => Err(format!("poll: nothing in {ms} ms")),
        _ => Err(format!(
            "poll: {n}, revents {:#x}: {}",
            fds[0].revents,
            std::io::Error::last_os_error()
        )),
    }
}

/// The sizes `udp-send6` sends: up to the largest that fits one frame over IPv6.
const UDP6_SIZES: [usize; 4] = [1, 100, 1000, 1452];

/// Byte `i` of the `size`-byte datagram `udp-send6` sends (the test on the host checks it).
fn udp6_byte(i: usize, size: usize) -> u8 {
    byte((i + size) as u64)
}

fn udp_send6(to: &str) -> Result<String, String> {
    let to: std::net::SocketAddr = to.parse().map_err(|e| format!("{to}: {e}"))?;
    let sock = UdpSocket::bind("[::]:0").map_err(|e| format!("bind: {e}"))?;
    let data = |size: usize| -> Vec<u8> { (0..size).map(|i| udp6_byte(i, size)).collect() };
    let (first, rest) = UDP6_SIZES.split_first().ok_or("no sizes")?;
    sock.send_to(&data(*first), to)
        .map_err(|e| format!("send_to {to}: {e}"))?;
    match sock.send_to(&[0u8; UDP6_SIZES[3] + 1], to) {
        Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {}
        other => return Err(format!("a datagram larger than a frame: {other:?}")),
    }
    let off: std::net::SocketAddr = "[2001:db8::1]:7".parse().map_err(|_| "address")?;
    match sock.send_to(b"x", off) {
        Err(e) if e.raw_os_error() == Some(libc::ENETUNREACH) => {}
        other => return Err(format!("to {off}: {other:?}")),
    }
    sock.connect(to).map_err(|e| format!("connect {to}: {e}"))?;
    for size in rest {
        sock.send(&data(*size))
            .map_err(|e| format!("send {size}: {e}"))?;
    }
    let me = sock.local_addr().map_err(|e| format!("local_addr: {e}"))?;
    let peer = sock.peer_addr().map_err(|e| format!("peer_addr: {e}"))?;
    Ok(format!(
        "netcheck: udp6 sent {} datagrams from {me} to {peer}",
        UDP6_SIZES.len()
    ))
}

fn udp_echo(ip: &str, port: u16, count: usize) -> Result<String, String> {
    let sock = UdpSocket::bind((ip, port)).map_err(|e| format!("bind: {e}"))?;
    println!("netcheck: udp on {port}");
    let _ = std::io::stdout().flush();
    let mut buf = vec![0u8; 65536];
    let mut first = None;
    for i in 0..count {
        wait_readable(&sock, 30_000)?;
        let n = if i == 0 {
            let (n, from) = sock
                .recv_from(&mut buf)
                .map_err(|e| format!("recv_from: {e}"))?;
            buf[..n].reverse();
            sock.send_to(&buf[..n], from)
                .map_err(|e| format!("send_to {from}: {e}"))?;
            sock.connect(from)
                .map_err(|e| format!("connect {from}: {e}"))?;
            first = Some(from);
            n
        } else {
            let n = sock.recv(&mut buf).map_err(|e| format!("recv: {e}"))?;
            buf[..n].reverse();
            sock.send(&buf[..n]).map_err(|e| format!("send: {e}"))?;
            n
        };
        if n == 0 {
            return Err(format!("datagram {i} is empty"));
        }
    }
    let from = first.map_or("nobody".to_string(), |a| a.ip().to_string());
    Ok(format!(
        "netcheck: udp echoed {count} datagrams, the first from {from}"
    ))
}

fn resolve(names: &[String]) -> i32 {
    let mut code = 0;
    for name in names {
        match (name.as_str(), 0).to_socket_addrs() {
            Ok(addrs) => {
                let mut ips: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
                ips.sort();
                ips.dedup();
                println!("netcheck: {name} -> {}", ips.join(" "));
            }
            Err(e) => {
                println!("netcheck: {name}: {e}");
                code = 1;
            }
        }
    }
    code
}

/// Prints a command's outcome; its exit status.
fn report(command: &str, outcome: Result<String, String>) -> i32 {
    match outcome {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            println!("netcheck: {command}: {e}");
            1
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = match args.get(1).map(String::as_str) {
        Some("serve") if args.len() == 4 => match (args[2].parse(), args[3].parse()) {
            (Ok(port), Ok(count)) => serve("0.0.0.0", port, count, false),
            _ => 2,
        },
        Some("serve6") if args.len() == 4 => match (args[2].parse(), args[3].parse()) {
            (Ok(port), Ok(count)) => serve("::", port, count, true),
            _ => 2,
        },
        Some("serve-at") if args.len() == 5 => match (args[3].parse(), args[4].parse()) {
            (Ok(port), Ok(count)) => serve(&args[2], port, count, true),
            _ => 2,
        },
        Some("get") if args.len() == 4 => match args[3].parse() {
            Ok(size) => match get(&args[2], size) {
                Ok(()) => {
                    println!(
                        "netcheck: got {size} bytes from {}, all as expected",
                        args[2]
                    );
                    0
                }
                Err(e) => {
                    println!("netcheck: get {}: {e}", args[2]);
                    1
                }
            },
            Err(_) => 2,
        },
        Some("udp-echo") if args.len() == 4 => match (args[2].parse(), args[3].parse()) {
            (Ok(port), Ok(count)) => report("udp-echo", udp_echo("0.0.0.0", port, count)),
            _ => 2,
        },
        Some("udp-echo6") if args.len() == 4 => match (args[2].parse(), args[3].parse()) {
            (Ok(port), Ok(count)) => report("udp-echo6", udp_echo("::", port, count)),
            _ => 2,
        },
        Some("udp-send6") if args.len() == 3 => report("udp-send6", udp_send6(&args[2])),
        Some("resolve") if args.len() > 2 => resolve(&args[2..]),
        Some("linux-init") if args.len() == 4 => match (args[2].parse(), args[3].parse()) {
            (Ok(port), Ok(count)) => {
                println!("netcheck: init");
                let code = match linux_init::setup() {
                    Ok(()) => serve("0.0.0.0", port, count, false),
                    Err(e) => {
                        println!("netcheck: setup: {e}");
                        1
                    }
                };
                println!("netcheck: {}", if code == 0 { "done" } else { "failed" });
                let _ = std::io::stdout().flush();
                linux_init::power_off();
                code
            }
            _ => 2,
        },
        _ => 2,
    };
    if code == 2 {
        eprintln!(
            "usage: netcheck serve PORT COUNT | serve6 PORT COUNT | serve-at ADDR PORT COUNT | get ADDR:PORT SIZE | udp-echo PORT COUNT | udp-echo6 PORT COUNT | udp-send6 [ADDR]:PORT | resolve NAME... | linux-init PORT COUNT"
        );
    }
    std::process::exit(code);
}
