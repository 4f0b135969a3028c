// POSIX message queues as a Linux-ABI C program uses them: mq_open (create, exclusive,
// attributes, the defaults, bad names and sizes), mq_send/mq_receive with priorities (highest
// first, in order within one), a full queue (EAGAIN non-blocking, ETIMEDOUT with a timeout,
// a blocked sender released by a receive), mq_getattr/mq_setattr, access modes (EBADF),
// EMSGSIZE both ways, poll on the descriptor, mq_notify (SIGEV_NONE, SIGEV_SIGNAL, EBUSY),
// and mq_unlink (the open queue lives on). Prints `ok WHAT` or `FAIL WHAT (errno text)` per
// check, then `mqueue: N passed, N failed`; exit status 0 only if every check passed. The
// same program passes on Linux.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static volatile sig_atomic_t notified;
static void on_usr1(int sig) {
    (void)sig;
    notified++;
}

static mqd_t sender_q;
static void *late_receiver(void *arg) {
    (void)arg;
    usleep(100000);
    char buf[64];
    unsigned prio;
    mq_receive(sender_q, buf, sizeof buf, &prio);
    return NULL;
}

int main(void) {
    const char *name = "/theseus-mq-test";
    mq_unlink(name);
    struct mq_attr attr = {.mq_maxmsg = 3, .mq_msgsize = 64};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    check(q != (mqd_t)-1, "mq_open creates a queue of 3 messages of 64 bytes");
    errno = 0;
    check(mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr) == (mqd_t)-1 && errno == EEXIST,
          "O_EXCL on an existing queue: EEXIST");
    errno = 0;
    check(mq_open("/theseus-mq-none", O_RDONLY) == (mqd_t)-1 && errno == ENOENT,
          "a missing queue: ENOENT");
    struct mq_attr bad = {.mq_maxmsg = 0, .mq_msgsize = 64};
    errno = 0;
    check(mq_open("/theseus-mq-bad", O_CREAT | O_RDWR, 0600, &bad) == (mqd_t)-1 &&
              errno == EINVAL,
          "0 messages: EINVAL");
    errno = 0;
    check(syscall(SYS_mq_open, "a/b", O_CREAT | O_RDWR, 0600, NULL) == -1 && errno == EACCES,
          "a name with a slash: EACCES");

    struct mq_attr got;
    check(mq_getattr(q, &got) == 0 && got.mq_maxmsg == 3 && got.mq_msgsize == 64 &&
              got.mq_curmsgs == 0 && got.mq_flags == 0,
          "mq_getattr: 3, 64, 0 waiting, blocking");

    check(mq_send(q, "low", 3, 1) == 0 && mq_send(q, "high", 4, 9) == 0 &&
              mq_send(q, "low2", 4, 1) == 0,
          "send 3 messages, priorities 1, 9, 1");
    check(mq_getattr(q, &got) == 0 && got.mq_curmsgs == 3, "3 waiting");
    struct pollfd pfd = {q, POLLIN | POLLOUT, 0};
    check(poll(&pfd, 1, 0) == 1 && pfd.revents == POLLIN, "poll: a full queue is readable only");

    struct timespec soon;
    clock_gettime(CLOCK_REALTIME, &soon);
    soon.tv_nsec += 50000000;
    if (soon.tv_nsec >= 1000000000) {
        soon.tv_sec++;
        soon.tv_nsec -= 1000000000;
    }
    errno = 0;
    check(mq_timedsend(q, "x", 1, 0, &soon) == -1 && errno == ETIMEDOUT,
          "send to a full queue with a timeout: ETIMEDOUT");
    struct timespec wrong = {0, -1};
    errno = 0;
    check(mq_timedsend(q, "x", 1, 0, &wrong) == -1 && errno == EINVAL,
          "a bad timeout: EINVAL");

    char buf[64];
    unsigned prio = 0;
    ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
    check(n == 4 && memcmp(buf, "high", 4) == 0 && prio == 9, "the highest priority first");
    n = mq_receive(q, buf, sizeof buf, &prio);
    check(n == 3 && memcmp(buf, "low", 3) == 0 && prio == 1, "then the older of priority 1");
    n = mq_receive(q, buf, sizeof buf, &prio);
    check(n == 4 && memcmp(buf, "low2", 4) == 0, "then the newer");
    errno = 0;
    check(mq_receive(q, buf, 10, &prio) == -1 && errno == EMSGSIZE,
          "a buffer under the message size: EMSGSIZE");
    char big[65] = {0};
    errno = 0;
    check(mq_send(q, big, 65, 0) == -1 && errno == EMSGSIZE,
          "a message over the message size: EMSGSIZE");
    errno = 0;
    check(mq_send(q, "p", 1, 40000) == -1 && errno == EINVAL, "priority 40000: EINVAL");
    clock_gettime(CLOCK_REALTIME, &soon);
    soon.tv_nsec += 50000000;
    if (soon.tv_nsec >= 1000000000) {
        soon.tv_sec++;
        soon.tv_nsec -= 1000000000;
    }
    errno = 0;
    check(mq_timedreceive(q, buf, sizeof buf, &prio, &soon) == -1 && errno == ETIMEDOUT,
          "receive from an empty queue with a timeout: ETIMEDOUT");

    struct mq_attr nb = {.mq_flags = O_NONBLOCK}, old;
    check(mq_setattr(q, &nb, &old) == 0 && old.mq_flags == 0 && mq_getattr(q, &got) == 0 &&
              got.mq_flags == O_NONBLOCK,
          "mq_setattr O_NONBLOCK");
    errno = 0;
    check(mq_receive(q, buf, sizeof buf, &prio) == -1 && errno == EAGAIN,
          "non-blocking receive from an empty queue: EAGAIN");
    mq_send(q, "1", 1, 0), mq_send(q, "2", 1, 0), mq_send(q, "3", 1, 0);
    errno = 0;
    check(mq_send(q, "4", 1, 0) == -1 && errno == EAGAIN,
          "non-blocking send to a full queue: EAGAIN");
    nb.mq_flags = 0;
    mq_setattr(q, &nb, NULL);
    sender_q = q;
    pthread_t t;
    pthread_create(&t, NULL, late_receiver, NULL);
    check(mq_send(q, "4", 1, 0) == 0, "a blocked send goes on when a receiver makes room");
    pthread_join(t, NULL);
    while (mq_getattr(q, &got) == 0 && got.mq_curmsgs > 0)
        mq_receive(q, buf, sizeof buf, &prio);

    mqd_t ro = mq_open(name, O_RDONLY);
    errno = 0;
    check(ro != (mqd_t)-1 && mq_send(ro, "r", 1, 0) == -1 && errno == EBADF,
          "send on a read-only descriptor: EBADF");
    errno = 0;
    check(mq_getattr(0, &got) == -1 && errno == EBADF, "mq_getattr on stdin: EBADF");

    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    check(mq_notify(q, &ev) == 0, "mq_notify(SIGEV_NONE)");
    errno = 0;
    check(mq_notify(ro, &ev) == -1 && errno == EBUSY, "a second registration: EBUSY");
    check(mq_notify(q, NULL) == 0, "mq_notify(NULL) removes it");
    signal(SIGUSR1, on_usr1);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    check(mq_notify(q, &ev) == 0, "mq_notify(SIGEV_SIGNAL, SIGUSR1)");
    mq_send(q, "n", 1, 0);
    for (int i = 0; i < 100 && !notified; i++)
        usleep(1000);
    check(notified == 1, "a message in the empty queue sends SIGUSR1");
    check(mq_notify(q, &ev) == 0, "the registration ended: register again");
    mq_send(q, "m", 1, 0);
    usleep(10000);
    check(notified == 1, "no signal while the queue was not empty");
    mq_notify(q, NULL);

    char line[128] = {0};
    check(read(q, line, sizeof line - 1) > 0 && strncmp(line, "QSIZE:2", 7) == 0,
          "read gives the status line: QSIZE:2");

    check(mq_unlink(name) == 0, "mq_unlink");
    errno = 0;
    check(mq_unlink(name) == -1 && errno == ENOENT, "mq_unlink again: ENOENT");
    check(mq_receive(q, buf, sizeof buf, &prio) == 1 && buf[0] == 'n',
          "the open queue lives on after mq_unlink");
    errno = 0;
    check(mq_open(name, O_RDWR) == (mqd_t)-1 && errno == ENOENT, "but its name is gone");
    mqd_t dq = mq_open("/theseus-mq-default", O_CREAT | O_RDWR, 0600, NULL);
    check(dq != (mqd_t)-1 && mq_getattr(dq, &got) == 0 && got.mq_maxmsg == 10 &&
              got.mq_msgsize == 8192,
          "no attributes: 10 messages of 8192 bytes");
    mq_close(dq);
    mq_unlink("/theseus-mq-default");
    check(mq_close(ro) == 0 && mq_close(q) == 0, "mq_close");

    printf("mqueue: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
