#!/usr/bin/env bash
# bench/run.sh -- build and run memo's fast-path benchmarks: the cost of one
# get of a READY value, memo against its peers in C, C++ and Rust.  Prints
# every table, writes them to build/bench/results.txt (emptied first) and the
# numbers to build/bench/fastpath.csv.  Run from anywhere: bash bench/run.sh
# (contention, storm and scaling are in bench/extra.sh)
#
#   1. timing:     ns per get, per program (bench/fastpath.c, fastpath_cxx.cpp,
#                  fastpath_rust.rs), each variant RUNS times round-robin
#   2. callgrind:  instructions per get of every variant (valgrind; skipped if
#                  not installed)
#   3. the merged fast-path table (all programs, skipped peers included)
#   3b. TTL getters (C program): the table of the TTL variants beside the plain
#      load and the non-TTL getters of the same run; instructions per get
#      natively, the vDSO included (bench/stepcount: ptrace single-step;
#      skipped if ptrace is not permitted); the non-TTL getters' instruction
#      counts against the same bench built on the memo.h before TTL cells
#      ($BENCH_BASE_REV; skipped without git or that revision)
#   4. the hot loops' disassembly (objdump; skipped if not installed)
#
# Peers that need something not installed are skipped and say so: GLib
# (pkg-config glib-2.0, libglib2.0-dev), Abseil (pkg-config absl_base or the
# headers and libabsl_base, libabsl-dev), the C++ program (no $CXX), the Rust
# program (no rustc on PATH or in $HOME/.cargo/bin).
#
# CSV: bench,variant,threads,param,metric,value with bench=fastpath, threads=1,
# param = program (c|cxx|rust), metric = ns_median, ns_min, ns_max, x_plain
# (median / the same program's plain-load median), instr_per_get, instr_delta
# (minus the same program's plain load), instr_native (ptrace single-step,
# C program only, 3b) and instr_native_vdso / instr_native_libc (its part in
# the vDSO and in libc); a skipped peer: metric=skipped, 0.  bench=fastpath_base,
# param=c, metric=instr_per_get: the C program on the memo.h of $BENCH_BASE_REV.
#
# The C program's TTL variants (ttl_*, with .ttl_ms = 60000) and the
# clock_gettime references (clock_*) are not peers: the fast-path targets of
# 3 leave them out; 3b judges them (a ready TTL getter <= 10 ns with the
# default, coarse clock).  ttl_mono_* come from bench/fastpath_ttl_mono.c,
# built with -D'MEMO_TTL_NOW_NS()=bench_mono_ns()' (CLOCK_MONOTONIC per get).
#
# Environment (all optional):
#   CC / CXX / RUSTC   compilers (default gcc / g++ / rustc found as above)
#   FASTPATH_N         gets per timed run (default 100000000)
#   FASTPATH_RUNS      timed runs per variant, median reported (default 11)
#   CG_N               gets for the small callgrind run; the big one is 2*CG_N
#                      (default 1000000)
#   STEP_R             repetitions of the single-stepped gets (default 20)
#   BENCH_BASE_REV     the revision whose include/memo.h the non-TTL counts are
#                      compared with (default 0a391b7^: 0.1.0, the tree before
#                      TTL cells); BENCH_BASE_REV=none skips the comparison
set -euo pipefail

cd "$(dirname "$0")/.."
. mk/flags.sh   # WARN_BENCH; CC (default gcc)
CXX=${CXX:-g++}
OUT=build/bench
RESULTS=$OUT/results.txt
CSV=$OUT/fastpath.csv
FASTPATH_N=${FASTPATH_N:-100000000}
FASTPATH_RUNS=${FASTPATH_RUNS:-11}
CG_N=${CG_N:-1000000}
STEP_R=${STEP_R:-20}
BENCH_BASE_REV=${BENCH_BASE_REV:-0a391b7^}

mkdir -p "$OUT"
: > "$RESULTS"

# Print to the terminal and append to results.txt.
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }
run_logged() { "$@" 2>&1 | tee -a "$RESULTS"; return "${PIPESTATUS[0]}"; }

# The variants of every program, in table order: prog TAB name TAB what TAB
# status, status = "ok" or "skipped: <reason>".
MANIFEST=$OUT/fastpath_manifest.tsv
: > "$MANIFEST"
PROGS=() # programs that built: c cxx rust
manifest_add() { # prog binary: every variant the binary has
    "$2" --describe | awk -F '\t' -v p="$1" '{ printf "%s\t%s\t%s\tok\n", p, $1, $2 }' >> "$MANIFEST"
}
skip() { # prog name what reason
    printf '%s\t%s\t%s\tskipped: %s\n' "$1" "$2" "$3" "$4" >> "$MANIFEST"
}

say "memo fast-path benchmarks -- $(date -u '+%Y-%m-%d %H:%M:%S UTC') -- $(git rev-parse --short HEAD 2>/dev/null || echo 'no git')"
say ""

# --- build ----------------------------------------------------------------------
# C: bench/fastpath.c, with GLib's g_once_init_enter when glib-2.0 is there.
# Every timed loop 64-byte aligned (see bench/fastpath.c): where one straddles
# a fetch block it takes a cycle more, and where that happens otherwise
# depends on the size of everything before it (section 4 flags any that do).
FLAGS="-O2 -std=c11 $WARN_BENCH -falign-functions=64 -falign-jumps=64 -falign-loops=64 -Iinclude -Itests/common -pthread"
GLIB_SKIP=""
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists glib-2.0; then
    GLIB_CFLAGS="-DHAVE_GLIB $(pkg-config --cflags glib-2.0)"
    GLIB_LIBS=$(pkg-config --libs glib-2.0)
else
    GLIB_CFLAGS="" GLIB_LIBS=""
    GLIB_SKIP="libglib2.0-dev not installed (no pkg-config glib-2.0)"
fi
# The TTL getters with CLOCK_MONOTONIC per get: a unit of their own (the clock
# is a compile-time option of memo.h), linked into the same program.
TTL_MONO_DEF='-DMEMO_TTL_NOW_NS()=bench_mono_ns()'
say "build c   : $CC $FLAGS '$TTL_MONO_DEF' -c bench/fastpath_ttl_mono.c"
say "            $CC $FLAGS $GLIB_CFLAGS bench/fastpath.c $OUT/fastpath_ttl_mono.o $GLIB_LIBS"
# shellcheck disable=SC2086
$CC $FLAGS "$TTL_MONO_DEF" -c bench/fastpath_ttl_mono.c -o "$OUT/fastpath_ttl_mono.o"
# shellcheck disable=SC2086
$CC $FLAGS $GLIB_CFLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/fastpath.c "$OUT/fastpath_ttl_mono.o" \
    -o "$OUT/fastpath" $GLIB_LIBS
manifest_add c "$OUT/fastpath"
[ -n "$GLIB_SKIP" ] && skip c glib_once "GLib g_once_init_enter/leave" "$GLIB_SKIP"
PROGS+=(c)

# C++: bench/fastpath_cxx.cpp, with absl::call_once when Abseil is there.
CXXFLAGS="-O2 -std=c++2b $WARN_BENCH -Iinclude -Ibench -Itests/common -pthread"
CXX_PEERS="local_static:function-local static T *p = make()
std_call_once:std::call_once + global
absl_call_once:absl::call_once + global"
if ! command -v "${CXX%% *}" >/dev/null 2>&1; then
    say "build cxx : skipped, no C++ compiler ($CXX)"
    while IFS=: read -r name what; do skip cxx "$name" "$what" "no C++ compiler ($CXX)"; done <<< "$CXX_PEERS"
else
    ABSL_SKIP=""
    if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists absl_base; then
        ABSL_CFLAGS="-DHAVE_ABSL $(pkg-config --cflags absl_base)"
        ABSL_LIBS=$(pkg-config --libs absl_base)
    elif [ -f /usr/include/absl/base/call_once.h ]; then # by hand
        ABSL_CFLAGS="-DHAVE_ABSL"
        ABSL_LIBS="-labsl_base -labsl_spinlock_wait -labsl_raw_logging_internal -labsl_log_severity"
    else
        ABSL_CFLAGS="" ABSL_LIBS=""
        ABSL_SKIP="libabsl-dev not installed (no pkg-config absl_base, no absl/base/call_once.h)"
    fi
    say "build cxx : $CXX $CXXFLAGS $ABSL_CFLAGS bench/fastpath_cxx.cpp $ABSL_LIBS"
    # shellcheck disable=SC2086
    if [ -n "$ABSL_CFLAGS" ] && ! $CXX $CXXFLAGS $ABSL_CFLAGS "-DBENCH_FLAGS=\"$CXXFLAGS\"" \
        bench/fastpath_cxx.cpp -o "$OUT/fastpath_cxx" $ABSL_LIBS 2> "$OUT/absl_build.log"; then
        ABSL_SKIP="Abseil found but the build with it failed (see $OUT/absl_build.log)"
        say "build cxx : $ABSL_SKIP; building without it"
        ABSL_CFLAGS="" ABSL_LIBS=""
    fi
    if [ -z "$ABSL_CFLAGS" ]; then
        # shellcheck disable=SC2086
        $CXX $CXXFLAGS "-DBENCH_FLAGS=\"$CXXFLAGS\"" bench/fastpath_cxx.cpp -o "$OUT/fastpath_cxx"
    fi
    manifest_add cxx "$OUT/fastpath_cxx"
    [ -n "$ABSL_SKIP" ] && skip cxx absl_call_once "absl::call_once + global" "$ABSL_SKIP"
    PROGS+=(cxx)
fi

# Rust: bench/fastpath_rust.rs, plain rustc, std only.
RUST_PEERS="oncelock:std::sync::OnceLock get_or_init
lazylock:std::sync::LazyLock deref
once:std::sync::Once call_once + global"
if [ -z "${RUSTC:-}" ]; then
    if command -v rustc >/dev/null 2>&1; then RUSTC=rustc
    elif [ -x "${HOME:-/nonexistent}/.cargo/bin/rustc" ]; then RUSTC=$HOME/.cargo/bin/rustc
    fi
fi
RUSTFLAGS_B="--edition 2021 -C opt-level=3 -D warnings"
RUST_SKIP=""
if [ -z "${RUSTC:-}" ]; then
    RUST_SKIP="rustc not found (PATH, \$HOME/.cargo/bin)"
else
    RUSTC_VERSION=$("$RUSTC" --version)
    say "build rust: $RUSTC $RUSTFLAGS_B bench/fastpath_rust.rs  ($RUSTC_VERSION)"
    # shellcheck disable=SC2086
    if ! BENCH_COMPILER="$RUSTC_VERSION" BENCH_FLAGS="$RUSTFLAGS_B" \
        "$RUSTC" $RUSTFLAGS_B bench/fastpath_rust.rs -o "$OUT/fastpath_rust" 2> "$OUT/rust_build.log"; then
        cat "$OUT/rust_build.log" >&2
        RUST_SKIP="the build with $RUSTC_VERSION failed (see $OUT/rust_build.log)"
    fi
fi
if [ -n "$RUST_SKIP" ]; then
    say "build rust: skipped, $RUST_SKIP"
    while IFS=: read -r name what; do skip rust "$name" "$what" "$RUST_SKIP"; done <<< "$RUST_PEERS"
else
    manifest_add rust "$OUT/fastpath_rust"
    PROGS+=(rust)
fi
say ""

bin_of() { case $1 in c) echo "$OUT/fastpath" ;; cxx) echo "$OUT/fastpath_cxx" ;; rust) echo "$OUT/fastpath_rust" ;; esac; }

# --- 1. timing, one program after the other ----------------------------------------
# Each program prints its compiler, flags and CPU here; its own table goes to
# build/bench/fastpath_<prog>.txt, the numbers into the CSV.
echo "bench,variant,threads,param,metric,value" > "$CSV"
say "== fastpath: ns per get of a READY value: the programs =="
for p in "${PROGS[@]}"; do
    BENCH_CSV=$CSV "$(bin_of "$p")" "$FASTPATH_N" "$FASTPATH_RUNS" > "$OUT/fastpath_$p.txt"
    # The header (up to the first blank line) and any line after the table.
    awk 'NR > 1 && !blank && /^$/ { blank = 1; next } !blank && NR > 1 { print }
         blank == 1 && /^-+ / { blank = 2; next } blank == 2 && /^$/ { blank = 3; next }
         blank == 3 && NF { print "check    : " $0 }' "$OUT/fastpath_$p.txt" | tee -a "$RESULTS"
    say ""
done

# --- 2. instructions per get under callgrind ------------------------------------
HAVE_CG=0
if command -v valgrind >/dev/null 2>&1; then
    HAVE_CG=1
    CG_N2=$((CG_N * 2))
    cg_ir() { # binary variant n -> total Ir
        local log=$OUT/cg.log
        valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" \
            "$1" --one "$2" "$3" > /dev/null 2> "$log"
        sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$log" | tail -n 1
    }
    for p in "${PROGS[@]}"; do
        bin=$(bin_of "$p")
        plain=""
        for v in $("$bin" --list); do
            a=$(cg_ir "$bin" "$v" "$CG_N")
            b=$(cg_ir "$bin" "$v" "$CG_N2")
            if [ -z "$a" ] || [ -z "$b" ]; then
                echo "callgrind failed for $p $v (see $OUT/cg.log)" >&2
                continue
            fi
            per=$(awk -v a="$a" -v b="$b" -v n="$CG_N" 'BEGIN { printf "%.2f", (b - a) / n }')
            [ "$v" = plain ] && plain=$per
            echo "fastpath,$v,1,$p,instr_per_get,$per" >> "$CSV"
            if [ -n "$plain" ]; then
                awk -v p="$per" -v q="$plain" -v v="$v" -v g="$p" \
                    'BEGIN { printf "fastpath,%s,1,%s,instr_delta,%.2f\n", v, g, p - q }' >> "$CSV"
            fi
        done
    done
    rm -f "$OUT/cg.out" "$OUT/cg.log"
fi
awk -F '\t' '$4 != "ok" { printf "fastpath,%s,1,%s,skipped,0\n", $2, $1 }' "$MANIFEST" >> "$CSV"

# --- 3. the merged table ----------------------------------------------------------
say "== fastpath: one get of a READY value, all programs =="
say "ns/get: median of $FASTPATH_RUNS runs of $FASTPATH_N gets (min, max of the runs); each"
say "program times its variants round-robin in one process, in the same loop: get ->"
say "volatile global sink, then an empty asm memory barrier.  x plain = median / the"
say "median of the SAME program's plain global load in the same run."
if [ "$HAVE_CG" = 1 ]; then
    say "instr/get: valgrind --tool=callgrind, (Ir(--one V $CG_N2) - Ir(--one V $CG_N)) / $CG_N,"
    say "so startup and the one construction cancel; it includes the loop's own"
    say "instructions (sink store, counter, branch: the same for every variant of a"
    say "program, not across programs).  delta = minus the same program's plain load,"
    say "i.e. what the lazy-init check costs."
else
    say "instr/get: valgrind is not installed, instruction counts skipped (apt-get install valgrind)"
fi
say ""
awk -F '\t' -v csv="$CSV" '
    BEGIN {
        while ((getline line < csv) > 0) {
            split(line, f, ",")
            if (f[1] == "fastpath") val[f[4] "|" f[2] "|" f[5]] = f[6]
        }
        lang["c"] = "C"; lang["cxx"] = "C++"; lang["rust"] = "Rust"
        fmt = "%-36s %-4s %8s %7s %7s %7s %9s %6s\n"
        printf fmt, "variant", "prog", "ns/get", "min", "max", "x plain", "instr/get", "delta"
        printf fmt, "------------------------------------", "----", "--------", "-------",
               "-------", "-------", "---------", "------"
    }
    function get(k, m, f) { return ((k "|" m) in val) ? sprintf(f, val[k "|" m]) : "n/a" }
    {
        k = $1 "|" $2
        if ($1 != last && NR > 1) print ""
        last = $1
        if ($4 != "ok") { printf "%-36s %-4s %s\n", $3, lang[$1], $4; next }
        d = get(k, "instr_delta", "%+.2f")
        printf fmt, $3, lang[$1], get(k, "ns_median", "%.3f"), get(k, "ns_min", "%.3f"),
               get(k, "ns_max", "%.3f"), get(k, "x_plain", "%.2f"),
               get(k, "instr_per_get", "%.2f"), d
        # The targets, judged on ratios to the plain load of the same program
        # (so that programs compare): the worst memo pointer getter against the
        # best synchronized peer, in time (a tie when their min..max ranges
        # overlap) and in instructions; and the memo instruction delta.
        x = val[k "|x_plain"] + 0
        pm = val[$1 "|plain|ns_median"] + 0
        lo = pm > 0 ? val[k "|ns_min"] / pm : x; hi = pm > 0 ? val[k "|ns_max"] / pm : x
        hasd = (k "|instr_delta") in val; dv = val[k "|instr_delta"] + 0
        who = lang[$1] " " $3
        if ($2 ~ /^(memoize_ptr|memo_get)$/) {
            if (!mset || x > mx) { mx = x; mlo = lo; mhi = hi; mname = who; mset = 1 }
            if (hasd && (!dset || dv > md)) { md = dv; dname = who; dset = 1 }
        } else if ($2 !~ /^(plain|seed|memoize_struct)$/ && $2 !~ /^(ttl|clock|thread|tls)_/) {
            if (!pset || x < px) { px = x; plo = lo; phi = hi; pname = who; pset = 1 }
            if (hasd && (!qset || dv < qd)) { qd = dv; qname = who; qset = 1 }
        }
    }
    END {
        print ""
        print "target: memo at or below the best peer"
        if (mset && pset) {
            if (mx <= px) verdict = "met"
            else if (mlo <= phi && plo <= mhi) verdict = sprintf("tie: %+.1f%%, within the min..max of the runs", (mx / px - 1) * 100)
            else verdict = sprintf("NOT met, %+.1f%%", (mx / px - 1) * 100)
            printf "  time : worst memo %.2f x plain (%s)\n         best peer %.2f x plain (%s): %s\n",
                   mx, mname, px, pname, verdict
        }
        if (dset && qset)
            printf "  instr: worst memo delta %+.2f (%s)\n         best peer delta %+.2f (%s): %s\n",
                   md, dname, qd, qname, (md <= qd ? "met" : "NOT met")
        if (dset)
            printf "target: memo within one instruction of the plain load: worst delta %+.2f (%s): %s\n",
                   md, dname, (md <= 1.005 ? "met" : "NOT met")
    }' "$MANIFEST" | tee -a "$RESULTS"
say ""
say "per-program tables: $OUT/fastpath_<c|cxx|rust>.txt; CSV: $CSV"
say ""

# --- 3b. TTL getters ---------------------------------------------------------------
# The C program's TTL variants beside its plain load and non-TTL getters (same
# run), with two more instruction counts:
#   native: bench/stepcount single-steps `fastpath --step V R` (ptrace) and
#           counts every user-space instruction, the vDSO's included, which
#           callgrind cannot see (valgrind hides the vDSO: clock_gettime runs
#           glibc's system-call fallback there, the same ten instructions for
#           every clock).  min(run 2 gets) - min(run 1 get) over R repetitions.
#   base:   the non-TTL variants' callgrind counts with the same bench/fastpath.c
#           built on include/memo.h of $BENCH_BASE_REV (before TTL cells): a
#           change of the non-TTL fast path would show here; plus a diff of
#           their hot loops' machine code.
TTL_ROWS="plain memo_get memoize_ptr ttl_memo_get ttl_memoize_ptr ttl_mono_memo_get ttl_mono_memoize_ptr clock_coarse clock_mono"
BASE_ROWS="plain seed memoize_ptr memo_get memoize_struct"
say "== fastpath: TTL getters (C program, .ttl_ms = 60000) =="

# native instruction counts (ptrace single-step)
STEP_NOTE=""
# shellcheck disable=SC2086
if ! $CC -O2 -std=c11 $WARN_BENCH bench/stepcount.c -o "$OUT/stepcount" 2> "$OUT/stepcount_build.log"; then
    STEP_NOTE="bench/stepcount.c did not build (see $OUT/stepcount_build.log)"
elif ! "$OUT/stepcount" "$OUT/fastpath" --step plain 1 > /dev/null 2> "$OUT/stepcount.log"; then
    STEP_NOTE="ptrace single-step not permitted here (see $OUT/stepcount.log)"
else
    for v in $TTL_ROWS; do
        if ! "$OUT/stepcount" "$OUT/fastpath" --step "$v" "$STEP_R" > "$OUT/step_$v.txt" 2>> "$OUT/stepcount.log"; then
            echo "stepcount failed for $v (see $OUT/stepcount.log)" >&2
            continue
        fi
        # odd lines: run(1), even lines: run(2); the minimum of each (a
        # timer tick while the vDSO's seqlock is read retries it)
        awk -v v="$v" '
            function part(   i, kv) {
                vd = 0; lc = 0
                for (i = 2; i <= NF; i++) {
                    split($i, kv, "=")
                    if (kv[1] == "[vdso]") vd = kv[2]
                    else if (kv[1] ~ /^libc[.-]/) lc = kv[2]
                }
            }
            { part(); k = (NR % 2) ? 1 : 2
              if (!(k in t) || $1 < t[k]) { t[k] = $1; tv[k] = vd; tl[k] = lc } }
            END {
                if (!(1 in t) || !(2 in t)) exit 1
                printf "fastpath,%s,1,c,instr_native,%d\n", v, t[2] - t[1]
                printf "fastpath,%s,1,c,instr_native_vdso,%d\n", v, tv[2] - tv[1]
                printf "fastpath,%s,1,c,instr_native_libc,%d\n", v, tl[2] - tl[1]
            }' "$OUT/step_$v.txt" >> "$CSV" || echo "stepcount: no counts for $v" >&2
        rm -f "$OUT/step_$v.txt"
    done
fi

# the non-TTL getters on the memo.h before TTL cells
BASE_NOTE="" BASE_VER="" BASE_DIS=""
if [ "$BENCH_BASE_REV" = none ]; then
    BASE_NOTE="skipped (BENCH_BASE_REV=none)"
elif [ "$HAVE_CG" != 1 ]; then
    BASE_NOTE="skipped: valgrind is not installed"
elif ! command -v git > /dev/null 2>&1 || ! git cat-file -e "$BENCH_BASE_REV:include/memo.h" 2> /dev/null; then
    BASE_NOTE="skipped: no git, or no $BENCH_BASE_REV:include/memo.h in this checkout"
else
    mkdir -p "$OUT/base"
    git show "$BENCH_BASE_REV:include/memo.h" > "$OUT/base/memo.h"
    # a literal MEMO_VERSION_STRING (older headers) or MEMO_VERSION_MAJOR/MINOR/PATCH
    BASE_VER=$(sed -n 's/^#define MEMO_VERSION_STRING "\(.*\)"/\1/p' "$OUT/base/memo.h")
    [ -n "$BASE_VER" ] || BASE_VER=$(awk '$1 ~ /^.define$/ && NF == 3 && $2 ~ /^MEMO_VERSION_(MAJOR|MINOR|PATCH)$/ { v[$2] = $3 }
        END { if (length(v) == 3) print v["MEMO_VERSION_MAJOR"] "." v["MEMO_VERSION_MINOR"] "." v["MEMO_VERSION_PATCH"] }' "$OUT/base/memo.h")
    BASE_SHA=$(git rev-parse --short "$BENCH_BASE_REV")
    # -I$OUT/base first: bench/fastpath.c's #include "memo.h" finds it there
    # shellcheck disable=SC2086
    if $CC -I"$OUT/base" $FLAGS $GLIB_CFLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/fastpath.c \
        -o "$OUT/fastpath_base" $GLIB_LIBS 2> "$OUT/base_build.log"; then
        for v in $BASE_ROWS; do
            a=$(cg_ir "$OUT/fastpath_base" "$v" "$CG_N")
            b=$(cg_ir "$OUT/fastpath_base" "$v" "$CG_N2")
            [ -n "$a" ] && [ -n "$b" ] &&
                awk -v a="$a" -v b="$b" -v n="$CG_N" -v v="$v" \
                    'BEGIN { printf "fastpath_base,%s,1,c,instr_per_get,%.2f\n", v, (b - a) / n }' >> "$CSV"
        done
        rm -f "$OUT/cg.out" "$OUT/cg.log"
        if command -v objdump > /dev/null 2>&1; then
            loops() { # binary: the memo non-TTL loops as "function<TAB>instruction",
                # in function-name order; addresses, offsets and padding dropped
                objdump -d --no-show-raw-insn "$1" |
                    awk '/^[0-9a-f]+ <run_(memo_get|memoize_ptr|memoize_struct)(\.cold)?>:$/ { f = $2; next }
                         /^$/ { f = "" } f != "" { sub(/^ *[0-9a-f]+:\t/, ""); print f "\t" $0 }' |
                    sed -E 's/[0-9a-f]+ </</; s/0x[0-9a-f]+\(%rip\)/X(%rip)/; s/ *#.*$//' |
                    grep -Ev $'\t(nop|data16|cs nop|xchg +%ax,%ax|int3)' | sort -s -t $'\t' -k1,1
            }
            loops "$OUT/fastpath_base" > "$OUT/base_loops.txt"
            loops "$OUT/fastpath" > "$OUT/head_loops.txt"
            if diff -u "$OUT/base_loops.txt" "$OUT/head_loops.txt" > "$OUT/loops.diff"; then
                BASE_DIS="identical ($(grep -c . "$OUT/head_loops.txt") lines: run_memo_get, run_memoize_ptr, run_memoize_struct and their .cold parts, addresses aside)"
            else
                BASE_DIS="DIFFERENT: see $OUT/loops.diff"
            fi
        fi
    else
        BASE_NOTE="skipped: the bench did not build on $BENCH_BASE_REV's memo.h (see $OUT/base_build.log)"
    fi
fi

say "ns/get: as in the table above (median of $FASTPATH_RUNS runs, round-robin with every other"
say "variant; the TTL and clock rows do $((FASTPATH_N / 10)) gets a run, the others $FASTPATH_N)."
say "x plain: median / the plain load's median of the same run.  instr/get: callgrind, as"
say "above (valgrind runs without the vDSO: its clock_gettime is glibc's system-call fallback)."
if [ -z "$STEP_NOTE" ]; then
    say "native: instructions per get single-stepped natively (bench/stepcount, ptrace), the vDSO"
    say "included; (vdso, libc) = their part of it."
else
    say "native: $STEP_NOTE"
fi
if [ -z "$BASE_NOTE" ]; then
    say "base: callgrind instr/get of the same bench built on memo.h $BASE_VER ($BENCH_BASE_REV = $BASE_SHA)."
else
    say "base: $BASE_NOTE"
fi
say ""
awk -F '\t' -v csv="$CSV" -v rows="$TTL_ROWS" '
    BEGIN {
        while ((getline line < csv) > 0) {
            split(line, f, ",")
            if (f[1] == "fastpath" && f[4] == "c") val[f[2] "|" f[5]] = f[6]
            if (f[1] == "fastpath_base") base[f[2]] = f[6]
        }
    }
    $1 == "c" { what[$2] = $3 }
    function get(v, m, f) { return ((v "|" m) in val) ? sprintf(f, val[v "|" m]) : "n/a" }
    END {
        fmt = "%-36s %8s %7s %7s %7s %9s %13s %6s\n"
        printf fmt, "variant", "ns/get", "min", "max", "x plain", "instr/get", "native (vdso)", "base"
        printf fmt, "------------------------------------", "--------", "-------", "-------",
               "-------", "---------", "-------------", "------"
        n = split(rows, r, " ")
        for (i = 1; i <= n; i++) {
            v = r[i]
            nat = get(v, "instr_native", "%d")
            if (nat != "n/a") nat = nat " (" get(v, "instr_native_vdso", "%d") ")"
            printf fmt, (v in what) ? what[v] : v, get(v, "ns_median", "%.3f"), get(v, "ns_min", "%.3f"),
                   get(v, "ns_max", "%.3f"), get(v, "x_plain", "%.2f"), get(v, "instr_per_get", "%.2f"),
                   nat, (v in base) ? sprintf("%.2f", base[v]) : ""
        }
        print ""
        # the target: a ready TTL getter <= 10 ns with the coarse clock
        worst = ""; wm = -1
        for (i = 1; i <= n; i++) {
            v = r[i]
            if (v ~ /^ttl_/ && v !~ /^ttl_mono_/ && (v "|ns_median") in val && val[v "|ns_median"] + 0 > wm) {
                wm = val[v "|ns_median"] + 0; worst = v
            }
        }
        if (worst != "") {
            wmax = val[worst "|ns_max"] + 0
            verdict = wm <= 10 ? (wmax <= 10 ? "met" : sprintf("met by the median (the slowest run: %.2f ns)", wmax)) \
                               : "NOT met"
            printf "target: a ready TTL getter <= 10 ns with the default (coarse) clock\n"
            printf "  worst coarse TTL getter: %.2f ns, %.1f x plain (%s): %s\n", wm,
                   val[worst "|x_plain"], what[worst], verdict
            mono = val["ttl_mono_memo_get|ns_median"] + 0
            if (mono > 0)
                printf "  beside it, CLOCK_MONOTONIC per get: %.2f ns (%s), %.1f x the coarse getter\n",
                       mono, what["ttl_mono_memo_get"], mono / wm
            cc = val["clock_coarse|ns_median"] + 0; cm = val["clock_mono|ns_median"] + 0
            tg = val["ttl_memo_get|ns_median"] + 0
            if (cc > 0 && tg > 0)
                printf "  where the time goes: the coarse clock read alone %.2f ns (%.0f%% of memo_get TTL %.2f ns);\n" \
                       "  memo around it %.2f ns; CLOCK_MONOTONIC read alone %.2f ns\n", cc, 100 * cc / tg, tg, tg - cc, cm
            if (("ttl_memo_get|instr_native") in val) {
                t = val["ttl_memo_get|instr_native"]; vd = val["ttl_memo_get|instr_native_vdso"]
                lc = val["ttl_memo_get|instr_native_libc"]
                printf "  natively, memo_get TTL is %d instructions a get: %d in the vDSO, %d in libc'"'"'s\n" \
                       "  clock_gettime, %d in the program (loop, memo_i_get_slow_, memo_i_coarse_ns_)\n",
                       t, vd, lc, t - vd - lc
            }
        }
        # the non-TTL fast path against the base header
        nb = 0; same = 1
        for (v in base) {
            nb++
            if (!((v "|instr_per_get") in val) || sprintf("%.2f", base[v]) != sprintf("%.2f", val[v "|instr_per_get"])) same = 0
        }
        if (nb) {
            printf "non-TTL getters vs the base header (callgrind instr/get):"
            for (i = 1; i <= 5; i++) {
                split("plain seed memoize_ptr memo_get memoize_struct", bn, " ")
                v = bn[i]
                if (v in base) printf " %s %.2f/%s", v, base[v], get(v, "instr_per_get", "%.2f")
            }
            printf " (base/now): %s\n", same ? "equal" : "DIFFERENT"
        }
    }' "$MANIFEST" | tee -a "$RESULTS"
[ -n "$BASE_DIS" ] && say "non-TTL hot loops vs the base header (objdump): $BASE_DIS"
say ""

# --- 4. the hot loops, disassembled --------------------------------------------
# For each loop function: the instructions from the target of its first
# backward branch (to an address inside the function) up to that branch, i.e.
# the loop body as executed when the value is ready.  Full functions go to
# build/bench/disasm.txt.  Every program names its loop functions run_<variant>
# (C++: extern "C"; Rust: #[no_mangle]).
say "== fastpath: hot loop of each variant (objdump -d) =="
if ! command -v objdump >/dev/null 2>&1; then
    say "objdump is not installed: disassembly skipped (apt-get install binutils)"
else
    : > "$OUT/disasm.txt"
    for p in "${PROGS[@]}"; do
        case $p in c) comp="$CC -O2" ;; cxx) comp="$CXX -O2" ;; rust) comp="rustc -C opt-level=3" ;; esac
        say "-- $p ($comp) --"
        objdump -d --no-show-raw-insn "$(bin_of "$p")" |
            awk '/^[0-9a-f]+ <run_[a-z_]*>:$/ { p = 1 } p { print } /^$/ { p = 0 }' > "$OUT/disasm_$p.txt"
        { echo "-- $p --"; cat "$OUT/disasm_$p.txt"; } >> "$OUT/disasm.txt"
        rm -f "$OUT/disasm_$p.txt"
        awk -v prog="-- $p --" '
            function hex(s,   i, c, v) {
                v = 0; s = tolower(s)
                for (i = 1; i <= length(s); i++) {
                    c = index("0123456789abcdef", substr(s, i, 1))
                    if (c == 0) break
                    v = v * 16 + c - 1
                }
                return v
            }
            $0 == prog { on = 1; next }
            /^-- [a-z]+ --$/ { on = 0; next }
            !on { next }
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
                        # the branch ends at addr + 1 or later
                        if (int(tv / 64) != int((addr + 1) / 64))
                            printf "    (this loop straddles a 64-byte boundary: expect a cycle more a get)\n"
                        done = 1
                    }
                }
            }' "$OUT/disasm.txt" | tee -a "$RESULTS"
    done
    say "(full functions: $OUT/disasm.txt)"
fi
say ""
say "results written to $RESULTS"
