// Sockets bound to the host's own network address (the first IPv4 address of an interface
// other than loopback, from getifaddrs), as a Linux-ABI C program uses them: TCP and UDP bind
// to it, getsockname names it, connections and datagrams to it from this host arrive with it
// as their source, a loopback listener on the same port is a different socket, the wildcard
// overlaps it, and an address the host does not have is EADDRNOTAVAIL. Prints `ok WHAT` or
// `FAIL WHAT (errno text)` per check, then `ownaddr: N passed, N failed`; exit status 0 only if
// every check passed. The same program passes on Linux.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check.h"

static struct sockaddr_in at(struct in_addr ip, unsigned short port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr = ip;
    a.sin_port = htons(port);
    return a;
}

static unsigned short port_of(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0) return 0;
    return ntohs(a.sin_port);
}

static int named(int fd, struct in_addr ip, int peer) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                 : getsockname(fd, (struct sockaddr *)&a, &len);
    return r == 0 && a.sin_family == AF_INET && a.sin_addr.s_addr == ip.s_addr;
}

int main(void) {
    struct in_addr own = {0}, loopback = {htonl(INADDR_LOOPBACK)}, any = {htonl(INADDR_ANY)};
    struct ifaddrs *list = NULL;
    int found = 0;
    if (getifaddrs(&list) == 0) {
        for (struct ifaddrs *i = list; i && !found; i = i->ifa_next) {
            if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
                !(i->ifa_flags & IFF_LOOPBACK) && (i->ifa_flags & IFF_UP)) {
                own = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
                found = 1;
            }
        }
        freeifaddrs(list);
    }
    check(found, "getifaddrs names an IPv4 address of an interface other than lo");
    if (!found) {
        printf("ownaddr: %d passed, %d failed\n", passed, failed);
        return 1;
    }

    // TCP: a listener on the own address, a client from this host.
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = at(own, 0);
    check(bind(l, (struct sockaddr *)&a, sizeof a) == 0, "TCP bind to the own address, port 0");
    unsigned short port = port_of(l);
    check(port != 0 && named(l, own, 0), "getsockname names the own address and a port");
    check(listen(l, 4) == 0, "listen on it");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    a = at(own, port);
    check(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect to the own address");
    check(named(c, own, 0), "the client's own name is the own address (the route's source)");
    int s = accept(l, NULL, NULL);
    check(s >= 0, "accept");
    check(named(s, own, 1) && named(s, own, 0), "the accepted connection: own address at both ends");
    char buf[16] = {0};
    check(write(c, "ping", 4) == 4 && read(s, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0,
          "bytes go from the client to the accepted socket");
    close(s);
    close(c);

    // The same port on loopback is another socket; the wildcard overlaps the own address.
    int lo = socket(AF_INET, SOCK_STREAM, 0);
    a = at(loopback, port);
    check(bind(lo, (struct sockaddr *)&a, sizeof a) == 0 && listen(lo, 4) == 0,
          "127.0.0.1 on the same port binds and listens beside it");
    c = socket(AF_INET, SOCK_STREAM, 0);
    check(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect to 127.0.0.1 on that port");
    s = accept(lo, NULL, NULL);
    check(s >= 0 && named(s, loopback, 1), "the loopback listener takes it, from 127.0.0.1");
    close(s);
    close(c);
    int w = socket(AF_INET, SOCK_STREAM, 0);
    a = at(any, port);
    errno = 0;
    check(bind(w, (struct sockaddr *)&a, sizeof a) == -1 && errno == EADDRINUSE,
          "0.0.0.0 on that port: EADDRINUSE");
    close(w);
    close(l);
    c = socket(AF_INET, SOCK_STREAM, 0);
    a = at(own, port);
    errno = 0;
    check(connect(c, (struct sockaddr *)&a, sizeof a) == -1 && errno == ECONNREFUSED,
          "the own address once its listener closed: ECONNREFUSED (127.0.0.1's does not take it)");
    close(c);
    close(lo);

    // An address the host does not have (TEST-NET-1).
    struct in_addr none;
    inet_pton(AF_INET, "192.0.2.1", &none);
    int n = socket(AF_INET, SOCK_STREAM, 0);
    a = at(none, 0);
    errno = 0;
    check(bind(n, (struct sockaddr *)&a, sizeof a) == -1 && errno == EADDRNOTAVAIL,
          "bind to 192.0.2.1: EADDRNOTAVAIL");
    close(n);

    // UDP: a socket on the own address and an unbound sender, both ways.
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    a = at(own, 0);
    check(bind(u, (struct sockaddr *)&a, sizeof a) == 0 && named(u, own, 0),
          "UDP bind to the own address");
    int v = socket(AF_INET, SOCK_DGRAM, 0);
    a = at(own, port_of(u));
    check(sendto(v, "hi", 2, 0, (struct sockaddr *)&a, sizeof a) == 2, "sendto the own address");
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    memset(buf, 0, sizeof buf);
    check(recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &len) == 2 &&
              memcmp(buf, "hi", 2) == 0 && from.sin_addr.s_addr == own.s_addr &&
              ntohs(from.sin_port) == port_of(v),
          "the datagram arrives from the own address and the sender's port");
    check(sendto(u, "yo", 2, 0, (struct sockaddr *)&from, len) == 2 &&
              recv(v, buf, sizeof buf, 0) == 2 && memcmp(buf, "yo", 2) == 0,
          "the answer goes back to the sender");
    // A wildcard receiver takes datagrams to the own address too.
    int wu = socket(AF_INET, SOCK_DGRAM, 0);
    a = at(any, 0);
    check(bind(wu, (struct sockaddr *)&a, sizeof a) == 0, "UDP bind to 0.0.0.0");
    a = at(own, port_of(wu));
    len = sizeof from;
    check(sendto(v, "hey", 3, 0, (struct sockaddr *)&a, sizeof a) == 3 &&
              recvfrom(wu, buf, sizeof buf, 0, (struct sockaddr *)&from, &len) == 3 &&
              from.sin_addr.s_addr == own.s_addr,
          "a 0.0.0.0 socket gets a datagram sent to the own address, from it");
    close(u);
    close(v);
    close(wu);

    printf("ownaddr: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
