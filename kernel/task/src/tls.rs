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

/// A loaded program's static TLS template (its `PT_TLS` segment): placed right below the
/// kernel's own block in every thread that runs the program, at a fixed offset from the thread
/// pointer that the loader writes into the program's TLS relocations.
#[derive(Debug)]
pub struct ProgramTls {
    /// The initialized part (`.tdata`); the rest up to `mem_size` starts zeroed.
    pub image: alloc::vec::Vec<u8>,
    pub mem_size: usize,
    pub align: usize,
}

impl ProgramTls {
    fn block_size(&self) -> usize {
        self.mem_size.next_multiple_of(self.align.max(TLS_ALIGN))
    }

    /// Offset of the program's TLS block from the thread pointer (negative: variant II).
    pub fn thread_pointer_offset(&self) -> i64 {
        -((kernel_block_size() + self.block_size()) as i64)
    }
}

/// Size of the kernel's own TLS block (a multiple of 64).
fn kernel_block_size() -> usize {
    // Linker-script symbols: only their addresses are used.
    let (start, end) = (
        &raw const __tdata_start as usize,
        &raw const __tbss_end as usize,
    );
    (end - start).next_multiple_of(TLS_ALIGN)
}

/// One task's TLS block: `[program block | kernel template copy + zeroed .tbss | self-pointer]`.
pub struct TlsBlock {
    ptr: *mut u8,
    layout: Layout,
    thread_pointer: u64,
}

// SAFETY: the block is plain memory owned by one task; moving ownership between CPUs or tasks
// is fine.
unsafe impl Send for TlsBlock {}
unsafe impl Sync for TlsBlock {}

impl TlsBlock {
    /// Allocates and initializes a block from the kernel's TLS template and, for a task that
    /// runs a loaded program, the program's.
    pub fn new(program: Option<&ProgramTls>) -> Option<TlsBlock> {
        // Linker-script symbols: only their addresses are used.
        let (start, data_end) = (
            &raw const __tdata_start as usize,
            &raw const __tdata_end as usize,
        );
        let kernel = kernel_block_size();
        let (prog, align) =
            program.map_or((0, TLS_ALIGN), |p| (p.block_size(), p.align.max(TLS_ALIGN)));
        let layout = Layout::from_size_align(prog + kernel + 8, align).ok()?;
        // SAFETY: non-zero size (the self-pointer word at least).
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: `ptr` has `prog + kernel + 8` bytes: the program image (at most its block
        // size) goes at the start, the kernel template (`data_end - start <= kernel` bytes of
        // initialized, read-only kernel image) after it, the self-pointer at the end.
        unsafe {
            if let Some(p) = program {
                let n = p.image.len().min(p.mem_size);
                core::ptr::copy_nonoverlapping(p.image.as_ptr(), ptr, n);
            }
            core::ptr::copy_nonoverlapping(start as *const u8, ptr.add(prog), data_end - start);
            let tp = ptr.add(prog + kernel);
            (tp as *mut u64).write(tp as u64);
        }
        Some(TlsBlock {
            ptr,
            layout,
            thread_pointer: ptr as u64 + (prog + kernel) as u64,
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
