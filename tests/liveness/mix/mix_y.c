/* mix_y.c -- compiled WITH MEMO_NO_FUTEX (parking-table waits), using the
 * cell defined in mix_x.c through MEMO_DECLARE. */
#define MEMO_NO_FUTEX 1
#include "mix_cell.h"

int y_get(void **v);
int y_get(void **v) { return memo_get(&mixed_get_memo, v); }
