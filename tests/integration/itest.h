/* itest.h -- helpers shared by the integration tests, tests/integration/test_*.c.
 * Include it first: it sets the feature macros and includes cmocka.
 *
 * The servers are started by tests/integration/run.sh, which passes where they
 * are in the environment (see run.sh).  Only loopback addresses are used. */
#ifndef ITEST_H
#define ITEST_H

#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include "memo.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mt_common.h"
/* 40 s a test (120 s under ASan; run.sh's timeout is 150 s): a test may wait
 * 20 s for a restarted server */
#define MT_WATCHDOG_DEFAULT_S 40
#include "mt_watchdog.h"

/* The value of an environment variable run.sh sets; fails the test if unset. */
static inline const char *itest_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        print_error("environment variable %s is not set: run this test through "
                    "tests/integration/run.sh\n", name);
        fail();
    }
    return v;
}

static inline double itest_now_ms(void)
{
    return (double)mt_now_ns() / 1e6;
}

/* Open file descriptors of this process (entries of /proc/self/fd, less the
 * one opendir uses to read it). */
static inline int itest_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* A loopback TCP port that nothing listens on right now (bound to port 0 to
 * let the kernel pick one, then closed).  Connecting to it is refused. */
/* Binds fd to 127.0.0.1 on a port the kernel picks; returns the port or -1. */
static inline int itest_bind_loopback_(int fd)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    return ntohs(a.sin_port);
}

static inline int itest_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int port = itest_bind_loopback_(fd);
    close(fd);
    return port;
}

/* A "server" that accepts each TCP connection on 127.0.0.1 and closes it at
 * once, counting them: a dead server as a client sees it, and a count of the
 * connection attempts that really reached the network. */
typedef struct itest_listener {
    int fd;
    int port;
    atomic_int accepts;
    atomic_int stop;
    pthread_t thread;
} itest_listener_t;

static void *itest_listener_main_(void *arg)
{
    itest_listener_t *l = (itest_listener_t *)arg;
    while (!atomic_load(&l->stop)) {
        struct pollfd p = { l->fd, POLLIN, 0 };
        if (poll(&p, 1, 20) <= 0)
            continue;
        int c = accept(l->fd, NULL, NULL);
        if (c >= 0) {
            atomic_fetch_add(&l->accepts, 1);
            close(c);
        }
    }
    return NULL;
}

static inline int itest_listener_start(itest_listener_t *l)
{
    memset(l, 0, sizeof *l);
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (l->fd < 0)
        return -1;
    l->port = itest_bind_loopback_(l->fd);
    if (l->port < 0 || listen(l->fd, 128) != 0 ||
        pthread_create(&l->thread, NULL, itest_listener_main_, l) != 0) {
        close(l->fd);
        return -1;
    }
    return 0;
}

/* Waits (at most timeout_ms) until the listener has accepted `want`
 * connections; returns the count then. */
static inline int itest_listener_wait(itest_listener_t *l, int want, long timeout_ms)
{
    double end = itest_now_ms() + (double)timeout_ms;
    while (atomic_load(&l->accepts) < want && itest_now_ms() < end)
        mt_sleep_ms(5);
    mt_sleep_ms(20); /* and a little longer: catch attempts beyond `want` too */
    return atomic_load(&l->accepts);
}

static inline void itest_listener_stop(itest_listener_t *l)
{
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
    close(l->fd);
}

/* The length of the first line of s: print messages as "%.*s" with it
 * (libpq's run over several lines). */
static inline int itest_line(const char *s)
{
    return (int)strcspn(s, "\n");
}

/* Runs a shell command (one of the scripts run.sh prepared); 0 on success. */
static inline int itest_sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        print_error("command failed (status %d): %s\n", rc, cmd);
    return rc;
}

/* Calls memo_get every 2 ms, `calls` times (0: no limit) or for `ms`
 * milliseconds (0: no limit); *ncalls gets the number of calls.  Returns
 * their error (all must fail with the same one), or -1. */
static inline int itest_hammer(memo_t *cell, int calls, long ms, int *ncalls)
{
    void *v;
    double end = itest_now_ms() + (double)ms;
    int first = memo_get(cell, &v), n = 1;
    while ((!calls || n < calls) && (!ms || itest_now_ms() < end)) {
        mt_sleep_ms(2);
        n++;
        if (memo_get(cell, &v) != first) {
            *ncalls = n;
            return -1;
        }
    }
    *ncalls = n;
    return first;
}

#endif /* ITEST_H */
