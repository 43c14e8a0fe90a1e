/* old_unit.c -- built with tests/abi/memo-0.1.0-4a8f92d.h (the 0.1 header
 * before the defects fixes): defines the cell and operates on it. */
#include "memo-0.1.0-4a8f92d.h"
#include "cell.h"

int abi_ctor(void *arg, void **out);
void abi_dtor(void *arg, void *v);
static memo_t cell = MEMO_INIT(abi_ctor, abi_dtor, NULL);

const char *old_unit_version(void) { return MEMO_VERSION_STRING " (4a8f92d)"; }
void *old_cell(void) { return &cell; }
int old_get(void **v) { return memo_get(&cell, v); }
int old_reset(void) { return memo_reset(&cell); }
uint32_t old_waits(void) { return memo_stats(&cell).waits; }
int old_acquire(void **v, void **lease_out)
{
    memo_lease_t *l = (memo_lease_t *)malloc(sizeof *l);
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
