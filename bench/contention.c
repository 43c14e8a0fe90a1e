/* bench/contention.c -- a thundering herd on an EMPTY value, swept over
 * thread counts and constructor durations.
 *
 * BENCHMARK, NOT A TEST: nothing here passes or fails on time.  The program
 * exits non-zero only if a correctness check fails: a round that did not run
 * the constructor exactly once, or a get that returned an error or a wrong
 * value.
 *
 * For each constructor duration CTOR_MS (default 0, 1 and 50 ms; it sleeps
 * in nanosleep, a stand-in for a slow connect; 0 ms does not sleep at all)
 * and each thread count THREADS (default 2, 4, ..., 256), THREADS threads are
 * created, released together by a pthread barrier and all ask for the same
 * not-yet-built value.  Per round we record how many constructions ran (must
 * be 1), the wall time from the first thread's get to the last thread's
 * return, and the CPU time the waiters burned inside their get
 * (CLOCK_THREAD_CPUTIME_ID read in each thread right before and after its
 * get, summed over all threads except the one that ran the constructor),
 * plus their context switches (getrusage(RUSAGE_THREAD) around the get).
 *
 * Ways of waiting, each repeated ROUNDS times (default 5) round-robin per
 * (ctor, threads) point; the tables show the median round of each metric
 * (taken separately), constructions are summed over the rounds:
 *   memo          memo_get on a memo_t cell (futex sleep)
 *   memo nofutex  the same cell built with MEMO_NO_FUTEX (mutex/condvar park)
 *   pthread_once  pthread_once with the same init, then a global pointer
 *                 (a once control cannot be reset: one fresh control per round)
 *   spin+yield    naive: atomic state, CAS 0->1 constructs, waiters loop on
 *                 an acquire load calling sched_yield() between checks
 *   spin+pause    naive: same, waiters loop on the load with a cpu pause
 *                 hint (x86 `pause`), never giving up the CPU
 *
 * Bounding spin+pause: with far more pure spinners than CPUs, the thread that
 * must finish the constructor (or the last waiters, once it has) competes for
 * a CPU with every spinner, each of which burns its whole time slice.  Each
 * spin+pause round is therefore watched: past SPIN_CAP_MS (default 5000 ms;
 * 0 = no cap) of wall time the round is abandoned (a flag makes the spinners
 * give up, the constructor still completes), its numbers are not used and the
 * point is reported as "capped"; later rounds of that point are skipped.  A
 * capped point is a result (spinning does not scale), not a failure.
 *
 * Usage: contention [THREADS_LIST [CTOR_MS_LIST [ROUNDS [SPIN_CAP_MS]]]]
 *   lists are comma-separated, e.g. contention 64 150 3 (one point) or
 *   contention 2,4,8,16,32,64,128,256 0,1,50 5 5000 (the default)
 * If the environment variable BENCH_CSV names a file, rows
 * bench,variant,threads,param,metric,value are appended to it
 * (param = the constructor's duration in ms).
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include "memo.h"

#include <errno.h>
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

#include "bench_common.h"

#define MAX_ROUNDS 16
#define MAX_LIST 32
#define MAX_THREADS 4096

/* From contention_nofutex.c. */
void nofutex_reset(void);
int nofutex_get(void **out);
memo_stats_t nofutex_stats(void);

void *bench_slow_construct(void);

static long ctor_ms;
static atomic_int constructions;
static _Thread_local int i_constructed;
static int the_value = 7;

/* The slow constructor shared by every variant (0 ms: no sleep at all). */
void *bench_slow_construct(void)
{
    atomic_fetch_add(&constructions, 1);
    i_constructed = 1;
    if (ctor_ms > 0) {
        struct timespec ts = { ctor_ms / 1000, (ctor_ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
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

/* --- pthread_once: one control per round (a once control cannot be reset),
 * all statically initialized with PTHREAD_ONCE_INIT. */
#define ONCE1 PTHREAD_ONCE_INIT
#define ONCE4 ONCE1, ONCE1, ONCE1, ONCE1
#define ONCE16 ONCE4, ONCE4, ONCE4, ONCE4
#define ONCE64 ONCE16, ONCE16, ONCE16, ONCE16
#define ONCE256 ONCE64, ONCE64, ONCE64, ONCE64
#define ONCE1024 ONCE256, ONCE256, ONCE256, ONCE256
#define MAX_ONCES 4096
static pthread_once_t onces[MAX_ONCES] = { ONCE1024, ONCE1024, ONCE1024, ONCE1024 };
static int once_next; /* the next unused control */
static int once_idx;  /* the control of the current round */
static void *once_value;
static void once_init(void) { once_value = bench_slow_construct(); }

/* --- naive spinning ----------------------------------------------------- */
static atomic_int spin_state; /* 0 empty, 1 building, 2 ready */
static void *spin_value;
static atomic_int spin_abandon; /* set by the watchdog of a capped round */

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
        if (yield) {
            sched_yield();
        } else {
            cpu_relax();
            if (atomic_load_explicit(&spin_abandon, memory_order_relaxed))
                return NULL; /* capped round: its results are discarded */
        }
    }
    return spin_value;
}

/* ------------------------------------------------------------------------- */

enum { V_MEMO, V_MEMO_NOFUTEX, V_ONCE, V_SPIN_YIELD, V_SPIN_PAUSE, NVAR };
static const char *const vnames[NVAR] = {
    "memo (futex)", "memo NO_FUTEX", "pthread_once", "spin+yield", "spin+pause",
};
/* CSV names (no spaces). */
static const char *const vcsv[NVAR] = {
    "memo", "memo_nofutex", "pthread_once", "spin_yield", "spin_pause",
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
    i_constructed = 0;
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
        err = pthread_once(&onces[once_idx], once_init);
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
    int constructions, bad, capped;
    double wall_ms, waiters_cpu_ms, p50_waiter_cpu_us, max_waiter_cpu_us, ctor_cpu_us;
    double nvcsw, nivcsw;
    double memo_waits; /* memo_stats().waits of the round's cell; -1 if not memo */
} round_res_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Watchdog of a spin+pause round: sets spin_abandon past the cap. */
static long spin_cap_ms = 5000;
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cv;
static int wd_done;

static void *watchdog(void *p)
{
    (void)p;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += spin_cap_ms / 1000;
    dl.tv_nsec += (spin_cap_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&wd_mu);
    while (!wd_done)
        if (pthread_cond_timedwait(&wd_cv, &wd_mu, &dl) == ETIMEDOUT) {
            if (!wd_done)
                atomic_store(&spin_abandon, 1);
            break;
        }
    pthread_mutex_unlock(&wd_mu);
    return NULL;
}

static round_res_t run_round(int variant, int nthreads, tres_t *res, pthread_t *tids,
                             uint64_t *cpus)
{
    round_res_t out;
    memset(&out, 0, sizeof out);
    /* Fresh, EMPTY state for this round (no thread is using any of it). */
    cell = (memo_t)MEMO_INIT(memo_ctor, NULL, NULL);
    nofutex_reset();
    if (variant == V_ONCE)
        once_idx = once_next++;
    once_value = NULL;
    atomic_store(&spin_state, 0);
    atomic_store(&spin_abandon, 0);
    spin_value = NULL;
    atomic_store(&constructions, 0);
    cur_variant = variant;
    memset(res, 0, sizeof(tres_t) * (size_t)nthreads);

    pthread_t wd;
    int use_wd = variant == V_SPIN_PAUSE && spin_cap_ms > 0;
    if (use_wd) {
        wd_done = 0;
        if (pthread_create(&wd, NULL, watchdog, NULL) != 0) {
            fprintf(stderr, "contention: pthread_create (watchdog) failed\n");
            exit(1);
        }
    }
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
    if (use_wd) {
        pthread_mutex_lock(&wd_mu);
        wd_done = 1;
        pthread_cond_signal(&wd_cv);
        pthread_mutex_unlock(&wd_mu);
        pthread_join(wd, NULL);
        out.capped = atomic_load(&spin_abandon);
    }

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
        out.nvcsw += (double)r->nvcsw;
        out.nivcsw += (double)r->nivcsw;
    }
    out.constructions = atomic_load(&constructions);
    out.wall_ms = (double)(last - first) / 1e6;
    out.waiters_cpu_ms = (double)waiters_cpu / 1e6;
    if (nw > 0) {
        qsort(cpus, (size_t)nw, sizeof *cpus, cmp_u64);
        out.p50_waiter_cpu_us = (double)cpus[nw / 2] / 1e3;
        out.max_waiter_cpu_us = (double)cpus[nw - 1] / 1e3;
    }
    out.memo_waits = variant == V_MEMO ? (double)memo_stats(&cell).waits
                   : variant == V_MEMO_NOFUTEX ? (double)nofutex_stats().waits : -1;
    return out;
}

static double median(const double *in, int n)
{
    double v[MAX_ROUNDS];
    memcpy(v, in, sizeof(double) * (size_t)n);
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    return v[n / 2];
}

static long parse_num(const char *s, size_t len, const char *what, long min, long max)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        goto bad;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        goto bad;
    return v;
bad:
    fprintf(stderr, "contention: bad %s '%.*s' (%ld..%ld)\n", what, (int)len, s, min, max);
    exit(2);
}

/* "2,4,8" -> out[]; returns the count. */
static int parse_list(const char *s, const char *what, long min, long max, long *out)
{
    int n = 0;
    for (;;) {
        size_t len = strcspn(s, ",");
        if (n == MAX_LIST) {
            fprintf(stderr, "contention: at most %d values in %s\n", MAX_LIST, what);
            exit(2);
        }
        out[n++] = parse_num(s, len, what, min, max);
        if (s[len] == '\0')
            return n;
        s += len + 1;
    }
}

/* Compact number for the tables: 3-4 significant digits, no exponent. */
static const char *fmt(char *buf, size_t len, double v)
{
    if (v < 10)
        snprintf(buf, len, "%.2f", v);
    else if (v < 100)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.0f", v);
    return buf;
}

static FILE *csv;
static void csv_row(int v, int threads, long cms, const char *metric, double value)
{
    if (csv)
        fprintf(csv, "contention,%s,%d,%ld,%s,%.6g\n", vcsv[v], threads, cms, metric, value);
}

int main(int argc, char **argv)
{
    long tl[MAX_LIST], cl[MAX_LIST];
    int nt, nc;
    static const long def_threads[] = { 2, 4, 8, 16, 32, 64, 128, 256 };
    static const long def_ctor[] = { 0, 1, 50 };
    if (argc >= 2) {
        nt = parse_list(argv[1], "THREADS", 2, MAX_THREADS, tl);
    } else {
        nt = (int)(sizeof def_threads / sizeof *def_threads);
        memcpy(tl, def_threads, sizeof def_threads);
    }
    if (argc >= 3) {
        nc = parse_list(argv[2], "CTOR_MS", 0, 60000, cl);
    } else {
        nc = (int)(sizeof def_ctor / sizeof *def_ctor);
        memcpy(cl, def_ctor, sizeof def_ctor);
    }
    int rounds = argc >= 4 ? (int)parse_num(argv[3], strlen(argv[3]), "ROUNDS", 1, MAX_ROUNDS) : 5;
    if (argc >= 5)
        spin_cap_ms = parse_num(argv[4], strlen(argv[4]), "SPIN_CAP_MS", 0, 3600000);
    if (argc > 5) {
        fprintf(stderr, "usage: contention [THREADS_LIST [CTOR_MS_LIST [ROUNDS [SPIN_CAP_MS]]]]\n");
        return 2;
    }
    if ((long)nt * nc * rounds > MAX_ONCES) {
        fprintf(stderr, "contention: too many points x rounds (%d once controls)\n", MAX_ONCES);
        return 2;
    }
    int maxt = 0;
    for (int i = 0; i < nt; i++)
        if (tl[i] > maxt)
            maxt = (int)tl[i];
    const char *csv_path = getenv("BENCH_CSV");
    if (csv_path && *csv_path && !(csv = fopen(csv_path, "a"))) {
        perror(csv_path);
        return 2;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd_cv, &ca);

    char model[256];
    mt_cpu_model(model, sizeof model);
    printf("== contention: threads arrive together (barrier) on an EMPTY value "
           "(benchmark, not a test) ==\n");
    printf("compiler : %s\n", BENCH_COMPILER);
    printf("flags    : %s\n", BENCH_FLAGS);
    printf("cpu      : %s (%ld online)\n", model, sysconf(_SC_NPROCESSORS_ONLN));
    printf("threads  :");
    for (int i = 0; i < nt; i++)
        printf(" %ld", tl[i]);
    printf("\nctor     :");
    for (int i = 0; i < nc; i++)
        printf(" %ld", cl[i]);
    printf(" ms (nanosleep; 0 = no sleep)\n");
    printf("method   : per (ctor, threads) point, %d rounds of each way, round-robin; each\n"
           "           round creates the threads, releases them on a barrier, and each\n"
           "           does ONE get on a fresh EMPTY cell.  Median round per metric:\n"
           "           wall = first get .. last return (ms); cpu = waiters' CPU in the get,\n"
           "           CLOCK_THREAD_CPUTIME_ID summed over the threads that did not\n"
           "           construct (ms); csw = their context switches, voluntary +\n"
           "           involuntary (getrusage RUSAGE_THREAD around the get).\n"
           "           With a 0 ms ctor the wall time is mostly the barrier's wake-up\n"
           "           stagger: most threads arrive after the value is built.\n"
           "           spin+pause rounds are capped at %ld ms of wall time (0 = no cap).\n",
           rounds, spin_cap_ms);

    tres_t *res = calloc((size_t)maxt, sizeof *res);
    pthread_t *tids = calloc((size_t)maxt, sizeof *tids);
    uint64_t *cpus = calloc((size_t)maxt, sizeof *cpus);
    if (!res || !tids || !cpus) {
        fprintf(stderr, "contention: out of memory\n");
        return 1;
    }

    int failed = 0;
    for (int ci = 0; ci < nc; ci++) {
        ctor_ms = cl[ci];
        printf("\n-- ctor %ld ms: wall ms / waiters' CPU ms / waiters' csw, median of %d rounds --\n",
               ctor_ms, rounds);
        printf("%7s", "threads");
        for (int v = 0; v < NVAR; v++)
            printf(" | %-23s", vnames[v]);
        printf(" | ctors\n%7s", "");
        for (int v = 0; v < NVAR; v++)
            printf(" | %7s %8s %6s", "wall", "cpu", "csw");
        printf(" |\n");
        fflush(stdout);
        for (int ti = 0; ti < nt; ti++) {
            int nthreads = (int)tl[ti];
            static round_res_t rr[NVAR][MAX_ROUNDS];
            int done[NVAR] = { 0 }, capped[NVAR] = { 0 };
            for (int r = 0; r < rounds; r++)
                for (int v = 0; v < NVAR; v++) {
                    if (capped[v])
                        continue;
                    rr[v][done[v]] = run_round(v, nthreads, res, tids, cpus);
                    if (rr[v][done[v]].capped) {
                        capped[v] = 1;
                        /* An abandoned round still had to construct once. */
                        if (rr[v][done[v]].constructions != 1) {
                            failed = 1;
                            printf("FAILED: %s, %d threads, ctor %ld ms: %d constructions in a "
                                   "capped round\n", vnames[v], nthreads, ctor_ms,
                                   rr[v][done[v]].constructions);
                        }
                        continue;
                    }
                    done[v]++;
                }
            printf("%7d", nthreads);
            int ctors_all = 0, expect_all = 0;
            char bad_ways[128] = "";
            for (int v = 0; v < NVAR; v++) {
                double wall[MAX_ROUNDS], cpu[MAX_ROUNDS], vol[MAX_ROUNDS], inv[MAX_ROUNDS],
                    csw[MAX_ROUNDS], p50[MAX_ROUNDS], maxc[MAX_ROUNDS], ctorc[MAX_ROUNDS],
                    waits[MAX_ROUNDS];
                int ctors = 0, bad = 0, n = done[v];
                for (int r = 0; r < n; r++) {
                    round_res_t *x = &rr[v][r];
                    wall[r] = x->wall_ms;
                    cpu[r] = x->waiters_cpu_ms;
                    vol[r] = x->nvcsw;
                    inv[r] = x->nivcsw;
                    csw[r] = x->nvcsw + x->nivcsw;
                    p50[r] = x->p50_waiter_cpu_us;
                    maxc[r] = x->max_waiter_cpu_us;
                    ctorc[r] = x->ctor_cpu_us;
                    waits[r] = x->memo_waits;
                    ctors += x->constructions;
                    bad += x->bad;
                }
                ctors_all += ctors;
                expect_all += n;
                if (ctors != n || bad) {
                    failed = 1;
                    strncat(bad_ways, " ", sizeof bad_ways - strlen(bad_ways) - 1);
                    strncat(bad_ways, vcsv[v], sizeof bad_ways - strlen(bad_ways) - 1);
                }
                if (capped[v] || n == 0) {
                    char note[32];
                    snprintf(note, sizeof note, "capped at %ld ms", spin_cap_ms);
                    printf(" | %-23s", note);
                    csv_row(v, nthreads, ctor_ms, "skipped", 1);
                    csv_row(v, nthreads, ctor_ms, "cap_ms", (double)spin_cap_ms);
                    continue;
                }
                char b1[32], b2[32];
                printf(" | %7s %8s %6.0f", fmt(b1, sizeof b1, median(wall, n)),
                       fmt(b2, sizeof b2, median(cpu, n)), median(csw, n));
                csv_row(v, nthreads, ctor_ms, "rounds", n);
                csv_row(v, nthreads, ctor_ms, "constructions", ctors);
                csv_row(v, nthreads, ctor_ms, "wall_ms", median(wall, n));
                csv_row(v, nthreads, ctor_ms, "waiters_cpu_ms", median(cpu, n));
                csv_row(v, nthreads, ctor_ms, "csw", median(csw, n));
                csv_row(v, nthreads, ctor_ms, "csw_vol", median(vol, n));
                csv_row(v, nthreads, ctor_ms, "csw_inv", median(inv, n));
                csv_row(v, nthreads, ctor_ms, "waiter_cpu_us_p50", median(p50, n));
                csv_row(v, nthreads, ctor_ms, "waiter_cpu_us_max", median(maxc, n));
                csv_row(v, nthreads, ctor_ms, "ctor_thread_cpu_us", median(ctorc, n));
                if (v == V_MEMO || v == V_MEMO_NOFUTEX)
                    csv_row(v, nthreads, ctor_ms, "memo_waits", median(waits, n));
            }
            printf(" | %d/%d%s%s\n", ctors_all, expect_all, bad_ways[0] ? "  FAILED:" : "",
                   bad_ways);
            fflush(stdout);
            if (csv)
                fflush(csv);
        }
    }
    printf("\nctors = constructions summed over all ways and rounds / rounds run (must be\n"
           "equal: one construction per round); FAILED names a way that constructed other\n"
           "than once per round or returned a wrong value.  A capped spin+pause point\n"
           "ran past the cap: its rounds were abandoned and are not shown.\n");
    printf("correctness checks: %s\n", failed ? "FAILED" : "ok");
    free(res);
    free(tids);
    free(cpus);
    if (csv)
        fclose(csv);
    return failed;
}
