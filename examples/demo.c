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
 * parent prints them and checks them.  Exit status 0 = every check passed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "memo.h"
#include "sqlite/sqlite_client.h"

enum { CUSTOMERS = 100, ORDERS_EACH = 10, MAX_CONTEXTS = 64 };

/* What a context sends back when it shuts down. */
typedef struct report {
    int ctx;
    long served, failed, wrong; /* invocations; failed ones; wrong answers */
    long attempts, opened, closed, injected; /* connects, from sqlite_client.h */
    uint64_t ns;                /* time spent serving invocations */
    memo_stats_t st;            /* get_db_memo's counters (memoized run) */
} report_t;
/* One write() of at most PIPE_BUF (>= 512) bytes to a pipe is never split or
 * interleaved with another's, so all contexts can share one pipe. */
_Static_assert(sizeof(report_t) <= 512, "report must fit one atomic pipe write");

static int failures; /* failed checks */
#define CHECK(cond, ...) \
    do { if (!(cond)) { failures++; printf("FAIL: " __VA_ARGS__); printf("\n"); } } while (0)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Creates the table the handlers read: order i (0..999) belongs to customer
 * i % 100 and is worth i, so every customer c has 10 orders worth 10c + 4500.
 * The default rollback journal, not WAL: in WAL mode the last connection to
 * close deletes the WAL, and the next one to open rebuilds its index while
 * the other openers get SQLITE_BUSY and sleep; connect-per-invocation would
 * then measure those sleeps more than the cost of a connection. */
static int seed_db(const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db,
            "DROP TABLE IF EXISTS memo_demo_orders;"
            "CREATE TABLE memo_demo_orders(id INTEGER PRIMARY KEY, customer INT, amount INT);"
            "CREATE INDEX memo_demo_orders_by_customer ON memo_demo_orders(customer);"
            "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 999)"
            " INSERT INTO memo_demo_orders(customer, amount) SELECT n % 100, n FROM i;",
            NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "demo: cannot create %s: %s\n", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

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
typedef int (*handler_fn)(int customer, long long *count, long long *total);

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

/* One execution context (a child process): serve, shut down, report, exit. */
static void run_context(int ctx, long invocations, handler_fn handler, int fail_connects, int fd)
{
    report_t r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    demo_fail_next_connects = fail_connects;
    int failed_before = 0;
    uint64_t t0 = now_ns();
    for (long i = 1; i <= invocations; i++) {
        int customer = (int)(i % CUSTOMERS);
        long long count = -1, total = -1;
        long injected = demo_injected_failures;
        int err = handler(customer, &count, &total);
        r.served++;
        if (err) {
            if (++r.failed <= 3) /* the first few; a broken setup would fail them all */
                printf("  context %d: invocation %ld failed: %s%s\n", ctx, i, strerror(err),
                       demo_injected_failures > injected ? " (injected)" : "");
        } else {
            if (count != ORDERS_EACH || total != 10LL * customer + 4500)
                r.wrong++;
            if (failed_before)
                printf("  context %d: invocation %ld reconnected and succeeded\n", ctx, i);
        }
        failed_before = err != 0;
    }
    r.ns = now_ns() - t0;
    r.st = memo_stats(&get_db_memo);
    memo_reset(&get_db_memo); /* the shutdown phase: close the connection */
    r.attempts = db_connect_attempts;
    r.opened = db_connections_opened;
    r.closed = db_connections_closed;
    r.injected = demo_injected_failures;
    fflush(stdout); /* before the report, so our lines come before the table */
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        exit(3);
    exit(0);
}

static double us(uint64_t ns, long n) { return n ? (double)ns / 1e3 / (double)n : 0; }

/* Runs one mode: forks the contexts, collects and prints their reports, and
 * returns the totals in *all.  fail_connects: injected into context 0. */
static void run_mode(const char *title, handler_fn handler, int contexts, long invocations,
                     int fail_connects, report_t *rep, report_t *all)
{
    int fds[2], started = 0;
    printf("\n== %s: %d contexts x %ld invocations\n", title, contexts, invocations);
    fflush(stdout); /* else the children would inherit, and repeat, buffered output */
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(2);
    }
    for (; started < contexts; started++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            break;
        }
        if (pid == 0) {
            close(fds[0]);
            run_context(started, invocations, handler, started == 0 ? fail_connects : 0, fds[1]);
        }
    }
    close(fds[1]);
    memset(rep, 0, sizeof *rep * (size_t)contexts);
    int got = 0;
    report_t r;
    while (got < started && read(fds[0], &r, sizeof r) == (ssize_t)sizeof r) {
        if (r.ctx >= 0 && r.ctx < contexts) {
            rep[r.ctx] = r;
            got++;
        }
    }
    close(fds[0]);
    for (int status, c = 0; c < started; c++)
        CHECK(wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "%s: a context crashed or exited with an error", title);
    CHECK(got == contexts, "%s: %d of %d contexts reported", title, got, contexts);

    int memoized = handler == handler_memoized;
    printf("  ctx  invocations  failed  connections   total ms   mean us%s\n",
           memoized ? "  | memo_stats: attempts  ok  failed  connect us" : "");
    memset(all, 0, sizeof *all);
    for (int c = 0; c <= contexts; c++) {
        const report_t *p = c < contexts ? &rep[c] : all;
        if (c < contexts) { /* "all": sums; for the connect time, the mean */
            all->served += p->served, all->failed += p->failed, all->wrong += p->wrong;
            all->attempts += p->attempts, all->opened += p->opened, all->closed += p->closed;
            all->injected += p->injected, all->ns += p->ns, all->st.attempts += p->st.attempts;
            all->st.successes += p->st.successes, all->st.failures += p->st.failures;
            all->st.last_ctor_ns += p->st.last_ctor_ns / (uint64_t)contexts;
            printf("  %3d", c);
        } else {
            printf("  all");
        }
        printf("  %11ld  %6ld  %11ld  %9.1f  %8.2f", p->served, p->failed, p->opened,
               (double)p->ns / 1e6, us(p->ns, p->served));
        if (memoized)
            printf("  |  %18u  %2u  %6u  %10.1f", p->st.attempts, p->st.successes,
                   p->st.failures, (double)p->st.last_ctor_ns / 1e3);
        printf("\n");
    }
    if (memoized)
        printf("  (connect us: memo_stats' last_ctor_ns, the one connect of a new process: cold)\n");
}

/* Removes a database file we created, and whatever SQLite left beside it. */
static void remove_db(const char *path)
{
    const char *suffix[] = { "", "-journal", "-wal", "-shm" };
    char f[96];
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "%s%s", path, suffix[i]);
        unlink(f);
    }
}

int main(int argc, char **argv)
{
    int contexts = argc > 1 ? atoi(argv[1]) : 4;
    long invocations = argc > 2 ? atol(argv[2]) : 1000;
    if (argc > 3 || contexts < 1 || contexts > MAX_CONTEXTS || invocations < 2 ||
        invocations > 100000000) {
        fprintf(stderr, "usage: %s [contexts 1..%d [invocations >= 2]]\n", argv[0], MAX_CONTEXTS);
        return 2;
    }
    char tmp[64];
    const char *own = NULL; /* the database file we created, to remove */
    if (!getenv("MEMO_DEMO_DB") || !*getenv("MEMO_DEMO_DB")) {
        snprintf(tmp, sizeof tmp, "/tmp/memo-demo-%ld.db", (long)getpid());
        setenv("MEMO_DEMO_DB", tmp, 1); /* the contexts' open_db() reads it */
        own = tmp;
    }
    const char *path = getenv("MEMO_DEMO_DB");
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0) {
        fprintf(stderr, "demo: MEMO_DEMO_DB must name a file: every context opens it\n");
        return 2;
    }
    printf("memo %s demo: AWS Lambda, simulated, on a memoized SQLite connection\n"
           "  An execution context is a forked process that serves invocations one at a time\n"
           "  and keeps its globals between them, as a Lambda execution environment does.\n"
           "  Each invocation's handler runs a real query: one customer's orders, by index.\n"
           "  memoized:               get_db() opens the connection on first use; later\n"
           "                          invocations reuse it (MEMOIZE in sqlite/sqlite_client.h)\n"
           "  connect-per-invocation: every invocation opens, queries and closes\n"
           "  Injected failure: context 0's first connect is refused, so its first invocation\n"
           "  fails; a failure is not cached, and the next invocation connects again.\n"
           "  database: %s (SQLite %s)\n",
           MEMO_VERSION_STRING, path, sqlite3_libversion());
    if (seed_db(path) != 0) {
        if (own)
            remove_db(own);
        return 2;
    }

    report_t mrep[MAX_CONTEXTS], prep[MAX_CONTEXTS], m, p;
    run_mode("memoized", handler_memoized, contexts, invocations, 1, mrep, &m);
    run_mode("connect-per-invocation", handler_per_call, contexts, invocations, 0, prep, &p);

    /* The claims, checked. */
    for (int c = 0; c < contexts; c++) {
        const report_t *r = &mrep[c];
        long inj = c == 0 ? 1 : 0;
        CHECK(r->served == invocations && r->failed == inj && r->injected == inj &&
              r->attempts == 1 + inj && r->opened == 1 && r->closed == 1,
              "memoized ctx %d: %ld served, %ld failed, %ld injected, %ld connect attempts, "
              "%ld opened, %ld closed", c, r->served, r->failed, r->injected, r->attempts,
              r->opened, r->closed);
        CHECK(r->st.attempts == 1 + inj && r->st.successes == 1 && r->st.failures == inj,
              "memoized ctx %d: memo_stats %u attempts %u ok %u failed", c, r->st.attempts,
              r->st.successes, r->st.failures);
        r = &prep[c];
        CHECK(r->served == invocations && r->failed == 0 && r->opened == invocations &&
              r->closed == invocations, "per-invocation ctx %d: %ld served, %ld failed, "
              "%ld opened, %ld closed", c, r->served, r->failed, r->opened, r->closed);
    }
    CHECK(m.opened == contexts && m.attempts == contexts + m.injected && m.injected == 1,
          "memoized: %ld connections for %d contexts, %ld attempts, %ld injected", m.opened,
          contexts, m.attempts, m.injected);
    CHECK(m.wrong == 0 && p.wrong == 0, "wrong query results: %ld memoized, %ld per-invocation",
          m.wrong, p.wrong);

    double mm = us(m.ns, m.served), pm = us(p.ns, p.served);
    printf("\nsummary: memoized %.2f us/invocation, connect-per-invocation %.2f us/invocation:"
           " %.1fx faster\n"
           "         connections opened: %ld memoized (one per context, after %ld refused"
           " attempt) vs %ld per-invocation\n",
           mm, pm, mm > 0 ? pm / mm : 0.0, m.opened, m.injected, p.opened);
    if (pm <= mm)
        printf("note: no speedup measured (a loaded machine, or too few invocations)\n");
    printf("checks: %s\n", failures ? "FAILED" : "all passed");

    if (own)
        remove_db(own);
    return failures ? 1 : 0;
}
