/* liba.c -- one of two shared libraries that include memo.h.  The cell lives
 * here (exported, as `MEMOIZE(, name, ...)` + MEMO_DECLARE would); its
 * constructor calls a hook the test installs (the test holds it in a gate).
 * Also a cell of liba's own with a counting destructor, and memo_get,
 * memo_reset and memo_shutdown compiled into liba for any cell (the
 * split-registry cases).  Built with -fvisibility=hidden or with default
 * visibility, with or without -DMEMO_NO_FUTEX (see tests/liveness/run.sh). */
#include "memo.h"

#define LV_API __attribute__((visibility("default")))

static int obj;
static void (*hook)(void);

static int a_ctor(void *arg, void **out)
{
    (void)arg;
    if (hook)
        hook();
    *out = &obj;
    return 0;
}

LV_API memo_t shared_cell = MEMO_INIT(a_ctor, NULL, NULL);

LV_API void a_set_hook(void (*h)(void)) { hook = h; }
LV_API void *a_value(void) { return &obj; }
LV_API unsigned a_waits(void) { return memo_stats(&shared_cell).waits; }
/* memo_get compiled into liba (its own inline copy of the slow path) */
LV_API int a_get(void **v) { return memo_get(&shared_cell, v); }

/* The split-registry cases (link_main.c): liba's own cell, and memo's
 * functions as compiled into liba, on any cell. */
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

LV_API memo_t *a_own_cell(void) { return &own_cell; }
LV_API int a_own_dtors(void) { return own_dtors; }
LV_API int a_get_cell(memo_t *m) { void *v; return memo_get(m, &v); }
LV_API int a_reset_cell(memo_t *m) { return memo_reset(m); }
LV_API int a_shutdown(void) { return memo_shutdown(); }
/* the registry liba's memo functions use (split: each library its own) */
LV_API const void *a_registry(void) { return &memo_i_registry_v2_; }
