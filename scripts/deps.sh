#!/bin/bash
# deps.sh - install the Debian packages needed to build and test mdrun.
#
# Quick on a prepared machine: nothing is installed (and apt-get update is
# not run) when every package is already there.  Uses sudo when not root.
set -euo pipefail

packages=(
    # build
    build-essential autoconf automake libtool pkg-config
    libyajl-dev libseccomp-dev libcap-dev libsystemd-dev
    # tests
    libcriterion-dev busybox-static runc uidmap passwd util-linux
    # test-net: --net slirp4netns
    slirp4netns
    # tests/integration/test-podman.sh: Podman driving mdrun (catatonit is
    # rootless Podman's pause process)
    podman conmon catatonit
    # test-tools (bundles umoci unpacks; script(1) gives them a terminal)
    # and test-containerd.sh (containerd's runc v2 shim driving mdrun; its
    # rootless half runs containerd under rootlesskit)
    umoci bsdutils containerd rootlesskit
    # the cgroup v2 and systemd tests' guest VM (tests/vm/): the emulator,
    # the kernel package's unpacking, and the systemd the guest boots
    qemu-system-x86 xz-utils systemd dbus dbus-user-session
    # the fuzzer (make fuzz: clang's libFuzzer) and memcheck (tests/valgrind/)
    clang libclang-rt-14-dev valgrind
    # style check
    clang-format
)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all ${#packages[@]} packages are installed"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "deps: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
