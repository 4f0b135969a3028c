//! `wasmtime_config`: the one wasmtime engine configuration shared by the kernel's runtime
//! (`wasmtime_runner`, which deserializes precompiled modules) and the `wasmtime-compile`
//! program (`wasm/compiler`, which runs in the OS and produces them).
//!
//! `Module::deserialize` accepts an artifact only if the wasmtime version, the target
//! architecture and OS, the Cranelift flags, the tunables and the enabled wasm features are
//! those of the engine loading it. Both sides call [`configure`], so they cannot drift apart;
//! [`FINGERPRINT`] names this configuration in the kernel's compile-cache keys, so changing it
//! (or the version) makes every cached artifact a miss.
//!
//! The choices: the code is compiled for [`TARGET`] (`x86_64-unknown-none`: wasmtime compares
//! only the architecture and the OS with the kernel's own `x86_64-theseus-none`) with
//! Cranelift's baseline x86-64 flags (SSE2, which every x86-64 CPU and QEMU's default model
//! have); SIMD and relaxed SIMD are off, as in the `wasmi` engine, so both engines accept the
//! same modules; memories are not initialized copy-on-write (the platform has no memory
//! images); the code checks the engine's epoch at every function entry and loop back edge
//! (epoch interruption: the kernel advances the epoch, and a run whose deadline passes calls
//! back into the runtime, which ends a killed guest); everything else is wasmtime's default for a 64-bit target with native signals and
//! virtual memory: each linear memory reserves 4 GiB plus guard regions, and out-of-bounds
//! accesses, division by zero and `unreachable` are hardware faults the kernel turns into
//! traps. GC, threads and the component model are not compiled into either side.
//!
//! Depends only on `wasmtime` (no features of its own: each user adds the ones it needs).

#![no_std]
#![forbid(unsafe_code)]

/// The wasmtime release both sides are built from (`=` in both manifests).
pub const WASMTIME_VERSION: &str = "50.0.1";

/// The target triple the compiler produces code for.
pub const TARGET: &str = "x86_64-unknown-none";

/// Names this configuration (and the wasmtime version) in compile-cache keys.
pub const FINGERPRINT: &str = "wasmtime 50.0.1; target x86_64-unknown-none; cranelift baseline x86-64 flags; \
     simd off; relaxed-simd off; memory-init-cow off; signals-based traps; epoch interruption; \
     default tunables; \
     cargo features: no gc, threads or component-model";

/// Applies the shared settings to `config` (the compiler adds `Config::target(TARGET)`).
pub fn configure(config: &mut wasmtime::Config) {
    config
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .memory_init_cow(false)
        .signals_based_traps(true)
        .epoch_interruption(true);
}
