/* bench/contention.c -- a thundering herd on an EMPTY value.
 *
 * THREADS threads (default 64) are released together by a pthread barrier and
 * all ask for the same not-yet-built value, whose constructor takes CTOR_MS
 * (default 150 ms: it sleeps in nanosleep, a stand-in for a slow connect).
 * For each way of waiting we report how many constructions ran (must be 1),
 * the wall time from the first thread's get to the last thread's return, and
 * the CPU time the waiters burned inside their get (CLOCK_THREAD_CPUTIME_ID
 * read in each thread right before and after its get, summed over all
 * threads except the one that ran the constructor), plus their context
 * switches (getrusage(RUSAGE_THREAD) around the get).
 *
 * Ways of waiting, in one run, each repeated ROUNDS times round-robin (the
 * table shows the median round; constructions are summed over all rounds):
 *   memo          memo_get on a memo_t cell (futex sleep)
 *   memo nofutex  the same cell built with MEMO_NO_FUTEX (mutex/condvar park)
 *   pthread_once  pthread_once with the same init, then a global pointer
 *   spin+yield    naive: atomic state, CAS 0->1 constructs, waiters loop on
 *                 an acquire load calling sched_yield() between checks
 *   spin+pause    naive: same, waiters loop on the load with a cpu pause
 *                 hint (x86 `pause`), never giving up the CPU
 *
 * Usage: contention [THREADS [CTOR_MS [ROUNDS]]]
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include "memo.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 16

/* From contention_nofutex.c. */
void nofutex_reset(void);
int nofutex_get(void **out);
memo_stats_t nofutex_stats(void);

void *bench_slow_construct(void);

static long ctor_ms = 150;
static atomic_int constructions;
static _Thread_local int i_constructed;
static int the_value = 7;

/* The slow constructor shared by every variant. */
void *bench_slow_construct(void)
{
    atomic_fetch_add(&constructions, 1);
    i_constructed = 1;
    struct timespec ts = { ctor_ms / 1000, (ctor_ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
    return &the_value;
}

/* --- memo (futex) --------------------------------------------------------- */
static int memo_ctor(void *arg, void **out)
{
    (void)arg;
    *out = bench_slow_construct();
    return 0;
}
static memo_t cell = MEMO_INIT(memo_ctor, NULL, NULL);

/* --- pthread_once: one control per round (a once control cannot be reset) */
#define ONCE1 PTHREAD_ONCE_INIT
#define ONCE4 ONCE1, ONCE1, ONCE1, ONCE1
static pthread_once_t onces[MAX_ROUNDS] = { ONCE4, ONCE4, ONCE4, ONCE4 };
static int once_round;
static void *once_value;
static void once_init(void) { once_value = bench_slow_construct(); }

/* --- naive spinning ----------------------------------------------------- */
static atomic_int spin_state; /* 0 empty, 1 building, 2 ready */
static void *spin_value;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

static void *spin_get(int yield)
{
    int expect = 0;
    if (atomic_load_explicit(&spin_state, memory_order_acquire) != 2 &&
        atomic_compare_exchange_strong(&spin_state, &expect, 1)) {
        spin_value = bench_slow_construct();
        atomic_store_explicit(&spin_state, 2, memory_order_release);
        return spin_value;
    }
    while (atomic_load_explicit(&spin_state, memory_order_acquire) != 2) {
        if (yield)
            sched_yield();
        else
            cpu_relax();
    }
    return spin_value;
}

/* ------------------------------------------------------------------------- */

enum { V_MEMO, V_MEMO_NOFUTEX, V_ONCE, V_SPIN_YIELD, V_SPIN_PAUSE, NVAR };
static const char *const vnames[NVAR] = {
    "memo_get (futex)",
    "memo_get (MEMO_NO_FUTEX)",
    "pthread_once",
    "naive spin + sched_yield",
    "naive spin + pause",
};

typedef struct tres {
    uint64_t start_ns, end_ns, cpu_ns;
    long nvcsw, nivcsw;
    int constructed, ok;
} tres_t;

static pthread_barrier_t barrier;
static int cur_variant;

static uint64_t ts_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *thread_main(void *p)
{
    tres_t *r = p;
    void *v = NULL;
    struct rusage ru0, ru1;
    pthread_barrier_wait(&barrier);

    getrusage(RUSAGE_THREAD, &ru0);
    uint64_t c0 = ts_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t t0 = ts_ns(CLOCK_MONOTONIC);
    int err = 0;
    switch (cur_variant) {
    case V_MEMO:
        err = memo_get(&cell, &v);
        break;
    case V_MEMO_NOFUTEX:
        err = nofutex_get(&v);
        break;
    case V_ONCE:
        err = pthread_once(&onces[once_round], once_init);
        v = once_value;
        break;
    case V_SPIN_YIELD:
        v = spin_get(1);
        break;
    case V_SPIN_PAUSE:
        v = spin_get(0);
        break;
    }
    uint64_t t1 = ts_ns(CLOCK_MONOTONIC);
    uint64_t c1 = ts_ns(CLOCK_THREAD_CPUTIME_ID);
    getrusage(RUSAGE_THREAD, &ru1);

    r->start_ns = t0;
    r->end_ns = t1;
    r->cpu_ns = c1 - c0;
    r->nvcsw = ru1.ru_nvcsw - ru0.ru_nvcsw;
    r->nivcsw = ru1.ru_nivcsw - ru0.ru_nivcsw;
    r->constructed = i_constructed;
    r->ok = err == 0 && v == &the_value;
    return NULL;
}

typedef struct round_res {
    int constructions, bad;
    double wall_ms, waiters_cpu_ms, p50_waiter_cpu_us, max_waiter_cpu_us, ctor_cpu_us;
    long nvcsw, nivcsw;
    long memo_waits; /* memo_stats().waits of the round's cell; -1 if not memo */
} round_res_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static round_res_t run_round(int variant, int round, int nthreads, tres_t *res, pthread_t *tids,
                             uint64_t *cpus)
{
    round_res_t out;
    memset(&out, 0, sizeof out);
    /* Fresh, EMPTY state for this round (no thread is using any of it). */
    cell = (memo_t)MEMO_INIT(memo_ctor, NULL, NULL);
    nofutex_reset();
    once_round = round;
    once_value = NULL;
    atomic_store(&spin_state, 0);
    spin_value = NULL;
    atomic_store(&constructions, 0);
    cur_variant = variant;
    memset(res, 0, sizeof(tres_t) * (size_t)nthreads);

    pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
    for (int i = 0; i < nthreads; i++) {
        int e = pthread_create(&tids[i], NULL, thread_main, &res[i]);
        if (e) {
            fprintf(stderr, "contention: pthread_create: %s\n", strerror(e));
            exit(1);
        }
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    pthread_barrier_destroy(&barrier);

    uint64_t first = UINT64_MAX, last = 0, waiters_cpu = 0;
    int nw = 0;
    for (int i = 0; i < nthreads; i++) {
        tres_t *r = &res[i];
        if (r->start_ns < first)
            first = r->start_ns;
        if (r->end_ns > last)
            last = r->end_ns;
        if (!r->ok)
            out.bad++;
        if (r->constructed) {
            out.ctor_cpu_us += (double)r->cpu_ns / 1e3;
            continue;
        }
        waiters_cpu += r->cpu_ns;
        cpus[nw++] = r->cpu_ns;
        out.nvcsw += r->nvcsw;
        out.nivcsw += r->nivcsw;
    }
    out.constructions = atomic_load(&constructions);
    out.wall_ms = (double)(last - first) / 1e6;
    out.waiters_cpu_ms = (double)waiters_cpu / 1e6;
    if (nw > 0) {
        qsort(cpus, (size_t)nw, sizeof *cpus, cmp_u64);
        out.p50_waiter_cpu_us = (double)cpus[nw / 2] / 1e3;
        out.max_waiter_cpu_us = (double)cpus[nw - 1] / 1e3;
    }
    out.memo_waits = variant == V_MEMO ? (long)memo_stats(&cell).waits
                   : variant == V_MEMO_NOFUTEX ? (long)nofutex_stats().waits : -1;
    return out;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

static long parse_pos(const char *s, const char *what, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0 || v > max) {
        fprintf(stderr, "contention: bad %s '%s' (1..%ld)\n", what, s, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int nthreads = argc >= 2 ? (int)parse_pos(argv[1], "THREADS", 4096) : 64;
    ctor_ms = argc >= 3 ? parse_pos(argv[2], "CTOR_MS", 60000) : 150;
    int rounds = argc >= 4 ? (int)parse_pos(argv[3], "ROUNDS", MAX_ROUNDS) : 3;
    if (nthreads < 2) {
        fprintf(stderr, "contention: need at least 2 threads\n");
        return 2;
    }

    printf("== contention: %d threads arrive together (barrier) on an EMPTY value ==\n", nthreads);
    printf("constructor: nanosleep %ld ms; %d rounds per variant, interleaved round-robin;\n"
           "%ld CPUs online. Columns: constructions summed over rounds (1 per round\n"
           "expected); the rest is the median round: wall = first get .. last return;\n"
           "waiters' CPU = CLOCK_THREAD_CPUTIME_ID around the get, summed over the %d\n"
           "threads that did not construct; one waiter's CPU = p50 and max over those\n"
           "threads; ctor thr = CPU of the constructing thread's get (its ctor\n"
           "sleeps; this is mostly waking the others); csw = voluntary/involuntary\n"
           "context switches of the waiters (getrusage RUSAGE_THREAD around the get).\n",
           ctor_ms, rounds, sysconf(_SC_NPROCESSORS_ONLN), nthreads - 1);

    tres_t *res = calloc((size_t)nthreads, sizeof *res);
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    uint64_t *cpus = calloc((size_t)nthreads, sizeof *cpus);
    if (!res || !tids || !cpus) {
        fprintf(stderr, "contention: out of memory\n");
        return 1;
    }

    static round_res_t rr[NVAR][MAX_ROUNDS];
    double memo_waits_med[NVAR] = { 0 };
    for (int r = 0; r < rounds; r++)
        for (int v = 0; v < NVAR; v++)
            rr[v][r] = run_round(v, r, nthreads, res, tids, cpus);

    printf("\n%-26s %5s %8s %9s %15s %9s %11s\n", "variant", "ctors", "wall", "waiters'",
           "one waiter's", "ctor thr", "waiters'");
    printf("%-26s %5s %8s %9s %15s %9s %11s\n", "", "", "ms", "CPU ms", "CPU us p50/max",
           "CPU us", "csw vol/inv");
    printf("%-26s %5s %8s %9s %15s %9s %11s\n", "--------------------------", "-----", "--------",
           "---------", "---------------", "---------", "-----------");
    int failed = 0;
    for (int v = 0; v < NVAR; v++) {
        double wall[MAX_ROUNDS], cpu[MAX_ROUNDS], p50[MAX_ROUNDS], maxc[MAX_ROUNDS],
            ctorc[MAX_ROUNDS], vol[MAX_ROUNDS], inv[MAX_ROUNDS], waits[MAX_ROUNDS];
        int ctors = 0, bad = 0;
        for (int r = 0; r < rounds; r++) {
            wall[r] = rr[v][r].wall_ms;
            cpu[r] = rr[v][r].waiters_cpu_ms;
            p50[r] = rr[v][r].p50_waiter_cpu_us;
            maxc[r] = rr[v][r].max_waiter_cpu_us;
            ctorc[r] = rr[v][r].ctor_cpu_us;
            vol[r] = (double)rr[v][r].nvcsw;
            inv[r] = (double)rr[v][r].nivcsw;
            waits[r] = (double)rr[v][r].memo_waits;
            ctors += rr[v][r].constructions;
            bad += rr[v][r].bad;
            if (rr[v][r].constructions != 1)
                failed = 1;
        }
        char ctorbuf[32], pm[48], csw[48];
        snprintf(ctorbuf, sizeof ctorbuf, "%d/%d", ctors, rounds);
        snprintf(pm, sizeof pm, "%.0f/%.0f", median(p50, rounds), median(maxc, rounds));
        snprintf(csw, sizeof csw, "%.0f/%.0f", median(vol, rounds), median(inv, rounds));
        printf("%-26s %5s %8.1f %9.3f %15s %9.0f %11s%s\n", vnames[v], ctorbuf,
               median(wall, rounds), median(cpu, rounds), pm, median(ctorc, rounds), csw,
               bad ? "  WRONG VALUE RETURNED" : "");
        if (bad)
            failed = 1;
        if (v == V_MEMO || v == V_MEMO_NOFUTEX)
            memo_waits_med[v] = median(waits, rounds);
    }
    printf("\nmemo_stats().waits (callers that slept on the running attempt, median round):"
           " futex %.0f, MEMO_NO_FUTEX %.0f of %d\n",
           memo_waits_med[V_MEMO], memo_waits_med[V_MEMO_NOFUTEX], nthreads - 1);
    if (failed)
        printf("FAILED: a round did not construct exactly once or returned a wrong value\n");
    free(res);
    free(tids);
    free(cpus);
    return failed;
}
