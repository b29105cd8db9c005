/* u64_map: put/get/replace, key 0 refused, full refused, remove only the holder it names, and
 * backward-shift deletion that keeps every other key reachable (checked against a plain array
 * over a long random run with keys that collide on purpose). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "u64_map.h"

static void put_get_replace_and_remove_if(void **state) {
    (void)state;
    u64_map_t m;
    u64_map_init(&m, 8);
    uint32_t v = 0, old = 0;
    assert_int_equal(u64_map_put(&m, 0, 1, NULL), -EINVAL);
    assert_int_equal(u64_map_put(&m, 42, 7, &old), 0);
    assert_true(u64_map_get(&m, 42, &v));
    assert_int_equal(v, 7);
    assert_int_equal(u64_map_put(&m, 42, 9, &old), 1);
    assert_int_equal(old, 7);
    assert_false(u64_map_remove_if(&m, 42, 7)); /* a newer holder stays */
    assert_true(u64_map_remove_if(&m, 42, 9));
    assert_false(u64_map_get(&m, 42, &v));
    assert_int_equal(m.count, 0);
    u64_map_destroy(&m);
}

static void a_full_map_refuses(void **state) {
    (void)state;
    u64_map_t m;
    u64_map_init(&m, 4);
    uint32_t added = 0;
    for (uint64_t k = 1; k < 1000 && u64_map_put(&m, k, (uint32_t)k, NULL) == 0; k++) added++;
    assert_int_equal(added, m.limit);
    assert_int_equal(u64_map_put(&m, 5000, 1, NULL), -ENOSPC);
    assert_int_equal(u64_map_put(&m, 1, 2, NULL), 1); /* replacing needs no room */
    u64_map_destroy(&m);
}

static void deletions_keep_every_other_key_reachable(void **state) {
    (void)state;
    enum { KEYS = 512, STEPS = 20000 };
    u64_map_t m;
    u64_map_init(&m, KEYS);
    uint32_t model[KEYS + 1] = { 0 }; /* 0 = absent; keys are multiples of 2^32 (same low bits) */
    srand(7);
    for (int step = 0; step < STEPS; step++) {
        uint32_t k = 1 + (uint32_t)rand() % KEYS;
        uint64_t key = (uint64_t)k << 32 | (k % 3);
        if (rand() % 2) {
            uint32_t value = 1 + (uint32_t)rand();
            assert_true(u64_map_put(&m, key, value, NULL) >= 0);
            model[k] = value;
        } else {
            assert_int_equal(u64_map_remove_if(&m, key, model[k]), model[k] != 0);
            model[k] = 0;
        }
        if (step % 1000 == 0) {
            for (uint32_t j = 1; j <= KEYS; j++) {
                uint32_t v = 0;
                bool there = u64_map_get(&m, (uint64_t)j << 32 | (j % 3), &v);
                assert_int_equal(there, model[j] != 0);
                if (there) assert_int_equal(v, model[j]);
            }
        }
    }
    u64_map_destroy(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_replace_and_remove_if),
        cmocka_unit_test(a_full_map_refuses),
        cmocka_unit_test(deletions_keep_every_other_key_reachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
