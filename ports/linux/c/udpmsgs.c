// UDP messages beyond send and recv, as a Linux-ABI C program uses them over loopback:
// sendmmsg and recvmmsg (MSG_WAITFORONE, MSG_DONTWAIT with fewer datagrams than asked,
// the timeout), the control messages recvmsg gives when asked (IP_PKTINFO, IP_TTL,
// IP_TOS, IP_ORIGDSTADDR, IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS, IPV6_ORIGDSTADDR, with
// the sender's TTL and class, set as options or per message; MSG_CTRUNC when the buffer is
// short), UDP segmentation (UDP_SEGMENT as an option and as a control message), UDP_GRO,
// one-byte IP options, IPV6_DONTFRAG, receive timestamps (SO_TIMESTAMPNS, SO_TIMESTAMP,
// SO_TIMESTAMPING),
// marks (SO_MARK, SO_RCVMARK), IP_MTU/IPV6_MTU and TCP_CONGESTION.
// Prints `ok WHAT` or `FAIL WHAT (errno text)` per check, then `udpmsgs: N passed, N failed`;
// exit status 0 only if every check passed. The same program passes on Linux.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef IP_ORIGDSTADDR
#define IP_ORIGDSTADDR 20
#define IP_RECVORIGDSTADDR IP_ORIGDSTADDR
#endif
#ifndef IPV6_ORIGDSTADDR
#define IPV6_ORIGDSTADDR 74
#define IPV6_RECVORIGDSTADDR IPV6_ORIGDSTADDR
#endif
#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif
#ifndef IPV6_DONTFRAG
#define IPV6_DONTFRAG 62
#endif

// A UDP socket bound to 127.0.0.1 (or ::1) on a free port; its address in *addr.
static int bound4(struct sockaddr_in *addr) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    socklen_t len = sizeof *addr;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)addr, sizeof *addr) != 0 ||
        getsockname(s, (struct sockaddr *)addr, &len) != 0)
        return -1;
    return s;
}

static int bound6(struct sockaddr_in6 *addr) {
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    socklen_t len = sizeof *addr;
    memset(addr, 0, sizeof *addr);
    addr->sin6_family = AF_INET6;
    addr->sin6_addr = in6addr_loopback;
    if (s < 0 || bind(s, (struct sockaddr *)addr, sizeof *addr) != 0 ||
        getsockname(s, (struct sockaddr *)addr, &len) != 0)
        return -1;
    return s;
}

static void mmsg_checks(void) {
    struct sockaddr_in to;
    int r = bound4(&to);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    check(r >= 0 && s >= 0, "two UDP sockets");

    char bufs[4][16];
    struct iovec out_iov[3], in_iov[4];
    struct mmsghdr out[3], in[4];
    const char *words[3] = {"one", "three", "seven!"};
    memset(out, 0, sizeof out);
    for (int i = 0; i < 3; i++) {
        out_iov[i].iov_base = (void *)words[i];
        out_iov[i].iov_len = strlen(words[i]);
        out[i].msg_hdr.msg_iov = &out_iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
        out[i].msg_hdr.msg_name = &to;
        out[i].msg_hdr.msg_namelen = sizeof to;
    }
    int n = sendmmsg(s, out, 3, 0);
    check(n == 3 && out[0].msg_len == 3 && out[1].msg_len == 5 && out[2].msg_len == 6,
          "sendmmsg sends 3 datagrams, each length in msg_len");

    struct sockaddr_in from[4];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 4; i++) {
        in_iov[i].iov_base = bufs[i];
        in_iov[i].iov_len = sizeof bufs[i];
        in[i].msg_hdr.msg_iov = &in_iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_name = &from[i];
        in[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    n = recvmmsg(r, in, 2, 0, NULL);
    check(n == 2 && in[0].msg_len == 3 && memcmp(bufs[0], "one", 3) == 0 &&
              in[1].msg_len == 5 && memcmp(bufs[1], "three", 5) == 0,
          "recvmmsg takes 2 of them in order");
    check(in[0].msg_hdr.msg_namelen == sizeof(struct sockaddr_in) &&
              from[0].sin_family == AF_INET && from[0].sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "recvmmsg gives each sender");
    n = recvmmsg(r, in, 4, MSG_DONTWAIT, NULL);
    check(n == 1 && in[0].msg_len == 6 && memcmp(bufs[0], "seven!", 6) == 0,
          "recvmmsg(MSG_DONTWAIT) returns the 1 waiting of 4 asked");
    errno = 0;
    n = recvmmsg(r, in, 4, MSG_DONTWAIT, NULL);
    check(n == -1 && errno == EAGAIN, "recvmmsg(MSG_DONTWAIT) with none: EAGAIN");

    n = sendmmsg(s, out, 2, 0);
    check(n == 2, "sendmmsg 2 more");
    n = recvmmsg(r, in, 4, MSG_WAITFORONE, NULL);
    check(n == 2, "recvmmsg(MSG_WAITFORONE) returns what has come");

    // A timeout: checked after each datagram; the time left is written back.
    sendmmsg(s, out, 1, 0);
    struct timespec ts = {5, 0};
    n = recvmmsg(r, in, 1, 0, &ts);
    check(n == 1 && ts.tv_sec <= 5 && ts.tv_sec >= 0, "recvmmsg with a timeout");
    struct timespec bad = {0, 2000000000L};
    errno = 0;
    check(recvmmsg(r, in, 1, MSG_DONTWAIT, &bad) == -1 && errno == EINVAL,
          "recvmmsg with a bad timeout: EINVAL");
    errno = 0;
    // The system call itself (musl's sendmmsg loops over sendmsg in the program).
    check(syscall(SYS_sendmmsg, s, (struct mmsghdr *)8, 1, 0) == -1 && errno == EFAULT,
          "sendmmsg of a wild vector: EFAULT");
    errno = 0;
    check(syscall(SYS_recvmmsg, r, (struct mmsghdr *)8, 1, MSG_DONTWAIT, NULL) == -1 &&
              errno == EFAULT,
          "recvmmsg of a wild vector: EFAULT");
    check(syscall(SYS_sendmmsg, s, out, 2, 0) == 2 && out[1].msg_len == 5,
          "the sendmmsg system call: 2 sent");
    n = syscall(SYS_recvmmsg, r, in, 4, MSG_DONTWAIT, NULL);
    check(n == 2 && in[1].msg_len == 5, "the recvmmsg system call: 2 received");
    check(sendmmsg(s, out, 0, 0) == 0, "sendmmsg of none: 0");
    close(r);
    close(s);
}

// Receives one datagram on r with a control buffer of `cap` bytes.
static ssize_t recv_with_control(int r, char *control, size_t cap, struct msghdr *m) {
    static char data[64];
    static struct iovec iov;
    iov.iov_base = data;
    iov.iov_len = sizeof data;
    memset(m, 0, sizeof *m);
    m->msg_iov = &iov;
    m->msg_iovlen = 1;
    m->msg_control = control;
    m->msg_controllen = cap;
    return recvmsg(r, m, 0);
}

static void control_checks(void) {
    struct sockaddr_in to;
    int r = bound4(&to);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int on = 1;
    check(setsockopt(r, SOL_IP, IP_RECVORIGDSTADDR, &on, sizeof on) == 0 &&
              setsockopt(r, SOL_IP, IP_PKTINFO, &on, sizeof on) == 0 &&
              setsockopt(r, SOL_IP, IP_RECVTTL, &on, sizeof on) == 0,
          "setsockopt IP_RECVORIGDSTADDR, IP_PKTINFO, IP_RECVTTL");
    int v = 0;
    socklen_t vlen = sizeof v;
    check(getsockopt(r, SOL_IP, IP_RECVORIGDSTADDR, &v, &vlen) == 0 && v == 1,
          "getsockopt IP_RECVORIGDSTADDR: 1");
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    char control[256];
    struct msghdr m;
    ssize_t n = recv_with_control(r, control, sizeof control, &m);
    int seen_orig = 0, seen_info = 0, seen_ttl = 0, order_ok = 1, last = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_IP)
            continue;
        int rank = c->cmsg_type == IP_PKTINFO ? 0 : c->cmsg_type == IP_TTL ? 1 : 2;
        if (rank < last)
            order_ok = 0;
        last = rank;
        if (c->cmsg_type == IP_ORIGDSTADDR) {
            struct sockaddr_in a;
            memcpy(&a, CMSG_DATA(c), sizeof a);
            seen_orig = c->cmsg_len == CMSG_LEN(sizeof a) && a.sin_family == AF_INET &&
                        a.sin_port == to.sin_port && a.sin_addr.s_addr == to.sin_addr.s_addr;
        } else if (c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo p;
            memcpy(&p, CMSG_DATA(c), sizeof p);
            seen_info = p.ipi_ifindex > 0 && p.ipi_addr.s_addr == htonl(INADDR_LOOPBACK);
        } else if (c->cmsg_type == IP_TTL) {
            int ttl;
            memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
            seen_ttl = ttl > 0 && ttl <= 255;
        }
    }
    check(n == 2 && !(m.msg_flags & MSG_CTRUNC), "recvmsg with control messages");
    check(seen_orig, "IP_ORIGDSTADDR: the address and port the datagram was sent to");
    check(seen_info, "IP_PKTINFO: an interface and the destination 127.0.0.1");
    check(seen_ttl, "IP_TTL: the datagram's TTL");
    check(order_ok, "in Linux's order: PKTINFO, TTL, ORIGDSTADDR");

    // The sender's TTL and TOS travel with the datagram (socket options, then per message).
    int ttl7 = 7, tos = 0x20;
    check(setsockopt(s, SOL_IP, IP_TTL, &ttl7, sizeof ttl7) == 0 &&
              setsockopt(s, SOL_IP, IP_TOS, &tos, sizeof tos) == 0 &&
              setsockopt(r, SOL_IP, IP_RECVTOS, &on, sizeof on) == 0,
          "sender IP_TTL 7 and IP_TOS 0x20, receiver IP_RECVTOS");
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    n = recv_with_control(r, control, sizeof control, &m);
    int ttl_seen = -1, tos_seen = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL)
            memcpy(&ttl_seen, CMSG_DATA(c), sizeof ttl_seen);
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TOS)
            tos_seen = *(unsigned char *)CMSG_DATA(c);
    }
    check(n == 2 && ttl_seen == 7 && tos_seen == 0x20, "the receiver sees TTL 7 and TOS 0x20");
    {
        char out_control[CMSG_SPACE(sizeof(int)) * 2];
        memset(out_control, 0, sizeof out_control);
        struct iovec iov = {(void *)"yo", 2};
        struct msghdr om;
        memset(&om, 0, sizeof om);
        om.msg_name = &to;
        om.msg_namelen = sizeof to;
        om.msg_iov = &iov;
        om.msg_iovlen = 1;
        om.msg_control = out_control;
        om.msg_controllen = sizeof out_control;
        struct cmsghdr *c = CMSG_FIRSTHDR(&om);
        c->cmsg_level = SOL_IP;
        c->cmsg_type = IP_TTL;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        int ttl3 = 3;
        memcpy(CMSG_DATA(c), &ttl3, sizeof ttl3);
        c = CMSG_NXTHDR(&om, c);
        c->cmsg_level = SOL_IP;
        c->cmsg_type = IP_TOS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        int tos8 = 0x08;
        memcpy(CMSG_DATA(c), &tos8, sizeof tos8);
        check(sendmsg(s, &om, 0) == 2, "sendmsg with IP_TTL 3 and IP_TOS 8 control messages");
        n = recv_with_control(r, control, sizeof control, &m);
        ttl_seen = tos_seen = -1;
        for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL)
                memcpy(&ttl_seen, CMSG_DATA(c), sizeof ttl_seen);
            if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TOS)
                tos_seen = *(unsigned char *)CMSG_DATA(c);
        }
        check(n == 2 && ttl_seen == 3 && tos_seen == 8, "the receiver sees TTL 3 and TOS 8");
        int zero = 0;
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&om)), &zero, sizeof zero);
        errno = 0;
        check(sendmsg(s, &om, 0) == -1 && errno == EINVAL, "an IP_TTL control message of 0: EINVAL");
    }
    int off = 0;
    setsockopt(r, SOL_IP, IP_RECVTOS, &off, sizeof off);

    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    n = recv_with_control(r, control, CMSG_SPACE(sizeof(struct in_pktinfo)), &m);
    check(n == 2 && (m.msg_flags & MSG_CTRUNC) && m.msg_controllen <= CMSG_SPACE(sizeof(struct in_pktinfo)),
          "a short control buffer: MSG_CTRUNC");
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    n = recv_with_control(r, NULL, 0, &m);
    check(n == 2 && (m.msg_flags & MSG_CTRUNC) && m.msg_controllen == 0,
          "no control buffer: MSG_CTRUNC");
    close(r);
    close(s);

    struct sockaddr_in6 to6;
    r = bound6(&to6);
    s = socket(AF_INET6, SOCK_DGRAM, 0);
    check(setsockopt(r, SOL_IPV6, IPV6_RECVORIGDSTADDR, &on, sizeof on) == 0 &&
              setsockopt(r, SOL_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0 &&
              setsockopt(r, SOL_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) == 0,
          "setsockopt IPV6_RECVORIGDSTADDR, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT");
    sendto(s, "hey", 3, 0, (struct sockaddr *)&to6, sizeof to6);
    n = recv_with_control(r, control, sizeof control, &m);
    seen_orig = seen_info = 0;
    int seen_hops = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_IPV6)
            continue;
        if (c->cmsg_type == IPV6_ORIGDSTADDR) {
            struct sockaddr_in6 a;
            memcpy(&a, CMSG_DATA(c), sizeof a);
            seen_orig = a.sin6_family == AF_INET6 && a.sin6_port == to6.sin6_port &&
                        memcmp(&a.sin6_addr, &in6addr_loopback, 16) == 0;
        } else if (c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo p;
            memcpy(&p, CMSG_DATA(c), sizeof p);
            seen_info = p.ipi6_ifindex > 0 && memcmp(&p.ipi6_addr, &in6addr_loopback, 16) == 0;
        } else if (c->cmsg_type == IPV6_HOPLIMIT) {
            int hops;
            memcpy(&hops, CMSG_DATA(c), sizeof hops);
            seen_hops = hops > 0 && hops <= 255;
        }
    }
    check(n == 3 && seen_orig, "IPV6_ORIGDSTADDR: [::1] and the port");
    int hops9 = 9, class = 0x40, hops_seen = -1, class_seen = -1;
    check(setsockopt(s, SOL_IPV6, IPV6_UNICAST_HOPS, &hops9, sizeof hops9) == 0 &&
              setsockopt(s, SOL_IPV6, IPV6_TCLASS, &class, sizeof class) == 0 &&
              setsockopt(r, SOL_IPV6, IPV6_RECVTCLASS, &on, sizeof on) == 0,
          "sender IPV6_UNICAST_HOPS 9 and IPV6_TCLASS 0x40, receiver IPV6_RECVTCLASS");
    sendto(s, "hey", 3, 0, (struct sockaddr *)&to6, sizeof to6);
    struct msghdr m6;
    n = recv_with_control(r, control, sizeof control, &m6);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m6); c; c = CMSG_NXTHDR(&m6, c)) {
        if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)
            memcpy(&hops_seen, CMSG_DATA(c), sizeof hops_seen);
        if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_TCLASS)
            memcpy(&class_seen, CMSG_DATA(c), sizeof class_seen);
    }
    check(n == 3 && hops_seen == 9 && class_seen == 0x40,
          "the receiver sees hop limit 9 and class 0x40");
    check(seen_info, "IPV6_PKTINFO: an interface and ::1");
    check(seen_hops, "IPV6_HOPLIMIT: the hop limit");
    check(setsockopt(r, SOL_IPV6, IPV6_DONTFRAG, &on, sizeof on) == 0 &&
              getsockopt(r, SOL_IPV6, IPV6_DONTFRAG, &v, &vlen) == 0 && v == 1,
          "IPV6_DONTFRAG set and read back");
    unsigned char ttl = 3;
    check(setsockopt(r, SOL_IP, IP_MULTICAST_TTL, &ttl, 1) == 0,
          "IP_MULTICAST_TTL as one byte on an IPv6 socket");
    close(r);
    close(s);
}

static void segment_checks(void) {
    struct sockaddr_in to;
    int r = bound4(&to);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int seg = 4, v = 0;
    socklen_t vlen = sizeof v;
    check(setsockopt(s, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0 &&
              getsockopt(s, SOL_UDP, UDP_SEGMENT, &v, &vlen) == 0 && v == 4,
          "UDP_SEGMENT set and read back");
    int big = 70000;
    errno = 0;
    check(setsockopt(s, SOL_UDP, UDP_SEGMENT, &big, sizeof big) == -1 && errno == EINVAL,
          "UDP_SEGMENT 70000: EINVAL");
    check(sendto(s, "abcdefghij", 10, 0, (struct sockaddr *)&to, sizeof to) == 10,
          "a 10-byte send with UDP_SEGMENT 4");
    char buf[32];
    ssize_t a = recv(r, buf, sizeof buf, MSG_DONTWAIT);
    ssize_t b = recv(r, buf + 4, sizeof buf, MSG_DONTWAIT);
    ssize_t c = recv(r, buf + 8, sizeof buf, MSG_DONTWAIT);
    check(a == 4 && b == 4 && c == 2 && memcmp(buf, "abcdefghij", 10) == 0,
          "arrives as datagrams of 4, 4 and 2");

    // Per message, as a control message.
    seg = 0;
    setsockopt(s, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
    char control[CMSG_SPACE(sizeof(uint16_t))];
    memset(control, 0, sizeof control);
    struct iovec iov = {(void *)"0123456", 7};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &to;
    m.msg_namelen = sizeof to;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t size = 2;
    memcpy(CMSG_DATA(cm), &size, sizeof size);
    check(sendmsg(s, &m, 0) == 7, "sendmsg with a UDP_SEGMENT control message of 2");
    int count = 0, small = 1;
    ssize_t got;
    while ((got = recv(r, buf, sizeof buf, MSG_DONTWAIT)) >= 0) {
        count++;
        if (got > 2)
            small = 0;
    }
    check(count == 4 && small, "arrives as 4 datagrams of at most 2 bytes");

    int on = 1;
    check(setsockopt(r, SOL_UDP, UDP_GRO, &on, sizeof on) == 0 &&
              getsockopt(r, SOL_UDP, UDP_GRO, &v, &vlen) == 0 && v == 1,
          "UDP_GRO set and read back");
    int t = socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    check(setsockopt(t, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == -1 && errno == ENOPROTOOPT,
          "UDP_SEGMENT on a TCP socket: ENOPROTOOPT");
    close(t);
    close(r);
    close(s);
}

static void socket_level_checks(void) {
    struct sockaddr_in to;
    int r = bound4(&to);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int on = 1, v = 0;
    socklen_t vlen = sizeof v;
    check(setsockopt(r, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0 &&
              getsockopt(r, SOL_SOCKET, SO_TIMESTAMPNS, &v, &vlen) == 0 && v == 1,
          "SO_TIMESTAMPNS set and read back");
    struct timespec before, after;
    clock_gettime(CLOCK_REALTIME, &before);
    sendto(s, "t", 1, 0, (struct sockaddr *)&to, sizeof to);
    char control[256];
    struct msghdr m;
    ssize_t n = recv_with_control(r, control, sizeof control, &m);
    clock_gettime(CLOCK_REALTIME, &after);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    struct timespec stamp = {0, 0};
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
        memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
    long long b = before.tv_sec * 1000000000LL + before.tv_nsec;
    long long a = after.tv_sec * 1000000000LL + after.tv_nsec;
    long long t = stamp.tv_sec * 1000000000LL + stamp.tv_nsec;
    check(n == 1 && b <= t && t <= a, "SCM_TIMESTAMPNS: the arrival time, first");
    check(setsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &on, sizeof on) == 0 &&
              getsockopt(r, SOL_SOCKET, SO_TIMESTAMPNS, &v, &vlen) == 0 && v == 0,
          "SO_TIMESTAMP turns SO_TIMESTAMPNS off");
    sendto(s, "t", 1, 0, (struct sockaddr *)&to, sizeof to);
    n = recv_with_control(r, control, sizeof control, &m);
    c = CMSG_FIRSTHDR(&m);
    struct timeval tv = {0, 0};
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMP)
        memcpy(&tv, CMSG_DATA(c), sizeof tv);
    check(n == 1 && tv.tv_sec >= before.tv_sec && tv.tv_usec < 1000000,
          "SCM_TIMESTAMP: a timeval");
    int off = 0;
    setsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &off, sizeof off);

    // SO_TIMESTAMPING: software receive timestamps in a struct scm_timestamping.
    int tsflags = (1 << 3) | (1 << 4); // SOF_TIMESTAMPING_RX_SOFTWARE | _SOFTWARE
    check(setsockopt(r, SOL_SOCKET, SO_TIMESTAMPING, &tsflags, sizeof tsflags) == 0 &&
              getsockopt(r, SOL_SOCKET, SO_TIMESTAMPING, &v, &vlen) == 0 && v == tsflags,
          "SO_TIMESTAMPING set and read back");
    // Linux turns receive timestamps on for the whole stack a moment later (a deferred
    // static key): the first datagrams right after may have none.
    usleep(50000);
    clock_gettime(CLOCK_REALTIME, &before);
    sendto(s, "t", 1, 0, (struct sockaddr *)&to, sizeof to);
    n = recv_with_control(r, control, sizeof control, &m);
    clock_gettime(CLOCK_REALTIME, &after);
    struct timespec three[3];
    memset(three, 0xff, sizeof three);
    for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING &&
            c->cmsg_len == CMSG_LEN(sizeof three))
            memcpy(three, CMSG_DATA(c), sizeof three);
    b = before.tv_sec * 1000000000LL + before.tv_nsec;
    a = after.tv_sec * 1000000000LL + after.tv_nsec;
    t = three[0].tv_sec * 1000000000LL + three[0].tv_nsec;
    check(n == 1 && b <= t && t <= a && three[2].tv_sec == 0 && three[2].tv_nsec == 0,
          "SCM_TIMESTAMPING: the software time, no hardware time");
    int bad_flags = 1 << 30;
    errno = 0;
    check(setsockopt(r, SOL_SOCKET, SO_TIMESTAMPING, &bad_flags, sizeof bad_flags) == -1 &&
              errno == EINVAL,
          "SO_TIMESTAMPING with an unknown flag: EINVAL");
    setsockopt(r, SOL_SOCKET, SO_TIMESTAMPING, &off, sizeof off);

    unsigned mark = 0xdeadbeef, seen = 0;
    check(setsockopt(r, SOL_SOCKET, SO_RCVMARK, &on, sizeof on) == 0 &&
              setsockopt(s, SOL_SOCKET, SO_MARK, &mark, sizeof mark) == 0,
          "SO_RCVMARK on the receiver, SO_MARK on the sender");
    sendto(s, "m", 1, 0, (struct sockaddr *)&to, sizeof to);
    n = recv_with_control(r, control, sizeof control, &m);
    c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_MARK)
        memcpy(&seen, CMSG_DATA(c), sizeof seen);
    check(n == 1 && seen == mark, "the receiver sees the mark");

    errno = 0;
    check(getsockopt(s, SOL_IP, IP_MTU, &v, &vlen) == -1 && errno == ENOTCONN,
          "IP_MTU unconnected: ENOTCONN");
    check(connect(s, (struct sockaddr *)&to, sizeof to) == 0 &&
              getsockopt(s, SOL_IP, IP_MTU, &v, &vlen) == 0 && v == 65535,
          "IP_MTU connected over loopback: 65535");
    close(r);
    close(s);

    int t6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 lo6;
    memset(&lo6, 0, sizeof lo6);
    lo6.sin6_family = AF_INET6;
    lo6.sin6_addr = in6addr_loopback;
    lo6.sin6_port = htons(9);
    check(connect(t6, (struct sockaddr *)&lo6, sizeof lo6) == 0 &&
              getsockopt(t6, SOL_IPV6, IPV6_MTU, &v, &vlen) == 0 && v == 65536,
          "IPV6_MTU connected over loopback: 65536");
    close(t6);

    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    char algo[16] = {0};
    socklen_t alen = sizeof algo;
    check(getsockopt(tcp, SOL_TCP, TCP_CONGESTION, algo, &alen) == 0 && algo[0] != 0,
          "TCP_CONGESTION: a name");
    check(setsockopt(tcp, SOL_TCP, TCP_CONGESTION, "reno", 4) == 0 && (alen = sizeof algo) &&
              getsockopt(tcp, SOL_TCP, TCP_CONGESTION, algo, &alen) == 0 &&
              strcmp(algo, "reno") == 0,
          "TCP_CONGESTION reno set and read back");
    errno = 0;
    check(setsockopt(tcp, SOL_TCP, TCP_CONGESTION, "no-such-algo", 12) == -1 && errno == ENOENT,
          "an unknown congestion algorithm: ENOENT");
    close(tcp);
}

int main(void) {
    mmsg_checks();
    control_checks();
    segment_checks();
    socket_level_checks();
    printf("udpmsgs: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
