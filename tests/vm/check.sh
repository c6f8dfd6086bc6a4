#!/bin/sh
# check.sh - `make check`'s entry for the tests that need a pure cgroup v2
# host ($MDRUN_VM_TESTS, test programs relative to the build directory, set
# by Makefile.am).  On such a host they run here; elsewhere vm.sh boots a
# guest that has one, runs this script again inside it, and reports its
# result.  Exit status: 0 pass, 1 a test failed, 77 skipped (automake's
# SKIP, with the reason printed), 99 the guest could not be run.
#
# MDRUN_VM_TIMEOUT: seconds the guest may take (default 900).
here=$(cd "$(dirname "$0")" && pwd)
tests=${MDRUN_VM_TESTS:-tests/unit/test-cgroup-v2}

for t in $tests; do
    if [ ! -x "$t" ]; then
        echo "check.sh: $t is not built (run it through make check)"
        exit 99
    fi
done

if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
    [ -n "${MDRUN_IN_VM:-}" ] && echo "check.sh: in the guest ($(uname -r))"
    [ -z "${MDRUN_IN_VM:-}" ] && echo "check.sh: this host has pure cgroup v2: running the tests here"
    status=0
    for t in $tests; do
        echo "check.sh: $t"
        "$t" || { echo "check.sh: $t FAILED (exit status $?)"; status=1; }
    done
    exit $status
fi
if [ -n "${MDRUN_IN_VM:-}" ]; then
    echo "check.sh: the guest has no pure cgroup v2 at /sys/fs/cgroup"
    exit 99
fi

layout="cgroup v1"
[ -d /sys/fs/cgroup/unified ] && layout="hybrid cgroup (v1 controllers, empty cgroup2)"
qemu=${MDRUN_VM_QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "SKIP: this host has $layout, and the cgroup v2 tests ($tests) run in a guest VM,"
    echo "SKIP: but $qemu is not installed (apt-get install qemu-system-x86 busybox-static)"
    exit 77
fi
if ! "$here/vm.sh" --prepare; then
    echo "SKIP: this host has $layout, and the guest VM for the cgroup v2 tests cannot be"
    echo "SKIP: prepared (see the message above); tests/vm/README.md says what it needs"
    exit 77
fi

echo "check.sh: this host has $layout: running $tests in a guest VM"
start=$(date +%s)
# The checkout too (the guest hides a host's /tmp and /run).
MDRUN_IN_VM=1 MDRUN_VM_SHARE="$here/../.." "$here/vm.sh" --timeout "${MDRUN_VM_TIMEOUT:-900}" -- sh "$here/check.sh"
status=$?
echo "check.sh: the guest took $(($(date +%s) - start)) s"
case $status in
0 | 1) exit $status ;;
124) echo "check.sh: the guest timed out (MDRUN_VM_TIMEOUT=${MDRUN_VM_TIMEOUT:-900})"; exit 1 ;;
125) exit 99 ;;
*) exit 1 ;;
esac
