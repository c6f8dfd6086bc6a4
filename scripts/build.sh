#!/bin/bash
# build.sh - configure and build mdrun out of tree.
#
# Usage: scripts/build.sh [BUILD_DIR [CONFIGURE ARGS...]]
#   BUILD_DIR defaults to build/ in the repository; ./autogen.sh runs first
#   when ./configure does not exist yet (a fresh clone).  JOBS sets make -j
#   (default 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build}
shift || true
[[ $dir == /* ]] || dir=$root/$dir

if [[ ! -x $root/configure ]]; then
    echo "build: generating ./configure (autogen.sh)"
    "$root/autogen.sh"
fi

mkdir -p "$dir"
cd "$dir"
echo "build: configuring $dir $*"
"$root/configure" -q "$@"
echo "build: make -j${JOBS:-2} in $dir"
make -j"${JOBS:-2}"
