/* old_glibc.c -- memo.h built against a glibc older than 2.30 (CentOS 7's
 * 2.17), or any C library without pthread_cond_clockwait (macOS, the BSDs):
 * there MEMO_NO_FUTEX's timed waits take an absolute CLOCK_REALTIME
 * deadline.  It used to be read with timespec_get(TIME_UTC), which is C11:
 * -std=gnu99 did not compile.  Simulated here: the system headers first,
 * then __GLIBC_MINOR__ lowered to 17.  tests/run_all.sh ("strict") builds it
 * with -DMEMO_NO_FUTEX and a strict user's flags in gnu99 (clock_gettime)
 * and c11 (no POSIX declarations: glibc's clock_gettime under memo's
 * internal name) and runs it: a timed get waits out its timeout while
 * another thread constructs, then gets the value. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#ifndef __GLIBC__
#error "old_glibc.c simulates an old glibc: build it against glibc"
#endif
#undef __GLIBC_MINOR__
#define __GLIBC_MINOR__ 17
#include "memo.h"

#if !defined(MEMO_NO_FUTEX) || defined(MEMO_I_HAVE_CLOCKWAIT)
#error "old_glibc.c: build with -DMEMO_NO_FUTEX; the clockwait path must be off"
#endif

static atomic_int started, release;

static int slow_ctor(void *arg, void **out)
{
    static int x;
    (void)arg;
    atomic_store(&started, 1);
    while (!atomic_load(&release))
        sched_yield();
    *out = &x;
    return 0;
}

static memo_t cell = MEMO_INIT(slow_ctor, NULL, NULL);

static void *builder(void *arg)
{
    void *v = NULL;
    (void)arg;
    return memo_get(&cell, &v) == 0 ? v : NULL;
}

int main(void)
{
    pthread_t t;
    void *v = NULL, *built = NULL;
    int rc = 0;

    if (pthread_create(&t, NULL, builder, NULL) != 0)
        return 2;
    while (!atomic_load(&started))
        sched_yield();
    rc |= memo_get_timed(&cell, &v, 30) != ETIMEDOUT; /* sleeps on the table */
    atomic_store(&release, 1);
    rc |= pthread_join(t, &built) != 0;
    rc |= memo_get_timed(&cell, &v, 1000) != 0 || v != built || v == NULL;
    rc |= memo_shutdown();
    return rc;
}
