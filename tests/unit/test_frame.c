/* frame: the reassembler gives the same frames for every split of the stream, rejects bad
 * lengths as soon as the header is complete, copies only frames cut by a read and holds no
 * buffer when idle. Every piece is fed from its own exact-size heap copy, so a read past a
 * piece's end shows under ASan/valgrind instead of silently finding the next bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

enum { SMALL_MAX = 300, TINY_MAX = 32, MAX_FRAMES = 16, STREAM_CAP = 140000 };

typedef struct exp_frame {
    uint16_t op, len;
    size_t payload_off; /* into stream.bytes */
} exp_frame_t;

typedef struct stream {
    uint8_t bytes[STREAM_CAP];
    size_t n;
    exp_frame_t frames[MAX_FRAMES];
    size_t count;
} stream_t;

static stream_t g_stream;

static void stream_reset(stream_t *s)
{
    s->n = 0;
    s->count = 0;
}

static void stream_add(stream_t *s, uint16_t op, uint16_t payload_len)
{
    assert_true(s->count < MAX_FRAMES && s->n + 4u + payload_len <= STREAM_CAP);
    frame_header_put(s->bytes + s->n, (uint16_t)(payload_len + 4), op);
    s->frames[s->count++] = (exp_frame_t){ op, payload_len, s->n + 4 };
    for (uint16_t i = 0; i < payload_len; i++)
        s->bytes[s->n + 4 + i] = (uint8_t)(op * 31u + i * 7u + 1u);
    s->n += 4u + payload_len;
}

/* Appends a bare header with any length, for bad-length streams. */
static void stream_add_header(stream_t *s, uint16_t len, uint16_t op)
{
    frame_header_put(s->bytes + s->n, len, op);
    s->n += 4;
}

typedef struct rec {
    const stream_t *s;
    size_t next;        /* frames delivered so far */
    size_t stop_after;  /* return stop_rc after this many frames; 0 = never */
    int stop_rc;
    uintptr_t lo, hi;   /* the piece being fed */
    size_t in_piece;    /* non-empty payloads that pointed into the piece */
    size_t copied;      /* non-empty payloads that did not */
} rec_t;

static int on_frame(void *ctx, const frame_t *f)
{
    rec_t *r = ctx;
    assert_true(r->next < r->s->count);
    const exp_frame_t *e = &r->s->frames[r->next];
    assert_int_equal(f->op, e->op);
    assert_int_equal(f->payload_len, e->len);
    if (e->len) {
        assert_non_null(f->payload);
        assert_memory_equal(f->payload, r->s->bytes + e->payload_off, e->len);
        uintptr_t p = (uintptr_t)f->payload;
        if (p >= r->lo && p + f->payload_len <= r->hi)
            r->in_piece++;
        else
            r->copied++;
    }
    r->next++;
    return (r->stop_after && r->next == r->stop_after) ? r->stop_rc : 0;
}

/* Feeds s->bytes[off, off + n) from a private heap copy; returns frame_reader_feed's value. */
static int feed_piece(frame_reader_t *fr, pool_t *bufs, uint32_t max, rec_t *r, size_t off,
                      size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, r->s->bytes + off, n);
    r->lo = (uintptr_t)copy;
    r->hi = (uintptr_t)copy + n;
    int rc = frame_reader_feed(fr, bufs, max, copy, n, on_frame, r);
    free(copy);
    return rc;
}

/* Feeds the stream cut at cuts[0..ncuts) and checks the exact frame sequence and idle state. */
static void feed_cut(const stream_t *s, uint32_t max, const size_t *cuts, size_t ncuts)
{
    pool_t bufs;
    assert_int_equal(pool_init(&bufs, max, 2), 0);
    frame_reader_t fr = { 0 };
    rec_t r = { .s = s };
    size_t off = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : s->n;
        assert_int_equal(feed_piece(&fr, &bufs, max, &r, off, end - off), 0);
        off = end;
    }
    assert_int_equal(r.next, s->count);
    assert_false(frame_reader_mid_frame(&fr));
    assert_null(fr.partial);
    assert_int_equal(bufs.in_use, 0);
    pool_destroy(&bufs);
}

/* Empty payload, the maximum, and sizes in between, including ones shorter than a header. */
static void build_varied_stream(stream_t *s, uint16_t max)
{
    stream_reset(s);
    stream_add(s, 0x0001, 0);
    stream_add(s, 0x0002, (uint16_t)(max - 4));
    stream_add(s, 0x0003, 1);
    stream_add(s, 0x0104, 3);
    stream_add(s, 0x0005, 0);
    stream_add(s, 0xffff, (uint16_t)((max - 4) / 2));
    stream_add(s, 0x0007, 5);
    stream_add(s, 0x0008, (uint16_t)(max - 4));
    stream_add(s, 0x0009, 0);
}

/* The reader most tests feed by hand: a pool of SMALL_MAX buffers, a fresh reader and record
 * over g_stream, which starts empty. */
typedef struct fixture {
    pool_t bufs;
    frame_reader_t fr;
    rec_t r;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof(f));
    stream_reset(&g_stream);
    if (pool_init(&f.bufs, SMALL_MAX, 2) != 0)
        return -1;
    f.r = (rec_t){ .s = &g_stream };
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    pool_destroy(&f->bufs);
    return 0;
}

/* feed_piece on the fixture's reader, pool and record. */
static int feed(fixture_t *f, size_t off, size_t n)
{
    return feed_piece(&f->fr, &f->bufs, SMALL_MAX, &f->r, off, n);
}

static void header_round_trips_little_endian(void **state)
{
    (void)state;
    uint8_t h[4];
    frame_header_put(h, 0x1234, 0xabcd);
    const uint8_t want[4] = { 0x34, 0x12, 0xcd, 0xab };
    assert_memory_equal(h, want, 4);
    uint16_t len, op;
    frame_header_get(h, &len, &op);
    assert_int_equal(len, 0x1234);
    assert_int_equal(op, 0xabcd);
}

static void whole_stream_in_one_read_delivers_every_frame(void **state)
{
    (void)state;
    build_varied_stream(&g_stream, SMALL_MAX);
    feed_cut(&g_stream, SMALL_MAX, NULL, 0);
}

static void every_two_piece_split_delivers_the_same_frames(void **state)
{
    (void)state;
    build_varied_stream(&g_stream, SMALL_MAX);
    for (size_t i = 0; i <= g_stream.n; i++)
        feed_cut(&g_stream, SMALL_MAX, &i, 1);
}

static void every_three_piece_split_delivers_the_same_frames(void **state)
{
    (void)state;
    build_varied_stream(&g_stream, TINY_MAX);
    for (size_t i = 0; i <= g_stream.n; i++)
        for (size_t j = i; j <= g_stream.n; j++) {
            size_t cuts[2] = { i, j };
            feed_cut(&g_stream, TINY_MAX, cuts, 2);
        }
}

static void one_byte_at_a_time_delivers_the_same_frames(void **state)
{
    (void)state;
    build_varied_stream(&g_stream, SMALL_MAX);
    size_t *cuts = malloc(g_stream.n * sizeof(*cuts));
    assert_non_null(cuts);
    for (size_t i = 0; i < g_stream.n; i++)
        cuts[i] = i + 1;
    feed_cut(&g_stream, SMALL_MAX, cuts, g_stream.n - 1);
    free(cuts);
}

static void wire_maximum_frame_survives_splits(void **state)
{
    (void)state;
    stream_reset(&g_stream);
    stream_add(&g_stream, 0x0001, 3);
    stream_add(&g_stream, 0x0002, FRAME_MAX_BYTES - 4);
    stream_add(&g_stream, 0x0003, 0);
    stream_add(&g_stream, 0x0004, FRAME_MAX_BYTES - 4);
    /* Every position near a frame boundary (header cuts included), and a stride through the
     * bodies; all positions would be 2^17 quadratic feeds. */
    for (size_t i = 0; i <= g_stream.n; i++) {
        bool near = i % 4099 == 0;
        for (size_t k = 0; k < g_stream.count && !near; k++) {
            size_t start = g_stream.frames[k].payload_off - 4;
            size_t end = g_stream.frames[k].payload_off + g_stream.frames[k].len;
            near = (i + 6 >= start && i <= start + 6) || (i + 6 >= end && i <= end + 6);
        }
        if (near)
            feed_cut(&g_stream, FRAME_MAX_BYTES, &i, 1);
    }
}

/* [good frame][header with bad_len][filler]: for every split, the good frame is delivered, then
 * FRAME_EBADLEN comes from the feed that completes the bad header, and nothing else. */
static void check_bad_len_at_every_split(uint16_t bad_len, uint32_t max)
{
    stream_reset(&g_stream);
    stream_add(&g_stream, 0x0001, 6);
    size_t bad_hdr_end = g_stream.n + 4;
    stream_add_header(&g_stream, bad_len, 0x0002);
    /* Looks like a valid frame, so a reader that waits for the body would deliver it. */
    stream_add(&g_stream, 0x0003, 2);
    g_stream.count = 1;
    for (size_t i = 0; i <= g_stream.n; i++) {
        pool_t bufs;
        pool_init(&bufs, max, 2);
        frame_reader_t fr = { 0 };
        rec_t r = { .s = &g_stream };
        int rc1 = feed_piece(&fr, &bufs, max, &r, 0, i);
        if (i >= bad_hdr_end) {
            assert_int_equal(rc1, FRAME_EBADLEN);
        } else {
            assert_int_equal(rc1, 0);
            assert_int_equal(feed_piece(&fr, &bufs, max, &r, i, g_stream.n - i), FRAME_EBADLEN);
        }
        assert_int_equal(r.next, 1);
        frame_reader_reset(&fr, &bufs);
        assert_int_equal(bufs.in_use, 0);
        pool_destroy(&bufs);
    }
}

static void length_below_header_is_rejected_at_every_split(void **state)
{
    (void)state;
    check_bad_len_at_every_split(3, SMALL_MAX);
    check_bad_len_at_every_split(0, SMALL_MAX);
}

static void length_above_max_is_rejected_at_every_split(void **state)
{
    (void)state;
    check_bad_len_at_every_split(SMALL_MAX + 1, SMALL_MAX);
    check_bad_len_at_every_split(0xffff, SMALL_MAX);
}

static void bad_length_is_reported_on_the_last_header_byte(void **state)
{
    fixture_t *f = *state;
    stream_add_header(&g_stream, SMALL_MAX + 1, 0x0001);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(feed(f, i, 1), 0);
    assert_int_equal(feed(f, 3, 1), FRAME_EBADLEN);
    assert_int_equal(f->bufs.in_use, 0);
}

static void callback_stop_value_is_returned_and_later_frames_are_not_delivered(void **state)
{
    fixture_t *f = *state;
    build_varied_stream(&g_stream, SMALL_MAX);
    f->r.stop_after = 3;
    f->r.stop_rc = 42;
    assert_int_equal(feed(f, 0, g_stream.n), 42);
    assert_int_equal(f->r.next, 3);
    frame_reader_reset(&f->fr, &f->bufs);
}

static void callback_stop_on_a_copied_frame_still_frees_its_buffer(void **state)
{
    fixture_t *f = *state;
    build_varied_stream(&g_stream, SMALL_MAX);
    f->r.stop_after = 2;
    f->r.stop_rc = -7;
    /* Cut in the middle of frame 2 (the max-size one). */
    assert_int_equal(feed(f, 0, 100), 0);
    assert_int_equal(f->bufs.in_use, 1);
    assert_int_equal(feed(f, 100, g_stream.n - 100), -7);
    assert_int_equal(f->r.next, 2);
    frame_reader_reset(&f->fr, &f->bufs);
    assert_int_equal(f->bufs.in_use, 0);
}

static void partial_buffer_goes_back_when_the_frame_completes(void **state)
{
    fixture_t *f = *state;
    stream_add(&g_stream, 0x0001, 50);
    assert_int_equal(feed(f, 0, 20), 0);
    assert_int_equal(f->bufs.in_use, 1);
    assert_true(frame_reader_mid_frame(&f->fr));
    assert_int_equal(feed(f, 20, g_stream.n - 20), 0);
    assert_int_equal(f->r.next, 1);
    assert_int_equal(f->bufs.in_use, 0);
    assert_false(frame_reader_mid_frame(&f->fr));
}

static void reset_returns_the_partial_buffer(void **state)
{
    fixture_t *f = *state;
    stream_add(&g_stream, 0x0001, 50);
    assert_int_equal(feed(f, 0, 30), 0);
    assert_int_equal(f->bufs.in_use, 1);
    frame_reader_reset(&f->fr, &f->bufs);
    assert_int_equal(f->bufs.in_use, 0);
    assert_null(f->fr.partial);
    assert_false(frame_reader_mid_frame(&f->fr));
}

static void header_alone_holds_no_buffer(void **state)
{
    fixture_t *f = *state;
    stream_add(&g_stream, 0x0001, 50);
    assert_int_equal(feed(f, 0, 2), 0);
    assert_true(frame_reader_mid_frame(&f->fr));
    assert_int_equal(feed(f, 2, 2), 0);
    assert_int_equal(f->bufs.in_use, 0);
    assert_true(frame_reader_mid_frame(&f->fr));
    frame_reader_reset(&f->fr, &f->bufs);
}

static void frames_whole_in_a_read_point_into_the_callers_bytes(void **state)
{
    fixture_t *f = *state;
    build_varied_stream(&g_stream, SMALL_MAX);
    assert_int_equal(feed(f, 0, g_stream.n), 0);
    assert_int_equal(f->r.next, g_stream.count);
    assert_int_equal(f->r.copied, 0);
    assert_int_equal(f->r.in_piece, 6);
    assert_int_equal(pool_capacity(&f->bufs), 0);
}

static void body_whole_after_a_split_header_is_not_copied(void **state)
{
    fixture_t *f = *state;
    stream_add(&g_stream, 0x0001, 40);
    assert_int_equal(feed(f, 0, 3), 0);
    assert_int_equal(feed(f, 3, g_stream.n - 3), 0);
    assert_int_equal(f->r.in_piece, 1);
    assert_int_equal(f->r.copied, 0);
}

static void body_cut_by_a_read_is_delivered_from_a_copy(void **state)
{
    fixture_t *f = *state;
    stream_add(&g_stream, 0x0001, 40);
    assert_int_equal(feed(f, 0, 10), 0);
    assert_int_equal(feed(f, 10, g_stream.n - 10), 0);
    assert_int_equal(f->r.copied, 1);
    assert_int_equal(f->r.in_piece, 0);
}

static void empty_feed_changes_nothing(void **state)
{
    fixture_t *f = *state;
    stream_add(&g_stream, 0x0001, 10);
    assert_int_equal(frame_reader_feed(&f->fr, &f->bufs, SMALL_MAX, NULL, 0, on_frame, &f->r), 0);
    assert_false(frame_reader_mid_frame(&f->fr));
    assert_int_equal(f->r.next, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_round_trips_little_endian),
        cmocka_unit_test(whole_stream_in_one_read_delivers_every_frame),
        cmocka_unit_test(every_two_piece_split_delivers_the_same_frames),
        cmocka_unit_test(every_three_piece_split_delivers_the_same_frames),
        cmocka_unit_test(one_byte_at_a_time_delivers_the_same_frames),
        cmocka_unit_test(wire_maximum_frame_survives_splits),
        cmocka_unit_test(length_below_header_is_rejected_at_every_split),
        cmocka_unit_test(length_above_max_is_rejected_at_every_split),
        T(bad_length_is_reported_on_the_last_header_byte),
        T(callback_stop_value_is_returned_and_later_frames_are_not_delivered),
        T(callback_stop_on_a_copied_frame_still_frees_its_buffer),
        T(partial_buffer_goes_back_when_the_frame_completes),
        T(reset_returns_the_partial_buffer),
        T(header_alone_holds_no_buffer),
        T(frames_whole_in_a_read_point_into_the_callers_bytes),
        T(body_whole_after_a_split_header_is_not_copied),
        T(body_cut_by_a_read_is_delivered_from_a_copy),
        T(empty_feed_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
