/* hooks.h - running the config's hooks with the container state on stdin. */
#ifndef MD_HOOKS_H
#define MD_HOOKS_H

#include <stddef.h>

#include "spec.h"

/* Run one hook: fork, execve(path, args, env) with argv[0] from args[0]
 * (path when args is empty) and exactly env (empty when none), state_json
 * on its stdin, its stdout and stderr on mdrun's stderr (runc does the
 * same), every other fd closed, in a new process group.  When its timeout
 * (seconds) expires the whole group is killed with SIGKILL.  Succeeds when
 * the hook exits with status 0; otherwise err reads
 * `<kind> hook <index> (<path>): <what>`, <what> being one of
 * `exited with status 3`, `killed by signal 9 (Killed)`,
 * `timed out after 2 seconds`, `exec: No such file or directory`.
 * The hook inherits mdrun's cwd; its signal mask and dispositions are reset. */
int md_hook_run(const char *kind, size_t index, const md_hook *hook, const char *state_json,
                md_error *err);

/* Run hooks in order with md_hook_run and stop at the first failure (the
 * rule for every kind but poststop: call md_hook_run for each poststop hook
 * and only warn on failure, as runtime.md asks). */
int md_hooks_run(const char *kind, const md_hook *hooks, size_t n, const char *state_json,
                 md_error *err);
/* Run every hook, only warning about each one that fails: the poststop
 * rule (runtime.md: the remaining hooks run as if it had succeeded). */
void md_hooks_run_warn(const char *kind, const md_hook *hooks, size_t n, const char *state_json);

#endif
