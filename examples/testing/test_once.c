/* test_once.c -- docs/TESTING.md 2: N threads call the code under test at
 * once; memo_stats proves the connection was built exactly once and every
 * thread waited for that one construction. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "app.c"
#include "fake_conn.h"

enum { THREADS = 8 };

static fake_conn_t fake;
static atomic_int connects;
static memo_stats_t before;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A connect that stays open until the other THREADS - 1 callers wait for it
 * (memo counts a caller in `waits` before it sleeps), at most 10 s. */
static int slow_connect(const char *addr, conn_t **out, char *why, size_t why_len)
{
    (void)addr;
    (void)why;
    (void)why_len;
    atomic_fetch_add(&connects, 1);
    uint64_t end = now_ns() + UINT64_C(10000000000);
    while (memo_stats(&app_db_memo).waits - before.waits < THREADS - 1 && now_ns() < end)
        sched_yield();
    fake_init(&fake, 42);
    *out = &fake.conn;
    return 0;
}

typedef struct worker {
    pthread_t th;
    pthread_barrier_t *start;
    int rc;
    long users;
    conn_t *conn;
} worker_t;

static void *worker_main(void *p)
{
    worker_t *w = (worker_t *)p;
    pthread_barrier_wait(w->start);
    w->rc = app_count_users(&w->users);
    if (w->rc == 0)
        w->rc = app_db(&w->conn);
    return NULL;
}

static void test_connects_once_under_threads(void **state)
{
    (void)state;
    pthread_barrier_t start;
    worker_t w[THREADS];
    app_connect = slow_connect;
    before = memo_stats(&app_db_memo);
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        w[i].start = &start;
        assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(w[i].th, NULL);
    pthread_barrier_destroy(&start);

    memo_stats_t after = memo_stats(&app_db_memo);
    assert_int_equal(after.attempts - before.attempts, 1);   /* one construction */
    assert_int_equal(after.successes - before.successes, 1);
    assert_int_equal(after.waits - before.waits, THREADS - 1); /* everyone else waited for it */
    assert_int_equal(atomic_load(&connects), 1);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].users, 42);
        assert_ptr_equal(w[i].conn, &fake.conn); /* the same connection */
    }
    assert_int_equal(fake.queries, THREADS);
}

static int reset_cell(void **state)
{
    (void)state;
    return memo_reset(&app_db_memo) == 0 && fake.closed == 1 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_connects_once_under_threads, reset_cell),
    };
    return cmocka_run_group_tests_name("testing: constructed exactly once", tests, NULL, NULL);
}
