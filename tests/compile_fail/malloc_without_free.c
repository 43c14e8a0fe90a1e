/* Defines MEMO_MALLOC without MEMO_FREE: memo.h must refuse (#error). */
#include <stdlib.h>
#define MEMO_MALLOC(n) malloc(n)
#include "memo.h"
int main(void) { return 0; }
