/* tu_thread_def.c -- the one definition of get_tconn (MEMOIZE_THREAD with
 * external storage): its thread-local value lives in this unit. */
#include "thread_getter.h"
#include <stdatomic.h>
#define TCONN_MAX 256
static atomic_int builds, destroys;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int destroyed_n[TCONN_MAX];
static pthread_t destroyed_by[TCONN_MAX];
static int build_tconn(tconn_t *out)
{
    int s = atomic_fetch_add(&builds, 1) + 1;
    out->builder = pthread_self();
    out->serial = s;
    return 0;
}
static void drop_tconn(tconn_t c)
{
    atomic_fetch_add(&destroys, 1);
    if (c.serial <= 0 || c.serial >= TCONN_MAX)
        return;
    pthread_mutex_lock(&log_mu);
    destroyed_n[c.serial]++;
    destroyed_by[c.serial] = pthread_self();
    pthread_mutex_unlock(&log_mu);
}
MEMOIZE_THREAD(, get_tconn, tconn_t, build_tconn, drop_tconn);

int tconn_builds(void) { return atomic_load(&builds); }
int tconn_destroys(void) { return atomic_load(&destroys); }
int tconn_destroyed(int serial, pthread_t *by)
{
    if (serial <= 0 || serial >= TCONN_MAX)
        return -1;
    pthread_mutex_lock(&log_mu);
    int n = destroyed_n[serial];
    if (by)
        *by = destroyed_by[serial];
    pthread_mutex_unlock(&log_mu);
    return n;
}
