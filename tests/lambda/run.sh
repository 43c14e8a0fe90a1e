#!/usr/bin/env bash
# run.sh -- the Lambda tests: builds examples/lambda's bootstrap, runs it against
# a hostile fake Runtime API (hostile_api.py), checks the deployment zip
# (package_check.sh), then starts a throwaway
# PostgreSQL on 127.0.0.1 (stopped on exit) and runs test.js under Node with
# @vercel/fun (SIGTERM included: memo_shutdown, a clean disconnection, exit 0).
# Ends with "N passed, N failed" (both summed); non-zero on failure.
#   INVOCATIONS=200 CONCURRENCY=8 bash tests/lambda/run.sh
# Needs: gcc, libcurl4-openssl-dev, libpq-dev, libsqlite3-dev, postgresql,
# procps (fun stops its processes with ps), binutils, zip and unzip (the
# deployment zip), nodejs >= 20 and npm.  As root it
# installs the missing Debian packages.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

fail_setup() { echo "run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

# --- dependencies ---------------------------------------------------------------
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if command -v dpkg-query >/dev/null 2>&1; then
  for p in gcc pkg-config libcurl4-openssl-dev libpq-dev libsqlite3-dev postgresql procps binutils zip unzip; do
    have_pkg "$p" || need+=("$p")
  done
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "run.sh: installing ${need[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null ||
        fail_setup "apt-get install ${need[*]} failed"
    else
      fail_setup "missing packages: ${need[*]} (sudo apt-get install -y ${need[*]})"
    fi
  fi
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail_setup "Node.js >= 20 needed (@vercel/fun 1.3.6), found $(node --version)"

# --- scratch space, cleaned up on exit -------------------------------------------
tmp=$(mktemp -d /tmp/memo-lambda.XXXXXX)
chmod 755 "$tmp" # the postgres user must reach $tmp/pg
PGBIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || PGBIN=
pgdir=$tmp/pg
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local rc=$?
  if [ -f "$pgdir/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build --------------------------------------------------------------------
bash "$root/examples/lambda/build.sh" "$tmp/task" || fail_setup "build failed"

# --- the hostile fake Runtime API (no emulator, no server: SQLite) ---------------
# Its counts join test.js's in the last line.
echo "== hostile Runtime API (tests/lambda/hostile_api.py)"
counts() { sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$1" | tail -n 1; }
set +e
bash "$here/hostile_api.sh" "$tmp/task/bootstrap" | tee "$tmp/hostile.log"
h_rc=${PIPESTATUS[0]}
set -e
h_passed=0 h_failed=1
if [ "$h_rc" = 77 ]; then h_failed=0 # skipped, the reason printed
elif ! read -r h_passed h_failed < <(counts "$tmp/hostile.log"); then
  h_passed=0 h_failed=1; echo "run.sh: the hostile Runtime API test did not finish"
fi
# --- the deployment zip (package_check.sh: layout, mode, ELF, lib/, runs) -----------
echo "== deployment zip (tests/lambda/package_check.sh)"
set +e
bash "$here/package_check.sh" | tee "$tmp/package.log"
p_rc=${PIPESTATUS[0]}
set -e
p_passed=0 p_failed=1
if [ "$p_rc" = 77 ]; then p_failed=0 # skipped, the reason printed
elif ! read -r p_passed p_failed < <(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed\(, [0-9]* skipped\)\{0,1\}$/\1 \2/p' "$tmp/package.log" | tail -n 1); then
  p_passed=0 p_failed=1; echo "run.sh: the deployment zip check did not finish"
fi
[ "$p_rc" = 0 ] || [ "$p_rc" = 77 ] || [ "$p_failed" -gt 0 ] || p_failed=1
echo "== Lambda emulator (tests/lambda/test.js)"

# --- @vercel/fun ----------------------------------------------------------------
export XDG_CACHE_HOME=$tmp/cache # fun copies its runtimes there, not into $HOME
# npm ci unless node_modules was installed from this very lockfile already.
if ! [ "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ] ||
   [ "$(cd "$here" && node -p 'require("@vercel/fun/package.json").version' 2>/dev/null)" != 1.3.6 ]; then
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || fail_setup "npm ci failed"
fi

# --- PostgreSQL on 127.0.0.1, password auth, every connection logged ----------------
[ -n "$PGBIN" ] || fail_setup "PostgreSQL server binaries not found in /usr/lib/postgresql"
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port)
down_port=$(free_port) # nothing listens there
password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$pgdir"
printf '%s\n' "$password" >"$pgdir/pw"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$pgdir"
as_pg "$PGBIN/initdb" -D "$pgdir/data" -A scram-sha-256 --pwfile="$pgdir/pw" -U app >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log"; fail_setup "initdb failed"; }
as_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c log_connections=on -c max_connections=50" start >/dev/null ||
  { cat "$pgdir/log"; fail_setup "PostgreSQL did not start"; }
PGPASSWORD=$password "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U app app || fail_setup "createdb failed"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (log $pgdir/log)"

export TASK_DIR=$tmp/task
export DATABASE_URL="postgresql://app:$password@127.0.0.1:$port/app"
export BAD_PASSWORD_URL="postgresql://app:wrong-$password@127.0.0.1:$port/app"
export DOWN_URL="postgresql://app:$password@127.0.0.1:$down_port/app"
export PG_LOG=$pgdir/log
export SQLITE_PATH=$tmp/sqlite/memo-lambda.sqlite3
mkdir -p "$tmp/sqlite"

# --- the test -------------------------------------------------------------------
# The bootstraps' stderr (one line per process start, per error, per closed
# connection and per shutdown) goes to a file; the SIGTERM scenarios read their
# lines there; its tail is shown at the end, then the count line again.
export BOOTSTRAP_STDERR=$tmp/stderr.log
set +e
(cd "$here" && timeout 600 node test.js 2>"$tmp/stderr.log") | tee "$tmp/out.log"
rc=${PIPESTATUS[0]}
set -e
echo "bootstrap stderr: $(wc -l <"$tmp/stderr.log") lines; last 6:"
tail -n 6 "$tmp/stderr.log" | sed 's/^/  | /'
if [ "$rc" -eq 124 ] || ! tail -n 1 "$tmp/out.log" | grep -q ' passed, '; then
  echo "run.sh: test.js did not finish (status $rc)"
  [ "$rc" -ne 0 ] || rc=1
fi
js_passed=0 js_failed=1
read -r js_passed js_failed < <(counts "$tmp/out.log") || { js_passed=0 js_failed=1; }
echo "hostile Runtime API: $h_passed passed, $h_failed failed; deployment zip: $p_passed passed, $p_failed failed; emulator: $js_passed passed, $js_failed failed"
[ "$h_failed" -eq 0 ] || [ "$rc" -ne 0 ] || rc=1
[ "$p_failed" -eq 0 ] || [ "$rc" -ne 0 ] || rc=1
echo "$((h_passed + p_passed + js_passed)) passed, $((h_failed + p_failed + js_failed)) failed"
exit "$rc"
