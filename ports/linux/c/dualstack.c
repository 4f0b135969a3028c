// IPv6 sockets next to IPv4 ones on loopback, as Linux has them: UDP over ::1 (addresses,
// connect, MSG_DONTWAIT, poll and epoll readiness), the dual stack (an AF_INET6 socket on
// [::] takes IPv4 datagrams and connections, naming the peer ::ffff:127.0.0.1, and reaches
// IPv4 sockets through v4-mapped addresses), IPV6_V6ONLY (no IPv4 then: ENETUNREACH toward
// a v4-mapped address, EINVAL for a v4-mapped bind or for setting it once bound), and one
// port for 0.0.0.0 and [::] (EADDRINUSE for the second bind when [::] is dual-stack, both
// allowed with IPV6_V6ONLY, each then getting its own family's traffic), for UDP and TCP.
// Prints `ok WHAT` or `FAIL WHAT (errno text)` per check, then `dualstack: N passed, N
// failed`; exit status 0 only if every check passed. The same program passes on Linux.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check.h"

static struct sockaddr_in in4(uint32_t ip, uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    a.sin_port = htons(port);
    return a;
}

static struct sockaddr_in6 in6(const struct in6_addr *ip, uint16_t port) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = *ip;
    a.sin6_port = htons(port);
    return a;
}

// ::ffff:127.0.0.1
static struct in6_addr mapped_loopback(void) {
    struct in6_addr a;
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a);
    return a;
}

static uint16_t port_of(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

// A socket of `family` and `type`, IPV6_V6ONLY set to `v6only` (IPv6), bound to the wildcard
// (or loopback) address on `port`; -1 with errno if a step failed.
static int bound(int family, int type, int v6only, int loopback, uint16_t port) {
    int s = socket(family, type, 0);
    if (s < 0) return -1;
    int r;
    if (family == AF_INET6) {
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        struct sockaddr_in6 a = in6(loopback ? &in6addr_loopback : &in6addr_any, port);
        r = bind(s, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in a = in4(loopback ? INADDR_LOOPBACK : INADDR_ANY, port);
        r = bind(s, (struct sockaddr *)&a, sizeof a);
    }
    if (r != 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

static int is_mapped_loopback(const struct sockaddr_in6 *a, uint16_t port) {
    struct in6_addr want = mapped_loopback();
    return a->sin6_family == AF_INET6 && memcmp(&a->sin6_addr, &want, 16) == 0 &&
           ntohs(a->sin6_port) == port;
}

// Readable within `ms` milliseconds.
static int readable(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void udp6_loopback(void) {
    int r = bound(AF_INET6, SOCK_DGRAM, 0, 1, 0);
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    check(r >= 0 && s >= 0, "two UDP sockets, one on [::1]");
    char buf[64];
    errno = 0;
    check(recv(r, buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "MSG_DONTWAIT with nothing queued: EAGAIN");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = r};
    epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev);
    struct epoll_event got;
    check(epoll_wait(ep, &got, 1, 0) == 0 && !readable(r, 0), "not readable while empty");
    struct sockaddr_in6 to = in6(&in6addr_loopback, port_of(r));
    check(sendto(s, "six", 3, 0, (struct sockaddr *)&to, sizeof to) == 3, "sendto [::1]");
    check(readable(r, 1000) && epoll_wait(ep, &got, 1, 1000) == 1 && got.data.fd == r,
          "poll and epoll: readable once it arrived");
    struct sockaddr_in6 from;
    socklen_t len = sizeof from;
    memset(&from, 0xaa, sizeof from);
    ssize_t n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    check(n == 3 && memcmp(buf, "six", 3) == 0 && len == sizeof from &&
              from.sin6_family == AF_INET6 &&
              memcmp(&from.sin6_addr, &in6addr_loopback, 16) == 0 &&
              ntohs(from.sin6_port) == port_of(s),
          "recvfrom: the bytes from [::1] and the sender's port");
    check(connect(s, (struct sockaddr *)&to, sizeof to) == 0, "connect to [::1]");
    struct sockaddr_in6 name;
    len = sizeof name;
    getsockname(s, (struct sockaddr *)&name, &len);
    check(memcmp(&name.sin6_addr, &in6addr_loopback, 16) == 0, "the connected socket is named [::1]");
    len = sizeof name;
    check(getpeername(s, (struct sockaddr *)&name, &len) == 0 && ntohs(name.sin6_port) == port_of(r),
          "getpeername: the receiver");
    check(send(s, "again", 5, 0) == 5 && recv(r, buf, sizeof buf, 0) == 5, "send after connect");
    close(ep);
    close(r);
    close(s);
}

static void udp_dual_stack(void) {
    int d = bound(AF_INET6, SOCK_DGRAM, 0, 0, 0);
    int v4 = bound(AF_INET, SOCK_DGRAM, 0, 1, 0);
    check(d >= 0 && v4 >= 0, "a UDP socket on [::] and one on 127.0.0.1");
    uint16_t dp = port_of(d), v4p = port_of(v4);
    // IPv4 to the dual-stack socket.
    struct sockaddr_in to4 = in4(INADDR_LOOPBACK, dp);
    check(sendto(v4, "four", 4, 0, (struct sockaddr *)&to4, sizeof to4) == 4,
          "AF_INET sendto 127.0.0.1 at the [::] socket's port");
    check(readable(d, 1000), "the [::] socket is readable");
    struct sockaddr_in6 from;
    socklen_t len = sizeof from;
    char buf[64];
    ssize_t n = recvfrom(d, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    check(n == 4 && len == sizeof from && is_mapped_loopback(&from, v4p),
          "the [::] socket gets it from ::ffff:127.0.0.1 and the sender's port");
    // The dual-stack socket reaches the IPv4 one through a v4-mapped address.
    struct sockaddr_in6 mapped = in6(&(struct in6_addr){0}, v4p);
    mapped.sin6_addr = mapped_loopback();
    check(sendto(d, "back", 4, 0, (struct sockaddr *)&mapped, sizeof mapped) == 4,
          "sendto ::ffff:127.0.0.1 from the [::] socket");
    struct sockaddr_in from4;
    len = sizeof from4;
    n = recvfrom(v4, buf, sizeof buf, 0, (struct sockaddr *)&from4, &len);
    check(n == 4 && len == sizeof from4 && from4.sin_family == AF_INET &&
              from4.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(from4.sin_port) == dp,
          "the AF_INET socket gets it from 127.0.0.1 and the [::] socket's port");
    // Connected to a v4-mapped address: both names v4-mapped.
    check(connect(d, (struct sockaddr *)&mapped, sizeof mapped) == 0, "connect to ::ffff:127.0.0.1");
    struct sockaddr_in6 name;
    len = sizeof name;
    getsockname(d, (struct sockaddr *)&name, &len);
    check(is_mapped_loopback(&name, dp), "getsockname: ::ffff:127.0.0.1 and its port");
    len = sizeof name;
    getpeername(d, (struct sockaddr *)&name, &len);
    check(is_mapped_loopback(&name, v4p), "getpeername: ::ffff:127.0.0.1 and the peer's port");
    check(send(d, "c", 1, 0) == 1 && recv(v4, buf, sizeof buf, 0) == 1, "send after connect");
    close(d);
    close(v4);
}

static void udp_v6only(void) {
    int one = 1;
    int s = bound(AF_INET6, SOCK_DGRAM, 1, 0, 0);
    int v4 = bound(AF_INET, SOCK_DGRAM, 0, 1, 0);
    check(s >= 0 && v4 >= 0, "a UDP socket on [::] with IPV6_V6ONLY");
    int v = 0;
    socklen_t len = sizeof v;
    getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len);
    check(v == 1, "IPV6_V6ONLY reads back 1");
    errno = 0;
    check(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == -1 && errno == EINVAL,
          "IPV6_V6ONLY once bound: EINVAL");
    struct sockaddr_in6 mapped = in6(&(struct in6_addr){0}, port_of(v4));
    mapped.sin6_addr = mapped_loopback();
    errno = 0;
    check(sendto(s, "x", 1, 0, (struct sockaddr *)&mapped, sizeof mapped) == -1 && errno == ENETUNREACH,
          "sendto a v4-mapped address: ENETUNREACH");
    errno = 0;
    check(connect(s, (struct sockaddr *)&mapped, sizeof mapped) == -1 && errno == ENETUNREACH,
          "connect to a v4-mapped address: ENETUNREACH");
    struct sockaddr_in to4 = in4(INADDR_LOOPBACK, port_of(s));
    sendto(v4, "lost", 4, 0, (struct sockaddr *)&to4, sizeof to4);
    check(!readable(s, 200), "IPv4 to its port does not reach it");
    int t = socket(AF_INET6, SOCK_DGRAM, 0);
    setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    mapped.sin6_port = 0;
    errno = 0;
    check(bind(t, (struct sockaddr *)&mapped, sizeof mapped) == -1 && errno == EINVAL,
          "binding an IPV6_V6ONLY socket to a v4-mapped address: EINVAL");
    close(t);
    close(s);
    close(v4);
}

// A free port for both families and types (bound and released).
static uint16_t free_port(void) {
    int s = bound(AF_INET6, SOCK_STREAM, 0, 0, 0);
    int u = s >= 0 ? bound(AF_INET6, SOCK_DGRAM, 0, 0, port_of(s)) : -1;
    uint16_t p = u >= 0 ? port_of(s) : 0;
    close(s);
    if (u >= 0) close(u);
    return p;
}

static void one_port(int type, const char *kind) {
    char what[160];
    uint16_t p = free_port();
    // [::] dual-stack first, then 0.0.0.0; then the other way round.
    int d = bound(AF_INET6, type, 0, 0, p);
    errno = 0;
    int v4 = bound(AF_INET, type, 0, 0, p);
    snprintf(what, sizeof what, "%s: 0.0.0.0:P after a dual-stack [::]:P: EADDRINUSE", kind);
    check(d >= 0 && v4 == -1 && errno == EADDRINUSE, what);
    close(d);
    v4 = bound(AF_INET, type, 0, 0, p);
    errno = 0;
    d = bound(AF_INET6, type, 0, 0, p);
    snprintf(what, sizeof what, "%s: a dual-stack [::]:P after 0.0.0.0:P: EADDRINUSE", kind);
    check(v4 >= 0 && d == -1 && errno == EADDRINUSE, what);
    close(v4);
    if (d >= 0) close(d);
    // With IPV6_V6ONLY both hold the port, each for its family.
    v4 = bound(AF_INET, type, 0, 0, p);
    int six = bound(AF_INET6, type, 1, 0, p);
    snprintf(what, sizeof what, "%s: 0.0.0.0:P and an IPV6_V6ONLY [::]:P both bind", kind);
    check(v4 >= 0 && six >= 0, what);
    struct sockaddr_in to4 = in4(INADDR_LOOPBACK, p);
    struct sockaddr_in6 to6 = in6(&in6addr_loopback, p);
    char buf[16];
    if (type == SOCK_DGRAM) {
        int c4 = socket(AF_INET, SOCK_DGRAM, 0), c6 = socket(AF_INET6, SOCK_DGRAM, 0);
        sendto(c4, "v4", 2, 0, (struct sockaddr *)&to4, sizeof to4);
        sendto(c6, "v6!", 3, 0, (struct sockaddr *)&to6, sizeof to6);
        snprintf(what, sizeof what, "%s: 127.0.0.1:P reaches the IPv4 socket, [::1]:P the IPv6 one", kind);
        check(readable(v4, 1000) && readable(six, 1000) && recv(v4, buf, sizeof buf, 0) == 2 &&
                  recv(six, buf, sizeof buf, 0) == 3,
              what);
        close(c4);
        close(c6);
    } else {
        check(listen(v4, 4) == 0 && listen(six, 4) == 0, "TCP: both listen");
        int c4 = socket(AF_INET, SOCK_STREAM, 0), c6 = socket(AF_INET6, SOCK_STREAM, 0);
        int ok4 = connect(c4, (struct sockaddr *)&to4, sizeof to4) == 0;
        int ok6 = connect(c6, (struct sockaddr *)&to6, sizeof to6) == 0;
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int a4 = readable(v4, 1000) ? accept(v4, (struct sockaddr *)&peer, &len) : -1;
        int fam4 = peer.ss_family;
        len = sizeof peer;
        int a6 = readable(six, 1000) ? accept(six, (struct sockaddr *)&peer, &len) : -1;
        int fam6 = peer.ss_family;
        check(ok4 && ok6 && a4 >= 0 && a6 >= 0 && fam4 == AF_INET && fam6 == AF_INET6,
              "TCP: 127.0.0.1:P reaches the IPv4 listener, [::1]:P the IPv6 one");
        close(a4);
        close(a6);
        close(c4);
        close(c6);
    }
    close(v4);
    close(six);
}

static void tcp_dual_stack(void) {
    // An IPv4 connection to a [::] listener.
    int l = bound(AF_INET6, SOCK_STREAM, 0, 0, 0);
    check(l >= 0 && listen(l, 4) == 0, "a TCP listener on [::]");
    uint16_t lp = port_of(l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to4 = in4(INADDR_LOOPBACK, lp);
    check(connect(c, (struct sockaddr *)&to4, sizeof to4) == 0, "AF_INET connect to 127.0.0.1 at its port");
    struct sockaddr_in6 peer;
    socklen_t len = sizeof peer;
    int s = accept(l, (struct sockaddr *)&peer, &len);
    check(s >= 0 && len == sizeof peer && is_mapped_loopback(&peer, port_of(c)),
          "accept names the IPv4 peer ::ffff:127.0.0.1");
    struct sockaddr_in6 name;
    len = sizeof name;
    getsockname(s, (struct sockaddr *)&name, &len);
    check(is_mapped_loopback(&name, lp), "the accepted socket is named ::ffff:127.0.0.1");
    char buf[8];
    check(write(c, "tcp", 3) == 3 && read(s, buf, sizeof buf) == 3, "data over it");
    close(s);
    close(c);
    close(l);
    // An AF_INET6 client to an IPv4 listener through a v4-mapped address.
    l = bound(AF_INET, SOCK_STREAM, 0, 1, 0);
    listen(l, 4);
    c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 mapped = in6(&(struct in6_addr){0}, port_of(l));
    mapped.sin6_addr = mapped_loopback();
    check(connect(c, (struct sockaddr *)&mapped, sizeof mapped) == 0, "AF_INET6 connect to ::ffff:127.0.0.1");
    struct sockaddr_in peer4;
    len = sizeof peer4;
    s = accept(l, (struct sockaddr *)&peer4, &len);
    check(s >= 0 && len == sizeof peer4 && peer4.sin_family == AF_INET &&
              peer4.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(peer4.sin_port) == port_of(c),
          "the IPv4 listener sees 127.0.0.1");
    len = sizeof name;
    getsockname(c, (struct sockaddr *)&name, &len);
    check(is_mapped_loopback(&name, port_of(c)), "the client is named ::ffff:127.0.0.1");
    close(s);
    close(c);
    int one = 1;
    c = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    errno = 0;
    check(connect(c, (struct sockaddr *)&mapped, sizeof mapped) == -1 && errno == ENETUNREACH,
          "IPV6_V6ONLY: connect to a v4-mapped address: ENETUNREACH");
    close(c);
    close(l);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    udp6_loopback();
    udp_dual_stack();
    udp_v6only();
    tcp_dual_stack();
    one_port(SOCK_DGRAM, "UDP");
    one_port(SOCK_STREAM, "TCP");
    printf("dualstack: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
