/* demo.c -- AWS Lambda, simulated, on a memoized SQLite connection.
 *
 *   ./build/demo [contexts [invocations]]      (default 4 x 1000)
 *   MEMO_DEMO_DB=/path/file.db ./build/demo    (default: a fresh file in /tmp)
 *
 * Each "execution context" is a forked process, as a Lambda execution
 * environment is: it lives across warm invocations and serves them one at a
 * time.  Every invocation runs a handler that looks up one customer's orders in
 * SQLite.  The run is made twice: with the connection memoized (get_db() from
 * sqlite/sqlite_client.h) and with a connection opened and closed by every
 * invocation.  Each context reports its counts and times through a pipe; the
 * parent prints them and checks them (demo_harness.c).  Exit status 0 = every
 * check passed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "demo.h"
#include "memo.h"
#include "sqlite/sqlite_client.h"

/* The handler's real work: count and total of one customer's orders. */
static int query_orders(sqlite3 *db, int customer, long long *count, long long *total)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*), sum(amount) FROM memo_demo_orders"
                                    " WHERE customer = ?", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 1, customer);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *count = sqlite3_column_int64(st, 0);
        *total = sqlite3_column_int64(st, 1);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "query: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : db_errno(rc);
}

/* Two handlers, the same query: only the connection handling differs. */
static int handler_memoized(int customer, long long *count, long long *total)
{
    sqlite3 *db;
    int err = get_db(&db); /* the first invocation connects; later ones reuse it */
    if (err)
        return err; /* nothing cached: the next invocation tries again */
    return query_orders(db, customer, count, total);
}

static int handler_per_call(int customer, long long *count, long long *total)
{
    sqlite3 *db;
    int err = open_db(&db);
    if (err)
        return err;
    err = query_orders(db, customer, count, total);
    close_db(db);
    return err;
}

/* One execution context (a child process): serve, shut down, report. */
static void serve(int ctx, long invocations, handler_fn handler, int fail_connects, report_t *r)
{
    demo_fail_next_connects = fail_connects;
    int failed_before = 0;
    uint64_t t0 = demo_now_ns();
    for (long i = 1; i <= invocations; i++) {
        int customer = (int)(i % CUSTOMERS);
        long long count = -1, total = -1;
        long injected = demo_injected_failures;
        int err = handler(customer, &count, &total);
        r->served++;
        if (err) {
            if (++r->failed <= 3) /* the first few; a broken setup would fail them all */
                printf("  context %d: invocation %ld failed: %s%s\n", ctx, i, strerror(err),
                       demo_injected_failures > injected ? " (injected)" : "");
        } else {
            if (count != ORDERS_EACH || total != 10LL * customer + 4500)
                r->wrong++;
            if (failed_before)
                printf("  context %d: invocation %ld reconnected and succeeded\n", ctx, i);
        }
        failed_before = err != 0;
    }
    r->ns = demo_now_ns() - t0;
    r->st = memo_stats(&get_db_memo);
    memo_reset(&get_db_memo); /* the shutdown phase: close the connection */
    r->attempts = db_connect_attempts;
    r->opened = db_connections_opened;
    r->closed = db_connections_closed;
    r->injected = demo_injected_failures;
}

int main(int argc, char **argv)
{
    demo_t d;
    int rc = demo_start(&d, argc, argv); /* arguments, the database, what we do */
    if (rc != 0)
        return rc;
    report_t mrep[MAX_CONTEXTS], prep[MAX_CONTEXTS], m, p;
    /* context 0's first connect is refused: the failure must not be cached */
    demo_run_mode(&d, "memoized", serve, handler_memoized, 1, 1, mrep, &m);
    demo_run_mode(&d, "connect-per-invocation", serve, handler_per_call, 0, 0, prep, &p);
    return demo_finish(&d, mrep, prep, &m, &p); /* the claims, checked; the summary */
}
