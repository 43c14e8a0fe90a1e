#!/usr/bin/env bash
# run.sh -- two header versions coexisting in one program, each on its own
# cells: old_unit.c built with the 0.1 header from before the defects fixes (a
# copy kept here) owns one cell, new_unit.c built with include/memo.h (0.2)
# owns another.  0.1 and 0.2 do not share cells (memo_t's layout past state_
# changed between the minor versions); they do share the program-wide weak
# v1 tables (the 0.1 copy has only the MEMO_NO_FUTEX park table
# memo_i_park_v1_), and 0.2's registry and memo_shutdown() must leave the 0.1
# cell alone.  abi_main.c has the cases.  Futex and MEMO_NO_FUTEX, gcc and
# clang.  Ends with "abi: N passed, N failed".  MEMO_INCLUDE=dir: new_unit.c
# is built with dir/memo.h instead of include/memo.h.
set -u
cd "$(dirname "$0")/../.." || exit 2
. mk/flags.sh
B=build/abi; mkdir -p "$B"
INC=${MEMO_INCLUDE:-include}
passed=0; failed=0
for cc in gcc clang; do for opt in "" "-DMEMO_NO_FUTEX"; do
  name="$cc${opt:+-nofutex}"
  # shellcheck disable=SC2086
  if $cc -std=c11 -O2 $opt $WARN -Itests/abi -c tests/abi/old_unit.c -o "$B/old-$name.o" 2>"$B/$name.log" &&
     $cc -std=c11 -O2 $opt $WARN -I"$INC" -Itests/abi -c tests/abi/new_unit.c -o "$B/new-$name.o" 2>>"$B/$name.log" &&
     $cc -std=c11 -O2 $WARN -Itests/abi tests/abi/abi_main.c "$B/old-$name.o" "$B/new-$name.o" -o "$B/abi-$name" -pthread 2>>"$B/$name.log"; then
    out=$(timeout 60 "$B/abi-$name" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p'); f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    p=${p:-0}; f=${f:-1}; [ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f))
    echo "[abi $name] $p passed, $f failed"; [ "$f" != 0 ] && printf '%s\n' "$out" | sed 's/^/    /'
  else echo "[abi $name] BUILD FAILED"; sed 's/^/    /' "$B/$name.log" | head -20; failed=$((failed + 1)); fi
done; done
echo "abi: $passed passed, $failed failed"
[ "$failed" = 0 ]
