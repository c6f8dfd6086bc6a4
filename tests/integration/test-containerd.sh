#!/bin/bash
# test-containerd.sh - mdrun as the runtime of containerd's runc v2 shim,
# as root and rootless.
#
# Each half starts a containerd of its own (root, state, socket, config,
# fifos and snapshots in a temporary directory; no CRI plugin; the native
# snapshotter), imports a busybox image built offline with umoci, and has
# `ctr run --runc-binary $MDRUN_BIN` run, exec into and kill a container.
# mdrun's state root (--runc-root) shows that mdrun, not runc, ran it.
#
#   - root: containerd runs as root; mdrun puts the container in the
#     cgroup containerd asks for.
#   - rootless, as mdrun-test: containerd runs inside rootlesskit's user
#     and mount namespaces (the user's subordinate ids mapped, /etc and
#     /run copied up, the host's network), as nerdctl's
#     containerd-rootless.sh sets it up, and ctr runs in those namespaces
#     (nsenter).  mdrun then is uid 0 of a user namespace that is not the
#     initial one, with no cgroup of its own to write: it must take itself
#     for rootless, leave the container in the shim's cgroup rather than
#     fail to make containerd's cgroupsPath, and refuse a memory limit with
#     its message, as runc does.  (ctr asks for cpu shares 1024 by default,
#     a limit: the rootless runs pass --cpu-shares 0.)
#
# Everything it started is stopped by pid and everything it made removed,
# even on failure.  Run as root it runs both halves (the rootless one as
# mdrun-test, made by tests/setup-test-user.sh); as another user only the
# rootless half, as that user.  Exit status: 0 pass, 1 fail, 77 skipped
# (with the reason), 99 the test could not be set up.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

skip() {
    echo "SKIP: $*"
    exit 77
}
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
for tool in containerd ctr containerd-shim-runc-v2 umoci rootlesskit newuidmap nsenter setpriv; do
    command -v "$tool" >/dev/null ||
        skip "$tool is not installed (apt-get install containerd umoci rootlesskit uidmap; scripts/deps.sh does)"
done
mdrun=${MDRUN_BIN:-}
[ -x "$mdrun" ] || skip "MDRUN_BIN is not set to the built mdrun (run through make check)"
busybox=$(command -v busybox) || skip "busybox is not installed (apt-get install busybox-static)"

top=$(mktemp -d "${MDRUN_TEST_TMPDIR:-/tmp}/mdrun-containerd.XXXXXX") || exit 99
chmod 755 "$top"
image=localhost/mdrun-test/busybox:latest
passed=0
failed=0
start=$(date +%s)

# One half's world: who runs it, its directory, socket and containerd
# namespace, the pid of containerd (root) or rootlesskit (rootless), the
# prefix that runs a command as the user (as_user) and the one that runs
# it beside containerd (inside: in rootlesskit's namespaces).
who= tmp= sock= ns= ctrd_pid=
as_user=() inside=()

# containerd's shims put their sockets in /run/containerd/s whatever the
# config says: as root, remove that directory after us if it was not there
# before (and is empty).  Rootless, that /run is rootlesskit's copy.
had_run_dir=false
[ -d /run/containerd ] && had_run_dir=true

# The pids of the processes whose command line names our socket: the
# shims (-address $sock) and ctr.  The pattern comes from a file so that
# grep's own command line does not match.
our_pids() {
    printf '%s\n' "$sock" >"$top/pattern"
    grep -lFf "$top/pattern" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
}

# Stop what the half started and remove what it made.
stop_half() {
    [ -n "$tmp" ] || return 0
    local pid m id
    # The containers first, through mdrun itself (rootless: in the
    # namespaces where they were made), then containerd, then any shim
    # left.
    for id in $("${inside[@]}" "$mdrun" --root "$tmp/mdrun/$ns" list -q 2>/dev/null); do
        "${inside[@]}" "$mdrun" --root "$tmp/mdrun/$ns" delete --force "$id" >/dev/null 2>&1
    done
    if [ -n "$ctrd_pid" ]; then
        # rootlesskit passes the signal on to containerd, and its
        # namespaces (their mounts, its /run) go with it.
        kill -TERM "$ctrd_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$ctrd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ctrd_pid" 2>/dev/null
        wait "$ctrd_pid" 2>/dev/null
        ctrd_pid=
    fi
    for pid in $(our_pids); do kill -KILL "$pid" 2>/dev/null; done
    if [ "$who" = root ]; then
        # Mounts under the directory, deepest first.
        for m in $(awk -v t="$tmp" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
            umount -l "$m" 2>/dev/null
        done
        # The cgroups mdrun made for the containers (cgroupsPath /$ns/ID).
        for m in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns"; do
            [ -d "$m" ] && find "$m" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        # A shim killed above leaves its socket, named by the hash of our
        # address, namespace and container id.
        for id in fg-$$ err-$$ tty-$$ bg-$$; do
            m=$(printf '%s' "$sock/$ns/$id" | sha256sum | cut -c1-64)
            rm -f "/run/containerd/s/$m"
        done
    fi
    # The snapshots of an image made by a user who is not root hold files
    # of a subordinate id (the user's own uid inside the namespace): that
    # user removes them in a user namespace mapping those ids.
    rm -rf "$tmp" 2>/dev/null ||
        { [ "$(id -u)" != 0 ] && rootlesskit --net=host rm -rf "$tmp"; }
    tmp=
}

cleanup() {
    stop_half
    rm -rf "$top"
    # Only if empty: another containerd may have come meanwhile.
    [ "$(id -u)" = 0 ] && ! $had_run_dir && rmdir /run/containerd/s /run/containerd 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() {
    echo "PASS ($who): $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL ($who): $*"
    failed=$((failed + 1))
}
# check WHAT CMD...: run CMD, pass or fail by its exit status.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
    echo "containerd test: $(($(date +%s) - start)) s"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] || exit 1
    exit 0
}

# ---------------------------------------------------------------- image
# busybox as an OCI image layout, made offline with umoci, tarred for
# `ctr image import`; once, for both halves.
make_image() {
    local rootfs=$top/rootfs layout=$top/oci applet
    mkdir -p "$rootfs"/{bin,proc,sys,dev,etc,tmp}
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in sh sleep cat echo id tr true; do
        ln -s busybox "$rootfs/bin/$applet"
    done
    {
        umoci init --layout "$layout" &&
            umoci new --image "$layout:latest" &&
            umoci insert --image "$layout:latest" "$rootfs" / &&
            umoci config --image "$layout:latest" --config.cmd sh &&
            tar -C "$layout" -cf "$top/busybox.tar" . &&
            chmod 644 "$top/busybox.tar"
    } >"$top/umoci.log" 2>&1 || {
        cat "$top/umoci.log"
        return 1
    }
    rm -rf "$rootfs" "$layout"
}

# ----------------------------------------------------------- containerd
write_config() {
    cat >"$tmp/config.toml" <<EOF
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"

[plugins."io.containerd.service.v1.diff-service"]
  default = ["walking"]
EOF
}

# containerd as root, or rootless inside rootlesskit; fails when its
# socket does not answer.
start_containerd() {
    mkdir -p "$tmp/fifo" "$tmp/mdrun"
    write_config
    if [ "$who" = root ]; then
        containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
        ctrd_pid=$!
    else
        [ "$(id -u)" = 0 ] && chown -R "$user:" "$tmp"
        # The copied-up /run holds symlinks to the host's entries: drop
        # the one to the host's /run/containerd (root's, when a containerd
        # runs there), so that the shims make their sockets in ours.
        "${as_user[@]}" rootlesskit --net=host --copy-up=/etc --copy-up=/run \
            --state-dir="$tmp/rootlesskit" \
            sh -c 'rm -f /run/containerd && exec containerd --config "$1"' sh "$tmp/config.toml" \
            >"$tmp/containerd.log" 2>&1 &
        ctrd_pid=$!
        local child=
        for _ in $(seq 100); do
            child=$(cat "$tmp/rootlesskit/child_pid" 2>/dev/null) && [ -n "$child" ] && break
            kill -0 "$ctrd_pid" 2>/dev/null || break
            sleep 0.1
        done
        if [ -z "$child" ]; then
            tail -20 "$tmp/containerd.log"
            return 1
        fi
        inside=("${as_user[@]}" nsenter -U -m --preserve-credentials -t "$child" --)
    fi
    for _ in $(seq 100); do
        [ -S "$sock" ] && "${inside[@]}" ctr --address "$sock" version >/dev/null 2>&1 && return 0
        kill -0 "$ctrd_pid" 2>/dev/null || break
        sleep 0.2
    done
    tail -20 "$tmp/containerd.log"
    return 1
}

# ----------------------------------------------------------- containers
# The checks both halves make; $ctr and $run are set by run_half.
test_run() {
    # One container in the foreground: its output and exit status come back.
    out=$("${run[@]}" --rm "$image" fg-$$ sh -c 'echo "hello $(id -u)"; exit 7' 2>&1)
    status=$?
    check "ctr run in the foreground: exit status 7 (got $status)" [ "$status" -eq 7 ]
    check "ctr run in the foreground: output (got '$out')" [ "$out" = "hello 0" ]

    # A failure: mdrun's message, from its --log file, reaches ctr's user.
    out=$("${run[@]}" --rm "$image" err-$$ /no/such/program 2>&1)
    status=$?
    check "ctr run of a missing program fails (exit $status)" [ "$status" -ne 0 ]
    check "ctr shows mdrun's message (got '$out')" grep -qF 'create failed: exec: "/no/such/program"' <<<"$out"
    "${ctr[@]}" container delete err-$$ >/dev/null 2>&1

    # And on a terminal: the shim hands mdrun create a --console-socket.  ctr
    # wants a terminal of its own too: script(1) gives it one.
    out=$(script -qec "$(printf '%q ' "${run[@]}" -t --rm "$image" tty-$$ \
        sh -c '[ -t 0 ] && echo "tty=$((6 * 7))"; sleep 1; exit 6')" /dev/null </dev/null 2>&1)
    status=$?
    check "ctr run -t: exit status 6 (got $status)" [ "$status" -eq 6 ]
    check "ctr run -t: runs on a terminal (got '$out')" grep -q "tty=42" <<<"$out"
}

# Rootless, a limit needs a cgroup mdrun cannot have here: refused with its
# message (runc refuses too).
test_limit_refused() {
    out=$("${run[@]}" --rm --memory-limit 33554432 "$image" lim-$$ true 2>&1)
    status=$?
    check "ctr run --memory-limit fails rootless without a delegated cgroup (exit $status)" \
        [ "$status" -ne 0 ]
    check "with mdrun's message (got '$out')" grep -qF "limits need a cgroup" <<<"$out"
    "${ctr[@]}" container delete lim-$$ >/dev/null 2>&1
}

gone() { [ ! -d "/proc/$1" ] || grep -q '^State:.*zombie' "/proc/$1/status"; }
# The cgroup lines of a process, sorted.
cgroups_of() { sort "/proc/$1/cgroup" 2>/dev/null; }
ppid_of() { awk '/^PPid:/ {print $2}' "/proc/$1/status"; }
not_in_cgroup() { ! grep -q ":$1\$" "/proc/$2/cgroup"; }
uid_of() { awk '/^Uid:/ {print $2}' "/proc/$1/status"; }

# One in the background: mdrun holds it, exec joins it, kill ends it.
test_background() {
    local id=bg-$$ state pid
    if "${run[@]}" -d "$image" "$id" sleep 300 >"$tmp/run.log" 2>&1; then
        pass "ctr run -d"
    else
        cat "$tmp/run.log"
        fail "ctr run -d"
        return
    fi
    state=$("${inside[@]}" "$mdrun" --root "$tmp/mdrun/$ns" state "$id" 2>&1)
    check "mdrun's state root holds the container (mdrun state: $state)" \
        grep -q '"status": *"running"' <<<"$state"
    pid=$("${ctr[@]}" task ls | awk -v id="$id" '$1 == id {print $2}')
    check "the task's pid ($pid) is mdrun's container init" \
        grep -q "\"pid\": *$pid\b" <<<"$state"
    check "the task's process is sleep 300" \
        [ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" = "sleep 300 " ]
    if [ "$who" = root ]; then
        check "mdrun put the init in containerd's cgroupsPath /$ns/$id" \
            grep -q ":/$ns/$id\$" "/proc/$pid/cgroup"
    else
        # mdrun, uid 0 in the user namespace, took itself for rootless: it
        # made no cgroup and left the init where the shim is.
        check "the container's root is $user on the host (uid $(uid_of "$pid"))" \
            [ "$(uid_of "$pid")" = "$uid" ]
        check "rootless: the init is not in a cgroup /$ns/$id" \
            not_in_cgroup "/$ns/$id" "$pid"
        check "rootless: the init is in its shim's cgroups" \
            [ "$(cgroups_of "$pid")" = "$(cgroups_of "$(ppid_of "$pid")")" ]
    fi

    out=$("${ctr[@]}" task exec --exec-id probe-$$ --fifo-dir "$tmp/fifo" "$id" \
        sh -c 'echo "pid1=$(cat /proc/1/cmdline | tr "\0" " ")"; exit 5' 2>&1)
    status=$?
    check "ctr task exec: exit status 5 (got $status)" [ "$status" -eq 5 ]
    check "ctr task exec: sees the container's init (got '$out')" [ "$out" = "pid1=sleep 300 " ]

    # On a terminal, through --console-socket again.  (The sleeps: ctr sizes
    # the terminal after the start, and complains if the process is gone.)
    out=$(script -qec "$(printf '%q ' "${ctr[@]}" task exec -t --exec-id tty-$$ \
        --fifo-dir "$tmp/fifo" "$id" sh -c '[ -t 0 ] && echo "tty=$((6 * 7))"; sleep 1; exit 4')" \
        /dev/null </dev/null 2>&1)
    status=$?
    check "ctr task exec -t: exit status 4 (got $status)" [ "$status" -eq 4 ]
    check "ctr task exec -t: runs on a terminal (got '$out')" grep -q "tty=42" <<<"$out"

    "${ctr[@]}" task kill --signal SIGKILL "$id" >"$tmp/kill.log" 2>&1
    check "ctr task kill" [ $? -eq 0 ]
    for _ in $(seq 50); do
        "${ctr[@]}" task ls | awk -v id="$id" '$1 == id {print $3}' | grep -qx STOPPED && break
        sleep 0.2
    done
    check "the task is stopped after kill" \
        grep -qx STOPPED <<<"$("${ctr[@]}" task ls | awk -v id="$id" '$1 == id {print $3}')"
    check "the container's init is gone" gone "$pid"
    "${ctr[@]}" task delete "$id" >/dev/null 2>&1
    "${ctr[@]}" container delete "$id" >/dev/null 2>&1
    check "mdrun's state is removed with the task" [ ! -e "$tmp/mdrun/$ns/$id" ]
}

# run_half WHO: set up WHO's containerd, run the checks, clean up.
run_half() {
    who=$1
    tmp=$top/$who
    sock=$tmp/containerd.sock
    ns=mdrun-test-$$
    as_user=() inside=()
    mkdir -p "$tmp"
    if [ "$who" = user ] && [ "$(id -u)" = 0 ]; then
        as_user=(setpriv "--reuid=$uid" "--regid=$(id -g "$user")" --init-groups
            env -i PATH="$PATH" HOME="$tmp" USER="$user" LOGNAME="$user")
    fi
    [ "$who" = user ] && inside=("${as_user[@]}")
    echo "# $who ($user)"
    if ! start_containerd; then
        fail "containerd starts"
        stop_half
        return
    fi
    pass "containerd starts with its own root, state and socket"
    ctr=("${inside[@]}" ctr --address "$sock" --namespace "$ns" --timeout 60s)
    if "${ctr[@]}" image import --snapshotter native --base-name localhost/mdrun-test/busybox \
        "$top/busybox.tar" >"$tmp/import.log" 2>&1 &&
        "${ctr[@]}" image ls -q | grep -qxF "$image"; then
        pass "ctr imports the image"
    else
        cat "$tmp/import.log"
        "${ctr[@]}" image ls
        fail "ctr imports the image"
        stop_half
        return
    fi
    run=("${ctr[@]}" run --snapshotter native --runc-binary "$mdrun" --runc-root "$tmp/mdrun"
        --fifo-dir "$tmp/fifo")
    [ "$who" = user ] && run+=(--cpu-shares 0)
    test_run
    [ "$who" = user ] && test_limit_refused
    test_background
    stop_half
}

make_image || {
    who=setup
    fail "umoci builds the busybox image"
    finish
}
if [ "$(id -u)" = 0 ]; then
    "${MDRUN_SRCDIR:-$(dirname "$0")/../..}/tests/setup-test-user.sh" >/dev/null ||
        { echo "test-containerd.sh: cannot set up the user mdrun-test"; exit 99; }
    user=root
    run_half root
    user=mdrun-test
else
    echo "note: not root: the root half is skipped, the rootless half runs as $(id -un)"
    user=$(id -un)
fi
uid=$(id -u "$user")
run_half user
finish
