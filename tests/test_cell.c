/* test_cell.c -- the memo_t cell: one test per promise of SPEC section 1.
 * Races are forced with barriers, gates and the waiter counter, never with
 * sleeps; constructor and destructor calls are counted. */
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* A configurable constructor: counts calls, optionally passes a gate, then
 * returns `result` (0: success with `value`). */
typedef struct fixture {
    atomic_int ctor_calls;
    atomic_int dtor_calls;
    void *last_destroyed;
    gate_t gate;
    int use_gate;
    int result;
    void *value;
    int obj[4];
} fixture_t;

static int fx_ctor(void *arg, void **out)
{
    fixture_t *f = (fixture_t *)arg;
    atomic_fetch_add(&f->ctor_calls, 1);
    if (f->use_gate)
        gate_pass(&f->gate);
    if (f->result)
        return f->result;
    *out = f->value;
    return 0;
}

static void fx_dtor(void *arg, void *v)
{
    fixture_t *f = (fixture_t *)arg;
    f->last_destroyed = v;
    atomic_fetch_add(&f->dtor_calls, 1);
}

static fixture_t *fx_new(void)
{
    fixture_t *f = (fixture_t *)calloc(1, sizeof *f);
    gate_init(&f->gate);
    f->value = &f->obj[0];
    return f;
}

static void fx_free(fixture_t *f)
{
    gate_destroy(&f->gate);
    free(f);
}

static void cell_init(memo_t *m, fixture_t *f)
{
    memset(m, 0, sizeof *m);
    m->ctor = fx_ctor;
    m->dtor = fx_dtor;
    m->arg = f;
}

/* ------------------------------------------------------------------------ */
static int static_calls;
static int static_obj;
static int static_ctor(void *arg, void **out)
{
    static_calls++;
    *out = arg;
    return 0;
}
static memo_t static_cell = MEMO_INIT(static_ctor, NULL, &static_obj);

static void test_static_init_constructs_once(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        void *v = NULL;
        assert_int_equal(memo_get(&static_cell, &v), 0);
        assert_ptr_equal(v, &static_obj);
    }
    assert_int_equal(static_calls, 1);
    assert_int_equal(memo_stats(&static_cell).attempts, 1);
}

static void test_zeroed_cell_with_ctor_is_valid(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    memo_t m;
    cell_init(&m, f);
    void *v = NULL;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_equal(v, f->value);
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(f->ctor_calls, 1);
    fx_free(f);
}

static void test_bad_arguments_are_einval(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    memo_t m;
    cell_init(&m, f);
    void *v = (void *)&v;
    assert_int_equal(memo_get(NULL, &v), EINVAL);
    assert_int_equal(memo_get(&m, NULL), EINVAL);
    assert_int_equal(memo_get_timed(NULL, &v, 10), EINVAL);
    assert_int_equal(memo_get_timed(&m, NULL, 10), EINVAL);
    assert_int_equal(memo_get_timed(&m, &v, -1), EINVAL);
    assert_int_equal(memo_peek(NULL, &v), EINVAL);
    assert_int_equal(memo_peek(&m, NULL), EINVAL);
    assert_int_equal(memo_reset(NULL), EINVAL);
    assert_int_equal(memo_invalidate(NULL, &v), EINVAL);
    assert_int_equal(memo_invalidate(&m, NULL), EINVAL);
    assert_ptr_equal(v, (void *)&v); /* untouched */
    assert_int_equal(f->ctor_calls, 0);
    memo_stats_t st = memo_stats(NULL);
    assert_int_equal(st.attempts, 0);

    memo_t noctor;
    memset(&noctor, 0, sizeof noctor);
    assert_int_equal(memo_get(&noctor, &v), EINVAL);
    assert_int_equal(memo_get_timed(&noctor, &v, 0), EINVAL);
    assert_int_equal(memo_peek(&noctor, &v), EAGAIN);
    assert_int_equal(memo_reset(&noctor), 0);
    fx_free(f);
}

static void test_cell_layout(void **state)
{
    (void)state;
    assert_int_equal(offsetof(memo_t, slot_), 0);
    assert_true(offsetof(memo_t, state_) + sizeof(uint32_t) <= 16);
    /* 0.2: the lifetime options and the registry entry take the cell past
     * the 128 bytes of 0.1 (docs/DESIGN.md 9): three lines, the fast path
     * reading only the first 16 bytes; 8-aligned on every target (i386:
     * GCC <= 10 and >= 11 agree). */
    assert_int_equal(sizeof(memo_t), sizeof(void *) == 8 ? 184 : 152);
    assert_int_equal(_Alignof(memo_t), 8);
    assert_int_equal(offsetof(memo_t, exp_ns_) % 8, 0);
    assert_int_equal(offsetof(memo_t, leases_) % 8, 0);
    assert_int_equal(offsetof(memo_t, owner_) % 8, 0);
}

/* Single-flight: N threads arrive together on an empty cell; one constructs,
 * the others sleep until it is done, and all get the same value. */
#define NTHREADS 8
static void test_single_flight_under_contention(void **state)
{
    (void)state;
    int rounds = ROUNDS(300);
    for (int r = 0; r < rounds; r++) {
        fixture_t *f = fx_new();
        memo_t m;
        cell_init(&m, f);
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, NTHREADS);
        getter_t g[NTHREADS];
        for (int i = 0; i < NTHREADS; i++)
            getter_start(&g[i], &m, &b);
        for (int i = 0; i < NTHREADS; i++) {
            getter_join(&g[i]);
            assert_int_equal(g[i].err, 0);
            assert_ptr_equal(g[i].value, f->value);
        }
        assert_int_equal(f->ctor_calls, 1);
        pthread_barrier_destroy(&b);
        fx_free(f);
    }
}

/* The waiters really sleep on the running attempt and share its value. */
static void test_waiters_share_the_running_attempt(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    f->use_gate = 1;
    memo_t m;
    cell_init(&m, f);
    getter_t owner, w[4];
    getter_start(&owner, &m, NULL);
    gate_wait_entered(&f->gate, 1);
    for (int i = 0; i < 4; i++)
        getter_start(&w[i], &m, NULL);
    wait_for_waiters(&m, 4);
    void *v;
    assert_int_equal(memo_peek(&m, &v), EAGAIN); /* BUSY: peek never waits */
    gate_open(&f->gate);
    getter_join(&owner);
    assert_int_equal(owner.err, 0);
    for (int i = 0; i < 4; i++) {
        getter_join(&w[i]);
        assert_int_equal(w[i].err, 0);
        assert_ptr_equal(w[i].value, f->value);
    }
    assert_int_equal(f->ctor_calls, 1);
    memo_stats_t st = memo_stats(&m);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(st.successes, 1);
    assert_int_equal(st.waits, 4);
    fx_free(f);
}

/* A failed attempt's error goes to its caller and to every waiter of that
 * attempt; nothing is cached and the next call makes a new attempt. */
static void test_failure_reaches_all_waiters_then_retries(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    f->use_gate = 1;
    f->result = 42;
    memo_t m;
    cell_init(&m, f);
    getter_t owner, w[5];
    getter_start(&owner, &m, NULL);
    gate_wait_entered(&f->gate, 1);
    for (int i = 0; i < 5; i++)
        getter_start(&w[i], &m, NULL);
    wait_for_waiters(&m, 5);
    gate_open(&f->gate);
    getter_join(&owner);
    assert_int_equal(owner.err, 42);
    for (int i = 0; i < 5; i++) {
        getter_join(&w[i]);
        assert_int_equal(w[i].err, 42);
    }
    assert_int_equal(f->ctor_calls, 1);
    void *v;
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    memo_stats_t st = memo_stats(&m);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.last_error, 42);

    f->result = 0; /* the resource comes back */
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_equal(v, f->value);
    assert_int_equal(f->ctor_calls, 2);
    assert_int_equal(memo_stats(&m).failures_in_row, 0);
    fx_free(f);
}

static void test_constructor_errors_pass_through_unchanged(void **state)
{
    (void)state;
    int codes[] = { -1, -7, 1, ECONNREFUSED, 100000, INT_MIN, INT_MAX };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        fixture_t *f = fx_new();
        f->result = codes[i];
        memo_t m;
        cell_init(&m, f);
        void *v = NULL;
        assert_int_equal(memo_get(&m, &v), codes[i]);
        assert_int_equal(memo_get(&m, &v), codes[i]); /* no backoff: a new attempt */
        assert_int_equal(f->ctor_calls, 2);
        assert_int_equal(memo_stats(&m).last_error, codes[i]);
        assert_null(v);
        fx_free(f);
    }
}

static void test_success_without_value_is_enovalue(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    f->value = NULL;
    memo_t m;
    cell_init(&m, f);
    void *v = NULL;
    assert_int_equal(memo_get(&m, &v), MEMO_ENOVALUE);
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    memo_stats_t st = memo_stats(&m);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.last_error, MEMO_ENOVALUE);
    assert_int_equal(f->dtor_calls, 0); /* nothing to destroy */
    f->value = &f->obj[1];
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_equal(v, &f->obj[1]);
    fx_free(f);
}

/* Recursion: a constructor that gets its own cell receives EDEADLK. */
static memo_t rec_cell;
static int rec_inner_get, rec_inner_timed, rec_inner_reset, rec_inner_invalidate;
static int rec_obj;
static int rec_ctor(void *arg, void **out)
{
    (void)arg;
    void *v;
    rec_inner_get = memo_get(&rec_cell, &v);
    rec_inner_timed = memo_get_timed(&rec_cell, &v, 1000);
    rec_inner_reset = memo_reset(&rec_cell);
    rec_inner_invalidate = memo_invalidate(&rec_cell, &rec_obj);
    *out = &rec_obj;
    return 0;
}
static int rec_dtor_get;
static void rec_dtor(void *arg, void *value)
{
    (void)arg;
    (void)value;
    void *v;
    rec_dtor_get = memo_get(&rec_cell, &v);
}

static void test_recursive_get_is_edeadlk(void **state)
{
    (void)state;
    memset(&rec_cell, 0, sizeof rec_cell);
    rec_cell.ctor = rec_ctor;
    rec_cell.dtor = rec_dtor;
    void *v;
    assert_int_equal(memo_get(&rec_cell, &v), 0);
    assert_ptr_equal(v, &rec_obj);
    assert_int_equal(rec_inner_get, EDEADLK);
    assert_int_equal(rec_inner_timed, EDEADLK);
    assert_int_equal(rec_inner_reset, EDEADLK);
    assert_int_equal(rec_inner_invalidate, EDEADLK);
    assert_int_equal(memo_reset(&rec_cell), 0);
    assert_int_equal(rec_dtor_get, EDEADLK);
    assert_int_equal(memo_stats(&rec_cell).attempts, 1);
}

/* Cancellation: the constructing thread is cancelled inside the constructor;
 * the cell goes back to empty and one waiter takes the construction over.
 * The waiters see no error. */
typedef struct cancel_fx {
    gate_t gate;
    atomic_int calls;
    int mode; /* 0: cancel the first attempt, 1: pthread_exit in it */
    int obj;
} cancel_fx_t;

static int cancel_ctor(void *arg, void **out)
{
    cancel_fx_t *c = (cancel_fx_t *)arg;
    if (atomic_fetch_add(&c->calls, 1) == 0) {
        if (c->mode == 1) {
            gate_pass(&c->gate);   /* returns once the test opens the gate */
            pthread_exit(NULL);
        }
        gate_pass(&c->gate);       /* never opened: cancelled in here */
    }
    *out = &c->obj;
    return 0;
}

static void run_takeover(int mode)
{
    cancel_fx_t c;
    memset(&c, 0, sizeof c);
    gate_init(&c.gate);
    c.mode = mode;
    memo_t m;
    memset(&m, 0, sizeof m);
    m.ctor = cancel_ctor;
    m.arg = &c;
    getter_t owner, w[4];
    getter_start(&owner, &m, NULL);
    gate_wait_entered(&c.gate, 1);
    for (int i = 0; i < 4; i++)
        getter_start(&w[i], &m, NULL);
    wait_for_waiters(&m, 4);
    if (mode == 0)
        assert_int_equal(pthread_cancel(owner.th), 0);
    else
        gate_open(&c.gate);
    void *ret;
    mt_join(owner.th, &ret);
    if (mode == 0)
        assert_ptr_equal(ret, PTHREAD_CANCELED);
    for (int i = 0; i < 4; i++) {
        getter_join(&w[i]);
        assert_int_equal(w[i].err, 0);
        assert_ptr_equal(w[i].value, &c.obj);
    }
    assert_int_equal(c.calls, 2);
    memo_stats_t st = memo_stats(&m);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(st.successes, 1);
    assert_int_equal(st.failures, 0);
    assert_int_equal(st.last_error, 0);
    gate_destroy(&c.gate);
}

static void test_cancelled_constructor_is_taken_over(void **state)
{
    (void)state;
    run_takeover(0);
}

static void test_exiting_constructor_is_taken_over(void **state)
{
    (void)state;
    run_takeover(1);
}

/* A cancelled constructor with nobody waiting leaves an empty cell. */
static void test_cancelled_constructor_leaves_cell_empty(void **state)
{
    (void)state;
    cancel_fx_t c;
    memset(&c, 0, sizeof c);
    gate_init(&c.gate);
    memo_t m;
    memset(&m, 0, sizeof m);
    m.ctor = cancel_ctor;
    m.arg = &c;
    getter_t owner;
    getter_start(&owner, &m, NULL);
    gate_wait_entered(&c.gate, 1);
    assert_int_equal(pthread_cancel(owner.th), 0);
    mt_join(owner.th, NULL);
    void *v;
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    assert_int_equal(memo_get_timed(&m, &v, 0), 0); /* not BUSY: constructs */
    assert_ptr_equal(v, &c.obj);
    gate_destroy(&c.gate);
}

/* get_timed: ETIMEDOUT after waiting its timeout; the attempt goes on. */
static void test_get_timed_times_out_and_attempt_goes_on(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    f->use_gate = 1;
    memo_t m;
    cell_init(&m, f);
    getter_t owner;
    getter_start(&owner, &m, NULL);
    gate_wait_entered(&f->gate, 1);
    void *v = NULL;
    assert_int_equal(memo_get_timed(&m, &v, 0), ETIMEDOUT);
    uint64_t t0 = mt_now_ns();
    assert_int_equal(memo_get_timed(&m, &v, 30), ETIMEDOUT);
    uint64_t waited = mt_now_ns() - t0;
    assert_true(waited >= 29000000u); /* it did wait (no upper bound here) */
    assert_null(v);
    gate_open(&f->gate);
    getter_join(&owner);
    assert_int_equal(owner.err, 0);
    assert_int_equal(memo_get_timed(&m, &v, 0), 0);
    assert_ptr_equal(v, f->value);
    assert_int_equal(f->ctor_calls, 1);
    fx_free(f);
}

/* A timed waiter that is woken in time gets the value. */
static void *timed_getter(void *p)
{
    getter_t *g = (getter_t *)p;
    g->err = memo_get_timed(g->m, &g->value, 60000);
    return NULL;
}

static void test_get_timed_returns_value_when_ready_in_time(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    f->use_gate = 1;
    memo_t m;
    cell_init(&m, f);
    getter_t owner, w;
    getter_start(&owner, &m, NULL);
    gate_wait_entered(&f->gate, 1);
    w.m = &m;
    w.value = NULL;
    assert_int_equal(pthread_create(&w.th, NULL, timed_getter, &w), 0);
    wait_for_waiters(&m, 1);
    gate_open(&f->gate);
    getter_join(&owner);
    getter_join(&w);
    assert_int_equal(w.err, 0);
    assert_ptr_equal(w.value, f->value);
    fx_free(f);
}

static void test_peek_never_constructs(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    memo_t m;
    cell_init(&m, f);
    void *v = NULL;
    for (int i = 0; i < 10; i++)
        assert_int_equal(memo_peek(&m, &v), EAGAIN);
    assert_int_equal(f->ctor_calls, 0);
    assert_int_equal(memo_stats(&m).attempts, 0);
    assert_int_equal(memo_get(&m, &v), 0);
    v = NULL;
    assert_int_equal(memo_peek(&m, &v), 0);
    assert_ptr_equal(v, f->value);
    fx_free(f);
}

static void test_reset_destroys_and_next_get_rebuilds(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    memo_t m;
    cell_init(&m, f);
    void *v;
    assert_int_equal(memo_reset(&m), 0); /* empty: nothing to do */
    assert_int_equal(f->dtor_calls, 0);
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(f->dtor_calls, 1);
    assert_ptr_equal(f->last_destroyed, f->value);
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    assert_int_equal(memo_reset(&m), 0); /* twice is fine */
    assert_int_equal(f->dtor_calls, 1);
    f->value = &f->obj[2];
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_equal(v, &f->obj[2]);
    assert_int_equal(f->ctor_calls, 2);
    fx_free(f);
}

static void test_reset_with_null_dtor(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    memo_t m;
    cell_init(&m, f);
    m.dtor = NULL;
    void *v;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(f->ctor_calls, 2);
    fx_free(f);
}

/* reset during a construction waits for it, then destroys its value. */
typedef struct resetter {
    pthread_t th;
    memo_t *m;
    int err;
} resetter_t;
static void *resetter_main(void *p)
{
    resetter_t *r = (resetter_t *)p;
    r->err = memo_reset(r->m);
    return NULL;
}

static void test_reset_during_construction_waits_then_destroys(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    f->use_gate = 1;
    memo_t m;
    cell_init(&m, f);
    getter_t owner;
    getter_start(&owner, &m, NULL);
    gate_wait_entered(&f->gate, 1);
    resetter_t r;
    r.m = &m;
    r.err = -1;
    assert_int_equal(pthread_create(&r.th, NULL, resetter_main, &r), 0);
    gate_open(&f->gate);
    getter_join(&owner);
    mt_join(r.th, NULL);
    assert_int_equal(owner.err, 0);
    assert_int_equal(r.err, 0);
    /* Whatever the interleaving, the reset came after the construction
     * began, so the value it produced is destroyed and the cell is empty. */
    assert_int_equal(f->dtor_calls, 1);
    void *v;
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    fx_free(f);
}

/* invalidate: of two threads that saw the same broken value, exactly one
 * destroys it; the next get rebuilds exactly once. */
typedef struct inval {
    pthread_t th;
    memo_t *m;
    void *seen;
    pthread_barrier_t *b;
    int err;
} inval_t;
static void *inval_main(void *p)
{
    inval_t *x = (inval_t *)p;
    pthread_barrier_wait(x->b);
    x->err = memo_invalidate(x->m, x->seen);
    return NULL;
}

static void test_invalidate_races_destroy_once(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    memo_t m;
    cell_init(&m, f);
    int rounds = ROUNDS(300);
    for (int r = 0; r < rounds; r++) {
        void *v;
        assert_int_equal(memo_get(&m, &v), 0);
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, 3);
        inval_t x[3];
        for (int i = 0; i < 3; i++) {
            x[i].m = &m;
            x[i].seen = v;
            x[i].b = &b;
            assert_int_equal(pthread_create(&x[i].th, NULL, inval_main, &x[i]), 0);
        }
        int ok = 0, already = 0;
        for (int i = 0; i < 3; i++) {
            mt_join(x[i].th, NULL);
            if (x[i].err == 0)
                ok++;
            else if (x[i].err == EALREADY)
                already++;
        }
        assert_int_equal(ok, 1);
        assert_int_equal(already, 2);
        assert_int_equal(f->dtor_calls, r + 1);
        pthread_barrier_destroy(&b);
    }
    assert_int_equal(f->ctor_calls, rounds);
    fx_free(f);
}

static void test_invalidate_of_other_value_does_nothing(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    memo_t m;
    cell_init(&m, f);
    void *v;
    int other;
    assert_int_equal(memo_invalidate(&m, &other), EALREADY); /* empty */
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_invalidate(&m, &other), EALREADY);
    assert_int_equal(f->dtor_calls, 0);
    assert_int_equal(memo_peek(&m, &v), 0);
    assert_int_equal(memo_invalidate(&m, v), 0);
    assert_int_equal(f->dtor_calls, 1);
    assert_int_equal(memo_invalidate(&m, v), EALREADY);
    assert_int_equal(f->dtor_calls, 1);
    fx_free(f);
}

static void test_stats_count_the_slow_path(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    f->result = EIO;
    memo_t m;
    cell_init(&m, f);
    void *v;
    assert_int_equal(memo_get(&m, &v), EIO);
    assert_int_equal(memo_get(&m, &v), EIO);
    f->result = 0;
    assert_int_equal(memo_get(&m, &v), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(memo_get(&m, &v), 0);
    memo_stats_t st = memo_stats(&m);
    assert_int_equal(st.attempts, 3);
    assert_int_equal(st.successes, 1);
    assert_int_equal(st.failures, 2);
    assert_int_equal(st.waits, 0);
    assert_int_equal(st.failures_in_row, 0);
    assert_int_equal(st.last_error, EIO);
    assert_true(st.last_ctor_ns > 0);
    fx_free(f);
}

/* Everything a constructor wrote is visible to every thread that gets the
 * value (checked here by content, and by ThreadSanitizer in its build). */
typedef struct big {
    uint64_t words[64];
} big_t;
static int big_ctor(void *arg, void **out)
{
    (void)arg;
    big_t *b = (big_t *)malloc(sizeof *b);
    if (!b)
        return ENOMEM;
    for (int i = 0; i < 64; i++)
        b->words[i] = 0x9e3779b97f4a7c15u * (uint64_t)(i + 1);
    *out = b;
    return 0;
}
static void big_dtor(void *arg, void *v)
{
    (void)arg;
    free(v);
}
typedef struct reader {
    pthread_t th;
    memo_t *m;
    pthread_barrier_t *b;
    int bad;
} reader_t;
static void *reader_main(void *p)
{
    reader_t *r = (reader_t *)p;
    pthread_barrier_wait(r->b);
    void *v;
    if (memo_get(r->m, &v) != 0) {
        r->bad = 1;
        return NULL;
    }
    const big_t *b = (const big_t *)v;
    for (int i = 0; i < 64; i++)
        if (b->words[i] != 0x9e3779b97f4a7c15u * (uint64_t)(i + 1))
            r->bad = 1;
    return NULL;
}

static void test_published_value_is_fully_visible(void **state)
{
    (void)state;
    int rounds = ROUNDS(300);
    for (int r = 0; r < rounds; r++) {
        memo_t m;
        memset(&m, 0, sizeof m);
        m.ctor = big_ctor;
        m.dtor = big_dtor;
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, 4);
        reader_t rd[4];
        for (int i = 0; i < 4; i++) {
            rd[i].m = &m;
            rd[i].b = &b;
            rd[i].bad = 0;
            assert_int_equal(pthread_create(&rd[i].th, NULL, reader_main, &rd[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            mt_join(rd[i].th, NULL);
            assert_int_equal(rd[i].bad, 0);
        }
        assert_int_equal(memo_stats(&m).attempts, 1);
        assert_int_equal(memo_reset(&m), 0);
        pthread_barrier_destroy(&b);
    }
}

/* Many threads get while one resets over and over: every get returns a
 * value, constructions == destructions + the one still live. */
typedef struct churn {
    memo_t *m;
    atomic_int *stop;
    int errors;
    long gets;
} churn_t;
static void *churn_main(void *p)
{
    churn_t *c = (churn_t *)p;
    while (!atomic_load(c->stop)) {
        void *v;
        if (memo_get(c->m, &v) != 0)
            c->errors++;
        c->gets++;
    }
    return NULL;
}

static void test_reset_churn_keeps_counts_balanced(void **state)
{
    (void)state;
    fixture_t *f = fx_new();
    memo_t m;
    cell_init(&m, f);
    atomic_int stop = 0;
    pthread_t th[3];
    churn_t c[3];
    for (int i = 0; i < 3; i++) {
        c[i].m = &m;
        c[i].stop = &stop;
        c[i].errors = 0;
        c[i].gets = 0;
        assert_int_equal(pthread_create(&th[i], NULL, churn_main, &c[i]), 0);
    }
    int rounds = ROUNDS(2000);
    for (int r = 0; r < rounds; r++)
        assert_int_equal(memo_reset(&m), 0);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        mt_join(th[i], NULL);
        assert_int_equal(c[i].errors, 0);
    }
    void *v;
    int live = memo_peek(&m, &v) == 0;
    assert_int_equal(f->ctor_calls, f->dtor_calls + live);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(f->ctor_calls, f->dtor_calls);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_init_constructs_once),
        cmocka_unit_test(test_zeroed_cell_with_ctor_is_valid),
        cmocka_unit_test(test_bad_arguments_are_einval),
        cmocka_unit_test(test_cell_layout),
        cmocka_unit_test(test_single_flight_under_contention),
        cmocka_unit_test(test_waiters_share_the_running_attempt),
        cmocka_unit_test(test_failure_reaches_all_waiters_then_retries),
        cmocka_unit_test(test_constructor_errors_pass_through_unchanged),
        cmocka_unit_test(test_success_without_value_is_enovalue),
        cmocka_unit_test(test_recursive_get_is_edeadlk),
        cmocka_unit_test(test_cancelled_constructor_is_taken_over),
        cmocka_unit_test(test_exiting_constructor_is_taken_over),
        cmocka_unit_test(test_cancelled_constructor_leaves_cell_empty),
        cmocka_unit_test(test_get_timed_times_out_and_attempt_goes_on),
        cmocka_unit_test(test_get_timed_returns_value_when_ready_in_time),
        cmocka_unit_test(test_peek_never_constructs),
        cmocka_unit_test(test_reset_destroys_and_next_get_rebuilds),
        cmocka_unit_test(test_reset_with_null_dtor),
        cmocka_unit_test(test_reset_during_construction_waits_then_destroys),
        cmocka_unit_test(test_invalidate_races_destroy_once),
        cmocka_unit_test(test_invalidate_of_other_value_does_nothing),
        cmocka_unit_test(test_stats_count_the_slow_path),
        cmocka_unit_test(test_published_value_is_fully_visible),
        cmocka_unit_test(test_reset_churn_keeps_counts_balanced),
    };
    return mt_run_tests("memo_cell", tests);
}
