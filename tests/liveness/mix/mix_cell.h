/* mix_cell.h -- one MEMOIZE'd cell shared by two translation units that
 * disagree on MEMO_NO_FUTEX (mix_x.c: futex, mix_y.c: -DMEMO_NO_FUTEX). */
#ifndef MIX_CELL_H
#define MIX_CELL_H
#include "memo.h"
MEMO_DECLARE(mixed_get, int *);
void mix_set_hook(void (*h)(void));
int *mix_value(void);
#endif
