#!/usr/bin/env bash
# examples/build.sh -- compiles the real-client examples into build/examples/:
#   examples/postgres/postgres.c  (libpq)     -> build/examples/postgres
#   examples/redis/redis.c        (hiredis)   -> build/examples/redis
#   examples/http/http.c          (libcurl)   -> build/examples/http
#   examples/lifetimes/NAME.c     (libpq)     -> build/examples/lifetimes/NAME
#     NAME: reconnect token prefork sigterm perthread (docs/LIFETIMES.md)
#   examples/testing/NAME.c       (cmocka)    -> build/examples/testing/NAME
#     NAME: test_fake_conn test_once test_retry (docs/TESTING.md; run by
#     examples/testing/run.sh, which `make test` runs)
# Needs (Debian): gcc pkg-config libpq-dev libhiredis-dev libcurl4-openssl-dev
# libcmocka-dev
# Arguments: the groups to build (postgres redis http lifetimes testing;
# default all of them).  Extra compiler flags may come in CFLAGS (e.g.
# CFLAGS=-fsanitize=address), another output folder in EXAMPLES_OUT, another
# memo.h in MEMO_INCLUDE (its folder: a mutated copy, say).
# Prints one line per example; exits non-zero if any failed to build.
set -u
cd "$(dirname "$0")/.." || exit 1
. mk/flags.sh   # WARN; CC (default gcc)
OUT=${EXAMPLES_OUT:-build/examples}   # EXAMPLES_OUT: another output folder (the sanitizer build)
INC=${MEMO_INCLUDE:-include}
mkdir -p "$OUT" "$OUT/lifetimes" "$OUT/testing"
command -v "$CC" >/dev/null 2>&1 || { echo "examples/build.sh: '$CC' not found (apt-get install gcc)" >&2; exit 1; }
command -v pkg-config >/dev/null 2>&1 || { echo "examples/build.sh: pkg-config not found (apt-get install pkg-config)" >&2; exit 1; }

rc=0
# source under examples/, without .c (output: build/examples/ + its file name, or
# lifetimes/NAME for the lifetimes examples) | pkg-config module | Debian package
specs=("postgres/postgres|libpq|libpq-dev" "redis/redis|hiredis|libhiredis-dev" "http/http|libcurl|libcurl4-openssl-dev")
for l in reconnect token prefork sigterm perthread; do specs+=("lifetimes/$l|libpq|libpq-dev"); done
for t in test_fake_conn test_once test_retry; do specs+=("testing/$t|cmocka|libcmocka-dev"); done
groups=" ${*:-postgres redis http lifetimes testing} "
for spec in "${specs[@]}"; do
  IFS='|' read -r src mod pkg <<<"$spec"
  case $groups in *" ${src%%/*} "*) ;; *) continue ;; esac
  name=${src#*/}
  case $src in lifetimes/* | testing/*) name=$src ;; esac
  if ! pkg-config --exists "$mod"; then
    echo "examples/build.sh: $name: pkg-config module '$mod' missing (apt-get install $pkg)" >&2
    rc=1; continue
  fi
  # shellcheck disable=SC2046,SC2086
  if $CC -std=c11 -O2 $WARN -I"$INC" ${CFLAGS:-} \
       $(pkg-config --cflags "$mod") "examples/$src.c" -o "$OUT/$name" \
       $(pkg-config --libs "$mod") -pthread; then
    echo "built $OUT/$name"
  else
    echo "examples/build.sh: $name: compile failed" >&2
    rc=1
  fi
done
exit $rc
