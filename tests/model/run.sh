#!/usr/bin/env bash
# run.sh -- check tests/model/memo.pml (the cell) and lease.pml (leases) with
# spin: exhaustive for 2 threads, bitstate for 3; ends with "N passed, N failed".
set -u
cd "$(dirname "$0")"
command -v spin >/dev/null || { echo "spin missing: apt-get install -y spin"; exit 1; }
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
cp memo.pml lease.pml "$w/"; cd "$w" || exit 1
passed=0; failed=0
check() { # name, spin -D flags, cc flags, pan flags[, model file]
  spin -a $2 "${5:-memo.pml}" >/dev/null && gcc -O2 -DSAFETY $3 -o pan pan.c && ./pan $4 > out.txt 2>&1
  if grep -q "errors: 0" out.txt; then passed=$((passed+1)); echo "ok   $1: $(grep -E 'states, stored' out.txt | head -1 | sed 's/^ *//')"
  else failed=$((failed+1)); echo "FAIL $1"; grep -E "pan:|error|violated" out.txt | head; fi
}
check "2 threads + reset, exhaustive" "-DNTHREADS=2" "" "-m100000"
check "3 threads + reset, bitstate (-k3 -w28)" "-DNTHREADS=3" "-DBITSTATE" "-m200000 -w28 -k3"
check "leases: 2 holders + owner, 2 values, exhaustive" "-DNHOLDERS=2 -DROUNDS=2" "-w" "-m100000" lease.pml
check "leases: 3 holders + owner, 2 values, bitstate (-k3 -w28)" "-DNHOLDERS=3 -DROUNDS=2" "-w -DBITSTATE" "-m200000 -w28 -k3" lease.pml
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
