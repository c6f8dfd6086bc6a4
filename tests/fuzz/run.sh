#!/bin/bash
# run.sh - build the libFuzzer target tests/fuzz/fuzz-config.c with clang
# (AddressSanitizer + UBSan) from the library's sources and run it.
#
#   run.sh SRCDIR BUILDDIR LIBMD_SOURCES...
#
# `make fuzz FUZZ_SECONDS=N` calls it with the sources Makefile.am lists.
# Environment:
#   FUZZ_CC       the compiler (clang); it must ship libFuzzer
#   FUZZ_SECONDS  how long to fuzz (60); 0 only builds
#   FUZZ_CFLAGS   the library's dependencies' -I flags (from configure)
#   FUZZ_LIBS     the library's dependencies' -l flags (from configure)
#   FUZZ_ARGS     more libFuzzer options, e.g. "-workers=2 -jobs=2"
#   JOBS          parallel compilations (2)
#
# Everything lands in BUILDDIR/tests/fuzz: the objects, the fuzz-config
# binary, corpus/ (what the fuzzer learned; kept between runs, seeded from
# tests/fuzz/corpus and tests/fixtures) and crashes/.  Exit status 77 when
# the compiler or libFuzzer is missing, 1 when the fuzzer found a problem.
set -uo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: run.sh SRCDIR BUILDDIR LIBMD_SOURCES..." >&2
    exit 2
fi
src=$(cd "$1" && pwd) || exit 1
build=$(cd "$2" && pwd) || exit 1
shift 2
cc=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-60}
out=$build/tests/fuzz
mkdir -p "$out/obj" "$out/corpus" "$out/crashes" || exit 1

# The sanitizers and the fuzzer's coverage on every object; only the final
# link brings libFuzzer's main().
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
flags=(-g -O1 -std=gnu11 -fno-omit-frame-pointer $san -fsanitize=fuzzer-no-link
    -iquote "$src/libmd" -I"$build" ${FUZZ_CFLAGS:-})

# Can this compiler build and link a libFuzzer target at all?
probe() {
    local dir rc
    dir=$(mktemp -d) || return 1
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$dir/p.c"
    "$cc" $san -fsanitize=fuzzer -o "$dir/p" "$dir/p.c" >"$dir/log" 2>&1
    rc=$?
    [[ $rc -eq 0 ]] || sed 's/^/  /' "$dir/log" >&2
    rm -rf "$dir"
    return $rc
}

if ! command -v "$cc" >/dev/null; then
    echo "fuzz: SKIPPED: no $cc (apt-get install clang libclang-rt-dev)" >&2
    exit 77
fi
if ! probe; then
    echo "fuzz: SKIPPED: $cc cannot link -fsanitize=fuzzer (apt-get install libclang-rt-dev)" >&2
    exit 77
fi

# Compile the library's sources that changed (or whose headers did) since
# the last build, in parallel, into one archive: the link then takes only
# the objects the target needs.
newest_header=$(ls -t "$src"/libmd/*.h "$build/config.h" | head -n 1)
objs=()
todo=()
for f in "$@"; do
    [[ $f == *.c ]] || continue
    o=$out/obj/$(basename "${f%.c}").o
    objs+=("$o")
    if [[ ! $o -nt $src/$f || ! $o -nt $newest_header || ! $o -nt $0 ]]; then
        todo+=("$src/$f")
    fi
done
if [[ ${#todo[@]} -gt 0 ]]; then
    echo "fuzz: compiling ${#todo[@]} library sources with $cc"
    failed=0
    for f in "${todo[@]}"; do
        # Removed first: a failed compilation must not leave the old one.
        rm -f "$out/obj/$(basename "${f%.c}").o"
        while [[ $(jobs -rp | wc -l) -ge ${JOBS:-2} ]]; do
            wait -n || failed=1
        done
        "$cc" "${flags[@]}" -c -o "$out/obj/$(basename "${f%.c}").o" "$f" &
    done
    while [[ -n $(jobs -rp) ]]; do
        wait -n || failed=1
    done
    for o in "${objs[@]}"; do
        [[ -f $o ]] || failed=1
    done
    [[ $failed -eq 0 ]] || exit 1
    rm -f "$out/libmd-fuzz.a"
fi
if [[ ! -f $out/libmd-fuzz.a ]]; then
    ar rcs "$out/libmd-fuzz.a" "${objs[@]}" || exit 1
fi
"$cc" "${flags[@]}" -fsanitize=fuzzer -o "$out/fuzz-config" \
    "$src/tests/fuzz/fuzz-config.c" "$out/libmd-fuzz.a" ${FUZZ_LIBS:-} || exit 1
echo "fuzz: built $out/fuzz-config"
[[ $seconds -gt 0 ]] || exit 0

# A dictionary of every property and enumerated name the parser and the
# validator know, taken from the sources so that it follows them.
dict=$out/config.dict
{
    printf '%s\n' 'open="{"' 'close="}"' 'colon=":"' 'array="[]"' 'true="true"' \
        'false="false"' 'null="null"' 'escape="\\u0000"' 'big="18446744073709551616"' \
        'neg="-9223372036854775809"' 'float="1e308"'
    grep -ohE '"[A-Za-z][A-Za-z0-9_.]*"' "$src"/libmd/spec.c "$src"/libmd/names.c \
        "$src"/libmd/validate*.c | sort -u | sed 's/^"\(.*\)"$/"\\"\1\\""/'
} >"$dict"

echo "fuzz: running for $seconds s (crashes go to $out/crashes/)"
before=$(ls "$out/crashes" | wc -l)
# The seeds: tests/fuzz/corpus (outputs of mdrun spec, process and
# resources objects) and every fixture config (read recursively); new
# inputs are written to the first directory only.  The log keeps the
# periodic and final coverage lines, not one line per new input.
"$out/fuzz-config" -max_total_time="$seconds" -print_final_stats=1 -dict="$dict" \
    -artifact_prefix="$out/crashes/" -timeout=10 -rss_limit_mb=2048 ${FUZZ_ARGS:-} \
    "$out/corpus" "$src/tests/fuzz/corpus" "$src/tests/fixtures" 2>&1 |
    grep -avE '^#[0-9]+[[:space:]]+(NEW|REDUCE) '
rc=${PIPESTATUS[0]}
after=$(ls "$out/crashes" | wc -l)
if [[ $rc -ne 0 || $after -ne $before ]]; then
    echo "fuzz: FAILED: the fuzzer found a problem; reproduce with" >&2
    echo "  $out/fuzz-config $out/crashes/<file>" >&2
    echo "then fix it and copy the file to tests/fuzz/regressions/ (make check replays it)" >&2
    exit 1
fi
echo "fuzz: no problem found in $seconds s"
