#!/bin/sh
# test-completion.sh - completions/mdrun.bash: the commands are those of
# `mdrun --help`, each command's options those of `mdrun CMD --help`, the
# fixed values of options, signals for kill, and the ids of the containers
# in the --root given (a real created container).  Run by make check
# (MDRUN_BIN, MDRUN_SRCDIR); exit 77 without bash, or, after the other
# checks, without busybox-static for the container.
set -u
me=test-completion.sh
mdrun=${MDRUN_BIN:?$me: run it through make check}
script=${MDRUN_SRCDIR:?$me: run it through make check}/completions/mdrun.bash
status=0

command -v bash >/dev/null 2>&1 || { echo "SKIP: bash is not installed"; exit 77; }

# The completions, one per line and sorted, for the words given (the last
# one is the word under the cursor).
complete_words() {
    bash -c '. "$1" || exit 1; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mdrun
        printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@" | sed '/^$/d' | LC_ALL=C sort
}
# expect WANT WORDS...: the completions must be exactly WANT (words).
expect() {
    want=$(printf '%s\n' $1 | sed '/^$/d' | LC_ALL=C sort)
    shift
    got=$(complete_words "$@")
    if [ "$got" != "$want" ]; then
        echo "$me: FAIL: completing [$*]: got [$(echo $got)], want [$(echo $want)]"
        status=1
    fi
}
# expect_has WORD WORDS...: WORD must be among the completions.
expect_has() {
    want=$1
    shift
    if ! complete_words "$@" | grep -qx -- "$want"; then
        echo "$me: FAIL: completing [$*]: no $want in [$(complete_words "$@" | tr '\n' ' ')]"
        status=1
    fi
}

# The commands: exactly those `mdrun --help` lists.
commands=$("$mdrun" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "$me: FAIL: no commands in mdrun --help"; exit 1; }
expect "$commands" mdrun ""
expect "start state" mdrun st
expect "--root --rootless" mdrun --roo
expect "$commands" mdrun --root /tmp --debug ""

# Global options and their values.
globals=$("$mdrun" --help | sed -n '/^Global options:/,$s/^  \(-[a-z], \)\{0,1\}\(--[a-z-]*\).*/\2/p')
expect "$globals" mdrun --
expect "debug" mdrun --log-level d
expect "cgroupfs systemd disabled" mdrun --cgroup-manager ""
expect "systemd" mdrun --cgroup-manager = s
expect "systemd" mdrun --cgroup-manager=s
expect "true false auto" mdrun --rootless ""

# Each command's options: exactly the long options its --help lists, and
# --help (which some of them do not list).
for cmd in $commands; do
    opts=$("$mdrun" "$cmd" --help | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\).*/\2/p')
    expect "$(printf '%s\n' $opts --help | sort -u)" mdrun "$cmd" --
done
expect "--bundle" mdrun --debug run --bu
expect "table json" mdrun list --format ""
expect "table json" mdrun ps -f ""
expect "text json" mdrun check --format ""
expect "slirp4netns none" mdrun run --net ""
expect "" mdrun run -p ""
expect_has SIGTERM mdrun kill some-id ""
expect_has SIGKILL mdrun kill -a some-id SIGK
expect_has CAP_NET_ADMIN mdrun exec --cap ""

# Paths: a directory for --bundle.
tmp=$(mktemp -d /tmp/mdrun-completion.XXXXXX) || exit 1
mkdir "$tmp/bundle-dir"
expect "$tmp/bundle-dir" mdrun run --bundle "$tmp/bun"

# Container ids, from `mdrun --root DIR list -q`.
id=completion-$$
cleanup() {
    "$mdrun" --root "$tmp/state" delete --force "$id" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    echo "SKIP: no statically linked busybox for the container ids check (apt-get install busybox-static)"
    [ $status = 0 ] && exit 77
    exit $status
fi
sh "$MDRUN_SRCDIR/examples/busybox-bundle.sh" "$tmp/bundle" "$mdrun" >/dev/null || exit 1
sed -i 's/"terminal": true/"terminal": false/' "$tmp/bundle/config.json"
if ! "$mdrun" --root "$tmp/state" create --bundle "$tmp/bundle" "$id"; then
    echo "$me: FAIL: mdrun create failed"
    exit 1
fi
expect "$id" "$mdrun" --root "$tmp/state" kill ""
expect "$id" "$mdrun" --root="$tmp/state" state comp
expect "$id" "$mdrun" --root = "$tmp/state" delete -f ""
expect "" "$mdrun" --root "$tmp/state" state other
expect "" "$mdrun" --root "$tmp/state" exec "$id" ""
expect "" "$mdrun" --root "$tmp/state" run ""
expect "" "$mdrun" --root "$tmp/state/none" kill ""
[ $status = 0 ] && echo "$me: all completions as expected"
exit $status
