/* c_unit.c -- the C side of tests/cxx (built as C11): cells defined with
 * MEMO_INIT and the typed generators, and memo.h's functions called from C
 * on cells of either language.  See cxx_main.cpp. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "shared.h"

static atomic_int n_make, n_free, n_fail, n_slow, n_thing, n_thing_free, n_triple, n_tls, n_tls_free;
int c_tag = 1234;

static int c_make(void *arg, void **out)
{
    int *v = (int *)malloc(sizeof *v);
    if (!v)
        return ENOMEM;
    *v = *(int *)arg + atomic_fetch_add(&n_make, 1);
    *out = v;
    return 0;
}
static void c_free(void *arg, void *v)
{
    (void)arg;
    atomic_fetch_add(&n_free, 1);
    free(v);
}
memo_t c_cell = MEMO_INIT(c_make, c_free, &c_tag, .retry_min_ms = 5);

static int c_fails(void *arg, void **out)
{
    (void)arg;
    (void)out;
    atomic_fetch_add(&n_fail, 1);
    return ENOSPC;
}
memo_t c_fail_cell = MEMO_INIT(c_fails, NULL, NULL, .retry_min_ms = 60000);

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open;
void c_open_gate(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}
static int slow_value = 99;
static int c_slow(void *arg, void **out)
{
    (void)arg;
    atomic_fetch_add(&n_slow, 1);
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    *out = &slow_value;
    return 0;
}
memo_t c_slow_cell = MEMO_INIT(c_slow, NULL, NULL);

static int make_thing(struct thing **out)
{
    struct thing *t = (struct thing *)malloc(sizeof *t);
    if (!t)
        return ENOMEM;
    t->id = atomic_fetch_add(&n_thing, 1) + 1;
    strcpy(t->name, "from C");
    *out = t;
    return 0;
}
static void free_thing(struct thing *t)
{
    atomic_fetch_add(&n_thing_free, 1);
    free(t);
}
MEMOIZE(, c_get_thing, struct thing *, make_thing, free_thing, .retry_min_ms = 3, .retry_max_ms = 30);

static int make_triple(struct triple *out)
{
    long k = atomic_fetch_add(&n_triple, 1) + 1;
    out->a = k;
    out->b = 2 * k;
    out->c = 3 * k;
    return 0;
}
MEMOIZE(, c_get_triple, struct triple, make_triple, NULL);

static int tls_values[64];
static int make_tls(int **out)
{
    *out = &tls_values[atomic_fetch_add(&n_tls, 1) & 63];
    return 0;
}
static void free_tls(int *v)
{
    (void)v;
    atomic_fetch_add(&n_tls_free, 1);
}
MEMOIZE_THREAD(, c_get_tls, int *, make_tls, free_tls);

int c_get(memo_t *m, void **out) { return memo_get(m, out); }
int c_peek(memo_t *m, void **out) { return memo_peek(m, out); }
int c_reset(memo_t *m) { return memo_reset(m); }
int c_acquire(memo_t *m, memo_lease_t *l) { return memo_acquire(m, l); }
int c_release(memo_lease_t *l) { return memo_release(l); }
memo_stats_t c_stats(const memo_t *m) { return memo_stats(m); }
int c_get_thing_from_c(struct thing **out) { return c_get_thing(out); }
int c_get_triple_from_c(struct triple *out) { return c_get_triple(out); }
int c_tag_value(void *arg) { return *(int *)arg; }

uint32_t c_option(const memo_t *m, int which)
{
    return which == 0 ? m->retry_min_ms : which == 1 ? m->retry_max_ms : m->ttl_ms;
}

int c_count(const char *what)
{
    static const struct { const char *name; atomic_int *n; } t[] = {
        { "make", &n_make }, { "free", &n_free }, { "fail", &n_fail }, { "slow", &n_slow },
        { "thing", &n_thing }, { "thing_free", &n_thing_free }, { "triple", &n_triple },
        { "tls", &n_tls }, { "tls_free", &n_tls_free },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, what) == 0)
            return atomic_load(t[i].n);
    abort();
}

size_t c_layout(size_t *out) { return cxx_layout_here(out); }
