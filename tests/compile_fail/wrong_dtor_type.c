/* Must NOT compile: the destructor's type does not match T. */
#include "memo.h"
static int make_p(char **out) { static char c; *out = &c; return 0; }
static void free_int(int *p) { (void)p; }
MEMOIZE(static, get_p, char *, make_p, free_int);
int main(void) { char *p; return get_p(&p); }
