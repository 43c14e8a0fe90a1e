/* liba.c -- one of two shared libraries that include memo.h.  The cell lives
 * here (exported, as `MEMOIZE(, name, ...)` + MEMO_DECLARE would); its
 * constructor calls a hook the test installs (the test holds it in a gate).
 * Built with -fvisibility=hidden or with default visibility, with or without
 * -DMEMO_NO_FUTEX (see tests/liveness/run.sh). */
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
