/* token_bucket: burst, proportional refill, the burst cap, unlimited rates, and integer safety
 * across long gaps and extreme rates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "token_bucket.h"

static uint32_t take_all_ones(token_bucket_t *b, const token_bucket_rate_t *r, uint64_t now)
{
    uint32_t n = 0;
    while (token_bucket_take(b, r, now, 1))
        n++;
    return n;
}

static void full_burst_is_granted_then_refused(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 10, .burst = 5 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 1000);
    for (int i = 0; i < 5; i++)
        assert_true(token_bucket_take(&b, &r, 1000, 1));
    assert_false(token_bucket_take(&b, &r, 1000, 1));
}

static void refused_take_takes_nothing(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 10, .burst = 5 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    assert_true(token_bucket_take(&b, &r, 0, 3));
    assert_false(token_bucket_take(&b, &r, 0, 3));
    assert_true(token_bucket_take(&b, &r, 0, 2));
}

static void refill_is_proportional_to_elapsed_time(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 100, .burst = 1000 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    take_all_ones(&b, &r, 0);
    assert_int_equal(take_all_ones(&b, &r, 250), 25);
    assert_int_equal(take_all_ones(&b, &r, 1250), 100);
}

static void fractions_of_a_token_accumulate_across_calls(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 3, .burst = 10 }; /* one token every 333.3 ms */
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    take_all_ones(&b, &r, 0);
    uint32_t got = 0;
    for (uint64_t now = 1; now <= 1000; now++)
        got += take_all_ones(&b, &r, now);
    assert_int_equal(got, 3);
}

static void tokens_never_exceed_burst(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 1000, .burst = 8 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    assert_int_equal(take_all_ones(&b, &r, 60000), 8);
    assert_true(b.tokens_milli <= 8u * 1000u);
}

static void lowered_burst_caps_tokens_already_held(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 10, .burst = 100 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    r.burst = 4;
    assert_int_equal(take_all_ones(&b, &r, 0), 4);
}

static void unlimited_rate_always_grants(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 0, .burst = 0 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    for (uint32_t i = 0; i < 1000; i++)
        assert_true(token_bucket_take(&b, &r, 0, UINT32_MAX));
}

static void days_long_gap_refills_to_burst_without_overflow(void **state)
{
    (void)state;
    /* 2^33 ms (99 days) at 2^31 tokens/s is 2^64 thousandths: a naive product wraps to 0. */
    token_bucket_rate_t r = { .per_sec = 1u << 31, .burst = 50 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    take_all_ones(&b, &r, 0);
    uint64_t later = 1ull << 33;
    assert_int_equal(take_all_ones(&b, &r, later), 50);
    assert_int_equal(take_all_ones(&b, &r, UINT64_MAX), 50);
}

static void huge_rate_and_burst_do_not_overflow(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = UINT32_MAX, .burst = UINT32_MAX };
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    assert_true(token_bucket_take(&b, &r, 0, UINT32_MAX));
    assert_false(token_bucket_take(&b, &r, 0, 1));
    assert_true(token_bucket_take(&b, &r, 1, UINT32_MAX / 1000)); /* one ms of refill */
    assert_true(token_bucket_take(&b, &r, UINT64_MAX, UINT32_MAX));
}

static void clock_going_backwards_refills_nothing(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 1000, .burst = 10 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 5000);
    take_all_ones(&b, &r, 5000);
    assert_false(token_bucket_take(&b, &r, 0, 1));
    assert_false(token_bucket_take(&b, &r, 5000, 1));
    assert_true(token_bucket_take(&b, &r, 5001, 1));
}

static void request_larger_than_burst_is_always_refused(void **state)
{
    (void)state;
    token_bucket_rate_t r = { .per_sec = 1000, .burst = 16 };
    token_bucket_t b;
    token_bucket_init(&b, &r, 0);
    assert_false(token_bucket_take(&b, &r, 0, 17));
    assert_false(token_bucket_take(&b, &r, 1000000, 17));
    assert_true(token_bucket_take(&b, &r, 1000000, 16));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_burst_is_granted_then_refused),
        cmocka_unit_test(refused_take_takes_nothing),
        cmocka_unit_test(refill_is_proportional_to_elapsed_time),
        cmocka_unit_test(fractions_of_a_token_accumulate_across_calls),
        cmocka_unit_test(tokens_never_exceed_burst),
        cmocka_unit_test(lowered_burst_caps_tokens_already_held),
        cmocka_unit_test(unlimited_rate_always_grants),
        cmocka_unit_test(days_long_gap_refills_to_burst_without_overflow),
        cmocka_unit_test(huge_rate_and_burst_do_not_overflow),
        cmocka_unit_test(clock_going_backwards_refills_nothing),
        cmocka_unit_test(request_larger_than_burst_is_always_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
