/* Must NOT compile (also without -Werror): MEMOIZE_THREAD's destructor takes
 * an int *, T is a char *. */
#include "memo.h"
static int make_p(char **out) { static char c; *out = &c; return 0; }
static void free_int(int *p) { (void)p; }
MEMOIZE_THREAD(static, get_t, char *, make_p, free_int);
int main(void) { char *p; return get_t(&p); }
