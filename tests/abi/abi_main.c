/* abi_main.c -- one program, two header versions, one cell (docs/DESIGN.md,
 * "ABI").  old_unit.c is built with the 0.1 header from before the defects
 * fixes, new_unit.c with include/memo.h.  Each case: a waiter in one unit
 * while the constructor runs from the other must get that constructor's
 * value (one construction); leases taken in one unit hold against a reset
 * from the other.  A watchdog turns a hang into a named failure.  Ends with
 * "N passed, N failed". */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cell.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int held, entered;
static atomic_int ctors, dtors;
static int objs[64];

int abi_ctor(void *arg, void **out);
void abi_dtor(void *arg, void *v);
int abi_ctor(void *arg, void **out)
{
    (void)arg;
    int n = atomic_fetch_add(&ctors, 1);
    pthread_mutex_lock(&mu);
    entered++;
    pthread_cond_broadcast(&cv);
    while (held)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    *out = &objs[n % 64];
    return 0;
}
void abi_dtor(void *arg, void *v) { (void)arg; (void)v; atomic_fetch_add(&dtors, 1); }
void gate_hold(void) { pthread_mutex_lock(&mu); held = 1; entered = 0; pthread_mutex_unlock(&mu); }
void gate_wait_entered(void)
{
    pthread_mutex_lock(&mu);
    while (!entered)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}
void gate_release(void) { pthread_mutex_lock(&mu); held = 0; pthread_cond_broadcast(&cv); pthread_mutex_unlock(&mu); }
int ctor_calls(void) { return atomic_load(&ctors); }
int dtor_calls(void) { return atomic_load(&dtors); }

static const char *current = "";
static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "abi: HANG (watchdog, 10 s) in case ";
    if (write(2, msg, sizeof msg - 1) < 0 || write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0)
        _exit(3);
    _exit(2);
}

typedef struct run { int (*get)(void **); int err; void *v; } run_t;
static void *run_get(void *p) { run_t *r = (run_t *)p; r->err = r->get(&r->v); return NULL; }

static int passed, failed;
static void check(int ok, const char *name, const char *why)
{
    if (ok) { passed++; printf("ok   %s\n", name); }
    else { failed++; printf("FAIL %s: %s\n", name, why); }
}

/* builder: the unit whose get constructs; waiter: the unit whose get waits */
static void waiter_case(const char *name, int (*builder)(void **), int (*waiter)(void **),
                        int (*reset)(void))
{
    current = name;
    int c0 = ctor_calls();
    gate_hold();
    run_t b = { builder, -1, NULL }, w = { waiter, -1, NULL };
    pthread_t tb, tw;
    pthread_create(&tb, NULL, run_get, &b);
    gate_wait_entered();
    uint32_t w0 = old_waits();
    pthread_create(&tw, NULL, run_get, &w);
    while (old_waits() == w0) /* the waiter is committed to this attempt */
        sched_yield();
    gate_release();
    pthread_join(tb, NULL);
    pthread_join(tw, NULL);
    check(b.err == 0 && w.err == 0 && w.v == b.v && ctor_calls() == c0 + 1, name,
          "the waiter did not get the one construction's value");
    reset();
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(10);
    printf("abi: cell defined by %s, shared with %s\n", old_unit_version(), new_unit_version());
    /* first, before any thread of the new unit has parked: an older parker
     * sets no flag and waits without limit, so a waker must broadcast anyway */
    waiter_case("new unit builds, old unit waits", new_get, old_get, old_reset);
    waiter_case("old unit builds, new unit waits", old_get, new_get, new_reset);

    current = "lease in the old unit, reset from the new";
    void *v = NULL, *l = NULL, *again = NULL;
    int d0 = dtor_calls();
    int ok = old_acquire(&v, &l) == 0 && new_reset() == 0 && dtor_calls() == d0 &&
             new_get(&again) == 0 && again != v && old_release(l) == 0 && dtor_calls() == d0 + 1;
    check(ok, current, "the leased value was destroyed early or not exactly once");
    new_reset();

    current = "lease in the new unit, reset from the old";
    d0 = dtor_calls();
    ok = new_acquire(&v, &l) == 0 && old_reset() == 0 && dtor_calls() == d0 &&
         old_get(&again) == 0 && again != v && new_release(l) == 0 && dtor_calls() == d0 + 1;
    check(ok, current, "the leased value was destroyed early or not exactly once");
    old_reset();
    check(ctor_calls() == dtor_calls(), "every value destroyed once", "constructions != destructions");
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
