#!/bin/sh
# busybox-bundle.sh - make an OCI bundle: a busybox root filesystem and the
# rootless config.json of `mdrun spec --rootless`.
#
# Usage: examples/busybox-bundle.sh DIR [MDRUN]
#   DIR    the bundle directory to create (must not exist yet)
#   MDRUN  the mdrun binary (default: mdrun from PATH)
#
# Needs busybox-static (apt-get install busybox-static): the container has
# no C library, so busybox must be statically linked.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [MDRUN]" >&2
    exit 1
fi
dir=$1
mdrun=${2:-mdrun}

busybox=$(command -v busybox || true)
if [ -z "$busybox" ]; then
    echo "$0: busybox not found: apt-get install busybox-static" >&2
    exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
    echo "$0: $busybox is dynamically linked: apt-get install busybox-static" >&2
    exit 1
fi
if [ -e "$dir" ]; then
    echo "$0: $dir already exists" >&2
    exit 1
fi

rootfs=$dir/rootfs
for d in bin dev etc proc sys tmp root run var usr; do
    mkdir -p "$rootfs/$d"
done
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
ln -s bin "$rootfs/sbin"
ln -s ../bin "$rootfs/usr/bin"
ln -s ../bin "$rootfs/usr/sbin"

cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    # "busybox" is in the list too: a link would replace the binary.
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo busybox >"$rootfs/etc/hostname"

(cd "$dir" && "$mdrun" spec --rootless)
echo "bundle ready: $dir (rootfs/ and config.json)"
