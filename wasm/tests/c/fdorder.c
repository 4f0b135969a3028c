// Which descriptor numbers new files get: the most recently freed first, then new ones (as
// wasmtime does; programs such as yosys rely on it after fd_renumber).
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <wasi/api.h>

static int make(const char *name) { return open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644); }

int main(void) {
    int a = make("/tmp/fdorder-a"), b = make("/tmp/fdorder-b"), x = make("/tmp/fdorder-x");
    printf("opened %d %d %d\n", a - a, b - a, x - a);
    close(a);
    close(x);
    int c = make("/tmp/fdorder-c"), d = make("/tmp/fdorder-d");
    printf("after closing 0 and 2: %d %d\n", c - a, d - a);
    int r = __wasi_fd_renumber(b, c);
    int e = make("/tmp/fdorder-e"), f = make("/tmp/fdorder-f");
    printf("renumber 1 onto %d: %d, then %d %d\n", c - a, r, e - a, f - a);
    return 0;
}
