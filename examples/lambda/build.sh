#!/usr/bin/env bash
# build.sh [OUTDIR] -- compile the custom runtime into OUTDIR/bootstrap
# (default: build/lambda/ in the repository).  Needs gcc and the development
# packages of libcurl, libpq and SQLite (Debian: libcurl4-openssl-dev libpq-dev
# libsqlite3-dev).  CC overrides the compiler, EXTRA_LDFLAGS adds link flags
# (e.g. a static build, see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/lambda}
. "$root/mk/flags.sh"   # WARN; CC (default gcc)
mkdir -p "$out"
# Debian keeps libpq-fe.h in /usr/include/postgresql.
pq_cflags=$(pkg-config --cflags libpq 2>/dev/null || echo "-I$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)")
# shellcheck disable=SC2086
$CC -std=c11 -O2 $WARN -I "$root/include" $pq_cflags \
  "$here/bootstrap.c" "$here/handler.c" -o "$out/bootstrap" \
  -lcurl -lpq -lsqlite3 -pthread ${EXTRA_LDFLAGS:-}
chmod 755 "$out/bootstrap"
echo "built $out/bootstrap"
