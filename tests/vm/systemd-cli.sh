#!/bin/sh
# systemd-cli.sh - `mdrun --systemd-cgroup run` end to end, as root (the
# system instance) or as a user (the user's instance, on the session bus):
# a busybox container with a memory limit runs in a transient scope
# "mdrun-ID.scope" that systemd reports active with MemoryMax set, the
# container's process sits in the leaf "container" under the scope's
# cgroup, and once the container is killed and run has deleted it the
# unit and its cgroup are gone.
#
# check-systemd.sh runs it in both passes (needs systemd as PID 1 on
# cgroup v2, and for a user XDG_RUNTIME_DIR of a running user session).
# MDRUN_BIN: the mdrun under test (default ./mdrun); MDRUN_SRCDIR: the
# source tree (default: this script's ../..).  Exit 0 pass, 1 fail.
set -u
me=systemd-cli.sh
here=$(cd "$(dirname "$0")" && pwd)
mdrun=${MDRUN_BIN:-$(pwd)/mdrun}
srcdir=${MDRUN_SRCDIR:-$here/../..}
limit=33554432 # 32 MiB
id=sdcli-$(id -u)-$$
unit=mdrun-$id.scope
systemctl="systemctl"
[ "$(id -u)" = 0 ] || systemctl="systemctl --user"

fail() {
    echo "$me: FAIL ($(id -un)): $*"
    exit 1
}
say() { echo "$me ($(id -un)): $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-sdcli.XXXXXX") || fail "mktemp"
runpid=
cleanup() {
    [ -n "$runpid" ] && kill -KILL "$runpid" 2>/dev/null
    "$mdrun" --root "$tmp/state" --systemd-cgroup delete --force "$id" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Wait up to $1 tenths of a second for the command to succeed.
wait_for() {
    n=$1
    shift
    while ! "$@" >/dev/null 2>&1; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.1
    done
}

MEMORY_LIMIT=$limit PIDS_LIMIT=64 sh "$srcdir/examples/limits-bundle.sh" "$tmp/bundle" "$mdrun" \
    >/dev/null || fail "examples/limits-bundle.sh failed"
sed -i -e 's/"terminal": true/"terminal": false/' \
    -e 's|^\t\t\t"sh"$|\t\t\t"sleep", "1000"|' "$tmp/bundle/config.json"

"$mdrun" --root "$tmp/state" --systemd-cgroup run --bundle "$tmp/bundle" "$id" \
    >"$tmp/run.out" 2>&1 &
runpid=$!
is_running() { "$mdrun" --root "$tmp/state" state "$id" | grep -q '"status": *"running"'; }
wait_for 300 is_running || fail "the container is not running after 30 s: $(cat "$tmp/run.out")"
pid=$("$mdrun" --root "$tmp/state" state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
[ -n "$pid" ] || fail "no pid in mdrun state"

# What systemd says about the scope.
prop() { $systemctl show --value -p "$1" "$unit"; }
state=$(prop ActiveState)
[ "$state" = active ] || fail "$systemctl show $unit: ActiveState=$state, want active"
memmax=$(prop MemoryMax)
[ "$memmax" = $limit ] || fail "$systemctl show $unit: MemoryMax=$memmax, want $limit"
cg=$(prop ControlGroup)
case $cg in
*/$unit) ;;
*) fail "$systemctl show $unit: ControlGroup=$cg does not end with $unit" ;;
esac
[ "$(cat "/sys/fs/cgroup$cg/memory.max")" = $limit ] ||
    fail "/sys/fs/cgroup$cg/memory.max is $(cat "/sys/fs/cgroup$cg/memory.max"), want $limit"
incg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
[ "$incg" = "$cg/container" ] || fail "the container's process is in $incg, want $cg/container"
# The leaf carries the limit too: what the container itself reads.
[ "$(cat "/sys/fs/cgroup$incg/memory.max")" = $limit ] ||
    fail "the container's own memory.max is $(cat "/sys/fs/cgroup$incg/memory.max"), want $limit"
say "$unit active, MemoryMax=$memmax, the container in $incg"

# Kill it: run reports 128 + 9 and deletes the container, and the scope
# and its cgroup go away.
"$mdrun" --root "$tmp/state" kill "$id" KILL || fail "mdrun kill failed"
wait "$runpid"
status=$?
runpid=
[ $status = 137 ] || fail "mdrun run: exit status $status, want 137: $(cat "$tmp/run.out")"
"$mdrun" --root "$tmp/state" state "$id" >/dev/null 2>&1 && fail "the container still exists"
unit_gone() { ! $systemctl status "$unit" >/dev/null 2>&1; }
wait_for 100 unit_gone || fail "$systemctl status $unit still succeeds 10 s after delete"
cg_gone() { [ ! -e "/sys/fs/cgroup$cg" ]; }
wait_for 100 cg_gone || fail "/sys/fs/cgroup$cg still exists 10 s after delete"
say "after run and delete: no $unit, no /sys/fs/cgroup$cg"
