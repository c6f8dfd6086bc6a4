#!/bin/sh
# setup-test-user.sh - make sure the unprivileged user the integration tests
# run containers as exists, with 65536 subordinate uids and gids, and that
# it may open /dev/net/tun.
#
# Usage (as root): tests/setup-test-user.sh [USER]     (default: mdrun-test)
#
# Idempotent: an existing user and existing ranges of at least 65536 ids are
# kept.  The user stays on the machine afterwards, like an installed
# package; remove it with `userdel mdrun-test`, which also drops its lines
# in /etc/subuid and /etc/subgid.
set -eu

user=${1:-mdrun-test}
count=65536

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-test-user: must run as root" >&2
    exit 1
fi
for tool in useradd usermod getent flock; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "setup-test-user: $tool not found: apt-get install passwd util-linux" >&2
        exit 1
    fi
done

# Serialize concurrent callers (several test binaries may start at once).
exec 9>/run/mdrun-setup-test-user.lock
flock 9

if ! getent passwd "$user" >/dev/null; then
    # No home directory: the tests give the user a private HOME each time.
    useradd --user-group --no-create-home --home-dir /nonexistent \
        --shell /bin/sh --comment "mdrun integration tests" "$user"
fi

# The end (start + count) of the highest range in a subordinate-id file.
top_of() {
    awk -F: '$2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ {
                 end = $2 + $3; if (end > top) top = end }
             END { print top + 0 }' "$1"
}

# True when the file gives the user (by name or uid) at least $count ids.
has_range() {
    awk -F: -v u="$user" -v uid="$(id -u "$user")" -v n="$count" \
        '($1 == u || $1 == uid) && $3 >= n { found = 1 } END { exit !found }' "$1"
}

for file in /etc/subuid /etc/subgid; do
    [ -e "$file" ] || install -m 0644 /dev/null "$file"
done

# A fresh range above every existing one in both files, so it overlaps no
# one else's; computed once so that the uid and gid ranges are the same.
top=$(top_of /etc/subuid)
top_g=$(top_of /etc/subgid)
[ "$top_g" -gt "$top" ] && top=$top_g
[ "$top" -lt 100000 ] && top=100000
start=$(((top + count - 1) / count * count))
end=$((start + count - 1))

has_range /etc/subuid || usermod --add-subuids "$start-$end" "$user"
has_range /etc/subgid || usermod --add-subgids "$start-$end" "$user"

# Rootless networking (slirp4netns) opens /dev/net/tun as the user: udev
# makes it 0666 on a Debian system, but a machine without udev may have
# left the kernel's 0600.  Give it the mode Debian gives it.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
    chmod 0666 /dev/net/tun
    echo "setup-test-user: /dev/net/tun made 0666, as udev does on Debian" >&2
fi

echo "setup-test-user: $user (uid $(id -u "$user")):" \
    "subuid $(grep "^$user:" /etc/subuid | head -n1)," \
    "subgid $(grep "^$user:" /etc/subgid | head -n1)"
