#!/bin/sh
# test-install.sh - `make install DESTDIR=...` installs mdrun, libmdrun.so,
# mdrun.h, mdrun.pc, the man pages and the bash completion, and
# examples/run-container.c builds against those files alone with
# `pkg-config --cflags --libs mdrun` and runs a busybox container through
# the installed library.  Run by make check from the build directory
# (MDRUN_SRCDIR set); exit 77 (skip) without a C compiler, pkg-config or
# busybox-static, with the reason.
set -u
builddir=$(pwd)
srcdir=${MDRUN_SRCDIR:?test-install.sh: run it through make check}
me=test-install.sh
cc=${CC:-cc}

fail() {
    echo "$me: FAIL: $*" >&2
    exit 1
}
skip() {
    echo "SKIP: $*"
    exit 77
}
for tool in "$cc" pkg-config make; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (scripts/deps.sh)"
done
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    skip "no statically linked busybox for the container (apt-get install busybox-static)"
fi

tmp=$(mktemp -d /tmp/mdrun-install.XXXXXX) || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/dest

# make install is `all` (which make check has just built), then these two
# targets.  Only they run here, and nothing is rebuilt (-o): relinking
# mdrun while the other tests run it would make them fail, should a source
# have changed meanwhile.  A make of its own: not the jobserver or the
# variables of the make check that runs this script.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$builddir" -o Makefile -o config.status \
    -o config.h -o mdrun -o libmd/libmdrun.la -o mdrun.pc install-exec-am install-data-am \
    DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    fail "make install DESTDIR=$dest failed"
fi

# Exactly one installed file matching a find(1) -path pattern.
installed() {
    found=$(find "$dest" -path "$dest$1")
    [ -n "$found" ] || fail "nothing installed as $1"
    [ "$(echo "$found" | wc -l)" = 1 ] || fail "more than one $1: $found"
    echo "$found"
}
pc=$(installed '*/lib*/pkgconfig/mdrun.pc') || exit 1
header=$(installed '*/include/mdrun.h') || exit 1
mdrun=$(installed '*/bin/mdrun') || exit 1
completion=$(installed '*/bash-completion/completions/mdrun') || exit 1
cmp -s "$header" "$srcdir/libmd/mdrun.h" || fail "$header differs from libmd/mdrun.h"
cmp -s "$completion" "$srcdir/completions/mdrun.bash" ||
    fail "$completion differs from completions/mdrun.bash"
for page in "$srcdir"/docs/*.1; do
    installed "*/man/man1/$(basename "$page")" >/dev/null || exit 1
done
[ -x "$mdrun" ] || fail "$mdrun is not executable"
# Every command of `mdrun --help` has its page, installed, and mdrun(1)
# points to it.
commands=$("$builddir/mdrun" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || fail "no commands in mdrun --help"
for cmd in $commands; do
    installed "*/man/man1/mdrun-$cmd.1" >/dev/null || exit 1
    grep -q "^\.BR mdrun\\\\-$cmd (1)" "$srcdir/docs/mdrun.1" ||
        fail "docs/mdrun.1 does not refer to mdrun-$cmd(1)"
done
echo "$me: installed: $pc, $header, $mdrun, $completion and the man pages"

# Build the example against the installed files only: a copy outside the
# source tree, so that no other mdrun.h is found next to it.
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
flags=$(pkg-config --cflags --libs mdrun) || fail "pkg-config --cflags --libs mdrun failed"
case $flags in
*"-I$dest"*"-L$dest"* | *"-L$dest"*"-I$dest"*) ;;
*) fail "pkg-config --cflags --libs mdrun does not point into $dest: $flags" ;;
esac
cp "$srcdir/examples/run-container.c" "$tmp/run-container.c"
# A library built with --enable-sanitizers needs its programs built so too
# (the ASan runtime must be loaded first).
san=$(sed -n 's/^MD_SAN_FLAGS = //p' "$builddir/Makefile")
# shellcheck disable=SC2086 # $flags and $san are lists of options
if ! "$cc" -std=c99 -pedantic -Wall -Wextra -Werror $san -o "$tmp/run-container" \
    "$tmp/run-container.c" $flags >"$tmp/cc.log" 2>&1; then
    cat "$tmp/cc.log"
    fail "the example does not build with: $cc ... $flags"
fi
echo "$me: built examples/run-container.c with: $flags"

# It must load the installed libmdrun.so, and run a container with it.
libdir=$(dirname "$(installed '*/lib*/libmdrun.so')") || exit 1
LD_LIBRARY_PATH=$libdir
export LD_LIBRARY_PATH
ldd "$tmp/run-container" | grep -q "libmdrun.so.* => $libdir/" ||
    fail "run-container does not load $libdir/libmdrun.so: $(ldd "$tmp/run-container")"
sh "$srcdir/examples/busybox-bundle.sh" "$tmp/bundle" "$mdrun" >/dev/null ||
    fail "examples/busybox-bundle.sh failed"
sed -i -e 's/"terminal": true/"terminal": false/' \
    -e 's|^\t\t\t"sh"$|\t\t\t"sh", "-c", "echo installed; exit 3"|' "$tmp/bundle/config.json"
id=install-$$
"$tmp/run-container" --root "$tmp/state" "$tmp/bundle" "$id" >"$tmp/out" 2>"$tmp/err"
status=$?
[ $status = 3 ] || fail "run-container: exit status $status, want 3: $(cat "$tmp/err")"
grep -qx installed "$tmp/out" || fail "no output from the container: $(cat "$tmp/out")"
grep -qx "$id exited with 3" "$tmp/out" || fail "no exit line: $(cat "$tmp/out")"
[ -z "$(ls -A "$tmp/state")" ] || fail "the container's state was left in $tmp/state"
echo "$me: the installed library ran a container (exit status 3)"
