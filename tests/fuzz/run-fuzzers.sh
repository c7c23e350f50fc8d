#!/bin/bash
# Builds nsrun's libFuzzer targets in a build directory of their own (clang, ASan + UBSan) and fuzzes each for
# a bounded time. Fails if any target crashes (a sanitizer report, a leak, a failed invariant, a timeout) or if
# a committed reproducer in tests/fuzz/crashes/<target>/ still crashes.
#
#   FUZZ_SECONDS  seconds per target (default 20)
#   FUZZ_JOBS     targets fuzzed at once (default: nproc)
#   FUZZ_BUILD    build directory (default build-fuzz)
#   FUZZ_TARGETS  space-separated subset of targets (default: every tests/fuzz/corpus/<target>)
#
# The committed corpus is only read: new inputs go to $FUZZ_BUILD/fuzz-out/<target>/corpus, crashes to
# $FUZZ_BUILD/fuzz-out/<target>/ (crash-*, leak-*, timeout-*). To keep a crash as a regression test, copy it
# to tests/fuzz/crashes/<target>/; once the bug is fixed, 'meson test -C BUILD --suite fuzz' replays it.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

if ! command -v clang > /dev/null; then
        echo "run-fuzzers: clang is missing; install it (apt-get install clang libclang-rt-14-dev, or .ci/install-deps)" >&2
        exit 1
fi
if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
        CC=clang meson setup "$FUZZ_BUILD" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false > /dev/null ||
                { echo "run-fuzzers: cannot configure $FUZZ_BUILD" >&2; exit 1; }
fi
meson compile -C "$FUZZ_BUILD" > "$FUZZ_BUILD/fuzz-compile.log" 2>&1 ||
        { cat "$FUZZ_BUILD/fuzz-compile.log" >&2; echo "run-fuzzers: build failed" >&2; exit 1; }

targets=${FUZZ_TARGETS:-$(ls tests/fuzz/corpus)}
out=$FUZZ_BUILD/fuzz-out
mkdir -p "$out"

# fuzz_one TARGET: replays its known crashes, then fuzzes it; writes its verdict to $out/TARGET/result.
fuzz_one() {
        local t=$1 exe=$FUZZ_BUILD/tests/fuzz/$1 dir=$out/$1 verdict=ok f
        rm -rf "$dir" && mkdir -p "$dir/corpus"
        if [ ! -x "$exe" ]; then
                echo "missing: $exe was not built" > "$dir/result"
                return
        fi
        # A reproducer that still crashes is a bug not fixed yet: a failure, reported as such.
        for f in tests/fuzz/crashes/"$t"/*; do
                [ -f "$f" ] || continue
                if ! "$exe" -close_fd_mask=3 "$f" > "$dir/replay.log" 2>&1; then
                        verdict="known crash still reproduces: $f (see $dir/replay.log)"
                        break
                fi
        done
        # -timeout: one input taking 10 s is a hang; -rss_limit_mb: runaway memory is a bug too.
        "$exe" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -close_fd_mask=3 \
                -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" "tests/fuzz/corpus/$t" \
                > "$dir/fuzz.log" 2>&1
        if [ $? != 0 ]; then
                f=$(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | head -1)
                verdict="CRASH: ${f:-no artifact} (see $dir/fuzz.log)"
        fi
        printf '%s\n' "$verdict" > "$dir/result"
}

for t in $targets; do
        while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do wait -n; done
        fuzz_one "$t" &
done
wait

failed=0
printf '%-24s %10s %9s %6s %7s  %s\n' target runs exec/s corpus rss_mb verdict
for t in $targets; do
        log=$out/$t/fuzz.log
        stat() { sed -n "s/^stat::$1: *//p" "$log" 2>/dev/null | tail -1; }
        verdict=$(cat "$out/$t/result" 2>/dev/null || echo "no result")
        printf '%-24s %10s %9s %6s %7s  %s\n' "$t" "$(stat number_of_executed_units)" \
                "$(stat average_exec_per_sec)" "$(ls "$out/$t/corpus" 2>/dev/null | wc -l)" "$(stat peak_rss_mb)" "$verdict"
        if [ "$verdict" != ok ]; then
                failed=$((failed + 1))
                cat "$out/$t/replay.log" "$out/$t/fuzz.log" 2>/dev/null |
                        grep -m1 -A3 -E 'ERROR: |runtime error|fuzz_assert failed' | sed 's/^/    /'
        fi
done
n=$(echo $targets | wc -w)
echo "run-fuzzers: $n targets for ${FUZZ_SECONDS}s each: $((n - failed)) clean, $failed crashed"
[ "$failed" = 0 ]
