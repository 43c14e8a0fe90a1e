/* test_backoff.c -- retry backoff windows, driven by a fake clock through the
 * MEMO_NOW_NS() override, so no test waits for real time to pass. */
#define _GNU_SOURCE 1
#include <stdatomic.h>
#include <stdint.h>
static _Atomic uint64_t fake_now_ns = 1000000000u;
#define MEMO_NOW_NS() atomic_load(&fake_now_ns)
#include "testutil.h"

static void advance_ms(uint64_t ms) { atomic_fetch_add(&fake_now_ns, ms * 1000000u); }

static int calls;
static int fail_with;
static int obj;
static int flaky(void *arg, void **out)
{
    (void)arg;
    calls++;
    if (fail_with)
        return fail_with;
    *out = &obj;
    return 0;
}

static void reset_fixture(memo_t *m, uint32_t min_ms, uint32_t max_ms)
{
    memset(m, 0, sizeof *m);
    m->ctor = flaky;
    m->retry_min_ms = min_ms;
    m->retry_max_ms = max_ms;
    calls = 0;
    fail_with = ECONNREFUSED;
}

/* Inside the window: the last error at once, no attempt.  At its end: a new
 * attempt.  The window doubles per consecutive failure. */
static void test_window_fails_fast_then_doubles(void **state)
{
    (void)state;
    memo_t m;
    reset_fixture(&m, 100, 10000);
    void *v;
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(calls, 1);
    advance_ms(99);
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(memo_get_timed(&m, &v, 0), ECONNREFUSED);
    assert_int_equal(calls, 1);                 /* no attempt in the window */
    advance_ms(1);                              /* t = 100: window over */
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(calls, 2);
    advance_ms(199);                            /* second window: 200 ms */
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(calls, 2);
    advance_ms(1);
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(calls, 3);
    advance_ms(399);                            /* third window: 400 ms */
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(calls, 3);
    assert_int_equal(memo_stats(&m).failures_in_row, 3);
    assert_int_equal(memo_stats(&m).attempts, 3);
}

/* Success resets the window to retry_min_ms. */
static void test_success_resets_window(void **state)
{
    (void)state;
    memo_t m;
    reset_fixture(&m, 100, 10000);
    void *v;
    for (int i = 0; i < 3; i++) {             /* windows 100, 200, 400 */
        assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
        advance_ms(100u << i);
    }
    fail_with = 0;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(calls, 4);
    assert_int_equal(memo_stats(&m).failures_in_row, 0);
    assert_int_equal(memo_reset(&m), 0);
    fail_with = EIO;
    assert_int_equal(memo_get(&m, &v), EIO);
    advance_ms(100);                            /* back to 100, not 800 */
    assert_int_equal(memo_get(&m, &v), EIO);
    assert_int_equal(calls, 6);
}

static void test_window_is_capped_by_retry_max(void **state)
{
    (void)state;
    memo_t m;
    reset_fixture(&m, 100, 250);
    void *v;
    uint64_t expect[] = { 100, 200, 250, 250, 250 };
    for (int i = 0; i < 5; i++) {
        assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
        assert_int_equal(calls, i + 1);
        advance_ms(expect[i] - 1);
        assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
        assert_int_equal(calls, i + 1);
        advance_ms(1);
    }
}

static void test_no_retry_max_means_constant_window(void **state)
{
    (void)state;
    memo_t m;
    reset_fixture(&m, 50, 0);
    void *v;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
        advance_ms(49);
        assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
        assert_int_equal(calls, i + 1);
        advance_ms(1);
    }
}

static void test_without_backoff_every_call_attempts(void **state)
{
    (void)state;
    memo_t m;
    reset_fixture(&m, 0, 0);
    void *v;
    for (int i = 0; i < 10; i++)
        assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(calls, 10);
}

static void test_reset_forgets_failure_and_window(void **state)
{
    (void)state;
    memo_t m;
    reset_fixture(&m, 1000, 0);
    void *v;
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(calls, 1);
    assert_int_equal(memo_reset(&m), 0);
    fail_with = 0;
    assert_int_equal(memo_get(&m, &v), 0);      /* at once, no window */
    assert_int_equal(calls, 2);
    assert_ptr_equal(v, &obj);
}

static void test_peek_in_window_is_eagain(void **state)
{
    (void)state;
    memo_t m;
    reset_fixture(&m, 100, 0);
    void *v;
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    assert_int_equal(calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_fails_fast_then_doubles),
        cmocka_unit_test(test_success_resets_window),
        cmocka_unit_test(test_window_is_capped_by_retry_max),
        cmocka_unit_test(test_no_retry_max_means_constant_window),
        cmocka_unit_test(test_without_backoff_every_call_attempts),
        cmocka_unit_test(test_reset_forgets_failure_and_window),
        cmocka_unit_test(test_peek_in_window_is_eagain),
    };
    return mt_run_tests("memo_backoff", tests);
}
