/* Without GNU builtins (simulated as in tests/test_nongnu.c) MEMOIZE cannot
 * tell a pointer T from a struct; it must not compile (before, a pointer T
 * silently lived in place and memo_invalidate(&get_conn_memo, c) returned
 * EALREADY).  MEMOIZE_PTR / MEMOIZE_INPLACE are the way out. */
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
#include <linux/futex.h>
#include <sys/syscall.h>
#undef __GNUC__
#undef __clang__
#include "memo.h"

typedef struct conn {
    int fd;
} conn_t;
static int open_conn(conn_t **out)
{
    static conn_t c;
    *out = &c;
    return 0;
}
MEMOIZE(static, get_conn, conn_t *, open_conn, NULL);
/* (MEMOIZE_VALUE works there; used so that no unused-function warning, but
 * only MEMOIZE's refusal, makes this file fail) */
static int seven(void) { return 7; }
MEMOIZE_VALUE(static, get_seven, int, seven);

int use(void);
int use(void)
{
    conn_t *c;
    return get_conn(&c) || memo_invalidate(&get_conn_memo, c) || get_seven() != 7;
}
