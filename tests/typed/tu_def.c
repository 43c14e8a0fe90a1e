/* tu_def.c -- the one definition of get_shared_thing (external linkage). */
#include "shared_getter.h"
#include <stdlib.h>
int shared_thing_builds;
static shared_thing_t the_thing;
static int build_thing(shared_thing_t **out)
{
    shared_thing_builds++;
    the_thing.id = 4711;
    *out = &the_thing;
    return 0;
}
MEMOIZE(, get_shared_thing, shared_thing_t *, build_thing, NULL);
