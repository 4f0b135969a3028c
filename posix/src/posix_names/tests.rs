//! In-kernel tests of the POSIX-named calls, each called through its C ABI as a C program
//! would (the exported `extern "C"` functions, raw pointers, errno).

use super::*;
use crate::edge::errno;
use core::arch::asm;
use core::ptr::{null, null_mut};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use core::time::Duration;
use ktest::kernel_test;
use libtheseus::thread::ExitStatus;

const PAGE: usize = 4096;
const ANON: c_int = MAP_PRIVATE | MAP_ANONYMOUS;
const RW: c_int = PROT_READ | PROT_WRITE;

fn map(len: usize, prot: c_int, flags: c_int) -> *mut c_void {
    mmap(null_mut(), len, prot, flags, -1, 0)
}

kernel_test! {
    fn posix_names_are_exported() {
        for name in crate::POSIX_NAMES {
            assert!(libtheseus::lookup_export(name).is_some(), "{name} is not exported");
        }
        assert_eq!(libtheseus::lookup_export("mmap"), Some(mmap as *const () as u64));
        assert_eq!(libtheseus::lookup_export("sigaction"), Some(sigaction as *const () as u64));
    }
}

kernel_test! {
    fn mmap_mprotect_munmap_round_trip_and_errors() {
        let a = map(3 * PAGE - 5, RW, ANON);
        assert_ne!(a, MAP_FAILED);
        let a = a as usize;
        assert!(a.is_multiple_of(PAGE));
        assert_eq!(lmmap::region_at(a).unwrap().len, 3 * PAGE, "length rounded up");
        for i in 0..3 {
            // SAFETY: inside the fresh read-write mapping.
            unsafe { ((a + i * PAGE) as *mut u64).write_volatile(i as u64 + 1) };
        }
        let read = |at: usize| {
            // SAFETY: callers only read readable pages of the mapping.
            unsafe { (at as *const u64).read_volatile() }
        };
        assert_eq!(read(a + 2 * PAGE), 3);

        // mprotect: alignment, bits, zero length, success.
        assert_eq!(mprotect((a + 1) as *mut c_void, PAGE, PROT_READ), -1);
        assert_eq!(errno(), Errno::EINVAL.raw());
        assert_eq!(mprotect(a as *mut c_void, PAGE, 8), -1);
        assert_eq!(errno(), Errno::EINVAL.raw());
        assert_eq!(mprotect(a as *mut c_void, 0, PROT_READ), 0);
        assert_eq!(mprotect((a + PAGE) as *mut c_void, PAGE, PROT_READ), 0);
        assert_eq!(lmmap::region_at(a + PAGE).unwrap().protection, Some(Protection::READ));
        assert_eq!(read(a + PAGE), 2, "mprotect keeps contents");

        // MAP_FIXED: inside the mapping it replaces the page with a zeroed one ...
        let fixed = mmap((a + PAGE) as *mut c_void, PAGE, RW, ANON | MAP_FIXED, -1, 0);
        assert_eq!(fixed as usize, a + PAGE);
        assert_eq!(lmmap::region_at(a + PAGE).unwrap().protection, Some(Protection::READ_WRITE));
        assert_eq!(read(a + PAGE), 0, "a MAP_FIXED page is fresh");
        assert_eq!(read(a), 1, "neighbours are untouched");
        // ... elsewhere (or misaligned) it is refused.
        let outside = mmap(0x4000_0000 as *mut c_void, PAGE, RW, ANON | MAP_FIXED, -1, 0);
        assert_eq!((outside, errno()), (MAP_FAILED, Errno::EINVAL.raw()));
        let over_end = mmap((a + 2 * PAGE) as *mut c_void, 2 * PAGE, RW, ANON | MAP_FIXED, -1, 0);
        assert_eq!((over_end, errno()), (MAP_FAILED, Errno::EINVAL.raw()));
        let misaligned = mmap((a + 8) as *mut c_void, PAGE, RW, ANON | MAP_FIXED, -1, 0);
        assert_eq!((misaligned, errno()), (MAP_FAILED, Errno::EINVAL.raw()));

        // munmap a middle page: mprotect across it is ENOMEM and changes nothing.
        assert_eq!(munmap((a + PAGE) as *mut c_void, PAGE), 0);
        assert_eq!(lmmap::region_at(a + PAGE).unwrap().protection, None);
        assert_eq!(mprotect(a as *mut c_void, 3 * PAGE, PROT_READ), -1);
        assert_eq!(errno(), Errno::ENOMEM.raw());
        assert_eq!(lmmap::region_at(a).unwrap().protection, Some(Protection::READ_WRITE));
        assert_eq!(munmap((a + 1) as *mut c_void, PAGE), -1);
        assert_eq!(errno(), Errno::EINVAL.raw());
        assert_eq!(munmap(a as *mut c_void, 0), -1);
        assert_eq!(errno(), Errno::EINVAL.raw());

        // mmap argument errors.
        assert_eq!((map(0, RW, ANON), errno()), (MAP_FAILED, Errno::EINVAL.raw()));
        assert_eq!((map(PAGE, RW, MAP_PRIVATE), errno()), (MAP_FAILED, 19), "ENODEV");
        assert_eq!((map(PAGE, RW, MAP_ANONYMOUS), errno()), (MAP_FAILED, Errno::EINVAL.raw()));
        assert_eq!((map(PAGE, 0x10, ANON), errno()), (MAP_FAILED, Errno::EINVAL.raw()));
        let odd_offset = mmap(null_mut(), PAGE, RW, ANON, -1, 100);
        assert_eq!((odd_offset, errno()), (MAP_FAILED, Errno::EINVAL.raw()));

        // MAP_SHARED | MAP_POPULATE works too; PROT_NONE maps an inaccessible page.
        let s = map(PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE) as usize;
        assert_ne!(s, MAP_FAILED as usize);
        assert_eq!(read(s), 0);
        let n = map(PAGE, PROT_NONE, ANON) as usize;
        assert_eq!(lmmap::region_at(n).unwrap().protection, Some(Protection::NONE));

        // Unmapping everything frees the regions; unmapping nothing is fine.
        assert_eq!(munmap(a as *mut c_void, 3 * PAGE), 0);
        assert!(lmmap::region_at(a).is_none());
        assert_eq!(munmap(a as *mut c_void, 3 * PAGE), 0);
        assert_eq!(munmap(s as *mut c_void, PAGE), 0);
        assert_eq!(munmap(n as *mut c_void, PAGE), 0);
        assert!(lmmap::region_at(s).is_none() && lmmap::region_at(n).is_none());
    }
}

// ---- signals ----------------------------------------------------------------------------------

static HANDLED: AtomicUsize = AtomicUsize::new(0);
static SEEN_SIGNO: AtomicI32 = AtomicI32::new(0);
static SEEN_CODE: AtomicI32 = AtomicI32::new(0);
static SEEN_ADDR: AtomicUsize = AtomicUsize::new(0);
static SEEN_RIP: AtomicUsize = AtomicUsize::new(0);
static SEEN_UC_STACK: AtomicUsize = AtomicUsize::new(0);
static SEEN_ERRNO_IN_HANDLER: AtomicI32 = AtomicI32::new(0);
static ON_ALT_STACK: AtomicBool = AtomicBool::new(false);
static ALT_BASE: AtomicUsize = AtomicUsize::new(0);
static ALT_SIZE: AtomicUsize = AtomicUsize::new(0);

/// A C-style `SA_SIGINFO` handler that skips the 3-byte faulting load and sets rax to 42.
extern "C" fn skip_load(signo: c_int, info: *mut siginfo_t, uc: *mut c_void) {
    // SAFETY: an `SA_SIGINFO` handler gets a valid siginfo and ucontext for the call.
    let (info, uc) = unsafe { (&*info, &mut *uc.cast::<ucontext_t>()) };
    let marker = 0u8;
    let sp = &marker as *const u8 as usize;
    let base = ALT_BASE.load(Ordering::SeqCst);
    ON_ALT_STACK.store(
        (base..base + ALT_SIZE.load(Ordering::SeqCst)).contains(&sp),
        Ordering::SeqCst,
    );
    SEEN_SIGNO.store(signo, Ordering::SeqCst);
    SEEN_CODE.store(info.si_code, Ordering::SeqCst);
    SEEN_ADDR.store(info.si_addr as usize, Ordering::SeqCst);
    SEEN_RIP.store(uc.uc_mcontext.gregs[REG_RIP] as usize, Ordering::SeqCst);
    SEEN_UC_STACK.store(uc.uc_stack.ss_sp as usize, Ordering::SeqCst);
    // Normal thread code: it may allocate, and calls that check the stack see it in use.
    let v = alloc::vec![signo as u8; 256];
    core::hint::black_box(&v);
    let ss = stack_t {
        ss_sp: null_mut(),
        ss_flags: SS_DISABLE,
        ss_size: 0,
    };
    // SAFETY: a valid `stack_t`.
    let r = unsafe { super::sigaltstack(&ss, null_mut()) };
    SEEN_ERRNO_IN_HANDLER.store(if r == -1 { errno() } else { 0 }, Ordering::SeqCst);
    // Clobber an SSE register the interrupted code relies on: it must be restored.
    // SAFETY: only changes xmm0, declared.
    unsafe { asm!("xorps xmm0, xmm0", out("xmm0") _) };
    uc.uc_mcontext.gregs[REG_RIP] += 3;
    uc.uc_mcontext.gregs[REG_RAX] = 42;
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

const XMM_MAGIC: u64 = 0x1234_5678_9abc_def0;

/// Loads from `p` with `mov rax, [rdi]` (`48 8b 07`); returns (rax, the value of xmm0 kept
/// across the load, the address of the load).
#[inline(never)]
fn faulting_load(p: usize) -> (u64, u64, usize) {
    let (v, x, ip): (u64, u64, usize);
    // SAFETY: not safe: the load faults on purpose; the SIGSEGV handler skips it and sets rax.
    unsafe {
        asm!(
            "movq xmm0, rcx",
            "lea {ip}, [rip + 2f]",
            "2:",
            "mov rax, qword ptr [rdi]",
            "movq rcx, xmm0",
            ip = out(reg) ip,
            in("rdi") p,
            inout("rax") 7u64 => v,
            inout("rcx") XMM_MAGIC => x,
            out("xmm0") _,
        )
    };
    (v, x, ip)
}

fn set_action(signo: c_int, handler: usize, flags: c_int) -> c_int {
    let act = sigaction {
        sa_sigaction: handler,
        sa_flags: flags,
        ..Default::default()
    };
    // SAFETY: a valid `struct sigaction`; the handler has the signature its flags say.
    unsafe { super::sigaction(signo, &act, null_mut()) }
}

kernel_test! {
    fn sigaction_handler_skips_a_faulting_load_on_the_alternate_stack() {
        let h = thread::Builder::new().name("px-segv").spawn(|| {
            HANDLED.store(0, Ordering::SeqCst);
            // An alternate stack in mmap'd memory.
            let alt = map(4 * SIGSTKSZ, RW, ANON);
            assert_ne!(alt, MAP_FAILED);
            ALT_BASE.store(alt as usize, Ordering::SeqCst);
            ALT_SIZE.store(4 * SIGSTKSZ, Ordering::SeqCst);
            let ss = stack_t { ss_sp: alt, ss_flags: 0, ss_size: 4 * SIGSTKSZ };
            let mut old = stack_t { ss_sp: null_mut(), ss_flags: 0, ss_size: 0 };
            // SAFETY: valid `stack_t`s; the memory stays mapped while installed.
            unsafe {
                assert_eq!(super::sigaltstack(&ss, &mut old), 0);
                assert_eq!(old.ss_flags, SS_DISABLE, "none before");
                let small = stack_t { ss_size: MINSIGSTKSZ - 1, ..ss };
                assert_eq!((super::sigaltstack(&small, null_mut()), errno()), (-1, Errno::ENOMEM.raw()));
                let bad = stack_t { ss_flags: 0x40, ..ss };
                assert_eq!((super::sigaltstack(&bad, null_mut()), errno()), (-1, Errno::EINVAL.raw()));
            }
            let flags = SA_SIGINFO | SA_ONSTACK;
            assert_eq!(set_action(SIGSEGV, skip_load as *const () as usize, flags), 0);
            let mut prev = sigaction::default();
            // SAFETY: a valid out-struct.
            assert_eq!(unsafe { super::sigaction(SIGSEGV, null(), &mut prev) }, 0);
            assert_eq!((prev.sa_sigaction, prev.sa_flags), (skip_load as *const () as usize, flags));
            assert_eq!(set_action(0, SIG_IGN, 0), -1);
            assert_eq!(errno(), Errno::EINVAL.raw());
            assert_eq!(set_action(SIGKILL, SIG_IGN, 0), -1);

            // A PROT_NONE page: SEGV_ACCERR.
            let page = map(PAGE, PROT_NONE, ANON) as usize;
            let (v, x, ip) = faulting_load(page + 16);
            assert_eq!(v, 42, "the handler's REG_RAX");
            assert_eq!(x, XMM_MAGIC, "SSE state restored after the handler");
            assert_eq!(HANDLED.load(Ordering::SeqCst), 1);
            assert_eq!(SEEN_SIGNO.load(Ordering::SeqCst), SIGSEGV);
            assert_eq!(SEEN_CODE.load(Ordering::SeqCst), SEGV_ACCERR);
            assert_eq!(SEEN_ADDR.load(Ordering::SeqCst), page + 16, "si_addr");
            assert_eq!(SEEN_RIP.load(Ordering::SeqCst), ip, "REG_RIP is the faulting load");
            assert_eq!(SEEN_UC_STACK.load(Ordering::SeqCst), alt as usize);
            assert!(ON_ALT_STACK.load(Ordering::SeqCst), "the handler ran on the alternate stack");
            assert_eq!(SEEN_ERRNO_IN_HANDLER.load(Ordering::SeqCst), Errno::EPERM.raw());

            // An unmapped page: SEGV_MAPERR; the thread is not on the alt stack any more.
            assert_eq!(munmap(page as *mut c_void, PAGE), 0);
            let (v, _, _) = faulting_load(page);
            assert_eq!((v, HANDLED.load(Ordering::SeqCst)), (42, 2));
            assert_eq!(SEEN_CODE.load(Ordering::SeqCst), SEGV_MAPERR);
            // SAFETY: a valid out-struct.
            assert_eq!(unsafe { super::sigaltstack(null(), &mut old) }, 0);
            assert_eq!((old.ss_sp, old.ss_flags, old.ss_size), (alt, 0, 4 * SIGSTKSZ));

            // Without SA_ONSTACK the handler runs on the thread's own signal stack.
            assert_eq!(set_action(SIGSEGV, skip_load as *const () as usize, SA_SIGINFO), 0);
            let (v, x, _) = faulting_load(page);
            assert_eq!((v, x, HANDLED.load(Ordering::SeqCst)), (42, XMM_MAGIC, 3));
            assert!(!ON_ALT_STACK.load(Ordering::SeqCst));

            // SA_RESETHAND: handled once, then the default action ends the thread.
            let once = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
            assert_eq!(set_action(SIGSEGV, skip_load as *const () as usize, once), 0);
            assert_eq!(faulting_load(page).0, 42);
            assert_eq!(HANDLED.load(Ordering::SeqCst), 4);
            faulting_load(page);
            0
        }).unwrap();
        match h.join() {
            ExitStatus::Killed(reason) => assert!(reason.contains("page fault"), "{reason}"),
            other => panic!("expected the SIG_DFL fault to end the thread: {other:?}"),
        }
        assert_eq!(HANDLED.load(Ordering::SeqCst), 4);
        assert_eq!(munmap(ALT_BASE.load(Ordering::SeqCst) as *mut c_void, 4 * SIGSTKSZ), 0);
    }
}

// ---- pthread keys -------------------------------------------------------------------------------

static DTOR_SUM: AtomicUsize = AtomicUsize::new(0);
static DTOR_CALLS: AtomicUsize = AtomicUsize::new(0);
static AGAIN_KEY: AtomicU32 = AtomicU32::new(0);
static AGAIN_CALLS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn add_value(p: *mut c_void) {
    DTOR_SUM.fetch_add(p as usize, Ordering::SeqCst);
    DTOR_CALLS.fetch_add(1, Ordering::SeqCst);
}

/// Stores a new value once: the destructor runs a second round.
extern "C" fn store_again(p: *mut c_void) {
    AGAIN_CALLS.fetch_add(1, Ordering::SeqCst);
    if p as usize == 1 {
        let key = AGAIN_KEY.load(Ordering::SeqCst);
        assert!(
            pthread_getspecific(key).is_null(),
            "null while its destructor runs"
        );
        assert_eq!(pthread_setspecific(key, val(2)), 0);
    }
}

/// A non-pointer value for a key (C code stores small integers in keys too).
fn val(n: usize) -> *const c_void {
    core::ptr::without_provenance(n)
}

fn new_key(d: Option<Destructor>) -> pthread_key_t {
    let mut k: pthread_key_t = pthread_key_t::MAX;
    // SAFETY: a valid out-variable.
    assert_eq!(unsafe { pthread_key_create(&mut k, d) }, 0);
    k
}

kernel_test! {
    fn pthread_keys_are_per_thread_with_destructors() {
        let k = new_key(Some(add_value));
        let (sum0, calls0) = (DTOR_SUM.load(Ordering::SeqCst), DTOR_CALLS.load(Ordering::SeqCst));
        assert!(pthread_getspecific(k).is_null());
        assert_eq!(pthread_setspecific(k, val(100)), 0);
        assert_eq!(pthread_getspecific(k) as usize, 100);
        let handles: Vec<_> = (1..=3usize)
            .map(|i| {
                thread::spawn(move || {
                    assert!(pthread_getspecific(k).is_null(), "new threads start null");
                    assert_eq!(pthread_setspecific(k, val(i * 10)), 0);
                    thread::sleep(Duration::from_millis(2));
                    assert_eq!(pthread_getspecific(k) as usize, i * 10);
                    0
                })
                .unwrap()
            })
            .collect();
        for h in handles {
            assert_eq!(h.join(), ExitStatus::Exited(0));
        }
        assert_eq!(DTOR_SUM.load(Ordering::SeqCst) - sum0, 60, "each thread's value destroyed");
        assert_eq!(DTOR_CALLS.load(Ordering::SeqCst) - calls0, 3);
        assert_eq!(pthread_getspecific(k) as usize, 100, "the main thread's value is its own");

        // A destructor that stores a new value runs again (PTHREAD_DESTRUCTOR_ITERATIONS).
        let k2 = new_key(Some(store_again));
        AGAIN_KEY.store(k2, Ordering::SeqCst);
        let before = AGAIN_CALLS.load(Ordering::SeqCst);
        let h = thread::spawn(move || {
            assert_eq!(pthread_setspecific(k2, val(1)), 0);
            0
        })
        .unwrap();
        assert_eq!(h.join(), ExitStatus::Exited(0));
        assert_eq!(AGAIN_CALLS.load(Ordering::SeqCst) - before, 2);

        // Delete: values are dropped without destructors; a new key starts null.
        assert_eq!(pthread_key_delete(k), 0);
        assert_eq!(pthread_key_delete(k), Errno::EINVAL.raw());
        assert!(pthread_getspecific(k).is_null());
        assert_eq!(pthread_setspecific(k, val(5)), Errno::EINVAL.raw());
        let k3 = new_key(None);
        assert!(pthread_getspecific(k3).is_null(), "a reused key number starts null");
        assert_eq!(DTOR_CALLS.load(Ordering::SeqCst) - calls0, 3, "delete calls no destructor");
        assert_eq!(pthread_setspecific(k3, val(7)), 0);
        assert_eq!(pthread_setspecific(k3, null()), 0);
        assert!(pthread_getspecific(k3).is_null());
        // SAFETY: null is refused, not written.
        assert_eq!(unsafe { pthread_key_create(null_mut(), None) }, Errno::EINVAL.raw());
        assert_eq!(pthread_key_delete(k2), 0);
        assert_eq!(pthread_key_delete(k3), 0);
    }
}

// ---- clock_gettime, getrandom -------------------------------------------------------------------

fn now(clock: clockid_t) -> timespec {
    let mut t = timespec {
        tv_sec: -1,
        tv_nsec: -1,
    };
    // SAFETY: a valid out-struct.
    assert_eq!(unsafe { clock_gettime(clock, &mut t) }, 0, "clock {clock}");
    assert!((0..1_000_000_000).contains(&t.tv_nsec));
    t
}

fn ns(t: timespec) -> i64 {
    t.tv_sec * 1_000_000_000 + t.tv_nsec
}

kernel_test! {
    fn clock_gettime_reads_linux_numbered_clocks() {
        let a = now(CLOCK_MONOTONIC);
        let b = now(CLOCK_MONOTONIC);
        assert!(ns(b) >= ns(a));
        assert!(ns(b) - (time::monotonic_ns() as i64) <= 0);
        let r = now(CLOCK_REALTIME);
        assert!(r.tv_sec > 1_577_836_800, "realtime after 2020: {r:?}");
        assert!((ns(r) - time::realtime_ns() as i64).abs() < 1_000_000_000);
        assert!(ns(now(CLOCK_BOOTTIME)) >= ns(b));
        let mut t = timespec::default();
        // SAFETY: valid out-struct, or null (refused).
        unsafe {
            assert_eq!(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut t), -1);
            assert_eq!(errno(), Errno::EINVAL.raw());
            assert_eq!(clock_gettime(99, &mut t), -1);
            assert_eq!(errno(), Errno::EINVAL.raw());
            assert_eq!(clock_gettime(CLOCK_REALTIME, null_mut()), -1);
            assert_eq!(errno(), Errno::EFAULT.raw());
        }
        // The thread CPU clock advances with work and never outruns the wall clock.
        let h = thread::spawn(|| {
            let (c0, w0) = (ns(now(CLOCK_THREAD_CPUTIME_ID)), ns(now(CLOCK_MONOTONIC)));
            while ns(now(CLOCK_MONOTONIC)) - w0 < 30_000_000 {
                core::hint::spin_loop();
            }
            thread::sleep(Duration::from_millis(1)); // switched out: the time is accounted
            let (c1, w1) = (ns(now(CLOCK_THREAD_CPUTIME_ID)), ns(now(CLOCK_MONOTONIC)));
            assert!(c1 > c0, "cpu time advanced: {c0} -> {c1}");
            assert!(c1 - c0 <= w1 - w0, "cpu {} > wall {}", c1 - c0, w1 - w0);
            0
        })
        .unwrap();
        assert_eq!(h.join(), ExitStatus::Exited(0));
    }
}

kernel_test! {
    fn getrandom_fills_buffers() {
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        // SAFETY: live buffers of the lengths given, or null (refused).
        unsafe {
            assert_eq!(getrandom(a.as_mut_ptr().cast(), 64, 0), 64);
            assert_eq!(getrandom(b.as_mut_ptr().cast(), 64, GRND_NONBLOCK), 64);
            assert_ne!(a, b);
            assert!(a.iter().any(|&x| x != 0));
            assert_eq!(getrandom(a.as_mut_ptr().cast(), 64, 0x100), -1);
            assert_eq!(errno(), Errno::EINVAL.raw());
            assert_eq!(getrandom(a.as_mut_ptr().cast(), 8, GRND_RANDOM | GRND_INSECURE), -1);
            assert_eq!(errno(), Errno::EINVAL.raw());
            assert_eq!(getrandom(null_mut(), 8, 0), -1);
            assert_eq!(errno(), Errno::EFAULT.raw());
            assert_eq!(getrandom(null_mut(), 0, GRND_RANDOM), 0);
        }
    }
}
