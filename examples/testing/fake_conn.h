/* fake_conn.h -- a fake connection for the tests of examples/testing: it
 * answers from a number, counts the queries and records its close.  Threads
 * share it as they share the real one: its counters are atomic. */
#ifndef FAKE_CONN_H
#define FAKE_CONN_H

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "app.h"

typedef struct fake_conn {
    conn_t conn;         /* first: a conn_t * to it is a fake_conn_t * */
    long users;          /* what COUNT users answers */
    atomic_int queries;
    atomic_int closed;   /* times its close ran */
} fake_conn_t;

static int fake_count(conn_t *c, const char *table, long *out)
{
    fake_conn_t *f = (fake_conn_t *)c;
    atomic_fetch_add(&f->queries, 1);
    if (strcmp(table, "users") != 0)
        return ENOENT;
    *out = f->users;
    return 0;
}

static void fake_close(conn_t *c)
{
    atomic_fetch_add(&((fake_conn_t *)c)->closed, 1);
}

static const conn_ops_t fake_ops = { fake_count, fake_close };

static void fake_init(fake_conn_t *f, long users)
{
    memset(f, 0, sizeof *f);
    f->conn.ops = &fake_ops;
    f->users = users;
}

#endif
