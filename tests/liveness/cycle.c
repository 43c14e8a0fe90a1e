/* cycle.c -- constructors of different cells that depend on each other from
 * different threads.  A cycle (A's constructor gets B while B's constructor,
 * in another thread, gets A) can never complete: each owner waits for the
 * other.  The library must detect it and answer EDEADLK to at least one of the
 * gets (the same-thread case, a constructor getting its own cell, already
 * does), instead of two threads sleeping forever.  A chain (A's constructor
 * waits for B, B's constructor just works) is not a cycle and must never get
 * EDEADLK.  Barriers make both (all three) constructors run before any of
 * them touches another cell, so the cycle is really formed every time. */
#include "harness.h"
#include "memo.h"

static int obj_a, obj_b, obj_c;

typedef struct node {
    memo_t *next;            /* the cell this constructor gets (or resets) */
    int reset_next;          /* 1: memo_reset(next) instead of memo_get */
    long work_ms;            /* 0: depend on `next`; >0: no dependency, just work */
    pthread_barrier_t *bar;  /* all constructors running before anyone proceeds */
    void *value;
    atomic_int inner_rc;     /* what the get/reset of `next` returned */
    atomic_int ran;          /* constructor calls */
} node_t;

static int node_ctor(void *arg, void **out)
{
    node_t *n = (node_t *)arg;
    atomic_fetch_add(&n->ran, 1);
    if (n->bar)
        pthread_barrier_wait(n->bar);
    if (n->work_ms) {
        mt_sleep_ms(n->work_ms);   /* the work itself, not synchronization */
        *out = n->value;
        return 0;
    }
    int rc;
    if (n->reset_next) {
        rc = memo_reset(n->next);
    } else {
        void *v = NULL;
        rc = memo_get(n->next, &v);
    }
    atomic_store(&n->inner_rc, rc);
    if (rc)
        return rc;     /* a failed dependency fails this construction too */
    *out = n->value;
    return 0;
}

typedef struct outer {
    memo_t *m;
    int rc;
    void *v;
} outer_t;

static void outer_get(void *p)
{
    outer_t *o = (outer_t *)p;
    o->v = NULL;
    o->rc = memo_get(o->m, &o->v);
}

static void cell_init(memo_t *m, node_t *n, memo_t *next, void *value, pthread_barrier_t *bar)
{
    memset(m, 0, sizeof *m);
    m->ctor = node_ctor;
    m->arg = n;
    n->next = next;
    n->value = value;
    n->bar = bar;
    atomic_store(&n->inner_rc, -1);
}

static const char *rcname(int rc)
{
    return rc == 0 ? "0" : rc == EDEADLK ? "EDEADLK" : rc == -1 ? "(not reached)" : strerror(rc);
}

/* Runs the cells' outer gets on one thread each and waits (bounded) for all. */
static void run_all_outer(outer_t *o, int n, const char *what)
{
    lv_thread_t t[3];
    for (int i = 0; i < n; i++)
        lv_thread_start(&t[i], outer_get, &o[i]);
    LV_STAGE(what);
    for (int i = 0; i < n; i++)
        LV_CHECK(lv_thread_join_within(&t[i], 5000),
                 "%s: the get of cell %c has not returned after 5 s (deadlock)", what, 'A' + i);
}

/* A's ctor gets B, B's ctor gets A, on two threads. */
static void t_cycle2(void)
{
    static memo_t A, B;
    static node_t na, nb;
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    cell_init(&A, &na, &B, &obj_a, &bar);
    cell_init(&B, &nb, &A, &obj_b, &bar);
    outer_t o[2] = { { &A, -1, NULL }, { &B, -1, NULL } };
    run_all_outer(o, 2, "thread 1 gets A (ctor gets B), thread 2 gets B (ctor gets A)");
    int ia = atomic_load(&na.inner_rc), ib = atomic_load(&nb.inner_rc);
    lv_say("get(A)=%s [its ctor's get(B)=%s], get(B)=%s [its ctor's get(A)=%s]",
           rcname(o[0].rc), rcname(ia), rcname(o[1].rc), rcname(ib));
    LV_CHECK(ia == EDEADLK || ib == EDEADLK, "a 2-cell cycle: at least one inner get must be EDEADLK");
    LV_CHECK((ia == 0 || ia == EDEADLK) && (ib == 0 || ib == EDEADLK), "inner gets: 0 or EDEADLK only");
    LV_CHECK(o[0].rc == ia && o[1].rc == ib, "each outer get returns its ctor's outcome");
    LV_CHECK(o[0].rc != 0 || o[0].v == &obj_a, "get(A) = 0 must give A's value");
    LV_CHECK(o[1].rc != 0 || o[1].v == &obj_b, "get(B) = 0 must give B's value");
    LV_CHECK(atomic_load(&na.ran) == 1 && atomic_load(&nb.ran) == 1, "each ctor ran once");
    /* nothing is left BUSY */
    LV_STAGE("memo_reset(A), memo_reset(B) after the cycle");
    LV_CHECK(memo_reset(&A) == 0 && memo_reset(&B) == 0, "reset after the cycle");
}

/* A's ctor resets B while B's ctor gets A. */
static void t_cycle2_reset(void)
{
    static memo_t A, B;
    static node_t na, nb;
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    cell_init(&A, &na, &B, &obj_a, &bar);
    cell_init(&B, &nb, &A, &obj_b, &bar);
    na.reset_next = 1;
    outer_t o[2] = { { &A, -1, NULL }, { &B, -1, NULL } };
    run_all_outer(o, 2, "thread 1 gets A (ctor resets B), thread 2 gets B (ctor gets A)");
    int ia = atomic_load(&na.inner_rc), ib = atomic_load(&nb.inner_rc);
    lv_say("get(A)=%s [its ctor's reset(B)=%s], get(B)=%s [its ctor's get(A)=%s]",
           rcname(o[0].rc), rcname(ia), rcname(o[1].rc), rcname(ib));
    LV_CHECK(ia == EDEADLK || ib == EDEADLK, "reset/get cycle: the reset or the get must be EDEADLK");
    LV_CHECK((ia == 0 || ia == EDEADLK) && (ib == 0 || ib == EDEADLK), "inner calls: 0 or EDEADLK only");
    LV_CHECK(o[0].rc == ia && o[1].rc == ib, "each outer get returns its ctor's outcome");
    LV_STAGE("memo_reset(A), memo_reset(B) after the cycle");
    LV_CHECK(memo_reset(&A) == 0 && memo_reset(&B) == 0, "reset after the cycle");
}

/* A -> B -> C -> A over three threads. */
static void t_cycle3(void)
{
    static memo_t A, B, C;
    static node_t na, nb, nc;
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    cell_init(&A, &na, &B, &obj_a, &bar);
    cell_init(&B, &nb, &C, &obj_b, &bar);
    cell_init(&C, &nc, &A, &obj_c, &bar);
    outer_t o[3] = { { &A, -1, NULL }, { &B, -1, NULL }, { &C, -1, NULL } };
    run_all_outer(o, 3, "threads get A, B, C; ctors get B, C, A");
    int ia = atomic_load(&na.inner_rc), ib = atomic_load(&nb.inner_rc), ic = atomic_load(&nc.inner_rc);
    lv_say("get(A)=%s [get(B)=%s], get(B)=%s [get(C)=%s], get(C)=%s [get(A)=%s]",
           rcname(o[0].rc), rcname(ia), rcname(o[1].rc), rcname(ib), rcname(o[2].rc), rcname(ic));
    LV_CHECK(ia == EDEADLK || ib == EDEADLK || ic == EDEADLK, "a 3-cell cycle: some inner get must be EDEADLK");
    LV_CHECK((ia == 0 || ia == EDEADLK) && (ib == 0 || ib == EDEADLK) && (ic == 0 || ic == EDEADLK),
             "inner gets: 0 or EDEADLK only");
    LV_CHECK(o[0].rc == ia && o[1].rc == ib && o[2].rc == ic, "each outer get returns its ctor's outcome");
    LV_STAGE("memo_reset(A, B, C) after the cycle");
    LV_CHECK(memo_reset(&A) == 0 && memo_reset(&B) == 0 && memo_reset(&C) == 0, "reset after the cycle");
}

/* Control: A's ctor gets B while B's ctor (another thread) works 100 ms.  A
 * chain, not a cycle: both succeed, no EDEADLK. */
static void t_chain_control(void)
{
    static memo_t A, B;
    static node_t na, nb;
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    cell_init(&A, &na, &B, &obj_a, &bar);
    cell_init(&B, &nb, NULL, &obj_b, &bar);
    nb.work_ms = 100;
    outer_t o[2] = { { &A, -1, NULL }, { &B, -1, NULL } };
    run_all_outer(o, 2, "chain: A's ctor gets B, B's ctor works 100 ms");
    int ia = atomic_load(&na.inner_rc);
    lv_say("get(A)=%s [its ctor's get(B)=%s], get(B)=%s", rcname(o[0].rc), rcname(ia), rcname(o[1].rc));
    LV_CHECK(ia == 0 && o[0].rc == 0 && o[1].rc == 0, "a chain is not a cycle: everything succeeds");
    LV_CHECK(o[0].v == &obj_a && o[1].v == &obj_b, "the values");
    LV_CHECK(atomic_load(&nb.ran) == 1, "B built once (A waited for it)");
}

/* Control: a 3-thread chain whose middle link waits: A's ctor gets B, B's ctor
 * gets C, C's ctor works 100 ms.  Two owners wait at once; still no cycle. */
static void t_chain3_control(void)
{
    static memo_t A, B, C;
    static node_t na, nb, nc;
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    cell_init(&A, &na, &B, &obj_a, &bar);
    cell_init(&B, &nb, &C, &obj_b, &bar);
    cell_init(&C, &nc, NULL, &obj_c, &bar);
    nc.work_ms = 100;
    outer_t o[3] = { { &A, -1, NULL }, { &B, -1, NULL }, { &C, -1, NULL } };
    run_all_outer(o, 3, "chain: A's ctor gets B, B's ctor gets C, C's ctor works 100 ms");
    int ia = atomic_load(&na.inner_rc), ib = atomic_load(&nb.inner_rc);
    lv_say("get(A)=%s [get(B)=%s], get(B)=%s [get(C)=%s], get(C)=%s",
           rcname(o[0].rc), rcname(ia), rcname(o[1].rc), rcname(ib), rcname(o[2].rc));
    LV_CHECK(ia == 0 && ib == 0 && o[0].rc == 0 && o[1].rc == 0 && o[2].rc == 0,
             "a chain is not a cycle: everything succeeds");
}

static const lv_case_t cases[] = {
    { "cycle2", t_cycle2, "A's ctor gets B, B's ctor gets A (2 threads): EDEADLK for one, no hang" },
    { "cycle2_reset", t_cycle2_reset, "A's ctor resets B, B's ctor gets A: EDEADLK for one, no hang" },
    { "cycle3", t_cycle3, "A->B->C->A over 3 threads: EDEADLK for one, no hang" },
    { "chain_control", t_chain_control, "A's ctor gets B, B's ctor works: both 0, no EDEADLK" },
    { "chain3_control", t_chain3_control, "A->B->C, C works: all 0, no EDEADLK" },
};

int main(int argc, char **argv)
{
    return lv_main(argc, argv, cases, LV_N(cases));
}
