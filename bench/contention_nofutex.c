/* bench/contention_nofutex.c -- the memo cell of bench/contention.c built with
 * MEMO_NO_FUTEX (waiters park on the mutex/condvar table instead of a futex).
 *
 * A separate translation unit because MEMO_NO_FUTEX is a whole-header switch;
 * every memo function is static, so this TU's copies do not clash with those
 * of contention.c (which uses the default futex build). */
#define _GNU_SOURCE
#define MEMO_NO_FUTEX 1
#include "memo.h"

/* Defined in contention.c: counts the construction, sleeps, returns a value. */
void *bench_slow_construct(void);

/* Called from contention.c. */
void nofutex_reset(void);
int nofutex_get(void **out);
memo_stats_t nofutex_stats(void);

static int nofutex_ctor(void *arg, void **out)
{
    (void)arg;
    *out = bench_slow_construct();
    return 0;
}

static memo_t nofutex_cell = MEMO_INIT(nofutex_ctor, NULL, NULL);

/* Only between rounds, while no thread uses the cell. */
void nofutex_reset(void)
{
    nofutex_cell = (memo_t)MEMO_INIT(nofutex_ctor, NULL, NULL);
}

int nofutex_get(void **out)
{
    return memo_get(&nofutex_cell, out);
}

memo_stats_t nofutex_stats(void)
{
    return memo_stats(&nofutex_cell);
}
