/* new_unit.c -- built with include/memo.h: operates on the old unit's cell. */
#include "memo.h"
#include "cell.h"

const char *new_unit_version(void) { return MEMO_VERSION_STRING " (this tree)"; }
int new_get(void **v) { return memo_get((memo_t *)old_cell(), v); }
int new_reset(void) { return memo_reset((memo_t *)old_cell()); }
int new_acquire(void **v, void **lease_out)
{
    memo_lease_t *l = (memo_lease_t *)malloc(sizeof *l);
    int err = memo_acquire((memo_t *)old_cell(), l);
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
/* memo_t's layout must be the old one: same size, same offsets */
_Static_assert(sizeof(memo_t) == (sizeof(void *) == 8 ? 120 : 104), "memo_t changed size");
_Static_assert(offsetof(memo_t, leases_) == (sizeof(void *) == 8 ? 104 : 88), "memo_t.leases_ moved");
_Static_assert(offsetof(memo_t, retired_) == (sizeof(void *) == 8 ? 112 : 96), "memo_t.retired_ moved");
