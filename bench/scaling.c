/* bench/scaling.c -- getter throughput of a READY value as threads are added.
 *
 * BENCHMARK, NOT A TEST: nothing here passes or fails on time.  The program
 * exits non-zero only if a correctness check fails (the value constructed
 * other than exactly once, a get that returned an error or a wrong value).
 *
 * Variants, each its own noinline loop:
 *   memo MEMOIZE   a MEMOIZE'd getter whose value was built before timing
 *   plain global   a plain load of a global pointer (the limit)
 *   pthread_once   pthread_once(&once, init) then a load of the global
 *
 * Each thread does M gets (default 200M):
 *     for (i = 0; i < M; i++) { <get v>; tl_sink = v; BARRIER(); }
 * (memo: `if (get_obj(&v) == 0) tl_sink = v; else bad = 1;`, as fastpath.c)
 * into a volatile _Thread_local sink (no shared cache line is written),
 * BARRIER() being an empty asm with a "memory" clobber.  Threads start
 * together on a pthread barrier.  Thread counts: 1..N (N = online CPUs from
 * sysconf) and 2N (oversubscribed).  Each (variant, threads) point runs ROUNDS
 * times (default 3), round-robin over variants; the median round is shown.
 *
 * Reported: total gets/s = threads * M / wall time (first thread's start
 * after the barrier to the last thread's end); per-thread ns/get = a
 * thread's own wall time / M, averaged over threads (it grows when threads
 * outnumber CPUs: time spent descheduled);
 * cpu ns/get = the same with the thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
 *
 * Usage: scaling [M [ROUNDS]]
 * If the environment variable BENCH_CSV names a file, rows
 * bench,variant,threads,param,metric,value are appended to it (param empty).
 */
#define _GNU_SOURCE
#include "memo.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define MAX_ROUNDS 15

struct obj {
    int id;
};
static struct obj the_obj = { 42 };
static _Thread_local void *volatile tl_sink;

/* --- memo MEMOIZE -------------------------------------------------------- */
static atomic_int memo_constructions;
static int make_obj(struct obj **out)
{
    atomic_fetch_add(&memo_constructions, 1);
    *out = &the_obj;
    return 0;
}
MEMOIZE(static, get_obj, struct obj *, make_obj, NULL);

static NOINLINE int run_memo(uint64_t n)
{
    int bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        struct obj *v;
        if (get_obj(&v) == 0)
            tl_sink = v;
        else
            bad = 1;
        BARRIER();
    }
    return bad;
}

/* --- plain global ---------------------------------------------------------- */
struct obj *g_ptr = &the_obj;

static NOINLINE int run_plain(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        tl_sink = g_ptr;
        BARRIER();
    }
    return 0;
}

/* --- pthread_once + global --------------------------------------------------- */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct obj *once_ptr;
static atomic_int once_constructions;
static void once_init(void)
{
    atomic_fetch_add(&once_constructions, 1);
    once_ptr = &the_obj;
}

static NOINLINE int run_once(uint64_t n)
{
    int bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        bad |= pthread_once(&once, once_init);
        tl_sink = once_ptr;
        BARRIER();
    }
    return bad;
}

struct variant {
    const char *name;
    int (*run)(uint64_t);
};
static const struct variant variants[] = {
    { "memo MEMOIZE", run_memo },
    { "plain global", run_plain },
    { "pthread_once", run_once },
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct thread_arg {
    const struct variant *var;
    pthread_barrier_t *bar;
    uint64_t n;
    uint64_t start_ns, end_ns, cpu_ns;
    int bad;
};

static void *worker(void *p)
{
    struct thread_arg *a = p;
    pthread_barrier_wait(a->bar);
    uint64_t w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    a->bad = a->var->run(a->n);
    a->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    a->end_ns = clock_ns(CLOCK_MONOTONIC);
    a->start_ns = w0;
    if (tl_sink != &the_obj)
        a->bad = 1;
    return NULL;
}

struct result {
    double gets_per_s, thread_ns, cpu_ns;
};

/* One round: `threads` threads, n gets each.  Returns 0, or 1 on a check failure. */
static int run_round(const struct variant *var, int threads, uint64_t n, struct result *r)
{
    pthread_t tid[threads];
    struct thread_arg ta[threads];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        ta[i] = (struct thread_arg){ .var = var, .bar = &bar, .n = n };
        if (pthread_create(&tid[i], NULL, worker, &ta[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
    }
    pthread_barrier_wait(&bar);
    double wsum = 0, csum = 0;
    uint64_t first = UINT64_MAX, last = 0;
    int bad = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        wsum += (double)(ta[i].end_ns - ta[i].start_ns);
        csum += (double)ta[i].cpu_ns;
        bad |= ta[i].bad;
        if (ta[i].start_ns < first)
            first = ta[i].start_ns;
        if (ta[i].end_ns > last)
            last = ta[i].end_ns;
    }
    double wall = (double)(last - first);
    pthread_barrier_destroy(&bar);
    r->gets_per_s = (double)threads * (double)n / (wall / 1e9);
    r->thread_ns = wsum / threads / (double)n;
    r->cpu_ns = csum / threads / (double)n;
    return bad != 0;
}

static int cmp_res(const void *a, const void *b)
{
    double x = ((const struct result *)a)->gets_per_s, y = ((const struct result *)b)->gets_per_s;
    return (x > y) - (x < y);
}

static void print_cpu(void)
{
    char model[256];
    mt_cpu_model(model, sizeof model);
    printf("cpu      : %s (%ld online)\n", model, sysconf(_SC_NPROCESSORS_ONLN));
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000000u;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: scaling [M [ROUNDS (1..%d)]]\n", MAX_ROUNDS);
        return 2;
    }
    FILE *csv = NULL;
    const char *csv_path = getenv("BENCH_CSV");
    if (csv_path && *csv_path && !(csv = fopen(csv_path, "a"))) {
        perror(csv_path);
        return 2;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    if (ncpu > 256)
        ncpu = 256;
    int counts[258], ncounts = 0;
    for (int t = 1; t <= ncpu; t++)
        counts[ncounts++] = t;
    counts[ncounts++] = (int)(2 * ncpu);

    printf("== scaling: READY getter throughput vs threads (benchmark, not a test) ==\n");
    printf("compiler : %s\n", BENCH_COMPILER);
    printf("flags    : %s\n", BENCH_FLAGS);
    print_cpu();
    printf("method   : each thread does %llu gets into a _Thread_local volatile sink,\n"
           "           threads start on a barrier; thread counts 1..%ld and %ld\n"
           "           (oversubscribed); median of %d rounds (by gets/s), round-robin.\n\n",
           (unsigned long long)n, ncpu, 2 * ncpu, rounds);

    /* Build the values before timing: the getters are READY. */
    struct obj *v = NULL;
    int failed = 0;
    if (get_obj(&v) != 0 || v != &the_obj) {
        printf("FAILED CHECK: first get_obj\n");
        failed = 1;
    }
    pthread_once(&once, once_init);

    struct result res[NVARIANTS][258][MAX_ROUNDS];
    for (int ci = 0; ci < ncounts; ci++)
        for (int r = 0; r < rounds; r++)
            for (size_t vi = 0; vi < NVARIANTS; vi++)
                if (run_round(&variants[vi], counts[ci], n, &res[vi][ci][r])) {
                    printf("FAILED CHECK: %s, %d threads: a get failed or returned a wrong value\n",
                           variants[vi].name, counts[ci]);
                    failed = 1;
                }

    printf("%-13s %7s %14s %14s %12s\n", "variant", "threads", "total gets/s",
           "ns/get/thread", "cpu ns/get");
    printf("%-13s %7s %14s %14s %12s\n", "-------------", "-------", "--------------",
           "--------------", "------------");
    for (size_t vi = 0; vi < NVARIANTS; vi++) {
        for (int ci = 0; ci < ncounts; ci++) {
            qsort(res[vi][ci], (size_t)rounds, sizeof(struct result), cmp_res);
            struct result *m = &res[vi][ci][rounds / 2];
            printf("%-13s %7d %14.4g %14.3f %12.3f%s\n", variants[vi].name, counts[ci],
                   m->gets_per_s, m->thread_ns, m->cpu_ns,
                   counts[ci] > ncpu ? "  (oversubscribed)" : "");
            if (csv) {
                fprintf(csv, "scaling,%s,%d,,gets_per_s,%.6g\n", variants[vi].name, counts[ci], m->gets_per_s);
                fprintf(csv, "scaling,%s,%d,,ns_per_get_thread,%.6g\n", variants[vi].name, counts[ci], m->thread_ns);
                fprintf(csv, "scaling,%s,%d,,cpu_ns_per_get,%.6g\n", variants[vi].name, counts[ci], m->cpu_ns);
            }
        }
    }

    memo_stats_t st = memo_stats(&get_obj_memo);
    int mc = atomic_load(&memo_constructions), oc = atomic_load(&once_constructions);
    printf("\nconstructions: memo %d (stats: attempts %u, successes %u), pthread_once %d"
           " -- each must be 1\n", mc, st.attempts, st.successes, oc);
    if (mc != 1 || st.attempts != 1 || st.successes != 1 || oc != 1) {
        printf("FAILED CHECK: constructions != 1\n");
        failed = 1;
    }
    printf("correctness checks: %s\n", failed ? "FAILED" : "ok");
    if (csv)
        fclose(csv);
    return failed;
}
