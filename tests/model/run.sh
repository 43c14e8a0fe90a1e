#!/usr/bin/env bash
# run.sh -- check tests/model/memo.pml (the cell), lease.pml (leases) and
# fork.pml (fork) with spin: exhaustive for 2 threads, bitstate for 3; each
# mutation must be caught; ends with "N passed, N failed".
set -u
cd "$(dirname "$0")"
command -v spin >/dev/null || { echo "spin missing: apt-get install -y spin"; exit 1; }
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
cp memo.pml lease.pml fork.pml "$w/"; cd "$w" || exit 1
passed=0; failed=0
check() { # name, spin -D flags, cc flags, pan flags[, model file]
  t0=$SECONDS
  spin -a $2 "${5:-memo.pml}" >/dev/null && gcc -O2 -DSAFETY $3 -o pan pan.c && ./pan $4 > out.txt 2>&1
  if grep -q "errors: 0" out.txt; then passed=$((passed+1)); echo "ok   $1: $(grep -E 'states, stored' out.txt | head -1 | sed 's/^ *//'), $((SECONDS-t0)) s"
  else failed=$((failed+1)); echo "FAIL $1"; grep -E "pan:|error|violated" out.txt | head; fi
}
check "2 threads + reset, exhaustive" "-DNTHREADS=2" "" "-m100000"
check "3 threads + reset, bitstate (-k3 -w28)" "-DNTHREADS=3" "-DBITSTATE" "-m200000 -w28 -k3"
check "leases: 2 holders + owner, 2 values, exhaustive" "-DNHOLDERS=2 -DROUNDS=2" "-w" "-m100000" lease.pml
check "leases: 3 holders + owner, 2 values, bitstate (-k3 -w28)" "-DNHOLDERS=3 -DROUNDS=2" "-w -DBITSTATE" "-m200000 -w28 -k3" lease.pml
# fork.pml: a child gets a snapshot of the cell at any step of the parent.
# "memo.h" = the take-over as include/memo.h has it; "fixed" = with the
# proposed take-over (CAS retried while only WAITERS changed, the dead period's
# failure record made stale first): -DFIX_TAKEOVER -DFIX_FAIL.
catches() { # name, spin -D flags, what spin must report; the model is fork.pml
  t0=$SECONDS
  spin -a $2 fork.pml >/dev/null && gcc -w -O2 -DSAFETY -DCOLLAPSE -o pan pan.c && ./pan -m100000 > out.txt 2>&1
  if grep -q "$3" out.txt; then passed=$((passed+1)); echo "ok   $1: caught ($(grep -m1 -E "^pan:1" out.txt | sed 's/ (at depth.*//'), $(grep -E 'states, stored' out.txt | sed 's/^ *//'), $((SECONDS-t0)) s)"
  else failed=$((failed+1)); echo "FAIL $1: not caught"; grep -E "errors" out.txt | head -3; fi
}
F="-DFIX_TAKEOVER -DFIX_FAIL"
check "fork, memo.h: 2 parent threads + 1 child thread, exhaustive" "-DNP=2 -DNC=1 -DSTRICT_FAIL" "-w -DCOLLAPSE" "-m100000" fork.pml
check "fork, memo.h: 2 parent threads + reset + 1 child thread, exhaustive" "-DNP=2 -DNC=1 -DRESET -DSTRICT_FAIL" "-w -DCOLLAPSE" "-m100000" fork.pml
check "fork, memo.h: 2 parent threads + 2 child threads, exhaustive" "-DNP=2 -DNC=2 -DSTRICT_FAIL" "-w -DCOLLAPSE" "-m100000" fork.pml
check "fork, memo.h: fork() from inside the constructor + 1 child thread" "-DNP=2 -DNC=2 -DFORK_IN_CTOR" "-w -DCOLLAPSE" "-m100000" fork.pml
check "fork, fixed: 2 parent threads + 2 child threads, exhaustive" "$F -DNP=2 -DNC=2 -DSTRICT_FAIL" "-w -DCOLLAPSE" "-m100000" fork.pml
check "fork, fixed: 1 parent thread + reset + 2 child threads, exhaustive" "$F -DNP=1 -DNC=2 -DRESET -DSTRICT_FAIL" "-w -DCOLLAPSE" "-m100000" fork.pml
catches "fork mutation: no pid check (a BUSY cell is waited on)" "$F -DNP=2 -DNC=1 -DNO_PID_CHECK" "invalid end state"
catches "fork mutation: pid_ stored after the claim CAS" "$F -DNP=2 -DNC=1 -DPID_AFTER" "assertion violated"
catches "fork mutation: pid_ after the CAS, cell claimed before" "$F -DNP=2 -DNC=2 -DPID_AFTER -DPID_INIT=1" "assertion violated"
catches "fork mutation: take-over keeps the current epoch's record" "$F -DNP=1 -DNC=1 -DRESET -DNO_DROP" "assertion violated"
catches "fork mutation: rlock_ never taken from another process" "$F -DNP=1 -DNC=1 -DRESET -DNO_STEAL" "invalid end state"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
