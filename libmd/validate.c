/* validate.c - every check of a config.json that needs no system call: the
 * walk and its path helpers, the platform-neutral parts (version, root,
 * mounts, process, hostname, hooks, annotations) and loading a bundle.
 * The linux object is checked in validate-linux.c, its resources in
 * validate-resources.c. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "validate.h"

/* ------------------------------------------------------------------ paths */

static size_t vpath_push(struct md_vctx *v, const char *fmt, ...) MD_PRINTF(2, 3);

static size_t vpath_push(struct md_vctx *v, const char *fmt, ...)
{
    size_t saved = v->len;
    size_t room = sizeof(v->path) - v->len;
    if (room > 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(v->path + v->len, room, fmt, ap);
        va_end(ap);
        if (n > 0)
            v->len += (size_t)n < room ? (size_t)n : room - 1;
    }
    return saved;
}

size_t md_vpath_key(struct md_vctx *v, const char *key)
{
    if (!key[0])
        return v->len;
    return vpath_push(v, "%s%s", v->len ? "." : "", key);
}

size_t md_vpath_index(struct md_vctx *v, size_t i)
{
    return vpath_push(v, "[%zu]", i);
}

/* Spelled as json.c spells map keys, so both report the same path. */
size_t md_vpath_map(struct md_vctx *v, const char *key)
{
    return vpath_push(v, "[\"%.64s%s\"]", key, strlen(key) > 64 ? "..." : "");
}

void md_vpath_pop(struct md_vctx *v, size_t saved)
{
    v->len = saved;
    v->path[saved] = '\0';
}

static void vreport(struct md_vctx *v, const char *fmt, va_list ap)
{
    char *what = NULL;
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    md_errors_add(v->problems, "%s: %s: %s", v->name, v->len ? v->path : "(document)",
                  what ? what : "out of memory");
    free(what);
}

void md_vbad(struct md_vctx *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, fmt, ap);
    va_end(ap);
}

void md_vbad_at(struct md_vctx *v, const char *key, const char *fmt, ...)
{
    size_t saved = md_vpath_key(v, key);
    va_list ap;
    va_start(ap, fmt);
    vreport(v, fmt, ap);
    va_end(ap);
    md_vpath_pop(v, saved);
}

/* ---------------------------------------------------------- common checks */

const struct md_name *md_vname(struct md_vctx *v, const char *key,
                               const struct md_name_table *table, const char *value)
{
    if (!value)
        return NULL;
    const struct md_name *entry = md_name_find(table, value);
    if (!entry)
        md_vbad_at(v, key, "unknown %s \"%s\"", table->what, value);
    return entry;
}

void md_vnames(struct md_vctx *v, const char *key, const struct md_name_table *table,
               char *const *values, size_t n)
{
    size_t saved = md_vpath_key(v, key);
    for (size_t i = 0; i < n; i++) {
        if (!md_name_find(table, values[i])) {
            size_t item = md_vpath_index(v, i);
            md_vbad(v, "unknown %s \"%s\"", table->what, values[i]);
            md_vpath_pop(v, item);
        }
    }
    md_vpath_pop(v, saved);
}

void md_vabsolute(struct md_vctx *v, const char *key, const char *path)
{
    if (path && path[0] != '/')
        md_vbad_at(v, key, "\"%s\" is not an absolute path", path);
}

bool md_vhas_ns(const md_spec *spec, const char *type)
{
    const md_linux *l = spec->linux_;
    for (size_t i = 0; l && i < l->n_namespaces; i++)
        if (l->namespaces[i].type && strcmp(l->namespaces[i].type, type) == 0)
            return true;
    return false;
}

/* The kernel's largest CPU and NUMA node numbers stay below this. */
#define LIST_MAX 8192

/* Read one number of a list; NULL with *why set when there is none. */
static const char *list_number(const char *s, unsigned long *out, const char **why)
{
    if (*s < '0' || *s > '9') {
        *why = *s == ',' || *s == '\0' ? "empty entry" : "expected a number";
        return NULL;
    }
    unsigned long n = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        n = n * 10 + (unsigned long)(*s - '0');
        if (n >= LIST_MAX) {
            *why = "number too large";
            return NULL;
        }
    }
    *out = n;
    return s;
}

/* "0-3,7": comma-separated numbers and ascending ranges, blanks around
 * entries allowed (the schema's pattern allows them).  "" is valid. */
static const char *list_problem(const char *s)
{
    const char *why = NULL;
    if (!*s)
        return NULL;
    for (;;) {
        s += strspn(s, " ");
        unsigned long lo, hi;
        if (!(s = list_number(s, &lo, &why)))
            return why;
        hi = lo;
        if (*s == '-' && !(s = list_number(s + 1, &hi, &why)))
            return why;
        if (hi < lo)
            return "range ends below its start";
        s += strspn(s, " ");
        if (*s == '\0')
            return NULL;
        if (*s != ',')
            return "expected ',' or '-'";
        s++;
    }
}

void md_vlist(struct md_vctx *v, const char *key, const char *list)
{
    const char *why = list ? list_problem(list) : NULL;
    if (why)
        md_vbad_at(v, key, "\"%s\" is not a list like \"0-3,7\": %s", list, why);
}

/* ------------------------------------------------------------ the version */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

/* Dot-separated identifiers of [0-9A-Za-z-], up to the first char in stop;
 * numeric ones without leading zeros when strict.  Returns the end or NULL. */
static const char *semver_idents(const char *s, const char *stop, bool numeric_strict)
{
    for (;;) {
        size_t n = strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");
        if (n == 0)
            return NULL;
        if (numeric_strict && all_digits(s, n) && n > 1 && s[0] == '0')
            return NULL;
        s += n;
        if (*s != '.')
            return *s == '\0' || strchr(stop, *s) ? s : NULL;
        s++;
    }
}

/* SemVer 2.0.0: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].  Sets *major_one
 * when MAJOR is 1. */
static bool semver_ok(const char *s, bool *major_one)
{
    const char *p = s;
    for (int part = 0; part < 3; part++) {
        size_t n = strspn(p, "0123456789");
        if (n == 0 || (n > 1 && p[0] == '0'))
            return false;
        if (part == 0)
            *major_one = n == 1 && p[0] == '1';
        p += n;
        if (part < 2 && *p++ != '.')
            return false;
    }
    if (*p == '-' && !(p = semver_idents(p + 1, "+", true)))
        return false;
    if (*p == '+' && !(p = semver_idents(p + 1, "", false)))
        return false;
    return *p == '\0';
}

static void check_version(struct md_vctx *v, const char *version)
{
    bool major_one = false;
    if (!version)
        return;
    if (!semver_ok(version, &major_one))
        md_vbad_at(v, "ociVersion", "\"%s\" is not a SemVer 2.0.0 version like \"1.0.2\"", version);
    else if (!major_one)
        md_vbad_at(v, "ociVersion", "version \"%s\" is not supported: mdrun implements 1.x",
                   version);
}

static void check_root(struct md_vctx *v, const md_root *root)
{
    if (!root)
        md_vbad_at(v, "root", "required on linux");
    else if (root->path && !root->path[0])
        md_vbad_at(v, "root.path", "must not be empty");
}

/* ----------------------------------------------------------------- mounts */

static bool has_string(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static bool is_bind(const md_mount *m)
{
    return (m->type && strcmp(m->type, "bind") == 0) ||
           has_string(m->options, m->n_options, "bind") ||
           has_string(m->options, m->n_options, "rbind");
}

/* Several propagation options of different kinds contradict each other
 * (whichever is applied last would silently win). */
static void check_mount_options(struct md_vctx *v, const md_mount *m)
{
    const struct md_name *first = NULL;
    bool mapped = m->n_uid_mappings > 0 || m->n_gid_mappings > 0;
    size_t saved = md_vpath_key(v, "options");
    for (size_t i = 0; i < m->n_options; i++) {
        const char *opt = m->options[i];
        const struct md_name *prop = md_name_find(&md_propagation_names, opt);
        size_t item = md_vpath_index(v, i);
        if (prop && !first)
            first = prop;
        else if (prop && (prop->value & ~(uint64_t)MS_REC) != (first->value & ~(uint64_t)MS_REC))
            md_vbad(v, "propagation \"%s\" conflicts with \"%s\"", opt, first->name);
        if ((strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0) && !mapped &&
            !md_vhas_ns(v->spec, "user"))
            md_vbad(v, "\"%s\" needs uidMappings and gidMappings, or a user namespace", opt);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_mount(struct md_vctx *v, const md_mount *m)
{
    /* A relative destination is deprecated but allowed (read from "/"). */
    if (m->destination && !m->destination[0])
        md_vbad_at(v, "destination", "must not be empty");
    if (!m->source && is_bind(m))
        md_vbad_at(v, "source", "required for a bind mount");
    if (m->n_uid_mappings > 0 && m->n_gid_mappings == 0)
        md_vbad_at(v, "gidMappings", "required with uidMappings");
    if (m->n_gid_mappings > 0 && m->n_uid_mappings == 0)
        md_vbad_at(v, "uidMappings", "required with gidMappings");
    md_validate_idmaps(v, "uidMappings", m->uid_mappings, m->n_uid_mappings);
    md_validate_idmaps(v, "gidMappings", m->gid_mappings, m->n_gid_mappings);
    check_mount_options(v, m);
}

static void check_mounts(struct md_vctx *v, const md_mount *mounts, size_t n)
{
    size_t saved = md_vpath_key(v, "mounts");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        check_mount(v, &mounts[i]);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

/* ---------------------------------------------------------------- process */

static void check_env(struct md_vctx *v, char *const *env, size_t n)
{
    size_t saved = md_vpath_key(v, "env");
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq || eq == env[i]) {
            size_t item = md_vpath_index(v, i);
            md_vbad(v, "\"%s\" is not of the form NAME=value", env[i]);
            md_vpath_pop(v, item);
        }
    }
    md_vpath_pop(v, saved);
}

static void check_args(struct md_vctx *v, const md_process *p)
{
    if (p->n_args == 0)
        md_vbad_at(v, "args", "must have at least one entry");
    else if (!p->args[0][0])
        md_vbad_at(v, "args[0]", "must not be empty");
}

static void check_console_size(struct md_vctx *v, const md_console_size *cs)
{
    /* struct winsize holds unsigned shorts. */
    if (!cs)
        return;
    if (cs->height > 65535)
        md_vbad_at(v, "consoleSize.height", "must be at most 65535");
    if (cs->width > 65535)
        md_vbad_at(v, "consoleSize.width", "must be at most 65535");
}

/* A name of the form CAP_[A-Z0-9_]+ that this libcap does not know is not
 * an error: the spec asks runtimes to warn and go on for capabilities that
 * cannot be granted, and a newer kernel may know it.  Anything else is. */
static void check_cap_set(struct md_vctx *v, const char *key, char *const *caps, size_t n)
{
    static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    size_t saved = md_vpath_key(v, key);
    for (size_t i = 0; i < n; i++) {
        const char *c = caps[i];
        if (strncmp(c, "CAP_", 4) == 0 && c[4] && strspn(c + 4, upper) == strlen(c + 4))
            continue;
        size_t item = md_vpath_index(v, i);
        md_vbad(v,
                "invalid capability name \"%s\" (expected CAP_ and upper case, e.g. "
                "CAP_CHOWN)",
                c);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_capabilities(struct md_vctx *v, const md_capabilities *c)
{
    if (!c)
        return;
    size_t saved = md_vpath_key(v, "capabilities");
    check_cap_set(v, "bounding", c->bounding, c->n_bounding);
    check_cap_set(v, "effective", c->effective, c->n_effective);
    check_cap_set(v, "inheritable", c->inheritable, c->n_inheritable);
    check_cap_set(v, "permitted", c->permitted, c->n_permitted);
    check_cap_set(v, "ambient", c->ambient, c->n_ambient);
    md_vpath_pop(v, saved);
}

static void check_rlimit(struct md_vctx *v, const md_rlimit *r, size_t i, const md_rlimit *all)
{
    if (md_vname(v, "type", &md_rlimit_names, r->type)) {
        for (size_t j = 0; j < i; j++) {
            if (all[j].type && strcmp(all[j].type, r->type) == 0) {
                md_vbad_at(v, "type", "duplicate rlimit \"%s\" (first at index %zu)", r->type, j);
                break;
            }
        }
    }
    if (r->soft > r->hard)
        md_vbad_at(v, "soft", "%" PRIu64 " is above the hard limit %" PRIu64, r->soft, r->hard);
}

static void check_rlimits(struct md_vctx *v, const md_rlimit *rlimits, size_t n)
{
    size_t saved = md_vpath_key(v, "rlimits");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        check_rlimit(v, &rlimits[i], i, rlimits);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_io_priority(struct md_vctx *v, const md_io_priority *io)
{
    if (!io)
        return;
    size_t saved = md_vpath_key(v, "ioPriority");
    md_vname(v, "class", &md_ioprio_class_names, io->class_);
    if (io->priority < 0 || io->priority > 7)
        md_vbad_at(v, "priority", "must be from 0 to 7");
    md_vpath_pop(v, saved);
}

static bool is_policy(const char *policy, const char *name)
{
    return policy && strcmp(policy, name) == 0;
}

/* sched_setattr(2) refuses parameters that do not belong to the policy. */
static void check_sched_params(struct md_vctx *v, const md_scheduler *s)
{
    bool realtime = is_policy(s->policy, "SCHED_FIFO") || is_policy(s->policy, "SCHED_RR");
    if (realtime && (!s->has_priority || s->priority < 1 || s->priority > 99))
        md_vbad_at(v, "priority", "%s needs a priority from 1 to 99", s->policy);
    else if (!realtime && s->has_priority && s->priority != 0)
        md_vbad_at(v, "priority", "only SCHED_FIFO and SCHED_RR take a priority");

    bool deadline = is_policy(s->policy, "SCHED_DEADLINE");
    if (!deadline && ((s->has_runtime && s->runtime) || (s->has_deadline && s->deadline) ||
                      (s->has_period && s->period)))
        md_vbad(v, "only SCHED_DEADLINE takes runtime, deadline and period");
    if (deadline && s->runtime > s->deadline)
        md_vbad_at(v, "runtime", "must not exceed deadline");
    if (deadline && s->period && s->deadline > s->period)
        md_vbad_at(v, "deadline", "must not exceed period");
}

static void check_scheduler(struct md_vctx *v, const md_scheduler *s)
{
    if (!s)
        return;
    size_t saved = md_vpath_key(v, "scheduler");
    md_vname(v, "policy", &md_sched_policy_names, s->policy);
    md_vnames(v, "flags", &md_sched_flag_names, s->flags, s->n_flags);
    if (s->has_nice && (s->nice < -20 || s->nice > 19))
        md_vbad_at(v, "nice", "must be from -20 to 19");
    check_sched_params(v, s);
    md_vpath_pop(v, saved);
}

static void check_process_fields(struct md_vctx *v, const md_process *p)
{
    check_args(v, p);
    md_vabsolute(v, "cwd", p->cwd);
    check_env(v, p->env, p->n_env);
    check_console_size(v, p->console_size);
    check_capabilities(v, p->capabilities);
    check_rlimits(v, p->rlimits, p->n_rlimits);
    if (p->has_oom_score_adj && (p->oom_score_adj < -1000 || p->oom_score_adj > 1000))
        md_vbad_at(v, "oomScoreAdj", "must be from -1000 to 1000");
    check_io_priority(v, p->io_priority);
    check_scheduler(v, p->scheduler);
    if (p->exec_cpu_affinity) {
        md_vlist(v, "execCPUAffinity.initial", p->exec_cpu_affinity->initial);
        md_vlist(v, "execCPUAffinity.final", p->exec_cpu_affinity->final);
    }
}

static void check_process(struct md_vctx *v, const md_process *p)
{
    if (!p)
        return;
    size_t saved = md_vpath_key(v, "process");
    check_process_fields(v, p);
    md_vpath_pop(v, saved);
}

int md_process_validate(const md_process *p, const char *name, md_errors *problems)
{
    struct md_vctx v = {.name = name ? name : "process.json", .problems = problems};
    size_t before = problems->n + problems->dropped;
    check_process_fields(&v, p);
    return problems->n + problems->dropped == before ? 0 : -1;
}

/* ---------------------------------------------------- names, hooks, notes */

/* HOST_NAME_MAX; a NUL cannot get this far, the parser refuses \u0000. */
static void check_uts_name(struct md_vctx *v, const char *key, const char *value)
{
    if (!value || !value[0])
        return;
    if (!md_vhas_ns(v->spec, "uts"))
        md_vbad_at(v, key, "needs a uts namespace in linux.namespaces");
    if (strlen(value) > 64)
        md_vbad_at(v, key, "longer than 64 bytes");
    if (strchr(value, '/'))
        md_vbad_at(v, key, "must not contain '/'");
}

static void check_hook_list(struct md_vctx *v, const char *key, const md_hook *hooks, size_t n)
{
    size_t saved = md_vpath_key(v, key);
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        md_vabsolute(v, "path", hooks[i].path);
        check_env(v, hooks[i].env, hooks[i].n_env);
        if (hooks[i].has_timeout && hooks[i].timeout <= 0)
            md_vbad_at(v, "timeout", "must be greater than 0");
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_hooks(struct md_vctx *v, const md_hooks *h)
{
    if (!h)
        return;
    size_t saved = md_vpath_key(v, "hooks");
    check_hook_list(v, "prestart", h->prestart, h->n_prestart);
    check_hook_list(v, "createRuntime", h->create_runtime, h->n_create_runtime);
    check_hook_list(v, "createContainer", h->create_container, h->n_create_container);
    check_hook_list(v, "startContainer", h->start_container, h->n_start_container);
    check_hook_list(v, "poststart", h->poststart, h->n_poststart);
    check_hook_list(v, "poststop", h->poststop, h->n_poststop);
    md_vpath_pop(v, saved);
}

static void check_annotations(struct md_vctx *v, const md_kv *a, size_t n)
{
    size_t saved = md_vpath_key(v, "annotations");
    for (size_t i = 0; i < n; i++) {
        if (!a[i].key[0]) {
            size_t item = md_vpath_map(v, a[i].key);
            md_vbad(v, "key must not be empty");
            md_vpath_pop(v, item);
        }
    }
    md_vpath_pop(v, saved);
}

int md_spec_validate(const md_spec *spec, const char *name, md_errors *problems)
{
    struct md_vctx v = {.spec = spec, .name = name ? name : "config.json", .problems = problems};
    size_t before = problems->n + problems->dropped;
    check_version(&v, spec->oci_version);
    check_root(&v, spec->root);
    check_mounts(&v, spec->mounts, spec->n_mounts);
    check_process(&v, spec->process);
    check_uts_name(&v, "hostname", spec->hostname);
    check_uts_name(&v, "domainname", spec->domainname);
    check_hooks(&v, spec->hooks);
    check_annotations(&v, spec->annotations, spec->n_annotations);
    if (spec->linux_) {
        size_t saved = md_vpath_key(&v, "linux");
        md_validate_linux(&v, spec->linux_);
        md_vpath_pop(&v, saved);
    }
    return problems->n + problems->dropped == before ? 0 : -1;
}

/* ------------------------------------------------------------- the bundle */

static void check_rootfs(const char *bundle, const md_spec *spec, md_errors *problems)
{
    if (!spec->root || !spec->root->path || !spec->root->path[0])
        return;
    const char *path = spec->root->path;
    md_autofree char *joined = NULL;
    if (path[0] != '/') {
        if (asprintf(&joined, "%s/%s", bundle, path) < 0) {
            md_errors_add(problems, "config.json: root.path: out of memory");
            return;
        }
        path = joined;
    }
    struct stat st;
    if (stat(path, &st) < 0)
        md_errors_add(problems, "config.json: root.path: %s: %s", path, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        md_errors_add(problems, "config.json: root.path: %s: not a directory", path);
}

int md_bundle_load_text(const char *bundle_dir, md_spec **out, char **text, size_t *len,
                        md_errors *problems)
{
    const char *bundle = bundle_dir ? bundle_dir : ".";
    *out = NULL;
    md_autofree char *config = NULL;
    if (asprintf(&config, "%s/config.json", bundle) < 0)
        return md_errors_add(problems, "config.json: out of memory");
    md_spec *spec = NULL;
    md_autofree char *json = NULL;
    size_t n = 0;
    /* Type errors first: the checks below would only echo them. */
    if (md_spec_load_file_text(config, &spec, &json, &n, problems) < 0) {
        if (spec)
            md_spec_free(spec);
        return -1;
    }
    size_t before = problems->n + problems->dropped;
    md_spec_validate(spec, "config.json", problems);
    if (!spec->process)
        md_errors_add(problems, "config.json: process: required to run a container");
    check_rootfs(bundle, spec, problems);
    if (problems->n + problems->dropped != before) {
        md_spec_free(spec);
        return -1;
    }
    *out = spec;
    if (text) {
        *text = json;
        *len = n;
        json = NULL;
    }
    return 0;
}

int md_bundle_load(const char *bundle_dir, md_spec **out, md_errors *problems)
{
    return md_bundle_load_text(bundle_dir, out, NULL, NULL, problems);
}
