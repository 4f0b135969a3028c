// Clocks: realtime after 2020, monotonic never going back over a busy loop, resolutions,
// and the CPU-time clock reported as unsupported.
#include <stdio.h>
#include <time.h>

int main(void) {
    struct timespec rt, m1, m2, res;
    int ok = 1;
    ok &= clock_gettime(CLOCK_REALTIME, &rt) == 0 && rt.tv_sec > 1577836800;
    ok &= clock_gettime(CLOCK_MONOTONIC, &m1) == 0;
    volatile unsigned long spin = 0;
    for (int i = 0; i < 200000; i++)
        spin += i;
    (void)spin;
    ok &= clock_gettime(CLOCK_MONOTONIC, &m2) == 0;
    long long d = (m2.tv_sec - m1.tv_sec) * 1000000000LL + (m2.tv_nsec - m1.tv_nsec);
    ok &= d > 0;
    ok &= clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0;
    int cpu = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &res);
    printf("clock %s (monotonic advanced, cputime %s)\n", ok ? "ok" : "FAIL",
           cpu == 0 ? "available" : "unsupported");
    return ok ? 0 : 1;
}
