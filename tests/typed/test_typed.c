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
            mt_join(s[i].th, NULL);
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

/* --- in-place values are never torn by a concurrent reset ---------------
 * A 4 KB struct whose every word holds the number of the construction that
 * built it.  Readers copy it out in a loop while a resetter resets the cell
 * and rebuilds it (a fresh number each time): a copy whose words disagree
 * mixes two constructions.  Before the seqlock the getter copied the static
 * value while the next constructor overwrote it (thousands of torn copies a
 * second; TSan reported the race). */
#ifndef BIG_WORDS
#define BIG_WORDS 512
#endif
#ifndef TEAR_READERS
#define TEAR_READERS 3
#endif
typedef struct big {
    uint64_t w[BIG_WORDS];
} big_t;
static atomic_uint_fast64_t big_gen;
static void big_fill(big_t *b)
{
    uint64_t g = atomic_fetch_add(&big_gen, 1) + 1;
    for (int i = 0; i < BIG_WORDS; i++)
        b->w[i] = g;
}
static int make_big(big_t *out)
{
    big_fill(out);
    return 0;
}
MEMOIZE(static, get_big, big_t, make_big, NULL);
static big_t make_big_value(void)
{
    big_t b;
    big_fill(&b);
    return b;
}
MEMOIZE_VALUE(static, get_big_value, big_t, make_big_value);

typedef struct tear_run {
    memo_t *cell;
    int use_value;           /* 1: MEMOIZE_VALUE's getter, 0: MEMOIZE's */
    atomic_int stop;
    atomic_long reads, torn, stale, changes;
    pthread_barrier_t start;
} tear_run_t;

/* 0 if b is one construction's value (every word equal, not 0). */
static int big_torn(const big_t *b)
{
    if (b->w[0] == 0)
        return 1;
    for (int i = 1; i < BIG_WORDS; i++)
        if (b->w[i] != b->w[0])
            return 1;
    return 0;
}

static void *tear_reader(void *p)
{
    tear_run_t *t = (tear_run_t *)p;
    pthread_barrier_wait(&t->start);
    uint64_t last = 0;
    while (!atomic_load(&t->stop)) {
        big_t b;
        if (t->use_value) {
            b = get_big_value();
        } else if (get_big(&b) != 0) {
            atomic_fetch_add(&t->torn, 1);
            continue;
        }
        atomic_fetch_add(&t->reads, 1);
        if (big_torn(&b))
            atomic_fetch_add(&t->torn, 1);
        else if (b.w[0] < last)   /* one reader never goes back in time */
            atomic_fetch_add(&t->stale, 1);
        else if (b.w[0] != last) {
            if (last)             /* a new value: this reader ran during a reset */
                atomic_fetch_add(&t->changes, 1);
            last = b.w[0];
        }
    }
    return NULL;
}

static void tear_run(memo_t *cell, int use_value)
{
    enum { READERS = TEAR_READERS };
    tear_run_t t;
    t.cell = cell;
    t.use_value = use_value;
    atomic_init(&t.stop, 0);
    atomic_init(&t.reads, 0);
    atomic_init(&t.torn, 0);
    atomic_init(&t.stale, 0);
    atomic_init(&t.changes, 0);
    pthread_barrier_init(&t.start, NULL, READERS + 1);
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, tear_reader, &t), 0);
    pthread_barrier_wait(&t.start);
    /* At least `want` resets, and on until the readers have seen `want` new
     * values (on a loaded machine readers may get little CPU while the
     * resetter runs): the overlap, not the reset count, is what can tear.
     * Bounded: at most 20 times `want` resets. */
    long want = ROUNDS(5000), rounds = 0;
    while (rounds < want || (atomic_load(&t.changes) < want && rounds < 20 * want)) {
        rounds++;
        assert_int_equal(memo_reset(cell), 0);
        big_t b;
        if (use_value)
            b = get_big_value();
        else
            assert_int_equal(get_big(&b), 0);
        assert_false(big_torn(&b));
    }
    atomic_store(&t.stop, 1);
    for (int i = 0; i < READERS; i++)
        mt_join(th[i], NULL);
    pthread_barrier_destroy(&t.start);
    printf("    %s: %ld resets, %ld reads, %ld new values seen, %ld torn, %ld went back\n",
           use_value ? "MEMOIZE_VALUE" : "MEMOIZE", rounds, atomic_load(&t.reads),
           atomic_load(&t.changes), atomic_load(&t.torn), atomic_load(&t.stale));
    assert_int_equal(atomic_load(&t.torn), 0);
    assert_int_equal(atomic_load(&t.stale), 0);
    assert_int_equal(memo_reset(cell), 0);
}

/* up to 20 x ROUNDS(5000) resets on a loaded machine: 4 x the watchdog's limit */
static void test_memoize_inplace_never_torn_by_reset(void **state)
{
    (void)state;
    mt_watchdog_slow(4);
    tear_run(&get_big_memo, 0);
}

static void test_memoize_value_never_torn_by_reset(void **state)
{
    (void)state;
    mt_watchdog_slow(4);
    tear_run(&get_big_value_memo, 1);
}

/* --- a typed getter with out == NULL: EINVAL, like memo_get ------------- */
static void test_typed_getter_null_out_is_einval(void **state)
{
    (void)state;
    conn_opens = 0;
    conn_fail = 0;
    /* empty cell: nothing built for a call that cannot return the value */
    assert_int_equal(get_conn(NULL), EINVAL);
    assert_int_equal(conn_opens, 0);
    conn_t *c;
    assert_int_equal(get_conn(&c), 0);
    /* ready cell (the fast path) */
    conn_t **volatile vnull = NULL;      /* not a constant the compiler sees */
    assert_int_equal(get_conn(vnull), EINVAL);
    assert_int_equal(memo_reset(&get_conn_memo), 0);
    /* in place: empty and ready */
    config_t *volatile cnull = NULL;
    assert_int_equal(memo_reset(&get_config_memo), 0);
    assert_int_equal(get_config(cnull), EINVAL);
    config_t cfg;
    assert_int_equal(get_config(&cfg), 0);
    assert_int_equal(get_config(cnull), EINVAL);
    assert_int_equal(memo_reset(&get_config_memo), 0);
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
        cmocka_unit_test(test_memoize_inplace_never_torn_by_reset),
        cmocka_unit_test(test_memoize_value_never_torn_by_reset),
        cmocka_unit_test(test_typed_getter_null_out_is_einval),
    };
    return mt_run_tests("memo_typed", tests);
}
