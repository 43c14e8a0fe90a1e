/* reconnect.c -- several threads share one memoized PostgreSQL connection
 * through leases; the server kills its backend; exactly one thread's
 * memo_invalidate_lease() wins, the next get reconnects once, and the dead
 * PGconn is PQfinish'ed by whoever releases the last lease on it.
 *
 *   DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db ./reconnect [THREADS] [QUERIES]
 *
 * THREADS (default 4) threads each run QUERIES (default 25) queries, then
 * each takes a lease on the connection and holds it while a second,
 * unmemoized connection plays the DBA: select pg_terminate_backend(pid,
 * 5000) (which returns once the backend has exited).  Each holder then runs
 * its query on the dead connection, sees it fail, calls
 * memo_invalidate_lease() and releases; then each runs QUERIES more.  It
 * prints what happened and checks it (exit 0 if every check holds):
 *   - one connection for all the threads before the kill;
 *   - every query on the killed connection failed, one invalidation
 *     returned 0 and the others EALREADY;
 *   - the killed PGconn was PQfinish'ed only when no lease was held on it;
 *   - one reconnect (connect attempts 2), every query after it succeeded.
 * A PGconn is not thread-safe: the threads take turns on it (a mutex in the
 * memoized object).  The lease counter in that object is this program's own
 * bookkeeping, there to check memo's promise, not something memo needs.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "memo.h"

/* The memoized value: a connection and the lock that serializes its use. */
typedef struct db {
    PGconn *conn;
    pthread_mutex_t mu;  /* one query at a time on a PGconn */
    int serial;          /* 1: the first connection, 2: the reconnect, ... */
    int backend_pid;     /* pg_backend_pid() of this connection */
    atomic_int leases;   /* leases this program holds on it (for the checks) */
} db_t;

static atomic_int connections_opened;
static atomic_int closed_with_leases = -1; /* leases held when #1 was closed */
static atomic_int closed_after_failures = -1; /* failed queries counted then */
static atomic_int failed_queries;

static int open_db(db_t **out)
{
    const char *url = getenv("DATABASE_URL");
    if (!url) {
        fprintf(stderr, "DATABASE_URL is not set\n");
        return EINVAL;
    }
    PGconn *c = PQconnectdb(url);
    if (!c)
        return ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "open_db: %s", PQerrorMessage(c));
        PQfinish(c);
        return ECONNREFUSED;
    }
    db_t *db = calloc(1, sizeof *db);
    if (!db) {
        PQfinish(c);
        return ENOMEM;
    }
    db->conn = c;
    pthread_mutex_init(&db->mu, NULL);
    db->serial = atomic_fetch_add(&connections_opened, 1) + 1;
    db->backend_pid = PQbackendPID(c);
    printf("open_db: connection #%d, backend pid %d\n", db->serial, db->backend_pid);
    *out = db;
    return 0;
}

/* Runs at memo_reset/memo_shutdown, or -- for a connection invalidated while
 * leased -- in the thread whose memo_release gives back its last lease. */
static void close_db(db_t *db)
{
    int held = atomic_load(&db->leases);
    if (db->serial == 1) {
        atomic_store(&closed_with_leases, held);
        atomic_store(&closed_after_failures, atomic_load(&failed_queries));
    }
    printf("close_db: connection #%d PQfinish'ed; leases held on it now: %d\n", db->serial, held);
    PQfinish(db->conn);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

MEMOIZE(static, get_db, db_t *, open_db, close_db, .retry_min_ms = 100, .retry_max_ms = 2000);

static atomic_int invalidated, ealready, ok_before, ok_after;

/* One query on the leased connection; on a broken connection, drops that
 * very connection from the cell (EALREADY: another thread already did).
 * Returns 0 or -1; the caller still releases the lease. */
static int run_query(memo_lease_t *lease, atomic_int *ok)
{
    db_t *db = (db_t *)lease->value;
    pthread_mutex_lock(&db->mu);
    PGresult *r = PQexec(db->conn, "select pg_backend_pid()");
    int good = PQresultStatus(r) == PGRES_TUPLES_OK;
    int broken = !good && PQstatus(db->conn) == CONNECTION_BAD;
    PQclear(r);
    pthread_mutex_unlock(&db->mu);
    if (good) {
        atomic_fetch_add(ok, 1);
        return 0;
    }
    atomic_fetch_add(&failed_queries, 1);
    if (broken) {
        int e = memo_invalidate_lease(lease);
        atomic_fetch_add(e == 0 ? &invalidated : &ealready, 1);
    }
    return -1;
}

static int acquire(memo_lease_t *lease)
{
    int err = memo_acquire(&get_db_memo, lease);
    if (err == 0)
        atomic_fetch_add(&((db_t *)lease->value)->leases, 1);
    else
        fprintf(stderr, "memo_acquire: %s\n", strerror(err));
    return err;
}

static void release(memo_lease_t *lease)
{
    atomic_fetch_sub(&((db_t *)lease->value)->leases, 1);
    memo_release(lease); /* the last release of an invalidated one closes it */
}

static int queries;
static pthread_barrier_t before_kill, after_kill;
static atomic_int held_at_kill;

static void *worker(void *unused)
{
    (void)unused;
    memo_lease_t lease;
    for (int i = 0; i < queries; i++) {
        if (acquire(&lease) == 0) {
            run_query(&lease, &ok_before);
            release(&lease);
        }
    }
    /* Hold a lease across the kill. */
    int held = acquire(&lease) == 0;
    pthread_barrier_wait(&before_kill); /* main kills the backend now */
    pthread_barrier_wait(&after_kill);
    if (held) {
        atomic_fetch_add(&held_at_kill, 1);
        run_query(&lease, &ok_before); /* fails: the backend is gone */
        release(&lease);
    }
    for (int i = 0; i < queries; i++) {
        if (acquire(&lease) == 0) {
            run_query(&lease, &ok_after);
            release(&lease);
        }
    }
    return NULL;
}

/* The DBA: a separate connection terminates the backend of `pid` and waits
 * (up to 5 s) until it has exited. */
static int terminate_backend(int pid)
{
    PGconn *admin = PQconnectdb(getenv("DATABASE_URL"));
    char pidtxt[16];
    snprintf(pidtxt, sizeof pidtxt, "%d", pid);
    const char *params[1] = {pidtxt};
    PGresult *r = PQexecParams(admin, "select pg_terminate_backend($1::int, 5000)", 1, NULL, params,
                               NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), "t");
    printf("admin: select pg_terminate_backend(%d, 5000) -> %s\n", pid, ok ? "t" : PQerrorMessage(admin));
    PQclear(r);
    PQfinish(admin);
    return ok ? 0 : -1;
}

static int checks_failed;
static void check(int ok, const char *what)
{
    printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
    checks_failed += !ok;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    queries = argc > 2 ? atoi(argv[2]) : 25;
    if (nthreads < 2 || nthreads > 64 || queries < 1) {
        fprintf(stderr, "usage: %s [THREADS 2..64] [QUERIES>0]\n", argv[0]);
        return 2;
    }
    pthread_barrier_init(&before_kill, NULL, (unsigned)nthreads + 1);
    pthread_barrier_init(&after_kill, NULL, (unsigned)nthreads + 1);
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, NULL);

    pthread_barrier_wait(&before_kill); /* every worker holds a lease */
    int opened_before = atomic_load(&connections_opened);
    db_t *db;
    int kill_rc = get_db(&db) == 0 ? terminate_backend(db->backend_pid) : -1;
    pthread_barrier_wait(&after_kill);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);

    memo_stats_t st = memo_stats(&get_db_memo);
    printf("before the kill: %d threads x %d queries, %d ok, connections opened: %d\n", nthreads,
           queries, atomic_load(&ok_before), opened_before);
    printf("on the killed connection: %d leases held, %d queries failed; memo_invalidate_lease: "
           "%d returned 0, %d EALREADY\n",
           atomic_load(&held_at_kill), atomic_load(&failed_queries), atomic_load(&invalidated),
           atomic_load(&ealready));
    printf("connection #1 closed with %d leases held, after %d failed queries\n",
           atomic_load(&closed_with_leases), atomic_load(&closed_after_failures));
    printf("after the reconnect: %d queries ok of %d; connections opened: %d, connect attempts: %u\n",
           atomic_load(&ok_after), nthreads * queries, atomic_load(&connections_opened), st.attempts);

    check(opened_before == 1 && atomic_load(&ok_before) == nthreads * queries,
          "one connection served every thread before the kill");
    check(kill_rc == 0, "the backend was terminated");
    check(atomic_load(&held_at_kill) == nthreads && atomic_load(&failed_queries) == nthreads,
          "every query on the killed connection failed (and no other)");
    check(atomic_load(&invalidated) == 1 && atomic_load(&ealready) == nthreads - 1,
          "one invalidation won, the others got EALREADY");
    check(atomic_load(&closed_with_leases) == 0 && atomic_load(&closed_after_failures) == nthreads,
          "the killed PGconn was PQfinish'ed after its last lease was released");
    check(atomic_load(&connections_opened) == 2 && st.attempts == 2, "exactly one reconnect");
    check(atomic_load(&ok_after) == nthreads * queries, "every query after the reconnect succeeded");

    memo_shutdown(); /* PQfinish of connection #2: a clean goodbye */
    pthread_barrier_destroy(&before_kill);
    pthread_barrier_destroy(&after_kill);
    printf("%s\n", checks_failed ? "reconnect: FAILED" : "reconnect: all checks passed");
    return checks_failed ? 1 : 0;
}
