// The CPU counts a C program sees: `sysconf(_SC_NPROCESSORS_ONLN)` (musl asks
// `sched_getaffinity`), `_SC_NPROCESSORS_CONF`, and the CPUs in the calling thread's
// affinity mask. Prints `online N, configured N, affinity N`; exits 1 if a call fails.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    long configured = sysconf(_SC_NPROCESSORS_CONF);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (online < 1 || configured < 1 || sched_getaffinity(0, sizeof set, &set) != 0) {
        perror("cpus");
        return 1;
    }
    printf("online %ld, configured %ld, affinity %d\n", online, configured, CPU_COUNT(&set));
    return 0;
}
