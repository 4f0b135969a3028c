// What a system call must leave as it was (the Linux x86_64 ABI): every general register but
// rax (the result), rcx (the address after `syscall`) and r11 (rflags at the call); the flags
// themselves (DF included); XMM0-15, MXCSR, the x87 control word and an x87 stack value. Checked
// for calls that return at once (getpid, a failing read), calls that switch tasks (sched_yield,
// nanosleep), a call after which a signal handler runs (kill of oneself: the handler clobbers
// the FP/SIMD state and the flags), and for two threads doing all of it at once with different
// register contents; then the x87 registers, control word, MXCSR and an XMM register of two
// threads across page faults, yields and preemption (`fp_state_kept`). Prints `sysregs: N passed, 0 failed`; the same binary passes on Linux.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// The register state before and after one system call. Offsets are used by `do_call`.
struct regs {
    uint64_t gpr[16];   // 0: rax rbx rcx rdx rsi rdi rbp r8 r9 r10 r11 r12 r13 r14 r15 (rsp unused)
    uint64_t rflags;    // 128
    uint64_t x87;       // 136: a double pushed on the x87 stack before, popped after
    uint32_t mxcsr;     // 144
    uint16_t fcw;       // 148
    uint16_t pad[5];
    uint8_t xmm[16][16]; // 160
};

enum { RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8, R9, R10, R11, R12, R13, R14, R15 };
static const char *names[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
                              "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

// do_call(in, out): loads every register of `in` (rflags with popfq, so DF may be set), runs
// `syscall`, and stores every register (and the flags) after it to `out`.
void do_call(const struct regs *in, struct regs *out);
extern char sysregs_after[];
__asm__(".intel_syntax noprefix\n"
        ".text\n"
        ".global do_call\n"
        "do_call:\n"
        "    push rbx\n push rbp\n push r12\n push r13\n push r14\n push r15\n"
        "    push rsi\n" // out
        "    sub rsp, 8\n" // a slot for the result
        "    fld qword ptr [rdi + 136]\n"
        "    ldmxcsr [rdi + 144]\n"
        "    fldcw [rdi + 148]\n"
        "    movdqu xmm0, [rdi + 160]\n movdqu xmm1, [rdi + 176]\n"
        "    movdqu xmm2, [rdi + 192]\n movdqu xmm3, [rdi + 208]\n"
        "    movdqu xmm4, [rdi + 224]\n movdqu xmm5, [rdi + 240]\n"
        "    movdqu xmm6, [rdi + 256]\n movdqu xmm7, [rdi + 272]\n"
        "    movdqu xmm8, [rdi + 288]\n movdqu xmm9, [rdi + 304]\n"
        "    movdqu xmm10, [rdi + 320]\n movdqu xmm11, [rdi + 336]\n"
        "    movdqu xmm12, [rdi + 352]\n movdqu xmm13, [rdi + 368]\n"
        "    movdqu xmm14, [rdi + 384]\n movdqu xmm15, [rdi + 400]\n"
        "    mov rax, [rdi]\n mov rbx, [rdi + 8]\n mov rcx, [rdi + 16]\n mov rdx, [rdi + 24]\n"
        "    mov rsi, [rdi + 32]\n mov rbp, [rdi + 48]\n mov r8, [rdi + 56]\n"
        "    mov r9, [rdi + 64]\n mov r10, [rdi + 72]\n mov r11, [rdi + 80]\n"
        "    mov r12, [rdi + 88]\n mov r13, [rdi + 96]\n mov r14, [rdi + 104]\n"
        "    mov r15, [rdi + 112]\n"
        "    push qword ptr [rdi + 128]\n"
        "    popfq\n"
        "    mov rdi, [rdi + 40]\n" // (mov leaves the flags as popfq set them)
        "    syscall\n"
        ".global sysregs_after\n"
        "sysregs_after:\n"
        "    pushfq\n" // flags after the call at [rsp]; out at [rsp + 16]
        "    xchg rax, [rsp + 16]\n" // rax = out; the result takes its place
        "    mov [rax + 8], rbx\n mov [rax + 16], rcx\n mov [rax + 24], rdx\n"
        "    mov [rax + 32], rsi\n mov [rax + 40], rdi\n mov [rax + 48], rbp\n"
        "    mov [rax + 56], r8\n mov [rax + 64], r9\n mov [rax + 72], r10\n"
        "    mov [rax + 80], r11\n mov [rax + 88], r12\n mov [rax + 96], r13\n"
        "    mov [rax + 104], r14\n mov [rax + 112], r15\n"
        "    pop rbx\n mov [rax + 128], rbx\n" // flags after
        "    add rsp, 8\n"
        "    pop rbx\n mov [rax], rbx\n" // the result
        "    fstp qword ptr [rax + 136]\n"
        "    stmxcsr [rax + 144]\n"
        "    fnstcw [rax + 148]\n"
        "    movdqu [rax + 160], xmm0\n movdqu [rax + 176], xmm1\n"
        "    movdqu [rax + 192], xmm2\n movdqu [rax + 208], xmm3\n"
        "    movdqu [rax + 224], xmm4\n movdqu [rax + 240], xmm5\n"
        "    movdqu [rax + 256], xmm6\n movdqu [rax + 272], xmm7\n"
        "    movdqu [rax + 288], xmm8\n movdqu [rax + 304], xmm9\n"
        "    movdqu [rax + 320], xmm10\n movdqu [rax + 336], xmm11\n"
        "    movdqu [rax + 352], xmm12\n movdqu [rax + 368], xmm13\n"
        "    movdqu [rax + 384], xmm14\n movdqu [rax + 400], xmm15\n"
        "    cld\n"
        "    ldmxcsr [rip + default_mxcsr]\n"
        "    fldcw [rip + default_fcw]\n"
        "    pop r15\n pop r14\n pop r13\n pop r12\n pop rbp\n pop rbx\n"
        "    ret\n"
        ".section .rodata\n"
        "default_mxcsr: .long 0x1f80\n"
        "default_fcw: .short 0x37f\n"
        ".text\n"
        ".att_syntax prefix\n");

static int passed, failed;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, const char *detail, uint64_t want, uint64_t got) {
    pthread_mutex_lock(&print_lock);
    failed++;
    printf("FAILED %s: %s is %#llx, want %#llx\n", what, detail, (unsigned long long)got,
           (unsigned long long)want);
    pthread_mutex_unlock(&print_lock);
}

// The flags a program can set (CF PF AF ZF SF DF OF), plus IF and the always-one bit.
#define USER_FLAGS 0xcd5ull

// Fills `in` with values that differ per register, per `seed`; the call's number and
// arguments are set by the caller.
static void fill(struct regs *in, uint64_t seed) {
    memset(in, 0, sizeof *in);
    for (int i = 0; i < 16; i++)
        in->gpr[i] = 0x1111111111111111ull * (uint64_t)(i + 1) ^ (seed << 8);
    in->rflags = (seed & 1 ? 0xcd5ull : 0x0c1ull) | 0x202; // DF and OF on or off
    double x = 1.0 + (double)seed / 7.0;
    memcpy(&in->x87, &x, 8);
    in->mxcsr = seed & 1 ? 0x7f80 : 0x3f80; // round toward zero / up, exceptions masked
    in->fcw = seed & 1 ? 0x27f : 0x37f;     // double / extended precision
    for (int r = 0; r < 16; r++)
        for (int b = 0; b < 16; b++)
            in->xmm[r][b] = (uint8_t)(seed * 31 + r * 16 + b);
}

// Runs one call with `in` and checks what must be preserved; `want_rax` < 0 means any result.
static void run(const char *what, struct regs *in, long want_rax) {
    struct regs out;
    memset(&out, 0xa5, sizeof out);
    do_call(in, &out);
    int bad = failed;
    if (want_rax >= -4095 && (long)out.gpr[RAX] != want_rax)
        fail(what, "rax", (uint64_t)want_rax, out.gpr[RAX]);
    if (out.gpr[RCX] != (uint64_t)(uintptr_t)sysregs_after)
        fail(what, "rcx (the return address)", (uint64_t)(uintptr_t)sysregs_after, out.gpr[RCX]);
    uint64_t flags = (in->rflags & USER_FLAGS) | 0x202;
    if ((out.gpr[R11] & ~0x10000ull) != flags) // RF may be either
        fail(what, "r11 (rflags at the call)", flags, out.gpr[R11]);
    if ((out.rflags & USER_FLAGS) != (flags & USER_FLAGS))
        fail(what, "rflags", flags, out.rflags);
    for (int i = 0; i < 15; i++)
        if (i != RAX && i != RCX && i != R11 && out.gpr[i] != in->gpr[i])
            fail(what, names[i], in->gpr[i], out.gpr[i]);
    if (out.x87 != in->x87)
        fail(what, "the x87 stack value", in->x87, out.x87);
    if (out.mxcsr != in->mxcsr)
        fail(what, "mxcsr", in->mxcsr, out.mxcsr);
    if (out.fcw != in->fcw)
        fail(what, "the x87 control word", in->fcw, out.fcw);
    for (int r = 0; r < 16; r++) {
        uint64_t want[2], got[2];
        memcpy(want, in->xmm[r], 16);
        memcpy(got, out.xmm[r], 16);
        if (want[0] != got[0] || want[1] != got[1]) {
            char name[16];
            snprintf(name, sizeof name, "xmm%d", r);
            fail(what, name, want[0], got[0]);
        }
    }
    if (failed == bad) {
        pthread_mutex_lock(&print_lock);
        passed++;
        pthread_mutex_unlock(&print_lock);
    }
}

static volatile sig_atomic_t usr1_runs;
// Clobbers what a handler may: XMM registers, MXCSR, flags (the kernel restores them).
static void on_usr1(int sig) {
    (void)sig;
    volatile double acc = 0.0;
    for (int i = 1; i < 50; i++)
        acc += 1.0 / (double)i;
    __asm__ volatile("pxor %%xmm0, %%xmm0\n pcmpeqd %%xmm8, %%xmm8\n pcmpeqd %%xmm15, %%xmm15\n"
                     "std\n cld" ::: "xmm0", "xmm8", "xmm15");
    usr1_runs++;
}

// Every kind of call, `rounds` times, with register contents from `seed`.
static void calls(uint64_t seed, int rounds, int quiet) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    for (int n = 0; n < rounds; n++) {
        struct regs in;
        uint64_t s = seed + (uint64_t)n * 2;
        fill(&in, s);
        in.gpr[RAX] = SYS_getpid;
        run("getpid", &in, getpid());
        fill(&in, s + 1);
        in.gpr[RAX] = SYS_read;
        in.gpr[RDI] = (uint64_t)-1;
        in.gpr[RSI] = 0;
        in.gpr[RDX] = 0;
        run("read of a bad descriptor", &in, -9); // EBADF
        fill(&in, s);
        in.gpr[RAX] = SYS_sched_yield;
        run("sched_yield", &in, 0);
        fill(&in, s + 1);
        in.gpr[RAX] = SYS_nanosleep;
        in.gpr[RDI] = (uint64_t)(uintptr_t)&ts;
        in.gpr[RSI] = 0;
        run("nanosleep", &in, 0);
        fill(&in, s);
        in.gpr[RAX] = SYS_gettid;
        run("gettid", &in, -10000);
        if (!quiet && n == 0)
            printf("ok registers preserved across getpid, a failing read, sched_yield, nanosleep\n");
    }
}

static void *second(void *arg) {
    (void)arg;
    calls(1000, 20, 1);
    return NULL;
}

// The x87 and SSE state of a program the kernel interrupts or switches away from in the
// middle of its work: eight values on the x87 stack and a pattern in xmm15 stay there while
// the thread takes a page fault on each of `n` fresh pages, yields to the other thread (which
// does the same with its own values) and spins (a timer interrupt may preempt it). Also the x87
// control word and MXCSR alone (no x87 register in use) across `n` yields.
static void x87_live(const double in[8], double out[8], const uint64_t xin[2], uint64_t xout[2],
                     char *pages, long n) {
    __asm__ volatile("fldl 0(%[in])\n fldl 8(%[in])\n fldl 16(%[in])\n fldl 24(%[in])\n"
                     "fldl 32(%[in])\n fldl 40(%[in])\n fldl 48(%[in])\n fldl 56(%[in])\n"
                     "movdqu (%[xin]), %%xmm15\n"
                     "1:\n"
                     "movb $1, (%[p])\n"
                     "mov $24, %%eax\n syscall\n" // sched_yield
                     "mov $20000, %%eax\n 2: dec %%eax\n jnz 2b\n"
                     "add $4096, %[p]\n dec %[n]\n jnz 1b\n"
                     "fstpl 56(%[out])\n fstpl 48(%[out])\n fstpl 40(%[out])\n fstpl 32(%[out])\n"
                     "fstpl 24(%[out])\n fstpl 16(%[out])\n fstpl 8(%[out])\n fstpl 0(%[out])\n"
                     "movdqu %%xmm15, (%[xout])\n"
                     : [p] "+r"(pages), [n] "+r"(n)
                     : [in] "r"(in), [out] "r"(out), [xin] "r"(xin), [xout] "r"(xout)
                     : "rax", "rcx", "r11", "xmm15", "memory", "cc", "st", "st(1)", "st(2)",
                       "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
}

static void fp_state_kept(uint64_t seed) {
    enum { PAGES = 24 };
    char *pages = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
    if (pages == MAP_FAILED) {
        fail("x87 state", "mmap", 0, (uint64_t)-1);
        return;
    }
    double in[8], out[8];
    for (int i = 0; i < 8; i++)
        in[i] = (double)seed * 1000.0 + (double)i / 3.0;
    uint64_t xin[2] = {0x0123456789abcdefull ^ seed, 0xfedcba9876543210ull + seed}, xout[2];
    memset(out, 0, sizeof out);
    x87_live(in, out, xin, xout, pages, PAGES);
    munmap(pages, PAGES * 4096);
    int bad = failed;
    for (int i = 0; i < 8; i++) {
        uint64_t want, got;
        memcpy(&want, &in[i], 8);
        memcpy(&got, &out[i], 8);
        if (want != got)
            fail("x87 registers across faults and switches", "a stack value", want, got);
    }
    if (xout[0] != xin[0] || xout[1] != xin[1])
        fail("xmm15 across faults and switches", "the low half", xin[0], xout[0]);

    uint16_t fcw = seed & 1 ? 0x77f : 0x27f, fcw_out; // round down / double precision
    uint32_t mxcsr = seed & 1 ? 0x5f80 : 0x3f80, mxcsr_out;
    __asm__ volatile("fldcw %0\n ldmxcsr %1" ::"m"(fcw), "m"(mxcsr));
    for (int i = 0; i < 200; i++) {
        syscall(SYS_sched_yield);
        __asm__ volatile("fnstcw %0\n stmxcsr %1" : "=m"(fcw_out), "=m"(mxcsr_out));
        if (fcw_out != fcw || mxcsr_out != mxcsr) {
            fail("x87 control word and MXCSR across switches", "fcw", fcw, fcw_out);
            break;
        }
    }
    __asm__ volatile("fldcw %0\n ldmxcsr %1" ::"m"((uint16_t){0x37f}), "m"((uint32_t){0x1f80}));
    if (failed == bad) {
        pthread_mutex_lock(&print_lock);
        passed++;
        pthread_mutex_unlock(&print_lock);
    }
}

static void *fp_second(void *arg) {
    (void)arg;
    fp_state_kept(2);
    return NULL;
}

int main(void) {
    calls(1, 1, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    for (int s = 0; s < 2; s++) {
        struct regs in;
        fill(&in, 77 + (uint64_t)s);
        in.gpr[RAX] = SYS_kill;
        in.gpr[RDI] = (uint64_t)getpid();
        in.gpr[RSI] = SIGUSR1;
        int before = usr1_runs;
        run("kill of oneself (a handler runs)", &in, 0);
        if (usr1_runs != before + 1)
            fail("kill of oneself", "handler runs", (uint64_t)before + 1, (uint64_t)usr1_runs);
    }
    printf("ok registers preserved across a signal handler\n");

    pthread_t t;
    if (pthread_create(&t, NULL, second, NULL) != 0) {
        printf("FAILED pthread_create\n");
        return 1;
    }
    calls(2000, 20, 1);
    pthread_join(t, NULL);
    printf("ok registers preserved with two threads calling at once\n");

    if (pthread_create(&t, NULL, fp_second, NULL) != 0) {
        printf("FAILED pthread_create\n");
        return 1;
    }
    fp_state_kept(1);
    pthread_join(t, NULL);
    printf("ok x87 and SSE state kept across page faults, yields and preemption\n");

    printf("sysregs: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
