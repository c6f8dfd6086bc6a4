#!/bin/bash
# test-containerd.sh - mdrun as the runtime of containerd's runc v2 shim.
#
# Starts a containerd of its own (root, state, socket, config, fifos and
# snapshots in a temporary directory; no CRI plugin; the native
# snapshotter), imports a busybox image built offline with umoci, and has
# `ctr run --runc-binary $MDRUN_BIN` run, exec into and kill a container.
# mdrun's state root (--runc-root) shows that mdrun, not runc, ran it.
# Everything it started is stopped by pid and everything it made removed,
# even on failure.
#
# Root only: rootless containerd needs rootlesskit and slirp4netns or
# similar, which the tests do not set up.  Exit status: 0 pass, 1 fail,
# 77 skipped (with the reason).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "containerd is tested as root only (rootless containerd needs rootlesskit)"
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
for tool in containerd ctr containerd-shim-runc-v2 umoci; do
    command -v "$tool" >/dev/null ||
        skip "$tool is not installed (apt-get install containerd umoci)"
done
mdrun=${MDRUN_BIN:-}
[ -x "$mdrun" ] || skip "MDRUN_BIN is not set to the built mdrun (run through make check)"
busybox=$(command -v busybox) || skip "busybox is not installed (apt-get install busybox-static)"

tmp=$(mktemp -d "${MDRUN_TEST_TMPDIR:-/tmp}/mdrun-containerd.XXXXXX") || exit 99
sock=$tmp/containerd.sock
ns=mdrun-test-$$
ctr=(ctr --address "$sock" --namespace "$ns" --timeout 60s)
ctrd_pid=
passed=0
failed=0

# containerd's shims put their sockets in /run/containerd/s whatever the
# config says: remove that directory after us if it was not there before
# (and is empty).
had_run_dir=false
[ -d /run/containerd ] && had_run_dir=true

# The pids of the processes whose command line names our socket: the
# shims (-address $sock) and ctr.  The pattern comes from a file so that
# grep's own command line does not match.
our_pids() {
    printf '%s\n' "$sock" >"$tmp/pattern"
    grep -lFf "$tmp/pattern" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
}

cleanup() {
    local pid m
    # The containers first, through mdrun itself, then containerd, then
    # any shim left.
    for id in $("$mdrun" --root "$tmp/mdrun/$ns" list -q 2>/dev/null); do
        "$mdrun" --root "$tmp/mdrun/$ns" delete --force "$id" >/dev/null 2>&1
    done
    if [ -n "$ctrd_pid" ]; then
        kill -TERM "$ctrd_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$ctrd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ctrd_pid" 2>/dev/null
        wait "$ctrd_pid" 2>/dev/null
    fi
    for pid in $(our_pids); do kill -KILL "$pid" 2>/dev/null; done
    # Mounts under the directory, deepest first.
    for m in $(awk -v t="$tmp" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null
    done
    # The cgroups mdrun made for the containers (cgroupsPath /$ns/ID).
    for m in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns"; do
        [ -d "$m" ] && find "$m" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf "$tmp"
    # A shim killed above leaves its socket, named by the hash of our
    # address, namespace and container id.
    for id in fg-$$ err-$$ tty-$$ bg-$$; do
        m=$(printf '%s' "$sock/$ns/$id" | sha256sum | cut -c1-64)
        rm -f "/run/containerd/s/$m"
    done
    # Only if empty: another containerd may have come meanwhile.
    $had_run_dir || rmdir /run/containerd/s /run/containerd 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() {
    echo "PASS: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $*"
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
start=$(date +%s)

# ---------------------------------------------------------------- image
# busybox as an OCI image layout, made offline with umoci, tarred for
# `ctr image import`.
rootfs=$tmp/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,etc,tmp}
cp "$busybox" "$rootfs/bin/busybox"
for applet in sh sleep cat echo id tr true; do
    ln -s busybox "$rootfs/bin/$applet"
done
layout=$tmp/oci
{
    umoci init --layout "$layout" &&
        umoci new --image "$layout:latest" &&
        umoci insert --image "$layout:latest" "$rootfs" / &&
        umoci config --image "$layout:latest" --config.cmd sh &&
        tar -C "$layout" -cf "$tmp/busybox.tar" .
} >"$tmp/umoci.log" 2>&1 || {
    cat "$tmp/umoci.log"
    fail "umoci builds the busybox image"
    finish
}

# ----------------------------------------------------------- containerd
mkdir -p "$tmp/fifo" "$tmp/mdrun"
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
containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
ctrd_pid=$!
for _ in $(seq 100); do
    [ -S "$sock" ] && ctr --address "$sock" version >/dev/null 2>&1 && break
    kill -0 "$ctrd_pid" 2>/dev/null || break
    sleep 0.2
done
if ! ctr --address "$sock" version >/dev/null 2>&1; then
    tail -20 "$tmp/containerd.log"
    fail "containerd starts"
    finish
fi
pass "containerd starts with its own root, state and socket"

image=localhost/mdrun-test/busybox:latest
if "${ctr[@]}" image import --snapshotter native --base-name localhost/mdrun-test/busybox \
    "$tmp/busybox.tar" >"$tmp/import.log" 2>&1 &&
    "${ctr[@]}" image ls -q | grep -qxF "$image"; then
    pass "ctr imports the image"
else
    cat "$tmp/import.log"
    "${ctr[@]}" image ls
    fail "ctr imports the image"
    finish
fi

# ----------------------------------------------------------- containers
run=("${ctr[@]}" run --snapshotter native --runc-binary "$mdrun" --runc-root "$tmp/mdrun"
    --fifo-dir "$tmp/fifo")

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

# One in the background: mdrun holds it, exec joins it, kill ends it.
id=bg-$$
if "${run[@]}" -d "$image" "$id" sleep 300 >"$tmp/run.log" 2>&1; then
    pass "ctr run -d"
else
    cat "$tmp/run.log"
    fail "ctr run -d"
    finish
fi
state=$("$mdrun" --root "$tmp/mdrun/$ns" state "$id" 2>&1)
check "mdrun's state root holds the container (mdrun state: $state)" \
    grep -q '"status": *"running"' <<<"$state"
pid=$("${ctr[@]}" task ls | awk -v id="$id" '$1 == id {print $2}')
check "the task's pid ($pid) is mdrun's container init" \
    grep -q "\"pid\": *$pid\b" <<<"$state"
check "the task's process is sleep 300" \
    [ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" = "sleep 300 " ]
check "mdrun put the init in containerd's cgroupsPath /$ns/$id" \
    grep -q ":/$ns/$id\$" "/proc/$pid/cgroup"

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
gone() { [ ! -d "/proc/$1" ] || grep -q '^State:.*zombie' "/proc/$1/status"; }
check "the container's init is gone" gone "$pid"
"${ctr[@]}" task delete "$id" >/dev/null 2>&1
"${ctr[@]}" container delete "$id" >/dev/null 2>&1
check "mdrun's state is removed with the task" [ ! -e "$tmp/mdrun/$ns/$id" ]

finish
