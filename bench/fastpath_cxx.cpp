// bench/fastpath_cxx.cpp -- the cost of one get of an already-built (READY)
// value, C++ peers: the same measurement as bench/fastpath.c (same loop, same
// sink, same barrier, same clock), so that the two programs' tables line up.
//
// Every variant runs the same loop in its own noinline function:
//
//     for (i = 0; i < n; i++) { <get the value into v>; sink = v; BARRIER(); }
//
// `sink` is a volatile global and BARRIER() an empty asm with a "memory"
// clobber (bench_common.h), exactly as in fastpath.c.  This program has its
// own plain global load: its "x plain" ratios are against that, not against
// the C program's.  The loop functions have C linkage (extern "C" static), so
// their symbols are run_<variant> as in fastpath.c, for bench/run.sh's
// disassembly.
//
// Variants: plain global load, memo (MEMOIZE and memo_get: memo.h compiles as
// C++23), a C++ function-local static (`static T *p = make();` in an inline
// getter: the compiler's guard variable + __cxa_guard_acquire), std::call_once,
// and absl::call_once (only when built with -DHAVE_ABSL and Abseil's flags).
//
// Build: g++ -O2 -std=c++2b (C++23: memo.h needs <stdatomic.h> in C++), see
// bench/run.sh for the flags and Abseil libraries.
//
// Usage (as fastpath.c):
//   fastpath_cxx [N [RUNS]]    time every variant, round-robin (default 100M, 5)
//   fastpath_cxx --one NAME N  run only variant NAME for N gets, print nothing
//   fastpath_cxx --list        the variant names, one a line
//   fastpath_cxx --describe    "name<TAB>description", one variant a line
// With BENCH_CSV=file, the timed run appends CSV rows
// (fastpath,<variant>,1,cxx,ns_median|ns_min|ns_max|x_plain,<value>).
#include "memo.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unistd.h>

#include "bench_common.h"

#ifdef HAVE_ABSL
#include "absl/base/call_once.h"
#include "absl/base/config.h"
#endif

struct obj {
    int id;
};
static obj the_obj = { 42 };

// The sink: one volatile global for all variants (external, as in fastpath.c).
void *volatile sink;

// The out-of-line "expensive" constructor (not inlined into the loops).
static NOINLINE obj *make_raw()
{
    BARRIER();
    return &the_obj;
}

// --- 1. plain global load: the limit ---------------------------------------
obj *g_ptr = &the_obj; // external, so the compiler cannot know its value

extern "C" { // C linkage: an unmangled symbol for the disassembly
static NOINLINE void run_plain(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = g_ptr;
        BARRIER();
    }
}
}

// --- 2. memo: MEMOIZE with a pointer type ------------------------------------
static int make_obj(obj **out)
{
    *out = make_raw();
    return 0;
}
MEMOIZE(static, get_obj, obj *, make_obj, NULL);

extern "C" {
static NOINLINE void run_memoize_ptr(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        obj *p;
        if (get_obj(&p) == 0)
            sink = p;
        BARRIER();
    }
}
}

// --- 3. memo: the untyped cell, memo_get -------------------------------------
static int cell_ctor(void *, void **out)
{
    *out = make_raw();
    return 0;
}
static memo_t cell = MEMO_INIT(cell_ctor, nullptr, nullptr);

extern "C" {
static NOINLINE void run_memo_get(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        if (memo_get(&cell, &v) == 0)
            sink = v;
        BARRIER();
    }
}
}

// --- 4. C++ function-local static (a "magic static") ------------------------
static inline obj *local_static_get()
{
    static obj *const p = make_raw();
    return p;
}

extern "C" {
static NOINLINE void run_local_static(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = local_static_get();
        BARRIER();
    }
}
}

// --- 5. std::call_once + global ----------------------------------------------
static std::once_flag std_flag;
static obj *std_ptr;

static inline obj *std_once_get()
{
    std::call_once(std_flag, [] { std_ptr = make_raw(); });
    return std_ptr;
}

extern "C" {
static NOINLINE void run_std_call_once(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = std_once_get();
        BARRIER();
    }
}
}

// --- 6. absl::call_once + global ---------------------------------------------
#ifdef HAVE_ABSL
static absl::once_flag absl_flag;
static obj *absl_ptr;

static inline obj *absl_once_get()
{
    absl::call_once(absl_flag, [] { absl_ptr = make_raw(); });
    return absl_ptr;
}

extern "C" {
static NOINLINE void run_absl_call_once(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        sink = absl_once_get();
        BARRIER();
    }
}
}
#endif

// ---------------------------------------------------------------------------

struct variant {
    const char *name;
    const char *what;
    void (*run)(uint64_t n);
};

static const variant variants[] = {
    { "plain", "plain global load (the limit)", run_plain },
    { "memoize_ptr", "memo MEMOIZE, pointer T", run_memoize_ptr },
    { "memo_get", "memo memo_get(&cell, &v)", run_memo_get },
    { "local_static", "function-local static T *p = make()", run_local_static },
    { "std_call_once", "std::call_once + global", run_std_call_once },
#ifdef HAVE_ABSL
    { "absl_call_once", "absl::call_once + global", run_absl_call_once },
#endif
};
static constexpr size_t NVAR = sizeof variants / sizeof variants[0];
static constexpr int MAX_RUNS = 101;

// Make every getter READY (the constructors run here, outside timing).
static void warm_all()
{
    for (const variant &v : variants)
        v.run(1);
    obj *p;
    if (get_obj(&p) != 0) {
        std::fprintf(stderr, "fastpath_cxx: memo getter failed\n");
        std::exit(1);
    }
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0) {
        std::fprintf(stderr, "fastpath_cxx: bad %s '%s'\n", what, s);
        std::exit(2);
    }
    return static_cast<uint64_t>(v);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && std::strcmp(argv[1], "--list") == 0) {
        for (const variant &v : variants)
            std::printf("%s\n", v.name);
        return 0;
    }
    if (argc >= 2 && std::strcmp(argv[1], "--describe") == 0) {
        for (const variant &v : variants)
            std::printf("%s\t%s\n", v.name, v.what);
        return 0;
    }
    if (argc >= 2 && std::strcmp(argv[1], "--one") == 0) {
        if (argc != 4) {
            std::fprintf(stderr, "usage: fastpath_cxx --one VARIANT N\n");
            return 2;
        }
        uint64_t n = parse_u64(argv[3], "N");
        for (const variant &v : variants) {
            if (std::strcmp(v.name, argv[2]) == 0) {
                warm_all();
                v.run(n);
                return 0;
            }
        }
        std::fprintf(stderr, "fastpath_cxx: unknown variant '%s' (see --list)\n", argv[2]);
        return 2;
    }

    uint64_t n = argc >= 2 ? parse_u64(argv[1], "N") : 100000000u;
    int runs = argc >= 3 ? static_cast<int>(std::min<uint64_t>(parse_u64(argv[2], "RUNS"), MAX_RUNS)) : 5;

    char cpu[256];
    mt_cpu_model(cpu, sizeof cpu);
    std::printf("== fastpath: ns per get of a READY value ==\n");
    std::printf("program  : cxx (bench/fastpath_cxx.cpp), C++ %ld\n", static_cast<long>(__cplusplus));
    std::printf("compiler : %s\n", BENCH_COMPILER);
    std::printf("flags    : %s\n", BENCH_FLAGS);
    std::printf("cpu      : %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
#ifdef HAVE_ABSL
    std::printf("abseil   : LTS %ld\n", static_cast<long>(ABSL_LTS_RELEASE_VERSION));
#else
    std::printf("abseil   : not built in (compile with -DHAVE_ABSL and absl_base's flags)\n");
#endif
    std::printf("measured : one thread; each variant's loop does get -> volatile global sink,\n"
                "           then an empty asm memory clobber, %llu gets per run; %d runs per\n"
                "           variant interleaved round-robin; CLOCK_MONOTONIC around the loop;\n"
                "           ratio = median / median of this program's plain global load\n",
                static_cast<unsigned long long>(n), runs);

    warm_all();
    for (const variant &v : variants) // warm-up: caches, frequency
        v.run(n / 20 + 1);

    static double ns[NVAR][MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        for (size_t v = 0; v < NVAR; v++) {
            uint64_t t0 = mt_now_ns();
            variants[v].run(n);
            uint64_t t1 = mt_now_ns();
            ns[v][r] = static_cast<double>(t1 - t0) / static_cast<double>(n);
        }
    }

    double med[NVAR];
    for (size_t v = 0; v < NVAR; v++) {
        std::sort(ns[v], ns[v] + runs);
        med[v] = ns[v][runs / 2];
    }
    std::printf("\n%-36s %9s %8s %8s %9s\n", "variant", "ns/get", "min", "max", "x plain");
    std::printf("%-36s %9s %8s %8s %9s\n", "------------------------------------", "---------",
                "--------", "--------", "---------");
    for (size_t v = 0; v < NVAR; v++)
        std::printf("%-36s %9.3f %8.3f %8.3f %9.2f\n", variants[v].what, med[v], ns[v][0],
                    ns[v][runs - 1], med[v] / med[0]);

    const char *csv = std::getenv("BENCH_CSV");
    if (csv && *csv) {
        FILE *f = std::fopen(csv, "a");
        if (!f) {
            std::perror(csv);
            return 1;
        }
        for (size_t v = 0; v < NVAR; v++) {
            const char *nm = variants[v].name;
            std::fprintf(f, "fastpath,%s,1,cxx,ns_median,%.4f\n", nm, med[v]);
            std::fprintf(f, "fastpath,%s,1,cxx,ns_min,%.4f\n", nm, ns[v][0]);
            std::fprintf(f, "fastpath,%s,1,cxx,ns_max,%.4f\n", nm, ns[v][runs - 1]);
            std::fprintf(f, "fastpath,%s,1,cxx,x_plain,%.4f\n", nm, med[v] / med[0]);
        }
        if (std::fclose(f) != 0) {
            std::perror(csv);
            return 1;
        }
    }

    memo_stats_t a = memo_stats(&get_obj_memo), b = memo_stats(&cell);
    std::printf("\nmemo constructions during the run: MEMOIZE ptr %u, memo_get %u (1 each expected)\n",
                a.attempts, b.attempts);
    return 0;
}
