#!/bin/sh
# check-systemd.sh - `make check`'s entry for the systemd cgroup driver's
# live tests ($MDRUN_VM_SYSTEMD_TESTS, test programs relative to the build
# directory, set by Makefile.am).  They need systemd as PID 1 on a cgroup
# v2 host, and run twice: as root (the system instance) and as a user with
# a systemd user session (the user's instance, through runuser).
#
#   - On such a host they run here: as whoever runs make check, and, when
#     run as root, also as $MDRUN_TEST_USER (default mdrun-test) if that
#     user's session (user@UID.service) is already up.
#   - Elsewhere vm.sh --systemd boots a guest with systemd as PID 1, runs
#     this script again inside it, which starts D-Bus, logind and the test
#     user's session (the user is added in the guest, whose writes are
#     discarded, when the host lacks it) and runs both passes.
#
# Then, as root with the user's session up, podman-rootless.sh: rootless
# Podman driving mdrun with the systemd cgroup manager (pause/unpause,
# --memory), which a cgroup v1 or hybrid host cannot show.
#
# Exit status: 0 pass, 1 a test failed, 77 skipped (automake's SKIP, with
# the reason printed), 99 the guest could not be run.
# MDRUN_VM_TIMEOUT: seconds the guest may take (default 900).
here=$(cd "$(dirname "$0")" && pwd)
tests=${MDRUN_VM_SYSTEMD_TESTS:-tests/unit/test-cgroup-systemd}
user=${MDRUN_TEST_USER:-mdrun-test}

for t in $tests; do
    if [ ! -x "$t" ]; then
        echo "check-systemd.sh: $t is not built (run it through make check)"
        exit 99
    fi
done

# Run every test program, then the CLI's test (systemd-cli.sh: mdrun
# --systemd-cgroup run); $1: a label, the rest: a command prefix.
run_all() {
    label=$1
    shift
    status=0
    for t in $tests; do
        echo "check-systemd.sh: $t ($label)"
        "$@" "$(pwd)/$t" || { echo "check-systemd.sh: $t FAILED ($label, exit status $?)"; status=1; }
    done
    echo "check-systemd.sh: systemd-cli.sh ($label)"
    "$@" sh "$here/systemd-cli.sh" || { echo "check-systemd.sh: systemd-cli.sh FAILED ($label)"; status=1; }
    return $status
}

# As the test user, in its user session.
run_as_user() {
    uid=$(id -u "$user")
    rt=/run/user/$uid
    run_all "rootless, $user" runuser -u "$user" -- env -u DBUS_SESSION_BUS_ADDRESS \
        XDG_RUNTIME_DIR="$rt" HOME=/tmp TMPDIR=/tmp
}

# Rootless Podman with mdrun (podman-rootless.sh: pause/unpause, --memory),
# as the test user in its session; run as root.  Its skip (podman not
# installed) is said and not counted as a failure.
run_podman() {
    echo "check-systemd.sh: podman-rootless.sh ($user)"
    MDRUN_TEST_USER=$user bash "$here/podman-rootless.sh"
    case $? in
    0) return 0 ;;
    77) echo "check-systemd.sh: podman-rootless.sh skipped (see above)"; return 0 ;;
    *) echo "check-systemd.sh: podman-rootless.sh FAILED"; return 1 ;;
    esac
}

# The guest: bring up what a login would (D-Bus, logind, the user's
# systemd with its delegated cpu, memory and pids), then both passes.
in_guest() {
    echo "check-systemd.sh: in the guest ($(uname -r), $(systemctl --version | head -1))"
    systemctl start dbus.socket systemd-logind.service || exit 99
    if ! getent passwd "$user" >/dev/null; then
        useradd --user-group --no-create-home --home-dir /nonexistent --shell /bin/sh "$user" ||
            exit 99
    fi
    systemctl start "user@$(id -u "$user").service" || exit 99
    status=0
    run_all root || status=1
    run_as_user || status=1
    run_podman || status=1
    exit $status
}

pid1=$(cat /proc/1/comm 2>/dev/null)
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && [ "$pid1" = systemd ]; then
    [ -n "${MDRUN_IN_VM:-}" ] && in_guest
    echo "check-systemd.sh: this host has systemd and cgroup v2: running the tests here"
    status=0
    run_all "$(id -un)" || status=1
    if [ "$(id -u)" = 0 ] && id -u "$user" >/dev/null 2>&1 &&
        systemctl -q is-active "user@$(id -u "$user").service"; then
        run_as_user || status=1
        run_podman || status=1
    elif [ "$(id -u)" = 0 ]; then
        echo "check-systemd.sh: the rootless pass needs $user with a running user session"
        echo "check-systemd.sh: (systemctl start user@\$(id -u $user).service); not run"
    fi
    exit $status
fi
if [ -n "${MDRUN_IN_VM:-}" ]; then
    echo "check-systemd.sh: the guest has no systemd as PID 1 with cgroup v2"
    exit 99
fi

why="this host has no systemd as PID 1 on cgroup v2"
qemu=${MDRUN_VM_QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "SKIP: $why, and the systemd cgroup tests ($tests) run in a guest VM,"
    echo "SKIP: but $qemu is not installed (apt-get install qemu-system-x86 busybox-static)"
    exit 77
fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: $why, and the systemd cgroup tests ($tests) run in a guest VM"
    echo "SKIP: as root (they add a user there and run as it with runuser): run make check as root"
    exit 77
fi
if ! command -v systemctl >/dev/null 2>&1 || ! [ -x /lib/systemd/systemd ]; then
    echo "SKIP: $why, and the guest VM boots this host's systemd, which is not installed"
    exit 77
fi
if ! "$here/vm.sh" --prepare; then
    echo "SKIP: $why, and the guest VM cannot be prepared (see the message above);"
    echo "SKIP: tests/vm/README.md says what it needs"
    exit 77
fi

echo "check-systemd.sh: $why: running $tests in a guest VM with systemd"
start=$(date +%s)
# The checkout too (the guest hides a host's /tmp and /run).
MDRUN_IN_VM=1 MDRUN_VM_SHARE="$here/../.." "$here/vm.sh" --systemd --timeout "${MDRUN_VM_TIMEOUT:-900}" -- sh "$here/check-systemd.sh"
status=$?
echo "check-systemd.sh: the guest took $(($(date +%s) - start)) s"
case $status in
0 | 1) exit $status ;;
124) echo "check-systemd.sh: the guest timed out (MDRUN_VM_TIMEOUT=${MDRUN_VM_TIMEOUT:-900})"; exit 1 ;;
125 | 99) exit 99 ;;
*) exit 1 ;;
esac
