/* memo.h -- thread-safe memoization and lazy initialization for C11 (and C++).
 *
 * Version 0.2.0.  One header, no dependencies beyond <stdatomic.h> and pthreads.
 * License: MIT (see the end of this file).
 *
 * CONTENTS  (each part starts with a tag: grep '>>memo:NAME')
 *   The manual (this comment)
 *     WHAT IT IS, COMPILE-TIME OPTIONS, THREAD SAFETY AND MEMORY ORDERING,
 *     ERRORS, LIMITS
 *   The API
 *     >>memo:types      memo_t, MEMO_INIT, memo_stats_t, MEMO_ENOVALUE
 *     >>memo:api        memo_get, memo_get_timed, memo_peek, memo_reset,
 *                       memo_invalidate, memo_stats, leases (memo_acquire,
 *                       memo_invalidate_lease, memo_release), memo_shutdown,
 *                       memo_forget_all; it opens with
 *       >>memo:overrides  MEMO_MALLOC/MEMO_FREE, MEMO_ASSERT
 *       >>memo:atomics    the atomic wrappers every operation goes through
 *     >>memo:typed-api  MEMOIZE, MEMOIZE_PTR, MEMOIZE_INPLACE, MEMO_DECLARE,
 *                       MEMOIZE_THREAD, MEMO_DECLARE_THREAD, MEMOIZE_VALUE
 *   The internals, in the order of a value's life
 *     >>memo:platform   clocks, threads, processes, cancellation
 *     >>memo:state      the state word, the other words, the retired list
 *     >>memo:wait       sleeping and waking, fork of the shared tables, the
 *                       registry of values, cycles
 *     >>memo:claim      becoming the owner; EDEADLK; fork take-over
 *     >>memo:construct  the constructor, publication, end of busy, wake
 *     >>memo:get        the slow path; TTL expiry and refresh
 *     >>memo:destroy    detach, reset, invalidate
 *     >>memo:leases     acquire, release, deferred destruction
 *     >>memo:stats      the counters
 *     >>memo:lifetimes  memo_shutdown, memo_forget_all, fork policies
 *     >>memo:thread     per-thread values (MEMOIZE_THREAD)
 *     >>memo:typed      the generators' trampolines and in-place values
 *   docs/DESIGN.md holds the state machine, the memory-ordering argument and
 *   the proofs; docs/API.md the reference tables.
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
 *                   elsewhere.  The table is one weak symbol with default
 *                   visibility (memo_i_park_v1_) shared by every translation
 *                   unit and shared library of a program.  Units built with
 *                   and without it may share cells: every waker wakes both
 *                   kinds of sleeper, and every sleep is bounded (a waiter
 *                   re-checks the cell at least every 100 ms in the table,
 *                   every 1 s on a futex), so a table split by
 *                   dlopen(RTLD_LOCAL) costs latency, never a hang.
 *   MEMO_NOW_NS()   An expression giving the monotonic time in nanoseconds as
 *                   uint64_t; used for backoff windows and construction times
 *                   (not for get_timed timeouts, which always use
 *                   CLOCK_MONOTONIC).  Default: CLOCK_MONOTONIC (also in a
 *                   strict -std=c11 build on Linux), else timespec_get.
 *                   Tests override it to drive backoff deterministically.
 *   MEMO_TTL_NOW_NS()
 *                   The clock of TTL cells (.ttl_ms, .max_stale_ms), as
 *                   MEMO_NOW_NS: monotonic nanoseconds as uint64_t.  Default:
 *                   CLOCK_MONOTONIC_COARSE on Linux (a few ns a read; a
 *                   jiffy's resolution), else as MEMO_NOW_NS.  Tests override
 *                   it to step TTL time deterministically.  Units that share
 *                   a TTL cell must use the same clock (expiries written by
 *                   one are compared by the other).
 *   MEMO_MALLOC(n), MEMO_FREE(p)
 *                   The allocator for what memo allocates (the ~32-byte record
 *                   of a value detached while leased).  Define both or
 *                   neither (#error otherwise).  Default: malloc, free.  The
 *                   program-wide registry of values (memo_shutdown) is
 *                   shared by every unit, so it always uses realloc/free.
 *   MEMO_ASSERT(c)  Checks of memo's own invariants (BUSY when a busy period
 *                   ends, its owner set, retired lease counts never below 0, a
 *                   held lease names a cell), slow paths only.  Default: like
 *                   assert() -- on unless NDEBUG is defined, then off (no
 *                   code); on failure a message and abort().  make test builds
 *                   with them on.
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
 * - The destructor runs in the thread that called memo_reset or
 *   memo_invalidate[_lease], with the cell BUSY; or, for a value that was
 *   leased when it left the cell, in the thread whose memo_release (or
 *   memo_acquire giving back a pin it could not keep) returns its last lease.
 *   Such a deferred destructor runs outside any busy period: it may overlap
 *   the cell's next constructor and other deferred destructors (a release
 *   never waits for a construction); it is not the cell's owner, so a
 *   memo_get of its own cell from it returns the cell's current value or
 *   builds one.  At most one constructor of a cell runs at any moment.
 *   Without leases memo.h cannot know whether another thread still uses the
 *   old value: reset only when no other thread can be using it, or use
 *   memo_acquire/memo_release.
 * - A constructor may get other cells.  A cycle of constructors waiting on
 *   each other across threads (A's builds B while B's builds A) is detected:
 *   one of the gets returns EDEADLK instead of sleeping forever (walk of at
 *   most 16 cells, table of 128 sleepers; beyond them no detection).
 * - Cancellation.  Waiting is not a cancellation point (futex or
 *   MEMO_NO_FUTEX).  A constructor that is cancelled or calls pthread_exit()
 *   leaves the cell EMPTY and one waiter takes the construction over; the
 *   waiters see no error for it.  memo's own steps run with the cancellation
 *   type deferred, so asynchronous cancellation never leaves a cell BUSY or
 *   locked; it can leak a lease if it lands inside memo_acquire/memo_release.
 *   A longjmp() out of a constructor cannot be detected and leaves the cell
 *   BUSY forever: don't.  Likewise a C++ exception thrown through a
 *   constructor that C code called: the cleanup handler of a C unit is not
 *   run by C++ unwinding (unless the C unit is built with -fexceptions) --
 *   catch every exception inside a constructor written in C++ and return an
 *   error code instead.
 * - fork().  The child keeps the cell's state, except that a cell some other
 *   thread of the parent was constructing or destroying at the fork is taken
 *   over on first use in the child (READY if its value was still there, else
 *   EMPTY: the child builds its own); the parent is never affected.  A
 *   constructor that itself forks goes on in the child and finishes there.
 *   Values, leases and their destructors are the child's copies.  A cell
 *   with on_fork = MEMO_FORK_RESET forgets its value in the child, in the
 *   fork's child handler (before fork() returns there): its .forget runs
 *   then (or at the child's last release of a lease held across the fork),
 *   never its dtor, and the child builds its own value on first get.  Every
 *   other thread's MEMOIZE_THREAD values are forgotten in the child too.
 *   .forget runs in a process that has one thread: keep it to closing fds
 *   and freeing memory.
 * - Lifetimes.  memo_shutdown() destroys, and memo_forget_all() forgets,
 *   every value of the program newest first (one registry for all units and
 *   shared libraries built from this header version); each cell as by
 *   memo_reset.  A cell that holds a value is listed there by address: reset
 *   a cell before its memory is freed (a cell freed while it holds a value
 *   leaks that value, and one whose last failure carried a memo_failf
 *   message leaks that message's small record; the registry recognises the stale entry by number, but
 *   reads the cell's old memory to do so, which must still be mapped).
 *   A shared library that uses memo must stay loaded while its cells hold
 *   values or its threads hold per-thread values (link it with -z nodelete,
 *   or do not dlclose it): the registry and the thread-exit destructor point
 *   into it.  Libraries loaded with dlopen(RTLD_LOCAL) that do not see each
 *   other's symbols each get their own registry: memo_shutdown from one
 *   does not see the other's cells.  Options are fixed once a cell is in
 *   use (MEMOIZE's getters fold them at compile time).
 * - TTL cells (ttl_ms) keep their value out of the fast-path slot: every get
 *   reads MEMO_TTL_NOW_NS() (a few ns) in an out-of-line call.  Under
 *   MEMO_REFRESH_STALE a get may return the stale value while another thread
 *   rebuilds; once the new value is published the rebuilder destroys the old
 *   one unless it is leased: a caller that uses the value beyond its get
 *   while refreshes happen should hold a lease (memo_acquire), as for reset.
 *
 * ==========================================================================
 * ERRORS
 * ==========================================================================
 *   0            success
 *   EINVAL       bad argument (NULL cell or out pointer, a cell without a
 *                constructor, a negative timeout, a lease not held)
 *   EDEADLK      the calling thread is itself constructing (or destroying)
 *                this cell's value: a constructor asked for its own cell;
 *                or waiting would close a cycle of constructors waiting on
 *                each other across threads; memo_shutdown/memo_forget_all
 *                from a constructor: that cell was skipped
 *   ENOMEM       memo_reset/memo_invalidate[_lease]: the small record that
 *                a leased value needs could not be allocated (nothing done);
 *                a get that must rebuild a stale TTL value (BLOCK) could not
 *                allocate it (the stale value stays); memo_shutdown /
 *                memo_forget_all: one value kept for that reason
 *   ENOTSUP      memo_acquire of a cell whose value lives in place
 *   ETIMEDOUT    memo_get_timed waited its full timeout (the attempt goes on)
 *   EAGAIN       memo_peek: no value yet; a MEMOIZE_THREAD getter: no pthread
 *                key left for its thread-exit destructor
 *   EALREADY     memo_invalidate[_lease]: the cell no longer holds the value
 *                you saw
 *   EEXIST       memo_set: the cell holds a value already
 *   EBUSY        memo_set: another thread is building or destroying the value
 *   EOVERFLOW    memo_acquire: 2^31 leases are held on the value already
 *   ECANCELED    a MEMOIZE_THREAD getter called from a destructor at thread
 *                exit after 4 rounds of rebuilding there (nothing built)
 *   MEMO_ENOVALUE a constructor returned 0 but left a NULL value (a bug in the
 *                constructor): the attempt counts as failed, nothing cached
 *   anything else  the constructor's own return value, passed through
 *                unchanged (to its caller and to every caller that waited on
 *                that attempt)
 *   Which is which: after a getter's error, memo_last_error() says whether
 *   it is memo's own (MEMO_FROM_MEMO) or the constructor's (MEMO_FROM_CTOR:
 *   also an EINVAL or ETIMEDOUT the constructor itself returned), with the
 *   constructor's message if it attached one (memo_failf).
 *
 * ==========================================================================
 * LIMITS  (every counter's width and wrap: docs/DESIGN.md section 12)
 * ==========================================================================
 *   generation   29 bits, +1 per busy period.  Harmless at the wrap: a
 *                failure record matches only the period that wrote it, and
 *                invalidate re-checks its value after claiming.
 *   lease epoch  32 bits, +1 per detach; an epoch still held by a leased,
 *                detached value is skipped, never reused.
 *   leases       at most 2^31 on one value (then EOVERFLOW).
 *   statistics   32-bit counters; they wrap silently.
 *   timeouts     a long in ms; over 2^53 ms means "no limit".  Deadlines run on
 *                CLOCK_MONOTONIC.
 *   pids         24 bits in a cell (Linux pids are below 2^22).  A pid reused
 *                by a descendant of a process that died while owning a cell
 *                is not told apart (theoretical).
 *   registry     a 63-bit registration number per value listed (a wrap
 *                would take 2^63 constructions); the table grows by
 *                doubling; if it cannot grow (out of memory) the value is
 *                not listed and memo_shutdown does not see it.
 *   TTL          ttl_ms and max_stale_ms are 32-bit ms (49 days); expiry is
 *                MEMO_TTL_NOW_NS() + ttl_ms in 64-bit ns (no wrap before
 *                year 2554 of uptime).
 *   cycles       detected across at most 16 cells and 128 sleeping threads;
 *                beyond that, no detection (never a false EDEADLK).
 *   longjmp      out of a constructor or destructor: undetectable, leaves
 *                the cell BUSY forever.  Don't.  Likewise a C++ exception
 *                through a constructor called from a C unit (catch it).
 *   cancellation asynchronous cancel inside memo_acquire/memo_release may leak
 *                a lease (the value is then never destroyed); nowhere else.
 *   T            MEMOIZE: any complete object type with top-level qualifiers
 *                (dropped: U is T unqualified), arrays, function pointers;
 *                not _Atomic T, not qualified arrays, not at block scope; in
 *                C++ a trivially copyable T.  A NULL pointer value cannot be
 *                memoized (MEMO_ENOVALUE).
 *   size         memo_t is 184 bytes (152 on i386); in-place values add
 *                sizeof(T) rounded up to words, and twice sizeof(T) of stack
 *                in the thread that builds one.
 */
#ifndef MEMO_H
#define MEMO_H

/** MEMO_VERSION_MAJOR: the major version of this header.  The three numbers
 *  below are the one source of truth: MEMO_VERSION and MEMO_VERSION_STRING
 *  are derived from them, and the Makefile, CMakeLists.txt and meson.build
 *  read them from here.  While the major version is 0, a new minor version
 *  is incompatible with the previous one (0.1 and 0.2 units must not share a
 *  cell); a new patch version is compatible. */
#define MEMO_VERSION_MAJOR 0
/** MEMO_VERSION_MINOR: the minor version of this header (0..99). */
#define MEMO_VERSION_MINOR 2
/** MEMO_VERSION_PATCH: the patch version of this header (0..99). */
#define MEMO_VERSION_PATCH 0
/** MEMO_VERSION: the version of this header as one number, major*10000 +
 *  minor*100 + patch (0.2.0 -> 200); usable in #if. */
#define MEMO_VERSION (MEMO_VERSION_MAJOR * 10000 + MEMO_VERSION_MINOR * 100 + MEMO_VERSION_PATCH)
/** MEMO_VERSION_STRING: "major.minor.patch" ("0.2.0"), a string literal. */
#define MEMO_VERSION_STRING \
    MEMO_I_VERSION_STR_(MEMO_VERSION_MAJOR) "." MEMO_I_VERSION_STR_(MEMO_VERSION_MINOR) "." MEMO_I_VERSION_STR_(MEMO_VERSION_PATCH)
#define MEMO_I_VERSION_STR_(x) MEMO_I_VERSION_STR2_(x)
#define MEMO_I_VERSION_STR2_(x) #x
/* The static check that the version macros agree.  MEMO_VERSION_STRING is
 * spelled from the three numbers, so it cannot disagree; this checks
 * MEMO_VERSION against them (should it become a literal again) and that
 * minor and patch stay below 100 (else MEMO_VERSION is not one number). */
#if !(MEMO_VERSION_MAJOR >= 0 && MEMO_VERSION_MINOR >= 0 && MEMO_VERSION_MINOR <= 99 && \
      MEMO_VERSION_PATCH >= 0 && MEMO_VERSION_PATCH <= 99) || \
    MEMO_VERSION != MEMO_VERSION_MAJOR * 10000 + MEMO_VERSION_MINOR * 100 + MEMO_VERSION_PATCH
#error "memo.h: MEMO_VERSION_MAJOR/MINOR/PATCH out of range or MEMO_VERSION inconsistent"
#endif

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
/* The atomics.  C, and C++23 whose <stdatomic.h> provides _Atomic(T) as
 * std::atomic<T> (__cpp_lib_stdatomic_h): <stdatomic.h>.  C++11 to C++20 (and
 * a C++23 library without that header): memo.h maps _Atomic(T) to
 * std::atomic<T> itself, as C++23's <stdatomic.h> does, and its atomic
 * wrappers (>>memo:atomics) to std::atomic's member functions
 * (MEMO_I_CXX_ATOMICS).  Either way a C++ unit lays memo_t out as a C unit
 * does (asserted below), so C and C++ units share cells (tests/cxx).  Such a
 * C++ unit should not also include the compiler's C <stdatomic.h>. */
#ifndef __cplusplus
#include <stdatomic.h>
#else
#if __cplusplus > 202002L && defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#ifdef __cpp_lib_stdatomic_h
#include <stdatomic.h>
#else
#include <atomic>
#define MEMO_I_CXX_ATOMICS 1
#ifndef _Atomic
#define _Atomic(T) std::atomic<T>
#endif
#endif
/* memo_t's atomic members are std::atomic in C++: each must have the size
 * and alignment of C's _Atomic type (4, 8 -- memo_t's 64-bit atomics are
 * 8-aligned in C, also on i386 -- and a pointer's) and be lock-free, as C's
 * are, for the two to share a cell. */
static_assert(sizeof(std::atomic<uint32_t>) == 4 && alignof(std::atomic<uint32_t>) == 4,
              "memo.h: std::atomic<uint32_t> is not laid out as C's _Atomic(uint32_t)");
static_assert(sizeof(std::atomic<uint64_t>) == 8 && alignof(std::atomic<uint64_t>) == 8,
              "memo.h: std::atomic<uint64_t> is not laid out as memo_t's 64-bit atomics in C");
static_assert(sizeof(std::atomic<void *>) == sizeof(void *) &&
                  alignof(std::atomic<void *>) == alignof(void *) &&
                  sizeof(std::atomic<uintptr_t>) == sizeof(uintptr_t) &&
                  alignof(std::atomic<uintptr_t>) == alignof(uintptr_t),
              "memo.h: std::atomic<void *> is not laid out as C's _Atomic(void *)");
#if defined(__GNUC__) || defined(__clang__)
/* lock-free at their own size's alignment, which they have (above); not
 * is_always_lock_free, which Clang -m32 denies a 64-bit type because a plain
 * one is 4-aligned there (its std::atomic, 8-aligned, is lock-free) */
static_assert(__atomic_always_lock_free(4, 0) && __atomic_always_lock_free(8, 0) &&
                  __atomic_always_lock_free(sizeof(void *), 0),
              "memo.h: memo_t's atomics must be lock-free, as in C");
#elif defined(__cpp_lib_atomic_is_always_lock_free)
static_assert(std::atomic<uint32_t>::is_always_lock_free && std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<void *>::is_always_lock_free && std::atomic<uintptr_t>::is_always_lock_free,
              "memo.h: memo_t's atomics must be lock-free, as in C");
#else
static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_POINTER_LOCK_FREE == 2 &&
                  (sizeof(long) == 8 ? ATOMIC_LONG_LOCK_FREE : ATOMIC_LLONG_LOCK_FREE) == 2,
              "memo.h: memo_t's atomics must be lock-free, as in C");
#endif
#endif

#if !defined(MEMO_NO_FUTEX) && !defined(__linux__)
#define MEMO_NO_FUTEX 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* In C++ every member of memo_t has a default member initializer, so that
 * MEMO_INIT's designated initializers may leave members out silently; not in
 * C++11, where that would make memo_t no aggregate (MEMO_INIT lists every
 * member there). */
#ifdef __cplusplus
#if __cplusplus >= 201402L
#define MEMO_I_ZERO {}
#else
#define MEMO_I_ZERO
#endif
#define MEMO_I_ALIGN8 alignas(8)
#else
#define MEMO_I_ZERO
/* memo_t is 8-aligned everywhere: on i386 GCC >= 11 aligns an _Atomic 64-bit
 * member to 8 and GCC <= 10 to 4, so without this the two would disagree on
 * sizeof(memo_t) (every 64-bit member is at a multiple of 8 in both). */
#define MEMO_I_ALIGN8 _Alignas(8)
#endif

/* C11, or C99 with GCC's or Clang's extensions (-std=gnu99, which provide
 * the C11 keywords): a strict ISO C99 (-std=c99) or older build is refused
 * here rather than with a pile of diagnostics below. */
#if !defined(__cplusplus) && \
    (!defined(__STDC_VERSION__) || __STDC_VERSION__ < 199901L || \
     (__STDC_VERSION__ < 201112L && (defined(__STRICT_ANSI__) || !(defined(__GNUC__) || defined(__clang__)))))
#error "memo.h needs C11 (_Atomic, _Thread_local, <stdatomic.h>): compile with -std=c11 (or later), or -std=gnu99 with GCC or Clang"
#endif

/* Warnings the header's own lines are exempt from, to its end (a user's
 * strictest flags report nothing from memo: tests/run_all.sh, "strict"; the
 * code MEMOIZE & co. generate on the user's lines is written to draw none):
 * - -Wdeclaration-after-statement: a check of C90 style, for the user's own
 *   code; memo is C11 and declares where it initializes.
 * - -Wpadded (clang -Weverything): the layouts of memo_t and of the
 *   program-wide tables are ABI (docs/DESIGN.md, "ABI"), padded as each
 *   target aligns them; explicit filler members would differ per target.
 * - -Wextra-semi-stmt (clang): the `;` after pthread_cleanup_push/pop, whose
 *   expansion (a block opened or closed) varies by C library.
 * - before C11 (-std=gnu99): -Wpedantic (GCC) and -Wc11-extensions (Clang)
 *   note each C11 keyword (_Atomic, _Thread_local, _Alignas), which memo
 *   cannot do without; GCC and Clang provide them as extensions there. */
#if !defined(__cplusplus) && (defined(__GNUC__) || defined(__clang__))
#define MEMO_I_DIAG_PUSHED_ 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#pragma GCC diagnostic ignored "-Wpadded"
#ifdef __clang__
#if __has_warning("-Wextra-semi-stmt")
#pragma clang diagnostic ignored "-Wextra-semi-stmt"
#endif
#endif
#if !defined(__STDC_VERSION__) || __STDC_VERSION__ < 201112L
#ifdef __clang__
#pragma clang diagnostic ignored "-Wc11-extensions"
#else
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#endif
#endif

/* >>memo:types
 * ==========================================================================
 * PUBLIC TYPES
 * ========================================================================== */

/** memo_ctor_fn: a constructor.  Build the value, store it in *out and return
 *  0; or return a non-zero error code (anything but MEMO_ENOVALUE is passed
 *  through unchanged) and nothing is cached.  Runs in the thread that called
 *  memo_get, outside every lock, at most one at a time per cell.  `arg` is the
 *  cell's `arg` member. */
typedef int (*memo_ctor_fn)(void *arg, void **out);

/** memo_dtor_fn: a destructor for a value the constructor built.  Runs in the
 *  thread that called memo_reset/memo_invalidate (the cell BUSY meanwhile), or
 *  -- for a value leased when it was reset or invalidated -- in the thread
 *  whose memo_release gives back its last lease, outside any busy period (it
 *  may overlap the next construction).  It may call memo functions on other
 *  cells, and memo_get on its own (EDEADLK when it runs BUSY, a value when
 *  deferred).  May be NULL (nothing to destroy). */
typedef void (*memo_dtor_fn)(void *arg, void *value);

/** memo_forget_fn: drops a value without a goodbye (the `forget` option):
 *  frees what is local to this process, e.g. closes an inherited socket, but
 *  sends nothing to the peer.  Runs in a forked child (MEMO_FORK_RESET: in the
 *  fork's child handler, before fork() returns there; or at the child's last
 *  release of a lease on it) and in memo_forget_all().  NULL = nothing to do
 *  (the value is simply dropped). */
typedef void (*memo_forget_fn)(void *arg, void *value);

/** Values of the `on_fork` option.  MEMO_FORK_KEEP (default): a forked child
 *  keeps a READY value (it shares the parent's socket: use it only if the
 *  parent no longer does).  MEMO_FORK_RESET: the child forgets the value
 *  (`forget`, never `dtor`) and builds its own on first get; the parent is
 *  never affected. */
enum memo_fork_policy { MEMO_FORK_KEEP = 0, MEMO_FORK_RESET = 1 };

/** Values of the `refresh` option of a TTL cell.  MEMO_REFRESH_BLOCK
 *  (default): the first caller after expiry rebuilds, the others wait for it
 *  as on first use; if the rebuild fails the stale value is destroyed and
 *  they all get the error.  MEMO_REFRESH_STALE: one caller rebuilds, the
 *  others keep getting the stale value meanwhile; if the rebuild fails the
 *  stale value is still served (stale-if-error) until max_stale_ms past its
 *  expiry. */
enum memo_refresh_policy { MEMO_REFRESH_BLOCK = 0, MEMO_REFRESH_STALE = 1 };

/** MEMO_MESSAGE_MAX: the size of a constructor's failure message (with its
 *  terminating NUL; longer messages are cut). */
#define MEMO_MESSAGE_MAX 128

/** Events a cell's observer (the `on_event` option) sees; see memo_event_t. */
enum memo_event_kind {
    MEMO_EV_ATTEMPT = 1,  /* a constructor call begins (in the caller's thread) */
    MEMO_EV_SUCCESS,      /* it produced a value (duration_ns) */
    MEMO_EV_FAILURE,      /* it failed (err, message, duration_ns) */
    MEMO_EV_BACKOFF,      /* a get was refused inside the backoff window (err) */
    MEMO_EV_INVALIDATED,  /* memo_invalidate[_lease] took the value out */
    MEMO_EV_DESTROYED,    /* the destructor ran on a value */
    MEMO_EV_FORGOTTEN     /* .forget ran on a value (fork, memo_forget_all) */
};

/** memo_event_t: what an observer is told.  `cell` is the cell; `err` and
 *  `message` (NULL if none) for failures and backoff refusals; duration_ns
 *  for successes and failures.  Valid during the call only. */
typedef struct memo_event {
    int kind;             /* enum memo_event_kind */
    struct memo *cell;
    int err;
    const char *message;
    uint64_t duration_ns;
} memo_event_t;

/** memo_on_event_fn: a cell's observer (the `on_event` option).  Called in
 *  the thread that caused the event, outside every lock memo holds (an
 *  ATTEMPT event while that thread owns the cell, before the constructor
 *  runs); it may log, count, export metrics; it may call memo functions on
 *  other cells, not on its own (EDEADLK for ATTEMPT).  Costs nothing when
 *  unset: no event is even built. */
typedef void (*memo_on_event_fn)(const memo_event_t *ev);

/* The 64-bit atomic members.  On i386 GCC >= 11 aligns an _Atomic 64-bit
 * member to 8 and GCC <= 10 to 4 (and notes it, -Wpsabi, on every compile);
 * a type with an explicit 8-byte alignment is laid out the same by both and
 * draws no note.  In C++ std::atomic<uint64_t> is 8-aligned already. */
#if !defined(__cplusplus) && (defined(__GNUC__) || defined(__clang__))
typedef uint64_t memo_i_u64a_ __attribute__((aligned(8)));
#define MEMO_I_A64 _Atomic(memo_i_u64a_)
#else
#define MEMO_I_A64 _Atomic(uint64_t)
#endif

/** memo_t: one memoized value.  Caller-owned, statically initializable with
 *  MEMO_INIT; an all-zero cell whose `ctor` member is then set is valid too.
 *  Only the members under "configuration" and "options" are API; the rest is
 *  internal (names ending in `_`).  Do not copy a cell that is in use.
 *
 *  Layout (x86-64): the value slot and the state word are the first 16 bytes,
 *  the line the fast path reads; the whole cell is 184 bytes (152 on i386), 8-aligned. */
typedef struct memo {
    /* --- hot: read by the fast path ----------------------------------- */
    MEMO_I_ALIGN8 _Atomic(void *) slot_ MEMO_I_ZERO; /* the value when READY (no TTL), else NULL */
    _Atomic(uint32_t) state_ MEMO_I_ZERO;   /* phase | WAITERS | generation, see below */
    _Atomic(uint32_t) flags_ MEMO_I_ZERO;   /* bits 0-7: MEMO_I_F_* (set by MEMOIZE, never
                                               changed); bits 8-31: the pid of the latest
                                               claimer (fork); both in >>memo:state */

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
    MEMO_I_A64 owner_ MEMO_I_ZERO;     /* thread id of the BUSY owner, else 0 */
    MEMO_I_A64 fail_ MEMO_I_ZERO;      /* (generation << 32) | (uint32_t)error */
    MEMO_I_A64 retry_at_ MEMO_I_ZERO;  /* MEMO_NOW_NS() before which calls fail fast */
    MEMO_I_A64 last_ns_ MEMO_I_ZERO;   /* duration of the last successful ctor */
    _Atomic(uint32_t) nfail_row_ MEMO_I_ZERO; /* consecutive failures */
    _Atomic(uint32_t) attempts_ MEMO_I_ZERO;
    _Atomic(uint32_t) successes_ MEMO_I_ZERO;
    _Atomic(uint32_t) failures_ MEMO_I_ZERO;
    _Atomic(uint32_t) waits_ MEMO_I_ZERO;

    /* --- leases (memo_acquire/memo_release) ----------------------------- */
    _Atomic(uint32_t) rlock_ MEMO_I_ZERO;     /* spin lock guarding retired_: 0 or the holder's pid */
    MEMO_I_A64 leases_ MEMO_I_ZERO;    /* (epoch << 32) | leases on the value */
    struct memo_i_retired *retired_ MEMO_I_ZERO; /* detached values still leased */

    /* --- lifetime options (designated in MEMO_INIT; 0 = off) ------------ */
    /** forget: `void forget(void *arg, void *value)` or NULL.  Called instead
     *  of dtor when a value is dropped without a goodbye: in a forked child
     *  (on_fork = MEMO_FORK_RESET) and by memo_forget_all().  Release what is
     *  local to this process (close the inherited fd, free memory); do not
     *  talk to the peer, which the parent still uses.  `value` is what the
     *  cell holds: memo_get's value; for MEMOIZE with a pointer T that
     *  pointer; for MEMOIZE with any other T (and MEMOIZE_VALUE) the address
     *  of memo's copy of the T (memcpy it out); for MEMOIZE_THREAD the
     *  address of a copy of the thread's T. */
    memo_forget_fn forget MEMO_I_ZERO;
    /** ttl_ms: a value older than this many ms is stale (see refresh).
     *  0 = values never expire.  Measured on MEMO_TTL_NOW_NS(). */
    uint32_t ttl_ms MEMO_I_ZERO;
    /** max_stale_ms: with refresh = MEMO_REFRESH_STALE, how long past its
     *  expiry a value may still be served while a rebuild runs or after
     *  rebuilds failed; past that, callers get the error (and retry under the
     *  backoff).  0 = no limit. */
    uint32_t max_stale_ms MEMO_I_ZERO;
    /** on_fork: MEMO_FORK_KEEP (0: a forked child keeps the value) or
     *  MEMO_FORK_RESET (the child forgets it: .forget, never .dtor, and
     *  builds its own on first get). */
    uint8_t on_fork MEMO_I_ZERO;
    /** refresh: MEMO_REFRESH_BLOCK (0: a stale value is rebuilt by the next
     *  caller while the others wait) or MEMO_REFRESH_STALE (one caller
     *  rebuilds, the others keep getting the stale value meanwhile; a failed
     *  rebuild keeps it too, up to max_stale_ms). */
    uint8_t refresh MEMO_I_ZERO;

    /* --- internal: TTL value and the program-wide registry -------------- */
    uint16_t rsv16_ MEMO_I_ZERO;              /* reserved, 0 */
    uint32_t rsv32_ MEMO_I_ZERO;              /* reserved, 0 */
    MEMO_I_A64 exp_ns_ MEMO_I_ZERO;    /* TTL cells: MEMO_TTL_NOW_NS() at which the value goes stale */
    _Atomic(void *) tval_ MEMO_I_ZERO;        /* TTL cells: the value (slot_ stays NULL, so the
                                                 inlined fast paths go to the slow path, which
                                                 reads the clock) */
    uint64_t reg_seq_ MEMO_I_ZERO;            /* the cell's number in the program-wide
                                                 registry while it holds a value, else 0
                                                 (written by the owner under the registry
                                                 lock; >>memo:wait, the registry) */

    /* --- observability (option) and the last failure's message --------- */
    /** on_event: an observer (memo_on_event_fn) or NULL: attempts,
     *  successes, failures with their message and duration, backoff
     *  refusals, invalidations, destructions; for logs and metrics. */
    memo_on_event_fn on_event MEMO_I_ZERO;
    struct memo_i_msg *msg_ MEMO_I_ZERO;      /* the last failed attempt's message, or NULL;
                                                 guarded by rlock_ */
} memo_t;


/** MEMO_INIT(ctor, dtor, arg, options...): static initializer for a memo_t.
 *  ctor is required, dtor may be NULL, arg is passed to both.  Options follow
 *  as designated initializers, e.g. MEMO_INIT(open, close, NULL,
 *  .retry_min_ms = 50, .retry_max_ms = 5000).  Every option defaults to 0.
 *  In C++ (C++20 designated initializers) options must come in member order.
 *  C++11/14/17: options are designated initializers before C++20, which GCC
 *  and Clang accept as an extension, with a warning under -Wpedantic (GCC >=
 *  12 names it -Wc++20-extensions; C++11 adds -Wextra's
 *  -Wmissing-field-initializers).  memo.h silences Clang's itself; GCC's
 *  cannot be silenced from inside an initializer: MEMO_INIT without options
 *  draws none, with options under GCC wrap the definition in `#pragma GCC
 *  diagnostic push`, `ignored "-Wc++20-extensions"` (and, for C++11,
 *  "-Wmissing-field-initializers") and `pop` (tests/cxx_smoke.cpp).
 *  MEMOIZE, MEMOIZE_THREAD and MEMOIZE_VALUE do that themselves. */
#if defined(__cplusplus) && __cplusplus >= 202002L
#define MEMO_INIT(ctor_, dtor_, arg_, ...) \
    { .ctor = (ctor_), .dtor = (dtor_), .arg = (arg_) __VA_OPT__(, ) __VA_ARGS__ }
#elif defined(__cplusplus)
/* C++11 to C++17: no __VA_OPT__ and no designated initializers but as an
 * extension.  The members up to arg are positional ({} for the atomics
 * before ctor), the options follow designated (a mix GCC and Clang accept
 * before C++20, not in it); a trailing empty argument keeps a "..." from
 * being empty (ISO C++ before C++20 wants one argument there).  In C++11
 * memo_t has no default member initializers: MEMO_INIT without options lists
 * all its members (MEMO_I_CXX_REST_, the 26 after arg), so that -Wextra's
 * -Wmissing-field-initializers has nothing to say; MEMO_I_CXX_INIT_SEL_
 * picks that form for exactly three arguments. */
#if __cplusplus >= 201402L
#define MEMO_I_CXX_REST_
#else
#define MEMO_I_CXX_REST_ , {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, \
    {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
#endif
/* The designated-initializer warnings, silenced where a pragma may stand:
 * inside the initializer for Clang (MEMO_I_CXX_DI_BEGIN_/END_), around the
 * generators' declarations for GCC (MEMO_I_GXX_DI_PUSH_/POP_, used by
 * MEMOIZE & co. below), whose parser takes no pragma in an initializer. */
#if defined(__clang__)
#if __has_warning("-Wc++20-designator")
#define MEMO_I_CXX_DI_W1_ _Pragma("clang diagnostic ignored \"-Wc++20-designator\"")
#else
#define MEMO_I_CXX_DI_W1_
#endif
#if __has_warning("-Wc99-designator")
#define MEMO_I_CXX_DI_W2_ _Pragma("clang diagnostic ignored \"-Wc99-designator\"")
#else
#define MEMO_I_CXX_DI_W2_
#endif
#define MEMO_I_CXX_DI_BEGIN_ _Pragma("clang diagnostic push") MEMO_I_CXX_DI_W1_ MEMO_I_CXX_DI_W2_ \
    _Pragma("clang diagnostic ignored \"-Wmissing-field-initializers\"")
#define MEMO_I_CXX_DI_END_ _Pragma("clang diagnostic pop")
#else
#define MEMO_I_CXX_DI_BEGIN_
#define MEMO_I_CXX_DI_END_
#endif
#if defined(__GNUC__) && !defined(__clang__)
#if __GNUC__ >= 12
#define MEMO_I_GXX_DI_W_ _Pragma("GCC diagnostic ignored \"-Wc++20-extensions\"")
#else
#define MEMO_I_GXX_DI_W_ _Pragma("GCC diagnostic ignored \"-Wpedantic\"")
#endif
#define MEMO_I_GXX_DI_PUSH_ _Pragma("GCC diagnostic push") MEMO_I_GXX_DI_W_ \
    _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")
#define MEMO_I_GXX_DI_POP_ _Pragma("GCC diagnostic pop")
#endif
#define MEMO_INIT(...) \
    MEMO_I_CXX_INIT_SEL_(__VA_ARGS__, MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, \
                         MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, \
                         MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, \
                         MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_O_, \
                         MEMO_I_CXX_INIT_O_, MEMO_I_CXX_INIT_3_, ~)(__VA_ARGS__)
#define MEMO_I_CXX_INIT_SEL_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, \
                             a17, a18, a19, which, ...) which
#define MEMO_I_CXX_INIT_3_(ctor_, dtor_, arg_) \
    { {}, {}, {}, (ctor_), (dtor_), (arg_) MEMO_I_CXX_REST_ }
#define MEMO_I_CXX_INIT_O_(ctor_, dtor_, arg_, ...) \
    MEMO_I_CXX_DI_BEGIN_ { {}, {}, {}, (ctor_), (dtor_), (arg_), __VA_ARGS__ } MEMO_I_CXX_DI_END_
#else
#define MEMO_INIT(...) { .ctor = __VA_ARGS__ }
#endif

/* MEMO_INIT with internal flags (MEMO_I_F_*), for the typed generators. */
#if defined(__cplusplus) && __cplusplus >= 202002L
#define MEMO_I_INIT_F_(flags_v, ctor_, dtor_, arg_, ...) \
    { .flags_ = (flags_v), .ctor = (ctor_), .dtor = (dtor_), .arg = (arg_) __VA_OPT__(, ) __VA_ARGS__ }
#elif defined(__cplusplus)
/* The generators always pass the options with a trailing empty argument. */
#define MEMO_I_INIT_F_(flags_v, ctor_, dtor_, arg_, ...) \
    MEMO_I_CXX_DI_BEGIN_ { {}, {}, {(flags_v)}, (ctor_), (dtor_), (arg_), __VA_ARGS__ } MEMO_I_CXX_DI_END_
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
    char last_message[MEMO_MESSAGE_MAX]; /* that failure's message (memo_failf), or "" */
} memo_stats_t;

/** Where an error came from (memo_error_t.origin). */
enum memo_origin {
    MEMO_FROM_MEMO = 1,   /* memo's own: EINVAL, EDEADLK, ETIMEDOUT, ENOMEM, ECANCELED,
                             EAGAIN, MEMO_ENOVALUE (a constructor that returned 0 and
                             no value) */
    MEMO_FROM_CTOR = 2    /* the constructor's own return value: of this caller's
                             attempt, of the attempt it waited on, or of the failure
                             whose backoff window it fell in */
};

/** memo_error_t: the calling thread's last error from a getter
 *  (memo_get, memo_get_timed, memo_acquire, the typed getters), as
 *  memo_last_error() returns it.  `message` is the constructor's message for
 *  that attempt (memo_failf), or NULL; it stays valid until this thread's
 *  next failing getter. */
typedef struct memo_error {
    int code;             /* the error returned, 0 if none yet */
    int origin;           /* enum memo_origin */
    const char *message;
} memo_error_t;

/** MEMO_ENOVALUE: returned (and counted as a failed attempt) when a
 *  constructor returns 0 but leaves a NULL value.  A ready cell is recognised
 *  by its non-NULL value, so NULL cannot be memoized; return a non-NULL
 *  pointer or use the typed MEMOIZE with a struct type. */
#ifdef ENODATA
#define MEMO_ENOVALUE ENODATA
#else
#define MEMO_ENOVALUE EPROTO
#endif

/* >>memo:api
 * ==========================================================================
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
static int memo_i_fail_(int err); /* memo's own error from a getter, noted */

#if defined(__GNUC__) || defined(__clang__)
/* One definition per program of a program-wide table or flag: weak (merged by
 * the linker across units) with default visibility (merged by the dynamic
 * loader across shared libraries built with -fvisibility=hidden). */
#define MEMO_I_SHARED __attribute__((weak, visibility("default")))
#define MEMO_I_LIKELY(x) __builtin_expect(!!(x), 1)
#define MEMO_I_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* No unused-function warning for a slow path a unit never calls: `unused`
 * for GCC; inline for Clang, whose -Wused-but-marked-unused reports every
 * use of an `unused` function (GCC's -Wattributes, inline with noinline). */
#ifdef __clang__
#define MEMO_I_NOINLINE __attribute__((noinline, cold)) inline
#else
#define MEMO_I_NOINLINE __attribute__((noinline, cold, unused))
#endif
#define MEMO_I_INLINE __attribute__((always_inline)) inline
#define MEMO_I_NORETURN_ __attribute__((noreturn))
/* Silences the pedantic notes about the C11 keywords that generated code
 * spells on the user's lines, in a -std=gnu99 build (GCC and Clang provide
 * them as extensions there). */
#define MEMO_I_EXT_ __extension__
#if defined(__has_attribute)
#if __has_attribute(fallthrough)
#define MEMO_I_FALLTHROUGH_ __attribute__((fallthrough))
#endif
#endif
#else
#define MEMO_I_LIKELY(x) (x)
#define MEMO_I_UNLIKELY(x) (x)
#define MEMO_I_NOINLINE
#define MEMO_I_INLINE inline
#define MEMO_I_NORETURN_
#define MEMO_I_EXT_
#endif
#ifndef MEMO_I_FALLTHROUGH_
#define MEMO_I_FALLTHROUGH_ ((void)0)
#endif

/* >>memo:overrides -- the allocator and the invariant checks (see COMPILE-TIME
 * OPTIONS). */
#if defined(MEMO_MALLOC) != defined(MEMO_FREE)
#error "memo.h: define both MEMO_MALLOC and MEMO_FREE, or neither"
#endif
#ifndef MEMO_MALLOC
#define MEMO_MALLOC(n) malloc(n)
#define MEMO_FREE(p) free(p)
#endif
#ifndef MEMO_ASSERT
#ifdef NDEBUG
#define MEMO_ASSERT(c) ((void)0)
#else
#define MEMO_ASSERT(c) ((c) ? (void)0 : memo_i_assert_fail_(#c, __FILE__, __LINE__))
static MEMO_I_NOINLINE MEMO_I_NORETURN_ void memo_i_assert_fail_(const char *what, const char *file, int line)
{
    fprintf(stderr, "memo: internal invariant violated: %s (%s:%d)\n", what, file, line);
    abort();
}
#endif
#endif

/* >>memo:atomics -- every atomic operation of memo goes through one of these
 * wrappers, named for its memory order (as mimalloc's mi_atomic_*): the order
 * is in the name at every call site, next to the comment that argues for it,
 * and one build can redirect them all -- e.g. to a relaxed-memory checker
 * such as Relacy -- by defining MEMO_I_ATOMICS_DEFINED and its own set before
 * including memo.h.  Zero cost: each is the C11 operation itself.  cas: strong
 * compare-exchange (success order, then failure order); cas_weak: may fail
 * spuriously. */
#if !defined(MEMO_I_ATOMICS_DEFINED) && defined(MEMO_I_CXX_ATOMICS)
/* C++ before C++23: _Atomic(T) is std::atomic<T> (see the includes), and each
 * wrapper is the same operation as std::atomic's member function. */
#define memo_i_atomic_load_relaxed(p) (p)->load(std::memory_order_relaxed)
#define memo_i_atomic_load_acquire(p) (p)->load(std::memory_order_acquire)
#define memo_i_atomic_load_seq_cst(p) (p)->load(std::memory_order_seq_cst)
#define memo_i_atomic_store_relaxed(p, v) (p)->store((v), std::memory_order_relaxed)
#define memo_i_atomic_store_release(p, v) (p)->store((v), std::memory_order_release)
#define memo_i_atomic_store_seq_cst(p, v) (p)->store((v), std::memory_order_seq_cst)
#define memo_i_atomic_exchange_relaxed(p, v) (p)->exchange((v), std::memory_order_relaxed)
#define memo_i_atomic_exchange_release(p, v) (p)->exchange((v), std::memory_order_release)
#define memo_i_atomic_exchange_acq_rel(p, v) (p)->exchange((v), std::memory_order_acq_rel)
#define memo_i_atomic_fetch_add_relaxed(p, v) (p)->fetch_add((v), std::memory_order_relaxed)
#define memo_i_atomic_cas_seq_cst(p, e, d) \
    (p)->compare_exchange_strong(*(e), (d), std::memory_order_seq_cst, std::memory_order_seq_cst)
#define memo_i_atomic_cas_relaxed_relaxed(p, e, d) \
    (p)->compare_exchange_strong(*(e), (d), std::memory_order_relaxed, std::memory_order_relaxed)
#define memo_i_atomic_cas_acq_rel_relaxed(p, e, d) \
    (p)->compare_exchange_strong(*(e), (d), std::memory_order_acq_rel, std::memory_order_relaxed)
#define memo_i_atomic_cas_weak_acquire_relaxed(p, e, d) \
    (p)->compare_exchange_weak(*(e), (d), std::memory_order_acquire, std::memory_order_relaxed)
#define memo_i_atomic_cas_weak_acquire_acquire(p, e, d) \
    (p)->compare_exchange_weak(*(e), (d), std::memory_order_acquire, std::memory_order_acquire)
#define memo_i_atomic_cas_weak_release_acquire(p, e, d) \
    (p)->compare_exchange_weak(*(e), (d), std::memory_order_release, std::memory_order_acquire)
#define memo_i_atomic_fence_acquire() std::atomic_thread_fence(std::memory_order_acquire)
#define memo_i_atomic_fence_release() std::atomic_thread_fence(std::memory_order_release)
#define MEMO_I_ATOMICS_DEFINED 1 /* skips the C11 set below */
#endif
#ifndef MEMO_I_ATOMICS_DEFINED
#define memo_i_atomic_load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define memo_i_atomic_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define memo_i_atomic_load_seq_cst(p) atomic_load(p)
#define memo_i_atomic_store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define memo_i_atomic_store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define memo_i_atomic_store_seq_cst(p, v) atomic_store((p), (v))
#define memo_i_atomic_exchange_relaxed(p, v) atomic_exchange_explicit((p), (v), memory_order_relaxed)
#define memo_i_atomic_exchange_release(p, v) atomic_exchange_explicit((p), (v), memory_order_release)
#define memo_i_atomic_exchange_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define memo_i_atomic_fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define memo_i_atomic_cas_seq_cst(p, e, d) atomic_compare_exchange_strong((p), (e), (d))
#define memo_i_atomic_cas_relaxed_relaxed(p, e, d) \
    atomic_compare_exchange_strong_explicit((p), (e), (d), memory_order_relaxed, memory_order_relaxed)
#define memo_i_atomic_cas_acq_rel_relaxed(p, e, d) \
    atomic_compare_exchange_strong_explicit((p), (e), (d), memory_order_acq_rel, memory_order_relaxed)
#define memo_i_atomic_cas_weak_acquire_relaxed(p, e, d) \
    atomic_compare_exchange_weak_explicit((p), (e), (d), memory_order_acquire, memory_order_relaxed)
#define memo_i_atomic_cas_weak_acquire_acquire(p, e, d) \
    atomic_compare_exchange_weak_explicit((p), (e), (d), memory_order_acquire, memory_order_acquire)
#define memo_i_atomic_cas_weak_release_acquire(p, e, d) \
    atomic_compare_exchange_weak_explicit((p), (e), (d), memory_order_release, memory_order_acquire)
#define memo_i_atomic_fence_acquire() atomic_thread_fence(memory_order_acquire)
#define memo_i_atomic_fence_release() atomic_thread_fence(memory_order_release)
#endif

/* The value of a READY cell, else NULL: the one acquire load of the slot
 * that every getter starts with.  acquire: pairs with the release store of
 * slot_ in memo_i_construct_, so everything the constructor wrote is visible
 * once the value is seen. */
static MEMO_I_INLINE void *memo_i_slot_(memo_t *m)
{
    return memo_i_atomic_load_acquire(&m->slot_);
}

/* The getters' fast path: READY -> one load, a test and a branch, inlined, no
 * store; anything else (and NULL arguments) -> the out-of-line slow path. */
static MEMO_I_INLINE int memo_i_get_fast_(memo_t *m, void **out, long timeout_ms)
{
    void *v = m ? memo_i_slot_(m) : NULL;
    if (MEMO_I_LIKELY(v != NULL && out != NULL)) {
        *out = v;
        return 0;
    }
    return memo_i_get_out_(m, out, timeout_ms);
}

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
    return memo_i_get_fast_(m, out, -1);
}

/** memo_get_timed(m, &v, timeout_ms): as memo_get, but if another thread's
 *  attempt is running and does not end within timeout_ms milliseconds
 *  (measured on CLOCK_MONOTONIC: a step of the wall clock does not change it),
 *  returns ETIMEDOUT; that attempt goes on.  The timeout bounds waiting only:
 *  a caller that becomes the constructor runs it to the end.  timeout_ms == 0
 *  never waits; timeout_ms < 0 is EINVAL; a timeout too large to represent as
 *  a deadline (over 2^53 ms, e.g. LONG_MAX) waits without limit. */
static inline int memo_get_timed(memo_t *m, void **out, long timeout_ms)
{
    if (timeout_ms < 0)
        return memo_i_fail_(EINVAL);
    return memo_i_get_fast_(m, out, timeout_ms);
}

/** memo_peek(m, &v): the value if the cell is READY (0, *v set); EAGAIN if
 *  not (empty, failed or being constructed); EINVAL for NULL arguments.
 *  Never waits, never constructs, never writes shared memory.  A TTL cell:
 *  the value if it is fresh, or if it is stale but a get would serve it
 *  without waiting (MEMO_REFRESH_STALE within max_stale_ms, also while a
 *  refresh runs); EAGAIN for a stale value a get would first rebuild. */
static inline void *memo_i_ttl_peek_(memo_t *m);

static inline int memo_peek(memo_t *m, void **out)
{
    if (!m || !out)
        return EINVAL;
    void *v = memo_i_slot_(m);
    if (!v)
        v = memo_i_ttl_peek_(m);
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
 *  running attempt, except one busy with `seen` itself (a TTL refresh of it,
 *  which may keep it, or another thread's destroy of it): then it waits for
 *  that outcome.  A leased value is destroyed at its last release. */
static inline int memo_invalidate(memo_t *m, void *seen);

/** memo_stats(m): a snapshot of the cell's counters (all zero for NULL).
 *  Each field is read atomically; the fields are not one consistent snapshot
 *  while other threads work on the cell. */
static inline memo_stats_t memo_stats(const memo_t *m);

/** memo_last_error(): the calling thread's last error from a getter
 *  (memo_get, memo_get_timed, memo_acquire, MEMOIZE / MEMOIZE_THREAD
 *  getters): its code, whether it is memo's own or the constructor's
 *  (MEMO_FROM_MEMO / MEMO_FROM_CTOR), and the constructor's message.  Like
 *  errno: read it right after a getter returned an error; a getter that
 *  succeeds does not change it.  Every other memo function's errors are
 *  memo's own (see ERRORS). */
static inline memo_error_t memo_last_error(void);

/** memo_failf(err, fmt, ...): for a constructor: `return memo_failf(
 *  ECONNREFUSED, "connect %s: %s", host, PQerrorMessage(c));` attaches a
 *  short message (printf format, at most MEMO_MESSAGE_MAX - 1 bytes kept) to
 *  this attempt and returns err.  The caller and every waiter of that attempt
 *  read it with memo_last_error(); memo_stats keeps the last one; the
 *  observer gets it.  Called outside a constructor it has no effect but the
 *  return value. */
static inline int memo_failf(int err, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** memo_set(m, value): installs `value` in the empty cell m, as if its
 *  constructor had returned it (for tests and dependency injection: a fake
 *  client): 0; EEXIST if the cell holds a value; EBUSY if it is being built
 *  or destroyed by another thread; EDEADLK from its own constructor or
 *  destructor; EINVAL for NULL m or value; ENOTSUP for a cell whose value
 *  lives in place or per thread (MEMOIZE with a non-pointer T,
 *  MEMOIZE_VALUE, MEMOIZE_THREAD).  A failure and its backoff window are
 *  forgotten.  The cell's dtor will destroy the value as any other. */
static inline int memo_set(memo_t *m, void *value);

/** memo_take(m, &value): removes the value from the cell without destroying
 *  it: the caller owns it now (the next get builds a new one).  0; EAGAIN if
 *  the cell holds no value; EDEADLK from its own constructor or destructor;
 *  ENOMEM as memo_reset; EINVAL for NULL; ENOTSUP as memo_set.  Waits for a
 *  running construction or destruction.  Leases still held on the value stay
 *  valid and their last release disposes of nothing: do not destroy a taken
 *  value while other threads may hold leases on it. */
static inline int memo_take(memo_t *m, void **out);

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
 *  arguments; EOVERFLOW when 2^31 leases are already held on the value;
 *  ENOTSUP for a cell whose value lives in place (MEMOIZE with a
 *  non-pointer T, MEMOIZE_VALUE: their storage is reused by the next value, so
 *  it cannot outlive a reset).  Cost when ready: two loads and one atomic
 *  add on the cell (a shared-line write, unlike memo_get).
 *  If a reset detaches the value between the get and the pin, the call goes
 *  round again: it may then build (or wait for) another value, count in
 *  memo_stats' `waits` more than once, and -- giving back a pin it took on a
 *  value detached meanwhile -- run that value's deferred destructor. */
static inline int memo_acquire(memo_t *m, memo_lease_t *lease);

/** memo_invalidate_lease(&lease): the exact form of memo_invalidate.  Detaches
 *  the leased value from the cell if the cell still holds that very value --
 *  not merely a value at the same address: a value's lease epoch is never
 *  reused while a lease on it is held, so a connection that was invalidated,
 *  freed and replaced by a new one that malloc put at the same address is not
 *  mistaken for it.  The next get builds a new value; the lease stays held
 *  and the value is destroyed when its last lease is released (release this
 *  one as usual).  Returns 0; EALREADY if the cell no longer holds the value
 *  (someone invalidated or reset it first); EINVAL for NULL or a lease not
 *  held; EDEADLK from the cell's own constructor or destructor; ENOMEM as
 *  memo_reset.  Never waits for a running attempt, except as memo_invalidate
 *  does (a refresh or destroy of that very value).
 *
 *  When is the pointer form, memo_invalidate(m, seen), enough?  When `seen`
 *  cannot have been destroyed and rebuilt at the same address between your
 *  get and your invalidate: when only one thread ever invalidates or resets
 *  the cell, or when every user of the value holds a lease (a leased value is
 *  not freed, so its address cannot be reused meanwhile).  Otherwise --
 *  several threads that each saw a broken connection -- thread X may
 *  invalidate conn 1, Z reconnect to conn 2 at the same address, and Y's
 *  invalidate(conn 1) then destroys conn 2: use memo_acquire and this. */
static inline int memo_invalidate_lease(memo_lease_t *lease);

/** memo_release(&lease): gives the lease back.  If its value was detached
 *  (reset, invalidated) and this was its last lease, runs the cell's
 *  destructor on it now, in the calling thread.  Returns 0; EINVAL for NULL or
 *  a lease that is not held (released twice, never acquired). */
static inline int memo_release(memo_lease_t *lease);

/** memo_shutdown(): destroys every value held by every cell of the program
 *  (all translation units and shared libraries, one registry), newest first:
 *  a value built from another cell's value -- its constructor got that cell
 *  -- was built after it and is destroyed before it.  Each cell is reset as
 *  by memo_reset (it waits for a running construction, then its dtor runs in
 *  the calling thread); a leased value leaves its cell at once and is
 *  destroyed by its last memo_release.  Per-thread values (MEMOIZE_THREAD)
 *  of threads still alive are destroyed too, by the calling thread.  Values
 *  built while it runs are left alone.  Idempotent (a second call finds
 *  nothing), and every cell stays usable: a later get builds again.
 *  Returns 0; EDEADLK if a cell could not be reset because the calling thread
 *  is constructing it (a call from a constructor: that cell is skipped, the
 *  others are done); ENOMEM if a leased value's record could not be
 *  allocated (that value stays).  Do not call it from a signal handler (it
 *  locks and runs destructors): from the main loop or a watcher thread, e.g.
 *  after SIGTERM (docs/LIFETIMES.md).  Cells are not to be freed while it
 *  runs. */
static inline int memo_shutdown(void);

/** memo_forget_all(): every cell of the program forgets its value without
 *  running its destructor: .forget runs where set (close an inherited fd),
 *  the cell becomes empty and builds anew on its next get.  For a forked
 *  child of a program that does not use .on_fork, and for a restored memory
 *  snapshot (AWS Lambda SnapStart asks runtimes to refresh connections after
 *  restore).  A leased value is forgotten at its last release.  Per-thread
 *  values of every thread are forgotten too, in the calling thread: call it
 *  when those threads no longer use them.  Returns as memo_shutdown. */
static inline int memo_forget_all(void);

/* >>memo:typed-api
 * ==========================================================================
 * TYPED GENERATORS
 * ========================================================================== */

/** MEMOIZE(storage, name, T, ctor, dtor, options...): a typed memoized getter.
 *    storage  `static` (one file) or empty (external linkage: pair it with
 *             MEMO_DECLARE(name, T) in a header, define it in one .c file)
 *    name     the getter: `int name(U *out)`, same semantics and errors as
 *             memo_get (EINVAL for out == NULL; *out untouched on error); and
 *             the cell `memo_t name_memo` for memo_reset, memo_invalidate
 *             (pointer T), memo_acquire (pointer T), memo_stats and tests
 *    T        an object type, see below.  U is T without its top-level
 *             qualifiers (U = T for an unqualified T): the qualifiers say
 *             what the value is, memo's copies and the out object are plain
 *    ctor     `int ctor(U *out)`: 0 = success; wrong type = compile error
 *    dtor     `void dtor(T value)` or NULL
 *    options  as in MEMO_INIT, e.g. .retry_min_ms = 50
 *  Where T lives.  A pointer T is stored in the cell's slot itself: a NULL
 *  value from a successful ctor is MEMO_ENOVALUE; memo_invalidate(&name_memo,
 *  ptr) and leases work.  Any other T is stored in place, in static words
 *  beside the cell (memo_acquire: ENOTSUP; memo_peek/memo_get on name_memo
 *  give an internal address, not a T: use the getter).  The getter copies it
 *  out under a seqlock: a copy is always one whole value, also while another
 *  thread resets the cell and the next value is being built (a getter that
 *  meets a rebuild waits for it, as memo_get does).  The getter needs
 *  sizeof(T) of stack, the thread that builds the value twice that: for a
 *  big T (kilobytes), memoize a pointer to it.
 *  Which T work (GCC >= 5, Clang >= 3.9 in C; any C++ compiler):
 *    - pointers (also to const, `char *const`, function pointers), scalars,
 *      structs, unions, arrays (`typedef int a4[4]`: ctor `int ctor(a4 *)`,
 *      getter `int name(a4 *)`, dtor `void dtor(int *)` gets a copy);
 *    - const- and volatile-qualified T, as said above (U drops them);
 *  not: _Atomic T (use the plain type), a qualified array type, an
 *  incomplete or variably modified type, T with a non-trivial copy in C++
 *  (the value is copied as bytes).  MEMOIZE defines functions: it must be
 *  used at file scope, not inside a function.
 *  On a C compiler without GNU builtins (neither __GNUC__ nor __clang__)
 *  ISO C cannot tell a pointer type from a struct type: MEMOIZE does not
 *  compile there (a static assertion names the way out); write
 *  MEMOIZE_PTR(...) for a pointer T and MEMOIZE_INPLACE(...) for any other T
 *  (same arguments; defined with the internals below).  There a qualified T
 *  works only with C23's typeof_unqual. */
#define MEMOIZE(storage, name, ...) MEMO_I_MEMOIZE_(storage, name, __VA_ARGS__, )

/** MEMO_DECLARE(name, T): the prototype of an external MEMOIZE'd getter and
 *  its cell, for a shared header: `int name(U *out); extern memo_t
 *  name_memo;` (U: T without top-level qualifiers, as in MEMOIZE).  T must be
 *  spelled as in the definition, or as a compatible type. */
#define MEMO_DECLARE(name, T) \
    extern memo_t name##_memo; \
    int name(MEMO_I_UNQUAL(T) *out)

/** MEMOIZE_THREAD(storage, name, T, ctor, dtor, options...): one value per
 *  thread -- for handles that are not thread-safe (libpq's PGconn, hiredis'
 *  redisContext, sqlite3 opened without serialized mode).
 *    name      `int name(U *out)`: the calling thread's value, built by
 *              `int ctor(U *out)` on that thread's first call, in that thread;
 *              a failure is returned and not cached, the next call of that
 *              thread retries (retry_min_ms/retry_max_ms backoff, per
 *              thread); EINVAL for out == NULL; EDEADLK from ctor itself
 *              (or from its dtor run by memo_shutdown in this thread);
 *              EAGAIN if no pthread key is left for the thread-exit
 *              destructor; ECANCELED from a destructor at thread exit after
 *              4 rounds of rebuilding there.
 *              Ready: a thread-local load, a test and a copy, no lock.
 *    name_reset  `int name_reset(void)`: destroys the calling thread's value
 *              (dtor) and its backoff; the next call builds again.
 *    name_memo the options (retry_min_ms, retry_max_ms, forget, on_fork) and
 *              the statistics of all threads together (memo_stats); not a
 *              cell to get from (memo_get: EINVAL).  ttl_ms is not
 *              supported here.
 *  Lifetimes: a thread's value is destroyed (dtor, in that thread) when the
 *  thread exits -- pthread_exit, return from its start routine, cancel; not
 *  the main thread's at exit(), which memo_shutdown() covers -- and by
 *  memo_shutdown() for threads still alive, in the calling thread (call it
 *  when those threads no longer use their values); memo_forget_all() and a
 *  forked child forget values instead (.forget(arg, pointer to a copy of the
 *  T)): in a child, every other thread's value (those threads do not exist
 *  there), and the forking thread's own if on_fork = MEMO_FORK_RESET.
 *  T as in MEMOIZE; storage as in MEMOIZE (MEMO_DECLARE_THREAD for a shared
 *  header).  At file scope only. */
#define MEMOIZE_THREAD(storage, name, ...) MEMO_I_MEMOIZE_THREAD_(storage, name, __VA_ARGS__, )

/** MEMO_DECLARE_THREAD(name, T): the prototypes of an external MEMOIZE_THREAD:
 *  `int name(U *out); int name_reset(void); extern memo_t name_memo;`. */
#define MEMO_DECLARE_THREAD(name, T) \
    extern memo_t name##_memo; \
    int name##_reset(void); \
    int name(MEMO_I_UNQUAL(T) *out)

/** MEMOIZE_VALUE(storage, name, T, fn, options...): an infallible memoized
 *  value: `U name(void)` returns what `U fn(void)` returned on its first call
 *  (U: T without top-level qualifiers; T: a scalar, pointer, struct or
 *  union, not an array).  The value lives in place, as MEMOIZE's non-pointer
 *  T: a copy is always one whole value, also across memo_reset(&name_memo),
 *  which makes the next call run fn again.  Concurrent first callers wait for
 *  the one running fn.  Calling name() from inside fn aborts the program (it
 *  would deadlock).  Cell: name_memo (memo_acquire: ENOTSUP).  Works on every
 *  C11 compiler. */
#define MEMOIZE_VALUE(storage, name, ...) MEMO_I_MEMOIZE_VALUE_(storage, name, __VA_ARGS__, )

/* GCC, C++11 to C++17: the generators' options are designated initializers,
 * an extension there (see MEMO_INIT); GCC takes a pragma only between
 * declarations, so these wrap the generated declarations in one that
 * silences its warning (the typedef, repeated, takes the caller's `;`). */
#ifdef MEMO_I_GXX_DI_PUSH_
#undef MEMOIZE
#undef MEMOIZE_THREAD
#undef MEMOIZE_VALUE
#define MEMOIZE(storage, name, ...) MEMO_I_GXX_DI_PUSH_ \
    MEMO_I_MEMOIZE_(storage, name, __VA_ARGS__, ); MEMO_I_GXX_DI_POP_ typedef int name##_memo_semicolon_
#define MEMOIZE_THREAD(storage, name, ...) MEMO_I_GXX_DI_PUSH_ \
    MEMO_I_MEMOIZE_THREAD_(storage, name, __VA_ARGS__, ); MEMO_I_GXX_DI_POP_ typedef int name##_memo_semicolon_
#define MEMOIZE_VALUE(storage, name, ...) MEMO_I_GXX_DI_PUSH_ \
    MEMO_I_MEMOIZE_VALUE_(storage, name, __VA_ARGS__, ); MEMO_I_GXX_DI_POP_ typedef int name##_memo_semicolon_
#endif

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

/* >>memo:platform -- clocks, threads, processes, cancellation: what the
 * protocol below stands on. */

#ifndef MEMO_NOW_NS
#define MEMO_NOW_NS() memo_i_mono_ns_()
#endif

/* --- the monotonic clock ---------------------------------------------------
 * Deadlines (memo_get_timed) and, unless MEMO_NOW_NS is overridden, backoff
 * windows run on CLOCK_MONOTONIC, so a step of the wall clock (NTP, an admin)
 * neither lengthens nor cuts a wait.  A strict -std=c11 build does not see
 * the POSIX declarations; on glibc we then bind to the same symbol under an
 * internal name (asm label, so no user declaration can clash; the 64-bit
 * time_t variant where glibc redirects it), elsewhere on Linux the raw
 * system call.  Only a platform with none of these falls back to TIME_UTC
 * (docs/DESIGN.md, "limits and wraps"). */
#if defined(CLOCK_MONOTONIC)
#define MEMO_I_MONO_ID CLOCK_MONOTONIC
#define MEMO_I_CLOCK_GETTIME clock_gettime
#elif defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__))
#define MEMO_I_MONO_ID 1 /* CLOCK_MONOTONIC on Linux */
#define MEMO_I_CLOCK_GETTIME memo_i_clock_gettime_
#ifdef __USE_TIME_BITS64
extern int memo_i_clock_gettime_(int, struct timespec *) __asm__("__clock_gettime64");
#else
extern int memo_i_clock_gettime_(int, struct timespec *) __asm__("clock_gettime");
#endif
#endif

#include <unistd.h> /* getpid */
#if defined(__linux__) || !defined(MEMO_NO_FUTEX)
#include <sys/syscall.h>
/* Under a strict -std=c11 <unistd.h> does not declare syscall(); this is a
 * compatible redeclaration of glibc's and musl's prototype, made only where
 * <unistd.h> did not declare it (-Wredundant-decls): glibc declares it under
 * __USE_MISC, musl under _GNU_SOURCE or _BSD_SOURCE. */
#if !defined(__cplusplus) && \
    (defined(__GLIBC__) ? !defined(__USE_MISC) : !(defined(_GNU_SOURCE) || defined(_BSD_SOURCE)))
long syscall(long number, ...);
#endif
#endif

static inline uint64_t memo_i_mono_ns_(void)
{
    struct timespec ts;
#if defined(MEMO_I_CLOCK_GETTIME)
    MEMO_I_CLOCK_GETTIME(MEMO_I_MONO_ID, &ts);
#elif defined(__linux__) && defined(SYS_clock_gettime)
#if defined(SYS_clock_gettime64)
    if (sizeof(time_t) > sizeof(long)) /* 64-bit time_t on a 32-bit target */
        syscall(SYS_clock_gettime64, 1, &ts);
    else
#endif
        syscall(SYS_clock_gettime, 1, &ts);
#elif defined(TIME_UTC)
    timespec_get(&ts, TIME_UTC);
#else
#error "memo.h: no clock: needs CLOCK_MONOTONIC (POSIX) or timespec_get (C11, -std=c11)"
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The TTL clock (MEMO_TTL_NOW_NS, see COMPILE-TIME OPTIONS): Linux's
 * CLOCK_MONOTONIC_COARSE (clock id 6; the vDSO reads it without a system call,
 * ~6 ns here against ~30 ns for CLOCK_MONOTONIC, at the price of a jiffy's
 * resolution -- plenty for a TTL in ms), elsewhere the precise clock. */
static MEMO_I_INLINE uint64_t memo_i_coarse_ns_(void)
{
#if defined(__linux__) && defined(MEMO_I_CLOCK_GETTIME)
    struct timespec ts;
    MEMO_I_CLOCK_GETTIME(6 /* CLOCK_MONOTONIC_COARSE */, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#else
    return memo_i_mono_ns_();
#endif
}

#ifndef MEMO_TTL_NOW_NS
#define MEMO_TTL_NOW_NS() memo_i_coarse_ns_()
#endif

/* The deadline of a wait of timeout_ms from now; 0 = no deadline (a timeout
 * so large that it would overflow, e.g. LONG_MAX, means "wait"). */
static inline uint64_t memo_i_deadline_(long timeout_ms)
{
    uint64_t now = memo_i_mono_ns_();
    /* 2^53 ms is 285 000 years: beyond it, or past UINT64_MAX ns, wait. */
    if ((uint64_t)timeout_ms >= ((uint64_t)1 << 53) ||
        (uint64_t)timeout_ms >= (UINT64_MAX - now) / 1000000u) /* divide: the product may wrap */
        return 0;
    return now + (uint64_t)timeout_ms * 1000000u;
}

static inline uint64_t memo_i_self_(void)
{
    /* pthread_t is an integer (glibc) or a pointer (musl, BSD); a variable,
     * not the call, is cast (-Wbad-function-cast) */
    pthread_t t = pthread_self();
    return (uint64_t)(uintptr_t)t;
}

/* This process, as memo records it in flags_ and rlock_: a cell whose BUSY
 * owner or lock holder was recorded by another process is one a fork() copied
 * mid-way; that owner does not exist here (docs/DESIGN.md, "fork"). */
static inline uint32_t memo_i_pid_(void)
{
    /* 24 bits, as flags_ keeps it: Linux pids are below 2^22 (PID_MAX_LIMIT),
     * the BSDs' and macOS's below 100 000. */
    return (uint32_t)getpid() & 0xffffffu;
}

/* The process in which the calling thread last became a cell's owner (one
 * per thread and program: weak, default visibility; see memo_i_owned_by_me_). */
#ifdef __cplusplus
#define MEMO_I_TLS thread_local
#else
#define MEMO_I_TLS _Thread_local
#endif
#ifdef MEMO_I_SHARED
/* (each program-wide definition here follows its declaration, for
 * -Wmissing-variable-declarations) */
extern MEMO_I_TLS uint32_t memo_i_claim_pid_v1_;
MEMO_I_SHARED MEMO_I_TLS uint32_t memo_i_claim_pid_v1_;
#else
static MEMO_I_TLS uint32_t memo_i_claim_pid_v1_;
#endif

/* The thread that called fork(), as this (child) process knows it: written by
 * the child handler below, in the child, before any other thread of the child
 * exists.  A cell whose owner is that thread -- a constructor that forked --
 * is owned by a live thread in the child too: it is not taken over. */
#ifdef MEMO_I_SHARED
extern _Atomic(uint64_t) memo_i_forker_tid_v1_;
extern _Atomic(uint32_t) memo_i_forker_pid_v1_;
MEMO_I_SHARED _Atomic(uint64_t) memo_i_forker_tid_v1_;
MEMO_I_SHARED _Atomic(uint32_t) memo_i_forker_pid_v1_;
#else
static _Atomic(uint64_t) memo_i_forker_tid_v1_;
static _Atomic(uint32_t) memo_i_forker_pid_v1_;
#endif

/* Cancellation.  Every step of memo that must not be cut in two (a claim and
 * its cleanup handler, the end of a busy period, the retired-list lock, a
 * published wait) runs with the cancellation TYPE set to deferred, and the
 * caller's own type is back in force around its constructor and destructor
 * and on return.  memo's steps contain no cancellation point (the futex wait
 * is none; the MEMO_NO_FUTEX condvar wait disables cancellation itself), so
 * a deferred cancel waits for the caller's next cancellation point and an
 * asynchronous one acts when its type comes back, outside memo's steps.  The
 * type, not the state: glibc's SIGCANCEL handler (2.36) acts on a signal sent
 * while the thread was async-cancelable once the type is still asynchronous,
 * even if the state was set to disabled meanwhile -- measured here, 1 cancel
 * in ~100 still cut a section that only disabled the state.
 * pthread_setcanceltype is async-cancel-safe (POSIX).  Not covered, for cost
 * (a pair of calls is ~20 ns, more than the operation): the pin of
 * memo_acquire and the unpin of memo_release on the current epoch, single
 * atomic operations whose cut can leak one lease (the value is then never
 * destroyed), never hang. */
static inline int memo_i_nocancel_(void)
{
    int type;
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &type);
    return type;
}

static inline void memo_i_recancel_(int type)
{
    pthread_setcanceltype(type, NULL);
}

/* >>memo:state -- the state word, the other words of the cell, the retired
 * list (data, in the order the rest of this file uses them). */

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

/* flags_: the generators' static flags (bits 0-7, written by the initializer
 * only) and the pid of the latest claimer (bits 8-31).  (The pid went into
 * this word, not a new member, in 0.1, whose units then shared cells with
 * older 0.1 units; a claimer that records no pid is still treated as alive,
 * see memo_i_owner_elsewhere_.  0.2 units do not share cells with 0.1 ones.) */
#define MEMO_I_F_STATIC 0xffu
#define MEMO_I_F_INPLACE 1u               /* the value lives in static storage */
#define MEMO_I_F_THREAD 2u                /* MEMOIZE_THREAD: options and stats only */

static inline uint32_t memo_i_flags_(const memo_t *m)
{
    /* relaxed: the static bits never change after initialization. */
    /* (through uintptr_t: -Wcast-qual; atomic loads take non-const pointers in C11) */
    return memo_i_atomic_load_relaxed(&((memo_t *)(uintptr_t)m)->flags_) & MEMO_I_F_STATIC;
}

static inline uint32_t memo_i_claimer_(memo_t *m)
{
    /* relaxed: a caller that found the cell BUSY has acquired state_ after
     * the claim's release, which follows the claimer's store. */
    return memo_i_atomic_load_relaxed(&m->flags_) >> 8;
}

static inline void memo_i_set_claimer_(memo_t *m, uint32_t pid)
{
    /* release: a take-over's pid is stored after it cleared the dead owner's
     * id (see memo_i_owned_by_me_); for a claim, the CAS that follows
     * publishes it anyway.  Every thread of the process stores the same
     * value; the static bits are stored unchanged. */
    memo_i_atomic_store_release(&m->flags_, (pid << 8) | memo_i_flags_(m));
}

/* The value the cell holds: slot_, or a TTL cell's tval_.  relaxed: a first
 * look, or the owner's own cell. */
static inline void *memo_i_held_(memo_t *m)
{
    void *v = memo_i_atomic_load_relaxed(&m->slot_);
    return v ? v : memo_i_atomic_load_relaxed(&m->tval_);
}

/* The owner takes the value out of the cell.  relaxed: the value is still
 * ours; readers that load NULL take the slow path and see BUSY (state_
 * changed before this store). */
static inline void *memo_i_take_(memo_t *m)
{
    void *v = memo_i_atomic_exchange_relaxed(&m->slot_, NULL);
    return v ? v : memo_i_atomic_exchange_relaxed(&m->tval_, NULL);
}

/* fail_'s generation field when no failure record is current: never equal to
 * a 29-bit generation. */
#define MEMO_I_FAIL_NONE 0xffffffffu

/* --- leases ----------------------------------------------------------------
 *
 * leases_ = (epoch << 32) | count.  The epoch names the cell's current value
 * (it changes only when a value is detached, by the BUSY owner); count is the
 * number of leases taken on it.  A value detached while leased goes to the
 * retired_ list (guarded by rlock_) with the number of its leases; the release
 * that brings that number to zero destroys it.  See docs/DESIGN.md, "Leases".
 */
#define MEMO_I_LEASE_MAGIC 0x6c656173u    /* "leas" */
#define MEMO_I_BIAS ((int64_t)1 << 40)    /* > any 32-bit count of releases */
#define MEMO_I_LEASE_MAX 0x80000000u      /* leases on one value, at most */

typedef struct memo_i_retired {
    struct memo_i_retired *next;
    void *value;
    int64_t count;        /* leases not yet released (+ MEMO_I_BIAS until the
                             detacher has added its count); guarded by rlock_ */
    uint32_t epoch;
    uint32_t how;         /* MEMO_I_DESTROY / MEMO_I_FORGET at the last
                             release; | the detacher's pid << 8 (a forked
                             child forgets a MEMO_FORK_RESET cell's values
                             detached in its parent) */
} memo_i_retired_t;

/* What becomes of a value taken out of its cell. */
#define MEMO_I_DESTROY 0u  /* dtor: reset, invalidate, replacement, shutdown */
#define MEMO_I_FORGET 1u   /* forget: memo_forget_all, MEMO_FORK_RESET */
#define MEMO_I_KEEP 2u     /* nothing: memo_take gave it away */
/* `how` as the owner passes it on: with the pid of the process in which it
 * claimed the cell (memo_i_dispose_ forgets a MEMO_FORK_RESET cell's value
 * that a claim made in the parent takes out in a child: a constructor or
 * destructor that forked). */
#define MEMO_I_HOW_(how, pid) ((how) | ((pid) << 8))

static inline void memo_i_rlock_(memo_t *m)
{
    const uint32_t me = memo_i_pid_();
    uint32_t cur = 0;
    for (;;) {
        /* acquire: a holder sees everything earlier holders wrote under the
         * lock.  The lock word is the holder's pid: a holder of another
         * process is one a fork() copied mid-section, gone here; we take the
         * lock from it (each section leaves the list consistent after every
         * single store, so the copy is a valid list). */
        if (memo_i_atomic_cas_weak_acquire_relaxed(&m->rlock_, &cur, me))
            return;
        if (cur != 0 && cur != me)
            continue; /* retry the CAS from the dead holder's word */
        /* The sections are a few pointer operations; waiting yields. */
        sched_yield();
        cur = 0;
    }
}

static inline void memo_i_runlock_(memo_t *m)
{
    /* release: publishes the section's writes to the next holder. */
    memo_i_atomic_store_release(&m->rlock_, 0);
}

/* The link (list head or a record's next) that points at the retired record
 * of epoch e, or at the terminating NULL if there is none; rlock_ held.
 * Epochs are unique, so this finds a record both for its releases and for
 * its detacher's unlink. */
static inline memo_i_retired_t **memo_i_link_of_(memo_t *m, uint32_t e)
{
    memo_i_retired_t **pp = &m->retired_;
    while (*pp && (*pp)->epoch != e)
        pp = &(*pp)->next;
    return pp;
}

/* >>memo:wait -- sleeping on the state word and waking (futex, park table),
 * fork handling of the shared tables, cycle detection before a sleep. */

/* --- sleeping and waking ---------------------------------------------------
 *
 * Two ways to sleep on the state word: the Linux futex (default on Linux) and
 * a table of mutex/condvar pairs (MEMO_NO_FUTEX, default elsewhere).  Units of
 * one program may be built either way and share a cell (a library built with
 * MEMO_NO_FUTEX, another without; and a 0.1 unit, whose parkers wait without
 * limit, shares the park table with its own cells), so every waker that saw WAITERS wakes both: the futex
 * on Linux, and the table's bucket.  The table is a weak symbol with default
 * visibility, one per program even across shared libraries built with
 * -fvisibility=hidden.  Where they are split all the same (dlopen with
 * RTLD_LOCAL), every sleep is bounded: a waiter re-checks the state word at
 * least every MEMO_I_PARK_SLICE_NS (table) or MEMO_I_FUTEX_SLICE_NS (futex),
 * so a wake lost to a split table or to an older header costs latency, never
 * a hang.  Sleeping is not a cancellation point in either way. */
#define MEMO_I_PARK_SLICE_NS 100000000u   /* 100 ms */
#define MEMO_I_FUTEX_SLICE_NS 1000000000u /* 1 s */
#define MEMO_I_NPARK 64

typedef struct memo_i_park {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} memo_i_park_t;

#ifdef MEMO_I_SHARED
#define MEMO_I_P1 { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER }
#define MEMO_I_P8 MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1, MEMO_I_P1
/* One table per program: a weak definition in every translation unit, which
 * the linker merges.  Versioned name: a future incompatible table gets v2. */
extern memo_i_park_t memo_i_park_v1_[MEMO_I_NPARK];
MEMO_I_SHARED memo_i_park_t memo_i_park_v1_[MEMO_I_NPARK] = {
    MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8, MEMO_I_P8
};
#elif defined(MEMO_NO_FUTEX)
#error "MEMO_NO_FUTEX needs weak symbols (GCC or Clang)"
#endif

/* --- the registry -----------------------------------------------------------
 *
 * Every cell that holds a value (and every per-thread value) is listed, in
 * the order it got it, in one program-wide table (weak, default visibility,
 * versioned as the other shared tables): memo_shutdown walks it backwards,
 * memo_forget_all and a forked child's MEMO_FORK_RESET cells walk it too.  A
 * cell is listed by its owner (BUSY) just before its value is published and
 * unlisted by the owner that takes the value out, so "listed" and "holds a
 * value" change together, in the owner's busy period.  The table owns its
 * storage -- an array of {object, number} in number order -- and a cell
 * keeps only its number (reg_seq_): a cell freed while it holds a value (a
 * stack cell left behind by a test, say) leaves a stale entry that nothing
 * but a sweep reads, and a sweep uses an entry only if the cell there still
 * carries the entry's number.  The lock is a leaf: held for a few writes
 * (and a realloc), never while waiting or calling user code.  fork: a
 * prepare handler takes it (no fork copies a half-written table) and the
 * parent and child handlers give it back; `fork_depth` counts the handlers
 * of the several units that each registered theirs (thread-local: two
 * threads may fork at once). */
typedef struct memo_i_entry {
    void *obj;       /* a memo_t, or a per-thread value's node; NULL = removed */
    uint64_t seq;    /* its registration number (| MEMO_I_REG_THREAD) */
    uint32_t reset;  /* a MEMO_FORK_RESET cell: the only cells a forked child
                        touches (it never reads another cell's memory) */
} memo_i_entry_t;

typedef struct memo_i_registry {
    pthread_mutex_t mu;
    memo_i_entry_t *v;   /* n entries in number order, `live` of them not removed */
    size_t n, cap, live;
    uint64_t seq;        /* the last registration number given */
    int forky;           /* a MEMO_FORK_RESET cell or a per-thread value was
                            ever listed: a forked child has work */
    pthread_once_t tonce; /* creates tkey, once per program */
    pthread_key_t tkey;  /* per thread: its per-thread values (MEMOIZE_THREAD),
                            destroyed at thread exit */
    int tkey_err;        /* pthread_key_create's error (EAGAIN: no key left) */
    int tkey_ok;         /* tkey exists */
} memo_i_registry_t;

#ifdef MEMO_I_SHARED
extern memo_i_registry_t memo_i_registry_v2_;
extern MEMO_I_TLS int memo_i_fork_depth_v2_;
MEMO_I_SHARED memo_i_registry_t memo_i_registry_v2_ = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0, 0, PTHREAD_ONCE_INIT, 0, 0, 0 };
MEMO_I_SHARED MEMO_I_TLS int memo_i_fork_depth_v2_;
#else
static memo_i_registry_t memo_i_registry_v2_ = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0, 0, PTHREAD_ONCE_INIT, 0, 0, 0 };
static MEMO_I_TLS int memo_i_fork_depth_v2_;
#endif

static void memo_i_forked_child_(void); /* >>memo:lifetimes: MEMO_FORK_RESET */

static void memo_i_atfork_prepare_(void)
{
    if (memo_i_fork_depth_v2_++ == 0)
        pthread_mutex_lock(&memo_i_registry_v2_.mu);
}

static void memo_i_atfork_parent_(void)
{
    if (--memo_i_fork_depth_v2_ == 0)
        pthread_mutex_unlock(&memo_i_registry_v2_.mu);
}

/* fork().  Every unit that claims a cell or touches the park table first
 * registers (once per unit: pthread_once) a child handler.  In the child,
 * where only the forking thread runs, it records that thread (see
 * memo_i_owner_elsewhere_) and makes the park table new again: a fork may
 * copy it while a thread that does not exist in the child holds one of its
 * mutexes or waits on one of its condvars.  Several units register several
 * handlers; each does the same, harmlessly. */
static void memo_i_atfork_child_(void)
{
    /* relaxed: the child has no other thread yet. */
    memo_i_atomic_store_relaxed(&memo_i_forker_tid_v1_, memo_i_self_());
    memo_i_atomic_store_relaxed(&memo_i_forker_pid_v1_, memo_i_pid_());
#ifdef MEMO_I_SHARED
    for (int i = 0; i < MEMO_I_NPARK; i++) {
        pthread_mutex_init(&memo_i_park_v1_[i].mu, NULL);
        pthread_cond_init(&memo_i_park_v1_[i].cv, NULL);
    }
#endif
    /* The last unit's child handler: the registry lock, which this thread
     * took in the first prepare handler, is given back (the pthread_atfork
     * idiom: no other thread can have held it at the fork), then the fork
     * policies are applied. */
    if (--memo_i_fork_depth_v2_ == 0) {
        pthread_mutex_unlock(&memo_i_registry_v2_.mu);
        memo_i_forked_child_();
    }
}

static void memo_i_atfork_register_(void)
{
    pthread_atfork(memo_i_atfork_prepare_, memo_i_atfork_parent_, memo_i_atfork_child_);
}

static inline void memo_i_atfork_(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, memo_i_atfork_register_);
}

/* Registration numbers of per-thread values carry this bit (>>memo:lifetimes). */
#define MEMO_I_REG_THREAD ((uint64_t)1 << 63)

/* A thread inside its own fork handlers (fork_depth > 0) holds the lock
 * already (memo's prepare handler took it): another library's fork handler
 * that uses memo there -- a memo_reset of an inherited connection in a child
 * handler registered before memo's -- must not lock it again. */
static inline void memo_i_reg_lock_(void)
{
    memo_i_atfork_(); /* the fork handlers guard the lock */
    if (memo_i_fork_depth_v2_ > 0)
        return;
    pthread_mutex_lock(&memo_i_registry_v2_.mu);
}

static inline void memo_i_reg_unlock_(void)
{
    if (memo_i_fork_depth_v2_ > 0)
        return;
    pthread_mutex_unlock(&memo_i_registry_v2_.mu);
}

#define MEMO_I_SEQ_(x) ((x) & ~MEMO_I_REG_THREAD)

/* The index of the first entry numbered above `after` (n if none); lock held. */
static inline size_t memo_i_reg_find_(uint64_t after)
{
    memo_i_registry_t *r = &memo_i_registry_v2_;
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (MEMO_I_SEQ_(r->v[mid].seq) <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Removes obj's entry numbered seq (if it is there: a number given out by
 * another registry -- a library loaded with RTLD_LOCAL has its own -- is
 * not taken for another object's); lock held. */
static inline void memo_i_unlist_locked_(void *obj, uint64_t seq)
{
    memo_i_registry_t *r = &memo_i_registry_v2_;
    if (!seq)
        return;
    size_t i = memo_i_reg_find_(MEMO_I_SEQ_(seq) - 1);
    if (i < r->n && r->v[i].seq == seq && r->v[i].obj == obj) {
        r->v[i].obj = NULL;
        r->live--;
    }
    while (r->n && !r->v[r->n - 1].obj)
        r->n--;
}

/* Appends obj with a new number (| tag), returned; 0 if the table could not
 * grow (the value is then not listed: memo_shutdown will not see it); lock
 * held. */
static inline uint64_t memo_i_list_locked_(void *obj, uint64_t tag, uint32_t reset)
{
    memo_i_registry_t *r = &memo_i_registry_v2_;
    if (r->n == r->cap) {
        if (r->live < r->n / 2) { /* mostly removed entries: squeeze them out */
            size_t k = 0;
            for (size_t i = 0; i < r->n; i++)
                if (r->v[i].obj)
                    r->v[k++] = r->v[i];
            r->n = k;
        } else {
            size_t cap = r->cap ? 2 * r->cap : 32;
            /* plain realloc, not MEMO_MALLOC: the table is shared by every
             * unit of the program, whatever allocator each was built with */
            memo_i_entry_t *v = (memo_i_entry_t *)realloc(r->v, cap * sizeof *v);
            if (!v)
                return 0;
            r->v = v;
            r->cap = cap;
        }
    }
    r->v[r->n].obj = obj;
    r->v[r->n].seq = ++r->seq | tag;
    r->v[r->n].reset = reset;
    r->live++;
    return r->v[r->n++].seq;
}

/* A cell's owner (BUSY) lists it just before it publishes a value (again,
 * with a new number, on a refresh) and unlists it once it has taken the
 * value out.  Only owners (and a forked child's handler, alone in its
 * process) write reg_seq_, under the lock; the owner reads it without. */
static inline void memo_i_list_(memo_t *m)
{
    memo_i_reg_lock_();
    memo_i_unlist_locked_(m, m->reg_seq_);
    m->reg_seq_ = memo_i_list_locked_(m, 0, m->on_fork == MEMO_FORK_RESET);
    if (m->on_fork == MEMO_FORK_RESET)
        memo_i_registry_v2_.forky = 1;
    memo_i_reg_unlock_();
}

static inline void memo_i_unlist_(memo_t *m)
{
    if (!m->reg_seq_)
        return;
    memo_i_reg_lock_();
    memo_i_unlist_locked_(m, m->reg_seq_);
    m->reg_seq_ = 0;
    memo_i_reg_unlock_();
}

#ifdef MEMO_I_SHARED
static inline memo_i_park_t *memo_i_park_for_(const void *addr)
{
    uintptr_t h = (uintptr_t)addr;
    h ^= h >> 7;
    h ^= h >> 13;
    return &memo_i_park_v1_[h % MEMO_I_NPARK];
}

/* A fork() may copy the table while another thread holds one of its mutexes
 * or waits on one of its condvars; neither thread exists in the child.  Every
 * unit that touches the table first registers (once) a child handler that
 * makes the table new again in the child, where only the forking thread runs.
 * Several units register several handlers: each re-initializes, harmlessly. */

static inline void memo_i_park_wake_(_Atomic(uint32_t) *word)
{
    memo_i_atfork_();
    memo_i_park_t *p = memo_i_park_for_(word);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
#endif

#if defined(__linux__)
/* The two futex operations (<linux/futex.h> is missing without kernel
 * headers, e.g. on musl): FUTEX_WAIT|FUTEX_PRIVATE_FLAG, FUTEX_WAKE|... */
#define MEMO_I_FUTEX_WAIT 128
#define MEMO_I_FUTEX_WAKE 129
static inline void memo_i_futex_wake_(_Atomic(uint32_t) *word)
{
    /* the word's address (through uintptr_t: -Wcast-qual, the _Atomic) */
    syscall(SYS_futex, (void *)(uintptr_t)word, MEMO_I_FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
#endif

/* Wakes every thread sleeping on word, whichever way it sleeps.  The caller
 * has just changed *word (memo_i_end_busy_) and seen WAITERS in the old word.
 * Both ways, always: a flag saying "someone parked" (tried first) missed the
 * parkers of an older header, which set no flag and wait without limit
 * (tests/abi found it).  The broadcast costs a bucket lock, only when a
 * thread waits. */
static inline void memo_i_wake_(_Atomic(uint32_t) *word)
{
#if defined(__linux__)
    memo_i_futex_wake_(word);
#endif
#ifdef MEMO_I_SHARED
    memo_i_park_wake_(word);
#endif
}

#ifndef MEMO_NO_FUTEX
/* Sleeps while *word == expect, at most until deadline (0 = none, else a
 * memo_i_mono_ns_ time) and at most one slice.  Returns ETIMEDOUT once the
 * deadline has passed, else 0 (woken, value changed, slice over or spurious:
 * the caller re-checks).  The futex timeout is relative and measured by the
 * kernel on CLOCK_MONOTONIC. */
static inline int memo_i_sleep_(_Atomic(uint32_t) *word, uint32_t expect, uint64_t deadline)
{
    uint64_t left = MEMO_I_FUTEX_SLICE_NS;
    if (deadline) {
        uint64_t now = memo_i_mono_ns_();
        if (now >= deadline)
            return ETIMEDOUT;
        if (deadline - now < left)
            left = deadline - now;
    }
    struct timespec rel;
    rel.tv_sec = (time_t)(left / 1000000000u);
    rel.tv_nsec = (long)(left % 1000000000u);
    /* The kernel compares *word with expect and sleeps atomically with
     * respect to memo_i_wake_, so a wake after our last read is never lost. */
#ifdef SYS_futex_time64
    /* A 32-bit target with a 64-bit time_t (-D_TIME_BITS=64, musl): SYS_futex
     * reads a 32-bit timespec there, so sleep with futex_time64 (Linux 5.1+);
     * on older kernels fall back to SYS_futex with a {long, long} timespec. */
    if (sizeof(time_t) > sizeof(long)) {
        if (syscall(SYS_futex_time64, (void *)(uintptr_t)word, MEMO_I_FUTEX_WAIT, expect, &rel,
                    NULL, 0) == 0 || errno != ENOSYS)
            return 0;
        struct { long tv_sec, tv_nsec; } rel32 = { (long)rel.tv_sec, rel.tv_nsec };
        syscall(SYS_futex, (void *)(uintptr_t)word, MEMO_I_FUTEX_WAIT, expect, (void *)&rel32, NULL, 0);
        return 0;
    }
#endif
    syscall(SYS_futex, (void *)(uintptr_t)word, MEMO_I_FUTEX_WAIT, expect, &rel, NULL, 0);
    return 0;
}
#else /* MEMO_NO_FUTEX: the parking table */

/* A timed condvar wait on the monotonic clock where the platform has one
 * (glibc >= 2.30: pthread_cond_clockwait, bound under an internal name as
 * memo_i_clock_gettime_ is); elsewhere an absolute CLOCK_REALTIME deadline one
 * slice ahead, so a wall-clock step can lengthen at most the slice it lands
 * in, by at most the step. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
#define MEMO_I_HAVE_CLOCKWAIT 1
#ifdef __USE_TIME_BITS64
extern int memo_i_cond_clockwait_(pthread_cond_t *, pthread_mutex_t *, int, const struct timespec *)
    __asm__("__pthread_cond_clockwait64");
#else
extern int memo_i_cond_clockwait_(pthread_cond_t *, pthread_mutex_t *, int, const struct timespec *)
    __asm__("pthread_cond_clockwait");
#endif
#endif

static inline int memo_i_sleep_(_Atomic(uint32_t) *word, uint32_t expect, uint64_t deadline)
{
    memo_i_park_t *p = memo_i_park_for_(word);
    uint64_t now = memo_i_mono_ns_(), left = MEMO_I_PARK_SLICE_NS;
    if (deadline) {
        if (now >= deadline)
            return ETIMEDOUT;
        if (deadline - now < left)
            left = deadline - now;
    }
    struct timespec abs;
#ifdef MEMO_I_HAVE_CLOCKWAIT
    abs.tv_sec = (time_t)((now + left) / 1000000000u);
    abs.tv_nsec = (long)((now + left) % 1000000000u);
#else
    /* CLOCK_REALTIME where POSIX declares it: timespec_get and TIME_UTC are
     * C11 (not declared under -std=gnu99) */
#if defined(CLOCK_REALTIME)
    clock_gettime(CLOCK_REALTIME, &abs);
#elif defined(MEMO_I_CLOCK_GETTIME)
    MEMO_I_CLOCK_GETTIME(0 /* CLOCK_REALTIME on Linux */, &abs);
#else
    timespec_get(&abs, TIME_UTC);
#endif
    uint64_t rt = (uint64_t)abs.tv_sec * 1000000000u + (uint64_t)abs.tv_nsec + left;
    abs.tv_sec = (time_t)(rt / 1000000000u);
    abs.tv_nsec = (long)(rt % 1000000000u);
#endif
    /* Not a cancellation point (as the futex wait is not): no cleanup
     * handler is needed for the mutex, and a cancelled thread is never left
     * half-registered as a waiter. */
    int cs;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
    memo_i_atfork_();
    pthread_mutex_lock(&p->mu);
    /* relaxed: the mutex orders this read after any waker's state change
     * (the waker changes state_ before it locks mu to broadcast), so either
     * we see the new word or the broadcast finds us asleep. */
    if (memo_i_atomic_load_relaxed(word) == expect) {
#ifdef MEMO_I_HAVE_CLOCKWAIT
        memo_i_cond_clockwait_(&p->cv, &p->mu, MEMO_I_MONO_ID, &abs);
#else
        pthread_cond_timedwait(&p->cv, &p->mu, &abs);
#endif
    }
    pthread_mutex_unlock(&p->mu);
    pthread_setcancelstate(cs, NULL);
    return 0; /* the caller re-checks the word and the deadline */
}
#endif

/* --- dependency cycles across threads ----------------------------------------
 *
 * Thread 1 builds A, whose constructor gets B; thread 2 builds B, whose
 * constructor gets A: each would sleep on the other forever.  Before its
 * first sleep a waiter publishes the cell it waits on in a program-wide table
 * (weak, default visibility), then walks: the owner of that cell, the cell
 * that owner waits on, its owner, ... (at most MEMO_I_WALK hops).  A walk that
 * comes back to a cell the walker owns is a cycle; it is confirmed by reading
 * every step again (each BUSY word unchanged = the same busy periods, each
 * owner still waiting on the same cell) and then the walker gets EDEADLK
 * instead of sleeping.  Publication and walk are seq_cst, so of two threads
 * closing a cycle the later one to publish sees the other's entry: at least
 * one of them detects it.  A full table (MEMO_I_NWAIT sleepers at once) or a
 * longer cycle means no detection for that waiter, never a false EDEADLK. */
#define MEMO_I_NWAIT 128
#define MEMO_I_WALK 16

typedef struct memo_i_waiting {
    MEMO_I_A64 tid;         /* the sleeping thread (memo_i_self_), 0 = free */
    _Atomic(uint32_t) pid;  /* its process: entries copied by fork() are not ours */
    _Atomic(void *) cell;   /* the memo_t it waits on */
} memo_i_waiting_t;

#ifdef MEMO_I_SHARED
extern memo_i_waiting_t memo_i_waiting_v1_[MEMO_I_NWAIT];
MEMO_I_SHARED memo_i_waiting_t memo_i_waiting_v1_[MEMO_I_NWAIT];
#else
static memo_i_waiting_t memo_i_waiting_v1_[MEMO_I_NWAIT];
#endif

static inline size_t memo_i_wslot_(uint64_t tid)
{
    return (size_t)((tid ^ (tid >> 12) ^ (tid >> 29)) % MEMO_I_NWAIT);
}

/* Publishes "the calling thread waits on m"; NULL if the table is full. */
static inline memo_i_waiting_t *memo_i_wait_publish_(memo_t *m, uint64_t me, uint32_t pid)
{
    size_t h = memo_i_wslot_(me);
    for (size_t i = 0; i < MEMO_I_NWAIT; i++) {
        memo_i_waiting_t *e = &memo_i_waiting_v1_[(h + i) % MEMO_I_NWAIT];
        uint64_t free_ = 0;
        /* seq_cst (all of publication and the walk): see the comment above. */
        if (memo_i_atomic_load_seq_cst(&e->tid) == 0 && memo_i_atomic_cas_seq_cst(&e->tid, &free_, me)) {
            memo_i_atomic_store_seq_cst(&e->pid, pid);
            memo_i_atomic_store_seq_cst(&e->cell, (void *)m);
            return e;
        }
    }
    return NULL;
}

static inline void memo_i_wait_unpublish_(memo_i_waiting_t *e)
{
    if (!e)
        return;
    memo_i_atomic_store_seq_cst(&e->cell, NULL);
    memo_i_atomic_store_seq_cst(&e->pid, 0);
    memo_i_atomic_store_seq_cst(&e->tid, 0);
}

/* The cell thread `tid` of process `pid` waits on, or NULL. */
static inline memo_t *memo_i_waits_on_(uint64_t tid, uint32_t pid)
{
    size_t h = memo_i_wslot_(tid);
    for (size_t i = 0; i < MEMO_I_NWAIT; i++) {
        memo_i_waiting_t *e = &memo_i_waiting_v1_[(h + i) % MEMO_I_NWAIT];
        if (memo_i_atomic_load_seq_cst(&e->tid) == tid && memo_i_atomic_load_seq_cst(&e->pid) == pid)
            return (memo_t *)memo_i_atomic_load_seq_cst(&e->cell);
    }
    return NULL;
}

/* 1 if waiting on m would close a cycle of waits back to the calling thread
 * (which has published its own wait). */
static MEMO_I_NOINLINE int memo_i_cycle_(memo_t *m, uint64_t me, uint32_t pid)
{
    memo_t *path[MEMO_I_WALK];
    uint32_t word[MEMO_I_WALK];
    uint64_t owner[MEMO_I_WALK];
    memo_t *c = m;
    int n = 0;
    for (;;) {
        if (n == MEMO_I_WALK)
            return 0;
        uint32_t w = memo_i_atomic_load_seq_cst(&c->state_);
        uint64_t o = memo_i_atomic_load_seq_cst(&c->owner_);
        if ((w & MEMO_I_PHASE) != MEMO_I_BUSY || o == 0 || memo_i_claimer_(c) != pid)
            return 0;
        path[n] = c;
        word[n] = w & ~MEMO_I_WAITERS;
        owner[n++] = o;
        if (o == me)
            break; /* back to a cell we own: a cycle, unless it moved on */
        c = memo_i_waits_on_(o, pid);
        if (!c)
            return 0;
    }
    for (int i = 0; i < n; i++) {
        if ((memo_i_atomic_load_seq_cst(&path[i]->state_) & ~MEMO_I_WAITERS) != word[i] ||
            memo_i_atomic_load_seq_cst(&path[i]->owner_) != owner[i])
            return 0;
        if (i + 1 < n && memo_i_waits_on_(owner[i], pid) != path[i + 1])
            return 0;
    }
    return 1;
}

/* Sleeps while the state word is `s` (a BUSY word), setting WAITERS first.
 * Returns ETIMEDOUT if the deadline passed, EDEADLK if sleeping would close a
 * cycle of waits (see above), else 0 once the word changed. */
static inline int memo_i_sleep_on_(memo_t *m, uint32_t s, uint64_t deadline);

static inline int memo_i_wait_(memo_t *m, uint32_t s, uint64_t deadline)
{
    const uint64_t me = memo_i_self_();
    const uint32_t pid = memo_i_pid_();
    memo_i_waiting_t *e = memo_i_wait_publish_(m, me, pid);
    int rc = e && memo_i_cycle_(m, me, pid) ? EDEADLK : memo_i_sleep_on_(m, s, deadline);
    memo_i_wait_unpublish_(e);
    return rc;
}

static inline int memo_i_sleep_on_(memo_t *m, uint32_t s, uint64_t deadline)
{
    const uint32_t orig = s;
    for (;;) {
        if (!(s & MEMO_I_WAITERS)) {
            /* acquire (both ways): setting the bit publishes nothing, but on
             * failure the caller acts on the new word we return on (READY:
             * the value; FAILED: fail_), so that read must acquire; C11 does
             * not allow a failure order stronger than the success order. */
            if (!memo_i_atomic_cas_weak_acquire_acquire(&m->state_, &s, s | MEMO_I_WAITERS)) {
                if ((s & ~MEMO_I_WAITERS) != (orig & ~MEMO_I_WAITERS))
                    return 0; /* that BUSY period is over */
                continue;
            }
            s |= MEMO_I_WAITERS;
        }
        if (memo_i_sleep_(&m->state_, s, deadline) == ETIMEDOUT)
            return ETIMEDOUT;
        /* acquire: pairs with the release exchange in memo_i_end_busy_. */
        uint32_t now = memo_i_atomic_load_acquire(&m->state_);
        if ((now & ~MEMO_I_WAITERS) != (orig & ~MEMO_I_WAITERS))
            return 0;
        s = now;
    }
}

/* >>memo:claim -- becoming a cell's owner: the claim, EDEADLK, the take-over
 * of a cell whose owner is in another process. */
static inline void memo_i_end_busy_(memo_t *m, uint32_t next);

/* 1 if the BUSY cell's owner is a thread of another process: this process is
 * a child forked while it ran.  0 also when no pid is recorded (a claim by an
 * older header: assumed alive, as that header assumed), and when the owner is
 * the thread that forked (it goes on in the child). */
static inline int memo_i_owner_elsewhere_(memo_t *m)
{
    /* acquire, and BEFORE the pid: pairs with the release that clears owner_
     * in memo_i_end_busy_keep_, which a forker ending a period begun in the
     * parent precedes with the store of its (child) pid -- a thread that sees
     * owner_ cleared sees that pid and waits instead of taking over a live
     * period (defect D of tests/model/fork.pml). */
    uint64_t o = memo_i_atomic_load_acquire(&m->owner_);
    uint32_t p = memo_i_claimer_(m), me = memo_i_pid_();
    if (p == 0 || p == me)
        return 0;
    /* relaxed (both): the forker record was written before this process had
     * any other thread. */
    return !(memo_i_atomic_load_relaxed(&memo_i_forker_pid_v1_) == me &&
             o == memo_i_atomic_load_relaxed(&memo_i_forker_tid_v1_));
}

/* 1 if the calling thread owns the cell right now: a call from the cell's own
 * constructor or destructor.  relaxed: a thread always reads back its own
 * latest write (coherence), and the owner clears owner_ before BUSY ends, so
 * seeing our own id means we are the owner now; another thread's stale id
 * never equals ours. */
static inline int memo_i_owned_by_me_(memo_t *m)
{
    /* In a forked child a new thread may get the pthread_t of a thread that
     * owned the cell in the parent (glibc reuses the vanished threads'
     * stacks), so the owner must also have claimed in a process this thread
     * claimed in: this process, or -- for the thread that called fork() from
     * inside a constructor, which goes on in the child -- the parent it came
     * from (its memo_i_claim_pid_v1_ is a copy of the parent's).  The
     * owner stored its pid before its claim. */
    /* acquire, and BEFORE owner_: pairs with the release store of the pid by
     * a take-over, which first clears a dead owner's id -- a thread that got
     * that dead owner's pthread_t (glibc reuses the stacks of the threads a
     * fork left behind) and sees the take-over's pid sees owner_ cleared, and
     * is not told EDEADLK (defect E of tests/model/fork.pml).  Only the pid
     * of this thread's own last claim counts: a new thread has none. */
    uint32_t p = memo_i_atomic_load_acquire(&m->flags_) >> 8;
    /* relaxed: our own write if we are the owner (coherence). */
    if (memo_i_atomic_load_relaxed(&m->owner_) != memo_i_self_())
        return 0;
    return p == memo_i_claim_pid_v1_;
}

/* Tries to take the cell from the non-BUSY word `s` into BUSY (same
 * generation, WAITERS clear).  On success the caller is the owner, *busy is
 * the BUSY word, and 1 is returned; 0 if the word has changed. */
static inline int memo_i_claim_(memo_t *m, uint32_t s, uint32_t *busy)
{
    *busy = (s & ~(MEMO_I_PHASE | MEMO_I_WAITERS)) | MEMO_I_BUSY;
    memo_i_atfork_(); /* so that a fork while we own the cell knows its forker */
    /* BEFORE the claim, so that no fork can copy a BUSY word of ours without
     * our pid: a claimer that loses the CAS writes the same value as the
     * winner (every thread of a process does).  Published by the CAS's
     * release.  One getpid for the claim (a system call on glibc). */
    const uint32_t pid = memo_i_pid_();
    memo_i_set_claimer_(m, pid);
    /* acq_rel.  acquire: we take over after the previous owner, whose writes
     * (a destructor's effects, fail_/retry_at_, the value's construction)
     * happen-before what we do next.  release: a thread that finds the cell
     * BUSY (acquire load of state_) sees our pid in flags_. */
    if (!memo_i_atomic_cas_acq_rel_relaxed(&m->state_, &s, *busy))
        return 0;
    /* relaxed: read back only by this thread (memo_i_owned_by_me_). */
    memo_i_atomic_store_relaxed(&m->owner_, memo_i_self_());
    memo_i_claim_pid_v1_ = pid;
    return 1;
}

/* The BUSY word s was installed by a thread of another process: this process
 * is a child forked while that thread constructed or destroyed, and it does
 * not exist here.  Take the cell over as its owner (one thread wins the CAS),
 * undo what the dead owner left half done, and end the period: READY if the
 * slot still holds a value (a destroy that had not cleared it: nothing was
 * destroyed, the value is intact in this copy), else EMPTY (a construction, or
 * a destroy past the slot: the value is left to the parent, not destroyed
 * here).  A record the dead owner listed for the current epoch was a detach
 * that had not moved the epoch: drop it (its value is in the slot or left to
 * the parent).  Waiters of this process woken by the end take it from there. */
static MEMO_I_NOINLINE void memo_i_take_over_(memo_t *m, uint32_t s)
{
    const uint32_t orig = s;
    /* The dead owner may have recorded a failure (generation GEN(s)+1) and
     * been copied before its exchange: make that record stale before our new
     * word can wake anyone, or a waiter of this process would match it and
     * return the parent's error (found by tests/model/fork.pml).  relaxed
     * (both): published by our CAS below (release). */
    uint64_t f = memo_i_atomic_load_relaxed(&m->fail_);
    if ((uint32_t)(f >> 32) == ((MEMO_I_GEN(s) + 1u) & 0x1fffffffu))
        memo_i_atomic_cas_relaxed_relaxed(&m->fail_, &f, ((uint64_t)MEMO_I_FAIL_NONE << 32) | (uint32_t)f);
    /* Clear the dead owner's id before our pid goes in (release), so that no
     * thread of this process sees its own pthread_t beside this process's pid
     * (memo_i_owned_by_me_).  A CAS from the id seen while the pid was still
     * foreign: a take-over by another thread that has already put its own id
     * there is left alone.  relaxed: ordered by the release store below. */
    const uint32_t pid = memo_i_pid_();
    uint64_t dead = memo_i_atomic_load_relaxed(&m->owner_);
    if (dead && memo_i_claimer_(m) != pid)
        memo_i_atomic_cas_relaxed_relaxed(&m->owner_, &dead, 0);
    memo_i_set_claimer_(m, pid);
    uint32_t busy;
    for (;;) {
        busy = MEMO_I_NEXT(s, MEMO_I_BUSY) | (s & MEMO_I_WAITERS);
        /* acq_rel: as memo_i_claim_ (we become the owner). */
        if (memo_i_atomic_cas_acq_rel_relaxed(&m->state_, &s, busy))
            break;
        /* Another thread of this process set WAITERS (it read our pid,
         * stored above, and took the dead period for ours): try again, or
         * it would sleep on a period nobody ends (tests/model/fork.pml).
         * Any other change: someone else took over. */
        if ((s & ~MEMO_I_WAITERS) != (orig & ~MEMO_I_WAITERS))
            return;
    }
    memo_i_atomic_store_relaxed(&m->owner_, memo_i_self_());
    memo_i_claim_pid_v1_ = pid;
    memo_i_rlock_(m);
    /* relaxed: we are the owner, the only writer of the epoch. */
    uint32_t e = (uint32_t)(memo_i_atomic_load_relaxed(&m->leases_) >> 32);
    memo_i_retired_t **pp = memo_i_link_of_(m, e), *r = *pp;
    if (r)
        *pp = r->next;
    memo_i_runlock_(m);
    MEMO_FREE(r);
    /* We own the cell: listed in the registry exactly if it keeps a value
     * (the dead owner may have listed it before publishing, or not yet
     * unlisted a value it had taken out). */
    void *v = memo_i_held_(m);
    if (v && !m->reg_seq_)
        memo_i_list_(m);
    else if (!v)
        memo_i_unlist_(m);
    memo_i_end_busy_(m, MEMO_I_NEXT(busy, v ? MEMO_I_READY : MEMO_I_EMPTY) & ~MEMO_I_WAITERS);
}

/* --- errors: origin and the constructor's message -----------------------
 *
 * Per thread (one weak thread-local symbol per program): the last getter
 * error (code, origin, a copy of its message) and the message a running
 * constructor attached with memo_failf (pending until its attempt ends).
 * Per cell: the last failed attempt's message, a small heap record that its
 * owner replaces under rlock_ and its waiters copy under rlock_, matched to
 * the failure record by generation.  All on error paths only. */
typedef struct memo_i_tls {
    int code, origin;
    int pending_set;                 /* memo_failf ran since the attempt began */
    char pending[MEMO_MESSAGE_MAX];
    char msg[MEMO_MESSAGE_MAX];      /* memo_error_t.message points here */
    int has_msg;
} memo_i_tls_t;

#ifdef MEMO_I_SHARED
extern MEMO_I_TLS memo_i_tls_t memo_i_tls_v2_;
MEMO_I_SHARED MEMO_I_TLS memo_i_tls_t memo_i_tls_v2_;
#else
static MEMO_I_TLS memo_i_tls_t memo_i_tls_v2_;
#endif

typedef struct memo_i_msg {
    uint32_t gen;                    /* the failure record's generation */
    int origin;                      /* MEMO_FROM_CTOR, or MEMO_FROM_MEMO (MEMO_ENOVALUE) */
    int has_text;
    char text[MEMO_MESSAGE_MAX];
} memo_i_msg_t;

/* Records the calling thread's last getter error. */
static inline void memo_i_note_(int code, int origin, const char *msg)
{
    memo_i_tls_t *t = &memo_i_tls_v2_;
    t->code = code;
    t->origin = origin;
    t->has_msg = msg != NULL;
    if (msg) {
        size_t n = strlen(msg);
        if (n >= MEMO_MESSAGE_MAX)
            n = MEMO_MESSAGE_MAX - 1;
        memcpy(t->msg, msg, n);
        t->msg[n] = 0;
    }
}

/* Notes the constructor's error `err` of the attempt that ended with
 * generation gen, with that attempt's message if the cell still keeps it. */
static MEMO_I_NOINLINE void memo_i_note_ctor_(memo_t *m, int err, uint32_t gen)
{
    memo_i_tls_t *t = &memo_i_tls_v2_;
    t->code = err;
    /* MEMO_ENOVALUE is memo's (a constructor that returned 0 and no value);
     * a constructor that returns ENODATA itself is reported as memo's to
     * its waiters too (its own caller is told MEMO_FROM_CTOR). */
    t->origin = err == MEMO_ENOVALUE ? MEMO_FROM_MEMO : MEMO_FROM_CTOR;
    t->has_msg = 0;
    memo_i_rlock_(m);
    if (m->msg_ && m->msg_->gen == (gen & 0x1fffffffu)) {
        t->origin = m->msg_->origin;
        if (m->msg_->has_text) {
            memcpy(t->msg, m->msg_->text, MEMO_MESSAGE_MAX);
            t->has_msg = 1;
        }
    }
    memo_i_runlock_(m);
}

/* The owner of a failed attempt (generation gen) keeps its message -- the
 * constructor's memo_failf, taken from the pending slot -- and its origin as
 * the cell's last failure record (or none); returns the thread's own copy of
 * the message (never the record, which the next failure frees) or NULL. */
static MEMO_I_NOINLINE const char *memo_i_keep_msg_(memo_t *m, uint32_t gen, int origin)
{
    memo_i_tls_t *t = &memo_i_tls_v2_;
    memo_i_msg_t *rec = NULL;
    const int had = t->pending_set;
    if (had) {
        rec = (memo_i_msg_t *)MEMO_MALLOC(sizeof *rec);
        if (rec) {
            rec->gen = gen & 0x1fffffffu;
            rec->origin = origin;
            rec->has_text = had;
            memcpy(rec->text, t->pending, MEMO_MESSAGE_MAX);
        }
    }
    t->pending_set = 0;
    memo_i_rlock_(m);
    memo_i_msg_t *old = m->msg_;
    m->msg_ = rec;
    memo_i_runlock_(m);
    MEMO_FREE(old);
    return had ? t->pending : NULL;
}

/* A reset (or sweep) forgets the last failure's message record. */
static inline void memo_i_drop_msg_(memo_t *m)
{
    memo_i_rlock_(m);
    memo_i_msg_t *old = m->msg_;
    m->msg_ = NULL;
    memo_i_runlock_(m);
    MEMO_FREE(old);
}

static inline memo_error_t memo_last_error(void)
{
    memo_i_tls_t *t = &memo_i_tls_v2_;
    memo_error_t e;
    e.code = t->code;
    e.origin = t->origin;
    e.message = t->has_msg ? t->msg : NULL;
    return e;
}

static inline int memo_failf(int err, const char *fmt, ...)
{
    memo_i_tls_t *t = &memo_i_tls_v2_;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->pending, MEMO_MESSAGE_MAX, fmt, ap);
        va_end(ap);
        t->pending_set = 1;
    }
    return err;
}

/* memo's own error from a getter: noted, returned. */
static MEMO_I_NOINLINE int memo_i_fail_(int err)
{
    memo_i_note_(err, MEMO_FROM_MEMO, NULL);
    return err;
}

/* Tells the cell's observer, if it has one. */
static inline void memo_i_event_(memo_t *m, int kind, int err, const char *msg, uint64_t ns)
{
    if (MEMO_I_LIKELY(!m->on_event))
        return;
    memo_event_t ev;
    ev.kind = kind;
    ev.cell = m;
    ev.err = err;
    ev.message = msg;
    ev.duration_ns = ns;
    m->on_event(&ev);
}

/* The slow path's two outcomes, as values (no macro hides a return). */
static MEMO_I_INLINE memo_i_res_t memo_i_ok_(void *v)
{
    memo_i_res_t r;
    r.v = v;
    r.err = 0;
    return r;
}

/* memo's own error (noted for memo_last_error). */
static inline memo_i_res_t memo_i_err_(int err)
{
    memo_i_res_t r;
    memo_i_note_(err, MEMO_FROM_MEMO, NULL);
    r.v = NULL;
    r.err = err;
    return r;
}

/* A constructor's error: of the attempt that ended with generation gen. */
static inline memo_i_res_t memo_i_cerr_(memo_t *m, int err, uint32_t gen)
{
    memo_i_res_t r;
    memo_i_note_ctor_(m, err, gen);
    r.v = NULL;
    r.err = err;
    return r;
}

/* >>memo:construct -- running the constructor, publishing its outcome, ending
 * the busy period and waking the waiters. */

/* Ends a BUSY period: installs `next` (a MEMO_I_NEXT word, WAITERS clear) and
 * wakes the sleepers if the old word said there were any.  Used as is only by
 * memo_reset of a FAILED cell, which keeps the failure record current for
 * the waiters of that failure; every other end goes through
 * memo_i_end_busy_. */
static inline void memo_i_end_busy_keep_(memo_t *m, uint32_t next);

/* As memo_i_end_busy_keep_, and a period that does not end in FAILED makes
 * the failure record stale (its error stays for memo_stats), so that a
 * waiter can match a record only against the period that wrote it, never
 * against one 2^29 generations later. */
static inline void memo_i_end_busy_(memo_t *m, uint32_t next)
{
    if ((next & MEMO_I_PHASE) != MEMO_I_FAILED) {
        /* relaxed: only the owner writes fail_; published by the exchange. */
        uint64_t f = memo_i_atomic_load_relaxed(&m->fail_);
        if ((uint32_t)(f >> 32) != MEMO_I_FAIL_NONE)
            memo_i_atomic_store_relaxed(&m->fail_, ((uint64_t)MEMO_I_FAIL_NONE << 32) | (uint32_t)f);
    }
    memo_i_end_busy_keep_(m, next);
}

static inline void memo_i_end_busy_keep_(memo_t *m, uint32_t next)
{
    /* the owner ends its own period (relaxed: our own write) */
    MEMO_ASSERT(memo_i_atomic_load_relaxed(&m->owner_) == memo_i_self_());
    MEMO_ASSERT((next & (MEMO_I_PHASE | MEMO_I_WAITERS)) != MEMO_I_BUSY);
    /* A forker's continuation ending a period begun in the parent: its pid
     * first (see memo_i_owner_elsewhere_). */
    const uint32_t pid = memo_i_pid_();
    if (memo_i_claimer_(m) != pid)
        memo_i_set_claimer_(m, pid);
    /* release: a thread that sees owner_ cleared sees the pid above. */
    memo_i_atomic_store_release(&m->owner_, 0);
    /* release: publishes slot_, fail_ and the stats written by the owner to
     * every thread that acquires state_ afterwards (waiters, next owner). */
    uint32_t old = memo_i_atomic_exchange_release(&m->state_, next);
    MEMO_ASSERT((old & MEMO_I_PHASE) == MEMO_I_BUSY); /* a busy period ends */
    if (old & MEMO_I_WAITERS)
        memo_i_wake_(&m->state_);
}

/* The cleanup handler: the owner's thread was cancelled or exited inside the
 * constructor.  The resource did not fail: back to EMPTY, no error recorded,
 * waiters woken so that one of them takes the construction over. */
typedef struct memo_i_attempt {
    memo_t *m;
    uint32_t busy;   /* the BUSY word we installed (without WAITERS) */
    struct memo_i_retired *rec; /* a refresh's unused detach record, or NULL */
} memo_i_attempt_t;

static inline void memo_i_abandon_(void *p)
{
    memo_i_attempt_t *a = (memo_i_attempt_t *)p;
    /* A refresh keeps the stale value in the cell while its constructor
     * runs: READY again (the next caller retries the refresh).  relaxed: we
     * own the cell. */
    int has = memo_i_atomic_load_relaxed(&a->m->tval_) != NULL;
    MEMO_FREE(a->rec);
    memo_i_end_busy_(a->m, MEMO_I_NEXT(a->busy, has ? MEMO_I_READY : MEMO_I_EMPTY));
}

static inline void memo_i_count_(_Atomic(uint32_t) *c)
{
    /* relaxed: statistics only, no ordering needed. */
    memo_i_atomic_fetch_add_relaxed(c, 1);
}

/* 1 if a TTL cell's value that went stale at `exp` may still be served at
 * `now` (>= exp): MEMO_REFRESH_STALE, a value not in place (an in-place
 * value's storage is rewritten by the next one), and within max_stale_ms past
 * expiry (0 = no limit). */
static inline int memo_i_servable_(memo_t *m, uint64_t now, uint64_t exp)
{
    if (m->refresh != MEMO_REFRESH_STALE || (memo_i_flags_(m) & MEMO_I_F_INPLACE))
        return 0;
    return !m->max_stale_ms || now - exp < (uint64_t)m->max_stale_ms * 1000000u;
}

/* The backoff window after the row-th failure in a row: retry_min_ms,
 * doubling per failure up to retry_max_ms (0 or less: no doubling). */
static inline uint64_t memo_i_window_ms_(const memo_t *m, uint32_t row)
{
    uint64_t win = m->retry_min_ms;
    uint64_t max = m->retry_max_ms > m->retry_min_ms ? m->retry_max_ms : m->retry_min_ms;
    for (uint32_t i = 1; i < row && win < max; i++)
        win *= 2;
    return win > max ? max : win;
}

/* The owner (BUSY, the cell listed) makes v the cell's value: a TTL cell's
 * in tval_ with its expiry, any other's in slot_.  Readers see it once the
 * busy period ends READY, or at once through the release store. */
static inline void memo_i_publish_(memo_t *m, void *v)
{
    if (m->ttl_ms) {
        /* relaxed: published by the release store of tval_ below; a
         * reader that loads this value reads this expiry or a later one
         * (a later refresh's: it may serve this value a moment longer). */
        memo_i_atomic_store_relaxed(&m->exp_ns_, MEMO_TTL_NOW_NS() + (uint64_t)m->ttl_ms * 1000000u);
        /* release: as slot_ below, for TTL cells' readers (tval_). */
        memo_i_atomic_store_release(&m->tval_, v);
    } else {
        /* release: pairs with the acquire loads of slot_ on the fast path;
         * the value's contents happen-before any use of v by a reader. */
        memo_i_atomic_store_release(&m->slot_, v);
    }
}

static inline void memo_i_dispose_(memo_t *m, void *v, uint32_t how);
static inline int memo_i_detach_(memo_t *m, void *v, memo_i_retired_t *rec, uint32_t how);

/* The calling thread owns the cell (state BUSY word `busy`): run the
 * constructor and publish its outcome.  `old` is NULL for a construction
 * into an empty cell; for the refresh of a stale TTL value it is that value,
 * still in tval_ while the constructor runs (MEMO_REFRESH_STALE serves it
 * meanwhile), and `rec` a record for its detach (allocated by the caller, so
 * that nothing can fail once the new value is built).  On success the new
 * value is published first and the old one destroyed after (here, outside
 * the busy period, or by the last release of a lease on it).  On failure a
 * servable stale value stays (stale-if-error): READY, with the failure
 * recorded for the backoff window; otherwise it is destroyed and the cell
 * ends FAILED, as a first construction that failed. */
/* Runs the owner's constructor (into *v) or the disposal of value v inside
 * its busy period, with the cleanup handler that ends the period if the
 * thread is cancelled or exits there.  Functions of their own: the handler
 * is a setjmp in C, and the callers' variables stay out of its reach. */
static MEMO_I_NOINLINE int memo_i_run_ctor_(memo_t *m, uint32_t busy, int cs, void **v,
                                           struct memo_i_retired *rec)
{
    memo_i_attempt_t a;
    int err;
    a.m = m;
    a.busy = busy;
    a.rec = rec;
    pthread_cleanup_push(memo_i_abandon_, &a);
    /* The constructor runs with the caller's cancellation state (a cancel
     * acting in it runs memo_i_abandon_); memo's own steps around it do not
     * (see memo_i_nocancel_). */
    memo_i_tls_v2_.pending_set = 0; /* memo_failf from here on is this attempt's */
    memo_i_recancel_(cs);
    err = m->ctor(m->arg, v);
    memo_i_nocancel_();
    pthread_cleanup_pop(0);
    return err;
}

static MEMO_I_NOINLINE void memo_i_run_dispose_(memo_t *m, uint32_t busy, int cs, void *v, uint32_t how)
{
    memo_i_attempt_t a;
    a.m = m;
    a.busy = busy;
    a.rec = NULL;
    pthread_cleanup_push(memo_i_abandon_, &a);
    memo_i_recancel_(cs); /* the destructor runs in the caller's state */
    memo_i_dispose_(m, v, how);
    memo_i_nocancel_();
    pthread_cleanup_pop(0);
}

static MEMO_I_NOINLINE memo_i_res_t memo_i_construct_(memo_t *m, uint32_t busy, int cs, void *old,
                                                      memo_i_retired_t *rec)
{
    void *v = NULL;
    int drop_now = 0;
    /* the pid of our claim, before the constructor's own claims of other
     * cells (or a fork in it) change the thread's record */
    const uint32_t cpid = memo_i_claim_pid_v1_;
    memo_i_count_(&m->attempts_);
    memo_i_event_(m, MEMO_EV_ATTEMPT, 0, NULL, 0);
    uint64_t t0 = MEMO_NOW_NS();
    int err = memo_i_run_ctor_(m, busy, cs, &v, rec);
    int origin = MEMO_FROM_CTOR;
    if (err == 0 && v == NULL) {
        err = MEMO_ENOVALUE;
        origin = MEMO_FROM_MEMO;
    }
    uint64_t t1 = MEMO_NOW_NS();
    if (err == 0) {
        /* relaxed: stats, published by the release in memo_i_end_busy_. */
        memo_i_atomic_store_relaxed(&m->last_ns_, t1 - t0);
        memo_i_atomic_store_relaxed(&m->nfail_row_, 0);
        memo_i_count_(&m->successes_);
        if (old) {
            /* Out of the cell first, then detached: an acquire that pins
             * after the detach sees the new epoch and lets go.  relaxed: we
             * own the cell; a reader that loads NULL waits for our end. */
            memo_i_atomic_store_relaxed(&m->tval_, NULL);
            drop_now = memo_i_detach_(m, old, rec, MEMO_I_HOW_(MEMO_I_DESTROY, cpid));
        }
        /* A refresh keeps the cell's number: values built from this cell
         * since its first construction stay newer than it (shutdown order). */
        if (!old || !m->reg_seq_)
            memo_i_list_(m);
        memo_i_publish_(m, v);
        memo_i_end_busy_(m, MEMO_I_NEXT(busy, MEMO_I_READY));
        memo_i_event_(m, MEMO_EV_SUCCESS, 0, NULL, t1 - t0);
        if (drop_now) {
            memo_i_recancel_(cs); /* the destructor runs in the caller's state */
            memo_i_dispose_(m, old, MEMO_I_HOW_(MEMO_I_DESTROY, cpid));
            memo_i_nocancel_();
        }
        return memo_i_ok_(v);
    }
    /* relaxed (all): published by the release in memo_i_end_busy_. */
    uint32_t row = memo_i_atomic_fetch_add_relaxed(&m->nfail_row_, 1) + 1;
    if (m->retry_min_ms) {
        memo_i_atomic_store_relaxed(&m->retry_at_, t1 + memo_i_window_ms_(m, row) * 1000000u);
    }
    memo_i_count_(&m->failures_);
    /* the attempt's message (memo_failf), kept for its waiters and stats */
    const char *msg = memo_i_keep_msg_(m, MEMO_I_GEN(MEMO_I_NEXT(busy, MEMO_I_FAILED)), origin);
    memo_i_note_(err, origin, msg);
    if (old) {
        /* relaxed: our own cell's expiry */
        uint64_t now = MEMO_TTL_NOW_NS(), exp = memo_i_atomic_load_relaxed(&m->exp_ns_);
        /* A refresh that forked (its claim was made in the parent) never
         * keeps a MEMO_FORK_RESET cell's parent value in the child. */
        int parents = m->on_fork == MEMO_FORK_RESET && cpid != memo_i_pid_();
        if (!parents && (now < exp || memo_i_servable_(m, now, exp))) {
            /* stale-if-error: the old value stays; the failure record stays
             * current for this READY word (the backoff window). */
            uint32_t next = MEMO_I_NEXT(busy, MEMO_I_READY);
            memo_i_atomic_store_relaxed(&m->fail_, ((uint64_t)MEMO_I_GEN(next) << 32) | (uint32_t)err);
            memo_i_end_busy_keep_(m, next);
            MEMO_FREE(rec);
            memo_i_event_(m, MEMO_EV_FAILURE, err, msg, t1 - t0);
            return memo_i_ok_(old);
        }
        memo_i_atomic_store_relaxed(&m->tval_, NULL); /* relaxed: as above */
        drop_now = memo_i_detach_(m, old, rec, MEMO_I_HOW_(MEMO_I_DESTROY, cpid));
        memo_i_unlist_(m);
    }
    uint32_t next = MEMO_I_NEXT(busy, MEMO_I_FAILED);
    memo_i_atomic_store_relaxed(&m->fail_, ((uint64_t)MEMO_I_GEN(next) << 32) | (uint32_t)err);
    memo_i_end_busy_(m, next);
    memo_i_event_(m, MEMO_EV_FAILURE, err, msg, t1 - t0);
    if (drop_now) {
        memo_i_recancel_(cs);
        memo_i_dispose_(m, old, MEMO_I_HOW_(MEMO_I_DESTROY, cpid));
        memo_i_nocancel_();
    }
    memo_i_res_t r;
    r.v = NULL; /* noted above, with the attempt's origin and message */
    r.err = err;
    return r;
}

/* The error of the attempt that ended with generation `gen`, if it failed;
 * 0 if it did not fail (succeeded, was cancelled, or a later period has since
 * replaced or staled the record -- the caller then simply tries again).  The
 * record is current only until the next period ends (memo_i_end_busy_), so a
 * 29-bit generation that wrapped cannot match an old failure. */
static inline int memo_i_failure_of_(memo_t *m, uint32_t gen)
{
    /* relaxed: the caller acquired state_ after the release that followed
     * the store of fail_ (see memo_i_construct_). */
    uint64_t f = memo_i_atomic_load_relaxed(&m->fail_);
    if ((uint32_t)(f >> 32) == (gen & 0x1fffffffu))
        return (int)(uint32_t)f;
    return 0;
}

/* >>memo:get -- the slow path of every getter. */

static memo_i_res_t memo_i_get_slow_cs_(memo_t *m, long timeout_ms, int cs);

static MEMO_I_NOINLINE memo_i_res_t memo_i_get_slow_nc_(memo_t *m, long timeout_ms);

/* The way out of every inlined getter.  Its first lines are a TTL cell's
 * ready path, kept apart from the rest (a tail call) so that a fresh TTL get
 * pays no register saves of the big slow path: a few instructions and the
 * clock read (docs/PERFORMANCE.md, TTL getters). */
static MEMO_I_NOINLINE memo_i_res_t memo_i_get_slow_(memo_t *m, long timeout_ms)
{
    if (m && m->ttl_ms) {
        /* A TTL cell's ready path (its slot_ stays NULL, so every inlined
         * fast path comes here): the value, if it has not expired.
         * acquire: pairs with the release store of tval_ in
         * memo_i_construct_.  relaxed: the expiry stored before that value
         * (or a later one, see there). */
        void *v = memo_i_atomic_load_acquire(&m->tval_);
        if (MEMO_I_LIKELY(v != NULL) && MEMO_TTL_NOW_NS() < memo_i_atomic_load_relaxed(&m->exp_ns_))
            return memo_i_ok_(v);
    }
    return memo_i_get_slow_nc_(m, timeout_ms);
}

static MEMO_I_NOINLINE memo_i_res_t memo_i_get_slow_nc_(memo_t *m, long timeout_ms)
{
    int cs = memo_i_nocancel_();
    memo_i_res_t r = memo_i_get_slow_cs_(m, timeout_ms, cs);
    memo_i_recancel_(cs);
    return r;
}

/* A READY TTL cell (word s) whose value the caller may find stale: returns 1
 * and sets *r when the get is answered, 0 to look at the cell again.  Fresh:
 * the value.  Stale: within the backoff window of a failed refresh, the stale
 * value (servable) or that failure's error; else claim the cell and refresh
 * it (memo_i_construct_ with the old value; an in-place value is destroyed
 * first, its storage being the next value's). */
static int memo_i_ready_ttl_(memo_t *m, uint32_t s, int cs, memo_i_res_t *r)
{
    /* acquire / relaxed: as in memo_i_get_slow_ */
    void *v = memo_i_atomic_load_acquire(&m->tval_);
    if (!v)
        return 0; /* a reset began after our load of state_ */
    uint64_t now = MEMO_TTL_NOW_NS(), exp = memo_i_atomic_load_relaxed(&m->exp_ns_);
    if (now < exp) {
        *r = memo_i_ok_(v);
        return 1;
    }
    int serve = memo_i_servable_(m, now, exp);
    /* relaxed: ordered by the caller's acquire load of state_ */
    if (m->retry_min_ms && MEMO_NOW_NS() < memo_i_atomic_load_relaxed(&m->retry_at_)) {
        int e = memo_i_failure_of_(m, MEMO_I_GEN(s));
        if (e) {
            if (!serve)
                memo_i_event_(m, MEMO_EV_BACKOFF, e, NULL, 0);
            *r = serve ? memo_i_ok_(v) : memo_i_cerr_(m, e, MEMO_I_GEN(s));
            return 1;
        }
    }
    const int inplace = (memo_i_flags_(m) & MEMO_I_F_INPLACE) != 0;
    memo_i_retired_t *rec = NULL;
    if (!inplace && !(rec = (memo_i_retired_t *)MEMO_MALLOC(sizeof *rec))) {
        *r = serve ? memo_i_ok_(v) : memo_i_err_(ENOMEM);
        return 1;
    }
    uint32_t busy;
    if (!memo_i_claim_(m, s, &busy)) {
        MEMO_FREE(rec);
        return 0;
    }
    /* Ours now.  Refreshed between our look and the claim (a value that is
     * not the one we saw, or not stale any more)?  Then nothing to do.
     * relaxed: we own the cell. */
    if (memo_i_atomic_load_relaxed(&m->tval_) != v ||
        MEMO_TTL_NOW_NS() < memo_i_atomic_load_relaxed(&m->exp_ns_)) {
        memo_i_end_busy_(m, MEMO_I_NEXT(busy, MEMO_I_READY));
        MEMO_FREE(rec);
        return 0;
    }
    if (inplace) {
        /* One storage: the old value goes before the next is built (as a
         * reset, the destructor inside the busy period). */
        memo_i_atomic_store_relaxed(&m->tval_, NULL);
        memo_i_unlist_(m);
        memo_i_run_dispose_(m, busy, cs, v, MEMO_I_HOW_(MEMO_I_DESTROY, memo_i_claim_pid_v1_));
        *r = memo_i_construct_(m, busy, cs, NULL, NULL);
        return 1;
    }
    *r = memo_i_construct_(m, busy, cs, v, rec);
    return 1;
}

/* A BUSY TTL cell: its stale value if this caller may have it instead of
 * waiting (MEMO_REFRESH_STALE while a refresh runs), else NULL. */
static inline void *memo_i_busy_ttl_(memo_t *m)
{
    if (m->refresh != MEMO_REFRESH_STALE)
        return NULL;
    /* acquire / relaxed: as in memo_i_get_slow_ */
    void *v = memo_i_atomic_load_acquire(&m->tval_);
    if (!v)
        return NULL;
    uint64_t now = MEMO_TTL_NOW_NS(), exp = memo_i_atomic_load_relaxed(&m->exp_ns_);
    /* A fresh value in a BUSY cell is being reset or invalidated: wait. */
    return now >= exp && memo_i_servable_(m, now, exp) ? v : NULL;
}

/* memo_i_get_slow_ with memo's cancellation type; cs is the caller's.  One
 * dispatch on the phase of the word seen, as memo_reset's. */
static memo_i_res_t memo_i_get_slow_cs_(memo_t *m, long timeout_ms, int cs)
{
    if (!m || !m->ctor)
        return memo_i_err_(EINVAL);
    uint64_t deadline = 0;
    int counted_wait = 0;
    for (;;) {
        /* acquire: pairs with the release in memo_i_end_busy_ (READY: the
         * value; FAILED: fail_ and retry_at_). */
        uint32_t s = memo_i_atomic_load_acquire(&m->state_);
        uint32_t busy;
        switch (s & MEMO_I_PHASE) {
        case MEMO_I_READY: {
            void *v = memo_i_slot_(m);
            if (v)
                return memo_i_ok_(v);
            /* A value in tval_ (not ttl_ms, which a program might change
             * under a published value): a TTL cell. */
            memo_i_res_t r;
            if (memo_i_ready_ttl_(m, s, cs, &r))
                return r;
            continue; /* a reset began after our load of state_ */
        }
        case MEMO_I_FAILED:
            if (m->retry_min_ms) {
                /* relaxed: ordered by the acquire load of state_ above. */
                uint64_t until = memo_i_atomic_load_relaxed(&m->retry_at_);
                if (MEMO_NOW_NS() < until) {
                    int e = memo_i_failure_of_(m, MEMO_I_GEN(s));
                    if (e) { /* within the backoff window */
                        memo_i_event_(m, MEMO_EV_BACKOFF, e, NULL, 0);
                        return memo_i_cerr_(m, e, MEMO_I_GEN(s));
                    }
                }
            }
            MEMO_I_FALLTHROUGH_;
            /* fall through - outside the backoff window, a new attempt */
        case MEMO_I_EMPTY:
            if (memo_i_claim_(m, s, &busy))
                return memo_i_construct_(m, busy, cs, NULL, NULL);
            continue;
        default: { /* BUSY */
            if (memo_i_owned_by_me_(m))
                return memo_i_err_(EDEADLK); /* from its own constructor */
            if (memo_i_owner_elsewhere_(m)) {
                memo_i_take_over_(m, s); /* forked mid-way: the owner is not here */
                continue;
            }
            void *sv = memo_i_busy_ttl_(m);
            if (sv)
                return memo_i_ok_(sv); /* stale, while it is refreshed */
            if (timeout_ms == 0)
                return memo_i_err_(ETIMEDOUT);
            if (timeout_ms > 0 && !deadline)
                deadline = memo_i_deadline_(timeout_ms);
            if (!counted_wait) {
                counted_wait = 1;
                memo_i_count_(&m->waits_);
            }
            int w = memo_i_wait_(m, s, deadline);
            if (w)
                return memo_i_err_(w); /* ETIMEDOUT, or EDEADLK: a cycle of waits */
            /* The attempt we waited on (generation g) is over.  If it failed,
             * its error is ours too -- unless the cell is READY: a failed
             * refresh that kept its stale value, which the READY case serves
             * or refuses; otherwise look again (READY: the value; EMPTY
             * after a cancelled constructor: take the construction over).
             * acquire: as at the top. */
            if ((memo_i_atomic_load_acquire(&m->state_) & MEMO_I_PHASE) != MEMO_I_READY) {
                int e = memo_i_failure_of_(m, MEMO_I_GEN(s) + 1);
                if (e)
                    return memo_i_cerr_(m, e, MEMO_I_GEN(s) + 1);
            }
            continue;
        }
        }
    }
}

/* memo_get's and memo_get_timed's way into the slow path: out is written
 * only here, after the call, so it is never passed to a function. */
static inline int memo_i_get_out_(memo_t *m, void **out, long timeout_ms)
{
    if (!out)
        return memo_i_fail_(EINVAL);
    memo_i_res_t r = memo_i_get_slow_(m, timeout_ms);
    if (r.err == 0)
        *out = r.v;
    return r.err;
}

/* >>memo:destroy -- taking a value out of the cell: detach (leases decide who
 * destroys it), reset, invalidate. */

/* The owner (BUSY) has just taken value v out of slot_: moves the cell to the
 * next epoch and hands v's leases, if any, to rec.  Returns 1 if v has no
 * lease (the caller destroys it now; rec is freed), 0 if the last release of
 * a lease on v will destroy it (rec stays on the retired list). */
static inline int memo_i_detach_(memo_t *m, void *v, memo_i_retired_t *rec, uint32_t how)
{
    /* relaxed: only the BUSY owner changes the epoch, and we are the owner
     * (our claim acquired the previous owner's release). */
    uint32_t e = (uint32_t)(memo_i_atomic_load_relaxed(&m->leases_) >> 32);
    rec->value = v;
    rec->epoch = e;
    rec->how = how; /* with the claimer's pid (MEMO_I_HOW_) */
    rec->count = MEMO_I_BIAS;
    /* The record is listed BEFORE the epoch moves on: a release that sees
     * the new epoch must find it (see memo_i_unpin_).  The next epoch is one
     * that no retired record holds: a lease kept across 2^32 detaches must
     * not share its epoch with a newer value (its release would count on the
     * wrong record).  Only the owner lists records, so none can appear for
     * `next` before our exchange. */
    memo_i_rlock_(m);
    rec->next = m->retired_;
    m->retired_ = rec;
    uint32_t next = e + 1u;
    while (*memo_i_link_of_(m, next))
        next++;
    memo_i_runlock_(m);
    /* acq_rel.  release: slot_ = NULL and the listed record happen-before
     * any acquire read of the new epoch (memo_acquire, memo_i_unpin_).
     * acquire: every lease given back before this point in leases_'s
     * modification order (release CAS) happens-before the destructor.  An
     * acquire whose add precedes this exchange is counted in `old`; one whose
     * add follows it sees the new epoch and undoes its add. */
    uint64_t old = memo_i_atomic_exchange_acq_rel(&m->leases_, (uint64_t)next << 32);
    memo_i_rlock_(m);
    rec->count += (int64_t)(uint32_t)old - MEMO_I_BIAS;
    int64_t left = rec->count;
    MEMO_ASSERT(left >= 0);
    if (left == 0)
        *memo_i_link_of_(m, e) = rec->next;
    memo_i_runlock_(m);
    if (left != 0)
        return 0;
    MEMO_FREE(rec);
    return 1;
}

/* Destroys (dtor) or forgets (forget) v, a value taken out of m.  A value of
 * a MEMO_FORK_RESET cell detached in another process -- this is a child
 * forked while it was leased -- is the parent's: forgotten. */
static inline void memo_i_dispose_(memo_t *m, void *v, uint32_t how)
{
    if ((how & 0xffu) == MEMO_I_KEEP)
        return; /* memo_take: the taker owns it */
    if ((how & 0xffu) == MEMO_I_FORGET ||
        (m->on_fork == MEMO_FORK_RESET && (how >> 8) != memo_i_pid_())) {
        if (m->forget)
            m->forget(m->arg, v);
        memo_i_event_(m, MEMO_EV_FORGOTTEN, 0, NULL, 0);
    } else {
        if (m->dtor)
            m->dtor(m->arg, v);
        memo_i_event_(m, MEMO_EV_DESTROYED, 0, NULL, 0);
    }
}

/* Takes a READY cell into BUSY (the caller becomes owner), takes the value
 * out, unlists the cell, detaches the value (memo_i_detach_, consuming rec)
 * and disposes of it (`how`: destroy or forget) unless a lease defers that;
 * then installs EMPTY.  `s` is the READY word seen.  EAGAIN (rec untouched)
 * if the word has changed.  Nothing is taken -- READY again (next
 * generation) and EALREADY -- if, now that we own the cell, it holds another
 * value than `seen` (if not NULL), another lease epoch than `epoch` (unless
 * MEMO_I_ANY_EPOCH), or another registration than `seq` (if not 0: a sweep
 * that saw an older value).  The check after the claim is what makes
 * invalidate exact: 2^29 periods may bring back the READY word the caller
 * saw, with another value in the slot. */
#define MEMO_I_ANY_EPOCH UINT64_MAX
static inline int memo_i_destroy_(memo_t *m, uint32_t s, memo_i_retired_t *rec, const void *seen,
                                  uint64_t epoch, uint64_t seq, uint32_t how, int cs)
{
    uint32_t busy;
    if (!memo_i_claim_(m, s, &busy))
        return EAGAIN;
    /* relaxed (both): we own the cell; the slot and the epoch are ours. */
    if ((seen && memo_i_held_(m) != seen) ||
        (epoch != MEMO_I_ANY_EPOCH &&
         memo_i_atomic_load_relaxed(&m->leases_) >> 32 != epoch) ||
        (seq && m->reg_seq_ != seq)) {
        memo_i_end_busy_(m, MEMO_I_NEXT(busy, MEMO_I_READY));
        return EALREADY;
    }
    void *v = memo_i_take_(m);
    memo_i_unlist_(m);
    /* the value goes with any failure and backoff window it was kept
     * through (a TTL cell's stale-if-error), as memo_reset promises; the
     * cell ends EMPTY.  relaxed: published by memo_i_end_busy_'s exchange. */
    memo_i_atomic_store_relaxed(&m->nfail_row_, 0);
    memo_i_atomic_store_relaxed(&m->retry_at_, 0);
    how = MEMO_I_HOW_(how, memo_i_claim_pid_v1_); /* our claim's pid, just made */
    if (memo_i_detach_(m, v, rec, how))
        memo_i_run_dispose_(m, busy, cs, v, how);
    memo_i_end_busy_(m, MEMO_I_NEXT(busy, MEMO_I_EMPTY));
    return 0;
}

static inline int memo_i_drop_(memo_t *m, int cs, uint64_t seq, uint32_t how);

static inline int memo_reset(memo_t *m)
{
    if (!m)
        return EINVAL;
    int cs = memo_i_nocancel_();
    int rc = memo_i_drop_(m, cs, 0, MEMO_I_DESTROY);
    memo_i_recancel_(cs);
    return rc;
}

/* memo_reset (seq 0, MEMO_I_DESTROY), and the sweeps of memo_shutdown and
 * memo_forget_all: take out the value registered as `seq` (any if 0) and
 * destroy or forget it.  A sweep leaves a FAILED cell alone and gets
 * EALREADY for a value registered since. */
static inline int memo_i_drop_(memo_t *m, int cs, uint64_t seq, uint32_t how)
{
    memo_i_retired_t *rec = NULL; /* for a value we detach; allocated first
                                     so that no failure can follow the detach */
    int rc;
    memo_i_drop_msg_(m); /* the failure it explained is forgotten too */
    for (;;) {
        /* acquire: as in memo_i_get_slow_. */
        uint32_t s = memo_i_atomic_load_acquire(&m->state_);
        switch (s & MEMO_I_PHASE) {
        case MEMO_I_EMPTY:
            rc = 0;
            goto out;
        case MEMO_I_READY: {
            if (!rec && !(rec = (memo_i_retired_t *)MEMO_MALLOC(sizeof *rec)))
                return ENOMEM;
            int d = memo_i_destroy_(m, s, rec, NULL, MEMO_I_ANY_EPOCH, seq, how, cs);
            if (d == 0)
                return 0; /* rec consumed */
            if (d == EALREADY) {
                rc = EALREADY;
                goto out;
            }
            break;
        }
        case MEMO_I_FAILED: {
            if (seq) {
                rc = 0; /* a sweep: no value here */
                goto out;
            }
            /* Forgetting the failure is a BUSY period of its own, so that its
             * writes cannot land on a newer attempt's (a CAS straight to EMPTY
             * followed by the stores let another thread claim, fail and set a
             * backoff that we would then cut short). */
            uint32_t busy;
            if (memo_i_claim_(m, s, &busy)) {
                /* relaxed: published by memo_i_end_busy_'s exchange. */
                memo_i_atomic_store_relaxed(&m->nfail_row_, 0);
                memo_i_atomic_store_relaxed(&m->retry_at_, 0);
                memo_i_end_busy_keep_(m, MEMO_I_NEXT(busy, MEMO_I_EMPTY));
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
            if (memo_i_owner_elsewhere_(m)) {
                memo_i_take_over_(m, s);
                break;
            }
            if (memo_i_wait_(m, s, 0) == EDEADLK) {
                rc = EDEADLK; /* a cycle of waits (our constructor's cell) */
                goto out;
            }
            break;
        }
    }
out:
    MEMO_FREE(rec);
    return rc;
}

static inline int memo_i_invalidate_(memo_t *m, const void *seen, uint64_t epoch, int cs);

static inline int memo_invalidate(memo_t *m, void *seen)
{
    if (!m || !seen)
        return EINVAL;
    int cs = memo_i_nocancel_();
    int rc = memo_i_invalidate_(m, seen, MEMO_I_ANY_EPOCH, cs);
    memo_i_recancel_(cs);
    return rc;
}

static inline int memo_invalidate_lease(memo_lease_t *lease)
{
    if (!lease || lease->magic_ != MEMO_I_LEASE_MAGIC || !lease->m_ || !lease->value)
        return EINVAL;
    int cs = memo_i_nocancel_();
    int rc = memo_i_invalidate_(lease->m_, lease->value, lease->epoch_, cs);
    memo_i_recancel_(cs);
    return rc;
}

/* Invalidates the value `seen` (and, unless epoch is MEMO_I_ANY_EPOCH, only in
 * that lease epoch, which names one value uniquely: a value's epoch is never
 * reused while a lease on it is held, see memo_i_detach_). */
static inline int memo_i_invalidate_(memo_t *m, const void *seen, uint64_t epoch, int cs)
{
    memo_i_retired_t *rec = NULL;
    int rc;
    /* acquire: as in memo_i_get_slow_. */
    uint32_t s = memo_i_atomic_load_acquire(&m->state_);
    if ((s & MEMO_I_PHASE) == MEMO_I_BUSY && memo_i_owned_by_me_(m))
        return EDEADLK;
    for (;;) {
        /* relaxed: a first look (as below) */
        if ((s & MEMO_I_PHASE) == MEMO_I_BUSY && memo_i_held_(m) == seen &&
            (epoch == MEMO_I_ANY_EPOCH || memo_i_atomic_load_relaxed(&m->leases_) >> 32 == epoch)) {
            /* Another thread is busy with this very value: a TTL refresh
             * (which keeps it while it rebuilds and keeps it for good if
             * the rebuild fails), or a destroy about to take it.  Wait for
             * the outcome, then look again. */
            if (memo_i_owner_elsewhere_(m)) {
                memo_i_take_over_(m, s);
            } else if (memo_i_wait_(m, s, 0) == EDEADLK) {
                rc = EDEADLK;
                break;
            }
            s = memo_i_atomic_load_acquire(&m->state_); /* acquire: as above */
            continue;
        }
        if ((s & MEMO_I_PHASE) != MEMO_I_READY) {
            rc = EALREADY;
            break;
        }
        /* relaxed: a first look only; memo_i_destroy_ checks again once it
         * owns the cell (the READY word may recur after a generation wrap). */
        if (memo_i_held_(m) != seen ||
            (epoch != MEMO_I_ANY_EPOCH &&
             memo_i_atomic_load_relaxed(&m->leases_) >> 32 != epoch)) {
            rc = EALREADY;
            break;
        }
        if (!rec && !(rec = (memo_i_retired_t *)MEMO_MALLOC(sizeof *rec)))
            return ENOMEM;
        int d = memo_i_destroy_(m, s, rec, seen, epoch, 0, MEMO_I_DESTROY, cs);
        if (d == 0) {
            memo_i_event_(m, MEMO_EV_INVALIDATED, 0, NULL, 0);
            return 0; /* rec consumed */
        }
        if (d == EALREADY) {
            rc = EALREADY;
            break;
        }
        s = memo_i_atomic_load_acquire(&m->state_);
    }
    MEMO_FREE(rec);
    return rc;
}

/* >>memo:leases -- pinning a value: acquire, release, deferred destruction. */

/* Gives back one lease taken in epoch e.  0, or EINVAL if no lease of that
 * epoch is outstanding (a lease released twice through a copy). */
static MEMO_I_NOINLINE int memo_i_unpin_retired_(memo_t *m, uint32_t e)
{
    int cs = memo_i_nocancel_();
    memo_i_rlock_(m);
    memo_i_retired_t **pp = memo_i_link_of_(m, e), *r = *pp;
    if (!r) {
        memo_i_runlock_(m);
        memo_i_recancel_(cs);
        return EINVAL;
    }
    int64_t left = --r->count;
    MEMO_ASSERT(left >= 0); /* never more releases than leases */
    void *v = NULL;
    uint32_t how = 0;
    if (left == 0) {
        *pp = r->next;
        v = r->value; /* under the lock: once we unlock, r is ours only at 0 */
        how = r->how;
    }
    memo_i_runlock_(m);
    if (left == 0)
        MEMO_FREE(r); /* before the destructor, which may exit the thread */
    memo_i_recancel_(cs);
    if (left == 0) {
        /* The last lease on a detached value: destroy (or forget) it here,
         * in the releasing thread, outside the lock and outside any busy
         * period of the cell: it may overlap the cell's constructor or
         * another deferred destructor (docs/DESIGN.md, 6a: a release never
         * waits). */
        memo_i_dispose_(m, v, how);
    }
    return 0;
}

static inline int memo_i_unpin_(memo_t *m, uint32_t e)
{
    /* acquire: if we see a later epoch, its detacher's record is listed
     * (release in memo_i_detach_'s exchange). */
    uint64_t cur = memo_i_atomic_load_acquire(&m->leases_);
    while ((uint32_t)(cur >> 32) == e) {
        if ((uint32_t)cur == 0)
            return EINVAL; /* no lease outstanding: released twice */
        /* release: our uses of the value happen-before its destruction (the
         * detacher's acq_rel exchange reads this or a later value).
         * acquire on failure: as the load above. */
        if (memo_i_atomic_cas_weak_release_acquire(&m->leases_, &cur, cur - 1))
            return 0;
    }
    return memo_i_unpin_retired_(m, e);
}

static inline int memo_acquire(memo_t *m, memo_lease_t *lease)
{
    if (!lease)
        return memo_i_fail_(EINVAL);
    lease->value = NULL;
    lease->m_ = NULL;
    lease->epoch_ = 0;
    lease->magic_ = 0;
    if (!m)
        return memo_i_fail_(EINVAL);
    if (memo_i_flags_(m) & (MEMO_I_F_INPLACE | MEMO_I_F_THREAD))
        return memo_i_fail_(ENOTSUP);
    for (;;) {
        /* acquire: if this reads a detacher's exchange, that detacher's
         * slot_ = NULL happens-before the load of slot_ below, so v cannot
         * be a value detached before epoch e0 began. */
        uint64_t e0 = memo_i_atomic_load_acquire(&m->leases_);
        void *v = memo_i_slot_(m);
        if (!v) {
            memo_i_res_t r = memo_i_get_slow_(m, -1);
            if (r.err)
                return r.err;
            /* Pin what the slow path returned (a TTL cell's value is never
             * in slot_): it was loaded, or built, after e0 was read, so the
             * argument below holds for it as for a loaded slot. */
            v = r.v;
        }
        /* relaxed: atomicity is all we need.  If the add still reads epoch
         * e0, v is e0's value (it was loaded after e0 was read, and a value
         * of a later epoch is installed only after e0's detach, which would
         * then precede this add) and the detach of e0 comes after this add
         * in leases_'s modification order, so it counts our lease.  The
         * value's contents are ordered by the acquire load of slot_. */
        uint64_t old = memo_i_atomic_fetch_add_relaxed(&m->leases_, 1);
        if ((uint32_t)old >= MEMO_I_LEASE_MAX) {
            /* 2^31 leases on one value: refuse before the count can carry
             * into the epoch bits (that would take 2^31 more adds in flight
             * at once, one per thread between this add and its undo). */
            memo_i_unpin_(m, (uint32_t)(old >> 32));
            return memo_i_fail_(EOVERFLOW);
        }
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
    if (!lease || lease->magic_ != MEMO_I_LEASE_MAGIC)
        return EINVAL;
    MEMO_ASSERT(lease->m_ != NULL); /* a held lease names its cell */
    if (!lease->m_)
        return EINVAL;
    memo_t *m = lease->m_;
    uint32_t e = lease->epoch_;
    lease->value = NULL;
    lease->m_ = NULL;
    lease->magic_ = 0;
    return memo_i_unpin_(m, e);
}

/* >>memo:stats -- the counters. */

static inline memo_stats_t memo_stats(const memo_t *m)
{
    memo_stats_t st;
    memset(&st, 0, sizeof st);
    if (!m)
        return st;
    memo_t *w = (memo_t *)(uintptr_t)m; /* atomic loads take non-const pointers in C11
                                           (through uintptr_t: -Wcast-qual) */
    /* relaxed (all): statistics, no ordering promised. */
    st.attempts = memo_i_atomic_load_relaxed(&w->attempts_);
    st.successes = memo_i_atomic_load_relaxed(&w->successes_);
    st.failures = memo_i_atomic_load_relaxed(&w->failures_);
    st.waits = memo_i_atomic_load_relaxed(&w->waits_);
    st.failures_in_row = memo_i_atomic_load_relaxed(&w->nfail_row_);
    uint64_t f = memo_i_atomic_load_relaxed(&w->fail_);
    st.last_error = (int)(uint32_t)f;
    st.last_ctor_ns = memo_i_atomic_load_relaxed(&w->last_ns_);
    memo_i_rlock_(w);
    if (w->msg_ && w->msg_->has_text)
        memcpy(st.last_message, w->msg_->text, MEMO_MESSAGE_MAX);
    memo_i_runlock_(w);
    return st;
}

/* >>memo:set -- memo_set and memo_take (tests, dependency injection). */

static inline int memo_set(memo_t *m, void *value)
{
    if (!m || !value)
        return EINVAL;
    if (memo_i_flags_(m) & (MEMO_I_F_INPLACE | MEMO_I_F_THREAD))
        return ENOTSUP;
    int cs = memo_i_nocancel_(), rc;
    for (;;) {
        /* acquire: as in memo_i_get_slow_ */
        uint32_t s = memo_i_atomic_load_acquire(&m->state_), busy;
        uint32_t ph = s & MEMO_I_PHASE;
        if (ph == MEMO_I_READY) {
            rc = EEXIST;
            break;
        }
        if (ph == MEMO_I_BUSY) {
            if (memo_i_owned_by_me_(m)) {
                rc = EDEADLK;
                break;
            }
            if (memo_i_owner_elsewhere_(m)) {
                memo_i_take_over_(m, s);
                continue;
            }
            rc = EBUSY;
            break;
        }
        if (!memo_i_claim_(m, s, &busy))
            continue;
        /* as a successful construction publishes (memo_i_construct_);
         * relaxed: published by memo_i_end_busy_'s exchange */
        memo_i_atomic_store_relaxed(&m->nfail_row_, 0);
        memo_i_atomic_store_relaxed(&m->retry_at_, 0);
        memo_i_list_(m);
        memo_i_publish_(m, value);
        memo_i_end_busy_(m, MEMO_I_NEXT(busy, MEMO_I_READY));
        rc = 0;
        break;
    }
    memo_i_recancel_(cs);
    return rc;
}

static inline int memo_take(memo_t *m, void **out)
{
    if (!m || !out)
        return EINVAL;
    if (memo_i_flags_(m) & (MEMO_I_F_INPLACE | MEMO_I_F_THREAD))
        return ENOTSUP;
    int cs = memo_i_nocancel_(), rc;
    memo_i_retired_t *rec = NULL;
    for (;;) {
        /* acquire: as in memo_i_get_slow_ */
        uint32_t s = memo_i_atomic_load_acquire(&m->state_), busy;
        uint32_t ph = s & MEMO_I_PHASE;
        if (ph == MEMO_I_EMPTY || ph == MEMO_I_FAILED) {
            rc = EAGAIN;
            break;
        }
        if (ph == MEMO_I_BUSY) {
            if (memo_i_owned_by_me_(m)) {
                rc = EDEADLK;
                break;
            }
            if (memo_i_owner_elsewhere_(m))
                memo_i_take_over_(m, s);
            else if (memo_i_wait_(m, s, 0) == EDEADLK) {
                rc = EDEADLK;
                break;
            }
            continue;
        }
        if (!rec && !(rec = (memo_i_retired_t *)MEMO_MALLOC(sizeof *rec))) {
            rc = ENOMEM;
            break;
        }
        if (!memo_i_claim_(m, s, &busy))
            continue;
        void *v = memo_i_take_(m);
        memo_i_unlist_(m);
        /* leases on it keep it valid; their last release disposes nothing */
        (void)memo_i_detach_(m, v, rec, MEMO_I_KEEP); /* rec: freed, or listed */
        rec = NULL;
        memo_i_end_busy_(m, MEMO_I_NEXT(busy, MEMO_I_EMPTY));
        *out = v;
        rc = 0;
        break;
    }
    MEMO_FREE(rec);
    memo_i_recancel_(cs);
    return rc;
}

/* >>memo:lifetimes -- TTL peeks, memo_shutdown, memo_forget_all, and the fork
 * policies applied in a forked child. */

static inline void *memo_i_ttl_peek_(memo_t *m)
{
    /* acquire / relaxed: as in memo_i_get_slow_ */
    void *v = memo_i_atomic_load_acquire(&m->tval_);
    if (!v)
        return NULL;
    uint64_t now = MEMO_TTL_NOW_NS(), exp = memo_i_atomic_load_relaxed(&m->exp_ns_);
    return now < exp || memo_i_servable_(m, now, exp) ? v : NULL;
}

/* Per-thread values (MEMOIZE_THREAD, >>memo:thread): a sweep's and a forked
 * child's step on one of their entries (called with the lock held; they
 * unlock). */
static inline int memo_i_thread_sweep_(void *node, uint64_t seq, uint32_t how);
static inline void memo_i_thread_fork_(void *node, uint64_t seq);

/* The cell of a cell entry, if it still carries the entry's number; else
 * the entry is stale (the cell's memory was freed, or reused, while it held
 * a value: the value is leaked) and is removed.  Lock held. */
static inline memo_t *memo_i_entry_cell_(const memo_i_entry_t *e)
{
    memo_t *m = (memo_t *)e->obj;
    if (m->reg_seq_ == e->seq)
        return m;
    memo_i_unlist_locked_(e->obj, e->seq);
    return NULL;
}

/* memo_shutdown (destroy) and memo_forget_all (forget): every value listed
 * when the sweep begins, newest first.  Each step picks, under the lock, the
 * newest entry not yet visited (numbers only go down, so a value built
 * meanwhile -- a higher number -- is left alone and no entry is visited
 * twice), lets go of the lock and drops that cell's value as its owner
 * (memo_i_drop_, which re-checks the number once it owns the cell). */
static inline int memo_i_sweep_(uint32_t how)
{
    memo_i_registry_t *r = &memo_i_registry_v2_;
    int cs = memo_i_nocancel_(), rc = 0;
    memo_i_reg_lock_();
    uint64_t limit = r->seq;
    memo_i_reg_unlock_();
    for (;;) {
        memo_i_reg_lock_();
        size_t i = memo_i_reg_find_(limit);
        while (i > 0 && !r->v[i - 1].obj)
            i--;
        if (i == 0) {
            memo_i_reg_unlock_();
            break;
        }
        memo_i_entry_t e = r->v[i - 1];
        limit = MEMO_I_SEQ_(e.seq) - 1;
        int err = 0;
        if (e.seq & MEMO_I_REG_THREAD) {
            err = memo_i_thread_sweep_(e.obj, e.seq, how); /* unlocks */
        } else {
            memo_t *m = memo_i_entry_cell_(&e);
            memo_i_reg_unlock_();
            if (m)
                err = memo_i_drop_(m, cs, e.seq, how);
        }
        if ((err == EDEADLK || err == ENOMEM) && !rc)
            rc = err;
    }
    memo_i_recancel_(cs);
    return rc;
}

static inline int memo_shutdown(void)
{
    return memo_i_sweep_(MEMO_I_DESTROY);
}

static inline int memo_forget_all(void)
{
    return memo_i_sweep_(MEMO_I_FORGET);
}

/* A forked child, alone in its process (the last fork child handler; the
 * registry lock is new and free): every MEMO_FORK_RESET cell forgets its
 * value.  The cell goes EMPTY -- or, if a thread of the parent was in the
 * middle of it, stays BUSY for the take-over (which then finds no value) --
 * the value leaves by a new epoch, and .forget runs now, or at the child's
 * last release of a lease on it.  The cell is unlisted before any .forget
 * runs, so a .forget that uses memo (even builds this cell again) meets a
 * consistent registry. */
static inline void memo_i_child_forget_(memo_t *m)
{
    /* relaxed (all): no other thread exists. */
    uint32_t s = memo_i_atomic_load_relaxed(&m->state_);
    if ((s & MEMO_I_PHASE) == MEMO_I_BUSY &&
        memo_i_atomic_load_relaxed(&m->owner_) == memo_i_self_())
        return; /* our own constructor or destructor forked: it goes on here */
    void *v = memo_i_take_(m);
    if (!v)
        return;
    if ((s & MEMO_I_PHASE) == MEMO_I_READY) {
        uint64_t f = memo_i_atomic_load_relaxed(&m->fail_);
        memo_i_atomic_store_relaxed(&m->fail_, ((uint64_t)MEMO_I_FAIL_NONE << 32) | (uint32_t)f);
        memo_i_atomic_store_relaxed(&m->state_, MEMO_I_NEXT(s, MEMO_I_EMPTY));
    }
    memo_i_rlock_(m); /* taken from a parent thread's hold if need be */
    uint64_t l = memo_i_atomic_load_relaxed(&m->leases_);
    uint32_t e = (uint32_t)(l >> 32), held = (uint32_t)l, next = e + 1u;
    while (*memo_i_link_of_(m, next))
        next++;
    memo_i_retired_t *rec = NULL;
    if (held && (rec = (memo_i_retired_t *)MEMO_MALLOC(sizeof *rec)) != NULL) {
        rec->value = v;
        rec->epoch = e;
        rec->count = held;
        rec->how = MEMO_I_FORGET | (memo_i_pid_() << 8);
        rec->next = m->retired_;
        m->retired_ = rec;
    }
    memo_i_atomic_store_relaxed(&m->leases_, (uint64_t)next << 32);
    memo_i_runlock_(m);
    /* Leased and no memory for the record: the lease holders keep the value
     * and nobody forgets it (a leak in the child, never a use after free). */
    if (!held && m->forget)
        m->forget(m->arg, v);
}

/* Per-thread values (MEMOIZE_THREAD, >>memo:thread) in a sweep and in a
 * forked child. */
static inline void memo_i_thread_fork_mine_(void);

static void memo_i_forked_child_(void)
{
    memo_i_registry_t *r = &memo_i_registry_v2_;
    if (!r->forky)
        return;
    memo_i_thread_fork_mine_();
    /* Oldest first; the lock is let go before any .forget runs (it may use
     * memo), so each step finds its place again by number. */
    uint64_t after = 0;
    for (;;) {
        memo_i_reg_lock_();
        size_t i = memo_i_reg_find_(after);
        while (i < r->n && !r->v[i].obj)
            i++;
        if (i == r->n) {
            memo_i_reg_unlock_();
            break;
        }
        memo_i_entry_t e = r->v[i];
        after = MEMO_I_SEQ_(e.seq);
        if (e.seq & MEMO_I_REG_THREAD) {
            memo_i_thread_fork_(e.obj, e.seq); /* unlocks */
            continue;
        }
        memo_t *m = e.reset ? memo_i_entry_cell_(&e) : NULL;
        if (!m || m->on_fork != MEMO_FORK_RESET) {
            memo_i_reg_unlock_();
            continue;
        }
        memo_i_unlist_locked_(m, e.seq);
        m->reg_seq_ = 0;
        memo_i_reg_unlock_();
        memo_i_child_forget_(m);
    }
}

/* The typed generators' out-of-line slow paths.  Plain inline where
 * MEMO_I_NOINLINE is empty (not GNU): no unused-function warning in a file
 * without in-place values. */
#if defined(__GNUC__) || defined(__clang__)
#define MEMO_I_TYPED_COLD_ MEMO_I_NOINLINE
#else
#define MEMO_I_TYPED_COLD_ inline
#endif

/* >>memo:thread -- per-thread values (MEMOIZE_THREAD).
 *
 * Each thread has, per MEMOIZE_THREAD, a thread-local {node, value}; only
 * that thread builds or replaces its value, so the getter's fast path is a
 * relaxed thread-local load of `ready` and a copy.  A value is listed in the
 * registry while `ready`.  Three others may take it out: the thread itself
 * (name_reset, thread exit), a sweep (memo_shutdown, memo_forget_all: from
 * any thread) and a forked child's handler.  They serialize on the registry
 * lock: whoever unlists the node disposes of the value.  A sweep disposes of
 * it outside the lock with `busy` set, and the owning thread waits for
 * `busy` to clear before it builds again or exits (its value's storage is
 * its thread-local storage). */
typedef struct memo_i_tnode {
    uint64_t seq;                  /* registry number while listed; lock */
    void (*drop)(struct memo_i_tnode *, uint32_t how); /* dispose of the value */
    memo_t *cell;                  /* options and statistics */
    uint64_t tid;                  /* the owning thread */
    struct memo_i_tnode *tnext;    /* the thread's other nodes (thread exit) */
    _Atomic(uint32_t) ready;       /* 1: the value is there (fast path) */
    MEMO_I_A64 busy;               /* the thread of a sweep disposing of the
                                      value, else 0 */
    uint32_t building;             /* 1: this thread runs the constructor */
    uint32_t chained;              /* 1: in the thread's list (tkey) */
    uint32_t dead;                 /* 1: the thread is past its last exit round */
    uint32_t nfail;                /* consecutive failures, this thread */
    int last_err;                  /* the last failure's error */
    uint64_t retry_at;             /* MEMO_NOW_NS() before which calls fail fast */
    int has_msg;                   /* the last failure's message (memo_failf) */
    char msg[MEMO_MESSAGE_MAX];
} memo_i_tnode_t;

static inline int memo_i_treset_(memo_i_tnode_t *n);

/* Thread exit (the key's destructor, in the exiting thread): its values,
 * newest node first.  A destructor that builds a value again (gets a
 * per-thread value) re-arms the key; this loops itself, not relying on
 * POSIX's PTHREAD_DESTRUCTOR_ITERATIONS (4 on glibc: a value built in the
 * last one would stay listed, pointing into a dead thread's storage).  In
 * the last of MEMO_I_EXIT_ROUNDS rounds the nodes are marked dead first, so
 * a getter called there returns ECANCELED instead of building. */
#define MEMO_I_EXIT_ROUNDS 4
static void memo_i_thread_exit_(void *head)
{
    memo_i_registry_t *r = &memo_i_registry_v2_;
    for (int round = 0; head; round++) {
        for (memo_i_tnode_t *n = (memo_i_tnode_t *)head, *next; n; n = next) {
            next = n->tnext;
            n->tnext = NULL;
            n->chained = 0;
            if (round + 1 >= MEMO_I_EXIT_ROUNDS)
                n->dead = 1;
            memo_i_treset_(n);
        }
        head = pthread_getspecific(r->tkey);
        if (head)
            pthread_setspecific(r->tkey, NULL);
    }
}

static void memo_i_tkey_create_(void)
{
    memo_i_registry_v2_.tkey_err = pthread_key_create(&memo_i_registry_v2_.tkey, memo_i_thread_exit_);
    memo_i_registry_v2_.tkey_ok = !memo_i_registry_v2_.tkey_err;
}

/* Waits while a sweep disposes of n's value (a few ns to a destructor's
 * length: a yield loop).  EDEADLK if the sweep is the calling thread's own
 * (a per-thread value's destructor, run by memo_shutdown in its own thread,
 * that gets or resets that value again). */
static inline int memo_i_tquiet_(memo_i_tnode_t *n)
{
    uint64_t b;
    /* acquire: the sweep's disposal (its reads of our value) happens-before
     * we write the value again or our storage goes away. */
    while ((b = memo_i_atomic_load_acquire(&n->busy)) != 0) {
        if (b == memo_i_self_())
            return EDEADLK;
        sched_yield();
    }
    return 0;
}

static inline void memo_i_tbuilt_(void *p)
{
    ((memo_i_tnode_t *)p)->building = 0;
}

/* Runs the typed constructor trampoline; the cleanup handler clears
 * `building` if the thread is cancelled or exits in it. */
static MEMO_I_TYPED_COLD_ int memo_i_trun_(memo_i_tnode_t *n, int (*build)(memo_i_tnode_t *), int cs)
{
    int err;
    n->building = 1;
    pthread_cleanup_push(memo_i_tbuilt_, n);
    memo_i_recancel_(cs);
    err = build(n);
    memo_i_nocancel_();
    pthread_cleanup_pop(0);
    n->building = 0;
    return err;
}

/* The per-thread getter's slow path: build this thread's value. */
static MEMO_I_TYPED_COLD_ int memo_i_tget_(memo_t *m, memo_i_tnode_t *n, int (*build)(memo_i_tnode_t *),
                                           void (*drop)(memo_i_tnode_t *, uint32_t))
{
    int cs = memo_i_nocancel_(), err, origin = MEMO_FROM_MEMO;
    memo_i_tls_t *tls = &memo_i_tls_v2_;
    uint64_t t0, t1;
    /* acquire: pairs with a sweep's release of `ready` = 0 after busy = 1 */
    if (memo_i_atomic_load_acquire(&n->ready)) {
        err = 0;
        goto out;
    }
    if (memo_i_tquiet_(n) || n->building) {
        err = EDEADLK; /* from its own constructor, or its own sweep */
        goto out;
    }
    if (n->dead) {
        err = ECANCELED; /* from a destructor, this thread's exit long begun */
        goto out;
    }
    if (n->nfail && m->retry_min_ms && MEMO_NOW_NS() < n->retry_at) {
        err = n->last_err; /* within this thread's backoff window */
        origin = MEMO_FROM_CTOR;
        tls->pending_set = n->has_msg;
        if (n->has_msg)
            memcpy(tls->pending, n->msg, MEMO_MESSAGE_MAX);
        memo_i_event_(m, MEMO_EV_BACKOFF, err, NULL, 0);
        goto out;
    }
    if (!n->chained) {
        memo_i_registry_t *r = &memo_i_registry_v2_;
        pthread_once(&r->tonce, memo_i_tkey_create_);
        if (r->tkey_err) {
            err = r->tkey_err; /* no thread-exit destructor: build nothing */
            goto out;
        }
        n->cell = m;
        n->drop = drop;
        n->tid = memo_i_self_();
        n->tnext = (memo_i_tnode_t *)pthread_getspecific(r->tkey);
        pthread_setspecific(r->tkey, n);
        n->chained = 1;
    }
    memo_i_count_(&m->attempts_);
    memo_i_event_(m, MEMO_EV_ATTEMPT, 0, NULL, 0);
    t0 = MEMO_NOW_NS();
    tls->pending_set = 0; /* memo_failf from here on is this attempt's */
    err = memo_i_trun_(n, build, cs);
    t1 = MEMO_NOW_NS();
    if (err == 0) {
        n->nfail = 0;
        /* relaxed (stats): no ordering promised */
        memo_i_atomic_store_relaxed(&m->last_ns_, t1 - t0);
        memo_i_count_(&m->successes_);
        memo_i_reg_lock_();
        n->seq = memo_i_list_locked_(n, MEMO_I_REG_THREAD, 0);
        memo_i_registry_v2_.forky = 1;
        /* release: the value written by build happens-before a sweep's (or
         * a forked child's) disposal that acquires it; our own fast path
         * needs no order (same thread). */
        memo_i_atomic_store_release(&n->ready, 1);
        memo_i_reg_unlock_();
        memo_i_event_(m, MEMO_EV_SUCCESS, 0, NULL, t1 - t0);
        goto out;
    }
    n->last_err = err;
    n->nfail++;
    if (m->retry_min_ms) {
        n->retry_at = t1 + memo_i_window_ms_(m, n->nfail) * 1000000u;
    }
    /* relaxed (stats) */
    memo_i_atomic_store_relaxed(&m->fail_, ((uint64_t)MEMO_I_FAIL_NONE << 32) | (uint32_t)err);
    memo_i_atomic_store_relaxed(&m->nfail_row_, n->nfail);
    memo_i_count_(&m->failures_);
    origin = MEMO_FROM_CTOR;
    {
        /* the message (memo_failf) for memo_stats of the shared cell */
        int had = tls->pending_set;
        const char *msg = memo_i_keep_msg_(m, MEMO_I_FAIL_NONE, MEMO_FROM_CTOR); /* clears pending_set */
        tls->pending_set = had;
        /* this thread's own copy, for its refusals inside the backoff window */
        n->has_msg = had;
        if (had)
            memcpy(n->msg, tls->pending, MEMO_MESSAGE_MAX);
        memo_i_event_(m, MEMO_EV_FAILURE, err, msg, t1 - t0);
    }
out:
    if (err) {
        memo_i_note_(err, origin, origin == MEMO_FROM_CTOR && tls->pending_set ? tls->pending : NULL);
        tls->pending_set = 0;
    }
    memo_i_recancel_(cs);
    return err;
}

/* name_reset() and thread exit: the calling thread's value goes (dtor), and
 * its backoff with it. */
static inline int memo_i_treset_(memo_i_tnode_t *n)
{
    if (n->building)
        return EDEADLK;
    int cs = memo_i_nocancel_();
    n->nfail = 0;
    n->retry_at = 0;
    memo_i_reg_lock_();
    if (n->seq) {
        memo_i_unlist_locked_(n, n->seq);
        n->seq = 0;
        memo_i_atomic_store_relaxed(&n->ready, 0); /* relaxed: our own thread's flag */
        memo_i_reg_unlock_();
        memo_i_recancel_(cs); /* the destructor runs in the caller's state */
        n->drop(n, MEMO_I_DESTROY);
        return 0;
    }
    memo_i_reg_unlock_();
    int rc = memo_i_tquiet_(n); /* a sweep has it: done when it is */
    memo_i_recancel_(cs);
    return rc;
}

/* A sweep's step on a per-thread value (lock held; unlocks): unlist it, mark
 * it busy, and dispose of it outside the lock, in the sweeping thread. */
static inline void memo_i_tunbusy_(void *p)
{
    /* release: our disposal happens-before the owner's next write */
    memo_i_atomic_store_release(&((memo_i_tnode_t *)p)->busy, 0);
}

/* The disposal, with a cleanup handler that clears `busy` if the sweeping
 * thread is cancelled or exits in the destructor (else the owner would wait
 * for ever).  A function of its own: the handler is a setjmp in C. */
static MEMO_I_TYPED_COLD_ void memo_i_tsweep_drop_(memo_i_tnode_t *n, uint32_t how)
{
    pthread_cleanup_push(memo_i_tunbusy_, n);
    n->drop(n, how);
    pthread_cleanup_pop(1);
}

static inline int memo_i_thread_sweep_(void *node, uint64_t seq, uint32_t how)
{
    memo_i_tnode_t *n = (memo_i_tnode_t *)node;
    memo_i_unlist_locked_(node, seq);
    n->seq = 0;
    /* relaxed: ordered before `ready` = 0 by the release below */
    memo_i_atomic_store_relaxed(&n->busy, memo_i_self_());
    /* release: a thread that sees `ready` = 0 (acquire) sees `busy` */
    memo_i_atomic_store_release(&n->ready, 0);
    memo_i_reg_unlock_();
    memo_i_tsweep_drop_(n, how);
    return 0;
}

/* A forked child's step on a per-thread value (lock held; unlocks).  Our own
 * values (this thread forked) follow the cell's on_fork; every other
 * thread's value belongs to a thread that does not exist here: forgotten
 * (their thread-local storage is still mapped in the child until a new
 * thread reuses it; no new thread exists yet). */
/* A forked child: a sweep of the parent that was disposing of one of the
 * forking thread's values does not exist here -- that value is the
 * parent's (forgotten by nobody here); the node is free again. */
static inline void memo_i_thread_fork_mine_(void)
{
    memo_i_registry_t *r = &memo_i_registry_v2_;
    if (r->tkey_ok) { /* no other thread exists */
        for (memo_i_tnode_t *n = (memo_i_tnode_t *)pthread_getspecific(r->tkey); n; n = n->tnext)
            memo_i_atomic_store_relaxed(&n->busy, 0);
    }
}

static inline void memo_i_thread_fork_(void *node, uint64_t seq)
{
    memo_i_tnode_t *n = (memo_i_tnode_t *)node;
    if (n->tid == memo_i_self_() && n->cell->on_fork != MEMO_FORK_RESET) {
        memo_i_reg_unlock_();
        return;
    }
    memo_i_unlist_locked_(node, seq);
    n->seq = 0;
    /* relaxed: no other thread exists */
    memo_i_atomic_store_relaxed(&n->ready, 0);
    memo_i_atomic_store_relaxed(&n->busy, 0);
    memo_i_reg_unlock_();
    n->drop(n, MEMO_I_FORGET);
}

/* >>memo:typed --- typed generators ---------------------------------------
 *
 * A pointer T lives in the slot itself (invalidate by pointer, leases).  Any
 * other T lives "in place": in a static array of atomic words next to the
 * cell, and the slot points to that array.  The next construction after a
 * reset rewrites those words while getters of the old value may still be
 * copying them, so a getter copies under a seqlock whose sequence number is
 * the cell's state word (after Boehm, "Can seqlocks get along with
 * programming language memory models?", MSPC 2012):
 *
 *   writer (the constructor trampoline, run by the BUSY owner, whose claim
 *   CAS moved state_ away from every READY word before):
 *       release fence; words = value (relaxed); ... READY (release exchange)
 *   reader (the getter):
 *       s1 = state_ (acquire); READY?  words -> local (relaxed);
 *       acquire fence; s2 = state_ (relaxed); s1 == s2 ? use the local : retry
 *
 * If the reader read any word stored by a later construction, the writer's
 * release fence synchronizes with the reader's acquire fence, so the
 * writer's claim CAS (sequenced before its fence) happens-before the load of
 * s2, which therefore reads that CAS or a later word: never s1 (a READY word
 * comes back only after 2^29 BUSY periods).  Every access to the words is
 * atomic: no data race, ThreadSanitizer sees none.  docs/DESIGN.md section 7.
 */

#define MEMO_I_WORD_ sizeof(uintptr_t)
/* Words holding a T (at least one). */
#define MEMO_I_NWORDS(T) ((sizeof(T) + MEMO_I_WORD_ - 1) / MEMO_I_WORD_)
/* Bytes copied between a pointer T and the slot (the min keeps the dead
 * branch of a non-pointer T in bounds). */
#define MEMO_I_PSIZE(T) (sizeof(T) < sizeof(void *) ? sizeof(T) : sizeof(void *))

/* MEMO_I_UNQUAL(T): T without its top-level qualifiers (the type of memo's
 * own copies of a value; an array type stays as it is).  MEMO_I_IS_PTR(T):
 * 1 if T is a pointer type (stored in the slot), 0 if not; undefined where
 * it cannot be computed (then MEMOIZE refuses to compile and MEMOIZE_PTR /
 * MEMOIZE_INPLACE say it explicitly). */
#if defined(__cplusplus)
extern "C++" {
template <class T> struct memo_i_unqual { typedef T type; };
template <class T> struct memo_i_unqual<const T> { typedef T type; };
template <class T> struct memo_i_unqual<volatile T> { typedef T type; };
template <class T> struct memo_i_unqual<const volatile T> { typedef T type; };
template <class T> struct memo_i_is_ptr { enum { value = 0 }; };
template <class T> struct memo_i_is_ptr<T *> { enum { value = 1 }; };
}
#define MEMO_I_UNQUAL(T) memo_i_unqual<T>::type
#define MEMO_I_IS_PTR(T) (memo_i_is_ptr<MEMO_I_UNQUAL(T)>::value != 0)
#define MEMO_I_ASSERT_(c, msg) static_assert(c, msg)
#elif defined(__GNUC__) || defined(__clang__)
/* An lvalue conversion (the comma operator's operand) drops the qualifiers
 * (C11 DR 423; GCC >= 5, Clang >= 3.9) but decays an array, so an array
 * keeps its type: __builtin_types_compatible_p ignores top-level qualifiers,
 * so it is 0 exactly for an array T (T vs. pointer). */
#define MEMO_I_DECAY_(T) __typeof__(((void)0, *(T *)0))
#define MEMO_I_IS_ARRAY_(T) (!__builtin_types_compatible_p(T, MEMO_I_DECAY_(T)))
#define MEMO_I_UNQUAL(T) \
    __typeof__(__builtin_choose_expr(MEMO_I_IS_ARRAY_(T), *(T *)0, ((void)0, *(T *)0)))
/* __builtin_classify_type's answer for a pointer: pointer_type_class in
 * GCC's typeclass.h (no_type_class = -1, void 0, integer 1, char 2,
 * enumeral 3, boolean 4, pointer 5, ...); Clang returns the same numbers. */
#define MEMO_I_POINTER_TYPE_CLASS 5
#define MEMO_I_IS_PTR(T) \
    (!MEMO_I_IS_ARRAY_(T) && __builtin_classify_type(*(T *)0) == MEMO_I_POINTER_TYPE_CLASS && \
     sizeof(T) == sizeof(void *))
#define MEMO_I_ASSERT_(c, msg) __extension__ _Static_assert(c, msg) /* (-std=gnu99: no note) */
#else
/* No GNU builtins: ISO C cannot tell a pointer type from a struct type (no
 * overloading, and _Generic needs every type spelled out). */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L
#define MEMO_I_UNQUAL(T) typeof_unqual(T)
#else
#define MEMO_I_UNQUAL(T) T /* a qualified T is not supported here */
#endif
#define MEMO_I_ASSERT_(c, msg) _Static_assert(c, msg)
#endif

/* MEMO_I_FN_OK_(f, P): 1 if the function f (or function pointer) has the
 * type P, a pointer to function; MEMO_I_DTOR_OK_(f, P): that, or f is NULL.
 * Constant expressions for the generators' static assertions: a constructor
 * or destructor of the wrong type is a compile error, not an incompatible-
 * pointer warning that stops the build only under -Werror.  In C++ "has the
 * type" is "converts to" (a noexcept function, a captureless lambda). */
#ifdef __cplusplus
extern "C++" {
template <class P> struct memo_i_fn_ {
    static char test(P);
    static long test(...);
};
}
#define MEMO_I_FN_OK_(f, P) (sizeof(memo_i_fn_<P>::test(f)) == 1)
#define MEMO_I_DTOR_OK_(f, P) MEMO_I_FN_OK_(f, P) /* NULL and nullptr convert to P */
#else
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L
#define MEMO_I_NULLPTR_OK_ typeof(nullptr): 1,
#else
#define MEMO_I_NULLPTR_OK_
#endif
#define MEMO_I_FN_OK_(f, P) _Generic(((void)0, f), P: 1, default: 0)
#define MEMO_I_DTOR_OK_(f, P) \
    _Generic(((void)0, f), P: 1, void *: 1, int: 1, long: 1, MEMO_I_NULLPTR_OK_ default: 0)
#endif

/* The ordering of the word accesses.  ThreadSanitizer does not model
 * atomic_thread_fence (and GCC's -Wtsan warns about it): under it the words
 * use release stores and acquire loads instead, which order the same way
 * (each word store then synchronizes with the load that reads it). */
#if defined(__SANITIZE_THREAD__)
#define MEMO_I_WORDS_TSAN_ 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MEMO_I_WORDS_TSAN_ 1
#endif
#endif
#ifdef MEMO_I_WORDS_TSAN_
#define MEMO_I_WORD_STORE_(p, v) memo_i_atomic_store_release((p), (v))
#define MEMO_I_WORD_LOAD_(p) memo_i_atomic_load_acquire(p)
#define MEMO_I_FENCE_REL_() ((void)0)
#define MEMO_I_FENCE_ACQ_() ((void)0)
#else
#define MEMO_I_WORD_STORE_(p, v) memo_i_atomic_store_relaxed((p), (v))
#define MEMO_I_WORD_LOAD_(p) memo_i_atomic_load_relaxed(p)
#define MEMO_I_FENCE_REL_() memo_i_atomic_fence_release()
#define MEMO_I_FENCE_ACQ_() memo_i_atomic_fence_acquire()
#endif

/* Writer: the constructor trampoline, as the BUSY owner, stores the `size`
 * bytes at src into the words. */
static inline void memo_i_words_put_(_Atomic(uintptr_t) *buf, const void *src, size_t size)
{
    /* release fence: a getter that reads any of the stores below (and then
     * issues its acquire fence) sees our claim of the cell (the CAS into
     * BUSY, sequenced before this fence) when it reloads state_, so it
     * discards its copy.  Under TSan: the release stores below do that. */
    MEMO_I_FENCE_REL_();
    for (size_t i = 0; i * MEMO_I_WORD_ < size; i++) {
        uintptr_t w = 0;
        size_t left = size - i * MEMO_I_WORD_;
        memcpy(&w, (const char *)src + i * MEMO_I_WORD_, left < MEMO_I_WORD_ ? left : MEMO_I_WORD_);
        /* relaxed (after the release fence above; release under TSan):
         * publication to getters is by the release exchange of state_ to
         * READY in memo_i_end_busy_, which follows. */
        MEMO_I_WORD_STORE_(&buf[i], w);
    }
}

/* The owner (constructor or destructor trampoline) reads the words back. */
static inline void memo_i_words_own_(_Atomic(uintptr_t) *buf, void *dst, size_t size)
{
    for (size_t i = 0; i * MEMO_I_WORD_ < size; i++) {
        /* relaxed: only the BUSY owner writes the words, and our claim CAS
         * acquired the release that ended the BUSY period which wrote them. */
        uintptr_t w = memo_i_atomic_load_relaxed(&buf[i]);
        size_t left = size - i * MEMO_I_WORD_;
        memcpy((char *)dst + i * MEMO_I_WORD_, &w, left < MEMO_I_WORD_ ? left : MEMO_I_WORD_);
    }
}

/* Copies a validated word copy out to the caller, word by word: one
 * word-sized store per word read, so the words can stay in registers (a
 * single memcpy of the whole copy became a 16-byte load of the two 8-byte
 * stack stores just made, which the CPU cannot forward: 7.8 ns a get instead
 * of 1). */
static MEMO_I_INLINE void memo_i_words_copy_(void *out, const uintptr_t *w, size_t size)
{
    for (size_t i = 0; i * MEMO_I_WORD_ < size; i++) {
        size_t left = size - i * MEMO_I_WORD_;
        uintptr_t x = w[i];
#if defined(__GNUC__) || defined(__clang__)
        /* a register the optimizer cannot see through: the stores stay one
         * per word (the SLP vectorizer otherwise merges them back) */
        __asm__("" : "+r"(x));
#endif
        memcpy((char *)out + i * MEMO_I_WORD_, &x, left < MEMO_I_WORD_ ? left : MEMO_I_WORD_);
    }
}

/* Reader: copies the n words of a READY cell into dst.  1 if the copy is
 * one value (the cell stayed READY in the same generation throughout), 0 if
 * the cell is not READY or changed meanwhile (dst is then garbage). */
static MEMO_I_INLINE int memo_i_words_get_(memo_t *m, _Atomic(uintptr_t) *buf, uintptr_t *dst,
                                           size_t n)
{
    /* acquire: pairs with the release exchange that installed this READY
     * word (memo_i_end_busy_), so the words of that value are visible. */
    uint32_t s1 = memo_i_atomic_load_acquire(&m->state_);
    if (MEMO_I_UNLIKELY((s1 & MEMO_I_PHASE) != MEMO_I_READY))
        return 0;
    for (size_t i = 0; i < n; i++)
        /* relaxed: may read a later construction's stores (racing, but
         * atomic); then the acquire fence below makes the recheck fail.
         * acquire under TSan, which then orders like the fence. */
        dst[i] = MEMO_I_WORD_LOAD_(&buf[i]);
    /* acquire fence: if a load above read a store made after a writer's
     * release fence, that writer's claim CAS happens-before the load below. */
    MEMO_I_FENCE_ACQ_();
    /* relaxed: ordered after the word loads by the fence above. */
    return memo_i_atomic_load_relaxed(&m->state_) == s1;
}


/* The in-place getter's slow path: until a validated copy of a value is in
 * dst, get the cell (wait for or run the construction; a reset may undo it
 * before we copy, then go round).  0, or the error of memo_i_get_slow_. */
static MEMO_I_TYPED_COLD_ int memo_i_words_slow_(memo_t *m, _Atomic(uintptr_t) *buf, uintptr_t *dst,
                                                 size_t n)
{
    do {
        memo_i_res_t r = memo_i_get_slow_(m, -1);
        if (r.err)
            return r.err;
    } while (!memo_i_words_get_(m, buf, dst, n));
    return 0;
}

/* The in-place MEMOIZE getter's slow path: EINVAL for a NULL out, else a
 * validated copy through dst (*out untouched on error). */
static MEMO_I_TYPED_COLD_ int memo_i_words_out_(memo_t *m, _Atomic(uintptr_t) *buf, uintptr_t *dst,
                                                size_t n, void *out, size_t size)
{
    if (!out)
        return memo_i_fail_(EINVAL);
    int err = memo_i_words_slow_(m, buf, dst, n);
    if (err)
        return err;
    memcpy(out, dst, size);
    return 0;
}

/* A zeroed local U: MEMO_I_LOCAL_ declares it, MEMO_I_CLEAR_ zeroes it in C
 * once the block's declarations are done (the generated code declares at
 * the head of each block: -Wdeclaration-after-statement on the user's
 * lines). */
#ifdef __cplusplus
#define MEMO_I_LOCAL_(U, v) U v{}
#define MEMO_I_CLEAR_(v) ((void)0)
#else
#define MEMO_I_LOCAL_(U, v) U v
#define MEMO_I_CLEAR_(v) memset(&v, 0, sizeof v)
#endif

/* What the generators expand to on the user's lines draws no warning with a
 * strict user's flags (tests/strict/uses_all.c): declarations at the head of
 * each block, C11 keywords behind MEMO_I_EXT_, and no `unused` attribute --
 * clang's -Wused-but-marked-unused would report every call of the getter.
 * A getter (and name_reset) that a unit never calls is still no unused
 * function: a trampoline defined after it refers to it (no code), and the
 * cell or the getter refers to that trampoline. */

/* The generator behind MEMOIZE, MEMOIZE_PTR and MEMOIZE_INPLACE; is_ptr is
 * a constant expression: 1 = T lives in the slot, 0 = in place. */
#define MEMO_I_MEMOIZE_AS_(is_ptr, storage, name, T, ctor, dtor, ...) \
    MEMO_I_ASSERT_(MEMO_I_FN_OK_(ctor, int (*)(MEMO_I_UNQUAL(T) *)), \
                   "MEMOIZE: the constructor must be int ctor(T *out), T without qualifiers"); \
    MEMO_I_ASSERT_(MEMO_I_DTOR_OK_(dtor, void (*)(T)), \
                   "MEMOIZE: the destructor must be void dtor(T value), or NULL"); \
    MEMO_I_EXT_ static _Atomic(uintptr_t) name##_memo_words_[(is_ptr) ? 1 : MEMO_I_NWORDS(T)]; \
    static int name##_memo_ctor_(void *arg, void **out) \
    { \
        /* a wrong type fails to compile (above); qualifiers of T are dropped */ \
        int (*typed_)(MEMO_I_UNQUAL(T) *) = ctor; \
        MEMO_I_LOCAL_(MEMO_I_UNQUAL(T), v_); \
        int err_; \
        MEMO_I_CLEAR_(v_); \
        (void)arg; \
        err_ = typed_(&v_); \
        if (err_) \
            return err_; \
        if (is_ptr) { \
            memcpy(out, &v_, MEMO_I_PSIZE(T)); \
        } else { \
            memo_i_words_put_(name##_memo_words_, &v_, sizeof v_); \
            *out = (void *)(uintptr_t)name##_memo_words_; /* (-Wcast-qual: the _Atomic) */ \
        } \
        return 0; \
    } \
    static void name##_memo_dtor_(void *arg, void *p); \
    storage memo_t name##_memo = MEMO_I_INIT_F_((is_ptr) ? 0u : MEMO_I_F_INPLACE, \
        name##_memo_ctor_, name##_memo_dtor_, NULL, __VA_ARGS__); \
    /* the options again, as a constant the getter's test folds away */ \
    static const memo_t name##_memo_opts_ = MEMO_I_INIT_F_(0u, NULL, NULL, NULL, __VA_ARGS__); \
    storage int name(MEMO_I_UNQUAL(T) *out) \
    { \
        if (is_ptr) { \
            void *p_ = memo_i_slot_(&name##_memo); \
            memo_i_res_t r_; \
            if (MEMO_I_LIKELY(p_ != NULL && out != NULL)) { \
                memcpy(out, &p_, MEMO_I_PSIZE(T)); \
                return 0; \
            } \
            if (!out) \
                return memo_i_fail_(EINVAL); \
            r_ = memo_i_get_slow_(&name##_memo, -1); \
            if (r_.err) \
                return r_.err; \
            memcpy(out, &r_.v, MEMO_I_PSIZE(T)); \
            return 0; \
        } else { \
            uintptr_t w_[(is_ptr) ? 1 : MEMO_I_NWORDS(T)]; \
            /* a TTL cell's value is checked against the clock first */ \
            if (MEMO_I_LIKELY(name##_memo_opts_.ttl_ms == 0 && out != NULL && \
                              memo_i_words_get_(&name##_memo, name##_memo_words_, \
                                                               w_, (is_ptr) ? 1 : MEMO_I_NWORDS(T)))) { \
                memo_i_words_copy_(out, w_, sizeof(T)); \
                return 0; \
            } \
            return memo_i_words_out_(&name##_memo, name##_memo_words_, w_, \
                                     (is_ptr) ? 1 : MEMO_I_NWORDS(T), out, sizeof(T)); \
        } \
    } \
    static void name##_memo_dtor_(void *arg, void *p) \
    { \
        void (*typed_)(T) = dtor; /* a wrong type fails to compile (above) */ \
        MEMO_I_LOCAL_(MEMO_I_UNQUAL(T), v_); \
        MEMO_I_CLEAR_(v_); \
        (void)arg; \
        (void)name; /* the getter counts as used (see above) */ \
        if (!typed_) \
            return; \
        if (is_ptr) \
            memcpy(&v_, &p, MEMO_I_PSIZE(T)); \
        else \
            memo_i_words_own_(name##_memo_words_, &v_, sizeof v_); \
        typed_(v_); \
    } \
    typedef int name##_memo_semicolon_

#if defined(__cplusplus) || defined(__GNUC__) || defined(__clang__)
#define MEMO_I_MEMOIZE_(storage, name, T, ...) \
    MEMO_I_MEMOIZE_AS_(MEMO_I_IS_PTR(T), storage, name, T, __VA_ARGS__)
#define MEMO_I_MEMOIZE_PTR_(storage, name, T, ...) \
    MEMO_I_ASSERT_(MEMO_I_IS_PTR(T), "MEMOIZE_PTR: T must be a pointer type"); \
    MEMO_I_MEMOIZE_AS_(1, storage, name, T, __VA_ARGS__)
#define MEMO_I_MEMOIZE_INPLACE_(storage, name, T, ...) \
    MEMO_I_ASSERT_(!MEMO_I_IS_PTR(T), "MEMOIZE_INPLACE: T is a pointer type: use MEMOIZE or " \
                   "MEMOIZE_PTR, which keep it in the slot (memo_invalidate, memo_acquire)"); \
    MEMO_I_MEMOIZE_AS_(0, storage, name, T, __VA_ARGS__)
#else
#define MEMO_I_MEMOIZE_(storage, name, T, ...) \
    MEMO_I_ASSERT_(0, "MEMOIZE needs GCC, Clang or C++ to tell a pointer T from a value: " \
                   "write MEMOIZE_PTR for a pointer T, MEMOIZE_INPLACE for any other T"); \
    MEMO_I_MEMOIZE_AS_(0, storage, name, T, __VA_ARGS__)
#define MEMO_I_MEMOIZE_PTR_(storage, name, T, ...) \
    MEMO_I_ASSERT_(sizeof(T) == sizeof(void *), "MEMOIZE_PTR: T must be a pointer type"); \
    MEMO_I_MEMOIZE_AS_(1, storage, name, T, __VA_ARGS__)
#define MEMO_I_MEMOIZE_INPLACE_(storage, name, T, ...) \
    MEMO_I_MEMOIZE_AS_(0, storage, name, T, __VA_ARGS__)
#endif

/** MEMOIZE_PTR(storage, name, T, ctor, dtor, options...): MEMOIZE for a
 *  pointer T, said explicitly (the value lives in the slot: memo_invalidate
 *  by pointer and memo_acquire work).  MEMOIZE_INPLACE(...): MEMOIZE for a
 *  non-pointer T (the value lives in place).  Needed only on a C compiler
 *  without GNU builtins, where MEMOIZE cannot tell the two apart and does not
 *  compile; elsewhere each checks its T at compile time. */
#define MEMOIZE_PTR(storage, name, ...) MEMO_I_MEMOIZE_PTR_(storage, name, __VA_ARGS__, )
#define MEMOIZE_INPLACE(storage, name, ...) MEMO_I_MEMOIZE_INPLACE_(storage, name, __VA_ARGS__, )

#define MEMO_I_MEMOIZE_VALUE_(storage, name, T, fn, ...) \
    MEMO_I_ASSERT_(MEMO_I_FN_OK_(fn, MEMO_I_UNQUAL(T) (*)(void)), \
                   "MEMOIZE_VALUE: the function must be T fn(void), T without qualifiers"); \
    MEMO_I_EXT_ static _Atomic(uintptr_t) name##_memo_words_[MEMO_I_NWORDS(T)]; \
    static int name##_memo_ctor_(void *arg, void **out); \
    storage memo_t name##_memo = MEMO_I_INIT_F_(MEMO_I_F_INPLACE, name##_memo_ctor_, NULL, NULL, \
        __VA_ARGS__); \
    static const memo_t name##_memo_opts_ = MEMO_I_INIT_F_(0u, NULL, NULL, NULL, __VA_ARGS__); \
    storage MEMO_I_UNQUAL(T) name(void) \
    { \
        uintptr_t w_[MEMO_I_NWORDS(T)]; \
        MEMO_I_UNQUAL(T) v_; \
        if (MEMO_I_UNLIKELY(name##_memo_opts_.ttl_ms != 0 || \
                            !memo_i_words_get_(&name##_memo, name##_memo_words_, w_, \
                                               MEMO_I_NWORDS(T)))) \
            memo_i_value_slow_(&name##_memo, name##_memo_words_, w_, MEMO_I_NWORDS(T), #name); \
        memcpy(&v_, w_, sizeof v_); \
        return v_; \
    } \
    static int name##_memo_ctor_(void *arg, void **out) \
    { \
        MEMO_I_UNQUAL(T) (*typed_)(void) = fn; /* a wrong type fails to compile (above) */ \
        MEMO_I_UNQUAL(T) v_ = typed_(); \
        (void)arg; \
        (void)name; /* the getter counts as used (see MEMO_I_MEMOIZE_AS_) */ \
        memo_i_words_put_(name##_memo_words_, &v_, sizeof v_); \
        *out = (void *)(uintptr_t)name##_memo_words_; /* (-Wcast-qual: the _Atomic) */ \
        return 0; \
    } \
    typedef int name##_memo_semicolon_

/* A MEMOIZE_THREAD value beside its node.  In C it shares a union with whole
 * 8-byte words, so that the thread's struct has no padding (-Wpadded on the
 * user's line) for a T aligned to at most 8; C++ keeps the plain member (a
 * union would delete the struct's default constructor for a T that has a
 * non-trivial one). */
/* MEMO_I_TVALUE_AT_: the value beside node n_ (the struct's first member);
 * in C by offset (a cast of n_ to the struct is type punning to
 * -Wstrict-aliasing=1); in C++ by the cast (offsetof wants a standard-layout
 * T there). */
#ifdef __cplusplus
#define MEMO_I_TVALUE_(U) U value
#define MEMO_I_TVALUE_AT_(tls_t, n_) ((void *)&((tls_t *)(void *)(n_))->value)
#else
#define MEMO_I_TVALUE_(U) union { U value; uint64_t words_[(sizeof(U) + 7) / 8]; }
#define MEMO_I_TVALUE_AT_(tls_t, n_) ((void *)((char *)(n_) + offsetof(tls_t, value)))
#endif

#define MEMO_I_MEMOIZE_THREAD_(storage, name, T, ctor, dtor, ...) \
    MEMO_I_ASSERT_(MEMO_I_FN_OK_(ctor, int (*)(MEMO_I_UNQUAL(T) *)), \
                   "MEMOIZE_THREAD: the constructor must be int ctor(T *out), T without qualifiers"); \
    MEMO_I_ASSERT_(MEMO_I_DTOR_OK_(dtor, void (*)(T)), \
                   "MEMOIZE_THREAD: the destructor must be void dtor(T value), or NULL"); \
    MEMO_I_EXT_ typedef struct name##_memo_tls_s { \
        memo_i_tnode_t node; \
        MEMO_I_TVALUE_(MEMO_I_UNQUAL(T)); \
    } name##_memo_tls_t; \
    MEMO_I_EXT_ static MEMO_I_TLS name##_memo_tls_t name##_memo_tls_; \
    static int name##_memo_tbuild_(memo_i_tnode_t *n_) \
    { \
        /* a wrong type fails to compile (above); qualifiers of T are dropped */ \
        int (*typed_)(MEMO_I_UNQUAL(T) *) = ctor; \
        MEMO_I_LOCAL_(MEMO_I_UNQUAL(T), v_); \
        int err_; \
        MEMO_I_CLEAR_(v_); \
        err_ = typed_(&v_); \
        if (!err_) \
            memcpy(MEMO_I_TVALUE_AT_(name##_memo_tls_t, n_), &v_, sizeof v_); \
        return err_; \
    } \
    static void name##_memo_tdrop_(memo_i_tnode_t *n_, uint32_t how_); \
    storage memo_t name##_memo = MEMO_I_INIT_F_(MEMO_I_F_THREAD, NULL, NULL, NULL, __VA_ARGS__); \
    storage int name(MEMO_I_UNQUAL(T) *out) \
    { \
        int err_; \
        if (MEMO_I_LIKELY(out != NULL && memo_i_atomic_load_relaxed(&name##_memo_tls_.node.ready))) { \
            memcpy(out, &name##_memo_tls_.value, sizeof *out); \
            return 0; \
        } \
        if (!out) \
            return memo_i_fail_(EINVAL); \
        err_ = memo_i_tget_(&name##_memo, &name##_memo_tls_.node, name##_memo_tbuild_, \
                            name##_memo_tdrop_); \
        if (!err_) \
            memcpy(out, &name##_memo_tls_.value, sizeof *out); \
        return err_; \
    } \
    storage int name##_reset(void) \
    { \
        return memo_i_treset_(&name##_memo_tls_.node); \
    } \
    static void name##_memo_tdrop_(memo_i_tnode_t *n_, uint32_t how_) \
    { \
        void (*typed_)(T) = dtor; /* a wrong type fails to compile (above) */ \
        MEMO_I_LOCAL_(MEMO_I_UNQUAL(T), v_); \
        MEMO_I_CLEAR_(v_); \
        (void)name; /* the getter and name_reset count as used (see MEMO_I_MEMOIZE_AS_) */ \
        (void)name##_reset; \
        memcpy(&v_, MEMO_I_TVALUE_AT_(name##_memo_tls_t, n_), sizeof v_); \
        if (how_ == MEMO_I_FORGET) { \
            if (n_->cell->forget) \
                n_->cell->forget(n_->cell->arg, (void *)&v_); \
        } else if (typed_) { \
            typed_(v_); \
        } \
    } \
    typedef int name##_memo_semicolon_

/* MEMOIZE_VALUE's slow path: waits for (or runs) the construction; aborts
 * on an error (fn is infallible: EDEADLK is a call from fn itself). */
static MEMO_I_TYPED_COLD_ void memo_i_value_slow_(memo_t *m, _Atomic(uintptr_t) *buf,
                                                      uintptr_t *dst, size_t n, const char *name)
{
    int err = memo_i_words_slow_(m, buf, dst, n);
    if (err) {
        fprintf(stderr, "memo: MEMOIZE_VALUE %s: error %d (%s)\n", name, err,
                err == EDEADLK ? "called from its own constructor" : "unexpected");
        abort();
    }
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#ifdef MEMO_I_DIAG_PUSHED_
#pragma GCC diagnostic pop
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
