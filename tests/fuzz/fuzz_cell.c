/* fuzz_cell.c -- stateful fuzzing of one memo cell (libFuzzer harness).
 *
 * LLVMFuzzerTestOneInput decodes its input into a schedule: cell options, then
 * up to FZ_MAX_STEPS steps, each one operation by one of 2-4 worker threads
 * (get, get_timed, peek, reset, invalidate, bad arguments, lease acquire and
 * release, each worker holding up to FZ_SLOTS leases), or a dispatcher
 * action (advance the fake clock, open the gate of a blocked constructor), and
 * optionally the behaviour of the NEXT constructor call (succeed, fail with a
 * code, succeed without a value, pthread_exit, block in a gate, call its own
 * cell).  A dispatcher (the calling thread) hands each step to its worker and
 * waits until the operation has returned, or the worker is known to be blocked
 * in the library: it entered a gated constructor (the harness's own gate), or
 * it is a counted waiter of that constructor (memo_stats().waits; memo_acquire
 * waits like memo_get), or it is a memo_reset issued while the gate is closed
 * (it must wait); memo_release never waits for the cell.  No sleeps: every
 * wait is a condition-variable handshake (the waiter handshake polls
 * memo_stats, yielding, then in 100 us condvar ticks) with a 5 s hang deadline
 * that reports "hang: ..." as a violation.  Bursts are the exception to
 * one-step-at-a-time: a run of steps with the burst bit goes to distinct
 * workers that meet at a spin barrier and call memo at once; inside a burst,
 * and for calls that construct after an OPEN, the gate bit is ignored, so
 * every operation in flight returns.  The armed behaviour is consumed by the
 * first constructor call; later ones succeed.
 *
 * Every result is checked against a reference model (abort() with a message and
 * a dump of the schedule on any violation, so libFuzzer reports a crash):
 *   - at most one constructor or in-cell destructor (one run by reset or
 *     invalidate) runs at a time; a deferred destructor (run by memo_release,
 *     or by a memo_acquire giving back a pin it took on a later value while
 *     racing a reset) may overlap them;
 *   - a constructor starts only when every value made before is destroyed or
 *     leased (exactly once per generation), and a value is destroyed exactly
 *     once, never while the harness holds a lease on it;
 *   - leases: memo_acquire behaves as memo_get (result, constructor runs,
 *     waits, errors; lease.value is the value get would return, or NULL after
 *     an error) and pins the value; a reset or invalidate of a leased value
 *     detaches it without a destructor call (the cell is EMPTY); the release
 *     that drops its last lease destroys it, in the releasing worker's thread;
 *     a deferred destructor never destroys the cell's current value; releasing
 *     an empty slot, a released copy whose value has no other lease, or a
 *     misuse (NULL, zeroed, MEMO_LEASE_INIT, acquire(NULL...), acquire on a
 *     cell without a constructor) returns EINVAL;
 *   - sequential steps (no constructor blocked): the exact result, value,
 *     whether the call ran the constructor and/or the destructor (and which
 *     value), the backoff window (fake clock), counters;
 *   - while a constructor is blocked: get_timed -> ETIMEDOUT, peek -> EAGAIN,
 *     invalidate -> EALREADY, bad arguments -> EINVAL, gets and resets do not
 *     return; after the gate opens: the owner gets its constructor's outcome,
 *     waiters of a failed attempt get exactly its error, waiters of a
 *     successful one its value (if no reset raced); an abandoned (exited or
 *     cancelled) attempt is taken over;
 *   - bursts (steps released together, real races) and the aftermath of a gate
 *     are checked by rules that hold in every interleaving: a call that ran the
 *     constructor returns exactly its outcome; a returned value was live at
 *     some point of the call; a returned error was produced by an attempt the
 *     call could have seen; invalidate returned 0 iff it destroyed `seen`;
 *   - at every quiescent point: memo_stats() attempts / successes / failures /
 *     failures_in_row / last_error / last_ctor_ns / waits equal the harness's
 *     own counts, memo_peek agrees with the model, constructions ==
 *     destructions + live, and every live value is the cell's current one or
 *     has a lease held on it (a detached value with no lease left must have
 *     been destroyed); at the end of the input every held lease is released
 *     (each release predicted exactly), memo_reset destroys the last value
 *     and constructions == destructions.
 *
 * The extended op set (header byte 1 bit 7; older inputs keep their meaning)
 * turns the duplicate op slots into five more operations:
 *   - get_timed(huge) (slot 1): timeouts no run outlives (LONG_MAX, 2^53,
 *     2^53+1, 2^62 ms, and below the 2^53 bound 2^53-1, a day, 2^64/10^6
 *     rounded up (its nanoseconds overflow 64 bits), 2^45): exactly get --
 *     waits for a blocked constructor, never ETIMEDOUT, in any interleaving;
 *   - in-place (slot 2): a typed get or memo_reset, repeated, of one of two
 *     more cells whose values live in place: MEMOIZE over a 256-byte struct
 *     (with a destructor) and MEMOIZE_VALUE over a 128-byte one, every word
 *     the value's serial.  Alone: exact (a get constructs iff the cell is
 *     empty, a reset destroys the held serial).  In bursts, resets racing
 *     gets: every copy whole (one serial in every word) and a serial the call
 *     may see (see fz_ip_get); one constructor or destructor at a time; at
 *     quiescence memo_peek, the destructor count and the constructor's story
 *     agree.  They never touch the main cell (also run while it is gated);
 *   - invalidate_lease (slot 8): memo_invalidate_lease of one of the
 *     worker's lease slots: exact -- 0 (no destructor: its own lease holds
 *     the value) iff the cell still holds that lease's value, else EALREADY;
 *     never waits (EALREADY while a constructor is blocked); an empty slot or
 *     a misuse (NULL, zeroed, MEMO_LEASE_INIT, not held): EINVAL;
 *   - lease-cycles (slot 10, sequential only): N reset+acquire cycles while
 *     an older lease is held, optionally with the cell's lease epoch jumped
 *     (white-box, at an empty epoch) to just below 2^32 so that the cycles
 *     wrap, optionally detaching by invalidate_lease, optionally probing
 *     EOVERFLOW (white-box count 2^31 - 1: one more lease, then EOVERFLOW);
 *     every held lease keeps an epoch of its own, and the releases, oldest
 *     first, each destroy exactly their value (fz_cycles);
 *   - fork (slot 12, a dispatcher step, at most FZ_MAX_FORKS per input; a
 *     no-op under TSan): the child checks what it must see against the model
 *     as it stood -- a BUSY cell of a parent thread is taken over, nothing
 *     blocks, leases held at the fork are valid -- and _exits with its
 *     verdict; the parent waits (bounded) and goes on unchanged (fz_child).
 *
 * The lifetime ops (header byte 2 bit 7; older inputs never set it) turn op
 * slots 1 and 10 into K_LIFE: operations on two TTL cells (.ttl_ms with
 * MEMO_REFRESH_BLOCK; MEMO_REFRESH_STALE with .max_stale_ms; both with a
 * retry_min_ms backoff) driven by a second fake clock (MEMO_TTL_NOW_NS),
 * steps of both clocks, and memo_shutdown / memo_forget_all over every cell
 * of the harness (the main cell then has a .forget, as the MEMOIZE in-place
 * cell and the TTL cells do).  Sequential, predicted exactly by the model
 * TM (and M for the sweeps): see "lifetimes" below (fz_life_predict).
 *
 * INPUT FORMAT (bytes)
 *   0  workers: 2 + b % 3
 *   1  retry_min_ms: {0, 0, 0, 1, 10, 100, 1000, 50}[b & 7]; bit 7: extended ops
 *   2  retry_max_ms: {0, min/2, min, 2min, 8min, 3min, UINT32_MAX, 100000}[b & 7];
 *      bit 7: the lifetime ops
 *   then steps of 3 bytes: OP ARG CTOR
 *   OP   bits 0-3 kind (fz_kind_of; 14 acquire, 15 release: no-ops before
 *        leases existed, so older inputs keep their meaning), bits 4-5
 *        worker (mod workers; a busy worker's step goes to the next idle
 *        one, which acquires into or releases its own slots), bit 6
 *        burst (a run of >= 2 consecutive worker steps with this bit is
 *        released at once), bit 7 arm: the next constructor call gets CTOR
 *   ARG  kind-specific (invalidate: which `seen`; advance: how far; open:
 *        bit 0 = cancel the owner instead; get_timed short: 1 or 2 ms;
 *        bad arguments: which misuse; acquire: bits 0-1 the worker's lease
 *        slot -- if it is held, the next free one; all FZ_SLOTS held: the
 *        step is a no-op; release: bits 0-1 the slot (empty: EINVAL, the
 *        "released twice" input), bit 2 release instead the copy kept of the
 *        lease this slot released last (EINVAL) -- only outside bursts and
 *        when the model knows no lease of that value is held or being
 *        released (a copy released while other leases of its value are
 *        outstanding would take one of theirs: forbidden, not fuzzed),
 *        otherwise the slot itself; bits 3-4 both set: misuse variant
 *        bits 0-2 instead (EINVAL))
 *   extended ops' ARG: get_timed(huge) bits 0-2 the timeout; in-place bit 0
 *        reset (else get), bit 1 the MEMOIZE_VALUE cell, bits 2-4 repeat 1+4k;
 *        invalidate_lease as release (slot; bits 3-4 both set: misuse bits
 *        0-1); lease-cycles bits 0-2 N {1,2,3,4,6,8,16,32}, bit 3 the epoch
 *        jump to 2^32-1-k, bits 4-5 k {0,1,2,5}, bit 6 the EOVERFLOW probe,
 *        bit 7 detach by invalidate_lease; fork bits 0-2 the child's first
 *        call (get, get_timed(0), get_timed(LONG_MAX), acquire, reset, peek,
 *        invalidate, release a held lease)
 *   lifetime ops' ARG: bits 0-2 {ttl-get, ttl-peek, ttl-acquire, ttl-release,
 *        ttl-reset, ttl-invalidate_lease, ttl-step, sweep}, bit 3 the STALE
 *        TTL cell, bits 4-7 per sub-op (see "lifetimes"); an armed lifetime
 *        step arms its TTL cell's next constructor call instead of the main
 *        cell's.  Header, with the lifetime bit: byte 2 bits 3-4 ttl_ms
 *        {100, 1000, 1, 60000}, bits 5-6 max_stale_ms {none, ttl/2, 3 ttl, 1};
 *        byte 1 bits 3-4 the TTL cells' retry_min_ms {10, 50, 1, 1000}, bits
 *        5-6 retry_max_ms {none, 4 min, min, 100000}
 *   CTOR bits 0-2 outcome {ok, ok, ok, ok, fail, fail, no value, pthread_exit},
 *        bits 3-4 error {ECONNREFUSED, EIO, -7, 4242}, bit 5 gated (block
 *        until an OPEN step), bit 6 probe (the constructor, and its value's
 *        destructor when reset or invalidate runs it, call their own cell:
 *        EDEADLK; a deferred destructor runs outside any BUSY period, where
 *        a get would build a new value, so it only checks that memo_peek
 *        does not return the value being destroyed)
 *   An unarmed constructor call succeeds.  tests/fuzz/run.sh seeds writes the
 *   seed corpus with a small assembler for this format.
 *
 * Build: tests/fuzz/run.sh (libFuzzer: clang -fsanitize=fuzzer,address,
 * undefined; replay without libFuzzer: with tests/fuzz/replay.c).
 */
#define _GNU_SOURCE 1
#include <stdatomic.h>
#include <stdint.h>

/* The fake clock behind memo's backoff windows and construction times.  Only
 * the dispatcher moves it (ADVANCE steps), while no constructor is between its
 * start and end except a gated one, so every reading is predictable. */
#define FZ_CLOCK_BASE 1000000000000ull
static _Atomic uint64_t fz_now_ns = FZ_CLOCK_BASE;
#define MEMO_NOW_NS() atomic_load(&fz_now_ns)
/* The fake clock of TTL cells (expiry, max_stale): moved by the dispatcher
 * only, with the lifetime ops (header byte 2 bit 7) -- by ADVANCE and TTL
 * steps, which move both clocks by the same amount; its base differs from
 * MEMO_NOW_NS's, so that a TTL time compared with a backoff time shows. */
#define FZ_TTL_BASE 7000000000333ull
static _Atomic uint64_t fz_ttl_ns = FZ_TTL_BASE;
#define MEMO_TTL_NOW_NS() atomic_load(&fz_ttl_ns)
#include "memo.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mt_common.h" /* the real clock (mt_now_ns), for the dispatcher's deadlines */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_WORKERS 4
#define FZ_MAX_STEPS 200
#define FZ_HEADER 3
#define FZ_STEP 3
#define FZ_MAX_EVENTS (FZ_MAX_STEPS * 16 + 64)
#define FZ_MAGIC 0x6d656d6f2d66757aull
#define FZ_PAYLOAD_KEY 0x5a5aa5a5c3c33c3cull
#define FZ_HANG_NS (5ull * 1000000000ull)
#define FZ_MAX_REAL_WAITS 4 /* get_timed calls per input that really wait (1-2 ms each) */
#define MS 1000000ull

/* --- the schedule --------------------------------------------------------- */

enum {
    K_GET, K_GET_T0, K_GET_TSHORT, K_PEEK, K_RESET, K_INVALIDATE, K_BADARGS,
    K_ADVANCE, K_OPEN,
    K_ACQUIRE, K_RELEASE, /* op slots 14 and 15 */
    K_NOP,                /* an acquire with every slot of its worker held */
    /* the extended op set (header byte 1, bit 7): op slots 1, 2, 8, 10, 12 */
    K_GET_THUGE, K_INPLACE, K_INVAL_LEASE, K_CYCLES, K_FORK,
    /* the lifetime ops (header byte 2, bit 7): op slots 1 and 10 */
    K_LIFE
};
static const uint8_t fz_kind_of[16] = {
    K_GET, K_GET, K_GET, K_GET_T0, K_GET_TSHORT, K_PEEK, K_RESET, K_INVALIDATE,
    K_INVALIDATE, K_ADVANCE, K_ADVANCE, K_OPEN, K_OPEN, K_BADARGS, K_ACQUIRE, K_RELEASE
};
/* With the extended op set the duplicate slots name the new operations; an
 * input without the header bit keeps its old meaning. */
static const uint8_t fz_kind_of_x[16] = {
    K_GET, K_GET_THUGE, K_INPLACE, K_GET_T0, K_GET_TSHORT, K_PEEK, K_RESET, K_INVALIDATE,
    K_INVAL_LEASE, K_ADVANCE, K_CYCLES, K_OPEN, K_FORK, K_BADARGS, K_ACQUIRE, K_RELEASE
};
#define HDR_XOPS 0x80 /* header byte 1: the extended op set */
#define HDR_LIFE 0x80 /* header byte 2: the lifetime ops (TTL cells, shutdown, forget_all) */
static const char *const fz_kind_name[] = {
    "get", "get_timed(0)", "get_timed(short)", "peek", "reset", "invalidate", "bad-args",
    "advance", "open", "acquire", "release", "acquire(no free slot)",
    "get_timed(huge)", "in-place", "invalidate_lease", "lease-cycles", "fork", "lifetime"
};
#define OP_BURST 0x40
#define OP_ARM 0x80
#define IS_WORKER_KIND(k) ((k) <= K_BADARGS || (k) == K_ACQUIRE || (k) == K_RELEASE || (k) == K_GET_THUGE || \
                           (k) == K_INPLACE || (k) == K_INVAL_LEASE || (k) == K_CYCLES || (k) == K_LIFE)
#define IS_BURST_KIND(k) (IS_WORKER_KIND(k) && (k) != K_CYCLES && (k) != K_LIFE)
#define IS_GETLIKE(k) ((k) == K_GET || (k) == K_GET_T0 || (k) == K_GET_TSHORT || (k) == K_GET_THUGE)
#define IS_WAITER(k) ((k) == K_GET || (k) == K_GET_THUGE || (k) == K_ACQUIRE)
#define IS_CTORLIKE(k) (IS_GETLIKE(k) || (k) == K_ACQUIRE)
#define FZ_SLOTS 4               /* leases a worker can hold */
#define REL_COPY 0x04            /* release ARG: the slot's stale copy */
#define REL_MISUSE 0x18          /* release ARG: both bits: misuse variant */
enum { LM_SLOT, LM_COPY, LM_MISUSE }; /* what a release step releases */
/* lifetime op (K_LIFE) ARG bits 0-2; LF_NOP: an acquire with no free slot;
 * LF_HELPER: the helper thread's probes inside a TTL constructor */
enum { LF_GET, LF_PEEK, LF_ACQ, LF_REL, LF_RESET, LF_ILEASE, LF_STEP, LF_SWEEP, LF_NOP, LF_HELPER };
static const char *const fz_lf_name[] = { "ttl-get", "ttl-peek", "ttl-acquire", "ttl-release", "ttl-reset",
                                          "ttl-invalidate_lease", "ttl-step", "sweep", "ttl-acquire(no slot)",
                                          "helper" };
#define LF_CELL 0x08     /* ARG: the STALE TTL cell (else the BLOCK one) */
#define LF_T0 0x10       /* get: memo_get_timed(0) instead of memo_get */
#define LF_FORGET 0x10   /* sweep: memo_forget_all (else memo_shutdown) */
#define LF_TWICE 0x20    /* sweep: call it twice (the second finds nothing) */
/* cells in a sweep's log */
enum { SW_MAIN, SW_BLK, SW_TTL0, SW_TTL1, SW_VBL };
static const char *const fz_sw_name[] = { "main", "MEMOIZE(struct)", "ttl-BLOCK", "ttl-STALE", "MEMOIZE_VALUE" };

enum { OUT_SUCCESS, OUT_FAIL, OUT_NOVALUE, OUT_EXIT, OUT_CANCEL };
static const char *const fz_out_name[] = { "success", "fail", "no-value", "pthread_exit", "cancelled" };
static const uint8_t fz_outcome_of[8] = {
    OUT_SUCCESS, OUT_SUCCESS, OUT_SUCCESS, OUT_SUCCESS, OUT_FAIL, OUT_FAIL, OUT_NOVALUE, OUT_EXIT
};
/* Injected errors: distinct from every code memo itself returns. */
static const int fz_errs[4] = { ECONNREFUSED, EIO, -7, 4242 };
#define B_GATED 0x20
#define B_PROBE 0x40
#define B_ERR(b) fz_errs[((b) >> 3) & 3]

static const uint32_t fz_min_tab[8] = { 0, 0, 0, 1, 10, 100, 1000, 50 };

/* get_timed(huge): timeouts no test outlives, so it must behave as get (wait,
 * never ETIMEDOUT).  memo documents "over 2^53 ms (e.g. LONG_MAX) waits
 * without limit"; the others are below that bound but far beyond any run. */
#if LONG_MAX > 2147483647L
#define FZ_MS_NS_WRAP 18446744073710L /* the first ms count whose ns overflow 64 bits (584.5 years) */
/* memo_i_deadline_ once multiplied ms by 10^6 before its overflow test, so
 * this timeout (and every ceil(k * 2^64 / 10^6) ms below 2^53) wrapped to a
 * deadline within a millisecond and returned ETIMEDOUT; the input that showed
 * it is in the corpus (57-found-get_timed-ms-ns-wrap). */
static const long fz_huge_tab[8] = {
    LONG_MAX, 1L << 53, (1L << 53) + 1, 1L << 62, (1L << 53) - 1, 86400000L /* a day */, FZ_MS_NS_WRAP, 1L << 45
};
#else
static const long fz_huge_tab[8] = { LONG_MAX, LONG_MAX, LONG_MAX, LONG_MAX, LONG_MAX, 86400000L, LONG_MAX, LONG_MAX };
#endif

/* fork steps: at most this many per input (fork is slow under ASan); the
 * child runs under an alarm of FZ_CHILD_SECS, the parent waits at most
 * FZ_CHILD_WAIT_MS for it.  Not under ThreadSanitizer: its runtime in the
 * child of a multi-threaded fork is fragile (it may hang on locks of threads
 * that vanished, or report the vanished threads' accesses as races), so fork
 * steps are no-ops there; the ASan replays (futex and MEMO_NO_FUTEX) and the
 * fuzzer run them. */
#ifdef MT_TSAN
#define FZ_FORK 0
#endif
#ifndef FZ_FORK
#define FZ_FORK 1
#endif
#define FZ_MAX_FORKS 2
#define FZ_CHILD_SECS 5
#define FZ_CHILD_WAIT_MS 15000
#define FZ_CHILD_FAIL 97

/* lease-cycles: how many reset+acquire cycles, and how far below 2^32 the
 * white-box jump puts the cell's lease epoch */
static const uint8_t fz_cyc_n[8] = { 1, 2, 3, 4, 6, 8, 16, 32 };
static const uint8_t fz_cyc_k[4] = { 0, 1, 2, 5 };
#define FZ_CYC_MAX 33

/* --- harness state ------------------------------------------------------- */

typedef struct fz_value {
    uint64_t magic;
    uint64_t payload;  /* written outside the harness lock: only memo orders it */
    uint32_t serial;   /* index of its END event */
    uint32_t death;    /* index of its DTOR event */
    int dead;
    int probe;         /* its destructor calls its own cell */
    int held;          /* leases the harness holds on it (H.mu) */
    int releasing;     /* memo_release calls on it in flight (H.mu) */
    int mark;          /* scratch for fz_check_quiescent */
    int forgot;        /* it went by .forget (memo_forget_all), not the destructor */
    int doom_forget;   /* detached by memo_forget_all while leased: its last release forgets it */
} fz_value_t;

enum { EV_BEGIN, EV_END, EV_DTOR };
#define DT_DEFERRED 1 /* EV_DTOR out: run by a release or acquire, outside BUSY */
#define DT_FORGET 2   /* EV_DTOR out: .forget, not the destructor (memo_forget_all) */
typedef struct fz_event {
    uint8_t kind, out;
    int worker;        /* -1: the dispatcher */
    int err;           /* END of a failed attempt: the error memo reports */
    fz_value_t *v;
    uint64_t now;
} fz_event_t;

typedef struct fz_rec { /* one operation, as a worker ran it */
    int kind, arg, step, worker;
    long timeout;
    void *seen;
    uint32_t start, end;  /* event log length before and after the call */
    int err;
    void *val;
    int nctor, ctor_out, ctor_err; /* the last constructor call */
    fz_value_t *ctor_val;
    int first_out, first_err;     /* the first one, when an acquire built twice */
    fz_value_t *first_val;
    int ndtor;
    fz_value_t *dtor_val;
    int died;
    int done_gated;       /* returned while the gate was still closed */
    int payload_bad;
    int burst;            /* size of its burst (the workers meet at a spin barrier) */
    int slot;             /* acquire, release: the worker's lease slot */
    int lease_mode;       /* release: LM_* */
    fz_value_t *lease_val; /* release, invalidate_lease LM_SLOT: the value of the held lease, or NULL */
    fz_value_t *pre_val;  /* lease-cycles: the cell's value before (model), or NULL */
    int deferred_ctx;     /* lease-cycles: inside a memo_release (a destructor is deferred) */
    int ip_nctor, ip_ndtor; /* in-place: constructor / destructor calls of the op */
    uint64_t ip_val, ip_made, ip_dtor_val; /* serial returned (last get), made, destroyed */
    int ip_nforget;       /* in-place: .forget calls (memo_forget_all) */
    int forgot;           /* main cell: how many of the ndtor disposals were .forget */
    /* lifetime ops (K_LIFE): the TTL cells, memo_shutdown, memo_forget_all */
    int lf_op, lf_cell, lf_slot; /* LF_*, TTL cell, lease slot */
    struct fz_tval *lf_lease_v;  /* release, invalidate_lease: the value the slot held */
    int t_nctor, t_ctor_out, t_ctor_err; /* TTL constructor calls of the op */
    struct fz_tval *t_ctor_val;
    int t_ndisp;                 /* TTL destructor / .forget calls of the op */
    struct fz_tval *t_disp_val;
    int t_disp_forget;
    int hl_slot;                 /* the helper's lease taken inside the constructor, -1 none */
    int sw_err2;                 /* the second sweep of a "twice" sweep */
    int sw_n, sw_n1;             /* sweep: disposals logged (sw_n1: by the first call) */
    struct { int cell; void *v; int forget; } sw[8];
} fz_rec_t;

typedef struct fz_slot { /* one lease a worker can hold */
    memo_lease_t l;        /* touched only by its worker thread (and by memo) */
    memo_lease_t stale;    /* a copy of the lease this slot released last */
    fz_value_t *v;         /* the harness's record (H.mu): the value held */
    fz_value_t *stale_v;
    int held, has_stale;
} fz_slot_t;

typedef struct fz_worker {
    pthread_t th;
    int id;
    int exists;  /* created, not joined */
    int dead;    /* exited inside a constructor; join before reuse */
    int busy;    /* an operation is assigned and has not returned */
    int go;      /* the assigned operation may start */
    pthread_cond_t cv; /* signals go */
    fz_rec_t rec;
    fz_slot_t ls[FZ_SLOTS]; /* survives the thread (a respawned worker keeps them) */
} fz_worker_t;

static struct {
    pthread_mutex_t mu;   /* protects everything here except the cell */
    pthread_cond_t cv_w;  /* the gate opened */
    pthread_cond_t cv_d;  /* dispatcher: done, gate entered (CLOCK_MONOTONIC) */
    memo_t cell;
    memo_t bare;          /* a zeroed cell without a constructor */
    int nw;
    fz_worker_t w[FZ_MAX_WORKERS];
    int gate_in, gate_worker, gate_open, no_gate;
    uint8_t pending;      /* behaviour of the next constructor call */
    int in_owner, live;
    fz_event_t ev[FZ_MAX_EVENTS];
    uint32_t nev;
    uint32_t n_begin, n_succ, n_fail, n_dtor;
    int last_fail_err;
    uint64_t last_succ_ns;
    fz_value_t *made[FZ_MAX_EVENTS];
    uint32_t nmade;
    int foreign;          /* &foreign: a pointer no constructor made */
    const uint8_t *prog;
    size_t nsteps;
    int cur_step;
    fz_rec_t main_rec;    /* fz_cur of the dispatcher thread, which never constructs */
    int real_waits;
    int in_burst;         /* fz_prepare: no copy releases inside a burst */
    int xops;             /* the extended op set */
    int life;             /* the lifetime ops */
    int forks;            /* fork steps run in this input */
    uint32_t n_forgot;    /* main cell: values that went by .forget */
} H;

enum { PH_EMPTY, PH_READY, PH_FAILED, PH_BUSY };
static const char *const fz_phase_name[] = { "EMPTY", "READY", "FAILED", "BUSY(gated)" };

static struct { /* the reference model */
    int phase;
    fz_value_t *val;
    int err;
    uint32_t row;
    uint64_t retry_at;
    uint32_t waits;
    uint32_t min_ms, max_ms;
    int gate_worker;
    uint32_t gate_begin;
    int blocked[FZ_MAX_WORKERS]; /* op kind a worker is blocked in, -1 none */
    uint64_t ipcur[2];  /* the serial each in-place cell holds, 0 = empty */
    /* registration order (memo's program-wide registry, newest first in a
     * sweep): the rank of the registration of the value each cell holds;
     * values registered in one window (burst, gate) share a rank */
    uint64_t tick, rank, iprank[2];
} M;

static _Thread_local fz_rec_t *fz_cur;
static atomic_int fz_burst_arrived; /* the burst's spin barrier */

static uint64_t fz_now(void) { return atomic_load(&fz_now_ns); }

static int fz_kind(uint8_t op)
{
    if (H.life && ((op & 15) == 1 || (op & 15) == 10))
        return K_LIFE;
    return (H.xops ? fz_kind_of_x : fz_kind_of)[op & 15];
}

static void fz_lock(void) { pthread_mutex_lock(&H.mu); }
static void fz_unlock(void) { pthread_mutex_unlock(&H.mu); }

/* --- diagnostics ------------------------------------------------------------ */

static void fz_dump_ttl(void); /* with the TTL cells */

static void fz_dump(void)
{
    fprintf(stderr, "--- schedule: %d workers, retry_min_ms %u, retry_max_ms %u%s%s\n", H.nw,
            H.cell.retry_min_ms, H.cell.retry_max_ms, H.xops ? ", extended ops" : "", H.life ? ", lifetime ops" : "");
    for (size_t i = 0; i < H.nsteps; i++) {
        const uint8_t *s = H.prog + FZ_HEADER + i * FZ_STEP;
        int k = fz_kind(s[0]);
        char nm[48];
        if (k == K_LIFE)
            snprintf(nm, sizeof nm, "%s%s", fz_lf_name[s[1] & 7],
                     (s[1] & 7) == LF_SWEEP ? (s[1] & LF_FORGET ? "(forget_all)" : "(shutdown)")
                     : (s[1] & 7) == LF_STEP ? "" : s[1] & LF_CELL ? "(STALE)" : "(BLOCK)");
        else
            snprintf(nm, sizeof nm, "%s", fz_kind_name[k]);
        fprintf(stderr, "%s%3zu %-24s w%d arg %3u", (int)i == H.cur_step ? ">" : " ", i, nm,
                ((s[0] >> 4) & 3) % H.nw, s[1]);
        if (s[0] & OP_BURST)
            fprintf(stderr, " burst");
        if (s[0] & OP_ARM)
            fprintf(stderr, " arm[%s%s%s err %d]", fz_out_name[fz_outcome_of[s[2] & 7]],
                    s[2] & B_GATED ? " gated" : "", s[2] & B_PROBE ? " probe" : "", B_ERR(s[2]));
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "--- events (%u):\n", H.nev);
    for (uint32_t i = H.nev > 60 ? H.nev - 60 : 0; i < H.nev; i++) {
        const fz_event_t *e = &H.ev[i];
        fprintf(stderr, "  %4u w%-2d %s", i, e->worker,
                e->kind == EV_BEGIN ? "ctor begin"
                : e->kind == EV_DTOR ? (e->out == DT_DEFERRED ? "dtor (deferred)" : "dtor")
                                     : "ctor end");
        if (e->kind == EV_END)
            fprintf(stderr, " %s err %d", fz_out_name[e->out], e->err);
        if (e->v)
            fprintf(stderr, " value %p", (void *)e->v);
        fprintf(stderr, " t=+%llu ns\n", (unsigned long long)(e->now - FZ_CLOCK_BASE));
    }
    memo_stats_t st = memo_stats(&H.cell);
    fprintf(stderr, "--- model: %s value %p err %d row %u retry_at +%llu now +%llu waits %u\n",
            fz_phase_name[M.phase], (void *)M.val, M.err, M.row,
            (unsigned long long)(M.retry_at ? M.retry_at - FZ_CLOCK_BASE : 0),
            (unsigned long long)(fz_now() - FZ_CLOCK_BASE), M.waits);
    fprintf(stderr, "--- stats: attempts %u successes %u failures %u waits %u in_row %u last_error %d"
            " last_ctor_ns %llu; harness: ctor calls %u successes %u failures %u dtors %u\n",
            st.attempts, st.successes, st.failures, st.waits, st.failures_in_row, st.last_error,
            (unsigned long long)st.last_ctor_ns, H.n_begin, H.n_succ, H.n_fail, H.n_dtor);
    fprintf(stderr, "--- leases held:");
    for (int i = 0; i < H.nw; i++)
        for (int j = 0; j < FZ_SLOTS; j++)
            if (H.w[i].ls[j].held)
                fprintf(stderr, " w%d.%d=%p", i, j, (void *)H.w[i].ls[j].v);
    fprintf(stderr, "\n--- values not destroyed:");
    for (uint32_t i = 0; i < H.nmade; i++)
        if (!H.made[i]->dead)
            fprintf(stderr, " %p(held %d, releasing %d)", (void *)H.made[i], H.made[i]->held,
                    H.made[i]->releasing);
    fprintf(stderr, "\n");
    if (H.life)
        fz_dump_ttl();
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static void fz_violation(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\nfuzz_cell: VIOLATION at step %d: ", H.cur_step);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fz_dump();
    abort();
}

static const char *fz_opname(const fz_rec_t *r)
{
    return r->kind == K_LIFE ? fz_lf_name[r->lf_op] : fz_kind_name[r->kind];
}

/* FUZZ_TRACE=1 in the environment: one line per operation on stderr. */
static int fz_tracing = -1;
static void fz_trace(const char *how, const fz_rec_t *r)
{
    if (fz_tracing < 0)
        fz_tracing = getenv("FUZZ_TRACE") != NULL;
    if (!fz_tracing)
        return;
    fprintf(stderr, "  step %3d w%d %-20s %-10s err %-5d val %-14p ctor %d%s%s dtor %d%s", r->step, r->worker,
            fz_opname(r), how, r->err, r->val, r->nctor, r->nctor ? "/" : "",
            r->nctor ? fz_out_name[r->ctor_out] : "", r->ndtor, r->died ? " died" : "");
    if (r->kind == K_ACQUIRE || r->kind == K_RELEASE)
        fprintf(stderr, " slot %d%s%s", r->slot, r->lease_mode == LM_COPY ? " (stale copy)" : "",
                r->lease_mode == LM_MISUSE ? " (misuse)" : "");
    if (r->ndtor)
        fprintf(stderr, " destroyed %p", (void *)r->dtor_val);
    if (r->kind == K_LIFE)
        fprintf(stderr, " [cell %d slot %d: ttl ctor %d%s%s ttl disposals %d%s, sweep %d]", r->lf_cell, r->lf_slot,
                r->t_nctor, r->t_nctor ? "/" : "", r->t_nctor ? fz_out_name[r->t_ctor_out] : "", r->t_ndisp,
                r->t_disp_forget ? " (forget)" : "", r->sw_n);
    fprintf(stderr, "\n");
}

/* --- events and values (H.mu held) --------------------------------------- */

static uint32_t fz_log(int kind, int out, int worker, int err, fz_value_t *v)
{
    if (H.nev >= FZ_MAX_EVENTS)
        fz_violation("event log overflow (more constructor/destructor calls than any schedule allows)");
    fz_event_t *e = &H.ev[H.nev];
    e->kind = (uint8_t)kind;
    e->out = (uint8_t)out;
    e->worker = worker;
    e->err = err;
    e->v = v;
    e->now = fz_now();
    return H.nev++;
}

static int fz_is_made(const void *p)
{
    for (uint32_t i = 0; i < H.nmade; i++)
        if (H.made[i] == p)
            return 1;
    return 0;
}

static uint64_t fz_payload_of(const fz_value_t *v) { return (uint64_t)(uintptr_t)v ^ FZ_PAYLOAD_KEY; }

/* The backoff window after the row-th consecutive failure, in ms: retry_min
 * doubled per failure, capped at max(retry_min, retry_max). */
static uint64_t fz_window_ms(uint32_t row)
{
    uint64_t cap = M.max_ms > M.min_ms ? M.max_ms : M.min_ms;
    if (row == 0)
        row = 1;
    if (row - 1 >= 32)
        return cap;
    uint64_t w = (uint64_t)M.min_ms << (row - 1);
    return w < cap ? w : cap;
}

/* --- the constructor and destructor -------------------------------------- */

static void fz_probe(const char *where)
{
    void *x = NULL;
    int e;
    if ((e = memo_get(&H.cell, &x)) != EDEADLK)
        fz_violation("%s: memo_get on its own cell returned %d, not EDEADLK", where, e);
    if ((e = memo_get_timed(&H.cell, &x, 0)) != EDEADLK)
        fz_violation("%s: memo_get_timed(0) on its own cell returned %d, not EDEADLK", where, e);
    if ((e = memo_get_timed(&H.cell, &x, 50)) != EDEADLK)
        fz_violation("%s: memo_get_timed(50) on its own cell returned %d, not EDEADLK", where, e);
    if ((e = memo_reset(&H.cell)) != EDEADLK)
        fz_violation("%s: memo_reset on its own cell returned %d, not EDEADLK", where, e);
    if ((e = memo_invalidate(&H.cell, &H.foreign)) != EDEADLK)
        fz_violation("%s: memo_invalidate on its own cell returned %d, not EDEADLK", where, e);
    if ((e = memo_peek(&H.cell, &x)) != EAGAIN)
        fz_violation("%s: memo_peek on its own cell returned %d, not EAGAIN", where, e);
    if (x)
        fz_violation("%s: a failed call on its own cell wrote its out argument", where);
    memo_lease_t l = MEMO_LEASE_INIT;
    l.value = &H.foreign;
    if ((e = memo_acquire(&H.cell, &l)) != EDEADLK)
        fz_violation("%s: memo_acquire on its own cell returned %d, not EDEADLK", where, e);
    if (l.value)
        fz_violation("%s: a failed memo_acquire left the lease holding %p", where, l.value);
    if ((e = memo_release(&l)) != EINVAL)
        fz_violation("%s: memo_release of the lease a failed memo_acquire left returned %d, not EINVAL", where, e);
}

/* Values neither destroyed nor accounted for by a lease the harness holds or
 * is releasing (H.mu held), `except` aside.  Outside the cell there may be as
 * many of them as memo_acquire calls in flight: an acquire's pin is in memo
 * before its worker records it, and an acquire that lost a race with a reset
 * holds a pin on a later value until it gives it back. */
static int fz_unleased(const fz_value_t *except, fz_value_t **which)
{
    int n = 0;
    for (uint32_t i = 0; i < H.nmade; i++) {
        fz_value_t *v = H.made[i];
        if (v != except && !v->dead && v->held == 0 && v->releasing == 0) {
            n++;
            *which = v;
        }
    }
    return n;
}

static int fz_acquires_in_flight(int self)
{
    int n = 0;
    for (int i = 0; i < H.nw; i++)
        if (i != self && H.w[i].busy && H.w[i].rec.kind == K_ACQUIRE)
            n++;
    return n;
}

static void fz_gate_cancelled(void *p)
{
    fz_rec_t *r = (fz_rec_t *)p; /* H.mu is held again: pthread_cond_wait took it */
    H.gate_in = 0;
    H.gate_open = 0;
    r->ctor_out = OUT_CANCEL;
    fz_log(EV_END, OUT_CANCEL, r->worker, 0, NULL);
    H.in_owner = 0;
    fz_unlock();
}

/* Blocks the constructor in the gate until an OPEN step; a cancellation
 * point (only here is the worker cancellable). */
static void fz_gate_pass(fz_rec_t *r)
{
    fz_lock();
    H.gate_in = 1;
    H.gate_worker = r->worker;
    H.gate_open = 0;
    pthread_cond_broadcast(&H.cv_d);
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    pthread_cleanup_push(fz_gate_cancelled, r);
    while (!H.gate_open)
        pthread_cond_wait(&H.cv_w, &H.mu);
    pthread_cleanup_pop(0);
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    H.gate_in = 0;
    H.gate_open = 0;
    fz_unlock();
}

static int fz_ctor(void *arg, void **out)
{
    fz_rec_t *r = fz_cur;
    if (arg != (void *)&H)
        fz_violation("the constructor got arg %p, not the cell's", arg);
    fz_lock();
    if (H.in_owner)
        fz_violation("a constructor started while another constructor or destructor runs (two owners)");
    fz_value_t *u = NULL;
    if (fz_unleased(NULL, &u) > fz_acquires_in_flight(r->worker))
        fz_violation("a constructor started while value %p is neither destroyed nor leased (not exactly once"
                     " per generation)", (void *)u);
    H.in_owner = 1;
    uint8_t b = H.pending;
    H.pending = 0;
    int gated = (b & B_GATED) && !H.no_gate;
    /* memo_acquire may build twice: when the value it built is detached
     * before it could pin it, it looks again (bursts, gate aftermath) */
    if (r->nctor++ && r->kind != K_ACQUIRE && r->kind != K_CYCLES)
        fz_violation("one %s call ran the constructor twice", fz_opname(r));
    if (r->nctor == 2) {
        r->first_out = r->ctor_out;
        r->first_err = r->ctor_err;
        r->first_val = r->ctor_val;
    }
    uint64_t t0 = fz_now();
    fz_log(EV_BEGIN, 0, r->worker, 0, NULL);
    H.n_begin++;
    fz_unlock();

    if (b & B_PROBE)
        fz_probe("constructor");
    if (gated)
        fz_gate_pass(r);

    int o = fz_outcome_of[b & 7];
    if (o == OUT_SUCCESS) {
        fz_value_t *v = (fz_value_t *)calloc(1, sizeof *v);
        if (!v)
            abort();
        v->magic = FZ_MAGIC;
        v->payload = fz_payload_of(v);
        v->probe = (b & B_PROBE) != 0;
        fz_lock();
        if (H.nmade >= FZ_MAX_EVENTS)
            fz_violation("too many values");
        H.made[H.nmade++] = v;
        v->serial = fz_log(EV_END, OUT_SUCCESS, r->worker, 0, v);
        H.live++;
        H.n_succ++;
        H.last_succ_ns = fz_now() - t0;
        r->ctor_out = OUT_SUCCESS;
        r->ctor_val = v;
        H.in_owner = 0;
        fz_unlock();
        *out = v;
        return 0;
    }
    int err = o == OUT_FAIL ? B_ERR(b) : o == OUT_NOVALUE ? MEMO_ENOVALUE : 0;
    fz_lock();
    r->ctor_out = o;
    r->ctor_err = err;
    fz_log(EV_END, o, r->worker, err, NULL);
    if (o == OUT_FAIL || o == OUT_NOVALUE) {
        H.n_fail++;
        H.last_fail_err = err;
    }
    H.in_owner = 0;
    fz_unlock();
    if (o == OUT_EXIT)
        pthread_exit(NULL); /* memo must put the cell back to EMPTY */
    if (o == OUT_NOVALUE) {
        *out = NULL;
        return 0;
    }
    return err;
}

/* A sweep (memo_shutdown, memo_forget_all) logs each disposal it runs, in
 * order (H.mu held). */
static int fz_in_sweep(const fz_rec_t *r) { return r->kind == K_LIFE && r->lf_op == LF_SWEEP; }
static void fz_sw_log(fz_rec_t *r, int cell, void *v, int forget)
{
    if (!fz_in_sweep(r))
        return;
    if (r->sw_n >= 8)
        fz_violation("a sweep ran more than 8 disposals (the harness has 4 cells that can)");
    r->sw[r->sw_n].cell = cell;
    r->sw[r->sw_n].v = v;
    r->sw[r->sw_n].forget = forget;
    r->sw_n++;
}

/* In the cell (BUSY, run by reset, invalidate or a sweep) or deferred: run by
 * the memo_release that gave back the last lease of a detached value, or by
 * a memo_acquire giving back a pin it took on a value detached meanwhile.
 * forgot: memo ran .forget instead (memo_forget_all, or the last release of
 * a value it detached under a lease). */
static void fz_dispose(void *arg, void *p, int forgot)
{
    fz_rec_t *r = fz_cur;
    fz_value_t *v = (fz_value_t *)p;
    int deferred = r->kind == K_RELEASE || r->kind == K_ACQUIRE || r->deferred_ctx;
    const char *what = forgot ? ".forget" : "destructor";
    fz_lock();
    if (arg != (void *)&H)
        fz_violation("the %s got arg %p, not the cell's", what, arg);
    if (!fz_is_made(v))
        fz_violation("the %s got %p, a value no constructor made", what, p);
    if (v->dead)
        fz_violation("value %p destroyed twice (now by its %s)", p, what);
    if (v->held)
        fz_violation("value %p %s (by %s) while %d lease(s) on it are held", p,
                     forgot ? "forgotten" : "destroyed", fz_opname(r), v->held);
    if (r->kind == K_RELEASE && (r->lease_mode != LM_SLOT || r->lease_val != v))
        fz_violation("memo_release of %s destroyed %p, not the value of that lease",
                     r->lease_mode == LM_SLOT && r->lease_val ? "a lease on another value" : "a lease not held", p);
    if (r->kind == K_LIFE && !fz_in_sweep(r))
        fz_violation("%s on a TTL cell ran the main cell's %s on %p", fz_lf_name[r->lf_op], what, p);
    /* .forget exactly where memo_forget_all asked for it: in its sweep, or
     * at the last release of a value it detached under a lease */
    int want_forget = fz_in_sweep(r) ? (r->arg & LF_FORGET) != 0 : deferred && v->doom_forget;
    if (forgot != want_forget)
        fz_violation("%s ran the %s on %p; memo_forget_all%s asked for the %s", fz_opname(r), what, p,
                     v->doom_forget ? " (which detached it under a lease)" : "",
                     want_forget ? ".forget" : "destructor");
    if (!deferred) {
        if (H.in_owner)
            fz_violation("a %s started while another constructor or destructor runs (two owners)", what);
        H.in_owner = 1;
    }
    v->dead = 1;
    v->forgot = forgot;
    v->death = fz_log(EV_DTOR, (deferred ? DT_DEFERRED : 0) | (forgot ? DT_FORGET : 0), r->worker, 0, v);
    H.live--;
    fz_value_t *u = NULL;
    if (!deferred && fz_unleased(v, &u) > fz_acquires_in_flight(r->worker))
        fz_violation("%s destroyed %p while value %p is neither destroyed nor leased", fz_opname(r), p, (void *)u);
    if (forgot)
        H.n_forgot++;
    else
        H.n_dtor++;
    if (r->ndtor++ && r->kind != K_ACQUIRE && r->kind != K_CYCLES)
        fz_violation("one %s call ran the destructor twice", fz_opname(r));
    r->forgot += forgot;
    r->dtor_val = v;
    fz_sw_log(r, SW_MAIN, v, forgot);
    int probe = v->probe && !deferred;
    fz_unlock();
    if (probe)
        fz_probe(forgot ? ".forget" : "destructor");
    if (deferred) { /* outside BUSY: a probe's get would build a new value */
        void *x = NULL;
        if (memo_peek(&H.cell, &x) == 0 && x == p)
            fz_violation("%s destroyed %p, which is still the cell's value", fz_opname(r), p);
        return;
    }
    fz_lock();
    H.in_owner = 0;
    fz_unlock();
}

static void fz_dtor(void *arg, void *p) { fz_dispose(arg, p, 0); }
static void fz_forget(void *arg, void *p) { fz_dispose(arg, p, 1); }

/* --- workers ------------------------------------------------------------------ */

static int fz_badargs(int variant)
{
    void *v = NULL;
    memo_stats_t st;
    switch (variant & 7) {
    case 0: return memo_get(NULL, &v) == EINVAL ? 0 : 1;
    case 1: return memo_get(&H.cell, NULL) == EINVAL ? 0 : 1;
    case 2: return memo_get_timed(&H.cell, &v, -1) == EINVAL ? 0 : 1;
    case 3: return memo_peek(&H.cell, NULL) == EINVAL && memo_peek(NULL, &v) == EINVAL ? 0 : 1;
    case 4: return memo_invalidate(&H.cell, NULL) == EINVAL && memo_invalidate(NULL, &H.foreign) == EINVAL ? 0 : 1;
    case 5: return memo_reset(NULL) == EINVAL ? 0 : 1;
    case 6:
        st = memo_stats(NULL);
        if (st.attempts || st.successes || st.failures || st.waits || st.last_error)
            return 1;
        if (memo_get(&H.bare, &v) != EINVAL || memo_peek(&H.bare, &v) != EAGAIN)
            return 2;
        if (memo_reset(&H.bare) != 0 || memo_invalidate(&H.bare, &H.foreign) != EALREADY)
            return 3;
        return v ? 4 : 0;
    default: return memo_get_timed(NULL, &v, 0) == EINVAL && memo_get_timed(&H.cell, NULL, 0) == EINVAL ? 0 : 1;
    }
}

/* Misuse of the lease API: EINVAL from the call itself, and a lease a failed
 * memo_acquire leaves is not held (a negative code otherwise). */
static int fz_lease_misuse(int variant)
{
    memo_lease_t l = MEMO_LEASE_INIT, z;
    memset(&z, 0, sizeof z);
    int e;
    switch (variant & 7) {
    case 0: return memo_release(NULL);
    case 1: return memo_release(&z);                 /* never acquired (zeroed) */
    case 2: return memo_release(&l);                 /* never acquired (MEMO_LEASE_INIT) */
    case 3: e = memo_acquire(NULL, &l); break;
    case 4: return memo_acquire(&H.cell, NULL);
    case 5: e = memo_acquire(&H.bare, &l); break;    /* a cell without a constructor */
    case 6: l.value = &H.foreign; e = memo_acquire(NULL, &l); break;
    default: e = memo_release(&z); if (e == EINVAL) e = memo_release(&z); break;
    }
    if (l.value)
        return -1000; /* a failed memo_acquire left the lease holding a value */
    if (memo_release(&l) != EINVAL)
        return -1001; /* ... or holding a pin */
    return e;
}

/* The worker's half of a successful memo_acquire (H.mu held). */
static void fz_pinned(fz_rec_t *r, fz_slot_t *s, void *p)
{
    fz_value_t *v = (fz_value_t *)p;
    if (!fz_is_made(v))
        fz_violation("memo_acquire returned %p, a value no constructor made", p);
    if (v->dead)
        fz_violation("memo_acquire returned %p, already destroyed (event %u)", p, v->death);
    v->held++;
    s->v = v;
    s->held = 1;
    (void)r;
}

static int fz_release(fz_rec_t *r)
{
    fz_slot_t *s = &H.w[r->worker].ls[r->slot];
    if (r->lease_mode == LM_MISUSE)
        return fz_lease_misuse(r->arg);
    if (r->lease_mode == LM_COPY) {
        fz_lock();
        memo_lease_t c = s->stale;
        s->has_stale = 0; /* memo_release clears it: one try per copy */
        fz_unlock();
        return memo_release(&c);
    }
    fz_lock();
    fz_value_t *v = s->held ? s->v : NULL;
    if (v != r->lease_val)
        fz_violation("slot %d of worker %d changed between the step's preparation and its run", r->slot,
                     r->worker);
    if (v) { /* forget it first: from now on memo may destroy it */
        v->held--;
        v->releasing++;
        s->held = 0;
        s->v = NULL;
        s->stale = s->l;
        s->stale_v = v;
        s->has_stale = 1;
    }
    fz_unlock();
    int e = memo_release(&s->l);
    if (v) {
        fz_lock();
        v->releasing--;
        fz_unlock();
    }
    return e;
}

/* --- the in-place cells --------------------------------------------------------
 * Two cells whose value lives in place (memo copies it out under a seqlock):
 * MEMOIZE over a 64-byte struct whose every word is the value's serial, with
 * a destructor, and MEMOIZE_VALUE over a 32-byte one.  A copy is one whole
 * value (every word equal) and a serial the call may see: made no earlier
 * than the newest serial at its start (a construction starts only on an empty
 * cell), no later than the newest at its end, and above every serial a
 * destructor or a completed memo_reset had done away with before it began.
 * The counters are atomics, not under H.mu: the getters must race freely. */
#define FZ_IP_WORDS 32
typedef struct fz_blk { uint64_t w[FZ_IP_WORDS]; } fz_blk_t;
typedef struct fz_vbl { uint64_t w[FZ_IP_WORDS / 2]; } fz_vbl_t;
enum { IP_BLK, IP_VBL };
static struct {
    _Atomic uint64_t made[2];      /* the newest serial handed out */
    _Atomic uint64_t dead_upto[2]; /* every serial <= this is gone */
    _Atomic uint64_t cur[2];       /* IP_BLK: the serial its constructor/destructor say it holds */
    _Atomic int owner[2];          /* a constructor or destructor of the cell runs */
    _Atomic uint64_t ndtor;        /* IP_BLK destructor calls */
    _Atomic uint64_t nforgot;      /* IP_BLK .forget calls (memo_forget_all) */
} IP;
static const char *const fz_ip_name[2] = { "MEMOIZE(struct)", "MEMOIZE_VALUE" };

static void fz_ip_max(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t o = atomic_load(a);
    while (o < v && !atomic_compare_exchange_weak(a, &o, v))
        ;
}

static uint64_t fz_ip_begin(int c)
{
    if (atomic_exchange(&IP.owner[c], 1))
        fz_violation("%s: two constructors/destructors of the in-place cell at once", fz_ip_name[c]);
    uint64_t s = atomic_fetch_add(&IP.made[c], 1) + 1;
    if (c == IP_BLK && atomic_load(&IP.cur[c]))
        fz_violation("%s: the constructor runs while serial %llu was never destroyed", fz_ip_name[c],
                     (unsigned long long)atomic_load(&IP.cur[c]));
    atomic_store(&IP.cur[c], s);
    fz_cur->ip_nctor++;
    fz_cur->ip_made = s;
    return s;
}

static int fz_blk_ctor(fz_blk_t *out)
{
    uint64_t s = fz_ip_begin(IP_BLK);
    for (int i = 0; i < FZ_IP_WORDS; i++)
        out->w[i] = s;
    atomic_store(&IP.owner[IP_BLK], 0);
    return 0;
}

static void fz_blk_dtor(fz_blk_t v)
{
    if (atomic_exchange(&IP.owner[IP_BLK], 1))
        fz_violation("%s: a destructor runs with a constructor or destructor", fz_ip_name[IP_BLK]);
    for (int i = 1; i < FZ_IP_WORDS; i++)
        if (v.w[i] != v.w[0])
            fz_violation("%s: the destructor got a torn value (word %d = %llu, word 0 = %llu)",
                         fz_ip_name[IP_BLK], i, (unsigned long long)v.w[i], (unsigned long long)v.w[0]);
    if (v.w[0] == 0 || v.w[0] != atomic_load(&IP.cur[IP_BLK]))
        fz_violation("%s: the destructor got serial %llu, the cell holds %llu", fz_ip_name[IP_BLK],
                     (unsigned long long)v.w[0], (unsigned long long)atomic_load(&IP.cur[IP_BLK]));
    atomic_store(&IP.cur[IP_BLK], 0);
    fz_ip_max(&IP.dead_upto[IP_BLK], v.w[0]);
    atomic_fetch_add(&IP.ndtor, 1);
    fz_cur->ip_ndtor++;
    fz_cur->ip_dtor_val = v.w[0];
    atomic_store(&IP.owner[IP_BLK], 0);
    if (fz_in_sweep(fz_cur)) {
        fz_lock();
        if (fz_cur->arg & LF_FORGET)
            fz_violation("memo_forget_all ran the destructor of the %s cell", fz_ip_name[IP_BLK]);
        fz_sw_log(fz_cur, SW_BLK, NULL, 0);
        fz_unlock();
    }
}

/* .forget of the MEMOIZE cell (memo_forget_all only): gets the in-place
 * words of the value */
static void fz_blk_forget(void *arg, void *p)
{
    _Atomic(uintptr_t) *w = (_Atomic(uintptr_t) *)p;
    (void)arg;
    if (!fz_in_sweep(fz_cur) || !(fz_cur->arg & LF_FORGET))
        fz_violation("the %s cell's .forget ran outside memo_forget_all (%s)", fz_ip_name[IP_BLK],
                     fz_opname(fz_cur));
    if (atomic_exchange(&IP.owner[IP_BLK], 1))
        fz_violation("%s: .forget runs with a constructor or destructor", fz_ip_name[IP_BLK]);
    uint64_t s0 = (uint64_t)atomic_load(&w[0]);
    for (int i = 1; i < FZ_IP_WORDS; i++)
        if ((uint64_t)atomic_load(&w[i]) != s0)
            fz_violation("%s: .forget got a torn value", fz_ip_name[IP_BLK]);
    if (s0 == 0 || s0 != atomic_load(&IP.cur[IP_BLK]))
        fz_violation("%s: .forget got serial %llu, the cell holds %llu", fz_ip_name[IP_BLK], (unsigned long long)s0,
                     (unsigned long long)atomic_load(&IP.cur[IP_BLK]));
    atomic_store(&IP.cur[IP_BLK], 0);
    fz_ip_max(&IP.dead_upto[IP_BLK], s0);
    atomic_fetch_add(&IP.nforgot, 1);
    fz_cur->ip_nforget++;
    fz_cur->ip_dtor_val = s0;
    atomic_store(&IP.owner[IP_BLK], 0);
    fz_lock();
    fz_sw_log(fz_cur, SW_BLK, NULL, 1);
    fz_unlock();
}

static fz_vbl_t fz_vbl_fn(void)
{
    fz_vbl_t v;
    uint64_t s = fz_ip_begin(IP_VBL);
    for (int i = 0; i < FZ_IP_WORDS / 2; i++)
        v.w[i] = s;
    atomic_store(&IP.cur[IP_VBL], 0); /* no destructor will clear it */
    atomic_store(&IP.owner[IP_VBL], 0);
    return v;
}

MEMOIZE(static, fz_blk, fz_blk_t, fz_blk_ctor, fz_blk_dtor, .forget = fz_blk_forget);
MEMOIZE_VALUE(static, fz_vbl, fz_vbl_t, fz_vbl_fn);

static memo_t *fz_ip_cell(int c) { return c == IP_BLK ? &fz_blk_memo : &fz_vbl_memo; }

/* One typed get of cell c; the serial of a copy checked as above. */
static uint64_t fz_ip_get(int c)
{
    uint64_t w[FZ_IP_WORDS];
    int n = c == IP_BLK ? FZ_IP_WORDS : FZ_IP_WORDS / 2;
    uint64_t ms = atomic_load(&IP.made[c]), du = atomic_load(&IP.dead_upto[c]);
    if (c == IP_BLK) {
        fz_blk_t x;
        memset(&x, 0, sizeof x);
        int e = fz_blk(&x);
        if (e)
            fz_violation("%s getter returned %d", fz_ip_name[c], e);
        memcpy(w, x.w, sizeof x.w);
    } else {
        fz_vbl_t x = fz_vbl();
        memcpy(w, x.w, sizeof x.w);
    }
    uint64_t me = atomic_load(&IP.made[c]);
    for (int i = 1; i < n; i++)
        if (w[i] != w[0])
            fz_violation("%s getter: torn copy (word %d = %llu, word 0 = %llu)", fz_ip_name[c], i,
                         (unsigned long long)w[i], (unsigned long long)w[0]);
    if (w[0] == 0 || w[0] > me || w[0] < ms || w[0] <= du)
        fz_violation("%s getter returned serial %llu; the call allows %llu..%llu above %llu", fz_ip_name[c],
                     (unsigned long long)w[0], (unsigned long long)(ms ? ms : 1), (unsigned long long)me,
                     (unsigned long long)du);
    return w[0];
}

/* in-place op: ARG bits 0-1 {get, reset} x {MEMOIZE struct, MEMOIZE_VALUE},
 * bits 2-4: repeated 1 + 4k times (races in bursts) */
static int fz_inplace(fz_rec_t *r)
{
    int c = (r->arg >> 1) & 1, n = 1 + ((r->arg >> 2) & 7) * 4;
    for (int k = 0; k < n; k++) {
        if (r->arg & 1) {
            uint64_t mb = atomic_load(&IP.made[c]);
            int e = memo_reset(fz_ip_cell(c));
            if (e)
                fz_violation("memo_reset of the %s cell returned %d", fz_ip_name[c], e);
            fz_ip_max(&IP.dead_upto[c], mb);
        } else {
            r->ip_val = fz_ip_get(c);
        }
    }
    return 0;
}

/* The serial an in-place cell holds (quiescent: a getter of a READY cell
 * does not construct), 0 if it is empty. */
static uint64_t fz_ip_state(int c)
{
    void *x = NULL;
    if (memo_peek(fz_ip_cell(c), &x) != 0)
        return 0;
    fz_rec_t probe, *saved = fz_cur;
    memset(&probe, 0, sizeof probe);
    fz_cur = &probe;
    uint64_t s = fz_ip_get(c);
    fz_cur = saved;
    if (probe.ip_nctor)
        fz_violation("%s: a get of a READY cell constructed", fz_ip_name[c]);
    return s;
}

/* --- invalidate_lease ------------------------------------------------------- */

/* ARG bits 0-1: the worker's lease slot (empty: EINVAL); bits 3-4 both set:
 * misuse variant bits 0-1 instead (NULL, zeroed, MEMO_LEASE_INIT, a lease
 * with cell and value but not held): EINVAL. */
static int fz_inval_lease(fz_rec_t *r)
{
    if (r->lease_mode == LM_MISUSE) {
        memo_lease_t z, l = MEMO_LEASE_INIT;
        memset(&z, 0, sizeof z);
        switch (r->arg & 3) {
        case 0: return memo_invalidate_lease(NULL);
        case 1: return memo_invalidate_lease(&z);
        case 2: return memo_invalidate_lease(&l);
        default:
            l.m_ = &H.cell;
            l.value = &H.foreign;
            return memo_invalidate_lease(&l);
        }
    }
    fz_slot_t *s = &H.w[r->worker].ls[r->slot];
    fz_lock();
    fz_value_t *v = s->held ? s->v : NULL;
    fz_unlock();
    if (v != r->lease_val)
        fz_violation("slot %d of worker %d changed between the step's preparation and its run", r->slot,
                     r->worker);
    return memo_invalidate_lease(&s->l);
}

/* --- lease-cycles: leases held across many detaches --------------------------
 * Sequential only (a no-op while a constructor is blocked; never in a burst);
 * drops an armed constructor behaviour (its constructions succeed).
 *   memo_reset (destroys the cell's value unless leased; forgets a failure);
 *   acquire L0 (builds v0); [bit 6: white-box count 2^31 - 1 on v0: one more
 *   acquire succeeds, the next is EOVERFLOW, then the count is put back];
 *   N times: detach (memo_reset, or bit 7: memo_invalidate_lease of the
 *   newest lease; 0, no destructor: leased), [bit 3, after the first detach:
 *   white-box, the cell's epoch := 2^32 - 1 - k, an epoch no held lease has],
 *   acquire L_i (builds v_i); detach L_N's value too;
 *   invalidate_lease(L0) and (L_N) -> EALREADY; every held lease (the
 *   workers' too) has its own epoch, none the cell's current one;
 *   release L0, L1 ... L_N (oldest first): each runs exactly its value's
 *   destructor, in this thread.  ARG bits 0-2: N {1,2,3,4,6,8,16,32}; bits
 *   4-5: k {0,1,2,5}.  Leaves the cell EMPTY. */
static void fz_cyc_acquire(fz_rec_t *r, memo_lease_t *l, fz_value_t **pv, int i)
{
    int nc = r->nctor;
    int e = memo_acquire(&H.cell, l);
    if (e)
        fz_violation("lease-cycles: acquire %d of an empty cell returned %d", i, e);
    if (r->nctor != nc + 1 || r->ctor_out != OUT_SUCCESS || l->value != (void *)r->ctor_val)
        fz_violation("lease-cycles: acquire %d of an empty cell ran the constructor %d times and leased %p"
                     " (built %p)", i, r->nctor - nc, l->value, (void *)r->ctor_val);
    fz_lock();
    *pv = (fz_value_t *)l->value;
    (*pv)->held++;
    fz_unlock();
}

static void fz_cyc_detach(fz_rec_t *r, memo_lease_t *l, int i, int by_lease)
{
    int nd = r->ndtor;
    int e = by_lease ? memo_invalidate_lease(l) : memo_reset(&H.cell);
    if (e || r->ndtor != nd)
        fz_violation("lease-cycles: %s of leased value %d returned %d and ran the destructor %d times (0, 0)",
                     by_lease ? "memo_invalidate_lease" : "memo_reset", i, e, r->ndtor - nd);
}

static void fz_cyc_release(fz_rec_t *r, memo_lease_t *l, fz_value_t *v, int i)
{
    fz_lock();
    v->held--;
    v->releasing++;
    fz_unlock();
    int nd = r->ndtor;
    r->deferred_ctx = 1;
    int e = memo_release(l);
    r->deferred_ctx = 0;
    fz_lock();
    v->releasing--;
    fz_unlock();
    if (e || r->ndtor != nd + 1 || r->dtor_val != v)
        fz_violation("lease-cycles: release of lease %d, the last on detached %p, returned %d and ran the"
                     " destructor %d times (last on %p)", i, (void *)v, e, r->ndtor - nd, (void *)r->dtor_val);
}

static uint32_t fz_epoch_now(void) { return (uint32_t)(atomic_load(&H.cell.leases_) >> 32); }

/* Is epoch e that of a lease held by a worker's slot or by L[0..n)? (H.mu) */
static int fz_epoch_held(uint32_t e, const memo_lease_t *L, int n)
{
    for (int i = 0; i < n; i++)
        if (L[i].epoch_ == e)
            return 1;
    for (int i = 0; i < H.nw; i++)
        for (int j = 0; j < FZ_SLOTS; j++)
            if (H.w[i].ls[j].held && H.w[i].ls[j].l.epoch_ == e)
                return 1;
    return 0;
}

static void fz_cyc_overflow(fz_rec_t *r, memo_lease_t *l0)
{
    memo_lease_t a = MEMO_LEASE_INIT, b = MEMO_LEASE_INIT;
    if ((uint32_t)atomic_load(&H.cell.leases_) != 1)
        fz_violation("lease-cycles: %u leases counted on a value with one lease",
                     (uint32_t)atomic_load(&H.cell.leases_));
    atomic_fetch_add(&H.cell.leases_, 0x7ffffffeu); /* 2^31 - 1 leases */
    int nc = r->nctor, ea = memo_acquire(&H.cell, &a), eb = memo_acquire(&H.cell, &b);
    if (ea != 0 || a.value != l0->value || r->nctor != nc)
        fz_violation("lease-cycles: the 2^31st lease on a value: acquire returned %d (%p), not 0 (%p)", ea,
                     a.value, l0->value);
    if (eb != EOVERFLOW || b.value)
        fz_violation("lease-cycles: a lease beyond 2^31 on one value: acquire returned %d (%p), not EOVERFLOW", eb,
                     b.value);
    if (memo_release(&b) != EINVAL || memo_release(&a) != 0)
        fz_violation("lease-cycles: releasing the refused and the 2^31st lease did not give EINVAL, 0");
    atomic_fetch_sub(&H.cell.leases_, 0x7ffffffeu);
    if ((uint32_t)atomic_load(&H.cell.leases_) != 1 || fz_epoch_now() != l0->epoch_)
        fz_violation("lease-cycles: after the overflow probe the count is %u, the epoch %u (1, %u)",
                     (uint32_t)atomic_load(&H.cell.leases_), fz_epoch_now(), l0->epoch_);
}

static int fz_cycles(fz_rec_t *r)
{
    int n = fz_cyc_n[r->arg & 7], jump = (r->arg & 8) != 0, by_lease = (r->arg & 0x80) != 0;
    memo_lease_t L[FZ_CYC_MAX];
    fz_value_t *V[FZ_CYC_MAX];
    memset(L, 0, sizeof L);
    fz_lock();
    fz_value_t *pre = r->pre_val && r->pre_val->held == 0 ? r->pre_val : NULL;
    fz_unlock();
    int e = memo_reset(&H.cell);
    if (e || (pre ? r->ndtor != 1 || r->dtor_val != pre : r->ndtor != 0))
        fz_violation("lease-cycles: memo_reset returned %d and destroyed %d value(s) (%p); the model says 0, %p", e,
                     r->ndtor, (void *)r->dtor_val, (void *)pre);
    fz_cyc_acquire(r, &L[0], &V[0], 0);
    if (r->arg & 0x40)
        fz_cyc_overflow(r, &L[0]);
    for (int i = 1; i <= n; i++) {
        fz_cyc_detach(r, &L[i - 1], i - 1, by_lease);
        if (i == 1 && jump) {
            fz_lock();
            uint32_t j = UINT32_MAX - fz_cyc_k[(r->arg >> 4) & 3];
            while (fz_epoch_held(j, L, i))
                j--;
            if ((uint32_t)atomic_load(&H.cell.leases_) != 0)
                fz_violation("lease-cycles: %u leases counted on an empty cell",
                             (uint32_t)atomic_load(&H.cell.leases_));
            atomic_store(&H.cell.leases_, (uint64_t)j << 32);
            /* A stale copy of a released lease names an epoch the jump may
             * bring back for another value (the wrap comes within a few
             * detaches): releasing it then is the undetectable misuse
             * "release both copies" (docs/BAD_INPUT.md), not an EINVAL the
             * model may count on.  Found by a 400 s fuzz run (input 71). */
            for (int w = 0; w < H.nw; w++)
                for (size_t k = 0; k < sizeof H.w[w].ls / sizeof H.w[w].ls[0]; k++)
                    H.w[w].ls[k].has_stale = 0;
            fz_unlock();
        }
        fz_cyc_acquire(r, &L[i], &V[i], i);
    }
    fz_cyc_detach(r, &L[n], n, by_lease);
    if ((e = memo_invalidate_lease(&L[0])) != EALREADY || (e = memo_invalidate_lease(&L[n])) != EALREADY)
        fz_violation("lease-cycles: memo_invalidate_lease of a lease whose value was detached returned %d", e);
    fz_lock();
    uint32_t cur = fz_epoch_now();
    for (int i = 0; i <= n; i++) {
        if (L[i].epoch_ == cur)
            fz_violation("lease-cycles: lease %d (detached) has the cell's current epoch %u", i, cur);
        if (fz_epoch_held(L[i].epoch_, L, i))
            fz_violation("lease-cycles: lease %d has epoch %u, as an older lease still held", i, L[i].epoch_);
    }
    fz_unlock();
    for (int i = 0; i <= n; i++)
        fz_cyc_release(r, &L[i], V[i], i);
    return 0;
}

/* --- lifetimes: TTL cells, memo_shutdown, memo_forget_all ---------------------
 * The lifetime ops (header byte 2 bit 7: op slots 1 and 10 become K_LIFE,
 * ARG bits 0-2 the sub-op).  Two TTL cells with a .retry_min_ms backoff on
 * the fake clocks: T.cell[0] .ttl_ms (MEMO_REFRESH_BLOCK), T.cell[1] .ttl_ms
 * with .refresh = MEMO_REFRESH_STALE and .max_stale_ms; each has a
 * destructor and a .forget, as the main cell (then) and the MEMOIZE in-place
 * cell do.  Every lifetime op is sequential -- never in a burst; it also
 * runs while the main cell's constructor is blocked in the gate (it waits on
 * no cell that is BUSY: a cell in construction is not in memo's registry) --
 * and is predicted exactly by the model TM (fz_life_predict):
 *   - get (get_timed(0)), acquire: a fresh value is served; a stale one is
 *     refreshed by this call (BLOCK and STALE alike, no thread waits here),
 *     within the backoff window of a current failure the call gets the
 *     stale value (STALE, within max_stale_ms past expiry) or the error;
 *     a refresh that fails keeps a servable stale value (stale-if-error: the
 *     get returns it, 0) and records the failure for the window, else the
 *     stale value goes and the cell is FAILED; one that succeeds publishes
 *     the new value, and only then is the old one destroyed (its destructor
 *     checks that memo_peek already returns the new one), or at its last
 *     release if it is leased; a constructor that calls pthread_exit leaves
 *     the stale value READY (EMPTY if there was none);
 *   - peek, reset, invalidate_lease, release, as for the main cell;
 *   - inside a TTL constructor (CTOR bit 5, "gated" for the main cell): a
 *     helper thread calls the cell while it is BUSY: get_timed(0) and peek
 *     get the stale value iff it is servable (STALE), else ETIMEDOUT, EAGAIN;
 *     invalidate: EALREADY; then, if servable, a blocking get returns it at
 *     once and an acquire pins it into a free lease slot of the cell (so
 *     that the refresh detaches a leased value); CTOR bit 6 (probe): the
 *     constructor's own calls on its cell get EDEADLK (peek: the servable
 *     stale value), and the value's destructor probes its cell;
 *   - step (a dispatcher action): both fake clocks forward by an amount
 *     decoded from ARG bits 4-7, small steps or jumps to a TTL cell's
 *     expiry, the end of its max_stale_ms, its backoff window's end (each
 *     to the last ns before or exactly);
 *   - sweep: memo_shutdown or memo_forget_all (optionally twice: the second
 *     finds nothing) over every cell of the harness: each value is disposed
 *     of (destructor, or .forget) newest registration first, in the calling
 *     thread, unless leased: then it leaves its cell and its last release
 *     disposes of it the same way; FAILED and BUSY cells are left alone;
 *     every cell builds anew on its next get.
 * ARG: bits 0-2 sub-op (LF_*), bit 3 the STALE cell (else BLOCK); get: bit 4
 * get_timed(0); acquire/release/invalidate_lease: bits 4-5 the cell's lease
 * slot (acquire: the next free one; none: no-op); step: bits 4-7 the amount;
 * sweep: bit 4 memo_forget_all, bit 5 twice.  An armed K_LIFE step arms the
 * next constructor call of its TTL cell (ARG bit 3), not the main cell's.
 * TTL cell options: header byte 2 bits 3-4 ttl_ms, bits 5-6 max_stale_ms;
 * byte 1 bits 3-4 retry_min_ms, bits 5-6 retry_max_ms (fz_ttl_tab...). */

#define FZ_TMAX 512
typedef struct fz_tval {
    uint64_t magic, payload;
    int cell, id;       /* id: 1, 2, ... per cell, in construction order */
    int dead, forgot, doom_forget, held, probe;
} fz_tval_t;

typedef struct fz_tslot {
    memo_lease_t l;
    fz_tval_t *v;
    int held;
} fz_tslot_t;

static struct {
    memo_t cell[2];
    int cid[2];                /* each cell's arg: &cid[c], cid[c] = c */
    uint8_t pending[2];        /* the behaviour of each cell's next constructor call */
    int in_owner[2];
    fz_tval_t *made[FZ_TMAX];
    uint32_t nmade;
    fz_tslot_t ls[2][FZ_SLOTS];
    uint32_t n_begin[2], n_succ[2], n_fail[2], n_dtor[2], n_forgot[2];
    int last_err[2];
    int ids[2];
    uint32_t ttl, stale, min, max; /* the options of this input */
} T;

enum { TP_EMPTY, TP_READY, TP_FAILED };
static const char *const fz_tphase_name[] = { "EMPTY", "READY", "FAILED" };
typedef struct fz_tm { /* the model of one TTL cell */
    int phase;
    fz_tval_t *val;
    uint64_t exp;      /* TTL clock: stale from here on */
    uint32_t row;      /* stats.failures_in_row */
    uint64_t retry_at; /* MEMO_NOW_NS clock: the end of the backoff window */
    int err;
    int failcur;       /* the failure record is current (the window applies) */
    uint64_t rank;     /* registration (M.tick) */
} fz_tm_t;
static fz_tm_t TM[2];

static const uint32_t fz_ttl_tab[4] = { 100, 1000, 1, 60000 };
static const uint32_t fz_tmin_tab[4] = { 10, 50, 1, 1000 };

static uint64_t fz_ttl_now(void) { return atomic_load(&fz_ttl_ns); }

/* May the stale value (expired at exp <= now) of cell c be served? */
static int fz_tservable(int c, uint64_t now, uint64_t exp)
{
    return c == 1 && now >= exp && (T.stale == 0 || now - exp < (uint64_t)T.stale * MS);
}

static uint64_t fz_twindow_ms(uint32_t row)
{
    uint64_t cap = T.max > T.min ? T.max : T.min;
    if (row == 0)
        row = 1;
    if (row - 1 >= 32)
        return cap;
    uint64_t w = (uint64_t)T.min << (row - 1);
    return w < cap ? w : cap;
}

static int fz_t_is_made(const void *p)
{
    for (uint32_t i = 0; i < T.nmade; i++)
        if (T.made[i] == p)
            return 1;
    return 0;
}

static int fz_tid(const void *p) { return p && fz_t_is_made(p) ? ((const fz_tval_t *)p)->id : 0; }

static int fz_tpayload_ok(const void *p)
{
    const fz_tval_t *v = (const fz_tval_t *)p;
    return v->magic == FZ_MAGIC && v->payload == fz_payload_of((const fz_value_t *)p);
}

/* The constructor's own calls on its cell (CTOR bit 6) */
static void fz_tprobe_own(int c, const fz_tval_t *old, int serve)
{
    memo_t *m = &T.cell[c];
    void *x = NULL;
    int e;
    memo_lease_t l = MEMO_LEASE_INIT;
    if ((e = memo_get(m, &x)) != EDEADLK)
        fz_violation("TTL cell %d: memo_get from its own constructor returned %d, not EDEADLK", c, e);
    if ((e = memo_get_timed(m, &x, 0)) != EDEADLK)
        fz_violation("TTL cell %d: memo_get_timed(0) from its own constructor returned %d, not EDEADLK", c, e);
    if ((e = memo_reset(m)) != EDEADLK)
        fz_violation("TTL cell %d: memo_reset from its own constructor returned %d, not EDEADLK", c, e);
    if ((e = memo_invalidate(m, old ? (void *)old : (void *)&H.foreign)) != EDEADLK)
        fz_violation("TTL cell %d: memo_invalidate from its own constructor returned %d, not EDEADLK", c, e);
    if ((e = memo_acquire(m, &l)) != EDEADLK || l.value)
        fz_violation("TTL cell %d: memo_acquire from its own constructor returned %d (%p), not EDEADLK", c, e,
                     l.value);
    x = NULL;
    e = memo_peek(m, &x);
    if (serve ? e != 0 || x != (void *)old : e != EAGAIN)
        fz_violation("TTL cell %d: memo_peek from its own constructor (refreshing #%d, %s) returned %d (#%d)", c,
                     fz_tid(old), serve ? "servable" : "not servable", e, fz_tid(x));
}

/* --- the helper thread: calls a TTL cell while its constructor runs ------- */
static struct {
    pthread_t th;
    int started;
    pthread_cond_t cv; /* with H.mu: a request, or its completion */
    uint64_t req, done;
    int c, serve, excl, slot;
    fz_tval_t *old;
    fz_rec_t rec;      /* its fz_cur: it must never construct or dispose */
} HL;

static int fz_helper_probe(int c, fz_tval_t *old, int serve, int excl)
{
    memo_t *m = &T.cell[c];
    const char *st = old ? serve ? "refreshing a servable stale value" : "refreshing a stale value it may not serve"
                         : "building its first value";
    void *x = NULL;
    int e = memo_get_timed(m, &x, 0);
    if (serve ? e != 0 || x != (void *)old : e != ETIMEDOUT)
        fz_violation("TTL cell %d %s: another thread's memo_get_timed(0) returned %d (#%d); the model says %s #%d",
                     c, st, e, fz_tid(x), serve ? "0," : "ETIMEDOUT, no value", serve ? fz_tid(old) : 0);
    if (e == 0 && !fz_tpayload_ok(x))
        fz_violation("TTL cell %d: a stale value served during its refresh is not intact", c);
    x = NULL;
    e = memo_peek(m, &x);
    if (serve ? e != 0 || x != (void *)old : e != EAGAIN)
        fz_violation("TTL cell %d %s: another thread's memo_peek returned %d (#%d)", c, st, e, fz_tid(x));
    /* a value the cell does not hold: EALREADY at once (invalidating the
     * value being refreshed waits for the refresh's outcome, so it cannot
     * be called from here, where the constructor waits for this helper) */
    e = memo_invalidate(m, (void *)&H.foreign);
    if (e != EALREADY)
        fz_violation("TTL cell %d %s: another thread's memo_invalidate returned %d, not EALREADY", c, st, e);
    if (!serve)
        return -1;
    x = NULL;
    e = memo_get(m, &x); /* must not wait: a hang is reported by the constructor */
    if (e != 0 || x != (void *)old)
        fz_violation("TTL cell %d %s: another thread's memo_get returned %d (#%d), not the stale #%d", c, st, e,
                     fz_tid(x), fz_tid(old));
    int j = -1;
    fz_lock();
    for (int k = 0; k < FZ_SLOTS && j < 0; k++)
        if (k != excl && !T.ls[c][k].held)
            j = k;
    fz_unlock();
    if (j < 0)
        return -1;
    fz_tslot_t *s = &T.ls[c][j];
    e = memo_acquire(m, &s->l);
    if (e != 0 || s->l.value != (void *)old)
        fz_violation("TTL cell %d %s: another thread's memo_acquire returned %d (#%d), not the stale #%d", c, st, e,
                     fz_tid(s->l.value), fz_tid(old));
    fz_lock();
    old->held++;
    s->v = old;
    s->held = 1;
    fz_unlock();
    return j;
}

static void *fz_helper_main(void *p)
{
    (void)p;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    fz_cur = &HL.rec;
    fz_lock();
    HL.rec.kind = K_LIFE;
    HL.rec.lf_op = LF_HELPER;
    HL.rec.worker = -2;
    for (;;) {
        while (HL.req == HL.done)
            pthread_cond_wait(&HL.cv, &H.mu);
        int c = HL.c, serve = HL.serve, excl = HL.excl;
        fz_tval_t *old = HL.old;
        fz_unlock();
        int slot = fz_helper_probe(c, old, serve, excl);
        fz_lock();
        HL.slot = slot;
        HL.done = HL.req;
        pthread_cond_broadcast(&HL.cv);
    }
    return NULL;
}

/* From the constructor of cell c: the helper's calls, waited for. */
static void fz_thelper(int c, fz_tval_t *old, int serve, fz_rec_t *r)
{
    fz_lock();
    if (!HL.started) {
        if (pthread_create(&HL.th, NULL, fz_helper_main, NULL) != 0) {
            fprintf(stderr, "fuzz_cell: pthread_create failed\n");
            abort();
        }
        HL.started = 1;
    }
    HL.c = c;
    HL.old = old;
    HL.serve = serve;
    HL.excl = r->lf_op == LF_ACQ ? r->lf_slot : -1;
    HL.req++;
    pthread_cond_broadcast(&HL.cv);
    uint64_t deadline = mt_now_ns() + FZ_HANG_NS;
    while (HL.done != HL.req) {
        uint64_t now = mt_now_ns();
        if (now >= deadline)
            fz_violation("hang: TTL cell %d: another thread's calls while its constructor runs (%s) did not return "
                         "within %llu s", c, serve ? "its stale value is servable" : "nothing to serve",
                         (unsigned long long)(FZ_HANG_NS / 1000000000u));
        uint64_t until = now + 100 * MS < deadline ? now + 100 * MS : deadline;
        struct timespec ts;
        ts.tv_sec = (time_t)(until / 1000000000u);
        ts.tv_nsec = (long)(until % 1000000000u);
        pthread_cond_timedwait(&HL.cv, &H.mu, &ts);
    }
    r->hl_slot = HL.slot;
    fz_unlock();
}

static int fz_tctor(void *arg, void **out)
{
    fz_rec_t *r = fz_cur;
    if (arg != (void *)&T.cid[0] && arg != (void *)&T.cid[1])
        fz_violation("a TTL constructor got arg %p, not its cell's", arg);
    int c = *(int *)arg;
    fz_lock();
    if (r->kind != K_LIFE || (r->lf_op != LF_GET && r->lf_op != LF_ACQ) || r->lf_cell != c)
        fz_violation("%s ran the constructor of TTL cell %d", fz_opname(r), c);
    if (T.in_owner[c])
        fz_violation("TTL cell %d: a constructor started while a constructor or destructor runs", c);
    T.in_owner[c] = 1;
    fz_tval_t *old = TM[c].phase == TP_READY ? TM[c].val : NULL;
    for (uint32_t i = 0; i < T.nmade; i++) {
        const fz_tval_t *u = T.made[i];
        if (u->cell == c && !u->dead && !u->held && u != old)
            fz_violation("TTL cell %d: a constructor started while value #%d is neither destroyed, leased, nor the"
                         " stale value being refreshed", c, u->id);
    }
    if (r->t_nctor++)
        fz_violation("one %s call ran the constructor twice", fz_opname(r));
    uint8_t b = T.pending[c];
    T.pending[c] = 0;
    T.n_begin[c]++;
    int serve = old && fz_tservable(c, fz_ttl_now(), TM[c].exp);
    fz_unlock();
    if (b & B_PROBE)
        fz_tprobe_own(c, old, serve);
    if (b & B_GATED)
        fz_thelper(c, old, serve, r);
    int o = fz_outcome_of[b & 7];
    fz_lock();
    r->t_ctor_out = o;
    if (o == OUT_SUCCESS) {
        if (T.nmade >= FZ_TMAX)
            fz_violation("too many TTL values");
        fz_tval_t *v = (fz_tval_t *)calloc(1, sizeof *v);
        if (!v)
            abort();
        v->magic = FZ_MAGIC;
        v->payload = fz_payload_of((const fz_value_t *)v);
        v->cell = c;
        v->id = ++T.ids[c];
        v->probe = (b & B_PROBE) != 0;
        T.made[T.nmade++] = v;
        T.n_succ[c]++;
        r->t_ctor_val = v;
        T.in_owner[c] = 0;
        fz_unlock();
        *out = v;
        return 0;
    }
    int err = o == OUT_FAIL ? B_ERR(b) : o == OUT_NOVALUE ? MEMO_ENOVALUE : 0;
    r->t_ctor_err = err;
    if (o == OUT_FAIL || o == OUT_NOVALUE) {
        T.n_fail[c]++;
        T.last_err[c] = err;
    }
    T.in_owner[c] = 0;
    fz_unlock();
    if (o == OUT_EXIT)
        pthread_exit(NULL); /* memo must put the cell back: READY with a stale value, else EMPTY */
    if (o == OUT_NOVALUE) {
        *out = NULL;
        return 0;
    }
    return err;
}

/* A TTL value's destructor or .forget.  Where: in the cell (BUSY: reset,
 * invalidate_lease, a sweep), after a refresh (the get or acquire that
 * refreshed: outside BUSY, once the new value is published or the cell is
 * FAILED), or deferred (the release of its last lease). */
static void fz_tdispose(void *arg, void *p, int forgot)
{
    fz_rec_t *r = fz_cur;
    if (arg != (void *)&T.cid[0] && arg != (void *)&T.cid[1])
        fz_violation("a TTL destructor got arg %p, not its cell's", arg);
    int c = *(int *)arg;
    fz_tval_t *v = (fz_tval_t *)p;
    const char *what = forgot ? ".forget" : "destructor";
    fz_lock();
    if (!fz_t_is_made(v))
        fz_violation("TTL cell %d: the %s got %p, a value no constructor made", c, what, p);
    if (v->cell != c)
        fz_violation("TTL cell %d: the %s got #%d of the other cell", c, what, v->id);
    if (v->dead)
        fz_violation("TTL cell %d: value #%d disposed of twice (now by its %s)", c, v->id, what);
    if (v->held)
        fz_violation("TTL cell %d: value #%d disposed of (%s) while %d lease(s) on it are held", c, v->id, what,
                     v->held);
    if (r->kind != K_LIFE || r->lf_op == LF_HELPER || r->lf_op == LF_PEEK || r->lf_op == LF_NOP)
        fz_violation("%s ran the %s of TTL cell %d's value #%d", fz_opname(r), what, c, v->id);
    int ctx = r->lf_op == LF_GET || r->lf_op == LF_ACQ ? 1 : r->lf_op == LF_REL ? 2 : 0;
    int want_forget = fz_in_sweep(r) ? (r->arg & LF_FORGET) != 0 : ctx == 2 && v->doom_forget;
    if (forgot != want_forget)
        fz_violation("%s ran the %s on TTL cell %d's #%d; memo_forget_all%s asked for the %s", fz_opname(r), what,
                     c, v->id, v->doom_forget ? " (which detached it under a lease)" : "",
                     want_forget ? ".forget" : "destructor");
    if (!fz_in_sweep(r) && r->lf_cell != c)
        fz_violation("%s of TTL cell %d disposed of a value of cell %d", fz_opname(r), r->lf_cell, c);
    if (ctx == 2 && r->lf_lease_v != v)
        fz_violation("memo_release of a lease on #%d disposed of #%d (TTL cell %d)", fz_tid(r->lf_lease_v), v->id, c);
    if (ctx == 1 && !(TM[c].phase == TP_READY && TM[c].val == v))
        fz_violation("%s of TTL cell %d disposed of #%d, not the stale value it refreshed (#%d)", fz_opname(r), c,
                     v->id, fz_tid(TM[c].val));
    if (ctx == 0) {
        if (T.in_owner[c])
            fz_violation("TTL cell %d: a %s started while a constructor or destructor runs", c, what);
        T.in_owner[c] = 1;
    }
    if (r->t_ndisp++ && !fz_in_sweep(r))
        fz_violation("one %s call disposed of two TTL values", fz_opname(r));
    r->t_disp_val = v;
    r->t_disp_forget = forgot;
    v->dead = 1;
    v->forgot = forgot;
    if (forgot)
        T.n_forgot[c]++;
    else
        T.n_dtor[c]++;
    fz_sw_log(r, SW_TTL0 + c, v, forgot);
    fz_tval_t *nv = r->t_ctor_val;
    int out = r->t_ctor_out, nct = r->t_nctor, cerr = r->t_ctor_err, probe = v->probe;
    fz_unlock();
    memo_t *m = &T.cell[c];
    void *x = NULL;
    int e = memo_peek(m, &x);
    if (e == 0 && x == p)
        fz_violation("TTL cell %d: %s of #%d while memo_peek still returns it", c, what, v->id);
    if (ctx == 1) {
        /* the old value goes once the new one is published (or the cell is
         * FAILED), outside the busy period */
        if (!nct)
            fz_violation("%s of TTL cell %d disposed of #%d without a refresh", fz_opname(r), c, v->id);
        if (out == OUT_SUCCESS ? e != 0 || x != (void *)nv : e != EAGAIN)
            fz_violation("TTL cell %d: the refresh's %s of the old #%d ran while memo_peek returned %d (#%d); the "
                         "new value #%d must be published first (or the cell FAILED)", c, what, v->id, e, fz_tid(x),
                         fz_tid(nv));
        if (probe) {
            x = NULL;
            e = memo_get(m, &x);
            if (out == OUT_SUCCESS ? e != 0 || x != (void *)nv : e != cerr)
                fz_violation("TTL cell %d: memo_get from the destructor of the refreshed #%d returned %d (#%d)", c,
                             v->id, e, fz_tid(x));
        }
    } else if (ctx == 0) {
        if (e != EAGAIN)
            fz_violation("TTL cell %d: memo_peek from the %s of #%d in the cell returned %d (#%d)", c, what, v->id, e,
                         fz_tid(x));
        if (probe && ((e = memo_get(m, &x)) != EDEADLK || (e = memo_reset(m)) != EDEADLK))
            fz_violation("TTL cell %d: a call on its own cell from the %s of #%d in the cell returned %d, not EDEADLK",
                         c, what, v->id, e);
        fz_lock();
        T.in_owner[c] = 0;
        fz_unlock();
    }
}

static void fz_tdtor(void *arg, void *p) { fz_tdispose(arg, p, 0); }
static void fz_tforget(void *arg, void *p) { fz_tdispose(arg, p, 1); }

static int fz_life_run(fz_rec_t *r)
{
    int c = r->lf_cell;
    memo_t *m = &T.cell[c];
    fz_tslot_t *s = &T.ls[c][r->lf_slot & 3];
    void *x = NULL;
    int e = 0;
    switch (r->lf_op) {
    case LF_GET: e = (r->arg & LF_T0) ? memo_get_timed(m, &x, 0) : memo_get(m, &x); break;
    case LF_PEEK: e = memo_peek(m, &x); break;
    case LF_ACQ:
        e = memo_acquire(m, &s->l);
        x = s->l.value;
        if (e && x)
            fz_violation("memo_acquire of TTL cell %d returned %d but left the lease holding %p", c, e, x);
        break;
    case LF_REL: {
        fz_lock();
        fz_tval_t *v = s->held ? s->v : NULL;
        if (v != r->lf_lease_v)
            fz_violation("TTL lease slot %d.%d changed between the step's preparation and its run", c, r->lf_slot);
        if (v) {
            v->held--;
            s->held = 0;
            s->v = NULL;
        }
        fz_unlock();
        e = memo_release(&s->l);
        break;
    }
    case LF_RESET: e = memo_reset(m); break;
    case LF_ILEASE: e = memo_invalidate_lease(&s->l); break;
    case LF_SWEEP:
        e = (r->arg & LF_FORGET) ? memo_forget_all() : memo_shutdown();
        fz_lock();
        r->sw_n1 = r->sw_n;
        fz_unlock();
        if (r->arg & LF_TWICE)
            r->sw_err2 = (r->arg & LF_FORGET) ? memo_forget_all() : memo_shutdown();
        break;
    default: break; /* LF_NOP */
    }
    r->val = x;
    if (e == 0 && x) {
        /* read before any harness lock, as the main cell's values */
        if (!fz_tpayload_ok(x))
            r->payload_bad = 1;
    }
    if (r->lf_op == LF_ACQ && e == 0) {
        fz_lock();
        fz_tval_t *v = (fz_tval_t *)x;
        if (!fz_t_is_made(v) || v->dead)
            fz_violation("memo_acquire of TTL cell %d returned %p, %s", c, x,
                         fz_t_is_made(v) ? "already disposed of" : "a value no constructor made");
        v->held++;
        s->v = v;
        s->held = 1;
        fz_unlock();
    }
    return e;
}

/* --- the lifetime ops' model ------------------------------------------------ */

typedef struct fz_lexp {
    int err, died, ctor;
    int ret;            /* the value returned: 0 none, 1 `val`, 2 the one its constructor built */
    fz_tval_t *val;
    fz_tval_t *disp;    /* the one TTL value disposed of (not a sweep), or NULL */
    int disp_forget;
    int hl_slot;        /* the helper's lease slot */
    fz_tm_t next;       /* TM of the op's cell after it (not a sweep) */
    int newval;         /* next.val := the value built, with a new rank */
    int nsw;            /* sweep: the disposals, newest registration first */
    struct { int cell; uint64_t rank; void *v; int forget; } sw[8];
} fz_lexp_t;

static void fz_lpredict_get(const fz_rec_t *r, fz_lexp_t *x)
{
    int c = r->lf_cell;
    fz_tm_t *t = &x->next;
    uint64_t now = fz_ttl_now(), nown = fz_now();
    if (t->phase == TP_READY && now < t->exp) {
        x->ret = 1;
        x->val = t->val;
        return;
    }
    int refresh = t->phase == TP_READY;
    fz_tval_t *old = refresh ? t->val : NULL;
    int serve = refresh && fz_tservable(c, now, t->exp);
    if (t->phase != TP_EMPTY && t->failcur && nown < t->retry_at) { /* the backoff window */
        if (serve) {
            x->ret = 1;
            x->val = old;
        } else {
            x->err = t->err;
        }
        return;
    }
    uint8_t b = T.pending[c];
    x->ctor = 1;
    if ((b & B_GATED) && serve)
        for (int j = 0; j < FZ_SLOTS && x->hl_slot < 0; j++)
            if (j != (r->lf_op == LF_ACQ ? r->lf_slot : -1) && !T.ls[c][j].held)
                x->hl_slot = j;
    int old_held = old ? old->held + (x->hl_slot >= 0) : 0;
    int o = fz_outcome_of[b & 7];
    switch (o) {
    case OUT_SUCCESS:
        x->ret = 2;
        x->newval = 1;
        t->phase = TP_READY;
        t->exp = now + (uint64_t)T.ttl * MS;
        t->row = 0;
        t->failcur = 0;
        if (old && !old_held)
            x->disp = old;
        break;
    case OUT_FAIL:
    case OUT_NOVALUE: {
        int err = o == OUT_FAIL ? B_ERR(b) : MEMO_ENOVALUE;
        t->row++;
        t->retry_at = nown + fz_twindow_ms(t->row) * MS;
        t->err = err;
        t->failcur = 1;
        if (serve) { /* stale-if-error: the stale value stays and is this call's result */
            x->ret = 1;
            x->val = old;
        } else {
            x->err = err;
            if (old && !old_held)
                x->disp = old;
            t->phase = TP_FAILED;
            t->val = NULL;
        }
        break;
    }
    default: /* pthread_exit: the stale value stays READY, else EMPTY */
        x->died = 1;
        t->failcur = 0;
        if (!refresh) {
            t->phase = TP_EMPTY;
            t->val = NULL;
        }
    }
}

/* The registry as the model sees it: every cell holding a value, with its
 * registration rank, and whether a sweep disposes of it at once (not leased)
 * and visibly (every cell but MEMOIZE_VALUE has a destructor and a .forget). */
static void fz_lpredict_sweep(const fz_rec_t *r, fz_lexp_t *x)
{
    int forget = (r->arg & LF_FORGET) != 0;
    struct { int cell; uint64_t rank; void *v; } all[5];
    int n = 0;
    if (M.phase == PH_READY && !M.val->held) {
        all[n].cell = SW_MAIN, all[n].rank = M.rank, all[n].v = M.val;
        n++;
    }
    if (M.ipcur[IP_BLK]) {
        all[n].cell = SW_BLK, all[n].rank = M.iprank[IP_BLK], all[n].v = NULL;
        n++;
    }
    for (int c = 0; c < 2; c++)
        if (TM[c].phase == TP_READY && !TM[c].val->held) {
            all[n].cell = SW_TTL0 + c, all[n].rank = TM[c].rank, all[n].v = TM[c].val;
            n++;
        }
    /* newest first (selection sort: n <= 4) */
    for (int i = 0; i < n; i++) {
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (all[j].rank > all[best].rank)
                best = j;
        x->sw[i].cell = all[best].cell;
        x->sw[i].rank = all[best].rank;
        x->sw[i].v = all[best].v;
        x->sw[i].forget = forget;
        all[best] = all[i];
    }
    x->nsw = n;
}

/* H.mu held */
static void fz_life_predict(const fz_rec_t *r, fz_lexp_t *x)
{
    memset(x, 0, sizeof *x);
    x->hl_slot = -1;
    int c = r->lf_cell;
    x->next = TM[c];
    fz_tm_t *t = &x->next;
    uint64_t now = fz_ttl_now();
    switch (r->lf_op) {
    case LF_GET:
    case LF_ACQ:
        fz_lpredict_get(r, x);
        break;
    case LF_PEEK:
        if (t->phase == TP_READY && (now < t->exp || fz_tservable(c, now, t->exp))) {
            x->ret = 1;
            x->val = t->val;
        } else {
            x->err = EAGAIN;
        }
        break;
    case LF_RESET:
        /* A reset forgets the failure and its window, also of a READY cell
         * that kept its stale value through failed refreshes (memo_reset's
         * promise; 0.2.0 first left failures_in_row there, found here) */
        if (t->phase == TP_READY && !t->val->held)
            x->disp = t->val;
        if (t->phase != TP_EMPTY) { /* an EMPTY cell is left alone: its row
                                       stays (as the main cell's, input 29) */
            t->row = 0;
            t->retry_at = 0;
        }
        t->phase = TP_EMPTY;
        t->val = NULL;
        t->failcur = 0;
        break;
    case LF_ILEASE:
        if (!r->lf_lease_v) {
            x->err = EINVAL;
        } else if (t->phase == TP_READY && t->val == r->lf_lease_v) {
            t->phase = TP_EMPTY; /* detached: its own lease holds it */
            t->val = NULL;
            t->failcur = 0;
            t->row = 0; /* the value goes with a kept failure's row and window */
            t->retry_at = 0;
        } else {
            x->err = EALREADY;
        }
        break;
    case LF_REL: {
        fz_tval_t *v = r->lf_lease_v;
        if (!v)
            x->err = EINVAL;
        else if (v->held == 1 && !(t->phase == TP_READY && t->val == v)) {
            x->disp = v; /* the last lease on a detached value */
            x->disp_forget = v->doom_forget;
        }
        break;
    }
    case LF_SWEEP:
        fz_lpredict_sweep(r, x);
        break;
    default:
        break;
    }
}

/* After a sweep (H.mu held): every cell that held a value is empty; a leased
 * value was detached and goes at its last release, the sweep's way. */
static void fz_lcommit_sweep(const fz_rec_t *r)
{
    int forget = (r->arg & LF_FORGET) != 0;
    if (M.phase == PH_READY) {
        if (M.val->held)
            M.val->doom_forget = forget;
        M.phase = PH_EMPTY;
        M.val = NULL;
    }
    M.ipcur[IP_BLK] = M.ipcur[IP_VBL] = 0;
    for (int c = 0; c < 2; c++)
        if (TM[c].phase == TP_READY) {
            if (TM[c].val->held)
                TM[c].val->doom_forget = forget;
            TM[c].phase = TP_EMPTY;
            TM[c].val = NULL;
            TM[c].failcur = 0;
            TM[c].row = 0; /* as memo_reset: the failure and its window go */
            TM[c].retry_at = 0;
        }
}

static void fz_life_check_sweep(const fz_rec_t *r, const fz_lexp_t *x)
{
    const char *op = r->arg & LF_FORGET ? "memo_forget_all" : "memo_shutdown";
    if (r->died || r->err)
        fz_violation("%s returned %d%s", op, r->err, r->died ? " (worker died)" : "");
    if ((r->arg & LF_TWICE) && (r->sw_err2 || r->sw_n != r->sw_n1))
        fz_violation("a second %s returned %d and disposed of %d value(s); it must find nothing", op, r->sw_err2,
                     r->sw_n - r->sw_n1);
    if (r->sw_n1 != x->nsw || r->nctor || r->t_nctor || r->ip_nctor)
        fz_violation("%s disposed of %d value(s) (constructors %d %d %d); the model says %d", op, r->sw_n1, r->nctor,
                     r->t_nctor, r->ip_nctor, x->nsw);
    int used[8] = { 0 };
    for (int i = 0; i < x->nsw;) {
        int k = i;
        while (k < x->nsw && x->sw[k].rank == x->sw[i].rank)
            k++; /* registered in one window: any order among them */
        for (int a = i; a < k; a++) {
            int ok = 0;
            for (int b = i; b < k && !ok; b++)
                if (!used[b] && r->sw[a].cell == x->sw[b].cell && (!x->sw[b].v || r->sw[a].v == x->sw[b].v) &&
                    r->sw[a].forget == x->sw[b].forget)
                    used[b] = ok = 1;
            if (!ok) {
                fprintf(stderr, "--- %s: the model's disposals, newest registration first:", op);
                for (int j = 0; j < x->nsw; j++)
                    fprintf(stderr, " %s(rank %llu)", fz_sw_name[x->sw[j].cell], (unsigned long long)x->sw[j].rank);
                fprintf(stderr, "\n--- memo's:");
                for (int j = 0; j < r->sw_n1; j++)
                    fprintf(stderr, " %s%s", fz_sw_name[r->sw[j].cell], r->sw[j].forget ? "(forget)" : "");
                fprintf(stderr, "\n");
                fz_violation("%s: disposal %d was of the %s cell's value, not in the model's order", op, a,
                             fz_sw_name[r->sw[a].cell]);
            }
        }
        i = k;
    }
    fz_lcommit_sweep(r);
}

/* H.mu held: compare, then commit the model */
static void fz_life_check(fz_rec_t *r, const fz_lexp_t *x)
{
    if (r->lf_op == LF_SWEEP) {
        fz_life_check_sweep(r, x);
        return;
    }
    const char *op = fz_opname(r);
    int c = r->lf_cell;
    const fz_tm_t *t = &TM[c];
    if (r->nctor || r->ndtor || r->ip_nctor || r->ip_ndtor || r->ip_nforget)
        fz_violation("%s of TTL cell %d ran a constructor or destructor of another cell", op, c);
    if (r->t_nctor != x->ctor)
        fz_violation("%s of TTL cell %d (%s #%d, exp +%lld ns) %s the constructor; the model says it %s", op, c,
                     fz_tphase_name[t->phase], fz_tid(t->val), (long long)(t->exp - fz_ttl_now()),
                     r->t_nctor ? "ran" : "did not run", x->ctor ? "must" : "must not");
    if (r->died != x->died)
        fz_violation("%s of TTL cell %d: the worker %s, the model says it %s", op, c, r->died ? "died" : "returned",
                     x->died ? "dies (pthread_exit in the constructor)" : "returns");
    if (r->hl_slot != x->hl_slot)
        fz_violation("%s of TTL cell %d: the helper's acquire took slot %d, the model says %d", op, c, r->hl_slot,
                     x->hl_slot);
    if (!r->died) {
        if (r->err != x->err)
            fz_violation("%s of TTL cell %d (%s #%d) returned %d, the model says %d", op, c, fz_tphase_name[t->phase],
                         fz_tid(t->val), r->err, x->err);
        if (r->err == 0 && (r->lf_op == LF_GET || r->lf_op == LF_PEEK || r->lf_op == LF_ACQ)) {
            void *want = x->ret == 2 ? (void *)r->t_ctor_val : (void *)x->val;
            if (r->val != want || r->payload_bad)
                fz_violation("%s of TTL cell %d returned value #%d (%p%s), the model says #%d", op, c, fz_tid(r->val),
                             r->val, r->payload_bad ? ", not intact" : "", fz_tid(want));
        }
    }
    if (x->disp ? r->t_ndisp != 1 || r->t_disp_val != x->disp || r->t_disp_forget != x->disp_forget
                : r->t_ndisp != 0)
        fz_violation("%s of TTL cell %d disposed of %d value(s) (#%d%s); the model says %s #%d%s", op, c, r->t_ndisp,
                     fz_tid(r->t_disp_val), r->t_disp_forget ? ", .forget" : "", x->disp ? "one:" : "none",
                     fz_tid(x->disp), x->disp_forget ? ", .forget" : "");
    int refreshed = TM[c].val != NULL; /* the cell held a value: a refresh */
    uint64_t prior_rank = TM[c].rank;
    TM[c] = x->next;
    if (x->newval) {
        TM[c].val = r->t_ctor_val;
        /* a refresh keeps the cell's registration (memo_shutdown order:
         * values built from it since stay newer); a first build is new */
        TM[c].rank = refreshed ? prior_rank : ++M.tick;
    }
}

/* A dispatcher action: both fake clocks forward (ARG bits 4-7: how far;
 * targets on TTL cell ARG bit 3's expiry, end of max_stale, backoff window). */
static void fz_ttl_step(int arg)
{
    const fz_tm_t *t = &TM[(arg & LF_CELL) != 0];
    uint64_t now = fz_ttl_now(), nown = fz_now(), d = 0, target = 0;
    uint64_t stale_end = t->exp + (uint64_t)(T.stale ? T.stale : 3600000u) * MS;
    int on_ttl = 0;
    switch ((arg >> 4) & 15) {
    case 0: d = 1; break;
    case 1: d = MS; break;
    case 2: d = 10 * MS; break;
    case 3: d = (uint64_t)T.ttl * MS / 2; break;
    case 4: target = t->exp - 1, on_ttl = 1; break; /* the last ns of freshness */
    case 5: target = t->exp, on_ttl = 1; break;     /* stale */
    case 6: target = stale_end - 1, on_ttl = 1; break;
    case 7: target = stale_end, on_ttl = 1; break;
    case 8: d = t->retry_at > nown + 1 ? t->retry_at - 1 - nown : 0; break;
    case 9: d = t->retry_at > nown ? t->retry_at - nown : 0; break;
    case 10: d = 1000 * MS; break;
    case 11: d = 3600000 * MS; break;
    case 12: d = (uint64_t)T.ttl * MS; break;
    case 13: d = 2 * (uint64_t)T.ttl * MS + 1; break;
    case 14: d = 100 * MS; break;
    default: /* past both the expiry and the window */
        d = t->exp > now ? t->exp - now : 0;
        if (t->retry_at > nown && t->retry_at - nown > d)
            d = t->retry_at - nown;
        break;
    }
    if (on_ttl)
        d = t->phase == TP_READY && target > now ? target - now : 0;
    atomic_fetch_add(&fz_ttl_ns, d);
    atomic_fetch_add(&fz_now_ns, d);
}

/* At a quiescent point (H.mu not held) */
static void fz_check_ttl(void)
{
    for (int c = 0; c < 2; c++) {
        memo_stats_t st = memo_stats(&T.cell[c]);
        void *x = NULL;
        int pe = memo_peek(&T.cell[c], &x);
        fz_lock();
        const fz_tm_t *t = &TM[c];
        if (st.attempts != T.n_begin[c] || st.successes != T.n_succ[c] || st.failures != T.n_fail[c] ||
            st.waits != 0 || st.failures_in_row != t->row || st.last_error != T.last_err[c] || st.last_ctor_ns != 0)
            fz_violation("TTL cell %d stats: attempts %u successes %u failures %u waits %u in_row %u last_error %d "
                         "last_ctor_ns %llu; harness %u %u %u 0, model in_row %u, last error %d, 0 ns", c, st.attempts,
                         st.successes, st.failures, st.waits, st.failures_in_row, st.last_error,
                         (unsigned long long)st.last_ctor_ns, T.n_begin[c], T.n_succ[c], T.n_fail[c], t->row,
                         T.last_err[c]);
        uint64_t now = fz_ttl_now();
        int vis = t->phase == TP_READY && (now < t->exp || fz_tservable(c, now, t->exp));
        if (vis ? pe != 0 || x != (void *)t->val : pe != EAGAIN)
            fz_violation("memo_peek of TTL cell %d returned %d (#%d); the model: %s #%d, exp %+lld ns", c, pe,
                         fz_tid(x), fz_tphase_name[t->phase], fz_tid(t->val), (long long)(t->exp - now));
        int alive = 0;
        for (uint32_t i = 0; i < T.nmade; i++) {
            const fz_tval_t *v = T.made[i];
            if (v->cell != c || v->dead)
                continue;
            alive++;
            int held = 0;
            for (int j = 0; j < FZ_SLOTS; j++)
                held += T.ls[c][j].held && T.ls[c][j].v == v;
            if (held != v->held)
                fz_violation("harness: TTL value #%d held %d, in %d slots", v->id, v->held, held);
            if (!(t->phase == TP_READY && t->val == v) && !v->held)
                fz_violation("TTL cell %d: value #%d is not the cell's, not leased, and was never disposed of", c,
                             v->id);
        }
        if (t->phase == TP_READY && t->val->dead)
            fz_violation("TTL cell %d: the model's value #%d is dead", c, t->val->id);
        if (T.n_succ[c] != T.n_dtor[c] + T.n_forgot[c] + (uint32_t)alive)
            fz_violation("TTL cell %d: constructions %u != destructions %u + forgotten %u + live %d", c, T.n_succ[c],
                         T.n_dtor[c], T.n_forgot[c], alive);
        fz_unlock();
    }
}

static void fz_dump_ttl(void)
{
    uint64_t now = fz_ttl_now(), nown = fz_now();
    fprintf(stderr, "--- TTL cells: ttl_ms %u, max_stale_ms %u (STALE cell), retry_min_ms %u, retry_max_ms %u; "
            "TTL clock +%llu ns\n", T.ttl, T.stale, T.min, T.max, (unsigned long long)(now - FZ_TTL_BASE));
    for (int c = 0; c < 2; c++) {
        const fz_tm_t *t = &TM[c];
        memo_stats_t st = memo_stats(&T.cell[c]);
        fprintf(stderr, "--- TTL cell %d (%s): model %s #%d exp %+lld ns, row %u, window %s (ends %+lld ns), err %d, "
                "rank %llu; stats attempts %u successes %u failures %u in_row %u; harness dtors %u forgets %u\n", c,
                c ? "STALE" : "BLOCK", fz_tphase_name[t->phase], fz_tid(t->val), (long long)(t->exp - now), t->row,
                t->failcur ? "current" : "none", (long long)(t->retry_at - nown), t->err,
                (unsigned long long)t->rank, st.attempts, st.successes, st.failures, st.failures_in_row,
                T.n_dtor[c], T.n_forgot[c]);
        fprintf(stderr, "    leases:");
        for (int j = 0; j < FZ_SLOTS; j++)
            if (T.ls[c][j].held)
                fprintf(stderr, " %d=#%d", j, T.ls[c][j].v->id);
        fprintf(stderr, "; not disposed of:");
        for (uint32_t i = 0; i < T.nmade; i++)
            if (T.made[i]->cell == c && !T.made[i]->dead)
                fprintf(stderr, " #%d(held %d%s)", T.made[i]->id, T.made[i]->held,
                        T.made[i]->doom_forget ? ", to forget" : "");
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "--- registration ranks: main %llu, in-place %llu %llu\n", (unsigned long long)M.rank,
            (unsigned long long)M.iprank[0], (unsigned long long)M.iprank[1]);
}

static void fz_run(fz_rec_t *r)
{
    void *v = NULL;
    fz_slot_t *s = NULL;
    switch (r->kind) {
    case K_GET: r->err = memo_get(&H.cell, &v); break;
    case K_GET_T0: r->err = memo_get_timed(&H.cell, &v, 0); break;
    case K_GET_TSHORT: r->err = memo_get_timed(&H.cell, &v, r->timeout); break;
    case K_PEEK: r->err = memo_peek(&H.cell, &v); break;
    case K_RESET: r->err = memo_reset(&H.cell); break;
    case K_INVALIDATE: r->err = memo_invalidate(&H.cell, r->seen); break;
    case K_ACQUIRE:
        s = &H.w[r->worker].ls[r->slot];
        r->err = memo_acquire(&H.cell, &s->l);
        v = s->l.value;
        if (r->err && v)
            fz_violation("memo_acquire returned %d but left the lease holding %p", r->err, v);
        break;
    case K_RELEASE: r->err = fz_release(r); break;
    case K_NOP: r->err = 0; break;
    case K_GET_THUGE: r->err = memo_get_timed(&H.cell, &v, r->timeout); break;
    case K_INPLACE: r->err = fz_inplace(r); break;
    case K_INVAL_LEASE: r->err = fz_inval_lease(r); break;
    case K_CYCLES: r->err = fz_cycles(r); break;
    case K_LIFE: r->err = fz_life_run(r); return;
    default: r->err = fz_badargs(r->arg); break;
    }
    r->val = v;
    if (r->err == 0 && v) {
        /* Read before any harness lock: the constructor wrote it before
         * memo published the value, so only memo's release/acquire orders
         * these (ThreadSanitizer checks it). */
        const fz_value_t *x = (const fz_value_t *)v;
        if (x->magic != FZ_MAGIC || x->payload != fz_payload_of(x))
            r->payload_bad = 1;
    }
    if (s && r->err == 0) {
        fz_lock();
        fz_pinned(r, s, v);
        fz_unlock();
    }
}

static void fz_worker_died(void *p)
{
    fz_worker_t *w = (fz_worker_t *)p;
    fz_lock();
    w->rec.died = 1;
    w->rec.end = H.nev;
    w->busy = 0;
    w->dead = 1;
    pthread_cond_broadcast(&H.cv_d);
    fz_unlock();
}

static void fz_run_guarded(fz_worker_t *w)
{
    pthread_cleanup_push(fz_worker_died, w);
    fz_run(&w->rec);
    pthread_cleanup_pop(0);
}

static void *fz_worker_main(void *p)
{
    fz_worker_t *w = (fz_worker_t *)p;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    for (;;) {
        fz_lock();
        while (!w->go)
            pthread_cond_wait(&w->cv, &H.mu);
        w->go = 0;
        w->rec.start = H.nev;
        fz_unlock();
        fz_cur = &w->rec;
        if (w->rec.burst > 1) { /* start together: the calls race in memo, not here */
            atomic_fetch_add(&fz_burst_arrived, 1);
            for (unsigned spin = 0; atomic_load(&fz_burst_arrived) < w->rec.burst; spin++)
                if (spin > 64)
                    sched_yield();
        }
        fz_run_guarded(w);
        fz_lock();
        w->rec.end = H.nev;
        w->rec.done_gated = H.gate_in && !H.gate_open;
        w->busy = 0;
        pthread_cond_broadcast(&H.cv_d);
        fz_unlock();
    }
    return NULL;
}

/* An idle worker, trying `want` first (respawned if it died); NULL if all are
 * busy. */
static fz_worker_t *fz_take_worker(int want)
{
    for (int i = 0; i < H.nw; i++) {
        fz_worker_t *w = &H.w[(want + i) % H.nw];
        fz_lock();
        int busy = w->busy, dead = w->dead;
        fz_unlock();
        if (busy)
            continue;
        if (dead) {
            pthread_join(w->th, NULL);
            w->dead = 0;
            w->exists = 0;
        }
        if (!w->exists) {
            if (pthread_create(&w->th, NULL, fz_worker_main, w) != 0) {
                fprintf(stderr, "fuzz_cell: pthread_create failed\n");
                abort();
            }
            w->exists = 1;
        }
        return w;
    }
    return NULL;
}

static void *fz_pick_seen(int arg)
{
    void *p = &H.foreign;
    fz_lock();
    if (H.nmade) {
        switch (arg & 3) {
        case 0: p = H.made[H.nmade - 1]; break;
        case 1: p = M.phase == PH_READY ? (void *)M.val : (void *)H.made[H.nmade - 1]; break;
        case 2: p = H.made[(uint32_t)(arg >> 2) % H.nmade]; break;
        default: break;
        }
    }
    fz_unlock();
    return p;
}

static void fz_prepare(fz_worker_t *w, int kind, int arg)
{
    fz_lock();
    memset(&w->rec, 0, sizeof w->rec);
    w->rec.kind = kind;
    w->rec.arg = arg;
    w->rec.step = H.cur_step;
    w->rec.worker = w->id;
    w->rec.timeout = kind == K_GET_THUGE ? fz_huge_tab[arg & 7] : 1 + (arg & 1);
    if (kind == K_INVAL_LEASE) {
        w->rec.slot = arg & 3;
        if ((arg & REL_MISUSE) == REL_MISUSE)
            w->rec.lease_mode = LM_MISUSE;
        else if (w->ls[arg & 3].held)
            w->rec.lease_val = w->ls[arg & 3].v;
        w->rec.seen = w->rec.lease_val;
    }
    if (kind == K_LIFE) {
        int c = (arg & LF_CELL) != 0;
        w->rec.lf_op = arg & 7;
        w->rec.lf_cell = c;
        w->rec.hl_slot = -1;
        w->rec.lf_slot = (arg >> 4) & 3;
        if (w->rec.lf_op == LF_ACQ) { /* the slot ARG names, or the next free one */
            w->rec.lf_slot = -1;
            for (int j = 0; j < FZ_SLOTS && w->rec.lf_slot < 0; j++)
                if (!T.ls[c][((arg >> 4) + j) % FZ_SLOTS].held)
                    w->rec.lf_slot = ((arg >> 4) + j) % FZ_SLOTS;
            if (w->rec.lf_slot < 0) {
                w->rec.lf_op = LF_NOP;
                w->rec.lf_slot = 0;
            }
        }
        if (w->rec.lf_op == LF_REL || w->rec.lf_op == LF_ILEASE)
            w->rec.lf_lease_v = T.ls[c][w->rec.lf_slot].held ? T.ls[c][w->rec.lf_slot].v : NULL;
    }
    if (kind == K_CYCLES) {
        if (M.phase == PH_BUSY) {
            w->rec.kind = K_NOP; /* its memo_reset would wait for the gate */
        } else {
            w->rec.pre_val = M.phase == PH_READY ? M.val : NULL;
            H.pending = 0;
        }
    }
    if (kind == K_ACQUIRE) { /* the slot ARG names, or the next free one */
        w->rec.slot = -1;
        for (int j = 0; j < FZ_SLOTS && w->rec.slot < 0; j++)
            if (!w->ls[(arg + j) % FZ_SLOTS].held)
                w->rec.slot = (arg + j) % FZ_SLOTS;
        if (w->rec.slot < 0)
            w->rec.kind = K_NOP;
    }
    if (kind == K_RELEASE) {
        const fz_slot_t *s = &w->ls[arg & 3];
        w->rec.slot = arg & 3;
        if ((arg & REL_MISUSE) == REL_MISUSE)
            w->rec.lease_mode = LM_MISUSE;
        else if ((arg & REL_COPY) && !H.in_burst && s->has_stale && s->stale_v->held == 0 &&
                 s->stale_v->releasing == 0)
            w->rec.lease_mode = LM_COPY; /* no lease of its value is outstanding: EINVAL for sure */
        else
            w->rec.lease_val = s->held ? s->v : NULL;
    }
    w->busy = 1;
    fz_unlock();
    if (kind == K_INVALIDATE)
        w->rec.seen = fz_pick_seen(arg);
}

/* --- dispatcher waits (H.mu held) ---------------------------------------- */

/* Waits on cv_d for at most tick_ns; fails the run once `deadline` passed. */
static void fz_wait_d(uint64_t deadline, uint64_t tick_ns, const char *what)
{
    uint64_t now = mt_now_ns();
    if (now >= deadline)
        fz_violation("hang: %s did not happen within %llu s", what,
                     (unsigned long long)(FZ_HANG_NS / 1000000000u));
    uint64_t until = now + tick_ns < deadline ? now + tick_ns : deadline;
    struct timespec ts;
    ts.tv_sec = (time_t)(until / 1000000000u);
    ts.tv_nsec = (long)(until % 1000000000u);
    pthread_cond_timedwait(&H.cv_d, &H.mu, &ts);
}

static int fz_any_busy(void)
{
    for (int i = 0; i < H.nw; i++)
        if (H.w[i].busy)
            return 1;
    return 0;
}

static void fz_go(fz_worker_t *w)
{
    fz_lock();
    w->go = 1;
    pthread_cond_signal(&w->cv);
    fz_unlock();
}

/* --- checks ------------------------------------------------------------------ */

static void fz_check_quiescent(void)
{
    memo_stats_t st = memo_stats(&H.cell);
    void *x = NULL;
    int pe = memo_peek(&H.cell, &x);
    fz_lock();
    if (st.attempts != H.n_begin)
        fz_violation("stats.attempts %u, but the constructor was called %u times", st.attempts, H.n_begin);
    if (st.successes != H.n_succ)
        fz_violation("stats.successes %u, but %u constructor calls succeeded", st.successes, H.n_succ);
    if (st.failures != H.n_fail)
        fz_violation("stats.failures %u, but %u constructor calls failed", st.failures, H.n_fail);
    if (st.waits != M.waits)
        fz_violation("stats.waits %u, model %u", st.waits, M.waits);
    if (st.failures_in_row != M.row)
        fz_violation("stats.failures_in_row %u, model %u", st.failures_in_row, M.row);
    if (st.last_error != H.last_fail_err)
        fz_violation("stats.last_error %d, last failed attempt %d", st.last_error, H.last_fail_err);
    if (st.last_ctor_ns != H.last_succ_ns)
        fz_violation("stats.last_ctor_ns %llu, last successful construction took %llu ns (fake clock)",
                     (unsigned long long)st.last_ctor_ns, (unsigned long long)H.last_succ_ns);
    int ready = M.phase == PH_READY, alive = 0;
    for (uint32_t i = 0; i < H.nmade; i++)
        H.made[i]->mark = 0;
    for (int i = 0; i < FZ_MAX_WORKERS; i++)
        for (int j = 0; j < FZ_SLOTS; j++)
            if (H.w[i].ls[j].held)
                H.w[i].ls[j].v->mark++;
    for (uint32_t i = 0; i < H.nmade; i++) {
        const fz_value_t *v = H.made[i];
        if (v->mark != v->held || v->releasing)
            fz_violation("harness: value %p held %d, in %d slots, releasing %d", (void *)v, v->held, v->mark,
                         v->releasing);
        if (v->dead)
            continue;
        alive++;
        if (!(ready && v == M.val) && v->held == 0)
            fz_violation("value %p is not the cell's, no lease on it is held, and it was never destroyed",
                         (void *)v);
    }
    if (H.live != alive)
        fz_violation("harness: %d live values counted, %d found", H.live, alive);
    if (H.n_succ != H.n_dtor + H.n_forgot + (uint32_t)alive)
        fz_violation("constructions %u != destructions %u + forgotten %u + live %d", H.n_succ, H.n_dtor, H.n_forgot,
                     alive);
    if (ready ? pe != 0 || x != (void *)M.val : pe != EAGAIN)
        fz_violation("memo_peek returned %d (%p) in phase %s (value %p)", pe, x, fz_phase_name[M.phase],
                     (void *)M.val);
    if (ready && M.val->dead)
        fz_violation("the model's value %p is dead", (void *)M.val);
    for (int c = 0; c < 2; c++) {
        void *p = NULL;
        int ipe = memo_peek(fz_ip_cell(c), &p);
        if ((ipe == 0) != (M.ipcur[c] != 0))
            fz_violation("memo_peek of the %s cell returned %d; the model says it holds %llu", fz_ip_name[c], ipe,
                         (unsigned long long)M.ipcur[c]);
    }
    if (atomic_load(&IP.cur[IP_BLK]) != M.ipcur[IP_BLK] ||
        atomic_load(&IP.made[IP_BLK]) != atomic_load(&IP.ndtor) + atomic_load(&IP.nforgot) + (M.ipcur[IP_BLK] != 0))
        fz_violation("%s cell: %llu made, %llu destroyed, %llu forgotten, constructor/destructor say it holds %llu, "
                     "the model %llu", fz_ip_name[IP_BLK], (unsigned long long)atomic_load(&IP.made[IP_BLK]),
                     (unsigned long long)atomic_load(&IP.ndtor), (unsigned long long)atomic_load(&IP.nforgot),
                     (unsigned long long)atomic_load(&IP.cur[IP_BLK]), (unsigned long long)M.ipcur[IP_BLK]);
    fz_unlock();
    if (H.life)
        fz_check_ttl();
}

/* A returned value is genuine and was live at some point of the call. */
static void fz_check_value(const fz_rec_t *r)
{
    const fz_value_t *v = (const fz_value_t *)r->val;
    if (r->payload_bad)
        fz_violation("%s returned %p whose contents are not what the constructor wrote", fz_opname(r), r->val);
    if (!v || !fz_is_made(v))
        fz_violation("%s returned %p, a value no constructor made", fz_opname(r), r->val);
    if (v->serial >= r->end)
        fz_violation("%s returned %p before its construction ended", fz_opname(r), r->val);
    if (v->dead && v->death < r->start)
        fz_violation("%s returned %p, destroyed (event %u) before the call began (event %u)", fz_opname(r),
                     r->val, v->death, r->start);
}

/* An error a call that did not construct may return: the failure it waited
 * on, or the latest failure before it began (backoff window). */
static int fz_failure_seen(int err, uint32_t start, uint32_t end)
{
    for (uint32_t i = end; i-- > 0;) {
        const fz_event_t *e = &H.ev[i];
        if (e->kind == EV_END && (e->out == OUT_FAIL || e->out == OUT_NOVALUE)) {
            if (e->err == err)
                return 1;
            if (i < start)
                return 0;
        }
    }
    return 0;
}

/* The result of a call that ran the constructor is exactly its outcome. */
static void fz_check_own_ctor(const fz_rec_t *r)
{
    switch (r->ctor_out) {
    case OUT_SUCCESS:
        if (r->died || r->err != 0 || r->val != (void *)r->ctor_val)
            fz_violation("%s ran the constructor, which made %p, but returned %d (%p)", fz_opname(r),
                         (void *)r->ctor_val, r->err, r->val);
        break;
    case OUT_FAIL:
    case OUT_NOVALUE:
        if (r->died || r->err != r->ctor_err)
            fz_violation("%s ran the constructor, which failed with %d, but returned %d", fz_opname(r),
                         r->ctor_err, r->err);
        break;
    default:
        if (!r->died)
            fz_violation("%s returned %d although its constructor %s", fz_opname(r), r->err,
                         fz_out_name[r->ctor_out]);
    }
}

/* Resets and invalidates of the current window (burst or gate) that returned
 * 0 without running a destructor: busy periods the event log cannot show
 * (the value was leased, so it was detached, not destroyed).  H.mu held. */
static int fz_win_silent_busy;

static void fz_count_silent_busy(fz_rec_t *const *recs, int n)
{
    fz_win_silent_busy = 0;
    for (int i = 0; i < n; i++)
        if ((recs[i]->kind == K_RESET || recs[i]->kind == K_INVALIDATE || recs[i]->kind == K_INVAL_LEASE) &&
            recs[i]->err == 0 &&
            recs[i]->ndtor == 0)
            fz_win_silent_busy++;
}

/* Rules that hold in every interleaving (bursts, the aftermath of a gate).
 * wb: the event log length when the window began. */
static void fz_check_tolerant(const fz_rec_t *r, uint32_t wb)
{
    if (r->ndtor && r->kind != K_RESET && r->kind != K_INVALIDATE && r->kind != K_RELEASE && r->kind != K_ACQUIRE)
        fz_violation("%s ran the destructor", fz_opname(r));
    if (r->nctor && !IS_CTORLIKE(r->kind))
        fz_violation("%s ran the constructor", fz_opname(r));
    if (r->died && !r->nctor)
        fz_violation("worker %d died in %s outside a constructor", r->worker, fz_opname(r));
    if (r->nctor) {
        /* An acquire whose (last) constructor call succeeded but whose value
         * was detached before it could pin it looked again: get's rules. */
        if (!(r->kind == K_ACQUIRE && r->ctor_out == OUT_SUCCESS && !r->died &&
              (r->err != 0 || r->val != (void *)r->ctor_val))) {
            fz_check_own_ctor(r);
            return;
        }
    }
    switch (r->kind) {
    case K_GET:
    case K_GET_T0:
    case K_GET_TSHORT:
    case K_GET_THUGE:
    case K_ACQUIRE:
        if (r->err == 0) {
            fz_check_value(r);
        } else if (r->err == ETIMEDOUT && r->kind == K_GET_THUGE) {
            fz_violation("get_timed(%ld ms) returned ETIMEDOUT: a timeout that large must wait like get",
                         r->timeout);
        } else if (r->err == ETIMEDOUT && (r->kind == K_GET_T0 || r->kind == K_GET_TSHORT)) {
            /* A reset or invalidate that detached a leased value ran no
             * destructor, yet it was a busy period (the owner moves the
             * epoch): a get_timed(0) that met it timed out rightly. */
            uint32_t lower = r->start > wb ? r->start - 1 : wb;
            if (H.nev <= lower && !fz_win_silent_busy)
                fz_violation("%s returned ETIMEDOUT, but no constructor or destructor ran during it",
                             fz_opname(r));
        } else if (!fz_failure_seen(r->err, r->start, r->end)) {
            fz_violation("%s returned %d, an error no attempt it could have seen produced", fz_opname(r),
                         r->err);
        }
        break;
    case K_PEEK:
        if (r->err == 0)
            fz_check_value(r);
        else if (r->err != EAGAIN)
            fz_violation("memo_peek returned %d", r->err);
        break;
    case K_RESET:
        if (r->err != 0)
            fz_violation("memo_reset returned %d", r->err);
        break;
    case K_INVALIDATE:
        if (r->err == 0 && r->ndtor == 0) { /* detached a leased value */
            const fz_value_t *sv = (const fz_value_t *)r->seen;
            if (!fz_is_made(sv) || (sv->dead && (sv->death < r->start || !(H.ev[sv->death].out & DT_DEFERRED))))
                fz_violation("memo_invalidate(%p) returned 0 without destroying it, but it was %s", r->seen,
                             fz_is_made(sv) ? "destroyed by someone else" : "never made");
        } else if (r->err == 0) {
            if (r->ndtor != 1 || r->dtor_val != r->seen)
                fz_violation("memo_invalidate(%p) returned 0 but destroyed %p", r->seen, (void *)r->dtor_val);
        } else if (r->err == EALREADY) {
            if (r->ndtor)
                fz_violation("memo_invalidate returned EALREADY but destroyed %p", (void *)r->dtor_val);
        } else {
            fz_violation("memo_invalidate returned %d", r->err);
        }
        break;
    case K_RELEASE: {
        int want = r->lease_mode == LM_SLOT && r->lease_val ? 0 : EINVAL;
        if (r->err != want)
            fz_violation("memo_release of %s returned %d, not %d",
                         r->lease_mode == LM_COPY ? "a released copy" : r->lease_mode == LM_MISUSE ? "a misuse"
                         : r->lease_val ? "a held lease" : "an empty slot", r->err, want);
        if (r->ndtor > 1 || (r->ndtor && r->dtor_val != r->lease_val))
            fz_violation("memo_release destroyed %p (%d times); its lease was on %p", (void *)r->dtor_val, r->ndtor,
                         (void *)r->lease_val);
        break;
    }
    case K_INVAL_LEASE:
        if (r->lease_mode != LM_SLOT || !r->lease_val) {
            if (r->err != EINVAL)
                fz_violation("memo_invalidate_lease of %s returned %d, not EINVAL",
                             r->lease_mode == LM_MISUSE ? "a misuse" : "an empty slot", r->err);
        } else if (r->err != 0 && r->err != EALREADY) {
            fz_violation("memo_invalidate_lease of a held lease returned %d", r->err);
        }
        if (r->ndtor)
            fz_violation("memo_invalidate_lease destroyed %p, a value its own lease holds", (void *)r->dtor_val);
        break;
    case K_NOP:
    case K_INPLACE: /* checked as it ran */
        break;
    default:
        if (r->err != 0)
            fz_violation("bad-args variant %d: memo accepted a bad argument (check %d)", r->arg & 7, r->err);
    }
}

/* After a window the model takes the cell's state from the harness's event
 * log; memo_stats().failures_in_row decides only what the log cannot tell
 * (whether a reset forgot the last failure), within bounds the log sets. */
/* Could one of these calls have detached v without destroying it?  A reset,
 * or an invalidate of v, that returned 0 without a destructor call, and
 * ended after v was made. */
static int fz_could_detach(const fz_value_t *v, fz_rec_t *const *recs, int n)
{
    for (int i = 0; i < n; i++) {
        const fz_rec_t *r = recs[i];
        if ((r->kind == K_RESET || ((r->kind == K_INVALIDATE || r->kind == K_INVAL_LEASE) && r->seen == (const void *)v)) &&
            r->err == 0 &&
            r->ndtor == 0 && !r->died && r->end > v->serial)
            return 1;
    }
    return 0;
}

/* recs: the calls of the window (to tell a value detached under a lease,
 * which leaves no event, from one that vanished).  waits_slack: how many
 * more waits memo may have counted than the model (-1: any number). */
static void fz_resync(uint32_t wb, int had_reset, int waits_slack, fz_rec_t *const *recs, int nrec)
{
    memo_stats_t st = memo_stats(&H.cell);
    void *px = NULL;
    int pe = memo_peek(&H.cell, &px);
    fz_lock();
    uint32_t row = M.row;
    int last = -1;
    for (uint32_t i = wb; i < H.nev; i++) {
        const fz_event_t *e = &H.ev[i];
        if (e->kind == EV_BEGIN || (e->kind == EV_DTOR && (e->out & DT_DEFERRED)))
            continue; /* a deferred destructor does not change the cell */
        if (e->kind == EV_END && e->out == OUT_SUCCESS)
            row = 0;
        else if (e->kind == EV_END && (e->out == OUT_FAIL || e->out == OUT_NOVALUE))
            row++;
        last = (int)i;
    }
    if (had_reset ? st.failures_in_row > row : st.failures_in_row != row)
        fz_violation("stats.failures_in_row %u; the attempts in this window allow %s%u", st.failures_in_row,
                     had_reset ? "at most " : "exactly ", row);
    if (last < 0 && M.phase == PH_FAILED && had_reset && st.failures_in_row != 0)
        fz_violation("a reset of a FAILED cell left failures_in_row %u", st.failures_in_row);
    M.row = st.failures_in_row;
    if (last < 0) {
        if (M.phase == PH_FAILED && M.row == 0)
            M.phase = PH_EMPTY;
    } else {
        const fz_event_t *e = &H.ev[last];
        if (e->kind == EV_DTOR || e->out == OUT_EXIT || e->out == OUT_CANCEL) {
            M.phase = PH_EMPTY;
        } else if (e->out == OUT_SUCCESS) {
            M.phase = PH_READY;
            M.val = e->v;
        } else if (M.row == 0) {
            M.phase = PH_EMPTY;
        } else {
            M.phase = PH_FAILED;
            M.err = e->err;
            M.retry_at = e->now + fz_window_ms(M.row) * MS;
        }
    }
    if (M.phase == PH_READY && (pe == EAGAIN || M.val->dead)) {
        /* no event after the value's construction emptied the cell: a reset or
         * invalidate must have detached it under a lease */
        if (!fz_could_detach(M.val, recs, nrec))
            fz_violation("value %p left the cell without a destructor call, and no reset or invalidate of"
                         " this window returned without destroying", (void *)M.val);
        M.phase = PH_EMPTY;
    }
    if (M.phase != PH_READY)
        M.val = NULL;
    if (waits_slack != 0) {
        if (st.waits < M.waits || (waits_slack > 0 && st.waits > M.waits + (uint32_t)waits_slack))
            fz_violation("stats.waits %u; the model allows %u to %u", st.waits, M.waits,
                         waits_slack > 0 ? M.waits + (uint32_t)waits_slack : UINT32_MAX);
        M.waits = st.waits;
    }
    fz_unlock();
}

/* --- sequential steps: exact prediction ------------------------------------- */

typedef struct fz_expect {
    int err;
    fz_value_t *val;
    int fresh, ctor, gate, dies;
    fz_value_t *dtor;
    int forget;           /* the disposal of dtor is .forget (memo_forget_all detached it) */
} fz_expect_t;

static fz_expect_t fz_predict(const fz_rec_t *r)
{
    fz_expect_t e;
    memset(&e, 0, sizeof e);
    switch (r->kind) {
    case K_GET:
    case K_GET_T0:
    case K_GET_TSHORT:
    case K_GET_THUGE:
    case K_ACQUIRE: {
        if (M.phase == PH_READY) {
            e.val = M.val;
            break;
        }
        if (M.phase == PH_FAILED && M.min_ms && fz_now() < M.retry_at) {
            e.err = M.err;
            break;
        }
        uint8_t b = H.pending;
        e.ctor = 1;
        e.gate = (b & B_GATED) != 0;
        switch (fz_outcome_of[b & 7]) {
        case OUT_SUCCESS: e.fresh = 1; break;
        case OUT_FAIL: e.err = B_ERR(b); break;
        case OUT_NOVALUE: e.err = MEMO_ENOVALUE; break;
        default: e.dies = 1;
        }
        break;
    }
    case K_PEEK:
        if (M.phase == PH_READY)
            e.val = M.val;
        else
            e.err = EAGAIN;
        break;
    case K_RESET: /* a leased value is detached, destroyed at its last release */
        if (M.phase == PH_READY && !M.val->held)
            e.dtor = M.val;
        break;
    case K_INVALIDATE:
        if (M.phase == PH_READY && r->seen == (void *)M.val)
            e.dtor = M.val->held ? NULL : M.val;
        else
            e.err = EALREADY;
        break;
    case K_INVAL_LEASE: /* exact: only the cell's current value, which its lease keeps alive */
        if (r->lease_mode != LM_SLOT || !r->lease_val)
            e.err = EINVAL;
        else if (!(M.phase == PH_READY && M.val == r->lease_val))
            e.err = EALREADY;
        break;
    case K_RELEASE:
        if (r->lease_mode != LM_SLOT || !r->lease_val)
            e.err = EINVAL;
        else if (r->lease_val->held == 1 && !(M.phase == PH_READY && M.val == r->lease_val)) {
            e.dtor = r->lease_val; /* the last lease on a detached value */
            e.forget = r->lease_val->doom_forget;
        }
        break;
    default:
        break;
    }
    return e;
}

static void fz_compare(const fz_rec_t *r, const fz_expect_t *e)
{
    const char *op = fz_opname(r);
    if (r->nctor != e->ctor)
        fz_violation("%s %s the constructor; the model says it %s (phase %s)", op, r->nctor ? "ran" : "did not run",
                     e->ctor ? "must" : "must not", fz_phase_name[M.phase]);
    if (e->gate) {
        if (!r->nctor || !H.gate_in || H.gate_worker != r->worker)
            fz_violation("%s should be blocked in its gated constructor", op);
        return;
    }
    if (H.w[r->worker].busy)
        fz_violation("%s is blocked in the gate although the model says its constructor is not gated", op);
    if (e->dies != r->died)
        fz_violation("%s: worker %s, the model says it %s (pthread_exit in the constructor)", op,
                     r->died ? "died" : "returned", e->dies ? "dies" : "returns");
    if (r->died)
        return;
    if (r->err != e->err)
        fz_violation("%s returned %d, the model says %d (phase %s)", op, r->err, e->err, fz_phase_name[M.phase]);
    if (r->err == 0 && (IS_CTORLIKE(r->kind) || r->kind == K_PEEK)) {
        void *want = e->fresh ? (void *)r->ctor_val : (void *)e->val;
        if (r->val != want || r->payload_bad)
            fz_violation("%s returned value %p, the model says %p", op, r->val, want);
    }
    if (e->dtor ? r->ndtor != 1 || r->dtor_val != e->dtor : r->ndtor != 0)
        fz_violation("%s destroyed %p (%d times), the model says %p", op, (void *)r->dtor_val, r->ndtor,
                     (void *)e->dtor);
    if (r->forgot != e->forget)
        fz_violation("%s ran .forget %d times, the model says %d", op, r->forgot, e->forget);
}

static void fz_apply(const fz_rec_t *r)
{
    if (r->nctor) {
        switch (r->ctor_out) {
        case OUT_SUCCESS:
            M.phase = PH_READY;
            M.val = r->ctor_val;
            M.row = 0;
            M.rank = ++M.tick;
            break;
        case OUT_FAIL:
        case OUT_NOVALUE:
            M.phase = PH_FAILED;
            M.val = NULL;
            M.err = r->ctor_err;
            M.row++;
            M.retry_at = fz_now() + fz_window_ms(M.row) * MS;
            break;
        default:
            M.phase = PH_EMPTY;
            M.val = NULL;
        }
    }
    if (r->kind == K_RESET) {
        if (M.phase == PH_FAILED)
            M.row = 0;
        M.phase = PH_EMPTY;
        M.val = NULL;
    }
    if ((r->kind == K_INVALIDATE || r->kind == K_INVAL_LEASE) && r->err == 0) {
        M.phase = PH_EMPTY;
        M.val = NULL;
    }
}

/* An in-place op run alone: exact (a get constructs iff the cell is empty,
 * then returns that serial; a reset destroys the held serial, MEMOIZE's by
 * its destructor).  H.mu held. */
static void fz_ip_seq(const fz_rec_t *r, uint64_t made0)
{
    int c = (r->arg >> 1) & 1;
    uint64_t cur = M.ipcur[c];
    if (r->arg & 1) {
        int want = c == IP_BLK && cur;
        if (r->ip_nctor || r->ip_ndtor != want || (want && r->ip_dtor_val != cur))
            fz_violation("reset of the %s cell holding %llu ran the constructor %d and the destructor %d times"
                         " (on %llu)", fz_ip_name[c], (unsigned long long)cur, r->ip_nctor, r->ip_ndtor,
                         (unsigned long long)r->ip_dtor_val);
        M.ipcur[c] = 0;
    } else {
        uint64_t want = cur ? cur : made0 + 1;
        if (r->ip_nctor != !cur || r->ip_ndtor || r->ip_val != want)
            fz_violation("get of the %s cell holding %llu returned %llu, constructor %d times; the model says"
                         " %llu", fz_ip_name[c], (unsigned long long)cur, (unsigned long long)r->ip_val,
                         r->ip_nctor, (unsigned long long)want);
        if (!cur)
            M.iprank[c] = ++M.tick;
        M.ipcur[c] = r->ip_val;
    }
}

static void fz_seq_step(fz_worker_t *w)
{
    fz_rec_t *r = &w->rec;
    if (r->kind == K_LIFE) { /* predicted exactly, gate or not: it waits on no BUSY cell */
        fz_lexp_t x;
        fz_lock();
        fz_life_predict(r, &x);
        fz_unlock();
        fz_go(w);
        fz_lock();
        uint64_t deadline = mt_now_ns() + FZ_HANG_NS;
        while (w->busy)
            fz_wait_d(deadline, FZ_HANG_NS, "a lifetime operation's return");
        fz_trace("life", r);
        fz_life_check(r, &x);
        fz_unlock();
        return;
    }
    if (r->kind == K_CYCLES || r->kind == K_INPLACE) { /* they check themselves as they run */
        uint64_t made0 = atomic_load(&IP.made[(r->arg >> 1) & 1]);
        fz_go(w);
        fz_lock();
        uint64_t deadline = mt_now_ns() + FZ_HANG_NS;
        while (w->busy)
            fz_wait_d(deadline, FZ_HANG_NS, "a sequential operation's return");
        fz_trace("seq", r);
        if (r->err || r->died)
            fz_violation("%s returned %d%s", fz_opname(r), r->err, r->died ? " (worker died)" : "");
        if (r->kind == K_INPLACE) {
            fz_ip_seq(r, made0);
        } else {
            M.row = 0;            /* it built */
            M.phase = PH_EMPTY; /* and ends with a detach */
            M.val = NULL;
        }
        fz_unlock();
        return;
    }
    fz_lock();
    fz_expect_t e = fz_predict(r);
    fz_unlock();
    fz_go(w);
    fz_lock();
    uint64_t deadline = mt_now_ns() + FZ_HANG_NS;
    while (w->busy && !(H.gate_in && H.gate_worker == w->id))
        fz_wait_d(deadline, FZ_HANG_NS, "a sequential operation's return");
    fz_trace(e.gate ? "gated" : "seq", r);
    fz_compare(r, &e);
    if (e.gate) {
        M.phase = PH_BUSY;
        M.gate_worker = w->id;
        M.gate_begin = r->start;
        for (int i = 0; i < FZ_MAX_WORKERS; i++)
            M.blocked[i] = -1;
    } else {
        fz_apply(r);
    }
    fz_unlock();
}

/* --- steps while a constructor is blocked in the gate -------------------- */

static void fz_gate_step(fz_worker_t *w)
{
    fz_rec_t *r = &w->rec;
    uint64_t deadline = mt_now_ns() + FZ_HANG_NS;
    if (r->kind == K_GET_TSHORT && ++H.real_waits > FZ_MAX_REAL_WAITS)
        r->kind = K_GET_T0;
    if (IS_WAITER(r->kind)) {
        uint32_t base = memo_stats(&H.cell).waits;
        fz_go(w);
        fz_lock();
        /* memo counts a waiter before it sleeps; nothing signals us, so poll:
         * first yielding, then in 100 us condvar ticks (bounded by the deadline) */
        for (int spin = 0; w->busy && memo_stats(&H.cell).waits == base; spin++) {
            if (spin < 200) {
                fz_unlock();
                sched_yield();
                fz_lock();
            } else {
                fz_wait_d(deadline, 100000, "a get becoming a waiter of the blocked constructor");
            }
        }
        if (!w->busy)
            fz_violation("%s returned %d (%p) while the constructor it must wait for is blocked", fz_opname(r),
                         r->err, r->val);
        M.waits++;
        M.blocked[w->id] = r->kind;
        fz_trace("waiting", r);
        fz_unlock();
        return;
    }
    if (r->kind == K_RESET) { /* must wait for the attempt: checked when the gate opens */
        fz_go(w);
        M.blocked[w->id] = K_RESET;
        return;
    }
    fz_go(w);
    fz_lock();
    while (w->busy)
        fz_wait_d(deadline, FZ_HANG_NS, "an operation that must not wait");
    int want = 0;
    switch (r->kind) {
    case K_GET_T0: want = ETIMEDOUT; break;
    case K_GET_TSHORT: want = ETIMEDOUT; M.waits++; break;
    case K_PEEK: want = EAGAIN; break;
    case K_INVALIDATE: want = EALREADY; break;
    case K_INVAL_LEASE: want = r->lease_mode == LM_SLOT && r->lease_val ? EALREADY : EINVAL; break;
    default: break;
    }
    fz_trace("while-gated", r);
    if (r->err != want || r->nctor || r->ndtor || r->died)
        fz_violation("%s returned %d (ctor %d, dtor %d) while a constructor is blocked; expected %d", fz_opname(r),
                     r->err, r->nctor, r->ndtor, want);
    fz_unlock();
}

/* Opens the gate (or cancels its constructor's thread), waits until every
 * operation in flight has returned, then checks them and resyncs the model. */
static void fz_open(int cancel)
{
    if (M.phase != PH_BUSY)
        return;
    fz_worker_t *g = &H.w[M.gate_worker];
    fz_lock();
    H.pending &= (uint8_t)~B_GATED;
    H.no_gate = 1;
    if (cancel)
        pthread_cancel(g->th);
    else
        H.gate_open = 1;
    pthread_cond_broadcast(&H.cv_w);
    uint64_t deadline = mt_now_ns() + FZ_HANG_NS;
    while (fz_any_busy())
        fz_wait_d(deadline, FZ_HANG_NS, "every blocked operation returning after the gate opened");
    H.no_gate = 0;

    const fz_rec_t *gr = &g->rec;
    int had_reset = 0, nrec = 0;
    fz_rec_t *recs[FZ_MAX_WORKERS] = { NULL };
    for (int i = 0; i < H.nw; i++) {
        if (M.blocked[i] == K_RESET)
            had_reset = 1;
        if (M.blocked[i] >= 0)
            recs[nrec++] = &H.w[i].rec;
    }
    /* An acquire that owned the gate pins the value after its constructor
     * returns: a waiting reset may detach it first, and the acquire looks
     * again (it may build again): then only the tolerant rules hold. */
    fz_count_silent_busy(recs, nrec);
    int loose = gr->kind == K_ACQUIRE && had_reset;
    if (loose ? gr->nctor < 1 : gr->nctor != 1)
        fz_violation("the gated call ran the constructor %d times", gr->nctor);
    /* the gated attempt: the owner's first constructor call */
    int g_out = gr->nctor > 1 ? gr->first_out : gr->ctor_out;
    int g_err = gr->nctor > 1 ? gr->first_err : gr->ctor_err;
    const fz_value_t *g_val = gr->nctor > 1 ? gr->first_val : gr->ctor_val;
    if (cancel && g_out != OUT_CANCEL)
        fz_violation("the cancelled constructor ended as %s", fz_out_name[g_out]);
    fz_trace("gate-owner", gr);
    if (loose)
        fz_check_tolerant(gr, M.gate_begin);
    else
        fz_check_own_ctor(gr);
    for (int i = 0; i < H.nw; i++) {
        if (M.blocked[i] < 0)
            continue;
        const fz_rec_t *r = &H.w[i].rec;
        if (i != M.gate_worker)
            fz_trace("after-gate", r);
        if (r->done_gated)
            fz_violation("%s (worker %d) returned %d while the constructor it must wait for was blocked",
                         fz_opname(r), i, r->err);
        int waiter = IS_WAITER(r->kind);
        if (waiter && (g_out == OUT_FAIL || g_out == OUT_NOVALUE) &&
            (r->nctor || r->died || r->err != g_err))
            fz_violation("a waiter of an attempt that failed with %d returned %d%s", g_err, r->err,
                         r->nctor ? " after running the constructor itself" : "");
        if (waiter && g_out == OUT_SUCCESS && !had_reset &&
            (r->nctor || r->err != 0 || r->val != (void *)g_val))
            fz_violation("a waiter of an attempt that made %p returned %d (%p)", (void *)g_val, r->err,
                         r->val);
        fz_check_tolerant(r, M.gate_begin);
    }
    fz_unlock();
    M.phase = PH_EMPTY; /* BUSY is over: the log says what followed */
    /* memo counts a wait per pass of its slow path, and an acquire whose value
     * a waiting reset detached before it could pin it takes the slow path
     * again (and may wait on that reset): one more wait per such reset */
    int slack = 0, nreset = 0;
    for (int i = 0; i < nrec; i++)
        nreset += recs[i]->kind == K_RESET;
    for (int i = 0; i < nrec; i++)
        if (recs[i]->kind == K_ACQUIRE)
            slack += nreset;
    if (gr->kind == K_ACQUIRE)
        slack += nreset;
    fz_resync(M.gate_begin, had_reset, slack, recs, nrec);
    if (M.phase == PH_READY)
        M.rank = ++M.tick; /* published after the gate opened */
    for (int i = 0; i < FZ_MAX_WORKERS; i++)
        M.blocked[i] = -1;
}

/* --- bursts: several operations released at once -------------------------- */

static size_t fz_burst(size_t i)
{
    fz_worker_t *ws[FZ_MAX_WORKERS];
    int k = 0, had_reset = 0;
    fz_lock();
    H.no_gate = 1;
    H.in_burst = 1;
    uint32_t wb = H.nev;
    fz_unlock();
    while (i < H.nsteps && k < H.nw) {
        const uint8_t *s = H.prog + FZ_HEADER + i * FZ_STEP;
        int kind = fz_kind(s[0]);
        if (!IS_BURST_KIND(kind) || (k > 0 && !(s[0] & OP_BURST)))
            break;
        if (s[0] & OP_ARM) {
            fz_lock();
            H.pending = (uint8_t)(s[2] & ~B_GATED);
            fz_unlock();
        }
        fz_worker_t *w = fz_take_worker((s[0] >> 4) & 3);
        if (!w)
            break;
        H.cur_step = (int)i;
        fz_prepare(w, kind, s[1]);
        ws[k++] = w;
        had_reset |= kind == K_RESET;
        i++;
    }
    fz_lock();
    H.in_burst = 0;
    atomic_store(&fz_burst_arrived, 0);
    for (int j = 0; j < k; j++) {
        ws[j]->rec.burst = k;
        ws[j]->go = 1;
        pthread_cond_signal(&ws[j]->cv);
    }
    uint64_t deadline = mt_now_ns() + FZ_HANG_NS;
    while (fz_any_busy())
        fz_wait_d(deadline, FZ_HANG_NS, "every operation of a burst returning");
    H.no_gate = 0;
    {
        fz_rec_t *wr[FZ_MAX_WORKERS];
        for (int j = 0; j < k; j++)
            wr[j] = &ws[j]->rec;
        fz_count_silent_busy(wr, k);
    }
    for (int j = 0; j < k; j++) {
        fz_trace("burst", &ws[j]->rec);
        fz_check_tolerant(&ws[j]->rec, wb);
    }
    fz_unlock();
    fz_rec_t *recs[FZ_MAX_WORKERS];
    for (int j = 0; j < k; j++)
        recs[j] = &ws[j]->rec;
    const fz_value_t *before = M.phase == PH_READY ? M.val : NULL;
    uint64_t ipb[2] = { M.ipcur[0], M.ipcur[1] };
    fz_resync(wb, had_reset, -1, recs, k);
    for (int c = 0; c < 2; c++)
        M.ipcur[c] = fz_ip_state(c);
    /* values registered in the burst: one rank, in no known order */
    uint64_t wr = ++M.tick;
    if (M.phase == PH_READY && M.val != before)
        M.rank = wr;
    for (int c = 0; c < 2; c++)
        if (M.ipcur[c] && M.ipcur[c] != ipb[c])
            M.iprank[c] = wr;
    return i;
}

/* --- the dispatcher ------------------------------------------------------------ */

static void fz_advance(int arg)
{
    uint64_t now = fz_now(), d = 0;
    switch (arg & 7) {
    case 0: d = 1 * MS; break;
    case 1: d = 10 * MS; break;
    case 2: d = 100 * MS; break;
    case 3: d = 1000 * MS; break;
    case 4: d = M.retry_at > now + 1 ? M.retry_at - 1 - now : 0; break; /* to the window's last ns */
    case 5: d = M.retry_at > now ? M.retry_at - now : 0; break;         /* to its end exactly */
    case 6: d = 1; break;
    default: d = 3600000 * MS; break;
    }
    atomic_fetch_add(&fz_now_ns, d);
    if (H.life) /* the two clocks move together */
        atomic_fetch_add(&fz_ttl_ns, d);
}

static void fz_worker_step(int kind, int arg, int want)
{
    fz_worker_t *w = fz_take_worker(want);
    if (!w) { /* every worker is blocked on the gate: open it */
        fz_open(0);
        return;
    }
    fz_prepare(w, kind, arg);
    /* memo_release never waits for the cell: predicted exactly, gate or not
     * (a deferred destructor may run while the constructor is blocked) */
    if (M.phase == PH_BUSY && w->rec.kind != K_RELEASE && w->rec.kind != K_NOP && w->rec.kind != K_INPLACE &&
        w->rec.kind != K_LIFE)
        fz_gate_step(w);
    else
        fz_seq_step(w);
}

/* --- fork ---------------------------------------------------------------------
 * A FORK step forks the process where the schedule stands: workers may be
 * blocked in a gated constructor (the cell BUSY by a thread the child does
 * not have), waiting on it, or holding leases.  The child (single-threaded:
 * the dispatcher's copy) never returns into the harness or libFuzzer: it
 * runs under an alarm with default signal dispositions and no sanitizer
 * death callback, checks its script against the model as it stood at the
 * fork, and _exits 0 (pass) or FZ_CHILD_FAIL.  Its constructor and destructor
 * are its own (the parent's log and gate are not its business).  What it must
 * see: a BUSY cell is taken over (the first get builds, even get_timed(0); a
 * reset returns at once); a READY cell keeps its value, a FAILED one its
 * error inside the window; nothing blocks; every lease held at the fork is
 * valid (same value, intact) and its release destroys a detached value once,
 * when the child's last lease on it goes.  The parent waits for the child at
 * most FZ_CHILD_WAIT_MS (then kills it: a hang) and goes on with its model
 * unchanged: the next steps check that nothing of the parent moved. */
#if FZ_FORK
#if defined(__GNUC__) || defined(__clang__)
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));
#endif

static int fz_child_op;
static struct {
    fz_value_t *made[16];
    int nmade;
    void *dlog[64];
    int dforget[64]; /* that disposal was .forget */
    int nd;
    memo_lease_t lc, l2;   /* the child's own leases */
    fz_value_t *lcv, *l2v;
} CH;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static void fz_child_fail(const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    int n = snprintf(buf, sizeof buf, "\nfuzz_cell: VIOLATION in the fork child (step %d, first op %d, parent in %s): ",
                     H.cur_step, fz_child_op, fz_phase_name[M.phase]);
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - (size_t)n - 2, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (write(2, buf, (size_t)n) < 0)
        _exit(FZ_CHILD_FAIL);
    _exit(FZ_CHILD_FAIL);
}

static int fz_child_ctor(void *arg, void **out)
{
    (void)arg;
    if (CH.nmade >= 16)
        fz_child_fail("too many constructions");
    fz_value_t *v = (fz_value_t *)calloc(1, sizeof *v);
    if (!v)
        _exit(FZ_CHILD_FAIL);
    v->magic = FZ_MAGIC;
    v->payload = fz_payload_of(v);
    CH.made[CH.nmade++] = v;
    *out = v;
    return 0;
}

static void fz_child_dtor(void *arg, void *p)
{
    (void)arg;
    if (CH.nd >= 64)
        fz_child_fail("too many destructions");
    CH.dforget[CH.nd] = 0;
    CH.dlog[CH.nd++] = p;
}

/* a value memo_forget_all detached in the parent under a lease: its last
 * release in the child forgets it too */
static void fz_child_forget(void *arg, void *p)
{
    fz_child_dtor(arg, p);
    CH.dforget[CH.nd - 1] = 1;
}

/* Leases on v in the child: the workers' (copied) and its own. */
static int fz_child_leases(const fz_value_t *v)
{
    int n = CH.lcv == v ? 1 : 0;
    n += CH.l2v == v;
    for (uint32_t i = 0; i < H.nmade; i++)
        if (H.made[i] == v)
            n += v->held;
    return n;
}

/* Checks one call: error, constructions (the new value, if any, in *built),
 * destructor calls (want_dtor: the one value, or none). */
static void fz_child_expect(const char *what, int err, int want_err, int nm0, int want_ctor, int nd0,
                            const void *want_dtor)
{
    if (err != want_err)
        fz_child_fail("%s returned %d, the model says %d", what, err, want_err);
    if (CH.nmade - nm0 != want_ctor)
        fz_child_fail("%s ran the constructor %d times, the model says %d", what, CH.nmade - nm0, want_ctor);
    if (CH.nd - nd0 != (want_dtor != NULL) || (want_dtor && CH.dlog[nd0] != want_dtor))
        fz_child_fail("%s ran the destructor %d times (%p), the model says %s %p", what, CH.nd - nd0,
                      CH.nd > nd0 ? CH.dlog[nd0] : NULL, want_dtor ? "once on" : "never", want_dtor);
}

static void fz_child_release(const char *what, memo_lease_t *l, fz_value_t **pv, const void *cur)
{
    fz_value_t *v = *pv;
    *pv = NULL;
    int nd = CH.nd, e = memo_release(l);
    fz_child_expect(what, e, 0, CH.nmade, 0, nd, fz_child_leases(v) == 0 && v != cur ? v : NULL);
    if (CH.nd > nd && CH.dforget[nd] != v->doom_forget)
        fz_child_fail("%s ran the %s; memo_forget_all detached %p in the parent %s", what,
                      CH.dforget[nd] ? ".forget" : "destructor", (void *)v,
                      v->doom_forget ? "(forget it)" : "? no (destroy it)");
}

static void fz_child(int op)
{
    static const int sigs[] = { SIGALRM, SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGINT, SIGTERM, SIGUSR1,
                                SIGUSR2, SIGXFSZ, SIGTRAP };
    sigset_t ss;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&ss);
    sigaddset(&ss, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
    alarm(FZ_CHILD_SECS); /* the watchdog: a hang ends the child by SIGALRM */
#if defined(__GNUC__) || defined(__clang__)
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(NULL); /* libFuzzer's: no crash file from here */
#endif
    pthread_mutex_init(&H.mu, NULL); /* the dispatcher held it at the fork; unused here */
    H.cell.ctor = fz_child_ctor;
    H.cell.dtor = fz_child_dtor;
    if (H.cell.forget)
        H.cell.forget = fz_child_forget;
    memset(&CH, 0, sizeof CH);
    fz_child_op = op & 7;

    for (int i = 0; i < H.nw; i++)
        for (int j = 0; j < FZ_SLOTS; j++) {
            const fz_slot_t *s = &H.w[i].ls[j];
            if (s->held && (s->l.value != (void *)s->v || s->l.m_ != &H.cell || s->v->dead ||
                            s->v->magic != FZ_MAGIC || s->v->payload != fz_payload_of(s->v)))
                fz_child_fail("lease w%d.%d held at the fork is not intact (value %p, model %p)", i, j, s->l.value,
                              (void *)s->v);
        }
    int in_window = M.phase == PH_FAILED && M.min_ms && fz_now() < M.retry_at;
    void *cur = M.phase == PH_READY ? (void *)M.val : NULL;
    void *x = NULL;
    int e, nm = CH.nmade, nd = CH.nd;
    switch (op & 7) {
    case 0: case 1: case 2: case 3: { /* get, get_timed(0), get_timed(LONG_MAX), acquire */
        static const char *const nm_[4] = { "get", "get_timed(0)", "get_timed(LONG_MAX)", "acquire" };
        int build = !cur && !in_window;
        if ((op & 7) == 0)
            e = memo_get(&H.cell, &x);
        else if ((op & 7) == 3)
            e = memo_acquire(&H.cell, &CH.lc), x = CH.lc.value;
        else
            e = memo_get_timed(&H.cell, &x, (op & 7) == 1 ? 0 : LONG_MAX);
        fz_child_expect(nm_[op & 7], e, cur || build ? 0 : M.err, nm, build, nd, NULL);
        if (!e) {
            void *want = build ? (void *)CH.made[nm] : cur;
            if (x != want)
                fz_child_fail("%s returned %p, the model says %p", nm_[op & 7], x, want);
            cur = x;
            if ((op & 7) == 3)
                CH.lcv = (fz_value_t *)x;
        }
        break;
    }
    case 4:
        e = memo_reset(&H.cell);
        fz_child_expect("reset", e, 0, nm, 0, nd, cur && fz_child_leases((fz_value_t *)cur) == 0 ? cur : NULL);
        cur = NULL;
        break;
    case 5:
        e = memo_peek(&H.cell, &x);
        fz_child_expect("peek", e, cur ? 0 : EAGAIN, nm, 0, nd, NULL);
        if (!e && x != cur)
            fz_child_fail("peek returned %p, the model says %p", x, cur);
        break;
    case 6:
        e = memo_invalidate(&H.cell, cur ? cur : (void *)&H.foreign);
        fz_child_expect("invalidate", e, cur ? 0 : EALREADY, nm, 0, nd,
                        cur && fz_child_leases((fz_value_t *)cur) == 0 ? cur : NULL);
        cur = NULL;
        break;
    default:
        for (int i = 0; i < H.nw; i++)
            for (int j = 0; j < FZ_SLOTS; j++) {
                fz_slot_t *s = &H.w[i].ls[j];
                if (!s->held || (op & 8))
                    continue;
                op |= 8;
                s->held = 0;
                s->v->held--;
                fz_child_release("release of a lease held at the fork", &s->l, &s->v, cur);
            }
    }
    /* the same script whatever came first */
    nm = CH.nmade, nd = CH.nd;
    e = memo_reset(&H.cell);
    fz_child_expect("reset", e, 0, nm, 0, nd, cur && fz_child_leases((fz_value_t *)cur) == 0 ? cur : NULL);
    nd = CH.nd;
    e = memo_get(&H.cell, &x);
    fz_child_expect("get after reset", e, 0, nm, 1, nd, NULL);
    void *v2 = CH.made[nm];
    void *y = NULL, *z = NULL, *p = NULL;
    if (x != v2 || memo_get_timed(&H.cell, &y, LONG_MAX) || memo_get_timed(&H.cell, &z, 0) ||
        memo_peek(&H.cell, &p) || y != v2 || z != v2 || p != v2 || CH.nmade != nm + 1)
        fz_child_fail("get/get_timed/peek of a READY cell: %p %p %p %p, not %p", x, y, z, p, v2);
    if ((e = memo_acquire(&H.cell, &CH.l2)) || CH.l2.value != v2)
        fz_child_fail("acquire of a READY cell returned %d (%p)", e, CH.l2.value);
    CH.l2v = (fz_value_t *)v2;
    nd = CH.nd;
    e = memo_invalidate_lease(&CH.l2);
    fz_child_expect("invalidate_lease of the current value", e, 0, nm + 1, 0, nd, NULL);
    e = memo_invalidate_lease(&CH.l2);
    fz_child_expect("invalidate_lease of a detached value", e, EALREADY, nm + 1, 0, nd, NULL);
    if (memo_peek(&H.cell, &p) != EAGAIN)
        fz_child_fail("peek after invalidate_lease found %p", p);
    e = memo_get(&H.cell, &x);
    fz_child_expect("get after invalidate_lease", e, 0, nm + 1, 1, nd, NULL);
    cur = x;
    if (CH.lcv)
        fz_child_release("release of the child's first lease", &CH.lc, &CH.lcv, cur);
    fz_child_release("release of the invalidated lease", &CH.l2, &CH.l2v, cur);
    for (int i = 0; i < H.nw; i++)
        for (int j = 0; j < FZ_SLOTS; j++) {
            fz_slot_t *s = &H.w[i].ls[j];
            if (!s->held)
                continue;
            s->held = 0;
            s->v->held--;
            fz_value_t *v = s->v;
            fz_child_release("release of a lease held at the fork", &s->l, &v, cur);
        }
    nd = CH.nd;
    e = memo_reset(&H.cell);
    fz_child_expect("final reset", e, 0, CH.nmade, 0, nd, cur);
    for (int i = 0; i < CH.nmade; i++) {
        int n = 0;
        for (int k = 0; k < CH.nd; k++)
            n += CH.dlog[k] == (void *)CH.made[i];
        if (n != 1)
            fz_child_fail("value %p made in the child destroyed %d times", (void *)CH.made[i], n);
    }
    _exit(0);
}
#endif

static void fz_fork(int arg)
{
#if FZ_FORK
    if (H.forks >= FZ_MAX_FORKS)
        return;
    H.forks++;
    fflush(stderr);
    fz_lock(); /* no worker is inside the harness's state while it is copied */
    pid_t pid = fork();
    if (pid == 0)
        fz_child(arg);
    fz_unlock();
    if (pid < 0) {
        fprintf(stderr, "fuzz_cell: fork failed (%d), step skipped\n", errno);
        return;
    }
    int st = 0, fd = -1;
#ifdef SYS_pidfd_open
    fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    if (fd >= 0) {
        struct pollfd pf = { fd, POLLIN, 0 };
        int n;
        while ((n = poll(&pf, 1, FZ_CHILD_WAIT_MS)) < 0 && errno == EINTR)
            ;
        close(fd);
        if (n == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fz_violation("hang: the fork child did not end within %d ms", FZ_CHILD_WAIT_MS);
        }
    } /* else: its alarm bounds the wait */
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            fz_violation("waitpid of the fork child: errno %d", errno);
    if (WIFSIGNALED(st))
        fz_violation("the fork child died of signal %d%s (first op %d)", WTERMSIG(st),
                     WTERMSIG(st) == SIGALRM ? ": it hung (watchdog)" : "", arg & 7);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fz_violation("the fork child failed (exit status %d, first op %d)", WEXITSTATUS(st), arg & 7);
#else
    (void)arg;
#endif
}

static void fz_finish(void)
{
    if (M.phase == PH_BUSY)
        fz_open(0);
    fz_check_quiescent();
    /* give back every lease still held, one at a time (predicted exactly: the
     * last lease of a detached value destroys it in its worker's thread) */
    for (int i = 0; i < H.nw; i++) {
        for (int j = 0; j < FZ_SLOTS; j++) {
            fz_lock();
            int held = H.w[i].ls[j].held;
            fz_unlock();
            if (!held)
                continue;
            fz_worker_t *w = fz_take_worker(i);
            if (!w || w->id != i)
                fz_violation("worker %d is not idle at the end of the input", i);
            fz_prepare(w, K_RELEASE, j);
            fz_seq_step(w);
            fz_check_quiescent();
        }
    }
    /* the TTL cells: every lease released, then reset (predicted exactly) */
    if (H.life) {
        fz_lock();
        T.pending[0] = T.pending[1] = 0;
        fz_unlock();
        for (int k = 0; k < 2 * FZ_SLOTS + 2; k++) {
            int c = k < 2 * FZ_SLOTS ? k / FZ_SLOTS : k - 2 * FZ_SLOTS, j = k % FZ_SLOTS;
            fz_lock();
            int held = T.ls[c][j].held;
            fz_unlock();
            if (k < 2 * FZ_SLOTS && !held)
                continue;
            fz_worker_t *w = fz_take_worker(0);
            if (!w)
                fz_violation("no idle worker at the end of the input");
            fz_prepare(w, K_LIFE, (k < 2 * FZ_SLOTS ? LF_REL | (j << 4) : LF_RESET) | (c ? LF_CELL : 0));
            fz_seq_step(w);
            fz_check_quiescent();
        }
        fz_lock();
        for (uint32_t i = 0; i < T.nmade; i++)
            if (!T.made[i]->dead)
                fz_violation("TTL cell %d: value #%d was never disposed of", T.made[i]->cell, T.made[i]->id);
        fz_unlock();
    }
    /* the final reset runs in a worker, so that a cell left BUSY is reported
     * as a hang instead of blocking the dispatcher */
    fz_worker_t *w = fz_take_worker(0);
    if (!w)
        fz_violation("no idle worker at the end of the input");
    fz_prepare(w, K_RESET, 0);
    fz_go(w);
    fz_lock();
    uint64_t deadline = mt_now_ns() + FZ_HANG_NS;
    while (w->busy)
        fz_wait_d(deadline, FZ_HANG_NS, "the final memo_reset's return");
    const fz_rec_t *r = &w->rec;
    if (r->err != 0)
        fz_violation("final memo_reset returned %d", r->err);
    if (M.phase == PH_READY ? r->ndtor != 1 || r->dtor_val != M.val : r->ndtor != 0)
        fz_violation("final memo_reset destroyed %d value(s) in phase %s", r->ndtor, fz_phase_name[M.phase]);
    if (M.phase == PH_FAILED)
        M.row = 0;
    M.phase = PH_EMPTY;
    M.val = NULL;
    fz_unlock();
    uint64_t ipd = atomic_load(&IP.ndtor);
    H.main_rec.ip_dtor_val = 0;
    if (memo_reset(&fz_blk_memo) || memo_reset(&fz_vbl_memo))
        fz_violation("memo_reset of an in-place cell failed");
    if (atomic_load(&IP.ndtor) != ipd + (M.ipcur[IP_BLK] != 0) ||
        (M.ipcur[IP_BLK] && H.main_rec.ip_dtor_val != M.ipcur[IP_BLK]))
        fz_violation("the final reset of the %s cell holding %llu destroyed %llu value(s) (%llu)", fz_ip_name[IP_BLK],
                     (unsigned long long)M.ipcur[IP_BLK], (unsigned long long)(atomic_load(&IP.ndtor) - ipd),
                     (unsigned long long)H.main_rec.ip_dtor_val);
    M.ipcur[IP_BLK] = M.ipcur[IP_VBL] = 0;
    fz_check_quiescent();
    fz_lock();
    if (H.n_succ != H.n_dtor + H.n_forgot || H.live != 0)
        fz_violation("at the end: %u constructions, %u destructions, %u forgotten, %d live", H.n_succ, H.n_dtor,
                     H.n_forgot, H.live);
    for (int i = 0; i < FZ_MAX_WORKERS; i++)
        for (int j = 0; j < FZ_SLOTS; j++)
            if (H.w[i].ls[j].held)
                fz_violation("lease w%d.%d still held at the end", i, j);
    for (uint32_t i = 0; i < H.nmade; i++)
        if (!H.made[i]->dead)
            fz_violation("value %p was never destroyed", (void *)H.made[i]);
    fz_unlock();
    for (int i = 0; i < FZ_MAX_WORKERS; i++) {
        fz_worker_t *w = &H.w[i];
        fz_lock();
        int dead = w->dead;
        fz_unlock();
        if (w->exists && dead) {
            pthread_join(w->th, NULL);
            w->exists = 0;
            w->dead = 0;
        }
    }
    for (uint32_t i = 0; i < H.nmade; i++)
        free(H.made[i]);
    H.nmade = 0;
    for (uint32_t i = 0; i < T.nmade; i++)
        free(T.made[i]);
    T.nmade = 0;
}

static void fz_init_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    pthread_condattr_t ca;
    pthread_mutex_init(&H.mu, NULL);
    pthread_cond_init(&H.cv_w, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&H.cv_d, &ca);
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < FZ_MAX_WORKERS; i++) {
        H.w[i].id = i;
        pthread_cond_init(&H.w[i].cv, NULL);
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&HL.cv, &ca);
    pthread_condattr_destroy(&ca);
    T.cid[0] = 0;
    T.cid[1] = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t none[FZ_HEADER] = { 0, 0, 0 };
    fz_init_once();
    if (size < FZ_HEADER) {
        data = none;
        size = FZ_HEADER;
    }
    fz_cur = &H.main_rec;
    atomic_store(&fz_now_ns, FZ_CLOCK_BASE);

    fz_lock();
    H.nw = 2 + data[0] % 3;
    memset(&H.cell, 0, sizeof H.cell);
    memset(&H.bare, 0, sizeof H.bare);
    H.cell.ctor = fz_ctor;
    H.cell.dtor = fz_dtor;
    H.cell.arg = &H;
    uint32_t min = fz_min_tab[data[1] & 7], max = 0;
    switch (data[2] & 7) {
    case 0: max = 0; break;
    case 1: max = min / 2; break;
    case 2: max = min; break;
    case 3: max = 2 * min; break;
    case 4: max = 8 * min; break;
    case 5: max = 3 * min; break;
    case 6: max = UINT32_MAX; break;
    default: max = 100000; break;
    }
    H.cell.retry_min_ms = min;
    H.cell.retry_max_ms = max;
    H.gate_in = H.gate_open = H.no_gate = 0;
    H.gate_worker = -1;
    H.pending = 0;
    H.in_owner = H.live = 0;
    H.nev = 0;
    H.n_begin = H.n_succ = H.n_fail = H.n_dtor = 0;
    H.last_fail_err = 0;
    H.last_succ_ns = 0;
    H.nmade = 0;
    H.real_waits = 0;
    H.in_burst = 0;
    H.xops = (data[1] & HDR_XOPS) != 0;
    H.life = (data[2] & HDR_LIFE) != 0;
    H.n_forgot = 0;
    if (H.life)
        H.cell.forget = fz_forget;
    H.forks = 0;
    /* the lifetime ops' TTL cells (empty and unlisted between inputs) */
    atomic_store(&fz_ttl_ns, FZ_TTL_BASE);
    atomic_store(&IP.nforgot, 0);
    T.ttl = fz_ttl_tab[(data[2] >> 3) & 3];
    switch ((data[2] >> 5) & 3) {
    case 0: T.stale = 0; break; /* no limit */
    case 1: T.stale = T.ttl / 2 ? T.ttl / 2 : 1; break;
    case 2: T.stale = 3 * T.ttl; break;
    default: T.stale = 1; break;
    }
    T.min = fz_tmin_tab[(data[1] >> 3) & 3];
    switch ((data[1] >> 5) & 3) {
    case 0: T.max = 0; break;
    case 1: T.max = 4 * T.min; break;
    case 2: T.max = T.min; break;
    default: T.max = 100000; break;
    }
    for (int c = 0; c < 2; c++) {
        memset(&T.cell[c], 0, sizeof T.cell[c]);
        T.cell[c].ctor = fz_tctor;
        T.cell[c].dtor = fz_tdtor;
        T.cell[c].forget = fz_tforget;
        T.cell[c].arg = &T.cid[c];
        T.cell[c].ttl_ms = T.ttl;
        T.cell[c].retry_min_ms = T.min;
        T.cell[c].retry_max_ms = T.max;
        T.pending[c] = 0;
        T.in_owner[c] = 0;
        T.n_begin[c] = T.n_succ[c] = T.n_fail[c] = T.n_dtor[c] = T.n_forgot[c] = 0;
        T.last_err[c] = 0;
        T.ids[c] = 0;
        memset(T.ls[c], 0, sizeof T.ls[c]);
        memset(&TM[c], 0, sizeof TM[c]);
        TM[c].phase = TP_EMPTY;
    }
    T.cell[1].refresh = MEMO_REFRESH_STALE;
    T.cell[1].max_stale_ms = T.stale;
    T.nmade = 0;
    for (int c = 0; c < 2; c++) { /* the in-place cells are empty between inputs */
        atomic_store(&IP.made[c], 0);
        atomic_store(&IP.dead_upto[c], 0);
        atomic_store(&IP.cur[c], 0);
        atomic_store(&IP.owner[c], 0);
    }
    atomic_store(&IP.ndtor, 0);
    for (int i = 0; i < FZ_MAX_WORKERS; i++)
        memset(H.w[i].ls, 0, sizeof H.w[i].ls);
    H.prog = data;
    H.nsteps = (size - FZ_HEADER) / FZ_STEP;
    if (H.nsteps > FZ_MAX_STEPS)
        H.nsteps = FZ_MAX_STEPS;
    H.cur_step = -1;
    memset(&M, 0, sizeof M);
    M.phase = PH_EMPTY;
    M.min_ms = min;
    M.max_ms = max;
    for (int i = 0; i < FZ_MAX_WORKERS; i++)
        M.blocked[i] = -1;
    fz_unlock();

    for (size_t i = 0; i < H.nsteps;) {
        const uint8_t *s = data + FZ_HEADER + i * FZ_STEP;
        int kind = fz_kind(s[0]);
        H.cur_step = (int)i;
        if ((s[0] & OP_BURST) && IS_BURST_KIND(kind) && M.phase != PH_BUSY && i + 1 < H.nsteps) {
            const uint8_t *n = s + FZ_STEP;
            if ((n[0] & OP_BURST) && IS_BURST_KIND(fz_kind(n[0]))) {
                i = fz_burst(i);
                fz_check_quiescent();
                continue;
            }
        }
        if (s[0] & OP_ARM) {
            fz_lock();
            if (kind == K_LIFE) /* a TTL cell's next constructor call */
                T.pending[(s[1] & LF_CELL) != 0] = s[2];
            else
                H.pending = s[2];
            fz_unlock();
        }
        switch (kind) {
        case K_ADVANCE: fz_advance(s[1]); break;
        case K_OPEN: fz_open(s[1] & 1); break;
        case K_FORK: fz_fork(s[1]); break;
        case K_LIFE:
            if ((s[1] & 7) == LF_STEP) {
                fz_ttl_step(s[1]);
                break;
            }
            fz_worker_step(kind, s[1], (s[0] >> 4) & 3);
            break;
        default: fz_worker_step(kind, s[1], (s[0] >> 4) & 3); break;
        }
        fz_check_quiescent();
        i++;
    }
    H.cur_step = (int)H.nsteps;
    fz_finish();
    return 0;
}
