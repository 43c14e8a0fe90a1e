/* stress.c -- a race program, not a benchmark: many threads hammer one cell
 * with get / get_timed / peek / invalidate / reset while the constructor
 * fails at random and sometimes exits its thread (pthread_exit) mid-way.
 * It checks invariants as it goes and prints what it did:
 *   - at most one constructor or destructor runs at a time
 *   - at most one value is live (constructed, not destroyed)
 *   - every value handed out was made by the constructor (magic)
 *   - every error is one the constructor returned, or ETIMEDOUT/EAGAIN/
 *     EALREADY where the call allows it
 *   - at the end: constructions == destructions + live
 * Usage: stress [SECONDS [THREADS]]   (make stress: minutes; make test: ~1 s)
 * Values are never freed (kept in a pool, recycled after POOL constructions): a reader may legitimately hold a
 * value that a reset destroys (a memo_get without a lease: documented as the
 * caller's risk; tests/test_lease.c covers the leased way), and the
 * program must not turn that into a use-after-free of its own. */
#define _GNU_SOURCE 1
#include "memo.h"
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x6d656d6fu
#define POOL 1000000
#define ERR_INJECTED 4242

typedef struct value {
    _Atomic unsigned magic; /* atomic: slots are recycled after POOL constructions */
    _Atomic unsigned id;
} value_t;

static value_t *pool;
static atomic_uint next_id;
static atomic_int in_owner, live, violations;
static atomic_long ctors, dtors, fails, exits, ops, errs_seen;
static atomic_int stop;

static void violation(const char *what)
{
    if (atomic_fetch_add(&violations, 1) < 10)
        fprintf(stderr, "stress: VIOLATION: %s\n", what);
}

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

static _Thread_local unsigned tls_seed;
static _Thread_local int tls_may_exit;

static void owner_leave(void *p)
{
    (void)p;
    atomic_fetch_sub(&in_owner, 1);
}

static int ctor(void *arg, void **out)
{
    (void)arg;
    if (atomic_fetch_add(&in_owner, 1) != 0)
        violation("two owners at once (constructor)");
    int err = 0;
    pthread_cleanup_push(owner_leave, NULL);
    unsigned r = rnd(&tls_seed) % 100;
    if (r < 3 && tls_may_exit) {
        atomic_fetch_add(&exits, 1);
        pthread_exit(NULL);             /* the cell must go back to EMPTY */
    }
    if (r < 25) {
        atomic_fetch_add(&fails, 1);
        err = ERR_INJECTED;
    } else {
        unsigned id = atomic_fetch_add(&next_id, 1) % POOL;
        atomic_store(&pool[id].magic, MAGIC);
        atomic_store(&pool[id].id, id);
        if (atomic_fetch_add(&live, 1) != 0)
            violation("two live values");
        atomic_fetch_add(&ctors, 1);
        *out = &pool[id];
    }
    pthread_cleanup_pop(1);
    return err;
}

static void dtor(void *arg, void *v)
{
    (void)arg;
    if (atomic_fetch_add(&in_owner, 1) != 0)
        violation("two owners at once (destructor)");
    value_t *x = (value_t *)v;
    if (atomic_load(&x->magic) != MAGIC)
        violation("destroying a value the constructor did not make");
    atomic_fetch_sub(&live, 1);
    atomic_fetch_add(&dtors, 1);
    atomic_fetch_sub(&in_owner, 1);
}

static memo_t cell = MEMO_INIT(ctor, dtor, NULL);

static void check_value(void *v)
{
    value_t *x = (value_t *)v;
    if (x < pool || x >= pool + POOL || atomic_load(&x->magic) != MAGIC)
        violation("a value the constructor did not make");
}

static void *worker(void *p)
{
    tls_seed = (unsigned)(uintptr_t)p * 2654435761u + 1u;
    tls_may_exit = (int)((uintptr_t)p & 1); /* odd slots' workers may die (low 8 bits: slot) */
    while (!atomic_load(&stop)) {
        void *v = NULL;
        int e;
        switch (rnd(&tls_seed) % 10) {
        case 0:
            e = memo_get_timed(&cell, &v, rnd(&tls_seed) % 3);
            if (e == ETIMEDOUT)
                e = 0, v = NULL;
            break;
        case 1:
            e = memo_peek(&cell, &v);
            if (e == EAGAIN)
                e = 0, v = NULL;
            break;
        case 2:
            e = memo_get(&cell, &v);
            if (e == 0) {
                int r = memo_invalidate(&cell, v);
                if (r != 0 && r != EALREADY)
                    violation("memo_invalidate returned an unexpected code");
            }
            break;
        case 3:
            if (rnd(&tls_seed) % 8 == 0 && memo_reset(&cell) != 0)
                violation("memo_reset failed");
            e = 0;
            break;
        default:
            e = memo_get(&cell, &v);
        }
        if (e != 0 && e != ERR_INJECTED) {
            violation("an error the constructor never returned");
        }
        if (e == ERR_INJECTED)
            atomic_fetch_add(&errs_seen, 1);
        if (e == 0 && v)
            check_value(v);
        atomic_fetch_add(&ops, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    int nthreads = argc > 2 ? atoi(argv[2]) : 8;
    if (secs <= 0 || nthreads < 1 || nthreads > 256) {
        fprintf(stderr, "usage: stress [SECONDS>0 [THREADS 1..256]]\n");
        return 2;
    }
    pool = (value_t *)calloc(POOL, sizeof *pool);
    if (!pool)
        return 2;
    printf("stress: %d threads, %.1f s, one cell; constructor fails 25%%, exits its thread 3%% "
           "(half the workers) -- a race program, not a benchmark\n", nthreads, secs);
    pthread_t th[256];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned gen = (unsigned)nthreads + 1;
    /* Keep the thread count up: reap workers that died in the constructor. */
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (el >= secs || atomic_load(&stop))
            break;
        for (int i = 0; i < nthreads; i++) {
            if (pthread_tryjoin_np(th[i], NULL) == 0)
                pthread_create(&th[i], NULL, worker, (void *)((uintptr_t)(i + 1) | ((uintptr_t)gen++ << 8)));
        }
        struct timespec d = { 0, 2000000 }; /* pacing of the reaper, not synchronization */
        nanosleep(&d, NULL);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    void *v;
    int is_live = memo_peek(&cell, &v) == 0;
    if (atomic_load(&live) != is_live)
        violation("live count does not match the cell");
    if (atomic_load(&ctors) != atomic_load(&dtors) + is_live)
        violation("constructions != destructions + live");
    if (memo_reset(&cell) != 0 || atomic_load(&live) != 0 || atomic_load(&ctors) != atomic_load(&dtors))
        violation("final reset did not balance");
    memo_stats_t st = memo_stats(&cell);
    printf("stress: %ld operations, %ld constructions, %ld destructions, %ld injected failures "
           "(%ld errors delivered), %ld constructor thread exits; stats: %u attempts, %u waits\n",
           atomic_load(&ops), atomic_load(&ctors), atomic_load(&dtors), atomic_load(&fails),
           atomic_load(&errs_seen), atomic_load(&exits), st.attempts, st.waits);
    int bad = atomic_load(&violations);
    printf("stress: invariants checked after every operation; %d violation(s)\n", bad);
    printf("%d passed, %d failed\n", bad ? 0 : 1, bad ? 1 : 0);
    free(pool);
    return bad ? 1 : 0;
}
