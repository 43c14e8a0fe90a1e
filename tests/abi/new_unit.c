/* new_unit.c -- built with include/memo.h (0.2), owns the new cell and
 * operates on it only.
 *
 * 0.2's memo_t (184 bytes, 152 on i386: lifetime options and the registry
 * number) is not 0.1's (120, 104), so a 0.1 unit and a 0.2 unit must not
 * share a cell (incompatible minor versions, docs/DESIGN.md section 9); they
 * must coexist in one program, each on its own cells, sharing the weak v1
 * tables, unchanged (memo_i_park_v1_ with the frozen 0.1 copy of
 * old_unit.c, which has no other; memo_i_waiting_v1_, memo_i_forker_*_v1_
 * and memo_i_claim_pid_v1_ too with later 0.1 headers).  memo_shutdown()
 * here walks the 0.2 registry (memo_i_registry_v2_), which 0.1 units never
 * join: it must leave the old unit's cell alone.  The _Static_asserts pin the
 * new layout and the prefix frozen across versions (slot_ first, state_ in
 * the first 16 bytes). */
#include "memo.h"
#include "cell.h"

static memo_t cell = MEMO_INIT(abi_ctor, abi_dtor, &abi_new_unit);

const char *new_unit_version(void) { return MEMO_VERSION_STRING " (this tree)"; }
void *new_cell(void) { return &cell; }
int new_get(void **v) { return memo_get(&cell, v); }
int new_peek(void **v) { return memo_peek(&cell, v); }
int new_reset(void) { return memo_reset(&cell); }
int new_shutdown(void) { return memo_shutdown(); }
uint32_t new_waits(void) { return memo_stats(&cell).waits; }
int new_has_waiters(void)
{
    return (atomic_load_explicit(&cell.state_, memory_order_acquire) & MEMO_I_WAITERS) != 0;
}
size_t new_offset_slot(void) { return offsetof(memo_t, slot_); }
size_t new_offset_state(void) { return offsetof(memo_t, state_); }
const void *new_park_table(void) { return memo_i_park_v1_; }
/* read under the registry's lock (a leaf lock, held for a few writes) */
size_t new_registry_entries_for(const void *c)
{
    size_t k = 0;
    pthread_mutex_lock(&memo_i_registry_v2_.mu);
    for (size_t i = 0; i < memo_i_registry_v2_.n; i++)
        k += memo_i_registry_v2_.v[i].obj == c;
    pthread_mutex_unlock(&memo_i_registry_v2_.mu);
    return k;
}
size_t new_registry_live(void)
{
    pthread_mutex_lock(&memo_i_registry_v2_.mu);
    size_t k = memo_i_registry_v2_.live;
    pthread_mutex_unlock(&memo_i_registry_v2_.mu);
    return k;
}
int new_acquire(void **v, void **lease_out)
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
int new_release(void *lease)
{
    int err = memo_release((memo_lease_t *)lease);
    free(lease);
    return err;
}
/* the 0.2 layout */
_Static_assert(sizeof(memo_t) == (sizeof(void *) == 8 ? 184 : 152), "memo_t is not the 0.2 size");
_Static_assert(_Alignof(memo_t) == 8, "memo_t is not 8-aligned");
_Static_assert(offsetof(memo_t, state_) + 4 <= 16, "memo_t.state_ left the first 16 bytes");
_Static_assert(offsetof(memo_t, slot_) == 0, "memo_t.slot_ is not first");
