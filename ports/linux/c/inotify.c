// inotify as a Linux-ABI C program sees it, in a fresh directory under /tmp: the events of
// creating, opening, writing, reading, closing, chmod, rename, hard links, unlink, mkdir and
// rmdir, setting times, on a watched directory and on a watched file; rm_watch, IN_ONESHOT, IN_MASK_CREATE,
// IN_ONLYDIR, a buffer too small for an event, FIONREAD, poll, and the errors Linux gives.
// Events are printed as WATCH:MASK[:name] (D: the directory, F: the file, S: a subdirectory).
// Prints `ok WHAT` or `FAIL WHAT` per check, then `inotify: N passed, N failed`; exit status 0
// only if every check passed. The same program passes on Linux.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static int ifd, wd_dir = -10, wd_file = -10, wd_sub = -10;

static const char *label(int wd) {
    if (wd == wd_dir) return "D";
    if (wd == wd_file) return "F";
    if (wd == wd_sub) return "S";
    if (wd == -1) return "-";
    return "?";
}

static const struct { uint32_t bit; const char *name; } NAMES[] = {
    {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
    {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
    {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"}, {IN_CREATE, "CREATE"},
    {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
    {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"},
};

// Every queued event as text, space-separated. A rename's pair shows `~` after both names
// when their cookies match and are not 0.
static void events(char *out, size_t size) {
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    uint32_t from_cookie = 0;
    out[0] = 0;
    for (;;) {
        ssize_t n = read(ifd, buf, sizeof buf);
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            char mask[128] = "";
            for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
                if (e->mask & NAMES[i].bit) {
                    if (mask[0]) strcat(mask, "|");
                    strcat(mask, NAMES[i].name);
                }
            }
            const char *pair = "";
            if (e->mask & IN_MOVED_FROM) from_cookie = e->cookie, pair = e->cookie ? "~" : "";
            if (e->mask & IN_MOVED_TO) pair = e->cookie && e->cookie == from_cookie ? "~" : "!";
            size_t len = strlen(out);
            snprintf(out + len, size - len, "%s%s:%s%s%s%s", len ? " " : "", label(e->wd), mask,
                     e->len ? ":" : "", e->len ? e->name : "", pair);
            p += sizeof *e + e->len;
        }
    }
}

static void expect(const char *what, const char *want) {
    char got[2048];
    events(got, sizeof got);
    int ok = strcmp(got, want) == 0;
    check(ok, what);
    if (!ok) printf("     got:  %s\n     want: %s\n", got, want);
}

int main(void) {
    const char *dir = "/tmp/inotify-check";
    char f[64], g[64], h[64], s[64], path[64];
    snprintf(f, sizeof f, "%s/f", dir);
    snprintf(g, sizeof g, "%s/g", dir);
    snprintf(h, sizeof h, "%s/h", dir);
    snprintf(s, sizeof s, "%s/s", dir);
    unlink(f), unlink(g), unlink(h), rmdir(s);
    for (int i = 0; i < 3; i++) snprintf(path, sizeof path, "%s/o%d", dir, i), unlink(path);
    rmdir(dir);
    mkdir(dir, 0755);

    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    check(ifd >= 0, "inotify_init1");
    char byte;
    check(read(ifd, &byte, 1) < 0 && errno == EAGAIN, "nothing queued: EAGAIN");
    wd_dir = inotify_add_watch(ifd, dir, IN_ALL_EVENTS);
    check(wd_dir >= 1, "watch the directory");

    int fd = open(f, O_CREAT | O_WRONLY, 0644);
    expect("create", "D:CREATE:f D:OPEN:f");
    check(write(fd, "hello", 5) == 5, "write 5 bytes");
    expect("write", "D:MODIFY:f");
    close(fd);
    expect("close after writing", "D:CLOSE_WRITE:f");

    wd_file = inotify_add_watch(ifd, f, IN_ALL_EVENTS);
    check(wd_file >= 1 && wd_file != wd_dir, "watch the file");
    fd = open(f, O_RDONLY);
    char text[32];
    check(read(fd, text, sizeof text) == 5, "read 5 bytes");
    close(fd);
    expect("open, read, close", "D:OPEN:f F:OPEN D:ACCESS:f F:ACCESS D:CLOSE_NOWRITE:f F:CLOSE_NOWRITE");
    fd = open(f, O_WRONLY | O_TRUNC);
    close(fd);
    expect("O_TRUNC", "D:OPEN:f F:OPEN D:MODIFY:f F:MODIFY D:CLOSE_WRITE:f F:CLOSE_WRITE");
    chmod(f, 0600);
    expect("chmod", "D:ATTRIB:f F:ATTRIB");
    struct timespec times[2] = {{0, UTIME_OMIT}, {1000, 0}};
    utimensat(AT_FDCWD, f, times, 0);
    expect("set the modification time alone", "D:MODIFY:f F:MODIFY");
    utimensat(AT_FDCWD, f, NULL, 0);
    expect("set both times", "D:ATTRIB:f F:ATTRIB");
    rename(f, g);
    expect("rename", "D:MOVED_FROM:f~ D:MOVED_TO:g~ F:MOVE_SELF");
    link(g, h);
    expect("link", "F:ATTRIB D:CREATE:h");
    unlink(h);
    expect("unlink one of two names", "F:ATTRIB D:DELETE:h");
    unlink(g);
    expect("unlink the last name", "F:ATTRIB F:DELETE_SELF F:IGNORED D:DELETE:g");

    mkdir(s, 0755);
    expect("mkdir", "D:CREATE|ISDIR:s");
    wd_sub = inotify_add_watch(ifd, s, IN_ALL_EVENTS | IN_ONLYDIR);
    check(wd_sub >= 1, "IN_ONLYDIR on a directory");
    check(inotify_add_watch(ifd, s, IN_ALL_EVENTS) == wd_sub, "watching again: the same wd");
    errno = 0;
    check(inotify_add_watch(ifd, s, IN_ATTRIB | IN_MASK_CREATE) < 0 && errno == EEXIST,
          "IN_MASK_CREATE on a watched node: EEXIST");
    rmdir(s);
    expect("rmdir", "S:DELETE_SELF S:IGNORED D:DELETE|ISDIR:s");

    fd = open(f, O_CREAT | O_WRONLY, 0644);
    close(fd);
    char drain[512];
    events(drain, sizeof drain);
    errno = 0;
    check(inotify_add_watch(ifd, f, IN_ALL_EVENTS | IN_ONLYDIR) < 0 && errno == ENOTDIR,
          "IN_ONLYDIR on a file: ENOTDIR");
    errno = 0;
    check(inotify_add_watch(ifd, "/tmp/inotify-check/missing", IN_ALL_EVENTS) < 0 &&
              errno == ENOENT, "a missing path: ENOENT");
    errno = 0;
    check(inotify_add_watch(ifd, dir, 0) < 0 && errno == EINVAL, "no event in the mask: EINVAL");
    errno = 0;
    check(inotify_add_watch(1, dir, IN_ALL_EVENTS) < 0 && errno == EINVAL,
          "not an inotify descriptor: EINVAL");
    errno = 0;
    check(inotify_add_watch(999, dir, IN_ALL_EVENTS) < 0 && errno == EBADF, "a closed descriptor: EBADF");

    // A record with a name is 16 bytes of header plus the name padded to 16.
    unlink(f);
    int avail = -1;
    check(ioctl(ifd, FIONREAD, &avail) == 0 && avail == 32, "FIONREAD: one 32-byte record");
    struct pollfd p = {.fd = ifd, .events = POLLIN};
    check(poll(&p, 1, 0) == 1 && (p.revents & POLLIN), "poll: readable");
    errno = 0;
    check(read(ifd, text, 16) < 0 && errno == EINVAL, "a buffer too small: EINVAL");
    expect("the event is still there", "D:DELETE:f");
    check(poll(&p, 1, 0) == 0, "poll: not readable once read");

    check(inotify_rm_watch(ifd, wd_dir) == 0, "rm_watch");
    expect("rm_watch queues IN_IGNORED", "D:IGNORED");
    errno = 0;
    check(inotify_rm_watch(ifd, wd_dir) < 0 && errno == EINVAL, "rm_watch again: EINVAL");

    wd_dir = inotify_add_watch(ifd, dir, IN_CREATE | IN_ONESHOT);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/o%d", dir, i);
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }
    expect("IN_ONESHOT: one event", "D:CREATE:o0 D:IGNORED");

    close(ifd);
    printf("inotify: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
