// cxx_smoke.cpp -- memo.h included from C++ (C++23 <stdatomic.h>): the cell,
// MEMO_INIT with options (lifetime options too), MEMOIZE, MEMOIZE_THREAD and
// memo_shutdown, exercised and checked at run time.
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
static memo_t cell = MEMO_INIT(make_str, free_str, nullptr, .retry_min_ms = 5);

struct point { int x, y; };
static int make_point(point *p) { p->x = 3; p->y = 4; return 0; }
MEMOIZE(static, get_point, point, make_point, NULL);

static int tbuilds, tdestroys;
static int make_tls(int **out) { static int x[2]; *out = &x[tbuilds++ & 1]; return 0; }
static void drop_tls(int *) { tdestroys++; }
MEMOIZE_THREAD(static, get_tls, int *, make_tls, drop_tls, .retry_min_ms = 5);
static memo_t ttl = MEMO_INIT(make_str, free_str, nullptr, .retry_min_ms = 5, .ttl_ms = 60000,
                              .on_fork = MEMO_FORK_RESET, .refresh = MEMO_REFRESH_STALE);

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
    point p{};
    fails += get_point(&p) != 0;
    fails += p.x != 3 || p.y != 4;
    int *t1 = nullptr, *t2 = nullptr;
    fails += get_tls(&t1) != 0 || get_tls(&t2) != 0 || t1 != t2 || tbuilds != 1;
    fails += memo_get(&ttl, &v) != 0 || *static_cast<std::string *>(v) != "hello";
    fails += memo_shutdown() != 0;
    fails += tdestroys != 1; /* the per-thread value; the ttl cell's string is deleted too */
    fails += memo_peek(&ttl, &v) != EAGAIN;
    std::printf("%d passed, %d failed\n", fails ? 0 : 1, fails ? 1 : 0);
    return fails != 0;
}
