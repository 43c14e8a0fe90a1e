/* bench/storm.c -- a failure storm: what a dead server sees.
 *
 * BENCHMARK, NOT A TEST: nothing here passes or fails on time.  The program
 * exits non-zero only if a correctness check fails (a get that did not return
 * the constructor's error, or counters that disagree).
 *
 * The constructor always fails with ECONNREFUSED after a short nanosleep
 * (CTOR_US, default 50 us requested; the kernel's timer slack usually makes
 * it longer, the measured mean is printed) -- a stand-in for a refused
 * connect.  THREADS threads (default 64) are released together by a pthread
 * barrier and call memo_get on the same cell in a loop for MS milliseconds
 * (default 1000).  Each backoff setting gets its own fresh cell, one after
 * the other in the same run:
 *
 *   no backoff    retry_min_ms = 0: every call after a failure starts a new
 *                 attempt (concurrent callers still share a running one)
 *   10..200 ms    .retry_min_ms = 10, .retry_max_ms = 200 (doubling)
 *   50..1000 ms   .retry_min_ms = 50, .retry_max_ms = 1000 (doubling)
 *
 * Reported per setting: attempts (memo_stats().attempts and the
 * constructor's own counter -- they must agree), attempts per second (what
 * the "server" receives), calls served (gets that returned, all with
 * ECONNREFUSED) and calls per second, gets that slept on a running attempt
 * (memo_stats().waits), and "model": the attempts a perfect backoff would
 * allow in the measured time (1 + the number of whole windows that fit).
 *
 * Usage: storm [THREADS [MS [CTOR_US]]]
 * If the environment variable BENCH_CSV names a file, rows
 * bench,variant,threads,param,metric,value are appended to it (variant =
 * memo, param = the backoff setting as named in the table).
 */
#define _GNU_SOURCE
#include "memo.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

static long ctor_us = 50;
static atomic_uint_fast64_t ctor_calls;   /* the constructor's own counter */
static atomic_uint_fast64_t ctor_ns;      /* total time inside the constructor */
static atomic_int stop;

/* Start and end of each attempt (first MAX_TRACE), to check the windows. */
#define MAX_TRACE 4096
static uint64_t tr_start[MAX_TRACE], tr_end[MAX_TRACE];


/* The "server": refuses every connection after ~ctor_us. */
static int refused_connect(void *arg, void **out)
{
    (void)arg;
    (void)out;
    uint64_t t0 = mt_now_ns();
    uint64_t k = atomic_fetch_add_explicit(&ctor_calls, 1, memory_order_relaxed);
    struct timespec ts = { 0, ctor_us * 1000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
    uint64_t t1 = mt_now_ns();
    if (k < MAX_TRACE) {  /* at most one attempt runs at a time */
        tr_start[k] = t0;
        tr_end[k] = t1;
    }
    atomic_fetch_add_explicit(&ctor_ns, t1 - t0, memory_order_relaxed);
    return ECONNREFUSED;
}

struct variant {
    const char *name;
    uint32_t min_ms, max_ms;
};

static const struct variant variants[] = {
    { "no backoff", 0, 0 },
    { "10..200 ms", 10, 200 },
    { "50..1000 ms", 50, 1000 },
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

struct thread_arg {
    memo_t *cell;
    pthread_barrier_t *bar;
    uint64_t calls;
    uint64_t bad;     /* returns other than ECONNREFUSED */
};

static void *worker(void *p)
{
    struct thread_arg *a = p;
    uint64_t calls = 0, bad = 0;
    pthread_barrier_wait(a->bar);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        void *v;
        int err = memo_get(a->cell, &v);
        if (err != ECONNREFUSED)
            bad++;
        calls++;
    }
    a->calls = calls;
    a->bad = bad;
    return NULL;
}

/* Attempts a perfect backoff allows in `ms` ms: one at t=0, then one after
 * each whole window (window doubling from min to max). */
static uint64_t model_attempts(const struct variant *v, double ms)
{
    if (v->min_ms == 0)
        return 0; /* unbounded: no model */
    uint64_t n = 1;
    double t = 0, win = v->min_ms;
    double max = v->max_ms > v->min_ms ? v->max_ms : v->min_ms;
    for (;;) {
        t += win;
        if (t > ms)
            break;
        n++;
        win = win * 2 > max ? max : win * 2;
    }
    return n;
}

static void print_cpu(void)
{
    char model[256];
    mt_cpu_model(model, sizeof model);
    printf("cpu      : %s (%ld online)\n", model, sysconf(_SC_NPROCESSORS_ONLN));
}

static FILE *csv;
static void csv_row(const char *setting, int threads, const char *metric, double value)
{
    if (csv)
        fprintf(csv, "storm,memo,%d,%s,%s,%.6g\n", threads, setting, metric, value);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 64;
    long ms = argc > 2 ? atol(argv[2]) : 1000;
    if (argc > 3)
        ctor_us = atol(argv[3]);
    if (threads < 1 || ms < 1 || ctor_us < 0 || ctor_us > 999999) {
        fprintf(stderr, "usage: storm [THREADS [MS [CTOR_US]]]\n");
        return 2;
    }
    const char *csv_path = getenv("BENCH_CSV");
    if (csv_path && *csv_path && !(csv = fopen(csv_path, "a"))) {
        perror(csv_path);
        return 2;
    }

    printf("== storm: failure storm, %d threads x %ld ms per setting "
           "(benchmark, not a test) ==\n", threads, ms);
    printf("compiler : %s\n", BENCH_COMPILER);
    printf("flags    : %s\n", BENCH_FLAGS);
    print_cpu();
    printf("ctor     : always returns ECONNREFUSED after nanosleep(%ld us)\n", ctor_us);
    printf("method   : %d threads start on a barrier and loop memo_get on one cell\n"
           "           until a stop flag set %ld ms later; a fresh cell per setting.\n"
           "           attempts/s = constructor calls per second = load on the server.\n\n",
           threads, ms);

    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    struct thread_arg *ta = calloc((size_t)threads, sizeof *ta);
    if (!tid || !ta)
        return 2;
    int failed = 0;

    printf("%-12s %9s %9s %11s %11s %12s %10s %9s %8s %6s\n", "setting", "attempts",
           "ctor cnt", "attempts/s", "model", "calls", "calls/s", "waits", "ctor us", "secs");
    printf("%-12s %9s %9s %11s %11s %12s %10s %9s %8s %6s\n", "------------", "---------",
           "---------", "-----------", "-----------", "------------", "----------",
           "---------", "--------", "------");
    for (size_t vi = 0; vi < NVARIANTS; vi++) {
        const struct variant *var = &variants[vi];
        memo_t cell = MEMO_INIT(refused_connect, NULL, NULL,
                                .retry_min_ms = var->min_ms, .retry_max_ms = var->max_ms);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)threads + 1);
        atomic_store(&ctor_calls, 0);
        atomic_store(&ctor_ns, 0);
        atomic_store(&stop, 0);
        for (int i = 0; i < threads; i++) {
            ta[i] = (struct thread_arg){ .cell = &cell, .bar = &bar };
            if (pthread_create(&tid[i], NULL, worker, &ta[i]) != 0) {
                fprintf(stderr, "pthread_create failed\n");
                return 2;
            }
        }
        pthread_barrier_wait(&bar);
        uint64_t t0 = mt_now_ns();
        struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&d, &d) != 0)
            ;
        atomic_store(&stop, 1);
        uint64_t calls = 0, bad = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(tid[i], NULL);
            calls += ta[i].calls;
            bad += ta[i].bad;
        }
        double secs = (double)(mt_now_ns() - t0) / 1e9;
        pthread_barrier_destroy(&bar);

        memo_stats_t st = memo_stats(&cell);
        uint64_t cc = atomic_load(&ctor_calls);
        double cus = cc ? (double)atomic_load(&ctor_ns) / (double)cc / 1000.0 : 0;
        uint64_t model = model_attempts(var, secs * 1000.0);
        char model_s[32];
        if (model)
            snprintf(model_s, sizeof model_s, "%llu", (unsigned long long)model);
        else
            snprintf(model_s, sizeof model_s, "unbounded");
        printf("%-12s %9u %9llu %11.1f %11s %12llu %10.0f %9u %8.1f %6.3f\n", var->name,
               st.attempts, (unsigned long long)cc, (double)cc / secs, model_s,
               (unsigned long long)calls, (double)calls / secs, st.waits, cus, secs);

        csv_row(var->name, threads, "attempts", st.attempts);
        csv_row(var->name, threads, "ctor_calls", (double)cc);
        csv_row(var->name, threads, "attempts_per_s", (double)cc / secs);
        if (model)
            csv_row(var->name, threads, "model_attempts", (double)model);
        csv_row(var->name, threads, "calls", (double)calls);
        csv_row(var->name, threads, "calls_per_s", (double)calls / secs);
        csv_row(var->name, threads, "waits", st.waits);
        csv_row(var->name, threads, "ctor_mean_us", cus);
        csv_row(var->name, threads, "seconds", secs);

        /* Correctness checks (never timing). */
        if (bad) {
            printf("  FAILED CHECK: %llu gets did not return ECONNREFUSED\n",
                   (unsigned long long)bad);
            failed = 1;
        }
        if (st.attempts != (uint32_t)cc || st.failures != st.attempts || st.successes != 0 ||
            st.last_error != ECONNREFUSED) {
            printf("  FAILED CHECK: stats attempts=%u failures=%u successes=%u "
                   "last_error=%d, ctor counter=%llu\n", st.attempts, st.failures,
                   st.successes, st.last_error, (unsigned long long)cc);
            failed = 1;
        }
        if (var->min_ms) {
            /* Each attempt must start at least one backoff window after the
             * previous one ended (the window doubles per failure in a row). */
            uint64_t n = cc < MAX_TRACE ? cc : MAX_TRACE;
            double win = var->min_ms;
            double max = var->max_ms > var->min_ms ? var->max_ms : var->min_ms;
            printf("  gaps (ms, previous attempt's end -> next start; window):");
            for (uint64_t i = 1; i < n; i++) {
                double gap = (double)(tr_start[i] - tr_end[i - 1]) / 1e6;
                printf(" %.1f/%.0f", gap, win);
                if (gap < win) {
                    printf("[EARLY]");
                    failed = 1;
                }
                win = win * 2 > max ? max : win * 2;
            }
            printf("\n");
        }
    }
    printf("\nattempts = memo_stats().attempts; ctor cnt = the constructor's own counter;\n"
           "model = attempts a backoff allows in the measured time if attempts took no\n"
           "time (an upper bound; attempts that come before the previous one's window\n"
           "has passed are marked EARLY and fail the run); calls =\n"
           "gets served (each returned ECONNREFUSED); waits = gets that slept on a\n"
           "running attempt; ctor us = measured mean constructor time; secs = barrier\n"
           "release to the last join (the rates use it; it can exceed MS when the\n"
           "machine is busy, since threads finish their current get after the stop).\n");
    printf("correctness checks: %s\n", failed ? "FAILED" : "ok");
    free(tid);
    free(ta);
    if (csv)
        fclose(csv);
    return failed;
}
