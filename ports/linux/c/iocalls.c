// Less common I/O calls of a Linux-ABI C program, in a fresh directory under /tmp: truncate,
// preadv/pwritev (and the v2 forms), sendfile, copy_file_range, posix_fadvise, select and
// pselect, getresuid/getresgid, getcpu, fcntl's F_GETFL/F_SETFL flags, named pipes (mkfifo:
// blocking and non-blocking opens, data through them, end of file), mknod, and poll's
// hang-ups (POLLHUP, POLLRDHUP), with the errno values Linux gives. Prints `ok WHAT` or `FAIL WHAT (errno text)` per check, then
// `iocalls: N passed, N failed`; exit status 0 only if every check passed. The same program
// passes on Linux.
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include "check.h"

static int contents_are(const char *path, const char *want) {
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    close(fd);
    return n == (ssize_t)strlen(want) && memcmp(buf, want, n) == 0;
}

static const char *fifo = "/tmp/iocalls/fifo";

static void *fifo_writer(void *arg) {
    (void)arg;
    int w = open(fifo, O_WRONLY); // waits for the reader
    write(w, "ping", 4);
    close(w);
    return NULL;
}

static void hang_ups(void) {
    int p[2];
    pipe(p);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    check(poll(&pf, 1, 0) == 0, "poll: an open pipe with nothing in it");
    close(p[1]);
    // Linux reports POLLHUP alone here; POLLIN too (a read gives end of file) is allowed.
    check(poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP) && !(pf.revents & POLLOUT),
          "poll: POLLHUP on the read end after the writer closed");
    pf.events = 0;
    check(poll(&pf, 1, 0) == 1 && pf.revents == POLLHUP, "POLLHUP even when not asked for");
    close(p[0]);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct pollfd sp = {.fd = sv[0], .events = POLLIN | POLLRDHUP};
    check(poll(&sp, 1, 0) == 0, "poll: a connected socket pair, nothing sent");
    shutdown(sv[1], SHUT_WR);
    check(poll(&sp, 1, 0) == 1 && (sp.revents & POLLRDHUP) && (sp.revents & POLLIN) &&
              !(sp.revents & POLLHUP),
          "poll: POLLRDHUP after the peer shut down writing");
    close(sv[1]);
    sp.revents = 0;
    check(poll(&sp, 1, 0) == 1 && (sp.revents & POLLHUP), "poll: POLLHUP once the peer closed");
    close(sv[0]);
}

static void named_pipes(void) {
    check(mkfifo(fifo, 0600) == 0, "mkfifo");
    struct stat st;
    check(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600,
          "stat: a FIFO with mode 0600");
    check(mkfifo(fifo, 0600) == -1 && errno == EEXIST, "mkfifo again: EEXIST");
    check(mkfifo("/tmp/iocalls", 0600) == -1 && errno == EEXIST, "mkfifo on a directory: EEXIST");
    check(open(fifo, O_WRONLY | O_NONBLOCK) == -1 && errno == ENXIO,
          "a non-blocking write-only open without a reader: ENXIO");
    int r = open(fifo, O_RDONLY | O_NONBLOCK);
    check(r >= 0, "a non-blocking read-only open returns at once");
    struct pollfd fp = {.fd = r, .events = POLLIN};
    check(poll(&fp, 1, 0) == 0, "poll: a FIFO reader waiting for its first writer is not hung up");
    char buf[16] = {0};
    check(read(r, buf, sizeof buf) == 0, "reading with no writer yet: end of file");
    int w = open(fifo, O_WRONLY | O_NONBLOCK);
    check(w >= 0, "a non-blocking write-only open with a reader");
    check(write(w, "hello", 5) == 5, "write into the FIFO");
    check(read(r, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0, "the reader gets it");
    check(read(r, buf, sizeof buf) == -1 && errno == EAGAIN, "then EAGAIN while the writer is open");
    struct stat fst;
    check(fstat(r, &fst) == 0 && S_ISFIFO(fst.st_mode) && fst.st_ino == st.st_ino,
          "fstat of an end: the FIFO's inode");
    close(w);
    fp.revents = 0;
    check(poll(&fp, 1, 0) == 1 && (fp.revents & POLLHUP), "poll: POLLHUP once the writer closed");
    check(read(r, buf, sizeof buf) == 0, "end of file once the writer closed");
    close(r);

    pthread_t t;
    pthread_create(&t, NULL, fifo_writer, NULL);
    r = open(fifo, O_RDONLY); // waits for the writer
    memset(buf, 0, sizeof buf);
    ssize_t n = 0, k;
    while ((k = read(r, buf + n, sizeof buf - 1 - n)) > 0)
        n += k;
    check(r >= 0 && n == 4 && memcmp(buf, "ping", 4) == 0, "blocking opens meet; the data arrives, then end of file");
    pthread_join(t, NULL);
    close(r);
    int rw = open(fifo, O_RDWR);
    check(rw >= 0 && write(rw, "x", 1) == 1 && read(rw, buf, 1) == 1 && buf[0] == 'x',
          "a read-write open does not wait and carries data");
    close(rw);

    DIR *d = opendir("/tmp/iocalls");
    struct dirent *e;
    int dtype = -1;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, "fifo") == 0)
            dtype = e->d_type;
    if (d)
        closedir(d);
    check(dtype == DT_FIFO, "readdir: DT_FIFO");
    check(unlink(fifo) == 0, "unlink the FIFO");

    const char *reg = "/tmp/iocalls/node";
    check(mknod(reg, S_IFREG | 0640, 0) == 0 && stat(reg, &st) == 0 && S_ISREG(st.st_mode) &&
              st.st_size == 0,
          "mknod S_IFREG: an empty regular file");
    check(mknod(reg, S_IFREG | 0640, 0) == -1 && errno == EEXIST, "mknod over it: EEXIST");
    int dirfd = open("/tmp/iocalls", O_DIRECTORY | O_RDONLY);
    check(mknodat(dirfd, "fifo2", S_IFIFO | 0644, 0) == 0 && stat("/tmp/iocalls/fifo2", &st) == 0 &&
              S_ISFIFO(st.st_mode),
          "mknodat S_IFIFO relative to a directory descriptor");
    close(dirfd);
    unlink("/tmp/iocalls/fifo2");
    unlink(reg);
}

int main(void) {
    const char *dir = "/tmp/iocalls";
    const char *a = "/tmp/iocalls/a", *b = "/tmp/iocalls/b";
    unlink(a), unlink(b), rmdir(dir);
    mkdir(dir, 0755);

    int fd = open(a, O_CREAT | O_RDWR | O_TRUNC, 0644);
    check(write(fd, "0123456789", 10) == 10, "write 10 bytes");
    check(truncate(a, 4) == 0 && contents_are(a, "0123"), "truncate to 4");
    check(truncate(a, 6) == 0 && lseek(fd, 0, SEEK_END) == 6, "truncate up to 6");
    errno = 0;
    check(truncate(dir, 0) < 0 && errno == EISDIR, "truncate a directory: EISDIR");
    errno = 0;
    check(truncate("/tmp/iocalls/missing", 0) < 0 && errno == ENOENT, "truncate a missing file: ENOENT");

    struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
    check(pwritev(fd, out, 2, 1) == 5, "pwritev 5 bytes at 1");
    char x[4] = {0}, y[8] = {0};
    struct iovec in[2] = {{x, 3}, {y, 7}};
    check(preadv(fd, in, 2, 0) == 6 && memcmp(x, "0ab", 3) == 0 && memcmp(y, "cde", 3) == 0,
          "preadv across two buffers");
    check(lseek(fd, 0, SEEK_CUR) == 6, "the position did not move");
    lseek(fd, 2, SEEK_SET);
    memset(x, 0, sizeof x);
    struct iovec one = {x, 2};
    check(syscall(SYS_preadv2, fd, &one, 1, -1L, 0L, 0) == 2 && memcmp(x, "bc", 2) == 0 &&
              lseek(fd, 0, SEEK_CUR) == 4, "preadv2 at the position moves it");
    errno = 0;
    check(preadv(fd, &one, 1, -5) < 0 && errno == EINVAL, "preadv at a negative offset: EINVAL");

    int fb = open(b, O_CREAT | O_RDWR | O_TRUNC, 0644);
    off_t off = 1;
    check(sendfile(fb, fd, &off, 100) == 5 && off == 6 && contents_are(b, "abcde"),
          "sendfile from an offset to the end");
    check(lseek(fd, 0, SEEK_CUR) == 4, "sendfile with an offset leaves the position");
    int p[2];
    pipe(p);
    lseek(fd, 0, SEEK_SET);
    check(sendfile(p[1], fd, NULL, 3) == 3 && lseek(fd, 0, SEEK_CUR) == 3, "sendfile to a pipe");
    char piped[4] = {0};
    check(read(p[0], piped, 3) == 3 && memcmp(piped, "0ab", 3) == 0, "the pipe got the bytes");

    loff_t in_off = 0, out_off = 5;
    check(copy_file_range(fd, &in_off, fb, &out_off, 3, 0) == 3 && in_off == 3 && out_off == 8 &&
              contents_are(b, "abcde0ab"), "copy_file_range between offsets");
    errno = 0;
    check(copy_file_range(fd, NULL, fb, NULL, 1, 1) < 0 && errno == EINVAL,
          "copy_file_range with flags: EINVAL");
    errno = 0;
    check(copy_file_range(p[0], NULL, fb, NULL, 1, 0) < 0 && errno == EINVAL,
          "copy_file_range from a pipe: EINVAL");

    check(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0, "posix_fadvise");
    check(posix_fadvise(fd, 0, 0, 99) == EINVAL, "posix_fadvise with bad advice: EINVAL");
    check(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL) == ESPIPE, "posix_fadvise on a pipe: ESPIPE");

    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    struct timeval tv = {1, 0};
    int n = select(p[1] + 1, &rd, &wr, NULL, &tv);
    check(n == 1 && !FD_ISSET(p[0], &rd) && FD_ISSET(p[1], &wr), "select: an empty pipe is writable only");
    write(p[1], "z", 1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timespec ts = {0, 0};
    check(pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL) == 1 && FD_ISSET(p[0], &rd),
          "pselect: readable once written");
    read(p[0], piped, 1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_sec = 0, tv.tv_usec = 20000;
    check(select(p[0] + 1, &rd, NULL, NULL, &tv) == 0 && !FD_ISSET(p[0], &rd),
          "select times out with nothing ready");
    int closed = dup(0);
    close(closed);
    FD_ZERO(&rd);
    FD_SET(closed, &rd);
    errno = 0;
    tv.tv_sec = 0, tv.tv_usec = 0;
    check(select(closed + 1, &rd, NULL, NULL, &tv) < 0 && errno == EBADF,
          "select on a closed descriptor: EBADF");

    uid_t r, e, s;
    check(getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid(), "getresuid");
    gid_t rg, eg, sg;
    check(getresgid(&rg, &eg, &sg) == 0 && rg == getgid() && eg == getegid(), "getresgid");
    unsigned cpu = 12345, node = 12345;
    check(syscall(SYS_getcpu, &cpu, &node, NULL) == 0 && cpu < 1024 && node < 64, "getcpu");

    // fcntl(F_GETFL): the access mode and status flags each description was opened with.
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    int fl = fcntl(d, F_GETFL);
    check((fl & O_ACCMODE) == O_RDONLY && (fl & O_DIRECTORY), "F_GETFL of a directory: O_RDONLY, O_DIRECTORY");
    close(d);
    int wa = open(a, O_WRONLY | O_APPEND);
    fl = fcntl(wa, F_GETFL);
    check((fl & O_ACCMODE) == O_WRONLY && (fl & O_APPEND) && !(fl & O_NONBLOCK), "F_GETFL: O_WRONLY, O_APPEND");
    check(fcntl(wa, F_SETFL, O_NONBLOCK) == 0 && (fcntl(wa, F_GETFL) & (O_NONBLOCK | O_APPEND)) == O_NONBLOCK,
          "F_SETFL sets O_NONBLOCK and clears O_APPEND");
    close(wa);
    int pp[2];
    pipe(pp);
    check((fcntl(pp[0], F_GETFL) & O_ACCMODE) == O_RDONLY && (fcntl(pp[1], F_GETFL) & O_ACCMODE) == O_WRONLY,
          "F_GETFL of pipe ends: O_RDONLY, O_WRONLY");
    close(pp[0]), close(pp[1]);

    close(fd), close(fb), close(p[0]), close(p[1]);
    named_pipes();
    hang_ups();
    printf("iocalls: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
