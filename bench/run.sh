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
# (minus the same program's plain load); a skipped peer: metric=skipped, 0.
#
# Environment (all optional):
#   CC / CXX / RUSTC   compilers (default gcc / g++ / rustc found as above)
#   FASTPATH_N         gets per timed run (default 100000000)
#   FASTPATH_RUNS      timed runs per variant, median reported (default 11)
#   CG_N               gets for the small callgrind run; the big one is 2*CG_N
#                      (default 1000000)
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
FLAGS="-O2 -std=c11 $WARN_BENCH -Iinclude -Itests/common -pthread"
GLIB_SKIP=""
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists glib-2.0; then
    GLIB_CFLAGS="-DHAVE_GLIB $(pkg-config --cflags glib-2.0)"
    GLIB_LIBS=$(pkg-config --libs glib-2.0)
else
    GLIB_CFLAGS="" GLIB_LIBS=""
    GLIB_SKIP="libglib2.0-dev not installed (no pkg-config glib-2.0)"
fi
say "build c   : $CC $FLAGS $GLIB_CFLAGS bench/fastpath.c $GLIB_LIBS"
# shellcheck disable=SC2086
$CC $FLAGS $GLIB_CFLAGS "-DBENCH_FLAGS=\"$FLAGS\"" bench/fastpath.c -o "$OUT/fastpath" $GLIB_LIBS
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
        } else if ($2 !~ /^(plain|seed|memoize_struct)$/) {
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
                        done = 1
                    }
                }
            }' "$OUT/disasm.txt" | tee -a "$RESULTS"
    done
    say "(full functions: $OUT/disasm.txt)"
fi
say ""
say "results written to $RESULTS"
