/* tu_thread_use.c -- another translation unit using the per-thread getter
 * through MEMO_DECLARE_THREAD only. */
#include "thread_getter.h"
int tu_thread_get(tconn_t *out) { return get_tconn(out); }
int tu_thread_reset(void) { return get_tconn_reset(); }
memo_stats_t tu_thread_stats(void) { return memo_stats(&get_tconn_memo); }
