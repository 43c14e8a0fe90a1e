/* uses_all.c -- a user program that uses every public macro and function,
 * so that the header's inline code and every generator's expansion are
 * compiled (and warned about) with a strict user's flags: tests/run_all.sh
 * builds it with gcc and clang in gnu99 .. c2x with $(WARN_STRICT) plus
 * -Wdeclaration-after-statement, clang -Weverything, and -O2
 * -Wstrict-aliasing=1 (the retired list once punned a void * as a record
 * pointer); then runs it.  A strict user sees nothing from memo: every
 * warning here is one on the user's lines or in the header.  The code below
 * is written as such a user would (declarations first, every function
 * prototyped, no implicit conversions). */
#include "memo.h"

#if MEMO_VERSION < 200
#error "memo.h: MEMO_VERSION"
#endif

typedef struct pair {
    int a, b;
} pair_t;

static int built, dropped, forgotten;

/* the untyped cell: constructor, destructor, .forget and every option */
static int ctor(void *arg, void **out)
{
    static int x;
    (void)arg;
    built++;
    *out = &x;
    return 0;
}

static void dtor(void *arg, void *value)
{
    (void)arg;
    (void)value;
    dropped++;
}

static void forget(void *arg, void *value)
{
    (void)arg;
    (void)value;
    forgotten++;
}

static memo_t cell = MEMO_INIT(ctor, dtor, NULL, .retry_min_ms = 5, .retry_max_ms = 50, .forget = forget,
                               .on_fork = MEMO_FORK_RESET);
static memo_t ttl_cell = MEMO_INIT(ctor, dtor, NULL, .ttl_ms = 60000, .max_stale_ms = 1000,
                                   .refresh = MEMO_REFRESH_STALE, .on_fork = MEMO_FORK_KEEP);
static memo_t ttl_block = MEMO_INIT(ctor, NULL, NULL, .ttl_ms = 60000, .refresh = MEMO_REFRESH_BLOCK);

/* the typed generators: a pointer T, a struct T, said explicitly, with
 * options; a value; per-thread values; external ones with their
 * declarations (as a shared header would give them) */
static int make_int(int **out)
{
    static int i = 42;
    *out = &i;
    return 0;
}

static void drop_int(int *p)
{
    (void)p;
    dropped++;
}

static int make_pair(pair_t *out)
{
    out->a = 1;
    out->b = 2;
    return 0;
}

static void drop_pair(pair_t p)
{
    (void)p;
    dropped++;
}

static int make_long(long *out)
{
    *out = 7;
    return 0;
}

static long seven(void)
{
    return 7;
}

static pair_t three_four(void)
{
    pair_t p;
    p.a = 3;
    p.b = 4;
    return p;
}

static int make_const(const char **out)
{
    *out = "c";
    return 0;
}

MEMOIZE(static, get_int, int *, make_int, drop_int, .retry_min_ms = 5, .forget = forget);
MEMOIZE(static, get_pair, pair_t, make_pair, drop_pair, .ttl_ms = 60000,
        .refresh = MEMO_REFRESH_STALE, .max_stale_ms = 100);
MEMOIZE(static, get_const, const char *const, make_const, NULL);
MEMOIZE_PTR(static, get_int_ptr, int *, make_int, NULL, .on_fork = MEMO_FORK_RESET);
MEMOIZE_INPLACE(static, get_long, long, make_long, NULL);
MEMOIZE_VALUE(static, get_seven, long, seven);
MEMOIZE_VALUE(static, get_three_four, pair_t, three_four, .ttl_ms = 60000);
MEMOIZE_THREAD(static, get_tint, int *, make_int, drop_int, .retry_min_ms = 5, .forget = forget,
               .on_fork = MEMO_FORK_RESET);
MEMOIZE_THREAD(static, get_tpair, pair_t, make_pair, NULL);

MEMO_DECLARE(get_ext, pair_t);
MEMOIZE(, get_ext, pair_t, make_pair, NULL);
MEMO_DECLARE_THREAD(get_text, int *);
MEMOIZE_THREAD(, get_text, int *, make_int, NULL);

int main(void)
{
    void *v = NULL;
    int *ip = NULL;
    const char *cp = NULL;
    long l = 0;
    pair_t p = { 0, 0 };
    memo_lease_t lease = MEMO_LEASE_INIT;
    memo_stats_t st;
    int rc;

    rc = memo_get(&cell, &v) | memo_get_timed(&cell, &v, 10) | memo_peek(&cell, &v);
    rc |= memo_acquire(&cell, &lease);
    rc |= memo_reset(&cell);
    rc |= memo_invalidate_lease(&lease) == EALREADY ? 0 : 1;
    rc |= memo_release(&lease);
    rc |= memo_get(&cell, &v);
    rc |= memo_invalidate(&cell, v);
    st = memo_stats(&cell);
    rc |= st.attempts != 2 || st.failures_in_row != 0 || st.last_error != 0;
    rc |= memo_get(&ttl_cell, &v) | memo_peek(&ttl_cell, &v) | memo_get(&ttl_block, &v);
    rc |= memo_peek(&ttl_block, &v) == MEMO_ENOVALUE;

    rc |= get_int(&ip) | (*ip != 42);
    rc |= get_pair(&p) | (p.a != 1) | (p.b != 2);
    if (get_const(&cp) != 0 || cp[0] != 'c')
        rc |= 1;
    rc |= get_int_ptr(&ip) | get_long(&l) | (l != 7);
    p = get_three_four();
    rc |= get_seven() != 7 || p.a != 3 || p.b != 4;
    rc |= memo_invalidate(&get_int_memo, ip);
    rc |= get_tint(&ip) | get_tpair(&p) | get_text(&ip) | get_ext(&p);
    rc |= get_tint_reset() | get_text_reset();
    rc |= get_tint(&ip) | get_text(&ip);

    rc |= memo_get(&cell, &v) | get_int(&ip);
    rc |= memo_forget_all();
    rc |= forgotten != 3; /* .forget of cell, get_int and this thread's get_tint */
    rc |= get_tint(&ip) | get_int(&ip) | memo_get(&cell, &v);
    rc |= memo_shutdown();
    rc |= memo_shutdown(); /* idempotent */
    rc |= memo_peek(&cell, &v) != EAGAIN;
    return rc != 0 || built == 0 || dropped == 0;
}
