/* sqlite_client.h -- a memoized SQLite connection, built with memo's MEMOIZE.
 *
 *     sqlite3 *db;
 *     int err = get_db(&db);      // the first call opens the database, every
 *     if (err)                    // later call returns the same connection;
 *         return err;             // an errno value: nothing cached, the next
 *     ...use db...                // call tries again
 *     memo_reset(&get_db_memo);   // at shutdown: closes the connection
 *
 * The database is the file named by $MEMO_DEMO_DB (default /tmp/memo-demo.db).
 * open_db() does not create it: like a client whose server is missing, it
 * fails, and the caller sees the error.
 *
 * Include this header in one .c file: everything in it is static, and the
 * counters below count per process.  They are plain variables because
 * open_db() and close_db() run only from get_db() -- memo runs one constructor
 * or destructor of a cell at a time -- or from single-threaded code; a program
 * that calls them from several threads would make them _Atomic.  Copy the file
 * without the counters and the failure injection for a real program.
 */
#ifndef SQLITE_CLIENT_H
#define SQLITE_CLIENT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "memo.h"

#define SQLITE_CLIENT_DEFAULT_DB "/tmp/memo-demo.db"

/* Instrumentation for the demo. */
static long db_connect_attempts;    /* open_db() calls */
static long db_connections_opened;  /* ... that returned a connection */
static long db_connections_closed;  /* close_db() calls that closed one */

/* Failure injection: while demo_fail_next_connects > 0, open_db() consumes one,
 * counts it in demo_injected_failures and fails with ECONNREFUSED before
 * touching SQLite, as a connect to a server that is down would. */
static int demo_fail_next_connects;
static long demo_injected_failures;

static const char *db_path(void)
{
    const char *p = getenv("MEMO_DEMO_DB");
    return p && *p ? p : SQLITE_CLIENT_DEFAULT_DB;
}

/* An SQLite result code as an errno value, the currency of memo's errors. */
static int db_errno(int rc)
{
    switch (rc & 0xff) { /* the primary code, without the extended bits */
    case SQLITE_NOMEM: return ENOMEM;
    case SQLITE_CANTOPEN: return ENOENT;
    case SQLITE_PERM: case SQLITE_READONLY: case SQLITE_AUTH: return EACCES;
    case SQLITE_BUSY: case SQLITE_LOCKED: return EBUSY;
    default: return EIO;
    }
}

/* The typed constructor: opens the database and proves it with a round trip.
 * 0 and *out set, or an errno value (and everything it opened is closed). */
static int open_db(sqlite3 **out)
{
    db_connect_attempts++;
    if (demo_fail_next_connects > 0) {
        demo_fail_next_connects--;
        demo_injected_failures++;
        return ECONNREFUSED;
    }

    const char *path = db_path();
    sqlite3 *db = NULL; /* sqlite3_open_v2 may return a handle even on error */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, 5000); /* wait out other writers' locks */
    /* The round trip: reads the file (so it exists and is a database we may
     * read) and loads its schema, which every new connection has to do. */
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        int s = sqlite3_step(st);
        rc = s == SQLITE_ROW ? SQLITE_OK : s == SQLITE_DONE ? SQLITE_ERROR : s;
    }
    sqlite3_finalize(st); /* NULL is fine */
    if (rc != SQLITE_OK) {
        fprintf(stderr, "open_db: %s: %s\n", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db); /* NULL is fine */
        return db_errno(rc);
    }
    db_connections_opened++;
    *out = db;
    return 0;
}

/* The destructor.  sqlite3_close fails (SQLITE_BUSY) and keeps the connection
 * open if a statement was left unfinalized: report it, the demo counts it. */
static void close_db(sqlite3 *db)
{
    if (sqlite3_close(db) == SQLITE_OK)
        db_connections_closed++;
    else
        fprintf(stderr, "close_db: %s\n", sqlite3_errmsg(db));
}

/* static int get_db(sqlite3 **out), and the cell get_db_memo.
 * .retry_min_ms = 0: after a failed open the very next call tries again.  A
 * local file fails fast and cheaply; against a network server you would set a
 * backoff window, e.g. .retry_min_ms = 50, .retry_max_ms = 2000, so that calls
 * within it fail at once instead of hammering a server that is down. */
MEMOIZE(static, get_db, sqlite3 *, open_db, close_db, .retry_min_ms = 0);

#endif /* SQLITE_CLIENT_H */
