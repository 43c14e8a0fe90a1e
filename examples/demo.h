/* demo.h -- the frame around the demo's main job (examples/demo.c), in
 * examples/demo_harness.c: the arguments and the database file, the forked
 * execution contexts and their reports, the tables, the checks, the summary. */
#ifndef MEMO_DEMO_H
#define MEMO_DEMO_H
#include <stdint.h>

#include "memo.h"

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

/* One invocation's work: count and total of one customer's orders; 0 or an
 * errno value. */
typedef int (*handler_fn)(int customer, long long *count, long long *total);
/* One execution context's life: `invocations` calls of handler, then the
 * shutdown; the counts go to *r.  fail_connects: connects to refuse first. */
typedef void (*serve_fn)(int ctx, long invocations, handler_fn handler, int fail_connects,
                         report_t *r);

typedef struct demo {
    int contexts;
    long invocations;
    const char *own; /* the database file we created, to remove */
    char tmp[64];
    int failures;    /* failed checks */
} demo_t;

/* Reads the arguments, creates and fills the database, prints what the demo
 * does: 0, or the exit status for a bad start. */
int demo_start(demo_t *d, int argc, char **argv);
/* Runs one mode: forks the contexts (each runs serve), collects and prints
 * their reports, returns the totals in *all.  fail_connects: for context 0. */
void demo_run_mode(demo_t *d, const char *title, serve_fn serve, handler_fn handler, int memoized,
                   int fail_connects, report_t *rep, report_t *all);
/* Checks the claims, prints the summary, removes the database: the exit
 * status (0 = every check passed). */
int demo_finish(demo_t *d, const report_t *mrep, const report_t *prep, const report_t *m,
                const report_t *p);
uint64_t demo_now_ns(void);

#endif
