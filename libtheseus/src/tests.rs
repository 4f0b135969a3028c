//! In-kernel tests: every module through its public API, with real assertions.

use crate::backtrace::{self, Backtrace};
use crate::fs::{self, File, OpenOptions, SeekFrom};
use crate::mmap::{self, Commit, Protection, Region, page_size};
use crate::signal::{self, FaultKind, Register};
use crate::thread::{self, ExitStatus};
use crate::time::{self, Clock, Timespec};
use crate::{Errno, env, futex, net, random, tls};
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;
use ktest::kernel_test;

// ---- mmap + signal: the fault on an unmapped middle page, recovered on the alt stack ---------

static FAULT_ADDR: AtomicUsize = AtomicUsize::new(0);
static FAULT_IP: AtomicUsize = AtomicUsize::new(0);
static RECOVER_MAGIC: AtomicUsize = AtomicUsize::new(0);
static RECOVERED_ON_ALT_STACK: AtomicBool = AtomicBool::new(false);

/// Where the fault handler sends the faulting thread: runs on the alternate stack.
extern "C" fn recover(addr: usize, magic: usize, ip: usize) -> ! {
    FAULT_ADDR.store(addr, Ordering::SeqCst);
    RECOVER_MAGIC.store(magic, Ordering::SeqCst);
    FAULT_IP.store(ip, Ordering::SeqCst);
    let marker = 0u8;
    let sp = &marker as *const u8 as usize;
    let on_alt = signal::alt_stack().is_some_and(|s| (s.base..s.top).contains(&sp));
    RECOVERED_ON_ALT_STACK.store(on_alt, Ordering::SeqCst);
    crate::exit(77)
}

kernel_test! {
    fn mmap_unmapped_middle_page_fault_is_recovered_on_the_alt_stack() {
        let p = page_size();
        let region = Region::new(4 * p, Protection::RW, Commit::OnDemand).unwrap();
        assert_eq!(region.len(), 4 * p);
        for i in 0..4 {
            region.write_at(i * p + 8, &[i as u8 + 1; 16]).unwrap();
        }
        // Protect and unmap parts of the middle.
        region.protect(p, 2 * p, Protection::R).unwrap();
        assert_eq!(region.protection(p), Some(Protection::R));
        assert_eq!(region.write_at(p, b"x"), Err(Errno::EFAULT));
        let mut buf = [0u8; 16];
        region.read_at(2 * p + 8, &mut buf).unwrap();
        assert_eq!(buf, [3; 16], "protecting keeps contents");
        mmap::unmap_at(region.start() + p, p).unwrap();
        assert_eq!(region.protection(p), None);
        assert_eq!(region.read_at(p, &mut buf), Err(Errno::EFAULT));
        let info = mmap::region_at(region.start() + p + 5).unwrap();
        assert_eq!((info.start, info.len, info.protection), (region.start(), 4 * p, None));
        assert_eq!(
            mmap::region_at(region.start()).unwrap().protection,
            Some(Protection::RW)
        );
        assert_eq!(
            mmap::protect_at(region.start(), 2 * p, Protection::RW),
            Err(Errno::ENOMEM),
            "mprotect over an unmapped page fails"
        );
        assert_eq!(mmap::unmap_at(region.start() + 1, p), Err(Errno::EINVAL));

        // Touching the unmapped page: the handler redirects to `recover` on the alt stack.
        let target = region.start() + p + 123;
        let h = thread::Builder::new()
            .name("lt-segv")
            .spawn(move || {
                let stack = signal::new_alt_stack(16 * 1024).unwrap();
                assert!(signal::set_alt_stack(Some(stack)).unwrap().is_none());
                signal::set_handler(Some(Arc::new(|info, ctx| {
                    if info.kind != FaultKind::Segv {
                        return false;
                    }
                    let Some(stack) = signal::alt_stack() else {
                        return false;
                    };
                    let ip = ctx.ip();
                    // SAFETY: `recover` is an `extern "C"` function of three integer arguments
                    // that never returns; the alternate stack is committed, read-write and
                    // used by nothing else; the abandoned frames own nothing shared.
                    unsafe {
                        ctx.redirect_to(
                            recover as *const () as usize,
                            stack.top,
                            [info.addr, 0x5eed, ip],
                        )
                    };
                    true
                })));
                assert!(signal::has_handler());
                // SAFETY: not safe: reads an unmapped page on purpose; the handler above
                // sends the thread to `recover`.
                let v = unsafe { (target as *const u8).read_volatile() };
                v as isize
            })
            .unwrap();
        assert_eq!(h.join(), ExitStatus::Exited(77));
        assert_eq!(FAULT_ADDR.load(Ordering::SeqCst), target);
        assert_eq!(RECOVER_MAGIC.load(Ordering::SeqCst), 0x5eed);
        assert!(RECOVERED_ON_ALT_STACK.load(Ordering::SeqCst), "recovery ran on the alt stack");
        let (name, _) = backtrace::symbolize(FAULT_IP.load(Ordering::SeqCst)).unwrap();
        assert!(
            name.to_string().contains("libtheseus::tests"),
            "fault ip in {name}"
        );
        assert!(!signal::has_handler(), "handlers are per thread");

        // The rest of the region is intact.
        region.read_at(8, &mut buf).unwrap();
        assert_eq!(buf, [1; 16]);
        region.read_at(3 * p + 8, &mut buf).unwrap();
        assert_eq!(buf, [4; 16]);
        let start = region.start();
        drop(region);
        assert!(mmap::region_at(start).is_none(), "dropping unmaps");
        // The alt stack of the ended thread is freed by the next installation.
        assert!(signal::set_alt_stack(None).unwrap().is_none());
    }
}

kernel_test! {
    fn mmap_raw_regions_by_address() {
        let p = page_size();
        let a = mmap::map(3 * p - 100, Protection::RW, Commit::Now).unwrap();
        assert_eq!(mmap::region_at(a).unwrap().len, 3 * p, "length rounded up");
        let b = mmap::map(p, Protection::NONE, Commit::OnDemand).unwrap();
        assert_eq!(mmap::region_at(b).unwrap().protection, Some(Protection::NONE));
        mmap::protect_at(b, p, Protection::RW).unwrap();
        assert_eq!(mmap::region_at(b).unwrap().protection, Some(Protection::RW));
        // SAFETY: both pages are mapped read-write (checked above).
        unsafe {
            (a as *mut u64).write_volatile(11);
            (b as *mut u64).write_volatile(22);
            assert_eq!((a as *const u64).read_volatile(), 11);
            assert_eq!((b as *const u64).read_volatile(), 22);
        }
        // Unmapping a region piece by piece frees it at the last piece.
        mmap::unmap_at(a + p, 2 * p).unwrap();
        assert!(mmap::region_at(a).is_some());
        mmap::unmap_at(a, p).unwrap();
        assert!(mmap::region_at(a).is_none());
        mmap::unmap_at(b, p).unwrap();
        assert!(mmap::region_at(b).is_none());
        assert_eq!(mmap::map(0, Protection::R, Commit::Now), Err(Errno::EINVAL));
        // A reserved region made usable in parts.
        let r = Region::reserve(8 * p).unwrap();
        r.protect(2 * p, p, Protection::RW).unwrap();
        r.write_at(2 * p, b"ok").unwrap();
        assert_eq!(r.write_at(3 * p, b"no"), Err(Errno::EFAULT));
        let raw = r.into_raw();
        mmap::unmap_at(raw, 8 * p).unwrap();
        assert!(mmap::region_at(raw).is_none());
    }
}

// ---- signal: context access ---------------------------------------------------------------

static ILL_FRAMES: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

#[inline(never)]
fn faulting_function() -> u64 {
    let v: u64;
    // SAFETY: `ud2` faults on purpose; the handler resumes after it with rax set.
    unsafe { core::arch::asm!("mov rax, 1", "ud2", out("rax") v) };
    v
}

kernel_test! {
    fn signal_handler_reads_and_changes_the_context() {
        let h = thread::spawn(|| {
            signal::set_handler(Some(Arc::new(|info, ctx| {
                if info.kind != FaultKind::Ill || info.ip != ctx.ip() {
                    return false;
                }
                assert_eq!(ctx.get(Register::Rax), 1);
                assert_eq!(ctx.get(Register::Rsp), ctx.sp() as u64);
                let mut frames = [0usize; 8];
                let n = backtrace::capture_context_into(ctx, &mut frames);
                if n >= 2 {
                    ILL_FRAMES[0].store(frames[0], Ordering::SeqCst);
                    ILL_FRAMES[1].store(frames[1], Ordering::SeqCst);
                }
                // SAFETY: skips the 2-byte `ud2`; the asm block declares rax as its output.
                unsafe {
                    ctx.set_ip(ctx.ip() + 2);
                    ctx.set(Register::Rax, 42);
                }
                true
            })));
            let v = faulting_function();
            // A fault the handler declines still ends the thread.
            let p = core::hint::black_box(0usize) as *const u8;
            // SAFETY: not safe: reads the null page on purpose.
            let w = unsafe { p.read_volatile() };
            v as isize + w as isize
        })
        .unwrap();
        match h.join() {
            ExitStatus::Killed(reason) => assert!(reason.contains("page fault"), "{reason}"),
            other => panic!("expected the declined fault to kill the thread: {other:?}"),
        }
        let (f0, _) = backtrace::symbolize(ILL_FRAMES[0].load(Ordering::SeqCst)).unwrap();
        assert!(f0.to_string().contains("faulting_function"), "{f0}");
        let (f1, _) = backtrace::symbolize(ILL_FRAMES[1].load(Ordering::SeqCst) - 1).unwrap();
        assert!(
            f1.to_string().contains("signal_handler_reads_and_changes_the_context"),
            "{f1}"
        );

        let ok = thread::spawn(|| {
            signal::set_handler(Some(Arc::new(|_, ctx| {
                // SAFETY: as above.
                unsafe {
                    ctx.set_ip(ctx.ip() + 2);
                    ctx.set(Register::Rax, 7);
                }
                true
            })));
            faulting_function() as isize
        })
        .unwrap();
        assert_eq!(ok.join(), ExitStatus::Exited(7));
    }
}

// ---- tls --------------------------------------------------------------------------------------

static DTOR_SUM: AtomicU64 = AtomicU64::new(0);
static DTOR_RUNS: AtomicU64 = AtomicU64::new(0);

fn add_to_sum(v: u64) {
    DTOR_SUM.fetch_add(v, Ordering::SeqCst);
    DTOR_RUNS.fetch_add(1, Ordering::SeqCst);
}

kernel_test! {
    fn tls_keys_are_per_thread_with_destructors() {
        let key = tls::Key::new(Some(add_to_sum));
        let (sum0, runs0) = (DTOR_SUM.load(Ordering::SeqCst), DTOR_RUNS.load(Ordering::SeqCst));
        // Every thread waits here until all three have set their values, so their TLS blocks
        // are alive at once (an ended thread's block may be reused by the next one).
        let arrived = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (1..=3u64)
            .map(|i| {
                let arrived = arrived.clone();
                thread::spawn(move || {
                    assert_eq!(key.get(), 0, "fresh threads see 0");
                    key.set(i * 10);
                    arrived.fetch_add(1, Ordering::SeqCst);
                    while arrived.load(Ordering::SeqCst) < 3 {
                        thread::yield_now();
                    }
                    assert_eq!(key.get(), i * 10, "each thread its own value");
                    let tp = tls::thread_pointer();
                    // SAFETY: the thread pointer points at the self-pointer word of this
                    // thread's live TLS block.
                    let self_ptr = unsafe { (tp as *const usize).read() };
                    assert_eq!(self_ptr, tp);
                    tp as isize
                })
                .unwrap()
            })
            .collect();
        let tps: Vec<ExitStatus> = handles.into_iter().map(|h| h.join()).collect();
        assert!(tps.iter().all(|tp| matches!(tp, ExitStatus::Exited(_))), "{tps:?}");
        assert_ne!(tps[0], tps[1], "thread pointers differ");
        assert_ne!(tps[0], tps[2], "thread pointers differ");
        assert_ne!(tps[1], tps[2], "thread pointers differ");
        assert_eq!(key.get(), 0, "the test thread's value is untouched");
        assert_eq!(DTOR_SUM.load(Ordering::SeqCst) - sum0, 60);
        assert_eq!(DTOR_RUNS.load(Ordering::SeqCst) - runs0, 3);
        // A zero value runs no destructor.
        thread::spawn(move || {
            key.set(0);
            0
        })
        .unwrap()
        .join();
        assert_eq!(DTOR_RUNS.load(Ordering::SeqCst) - runs0, 3);
    }
}

// ---- backtrace ----------------------------------------------------------------------------------

#[inline(never)]
fn backtrace_probe() -> Backtrace {
    let bt = backtrace::capture();
    // Keeps the call from becoming a tail jump (which would leave no frame for this function).
    core::hint::black_box(&bt);
    bt
}

kernel_test! {
    fn backtrace_names_the_test_function() {
        let bt = backtrace_probe();
        let first = bt.frames()[0].symbol.unwrap().0;
        assert!(first.to_string().contains("backtrace_probe"), "first frame {first}");
        assert!(bt.mentions("backtrace_names_the_test_function"), "{bt}");
        let text = alloc::format!("{bt}");
        assert!(text.contains("libtheseus::tests::backtrace_probe+0x"), "{text}");
    }
}

// ---- fs ----------------------------------------------------------------------------------------

kernel_test! {
    fn fs_round_trip_and_errno() {
        let dir = "/libtheseus-fs-test";
        fs::mkdir(dir, 0o755).unwrap();
        assert_eq!(fs::mkdir(dir, 0o755), Err(Errno::EEXIST));
        let a = alloc::format!("{dir}/a.txt");
        fs::write_file(&a, b"hello world").unwrap();
        {
            let f = File::open_with(&a, &OpenOptions::new().read(true).write(true)).unwrap();
            assert_eq!(f.seek(SeekFrom::Start(6)).unwrap(), 6);
            let mut buf = [0u8; 5];
            assert_eq!(f.read(&mut buf).unwrap(), 5);
            assert_eq!(&buf, b"world");
            assert_eq!(f.read(&mut buf).unwrap(), 0, "end of file");
            let m = f.metadata().unwrap();
            assert_eq!((m.file_type, m.size), (fs::FileType::File, 11));
            f.seek(SeekFrom::End(0)).unwrap();
            f.write_all(b"!").unwrap();
            f.set_len(5).unwrap();
        }
        assert_eq!(fs::read_file(&a).unwrap(), b"hello");
        assert_eq!(fs::stat(&a).unwrap().size, 5);
        let b = alloc::format!("{dir}/b.txt");
        fs::rename(&a, &b).unwrap();
        let names: Vec<String> = fs::read_dir(dir).unwrap().into_iter().map(|e| String::from(&*e.name)).collect();
        assert_eq!(names, ["b.txt"]);
        // Relative paths against the cwd.
        let old_cwd = fs::getcwd();
        fs::chdir(dir).unwrap();
        assert_eq!(fs::getcwd(), dir);
        fs::truncate("b.txt", 2).unwrap();
        assert_eq!(fs::read_file("b.txt").unwrap(), b"he");
        fs::chdir(&old_cwd).unwrap();
        fs::unlink(&b).unwrap();
        // errno of a missing file.
        let e = File::open(&b).unwrap_err();
        assert_eq!(e, Errno::ENOENT);
        assert_eq!(e.raw(), 2);
        assert_eq!(e.name(), Some("ENOENT"));
        assert_eq!(alloc::format!("{e}"), "No such file or directory");
        assert_eq!(fs::stat(&b).unwrap_err(), Errno::ENOENT);
        assert_eq!(fs::read(999, &mut [0u8; 1]), Err(Errno::EBADF));
        fs::rmdir(dir).unwrap();
        // Pipes and stdio.
        let (r, w) = fs::pipe().unwrap();
        assert_eq!(fs::write(w, b"pipe").unwrap(), 4);
        let mut buf = [0u8; 8];
        assert_eq!(fs::read(r, &mut buf).unwrap(), 4);
        assert_eq!(fs::seek(r, SeekFrom::Start(0)), Err(Errno::ESPIPE));
        fs::close(r).unwrap();
        fs::close(w).unwrap();
        assert_eq!(fs::stdout().write(b"").unwrap(), 0);
        assert_eq!(fs::fstat(fs::STDERR).unwrap().file_type, fs::FileType::CharDevice);
    }
}

kernel_test! {
    fn fs_positional_append_and_times() {
        let dir = "/libtheseus-fs-pos";
        fs::mkdir(dir, 0o755).unwrap();
        let a = alloc::format!("{dir}/a.txt");
        fs::write_file(&a, b"0123456789").unwrap();
        let f = File::open_with(&a, &OpenOptions::new().read(true).write(true)).unwrap();
        f.seek(SeekFrom::Start(2)).unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(fs::pread(f.fd(), &mut buf, 5).unwrap(), 3);
        assert_eq!(&buf, b"567");
        assert_eq!(fs::pwrite(f.fd(), b"ab", 8).unwrap(), 2);
        assert_eq!(f.seek(SeekFrom::Current(0)).unwrap(), 2, "offset unchanged");
        fs::set_append(f.fd(), true).unwrap();
        f.write_all(b"Z").unwrap();
        fs::set_append(f.fd(), false).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(b"X").unwrap();
        assert_eq!(fs::read_file(&a).unwrap(), b"X1234567abZ");
        fs::set_times_fd(f.fd(), Some(1_000), None).unwrap();
        let m = fs::stat(&a).unwrap();
        assert_eq!(m.accessed_ns, 1_000);
        let l = alloc::format!("{dir}/l");
        fs::symlink("a.txt", &l).unwrap();
        fs::set_times(&l, true, None, Some(2_000)).unwrap();
        assert_eq!(fs::stat(&a).unwrap().modified_ns, 2_000);
        fs::set_times(&l, false, None, Some(3_000)).unwrap();
        assert_eq!(fs::lstat(&l).unwrap().modified_ns, 3_000);
        assert_eq!(fs::stat(&a).unwrap().modified_ns, 2_000);
        drop(f);
        let (r, w) = fs::pipe().unwrap();
        assert_eq!(fs::pread(r, &mut buf, 0), Err(Errno::ESPIPE));
        assert_eq!(fs::set_times_fd(w, None, Some(1)), Err(Errno::ENOTSUP));
        fs::close(r).unwrap();
        fs::close(w).unwrap();
        fs::unlink(&l).unwrap();
        fs::unlink(&a).unwrap();
        fs::rmdir(dir).unwrap();
    }
}

// ---- thread, futex, exit -------------------------------------------------------------------------

#[inline(never)]
fn exit_from_deep_inside(v: isize) -> ! {
    crate::exit(v)
}

kernel_test! {
    fn thread_spawn_join_futex_and_exit() {
        let h = thread::Builder::new()
            .name("lt-named")
            .stack_size(32 * 1024)
            .spawn(|| (thread::current_name() == "lt-named") as isize)
            .unwrap();
        assert_eq!(h.join(), ExitStatus::Exited(1));

        let me = thread::current_id();
        let other = thread::spawn(move || (thread::current_id() != me) as isize).unwrap();
        assert_ne!(other.id(), me);
        assert_eq!(other.join(), ExitStatus::Exited(1));

        // futex: a waiter woken by the main thread.
        let word = Arc::new(AtomicU32::new(0));
        let w2 = word.clone();
        let waiter = thread::spawn(move || {
            while w2.load(Ordering::SeqCst) == 0 {
                // No timeout: a pending deadline would keep this thread's task alive (and
                // count as heap in use) in the scheduler's sleeper list after it ended.
                match futex::wait(&w2, 0, None) {
                    Ok(()) | Err(Errno::EAGAIN) => {}
                    Err(e) => return -(e.raw() as isize),
                }
            }
            w2.load(Ordering::SeqCst) as isize
        })
        .unwrap();
        thread::sleep(Duration::from_millis(20));
        word.store(5, Ordering::SeqCst);
        futex::wake(&word, 1);
        assert_eq!(waiter.join(), ExitStatus::Exited(5));
        assert_eq!(futex::wait(&word, 0, None), Err(Errno::EAGAIN));
        let t0 = time::monotonic_ns();
        assert_eq!(
            futex::wait(&word, 5, Some(Duration::from_millis(10))),
            Err(Errno::ETIMEDOUT)
        );
        assert!(time::monotonic_ns() - t0 >= 10_000_000);

        // exit with a value from a nested call.
        let e = thread::spawn(|| exit_from_deep_inside(-3)).unwrap();
        assert_eq!(e.join(), ExitStatus::Exited(-3));
        let t0 = time::monotonic_ns();
        thread::sleep(Duration::from_millis(15));
        assert!(time::monotonic_ns() - t0 >= 15_000_000);
        let finished = thread::spawn(|| 0).unwrap();
        while !finished.is_finished() {
            thread::yield_now();
        }
        assert_eq!(finished.join(), ExitStatus::Exited(0));
    }
}

// ---- time, random ---------------------------------------------------------------------------------

kernel_test! {
    fn clocks_advance_and_realtime_is_after_2024() {
        let a = time::monotonic_ns();
        thread::sleep(Duration::from_millis(2));
        let b = time::monotonic_ns();
        assert!(b > a, "monotonic advances");
        // 2024-01-01T00:00:00Z
        assert!(time::now(Clock::Realtime).sec > 1_704_067_200);
        assert!(time::realtime_ns() > 1_704_067_200 * 1_000_000_000);
        assert!(time::now(Clock::Monotonic) >= Timespec::from_ns(b));
        let res = time::resolution(Clock::Monotonic);
        assert!(res.sec == 0 && res.nsec >= 1 && res.nsec < 1000, "{res:?}");
        let t = Timespec::from_ns(3_000_000_007);
        assert_eq!((t.sec, t.nsec), (3, 7));
        assert_eq!(t.as_ns(), 3_000_000_007);
    }
}

kernel_test! {
    fn random_bytes_differ_and_are_not_zero() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        random::fill(&mut a);
        random::fill(&mut b);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0) && b.iter().any(|&x| x != 0));
        // Every source that the CPU has works; the fallback always does.
        let sources = [
            random::Source::Virtio,
            random::Source::Rdseed,
            random::Source::Rdrand,
            random::Source::ChaCha,
        ];
        for source in sources {
            let (mut c, mut d) = ([0u8; 13], [0u8; 13]);
            match random::fill_from(source, &mut c) {
                Ok(()) => {
                    random::fill_from(source, &mut d).unwrap();
                    assert_ne!(c, d, "{source:?}");
                }
                Err(e) => {
                    assert_eq!(e, Errno::ENOSYS);
                    assert!(!random::is_available(source));
                }
            }
        }
        assert_ne!(random::u64(), random::u64());
        // `cargo xtask` runs QEMU with virtio-rng: getrandom and random_get use it.
        assert_eq!(random::best_source(), random::Source::Virtio);
    }
}

// ---- env ------------------------------------------------------------------------------------------

kernel_test! {
    fn env_is_shared_with_threads_and_copied_to_children() {
        env::set_var("LT_TEST", "parent").unwrap();
        assert_eq!(env::var("LT_TEST").as_deref(), Some("parent"));
        let h = thread::spawn(|| {
            let seen = env::var("LT_TEST").as_deref() == Some("parent");
            env::set_var("LT_FROM_THREAD", "1").unwrap();
            seen as isize
        })
        .unwrap();
        assert_eq!(h.join(), ExitStatus::Exited(1), "a thread sees the variable");
        assert_eq!(env::var("LT_FROM_THREAD").as_deref(), Some("1"), "threads share it");
        assert!(env::vars().iter().any(|(k, v)| k == "LT_TEST" && v == "parent"));

        // A child process gets a copy: its changes stay its own.
        let ctx = vfs::current_context();
        let console: Arc<dyn vfs::File> = Arc::new(vfs::NullDevice::new());
        let child_ctx = ctx.new_child(console.clone(), console.clone(), console);
        let child = vfs::spawn_with_context(task::Builder::new("lt-child"), child_ctx, || {
            let ok = env::var("LT_TEST").as_deref() == Some("parent") && env::args().is_empty();
            env::set_var("LT_TEST", "child").unwrap();
            ok as isize
        })
        .unwrap();
        assert_eq!(child.join(), task::ExitValue::Exited(1));
        assert_eq!(env::var("LT_TEST").as_deref(), Some("parent"));

        assert_eq!(env::set_var("A=B", "x"), Err(Errno::EINVAL));
        assert_eq!(env::set_var("", "x"), Err(Errno::EINVAL));
        assert_eq!(env::remove_var("LT_TEST").unwrap().as_deref(), Some("parent"));
        assert_eq!(env::remove_var("LT_FROM_THREAD").unwrap().as_deref(), Some("1"));
        assert_eq!(env::var("LT_TEST"), None);

        let old_args = env::args();
        env::set_args(["prog", "--flag"]);
        assert_eq!(env::args(), ["prog", "--flag"]);
        env::set_args(old_args);
    }
}

// ---- net ------------------------------------------------------------------------------------------

fn v4(port: u16) -> net::SocketAddr {
    net::SocketAddr::V4 {
        ip: [127, 0, 0, 1],
        port,
    }
}

fn port_of(fd: fs::Fd) -> u16 {
    match net::local_addr(fd).unwrap() {
        net::SocketAddr::V4 { port, .. } | net::SocketAddr::V6 { port, .. } => port,
        net::SocketAddr::Unix(_) => 0,
    }
}

fn tcp_listener() -> fs::Fd {
    let l = net::socket(net::Family::Inet, net::SocketType::Stream, false).unwrap();
    net::bind(l, &v4(0)).unwrap();
    net::listen(l, 4).unwrap();
    l
}

kernel_test! {
    fn net_tcp_connect_transfer_and_close() {
        use net::{Family::Inet, RecvFlags, SocketType::Stream};
        let l = tcp_listener();
        let port = port_of(l);
        assert!(net::EPHEMERAL_PORTS.contains(&port));
        let c = net::socket(Inet, Stream, false).unwrap();
        net::connect(c, &v4(port)).unwrap();
        assert!(fs::poll_readable(l).unwrap(), "a queued connection makes the listener readable");
        let (s, peer) = net::accept(l, false).unwrap();
        assert_eq!(peer, net::local_addr(c).unwrap());
        assert_eq!(net::peer_addr(c).unwrap(), v4(port));
        assert_eq!(fs::fstat(s).unwrap().file_type, fs::FileType::Socket);

        // A reader blocked in another thread is woken by the data.
        let reader = thread::spawn(move || {
            let mut b = [0u8; 16];
            let r = net::recv(s, &mut b, RecvFlags::default()).unwrap();
            (r.len == 5 && &b[..5] == b"hello") as isize
        })
        .unwrap();
        thread::sleep(Duration::from_millis(20));
        assert_eq!(net::send(c, b"hello", None, false), Ok(5));
        assert_eq!(reader.join(), ExitStatus::Exited(1));

        // Through the VFS too; then the peer's close is end of file, and writing to it is
        // accepted once (TCP) and then EPIPE.
        assert_eq!(fs::write(s, b"back"), Ok(4));
        let mut b = [0u8; 8];
        assert_eq!(fs::read(c, &mut b), Ok(4));
        fs::close(c).unwrap();
        assert_eq!(fs::read(s, &mut b), Ok(0));
        assert_eq!(net::send(s, b"late", None, false), Ok(4));
        assert_eq!(net::send(s, b"late", None, false), Err(Errno::EPIPE));
        fs::close(s).unwrap();
        fs::close(l).unwrap();
        let again = net::socket(Inet, Stream, false).unwrap();
        assert_eq!(net::connect(again, &v4(port)), Err(Errno::ECONNREFUSED));
        fs::close(again).unwrap();
    }
}

kernel_test! {
    fn net_errors_timeouts_and_nonblocking() {
        use net::{Family::Inet, RecvFlags, SocketType::Stream};
        let s = net::socket(Inet, Stream, false).unwrap();
        let far = net::SocketAddr::V4 { ip: [8, 8, 8, 8], port: 53 };
        assert_eq!(net::bind(s, &far), Err(Errno::EADDRNOTAVAIL));
        assert_eq!(net::connect(s, &far), Err(Errno::ENETUNREACH));
        let mut b = [0u8; 4];
        assert_eq!(net::recv(s, &mut b, RecvFlags::default()), Err(Errno::ENOTCONN));
        assert_eq!(net::peer_addr(s), Err(Errno::ENOTCONN));
        let (r, w) = fs::pipe().unwrap();
        assert_eq!(net::listen(r, 1), Err(Errno::ENOTSOCK));
        fs::close(r).unwrap();
        fs::close(w).unwrap();
        fs::close(s).unwrap();

        let l = tcp_listener();
        let taken = net::socket(Inet, Stream, false).unwrap();
        assert_eq!(net::bind(taken, &v4(port_of(l))), Err(Errno::EADDRINUSE));
        fs::close(taken).unwrap();
        fs::set_nonblocking(l, true).unwrap();
        assert_eq!(net::accept(l, false).map(|_| ()), Err(Errno::EAGAIN));
        let c = net::socket(Inet, Stream, false).unwrap();
        net::connect(c, &v4(port_of(l))).unwrap();
        let (s, _) = net::accept(l, true).unwrap();
        assert!(net::info(s).unwrap().nonblocking);
        assert_eq!(net::recv(s, &mut b, RecvFlags::default()).map(|r| r.len), Err(Errno::EAGAIN));
        net::set_timeout(c, net::Direction::Receive, Some(30_000_000)).unwrap();
        let t0 = time::monotonic_ns();
        assert_eq!(net::recv(c, &mut b, RecvFlags::default()).map(|r| r.len), Err(Errno::EAGAIN));
        assert!(time::monotonic_ns() - t0 >= 30_000_000, "the receive timeout is waited out");
        for fd in [c, s, l] {
            fs::close(fd).unwrap();
        }
    }
}

kernel_test! {
    fn net_udp_and_unix() {
        use net::{Family, RecvFlags, SocketType};
        let a = net::socket(Family::Inet, SocketType::Datagram, false).unwrap();
        let b = net::socket(Family::Inet, SocketType::Datagram, false).unwrap();
        net::bind(a, &v4(0)).unwrap();
        net::bind(b, &v4(0)).unwrap();
        assert_eq!(net::send(a, b"ping", Some(&v4(port_of(b))), false), Ok(4));
        let mut buf = [0u8; 16];
        let got = net::recv(b, &mut buf, RecvFlags::default()).unwrap();
        assert_eq!((got.len, got.from), (4, Some(v4(port_of(a)))));
        // Connected to a port nobody has: the next call reports ECONNREFUSED.
        let gone = port_of(a);
        fs::close(a).unwrap();
        net::connect(b, &v4(gone)).unwrap();
        assert_eq!(net::send(b, b"anyone", None, false), Ok(6));
        assert_eq!(net::take_error(b), Ok(Some(Errno::ECONNREFUSED)));
        assert_eq!(net::take_error(b), Ok(None));
        fs::close(b).unwrap();

        let (x, y) = net::socketpair(SocketType::Stream, false).unwrap();
        assert_eq!(fs::write(x, b"pair"), Ok(4));
        assert_eq!(fs::read(y, &mut buf), Ok(4));
        net::shutdown(x, net::Shutdown::Write).unwrap();
        assert_eq!(fs::read(y, &mut buf), Ok(0));
        fs::close(x).unwrap();
        fs::close(y).unwrap();

        let name = net::SocketAddr::Unix(net::UnixAddr::Abstract(b"lt-net-test".to_vec()));
        let l = net::socket(Family::Unix, SocketType::Stream, false).unwrap();
        net::bind(l, &name).unwrap();
        net::listen(l, 1).unwrap();
        let c = net::socket(Family::Unix, SocketType::Stream, false).unwrap();
        net::connect(c, &name).unwrap();
        let (s, peer) = net::accept(l, false).unwrap();
        assert_eq!(peer, net::SocketAddr::Unix(net::UnixAddr::Unnamed));
        assert_eq!(net::peer_addr(c), Ok(name.clone()));
        for fd in [c, s, l] {
            fs::close(fd).unwrap();
        }
        let c = net::socket(Family::Unix, SocketType::Stream, false).unwrap();
        assert_eq!(net::connect(c, &name), Err(Errno::ECONNREFUSED));
        fs::close(c).unwrap();
    }
}

kernel_test! {
    fn net_blocked_calls_do_not_hold_the_socket() {
        use net::{Family::Inet, SocketType::Stream};
        // Closing a listener another thread waits on releases it (the waiter gets EBADF).
        let l = tcp_listener();
        let port = port_of(l);
        let waiter = thread::spawn(move || match net::accept(l, false) {
            Err(e) => e.raw() as isize,
            Ok(_) => 0,
        })
        .unwrap();
        thread::sleep(Duration::from_millis(20));
        fs::close(l).unwrap();
        assert_eq!(waiter.join(), ExitStatus::Exited(Errno::EBADF.raw() as isize));
        let again = net::socket(Inet, Stream, false).unwrap();
        assert_eq!(net::bind(again, &v4(port)), Ok(()), "the port is free again");
        fs::close(again).unwrap();

        // A process killed while blocked in accept (no unwinding) leaves its port free.
        let ctx = vfs::current_context();
        let console: Arc<dyn vfs::File> = Arc::new(vfs::NullDevice::new());
        let child_ctx = ctx.new_child(console.clone(), console.clone(), console);
        let bound = Arc::new(AtomicU32::new(0));
        let b2 = bound.clone();
        let child = vfs::spawn_with_context(task::Builder::new("lt-net-child"), child_ctx, move || {
            let l = tcp_listener();
            b2.store(u32::from(port_of(l)), Ordering::SeqCst);
            let _ = net::accept(l, false);
            0
        })
        .unwrap();
        while bound.load(Ordering::SeqCst) == 0 {
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(20));
        task::kill(child.id(), "test kill").unwrap();
        assert!(matches!(child.join(), task::ExitValue::Killed(_)));
        let port = bound.load(Ordering::SeqCst) as u16;
        let again = net::socket(Inet, Stream, false).unwrap();
        assert_eq!(net::bind(again, &v4(port)), Ok(()), "the killed process's port is free");
        fs::close(again).unwrap();
    }
}

/// Three buffers of 3, 4 and 5 bytes, by index: `(index, length)` pairs.
const IOVECS: [(usize, usize); 3] = [(0, 3), (1, 4), (2, 5)];

kernel_test! {
    fn iovec_writes_stop_at_the_first_short_step() {
        use crate::iovec::{MAX_TRANSFER, gather, write_vectored};
        let src = [&b"abc"[..], b"defg", b"hijkl"];
        let copy_in = |bad: Option<usize>| {
            move |i: usize, dst: &mut [u8]| {
                if Some(i) == bad {
                    return Err(Errno::EFAULT);
                }
                dst.copy_from_slice(&src[i][..dst.len()]);
                Ok(())
            }
        };
        // Everything, in one write.
        let mut writes = Vec::new();
        let n = write_vectored(&IOVECS, copy_in(None), |d| {
            writes.push(d.to_vec());
            Ok(d.len())
        });
        assert_eq!(n, Ok(12));
        assert_eq!(writes, [b"abcdefghijkl".to_vec()]);
        // A short write in the middle of the data is the result as it is.
        assert_eq!(write_vectored(&IOVECS, copy_in(None), |_| Ok(5)), Ok(5));
        // A buffer that cannot be copied after some bytes: those bytes are written.
        let mut written = Vec::new();
        let n = write_vectored(&IOVECS, copy_in(Some(1)), |d| {
            written = d.to_vec();
            Ok(d.len())
        });
        assert_eq!((n, written.as_slice()), (Ok(3), &b"abc"[..]));
        // At the first buffer: the error, and nothing is written.
        let n = write_vectored(&IOVECS, copy_in(Some(0)), |_| panic!("nothing to write"));
        assert_eq!(n, Err(Errno::EFAULT));
        // The write's own error.
        let n = write_vectored(&IOVECS, copy_in(None), |_| Err(Errno::EPIPE));
        assert_eq!(n, Err(Errno::EPIPE));
        // At most `limit` bytes are gathered.
        assert_eq!(gather(&IOVECS, 5, copy_in(None)).unwrap(), b"abcde");
        let big = gather(&[(0, MAX_TRANSFER + 1)], MAX_TRANSFER, |_, _| Ok::<_, Errno>(()));
        assert_eq!(big.unwrap().len(), MAX_TRANSFER);
    }
}

kernel_test! {
    fn iovec_reads_stop_at_the_first_short_step() {
        use crate::iovec::read_vectored;
        let run = |got: &[u8], bad: Option<usize>| {
            let mut mem = [vec![0u8; 3], vec![0; 4], vec![0; 5]];
            let mut reads = 0;
            let n = read_vectored(
                &IOVECS,
                |buf| {
                    reads += 1;
                    assert_eq!(buf.len(), 12, "one read of the total size");
                    buf[..got.len()].copy_from_slice(got);
                    Ok(got.len())
                },
                |i, src| {
                    if Some(i) == bad {
                        return Err(Errno::EFAULT);
                    }
                    mem[i][..src.len()].copy_from_slice(src);
                    Ok(())
                },
            );
            assert_eq!(reads, 1);
            (n, mem.concat())
        };
        assert_eq!(run(b"abcdefghijkl", None), (Ok(12), b"abcdefghijkl".to_vec()));
        // A short read fills the first buffers; the later ones stay untouched.
        assert_eq!(run(b"abcde", None), (Ok(5), b"abcde\0\0\0\0\0\0\0".to_vec()));
        // A buffer that cannot be written after some bytes: the bytes before it.
        let got = run(b"abcdefghijkl", Some(1));
        assert_eq!(got, (Ok(3), b"abc\0\0\0\0\0\0\0\0\0".to_vec()));
        // At the first buffer: the error.
        assert_eq!(run(b"abcdefghijkl", Some(0)).0, Err(Errno::EFAULT));
        // The read's own error.
        let n = read_vectored(&IOVECS, |_| Err(Errno::EAGAIN), |_, _| panic!("nothing read"));
        assert_eq!(n, Err(Errno::EAGAIN));
    }
}

// ---- every CPU at once -----------------------------------------------------------------------

/// A futex lock (0 free, 1 held, 2 held with waiters) around a counter that is read and
/// written non-atomically: two holders at once would lose increments.
struct FutexLock {
    word: AtomicU32,
    count: AtomicU64,
}

impl FutexLock {
    fn lock(&self) {
        if self
            .word
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        while self.word.swap(2, Ordering::Acquire) != 0 {
            let _ = futex::wait(&self.word, 2, None);
        }
    }

    fn unlock(&self) {
        if self.word.swap(0, Ordering::Release) == 2 {
            futex::wake(&self.word, 1);
        }
    }
}

/// One stress thread's work by kind (`kind`, `n`: its number): returns the failures.
fn stress_work(kind: usize, n: usize, lock: &FutexLock) -> usize {
    const LOCKS: usize = 3000;
    const ROUNDS: usize = 60;
    let mut failures = 0;
    match kind {
        // Futexes: a lock contended from every CPU.
        0 => {
            for _ in 0..LOCKS {
                lock.lock();
                let v = lock.count.load(Ordering::Relaxed);
                core::hint::spin_loop();
                lock.count.store(v + 1, Ordering::Relaxed);
                lock.unlock();
            }
        }
        // Pipes: a writer thread sends 40000 numbered words (more than the pipe holds, so
        // both ends block) in uneven pieces; this thread reads them back in order.
        1 => {
            const WORDS: u32 = 40_000;
            let (r, w) = fs::pipe().unwrap();
            let writer = thread::spawn(move || {
                let mut next = 0u32;
                let mut piece = 1;
                while next < WORDS {
                    let end = (next + piece).min(WORDS);
                    let bytes: Vec<u8> = (next..end).flat_map(u32::to_le_bytes).collect();
                    fs::write_all(w, &bytes).unwrap();
                    next = end;
                    piece = piece % 700 + 37;
                }
                fs::close(w).unwrap();
                0
            })
            .unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 3001];
            loop {
                let len = fs::read(r, &mut buf).unwrap();
                if len == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..len]);
            }
            fs::close(r).unwrap();
            failures += usize::from(writer.join() != ExitStatus::Exited(0));
            failures += usize::from(got.len() != WORDS as usize * 4);
            failures += got
                .chunks_exact(4)
                .enumerate()
                .filter(|(i, c)| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) != *i as u32)
                .count();
        }
        // Mappings: map, fill every page, read back, protect, unmap (each change a TLB
        // shootdown of every other CPU).
        2 => {
            let p = page_size();
            for round in 0..ROUNDS {
                let addr = mmap::map(8 * p, Protection::RW, Commit::OnDemand).unwrap();
                let value = (n * 1000 + round) as u64;
                for page in 0..8 {
                    // SAFETY: the page lies in the read-write mapping made above.
                    unsafe { ((addr + page * p) as *mut u64).write_volatile(value + page as u64) };
                }
                mmap::protect_at(addr + 4 * p, 4 * p, Protection::R).unwrap();
                for page in 0..8 {
                    // SAFETY: every page of the mapping is readable.
                    let v = unsafe { ((addr + page * p) as *const u64).read_volatile() };
                    failures += usize::from(v != value + page as u64);
                }
                mmap::unmap_at(addr, 8 * p).unwrap();
                failures += usize::from(mmap::region_at(addr).is_some());
            }
        }
        // File calls: create, write, read back, unlink.
        _ => {
            for round in 0..ROUNDS {
                let path = alloc::format!("/tmp/cpu-stress-{n}-{round}");
                let data: Vec<u8> = (0..1500).map(|i| (i * 7 + n + round) as u8).collect();
                fs::write_file(&path, &data).unwrap();
                failures += usize::from(fs::read_file(&path).unwrap() != data);
                fs::unlink(&path).unwrap();
            }
        }
    }
    failures
}

kernel_test! {
    /// Threads on every CPU at once hammer a futex lock, pipes, mappings and file calls; every
    /// result is checked (no lost increment, every pipe word in order, every page's value,
    /// every file's bytes), and every CPU must have taken tasks to run meanwhile.
    fn threads_on_every_cpu_hammer_futexes_pipes_mappings_and_files() {
        let active = task::active_cpus();
        let cpus: Vec<usize> = (0..64).filter(|c| active & (1 << c) != 0).collect();
        let before: Vec<u64> =
            cpus.iter().map(|&c| task::cpu_run_stats(c).task_switches).collect();
        let lock = Arc::new(FutexLock {
            word: AtomicU32::new(0),
            count: AtomicU64::new(0),
        });
        let threads = 4 * cpus.len().max(2);
        let handles: Vec<_> = (0..threads)
            .map(|n| {
                let lock = lock.clone();
                let cpu = cpus[n % cpus.len()];
                thread::spawn(move || {
                    // Half are kept to one CPU (so each CPU surely works), half go anywhere.
                    if n % 2 == 0 {
                        thread::set_affinity(thread::current_id().as_u64(), 1 << cpu).unwrap();
                    }
                    stress_work(n % 4, n, &lock) as isize
                })
                .unwrap()
            })
            .collect();
        for (n, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join(), ExitStatus::Exited(0), "stress thread {n} (kind {})", n % 4);
        }
        let lockers = (0..threads).filter(|n| n % 4 == 0).count() as u64;
        assert_eq!(lock.count.load(Ordering::SeqCst), lockers * 3000, "increments lost");
        for (i, &c) in cpus.iter().enumerate() {
            let switches = task::cpu_run_stats(c).task_switches - before[i];
            assert!(switches > 0, "CPU {c} ran no task during the test");
        }
    }
}

kernel_test! {
    /// Two threads kept to CPUs 0 and 1 hand a counter back and forth by spinning alone: 20000
    /// hand-overs in a few seconds at most, where one CPU would need a preemption for each
    /// (minutes). With one CPU, a thread kept to it runs there and a mask of no CPU is refused.
    fn threads_kept_to_two_cpus_run_at_the_same_time() {
        let me = thread::current_id().as_u64();
        assert_eq!(thread::set_affinity(me, 0), Err(Errno::EINVAL));
        assert_eq!(thread::set_affinity(u64::MAX, 1), Err(Errno::ESRCH));
        let cpus = task::active_cpus();
        for cpu in (0..64).filter(|c| cpus & (1 << c) != 0) {
            let h = thread::spawn(move || {
                thread::set_affinity(thread::current_id().as_u64(), 1 << cpu).unwrap();
                thread::current_cpu() as isize
            })
            .unwrap();
            assert_eq!(h.join(), ExitStatus::Exited(cpu as isize), "kept to CPU {cpu}");
        }
        if cpus & 0b11 != 0b11 {
            // One CPU: nothing runs in parallel.
            return;
        }
        const HANDOVERS: u32 = 20_000;
        let counter = Arc::new(AtomicU32::new(0));
        let t0 = time::monotonic_ns();
        let players: Vec<_> = (0..2u32)
            .map(|parity| {
                let counter = counter.clone();
                thread::spawn(move || {
                    thread::set_affinity(thread::current_id().as_u64(), 1 << parity).unwrap();
                    let deadline = time::monotonic_ns() + 20_000_000_000;
                    loop {
                        let c = counter.load(Ordering::SeqCst);
                        if c >= HANDOVERS {
                            return thread::current_cpu() as isize;
                        }
                        if c % 2 == parity {
                            counter.store(c + 1, Ordering::SeqCst);
                        } else if time::monotonic_ns() > deadline {
                            return -1;
                        }
                        core::hint::spin_loop();
                    }
                })
                .unwrap()
            })
            .collect();
        let ran_on: Vec<ExitStatus> = players.into_iter().map(|h| h.join()).collect();
        let took_ms = (time::monotonic_ns() - t0) / 1_000_000;
        assert_eq!(ran_on, [ExitStatus::Exited(0), ExitStatus::Exited(1)], "in {took_ms} ms");
        // One CPU: a preemption (20 ms) per hand-over, 400 s.
        assert!(took_ms < 10_000, "{HANDOVERS} hand-overs took {took_ms} ms");
    }
}
