#!/bin/bash
# test.sh - build and test mdrun the way CI does, and say clearly what
# passed:
#   1. the Debian packages (scripts/deps.sh);
#   2. a build with -Werror (the build already uses -Wall -Wextra and more)
#      and `make check` in build/;
#   3. a build with AddressSanitizer and UBSan and `make check` in
#      build-asan/;
#   4. clang-format --dry-run --Werror over every .c and .h file.
# Every step runs even when an earlier one failed (except that tests need
# their build); the exit status is 0 only when all passed.
#
# Run it as root (sudo scripts/test.sh): the integration tests run
# containers as root and as the unprivileged user mdrun-test, which they
# create (tests/setup-test-user.sh).  As another user those tests are
# reported as skipped.
#
# Environment: BUILD_DIR (default build), ASAN_BUILD_DIR (build-asan), JOBS
# (2), TEST_TIMEOUT (seconds one test program may take, 600).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
build=${BUILD_DIR:-build}
asan=${ASAN_BUILD_DIR:-build-asan}
export JOBS=${JOBS:-2}

summary=()
failed=()

# step NAME COMMAND...: run one step, timed, and record how it went.
step() {
    local name=$1 start=$SECONDS
    shift
    echo
    echo "==> $name"
    if "$@"; then
        summary+=("PASS  $name ($((SECONDS - start)) s)")
        return 0
    fi
    summary+=("FAIL  $name ($((SECONDS - start)) s)")
    failed+=("$name")
    return 1
}

skip() {
    summary+=("SKIP  $1 ($2)")
    failed+=("$1")
}

# make check; on failure show the log of every test program that failed.
# Each test program runs under timeout(1), so a hung test fails instead of
# eating CI's time.
check() {
    local dir=$1
    if make -C "$dir" -j"$JOBS" check LOG_COMPILER=timeout \
        LOG_FLAGS="--kill-after=10 ${TEST_TIMEOUT:-600}"; then
        return 0
    fi
    if [[ -f $dir/test-suite.log ]]; then
        echo "---- $dir/test-suite.log ----"
        cat "$dir/test-suite.log"
    fi
    return 1
}

format_check() {
    local files
    mapfile -t files < <(find libmd src tests -name '*.[ch]' | sort)
    echo "clang-format: ${#files[@]} files"
    clang-format --dry-run --Werror "${files[@]}"
}

# Sum the Criterion results of every test program of the given builds.  A
# program that failed without a failing test (a crash of the runner, a
# sanitizer report at exit, a timeout) counts as one failure.
count_tests() {
    local pass=0 fail=0 skip=0 trs log p f s
    for dir in "$@"; do
        [[ -d $dir/tests ]] || continue
        while IFS= read -r trs; do
            log=${trs%.trs}.log
            read -r p f s < <(awk -F'|' '
                /Synthesis: Tested:/ {
                    for (i = 1; i <= NF; i++) {
                        n = $i; gsub(/[^0-9]/, "", n)
                        if ($i ~ /Passing/) pass += n
                        if ($i ~ /Failing/) fail += n   # includes the crashes
                    }
                }
                /^\[====\] Skipped: [0-9]+ test/ { s = $0; gsub(/[^0-9]/, "", s); skip += s }
                END { printf "%d %d %d\n", pass, fail, skip }' "$log" 2>/dev/null || echo "0 0 0")
            if grep -qE '^:test-result: (FAIL|ERROR)' "$trs" && [[ $f -eq 0 ]]; then
                f=1
            fi
            pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
        done < <(find "$dir/tests" -name '*.trs')
    done
    echo "$pass $fail $skip"
}

if [[ $(id -u) -ne 0 ]]; then
    echo "test.sh: not root: the tests that need root or the test user will be skipped"
fi

step "install dependencies" scripts/deps.sh || true
if step "build with -Werror ($build)" scripts/build.sh "$build" CFLAGS="-g -O2 -Werror"; then
    step "make check ($build)" check "$build" || true
    # libFuzzer on the config parser and validator; a crash fails CI (its
    # input is left in $build/tests/fuzz/crashes/, see tests/fuzz/run.sh).
    step "fuzz 60 s ($build)" make -C "$build" fuzz FUZZ_SECONDS=60 || true
else
    skip "make check ($build)" "no build"
fi
if step "build with sanitizers ($asan)" scripts/build.sh "$asan" --enable-sanitizers; then
    step "make check with sanitizers ($asan)" check "$asan" || true
else
    skip "make check with sanitizers ($asan)" "no build"
fi
step "clang-format" format_check || true

read -r passed failed_tests skipped < <(count_tests "$build" "$asan")
echo
echo "==================== test.sh summary ===================="
printf '%s\n' "${summary[@]}"
echo
if [[ ${#failed[@]} -gt 0 ]]; then
    status=1
    list=$(printf ', %s' "${failed[@]}")
    echo "test.sh: FAILED: ${list#, }"
else
    status=0
    echo "test.sh: all steps passed"
fi
# Criterion tests of both builds together (skipped ones need root).
echo "tests: $passed passed, $failed_tests failed, $skipped skipped"
exit $status
