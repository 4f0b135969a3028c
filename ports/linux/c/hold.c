// Holds memory and blocks in system calls, for kill tests: `hold [MIB]` maps MIB MiB (default
// 4, every page touched), starts a thread that waits on a condition variable (a futex wait),
// says so, and blocks reading a pipe nobody writes. Killed, it must give back everything.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int started;

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    started = 1;
    pthread_cond_broadcast(&never);
    for (;;)
        pthread_cond_wait(&never, &lock);
    return NULL;
}

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 4;
    size_t len = (size_t)mib << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("hold: mmap");
        return 1;
    }
    memset(p, 1, len);
    pthread_t t;
    if (pthread_create(&t, NULL, waiter, NULL) != 0) {
        fprintf(stderr, "hold: cannot start a thread\n");
        return 1;
    }
    pthread_mutex_lock(&lock);
    while (!started)
        pthread_cond_wait(&never, &lock);
    pthread_mutex_unlock(&lock);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("hold: pipe");
        return 1;
    }
    printf("hold: holding %ld MiB in 2 threads\n", mib);
    fflush(stdout);
    char c;
    ssize_t n = read(fds[0], &c, 1);
    printf("hold: read returned %zd\n", n);
    return 2;
}
