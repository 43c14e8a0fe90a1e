/* test_lease.c -- leases (memo_acquire / memo_release, SPEC section 3): a
 * value that is reset, invalidated or replaced is destroyed only after every
 * lease on it is released.  Values are heap objects whose destructor marks
 * them dead and keeps them (a graveyard freed at the end of each test), so a
 * use after destruction is seen as a dead mark in every build, not only
 * under AddressSanitizer. */
#include "testutil.h"

#define ALIVE 0x414c4956u
#define DEAD 0x44454144u

typedef struct obj {
    _Atomic(uint32_t) magic;
    int serial;
    struct obj *next_dead;
} obj_t;

typedef struct lfix {
    atomic_int ctor_calls;
    atomic_int built;               /* successful constructions */
    atomic_int dtor_calls;
    int fail_with;                  /* ctor returns this if non-zero */
    int recurse;                    /* ctor calls memo_acquire on its own cell */
    int recurse_result;
    memo_t *self;
    obj_t *last_destroyed;
    pthread_mutex_t mu;             /* guards the graveyard */
    obj_t *graveyard;
} lfix_t;

static int lf_ctor(void *arg, void **out)
{
    lfix_t *f = (lfix_t *)arg;
    int n = atomic_fetch_add(&f->ctor_calls, 1);
    if (f->recurse) {
        memo_lease_t inner;
        f->recurse_result = memo_acquire(f->self, &inner);
        return f->recurse_result;
    }
    if (f->fail_with)
        return f->fail_with;
    obj_t *o = (obj_t *)calloc(1, sizeof *o);
    atomic_store(&o->magic, ALIVE);
    o->serial = n;
    atomic_fetch_add(&f->built, 1);
    *out = o;
    return 0;
}

static void lf_dtor(void *arg, void *v)
{
    lfix_t *f = (lfix_t *)arg;
    obj_t *o = (obj_t *)v;
    /* a second destruction of the same value would find it dead already */
    assert_int_equal(atomic_exchange(&o->magic, DEAD), ALIVE);
    pthread_mutex_lock(&f->mu);
    o->next_dead = f->graveyard;
    f->graveyard = o;
    f->last_destroyed = o;
    pthread_mutex_unlock(&f->mu);
    atomic_fetch_add(&f->dtor_calls, 1);
}

static lfix_t *lf_new(memo_t *m)
{
    lfix_t *f = (lfix_t *)calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    memset(m, 0, sizeof *m);
    m->ctor = lf_ctor;
    m->dtor = lf_dtor;
    m->arg = f;
    f->self = m;
    return f;
}

/* Resets the cell (destroying its value if unleased), checks that every value
 * built was destroyed exactly once, frees the graveyard. */
static void lf_finish(memo_t *m, lfix_t *f)
{
    assert_int_equal(memo_reset(m), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), atomic_load(&f->built));
    while (f->graveyard) {
        obj_t *o = f->graveyard;
        f->graveyard = o->next_dead;
        free(o);
    }
    assert_null(m->retired_);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static obj_t *leased(const memo_lease_t *l)
{
    return (obj_t *)l->value;
}

/* ------------------------------------------------------------------------ */

static void test_acquire_builds_once_and_shares_the_value(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    memo_lease_t a = MEMO_LEASE_INIT, b = MEMO_LEASE_INIT;
    assert_int_equal(memo_acquire(&m, &a), 0);
    assert_int_equal(memo_acquire(&m, &b), 0);
    assert_int_equal(atomic_load(&f->ctor_calls), 1);
    assert_non_null(a.value);
    assert_ptr_equal(a.value, b.value);
    void *v;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_equal(v, a.value);
    assert_int_equal(memo_release(&a), 0);
    assert_null(a.value);
    assert_int_equal(memo_release(&b), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 0); /* still cached */
    lf_finish(&m, f);
}

static void test_bad_lease_arguments_are_einval(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    memo_lease_t l = MEMO_LEASE_INIT, zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(memo_acquire(NULL, &l), EINVAL);
    assert_null(l.value);
    assert_int_equal(memo_acquire(&m, NULL), EINVAL);
    assert_int_equal(memo_release(NULL), EINVAL);
    assert_int_equal(memo_release(&zero), EINVAL);   /* never acquired */
    assert_int_equal(memo_acquire(&m, &l), 0);
    assert_int_equal(memo_release(&l), 0);
    assert_int_equal(memo_release(&l), EINVAL);      /* released twice */
    memo_t empty;
    memset(&empty, 0, sizeof empty);                 /* no constructor */
    assert_int_equal(memo_acquire(&empty, &l), EINVAL);
    assert_int_equal(atomic_load(&f->ctor_calls), 1);
    lf_finish(&m, f);
}

static void test_released_copy_is_caught(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    memo_lease_t l, copy;
    /* value still current: the copy would take the count below zero */
    assert_int_equal(memo_acquire(&m, &l), 0);
    copy = l;
    assert_int_equal(memo_release(&l), 0);
    assert_int_equal(memo_release(&copy), EINVAL);
    /* value detached and destroyed: no record of its epoch is left */
    assert_int_equal(memo_acquire(&m, &l), 0);
    copy = l;
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 0);
    assert_int_equal(memo_release(&l), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 1);
    assert_int_equal(memo_release(&copy), EINVAL);
    assert_int_equal(atomic_load(&f->dtor_calls), 1);
    lf_finish(&m, f);
}

static void test_reset_defers_destruction_to_the_last_release(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    memo_lease_t a, b;
    assert_int_equal(memo_acquire(&m, &a), 0);
    assert_int_equal(memo_acquire(&m, &b), 0);
    obj_t *old = leased(&a);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 0);
    assert_int_equal(atomic_load(&old->magic), ALIVE);
    /* the cell moved on: the next get builds a new value */
    void *v;
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_not_equal(v, old);
    assert_int_equal(atomic_load(&f->ctor_calls), 2);
    assert_int_equal(memo_release(&a), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 0);
    assert_int_equal(atomic_load(&old->magic), ALIVE);
    assert_int_equal(memo_release(&b), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 1);
    assert_ptr_equal(f->last_destroyed, old);
    assert_int_equal(atomic_load(&old->magic), DEAD);
    assert_int_equal(atomic_load(&((obj_t *)v)->magic), ALIVE);
    lf_finish(&m, f);
}

static void test_unleased_reset_destroys_at_once(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    memo_lease_t l;
    assert_int_equal(memo_acquire(&m, &l), 0);
    obj_t *o = leased(&l);
    assert_int_equal(memo_release(&l), 0);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 1);
    assert_ptr_equal(f->last_destroyed, o);
    assert_null(m.retired_);
    lf_finish(&m, f);
}

static void test_invalidate_by_the_holder_defers_too(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    memo_lease_t a, b;
    assert_int_equal(memo_acquire(&m, &a), 0);
    assert_int_equal(memo_acquire(&m, &b), 0);
    /* both holders saw the value break; the first invalidate detaches it */
    assert_int_equal(memo_invalidate(&m, a.value), 0);
    assert_int_equal(memo_invalidate(&m, b.value), EALREADY);
    assert_int_equal(atomic_load(&leased(&a)->magic), ALIVE);
    assert_int_equal(memo_release(&a), 0);
    assert_int_equal(memo_release(&b), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 1);
    /* one reconnect for both */
    memo_lease_t c;
    assert_int_equal(memo_acquire(&m, &c), 0);
    assert_int_equal(atomic_load(&f->ctor_calls), 2);
    assert_int_equal(memo_release(&c), 0);
    lf_finish(&m, f);
}

static void test_many_detached_values_each_wait_for_their_own_leases(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    enum { N = 6 };
    memo_lease_t l[N];
    obj_t *o[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(memo_acquire(&m, &l[i]), 0);
        o[i] = leased(&l[i]);
        assert_int_equal(memo_reset(&m), 0);
    }
    assert_int_equal(atomic_load(&f->ctor_calls), N);
    assert_int_equal(atomic_load(&f->dtor_calls), 0);
    static const int order[N] = { 3, 0, 5, 1, 4, 2 };
    for (int k = 0; k < N; k++) {
        int i = order[k];
        assert_int_equal(memo_release(&l[i]), 0);
        assert_int_equal(atomic_load(&f->dtor_calls), k + 1);
        assert_ptr_equal(f->last_destroyed, o[i]);
        for (int j = 0; j < N; j++) {
            int released = 0;
            for (int q = 0; q <= k; q++)
                released |= order[q] == j;
            assert_int_equal(atomic_load(&o[j]->magic), released ? DEAD : ALIVE);
        }
    }
    assert_null(m.retired_);
    lf_finish(&m, f);
}

static void test_failed_acquire_holds_nothing(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    f->fail_with = ECONNREFUSED;
    memo_lease_t l;
    assert_int_equal(memo_acquire(&m, &l), ECONNREFUSED);
    assert_null(l.value);
    assert_int_equal(memo_release(&l), EINVAL);
    f->fail_with = 0;
    assert_int_equal(memo_acquire(&m, &l), 0);       /* retried */
    assert_int_equal(atomic_load(&f->ctor_calls), 2);
    assert_int_equal(memo_release(&l), 0);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(atomic_load(&f->dtor_calls), 1);
    lf_finish(&m, f);
}

static void test_acquire_from_own_constructor_is_edeadlk(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    f->recurse = 1;
    memo_lease_t l;
    assert_int_equal(memo_acquire(&m, &l), EDEADLK);
    assert_int_equal(f->recurse_result, EDEADLK);
    assert_null(l.value);
    assert_int_equal(memo_release(&l), EINVAL);
    lf_finish(&m, f);
}

/* Typed cells: a pointer value can be leased; a value in place cannot. */
typedef struct point {
    int x, y;
} point_t;
static int make_point(point_t *out)
{
    out->x = 1;
    out->y = 2;
    return 0;
}
MEMOIZE(static, get_point, point_t, make_point, NULL);
static int seven(void)
{
    return 7;
}
MEMOIZE_VALUE(static, get_seven, int, seven);
static int make_name(char **out)
{
    *out = strdup("memo");
    return *out ? 0 : ENOMEM;
}
static void free_name(char *s)
{
    free(s);
}
MEMOIZE(static, get_name, char *, make_name, free_name);

static void test_in_place_values_refuse_leases(void **state)
{
    (void)state;
    memo_lease_t l;
    assert_int_equal(memo_acquire(&get_point_memo, &l), ENOTSUP);
    assert_null(l.value);
    assert_int_equal(memo_acquire(&get_seven_memo, &l), ENOTSUP);
    assert_int_equal(get_seven(), 7);
    point_t p;
    assert_int_equal(get_point(&p), 0);
    assert_int_equal(p.y, 2);

    assert_int_equal(memo_acquire(&get_name_memo, &l), 0);
    char *s = (char *)l.value;
    assert_string_equal(s, "memo");
    assert_int_equal(memo_reset(&get_name_memo), 0);
    assert_string_equal(s, "memo");                  /* still alive */
    char *again;
    assert_int_equal(get_name(&again), 0);
    assert_ptr_not_equal(again, s);
    assert_int_equal(memo_release(&l), 0);           /* frees s */
    assert_int_equal(memo_reset(&get_name_memo), 0);
}

/* Holders check their value while resetters detach it under their feet. */
typedef struct race {
    memo_t *m;
    pthread_barrier_t start;
    int rounds;
    atomic_int violations;
    atomic_long held;
} race_t;

static void *holder(void *p)
{
    race_t *r = (race_t *)p;
    pthread_barrier_wait(&r->start);
    for (int i = 0; i < r->rounds; i++) {
        memo_lease_t l;
        int err = memo_acquire(r->m, &l);
        if (err) {
            atomic_fetch_add(&r->violations, 1);
            continue;
        }
        obj_t *o = leased(&l);
        for (int k = 0; k < 4; k++) {
            if (atomic_load(&o->magic) != ALIVE)
                atomic_fetch_add(&r->violations, 1);
            sched_yield();
        }
        if (i % 3 == 0)
            memo_invalidate(r->m, o);                /* 0 or EALREADY */
        if (atomic_load(&o->magic) != ALIVE)
            atomic_fetch_add(&r->violations, 1);
        if (memo_release(&l) != 0)
            atomic_fetch_add(&r->violations, 1);
        atomic_fetch_add(&r->held, 1);
    }
    return NULL;
}

static void *resetter(void *p)
{
    race_t *r = (race_t *)p;
    pthread_barrier_wait(&r->start);
    for (int i = 0; i < r->rounds; i++) {
        if (memo_reset(r->m) != 0)
            atomic_fetch_add(&r->violations, 1);
        if (i % 8 == 0)
            sched_yield();
    }
    return NULL;
}

static void test_leases_survive_concurrent_resets(void **state)
{
    (void)state;
    enum { HOLDERS = 4, RESETTERS = 2 };
    memo_t m;
    lfix_t *f = lf_new(&m);
    race_t r;
    memset(&r, 0, sizeof r);
    r.m = &m;
    r.rounds = ROUNDS(20000);
    pthread_barrier_init(&r.start, NULL, HOLDERS + RESETTERS);
    pthread_t t[HOLDERS + RESETTERS];
    for (int i = 0; i < HOLDERS + RESETTERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, i < HOLDERS ? holder : resetter, &r), 0);
    for (int i = 0; i < HOLDERS + RESETTERS; i++)
        mt_join(t[i], NULL);
    pthread_barrier_destroy(&r.start);
    assert_int_equal(atomic_load(&r.violations), 0);
    assert_int_equal(atomic_load(&r.held), (long)HOLDERS * r.rounds);
    assert_true(atomic_load(&f->ctor_calls) > 1);
    lf_finish(&m, f); /* every value destroyed exactly once, none retired */
}

/* Item 8: memo_invalidate_lease is exact.  X and Y both hold a lease on conn
 * 1; X invalidates it, Z's get builds conn 2; Y's late invalidate must not
 * touch conn 2 -- even when conn 2 has the same address (here: a constructor
 * that hands out the same object every time, as a pool may). */
static int same_obj_ctor(void *arg, void **out)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    static int the_one;
    *out = &the_one;
    return 0;
}

static void count_dtor(void *arg, void *v)
{
    (void)v;
    atomic_fetch_add((atomic_int *)arg + 1, 1);
}

static void test_invalidate_lease_is_exact(void **state)
{
    (void)state;
    memo_t m;
    lfix_t *f = lf_new(&m);
    memo_lease_t lx = MEMO_LEASE_INIT, ly = MEMO_LEASE_INIT;
    assert_int_equal(memo_acquire(&m, &lx), 0);
    assert_int_equal(memo_acquire(&m, &ly), 0);
    assert_ptr_equal(lx.value, ly.value);
    assert_int_equal(memo_invalidate_lease(&lx), 0);
    assert_int_equal(memo_release(&lx), 0);
    void *v2 = NULL;
    assert_int_equal(memo_get(&m, &v2), 0); /* Z reconnects */
    assert_int_equal(memo_invalidate_lease(&ly), EALREADY);
    void *still = NULL;
    assert_int_equal(memo_peek(&m, &still), 0);
    assert_ptr_equal(still, v2); /* conn 2 untouched */
    assert_int_equal(memo_release(&ly), 0); /* destroys conn 1 */
    assert_int_equal(atomic_load(&f->dtor_calls), 1);
    lf_finish(&m, f);

    /* the same address for two values: only the epoch tells them apart */
    atomic_int counts[2] = { 0, 0 };
    memo_t s = MEMO_INIT(same_obj_ctor, count_dtor, counts);
    memo_lease_t a = MEMO_LEASE_INIT, b = MEMO_LEASE_INIT;
    assert_int_equal(memo_acquire(&s, &a), 0);
    assert_int_equal(memo_acquire(&s, &b), 0);
    assert_int_equal(memo_invalidate_lease(&a), 0);
    assert_int_equal(memo_release(&a), 0);
    void *w = NULL;
    assert_int_equal(memo_get(&s, &w), 0);
    assert_ptr_equal(w, b.value);                 /* same address, new value */
    assert_int_equal(memo_invalidate_lease(&b), EALREADY);
    assert_int_equal(atomic_load(&counts[0]), 2);  /* not rebuilt a third time */
    assert_int_equal(memo_get(&s, &w), 0);
    assert_int_equal(atomic_load(&counts[0]), 2);
    assert_int_equal(memo_release(&b), 0);
    assert_int_equal(memo_reset(&s), 0);
    assert_int_equal(atomic_load(&counts[1]), 2);

    /* misuse */
    memo_lease_t none = MEMO_LEASE_INIT;
    assert_int_equal(memo_invalidate_lease(NULL), EINVAL);
    assert_int_equal(memo_invalidate_lease(&none), EINVAL);
}

/* Item 12: a deferred destructor runs in the releasing thread, outside any busy
 * period: a release never waits for the cell's running constructor, and its
 * destructor may run while that constructor runs (the promise is "at most one
 * constructor", not "one constructor or destructor").  And the retired record
 * is freed before the destructor runs, so a destructor that ends its thread
 * (pthread_exit, a cancel) leaks nothing (LeakSanitizer and valgrind see it). */
typedef struct ovl {
    gate_t gate;
    atomic_int built, destroyed, exit_in_dtor, in_ctor, dtor_saw_ctor;
    int objs[4];
} ovl_t;

static int ovl_ctor(void *arg, void **out)
{
    ovl_t *o = (ovl_t *)arg;
    int n = atomic_fetch_add(&o->built, 1);
    if (n == 1) { /* the second construction waits in the gate */
        atomic_store(&o->in_ctor, 1);
        gate_pass(&o->gate);
        atomic_store(&o->in_ctor, 0);
    }
    *out = &o->objs[n % 4];
    return 0;
}

static void ovl_dtor(void *arg, void *v)
{
    ovl_t *o = (ovl_t *)arg;
    (void)v;
    if (atomic_load(&o->in_ctor))
        atomic_fetch_add(&o->dtor_saw_ctor, 1);
    atomic_fetch_add(&o->destroyed, 1);
    if (atomic_load(&o->exit_in_dtor))
        pthread_exit(NULL);
}

static void *ovl_release_main(void *p)
{
    memo_release((memo_lease_t *)p);
    return NULL;
}

static void test_deferred_destructor_never_waits_and_leaks_nothing(void **state)
{
    (void)state;
    ovl_t o;
    memset(&o, 0, sizeof o);
    gate_init(&o.gate);
    memo_t m = MEMO_INIT(ovl_ctor, ovl_dtor, &o);
    memo_lease_t l = MEMO_LEASE_INIT;
    assert_int_equal(memo_acquire(&m, &l), 0);  /* value 0, leased */
    assert_int_equal(memo_reset(&m), 0);         /* detached, not destroyed */
    getter_t g;
    getter_start(&g, &m, NULL);                  /* builds value 1: held in the gate */
    gate_wait_entered(&o.gate, 1);
    assert_int_equal(memo_release(&l), 0);       /* returns although BUSY */
    assert_int_equal(atomic_load(&o.destroyed), 1);
    assert_int_equal(atomic_load(&o.dtor_saw_ctor), 1);
    gate_open(&o.gate);
    getter_join(&g);
    assert_int_equal(g.err, 0);

    /* a deferred destructor that exits its thread */
    memo_lease_t l2 = MEMO_LEASE_INIT;
    assert_int_equal(memo_acquire(&m, &l2), 0);
    assert_int_equal(memo_reset(&m), 0);
    atomic_store(&o.exit_in_dtor, 1);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, ovl_release_main, &l2), 0);
    mt_join(th, NULL);
    assert_int_equal(atomic_load(&o.destroyed), 2);
    assert_null(m.retired_); /* unlinked and freed before the destructor */
    atomic_store(&o.exit_in_dtor, 0);
    assert_int_equal(memo_reset(&m), 0);
    gate_destroy(&o.gate);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_builds_once_and_shares_the_value),
        cmocka_unit_test(test_bad_lease_arguments_are_einval),
        cmocka_unit_test(test_released_copy_is_caught),
        cmocka_unit_test(test_reset_defers_destruction_to_the_last_release),
        cmocka_unit_test(test_unleased_reset_destroys_at_once),
        cmocka_unit_test(test_invalidate_by_the_holder_defers_too),
        cmocka_unit_test(test_many_detached_values_each_wait_for_their_own_leases),
        cmocka_unit_test(test_failed_acquire_holds_nothing),
        cmocka_unit_test(test_acquire_from_own_constructor_is_edeadlk),
        cmocka_unit_test(test_in_place_values_refuse_leases),
        cmocka_unit_test(test_leases_survive_concurrent_resets),
        cmocka_unit_test(test_invalidate_lease_is_exact),
        cmocka_unit_test(test_deferred_destructor_never_waits_and_leaks_nothing),
    };
    return mt_run_tests("tests", tests);
}
