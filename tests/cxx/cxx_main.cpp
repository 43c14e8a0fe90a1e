// cxx_main.cpp -- the C++ side of tests/cxx: one program of a C11 unit
// (c_unit.c) and this C++ unit (built as C++11, 14, 17, 20 and 23, g++ and
// clang++; before C++23 memo.h maps _Atomic(T) to std::atomic<T> itself).
// The two share cells -- defined with MEMO_INIT and MEMOIZE in C, with
// MEMO_INIT in C++ -- and memo.h's program-wide tables:
//   - the layout of memo_t (every member's offset and size), memo_lease_t,
//     memo_stats_t and the shared internal tables, printed by both units and
//     compared;
//   - gets from both languages return one value, built once; options set in
//     one language are read by the other; resets, a failure's backoff and
//     statistics seen alike;
//   - leases taken in one language survive a reset from the other, released
//     in either;
//   - the typed getters (pointer T in the slot, struct T in place,
//     MEMOIZE_THREAD) defined in C, called from C++ (and invalidated there);
//   - threads of both languages contending one construction;
//   - memo_shutdown() from C++ destroys the values of cells of both units.
// Ends with "N passed, N failed".  A watchdog (alarm, 60 s) ends a hang.
#include "shared.h"
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

static int passed, failed;
static void check(const char *name, bool ok, const std::string &detail = std::string())
{
    if (ok) {
        passed++;
        std::printf("ok   %s\n", name);
    } else {
        failed++;
        std::printf("FAIL %s%s%s\n", name, detail.empty() ? "" : ": ", detail.c_str());
    }
}
static std::string num(long long v) { return std::to_string(v); }

// The C++ cell C uses.
static std::atomic<int> cxx_makes(0), cxx_frees(0);
static int cxx_make(void *, void **out)
{
    cxx_makes++;
    *out = new std::string("from C++");
    return 0;
}
static void cxx_free(void *, void *v)
{
    cxx_frees++;
    delete static_cast<std::string *>(v);
}
memo_t cxx_cell = MEMO_INIT(cxx_make, cxx_free, nullptr);
#if defined(__GNUC__) && !defined(__clang__) && __cplusplus < 202002L
// GCC before C++20: options are designated initializers, an extension whose
// -Wpedantic warning memo.h cannot silence inside MEMO_INIT (docs/API.md)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic" // GCC < 12
#if __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wc++20-extensions"
#endif
#pragma GCC diagnostic ignored "-Wmissing-field-initializers" // C++11
#endif
memo_t cxx_opt_cell = MEMO_INIT(cxx_make, cxx_free, nullptr, .retry_min_ms = 11, .retry_max_ms = 22,
                                .ttl_ms = 33000);
#if defined(__GNUC__) && !defined(__clang__) && __cplusplus < 202002L
#pragma GCC diagnostic pop
#endif

static void test_layout()
{
    size_t c[CXX_LAYOUT_MAX], cxx[CXX_LAYOUT_MAX];
    size_t nc = c_layout(c), ncxx = cxx_layout_here(cxx);
    bool same = nc == ncxx && std::memcmp(c, cxx, nc * sizeof c[0]) == 0;
    std::string diff;
    for (size_t i = 0; i < nc && i < ncxx; i++)
        if (c[i] != cxx[i])
            diff += " [" + num((long long)i) + "] C " + num((long long)c[i]) + " C++ " + num((long long)cxx[i]);
    // both units' view, printed: sizeof/alignof of memo_t, then offset:size of its members
    std::printf("     layout C  : memo_t %zu/%zu:", c[0], c[1]);
    for (size_t i = 16; i < 16 + 60 && i + 1 < nc; i += 2)
        std::printf(" %zu:%zu", c[i], c[i + 1]);
    std::printf("\n     layout C++: memo_t %zu/%zu:", cxx[0], cxx[1]);
    for (size_t i = 16; i < 16 + 60 && i + 1 < ncxx; i += 2)
        std::printf(" %zu:%zu", cxx[i], cxx[i + 1]);
    std::printf("\n");
    check("layout: memo_t, memo_lease_t, memo_stats_t and the shared tables alike in C and C++", same,
          "sizes " + num((long long)nc) + "/" + num((long long)ncxx) + diff);
    check("layout: memo_t 8-aligned in C++ as in C", alignof(memo_t) == 8 && c[1] == 8);
}

static void test_shared_cell()
{
    void *a = nullptr, *b = nullptr;
    check("C option seen from C++ (retry_min_ms = 5)", c_cell.retry_min_ms == 5 && c_cell.retry_max_ms == 0);
    int e1 = memo_get(&c_cell, &a);
    int e2 = c_get(&c_cell, &b);
    check("C cell: get from C++, then from C: one value, built once", e1 == 0 && e2 == 0 && a == b &&
          c_count("make") == 1 && *static_cast<int *>(a) == c_tag,
          num(e1) + " " + num(e2) + " makes " + num(c_count("make")));
    check("C cell: C's ctor got C's arg", c_tag_value(c_cell.arg) == c_tag);
    void *p = nullptr;
    check("C cell: memo_peek from C++ and C agree", memo_peek(&c_cell, &p) == 0 && p == a &&
          c_peek(&c_cell, &p) == 0 && p == a);
    check("C cell: reset from C++ runs C's dtor", memo_reset(&c_cell) == 0 && c_count("free") == 1 &&
          c_peek(&c_cell, &p) == EAGAIN);
    check("C cell: C rebuilds after the C++ reset", c_get(&c_cell, &b) == 0 && c_count("make") == 2 &&
          memo_get(&c_cell, &a) == 0 && a == b);

    // the C++ cell from C
    void *x = nullptr, *y = nullptr;
    int f1 = c_get(&cxx_cell, &x), f2 = memo_get(&cxx_cell, &y);
    check("C++ cell: get from C, then from C++: one value, built once", f1 == 0 && f2 == 0 && x == y &&
          cxx_makes == 1 && *static_cast<std::string *>(x) == "from C++");
    check("C++ cells: C reads their options", c_option(&cxx_cell, 0) == 0 && c_option(&cxx_cell, 1) == 0 &&
          c_option(&cxx_cell, 2) == 0 && c_option(&cxx_opt_cell, 0) == 11 &&
          c_option(&cxx_opt_cell, 1) == 22 && c_option(&cxx_opt_cell, 2) == 33000);
    check("C++ TTL cell: get from C and C++, one value", c_get(&cxx_opt_cell, &x) == 0 &&
          memo_get(&cxx_opt_cell, &y) == 0 && x == y && cxx_makes == 2 &&
          *static_cast<std::string *>(y) == "from C++");
    check("C++ cell: reset from C runs the C++ dtor", c_reset(&cxx_cell) == 0 && cxx_frees == 1 &&
          memo_peek(&cxx_cell, &y) == EAGAIN);
    check("C++ cell: rebuilt", memo_get(&cxx_cell, &y) == 0 && cxx_makes == 3);
}

static void test_failure()
{
    void *v = nullptr;
    int e1 = memo_get(&c_fail_cell, &v);
    int e2 = c_get(&c_fail_cell, &v);
    memo_stats_t s1 = memo_stats(&c_fail_cell), s2 = c_stats(&c_fail_cell);
    check("failure: ENOSPC to C++, and from C within the backoff without a new attempt",
          e1 == ENOSPC && e2 == ENOSPC && c_count("fail") == 1, num(e1) + " " + num(e2) + " attempts " + num(c_count("fail")));
    check("failure: statistics alike from both languages", s1.attempts == 1 && s1.failures == 1 &&
          s1.last_error == ENOSPC && s1.failures_in_row == 1 &&
          std::memcmp(&s1, &s2, sizeof s1) == 0);
}

static void test_leases()
{
    // C++ holds a lease on C's cell; C resets; the value lives until C++ releases
    memo_lease_t l = MEMO_LEASE_INIT;
    void *v = nullptr;
    int frees0 = c_count("free");
    int e = memo_acquire(&c_cell, &l);
    void *held = l.value;
    check("lease: C++ acquires C's cell", e == 0 && held != nullptr && memo_get(&c_cell, &v) == 0 && v == held);
    check("lease: reset from C defers the dtor", c_reset(&c_cell) == 0 && c_count("free") == frees0 &&
          *static_cast<int *>(held) >= c_tag);
    check("lease: C builds a new value meanwhile", c_get(&c_cell, &v) == 0 && v != held);
    check("lease: release from C++ runs C's dtor", memo_release(&l) == 0 && c_count("free") == frees0 + 1 &&
          l.value == nullptr);

    // a lease taken in C (into a C++ lease object), released from C++
    memo_lease_t m = MEMO_LEASE_INIT;
    int cf0 = cxx_frees;
    check("lease: C acquires the C++ cell", c_acquire(&cxx_cell, &m) == 0 && m.value != nullptr &&
          m.m_ == &cxx_cell);
    check("lease: reset from C++ defers its dtor", memo_reset(&cxx_cell) == 0 && cxx_frees == cf0);
    check("lease: release from C++ of C's lease runs it", memo_release(&m) == 0 && cxx_frees == cf0 + 1);
    memo_lease_t n = MEMO_LEASE_INIT;
    check("lease: C++ acquires, C releases", memo_acquire(&cxx_cell, &n) == 0 && c_release(&n) == 0 &&
          n.value == nullptr);
}

static void test_typed()
{
    struct thing *t1 = nullptr, *t2 = nullptr;
    check("MEMOIZE pointer T (C): the C++ call and C's get one value", c_get_thing(&t1) == 0 &&
          c_get_thing_from_c(&t2) == 0 && t1 == t2 && c_count("thing") == 1 && std::strcmp(t1->name, "from C") == 0);
    check("MEMOIZE pointer T (C): its options seen from C++", c_get_thing_memo.retry_min_ms == 3 &&
          c_get_thing_memo.retry_max_ms == 30);
    check("MEMOIZE pointer T (C): memo_invalidate from C++ runs C's dtor",
          memo_invalidate(&c_get_thing_memo, t1) == 0 && c_count("thing_free") == 1);
    check("MEMOIZE pointer T (C): rebuilt", c_get_thing_from_c(&t2) == 0 && c_get_thing(&t1) == 0 &&
          t1 == t2 && t1->id == 2);

    struct triple a, b;
    std::memset(&a, 0, sizeof a);
    std::memset(&b, 0, sizeof b);
    check("MEMOIZE struct T (C, in place): the C++ call and C's copy one value",
          c_get_triple(&a) == 0 && c_get_triple_from_c(&b) == 0 && a.a == 1 && a.b == 2 && a.c == 3 &&
          std::memcmp(&a, &b, sizeof a) == 0 && c_count("triple") == 1);
    check("MEMOIZE struct T (C, in place): reset from C++, rebuilt",
          memo_reset(&c_get_triple_memo) == 0 && c_get_triple(&a) == 0 && a.a == 2 && a.c == 6 &&
          c_count("triple") == 2);

    int *mine = nullptr, *again = nullptr, *other = nullptr;
    int e = c_get_tls(&mine);
    std::thread th([&other] {
        int *o = nullptr;
        if (c_get_tls(&o) == 0)
            other = o;
    });
    th.join();
    check("MEMOIZE_THREAD (C): one value per thread, C++ threads", e == 0 && c_get_tls(&again) == 0 &&
          again == mine && other != nullptr && other != mine && c_count("tls") == 2);
    check("MEMOIZE_THREAD (C): a C++ thread's exit runs C's dtor", c_count("tls_free") == 1);
}

static void test_threads()
{
    // 4 threads get through C++, 4 through C: one construction, held by a gate
    // until every thread has started (and most are asleep on the cell)
    std::vector<std::thread> ts;
    std::atomic<int> started(0), ok(0);
    void *seen[8] = {};
    for (int i = 0; i < 8; i++)
        ts.push_back(std::thread([i, &started, &ok, &seen] {
            void *v = nullptr;
            started++;
            int e = (i & 1) ? c_get(&c_slow_cell, &v) : memo_get(&c_slow_cell, &v);
            seen[i] = v;
            if (e == 0)
                ok++;
        }));
    while (started < 8)
        std::this_thread::yield();
    while (c_count("slow") == 0)
        std::this_thread::yield();
    usleep(20000); // let the waiters go to sleep (the test holds without it too)
    c_open_gate();
    for (auto &t : ts)
        t.join();
    bool same = true;
    for (int i = 1; i < 8; i++)
        same = same && seen[i] == seen[0];
    check("threads: C and C++ callers contend, one construction, one value", ok == 8 && same &&
          c_count("slow") == 1 && seen[0] != nullptr, "ok " + num(ok) + " ctors " + num(c_count("slow")));
}

static void test_shutdown()
{
    void *v = nullptr;
    int frees = c_count("free"), cf = cxx_frees, tf = c_count("thing_free"), tlsf = c_count("tls_free");
    check("shutdown: cells of both units hold values", c_peek(&c_cell, &v) == 0 &&
          memo_peek(&cxx_cell, &v) == 0 && memo_peek(&cxx_opt_cell, &v) == 0 &&
          memo_peek(&c_get_thing_memo, &v) == 0);
    int e = memo_shutdown();
    check("shutdown from C++: every value of both units destroyed", e == 0 && c_count("free") == frees + 1 &&
          cxx_frees == cf + 2 && c_count("thing_free") == tf + 1 && c_count("tls_free") == tlsf + 1,
          num(e));
    check("shutdown: cells empty, seen from C and C++", c_peek(&c_cell, &v) == EAGAIN &&
          memo_peek(&c_cell, &v) == EAGAIN && c_peek(&cxx_cell, &v) == EAGAIN && c_peek(&cxx_opt_cell, &v) == EAGAIN &&
          memo_peek(&c_slow_cell, &v) == EAGAIN && memo_peek(&c_get_triple_memo, &v) == EAGAIN);
    check("shutdown: C cells work after it", c_get(&c_cell, &v) == 0 && memo_reset(&c_cell) == 0);
}

int main()
{
    alarm(60);
    std::printf("     C++ %ld (%s)\n", (long)__cplusplus,
#ifdef MEMO_I_CXX_ATOMICS
                "memo.h's std::atomic mapping"
#else
                "<stdatomic.h>"
#endif
    );
    test_layout();
    test_shared_cell();
    test_failure();
    test_leases();
    test_typed();
    test_threads();
    test_shutdown();
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
