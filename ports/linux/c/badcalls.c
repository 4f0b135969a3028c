// Bad input to the Linux system-call layer: wild pointers to every call that takes one must
// give EFAULT (never a kernel fault), unknown numbers ENOSYS; `badcalls poke ADDR` writes to an
// address and `badcalls jump ADDR` calls it, which must end only this program with SIGSEGV.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failed, passed;

static void expect(const char *what, long ret, int err) {
    if (ret == -1 && errno == err) {
        passed++;
    } else {
        failed++;
        printf("FAILED %s: ret %ld errno %d (%s), wanted errno %d\n", what, ret, errno,
               strerror(errno), err);
    }
}

// Addresses a program may not touch: null, the kernel image, the direct map of physical
// memory, the kernel heap, a non-canonical address, the very last page.
static const unsigned long wild[] = {
    0x0UL, 0x10UL, 0x100000UL, 0xffff800000001000UL, 0xffff900000000000UL,
    0x0000800000000000UL, 0xfffffffffffff000UL,
};
#define NWILD (sizeof wild / sizeof wild[0])

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "poke") == 0) {
        volatile unsigned long *p = (volatile unsigned long *)strtoul(argv[2], 0, 0);
        printf("poking %p\n", (void *)p);
        fflush(stdout);
        *p = 0x4242424242424242UL;
        printf("poke survived\n");
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "jump") == 0) {
        void (*f)(void) = (void (*)(void))strtoul(argv[2], 0, 0);
        printf("jumping to %p\n", (void *)f);
        fflush(stdout);
        f();
        printf("jump survived\n");
        return 0;
    }

    expect("unknown number 1000", syscall(1000), ENOSYS);
    expect("unknown number 999", syscall(999), ENOSYS);
    expect("negative number", syscall(-5L), ENOSYS);

    char buf[64];
    int fds[2];
    const char *text = (const char *)main; // readable, not writable
    // Reads need data waiting (at end of file Linux checks no buffer); listings a directory.
    int data[2];
    if (pipe(data) != 0 || write(data[1], "0123456789abcdef", 16) != 16) {
        printf("badcalls: no pipe\n");
        return 1;
    }
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    int watcher = syscall(SYS_inotify_init1, 0);
    for (unsigned i = 0; i < NWILD; i++) {
        long p = (long)wild[i];
        // NULL is a valid "no value" for some arguments: those calls get the other pointers.
        int nonnull = p != 0;
        char name[96];
#define T(call_name, ...)                                                          \
    do {                                                                           \
        snprintf(name, sizeof name, "%s(%#lx)", call_name, (unsigned long)p);      \
        expect(name, syscall(__VA_ARGS__), EFAULT);                                \
    } while (0)
        T("write", SYS_write, 1, p, 16);
        T("read", SYS_read, data[0], p, 16);
        T("open", SYS_open, p, 0);
        T("openat", SYS_openat, AT_FDCWD, p, 0);
        T("stat", SYS_stat, p, buf);
        T("stat buf", SYS_stat, "/", p);
        T("lstat", SYS_lstat, p, buf);
        T("fstat", SYS_fstat, 1, p);
        T("newfstatat", SYS_newfstatat, AT_FDCWD, "/", p, 0);
        T("statx", SYS_statx, AT_FDCWD, "/", 0, 0x7ff, p);
        T("mkdir", SYS_mkdir, p, 0755);
        T("unlink", SYS_unlink, p);
        T("rename", SYS_rename, p, "/tmp/x");
        T("chdir", SYS_chdir, p);
        T("readlink", SYS_readlink, p, buf, sizeof buf);
        T("symlink", SYS_symlink, p, "/tmp/l");
        T("getcwd", SYS_getcwd, p, 64);
        T("clock_gettime", SYS_clock_gettime, 1, p);
        if (nonnull) T("clock_getres", SYS_clock_getres, 1, p);
        if (nonnull) T("gettimeofday", SYS_gettimeofday, p, 0);
        T("nanosleep", SYS_nanosleep, p, 0);
        T("uname", SYS_uname, p);
        T("getrandom", SYS_getrandom, p, 16, 0);
        T("pipe2", SYS_pipe2, p, 0);
        T("poll", SYS_poll, p, 1, 0);
        T("ppoll", SYS_ppoll, p, 1, 0, 0, 8);
        T("readv", SYS_readv, data[0], p, 1);
        T("writev", SYS_writev, 1, p, 1);
        if (nonnull) T("rt_sigaction", SYS_rt_sigaction, 10, p, 0, 8);
        if (nonnull) T("rt_sigaction old", SYS_rt_sigaction, 10, 0, p, 8);
        if (nonnull) T("rt_sigprocmask", SYS_rt_sigprocmask, 0, p, 0, 8);
        if (nonnull) T("sigaltstack", SYS_sigaltstack, p, 0);
        T("futex", SYS_futex, p, 0, 1, 0, 0, 0);
        T("sched_getaffinity", SYS_sched_getaffinity, 0, 8, p);
        if (nonnull) T("prlimit64", SYS_prlimit64, 0, 3, 0, p);
        T("sysinfo", SYS_sysinfo, p);
        T("arch_prctl", SYS_arch_prctl, 0x1003, p);
        T("getdents64", SYS_getdents64, dir, p, 64);
        T("inotify_add_watch", SYS_inotify_add_watch, watcher, p, 0xfff);
        if (nonnull) T("utimensat", SYS_utimensat, AT_FDCWD, "/tmp", p, 0);
    }
    // A buffer the program may read but not write.
    expect("read into text", syscall(SYS_read, data[0], text, 4), EFAULT);
    expect("getcwd into text", syscall(SYS_getcwd, text, 64), EFAULT);
    // A buffer running off the end of a valid one into unmapped memory.
    if (syscall(SYS_pipe2, fds, 0) == 0) {
        expect("write running into the kernel", syscall(SYS_write, fds[1], 0x7ffffffff000UL, 1 << 20), EFAULT);
        close(fds[0]);
        close(fds[1]);
    }
    printf("badcalls: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
