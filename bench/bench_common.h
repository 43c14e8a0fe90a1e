/* bench_common.h -- what every benchmark program shares: how it names the
 * compiler and flags, the sink, argument parsing; the monotonic clock
 * (mt_now_ns) and the CPU model (mt_cpu_model) come from
 * tests/common/mt_common.h, shared with the tests. */
#ifndef MEMO_BENCH_COMMON_H
#define MEMO_BENCH_COMMON_H
#include "mt_common.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __clang__
#define BENCH_COMPILER __VERSION__
#else
#define BENCH_COMPILER "gcc " __VERSION__
#endif
#ifndef BENCH_FLAGS
#define BENCH_FLAGS "(not recorded)"
#endif

#define NOINLINE __attribute__((noinline))
#define BARRIER() __asm__ volatile("" ::: "memory")

/* qsort comparator for doubles (medians of timed runs). */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A positive integer argument, or exit(2) naming the program and the argument. */
static inline uint64_t bench_parse_u64(const char *prog, const char *s, const char *what)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0) {
        fprintf(stderr, "%s: bad %s '%s'\n", prog, what, s);
        exit(2);
    }
    return (uint64_t)v;
}

#endif
