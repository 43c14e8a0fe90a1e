#!/usr/bin/env bash
# hostile_api.sh [BOOTSTRAP] -- the C Lambda runtime against a hostile fake
# Runtime API (tests/lambda/hostile_api.py: ids ".", "..", "/", CR, "%2e",
# trickled, stalled, reset and 7 MB events, huge headers, HTTP 500 ..., and
# SIGTERM at four moments: exit 0 after memo_shutdown).
# Builds examples/lambda's bootstrap into a scratch directory unless BOOTSTRAP
# is given.  Ends with "N passed, N failed"; exit 0 pass, 1 fail, 77 skipped
# (a missing build dependency or python3; the reason is printed).
# Needs gcc, python3 and the development files of libcurl, libpq and SQLite;
# no server: the handler uses SQLite and the fake API listens on 127.0.0.1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

skip() { echo "hostile_api.sh: SKIPPED: $*"; exit 77; }
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
bin=${1:-}
tmp=$(mktemp -d /tmp/memo-hostile.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
if [ -z "$bin" ]; then
  command -v "${CC:-gcc}" >/dev/null 2>&1 || skip "${CC:-gcc} is not installed"
  pq_inc=$(pkg-config --cflags libpq 2>/dev/null || echo "-I$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)")
  missing=()
  for h in curl/curl.h:libcurl4-openssl-dev sqlite3.h:libsqlite3-dev libpq-fe.h:libpq-dev; do
    # shellcheck disable=SC2086
    printf '#include <%s>\n' "${h%%:*}" | "${CC:-gcc}" $pq_inc -E -x c - >/dev/null 2>&1 || missing+=("${h##*:}")
  done
  [ ${#missing[@]} -eq 0 ] || skip "no development files for ${missing[*]} (apt-get install -y ${missing[*]}, or 'bash scripts/deps.sh test' as root)"
  bash "$root/examples/lambda/build.sh" "$tmp" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log"; echo "hostile_api.sh: build failed"; echo "0 passed, 1 failed"; exit 1; }
  bin=$tmp/bootstrap
fi
timeout 150 python3 "$here/hostile_api.py" "$bin"
rc=$?
[ "$rc" -eq 124 ] && { echo "hostile_api.sh: timed out after 150 s"; echo "0 passed, 1 failed"; }
[ "$rc" -eq 0 ] || rc=1
exit "$rc"
