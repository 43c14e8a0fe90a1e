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
#   6. README.md's Quick start compiles and links against include/memo.h and
#      libpq (its first ```c block, and with its second, the MEMOIZE_THREAD
#      line, in place of the MEMOIZE line), and with DATABASE_URL unset each
#      returns EINVAL with a message instead of crashing.  Skipped, with the
#      reason, without libpq-dev.
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
# the README's Quick start is C that compiles, and runs without DATABASE_URL
qs_check() {
  local d cc=${CC:-gcc} pq_inc flags
  d=$(mktemp -d) || return
  awk -v d="$d" '
    /^## / { inq = ($0 == "## Quick start") ; next }
    inq && /^```c$/ { n++; inb = 1; next }
    inq && inb && /^```$/ { inb = 0; next }
    inq && inb { print > (d "/block" n ".c") }' README.md
  if [ ! -s "$d/block1.c" ] || [ ! -s "$d/block2.c" ]; then
    bad "README.md: the Quick start has not its two \`\`\`c blocks (the example, the MEMOIZE_THREAD line)"; rm -rf "$d"; return
  fi
  pq_inc=$(pkg-config --cflags libpq 2>/dev/null || echo "-I$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)")
  # shellcheck disable=SC2086
  if ! command -v "$cc" >/dev/null 2>&1 || ! printf '#include <libpq-fe.h>\n' | "$cc" $pq_inc -E -x c - >/dev/null 2>&1; then
    echo "docs: README Quick start compile SKIPPED: no $cc or no libpq-fe.h (apt-get install -y libpq-dev)"; rm -rf "$d"; return
  fi
  . mk/flags.sh # WARN
  flags="-std=c11 $WARN -Iinclude $pq_inc"
  printf '\nint main(void) { return handle(); }\n' >>"$d/block1.c"
  { sed '/^MEMOIZE(/,$d' "$d/block1.c"; cat "$d/block2.c"
    printf '\nint main(void) { PGconn *db; int err = get_db(&db); if (!err) get_db_reset(); return err; }\n'; } >"$d/thread.c"
  local f out rc
  for f in block1 thread; do
    # shellcheck disable=SC2086
    if ! out=$("$cc" $flags "$d/$f.c" -o "$d/$f" -lpq -pthread 2>&1); then
      bad "README.md: the Quick start ($f) does not compile: $(printf '%s\n' "$out" | grep -m3 -E 'error|warning')"; continue
    fi
    out=$(env -u DATABASE_URL "$d/$f" 2>&1); rc=$?
    if [ "$rc" = 22 ] && printf '%s\n' "$out" | grep -q 'DATABASE_URL is not set'; then ok
    else bad "README.md: the Quick start ($f) without DATABASE_URL: status $rc (want EINVAL, 22), output: $(printf '%s\n' "$out" | head -2)"; fi
  done
  rm -rf "$d"
}
qs_check
echo "docs: $passed passed, $failed failed"
[ "$failed" = 0 ]
