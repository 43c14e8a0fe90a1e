#!/usr/bin/env bash
# run.sh -- C and C++ units sharing cells in one program (cxx_main.cpp says
# what is checked): c_unit.c built as C11 by gcc, linked with cxx_main.cpp
# built by g++ and by clang++ in each of C++11, 14, 17, 20 and 23 (C++23 is
# -std=c++2b where the compiler does not know -std=c++23); C++23 includes
# <stdatomic.h>, the others get memo.h's own std::atomic mapping.  Also: each
# standard with -m32 (i386 layout: 144-byte memo_t, 8-aligned 64-bit
# atomics; SKIPPED without 32-bit C++ headers, g++-multilib), C++17 and
# C++23 with -DMEMO_NO_FUTEX in both units, and C++17 and C++23 under
# ThreadSanitizer (clang and clang++).  Every unit: $(WARN) = -Wall -Wextra
# -Wpedantic -Werror.  Ends with "cxx: N passed, N failed, N skipped" (each
# program's checks summed; a build that fails counts one failure).
# MEMO_INCLUDE=dir builds against dir/memo.h instead of include/memo.h.
set -u
cd "$(dirname "$0")/../.." || exit 2
. mk/flags.sh
B=build/cxx; mkdir -p "$B"
INC=${MEMO_INCLUDE:-include}
passed=0; failed=0; skipped=0; failures=()

# the -std= spelling of C++23 each compiler takes
std23() { if echo 'int main() {}' | $1 -std=c++23 -x c++ -fsyntax-only - 2>/dev/null; then echo c++23; else echo c++2b; fi; }
# can this C++ compiler build (and this machine run, natively or under
# qemu-i386) an i386 program with <atomic>?
m32_runner=""; m32_why=""
m32_probe() { # cxx -> 0 if usable (sets m32_runner)
  printf '#include <atomic>\nint main() { std::atomic<unsigned long long> a(0); return (int)a.load(); }\n' >"$B/m32-probe.cpp"
  if ! $1 -m32 "$B/m32-probe.cpp" -o "$B/m32-probe" -pthread 2>/dev/null; then
    m32_why="$1 -m32 cannot build a C++ program (no 32-bit C++ headers: apt-get install g++-multilib)"; return 1; fi
  if "$B/m32-probe" 2>/dev/null; then m32_runner=""; return 0; fi
  if command -v qemu-i386 >/dev/null 2>&1 && qemu-i386 "$B/m32-probe" 2>/dev/null; then m32_runner=qemu-i386; return 0; fi
  m32_why="this kernel cannot execute i386 binaries and qemu-i386 is missing"; return 1
}

run_one() { # name cc cflags cxx cxxflags [runner]
  local name=$1 cc=$2 cflags=$3 cxx=$4 cxxflags=$5 runner=${6:-} out rc p f
  # shellcheck disable=SC2086
  if $cc $cflags $WARN -I"$INC" -Itests/cxx -c tests/cxx/c_unit.c -o "$B/$name-c.o" 2>"$B/$name.log" &&
     $cxx $cxxflags $WARN -I"$INC" -Itests/cxx -c tests/cxx/cxx_main.cpp -o "$B/$name-cxx.o" 2>>"$B/$name.log" &&
     $cxx $cxxflags "$B/$name-c.o" "$B/$name-cxx.o" -o "$B/$name" -pthread 2>>"$B/$name.log"; then
    out=$(TSAN_OPTIONS="halt_on_error=1" timeout 120 $runner "$B/$name" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    p=${p:-0}; f=${f:-1}; [ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f))
    printf '[cxx %-22s] %s passed, %s failed  (%s %s + %s %s)\n' "$name" "$p" "$f" "$cc" "$cflags" "$cxx" "$cxxflags"
    if [ "$f" != 0 ]; then failures+=("cxx/$name"); printf '%s\n' "$out" | grep -v '^ok ' | tail -30 | sed 's/^/    /'; fi
  else
    echo "[cxx $name] BUILD FAILED ($cc $cflags + $cxx $cxxflags)"; sed 's/^/    /' "$B/$name.log" | head -20
    failed=$((failed + 1)); failures+=("cxx/$name(build)")
  fi
}

for cxx in g++ clang++; do
  s23=$(std23 "$cxx")
  for std in c++11 c++14 c++17 c++20 "$s23"; do
    run_one "$cxx-${std#c++}" gcc "-std=c11 -O2" "$cxx" "-std=$std -O2"
  done
done
for cxx in g++ clang++; do
  s23=$(std23 "$cxx")
  if m32_probe "$cxx"; then
    for std in c++11 c++14 c++17 c++20 "$s23"; do
      run_one "$cxx-m32-${std#c++}" gcc "-m32 -std=c11 -O2" "$cxx" "-m32 -std=$std -O2" "$m32_runner"
    done
  else echo "[cxx $cxx -m32] SKIPPED: $m32_why"; skipped=$((skipped + 5)); fi
done
for std in c++17 "$(std23 g++)"; do
  run_one "g++-nofutex-${std#c++}" gcc "-std=c11 -O2 -DMEMO_NO_FUTEX" g++ "-std=$std -O2 -DMEMO_NO_FUTEX"
done
for std in c++17 "$(std23 clang++)"; do
  run_one "tsan-${std#c++}" clang "-std=c11 $TSAN" clang++ "-std=$std $TSAN"
done

[ ${#failures[@]} -gt 0 ] && echo "cxx failed: ${failures[*]}"
echo "cxx: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
