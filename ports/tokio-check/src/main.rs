//! `tokio` on this OS, without the network (features rt, rt-multi-thread, time, sync, macros):
//! a current-thread runtime and a multi-thread runtime each run timers (`sleep`, `interval`,
//! `timeout`), channels (mpsc, oneshot, broadcast, watch), spawned tasks, `join!`/`select!` and
//! `spawn_blocking`. Prints `tokio-check: ok (...)` and exits 0, or what failed and exits 1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore, broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep, timeout};

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.into()) }
}

/// The same workload on either runtime.
async fn workload(flavor: &str) -> Result<String, String> {
    // sleep
    let t0 = Instant::now();
    sleep(Duration::from_millis(30)).await;
    let slept = t0.elapsed();
    ensure(
        slept >= Duration::from_millis(30) && slept < Duration::from_secs(2),
        format!("{flavor}: sleep(30ms) took {slept:?}"),
    )?;

    // interval: 5 ticks of 10 ms take >= 40 ms (the first is immediate)
    let mut iv = interval(Duration::from_millis(10));
    iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let t0 = Instant::now();
    for _ in 0..5 {
        iv.tick().await;
    }
    let ticked = t0.elapsed();
    ensure(
        ticked >= Duration::from_millis(40) && ticked < Duration::from_secs(2),
        format!("{flavor}: 5 ticks took {ticked:?}"),
    )?;

    // timeout, both ways
    ensure(
        timeout(Duration::from_millis(10), sleep(Duration::from_secs(10)))
            .await
            .is_err(),
        format!("{flavor}: timeout did not fire"),
    )?;
    ensure(
        timeout(Duration::from_secs(5), async { 7 }).await == Ok(7),
        format!("{flavor}: timeout of a ready future"),
    )?;

    // mpsc: 4 producer tasks, bounded channel
    let (tx, mut rx) = mpsc::channel::<u64>(4);
    for p in 0..4u64 {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..250 {
                tx.send(p * 1000 + i).await.unwrap();
                if i % 50 == 0 {
                    sleep(Duration::from_millis(1)).await;
                }
            }
        });
    }
    drop(tx);
    let (mut n, mut sum) = (0u64, 0u64);
    while let Some(v) = rx.recv().await {
        n += 1;
        sum += v;
    }
    let want: u64 = (0..4u64)
        .map(|p| (0..250).map(|i| p * 1000 + i).sum::<u64>())
        .sum();
    ensure(
        n == 1000 && sum == want,
        format!("{flavor}: mpsc got {n} values, sum {sum}"),
    )?;

    // oneshot from a task that sleeps first, and a dropped sender
    let (otx, orx) = oneshot::channel();
    tokio::spawn(async move {
        sleep(Duration::from_millis(5)).await;
        let _ = otx.send("pong");
    });
    ensure(orx.await == Ok("pong"), format!("{flavor}: oneshot"))?;
    let (otx, orx) = oneshot::channel::<u8>();
    drop(otx);
    ensure(
        orx.await.is_err(),
        format!("{flavor}: oneshot with dropped sender"),
    )?;

    // broadcast and watch
    let (btx, mut b1) = broadcast::channel(16);
    let mut b2 = btx.subscribe();
    btx.send(1).unwrap();
    btx.send(2).unwrap();
    ensure(
        (b1.recv().await, b1.recv().await, b2.recv().await) == (Ok(1), Ok(2), Ok(1)),
        format!("{flavor}: broadcast"),
    )?;
    let (wtx, mut wrx) = watch::channel(0);
    let watcher = tokio::spawn(async move {
        while *wrx.borrow_and_update() < 3 {
            wrx.changed().await.unwrap();
        }
        *wrx.borrow()
    });
    for v in 1..=3 {
        sleep(Duration::from_millis(2)).await;
        wtx.send(v).unwrap();
    }
    ensure(watcher.await.ok() == Some(3), format!("{flavor}: watch"))?;

    // many tasks with a Mutex and a Semaphore; join! and select!
    let counter = Arc::new(Mutex::new(0u32));
    let sem = Arc::new(Semaphore::new(3));
    let peak = Arc::new(AtomicUsize::new(0));
    let active = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (counter, sem, peak, active) =
                (counter.clone(), sem.clone(), peak.clone(), active.clone());
            tokio::spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                *counter.lock().await += 1;
                active.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| format!("{flavor}: task: {e}"))?;
    }
    ensure(*counter.lock().await == 50, format!("{flavor}: counter"))?;
    ensure(
        peak.load(Ordering::SeqCst) <= 3,
        format!("{flavor}: semaphore let {} in", peak.load(Ordering::SeqCst)),
    )?;
    let (a, b) = tokio::join!(
        async {
            sleep(Duration::from_millis(5)).await;
            1
        },
        async { 2 }
    );
    ensure((a, b) == (1, 2), format!("{flavor}: join!"))?;
    let first = tokio::select! {
        _ = sleep(Duration::from_secs(10)) => "slow",
        _ = sleep(Duration::from_millis(5)) => "fast",
    };
    ensure(first == "fast", format!("{flavor}: select!"))?;
    let blocking = tokio::task::spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(5));
        (1..=100u32).sum::<u32>()
    })
    .await
    .map_err(|e| format!("{flavor}: spawn_blocking: {e}"))?;
    ensure(blocking == 5050, format!("{flavor}: spawn_blocking result"))?;
    Ok(format!(
        "{flavor}: sleep {} ms, 5 ticks {} ms",
        slept.as_millis(),
        ticked.as_millis()
    ))
}

fn run() -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("current-thread runtime: {e}"))?;
    let a = rt.block_on(workload("current-thread"))?;
    drop(rt);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("multi-thread runtime: {e}"))?;
    let b = rt.block_on(async {
        let threads = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let hs: Vec<_> = (0..16)
            .map(|_| {
                let threads = threads.clone();
                tokio::spawn(async move {
                    sleep(Duration::from_millis(2)).await;
                    threads.lock().unwrap().insert(std::thread::current().id());
                })
            })
            .collect();
        for h in hs {
            h.await.map_err(|e| e.to_string())?;
        }
        let summary = tokio::spawn(workload("multi-thread"))
            .await
            .map_err(|e| e.to_string())??;
        Ok::<_, String>(format!(
            "{summary}, tasks ran on {} worker(s)",
            threads.lock().unwrap().len()
        ))
    })?;
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(format!("{a}; {b}"))
}

#[tokio::main(flavor = "current_thread")]
async fn macro_main() -> u32 {
    sleep(Duration::from_millis(1)).await;
    42
}

fn main() {
    let result = run().and_then(|s| {
        ensure(macro_main() == 42, "#[tokio::main]")?;
        Ok(s)
    });
    match result {
        Ok(summary) => println!("tokio-check: ok ({summary}; #[tokio::main])"),
        Err(why) => {
            println!("tokio-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
