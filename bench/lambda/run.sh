#!/usr/bin/env bash
# run.sh -- the `make bench-lambda` runner: AWS-Lambda-style execution contexts
# (forked processes, each serving BENCH_INVOCATIONS sequential invocations)
# doing one round trip per invocation to PostgreSQL (`select 1`, TCP,
# scram-sha-256) and Redis (PING), connect-per-invocation vs a MEMOIZE'd
# connection, for 1, 4 and 16 concurrent contexts.
#
# Needs (Debian): gcc pkg-config python3 postgresql libpq-dev redis-server
# redis-tools libhiredis-dev, util-linux (runuser, as root); gnuplot optional.
# Environment: BENCH_INVOCATIONS (default 200: connect-per-invocation to
# PostgreSQL costs ~40 ms here, 16 contexts x 1000 would take minutes on 2
# cores; 200 keeps the whole run near 2.5 min), BENCH_CONTEXTS (default
# "1 4 16").
# Output: a table on stdout, docs/img/lambda_bench.csv and, with gnuplot,
# docs/img/lambda_bench.svg.  Servers run on 127.0.0.1 only, on free ports,
# and are stopped on exit (trap).
set -u
cd "$(dirname "$0")/../.." || exit 1
. mk/flags.sh   # WARN; CC (default gcc)
K=${BENCH_INVOCATIONS:-200}
CONTEXTS=${BENCH_CONTEXTS:-"1 4 16"}
CSV=docs/img/lambda_bench.csv
SVG=docs/img/lambda_bench.svg
die() { echo "bench/lambda/run.sh: $*" >&2; exit 1; }

PGBIN=""
for d in "$(pg_config --bindir 2>/dev/null)" $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then PGBIN=$d; break; fi
done
[ -n "$PGBIN" ] || die "initdb/pg_ctl not found (apt-get install postgresql)"
for b in gcc pkg-config python3 redis-server redis-cli; do
  command -v "$b" >/dev/null 2>&1 || die "$b not found"
done
pkg-config --exists libpq hiredis || die "pkg-config: libpq/hiredis missing (apt-get install libpq-dev libhiredis-dev)"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

TMP=$(mktemp -d /tmp/memo-lambda-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$TMP"
REDIS_PID=""
if [ "$(id -u)" = 0 ]; then AS_PG="runuser -u postgres --"; else AS_PG=""; fi
cleanup() {
  if [ -d "$TMP/pg/data" ]; then
    $AS_PG "$PGBIN/pg_ctl" -D "$TMP/pg/data" status >/dev/null 2>&1 &&
      $AS_PG "$PGBIN/pg_ctl" -D "$TMP/pg/data" -m fast -w stop >/dev/null 2>&1
  fi
  if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ----------------------------------------------------------------------
EXE=$TMP/lambda_bench
# shellcheck disable=SC2046
$CC -std=c11 -O2 $WARN -Iinclude -Itests/common $(pkg-config --cflags libpq hiredis) \
    bench/lambda/lambda_bench.c -o "$EXE" $(pkg-config --libs libpq hiredis) -pthread ||
  die "build failed"

# --- servers --------------------------------------------------------------------
PW=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$TMP/pg" "$TMP/redis"
printf '%s\n' "$PW" > "$TMP/pg/pw"
[ -n "$AS_PG" ] && chown -R postgres: "$TMP/pg"
PGPORT_=$(free_port)
PGLOG=$TMP/pg/log
$AS_PG "$PGBIN/initdb" -D "$TMP/pg/data" -A scram-sha-256 --pwfile="$TMP/pg/pw" -U app -E UTF8 \
    --locale=C >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log"; die "initdb failed"; }
$AS_PG "$PGBIN/pg_ctl" -D "$TMP/pg/data" -l "$PGLOG" -w -t 30 \
    -o "-p $PGPORT_ -k $TMP/pg -c listen_addresses=127.0.0.1 -c fsync=off -c log_connections=on -c max_connections=100" \
    start >/dev/null || { cat "$PGLOG"; die "PostgreSQL did not start"; }

REDIS_PORT_=$(free_port)
redis-server --port "$REDIS_PORT_" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$TMP/redis" --logfile "$TMP/redis/log" --requirepass "$PW" --maxclients 1000 &
REDIS_PID=$!
rcli() { REDISCLI_AUTH=$PW redis-cli -h 127.0.0.1 -p "$REDIS_PORT_" "$@" 2>/dev/null; }
for _ in $(seq 100); do [ "$(rcli ping)" = PONG ] && break; sleep 0.1; done
[ "$(rcli ping)" = PONG ] || { cat "$TMP/redis/log"; die "redis-server did not start"; }

unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGSSLMODE
export BENCH_PG_CONNINFO="postgresql://app:$PW@127.0.0.1:$PGPORT_/postgres?sslmode=disable"
export BENCH_REDIS_HOST=127.0.0.1 BENCH_REDIS_PORT=$REDIS_PORT_ BENCH_REDIS_PASSWORD=$PW

# Server-side connection counters.
pg_conns() { grep -c 'connection authorized:' "$PGLOG"; }
redis_conns() { rcli info stats | tr -d '\r' | sed -n 's/^total_connections_received://p'; }

echo "PostgreSQL 127.0.0.1:$PGPORT_ ($($PGBIN/postgres --version | sed 's/.*) //')), redis 127.0.0.1:$REDIS_PORT_, $K invocations per context, contexts: $CONTEXTS"
mkdir -p docs/img
echo "server,mode,contexts,invocations,mean_us,p50_us,p99_us,client_connections,server_connections,speedup_mean" > "$TMP/rows.csv"
t_start=$(date +%s)
status=0
for server in pg redis; do
  for n in $CONTEXTS; do
    declare -A MEAN=()
    for mode in percall memo; do
      if [ $server = pg ]; then
        before=$(pg_conns)
      else
        before=$(redis_conns)
      fi
      out=$("$EXE" "$server" "$mode" "$n" "$K") || { echo "$out"; echo "bench/lambda/run.sh: $server $mode $n: failures" >&2; status=1; }
      if [ $server = pg ]; then
        sleep 0.3   # let the last backends write their log lines
        srv=$(( $(pg_conns) - before ))
      else
        # Each redis-cli INFO is itself one connection: subtract the second one.
        srv=$(( $(redis_conns) - before - 1 ))
      fi
      get() { printf '%s\n' "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
      inv=$(get invocations); mean=$(get mean_us); p50=$(get p50_us); p99=$(get p99_us); cc=$(get client_connections)
      MEAN[$mode]=$mean
      sp=""
      if [ $mode = memo ]; then sp=$(awk -v a="${MEAN[percall]}" -v b="$mean" 'BEGIN { if (b > 0) printf "%.1f", a / b }'); fi
      echo "$server,$mode,$n,$inv,$mean,$p50,$p99,$cc,$srv,$sp" >> "$TMP/rows.csv"
    done
    unset MEAN
  done
done
t_end=$(date +%s)
cp "$TMP/rows.csv" "$CSV"

# --- table ----------------------------------------------------------------------
echo
awk -F, 'NR == 1 {
    printf "%-10s %-8s %8s %11s %11s %11s %11s %8s %8s %9s\n", "server", "mode", "contexts", "invocations",
      "mean_us", "p50_us", "p99_us", "cli_conn", "srv_conn", "speedup"; next }
  { printf "%-10s %-8s %8d %11d %11.1f %11.1f %11.1f %8d %8d %9s\n", ($1 == "pg" ? "postgresql" : $1),
      ($2 == "memo" ? "memoized" : "per-inv"), $3, $4, $5, $6, $7, $8, $9, ($10 == "" ? "" : $10 "x") }' "$CSV"
echo
echo "speedup = mean latency per invocation, connect-per-invocation / memoized; wall time $((t_end - t_start)) s"
echo "wrote $CSV"

# --- plot -----------------------------------------------------------------------
if command -v gnuplot >/dev/null 2>&1; then
  # One row per contexts value, columns: pg percall, pg memo, redis percall, redis memo (mean us).
  awk -F, 'NR > 1 { v[$3 "," $1 "," $2] = $5; if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 } }
    END { for (i = 1; i <= n; i++) { c = order[i];
      printf "\"%s ctx\" %s %s %s %s\n", c, v[c ",pg,percall"], v[c ",pg,memo"], v[c ",redis,percall"], v[c ",redis,memo"] } }' \
    "$CSV" > "$TMP/plot.dat"
  gnuplot <<EOF || echo "gnuplot failed; no SVG" >&2
set terminal svg size 900,560 dynamic enhanced font "sans,12" background rgb "white"
set output "$SVG"
set title "Latency per invocation, Lambda-style contexts ($K invocations each): connect-per-invocation vs MEMOIZE"
set ylabel "mean latency per invocation (microseconds, log scale)"
set xlabel "concurrent execution contexts"
set logscale y
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside bottom center horizontal maxcols 2
set format y "%.0f"
set yrange [10:*]
plot "$TMP/plot.dat" using 2:xtic(1) title "PostgreSQL, connect per invocation" lc rgb "#c0392b", \
     "" using 3 title "PostgreSQL, memoized" lc rgb "#e6a09a", \
     "" using 4 title "Redis, connect per invocation" lc rgb "#1f5fa8", \
     "" using 5 title "Redis, memoized" lc rgb "#9dbde6"
EOF
  [ -s "$SVG" ] && echo "wrote $SVG"
else
  echo "gnuplot not installed: no SVG (apt-get install gnuplot-nox)"
fi
exit $status
