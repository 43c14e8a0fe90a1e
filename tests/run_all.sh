#!/usr/bin/env bash
# run_all.sh -- the build matrix behind `make test`.  Builds the cmocka suites
# with each configuration, runs them, checks the compile-only promises, and
# ends with one line: "N passed, N failed" (tests summed over all builds; ",
# N skipped" follows when the -m32 toolchain, valgrind, the Lambda runtime's
# build dependencies or the consumer test's cmake/meson/ninja are missing:
# each skip is reported with its reason).  -m32 binaries run under qemu-i386 when
# the kernel cannot execute them (scripts/deps.sh installs what is needed).
# The configurations and the flags are in mk/matrix.conf and mk/flags.mk
# (`make matrix` prints them).  Every cmocka test runs under a watchdog
# (tests/common/mt_watchdog.h): a hung test is a named failure in seconds.
# Environment: MEMO_TEST_CONFIGS="name ..." picks unit configurations;
# MEMO_INCLUDE=dir builds everything against dir/memo.h instead of
# include/memo.h (a mutated copy, say); CC is the default compiler (gcc).
set -u
cd "$(dirname "$0")/.." || exit 1
. mk/flags.sh
B=build/test
mkdir -p "$B"
INC=${MEMO_INCLUDE:-include}
passed=0; failed=0; skipped=0; failures=()

# The matrix.  name | compiler | flags | word size (64 = the host's, 32 = -m32)
mapfile -t configs < <(mk_matrix unit)
[ -n "${MEMO_TEST_CONFIGS:-}" ] && { keep=(); for c in "${configs[@]}"; do
  case " $MEMO_TEST_CONFIGS " in *" ${c%%|*} "*) keep+=("$c");; esac; done; configs=("${keep[@]}"); }

suites=(
  "cell|tests/test_cell.c"
  "backoff|tests/test_backoff.c"
  "typed|tests/typed/test_typed.c tests/typed/tu_def.c tests/typed/tu_use.c"
  "lease|tests/test_lease.c"
  "limits|tests/test_limits.c"
  "cancel|tests/test_cancel.c"
  "overrides|tests/test_overrides.c"
  "kinds|tests/typed/test_typed_kinds.c"
  "thread|tests/typed/test_thread.c tests/typed/tu_thread_def.c tests/typed/tu_thread_use.c"
  "nongnu|tests/test_nongnu.c"
  "lifetimes|tests/test_lifetimes.c"
  "errors|tests/test_errors.c"
)

record() { # name ok(0/1) count
  if [ "$2" = 0 ]; then passed=$((passed + $3)); else failed=$((failed + $3)); failures+=("$1"); fi
}

# -m32, per compiler: can it link a cmocka program, and can this kernel run
# it?  Some VMs have no 32-bit syscall entry ("Exec format error"); then the
# binaries run under qemu-i386 (user-mode emulation of the i386 syscall ABI,
# futex included).  m32_run[cc] is the runner ("" = natively);
# m32_skip[cc] the reason when neither works.
declare -A m32_run=() m32_skip=() m32_how=()
m32_probe() {
  local cc=$1 p="$B/m32-probe-$1" err
  printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\nint main(void) { return 0; }\n' >"$p.c"
  if ! err=$($cc -m32 "$p.c" -o "$p" -lcmocka -pthread 2>&1); then
    m32_skip[$cc]="$cc -m32 cannot link a cmocka program ($(printf '%s\n' "$err" | grep -m1 -iE 'error|cannot' | cut -c1-90)); needs gcc-multilib and libcmocka-dev:i386: run 'bash scripts/deps.sh test' as root"
  elif "$p" 2>/dev/null; then
    m32_run[$cc]=""; m32_how[$cc]="run natively"
  elif command -v qemu-i386 >/dev/null 2>&1 && qemu-i386 "$p" 2>/dev/null; then
    m32_run[$cc]="qemu-i386"; m32_how[$cc]="run under qemu-i386: this kernel cannot execute i386 binaries"
  else
    m32_skip[$cc]="this kernel cannot execute i386 binaries and qemu-i386 is missing: apt-get install qemu-user"
  fi
}
for cfg in "${configs[@]}"; do
  IFS='|' read -r name cc flags bits <<<"$cfg"
  if [ "$bits" = 32 ] && [ -z "${m32_run[$cc]+x}" ] && [ -z "${m32_skip[$cc]+x}" ]; then m32_probe "$cc"; fi
done

echo "== build matrix: ${#configs[@]} configurations x ${#suites[@]} cmocka suites (${suites[*]%%|*}); flags: $WARN -pthread"
for cfg in "${configs[@]}"; do
  IFS='|' read -r name cc flags bits <<<"$cfg"
  note=""
  if [ "$bits" = 32 ]; then note=${m32_skip[$cc]:+  SKIPPED}; note=${note:-"  (${m32_how[$cc]})"}; fi
  printf '   %-18s %-6s %s%s\n' "$name" "$cc" "$flags" "$note"
done
for cc in "${!m32_skip[@]}"; do echo "   $cc -m32 SKIPPED: ${m32_skip[$cc]}"; done
printf '== %-18s %s\n' "config" "tests passed per suite"

for cfg in "${configs[@]}"; do
  IFS='|' read -r name cc flags bits <<<"$cfg"
  runner=""
  if [ "$bits" = 32 ]; then
    if [ -n "${m32_skip[$cc]+x}" ]; then
      printf '[%s]%*s  SKIPPED (%s -m32 unavailable, see above)\n' "$name" $((18 - ${#name})) "" "$cc"
      skipped=$((skipped + ${#suites[@]})); continue
    fi
    runner=${m32_run[$cc]}
  fi
  row=""; details=""; t0=${EPOCHREALTIME/[.,]/}
  # build the suites side by side (the builds are most of a row's time), then
  # run them one at a time
  pids=()
  for s in "${suites[@]}"; do
    IFS='|' read -r sname srcs <<<"$s"
    # shellcheck disable=SC2086
    $cc $flags $WARN -I"$INC" -Itests -Itests/common $srcs -o "$B/$name-$sname" -lcmocka -pthread 2>"$B/$name-$sname.build.log" &
    pids+=($!)
  done
  i=0
  for s in "${suites[@]}"; do
    IFS='|' read -r sname srcs <<<"$s"
    exe="$B/$name-$sname"
    if ! wait "${pids[i++]}"; then
      row+="  $sname: BUILD FAILED"
      details+=$(sed 's/^/    /' "$exe.build.log" | head -20)$'\n'
      record "$name/$sname(build)" 1 1; continue
    fi
    # shellcheck disable=SC2086
    # under qemu the watchdog allows what it allows under the sanitizers
    out=$(TSAN_OPTIONS="halt_on_error=1" MT_WATCHDOG_S=${MT_WATCHDOG_S:-${runner:+30}} timeout 300 $runner "$exe" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    p=${p:-0}; f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi  # crashed or sanitizer report
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" != 0 ]; then
      # the failed tests by name (cmocka's list; the watchdog's for a hang)
      tnames=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([A-Za-z_][A-Za-z0-9_]*\)$/\1/p' | sort -u)
      if [ -n "$tnames" ]; then for t in $tnames; do failures+=("$name/$sname/$t"); done
      else failures+=("$name/$sname"); fi
      hang=$(printf '%s\n' "$out" | sed -n 's/^\[  HANG    \] \([A-Za-z0-9_]*\):.*/\1/p' | head -1)
      row+="  $sname: $p passed, $f FAILED (rc=$rc${hang:+, $hang hung})"
      details+="  -- $sname:"$'\n'$(printf '%s\n' "$out" | grep -vE '^\[ *(RUN|OK) ' | tail -40 | sed 's/^/    /')$'\n'
    else
      row+=$(printf '  %s %3s' "$sname" "$p")
    fi
  done
  t1=${EPOCHREALTIME/[.,]/}
  printf '[%s]%*s%s  %4.1f s\n' "$name" $((18 - ${#name})) "" "$row" "$(((t1 - t0) / 1000000)).$((((t1 - t0) / 100000) % 10))"
  [ -n "$details" ] && printf '%s' "$details"
done

# The race program (tests/stress.c), short: 1 s plain, 1 s under TSan and,
# with -m32, 1 s on i386 (64-bit atomics there are cmpxchg8b).
# `make stress` runs it for minutes.
mapfile -t stress_cfgs < <(mk_matrix stress)
for sc in "${stress_cfgs[@]}"; do
  IFS='|' read -r _ cc flags bits <<<"$sc"
  runner=""
  if [ "$bits" = 32 ]; then
    [ -z "${m32_run[$cc]+x}" ] && [ -z "${m32_skip[$cc]+x}" ] && m32_probe "$cc"
    if [ -n "${m32_skip[$cc]+x}" ]; then echo "[stress $cc $flags] SKIPPED: ${m32_skip[$cc]}"; skipped=$((skipped + 1)); continue; fi
    runner=${m32_run[$cc]}
  fi
  # shellcheck disable=SC2086
  if $cc $flags $WARN -I"$INC" tests/stress.c -o "$B/stress" -pthread 2>"$B/stress.log" &&
     out=$(TSAN_OPTIONS="halt_on_error=1" timeout 120 $runner "$B/stress" 1 8 2>&1); then
    echo "[stress $cc $flags] $(printf '%s\n' "$out" | sed -n 's/^stress: \([0-9]* operations.*\)/\1/p' | cut -c1-100)"
    record "stress $cc" 0 1
  else echo "[stress $cc $flags] FAILED"; cat "$B/stress.log"; printf '%s\n' "${out:-}" | tail -15; record "stress $cc $flags" 1 1; fi
done

# valgrind memcheck on the gcc -O2 binaries: no errors, no definite leaks
# (stress rounds scaled down by MEMO_TEST_LIGHT: valgrind serializes threads).
vg=gcc-O2-c11
if command -v valgrind >/dev/null 2>&1 && [ -x "$B/$vg-cell" ]; then
  for s in "${suites[@]}"; do
    sname=${s%%|*}
    out=$(MEMO_TEST_LIGHT=1 timeout 600 valgrind -q --error-exitcode=99 --leak-check=full \
          --errors-for-leak-kinds=definite "$B/$vg-$sname" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1); p=${p:-0}
    if [ $rc -eq 0 ]; then echo "[valgrind memcheck $vg] $sname: $p passed, no errors, no leaks"; passed=$((passed + p))
    else echo "[valgrind memcheck $vg] $sname: FAILED (rc=$rc)"; printf '%s\n' "$out" | grep -vE '^\[ *(RUN|OK) ' | tail -30 | sed 's/^/    /'
         failed=$((failed + 1)); failures+=("valgrind/$sname"); fi
  done
elif ! command -v valgrind >/dev/null 2>&1; then
  echo "[valgrind] SKIPPED: valgrind not installed (apt-get install -y valgrind)"; skipped=$((skipped + ${#suites[@]}))
else
  echo "[valgrind] SKIPPED: config $vg not in MEMO_TEST_CONFIGS"; skipped=$((skipped + ${#suites[@]}))
fi

# The header alone, strict flags, each standard (and -m32, 32- and 64-bit
# time_t); and in C++.
hdr_flags="$WARN_STRICT -I$INC"
printf '#include "memo.h"\nint main(void) { return 0; }\n' > "$B/header_only.c"
hdr_ok=0; hdr_all=(); declare -A hdr_m32=()
mapfile -t hdr_cfgs < <(mk_matrix header)
for hc in "${hdr_cfgs[@]}"; do
  IFS='|' read -r _ cc h bits <<<"$hc"
  if [ "$bits" = 32 ]; then
    if [ -z "${hdr_m32[$cc]+x}" ]; then
      if $cc -m32 -c "$B/header_only.c" -I"$INC" -o "$B/header_only.o" 2>/dev/null; then hdr_m32[$cc]=1
      else hdr_m32[$cc]=0; echo "[header] $cc -m32 SKIPPED: no 32-bit C headers (gcc-multilib)"; fi
    fi
    [ "${hdr_m32[$cc]}" = 1 ] || { skipped=$((skipped + 1)); continue; }
  fi
  hdr_all+=("$cc $h")
  # shellcheck disable=SC2086
  if $cc $h $hdr_flags -c "$B/header_only.c" -o "$B/header_only.o" 2>"$B/h.log" &&
     $cc $h $hdr_flags -DMEMO_NO_FUTEX -c "$B/header_only.c" -o "$B/header_only.o" 2>>"$B/h.log"; then
    record "header $cc $h" 0 1; hdr_ok=$((hdr_ok + 1))
  else echo "[header] $cc $h: FAILED"; head -20 "$B/h.log"; record "header $cc $h" 1 1; fi
done
# every public function instantiated, -O2 with strict aliasing at its most
# sensitive, and run
for cc in gcc clang; do
  if $cc -std=c11 -O2 $hdr_flags -Wstrict-aliasing=1 tests/strict/uses_all.c -o "$B/uses_all" -pthread 2>"$B/h.log" && "$B/uses_all"; then
    record "strict uses_all $cc" 0 1; hdr_ok=$((hdr_ok + 1)); hdr_all+=("$cc uses_all")
  else echo "[header] $cc tests/strict/uses_all.c -O2 -Wstrict-aliasing=1: FAILED"; head -20 "$B/h.log"; record "strict uses_all $cc" 1 1; fi
done
# musl without kernel headers (no <linux/futex.h>): memo.h defines the futex
# constants itself; built and run, futex and MEMO_NO_FUTEX
if command -v musl-gcc >/dev/null 2>&1; then
  for opt in "" "-DMEMO_NO_FUTEX"; do
    # shellcheck disable=SC2086
    if musl-gcc -std=c11 -O2 $opt $hdr_flags tests/strict/uses_all.c -o "$B/uses_all_musl" -pthread 2>"$B/h.log" && "$B/uses_all_musl"; then
      record "musl uses_all $opt" 0 1; hdr_ok=$((hdr_ok + 1)); hdr_all+=("musl $opt")
    else echo "[header] musl-gcc $opt tests/strict/uses_all.c: FAILED"; head -20 "$B/h.log"; record "musl uses_all $opt" 1 1; fi
  done
else echo "[header] musl SKIPPED: musl-gcc missing (apt-get install -y musl-tools)"; skipped=$((skipped + 2)); fi
echo "[header] $hdr_ok/${#hdr_all[@]} strict builds (+ -DMEMO_NO_FUTEX each): gcc, clang x c11 c17 c2x, -m32, -m32 time64"
$CC -std=c11 -I"$INC" -c "$B/header_only.c" -o "$B/header_only.o"
# exports nothing but the weak, versioned program-wide tables (memo_i_*_vN_)
if ! nm -g --defined-only "$B/header_only.o" | grep -v ' main$' | grep -qvE ' [VW] memo_i_[a-z_]+_v[0-9]+_$'; then record "no-exported-symbols" 0 1
else echo "[header] exports symbols:"; nm -g --defined-only "$B/header_only.o"; record "no-exported-symbols" 1 1; fi

# A strict user's program: tests/strict/uses_all.c (every public macro and
# function) built as mk/matrix.conf's "strict" rows say -- gcc and clang in
# gnu99 .. c2x with $(WARN_USER), clang -Weverything, -m32, musl, no futex,
# NDEBUG -- and run.  Not one diagnostic is allowed (an empty build log), from
# the header or from what MEMOIZE & co. expand to on the user's lines.  Then
# tests/strict/old_glibc.c (no pthread_cond_clockwait: MEMO_NO_FUTEX's
# CLOCK_REALTIME deadline, which gnu99 could not compile) in gnu99 and c11,
# built and run; and -std=c99, which memo.h must refuse with its #error.
st_ok=0; st_all=0; st_names=(); st_pids=(); declare -A st_m32=()
mapfile -t st_cfgs < <(mk_matrix strict)
for sc in "${st_cfgs[@]}"; do
  IFS='|' read -r sname cc flags bits <<<"$sc"
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "[strict] $sname SKIPPED: $cc missing (musl-gcc: apt-get install -y musl-tools)"; skipped=$((skipped + 1)); continue
  fi
  if [ "$bits" = 32 ]; then
    if [ -z "${st_m32[$cc]+x}" ]; then
      if $cc -m32 -c "$B/header_only.c" -I"$INC" -o "$B/header_only.o" 2>/dev/null; then st_m32[$cc]=1; else st_m32[$cc]=0; fi
    fi
    if [ "${st_m32[$cc]}" = 0 ]; then echo "[strict] $sname SKIPPED: $cc -m32 has no 32-bit C headers (gcc-multilib)"; skipped=$((skipped + 1)); continue; fi
  fi
  # shellcheck disable=SC2086
  $cc $flags -I"$INC" tests/strict/uses_all.c -o "$B/strict-$sname" -pthread >"$B/strict-$sname.log" 2>&1 &
  st_pids+=($!); st_names+=("$sname|$cc|$flags|$bits")
done
og_warn=("gcc|$WARN_USER_GCC" "clang|$WARN_USER")
for og in "${og_warn[@]}"; do
  for std in gnu99 c11; do
    cc=${og%%|*}; sname="old-glibc-$cc-$std"
    # shellcheck disable=SC2086
    $cc -std=$std -O2 -DMEMO_NO_FUTEX ${og#*|} -I"$INC" tests/strict/old_glibc.c -o "$B/strict-$sname" -pthread >"$B/strict-$sname.log" 2>&1 &
    st_pids+=($!); st_names+=("$sname|$cc|-std=$std -O2 -DMEMO_NO_FUTEX (WARN_USER)|64")
  done
done
i=0
for row in "${st_names[@]}"; do
  IFS='|' read -r sname cc flags bits <<<"$row"
  st_all=$((st_all + 1)); exe="$B/strict-$sname"
  if ! wait "${st_pids[i++]}" || [ -s "$exe.log" ]; then
    echo "[strict] $sname: $cc $flags: $( [ -s "$exe.log" ] && echo "DIAGNOSTICS" || echo "BUILD FAILED")"; head -20 "$exe.log" | sed 's/^/    /'
    record "strict $sname" 1 1; continue
  fi
  out=$(timeout 60 "$exe" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ "$bits" = 32 ] && command -v qemu-i386 >/dev/null 2>&1; then out=$(timeout 60 qemu-i386 "$exe" 2>&1); rc=$?; fi
  if [ $rc -eq 0 ]; then record "strict $sname" 0 1; st_ok=$((st_ok + 1))
  else echo "[strict] $sname: $cc $flags: built clean, but the run FAILED (rc=$rc)"; printf '%s\n' "$out" | tail -5; record "strict $sname" 1 1; fi
done
for cc in gcc clang; do
  st_all=$((st_all + 1))
  # shellcheck disable=SC2086
  if ! $cc -std=c99 $WARN -I"$INC" -c tests/strict/uses_all.c -o /dev/null 2>"$B/strict-c99.log" &&
     [ "$(grep -c 'error:' "$B/strict-c99.log")" = 1 ] && grep -q 'memo.h needs C11' "$B/strict-c99.log"; then
    record "strict c99 refused $cc" 0 1; st_ok=$((st_ok + 1))
  else echo "[strict] $cc -std=c99: not refused by memo.h's #error alone"; head -10 "$B/strict-c99.log"; record "strict c99 refused $cc" 1 1; fi
done
echo "[strict] $st_ok/$st_all strict builds with no diagnostic, run: uses_all.c x gcc, clang in gnu99 gnu11 c11 c17 c2x (WARN_USER), clang -Weverything, -m32, musl, no futex, NDEBUG; old_glibc.c (no clockwait) gnu99, c11; -std=c99 refused (#error)"

# C++: tests/cxx_smoke.cpp in every standard memo.h supports, g++ and clang++
# (C++23 includes <stdatomic.h>, C++11-20 get memo.h's std::atomic mapping)
cxx_ok=0; cxx_all=()
for cxx in g++ clang++; do
  s23=c++23; echo 'int main() {}' | $cxx -std=c++23 -x c++ -fsyntax-only - 2>/dev/null || s23=c++2b
  for std in c++11 c++14 c++17 c++20 "$s23"; do
    cxx_all+=("$cxx -std=$std")
    # shellcheck disable=SC2086
    if $cxx -std=$std $WARN -I"$INC" tests/cxx_smoke.cpp -o "$B/cxx_smoke" -pthread 2>"$B/cxx.log" && "$B/cxx_smoke" >/dev/null; then
      record "cxx $cxx -std=$std" 0 1; cxx_ok=$((cxx_ok + 1))
    else echo "[c++] $cxx -std=$std tests/cxx_smoke.cpp: FAILED"; head -20 "$B/cxx.log"; record "cxx $cxx -std=$std" 1 1; fi
  done
done
echo "[c++] tests/cxx_smoke.cpp: $cxx_ok/${#cxx_all[@]} passed (g++, clang++ x C++11 14 17 20 23, $WARN)"

# The fuzzer's seed corpus, replayed without libFuzzer (ASan+UBSan, TSan,
# no-futex); `make fuzz` fuzzes for a bounded time.
if out=$(FUZZ_INCLUDE=$INC bash tests/fuzz/run.sh replay 2>&1); then echo "[fuzz] $(printf '%s\n' "$out" | tail -1)"; record "fuzz replay" 0 1
else printf '%s\n' "$out" | tail -40; record "fuzz replay" 1 1; fi

# The manual stays true to the code: every error code returned is in the
# header's ERRORS block, every public name is in docs/API.md.
if out=$(bash tests/docs_check.sh 2>&1); then echo "[docs] $(printf '%s\n' "$out" | tail -1)"; record "docs check" 0 1
else printf '%s\n' "$out" | tail -20; record "docs check" 1 1; fi

# The examples of docs/TESTING.md (examples/testing: cmocka programs that test
# code using memo -- a fake injected with memo_set, "built once" under threads,
# a failing connect's retries, backoff and message), built by
# examples/build.sh and run plain, under TSan and under ASan+UBSan.
et_out=$(MEMO_INCLUDE=$INC EXAMPLES_OUT=$B/examples bash examples/testing/run.sh 2>&1); et_rc=$?
et_sum=$(printf '%s\n' "$et_out" | sed -n 's/^testing examples: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
read -r et_p et_f <<<"${et_sum:-0 1}"
[ "$et_rc" != 0 ] && [ "$et_f" = 0 ] && et_f=1
if [ "$et_f" = 0 ]; then echo "[examples/testing] $et_p passed (3 programs x plain, TSan, ASan+UBSan)"
else printf '%s\n' "$et_out" | grep -v ': [0-9]* passed$' | tail -40; fi
record "examples/testing" 0 "$et_p"
if [ "$et_f" != 0 ]; then
  read -ra et_names <<<"$(printf '%s\n' "$et_out" | sed -n 's/^\[examples\/testing\] \([^ ]*\) (\([a-z]*\)): .*FAILED.*/examples\/testing\/\1(\2)/p' | tr '\n' ' ')"
  [ ${#et_names[@]} -gt 0 ] || et_names=("examples/testing(rc=$et_rc)")
  failed=$((failed + et_f)); failures+=("${et_names[@]}")
fi

# Type checking of the generators: each of these must fail to compile, with
# the test flags and without -Werror too (a wrong constructor type is a
# static assertion, not a warning).
cf_ok=0; cf_all=0
for f in tests/compile_fail/*.c; do
  for cc in gcc clang; do
    for w in "$WARN" "${WARN//-Werror/}"; do
      cf_all=$((cf_all + 1))
      # shellcheck disable=SC2086
      if $cc -std=c11 $w -I"$INC" -c "$f" -o /dev/null 2>/dev/null; then
        echo "[compile_fail] $cc $w $f: compiled, but must not"; record "compile_fail $f $cc $w" 1 1
      else record "compile_fail $f" 0 1; cf_ok=$((cf_ok + 1)); fi
    done
  done
done
echo "[compile_fail] $cf_ok/$cf_all rejected as they must be (gcc, clang; with and without -Werror)"

# The C Lambda runtime (examples/lambda) against a hostile fake Runtime API on
# 127.0.0.1: dot-segment and malformed request ids, trickled, stalled, reset
# and 7 MB events, oversized headers, HTTP 500; then SIGTERM in the long poll,
# during an invocation, while an event arrives and in the backoff pause (exit
# 0 after memo_shutdown, the invocation answered first; about 15 s; one count
# per scenario).  SKIPPED without python3 or the libcurl/libpq/SQLite headers.
out=$(bash tests/lambda/hostile_api.sh 2>&1); rc=$?
hp=$(printf '%s\n' "$out" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p' | tail -1)
hf=$(printf '%s\n' "$out" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p' | tail -1)
if [ $rc -eq 77 ]; then
  echo "[lambda] SKIPPED: $(printf '%s\n' "$out" | sed -n 's/.*SKIPPED: //p' | head -1)"; skipped=$((skipped + 1))
elif [ $rc -eq 0 ] && [ -n "$hp" ]; then
  echo "[lambda] hostile Runtime API: $hp scenarios passed ($(printf '%s\n' "$out" | grep -m1 '^hostile Runtime API:' | sed 's/^hostile Runtime API: //'))"
  record "lambda hostile API" 0 "$hp"
else
  echo "[lambda] hostile Runtime API: FAILED (rc=$rc)"; printf '%s\n' "$out" | grep -v '^ok ' | tail -80 | sed 's/^/    /'
  [ "${hf:-0}" -gt 0 ] || hf=1
  record "lambda hostile API" 0 "${hp:-0}"; record "lambda hostile API" 1 "$hf"
fi

# The Lambda deployment zip (tests/lambda/package_check.sh): the
# function-ARCH.zip of examples/lambda/package.sh has bootstrap at its root,
# stored executable, an ELF64 for ARCH, every library beyond glibc in lib/
# behind a DT_RPATH of $ORIGIN/lib, and the unzipped bootstrap runs; the other
# architecture only with a cross toolchain (SKIPPED otherwise, with the reason).
pk_out=$(bash tests/lambda/package_check.sh 2>&1); pk_rc=$?
read -r pk_p pk_f pk_s <<<"$(printf '%s\n' "$pk_out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p' | tail -1)"
if [ $pk_rc -eq 77 ]; then
  echo "[lambda] deployment zip SKIPPED: $(printf '%s\n' "$pk_out" | sed -n 's/.*SKIPPED: //p' | head -1)"; skipped=$((skipped + 1))
elif [ $pk_rc -eq 0 ] && [ -n "${pk_p:-}" ]; then
  echo "[lambda] deployment zip: $pk_p checks passed ($(printf '%s\n' "$pk_out" | sed -n 's/^ok   \([a-z0-9_]*\) .*/\1/p' | sort -u | tr '\n' ' ' | sed 's/ $//'))"
  printf '%s\n' "$pk_out" | sed -n 's/^skip /[lambda] deployment zip SKIPPED: /p'
  record "lambda deployment zip" 0 "$pk_p"; skipped=$((skipped + ${pk_s:-0}))
else
  echo "[lambda] deployment zip: FAILED (rc=$pk_rc)"; printf '%s\n' "$pk_out" | grep -v '^ok ' | tail -40 | sed 's/^/    /'
  [ "${pk_f:-0}" -gt 0 ] || pk_f=1
  record "lambda deployment zip" 0 "${pk_p:-0}"; record "lambda deployment zip" 1 "$pk_f"; skipped=$((skipped + ${pk_s:-0}))
fi

# Two header versions in one program (docs/DESIGN.md, "ABI"): a unit built
# with the 0.1 header from before the defects fixes shares a cell with one
# built with include/memo.h (tests/abi/run.sh).
ab_out=$(MEMO_INCLUDE=$INC bash tests/abi/run.sh 2>&1); ab_rc=$?
printf '%s\n' "$ab_out" | grep -v '^abi: '
ab_p=$(printf '%s\n' "$ab_out" | sed -n 's/^abi: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p'); ab_f=$(printf '%s\n' "$ab_out" | sed -n 's/^abi: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
ab_p=${ab_p:-0}; ab_f=${ab_f:-1}; [ $ab_rc -ne 0 ] && [ "$ab_f" = 0 ] && ab_f=1
record "abi old/new header" 0 "$ab_p"; [ "$ab_f" != 0 ] && record "abi old/new header" 1 "$ab_f"

# Consumers (tests/consumers/run.sh): memo taken the ways its users take it,
# a tiny MEMOIZE program built and run each way outside the tree -- make
# install + pkg-config (and the installed tree moved: memo.pc is relocatable),
# cmake --install + find_package (0.1 refused: SameMinorVersion),
# add_subdirectory, FetchContent, a Meson subproject, the header alone.  One
# count per way; a way whose tool is missing (cmake, meson, ninja,
# pkg-config) is SKIPPED with the reason.
cs_out=$(bash tests/consumers/run.sh 2>&1); cs_rc=$?
printf '%s\n' "$cs_out" | grep -vE '^consumers( failed)?: '
cs_sum=$(printf '%s\n' "$cs_out" | sed -n 's/^consumers: \([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p')
read -r cs_p cs_f cs_s <<<"${cs_sum:-0 1 0}"
cs_s=${cs_s:-0}; [ "$cs_rc" != 0 ] && [ "$cs_f" = 0 ] && cs_f=1
if [ "$cs_s" != 0 ]; then echo "[consumers] $cs_p passed, $cs_f failed, $cs_s skipped"; else echo "[consumers] $cs_p passed, $cs_f failed"; fi
record "consumers" 0 "$cs_p"; [ "$cs_f" != 0 ] && record "consumers" 1 "$cs_f"
skipped=$((skipped + cs_s))
# C and C++ units sharing cells in one program (tests/cxx/run.sh): the C11
# unit with g++ and clang++ units in C++11 to C++23, -m32, MEMO_NO_FUTEX,
# TSan; memo_t's layout compared at run time.
cx_out=$(MEMO_INCLUDE=$INC bash tests/cxx/run.sh 2>&1); cx_rc=$?
printf '%s\n' "$cx_out" | grep -vE '^cxx( failed)?: '
cx_sum=$(printf '%s\n' "$cx_out" | sed -n 's/^cxx: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p')
read -r cx_p cx_f cx_s <<<"${cx_sum:-0 1 0}"
[ "$cx_rc" != 0 ] && [ "$cx_f" = 0 ] && cx_f=1
record "cxx C/C++ units" 0 "$cx_p"; skipped=$((skipped + cx_s))
if [ "$cx_f" != 0 ]; then
  read -ra cx_names <<<"$(printf '%s\n' "$cx_out" | sed -n 's/^cxx failed: //p')"
  [ ${#cx_names[@]} -gt 0 ] || cx_names=("cxx(rc=$cx_rc)")
  failed=$((failed + cx_f)); failures+=("${cx_names[@]}")
fi

# Liveness (tests/liveness/README.md): waits that must end -- two shared
# libraries and mixed MEMO_NO_FUTEX units on one cell, cross-thread
# constructor cycles (EDEADLK), fork() during construction, huge and
# wall-clock-stepped timeouts.  Each case is a process under a watchdog, so a
# hang is a named failure; own small matrix: gcc/clang -O2 and TSan, each with
# and without -DMEMO_NO_FUTEX (MEMO_TEST_LIVENESS="gcc-O2 tsan" picks configs).
# shellcheck disable=SC2086
lv_out=$(MEMO_INCLUDE=$INC bash tests/liveness/run.sh ${MEMO_TEST_LIVENESS:-} 2>&1); lv_rc=$?
printf '%s\n' "$lv_out" | grep -v '^liveness failed: '
lv_sum=$(printf '%s\n' "$lv_out" | sed -n 's/^liveness: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p')
read -r lv_p lv_f lv_s <<<"${lv_sum:-0 1 0}"
[ "$lv_rc" != 0 ] && [ "$lv_f" = 0 ] && lv_f=1
record "liveness" 0 "$lv_p"
skipped=$((skipped + lv_s))
if [ "$lv_f" != 0 ]; then
  read -ra lv_names <<<"$(printf '%s\n' "$lv_out" | sed -n 's/^liveness failed: //p')"
  [ ${#lv_names[@]} -gt 0 ] || lv_names=("liveness(rc=$lv_rc)")
  failed=$((failed + lv_f)); failures+=("${lv_names[@]}")
fi

if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "run_all.sh: ${SECONDS} s"
if [ "$skipped" -gt 0 ]; then echo "${passed} passed, ${failed} failed, ${skipped} skipped"
else echo "${passed} passed, ${failed} failed"; fi
[ "$failed" = 0 ]
