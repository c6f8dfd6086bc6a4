/* cgt.h - what the resource tests (test-resources.c on cgroup v1 and
 * hybrid hosts, test-resources-v2.c on cgroup v2) share on top of ct.h:
 * finding a container's cgroup from /proc/PID/cgroup, reading its files,
 * removing at exit whatever cgroup a failed test left, running
 * `mdrun events` in the background, and small /proc and JSON readers. */
#ifndef MD_TEST_CGT_H
#define MD_TEST_CGT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

#include "integration/ct.h"

#define CGT_ROOT "/sys/fs/cgroup"

/* The directory of pid's cgroup in the hierarchy that has controller ctrl
 * ("memory", "pids", ...; "" for the unified hierarchy: the cgroup2 mount,
 * CGT_ROOT itself on v2 and CGT_ROOT/unified on a hybrid host); NULL when
 * pid is in no such hierarchy (caller frees). */
char *cgt_dir(pid_t pid, const char *ctrl);
/* Every cgroup directory of pid, one per mounted hierarchy (NULL-terminated,
 * free with hx_strv_free). */
char **cgt_dirs_of(pid_t pid);
/* Where a cgroup path lands in every mounted hierarchy: an absolute path
 * as it is, a relative one under this process's own cgroup there (as
 * mdrun places relative and unset cgroupsPaths when run by this process).
 * NULL-terminated, free with hx_strv_free. */
char **cgt_dirs_for(const char *path);
/* Fail the test (expect) when a directory of cgt_dirs_for(path) exists. */
void cgt_expect_gone(const char *path);

/* dir/file without its trailing newlines, NULL when it cannot be read
 * (caller frees). */
char *cgt_read(const char *dir, const char *file);
/* Expect dir/file to hold want. */
void cgt_expect_file(const char *dir, const char *file, const char *want);

/* At exit: `mdrun delete --force id` in c's state root (when id is not
 * NULL), then kill what is left in the cgroup directories of
 * cgt_dirs_for(path) (path NULL: id) and remove them, deepest first; so a
 * failed test leaves no container and no cgroup.  Call it before the
 * container or the directory exists. */
void cgt_claim(struct hx_ctx *c, const char *id, const char *path);
/* Kill everything in dir and below it, and remove them (also what
 * cgt_claim does at exit). */
void cgt_remove_tree(const char *dir);

/* Replace linux.resources with the object in json (which must parse). */
void cgt_set_resources(md_spec *s, const char *json);
/* A ct_script_bundle() with linux.resources from json (NULL: as `mdrun
 * spec` wrote them).  The spec is saved; edit more with hx_spec_load. */
const char *cgt_bundle(struct hx_ctx *c, const char *json, const char *script, char **shared);
/* Add /dev/kmsg (c 1:11, mode 0644) to linux.devices of the bundle's
 * config, for the device rules to allow or deny. */
void cgt_add_kmsg(const char *bundle);
/* Claim id and path (cgt_claim), create and start the container, which
 * must then be running: its pid. */
int cgt_start(struct hx_ctx *c, const char *bundle, const char *id, const char *path);

/* Start `mdrun --root c->root ARGS...` (NULL-terminated) as root in the
 * background, its stdout in out_path and its stderr in out_path.err;
 * killed at exit when still running. */
pid_t cgt_mdrun_bg(struct hx_ctx *c, const char *out_path, ...) __attribute__((sentinel));
/* The OOM killer at work: container id allocates without end under the
 * limits of json (linux.resources), watched by `mdrun events` (started
 * within secs) from before start.  The allocator must be SIGKILLed, and
 * events report an oom event and end with the container, within 2 * secs
 * each.  Returns what events printed (caller frees); the container is
 * left to delete. */
char *cgt_run_oom(struct hx_ctx *c, const char *json, const char *id, unsigned secs);
/* Wait up to secs for a child started by cgt_mdrun_bg to exit: its exit code
 * (128 + signal), or -1 when it is still running. */
int cgt_wait_child(pid_t pid, unsigned secs);

/* The JSON object or array in text (fails the test when it does not
 * parse); free with yajl_tree_free. */
yajl_val cgt_json(const char *text);
/* The string at v.key, "" when there is none. */
const char *cgt_json_str(yajl_val v, const char *key);
/* The number at a path of keys (NULL-terminated) in v; fails the test
 * when it is missing. */
uint64_t cgt_json_u64(yajl_val v, ...) __attribute__((sentinel));
/* How many lines of text are JSON objects with "type" type and "id" id
 * (`mdrun events` output). */
size_t cgt_count_events(const char *text, const char *type, const char *id);

/* utime + stime of pid in clock ticks (/proc/PID/stat). */
uint64_t cgt_cpu_ticks(pid_t pid);
/* The one-letter state of pid (/proc/PID/stat field 3), '?' if gone. */
char cgt_proc_state(pid_t pid);
/* Wait up to secs for dir/file to read want. */
bool cgt_wait_file_is(const char *dir, const char *file, const char *want, unsigned secs);

/* Sleep ms milliseconds. */
void cgt_nap_ms(long ms);

/* Whether /sys/fs/cgroup is a pure cgroup v2 mount. */
bool cgt_pure_v2(void);

#endif
