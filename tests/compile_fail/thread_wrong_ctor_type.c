/* Must NOT compile (also without -Werror): MEMOIZE_THREAD's constructor
 * builds a long, T is an int. */
#include "memo.h"
static int make_long(long *out) { *out = 1; return 0; }
MEMOIZE_THREAD(static, get_t, int, make_long, NULL);
int main(void) { int i; return get_t(&i); }
