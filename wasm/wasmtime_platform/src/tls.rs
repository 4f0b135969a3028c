//! wasmtime's thread-local slots (`wasmtime_tls_get`/`_set`): one libtheseus TLS key per slot
//! (wasmtime uses slot 0, and slot 1 with the component model's async support).

use libtheseus::sync::Once;
use libtheseus::tls::Key;

const SLOTS: usize = 2;

static KEYS: Once<[Key; SLOTS]> = Once::new();

fn key(slot: usize) -> Option<Key> {
    KEYS.call_once(|| [Key::new(None), Key::new(None)])
        .get(slot)
        .copied()
}

/// `wasmtime_tls_get`: the running thread's value of `slot` (NULL until set).
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_tls_get(slot: usize) -> *mut u8 {
    key(slot).map_or(core::ptr::null_mut(), |k| k.get() as usize as *mut u8)
}

/// `wasmtime_tls_set`.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn wasmtime_tls_set(slot: usize, ptr: *mut u8) {
    if let Some(k) = key(slot) {
        k.set(ptr as usize as u64);
    }
}
