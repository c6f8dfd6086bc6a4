#!/bin/bash
# example.sh - from a fresh Debian 12 machine to a first container:
# installs the packages (scripts/deps.sh), builds mdrun in build/, then as
# an unprivileged user makes a busybox bundle with `mdrun spec --rootless`
# (examples/busybox-bundle.sh), checks it with `mdrun validate` and runs it
# with `mdrun run`.  BUILD_DIR chooses the build directory (default build).
#
# Run as root (or with sudo) it runs the example as $SUDO_USER when set,
# else as the user mdrun-test, which it creates (tests/setup-test-user.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
scripts/deps.sh
scripts/build.sh "$build"

# A private copy of what the user runs: the checkout may sit where that
# user cannot read (e.g. under /root).
work=$(mktemp -d /tmp/mdrun-example.XXXXXX)
chmod 0755 "$work"
install -m 0755 "$build/mdrun" "$work/mdrun"
install -m 0755 examples/busybox-bundle.sh "$work/busybox-bundle.sh"
cat >"$work/example" <<'SCRIPT'
#!/bin/sh
# The example proper, run as an unprivileged user.
set -eu
cd "$(dirname "$0")"
work=$(pwd)
./busybox-bundle.sh "$work/bundle" "$work/mdrun"
# A program that shows where it runs, without a terminal (no tty here).
sed -i -e 's/"terminal": true/"terminal": false/' \
    -e 's|^\t\t\t"sh"$|\t\t\t"sh", "-c", "echo hello from $(hostname); id; cat /proc/self/uid_map; ps"|' \
    "$work/bundle/config.json"
echo
echo "\$ mdrun validate --bundle $work/bundle"
./mdrun validate --bundle "$work/bundle"
echo
echo "\$ mdrun run --bundle $work/bundle example"
./mdrun run --bundle "$work/bundle" example
SCRIPT
chmod 0755 "$work/example"

if [[ $(id -u) -eq 0 ]]; then
    user=${SUDO_USER:-}
    if [[ -z $user || $user == root ]]; then
        user=mdrun-test
        tests/setup-test-user.sh "$user"
    fi
    chown -R "$user:" "$work"
    echo
    echo "example.sh: running the example as $user (uid $(id -u "$user"))"
    runuser -u "$user" -- env -i PATH="$PATH" HOME="$work" "$work/example"
else
    echo
    echo "example.sh: running the example as $(id -un) (uid $(id -u))"
    "$work/example"
fi

echo
echo "example.sh: the bundle is in $work/bundle; remove it with: rm -rf $work"
