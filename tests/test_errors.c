/* test_errors.c -- errors, messages, the observer, memo_set / memo_take
 * (memo.h 0.2, docs/DESIGN.md section 20):
 *   - memo_last_error(): the origin of every error (MEMO_FROM_MEMO for memo's
 *     own EINVAL, ETIMEDOUT, EDEADLK, MEMO_ENOVALUE, ENOTSUP; MEMO_FROM_CTOR
 *     for what the constructor returned, even EINVAL or ETIMEDOUT), for the
 *     caller of an attempt, its waiters and the callers refused inside its
 *     backoff window; the untyped, MEMOIZE and MEMOIZE_THREAD getters;
 *   - memo_failf(): the message reaches all of those, is cut at
 *     MEMO_MESSAGE_MAX - 1, is kept by memo_stats(m).last_message, never goes
 *     with another attempt's error, and a success leaves the record alone;
 *   - the observer (.on_event): which events each operation makes, in which
 *     thread, with which err / message / duration_ns; that it runs outside
 *     memo's locks and never on the fast path;
 *   - memo_set (EEXIST, EBUSY, EINVAL, ENOTSUP, EDEADLK; the value is got
 *     and destroyed as a built one; the backoff is forgotten) and memo_take
 *     (EAGAIN; no destructor; leases stay valid and their release disposes
 *     of nothing; it waits for a running construction).
 *
 * Deterministic: the clock of backoff windows and TTL cells is a variable
 * the tests step (MEMO_NOW_NS / MEMO_TTL_NOW_NS, as tests/test_lifetimes.c),
 * so durations are exact (a constructor steps it by a known amount) and no
 * window is waited for; races are forced with gates (a constructor blocks
 * until the test opens it) and memo_stats' waiter count, never with sleeps;
 * every wait is bounded (mt_wait_ms) and every test runs under the watchdog.
 *
 * memo's allocations (MEMO_MALLOC / MEMO_FREE) go through a counting,
 * poisoning allocator: a freed block is overwritten before free(), and while
 * a test arms it the freed ranges are logged, so a pointer memo hands out
 * into memory it freed is seen in every build without reading it.
 *
 * Values are objects from a pool whose destructor marks them DEAD, so a
 * value destroyed twice or destroyed when it must not be is seen directly.
 * memo_shutdown / memo_forget_all act on every cell of the program: every
 * test leaves its cells without a value.  Cells that may get a message are
 * static (the message record stays reachable: see test_message_
 * record_outlives_reset).
 *
 * Tests named test_* show a defect of include/memo.h: they fail until
 * memo.h is fixed; each says what it expects, what happens and where.
 * tests/errors_mutants.py builds this suite against mutated copies of memo.h
 * (origin always memo's, message not copied to waiters, observer never
 * called, ...) and checks that the tests meant to catch each one fail. */
#define _GNU_SOURCE 1
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* memo's clocks: backoff windows and TTL, moved only by advance_ms() */
static _Atomic uint64_t fake_now_ns = UINT64_C(1000000000000);
#define MEMO_NOW_NS() atomic_load(&fake_now_ns)
#define MEMO_TTL_NOW_NS() atomic_load(&fake_now_ns)

/* memo's allocator: counted and poisoned (see the top) */
static void *ta_malloc(size_t n);
static void ta_free(void *p);
#define MEMO_MALLOC(n) ta_malloc(n)
#define MEMO_FREE(p) ta_free(p)

#include "testutil.h"

#include <sys/syscall.h>
#include <unistd.h>

static void advance_ms(uint64_t ms) { atomic_fetch_add(&fake_now_ns, ms * 1000000u); }

/* ------------------------------------------------------------------------ */
/* The allocator                                                            */

#define TA_MAGIC UINT64_C(0x6d656d6f616c6c6f)
#define TA_MAXFREED 256
static atomic_long ta_live;                /* blocks allocated and not freed */
static atomic_int ta_armed;                /* log freed ranges */
static atomic_int ta_nfreed;
static struct {
    _Atomic(uintptr_t) lo, hi;
} ta_freed[TA_MAXFREED];

static void *ta_malloc(size_t n)
{
    unsigned char *p = (unsigned char *)malloc(16 + n);
    if (!p)
        return NULL;
    uint64_t h[2] = { (uint64_t)n, TA_MAGIC };
    memcpy(p, h, sizeof h);
    atomic_fetch_add(&ta_live, 1);
    return p + 16;
}

static void ta_free(void *q)
{
    if (!q)
        return;
    unsigned char *p = (unsigned char *)q - 16;
    uint64_t h[2];
    memcpy(h, p, sizeof h);
    if (h[1] != TA_MAGIC)
        abort(); /* not ours, or freed twice */
    if (atomic_load(&ta_armed)) {
        int i = atomic_fetch_add(&ta_nfreed, 1);
        if (i < TA_MAXFREED) {
            atomic_store(&ta_freed[i].lo, (uintptr_t)q);
            atomic_store(&ta_freed[i].hi, (uintptr_t)q + (uintptr_t)h[0]);
        }
    }
    memset(q, 0xa5, (size_t)h[0]);
    h[1] = 0;
    memcpy(p, h, sizeof h);
    atomic_fetch_sub(&ta_live, 1);
    free(p);
}

static void ta_arm(void)
{
    atomic_store(&ta_nfreed, 0);
    atomic_store(&ta_armed, 1);
}

static void ta_disarm(void) { atomic_store(&ta_armed, 0); }

/* 1 if p points into a block freed since ta_arm() */
static int ta_was_freed(const void *p)
{
    int n = atomic_load(&ta_nfreed);
    if (n > TA_MAXFREED)
        n = TA_MAXFREED;
    for (int i = 0; i < n; i++)
        if ((uintptr_t)p >= atomic_load(&ta_freed[i].lo) && (uintptr_t)p < atomic_load(&ta_freed[i].hi))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* memo_last_error(), captured                                              */

typedef struct lerr {
    int code, origin, has_msg;
    char msg[MEMO_MESSAGE_MAX + 8];
    size_t len;
} lerr_t;

static void lerr_capture(lerr_t *l)
{
    memo_error_t e = memo_last_error();
    memset(l, 0, sizeof *l);
    l->code = e.code;
    l->origin = e.origin;
    l->has_msg = e.message != NULL;
    if (e.message) {
        l->len = strnlen(e.message, sizeof l->msg - 1);
        memcpy(l->msg, e.message, l->len);
    }
}

static const char *origin_name(int o)
{
    return o == MEMO_FROM_MEMO ? "MEMO_FROM_MEMO" : o == MEMO_FROM_CTOR ? "MEMO_FROM_CTOR" : "?";
}

/* Asserts a captured record: code, origin, and message (NULL: none). */
#define assert_lerr(l, code, origin, msg) assert_lerr_((l), (code), (origin), (msg), __FILE__, __LINE__)
static void assert_lerr_(const lerr_t *l, int code, int origin, const char *msg, const char *file, int line)
{
    if (l->code != code || l->origin != origin || l->has_msg != (msg != NULL) ||
        (msg && strcmp(l->msg, msg) != 0)) {
        print_error("memo_last_error() = { %d (%s), %s, %s%s%s }\n"
                    "              want = { %d (%s), %s, %s%s%s }\n",
                    l->code, strerror(l->code), origin_name(l->origin), l->has_msg ? "\"" : "",
                    l->has_msg ? l->msg : "NULL", l->has_msg ? "\"" : "", code, strerror(code),
                    origin_name(origin), msg ? "\"" : "", msg ? msg : "NULL", msg ? "\"" : "");
        _fail(file, line);
    }
}

/* The calling thread's record now. */
#define assert_last_error(code, origin, msg) do { \
        lerr_t l_; \
        lerr_capture(&l_); \
        assert_lerr_(&l_, (code), (origin), (msg), __FILE__, __LINE__); \
    } while (0)

/* ------------------------------------------------------------------------ */
/* The observer's log                                                       */

/* Events as letters: A attempt, S success, F failure, B backoff, I
 * invalidated, D destroyed, G forgotten; and the fixture's own marks: c the
 * constructor ran, d the destructor, g the .forget. */
#define MARK_CTOR 101
#define MARK_DTOR 102
#define MARK_FORGET 103
#define EVMAX 512

typedef struct evrec {
    int kind, err, has_msg;
    char msg[MEMO_MESSAGE_MAX + 8];
    size_t len;
    uint64_t dur;
    memo_t *cell;
    pthread_t th;
} evrec_t;

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static evrec_t ev_log[EVMAX];
static int ev_n;

typedef void (*obs_hook_fn)(const memo_event_t *ev);
static _Atomic(obs_hook_fn) obs_hook;

static void ev_push(const evrec_t *r)
{
    pthread_mutex_lock(&ev_mu);
    if (ev_n < EVMAX)
        ev_log[ev_n++] = *r;
    pthread_mutex_unlock(&ev_mu);
}

static void ev_clear(void)
{
    pthread_mutex_lock(&ev_mu);
    ev_n = 0;
    pthread_mutex_unlock(&ev_mu);
}

static void ev_mark(memo_t *cell, int kind)
{
    evrec_t r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.cell = cell;
    r.th = pthread_self();
    ev_push(&r);
}

/* The observer of every test cell: logs a copy of the event (the message
 * is valid during the call only), then runs the test's hook if any. */
static void rec_observer(const memo_event_t *ev)
{
    evrec_t r;
    memset(&r, 0, sizeof r);
    r.kind = ev->kind;
    r.err = ev->err;
    r.cell = ev->cell;
    r.dur = ev->duration_ns;
    r.th = pthread_self();
    r.has_msg = ev->message != NULL;
    if (ev->message && !(atomic_load(&ta_armed) && ta_was_freed(ev->message))) {
        r.len = strnlen(ev->message, sizeof r.msg - 1);
        memcpy(r.msg, ev->message, r.len);
    }
    ev_push(&r);
    obs_hook_fn h = atomic_load(&obs_hook);
    if (h)
        h(ev);
}

static char ev_letter(int kind)
{
    switch (kind) {
    case MEMO_EV_ATTEMPT: return 'A';
    case MEMO_EV_SUCCESS: return 'S';
    case MEMO_EV_FAILURE: return 'F';
    case MEMO_EV_BACKOFF: return 'B';
    case MEMO_EV_INVALIDATED: return 'I';
    case MEMO_EV_DESTROYED: return 'D';
    case MEMO_EV_FORGOTTEN: return 'G';
    case MARK_CTOR: return 'c';
    case MARK_DTOR: return 'd';
    case MARK_FORGET: return 'g';
    default: return '?';
    }
}

/* The events and marks of one cell, in order, as letters. */
static const char *ev_str(memo_t *cell, char *buf, size_t len)
{
    size_t k = 0;
    pthread_mutex_lock(&ev_mu);
    for (int i = 0; i < ev_n && k + 1 < len; i++)
        if (ev_log[i].cell == cell)
            buf[k++] = ev_letter(ev_log[i].kind);
    pthread_mutex_unlock(&ev_mu);
    buf[k] = '\0';
    return buf;
}

#define assert_events(cell, want) do { \
        char b_[EVMAX + 1]; \
        assert_string_equal(ev_str((cell), b_, sizeof b_), (want)); \
    } while (0)

/* The i-th event (not mark) of `kind` for cell (0-based); fails if none. */
#define ev_get(cell, kind, i) ev_get_((cell), (kind), (i), __FILE__, __LINE__)
static evrec_t ev_get_(memo_t *cell, int kind, int i, const char *file, int line)
{
    evrec_t r;
    int seen = 0, found = 0;
    memset(&r, 0, sizeof r);
    pthread_mutex_lock(&ev_mu);
    for (int j = 0; j < ev_n; j++)
        if (ev_log[j].cell == cell && ev_log[j].kind == kind && seen++ == i) {
            r = ev_log[j];
            found = 1;
            break;
        }
    pthread_mutex_unlock(&ev_mu);
    if (!found) {
        print_error("no event %c #%d for this cell\n", ev_letter(kind), i);
        _fail(file, line);
    }
    return r;
}

static int ev_count(memo_t *cell, int kind)
{
    int n = 0;
    pthread_mutex_lock(&ev_mu);
    for (int j = 0; j < ev_n; j++)
        n += ev_log[j].cell == cell && ev_log[j].kind == kind;
    pthread_mutex_unlock(&ev_mu);
    return n;
}

static int ev_total(void)
{
    pthread_mutex_lock(&ev_mu);
    int n = ev_n;
    pthread_mutex_unlock(&ev_mu);
    return n;
}

/* ------------------------------------------------------------------------ */
/* The fixture: a constructor told what to do, values from a pool           */

#define ALIVE 0x414c4956u
#define DEAD 0x44454144u
#define POOL 64

typedef struct obj {
    _Atomic(uint32_t) magic;
    int serial;
} obj_t;

typedef struct fx {
    memo_t *cell;
    atomic_int ctor_calls, dtor_calls, forget_calls, bad;
    atomic_int fail_with;      /* the constructor returns this if non-zero */
    atomic_int null_value;     /* ... or returns 0 and no value */
    char msg[400];             /* with memo_failf(fail_with, msg) unless "" */
    int msg_attempt;           /* ... and " #<attempt number>" appended */
    atomic_int step_ms;        /* the constructor moves the clock this far */
    atomic_int gated;          /* the constructor waits in `gate` first */
    gate_t gate;
    int self_get;              /* the constructor gets its own cell first ... */
    int self_timed;            /* ... with memo_get_timed(0) */
    int self_pass;             /* ... and returns that error */
    int self_set, self_take;   /* the constructor calls memo_set / memo_take on its cell */
    int self_rc;
    lerr_t self_le;
    obj_t pool[POOL];
    _Atomic(void *) last_destroyed;
} fx_t;

/* Every fixture used so far: the next test's setup opens their gates, so
 * that a test that failed with a constructor in its gate leaves no cell busy
 * for a later sweep (memo_shutdown waits for running constructions). */
static fx_t *fx_all[64];
static int fx_n;

static void fx_init(fx_t *f, memo_t *cell)
{
    int known = 0;
    for (int i = 0; i < fx_n; i++)
        known |= fx_all[i] == f;
    memset(f, 0, sizeof *f);
    f->cell = cell;
    gate_init(&f->gate);
    if (!known && fx_n < 64)
        fx_all[fx_n++] = f;
}

static void fx_fail(fx_t *f, int err, const char *msg)
{
    atomic_store(&f->fail_with, err);
    snprintf(f->msg, sizeof f->msg, "%s", msg ? msg : "");
}

static int fx_ctor(void *arg, void **out)
{
    fx_t *f = (fx_t *)arg;
    int n = atomic_fetch_add(&f->ctor_calls, 1) + 1;
    ev_mark(f->cell, MARK_CTOR);
    if (atomic_load(&f->gated))
        gate_pass(&f->gate);
    int step = atomic_load(&f->step_ms);
    if (step)
        advance_ms((uint64_t)step);
    if (f->self_get) {
        void *v;
        f->self_rc = f->self_timed ? memo_get_timed(f->cell, &v, 0) : memo_get(f->cell, &v);
        lerr_capture(&f->self_le);
        if (f->self_pass)
            return f->self_rc;
    }
    if (f->self_set) {
        static obj_t other;
        f->self_rc = memo_set(f->cell, &other);
    }
    if (f->self_take) {
        void *v;
        f->self_rc = memo_take(f->cell, &v);
    }
    int e = atomic_load(&f->fail_with);
    if (e) {
        if (f->msg[0])
            return f->msg_attempt ? memo_failf(e, "%s #%d", f->msg, n) : memo_failf(e, "%s", f->msg);
        return e;
    }
    if (atomic_load(&f->null_value))
        return 0;
    obj_t *o = &f->pool[(n - 1) % POOL];
    atomic_store(&o->magic, ALIVE);
    o->serial = n;
    *out = o;
    return 0;
}

static void fx_dtor(void *arg, void *v)
{
    fx_t *f = (fx_t *)arg;
    obj_t *o = (obj_t *)v;
    uint32_t want = ALIVE;
    if (!atomic_compare_exchange_strong(&o->magic, &want, DEAD))
        atomic_fetch_add(&f->bad, 1);
    atomic_fetch_add(&f->dtor_calls, 1);
    atomic_store(&f->last_destroyed, v);
    ev_mark(f->cell, MARK_DTOR);
}

static void fx_forget(void *arg, void *v)
{
    fx_t *f = (fx_t *)arg;
    obj_t *o = (obj_t *)v;
    uint32_t want = ALIVE;
    if (!atomic_compare_exchange_strong(&o->magic, &want, DEAD))
        atomic_fetch_add(&f->bad, 1);
    atomic_fetch_add(&f->forget_calls, 1);
    ev_mark(f->cell, MARK_FORGET);
}

/* A cell of fixture f, with an observer; options follow. */
#define FX_CELL(f, ...) MEMO_INIT(fx_ctor, fx_dtor, &(f), .on_event = rec_observer, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Threads that get and record what they saw                                */

enum { BY_GET, BY_GET_TIMED, BY_ACQUIRE };

typedef struct eget {
    pthread_t th;
    memo_t *m;
    int how;
    long timeout_ms;
    int rc;
    void *v;
    lerr_t le;
    memo_lease_t lease;
    pid_t tid;
    atomic_int started, done;
} eget_t;

static void *eget_main(void *p)
{
    eget_t *g = (eget_t *)p;
    g->tid = (pid_t)syscall(SYS_gettid);
    atomic_store(&g->started, 1);
    g->v = NULL;
    if (g->how == BY_ACQUIRE) {
        g->rc = memo_acquire(g->m, &g->lease);
        g->v = g->rc ? NULL : g->lease.value;
        if (!g->rc)
            memo_release(&g->lease);
    } else if (g->how == BY_GET_TIMED) {
        g->rc = memo_get_timed(g->m, &g->v, g->timeout_ms);
    } else {
        g->rc = memo_get(g->m, &g->v);
    }
    lerr_capture(&g->le);
    atomic_store(&g->done, 1);
    return NULL;
}

static void eget_start(eget_t *g, memo_t *m, int how)
{
    memset(g, 0, sizeof *g);
    g->m = m;
    g->how = how;
    g->timeout_ms = 600000;
    g->rc = -12345;
    assert_int_equal(pthread_create(&g->th, NULL, eget_main, g), 0);
}

#define eget_join(g) mt_join((g)->th, NULL)

/* A thread running fn(arg), joined with a bound by the caller: for work an
 * observer starts (an observer must not fail a cmocka test itself). */
typedef struct job {
    pthread_t th;
    void (*fn)(void *);
    void *arg;
} job_t;

static void *job_main(void *p)
{
    job_t *j = (job_t *)p;
    j->fn(j->arg);
    return NULL;
}

/* Starts a job and waits for its end up to mt_wait_ms(): 1 if it ended (and
 * was joined), 0 if not (join it later with mt_join). */
static int job_run_bounded(job_t *j, void (*fn)(void *), void *arg)
{
    j->fn = fn;
    j->arg = arg;
    if (pthread_create(&j->th, NULL, job_main, j) != 0)
        abort();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long ms = mt_wait_ms();
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(j->th, NULL, &ts) == 0;
}

/* The kernel's state letter of thread tid ('S': sleeping), '?' if unknown. */
static char task_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

/* A last error the next call must overwrite: a constructor's, with a
 * message, so that a call that notes nothing is seen. */
static fx_t prime_f;
static memo_t prime_m = MEMO_INIT(fx_ctor, NULL, &prime_f);
static void prime_last_error(void)
{
    fx_init(&prime_f, &prime_m);
    fx_fail(&prime_f, EPIPE, "primed");
    void *v;
    assert_int_equal(memo_get(&prime_m, &v), EPIPE);
    assert_last_error(EPIPE, MEMO_FROM_CTOR, "primed");
}

/* ------------------------------------------------------------------------ */
/* Typed cells: MEMOIZE (pointer and struct), MEMOIZE_VALUE, MEMOIZE_THREAD */

typedef struct item {
    int serial;
} item_t;
static item_t ti_items[64];
static atomic_int ti_calls, ti_fail, ti_null, ti_gated;
static const char *ti_msg;
static gate_t ti_gate;
static int ti_gate_used;
static int ti_open(item_t **out)
{
    int n = atomic_fetch_add(&ti_calls, 1) + 1;
    if (atomic_load(&ti_gated))
        gate_pass(&ti_gate);
    int e = atomic_load(&ti_fail);
    if (e)
        return ti_msg ? memo_failf(e, "%s", ti_msg) : e;
    if (atomic_load(&ti_null)) {
        *out = NULL;
        return 0;
    }
    ti_items[(n - 1) % 64].serial = n;
    *out = &ti_items[(n - 1) % 64];
    return 0;
}
MEMOIZE(static, titem, item_t *, ti_open, NULL, .on_event = rec_observer);

typedef struct cfg {
    int port;
    char host[20];
} cfg_t;
static atomic_int tcfg_fail;
static const char *tcfg_msg;
static int tcfg_open(cfg_t *out)
{
    int e = atomic_load(&tcfg_fail);
    if (e)
        return tcfg_msg ? memo_failf(e, "%s", tcfg_msg) : e;
    out->port = 5432;
    snprintf(out->host, sizeof out->host, "db.test");
    return 0;
}
MEMOIZE(static, tcfg, cfg_t, tcfg_open, NULL);

static int tval_fn(void) { return 42; }
MEMOIZE_VALUE(static, tval, int, tval_fn);

/* Per thread: each thread's next attempts fail with tc_fail (and tc_msg). */
typedef struct tconn {
    _Atomic(uint32_t) magic;
    int serial;
} tconn_t;
static tconn_t tc_pool[256];
static atomic_int tc_serial;
static _Thread_local int tc_fail;
static _Thread_local const char *tc_msg;
static _Thread_local int tc_self;
static _Thread_local int tc_self_rc;
static _Thread_local lerr_t tc_self_le;
static int tconn_get(tconn_t **out);
static int tc_open(tconn_t **out)
{
    if (tc_self) {
        tconn_t *x;
        tc_self_rc = tconn_get(&x);
        lerr_capture(&tc_self_le);
        return tc_self_rc;
    }
    if (tc_fail)
        return tc_msg ? memo_failf(tc_fail, "%s", tc_msg) : tc_fail;
    int n = atomic_fetch_add(&tc_serial, 1) + 1;
    tconn_t *c = &tc_pool[(n - 1) % 256];
    atomic_store(&c->magic, ALIVE);
    c->serial = n;
    *out = c;
    return 0;
}
static void tc_close(tconn_t *c) { atomic_store(&c->magic, DEAD); }
MEMOIZE_THREAD(static, tconn, tconn_t *, tc_open, tc_close, .retry_min_ms = 100, .on_event = rec_observer);
static int tconn_get(tconn_t **out) { return tconn(out); }

/* Every test starts with an empty log, no hook, and the typed cells empty
 * and told to build (a test that failed half-way leaves nothing behind). */
static int setup(void **state)
{
    (void)state;
    ev_clear();
    atomic_store(&obs_hook, (obs_hook_fn)NULL);
    ta_disarm();
    atomic_store(&ta_nfreed, 0);
    atomic_store(&ti_fail, 0);
    atomic_store(&ti_null, 0);
    atomic_store(&ti_gated, 0);
    ti_msg = NULL;
    atomic_store(&tcfg_fail, 0);
    tcfg_msg = NULL;
    tc_fail = 0;
    tc_msg = NULL;
    tc_self = 0;
    for (int i = 0; i < fx_n; i++)
        gate_open(&fx_all[i]->gate);
    if (ti_gate_used)
        gate_open(&ti_gate);
    if (memo_reset(&titem_memo) || memo_reset(&tcfg_memo) || memo_reset(&tval_memo) || tconn_reset())
        return -1;
    ev_clear();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    atomic_store(&obs_hook, (obs_hook_fn)NULL);
    ta_disarm();
    return 0;
}

/* ======================================================================== */
/* 1. Origins                                                               */

/* memo's own EINVAL, for every kind of bad argument of every getter. */
static void test_origin_einval_is_memo(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    memo_t noctor;
    memset(&noctor, 0, sizeof noctor);
    fx_init(&f, &m);
    void *v;
    memo_lease_t l = MEMO_LEASE_INIT;

    prime_last_error();
    assert_int_equal(memo_get(NULL, &v), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_get(&m, NULL), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_get_timed(&m, &v, -1), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_get_timed(NULL, &v, 0), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_get(&noctor, &v), EINVAL); /* a cell without ctor */
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_acquire(NULL, &l), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_acquire(&m, NULL), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(titem(NULL), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(tcfg(NULL), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(tconn(NULL), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_get(&tconn_memo, &v), EINVAL); /* not a cell to get from */
    assert_last_error(EINVAL, MEMO_FROM_MEMO, NULL);
    assert_int_equal(atomic_load(&f.ctor_calls), 0);
    assert_events(&m, ""); /* no attempt, no event */
}

/* ETIMEDOUT of a get_timed on a busy cell is memo's; the constructor's own
 * ETIMEDOUT is the constructor's, for its caller, its waiter and a caller
 * refused in its backoff window. */
static void test_origin_etimedout_memo_vs_ctor(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100);
    fx_init(&f, &m);
    void *v;
    atomic_store(&f.gated, 1);
    static eget_t owner;
    eget_start(&owner, &m, BY_GET);
    gate_wait_entered(&f.gate, 1);
    prime_last_error();
    assert_int_equal(memo_get_timed(&m, &v, 0), ETIMEDOUT);
    assert_last_error(ETIMEDOUT, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_get_timed(&m, &v, 1), ETIMEDOUT); /* waited 1 ms, the gate is shut */
    assert_last_error(ETIMEDOUT, MEMO_FROM_MEMO, NULL);
    gate_open(&f.gate);
    eget_join(&owner);
    assert_int_equal(owner.rc, 0);
    assert_int_equal(memo_reset(&m), 0);

    /* the constructor returns ETIMEDOUT: its caller ... */
    fx_init(&f, &m);
    fx_fail(&f, ETIMEDOUT, "");
    prime_last_error();
    assert_int_equal(memo_get_timed(&m, &v, 0), ETIMEDOUT); /* the caller constructs */
    assert_last_error(ETIMEDOUT, MEMO_FROM_CTOR, NULL);
    /* ... a caller in its backoff window ... */
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), ETIMEDOUT);
    assert_last_error(ETIMEDOUT, MEMO_FROM_CTOR, NULL);
    assert_int_equal(atomic_load(&f.ctor_calls), 1);
    /* ... and a waiter of its next attempt */
    advance_ms(100);
    atomic_store(&f.gated, 1);
    static eget_t w;
    uint32_t waits = memo_stats(&m).waits; /* the 1 ms get above waited too */
    eget_start(&owner, &m, BY_GET);
    gate_wait_entered(&f.gate, 1);
    eget_start(&w, &m, BY_GET_TIMED);
    wait_for_waiters(&m, waits + 1);
    gate_open(&f.gate);
    eget_join(&owner);
    eget_join(&w);
    assert_int_equal(owner.rc, ETIMEDOUT);
    assert_lerr(&owner.le, ETIMEDOUT, MEMO_FROM_CTOR, NULL);
    assert_int_equal(w.rc, ETIMEDOUT);
    assert_lerr(&w.le, ETIMEDOUT, MEMO_FROM_CTOR, NULL);
    assert_int_equal(memo_reset(&m), 0);
}

/* A constructor's EINVAL is the constructor's, with its message: caller,
 * waiter (through memo_acquire too), backoff refusal. */
static void test_origin_ctor_einval(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100);
    fx_init(&f, &m);
    fx_fail(&f, EINVAL, "bad DSN \"host=\"");
    void *v;
    memo_lease_t l;
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), EINVAL);
    assert_last_error(EINVAL, MEMO_FROM_CTOR, "bad DSN \"host=\"");
    prime_last_error();
    assert_int_equal(memo_acquire(&m, &l), EINVAL); /* refused in the window */
    assert_last_error(EINVAL, MEMO_FROM_CTOR, "bad DSN \"host=\"");
    advance_ms(100);
    atomic_store(&f.gated, 1);
    static eget_t owner, w;
    uint32_t waits = memo_stats(&m).waits;
    eget_start(&owner, &m, BY_ACQUIRE);
    gate_wait_entered(&f.gate, 1);
    eget_start(&w, &m, BY_ACQUIRE);
    wait_for_waiters(&m, waits + 1);
    gate_open(&f.gate);
    eget_join(&owner);
    eget_join(&w);
    assert_int_equal(owner.rc, EINVAL);
    assert_lerr(&owner.le, EINVAL, MEMO_FROM_CTOR, "bad DSN \"host=\"");
    assert_int_equal(w.rc, EINVAL);
    assert_lerr(&w.le, EINVAL, MEMO_FROM_CTOR, "bad DSN \"host=\"");
    assert_int_equal(atomic_load(&f.ctor_calls), 2);
}

/* EDEADLK from the cell's own constructor is memo's; the constructor that
 * passes it on makes it its own. */
static void test_origin_edeadlk_own_ctor(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    f.self_get = 1;
    void *v;
    assert_int_equal(memo_get(&m, &v), 0); /* the ctor's own get failed, the ctor did not */
    assert_int_equal(f.self_rc, EDEADLK);
    assert_lerr(&f.self_le, EDEADLK, MEMO_FROM_MEMO, NULL);
    assert_int_equal(memo_reset(&m), 0);

    f.self_timed = 1; /* memo_get_timed(0) of its own cell: EDEADLK, not ETIMEDOUT */
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(f.self_rc, EDEADLK);
    assert_lerr(&f.self_le, EDEADLK, MEMO_FROM_MEMO, NULL);
    assert_int_equal(memo_reset(&m), 0);

    f.self_timed = 0;
    f.self_pass = 1; /* return memo_get(self, ...): now the constructor's error */
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), EDEADLK);
    assert_last_error(EDEADLK, MEMO_FROM_CTOR, NULL);
    assert_int_equal(memo_stats(&m).failures, 1);
}

/* A constructor that returns 0 and no value: memo's MEMO_ENOVALUE, also
 * through the typed getter; a constructor returning that number itself is
 * the constructor's. */
static void test_origin_enovalue_is_memo(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    atomic_store(&f.null_value, 1);
    void *v;
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), MEMO_ENOVALUE);
    assert_last_error(MEMO_ENOVALUE, MEMO_FROM_MEMO, NULL);
    assert_int_equal(memo_stats(&m).failures, 1);
    assert_int_equal(memo_stats(&m).last_error, MEMO_ENOVALUE);
    assert_events(&m, "AcF");
    assert_int_equal(ev_get(&m, MEMO_EV_FAILURE, 0).err, MEMO_ENOVALUE);

    fx_fail(&f, MEMO_ENOVALUE, "no such table");
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), MEMO_ENOVALUE);
    assert_last_error(MEMO_ENOVALUE, MEMO_FROM_CTOR, "no such table");

    atomic_store(&ti_null, 1);
    item_t *it = (item_t *)&v;
    prime_last_error();
    assert_int_equal(titem(&it), MEMO_ENOVALUE);
    assert_last_error(MEMO_ENOVALUE, MEMO_FROM_MEMO, NULL);
    assert_ptr_equal(it, (item_t *)&v); /* untouched */
    atomic_store(&ti_null, 0);
    assert_int_equal(memo_reset(&titem_memo), 0);
}

/* ENOTSUP of memo_acquire on an in-place cell is memo's. */
static void test_origin_enotsup_is_memo(void **state)
{
    (void)state;
    memo_lease_t l;
    prime_last_error();
    assert_int_equal(memo_acquire(&tcfg_memo, &l), ENOTSUP);
    assert_last_error(ENOTSUP, MEMO_FROM_MEMO, NULL);
    prime_last_error();
    assert_int_equal(memo_acquire(&tval_memo, &l), ENOTSUP);
    assert_last_error(ENOTSUP, MEMO_FROM_MEMO, NULL);
}

/* ======================================================================== */
/* 2. Messages                                                              */

static void test_message_reaches_caller_and_stats(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    atomic_store(&f.fail_with, ECONNREFUSED);
    void *v;
    /* memo_failf formats and returns err */
    snprintf(f.msg, sizeof f.msg, "connect %s:%d: %s", "db.internal", 5432, "Connection refused");
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_last_error(ECONNREFUSED, MEMO_FROM_CTOR, "connect db.internal:5432: Connection refused");
    memo_stats_t st = memo_stats(&m);
    assert_int_equal(st.last_error, ECONNREFUSED);
    assert_string_equal(st.last_message, "connect db.internal:5432: Connection refused");
    assert_int_equal(memo_failf(EIO, "outside a constructor %d", 1), EIO);
    assert_int_equal(memo_failf(EIO, NULL), EIO);
    memo_stats_t z = memo_stats(NULL);
    assert_string_equal(z.last_message, "");
    assert_int_equal(z.last_error, 0);
}

/* N threads on one gated failing attempt: the owner and every waiter (get,
 * get_timed, acquire) read the same code, origin and message. */
static void test_message_reaches_every_waiter(void **state)
{
    (void)state;
    enum { N = 6 };
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    fx_fail(&f, ECONNREFUSED, "connect 10.0.0.7:5432: Connection refused");
    atomic_store(&f.gated, 1);
    static eget_t g[N];
    eget_start(&g[0], &m, BY_GET);
    gate_wait_entered(&f.gate, 1);
    for (int i = 1; i < N; i++)
        eget_start(&g[i], &m, i % 3 == 1 ? BY_GET_TIMED : i % 3 == 2 ? BY_ACQUIRE : BY_GET);
    wait_for_waiters(&m, N - 1);
    gate_open(&f.gate);
    for (int i = 0; i < N; i++)
        eget_join(&g[i]);
    for (int i = 0; i < N; i++) {
        assert_int_equal(g[i].rc, ECONNREFUSED);
        assert_lerr(&g[i].le, ECONNREFUSED, MEMO_FROM_CTOR, "connect 10.0.0.7:5432: Connection refused");
    }
    assert_int_equal(atomic_load(&f.ctor_calls), 1);
    memo_stats_t st = memo_stats(&m);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.waits, N - 1);
    assert_string_equal(st.last_message, "connect 10.0.0.7:5432: Connection refused");
}

/* A caller refused inside the backoff window reads the failure's message:
 * the thread that failed and a thread that never ran the constructor. */
static void test_message_in_backoff_refusal(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100);
    fx_init(&f, &m);
    fx_fail(&f, EHOSTUNREACH, "connect db.internal: No route to host");
    void *v;
    assert_int_equal(memo_get(&m, &v), EHOSTUNREACH);
    advance_ms(50);
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), EHOSTUNREACH);
    assert_last_error(EHOSTUNREACH, MEMO_FROM_CTOR, "connect db.internal: No route to host");
    static eget_t t;
    eget_start(&t, &m, BY_GET);
    eget_join(&t);
    assert_int_equal(t.rc, EHOSTUNREACH);
    assert_lerr(&t.le, EHOSTUNREACH, MEMO_FROM_CTOR, "connect db.internal: No route to host");
    assert_int_equal(atomic_load(&f.ctor_calls), 1);
    assert_events(&m, "AcFBB"); /* refusals: ours, the other thread's */
}

/* A later attempt's failure without a message shows no message: not to its
 * caller, its waiter, its backoff refusals, nor in memo_stats.  A
 * memo_failf of an attempt that then succeeded, or outside any constructor,
 * does not attach to a later failure either. */
static void test_message_not_carried_to_later_failure(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100);
    fx_init(&f, &m);
    void *v;
    fx_fail(&f, ECONNREFUSED, "first: refused");
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_last_error(ECONNREFUSED, MEMO_FROM_CTOR, "first: refused");
    advance_ms(100);
    fx_fail(&f, ECONNRESET, ""); /* the second attempt says nothing */
    assert_int_equal(memo_get(&m, &v), ECONNRESET);
    assert_last_error(ECONNRESET, MEMO_FROM_CTOR, NULL);
    assert_string_equal(memo_stats(&m).last_message, "");
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), ECONNRESET); /* in its window */
    assert_last_error(ECONNRESET, MEMO_FROM_CTOR, NULL);
    /* its waiter */
    advance_ms(200);
    atomic_store(&f.gated, 1);
    static eget_t owner, w;
    uint32_t waits = memo_stats(&m).waits;
    eget_start(&owner, &m, BY_GET);
    gate_wait_entered(&f.gate, 1);
    eget_start(&w, &m, BY_GET);
    wait_for_waiters(&m, waits + 1);
    gate_open(&f.gate);
    eget_join(&owner);
    eget_join(&w);
    assert_lerr(&owner.le, ECONNRESET, MEMO_FROM_CTOR, NULL);
    assert_lerr(&w.le, ECONNRESET, MEMO_FROM_CTOR, NULL);
    atomic_store(&f.gated, 0);

    /* memo_failf outside a constructor, then a failure without a message */
    static fx_t g;
    static memo_t n = FX_CELL(g, .retry_min_ms = 0);
    fx_init(&g, &n);
    fx_fail(&g, EIO, "");
    assert_int_equal(memo_failf(EPERM, "not from a constructor"), EPERM);
    assert_int_equal(memo_get(&n, &v), EIO);
    assert_last_error(EIO, MEMO_FROM_CTOR, NULL);
    assert_string_equal(memo_stats(&n).last_message, "");
}

/* A constructor whose memo_failf ran and which then succeeded: its text
 * must not surface at the next failure either. */
static atomic_int said_mode; /* 0: memo_failf, then build; 1: fail plainly */
static int said_ctor(void *arg, void **out)
{
    static obj_t o;
    (void)arg;
    if (atomic_load(&said_mode))
        return EIO;
    (void)memo_failf(EAGAIN, "transient: retried inside the constructor");
    atomic_store(&o.magic, ALIVE);
    *out = &o;
    return 0;
}
static void test_message_of_a_successful_attempt_is_dropped(void **state)
{
    (void)state;
    static memo_t m = MEMO_INIT(said_ctor, NULL, NULL);
    void *v;
    atomic_store(&said_mode, 0);
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_reset(&m), 0);
    atomic_store(&said_mode, 1);
    assert_int_equal(memo_get(&m, &v), EIO);
    assert_last_error(EIO, MEMO_FROM_CTOR, NULL);
    assert_string_equal(memo_stats(&m).last_message, "");
}

/* Messages are cut at MEMO_MESSAGE_MAX - 1 bytes: the caller's, a waiter's,
 * memo_stats', the observer's. */
static void test_message_cut_at_max(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    char want[MEMO_MESSAGE_MAX];
    for (int i = 0; i < 300; i++)
        f.msg[i] = (char)('a' + i % 26);
    f.msg[300] = '\0';
    memcpy(want, f.msg, MEMO_MESSAGE_MAX - 1);
    want[MEMO_MESSAGE_MAX - 1] = '\0';
    atomic_store(&f.fail_with, E2BIG);
    atomic_store(&f.gated, 1);
    static eget_t owner, w;
    eget_start(&owner, &m, BY_GET);
    gate_wait_entered(&f.gate, 1);
    eget_start(&w, &m, BY_GET);
    wait_for_waiters(&m, 1);
    gate_open(&f.gate);
    eget_join(&owner);
    eget_join(&w);
    assert_int_equal(owner.le.len, MEMO_MESSAGE_MAX - 1);
    assert_lerr(&owner.le, E2BIG, MEMO_FROM_CTOR, want);
    assert_int_equal(w.le.len, MEMO_MESSAGE_MAX - 1);
    assert_lerr(&w.le, E2BIG, MEMO_FROM_CTOR, want);
    memo_stats_t st = memo_stats(&m);
    assert_int_equal(strlen(st.last_message), MEMO_MESSAGE_MAX - 1);
    assert_string_equal(st.last_message, want);
    evrec_t e = ev_get(&m, MEMO_EV_FAILURE, 0);
    assert_true(e.has_msg);
    assert_int_equal(e.len, MEMO_MESSAGE_MAX - 1);
    assert_string_equal(e.msg, want);
}

/* memo_last_error's message is the thread's own copy: another thread's
 * later failure on the same cell changes neither its text nor its memory;
 * memo_stats shows the latest. */
static void test_message_is_the_threads_copy(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    snprintf(f.msg, sizeof f.msg, "refused");
    f.msg_attempt = 1;
    atomic_store(&f.fail_with, ECONNREFUSED);
    void *v;
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    memo_error_t e = memo_last_error();
    assert_non_null(e.message);
    assert_string_equal(e.message, "refused #1");
    ta_arm();
    static eget_t t;
    eget_start(&t, &m, BY_GET); /* attempt 2 fails too: the cell's record is replaced */
    eget_join(&t);
    ta_disarm();
    assert_lerr(&t.le, ECONNREFUSED, MEMO_FROM_CTOR, "refused #2");
    assert_false(ta_was_freed(e.message));
    assert_string_equal(e.message, "refused #1");
    assert_last_error(ECONNREFUSED, MEMO_FROM_CTOR, "refused #1");
    assert_string_equal(memo_stats(&m).last_message, "refused #2");
}

/* A getter's success changes nothing in memo_last_error(): a construction,
 * a fast-path get, get_timed, acquire, the typed getters.  Nor do the
 * errors of functions that are not getters. */
static void test_success_keeps_last_error(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    void *v;
    memo_lease_t l;
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), 0); /* constructs */
    assert_last_error(EPIPE, MEMO_FROM_CTOR, "primed");
    assert_int_equal(memo_get(&m, &v), 0); /* fast path */
    assert_int_equal(memo_get_timed(&m, &v, 0), 0);
    assert_int_equal(memo_acquire(&m, &l), 0);
    assert_int_equal(memo_release(&l), 0);
    item_t *it;
    cfg_t c;
    tconn_t *tc;
    assert_int_equal(titem(&it), 0);
    assert_int_equal(tcfg(&c), 0);
    assert_int_equal(tconn(&tc), 0);
    assert_int_equal(tval(), 42);
    assert_last_error(EPIPE, MEMO_FROM_CTOR, "primed");
    /* not getters: memo_set, memo_take, memo_peek, memo_reset, memo_invalidate */
    static obj_t x;
    assert_int_equal(memo_set(&m, &x), EEXIST);
    assert_int_equal(memo_set(NULL, &x), EINVAL);
    assert_int_equal(memo_peek(NULL, &v), EINVAL);
    assert_int_equal(memo_reset(NULL), EINVAL);
    assert_int_equal(memo_invalidate(&m, &x), EALREADY);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(memo_take(&m, &v), EAGAIN);
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    assert_last_error(EPIPE, MEMO_FROM_CTOR, "primed");
    assert_int_equal(memo_reset(&titem_memo), 0);
    assert_int_equal(memo_reset(&tcfg_memo), 0);
    assert_int_equal(memo_reset(&tval_memo), 0);
    assert_int_equal(tconn_reset(), 0);
}

/* ======================================================================== */
/* 3. Typed getters                                                         */

/* MEMOIZE (pointer in the slot, struct in place): the constructor's error
 * and message, to the caller, a waiter and a refused caller; memo's own
 * errors; *out untouched on error. */
static void test_typed_getter_errors(void **state)
{
    (void)state;
    item_t sentinel, *it = &sentinel;
    atomic_store(&ti_fail, ECONNREFUSED);
    ti_msg = "typed: connect refused";
    prime_last_error();
    assert_int_equal(titem(&it), ECONNREFUSED);
    assert_last_error(ECONNREFUSED, MEMO_FROM_CTOR, "typed: connect refused");
    assert_ptr_equal(it, &sentinel);
    /* a waiter of the typed getter's attempt (through memo_get on its cell) */
    gate_init(&ti_gate);
    ti_gate_used = 1;
    atomic_store(&ti_gated, 1);
    static eget_t owner, w;
    uint32_t waits = memo_stats(&titem_memo).waits;
    eget_start(&owner, &titem_memo, BY_GET);
    gate_wait_entered(&ti_gate, 1);
    eget_start(&w, &titem_memo, BY_GET);
    wait_for_waiters(&titem_memo, waits + 1);
    gate_open(&ti_gate);
    eget_join(&owner);
    eget_join(&w);
    atomic_store(&ti_gated, 0);
    assert_lerr(&owner.le, ECONNREFUSED, MEMO_FROM_CTOR, "typed: connect refused");
    assert_lerr(&w.le, ECONNREFUSED, MEMO_FROM_CTOR, "typed: connect refused");
    assert_events(&titem_memo, "AFAF");
    atomic_store(&ti_fail, 0);
    ti_msg = NULL;
    assert_int_equal(titem(&it), 0);
    assert_ptr_equal(it, &ti_items[(atomic_load(&ti_calls) - 1) % 64]);
    assert_int_equal(memo_reset(&titem_memo), 0);

    /* struct T, in place */
    cfg_t c;
    memset(&c, 0x5a, sizeof c);
    atomic_store(&tcfg_fail, ENOENT);
    tcfg_msg = "config /etc/app.conf: No such file";
    prime_last_error();
    assert_int_equal(tcfg(&c), ENOENT);
    assert_last_error(ENOENT, MEMO_FROM_CTOR, "config /etc/app.conf: No such file");
    assert_int_equal(c.port, 0x5a5a5a5a);
    atomic_store(&tcfg_fail, ENOENT);
    tcfg_msg = NULL;
    assert_int_equal(tcfg(&c), ENOENT);
    assert_last_error(ENOENT, MEMO_FROM_CTOR, NULL);
    atomic_store(&tcfg_fail, 0);
    assert_int_equal(tcfg(&c), 0);
    assert_int_equal(c.port, 5432);
    assert_string_equal(c.host, "db.test");
    assert_int_equal(memo_reset(&tcfg_memo), 0);
}

/* MEMOIZE_THREAD: memo's EINVAL and EDEADLK; the constructor's error and
 * message per thread (each thread reads its own); its backoff refusal is the
 * constructor's; events in the thread that caused them. */
static void *tc_thread_fail(void *p)
{
    lerr_t *le = (lerr_t *)p;
    tconn_t *c;
    tc_fail = ENETDOWN;
    tc_msg = "thread B: network down";
    le[0].code = tconn(&c);
    lerr_capture(&le[1]);
    return NULL;
}
static void test_thread_getter_errors(void **state)
{
    (void)state;
    tconn_t *c = NULL;
    tc_fail = ECONNREFUSED;
    tc_msg = "thread A: refused";
    prime_last_error();
    assert_int_equal(tconn(&c), ECONNREFUSED);
    assert_last_error(ECONNREFUSED, MEMO_FROM_CTOR, "thread A: refused");
    assert_null(c);
    assert_string_equal(memo_stats(&tconn_memo).last_message, "thread A: refused");
    /* another thread fails with its own message; ours is still ours */
    static lerr_t le[2];
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, tc_thread_fail, le), 0);
    mt_join(th, NULL);
    assert_int_equal(le[0].code, ENETDOWN);
    assert_lerr(&le[1], ENETDOWN, MEMO_FROM_CTOR, "thread B: network down");
    assert_last_error(ECONNREFUSED, MEMO_FROM_CTOR, "thread A: refused");
    assert_string_equal(memo_stats(&tconn_memo).last_message, "thread B: network down");
    /* our backoff window: the constructor's error, no attempt */
    int attempts = (int)memo_stats(&tconn_memo).attempts;
    prime_last_error();
    assert_int_equal(tconn(&c), ECONNREFUSED);
    lerr_t r;
    lerr_capture(&r);
    assert_int_equal(r.code, ECONNREFUSED);
    assert_int_equal(r.origin, MEMO_FROM_CTOR);
    assert_int_equal((int)memo_stats(&tconn_memo).attempts, attempts);
    /* EDEADLK from its own constructor: memo's */
    advance_ms(100);
    tc_fail = 0;
    tc_self = 1;
    prime_last_error();
    assert_int_equal(tconn(&c), EDEADLK); /* the ctor returned its own get's EDEADLK */
    assert_int_equal(tc_self_rc, EDEADLK);
    assert_lerr(&tc_self_le, EDEADLK, MEMO_FROM_MEMO, NULL);
    assert_last_error(EDEADLK, MEMO_FROM_CTOR, NULL);
    tc_self = 0;
    advance_ms(1000);
    assert_int_equal(tconn(&c), 0);
    assert_non_null(c);
    assert_int_equal(atomic_load(&c->magic), ALIVE);
    /* events of this thread and of the other, each in its own thread */
    char b[EVMAX + 1];
    ev_str(&tconn_memo, b, sizeof b);
    assert_string_equal(b, "AFAFBAFAS");
    assert_true(pthread_equal(ev_get(&tconn_memo, MEMO_EV_FAILURE, 0).th, pthread_self()));
    assert_false(pthread_equal(ev_get(&tconn_memo, MEMO_EV_FAILURE, 1).th, pthread_self()));
    evrec_t f0 = ev_get(&tconn_memo, MEMO_EV_FAILURE, 0);
    assert_int_equal(f0.err, ECONNREFUSED);
    assert_string_equal(f0.msg, "thread A: refused");
    assert_int_equal(ev_get(&tconn_memo, MEMO_EV_BACKOFF, 0).err, ECONNREFUSED);
    tc_fail = 0;
    tc_msg = NULL;
    assert_int_equal(tconn_reset(), 0);
    assert_int_equal(atomic_load(&c->magic), DEAD);
}

/* ======================================================================== */
/* 4. The observer                                                          */

static void test_observer_attempt_success(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    atomic_store(&f.step_ms, 7); /* the construction takes 7 ms of memo's clock */
    void *v;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_events(&m, "AcS"); /* ATTEMPT before the constructor runs */
    evrec_t a = ev_get(&m, MEMO_EV_ATTEMPT, 0), s = ev_get(&m, MEMO_EV_SUCCESS, 0);
    assert_int_equal(a.err, 0);
    assert_false(a.has_msg);
    assert_ptr_equal(a.cell, &m);
    assert_true(pthread_equal(a.th, pthread_self()));
    assert_int_equal(s.err, 0);
    assert_false(s.has_msg);
    assert_int_equal(s.dur, UINT64_C(7000000));
    assert_int_equal(memo_stats(&m).last_ctor_ns, UINT64_C(7000000));
    /* in the thread that caused it */
    assert_int_equal(memo_reset(&m), 0);
    ev_clear();
    static eget_t t;
    eget_start(&t, &m, BY_GET);
    eget_join(&t);
    assert_events(&m, "AcS");
    assert_true(pthread_equal(ev_get(&m, MEMO_EV_ATTEMPT, 0).th, t.th));
    assert_true(pthread_equal(ev_get(&m, MEMO_EV_SUCCESS, 0).th, t.th));
    assert_int_equal(memo_reset(&m), 0);
}

static void test_observer_failure_with_message(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    atomic_store(&f.step_ms, 3);
    fx_fail(&f, ECONNREFUSED, "connect db:5432: refused");
    void *v;
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    fx_fail(&f, EACCES, "");
    assert_int_equal(memo_get(&m, &v), EACCES);
    assert_events(&m, "AcFAcF");
    evrec_t e = ev_get(&m, MEMO_EV_FAILURE, 0);
    assert_int_equal(e.err, ECONNREFUSED);
    assert_true(e.has_msg);
    assert_string_equal(e.msg, "connect db:5432: refused");
    assert_int_equal(e.dur, UINT64_C(3000000));
    assert_ptr_equal(e.cell, &m);
    e = ev_get(&m, MEMO_EV_FAILURE, 1);
    assert_int_equal(e.err, EACCES);
    assert_false(e.has_msg);
    assert_int_equal(e.dur, UINT64_C(3000000));
}

static void test_observer_backoff_refusal(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100);
    fx_init(&f, &m);
    fx_fail(&f, ETIMEDOUT, "connect: timed out");
    void *v;
    assert_int_equal(memo_get(&m, &v), ETIMEDOUT);
    advance_ms(99);
    assert_int_equal(memo_get(&m, &v), ETIMEDOUT);
    assert_int_equal(memo_get_timed(&m, &v, 0), ETIMEDOUT);
    assert_events(&m, "AcFBB");
    assert_int_equal(ev_get(&m, MEMO_EV_BACKOFF, 0).err, ETIMEDOUT);
    assert_int_equal(ev_get(&m, MEMO_EV_BACKOFF, 1).err, ETIMEDOUT);
    advance_ms(1);
    fx_fail(&f, 0, "");
    assert_int_equal(memo_get(&m, &v), 0);
    assert_events(&m, "AcFBBAcS");
    assert_int_equal(memo_reset(&m), 0);
}

/* invalidate: the value's destruction and INVALIDATED; a leased value:
 * INVALIDATED now, the deferred destructor's DESTROYED at the last release,
 * in the releasing thread. */
static void release_job(void *p) { memo_release((memo_lease_t *)p); }
static void test_observer_invalidate_and_deferred_destroy(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    void *v;
    assert_int_equal(memo_get(&m, &v), 0);
    ev_clear();
    assert_int_equal(memo_invalidate(&m, v), 0);
    char b[EVMAX + 1];
    ev_str(&m, b, sizeof b);
    assert_int_equal(ev_count(&m, MEMO_EV_INVALIDATED), 1);
    assert_int_equal(ev_count(&m, MEMO_EV_DESTROYED), 1);
    assert_int_equal(ev_count(&m, MARK_DTOR), 1);
    assert_true(strchr(b, 'd') < strchr(b, 'D')); /* DESTROYED after the destructor */
    assert_int_equal((int)strlen(b), 3);

    memo_lease_t l;
    assert_int_equal(memo_acquire(&m, &l), 0);
    ev_clear();
    assert_int_equal(memo_invalidate_lease(&l), 0);
    assert_events(&m, "I");
    assert_int_equal(atomic_load(&f.dtor_calls), 1);
    static job_t j;
    assert_true(job_run_bounded(&j, release_job, &l));
    assert_events(&m, "IdD");
    assert_true(pthread_equal(ev_get(&m, MEMO_EV_DESTROYED, 0).th, j.th));
    assert_int_equal(atomic_load(&f.dtor_calls), 2);

    /* a reset of a leased value: DESTROYED at the last release */
    assert_int_equal(memo_acquire(&m, &l), 0);
    ev_clear();
    assert_int_equal(memo_reset(&m), 0);
    assert_events(&m, "");
    assert_true(job_run_bounded(&j, release_job, &l));
    assert_events(&m, "dD");
    assert_true(pthread_equal(ev_get(&m, MEMO_EV_DESTROYED, 0).th, j.th));
    assert_int_equal(atomic_load(&f.bad), 0);
}

/* reset and memo_shutdown: DESTROYED; memo_forget_all: FORGOTTEN (with and
 * without .forget), never DESTROYED. */
static void test_observer_reset_shutdown_forget_all(void **state)
{
    (void)state;
    static fx_t f, g;
    static memo_t m = FX_CELL(f, .forget = fx_forget);
    static memo_t n = MEMO_INIT(fx_ctor, fx_dtor, &g, .on_event = rec_observer); /* no .forget */
    fx_init(&f, &m);
    fx_init(&g, &n);
    void *v;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_reset(&m), 0);
    assert_events(&m, "AcSdD");
    assert_int_equal(atomic_load(&f.dtor_calls), 1);

    ev_clear();
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_shutdown(), 0);
    assert_events(&m, "AcSdD");
    assert_int_equal(atomic_load(&f.dtor_calls), 2);

    ev_clear();
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_get(&n, &v), 0);
    assert_int_equal(memo_forget_all(), 0);
    assert_events(&m, "AcSgG");
    assert_events(&n, "AcSG");
    assert_int_equal(atomic_load(&f.dtor_calls), 2);
    assert_int_equal(atomic_load(&f.forget_calls), 1);
    assert_int_equal(atomic_load(&g.dtor_calls), 0);
    assert_int_equal(atomic_load(&f.bad), 0);
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
    assert_int_equal(memo_peek(&n, &v), EAGAIN);
}

/* A TTL refresh: ATTEMPT, SUCCESS, then the old value's DESTROYED; a failed
 * refresh that keeps the stale value (stale-if-error): FAILURE with its
 * message, nothing destroyed. */
static void test_observer_ttl_refresh(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .ttl_ms = 1000);
    fx_init(&f, &m);
    atomic_store(&f.step_ms, 2);
    void *v1, *v2, *v;
    assert_int_equal(memo_get(&m, &v1), 0);
    advance_ms(500);
    assert_int_equal(memo_get(&m, &v), 0); /* fresh: no event */
    assert_events(&m, "AcS");
    advance_ms(500);
    assert_int_equal(memo_get(&m, &v2), 0); /* stale: refreshed */
    assert_ptr_not_equal(v1, v2);
    assert_events(&m, "AcSAcSdD");
    assert_ptr_equal(atomic_load(&f.last_destroyed), v1);
    assert_int_equal(ev_get(&m, MEMO_EV_SUCCESS, 1).dur, UINT64_C(2000000));
    assert_int_equal(memo_reset(&m), 0);

    static fx_t g;
    static memo_t s = FX_CELL(g, .ttl_ms = 1000, .refresh = MEMO_REFRESH_STALE, .retry_min_ms = 100);
    fx_init(&g, &s);
    assert_int_equal(memo_get(&s, &v1), 0);
    advance_ms(1000);
    fx_fail(&g, ECONNREFUSED, "refresh: token issuer refused");
    assert_int_equal(memo_get(&s, &v), 0); /* stale-if-error */
    assert_ptr_equal(v, v1);
    assert_events(&s, "AcSAcF");
    evrec_t e = ev_get(&s, MEMO_EV_FAILURE, 0);
    assert_int_equal(e.err, ECONNREFUSED);
    assert_string_equal(e.msg, "refresh: token issuer refused");
    assert_string_equal(memo_stats(&s).last_message, "refresh: token issuer refused");
    assert_int_equal(atomic_load(&g.dtor_calls), 0);
    assert_int_equal(memo_reset(&s), 0);
    assert_events(&s, "AcSAcFdD");
}

/* The observer may use memo on other cells for every kind of event
 * (construct, reset, stats there): no memo lock is held around it. */
static fx_t other_f;
static memo_t other_m = MEMO_INIT(fx_ctor, fx_dtor, &other_f);
static atomic_int hook_calls, hook_ok;
static void hook_use_other_cell(const memo_event_t *ev)
{
    if (ev->cell == &other_m)
        return;
    void *v;
    atomic_fetch_add(&hook_calls, 1);
    int ok = memo_reset(&other_m) == 0 && memo_get(&other_m, &v) == 0 && memo_stats(&other_m).successes > 0;
    atomic_fetch_add(&hook_ok, ok);
}
static void test_observer_may_use_other_cells(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100, .forget = fx_forget);
    fx_init(&f, &m);
    fx_init(&other_f, &other_m);
    atomic_store(&hook_calls, 0);
    atomic_store(&hook_ok, 0);
    atomic_store(&obs_hook, hook_use_other_cell);
    void *v;
    memo_lease_t l;
    fx_fail(&f, EIO, "io");
    assert_int_equal(memo_get(&m, &v), EIO);       /* A F */
    assert_int_equal(memo_get(&m, &v), EIO);       /* B */
    advance_ms(100);
    fx_fail(&f, 0, "");
    assert_int_equal(memo_get(&m, &v), 0);         /* A S */
    assert_int_equal(memo_invalidate(&m, v), 0);   /* D I */
    assert_int_equal(memo_acquire(&m, &l), 0);     /* A S */
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(memo_release(&l), 0);         /* D (deferred) */
    assert_int_equal(memo_get(&m, &v), 0);         /* A S */
    assert_int_equal(memo_shutdown(), 0);          /* D (sweep) */
    assert_int_equal(memo_get(&m, &v), 0);         /* A S */
    assert_int_equal(memo_forget_all(), 0);        /* G (sweep) */
    atomic_store(&obs_hook, (obs_hook_fn)NULL);
    assert_events(&m, "AcFBAcSdDIAcSdDAcSdDAcSgG");
    assert_int_equal(atomic_load(&hook_calls), 16);
    assert_int_equal(atomic_load(&hook_ok), 16);
    assert_int_equal(memo_reset(&other_m), 0);
}

/* The observer of a SUCCESS, FAILURE or BACKOFF runs after the busy period
 * ended: while it runs, another thread's get of the same cell completes
 * (READY: the value; FAILED, no backoff: its own attempt; in the window: the
 * refusal). */
static memo_t *busy_cell;
static atomic_int busy_joined, busy_rc;
static job_t busy_job;
static void busy_get_job(void *p)
{
    void *v;
    (void)p;
    atomic_store(&busy_rc, memo_get(busy_cell, &v));
}
static void hook_other_thread_gets(const memo_event_t *ev)
{
    if (ev->cell != busy_cell || (ev->kind != MEMO_EV_SUCCESS && ev->kind != MEMO_EV_FAILURE &&
                                  ev->kind != MEMO_EV_BACKOFF))
        return;
    atomic_store(&obs_hook, (obs_hook_fn)NULL); /* once */
    atomic_store(&busy_rc, -1);
    /* not ended: the test joins it after we return (it may wait for us) */
    atomic_store(&busy_joined, job_run_bounded(&busy_job, busy_get_job, NULL));
}
/* the hook's job, joined if the hook could not */
#define join_if_pending(flag, job) do { \
        if (!atomic_load(&(flag))) \
            mt_join((job).th, NULL); \
    } while (0)
static void test_observer_runs_after_the_busy_period(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    static fx_t g;
    static memo_t n = FX_CELL(g, .retry_min_ms = 100);
    void *v;
    fx_init(&f, &m);
    busy_cell = &m;
    /* SUCCESS: the other thread gets the value */
    atomic_store(&obs_hook, hook_other_thread_gets);
    assert_int_equal(memo_get(&m, &v), 0);
    join_if_pending(busy_joined, busy_job);
    assert_int_equal(atomic_load(&busy_joined), 1);
    assert_int_equal(atomic_load(&busy_rc), 0);
    assert_int_equal(atomic_load(&f.ctor_calls), 1);
    assert_int_equal(memo_reset(&m), 0);
    /* FAILURE (no backoff): the other thread makes its own attempt */
    fx_fail(&f, EIO, "");
    atomic_store(&obs_hook, hook_other_thread_gets);
    assert_int_equal(memo_get(&m, &v), EIO);
    join_if_pending(busy_joined, busy_job);
    assert_int_equal(atomic_load(&busy_joined), 1);
    assert_int_equal(atomic_load(&busy_rc), EIO); /* its own attempt ran (and failed) */
    assert_int_equal(atomic_load(&f.ctor_calls), 3);
    /* BACKOFF: the other thread is refused at once too */
    fx_init(&g, &n);
    fx_fail(&g, EIO, "");
    busy_cell = &n;
    assert_int_equal(memo_get(&n, &v), EIO);
    atomic_store(&obs_hook, hook_other_thread_gets);
    assert_int_equal(memo_get(&n, &v), EIO); /* B */
    join_if_pending(busy_joined, busy_job);
    assert_int_equal(atomic_load(&busy_joined), 1);
    assert_int_equal(atomic_load(&busy_rc), EIO);
    assert_int_equal(atomic_load(&g.ctor_calls), 1);
}

/* Never from the fast path: a hot loop of gets (untyped, timed, peek,
 * typed, fresh TTL) makes no event. */
static void test_observer_never_on_fast_path(void **state)
{
    (void)state;
    static fx_t f, g;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    static memo_t t = FX_CELL(g, .ttl_ms = 1000);
    fx_init(&f, &m);
    fx_init(&g, &t);
    void *v, *tv;
    item_t *it = NULL;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_get(&t, &tv), 0);
    assert_int_equal(titem(&it), 0);
    int before = ev_total();
    assert_int_equal(before, 8); /* AcS twice (with the constructor's marks), AS */
    for (int i = 0; i < 100000; i++) {
        void *w;
        item_t *x;
        memo_lease_t l;
        int r1 = memo_get(&m, &w) != 0 || w != v, r2 = memo_get_timed(&m, &w, 0) != 0 || w != v;
        int r3 = memo_peek(&m, &w) != 0 || w != v, r4 = memo_get(&t, &w) != 0 || w != tv, r5 = titem(&x) != 0 || x != it;
        int r6 = memo_acquire(&m, &l) != 0 || memo_release(&l) != 0;
        if (r1 || r2 || r3 || r4 || r5 || r6)
            fail_msg("round %d: get %d, get_timed %d, peek %d, TTL get %d, typed get %d, acquire %d", i, r1, r2,
                     r3, r4, r5, r6);
    }
    assert_int_equal(ev_total(), before);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(memo_reset(&t), 0);
    assert_int_equal(memo_reset(&titem_memo), 0);
}

/* ======================================================================== */
/* 5. memo_set                                                              */

static void test_set_eexist_on_ready_cell(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    static obj_t fake;
    atomic_store(&fake.magic, ALIVE);
    void *v, *w;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_set(&m, &fake), EEXIST);
    assert_int_equal(memo_get(&m, &w), 0);
    assert_ptr_equal(w, v);
    assert_int_equal(atomic_load(&f.dtor_calls), 0);
    assert_int_equal(atomic_load(&fake.magic), ALIVE);
    assert_int_equal(memo_reset(&m), 0);
    assert_ptr_equal(atomic_load(&f.last_destroyed), v);
}

static void test_set_ebusy_while_building(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    static obj_t fake;
    atomic_store(&f.gated, 1);
    static eget_t t;
    eget_start(&t, &m, BY_GET);
    gate_wait_entered(&f.gate, 1);
    assert_int_equal(memo_set(&m, &fake), EBUSY); /* not waited for */
    gate_open(&f.gate);
    eget_join(&t);
    assert_int_equal(t.rc, 0);
    void *v;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_equal(v, t.v);
    assert_ptr_not_equal(v, &fake);
    assert_int_equal(memo_reset(&m), 0);
    /* from the cell's own constructor: EDEADLK */
    atomic_store(&f.gated, 0);
    f.self_set = 1;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(f.self_rc, EDEADLK);
    assert_int_equal(memo_reset(&m), 0);
}

static void test_set_einval_enotsup(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    static obj_t fake;
    cfg_t c;
    memset(&c, 0, sizeof c);
    void *v;
    assert_int_equal(memo_set(NULL, &fake), EINVAL);
    assert_int_equal(memo_set(&m, NULL), EINVAL);
    assert_int_equal(memo_take(NULL, &v), EINVAL);
    assert_int_equal(memo_take(&m, NULL), EINVAL);
    /* in place (MEMOIZE struct, MEMOIZE_VALUE) and per thread */
    uint32_t cfg_attempts = memo_stats(&tcfg_memo).attempts, val_attempts = memo_stats(&tval_memo).attempts;
    assert_int_equal(memo_set(&tcfg_memo, &c), ENOTSUP);
    assert_int_equal(memo_set(&tval_memo, &c), ENOTSUP);
    assert_int_equal(memo_set(&tconn_memo, &c), ENOTSUP);
    assert_int_equal(tcfg(&c), 0);
    assert_int_equal(tval(), 42);
    tconn_t *tc;
    assert_int_equal(tconn(&tc), 0);
    assert_int_equal(memo_take(&tcfg_memo, &v), ENOTSUP);
    assert_int_equal(memo_take(&tval_memo, &v), ENOTSUP);
    assert_int_equal(memo_take(&tconn_memo, &v), ENOTSUP);
    assert_int_equal(tcfg(&c), 0); /* still there: not built again */
    assert_int_equal(c.port, 5432);
    assert_int_equal(tval(), 42);
    assert_int_equal(memo_stats(&tcfg_memo).attempts, cfg_attempts + 1);
    assert_int_equal(memo_stats(&tval_memo).attempts, val_attempts + 1);
    assert_int_equal(memo_reset(&tcfg_memo), 0);
    assert_int_equal(memo_reset(&tval_memo), 0);
    assert_int_equal(tconn_reset(), 0);
    assert_int_equal(atomic_load(&f.ctor_calls), 0);
}

/* A set value is what the getters return (no constructor call) and the
 * dtor destroys it at reset; then the constructor builds again. */
static void test_set_value_is_got_and_destroyed(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    static obj_t fake;
    atomic_store(&fake.magic, ALIVE);
    void *v;
    memo_lease_t l;
    assert_int_equal(memo_set(&m, &fake), 0);
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_equal(v, &fake);
    assert_int_equal(memo_peek(&m, &v), 0);
    assert_ptr_equal(v, &fake);
    assert_int_equal(memo_acquire(&m, &l), 0);
    assert_ptr_equal(l.value, &fake);
    assert_int_equal(memo_release(&l), 0);
    assert_int_equal(atomic_load(&f.ctor_calls), 0);
    assert_int_equal(memo_stats(&m).attempts, 0);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(atomic_load(&f.dtor_calls), 1);
    assert_ptr_equal(atomic_load(&f.last_destroyed), &fake);
    assert_int_equal(atomic_load(&fake.magic), DEAD);
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_not_equal(v, &fake);
    assert_int_equal(atomic_load(&f.ctor_calls), 1);
    /* memo_shutdown destroys a set value too (it is listed) */
    assert_int_equal(memo_reset(&m), 0);
    atomic_store(&fake.magic, ALIVE);
    assert_int_equal(memo_set(&m, &fake), 0);
    assert_int_equal(memo_shutdown(), 0);
    assert_int_equal(atomic_load(&fake.magic), DEAD);
    assert_int_equal(atomic_load(&f.bad), 0);
    /* the typed pointer getter returns a set value */
    static item_t fake_item;
    item_t *it;
    assert_int_equal(memo_set(&titem_memo, &fake_item), 0);
    int calls = atomic_load(&ti_calls);
    assert_int_equal(titem(&it), 0);
    assert_ptr_equal(it, &fake_item);
    assert_int_equal(atomic_load(&ti_calls), calls);
    assert_int_equal(memo_reset(&titem_memo), 0);
}

/* memo_set forgets a failure and its backoff window: the set value is
 * served at once, failures_in_row is 0, and after the value is taken the
 * next failure's window is retry_min_ms again, not doubled. */
static void test_set_clears_backoff(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100, .retry_max_ms = 10000);
    fx_init(&f, &m);
    static obj_t fake;
    atomic_store(&fake.magic, ALIVE);
    void *v;
    fx_fail(&f, ECONNREFUSED, "down");
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    advance_ms(100);
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED); /* window now 200 ms */
    assert_int_equal(memo_stats(&m).failures_in_row, 2);
    advance_ms(10);
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED); /* refused */
    assert_int_equal(memo_set(&m, &fake), 0);
    assert_int_equal(memo_get(&m, &v), 0);
    assert_ptr_equal(v, &fake);
    assert_int_equal(memo_stats(&m).failures_in_row, 0);
    assert_int_equal(memo_take(&m, &v), 0);
    assert_ptr_equal(v, &fake);
    int calls = atomic_load(&f.ctor_calls);
    assert_int_equal(calls, 2);
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED); /* a new attempt at once */
    assert_int_equal(atomic_load(&f.ctor_calls), 3);
    assert_int_equal(memo_stats(&m).failures_in_row, 1);
    advance_ms(99);
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(atomic_load(&f.ctor_calls), 3);
    advance_ms(1); /* the window was 100 ms, not 400 */
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(atomic_load(&f.ctor_calls), 4);
    assert_int_equal(atomic_load(&f.dtor_calls), 0);
}

/* ======================================================================== */
/* 6. memo_take                                                             */

static void test_take_eagain_without_value(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100);
    fx_init(&f, &m);
    void *v = &v;
    assert_int_equal(memo_take(&m, &v), EAGAIN); /* empty */
    assert_ptr_equal(v, &v);
    fx_fail(&f, EIO, "");
    assert_int_equal(memo_get(&m, &v), EIO);
    assert_int_equal(memo_take(&m, &v), EAGAIN); /* failed */
    assert_int_equal(atomic_load(&f.ctor_calls), 1);
    /* from the cell's own constructor: EDEADLK */
    advance_ms(100);
    fx_fail(&f, 0, "");
    f.self_take = 1;
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(f.self_rc, EDEADLK);
    assert_int_equal(memo_reset(&m), 0);
}

static void test_take_returns_value_without_dtor(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    void *v, *t, *w;
    assert_int_equal(memo_get(&m, &v), 0);
    ev_clear();
    assert_int_equal(memo_take(&m, &t), 0);
    assert_ptr_equal(t, v);
    assert_int_equal(atomic_load(&f.dtor_calls), 0);
    assert_int_equal(atomic_load(&((obj_t *)t)->magic), ALIVE);
    assert_events(&m, ""); /* no DESTROYED */
    assert_int_equal(memo_peek(&m, &w), EAGAIN);
    assert_int_equal(memo_take(&m, &w), EAGAIN);
    assert_int_equal(memo_get(&m, &w), 0); /* rebuilt */
    assert_ptr_not_equal(w, t);
    assert_int_equal(atomic_load(&f.ctor_calls), 2);
    assert_int_equal(memo_shutdown(), 0); /* the taken value is not listed any more */
    assert_int_equal(atomic_load(&f.dtor_calls), 1);
    assert_ptr_equal(atomic_load(&f.last_destroyed), w);
    assert_int_equal(atomic_load(&((obj_t *)t)->magic), ALIVE);
    assert_int_equal(atomic_load(&f.bad), 0);
}

/* take while a lease is held: the lease stays valid, the cell gives the
 * value up (invalidate_lease: EALREADY), the release disposes of nothing. */
static void test_take_with_lease_held(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    memo_lease_t l;
    void *t, *w;
    assert_int_equal(memo_acquire(&m, &l), 0);
    long live = atomic_load(&ta_live);
    ev_clear();
    assert_int_equal(memo_take(&m, &t), 0);
    assert_ptr_equal(t, l.value);
    assert_int_equal(atomic_load(&((obj_t *)l.value)->magic), ALIVE);
    assert_int_equal(memo_invalidate_lease(&l), EALREADY);
    assert_int_equal(memo_get(&m, &w), 0); /* a new value meanwhile */
    assert_ptr_not_equal(w, t);
    static job_t j;
    assert_true(job_run_bounded(&j, release_job, &l)); /* the last release, elsewhere */
    assert_int_equal(atomic_load(&f.dtor_calls), 0);
    assert_int_equal(atomic_load(&f.forget_calls), 0);
    assert_int_equal(atomic_load(&((obj_t *)t)->magic), ALIVE);
    assert_int_equal(ev_count(&m, MEMO_EV_DESTROYED), 0);
    assert_int_equal(ev_count(&m, MEMO_EV_FORGOTTEN), 0);
    assert_int_equal(atomic_load(&ta_live), live); /* the detach record is freed */
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(atomic_load(&f.dtor_calls), 1);
    assert_ptr_equal(atomic_load(&f.last_destroyed), w);
    assert_int_equal(atomic_load(&f.bad), 0);
}

/* memo_take waits for a running construction and takes its value. */
typedef struct taker {
    pthread_t th;
    memo_t *m;
    pid_t tid;
    atomic_int started, done;
    int rc;
    void *v;
} taker_t;
static void *taker_main(void *p)
{
    taker_t *t = (taker_t *)p;
    t->tid = (pid_t)syscall(SYS_gettid);
    atomic_store(&t->started, 1);
    t->rc = memo_take(t->m, &t->v);
    atomic_store(&t->done, 1);
    return NULL;
}
static void test_take_waits_for_construction(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    atomic_store(&f.gated, 1);
    static eget_t b;
    eget_start(&b, &m, BY_GET);
    gate_wait_entered(&f.gate, 1);
    static taker_t t;
    memset(&t, 0, sizeof t);
    t.m = &m;
    t.rc = -12345;
    assert_int_equal(pthread_create(&t.th, NULL, taker_main, &t), 0);
    /* until the taker sleeps (in memo_take: it has nothing else to sleep
     * in) or returns -- which it must not do before the gate opens */
    mt_wait_until(atomic_load(&t.done) || (atomic_load(&t.started) && task_state(t.tid) == 'S'));
    if (atomic_load(&t.done))
        fail_msg("memo_take returned %d (%s) while the construction ran: it must wait", t.rc, strerror(t.rc));
    gate_open(&f.gate);
    eget_join(&b);
    mt_join(t.th, NULL);
    assert_int_equal(b.rc, 0);
    assert_int_equal(t.rc, 0);
    assert_ptr_equal(t.v, b.v);
    assert_int_equal(atomic_load(&f.dtor_calls), 0);
    void *v;
    assert_int_equal(memo_peek(&m, &v), EAGAIN);
}

/* ======================================================================== */
/* 7. Defects                                                               */

/* DEFECT: memo_event_t.message of a FAILURE event is "valid during the call"
 * (include/memo.h, memo_event_t), but it points into the cell's message
 * record (memo_i_keep_msg_ returns rec->text, memo.h:2279 at 157ef26), and
 * the observer runs after the busy period ended (memo_i_construct_:
 * memo_i_end_busy_ at 2581, then memo_i_event_ at 2582; the stale-if-error
 * path at 2572 likewise): the next failed attempt of the cell, by another
 * thread, replaces the record and frees it (memo_i_keep_msg_: MEMO_FREE(old)
 * at 2278) while the observer still runs -- a use after free, for an
 * observer that is merely preempted.  Expected: the message stays valid
 * (e.g. hand the observer the thread's copy, memo_i_tls_v2_.pending, which
 * memo_i_keep_msg_'s comment already promises: "returns it (the thread's
 * copy)").  Here: on the first FAILURE the observer lets another thread fail
 * the next attempt, then looks where ev->message points (not into it: the
 * allocator logs the freed ranges). */
static memo_t *d1_cell;
static atomic_int d1_freed, d1_joined, d1_once;
static char d1_text[MEMO_MESSAGE_MAX + 8];
static job_t d1_jobv;
static void d1_job(void *p)
{
    void *v;
    (void)p;
    (void)memo_get(d1_cell, &v);
}
static void d1_hook(const memo_event_t *ev)
{
    if (ev->cell != d1_cell || ev->kind != MEMO_EV_FAILURE || atomic_exchange(&d1_once, 1))
        return;
    ta_arm();
    int ended = job_run_bounded(&d1_jobv, d1_job, NULL);
    ta_disarm();
    atomic_store(&d1_joined, ended);
    if (!ended)
        return; /* joined by the test */
    if (!ev->message || ta_was_freed(ev->message)) {
        atomic_store(&d1_freed, ev->message != NULL);
        return;
    }
    snprintf(d1_text, sizeof d1_text, "%s", ev->message);
}
static void test_observer_failure_message_freed_during_call(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    snprintf(f.msg, sizeof f.msg, "upstream refused");
    f.msg_attempt = 1;
    atomic_store(&f.fail_with, ECONNREFUSED);
    d1_cell = &m;
    atomic_store(&d1_once, 0);
    atomic_store(&d1_freed, 0);
    d1_text[0] = '\0';
    atomic_store(&obs_hook, d1_hook);
    void *v;
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    atomic_store(&obs_hook, (obs_hook_fn)NULL);
    join_if_pending(d1_joined, d1_jobv);
    assert_int_equal(atomic_load(&d1_joined), 1);
    assert_int_equal(atomic_load(&f.ctor_calls), 2);
    assert_string_equal(memo_stats(&m).last_message, "upstream refused #2");
    if (atomic_load(&d1_freed))
        fail_msg("DEFECT: the FAILURE event's message (\"upstream refused #1\") was freed while the "
                 "observer ran: the next attempt's failure replaced the cell's record "
                 "(memo_i_keep_msg_) -- use after free");
    assert_string_equal(d1_text, "upstream refused #1");
}

/* DEFECT (same cause, per-thread cells): MEMOIZE_THREAD's FAILURE event
 * (memo_i_tget_, memo.h:3682-3684) gets the shared name_memo's record too,
 * which any other thread's failure frees -- and per-thread attempts run in
 * parallel, no busy period orders them. */
static atomic_int d1t_freed, d1t_joined, d1t_once;
static char d1t_text[MEMO_MESSAGE_MAX + 8];
static job_t d1t_jobv;
static void d1t_job(void *p)
{
    tconn_t *c;
    (void)p;
    tc_fail = ENETDOWN;
    tc_msg = "thread B: network down";
    (void)tconn(&c);
}
static void d1t_hook(const memo_event_t *ev)
{
    if (ev->cell != &tconn_memo || ev->kind != MEMO_EV_FAILURE || atomic_exchange(&d1t_once, 1))
        return;
    ta_arm();
    int ended = job_run_bounded(&d1t_jobv, d1t_job, NULL);
    ta_disarm();
    atomic_store(&d1t_joined, ended);
    if (!ended)
        return; /* joined by the test */
    if (!ev->message || ta_was_freed(ev->message)) {
        atomic_store(&d1t_freed, ev->message != NULL);
        return;
    }
    snprintf(d1t_text, sizeof d1t_text, "%s", ev->message);
}
static void test_thread_observer_failure_message_freed_during_call(void **state)
{
    (void)state;
    tconn_t *c;
    advance_ms(1000); /* out of any window of this thread */
    atomic_store(&d1t_once, 0);
    atomic_store(&d1t_freed, 0);
    d1t_text[0] = '\0';
    tc_fail = ECONNREFUSED;
    tc_msg = "thread A: refused";
    atomic_store(&obs_hook, d1t_hook);
    assert_int_equal(tconn(&c), ECONNREFUSED);
    atomic_store(&obs_hook, (obs_hook_fn)NULL);
    tc_fail = 0;
    tc_msg = NULL;
    join_if_pending(d1t_joined, d1t_jobv);
    assert_int_equal(atomic_load(&d1t_joined), 1);
    assert_string_equal(memo_stats(&tconn_memo).last_message, "thread B: network down");
    if (atomic_load(&d1t_freed))
        fail_msg("DEFECT: the per-thread FAILURE event's message (\"thread A: refused\") was freed "
                 "while the observer ran, by another thread's failure (memo_i_tget_ -> "
                 "memo_i_keep_msg_) -- use after free");
    assert_string_equal(d1t_text, "thread A: refused");
}

/* DEFECT: a cell's message record is never freed: memo_reset (and
 * memo_shutdown) leave it hanging on the cell (m->msg_; only the next failed
 * attempt replaces it, memo_i_keep_msg_, and no other code frees it).  The
 * manual's rule is "reset a cell before its memory is freed"; a cell that is
 * reset and then freed (a memo_t inside a heap object, on the stack, in a
 * dlclose'd library) leaks sizeof(memo_i_msg_t) (132 bytes) once its
 * constructor has called memo_failf -- LeakSanitizer and valgrind report it
 * as a definite leak.  Expected: after memo_reset nothing memo allocated for
 * the cell is left (memo_stats' last_message would then read "" after a
 * reset, as last_error is the one thing a reset keeps). */
static void test_message_record_outlives_reset(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 0);
    fx_init(&f, &m);
    long live0 = atomic_load(&ta_live);
    fx_fail(&f, ECONNREFUSED, "refused");
    void *v;
    assert_int_equal(memo_get(&m, &v), ECONNREFUSED);
    assert_int_equal(atomic_load(&ta_live), live0 + 1); /* the message record */
    fx_fail(&f, 0, "");
    assert_int_equal(memo_get(&m, &v), 0);
    assert_int_equal(memo_reset(&m), 0);
    assert_int_equal(memo_shutdown(), 0);
    long left = atomic_load(&ta_live) - live0;
    if (left != 0)
        fail_msg("DEFECT: %ld block(s) memo allocated for the cell remain after memo_reset and "
                 "memo_shutdown (its memo_failf record, m->msg_): freeing the cell now leaks it", left);
}

/* DEFECT: a constructor that returned 0 and no value fails with memo's
 * MEMO_ENOVALUE (MEMO_FROM_MEMO, enum memo_origin; memo_i_construct_ at
 * memo.h:2503), and its caller is told so -- but the waiters of that attempt
 * and the callers refused inside its backoff window are told
 * MEMO_FROM_CTOR: memo_i_get_slow_cs_ notes every failure it reads from
 * fail_ through memo_i_cerr_ (2751, 2790; a TTL refusal at 2666), and fail_
 * keeps the code only, not the origin (a constructor may return ENODATA
 * itself, so the code cannot tell).  Expected: MEMO_FROM_MEMO for them too. */
static void test_enovalue_origin_for_waiters_and_refusals(void **state)
{
    (void)state;
    static fx_t f;
    static memo_t m = FX_CELL(f, .retry_min_ms = 100);
    fx_init(&f, &m);
    atomic_store(&f.null_value, 1);
    atomic_store(&f.gated, 1);
    static eget_t owner, w;
    eget_start(&owner, &m, BY_GET);
    gate_wait_entered(&f.gate, 1);
    eget_start(&w, &m, BY_GET);
    wait_for_waiters(&m, 1);
    gate_open(&f.gate);
    eget_join(&owner);
    eget_join(&w);
    assert_int_equal(owner.rc, MEMO_ENOVALUE);
    assert_lerr(&owner.le, MEMO_ENOVALUE, MEMO_FROM_MEMO, NULL);
    assert_int_equal(w.rc, MEMO_ENOVALUE);
    void *v;
    prime_last_error();
    assert_int_equal(memo_get(&m, &v), MEMO_ENOVALUE); /* in the window */
    lerr_t r;
    lerr_capture(&r);
    assert_int_equal(atomic_load(&f.ctor_calls), 1);
    if (w.le.origin != MEMO_FROM_MEMO || r.origin != MEMO_FROM_MEMO)
        fail_msg("DEFECT: MEMO_ENOVALUE of a constructor that returned no value: the waiter is told %s, "
                 "the caller refused in the backoff window %s; the attempt's own caller %s",
                 origin_name(w.le.origin), origin_name(r.origin), origin_name(owner.le.origin));
}

/* DEFECT: a MEMOIZE_THREAD getter refused inside its thread's backoff window
 * gets the constructor's error (MEMO_FROM_CTOR) but not its message:
 * memo_i_tget_ clears pending_set (memo.h:3625) before noting it (3688), and
 * the per-thread node keeps no message.  A shared cell's refusal carries the failure's
 * message (memo_error_t: "the constructor's message for that attempt" --
 * "the failure whose backoff window it fell in").  Expected: the message of
 * this thread's failure. */
static void test_thread_backoff_refusal_has_no_message(void **state)
{
    (void)state;
    tconn_t *c;
    advance_ms(1000);
    tc_fail = ECONNREFUSED;
    tc_msg = "thread A: refused";
    assert_int_equal(tconn(&c), ECONNREFUSED);
    assert_last_error(ECONNREFUSED, MEMO_FROM_CTOR, "thread A: refused");
    int attempts = (int)memo_stats(&tconn_memo).attempts;
    prime_last_error();
    assert_int_equal(tconn(&c), ECONNREFUSED); /* refused in the window */
    assert_int_equal((int)memo_stats(&tconn_memo).attempts, attempts);
    tc_fail = 0;
    tc_msg = NULL;
    assert_int_equal(tconn_reset(), 0); /* forgets this thread's backoff */
    assert_last_error(ECONNREFUSED, MEMO_FROM_CTOR, "thread A: refused");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_origin_einval_is_memo),
        T(test_origin_etimedout_memo_vs_ctor),
        T(test_origin_ctor_einval),
        T(test_origin_edeadlk_own_ctor),
        T(test_origin_enovalue_is_memo),
        T(test_origin_enotsup_is_memo),
        T(test_message_reaches_caller_and_stats),
        T(test_message_reaches_every_waiter),
        T(test_message_in_backoff_refusal),
        T(test_message_not_carried_to_later_failure),
        T(test_message_of_a_successful_attempt_is_dropped),
        T(test_message_cut_at_max),
        T(test_message_is_the_threads_copy),
        T(test_success_keeps_last_error),
        T(test_typed_getter_errors),
        T(test_thread_getter_errors),
        T(test_observer_attempt_success),
        T(test_observer_failure_with_message),
        T(test_observer_backoff_refusal),
        T(test_observer_invalidate_and_deferred_destroy),
        T(test_observer_reset_shutdown_forget_all),
        T(test_observer_ttl_refresh),
        T(test_observer_may_use_other_cells),
        T(test_observer_runs_after_the_busy_period),
        T(test_observer_never_on_fast_path),
        T(test_set_eexist_on_ready_cell),
        T(test_set_ebusy_while_building),
        T(test_set_einval_enotsup),
        T(test_set_value_is_got_and_destroyed),
        T(test_set_clears_backoff),
        T(test_take_eagain_without_value),
        T(test_take_returns_value_without_dtor),
        T(test_take_with_lease_held),
        T(test_take_waits_for_construction),
        T(test_observer_failure_message_freed_during_call),
        T(test_thread_observer_failure_message_freed_during_call),
        T(test_message_record_outlives_reset),
        T(test_enovalue_origin_for_waiters_and_refusals),
        T(test_thread_backoff_refusal_has_no_message),
    };
#undef T
    return mt_run_tests("memo_errors", tests);
}
