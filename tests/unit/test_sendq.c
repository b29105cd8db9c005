/* sendq: bounded, coalescing, chunked; peeked (in-flight) bytes never move; idle holds nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "frame.h"
#include "sendq.h"

enum { CHUNK = 64, LIMIT = 1000 };

typedef struct fixture {
    pool_t chunks;
    sendq_t q;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof(f));
    if (sendq_pool_init(&f.chunks, CHUNK) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    sendq_clear(&f->q, &f->chunks);
    pool_destroy(&f->chunks);
    return 0;
}

/* Appends n bytes of value v. */
static void put(fixture_t *f, uint32_t n, uint8_t v)
{
    int err = 1;
    uint8_t *p = sendq_reserve(&f->q, &f->chunks, LIMIT, n, &err);
    assert_non_null(p);
    assert_int_equal(err, 0);
    memset(p, v, n);
}

static void pool_init_rejects_zero_chunk(void **state)
{
    (void)state;
    pool_t p;
    assert_int_equal(sendq_pool_init(&p, 0), -EINVAL);
}

static void chunk_capacity_holds_at_least_chunk_bytes(void **state)
{
    fixture_t *f = *state;
    assert_true(sendq_chunk_capacity(&f->chunks) >= CHUNK);
    assert_true(sendq_chunk_capacity(&f->chunks) < CHUNK + sizeof(void *));
}

static void empty_queue_peeks_null_and_zero(void **state)
{
    fixture_t *f = *state;
    uint32_t len = 99;
    assert_null(sendq_peek(&f->q, &len));
    assert_int_equal(len, 0);
}

static void reserve_past_limit_is_enobufs_and_changes_nothing(void **state)
{
    fixture_t *f = *state;
    int err = 0;
    put(f, 40, 1);
    put(f, 40, 2);
    size_t in_use = f->chunks.in_use;
    uint32_t len;
    const uint8_t *before = sendq_peek(&f->q, &len);
    /* One byte under the limit would fit; this passes it by one. */
    assert_null(sendq_reserve(&f->q, &f->chunks, 100, 21, &err));
    assert_int_equal(err, -ENOBUFS);
    assert_int_equal(f->q.bytes, 80);
    assert_int_equal(f->chunks.in_use, in_use);
    uint32_t len2;
    assert_ptr_equal(sendq_peek(&f->q, &len2), before);
    assert_int_equal(len2, len);
    assert_non_null(sendq_reserve(&f->q, &f->chunks, 100, 20, &err));
    assert_int_equal(f->q.bytes, 100);
}

static void reserve_larger_than_a_chunk_is_emsgsize(void **state)
{
    fixture_t *f = *state;
    int err = 0;
    uint32_t cap = sendq_chunk_capacity(&f->chunks);
    assert_null(sendq_reserve(&f->q, &f->chunks, LIMIT, cap + 1, &err));
    assert_int_equal(err, -EMSGSIZE);
    assert_int_equal(f->q.bytes, 0);
    assert_int_equal(f->chunks.in_use, 0);
    assert_non_null(sendq_reserve(&f->q, &f->chunks, LIMIT, cap, &err));
}

static void reserve_zero_is_einval(void **state)
{
    fixture_t *f = *state;
    int err = 0;
    assert_null(sendq_reserve(&f->q, &f->chunks, LIMIT, 0, &err));
    assert_int_equal(err, -EINVAL);
    assert_int_equal(f->chunks.in_use, 0);
}

static void small_frames_coalesce_into_one_peek(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(frame_append(&f->q, &f->chunks, LIMIT, 1, "ab", 2), 0);
    assert_int_equal(frame_append(&f->q, &f->chunks, LIMIT, 2, NULL, 0), 0);
    assert_int_equal(frame_append(&f->q, &f->chunks, LIMIT, 3, "xyz", 3), 0);
    const uint8_t want[] = { 6, 0, 1, 0, 'a', 'b', 4, 0, 2, 0, 7, 0, 3, 0, 'x', 'y', 'z' };
    uint32_t len;
    const uint8_t *p = sendq_peek(&f->q, &len);
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(p, want, sizeof(want));
    assert_int_equal(f->chunks.in_use, 1);
}

static void reserve_that_does_not_fit_the_tail_starts_a_new_chunk(void **state)
{
    fixture_t *f = *state;
    uint32_t cap = sendq_chunk_capacity(&f->chunks);
    put(f, cap - 10, 1);
    put(f, 11, 2);
    assert_int_equal(f->chunks.in_use, 2);
    uint32_t len;
    sendq_peek(&f->q, &len);
    assert_int_equal(len, cap - 10);
    assert_int_equal(f->q.bytes, cap + 1);
}

static void consume_across_chunk_boundary_reaches_next_chunk(void **state)
{
    fixture_t *f = *state;
    uint32_t cap = sendq_chunk_capacity(&f->chunks);
    put(f, cap - 4, 0xa1);
    put(f, 8, 0xb2);
    uint32_t len;
    sendq_peek(&f->q, &len);
    sendq_consume(&f->q, &f->chunks, len);
    assert_int_equal(f->chunks.in_use, 1);
    const uint8_t *p = sendq_peek(&f->q, &len);
    assert_int_equal(len, 8);
    assert_int_equal(p[0], 0xb2);
    assert_int_equal(p[7], 0xb2);
    assert_int_equal(f->q.bytes, 8);
}

static void partial_consume_advances_within_the_run(void **state)
{
    fixture_t *f = *state;
    int err;
    uint8_t *w = sendq_reserve(&f->q, &f->chunks, LIMIT, 10, &err);
    for (int i = 0; i < 10; i++)
        w[i] = (uint8_t)i;
    sendq_consume(&f->q, &f->chunks, 3);
    uint32_t len;
    const uint8_t *p = sendq_peek(&f->q, &len);
    assert_int_equal(len, 7);
    assert_int_equal(p[0], 3);
    assert_int_equal(f->q.bytes, 7);
}

static void drained_queue_holds_no_chunk(void **state)
{
    fixture_t *f = *state;
    put(f, 30, 1);
    put(f, 30, 2);
    put(f, 30, 3); /* second chunk */
    uint32_t len;
    for (int i = 0; i < 2; i++) {
        sendq_peek(&f->q, &len);
        sendq_consume(&f->q, &f->chunks, len);
    }
    assert_int_equal(f->chunks.in_use, 0);
    assert_int_equal(f->q.bytes, 0);
    assert_null(f->q.head);
    assert_null(f->q.tail);
}

static void appends_while_in_flight_do_not_move_peeked_bytes(void **state)
{
    fixture_t *f = *state;
    uint32_t cap = sendq_chunk_capacity(&f->chunks);
    put(f, 20, 0x11);
    uint32_t len;
    const uint8_t *inflight = sendq_peek(&f->q, &len);
    assert_int_equal(len, 20);
    uint8_t copy[20];
    memcpy(copy, inflight, sizeof(copy));
    /* The send completes partly, more frames are queued (same chunk, then a new one), and only
     * then does the rest of the in-flight run complete. */
    sendq_consume(&f->q, &f->chunks, 5);
    put(f, 10, 0x22);
    put(f, cap - 30, 0x33); /* fills the head chunk exactly */
    put(f, 16, 0x44);
    assert_memory_equal(inflight, copy, sizeof(copy));
    const uint8_t *p = sendq_peek(&f->q, &len);
    assert_ptr_equal(p, inflight + 5);
    assert_int_equal(len, cap - 5);
    sendq_consume(&f->q, &f->chunks, 15);
    p = sendq_peek(&f->q, &len);
    assert_ptr_equal(p, inflight + 20);
    assert_int_equal(p[0], 0x22);
}

static void appends_to_the_tail_never_fill_room_before_the_head(void **state)
{
    fixture_t *f = *state;
    uint32_t cap = sendq_chunk_capacity(&f->chunks);
    put(f, cap - 4, 0x11);
    sendq_consume(&f->q, &f->chunks, cap - 8); /* room before head, 4 bytes after tail */
    put(f, 8, 0x22);
    assert_int_equal(f->chunks.in_use, 2);
    uint32_t len;
    const uint8_t *p = sendq_peek(&f->q, &len);
    assert_int_equal(len, 4);
    assert_int_equal(p[0], 0x11);
}

static void clear_returns_every_chunk(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 10; i++)
        put(f, 40, (uint8_t)i);
    assert_true(f->chunks.in_use > 1);
    sendq_clear(&f->q, &f->chunks);
    assert_int_equal(f->chunks.in_use, 0);
    assert_int_equal(f->q.bytes, 0);
    uint32_t len;
    assert_null(sendq_peek(&f->q, &len));
}

static void bytes_counts_what_is_queued_and_unsent(void **state)
{
    fixture_t *f = *state;
    put(f, 50, 1);
    put(f, 50, 2);
    assert_int_equal(f->q.bytes, 100);
    sendq_consume(&f->q, &f->chunks, 30);
    assert_int_equal(f->q.bytes, 70);
}

static void frame_reserve_writes_header_and_returns_payload(void **state)
{
    fixture_t *f = *state;
    int err = 1;
    uint8_t *pl = frame_reserve(&f->q, &f->chunks, LIMIT, 0x0103, 3, &err);
    assert_non_null(pl);
    assert_int_equal(err, 0);
    memcpy(pl, "abc", 3);
    uint32_t len;
    const uint8_t *p = sendq_peek(&f->q, &len);
    const uint8_t want[] = { 7, 0, 3, 1, 'a', 'b', 'c' };
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(p, want, sizeof(want));
}

static void frame_append_past_limit_is_enobufs(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(frame_append(&f->q, &f->chunks, 10, 1, "abcdefg", 7), -ENOBUFS);
    assert_int_equal(f->q.bytes, 0);
    assert_int_equal(frame_append(&f->q, &f->chunks, 11, 1, "abcdefg", 7), 0);
}

static void frame_reserve_beyond_wire_max_is_emsgsize(void **state)
{
    fixture_t *f = *state;
    int err = 0;
    assert_null(frame_reserve(&f->q, &f->chunks, UINT32_MAX, 1, 65532, &err));
    assert_int_equal(err, -EMSGSIZE);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_init_rejects_zero_chunk),
        T(chunk_capacity_holds_at_least_chunk_bytes),
        T(empty_queue_peeks_null_and_zero),
        T(reserve_past_limit_is_enobufs_and_changes_nothing),
        T(reserve_larger_than_a_chunk_is_emsgsize),
        T(reserve_zero_is_einval),
        T(small_frames_coalesce_into_one_peek),
        T(reserve_that_does_not_fit_the_tail_starts_a_new_chunk),
        T(consume_across_chunk_boundary_reaches_next_chunk),
        T(partial_consume_advances_within_the_run),
        T(drained_queue_holds_no_chunk),
        T(appends_while_in_flight_do_not_move_peeked_bytes),
        T(appends_to_the_tail_never_fill_room_before_the_head),
        T(clear_returns_every_chunk),
        T(bytes_counts_what_is_queued_and_unsent),
        T(frame_reserve_writes_header_and_returns_payload),
        T(frame_append_past_limit_is_enobufs),
        T(frame_reserve_beyond_wire_max_is_emsgsize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
