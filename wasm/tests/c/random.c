// random_get: two 32-byte draws, neither all zero, different from each other.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    unsigned char a[32], b[32], zero[32] = {0};
    if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) {
        puts("random FAIL: getentropy");
        return 1;
    }
    int ok = memcmp(a, zero, 32) != 0 && memcmp(b, zero, 32) != 0 && memcmp(a, b, 32) != 0;
    puts(ok ? "random ok" : "random FAIL");
    return ok ? 0 : 1;
}
