/* fork.c -- a forked child must never find a cell BUSY forever (SPEC §1: "a
 * forked child ... never leaves a caller waiting forever"; Rust #43448).
 *
 * fork() copies the cell but not the thread constructing it: in the child
 * nobody will ever end that BUSY period.  The child must treat the attempt as
 * abandoned and build the value itself: memo_get runs the constructor in the
 * child and returns 0; memo_get_timed(m, &v, 100) does the same (no
 * ETIMEDOUT: there is nothing to wait for); memo_reset, memo_acquire and
 * memo_release do not block.  The parent is never affected: its constructor,
 * held in a gate across the fork, completes when the gate opens and its
 * waiters get that value.  A value READY at the fork stays the child's value
 * (get returns the same pointer, nothing is built); an EMPTY cell is built by
 * whoever gets it first.  And a thread sleeping in a wait at the fork (in
 * the MEMO_NO_FUTEX build: on a parking-table mutex/condvar, whose mutex
 * another thread may hold at that moment) must not keep the child from
 * getting and waiting on cells.
 *
 * Each child reports through its exit status; the parent waits for it at
 * most 5 s (then kills it and fails), and the child arms its own 4 s
 * watchdog so that a hang inside it is named. */
#include "harness.h"
#include "memo.h"

#ifdef MT_TSAN
/* The child of the parked case starts threads after a multi-threaded fork,
 * which TSan refuses by default (die_after_fork=1). */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "die_after_fork=0"; }
#endif

static pid_t parent_pid;
static int parent_obj, child_obj;
static atomic_int parent_builds, child_builds;
static atomic_int use_gate;
static lv_gate_t gate;            /* the parent's constructor waits here */
static lv_gate_t child_gate;      /* re-initialized in a child that needs one */
static atomic_int child_use_gate;

static int fork_ctor(void *arg, void **out)
{
    (void)arg;
    if (getpid() != parent_pid) {
        atomic_fetch_add(&child_builds, 1);
        if (atomic_load(&child_use_gate))
            lv_gate_pass(&child_gate);
        *out = &child_obj;
        return 0;
    }
    atomic_fetch_add(&parent_builds, 1);
    if (atomic_load(&use_gate))
        lv_gate_pass(&gate);
    *out = &parent_obj;
    return 0;
}

static memo_t cell = MEMO_INIT(fork_ctor, NULL, NULL);

typedef struct getres {
    int rc;
    void *v;
} getres_t;

static void do_get(void *p)
{
    getres_t *r = (getres_t *)p;
    r->v = NULL;
    r->rc = memo_get(&cell, &r->v);
}

static int waits_at_least_1(void *p)
{
    (void)p;
    return memo_stats(&cell).waits >= 1;
}

/* --- the parent's side ---------------------------------------------------- */

static lv_thread_t builder_t, waiter_t;
static getres_t builder_r, waiter_r;

/* The parent's constructor is running (held in the gate) and one more
 * thread waits for it. */
static void parent_make_busy(void)
{
    parent_pid = getpid();
    lv_gate_init(&gate);
    atomic_store(&use_gate, 1);
    lv_thread_start(&builder_t, do_get, &builder_r);
    LV_STAGE("parent: waiting for the constructor to start");
    LV_CHECK(lv_gate_wait_entered(&gate, 1, 5000), "parent: the constructor never started");
    lv_thread_start(&waiter_t, do_get, &waiter_r);
    LV_STAGE("parent: waiting for a waiter to be counted");
    LV_CHECK(lv_poll_until(waits_at_least_1, NULL, 5000), "parent: the waiter never waited");
}

/* After the child: open the gate; the parent's attempt completes normally. */
static void parent_finish_busy(void)
{
    lv_gate_open(&gate);
    LV_STAGE("parent: joining the builder and the waiter after opening the gate");
    LV_CHECK(lv_thread_join_within(&builder_t, 5000), "parent: the builder did not finish");
    LV_CHECK(lv_thread_join_within(&waiter_t, 5000), "parent: the waiter did not wake");
    LV_CHECK(builder_r.rc == 0 && builder_r.v == &parent_obj, "parent: builder got %d %p", builder_r.rc, builder_r.v);
    LV_CHECK(waiter_r.rc == 0 && waiter_r.v == &parent_obj, "parent: waiter got %d %p", waiter_r.rc, waiter_r.v);
    LV_CHECK(atomic_load(&parent_builds) == 1, "parent: one construction");
    LV_CHECK(atomic_load(&child_builds) == 0, "parent: the child's builds are not ours");
    void *v = NULL;
    LV_CHECK(memo_get(&cell, &v) == 0 && v == &parent_obj, "parent: the cell keeps the parent's value");
}

/* Forks; the child runs fn and exits 0 if it returns; the parent checks the
 * child's exit status within 5 s. */
static void fork_and_check(void (*fn)(void), const char *what)
{
    fflush(stdout);
    pid_t pid = fork();
    LV_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        lv_arm_watchdog(4);
        LV_STAGE(what);
        fn();
        lv_exit_now(0); /* the child reported through its status */
    }
    LV_STAGE("parent: waiting for the child");
    int st = lv_wait_child(pid, 5000);
    char d[128];
    lv_describe_status(st, d, sizeof d);
    LV_CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child (%s) failed: %s%s", what, d,
             st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == LV_EXIT_HANG ? " (hung: its watchdog fired)" : "");
}

/* --- the child's side ----------------------------------------------------- */

static void child_get(void)
{
    void *v = NULL;
    int rc = memo_get(&cell, &v);
    LV_CHECK(rc == 0, "child: memo_get = %d", rc);
    LV_CHECK(v == &child_obj, "child: memo_get must build the child's own value");
    LV_CHECK(atomic_load(&child_builds) == 1, "child: one construction in the child");
    rc = memo_get(&cell, &v);
    LV_CHECK(rc == 0 && v == &child_obj && atomic_load(&child_builds) == 1, "child: then cached");
}

static void child_get_timed(void)
{
    void *v = NULL;
    int rc = memo_get_timed(&cell, &v, 100);
    LV_CHECK(rc == 0, "child: memo_get_timed(100) = %d (%s): nothing to wait for in the child, it must build",
             rc, rc == ETIMEDOUT ? "ETIMEDOUT" : strerror(rc));
    LV_CHECK(v == &child_obj && atomic_load(&child_builds) == 1, "child: built in the child");
}

static void child_reset(void)
{
    int rc = memo_reset(&cell);
    LV_CHECK(rc == 0, "child: memo_reset = %d", rc);
    void *v = NULL;
    LV_STAGE("child: memo_get after memo_reset");
    rc = memo_get(&cell, &v);
    LV_CHECK(rc == 0 && v == &child_obj && atomic_load(&child_builds) == 1,
             "child: get after reset builds in the child (%d)", rc);
}

static void child_lease(void)
{
    memo_lease_t l = MEMO_LEASE_INIT;
    int rc = memo_acquire(&cell, &l);
    LV_CHECK(rc == 0, "child: memo_acquire = %d", rc);
    LV_CHECK(l.value == &child_obj && atomic_load(&child_builds) == 1, "child: the lease holds the child's value");
    LV_STAGE("child: memo_release");
    rc = memo_release(&l);
    LV_CHECK(rc == 0, "child: memo_release = %d", rc);
    LV_STAGE("child: memo_reset after the lease");
    LV_CHECK(memo_reset(&cell) == 0, "child: reset");
}

static void child_ready(void)
{
    void *v = NULL;
    int rc = memo_get(&cell, &v);
    LV_CHECK(rc == 0 && v == &parent_obj, "child: a value READY at the fork is kept (%d, %p)", rc, v);
    rc = memo_get_timed(&cell, &v, 0);
    LV_CHECK(rc == 0 && v == &parent_obj, "child: get_timed(0) too");
    LV_CHECK(atomic_load(&child_builds) == 0, "child: nothing built");
}

static void child_empty(void)
{
    void *v = NULL;
    int rc = memo_get(&cell, &v);
    LV_CHECK(rc == 0 && v == &child_obj && atomic_load(&child_builds) == 1, "child: builds its own (%d)", rc);
}

/* --- cases ----------------------------------------------------------------- */

static void busy_case(void (*child)(void), const char *what)
{
    parent_make_busy();
    fork_and_check(child, what);
    parent_finish_busy();
}

static void t_busy_get(void) { busy_case(child_get, "child: memo_get on a cell BUSY at the fork"); }
static void t_busy_get_timed(void) { busy_case(child_get_timed, "child: memo_get_timed(100) on a cell BUSY at the fork"); }
static void t_busy_reset(void) { busy_case(child_reset, "child: memo_reset on a cell BUSY at the fork"); }
static void t_busy_lease(void) { busy_case(child_lease, "child: memo_acquire/memo_release on a cell BUSY at the fork"); }

static void t_ready(void)
{
    parent_pid = getpid();
    void *v = NULL;
    LV_CHECK(memo_get(&cell, &v) == 0 && v == &parent_obj, "parent: build");
    fork_and_check(child_ready, "child: memo_get on a cell READY at the fork");
    LV_CHECK(memo_get(&cell, &v) == 0 && v == &parent_obj && atomic_load(&parent_builds) == 1, "parent: unchanged");
}

static void t_empty(void)
{
    parent_pid = getpid();
    fork_and_check(child_empty, "child: memo_get on a cell EMPTY at the fork");
    void *v = NULL;
    LV_CHECK(memo_get(&cell, &v) == 0 && v == &parent_obj && atomic_load(&parent_builds) == 1, "parent: builds its own");
}

/* parked: at the fork one parent thread sleeps in memo_get on the cell and
 * another hammers memo_get_timed(1 ms) on it (in MEMO_NO_FUTEX: locking and
 * unlocking that cell's parking mutex all the time).  Each child takes the
 * cell over on one thread (its constructor held in a child gate), waits for
 * it with memo_get on its main thread, and a third thread opens the gate once
 * the main thread is counted as waiting: the child both constructs and
 * waits on the very cell -- and parking slot -- the parent's threads use. */
static atomic_int hammer_stop;

static void hammer(void *p)
{
    (void)p;
    while (!atomic_load(&hammer_stop)) {
        void *v;
        memo_get_timed(&cell, &v, 1);
    }
}

typedef struct child_waits {
    uint32_t base;
} child_waits_t;

static int child_waiting(void *p)
{
    return memo_stats(&cell).waits > ((child_waits_t *)p)->base;
}

static void child_opener(void *p)
{
    if (lv_poll_until(child_waiting, p, 3000))
        lv_gate_open(&child_gate);
}

static void child_parked(void)
{
    lv_gate_init(&child_gate);
    atomic_store(&child_use_gate, 1);
    child_waits_t cw = { memo_stats(&cell).waits };
    lv_thread_t c_builder, c_opener;
    getres_t br = { -1, NULL };
    LV_STAGE("child: a child thread takes the cell over (memo_get)");
    lv_thread_start(&c_builder, do_get, &br);
    LV_CHECK(lv_gate_wait_entered(&child_gate, 1, 3000),
             "child: memo_get on a child thread never ran the constructor in the child");
    lv_thread_start(&c_opener, child_opener, &cw);
    LV_STAGE("child: memo_get waiting for the child's own construction");
    void *v = NULL;
    int rc = memo_get(&cell, &v);
    LV_CHECK(rc == 0 && v == &child_obj, "child: the waiter gets the child's value (%d)", rc);
    LV_STAGE("child: joining its threads");
    LV_CHECK(lv_thread_join_within(&c_builder, 3000) && br.rc == 0 && br.v == &child_obj, "child: builder");
    LV_CHECK(lv_thread_join_within(&c_opener, 3000), "child: opener");
    LV_CHECK(atomic_load(&child_builds) == 1, "child: one construction");
}

static void t_parked(void)
{
    parent_make_busy();
    lv_thread_t h;
    lv_thread_start(&h, hammer, NULL);
    for (int i = 0; i < 10; i++)
        fork_and_check(child_parked, "child: take over + wait on a cell a parent thread slept on at the fork");
    atomic_store(&hammer_stop, 1);
    parent_finish_busy();
    LV_CHECK(lv_thread_join_within(&h, 5000), "parent: the hammer thread ends");
}

static const lv_case_t cases[] = {
    { "fork_busy_get", t_busy_get, "child of a fork during construction: memo_get builds in the child, 0" },
    { "fork_busy_get_timed", t_busy_get_timed, "same, memo_get_timed(100) builds, 0 (not ETIMEDOUT)" },
    { "fork_busy_reset", t_busy_reset, "same, memo_reset returns 0 at once, get then builds" },
    { "fork_busy_lease", t_busy_lease, "same, memo_acquire builds and pins, memo_release returns" },
    { "fork_ready", t_ready, "fork while READY: the child keeps the value, builds nothing" },
    { "fork_empty", t_empty, "fork while EMPTY: the child builds its own" },
    { "fork_parked", t_parked, "fork x10 while a thread sleeps on the cell and one hammers get_timed(1): child takes over and waits" },
};

int main(int argc, char **argv)
{
    return lv_main(argc, argv, cases, LV_N(cases));
}
