// Escapes from a preopened directory (issue #9, item 1), run with two preopens: /all (a
// scratch directory) and /box (its subdirectory `box`). Through /all the program makes links
// and renames that point out of /box, then checks that nothing reached through /box, or through
// a directory descriptor opened below it, leaves it: a descriptor stays bound to the directory
// it was opened on (renaming that directory and putting a symlink in its place changes
// nothing), `..` may not climb above a descriptor's directory at any depth, symbolic links
// (chains of them too) may not lead out, absolute link targets are refused, hard links are
// made and checked the same way. The expected results are wasmtime's (50.0.1); xtask also
// runs this program under wasmtime and compares the whole output byte for byte.
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

// `call` fails with `e`; otherwise says what happened.
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

// The content of `path` relative to `dir` (AT_FDCWD: absolute), or -1 with errno.
static int get_at(int dir, const char *path, char *buf, int n) {
    int fd = openat(dir, path, O_RDONLY);
    if (fd < 0)
        return -1;
    int k = read(fd, buf, n - 1);
    buf[k < 0 ? 0 : k] = 0;
    close(fd);
    return k;
}

static int get(const char *path, char *buf, int n) {
    return get_at(AT_FDCWD, path, buf, n);
}

static int reads(int dir, const char *path, const char *want) {
    char buf[64];
    return get_at(dir, path, buf, sizeof buf) >= 0 && strcmp(buf, want) == 0;
}

// Opens a directory (relative to `dir`), -1 with errno.
static int opendir_at(int dir, const char *path) {
    return openat(dir, path, O_RDONLY | O_DIRECTORY);
}

static int closed(int fd) {
    if (fd >= 0)
        close(fd);
    return fd;
}

int main(void) {
    char buf[64];
    struct stat st;
    check(mkdir("/all/box/d", 0755) == 0 && mkdir("/all/box/d/sub", 0755) == 0 &&
              mkdir("/all/secret", 0755) == 0,
          "setup: directories");
    put("/all/secret/secret.txt", "secret\n");
    put("/all/box/d/inner.txt", "inner\n");
    put("/all/box/d/sub/deep.txt", "deep\n");
    check(reads(AT_FDCWD, "/all/secret/secret.txt", "secret\n"), "setup: /all/secret/secret.txt");

    // 1. A descriptor is bound to its directory, not to its path.
    int d = opendir_at(AT_FDCWD, "/box/d");
    check(d >= 0, "open /box/d as a directory descriptor");
    check(rename("/all/box/d", "/all/box/d.old") == 0, "rename box/d to box/d.old (through /all)");
    check(symlink("../secret", "/all/box/d") == 0, "symlink box/d -> ../secret (through /all)");
    check(reads(d, "inner.txt", "inner\n"), "the descriptor still reads the renamed directory");
    FAILS(get_at(d, "secret.txt", buf, sizeof buf), ENOENT, "the descriptor does not follow the new link: ENOENT");
    FAILS(get("/box/d/secret.txt", buf, sizeof buf), EPERM, "through /box the new link leads out: EPERM");
    check(reads(AT_FDCWD, "/all/box/d/secret.txt", "secret\n"), "through /all the same link stays inside");
    FAILS(get_at(d, "../secret/secret.txt", buf, sizeof buf), EPERM, "descriptor: ../secret/secret.txt: EPERM");
    FAILS(closed(opendir_at(d, "..")), EPERM, "descriptor: ..: EPERM");
    FAILS(closed(opendir_at(d, "sub/../..")), EPERM, "descriptor: sub/../..: EPERM");
    FAILS(fstatat(d, "..", &st, 0), EPERM, "descriptor: stat ..: EPERM");
    int sub = opendir_at(d, "sub");
    check(reads(sub, "deep.txt", "deep\n"), "descriptor of sub reads deep.txt");
    FAILS(closed(opendir_at(sub, "..")), EPERM, "descriptor of sub: .. is above it: EPERM");
    FAILS(get_at(sub, "../inner.txt", buf, sizeof buf), EPERM, "descriptor of sub: ../inner.txt: EPERM");
    check(rename("/all/box/d.old/sub", "/all/moved") == 0, "move sub out of the box (through /all)");
    check(reads(sub, "deep.txt", "deep\n"), "the descriptor of sub follows the directory itself");
    FAILS(get_at(sub, "../secret/secret.txt", buf, sizeof buf), EPERM, "and still may not climb: EPERM");
    check(rename("/all/moved", "/all/box/d.old/sub") == 0, "move sub back");

    // 2. Swapping the link and the directory back and forth between opens.
    int rounds = 0;
    for (int i = 0; i < 50; i++) {
        int ok = unlink("/all/box/d") == 0 && rename("/all/box/d.old", "/all/box/d") == 0 &&
                 reads(d, "inner.txt", "inner\n") && reads(AT_FDCWD, "/box/d/inner.txt", "inner\n") &&
                 rename("/all/box/d", "/all/box/d.old") == 0 && symlink("../secret", "/all/box/d") == 0 &&
                 reads(d, "inner.txt", "inner\n") && get_at(d, "secret.txt", buf, sizeof buf) < 0 &&
                 errno == ENOENT && get("/box/d/secret.txt", buf, sizeof buf) < 0 && errno == EPERM;
        rounds += ok;
    }
    printf("%s 50 rounds of swapping box/d, %d kept inside\n", rounds == 50 ? "ok" : "FAIL", rounds);
    failures += rounds != 50;
    close(sub);
    close(d);

    // 3. `..` at every depth.
    check(mkdir("/box/a", 0755) == 0 && mkdir("/box/a/b", 0755) == 0 && mkdir("/box/a/b/c", 0755) == 0,
          "mkdir /box/a/b/c");
    check(closed(opendir_at(AT_FDCWD, "/box/a/b/c/../../..")) >= 0, "/box/a/b/c/../../.. is /box itself");
    check(reads(AT_FDCWD, "/box/a/b/../../d.old/inner.txt", "inner\n"), "/box/a/b/../../d.old/inner.txt");
    FAILS(closed(opendir_at(AT_FDCWD, "/box/..")), EPERM, "/box/..: EPERM");
    FAILS(closed(opendir_at(AT_FDCWD, "/box/a/../..")), EPERM, "/box/a/../..: EPERM");
    FAILS(closed(opendir_at(AT_FDCWD, "/box/a/b/../../..")), EPERM, "/box/a/b/../../..: EPERM");
    FAILS(closed(opendir_at(AT_FDCWD, "/box/a/b/c/../../../..")), EPERM, "/box/a/b/c/../../../..: EPERM");
    FAILS(get("/box/a/b/c/../../../../secret/secret.txt", buf, sizeof buf), EPERM, "/box/a/b/c/../../../../secret/secret.txt: EPERM");
    FAILS(get("/box/a/./b/.././../../secret/secret.txt", buf, sizeof buf), EPERM, "/box/a/./b/.././../../secret/secret.txt: EPERM");
    FAILS(mkdir("/box/a/b/../../../x", 0755), EPERM, "mkdir /box/a/b/../../../x: EPERM");
    FAILS(stat("/all/x", &st) == 0 ? 0 : -1, ENOENT, "and nothing was made above");
    FAILS(stat("/all/..", &st), EPERM, "/all/..: EPERM");
    int c = opendir_at(AT_FDCWD, "/box/a/b/c");
    FAILS(closed(opendir_at(c, "..")), EPERM, "descriptor of /box/a/b/c: ..: EPERM");
    FAILS(closed(opendir_at(c, "./../c")), EPERM, "descriptor of /box/a/b/c: ./../c: EPERM");
    close(c);

    // 4. Symbolic links, alone and in chains.
    check(symlink("c2", "/box/c1") == 0 && symlink("a/c3", "/box/c2") == 0 &&
              symlink("../../secret/secret.txt", "/box/a/c3") == 0,
          "chain /box/c1 -> c2 -> a/c3 -> ../../secret/secret.txt");
    FAILS(get("/box/c1", buf, sizeof buf), EPERM, "the chain leads out of /box: EPERM");
    FAILS(stat("/box/c1", &st), EPERM, "stat through the chain: EPERM");
    check(lstat("/box/c1", &st) == 0 && S_ISLNK(st.st_mode), "lstat of the chain's first link");
    check(reads(AT_FDCWD, "/all/box/c1", "secret\n"), "through /all the chain stays inside");
    check(symlink("..", "/box/a/up") == 0 && symlink("up/..", "/box/a/up2") == 0 &&
              symlink("b/c/../../up", "/box/a/up3") == 0,
          "links a/up -> .., a/up2 -> up/.., a/up3 -> b/c/../../up");
    check(reads(AT_FDCWD, "/box/a/up/d.old/inner.txt", "inner\n"), "/box/a/up/d.old/inner.txt is inside");
    check(reads(AT_FDCWD, "/box/a/up3/d.old/inner.txt", "inner\n"), "/box/a/up3/d.old/inner.txt is inside");
    FAILS(closed(opendir_at(AT_FDCWD, "/box/a/up2")), EPERM, "/box/a/up2 climbs above /box: EPERM");
    FAILS(get("/box/a/up/../secret/secret.txt", buf, sizeof buf), EPERM, "/box/a/up/../secret/secret.txt: EPERM");
    check(symlink("loop", "/box/loop") == 0, "symlink loop -> loop");
    FAILS(get("/box/loop", buf, sizeof buf), ELOOP, "loop: ELOOP");
    FAILS(symlink("/all/secret", "/box/abs"), EPERM, "symlink with an absolute target: EPERM");
    FAILS(symlink("/etc", "/all/abs"), EPERM, "also through /all: EPERM");
    FAILS(symlink("x", "/box/../evil"), EPERM, "symlink placed above /box: EPERM");
    FAILS(mkdir("/box/c1/x", 0755), EPERM, "mkdir through the chain: EPERM");
    FAILS(rename("/box/d.old/inner.txt", "/box/a/up2/x"), EPERM, "rename into a climbing link: EPERM");

    // 5. The preopen's own path renamed and replaced by a link.
    check(rename("/all/box", "/all/box2") == 0 && symlink("secret", "/all/box") == 0,
          "rename box to box2, symlink box -> secret (through /all)");
    check(reads(AT_FDCWD, "/box/d.old/inner.txt", "inner\n"), "/box still reaches its own directory");
    FAILS(get("/box/secret.txt", buf, sizeof buf), ENOENT, "and not the link's target: ENOENT");
    check(unlink("/all/box") == 0 && rename("/all/box2", "/all/box") == 0, "put box back");

    // 6. Hard links.
    check(link("/box/d.old/inner.txt", "/box/hl") == 0, "link /box/hl to d.old/inner.txt");
    check(stat("/box/hl", &st) == 0 && st.st_nlink == 2, "two names");
    put("/box/hl", "changed\n");
    check(reads(AT_FDCWD, "/box/d.old/inner.txt", "changed\n"), "one file under two names");
    FAILS(link("/box/../secret/secret.txt", "/box/x"), EPERM, "link from above /box: EPERM");
    FAILS(link("/box/hl", "/box/../x"), EPERM, "link placed above /box: EPERM");
    FAILS(link("/box/a/up/../secret/secret.txt", "/box/x"), EPERM, "link from above /box through a link: EPERM");
    FAILS(linkat(AT_FDCWD, "/box/c1", AT_FDCWD, "/box/x", AT_SYMLINK_FOLLOW), EINVAL, "link with AT_SYMLINK_FOLLOW: EINVAL");
    check(linkat(AT_FDCWD, "/box/c1", AT_FDCWD, "/box/c1.hard", 0) == 0 && lstat("/box/c1.hard", &st) == 0 &&
              S_ISLNK(st.st_mode),
          "a hard link to the chain's link is a link");
    FAILS(get("/box/c1.hard", buf, sizeof buf), EPERM, "which leads out the same way: EPERM");
    check(link("/all/secret/secret.txt", "/box/s.hard") == 0 && reads(AT_FDCWD, "/box/s.hard", "secret\n"),
          "a link between the two preopens (both are the guest's)");
    check(unlink("/box/d.old/inner.txt") == 0 && reads(AT_FDCWD, "/box/hl", "changed\n"), "unlink one name, the other stays");
    FAILS(rename("/box/hl", "/box/../hl"), EPERM, "rename above /box: EPERM");
    FAILS(rename("/box/../secret/secret.txt", "/box/got"), EPERM, "rename from above /box: EPERM");

    printf("sandbox: %d failures\n", failures);
    return failures != 0;
}
