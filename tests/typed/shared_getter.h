/* shared_getter.h -- a MEMOIZE'd getter shared by two translation units
 * (tu_def.c defines it, tu_use.c and test_typed.c call it). */
#ifndef SHARED_GETTER_H
#define SHARED_GETTER_H
#include "memo.h"
typedef struct shared_thing {
    int id;
} shared_thing_t;
MEMO_DECLARE(get_shared_thing, shared_thing_t *);
extern int shared_thing_builds;
shared_thing_t *tu_use_get(void);   /* calls the getter from tu_use.c */
#endif
