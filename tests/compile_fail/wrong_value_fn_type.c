/* Must NOT compile: MEMOIZE_VALUE's function returns the wrong type. */
#include "memo.h"
static int *make(void) { static int x; return &x; }
MEMOIZE_VALUE(static, get_v, double, make);
int main(void) { return (int)get_v(); }
