/* sigterm.c -- the SIGTERM pattern of a long-lived process (a Lambda custom
 * runtime, a worker): SIGTERM is blocked in every thread, a watcher thread
 * takes it with sigwait(), waits for the invocation in flight to end, and
 * calls memo_shutdown() -- outside any signal handler -- so that every
 * memoized connection says goodbye before the process exits.
 *
 *   DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db ./sigterm &
 *   kill -TERM $!      # once it printed "invocation 3: started"
 *
 * The loop stands in for the runtime's: "next invocation" is a 10 ms pause
 * (the GET .../invocation/next long poll); an invocation is one query on the
 * memoized connection.  Invocation 3 is long: it queries every 20 ms until
 * SIGTERM has arrived (at most 10 s), so the signal always finds it in
 * flight.  The program prints what happened and exits 0 after the shutdown
 * (1 if the in-flight invocation did not finish cleanly first).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "memo.h"

static int open_db(PGconn **out)
{
    PGconn *c = PQconnectdb(getenv("DATABASE_URL") ? getenv("DATABASE_URL") : "");
    if (!c)
        return ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "open_db: %s", PQerrorMessage(c));
        PQfinish(c);
        return ECONNREFUSED;
    }
    *out = c;
    return 0;
}
static void close_db(PGconn *c)
{
    printf("close_db: PQfinish (Terminate sent to backend %d)\n", PQbackendPID(c));
    PQfinish(c);
}
MEMOIZE(static, get_db, PGconn *, open_db, close_db, .retry_min_ms = 50, .retry_max_ms = 2000);

/* --- the shutdown state ------------------------------------------------------ */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static int in_flight;             /* an invocation is running */
static int stopping;              /* SIGTERM seen: start no new invocation */
static int failed;                /* invocations that failed */
static atomic_int sigterm_seen;   /* for the long invocation 3 */

/* The watcher: the only place SIGTERM is taken (it is blocked everywhere).
 * Not a signal handler: it may lock, wait and run destructors. */
static void *watcher(void *arg)
{
    sigset_t *set = (sigset_t *)arg;
    int sig;
    if (sigwait(set, &sig) != 0)
        return NULL;
    atomic_store(&sigterm_seen, 1);
    pthread_mutex_lock(&mu);
    stopping = 1;
    printf("watcher: SIGTERM; invocation in flight: %s\n", in_flight ? "yes, waiting for it" : "no");
    while (in_flight)
        pthread_cond_wait(&idle, &mu);
    int bad = failed;
    pthread_mutex_unlock(&mu);
    int err = memo_shutdown(); /* every memoized value, newest first */
    printf("watcher: memo_shutdown() = %d; exiting (failed invocations: %d)\n", err, bad);
    fflush(stdout);
    _exit(err == 0 && bad == 0 ? 0 : 1);
}

/* One invocation: a query on the memoized connection (invocation 3 keeps
 * querying until SIGTERM has arrived, at most 10 s). */
static int handle(int n)
{
    PGconn *c;
    int err = get_db(&c);
    if (err)
        return err;
    int rounds = 0;
    do {
        PGresult *r = PQexec(c, "select pg_sleep(0.02)");
        int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (!ok)
            return EIO;
    } while (n == 3 && !atomic_load(&sigterm_seen) && ++rounds < 500);
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Block SIGTERM before any thread starts: every thread inherits the
     * mask, so no thread is interrupted and only sigwait() takes it. */
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t w;
    pthread_create(&w, NULL, watcher, &set);

    int stopped = 0;
    for (int n = 1; n <= 1000; n++) {
        nanosleep(&(struct timespec){0, 10000000}, NULL); /* "GET /next" */
        pthread_mutex_lock(&mu);
        stopped = stopping; /* no new invocation once SIGTERM is seen */
        if (stopped) {
            pthread_mutex_unlock(&mu);
            break;
        }
        in_flight = 1;
        pthread_mutex_unlock(&mu);

        printf("invocation %d: started\n", n);
        int err = handle(n);
        printf("invocation %d: %s\n", n, err ? strerror(err) : "finished ok");

        pthread_mutex_lock(&mu);
        failed += err != 0;
        in_flight = 0;
        pthread_cond_signal(&idle);
        pthread_mutex_unlock(&mu);
    }
    if (stopped)
        pthread_join(w, NULL); /* the watcher ends the process */
    printf("no SIGTERM came\n");
    memo_shutdown();
    return 1;
}
