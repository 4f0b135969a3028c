//! Random bytes for seeding hash maps, `getrandom` and friends.
//!
//! Sources, best first ([`best_source`], which [`fill`] uses, so also Linux `getrandom` and
//! WASI `random_get`):
//! - [`Source::Virtio`]: the virtio entropy device (`virtio_rng`), bytes from the host kernel's
//!   random source through QEMU; cryptographic quality, and the only real entropy a guest on
//!   a CPU model without RDRAND (`-cpu qemu64`) has.
//! - [`Source::Rdseed`] / [`Source::Rdrand`]: the CPU's entropy source and its DRBG, when
//!   CPUID reports them.
//! - [`Source::ChaCha`]: a ChaCha20 generator (`rand_chacha`) seeded once from TSC jitter (the
//!   timing noise of repeated reads and of the timer interrupt) and the RTC wall-clock time.
//!   Fine for hash seeds; its seed has only tens of bits of real entropy, so it is not fit for
//!   keys. It is used only when no other source exists (or the hardware one fails).

use crate::{Errno, Result};
use core::arch::x86_64::__cpuid;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use spin::{Mutex, Once};

/// Where random bytes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The virtio entropy device (host randomness through QEMU).
    Virtio,
    /// The RDSEED instruction (the CPU's entropy source).
    Rdseed,
    /// The RDRAND instruction (the CPU's DRBG, reseeded from its entropy source).
    Rdrand,
    /// The ChaCha20 generator seeded from TSC jitter and the RTC.
    ChaCha,
}

#[derive(Clone, Copy)]
struct Features {
    rdrand: bool,
    rdseed: bool,
}

static FEATURES: Once<Features> = Once::new();
static CHACHA: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

fn features() -> Features {
    *FEATURES.call_once(|| {
        // CPUID is always available in long mode; leaf 7 exists if leaf 0 says so.
        let max = __cpuid(0).eax;
        let rdrand = __cpuid(1).ecx & (1 << 30) != 0;
        let rdseed = max >= 7 && __cpuid(7).ebx & (1 << 18) != 0;
        Features { rdrand, rdseed }
    })
}

/// Whether `source` is usable on this CPU.
pub fn is_available(source: Source) -> bool {
    match source {
        Source::Virtio => virtio_rng::is_present(),
        Source::Rdseed => features().rdseed,
        Source::Rdrand => features().rdrand,
        Source::ChaCha => true,
    }
}

/// The source [`fill`] uses.
pub fn best_source() -> Source {
    if is_available(Source::Virtio) {
        Source::Virtio
    } else if is_available(Source::Rdseed) {
        Source::Rdseed
    } else if is_available(Source::Rdrand) {
        Source::Rdrand
    } else {
        Source::ChaCha
    }
}

/// Fills `buf` with random bytes from the best source available. If that source fails (a
/// device error; RDSEED may run dry briefly), the next one is tried, down to the ChaCha
/// generator.
pub fn fill(buf: &mut [u8]) {
    for source in [Source::Virtio, Source::Rdseed, Source::Rdrand] {
        if is_available(source) && fill_from(source, buf).is_ok() {
            return;
        }
    }
    fill_chacha(buf);
}

/// A random `u64` from [`fill`].
pub fn u64() -> u64 {
    let mut b = [0u8; 8];
    fill(&mut b);
    u64::from_le_bytes(b)
}

/// Fills `buf` from `source` only: `ENOSYS` if the machine lacks it, `EIO` if it failed to
/// deliver after retries.
pub fn fill_from(source: Source, buf: &mut [u8]) -> Result<()> {
    if !is_available(source) {
        return Err(Errno::ENOSYS);
    }
    let step: fn() -> Option<u64> = match source {
        Source::Virtio => {
            return virtio_rng::fill(buf).map_err(|e| match e {
                virtio_rng::Error::NoDevice => Errno::ENOSYS,
                virtio_rng::Error::Device => Errno::EIO,
            });
        }
        Source::ChaCha => {
            fill_chacha(buf);
            return Ok(());
        }
        Source::Rdseed => || {
            // SAFETY: CPUID reported RDSEED (`is_available` above), and `step` runs only here.
            unsafe { rdseed64() }
        },
        Source::Rdrand => || {
            // SAFETY: CPUID reported RDRAND (`is_available` above), and `step` runs only here.
            unsafe { rdrand64() }
        },
    };
    for chunk in buf.chunks_mut(8) {
        // Intel recommends 10 retries for RDRAND; RDSEED may need more (it can run dry).
        let v = (0..100).find_map(|_| step()).ok_or(Errno::EIO)?;
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
    Ok(())
}

#[target_feature(enable = "rdrand")]
fn rdrand64() -> Option<u64> {
    let mut v = 0;
    (core::arch::x86_64::_rdrand64_step(&mut v) == 1).then_some(v)
}

#[target_feature(enable = "rdseed")]
fn rdseed64() -> Option<u64> {
    let mut v = 0;
    (core::arch::x86_64::_rdseed64_step(&mut v) == 1).then_some(v)
}

fn fill_chacha(buf: &mut [u8]) {
    let mut rng = CHACHA.lock();
    rng.get_or_insert_with(|| ChaCha20Rng::from_seed(jitter_seed()))
        .fill_bytes(buf);
}

fn rdtsc() -> u64 {
    // SAFETY: rdtsc only reads the time-stamp counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// A 256-bit seed: the RTC time, then TSC deltas of a busy loop and of waiting for timer
/// ticks, mixed with a 64-bit mixing function (splitmix64) into four words.
fn jitter_seed() -> [u8; 32] {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let mut state = [
        mix(time::realtime_ns()),
        mix(rdtsc()),
        mix(time::ticks() ^ 0x5eed),
        mix(time::monotonic_ns().rotate_left(17)),
    ];
    for round in 0..256u64 {
        let t0 = rdtsc();
        // Work whose duration varies with caches, interrupts and the memory system.
        let mut x = round;
        for i in 0..(t0 & 63) {
            x = core::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
        let dt = rdtsc().wrapping_sub(t0);
        let i = (round % 4) as usize;
        state[i] = mix(state[i] ^ dt ^ x.rotate_left((round % 64) as u32));
    }
    // Timer-interrupt phase: TSC ticks until the next two PIT ticks.
    for _ in 0..2 {
        let tick = time::ticks();
        let t0 = rdtsc();
        let mut spins = 0u64;
        while time::ticks() == tick && spins < 50_000_000 {
            core::hint::spin_loop();
            spins += 1;
        }
        state[0] = mix(state[0] ^ rdtsc().wrapping_sub(t0));
        state[1] = mix(state[1] ^ spins);
    }
    let mut seed = [0u8; 32];
    for (chunk, word) in seed.chunks_mut(8).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    seed
}
