// Blocking system calls interrupted by signals, as a Linux-ABI C program meets them: a
// thread blocked in read (pipe), write (full pipe), accept, nanosleep, poll, select,
// epoll_wait, wait-free futex code and flock gets a signal; with SA_RESTART the calls that
// restart go on (the handler ran, the call completes later), without it they fail with
// EINTR; sleeps report the time left; poll, select and epoll_wait fail with EINTR even with
// SA_RESTART; an ignored signal interrupts nothing; ppoll and pselect's temporary mask lets a
// blocked pending signal in and the old mask is back afterwards; musl's setgid (which
// signals every thread and waits for each) returns while threads are blocked in read,
// nanosleep and poll; a signal timer's SIGALRM interrupts a blocked read and poll.
// Prints `ok WHAT` or `FAIL WHAT (errno text)` per check, then `eintr: N passed, N failed`;
// exit status 0 only if every check passed. The same program passes on Linux.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static volatile sig_atomic_t usr1s;
static void on_usr1(int sig) { (void)sig; usr1s++; }

static void handle_usr1(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

// A blocking call run by a thread: the call's result and errno, and whether it returned.
struct blocked {
    int (*call)(struct blocked *);
    int fd, fd2;
    long result;
    int error;
    volatile int done;
    struct timespec left;
};

static void *run_blocked(void *arg) {
    struct blocked *b = arg;
    errno = 0;
    b->result = b->call(b);
    b->error = errno;
    b->done = 1;
    return NULL;
}

// Starts `b` on a thread, waits until it blocks, sends SIGUSR1 to it, then waits up to
// `settle_ms` for the call to return. Returns the thread (joined later by `finish`).
static pthread_t interrupt_blocked(struct blocked *b, long settle_ms) {
    pthread_t t;
    b->done = 0;
    pthread_create(&t, NULL, run_blocked, b);
    sleep_ms(150);
    pthread_kill(t, SIGUSR1);
    for (long waited = 0; !b->done && waited < settle_ms; waited += 10) {
        sleep_ms(10);
    }
    return t;
}

static int call_read(struct blocked *b) {
    char c;
    return (int)read(b->fd, &c, 1);
}

static int call_accept(struct blocked *b) {
    return accept(b->fd, NULL, NULL);
}

static int call_nanosleep(struct blocked *b) {
    struct timespec ts = {5, 0};
    int r = nanosleep(&ts, &b->left);
    return r;
}

static int call_poll(struct blocked *b) {
    struct pollfd p = {b->fd, POLLIN, 0};
    return poll(&p, 1, 5000);
}

static int call_select(struct blocked *b) {
    fd_set set;
    FD_ZERO(&set);
    FD_SET(b->fd, &set);
    struct timeval tv = {5, 0};
    return select(b->fd + 1, &set, NULL, NULL, &tv);
}

static int call_epoll(struct blocked *b) {
    struct epoll_event ev;
    return epoll_wait(b->fd, &ev, 1, 5000);
}

static int call_write_full(struct blocked *b) {
    static char big[4096];
    return (int)write(b->fd, big, sizeof big);
}

static int call_flock(struct blocked *b) {
    return flock(b->fd, LOCK_EX);
}

static void pipe_reads(void) {
    int p[2];
    check(pipe(p) == 0, "pipe");
    struct blocked b = {call_read, p[0], -1, 0, 0, 0, {0, 0}};

    handle_usr1(1);
    usr1s = 0;
    pthread_t t = interrupt_blocked(&b, 300);
    check(usr1s == 1, "SA_RESTART: the handler ran while read was blocked");
    check(!b.done, "SA_RESTART: read goes on waiting after the handler");
    check(write(p[1], "x", 1) == 1, "write one byte");
    pthread_join(t, NULL);
    check(b.result == 1, "SA_RESTART: the restarted read returns the byte");

    handle_usr1(0);
    usr1s = 0;
    t = interrupt_blocked(&b, 2000);
    if (!b.done) {
        (void)!write(p[1], "y", 1);
    }
    pthread_join(t, NULL);
    check(usr1s == 1, "no SA_RESTART: the handler ran");
    errno = b.error;
    check(b.result == -1 && b.error == EINTR, "no SA_RESTART: read fails with EINTR");

    // An ignored signal interrupts nothing.
    signal(SIGUSR1, SIG_IGN);
    t = interrupt_blocked(&b, 300);
    check(!b.done, "an ignored signal leaves read blocked");
    check(write(p[1], "z", 1) == 1, "write another byte");
    pthread_join(t, NULL);
    check(b.result == 1, "and read returns the byte");
    close(p[0]);
    close(p[1]);
}

static void pipe_writes(void) {
    int p[2];
    check(pipe(p) == 0, "pipe for writes");
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char chunk[4096];
    while (write(p[1], chunk, sizeof chunk) > 0) {
    }
    fcntl(p[1], F_SETFL, 0);
    struct blocked b = {call_write_full, p[1], -1, 0, 0, 0, {0, 0}};
    handle_usr1(0);
    usr1s = 0;
    pthread_t t = interrupt_blocked(&b, 2000);
    if (!b.done) {
        static char drain[65536];
        (void)!read(p[0], drain, sizeof drain);
    }
    pthread_join(t, NULL);
    errno = b.error;
    check(usr1s == 1 && b.result == -1 && b.error == EINTR,
          "a write to a full pipe fails with EINTR (nothing written)");
    close(p[0]);
    close(p[1]);
}

static void sockets(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    check(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 4) == 0 &&
              getsockname(s, (struct sockaddr *)&a, &len) == 0,
          "a listening socket");
    struct blocked b = {call_accept, s, -1, 0, 0, 0, {0, 0}};

    handle_usr1(1);
    usr1s = 0;
    pthread_t t = interrupt_blocked(&b, 300);
    check(usr1s == 1 && !b.done, "SA_RESTART: accept goes on waiting after the handler");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    check(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    pthread_join(t, NULL);
    check(b.result >= 0, "SA_RESTART: the restarted accept returns the connection");
    close((int)b.result);
    close(c);

    handle_usr1(0);
    usr1s = 0;
    t = interrupt_blocked(&b, 2000);
    if (!b.done) {
        c = socket(AF_INET, SOCK_STREAM, 0);
        (void)!connect(c, (struct sockaddr *)&a, sizeof a);
    }
    pthread_join(t, NULL);
    check(usr1s == 1 && b.result == -1 && b.error == EINTR, "no SA_RESTART: accept fails with EINTR");
    close(s);
}

static void never_restarted(void) {
    // Even with SA_RESTART: sleeps, poll, select and epoll_wait fail with EINTR.
    handle_usr1(1);
    int p[2];
    check(pipe(p) == 0, "pipe for waits");
    struct blocked b = {call_nanosleep, -1, -1, 0, 0, 0, {0, 0}};
    usr1s = 0;
    pthread_t t = interrupt_blocked(&b, 2000);
    pthread_join(t, NULL);
    check(usr1s == 1 && b.result == -1 && b.error == EINTR, "nanosleep fails with EINTR");
    check(b.left.tv_sec >= 3 && b.left.tv_sec <= 5, "nanosleep reports the time left");

    b.call = call_poll;
    b.fd = p[0];
    t = interrupt_blocked(&b, 2000);
    pthread_join(t, NULL);
    check(b.result == -1 && b.error == EINTR, "poll fails with EINTR");

    b.call = call_select;
    t = interrupt_blocked(&b, 2000);
    pthread_join(t, NULL);
    check(b.result == -1 && b.error == EINTR, "select fails with EINTR");

    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    b.call = call_epoll;
    b.fd = ep;
    t = interrupt_blocked(&b, 2000);
    pthread_join(t, NULL);
    check(b.result == -1 && b.error == EINTR, "epoll_wait fails with EINTR");
    check(usr1s == 4, "each handler ran once");
    close(ep);
    close(p[0]);
    close(p[1]);
}

static void locks(void) {
    char path[] = "/tmp/eintr-lockXXXXXX";
    int fd = mkstemp(path);
    int fd2 = open(path, O_RDWR);
    unlink(path);
    check(fd >= 0 && fd2 >= 0 && flock(fd, LOCK_EX) == 0, "flock: hold the lock");
    struct blocked b = {call_flock, fd2, -1, 0, 0, 0, {0, 0}};
    handle_usr1(0);
    usr1s = 0;
    pthread_t t = interrupt_blocked(&b, 2000);
    if (!b.done) {
        flock(fd, LOCK_UN);
    }
    pthread_join(t, NULL);
    check(usr1s == 1 && b.result == -1 && b.error == EINTR, "a waiting flock fails with EINTR");
    close(fd);
    close(fd2);
}

static void temporary_masks(void) {
    handle_usr1(0);
    sigset_t block, old, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    usr1s = 0;
    raise(SIGUSR1);
    check(usr1s == 0, "a blocked SIGUSR1 waits");
    int p[2];
    check(pipe(p) == 0, "pipe for ppoll");
    struct pollfd pfd = {p[0], POLLIN, 0};
    struct timespec ts = {5, 0};
    sigset_t empty;
    sigemptyset(&empty);
    errno = 0;
    int r = ppoll(&pfd, 1, &ts, &empty);
    check(r == -1 && errno == EINTR && usr1s == 1, "ppoll's empty mask lets the pending SIGUSR1 in");
    sigprocmask(SIG_BLOCK, NULL, &now);
    check(sigismember(&now, SIGUSR1), "after ppoll SIGUSR1 is blocked again");

    raise(SIGUSR1);
    fd_set set;
    FD_ZERO(&set);
    FD_SET(p[0], &set);
    errno = 0;
    r = pselect(p[0] + 1, &set, NULL, NULL, &ts, &empty);
    check(r == -1 && errno == EINTR && usr1s == 2, "pselect's empty mask lets it in too");
    sigprocmask(SIG_BLOCK, NULL, &now);
    check(sigismember(&now, SIGUSR1), "after pselect SIGUSR1 is blocked again");

    // A mask that keeps it blocked: the wait times out.
    raise(SIGUSR1);
    struct timespec short_ts = {0, 50 * 1000000};
    r = ppoll(&pfd, 1, &short_ts, &block);
    check(r == 0 && usr1s == 2, "ppoll with SIGUSR1 still blocked times out");
    sigprocmask(SIG_SETMASK, &old, NULL);
    check(usr1s == 3, "unblocked, SIGUSR1 is taken");
    close(p[0]);
    close(p[1]);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void *write_later(void *arg) {
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, NULL);
    sleep_ms(400);
    (void)!write(*(int *)arg, "t", 1);
    return NULL;
}

// The classic timeout: setitimer's SIGALRM ends a read blocked on a pipe.
static void timer_interrupts(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    int p[2];
    check(pipe(p) == 0, "pipe for timers");
    struct itimerval it = {{0, 0}, {0, 100000}};
    check(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer: 100 ms");
    char c;
    errno = 0;
    ssize_t r = read(p[0], &c, 1);
    check(r == -1 && errno == EINTR && alarms == 1, "SIGALRM from setitimer interrupts a blocked read");

    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, write_later, &p[1]);
    check(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer again");
    r = read(p[0], &c, 1);
    check(r == 1 && alarms == 2, "with SA_RESTART the read goes on after SIGALRM's handler");
    pthread_join(t, NULL);

    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    struct pollfd pfd = {p[0], POLLIN, 0};
    errno = 0;
    r = poll(&pfd, 1, 5000);
    check(r == -1 && errno == EINTR && alarms == 3, "alarm's SIGALRM interrupts poll");
    close(p[0]);
    close(p[1]);
}

// musl's setgid signals every thread and waits for each to answer: threads blocked in
// read, nanosleep and poll must answer (their calls restart: the handler has SA_RESTART).
static void synccall(void) {
    handle_usr1(1);
    int p[2];
    check(pipe(p) == 0, "pipe for setgid");
    struct blocked reader = {call_read, p[0], -1, 0, 0, 0, {0, 0}};
    struct blocked sleeper = {call_nanosleep, -1, -1, 0, 0, 0, {0, 0}};
    struct blocked poller = {call_poll, p[0], -1, 0, 0, 0, {0, 0}};
    pthread_t t1, t2, t3;
    pthread_create(&t1, NULL, run_blocked, &reader);
    pthread_create(&t2, NULL, run_blocked, &sleeper);
    pthread_create(&t3, NULL, run_blocked, &poller);
    sleep_ms(150);
    check(setgid(getgid()) == 0, "setgid with threads blocked in read, nanosleep and poll returns");
    check(!reader.done, "the read goes on waiting");
    check(write(p[1], "x", 1) == 1, "write a byte for the reader");
    pthread_join(t1, NULL);
    pthread_join(t3, NULL);
    check(reader.result == 1, "the reader gets it");
    check(poller.result == 1 || (poller.result == -1 && poller.error == EINTR),
          "poll returns (ready, or EINTR on Linux's glibc)");
    pthread_join(t2, NULL);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    pipe_reads();
    pipe_writes();
    sockets();
    never_restarted();
    locks();
    temporary_masks();
    timer_interrupts();
    synccall();
    printf("eintr: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
