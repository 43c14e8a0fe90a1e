// cxx_smoke.cpp -- memo.h included from C++ (C++11 to C++23; <stdatomic.h>
// in C++23, memo.h's std::atomic mapping before): the cell, MEMO_INIT with
// and without options (lifetime options too), MEMOIZE, MEMOIZE_THREAD and
// memo_shutdown, exercised and checked at run time.  tests/run_all.sh builds
// it with g++ and clang++ in every standard, -Wall -Wextra -Wpedantic -Werror.
#include "memo.h"
#include <cstdio>
#include <string>

static int builds;
static int make_str(void *, void **out)
{
    builds++;
    *out = new std::string("hello");
    return 0;
}
static void free_str(void *, void *v) { delete static_cast<std::string *>(v); }
#if defined(__GNUC__) && !defined(__clang__) && __cplusplus < 202002L
// GCC before C++20: MEMO_INIT's options are designated initializers, an
// extension there whose warning memo.h cannot silence from inside an
// initializer (docs/API.md, MEMO_INIT): the user's pragma does.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic" // GCC < 12
#if __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wc++20-extensions"
#endif
#pragma GCC diagnostic ignored "-Wmissing-field-initializers" // C++11
#endif
static memo_t cell = MEMO_INIT(make_str, free_str, nullptr, .retry_min_ms = 5);
static memo_t ttl = MEMO_INIT(make_str, free_str, nullptr, .retry_min_ms = 5, .ttl_ms = 60000,
                              .on_fork = MEMO_FORK_RESET, .refresh = MEMO_REFRESH_STALE);
#if defined(__GNUC__) && !defined(__clang__) && __cplusplus < 202002L
#pragma GCC diagnostic pop
#endif
static memo_t plain = MEMO_INIT(make_str, free_str, nullptr); // no options: no warning anywhere

struct point { int x, y; };
static int make_point(point *p) { p->x = 3; p->y = 4; return 0; }
MEMOIZE(static, get_point, point, make_point, NULL);
static int make_name(const char **out) { *out = "memo"; return 0; }
MEMOIZE(static, get_name, const char *, make_name, NULL, .retry_min_ms = 7, .retry_max_ms = 70);
static long answer() { return 42; }
MEMOIZE_VALUE(static, get_answer, long, answer, .retry_min_ms = 1);

static int tbuilds, tdestroys;
static int make_tls(int **out) { static int x[2]; *out = &x[tbuilds++ & 1]; return 0; }
static void drop_tls(int *) { tdestroys++; }
MEMOIZE_THREAD(static, get_tls, int *, make_tls, drop_tls, .retry_min_ms = 5);

int main()
{
    void *v = nullptr;
    int fails = 0;
    fails += memo_get(&cell, &v) != 0;
    fails += memo_get(&cell, &v) != 0;
    fails += *static_cast<std::string *>(v) != "hello";
    fails += builds != 1;
    fails += cell.retry_min_ms != 5;
    fails += memo_reset(&cell) != 0;
    fails += memo_get(&plain, &v) != 0 || *static_cast<std::string *>(v) != "hello" || builds != 2;
    fails += plain.retry_min_ms != 0 || plain.ttl_ms != 0 || plain.dtor != free_str;
    point p{};
    fails += get_point(&p) != 0;
    fails += p.x != 3 || p.y != 4;
    const char *name = nullptr;
    fails += get_name(&name) != 0 || std::string(name) != "memo";
    fails += get_name_memo.retry_min_ms != 7 || get_name_memo.retry_max_ms != 70;
    fails += get_answer() != 42 || get_answer_memo.retry_min_ms != 1;
    int *t1 = nullptr, *t2 = nullptr;
    fails += get_tls(&t1) != 0 || get_tls(&t2) != 0 || t1 != t2 || tbuilds != 1;
    fails += memo_get(&ttl, &v) != 0 || *static_cast<std::string *>(v) != "hello";
    fails += memo_shutdown() != 0;
    fails += tdestroys != 1; /* the per-thread value; the ttl cell's string is deleted too */
    fails += memo_peek(&ttl, &v) != EAGAIN;
    std::printf("%d passed, %d failed\n", fails ? 0 : 1, fails ? 1 : 0);
    return fails != 0;
}
