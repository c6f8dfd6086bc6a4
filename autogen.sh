#!/bin/sh
# Regenerate the autotools build files (configure, Makefile.in).
set -e
cd "$(dirname "$0")"
autoreconf --install --force --warnings=all >/dev/null
echo "autogen: now run ./configure && make"
