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
#include <cmocka.h>

#include "memo.h"
#include "mt_common.h"

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
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
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

/* Called from the test: block until n constructors reached the gate. */
static inline void gate_wait_entered(gate_t *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->entered < n)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
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
static inline void wait_for_waiters(memo_t *m, uint32_t n)
{
    while (memo_stats(m).waits < n)
        sched_yield();
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

static inline void getter_join(getter_t *g)
{
    assert_int_equal(pthread_join(g->th, NULL), 0);
}

#endif
