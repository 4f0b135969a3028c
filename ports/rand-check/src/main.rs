//! `rand` (seeded through `getrandom` from the OS) on this OS: the thread RNG and the OS RNG
//! give varying values, ranges stay in bounds, a shuffle is a permutation, a seeded RNG is
//! reproducible, and a chi-square test on 60,000 die rolls passes. Prints
//! `rand-check: ok (...)` and exits 0, or what failed and exits 1.

use rand::rngs::{StdRng, SysRng};
use rand::seq::SliceRandom;
use rand::{Rng, RngExt, SeedableRng, TryRng};

fn run() -> Result<String, String> {
    // getrandom directly: bytes, u32, u64 (the last two through sys_secure_rand32/64).
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    getrandom::fill(&mut a).map_err(|e| format!("getrandom::fill: {e}"))?;
    getrandom::fill(&mut b).map_err(|e| format!("getrandom::fill: {e}"))?;
    if a == b || a == [0; 32] {
        return Err("getrandom gave the same bytes twice".into());
    }
    let (x, y) = (
        getrandom::u64().map_err(|e| format!("getrandom::u64: {e}"))?,
        getrandom::u64().map_err(|e| format!("getrandom::u64: {e}"))?,
    );
    let (p, q) = (
        getrandom::u32().map_err(|e| format!("getrandom::u32: {e}"))?,
        getrandom::u32().map_err(|e| format!("getrandom::u32: {e}"))?,
    );
    if x == y && p == q {
        return Err("getrandom::u64/u32 repeat".into());
    }
    let mut sys = SysRng;
    let s1 = sys.try_next_u64().map_err(|e| format!("SysRng: {e}"))?;
    let s2 = sys.try_next_u64().map_err(|e| format!("SysRng: {e}"))?;
    if s1 == s2 {
        return Err("SysRng repeats".into());
    }

    // The thread RNG (ChaCha seeded from the OS).
    let mut rng = rand::rng();
    let v: Vec<u64> = (0..8).map(|_| rng.next_u64()).collect();
    if v.windows(2).all(|w| w[0] == w[1]) {
        return Err("thread rng is constant".into());
    }
    for _ in 0..10_000 {
        let r = rng.random_range(10..20);
        if !(10..20).contains(&r) {
            return Err(format!("random_range gave {r}"));
        }
        let f: f64 = rng.random();
        if !(0.0..1.0).contains(&f) {
            return Err(format!("random::<f64> gave {f}"));
        }
    }
    let mut deck: Vec<u32> = (0..52).collect();
    deck.shuffle(&mut rng);
    let mut sorted = deck.clone();
    sorted.sort();
    if sorted != (0..52).collect::<Vec<_>>() || deck == sorted {
        return Err("shuffle is not a (non-trivial) permutation".into());
    }

    // Seeded: reproducible.
    let mut r1 = StdRng::seed_from_u64(42);
    let mut r2 = StdRng::seed_from_u64(42);
    let s1: Vec<u32> = (0..16).map(|_| r1.random()).collect();
    let s2: Vec<u32> = (0..16).map(|_| r2.random()).collect();
    if s1 != s2 {
        return Err("seeded StdRng is not reproducible".into());
    }

    // Uniformity: chi-square over a fair die, 5 degrees of freedom (p = 0.001 at 20.5).
    let n = 60_000;
    let mut counts = [0u32; 6];
    for _ in 0..n {
        counts[rng.random_range(0..6)] += 1;
    }
    let e = n as f64 / 6.0;
    let chi2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
    if chi2 > 20.5 {
        return Err(format!("die rolls not uniform: {counts:?}, chi2 {chi2:.1}"));
    }
    Ok(format!(
        "getrandom, SysRng, thread rng, shuffle, seeded StdRng, chi2 {chi2:.1} over {n} rolls"
    ))
}

fn main() {
    match run() {
        Ok(summary) => println!("rand-check: ok ({summary})"),
        Err(why) => {
            println!("rand-check: FAILED: {why}");
            std::process::exit(1);
        }
    }
}
