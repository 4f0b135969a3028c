// The network interfaces as a Linux-ABI C program lists them: getifaddrs (musl asks a netlink
// route socket for RTM_GETLINK and RTM_GETADDR dumps), if_nameindex and if_nametoindex, and a
// netlink route socket used directly (bind, getsockname, a link dump read to NLMSG_DONE,
// poll, MSG_DONTWAIT on an empty socket). Prints `ok WHAT` or `FAIL WHAT (errno text)` per
// check, then `ifaddrs: N passed, N failed`; exit status 0 only if every check passed. The
// same program passes on Linux.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check.h"

// The netlink definitions used here (musl-gcc has no kernel headers), as in linux/netlink.h
// and linux/rtnetlink.h.
#define NETLINK_ROUTE 0
#define NLM_F_REQUEST 0x1
#define NLM_F_DUMP 0x300
#define NLMSG_DONE 3
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define IFLA_IFNAME 3
#define ALIGN4(n) (((n) + 3) & ~3u)
struct nl_address {
    unsigned short nl_family, nl_pad;
    unsigned nl_pid, nl_groups;
};
struct nl_header {
    unsigned len;
    unsigned short type, flags;
    unsigned seq, pid;
};
struct nl_link {
    unsigned char family, pad;
    unsigned short type;
    int index;
    unsigned flags, change;
};
struct nl_attr {
    unsigned short len, type;
};

int main(void) {
    struct ifaddrs *list = NULL;
    check(getifaddrs(&list) == 0 && list != NULL, "getifaddrs");
    int lo_v4 = 0, lo_v6 = 0, lo_link = 0, entries = 0;
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        entries++;
        if (!i->ifa_name || strcmp(i->ifa_name, "lo") != 0 || !i->ifa_addr) continue;
        int family = i->ifa_addr->sa_family;
        if (family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
            struct sockaddr_in *m = (struct sockaddr_in *)i->ifa_netmask;
            lo_v4 = a->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && m &&
                    m->sin_addr.s_addr == htonl(0xff000000) && (i->ifa_flags & IFF_LOOPBACK) &&
                    (i->ifa_flags & IFF_UP);
        } else if (family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)i->ifa_addr;
            lo_v6 = memcmp(&a->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback) == 0;
        } else if (family == AF_PACKET) {
            lo_link = 1;
        }
    }
    check(lo_v4, "getifaddrs: lo has 127.0.0.1/8, up, loopback");
    check(lo_v6, "getifaddrs: lo has ::1");
    check(lo_link, "getifaddrs: lo's link entry (AF_PACKET)");
    freeifaddrs(list);

    struct if_nameindex *names = if_nameindex();
    unsigned lo_index = 0;
    int count = 0;
    for (struct if_nameindex *n = names; n && n->if_index; n++) {
        count++;
        if (strcmp(n->if_name, "lo") == 0) lo_index = n->if_index;
    }
    check(names && lo_index != 0, "if_nameindex lists lo");
    check(if_nametoindex("lo") == lo_index, "if_nametoindex(lo) agrees");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq req;
    memset(&req, 0, sizeof req);
    strcpy(req.ifr_name, "lo");
    check(s >= 0 && ioctl(s, SIOCGIFINDEX, &req) == 0 && (unsigned)req.ifr_ifindex == lo_index,
          "SIOCGIFINDEX(lo) agrees");
    close(s);
    if (names) if_freenameindex(names);

    // A netlink route socket, directly.
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    check(nl >= 0, "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)");
    struct nl_address local = {.nl_family = AF_NETLINK};
    check(bind(nl, (struct sockaddr *)&local, sizeof local) == 0, "bind a sockaddr_nl");
    struct nl_address name;
    socklen_t len = sizeof name;
    memset(&name, 0xff, sizeof name);
    check(getsockname(nl, (struct sockaddr *)&name, &len) == 0 && len == sizeof name &&
              name.nl_family == AF_NETLINK && name.nl_groups == 0,
          "getsockname: a sockaddr_nl");
    char buf[8192];
    errno = 0;
    check(recv(nl, buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "recv(MSG_DONTWAIT) with nothing queued: EAGAIN");
    struct {
        struct nl_header h;
        struct nl_link i;
    } dump = {
        .h = {.len = sizeof dump, .type = RTM_GETLINK, .flags = NLM_F_REQUEST | NLM_F_DUMP, .seq = 4242},
        .i = {.family = AF_UNSPEC},
    };
    check(send(nl, &dump, sizeof dump, 0) == (ssize_t)sizeof dump, "send an RTM_GETLINK dump request");
    struct pollfd p = {.fd = nl, .events = POLLIN};
    check(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "poll: the answer is readable");
    int links = 0, done = 0, seq_ok = 1, lo_seen = 0;
    for (int round = 0; round < 64 && !done; round++) {
        struct nl_address from;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(nl, &msg, 0);
        if (n <= 0 || from.nl_pid != 0) break;
        for (size_t at = 0; at + sizeof(struct nl_header) <= (size_t)n;) {
            struct nl_header *h = (struct nl_header *)(buf + at);
            if (h->len < sizeof *h || at + h->len > (size_t)n) break;
            if (h->seq != 4242) seq_ok = 0;
            if (h->type == NLMSG_DONE) {
                done = 1;
                break;
            }
            if (h->type == RTM_NEWLINK) {
                links++;
                struct nl_link *ifi = (struct nl_link *)(h + 1);
                size_t a_at = sizeof *h + ALIGN4(sizeof *ifi);
                while (a_at + sizeof(struct nl_attr) <= h->len) {
                    struct nl_attr *a = (struct nl_attr *)((char *)h + a_at);
                    if (a->len < sizeof *a) break;
                    if (a->type == IFLA_IFNAME && strcmp((char *)(a + 1), "lo") == 0 &&
                        (unsigned)ifi->index == lo_index)
                        lo_seen = 1;
                    a_at += ALIGN4(a->len);
                }
            }
            at += ALIGN4(h->len);
        }
    }
    check(done && seq_ok, "the dump ends with NLMSG_DONE, every message with the request's sequence");
    check(links == count, "one RTM_NEWLINK per interface of if_nameindex");
    check(lo_seen, "RTM_NEWLINK of lo: IFLA_IFNAME and its index");
    close(nl);

    printf("ifaddrs: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
