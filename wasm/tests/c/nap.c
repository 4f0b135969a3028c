// Holds memory and waits in the host: `nap MIB SECONDS` allocates MIB MiB (default 4), touches
// one byte per page, then sleeps SECONDS (default 1000). For kill tests: the guest is killed
// while it waits in a host call, and everything it held must come back.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 4;
    unsigned seconds = argc > 2 ? (unsigned)atol(argv[2]) : 1000;
    char *p = malloc((size_t)mib << 20);
    if (!p) {
        fprintf(stderr, "nap: out of memory\n");
        return 1;
    }
    for (long i = 0; i < (mib << 20); i += 4096)
        p[i] = (char)i;
    printf("nap: holding %ld MiB\n", mib);
    fflush(stdout);
    sleep(seconds);
    printf("nap: woke after %u s\n", seconds);
    return p[4096] == 0 ? 0 : 2;
}
