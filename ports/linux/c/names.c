// Host names as a Linux-ABI C program resolves them: musl's getaddrinfo and getnameinfo read
// /etc/hosts themselves (and /etc/resolv.conf, if there is one, for anything else). Each
// argument is one check, so the same binary checks the OS's files and a Linux host's:
//
//   NAME=ADDR[,ADDR...]  getaddrinfo(NAME) for any family gives exactly these addresses
//   NAME/4=ADDR          ... for AF_INET only (`/6`: AF_INET6 only)
//   !NAME                getaddrinfo(NAME) fails within 6 s, EAI_NONAME or EAI_AGAIN
//   @ADDR=NAME           getnameinfo(ADDR, NI_NAMEREQD) gives NAME
//   hostname             the name gethostname gives resolves
//
// Prints `ok WHAT` or `FAIL WHAT (why)` per check, then `names: N passed, N failed`; exit
// status 0 only if every check passed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

static void verdict(int ok, const char *what, const char *why) {
    if (ok) {
        printf("ok %s\n", what);
        passed++;
    } else {
        printf("FAIL %s (%s)\n", what, why);
        failed++;
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

// The addresses of `list` as text, sorted, duplicates dropped, joined with commas.
static void addresses(struct addrinfo *list, char *out, size_t size) {
    char seen[16][INET6_ADDRSTRLEN];
    int n = 0;
    for (struct addrinfo *p = list; p && n < 16; p = p->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *a = p->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr;
        inet_ntop(p->ai_family, a, text, sizeof text);
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= !strcmp(seen[i], text);
        if (!dup)
            strcpy(seen[n++], text);
    }
    qsort(seen, n, sizeof seen[0], (int (*)(const void *, const void *))strcmp);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, seen[i], size - strlen(out) - 1);
    }
}

// The comma-separated list `want`, sorted the same way.
static void sorted(const char *want, char *out, size_t size) {
    char copy[256], parts[16][INET6_ADDRSTRLEN];
    int n = 0;
    snprintf(copy, sizeof copy, "%s", want);
    for (char *s = strtok(copy, ","); s && n < 16; s = strtok(NULL, ","))
        snprintf(parts[n++], sizeof parts[0], "%s", s);
    qsort(parts, n, sizeof parts[0], (int (*)(const void *, const void *))strcmp);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, parts[i], size - strlen(out) - 1);
    }
}

static void forward(const char *arg) {
    char name[256], what[512], why[512], got[512], want[512];
    const char *eq = strchr(arg, '=');
    snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
    int family = AF_UNSPEC;
    size_t len = strlen(name);
    if (len > 2 && name[len - 2] == '/') {
        family = name[len - 1] == '6' ? AF_INET6 : AF_INET;
        name[len - 2] = 0;
    }
    sorted(eq + 1, want, sizeof want);
    snprintf(what, sizeof what, "getaddrinfo(%s, %s): %s", name,
             family == AF_INET ? "AF_INET" : family == AF_INET6 ? "AF_INET6" : "AF_UNSPEC", want);
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM}, *list;
    int e = getaddrinfo(name, "80", &hints, &list);
    if (e) {
        snprintf(why, sizeof why, "%s", gai_strerror(e));
        verdict(0, what, why);
        return;
    }
    addresses(list, got, sizeof got);
    int port_ok = 1;
    for (struct addrinfo *p = list; p; p = p->ai_next)
        port_ok &= ntohs(((struct sockaddr_in *)p->ai_addr)->sin_port) == 80;
    freeaddrinfo(list);
    snprintf(why, sizeof why, "got %s%s", got, port_ok ? "" : ", a port other than 80");
    verdict(!strcmp(got, want) && port_ok, what, why);
}

static void missing(const char *name) {
    char what[512], why[512];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *list;
    double start = now();
    int e = getaddrinfo(name, NULL, &hints, &list);
    double took = now() - start;
    if (!e) {
        freeaddrinfo(list);
        snprintf(what, sizeof what, "getaddrinfo(%s) fails", name);
        verdict(0, what, "it resolved");
        return;
    }
    snprintf(what, sizeof what, "getaddrinfo(%s) fails within 6 s: %s", name,
             e == EAI_NONAME ? "EAI_NONAME" : e == EAI_AGAIN ? "EAI_AGAIN" : "another error");
    snprintf(why, sizeof why, "%s after %.2f s", gai_strerror(e), took);
    verdict((e == EAI_NONAME || e == EAI_AGAIN) && took < 6.0, what, why);
}

static void reverse(const char *arg) {
    char addr[64], what[512], why[NI_MAXHOST + 64], host[NI_MAXHOST];
    const char *eq = strchr(arg, '=');
    snprintf(addr, sizeof addr, "%.*s", (int)(eq - arg - 1), arg + 1);
    snprintf(what, sizeof what, "getnameinfo(%s) is %s", addr, eq + 1);
    struct sockaddr_in in4 = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    int e;
    if (inet_pton(AF_INET, addr, &in4.sin_addr) == 1)
        e = getnameinfo((struct sockaddr *)&in4, sizeof in4, host, sizeof host, NULL, 0,
                        NI_NAMEREQD);
    else if (inet_pton(AF_INET6, addr, &in6.sin6_addr) == 1)
        e = getnameinfo((struct sockaddr *)&in6, sizeof in6, host, sizeof host, NULL, 0,
                        NI_NAMEREQD);
    else {
        verdict(0, what, "not an address");
        return;
    }
    snprintf(why, sizeof why, "%s", e ? gai_strerror(e) : host);
    verdict(!e && !strcmp(host, eq + 1), what, why);
}

static void own_name(void) {
    char name[256], what[512], why[512];
    if (gethostname(name, sizeof name)) {
        verdict(0, "gethostname", "failed");
        return;
    }
    snprintf(what, sizeof what, "the host name %s resolves", name);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *list;
    int e = getaddrinfo(name, NULL, &hints, &list);
    if (!e)
        freeaddrinfo(list);
    snprintf(why, sizeof why, "%s", e ? gai_strerror(e) : "");
    verdict(!e, what, why);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '!')
            missing(a + 1);
        else if (a[0] == '@' && strchr(a, '='))
            reverse(a);
        else if (!strcmp(a, "hostname"))
            own_name();
        else if (strchr(a, '='))
            forward(a);
        else {
            fprintf(stderr, "names: bad check %s\n", a);
            return 2;
        }
    }
    printf("names: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
