/* Must NOT compile: the constructor's type does not match T. */
#include "memo.h"
static int make_int(int *out) { *out = 1; return 0; }
MEMOIZE(static, get_d, double, make_int, NULL);
int main(void) { double d; return get_d(&d); }
