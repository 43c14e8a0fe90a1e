#!/usr/bin/env bash
# bench/plot.sh -- turn the benchmark CSVs into SVG plots for the docs.
# Run from anywhere, after bench/run.sh and/or bench/extra.sh:
#     bash bench/plot.sh
#
# Reads (schema bench,variant,threads,param,metric,value):
#   $BENCH_DIR/fastpath.csv   written by bench/run.sh (ns/get, instructions/get)
#   $BENCH_DIR/extra.csv      written by bench/extra.sh (contention, storm, scaling)
# Writes to $IMG_DIR:
#   fastpath.svg    ns/get per variant (median, min..max bar) and instructions/get
#                   (the C program's TTL getters and clock_gettime references,
#                   ttl_* and clock_*, 5..40 ns, are left out: they would
#                   squash the sub-ns bars; they are in the tables and the CSV)
#   contention.svg  per constructor duration: waiters' CPU ms and wall ms vs
#                   threads (log scales), one line per way of waiting
#   scaling.svg     READY getter throughput and CPU ns/get vs threads
#   storm.svg       attempts/s reaching the failing "server" and gets/s served,
#                   per backoff setting
#   bench.csv       both CSVs concatenated under one header
# A plot whose input is missing is skipped with a note (so is fastpath.svg
# when fastpath.csv does not exist yet); only a missing extra.csv AND
# fastpath.csv is an error.
#
# gnuplot is needed for the SVGs: when it is missing, the script installs
# gnuplot-nox with apt-get if run as root, otherwise prints the command and
# only writes bench.csv (exit 0).
#
# Environment (all optional):
#   BENCH_DIR      where the CSVs are (default build/bench)
#   FASTPATH_CSV   override $BENCH_DIR/fastpath.csv
#   EXTRA_CSV      override $BENCH_DIR/extra.csv
#   IMG_DIR        output directory (default docs/img)
#   BENCH_CPU      CPU named in the titles (default: the last "cpu :" line of
#                  $BENCH_DIR/results.txt, else /proc/cpuinfo of this machine)
#   BENCH_DATE     date in the titles (default: the CSVs' modification date, UTC)
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-build/bench}
FASTPATH_CSV=${FASTPATH_CSV:-$BENCH_DIR/fastpath.csv}
EXTRA_CSV=${EXTRA_CSV:-$BENCH_DIR/extra.csv}
IMG_DIR=${IMG_DIR:-docs/img}
GP=bench/plot
HEADER="bench,variant,threads,param,metric,value"

have_fast=0
have_extra=0
[ -s "$FASTPATH_CSV" ] && have_fast=1
[ -s "$EXTRA_CSV" ] && have_extra=1
if [ $have_fast -eq 0 ] && [ $have_extra -eq 0 ]; then
    echo "plot.sh: neither $FASTPATH_CSV nor $EXTRA_CSV exists: run bench/run.sh and bench/extra.sh first" >&2
    exit 1
fi
for f in "$FASTPATH_CSV" "$EXTRA_CSV"; do
    if [ -s "$f" ] && [ "$(head -n 1 "$f")" != "$HEADER" ]; then
        echo "plot.sh: $f does not start with the header $HEADER" >&2
        exit 1
    fi
done
mkdir -p "$IMG_DIR"

# --- bench.csv: one header, then the rows of both files --------------------------
{
    echo "$HEADER"
    if [ $have_fast -eq 1 ]; then tail -n +2 "$FASTPATH_CSV"; fi
    if [ $have_extra -eq 1 ]; then tail -n +2 "$EXTRA_CSV"; fi
} > "$IMG_DIR/bench.csv"
echo "wrote $IMG_DIR/bench.csv ($(($(wc -l < "$IMG_DIR/bench.csv") - 1)) rows)"

# --- gnuplot ---------------------------------------------------------------------
if ! command -v gnuplot >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "plot.sh: installing gnuplot-nox"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null ||
            { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null; } || true
    fi
    if ! command -v gnuplot >/dev/null 2>&1; then
        echo "plot.sh: gnuplot is not installed: no SVGs (install it: apt-get install gnuplot-nox)"
        exit 0
    fi
fi

# --- title: CPU and date ------------------------------------------------------------
cpu=${BENCH_CPU:-}
if [ -z "$cpu" ] && [ -f "$BENCH_DIR/results.txt" ]; then
    cpu=$(sed -n 's/^cpu *: *//p' "$BENCH_DIR/results.txt" | tail -n 1)
fi
if [ -z "$cpu" ]; then
    cpu="$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1) ($(nproc) online)"
fi
date_of() { date -u -r "$1" '+%Y-%m-%d'; }
if [ -n "${BENCH_DATE:-}" ]; then
    fast_date=$BENCH_DATE
    extra_date=$BENCH_DATE
else
    fast_date=$([ $have_fast -eq 1 ] && date_of "$FASTPATH_CSV" || echo "")
    extra_date=$([ $have_extra -eq 1 ] && date_of "$EXTRA_CSV" || echo "")
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# pivot CSV BENCH PARAM METRIC COLS OUT: a tab-separated table, one row per
# thread count (ascending), one column per variant in COLS ("name=Label|...",
# in that order); a header row of labels; NaN where a value is missing.
# PARAM "*" matches any param.
pivot() {
    awk -F, -v bench="$2" -v param="$3" -v metric="$4" -v cols="$5" '
        BEGIN { n = split(cols, c, "|")
                for (i = 1; i <= n; i++) { split(c[i], kv, "="); name[i] = kv[1]; label[i] = kv[2] } }
        NR > 1 && $1 == bench && (param == "*" || $4 == param) && $5 == metric {
            v[$3 "," $2] = $6; if (!($3 in seen)) { seen[$3] = 1; t[++nt] = $3 + 0 } }
        END {
            for (i = 1; i <= nt; i++) for (j = i + 1; j <= nt; j++) if (t[j] < t[i]) { x = t[i]; t[i] = t[j]; t[j] = x }
            printf "threads"; for (i = 1; i <= n; i++) printf "\t%s", label[i]; printf "\n"
            for (r = 1; r <= nt; r++) {
                printf "%d", t[r]
                for (i = 1; i <= n; i++) { k = t[r] "," name[i]; printf "\t%s", (k in v) ? v[k] : "NaN" }
                printf "\n"
            }
        }' "$1" > "$6"
}

plot_one() { # NAME GPFILE ARGS...: run gnuplot, report
    local name=$1 gp=$2
    shift 2
    if gnuplot "$@" "$gp" 2> "$TMP/$name.err"; then
        grep -v '^ *$' "$TMP/$name.err" >&2 || true
        echo "wrote $IMG_DIR/$name.svg"
    else
        echo "plot.sh: gnuplot failed for $name.svg (removed):" >&2
        cat "$TMP/$name.err" >&2
        rm -f "$IMG_DIR/$name.svg"
        status=1
    fi
}
status=0

# --- fastpath.svg -------------------------------------------------------------------
if [ $have_fast -eq 1 ]; then
    # rows: idx, "program: variant", ns_median, ns_min, ns_max, instr_per_get, program#
    awk -F, '
        NR > 1 && $1 == "fastpath" && $5 != "skipped" && $2 !~ /^(ttl|clock)_/ {
            k = $4 ": " $2
            if (!(k in idx)) { idx[k] = n++; key[idx[k]] = k; prog[idx[k]] = $4 }
            val[k, $5] = $6
        }
        function g(k, m) { return ((k, m) in val) ? val[k, m] : "NaN" }
        END {
            for (i = 0; i < n; i++) {
                k = key[i]; p = prog[i]
                pc = p == "c" ? 1 : p == "cxx" ? 2 : p == "rust" ? 3 : 4
                printf "%d\t%s\t%s\t%s\t%s\t%s\t%d\n", i, k, g(k, "ns_median"), g(k, "ns_min"),
                       g(k, "ns_max"), g(k, "instr_per_get"), pc
            }
        }' "$FASTPATH_CSV" > "$TMP/fastpath.tsv"
    nrows=$(wc -l < "$TMP/fastpath.tsv")
    ninstr=$(awk -F'\t' '$6 != "NaN"' "$TMP/fastpath.tsv" | wc -l)
    if [ "$nrows" -gt 0 ]; then
        plot_one fastpath "$GP/fastpath.gp" -e "data='$TMP/fastpath.tsv'; out='$IMG_DIR/fastpath.svg'; \
nrows=$nrows; ninstr=$ninstr; cpu='$cpu'; date='$fast_date'"
    else
        echo "plot.sh: no fastpath rows in $FASTPATH_CSV: fastpath.svg skipped"
    fi
else
    echo "plot.sh: $FASTPATH_CSV not found: fastpath.svg skipped"
fi

# --- contention.svg, scaling.svg, storm.svg -------------------------------------------
if [ $have_extra -eq 1 ]; then
    ways="memo=memo (futex)|memo_nofutex=memo MEMO_NO_FUTEX|pthread_once=pthread_once|spin_yield=naive spin + sched_yield|spin_pause=naive spin + pause"
    ctors=$(awk -F, 'NR > 1 && $1 == "contention" { print $4 }' "$EXTRA_CSV" | sort -n -u | tr '\n' ' ')
    if [ -n "$ctors" ]; then
        for c in $ctors; do
            pivot "$EXTRA_CSV" contention "$c" waiters_cpu_ms "$ways" "$TMP/contention_cpu_$c.tsv"
            pivot "$EXTRA_CSV" contention "$c" wall_ms "$ways" "$TMP/contention_wall_$c.tsv"
        done
        capped=$(awk -F, 'NR > 1 && $1 == "contention" && $5 == "skipped"' "$EXTRA_CSV" | wc -l)
        rounds=$(awk -F, 'NR > 1 && $1 == "contention" && $5 == "rounds" { print $6; exit }' "$EXTRA_CSV")
        plot_one contention "$GP/contention.gp" -e "dir='$TMP'; out='$IMG_DIR/contention.svg'; \
ctors='$ctors'; capped=$capped; rounds='$rounds'; cpu='$cpu'; date='$extra_date'"
    else
        echo "plot.sh: no contention rows in $EXTRA_CSV: contention.svg skipped"
    fi

    svars=$(awk -F, 'NR > 1 && $1 == "scaling" && !s[$2]++ { printf "%s%s=%s", n++ ? "|" : "", $2, $2 }' "$EXTRA_CSV")
    if [ -n "$svars" ]; then
        pivot "$EXTRA_CSV" scaling "*" gets_per_s "$svars" "$TMP/scaling_gets.tsv"
        pivot "$EXTRA_CSV" scaling "*" cpu_ns_per_get "$svars" "$TMP/scaling_cpu.tsv"
        pivot "$EXTRA_CSV" scaling "*" ns_per_get_thread "$svars" "$TMP/scaling_wall.tsv"
        nv=$(($(head -n 1 "$TMP/scaling_gets.tsv" | tr '\t' '\n' | wc -l) - 1))
        plot_one scaling "$GP/scaling.gp" -e "dir='$TMP'; out='$IMG_DIR/scaling.svg'; nv=$nv; \
ncpu=$(nproc); cpu='$cpu'; date='$extra_date'"
    else
        echo "plot.sh: no scaling rows in $EXTRA_CSV: scaling.svg skipped"
    fi

    # rows: idx, setting, attempts/s, gets/s, threads
    awk -F, '
        NR > 1 && $1 == "storm" {
            if (!($4 in i)) { i[$4] = n++; name[i[$4]] = $4; thr[i[$4]] = $3 }
            v[$4, $5] = $6
        }
        END { for (k = 0; k < n; k++) { s = name[k]
                  printf "%d\t%s\t%s\t%s\t%s\n", k, s, v[s, "attempts_per_s"], v[s, "calls_per_s"], thr[k] } }' \
        "$EXTRA_CSV" > "$TMP/storm.tsv"
    if [ -s "$TMP/storm.tsv" ]; then
        plot_one storm "$GP/storm.gp" -e "data='$TMP/storm.tsv'; out='$IMG_DIR/storm.svg'; \
nrows=$(wc -l < "$TMP/storm.tsv"); cpu='$cpu'; date='$extra_date'"
    else
        echo "plot.sh: no storm rows in $EXTRA_CSV: storm.svg skipped"
    fi
else
    echo "plot.sh: $EXTRA_CSV not found: contention/scaling/storm plots skipped"
fi
exit "$status"
