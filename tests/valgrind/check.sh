#!/bin/bash
# check.sh - memcheck over mdrun's commands: spec, features, validate,
# list, state, create, start, kill, delete, run, and their error paths, as
# root and as the test user mdrun-test (as yourself when not root).  Any
# memcheck error, or a definite or indirect leak, in any mdrun process
# fails the test, with the report printed.
#
# Exit status: 0 pass, 1 a problem found, 77 skipped (no valgrind, or the
# sanitizer build: valgrind and ASan cannot share a process).
#
# What valgrind needs (Debian 12's valgrind 3.19):
# - mdrun re-executes itself from a sealed memfd (libmd/protect.c), which
#   valgrind cannot execute.  _MDRUN_SEALED_REEXEC=1 tells mdrun it has
#   been re-executed already: it warns and goes on as it is.
# - The container processes are forks of mdrun, so they run under
#   valgrind too, until they exec the container's program; every process
#   writes its own log (--log-file=...%p).  --trace-children stays off: the
#   programs mdrun executes (busybox, newuidmap, hooks) are not ours.
# - The bundle has no seccomp filter (valgrind does not implement
#   seccomp(2)) and no rlimits (valgrind keeps its own fds at the top of
#   RLIMIT_NOFILE).
# - valgrind 3.19 does not implement pidfd_open(2) either.  create and run
#   do without (libmd/clone.h): run waits for the container as its parent
#   (SIGCHLD, waitid) and forwards signals by pid; so run is checked with
#   the init forked into a pid namespace and without one.  kill and delete
#   --force of a live container need a pidfd: they run without valgrind.
# - mount(2) with no filesystem type (bind mounts, propagation changes) is
#   a false report of valgrind 3.19: mdrun.supp suppresses it.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${MDRUN_SRCDIR:-$(cd "$here/../.." && pwd)}
mdrun=${MDRUN_BIN:-}

if [[ -z $mdrun || ! -x $mdrun ]]; then
    echo "valgrind: MDRUN_BIN is not set: run it through make check" >&2
    exit 99
fi
if [[ -n ${MDRUN_SAN_FLAGS:-} ]]; then
    echo "valgrind: SKIPPED: this is the sanitizer build (valgrind and ASan do not mix); the normal build runs it"
    exit 77
fi
if ! command -v valgrind >/dev/null; then
    echo "valgrind: SKIPPED: valgrind is not installed (apt-get install valgrind)"
    exit 77
fi
busybox=$(command -v busybox || true)
if [[ -z $busybox ]] || ldd "$busybox" >/dev/null 2>&1; then
    echo "valgrind: SKIPPED: no static busybox for the container (apt-get install busybox-static)"
    exit 77
fi

work=$(mktemp -d /tmp/mdrun-valgrind.XXXXXX) || exit 1
chmod 755 "$work"
problems=0
roots=()

cleanup() {
    local r id
    for r in "${roots[@]}"; do
        for id in $("$mdrun" --root "$r" list -q 2>/dev/null); do
            "$mdrun" --root "$r" delete --force "$id" >/dev/null 2>&1
        done
    done
    rm -rf "$work"
}
trap cleanup EXIT

# as WHO CMD...: run as root ("root") or the user (a name).
as() {
    local who=$1
    shift
    if [[ $who == root || $who == "$(id -un)" ]]; then
        env HOME="$work/home-$who" "$@"
    else
        setpriv --reuid="$who" --regid="$who" --clear-groups \
            env HOME="$work/home-$who" XDG_RUNTIME_DIR= "$@"
    fi
}

# vg WHO WANT CMD... (mdrun's arguments): mdrun under memcheck; WANT is
# the exit status it must end with.  Prints its output, which stays in
# $work/out-WHO (read it there: in a $(...) subshell a failure would not
# be counted).
vg() {
    local who=$1 want=$2 rc logs
    shift 2
    logs=$work/logs-$who
    as "$who" env _MDRUN_SEALED_REEXEC=1 valgrind -q --error-exitcode=99 \
        --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --suppressions="$here/mdrun.supp" \
        --log-file="$logs/vg.%p" "$mdrun" "$@" </dev/null >"$work/out-$who" 2>"$work/err-$who"
    rc=$?
    if [[ $rc -ne $want ]]; then
        echo "valgrind: FAIL ($who): mdrun $*: exit $rc, want $want" >&2
        sed 's/^/  | /' "$work/out-$who" "$work/err-$who" >&2
        problems=$((problems + 1))
    else
        echo "valgrind: ok ($who): mdrun $*" >&2
    fi
    cat "$work/out-$who"
}

# One line per valgrind report in the logs so far, the logs then emptied;
# valgrind's notes about syscalls it does not know ("--PID--") are shown
# but are not problems.
check_logs() {
    local who=$1 f
    for f in "$work/logs-$who"/vg.*; do
        [[ -e $f ]] || continue
        if grep -q '^==[0-9]*== .' "$f"; then
            echo "valgrind: FAIL ($who): memcheck report in $(basename "$f"):"
            sed 's/^/  | /' "$f"
            problems=$((problems + 1))
        fi
        grep -ho 'unhandled amd64-linux syscall: [0-9]*' "$f" >>"$work/unhandled-$who"
        rm -f "$f"
    done
}

# A bundle owned by WHO: busybox, and a config valgrind can run (see the
# top of the file); uid 0 is root in a user namespace for the user.
make_bundle() {
    local who=$1 b=$work/bundle-$1 userns=
    mkdir -p "$b/rootfs/bin"
    cp "$busybox" "$b/rootfs/bin/busybox"
    for a in sh sleep true echo; do ln -s busybox "$b/rootfs/bin/$a"; done
    [[ $who != root ]] && userns='{"type": "user"}, '
    cat >"$b/config.json" <<EOF
{
  "ociVersion": "1.2.0",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0},
              "args": ["sleep", "1000"], "env": ["PATH=/bin"], "cwd": "/"},
  "root": {"path": "rootfs"},
  "hostname": "valgrind",
  "mounts": [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "nodev"]}],
  "linux": {"namespaces": [${userns}{"type": "mount"}, {"type": "uts"}, {"type": "ipc"}]}
}
EOF
    sed 's/"sleep", "1000"/"sh", "-c", "echo run; exit 3"/' "$b/config.json" >"$b/run.json"
    sed 's/"sleep", "1000"/"true"/; s/"namespaces": \[/&{"type": "pid"}, /' \
        "$b/config.json" >"$b/true.json"
    [[ $who != root ]] && chown -R "$who:" "$b"
}

# The status `state` prints.
status_of() {
    sed -n 's/.*"status": "\([a-z]*\)".*/\1/p'
}

check_user() {
    local who=$1 root=$work/state-$1 b=$work/bundle-$1 id=vg-$$-$1 out st
    mkdir -p "$work/logs-$who" "$work/home-$who" "$work/spec-$who" "$root"
    chmod 1777 "$work/logs-$who"
    chmod 700 "$root"
    [[ $who != root ]] && chown "$who:" "$work/home-$who" "$work/spec-$who" "$root"
    make_bundle "$who"
    echo "valgrind: as $who"

    cd "$work/spec-$who" || exit 1
    if [[ $who == root ]]; then
        vg "$who" 0 spec >/dev/null
    else
        vg "$who" 0 spec --rootless >/dev/null
    fi
    cd "$work" || exit 1
    vg "$who" 0 validate --bundle "$b" >/dev/null
    vg "$who" 1 --root "$root" state "$id" >/dev/null

    vg "$who" 0 --root "$root" create --bundle "$b" "$id" >/dev/null
    vg "$who" 1 --root "$root" create --bundle "$b" "$id" >/dev/null
    vg "$who" 0 --root "$root" state "$id" >/dev/null
    st=$(status_of <"$work/out-$who")
    [[ $st == created ]] || { echo "valgrind: FAIL ($who): status $st after create"; problems=$((problems + 1)); }
    vg "$who" 0 --root "$root" start "$id" >/dev/null
    vg "$who" 0 --root "$root" state "$id" >/dev/null
    st=$(status_of <"$work/out-$who")
    [[ $st == running ]] || { echo "valgrind: FAIL ($who): status $st after start"; problems=$((problems + 1)); }
    vg "$who" 1 --root "$root" delete "$id" >/dev/null
    # kill opens a pidfd: without valgrind where it lacks pidfd_open.
    if ! as "$who" "$mdrun" --root "$root" kill "$id" KILL; then
        echo "valgrind: FAIL ($who): kill $id"
        problems=$((problems + 1))
    fi
    for _ in $(seq 50); do
        st=$(as "$who" "$mdrun" --root "$root" state "$id" | status_of)
        [[ $st == stopped ]] && break
        sleep 0.1
    done
    vg "$who" 0 --root "$root" state "$id" >/dev/null
    st=$(status_of <"$work/out-$who")
    [[ $st == stopped ]] || { echo "valgrind: FAIL ($who): status $st after kill"; problems=$((problems + 1)); }
    vg "$who" 0 --root "$root" list --format json >/dev/null
    vg "$who" 0 --root "$root" list >/dev/null
    vg "$who" 0 --root "$root" delete "$id" >/dev/null
    vg "$who" 1 --root "$root" delete "$id" >/dev/null

    # A create that fails after its container process exists: a
    # createRuntime hook that fails undoes everything.
    sed 's|"linux":|"hooks": {"createRuntime": [{"path": "/bin/false"}]},\n  "linux":|' \
        "$b/config.json" >"$b/hook.json"
    cp "$b/config.json" "$b/good.json"
    cp "$b/hook.json" "$b/config.json"
    vg "$who" 1 --root "$root" create --bundle "$b" "$id-hook" >/dev/null
    cp "$b/good.json" "$b/config.json"

    check_logs "$who"

    # run: the program's exit status and output; run deletes the container
    # itself.  true.json has a pid namespace: the init is then a second
    # process, forked by the first into it.
    cp "$b/run.json" "$b/config.json"
    vg "$who" 3 --root "$root" run --bundle "$b" "$id-run" >/dev/null
    out=$(cat "$work/out-$who")
    [[ $out == run ]] || { echo "valgrind: FAIL ($who): run printed \"$out\", want \"run\""; problems=$((problems + 1)); }
    cp "$b/true.json" "$b/config.json"
    vg "$who" 0 --root "$root" run --bundle "$b" "$id-true" >/dev/null
    cp "$b/good.json" "$b/config.json"
    check_logs "$who"
    left=$(as "$who" "$mdrun" --root "$root" list -q)
    if [[ -n $left ]]; then
        echo "valgrind: FAIL ($who): containers left: $left"
        problems=$((problems + 1))
    fi
    sort -u "$work/unhandled-$who" 2>/dev/null | sed "s/^/valgrind: note ($who): /"
}

# check_user in the background, its report in a file; exit status 1 when
# it found problems.
check_in_background() {
    (
        check_user "$1" >"$work/report-$1" 2>&1
        echo "valgrind: $problems problem(s) as $1" >>"$work/report-$1"
        [[ $problems -eq 0 ]]
    ) &
}

start=$SECONDS
users=("$(id -un)")
if [[ $(id -u) -eq 0 ]]; then
    "$srcdir/tests/setup-test-user.sh" mdrun-test >/dev/null || exit 99
    users=(root mdrun-test)
else
    echo "valgrind: not root: checking as $(id -un) only"
fi
for who in "${users[@]}"; do
    roots+=("$work/state-$who") # for the cleanup at exit
    check_in_background "$who"
done
status=0
for _ in "${users[@]}"; do
    wait -n || status=1
done
cat "${users[@]/#/$work/report-}"
echo "valgrind: done in $((SECONDS - start)) s"
exit $status
