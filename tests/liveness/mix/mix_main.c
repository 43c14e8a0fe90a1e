/* mix_main.c -- two translation units of one program share a cell, one
 * compiled with -DMEMO_NO_FUTEX and one without (a library built one way, the
 * application the other; SPEC §8: objects built with different settings
 * share cells).  A waiter in one unit, the constructor run by a memo_get in
 * the other: today the futex waiter is never woken by a condvar broadcast,
 * and the condvar waiter never by a futex wake -- both directions hang.  The
 * waiter must return the value within 3 s after the construction ends.
 * This file does not include memo.h. */
#include "../harness.h"

int x_get(void **v);          /* mix_x.c, futex */
int y_get(void **v);          /* mix_y.c, MEMO_NO_FUTEX */
unsigned x_waits(void);
void mix_set_hook(void (*h)(void));
int *mix_value(void);

static lv_gate_t gate;
static void hold(void) { lv_gate_pass(&gate); }

typedef struct call {
    int (*get)(void **);
    int rc;
    void *v;
} call_t;

static void do_call(void *p)
{
    call_t *c = (call_t *)p;
    c->v = NULL;
    c->rc = c->get(&c->v);
}

static int waiting(void *p)
{
    (void)p;
    return x_waits() >= 1;
}

static void run(int (*builder_get)(void **), const char *bname, int (*waiter_get)(void **), const char *wname)
{
    lv_gate_init(&gate);
    mix_set_hook(hold);
    call_t b = { builder_get, -1, NULL }, w = { waiter_get, -1, NULL };
    lv_thread_t bt, wt;
    lv_thread_start(&bt, do_call, &b);
    LV_STAGE("waiting for the constructor to start");
    LV_CHECK(lv_gate_wait_entered(&gate, 1, 5000), "the constructor (memo_get in %s) never started", bname);
    lv_thread_start(&wt, do_call, &w);
    LV_STAGE("waiting for the waiter to be counted");
    LV_CHECK(lv_poll_until(waiting, NULL, 5000), "the memo_get in %s never waited", wname);
    /* let the waiter fall asleep; too short = a trivial pass, never a false failure */
    mt_sleep_ms(150);
    lv_gate_open(&gate);
    LV_STAGE("waiting for the waiter to wake after the construction ended");
    LV_CHECK(lv_thread_join_within(&bt, 3000) && b.rc == 0, "the constructing memo_get in %s (%d)", bname, b.rc);
    LV_CHECK(lv_thread_join_within(&wt, 3000),
             "the memo_get in %s is still asleep 3 s after the constructor (run from %s) ended: lost wake-up",
             wname, bname);
    LV_CHECK(w.rc == 0 && w.v == (void *)mix_value(), "the waiter in %s got %d %p", wname, w.rc, w.v);
}

static void t_waiter_futex(void) { run(y_get, "the MEMO_NO_FUTEX unit", x_get, "the futex unit"); }
static void t_waiter_nofutex(void) { run(x_get, "the futex unit", y_get, "the MEMO_NO_FUTEX unit"); }

static const lv_case_t cases[] = {
    { "waiter_futex_ctor_nofutex", t_waiter_futex, "waiter in the futex TU, ctor run from the MEMO_NO_FUTEX TU: wakes within 3 s" },
    { "waiter_nofutex_ctor_futex", t_waiter_nofutex, "waiter in the MEMO_NO_FUTEX TU, ctor run from the futex TU: wakes within 3 s" },
};

int main(int argc, char **argv)
{
    return lv_main(argc, argv, cases, LV_N(cases));
}
