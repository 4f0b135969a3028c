//! `rayon` on this OS: parallel sum, map/filter/collect, sort and `join` on a pool of 4 worker
//! threads (and on the global pool), each compared with the sequential result. Prints
//! `rayon-check: ok (...)` and exits 0, or what failed and exits 1.

use std::collections::HashSet;
use std::sync::Mutex;

use rayon::prelude::*;

fn fib(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    if n < 15 {
        return fib(n - 1) + fib(n - 2);
    }
    let (a, b) = rayon::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn lcg(n: usize) -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x >> 16
        })
        .collect()
}

fn run() -> Result<String, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .thread_name(|i| format!("rayon-check-{i}"))
        .build()
        .map_err(|e| format!("ThreadPoolBuilder: {e}"))?;
    let threads_seen = Mutex::new(HashSet::new());
    let (sum, squares, sorted, fib25) = pool.install(|| {
        let sum: u64 = (1..=2_000_000u64).into_par_iter().sum();
        let squares: Vec<u64> = (0..100_000u64)
            .into_par_iter()
            .filter(|x| x % 3 == 0)
            .map(|x| {
                threads_seen
                    .lock()
                    .unwrap()
                    .insert(rayon::current_thread_index());
                x * x
            })
            .collect();
        let mut data = lcg(200_000);
        data.par_sort_unstable();
        (sum, squares, data, fib(25))
    });
    if sum != 2_000_000 * 2_000_001 / 2 {
        return Err(format!("parallel sum {sum}"));
    }
    let seq_squares: Vec<u64> = (0..100_000u64)
        .filter(|x| x % 3 == 0)
        .map(|x| x * x)
        .collect();
    if squares != seq_squares {
        return Err("parallel filter/map/collect differs from sequential".into());
    }
    let mut seq_sorted = lcg(200_000);
    seq_sorted.sort_unstable();
    if sorted != seq_sorted {
        return Err("par_sort_unstable differs from sort_unstable".into());
    }
    if fib25 != 75_025 {
        return Err(format!("join-based fib(25) = {fib25}"));
    }
    if pool.current_num_threads() != 4 {
        return Err(format!("pool has {} threads", pool.current_num_threads()));
    }
    let workers = threads_seen.lock().unwrap().len();

    // The global pool (sized from available_parallelism).
    let words = ["alpha", "beta", "gamma", "delta", "epsilon"];
    let total: usize = words.par_iter().map(|w| w.len()).sum();
    if total != 26 {
        return Err(format!("global pool sum {total}"));
    }
    let mut strings: Vec<String> = lcg(10_000).iter().map(|x| x.to_string()).collect();
    let mut seq = strings.clone();
    strings.par_sort();
    seq.sort();
    if strings != seq {
        return Err("global pool par_sort differs".into());
    }
    Ok(format!(
        "sum, filter/map, sort of 200000, join fib(25) on 4 threads ({workers} did map work); global pool of {}",
        rayon::current_num_threads()
    ))
}

fn main() {
    match run() {
        Ok(summary) => println!("rayon-check: ok ({summary})"),
        Err(why) => {
            println!("rayon-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
