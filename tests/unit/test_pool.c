/* pool: reuse, growth by whole slabs, in_use accounting, alignment. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "pool.h"

static void init_rejects_zero_sizes(void **state)
{
    (void)state;
    pool_t p;
    assert_int_equal(pool_init(&p, 0, 4), -EINVAL);
    assert_int_equal(pool_init(&p, 16, 0), -EINVAL);
}

static void init_allocates_nothing_until_first_get(void **state)
{
    (void)state;
    pool_t p;
    assert_int_equal(pool_init(&p, 32, 4), 0);
    assert_int_equal(pool_capacity(&p), 0);
    assert_int_equal(p.in_use, 0);
    pool_destroy(&p);
}

static void obj_size_is_rounded_to_pointer_alignment(void **state)
{
    (void)state;
    pool_t p;
    assert_int_equal(pool_init(&p, 1, 4), 0);
    assert_int_equal(p.obj_size, sizeof(void *));
    assert_int_equal(pool_init(&p, sizeof(void *) + 1, 4), 0);
    assert_int_equal(p.obj_size, 2 * sizeof(void *));
    pool_destroy(&p);
}

static void returned_object_is_handed_out_again(void **state)
{
    (void)state;
    pool_t p;
    pool_init(&p, 64, 4);
    void *a = pool_get(&p);
    pool_put(&p, a);
    void *b = pool_get(&p);
    assert_ptr_equal(a, b);
    pool_put(&p, b);
    pool_destroy(&p);
}

static void in_use_counts_gets_minus_puts(void **state)
{
    (void)state;
    pool_t p;
    pool_init(&p, 16, 8);
    void *objs[5];
    for (int i = 0; i < 5; i++)
        objs[i] = pool_get(&p);
    assert_int_equal(p.in_use, 5);
    pool_put(&p, objs[1]);
    pool_put(&p, objs[3]);
    assert_int_equal(p.in_use, 3);
    pool_put(&p, objs[0]);
    pool_put(&p, objs[2]);
    pool_put(&p, objs[4]);
    assert_int_equal(p.in_use, 0);
    pool_destroy(&p);
}

static void grows_by_one_slab_when_exhausted(void **state)
{
    (void)state;
    pool_t p;
    pool_init(&p, 24, 3);
    void *objs[7];
    for (int i = 0; i < 3; i++)
        objs[i] = pool_get(&p);
    assert_int_equal(pool_capacity(&p), 3);
    assert_int_equal(p.slab_count, 1);
    objs[3] = pool_get(&p);
    assert_int_equal(pool_capacity(&p), 6);
    assert_int_equal(p.slab_count, 2);
    for (int i = 4; i < 7; i++)
        objs[i] = pool_get(&p);
    assert_int_equal(pool_capacity(&p), 9);
    for (int i = 0; i < 7; i++)
        pool_put(&p, objs[i]);
    pool_destroy(&p);
}

static void objects_across_slabs_are_distinct_and_writable(void **state)
{
    (void)state;
    enum { N = 100, SIZE = 40 };
    pool_t p;
    pool_init(&p, SIZE, 7);
    uint8_t *objs[N];
    for (int i = 0; i < N; i++) {
        objs[i] = pool_get(&p);
        memset(objs[i], i, SIZE);
        assert_int_equal((uintptr_t)objs[i] % sizeof(void *), 0);
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < SIZE; j++)
            assert_int_equal(objs[i][j], (uint8_t)i);
    }
    for (int i = 0; i < N; i++)
        pool_put(&p, objs[i]);
    pool_destroy(&p);
}

static void putting_everything_back_does_not_shrink_or_regrow(void **state)
{
    (void)state;
    pool_t p;
    pool_init(&p, 16, 4);
    void *objs[10];
    for (int i = 0; i < 10; i++)
        objs[i] = pool_get(&p);
    size_t cap = pool_capacity(&p);
    for (int i = 0; i < 10; i++)
        pool_put(&p, objs[i]);
    assert_int_equal(pool_capacity(&p), cap);
    for (int i = 0; i < 10; i++)
        objs[i] = pool_get(&p);
    assert_int_equal(pool_capacity(&p), cap);
    for (int i = 0; i < 10; i++)
        pool_put(&p, objs[i]);
    pool_destroy(&p);
}

static void put_null_is_a_no_op(void **state)
{
    (void)state;
    pool_t p;
    pool_init(&p, 16, 4);
    void *a = pool_get(&p);
    pool_put(&p, NULL);
    assert_int_equal(p.in_use, 1);
    pool_put(&p, a);
    pool_destroy(&p);
}

static void destroy_leaves_an_empty_pool(void **state)
{
    (void)state;
    pool_t p;
    pool_init(&p, 16, 4);
    void *a = pool_get(&p);
    pool_put(&p, a);
    pool_destroy(&p);
    assert_int_equal(pool_capacity(&p), 0);
    assert_null(p.free_list);
    assert_null(p.slabs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_zero_sizes),
        cmocka_unit_test(init_allocates_nothing_until_first_get),
        cmocka_unit_test(obj_size_is_rounded_to_pointer_alignment),
        cmocka_unit_test(returned_object_is_handed_out_again),
        cmocka_unit_test(in_use_counts_gets_minus_puts),
        cmocka_unit_test(grows_by_one_slab_when_exhausted),
        cmocka_unit_test(objects_across_slabs_are_distinct_and_writable),
        cmocka_unit_test(putting_everything_back_does_not_shrink_or_regrow),
        cmocka_unit_test(put_null_is_a_no_op),
        cmocka_unit_test(destroy_leaves_an_empty_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
