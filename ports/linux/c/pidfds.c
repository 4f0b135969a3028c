// Process descriptors (pidfd_open, pidfd_send_signal, waitid(P_PIDFD)) as a Linux-ABI C
// program uses them: a descriptor for a child that poll and epoll report readable when the
// child ends, not before; a signal sent through it; waitid on it; the errors for a bad pid,
// bad flags and a descriptor of the wrong kind. Children are `sleep` and `true` from PATH.
// Prints `ok WHAT` or `FAIL WHAT (errno text)` per check, then `pidfds: N passed, N failed`;
// exit status 0 only if every check passed. The same program passes on Linux (5.3 or later).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

static int pidfd_open(pid_t pid, unsigned flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send_signal(int fd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

static pid_t start(char *const argv[]) {
    pid_t pid = -1;
    int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (err) {
        errno = err;
        return -1;
    }
    return pid;
}

// poll for POLLIN on `fd` for up to `ms`: 1 readable, 0 not, -1 error.
static int readable(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, ms);
    return n < 0 ? -1 : (n == 1 && (p.revents & POLLIN));
}

int main(void) {
    // Errors.
    errno = 0;
    check(pidfd_open(-1, 0) == -1 && errno == EINVAL, "pidfd_open(-1): EINVAL");
    errno = 0;
    check(pidfd_open(0x3ffffff0, 0) == -1 && errno == ESRCH, "pidfd_open of no process: ESRCH");
    errno = 0;
    check(pidfd_open(getpid(), 0x1) == -1 && errno == EINVAL, "pidfd_open with unknown flags: EINVAL");
    errno = 0;
    check(pidfd_send_signal(1000, 0) == -1 && errno == EBADF, "pidfd_send_signal on a closed descriptor: EBADF");
    int pipes[2];
    check(pipe(pipes) == 0, "pipe");
    errno = 0;
    check(pidfd_send_signal(pipes[0], 0) == -1 && errno == EBADF,
          "pidfd_send_signal on a pipe: EBADF");
    close(pipes[0]);
    close(pipes[1]);

    // One's own process.
    int self = pidfd_open(getpid(), 0);
    check(self >= 0, "pidfd_open(getpid())");
    check((fcntl(self, F_GETFD) & FD_CLOEXEC) != 0, "a process descriptor is close-on-exec");
    check(readable(self, 0) == 0, "one's own process descriptor is not readable");
    check(pidfd_send_signal(self, 0) == 0, "pidfd_send_signal(0) to oneself");
    char byte;
    errno = 0;
    check(read(self, &byte, 1) == -1 && errno == EINVAL, "read on a process descriptor: EINVAL");
    close(self);
    int nonblocking = pidfd_open(getpid(), O_NONBLOCK);
    check(nonblocking >= 0 && (fcntl(nonblocking, F_GETFL) & O_NONBLOCK) != 0,
          "PIDFD_NONBLOCK shows in F_GETFL");
    close(nonblocking);

    // A sleeping child, killed through its descriptor; poll and waitid(P_PIDFD).
    char *sleeper_argv[] = {"sleep", "30", NULL};
    pid_t sleeper = start(sleeper_argv);
    check(sleeper > 0, "spawn sleep 30");
    int fd = pidfd_open(sleeper, 0);
    check(fd >= 0, "pidfd_open of a child");
    check(readable(fd, 100) == 0, "a running child's descriptor is not readable");
    check(pidfd_send_signal(fd, 0) == 0, "pidfd_send_signal(0) to a running child");
    check(pidfd_send_signal(fd, SIGKILL) == 0, "pidfd_send_signal(SIGKILL)");
    check(readable(fd, 10000) == 1, "the killed child's descriptor becomes readable (poll)");
    siginfo_t info;
    memset(&info, 0, sizeof info);
    check(waitid(P_PIDFD, fd, &info, WEXITED) == 0, "waitid(P_PIDFD)");
    check(info.si_pid == sleeper && info.si_code == CLD_KILLED && info.si_status == SIGKILL,
          "waitid(P_PIDFD): the child, killed by SIGKILL");
    errno = 0;
    check(pidfd_send_signal(fd, 0) == -1 && errno == ESRCH,
          "pidfd_send_signal to a child waited for: ESRCH");
    check(readable(fd, 0) == 1, "a waited-for child's descriptor stays readable");
    close(fd);

    // A child that ends by itself, seen through epoll; then waitpid.
    char *true_argv[] = {"true", NULL};
    pid_t quick = start(true_argv);
    check(quick > 0, "spawn true");
    fd = pidfd_open(quick, 0);
    check(fd >= 0, "pidfd_open of a short-lived child (ended or not)");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77};
    check(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl ADD of a process descriptor");
    struct epoll_event got;
    memset(&got, 0, sizeof got);
    int n = epoll_wait(ep, &got, 1, 10000);
    check(n == 1 && got.data.u64 == 77 && (got.events & EPOLLIN), "epoll reports the child's end");
    int status = -1;
    check(waitpid(quick, &status, 0) == quick && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "waitpid after the descriptor reported the end: exit status 0");
    close(ep);
    close(fd);

    // A child that ended before its descriptor was asked for (not waited for yet).
    quick = start(true_argv);
    usleep(300 * 1000);
    fd = pidfd_open(quick, 0);
    check(fd >= 0, "pidfd_open of a child that ended and was not waited for");
    check(readable(fd, 0) == 1, "its descriptor is readable at once");
    waitpid(quick, &status, 0);
    close(fd);

    printf("pidfds: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
