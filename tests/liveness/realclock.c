/* realclock.c -- memo_get_timed's timeout must be measured on a monotonic
 * clock: a step of the wall clock (NTP/chrony step, `date -s`, a VM resumed
 * from a snapshot) must neither stretch nor cut a timed wait.
 *
 * The wall clock cannot be stepped by an unprivileged test (and must not be on
 * a shared machine), so this program interposes it: it defines timespec_get
 * and clock_gettime itself.  Calls from this executable -- including the
 * inline code of memo.h compiled into it -- bind to these definitions; the
 * C library's internals (pthread_cond_timedwait, futex timeouts in the
 * kernel) keep using the real clocks.  Readings of TIME_UTC / CLOCK_REALTIME
 * are skewed once the test arms a mode; every other clock goes straight to
 * the kernel (syscall(SYS_clock_gettime)), so monotonic time stays real.
 *
 *   step_back:    the first wall-clock reading after arming is true, every
 *                 later one is 30 s earlier: the clock stepped back 30 s
 *                 right after the deadline was computed.  A wait that
 *                 re-reads the wall clock to compute what is left sleeps
 *                 ~30 s instead of 200 ms (today: the futex path).
 *   step_forward: every wall-clock reading after arming is 30 s behind the
 *                 kernel's: as seen by an absolute-deadline wait in the
 *                 kernel (pthread_cond_timedwait on a CLOCK_REALTIME
 *                 condvar), the clock jumped 30 s forward right after the
 *                 deadline was computed, and the wait ends at once
 *                 (today: the MEMO_NO_FUTEX path).
 *
 * In both, a memo_get_timed(m, &v, 200) on a cell whose constructor is held
 * for the whole case must return ETIMEDOUT after 200 ms of real (monotonic)
 * time: at least 190 ms, and within 5 s. */
#include "harness.h"
#include "memo.h"
#include <sys/syscall.h>

enum { MODE_OFF, MODE_STEP_BACK, MODE_STEP_FORWARD };
static atomic_int mode;
static atomic_int wall_reads_after_arm;
static _Thread_local int counting;           /* count this thread's reads */
static atomic_int counted_wall, counted_mono;
#define SKEW_NS (30LL * 1000000000LL)

static void real_clock(clockid_t clk, struct timespec *ts)
{
    syscall(SYS_clock_gettime, clk, ts);
}

static void skew_wall(struct timespec *ts)
{
    int m = atomic_load(&mode);
    if (m == MODE_OFF)
        return;
    int n = atomic_fetch_add(&wall_reads_after_arm, 1);
    if (m == MODE_STEP_BACK && n == 0)
        return; /* the first reading after arming is true */
    long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec - SKEW_NS;
    ts->tv_sec = (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    real_clock(clk, ts);
    if (clk == CLOCK_REALTIME) {
        if (counting)
            atomic_fetch_add(&counted_wall, 1);
        skew_wall(ts);
    } else if (counting) {
        atomic_fetch_add(&counted_mono, 1);
    }
    return 0;
}

int timespec_get(struct timespec *ts, int base)
{
    if (base != TIME_UTC)
        return 0;
    real_clock(CLOCK_REALTIME, ts);
    if (counting)
        atomic_fetch_add(&counted_wall, 1);
    skew_wall(ts);
    return base;
}

static double wall_diff_s(const struct timespec *a, const struct timespec *b)
{
    return (double)(a->tv_sec - b->tv_sec) + (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

/* The interposition itself works in this executable (otherwise the other
 * cases would prove nothing). */
static void t_interposed(void)
{
    struct timespec r, a, b, c;
    atomic_store(&mode, MODE_STEP_BACK);
    real_clock(CLOCK_REALTIME, &r);
    timespec_get(&a, TIME_UTC);
    timespec_get(&b, TIME_UTC);
    clock_gettime(CLOCK_REALTIME, &c);
    atomic_store(&mode, MODE_OFF);
    lv_say("real %lld.%09ld, 1st timespec_get %+.3f s, 2nd %+.3f s, clock_gettime(REALTIME) %+.3f s",
           (long long)r.tv_sec, r.tv_nsec, wall_diff_s(&a, &r), wall_diff_s(&b, &r), wall_diff_s(&c, &r));
    LV_CHECK(wall_diff_s(&a, &r) > -1 && wall_diff_s(&a, &r) < 1, "the first reading is true");
    LV_CHECK(wall_diff_s(&b, &r) < -29 && wall_diff_s(&b, &r) > -31, "timespec_get is interposed");
    LV_CHECK(wall_diff_s(&c, &r) < -29 && wall_diff_s(&c, &r) > -31, "clock_gettime is interposed");
    struct timespec m1, m2;
    real_clock(CLOCK_MONOTONIC, &m1);
    clock_gettime(CLOCK_MONOTONIC, &m2);
    LV_CHECK(wall_diff_s(&m2, &m1) >= 0 && wall_diff_s(&m2, &m1) < 1, "monotonic passes through");
}

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
    void *v;
    *rc = memo_get(&cell, &v);
}

typedef struct timed {
    int rc;
    double ms;
} timed_t;

static void timed_get(void *p)
{
    timed_t *t = (timed_t *)p;
    void *v = NULL;
    uint64_t t0 = mt_now_ns();
    counting = 1; /* count memo.h's reads only */
    t->rc = memo_get_timed(&cell, &v, 200);
    counting = 0;
    t->ms = (double)(mt_now_ns() - t0) / 1e6;
}

static void stepped_case(int m, const char *what)
{
    lv_gate_init(&gate);
    lv_thread_t b, t;
    int brc = -1;
    timed_t r = { -1, 0 };
    lv_thread_start(&b, builder, &brc);
    LV_STAGE("waiting for the builder to enter the constructor");
    LV_CHECK(lv_gate_wait_entered(&gate, 1, 5000), "the constructor never started");
    /* the constructor is now held until the end of the case */
    atomic_store(&mode, m);
    lv_thread_start(&t, timed_get, &r);
    LV_STAGE(what);
    int done = lv_thread_join_within(&t, 5000);
    lv_say("%s: memo_get_timed(200 ms) %s%s after %.1f ms; memo.h read the wall clock %d times and "
           "the monotonic clock %d times through the interposed functions",
           what, done ? "returned " : "had not returned",
           done ? (r.rc == ETIMEDOUT ? "ETIMEDOUT" : r.rc == 0 ? "0" : strerror(r.rc)) : "",
           done ? r.ms : 5000.0, atomic_load(&counted_wall), atomic_load(&counted_mono));
    LV_CHECK(done, "memo_get_timed(200 ms) must return within 5 s whatever the wall clock does");
    LV_CHECK(r.rc == ETIMEDOUT, "the constructor is held: ETIMEDOUT");
    LV_CHECK(r.ms >= 190, "the wait was cut short to %.1f ms of real time", r.ms);
    if (atomic_load(&counted_wall) + atomic_load(&counted_mono) == 0)
        lv_say("note: memo_get_timed read no clock through this executable's clock_gettime/"
               "timespec_get, so this case could not have skewed it");
    atomic_store(&mode, MODE_OFF);
    lv_gate_open(&gate);
    LV_STAGE("joining the builder");
    LV_CHECK(lv_thread_join_within(&b, 5000) && brc == 0, "the builder finishes once opened");
}

static void t_step_back(void) { stepped_case(MODE_STEP_BACK, "wall clock steps back 30 s"); }
static void t_step_forward(void) { stepped_case(MODE_STEP_FORWARD, "wall clock steps forward 30 s"); }

static const lv_case_t cases[] = {
    { "interposed", t_interposed, "the test's timespec_get/clock_gettime take effect (self-check)" },
    { "step_back", t_step_back, "get_timed(200) on a held cell: ETIMEDOUT after 190 ms..5 s despite a 30 s step back" },
    { "step_forward", t_step_forward, "get_timed(200) on a held cell: ETIMEDOUT after >= 190 ms despite a 30 s step forward" },
};

int main(int argc, char **argv)
{
    return lv_main(argc, argv, cases, LV_N(cases));
}
