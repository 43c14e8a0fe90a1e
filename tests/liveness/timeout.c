/* timeout.c -- memo_get_timed with a very large timeout means "wait (about)
 * forever", not "time out at once".  On 64-bit, timeout_ms * 1000000 in
 * nanoseconds wraps for timeouts above ~1.8e13 ms; for LONG_MAX it wraps to
 * -10^6 and for 2^62 to 0, the deadline lands at or before "now" and the call
 * returns ETIMEDOUT without waiting.  The constructor is held in a gate by another thread; it
 * is opened 300 ms after the timed caller is counted as waiting, and the
 * timed call must then return 0 with the value. */
#include "harness.h"
#include "memo.h"

static int obj;
static lv_gate_t gate;

static int gated_ctor(void *arg, void **out)
{
    (void)arg;
    lv_gate_pass(&gate);
    *out = &obj;
    return 0;
}

static memo_t cell = MEMO_INIT(gated_ctor, NULL, NULL);

static void builder(void *p)
{
    int *rc = (int *)p;
    void *v = NULL;
    *rc = memo_get(&cell, &v);
}

static int has_waiter(void *p)
{
    (void)p;
    return memo_stats(&cell).waits >= 1;
}

/* Opens the gate 300 ms after the timed caller has been counted as waiting. */
static void opener(void *p)
{
    (void)p;
    if (!lv_poll_until(has_waiter, NULL, 5000))
        return; /* the timed call never waited: the main thread reports it */
    mt_sleep_ms(300);
    lv_gate_open(&gate);
}

static void timed_case(long timeout_ms)
{
    lv_gate_init(&gate);
    lv_thread_t b, o;
    int brc = -1;
    lv_thread_start(&b, builder, &brc);
    LV_STAGE("waiting for the builder to enter the constructor");
    LV_CHECK(lv_gate_wait_entered(&gate, 1, 5000), "the constructor never started");
    lv_thread_start(&o, opener, NULL);
    LV_STAGE("memo_get_timed(huge) while the constructor is held");
    void *v = NULL;
    uint64_t t0 = mt_now_ns();
    int rc = memo_get_timed(&cell, &v, timeout_ms);
    double ms = (double)(mt_now_ns() - t0) / 1e6;
    lv_say("memo_get_timed(%ld ms) = %d (%s) after %.1f ms", timeout_ms, rc,
           rc == 0 ? "ok" : rc == ETIMEDOUT ? "ETIMEDOUT" : strerror(rc), ms);
    if (rc != 0)
        lv_gate_open(&gate); /* let the builder finish before failing */
    LV_CHECK(rc == 0, "a %ld ms timeout must wait for the 300 ms construction, not time out", timeout_ms);
    LV_CHECK(v == &obj, "the constructed value");
    LV_CHECK(ms >= 250, "it returned after %.1f ms: it did not wait for the constructor", ms);
    LV_CHECK(lv_thread_join_within(&o, 5000), "opener");
    LV_CHECK(lv_thread_join_within(&b, 5000) && brc == 0, "builder");
}

static void t_long_max(void) { timed_case(LONG_MAX); }

static void t_2pow62(void)
{
#if LONG_MAX > 0x7fffffffL
    timed_case(1L << 62); /* 2^62 * 10^6 = 0 modulo 2^64: the deadline is "now" */
#else
    LV_SKIP("long is 32-bit: no timeout in ms overflows a 64-bit ns deadline");
#endif
}

/* The largest timeout that does not wrap, for contrast (always worked). */
static void t_large_ok(void) { timed_case(1000L * 1000 * 1000); /* 11.6 days */ }

static const lv_case_t cases[] = {
    { "timed_long_max", t_long_max, "get_timed(LONG_MAX) waits for a 300 ms ctor and returns 0" },
    { "timed_2pow62_ms", t_2pow62, "get_timed(2^62 ms) waits for a 300 ms ctor and returns 0" },
    { "timed_1e9_ms", t_large_ok, "get_timed(1e9 ms) waits for a 300 ms ctor and returns 0 (control)" },
};

int main(int argc, char **argv)
{
    return lv_main(argc, argv, cases, LV_N(cases));
}
