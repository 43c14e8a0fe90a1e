#!/usr/bin/env bash
# examples/build.sh -- compiles the real-client examples into build/examples/:
#   examples/postgres/postgres.c  (libpq)     -> build/examples/postgres
#   examples/redis/redis.c        (hiredis)   -> build/examples/redis
#   examples/http/http.c          (libcurl)   -> build/examples/http
# Needs (Debian): gcc pkg-config libpq-dev libhiredis-dev libcurl4-openssl-dev
# Extra compiler flags may come in CFLAGS (e.g. CFLAGS=-fsanitize=address).
# Prints one line per example; exits non-zero if any failed to build.
set -u
cd "$(dirname "$0")/.." || exit 1
. mk/flags.sh   # WARN; CC (default gcc)
OUT=build/examples
mkdir -p "$OUT"
command -v "$CC" >/dev/null 2>&1 || { echo "examples/build.sh: '$CC' not found (apt-get install gcc)" >&2; exit 1; }
command -v pkg-config >/dev/null 2>&1 || { echo "examples/build.sh: pkg-config not found (apt-get install pkg-config)" >&2; exit 1; }

rc=0
# name | pkg-config module | Debian package
for spec in "postgres|libpq|libpq-dev" "redis|hiredis|libhiredis-dev" "http|libcurl|libcurl4-openssl-dev"; do
  IFS='|' read -r name mod pkg <<<"$spec"
  if ! pkg-config --exists "$mod"; then
    echo "examples/build.sh: $name: pkg-config module '$mod' missing (apt-get install $pkg)" >&2
    rc=1; continue
  fi
  # shellcheck disable=SC2046,SC2086
  if $CC -std=c11 -O2 $WARN -Iinclude ${CFLAGS:-} \
       $(pkg-config --cflags "$mod") "examples/$name/$name.c" -o "$OUT/$name" \
       $(pkg-config --libs "$mod") -pthread; then
    echo "built $OUT/$name"
  else
    echo "examples/build.sh: $name: compile failed" >&2
    rc=1
  fi
done
exit $rc
