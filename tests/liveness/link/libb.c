/* libb.c -- the other shared library: it uses liba's cell (linked against
 * liba) with memo.h's inline code compiled into libb.  As liba, a cell of
 * its own and memo's functions on any cell (the split-registry cases). */
#include "memo.h"

#define LV_API __attribute__((visibility("default")))

extern memo_t shared_cell;

LV_API int b_get(void **v) { return memo_get(&shared_cell, v); }

static int own_obj, own_dtors;
static int own_ctor(void *arg, void **out)
{
    (void)arg;
    *out = &own_obj;
    return 0;
}
static void own_dtor(void *arg, void *v)
{
    (void)arg;
    (void)v;
    own_dtors++;
}
static memo_t own_cell = MEMO_INIT(own_ctor, own_dtor, NULL);

LV_API memo_t *b_own_cell(void) { return &own_cell; }
LV_API int b_own_dtors(void) { return own_dtors; }
LV_API int b_get_cell(memo_t *m) { void *v; return memo_get(m, &v); }
LV_API int b_reset_cell(memo_t *m) { return memo_reset(m); }
LV_API int b_shutdown(void) { return memo_shutdown(); }
LV_API const void *b_registry(void) { return &memo_i_registry_v2_; }
