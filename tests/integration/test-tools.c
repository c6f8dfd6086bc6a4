/* test-tools.c - bundles made by other tools run unchanged: what `umoci
 * unpack --rootless` writes for an image (uid/gid mappings, a terminal,
 * ambient capabilities, read-only /sys and /etc/resolv.conf binds), what
 * `runc spec --rootless` and `runc spec` write, and the umoci config kept
 * in tests/fixtures.  Each config asks for a terminal, so `mdrun run` is
 * driven under a pty (script(1)) and an interactive shell in the container
 * is fed a probe on its terminal. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

/* What the shell in the container prints.  The terminal echoes the input
 * back, so each answer is built at run time ("U=$(id -u)" shows as typed,
 * "U=0" only as an answer) and the checks cannot match the echo. */
#define PROBE                                                                \
    "echo \"U=$(id -u) G=$(id -g)\"; echo \"HOST=$(hostname)\"; "            \
    "echo \"MAP=$(awk '{print $1\":\"$2\":\"$3}' /proc/self/uid_map)\"; "    \
    "grep -E '^Cap(Prm|Amb)' /proc/self/status | tr -d '\\t' | sed s/^/X/; " \
    "awk '$2==\"/sys\"{print \"SYS=\" substr($4,1,3)}' /proc/mounts; "       \
    "awk '$2==\"/etc/resolv.conf\"{print \"RESOLV=\" substr($4,1,3)}' "      \
    "/proc/mounts; "                                                         \
    "echo \"OWN=$(stat -c %u /bin/busybox)\"; "                              \
    "[ -t 0 ] && [ -t 1 ] && echo \"TTY=$((1 + 1))\"; exit 3\n"

/* CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE: what both tools grant. */
#define TOOL_CAPS "0000000020000420"

/* Skip unless program is installed (in PATH or an sbin directory). */
static void require_tool(const char *program, const char *package)
{
    const char *path = getenv("PATH");
    char *dirs = fx_fmt("%s:/usr/local/sbin:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
    bool found = false;
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char *p = fx_fmt("%s/%s", d, program);
        found = access(p, X_OK) == 0;
        free(p);
    }
    free(dirs);
    if (!found)
        hx_skip("%s is not installed (apt-get install %s)", program, package);
}

/* Run argv as c->who in cwd; it must succeed. */
static void tool(struct hx_ctx *c, const char *cwd, const char *const argv[])
{
    struct fx_result r = hx_run(c, &(struct hx_cmd){.cwd = cwd, .timeout = 120}, argv);
    cr_assert_eq(r.status, 0, "%s %s: exit %d: %s%s", argv[0], argv[1], r.status, r.out, r.err);
    fx_result_free(&r);
}

/* `mdrun run` the bundle as it is, in the foreground on a pseudo-terminal
 * that script(1) makes, with the probe typed on it.  Returns what the
 * terminal showed; the container's exit status must be the probe's 3. */
static char *run_on_pty(struct hx_ctx *c, const char *bundle)
{
    char *id = hx_id("tool");
    char *line = fx_fmt("'%s' --root '%s' run '%s'", hx_mdrun_bin(), c->root, id);
    const char *argv[] = {"script", "-qec", line, "/dev/null", NULL};
    struct fx_result r =
        hx_run(c, &(struct hx_cmd){.cwd = bundle, .input = PROBE, .timeout = 60}, argv);
    /* script(1) gives mdrun a session of its own: on a timeout mdrun may
     * outlive it, and the container with it. */
    if (hx_state_exists(c, id)) {
        struct fx_result d = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
        fx_result_free(&d);
    }
    cr_expect_eq(r.status, 3, "mdrun run on a terminal: exit %d: %s%s", r.status, r.out, r.err);
    char *out = r.out;
    r.out = NULL;
    fx_result_free(&r);
    hx_assert_clean(c);
    free(line);
    free(id);
    return out;
}

static void expect_shown(const char *out, const char *answer)
{
    cr_expect(strstr(out, answer), "the container did not answer %s; the terminal showed:\n%s",
              answer, out);
}

/* What every one of these bundles gives its process: root of the
 * container, owning the image's files, on a terminal, with /sys read-only
 * and the capabilities the tool asked for, exactly as runc grants them. */
static void expect_common(struct hx_ctx *c, const char *out, const char *ambient)
{
    expect_shown(out, "U=0 G=0");
    expect_shown(out, "OWN=0");
    expect_shown(out, "TTY=2");
    expect_shown(out, "SYS=ro,");
    expect_shown(out, "XCapPrm:" TOOL_CAPS);
    char *amb = fx_fmt("XCapAmb:%s", ambient);
    expect_shown(out, amb);
    free(amb);
    char *map = fx_fmt("MAP=0:%u:1", (unsigned)c->uid);
    if (c->who == HX_ROOT)
        map = (free(map), fx_fmt("MAP=0:0:4294967295"));
    expect_shown(out, map);
    free(map);
}

/* ------------------------------------------------------------------ umoci */

TestSuite(umoci);

/* An OCI image layout in c->home holding busybox:sh, made with umoci's own
 * commands as c->who: a new image, a copy of the harness's busybox rootfs
 * inserted as one layer (--rootless for the user: its files become
 * root's), `sh` as its command.  Returns "layout:tag". */
static char *busybox_image(struct hx_ctx *c)
{
    char *layout = fx_fmt("%s/oci", c->home);
    char *image = fx_fmt("%s:busybox", layout);
    const char *files = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    char *rootfs = hx_bundle_file(files, "rootfs");
    tool(c, c->home, (const char *const[]){"umoci", "init", "--layout", layout, NULL});
    tool(c, c->home, (const char *const[]){"umoci", "new", "--image", image, NULL});
    if (c->who == HX_USER)
        tool(c, c->home,
             (const char *const[]){"umoci", "insert", "--rootless", "--image", image, rootfs, "/",
                                   NULL});
    else
        tool(c, c->home,
             (const char *const[]){"umoci", "insert", "--image", image, rootfs, "/", NULL});
    tool(c, c->home,
         (const char *const[]){"umoci", "config", "--image", image, "--config.cmd", "sh", NULL});
    free(rootfs);
    free(layout);
    return image;
}

/* umoci unpacks it as c->who: --rootless for the user. */
static char *umoci_bundle(struct hx_ctx *c)
{
    char *image = busybox_image(c);
    char *bundle = fx_fmt("%s/bundle", c->home);
    if (c->who == HX_USER)
        tool(
            c, c->home,
            (const char *const[]){"umoci", "unpack", "--rootless", "--image", image, bundle, NULL});
    else
        tool(c, c->home, (const char *const[]){"umoci", "unpack", "--image", image, bundle, NULL});
    free(image);
    return bundle;
}

CT_BOTH(umoci, unpacked_bundle_runs_unchanged)
{
    require_tool("umoci", "umoci");
    require_tool("script", "bsdutils");
    struct hx_ctx *c = hx_ctx_new(who);
    char *bundle = umoci_bundle(c);
    /* The shape of the config is what this test is about: make sure umoci
     * still writes it. */
    char *config = fx_fmt("%s/config.json", bundle);
    char *text = ct_read(config);
    cr_assert(text, "umoci wrote no %s", config);
    cr_assert(strstr(text, "\"terminal\": true") && strstr(text, "\"ambient\""),
              "umoci's config has no terminal or ambient capabilities:\n%s", text);
    if (who == HX_USER)
        cr_assert(strstr(text, "\"uidMappings\"") && strstr(text, "/etc/resolv.conf"),
                  "umoci's rootless config has no mappings or resolv.conf bind:\n%s", text);

    char *out = run_on_pty(c, bundle);
    expect_common(c, out, TOOL_CAPS);
    expect_shown(out, "HOST=umoci-default");
    if (who == HX_USER)
        expect_shown(out, "RESOLV=ro,");
    free(out);
    free(text);
    free(config);
    free(bundle);
}

/* The config umoci wrote for an httpd image (tests/fixtures), with only its
 * mappings pointed at the caller and its command, httpd-foreground, a
 * script in the busybox rootfs. */
Test(umoci, httpd_fixture_runs_rootless)
{
    require_tool("script", "bsdutils");
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    char *text = fx_read("umoci-rootless-httpd.json", NULL);
    char *mine = fx_fmt("\"hostID\": %u,", (unsigned)c->uid);
    for (char *p; (p = strstr(text, "\"hostID\": 1000,"));) {
        char *next =
            fx_fmt("%.*s%s%s", (int)(p - text), text, mine, p + strlen("\"hostID\": 1000,"));
        free(text);
        text = next;
    }
    char *config = hx_bundle_file(bundle, "config.json");
    fx_write(config, text);
    cr_assert(chown(config, c->uid, c->gid) == 0);

    char *bin = fx_fmt("%s/rootfs/usr/local/apache2/bin", bundle);
    char *mk = fx_fmt("mkdir -p '%s' && chown -R %u:%u '%s/rootfs/usr'", bin, (unsigned)c->uid,
                      (unsigned)c->gid, bundle);
    cr_assert_eq(system(mk), 0, "%s", mk);
    char *script = fx_fmt("%s/httpd-foreground", bin);
    fx_write(script, "#!/bin/sh\nexec sh\n");
    cr_assert(chmod(script, 0755) == 0 && chown(script, c->uid, c->gid) == 0);

    char *out = run_on_pty(c, bundle);
    expect_common(c, out, TOOL_CAPS);
    expect_shown(out, "HOST=umoci-default");
    expect_shown(out, "RESOLV=ro,");
    free(out);
    free(script);
    free(mk);
    free(bin);
    free(config);
    free(mine);
    free(text);
}

/* ------------------------------------------------------------- runc spec */

TestSuite(runc_spec);

/* `runc spec` (--rootless for the user) beside a copy of the rootfs. */
CT_BOTH(runc_spec, bundle_runs_unchanged)
{
    require_tool("runc", "runc");
    require_tool("script", "bsdutils");
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    if (who == HX_USER)
        tool(c, bundle, (const char *const[]){"runc", "spec", "--rootless", NULL});
    else
        tool(c, bundle, (const char *const[]){"runc", "spec", NULL});

    char *out = run_on_pty(c, bundle);
    /* runc's spec asks for ambient capabilities without inheritable ones,
     * which the kernel cannot grant: none, as under runc. */
    expect_common(c, out, "0000000000000000");
    expect_shown(out, "HOST=runc");
    free(out);
}

/* ------------------------------------------------------ containerd's shim */

TestSuite(shim);

/* containerd's runc shim runs `create` of a terminal container with its
 * output in a pipe and reads that to the end before it calls `start`:
 * the created container must not hold the pipe open.  (The shim itself is
 * tested in test-containerd.sh.) */
CT_BOTH(shim, terminal_create_lets_go_of_its_output)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    s->process->terminal = true;
    hx_spec_set_args(s, "sleep", "60", NULL);
    hx_spec_save(bundle, s);
    md_spec_free(s);
    char *sock = fx_fmt("%s/console.sock", c->home);
    int listener = ct_console_listen(c, sock);
    char *id = hx_id("shim");
    char *line = fx_fmt("'%s' --root '%s' create --bundle '%s' --console-socket '%s' '%s' 2>&1 | "
                        "cat; echo output-ended",
                        hx_mdrun_bin(), c->root, bundle, sock, id);
    const char *argv[] = {"sh", "-c", line, NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.timeout = 15}, argv);
    if (hx_state_exists(c, id))
        ct_track(c, id);
    cr_expect_eq(r.status, 0, "create | cat: exit %d (137: the pipe stayed open): %s%s", r.status,
                 r.out, r.err);
    cr_expect(strstr(r.out, "output-ended"), "create's output did not end: %s", r.out);
    char *status = ct_status(c, id, NULL, NULL);
    cr_expect(status && strcmp(status, "created") == 0, "status %s", status ? status : "(none)");
    ct_delete(c, id);
    hx_assert_clean(c);
    close(listener);
    free(status);
    fx_result_free(&r);
    free(line);
    free(id);
    free(sock);
}
