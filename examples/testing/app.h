/* app.h -- the code under test of examples/testing (docs/TESTING.md): a
 * service that answers "how many users?" from its database, over one
 * connection it keeps in a memo cell.  Nothing here knows about tests. */
#ifndef APP_H
#define APP_H

#include <stddef.h>

#include "memo.h"

/* A connection: its operations, so that any implementation will do. */
typedef struct conn conn_t;
typedef struct conn_ops {
    int (*count)(conn_t *c, const char *table, long *out); /* rows of table */
    void (*close)(conn_t *c);
} conn_ops_t;
struct conn {
    const conn_ops_t *ops;
};

/* The database connection, built on first use: int app_db(conn_t **out),
 * whose cell is app_db_memo. */
MEMO_DECLARE(app_db, conn_t *);

/* How app_db connects to the address in APP_DB_ADDR (host:port, default
 * 127.0.0.1:5432): 0 and *out, or an errno value and a reason in why. */
typedef int (*app_connect_fn)(const char *addr, conn_t **out, char *why, size_t why_len);
extern app_connect_fn app_connect;

/* The number of users: 0 and *out, or an error. */
int app_count_users(long *out);

#endif
