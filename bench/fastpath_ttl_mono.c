/* bench/fastpath_ttl_mono.c -- the TTL getters of bench/fastpath.c with the
 * TTL clock forced to CLOCK_MONOTONIC on every get: what a memoizer with a
 * precise clock pays (Guava's Suppliers.memoizeWithExpiration reads
 * System.nanoTime(), i.e. CLOCK_MONOTONIC, on every get).  memo.h's default
 * TTL clock is CLOCK_MONOTONIC_COARSE (MEMO_TTL_NOW_NS, see its manual).
 *
 * A translation unit of its own, linked into the fastpath program, because
 * the clock is a compile-time option of memo.h.  bench/run.sh builds it with
 *
 *     -D'MEMO_TTL_NOW_NS()=bench_mono_ns()'
 *
 * (bench_mono_ns is defined below, before memo.h expands the macro); without
 * that definition the build fails rather than silently measure the coarse
 * clock.  Every memo function is static inline (or static), so this unit's
 * copy of the TTL slow path reads CLOCK_MONOTONIC while fastpath.c's reads
 * CLOCK_MONOTONIC_COARSE; the two units share no cell.
 *
 * The loops are exactly those of fastpath.c's ttl_memo_get / ttl_memoize_ptr
 * (get -> volatile sink -> empty asm memory clobber).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <time.h>

#ifndef MEMO_TTL_NOW_NS
#error "build with -D'MEMO_TTL_NOW_NS()=bench_mono_ns()' (see bench/run.sh)"
#endif

/* The TTL clock of this unit: CLOCK_MONOTONIC (a vDSO read of the TSC on
 * Linux x86-64), in nanoseconds, as memo.h's own memo_i_coarse_ns_ computes
 * it from CLOCK_MONOTONIC_COARSE. */
static inline uint64_t bench_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#include "memo.h"

#include "bench_common.h"

#include "fastpath_ttl_mono.h"

extern void *volatile sink; /* fastpath.c's */

struct mono_obj {
    int id;
};
static struct mono_obj mono_obj = { 43 };

static NOINLINE struct mono_obj *mono_make_raw(void)
{
    BARRIER();
    return &mono_obj;
}

/* memo_get on a TTL cell, CLOCK_MONOTONIC per get. */
static int mono_cell_ctor(void *arg, void **out)
{
    (void)arg;
    *out = mono_make_raw();
    return 0;
}
static memo_t mono_cell = MEMO_INIT(mono_cell_ctor, NULL, NULL, .ttl_ms = 60000);

NOINLINE void run_ttl_mono_memo_get(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        if (memo_get(&mono_cell, &v) == 0)
            sink = v;
        BARRIER();
    }
}

/* MEMOIZE, pointer T, on a TTL cell, CLOCK_MONOTONIC per get. */
static int mono_make_obj(struct mono_obj **out)
{
    *out = mono_make_raw();
    return 0;
}
MEMOIZE(static, get_mono_obj, struct mono_obj *, mono_make_obj, NULL, .ttl_ms = 60000);

NOINLINE void run_ttl_mono_memoize_ptr(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct mono_obj *p;
        if (get_mono_obj(&p) == 0)
            sink = p;
        BARRIER();
    }
}

int ttl_mono_warm(void)
{
    void *v;
    struct mono_obj *p;
    int e = memo_get(&mono_cell, &v);
    return e ? e : get_mono_obj(&p);
}

void ttl_mono_attempts(unsigned *memo_get_cell, unsigned *memoize_cell)
{
    *memo_get_cell = memo_stats(&mono_cell).attempts;
    *memoize_cell = memo_stats(&get_mono_obj_memo).attempts;
}
