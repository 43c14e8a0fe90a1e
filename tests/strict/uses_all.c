/* uses_all.c -- calls every public function, so that the header's inline
 * code is compiled (and warned about) with the strictest flags in
 * tests/run_all.sh: -O2 -Wstrict-aliasing=1 among them (the retired list
 * once punned a void * as a record pointer). */
#include "memo.h"

static int ctor(void *arg, void **out)
{
    (void)arg;
    static int x;
    *out = &x;
    return 0;
}

static memo_t cell = MEMO_INIT(ctor, NULL, NULL);

int main(void)
{
    void *v = NULL;
    memo_lease_t l = MEMO_LEASE_INIT;
    int rc = memo_get(&cell, &v) | memo_get_timed(&cell, &v, 10) | memo_peek(&cell, &v);
    rc |= memo_acquire(&cell, &l);
    rc |= memo_reset(&cell);
    rc |= memo_invalidate_lease(&l) == EALREADY ? 0 : 1;
    rc |= memo_release(&l);
    rc |= memo_get(&cell, &v);
    rc |= memo_invalidate(&cell, v);
    memo_stats_t st = memo_stats(&cell);
    return rc != 0 || st.attempts != 2;
}
