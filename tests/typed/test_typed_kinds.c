/* test_typed_kinds.c -- which T MEMOIZE and MEMOIZE_VALUE take (docs/API.md,
 * "Which T"): qualified T (const, volatile, a const pointer), arrays, unions,
 * padding, function pointers, a pointer-sized array; where each one lives
 * (the slot or in place) and that each round-trips through the getter, the
 * destructor, reset and invalidate. */
#include "testutil.h"

/* --- const struct T: ctor and getter take the unqualified type ---------- */
typedef struct cfg {
    int port;
    double timeout;
} cfg_t;
static int cfg_builds;
static int load_cfg(cfg_t *out)
{
    cfg_builds++;
    out->port = 5432;
    out->timeout = 2.5;
    return 0;
}
static int cfg_dtor_port;
static void drop_cfg(const cfg_t c) { cfg_dtor_port = c.port; }
MEMOIZE(static, get_cfg, const cfg_t, load_cfg, drop_cfg);

static void test_const_struct(void **state)
{
    (void)state;
    cfg_t c = { 0, 0 };                    /* a plain object: no const needed */
    assert_int_equal(get_cfg(&c), 0);
    assert_int_equal(c.port, 5432);
    assert_true(c.timeout == 2.5);
    assert_int_equal(memo_i_flags_(&get_cfg_memo), MEMO_I_F_INPLACE);
    memo_lease_t l;
    assert_int_equal(memo_acquire(&get_cfg_memo, &l), ENOTSUP);
    assert_int_equal(memo_reset(&get_cfg_memo), 0);
    assert_int_equal(cfg_dtor_port, 5432);
    assert_int_equal(get_cfg(&c), 0);
    assert_int_equal(cfg_builds, 2);
    assert_int_equal(memo_reset(&get_cfg_memo), 0);
}

/* --- char *const: a pointer T, in the slot ------------------------------ */
static char greeting[] = "hello";
static int make_greeting(char **out)
{
    *out = greeting;
    return 0;
}
static char *greeting_freed;
static void free_greeting(char *const p) { greeting_freed = p; }
MEMOIZE(static, get_greeting, char *const, make_greeting, free_greeting);

static void test_const_pointer(void **state)
{
    (void)state;
    char *p = NULL;
    assert_int_equal(get_greeting(&p), 0);
    assert_ptr_equal(p, greeting);
    assert_int_equal(memo_i_flags_(&get_greeting_memo), 0);      /* in the slot */
    memo_lease_t l;
    assert_int_equal(memo_acquire(&get_greeting_memo, &l), 0);
    assert_ptr_equal(l.value, greeting);
    assert_int_equal(memo_release(&l), 0);
    assert_int_equal(memo_invalidate(&get_greeting_memo, p), 0);
    assert_ptr_equal(greeting_freed, greeting);
}

/* --- pointer to const: an unqualified pointer T ------------------------- */
static const char banner[] = "memo";
static int make_banner(const char **out)
{
    *out = banner;
    return 0;
}
MEMOIZE(static, get_banner, const char *, make_banner, NULL);

static void test_pointer_to_const(void **state)
{
    (void)state;
    const char *s = NULL;
    assert_int_equal(get_banner(&s), 0);
    assert_string_equal(s, "memo");
    assert_int_equal(memo_i_flags_(&get_banner_memo), 0);
    assert_int_equal(memo_invalidate(&get_banner_memo, (void *)(uintptr_t)s), 0);
}

/* --- volatile scalar T (in place) --------------------------------------- */
static int make_answer(int *out)
{
    *out = 42;
    return 0;
}
MEMOIZE(static, get_answer, volatile int, make_answer, NULL);
static int answer_fn(void) { return 43; }
MEMOIZE_VALUE(static, get_const_answer, const int, answer_fn);
static cfg_t default_cfg(void)
{
    cfg_t c = { 80, 0.5 };
    return c;
}
MEMOIZE_VALUE(static, get_default_cfg, const cfg_t, default_cfg);

static void test_volatile_scalar(void **state)
{
    (void)state;
    int v = 0;
    assert_int_equal(get_answer(&v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(memo_i_flags_(&get_answer_memo), MEMO_I_F_INPLACE);
    assert_int_equal(get_const_answer(), 43);           /* MEMOIZE_VALUE, const T */
    assert_int_equal(get_default_cfg().port, 80);
    assert_int_equal(memo_reset(&get_default_cfg_memo), 0);
    cfg_t c = get_default_cfg();                        /* returns a plain cfg_t */
    c.port++;
    assert_int_equal(c.port, 81);
}

/* --- array T, including one of pointer size (in place, not the slot) ---- */
typedef int four_t[4];
static int make_quad(four_t *out)
{
    for (int i = 0; i < 4; i++)
        (*out)[i] = 10 * (i + 1);
    return 0;
}
static int quad_sum_at_dtor;
static void drop_quad(four_t q) { quad_sum_at_dtor = q[0] + q[1] + q[2] + q[3]; }
MEMOIZE(static, get_quad, four_t, make_quad, drop_quad);

typedef char tag_t[sizeof(void *)];                     /* looks like a pointer by size */
static int make_tag(tag_t *out)
{
    memcpy(*out, "tag", 4);
    return 0;
}
MEMOIZE(static, get_tag, tag_t, make_tag, NULL);

static void test_array(void **state)
{
    (void)state;
    four_t q = { 0 };
    assert_int_equal(get_quad(&q), 0);
    assert_int_equal(q[0], 10);
    assert_int_equal(q[3], 40);
    assert_int_equal(memo_i_flags_(&get_quad_memo), MEMO_I_F_INPLACE);
    assert_int_equal(memo_reset(&get_quad_memo), 0);
    assert_int_equal(quad_sum_at_dtor, 100);
    tag_t t = { 0 };
    assert_int_equal(get_tag(&t), 0);
    assert_string_equal(t, "tag");
    assert_int_equal(memo_i_flags_(&get_tag_memo), MEMO_I_F_INPLACE);
}

/* --- union, padding, a size that is not a multiple of a word ------------ */
typedef union num {
    double d;
    uint64_t u;
} num_t;
static int make_num(num_t *out)
{
    out->d = 0.25;
    return 0;
}
MEMOIZE(static, get_num, num_t, make_num, NULL);

typedef struct padded {
    char c;
    double d;
    short s;
} padded_t;
static int make_padded(padded_t *out)
{
    out->c = 'x';
    out->d = 1.5;
    out->s = 7;
    return 0;
}
MEMOIZE(static, get_padded, padded_t, make_padded, NULL);

typedef struct odd {
    char b[13];
} odd_t;
static int make_odd(odd_t *out)
{
    memcpy(out->b, "thirteen byte", 13);
    return 0;
}
MEMOIZE(static, get_odd, odd_t, make_odd, NULL);

static void test_union_padding_odd_size(void **state)
{
    (void)state;
    num_t n = { 0 };
    assert_int_equal(get_num(&n), 0);
    assert_true(n.d == 0.25);
    padded_t p = { 0, 0, 0 };
    assert_int_equal(get_padded(&p), 0);
    assert_int_equal(p.c, 'x');
    assert_true(p.d == 1.5);
    assert_int_equal(p.s, 7);
    odd_t o;
    memset(&o, 0xee, sizeof o);
    assert_int_equal(get_odd(&o), 0);
    assert_memory_equal(o.b, "thirteen byte", 13);
}

/* --- function pointer T (in the slot on GCC/Clang) ---------------------- */
typedef int (*op_t)(int);
static int twice(int x) { return 2 * x; }
static int make_op(op_t *out)
{
    *out = twice;
    return 0;
}
static op_t op_destroyed;
static void drop_op(op_t f) { op_destroyed = f; }
MEMOIZE(static, get_op, op_t, make_op, drop_op);

static void test_function_pointer(void **state)
{
    (void)state;
    op_t f = NULL;
    assert_int_equal(get_op(&f), 0);
    assert_int_equal(f(21), 42);
    assert_int_equal(memo_i_flags_(&get_op_memo), 0);
    assert_int_equal(memo_reset(&get_op_memo), 0);
    assert_true(op_destroyed == twice);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_const_struct),
        cmocka_unit_test(test_const_pointer),
        cmocka_unit_test(test_pointer_to_const),
        cmocka_unit_test(test_volatile_scalar),
        cmocka_unit_test(test_array),
        cmocka_unit_test(test_union_padding_odd_size),
        cmocka_unit_test(test_function_pointer),
    };
    return mt_run_tests("memo_typed_kinds", tests);
}
