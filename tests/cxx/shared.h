/* shared.h -- the interface between c_unit.c (C11) and cxx_main.cpp (C++11
 * to C++23) of one program (tests/cxx/run.sh): cells defined in one language
 * and used from the other, and the layout of memo.h's shared types as each
 * language sees it. */
#ifndef CXX_SHARED_H
#define CXX_SHARED_H
#include "memo.h"

#ifdef __cplusplus
extern "C" {
#endif

struct thing { int id; char name[12]; };  /* a MEMOIZE'd pointer T (slot) */
struct triple { long a, b, c; };          /* a MEMOIZE'd struct T (in place) */

/* c_unit.c: cells defined in C */
extern memo_t c_cell;      /* MEMO_INIT(c_make, c_free, &c_tag, .retry_min_ms = 5) */
extern memo_t c_fail_cell; /* its ctor fails with ENOSPC; .retry_min_ms = 60000 */
extern memo_t c_slow_cell; /* its ctor waits for c_open_gate(); counted as "slow" */
MEMO_DECLARE(c_get_thing, struct thing *);
MEMO_DECLARE(c_get_triple, struct triple);
MEMO_DECLARE_THREAD(c_get_tls, int *);
/* memo.h's functions, called from C */
int c_get(memo_t *m, void **out);
int c_peek(memo_t *m, void **out);
int c_reset(memo_t *m);
int c_acquire(memo_t *m, memo_lease_t *l);
int c_release(memo_lease_t *l);
memo_stats_t c_stats(const memo_t *m);
int c_get_thing_from_c(struct thing **out);
int c_get_triple_from_c(struct triple *out);
uint32_t c_option(const memo_t *m, int which); /* 0 retry_min_ms, 1 retry_max_ms, 2 ttl_ms */
/* counters of c_unit.c's constructors and destructors: "make", "free",
 * "fail", "slow", "thing", "thing_free", "triple", "tls", "tls_free" */
int c_count(const char *what);
void c_open_gate(void);
int c_tag_value(void *arg); /* *(int *)arg: the arg the cell's ctor got */
extern int c_tag;

/* cxx_main.cpp: a cell defined in C++, used from C */
extern memo_t cxx_cell;     /* MEMO_INIT(cxx_make, cxx_free, NULL) */
extern memo_t cxx_opt_cell; /* the same with .retry_min_ms = 11, .retry_max_ms = 22, .ttl_ms = 33000 */

/* The layout: for each type, its size and alignment, then each member's
 * offset and size.  Same code in both languages: c_layout() is C's. */
#define CXX_MEMO_T_MEMBERS(X) \
    X(memo_t, slot_) X(memo_t, state_) X(memo_t, flags_) X(memo_t, ctor) X(memo_t, dtor) \
    X(memo_t, arg) X(memo_t, retry_min_ms) X(memo_t, retry_max_ms) X(memo_t, owner_) \
    X(memo_t, fail_) X(memo_t, retry_at_) X(memo_t, last_ns_) X(memo_t, nfail_row_) \
    X(memo_t, attempts_) X(memo_t, successes_) X(memo_t, failures_) X(memo_t, waits_) \
    X(memo_t, rlock_) X(memo_t, leases_) X(memo_t, retired_) X(memo_t, forget) X(memo_t, ttl_ms) \
    X(memo_t, max_stale_ms) X(memo_t, on_fork) X(memo_t, refresh) X(memo_t, rsv16_) \
    X(memo_t, rsv32_) X(memo_t, exp_ns_) X(memo_t, tval_) X(memo_t, reg_seq_) X(memo_t, on_event) X(memo_t, msg_)
#define CXX_OTHER_MEMBERS(X) \
    X(memo_lease_t, value) X(memo_lease_t, m_) X(memo_lease_t, epoch_) X(memo_lease_t, magic_) \
    X(memo_stats_t, attempts) X(memo_stats_t, last_error) X(memo_stats_t, last_ctor_ns) \
    X(memo_i_waiting_t, tid) X(memo_i_waiting_t, pid) X(memo_i_waiting_t, cell) \
    X(memo_i_tnode_t, ready) X(memo_i_tnode_t, busy) X(memo_i_tnode_t, retry_at)
#define CXX_TYPES(X) \
    X(memo_t) X(memo_lease_t) X(memo_stats_t) X(memo_i_waiting_t) X(memo_i_tnode_t) \
    X(memo_i_registry_t) X(memo_i_entry_t) X(memo_i_retired_t)
#define CXX_LAYOUT_MAX 256
#ifdef __cplusplus
#define CXX_ALIGNOF(T) alignof(T)
#else
#define CXX_ALIGNOF(T) _Alignof(T)
#endif

static inline size_t cxx_layout_here(size_t *out)
{
    size_t n = 0;
#define CXX_T_(T) out[n++] = sizeof(T); out[n++] = CXX_ALIGNOF(T);
#define CXX_M_(T, m) out[n++] = offsetof(T, m); out[n++] = sizeof(((T *)0)->m);
    CXX_TYPES(CXX_T_)
    CXX_MEMO_T_MEMBERS(CXX_M_)
    CXX_OTHER_MEMBERS(CXX_M_)
#undef CXX_T_
#undef CXX_M_
    return n;
}
size_t c_layout(size_t *out);

#ifdef __cplusplus
}
#endif
#endif
