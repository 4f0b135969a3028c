// Threads on every CPU hammering the calls that share kernel state: twice as many threads as
// CPUs online (at least 4), in pairs, each doing ROUNDS rounds of
//  - a mutex-protected counter (futex waits and wakes under contention),
//  - a hand-over with its partner on a raw futex word (FUTEX_WAIT / FUTEX_WAKE),
//  - a numbered message to its partner through a pipe, and reading the partner's,
//  - an anonymous mapping: zero-filled when new, written, made read-only, read, unmapped,
//  - a file of its own: created, written, duplicated with F_DUPFD_CLOEXEC (every thread at
//    once: each duplicate must be a descriptor of its own, naming the same file), read back
//    through the duplicate, closed, unlinked.
// Each thread counts what went wrong; main checks the totals and prints
// `stress: N passed, N failed`.
#define _GNU_SOURCE
#include "check.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// The futex operations used (musl-gcc has no kernel headers), as in linux/futex.h.
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128

#define ROUNDS 150
#define MAX_THREADS 64
#define MAP_PAGES 8
#define FILE_BYTES 1000

struct pair {
    atomic_uint word; // futex hand-over: even -> the pair's first thread's turn
    int pipes[2][2];  // [0]: first -> second, [1]: second -> first
};

struct worker {
    pthread_t thread;
    int id;
    struct pair *pair;
    int second; // the pair's second thread
    unsigned futex_errors, pipe_errors, map_errors, file_errors, dup_errors;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long counter;
static struct pair pairs[MAX_THREADS / 2];
static struct worker workers[MAX_THREADS];
static long page;

static long futex(atomic_uint *word, int op, unsigned val) {
    return syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, 0, 0, 0);
}

// Waits for this thread's turn on the pair's word, then passes the turn on.
static int hand_over(struct worker *w) {
    unsigned parity = (unsigned)w->second;
    for (;;) {
        unsigned v = atomic_load(&w->pair->word);
        if (v % 2 == parity) {
            atomic_store(&w->pair->word, v + 1);
            return futex(&w->pair->word, FUTEX_WAKE, 1) >= 0;
        }
        if (futex(&w->pair->word, FUTEX_WAIT, v) != 0 && errno != EAGAIN && errno != EINTR)
            return 0;
    }
}

static int message(struct worker *w, int round) {
    int out = w->pair->pipes[w->second][1], in = w->pair->pipes[!w->second][0];
    char sent[64], got[64], want[64];
    memset(sent, 0, sizeof sent);
    memset(want, 0, sizeof want);
    snprintf(sent, sizeof sent, "from %d round %d", w->id, round);
    snprintf(want, sizeof want, "from %d round %d", w->id ^ 1, round);
    if (write(out, sent, sizeof sent) != (ssize_t)sizeof sent)
        return 0;
    size_t have = 0;
    while (have < sizeof got) {
        ssize_t n = read(in, got + have, sizeof got - have);
        if (n <= 0)
            return 0;
        have += (size_t)n;
    }
    return memcmp(got, want, sizeof got) == 0;
}

static int mapping(struct worker *w, int round) {
    size_t len = MAP_PAGES * (size_t)page;
    unsigned char *m = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    int ok = 1;
    for (size_t off = 0; off < len; off += (size_t)page) {
        ok &= m[off] == 0 && m[off + (size_t)page - 1] == 0;
        m[off] = (unsigned char)(w->id + round);
        m[off + (size_t)page - 1] = (unsigned char)off;
    }
    ok &= mprotect(m, len, PROT_READ) == 0;
    for (size_t off = 0; off < len; off += (size_t)page)
        ok &= m[off] == (unsigned char)(w->id + round) && m[off + (size_t)page - 1] == (unsigned char)off;
    ok &= mprotect(m, len, PROT_READ | PROT_WRITE) == 0;
    m[len / 2] ^= 1;
    ok &= munmap(m, len) == 0;
    return ok;
}

// Returns 1 if all went well, 0 on a file error, -1 if the duplicate was another file.
static int file(struct worker *w, int round) {
    char path[64];
    unsigned char data[FILE_BYTES], back[FILE_BYTES];
    snprintf(path, sizeof path, "/tmp/stress-%d-%d", w->id, round % 4);
    for (int i = 0; i < FILE_BYTES; i++)
        data[i] = (unsigned char)(i * 7 + w->id + round);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0)
        return 0;
    int ok = write(fd, data, sizeof data) == (ssize_t)sizeof data;
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    struct stat a, b;
    int same = dup >= 0 && fstat(fd, &a) == 0 && fstat(dup, &b) == 0 && a.st_ino == b.st_ino &&
               a.st_dev == b.st_dev && (fcntl(dup, F_GETFD) & FD_CLOEXEC);
    ok &= dup >= 0 && pread(dup, back, sizeof back, 0) == (ssize_t)sizeof back &&
          memcmp(back, data, sizeof back) == 0;
    if (dup >= 0)
        ok &= close(dup) == 0;
    ok &= close(fd) == 0;
    struct stat st;
    ok &= stat(path, &st) == 0 && st.st_size == FILE_BYTES;
    ok &= unlink(path) == 0;
    if (dup >= 0 && !same)
        return -1;
    return ok;
}

static void *work(void *arg) {
    struct worker *w = arg;
    for (int round = 0; round < ROUNDS; round++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        if (!hand_over(w))
            w->futex_errors++;
        if (!message(w, round))
            w->pipe_errors++;
        if (!mapping(w, round))
            w->map_errors++;
        int f = file(w, round);
        if (f == 0)
            w->file_errors++;
        else if (f < 0)
            w->dup_errors++;
    }
    return 0;
}

int main(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    page = sysconf(_SC_PAGESIZE);
    int threads = online < 2 ? 4 : (int)(2 * online);
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    int made = 1;
    for (int p = 0; p < threads / 2; p++)
        made &= pipe(pairs[p].pipes[0]) == 0 && pipe(pairs[p].pipes[1]) == 0;
    check(made, "a pair of pipes for each pair of threads");
    int started = 0;
    for (int t = 0; t < threads; t++) {
        workers[t] = (struct worker){.id = t, .pair = &pairs[t / 2], .second = t % 2};
        if (pthread_create(&workers[t].thread, 0, work, &workers[t]) == 0)
            started++;
    }
    for (int t = 0; t < started; t++)
        pthread_join(workers[t].thread, 0);
    check(started == threads, "twice as many threads as CPUs (at least 4) started and joined");
    unsigned futex_errors = 0, pipe_errors = 0, map_errors = 0, file_errors = 0, dup_errors = 0;
    for (int t = 0; t < threads; t++) {
        futex_errors += workers[t].futex_errors;
        pipe_errors += workers[t].pipe_errors;
        map_errors += workers[t].map_errors;
        file_errors += workers[t].file_errors;
        dup_errors += workers[t].dup_errors;
    }
    check(counter == (unsigned long)threads * ROUNDS, "the mutex-protected counter lost no increment");
    int words = 1;
    for (int p = 0; p < threads / 2; p++)
        words &= atomic_load(&pairs[p].word) == 2 * ROUNDS;
    check(futex_errors == 0 && words, "every futex hand-over between partners happened once");
    check(pipe_errors == 0, "every pipe message arrived whole, in order, from the partner");
    check(map_errors == 0, "every new mapping was zero-filled, kept its data and unmapped");
    check(file_errors == 0, "every file was written, read back and unlinked");
    check(dup_errors == 0, "every F_DUPFD_CLOEXEC duplicate was a descriptor of its own");
    int left = 0;
    for (int t = 0; t < threads; t++)
        for (int k = 0; k < 4; k++) {
            char path[64];
            snprintf(path, sizeof path, "/tmp/stress-%d-%d", t, k);
            left += access(path, F_OK) == 0;
        }
    check(left == 0, "no file left behind");
    if (futex_errors + pipe_errors + map_errors + file_errors + dup_errors)
        printf("errors: futex %u, pipe %u, map %u, file %u, dup %u\n", futex_errors, pipe_errors, map_errors,
               file_errors, dup_errors);
    printf("stress: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
