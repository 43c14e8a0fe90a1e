/* abi_main.c -- one program, two header versions, each on its own cells
 * (docs/DESIGN.md, "ABI").  old_unit.c is built with the frozen 0.1 header,
 * new_unit.c with include/memo.h (0.2).  0.1 and 0.2 must not share a cell
 * (memo_t's layout past state_ changed: incompatible minor versions), but a
 * 0.1 unit and a 0.2 unit must live in one program at the same time, each
 * using its own cell, while they share the program-wide weak v1 tables,
 * whose layout and meaning did not change (the frozen copy here defines only
 * the MEMO_NO_FUTEX park table memo_i_park_v1_; memo_i_waiting_v1_,
 * memo_i_forker_*_v1_ and memo_i_claim_pid_v1_ came with the 0.1 defects
 * fixes, after it); 0.2 adds a registry (memo_i_registry_v2_) that 0.1 units
 * never join.  Cases:
 *   - the frozen prefix (slot_, state_) is laid out alike; with MEMO_NO_FUTEX
 *     both units link one park table;
 *   - both cells contended at once: in each unit waiters sleep while a
 *     builder of the same unit constructs (gated), so under MEMO_NO_FUTEX
 *     both kinds of waiters sit in the shared park table together; each
 *     gets its own unit's one construction;
 *   - leases in the new unit across a reset (an old lease held meanwhile is
 *     untouched);
 *   - memo_shutdown() from the new unit destroys the new cell's value only
 *     (the old cell is not in the registry) and the old cell works after it;
 *   - fork() while both cells hold leased values: in the child both gets
 *     return the parent's values and both cells construct again, contended
 *     (child's exit status through waitpid).
 * No sleep-based synchronization: gates, the cells' own wait counters and
 * their WAITERS bits.  A watchdog (SIGALRM, 10 s; 5 s in the forked child)
 * turns a hang into a named failure.  Ends with "N passed, N failed". */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cell.h"

/* --- the constructor: gated, counted per unit ---------------------------- */
#define NOBJ 64
struct abi_unit {
    const char *name;
    atomic_int ctors, dtors;
    int objs[NOBJ]; /* the unit's values: &objs[k] */
};
struct abi_unit abi_old_unit = { "old", 0, 0, { 0 } }, abi_new_unit = { "new", 0, 0, { 0 } };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int held, entered;

int abi_ctor(void *arg, void **out)
{
    struct abi_unit *u = (struct abi_unit *)arg;
    int n = atomic_fetch_add(&u->ctors, 1);
    pthread_mutex_lock(&mu);
    entered++;
    pthread_cond_broadcast(&cv);
    while (held)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    *out = &u->objs[n % NOBJ];
    return 0;
}
void abi_dtor(void *arg, void *v) { (void)v; atomic_fetch_add(&((struct abi_unit *)arg)->dtors, 1); }

static void gate_hold(void) { pthread_mutex_lock(&mu); held = 1; entered = 0; pthread_mutex_unlock(&mu); }
static void gate_wait_entered(int n) /* n constructors are inside, held */
{
    pthread_mutex_lock(&mu);
    while (entered < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}
static void gate_release(void) { pthread_mutex_lock(&mu); held = 0; pthread_cond_broadcast(&cv); pthread_mutex_unlock(&mu); }
static int ctors(struct abi_unit *u) { return atomic_load(&u->ctors); }
static int dtors(struct abi_unit *u) { return atomic_load(&u->dtors); }
static int of_unit(struct abi_unit *u, const void *v)
{
    return v && (const int *)v >= u->objs && (const int *)v < u->objs + NOBJ;
}

/* --- the watchdog and the report ---------------------------------------- */
static const char *current = "";
static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "abi: HANG (watchdog) in case ";
    if (write(2, msg, sizeof msg - 1) < 0 || write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0)
        _exit(3);
    _exit(2);
}

static int passed, failed;
static void check(int ok, const char *name, const char *why)
{
    if (ok) { passed++; printf("ok   %s\n", name); }
    else { failed++; printf("FAIL %s: %s\n", name, why); }
}

/* --- both cells contended at once ---------------------------------------- */
typedef struct run { int (*get)(void **); int err; void *v; } run_t;
static void *run_get(void *p) { run_t *r = (run_t *)p; r->err = r->get(&r->v); return NULL; }

#define NWAIT 2 /* waiters per unit */
typedef struct side {
    struct abi_unit *u;
    int (*get)(void **);
    uint32_t (*waits)(void);
    int (*has_waiters)(void);
    run_t b, w[NWAIT];
    pthread_t tb, tw[NWAIT];
    int c0;
} side_t;

static void side_init(side_t *s, struct abi_unit *u, int (*get)(void **), uint32_t (*waits)(void),
                      int (*has_waiters)(void))
{
    memset(s, 0, sizeof *s);
    s->u = u;
    s->get = get;
    s->waits = waits;
    s->has_waiters = has_waiters;
    s->c0 = ctors(u);
    s->b.get = get;
    s->b.err = -1;
    for (int i = 0; i < NWAIT; i++) {
        s->w[i].get = get;
        s->w[i].err = -1;
    }
}

/* Both cells emptied first; a builder per unit enters the gated
 * constructor, then NWAIT waiters per unit commit to those attempts (the
 * cell counted their waits and carries WAITERS) before the gate opens.  NULL
 * if each unit's waiters got that unit's one construction, else why not. */
static const char *contend_both(void)
{
    side_t s[2];
    if (old_reset() != 0 || new_reset() != 0)
        return "a reset failed";
    side_init(&s[0], &abi_old_unit, old_get, old_waits, old_has_waiters);
    side_init(&s[1], &abi_new_unit, new_get, new_waits, new_has_waiters);
    gate_hold();
    for (int k = 0; k < 2; k++)
        pthread_create(&s[k].tb, NULL, run_get, &s[k].b);
    gate_wait_entered(2); /* both cells BUSY, both builders held */
    uint32_t w0[2];
    for (int k = 0; k < 2; k++) {
        w0[k] = s[k].waits();
        for (int i = 0; i < NWAIT; i++)
            pthread_create(&s[k].tw[i], NULL, run_get, &s[k].w[i]);
    }
    for (int k = 0; k < 2; k++) /* every waiter committed, WAITERS set */
        while (s[k].waits() - w0[k] < NWAIT || !s[k].has_waiters())
            sched_yield();
    gate_release();
    const char *why = NULL;
    for (int k = 0; k < 2; k++) {
        pthread_join(s[k].tb, NULL);
        for (int i = 0; i < NWAIT; i++)
            pthread_join(s[k].tw[i], NULL);
        int ok = s[k].b.err == 0 && of_unit(s[k].u, s[k].b.v) && ctors(s[k].u) == s[k].c0 + 1;
        for (int i = 0; i < NWAIT; i++)
            ok = ok && s[k].w[i].err == 0 && s[k].w[i].v == s[k].b.v;
        if (!ok && !why)
            why = k == 0 ? "the old unit's waiters did not get its one construction"
                         : "the new unit's waiters did not get its one construction";
    }
    return why;
}

/* --- fork: the child ----------------------------------------------------- */
static void *fork_ov, *fork_nv, *fork_ol, *fork_nl;
static int child_fail(int code, const char *why)
{
    printf("     (fork child) %s\n", why);
    return code;
}
static int in_child(void)
{
    current = "fork (child)";
    alarm(5); /* not inherited; shorter than the parent's, which waits for us */
    void *v = NULL;
    int od = dtors(&abi_old_unit), nd = dtors(&abi_new_unit);
    if (old_get(&v) != 0 || v != fork_ov)
        return child_fail(10, "the old get did not return the parent's value");
    if (new_get(&v) != 0 || v != fork_nv)
        return child_fail(11, "the new get did not return the parent's value");
    if (old_release(fork_ol) != 0 || new_release(fork_nl) != 0)
        return child_fail(12, "an inherited lease could not be released");
    if (old_reset() != 0 || new_reset() != 0 || dtors(&abi_old_unit) != od + 1 ||
        dtors(&abi_new_unit) != nd + 1)
        return child_fail(13, "the resets did not destroy each value once");
    const char *why = contend_both();
    if (why)
        return child_fail(14, why);
    if (old_reset() != 0 || new_reset() != 0)
        return child_fail(15, "a reset after the contended construction failed");
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(10);
    printf("abi: old cell built by %s, new cell by %s\n", old_unit_version(), new_unit_version());
    void *v = NULL, *ov = NULL, *nv = NULL, *l = NULL, *ol = NULL, *again = NULL;
    int ok;

    current = "frozen prefix alike";
    check(old_offset_slot() == new_offset_slot() && old_offset_state() == new_offset_state(), current,
          "slot_ or state_ is not where 0.1 has it");
    current = "one park table (MEMO_NO_FUTEX)";
    if (old_park_table())
        check(old_park_table() == new_park_table(), current,
              "the units link different memo_i_park_v1_ tables");
    else
        printf("--   %s: skipped, futex build (0.1 has no table)\n", current);

    current = "both cells contended at once, waiters of each unit";
    const char *why = contend_both();
    check(!why, current, why);
    ok = old_get(&ov) == 0 && new_get(&nv) == 0 && of_unit(&abi_old_unit, ov) && of_unit(&abi_new_unit, nv);
    check(ok, "each cell keeps its own unit's value", "a get returned another unit's value");
    old_reset();
    new_reset();

    current = "lease in the new unit across a reset (old lease held)";
    int od = dtors(&abi_old_unit), nd = dtors(&abi_new_unit), oc = ctors(&abi_old_unit);
    ok = old_acquire(&ov, &ol) == 0 && new_acquire(&v, &l) == 0 && new_reset() == 0 &&
         dtors(&abi_new_unit) == nd && new_get(&again) == 0 && again != v && of_unit(&abi_new_unit, again) &&
         new_release(l) == 0 && dtors(&abi_new_unit) == nd + 1 &&
         old_get(&again) == 0 && again == ov && old_release(ol) == 0 &&
         dtors(&abi_old_unit) == od && ctors(&abi_old_unit) == oc + 1;
    check(ok, current, "the leased value was destroyed early or not exactly once, or the old cell moved");
    new_reset();
    old_reset();

    current = "memo_shutdown from the new unit: new value only";
    ok = old_get(&ov) == 0 && new_get(&nv) == 0;
    check(ok && new_registry_entries_for(old_cell()) == 0 && new_registry_entries_for(new_cell()) == 1 &&
          new_registry_live() == 1, "the registry lists the new cell, not the old",
          "memo_i_registry_v2_ does not hold exactly the new cell");
    od = dtors(&abi_old_unit);
    nd = dtors(&abi_new_unit);
    oc = ctors(&abi_old_unit);
    ok = ok && new_shutdown() == 0;
    check(ok && dtors(&abi_new_unit) == nd + 1 && new_peek(&v) == EAGAIN && new_registry_live() == 0,
          current, "the new cell's value was not destroyed exactly once, or the cell is not empty");
    check(ok && dtors(&abi_old_unit) == od && old_peek(&v) == 0 && v == ov,
          "memo_shutdown leaves the old cell's value alone", "the old cell's value was destroyed or moved");
    current = "the old cell after memo_shutdown";
    ok = old_get(&again) == 0 && again == ov && ctors(&abi_old_unit) == oc && old_reset() == 0 &&
         dtors(&abi_old_unit) == od + 1 && old_get(&again) == 0 && of_unit(&abi_old_unit, again) &&
         ctors(&abi_old_unit) == oc + 1 && old_reset() == 0;
    why = ok ? contend_both() : "get/reset after the shutdown failed";
    check(!why, current, why);
    ok = new_get(&nv) == 0 && of_unit(&abi_new_unit, nv);
    check(ok, "the new cell after memo_shutdown", "no new value after the shutdown");
    old_reset();
    new_reset();

    current = "fork while both cells hold leased values";
    ok = old_get(&fork_ov) == 0 && new_get(&fork_nv) == 0 && old_acquire(&ov, &fork_ol) == 0 &&
         new_acquire(&nv, &fork_nl) == 0 && ov == fork_ov && nv == fork_nv;
    od = dtors(&abi_old_unit);
    nd = dtors(&abi_new_unit);
    int st = -1;
    alarm(10); /* the parent's watchdog, from here: outlasts the child's */
    pid_t pid = ok ? fork() : -1;
    if (pid == 0)
        _exit(in_child());
    ok = ok && pid > 0 && waitpid(pid, &st, 0) == pid;
    char msg[96];
    snprintf(msg, sizeof msg, "the child ended with status %#x (exit 2: it hung; 10-15: in_child)", (unsigned)st);
    check(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0, current, msg);
    current = "the parent after the fork";
    ok = old_get(&v) == 0 && v == fork_ov && new_get(&again) == 0 && again == fork_nv &&
         old_release(fork_ol) == 0 && new_release(fork_nl) == 0 &&
         dtors(&abi_old_unit) == od && dtors(&abi_new_unit) == nd;
    check(ok, current, "the parent's values or leases changed");
    old_reset();
    new_reset();

    check(ctors(&abi_old_unit) == dtors(&abi_old_unit) && ctors(&abi_new_unit) == dtors(&abi_new_unit),
          "every value destroyed once", "constructions != destructions in a unit");
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
