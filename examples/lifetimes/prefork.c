/* prefork.c -- a pre-fork server: the parent memoizes a PostgreSQL
 * connection with .on_fork = MEMO_FORK_RESET, forks workers, and each
 * worker's first get connects a backend of its own.  The inherited
 * connection is dropped in each child by .forget, without a goodbye, so the
 * parent's connection survives its children.
 *
 *   DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db ./prefork [WORKERS] [--goodbye]
 *
 * The parent connects and asks pg_backend_pid(); forks WORKERS (default 4)
 * children that each run three queries on get_db() and report their backend
 * pid through a pipe; waits for them; then queries again on its own
 * connection.  It checks (exit 0 if all hold): every process had its own
 * backend, each child forgot the inherited connection once and opened one,
 * and the parent's connection still works after the children exited, on
 * the backend it had (no reconnect: it never needed one).
 *
 * --goodbye makes .forget call PQfinish() on the inherited connection, as a
 * destructor would: PQfinish sends the server a Terminate message over the
 * socket the parent shares, the server ends the parent's session, and the
 * last check fails (exit 1) -- what the real .forget avoids.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "memo.h"

static int connections_opened; /* by this process */
static int forgotten;          /* inherited connections this process dropped */
static int goodbye_mode;       /* --goodbye: the wrong .forget */

static int open_db(PGconn **out)
{
    PGconn *c = PQconnectdb(getenv("DATABASE_URL") ? getenv("DATABASE_URL") : "");
    if (!c)
        return ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "open_db (pid %d): %s", (int)getpid(), PQerrorMessage(c));
        PQfinish(c);
        return ECONNREFUSED;
    }
    connections_opened++;
    *out = c;
    return 0;
}

/* dtor: the goodbye (Terminate message, then close), by the process that
 * owns the session: memo_reset, memo_shutdown. */
static void close_db(PGconn *c)
{
    PQfinish(c);
}

/* forget: runs in the child, in fork's child handler, for the connection it
 * inherited.  The socket is shared with the parent: nothing may be sent on
 * it and it must not be shutdown(2).  dup2 puts /dev/null in place of this
 * process's copy of the socket (the parent's copy is untouched), so the
 * Terminate message PQfinish sends goes nowhere, and PQfinish frees libpq's
 * memory and closes that descriptor.  If /dev/null cannot be opened, close
 * our copy and leak the PGconn knowingly (a few kB per child): freeing it
 * with PQfinish would say goodbye on the parent's session. */
static void forget_db(void *arg, void *value)
{
    PGconn *c = (PGconn *)value;
    (void)arg;
    forgotten++;
    if (goodbye_mode) {
        PQfinish(c); /* WRONG in a child: ends the parent's session */
        return;
    }
    int fd = PQsocket(c);
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0 && nul >= 0 && dup2(nul, fd) == fd) {
        close(nul);
        PQfinish(c);
        return;
    }
    if (nul >= 0)
        close(nul);
    if (fd >= 0)
        close(fd);
}

MEMOIZE(static, get_db, PGconn *, open_db, close_db,
        .on_fork = MEMO_FORK_RESET, .forget = forget_db, .retry_min_ms = 100);

/* pg_backend_pid() on the memoized connection, or -1 (message printed). */
static int backend_pid(void)
{
    PGconn *c;
    int err = get_db(&c);
    if (err) {
        fprintf(stderr, "pid %d: no connection: %s\n", (int)getpid(), strerror(err));
        return -1;
    }
    PGresult *r = PQexec(c, "select pg_backend_pid()");
    int pid = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    if (pid < 0)
        printf("pid %d: query failed: %s", (int)getpid(), PQerrorMessage(c));
    PQclear(r);
    return pid;
}

typedef struct report {
    int worker, backend, forgotten, opened;
} report_t;

static void worker(int i, int wfd)
{
    report_t rep = {i, -1, forgotten, 0};
    int opened_before = connections_opened; /* the parent's count, inherited */
    for (int q = 0; q < 3; q++) {
        int b = backend_pid();
        if (q == 0)
            rep.backend = b;
        else if (b != rep.backend)
            rep.backend = -1;
    }
    rep.opened = connections_opened - opened_before;
    if (write(wfd, &rep, sizeof rep) != (ssize_t)sizeof rep)
        _exit(3);
    memo_shutdown(); /* this worker's own connection: a clean goodbye */
    _exit(rep.backend > 0 ? 0 : 1);
}

static int checks_failed;
static void check(int ok, const char *what)
{
    printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
    checks_failed += !ok;
}

int main(int argc, char **argv)
{
    int n = 4;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--goodbye"))
            goodbye_mode = 1;
        else
            n = atoi(argv[a]);
    }
    if (n < 1 || n > 64) {
        fprintf(stderr, "usage: %s [WORKERS 1..64] [--goodbye]\n", argv[0]);
        return 2;
    }
    int parent_backend = backend_pid();
    printf("parent: backend pid %d\n", parent_backend);
    if (parent_backend < 0)
        return 2;

    int p[2];
    if (pipe(p) != 0)
        return 2;
    fflush(stdout); /* or the children print the parent's buffered lines again */
    for (int i = 0; i < n; i++) {
        pid_t pid = fork(); /* the child forgets the parent's connection here */
        if (pid == 0) {
            close(p[0]);
            worker(i, p[1]);
        }
        if (pid < 0) {
            perror("fork");
            return 2;
        }
    }
    close(p[1]);
    report_t rep[64];
    int got = 0, all_exited_ok = 1;
    while (got < n && read(p[0], &rep[got], sizeof rep[0]) == (ssize_t)sizeof rep[0])
        got++;
    close(p[0]);
    for (int i = 0; i < n; i++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            all_exited_ok = 0;
    }

    int distinct = got == n, forgot_once = got == n, opened_one = got == n;
    for (int i = 0; i < got; i++) {
        printf("worker %d: backend pid %d (forgot the inherited connection: %d, connections "
               "opened: %d)\n",
               rep[i].worker, rep[i].backend, rep[i].forgotten, rep[i].opened);
        distinct &= rep[i].backend > 0 && rep[i].backend != parent_backend;
        for (int j = 0; j < i; j++)
            distinct &= rep[i].backend != rep[j].backend;
        forgot_once &= rep[i].forgotten == 1;
        opened_one &= rep[i].opened == 1;
    }
    int after = backend_pid();
    printf("parent after the workers exited: backend pid %d, connections opened by the parent: %d\n",
           after, connections_opened);

    check(distinct, "every process had its own backend (distinct pg_backend_pid)");
    check(forgot_once && opened_one, "each worker forgot the inherited connection and opened one");
    check(all_exited_ok, "every worker exited 0");
    check(forgotten == 0, "the parent forgot nothing (the child handler ran in the children only)");
    check(after == parent_backend && connections_opened == 1,
          "the parent's connection still works on the same backend: the children never spoke on it");
    memo_shutdown(); /* the parent's goodbye, on its own session */
    printf("%s\n", checks_failed ? "prefork: FAILED" : "prefork: all checks passed");
    return checks_failed ? 1 : 0;
}
