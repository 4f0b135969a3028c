// Calls every preview1 function that takes a guest pointer with wild pointers (past the
// end of memory: 0xfffffff0) and with lengths that overflow the memory or the 32-bit
// address space, through the raw imports (wasi-libc's wrappers would dereference the
// pointers themselves, e.g. strlen on a path). The host must answer EFAULT (21) without
// trapping or touching host memory; the socket calls check the descriptor first, so on a
// non-socket they give ENOTSOCK (57) as the spec's descriptor error. One line per call, then
// `wildptr: ok`. Run as `wildptr` (fd 3 is the preopened `/`); uses /tmp/wildptr.txt.
// Then the limits on what a guest can make the host allocate: more than IOV_MAX (1024)
// iovecs is EINVAL (28), iovec lengths adding up past 4 GiB EOVERFLOW (61), a path longer
// than PATH_MAX (4096) ENAMETOOLONG (37), each with every buffer inside memory.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WASI(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

typedef int32_t i32;
typedef int64_t i64;

WASI(args_get) i32 w_args_get(i32, i32);
WASI(args_sizes_get) i32 w_args_sizes_get(i32, i32);
WASI(environ_get) i32 w_environ_get(i32, i32);
WASI(environ_sizes_get) i32 w_environ_sizes_get(i32, i32);
WASI(clock_res_get) i32 w_clock_res_get(i32, i32);
WASI(clock_time_get) i32 w_clock_time_get(i32, i64, i32);
WASI(fd_fdstat_get) i32 w_fd_fdstat_get(i32, i32);
WASI(fd_filestat_get) i32 w_fd_filestat_get(i32, i32);
WASI(fd_prestat_get) i32 w_fd_prestat_get(i32, i32);
WASI(fd_prestat_dir_name) i32 w_fd_prestat_dir_name(i32, i32, i32);
WASI(fd_read) i32 w_fd_read(i32, i32, i32, i32);
WASI(fd_write) i32 w_fd_write(i32, i32, i32, i32);
WASI(fd_pread) i32 w_fd_pread(i32, i32, i32, i64, i32);
WASI(fd_pwrite) i32 w_fd_pwrite(i32, i32, i32, i64, i32);
WASI(fd_readdir) i32 w_fd_readdir(i32, i32, i32, i64, i32);
WASI(fd_seek) i32 w_fd_seek(i32, i64, i32, i32);
WASI(fd_tell) i32 w_fd_tell(i32, i32);
WASI(path_create_directory) i32 w_path_create_directory(i32, i32, i32);
WASI(path_remove_directory) i32 w_path_remove_directory(i32, i32, i32);
WASI(path_unlink_file) i32 w_path_unlink_file(i32, i32, i32);
WASI(path_filestat_get) i32 w_path_filestat_get(i32, i32, i32, i32, i32);
WASI(path_filestat_set_times) i32 w_path_filestat_set_times(i32, i32, i32, i32, i64, i64, i32);
WASI(path_open) i32 w_path_open(i32, i32, i32, i32, i32, i64, i64, i32, i32);
WASI(path_link) i32 w_path_link(i32, i32, i32, i32, i32, i32, i32);
WASI(path_readlink) i32 w_path_readlink(i32, i32, i32, i32, i32, i32);
WASI(path_rename) i32 w_path_rename(i32, i32, i32, i32, i32, i32);
WASI(path_symlink) i32 w_path_symlink(i32, i32, i32, i32, i32);
WASI(poll_oneoff) i32 w_poll_oneoff(i32, i32, i32, i32);
WASI(random_get) i32 w_random_get(i32, i32);
WASI(sock_accept) i32 w_sock_accept(i32, i32, i32);
WASI(sock_recv) i32 w_sock_recv(i32, i32, i32, i32, i32, i32);
WASI(sock_send) i32 w_sock_send(i32, i32, i32, i32, i32);

#define EFAULT_ 21
#define EINVAL_ 28
#define ENAMETOOLONG_ 37
#define EOVERFLOW_ 61
#define ENOTSOCK_ 57
#define WILD ((i32)0xfffffff0)
#define HUGE ((i32)0xfffffff0)

static int failures;
static char buf[256];
static uint32_t iov[2];
static uint32_t many[2 * 1025];
static char long_path[5000];

static i32 p(const void *ptr) { return (i32)(uintptr_t)ptr; }

static void expect(const char *what, i32 got, i32 want) {
    if (got == want) {
        printf("ok %s: %d\n", what, (int)got);
    } else {
        printf("FAIL %s: got %d, want %d\n", what, (int)got, (int)want);
        failures++;
    }
}

int main(void) {
    const char *name = "wildptr-missing";
    i32 n = 15;
    int file = open("/tmp/wildptr.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (file < 0) {
        printf("FAIL open /tmp/wildptr.txt\n");
        return 1;
    }
    write(file, "data", 4);

    expect("args_get argv", w_args_get(WILD, p(buf)), EFAULT_);
    expect("args_get argv_buf", w_args_get(p(buf), WILD), EFAULT_);
    expect("args_sizes_get", w_args_sizes_get(WILD, WILD), EFAULT_);
    expect("environ_get", w_environ_get(WILD, WILD), EFAULT_);
    expect("environ_sizes_get", w_environ_sizes_get(p(buf), WILD), EFAULT_);
    expect("clock_res_get", w_clock_res_get(1, WILD), EFAULT_);
    expect("clock_time_get", w_clock_time_get(1, 0, WILD), EFAULT_);
    expect("fd_fdstat_get", w_fd_fdstat_get(1, WILD), EFAULT_);
    expect("fd_filestat_get", w_fd_filestat_get(file, WILD), EFAULT_);
    expect("fd_prestat_get", w_fd_prestat_get(3, WILD), EFAULT_);
    expect("fd_prestat_dir_name", w_fd_prestat_dir_name(3, WILD, 16), EFAULT_);

    expect("fd_write iovs", w_fd_write(1, WILD, 1, p(buf)), EFAULT_);
    expect("fd_write iovs count overflowing", w_fd_write(1, p(iov), 0x20000001, p(buf)), EFAULT_);
    iov[0] = (uint32_t)p(buf);
    iov[1] = (uint32_t)HUGE;
    expect("fd_write buffer length overflowing", w_fd_write(1, p(iov), 1, p(buf + 8)), EFAULT_);
    iov[0] = (uint32_t)WILD;
    iov[1] = 4;
    expect("fd_write wild buffer", w_fd_write(1, p(iov), 1, p(buf + 8)), EFAULT_);
    iov[0] = (uint32_t)p(buf);
    iov[1] = 0;
    expect("fd_write nwritten", w_fd_write(1, p(iov), 1, WILD), EFAULT_);
    iov[0] = (uint32_t)WILD;
    iov[1] = 4;
    expect("fd_read wild buffer", w_fd_read(file, p(iov), 1, p(buf + 8)), EFAULT_);
    expect("fd_read iovs", w_fd_read(file, WILD, 1, p(buf + 8)), EFAULT_);
    expect("fd_pread wild buffer", w_fd_pread(file, p(iov), 1, 0, p(buf + 8)), EFAULT_);
    expect("fd_pwrite wild buffer", w_fd_pwrite(file, p(iov), 1, 0, p(buf + 8)), EFAULT_);
    iov[0] = (uint32_t)p(buf);
    iov[1] = (uint32_t)HUGE;
    expect("fd_pwrite length overflowing", w_fd_pwrite(file, p(iov), 1, 0, p(buf + 8)), EFAULT_);
    expect("fd_readdir buffer", w_fd_readdir(3, WILD, 64, 0, p(buf)), EFAULT_);
    expect("fd_readdir length overflowing", w_fd_readdir(3, p(buf), HUGE, 0, p(buf + 128)), EFAULT_);
    expect("fd_seek", w_fd_seek(file, 0, 0, WILD), EFAULT_);
    expect("fd_tell", w_fd_tell(file, WILD), EFAULT_);

    expect("path_create_directory", w_path_create_directory(3, WILD, 8), EFAULT_);
    expect("path_create_directory length overflowing", w_path_create_directory(3, p(name), HUGE), EFAULT_);
    expect("path_remove_directory", w_path_remove_directory(3, WILD, 8), EFAULT_);
    expect("path_unlink_file", w_path_unlink_file(3, WILD, 8), EFAULT_);
    expect("path_filestat_get path", w_path_filestat_get(3, 0, WILD, 8, p(buf)), EFAULT_);
    expect("path_filestat_get out", w_path_filestat_get(3, 0, p("tmp"), 3, WILD), EFAULT_);
    expect("path_filestat_set_times", w_path_filestat_set_times(3, 0, WILD, 8, 0, 0, 0), EFAULT_);
    expect("path_open path", w_path_open(3, 0, WILD, 8, 0, 0, 0, 0, p(buf)), EFAULT_);
    expect("path_open fd out", w_path_open(3, 0, p("tmp"), 3, 0, 0, 0, 0, WILD), EFAULT_);
    expect("path_link", w_path_link(3, 0, WILD, 8, 3, p(name), n), EFAULT_);
    expect("path_link new", w_path_link(3, 0, p(name), n, 3, WILD, 8), EFAULT_);
    expect("path_readlink path", w_path_readlink(3, WILD, 8, p(buf), 64, p(buf + 128)), EFAULT_);
    expect("path_rename", w_path_rename(3, WILD, 8, 3, p(name), n), EFAULT_);
    expect("path_rename new", w_path_rename(3, p(name), n, 3, WILD, 8), EFAULT_);
    expect("path_symlink", w_path_symlink(WILD, 8, 3, p(name), n), EFAULT_);
    expect("path_symlink new", w_path_symlink(p(name), n, 3, WILD, 8), EFAULT_);

    expect("poll_oneoff subscriptions", w_poll_oneoff(WILD, p(buf), 1, p(buf + 128)), EFAULT_);
    expect("poll_oneoff count overflowing", w_poll_oneoff(p(buf), p(buf), 0x7fffffff, p(buf + 128)), EFAULT_);
    expect("random_get", w_random_get(WILD, 16), EFAULT_);
    expect("random_get length overflowing", w_random_get(p(buf), HUGE), EFAULT_);

    expect("sock_accept (not a socket)", w_sock_accept(1, 0, WILD), ENOTSOCK_);
    expect("sock_recv (not a socket)", w_sock_recv(1, WILD, 1, 0, WILD, WILD), ENOTSOCK_);
    expect("sock_send (not a socket)", w_sock_send(1, WILD, 1, 0, WILD), ENOTSOCK_);

    // Bounds on what the host allocates: all of it in memory, the sizes refused.
    expect("fd_write more than IOV_MAX iovecs", w_fd_write(1, p(many), 1025, p(buf + 8)), EINVAL_);
    expect("fd_read more than IOV_MAX iovecs", w_fd_read(file, p(many), 1025, p(buf + 8)), EINVAL_);
    expect("fd_pwrite more than IOV_MAX iovecs", w_fd_pwrite(file, p(many), 1025, 0, p(buf + 8)), EINVAL_);
    char *big = malloc(8 << 20);
    for (int i = 0; i < 600; i++) {
        many[2 * i] = (uint32_t)p(big);
        many[2 * i + 1] = 8 << 20;
    }
    expect("fd_write lengths adding up past 4 GiB", w_fd_write(1, p(many), 600, p(buf + 8)), EOVERFLOW_);
    expect("fd_pread lengths adding up past 4 GiB", w_fd_pread(file, p(many), 600, 0, p(buf + 8)), EOVERFLOW_);
    free(big);
    memset(long_path, 'a', sizeof long_path);
    expect("path_open path longer than PATH_MAX", w_path_open(3, 0, p(long_path), 5000, 0, 0, 0, 0, p(buf)), ENAMETOOLONG_);
    expect("path_symlink target longer than PATH_MAX", w_path_symlink(p(long_path), 5000, 3, p(name), n), ENAMETOOLONG_);

    close(file);
    unlink("/tmp/wildptr.txt");
    if (failures) {
        printf("wildptr: %d failures\n", failures);
        return 1;
    }
    printf("wildptr: ok\n");
    return 0;
}
