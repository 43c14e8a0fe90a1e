#!/usr/bin/env bash
# run.sh -- the `make integration` runner: memo with real clients against real
# servers, all on loopback (127.0.0.1), all stopped at the end.
#
# Debian packages it needs (installs nothing itself; CI installs them first):
#   make gcc pkg-config libcmocka-dev python3
#   postgresql libpq-dev            (server: initdb, pg_ctl; client: libpq)
#   redis-server redis-tools libhiredis-dev   (server, redis-cli; client: hiredis)
#   libcurl4-openssl-dev            (client: libcurl)
#   util-linux                      (runuser, when run as root; in every Debian)
#
# What it does:
#   1. starts a throwaway PostgreSQL (initdb into a temp dir, scram-sha-256
#      password auth, TCP on 127.0.0.1 on a free port, Unix socket in the temp
#      dir; as the postgres user via runuser when run as root) and a
#      redis-server (password, 127.0.0.1, a free port, no persistence);
#   2. builds the examples (examples/build.sh) and the cmocka
#      integration tests (tests/integration/test_*.c) and runs the tests;
#   3. runs the three examples as smoke tests (http against a local
#      HTTP/1.1 keep-alive server, tests/integration/http_server.py), and
#      the lifetimes examples (examples/lifetimes/, docs/LIFETIMES.md),
#      checking the facts they print;
#   4. builds and runs the tests and the lifetimes examples again under
#      -fsanitize=address,undefined (skip with MEMO_ITEST_SANITIZE=0);
#   5. prints "N passed, N failed" and exits non-zero if any test failed.
# The servers, the HTTP server and the temp dir go away on exit (trap), also
# when a test fails or the script is interrupted.
set -u
cd "$(dirname "$0")/../.." || exit 1
. mk/flags.sh   # WARN, ASAN_UBSAN; CC (default gcc)
B=build/integration
mkdir -p "$B"
passed=0; failed=0; failures=()
record() { # name ok(0/1) [count]
  local n=${3:-1}
  if [ "$2" = 0 ]; then passed=$((passed + n)); echo "ok    $1"
  else failed=$((failed + n)); failures+=("$1"); echo "FAIL  $1"; fi
}
die() { echo "run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

# --- what must be installed -------------------------------------------------
missing=()
need_bin() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (apt-get install $2)"); }
need_bin "$CC" gcc
need_bin pkg-config pkg-config
need_bin python3 python3
need_bin redis-server redis-server
need_bin redis-cli redis-tools
PGBIN=""
for d in "$(pg_config --bindir 2>/dev/null)" $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then PGBIN=$d; break; fi
done
[ -n "$PGBIN" ] || missing+=("initdb/pg_ctl (apt-get install postgresql)")
if [ "$(id -u)" = 0 ]; then
  need_bin runuser util-linux
  id postgres >/dev/null 2>&1 || missing+=("the postgres user (apt-get install postgresql)")
fi
for spec in "libpq|libpq-dev" "hiredis|libhiredis-dev" "libcurl|libcurl4-openssl-dev" "cmocka|libcmocka-dev"; do
  pkg-config --exists "${spec%%|*}" 2>/dev/null || missing+=("pkg-config module ${spec%%|*} (apt-get install ${spec##*|})")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: missing:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  die "install the packages listed at the top of tests/integration/run.sh"
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- servers ------------------------------------------------------------------
TMP=$(mktemp -d /tmp/memo-itest.XXXXXX) || die "mktemp failed"
chmod 755 "$TMP"
REDIS_PID=""; HTTP_PID=""
cleanup() {
  [ -x "$TMP/pgctl.sh" ] && "$TMP/pgctl.sh" stop-if-running >/dev/null 2>&1
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PW=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$TMP/pg" "$TMP/redis"
printf '%s\n' "$PW" > "$TMP/pg/pw"
if [ "$(id -u)" = 0 ]; then AS_PG="runuser -u postgres --"; chown -R postgres: "$TMP/pg"; else AS_PG=""; fi
PGPORT_=$(free_port)
# pgctl.sh start|stop|stop-if-running|status: the tests stop and start the
# server through it (retry test); it always uses the same port and dirs.
cat > "$TMP/pgctl.sh" <<EOF
#!/bin/sh
PGCTL="$AS_PG $PGBIN/pg_ctl -D $TMP/pg/data"
case "\$1" in
  start) exec \$PGCTL -o "-p $PGPORT_ -k $TMP/pg -c listen_addresses=127.0.0.1 -c fsync=off" -l $TMP/pg/log -w -t 30 start ;;
  stop) exec \$PGCTL -m fast -w stop ;;
  stop-if-running) \$PGCTL status >/dev/null 2>&1 && exec \$PGCTL -m immediate -w stop; exit 0 ;;
  status) exec \$PGCTL status ;;
esac
exit 2
EOF
chmod 755 "$TMP/pgctl.sh"
echo "== PostgreSQL: initdb, start on 127.0.0.1:$PGPORT_"
$AS_PG "$PGBIN/initdb" -D "$TMP/pg/data" -A scram-sha-256 --pwfile="$TMP/pg/pw" -U app -E UTF8 \
    --locale=C >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log"; die "initdb failed"; }
"$TMP/pgctl.sh" start >/dev/null || { cat "$TMP/pg/log"; die "PostgreSQL did not start"; }

REDIS_PORT_=$(free_port)
echo "== redis-server: start on 127.0.0.1:$REDIS_PORT_"
redis-server --port "$REDIS_PORT_" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$TMP/redis" --logfile "$TMP/redis/log" --requirepass "$PW" &
REDIS_PID=$!
for _ in $(seq 100); do
  [ "$(REDISCLI_AUTH=$PW redis-cli -h 127.0.0.1 -p "$REDIS_PORT_" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done
[ "$(REDISCLI_AUTH=$PW redis-cli -h 127.0.0.1 -p "$REDIS_PORT_" ping 2>/dev/null)" = PONG ] ||
  { cat "$TMP/redis/log"; die "redis-server did not start"; }

echo "== HTTP/1.1 keep-alive server (python3)"
python3 tests/integration/http_server.py "$TMP/http.port" "$TMP/http.conns" 2>"$TMP/http.log" &
HTTP_PID=$!
for _ in $(seq 100); do [ -s "$TMP/http.port" ] && break; sleep 0.1; done
[ -s "$TMP/http.port" ] || { cat "$TMP/http.log"; die "the HTTP server did not start"; }
HTTP_PORT_=$(cat "$TMP/http.port")

export DATABASE_URL="postgresql://app:$PW@127.0.0.1:$PGPORT_/postgres"
export ITEST_PG_PORT=$PGPORT_ ITEST_PG_PASSWORD=$PW ITEST_PG_CTL=$TMP/pgctl.sh ITEST_TMP=$TMP
export REDIS_HOST=127.0.0.1 REDIS_PORT=$REDIS_PORT_ REDIS_PASSWORD=$PW
unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGSSLMODE

# --- build --------------------------------------------------------------------
echo "== build examples"
if bash examples/build.sh >"$B/examples.log" 2>&1; then record "build examples" 0
else cat "$B/examples.log"; record "build examples" 1; fi

# name | sources | pkg-config modules
suites=(
  "postgres|tests/integration/test_postgres.c|libpq"
  "redis|tests/integration/test_redis.c|hiredis"
)
# build_and_run LABEL CFLAGS [ENV...]: builds every suite with CFLAGS, runs it.
build_and_run() {
  local label=$1 flags=$2 s sname srcs mods exe out rc p f
  shift 2
  for s in "${suites[@]}"; do
    IFS='|' read -r sname srcs mods <<<"$s"
    exe="$B/$label-$sname"
    # shellcheck disable=SC2046,SC2086
    if ! $CC -std=c11 $flags $WARN -Iinclude -Itests/integration -Itests/common $(pkg-config --cflags $mods cmocka) \
         $srcs -o "$exe" $(pkg-config --libs $mods cmocka) -pthread 2>"$exe.build.log"; then
      sed 's/^/    /' "$exe.build.log" | head -30
      record "[$label] $sname: build" 1; continue
    fi
    out=$(env "$@" timeout 150 "$exe" 2>&1); rc=$?
    printf '%s\n' "$out" > "$exe.log"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    p=${p:-0}; f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi  # crashed, timed out or sanitizer report
    printf '%s\n' "$out" | grep -E '^\[ *(OK|FAILED|RUN) *\]|^# ' | grep -vE '^\[ RUN' | sed "s/^/    [$label] /"
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" != 0 ]; then
      failures+=("[$label] $sname")
      echo "FAIL  [$label] $sname: $p passed, $f failed (rc=$rc); output:"
      printf '%s\n' "$out" | tail -60 | sed 's/^/    /'
    else
      echo "ok    [$label] $sname: $p passed"
    fi
  done
}

echo "== integration tests ($CC -O2)"
build_and_run O2 "-O2 -g"

# --- the examples as smoke tests ---------------------------------------------
echo "== examples against the servers"
EX=build/examples
# smoke NAME EXPECT_RC GREP_PATTERN COMMAND...: runs COMMAND, checks its exit
# code and that its output matches the pattern.
smoke() {
  local name=$1 want_rc=$2 pat=$3 out rc
  shift 3
  out=$(timeout 60 "$@" 2>&1); rc=$?
  printf '%s\n' "$out" > "$B/smoke-${name//[^A-Za-z0-9]/_}.log"
  if [ "$rc" = "$want_rc" ] && printf '%s\n' "$out" | grep -qE -- "$pat"; then
    printf '%s\n' "$out" | tail -2 | sed 's/^/    /'
    record "example: $name" 0
  else
    echo "    exit $rc (want $want_rc), output does not match /$pat/:"
    printf '%s\n' "$out" | tail -15 | sed 's/^/    /'
    record "example: $name" 1
  fi
}
if [ -x $EX/postgres ]; then
  smoke "postgres, 20 queries, 1 connection" 0 '^connections opened: 1, connect attempts: 1, failed queries: 0$' \
    $EX/postgres 20 "select 1"
  smoke "postgres, server kills the connection, it reconnects" 1 '^connections opened: 3, connect attempts: 3, failed queries: 3$' \
    $EX/postgres 3 "select pg_terminate_backend(pg_backend_pid())"
  smoke "postgres, wrong password fails cleanly" 1 'password authentication failed' \
    env DATABASE_URL="postgresql://app:wrong@127.0.0.1:$PGPORT_/postgres" $EX/postgres 2
else record "example: postgres (not built)" 1; fi
if [ -x $EX/redis ]; then
  smoke "redis, 20 commands, 1 connection" 0 '^connections opened: 1, connect attempts: 1, failed commands: 0$' \
    $EX/redis 20
  smoke "redis, no password fails cleanly" 1 'NOAUTH' env -u REDIS_PASSWORD $EX/redis 2
else record "example: redis (not built)" 1; fi
if [ -x $EX/http ]; then
  : > "$TMP/http.conns"
  smoke "http, 20 GETs, CURLINFO_NUM_CONNECTS sum 1" 0 \
    'new connections in all \(CURLINFO_NUM_CONNECTS\): 1, failed: 0$' $EX/http "http://127.0.0.1:$HTTP_PORT_/" 20
  n=$(wc -l < "$TMP/http.conns")
  if [ "$n" = 1 ]; then record "example: http, server saw 1 TCP connection for 20 GETs" 0
  else echo "    the server saw $n connections"; record "example: http, server saw 1 TCP connection for 20 GETs" 1; fi
else record "example: http (not built)" 1; fi

# --- the lifetimes examples (docs/LIFETIMES.md) -------------------------------
# Each example checks itself and prints what it saw; these checks read the
# printed facts (counts, pids, order), never timings.
# facts NAME WANT_RC LOG PATTERN...: the example exited WANT_RC and every
# extended-regex PATTERN matches a line of LOG.
facts() {
  local name=$1 want_rc=$2 log=$3 rc pat miss=()
  rc=$(cat "$log.rc" 2>/dev/null || echo '?')
  shift 3
  [ "$rc" = "$want_rc" ] || miss+=("exit $rc (want $want_rc)")
  for pat in "$@"; do grep -qE -- "$pat" "$log" || miss+=("no line matches /$pat/"); done
  if [ ${#miss[@]} = 0 ]; then record "$name" 0
  else
    printf '    %s\n' "${miss[@]}"; tail -25 "$log" | sed 's/^/    | /'
    record "$name" 1
  fi
}
# run_to LOG COMMAND...: runs COMMAND (60 s at most), output to LOG, exit code to LOG.rc
run_to() { local log=$1; shift; timeout 60 "$@" >"$log" 2>&1; echo $? >"$log.rc"; }
# lifetimes_examples DIR LABEL: runs the lifetimes examples built in DIR
lifetimes_examples() {
  local d=$1/lifetimes l="[$2] lifetimes" L="$B/$2-lifetimes" pids n
  for x in reconnect token prefork sigterm perthread; do
    [ -x "$d/$x" ] || { record "$l: $x (not built)" 1; return; }
  done
  # 1. reconnect: 4 threads, one PGconn, pg_terminate_backend of its backend
  run_to "$L-reconnect.log" "$d/reconnect" 4 25
  facts "$l: reconnect: kill -> one reconnect, old PGconn closed after its last lease" 0 "$L-reconnect.log" \
    '^before the kill: 4 threads x 25 queries, 100 ok, connections opened: 1$' \
    '^admin: select pg_terminate_backend\([0-9]+, 5000\) -> t$' \
    '^on the killed connection: 4 leases held, 4 queries failed; memo_invalidate_lease: 1 returned 0, 3 EALREADY$' \
    '^connection #1 closed with 0 leases held, after 4 failed queries$' \
    '^after the reconnect: 100 queries ok of 100; connections opened: 2, connect attempts: 2$' \
    '^reconnect: all checks passed$'
  # 2. token: TTL + MEMO_REFRESH_STALE + max_stale, PostgreSQL as the issuer
  run_to "$L-token.log" "$d/token"
  facts "$l: token: fresh, one refresh, stale-if-error to max_stale, error, recovery" 0 "$L-token.log" \
    '^t=00:00\.\.09:58 1000 gets: 1000 served token #1; issuer calls: 1$' \
    '^t=10:00 4 threads get at once: 1 got the new token #2 \(the refresher\), 3 the old token #1 without waiting; issuer calls: 2$' \
    '^free_token: token #1 destroyed by the last release of a lease on it$' \
    '^issue_token: call 3 failed: ERROR: +permission denied for function issue_token' \
    '^t=20:00 get: token #2 \(stale\); issuer calls: 3 \(\+1\)' \
    '^t=20:01 get: token #2 \(stale\); issuer calls: 3 \(\+0\)' \
    '^t=23:59 get: token #2 \(stale\); issuer calls: 5 \(\+1\)' \
    '^t=24:00 get: error EACCES .*; issuer calls: 5 \(\+0\)' \
    '^t=24:30 get: error EACCES .*; issuer calls: 6 \(\+1\)' \
    '^t=25:30 get: token #3 \(fresh\); issuer calls: 7 \(\+1\)' \
    '^token: all checks passed$'
  # the shutdown order: the token (newest) before the issuer connection
  n=$(grep -nE '^(free_token: token #3|close_issuer:)' "$L-token.log" | cut -d: -f2 | tr '\n' ' ')
  if [ "$n" = "free_token close_issuer " ]; then record "$l: token: memo_shutdown destroys the token, then the issuer connection" 0
  else echo "    order seen: $n"; record "$l: token: memo_shutdown destroys the token, then the issuer connection" 1; fi
  # 3. prefork: MEMO_FORK_RESET + .forget; distinct backends, parent's survives
  run_to "$L-prefork.log" "$d/prefork" 4
  facts "$l: prefork: workers forget the parent's PGconn, connect their own" 0 "$L-prefork.log" \
    '^prefork: all checks passed$'
  pids=$(sed -nE 's/^(parent|worker [0-9]+): backend pid ([0-9]+).*/\2/p' "$L-prefork.log" | sort -u | wc -l)
  if [ "$pids" = 5 ]; then record "$l: prefork: 5 distinct pg_backend_pid (parent + 4 workers)" 0
  else echo "    distinct backend pids: $pids"; record "$l: prefork: 5 distinct pg_backend_pid (parent + 4 workers)" 1; fi
  local p0 p1
  p0=$(sed -nE 's/^parent: backend pid ([0-9]+)$/\1/p' "$L-prefork.log")
  p1=$(sed -nE 's/^parent after the workers exited: backend pid ([0-9]+), connections opened by the parent: 1$/\1/p' "$L-prefork.log")
  if [ -n "$p0" ] && [ "$p0" = "$p1" ]; then record "$l: prefork: the parent's connection works after the workers exit (same backend)" 0
  else echo "    parent backend before '$p0', after '$p1'"; record "$l: prefork: the parent's connection works after the workers exit (same backend)" 1; fi
  # the control: a .forget that says goodbye (PQfinish) kills the parent's session
  run_to "$L-prefork-goodbye.log" "$d/prefork" 2 --goodbye
  facts "$l: prefork --goodbye (control): PQfinish in a child ends the parent's session" 1 "$L-prefork-goodbye.log" \
    "^FAIL  the parent's connection still works"
  # 4. sigterm: SIGTERM from outside while invocation 3 runs
  "$d/sigterm" >"$L-sigterm.log" 2>&1 &
  local spid=$! i
  for i in $(seq 200); do grep -q '^invocation 3: started$' "$L-sigterm.log" && break; sleep 0.05; done
  kill -TERM "$spid" 2>/dev/null
  for i in $(seq 200); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$spid" 2>/dev/null
  wait "$spid"; echo $? >"$L-sigterm.log.rc"
  facts "$l: sigterm: in-flight invocation finishes, then memo_shutdown" 0 "$L-sigterm.log" \
    '^watcher: SIGTERM; invocation in flight: yes, waiting for it$' \
    '^watcher: memo_shutdown\(\) = 0; exiting \(failed invocations: 0\)$'
  n=$(grep -nE '^(watcher: SIGTERM|invocation 3: finished ok|close_db: PQfinish|invocation 4)' "$L-sigterm.log" |
      cut -d: -f2- | cut -c1-12 | tr '\n' '|')
  if [ "$n" = "watcher: SIG|invocation 3|close_db: PQ|" ]; then record "$l: sigterm: order SIGTERM, invocation 3 ends, PQfinish; no invocation 4" 0
  else echo "    order seen: $n"; record "$l: sigterm: order SIGTERM, invocation 3 ends, PQfinish; no invocation 4" 1; fi
  # 5. perthread: MEMOIZE_THREAD, one PGconn per thread
  run_to "$L-perthread.log" "$d/perthread" 4
  facts "$l: perthread: 5 threads, 5 backends, closed at thread exit / memo_shutdown" 0 "$L-perthread.log" \
    '^connections opened: 5, distinct backends: yes, closed at thread exit: 4, closed by memo_shutdown: 1$' \
    '^perthread: all checks passed$'
}
echo "== lifetimes examples (docs/LIFETIMES.md)"
lifetimes_examples "$EX" O2

# --- again under the sanitizers -------------------------------------------------
if [ "${MEMO_ITEST_SANITIZE:-1}" != 0 ]; then
  echo "== integration tests ($CC -fsanitize=address,undefined)"
  build_and_run asan-ubsan "$ASAN_UBSAN" \
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
  echo "== lifetimes examples ($CC -fsanitize=address,undefined)"
  if EXAMPLES_OUT="$B/asan-examples" CFLAGS="$ASAN_UBSAN" bash examples/build.sh >"$B/asan-examples.log" 2>&1; then
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 lifetimes_examples "$B/asan-examples" asan-ubsan
  else cat "$B/asan-examples.log"; record "[asan-ubsan] build examples" 1; fi
fi

echo
if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
