/* test_nongnu.c -- the typed generators as a C compiler without GNU
 * builtins sees them: every system header is parsed first, as GNU, then
 * __GNUC__ and __clang__ are undefined and memo.h is included (what
 * /work/shared/repro/second/nongnu_ptr.c did).  There MEMOIZE cannot tell a
 * pointer T from a struct and refuses to compile
 * (tests/compile_fail/nongnu_memoize.c); MEMOIZE_PTR keeps a pointer in the
 * slot, so invalidate by pointer and leases work -- before, a pointer T
 * silently lived in place: memo_invalidate returned EALREADY and kept the
 * broken value, memo_acquire returned ENOTSUP.  MEMO_NO_FUTEX needs weak
 * symbols (GNU): in those configurations the file is built as GNU. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <cmocka.h>
#include "mt_watchdog.h"
#ifndef MEMO_NO_FUTEX
#undef __GNUC__
#undef __clang__
#endif
#include "memo.h"

typedef struct conn {
    int fd;
} conn_t;
static int opens, closes;
static int open_conn(conn_t **out)
{
    conn_t *c = (conn_t *)malloc(sizeof *c);
    if (!c)
        return ENOMEM;
    c->fd = ++opens;
    *out = c;
    return 0;
}
static void close_conn(conn_t *c)
{
    closes++;
    free(c);
}
MEMOIZE_PTR(static, get_conn, conn_t *, open_conn, close_conn);

static void test_pointer_lives_in_the_slot(void **state)
{
    (void)state;
#if defined(__GNUC__) || defined(__clang__)
    print_message("    (built as GNU: MEMO_NO_FUTEX needs weak symbols)\n");
#endif
    conn_t *c = NULL, *c2 = NULL;
    assert_int_equal(get_conn(&c), 0);
    assert_int_equal(memo_i_flags_(&get_conn_memo), 0);
    void *raw = NULL;
    assert_int_equal(memo_peek(&get_conn_memo, &raw), 0);
    assert_ptr_equal(raw, c);
    /* the broken connection is dropped, and the next get reconnects */
    assert_int_equal(memo_invalidate(&get_conn_memo, c), 0);
    assert_int_equal(closes, 1);
    assert_int_equal(get_conn(&c2), 0);
    assert_int_equal(opens, 2);
    /* leases */
    memo_lease_t l;
    assert_int_equal(memo_acquire(&get_conn_memo, &l), 0);
    assert_ptr_equal(l.value, c2);
    assert_int_equal(memo_reset(&get_conn_memo), 0);
    assert_int_equal(closes, 1);                 /* deferred to the release */
    assert_int_equal(memo_release(&l), 0);
    assert_int_equal(closes, 2);
    conn_t **volatile nul = NULL;
    assert_int_equal(get_conn(nul), EINVAL);
}

typedef struct span {
    const char *p;
    size_t n;
} span_t;
static int spans;
static int make_span(span_t *out)
{
    spans++;
    out->p = "abc";
    out->n = 3;
    return 0;
}
MEMOIZE_INPLACE(static, get_span, span_t, make_span, NULL);
static double third(void) { return 0.375; } /* exact: no x87 excess precision */
MEMOIZE_VALUE(static, get_third, double, third);

static void test_value_lives_in_place(void **state)
{
    (void)state;
    span_t s = { NULL, 0 };
    assert_int_equal(get_span(&s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(memo_i_flags_(&get_span_memo), MEMO_I_F_INPLACE);
    memo_lease_t l;
    assert_int_equal(memo_acquire(&get_span_memo, &l), ENOTSUP);
    assert_int_equal(memo_reset(&get_span_memo), 0);
    assert_int_equal(get_span(&s), 0);
    assert_int_equal(spans, 2);
    span_t *volatile nul = NULL;
    assert_int_equal(get_span(nul), EINVAL);
    assert_true(get_third() == 0.375);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointer_lives_in_the_slot),
        cmocka_unit_test(test_value_lives_in_place),
    };
    return mt_run_tests("memo_nongnu", tests);
}
