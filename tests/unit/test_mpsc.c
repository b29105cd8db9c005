/* mpsc: FIFO order, full and empty edges, wrap-around, and four producer threads against one
 * consumer (exactly once, per-producer order). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "mpsc.h"

static void init_rejects_bad_geometry(void **state)
{
    (void)state;
    mpsc_t *q = (mpsc_t *)&q;
    assert_int_equal(mpsc_init(&q, 0, 8), -EINVAL);
    assert_null(q);
    assert_int_equal(mpsc_init(&q, 1, 8), -EINVAL);
    assert_int_equal(mpsc_init(&q, 12, 8), -EINVAL);
    assert_int_equal(mpsc_init(&q, 16, 0), -EINVAL);
    assert_int_equal(mpsc_init(&q, 16, SIZE_MAX), -EINVAL);
}

static void capacity_is_what_init_was_given(void **state)
{
    (void)state;
    mpsc_t *q;
    assert_int_equal(mpsc_init(&q, 64, 4), 0);
    assert_int_equal(mpsc_capacity(q), 64);
    mpsc_destroy(q);
}

static void pop_on_empty_queue_returns_false(void **state)
{
    (void)state;
    mpsc_t *q;
    mpsc_init(&q, 8, sizeof(uint32_t));
    uint32_t v = 7;
    assert_false(mpsc_pop(q, &v));
    assert_int_equal(v, 7);
    mpsc_destroy(q);
}

static void single_producer_elements_come_out_in_push_order(void **state)
{
    (void)state;
    mpsc_t *q;
    mpsc_init(&q, 16, sizeof(uint32_t));
    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(mpsc_push(q, &i), 0);
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t v;
        assert_true(mpsc_pop(q, &v));
        assert_int_equal(v, i);
    }
    mpsc_destroy(q);
}

static void odd_sized_elements_are_copied_whole(void **state)
{
    (void)state;
    mpsc_t *q;
    char in[37], out[37];
    mpsc_init(&q, 4, sizeof(in));
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)('a' + i % 26);
    mpsc_push(q, in);
    memset(out, 0, sizeof(out));
    assert_true(mpsc_pop(q, out));
    assert_memory_equal(in, out, sizeof(in));
    mpsc_destroy(q);
}

static void full_queue_refuses_push_until_a_pop_makes_room(void **state)
{
    (void)state;
    mpsc_t *q;
    mpsc_init(&q, 4, sizeof(uint32_t));
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(mpsc_push(q, &i), 0);
    uint32_t extra = 99, v;
    assert_int_equal(mpsc_push(q, &extra), -EAGAIN);
    assert_true(mpsc_pop(q, &v));
    assert_int_equal(v, 0);
    assert_int_equal(mpsc_push(q, &extra), 0);
    for (uint32_t want = 1; want < 4; want++) {
        assert_true(mpsc_pop(q, &v));
        assert_int_equal(v, want);
    }
    assert_true(mpsc_pop(q, &v));
    assert_int_equal(v, 99);
    assert_false(mpsc_pop(q, &v));
    mpsc_destroy(q);
}

static void wraps_around_many_times_without_loss_or_reorder(void **state)
{
    (void)state;
    mpsc_t *q;
    mpsc_init(&q, 8, sizeof(uint64_t));
    uint64_t next_in = 0, next_out = 0;
    for (int round = 0; round < 10000; round++) {
        int burst = 1 + round % 8; /* every fill level, so head and tail meet at every cell */
        for (int i = 0; i < burst; i++) {
            assert_int_equal(mpsc_push(q, &next_in), 0);
            next_in++;
        }
        for (int i = 0; i < burst; i++) {
            uint64_t v;
            assert_true(mpsc_pop(q, &v));
            assert_int_equal(v, next_out);
            next_out++;
        }
    }
    assert_false(mpsc_pop(q, &next_out));
    mpsc_destroy(q);
}

/* ---- four producers, one consumer ---- */

#define PRODUCERS 4
#define PER_PRODUCER 200000u

typedef struct tagged {
    uint32_t producer;
    uint32_t seq;
} tagged_t;

typedef struct producer_arg {
    mpsc_t *q;
    uint32_t id;
    atomic_uint *finished;
} producer_arg_t;

static void *produce(void *p)
{
    producer_arg_t *a = p;
    for (uint32_t i = 0; i < PER_PRODUCER; i++) {
        tagged_t e = { a->id, i };
        while (mpsc_push(a->q, &e) == -EAGAIN)
            sched_yield();
    }
    atomic_fetch_add_explicit(a->finished, 1, memory_order_release);
    return NULL;
}

static void concurrent_producers_deliver_each_element_once_in_producer_order(void **state)
{
    (void)state;
    mpsc_t *q;
    mpsc_init(&q, 1024, sizeof(tagged_t)); /* small: producers hit "full" often */
    pthread_t th[PRODUCERS];
    producer_arg_t args[PRODUCERS];
    atomic_uint finished = 0;
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        args[i] = (producer_arg_t){ q, i, &finished };
        assert_int_equal(pthread_create(&th[i], NULL, produce, &args[i]), 0);
    }
    /* Drain until every producer is done and the queue is empty, so a lost or duplicated
     * element shows up as a wrong count instead of a hang. */
    uint32_t next[PRODUCERS] = { 0 };
    uint64_t received = 0, bad = 0;
    for (;;) {
        /* Read before the pop: once all have finished, every push happened before it. */
        bool all_done = atomic_load_explicit(&finished, memory_order_acquire) == PRODUCERS;
        tagged_t e;
        if (!mpsc_pop(q, &e)) {
            if (all_done)
                break;
            sched_yield();
            continue;
        }
        received++;
        /* Count rather than assert here: a failed assert would longjmp out with threads live. */
        if (e.producer >= PRODUCERS || e.seq != next[e.producer])
            bad++;
        else
            next[e.producer]++;
    }
    for (uint32_t i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(received, (uint64_t)PRODUCERS * PER_PRODUCER);
    assert_int_equal(bad, 0);
    for (uint32_t i = 0; i < PRODUCERS; i++)
        assert_int_equal(next[i], PER_PRODUCER);
    mpsc_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_bad_geometry),
        cmocka_unit_test(capacity_is_what_init_was_given),
        cmocka_unit_test(pop_on_empty_queue_returns_false),
        cmocka_unit_test(single_producer_elements_come_out_in_push_order),
        cmocka_unit_test(odd_sized_elements_are_copied_whole),
        cmocka_unit_test(full_queue_refuses_push_until_a_pop_makes_room),
        cmocka_unit_test(wraps_around_many_times_without_loss_or_reorder),
        cmocka_unit_test(concurrent_producers_deliver_each_element_once_in_producer_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
