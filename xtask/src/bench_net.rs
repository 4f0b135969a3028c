//! The network rows of `cargo xtask bench`: the same static program (`ports/linux/netcheck
//! serve`, an HTTP/1.1 server on std::net, a thread per connection) in the OS and as `/init`
//! of the Linux guest, each on QEMU's user network with one hostfwd, driven from the host
//! the same way and timed on the host's clock. The Linux guest's initramfs also holds the
//! Debian kernel's virtio network modules (`netcheck linux-init` loads them and sets the
//! address; see there).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::exec::{self, ExecOutcome, ExecRequest};
use crate::linux_guest;
use crate::netspec::{Forward, Network};
use crate::workspace::Workspace;

/// The rows: name and what they time.
pub const ROWS: &[(&str, &str)] = &[
    (
        "net-tx",
        "TCP guest to host through hostfwd, time per MiB (one 16 MiB HTTP body; host clock)",
    ),
    (
        "net-conn",
        "connect + 100-byte HTTP request/response + close, host to guest through hostfwd (host clock)",
    ),
    (
        "net-rx",
        "TCP host to guest through hostfwd, time per MiB (one 16 MiB HTTP upload the guest checks; host clock)",
    ),
    (
        "net-rps",
        "100-byte HTTP request/response on one kept-alive connection, time per request (1 / requests per second; host clock)",
    ),
];

/// The server's port in the guest, the large body and the small exchanges timed.
const GUEST_PORT: u16 = 8080;
const TX_MIB: u64 = 16;
const EXCHANGES: usize = 40;
/// The upload and the requests on one kept-alive connection.
const RX_MIB: u64 = 16;
const KEPT_ALIVE_REQUESTS: usize = 200;
/// Connections the server takes: one to find it ready, the large one, the small ones, the
/// upload, the kept-alive one.
const CONNECTIONS: usize = 1 + 1 + EXCHANGES + 1 + 1;
const TIMEOUT: Duration = Duration::from_secs(300);
/// The modules Debian's kernel needs for virtio-net, in dependency order (each module's
/// `depends=` modinfo field names only modules above it).
const MODULES: &[&str] = &[
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "net/core/failover.ko",
    "drivers/net/net_failover.ko",
    "drivers/net/virtio_net.ko",
];

/// Whether `name` is one of these rows.
pub fn is_net(name: &str) -> bool {
    ROWS.iter().any(|(n, _)| *n == name)
}

/// Byte `i` of every body (the pattern of `ports/linux/netcheck`).
fn byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 8)) as u8
}

/// One `GET /bytes/SIZE` on a new connection; the body is checked byte for byte after the
/// clock stopped (`check`).
fn fetch(port: u16, size: u64) -> std::result::Result<Vec<u8>, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    write!(s, "GET /bytes/{size} HTTP/1.1\r\nHost: bench\r\n\r\n")
        .map_err(|e| format!("request: {e}"))?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)
        .map_err(|e| format!("response: {e}"))?;
    let head_end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head in {} bytes", all.len()))?;
    Ok(all.split_off(head_end + 4))
}

/// Reads one response whose body is `Content-Length` long; the connection stays open.
fn response(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| format!("no Content-Length in {head:?}"))?;
            while buf.len() < end + 4 + length {
                let n = s.read(&mut chunk).map_err(|e| format!("body: {e}"))?;
                if n == 0 {
                    return Err("closed in the middle of a body".to_string());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + length].to_vec();
            buf.drain(..end + 4 + length);
            return Ok(body);
        }
        let n = s.read(&mut chunk).map_err(|e| format!("head: {e}"))?;
        if n == 0 {
            return Err("closed before a response".to_string());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn connect(port: u16) -> std::result::Result<TcpStream, String> {
    let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(s)
}

/// `POST /upload` of `body` (pattern bytes); the server checks them and answers `ok`.
fn upload(port: u16, body: &[u8]) -> std::result::Result<(), String> {
    let mut s = connect(port)?;
    write!(
        s,
        "POST /upload HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .map_err(|e| format!("request: {e}"))?;
    s.write_all(body).map_err(|e| format!("upload: {e}"))?;
    match response(&mut s, &mut Vec::new())? {
        ok if ok == b"ok" => Ok(()),
        other => Err(format!(
            "the server found the upload {:?}",
            String::from_utf8_lossy(&other)
        )),
    }
}

/// `count` requests of 100 bytes on one kept-alive connection, each body checked.
fn kept_alive(port: u16, count: usize) -> std::result::Result<(), String> {
    let mut s = connect(port)?;
    let mut buf = Vec::new();
    for _ in 0..count {
        write!(
            s,
            "GET /bytes/100 HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"
        )
        .map_err(|e| format!("request: {e}"))?;
        check(&response(&mut s, &mut buf)?, 100)?;
    }
    Ok(())
}

fn check(body: &[u8], size: u64) -> std::result::Result<(), String> {
    if body.len() as u64 != size {
        return Err(format!("{} body bytes, expected {size}", body.len()));
    }
    match (0..size).find(|&i| body[i as usize] != byte(i)) {
        Some(i) => Err(format!("body byte {i} differs")),
        None => Ok(()),
    }
}

/// The host's side: waits for the server (QEMU's hostfwd accepts before the guest listens,
/// so a refused attempt is retried), then times the large body and the small exchanges.
fn drive(port: u16, stop: &AtomicBool) -> std::result::Result<Vec<(String, f64)>, String> {
    loop {
        match fetch(port, 100) {
            Ok(body) if check(&body, 100).is_ok() => break,
            other if stop.load(Ordering::SeqCst) => {
                return Err(format!("the server never answered: {other:?}"));
            }
            _ => thread::sleep(Duration::from_millis(200)),
        }
    }
    let size = TX_MIB << 20;
    let t = Instant::now();
    let body = fetch(port, size)?;
    let tx = t.elapsed().as_nanos() as f64 / TX_MIB as f64;
    check(&body, size)?;
    let t = Instant::now();
    for _ in 0..EXCHANGES {
        check(&fetch(port, 100)?, 100)?;
    }
    let conn = t.elapsed().as_nanos() as f64 / EXCHANGES as f64;
    let body: Vec<u8> = (0..RX_MIB << 20).map(byte).collect();
    let t = Instant::now();
    upload(port, &body)?;
    let rx = t.elapsed().as_nanos() as f64 / RX_MIB as f64;
    let t = Instant::now();
    kept_alive(port, KEPT_ALIVE_REQUESTS)?;
    let rps = t.elapsed().as_nanos() as f64 / KEPT_ALIVE_REQUESTS as f64;
    Ok(vec![
        ("net-tx".into(), tx),
        ("net-conn".into(), conn),
        ("net-rx".into(), rx),
        ("net-rps".into(), rps),
    ])
}

fn network() -> Result<(u16, Network)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context(|| "binding 127.0.0.1:0".to_string())?
        .port();
    let network = Network {
        forwards: vec![Forward {
            host_port: port,
            guest_port: GUEST_PORT,
            udp: false,
        }],
        ..Network::default()
    };
    Ok((port, network))
}

/// Runs `drive` while `boot` runs; its figures, or why there are none.
fn measured(
    port: u16,
    boot: impl FnOnce() -> Result<()>,
    side: &str,
) -> Result<Vec<(String, f64)>> {
    let stop = Arc::new(AtomicBool::new(false));
    let stop_driver = stop.clone();
    let driver = thread::spawn(move || drive(port, &stop_driver));
    let booted = boot();
    // The server ends after its last connection, so a boot that completed found the driver
    // done; one that failed stops it waiting for the server.
    stop.store(true, Ordering::SeqCst);
    let figures = driver
        .join()
        .map_err(|_| Error::failed("the network bench driver panicked".to_string()));
    booted?;
    figures?.map_err(|e| Error::failed(format!("{side}: network bench: {e}")))
}

/// The OS: `netcheck serve` behind a hostfwd.
pub fn ours(ws: &Workspace, verbose: bool) -> Result<Vec<(String, f64)>> {
    let (port, network) = network()?;
    let command = format!("netcheck serve {GUEST_PORT} {CONNECTIONS}");
    measured(
        port,
        || {
            let request = ExecRequest {
                verbose,
                network,
                ..ExecRequest::new(&command, &[], TIMEOUT)
            };
            let mut out = Vec::new();
            let outcome = exec::exec(ws, &request, &mut out)?;
            match outcome {
                ExecOutcome::Completed { status: 0, .. } => Ok(()),
                other => Err(Error::failed(format!(
                    "the OS's netcheck: {}\n{}",
                    other.problem().unwrap_or_default(),
                    String::from_utf8_lossy(&out)
                ))),
            }
        },
        "the OS",
    )
}

/// Linux: `netcheck linux-init` as `/init` of `initramfs`, behind a hostfwd.
pub fn linux(kernel: &Path, initramfs: &Path) -> Result<Vec<(String, f64)>> {
    let (port, network) = network()?;
    let count = CONNECTIONS.to_string();
    measured(
        port,
        || {
            linux_guest::boot_with_network(
                &network,
                kernel,
                initramfs,
                linux_guest::cmdline(&["linux-init", &GUEST_PORT.to_string(), &count]),
                "netcheck: init",
                &["netcheck: done", "netcheck: failed", "Kernel panic"],
                TIMEOUT,
            )
            .and_then(|run| {
                if run.console.contains("netcheck: done") {
                    Ok(())
                } else {
                    Err(Error::failed(format!(
                        "Linux's netcheck failed:\n{}",
                        run.console
                    )))
                }
            })
        },
        "Linux",
    )
}

/// The Linux guest's initramfs for these rows, in `dir`: netcheck as `/init` and the
/// virtio-net modules of `package` (the kernel's Debian package, fetched again with
/// `apt-get download` the first time and unpacked with `dpkg-deb`, then kept in
/// `dir/net-modules`).
pub fn linux_initramfs(dir: &Path, package: &str, netcheck: &Path) -> Result<PathBuf> {
    let modules = dir.join("net-modules");
    if !MODULES.iter().all(|m| modules.join(file_name(m)).is_file()) {
        fetch_modules(dir, package, &modules)?;
    }
    let init = std::fs::read(netcheck).context(|| format!("reading {}", netcheck.display()))?;
    let mut builder = initrd::Builder::new();
    for d in ["dev", "proc", "tmp", "modules"] {
        builder.add_dir(d, 0o755, 0);
    }
    let mut order = String::new();
    for m in MODULES {
        let name = file_name(m);
        let path = modules.join(name);
        let data = std::fs::read(&path).context(|| format!("reading {}", path.display()))?;
        builder.add_file(&format!("modules/{name}"), 0o644, 0, &data);
        order += &format!("{name}\n");
    }
    builder.add_file("modules/order", 0o644, 0, order.as_bytes());
    builder.add_file("init", 0o755, 0, &init);
    let out = dir.join("initramfs-net.cpio");
    std::fs::write(&out, builder.finish()).context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

fn file_name(module: &str) -> &str {
    module.rsplit('/').next().unwrap_or(module)
}

fn fetch_modules(dir: &Path, package: &str, modules: &Path) -> Result<()> {
    let work = dir.join("net-modules.tmp");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).context(|| format!("creating {}", work.display()))?;
    eprintln!("xtask: fetching the Linux peer's virtio-net modules ({package})");
    let ok = Command::new("apt-get")
        .args(["download", "-q", package])
        .current_dir(&work)
        .status()
        .is_ok_and(|s| s.success());
    let deb = std::fs::read_dir(&work)
        .ok()
        .and_then(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "deb"))
        })
        .filter(|_| ok)
        .ok_or_else(|| Error::failed(format!("apt-get download {package} failed")))?;
    let root = work.join("root");
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&root)
        .status()
        .context(|| "could not start dpkg-deb".to_string())?;
    if !status.success() {
        return Err(Error::failed(format!(
            "dpkg-deb -x {} failed",
            deb.display()
        )));
    }
    let version = package.trim_start_matches("linux-image-");
    std::fs::create_dir_all(modules).context(|| format!("creating {}", modules.display()))?;
    for m in MODULES {
        let from = root.join(format!("lib/modules/{version}/kernel/{m}"));
        std::fs::copy(&from, modules.join(file_name(m)))
            .context(|| format!("copying {}", from.display()))?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_byte_for_byte() {
        let body: Vec<u8> = (0..1000).map(byte).collect();
        assert_eq!(check(&body, 1000), Ok(()));
        assert!(check(&body[..999], 1000).is_err());
        let mut bad = body.clone();
        bad[500] ^= 1;
        assert_eq!(check(&bad, 1000), Err("body byte 500 differs".to_string()));
    }

    #[test]
    fn rows_are_in_the_bench_table() {
        for (name, _) in ROWS {
            assert!(is_net(name));
            assert!(
                crate::commands::bench::BENCHES
                    .iter()
                    .any(|(n, _)| n == name)
            );
        }
        assert!(!is_net("null"));
        assert_eq!(file_name("drivers/net/virtio_net.ko"), "virtio_net.ko");
    }
}
