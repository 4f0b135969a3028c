// Threads on several CPUs: a thread that keeps itself to one CPU (`sched_setaffinity`) runs
// there (`sched_getcpu`); a mask with no CPU online is refused; with two CPUs or more, two
// threads kept to CPUs 0 and 1 hand a counter back and forth 10000 times by spinning alone
// (no system call: on one CPU each hand-over would wait for a preemption, 10000 of them
// for minutes). Then it times the same computation done by one thread and by two at once and
// prints the speed-up (`compute: ...`, not checked: it depends on the host).
#define _GNU_SOURCE
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 10000
#define WORK 20000000u

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

static void *runs_on(void *arg) {
    int cpu = (int)(intptr_t)arg;
    int ok = pin(cpu) == 0 && sched_getcpu() == cpu;
    return (void *)(intptr_t)ok;
}

static atomic_uint counter;
static atomic_int timed_out;

struct player {
    int cpu, parity;
};

static void *play(void *arg) {
    struct player *p = arg;
    if (pin(p->cpu) != 0)
        return (void *)0;
    double deadline = now() + 5.0;
    unsigned spins = 0;
    for (;;) {
        unsigned c = atomic_load(&counter);
        if (c >= 2 * ROUNDS || atomic_load(&timed_out))
            break;
        if (c % 2 == (unsigned)p->parity) {
            atomic_store(&counter, c + 1);
        } else if (++spins % 4096 == 0 && now() > deadline) {
            atomic_store(&timed_out, 1);
        }
    }
    return (void *)1;
}

static volatile uint64_t sink;

static void *compute(void *arg) {
    uint64_t x = (uintptr_t)arg | 1;
    for (unsigned i = 0; i < WORK; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    sink = x;
    return 0;
}

int main(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int cpus = online < 2 ? 1 : 2;
    for (int cpu = 0; cpu < cpus; cpu++) {
        pthread_t t;
        void *ok = 0;
        char what[64];
        snprintf(what, sizeof what, "a thread kept to cpu %d runs there", cpu);
        check(pthread_create(&t, 0, runs_on, (void *)(intptr_t)cpu) == 0 && pthread_join(t, &ok) == 0 && ok,
              what);
    }
    cpu_set_t none;
    CPU_ZERO(&none);
    CPU_SET(CPU_SETSIZE - 1, &none);
    errno = 0;
    check(sched_setaffinity(0, sizeof none, &none) == -1 && errno == EINVAL,
          "a mask with no CPU online is refused");
    if (cpus == 2) {
        struct player a = {0, 0}, b = {1, 1};
        pthread_t ta, tb;
        double t0 = now();
        int started = pthread_create(&ta, 0, play, &a) == 0 && pthread_create(&tb, 0, play, &b) == 0;
        void *ra = 0, *rb = 0;
        if (started) {
            pthread_join(ta, &ra);
            pthread_join(tb, &rb);
        }
        double took = now() - t0;
        check(started && ra && rb && atomic_load(&counter) >= 2 * ROUNDS,
              "two threads spinning on cpus 0 and 1 handed a counter over 10000 times each");
        if (atomic_load(&timed_out))
            printf("(only %u hand-overs in %.1f s)\n", atomic_load(&counter), took);
    }
    double t0 = now();
    compute((void *)1);
    double one = now() - t0;
    pthread_t t1, t2;
    t0 = now();
    if (pthread_create(&t1, 0, compute, (void *)2) == 0 && pthread_create(&t2, 0, compute, (void *)3) == 0) {
        pthread_join(t1, 0);
        pthread_join(t2, 0);
        double two = now() - t0;
        printf("compute: one thread %.0f ms, two threads with the same work each %.0f ms: speed-up %.2f\n",
               one * 1e3, two * 1e3, 2 * one / two);
    }
    printf("parallel: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
