// File I/O in a preopened directory (argv[1]): create, append, read back, seek, stat,
// mkdir/rmdir, unlink, and escapes that the sandbox refuses.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what) {
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failures++;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: files DIR\n");
        return 2;
    }
    char path[256], dir[256], esc[256];
    snprintf(path, sizeof path, "%s/f.txt", argv[1]);
    snprintf(dir, sizeof dir, "%s/sub", argv[1]);
    snprintf(esc, sizeof esc, "%s/../escape.txt", argv[1]);

    FILE *f = fopen(path, "w");
    check(f != NULL, "create");
    fputs("hello\n", f);
    check(fclose(f) == 0, "close");
    f = fopen(path, "a");
    fputs("world\n", f);
    fclose(f);

    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    check(fd >= 0, "open read-only");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    check(n == 12 && strcmp(buf, "hello\nworld\n") == 0, "read back appended content");
    check(lseek(fd, 6, SEEK_SET) == 6, "seek");
    memset(buf, 0, sizeof buf);
    check(read(fd, buf, 5) == 5 && strcmp(buf, "world") == 0, "read after seek");
    check(lseek(fd, 0, SEEK_CUR) == 11, "tell");
    close(fd);

    struct stat st;
    check(stat(path, &st) == 0 && st.st_size == 12 && S_ISREG(st.st_mode), "stat size 12");
    check(open(path, O_WRONLY | O_CREAT | O_EXCL, 0644) < 0 && errno == EEXIST, "O_EXCL on existing file: EEXIST");
    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    check(stat(path, &st) == 0 && st.st_size == 0, "O_TRUNC empties");

    check(mkdir(dir, 0755) == 0, "mkdir");
    check(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "stat directory");
    check(rmdir(dir) == 0, "rmdir");
    check(stat(dir, &st) < 0 && errno == ENOENT, "gone after rmdir: ENOENT");
    char renamed[256];
    snprintf(renamed, sizeof renamed, "%s/g.txt", argv[1]);
    check(rename(path, renamed) == 0 && rename(renamed, path) == 0, "rename there and back");
    check(unlink(path) == 0, "unlink");
    check(open(path, O_RDONLY) < 0 && errno == ENOENT, "gone after unlink: ENOENT");

    errno = 0;
    check(open(esc, O_WRONLY | O_CREAT, 0644) < 0, "escape with .. refused");
    printf("escape errno: %s\n", strerror(errno));
    check(open("/etc/motd", O_RDONLY) < 0, "path outside every preopen refused");
    printf("files: %d failures\n", failures);
    return failures ? 1 : 0;
}
