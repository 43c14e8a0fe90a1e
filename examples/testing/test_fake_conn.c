/* test_fake_conn.c -- docs/TESTING.md 1 and 4: the code under test runs on a
 * fake connection put into its memo cell with memo_set; between tests the
 * fake is taken back (memo_take) or the cell is emptied (memo_reset,
 * memo_shutdown), so that every test starts from an empty cell.  The real
 * connect never runs. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "app.c" /* the code under test, with its cell app_db_memo */
#include "fake_conn.h"

static fake_conn_t fake;

/* Setup: the fake goes into the cell before the code under test runs. */
static int with_fake(void **state)
{
    fake_init(&fake, 42);
    int rc = memo_set(&app_db_memo, &fake.conn);
    if (rc != 0) { /* EEXIST: a value is left from an earlier test */
        fprintf(stderr, "memo_set: %s\n", strerror(rc));
        return -1;
    }
    *state = &fake;
    return 0;
}

/* Teardown: take the fake back; the destructor does not run on it. */
static int take_fake(void **state)
{
    void *v;
    if (memo_take(&app_db_memo, &v) != 0 || v != &fake.conn || fake.closed != 0)
        return -1;
    (void)state;
    return 0;
}

/* Teardown: memo_reset empties the cell; its destructor closes the fake, as
 * it would close a real connection. */
static int reset_cell(void **state)
{
    (void)state;
    if (memo_reset(&app_db_memo) != 0 || fake.closed != 1)
        return -1;
    return 0;
}

/* Teardown: memo_shutdown empties every cell of the program. */
static int shutdown_all(void **state)
{
    (void)state;
    if (memo_shutdown() != 0 || fake.closed != 1)
        return -1;
    return 0;
}

static void test_counts_users_on_the_fake(void **state)
{
    fake_conn_t *f = (fake_conn_t *)*state;
    long n = 0;
    assert_int_equal(app_count_users(&n), 0);
    assert_int_equal(n, 42);
    assert_int_equal(f->queries, 1);
    assert_int_equal(memo_stats(&app_db_memo).attempts, 0); /* never connected */
}

static void test_reuses_one_connection(void **state)
{
    fake_conn_t *f = (fake_conn_t *)*state;
    long n = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(app_count_users(&n), 0);
    assert_int_equal(f->queries, 3);
    assert_int_equal(memo_stats(&app_db_memo).attempts, 0);
}

static void test_a_second_fake_is_refused(void **state)
{
    fake_conn_t other;
    fake_init(&other, 7);
    assert_int_equal(memo_set(&app_db_memo, &other.conn), EEXIST);
    long n = 0;
    assert_int_equal(app_count_users(&n), 0);
    assert_int_equal(n, 42); /* still the first fake */
    (void)state;
}

/* A failed connect before the fake: memo_set forgets the failure and its
 * backoff window, so the fake is served at once. */
static int refuse(const char *addr, conn_t **out, char *why, size_t why_len)
{
    (void)addr;
    (void)out;
    snprintf(why, why_len, "refused by the test");
    return ECONNREFUSED;
}

static void test_set_after_a_failed_connect(void **state)
{
    app_connect_fn real = app_connect;
    long n = 0;
    app_connect = refuse;
    assert_int_equal(app_count_users(&n), ECONNREFUSED);
    assert_int_equal(app_count_users(&n), ECONNREFUSED); /* refused in the backoff window */
    assert_true(memo_stats(&app_db_memo).failures_in_row >= 1);
    app_connect = real;
    assert_int_equal(with_fake(state), 0);
    assert_int_equal(app_count_users(&n), 0);
    assert_int_equal(n, 42);
    assert_int_equal(memo_stats(&app_db_memo).failures_in_row, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_users_on_the_fake, with_fake, take_fake),
        cmocka_unit_test_setup_teardown(test_reuses_one_connection, with_fake, reset_cell),
        cmocka_unit_test_setup_teardown(test_a_second_fake_is_refused, with_fake, shutdown_all),
        cmocka_unit_test_teardown(test_set_after_a_failed_connect, take_fake),
    };
    return cmocka_run_group_tests_name("testing: a fake connection", tests, NULL, NULL);
}
