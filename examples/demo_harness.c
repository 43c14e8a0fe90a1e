/* demo_harness.c -- the frame around the demo's main job (demo.h): the
 * database the handlers read, the forked execution contexts and the pipe
 * their reports come back through, the tables, the checks and the summary. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "demo.h"

#define CHECK(d, cond, ...) \
    do { if (!(cond)) { (d)->failures++; printf("FAIL: " __VA_ARGS__); printf("\n"); } } while (0)

uint64_t demo_now_ns(void)
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

int demo_start(demo_t *d, int argc, char **argv)
{
    memset(d, 0, sizeof *d);
    d->contexts = argc > 1 ? atoi(argv[1]) : 4;
    d->invocations = argc > 2 ? atol(argv[2]) : 1000;
    if (argc > 3 || d->contexts < 1 || d->contexts > MAX_CONTEXTS || d->invocations < 2 ||
        d->invocations > 100000000) {
        fprintf(stderr, "usage: %s [contexts 1..%d [invocations >= 2]]\n", argv[0], MAX_CONTEXTS);
        return 2;
    }
    if (!getenv("MEMO_DEMO_DB") || !*getenv("MEMO_DEMO_DB")) {
        snprintf(d->tmp, sizeof d->tmp, "/tmp/memo-demo-%ld.db", (long)getpid());
        setenv("MEMO_DEMO_DB", d->tmp, 1); /* the contexts' open_db() reads it */
        d->own = d->tmp;
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
        if (d->own)
            remove_db(d->own);
        return 2;
    }
    return 0;
}

/* One execution context (a child process): serve, report, exit. */
static void run_context(int ctx, long invocations, serve_fn serve, handler_fn handler,
                        int fail_connects, int fd)
{
    report_t r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    serve(ctx, invocations, handler, fail_connects, &r);
    fflush(stdout); /* before the report, so our lines come before the table */
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        exit(3);
    exit(0);
}

static double us(uint64_t ns, long n) { return n ? (double)ns / 1e3 / (double)n : 0; }

/* Prints one mode's table: a row per context, then "all" (the sums; for the
 * connect time, the mean), which goes to *all. */
static void print_table(const report_t *rep, int contexts, int memoized, report_t *all)
{
    printf("  ctx  invocations  failed  connections   total ms   mean us%s\n",
           memoized ? "  | memo_stats: attempts  ok  failed  connect us" : "");
    memset(all, 0, sizeof *all);
    for (int c = 0; c <= contexts; c++) {
        const report_t *p = c < contexts ? &rep[c] : all;
        if (c < contexts) {
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

void demo_run_mode(demo_t *d, const char *title, serve_fn serve, handler_fn handler, int memoized,
                   int fail_connects, report_t *rep, report_t *all)
{
    int fds[2], started = 0, contexts = d->contexts;
    printf("\n== %s: %d contexts x %ld invocations\n", title, contexts, d->invocations);
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
            run_context(started, d->invocations, serve, handler, started == 0 ? fail_connects : 0,
                        fds[1]);
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
        CHECK(d, wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "%s: a context crashed or exited with an error", title);
    CHECK(d, got == contexts, "%s: %d of %d contexts reported", title, got, contexts);
    print_table(rep, contexts, memoized, all);
}

int demo_finish(demo_t *d, const report_t *mrep, const report_t *prep, const report_t *m,
                const report_t *p)
{
    long invocations = d->invocations;
    for (int c = 0; c < d->contexts; c++) {
        const report_t *r = &mrep[c];
        long inj = c == 0 ? 1 : 0;
        CHECK(d, r->served == invocations && r->failed == inj && r->injected == inj &&
              r->attempts == 1 + inj && r->opened == 1 && r->closed == 1,
              "memoized ctx %d: %ld served, %ld failed, %ld injected, %ld connect attempts, "
              "%ld opened, %ld closed", c, r->served, r->failed, r->injected, r->attempts,
              r->opened, r->closed);
        CHECK(d, r->st.attempts == 1 + inj && r->st.successes == 1 && r->st.failures == inj,
              "memoized ctx %d: memo_stats %u attempts %u ok %u failed", c, r->st.attempts,
              r->st.successes, r->st.failures);
        r = &prep[c];
        CHECK(d, r->served == invocations && r->failed == 0 && r->opened == invocations &&
              r->closed == invocations, "per-invocation ctx %d: %ld served, %ld failed, "
              "%ld opened, %ld closed", c, r->served, r->failed, r->opened, r->closed);
    }
    CHECK(d, m->opened == d->contexts && m->attempts == d->contexts + m->injected && m->injected == 1,
          "memoized: %ld connections for %d contexts, %ld attempts, %ld injected", m->opened,
          d->contexts, m->attempts, m->injected);
    CHECK(d, m->wrong == 0 && p->wrong == 0, "wrong query results: %ld memoized, %ld per-invocation",
          m->wrong, p->wrong);

    double mm = us(m->ns, m->served), pm = us(p->ns, p->served);
    printf("\nsummary: memoized %.2f us/invocation, connect-per-invocation %.2f us/invocation:"
           " %.1fx faster\n"
           "         connections opened: %ld memoized (one per context, after %ld refused"
           " attempt) vs %ld per-invocation\n",
           mm, pm, mm > 0 ? pm / mm : 0.0, m->opened, m->injected, p->opened);
    if (pm <= mm)
        printf("note: no speedup measured (a loaded machine, or too few invocations)\n");
    printf("checks: %s\n", d->failures ? "FAILED" : "all passed");

    if (d->own)
        remove_db(d->own);
    return d->failures ? 1 : 0;
}
