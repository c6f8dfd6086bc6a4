/* exec-step.h - the exec step: how a container's process leaves mdrun's
 * binary when mdrun runs as root.
 *
 * Until its last execve(2), a process that mdrun starts in a container runs
 * mdrun's code, and /proc/self/exe is mdrun's binary on the host.  Were
 * that execve to meet a program that leads back to /proc/self/exe (an
 * entrypoint symlinked to it: CVE-2019-5736), the kernel would run the
 * host's binary in the container, loaded by the image's dynamic loader,
 * which could then keep the file open and write it once no one runs it.
 * So root's processes make that last execve from a tiny static program
 * (exec-step.c, embedded in the library) held in a sealed memfd: what
 * /proc/self/exe leads to in the container is that copy, which no one can
 * write, and which refuses to run unless started by mdrun.  Until then the
 * process is not dumpable, so that no other process can open its
 * /proc/PID/exe (protect.h).  This replaces executing all of mdrun a
 * second time from a protected view of itself, for a fraction of the cost.
 *
 * The step's arguments, set by md_exec() (protect.h):
 *   argv[0]  MD_EXEC_STEP_NAME
 *   argv[1]  where a failed execve is reported: "-" on stderr as
 *            "mdrun: exec PATH: reason", "s" FD as an MD_SYNC_ERROR
 *            message on the sync socket FD, "h" FD as a struct
 *            md_exec_failure on a hook's report pipe FD
 *   argv[2]  the exit status after a failed execve
 *   argv[3]  the errnos the container's seccomp filter may return, comma
 *            separated ("" without a filter): a failed execve with one of
 *            them gets a hint about linux.seccomp
 *   argv[4]  the program's path
 *   argv[5]  and on: the program's own argv, from its argv[0]
 * and the program's environment. */
#ifndef MD_EXEC_STEP_H
#define MD_EXEC_STEP_H

#define MD_EXEC_STEP_NAME "mdrun-exec-step"

/* What a hook's child writes on its report pipe when it cannot run the
 * hook (hooks.c); nothing when execve succeeded. */
enum { MD_EXEC_STEP_STDIN, MD_EXEC_STEP_EXEC };
struct md_exec_failure {
    int step;
    int errnum;
};

/* The message type of an error on the sync socket (sync.h's MD_SYNC_ERROR,
 * checked equal in protect.c) and the size of its text. */
#define MD_EXEC_STEP_SYNC_ERROR 10
#define MD_EXEC_STEP_TEXT_MAX   3800

#ifndef MD_EXEC_STEP_PROGRAM
#include <stddef.h>

/* The step's program, in the library (exec-step-blob.c, made by make). */
extern const unsigned char md_exec_step_blob[];
extern const size_t md_exec_step_size;
#endif

#endif
