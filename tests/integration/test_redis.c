/* test_redis.c -- memo with a real hiredis connection against a real
 * redis-server on 127.0.0.1, started by tests/integration/run.sh (the retry
 * test starts a second one itself).
 *
 * Environment (set by run.sh): REDIS_HOST (127.0.0.1), REDIS_PORT,
 * REDIS_PASSWORD, ITEST_TMP (a scratch dir).
 *
 * Each test uses its own memo_t cell whose arg says where to connect and the
 * client name to set (CLIENT SETNAME), so that the server-side view (CLIENT
 * LIST) can count the test's own connections.  The checks on the server go
 * through short-lived "admin" connections, never memoized. */
#include "itest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>

#include "memo.h"

/* --- a memoized hiredis client: the cell's arg is an rd_cfg_t ---------------- */

typedef struct rd_cfg {
    int port;
    const char *password; /* NULL: no AUTH */
    const char *name;     /* CLIENT SETNAME, to find our connections */
    atomic_int ctor_calls;
    atomic_int dtor_calls; /* rd_close: contexts freed */
    char err[256];        /* the message of the last failed attempt */
} rd_cfg_t;

static void rd_cfg_init(rd_cfg_t *cfg, int port, const char *password, const char *name)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = port;
    cfg->password = password;
    cfg->name = name;
}

/* 0 for a status reply, else an error (message in cfg->err); frees r. */
static int rd_check(rd_cfg_t *cfg, redisContext *c, redisReply *r, const char *what)
{
    int err = 0;
    if (!r) {
        snprintf(cfg->err, sizeof cfg->err, "%s: %s", what, c->errstr);
        return EIO;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(cfg->err, sizeof cfg->err, "%s: %s", what, r->str);
        err = EACCES;
    } else if (r->type != REDIS_REPLY_STATUS) {
        snprintf(cfg->err, sizeof cfg->err, "%s: unexpected reply type %d", what, r->type);
        err = EPROTO;
    }
    freeReplyObject(r);
    return err;
}

/* Connects, AUTHs, names the connection, PINGs.  Errors: ECONNREFUSED (no
 * server there), EACCES (WRONGPASS, NOAUTH), EIO (connection lost during
 * the handshake), EPROTO (not a Redis reply). */
static int rd_open(void *arg, void **out)
{
    rd_cfg_t *cfg = (rd_cfg_t *)arg;
    atomic_fetch_add(&cfg->ctor_calls, 1);
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", cfg->port, tv);
    if (!c)
        return ENOMEM;
    if (c->err) {
        snprintf(cfg->err, sizeof cfg->err, "connect: %s", c->errstr);
        redisFree(c);
        return ECONNREFUSED;
    }
    redisSetTimeout(c, tv);
    int err = 0;
    if (cfg->password)
        err = rd_check(cfg, c, redisCommand(c, "AUTH %s", cfg->password), "AUTH");
    if (!err)
        err = rd_check(cfg, c, redisCommand(c, "CLIENT SETNAME %s", cfg->name), "CLIENT SETNAME");
    if (!err)
        err = rd_check(cfg, c, redisCommand(c, "PING"), "PING");
    if (err) {
        redisFree(c);
        return err;
    }
    *out = c;
    return 0;
}

static void rd_close(void *arg, void *value)
{
    atomic_fetch_add(&((rd_cfg_t *)arg)->dtor_calls, 1);
    redisFree((redisContext *)value);
}

/* 1 if PING gets PONG on c. */
static int rd_ping(redisContext *c)
{
    redisReply *r = redisCommand(c, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r)
        freeReplyObject(r);
    return ok;
}

/* --- the server's view, through a fresh admin connection each time ----------- */

static int main_port(void)
{
    return atoi(itest_env("REDIS_PORT"));
}

/* Runs an admin command (printf-style) on the main server; returns the reply
 * (the caller frees it). */
static redisReply *admin(const char *fmt, ...)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", main_port(), tv);
    if (!c || c->err) {
        print_error("admin connection: %s\n", c ? c->errstr : "out of memory");
        redisFree(c);
        fail();
    }
    redisReply *r = redisCommand(c, "AUTH %s", itest_env("REDIS_PASSWORD"));
    if (r)
        freeReplyObject(r);
    va_list ap;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        print_error("admin command %s failed: %s\n", fmt, r ? r->str : c->errstr);
        redisFree(c);
        fail();
    }
    redisFree(c);
    return r;
}

/* Connections the server has with client name `name` (CLIENT LIST). */
static int server_clients(const char *name)
{
    redisReply *r = admin("CLIENT LIST");
    char pat[96];
    snprintf(pat, sizeof pat, " name=%s ", name);
    int n = 0;
    for (const char *p = r->str; (p = strstr(p, pat)) != NULL; p += strlen(pat))
        n++;
    freeReplyObject(r);
    return n;
}

/* Waits (at most 5 s) until the server shows `want` clients named `name`. */
static int wait_clients(const char *name, int want)
{
    int n = server_clients(name);
    for (int i = 0; i < 100 && n != want; i++) {
        mt_sleep_ms(50);
        n = server_clients(name);
    }
    return n;
}

/* CLIENT KILL ID of the connection c (asked with CLIENT ID on c itself). */
static void server_kill(redisContext *c)
{
    redisReply *r = redisCommand(c, "CLIENT ID");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long id = r->integer;
    freeReplyObject(r);
    r = admin("CLIENT KILL ID %lld", id);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
}

/* --- a) one connection for many calls from several threads -------------------- */

/* The worker threads hold a lease (memo_acquire ... memo_release) on the
 * connection for each use, as examples/redis does: a value other threads may
 * still be using is destroyed only at its last release. */

#define NTHREADS 4

typedef struct worker {
    memo_t *cell;
    rd_cfg_t *cfg;
    pthread_mutex_t *mu; /* a redisContext serves one command at a time */
    pthread_barrier_t *barrier;
    int calls;
    void *seen, *seen2;
    int get_errors, release_errors, ping_ok, noticed_broken, invalidated, invalidate_errors,
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
        w->ping_ok += rd_ping((redisContext *)lease.value);
        pthread_mutex_unlock(w->mu);
        if (memo_release(&lease) != 0)
            w->release_errors++;
    }
    return NULL;
}

static void test_one_connection_for_many_calls(void **state)
{
    (void)state;
    static rd_cfg_t cfg;
    rd_cfg_init(&cfg, main_port(), itest_env("REDIS_PASSWORD"), "itest-one");
    memo_t cell = MEMO_INIT(rd_open, rd_close, &cfg, .retry_min_ms = 50);
    assert_int_equal(server_clients("itest-one"), 0);

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
        ok += w[i].ping_ok;
    }
    assert_int_equal(ok, NTHREADS * 25);
    assert_int_equal(atomic_load(&cfg.ctor_calls), 1);
    assert_int_equal(atomic_load(&cfg.dtor_calls), 0); /* still in the cell */
    assert_int_equal(memo_stats(&cell).attempts, 1);
    int n = server_clients("itest-one");
    print_message("# redis: %d calls from %d threads: %d constructor call, %d server connection\n",
                  NTHREADS * 25, NTHREADS, atomic_load(&cfg.ctor_calls), n);
    assert_int_equal(n, 1);
    assert_int_equal(memo_reset(&cell), 0); /* redisFree: no lease is held */
    assert_int_equal(atomic_load(&cfg.dtor_calls), 1);
    assert_int_equal(wait_clients("itest-one", 0), 0);
}

/* --- b) the first connect fails (no server yet), a later call succeeds ---------- */

static pid_t spawned = -1;

/* Starts a second redis-server on 127.0.0.1:port, in the foreground of a
 * child that dies with us (PR_SET_PDEATHSIG) if the test crashes. */
static pid_t spawn_redis(int port, const char *password)
{
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", portbuf, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--daemonize", "no", "--dir", getenv("ITEST_TMP"),
               "--requirepass", password, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int stop_spawned(void **state)
{
    (void)state;
    if (spawned > 0) {
        kill(spawned, SIGTERM);
        waitpid(spawned, NULL, 0);
        spawned = -1;
    }
    return 0;
}

static void test_retry_until_server_is_up(void **state)
{
    (void)state;
    int port = itest_free_port();
    const char *pw = itest_env("REDIS_PASSWORD");
    itest_env("ITEST_TMP");
    static rd_cfg_t cfg;
    rd_cfg_init(&cfg, port, pw, "itest-retry");
    memo_t cell = MEMO_INIT(rd_open, rd_close, &cfg, .retry_min_ms = 200, .retry_max_ms = 800);

    void *v = NULL;
    assert_int_equal(memo_get(&cell, &v), ECONNREFUSED);
    print_message("# redis not up yet: ECONNREFUSED: %s\n", cfg.err);
    assert_non_null(strstr(cfg.err, "Connection refused"));
    assert_int_equal(memo_get(&cell, &v), ECONNREFUSED); /* backoff window: no attempt */
    assert_int_equal(atomic_load(&cfg.ctor_calls), 1);

    spawned = spawn_redis(port, pw);
    assert_true(spawned > 0);
    double t0 = itest_now_ms();
    int err;
    while ((err = memo_get(&cell, &v)) != 0 && itest_now_ms() - t0 < 10000)
        mt_sleep_ms(10);
    assert_int_equal(err, 0);
    assert_true(rd_ping((redisContext *)v));
    memo_stats_t st = memo_stats(&cell);
    print_message("# redis started: connected after %u attempts (%u failed) in %.0f ms\n",
                  st.attempts, st.failures, itest_now_ms() - t0);
    assert_int_equal(st.successes, 1);
    assert_true(st.failures >= 1);
    assert_int_equal(st.attempts, st.failures + 1);
    assert_int_equal(memo_reset(&cell), 0);
}

/* --- c) the server kills the connection: one reconnect, however many notice ---- */

/* Each worker leases the connection the server killed, notices it is broken
 * and drops it with memo_invalidate_lease: the first to do so gets 0, the
 * others EALREADY.  Between the two barriers every worker still holds its
 * lease on the dropped connection, so its destructor must not have run and
 * the redisContext must still be there to read.  Then each releases it and
 * leases the new connection, which all of them share. */
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
        if (!rd_ping((redisContext *)lease.value) && ((redisContext *)lease.value)->err)
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
    w->still_bad_while_held = ((redisContext *)lease.value)->err != 0;
    pthread_mutex_unlock(w->mu);
    if (memo_release(&lease) != 0)
        w->release_errors++;

    if (memo_acquire(w->cell, &lease) != 0) {
        w->get_errors++;
        return NULL;
    }
    w->seen2 = lease.value;
    pthread_mutex_lock(w->mu);
    w->second_ok = rd_ping((redisContext *)lease.value);
    pthread_mutex_unlock(w->mu);
    if (memo_release(&lease) != 0)
        w->release_errors++;
    return NULL;
}

static void test_killed_connection_reconnects_once(void **state)
{
    (void)state;
    static rd_cfg_t cfg;
    rd_cfg_init(&cfg, main_port(), itest_env("REDIS_PASSWORD"), "itest-kill");
    memo_t cell = MEMO_INIT(rd_open, rd_close, &cfg, .retry_min_ms = 50);
    /* The test itself holds a lease on the first connection throughout, so
     * that the workers' releases are not its last: it is destroyed only at
     * this thread's release, after the workers have reconnected. */
    memo_lease_t mine = MEMO_LEASE_INIT;
    assert_int_equal(memo_acquire(&cell, &mine), 0);
    void *v = mine.value;
    assert_int_equal(server_clients("itest-kill"), 1);
    server_kill((redisContext *)v);
    assert_int_equal(wait_clients("itest-kill", 0), 0);

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
    int n = server_clients("itest-kill");
    int dtor_held = atomic_load(&cfg.dtor_calls);
    assert_int_not_equal(((redisContext *)mine.value)->err, 0); /* not freed */
    assert_int_equal(memo_release(&mine), 0); /* the last lease: redisFree here */
    int dtor_released = atomic_load(&cfg.dtor_calls);
    print_message("# redis CLIENT KILL: %d threads noticed, %d invalidate won, %d constructor "
                  "calls, %d server connection; destructor calls: %d while a lease was held, "
                  "%d after the last release\n", noticed, invalidated,
                  atomic_load(&cfg.ctor_calls), n, dtor_held, dtor_released);
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

/* --- d) backoff keeps a dead server from being hammered ------------------------- */


static void test_backoff_limits_attempts(void **state)
{
    (void)state;
    int calls_plain, calls_backoff;
    /* A refusing port: attempts as memo counts them.  600 ms with backoff:
     * attempts at about 0, 50, 150, 350 ms (windows 50, 100, 200, 400). */
    static rd_cfg_t r_plain, r_backoff;
    int refused = itest_free_port();
    rd_cfg_init(&r_plain, refused, NULL, "itest-backoff");
    rd_cfg_init(&r_backoff, refused, NULL, "itest-backoff");
    memo_t plain = MEMO_INIT(rd_open, rd_close, &r_plain);
    memo_t backoff = MEMO_INIT(rd_open, rd_close, &r_backoff, .retry_min_ms = 50, .retry_max_ms = 400);
    assert_int_equal(itest_hammer(&plain, 100, 0, &calls_plain), ECONNREFUSED);
    assert_int_equal(itest_hammer(&backoff, 0, 600, &calls_backoff), ECONNREFUSED);
    memo_stats_t sp = memo_stats(&plain), sb = memo_stats(&backoff);
    print_message("# redis, refused port: no backoff: %d calls -> %u attempts; retry 50..400 ms: "
                  "%d calls in 600 ms -> %u attempts\n", calls_plain, sp.attempts, calls_backoff,
                  sb.attempts);
    assert_int_equal(sp.attempts, 100);
    assert_true(calls_backoff >= 50);
    assert_true(sb.attempts >= 2 && sb.attempts <= 6);
    assert_int_equal(sb.failures, sb.attempts);

    /* A server that accepts and hangs up at once: attempts as it counts them. */
    itest_listener_t l;
    assert_int_equal(itest_listener_start(&l), 0);
    static rd_cfg_t l_plain, l_backoff;
    rd_cfg_init(&l_plain, l.port, "pw", "itest-backoff");
    rd_cfg_init(&l_backoff, l.port, "pw", "itest-backoff");
    memo_t plain2 = MEMO_INIT(rd_open, rd_close, &l_plain);
    memo_t backoff2 = MEMO_INIT(rd_open, rd_close, &l_backoff, .retry_min_ms = 50, .retry_max_ms = 400);
    assert_int_equal(itest_hammer(&plain2, 100, 0, &calls_plain), EIO);
    int accepts_plain = itest_listener_wait(&l, calls_plain, 5000);
    atomic_store(&l.accepts, 0);
    assert_int_equal(itest_hammer(&backoff2, 0, 600, &calls_backoff), EIO);
    sp = memo_stats(&plain2);
    sb = memo_stats(&backoff2);
    int accepts_backoff = itest_listener_wait(&l, (int)sb.attempts, 5000);
    itest_listener_stop(&l);
    print_message("# redis, server hangs up at once: no backoff: %d calls -> %u attempts, %d "
                  "accepted; retry 50..400 ms: %d calls in 600 ms -> %u attempts, %d accepted "
                  "(%s)\n", calls_plain, sp.attempts, accepts_plain, calls_backoff, sb.attempts,
                  accepts_backoff, l_plain.err);
    assert_int_equal(sp.attempts, 100);
    assert_int_equal(accepts_plain, 100);
    assert_true(calls_backoff >= 50);
    assert_true(sb.attempts >= 2 && sb.attempts <= 6);
    assert_int_equal(accepts_backoff, (int)sb.attempts);
}

/* --- e) no fd leaks through failures and reconnects -------------------------------- */

static void test_no_fd_leak(void **state)
{
    (void)state;
    static rd_cfg_t bad, good;
    rd_cfg_init(&bad, itest_free_port(), NULL, "itest-fd-bad");
    rd_cfg_init(&good, main_port(), itest_env("REDIS_PASSWORD"), "itest-fd");
    memo_t badcell = MEMO_INIT(rd_open, rd_close, &bad);
    memo_t cell = MEMO_INIT(rd_open, rd_close, &good);
    void *v = NULL;
    assert_int_equal(memo_get(&badcell, &v), ECONNREFUSED); /* warm up */
    assert_int_equal(memo_get(&cell, &v), 0);
    assert_int_equal(memo_reset(&cell), 0);
    int before = itest_count_fds();

    for (int i = 0; i < 20; i++)
        assert_int_equal(memo_get(&badcell, &v), ECONNREFUSED);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(memo_get(&cell, &v), 0);
        assert_true(rd_ping((redisContext *)v));
        server_kill((redisContext *)v);
        assert_false(rd_ping((redisContext *)v));
        assert_int_equal(memo_invalidate(&cell, v), 0); /* redisFree closes the socket */
    }
    assert_int_equal(memo_get(&cell, &v), 0);
    assert_true(rd_ping((redisContext *)v));
    assert_int_equal(memo_reset(&cell), 0);
    assert_int_equal(memo_reset(&badcell), 0);
    int after = itest_count_fds();
    print_message("# redis: open fds before %d, after 21 failed connects and 6 (re)connects %d\n",
                  before, after);
    assert_int_equal(atomic_load(&good.ctor_calls), 1 + 6);
    assert_int_equal(after, before);
}

/* --- f) bad input: clear error code and message, no crash -------------------------- */

static void expect_failure(int port, const char *password, int code, const char *msg)
{
    static rd_cfg_t cfg;
    rd_cfg_init(&cfg, port, password, "itest-bad");
    memo_t cell = MEMO_INIT(rd_open, rd_close, &cfg);
    void *v = NULL;
    int err = memo_get(&cell, &v);
    print_message("# redis port %d, password %s -> %d (%s): %s\n", port,
                  password ? password : "(none)", err, strerror(err), cfg.err);
    if (code)
        assert_int_equal(err, code);
    else
        assert_true(err == EIO || err == EPROTO);
    assert_null(v);
    assert_non_null(strstr(cfg.err, msg));
    assert_int_equal(memo_peek(&cell, &v), EAGAIN); /* nothing cached */
    assert_int_equal(memo_stats(&cell).last_error, err);
    assert_int_equal(memo_reset(&cell), 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    expect_failure(main_port(), "wrong-password", EACCES, "WRONGPASS");
    expect_failure(main_port(), NULL, EACCES, "NOAUTH");
    expect_failure(itest_free_port(), NULL, ECONNREFUSED, "Connection refused");
    /* not a Redis server: PostgreSQL's port */
    expect_failure(atoi(itest_env("ITEST_PG_PORT")), "pw", 0, "AUTH");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis write()s: a closed socket must not kill us */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_connection_for_many_calls),
        cmocka_unit_test_teardown(test_retry_until_server_is_up, stop_spawned),
        cmocka_unit_test(test_killed_connection_reconnects_once),
        cmocka_unit_test(test_backoff_limits_attempts),
        cmocka_unit_test(test_no_fd_leak),
        cmocka_unit_test(test_bad_input),
    };
    return mt_run_tests("redis", tests);
}
