#!/usr/bin/env bash
# examples/testing/run.sh -- builds the examples of docs/TESTING.md
# (examples/testing/test_*.c, cmocka programs that test code using memo)
# through examples/build.sh and runs them: plain (gcc -O2), then under
# ThreadSanitizer and AddressSanitizer+UBSan (clang).  `make test` runs it
# (tests/run_all.sh).  One line per program and build, then
#   testing examples: N passed, N failed
# (N = cmocka tests, summed over the builds).
# Environment: TESTING_SANITIZERS ("tsan asan" by default; "none" = the plain
# build only), EXAMPLES_OUT (the output folder, default build/examples),
# MEMO_INCLUDE (another memo.h's folder), CC (the plain build's compiler).
set -u
cd "$(dirname "$0")/../.." || exit 2
. mk/flags.sh
OUT=${EXAMPLES_OUT:-build/examples}
passed=0; failed=0
builds=("plain|$CC|")
for s in ${TESTING_SANITIZERS:-tsan asan}; do
  case $s in
    tsan) builds+=("tsan|clang|$TSAN") ;;
    asan) builds+=("asan|clang|$ASAN_UBSAN") ;;
  esac
done
for b in "${builds[@]}"; do
  IFS='|' read -r name cc flags <<<"$b"
  out=$OUT/$name
  if ! log=$(CC=$cc CFLAGS=$flags EXAMPLES_OUT=$out bash examples/build.sh testing 2>&1); then
    printf '%s\n' "$log" | grep -v '^built ' | head -20
    echo "[examples/testing] $name: BUILD FAILED"; failed=$((failed + 1)); continue
  fi
  for exe in "$out"/testing/test_*; do
    t=${exe##*/}
    res=$(TSAN_OPTIONS=halt_on_error=1 timeout 120 "$exe" 2>&1); rc=$?
    p=$(printf '%s\n' "$res" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1); p=${p:-0}
    f=$(printf '%s\n' "$res" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1); f=${f:-0}
    [ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" = 0 ]; then echo "[examples/testing] $t ($name): $p passed"
    else
      echo "[examples/testing] $t ($name): $p passed, $f FAILED (rc=$rc)"
      printf '%s\n' "$res" | grep -vE '^\[ *(RUN|OK) ' | tail -20 | sed 's/^/    /'
    fi
  done
done
echo "testing examples: $passed passed, $failed failed"
[ "$failed" = 0 ]
