#!/usr/bin/env bash
# run.sh -- check tests/model/memo.pml (the cell), lease.pml (leases) and
# fork.pml (fork) with spin: exhaustive for 2 threads, bitstate for 3; each
# mutation must be caught; ends with "N passed, N failed".  About 4 minutes
# on an idle 2-core machine.
set -u
cd "$(dirname "$0")"
command -v spin >/dev/null || { echo "spin missing: apt-get install -y spin"; exit 1; }
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
cp memo.pml lease.pml fork.pml "$w/"; cd "$w" || exit 1
passed=0; failed=0
check() { # name, spin -D flags, cc flags, pan flags[, model file]
  t0=$SECONDS
  spin -a $2 "${5:-memo.pml}" >/dev/null && gcc -O2 -DSAFETY $3 -o pan pan.c && ./pan $4 > out.txt 2>&1
  if grep -aq "errors: 0" out.txt; then passed=$((passed+1)); echo "ok   $1: $(grep -a -E 'states, stored' out.txt | head -1 | sed 's/^ *//'), $((SECONDS-t0)) s"
  else failed=$((failed+1)); echo "FAIL $1"; grep -a -E "pan:|error|violated" out.txt | head; fi
}
check "2 threads + reset, exhaustive" "-DNTHREADS=2" "" "-m100000"
# 3 threads / 3 holders: bitstate with a 2^26-bit table (8 MB; about 25 M
# states each) to keep make model near 4 minutes on 2 cores; -w28 stores
# about 100 M states (memo) and 84 M (leases) in about 4 times the time.
check "3 threads + reset, bitstate (-k3 -w26)" "-DNTHREADS=3" "-DBITSTATE" "-m200000 -w26 -k3"
check "leases: 2 holders + owner, 2 values, exhaustive" "-DNHOLDERS=2 -DROUNDS=2" "-w" "-m100000" lease.pml
check "leases: 3 holders + owner, 2 values, bitstate (-k3 -w26)" "-DNHOLDERS=3 -DROUNDS=2" "-w -DBITSTATE" "-m200000 -w26 -k3" lease.pml
# fork.pml: a child gets a snapshot of the cell at any step of the parent;
# the default model is the take-over as include/memo.h has it, with the fixes
# of defects A-E of docs/DESIGN.md section 11; each fix has a mutation below
# (the code before it) that spin must catch.
catches() { # name, spin -D flags, what spin must report; the model is fork.pml
  t0=$SECONDS
  spin -a $2 fork.pml >/dev/null && gcc -w -O2 -DSAFETY -DCOLLAPSE -o pan pan.c && ./pan -m100000 > out.txt 2>&1
  if grep -aq "$3" out.txt; then passed=$((passed+1)); echo "ok   $1: caught ($(grep -a -m1 -E "^pan:1" out.txt | sed 's/ (at depth.*//'), $(grep -a -E 'states, stored' out.txt | sed 's/^ *//'), $((SECONDS-t0)) s)"
  else failed=$((failed+1)); echo "FAIL $1: not caught"; grep -a -E "errors" out.txt | head -3; fi
}
check "fork: 2 parent threads + 1 child thread, exhaustive" "-DNP=2 -DNC=1 -DSTRICT_FAIL" "-w -DCOLLAPSE" "-m100000" fork.pml
check "fork: 2 parent threads + reset + 1 child thread, exhaustive" "-DNP=2 -DNC=1 -DRESET -DSTRICT_FAIL" "-w -DCOLLAPSE" "-m100000" fork.pml
check "fork: 2 parent threads + 2 child threads, bitstate (-k3 -w27; 78 M states exhaustively take ~6 min here)" "-DNP=2 -DNC=2 -DSTRICT_FAIL" "-w -DBITSTATE" "-m100000 -w27 -k3" fork.pml
check "fork: 1 parent thread + reset + 2 child threads, exhaustive" "-DNP=1 -DNC=2 -DRESET -DSTRICT_FAIL" "-w -DCOLLAPSE" "-m100000" fork.pml
check "fork: fork() from inside the constructor + 1 child thread, FIX_END_PID, exhaustive" "-DNP=2 -DNC=2 -DFORK_IN_CTOR -DFIX_END_PID" "-w -DCOLLAPSE" "-m100000" fork.pml
catches "fork mutation D: owner_ cleared before the forker's pid (the code before the fix)" "-DNP=2 -DNC=2 -DFORK_IN_CTOR -DNO_END_PID" "assertion violated (owners\[p\]==1)"
check "fork: a child thread with a dead owner's pthread_t is not told EDEADLK (TID_REUSE)" "-DNP=1 -DNC=2 -DTID_REUSE" "-w -DCOLLAPSE" "-m100000" fork.pml
catches "fork mutation E: owned_by_me_ accepting this process's pid (the code before the fix)" "-DNP=1 -DNC=2 -DTID_REUSE -DOLD_OWNED" "assertion violated  !(edeadlk)"
catches "fork mutation: no pid check (a BUSY cell is waited on)" "-DNP=2 -DNC=1 -DNO_PID_CHECK" "invalid end state"
catches "fork mutation: pid_ stored after the claim CAS" "-DNP=2 -DNC=1 -DPID_AFTER" "assertion violated"
catches "fork mutation: pid_ after the CAS, cell claimed before" "-DNP=2 -DNC=2 -DPID_AFTER -DPID_INIT=1" "assertion violated"
catches "fork mutation: take-over keeps the current epoch's record" "-DNP=1 -DNC=1 -DRESET -DNO_DROP" "assertion violated"
catches "fork mutation: rlock_ never taken from another process" "-DNP=1 -DNC=1 -DRESET -DNO_STEAL" "invalid end state"
catches "fork mutation A: take-over CAS not retried when only WAITERS changed" "-DNP=2 -DNC=2 -DNO_WAITERS_RETRY" "invalid end state"
catches "fork mutation C: the dead period's failure record not made stale" "-DNP=2 -DNC=2 -DSTRICT_FAIL -DNO_STALE_FAIL" "assertion violated failed_gen"
catches "fork mutation B: no forker record (fork from the ctor, FIX_END_PID)" "-DNP=2 -DNC=2 -DFORK_IN_CTOR -DFIX_END_PID -DNO_FORKER" "assertion violated (owners\[p\]==1)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
