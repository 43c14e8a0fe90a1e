/* tu_use.c -- another translation unit using the shared getter. */
#include "shared_getter.h"
#include <stddef.h>
shared_thing_t *tu_use_get(void)
{
    shared_thing_t *t = NULL;
    if (get_shared_thing(&t) != 0)
        return NULL;
    return t;
}
