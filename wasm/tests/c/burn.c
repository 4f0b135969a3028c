// Holds memory and computes without calling the host: `burn MIB ITERS` allocates MIB MiB
// (default 4), touches one byte per page, says so, then runs ITERS iterations of a loop with
// no host call in it (forever if ITERS is missing or negative) and prints a checksum. For
// kill tests: the guest is killed while it computes, and everything it held must come back.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 4;
    long long n = argc > 2 ? atoll(argv[2]) : -1;
    char *p = malloc((size_t)mib << 20);
    if (!p) {
        fprintf(stderr, "burn: out of memory\n");
        return 1;
    }
    for (long i = 0; i < (mib << 20); i += 4096)
        p[i] = (char)i;
    printf("burn: holding %ld MiB\n", mib);
    fflush(stdout);
    volatile unsigned long long acc = 0;
    long long size = (long long)mib << 20;
    for (long long i = 0; n < 0 || i < n; i++)
        acc += (unsigned long long)i ^ (acc >> 3) ^ (size > 0 ? (unsigned char)p[(i << 12) % size] : 0);
    printf("burn %lld done: %llu\n", n, (unsigned long long)acc);
    return 0;
}
