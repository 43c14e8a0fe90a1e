/* test_retry.c -- docs/TESTING.md 3: a connect that fails K times.  The test
 * moves memo's clock (MEMO_NOW_NS) itself, so the backoff windows are exact
 * and nothing sleeps; it checks each retry, each window and the reason the
 * constructor attached with memo_failf. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdint.h>

/* memo's clock for backoff windows, before memo.h is included */
static _Atomic uint64_t fake_now_ns = UINT64_C(1000000000);
#define MEMO_NOW_NS() atomic_load(&fake_now_ns)

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "app.c"
#include "fake_conn.h"

static void advance_ms(uint64_t ms) { atomic_fetch_add(&fake_now_ns, ms * 1000000u); }

static fake_conn_t fake;
static int refusals_left; /* the next connects refused */
static int connects;

static int flaky_connect(const char *addr, conn_t **out, char *why, size_t why_len)
{
    (void)addr;
    connects++;
    if (refusals_left > 0) {
        refusals_left--;
        snprintf(why, why_len, "Connection refused (connect %d)", connects);
        return ECONNREFUSED;
    }
    fake_init(&fake, 7);
    *out = &fake.conn;
    return 0;
}

static void assert_refused(const char *why)
{
    long n;
    assert_int_equal(app_count_users(&n), ECONNREFUSED);
    memo_error_t e = memo_last_error();
    assert_int_equal(e.code, ECONNREFUSED);
    assert_int_equal(e.origin, MEMO_FROM_CTOR); /* the connect's error, not memo's */
    assert_non_null(e.message);
    assert_string_equal(e.message, why);
}

static void test_retries_after_each_backoff_window(void **state)
{
    (void)state;
    long n = 0;
    app_connect = flaky_connect;
    setenv("APP_DB_ADDR", "db.test:5432", 1);
    refusals_left = 3;
    connects = 0;

    assert_refused("connect db.test:5432: Connection refused (connect 1)");
    advance_ms(99); /* inside the 100 ms window: refused at once, no connect */
    assert_refused("connect db.test:5432: Connection refused (connect 1)");
    assert_int_equal(connects, 1);
    advance_ms(1); /* the window is over: connect 2 */
    assert_refused("connect db.test:5432: Connection refused (connect 2)");
    assert_int_equal(connects, 2);
    advance_ms(199); /* the window doubled: 200 ms */
    assert_refused("connect db.test:5432: Connection refused (connect 2)");
    advance_ms(1);
    assert_refused("connect db.test:5432: Connection refused (connect 3)");
    advance_ms(400);
    assert_int_equal(app_count_users(&n), 0); /* connect 4 succeeds */
    assert_int_equal(n, 7);
    assert_int_equal(connects, 4);

    memo_stats_t st = memo_stats(&app_db_memo);
    assert_int_equal(st.attempts, 4);
    assert_int_equal(st.failures, 3);
    assert_int_equal(st.successes, 1);
    assert_int_equal(st.failures_in_row, 0);
    assert_int_equal(st.last_error, ECONNREFUSED); /* the latest failure, kept */
    assert_string_equal(st.last_message, "connect db.test:5432: Connection refused (connect 3)");
}

static void test_window_stops_doubling_at_retry_max(void **state)
{
    (void)state;
    app_connect = flaky_connect;
    setenv("APP_DB_ADDR", "db.test:5432", 1);
    refusals_left = 6;
    connects = 0;
    uint64_t window[] = { 100, 200, 400, 800, 1000, 1000 }; /* .retry_max_ms = 1000 */
    for (int i = 0; i < 6; i++) {
        char why[96];
        snprintf(why, sizeof why, "connect db.test:5432: Connection refused (connect %d)", i + 1);
        assert_refused(why);
        advance_ms(window[i] - 1);
        assert_refused(why); /* still inside the window */
        assert_int_equal(connects, i + 1);
        advance_ms(1);
    }
}

/* Reset between tests: the cell forgets its value, the failure and its
 * backoff window (memo_stats keeps counting). */
static int reset_cell(void **state)
{
    (void)state;
    unsetenv("APP_DB_ADDR");
    return memo_reset(&app_db_memo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_retries_after_each_backoff_window, reset_cell),
        cmocka_unit_test_teardown(test_window_stops_doubling_at_retry_max, reset_cell),
    };
    return cmocka_run_group_tests_name("testing: a failing connect", tests, NULL, NULL);
}
