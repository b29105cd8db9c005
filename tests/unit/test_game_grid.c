/* grid (server/game/grid.h): the 3x3 neighbourhood holds everyone within one cell of a point,
 * each bucket once and the point's own cell first; clearing empties it, even across the epoch's
 * wrap; negative coordinates round down. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "game/grid.h"

#define ITEMS 64

/* Whether `item` is in any bucket around (x, y). */
static bool found_around(const grid_t *g, int32_t x, int32_t y, uint32_t item)
{
    uint32_t buckets[GRID_AROUND];
    uint32_t n = grid_around(g, x, y, buckets);
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t i = grid_first(g, buckets[b]); i != GRID_NONE; i = grid_next(g, i))
            if (i == item)
                return true;
    return false;
}

static void items_in_the_eight_neighbouring_cells_are_found(void **state)
{
    (void)state;
    grid_t g;
    grid_init(&g, ITEMS, 100);
    uint32_t item = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            grid_insert(&g, item++, 550 + dx * 100, 550 + dy * 100);
    for (uint32_t i = 0; i < item; i++)
        assert_true(found_around(&g, 550, 550, i));
    grid_destroy(&g);
}

static void the_own_cell_comes_first(void **state)
{
    (void)state;
    grid_t g;
    grid_init(&g, ITEMS, 100);
    grid_insert(&g, 7, 550, 550);
    uint32_t buckets[GRID_AROUND];
    grid_around(&g, 510, 590, buckets);
    assert_int_equal(grid_first(&g, buckets[0]), 7);
    grid_destroy(&g);
}

static void cells_sharing_a_bucket_give_it_once(void **state)
{
    (void)state;
    grid_t g;
    grid_init(&g, 1, 100); /* one bucket: all nine cells land in it */
    uint32_t buckets[GRID_AROUND];
    assert_int_equal(grid_around(&g, 0, 0, buckets), 1);
    grid_destroy(&g);
}

static void clear_empties_every_bucket(void **state)
{
    (void)state;
    grid_t g;
    grid_init(&g, ITEMS, 100);
    grid_insert(&g, 3, 10, 10);
    grid_clear(&g);
    assert_false(found_around(&g, 10, 10, 3));
    grid_destroy(&g);
}

static void clear_still_empties_when_the_epoch_wraps(void **state)
{
    (void)state;
    grid_t g;
    grid_init(&g, ITEMS, 100);
    g.epoch = UINT32_MAX;
    grid_insert(&g, 3, 10, 10);
    grid_clear(&g);
    g.epoch = UINT32_MAX; /* a stale stamp equal to the current epoch is what the wrap guards against */
    assert_false(found_around(&g, 10, 10, 3));
    grid_destroy(&g);
}

static void negative_coordinates_round_down_to_their_own_cell(void **state)
{
    (void)state;
    grid_t g;
    grid_init(&g, 1u << 16, 100); /* buckets enough that these few cells do not share one */
    grid_insert(&g, 1, -1, 50);   /* cell -1, not cell 0 */
    assert_true(found_around(&g, -150, 50, 1));
    assert_false(found_around(&g, 150, 50, 1));
    grid_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(items_in_the_eight_neighbouring_cells_are_found),
        cmocka_unit_test(the_own_cell_comes_first),
        cmocka_unit_test(cells_sharing_a_bucket_give_it_once),
        cmocka_unit_test(clear_empties_every_bucket),
        cmocka_unit_test(clear_still_empties_when_the_epoch_wraps),
        cmocka_unit_test(negative_coordinates_round_down_to_their_own_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
