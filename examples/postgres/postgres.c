/* postgres.c -- one memoized libpq connection, reconnected when it breaks.
 *
 *   DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db ./postgres [N] [SQL]
 *
 * Runs SQL (default "select 1") N times (default 5) on the connection that
 * get_db memoizes (taken from its cell get_db_memo with memo_acquire), and
 * prints each query's time and the connections opened so far.  The first
 * call connects; the others reuse the connection.  When a query finds the
 * connection broken (the server restarted, an admin ran pg_terminate_backend,
 * a network cut), the query fails, the program calls memo_invalidate_lease()
 * on its lease of that connection, and the next query reconnects.  While the
 * server is down, calls within the backoff window (.retry_min_ms, doubling up
 * to .retry_max_ms) fail at once, without a new connection attempt.
 *
 * The query holds a lease (memo_acquire/memo_release) on the connection:
 * if another thread invalidated or reset it meanwhile, PQfinish waits for
 * the release instead of closing the socket under the query.  And
 * memo_invalidate_lease(&lease) drops exactly the connection this query
 * used: if another thread dropped it first and a reconnect got a new PGconn
 * at the same address, it returns EALREADY and leaves the new one alone
 * (the pointer form, memo_invalidate(m, db), could not tell them apart).
 * (A PGconn must still not be used by two threads at once: this program is
 * single-threaded; a threaded one would guard the connection with a mutex.)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "memo.h"

static int connections_opened;

/* Connects to DATABASE_URL and checks the connection with a round trip.
 * Errors: EINVAL (DATABASE_URL unset or malformed), EACCES (the server
 * refused us: password, role or database), ECONNREFUSED (no server there),
 * EPROTO (connected but "select 1" failed).  Prints libpq's message. */
static int open_db(PGconn **out)
{
    const char *url = getenv("DATABASE_URL");
    char *perr = NULL;
    PQconninfoOption *opts = url ? PQconninfoParse(url, &perr) : NULL;
    if (!opts) {
        fprintf(stderr, "open_db: DATABASE_URL %s%s", url ? "is malformed: " : "is not set\n",
                perr ? perr : "");
        PQfreemem(perr);
        return EINVAL;
    }
    PQconninfoFree(opts);

    PGconn *c = PQconnectdb(url);
    if (!c)
        return ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        int err = PQconnectionUsedPassword(c) || PQconnectionNeedsPassword(c) ? EACCES
                                                                              : ECONNREFUSED;
        fprintf(stderr, "open_db: connect failed: %s", PQerrorMessage(c));
        PQfinish(c);
        return err;
    }
    PGresult *r = PQexec(c, "select 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "open_db: select 1 failed: %s", PQerrorMessage(c));
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return EPROTO;
    }
    connections_opened++;
    *out = c;
    return 0;
}

static void close_db(PGconn *c)
{
    PQfinish(c);
}

MEMOIZE(static, get_db, PGconn *, open_db, close_db, .retry_min_ms = 100, .retry_max_ms = 5000);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs sql on the memoized connection; copies the first value (or the
 * command status) into val.  Returns 0, or -1 if the query failed (after
 * invalidating a broken connection so that the next call reconnects). */
static int run_query(const char *sql, char *val, size_t len)
{
    memo_lease_t lease;
    int err = memo_acquire(&get_db_memo, &lease); /* builds it like get_db() */
    if (err) {
        fprintf(stderr, "no connection: %s (error %d)\n", strerror(err), err);
        return -1;
    }
    PGconn *db = (PGconn *)lease.value;
    PGresult *r = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0, conn_error = 0;
    if (st == PGRES_TUPLES_OK) {
        snprintf(val, len, "%s", PQntuples(r) && PQnfields(r) ? PQgetvalue(r, 0, 0) : "(no rows)");
    } else if (st == PGRES_COMMAND_OK) {
        snprintf(val, len, "%s", PQcmdStatus(r));
    } else {
        /* SQLSTATE class 08 (connection exception) or 57P0x (server shut down) */
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        conn_error = state && (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3));
        fprintf(stderr, "query failed: %s", PQerrorMessage(db));
        rc = -1;
    }
    PQclear(r);
    if (rc != 0 && (conn_error || PQstatus(db) == CONNECTION_BAD)) {
        /* Broken: drop this very connection (EALREADY: another caller
         * already did, and a new one may be in the cell: keep that). */
        if (memo_invalidate_lease(&lease) == 0)
            fprintf(stderr, "connection lost: the next query reconnects\n");
    }
    memo_release(&lease); /* closes it here if it was invalidated */
    return rc;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
    const char *sql = argc > 2 ? argv[2] : "select 1";
    if (n <= 0) {
        fprintf(stderr, "usage: %s [N>0] [SQL]\n", argv[0]);
        return 2;
    }
    int failed = 0;
    for (long i = 1; i <= n; i++) {
        char val[64] = "";
        double t0 = now_ms();
        int rc = run_query(sql, val, sizeof val);
        double dt = now_ms() - t0;
        printf("query %ld: %8.3f ms  %-8s (connections opened: %d)\n", i, dt,
               rc ? "FAILED" : val, connections_opened);
        failed += rc != 0;
    }
    memo_stats_t st = memo_stats(&get_db_memo);
    printf("connections opened: %d, connect attempts: %u, failed queries: %d\n",
           connections_opened, st.attempts, failed);
    memo_reset(&get_db_memo); /* PQfinish: a clean goodbye to the server */
    return failed ? 1 : 0;
}
