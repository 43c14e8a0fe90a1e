/* thread_getter.h -- a MEMOIZE_THREAD'd getter shared by translation units,
 * as shared_getter.h is for MEMOIZE: tu_thread_def.c defines it (external
 * storage), tu_thread_use.c and test_thread.c call it. */
#ifndef THREAD_GETTER_H
#define THREAD_GETTER_H
#include "memo.h"
#include <pthread.h>
typedef struct tconn {
    pthread_t builder;      /* the thread whose constructor call built it */
    int serial;             /* 1, 2, ... in the order of construction */
} tconn_t;
MEMO_DECLARE_THREAD(get_tconn, tconn_t);
/* tu_thread_def.c: constructions and destructions so far; how often the
 * value numbered serial was destroyed, and by which thread (last) */
int tconn_builds(void);
int tconn_destroys(void);
int tconn_destroyed(int serial, pthread_t *by);
/* tu_thread_use.c: the getter, the reset and the statistics, called from
 * another unit than the definition */
int tu_thread_get(tconn_t *out);
int tu_thread_reset(void);
memo_stats_t tu_thread_stats(void);
#endif
