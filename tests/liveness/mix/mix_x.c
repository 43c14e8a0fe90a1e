/* mix_x.c -- compiled WITHOUT MEMO_NO_FUTEX (futex waits): defines the cell
 * and exports x_get, which runs memo.h's inline slow path as compiled here. */
#include "mix_cell.h"

static int obj;
static void (*hook)(void);

static int make(int **out)
{
    if (hook)
        hook();
    *out = &obj;
    return 0;
}

MEMOIZE(, mixed_get, int *, make, NULL);

void mix_set_hook(void (*h)(void)) { hook = h; }
int *mix_value(void) { return &obj; }
unsigned x_waits(void);
unsigned x_waits(void) { return memo_stats(&mixed_get_memo).waits; }
int x_get(void **v);
int x_get(void **v) { return memo_get(&mixed_get_memo, v); }
