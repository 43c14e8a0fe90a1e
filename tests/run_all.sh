#!/usr/bin/env bash
# run_all.sh -- the build matrix behind `make test`.  Builds the cmocka suites
# with each configuration, runs them, checks the compile-only promises, and
# ends with one line: "N passed, N failed" (tests summed over all builds).
set -u
cd "$(dirname "$0")/.."
B=build/test
mkdir -p "$B"
WARN="-Wall -Wextra -Wpedantic -Werror"
passed=0; failed=0; failures=()

# name | compiler | flags
configs=(
  "gcc-O2|gcc|-std=c11 -O2"
  "clang-O2|clang|-std=c11 -O2"
  "gcc-O0-c17|gcc|-std=c17 -O0"
  "clang-c2x|clang|-std=c2x -O2"
  "gcc-nofutex|gcc|-std=c11 -O2 -DMEMO_NO_FUTEX"
  "clang-nofutex|clang|-std=c11 -O2 -DMEMO_NO_FUTEX"
  "tsan|clang|-std=c11 -O1 -g -fsanitize=thread"
  "tsan-nofutex|clang|-std=c11 -O1 -g -fsanitize=thread -DMEMO_NO_FUTEX"
  "asan-ubsan-gcc|gcc|-std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
  "asan-ubsan-clang|clang|-std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
)
[ -n "${MEMO_TEST_CONFIGS:-}" ] && { keep=(); for c in "${configs[@]}"; do
  case " $MEMO_TEST_CONFIGS " in *" ${c%%|*} "*) keep+=("$c");; esac; done; configs=("${keep[@]}"); }

suites=(
  "cell|tests/test_cell.c"
  "backoff|tests/test_backoff.c"
  "typed|tests/test_typed.c tests/tu_def.c tests/tu_use.c"
)

record() { # name ok(0/1) count
  if [ "$2" = 0 ]; then passed=$((passed + $3)); else failed=$((failed + $3)); failures+=("$1"); fi
}

for cfg in "${configs[@]}"; do
  IFS='|' read -r name cc flags <<<"$cfg"
  for s in "${suites[@]}"; do
    IFS='|' read -r sname srcs <<<"$s"
    exe="$B/$name-$sname"
    # shellcheck disable=SC2086
    if ! $cc $flags $WARN -Iinclude -Itests $srcs -o "$exe" -lcmocka -pthread 2>"$exe.build.log"; then
      echo "[$name] $sname: BUILD FAILED"; sed 's/^/    /' "$exe.build.log" | head -20
      record "$name/$sname(build)" 1 1; continue
    fi
    out=$(TSAN_OPTIONS="halt_on_error=1" timeout 300 "$exe" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    p=${p:-0}; f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi  # crashed or sanitizer report
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" != 0 ]; then
      failures+=("$name/$sname"); echo "[$name] $sname: $p passed, $f FAILED (rc=$rc)"
      printf '%s\n' "$out" | grep -vE '^\[ *(RUN|OK) ' | tail -40 | sed 's/^/    /'
    else
      echo "[$name] $sname: $p passed"
    fi
  done
done

# The race program (tests/stress.c), short: 1 s plain and 1 s under TSan.
# `make stress` runs it for minutes.
for sc in "gcc|-std=c11 -O2" "clang|-std=c11 -O1 -g -fsanitize=thread"; do
  IFS='|' read -r cc flags <<<"$sc"
  # shellcheck disable=SC2086
  if $cc $flags $WARN -Iinclude tests/stress.c -o "$B/stress" -pthread 2>"$B/stress.log" &&
     out=$(TSAN_OPTIONS="halt_on_error=1" timeout 120 "$B/stress" 1 8 2>&1); then
    echo "[stress $cc $flags] $(printf '%s\n' "$out" | sed -n 's/^stress: \([0-9]* operations.*\)/\1/p' | cut -c1-110)"
    record "stress $cc" 0 1
  else echo "[stress $cc $flags] FAILED"; cat "$B/stress.log"; printf '%s\n' "${out:-}" | tail -15; record "stress $cc" 1 1; fi
done

# valgrind memcheck on the gcc -O2 binaries: no errors, no definite leaks
# (stress rounds scaled down by MEMO_TEST_LIGHT: valgrind serializes threads).
if command -v valgrind >/dev/null 2>&1 && [ -x "$B/gcc-O2-cell" ]; then
  for s in "${suites[@]}"; do
    sname=${s%%|*}
    out=$(MEMO_TEST_LIGHT=1 timeout 600 valgrind -q --error-exitcode=99 --leak-check=full \
          --errors-for-leak-kinds=definite "$B/gcc-O2-$sname" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1); p=${p:-0}
    if [ $rc -eq 0 ]; then echo "[valgrind] $sname: $p passed"; passed=$((passed + p))
    else echo "[valgrind] $sname: FAILED (rc=$rc)"; printf '%s\n' "$out" | grep -vE '^\[ *(RUN|OK) ' | tail -30 | sed 's/^/    /'
         failed=$((failed + 1)); failures+=("valgrind/$sname"); fi
  done
else
  echo "[valgrind] skipped: valgrind not installed (apt-get install -y valgrind)"
fi

# The header alone, strict flags, each standard; and in C++.
hdr_flags="-Wall -Wextra -Wpedantic -Werror -Wsign-conversion -Wstrict-prototypes -Wshadow -Iinclude"
printf '#include "memo.h"\nint main(void) { return 0; }\n' > "$B/header_only.c"
for std in c11 c17 c2x; do for cc in gcc clang; do
  if $cc -std=$std $hdr_flags -c "$B/header_only.c" -o "$B/header_only.o" 2>"$B/h.log" &&
     $cc -std=$std $hdr_flags -DMEMO_NO_FUTEX -c "$B/header_only.c" -o "$B/header_only.o" 2>>"$B/h.log"; then
    record "header-$cc-$std" 0 1
  else echo "[header] $cc -std=$std: FAILED"; head -20 "$B/h.log"; record "header-$cc-$std" 1 1; fi
done; done
gcc -std=c11 -Iinclude -c "$B/header_only.c" -o "$B/header_only.o"
if [ -z "$(nm -g --defined-only "$B/header_only.o" | grep -v ' main$')" ]; then record "no-exported-symbols" 0 1
else echo "[header] exports symbols:"; nm -g --defined-only "$B/header_only.o"; record "no-exported-symbols" 1 1; fi

for cxx in "g++ -std=c++23" "clang++ -std=c++2b"; do
  # shellcheck disable=SC2086
  if $cxx -Wall -Wextra -Wpedantic -Werror -Iinclude tests/cxx_smoke.cpp -o "$B/cxx_smoke" -pthread 2>"$B/cxx.log" && "$B/cxx_smoke" >/dev/null; then
    record "cxx $cxx" 0 1
  else echo "[c++] $cxx: FAILED"; head -20 "$B/cxx.log"; record "cxx $cxx" 1 1; fi
done

# Type checking of the generators: each of these must fail to compile.
for f in tests/compile_fail/*.c; do
  for cc in gcc clang; do
    if $cc -std=c11 $WARN -Iinclude -c "$f" -o /dev/null 2>/dev/null; then
      echo "[compile_fail] $cc $f: compiled, but must not"; record "compile_fail $f" 1 1
    else record "compile_fail $f" 0 1; fi
  done
done

if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
