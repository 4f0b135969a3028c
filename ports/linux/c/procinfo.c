// What a Linux-ABI C program learns about itself and the system from /proc and /sys, checked
// against what the system calls say: /proc/self and its stat, status, cmdline, environ, comm,
// exe, cwd, fd, task, limits, maps and statm files (memory sizes following a new mapping);
// the system's meminfo, stat, uptime, cpuinfo and sys/kernel files; /sys's CPU list and
// loopback interface, which the interface ioctls agree with; kcmp; an ended thread's CPU time
// in the process's (getrusage, its CPU clock, stat); /proc/self/io; that /proc cannot be
// written; and prctl: names given to threads (in comm files) and settings read back. Prints `ok WHAT` or
// `FAIL WHAT (errno text)` per check, then `procinfo: N passed, N failed`; exit status 0 only if every check passed. The same program
// passes on Linux (run as root or not).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

// The whole file at `path` (NUL-terminated), its length in *len; NULL on error.
static char *slurp(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0) {
            free(buf);
            close(fd);
            return NULL;
        }
        if (got == 0) break;
        n += got;
    }
    close(fd);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

// The number after `key:` in a `Key:\tvalue` file, or -1.
static long field(const char *text, const char *key) {
    size_t k = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, k) == 0 && line[k] == ':') return strtol(line + k + 1, NULL, 10);
    }
    return -1;
}

static int dir_has(const char *path, const char *name) {
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, name) == 0) found = 1;
    closedir(d);
    return found;
}

static int count_entries(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

// The number after `name: ` at the start of a line of `text`, -1 if none.
static long field_colon(const char *text, const char *name) {
    size_t len = strlen(name);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ':') return atol(line + len + 1);
    return -1;
}

static long ms(struct timeval t) {
    return t.tv_sec * 1000 + t.tv_usec / 1000;
}

// Spins until the thread has used 300 ms of CPU time.
static void *named(void *arg) {
    prctl(PR_SET_NAME, "worker-thread");
    *(pid_t *)arg = (pid_t)syscall(SYS_gettid);
    sleep(1);
    return NULL;
}

#ifndef PR_GET_AUXV
#define PR_GET_AUXV 0x41555856
#endif

// The auxiliary vector the program started with, from prctl and /proc/self/auxv.
static void auxiliary_vector(void) {
    unsigned long words[128];
    long size = prctl(PR_GET_AUXV, words, sizeof words, 0, 0);
    check(size >= 32 && size % 16 == 0 && (size_t)size <= sizeof words,
          "PR_GET_AUXV: the vector's size, whole pairs");
    if (size < 32 || (size_t)size > sizeof words) return;
    long pairs = size / 16;
    check(words[2 * pairs - 2] == AT_NULL, "it ends with AT_NULL");
    int found = 0;
    for (long i = 0; i < pairs; i++) {
        unsigned long key = words[2 * i], value = words[2 * i + 1];
        if (key == AT_PAGESZ || key == AT_ENTRY || key == AT_PHDR || key == AT_RANDOM)
            found += value == getauxval(key);
    }
    check(found == 4, "AT_PAGESZ, AT_ENTRY, AT_PHDR, AT_RANDOM are what getauxval says");
    check(prctl(PR_GET_AUXV, NULL, 0, 0, 0) == size, "size 0: only the size");
    unsigned long part[2] = {7, 7};
    check(prctl(PR_GET_AUXV, part, 8, 0, 0) == size && part[0] == words[0] && part[1] == 7,
          "a short buffer gets what fits");
    check(prctl(PR_GET_AUXV, words, sizeof words, 1, 0) == -1 && errno == EINVAL,
          "PR_GET_AUXV: a fourth argument is EINVAL");
    size_t len = 0;
    char *file = slurp("/proc/self/auxv", &len);
    // Linux's prctl copies its whole saved array (zeros after AT_NULL); the file stops there.
    check(file && len >= 32 && len <= (size_t)size && len % 16 == 0 &&
              memcmp(file, words, len) == 0 && ((unsigned long *)file)[len / 8 - 2] == AT_NULL,
          "/proc/self/auxv holds the same pairs, up to AT_NULL");
    free(file);
}

static void names_and_settings(void) {
    char name[16] = {0}, path[64];
    check(prctl(PR_SET_NAME, "0123456789abcdefghij") == 0, "PR_SET_NAME with a long name");
    check(prctl(PR_GET_NAME, name) == 0 && strcmp(name, "0123456789abcde") == 0,
          "PR_GET_NAME: its first 15 bytes");
    char *comm = slurp("/proc/self/comm", NULL);
    check(comm && strcmp(comm, "0123456789abcde\n") == 0, "/proc/self/comm shows it");
    free(comm);
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", getpid());
    comm = slurp(path, NULL);
    check(comm && strcmp(comm, "0123456789abcde\n") == 0, "...and the main thread's task/N/comm");
    free(comm);
    pthread_t t;
    pid_t tid = 0;
    pthread_create(&t, NULL, named, &tid);
    while (!__atomic_load_n(&tid, __ATOMIC_SEQ_CST))
        usleep(1000);
    usleep(20000);
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
    comm = slurp(path, NULL);
    check(comm && strcmp(comm, "worker-thread\n") == 0, "a thread's own name in its task/N/comm");
    free(comm);
    char tname[16] = {0};
    check(pthread_getname_np(t, tname, sizeof tname) == 0 && strcmp(tname, "worker-thread") == 0,
          "pthread_getname_np reads it");
    pthread_join(t, NULL);
    check(prctl(PR_SET_NAME, "procinfo") == 0, "PR_SET_NAME back");

    check(prctl(PR_GET_DUMPABLE) == 1, "dumpable by default");
    check(prctl(PR_SET_DUMPABLE, 0) == 0 && prctl(PR_GET_DUMPABLE) == 0, "PR_SET_DUMPABLE 0");
    check(prctl(PR_SET_DUMPABLE, 2) == -1 && errno == EINVAL, "PR_SET_DUMPABLE 2: EINVAL");
    prctl(PR_SET_DUMPABLE, 1);
    int sig = -1;
    check(prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0 && prctl(PR_GET_PDEATHSIG, &sig) == 0 && sig == SIGUSR1,
          "PR_SET_PDEATHSIG read back");
    prctl(PR_SET_PDEATHSIG, 0);
    check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "no_new_privs off at first");
    check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1,
          "PR_SET_NO_NEW_PRIVS sticks");
    check(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == -1 && errno == EINVAL, "it cannot be cleared");
    long slack = prctl(PR_GET_TIMERSLACK);
    check(slack == 50000, "timer slack 50 us by default");
    check(prctl(PR_SET_TIMERSLACK, 60000) == 0 && prctl(PR_GET_TIMERSLACK) == 60000, "PR_SET_TIMERSLACK");
    prctl(PR_SET_TIMERSLACK, 0);
    check(prctl(PR_GET_TIMERSLACK) == 50000, "slack 0 means the default again");
    check(prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0) == 0 &&
              prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) == PR_MCE_KILL_LATE,
          "PR_MCE_KILL late, read back");
    check(prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0) == 0 &&
              prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) == PR_MCE_KILL_DEFAULT,
          "PR_MCE_KILL clear: the default");
    check(prctl(9999) == -1 && errno == EINVAL, "an unknown option: EINVAL");
}

static void *spin(void *arg) {
    struct timespec t;
    do {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while (t.tv_sec * 1000 + t.tv_nsec / 1000000 < 300);
    return arg;
}

int main(int argc, char **argv) {
    (void)argc;
    char buf[PATH_MAX], want[PATH_MAX];
    pid_t pid = getpid();

    // /proc/self and the process's own files.
    ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    snprintf(want, sizeof want, "%d", pid);
    check(n > 0 && strcmp(buf, want) == 0, "/proc/self links to getpid()");

    char *self_stat = slurp("/proc/self/stat", NULL);
    int spid = 0, sppid = 0;
    char state = 0;
    char *close_paren = self_stat ? strrchr(self_stat, ')') : NULL;
    if (self_stat) sscanf(self_stat, "%d", &spid);
    if (close_paren) sscanf(close_paren + 2, "%c %d", &state, &sppid);
    if (spid != pid || sppid != getppid())
        printf("getpid %d, getppid %d; /proc/self/stat: %s", pid, getppid(), self_stat);
    check(spid == pid && sppid == getppid(), "/proc/self/stat: pid and ppid as getpid/getppid");
    check(state == 'R', "/proc/self/stat: the reading process is running");
    int fields = 0;
    for (char *p = close_paren; p && *p; p++)
        if (*p == ' ') fields++;
    check(fields >= 50, "/proc/self/stat has Linux's 52 fields");

    char *status = slurp("/proc/self/status", NULL);
    check(status && field(status, "Pid") == pid && field(status, "PPid") == getppid(),
          "/proc/self/status: Pid, PPid");
    check(status && field(status, "Uid") == (long)getuid() && field(status, "Gid") == (long)getgid(),
          "/proc/self/status: Uid, Gid");
    check(status && field(status, "Threads") == 1, "/proc/self/status: one thread");

    size_t len = 0;
    char *cmdline = slurp("/proc/self/cmdline", &len);
    check(cmdline && strcmp(cmdline, argv[0]) == 0 && len == strlen(argv[0]) + 1,
          "/proc/self/cmdline: argv[0] and its NUL");
    setenv("PROCINFO_MARK", "here", 1);
    char *environ_text = slurp("/proc/self/environ", &len);
    int has_path = 0;
    for (size_t i = 0; environ_text && i < len; i += strlen(environ_text + i) + 1)
        if (strncmp(environ_text + i, "PATH=", 5) == 0) has_path = 1;
    check(has_path, "/proc/self/environ: the environment at start");

    char *comm = slurp("/proc/self/comm", NULL);
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    check(comm && strncmp(comm, base, strlen(base)) == 0 && comm[strlen(base)] == '\n',
          "/proc/self/comm: the program's name");

    n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    struct stat exe_st, self_st;
    check(n > 0 && buf[0] == '/' && stat(buf, &exe_st) == 0 && stat("/proc/self/exe", &self_st) == 0 &&
              exe_st.st_size == self_st.st_size,
          "/proc/self/exe: the program file");

    mkdir("/tmp/procinfo", 0755);
    check(chdir("/tmp/procinfo") == 0, "chdir /tmp/procinfo");
    n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    check(n > 0 && strcmp(buf, "/tmp/procinfo") == 0, "/proc/self/cwd follows chdir");
    int made = open("/proc/self/cwd/made", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    check(made >= 0 && access("/tmp/procinfo/made", F_OK) == 0,
          "a file created through /proc/self/cwd is in the directory");

    snprintf(want, sizeof want, "/proc/self/fd/%d", made);
    n = readlink(want, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    check(n > 0 && strcmp(buf, "/tmp/procinfo/made") == 0, "/proc/self/fd/N names the open file");
    int fds_before = count_entries("/proc/self/fd");
    int extra = dup(made);
    check(count_entries("/proc/self/fd") == fds_before + 1, "/proc/self/fd lists a new descriptor");
    check(syscall(SYS_kcmp, pid, pid, 0 /* KCMP_FILE */, made, extra) == 0,
          "kcmp: a dup shares the open file description");
    int other = open("/tmp/procinfo/made", O_RDONLY);
    long cmp = syscall(SYS_kcmp, pid, pid, 0, made, other);
    check(cmp == 1 || cmp == 2, "kcmp: a second open is another description");
    close(extra), close(other), close(made);

    snprintf(want, sizeof want, "%d", pid);
    check(dir_has("/proc", want), "/proc lists the process");
    snprintf(want, sizeof want, "/proc/%d/task", pid);
    snprintf(buf, sizeof buf, "%ld", syscall(SYS_gettid));
    check(dir_has(want, buf), "/proc/PID/task lists the thread");

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    char *limits = slurp("/proc/self/limits", NULL);
    char *line = limits ? strstr(limits, "Max open files") : NULL;
    unsigned long soft = 0, hard = 0;
    if (line) sscanf(line + strlen("Max open files"), "%lu %lu", &soft, &hard);
    check(line && soft == rl.rlim_cur && hard == rl.rlim_max, "/proc/self/limits: open files as getrlimit");

    // Memory: the map, and sizes that follow a new mapping and the pages touched in it.
    char *maps = slurp("/proc/self/maps", NULL);
    check(maps && strstr(maps, "[stack]") && strstr(maps, " r-xp "), "/proc/self/maps: stack and code");
    unsigned long size1 = 0, res1 = 0, size2 = 0, res2 = 0;
    char *statm = slurp("/proc/self/statm", NULL);
    if (statm) sscanf(statm, "%lu %lu", &size1, &res1);
    check(size1 > 0 && res1 > 0 && res1 <= size1, "/proc/self/statm: size and resident pages");
    long vm_before = status ? field(status, "VmRSS") : -1;
    size_t len_map = 4 << 20;
    char *block = mmap(NULL, len_map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len_map / 2; i += 4096) block[i] = 1;
    statm = slurp("/proc/self/statm", NULL);
    if (statm) sscanf(statm, "%lu %lu", &size2, &res2);
    check(size2 >= size1 + len_map / 4096 && res2 >= res1 + len_map / 2 / 4096,
          "statm grows by a mapping and the pages touched in it");
    char *status2 = slurp("/proc/self/status", NULL);
    check(vm_before > 0 && status2 && field(status2, "VmRSS") >= vm_before + 2048, "status: VmRSS grows");
    snprintf(want, sizeof want, "%lx-", (unsigned long)block);
    maps = slurp("/proc/self/maps", NULL);
    check(maps && strstr(maps, want), "/proc/self/maps lists the new mapping");
    munmap(block, len_map);
    maps = slurp("/proc/self/maps", NULL);
    check(maps && !strstr(maps, want), "an unmapped range leaves /proc/self/maps");

    // The system.
    char *meminfo = slurp("/proc/meminfo", NULL);
    long total = meminfo ? field(meminfo, "MemTotal") : -1, free_kb = meminfo ? field(meminfo, "MemFree") : -1;
    check(total > 0 && free_kb > 0 && free_kb <= total, "/proc/meminfo: MemTotal, MemFree");
    char *pstat = slurp("/proc/stat", NULL);
    unsigned long long t[10] = {0};
    int got = pstat ? sscanf(pstat, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1],
                             &t[2], &t[3], &t[4], &t[5], &t[6], &t[7], &t[8], &t[9])
                    : 0;
    check(got == 10 && t[0] + t[2] + t[3] > 0, "/proc/stat: the cpu line's ten counters");
    check(pstat && strstr(pstat, "\nctxt ") && strstr(pstat, "\nbtime "), "/proc/stat: ctxt, btime");
    double up1 = 0, up2 = 0;
    char *u1 = slurp("/proc/uptime", NULL);
    if (u1) sscanf(u1, "%lf", &up1);
    usleep(20000);
    char *u2 = slurp("/proc/uptime", NULL);
    if (u2) sscanf(u2, "%lf", &up2);
    check(up1 > 0 && up2 > up1, "/proc/uptime advances");
    char *cpuinfo = slurp("/proc/cpuinfo", NULL);
    int processors = 0;
    for (char *p = cpuinfo; p && (p = strstr(p, "processor\t:")); p++) processors++;
    check(processors == sysconf(_SC_NPROCESSORS_ONLN), "/proc/cpuinfo: one block per online CPU");
    check(cpuinfo && strstr(cpuinfo, " sse2"), "/proc/cpuinfo: flags name sse2");

    struct utsname u;
    uname(&u);
    char *ostype = slurp("/proc/sys/kernel/ostype", NULL), *release = slurp("/proc/sys/kernel/osrelease", NULL);
    snprintf(want, sizeof want, "%s\n", u.sysname);
    check(ostype && strcmp(ostype, want) == 0, "/proc/sys/kernel/ostype as uname");
    snprintf(want, sizeof want, "%s\n", u.release);
    check(release && strcmp(release, want) == 0, "/proc/sys/kernel/osrelease as uname");

    char *online = slurp("/sys/devices/system/cpu/online", NULL);
    check(online && (online[0] == '0'), "/sys/devices/system/cpu/online starts at CPU 0");
    char *ifindex = slurp("/sys/class/net/lo/ifindex", NULL);
    check(ifindex && strcmp(ifindex, "1\n") == 0, "/sys/class/net/lo/ifindex is 1");
    char ifname[IF_NAMESIZE] = {0};
    check(if_nametoindex("lo") == 1 && if_indextoname(1, ifname) && strcmp(ifname, "lo") == 0,
          "if_nametoindex/if_indextoname agree with /sys for lo");
    errno = 0;
    check(if_nametoindex("no-such-if0") == 0 && errno == ENODEV, "if_nametoindex of an unknown name: ENODEV");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    check(ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK) && (ifr.ifr_flags & IFF_UP),
          "SIOCGIFFLAGS of lo: up, loopback");
    check(ioctl(sock, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu == 65536, "SIOCGIFMTU of lo: 65536");
    close(sock);

    // Nothing in /proc can be changed.
    // (Linux lets root open it for writing; the write fails.)
    int w = open("/proc/meminfo", O_WRONLY);
    check(w < 0 || write(w, "x", 1) < 0, "/proc/meminfo cannot be written");
    if (w >= 0) close(w);
    errno = 0;
    check(mkdir("/proc/procinfo", 0755) < 0 && errno != 0, "mkdir in /proc fails");
    errno = 0;
    check(open("/proc/no-such-entry", O_RDONLY) < 0 && errno == ENOENT, "/proc/no-such-entry: ENOENT");
    errno = 0;
    check(open("/proc/meminfo/x", O_RDONLY) < 0 && errno == ENOTDIR, "/proc/meminfo/x: ENOTDIR");

    // /proc/self/io counts this process's reads and writes.
    char *io_before = slurp("/proc/self/io", NULL);
    long wchar_before = io_before ? field_colon(io_before, "wchar") : -1;
    long syscw_before = io_before ? field_colon(io_before, "syscw") : -1;
    int iofd = open("/tmp/procinfo/io", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char data[5000];
    memset(data, 'x', sizeof data);
    ssize_t put = iofd >= 0 ? write(iofd, data, sizeof data) : -1;
    if (iofd >= 0) close(iofd);
    unlink("/tmp/procinfo/io");
    char *io_after = slurp("/proc/self/io", NULL);
    check(io_after && put == (ssize_t)sizeof data && wchar_before >= 0 &&
              field_colon(io_after, "wchar") >= wchar_before + (long)sizeof data &&
              field_colon(io_after, "syscw") >= syscw_before + 1 &&
              strstr(io_after, "\nwrite_bytes: ") && strstr(io_after, "\nread_bytes: "),
          "/proc/self/io: wchar and syscw count a write");

    // CPU time of a thread that ended stays the process's (getrusage, the process CPU
    // clock, /proc/self/stat's utime + stime).
    pthread_t spinner;
    check(pthread_create(&spinner, NULL, spin, NULL) == 0 && pthread_join(spinner, NULL) == 0,
          "a thread spins 300 ms of CPU time and ends");
    struct rusage usage;
    check(getrusage(RUSAGE_SELF, &usage) == 0 && ms(usage.ru_utime) + ms(usage.ru_stime) >= 250,
          "getrusage(RUSAGE_SELF) keeps an ended thread's time");
    struct timespec cpu;
    check(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 &&
              cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000 >= 250,
          "CLOCK_PROCESS_CPUTIME_ID keeps an ended thread's time");
    char *after = slurp("/proc/self/stat", NULL);
    long utime = 0, stime = 0;
    char *paren = after ? strrchr(after, ')') : NULL;
    if (paren) sscanf(paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime);
    check(utime + stime >= 25, "/proc/self/stat utime + stime keep an ended thread's time");

    names_and_settings();
    auxiliary_vector();

    unlink("/tmp/procinfo/made");
    chdir("/");
    rmdir("/tmp/procinfo");
    printf("procinfo: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
