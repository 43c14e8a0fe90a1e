/* test_overrides.c -- the override points: MEMO_MALLOC/MEMO_FREE receive every
 * allocation memo makes, and MEMO_ASSERT sees memo's invariants (header as a
 * manual: assertions and override points). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

static int n_malloc, n_free, n_assert_fail;
static const char *last_assert;
static void *count_malloc(size_t n) { n_malloc++; return malloc(n); }
static void count_free(void *p) { if (p) n_free++; free(p); }
static void assert_hook(int ok, const char *what) { if (!ok) { n_assert_fail++; last_assert = what; } }
#define MEMO_MALLOC(n) count_malloc(n)
#define MEMO_FREE(p) count_free(p)
#define MEMO_ASSERT(c) assert_hook(!!(c), #c)
#include "memo.h"
#include "mt_watchdog.h"

static int objs[4], nbuilt, ndestroyed;
static int o_ctor(void *arg, void **out) { (void)arg; *out = &objs[nbuilt++ % 4]; return 0; }
static void o_dtor(void *arg, void *v) { (void)arg; (void)v; ndestroyed++; }

static void test_every_allocation_goes_through_memo_malloc(void **state)
{
    (void)state;
    memo_t m = MEMO_INIT(o_ctor, o_dtor, NULL);
    memo_lease_t l = MEMO_LEASE_INIT;
    n_malloc = n_free = 0;
    assert_int_equal(memo_acquire(&m, &l), 0);
    assert_int_equal(memo_reset(&m), 0);   /* detached while leased: its record */
    assert_int_equal(n_malloc, 1);
    assert_int_equal(n_free, 0);
    assert_int_equal(memo_release(&l), 0); /* last release: destroyed, record freed */
    assert_int_equal(n_free, 1);
    assert_int_equal(ndestroyed, 1);
    void *v = NULL;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_reset(&m), 0);   /* unleased: the record is freed at once */
    assert_int_equal(n_malloc, 2);
    assert_int_equal(n_free, 2);
    assert_int_equal(n_assert_fail, 0);
}

static void test_memo_assert_sees_a_broken_invariant(void **state)
{
    (void)state;
    memo_t m = MEMO_INIT(o_ctor, o_dtor, NULL);
    n_assert_fail = 0;
    void *v = NULL;
    assert_int_equal(memo_get(&m, &v), 0); /* normal use: no failure */
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(n_assert_fail, 0);
    /* white-box: end a busy period that does not exist (the cell is EMPTY,
     * and this thread is not its owner) */
    memo_i_end_busy_(&m, MEMO_I_NEXT(atomic_load(&m.state_), MEMO_I_EMPTY));
    assert_true(n_assert_fail >= 2);
    assert_non_null(last_assert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_goes_through_memo_malloc),
        cmocka_unit_test(test_memo_assert_sees_a_broken_invariant),
    };
    return mt_run_tests("memo_overrides", tests);
}
