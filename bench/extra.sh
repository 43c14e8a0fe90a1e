#!/usr/bin/env bash
# bench/extra.sh -- build and run memo's extra benchmarks (benchmarks, not
# tests: nothing fails on time; a non-zero exit means a correctness check
# failed or a build failed).  Run from anywhere: bash bench/extra.sh
#
#   1. storm:    a constructor that always fails (ECONNREFUSED, ~50 us), 64
#                threads calling memo_get for 1 s; attempts/s reaching the
#                "server" without backoff and with two backoff settings
#   2. scaling:  READY getter throughput with 1..N threads and 2N (N = CPUs),
#                memo MEMOIZE vs a plain global load vs pthread_once
#
# Tables are printed, appended to build/bench/results.txt, and written as CSV
# (bench,variant,threads,metric,value) to build/bench/extra.csv.
#
# Environment (all optional):
#   CC                                      compiler (default gcc)
#   STORM_THREADS / STORM_MS / STORM_CTOR_US  (default 64 / 1000 / 50)
#   SCALING_M / SCALING_ROUNDS              gets per thread / rounds (default 200000000 / 3)
set -euo pipefail

cd "$(dirname "$0")/.."
CC=${CC:-gcc}
OUT=build/bench
RESULTS=$OUT/results.txt
CSV=$OUT/extra.csv
STORM_THREADS=${STORM_THREADS:-64}
STORM_MS=${STORM_MS:-1000}
STORM_CTOR_US=${STORM_CTOR_US:-50}
SCALING_M=${SCALING_M:-200000000}
SCALING_ROUNDS=${SCALING_ROUNDS:-3}

mkdir -p "$OUT"
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }
run_logged() { "$@" 2>&1 | tee -a "$RESULTS"; return "${PIPESTATUS[0]}"; }

FLAGS="-O2 -std=c11 -Wall -Wextra -Werror -Iinclude -pthread"
say ""
say "memo extra benchmarks -- $(date -u '+%Y-%m-%d %H:%M:%S UTC') -- $(git rev-parse --short HEAD 2>/dev/null || echo 'no git')"
say "build: $CC $FLAGS"
# shellcheck disable=SC2086
$CC $FLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/storm.c -o "$OUT/storm"
# shellcheck disable=SC2086
$CC $FLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/scaling.c -o "$OUT/scaling"
say ""

echo "bench,variant,threads,metric,value" > "$CSV"
status=0
BENCH_CSV=$CSV run_logged "$OUT/storm" "$STORM_THREADS" "$STORM_MS" "$STORM_CTOR_US" || status=$?
say ""
BENCH_CSV=$CSV run_logged "$OUT/scaling" "$SCALING_M" "$SCALING_ROUNDS" || status=$?
say ""
if [ "$status" -ne 0 ]; then
    say "a correctness check FAILED (exit $status)"
fi
say "results appended to $RESULTS; CSV written to $CSV"
exit "$status"
