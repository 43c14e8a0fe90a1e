/* bench/fastpath_ttl_mono.h -- what bench/fastpath_ttl_mono.c (the TTL getters
 * with CLOCK_MONOTONIC per get) gives bench/fastpath.c. */
#ifndef MEMO_BENCH_FASTPATH_TTL_MONO_H
#define MEMO_BENCH_FASTPATH_TTL_MONO_H
#include <stdint.h>

/* The timed loops: n gets of a READY TTL cell (.ttl_ms = 60000). */
void run_ttl_mono_memo_get(uint64_t n);
void run_ttl_mono_memoize_ptr(uint64_t n);
/* Builds both values (0, or the first error). */
int ttl_mono_warm(void);
/* The cells' construction attempts (memo_stats), for the sanity line. */
void ttl_mono_attempts(unsigned *memo_get_cell, unsigned *memoize_cell);

#endif
