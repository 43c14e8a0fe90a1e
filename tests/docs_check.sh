#!/usr/bin/env bash
# docs_check.sh -- keeps the manual true to the code:
#   1. every error code include/memo.h returns appears in its ERRORS block;
#   2. every public name the header defines (memo_*, MEMO_*, MEMOIZE*; not the
#      internal memo_i_* / MEMO_I_*) appears in docs/API.md;
#   3. no "planned"/"later version" promise is left about what is built;
#   4. every atomic operation goes through a wrapper;
#   5. code that docs/LIFETIMES.md and docs/TESTING.md quote from an example
#      (a ```c block right after a "<!-- quote: FILE -->" line) is in FILE
#      verbatim.
# Ends with "docs: N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2
H=include/memo.h
passed=0; failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "docs: $1"; }

errors_block=$(sed -n '/^ \* ERRORS$/,/^ \*\/$/p' "$H")
[ -n "$errors_block" ] || bad "no ERRORS block found in $H"
# code lines only (not the usage examples inside comments)
codes=$(grep -vE '^[[:space:]]*(\*|/\*|//)' "$H" | grep -oE '(return|RETURN_ERR_\(|rc = |err = |r\.err = )[[:space:]]*E[A-Z]+' | grep -oE 'E[A-Z]+$' | sort -u)
for c in $codes; do
  if printf '%s\n' "$errors_block" | grep -qw "$c"; then ok; else bad "$c is returned by $H but missing from its ERRORS block"; fi
done
for c in MEMO_ENOVALUE; do
  if printf '%s\n' "$errors_block" | grep -qw "$c"; then ok; else bad "$c missing from the ERRORS block"; fi
done

names=$( { grep -oE '\b(memo_[a-z0-9_]+|MEMO_[A-Z0-9_]+|MEMOIZE[A-Z_]*)\b' "$H" | grep -vE '^(memo_i_|MEMO_I_)' ; } | sort -u |
         grep -vE '^(MEMO_H|memo_t_|MEMO_TEST_.*)$' | grep -vE '_$')
for n in $names; do
  grep -qE "typedef struct $n \{" "$H" && continue # a struct tag: documented by its typedef
  if grep -qw -- "$n" docs/API.md; then ok; else bad "public name $n (in $H) is not documented in docs/API.md"; fi
done

if grep -nE 'planned for a later|are planned|not built yet' "$H" docs/API.md; then bad "a promise of something already built"; else ok; fi

# every atomic operation goes through a wrapper named for its order
# (>>memo:atomics; the C11 set and the C++ std::atomic set), so one build can
# redirect them all
raw=$(sed -e '/^#ifndef MEMO_I_ATOMICS_DEFINED$/,/^#endif$/d' \
          -e '/^#if !defined(MEMO_I_ATOMICS_DEFINED) && defined(MEMO_I_CXX_ATOMICS)$/,/^#endif$/d' "$H" | grep -vE '^[[:space:]]*(\*|/\*|//)' |
      grep -nE '\batomic_(load|store|exchange|compare_exchange|fetch_|thread_fence)[a-z_]*\(' || true)
if [ -z "$raw" ]; then ok; else bad "atomic operations outside the wrappers:"; printf '%s\n' "$raw" | head -5; fi
# code quoted in the guides is the examples' code, verbatim
for G in docs/LIFETIMES.md docs/TESTING.md; do
if [ -f "$G" ]; then
  qdir=$(mktemp -d) || exit 2
  awk -v d="$qdir" '
    /^<!-- quote: .* -->$/ { f = $3; want = 1; next }
    want && /^```c$/ { n++; print f > (d "/" n ".path"); close(d "/" n ".path"); inb = 1; want = 0; next }
    inb && /^```$/ { inb = 0; next }
    inb { print > (d "/" n ".code") }
    { want = 0 }' "$G"
  nq=0
  for pf in "$qdir"/*.path; do
    [ -e "$pf" ] || break
    nq=$((nq + 1))
    src=$(cat "$pf"); code=$(cat "${pf%.path}.code" 2>/dev/null)
    if [ -f "$src" ] && [ -n "$code" ] && [[ "$(cat "$src")" == *"$code"* ]]; then ok
    else bad "$G: a block quoted from $src is not in it verbatim: $(printf '%s\n' "$code" | head -1)"; fi
  done
  rm -rf "$qdir"
  if [ "$nq" -gt 0 ]; then ok; else bad "$G: no quoted block found"; fi
else bad "$G is missing"
fi
done
echo "docs: $passed passed, $failed failed"
[ "$failed" = 0 ]
