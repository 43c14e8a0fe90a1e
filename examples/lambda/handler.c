/* handler.c -- answers each Lambda event from a memoized database connection.
 *
 * A Lambda execution environment keeps the process, and every global in it,
 * between warm invocations.  So the connection lives in a memo cell: the first
 * invocation of a process connects, every later one reuses the connection.  A
 * failed connect is not cached (the next invocation tries again, after a short
 * backoff window), and a connection found broken is invalidated so that the
 * next invocation reconnects.
 *
 * Each query holds a lease on the connection (memo_acquire ... memo_release),
 * and a broken one is dropped with memo_invalidate_lease(&lease): that drops
 * exactly the connection this query used, never a newer one that happens to
 * sit at the same address (the pointer form, memo_invalidate(m, c), cannot
 * tell them apart).  The runtime handles one event at a time, so here the
 * pointer form would also be safe; the lease form is the one to copy into a
 * handler that shares the connection between threads.
 *
 * Every answer carries the process id, its invocation count and how many
 * connections it has opened, so the reuse is visible from outside. */
#define _POSIX_C_SOURCE 200809L
#include "handler.h"
#include "memo.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORK_MS 10000L /* an event's "sleep_ms", at most */

/* Per-process state: survives between warm invocations. */
static long invocations;            /* events this process has answered */
static long connections_opened;     /* database connections it has opened */
static const char *database_url;    /* PostgreSQL when set, else SQLite */
static const char *sqlite_path;
/* A constructor's failure with its reason: memo_failf attaches the message
 * to this attempt, and the caller -- and any thread that waited on the
 * attempt, were there several -- reads it with memo_last_error(); no global
 * buffer to race on. */
static int db_fail(int err, const char *fmt, ...)
{
    char buf[MEMO_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* libpq's messages span lines ("...failed: Connection refused\n\tIs the
     * server running..."): make them one line. */
    char *w = buf;
    for (const char *r = buf; *r; r++) {
        int space = *r == '\n' || *r == '\t' || *r == ' ';
        if (!space)
            *w++ = *r;
        else if (w > buf && w[-1] != ' ')
            *w++ = ' ';
    }
    while (w > buf && w[-1] == ' ')
        w--;
    *w = '\0';
    return memo_failf(err, "%s", buf);
}

/* The message of the getter error just returned (memo's own, or the
 * constructor's memo_failf). */
static const char *db_error(void)
{
    memo_error_t e = memo_last_error();
    return e.message ? e.message : strerror(e.code);
}

/* --- PostgreSQL ------------------------------------------------------------ */

static int open_db(PGconn **out)
{
    /* DATABASE_URL is expanded in place of "dbname"; what it sets wins over
     * the defaults before it.  fallback_application_name tags our sessions. */
    const char *const keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
    const char *const vals[] = { "5", "memo-lambda", database_url, NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL) {
        return db_fail(ENOMEM, "out of memory");
    }
    if (PQstatus(c) != CONNECTION_OK) {
        int err = db_fail(ECONNREFUSED, "%s", PQerrorMessage(c));
        PQfinish(c);
        return err;
    }
    connections_opened++;
    *out = c;
    return 0;
}

/* The destructor: on invalidation (a broken connection) and at shutdown
 * (memo_shutdown, after SIGTERM).  PQfinish sends the Terminate message, so
 * the server ends the session as a normal disconnection, not an EOF. */
static void close_db(PGconn *c)
{
    int backend = PQbackendPID(c);
    PQfinish(c);
    fprintf(stderr, "memo-lambda[%ld]: closed the PostgreSQL connection (backend pid %d)\n",
            (long)getpid(), backend);
}

/* get_db(&c): the process's connection; connects on first use.  After a
 * failure, calls within 50 ms (doubling per failure up to 2 s) fail at once
 * with the same error instead of hammering a server that is down. */
MEMOIZE(static, get_db, PGconn *, open_db, close_db, .retry_min_ms = 50, .retry_max_ms = 2000);

/* Runs the query; on success appends its fields to the answer and returns
 * NULL, else returns an error type and writes the message. */
static const char *query_pg(long work_ms, char *out, size_t outlen, char *msg, size_t msglen)
{
    /* A lease keeps the connection open until memo_release, even if it is
     * invalidated meanwhile; memo_acquire connects on first use, as get_db. */
    memo_lease_t lease = MEMO_LEASE_INIT;
    if (memo_acquire(&get_db_memo, &lease) != 0) {
        snprintf(msg, msglen, "cannot connect to PostgreSQL: %s", db_error());
        return "DatabaseUnavailable";
    }
    PGconn *c = lease.value;
    const char *type = NULL;
    if (work_ms > 0) {
        /* A slow invocation, seen by the server as a running query.  If it
         * fails, the query below fails the same way and says why. */
        char sql[64];
        snprintf(sql, sizeof sql, "select pg_sleep(%ld / 1000.0)", work_ms);
        PQclear(PQexec(c, sql));
    }
    PGresult *r = PQexec(c, "select pg_backend_pid(), count(*) from pg_stat_activity");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        snprintf(out, outlen, ",\"backend_pid\":%s,\"sessions\":%s", PQgetvalue(r, 0, 0),
                 PQgetvalue(r, 0, 1));
    } else {
        snprintf(msg, msglen, "query failed: %s", PQerrorMessage(c));
        if (PQstatus(c) == CONNECTION_BAD) {
            /* The connection is dead: drop this very connection (EALREADY if
             * it was dropped already) so that the next invocation reconnects. */
            memo_invalidate_lease(&lease);
            type = "DatabaseConnectionLost";
        } else {
            type = "DatabaseQueryError";
        }
    }
    PQclear(r);
    memo_release(&lease); /* PQfinish here if it was invalidated: the last lease */
    return type;
}

/* --- SQLite ---------------------------------------------------------------- */

static int open_sqlite(sqlite3 **out)
{
    sqlite3 *db = NULL;
    char sql[256];
    snprintf(sql, sizeof sql,
             "create table if not exists opens(pid integer not null, at text default current_timestamp);"
             "insert into opens(pid) values (%ld);", (long)getpid());
    int rc = sqlite3_open_v2(sqlite_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, 5000); /* other processes share the file */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int err = db_fail(EIO, "%s: %s", sqlite_path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return err;
    }
    connections_opened++;
    *out = db;
    return 0;
}

static void close_sqlite(sqlite3 *db)
{
    int rc = sqlite3_close(db);
    fprintf(stderr, "memo-lambda[%ld]: closed the SQLite database %s (sqlite3_close: %s)\n",
            (long)getpid(), sqlite_path, sqlite3_errstr(rc));
}

MEMOIZE(static, get_sqlite, sqlite3 *, open_sqlite, close_sqlite, .retry_min_ms = 50, .retry_max_ms = 2000);

static const char *query_sqlite(long work_ms, char *out, size_t outlen, char *msg, size_t msglen)
{
    memo_lease_t lease = MEMO_LEASE_INIT; /* as in query_pg */
    if (memo_acquire(&get_sqlite_memo, &lease) != 0) {
        snprintf(msg, msglen, "cannot open SQLite: %s", db_error());
        return "DatabaseUnavailable";
    }
    sqlite3 *db = lease.value;
    const char *type = NULL;
    sqlite3_stmt *st = NULL;
    if (work_ms > 0) { /* a slow invocation */
        struct timespec ts = { work_ms / 1000, (work_ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    int rc = sqlite3_prepare_v2(db, "select count(*), count(distinct pid) from opens", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        snprintf(out, outlen, ",\"db_opens\":%lld,\"db_open_pids\":%lld",
                 sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
    } else {
        snprintf(msg, msglen, "query failed: %s", sqlite3_errmsg(db));
        switch (rc & 0xff) { /* the primary result code */
        case SQLITE_IOERR: case SQLITE_CORRUPT: case SQLITE_NOTADB: case SQLITE_CANTOPEN:
            memo_invalidate_lease(&lease); /* reopen on the next invocation */
            type = "DatabaseConnectionLost";
            break;
        default:
            type = "DatabaseQueryError";
        }
    }
    sqlite3_finalize(st);
    memo_release(&lease); /* sqlite3_close here if it was invalidated */
    return type;
}

/* --- JSON ------------------------------------------------------------------ */

/* A growable string; any allocation failure makes the result NULL. */
typedef struct sbuf { char *p; size_t len, cap; int oom; } sbuf_t;

static void sb_add(sbuf_t *b, const char *fmt, ...)
{
    while (!b->oom) {
        va_list ap;
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (n >= 0 && cap - b->len <= (size_t)n)
            cap *= 2;
        char *p = n < 0 ? NULL : realloc(b->p, cap);
        if (p == NULL)
            b->oom = 1;
        b->p = p ? p : b->p;
        b->cap = p ? cap : b->cap;
    }
}

static void sb_str(sbuf_t *b, const char *s) /* a JSON string literal */
{
    sb_add(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_add(b, "\\%c", c);
        else if (c == '\n')
            sb_add(b, "\\n");
        else if (c < 0x20 || c == 0x7f)
            sb_add(b, "\\u%04x", c);
        else
            sb_add(b, "%c", c);
    }
    sb_add(b, "\"");
}

static char *sb_done(sbuf_t *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

char *json_error(const char *type, const char *msg)
{
    sbuf_t b = { 0 };
    sb_add(&b, "{\"errorMessage\":");
    sb_str(&b, msg);
    sb_add(&b, ",\"errorType\":");
    sb_str(&b, type);
    sb_add(&b, "}");
    return sb_done(&b);
}

/* The number in the event's field `key` (quoted, e.g. "\"seq\""), or -1: a
 * tiny reader for the test's {"seq":N,"sleep_ms":M}, not a JSON parser. */
static long event_number(const char *event, const char *key)
{
    const char *p = strstr(event, key);
    if (p == NULL)
        return -1;
    p += strlen(key);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return *p == ':' ? strtol(p + 1, NULL, 10) : -1;
}

/* --- the handler ----------------------------------------------------------- */

int handler_init(char *msg, size_t msglen)
{
    database_url = getenv("DATABASE_URL");
    if (database_url != NULL && *database_url == '\0')
        database_url = NULL;
    if (database_url != NULL) {
        char *perr = NULL;
        PQconninfoOption *opts = PQconninfoParse(database_url, &perr);
        if (opts == NULL) {
            /* libpq's message may quote the URL, password included: not echoed. */
            snprintf(msg, msglen, "DATABASE_URL is not a valid PostgreSQL connection string "
                     "(expected e.g. postgresql://user:password@host:5432/dbname)");
            PQfreemem(perr);
            return -1;
        }
        PQconninfoFree(opts);
    } else {
        sqlite_path = getenv("SQLITE_PATH");
        if (sqlite_path == NULL || *sqlite_path == '\0')
            sqlite_path = "/tmp/memo-lambda.sqlite3";
    }
    /* Warm the connection during INIT; if it fails, the first invocation
     * retries (after the backoff window) and reports the error. */
    PGconn *c;
    sqlite3 *db;
    if (database_url ? get_db(&c) != 0 : get_sqlite(&db) != 0)
        fprintf(stderr, "memo-lambda[%ld]: init: database not reachable yet: %s\n",
                (long)getpid(), db_error());
    return 0;
}

char *handler_invoke(const char *event, char *error_type, size_t typelen)
{
    char fields[256] = "", msg[768];
    invocations++;
    /* "sleep_ms": the invocation takes that long (pg_sleep on PostgreSQL,
     * where the server shows the query running; a sleep on SQLite).  For the
     * shutdown test: a SIGTERM that comes meanwhile waits for the answer. */
    long work_ms = event_number(event, "\"sleep_ms\"");
    if (work_ms > MAX_WORK_MS)
        work_ms = MAX_WORK_MS;
    if (work_ms > 0)
        fprintf(stderr, "memo-lambda[%ld]: invocation %ld: working for %ld ms (sleep_ms)\n",
                (long)getpid(), invocations, work_ms);
    const char *type = database_url ? query_pg(work_ms, fields, sizeof fields, msg, sizeof msg)
                                    : query_sqlite(work_ms, fields, sizeof fields, msg, sizeof msg);
    memo_stats_t st = database_url ? memo_stats(&get_db_memo) : memo_stats(&get_sqlite_memo);

    sbuf_t b = { 0 };
    if (type != NULL) {
        sb_add(&b, "{\"errorMessage\":");
        sb_str(&b, msg);
        sb_add(&b, ",\"errorType\":");
        sb_str(&b, type);
        sb_add(&b, ",");
    } else {
        sb_add(&b, "{\"db\":\"%s\",", database_url ? "postgres" : "sqlite");
    }
    sb_add(&b, "\"pid\":%ld,\"invocation\":%ld,\"connections_opened\":%ld,"
           "\"connect_attempts\":%lu,\"seq\":%ld%s}",
           (long)getpid(), invocations, connections_opened, (unsigned long)st.attempts,
           event_number(event, "\"seq\""), fields);
    snprintf(error_type, typelen, "%s", type ? type : "");
    return sb_done(&b);
}
