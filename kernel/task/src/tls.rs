//! Thread-local storage: the per-task block behind `#[thread_local]` statics (x86_64 TLS
//! variant II: the FS base points at the end of the block, where a self-pointer lives), and
//! TLS keys with destructors (the POSIX `pthread_key_*` model) stored per task.

use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Mutex;

unsafe extern "C" {
    static __tdata_start: u8;
    static __tdata_end: u8;
    static __tbss_end: u8;
}

/// Alignment of the TLS segment: the linker script aligns it (and its size) to 64.
const TLS_ALIGN: usize = 64;

/// Size of the kernel's own TLS block (a multiple of 64).
fn kernel_block_size() -> usize {
    // Linker-script symbols: only their addresses are used.
    let (start, end) = (
        &raw const __tdata_start as usize,
        &raw const __tbss_end as usize,
    );
    (end - start).next_multiple_of(TLS_ALIGN)
}

/// One task's TLS block: `[kernel template copy + zeroed .tbss | self-pointer]`. (Programs
/// run in user mode with a thread pointer of their own, saved and restored on every entry.)
pub struct TlsBlock {
    ptr: *mut u8,
    layout: Layout,
    thread_pointer: u64,
}

// SAFETY: the block is plain memory owned by one task; moving ownership between CPUs or tasks
// is fine.
unsafe impl Send for TlsBlock {}
// SAFETY: `&TlsBlock` only reads the thread-pointer value; the block's memory is not reachable.
unsafe impl Sync for TlsBlock {}

impl TlsBlock {
    /// Allocates and initializes a block from the kernel's TLS template.
    pub fn new() -> Option<TlsBlock> {
        // Linker-script symbols: only their addresses are used.
        let (start, data_end) = (
            &raw const __tdata_start as usize,
            &raw const __tdata_end as usize,
        );
        let kernel = kernel_block_size();
        let layout = Layout::from_size_align(kernel + 8, TLS_ALIGN).ok()?;
        // SAFETY: non-zero size (the self-pointer word at least).
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: `ptr` has `kernel + 8` bytes: the kernel template (`data_end - start <=
        // kernel` bytes of initialized, read-only kernel image) at the start, the self-pointer
        // at the end.
        unsafe {
            core::ptr::copy_nonoverlapping(start as *const u8, ptr, data_end - start);
            let tp = ptr.add(kernel);
            (tp as *mut u64).write(tp as u64);
        }
        Some(TlsBlock {
            ptr,
            layout,
            thread_pointer: ptr as u64 + kernel as u64,
        })
    }

    /// The value for the FS base register.
    pub fn thread_pointer(&self) -> u64 {
        self.thread_pointer
    }
}

impl Drop for TlsBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

/// Loads a task's thread pointer into FS base.
pub fn activate(thread_pointer: u64) {
    x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::new(thread_pointer));
}

// ---- keys -----------------------------------------------------------------------------------

/// Destructors of the keys created so far (index = key); `0` = none.
static DESTRUCTORS: Mutex<alloc::vec::Vec<usize>> = Mutex::new(alloc::vec::Vec::new());
static KEYS: AtomicUsize = AtomicUsize::new(0);

/// A TLS key: one `u64` slot per task, with an optional destructor run at task exit for
/// non-zero values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TlsKey(pub usize);

impl TlsKey {
    /// Creates a key. `destructor`, if any, receives a task's non-zero value when it exits.
    pub fn new(destructor: Option<fn(u64)>) -> TlsKey {
        let key = KEYS.fetch_add(1, Ordering::SeqCst);
        let mut d = DESTRUCTORS.lock();
        if d.len() <= key {
            d.resize(key + 1, 0);
        }
        d[key] = destructor.map_or(0, |f| f as usize);
        TlsKey(key)
    }

    /// The current task's value (0 if never set).
    pub fn get(self) -> u64 {
        crate::current()
            .keys
            .lock()
            .get(&self.0)
            .copied()
            .unwrap_or(0)
    }

    /// Sets the current task's value.
    pub fn set(self, value: u64) {
        crate::current().keys.lock().insert(self.0, value);
    }
}

/// Runs destructors of the exiting task's keys: like POSIX, repeat while destructors set new
/// non-zero values, at most 4 rounds.
pub(crate) fn run_destructors(keys: &Mutex<BTreeMap<usize, u64>>) {
    for _ in 0..4 {
        let values: alloc::vec::Vec<(usize, u64)> = core::mem::take(&mut *keys.lock())
            .into_iter()
            .filter(|&(_, v)| v != 0)
            .collect();
        if values.is_empty() {
            return;
        }
        for (key, value) in values {
            let d = DESTRUCTORS.lock().get(key).copied().unwrap_or(0);
            if d != 0 {
                // SAFETY: only `TlsKey::new` stores here, always a valid `fn(u64)`.
                let f: fn(u64) = unsafe { core::mem::transmute::<usize, fn(u64)>(d) };
                f(value);
            }
        }
    }
}
