/* nolibc.h - what a freestanding static program of ours needs instead of a
 * libc: its entry point and a system call.  Used by the exec step
 * (exec-step.c) and by a test's hostile interpreter (exe-interp.c), which
 * both run before, or instead of, any libc's start-up code.
 *
 * Include it once, in the program's only source file, and define
 *     __attribute__((noreturn, used)) void start_c(long *sp);
 * which gets the initial stack: argc, then argv, NULL, envp, NULL. */
#ifndef MD_NOLIBC_H
#define MD_NOLIBC_H

#include <asm/unistd.h>

#if defined(__x86_64__)
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start_c\n"
        "  hlt\n");

static inline long sys4(long n, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  mov x0, sp\n"
        "  bl start_c\n");

static inline long sys4(long n, long a, long b, long c, long d)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    return x0;
}
#else
#error "nolibc.h: add the entry point and system call of this architecture"
#endif

__attribute__((noreturn, used)) void start_c(long *sp);

static inline __attribute__((noreturn)) void sys_exit(int status)
{
    for (;;)
        sys4(__NR_exit_group, status, 0, 0, 0);
}

static inline long str_len(const char *s)
{
    long n = 0;
    while (s[n])
        n++;
    return n;
}

#endif
