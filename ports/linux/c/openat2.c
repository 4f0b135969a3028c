// openat2 as a Linux-ABI C program uses it: struct open_how checked (size, unknown flags and
// resolve bits, a mode without O_CREAT) and the RESOLVE_* restrictions: BENEATH (absolute
// paths, `..` and links leading out are EXDEV), IN_ROOT (the directory is the root),
// NO_SYMLINKS, NO_MAGICLINKS (plain links pass), NO_XDEV (into /proc), CACHED.
// Works in a fresh directory under /tmp. Prints `ok WHAT` or `FAIL WHAT (errno text)` per
// check, then `openat2: N passed, N failed`; exit status 0 only if every check passed. The
// same program passes on Linux (5.6 or later).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

struct how {
    uint64_t flags, mode, resolve;
};

static int open2(int dir, const char *path, uint64_t flags, uint64_t resolve) {
    struct how h = {flags, 0, resolve};
    return (int)syscall(SYS_openat2, dir, path, &h, sizeof h);
}

// Whether `fd` reads `want`; closes it.
static int reads(int fd, const char *want) {
    char buf[64] = {0};
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n == (ssize_t)strlen(want) && strcmp(buf, want) == 0;
}

static int fails(int r, int err) {
    if (r >= 0)
        close(r);
    return r == -1 && errno == err;
}

int main(void) {
    char top[] = "/tmp/openat2-XXXXXX";
    if (!mkdtemp(top)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/sub", top);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/sub/file", top);
    int f = open(path, O_CREAT | O_WRONLY, 0644);
    write(f, "inside", 6);
    close(f);
    snprintf(path, sizeof path, "%s/outside", top);
    f = open(path, O_CREAT | O_WRONLY, 0644);
    write(f, "outside", 7);
    close(f);
    snprintf(path, sizeof path, "%s/sub/rel", top);
    symlink("file", path);
    snprintf(path, sizeof path, "%s/sub/up", top);
    symlink("../outside", path);
    snprintf(path, sizeof path, "%s/sub/abs", top);
    char target[256];
    snprintf(target, sizeof target, "%s/sub/file", top);
    symlink(target, path);
    snprintf(path, sizeof path, "%s/sub/rootabs", top);
    symlink("/file", path);

    snprintf(path, sizeof path, "%s/sub", top);
    int dir = open(path, O_RDONLY | O_DIRECTORY);
    check(dir >= 0, "open the directory");

    check(reads(open2(dir, "file", O_RDONLY, 0), "inside"), "openat2 without restrictions");
    check(reads(open2(dir, "file", O_RDONLY, RESOLVE_BENEATH), "inside"),
          "RESOLVE_BENEATH: a name inside");
    check(reads(open2(dir, "rel", O_RDONLY, RESOLVE_BENEATH), "inside"),
          "RESOLVE_BENEATH: a relative link inside");
    errno = 0;
    check(fails(open2(dir, "../outside", O_RDONLY, RESOLVE_BENEATH), EXDEV),
          "RESOLVE_BENEATH: .. above the directory: EXDEV");
    errno = 0;
    check(fails(open2(dir, target, O_RDONLY, RESOLVE_BENEATH), EXDEV),
          "RESOLVE_BENEATH: an absolute path: EXDEV");
    errno = 0;
    check(fails(open2(dir, "up", O_RDONLY, RESOLVE_BENEATH), EXDEV),
          "RESOLVE_BENEATH: a link leading out: EXDEV");
    errno = 0;
    check(fails(open2(dir, "abs", O_RDONLY, RESOLVE_BENEATH), EXDEV),
          "RESOLVE_BENEATH: an absolute link: EXDEV");
    check(reads(open2(dir, "up", O_RDONLY, 0), "outside"), "the same link without it");
    check(reads(open2(dir, "/file", O_RDONLY, RESOLVE_IN_ROOT), "inside"),
          "RESOLVE_IN_ROOT: /file is the directory's file");
    check(reads(open2(dir, "../../../file", O_RDONLY, RESOLVE_IN_ROOT), "inside"),
          "RESOLVE_IN_ROOT: .. stops at the directory");
    check(reads(open2(dir, "rootabs", O_RDONLY, RESOLVE_IN_ROOT), "inside"),
          "RESOLVE_IN_ROOT: an absolute link from the directory");
    errno = 0;
    check(fails(open2(dir, "rel", O_RDONLY, RESOLVE_NO_SYMLINKS), ELOOP),
          "RESOLVE_NO_SYMLINKS: ELOOP");
    check(reads(open2(dir, "file", O_RDONLY, RESOLVE_NO_SYMLINKS), "inside"),
          "RESOLVE_NO_SYMLINKS: a plain file opens");

    check(reads(open2(dir, "rel", O_RDONLY, RESOLVE_NO_MAGICLINKS), "inside"),
          "RESOLVE_NO_MAGICLINKS: a plain link is followed");
    errno = 0;
    check(fails(open2(dir, "/proc/self/cwd", O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT), ENOENT),
          "RESOLVE_IN_ROOT: /proc is not in the directory: ENOENT");
    int root = open("/", O_RDONLY | O_DIRECTORY);
    errno = 0;
    check(fails(open2(root, "proc/self/status", O_RDONLY, RESOLVE_NO_XDEV), EXDEV),
          "RESOLVE_NO_XDEV: into /proc is EXDEV");
    check(reads(open2(dir, "file", O_RDONLY, RESOLVE_NO_XDEV), "inside"),
          "RESOLVE_NO_XDEV: within one file system");
    close(root);

    check(reads(open2(dir, "file", O_RDONLY, RESOLVE_CACHED), "inside"), "RESOLVE_CACHED");
    errno = 0;
    check(fails(open2(dir, "new", O_RDONLY | O_CREAT, RESOLVE_CACHED), EAGAIN),
          "RESOLVE_CACHED with O_CREAT: EAGAIN");

    struct how h = {O_RDWR | O_CREAT | O_EXCL, 0600, RESOLVE_BENEATH};
    f = (int)syscall(SYS_openat2, dir, "made", &h, sizeof h);
    struct stat st;
    check(f >= 0 && write(f, "m", 1) == 1 && fstat(f, &st) == 0 && (st.st_mode & 0777) == 0600,
          "O_CREAT beneath the directory, mode 0600");
    if (f >= 0)
        close(f);

    // struct open_how as Linux checks it.
    struct {
        struct how h;
        uint64_t more;
    } big = {{O_RDONLY, 0, 0}, 0};
    check(reads((int)syscall(SYS_openat2, dir, "file", &big, sizeof big), "inside"),
          "a larger struct with zeros after the fields");
    big.more = 1;
    errno = 0;
    check(fails((int)syscall(SYS_openat2, dir, "file", &big, sizeof big), E2BIG),
          "a non-zero byte after the fields: E2BIG");
    errno = 0;
    check(fails((int)syscall(SYS_openat2, dir, "file", &big, 16), EINVAL),
          "a size under 24: EINVAL");
    errno = 0;
    check(fails((int)syscall(SYS_openat2, dir, "file", &big, 8192), E2BIG),
          "a size over a page: E2BIG");
    struct how bad = {O_RDONLY, 0644, 0};
    errno = 0;
    check(fails((int)syscall(SYS_openat2, dir, "file", &bad, sizeof bad), EINVAL),
          "a mode without O_CREAT: EINVAL");
    bad.mode = 0;
    bad.flags = 1u << 30;
    errno = 0;
    check(fails((int)syscall(SYS_openat2, dir, "file", &bad, sizeof bad), EINVAL),
          "an unknown flag: EINVAL");
    bad.flags = O_RDONLY;
    bad.resolve = 0x40;
    errno = 0;
    check(fails((int)syscall(SYS_openat2, dir, "file", &bad, sizeof bad), EINVAL),
          "an unknown resolve bit: EINVAL");
    bad.resolve = RESOLVE_BENEATH | RESOLVE_IN_ROOT;
    errno = 0;
    check(fails((int)syscall(SYS_openat2, dir, "file", &bad, sizeof bad), EINVAL),
          "RESOLVE_BENEATH with RESOLVE_IN_ROOT: EINVAL");
    errno = 0;
    check(fails((int)syscall(SYS_openat2, dir, "file", (void *)8, sizeof bad), EFAULT),
          "a wild open_how: EFAULT");
    close(dir);

    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", top);
    const char *names[] = {"file", "rel", "up", "abs", "rootabs", "made"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%.200s/%s", sub, names[i]);
        unlink(path);
    }
    rmdir(sub);
    snprintf(path, sizeof path, "%s/outside", top);
    unlink(path);
    rmdir(top);

    printf("openat2: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
