/* redis.c -- one memoized hiredis connection, reconnected when it breaks.
 *
 *   REDIS_HOST=127.0.0.1 REDIS_PORT=6379 [REDIS_PASSWORD=...] ./redis [N]
 *
 * Runs "INCR memo:example:counter" N times (default 5) on the connection that
 * get_redis memoizes and prints each command's time and the connections
 * opened so far.  The first call connects (and checks the connection with
 * PING); later calls reuse it.  When a command finds the connection broken
 * (c->err set, or no reply: the server restarted, CLIENT KILL, a timeout),
 * the program drops it, and the next command reconnects, with a backoff
 * window while the server stays down.
 *
 * Each command holds a lease on the connection: memo_acquire on the cell
 * get_redis_memo (it connects on first use, as get_redis() does), and
 * memo_release after the command.  A broken connection is dropped with
 * memo_invalidate_lease(&lease), which drops exactly the context this command
 * used: if another thread dropped it first and a reconnect got a new
 * redisContext at the same address, it returns EALREADY and leaves the new
 * one alone (the pointer form, memo_invalidate(m, c), could not tell them
 * apart).  The context is freed at the last memo_release, never under a
 * command that still uses it.
 *
 * A redisContext must not be used by two threads at once: this program is
 * single-threaded; a threaded one would guard it with a mutex.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "memo.h"

static int connections_opened;

/* The error for a reply to AUTH or PING (freed here): 0 if it is a status
 * reply ("OK", "PONG"), EIO if there is none (connection lost), EACCES for
 * an error reply (WRONGPASS, NOAUTH), EPROTO for anything else. */
static int check_reply(redisContext *c, redisReply *r, const char *what)
{
    int err = 0;
    if (!r) {
        fprintf(stderr, "open_redis: %s failed: %s\n", what, c->errstr);
        return EIO;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "open_redis: %s: %s\n", what, r->str);
        err = EACCES;
    } else if (r->type != REDIS_REPLY_STATUS) {
        err = EPROTO;
    }
    freeReplyObject(r);
    return err;
}

/* Connects, AUTHs if REDIS_PASSWORD is set, and PINGs.  Errors: EINVAL (bad
 * REDIS_PORT), ECONNREFUSED (no server there), others from check_reply. */
static int open_redis(redisContext **out)
{
    const char *host = getenv("REDIS_HOST") ? getenv("REDIS_HOST") : "127.0.0.1";
    const char *port_s = getenv("REDIS_PORT") ? getenv("REDIS_PORT") : "6379";
    const char *password = getenv("REDIS_PASSWORD");
    char *end;
    long port = strtol(port_s, &end, 10);
    if (*port_s == '\0' || *end != '\0' || port <= 0 || port > 65535) {
        fprintf(stderr, "open_redis: bad REDIS_PORT '%s'\n", port_s);
        return EINVAL;
    }
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout(host, (int)port, tv);
    if (!c)
        return ENOMEM;
    if (c->err) {
        fprintf(stderr, "open_redis: connect to %s:%ld failed: %s\n", host, port, c->errstr);
        redisFree(c);
        return ECONNREFUSED;
    }
    redisSetTimeout(c, tv); /* no command waits forever on a hung server */
    int err = password ? check_reply(c, redisCommand(c, "AUTH %s", password), "AUTH") : 0;
    if (!err)
        err = check_reply(c, redisCommand(c, "PING"), "PING");
    if (err) {
        redisFree(c);
        return err;
    }
    connections_opened++;
    *out = c;
    return 0;
}

static void close_redis(redisContext *c)
{
    redisFree(c);
}

MEMOIZE(static, get_redis, redisContext *, open_redis, close_redis, .retry_min_ms = 100,
        .retry_max_ms = 5000);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* INCR on the memoized connection: the new value, or -1 on failure (after
 * invalidating a broken connection so that the next call reconnects). */
static long long incr_counter(void)
{
    memo_lease_t lease;
    int err = memo_acquire(&get_redis_memo, &lease); /* connects like get_redis() */
    if (err) {
        fprintf(stderr, "no connection: %s (error %d)\n", strerror(err), err);
        return -1;
    }
    redisContext *c = (redisContext *)lease.value;
    redisReply *r = redisCommand(c, "INCR memo:example:counter");
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r && r->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "INCR: %s\n", r->str);
    int broken = !r || c->err;
    if (r)
        freeReplyObject(r);
    if (broken) { /* drop this very connection: the next call reconnects */
        fprintf(stderr, "connection lost (%s): the next command reconnects\n", c->errstr);
        memo_invalidate_lease(&lease); /* EALREADY: someone else dropped it first */
    }
    memo_release(&lease); /* redisFree here if it was dropped (the last lease) */
    return v;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [N>0]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* hiredis write()s: a closed socket must not kill us */
    int failed = 0;
    for (long i = 1; i <= n; i++) {
        double t0 = now_ms();
        long long v = incr_counter();
        double dt = now_ms() - t0;
        char val[32] = "FAILED";
        if (v >= 0)
            snprintf(val, sizeof val, "-> %lld", v);
        printf("INCR %ld: %8.3f ms  %-8s (connections opened: %d)\n", i, dt, val, connections_opened);
        failed += v < 0;
    }
    memo_stats_t st = memo_stats(&get_redis_memo);
    printf("connections opened: %d, connect attempts: %u, failed commands: %d\n",
           connections_opened, st.attempts, failed);
    memo_reset(&get_redis_memo); /* redisFree */
    return failed ? 1 : 0;
}
