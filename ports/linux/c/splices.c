// splice, vmsplice and tee as a Linux-ABI C program uses them, in a fresh file under /tmp:
// file to pipe at an offset (updated) or the file position, pipe to file, pipe to pipe, one
// transfer of what a pipe holds, SPLICE_F_NONBLOCK on an empty pipe, vmsplice into and out
// of a pipe, tee (a copy that leaves the source's bytes), and the errors (no pipe: EINVAL,
// an offset on a pipe: ESPIPE, a wrong-way descriptor: EBADF, unknown flags: EINVAL).
// Prints `ok WHAT` or `FAIL WHAT (errno text)` per check, then `splices: N passed, N failed`;
// exit status 0 only if every check passed. The same program passes on Linux.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "check.h"

static int got(int fd, const char *want) {
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    return n == (ssize_t)strlen(want) && memcmp(buf, want, n) == 0;
}

int main(void) {
    const char *path = "/tmp/splices-file";
    unlink(path);
    int f = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    check(f >= 0 && write(f, "abcdef123456", 12) == 12, "a 12-byte file");
    int p[2], q[2];
    check(pipe(p) == 0 && pipe(q) == 0, "two pipes");

    loff_t off = 5;
    check(splice(f, &off, p[1], NULL, 2, 0) == 2 && off == 7 && got(p[0], "f1"),
          "file to pipe at offset 5: f1, offset 7");
    check(lseek(f, 0, SEEK_CUR) == 12, "the file position did not move");
    lseek(f, 3, SEEK_SET);
    check(splice(f, NULL, p[1], NULL, 4, 0) == 4 && lseek(f, 0, SEEK_CUR) == 7 &&
              got(p[0], "def1"),
          "file to pipe at the position, which moves");
    lseek(f, 12, SEEK_SET);
    check(splice(f, NULL, p[1], NULL, 4, 0) == 0, "at the end of the file: 0");

    check(write(p[1], "xyz", 3) == 3, "3 bytes into the pipe");
    check(splice(p[0], NULL, f, NULL, 100, 0) == 3, "pipe to file: the 3 there, of 100 asked");
    char buf[32] = {0};
    check(pread(f, buf, 32, 0) == 15 && memcmp(buf + 12, "xyz", 3) == 0,
          "they are at the file's end");
    off = 0;
    check(write(p[1], "AB", 2) == 2 && splice(p[0], NULL, f, &off, 2, 0) == 2 && off == 2 &&
              pread(f, buf, 2, 0) == 2 && memcmp(buf, "AB", 2) == 0,
          "pipe to file at offset 0");

    check(write(p[1], "pipe2pipe", 9) == 9 && splice(p[0], NULL, q[1], NULL, 64, 0) == 9 &&
              got(q[0], "pipe2pipe"),
          "pipe to pipe");
    errno = 0;
    check(splice(p[0], NULL, q[1], NULL, 8, SPLICE_F_NONBLOCK) == -1 && errno == EAGAIN,
          "SPLICE_F_NONBLOCK on an empty pipe: EAGAIN");

    errno = 0;
    check(splice(f, NULL, f, NULL, 4, 0) == -1 && errno == EINVAL, "no pipe: EINVAL");
    off = 0;
    errno = 0;
    check(splice(p[0], &off, f, NULL, 4, 0) == -1 && errno == ESPIPE,
          "an offset on the pipe side: ESPIPE");
    errno = 0;
    check(splice(f, NULL, p[0], NULL, 4, 0) == -1 && errno == EBADF,
          "into a pipe's read end: EBADF");
    errno = 0;
    check(splice(f, NULL, p[1], NULL, 4, 0x100) == -1 && errno == EINVAL,
          "unknown flags: EINVAL");

    struct iovec in[2] = {{"abc", 3}, {"def", 3}};
    check(vmsplice(p[1], in, 2, 0) == 6 && got(p[0], "abcdef"), "vmsplice into a pipe");
    char x[4] = {0}, y[4] = {0};
    struct iovec out[2] = {{x, 2}, {y, 3}};
    check(write(p[1], "12345", 5) == 5 && vmsplice(p[0], out, 2, 0) == 5 &&
              memcmp(x, "12", 2) == 0 && memcmp(y, "345", 3) == 0,
          "vmsplice out of a pipe");
    errno = 0;
    check(vmsplice(f, in, 2, 0) == -1 && errno == EBADF, "vmsplice on a file: EBADF");
    errno = 0;
    check(vmsplice(p[0], in, 2, SPLICE_F_NONBLOCK) == -1 && errno == EAGAIN,
          "vmsplice(SPLICE_F_NONBLOCK) from an empty pipe: EAGAIN");

    check(write(p[1], "abc", 3) == 3 && tee(p[0], q[1], 2, 0) == 2, "tee 2 of 3 bytes");
    check(got(q[0], "ab") && got(p[0], "abc"), "the copy arrives, the source keeps all 3");
    errno = 0;
    check(tee(p[0], q[1], 8, SPLICE_F_NONBLOCK) == -1 && errno == EAGAIN,
          "tee(SPLICE_F_NONBLOCK) from an empty pipe: EAGAIN");
    errno = 0;
    check(tee(p[0], p[1], 8, 0) == -1 && errno == EINVAL, "tee within one pipe: EINVAL");
    errno = 0;
    check(tee(f, q[1], 8, 0) == -1 && errno == EINVAL, "tee from a file: EINVAL");
    close(q[1]);
    int r[2];
    pipe(r);
    close(r[1]);
    int w[2];
    pipe(w);
    check(tee(r[0], w[1], 8, 0) == 0, "tee at a pipe's end of file: 0");

    close(f);
    unlink(path);
    printf("splices: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
