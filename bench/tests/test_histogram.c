/* histogram: bucketing tiles the u64 range, and percentiles land within the promised 1/128. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "histogram.h"

static hist_t h; /* 60 KB: off the stack */

static void buckets_tile_the_range_without_gaps(void **state)
{
    (void)state;
    for (size_t i = 0; i + 1 < HIST_BUCKETS; i++)
        assert_true(hist_bucket_high(i) + 1 == hist_bucket_low(i + 1));
    assert_int_equal(hist_bucket_low(0), 0);
    assert_true(hist_bucket_high(HIST_BUCKETS - 1) == UINT64_MAX);
    assert_int_equal(hist_bucket_of(UINT64_MAX), HIST_BUCKETS - 1);
}

static void every_value_lands_in_the_bucket_that_covers_it(void **state)
{
    (void)state;
    uint64_t v = 1;
    for (int i = 0; i < 4000; i++) {
        size_t b = hist_bucket_of(v);
        assert_true(hist_bucket_low(b) <= v && v <= hist_bucket_high(b));
        v = v * 1.01 + 1;
    }
}

static void small_values_are_exact(void **state)
{
    (void)state;
    hist_init(&h);
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(&h, v);
    assert_int_equal(hist_percentile(&h, 50.0), 50);
    assert_int_equal(hist_percentile(&h, 99.0), 99);
    assert_int_equal(hist_percentile(&h, 100.0), 100);
    assert_int_equal(hist_percentile(&h, 0.0), 1);
}

static void percentiles_are_within_one_128th(void **state)
{
    (void)state;
    hist_init(&h);
    /* 1..100000 µs in ns: the p-th percentile is p * 1000 µs. */
    for (uint64_t us = 1; us <= 100000; us++)
        hist_record(&h, us * 1000);
    const double ps[] = { 50.0, 90.0, 99.0, 99.9 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double want = ps[i] * 1000.0 * 1000.0;
        double got = (double)hist_percentile(&h, ps[i]);
        assert_true(got >= want);
        assert_true(got <= want * (1.0 + 1.0 / 128.0));
    }
    assert_int_equal(hist_percentile(&h, 100.0), 100000000);
    assert_int_equal(h.min, 1000);
}

static void rank_rounds_up_so_one_outlier_in_a_hundred_is_p99(void **state)
{
    (void)state;
    hist_init(&h);
    hist_record_n(&h, 10, 99);
    hist_record(&h, 5000);
    assert_int_equal(hist_percentile(&h, 99.0), 10);
    assert_true(hist_percentile(&h, 99.5) >= 5000);
}

static void merge_equals_recording_into_one(void **state)
{
    (void)state;
    static hist_t a, b;
    hist_init(&a);
    hist_init(&b);
    hist_init(&h);
    for (uint64_t v = 1; v < 50000; v += 7) {
        hist_record(v % 2 ? &a : &b, v * 13);
        hist_record(&h, v * 13);
    }
    hist_merge(&a, &b);
    assert_int_equal(a.total, h.total);
    assert_int_equal(a.min, h.min);
    assert_int_equal(a.max, h.max);
    assert_int_equal(hist_percentile(&a, 99.9), hist_percentile(&h, 99.9));
    assert_int_equal(hist_percentile(&a, 50.0), hist_percentile(&h, 50.0));
}

static void empty_histogram_reports_zero(void **state)
{
    (void)state;
    hist_init(&h);
    assert_int_equal(hist_percentile(&h, 50.0), 0);
    assert_true(hist_mean(&h) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_tile_the_range_without_gaps),
        cmocka_unit_test(every_value_lands_in_the_bucket_that_covers_it),
        cmocka_unit_test(small_values_are_exact),
        cmocka_unit_test(percentiles_are_within_one_128th),
        cmocka_unit_test(rank_rounds_up_so_one_outlier_in_a_hundred_is_p99),
        cmocka_unit_test(merge_equals_recording_into_one),
        cmocka_unit_test(empty_histogram_reports_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
