// Preview1 behaviour where runtimes differ (issue #9, item 9), in /box (run with the preopens
// /all and /box like sandbox.c): `fd_readdir` lists `.` and `..`; hard links (`path_link`);
// trailing slashes; `O_DIRECTORY` with write access; the fdflags a file was opened with; the
// sync flags; creating through a dangling symbolic link. The expected results are wasmtime's (50.0.1); xtask also runs this program under
// wasmtime and compares the whole output byte for byte. Directory listings are sorted (the
// order of entries is the host file system's under wasmtime).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

#define FAILS(call, e, what)                                                                   \
    do {                                                                                       \
        errno = 0;                                                                             \
        int r_ = (call);                                                                       \
        int ok_ = r_ < 0 && errno == (e);                                                      \
        check(ok_, what);                                                                      \
        if (!ok_)                                                                              \
            printf("  got %d, errno %d (%s)\n", r_, r_ < 0 ? errno : 0, strerror(errno));      \
    } while (0)

static void put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("FAIL put %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    write(fd, s, strlen(s));
    close(fd);
}

static int reads(const char *path, const char *want) {
    char buf[64];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    int k = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[k < 0 ? 0 : k] = 0;
    return strcmp(buf, want) == 0;
}

static int closed(int fd) {
    if (fd >= 0)
        close(fd);
    return fd;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// The names `dir` lists from its current position, sorted, comma-separated, into `out`.
static void listing(DIR *dir, char *out, size_t n) {
    char *names[64];
    int count = 0;
    struct dirent *e;
    while (count < 64 && (e = readdir(dir)))
        names[count++] = strdup(e->d_name);
    qsort(names, count, sizeof *names, by_name);
    out[0] = 0;
    for (int i = 0; i < count; i++) {
        if (i)
            strncat(out, ",", n - strlen(out) - 1);
        strncat(out, names[i], n - strlen(out) - 1);
        free(names[i]);
    }
}

static int fdflags(int fd) {
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) != 0)
        return -1;
    return st.fs_flags;
}

int main(void) {
    char buf[256];
    struct stat st, st2;

    // fd_readdir lists `.` and `..`.
    check(mkdir("/box/rd", 0755) == 0 && mkdir("/box/rd/sub", 0755) == 0, "mkdir rd, rd/sub");
    put("/box/rd/f", "f\n");
    DIR *dir = opendir("/box/rd");
    listing(dir, buf, sizeof buf);
    printf("rd lists %s\n", buf);
    check(strcmp(buf, ".,..,f,sub") == 0, "readdir lists . and .. and the entries");
    rewinddir(dir);
    struct dirent *first = readdir(dir);
    check(first && strcmp(first->d_name, ".") == 0, "the first entry is .");
    struct dirent *second = readdir(dir);
    check(second && strcmp(second->d_name, "..") == 0, "the second entry is ..");
    check(first && second && first->d_type == DT_DIR && second->d_type == DT_DIR, ". and .. are directories");
    long at = telldir(dir);
    listing(dir, buf, sizeof buf);
    check(strcmp(buf, "f,sub") == 0, "then the entries");
    seekdir(dir, at);
    listing(dir, buf, sizeof buf);
    check(strcmp(buf, "f,sub") == 0, "seekdir back past .. lists the entries again");
    closedir(dir);
    dir = opendir("/box/rd/sub");
    listing(dir, buf, sizeof buf);
    check(strcmp(buf, ".,..") == 0, "an empty directory lists . and ..");
    closedir(dir);

    // Hard links.
    put("/box/f1", "one\n");
    check(link("/box/f1", "/box/f2") == 0, "link f1 f2");
    check(stat("/box/f1", &st) == 0 && stat("/box/f2", &st2) == 0 && st.st_nlink == 2 &&
              st2.st_nlink == 2 && st.st_ino == st2.st_ino,
          "same inode, two links");
    put("/box/f2", "two\n");
    check(reads("/box/f1", "two\n"), "a write through one name shows through the other");
    check(link("/box/f2", "/box/rd/f3") == 0 && stat("/box/f1", &st) == 0 && st.st_nlink == 3,
          "a third name in another directory");
    dir = opendir("/box/rd");
    listing(dir, buf, sizeof buf);
    closedir(dir);
    check(strcmp(buf, ".,..,f,f3,sub") == 0, "readdir lists the new name");
    check(unlink("/box/f1") == 0 && reads("/box/f2", "two\n") && stat("/box/f2", &st) == 0 &&
              st.st_nlink == 2,
          "unlink one name: the file stays");
    put("/box/g", "g\n");
    check(rename("/box/g", "/box/f2") == 0 && reads("/box/f2", "g\n") && reads("/box/rd/f3", "two\n") &&
              stat("/box/rd/f3", &st) == 0 && st.st_nlink == 1,
          "rename over one name: the other keeps the file");
    check(link("/box/rd/f3", "/box/f4") == 0 && rename("/box/rd/f3", "/box/f4") == 0 &&
              stat("/box/f4", &st) == 0 && st.st_nlink == 2 && stat("/box/rd/f3", &st) == 0,
          "rename onto another name of the same file does nothing");
    FAILS(link("/box/rd", "/box/rd2"), EPERM, "link a directory: EPERM");
    FAILS(link("/box/f4", "/box/f2"), EEXIST, "link onto an existing name: EEXIST");
    FAILS(link("/box/f4", "/box/rd"), EEXIST, "link onto a directory: EEXIST");
    FAILS(link("/box/nope", "/box/x"), ENOENT, "link a missing file: ENOENT");
    FAILS(link("/box/f4", "/box/nope/x"), ENOENT, "link into a missing directory: ENOENT");
    check(symlink("f4", "/box/sl") == 0 && link("/box/sl", "/box/sl2") == 0 && lstat("/box/sl2", &st) == 0 &&
              S_ISLNK(st.st_mode) && reads("/box/sl2", "two\n"),
          "link a symbolic link: the link itself");
    FAILS(linkat(AT_FDCWD, "/box/sl", AT_FDCWD, "/box/sl3", AT_SYMLINK_FOLLOW), EINVAL, "link with AT_SYMLINK_FOLLOW: EINVAL");
    check(unlink("/box/f4") == 0 && unlink("/box/rd/f3") == 0 && stat("/box/f4", &st) < 0, "unlink both names");

    // Trailing slashes.
    put("/box/t", "t\n");
    FAILS(closed(open("/box/t/", O_RDONLY)), ENOTDIR, "open t/ (a file): ENOTDIR");
    FAILS(stat("/box/t/", &st), ENOTDIR, "stat t/: ENOTDIR");
    FAILS(closed(open("/box/new/", O_WRONLY | O_CREAT, 0644)), EISDIR, "create new/: EISDIR");
    FAILS(stat("/box/new", &st), ENOENT, "nothing was created");
    FAILS(unlink("/box/t/"), ENOTDIR, "unlink t/: ENOTDIR");
    check(reads("/box/t", "t\n"), "t is still there");
    FAILS(symlink("t", "/box/s/"), ENOENT, "symlink to s/: ENOENT");
    FAILS(symlink("t", "/box/rd/"), EEXIST, "symlink to rd/ (a directory): EEXIST");
    FAILS(link("/box/t", "/box/l/"), ENOENT, "link to l/: ENOENT");
    FAILS(link("/box/t", "/box/rd/"), EEXIST, "link to rd/ (a directory): EEXIST");
    FAILS(link("/box/t/", "/box/l"), ENOTDIR, "link from t/: ENOTDIR");
    check(mkdir("/box/nd/", 0755) == 0, "mkdir nd/");
    check(closed(open("/box/nd/", O_RDONLY)) >= 0, "open nd/");
    check(stat("/box/nd/", &st) == 0 && S_ISDIR(st.st_mode), "stat nd/");
    FAILS(unlink("/box/nd/"), EISDIR, "unlink nd/: EISDIR");
    check(rmdir("/box/nd") == 0, "rmdir nd");
    FAILS(rename("/box/t/", "/box/t2"), ENOTDIR, "rename t/ to t2: ENOTDIR");
    FAILS(rename("/box/t", "/box/t2/"), ENOTDIR, "rename t to t2/: ENOTDIR");
    check(mkdir("/box/m", 0755) == 0 && rename("/box/m/", "/box/m2/") == 0 && stat("/box/m2", &st) == 0,
          "rename m/ to m2/ (a directory)");
    check(symlink("rd", "/box/ld") == 0 && stat("/box/ld/", &st) == 0 && S_ISDIR(st.st_mode),
          "stat ld/ follows the link to the directory");
    check(symlink("t", "/box/lt") == 0, "symlink lt -> t");
    FAILS(stat("/box/lt/", &st), ENOTDIR, "stat lt/ (a link to a file): ENOTDIR");

    // O_DIRECTORY with write access.
    check(closed(open("/box/rd", O_RDONLY | O_DIRECTORY)) >= 0, "O_RDONLY | O_DIRECTORY on a directory");
    FAILS(closed(open("/box/rd", O_RDWR | O_DIRECTORY)), EISDIR, "O_RDWR | O_DIRECTORY: EISDIR");
    FAILS(closed(open("/box/rd", O_WRONLY | O_DIRECTORY)), EISDIR, "O_WRONLY | O_DIRECTORY: EISDIR");
    FAILS(closed(open("/box/rd", O_RDWR)), EISDIR, "O_RDWR on a directory: EISDIR");
    FAILS(closed(open("/box/t", O_RDONLY | O_DIRECTORY)), ENOTDIR, "O_DIRECTORY on a file: ENOTDIR");

    // fdflags given at open.
    int fd = open("/box/t", O_WRONLY | O_APPEND);
    check(fd >= 0 && fdflags(fd) == __WASI_FDFLAGS_APPEND, "opened with O_APPEND: fdflags APPEND");
    check((fcntl(fd, F_GETFL) & O_APPEND) != 0, "and F_GETFL has O_APPEND");
    write(fd, "u\n", 2);
    close(fd);
    check(reads("/box/t", "t\nu\n"), "the write went to the end");
    fd = open("/box/t", O_RDONLY | O_NONBLOCK);
    check(fd >= 0 && fdflags(fd) == __WASI_FDFLAGS_NONBLOCK, "opened with O_NONBLOCK: fdflags NONBLOCK");
    check(fd >= 0 && fcntl(fd, F_SETFL, 0) == 0 && fdflags(fd) == 0, "cleared with F_SETFL");
    close(fd);
    fd = open("/box/t", O_RDONLY);
    check(fd >= 0 && fdflags(fd) == 0, "opened without flags: fdflags 0");
    close(fd);
    FAILS(closed(open("/box/t", O_WRONLY | O_SYNC)), ENOTSUP, "O_SYNC: ENOTSUP");
    FAILS(closed(open("/box/t", O_WRONLY | O_DSYNC)), ENOTSUP, "O_DSYNC: ENOTSUP");
    FAILS(closed(open("/box/t", O_RDONLY | O_RSYNC)), ENOTSUP, "O_RSYNC: ENOTSUP");
    check(reads("/box/t", "t\nu\n"), "the refused opens left t alone");
    fd = open("/box/t", O_WRONLY | O_TRUNC);
    check(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "O_TRUNC empties the file");
    closed(fd);

    // O_CREAT through a dangling symbolic link creates its target (inside /box only).
    check(symlink("rd/target.txt", "/box/dl") == 0, "symlink dl -> rd/target.txt (dangling)");
    check(closed(open("/box/dl", O_WRONLY | O_CREAT, 0644)) >= 0 && stat("/box/rd/target.txt", &st) == 0,
          "O_CREAT through it creates rd/target.txt");
    check(symlink("../out.txt", "/box/dl2") == 0, "symlink dl2 -> ../out.txt (dangling, out of /box)");
    FAILS(closed(open("/box/dl2", O_WRONLY | O_CREAT, 0644)), EPERM, "O_CREAT through it: EPERM");
    FAILS(stat("/all/out.txt", &st), ENOENT, "nothing was created above /box");
    FAILS(closed(open("/box/dl", O_WRONLY | O_CREAT | O_EXCL, 0644)), EEXIST, "O_CREAT | O_EXCL on the link: EEXIST");
    FAILS(closed(open("/box/dl", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644)), ELOOP, "O_CREAT | O_NOFOLLOW on the link: ELOOP");

    printf("semantics: %d failures\n", failures);
    return failures != 0;
}
