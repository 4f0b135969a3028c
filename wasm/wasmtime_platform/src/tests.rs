//! In-kernel tests of the platform functions through their C-ABI entry points, as wasmtime
//! calls them. (Traps are checked end to end: `wasm --engine wasmtime` on trapping modules.)

use crate::sync::*;
use crate::tls::{wasmtime_tls_get, wasmtime_tls_set};
use crate::vm::*;
use crate::{detect_host_feature, is_wasm_code};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use ktest::kernel_test;
use libtheseus::mmap::{self, Protection};
use libtheseus::thread::{self, ExitStatus};

const READ: u32 = 1;
const WRITE: u32 = 2;
const EXEC: u32 = 4;

fn new_mapping(size: usize, prot: u32) -> usize {
    let mut ptr = core::ptr::null_mut();
    assert_eq!(wasmtime_mmap_new(size, prot, &mut ptr), 0);
    assert!(!ptr.is_null());
    ptr as usize
}

kernel_test! {
    fn wasmtime_mprotect_exec_marks_wasm_code_until_unmapped() {
        let page = wasmtime_page_size();
        assert_eq!(page, 4096);
        let base = new_mapping(4 * page, READ | WRITE);
        assert!(!is_wasm_code(base + page));
        assert_eq!(wasmtime_mprotect((base + page) as *mut u8, 2 * page, READ | EXEC), 0);
        assert!(is_wasm_code(base + page));
        assert!(is_wasm_code(base + 3 * page - 1));
        assert!(!is_wasm_code(base + 3 * page));
        assert!(!is_wasm_code(base));
        assert_eq!(
            mmap::region_at(base + page).and_then(|r| r.protection),
            Some(Protection::RX)
        );
        // Back to read-write (wasmtime unpublishing code): no longer code.
        assert_eq!(wasmtime_mprotect((base + page) as *mut u8, 2 * page, READ | WRITE), 0);
        assert!(!is_wasm_code(base + page));
        assert_eq!(wasmtime_mprotect((base + page) as *mut u8, page, READ | EXEC), 0);
        assert!(is_wasm_code(base + page));
        assert_eq!(wasmtime_munmap(base as *mut u8, 4 * page), 0);
        assert!(!is_wasm_code(base + page));
        assert!(mmap::region_at(base).is_none());
    }
}

kernel_test! {
    fn wasmtime_mmap_remap_gives_zeroed_pages_with_the_new_protection() {
        let page = wasmtime_page_size();
        let base = new_mapping(2 * page, READ | WRITE);
        let p = base as *mut u64;
        // SAFETY: the first page is mapped read-write (committed on this first touch).
        unsafe { p.write_volatile(0x1234_5678) };
        // SAFETY: as above.
        assert_eq!(unsafe { p.read_volatile() }, 0x1234_5678);
        assert_eq!(wasmtime_mmap_remap(base as *mut u8, page, READ | WRITE), 0);
        // SAFETY: remapped read-write: fresh zeroed memory.
        assert_eq!(unsafe { p.read_volatile() }, 0);
        assert_eq!(wasmtime_mmap_remap(base as *mut u8, page, 0), 0);
        assert_eq!(
            mmap::region_at(base).and_then(|r| r.protection),
            Some(Protection::NONE)
        );
        // A reservation (no access) made by wasmtime for a linear memory: 4 GiB costs nothing.
        let big = new_mapping(4 << 30, 0);
        assert_eq!(wasmtime_mprotect(big as *mut u8, page, READ | WRITE), 0);
        assert_eq!(wasmtime_munmap(big as *mut u8, 4 << 30), 0);
        assert_eq!(wasmtime_munmap(base as *mut u8, 2 * page), 0);
        // Bad input is an error number, not a panic.
        assert_ne!(wasmtime_mprotect(3 as *mut u8, page, READ), 0);
    }
}

kernel_test! {
    fn wasmtime_memory_images_are_declined_without_error() {
        let mut image = core::ptr::null_mut();
        let data = [0u8; 16];
        assert_eq!(wasmtime_memory_image_new(data.as_ptr(), 4096, &mut image), 0);
        assert!(image.is_null());
    }
}

kernel_test! {
    fn wasmtime_tls_slots_are_per_thread() {
        let mine = 0x1000 as *mut u8;
        wasmtime_tls_set(0, mine);
        assert_eq!(wasmtime_tls_get(0), mine);
        assert!(wasmtime_tls_get(1).is_null());
        let other = thread::spawn(|| {
            let before = wasmtime_tls_get(0) as isize;
            wasmtime_tls_set(0, 0x2000 as *mut u8);
            before
        })
        .unwrap();
        assert!(matches!(other.join(), ExitStatus::Exited(0)));
        assert_eq!(wasmtime_tls_get(0), mine);
        wasmtime_tls_set(0, core::ptr::null_mut());
        // A slot wasmtime never uses: ignored, reads as NULL.
        wasmtime_tls_set(7, mine);
        assert!(wasmtime_tls_get(7).is_null());
    }
}

kernel_test! {
    fn wasmtime_locks_exclude_under_contention() {
        static LOCK: AtomicUsize = AtomicUsize::new(0);
        static RW: AtomicUsize = AtomicUsize::new(0);
        // One counter per lock, each updated non-atomically with a yield in the middle: a
        // lost update shows up if two threads are inside the same lock at once.
        static UNDER_LOCK: AtomicUsize = AtomicUsize::new(0);
        static UNDER_RW: AtomicUsize = AtomicUsize::new(0);
        let lock = LOCK.as_ptr();
        let rw = RW.as_ptr();
        let threads: Vec<_> = (0..4)
            .map(|i| {
                thread::spawn(move || {
                    for n in 0..2000usize {
                        let with_mutex = (i + n) % 2 == 0;
                        let (counter, acquire, release): (&AtomicUsize, extern "C" fn(*mut usize), extern "C" fn(*mut usize)) =
                            if with_mutex {
                                (&UNDER_LOCK, wasmtime_sync_lock_acquire, wasmtime_sync_lock_release)
                            } else {
                                (&UNDER_RW, wasmtime_sync_rwlock_write, wasmtime_sync_rwlock_write_release)
                            };
                        let word = if with_mutex { LOCK.as_ptr() } else { RW.as_ptr() };
                        acquire(word);
                        let v = counter.load(Ordering::Relaxed);
                        if n % 50 == 0 {
                            thread::yield_now();
                        }
                        counter.store(v + 1, Ordering::Relaxed);
                        release(word);
                    }
                    0
                })
                .unwrap()
            })
            .collect();
        for t in threads {
            assert!(matches!(t.join(), ExitStatus::Exited(0)));
        }
        assert_eq!(UNDER_LOCK.load(Ordering::SeqCst), 4000);
        assert_eq!(UNDER_RW.load(Ordering::SeqCst), 4000);
        // Readers share, a writer waits for them.
        wasmtime_sync_rwlock_read(rw);
        wasmtime_sync_rwlock_read(rw);
        assert_eq!(RW.load(Ordering::SeqCst), 2);
        let writer_done = Arc::new(AtomicUsize::new(0));
        let done = writer_done.clone();
        let writer = thread::spawn(move || {
            wasmtime_sync_rwlock_write(RW.as_ptr());
            done.store(1, Ordering::SeqCst);
            wasmtime_sync_rwlock_write_release(RW.as_ptr());
            0
        })
        .unwrap();
        thread::sleep(core::time::Duration::from_millis(20));
        assert_eq!(writer_done.load(Ordering::SeqCst), 0);
        wasmtime_sync_rwlock_read_release(rw);
        wasmtime_sync_rwlock_read_release(rw);
        assert!(matches!(writer.join(), ExitStatus::Exited(0)));
        assert_eq!(writer_done.load(Ordering::SeqCst), 1);
        assert_eq!(LOCK.load(Ordering::SeqCst), 0);
        assert_eq!(RW.load(Ordering::SeqCst), 0);
        wasmtime_sync_lock_free(lock);
        wasmtime_sync_rwlock_free(rw);
    }
}

kernel_test! {
    fn wasmtime_host_features_come_from_cpuid() {
        // Every x86-64 CPU the kernel boots on (QEMU's default model included) has SSE3.
        assert_eq!(detect_host_feature("sse3"), Some(true));
        assert_eq!(detect_host_feature("avx2"), Some(false));
        assert_eq!(detect_host_feature("no-such-feature"), None);
    }
}
