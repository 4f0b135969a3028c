//! `wasmtime_platform`: the platform functions a no_std `wasmtime` (features
//! `custom-virtual-memory`, `custom-native-signals`, `custom-sync-primitives`) links against,
//! implemented over libtheseus. wasmtime declares them `extern "C"` (its
//! `runtime/vm/sys/custom/capi.rs`); this crate defines them with those names:
//!
//! | functions | module | over |
//! |---|---|---|
//! | `wasmtime_mmap_new`, `_mmap_remap`, `_munmap`, `_mprotect`, `_page_size`, `wasmtime_memory_image_*` | `vm` | `libtheseus::mmap` |
//! | `wasmtime_init_traps` | `traps` | `libtheseus::signal` (per-thread fault handlers, alternate stacks) |
//! | `wasmtime_tls_get`, `_tls_set` | `tls` | `libtheseus::tls` keys |
//! | `wasmtime_sync_lock_*`, `_rwlock_*` | `sync` | one atomic word each, yielding while contended |
//!
//! and [`detect_host_feature`] (CPUID) for `Config::detect_host_feature`.
//!
//! Traps: compiled wasm code faults on purpose (an access in a memory's guard region, `ud2`
//! for `unreachable` and failed checks, `idiv` by zero). A thread that runs wasm calls
//! [`GuestThread::enter`] first: it installs a libtheseus fault handler and an alternate
//! stack for that thread. The handler (interrupt context: it only reads) accepts a page fault,
//! invalid opcode, divide error or general-protection fault whose instruction lies in code
//! this crate made executable for wasmtime, and redirects the thread to a function on the
//! alternate stack that calls wasmtime's handler (ip, frame pointer, faulting address).
//! wasmtime checks its trap tables and resumes at the trap's landing pad in its entry
//! trampoline; a fault in that code outside a trap site ends the thread like any fault.
//!
//! Depends only on libtheseus. `unsafe` appears where the C ABI needs it (exported symbols,
//! raw pointers from wasmtime, redirecting a faulting thread), each with a `// SAFETY:` comment.

#![no_std]

extern crate alloc;

mod cpu;
mod sync;
mod tls;
mod traps;
mod vm;

pub use cpu::detect_host_feature;
pub use traps::GuestThread;
pub use vm::is_wasm_code;

mod tests;
