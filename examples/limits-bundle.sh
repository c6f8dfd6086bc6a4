#!/bin/sh
# limits-bundle.sh - make an OCI bundle like busybox-bundle.sh, whose
# container has a memory limit and a limit on its number of processes
# (linux.resources.memory.limit and linux.resources.pids.limit).
#
# Usage: examples/limits-bundle.sh DIR [MDRUN]
#   DIR    the bundle directory to create (must not exist yet)
#   MDRUN  the mdrun binary (default: mdrun from PATH)
# Environment: MEMORY_LIMIT in bytes (default 67108864, 64 MiB) and
# PIDS_LIMIT (default 32).
#
# Limits need a cgroup: as root mdrun makes one; as an unprivileged user it
# needs a delegated one (a systemd user session with --systemd-cgroup, or a
# cgroup the user owns), else mdrun refuses to create the container and says
# how to get one (docs/rootless.md).  While the container runs,
# `mdrun events --stats ID` shows its usage against the limits.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [MDRUN]" >&2
    exit 1
fi
dir=$1
mdrun=${2:-mdrun}
memory=${MEMORY_LIMIT:-67108864}
pids=${PIDS_LIMIT:-32}
case $memory$pids in
*[!0-9]*)
    echo "$0: MEMORY_LIMIT and PIDS_LIMIT must be numbers" >&2
    exit 1
    ;;
esac

"$(dirname "$0")/busybox-bundle.sh" "$dir" "$mdrun" >/dev/null

# The resources go first in the "linux" object of the config mdrun spec wrote.
tab=$(printf '\t')
sed -i "/^$tab\"linux\": {\$/a\\
$tab$tab\"resources\": {\\
$tab$tab$tab\"memory\": {\\
$tab$tab$tab$tab\"limit\": $memory\\
$tab$tab$tab},\\
$tab$tab$tab\"pids\": {\\
$tab$tab$tab$tab\"limit\": $pids\\
$tab$tab$tab}\\
$tab$tab}," "$dir/config.json"
grep -q '"resources"' "$dir/config.json" || {
    echo "$0: could not add the limits to $dir/config.json" >&2
    exit 1
}
"$mdrun" validate --bundle "$dir" >/dev/null
echo "bundle ready: $dir (memory limit $memory bytes, at most $pids processes)"
