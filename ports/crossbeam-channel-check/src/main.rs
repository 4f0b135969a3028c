//! `crossbeam-channel` on this OS: bounded and unbounded channels with several producers and
//! consumers, `select!`, timeouts, `tick`/`after` timers and disconnection. Prints
//! `crossbeam-channel-check: ok (...)` and exits 0, or what failed and exits 1.

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, TryRecvError, after, bounded, select, tick, unbounded};

fn run() -> Result<String, String> {
    // Bounded(8): 4 producers x 1000 values, 2 consumers.
    let (tx, rx) = bounded::<u64>(8);
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..1000 {
                    tx.send(p * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().fold((0u64, 0u64), |(n, s), v| (n + 1, s + v)))
        })
        .collect();
    producers.into_iter().for_each(|h| h.join().unwrap());
    let (n, sum) = consumers
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    if n != 4000 || sum != (0..4000u64).sum::<u64>() {
        return Err(format!("bounded channel: {n} values, sum {sum}"));
    }

    // Unbounded with disconnection.
    let (tx, rx) = unbounded();
    for i in 0..10_000 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let got: Vec<i32> = rx.iter().collect();
    if got != (0..10_000).collect::<Vec<_>>() {
        return Err("unbounded channel order".into());
    }
    if rx.try_recv() != Err(TryRecvError::Disconnected) {
        return Err("no disconnection seen".into());
    }

    // Zero-capacity rendezvous and select! over two channels.
    let (tx_a, rx_a) = bounded::<&str>(0);
    let (tx_b, rx_b) = unbounded::<u32>();
    let h = thread::spawn(move || {
        tx_b.send(1).unwrap();
        tx_a.send("a").unwrap();
        tx_b.send(2).unwrap();
    });
    let mut seen = Vec::new();
    while seen.len() < 3 {
        select! {
            recv(rx_a) -> m => if let Ok(m) = m { seen.push(m.to_string()) },
            recv(rx_b) -> m => if let Ok(m) = m { seen.push(m.to_string()) },
        }
    }
    h.join().unwrap();
    seen.sort();
    if seen != ["1", "2", "a"] {
        return Err(format!("select! saw {seen:?}"));
    }

    // Timeouts and timers.
    let (_tx, rx) = bounded::<()>(1);
    let t0 = Instant::now();
    if rx.recv_timeout(Duration::from_millis(30)) != Err(RecvTimeoutError::Timeout) {
        return Err("recv_timeout did not time out".into());
    }
    let waited = t0.elapsed();
    if waited < Duration::from_millis(30) || waited > Duration::from_secs(2) {
        return Err(format!("recv_timeout(30ms) took {waited:?}"));
    }
    let ticker = tick(Duration::from_millis(10));
    let deadline = after(Duration::from_millis(200));
    let mut ticks = 0;
    loop {
        select! {
            recv(ticker) -> _ => ticks += 1,
            recv(deadline) -> _ => break,
        }
        if ticks == 5 {
            break;
        }
    }
    if ticks != 5 {
        return Err(format!("only {ticks} ticks of 10 ms in 200 ms"));
    }
    Ok(format!(
        "bounded 4x1000 -> 2 consumers, unbounded, rendezvous + select!, recv_timeout {} ms, 5 ticks",
        waited.as_millis()
    ))
}

fn main() {
    match run() {
        Ok(summary) => println!("crossbeam-channel-check: ok ({summary})"),
        Err(why) => {
            println!("crossbeam-channel-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
