/* test_typed.c -- the typed generators MEMOIZE, MEMOIZE_VALUE, MEMO_DECLARE. */
#include "testutil.h"
#include "shared_getter.h"
#include <sys/wait.h>
#include <unistd.h>
#include <signal.h>

/* --- a pointer value ---------------------------------------------------- */
typedef struct conn {
    int fd;
    int queries;
} conn_t;
static int conn_opens, conn_closes, conn_fail;
static conn_t *conn_closed_last;
static int open_conn(conn_t **out)
{
    conn_opens++;
    if (conn_fail)
        return conn_fail;
    conn_t *c = (conn_t *)calloc(1, sizeof *c);
    if (!c)
        return ENOMEM;
    c->fd = 3;
    *out = c;
    return 0;
}
static void close_conn(conn_t *c)
{
    conn_closes++;
    conn_closed_last = c;
    free(c);
}
MEMOIZE(static, get_conn, conn_t *, open_conn, close_conn);

static void test_memoize_pointer_builds_once(void **state)
{
    (void)state;
    conn_t *a = NULL, *b = NULL;
    assert_int_equal(get_conn(&a), 0);
    assert_int_equal(get_conn(&b), 0);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_int_equal(a->fd, 3);
    assert_int_equal(conn_opens, 1);
    /* pointer values live in the slot itself: memo_peek sees the pointer */
    void *raw;
    assert_int_equal(memo_peek(&get_conn_memo, &raw), 0);
    assert_ptr_equal(raw, a);
    /* invalidate with the typed pointer, then rebuild once */
    assert_int_equal(memo_invalidate(&get_conn_memo, a), 0);
    assert_int_equal(conn_closes, 1);
    assert_ptr_equal(conn_closed_last, a);
    assert_int_equal(get_conn(&b), 0);
    assert_int_equal(conn_opens, 2);
    assert_int_equal(memo_reset(&get_conn_memo), 0);
    assert_int_equal(conn_closes, 2);
}

static void test_memoize_passes_errors_and_retries(void **state)
{
    (void)state;
    conn_opens = 0;
    conn_fail = ECONNREFUSED;
    conn_t *c = (conn_t *)&c;
    assert_int_equal(get_conn(&c), ECONNREFUSED);
    assert_ptr_equal(c, (conn_t *)&c); /* untouched on error */
    conn_fail = 0;
    assert_int_equal(get_conn(&c), 0);
    assert_int_equal(conn_opens, 2);
    assert_int_equal(memo_reset(&get_conn_memo), 0);
}

/* --- a NULL pointer from a "successful" typed constructor ---------------- */
static int open_null(conn_t **out)
{
    *out = NULL;
    return 0;
}
MEMOIZE(static, get_null, conn_t *, open_null, NULL);

static void test_memoize_null_pointer_is_enovalue(void **state)
{
    (void)state;
    conn_t *c;
    assert_int_equal(get_null(&c), MEMO_ENOVALUE);
    assert_int_equal(memo_stats(&get_null_memo).failures, 1);
}

/* --- a struct value, with options -------------------------------------- */
typedef struct config {
    int port;
    double timeout;
    char host[32];
} config_t;
static int cfg_loads;
static config_t cfg_destroyed;
static int cfg_dtor_calls;
static int load_config(config_t *out)
{
    cfg_loads++;
    out->port = 5432;
    out->timeout = 1.5;
    strcpy(out->host, "127.0.0.1");
    return 0;
}
static void drop_config(config_t c)
{
    cfg_destroyed = c;
    cfg_dtor_calls++;
}
MEMOIZE(static, get_config, config_t, load_config, drop_config, .retry_min_ms = 10,
        .retry_max_ms = 1000);

static void test_memoize_struct_value(void **state)
{
    (void)state;
    assert_int_equal(get_config_memo.retry_min_ms, 10);
    assert_int_equal(get_config_memo.retry_max_ms, 1000);
    config_t c1, c2;
    memset(&c1, 0, sizeof c1);
    assert_int_equal(get_config(&c1), 0);
    assert_int_equal(get_config(&c2), 0);
    assert_int_equal(c1.port, 5432);
    assert_true(c1.timeout == 1.5);
    assert_string_equal(c1.host, "127.0.0.1");
    assert_memory_equal(&c1, &c2, sizeof c1);
    assert_int_equal(cfg_loads, 1);
    assert_int_equal(memo_reset(&get_config_memo), 0);
    assert_int_equal(cfg_dtor_calls, 1);
    assert_int_equal(cfg_destroyed.port, 5432); /* the dtor got the value */
    assert_int_equal(get_config(&c2), 0);
    assert_int_equal(cfg_loads, 2);
}

/* --- MEMOIZE_VALUE: infallible, once, across threads -------------------- */
static atomic_int salt_calls;
static double compute_salt(void)
{
    atomic_fetch_add(&salt_calls, 1);
    return 0.125;
}
MEMOIZE_VALUE(static, get_salt, double, compute_salt);

typedef struct salter {
    pthread_t th;
    pthread_barrier_t *b;
    double got;
} salter_t;
static void *salter_main(void *p)
{
    salter_t *s = (salter_t *)p;
    pthread_barrier_wait(s->b);
    s->got = get_salt();
    return NULL;
}

static void test_memoize_value_runs_once_across_threads(void **state)
{
    (void)state;
    int rounds = ROUNDS(200);
    for (int r = 0; r < rounds; r++) {
        atomic_store(&salt_calls, 0);
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, 6);
        salter_t s[6];
        for (int i = 0; i < 6; i++) {
            s[i].b = &b;
            assert_int_equal(pthread_create(&s[i].th, NULL, salter_main, &s[i]), 0);
        }
        for (int i = 0; i < 6; i++) {
            assert_int_equal(pthread_join(s[i].th, NULL), 0);
            assert_true(s[i].got == 0.125);
        }
        assert_int_equal(atomic_load(&salt_calls), 1);
        assert_int_equal(memo_reset(&get_salt_memo), 0);
        pthread_barrier_destroy(&b);
    }
}

/* --- MEMOIZE_VALUE calling itself aborts instead of hanging ------------- */
static int self_ref(void);
MEMOIZE_VALUE(static, get_self, int, self_ref);
static int self_ref(void) { return get_self() + 1; }

static void test_memoize_value_recursion_aborts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* silence the child's diagnostic */
        freopen("/dev/null", "w", stderr);
        (void)get_self();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* --- one definition shared by two translation units --------------------- */
static void test_declare_shares_one_cell_across_units(void **state)
{
    (void)state;
    shared_thing_t *here = NULL;
    assert_int_equal(get_shared_thing(&here), 0);
    shared_thing_t *there = tu_use_get();
    assert_ptr_equal(here, there);
    assert_int_equal(here->id, 4711);
    assert_int_equal(shared_thing_builds, 1);
    assert_int_equal(memo_stats(&get_shared_thing_memo).attempts, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memoize_pointer_builds_once),
        cmocka_unit_test(test_memoize_passes_errors_and_retries),
        cmocka_unit_test(test_memoize_null_pointer_is_enovalue),
        cmocka_unit_test(test_memoize_struct_value),
        cmocka_unit_test(test_memoize_value_runs_once_across_threads),
        cmocka_unit_test(test_memoize_value_recursion_aborts),
        cmocka_unit_test(test_declare_shares_one_cell_across_units),
    };
    return cmocka_run_group_tests_name("memo_typed", tests, NULL, NULL);
}
