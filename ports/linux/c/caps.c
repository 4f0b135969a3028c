// Capability sets (capget, capset) as a Linux-ABI C program uses them, run as root: the
// header versions (v1 one word per set, v3 two; an unknown version rewritten to v3 with
// EINVAL, and answered 0 when the data pointer is NULL), dropping a capability from the
// effective and permitted sets and what capset then refuses, the sets kept per thread (a new
// thread starts with its creator's), and EFAULT/EINVAL/EPERM/ESRCH for bad arguments.
// Prints `ok WHAT` or `FAIL WHAT (errno text)` per check, then `caps: N passed, N failed`;
// exit status 0 only if every check passed. The same program passes on Linux as root.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

#define V1 0x19980330u
#define V2 0x20071026u
#define V3 0x20080522u
#define CAP_CHOWN 0
#define CAP_KILL 5
#define CAP_SETPCAP 8
#define CAP_NET_RAW 13

struct header {
    uint32_t version;
    int pid;
};
struct data {
    uint32_t effective, permitted, inheritable;
};

static long capget(struct header *h, struct data *d) { return syscall(SYS_capget, h, d); }
static long capset(struct header *h, const struct data *d) { return syscall(SYS_capset, h, d); }

static int get3(struct data d[2]) {
    struct header h = {V3, 0};
    return (int)capget(&h, d);
}

static int set3(const struct data d[2]) {
    struct header h = {V3, 0};
    return (int)capset(&h, d);
}

static uint64_t eff(const struct data d[2]) {
    return d[0].effective | (uint64_t)d[1].effective << 32;
}

static void *thread_caps(void *arg) {
    struct data d[2];
    struct data *out = arg;
    if (get3(d) != 0)
        return NULL;
    out[0] = d[0];
    out[1] = d[1];
    // Drop CAP_CHOWN from this thread only.
    d[0].effective &= ~(1u << CAP_CHOWN);
    if (set3(d) != 0)
        return NULL;
    return arg;
}

int main(void) {
    struct data d[2], again[2];
    memset(d, 0, sizeof d);

    check(get3(d) == 0, "capget v3");
    check(eff(d) != 0 && d[0].effective == d[0].permitted && d[1].effective == d[1].permitted,
          "root: effective = permitted, not empty");
    check(d[0].inheritable == 0 && d[1].inheritable == 0, "root: inheritable empty");
    check((d[0].effective & (1u << CAP_KILL | 1u << CAP_SETPCAP | 1u << CAP_NET_RAW)) ==
              (1u << CAP_KILL | 1u << CAP_SETPCAP | 1u << CAP_NET_RAW),
          "root holds CAP_KILL, CAP_SETPCAP, CAP_NET_RAW");

    struct header h1 = {V1, 0};
    struct data one[2];
    memset(one, 0xaa, sizeof one);
    check(capget(&h1, one) == 0 && one[0].effective == d[0].effective &&
              one[1].effective == 0xaaaaaaaau,
          "capget v1: one word, the second left alone");
    struct header h2 = {V2, getpid()};
    check(capget(&h2, again) == 0 && eff(again) == eff(d), "capget v2 with the own pid");

    struct header bad = {0x12345678u, 0};
    errno = 0;
    check(capget(&bad, again) == -1 && errno == EINVAL, "capget bad version: EINVAL");
    check(bad.version == V3, "bad version rewritten to v3");
    bad.version = 0;
    check(capget(&bad, NULL) == 0 && bad.version == V3, "capget(NULL data): 0, version v3");
    bad.version = 1;
    errno = 0;
    check(capset(&bad, d) == -1 && errno == EINVAL && bad.version == V3,
          "capset bad version: EINVAL, rewritten");
    errno = 0;
    check(capget((struct header *)8, d) == -1 && errno == EFAULT, "capget wild header: EFAULT");
    struct header h = {V3, 0};
    errno = 0;
    check(capget(&h, (struct data *)8) == -1 && errno == EFAULT, "capget wild data: EFAULT");
    errno = 0;
    check(capset(&h, (struct data *)8) == -1 && errno == EFAULT, "capset wild data: EFAULT");
    h.pid = -5;
    errno = 0;
    check(capget(&h, again) == -1 && errno == EINVAL, "capget negative pid: EINVAL");
    h.pid = 0x3ffffff0;
    errno = 0;
    check(capget(&h, again) == -1 && errno == ESRCH, "capget unknown pid: ESRCH");
    errno = 0;
    check(capset(&h, d) == -1 && errno == EPERM, "capset another pid: EPERM");

    // Setting the same sets again changes nothing.
    check(set3(d) == 0, "capset the same sets");

    // Threads: a new thread starts with its creator's sets, its changes stay its own.
    struct data seen[2];
    pthread_t t;
    void *res = NULL;
    check(pthread_create(&t, NULL, thread_caps, seen) == 0 && pthread_join(t, &res) == 0 &&
              res == seen && eff(seen) == eff(d),
          "a new thread starts with its creator's sets and may drop one");
    check(get3(again) == 0 && eff(again) == eff(d), "the thread's drop stays its own");

    // Drop CAP_KILL from effective: gone, and can be raised again (still permitted).
    struct data drop[2] = {d[0], d[1]};
    drop[0].effective &= ~(1u << CAP_KILL);
    check(set3(drop) == 0 && get3(again) == 0 && !(again[0].effective & (1u << CAP_KILL)) &&
              (again[0].permitted & (1u << CAP_KILL)),
          "drop CAP_KILL from effective");
    check(set3(d) == 0 && get3(again) == 0 && (again[0].effective & (1u << CAP_KILL)),
          "raise it again within permitted");

    // Effective beyond permitted: EPERM.
    struct data wide[2] = {d[0], d[1]};
    wide[0].permitted &= ~(1u << CAP_NET_RAW);
    errno = 0;
    check(set3(wide) == -1 && errno == EPERM, "effective beyond permitted: EPERM");

    // Inheritable within permitted is allowed.
    struct data inh[2] = {d[0], d[1]};
    inh[0].inheritable = 1u << CAP_KILL;
    check(set3(inh) == 0 && get3(again) == 0 && again[0].inheritable == (1u << CAP_KILL),
          "inheritable within permitted");

    // Drop CAP_NET_RAW from permitted (and effective): it cannot come back.
    struct data narrow[2] = {d[0], d[1]};
    narrow[0].permitted &= ~(1u << CAP_NET_RAW);
    narrow[0].effective &= ~(1u << CAP_NET_RAW);
    check(set3(narrow) == 0 && get3(again) == 0 && !(again[0].permitted & (1u << CAP_NET_RAW)),
          "drop CAP_NET_RAW from permitted");
    errno = 0;
    check(set3(d) == -1 && errno == EPERM, "raising a dropped permitted capability: EPERM");

    printf("caps: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
