#!/bin/sh
# httpd-bundle.sh - make an OCI bundle that serves a web page on the host:
# busybox httpd in its own network namespace, given a network by
# slirp4netns, with its port 80 published on the host's HOSTPORT.  The
# bundle carries all of it in its annotations (run.mdrun.net,
# run.mdrun.publish), so a plain `mdrun run` is enough, rootless or not.
#
# Usage: examples/httpd-bundle.sh DIR [HOSTPORT [MDRUN]]
#   DIR       the bundle directory to create (must not exist yet)
#   HOSTPORT  the host port to publish on 127.0.0.1 (default: 8080)
#   MDRUN     the mdrun binary (default: mdrun from PATH)
#
# Then:
#   cd DIR && mdrun run -d web        # returns once httpd runs
#   wget -q -O - http://127.0.0.1:HOSTPORT/
#   mdrun delete --force web          # stops slirp4netns too
#
# Needs busybox-static and slirp4netns (apt-get install busybox-static
# slirp4netns), and for a user a /dev/net/tun of mode 0666 (udev's).
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [HOSTPORT [MDRUN]]" >&2
    exit 1
fi
dir=$1
port=${2:-8080}
mdrun=${3:-mdrun}
case $port in
'' | *[!0-9]*)
    echo "$0: HOSTPORT must be a number: $port" >&2
    exit 1
    ;;
esac
if ! command -v slirp4netns >/dev/null; then
    echo "$0: slirp4netns not found: apt-get install slirp4netns" >&2
    exit 1
fi

sh "$(dirname "$0")/busybox-bundle.sh" "$dir" "$mdrun" >/dev/null

mkdir -p "$dir/rootfs/www"
cat >"$dir/rootfs/www/index.html" <<'HTML'
<html><body><h1>Hello from mdrun</h1><p>busybox httpd behind slirp4netns</p></body></html>
HTML

# Edit the config that `mdrun spec --rootless` wrote, one known line at a
# time: httpd in the foreground without a terminal, a network namespace of
# its own, and the annotations that ask for slirp4netns and the port.
config=$dir/config.json
sed -i \
    -e 's/^\(\s*\)"terminal": true,$/\1"terminal": false,/' \
    -e 's|^\(\s*\)"sh"$|\1"httpd", "-f", "-p", "80", "-h", "/www"|' \
    -e 's/^\(\s*\)"namespaces": \[$/&\n\1\t{"type": "network"},/' \
    -e "s/^\\(\\s*\\)\"ociVersion\": .*,\$/&\\n\\1\"annotations\": {\"run.mdrun.net\": \"slirp4netns\", \"run.mdrun.publish\": \"127.0.0.1:$port:80\/tcp\"},/" \
    "$config"

# Every edit must have taken: the checks name what did not.
for want in '"terminal": false' '"httpd", "-f"' '{"type": "network"}' '"run.mdrun.publish"'; do
    if ! grep -qF "$want" "$config"; then
        echo "$0: could not edit $config ($want)" >&2
        exit 1
    fi
done
"$mdrun" validate --bundle "$dir" >/dev/null
echo "bundle ready: $dir (httpd on 127.0.0.1:$port once run)"
