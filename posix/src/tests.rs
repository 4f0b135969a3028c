//! In-kernel tests: the exported functions called as a program would call them.

use crate::abi::{self, dirent64, iovec, pollfd, stat, timespec};
use crate::{fd, fs, mem, net, poll, runtime, thread};
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};
use ktest::kernel_test;
use libtheseus::fs as lfs;

const DIR: &core::ffi::CStr = c"/posix-test";

fn setup_dir() {
    // SAFETY: NUL-terminated literal.
    let r = unsafe { fs::sys_mkdir(DIR.as_ptr(), 0o755) };
    assert!(r == 0 || r == -abi::EEXIST, "mkdir: {r}");
}

fn zero_stat() -> stat {
    stat::default()
}

kernel_test! {
    fn every_required_symbol_is_exported() {
        for name in crate::REQUIRED {
            assert!(libtheseus::lookup_export(name).is_some(), "{name} is not exported");
        }
    }
}

kernel_test! {
    fn write_to_stdout_goes_through_fd_1() {
        let (r, w) = lfs::pipe().unwrap();
        let saved = lfs::dup(1).unwrap();
        lfs::dup2(w, 1).unwrap();
        let msg = b"hello from sys_write\n";
        // SAFETY: a live buffer of that length.
        let n = unsafe { fd::sys_write(1, msg.as_ptr(), msg.len()) };
        lfs::dup2(saved, 1).unwrap();
        lfs::close(saved).unwrap();
        lfs::close(w).unwrap();
        assert_eq!(n, msg.len() as isize);
        assert_eq!(lfs::read_to_end(r).unwrap(), msg);
        lfs::close(r).unwrap();
        // SAFETY: null with a non-zero length is refused, not dereferenced.
        assert_eq!(unsafe { fd::sys_write(1, ptr::null(), 3) }, -(abi::EFAULT as isize));
        assert_eq!(runtime::sys_get_errno(), abi::EFAULT);
    }
}

kernel_test! {
    fn open_write_seek_read_close_a_file() {
        setup_dir();
        let path = c"/posix-test/file.txt";
        let flags = abi::O_RDWR | abi::O_CREAT | abi::O_TRUNC;
        // SAFETY: NUL-terminated literal.
        let f = unsafe { fs::sys_open(path.as_ptr(), flags, 0o640) };
        assert!(f >= 3, "open: {f}");
        let data = b"hello world";
        // SAFETY: live buffers of the lengths given.
        unsafe {
            assert_eq!(fd::sys_write(f, data.as_ptr(), data.len()), 11);
            assert_eq!(fd::sys_lseek(f, 0, abi::SEEK_SET), 0);
            let mut buf = [0u8; 5];
            assert_eq!(fd::sys_read(f, buf.as_mut_ptr(), 5), 5);
            assert_eq!(&buf, b"hello");
            assert_eq!(fd::sys_lseek(f, 1, abi::SEEK_CUR), 6);
            assert_eq!(fd::sys_lseek(f, -5, abi::SEEK_END), 6);
            assert_eq!(fd::sys_read(f, buf.as_mut_ptr(), 5), 5);
            assert_eq!(&buf, b"world");
            assert_eq!(fd::sys_read(f, buf.as_mut_ptr(), 5), 0, "end of file");
            assert_eq!(fd::sys_lseek(f, -1, abi::SEEK_SET), -(abi::EINVAL as isize));
            assert_eq!(fd::sys_lseek(f, 0, 7), -(abi::EINVAL as isize));

            // writev then readv across two buffers.
            assert_eq!(fd::sys_lseek(f, 0, abi::SEEK_SET), 0);
            let (a, b) = (*b"ab", *b"cde");
            let iov = [
                iovec { iov_base: a.as_ptr().cast_mut(), iov_len: 2 },
                iovec { iov_base: b.as_ptr().cast_mut(), iov_len: 3 },
            ];
            assert_eq!(fd::sys_writev(f, iov.as_ptr(), 2), 5);
            assert_eq!(fd::sys_lseek(f, 0, abi::SEEK_SET), 0);
            let (mut x, mut y) = ([0u8; 3], [0u8; 20]);
            let iov = [
                iovec { iov_base: x.as_mut_ptr(), iov_len: 3 },
                iovec { iov_base: y.as_mut_ptr(), iov_len: 20 },
            ];
            assert_eq!(fd::sys_readv(f, iov.as_ptr(), 2), 11);
            assert_eq!(&x, b"abc");
            assert_eq!(&y[..8], b"de world");

            let mut st = zero_stat();
            assert_eq!(fs::sys_fstat(f, &mut st), 0);
            assert_eq!(st.st_size, 11);
            assert_eq!(st.st_mode, abi::S_IFREG | 0o640);
            assert!(st.st_ino != 0 && st.st_nlink == 1);
            assert!(st.st_mtim.tv_sec > 0);

            let d = fd::sys_dup(f);
            assert!(d > f);
            assert_eq!(fd::sys_lseek(d, 0, abi::SEEK_CUR), 11, "dup shares the offset");
            assert_eq!(fd::sys_close(d), 0);
            assert_eq!(fd::sys_close(f), 0);
            assert_eq!(fd::sys_close(f), -abi::EBADF);
            assert_eq!(runtime::sys_get_errno(), abi::EBADF);
            assert_eq!(fd::sys_read(-1, buf.as_mut_ptr(), 1), -(abi::EBADF as isize));

            // Read-only descriptors refuse writes with EBADF; O_EXCL on an existing file.
            let ro = fs::sys_open(path.as_ptr(), abi::O_RDONLY, 0);
            assert!(ro >= 0);
            assert_eq!(fd::sys_write(ro, data.as_ptr(), 1), -(abi::EBADF as isize));
            assert_eq!(fd::sys_close(ro), 0);
            let excl = abi::O_WRONLY | abi::O_CREAT | abi::O_EXCL;
            assert_eq!(fs::sys_open(path.as_ptr(), excl, 0o600), -abi::EEXIST);
            assert_eq!(fs::sys_open(path.as_ptr(), 3, 0), -abi::EINVAL);
            assert_eq!(fs::sys_open(ptr::null(), abi::O_RDONLY, 0), -abi::EFAULT);
            assert_eq!(fs::sys_unlink(path.as_ptr()), 0);
            assert_eq!(fs::sys_open(path.as_ptr(), abi::O_RDONLY, 0), -abi::ENOENT);
        }
    }
}

/// The names in `dirent64` records `buf[..len]`.
fn names_in(buf: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
        assert_eq!(reclen % 8, 0);
        let name = &buf[at + core::mem::offset_of!(dirent64, d_name)..at + reclen];
        let end = name.iter().position(|&b| b == 0).unwrap();
        out.push(String::from(core::str::from_utf8(&name[..end]).unwrap()));
        assert_eq!(buf[at + 18], abi::DT_REG);
        at += reclen;
    }
    out
}

kernel_test! {
    fn getdents64_returns_the_whole_listing_or_einval() {
        setup_dir();
        let dir = c"/posix-test/dents";
        // SAFETY: NUL-terminated literals and live buffers throughout.
        unsafe {
            assert_eq!(fs::sys_mkdir(dir.as_ptr(), 0o755), 0);
            let names = ["a", "bb", "c-long-name", "dddd", "eeeeeeeeeeeeeeeeeeeee"];
            for n in names {
                let mut p = String::from("/posix-test/dents/");
                p.push_str(n);
                p.push('\0');
                let f = fs::sys_open(p.as_ptr().cast(), abi::O_WRONLY | abi::O_CREAT, 0o644);
                assert!(f >= 0);
                assert_eq!(fd::sys_close(f), 0);
            }
            let d = fs::sys_open(dir.as_ptr(), abi::O_RDONLY | abi::O_DIRECTORY, 0);
            assert!(d >= 0);
            // Too small for one record, then for all five (three would fit): EINVAL, and
            // nothing is consumed (std's read_dir then retries with a bigger buffer).
            let mut tiny = [0u64; 2];
            assert_eq!(fs::sys_getdents64(d, tiny.as_mut_ptr().cast(), 16), -(abi::EINVAL as i64));
            let mut small = [0u64; 12];
            assert_eq!(fs::sys_getdents64(d, small.as_mut_ptr().cast(), 96), -(abi::EINVAL as i64));
            let mut big = [0u64; 64];
            let n = fs::sys_getdents64(d, big.as_mut_ptr().cast(), 512);
            assert!(n > 0, "getdents64: {n}");
            let bytes = core::slice::from_raw_parts(big.as_ptr().cast::<u8>(), 512);
            let mut seen = names_in(&bytes[..n as usize]);
            seen.sort();
            assert_eq!(seen, names);
            assert_eq!(fs::sys_getdents64(d, big.as_mut_ptr().cast(), 512), 0);
            // Rewind: everything again.
            assert_eq!(fd::sys_lseek(d, 0, abi::SEEK_SET), 0);
            assert_eq!(fs::sys_getdents64(d, big.as_mut_ptr().cast(), 512), n);
            assert_eq!(fd::sys_close(d), 0);

            // A file is not a directory.
            let f = fs::sys_open(c"/posix-test/dents/a".as_ptr(), abi::O_RDONLY, 0);
            assert_eq!(fs::sys_getdents64(f, big.as_mut_ptr().cast(), 512), -(abi::ENOTDIR as i64));
            assert_eq!(fd::sys_close(f), 0);

            for n in names {
                let mut p = String::from("/posix-test/dents/");
                p.push_str(n);
                p.push('\0');
                assert_eq!(fs::sys_unlink(p.as_ptr().cast()), 0);
            }
            assert_eq!(fs::sys_rmdir(dir.as_ptr()), 0);
        }
    }
}

kernel_test! {
    fn stat_and_directory_errors_are_negative_errnos() {
        setup_dir();
        // SAFETY: NUL-terminated literals and live out-structs.
        unsafe {
            let mut st = zero_stat();
            assert_eq!(fs::sys_stat(DIR.as_ptr(), &mut st), 0);
            assert_eq!(st.st_mode & abi::S_IFMT, abi::S_IFDIR);
            assert_eq!(fs::sys_lstat(DIR.as_ptr(), &mut st), 0);
            assert_eq!(st.st_mode & abi::S_IFMT, abi::S_IFDIR);
            assert_eq!(fs::sys_stat(c"/posix-test/missing".as_ptr(), &mut st), -abi::ENOENT);
            assert_eq!(runtime::sys_get_errno(), abi::ENOENT);
            assert_eq!(fs::sys_stat(DIR.as_ptr(), ptr::null_mut()), -abi::EFAULT);
            assert_eq!(fs::sys_fstat(99, &mut st), -abi::EBADF);

            assert_eq!(fs::sys_mkdir(DIR.as_ptr(), 0o755), -abi::EEXIST);
            let sub = c"/posix-test/sub";
            assert_eq!(fs::sys_mkdir(sub.as_ptr(), 0o700), 0);
            let f = fs::sys_open(c"/posix-test/sub/x".as_ptr(), abi::O_WRONLY | abi::O_CREAT, 0o600);
            assert!(f >= 0);
            assert_eq!(fd::sys_close(f), 0);
            assert_eq!(fs::sys_rmdir(sub.as_ptr()), -abi::ENOTEMPTY);
            assert_eq!(fs::sys_unlink(sub.as_ptr()), -abi::EISDIR);
            assert_eq!(fs::sys_rmdir(c"/posix-test/sub/x".as_ptr()), -abi::ENOTDIR);
            assert_eq!(fs::sys_unlink(c"/posix-test/sub/x".as_ptr()), 0);
            assert_eq!(fs::sys_rmdir(sub.as_ptr()), 0);
            assert_eq!(fs::sys_rmdir(sub.as_ptr()), -abi::ENOENT);
            assert_eq!(fs::sys_unlink(sub.as_ptr()), -abi::ENOENT);
            assert_eq!(fs::sys_rmdir(ptr::null()), -abi::EFAULT);
        }
    }
}

kernel_test! {
    fn clock_gettime_reads_both_clocks() {
        let mut a = timespec::default();
        let mut b = timespec::default();
        // SAFETY: live out-structs.
        unsafe {
            assert_eq!(runtime::sys_clock_gettime(abi::CLOCK_MONOTONIC, &mut a), 0);
            assert_eq!(runtime::sys_clock_gettime(abi::CLOCK_MONOTONIC, &mut b), 0);
            assert!(abi::timespec_to_ns(&b).unwrap() >= abi::timespec_to_ns(&a).unwrap());
            assert_eq!(runtime::sys_clock_gettime(abi::CLOCK_REALTIME, &mut a), 0);
            assert!(a.tv_sec > 1_577_836_800, "realtime after 2020: {a:?}");
            assert!((0..1_000_000_000).contains(&a.tv_nsec));
            assert_eq!(runtime::sys_clock_gettime(2, &mut a), -abi::EINVAL);
            assert_eq!(runtime::sys_clock_gettime(abi::CLOCK_REALTIME, ptr::null_mut()), -abi::EFAULT);
        }
        assert_eq!(runtime::sys_available_parallelism(), 1);
    }
}

static SPAWN_SUM: AtomicUsize = AtomicUsize::new(0);

extern "C" fn add_arg(arg: usize) {
    SPAWN_SUM.fetch_add(arg, Ordering::SeqCst);
}

kernel_test! {
    fn spawn2_and_join() {
        let a = thread::sys_spawn2(add_arg, 5, 2, 0, -1);
        let b = thread::sys_spawn2(add_arg, 7, 2, 256 * 1024, -1);
        assert!(a != 0 && b != 0 && a != b);
        assert_eq!(thread::sys_join(a), 0);
        assert_eq!(thread::sys_join(b), 0);
        assert_eq!(SPAWN_SUM.load(Ordering::SeqCst), 12);
        assert_eq!(thread::sys_join(a), -abi::ESRCH);
        thread::sys_yield();
        thread::sys_usleep(100);
    }
}

static FUTEX_WORD: AtomicU32 = AtomicU32::new(0);
static WAITER_RESULT: AtomicI32 = AtomicI32::new(1);

extern "C" fn futex_waiter(_: usize) {
    // SAFETY: a static word.
    let r = unsafe { thread::sys_futex_wait(FUTEX_WORD.as_ptr(), 0, ptr::null(), 0) };
    WAITER_RESULT.store(r, Ordering::SeqCst);
}

kernel_test! {
    fn futex_wait_times_out_and_wake_wakes() {
        let word = AtomicU32::new(0);
        let rel = abi::FUTEX_RELATIVE_TIMEOUT;
        let t = timespec { tv_sec: 0, tv_nsec: 20_000_000 };
        // SAFETY: live word and timespec.
        unsafe {
            assert_eq!(thread::sys_futex_wait(word.as_ptr(), 1, &t, rel), -abi::EAGAIN);
            let start = libtheseus::time::monotonic_ns();
            assert_eq!(thread::sys_futex_wait(word.as_ptr(), 0, &t, rel), -abi::ETIMEDOUT);
            assert!(libtheseus::time::monotonic_ns() - start >= 20_000_000);
            // An absolute deadline in the past times out at once.
            let past = timespec { tv_sec: 0, tv_nsec: 1 };
            assert_eq!(thread::sys_futex_wait(word.as_ptr(), 0, &past, 0), -abi::ETIMEDOUT);
            let bad = timespec { tv_sec: -1, tv_nsec: 0 };
            assert_eq!(thread::sys_futex_wait(word.as_ptr(), 0, &bad, rel), -abi::EINVAL);
            assert_eq!(thread::sys_futex_wait(word.as_ptr(), 0, &t, 8), -abi::EINVAL);
            assert_eq!(thread::sys_futex_wait(ptr::null_mut(), 0, &t, rel), -abi::EINVAL);
            assert_eq!(thread::sys_futex_wake(ptr::null_mut(), 1), -abi::EINVAL);
            assert_eq!(thread::sys_futex_wake(word.as_ptr(), -1), -abi::EINVAL);
            assert_eq!(thread::sys_futex_wake(word.as_ptr(), i32::MAX), 0);

            let id = thread::sys_spawn2(futex_waiter, 0, 2, 0, -1);
            assert!(id != 0);
            let mut woken = 0;
            for _ in 0..1000 {
                woken = thread::sys_futex_wake(FUTEX_WORD.as_ptr(), 1);
                if woken == 1 {
                    break;
                }
                thread::sys_usleep(1000);
            }
            assert_eq!(woken, 1);
            assert_eq!(thread::sys_join(id), 0);
            assert_eq!(WAITER_RESULT.load(Ordering::SeqCst), 0);
        }
    }
}

kernel_test! {
    fn read_entropy_fills_the_buffer() {
        let mut buf = [0u8; 64];
        // SAFETY: a live buffer of that length.
        unsafe {
            assert_eq!(runtime::sys_read_entropy(buf.as_mut_ptr(), 64, 0), 64);
            assert!(buf.iter().any(|&b| b != 0));
            assert_eq!(runtime::sys_read_entropy(buf.as_mut_ptr(), 64, 0x100), -(abi::EINVAL as isize));
            assert_eq!(runtime::sys_read_entropy(ptr::null_mut(), 8, 0), -(abi::EFAULT as isize));
        }
    }
}

kernel_test! {
    fn secure_rand_stores_random_values() {
        let (mut a, mut b) = (0u64, 0u64);
        let (mut c, mut d) = (0u32, 0u32);
        // SAFETY: live locals of the right types.
        unsafe {
            assert_eq!(runtime::sys_secure_rand64(&mut a), 0);
            assert_eq!(runtime::sys_secure_rand64(&mut b), 0);
            assert_eq!(runtime::sys_secure_rand32(&mut c), 0);
            assert_eq!(runtime::sys_secure_rand32(&mut d), 0);
            assert_eq!(runtime::sys_secure_rand64(ptr::null_mut()), -1);
            assert_eq!(runtime::sys_secure_rand32(ptr::null_mut()), -1);
        }
        // Equal twice in a row with probability 2^-64 (and 2^-32 for u32: checked together).
        assert!(a != b || c != d);
    }
}

kernel_test! {
    fn malloc_realloc_free_respect_alignment() {
        for align in [1usize, 8, 64, 4096] {
            let p = mem::sys_malloc(100, align);
            assert!(!p.is_null() && (p as usize).is_multiple_of(align));
            // SAFETY: a fresh 100-byte block, then its reallocation to 1000 bytes.
            unsafe {
                for i in 0..100 {
                    p.add(i).write(i as u8);
                }
                let q = mem::sys_realloc(p, 100, align, 1000);
                assert!(!q.is_null() && (q as usize).is_multiple_of(align));
                for i in 0..100 {
                    assert_eq!(q.add(i).read(), i as u8);
                }
                q.add(999).write(1);
                mem::sys_free(q, 1000, align);
            }
        }
        assert!(mem::sys_malloc(0, 8).is_null());
        assert!(mem::sys_malloc(8, 3).is_null());
        // SAFETY: null and zero sizes are ignored.
        unsafe { mem::sys_free(ptr::null_mut(), 8, 8) };
    }
}

kernel_test! {
    fn eventfd_poll_fcntl_and_ioctl() {
        let e = poll::sys_eventfd(0, abi::EFD_NONBLOCK);
        assert!(e >= 0);
        let mut pfd = [pollfd { fd: e, events: abi::POLLIN | abi::POLLOUT, revents: 0 }];
        let mut v = [0u8; 8];
        // SAFETY: live buffers and pollfds of the lengths given.
        unsafe {
            assert_eq!(poll::sys_poll(pfd.as_mut_ptr(), 1, 0), 1);
            assert_eq!(pfd[0].revents, abi::POLLOUT);
            pfd[0].events = abi::POLLIN;
            let start = libtheseus::time::monotonic_ns();
            assert_eq!(poll::sys_poll(pfd.as_mut_ptr(), 1, 30), 0, "times out");
            assert!(libtheseus::time::monotonic_ns() - start >= 30_000_000);
            assert_eq!(fd::sys_read(e, v.as_mut_ptr(), 8), -(abi::EAGAIN as isize));
            let three = 3u64.to_ne_bytes();
            assert_eq!(fd::sys_write(e, three.as_ptr(), 8), 8);
            assert_eq!(fd::sys_write(e, three.as_ptr(), 8), 8);
            assert_eq!(fd::sys_write(e, three.as_ptr(), 4), -(abi::EINVAL as isize));
            assert_eq!(poll::sys_poll(pfd.as_mut_ptr(), 1, -1), 1);
            assert_eq!(pfd[0].revents, abi::POLLIN);
            assert_eq!(fd::sys_read(e, v.as_mut_ptr(), 8), 8);
            assert_eq!(u64::from_ne_bytes(v), 6);

            assert_eq!(fd::sys_fcntl(e, abi::F_GETFL, 0), abi::O_RDWR | abi::O_NONBLOCK);
            assert_eq!(fd::sys_fcntl(e, abi::F_SETFL, 0), 0);
            assert_eq!(fd::sys_fcntl(e, abi::F_GETFL, 0), abi::O_RDWR);
            let on = 1i32;
            assert_eq!(fd::sys_ioctl(e, abi::FIONBIO, (&raw const on).cast_mut().cast()), 0);
            assert_eq!(fd::sys_fcntl(e, abi::F_GETFL, 0) & abi::O_NONBLOCK, abi::O_NONBLOCK);
            assert_eq!(fd::sys_read(e, v.as_mut_ptr(), 8), -(abi::EAGAIN as isize));
            assert_eq!(fd::sys_ioctl(e, 0x5401, ptr::null_mut()), -abi::EINVAL);
            assert_eq!(fd::sys_ioctl(e, abi::FIONBIO, ptr::null_mut()), -abi::EFAULT);
            assert_eq!(fd::sys_fcntl(e, abi::F_GETFD, 0), 0);
            assert_eq!(fd::sys_fcntl(e, abi::F_SETFD, abi::FD_CLOEXEC), 0);
            assert_eq!(fd::sys_fcntl(e, abi::F_GETFD, 0), abi::FD_CLOEXEC);
            assert_eq!(fd::sys_fcntl(e, 99, 0), -abi::EINVAL);
            assert_eq!(fd::sys_fcntl(-3, abi::F_GETFL, 0), -abi::EBADF);

            // Semaphore mode reads 1 at a time; a closed descriptor polls as POLLNVAL.
            let s = poll::sys_eventfd(2, abi::EFD_SEMAPHORE | abi::EFD_NONBLOCK);
            assert_eq!(fd::sys_read(s, v.as_mut_ptr(), 8), 8);
            assert_eq!(u64::from_ne_bytes(v), 1);
            assert_eq!(fd::sys_read(s, v.as_mut_ptr(), 8), 8);
            assert_eq!(fd::sys_read(s, v.as_mut_ptr(), 8), -(abi::EAGAIN as isize));
            assert_eq!(fd::sys_close(s), 0);
            let mut two = [
                pollfd { fd: s, events: abi::POLLIN, revents: 0 },
                pollfd { fd: -1, events: abi::POLLIN, revents: 0 },
            ];
            assert_eq!(poll::sys_poll(two.as_mut_ptr(), 2, 0), 1);
            assert_eq!((two[0].revents, two[1].revents), (abi::POLLNVAL, 0));
            assert_eq!(fd::sys_close(e), 0);
            assert_eq!(poll::sys_eventfd(0, 0x100), -abi::EINVAL);
        }
    }
}

kernel_test! {
    fn blocking_eventfd_read_is_woken_by_a_write() {
        static EFD: AtomicI32 = AtomicI32::new(-1);
        extern "C" fn writer(_: usize) {
            thread::sys_usleep(20_000);
            let one = 1u64.to_ne_bytes();
            // SAFETY: a live 8-byte buffer.
            let n = unsafe { fd::sys_write(EFD.load(Ordering::SeqCst), one.as_ptr(), 8) };
            assert_eq!(n, 8);
        }
        let e = poll::sys_eventfd(0, 0);
        EFD.store(e, Ordering::SeqCst);
        let id = thread::sys_spawn2(writer, 0, 2, 0, -1);
        let mut v = [0u8; 8];
        // SAFETY: a live 8-byte buffer.
        assert_eq!(unsafe { fd::sys_read(e, v.as_mut_ptr(), 8) }, 8);
        assert_eq!(u64::from_ne_bytes(v), 1);
        assert_eq!(thread::sys_join(id), 0);
        assert_eq!(fd::sys_close(e), 0);
    }
}

kernel_test! {
    fn sockets_are_not_supported() {
        assert_eq!(net::sys_socket(3, 1, 0), -abi::ENOSYS);
        assert_eq!(runtime::sys_get_errno(), abi::ENOSYS);
        assert_eq!(net::sys_send(3, ptr::null(), 0, 0), -(abi::ENOSYS as isize));
        let mut res: *mut abi::addrinfo = ptr::dangling_mut();
        // SAFETY: a live result slot; the name is a literal.
        let r = unsafe {
            net::sys_getaddrinfo(c"localhost".as_ptr(), ptr::null(), ptr::null(), &mut res)
        };
        assert_eq!(r, abi::EAI_FAIL);
        assert!(res.is_null());
        net::sys_freeaddrinfo(ptr::null_mut());
    }
}
