/* old_unit.c -- built with tests/abi/memo-0.1.0-4a8f92d.h (the 0.1 header
 * before the defects fixes), owns the old cell and operates on it only.
 *
 * 0.1 and 0.2 units do not share cells: memo_t grew in 0.2 (120 -> 168
 * bytes, 104 -> 144 on i386), and docs/DESIGN.md section 9 freezes only the
 * prefix up to state_ across minor versions.  What they do share, in one
 * program, is the program-wide weak park table memo_i_park_v1_ (defined here
 * with MEMO_NO_FUTEX), whose layout and meaning did not change; this header
 * predates the other v1 tables (memo_i_waiting_v1_, memo_i_forker_*_v1_,
 * memo_i_claim_pid_v1_) and has no fork handler.  The
 * _Static_asserts pin the 0.1 layout this copy is known by. */
#include "memo-0.1.0-4a8f92d.h"
#include "cell.h"

static memo_t cell = MEMO_INIT(abi_ctor, abi_dtor, &abi_old_unit);

const char *old_unit_version(void) { return MEMO_VERSION_STRING " (4a8f92d)"; }
void *old_cell(void) { return &cell; }
int old_get(void **v) { return memo_get(&cell, v); }
int old_peek(void **v) { return memo_peek(&cell, v); }
int old_reset(void) { return memo_reset(&cell); }
uint32_t old_waits(void) { return memo_stats(&cell).waits; }
int old_has_waiters(void)
{
    return (atomic_load_explicit(&cell.state_, memory_order_acquire) & MEMO_I_WAITERS) != 0;
}
size_t old_offset_slot(void) { return offsetof(memo_t, slot_); }
size_t old_offset_state(void) { return offsetof(memo_t, state_); }
const void *old_park_table(void)
{
#ifdef MEMO_NO_FUTEX
    return memo_i_park_v1_;
#else
    return NULL; /* 0.1 defines the table only with MEMO_NO_FUTEX */
#endif
}
int old_acquire(void **v, void **lease_out)
{
    memo_lease_t *l = (memo_lease_t *)malloc(sizeof *l);
    if (!l)
        return ENOMEM;
    int err = memo_acquire(&cell, l);
    if (err) { free(l); return err; }
    *v = l->value;
    *lease_out = l;
    return 0;
}
int old_release(void *lease)
{
    int err = memo_release((memo_lease_t *)lease);
    free(lease);
    return err;
}
/* the 0.1 layout: the frozen copy is the header we think it is */
_Static_assert(sizeof(memo_t) == (sizeof(void *) == 8 ? 120 : 104), "0.1 memo_t size");
_Static_assert(offsetof(memo_t, leases_) == (sizeof(void *) == 8 ? 104 : 88), "0.1 memo_t.leases_");
_Static_assert(offsetof(memo_t, retired_) == (sizeof(void *) == 8 ? 112 : 96), "0.1 memo_t.retired_");
