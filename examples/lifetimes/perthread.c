/* perthread.c -- MEMOIZE_THREAD: one libpq connection per thread, no lock.
 *
 *   DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db ./perthread [THREADS]
 *
 * THREADS (default 4) threads each run 10 queries on my_db(), the calling
 * thread's own connection, built on its first call; the main thread does
 * too.  A PGconn is not thread-safe, so a shared one needs a lock (see
 * reconnect.c); a per-thread one needs none.  Each thread's connection is
 * closed (dtor, in that thread) when the thread exits; the main thread's by
 * memo_shutdown().  Checks (exit 0 if all hold): THREADS + 1 distinct
 * backends, each used for all of its thread's queries, THREADS closed at
 * thread exit, 1 by memo_shutdown.
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

static atomic_int opened, closed;

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
    atomic_fetch_add(&opened, 1);
    *out = c;
    return 0;
}
static void close_db(PGconn *c)
{
    atomic_fetch_add(&closed, 1);
    PQfinish(c);
}
MEMOIZE_THREAD(static, my_db, PGconn *, open_db, close_db, .retry_min_ms = 100);

/* 10 queries on this thread's connection; its backend pid, or -1 if they
 * did not all run on one backend. */
static int ten_queries(void)
{
    int pid = -1;
    for (int i = 0; i < 10; i++) {
        PGconn *c;
        if (my_db(&c) != 0)
            return -1;
        PGresult *r = PQexec(c, "select pg_backend_pid()"); /* no lock: c is ours */
        int b = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
        PQclear(r);
        if (b < 0 || (i > 0 && b != pid))
            return -1;
        pid = b;
    }
    return pid;
}

static void *worker(void *out)
{
    *(int *)out = ten_queries();
    return NULL; /* thread exit: my_db's dtor closes this thread's connection */
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    if (n < 1 || n > 64) {
        fprintf(stderr, "usage: %s [THREADS 1..64]\n", argv[0]);
        return 2;
    }
    int pid[65];
    pthread_t t[64];
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, worker, &pid[i]);
    pid[n] = ten_queries();
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    int closed_at_exit = atomic_load(&closed);
    memo_shutdown(); /* the main thread's connection (exit() runs no thread-exit dtor) */

    int distinct = 1;
    for (int i = 0; i <= n; i++) {
        printf("%s %d: backend pid %d\n", i < n ? "thread" : "main  ", i, pid[i]);
        for (int j = 0; j < i; j++)
            distinct &= pid[i] > 0 && pid[i] != pid[j];
    }
    int ok = distinct && pid[0] > 0 && atomic_load(&opened) == n + 1 && closed_at_exit == n &&
             atomic_load(&closed) == n + 1;
    printf("connections opened: %d, distinct backends: %s, closed at thread exit: %d, "
           "closed by memo_shutdown: %d\n",
           atomic_load(&opened), distinct ? "yes" : "no", closed_at_exit,
           atomic_load(&closed) - closed_at_exit);
    printf("%s\n", ok ? "perthread: all checks passed" : "perthread: FAILED");
    return ok ? 0 : 1;
}
