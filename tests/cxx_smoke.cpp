// cxx_smoke.cpp -- memo.h included from C++ (C++23 <stdatomic.h>): the cell,
// MEMO_INIT with options, and MEMOIZE, exercised and checked at run time.
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
    std::printf("%d passed, %d failed\n", fails ? 0 : 1, fails ? 1 : 0);
    return fails != 0;
}
