#!/bin/bash
# bench.sh - mdrun's speed and footprint, side by side with crun, runc and
# the floor (bench/floor.c), on one busybox bundle.  See docs/performance.md.
#
# usage: bench/bench.sh [OPTIONS]        (as root; `make bench` passes
#                                         --mdrun and --floor)
#   --n N            containers per runtime and test (default 100)
#   --json           print the results as JSON instead of a table
#   --vm             also measure in the cgroup v2 guest (tests/vm/vm.sh):
#                    the smallest memory.max under which `run /bin/true`
#                    succeeds, per mode, and the times there (--vm-n,
#                    default 20)
#   --vm-n N         containers per runtime and test in the guest
#   --memory-only    only the memory.max search in the guest (implies --vm;
#                    no times, no peak RSS)
#   --runtimes LIST  among "mdrun crun runc floor floor-spec" (default: all
#                    installed; floor-spec is `floor --spec`: the floor and
#                    the kernel work the default spec requires, see floor.c)
#   --modes LIST     among "rootful rootless" (default both)
#   --tests LIST     among "run lifecycle exec" (default all)
#   --rss N          `run`s measured for the peak RSS (default 5)
#   --mdrun PATH     the mdrun binary (default: mdrun in PATH)
#   --floor PATH     the floor binary (default: built from bench/floor.c)
#   --user NAME      the unprivileged user for rootless (default mdrun-test)
#   --keep           keep the work directory
#
# What is measured, per mode (rootful: as root; rootless: as --user):
#   run        `RT run` of /bin/true with a fresh id each time (all three
#              runtimes delete the container themselves after `run`)
#   lifecycle  `RT create`, `RT start`, `RT delete --force`
#   exec       `RT exec ID /bin/true` into one running container
#   rss        the peak RSS (GNU time's %M: the largest process of the
#              runtime's tree) of `RT run`, median of --rss runs
# The runtimes take turns container by container, so that a change of load
# on the machine affects them alike.  Every runtime runs in a private mount
# namespace without /sys/fs/cgroup/unified: crun refuses hybrid cgroup
# hosts otherwise, and the others are not affected by it.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
N=100 VM_N=20 JSON=0 VM=0 RSS_N=5 KEEP=0 MEM_ONLY=0
RUNTIMES="" MODES="rootful rootless" TESTS="run lifecycle exec"
MDRUN="" FLOOR="" USER_NAME=mdrun-test

fail() {
    echo "bench: $*" >&2
    exit 1
}
note() { echo "bench: $*" >&2; }

# ------------------------------------------------------------ the measuring
# These run in the private mount namespace, as root or as the user; they
# write one sample per line (microseconds) to $W/samples/MODE.TEST.RT.

rt_cmd() { # RT -> the command line prefix of runtime RT in this mode
    case $1 in
    mdrun) echo "$MDRUN --root $STATE/$MODE/mdrun" ;;
    crun) echo "crun --root $STATE/$MODE/crun" ;;
    runc) echo "runc --root $STATE/$MODE/runc" ;;
    floor) echo "$FLOOR" ;;
    floor-spec) echo "$FLOOR --spec" ;;
    esac
}

# Run "$@" with stdout and stderr to the error log; the elapsed time in
# microseconds goes to the sample file $1 when it succeeded.
timed() {
    local out=$1 t0 t1 rc
    shift
    t0=$EPOCHREALTIME
    "$@" >>"$ERRLOG" 2>&1
    rc=$?
    t1=$EPOCHREALTIME
    if [ $rc -eq 0 ]; then
        echo $((${t1/./} - ${t0/./})) >>"$out"
    else
        echo "exit $rc: $*" >>"$ERRLOG"
        echo 1 >>"${out%.samples}.fails"
    fi
    return $rc
}

one_run() { # RT ID
    if [[ $1 == floor* ]]; then
        $(rt_cmd "$1") "$W/rootfs" /bin/true
    else
        $(rt_cmd "$1") run --bundle "$W/bundle-$MODE-true" "$2"
    fi
}

one_lifecycle() { # RT ID
    local rt
    rt=$(rt_cmd "$1")
    $rt create --bundle "$W/bundle-$MODE-true" "$2" &&
        $rt start "$2" &&
        $rt delete --force "$2"
}

one_exec() { # RT ID
    $(rt_cmd "$1") exec "$2" /bin/true
}

measure() { # TEST: N containers, the runtimes taking turns
    local test=$1 i rt list=""
    for rt in $RUNTIMES; do
        [[ $rt == floor* ]] && [ "$test" != run ] && continue
        list="$list $rt"
        : >"$SAMPLES/$MODE.$test.$rt.samples"
        : >"$SAMPLES/$MODE.$test.$rt.fails"
    done
    if [ "$test" = exec ]; then
        for rt in $list; do
            $(rt_cmd "$rt") create --bundle "$W/bundle-$MODE-sleep" "bx-$rt" >>"$ERRLOG" 2>&1 &&
                $(rt_cmd "$rt") start "bx-$rt" >>"$ERRLOG" 2>&1 ||
                echo "could not start a container to exec into" >>"$SAMPLES/$MODE.exec.$rt.fails"
        done
    fi
    for ((i = 0; i < N; i++)); do
        for rt in $list; do
            case $test in
            run) timed "$SAMPLES/$MODE.run.$rt.samples" one_run "$rt" "b$i-$rt" ;;
            lifecycle) timed "$SAMPLES/$MODE.lifecycle.$rt.samples" one_lifecycle "$rt" "bl$i-$rt" ;;
            exec) timed "$SAMPLES/$MODE.exec.$rt.samples" one_exec "$rt" "bx-$rt" ;;
            esac
        done
    done
    if [ "$test" = exec ]; then
        for rt in $list; do
            $(rt_cmd "$rt") delete --force "bx-$rt" >>"$ERRLOG" 2>&1
        done
    fi
}

measure_rss() {
    local rt i
    for rt in $RUNTIMES; do
        : >"$SAMPLES/$MODE.rss.$rt.samples"
        for ((i = 0; i < RSS_N; i++)); do
            # GNU time waits for the runtime itself: %M is the largest
            # RSS among it and the processes it waited for.
            if [[ $rt == floor* ]]; then
                /usr/bin/time -f %M -o "$SAMPLES/tmp.rss.$MODE" $(rt_cmd "$rt") "$W/rootfs" /bin/true >>"$ERRLOG" 2>&1
            else
                /usr/bin/time -f %M -o "$SAMPLES/tmp.rss.$MODE" $(rt_cmd "$rt") run \
                    --bundle "$W/bundle-$MODE-true" "br$i-$rt" >>"$ERRLOG" 2>&1
            fi && tail -n 1 "$SAMPLES/tmp.rss.$MODE" >>"$SAMPLES/$MODE.rss.$rt.samples"
        done
        rm -f "$SAMPLES/tmp.rss.$MODE"
    done
}

# What a runtime left in its state directory: a container each of them
# should have deleted.
leftovers() {
    local rt n
    for rt in $RUNTIMES; do
        [[ $rt == floor* ]] && continue
        n=$(find "$STATE/$MODE/$rt" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
        echo "$n" >"$SAMPLES/$MODE.leftover.$rt"
    done
}

inner() { # in the private mount namespace
    MODE=$1
    ERRLOG=$SAMPLES/errors.$MODE.log
    local test
    for test in $TESTS; do
        measure "$test"
    done
    measure_rss
    leftovers
}

# ------------------------------------------------------------- the summary
# stats FILE -> "median q1 q3 min max total count" in ms (total in s)
stats() {
    sort -n "$1" | awk '
        { v[NR] = $1; sum += $1 }
        function q(p,   i) { i = int(p * (NR - 1)) + 1; return v[i] / 1000 }
        END {
            if (NR == 0) { print "- - - - - - 0"; exit }
            printf "%.2f %.2f %.2f %.2f %.2f %.3f %d\n", q(0.5), q(0.25), q(0.75), v[1] / 1000, v[NR] / 1000, sum / 1e6, NR
        }'
}

median_of() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR - 1) / 2) + 1]; else print "-" }'; }

count_lines() { awk 'NF { n++ } END { print n + 0 }' "$1" 2>/dev/null || echo 0; }

ALL_RUNTIMES="mdrun crun runc floor floor-spec"

summary_rows() { # WHERE DIR -> where mode test rt median q1 q3 min max total count fails
    local where=$1 dir=$2 mode test rt f
    for mode in rootful rootless; do
        for test in run lifecycle exec; do
            for rt in $ALL_RUNTIMES; do
                f=$dir/$mode.$test.$rt
                [ -f "$f.samples" ] || continue
                echo "$where $mode $test $rt $(stats "$f.samples") $(count_lines "$f.fails")"
            done
        done
    done
}

rss_rows() { # WHERE DIR -> where mode rt KiB
    local where=$1 dir=$2 mode rt f
    for mode in rootful rootless; do
        for rt in $ALL_RUNTIMES; do
            f=$dir/$mode.rss.$rt.samples
            [ -f "$f" ] && echo "$where $mode $rt $(median_of "$f")"
        done
    done
}

report() {
    local rows rss memmax="" leftover f
    rows=$(
        summary_rows host "$W/samples"
        summary_rows vm "$W/vm/samples"
    )
    rss=$(
        rss_rows host "$W/samples"
        rss_rows vm "$W/vm/samples"
    )
    [ -f "$W/vm/memory-max" ] && memmax=$(cat "$W/vm/memory-max")
    leftover=$(for f in "$W"/samples/*.leftover.* "$W"/vm/samples/*.leftover.*; do
        [ -f "$f" ] || continue
        [ "$(cat "$f")" = 0 ] || echo "$(basename "$f"): $(cat "$f")"
    done)
    if [ "$JSON" = 1 ]; then
        report_json "$rows" "$rss" "$memmax" "$leftover"
    else
        report_table "$rows" "$rss" "$memmax" "$leftover"
    fi
}

# The ratio of mdrun's median to each peer's, same place, mode and test.
ratios() {
    awk '{ m[$1" "$2" "$3" "$4] = $5; k[$1" "$2" "$3] = 1; r[$4] = 1 }
        END {
            for (x in k) {
                if (!((x" mdrun") in m) || m[x" mdrun"] == "-") continue
                for (p in r) {
                    if (p == "mdrun" || !((x" "p) in m) || m[x" "p] == "-" || m[x" "p] == 0) continue
                    printf "%s %s %.2f\n", x, p, m[x" mdrun"] / m[x" "p]
                }
            }
        }' <<<"$1" | sort
}

host_line() {
    echo "$(nproc) CPUs, load average $LOAD at the start, kernel $(uname -r), cgroups: $LAYOUT"
}

report_table() {
    local rows=$1 rss=$2 memmax=$3 leftover=$4
    echo "mdrun bench: $N containers per runtime and test ($(host_line))"
    echo "times in ms per container: median, quartiles, min, max; total: all N, in s"
    echo
    {
        echo "where mode test runtime median q1 q3 min max total n fails"
        echo "$rows"
    } | column -t
    echo
    echo "mdrun's median / the peer's (below 1: mdrun is faster)"
    { echo "where mode test peer mdrun/peer"; ratios "$rows"; } | column -t
    echo
    echo "peak RSS of \`run /bin/true\` (KiB, median of $RSS_N)"
    { echo "where mode runtime KiB"; echo "$rss"; } | column -t
    if [ -n "$memmax" ]; then
        echo
        echo "smallest memory.max under which \`run /bin/true\` succeeds (cgroup v2 guest)"
        { echo "mode runtime KiB"; echo "$memmax"; } | column -t
    fi
    if [ -n "$leftover" ]; then
        echo
        echo "containers left in a state directory: $leftover"
    fi
    [ -n "$MISSING" ] && echo && echo "not measured: $MISSING"
    return 0
}

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

report_json() {
    local rows=$1 rss=$2 memmax=$3 leftover=$4 sep
    printf '{\n  "n": %s,\n  "host": %s,\n' "$N" "$(json_str "$(host_line)")"
    printf '  "results": ['
    sep=""
    while read -r where mode test rt med q1 q3 min max total count fails; do
        [ -n "$where" ] || continue
        printf '%s\n    {"where": "%s", "mode": "%s", "test": "%s", "runtime": "%s", "median_ms": %s, "q1_ms": %s, "q3_ms": %s, "min_ms": %s, "max_ms": %s, "total_s": %s, "samples": %s, "failures": %s}' \
            "$sep" "$where" "$mode" "$test" "$rt" "${med/-/null}" "${q1/-/null}" "${q3/-/null}" "${min/-/null}" "${max/-/null}" "${total/-/null}" "$count" "$fails"
        sep=,
    done <<<"$rows"
    printf '\n  ],\n  "ratios": ['
    sep=""
    while read -r where mode test peer ratio; do
        [ -n "$where" ] || continue
        printf '%s\n    {"where": "%s", "mode": "%s", "test": "%s", "peer": "%s", "mdrun_over_peer": %s}' \
            "$sep" "$where" "$mode" "$test" "$peer" "$ratio"
        sep=,
    done <<<"$(ratios "$rows")"
    printf '\n  ],\n  "peak_rss_kib": ['
    sep=""
    while read -r where mode rt kib; do
        [ -n "$where" ] || continue
        printf '%s\n    {"where": "%s", "mode": "%s", "runtime": "%s", "kib": %s}' "$sep" "$where" "$mode" "$rt" "${kib/-/null}"
        sep=,
    done <<<"$rss"
    printf '\n  ],\n  "memory_max_kib": ['
    sep=""
    while read -r mode rt kib; do
        [ -n "$rt" ] || continue
        printf '%s\n    {"mode": "%s", "runtime": "%s", "kib": %s}' "$sep" "$mode" "$rt" "${kib/-/null}"
        sep=,
    done <<<"$memmax"
    printf '\n  ],\n  "leftovers": %s,\n  "not_measured": %s\n}\n' \
        "$(json_str "$(echo $leftover)")" "$(json_str "$MISSING")"
}

# ------------------------------------------------------------------ setup
# config.json of `mdrun spec [--rootless]` (as the mode's user), running
# ARGS, without a terminal, on the shared rootfs; ociVersion 1.0.2 since
# crun 1.8 refuses later ones.
make_bundle() { # MODE NAME ARGS-JSON
    local dir=$W/bundle-$1-$2 spec=(spec) as=()
    mkdir -p "$dir"
    if [ "$1" = rootless ]; then
        spec+=(--rootless)
        chown "$USER_NAME:" "$dir"
        as=(runuser -u "$USER_NAME" --)
    fi
    (cd "$dir" && "${as[@]}" "$MDRUN" "${spec[@]}") || fail "mdrun spec failed in $dir"
    sed -i -e 's/"terminal": true/"terminal": false/' \
        -e "s|^\t\t\t\"sh\"\$|\t\t\t$3|" \
        -e 's/"ociVersion": "[^"]*"/"ociVersion": "1.0.2"/' \
        -e "s|\"path\": \"rootfs\"|\"path\": \"$W/rootfs\"|" "$dir/config.json"
    grep -q "$3" "$dir/config.json" || fail "could not set the arguments in $dir/config.json"
}

setup() {
    W=$(mktemp -d /tmp/mdrun-bench.XXXXXX) || fail "mktemp"
    chmod 0755 "$W"
    # A copy: immune to a rebuild during the run, readable by the user.
    install -m 0755 "$MDRUN" "$W/mdrun" || fail "could not copy $MDRUN"
    MDRUN=$W/mdrun
    "$top/examples/busybox-bundle.sh" "$W/bb" "$MDRUN" >/dev/null || fail "could not make the busybox rootfs"
    mv "$W/bb/rootfs" "$W/rootfs" && rm -rf "$W/bb"
    local mode
    for mode in $MODES; do
        make_bundle "$mode" true '"/bin/true"'
        make_bundle "$mode" sleep '"sleep", "1000000"'
    done
    mkdir -p "$W/xdg"
    chown "$USER_NAME:" "$W/xdg" 2>/dev/null
    chmod 0700 "$W/xdg"
    if [ -z "$FLOOR" ]; then
        FLOOR=$W/floor
        ${CC:-cc} -O2 -o "$FLOOR" "$here/floor.c" || fail "could not build $here/floor.c"
    else
        install -m 0755 "$FLOOR" "$W/floor" || fail "could not copy $FLOOR"
        FLOOR=$W/floor
    fi
}

# Where one series of measures keeps its samples and state: DIR/samples,
# DIR/state/MODE, the latter two the user's for rootless.  The state on a
# tmpfs when /dev/shm is one, as /run and $XDG_RUNTIME_DIR are on most
# hosts (not on this one: a disk's journal would be measured with it).
SHM_STATE=""
make_dirs() { # DIR
    local mode
    mkdir -p "$1/samples"
    chown "$USER_NAME:" "$1/samples" 2>/dev/null
    if [ -z "$SHM_STATE" ] && [ "$(stat -fc %T /dev/shm 2>/dev/null)" = tmpfs ]; then
        SHM_STATE=$(mktemp -d /dev/shm/mdrun-bench-state.XXXXXX) && chmod 0755 "$SHM_STATE"
    fi
    [ -n "$SHM_STATE" ] && ln -sfn "$SHM_STATE" "$1/state"
    for mode in $MODES; do
        mkdir -p "$1/state/$mode"
        [ "$mode" = rootless ] && chown "$USER_NAME:" "$1/state/$mode"
    done
    SAMPLES=$1/samples STATE=$1/state
}

# The inner run: a private mount namespace without the empty cgroup2 of a
# hybrid host, then as the mode's user.
run_mode() { # MODE
    local as=() env=(env -i PATH="$PATH" LC_ALL=C HOME="$W")
    if [ "$1" = rootless ]; then
        as=(runuser -u "$USER_NAME" --)
        env+=(XDG_RUNTIME_DIR="$W/xdg")
    fi
    env+=(W="$W" SAMPLES="$SAMPLES" STATE="$STATE")
    unshare -m --propagation private bash -c '
        if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified || exit 1; fi
        exec "$@"' bench "${as[@]}" "${env[@]}" bash "$here/bench.sh" --inner "$1" --n "$N" \
        --runtimes "$RUNTIMES" --tests "$TESTS" --rss "$RSS_N" --mdrun "$MDRUN" --floor "$FLOOR"
}

# In the guest: the smallest memory.max (KiB) under which RT runs
# /bin/true in MODE, by bisection in 16 KiB steps.  Each try in a fresh
# cgroup C (what an earlier try left charged, such as the per-CPU charge
# stock, made the floor look 150 KiB larger): the runtime runs in
# C/runner, moved there by root; rootful, its container in C/ctr (the
# limit covers both); rootless, as the user (setpriv: no process stays
# behind, unlike runuser's PAM session) with the bundle of `mdrun spec
# --rootless`, in a cgroup the user may not write: mdrun runs such a
# container without a cgroup of its own, in the runner's, and crun and
# runc do the same.  memory.oom.group: an OOM kills them all, so that no
# survivor waits for a dead partner.
memory_floor() { # RT MODE
    local rt=$1 mode=$2 cg lo=0 hi=262144 mid i=0 bundle=$W/vm/bundle-$1-$2 cmd as=()
    mkdir -p "$bundle"
    if [ "$mode" = rootless ]; then
        cp "$W/bundle-rootless-true/config.json" "$bundle/config.json"
        as=(setpriv --reuid "$USER_NAME" --regid "$(id -g "$USER_NAME")" --init-groups
            env HOME="$VM_HOME" XDG_RUNTIME_DIR="$VM_HOME")
    fi
    try() {
        i=$((i + 1))
        cg=/sys/fs/cgroup/mdbench-$rt-$mode-$i
        mkdir -p "$cg/runner" || return 1
        echo 0 >"$cg/memory.swap.max" 2>/dev/null
        echo 1 >"$cg/memory.oom.group"
        [ "$mode" = rootful ] && sed "s|\"linux\": {|\"linux\": {\n\t\t\"cgroupsPath\": \"/${cg##*/}/ctr\",|" \
            "$W/bundle-rootful-true/config.json" >"$bundle/config.json"
        cmd="$(MODE=$mode rt_cmd "$rt") run --bundle $bundle mm$i"
        [ "$rt" = floor ] && cmd="$FLOOR $W/rootfs /bin/true"
        [ "$rt" = floor-spec ] && cmd="$FLOOR --spec $W/rootfs /bin/true"
        echo $(($1 * 1024)) >"$cg/memory.max" || return 1
        timeout 60 sh -c 'echo $$ >"$0/runner/cgroup.procs" && exec "$@"' "$cg" "${as[@]}" $cmd >/dev/null 2>&1
        local rc=$?
        echo max >"$cg/memory.max"
        [[ $rt == floor* ]] || "${as[@]}" $(MODE=$mode rt_cmd "$rt") delete --force "mm$i" >/dev/null 2>&1
        rmdir "$cg/ctr" "$cg/runner" "$cg" 2>/dev/null
        return $rc
    }
    if ! try $hi; then
        echo "$mode $rt -"
        return
    fi
    while [ $((hi - lo)) -gt 16 ]; do
        mid=$(((lo + hi) / 2))
        if try $mid; then hi=$mid; else lo=$mid; fi
    done
    echo "$mode $rt $hi"
}

in_vm() { # the guest's part, as root in the root cgroup
    [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || fail "the guest has no cgroup v2"
    make_dirs "$W/vm"
    # The state on the guest's own tmpfs: the work directory is 9p there.
    STATE=/run/mdrun-bench
    mkdir -p "$STATE/rootful" "$STATE/rootless"
    chown "$USER_NAME:" "$STATE/rootless" 2>/dev/null
    local rt mode MODE=rootful as
    # The user's HOME (mdrun's seccomp cache) and XDG_RUNTIME_DIR.
    VM_HOME=$STATE/home
    install -d -m 0700 -o "$USER_NAME" "$VM_HOME" 2>/dev/null
    echo +memory >/sys/fs/cgroup/cgroup.subtree_control || fail "no memory controller in the guest"
    # Each runtime once outside the limit, so that the page cache of its
    # binary and libraries (and mdrun's seccomp cache) is charged elsewhere.
    for mode in $MODES; do
        as=()
        [ "$mode" = rootless ] && as=(setpriv --reuid "$USER_NAME" --regid "$(id -g "$USER_NAME")"
            --init-groups env HOME="$VM_HOME" XDG_RUNTIME_DIR="$VM_HOME")
        for rt in $RUNTIMES; do
            [[ $rt == floor* ]] ||
                "${as[@]}" $(MODE=$mode rt_cmd "$rt") run --bundle "$W/bundle-$mode-true" warm >/dev/null 2>&1
        done
    done
    for mode in $MODES; do
        for rt in $RUNTIMES; do
            note "guest: memory.max for $rt, $mode"
            memory_floor "$rt" "$mode" 2>/dev/null # the shell's "Killed" at each OOM
        done
    done >"$W/vm/memory-max"
    [ "$MEM_ONLY" = 1 ] && return
    for mode in $MODES; do
        note "guest: $mode, $N containers per test"
        run_mode "$mode"
    done
}

# ----------------------------------------------------------------- main
INNER="" IN_VM=0
while [ $# -gt 0 ]; do
    case $1 in
    --n) N=$2; shift 2 ;;
    --vm-n) VM_N=$2; shift 2 ;;
    --json) JSON=1; shift ;;
    --vm) VM=1; shift ;;
    --memory-only) MEM_ONLY=1; VM=1; shift ;;
    --runtimes) RUNTIMES=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --rss) RSS_N=$2; shift 2 ;;
    --mdrun) MDRUN=$2; shift 2 ;;
    --floor) FLOOR=$2; shift 2 ;;
    --user) USER_NAME=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --inner) INNER=$2; shift 2 ;;
    --in-vm) IN_VM=1; W=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
    esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || fail "--n must be a positive number"

if [ -n "$INNER" ]; then
    inner "$INNER"
    exit 0
fi

[ "$(id -u)" = 0 ] || fail "run as root: it measures rootful containers and switches to $USER_NAME for rootless ones"
[ -n "$MDRUN" ] || MDRUN=$(command -v mdrun) || fail "no mdrun: give --mdrun PATH (make bench does)"
MDRUN=$(realpath "$MDRUN")
[ -x "$MDRUN" ] || fail "$MDRUN is not executable"

MISSING=""
missing() { MISSING="${MISSING:+$MISSING; }$*"; }
if [ -z "$RUNTIMES" ]; then
    RUNTIMES="mdrun"
    for rt in crun runc; do
        if command -v $rt >/dev/null; then RUNTIMES="$RUNTIMES $rt"; else missing "$rt (apt-get install -y $rt)"; fi
    done
    RUNTIMES="$RUNTIMES floor floor-spec"
fi
command -v column >/dev/null || fail "column is missing (apt-get install -y bsdextrautils)"
if [ ! -x /usr/bin/time ]; then
    missing "peak RSS (apt-get install -y time)"
    RSS_N=0
fi
if [[ " $MODES " == *" rootless "* ]] && ! id "$USER_NAME" >/dev/null 2>&1; then
    missing "rootless (no user $USER_NAME: tests/setup-test-user.sh)"
    MODES=${MODES/rootless/}
fi
command -v busybox >/dev/null || fail "busybox is missing (apt-get install -y busybox-static)"

LOAD=$(cut -d' ' -f1 /proc/loadavg)
LAYOUT="cgroup v1"
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && LAYOUT="cgroup v2"
[ -d /sys/fs/cgroup/unified ] && LAYOUT="hybrid (runtimes run without /sys/fs/cgroup/unified)"

if [ "$IN_VM" = 1 ]; then
    N=$VM_N
    in_vm
    exit 0
fi

setup
trap '[ "$KEEP" = 1 ] || rm -rf "$W" ${SHM_STATE:+"$SHM_STATE"}' EXIT
make_dirs "$W"
for mode in $MODES; do
    [ "$MEM_ONLY" = 1 ] && break
    note "$mode: $TESTS, $N containers each: $RUNTIMES"
    run_mode "$mode" || fail "the $mode measures failed"
done
if [ "$VM" = 1 ]; then
    if ! command -v qemu-system-x86_64 >/dev/null; then
        missing "the cgroup v2 guest (apt-get install -y qemu-system-x86)"
    else
        note "the cgroup v2 guest: memory.max, then $VM_N containers per test"
        (cd "$W" && "$top/tests/vm/vm.sh" --timeout 3000 -- bash "$here/bench.sh" --in-vm "$W" \
            --vm-n "$VM_N" --runtimes "$RUNTIMES" --modes "$MODES" --tests "$TESTS" --rss "$RSS_N" \
            --mdrun "$MDRUN" --floor "$FLOOR" --user "$USER_NAME" $([ "$MEM_ONLY" = 1 ] && echo --memory-only)) >&2 ||
            missing "the cgroup v2 guest failed (exit status $?)"
    fi
fi
for f in "$W"/samples/errors.*.log "$W"/vm/samples/errors.*.log; do
    if grep -q "^exit " "$f" 2>/dev/null; then
        note "some commands failed; the first lines of $f (kept):"
        head -n 5 "$f" >&2
        KEEP=1
    fi
done
report
