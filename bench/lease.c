/* bench/lease.c -- the cost of a lease on a READY value (SPEC budget: acquire
 * + release <= 20 ns single-threaded), next to a plain global load and a
 * memo_get in the same loop shape as bench/fastpath.c (volatile sink, empty
 * asm memory clobber per iteration), and a mutex-protected refcount, the
 * usual hand-written way to keep a shared client alive while it is used.
 *
 * Usage:
 *   lease [N [RUNS]]      time every variant (default 20M ops, 7 runs each,
 *                         round-robin), median ns/op and ratio to plain
 *   lease --one NAME N    run variant NAME only (for callgrind)
 *   lease --list          the variant names
 * With BENCH_CSV=file, rows bench,variant,threads,param,metric,value are
 * appended to that file.
 */
#define _GNU_SOURCE
#include "memo.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"

static int the_obj = 42;
void *volatile sink;

static int cell_ctor(void *arg, void **out)
{
    (void)arg;
    *out = &the_obj;
    return 0;
}
static memo_t cell = MEMO_INIT(cell_ctor, NULL, NULL);

void *g_ptr = &the_obj;

static NOINLINE void run_plain(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = g_ptr;
        BARRIER();
    }
}

static NOINLINE void run_memo_get(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        if (memo_get(&cell, &v) == 0)
            sink = v;
        BARRIER();
    }
}

static NOINLINE void run_lease(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        memo_lease_t l;
        if (memo_acquire(&cell, &l) == 0) {
            sink = l.value;
            memo_release(&l);
        }
        BARRIER();
    }
}

/* The hand-written alternative: a mutex around a pointer and a refcount. */
static pthread_mutex_t rc_mu = PTHREAD_MUTEX_INITIALIZER;
static long rc_count;
static void *rc_ptr = &the_obj;

static NOINLINE void run_mutex_refcount(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(&rc_mu);
        void *v = rc_ptr;
        rc_count++;
        pthread_mutex_unlock(&rc_mu);
        sink = v;
        pthread_mutex_lock(&rc_mu);
        rc_count--;
        pthread_mutex_unlock(&rc_mu);
        BARRIER();
    }
}

typedef struct variant {
    const char *name;
    const char *what;
    void (*run)(uint64_t n);
} variant_t;

static const variant_t variants[] = {
    { "plain", "plain global load (the limit)", run_plain },
    { "memo_get", "memo_get (no lease)", run_memo_get },
    { "lease", "memo_acquire + memo_release", run_lease },
    { "mutex_refcount", "mutex: ptr + refcount ++/--", run_mutex_refcount },
};
#define NVAR (sizeof variants / sizeof variants[0])

/* glibc skips the atomic instructions of an uncontended mutex while a process
 * has only one thread; a server holding leases has several, so start one
 * (and join it) before measuring: the process stays "multi-threaded". */
static void *idle_thread(void *p)
{
    return p;
}
static void become_multithreaded(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) == 0)
        pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
    become_multithreaded();
    if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t v = 0; v < NVAR; v++)
            printf("%s\n", variants[v].name);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "--one") == 0) {
        for (size_t v = 0; v < NVAR; v++)
            if (strcmp(variants[v].name, argv[2]) == 0) {
                variants[v].run(1);
                variants[v].run(bench_parse_u64("lease", argv[3], "N"));
                return 0;
            }
        fprintf(stderr, "lease: unknown variant '%s'\n", argv[2]);
        return 2;
    }
    uint64_t n = argc >= 2 ? bench_parse_u64("lease", argv[1], "N") : 20000000u;
    int runs = argc >= 3 ? (int)bench_parse_u64("lease", argv[2], "RUNS") : 7;
    if (runs > 101)
        runs = 101;

    char cpu[256];
    mt_cpu_model(cpu, sizeof cpu);
    printf("== lease: ns per acquire+release of a READY value, one thread ==\n");
    printf("compiler : %s\nflags    : %s\n", BENCH_COMPILER, BENCH_FLAGS);
    printf("cpu      : %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    printf("measured : %llu ops per run, %d runs per variant round-robin, median;\n"
           "           same loop and sink as bench/fastpath.c; the process has started\n"
           "           a second thread (glibc drops mutex atomics while single-threaded)\n",
           (unsigned long long)n, runs);

    for (size_t v = 0; v < NVAR; v++)
        variants[v].run(n / 20 + 1);
    static double ns[NVAR][101];
    for (int r = 0; r < runs; r++)
        for (size_t v = 0; v < NVAR; v++) {
            uint64_t t0 = mt_now_ns();
            variants[v].run(n);
            ns[v][r] = (double)(mt_now_ns() - t0) / (double)n;
        }

    const char *csv = getenv("BENCH_CSV");
    FILE *out = csv ? fopen(csv, "a") : NULL;
    printf("\n%-32s %9s %8s %8s %9s\n", "variant", "ns/op", "min", "max", "x plain");
    double med0 = 0;
    for (size_t v = 0; v < NVAR; v++) {
        qsort(ns[v], (size_t)runs, sizeof(double), bench_cmp_double);
        double med = ns[v][runs / 2];
        if (v == 0)
            med0 = med;
        printf("%-32s %9.3f %8.3f %8.3f %9.2f\n", variants[v].what, med, ns[v][0],
               ns[v][runs - 1], med / med0);
        if (out) {
            fprintf(out, "lease,%s,1,,ns_median,%.4f\n", variants[v].name, med);
            fprintf(out, "lease,%s,1,,x_plain,%.4f\n", variants[v].name, med / med0);
        }
    }
    if (out)
        fclose(out);
    /* Sanity: the leases were all given back. */
    uint64_t l = atomic_load(&cell.leases_);
    if ((uint32_t)l != 0 || memo_stats(&cell).attempts != 1) {
        fprintf(stderr, "lease: %u leases outstanding, %u constructions (0 and 1 expected)\n",
                (unsigned)(uint32_t)l, memo_stats(&cell).attempts);
        return 1;
    }
    printf("\nbudget (SPEC section 7): acquire + release <= 20 ns single-threaded\n");
    return 0;
}
