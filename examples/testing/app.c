/* app.c -- the code under test of examples/testing (docs/TESTING.md).  The
 * database connection lives in a memo cell: built by the first caller (a
 * failed connect is retried after a backoff window, its reason attached with
 * memo_failf), shared by every thread, closed by the cell's destructor.  The
 * real connection is a TCP socket speaking one line per query ("COUNT
 * users\n" -> "42\n"); the tests never open it.
 *
 * The tests #include this file: memo's clock override (MEMO_NOW_NS), which
 * a test defines before memo.h, must be seen where the getter is defined. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"

/* --- the real connection --------------------------------------------------- */
typedef struct tcp_conn {
    conn_t conn;
    int fd;
} tcp_conn_t;

static int tcp_count(conn_t *c, const char *table, long *out)
{
    tcp_conn_t *t = (tcp_conn_t *)c;
    char buf[64];
    int n = snprintf(buf, sizeof buf, "COUNT %s\n", table);
    if (n < 0 || (size_t)n >= sizeof buf)
        return EINVAL;
    if (send(t->fd, buf, (size_t)n, 0) != n)
        return EIO;
    ssize_t got = recv(t->fd, buf, sizeof buf - 1, 0);
    if (got <= 0)
        return EIO;
    buf[got] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end != '\n')
        return EPROTO;
    *out = v;
    return 0;
}

static void tcp_close(conn_t *c)
{
    tcp_conn_t *t = (tcp_conn_t *)c;
    close(t->fd);
    free(t);
}

static const conn_ops_t tcp_ops = { tcp_count, tcp_close };

static int tcp_connect(const char *addr, conn_t **out, char *why, size_t why_len)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host) {
        snprintf(why, why_len, "not host:port");
        return EINVAL;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0) {
        snprintf(why, why_len, "%s", gai_strerror(rc));
        return EHOSTUNREACH;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), err = 0;
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        err = errno;
    freeaddrinfo(ai);
    tcp_conn_t *t = err ? NULL : (tcp_conn_t *)malloc(sizeof *t);
    if (!t) {
        err = err ? err : ENOMEM;
        snprintf(why, why_len, "%s", strerror(err));
        if (fd >= 0)
            close(fd);
        return err;
    }
    t->conn.ops = &tcp_ops;
    t->fd = fd;
    *out = &t->conn;
    return 0;
}

app_connect_fn app_connect = tcp_connect;

/* --- the memoized connection ------------------------------------------------ */
static int db_open(conn_t **out)
{
    const char *addr = getenv("APP_DB_ADDR");
    char why[96] = "";
    if (!addr)
        addr = "127.0.0.1:5432";
    int err = app_connect(addr, out, why, sizeof why);
    if (err)
        return memo_failf(err, "connect %s: %s", addr, why);
    return 0;
}

static void db_close(conn_t *c)
{
    c->ops->close(c);
}

MEMOIZE(, app_db, conn_t *, db_open, db_close, .retry_min_ms = 100, .retry_max_ms = 1000);

/* --- the code under test ------------------------------------------------------ */
int app_count_users(long *out)
{
    conn_t *c;
    int err = app_db(&c);
    if (err)
        return err; /* memo_last_error() says why */
    return c->ops->count(c, "users", out);
}
