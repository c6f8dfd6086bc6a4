#!/bin/bash
# podman-rootless.sh - rootless Podman driving mdrun on cgroup v2 with
# systemd: what a cgroup v1 or hybrid host cannot show, since rootless
# Podman refuses `pause` and ignores `--memory` there
# (tests/integration/test-podman.sh checks that refusal).
#
# As $MDRUN_TEST_USER (default mdrun-test), in its systemd user session
# (user@UID.service, started by check-systemd.sh), with Podman's
# cgroup_manager "systemd" and `--runtime $MDRUN_BIN`:
#
#   - `run -d --memory 32m` of a busybox container that appends to a file
#     on a bind mount every 0.2 s; `pause`: Podman says paused, the
#     container's cgroup (under the user's systemd) reports frozen and the
#     file stops growing, and its cgroup is limited to 33554432 bytes;
#     `unpause`: the file grows again;
#   - `run --memory 32m` of a process that holds 64 MiB: the OOM killer
#     ends it (exit status 137).
#
# Six Podman calls (and the clean-up's rm), about 2 minutes in the TCG guest.
#
# Podman's configuration, storage (vfs), image (busybox imported from a
# tarball: no registry) and temporary files are in a directory of its own,
# removed at the end with the containers and Podman's pause process.
# Runs as root (it switches to the user with runuser).  In the guest of
# check-systemd.sh (MDRUN_IN_VM set) it gives the user subordinate ids
# when the host's /etc/subuid has none (the guest's writes are
# discarded); elsewhere it needs them.  Exit status: 0 pass, 1 a check
# failed, 77 podman is not installed or this is not a systemd user session
# on cgroup v2 (with the reason), 99 set-up failed.
set -u
me=podman-rootless.sh
user=${MDRUN_TEST_USER:-mdrun-test}
mdrun=${MDRUN_BIN:-$(pwd)/mdrun}
# shellcheck source=../podman-conf.sh
. "$(dirname "$0")/../podman-conf.sh"
started=$(date +%s)
failures=0
calls=0

skip() {
    echo "$me: SKIP: $*"
    exit 77
}
setup_error() {
    echo "$me: FAIL (set-up): $*"
    exit 99
}
command -v podman >/dev/null 2>&1 || skip "podman is not installed (scripts/deps.sh installs it)"
[ "$(id -u)" = 0 ] || skip "run it as root (it runs Podman as $user through runuser)"
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || skip "/sys/fs/cgroup is not cgroup v2"
[ -x "$mdrun" ] || setup_error "$mdrun is not built (MDRUN_BIN)"
[ "$(basename "$mdrun")" = mdrun ] || setup_error "MDRUN_BIN must be a file named mdrun: $mdrun"
busybox=$(command -v busybox) || setup_error "busybox is not installed"
ldd "$busybox" >/dev/null 2>&1 && setup_error "$busybox is not statically linked (busybox-static)"
uid=$(id -u "$user") || setup_error "no user $user"
rt=/run/user/$uid
systemctl -q is-active "user@$uid.service" ||
    skip "$user has no systemd user session (systemctl start user@$uid.service)"
[ -S "$rt/bus" ] || setup_error "no session bus at $rt/bus (dbus-user-session)"

# Podman maps the user's subordinate ids into its user namespace.
if ! grep -q "^$user:" /etc/subuid || ! grep -q "^$user:" /etc/subgid; then
    [ -n "${MDRUN_IN_VM:-}" ] || skip "$user has no range in /etc/subuid and /etc/subgid"
    echo "$user:200000:65536" >>/etc/subuid
    echo "$user:200000:65536" >>/etc/subgid
fi

image=localhost/mdrun-busybox:rootless
dir=$(mktemp -d /tmp/mdrun-podman-rootless.XXXXXX) || setup_error "mktemp"
chmod 755 "$dir"

# ------------------------------------------------------------- reporting

# ok and check (podman-conf.sh) label their lines with $who.
who=$me

# pm ARG...: `podman --runtime $mdrun ARG...` as the user, in its session,
# with the private configuration; sets $rc, $out, $err.
pm() {
    last=(podman --runtime "$mdrun" "$@")
    runuser -u "$user" -- env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME="$dir/home" USER="$user" LOGNAME="$user" TMPDIR="$dir/tmp" \
        XDG_RUNTIME_DIR="$rt" DBUS_SESSION_BUS_ADDRESS="unix:path=$rt/bus" \
        XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data" \
        CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf" \
        timeout -k 5 180 "${last[@]}" </dev/null >"$dir/out" 2>"$dir/err"
    rc=$?
    calls=$((calls + 1))
    out=$(cat "$dir/out")
    err=$(cat "$dir/err")
}

cleanup() {
    if [ -f "$dir/containers.conf" ]; then
        pm rm --all --force --time 0
        local pause
        pause=$(cat "$dir/tmp/pause.pid" 2>/dev/null)
        if [ -n "$pause" ] && [ "$(stat -c %U "/proc/$pause" 2>/dev/null)" = "$user" ]; then
            kill -9 "$pause" 2>/dev/null
        fi
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ------------------------------------------------------------- the world

make_world() {
    mkdir -p "$dir"/{home,config,data,tmp,count,rootfs/{bin,etc,proc,sys,dev,tmp}} || return 1
    chmod 1777 "$dir/rootfs/tmp"
    cp "$busybox" "$dir/rootfs/bin/busybox" || return 1
    local applet
    for applet in sh sleep cat echo head tail true; do
        ln -s busybox "$dir/rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/:/bin/sh\n' >"$dir/rootfs/etc/passwd"
    printf 'root:x:0:\n' >"$dir/rootfs/etc/group"
    tar -C "$dir/rootfs" --numeric-owner --owner=0 --group=0 -cf "$dir/busybox.tar" . ||
        return 1
    rm -rf "$dir/rootfs"
    podman_conf "$dir" "$mdrun" systemd
    chown -R "$user:" "$dir"
}

# ------------------------------------------------------------- the tests

size() { stat -c %s "$dir/count/n" 2>/dev/null || echo 0; }
# Whether the file grows within 3 s.
grows() {
    local before=$(size) i
    for i in 1 2 3 4 5 6; do
        sleep 0.5
        [ "$(size)" -gt "$before" ] && return 0
    done
    return 1
}
# Whether it stays the same for 2 s.
still() {
    local before=$(size)
    sleep 2
    [ "$(size)" = "$before" ]
}

# The smallest memory.max from the cgroup $1 up to the user's manager:
# the limit its processes have, wherever on the way it is written.
limit_of() {
    local cg=$1 v min=max
    while in_user_manager "$cg"; do
        v=$(cat "/sys/fs/cgroup$cg/memory.max" 2>/dev/null) || break
        [ "$v" != max ] && { [ "$min" = max ] || [ "$v" -lt "$min" ]; } && min=$v
        cg=${cg%/*}
    done
    echo "$min"
}
in_user_manager() {
    case $1 in /user.slice/user-"$uid".slice/user@"$uid".service/?*) return 0 ;; esac
    return 1
}

# One container, with a memory limit, that appends to a file every 0.2 s
# (and first says what memory.max it sees): paused, then unpaused.
test_pause_memory() {
    pm run -d --name ticker --memory 32m -v "$dir/count:/count" "$image" \
        sh -c 'cat /sys/fs/cgroup/memory.max >/count/max; while :; do echo . >>/count/n; sleep 0.2; done'
    check "run -d --memory 32m" [ "$rc" = 0 ] || return
    check "the container writes its file" grows || return

    pm pause ticker
    check "pause" [ "$rc" = 0 ] || return
    pm inspect -f '{{.State.Status}} {{.State.Pid}}' ticker
    check "inspect: paused" [ "${out% *}" = paused ] || return
    local pid=${out#* } cg
    cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
    check "its cgroup ($cg) is under the user's systemd" in_user_manager "$cg" || return
    check "its cgroup reports frozen 1" grep -qx 'frozen 1' "/sys/fs/cgroup$cg/cgroup.events"
    check "paused: the file stops growing" still
    check "--memory 32m: its cgroup's limit is 33554432 (got $(limit_of "$cg"))" \
        [ "$(limit_of "$cg")" = 33554432 ]
    # The container (in a cgroup namespace) sees the limit too.
    check "the container's own memory.max is 33554432 (got $(cat "$dir/count/max"))" \
        [ "$(cat "$dir/count/max")" = 33554432 ]

    pm unpause ticker
    check "unpause" [ "$rc" = 0 ] || return
    check "unpaused: the file grows again" grows
}

test_oom() {
    # tail keeps the last line, and /dev/zero has no newline: it holds all
    # 64 MiB it reads, or is killed, and sh exits with its status.
    pm run --rm --memory 32m "$image" sh -c 'head -c 67108864 /dev/zero | tail >/dev/null'
    check "--memory 32m: holding 64 MiB is OOM-killed (exit 137)" [ "$rc" = 137 ]
}

make_world || setup_error "cannot make Podman's directory $dir"
echo "$me: $user (uid $uid), podman $(podman --version | awk '{print $3}'), cgroup manager systemd"
pm import "$dir/busybox.tar" "$image"
check "import the busybox tarball" [ "$rc" = 0 ] || exit 1
test_pause_memory
test_oom
echo "$me: $failures failed, $calls podman calls, $(($(date +%s) - started)) s"
[ "$failures" = 0 ]
