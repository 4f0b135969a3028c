//! `parking_lot` on this OS: `Mutex`, `RwLock` (with upgradable reads), `Condvar` with and
//! without timeouts, `Once` and `ReentrantMutex`, contended by several threads. Prints
//! `parking-lot-check: ok (...)` and exits 0, or what failed and exits 1.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, Once, ReentrantMutex, RwLock, RwLockUpgradableReadGuard};

fn run() -> Result<String, String> {
    // Contended mutex.
    let counter = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            thread::spawn(move || {
                for _ in 0..5_000 {
                    *c.lock() += 1;
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    if *counter.lock() != 20_000 {
        return Err(format!("mutex counter {}", *counter.lock()));
    }
    if counter.try_lock().is_none() {
        return Err("try_lock on a free mutex failed".into());
    }
    let g = counter.lock();
    let c2 = counter.clone();
    let tried = thread::spawn(move || c2.try_lock_for(Duration::from_millis(20)).is_some())
        .join()
        .unwrap();
    drop(g);
    if tried {
        return Err("try_lock_for got a held mutex".into());
    }

    // RwLock: readers together, writers alone, an upgradable read.
    let table = Arc::new(RwLock::new(Vec::<u32>::new()));
    let writers: Vec<_> = (0..3)
        .map(|i| {
            let t = table.clone();
            thread::spawn(move || {
                for j in 0..100 {
                    t.write().push(i * 1000 + j);
                    let _len = t.read().len();
                }
            })
        })
        .collect();
    writers.into_iter().for_each(|h| h.join().unwrap());
    {
        let up = table.upgradable_read();
        if up.len() != 300 {
            return Err(format!("rwlock holds {} values", up.len()));
        }
        let mut w = RwLockUpgradableReadGuard::upgrade(up);
        w.sort();
    }
    let r1 = table.read();
    let r2 = table.read();
    if r1[0] != 0 || r2[299] != 2099 {
        return Err("rwlock contents".into());
    }
    drop((r1, r2));

    // Condvar: a handoff, and a timed wait that times out.
    let pair = Arc::new((Mutex::new(None::<u32>), Condvar::new()));
    let p2 = pair.clone();
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        *p2.0.lock() = Some(7);
        p2.1.notify_all();
    });
    let mut slot = pair.0.lock();
    while slot.is_none() {
        pair.1.wait(&mut slot);
    }
    let got = slot.take();
    let t0 = Instant::now();
    let timed_out = pair
        .1
        .wait_for(&mut slot, Duration::from_millis(30))
        .timed_out();
    let waited = t0.elapsed();
    drop(slot);
    producer.join().unwrap();
    if got != Some(7) {
        return Err(format!("condvar handoff got {got:?}"));
    }
    if !timed_out || waited < Duration::from_millis(30) || waited > Duration::from_secs(2) {
        return Err(format!(
            "wait_for(30ms): timed_out {timed_out}, waited {waited:?}"
        ));
    }

    // Once and ReentrantMutex.
    static INIT: Once = Once::new();
    let runs = Arc::new(Mutex::new(0));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let r = runs.clone();
            thread::spawn(move || INIT.call_once(|| *r.lock() += 1))
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    if *runs.lock() != 1 {
        return Err("Once ran more than once".into());
    }
    let re = ReentrantMutex::new(5);
    let a = re.lock();
    let b = re.lock();
    if *a + *b != 10 {
        return Err("reentrant lock".into());
    }
    Ok(format!(
        "Mutex by 4 threads, RwLock + upgrade, Condvar (timed wait {} ms), Once, ReentrantMutex",
        waited.as_millis()
    ))
}

fn main() {
    match run() {
        Ok(summary) => println!("parking-lot-check: ok ({summary})"),
        Err(why) => {
            println!("parking-lot-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
