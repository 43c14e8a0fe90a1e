#!/usr/bin/env bash
# bench/extra.sh -- build and run memo's extra benchmarks (benchmarks, not
# tests: nothing fails on time; a non-zero exit means a correctness check
# failed or a build failed).  Run from anywhere: bash bench/extra.sh
#
#   1. contention: threads arriving together on an EMPTY value, swept over
#                  2..256 threads x a constructor of 0, 1 and 50 ms; memo
#                  (futex), memo MEMO_NO_FUTEX, pthread_once, naive spin+yield
#                  and spin+pause: wall time, waiters' CPU, context switches
#   2. storm:      a constructor that always fails (ECONNREFUSED, ~50 us), 64
#                  threads calling memo_get for 1 s; attempts/s reaching the
#                  "server" without backoff and with two backoff settings
#   3. scaling:    READY getter throughput with 1..N threads and 2N (N = CPUs),
#                  memo MEMOIZE vs a plain global load vs pthread_once
#   4. lease:      memo_acquire + memo_release of a READY value, one thread,
#                  vs plain load, memo_get and a mutex-protected refcount
#
# Tables are printed and APPENDED to build/bench/results.txt (bench/run.sh
# runs first and truncates it); every row is also written as CSV to
# build/bench/extra.csv (rewritten each run), header
#     bench,variant,threads,param,metric,value
# (param = constructor ms for contention, backoff setting for storm, empty for
# scaling).  bench/plot.sh turns it into docs/img/*.svg.
#
# Environment (all optional):
#   CC                    compiler (default gcc)
#   CONTENTION_THREADS    comma-separated thread counts (default 2,4,8,16,32,64,128,256)
#   CONTENTION_CTOR_MS    comma-separated constructor durations in ms (default 0,1,50)
#   CONTENTION_ROUNDS     rounds per point and way, median shown (default 5, max 16)
#   CONTENTION_SPIN_CAP_MS  a spin+pause round running longer than this is
#                         abandoned and the point reported as capped (default
#                         5000; 0 = no cap)
#   STORM_THREADS / STORM_MS / STORM_CTOR_US  (default 64 / 1000 / 50)
#   SCALING_M / SCALING_ROUNDS              gets per thread / rounds (default 200000000 / 3)
#   LEASE_N / LEASE_RUNS                    ops per run / runs (default 20000000 / 7)
#   EXTRA_ONLY            run only these, comma-separated: contention,storm,scaling,lease
#                         (default all three)
set -euo pipefail

cd "$(dirname "$0")/.."
. mk/flags.sh   # WARN_BENCH; CC (default gcc)
OUT=build/bench
RESULTS=$OUT/results.txt
CSV=$OUT/extra.csv
CONTENTION_THREADS=${CONTENTION_THREADS:-2,4,8,16,32,64,128,256}
CONTENTION_CTOR_MS=${CONTENTION_CTOR_MS:-0,1,50}
CONTENTION_ROUNDS=${CONTENTION_ROUNDS:-5}
CONTENTION_SPIN_CAP_MS=${CONTENTION_SPIN_CAP_MS:-5000}
STORM_THREADS=${STORM_THREADS:-64}
STORM_MS=${STORM_MS:-1000}
STORM_CTOR_US=${STORM_CTOR_US:-50}
SCALING_M=${SCALING_M:-200000000}
SCALING_ROUNDS=${SCALING_ROUNDS:-3}
EXTRA_ONLY=${EXTRA_ONLY:-contention,storm,scaling,lease}

wanted() { case ",$EXTRA_ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

mkdir -p "$OUT"
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }
run_logged() { "$@" 2>&1 | tee -a "$RESULTS"; return "${PIPESTATUS[0]}"; }

FLAGS="-O2 -std=c11 $WARN_BENCH -Iinclude -Itests/common -pthread"
say ""
say "memo extra benchmarks -- $(date -u '+%Y-%m-%d %H:%M:%S UTC') -- $(git rev-parse --short HEAD 2>/dev/null || echo 'no git')"
say "build: $CC $FLAGS"
say "load average before the run (other work on the machine skews timings): $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
# shellcheck disable=SC2086
$CC $FLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/contention.c bench/contention_nofutex.c -o "$OUT/contention"
# shellcheck disable=SC2086
$CC $FLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/storm.c -o "$OUT/storm"
# shellcheck disable=SC2086
$CC $FLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/scaling.c -o "$OUT/scaling"
# shellcheck disable=SC2086
$CC $FLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/lease.c -o "$OUT/lease"
say ""

echo "bench,variant,threads,param,metric,value" > "$CSV"
status=0
start=$(date +%s)
if wanted contention; then
    BENCH_CSV=$CSV run_logged "$OUT/contention" "$CONTENTION_THREADS" "$CONTENTION_CTOR_MS" \
        "$CONTENTION_ROUNDS" "$CONTENTION_SPIN_CAP_MS" || status=$?
    say ""
fi
if wanted storm; then
    BENCH_CSV=$CSV run_logged "$OUT/storm" "$STORM_THREADS" "$STORM_MS" "$STORM_CTOR_US" || status=$?
    say ""
fi
if wanted scaling; then
    BENCH_CSV=$CSV run_logged "$OUT/scaling" "$SCALING_M" "$SCALING_ROUNDS" || status=$?
    say ""
fi
if wanted lease; then
    BENCH_CSV=$CSV run_logged "$OUT/lease" "${LEASE_N:-20000000}" "${LEASE_RUNS:-7}" || status=$?
    say ""
fi
if [ "$status" -ne 0 ]; then
    say "a correctness check FAILED (exit $status)"
fi
say "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
say "extra benchmarks took $(($(date +%s) - start)) s; results appended to $RESULTS; CSV written to $CSV"
exit "$status"
