/* bench/fastpath.c -- the cost of one get of an already-built (READY) value.
 *
 * Every variant runs the same loop in its own noinline function:
 *
 *     for (i = 0; i < n; i++) { <get the value into v>; sink = v; BARRIER(); }
 *
 * `sink` is a volatile global (every iteration really stores) and BARRIER() is
 * an empty asm with a "memory" clobber (every iteration really reloads: the
 * compiler may not keep a global in a register across it nor hoist the get
 * out of the loop).  Both are applied identically to every variant, including
 * the plain global load, which is the limit: what remains of a variant's cost
 * above it is the price of the lazy-init check.
 *
 * bench/run.sh builds it with -falign-functions=64 -falign-jumps=64
 * -falign-loops=64: at one cycle a get, a loop that straddles a 64-byte
 * fetch block takes two (0.6 instead of 0.3 ns), and without those flags
 * whether one does depends on what else the program holds -- memo.h 0.2's
 * larger slow path moved the plain load's loop across one; aligning the
 * functions alone moved GLib's across instead.  With the three flags every
 * loop here sits in one block (bench/run.sh's disassembly marks any that
 * does not).
 *
 * Usage:
 *   fastpath [N [RUNS]]    time every variant, N gets per run (default 100M),
 *                          RUNS runs each (default 5), round-robin across
 *                          variants; prints median/min/max ns per get
 *   fastpath --one NAME N  run only variant NAME for N gets, print nothing
 *                          (for valgrind --tool=callgrind instruction counts)
 *   fastpath --step NAME R warm up, then R times: raise(SIGSTOP) around
 *                          run(1) and around run(2) of variant NAME (marks
 *                          for bench/stepcount, which counts the instructions
 *                          between them natively, the vDSO included)
 *   fastpath --list        print the variant names, one a line
 *   fastpath --describe    print "name<TAB>description", one variant a line
 *
 * With BENCH_CSV=file in the environment, the timed run also appends its
 * results to that file as CSV rows bench,variant,threads,param,metric,value
 * (fastpath,<variant>,1,c,ns_median|ns_min|ns_max|x_plain,<value>).
 *
 * Built with -DHAVE_GLIB (and glib-2.0's pkg-config flags), it also measures
 * GLib's g_once_init_enter/g_once_init_leave (variant glib_once).
 *
 * TTL getters (memo.h >= 0.2, which defines MEMO_TTL_NOW_NS): a READY value of
 * a cell with .ttl_ms = 60000 -- memo_get and MEMOIZE with a pointer T on the
 * default clock (CLOCK_MONOTONIC_COARSE), the same two with the clock forced
 * to CLOCK_MONOTONIC on every get (bench/fastpath_ttl_mono.c, a second
 * translation unit built with -D'MEMO_TTL_NOW_NS()=bench_mono_ns()', linked
 * into this program), and, as references, one clock_gettime of each clock in
 * the same loop.  These variants take 5..40 ns a get, so a timed run does
 * N/10 of them (ns per get is still per get).  The TTL values may expire
 * during a long run (60 s): the next get rebuilds once, not counted apart.
 * Built against a memo.h without TTL (0.1, e.g. to compare instruction
 * counts with an older header) they are left out, and so is the second unit.
 */
#define _GNU_SOURCE /* RUSAGE_THREAD etc.; memo.h needs POSIX */
#include "memo.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#ifdef HAVE_GLIB
#include <glib.h>
#endif


/* The value every getter hands out. */
struct obj {
    int id;
};
static struct obj the_obj = { 42 };

/* The sink: one volatile global for all variants. */
void *volatile sink;

/* An out-of-line "expensive" constructor for the hand-written variants, so
 * that it is not inlined into the loops (as a real connect would not be). */
static NOINLINE struct obj *make_raw(void)
{
    BARRIER();
    return &the_obj;
}

/* --- 1. plain global load: the limit ------------------------------------- */
struct obj *g_ptr = &the_obj;

static NOINLINE void run_plain(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = g_ptr;
        BARRIER();
    }
}

/* --- 2. the seed's unsynchronized getter (racy, not thread-safe) --------- */
static struct obj *seed_ptr;

static inline struct obj *seed_get(void)
{
    if (seed_ptr)
        return seed_ptr;
    seed_ptr = make_raw();
    return seed_ptr;
}

static NOINLINE void run_seed(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = seed_get();
        BARRIER();
    }
}

/* --- 3. memo: MEMOIZE with a pointer type (value lives in the slot) ------ */
static int make_obj(struct obj **out)
{
    *out = make_raw();
    return 0;
}
MEMOIZE(static, get_obj, struct obj *, make_obj, NULL);

static NOINLINE void run_memoize_ptr(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct obj *p;
        if (get_obj(&p) == 0)
            sink = p;
        BARRIER();
    }
}

/* --- 4. memo: the untyped cell, memo_get --------------------------------- */
static int cell_ctor(void *arg, void **out)
{
    (void)arg;
    *out = make_raw();
    return 0;
}
static memo_t cell = MEMO_INIT(cell_ctor, NULL, NULL);

static NOINLINE void run_memo_get(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        if (memo_get(&cell, &v) == 0)
            sink = v;
        BARRIER();
    }
}

/* --- 5. memo: MEMOIZE with a 16-byte struct (value lives beside the cell) */
struct span {
    const char *p;
    size_t n;
};
static const char span_text[] = "postgres://db.internal:5432/app";

static int make_span(struct span *out)
{
    (void)make_raw(); /* the expensive part, out of line */
    out->p = span_text;
    out->n = sizeof span_text - 1;
    return 0;
}
MEMOIZE(static, get_span, struct span, make_span, NULL);

static NOINLINE void run_memoize_struct(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct span s;
        /* Both halves are used (p + n), so the whole 16-byte copy is needed. */
        if (get_span(&s) == 0)
            sink = (void *)(s.p + s.n);
        BARRIER();
    }
}

/* --- 6. pthread_once + global pointer ------------------------------------ */
static pthread_once_t once_ctl = PTHREAD_ONCE_INIT;
static struct obj *once_ptr;
static void once_init(void) { once_ptr = make_raw(); }

static NOINLINE void run_pthread_once(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_once(&once_ctl, once_init);
        sink = once_ptr;
        BARRIER();
    }
}

/* --- 7. C11 call_once + global pointer ----------------------------------- */
static once_flag c11_flag = ONCE_FLAG_INIT;
static struct obj *c11_ptr;
static void c11_init(void) { c11_ptr = make_raw(); }

static NOINLINE void run_call_once(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        call_once(&c11_flag, c11_init);
        sink = c11_ptr;
        BARRIER();
    }
}

/* --- 8. pthread mutex: lock, check, unlock -------------------------------- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct obj *mu_ptr;

static NOINLINE void run_mutex(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(&mu);
        if (!mu_ptr)
            mu_ptr = make_raw();
        struct obj *v = mu_ptr;
        pthread_mutex_unlock(&mu);
        sink = v;
        BARRIER();
    }
}

/* --- 9. GLib g_once_init_enter/g_once_init_leave on the pointer itself --- */
#ifdef HAVE_GLIB
/* GLib's documented idiom for a lazily set pointer: the location is the value
 * (NULL = not yet), g_once_init_enter's inline part is an acquire load and a
 * test; the getter then returns the (now known to be set) global. */
static struct obj *glib_ptr;

static inline struct obj *glib_get(void)
{
    if (g_once_init_enter(&glib_ptr))
        g_once_init_leave(&glib_ptr, make_raw());
    return glib_ptr;
}

static NOINLINE void run_glib_once(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = glib_get();
        BARRIER();
    }
}
#endif

/* --- 10. TTL getters (memo.h >= 0.2) -------------------------------------- */
#ifdef MEMO_TTL_NOW_NS
#define BENCH_TTL 1
#include "fastpath_ttl_mono.h"

/* memo_get on a TTL cell: its slot_ stays NULL, so the inlined fast path
 * falls to memo_i_get_slow_, which loads the value and compares the expiry
 * with MEMO_TTL_NOW_NS() -- here the default, CLOCK_MONOTONIC_COARSE. */
static memo_t ttl_cell = MEMO_INIT(cell_ctor, NULL, NULL, .ttl_ms = 60000);

static NOINLINE void run_ttl_memo_get(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        if (memo_get(&ttl_cell, &v) == 0)
            sink = v;
        BARRIER();
    }
}

/* MEMOIZE, pointer T, on a TTL cell (default clock). */
MEMOIZE(static, get_ttl_obj, struct obj *, make_obj, NULL, .ttl_ms = 60000);

static NOINLINE void run_ttl_memoize_ptr(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct obj *p;
        if (get_ttl_obj(&p) == 0)
            sink = p;
        BARRIER();
    }
}

/* --- 11. per-thread values (MEMOIZE_THREAD, memo.h >= 0.2) --------------
 * The getter's ready path: a relaxed load of the calling thread's `ready`
 * flag (thread-local), a test, a copy of the thread-local value.  Beside it,
 * the limit: a plain load of a _Thread_local pointer. */
static _Thread_local struct obj *tls_ptr;

static NOINLINE void run_tls_plain(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = tls_ptr;
        BARRIER();
    }
}

MEMOIZE_THREAD(static, get_thread_obj, struct obj *, make_obj, NULL);

static NOINLINE void run_thread_ptr(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct obj *p;
        if (get_thread_obj(&p) == 0)
            sink = p;
        BARRIER();
    }
}

MEMOIZE_THREAD(static, get_thread_span, struct span, make_span, NULL);

static NOINLINE void run_thread_struct(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct span s;
        if (get_thread_span(&s) == 0)
            sink = (void *)(s.p + s.n);
        BARRIER();
    }
}

/* References: one clock_gettime per iteration of the same loop, the
 * nanoseconds to the sink. */
static NOINLINE void run_clock_coarse(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        sink = (void *)(uintptr_t)ts.tv_nsec;
        BARRIER();
    }
}

static NOINLINE void run_clock_mono(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sink = (void *)(uintptr_t)ts.tv_nsec;
        BARRIER();
    }
}
#endif

/* ------------------------------------------------------------------------- */

typedef struct variant {
    const char *name;
    const char *what;
    void (*run)(uint64_t n);
    unsigned div; /* a timed run does N / div gets */
} variant_t;

static const variant_t variants[] = {
    { "plain", "plain global load (the limit)", run_plain, 1 },
    { "seed", "seed: if (x) return x; (racy)", run_seed, 1 },
    { "memoize_ptr", "memo MEMOIZE, pointer T", run_memoize_ptr, 1 },
    { "memo_get", "memo memo_get(&cell, &v)", run_memo_get, 1 },
    { "memoize_struct", "memo MEMOIZE, 16-byte struct T", run_memoize_struct, 1 },
    { "pthread_once", "pthread_once + global", run_pthread_once, 1 },
    { "call_once", "C11 call_once + global", run_call_once, 1 },
    { "mutex", "pthread_mutex lock/check/unlock", run_mutex, 1 },
#ifdef HAVE_GLIB
    { "glib_once", "GLib g_once_init_enter/leave", run_glib_once, 1 },
#endif
#ifdef BENCH_TTL
    { "tls_plain", "plain _Thread_local load (the limit)", run_tls_plain, 1 },
    { "thread_ptr", "memo MEMOIZE_THREAD, pointer T", run_thread_ptr, 1 },
    { "thread_struct", "memo MEMOIZE_THREAD, 16-byte struct T", run_thread_struct, 1 },
    { "ttl_memo_get", "memo memo_get, TTL, COARSE clock", run_ttl_memo_get, 10 },
    { "ttl_memoize_ptr", "memo MEMOIZE ptr, TTL, COARSE clock", run_ttl_memoize_ptr, 10 },
    { "ttl_mono_memo_get", "memo memo_get, TTL, MONOTONIC/get", run_ttl_mono_memo_get, 10 },
    { "ttl_mono_memoize_ptr", "memo MEMOIZE ptr, TTL, MONOTONIC/get", run_ttl_mono_memoize_ptr, 10 },
    { "clock_coarse", "clock_gettime(MONOTONIC_COARSE)", run_clock_coarse, 10 },
    { "clock_mono", "clock_gettime(MONOTONIC)", run_clock_mono, 10 },
#endif
};
#define NVAR (sizeof variants / sizeof variants[0])



/* Make every getter READY (the constructors run here, outside timing). */
static void warm_all(void)
{
    for (size_t v = 0; v < NVAR; v++)
        variants[v].run(1);
    struct obj *p;
    struct span s;
    if (get_obj(&p) || get_span(&s)) {
        fprintf(stderr, "fastpath: memo getter failed\n");
        exit(1);
    }
#ifdef BENCH_TTL
    void *v;
    struct span ts;
    tls_ptr = p;
    if (memo_get(&ttl_cell, &v) || get_ttl_obj(&p) || ttl_mono_warm() || get_thread_obj(&p) ||
        get_thread_span(&ts)) {
        fprintf(stderr, "fastpath: memo TTL getter failed\n");
        exit(1);
    }
#endif
}

/* Gets per timed run of variant v. */
static uint64_t gets_of(size_t v, uint64_t n)
{
    uint64_t m = variants[v].div > 1 ? n / variants[v].div : n;
    return m ? m : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t v = 0; v < NVAR; v++)
            printf("%s\n", variants[v].name);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--describe") == 0) {
        for (size_t v = 0; v < NVAR; v++)
            printf("%s\t%s\n", variants[v].name, variants[v].what);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--one") == 0) {
        if (argc != 4) {
            fprintf(stderr, "usage: fastpath --one VARIANT N\n");
            return 2;
        }
        uint64_t n = bench_parse_u64("fastpath", argv[3], "N");
        for (size_t v = 0; v < NVAR; v++) {
            if (strcmp(variants[v].name, argv[2]) == 0) {
                warm_all();
                variants[v].run(n);
                return 0;
            }
        }
        fprintf(stderr, "fastpath: unknown variant '%s' (see --list)\n", argv[2]);
        return 2;
    }
    if (argc >= 2 && strcmp(argv[1], "--step") == 0) {
        if (argc != 4) {
            fprintf(stderr, "usage: fastpath --step VARIANT R\n");
            return 2;
        }
        uint64_t r = bench_parse_u64("fastpath", argv[3], "R");
        for (size_t v = 0; v < NVAR; v++) {
            if (strcmp(variants[v].name, argv[2]) == 0) {
                warm_all();
                variants[v].run(1000); /* caches, predictors, lazy binding */
                for (uint64_t i = 0; i < r; i++) {
                    raise(SIGSTOP);
                    variants[v].run(1);
                    raise(SIGSTOP);
                    raise(SIGSTOP);
                    variants[v].run(2);
                    raise(SIGSTOP);
                }
                return 0;
            }
        }
        fprintf(stderr, "fastpath: unknown variant '%s' (see --list)\n", argv[2]);
        return 2;
    }

    uint64_t n = argc >= 2 ? bench_parse_u64("fastpath", argv[1], "N") : 100000000u;
    int runs = argc >= 3 ? (int)bench_parse_u64("fastpath", argv[2], "RUNS") : 5;
    if (runs > 101)
        runs = 101;

    char cpu[256];
    mt_cpu_model(cpu, sizeof cpu);
    printf("== fastpath: ns per get of a READY value ==\n");
    printf("program  : c (bench/fastpath.c)\n");
    printf("compiler : %s\n", BENCH_COMPILER);
    printf("flags    : %s\n", BENCH_FLAGS);
    printf("cpu      : %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
#ifdef HAVE_GLIB
    printf("glib     : %u.%u.%u (headers), %u.%u.%u (library)\n", GLIB_MAJOR_VERSION,
           GLIB_MINOR_VERSION, GLIB_MICRO_VERSION, glib_major_version, glib_minor_version,
           glib_micro_version);
#else
    printf("glib     : not built in (compile with -DHAVE_GLIB and glib-2.0's flags)\n");
#endif
    printf("measured : one thread; each variant's loop does get -> volatile global sink,\n"
           "           then an empty asm memory clobber, %llu gets per run; %d runs per\n"
           "           variant interleaved round-robin; CLOCK_MONOTONIC around the loop;\n"
           "           ratio = median / median of the plain global load (same run)\n",
           (unsigned long long)n, runs);
#ifdef BENCH_TTL
    printf("ttl      : TTL getters and clock_gettime references: %llu gets per run\n",
           (unsigned long long)(n / 10 ? n / 10 : 1));
#endif

    warm_all();
    uint64_t start = mt_now_ns();
    for (size_t v = 0; v < NVAR; v++) /* warm-up: caches, frequency */
        variants[v].run(gets_of(v, n) / 20 + 1);

    static double ns[NVAR][101];
    for (int r = 0; r < runs; r++) {
        for (size_t v = 0; v < NVAR; v++) {
            uint64_t m = gets_of(v, n);
            uint64_t t0 = mt_now_ns();
            variants[v].run(m);
            uint64_t t1 = mt_now_ns();
            ns[v][r] = (double)(t1 - t0) / (double)m;
        }
    }
    double secs = (double)(mt_now_ns() - start) / 1e9;

    double med[NVAR];
    for (size_t v = 0; v < NVAR; v++) {
        qsort(ns[v], (size_t)runs, sizeof(double), bench_cmp_double);
        med[v] = ns[v][runs / 2];
    }
    printf("\n%-34s %9s %8s %8s %9s\n", "variant", "ns/get", "min", "max", "x plain");
    printf("%-34s %9s %8s %8s %9s\n", "----------------------------------", "---------",
           "--------", "--------", "---------");
    for (size_t v = 0; v < NVAR; v++)
        printf("%-34s %9.3f %8.3f %8.3f %9.2f\n", variants[v].what, med[v], ns[v][0],
               ns[v][runs - 1], med[v] / med[0]);

    const char *csv = getenv("BENCH_CSV");
    if (csv && *csv) {
        FILE *f = fopen(csv, "a");
        if (!f) {
            perror(csv);
            return 1;
        }
        for (size_t v = 0; v < NVAR; v++) {
            const char *nm = variants[v].name;
            fprintf(f, "fastpath,%s,1,c,ns_median,%.4f\n", nm, med[v]);
            fprintf(f, "fastpath,%s,1,c,ns_min,%.4f\n", nm, ns[v][0]);
            fprintf(f, "fastpath,%s,1,c,ns_max,%.4f\n", nm, ns[v][runs - 1]);
            fprintf(f, "fastpath,%s,1,c,x_plain,%.4f\n", nm, med[v] / med[0]);
        }
        if (fclose(f) != 0) {
            perror(csv);
            return 1;
        }
    }

    /* Sanity: every memo variant really served the cached value. */
    memo_stats_t a = memo_stats(&get_obj_memo), b = memo_stats(&cell), c = memo_stats(&get_span_memo);
    printf("\nmemo constructions during the run: MEMOIZE ptr %u, memo_get %u, MEMOIZE struct %u"
           " (1 each expected)\n", a.attempts, b.attempts, c.attempts);
#ifdef BENCH_TTL
    /* A TTL value is rebuilt once after each 60 s it has lived. */
    unsigned mg, mm;
    ttl_mono_attempts(&mg, &mm);
    printf("memo TTL constructions (run %.0f s, 1 + one per 60 s expected): memo_get %u, MEMOIZE %u,"
           " MONOTONIC memo_get %u, MONOTONIC MEMOIZE %u\n", secs, memo_stats(&ttl_cell).attempts,
           memo_stats(&get_ttl_obj_memo).attempts, mg, mm);
#else
    (void)secs;
#endif
    return 0;
}
