/* MEMOIZE_PTR with a non-pointer T (here a pointer-sized struct) is
 * rejected at compile time where T can be classified (GCC, Clang, C++). */
#include "memo.h"
typedef struct word {
    void *p;
} word_t;
static int make_word(word_t *out)
{
    out->p = out;
    return 0;
}
MEMOIZE_PTR(static, get_word, word_t, make_word, NULL);
