/* token.c -- a short-lived credential in a TTL cell: served fresh from the
 * cell, refreshed once at expiry while other threads keep the old one, kept
 * (stale-if-error) while the issuer is down, up to max_stale; then errors;
 * then recovery.
 *
 *   DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db ./token
 *
 * The issuer is PostgreSQL itself: a SECURITY DEFINER function
 * memo_auth.issue_token() inserts md5(random()) with an expiry of now() + 15
 * minutes into memo_auth.tokens and returns it, and memo_auth.check_token()
 * is what a service would ask.  The token cell calls the issuer over its own
 * memoized connection as role memo_token_client; "the issuer is down" is a
 * real denial: the admin REVOKEs EXECUTE on issue_token from that role (the
 * call fails with SQLSTATE 42501), and GRANTs it back for the recovery.
 * The demo creates the schema and the role (dropping an old memo_auth) and
 * drops them at the end: it needs a superuser, or a role that may create
 * roles and schemas.
 *
 * The numbers are the production ones for a 15-minute token (AWS RDS IAM
 * tokens): ttl 10 min, max_stale 4 min (10 + 4 < 15: a stale token served
 * is still valid), retry backoff 5 s doubling to 60 s.  To run in well
 * under a second and print the same lines every time, the demo drives both
 * of memo's clocks (MEMO_TTL_NOW_NS for expiry, MEMO_NOW_NS for backoff)
 * from a variable it steps: TEST-ONLY.  A real program defines neither and
 * gets CLOCK_MONOTONIC_COARSE / CLOCK_MONOTONIC.  The server's own clock
 * (the tokens' 15 minutes) is real time.
 *
 * Exit 0 if every check it prints holds.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

/* TEST-ONLY: the demo's clock, stepped by main().  Not in a real program. */
static _Atomic uint64_t demo_now_ns = 1000000000000u; /* any start will do */
#define MEMO_TTL_NOW_NS() atomic_load(&demo_now_ns)
#define MEMO_NOW_NS() atomic_load(&demo_now_ns)
#include "memo.h"

#define MIN_MS (60u * 1000u)
static const uint64_t t0_ns = 1000000000000u;

static void set_time(unsigned min, unsigned sec)
{
    atomic_store(&demo_now_ns, t0_ns + ((uint64_t)min * 60u + sec) * 1000000000u);
}
static void fmt_time(char *buf, size_t n, uint64_t ns)
{
    uint64_t s = (ns - t0_ns) / 1000000000u;
    snprintf(buf, n, "%02u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

/* --- the issuer's connection: memoized too (only the token constructor
 * uses it, and a constructor runs one at a time: no lock needed) --------- */
static int open_issuer(PGconn **out)
{
    PGconn *c = PQconnectdb(getenv("DATABASE_URL"));
    if (!c)
        return ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "issuer: %s", PQerrorMessage(c));
        PQfinish(c);
        return ECONNREFUSED;
    }
    PGresult *r = PQexec(c, "set role memo_token_client");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        fprintf(stderr, "issuer: set role: %s", PQerrorMessage(c));
        PQfinish(c);
        return EACCES;
    }
    *out = c;
    return 0;
}
static void close_issuer(PGconn *c)
{
    printf("close_issuer: issuer connection closed\n");
    PQfinish(c);
}
MEMOIZE(static, get_issuer, PGconn *, open_issuer, close_issuer, .retry_min_ms = 1000);

/* --- the token cell --------------------------------------------------------- */
typedef struct token {
    long serial;        /* memo_auth.tokens.serial: 1, 2, ... */
    char text[40];      /* the secret: not printed */
    uint64_t built_ns;  /* demo clock when it was issued */
} token_t;

static atomic_int issuer_calls;
static atomic_int gate_others;   /* > 0: the next issue waits for this many */
static atomic_int gate_returned; /* ... other gets to return first */
static _Thread_local int in_release;
static atomic_long destroyed_in_release = -1; /* serial of a token freed by a release */

static int issue_token(token_t **out)
{
    int call = atomic_fetch_add(&issuer_calls, 1) + 1;
    int others = atomic_exchange(&gate_others, 0);
    for (int i = 0; others && atomic_load(&gate_returned) < others && i < 10000; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL); /* up to 10 s */
    PGconn *c;
    int err = get_issuer(&c);
    if (err)
        return err;
    PGresult *r = PQexec(c, "select serial, token from memo_auth.issue_token()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        err = state && !strcmp(state, "42501") ? EACCES : EPROTO;
        printf("issue_token: call %d failed: %s", call, PQresultErrorMessage(r));
        PQclear(r);
        if (PQstatus(c) == CONNECTION_BAD) {
            /* Only this constructor uses the issuer connection, one call at
             * a time: the pointer form of invalidate is safe here. */
            memo_invalidate(&get_issuer_memo, c);
            err = ECONNRESET;
        }
        return err;
    }
    token_t *t = calloc(1, sizeof *t);
    if (!t) {
        PQclear(r);
        return ENOMEM;
    }
    t->serial = atol(PQgetvalue(r, 0, 0));
    snprintf(t->text, sizeof t->text, "%s", PQgetvalue(r, 0, 1));
    t->built_ns = MEMO_TTL_NOW_NS();
    PQclear(r);
    printf("issue_token: call %d issued token #%ld\n", call, t->serial);
    *out = t;
    return 0;
}

static void free_token(token_t *t)
{
    printf("free_token: token #%ld destroyed%s\n", t->serial,
           in_release ? " by the last release of a lease on it" : "");
    if (in_release)
        atomic_store(&destroyed_in_release, t->serial);
    memset(t->text, 0, sizeof t->text);
    free(t);
}

MEMOIZE(static, get_token, token_t *, issue_token, free_token,
        .retry_min_ms = 5000, .retry_max_ms = 60000,
        .ttl_ms = 10 * MIN_MS, .refresh = MEMO_REFRESH_STALE, .max_stale_ms = 4 * MIN_MS);

static void release(memo_lease_t *l)
{
    in_release = 1;
    memo_release(l);
    in_release = 0;
}

/* --- the demo --------------------------------------------------------------- */
static PGconn *admin;
static int checks_failed;

static void check(int ok, const char *what)
{
    printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
    checks_failed += !ok;
}

static int admin_exec(const char *sql, int quiet)
{
    PGresult *r = PQexec(admin, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "admin: %s: %s", sql, PQerrorMessage(admin));
    else if (!quiet)
        printf("admin: %s\n", sql);
    PQclear(r);
    return ok ? 0 : -1;
}

/* The service's view: is this token valid now? ("t"/"f") */
static int server_accepts(const token_t *t)
{
    const char *p[1] = {t->text};
    PGresult *r = PQexecParams(admin, "select memo_auth.check_token($1)", 1, NULL, p, NULL, NULL, 0);
    int yes = PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return yes;
}

/* One get under a lease, as a caller that uses the token beyond the get
 * should: prints what it got.  Returns the serial (0 on error, *err set). */
static long get_once(const char *note, int *errp)
{
    char now[16];
    fmt_time(now, sizeof now, MEMO_TTL_NOW_NS());
    int calls = atomic_load(&issuer_calls);
    memo_lease_t l;
    int err = memo_acquire(&get_token_memo, &l);
    int called = atomic_load(&issuer_calls) - calls;
    if (errp)
        *errp = err;
    if (err) {
        printf("t=%s get: error %s (%s); issuer calls: %d (+%d)%s%s\n", now,
               err == EACCES ? "EACCES" : "?", strerror(err), calls + called, called, note ? "; " : "",
               note ? note : "");
        return 0;
    }
    token_t *t = (token_t *)l.value;
    uint64_t age = MEMO_TTL_NOW_NS() - t->built_ns;
    long serial = t->serial;
    int stale = age >= (uint64_t)get_token_memo.ttl_ms * 1000000u;
    printf("t=%s get: token #%ld (%s); issuer calls: %d (+%d)%s%s\n", now, serial,
           stale ? "stale" : "fresh", calls + called, called, note ? "; " : "", note ? note : "");
    release(&l);
    return serial;
}

/* At expiry: nthreads gets at once; the one that refreshes waits (gate) until
 * the others have returned, so the run shows what they got meanwhile. */
static pthread_barrier_t hold;
static atomic_long got[16];
static atomic_int next_slot;

static void *reader(void *unused)
{
    (void)unused;
    memo_lease_t l;
    if (memo_acquire(&get_token_memo, &l) != 0)
        return NULL;
    atomic_store(&got[atomic_fetch_add(&next_slot, 1)], ((token_t *)l.value)->serial);
    atomic_fetch_add(&gate_returned, 1);
    pthread_barrier_wait(&hold); /* every reader holds its lease here */
    release(&l);
    return NULL;
}

static const char *setup_sql =
    "drop schema if exists memo_auth cascade;"
    "do $$ begin"
    "  if not exists (select from pg_roles where rolname = 'memo_token_client') then"
    "    create role memo_token_client nologin;"
    "  end if; end $$;"
    "create schema memo_auth;"
    "create table memo_auth.tokens (serial bigserial primary key, token text unique not null,"
    "                               expires_at timestamptz not null);"
    "create function memo_auth.issue_token(out serial bigint, out token text)"
    "  language sql security definer set search_path = pg_catalog, pg_temp as $$"
    "  insert into memo_auth.tokens (token, expires_at)"
    "  values (md5(random()::text || clock_timestamp()::text), now() + interval '15 minutes')"
    "  returning serial, token $$;"
    "create function memo_auth.check_token(t text) returns boolean"
    "  language sql security definer set search_path = pg_catalog, pg_temp as $$"
    "  select exists (select from memo_auth.tokens where token = t and expires_at > now()) $$;"
    "revoke all on function memo_auth.issue_token() from public;"
    "grant usage on schema memo_auth to memo_token_client;"
    "grant execute on function memo_auth.issue_token() to memo_token_client;";

int main(void)
{
    enum { READERS = 4 };
    admin = PQconnectdb(getenv("DATABASE_URL") ? getenv("DATABASE_URL") : "");
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "token: %s", PQerrorMessage(admin));
        return 2;
    }
    if (admin_exec("set client_min_messages = warning", 1) != 0 || admin_exec(setup_sql, 1) != 0)
        return 2;
    printf("issuer: memo_auth.issue_token() (15-minute tokens); cell: ttl 10 min, "
           "MEMO_REFRESH_STALE, max_stale 4 min, backoff 5 s..60 s\n");

    /* 1. Fresh: one issue, then every get is served from the cell. */
    set_time(0, 0);
    long s = get_once(NULL, NULL);
    check(s == 1 && issuer_calls == 1, "the first get issued token #1");
    token_t *t;
    int same = 0, err = 0;
    for (unsigned i = 0; i < 1000; i++) {
        atomic_store(&demo_now_ns, t0_ns + (uint64_t)i * 599000000u); /* up to 09:58.4 */
        err |= get_token(&t);
        same += !err && t->serial == 1;
    }
    printf("t=00:00..09:58 1000 gets: %d served token #1; issuer calls: %d\n", same, issuer_calls);
    check(same == 1000 && issuer_calls == 1, "1000 gets while fresh: no issuer call");
    check(get_token(&t) == 0 && server_accepts(t), "the server accepts token #1");

    /* 2. Expiry: one refresh; the other threads keep the old token meanwhile. */
    set_time(10, 0);
    pthread_t th[READERS];
    pthread_barrier_init(&hold, NULL, READERS);
    atomic_store(&gate_returned, 0);
    atomic_store(&gate_others, READERS - 1);
    for (int i = 0; i < READERS; i++)
        pthread_create(&th[i], NULL, reader, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&hold);
    int old = 0, fresh = 0;
    for (int i = 0; i < READERS; i++) {
        old += got[i] == 1;
        fresh += got[i] == 2;
    }
    printf("t=10:00 %d threads get at once: %d got the new token #2 (the refresher), %d the old "
           "token #1 without waiting; issuer calls: %d\n",
           READERS, fresh, old, issuer_calls);
    check(fresh == 1 && old == READERS - 1 && issuer_calls == 2,
          "expiry: one refresh, the other threads kept the old token");
    check(destroyed_in_release == 1, "token #1 was destroyed at the last release of a lease on it");
    set_time(10, 1);
    check(get_once(NULL, NULL) == 2, "after the refresh every get has token #2");

    /* 3. The issuer goes down: stale-if-error up to max_stale, then errors. */
    admin_exec("revoke execute on function memo_auth.issue_token() from memo_token_client", 0);
    set_time(20, 0);
    s = get_once("refresh failed, the stale token is served", NULL);
    check(s == 2 && issuer_calls == 3, "20:00 expiry, issuer denied: token #2 still served");
    check(get_token(&t) == 0 && server_accepts(t), "the server still accepts the stale token #2");
    set_time(20, 1);
    s = get_once("within the 5 s backoff: no issuer call", NULL);
    check(s == 2 && issuer_calls == 3, "within the backoff window: the stale token, no issuer call");
    set_time(21, 0);
    s = get_once("backoff over: one retry, failed", NULL);
    check(s == 2 && issuer_calls == 4, "a retry after the window failed: the stale token again");
    set_time(23, 59);
    s = get_once("3:59 past expiry, still within max_stale", NULL);
    check(s == 2 && issuer_calls == 5, "23:59: still the stale token");
    set_time(24, 0);
    s = get_once("4:00 past expiry: max_stale reached", &err);
    check(s == 0 && err == EACCES && issuer_calls == 5,
          "24:00: past max_stale, the last error (EACCES), not the token");
    set_time(24, 30);
    s = get_once("backoff over: one retry, failed; token #2 destroyed", &err);
    check(s == 0 && err == EACCES && issuer_calls == 6, "24:30: the retry failed, error");

    /* 4. The issuer is back: recovery at the next retry. */
    admin_exec("grant execute on function memo_auth.issue_token() to memo_token_client", 0);
    set_time(24, 31);
    s = get_once("within the backoff window (40 s): no issuer call", &err);
    check(s == 0 && err == EACCES && issuer_calls == 6, "24:31: still the error until the window ends");
    set_time(25, 30);
    s = get_once("recovered", NULL);
    check(s == 3 && issuer_calls == 7, "25:30: recovered, token #3");

    /* 5. Shutdown: newest first -- the token, then the issuer connection
     * its constructor got. */
    printf("memo_shutdown():\n");
    memo_shutdown();
    admin_exec("drop schema memo_auth cascade; drop role memo_token_client", 1);
    PQfinish(admin);
    printf("%s\n", checks_failed ? "token: FAILED" : "token: all checks passed");
    return checks_failed ? 1 : 0;
}
