/* testutil.h -- small helpers shared by the memo unit tests (not part of the
 * library).  A "gate" is a constructor that blocks until the test opens it,
 * so a test can hold a cell BUSY for exactly as long as it needs. */
#ifndef MEMO_TESTUTIL_H
#define MEMO_TESTUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <cmocka.h>

#include "memo.h"
#include "mt_common.h"
#include "mt_watchdog.h"

/* Stress rounds scale down under ThreadSanitizer, which is ~10x slower, and
 * under valgrind (run_all.sh sets MEMO_TEST_LIGHT=1 there). */
static inline int memo_test_rounds(int n)
{
#ifdef MT_TSAN
    return n / 10 + 1;
#else
    return getenv("MEMO_TEST_LIGHT") ? n / 10 + 1 : n;
#endif
}
#define ROUNDS(n) memo_test_rounds(n)

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;           /* 1: constructors may return */
    int entered;        /* constructors that reached the gate */
} gate_t;

static inline void gate_init(gate_t *g)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC); /* for gate_wait_entered's deadline */
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, &a);
    pthread_condattr_destroy(&a);
    g->open = 0;
    g->entered = 0;
}

static inline void gate_destroy(gate_t *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static inline void gate_unlock_(void *mu) { pthread_mutex_unlock((pthread_mutex_t *)mu); }

/* Called from a constructor: announce arrival, then block (a cancellation
 * point: pthread_cond_wait) until the gate is opened. */
static inline void gate_pass(gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    pthread_cleanup_push(gate_unlock_, &g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_cleanup_pop(1);
}

/* Called from the test: block until n constructors reached the gate; fails
 * the test if they have not within mt_wait_ms(). */
#define gate_wait_entered(g, n) gate_wait_entered_((g), (n), __FILE__, __LINE__)
static inline void gate_wait_entered_(gate_t *g, int n, const char *file, int line)
{
    long ms = mt_wait_ms();
    uint64_t end = mt_now_ns() + (uint64_t)ms * 1000000u;
    struct timespec ts = { (time_t)(end / 1000000000u), (long)(end % 1000000000u) };
    int entered;
    pthread_mutex_lock(&g->mu);
    while (g->entered < n && pthread_cond_timedwait(&g->cv, &g->mu, &ts) != ETIMEDOUT) {
    }
    entered = g->entered;
    pthread_mutex_unlock(&g->mu);
    if (entered < n) {
        print_error("gate_wait_entered: %d of %d constructors reached the gate within %ld ms\n", entered, n, ms);
        _fail(file, line);
    }
}

static inline void gate_open(gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Block until at least n callers of m found it BUSY and committed to waiting
 * for the running attempt (memo counts them before they sleep; once counted,
 * a caller receives that attempt's outcome). */
#define wait_for_waiters(m, n) wait_for_waiters_((m), (n), __FILE__, __LINE__)
static inline void wait_for_waiters_(memo_t *m, uint32_t n, const char *file, int line)
{
    long ms = mt_wait_ms();
    uint64_t end = mt_now_ns() + (uint64_t)ms * 1000000u;
    uint32_t w;
    while ((w = memo_stats(m).waits) < n && mt_now_ns() < end)
        sched_yield();
    if (w < n) {
        print_error("wait_for_waiters: %u of %u callers waiting after %ld ms\n", (unsigned)w, (unsigned)n, ms);
        _fail(file, line);
    }
}

/* A thread calling memo_get on a cell and recording the result. */
typedef struct getter {
    pthread_t th;
    memo_t *m;
    pthread_barrier_t *start;   /* optional */
    int err;
    void *value;
} getter_t;

static inline void *getter_main(void *p)
{
    getter_t *g = (getter_t *)p;
    if (g->start)
        pthread_barrier_wait(g->start);
    g->value = NULL;
    g->err = memo_get(g->m, &g->value);
    return NULL;
}

static inline void getter_start(getter_t *g, memo_t *m, pthread_barrier_t *start)
{
    g->m = m;
    g->start = start;
    g->err = -12345;
    g->value = NULL;
    assert_int_equal(pthread_create(&g->th, NULL, getter_main, g), 0);
}

#define getter_join(g) mt_join((g)->th, NULL)

#endif
