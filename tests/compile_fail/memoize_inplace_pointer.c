/* MEMOIZE_INPLACE with a pointer T is rejected where T can be classified:
 * in place, memo_invalidate by pointer and leases would not work. */
#include "memo.h"
static int x;
static int make_p(int **out)
{
    *out = &x;
    return 0;
}
MEMOIZE_INPLACE(static, get_p, int *, make_p, NULL);
