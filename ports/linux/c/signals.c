// Signals as Linux delivers them: fault handlers with siginfo that edit the interrupted
// context (ucontext) to resume, FP/SIMD state preserved across a handler, siglongjmp out of
// handlers, sigaltstack with SA_ONSTACK, signals sent to oneself (raise) with masks, SIGPIPE,
// and default actions (`signals pipe` and `signals abort` end with 141 and 134). `signals
// spin` loops in user mode without system calls, for Ctrl-C tests (`signals spin N`: N
// iterations, then exit 0); `signals sigint` handles
// SIGINT (Ctrl-C) and ends normally when it arrives; `signals tstp` handles SIGTSTP (Ctrl-Z),
// then stops itself with the default action and reports SIGCONT's handler once continued;
// `signals winch` waits for SIGWINCH (the shell's `fg` after `resize`), prints the window size,
// then sets it with TIOCSWINSZ and waits for the SIGWINCH that brings as the foreground job.
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <ucontext.h>
#include <unistd.h>

static int passed, failed;
static void check(const char *what, int ok) {
    if (ok) {
        passed++;
        printf("ok %s\n", what);
    } else {
        failed++;
        printf("FAILED %s\n", what);
    }
}

static volatile void *seen_addr;
static volatile int seen_code, seen_sig, handler_runs;
static volatile uintptr_t handler_stack;

// SIGSEGV: skip the 8-byte `mov rax, [0x10]` and make rax 42.
static void on_segv(int sig, siginfo_t *info, void *ctx) {
    ucontext_t *uc = ctx;
    int local;
    handler_stack = (uintptr_t)&local;
    seen_sig = sig;
    seen_addr = info->si_addr;
    seen_code = info->si_code;
    uc->uc_mcontext.gregs[REG_RIP] += 8;
    uc->uc_mcontext.gregs[REG_RAX] = 42;
    // Clobber an XMM register here: the interrupted code's value must come back.
    __asm__ volatile("pcmpeqd %%xmm8, %%xmm8" ::: "xmm8");
    handler_runs++;
}

static sigjmp_buf jump;
static void on_jump(int sig, siginfo_t *info, void *ctx) {
    (void)ctx;
    seen_sig = sig;
    seen_addr = info->si_addr;
    seen_code = info->si_code;
    siglongjmp(jump, 1);
}

static volatile int usr1_runs;
static void on_usr1(int sig) {
    (void)sig;
    usr1_runs++;
}

static volatile sig_atomic_t tstp_seen, cont_seen;
static void on_tstp(int sig) {
    (void)sig;
    tstp_seen++;
}
static void on_cont(int sig) {
    (void)sig;
    cont_seen++;
}

static volatile sig_atomic_t winch_seen;
static void on_winch(int sig) {
    (void)sig;
    winch_seen++;
}

static volatile sig_atomic_t interrupted;
static void on_int(int sig) {
    (void)sig;
    interrupted++;
}

static int install(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, 0);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "pipe") == 0) {
        int p[2];
        if (pipe(p) != 0) return 1;
        close(p[0]);
        printf("writing to a pipe without readers\n");
        fflush(stdout);
        write(p[1], "x", 1);
        printf("survived SIGPIPE\n");
        return 0;
    }
    if ((argc == 2 || argc == 3) && strcmp(argv[1], "spin") == 0) {
        // `spin N`: N iterations in user mode, then exit (for CPU-time accounting).
        unsigned long n = argc == 3 ? strtoul(argv[2], NULL, 10) : 0;
        printf("spinning\n");
        fflush(stdout);
        for (volatile unsigned long i = 0; n == 0 || i < n; i++) {
        }
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "sigint") == 0) {
        // Ctrl-C arrives as SIGINT, which this program handles: it ends on its own.
        signal(SIGINT, on_int);
        printf("waiting for SIGINT\n");
        fflush(stdout);
        while (!interrupted) {
        }
        printf("caught SIGINT\n");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "tstp") == 0) {
        // Ctrl-Z arrives as SIGTSTP, which this program handles: it says so, then stops
        // itself with the default action (as an editor does once it has put the terminal
        // back); when the shell continues it, SIGCONT's handler runs first.
        signal(SIGTSTP, on_tstp);
        signal(SIGCONT, on_cont);
        printf("waiting for SIGTSTP\n");
        fflush(stdout);
        while (!tstp_seen) {
        }
        printf("caught SIGTSTP, stopping\n");
        fflush(stdout);
        signal(SIGTSTP, SIG_DFL);
        raise(SIGTSTP);
        printf("continued (SIGCONT handler ran %d time%s)\n", (int)cont_seen,
               cont_seen == 1 ? "" : "s");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "winch") == 0) {
        struct winsize ws;
        signal(SIGWINCH, on_winch);
        printf("waiting for SIGWINCH\n");
        fflush(stdout);
        while (!winch_seen) {
        }
        if (ioctl(1, TIOCGWINSZ, &ws) != 0) return 1;
        printf("SIGWINCH: %dx%d\n", ws.ws_row, ws.ws_col);
        fflush(stdout);
        winch_seen = 0;
        ws.ws_row = 40;
        ws.ws_col = 120;
        if (ioctl(1, TIOCSWINSZ, &ws) != 0) return 1;
        while (!winch_seen) {
        }
        if (ioctl(1, TIOCGWINSZ, &ws) != 0) return 1;
        printf("SIGWINCH after TIOCSWINSZ: %dx%d\n", ws.ws_row, ws.ws_col);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "abort") == 0) {
        printf("aborting\n");
        fflush(stdout);
        abort();
    }

    // 1. A fault handler that edits the context to resume after the faulting instruction.
    check("sigaction SIGSEGV", install(SIGSEGV, on_segv, 0) == 0);
    uint64_t rax = 0;
    uint64_t lanes[2] = {0x1111222233334444ULL, 0x5555666677778888ULL}, back[2];
    __asm__ volatile("movdqu %2, %%xmm8\n\t"
                     "movq 0x10, %%rax\n\t" // 48 8b 04 25 10 00 00 00: faults
                     "movq %%rax, %0\n\t"
                     "movdqu %%xmm8, %1"
                     : "=r"(rax), "=m"(back)
                     : "m"(lanes)
                     : "rax", "xmm8", "memory");
    check("handler ran once", handler_runs == 1);
    check("SIGSEGV with si_addr 0x10", seen_sig == SIGSEGV && seen_addr == (void *)0x10);
    check("si_code SEGV_MAPERR", seen_code == SEGV_MAPERR);
    check("edited rax came back", rax == 42);
    check("xmm8 preserved across the handler", back[0] == lanes[0] && back[1] == lanes[1]);

    // 2. The same on an alternate stack.
    static char alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    check("sigaltstack", sigaltstack(&ss, 0) == 0);
    check("sigaction SA_ONSTACK", install(SIGSEGV, on_segv, SA_ONSTACK) == 0);
    __asm__ volatile("movq 0x10, %%rax" ::: "rax", "xmm8", "memory");
    check("handler ran on the alternate stack",
          handler_runs == 2 && handler_stack >= (uintptr_t)alt &&
              handler_stack < (uintptr_t)alt + sizeof alt);
    stack_t cur;
    check("sigaltstack reports the stack", sigaltstack(0, &cur) == 0 && cur.ss_sp == alt &&
                                                cur.ss_flags == 0);

    // 3. siglongjmp out of handlers: division by zero, invalid opcode, a write to read-only
    //    memory.
    install(SIGFPE, on_jump, 0);
    install(SIGILL, on_jump, 0);
    install(SIGSEGV, on_jump, 0);
    volatile int zero = 0, r = 0;
    if (sigsetjmp(jump, 1) == 0) {
        r = 10 / zero;
        check("SIGFPE", 0);
    } else {
        check("SIGFPE from a division by zero (FPE_INTDIV)", seen_sig == SIGFPE && seen_code == FPE_INTDIV);
    }
    if (sigsetjmp(jump, 1) == 0) {
        __asm__ volatile("ud2");
        check("SIGILL", 0);
    } else {
        check("SIGILL from ud2 (ILL_ILLOPN)", seen_sig == SIGILL && seen_code == ILL_ILLOPN);
    }
    if (sigsetjmp(jump, 1) == 0) {
        *(volatile char *)main = 0;
        check("SIGSEGV", 0);
    } else {
        check("SIGSEGV writing to code (SEGV_ACCERR)", seen_sig == SIGSEGV && seen_code == SEGV_ACCERR &&
                                                           seen_addr == (void *)main);
    }
    (void)r;

    // 4. Signals sent to oneself, blocked and unblocked.
    signal(SIGUSR1, on_usr1);
    check("raise runs the handler", raise(SIGUSR1) == 0 && usr1_runs == 1);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR1);
    check("a blocked signal waits", usr1_runs == 1);
    sigset_t pending;
    sigprocmask(SIG_SETMASK, &old, 0);
    check("unblocking delivers it", usr1_runs == 2);
    (void)pending;
    signal(SIGUSR2, SIG_IGN);
    check("an ignored signal does nothing", raise(SIGUSR2) == 0);

    // 5. SIGPIPE ignored: the write fails with EPIPE.
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    check("pipe", pipe(p) == 0);
    close(p[0]);
    errno = 0;
    check("write to a closed pipe: EPIPE", write(p[1], "x", 1) == -1 && errno == EPIPE);

    printf("signals: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
