// Sockets as Linux has them on loopback: TCP over 127.0.0.1 and ::1 (echo between threads,
// names, shutdown and end of file, EPIPE, ECONNRESET, ECONNREFUSED, EADDRINUSE, non-blocking
// connect/accept with poll and with epoll, timeouts, MSG_* flags, sendmsg/recvmsg), UDP
// (addresses, message boundaries, truncation, connected sockets), Unix-domain stream and
// datagram sockets (paths, abstract names, socketpair), options, the errors for what does
// not exist, and wild pointers (EFAULT, never a crash). Prints `ok ...` / `FAILED ...` lines
// and `sockets: N passed, N failed`; exits 1 if anything failed. The printed lines are the
// same on a Linux host and in the OS, except the one naming the error of a connect off the
// host (a host with a route says EINPROGRESS or EHOSTUNREACH, the OS ENETUNREACH).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

static void check(const char *what, int ok) {
    if (ok) {
        passed++;
        printf("ok %s\n", what);
    } else {
        failed++;
        printf("FAILED %s (errno %d %s)\n", what, errno, strerror(errno));
    }
    fflush(stdout);
}

// `ret` is -1 with errno `err`.
static void check_err(const char *what, long ret, int err) {
    int e = errno;
    if (ret == -1 && e == err) {
        passed++;
        printf("ok %s\n", what);
    } else {
        failed++;
        printf("FAILED %s: got %ld, errno %d (%s), want errno %d (%s)\n", what, ret, e,
               strerror(e), err, strerror(err));
    }
    fflush(stdout);
}

// A pointer into the unmapped first page (volatile: the compiler must not reason about it).
static void *volatile wild = (void *)0x10;
#define WILD ((void *)wild)

static struct sockaddr_in loop4(uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static uint16_t port_of(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

// A listening TCP socket on 127.0.0.1 (ephemeral port).
static int listener4(void) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loop4(0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 16) != 0) return -1;
    return l;
}

static int connect4(uint16_t port) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loop4(port);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) return -1;
    return c;
}

// A connected pair over 127.0.0.1: *client, *server.
static int tcp_pair(int *client, int *server) {
    int l = listener4();
    if (l < 0) return -1;
    *client = connect4(port_of(l));
    *server = accept(l, 0, 0);
    close(l);
    return (*client >= 0 && *server >= 0) ? 0 : -1;
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_full(int fd, char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0) return -1;
        got += n;
    }
    return 0;
}

// ---- TCP echo between threads --------------------------------------------------------------

#define ECHO_BYTES (1 << 20)

static void *echo_server(void *arg) {
    int l = *(int *)arg;
    int s = accept(l, 0, 0);
    if (s < 0) return (void *)1;
    char buf[16384];
    for (;;) {
        ssize_t n = read(s, buf, sizeof buf);
        if (n < 0) return (void *)2;
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(s, buf + off, n - off);
            if (w <= 0) return (void *)3;
            off += w;
        }
    }
    close(s);
    return 0;
}

static void *echo_writer(void *arg) {
    int c = *(int *)arg;
    char *data = malloc(ECHO_BYTES);
    for (int i = 0; i < ECHO_BYTES; i++) data[i] = (char)(i * 7 + i / 251);
    long r = write(c, data, ECHO_BYTES) == ECHO_BYTES ? 0 : 1;
    // Done writing: the server sees end of file and closes, the reader sees end of file.
    if (shutdown(c, SHUT_WR) != 0) r = 2;
    free(data);
    return (void *)r;
}

static void tcp_echo(void) {
    int l = listener4();
    check("listen on 127.0.0.1:0", l >= 0);
    uint16_t port = port_of(l);
    check("bind to port 0 gets an ephemeral port", port >= 1024);
    pthread_t server, writer;
    pthread_create(&server, 0, echo_server, &l);
    int c = connect4(port);
    check("connect to the listener", c >= 0);
    pthread_create(&writer, 0, echo_writer, &c);
    char *back = malloc(ECHO_BYTES + 1);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(c, back + got, ECHO_BYTES + 1 - got);
        if (n <= 0) break;
        got += n;
    }
    int same = got == ECHO_BYTES;
    for (int i = 0; same && i < ECHO_BYTES; i++) same = back[i] == (char)(i * 7 + i / 251);
    void *rs, *rw;
    pthread_join(server, &rs);
    pthread_join(writer, &rw);
    check("1 MiB echoed back byte for byte between threads, then end of file", same);
    check("server thread and writer thread succeeded", rs == 0 && rw == 0);
    free(back);
    close(c);
    close(l);
}

// ---- names ----------------------------------------------------------------------------------

static void tcp_names(void) {
    int l = listener4();
    uint16_t port = port_of(l);
    int c = connect4(port);
    struct sockaddr_in peer, local, a_peer, a_local;
    socklen_t len = sizeof peer;
    int s = accept(l, (struct sockaddr *)&a_peer, &len);
    check("accept returns the client's address", s >= 0 && len == sizeof a_peer);
    len = sizeof local;
    getsockname(c, (struct sockaddr *)&local, &len);
    check("client's name is 127.0.0.1 with an ephemeral port",
          local.sin_family == AF_INET && local.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
              ntohs(local.sin_port) >= 1024 && ntohs(local.sin_port) != port);
    check("accepted peer address is the client's name",
          a_peer.sin_port == local.sin_port && a_peer.sin_addr.s_addr == local.sin_addr.s_addr);
    len = sizeof peer;
    getpeername(c, (struct sockaddr *)&peer, &len);
    check("client's peer is the listener's address", ntohs(peer.sin_port) == port);
    len = sizeof a_local;
    getsockname(s, (struct sockaddr *)&a_local, &len);
    check("accepted socket's name is the listener's", ntohs(a_local.sin_port) == port);
    // A short buffer gets what fits and the full length.
    char small[4];
    len = sizeof small;
    int r = getsockname(c, (struct sockaddr *)small, &len);
    check("getsockname into a short buffer reports the full length", r == 0 && len == 16);
    int u = socket(AF_INET, SOCK_STREAM, 0);
    len = sizeof local;
    getsockname(u, (struct sockaddr *)&local, &len);
    check("unbound socket's name is 0.0.0.0:0",
          local.sin_port == 0 && local.sin_addr.s_addr == 0 && len == 16);
    len = sizeof peer;
    check_err("getpeername of an unconnected socket: ENOTCONN",
              getpeername(u, (struct sockaddr *)&peer, &len), ENOTCONN);
    char b;
    check_err("recv on an unconnected TCP socket: ENOTCONN", recv(u, &b, 1, 0), ENOTCONN);
    check_err("send on an unconnected TCP socket: EPIPE", send(u, "x", 1, MSG_NOSIGNAL), EPIPE);
    struct stat st;
    check("fstat says S_IFSOCK", fstat(c, &st) == 0 && S_ISSOCK(st.st_mode));
    close(u);
    close(s);
    close(c);
    close(l);
}

// ---- errors of connecting and binding -------------------------------------------------------

static void refused_and_in_use(void) {
    int l = listener4();
    uint16_t port = port_of(l);
    close(l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loop4(port);
    check_err("connect to a closed port: ECONNREFUSED", connect(c, (struct sockaddr *)&a, sizeof a),
              ECONNREFUSED);
    close(c);

    l = listener4();
    port = port_of(l);
    int d = socket(AF_INET, SOCK_STREAM, 0);
    a = loop4(port);
    check_err("bind to a listening port: EADDRINUSE", bind(d, (struct sockaddr *)&a, sizeof a),
              EADDRINUSE);
    struct sockaddr_in any = a;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    check_err("bind 0.0.0.0 to a port 127.0.0.1 has: EADDRINUSE",
              bind(d, (struct sockaddr *)&any, sizeof any), EADDRINUSE);
    int one = 1;
    setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    check_err("SO_REUSEADDR does not share a listening port",
              bind(d, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    close(d);
    close(l);
    // The port is free again once its socket is closed.
    d = socket(AF_INET, SOCK_STREAM, 0);
    check("bind to the port after its listener closed", bind(d, (struct sockaddr *)&a, sizeof a) == 0);
    check_err("bind twice: EINVAL", bind(d, (struct sockaddr *)&a, sizeof a), EINVAL);
    close(d);

    d = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in other = loop4(0);
    other.sin_addr.s_addr = inet_addr("192.0.2.1");
    check_err("bind to an address the host does not have: EADDRNOTAVAIL",
              bind(d, (struct sockaddr *)&other, sizeof other), EADDRNOTAVAIL);
    struct sockaddr_in6 six;
    memset(&six, 0, sizeof six);
    six.sin6_family = AF_INET6;
    check_err("bind an IPv4 socket to an IPv6 address: EAFNOSUPPORT",
              bind(d, (struct sockaddr *)&six, sizeof six), EAFNOSUPPORT);
    check_err("bind with a short address: EINVAL", bind(d, (struct sockaddr *)&a, 8), EINVAL);
    close(d);

    // Off the host: no route in the OS (ENETUNREACH); a host with one starts connecting.
    d = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    other.sin_port = htons(9);
    int r = connect(d, (struct sockaddr *)&other, sizeof other);
    int e = errno;
    printf("ok connect to 192.0.2.1: %s\n", r == 0 ? "connected?" : e == ENETUNREACH ? "ENETUNREACH" : e == EINPROGRESS ? "EINPROGRESS" : e == EHOSTUNREACH ? "EHOSTUNREACH" : strerror(e));
    passed++;
    close(d);
}

// ---- shutdown, end of file, EPIPE, ECONNRESET ------------------------------------------------

static int sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}

static void closing(void) {
    int c, s;
    check("a connected pair", tcp_pair(&c, &s) == 0);
    check("shutdown(SHUT_WR)", shutdown(c, SHUT_WR) == 0);
    char buf[64];
    check("the peer reads end of file", read(s, buf, sizeof buf) == 0);
    check("the peer can still write", write(s, "back", 4) == 4);
    check("and the shut-down side still reads", read(c, buf, sizeof buf) == 4 && memcmp(buf, "back", 4) == 0);
    check_err("writing after SHUT_WR: EPIPE", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(s);
    check("end of file after the peer closed", read(c, buf, sizeof buf) == 0);
    close(c);

    // Writing to a closed peer: the first write goes out, the peer answers with a reset,
    // then EPIPE (MSG_NOSIGNAL: no signal).
    check("a connected pair", tcp_pair(&c, &s) == 0);
    close(s);
    int r = 0, tries = 0;
    while (tries++ < 10 && (r = send(c, "data", 4, MSG_NOSIGNAL)) == 4) {
    }
    check_err("send to a closed peer ends in EPIPE with MSG_NOSIGNAL", r, EPIPE);
    // Without MSG_NOSIGNAL: SIGPIPE too.
    signal(SIGPIPE, on_sigpipe);
    r = write(c, "data", 4);
    check_err("write to a closed peer: EPIPE", r, EPIPE);
    check("and SIGPIPE", sigpipes == 1);
    signal(SIGPIPE, SIG_DFL);
    close(c);

    // Closing with unread data resets the connection.
    check("a connected pair", tcp_pair(&c, &s) == 0);
    check("send before the peer closes", send(c, "unread", 6, 0) == 6);
    check("the peer answers", send(s, "hi", 2, 0) == 2);
    close(s);
    check("what the peer sent is read first", recv(c, buf, sizeof buf, 0) == 2);
    r = recv(c, buf, sizeof buf, 0);
    check_err("then, as the peer closed with unread data: ECONNRESET", r, ECONNRESET);
    check("then end of file", recv(c, buf, sizeof buf, 0) == 0);
    check_err("and writes fail with EPIPE", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(c);

    // SO_LINGER 0: close resets.
    check("a connected pair", tcp_pair(&c, &s) == 0);
    struct linger lg = {1, 0};
    check("SO_LINGER {1, 0}", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    struct linger back;
    socklen_t len = sizeof back;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &back, &len);
    check("SO_LINGER reads back", len == sizeof back && back.l_onoff == 1 && back.l_linger == 0);
    close(s);
    check_err("a close with SO_LINGER 0 resets the peer", recv(c, buf, sizeof buf, 0), ECONNRESET);
    close(c);
}

// ---- non-blocking connect and accept: poll and epoll ---------------------------------------

static void nonblocking(void) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = loop4(0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 8);
    check_err("accept with nothing queued: EAGAIN", accept(l, 0, 0), EAGAIN);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = loop4(port_of(l));
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    check("non-blocking connect: 0 or EINPROGRESS", r == 0 || errno == EINPROGRESS);
    struct pollfd p[2] = {{c, POLLOUT, 0}, {l, POLLIN, 0}};
    int n = poll(p, 2, 5000);
    check("poll: the connecting socket becomes writable, the listener readable",
          n == 2 && (p[0].revents & POLLOUT) && (p[1].revents & POLLIN));
    int err = -1;
    socklen_t len = sizeof err;
    check("SO_ERROR is 0 after the connection", getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 && len == sizeof err);
    int s = accept4(l, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
    check("accept4 takes it", s >= 0);
    check("accept4: O_NONBLOCK", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
    check("accept4: FD_CLOEXEC", fcntl(s, F_GETFD) == FD_CLOEXEC);
    check("SOCK_NONBLOCK shows in F_GETFL", (fcntl(c, F_GETFL) & O_NONBLOCK) != 0);
    char buf[8];
    check_err("recv with nothing to read: EAGAIN", recv(s, buf, sizeof buf, 0), EAGAIN);
    int off = 0;
    check("FIONBIO off", ioctl(s, FIONBIO, &off) == 0 && (fcntl(s, F_GETFL) & O_NONBLOCK) == 0);
    check_err("MSG_DONTWAIT on a blocking socket: EAGAIN", recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    // (musl's accept4 falls back to accept on EINVAL: the system call itself.)
    check_err("accept4 with a bad flag: EINVAL", syscall(SYS_accept4, l, 0, 0, 0x40), EINVAL);
    // After EINPROGRESS, the first connect once connected says 0; then EISCONN.
    r = connect(c, (struct sockaddr *)&a, sizeof a);
    check("connect again: 0 (after EINPROGRESS) or EISCONN", r == 0 || errno == EISCONN);
    check_err("and again: EISCONN", connect(c, (struct sockaddr *)&a, sizeof a), EISCONN);
    close(s);
    close(c);

    // epoll: the listener, then the connection, edge-triggered.
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(c, (struct sockaddr *)&a, sizeof a);
    ev.events = EPOLLOUT | EPOLLET;
    ev.data.u64 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    struct epoll_event out[4];
    int got_l = 0, got_c = 0;
    for (int i = 0; i < 4 && !(got_l && got_c); i++) {
        n = epoll_wait(ep, out, 4, 5000);
        for (int j = 0; j < n; j++) {
            if (out[j].data.u64 == 1 && (out[j].events & EPOLLIN)) got_l = 1;
            if (out[j].data.u64 == 2 && (out[j].events & EPOLLOUT)) got_c = 1;
        }
    }
    check("epoll: listener readable and the connecting socket writable", got_l && got_c);
    s = accept4(l, 0, 0, SOCK_NONBLOCK);
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = 3;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    n = epoll_wait(ep, out, 4, 0);
    int early = 0;
    for (int j = 0; j < n; j++) early |= out[j].data.u64 == 3;
    check("epoll: nothing to read yet", !early);
    send(c, "ping", 4, 0);
    n = epoll_wait(ep, out, 4, 5000);
    int ready = 0;
    for (int j = 0; j < n; j++) ready |= out[j].data.u64 == 3 && (out[j].events & EPOLLIN);
    check("epoll: data makes the accepted socket readable", ready);
    check("and it reads", recv(s, buf, sizeof buf, 0) == 4 && memcmp(buf, "ping", 4) == 0);
    close(c);
    n = epoll_wait(ep, out, 4, 5000);
    ready = 0;
    unsigned got = 0;
    for (int j = 0; j < n; j++) {
        if (out[j].data.u64 != 3) continue;
        ready |= (out[j].events & EPOLLIN) != 0;
        got |= out[j].events;
    }
    check("epoll: the peer's close makes it readable (end of file)", ready && recv(s, buf, sizeof buf, 0) == 0);
    // What tokio (mio) waits for to see a closed read side: EPOLLIN with EPOLLRDHUP.
    check("epoll: with EPOLLRDHUP (the peer shut down writing)", (got & EPOLLRDHUP) && !(got & EPOLLHUP));
    // Closed both ways: EPOLLHUP, reported even when not asked for (EPOLLRDHUP is not).
    shutdown(s, SHUT_WR);
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
    n = epoll_wait(ep, out, 4, 0);
    got = 0;
    for (int j = 0; j < n; j++) got |= out[j].data.u64 == 3 ? out[j].events : 0;
    check("epoll: EPOLLHUP once shut down both ways, EPOLLRDHUP only if asked",
          (got & EPOLLIN) && (got & EPOLLHUP) && !(got & EPOLLRDHUP));
    close(s);
    close(ep);
    close(l);
}

// ---- timeouts, flags, vectors ----------------------------------------------------------------

static void *late_writer(void *arg) {
    int fd = *(int *)arg;
    usleep(50000);
    write(fd, "abc", 3);
    usleep(50000);
    write(fd, "defgh", 5);
    return 0;
}

static void flags_and_vectors(void) {
    int c, s;
    tcp_pair(&c, &s);
    struct timeval tv = {0, 100000};
    check("SO_RCVTIMEO 100 ms", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    struct timeval back;
    socklen_t len = sizeof back;
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &back, &len);
    check("SO_RCVTIMEO reads back", back.tv_sec == 0 && back.tv_usec == 100000);
    char buf[64];
    long t0 = now_ms();
    int r = recv(s, buf, sizeof buf, 0);
    long waited = now_ms() - t0;
    check_err("recv times out with EAGAIN", r, EAGAIN);
    check("after about the timeout", waited >= 90 && waited < 3000);
    tv.tv_usec = 0;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    // MSG_WAITALL gathers writes that come apart; MSG_PEEK leaves the data.
    pthread_t t;
    pthread_create(&t, 0, late_writer, &c);
    r = recv(s, buf, 8, MSG_WAITALL);
    pthread_join(t, 0);
    check("MSG_WAITALL waits for the whole buffer", r == 8 && memcmp(buf, "abcdefgh", 8) == 0);
    send(c, "peek", 4, 0);
    int avail = -1;
    check("FIONREAD counts what is buffered", ioctl(s, FIONREAD, &avail) == 0 && avail == 4);
    r = recv(s, buf, sizeof buf, MSG_PEEK);
    int r2 = recv(s, buf + 10, sizeof buf - 10, 0);
    check("MSG_PEEK leaves the data for the next read", r == 4 && r2 == 4 && memcmp(buf + 10, "peek", 4) == 0);

    // writev / readv and sendmsg / recvmsg with several buffers.
    struct iovec iov[3] = {{"one ", 4}, {"two ", 4}, {"three", 5}};
    check("writev", writev(c, iov, 3) == 13);
    char a1[3], a2[20];
    struct iovec in[2] = {{a1, 3}, {a2, sizeof a2}};
    r = readv(s, in, 2);
    check("readv scatters what is there (no wait for the second buffer)",
          r == 13 && memcmp(a1, "one", 3) == 0 && memcmp(a2, " two three", 10) == 0);
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = 3;
    check("sendmsg", sendmsg(c, &m, 0) == 13);
    memset(&m, 0, sizeof m);
    struct sockaddr_in from;
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = in;
    m.msg_iovlen = 2;
    char control[64];
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    r = recvmsg(s, &m, 0);
    check("recvmsg gathers into the buffers", r == 13 && memcmp(a1, "one", 3) == 0);
    check("recvmsg on TCP: no address, no control data", m.msg_namelen == 0 && m.msg_controllen == 0 && m.msg_flags == 0);
    close(c);
    close(s);
}

// ---- UDP -----------------------------------------------------------------------------------

static void udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in la = loop4(0), lb = loop4(0);
    check("bind two UDP sockets", bind(a, (struct sockaddr *)&la, sizeof la) == 0 &&
                                       bind(b, (struct sockaddr *)&lb, sizeof lb) == 0);
    la = loop4(port_of(a));
    lb = loop4(port_of(b));
    check("sendto", sendto(a, "hello", 5, 0, (struct sockaddr *)&lb, sizeof lb) == 5);
    char buf[256];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    int r = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    check("recvfrom gets the datagram and the sender's address",
          r == 5 && memcmp(buf, "hello", 5) == 0 && len == sizeof from && from.sin_port == la.sin_port &&
              from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    check("reply to the sender's address", sendto(b, "world", 5, 0, (struct sockaddr *)&from, len) == 5);
    r = recv(a, buf, sizeof buf, 0);
    check("the reply arrives", r == 5 && memcmp(buf, "world", 5) == 0);

    // Boundaries are kept: three datagrams, three reads (an empty one included).
    sendto(a, "x", 1, 0, (struct sockaddr *)&lb, sizeof lb);
    sendto(a, "", 0, 0, (struct sockaddr *)&lb, sizeof lb);
    sendto(a, "0123456789", 10, 0, (struct sockaddr *)&lb, sizeof lb);
    int r1 = recv(b, buf, sizeof buf, 0);
    int r2 = recv(b, buf, sizeof buf, 0);
    int r3 = recv(b, buf, 4, MSG_TRUNC);
    check("datagrams keep their boundaries (1, 0, then 10 truncated to 4 with MSG_TRUNC)", r1 == 1 && r2 == 0 && r3 == 10 && memcmp(buf, "0123", 4) == 0);
    check("an empty datagram from a NULL buffer", sendto(a, NULL, 0, 0, (struct sockaddr *)&lb, sizeof lb) == 0);
    check("received into a NULL buffer of length 0", recv(b, NULL, 0, 0) == 0);
    sendto(a, "abcdef", 6, 0, (struct sockaddr *)&lb, sizeof lb);
    struct msghdr m;
    struct iovec iov = {buf, 3};
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    r = recvmsg(b, &m, 0);
    check("recvmsg of a longer datagram: MSG_TRUNC in msg_flags, the sender's name",
          r == 3 && (m.msg_flags & MSG_TRUNC) && m.msg_namelen == sizeof from && from.sin_port == la.sin_port);
    check_err("the rest of a truncated datagram is gone", recv(b, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);

    // Connected: send/recv without addresses; datagrams from others are not received.
    check("connect a UDP socket", connect(b, (struct sockaddr *)&la, sizeof la) == 0);
    struct sockaddr_in peer;
    len = sizeof peer;
    check("getpeername of a connected UDP socket", getpeername(b, (struct sockaddr *)&peer, &len) == 0 && peer.sin_port == la.sin_port);
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(c, "stranger", 8, 0, (struct sockaddr *)&lb, sizeof lb);
    send(a, "", 0, 0);  // not connected: no destination
    sendto(a, "friend", 6, 0, (struct sockaddr *)&lb, sizeof lb);
    r = recv(b, buf, sizeof buf, MSG_DONTWAIT);
    check("a connected UDP socket receives only from its peer", r == 6 && memcmp(buf, "friend", 6) == 0);
    check_err("send without a destination: EDESTADDRREQ", send(c, "x", 1, 0), EDESTADDRREQ);
    check_err("a datagram over 65507 bytes: EMSGSIZE", sendto(a, malloc(70000), 70000, 0, (struct sockaddr *)&lb, sizeof lb), EMSGSIZE);
    close(c);

    // A connected socket whose datagram finds no one: ECONNREFUSED.
    close(a);
    check("send to a closed port", send(b, "anyone?", 7, 0) == 7);
    int err = 0;
    len = sizeof err;
    getsockopt(b, SOL_SOCKET, SO_ERROR, &err, &len);
    check("SO_ERROR: ECONNREFUSED", err == ECONNREFUSED);
    err = -1;
    getsockopt(b, SOL_SOCKET, SO_ERROR, &err, &len);
    check("SO_ERROR is cleared by reading it", err == 0);
    send(b, "again", 5, 0);
    check_err("and the next call reports it: ECONNREFUSED", recv(b, buf, sizeof buf, MSG_DONTWAIT), ECONNREFUSED);
    close(b);

    // An unbound socket gets a port when it sends.
    a = socket(AF_INET, SOCK_DGRAM, 0);
    b = socket(AF_INET, SOCK_DGRAM, 0);
    lb = loop4(0);
    bind(b, (struct sockaddr *)&lb, sizeof lb);
    lb = loop4(port_of(b));
    sendto(a, "auto", 4, 0, (struct sockaddr *)&lb, sizeof lb);
    len = sizeof from;
    recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    check("an unbound sender is given a port", port_of(a) != 0 && ntohs(from.sin_port) == port_of(a));
    close(a);
    close(b);
}

// ---- IPv6 ------------------------------------------------------------------------------------

static void ipv6(void) {
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int v6only = -1;
    socklen_t len = sizeof v6only;
    getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len);
    check("IPV6_V6ONLY defaults to 0", v6only == 0);
    int one = 1;
    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len);
    check("IPV6_V6ONLY reads back", v6only == 1);
    check("listen on [::1]:0", bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0);
    a.sin6_port = htons(port_of(l));
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    check("connect to [::1]", connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    struct sockaddr_in6 peer;
    len = sizeof peer;
    int s = accept(l, (struct sockaddr *)&peer, &len);
    check("accept gives an IPv6 peer", s >= 0 && len == sizeof peer && peer.sin6_family == AF_INET6 &&
                                           memcmp(&peer.sin6_addr, &in6addr_loopback, 16) == 0);
    char buf[8];
    check("data over ::1", write(c, "six", 3) == 3 && read(s, buf, sizeof buf) == 3);
    close(s);
    close(c);
    close(l);
    c = socket(AF_INET6, SOCK_STREAM, 0);
    check_err("connect to a closed IPv6 port: ECONNREFUSED", connect(c, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
    close(c);
    int u = socket(AF_INET6, SOCK_DGRAM, 0), v = socket(AF_INET6, SOCK_DGRAM, 0);
    a.sin6_port = 0;
    bind(v, (struct sockaddr *)&a, sizeof a);
    a.sin6_port = htons(port_of(v));
    sendto(u, "udp6", 4, 0, (struct sockaddr *)&a, sizeof a);
    struct sockaddr_in6 from;
    len = sizeof from;
    int r = recvfrom(v, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    check("UDP over ::1 with the sender's address", r == 4 && len == sizeof from && ntohs(from.sin6_port) == port_of(u));
    close(u);
    close(v);
}

// ---- Unix domain -------------------------------------------------------------------------------

static void *unix_echo(void *arg) {
    int l = *(int *)arg;
    int s = accept(l, 0, 0);
    char buf[64];
    ssize_t n;
    while ((n = read(s, buf, sizeof buf)) > 0) write(s, buf, n);
    close(s);
    return 0;
}

static void unix_sockets(void) {
    const char *path = "/tmp/sockets-test.sock";
    unlink(path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
    check("bind a Unix socket to a path", bind(l, (struct sockaddr *)&a, alen) == 0);
    check("the path exists", access(path, F_OK) == 0);
    check("listen", listen(l, 4) == 0);
    struct sockaddr_un name;
    socklen_t len = sizeof name;
    getsockname(l, (struct sockaddr *)&name, &len);
    check("getsockname gives the path", len == alen && strcmp(name.sun_path, path) == 0);
    int d = socket(AF_UNIX, SOCK_STREAM, 0);
    check_err("bind to a path in use: EADDRINUSE", bind(d, (struct sockaddr *)&a, alen), EADDRINUSE);
    close(d);
    pthread_t t;
    pthread_create(&t, 0, unix_echo, &l);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    check("connect to the path", connect(c, (struct sockaddr *)&a, alen) == 0);
    len = sizeof name;
    getpeername(c, (struct sockaddr *)&name, &len);
    check("the client's peer is the path", strcmp(name.sun_path, path) == 0);
    char buf[64];
    check("echo over a Unix stream", write(c, "unix!", 5) == 5 && read_full(c, buf, 5) == 0 && memcmp(buf, "unix!", 5) == 0);
    close(c);
    pthread_join(t, 0);
    close(l);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    check_err("connect to a path whose socket closed: ECONNREFUSED", connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED);
    unlink(path);
    check_err("connect to a missing path: ENOENT", connect(c, (struct sockaddr *)&a, alen), ENOENT);
    close(c);

    // Abstract names: no file; the name goes with the socket.
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, "\0sockets-abstract", 17);
    alen = offsetof(struct sockaddr_un, sun_path) + 17;
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    check("bind and listen on an abstract name", bind(l, (struct sockaddr *)&a, alen) == 0 && listen(l, 4) == 0);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    check("connect to the abstract name", connect(c, (struct sockaddr *)&a, alen) == 0);
    int s = accept(l, 0, 0);
    check("and talk", write(s, "abs", 3) == 3 && read(c, buf, sizeof buf) == 3);
    len = sizeof name;
    getsockname(l, (struct sockaddr *)&name, &len);
    check("getsockname gives the abstract name", len == alen && memcmp(name.sun_path, "\0sockets-abstract", 17) == 0);
    // Closing with unread data: the peer gets ECONNRESET, as with TCP.
    write(c, "unread", 6);
    close(s);
    check_err("Unix peer closed with unread data: ECONNRESET", read(c, buf, sizeof buf), ECONNRESET);
    close(c);
    close(l);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    check_err("the abstract name is free once closed: ECONNREFUSED", connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED);
    close(c);

    // Autobind: bind with only the family.
    d = socket(AF_UNIX, SOCK_DGRAM, 0);
    check("autobind", bind(d, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)) == 0);
    len = sizeof name;
    getsockname(d, (struct sockaddr *)&name, &len);
    check("an autobound name is abstract, 5 hex digits", len == offsetof(struct sockaddr_un, sun_path) + 6 && name.sun_path[0] == 0);
    close(d);

    // socketpair: stream and datagram.
    int sv[2];
    check("socketpair(SOCK_STREAM)", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    check("both ends close-on-exec", fcntl(sv[0], F_GETFD) == FD_CLOEXEC && fcntl(sv[1], F_GETFD) == FD_CLOEXEC);
    check("data both ways", write(sv[0], "ab", 2) == 2 && read(sv[1], buf, 2) == 2 && write(sv[1], "cd", 2) == 2 && read(sv[0], buf, 2) == 2 && memcmp(buf, "cd", 2) == 0);
    shutdown(sv[1], SHUT_RD);
    check_err("writing to an end shut for reading: EPIPE", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    close(sv[0]);
    check("end of file when the other end closes", read(sv[1], buf, sizeof buf) == 0);
    close(sv[1]);
    check("socketpair(SOCK_DGRAM)", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    send(sv[0], "one", 3, 0);
    send(sv[0], "three", 5, 0);
    int r1 = recv(sv[1], buf, sizeof buf, 0), r2 = recv(sv[1], buf, sizeof buf, 0);
    check("Unix datagrams keep their boundaries", r1 == 3 && r2 == 5);
    close(sv[0]);
    close(sv[1]);
    check_err("socketpair(AF_INET): EOPNOTSUPP", socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);

    // Datagrams to a path.
    const char *dpath = "/tmp/sockets-dgram.sock";
    unlink(dpath);
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, dpath);
    alen = sizeof a;
    int rx = socket(AF_UNIX, SOCK_DGRAM, 0), tx = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(rx, (struct sockaddr *)&a, alen);
    check("sendto a Unix datagram path", sendto(tx, "dgram", 5, 0, (struct sockaddr *)&a, alen) == 5);
    len = sizeof name;
    int r = recvfrom(rx, buf, sizeof buf, 0, (struct sockaddr *)&name, &len);
    check("recvfrom: an unnamed sender has no address (length 0)", r == 5 && len == 0);
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    check_err("connect a stream socket to a datagram socket: EPROTOTYPE", connect(st, (struct sockaddr *)&a, alen), EPROTOTYPE);
    close(st);
    close(rx);
    close(tx);
    unlink(dpath);
}

// ---- options, unsupported things, wild pointers ----------------------------------------------

static void options(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int v = -1;
    socklen_t len = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len);
    check("SO_TYPE", v == SOCK_STREAM && len == sizeof v);
    getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len);
    check("SO_PROTOCOL", v == IPPROTO_TCP);
    getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &len);
    check("SO_DOMAIN", v == AF_INET);
    int one = 1, five = 5;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &five, sizeof five);
    getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &len);
    check("SO_REUSEADDR reads back as 1", v == 1);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    check("TCP_NODELAY reads back", v == 1);
    getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len);
    check("SO_KEEPALIVE defaults to 0", v == 0);
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len);
    check("SO_KEEPALIVE reads back", v == 1);
    int size = 65536;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &len);
    check("SO_RCVBUF reads back doubled, as Linux", v == 131072);
    getsockopt(s, IPPROTO_IP, IP_TTL, &v, &len);
    check("IP_TTL defaults to 64", v == 64);
    getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
    check("SO_ACCEPTCONN 0 before listen", v == 0);
    struct sockaddr_in a = loop4(0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 1);
    getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
    check("SO_ACCEPTCONN 1 after listen", v == 1);
    check_err("an unknown SOL_SOCKET option: ENOPROTOOPT", setsockopt(s, SOL_SOCKET, 9999, &one, sizeof one), ENOPROTOOPT);
    check_err("an int option with a short value: EINVAL", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, 2), EINVAL);
    check_err("SO_TYPE cannot be set: ENOPROTOOPT", setsockopt(s, SOL_SOCKET, SO_TYPE, &one, sizeof one), ENOPROTOOPT);
    close(s);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    check_err("TCP_NODELAY on a UDP socket: ENOPROTOOPT", setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), ENOPROTOOPT);
    check("SO_BROADCAST on UDP", setsockopt(u, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) == 0);
    close(u);
    int x = socket(AF_UNIX, SOCK_STREAM, 0);
    check_err("TCP_NODELAY on a Unix socket: EOPNOTSUPP", setsockopt(x, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), EOPNOTSUPP);
    close(x);
}

static void unsupported(void) {
    check_err("AF_INET SOCK_SEQPACKET: ESOCKTNOSUPPORT", socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    check_err("SOCK_STREAM with IPPROTO_UDP: EPROTONOSUPPORT", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    check_err("SOCK_RAW with protocol 0: EPROTONOSUPPORT", socket(AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
    check_err("family 46: EAFNOSUPPORT", socket(46, SOCK_STREAM, 0), EAFNOSUPPORT);
    check_err("type 11: EINVAL", socket(AF_INET, 11, 0), EINVAL);
    check_err("unknown type flags: EINVAL", socket(AF_INET, SOCK_STREAM | 0x100000, 0), EINVAL);
    // Netlink and packet sockets: unavailable or privileged, or (a privileged host) there.
    int nl = socket(AF_NETLINK, SOCK_RAW, 0);
    check("AF_NETLINK: EAFNOSUPPORT (or there)", nl >= 0 || errno == EAFNOSUPPORT);
    if (nl >= 0) close(nl);
    int pk = socket(AF_PACKET, SOCK_RAW, 0);
    check("AF_PACKET: EPERM (or there)", pk >= 0 || errno == EPERM);
    if (pk >= 0) close(pk);
    int f = open("/tmp", O_RDONLY);
    check_err("a socket call on a directory: ENOTSOCK", listen(f, 1), ENOTSOCK);
    close(f);
    check_err("a socket call on a closed descriptor: EBADF", listen(999, 1), EBADF);
}

static void wild_pointers(void) {
    int c, s;
    tcp_pair(&c, &s);
    check_err("bind from a wild address: EFAULT", bind(socket(AF_INET, SOCK_STREAM, 0), WILD, 16), EFAULT);
    check_err("connect to a wild address: EFAULT", connect(socket(AF_INET, SOCK_STREAM, 0), WILD, 16), EFAULT);
    socklen_t len = 16;
    check_err("getsockname into a wild buffer: EFAULT", getsockname(c, WILD, &len), EFAULT);
    check_err("getsockname with a wild length: EFAULT", getsockname(c, (struct sockaddr *)&len, WILD), EFAULT);
    check_err("send from a wild buffer: EFAULT", send(c, WILD, 10, 0), EFAULT);
    write(c, "data", 4);
    check_err("recv into a wild buffer: EFAULT", recv(s, WILD, 10, 0), EFAULT);
    char buf[8];
    check("the data is still there", recv(s, buf, sizeof buf, 0) == 4);
    // (musl's wrappers read the msghdr themselves: the system calls.)
    check_err("sendmsg with a wild msghdr: EFAULT", syscall(SYS_sendmsg, c, WILD, 0), EFAULT);
    check_err("recvmsg with a wild msghdr: EFAULT", syscall(SYS_recvmsg, s, WILD, 0), EFAULT);
    struct iovec iov = {WILD, 4};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    check_err("sendmsg from a wild iovec buffer: EFAULT", sendmsg(c, &m, 0), EFAULT);
    check_err("setsockopt from a wild value: EFAULT", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, WILD, 4), EFAULT);
    len = 4;
    check_err("getsockopt into a wild value: EFAULT", getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, WILD, &len), EFAULT);
    check_err("socketpair into a wild array: EFAULT", socketpair(AF_UNIX, SOCK_STREAM, 0, WILD), EFAULT);
    struct sockaddr_in to = loop4(9);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    check_err("sendto a wild address: EFAULT", sendto(u, "x", 1, 0, WILD, sizeof to), EFAULT);
    close(u);
    close(c);
    close(s);
}

// `sockets block`: a thread blocked in accept on 127.0.0.1:7777 and the main thread blocked in
// read, for Ctrl-C tests; `sockets rebind`: binds that port again (free once the killed
// process is gone).
static void *block_in_accept(void *arg) {
    accept(*(int *)arg, 0, 0);
    return 0;
}

static int block_modes(const char *mode) {
    struct sockaddr_in a = loop4(7777);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0) {
        printf("port 7777: %s\n", strerror(errno));
        return 1;
    }
    if (strcmp(mode, "rebind") == 0) {
        printf("port 7777 is free\n");
        return 0;
    }
    int c, s;
    tcp_pair(&c, &s);
    pthread_t t;
    pthread_create(&t, 0, block_in_accept, &l);
    printf("blocked in accept and read\n");
    fflush(stdout);
    char b;
    read(c, &b, 1);
    printf("read returned\n");
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 2) return block_modes(argv[1]);
    mkdir("/tmp", 0777);
    tcp_echo();
    tcp_names();
    refused_and_in_use();
    closing();
    nonblocking();
    flags_and_vectors();
    udp();
    ipv6();
    unix_sockets();
    options();
    unsupported();
    wild_pointers();
    printf("sockets: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
