/* test-protect.c - protecting the host from what runs in the container:
 * - the runtime binary (CVE-2019-5736): root's container processes make
 *   their last execve through the exec step (a sealed copy of a small
 *   program) and are not dumpable until then, a user's own binary runs
 *   from a sealed copy of itself, and a root-owned one as is when its
 *   containers' ids may not write it, so an image whose entrypoint is a
 *   symlink to /proc/self/exe cannot write the host's binary, and a
 *   process entering a pid namespace shared with the container is not
 *   dumpable, so the container cannot open its /proc/PID/exe;
 * - host fds (CVE-2024-21626): whatever mdrun's caller had open never
 *   reaches the program, and a process.cwd through /proc/self/fd (or any
 *   other /proc magic link) is refused, with openat2 and with the
 *   fallback resolver (MDRUN_TEST_NO_OPENAT2, safepath.h). */
#define _GNU_SOURCE
#include "config.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "fixture.h"
#include "integration/ct.h"

/* ------------------------------------------------------------- helpers */

/* One behaviour, as root and as the user, through openat2 and through the
 * fallback resolver. */
#define FOUR(suite, name)                       \
    static void name(enum hx_who who, bool fb); \
    Test(suite, name##_root)                    \
    {                                           \
        name(HX_ROOT, false);                   \
    }                                           \
    Test(suite, name##_user)                    \
    {                                           \
        name(HX_USER, false);                   \
    }                                           \
    Test(suite, name##_root_fallback)           \
    {                                           \
        name(HX_ROOT, true);                    \
    }                                           \
    Test(suite, name##_user_fallback)           \
    {                                           \
        name(HX_USER, true);                    \
    }                                           \
    static void name(enum hx_who who, bool fb)

static const char *const fallback_env[] = {"MDRUN_TEST_NO_OPENAT2=1", NULL};

struct blob {
    char *data;
    size_t len;
};

static struct blob read_blob(const char *path)
{
    struct blob b = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    struct stat st;
    cr_assert(fstat(fd, &st) == 0);
    b.data = malloc((size_t)st.st_size + 1);
    cr_assert(b.data);
    while (b.len < (size_t)st.st_size) {
        ssize_t n = read(fd, b.data + b.len, (size_t)st.st_size - b.len + 1);
        cr_assert(n > 0, "read %s", path);
        b.len += (size_t)n;
    }
    close(fd);
    return b;
}

static bool same_blob(const struct blob *a, const struct blob *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* A file of the host copied to dest with mode, owned by c->who. */
static void copy_to(struct hx_ctx *c, const char *src, const char *dest, mode_t mode)
{
    struct blob b = read_blob(src);
    int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    cr_assert(fd >= 0, "create %s: %s", dest, strerror(errno));
    cr_assert(write(fd, b.data, b.len) == (ssize_t)b.len, "write %s", dest);
    close(fd);
    cr_assert(chmod(dest, mode) == 0 && chown(dest, c->uid, c->gid) == 0);
    free(b.data);
}

/* mkdir -p of the directories leading to path, owned by c->who. */
static void make_parents(struct hx_ctx *c, const char *path)
{
    char *copy = strdup(path);
    for (char *p = strchr(copy + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(copy, 0755) == 0)
            cr_assert(chown(copy, c->uid, c->gid) == 0);
        *p = '/';
    }
    free(copy);
}

/* The program interpreter (PT_INTERP) of an ELF64 file; NULL when it has
 * none (a static binary).  Caller frees. */
static char *interp_of(const char *path)
{
    struct blob b = read_blob(path);
    char *found = NULL;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b.data;
    cr_assert(b.len > sizeof(*eh) && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
                  eh->e_ident[EI_CLASS] == ELFCLASS64,
              "%s is not a 64-bit ELF file", path);
    for (size_t i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)(b.data + eh->e_phoff + i * eh->e_phentsize);
        if (ph->p_type == PT_INTERP && ph->p_offset + ph->p_filesz <= b.len)
            found = strndup(b.data + ph->p_offset, ph->p_filesz);
    }
    free(b.data);
    return found;
}

/* The freestanding interpreter built next to mdrun (exe-interp.c). */
static char *exe_interp_helper(void)
{
    char *bin = strdup(hx_mdrun_bin());
    char *path = fx_fmt("%s/tests/integration/exe-interp", dirname(bin));
    free(bin);
    cr_assert(access(path, X_OK) == 0, "%s is not built (make check builds it)", path);
    return path;
}

/* `BIN --root c->root ARGS...` as c->who, BIN being any mdrun binary. */
static struct fx_result mdrun_with(struct hx_ctx *c, const char *bin, const char *const *env,
                                   const char *const *args)
{
    const char *argv[16] = {bin, "--root", c->root};
    size_t n = 3;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    struct hx_cmd cmd = {.env = env};
    return hx_run(c, &cmd, argv);
}

static pid_t container_pid(struct hx_ctx *c, const char *id)
{
    int pid = 0;
    char *why = NULL;
    char *status = ct_status(c, id, &pid, &why);
    cr_assert(status && pid > 0, "state %s: %s", id, why);
    free(status);
    return (pid_t)pid;
}

/* ------------------------------------------------- the runtime binary */

TestSuite(protect);

/* What the created container's init (mdrun's code, waiting for `start`)
 * runs from, for c->who running bin: its /proc/PID/exe target in link, fd
 * open on it in *fd; its comm must be bin's name, as ps shows it. */
static pid_t created_init(struct hx_ctx *c, const char *bin, const char *id, char *link,
                          size_t size, int *fd)
{
    const char *b = ct_bundle(c, 0);
    hx_bundle_set_args(b, "true", NULL);
    struct fx_result r =
        mdrun_with(c, bin, NULL, (const char *const[]){"create", "--bundle", b, id, NULL});
    ct_expect_ok(&r, "create");
    fx_result_free(&r);
    ct_track(c, id);
    pid_t pid = container_pid(c, id);
    char *exe = fx_fmt("/proc/%d/exe", (int)pid);
    ssize_t n = readlink(exe, link, size - 1);
    cr_assert(n > 0, "readlink %s: %s", exe, strerror(errno));
    link[n] = '\0';
    *fd = open(exe, O_RDONLY | O_CLOEXEC);
    cr_assert(*fd >= 0, "open %s: %s", exe, strerror(errno));
    char *comm_path = fx_fmt("/proc/%d/comm", (int)pid);
    char *comm = ct_read(comm_path);
    const char *slash = strrchr(bin, '/');
    char *want = fx_fmt("%s\n", slash ? slash + 1 : bin);
    cr_expect(comm && strcmp(comm, want) == 0, "comm: %s, want %s", comm, want);
    free(want);
    free(comm);
    free(comm_path);
    free(exe);
    return pid;
}

/* A copy of mdrun in c->dir, owned by owner (root or c->who), 0755. */
static char *mdrun_copy(struct hx_ctx *c, uid_t owner, gid_t group)
{
    char *copy = fx_fmt("%s/mdrun-copy", c->dir);
    copy_to(c, hx_mdrun_bin(), copy, 0755);
    cr_assert(chown(copy, owner, group) == 0 && chmod(copy, 0755) == 0);
    return copy;
}

/* Root's container process runs mdrun's code, from the host's file, until
 * its last execve (through the exec step, exec-step.h); meanwhile it is
 * not dumpable: a process with every capability but CAP_SYS_PTRACE (more
 * than a container's) cannot open its /proc/PID/exe.  Dumpable, the
 * created init (holding the container's capabilities by then) would let
 * it.  No second execve of mdrun: comm is the binary's name as it is. */
Test(protect, root_init_is_not_dumpable)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    char *copy = mdrun_copy(c, 0, 0);
    char *id = hx_id("nodump");
    char link[512];
    int fd;
    pid_t pid = created_init(c, copy, id, link, sizeof(link), &fd);
    close(fd);
    char *real = realpath(copy, NULL);
    cr_expect(real && strcmp(link, real) == 0, "the init runs from %s, not %s", link, real);
    char *exe = fx_fmt("/proc/%d/exe", (int)pid);
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2];
        if (prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0) < 0 ||
            syscall(SYS_capget, &head, data) < 0)
            _exit(3);
        data[0].effective &= ~(1u << CAP_SYS_PTRACE);
        data[0].permitted &= ~(1u << CAP_SYS_PTRACE);
        data[0].inheritable &= ~(1u << CAP_SYS_PTRACE);
        if (syscall(SYS_capset, &head, data) < 0)
            _exit(3);
        int path = open(exe, O_PATH | O_CLOEXEC);
        _exit(path < 0 && errno == EACCES ? 0 : path >= 0 ? 1 : 2);
    }
    int status = 0;
    cr_assert(waitpid(child, &status, 0) == child);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "without CAP_SYS_PTRACE, open %s: %s",
              exe,
              WEXITSTATUS(status) == 1   ? "opened"
              : WEXITSTATUS(status) == 3 ? "(could not drop CAP_SYS_PTRACE)"
                                         : "refused, but not with EACCES");
    ct_delete(c, id);
    hx_assert_clean(c);
    free(exe);
    free(real);
    free(id);
    free(copy);
}

/* A user running a binary of its own (its containers' root is that user)
 * runs from a sealed memfd copy, which no one can change. */
Test(protect, own_binary_runs_from_a_sealed_copy)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *copy = mdrun_copy(c, c->uid, c->gid);
    char *id = hx_id("sealed");
    char link[512];
    int fd;
    pid_t pid = created_init(c, copy, id, link, sizeof(link), &fd);
    cr_expect(strncmp(link, "/memfd:mdrun", 12) == 0, "the init runs from %s", link);
    int want = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    int seals = fcntl(fd, F_GET_SEALS);
    cr_expect(seals >= 0 && (seals & want) == want, "seals %#x, want %#x", seals, want);
    close(fd);
    /* Even root cannot change a byte of it. */
    char *exe = fx_fmt("/proc/%d/exe", (int)pid);
    fd = open(exe, O_WRONLY | O_CLOEXEC);
    cr_expect(fd < 0 || write(fd, "x", 1) < 0, "wrote into the init's binary");
    if (fd >= 0)
        close(fd);
    ct_delete(c, id);
    hx_assert_clean(c);
    free(exe);
    free(id);
    free(copy);
}

/* A user running a binary only root may write needs no protection: it
 * runs from the file itself, with no second execve. */
Test(protect, root_owned_binary_runs_as_is_for_a_user)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *copy = mdrun_copy(c, 0, 0);
    char *id = hx_id("asis");
    char link[512];
    int fd;
    created_init(c, copy, id, link, sizeof(link), &fd);
    close(fd);
    char *real = realpath(copy, NULL);
    cr_expect(real && strcmp(link, real) == 0, "the init runs from %s, not %s", link, real);
    ct_delete(c, id);
    hx_assert_clean(c);
    free(real);
    free(id);
    free(copy);
}

/* Root's file, but its group may write it (and the user's containers may
 * hold that group): protected by the sealed copy all the same. */
Test(protect, group_writable_binary_runs_from_a_sealed_copy)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *copy = mdrun_copy(c, 0, c->gid);
    cr_assert(chmod(copy, 0775) == 0);
    char *id = hx_id("group");
    char link[512];
    int fd;
    created_init(c, copy, id, link, sizeof(link), &fd);
    close(fd);
    cr_expect(strncmp(link, "/memfd:mdrun", 12) == 0, "the init runs from %s", link);
    ct_delete(c, id);
    hx_assert_clean(c);
    free(id);
    free(copy);
}

/* The hostile image of CVE-2019-5736 in bundle b: exe-interp at the path
 * of mdrun's program interpreter, and /attack/sh a symlink to
 * /proc/self/exe, owned by c's user.  The config runs /attack/sh -c
 * script, with /shared (returned, the host's side) shared. */
static char *hostile_image(struct hx_ctx *c, const char *b, const char *script)
{
    char *interp = interp_of(hx_mdrun_bin());
    if (!interp)
        hx_skip("%s is static: there is no interpreter to run the attack through", hx_mdrun_bin());
    char *helper = exe_interp_helper();
    char *interp_path = fx_fmt("%s/rootfs%s", b, interp);
    make_parents(c, interp_path);
    copy_to(c, helper, interp_path, 0755);
    char *attack = fx_fmt("%s/rootfs/attack/sh", b);
    make_parents(c, attack);
    cr_assert(symlink("/proc/self/exe", attack) == 0 && lchown(attack, c->uid, c->gid) == 0);
    md_spec *s = hx_spec_load(b);
    char *shared = ct_shared_dir(c, s, "shared");
    hx_spec_set_args(s, "/attack/sh", "-c", script, NULL);
    s->process->terminal = false;
    hx_spec_save(b, s);
    md_spec_free(s);
    free(attack);
    free(interp_path);
    free(helper);
    free(interp);
    return shared;
}

/* CVE-2019-5736: the image's entrypoint is a symlink to /proc/self/exe,
 * so the kernel executes the runtime's binary in the container, with the
 * image's exe-interp as its program interpreter.  That code keeps an fd
 * on /proc/self/exe and, once `create` and `start` have exited (no one
 * executes the file any more), tries to write through it.  The test runs
 * a private copy of mdrun owned by owner (0: root), so that a regression
 * damages only the copy.  reaches_host: whether /proc/self/exe must lead
 * to the copy itself (mdrun did not re-execute); refused: the error a
 * refused open may show. */
static void attack(enum hx_who who, bool root_owned, bool reaches_host, const char *refused)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    char *shared = hostile_image(c, b,
                                 "echo exe=$(readlink /proc/self/fd/3) > /shared/exe; i=0; "
                                 "while [ $i -lt 40 ]; do "
                                 "if printf PWNED >> /proc/self/fd/3; then echo write=ok > "
                                 "/shared/result; exit 0; fi; i=$((i+1)); sleep 0.05; done "
                                 "2>/shared/errors; echo write=refused > /shared/result");

    char *copy = root_owned ? mdrun_copy(c, 0, 0) : mdrun_copy(c, c->uid, c->gid);
    char *real = realpath(copy, NULL);
    struct blob before = read_blob(copy);
    char *id = hx_id("exe");
    struct fx_result r =
        mdrun_with(c, copy, NULL, (const char *const[]){"create", "--bundle", b, id, NULL});
    ct_expect_ok(&r, "create");
    fx_result_free(&r);
    ct_track(c, id);
    r = mdrun_with(c, copy, NULL, (const char *const[]){"start", id, NULL});
    ct_expect_ok(&r, "start");
    fx_result_free(&r);

    char *result_path = fx_fmt("%s/result", shared);
    char *result = ct_wait_file(result_path, 30);
    char *errors_path = fx_fmt("%s/errors", shared), *exe_path = fx_fmt("%s/exe", shared);
    char *errors = ct_read(errors_path), *exe = ct_read(exe_path);
    /* The copy itself, or anything but that. */
    char *host = fx_fmt("exe=%s\n", real);
    if (reaches_host)
        cr_expect(exe && strcmp(exe, host) == 0, "the container reached %s, want %s", exe, host);
    else
        cr_expect(exe && strncmp(exe, "exe=", 4) == 0 && strcmp(exe, host) != 0,
                  "the container reached the host's binary: %s", exe);
    cr_expect(result && strcmp(result, "write=refused\n") == 0,
              "the container wrote into the runtime's binary: %s", result);
    /* busybox's printf fails silently when write(2) does; a message is
     * there only when the shell could not even open the file. */
    cr_expect(!errors || !*errors || strstr(errors, refused) || strstr(errors, "busy"),
              "refused for another reason than %s: %s", refused, errors);
    struct blob after = read_blob(copy);
    cr_expect(same_blob(&before, &after), "the mdrun binary on the host changed");
    ct_delete(c, id);
    hx_assert_clean(c);
    free(after.data);
    free(before.data);
    free(host);
    free(errors);
    free(exe);
    free(errors_path);
    free(exe_path);
    free(result);
    free(result_path);
    free(id);
    free(real);
    free(copy);
    free(shared);
}

/* Root: the entrypoint leads to the exec step, a sealed copy that runs
 * only when mdrun starts it: no code of the image runs at all (its
 * interpreter would write /shared/exe), the container exits with 126 and
 * says why, and the host's binary is untouched. */
Test(protect, exe_entrypoint_reaches_only_the_exec_step_root)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *b = ct_bundle(c, 0);
    char *shared = hostile_image(c, b, "echo ran > /shared/exe");

    char *copy = mdrun_copy(c, 0, 0);
    struct blob before = read_blob(copy);
    char *id = hx_id("step");
    struct fx_result r =
        mdrun_with(c, copy, NULL, (const char *const[]){"run", "--bundle", b, id, NULL});
    cr_expect_eq(r.status, 126, "run: status %d, stderr: %s", r.status, r.err);
    cr_expect(r.err && strstr(r.err, "mdrun-exec-step: runs only as mdrun's last step"),
              "stderr: %s", r.err);
    fx_result_free(&r);
    char *exe_path = fx_fmt("%s/exe", shared);
    cr_expect(access(exe_path, F_OK) < 0, "the image's code ran");
    struct blob after = read_blob(copy);
    cr_expect(same_blob(&before, &after), "the mdrun binary on the host changed");
    hx_assert_clean(c);
    free(after.data);
    free(before.data);
    free(exe_path);
    free(id);
    free(copy);
    free(shared);
}

/* A user's own binary: the sealed copy refuses it. */
Test(protect, exe_entrypoint_cannot_write_the_runtime_user)
{
    attack(HX_USER, false, false, "Operation not permitted");
}

/* A user, a binary only root may write: the container reaches the host's
 * file, and its ids may not write it. */
Test(protect, exe_entrypoint_cannot_write_a_root_owned_runtime_user)
{
    attack(HX_USER, true, true, "Permission denied");
}

/* Set namespace type of s to path (NULL: a new one). */
static void ns_path(md_spec *s, const char *type, const char *path)
{
    md_linux *l = ct_linux(s);
    for (size_t i = 0; i < l->n_namespaces; i++)
        if (strcmp(l->namespaces[i].type, type) == 0) {
            free(l->namespaces[i].path);
            l->namespaces[i].path = path ? strdup(path) : NULL;
            return;
        }
    cr_assert_fail("no %s namespace in the config", type);
}

/* A container (the watcher) looks in its pid namespace for a process
 * named mdrun: the init of a second container that joins that namespace,
 * waiting for `start` as mdrun's code.  It must not be able to open that
 * process's /proc/PID/exe, for reading or writing. */
CT_BOTH(protect, joined_pid_namespace_cannot_open_the_runtime)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *wb = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(wb);
    char *shared = ct_shared_dir(c, s, "shared");
    hx_spec_set_args(s, "sh", "-c",
                     "probe() { head -c 4 $1/exe > /dev/null && echo read=ok || echo read=refused; "
                     "(: >> $1/exe) && echo write=ok || echo write=refused; }; i=0; "
                     "while [ $i -lt 600 ]; do for d in /proc/[0-9]*; do "
                     "if [ \"$(cat $d/comm 2>/dev/null)\" = mdrun ]; then "
                     "probe $d > /shared/probe 2> /shared/errors; mv /shared/probe /shared/result; "
                     "exec sleep 600; fi; done; i=$((i+1)); sleep 0.05; done; "
                     "echo none > /shared/result; exec sleep 600",
                     NULL);
    s->process->terminal = false;
    hx_spec_save(wb, s);
    md_spec_free(s);
    char *watcher = hx_id("watcher");
    struct fx_result r = hx_mdrun(c, NULL, "run", "--detach", "--bundle", wb, watcher, NULL);
    ct_expect_ok(&r, "run --detach");
    fx_result_free(&r);
    ct_track(c, watcher);
    pid_t wpid = container_pid(c, watcher);

    /* The joiner: the watcher's pid namespace (rootless: and its user
     * namespace, which owns it). */
    const char *jb = ct_bundle(c, 0);
    s = hx_spec_load(jb);
    char *pidns = fx_fmt("/proc/%d/ns/pid", (int)wpid);
    ns_path(s, "pid", pidns);
    if (who == HX_USER) {
        char *userns = fx_fmt("/proc/%d/ns/user", (int)wpid);
        ns_path(s, "user", userns);
        md_linux *l = ct_linux(s);
        free(l->uid_mappings);
        free(l->gid_mappings);
        l->uid_mappings = l->gid_mappings = NULL;
        l->n_uid_mappings = l->n_gid_mappings = 0;
        free(userns);
    }
    hx_spec_set_args(s, "true", NULL);
    s->process->terminal = false;
    hx_spec_save(jb, s);
    md_spec_free(s);
    char *joiner = hx_id("joiner");
    ct_create(c, jb, joiner);

    char *result_path = fx_fmt("%s/result", shared);
    char *result = ct_wait_file(result_path, 30);
    char *errors_path = fx_fmt("%s/errors", shared);
    char *errors = ct_read(errors_path);
    cr_expect(result && strstr(result, "read=refused\n") && strstr(result, "write=refused\n"),
              "the watcher reached the joining runtime's binary: %s (%s)", result, errors);
    ct_delete(c, joiner);
    ct_delete(c, watcher);
    hx_assert_clean(c);
    free(errors);
    free(errors_path);
    free(result);
    free(result_path);
    free(joiner);
    free(pidns);
    free(watcher);
    free(shared);
}

/* ---------------------------------------------------------------- fds */

TestSuite(host_fds);

/* The fds of a program the container's shell starts (ls, which inherits
 * what the shell had), as `ls -l` lines, written to /shared/fds whole: the
 * shell's own loops and substitutions would open fds of their own. */
#define LIST_FDS "ls -l /proc/self/fd/ > /shared/fds.tmp; mv /shared/fds.tmp /shared/fds"

/* ls's own fd on the directory it lists: "/proc/PID/fd". */
static bool is_ls_dir(const char *target, size_t len)
{
    size_t digits = len > 9 ? strspn(target + 6, "0123456789") : 0;
    return strncmp(target, "/proc/", 6) == 0 && digits > 0 && len == 6 + digits + 3 &&
           strncmp(target + 6 + digits, "/fd", 3) == 0;
}

static void expect_std_fds_only(const char *text, const char *how)
{
    cr_assert(text, "%s: the container wrote no list", how);
    size_t n = 0;
    for (const char *line = text; *line;
         line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
        size_t len = strcspn(line, "\n");
        const char *arrow = strstr(line, " -> ");
        if (!arrow || arrow > line + len)
            continue; /* "total 0" */
        const char *target = arrow + 4;
        if (is_ls_dir(target, (size_t)(line + len - target)))
            continue;
        const char *fd = arrow;
        while (fd > line && fd[-1] != ' ')
            fd--;
        cr_expect(arrow - fd == 1 && *fd >= '0' && *fd <= '2', "%s: the program has fd %.*s", how,
                  (int)(line + len - fd), fd);
        n++;
    }
    cr_expect_eq(n, 3, "%s: want fds 0, 1 and 2:\n%s", how, text);
}

/* CVE-2024-21626 leaked a directory fd of the host: with directories of
 * the host open in mdrun's caller at 3..9, the program has 0, 1 and 2
 * only, through run and through create + start. */
CT_BOTH(host_fds, host_directories_never_reach_the_program)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    char *shared = ct_shared_dir(c, s, "shared");
    hx_spec_set_args(s, "sh", "-c", LIST_FDS, NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    char *fds = fx_fmt("%s/fds", shared);
    const char *open_dirs = "exec 3</ 4</tmp 5</proc 6</ 7</sys/fs/cgroup 8</ 9</";

    char *id = hx_id("dirs");
    char *w = fx_fmt("%s; exec %s --root %s run --bundle %s %s", open_dirs, hx_mdrun_bin(), c->root,
                     b, id);
    struct fx_result r = hx_run(c, NULL, (const char *const[]){"sh", "-c", w, NULL});
    ct_expect_ok(&r, "run");
    fx_result_free(&r);
    char *text = ct_read(fds);
    expect_std_fds_only(text, "run");
    free(text);
    unlink(fds);

    char *id2 = hx_id("dirs2");
    char *w2 = fx_fmt("%s; exec %s --root %s create --bundle %s %s", open_dirs, hx_mdrun_bin(),
                      c->root, b, id2);
    r = hx_run(c, NULL, (const char *const[]){"sh", "-c", w2, NULL});
    ct_expect_ok(&r, "create");
    fx_result_free(&r);
    ct_track(c, id2);
    char *w3 = fx_fmt("%s; exec %s --root %s start %s", open_dirs, hx_mdrun_bin(), c->root, id2);
    r = hx_run(c, NULL, (const char *const[]){"sh", "-c", w3, NULL});
    ct_expect_ok(&r, "start");
    fx_result_free(&r);
    text = ct_wait_file(fds, 10);
    expect_std_fds_only(text, "create + start");
    free(text);
    ct_delete(c, id2);
    hx_assert_clean(c);
    free(w);
    free(w2);
    free(w3);
    free(id);
    free(id2);
    free(fds);
    free(shared);
}

/* A process.cwd through a /proc magic link would be a directory of the
 * host (the fds mdrun's caller left open are directories here): refused
 * by name, before the program runs, leaving nothing behind. */
FOUR(host_fds, cwd_through_proc_magic_links_is_refused)
{
    static const char *const cwds[] = {
        "/proc/self/fd/3", "/proc/self/fd/4",  "/proc/self/fd/5",         "/proc/self/fd/6",
        "/proc/self/fd/7", "/proc/self/fd/8",  "/proc/self/fd/9",         "/proc/self/cwd",
        "/proc/self/root", "/proc/1/cwd/proc", "/proc/thread-self/fd/7/",
    };
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    struct hx_cmd cmd = {.env = fb ? fallback_env : NULL};
    for (size_t i = 0; i < sizeof(cwds) / sizeof(cwds[0]); i++) {
        md_spec *s = hx_spec_load(b);
        free(s->process->cwd);
        s->process->cwd = strdup(cwds[i]);
        hx_spec_set_args(s, "sh", "-c", "echo ran in $(pwd)", NULL);
        hx_spec_save(b, s);
        md_spec_free(s);
        char *id = hx_id("cwd");
        char *w =
            fx_fmt("exec 3</ 4</ 5</tmp 6</ 7</ 8</ 9</; exec %s --root %s run --bundle %s %s",
                   hx_mdrun_bin(), c->root, b, id);
        struct fx_result r = hx_run(c, &cmd, (const char *const[]){"sh", "-c", w, NULL});
        char *what = fx_fmt("process.cwd %s", cwds[i]);
        cr_expect_eq(r.status, 1, "%s: exit %d; stdout %s; stderr %s", what, r.status, r.out,
                     r.err);
        cr_expect(!strstr(r.out, "ran"), "%s: the program ran: %s", what, r.out);
        cr_expect(strstr(r.err, what), "the error does not name %s: %s", what, r.err);
        cr_expect_eq(fx_count_lines(r.err), 1, "want one line: %s", r.err);
        cr_expect(!hx_state_exists(c, id), "%s: the container was left behind", what);
        ct_undo_create(c, &r, id);
        fx_result_free(&r);
        free(what);
        free(w);
        free(id);
    }
    hx_assert_clean(c);
}
