// Arguments, environment, stdout, stderr and exit status of a Linux-ABI C program: writes one
// line to stderr, then `argv[i]=...` for every argument (argv[0] included) and `HELLO_ENV=...`
// if that variable is set, on stdout; exits with status argc - 1.
//
// Built twice by xtask: static-pie as /bin/hello-c, and dynamically linked against musl's
// loader as /bin/hello-dyn (which the OS must refuse to run, saying why).
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    // Before anything on stdout, so the order of the two streams is the same whether or not
    // stdout is buffered.
    fprintf(stderr, "hello-c: to stderr\n");
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    const char *value = getenv("HELLO_ENV");
    if (value)
        printf("HELLO_ENV=%s\n", value);
    return argc - 1;
}
