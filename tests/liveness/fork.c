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

#define LV_STR_(x) #x
#define LV_STR(x) LV_STR_(x)

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
 * thread waits for it (with_waiter; else the BUSY word has no WAITERS). */
static void parent_make_busy_(int with_waiter)
{
    parent_pid = getpid();
    lv_gate_init(&gate);
    atomic_store(&use_gate, 1);
    lv_thread_start(&builder_t, do_get, &builder_r);
    LV_STAGE("parent: waiting for the constructor to start");
    LV_CHECK(lv_gate_wait_entered(&gate, 1, 5000), "parent: the constructor never started");
    if (!with_waiter)
        return;
    lv_thread_start(&waiter_t, do_get, &waiter_r);
    LV_STAGE("parent: waiting for a waiter to be counted");
    LV_CHECK(lv_poll_until(waits_at_least_1, NULL, 5000), "parent: the waiter never waited");
}

static void parent_make_busy(void) { parent_make_busy_(1); }

/* After the child: open the gate; the parent's attempt completes normally. */
static void parent_finish_busy_(int with_waiter)
{
    lv_gate_open(&gate);
    LV_STAGE("parent: joining the builder and the waiter after opening the gate");
    LV_CHECK(lv_thread_join_within(&builder_t, 5000), "parent: the builder did not finish");
    LV_CHECK(builder_r.rc == 0 && builder_r.v == &parent_obj, "parent: builder got %d %p", builder_r.rc, builder_r.v);
    if (with_waiter) {
        LV_CHECK(lv_thread_join_within(&waiter_t, 5000), "parent: the waiter did not wake");
        LV_CHECK(waiter_r.rc == 0 && waiter_r.v == &parent_obj, "parent: waiter got %d %p", waiter_r.rc, waiter_r.v);
    }
    LV_CHECK(atomic_load(&parent_builds) == 1, "parent: one construction");
    LV_CHECK(atomic_load(&child_builds) == 0, "parent: the child's builds are not ours");
    void *v = NULL;
    LV_CHECK(memo_get(&cell, &v) == 0 && v == &parent_obj, "parent: the cell keeps the parent's value");
}

static void parent_finish_busy(void) { parent_finish_busy_(1); }

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


/* --- the take-over's defects A-C (docs/DESIGN.md section 11) -------------- */

/* A. Several child threads race memo_get on a cell BUSY at the fork (no
 * WAITERS in the copied word).  One stores the child's pid before its
 * take-over CAS; another reads that pid, takes the dead period for a live
 * one and sets WAITERS; without the retry the first one's CAS failed and
 * both slept forever.  Many rounds, since the window is a few instructions. */
#define RACE_THREADS 4
#ifdef MT_TSAN
#define RACE_ROUNDS 60
#else
#define RACE_ROUNDS 300
#endif
static pthread_barrier_t race_bar;
static getres_t race_r[RACE_THREADS];

static void race_get(void *p)
{
    pthread_barrier_wait(&race_bar);
    do_get(p);
}

static lv_gate_t race_hold;

static void race_placeholder(void *p)
{
    (void)p;
    lv_gate_pass(&race_hold);
}

static void child_race(void)
{
    lv_thread_t t[RACE_THREADS], ph;
    /* First a thread that only waits: it gets the parent builder's stack and
     * pthread_t, which a racer must not have (defect E: EDEADLK while a
     * take-over's pid is stored and owner_ still names the dead builder). */
    lv_gate_init(&race_hold);
    lv_thread_start(&ph, race_placeholder, NULL);
    LV_CHECK(lv_gate_wait_entered(&race_hold, 1, 3000), "child: placeholder thread");
    pthread_barrier_init(&race_bar, NULL, RACE_THREADS);
    for (int i = 0; i < RACE_THREADS; i++) {
        race_r[i].rc = -1;
        lv_thread_start(&t[i], race_get, &race_r[i]);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        LV_CHECK(lv_thread_join_within(&t[i], 3000),
                 "child: thread %d of %d racing memo_get on a cell BUSY at the fork has not returned "
                 "after 3 s (a take-over lost its CAS to WAITERS?)", i, RACE_THREADS);
    for (int i = 0; i < RACE_THREADS; i++)
        LV_CHECK(race_r[i].rc == 0 && race_r[i].v == &child_obj, "child: thread %d got %d %p", i, race_r[i].rc,
                 race_r[i].v);
    LV_CHECK(atomic_load(&child_builds) == 1, "child: %d constructions, want 1", atomic_load(&child_builds));
    lv_gate_open(&race_hold);
    LV_CHECK(lv_thread_join_within(&ph, 3000), "child: placeholder thread");
}

static void t_take_over_race(void)
{
    parent_make_busy_(0);
    for (int i = 0; i < RACE_ROUNDS; i++)
        fork_and_check(child_race, "child: threads racing memo_get on a cell BUSY at the fork");
    parent_finish_busy_(0);
}

/* A, deterministic (white-box, with a real fork): in the child, T1 has
 * loaded the BUSY word s (no WAITERS) and stored the child's pid (done here
 * by hand), T2's memo_get then takes the period for a live one and sets
 * WAITERS; now T1's take-over CAS from s (memo_i_take_over_ called
 * directly) must still win, end the period and wake T2. */
static void child_waiters_cas(void)
{
    uint32_t s = atomic_load(&cell.state_);
    LV_CHECK((s & MEMO_I_PHASE) == MEMO_I_BUSY && !(s & MEMO_I_WAITERS), "child: copied word %#x", s);
    uint32_t fl = atomic_load(&cell.flags_) & 0xffu;
    /* The dead owner's id: one no thread here has.  glibc gives a new
     * child thread the stack, and so the pthread_t, of the parent's builder;
     * with that owner_ and the child's pid T2 would get EDEADLK (defect E,
     * docs/DESIGN.md section 11), not wait. */
    atomic_store(&cell.owner_, 1);
    atomic_store(&cell.flags_, (memo_i_pid_() << 8) | fl);   /* T1's pid store, before its CAS */
    child_waits_t cw = { memo_stats(&cell).waits };
    lv_thread_t t2, t1;
    getres_t r2 = { -1, NULL }, r1 = { -1, NULL };
    LV_STAGE("child: T2 waits on the dead period");
    lv_thread_start(&t2, do_get, &r2);
    LV_CHECK(lv_poll_until(child_waiting, &cw, 3000), "child: T2 never waited (%s, %d)",
             lv_thread_join_within(&t2, 0) ? "returned" : "running", r2.rc);
    mt_sleep_ms(50);
    LV_CHECK(atomic_load(&cell.state_) == (s | MEMO_I_WAITERS), "child: T2 did not set WAITERS");
    LV_STAGE("child: T1's take-over CAS from the word without WAITERS");
    memo_i_take_over_(&cell, s);
    lv_thread_start(&t1, do_get, &r1);  /* T1 goes on with memo_get */
    int ok2 = lv_thread_join_within(&t2, 1200), ok1 = lv_thread_join_within(&t1, 1200);
    LV_CHECK(ok1 && ok2, "child: %s not returned 1.2 s after T1's take-over (its CAS lost to WAITERS: nobody ends "
             "the period)", ok1 ? "T2 has" : ok2 ? "T1 has" : "T1 and T2 have");
    LV_CHECK(r1.rc == 0 && r1.v == &child_obj && r2.rc == 0 && r2.v == &child_obj, "child: T1 %d %p, T2 %d %p",
             r1.rc, r1.v, r2.rc, r2.v);
    LV_CHECK(atomic_load(&child_builds) == 1, "child: %d constructions, want 1", atomic_load(&child_builds));
}

static void t_take_over_waiters(void)
{
    parent_make_busy_(0);
    fork_and_check(child_waiters_cas, "child: a take-over CAS that finds WAITERS set since its load");
    parent_finish_busy_(0);
}

/* B. A constructor that forks.  The forking thread goes on in the child,
 * inside that constructor: another child thread's memo_get on the cell must
 * wait for it (not take the cell over and build again), and get the value
 * the constructor returns in the child; the forking thread's own memo_get
 * there is a recursive call: EDEADLK. */
static int fic_parent_obj, fic_child_obj, fic_stray_obj;
static atomic_int fic_runs, fic_forked;
static lv_thread_t fic_t;
static getres_t fic_r;
static memo_t fic_cell;

static void fic_get(void *p)
{
    getres_t *r = (getres_t *)p;
    r->rc = memo_get(&fic_cell, &r->v);
}

static int fic_waiting(void *p)
{
    return memo_stats(&fic_cell).waits > *(uint32_t *)p || fic_t.done;
}

static int fic_ctor(void *arg, void **out)
{
    (void)arg;
    atomic_fetch_add(&fic_runs, 1);
    if (getpid() != parent_pid || atomic_exchange(&fic_forked, 1)) {
        *out = &fic_stray_obj; /* a second run: the child (wrong) or the parent (no fork) */
        return 0;
    }
    fflush(stdout);
    pid_t pid = fork();
    LV_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        lv_arm_watchdog(4);
        LV_STAGE("child of a fork inside the constructor: another thread's memo_get");
        uint32_t base = memo_stats(&fic_cell).waits;
        fic_r.rc = -1;
        lv_thread_start(&fic_t, fic_get, &fic_r);
        LV_CHECK(lv_poll_until(fic_waiting, &base, 3000), "child: the other thread neither waited nor returned");
        mt_sleep_ms(50);
        pthread_mutex_lock(&fic_t.mu);
        int done = fic_t.done;
        pthread_mutex_unlock(&fic_t.mu);
        LV_CHECK(!done, "child: another thread's memo_get returned %d (%s) while the forking constructor was "
                 "still running: it took the cell over", fic_r.rc,
                 fic_r.v == &fic_stray_obj ? "a value it built itself" : "?");
        LV_STAGE("child: the forking thread's recursive memo_get");
        void *v = NULL;
        int rc = memo_get(&fic_cell, &v);
        LV_CHECK(rc == EDEADLK, "child: the forking thread's own memo_get = %d, want EDEADLK (%d)", rc, EDEADLK);
        *out = &fic_child_obj;
        return 0; /* the constructor returns in the child: t_fork_in_ctor goes on */
    }
    LV_STAGE("parent, in the constructor: waiting for the child");
    int st = lv_wait_child(pid, 5000);
    char d[128];
    lv_describe_status(st, d, sizeof d);
    LV_CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child of the fork inside the constructor failed: %s%s",
             d, st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == LV_EXIT_HANG ? " (hung: its watchdog fired)" : "");
    *out = &fic_parent_obj;
    return 0;
}

static void t_fork_in_ctor(void)
{
    parent_pid = getpid();
    fic_cell = (memo_t)MEMO_INIT(fic_ctor, NULL, NULL);
    void *v = NULL;
    int rc = memo_get(&fic_cell, &v);
    if (getpid() != parent_pid) {
        LV_STAGE("child: after the forking constructor returned");
        LV_CHECK(rc == 0 && v == &fic_child_obj, "child: the forking thread's memo_get = %d %p", rc, v);
        LV_CHECK(lv_thread_join_within(&fic_t, 3000),
                 "child: the other thread's memo_get has not returned 3 s after the forking constructor did");
        LV_CHECK(fic_r.rc == 0 && fic_r.v == &fic_child_obj,
                 "child: the other thread got %d %p, want the forking constructor's value", fic_r.rc, fic_r.v);
        LV_CHECK(atomic_load(&fic_runs) == 1, "child: %d constructor runs, want 1 (the forking one)",
                 atomic_load(&fic_runs));
        lv_exit_now(0);
    }
    LV_CHECK(rc == 0 && v == &fic_parent_obj && atomic_load(&fic_runs) == 1, "parent: got %d %p after %d runs", rc, v,
             atomic_load(&fic_runs));
}

/* C (white-box, no fork: the cell is set up as a copy).  The dead owner of
 * generation g recorded a failure (fail_ = g+1) and was copied before its
 * exchange.  A child thread W took that period for a live one (the pid it
 * read was stored by a take-over that had not done its CAS yet) and sleeps
 * on it.  The take-over's CAS moves the word to g+1; W wakes and looks for
 * the failure of g+1: it must not find the parent's error.  The take-over
 * is held between its CAS and the end of its period by rlock_, which holds
 * this process's pid (a live holder). */
static atomic_int dead_runs;
static int dead_ctor(void *arg, void **out)
{
    (void)arg;
    atomic_fetch_add(&dead_runs, 1);
    *out = &child_obj;
    return 0;
}
static memo_t dead_cell = MEMO_INIT(dead_ctor, NULL, NULL);
static lv_thread_t dead_w, dead_z;
static getres_t dead_wr, dead_zr;
static uint32_t dead_g = 5;

static void dead_get(void *p)
{
    getres_t *r = (getres_t *)p;
    r->rc = memo_get(&dead_cell, &r->v);
}

static int dead_counted(void *p)
{
    (void)p;
    return memo_stats(&dead_cell).waits >= 1;
}

static int dead_taken(void *p)
{
    (void)p;
    return MEMO_I_GEN(atomic_load(&dead_cell.state_)) == dead_g + 1;
}

static int dead_w_done(void *p)
{
    (void)p;
    pthread_mutex_lock(&dead_w.mu);
    int d = dead_w.done;
    pthread_mutex_unlock(&dead_w.mu);
    return d;
}

static void t_dead_failure(void)
{
    const uint32_t me = memo_i_pid_(), other = me == 1 ? 2 : me - 1;
    const uint32_t fl = atomic_load(&dead_cell.flags_) & 0xffu;
    atomic_store(&dead_cell.owner_, 1);                           /* a thread not in this process */
    atomic_store(&dead_cell.fail_, ((uint64_t)(dead_g + 1) << 32) | (uint32_t)EIO);
    atomic_store(&dead_cell.flags_, (me << 8) | fl);              /* as a take-over stored it */
    atomic_store(&dead_cell.state_, (dead_g * MEMO_I_GEN_ONE) | MEMO_I_BUSY);
    LV_STAGE("W: memo_get on the dead period, which looks alive");
    lv_thread_start(&dead_w, dead_get, &dead_wr);
    LV_CHECK(lv_poll_until(dead_counted, NULL, 3000), "W never waited");
    mt_sleep_ms(100);
    atomic_store(&dead_cell.rlock_, me);                          /* holds the take-over after its CAS */
    atomic_store(&dead_cell.flags_, (other << 8) | fl);           /* the dead owner's pid */
    LV_STAGE("Z: memo_get takes the cell over");
    lv_thread_start(&dead_z, dead_get, &dead_zr);
    LV_CHECK(lv_poll_until(dead_taken, NULL, 3000), "Z never took the cell over");
    memo_i_wake_(&dead_cell.state_);                              /* W looks again now */
    if (lv_poll_until(dead_w_done, NULL, 1000))
        LV_CHECK(dead_wr.rc == 0, "W returned %d%s while the take-over ran", dead_wr.rc,
                 dead_wr.rc == EIO ? " (EIO: the dead owner's unpublished failure)" : "");
    atomic_store(&dead_cell.rlock_, 0);
    LV_STAGE("joining W and Z after the take-over was let go");
    LV_CHECK(lv_thread_join_within(&dead_w, 3000) && lv_thread_join_within(&dead_z, 3000), "W or Z never returned");
    LV_CHECK(dead_wr.rc == 0 && dead_wr.v == &child_obj, "W got %d %p", dead_wr.rc, dead_wr.v);
    LV_CHECK(dead_zr.rc == 0 && dead_zr.v == &child_obj, "Z got %d %p", dead_zr.rc, dead_zr.v);
    LV_CHECK(atomic_load(&dead_runs) == 1, "%d constructions, want 1", atomic_load(&dead_runs));
}

static const lv_case_t cases[] = {
    { "fork_busy_get", t_busy_get, "child of a fork during construction: memo_get builds in the child, 0" },
    { "fork_busy_get_timed", t_busy_get_timed, "same, memo_get_timed(100) builds, 0 (not ETIMEDOUT)" },
    { "fork_busy_reset", t_busy_reset, "same, memo_reset returns 0 at once, get then builds" },
    { "fork_busy_lease", t_busy_lease, "same, memo_acquire builds and pins, memo_release returns" },
    { "fork_ready", t_ready, "fork while READY: the child keeps the value, builds nothing" },
    { "fork_empty", t_empty, "fork while EMPTY: the child builds its own" },
    { "fork_take_over_race", t_take_over_race, "fork x" LV_STR(RACE_ROUNDS) " while BUSY (no WAITERS); in each child " LV_STR(RACE_THREADS) " threads race memo_get: all 0, the child's value, one construction" },
    { "fork_take_over_waiters", t_take_over_waiters, "white-box: a take-over CAS from a word that has since got WAITERS still wins; both child threads get the value" },
    { "fork_in_ctor", t_fork_in_ctor, "a constructor forks: in the child another thread waits for it and gets its value, its own get is EDEADLK, one run" },
    { "fork_dead_failure", t_dead_failure, "white-box: a dead owner's failure record (gen+1) is not returned to a waiter woken by the take-over's CAS" },
    { "fork_parked", t_parked, "fork x10 while a thread sleeps on the cell and one hammers get_timed(1): child takes over and waits" },
};

int main(int argc, char **argv)
{
    return lv_main(argc, argv, cases, LV_N(cases));
}
