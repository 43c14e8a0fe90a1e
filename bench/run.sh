#!/usr/bin/env bash
# bench/run.sh -- build and run memo's benchmarks; prints every table and also
# writes them to build/bench/results.txt.  Run from anywhere: bash bench/run.sh
#
#   1. fastpath:   ns per get of a READY value, memo vs the alternatives
#   2. callgrind:  instructions per get (valgrind; skipped if not installed)
#   3. the hot loops' disassembly (objdump; skipped if not installed)
#   4. contention: 64 threads on an EMPTY value with a 150 ms constructor
#
# Environment (all optional):
#   CC                 compiler (default gcc)
#   FASTPATH_N         gets per timed run (default 100000000)
#   FASTPATH_RUNS      timed runs per variant, median reported (default 11)
#   CG_N               gets for the small callgrind run; the big one is 2*CG_N
#                      (default 1000000)
#   CONTENTION_THREADS / CONTENTION_MS / CONTENTION_ROUNDS  (default 64 / 150 / 3)
set -euo pipefail

cd "$(dirname "$0")/.."
CC=${CC:-gcc}
OUT=build/bench
RESULTS=$OUT/results.txt
FASTPATH_N=${FASTPATH_N:-100000000}
FASTPATH_RUNS=${FASTPATH_RUNS:-11}
CG_N=${CG_N:-1000000}
CONTENTION_THREADS=${CONTENTION_THREADS:-64}
CONTENTION_MS=${CONTENTION_MS:-150}
CONTENTION_ROUNDS=${CONTENTION_ROUNDS:-3}

mkdir -p "$OUT"
: > "$RESULTS"

# Print to the terminal and append to results.txt.
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }
run_logged() { "$@" 2>&1 | tee -a "$RESULTS"; return "${PIPESTATUS[0]}"; }

FLAGS="-O2 -std=c11 -Wall -Wextra -Werror -Iinclude -pthread"
say "memo benchmarks -- $(date -u '+%Y-%m-%d %H:%M:%S UTC') -- $(git rev-parse --short HEAD 2>/dev/null || echo 'no git')"
say "build: $CC $FLAGS"
# shellcheck disable=SC2086
$CC $FLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/fastpath.c -o "$OUT/fastpath"
# shellcheck disable=SC2086
$CC $FLAGS bench/contention.c bench/contention_nofutex.c -o "$OUT/contention"
say ""

# --- 1. fast path timing ------------------------------------------------------
run_logged "$OUT/fastpath" "$FASTPATH_N" "$FASTPATH_RUNS"
say ""

# --- 2. instructions per get under callgrind ----------------------------------
say "== fastpath: instructions per get (valgrind --tool=callgrind) =="
if ! command -v valgrind >/dev/null 2>&1; then
    say "valgrind is not installed: instruction counts skipped (apt-get install valgrind)"
else
    CG_N2=$((CG_N * 2))
    say "Ir = instructions executed by the whole program; instructions/get ="
    say "(Ir(fastpath --one V $CG_N2) - Ir(fastpath --one V $CG_N)) / $CG_N, so startup and"
    say "the one construction cancel.  Each get includes the loop's own overhead"
    say "(sink store, counter, branch: the same for every variant); delta = the"
    say "variant minus the plain global load, i.e. what the lazy-init check costs."
    cg_ir() { # variant n -> total Ir
        local log=$OUT/cg.log
        valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" \
            "$OUT/fastpath" --one "$1" "$2" > /dev/null 2> "$log"
        sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$log" | tail -n 1
    }
    say ""
    say "$(printf '%-18s %16s %14s' variant instructions/get 'delta vs plain')"
    say "$(printf '%-18s %16s %14s' ------------------ ---------------- --------------)"
    plain=""
    for v in $("$OUT/fastpath" --list); do
        a=$(cg_ir "$v" "$CG_N")
        b=$(cg_ir "$v" "$CG_N2")
        if [ -z "$a" ] || [ -z "$b" ]; then
            say "$(printf '%-18s %16s' "$v" 'callgrind failed')"
            continue
        fi
        per=$(awk -v a="$a" -v b="$b" -v n="$CG_N" 'BEGIN { printf "%.2f", (b - a) / n }')
        [ -z "$plain" ] && plain=$per
        delta=$(awk -v p="$per" -v q="$plain" 'BEGIN { printf "%+.2f", p - q }')
        say "$(printf '%-18s %16s %14s' "$v" "$per" "$delta")"
    done
    rm -f "$OUT/cg.out" "$OUT/cg.log"
fi
say ""

# --- 3. the hot loops, disassembled --------------------------------------------
# For each loop function: the instructions from the target of its first
# backward branch (to an address inside the function) up to that branch, i.e.
# the loop body as executed when the value is ready.  Full functions go to
# build/bench/disasm.txt.
say "== fastpath: hot loop of each variant (objdump -d, $CC -O2) =="
if ! command -v objdump >/dev/null 2>&1; then
    say "objdump is not installed: disassembly skipped (apt-get install binutils)"
else
    objdump -d --no-show-raw-insn "$OUT/fastpath" |
        awk '/^[0-9a-f]+ <run_[a-z_]*>:$/ { p = 1 } p { print } /^$/ { p = 0 }' > "$OUT/disasm.txt"
    awk '
        function hex(s,   i, c, v) {
            v = 0; s = tolower(s)
            for (i = 1; i <= length(s); i++) {
                c = index("0123456789abcdef", substr(s, i, 1))
                if (c == 0) break
                v = v * 16 + c - 1
            }
            return v
        }
        /^[0-9a-f]+ <run_[a-z_]*>:$/ {
            fn = $2; gsub(/[<>:]/, "", fn); start = hex($1); n = 0; done = 0; next
        }
        /^$/ { fn = ""; next }
        fn != "" && !done {
            line = $0; sub(/^ +/, "", line)
            split(line, f, ":"); addr = hex(f[1])
            n++; a[n] = addr; t[n] = line
            if (match(line, /\tj[a-z]+ +[0-9a-f]+ </)) {
                tgt = substr(line, RSTART, RLENGTH); sub(/^\tj[a-z]+ +/, "", tgt); sub(/ <$/, "", tgt)
                tv = hex(tgt)
                if (tv >= start && tv < addr) {
                    printf "%s:\n", fn
                    for (i = 1; i <= n; i++) if (a[i] >= tv) printf "    %s\n", t[i]
                    done = 1
                }
            }
        }' "$OUT/disasm.txt" | tee -a "$RESULTS"
    say "(full functions: $OUT/disasm.txt)"
fi
say ""

# --- 4. contention -------------------------------------------------------------
run_logged "$OUT/contention" "$CONTENTION_THREADS" "$CONTENTION_MS" "$CONTENTION_ROUNDS"
say ""
say "results written to $RESULTS"
