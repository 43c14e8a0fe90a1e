/* test_limits.c -- counters at their wrap and the checks that keep them
 * harmless (docs/DESIGN.md, "Limits and wraps").  A real wrap takes minutes
 * (2^29 busy periods, 2^32 detaches, 2^31 leases), so these tests jump the
 * counter white-box, to just where the wrap would bring it, and then use the
 * public API. */
#include "testutil.h"

/* --- a constructor held in a gate, counting its calls ----------------------- */

typedef struct wfix {
    gate_t gate;
    int use_gate;
    atomic_int calls;
    atomic_int dtors;
    int fail_with;      /* the next call returns this (once) */
    int values[8];      /* distinct addresses for successive values */
    void *destroyed[8];
} wfix_t;

static int w_ctor(void *arg, void **out)
{
    wfix_t *f = (wfix_t *)arg;
    int n = atomic_fetch_add(&f->calls, 1);
    if (f->use_gate)
        gate_pass(&f->gate);
    if (f->fail_with) {
        int e = f->fail_with;
        f->fail_with = 0;
        return e;
    }
    *out = &f->values[n % 8];
    return 0;
}

static void w_dtor(void *arg, void *v)
{
    wfix_t *f = (wfix_t *)arg;
    int n = atomic_fetch_add(&f->dtors, 1);
    f->destroyed[n % 8] = v;
}

/* Item 1: fail_ keeps (generation, error).  After 2^29 busy periods a waiter
 * whose attempt succeeded used to match the stale record of a failure with
 * the same 29-bit generation and return its error. */
static void test_stale_failure_record_cannot_match_after_wrap(void **state)
{
    (void)state;
    wfix_t f;
    memset(&f, 0, sizeof f);
    gate_init(&f.gate);
    memo_t m = MEMO_INIT(w_ctor, w_dtor, &f);
    void *v = NULL;

    f.fail_with = EIO; /* period 0 fails: FAILED, record (generation 1, EIO) */
    assert_int_equal(memo_get(&m, &v), EIO);
    assert_int_equal(memo_reset(&m), 0); /* forgets it: EMPTY */
    assert_int_equal(memo_stats(&m).last_error, EIO);

    /* Jump: 2^29 - 1 more periods later the generation field is back at 0,
     * so the next period to end brings it to 1 again. */
    atomic_store(&m.state_, MEMO_I_EMPTY);

    f.use_gate = 1;
    getter_t owner, waiter;
    getter_start(&owner, &m, NULL);
    gate_wait_entered(&f.gate, 1);
    getter_start(&waiter, &m, NULL);
    wait_for_waiters(&m, 1);
    gate_open(&f.gate);
    getter_join(&owner);
    getter_join(&waiter);
    assert_int_equal(owner.err, 0);
    assert_int_equal(waiter.err, 0);         /* was EIO: the stale record */
    assert_ptr_equal(waiter.value, owner.value);
    /* memo_stats still reports the last failure's error */
    assert_int_equal(memo_stats(&m).last_error, EIO);
    assert_int_equal(memo_reset(&m), 0);
    gate_destroy(&f.gate);
}

/* Item 1: a READY word can recur after a generation wrap with another value
 * in the slot.  memo_invalidate(m, seen) must check `seen` again once it owns
 * the cell.  White-box: the internal destroy step is handed the current READY
 * word (as a stalled invalidate that saw an earlier, equal word would) and a
 * `seen` that is no longer the value. */
static void test_invalidate_rechecks_seen_after_claiming(void **state)
{
    (void)state;
    wfix_t f;
    memset(&f, 0, sizeof f);
    memo_t m = MEMO_INIT(w_ctor, w_dtor, &f);
    void *v = NULL, *old = &f.values[7];
    assert_int_equal(memo_get(&m, &v), 0);
    uint32_t s = atomic_load(&m.state_);
    memo_i_retired_t *rec = (memo_i_retired_t *)malloc(sizeof *rec);
    assert_non_null(rec);
    assert_int_equal(memo_i_destroy_(&m, s, rec, old, MEMO_I_ANY_EPOCH, 0, MEMO_I_DESTROY, PTHREAD_CANCEL_DEFERRED), EALREADY);
    free(rec); /* not consumed */
    assert_int_equal(atomic_load(&f.dtors), 0);
    void *again = NULL;
    assert_int_equal(memo_peek(&m, &again), 0); /* still READY, same value */
    assert_ptr_equal(again, v);
    assert_int_equal(memo_invalidate(&m, v), 0);
    assert_int_equal(atomic_load(&f.dtors), 1);
}

/* Item 4: the lease epoch is 32 bits.  A lease held across 2^32 detaches used
 * to share its epoch with a newer value; its release then counted on the
 * newer value's record and destroyed that value while it was still leased. */
static void test_lease_epoch_wrap_skips_retired_epochs(void **state)
{
    (void)state;
    wfix_t f;
    memset(&f, 0, sizeof f);
    memo_t m = MEMO_INIT(w_ctor, w_dtor, &f);
    memo_lease_t l1 = MEMO_LEASE_INIT, l2 = MEMO_LEASE_INIT, l3 = MEMO_LEASE_INIT;

    assert_int_equal(memo_acquire(&m, &l1), 0); /* v1, epoch E */
    uint32_t e = (uint32_t)(atomic_load(&m.leases_) >> 32);
    assert_int_equal(memo_reset(&m), 0);        /* v1 retired under epoch E */
    assert_int_equal(atomic_load(&f.dtors), 0);

    /* Jump: 2^32 - 2 detaches later the cell's epoch is E - 1. */
    atomic_store(&m.leases_, (uint64_t)(e - 1u) << 32);
    assert_int_equal(memo_acquire(&m, &l2), 0); /* v2, epoch E - 1 */
    assert_int_equal(memo_reset(&m), 0);        /* the next epoch would be E */
    assert_int_not_equal((uint32_t)(atomic_load(&m.leases_) >> 32), e);
    assert_int_equal(memo_acquire(&m, &l3), 0); /* v3 */
    assert_int_equal(memo_reset(&m), 0);        /* v3 retired too */
    assert_ptr_not_equal(l3.value, l1.value);

    /* Giving back l1 destroys v1 and nothing else. */
    void *v1 = l1.value, *v2 = l2.value, *v3 = l3.value;
    assert_int_equal(memo_release(&l1), 0);
    assert_int_equal(atomic_load(&f.dtors), 1);
    assert_ptr_equal(f.destroyed[0], v1);
    assert_int_equal(memo_release(&l3), 0);
    assert_int_equal(atomic_load(&f.dtors), 2);
    assert_ptr_equal(f.destroyed[1], v3);
    assert_int_equal(memo_release(&l2), 0);
    assert_int_equal(atomic_load(&f.dtors), 3);
    assert_ptr_equal(f.destroyed[2], v2);
    assert_null(m.retired_);
}

/* Item 4: 2^32 leases on one value would carry into the epoch bits. */
static void test_lease_count_cannot_carry_into_epoch(void **state)
{
    (void)state;
    wfix_t f;
    memset(&f, 0, sizeof f);
    memo_t m = MEMO_INIT(w_ctor, w_dtor, &f);
    memo_lease_t l = MEMO_LEASE_INIT;
    void *v = NULL;
    assert_int_equal(memo_get(&m, &v), 0);
    uint64_t w0 = atomic_load(&m.leases_);

    /* Jump: 2^31 leases are held.  The next is refused, so the count never
     * nears 2^32 (where the add would carry into the epoch). */
    atomic_store(&m.leases_, (w0 & ~(uint64_t)0xffffffffu) | 0x80000000u);
    assert_int_equal(memo_acquire(&m, &l), EOVERFLOW);
    assert_null(l.value);
    assert_int_equal(atomic_load(&m.leases_) >> 32, w0 >> 32); /* epoch intact */
    assert_int_equal((uint32_t)atomic_load(&m.leases_), 0x80000000u); /* undone */
    /* Just below the limit a lease is taken. */
    atomic_store(&m.leases_, (w0 & ~(uint64_t)0xffffffffu) | 0x7fffffffu);
    assert_int_equal(memo_acquire(&m, &l), 0);
    assert_ptr_equal(l.value, v);
    assert_int_equal(memo_release(&l), 0);
    atomic_store(&m.leases_, w0);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(atomic_load(&f.dtors), 1);
}

/* Item 6: a timeout too large for a nanosecond deadline means "wait" (on
 * 64-bit, LONG_MAX * 1000000 used to wrap and time out at once). */
typedef struct tw {
    pthread_t th;
    memo_t *m;
    long timeout;
    int err;
    void *v;
} tw_t;

static void *tw_main(void *p)
{
    tw_t *t = (tw_t *)p;
    t->err = memo_get_timed(t->m, &t->v, t->timeout);
    return NULL;
}

static void test_huge_timeout_waits(void **state)
{
    (void)state;
    /* 18446744073710 ms: just over 2^64 ns, under 2^53 ms -- its product
     * in ns wrapped to 0.45 ms before the check (found by the fuzzer) */
    const long huge[] = { LONG_MAX, LONG_MAX / 1000, LONG_MAX / 1000000,
                          sizeof(long) > 4 ? (long)18446744073710LL : LONG_MAX };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        wfix_t f;
        memset(&f, 0, sizeof f);
        gate_init(&f.gate);
        f.use_gate = 1;
        memo_t m = MEMO_INIT(w_ctor, w_dtor, &f);
        getter_t owner;
        getter_start(&owner, &m, NULL);
        gate_wait_entered(&f.gate, 1);
        /* white-box: no deadline at all for these (a wrapped product gave
         * one 0.45 ms away, which a waiter woken sooner never notices) */
        if ((uint64_t)huge[i] >= UINT64_MAX / 1000000u)
            assert_true(memo_i_deadline_(huge[i]) == 0);
        tw_t t = { .m = &m, .timeout = huge[i], .err = -1, .v = NULL };
        assert_int_equal(pthread_create(&t.th, NULL, tw_main, &t), 0);
        wait_for_waiters(&m, 1);
        gate_open(&f.gate);
        getter_join(&owner);
        mt_join(t.th, NULL);
        assert_int_equal(owner.err, 0);
        assert_int_equal(t.err, 0); /* was ETIMEDOUT at once */
        assert_ptr_equal(t.v, owner.value);
        assert_int_equal(memo_reset(&m), 0);
        gate_destroy(&f.gate);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_failure_record_cannot_match_after_wrap),
        cmocka_unit_test(test_invalidate_rechecks_seen_after_claiming),
        cmocka_unit_test(test_lease_epoch_wrap_skips_retired_epochs),
        cmocka_unit_test(test_lease_count_cannot_carry_into_epoch),
        cmocka_unit_test(test_huge_timeout_waits),
    };
    return mt_run_tests("tests", tests);
}
