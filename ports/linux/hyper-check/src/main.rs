//! A hyper HTTP/1.1 server and hyper clients talking over loopback TCP, on tokio's
//! multi-threaded runtime (mio: non-blocking sockets, epoll, eventfd). The server listens on
//! `127.0.0.1:0`; 20 clients connect at once, each on its own keep-alive connection, and
//! send several requests: a small GET, an echoed POST of a few KiB, every fifth a 1 MiB
//! download, and one a 1 MiB upload echoed back. Every response is checked byte for byte.
//!
//! Prints `hyper-check: ok (...)` (deterministic: counts only) and exits 0, or
//! `hyper-check: FAILED: why` and exits 1. The same binary runs on a Linux host, which is
//! the reference. Everything must finish within two minutes.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HOST};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

const CLIENTS: usize = 20;
const BIG: usize = 1 << 20;

/// `len` deterministic pseudo-random bytes from `seed` (xorshift).
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn response(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

/// The server's routes: `GET /hello/NAME`, `POST /echo`, `GET /big`.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    Ok(match (req.method().clone(), path.as_str()) {
        (Method::GET, "/big") => response(StatusCode::OK, pattern(7, BIG)),
        (Method::POST, "/echo") => {
            let body = req.into_body().collect().await?.to_bytes();
            response(StatusCode::OK, body)
        }
        (Method::GET, p) if p.starts_with("/hello/") => {
            response(StatusCode::OK, format!("hello {}", &p[7..]))
        }
        _ => response(StatusCode::NOT_FOUND, "no such route"),
    })
}

async fn serve(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("hyper-check: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle));
            if let Err(e) = conn.await {
                eprintln!("hyper-check: server connection: {e}");
            }
        });
    }
}

/// What one client did: requests made, body bytes checked.
struct Done {
    requests: usize,
    bytes: usize,
}

async fn client(addr: SocketAddr, i: usize) -> Result<Done, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("client {i}: connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("client {i}: set_nodelay: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("client {i}: handshake: {e}"))?;
    let driver = tokio::spawn(conn);

    let mut plan: Vec<(Method, String, Vec<u8>, Vec<u8>)> = vec![
        (Method::GET, format!("/hello/{i}"), Vec::new(), format!("hello {i}").into_bytes()),
        (Method::POST, "/echo".into(), pattern(i as u64, 4096 + i * 100), Vec::new()),
    ];
    if i % 5 == 0 {
        plan.push((Method::GET, "/big".into(), Vec::new(), pattern(7, BIG)));
    }
    if i == 1 {
        plan.push((Method::POST, "/echo".into(), pattern(99, BIG), Vec::new()));
    }
    plan.push((Method::GET, "/missing".into(), Vec::new(), b"no such route".to_vec()));

    let mut done = Done {
        requests: 0,
        bytes: 0,
    };
    for (method, path, body, expect) in plan {
        // An echo's expected answer is its own body.
        let expect = if path == "/echo" { body.clone() } else { expect };
        let req = Request::builder()
            .method(method)
            .uri(&path)
            .header(HOST, addr.to_string())
            .header(CONTENT_LENGTH, body.len())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("client {i}: request: {e}"))?;
        sender
            .ready()
            .await
            .map_err(|e| format!("client {i}: connection not ready: {e}"))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("client {i}: {path}: {e}"))?;
        let want = if path == "/missing" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        if resp.status() != want {
            return Err(format!("client {i}: {path}: status {}", resp.status()));
        }
        let got = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("client {i}: {path}: body: {e}"))?
            .to_bytes();
        if got != expect {
            return Err(format!(
                "client {i}: {path}: {} bytes back, {} expected, or different",
                got.len(),
                expect.len()
            ));
        }
        done.requests += 1;
        done.bytes += got.len();
    }
    drop(sender);
    driver
        .await
        .map_err(|e| format!("client {i}: connection task: {e}"))?
        .map_err(|e| format!("client {i}: connection: {e}"))?;
    Ok(done)
}

async fn run() -> Result<String, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("local_addr: {e}"))?;
    tokio::spawn(serve(listener));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| tokio::spawn(client(addr, i)))
        .collect();
    let (mut requests, mut bytes) = (0, 0);
    for c in clients {
        let done = c.await.map_err(|e| format!("client task: {e}"))??;
        requests += done.requests;
        bytes += done.bytes;
    }
    Ok(format!(
        "{CLIENTS} concurrent clients, {requests} requests, {bytes} body bytes checked"
    ))
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("hyper-check: FAILED: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), run())
            .await
            .unwrap_or_else(|_| Err("timed out after 120 s".into()))
    });
    match result {
        Ok(summary) => {
            println!("hyper-check: ok ({summary})");
            ExitCode::SUCCESS
        }
        Err(why) => {
            println!("hyper-check: FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}
