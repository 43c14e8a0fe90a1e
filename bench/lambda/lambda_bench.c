/* lambda_bench.c -- connect-per-invocation vs a memoized connection, in
 * simulated AWS Lambda execution contexts (bench/lambda/run.sh drives it).
 *
 *   lambda_bench SERVER MODE CONTEXTS INVOCATIONS
 *     SERVER       pg | redis
 *     MODE         percall (connect, one round trip, close, per invocation)
 *                  memo    (MEMOIZE'd PGconn * / redisContext *, one round trip)
 *     CONTEXTS     forked processes running concurrently (one per context)
 *     INVOCATIONS  sequential invocations per context
 *   Environment: BENCH_PG_CONNINFO (libpq conninfo/URL), BENCH_REDIS_HOST,
 *   BENCH_REDIS_PORT, BENCH_REDIS_PASSWORD (optional).
 *
 * Prints one line:
 *   invocations=N failures=F mean_us=M p50_us=P p99_us=Q client_connections=C
 * Latency is per invocation, measured in the context (CLOCK_MONOTONIC), and
 * includes the connect in percall mode and the first (cold) connect in memo
 * mode.  Exit status 0 only if every invocation succeeded. */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#include "memo.h"
#include "mt_common.h"

#include <errno.h>
#include <hiredis.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Per-context counters, shared with the parent (MAP_SHARED). */
typedef struct {
    long connects;
    long failures;
} ctx_stats_t;

static long g_connects; /* in this context (process) */


/* ---- PostgreSQL ------------------------------------------------------------ */
static int pg_open(PGconn **out) {
    const char *ci = getenv("BENCH_PG_CONNINFO");
    PGconn *c = PQconnectdb(ci ? ci : "");
    g_connects++;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "lambda_bench: connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return ECONNREFUSED;
    }
    *out = c;
    return 0;
}
static void pg_close(PGconn *c) { PQfinish(c); }

static int pg_select1(PGconn *c) {
    PGresult *r = PQexec(c, "select 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
             strcmp(PQgetvalue(r, 0, 0), "1") == 0;
    PQclear(r);
    return ok ? 0 : EIO;
}

MEMOIZE(static, get_pg, PGconn *, pg_open, pg_close, .retry_min_ms = 10);

/* ---- Redis ------------------------------------------------------------------ */
static int redis_ok_reply(redisReply *r, const char *want) {
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, want) == 0;
    if (r) freeReplyObject(r);
    return ok;
}

static int redis_open(redisContext **out) {
    const char *host = getenv("BENCH_REDIS_HOST");
    const char *port = getenv("BENCH_REDIS_PORT");
    const char *pw = getenv("BENCH_REDIS_PASSWORD");
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(host ? host : "127.0.0.1", port ? atoi(port) : 6379, tv);
    g_connects++;
    if (!c || c->err) {
        fprintf(stderr, "lambda_bench: redis connect: %s\n", c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return ECONNREFUSED;
    }
    if (pw && *pw && !redis_ok_reply(redisCommand(c, "AUTH %s", pw), "OK")) {
        fprintf(stderr, "lambda_bench: redis AUTH failed\n");
        redisFree(c);
        return EACCES;
    }
    *out = c;
    return 0;
}
static void redis_close(redisContext *c) { redisFree(c); }

static int redis_ping(redisContext *c) {
    return redis_ok_reply(redisCommand(c, "PING"), "PONG") ? 0 : EIO;
}

MEMOIZE(static, get_redis, redisContext *, redis_open, redis_close, .retry_min_ms = 10);

/* ---- one invocation ------------------------------------------------------- */
static int invoke(int pg, int memo) {
    int err;
    if (pg) {
        PGconn *c;
        if (memo) {
            if ((err = get_pg(&c)) != 0) return err;
            err = pg_select1(c);
            if (err) memo_invalidate(&get_pg_memo, c); /* reconnect next time */
        } else {
            if ((err = pg_open(&c)) != 0) return err;
            err = pg_select1(c);
            pg_close(c);
        }
    } else {
        redisContext *c;
        if (memo) {
            if ((err = get_redis(&c)) != 0) return err;
            err = redis_ping(c);
            if (err) memo_invalidate(&get_redis_memo, c);
        } else {
            if ((err = redis_open(&c)) != 0) return err;
            err = redis_ping(c);
            redis_close(c);
        }
    }
    return err;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(const uint64_t *sorted, size_t n, double p) {
    size_t i = (size_t)(p * (double)(n - 1) + 0.5); /* nearest rank */
    return (double)sorted[i] / 1000.0;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s pg|redis percall|memo CONTEXTS INVOCATIONS\n", argv[0]);
        return 2;
    }
    int pg = strcmp(argv[1], "pg") == 0;
    int memo = strcmp(argv[2], "memo") == 0;
    if ((!pg && strcmp(argv[1], "redis") != 0) || (!memo && strcmp(argv[2], "percall") != 0)) {
        fprintf(stderr, "lambda_bench: bad server or mode\n");
        return 2;
    }
    long n = atol(argv[3]), k = atol(argv[4]);
    if (n < 1 || k < 1 || n > 1024) {
        fprintf(stderr, "lambda_bench: bad CONTEXTS or INVOCATIONS\n");
        return 2;
    }
    size_t total = (size_t)n * (size_t)k;
    size_t bytes = total * sizeof(uint64_t) + (size_t)n * sizeof(ctx_stats_t);
    void *shm = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    uint64_t *lat = shm;
    ctx_stats_t *stats = (ctx_stats_t *)(lat + total);

    /* Start barrier: the contexts start together once all are forked. */
    int go[2];
    if (pipe(go) != 0) {
        perror("pipe");
        return 1;
    }
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids) return 1;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) {
            perror("fork");
            return 1;
        }
        if (p == 0) {
            char b;
            close(go[1]);
            if (read(go[0], &b, 1) < 0) _exit(1);
            uint64_t *my = lat + (size_t)i * (size_t)k;
            long fails = 0;
            for (long j = 0; j < k; j++) {
                uint64_t t0 = mt_now_ns();
                if (invoke(pg, memo) != 0) fails++;
                my[j] = mt_now_ns() - t0;
            }
            /* The context is frozen/destroyed: close the cached connection. */
            if (memo) {
                if (pg) memo_reset(&get_pg_memo);
                else memo_reset(&get_redis_memo);
            }
            stats[i].connects = g_connects;
            stats[i].failures = fails;
            _exit(0);
        }
        pids[i] = p;
    }
    close(go[0]);
    close(go[1]); /* EOF releases every context at once */
    int bad = 0;
    for (long i = 0; i < n; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
    }
    free(pids);

    long connects = 0, failures = 0;
    for (long i = 0; i < n; i++) {
        connects += stats[i].connects;
        failures += stats[i].failures;
    }
    double sum = 0;
    for (size_t i = 0; i < total; i++) sum += (double)lat[i];
    qsort(lat, total, sizeof *lat, cmp_u64);
    printf("invocations=%zu failures=%ld mean_us=%.1f p50_us=%.1f p99_us=%.1f client_connections=%ld\n",
           total, failures, sum / (double)total / 1000.0, pct_us(lat, total, 0.50),
           pct_us(lat, total, 0.99), connects);
    munmap(shm, bytes);
    return (bad || failures) ? 1 : 0;
}
