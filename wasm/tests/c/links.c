// Symbolic links, rename, hard links and readlink in a preopened directory (argv[1]), and
// escapes the sandbox refuses with EPERM (as wasmtime does): symlinks pointing outside
// (`..`; an absolute target cannot even be created), `..` in rename and link targets.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static int failures;

static void check(int ok, const char *what) {
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failures++;
}

static char dir[200];

static const char *p(const char *name) {
    static char bufs[4][256];
    static int i;
    char *b = bufs[i++ % 4];
    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

static void write_file(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, s, strlen(s));
    close(fd);
}

static int read_file(const char *path, char *buf, int n) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int k = read(fd, buf, n - 1);
    buf[k < 0 ? 0 : k] = 0;
    close(fd);
    return k;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: links DIR\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char buf[128];
    struct stat st;
    write_file(p("a.txt"), "alpha\n");
    mkdir(p("sub"), 0755);

    // symlink and readlink.
    check(symlink("../a.txt", p("sub/l")) == 0, "symlink sub/l -> ../a.txt");
    ssize_t n = readlink(p("sub/l"), buf, sizeof buf);
    check(n == 8 && memcmp(buf, "../a.txt", 8) == 0, "readlink gives the target as stored");
    check(readlink(p("sub/l"), buf, 3) == 3 && memcmp(buf, "../", 3) == 0, "readlink into a short buffer is cut");
    errno = 0;
    check(readlink(p("a.txt"), buf, sizeof buf) < 0 && errno == EINVAL, "readlink of a file: EINVAL");
    check(read_file(p("sub/l"), buf, sizeof buf) == 6 && strcmp(buf, "alpha\n") == 0, "open follows a link inside the preopen");
    check(lstat(p("sub/l"), &st) == 0 && S_ISLNK(st.st_mode), "lstat sees the link");
    errno = 0;
    check(symlink("x", p("sub/l")) < 0 && errno == EEXIST, "symlink over an existing path: EEXIST");
    struct timespec ts[2] = {{1234, 0}, {1234, 0}};
    check(utimensat(AT_FDCWD, p("sub/l"), ts, AT_SYMLINK_NOFOLLOW) == 0 && lstat(p("sub/l"), &st) == 0 &&
              st.st_mtim.tv_sec == 1234 && stat(p("a.txt"), &st) == 0 && st.st_mtim.tv_sec != 1234,
          "utimensat NOFOLLOW changes the link only");
    check(utimensat(AT_FDCWD, p("sub/l"), ts, 0) == 0 && stat(p("a.txt"), &st) == 0 && st.st_mtim.tv_sec == 1234,
          "utimensat follows to the target");

    // rename.
    check(rename(p("a.txt"), p("b.txt")) == 0, "rename a.txt -> b.txt");
    check(stat(p("a.txt"), &st) < 0 && errno == ENOENT && stat(p("b.txt"), &st) == 0, "old name gone, new one there");
    errno = 0;
    check(stat(p("sub/l"), &st) < 0 && errno == ENOENT, "the link now dangles: ENOENT");
    write_file(p("c.txt"), "gamma\n");
    check(rename(p("c.txt"), p("b.txt")) == 0 && read_file(p("b.txt"), buf, sizeof buf) == 6 && strcmp(buf, "gamma\n") == 0, "rename replaces a file");
    check(rename(p("sub"), p("sub2")) == 0 && lstat(p("sub2/l"), &st) == 0, "rename a directory");
    errno = 0;
    check(rename(p("nope"), p("x")) < 0 && errno == ENOENT, "rename missing: ENOENT");

    // hard links.
    check(link(p("b.txt"), p("hard")) == 0 && stat(p("hard"), &st) == 0 && st.st_nlink == 2, "link: two names");
    check(unlink(p("hard")) == 0 && stat(p("b.txt"), &st) == 0 && st.st_nlink == 1, "unlink the second name");
    errno = 0;
    check(link(p("nope"), p("hard")) < 0 && errno == ENOENT, "link missing source: ENOENT");
    errno = 0;
    check(link(p("b.txt"), p("sub2")) < 0 && errno == EEXIST, "link onto existing: EEXIST");

    // Sandbox escapes.
    errno = 0;
    check(rename(p("b.txt"), p("../escaped.txt")) < 0 && errno == EPERM, "rename to ../: EPERM");
    errno = 0;
    check(rename(p("../outside.txt"), p("in.txt")) < 0 && errno == EPERM, "rename from ../: EPERM");
    errno = 0;
    check(link(p("b.txt"), p("sub2/../../x")) < 0 && errno == EPERM, "link to ../: EPERM");
    errno = 0;
    check(link(p("../outside.txt"), p("x")) < 0 && errno == EPERM, "link from ../: EPERM");
    errno = 0;
    check(symlink("x", p("../evil")) < 0 && errno == EPERM, "symlink placed in ../: EPERM");
    check(symlink("../outside.txt", p("up")) == 0, "symlink up -> ../outside.txt (stored)");
    errno = 0;
    check(symlink("/etc/motd", p("abs")) < 0 && errno == EPERM, "symlink abs -> /etc/motd: EPERM");
    check(symlink("sub2/../..", p("root_up")) == 0, "symlink root_up -> sub2/../.. (stored)");
    check(readlink(p("root_up"), buf, sizeof buf) == 10 && memcmp(buf, "sub2/../..", 10) == 0, "readlink root_up is as stored");
    errno = 0;
    check(open(p("up"), O_RDONLY) < 0 && errno == EPERM, "open via ../ link: EPERM");
    errno = 0;
    check(open(p("up"), O_WRONLY | O_TRUNC) < 0 && errno == EPERM, "truncate via ../ link: EPERM");
    errno = 0;
    check(stat(p("root_up/outside.txt"), &st) < 0 && errno == EPERM, "stat through a climbing link: EPERM");
    errno = 0;
    check(utimensat(AT_FDCWD, p("up"), ts, 0) < 0 && errno == EPERM, "utimensat via ../ link: EPERM");
    check(rename(p("up"), p("up2")) == 0 && readlink(p("up2"), buf, sizeof buf) == 14, "renaming the link moves the link itself");
    errno = 0;
    check(open(p("up2"), O_RDONLY) < 0 && errno == EPERM, "renamed link still refused");
    check(unlink(p("up2")) == 0 && unlink(p("root_up")) == 0, "unlink the links");
    printf("links: %d failures\n", failures);
    return failures != 0;
}
