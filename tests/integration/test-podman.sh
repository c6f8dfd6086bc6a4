#!/bin/bash
# test-podman.sh - Podman drives mdrun as its OCI runtime (`podman --runtime
# $MDRUN_BIN`), as root and as the unprivileged user mdrun-test, on a busybox
# image imported from a tarball (no registry, no network).
#
# Each user gets a private Podman world in a temporary directory: its
# containers.conf (cgroupfs, file events, no network, mdrun in
# [engine.runtimes] and runtime_supports_json), its storage.conf (vfs), HOME,
# XDG_* and TMPDIR, so the machine's Podman state is never touched (root's
# import runs under an overlay on /var/lib, see test_import).  mdrun keeps
# its state where Podman makes it (no --root): /run/mdrun as root.
# Everything is removed at the end, even after a failure: containers, the
# rootless pause process, root's cgroups (under a cgroup parent of our own),
# the directory, /run/containers when the test made it.
#
# Run by make check from the build directory (MDRUN_BIN set).  Exit status:
# 0 pass, 1 a check failed, 77 podman is not installed, 99 the test could
# not be set up.  Run as another user than root, it runs only the rootless
# half, as that user.  MDRUN_PODMAN_TESTS="NAME..." runs only those tests
# (the names of the test_NAME functions below).
set -u

me=test-podman.sh
if ! command -v podman >/dev/null 2>&1; then
    echo "SKIP: podman is not installed (apt-get install podman; scripts/deps.sh does)"
    exit 77
fi
setup_error() {
    echo "$me: $*"
    exit 99
}
# shellcheck source=../podman-conf.sh
. "$(dirname "$0")/../podman-conf.sh"
mdrun=${MDRUN_BIN:-$PWD/mdrun}
[ -x "$mdrun" ] || setup_error "$mdrun is not built (run the test through make check)"
# Podman names a runtime given by path after its file: runtime_supports_json
# below must list that name.
[ "$(basename "$mdrun")" = mdrun ] || setup_error "MDRUN_BIN must be a file named mdrun: $mdrun"
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    setup_error "no statically linked busybox for the image (apt-get install busybox-static)"
fi
for tool in conmon script timeout; do
    command -v "$tool" >/dev/null 2>&1 || setup_error "$tool is not installed (scripts/deps.sh)"
done

image=localhost/mdrun-busybox:test
top=$(mktemp -d "${MDRUN_TEST_TMPDIR:-/tmp}/mdrun-podman.XXXXXX") || setup_error "mktemp"
chmod 755 "$top"
# Root's containers go under this cgroup parent, removed at the end.
cgparent=mdrun-podman-$$
# Root's Podman makes /run/containers/networks (netavark's, whatever the
# configuration says): removed at the end when the test made it.
[ -e /run/containers ] && made_run_containers=false || made_run_containers=true
started=$(date +%s)
failures=0

if [ -d /sys/fs/cgroup/freezer ]; then
    cgroups=v1 # v1 controllers (or hybrid: plus an empty cgroup2)
else
    cgroups=v2
fi

# ------------------------------------------------------------- reporting

# ok and check: podman-conf.sh.
note() { echo "note - $who: $*"; }
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
lacks() { ! has "$@"; }

# --------------------------------------------------------------- running

# as_who COMMAND...: run it as $who, in $dir, with the private configuration
# and a clean environment, stdin from $input (default /dev/null); sets $rc,
# $out and $err.
as_who() {
    last=("$@")
    local env=(
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        HOME="$dir/home" USER="$user" LOGNAME="$user" TMPDIR="$dir/tmp"
        XDG_RUNTIME_DIR="$dir/xdg" XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data"
        CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf"
    )
    local v
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [ -n "${!v:-}" ] && env+=("$v=${!v}")
    done
    local su=()
    [ "$who" = user ] && [ "$(id -u)" = 0 ] && su=(runuser -u "$user" --)
    (cd "$dir" && "${su[@]}" env -i "${env[@]}" timeout -k 5 120 "$@") \
        <"${input:-/dev/null}" >"$dir/out" 2>"$dir/err"
    rc=$?
    out=$(cat "$dir/out")
    err=$(cat "$dir/err")
}
# Podman with mdrun as its runtime, by path.
pm() { as_who podman --runtime "$mdrun" "$@"; }
# `podman run`/`create` options every container gets: root's under our
# cgroup parent.
copts=()

# ------------------------------------------------------------- the world

# A busybox root filesystem as a tarball, for `podman import`.
make_image_tar() {
    local rootfs=$top/rootfs
    mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,root,home} || return 1
    chmod 1777 "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox" || return 1
    local applet
    for applet in $("$busybox" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' \
        >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf "$top/busybox.tar" . &&
        chmod 644 "$top/busybox.tar"
}

# The private Podman configuration of $who in $dir.
write_config() {
    local ulimits=''
    # Rootful Podman gives containers an RLIMIT_NOFILE and an RLIMIT_NPROC
    # above its own, which needs CAP_SYS_RESOURCE (runc fails the same way
    # without it): a root without it (in some sandboxes) asks for less.
    if [ "$who" = root ] && ! has_cap 24; then
        local n
        n=$(ulimit -Hn)
        ulimits="default_ulimits = [\"nofile=$n:$n\", \"nproc=4096:4096\"]"
        note "no CAP_SYS_RESOURCE here: lower limits for the containers: $ulimits"
    fi
    podman_conf "$dir" "$mdrun" cgroupfs "$ulimits"
    # Denies mkdir(2) with EPERM, allows the rest.
    cat >"$dir/seccomp.json" <<EOF
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
EOF
}

has_cap() {
    local eff
    eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
    (((0x$eff >> $1) & 1))
}

# A private directory for $who ($dir), owned by them.
make_world() {
    dir=$top/$who
    mkdir -p "$dir"/{home,xdg,config,data,tmp,bundle} || return 1
    chmod 700 "$dir/xdg"
    write_config || return 1
    [ "$who" = user ] && [ "$(id -u)" = 0 ] && chown -R "$user:" "$dir"
    chmod 755 "$dir"
}

# The state root Podman's mdrun uses (no --root is passed).
mdrun_state() {
    if [ "$who" = root ]; then echo /run/mdrun; else echo "$dir/xdg/mdrun"; fi
}

# ------------------------------------------------------------- cleanup

cleanup_world() {
    [ -n "${dir:-}" ] && [ -f "$dir/containers.conf" ] || return 0
    pm rm --all --force --time 0
    # Rootless Podman keeps a pause process holding its user namespace.
    local pause
    pause=$(cat "$dir/tmp/pause.pid" 2>/dev/null)
    if [ -n "$pause" ] && [ "$(stat -c %U "/proc/$pause" 2>/dev/null)" = "$user" ]; then
        kill -9 "$pause" 2>/dev/null
    fi
    # Anything mounted there (root's shm mounts, should rm have failed).
    local m
    for m in $(awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null
    done
    rm -rf "$dir"
    dir=
}

cleanup() {
    [ -n "${who:-}" ] && cleanup_world
    local d
    for d in /sys/fs/cgroup/*/"$cgparent" /sys/fs/cgroup/"$cgparent"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    if $made_run_containers && [ "$(id -u)" = 0 ]; then
        rmdir /run/containers/networks /run/containers 2>/dev/null
    fi
    rm -rf "$top"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ------------------------------------------------------------- the tests

# Root's `podman import` records the blobs it copies in
# /var/lib/containers/cache whatever its storage configuration says: it runs
# in a mount namespace of its own where an overlay on /var/lib takes those
# writes.
test_import() {
    if [ "$who" = root ]; then
        mkdir -p "$dir/var-lib/upper" "$dir/var-lib/work"
        as_who unshare --mount --propagation private sh -c \
            'mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$1/upper,workdir=$1/work" \
                /var/lib && shift && exec "$@"' \
            sh "$dir/var-lib" podman --runtime "$mdrun" import "$top/busybox.tar" "$image"
    else
        pm import "$top/busybox.tar" "$image"
    fi
    check "import the busybox tarball" [ "$rc" = 0 ]
}

# The configuration's [engine.runtimes] entry: `--runtime mdrun` by name,
# and the container really is mdrun's (its state directory).
test_runtime_by_name() {
    as_who podman --runtime mdrun run -d "${copts[@]}" "$image" sleep 600
    local id=$out
    check "run -d with --runtime mdrun from containers.conf" [ "$rc" = 0 ] || return
    check "the container is in mdrun's state directory" [ -d "$(mdrun_state)/$id" ]
    pm rm -f -t 0 "$id"
    check "rm -f removes it from mdrun's state" [ ! -e "$(mdrun_state)/$id" ]
}

test_run_rm() {
    pm run --rm "${copts[@]}" "$image" sh -c 'echo out-$((40 + 2)); echo err-$((3 + 4)) >&2; exit 3'
    check "run --rm exits with the container's status" [ "$rc" = 3 ]
    check "run --rm relays stdout" [ "$out" = out-42 ]
    check "run --rm relays stderr" [ "$err" = err-7 ]
}

# A terminal (--console-socket): the shell reads what is typed and runs it.
test_run_tty() {
    echo 'tty; echo typed-$((6 * 7)); exit 7' >"$dir/typed"
    input=$dir/typed as_who script -qec \
        "podman --runtime $mdrun run -it --rm ${copts[*]} $image sh" /dev/null
    check "run -it exits with the shell's status" [ "$rc" = 7 ]
    check "run -it gives the container a terminal" has "$out" /dev/pts/
    check "run -it relays what is typed" has "$out" typed-42
}

# An entrypoint that does not exist: Podman shows mdrun's message (read
# from the --log-format json log) and exits 127.
test_failure_message() {
    pm run --rm "${copts[@]}" "$image" /no/such/program
    check "a missing entrypoint exits 127" [ "$rc" = 127 ]
    check "Podman shows mdrun's message" has "$err" 'exec: "/no/such/program": no such file'
    # Podman then runs delete --force on a container create did not make:
    # no error, as with runc and crun.
    check "and no error from the delete --force after it" lacks "$err" "does not exist"
}

test_detached() {
    local script='trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 1; done'
    local memory=()
    [ "$who" = root ] && memory=(--memory 64m)
    pm run -d --name web "${copts[@]}" "${memory[@]}" "$image" sh -c "$script"
    local id=$out
    check "run -d starts a container" [ "$rc" = 0 ] || return

    pm exec web sh -c 'echo exec-$((2 + 2)) in $(hostname); exit 4'
    check "exec exits with the process's status" [ "$rc" = 4 ]
    check "exec runs in the container" [ "$out" = "exec-4 in ${id:0:12}" ]
    # What the options below take away, the default has.
    pm exec web sh -c 'touch /tmp/f && chown 1 /tmp/f && mkdir /tmp/d && echo default-ok'
    check "exec: chown and mkdir work by default" [ "$out" = default-ok ]

    pm ps --format '{{.Names}} {{.Status}}'
    check "ps lists it running" has "$out" "web Up"
    pm logs web
    check "logs shows its output" [ "$out" = started ]

    test_pause "$id"
    test_memory "$id"

    pm stop -t 10 web
    check "stop ends it with SIGTERM" [ "$rc" = 0 ]
    pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' web
    check "it exited 0 from its TERM trap" [ "$out" = "exited 0" ]
    pm logs web
    check "logs shows the trap ran" has "$out" got-term
    pm rm web
    check "rm removes it" [ "$rc" = 0 ]
    pm ps -a --format '{{.Names}}'
    check "ps -a no longer lists it" lacks "$out" web
    check "mdrun's state of it is gone" [ ! -e "$(mdrun_state)/$id" ]
}

# The cgroup directory of a container of root's, per controller.
cgdir() {
    if [ "$cgroups" = v1 ]; then
        echo "/sys/fs/cgroup/$2/$cgparent/libpod-$1"
    else
        echo "/sys/fs/cgroup/$cgparent/libpod-$1"
    fi
}

test_pause() {
    local id=$1
    pm pause web
    if [ "$who" = user ] && [ "$cgroups" = v1 ]; then
        # Podman refuses by itself: its rootless containers have no cgroup
        # on v1.
        check "pause is refused by Podman on cgroup v1 rootless" has "$err" "cgroup V1"
        note "pause/unpause not tested: rootless Podman cannot pause on cgroup v1"
        return
    fi
    check "pause" [ "$rc" = 0 ] || return
    pm inspect -f '{{.State.Status}}' web
    check "the container is paused" [ "$out" = paused ]
    if [ "$who" = root ]; then
        local frozen
        if [ "$cgroups" = v1 ]; then
            frozen=$(cat "$(cgdir "$id" freezer)/freezer.state")
            check "its freezer cgroup is FROZEN" [ "$frozen" = FROZEN ]
        else
            frozen=$(cat "$(cgdir "$id")/cgroup.freeze")
            check "its cgroup.freeze is 1" [ "$frozen" = 1 ]
        fi
    fi
    pm unpause web
    check "unpause" [ "$rc" = 0 ]
    pm inspect -f '{{.State.Status}}' web
    check "the container runs again" [ "$out" = running ]
}

memory_limit() {
    if [ "$cgroups" = v1 ]; then
        cat "$(cgdir "$1" memory)/memory.limit_in_bytes"
    else
        cat "$(cgdir "$1")/memory.max"
    fi
}

test_memory() {
    local id=$1
    if [ "$who" = root ]; then
        local limit
        limit=$(memory_limit "$id")
        check "--memory 64m sets the cgroup's limit" [ "$limit" = 67108864 ]
        # `podman update` hands mdrun update --resources FILE.
        pm update --memory 32m web
        check "update --memory 32m" [ "$rc" = 0 ] || return
        limit=$(memory_limit "$id")
        check "update --memory changes the cgroup's limit" [ "$limit" = 33554432 ]
        return
    fi
    pm run --rm --memory 64m "$image" true
    if [ "$cgroups" = v1 ]; then
        check "--memory is ignored by Podman on cgroup v1 rootless" \
            has "$err" "not supported and ignored on cgroups V1 rootless"
        note "--memory not tested: rootless Podman ignores limits on cgroup v1"
    else
        note "rootless --memory on cgroup v2: exit $rc: $err"
    fi
}

test_keep_id() {
    pm run --rm --userns=keep-id "$image" id -u
    check "--userns=keep-id runs as the user's own uid" [ "$out" = "$(id -u "$user")" ]
}

test_read_only() {
    pm run --rm --read-only "${copts[@]}" "$image" \
        sh -c 'touch /x 2>&1; touch /tmp/x && echo tmp-ok'
    check "--read-only: / is read-only" has "$out" "Read-only file system"
    check "--read-only: /tmp stays writable" has "$out" tmp-ok
}

# cap_mask_is HEX MASK VALUE: the bits of HEX under MASK are VALUE.
cap_mask_is() {
    [ -n "$1" ] && (((0x$1 & $2) == $3))
}

test_cap_drop() {
    pm run --rm --cap-drop CAP_CHOWN "${copts[@]}" "$image" \
        sh -c 'touch /tmp/f; chown 1 /tmp/f 2>&1; grep CapEff /proc/self/status'
    check "--cap-drop CAP_CHOWN: chown is refused" has "$out" "Operation not permitted"
    # CAP_CHOWN (bit 0) gone, CAP_KILL (bit 5) still there.
    check "--cap-drop CAP_CHOWN: only that one is dropped" \
        cap_mask_is "$(awk '/^CapEff:/ {print $2}' <<<"$out")" 0x21 0x20
}

test_seccomp() {
    pm run --rm --security-opt "seccomp=$dir/seccomp.json" "${copts[@]}" "$image" \
        sh -c 'mkdir /tmp/d 2>&1; touch /tmp/f && echo touch-ok'
    check "--security-opt seccomp=FILE: mkdir gets EPERM" has "$out" "Operation not permitted"
    check "--security-opt seccomp=FILE: the rest is allowed" has "$out" touch-ok
}

# The config.json Podman generates runs unchanged as a bundle with
# `mdrun run` (rootless: inside Podman's user namespace, `podman unshare`,
# as Podman itself runs the runtime).
test_bundle() {
    pm create --name bundle "${copts[@]}" "$image" sh -c 'echo from-podman-config; exit 6'
    local id=$out
    check "create" [ "$rc" = 0 ] || return
    pm init bundle
    check "init (writes config.json)" [ "$rc" = 0 ] || return
    local config
    config=$(find "$dir/graph" -path "*/$id/userdata/config.json" | head -1)
    check "config.json in userdata" [ -n "$config" ] || return
    cp "$config" "$dir/bundle/config.json"
    # Its cgroup and mounts are the created container's: stop that one (its
    # root filesystem stays until rm).
    pm stop bundle
    check "stop the created container" [ "$rc" = 0 ] || return
    [ "$who" = user ] && [ "$(id -u)" = 0 ] && chown "$user:" "$dir/bundle/config.json"
    local run=("$mdrun" --root "$dir/mdrun-state" run --bundle "$dir/bundle" "bundle-$$")
    if [ "$who" = root ]; then
        as_who "${run[@]}"
    else
        as_who podman unshare "${run[@]}"
    fi
    check "mdrun run runs Podman's config.json as it is" [ "$rc" = 6 ]
    check "with its process" [ "$out" = from-podman-config ]
    pm rm -f bundle
}

run_all() {
    make_world || setup_error "cannot make $who's directory under $top"
    copts=()
    [ "$who" = root ] && copts=(--cgroup-parent "/$cgparent")
    echo "# $who ($user), podman $(podman --version | awk '{print $3}'), cgroup $cgroups"
    test_import || return
    local t
    for t in run_rm runtime_by_name run_tty failure_message detached keep_id read_only \
        cap_drop seccomp bundle; do
        [ "$t" = keep_id ] && [ "$who" = root ] && continue
        [ -z "${MDRUN_PODMAN_TESTS:-}" ] || has " $MDRUN_PODMAN_TESTS " " $t " || continue
        "test_$t"
    done
    cleanup_world
}

make_image_tar || setup_error "cannot make the busybox tarball in $top"
if [ "$(id -u)" = 0 ]; then
    "${MDRUN_SRCDIR:-$(dirname "$0")/../..}/tests/setup-test-user.sh" >/dev/null ||
        setup_error "cannot set up the user mdrun-test"
    who=root user=root
    run_all
    who=user user=mdrun-test
    run_all
else
    echo "note: not root: root's half is skipped, the rootless half runs as $(id -un)"
    who=user user=$(id -un)
    run_all
fi
who=
echo "# $((failures)) failed, $(($(date +%s) - started)) s"
[ "$failures" = 0 ]
