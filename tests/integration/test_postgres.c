/* test_postgres.c -- memo with a real libpq connection against a real
 * PostgreSQL server on 127.0.0.1, started by tests/integration/run.sh.
 *
 * Environment (set by run.sh): DATABASE_URL (postgresql://app:PW@127.0.0.1:
 * PORT/postgres), ITEST_PG_PORT, ITEST_PG_PASSWORD, ITEST_PG_CTL (a script:
 * start | stop | status).
 *
 * Each test uses its own memo_t cell whose arg says where to connect and
 * under which application_name, so that the server-side view
 * (pg_stat_activity) can count the test's own backends.  The checks on the
 * server go through short-lived "admin" connections, never memoized. */
#include "itest.h"

#include <libpq-fe.h>

#include "memo.h"

/* --- a memoized libpq client: the cell's arg is a pg_cfg_t ---------------- */

typedef struct pg_cfg {
    char url[256];        /* conninfo or postgresql:// URL */
    const char *app;      /* application_name, to find our backends */
    atomic_int ctor_calls;
    atomic_int dtor_calls; /* pg_close: connections closed */
    char err[512];        /* libpq's message of the last failed attempt */
} pg_cfg_t;

static void pg_cfg_init(pg_cfg_t *cfg, const char *url, const char *app)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->url, sizeof cfg->url, "%s", url);
    cfg->app = app;
}

/* Connects, checks the connection with "select 1".  Errors: EINVAL (malformed
 * URL), EACCES (authentication or authorization refused), ECONNREFUSED (no
 * usable server there), EPROTO (the check failed).  The message is kept in
 * cfg->err. */
static int pg_open(void *arg, void **out)
{
    pg_cfg_t *cfg = (pg_cfg_t *)arg;
    atomic_fetch_add(&cfg->ctor_calls, 1);
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(cfg->url, &perr);
    if (!opts) {
        snprintf(cfg->err, sizeof cfg->err, "malformed connection string: %s", perr ? perr : "?");
        PQfreemem(perr);
        return EINVAL;
    }
    PQconninfoFree(opts);
    /* expand_dbname = 1: the URL gives the defaults, the later keywords win */
    const char *kw[] = { "dbname", "application_name", "connect_timeout", "sslmode", "gssencmode", NULL };
    const char *val[] = { cfg->url, cfg->app, "5", "disable", "disable", NULL };
    PGconn *c = PQconnectdbParams(kw, val, 1);
    if (!c)
        return ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        int err = PQconnectionUsedPassword(c) || PQconnectionNeedsPassword(c) ? EACCES : ECONNREFUSED;
        snprintf(cfg->err, sizeof cfg->err, "%s", PQerrorMessage(c));
        PQfinish(c);
        return err;
    }
    PGresult *r = PQexec(c, "select 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(cfg->err, sizeof cfg->err, "%s", PQerrorMessage(c));
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return EPROTO;
    }
    *out = c;
    return 0;
}

static void pg_close(void *arg, void *value)
{
    atomic_fetch_add(&((pg_cfg_t *)arg)->dtor_calls, 1);
    PQfinish((PGconn *)value);
}

/* 1 if "select 1" succeeds on c. */
static int pg_ping(PGconn *c)
{
    PGresult *r = PQexec(c, "select 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

/* --- the server's view, through a fresh admin connection each time --------- */

/* Runs sql with $1 = param, returns the first value as a number. */
static long long admin_scalar(const char *sql, const char *param)
{
    const char *kw[] = { "dbname", "application_name", "sslmode", NULL };
    const char *val[] = { itest_env("DATABASE_URL"), "itest_admin", "disable", NULL };
    PGconn *c = PQconnectdbParams(kw, val, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        print_error("admin connection: %s", PQerrorMessage(c));
        PQfinish(c);
        fail();
    }
    PGresult *r = PQexecParams(c, sql, 1, NULL, &param, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        print_error("admin query failed: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        fail();
    }
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

/* Backends the server has for application_name `app`. */
static long long server_backends(const char *app)
{
    return admin_scalar("select count(*) from pg_stat_activity where application_name = $1", app);
}

/* Waits (at most 5 s) until the server shows `want` backends for `app`; a
 * backend whose client said goodbye takes a moment to go.  Returns the count. */
static long long wait_backends(const char *app, long long want)
{
    long long n = server_backends(app);
    for (int i = 0; i < 100 && n != want; i++) {
        mt_sleep_ms(50);
        n = server_backends(app);
    }
    return n;
}

/* Terminates (pg_terminate_backend, waiting for it to end) every backend of
 * `app`; returns how many. */
static long long server_kill(const char *app)
{
    return admin_scalar("select count(*) from (select pg_terminate_backend(pid, 5000) as ok "
                        "from pg_stat_activity where application_name = $1) t where ok", app);
}

/* --- a) one connection for many calls from several threads ------------------ */

/* The worker threads hold a lease (memo_acquire ... memo_release) on the
 * connection for each use, as examples/postgres does: a value other threads
 * may still be using is destroyed only at its last release. */

#define NTHREADS 4

typedef struct worker {
    memo_t *cell;
    pg_cfg_t *cfg;
    pthread_mutex_t *mu; /* a PGconn serves one query at a time */
    pthread_barrier_t *barrier;
    int calls;
    void *seen, *seen2;
    int get_errors, release_errors, query_ok, noticed_broken, invalidated, invalidate_errors,
        dtor_while_held, still_bad_while_held, second_ok;
} worker_t;

static void *many_calls(void *arg)
{
    worker_t *w = (worker_t *)arg;
    for (int i = 0; i < w->calls; i++) {
        memo_lease_t lease = MEMO_LEASE_INIT;
        if (memo_acquire(w->cell, &lease) != 0) {
            w->get_errors++;
            continue;
        }
        if (w->seen && w->seen != lease.value)
            w->get_errors++; /* a second connection: must not happen */
        w->seen = lease.value;
        pthread_mutex_lock(w->mu);
        w->query_ok += pg_ping((PGconn *)lease.value);
        pthread_mutex_unlock(w->mu);
        if (memo_release(&lease) != 0)
            w->release_errors++;
    }
    return NULL;
}

static void test_one_connection_for_many_calls(void **state)
{
    (void)state;
    static pg_cfg_t cfg;
    pg_cfg_init(&cfg, itest_env("DATABASE_URL"), "itest_one");
    memo_t cell = MEMO_INIT(pg_open, pg_close, &cfg, .retry_min_ms = 50);
    assert_int_equal(wait_backends("itest_one", 0), 0);

    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_t th[NTHREADS];
    worker_t w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker_t){ .cell = &cell, .cfg = &cfg, .mu = &mu, .calls = 25 };
        assert_int_equal(pthread_create(&th[i], NULL, many_calls, &w[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].get_errors, 0);
        assert_int_equal(w[i].release_errors, 0);
        assert_ptr_equal(w[i].seen, w[0].seen);
        ok += w[i].query_ok;
    }
    assert_int_equal(ok, NTHREADS * 25);
    assert_int_equal(atomic_load(&cfg.ctor_calls), 1);
    assert_int_equal(atomic_load(&cfg.dtor_calls), 0); /* still in the cell */
    memo_stats_t st = memo_stats(&cell);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(st.successes, 1);
    /* the server side: exactly one backend for our application_name */
    long long n = server_backends("itest_one");
    print_message("# postgres: %d calls from %d threads: %d constructor call, %lld server backend\n",
                  NTHREADS * 25, NTHREADS, atomic_load(&cfg.ctor_calls), n);
    assert_int_equal(n, 1);
    assert_int_equal(memo_reset(&cell), 0); /* PQfinish: no lease is held */
    assert_int_equal(atomic_load(&cfg.dtor_calls), 1);
    assert_int_equal(wait_backends("itest_one", 0), 0);
}

/* --- b) the first connect fails (server down), a later call succeeds --------- */

static char pgctl_cmd[512];

/* ITEST_PG_CTL start|stop|status; "start" waits until the server is up,
 * "start &" returns at once and the server comes up meanwhile. */
static int pg_server(const char *what)
{
    int bg = strchr(what, '&') != NULL;
    snprintf(pgctl_cmd, sizeof pgctl_cmd, "%s %.*s >/dev/null 2>&1 %s", itest_env("ITEST_PG_CTL"),
             (int)strcspn(what, " &"), what, bg ? "&" : "");
    return system(pgctl_cmd) == 0 ? 0 : -1;
}

/* Whatever happened in the test, leave the server running for the next. */
static int ensure_server_up(void **state)
{
    (void)state;
    if (pg_server("status") != 0 && pg_server("start") != 0) {
        print_error("could not restart PostgreSQL\n");
        return -1;
    }
    return 0;
}

static void test_retry_until_server_is_up(void **state)
{
    (void)state;
    static pg_cfg_t cfg;
    pg_cfg_init(&cfg, itest_env("DATABASE_URL"), "itest_retry");
    memo_t cell = MEMO_INIT(pg_open, pg_close, &cfg, .retry_min_ms = 200, .retry_max_ms = 800);

    assert_int_equal(pg_server("stop"), 0);
    void *v = NULL;
    assert_int_equal(memo_get(&cell, &v), ECONNREFUSED);
    assert_non_null(strstr(cfg.err, "Connection refused"));
    print_message("# postgres down: ECONNREFUSED: %.*s\n", itest_line(cfg.err), cfg.err);
    /* inside the backoff window: the same error at once, no new attempt */
    assert_int_equal(memo_get(&cell, &v), ECONNREFUSED);
    assert_int_equal(atomic_load(&cfg.ctor_calls), 1);

    /* start the server in the background and keep calling while it comes up */
    assert_int_equal(pg_server("start &"), 0);
    double t0 = itest_now_ms();
    int err;
    while ((err = memo_get(&cell, &v)) != 0 && itest_now_ms() - t0 < 20000)
        mt_sleep_ms(10);
    assert_int_equal(err, 0);
    assert_true(pg_ping((PGconn *)v));
    memo_stats_t st = memo_stats(&cell);
    print_message("# postgres starting: connected after %u attempts (%u failed) in %.0f ms; last "
                  "failure: %.*s\n", st.attempts, st.failures, itest_now_ms() - t0,
                  itest_line(cfg.err), cfg.err);
    assert_int_equal(st.successes, 1);
    assert_true(st.failures >= 1);
    assert_int_equal(st.attempts, st.failures + 1);
    assert_int_equal(server_backends("itest_retry"), 1);
    assert_int_equal(memo_reset(&cell), 0);
}

/* --- c) the server kills the connection: one reconnect, however many notice -- */

/* Each worker leases the connection the server killed, notices it is broken
 * and drops it with memo_invalidate_lease: the first to do so gets 0, the
 * others EALREADY.  Between the two barriers every worker still holds its
 * lease on the dropped connection, so its destructor must not have run and
 * the PGconn must still be there to read.  Then each releases it and leases
 * the new connection, which all of them share. */
static void *notice_and_invalidate(void *arg)
{
    worker_t *w = (worker_t *)arg;
    memo_lease_t lease = MEMO_LEASE_INIT;
    int got = memo_acquire(w->cell, &lease) == 0;
    if (!got)
        w->get_errors++;
    else
        w->seen = lease.value;
    if (got) {
        pthread_mutex_lock(w->mu);
        if (!pg_ping((PGconn *)lease.value) && PQstatus((PGconn *)lease.value) == CONNECTION_BAD)
            w->noticed_broken = 1;
        pthread_mutex_unlock(w->mu);
    }
    /* every worker holds a lease on the broken connection before any drops it */
    pthread_barrier_wait(w->barrier);
    if (got) {
        int err = memo_invalidate_lease(&lease);
        if (err == 0)
            w->invalidated = 1;
        else if (err != EALREADY) /* EALREADY: another worker dropped it first */
            w->invalidate_errors++;
    }
    pthread_barrier_wait(w->barrier);
    if (!got)
        return NULL;
    /* dropped from the cell, but leased: not destroyed */
    w->dtor_while_held = atomic_load(&w->cfg->dtor_calls);
    pthread_mutex_lock(w->mu);
    w->still_bad_while_held = PQstatus((PGconn *)lease.value) == CONNECTION_BAD;
    pthread_mutex_unlock(w->mu);
    if (memo_release(&lease) != 0)
        w->release_errors++;

    if (memo_acquire(w->cell, &lease) != 0) {
        w->get_errors++;
        return NULL;
    }
    w->seen2 = lease.value;
    pthread_mutex_lock(w->mu);
    w->second_ok = pg_ping((PGconn *)lease.value);
    pthread_mutex_unlock(w->mu);
    if (memo_release(&lease) != 0)
        w->release_errors++;
    return NULL;
}

static void test_killed_connection_reconnects_once(void **state)
{
    (void)state;
    static pg_cfg_t cfg;
    pg_cfg_init(&cfg, itest_env("DATABASE_URL"), "itest_kill");
    memo_t cell = MEMO_INIT(pg_open, pg_close, &cfg, .retry_min_ms = 50);
    /* The test itself holds a lease on the first connection throughout, so
     * that the workers' releases are not its last: it is destroyed only at
     * this thread's release, after the workers have reconnected. */
    memo_lease_t mine = MEMO_LEASE_INIT;
    assert_int_equal(memo_acquire(&cell, &mine), 0);
    void *v = mine.value;
    assert_int_equal(server_backends("itest_kill"), 1);
    assert_int_equal(server_kill("itest_kill"), 1);
    assert_int_equal(server_backends("itest_kill"), 0);

    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    pthread_t th[NTHREADS];
    worker_t w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker_t){ .cell = &cell, .cfg = &cfg, .mu = &mu, .barrier = &barrier };
        assert_int_equal(pthread_create(&th[i], NULL, notice_and_invalidate, &w[i]), 0);
    }
    int noticed = 0, invalidated = 0, ok = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].get_errors, 0);
        assert_int_equal(w[i].release_errors, 0);
        assert_int_equal(w[i].invalidate_errors, 0);
        assert_ptr_equal(w[i].seen, v);
        assert_ptr_equal(w[i].seen2, w[0].seen2);
        assert_int_equal(w[i].dtor_while_held, 0);
        assert_true(w[i].still_bad_while_held);
        noticed += w[i].noticed_broken;
        invalidated += w[i].invalidated;
        ok += w[i].second_ok;
    }
    pthread_barrier_destroy(&barrier);
    /* the old connection is still leased here, so the new one is elsewhere */
    assert_ptr_not_equal(w[0].seen2, v);
    long long n = server_backends("itest_kill");
    int dtor_held = atomic_load(&cfg.dtor_calls);
    assert_int_equal(PQstatus((PGconn *)mine.value), CONNECTION_BAD); /* not freed */
    assert_int_equal(memo_release(&mine), 0); /* the last lease: PQfinish here */
    int dtor_released = atomic_load(&cfg.dtor_calls);
    print_message("# postgres kill: %d threads noticed, %d invalidate won, %d constructor calls, "
                  "%lld server backend; destructor calls: %d while a lease was held, %d after "
                  "the last release\n", noticed, invalidated, atomic_load(&cfg.ctor_calls), n,
                  dtor_held, dtor_released);
    assert_int_equal(noticed, NTHREADS);
    assert_int_equal(invalidated, 1);
    assert_int_equal(ok, NTHREADS);
    assert_int_equal(atomic_load(&cfg.ctor_calls), 2);
    assert_int_equal(n, 1);
    assert_int_equal(dtor_held, 0);
    assert_int_equal(dtor_released, 1);
    assert_int_equal(memo_reset(&cell), 0);
    assert_int_equal(atomic_load(&cfg.dtor_calls), 2);
}

/* --- d) backoff keeps a dead server from being hammered ----------------------- */


static void test_backoff_limits_attempts(void **state)
{
    (void)state;
    itest_listener_t l; /* accepts and closes at once, counting */
    assert_int_equal(itest_listener_start(&l), 0);
    char url[128];
    snprintf(url, sizeof url, "postgresql://app:x@127.0.0.1:%d/postgres", l.port);
    static pg_cfg_t cfg_plain, cfg_backoff;
    pg_cfg_init(&cfg_plain, url, "itest_backoff");
    pg_cfg_init(&cfg_backoff, url, "itest_backoff");
    memo_t plain = MEMO_INIT(pg_open, pg_close, &cfg_plain);
    memo_t backoff = MEMO_INIT(pg_open, pg_close, &cfg_backoff, .retry_min_ms = 50, .retry_max_ms = 400);

    int calls_plain, calls_backoff;
    assert_int_equal(itest_hammer(&plain, 100, 0, &calls_plain), ECONNREFUSED);
    int accepts_plain = itest_listener_wait(&l, calls_plain, 5000);
    atomic_store(&l.accepts, 0);
    /* 600 ms: attempts at about 0, 50, 150, 350 ms (windows 50, 100, 200, 400) */
    assert_int_equal(itest_hammer(&backoff, 0, 600, &calls_backoff), ECONNREFUSED);
    memo_stats_t sp = memo_stats(&plain), sb = memo_stats(&backoff);
    int accepts_backoff = itest_listener_wait(&l, (int)sb.attempts, 5000);
    itest_listener_stop(&l);
    print_message("# postgres, server hangs up at once: no backoff: %d calls -> %u attempts, %d "
                  "accepted; retry 50..400 ms: %d calls in 600 ms -> %u attempts, %d accepted\n",
                  calls_plain, sp.attempts, accepts_plain, calls_backoff, sb.attempts,
                  accepts_backoff);
    print_message("#   (libpq: %.*s)\n", itest_line(cfg_plain.err), cfg_plain.err);
    assert_int_equal(sp.attempts, 100);
    assert_int_equal(accepts_plain, 100);
    assert_true(calls_backoff >= 50);
    assert_true(sb.attempts >= 2 && sb.attempts <= 6);
    assert_int_equal(accepts_backoff, (int)sb.attempts);
    assert_int_equal(atomic_load(&cfg_backoff.ctor_calls), (int)sb.attempts);
}

/* --- e) no fd leaks through failures and reconnects ------------------------------ */

static void test_no_fd_leak(void **state)
{
    (void)state;
    char refused[128];
    snprintf(refused, sizeof refused, "postgresql://app@127.0.0.1:%d/postgres", itest_free_port());
    static pg_cfg_t bad, good;
    pg_cfg_init(&bad, refused, "itest_fd_bad");
    pg_cfg_init(&good, itest_env("DATABASE_URL"), "itest_fd");
    memo_t badcell = MEMO_INIT(pg_open, pg_close, &bad);
    memo_t cell = MEMO_INIT(pg_open, pg_close, &good);
    void *v = NULL;
    /* warm up: whatever libpq opens once per process is open before we count */
    assert_int_equal(memo_get(&badcell, &v), ECONNREFUSED);
    assert_int_equal(memo_get(&cell, &v), 0);
    assert_int_equal(memo_reset(&cell), 0);
    int before = itest_count_fds();

    for (int i = 0; i < 20; i++)
        assert_int_equal(memo_get(&badcell, &v), ECONNREFUSED);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(memo_get(&cell, &v), 0);
        assert_true(pg_ping((PGconn *)v));
        assert_int_equal(server_kill("itest_fd"), 1);
        assert_false(pg_ping((PGconn *)v));
        assert_int_equal(PQstatus((PGconn *)v), CONNECTION_BAD);
        assert_int_equal(memo_invalidate(&cell, v), 0); /* PQfinish closes the socket */
    }
    assert_int_equal(memo_get(&cell, &v), 0);
    assert_true(pg_ping((PGconn *)v));
    assert_int_equal(memo_reset(&cell), 0);
    assert_int_equal(memo_reset(&badcell), 0);
    int after = itest_count_fds();
    print_message("# postgres: open fds before %d, after 21 failed connects and 6 (re)connects %d\n",
                  before, after);
    assert_int_equal(atomic_load(&good.ctor_calls), 1 + 6);
    assert_int_equal(after, before);
}

/* --- f) bad input: clear error code and message, no crash ------------------------ */

static void expect_failure(const char *what, const char *url, int code, const char *msg)
{
    static pg_cfg_t cfg;
    pg_cfg_init(&cfg, url, "itest_bad");
    memo_t cell = MEMO_INIT(pg_open, pg_close, &cfg);
    void *v = NULL;
    int err = memo_get(&cell, &v);
    print_message("# postgres, %s: error %d (%s): %.*s\n", what, err, strerror(err),
                  itest_line(cfg.err), cfg.err);
    assert_int_equal(err, code);
    assert_null(v);
    assert_non_null(strstr(cfg.err, msg));
    assert_int_equal(memo_peek(&cell, &v), EAGAIN); /* nothing cached */
    memo_stats_t st = memo_stats(&cell);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.last_error, code);
    assert_int_equal(memo_reset(&cell), 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *port = itest_env("ITEST_PG_PORT");
    char url[256];
    snprintf(url, sizeof url, "postgresql://app:wrong-password@127.0.0.1:%s/postgres", port);
    expect_failure("wrong password", url, EACCES, "password authentication failed");
    snprintf(url, sizeof url, "postgresql://app:%s@127.0.0.1:%s/no_such_db",
             itest_env("ITEST_PG_PASSWORD"), port);
    expect_failure("no such database", url, EACCES, "does not exist");
    snprintf(url, sizeof url, "postgresql://app@127.0.0.1:%d/postgres", itest_free_port());
    expect_failure("nothing on that port", url, ECONNREFUSED, "Connection refused");
    expect_failure("malformed URL", "postgresql://app@[127.0.0.1/postgres", EINVAL, "malformed");
    expect_failure("unknown option", "host=127.0.0.1 no_such_option=1", EINVAL,
                   "invalid connection option");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_connection_for_many_calls),
        cmocka_unit_test_teardown(test_retry_until_server_is_up, ensure_server_up),
        cmocka_unit_test(test_killed_connection_reconnects_once),
        cmocka_unit_test(test_backoff_limits_attempts),
        cmocka_unit_test(test_no_fd_leak),
        cmocka_unit_test(test_bad_input),
    };
    return mt_run_tests("postgres", tests);
}
