/* exec-step.c - the exec step (exec-step.h): a static program, without a
 * libc, that execs the container's program for root's processes from a
 * sealed memfd.  Built on its own and embedded in the library
 * (exec-step-blob.c, made by make); it is never installed as a file.
 *
 * Started by anything but mdrun -- as the interpreter of an entrypoint
 * that leads to /proc/self/exe, say -- it refuses, with status 126. */
#include <fcntl.h>
#include <linux/errno.h>
#include <stdbool.h>

#define MD_EXEC_STEP_PROGRAM /* not the library's declarations */
#include "exec-step.h"
#include "nolibc.h"

static const struct {
    int errnum;
    const char *text;
} reasons[] = {
    {EPERM, "Operation not permitted"},
    {ENOENT, "No such file or directory"},
    {EIO, "Input/output error"},
    {E2BIG, "Argument list too long"},
    {ENOEXEC, "Exec format error"},
    {ENOMEM, "Cannot allocate memory"},
    {EACCES, "Permission denied"},
    {EFAULT, "Bad address"},
    {ENOTDIR, "Not a directory"},
    {EISDIR, "Is a directory"},
    {EINVAL, "Invalid argument"},
    {ENFILE, "Too many open files in system"},
    {EMFILE, "Too many open files"},
    {ETXTBSY, "Text file busy"},
    {ENOSYS, "Function not implemented"},
    {ENAMETOOLONG, "File name too long"},
    {ELOOP, "Too many levels of symbolic links"},
    {ELIBBAD, "Accessing a corrupted shared library"},
    {EAGAIN, "Resource temporarily unavailable"},
    {EDQUOT, "Disk quota exceeded"},
};

/* A message being built, cut at the size of a sync message's text. */
struct text {
    char buf[MD_EXEC_STEP_TEXT_MAX];
    long len;
};

static void add(struct text *t, const char *s)
{
    while (*s && t->len < (long)sizeof(t->buf) - 1)
        t->buf[t->len++] = *s++;
    t->buf[t->len] = '\0';
}

static void add_number(struct text *t, unsigned long v)
{
    char digits[24];
    int i = (int)sizeof(digits) - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    add(t, digits + i);
}

/* The decimal number at s up to end or a comma; -1 when there is none. */
static long number(const char **s)
{
    long v = -1;
    for (; **s >= '0' && **s <= '9'; (*s)++)
        v = (v < 0 ? 0 : v * 10) + (**s - '0');
    return v;
}

static bool listed(const char *list, long errnum)
{
    while (*list) {
        if (number(&list) == errnum)
            return true;
        while (*list && *list != ',')
            list++;
        if (*list == ',')
            list++;
    }
    return false;
}

static void report(const char *where, int errnum, const char *hints, const char *path)
{
    struct text t;
    t.len = 0;
    t.buf[0] = '\0';
    if (where[0] == 'h') {
        const char *p = where + 1;
        struct md_exec_failure f = {.step = MD_EXEC_STEP_EXEC, .errnum = errnum};
        sys4(__NR_write, number(&p), (long)&f, sizeof(f), 0);
        return;
    }
    add(&t, "exec ");
    add(&t, path);
    add(&t, ": ");
    const char *reason = 0;
    for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].errnum == errnum)
            reason = reasons[i].text;
    if (reason) {
        add(&t, reason);
    } else {
        add(&t, "error ");
        add_number(&t, (unsigned long)errnum);
    }
    if (listed(hints, errnum))
        add(&t, " (does linux.seccomp allow execve?)");
    if (where[0] == 's') {
        const char *p = where + 1;
        struct {
            unsigned type;
            int value;
        } head = {MD_EXEC_STEP_SYNC_ERROR, errnum};
        char msg[sizeof(head) + sizeof(t.buf)];
        char *h = (char *)&head;
        for (unsigned i = 0; i < sizeof(head); i++)
            msg[i] = h[i];
        for (long i = 0; i <= t.len; i++)
            msg[sizeof(head) + (unsigned long)i] = t.buf[i];
        sys4(__NR_write, number(&p), (long)msg, (long)sizeof(head) + t.len + 1, 0);
        return;
    }
    const char *prefix = "mdrun: ";
    sys4(__NR_write, 2, (long)prefix, str_len(prefix), 0);
    add(&t, "\n");
    sys4(__NR_write, 2, (long)t.buf, t.len, 0);
}

static bool same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

void start_c(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    if (argc < 6 || !same(argv[0], MD_EXEC_STEP_NAME)) {
        const char *no = "mdrun-exec-step: runs only as mdrun's last step into a container\n";
        sys4(__NR_write, 2, (long)no, str_len(no), 0);
        sys_exit(126);
    }
    const char *where = argv[1], *status = argv[2];
    /* The report channel was left open across our own execve; the
     * program must not inherit it. */
    if (where[0] == 's' || where[0] == 'h') {
        const char *p = where + 1;
        sys4(__NR_fcntl, number(&p), F_SETFD, FD_CLOEXEC, 0);
    }
    long r = sys4(__NR_execve, (long)argv[4], (long)(argv + 5), (long)envp, 0);
    report(where, (int)-r, argv[3], argv[4]);
    long code = number(&status);
    sys_exit(code < 0 ? 1 : (int)code);
}
