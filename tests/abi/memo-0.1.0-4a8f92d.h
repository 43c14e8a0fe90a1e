/* memo.h -- thread-safe memoization and lazy initialization for C11 (and C++).
 *
 * Version 0.1.0.  One header, no dependencies beyond <stdatomic.h> and pthreads.
 * License: MIT (see the end of this file).
 *
 * ==========================================================================
 * WHAT IT IS
 * ==========================================================================
 * memo builds an expensive, fallible value -- a database connection, an HTTP
 * client, a parsed config, a secret -- once, on first use, and hands the same
 * value to every later caller in about one load.  A failed build is not cached:
 * the next caller tries again (optionally after a backoff window).  At most one
 * constructor of a cell runs at any moment; concurrent callers sleep (futex)
 * until it is done and then share its result, success or error.
 *
 * Typical use, the typed generator:
 *
 *     #include "memo.h"
 *     #include <libpq-fe.h>
 *
 *     static int open_db(PGconn **out) {
 *         PGconn *c = PQconnectdb(getenv("DATABASE_URL"));
 *         if (PQstatus(c) != CONNECTION_OK) { PQfinish(c); return ECONNREFUSED; }
 *         *out = c;
 *         return 0;                               // 0 = success: cached
 *     }
 *     static void close_db(PGconn *c) { PQfinish(c); }
 *
 *     MEMOIZE(static, get_db, PGconn *, open_db, close_db, .retry_min_ms = 50);
 *
 *     int handler(void) {
 *         PGconn *db;
 *         int err = get_db(&db);                  // first call connects, later calls
 *         if (err) return err;                    // return the same connection
 *         ...
 *     }
 *
 * The untyped cell underneath:
 *
 *     static memo_t cfg = MEMO_INIT(load_config, free_config, "/etc/app.conf");
 *     void *v; int err = memo_get(&cfg, &v);
 *
 * ==========================================================================
 * COMPILE-TIME OPTIONS (define before including memo.h; all optional)
 * ==========================================================================
 *   MEMO_NO_FUTEX   Waiters sleep on a pthread mutex/condvar table instead of a
 *                   Linux futex.  Default: futex on Linux, this fallback
 *                   elsewhere.  The table is one weak symbol (memo_i_park_v1_)
 *                   shared by every translation unit of a program.
 *   MEMO_NOW_NS()   An expression giving the monotonic time in nanoseconds as
 *                   uint64_t; used for backoff windows and construction times
 *                   (not for get_timed timeouts, which always use the real
 *                   clock).  Default: clock_gettime(CLOCK_MONOTONIC) when
 *                   <time.h> declares it, else C11 timespec_get(TIME_UTC).
 *                   Tests override it to drive backoff deterministically.
 *
 * ==========================================================================
 * THREAD SAFETY AND MEMORY ORDERING
 * ==========================================================================
 * - Every function here may be called from any thread on the same cell at the
 *   same time, except where a function says otherwise.
 * - A value published by a successful constructor is fully visible to every
 *   thread that obtains it (memo_get/memo_peek/typed getters): the publication
 *   is a release store, every read of it an acquire load.  Anything the
 *   constructor wrote before returning happens-before the caller's use.
 * - The constructor runs in the calling thread, outside every lock.  While it
 *   runs the cell is BUSY: other callers of the cell sleep until it ends.
 *   Callers of other cells are never affected (no global lock).
 * - The destructor (memo_reset, memo_invalidate) also runs in the calling
 *   thread with the cell BUSY.  memo.h cannot know whether another thread still
 *   uses the old value: destroy it only when no other thread can be using it
 *   (leases, which make this safe, are planned for a later version).
 * - Waiting (futex) is not a cancellation point.  A constructor that is
 *   cancelled or calls pthread_exit() leaves the cell EMPTY and one waiter
 *   takes the construction over; the waiters see no error for it.  A longjmp()
 *   out of a constructor cannot be detected and leaves the cell BUSY forever:
 *   don't.
 *
 * ==========================================================================
 * ERRORS
 * ==========================================================================
 *   0            success
 *   EINVAL       bad argument (NULL cell or out pointer, a cell without a
 *                constructor, a negative timeout)
 *   EDEADLK      the calling thread is itself constructing (or destroying)
 *                this cell's value: a constructor asked for its own cell
 *   ETIMEDOUT    memo_get_timed waited its full timeout (the attempt goes on)
 *   EAGAIN       memo_peek: no value yet
 *   EALREADY     memo_invalidate: the cell no longer holds the value you saw
 *   MEMO_ENOVALUE a constructor returned 0 but left a NULL value (a bug in the
 *                constructor): the attempt counts as failed, nothing cached
 *   anything else  the constructor's own return value, passed through
 *                unchanged (to its caller and to every caller that waited on
 *                that attempt)
 */
#ifndef MEMO_H
#define MEMO_H

/** MEMO_VERSION: the version of this header as one number, major*10000 +
 *  minor*100 + patch (0.1.0 -> 100). */
#define MEMO_VERSION 100
#define MEMO_VERSION_STRING "0.1.0"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
/* In C++23, <stdatomic.h> provides _Atomic(T) as std::atomic<T>. */
#include <stdatomic.h>

#if !defined(MEMO_NO_FUTEX) && !defined(__linux__)
#define MEMO_NO_FUTEX 1
#endif

#ifndef MEMO_NO_FUTEX
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* In C++ every member of memo_t has a default member initializer, so that
 * MEMO_INIT's designated initializers may leave members out silently. */
#ifdef __cplusplus
#define MEMO_I_ZERO {}
#else
#define MEMO_I_ZERO
#endif

/* ==========================================================================
 * PUBLIC TYPES
 * ========================================================================== */

/** memo_ctor_fn: a constructor.  Build the value, store it in *out and return
 *  0; or return a non-zero error code (anything but MEMO_ENOVALUE is passed
 *  through unchanged) and nothing is cached.  Runs in the thread that called
 *  memo_get, outside every lock, at most one at a time per cell.  `arg` is the
 *  cell's `arg` member. */
typedef int (*memo_ctor_fn)(void *arg, void **out);

/** memo_dtor_fn: a destructor for a value the constructor built.  Runs in the
 *  thread that called memo_reset/memo_invalidate.  May be NULL (nothing to
 *  destroy). */
typedef void (*memo_dtor_fn)(void *arg, void *value);

/** memo_t: one memoized value.  Caller-owned, statically initializable with
 *  MEMO_INIT; an all-zero cell whose `ctor` member is then set is valid too.
 *  Only the members under "configuration" and "options" are API; the rest is
 *  internal (names ending in `_`).  Do not copy a cell that is in use.
 *
 *  Layout (x86-64): the value slot and the state word are the first 16 bytes,
 *  the line the fast path reads; the whole cell is 120 bytes (104 on i386). */
typedef struct memo {
    /* --- hot: read by the fast path ----------------------------------- */
    _Atomic(void *) slot_ MEMO_I_ZERO;      /* the value when READY, else NULL */
    _Atomic(uint32_t) state_ MEMO_I_ZERO;   /* phase | WAITERS | generation, see below */
    uint32_t flags_ MEMO_I_ZERO;            /* MEMO_I_F_* (set by MEMOIZE), else 0 */

    /* --- configuration (positional in MEMO_INIT) ----------------------- */
    memo_ctor_fn ctor MEMO_I_ZERO;          /* builds the value; required */
    memo_dtor_fn dtor MEMO_I_ZERO;          /* destroys it; NULL = nothing to do */
    void *arg MEMO_I_ZERO;                  /* passed to ctor and dtor */

    /* --- options (designated in MEMO_INIT; 0 = off) -------------------- */
    /** retry_min_ms: after a failed attempt, calls within this many ms get the
     *  failure's error at once, without a new attempt.  0 = no backoff: every
     *  call after a failure starts a new attempt. */
    uint32_t retry_min_ms MEMO_I_ZERO;
    /** retry_max_ms: the backoff window doubles with each consecutive failure
     *  up to this many ms.  0 (or less than retry_min_ms) = no doubling: the
     *  window stays retry_min_ms.  Resets to retry_min_ms on success. */
    uint32_t retry_max_ms MEMO_I_ZERO;

    /* --- internal, written on the slow path only ----------------------- */
    _Atomic(uint64_t) owner_ MEMO_I_ZERO;     /* thread id of the BUSY owner, else 0 */
    _Atomic(uint64_t) fail_ MEMO_I_ZERO;      /* (generation << 32) | (uint32_t)error */
    _Atomic(uint64_t) retry_at_ MEMO_I_ZERO;  /* MEMO_NOW_NS() before which calls fail fast */
    _Atomic(uint64_t) last_ns_ MEMO_I_ZERO;   /* duration of the last successful ctor */
    _Atomic(uint32_t) nfail_row_ MEMO_I_ZERO; /* consecutive failures */
    _Atomic(uint32_t) attempts_ MEMO_I_ZERO;
    _Atomic(uint32_t) successes_ MEMO_I_ZERO;
    _Atomic(uint32_t) failures_ MEMO_I_ZERO;
    _Atomic(uint32_t) waits_ MEMO_I_ZERO;

    /* --- leases (memo_acquire/memo_release) ----------------------------- */
    _Atomic(uint32_t) rlock_ MEMO_I_ZERO;     /* spin lock guarding retired_ */
    _Atomic(uint64_t) leases_ MEMO_I_ZERO;    /* (epoch << 32) | leases on the value */
    void *retired_ MEMO_I_ZERO;               /* detached values still leased */
} memo_t;

/** MEMO_INIT(ctor, dtor, arg, options...): static initializer for a memo_t.
 *  ctor is required, dtor may be NULL, arg is passed to both.  Options follow
 *  as designated initializers, e.g. MEMO_INIT(open, close, NULL,
 *  .retry_min_ms = 50, .retry_max_ms = 5000).  Every option defaults to 0.
 *  In C++ (C++20 designated initializers) options must come in member order. */
#ifdef __cplusplus
#define MEMO_INIT(ctor_, dtor_, arg_, ...) \
    { .ctor = (ctor_), .dtor = (dtor_), .arg = (arg_) __VA_OPT__(, ) __VA_ARGS__ }
#else
#define MEMO_INIT(...) { .ctor = __VA_ARGS__ }
#endif

/* MEMO_INIT with internal flags (MEMO_I_F_*), for the typed generators. */
#ifdef __cplusplus
#define MEMO_I_INIT_F_(flags_v, ctor_, dtor_, arg_, ...) \
    { .flags_ = (flags_v), .ctor = (ctor_), .dtor = (dtor_), .arg = (arg_) __VA_OPT__(, ) __VA_ARGS__ }
#else
#define MEMO_I_INIT_F_(flags_v, ...) { .flags_ = (flags_v), .ctor = __VA_ARGS__ }
#endif

/** memo_stats_t: counters of one cell, a snapshot taken by memo_stats().
 *  Updated on the slow path only (never by a get that finds the value ready).
 *  Counters are 32-bit and wrap. */
typedef struct memo_stats {
    uint32_t attempts;      /* constructor calls started */
    uint32_t successes;     /* constructor calls that produced a value */
    uint32_t failures;      /* constructor calls that returned an error */
    uint32_t waits;         /* calls that slept because an attempt was running */
    uint32_t failures_in_row; /* consecutive failures since the last success */
    int last_error;         /* the error of the most recent failed attempt, 0 if none */
    uint64_t last_ctor_ns;  /* duration of the most recent successful construction */
} memo_stats_t;

/** MEMO_ENOVALUE: returned (and counted as a failed attempt) when a
 *  constructor returns 0 but leaves a NULL value.  A ready cell is recognised
 *  by its non-NULL value, so NULL cannot be memoized; return a non-NULL
 *  pointer or use the typed MEMOIZE with a struct type. */
#ifdef ENODATA
#define MEMO_ENOVALUE ENODATA
#else
#define MEMO_ENOVALUE EPROTO
#endif

/* ==========================================================================
 * THE CELL API
 * ========================================================================== */

/* Internal helpers used by the inline fast paths (defined below). */
/* The slow path's result, returned by value in two registers (x86-64 SysV,
 * AArch64) so that the caller's out variable never has its address taken on
 * the fast path and can live in a register. */
typedef struct memo_i_res {
    void *v;
    int err;
} memo_i_res_t;
static memo_i_res_t memo_i_get_slow_(memo_t *m, long timeout_ms);
static inline int memo_i_get_out_(memo_t *m, void **out, long timeout_ms);

#if defined(__GNUC__) || defined(__clang__)
#define MEMO_I_LIKELY(x) __builtin_expect(!!(x), 1)
#define MEMO_I_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MEMO_I_NOINLINE __attribute__((noinline, cold, unused))
#define MEMO_I_INLINE __attribute__((always_inline)) inline
#define MEMO_I_UNUSED __attribute__((unused))
#else
#define MEMO_I_LIKELY(x) (x)
#define MEMO_I_UNLIKELY(x) (x)
#define MEMO_I_NOINLINE
#define MEMO_I_INLINE inline
#define MEMO_I_UNUSED
#endif

/** memo_get(m, &v): the value of cell m, constructing it if needed.
 *  Returns 0 and sets *v; or an error (see ERRORS) and leaves *v unchanged.
 *  - READY: one acquire load, a test and a branch, inlined; no store.
 *  - EMPTY (or failed, outside any backoff window): the calling thread runs
 *    m->ctor; on success the value is published (release) and cached.
 *  - BUSY: sleeps until the running attempt ends and returns its outcome:
 *    its value, or its error.  If that constructor was cancelled, one waiter
 *    takes over and runs the constructor itself.
 *  - Within a backoff window (retry_min_ms) after a failure: returns that
 *    failure's error at once, without an attempt.
 *  - Called from m's own constructor or destructor: EDEADLK. */
static MEMO_I_INLINE int memo_get(memo_t *m, void **out)
{
    /* acquire: pairs with the release store of slot_ in memo_i_construct_,
     * so everything the constructor wrote is visible once v is seen. */
    void *v = m ? atomic_load_explicit(&m->slot_, memory_order_acquire) : NULL;
    if (MEMO_I_LIKELY(v != NULL && out != NULL)) {
        *out = v;
        return 0;
    }
    return memo_i_get_out_(m, out, -1);
}

/** memo_get_timed(m, &v, timeout_ms): as memo_get, but if another thread's
 *  attempt is running and does not end within timeout_ms milliseconds
 *  (measured on the real clock), returns ETIMEDOUT; that attempt goes on.  The
 *  timeout bounds waiting only: a caller that becomes the constructor runs it
 *  to the end.  timeout_ms == 0 never waits; timeout_ms < 0 is EINVAL. */
static inline int memo_get_timed(memo_t *m, void **out, long timeout_ms)
{
    if (timeout_ms < 0)
        return EINVAL;
    /* acquire: as in memo_get. */
    void *v = m ? atomic_load_explicit(&m->slot_, memory_order_acquire) : NULL;
    if (MEMO_I_LIKELY(v != NULL && out != NULL)) {
        *out = v;
        return 0;
    }
    return memo_i_get_out_(m, out, timeout_ms);
}

/** memo_peek(m, &v): the value if the cell is READY (0, *v set); EAGAIN if
 *  not (empty, failed or being constructed); EINVAL for NULL arguments.
 *  Never waits, never constructs, never writes shared memory. */
static inline int memo_peek(memo_t *m, void **out)
{
    if (!m || !out)
        return EINVAL;
    /* acquire: as in memo_get. */
    void *v = atomic_load_explicit(&m->slot_, memory_order_acquire);
    if (!v)
        return EAGAIN;
    *out = v;
    return 0;
}

/** memo_reset(m): destroys the value (m->dtor, in the calling thread) and
 *  empties the cell; also forgets a failure and its backoff window, so the
 *  next get starts a new attempt at once.  If an attempt is running, waits for
 *  it to end first.  Returns 0 (also when the cell was already empty), EINVAL
 *  for NULL, EDEADLK from the cell's own constructor or destructor, ENOMEM if
 *  the small record a leased value needs could not be allocated (nothing
 *  changed).  If leases (memo_acquire) are held on the value, it leaves the
 *  cell now and is destroyed by the last memo_release instead.  Callers that
 *  obtained the value by memo_get, without a lease, must no longer use it. */
static inline int memo_reset(memo_t *m);

/** memo_invalidate(m, seen): like memo_reset, but only if the cell still holds
 *  `seen`.  Two threads that both saw a broken connection both call it; the
 *  first destroys it and gets 0, the other gets EALREADY and nothing happens,
 *  and the next get reconnects once.  Also EALREADY when the cell is empty or
 *  holds another value; EINVAL for NULL m or seen; EDEADLK from the cell's
 *  own constructor or destructor; ENOMEM as memo_reset.  Never waits for a
 *  running attempt.  A leased value is destroyed at its last release. */
static inline int memo_invalidate(memo_t *m, void *seen);

/** memo_stats(m): a snapshot of the cell's counters (all zero for NULL).
 *  Each field is read atomically; the fields are not one consistent snapshot
 *  while other threads work on the cell. */
static inline memo_stats_t memo_stats(const memo_t *m);

/** memo_lease_t: a hold on one value of a cell, taken by memo_acquire and
 *  given back by memo_release.  While it is held, the value it names is not
 *  destroyed: a memo_reset, memo_invalidate or replacement of a leased value
 *  detaches it from the cell at once (the next get builds a new one) and runs
 *  its destructor when the last lease on it is released.
 *  `value` is the leased value (read it, do not write it); the other members
 *  are internal.  A lease belongs to one holder: do not copy it and release
 *  both copies. */
typedef struct memo_lease {
    void *value;            /* the leased value; NULL when not held */
    memo_t *m_;             /* the cell; NULL when not held */
    uint32_t epoch_;        /* the value's epoch (leases_ >> 32 when taken) */
    uint32_t magic_;        /* MEMO_I_LEASE_MAGIC while held */
} memo_lease_t;

/** MEMO_LEASE_INIT: initializer for a memo_lease_t that is not held.  A
 *  zeroed lease is equally "not held". */
#define MEMO_LEASE_INIT { NULL, NULL, 0, 0 }

/** memo_acquire(m, &lease): as memo_get (builds the value if needed, waits for
 *  a running attempt, same errors), and on success also takes a lease on the
 *  value: lease.value is the value and stays valid -- not destroyed, even if
 *  the cell is reset or invalidated meanwhile -- until memo_release(&lease).
 *  Returns 0; or an error and the lease is "not held".  EINVAL for NULL
 *  arguments; ENOTSUP for a cell whose value lives in place (MEMOIZE with a
 *  non-pointer T, MEMOIZE_VALUE: their storage is reused by the next value, so
 *  it cannot outlive a reset).  Cost when ready: two loads and one atomic
 *  add on the cell (a shared-line write, unlike memo_get).
 *  If a reset detaches the value between the get and the pin, the call goes
 *  round again: it may then build (or wait for) another value, count in
 *  memo_stats' `waits` more than once, and -- giving back a pin it took on a
 *  value detached meanwhile -- run that value's deferred destructor. */
static inline int memo_acquire(memo_t *m, memo_lease_t *lease);

/** memo_release(&lease): gives the lease back.  If its value was detached
 *  (reset, invalidated) and this was its last lease, runs the cell's
 *  destructor on it now, in the calling thread.  Returns 0; EINVAL for NULL or
 *  a lease that is not held (released twice, never acquired). */
static inline int memo_release(memo_lease_t *lease);

/* ==========================================================================
 * TYPED GENERATORS
 * ========================================================================== */

/** MEMOIZE(storage, name, T, ctor, dtor, options...): a typed memoized getter.
 *    storage  `static` (one file) or empty (external linkage: pair it with
 *             MEMO_DECLARE(name, T) in a header, define it in one .c file)
 *    name     the getter: `int name(T *out)`, same semantics and errors as
 *             memo_get; and the cell `memo_t name_memo` for memo_reset,
 *             memo_invalidate (pointer T), memo_stats and tests
 *    T        any object type: a pointer (stored in the cell's slot itself)
 *             or a struct/scalar (stored beside the cell, slot points to it)
 *    ctor     `int ctor(T *out)`: 0 = success; wrong type = compile error
 *    dtor     `void dtor(T value)` or NULL
 *    options  as in MEMO_INIT, e.g. .retry_min_ms = 50
 *  For a pointer T, a NULL value from a successful ctor is MEMO_ENOVALUE.
 *  The value of a struct T is written once, before publication, and never
 *  again while the cell is READY; it is destroyed by reset/invalidate. */
#define MEMOIZE(storage, name, ...) MEMO_I_MEMOIZE_(storage, name, __VA_ARGS__, )

/** MEMO_DECLARE(name, T): the prototype of an external MEMOIZE'd getter and
 *  its cell, for a shared header: `int name(T *out); extern memo_t name_memo;`. */
#define MEMO_DECLARE(name, T) \
    extern memo_t name##_memo; \
    int name(T *out)

/** MEMOIZE_VALUE(storage, name, T, fn, options...): an infallible memoized
 *  value: `T name(void)` returns what `T fn(void)` returned on its first call.
 *  Concurrent first callers wait for the one running fn.  Calling name() from
 *  inside fn aborts the program (it would deadlock).  Cell: name_memo. */
#define MEMOIZE_VALUE(storage, name, ...) MEMO_I_MEMOIZE_VALUE_(storage, name, __VA_ARGS__, )

/* ==========================================================================
 * INTERNALS -- nothing below is API.  Names: memo_i_*, MEMO_I_*.
 * ==========================================================================
 *
 * STATE WORD (state_, 32 bits; frozen: it is ABI, see docs/DESIGN.md)
 *
 *   bits 0-1  phase:  EMPTY 0   no value, nothing running
 *                     BUSY  1   one thread (the owner) constructs or destroys
 *                     READY 2   slot_ holds the value
 *                     FAILED 3  no value; the last attempt failed (fail_)
 *   bit  2    WAITERS: at least one thread sleeps (or is about to sleep) on
 *                     the state word; the owner wakes them when BUSY ends
 *   bits 3-31 generation: +1 each time BUSY ends (attempt over, value
 *                     destroyed, constructor cancelled)
 *
 *   EMPTY/FAILED --(caller CAS, becomes owner)--> BUSY
 *   BUSY --(ctor ok: slot_=v, then)-------------> READY   gen+1, wake
 *   BUSY --(ctor error: fail_=(gen+1,err))------> FAILED  gen+1, wake
 *   BUSY --(ctor cancelled/exited; reset done)--> EMPTY   gen+1, wake
 *   READY --(reset/invalidate CAS, owner)-------> BUSY (slot_=NULL, dtor runs)
 *   FAILED --(reset)----------------------------> EMPTY   gen+1
 *   any BUSY state --(waiter CAS)---------------> same | WAITERS
 *
 *   Every write to state_ is a read-modify-write, so every release writer
 *   heads a release sequence that any later acquire read synchronizes with.
 *   The fast path reads only slot_: slot_ != NULL <=> READY (slot_ is set
 *   before BUSY->READY and cleared after READY->BUSY).
 */

#define MEMO_I_EMPTY 0u
#define MEMO_I_BUSY 1u
#define MEMO_I_READY 2u
#define MEMO_I_FAILED 3u
#define MEMO_I_PHASE 3u
#define MEMO_I_WAITERS 4u
#define MEMO_I_GEN_ONE 8u
#define MEMO_I_GEN(s) ((s) >> 3)
/* The next generation's state word with the given phase, WAITERS clear. */
#define MEMO_I_NEXT(s, phase) ((((s) & ~7u) + MEMO_I_GEN_ONE) | (phase))

#ifndef MEMO_NOW_NS
#define MEMO_NOW_NS() memo_i_now_ns_()
#endif

static inline uint64_t memo_i_now_ns_(void)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The real clock for get_timed deadlines; never overridden by MEMO_NOW_NS. */
static inline uint64_t memo_i_real_ns_(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t memo_i_self_(void)
{
    /* pthread_t is an integer (glibc) or a pointer (musl, BSD). */
    return (uint64_t)(uintptr_t)pthread_self();
}

/* --- sleeping and waking -------------------------------------------------- */

#ifndef MEMO_NO_FUTEX
#ifndef __cplusplus
/* Under a strict -std=c11 <unistd.h> does not declare syscall(); this is a
 * compatible redeclaration of glibc's and musl's prototype. */
long syscall(long number, ...);
#endif

/* Sleeps while *word == expect, at most deadline (0 = forever, else the
 * memo_i_real_ns_ time).  Returns ETIMEDOUT once the deadline has passed,
 * else 0 (woken, value changed, or spurious: the caller re-checks). */
static inline int memo_i_sleep_(_Atomic(uint32_t) *word, uint32_t expect, uint64_t deadline)
{
    struct timespec rel, *relp = NULL;
    if (deadline) {
        uint64_t now = memo_i_real_ns_();
        if (now >= deadline)
            return ETIMEDOUT;
        uint64_t left = deadline - now;
        rel.tv_sec = (time_t)(left / 1000000000u);
        rel.tv_nsec = (long)(left % 1000000000u);
        relp = &rel;
    }
    /* The kernel compares *word with expect and sleeps atomically with
     * respect to memo_i_wake_, so a wake after our last read is never lost. */
#ifdef SYS_futex_time64
    /* A 32-bit target with a 64-bit time_t (-D_TIME_BITS=64, musl): SYS_futex
     * reads a 32-bit timespec there, so sleep with futex_time64 (Linux 5.1+);
     * on older kernels fall back to SYS_futex with a {long, long} timespec. */
    if (sizeof(time_t) > sizeof(long)) {
        if (syscall(SYS_futex_time64, (void *)word, FUTEX_WAIT_PRIVATE, expect, relp,
                    NULL, 0) == 0 || errno != ENOSYS)
            return 0;
        struct { long tv_sec, tv_nsec; } rel32 = {
            relp ? (long)relp->tv_sec : 0, relp ? relp->tv_nsec : 0 };
        syscall(SYS_futex, (void *)word, FUTEX_WAIT_PRIVATE, expect,
                relp ? (void *)&rel32 : NULL, NULL, 0);
        return 0;
    }
#endif
    syscall(SYS_futex, (void *)word, FUTEX_WAIT_PRIVATE, expect, relp, NULL, 0);
    return 0;
}

static inline void memo_i_wake_(_Atomic(uint32_t) *word)
{
    syscall(SYS_futex, (void *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
#else /* MEMO_NO_FUTEX: a parking table of mutex/condvar pairs */

#define MEMO_I_NPARK 64
typedef struct memo_i_park {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} memo_i_park_t;

#define MEMO_I_P1 { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER }
#define MEMO_I_P8 MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1
#if defined(__GNUC__) || defined(__clang__)
/* One table per program: a weak definition in every translation unit, which
 * the linker merges.  Versioned name: a future incompatible table gets v2. */
__attribute__((weak)) memo_i_park_t memo_i_park_v1_[MEMO_I_NPARK] = {
    MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8
};
#else
#error "MEMO_NO_FUTEX needs weak symbols (GCC or Clang)"
#endif

static inline memo_i_park_t *memo_i_park_for_(const void *addr)
{
    uintptr_t h = (uintptr_t)addr;
    h ^= h >> 7;
    h ^= h >> 13;
    return &memo_i_park_v1_[h % MEMO_I_NPARK];
}

static inline void memo_i_unlock_(void *mu) { pthread_mutex_unlock((pthread_mutex_t *)mu); }

static inline int memo_i_sleep_(_Atomic(uint32_t) *word, uint32_t expect, uint64_t deadline)
{
    memo_i_park_t *p = memo_i_park_for_(word);
    volatile int rc = 0; /* volatile: set between the setjmp-based
                            pthread_cleanup_push and its pop */
    struct timespec abs;
    if (deadline) {
        abs.tv_sec = (time_t)(deadline / 1000000000u);
        abs.tv_nsec = (long)(deadline % 1000000000u);
    }
    pthread_mutex_lock(&p->mu);
    pthread_cleanup_push(memo_i_unlock_, &p->mu);
    /* relaxed: the mutex orders this read after any waker's state change
     * (the waker changes state_ before it locks mu to broadcast). */
    if (atomic_load_explicit(word, memory_order_relaxed) == expect) {
        if (deadline)
            rc = pthread_cond_timedwait(&p->cv, &p->mu, &abs);
        else
            rc = pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_cleanup_pop(1);
    return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

static inline void memo_i_wake_(_Atomic(uint32_t) *word)
{
    memo_i_park_t *p = memo_i_park_for_(word);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
#endif

/* Ends a BUSY period: installs `next` (a MEMO_I_NEXT word, WAITERS clear) and
 * wakes the sleepers if the old word said there were any. */
static inline void memo_i_end_busy_(memo_t *m, uint32_t next)
{
    atomic_store_explicit(&m->owner_, 0, memory_order_relaxed); /* only read by
        the owner's own thread for EDEADLK; see memo_i_get_slow_ */
    /* release: publishes slot_, fail_ and the stats written by the owner to
     * every thread that acquires state_ afterwards (waiters, next owner). */
    uint32_t old = atomic_exchange_explicit(&m->state_, next, memory_order_release);
    if (old & MEMO_I_WAITERS)
        memo_i_wake_(&m->state_);
}

/* Sleeps while the state word is `s` (a BUSY word), setting WAITERS first.
 * Returns ETIMEDOUT if the deadline passed, else 0 once the word changed. */
static inline int memo_i_wait_(memo_t *m, uint32_t s, uint64_t deadline)
{
    const uint32_t orig = s;
    for (;;) {
        if (!(s & MEMO_I_WAITERS)) {
            /* acquire (both ways): setting the bit publishes nothing, but on
             * failure the caller acts on the new word we return on (READY:
             * the value; FAILED: fail_), so that read must acquire; C11 does
             * not allow a failure order stronger than the success order. */
            if (!atomic_compare_exchange_weak_explicit(&m->state_, &s, s | MEMO_I_WAITERS,
                    memory_order_acquire, memory_order_acquire)) {
                if ((s & ~MEMO_I_WAITERS) != (orig & ~MEMO_I_WAITERS))
                    return 0; /* that BUSY period is over */
                continue;
            }
            s |= MEMO_I_WAITERS;
        }
        if (memo_i_sleep_(&m->state_, s, deadline) == ETIMEDOUT)
            return ETIMEDOUT;
        /* acquire: pairs with the release exchange in memo_i_end_busy_. */
        uint32_t now = atomic_load_explicit(&m->state_, memory_order_acquire);
        if ((now & ~MEMO_I_WAITERS) != (orig & ~MEMO_I_WAITERS))
            return 0;
        s = now;
    }
}

/* The cleanup handler: the owner's thread was cancelled or exited inside the
 * constructor.  The resource did not fail: back to EMPTY, no error recorded,
 * waiters woken so that one of them takes the construction over. */
typedef struct memo_i_attempt {
    memo_t *m;
    uint32_t busy;   /* the BUSY word we installed (without WAITERS) */
} memo_i_attempt_t;

static inline void memo_i_abandon_(void *p)
{
    memo_i_attempt_t *a = (memo_i_attempt_t *)p;
    memo_i_end_busy_(a->m, MEMO_I_NEXT(a->busy, MEMO_I_EMPTY));
}

static inline void memo_i_count_(_Atomic(uint32_t) *c)
{
    /* relaxed: statistics only, no ordering needed. */
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* 1 if the calling thread owns the cell right now: a call from the cell's own
 * constructor or destructor.  relaxed: a thread always reads back its own
 * latest write (coherence), and the owner clears owner_ before BUSY ends, so
 * seeing our own id means we are the owner now; another thread's stale id
 * never equals ours. */
static inline int memo_i_owned_by_me_(memo_t *m)
{
    return atomic_load_explicit(&m->owner_, memory_order_relaxed) == memo_i_self_();
}

/* Tries to take the cell from the non-BUSY word `s` into BUSY (same
 * generation, WAITERS clear).  On success the caller is the owner, *busy is
 * the BUSY word, and 1 is returned; 0 if the word has changed. */
static inline int memo_i_claim_(memo_t *m, uint32_t s, uint32_t *busy)
{
    *busy = (s & ~(MEMO_I_PHASE | MEMO_I_WAITERS)) | MEMO_I_BUSY;
    /* acquire: we take over after the previous owner, whose writes (a
     * destructor's effects, fail_/retry_at_, the value's construction)
     * happen-before what we do next. */
    if (!atomic_compare_exchange_strong_explicit(&m->state_, &s, *busy,
            memory_order_acquire, memory_order_relaxed))
        return 0;
    /* relaxed: read back only by this thread (memo_i_owned_by_me_). */
    atomic_store_explicit(&m->owner_, memo_i_self_(), memory_order_relaxed);
    return 1;
}

/* The calling thread owns the cell (state BUSY word `busy`): run the
 * constructor and publish its outcome. */
static MEMO_I_NOINLINE memo_i_res_t memo_i_construct_(memo_t *m, uint32_t busy)
{
    memo_i_res_t r;
    memo_i_attempt_t a;
    void *v = NULL;
    int err;
    a.m = m;
    a.busy = busy;
    memo_i_count_(&m->attempts_);
    uint64_t t0 = MEMO_NOW_NS();

    pthread_cleanup_push(memo_i_abandon_, &a);
    err = m->ctor(m->arg, &v);
    pthread_cleanup_pop(0);

    if (err == 0 && v == NULL)
        err = MEMO_ENOVALUE;
    uint64_t t1 = MEMO_NOW_NS();
    if (err == 0) {
        /* relaxed: stats, published by the release in memo_i_end_busy_. */
        atomic_store_explicit(&m->last_ns_, t1 - t0, memory_order_relaxed);
        atomic_store_explicit(&m->nfail_row_, 0, memory_order_relaxed);
        memo_i_count_(&m->successes_);
        /* release: pairs with the acquire loads of slot_ on the fast path;
         * the value's contents happen-before any use of v by a reader. */
        atomic_store_explicit(&m->slot_, v, memory_order_release);
        memo_i_end_busy_(m, MEMO_I_NEXT(busy, MEMO_I_READY));
        r.v = v;
        r.err = 0;
        return r;
    }
    /* relaxed (all): published by the release in memo_i_end_busy_. */
    uint32_t row = atomic_fetch_add_explicit(&m->nfail_row_, 1, memory_order_relaxed) + 1;
    if (m->retry_min_ms) {
        uint64_t win = m->retry_min_ms;
        uint64_t max = m->retry_max_ms > m->retry_min_ms ? m->retry_max_ms : m->retry_min_ms;
        for (uint32_t i = 1; i < row && win < max; i++)
            win *= 2;
        if (win > max)
            win = max;
        atomic_store_explicit(&m->retry_at_, t1 + win * 1000000u, memory_order_relaxed);
    }
    uint32_t next = MEMO_I_NEXT(busy, MEMO_I_FAILED);
    atomic_store_explicit(&m->fail_,
                          ((uint64_t)MEMO_I_GEN(next) << 32) | (uint32_t)err,
                          memory_order_relaxed);
    memo_i_count_(&m->failures_);
    memo_i_end_busy_(m, next);
    r.v = NULL;
    r.err = err;
    return r;
}

/* The error of the attempt that ended with generation `gen`, if it failed;
 * 0 if it did not fail (succeeded, was cancelled, or a later failure has
 * since overwritten the record -- the caller then simply tries again). */
static inline int memo_i_failure_of_(memo_t *m, uint32_t gen)
{
    /* relaxed: the caller acquired state_ after the release that followed
     * the store of fail_ (see memo_i_construct_). */
    uint64_t f = atomic_load_explicit(&m->fail_, memory_order_relaxed);
    if ((uint32_t)(f >> 32) == (gen & 0x1fffffffu))
        return (int)(uint32_t)f;
    return 0;
}

#define MEMO_I_RETURN_ERR_(e) do { r.v = NULL; r.err = (e); return r; } while (0)
static MEMO_I_NOINLINE memo_i_res_t memo_i_get_slow_(memo_t *m, long timeout_ms)
{
    memo_i_res_t r;
    if (!m || !m->ctor)
        MEMO_I_RETURN_ERR_(EINVAL);
    uint64_t deadline = 0;
    int counted_wait = 0;
    for (;;) {
        /* acquire: pairs with the release in memo_i_end_busy_ (READY: the
         * value; FAILED: fail_ and retry_at_). */
        uint32_t s = atomic_load_explicit(&m->state_, memory_order_acquire);
        uint32_t phase = s & MEMO_I_PHASE;
        if (phase == MEMO_I_READY) {
            /* acquire: pairs with the release store of slot_. */
            void *v = atomic_load_explicit(&m->slot_, memory_order_acquire);
            if (v) {
                r.v = v;
                r.err = 0;
                return r;
            }
            continue; /* a reset began after our load of state_ */
        }
        if (phase == MEMO_I_FAILED && m->retry_min_ms) {
            /* relaxed: ordered by the acquire load of state_ above. */
            uint64_t until = atomic_load_explicit(&m->retry_at_, memory_order_relaxed);
            if (MEMO_NOW_NS() < until) {
                int e = memo_i_failure_of_(m, MEMO_I_GEN(s));
                if (e)
                    MEMO_I_RETURN_ERR_(e);
            }
        }
        if (phase != MEMO_I_BUSY) {
            uint32_t busy;
            if (memo_i_claim_(m, s, &busy))
                return memo_i_construct_(m, busy);
            continue;
        }
        /* BUSY: a recursive call if we are the owner. */
        if (memo_i_owned_by_me_(m))
            MEMO_I_RETURN_ERR_(EDEADLK);
        if (timeout_ms == 0)
            MEMO_I_RETURN_ERR_(ETIMEDOUT);
        if (timeout_ms > 0 && !deadline)
            deadline = memo_i_real_ns_() + (uint64_t)timeout_ms * 1000000u;
        if (!counted_wait) {
            counted_wait = 1;
            memo_i_count_(&m->waits_);
        }
        if (memo_i_wait_(m, s, deadline) == ETIMEDOUT)
            MEMO_I_RETURN_ERR_(ETIMEDOUT);
        /* The attempt we waited on (generation g) is over.  If it failed, its
         * error is ours too; otherwise look again (READY: the value; EMPTY
         * after a cancelled constructor: take the construction over). */
        int e = memo_i_failure_of_(m, MEMO_I_GEN(s) + 1);
        if (e)
            MEMO_I_RETURN_ERR_(e);
    }
}
#undef MEMO_I_RETURN_ERR_

/* memo_get's and memo_get_timed's way into the slow path: out is written
 * only here, after the call, so it is never passed to a function. */
static inline int memo_i_get_out_(memo_t *m, void **out, long timeout_ms)
{
    if (!out)
        return EINVAL;
    memo_i_res_t r = memo_i_get_slow_(m, timeout_ms);
    if (r.err == 0)
        *out = r.v;
    return r.err;
}

/* --- leases ----------------------------------------------------------------
 *
 * leases_ = (epoch << 32) | count.  The epoch names the cell's current value
 * (it changes only when a value is detached, by the BUSY owner); count is the
 * number of leases taken on it.  A value detached while leased goes to the
 * retired_ list (guarded by rlock_) with the number of its leases; the release
 * that brings that number to zero destroys it.  See docs/DESIGN.md, "Leases".
 */
#define MEMO_I_F_INPLACE 1u               /* flags_: the value lives in static storage */
#define MEMO_I_LEASE_MAGIC 0x6c656173u    /* "leas" */
#define MEMO_I_BIAS ((int64_t)1 << 40)    /* > any 32-bit count of releases */

typedef struct memo_i_retired {
    struct memo_i_retired *next;
    void *value;
    int64_t count;        /* leases not yet released (+ MEMO_I_BIAS until the
                             detacher has added its count); guarded by rlock_ */
    uint32_t epoch;
} memo_i_retired_t;

static inline void memo_i_rlock_(memo_t *m)
{
    /* acquire: a holder sees everything earlier holders wrote under the lock.
     * The sections are a few pointer operations; waiting yields the CPU. */
    while (atomic_exchange_explicit(&m->rlock_, 1, memory_order_acquire))
        while (atomic_load_explicit(&m->rlock_, memory_order_relaxed))
            sched_yield();
}

static inline void memo_i_runlock_(memo_t *m)
{
    /* release: publishes the section's writes to the next holder. */
    atomic_store_explicit(&m->rlock_, 0, memory_order_release);
}

/* The link (list head or a record's next) that points at the retired record
 * of epoch e, or at the terminating NULL if there is none; rlock_ held.
 * Epochs are unique, so this finds a record both for its releases and for
 * its detacher's unlink. */
static inline memo_i_retired_t **memo_i_link_of_(memo_t *m, uint32_t e)
{
    memo_i_retired_t **pp = (memo_i_retired_t **)&m->retired_;
    while (*pp && (*pp)->epoch != e)
        pp = &(*pp)->next;
    return pp;
}

/* The owner (BUSY) has just taken value v out of slot_: moves the cell to the
 * next epoch and hands v's leases, if any, to rec.  Returns 1 if v has no
 * lease (the caller destroys it now; rec is freed), 0 if the last release of
 * a lease on v will destroy it (rec stays on the retired list). */
static inline int memo_i_detach_(memo_t *m, void *v, memo_i_retired_t *rec)
{
    /* relaxed: only the BUSY owner changes the epoch, and we are the owner
     * (our claim acquired the previous owner's release). */
    uint32_t e = (uint32_t)(atomic_load_explicit(&m->leases_, memory_order_relaxed) >> 32);
    rec->value = v;
    rec->epoch = e;
    rec->count = MEMO_I_BIAS;
    /* The record is listed BEFORE the epoch moves on: a release that sees
     * the new epoch must find it (see memo_i_unpin_). */
    memo_i_rlock_(m);
    rec->next = (memo_i_retired_t *)m->retired_;
    m->retired_ = rec;
    memo_i_runlock_(m);
    /* acq_rel.  release: slot_ = NULL and the listed record happen-before
     * any acquire read of the new epoch (memo_acquire, memo_i_unpin_).
     * acquire: every lease given back before this point in leases_'s
     * modification order (release CAS) happens-before the destructor.  An
     * acquire whose add precedes this exchange is counted in `old`; one whose
     * add follows it sees the new epoch and undoes its add. */
    uint64_t old = atomic_exchange_explicit(&m->leases_, (uint64_t)(e + 1u) << 32,
                                            memory_order_acq_rel);
    memo_i_rlock_(m);
    rec->count += (int64_t)(uint32_t)old - MEMO_I_BIAS;
    int64_t left = rec->count;
    if (left == 0)
        *memo_i_link_of_(m, e) = rec->next;
    memo_i_runlock_(m);
    if (left != 0)
        return 0;
    free(rec);
    return 1;
}

/* Gives back one lease taken in epoch e.  0, or EINVAL if no lease of that
 * epoch is outstanding (a lease released twice through a copy). */
static MEMO_I_NOINLINE int memo_i_unpin_retired_(memo_t *m, uint32_t e)
{
    memo_i_rlock_(m);
    memo_i_retired_t **pp = memo_i_link_of_(m, e), *r = *pp;
    if (!r) {
        memo_i_runlock_(m);
        return EINVAL;
    }
    int64_t left = --r->count;
    if (left == 0)
        *pp = r->next;
    memo_i_runlock_(m);
    if (left == 0) {
        /* The last lease on a detached value: destroy it here, outside the
         * lock and outside any BUSY period (a new value may be in use). */
        if (m->dtor)
            m->dtor(m->arg, r->value);
        free(r);
    }
    return 0;
}

static inline int memo_i_unpin_(memo_t *m, uint32_t e)
{
    /* acquire: if we see a later epoch, its detacher's record is listed
     * (release in memo_i_detach_'s exchange). */
    uint64_t cur = atomic_load_explicit(&m->leases_, memory_order_acquire);
    while ((uint32_t)(cur >> 32) == e) {
        if ((uint32_t)cur == 0)
            return EINVAL; /* no lease outstanding: released twice */
        /* release: our uses of the value happen-before its destruction (the
         * detacher's acq_rel exchange reads this or a later value).
         * acquire on failure: as the load above. */
        if (atomic_compare_exchange_weak_explicit(&m->leases_, &cur, cur - 1,
                memory_order_release, memory_order_acquire))
            return 0;
    }
    return memo_i_unpin_retired_(m, e);
}

/* Takes a READY cell into BUSY (the caller becomes owner), clears the slot,
 * detaches the value (memo_i_detach_, consuming rec) and runs the destructor
 * unless a lease defers it; then installs EMPTY.  `s` is the READY word seen.
 * EAGAIN (rec untouched) if the word has changed. */
static inline int memo_i_destroy_(memo_t *m, uint32_t s, memo_i_retired_t *rec)
{
    uint32_t busy;
    if (!memo_i_claim_(m, s, &busy))
        return EAGAIN;
    /* relaxed: the value is still ours; readers that load NULL take the slow
     * path and see BUSY (state_ changed before this store). */
    void *v = atomic_exchange_explicit(&m->slot_, NULL, memory_order_relaxed);
    if (memo_i_detach_(m, v, rec)) {
        memo_i_attempt_t a;
        a.m = m;
        a.busy = busy;
        pthread_cleanup_push(memo_i_abandon_, &a);
        if (m->dtor)
            m->dtor(m->arg, v);
        pthread_cleanup_pop(0);
    }
    memo_i_end_busy_(m, MEMO_I_NEXT(busy, MEMO_I_EMPTY));
    return 0;
}

static inline int memo_reset(memo_t *m)
{
    if (!m)
        return EINVAL;
    memo_i_retired_t *rec = NULL; /* for a value we detach; allocated first
                                     so that no failure can follow the detach */
    int rc;
    for (;;) {
        /* acquire: as in memo_i_get_slow_. */
        uint32_t s = atomic_load_explicit(&m->state_, memory_order_acquire);
        switch (s & MEMO_I_PHASE) {
        case MEMO_I_EMPTY:
            rc = 0;
            goto out;
        case MEMO_I_READY:
            if (!rec && !(rec = (memo_i_retired_t *)malloc(sizeof *rec)))
                return ENOMEM;
            if (memo_i_destroy_(m, s, rec) == 0)
                return 0; /* rec consumed */
            break;
        case MEMO_I_FAILED: {
            /* acq_rel: forgetting the failure is a BUSY period of zero length;
             * it must become visible like any other end of BUSY. */
            uint32_t next = MEMO_I_NEXT(s, MEMO_I_EMPTY);
            if (atomic_compare_exchange_strong_explicit(&m->state_, &s, next,
                    memory_order_acq_rel, memory_order_relaxed)) {
                atomic_store_explicit(&m->nfail_row_, 0, memory_order_relaxed);
                rc = 0;
                goto out;
            }
            break;
        }
        default: /* BUSY */
            if (memo_i_owned_by_me_(m)) {
                rc = EDEADLK;
                goto out;
            }
            memo_i_wait_(m, s, 0);
            break;
        }
    }
out:
    free(rec);
    return rc;
}

static inline int memo_invalidate(memo_t *m, void *seen)
{
    if (!m || !seen)
        return EINVAL;
    memo_i_retired_t *rec = NULL;
    int rc;
    /* acquire: as in memo_i_get_slow_. */
    uint32_t s = atomic_load_explicit(&m->state_, memory_order_acquire);
    if ((s & MEMO_I_PHASE) == MEMO_I_BUSY && memo_i_owned_by_me_(m))
        return EDEADLK;
    for (;;) {
        if ((s & MEMO_I_PHASE) != MEMO_I_READY) {
            rc = EALREADY;
            break;
        }
        /* relaxed: the slot of a READY word cannot change without the
         * generation changing, which memo_i_destroy_'s CAS checks. */
        if (atomic_load_explicit(&m->slot_, memory_order_relaxed) != seen) {
            rc = EALREADY;
            break;
        }
        if (!rec && !(rec = (memo_i_retired_t *)malloc(sizeof *rec)))
            return ENOMEM;
        if (memo_i_destroy_(m, s, rec) == 0)
            return 0; /* rec consumed */
        s = atomic_load_explicit(&m->state_, memory_order_acquire);
    }
    free(rec);
    return rc;
}

static inline int memo_acquire(memo_t *m, memo_lease_t *lease)
{
    if (!lease)
        return EINVAL;
    lease->value = NULL;
    lease->m_ = NULL;
    lease->epoch_ = 0;
    lease->magic_ = 0;
    if (!m)
        return EINVAL;
    if (m->flags_ & MEMO_I_F_INPLACE)
        return ENOTSUP;
    for (;;) {
        /* acquire: if this reads a detacher's exchange, that detacher's
         * slot_ = NULL happens-before the load of slot_ below, so v cannot
         * be a value detached before epoch e0 began. */
        uint64_t e0 = atomic_load_explicit(&m->leases_, memory_order_acquire);
        /* acquire: as in memo_get. */
        void *v = atomic_load_explicit(&m->slot_, memory_order_acquire);
        if (!v) {
            memo_i_res_t r = memo_i_get_slow_(m, -1);
            if (r.err)
                return r.err;
            continue; /* the value is built; pin it as above */
        }
        /* relaxed: atomicity is all we need.  If the add still reads epoch
         * e0, v is e0's value (it was loaded after e0 was read, and a value
         * of a later epoch is installed only after e0's detach, which would
         * then precede this add) and the detach of e0 comes after this add
         * in leases_'s modification order, so it counts our lease.  The
         * value's contents are ordered by the acquire load of slot_. */
        uint64_t old = atomic_fetch_add_explicit(&m->leases_, 1, memory_order_relaxed);
        if ((uint32_t)(old >> 32) == (uint32_t)(e0 >> 32)) {
            lease->value = v;
            lease->m_ = m;
            lease->epoch_ = (uint32_t)(old >> 32);
            lease->magic_ = MEMO_I_LEASE_MAGIC;
            return 0;
        }
        /* v was detached meanwhile and our add counted on a later epoch:
         * take it back (this may destroy that epoch's value) and retry. */
        memo_i_unpin_(m, (uint32_t)(old >> 32));
    }
}

static inline int memo_release(memo_lease_t *lease)
{
    if (!lease || lease->magic_ != MEMO_I_LEASE_MAGIC || !lease->m_)
        return EINVAL;
    memo_t *m = lease->m_;
    uint32_t e = lease->epoch_;
    lease->value = NULL;
    lease->m_ = NULL;
    lease->magic_ = 0;
    return memo_i_unpin_(m, e);
}

static inline memo_stats_t memo_stats(const memo_t *m)
{
    memo_stats_t st;
    memset(&st, 0, sizeof st);
    if (!m)
        return st;
    memo_t *w = (memo_t *)m; /* atomic loads take non-const pointers in C11 */
    /* relaxed (all): statistics, no ordering promised. */
    st.attempts = atomic_load_explicit(&w->attempts_, memory_order_relaxed);
    st.successes = atomic_load_explicit(&w->successes_, memory_order_relaxed);
    st.failures = atomic_load_explicit(&w->failures_, memory_order_relaxed);
    st.waits = atomic_load_explicit(&w->waits_, memory_order_relaxed);
    st.failures_in_row = atomic_load_explicit(&w->nfail_row_, memory_order_relaxed);
    uint64_t f = atomic_load_explicit(&w->fail_, memory_order_relaxed);
    st.last_error = (int)(uint32_t)f;
    st.last_ctor_ns = atomic_load_explicit(&w->last_ns_, memory_order_relaxed);
    return st;
}

/* --- typed generators ------------------------------------------------------ */

/* 1 if T is a pointer type and so lives in the slot itself (GCC, Clang);
 * 0 otherwise or on other compilers (T then lives beside the cell). */
#if defined(__GNUC__) || defined(__clang__)
#define MEMO_I_IS_PTR(T) (__builtin_classify_type(*(T *)0) == 5 && sizeof(T) == sizeof(void *))
#else
#define MEMO_I_IS_PTR(T) 0
#endif
/* Bytes copied between a pointer T and the slot (the min keeps the dead
 * branch of a non-pointer T in bounds). */
#define MEMO_I_PSIZE(T) (sizeof(T) < sizeof(void *) ? sizeof(T) : sizeof(void *))

#define MEMO_I_MEMOIZE_(storage, name, T, ctor, dtor, ...) \
    static T name##_memo_val_; \
    static MEMO_I_UNUSED int name##_memo_ctor_(void *arg, void **out) \
    { \
        int (*typed_)(T *) = ctor; /* a wrong type fails to compile here */ \
        T v_; \
        (void)arg; \
        memset(&v_, 0, sizeof v_); \
        int err_ = typed_(&v_); \
        if (err_) \
            return err_; \
        if (MEMO_I_IS_PTR(T)) { \
            memcpy(out, &v_, MEMO_I_PSIZE(T)); \
        } else { \
            name##_memo_val_ = v_; \
            *out = (void *)&name##_memo_val_; \
        } \
        return 0; \
    } \
    static MEMO_I_UNUSED void name##_memo_dtor_(void *arg, void *p) \
    { \
        void (*typed_)(T) = dtor; /* a wrong type fails to compile here */ \
        T v_; \
        (void)arg; \
        if (MEMO_I_IS_PTR(T)) \
            memcpy(&v_, &p, MEMO_I_PSIZE(T)); \
        else \
            v_ = *(T *)p; \
        if (typed_) \
            typed_(v_); \
    } \
    storage memo_t name##_memo = MEMO_I_INIT_F_(MEMO_I_IS_PTR(T) ? 0u : MEMO_I_F_INPLACE, \
        name##_memo_ctor_, name##_memo_dtor_, NULL, __VA_ARGS__); \
    storage MEMO_I_UNUSED int name(T *out) \
    { \
        /* acquire: as in memo_get. */ \
        void *p_ = atomic_load_explicit(&name##_memo.slot_, memory_order_acquire); \
        if (MEMO_I_UNLIKELY(p_ == NULL)) { \
            memo_i_res_t r_ = memo_i_get_slow_(&name##_memo, -1); \
            if (r_.err) \
                return r_.err; \
            p_ = r_.v; \
        } \
        if (MEMO_I_IS_PTR(T)) \
            memcpy(out, &p_, MEMO_I_PSIZE(T)); \
        else \
            *out = *(T *)p_; \
        return 0; \
    } \
    typedef int name##_memo_semicolon_

#define MEMO_I_MEMOIZE_VALUE_(storage, name, T, fn, ...) \
    static T name##_memo_val_; \
    static MEMO_I_UNUSED int name##_memo_ctor_(void *arg, void **out) \
    { \
        T (*typed_)(void) = fn; /* a wrong type fails to compile here */ \
        (void)arg; \
        name##_memo_val_ = typed_(); \
        *out = (void *)&name##_memo_val_; \
        return 0; \
    } \
    storage memo_t name##_memo = MEMO_I_INIT_F_(MEMO_I_F_INPLACE, name##_memo_ctor_, NULL, NULL, \
        __VA_ARGS__); \
    storage MEMO_I_UNUSED T name(void) \
    { \
        /* acquire: as in memo_get. */ \
        void *p_ = atomic_load_explicit(&name##_memo.slot_, memory_order_acquire); \
        if (MEMO_I_UNLIKELY(p_ == NULL)) \
            p_ = memo_i_value_slow_(&name##_memo, #name); \
        return *(T *)p_; \
    } \
    typedef int name##_memo_semicolon_

static MEMO_I_NOINLINE void *memo_i_value_slow_(memo_t *m, const char *name)
{
    memo_i_res_t r = memo_i_get_slow_(m, -1);
    int err = r.err;
    if (err) {
        fprintf(stderr, "memo: MEMOIZE_VALUE %s: error %d (%s)\n", name, err,
                err == EDEADLK ? "called from its own constructor" : "unexpected");
        abort();
    }
    return r.v;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MEMO_H */

/*
 * MIT License
 *
 * Copyright (c) 2026 the memo authors
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 * SOFTWARE.
 */
