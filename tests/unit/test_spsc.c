/* spsc: records in order and whole, visible only once published, full and free-space edges, the
 * skip to the start, many laps, and one producer thread against one consumer (exactly once, in
 * order, intact). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "spsc.h"

/* Producer side in one call: reserve n bytes filled with `fill`, commit. */
static int put(spsc_t *r, size_t n, uint8_t fill)
{
    uint8_t *p = spsc_reserve(r, n);
    if (!p)
        return -1;
    memset(p, fill, n);
    spsc_commit(r);
    return 0;
}

/* Consumer side: the next record must be n bytes of `fill`. */
static void take(spsc_t *r, size_t n, uint8_t fill)
{
    size_t got = 0;
    const uint8_t *p = spsc_peek(r, &got);
    assert_non_null(p);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i], fill);
    spsc_release(r);
}

/* Where the producer writes next, as an offset in the buffer. */
static size_t write_offset(const spsc_t *r) { return r->staged & (r->cap - 1); }

static void init_rejects_bad_capacity(void **state)
{
    (void)state;
    spsc_t r;
    assert_int_equal(spsc_init(&r, 0), -EINVAL);
    assert_int_equal(spsc_init(&r, 32), -EINVAL);
    assert_int_equal(spsc_init(&r, 1000), -EINVAL);
    assert_int_equal(spsc_init(&r, 1024), 0);
    spsc_destroy(&r);
}

static void records_are_seen_only_after_publish_and_in_order(void **state)
{
    (void)state;
    spsc_t r;
    spsc_init(&r, 1024);
    size_t n;
    assert_int_equal(put(&r, 5, 0xA1), 0);
    assert_int_equal(put(&r, 0, 0), 0);
    assert_int_equal(put(&r, 17, 0xB2), 0);
    assert_null(spsc_peek(&r, &n)); /* committed, not published: a tick's batch is not half seen */
    spsc_publish(&r);
    take(&r, 5, 0xA1);
    take(&r, 0, 0);
    take(&r, 17, 0xB2);
    assert_null(spsc_peek(&r, &n));
    spsc_destroy(&r);
}

static void full_ring_refuses_and_free_space_is_reported(void **state)
{
    (void)state;
    spsc_t r;
    spsc_init(&r, 256);
    assert_int_equal(spsc_free(&r), 256);
    assert_null(spsc_reserve(&r, 129)); /* more than half the ring is never accepted */
    int stored = 0;
    while (put(&r, 24, (uint8_t)stored) == 0) /* 8 header + 24 body = 32 bytes each */
        stored++;
    assert_int_equal(stored, 8);
    assert_int_equal(spsc_free(&r), 0);
    spsc_publish(&r);
    take(&r, 24, 0);
    assert_int_equal(spsc_free(&r), 32);
    assert_int_equal(put(&r, 24, 0x77), 0);
    spsc_publish(&r);
    for (int i = 1; i < 8; i++)
        take(&r, 24, (uint8_t)i);
    take(&r, 24, 0x77);
    spsc_destroy(&r);
}

static void record_that_does_not_fit_before_the_end_goes_to_the_start(void **state)
{
    (void)state;
    spsc_t r;
    spsc_init(&r, 256);
    /* 232 bytes written and 80 read (never drained), then a record of 64 bytes with its header:
     * 24 bytes are left before the end, so it skips to the start, behind the consumer. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(put(&r, 32, (uint8_t)i), 0);
    assert_int_equal(put(&r, 24, 5), 0);
    spsc_publish(&r);
    take(&r, 32, 0);
    take(&r, 32, 1);
    assert_int_equal(write_offset(&r), 232);
    assert_int_equal(put(&r, 56, 0xEE), 0);
    assert_int_equal(write_offset(&r), 64);
    spsc_publish(&r);
    take(&r, 32, 2);
    take(&r, 32, 3);
    take(&r, 32, 4);
    take(&r, 24, 5);
    take(&r, 56, 0xEE); /* across the skip marker */
    size_t n;
    assert_null(spsc_peek(&r, &n));
    spsc_destroy(&r);
}

static void positions_go_round_the_ring_many_times(void **state)
{
    (void)state;
    spsc_t r;
    spsc_init(&r, 4096);
    /* One record always left behind, 32 bytes a step: about four laps, each ending in a skip. */
    assert_int_equal(put(&r, 8, 0), 0);
    spsc_publish(&r);
    for (int i = 1; i < 500; i++) {
        assert_int_equal(put(&r, 24, (uint8_t)i), 0);
        spsc_publish(&r);
        take(&r, i == 1 ? 8 : 24, (uint8_t)(i - 1));
    }
    take(&r, 24, (uint8_t)499);
    size_t n;
    assert_null(spsc_peek(&r, &n));
    spsc_destroy(&r);
}

/* ---- one producer thread, one consumer ---- */

#define RECORDS 300000u

static void *produce(void *arg)
{
    spsc_t *r = arg;
    for (uint32_t i = 0; i < RECORDS; i++) {
        size_t n = 4 + (i * 7919u) % 300; /* sizes that land the skip marker everywhere */
        uint8_t *p;
        while (!(p = spsc_reserve(r, n))) {
            spsc_publish(r); /* full of our own unpublished batch: let the consumer have it */
            sched_yield();
        }
        memcpy(p, &i, 4);
        memset(p + 4, (uint8_t)i, n - 4);
        spsc_commit(r);
        if (i % 3 == 0 || i == RECORDS - 1)
            spsc_publish(r); /* batches of varying size, as ticks publish */
    }
    return NULL;
}

static void one_producer_one_consumer_every_record_once_in_order_intact(void **state)
{
    (void)state;
    spsc_t r;
    spsc_init(&r, 4096);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce, &r), 0);
    for (uint32_t want = 0; want < RECORDS;) {
        size_t n;
        const uint8_t *p = spsc_peek(&r, &n);
        if (!p) {
            sched_yield();
            continue;
        }
        uint32_t seq;
        memcpy(&seq, p, 4);
        if (seq != want || n != 4 + (want * 7919u) % 300)
            fail_msg("record %u: got seq %u size %zu", want, seq, n);
        for (size_t i = 4; i < n; i++)
            if (p[i] != (uint8_t)want)
                fail_msg("record %u: byte %zu torn", want, i);
        spsc_release(&r);
        want++;
    }
    pthread_join(t, NULL);
    size_t n;
    assert_null(spsc_peek(&r, &n));
    spsc_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_bad_capacity),
        cmocka_unit_test(records_are_seen_only_after_publish_and_in_order),
        cmocka_unit_test(full_ring_refuses_and_free_space_is_reported),
        cmocka_unit_test(record_that_does_not_fit_before_the_end_goes_to_the_start),
        cmocka_unit_test(positions_go_round_the_ring_many_times),
        cmocka_unit_test(one_producer_one_consumer_every_record_once_in_order_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
