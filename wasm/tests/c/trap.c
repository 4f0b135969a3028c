// Traps and limits: `trap unreachable` runs the unreachable instruction, `trap div` divides
// by zero, `trap recurse` recurses without end (the engine's stack limit), `trap oom`
// allocates 1 MiB blocks until malloc fails (the runner's memory limit) and prints how many,
// `trap oob` loads from beyond the linear memory, `trap overflow` divides INT_MIN by -1,
// `trap deep` recurses without end using no linear memory (only the engine's own stack).
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero = 0;
static volatile int minus_one = -1;
// Past the end of any memory a 32-bit guest can have below 4 GiB - 16.
static volatile unsigned int far_offset = 0xfffffff0u;
static char *volatile sink;

__attribute__((noinline)) static int recurse(int n) {
    volatile char pad[64];
    pad[0] = (char)n;
    if (n < zero) // never: keeps the compiler from seeing the endless recursion
        return 0;
    return recurse(n + 1) + pad[0];
}

static volatile int deep_sink;

// Recursion whose frames live on the engine's stack only (no address-taken locals, so no
// linear-memory stack): ends at the engine's call-stack limit, not in an out-of-bounds access.
__attribute__((noinline)) static int deep(int n) {
    if (n < zero)
        return 0;
    int r = deep(n + 1);
    deep_sink = r;
    return r ^ n;
}

// The callers `trap div` goes through, kept out of line so that the backtrace names them.
__attribute__((noinline)) static int divide(int a, int b) {
    return a / b;
}

__attribute__((noinline)) static int compute(int n) {
    return divide(n + 41, zero) + 1;
}

int main(int argc, char **argv) {
    const char *kind = argc > 1 ? argv[1] : "unreachable";
    printf("trapping: %s\n", kind);
    fflush(stdout);
    if (strcmp(kind, "div") == 0)
        return compute(argc);
    if (strcmp(kind, "oob") == 0)
        return *(volatile int *)(unsigned long)far_offset;
    if (strcmp(kind, "overflow") == 0)
        return INT_MIN / minus_one;
    if (strcmp(kind, "deep") == 0)
        return deep(0);
    if (strcmp(kind, "recurse") == 0)
        return recurse(0);
    if (strcmp(kind, "oom") == 0) {
        int mib = 0;
        while (mib < 4096) {
            char *p = malloc(1 << 20);
            if (!p)
                break;
            p[0] = 1;
            sink = p;
            mib++;
        }
        printf("allocated %d MiB\n", mib);
        return 0;
    }
    __builtin_trap();
}
