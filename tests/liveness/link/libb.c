/* libb.c -- the other shared library: it uses liba's cell (linked against
 * liba) with memo.h's inline code compiled into libb. */
#include "memo.h"

#define LV_API __attribute__((visibility("default")))

extern memo_t shared_cell;

LV_API int b_get(void **v) { return memo_get(&shared_cell, v); }
