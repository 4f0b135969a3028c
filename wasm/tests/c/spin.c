// Loops: `spin` forever (for Ctrl-C / kill), `spin N` N iterations then prints a checksum.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long long n = argc > 1 ? atoll(argv[1]) : -1;
    volatile unsigned long long acc = 0;
    for (long long i = 0; n < 0 || i < n; i++)
        acc += (unsigned long long)i ^ (acc >> 3);
    printf("spin %lld done: %llu\n", n, (unsigned long long)acc);
    return 0;
}
