// File system calls of a Linux-ABI C program, in a fresh directory under /tmp: open, write,
// read, lseek, pread/pwrite, fstat, fchmod, futimens, stat, O_APPEND, O_EXCL, ftruncate, dup, rename, chdir and
// relative paths, mkdir, opendir/readdir, getdents64, rmdir, unlink, with the errno values Linux gives; then
// the user and group databases.
// Prints `ok WHAT` or `FAIL WHAT (errno text)` per check, then `cfiles: N ok, N failed`;
// exit status 0 only if every check passed. Nothing printed depends on the run (no pid).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

// Reads all of `path` into `buf` (NUL-terminated); returns the byte count or -1.
static ssize_t slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return n;
}

int main(void) {
    char dir[64], file[96], sub[96], renamed[96], rel[96], buf[128];
    snprintf(dir, sizeof dir, "/tmp/cfiles.%d", (int)getpid());
    snprintf(file, sizeof file, "%s/f.txt", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(renamed, sizeof renamed, "%s/g.txt", dir);
    snprintf(rel, sizeof rel, "%s/rel.txt", dir);
    char hard[96], lnk[96], hard2[96];
    snprintf(hard, sizeof hard, "%s/hard.txt", dir);
    snprintf(lnk, sizeof lnk, "%s/lnk", dir);
    snprintf(hard2, sizeof hard2, "%s/hard2.txt", dir);
    struct stat st;

    check(mkdir(dir, 0755) == 0, "mkdir");
    check(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "stat directory");

    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check(fd >= 0, "open O_CREAT");
    check(fd >= 3, "new descriptor above stdio");
    check(write(fd, "hello world\n", 12) == 12, "write 12 bytes");
    check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 12, "fstat size 12");
    check(fchmod(fd, 0640) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640, "fchmod 0640");
    // 1960-01-01 00:00:00.25 and 1969-12-31 23:59:59.5: negative seconds, nanoseconds forward.
    struct timespec old[2] = {{-315619200, 250000000}, {-1, 500000000}};
    check(futimens(fd, old) == 0 && fstat(fd, &st) == 0 && st.st_atim.tv_sec == -315619200 &&
              st.st_atim.tv_nsec == 250000000 && st.st_mtim.tv_sec == -1 &&
              st.st_mtim.tv_nsec == 500000000,
          "futimens before 1970");
    struct timespec bad[2] = {{0, 1000000000}, {0, UTIME_OMIT}};
    check(futimens(fd, bad) < 0 && errno == EINVAL, "futimens with 10^9 ns: EINVAL");
    check(close(fd) == 0, "close");
    check(close(fd) < 0 && errno == EBADF, "close again: EBADF");

    fd = open(file, O_RDWR);
    check(fd >= 0, "open O_RDWR");
    memset(buf, 0, sizeof buf);
    check(read(fd, buf, sizeof buf - 1) == 12 && strcmp(buf, "hello world\n") == 0, "read back");
    check(read(fd, buf, sizeof buf - 1) == 0, "read at end: 0");
    check(lseek(fd, 6, SEEK_SET) == 6, "lseek SEEK_SET");
    memset(buf, 0, sizeof buf);
    check(read(fd, buf, 5) == 5 && strcmp(buf, "world") == 0, "read after lseek");
    check(lseek(fd, 0, SEEK_CUR) == 11, "lseek SEEK_CUR");
    check(lseek(fd, -1, SEEK_END) == 11, "lseek SEEK_END");
    check(lseek(fd, -100, SEEK_SET) < 0 && errno == EINVAL, "lseek before start: EINVAL");
    memset(buf, 0, sizeof buf);
    check(pread(fd, buf, 5, 0) == 5 && strcmp(buf, "hello") == 0, "pread at 0");
    check(lseek(fd, 0, SEEK_CUR) == 11, "pread leaves the offset");
    check(pwrite(fd, "W", 1, 6) == 1, "pwrite");
    check(ftruncate(fd, 8) == 0 && fstat(fd, &st) == 0 && st.st_size == 8, "ftruncate to 8");
    int copy = dup(fd);
    check(copy > fd, "dup");
    check(lseek(copy, 0, SEEK_SET) == 0 && lseek(fd, 0, SEEK_CUR) == 0, "dup shares the offset");
    close(copy);
    close(fd);
    check(slurp(file, buf, sizeof buf) == 8 && strcmp(buf, "hello Wo") == 0, "content after pwrite and ftruncate");

    fd = open(file, O_WRONLY | O_APPEND);
    check(fd >= 0 && write(fd, "!\n", 2) == 2, "O_APPEND write");
    close(fd);
    check(slurp(file, buf, sizeof buf) == 10 && strcmp(buf, "hello Wo!\n") == 0, "appended at the end");

    FILE *f = fopen(file, "r");
    check(f != NULL && fgets(buf, sizeof buf, f) != NULL && strcmp(buf, "hello Wo!\n") == 0, "fopen and fgets");
    if (f)
        fclose(f);

    errno = 0;
    check(open(file, O_WRONLY | O_CREAT | O_EXCL, 0644) < 0 && errno == EEXIST, "O_EXCL on an existing file: EEXIST");
    errno = 0;
    check(open("/tmp/no/such/file", O_RDONLY) < 0 && errno == ENOENT, "open a missing file: ENOENT");
    errno = 0;
    check(open(file, O_RDONLY | O_DIRECTORY) < 0 && errno == ENOTDIR, "O_DIRECTORY on a file: ENOTDIR");

    check(mkdir(sub, 0755) == 0, "mkdir sub");
    errno = 0;
    check(mkdir(sub, 0755) < 0 && errno == EEXIST, "mkdir again: EEXIST");

    DIR *d = opendir(dir);
    check(d != NULL, "opendir");
    int dot = 0, dotdot = 0, seen_file = 0, seen_sub = 0, others = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0)
            dot++;
        else if (strcmp(e->d_name, "..") == 0)
            dotdot++;
        else if (strcmp(e->d_name, "f.txt") == 0)
            seen_file += e->d_type == DT_REG;
        else if (strcmp(e->d_name, "sub") == 0)
            seen_sub += e->d_type == DT_DIR;
        else
            others++;
    }
    if (d)
        closedir(d);
    check(seen_file == 1 && seen_sub == 1 && others == 0, "readdir lists f.txt (DT_REG) and sub (DT_DIR)");
    check(dot == 1 && dotdot == 1, "readdir lists . and ..");

    // getdents64 itself: a buffer too small for any entry is EINVAL; 40 bytes hold one entry
    // at a time here (".", "..", "sub": 24 bytes each, "f.txt": 32), so four calls, then 0.
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    char small[40];
    errno = 0;
    check(syscall(SYS_getdents64, dfd, small, 8) < 0 && errno == EINVAL, "getdents64 into 8 bytes: EINVAL");
    int calls = 0;
    long got, one_each = 1;
    while ((got = syscall(SYS_getdents64, dfd, small, sizeof small)) > 0 && calls < 10) {
        unsigned short reclen; // linux_dirent64: d_ino, d_off, then d_reclen at byte 16
        memcpy(&reclen, small + 16, sizeof reclen);
        calls++;
        one_each &= got == reclen;
    }
    check(calls == 4 && got == 0 && one_each, "getdents64 into 40 bytes: one entry per call, 4 calls");
    close(dfd);

    errno = 0;
    check(rmdir(dir) < 0 && errno == ENOTEMPTY, "rmdir a non-empty directory: ENOTEMPTY");
    check(rename(file, renamed) == 0, "rename");
    errno = 0;
    check(stat(file, &st) < 0 && errno == ENOENT, "old name gone: ENOENT");
    check(stat(renamed, &st) == 0 && st.st_size == 10, "new name has the content");

    char cwd[128];
    check(chdir(dir) == 0, "chdir");
    check(getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd, dir) == 0, "getcwd");
    fd = open("rel.txt", O_WRONLY | O_CREAT, 0600);
    check(fd >= 0 && write(fd, "r", 1) == 1, "create a file by a relative path");
    close(fd);
    check(stat(rel, &st) == 0 && st.st_size == 1, "found by its absolute path");
    check(chdir("/") == 0, "chdir /");

    check(link(renamed, hard) == 0 && stat(renamed, &st) == 0 && st.st_nlink == 2, "link: two names");
    check(slurp(hard, buf, sizeof buf) == 10, "the new name has the content");
    errno = 0;
    check(link(sub, hard2) < 0 && errno == EPERM, "link a directory: EPERM");
    errno = 0;
    check(link(renamed, hard) < 0 && errno == EEXIST, "link onto an existing name: EEXIST");
    check(symlink(renamed, lnk) == 0 && linkat(AT_FDCWD, lnk, AT_FDCWD, hard2, AT_SYMLINK_FOLLOW) == 0 &&
              lstat(hard2, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 3,
          "linkat AT_SYMLINK_FOLLOW links the target");
    check(unlink(hard) == 0 && unlink(hard2) == 0 && unlink(lnk) == 0 && stat(renamed, &st) == 0 &&
              st.st_nlink == 1,
          "unlink the extra names");
    check(unlink(rel) == 0 && unlink(renamed) == 0, "unlink");
    errno = 0;
    check(unlink(renamed) < 0 && errno == ENOENT, "unlink again: ENOENT");
    errno = 0;
    check(unlink(sub) < 0 && errno == EISDIR, "unlink a directory: EISDIR");
    check(rmdir(sub) == 0, "rmdir sub");
    check(rmdir(dir) == 0, "rmdir");
    errno = 0;
    check(stat(dir, &st) < 0 && errno == ENOENT, "directory gone: ENOENT");

    // The user and group databases libc reads (/etc/passwd, /etc/group).
    struct passwd *pw = getpwuid(0);
    check(pw && strcmp(pw->pw_name, "root") == 0 && strcmp(pw->pw_dir, "/root") == 0,
          "getpwuid(0): root");
    struct group *gr = getgrgid(0);
    check(gr && strcmp(gr->gr_name, "root") == 0, "getgrgid(0): root");

    printf("cfiles: %d ok, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
