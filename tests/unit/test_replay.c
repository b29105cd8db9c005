/* replay: frames numbered from 1 are kept sent or not until acknowledged, in chunks moved off the
 * send queue (never copied); an acknowledgement frees whole chunks behind it and refuses a count
 * past what was sent; a rewind puts every kept frame back in front, a pushed-front frame stays
 * outside the numbering; the byte count matches what is kept. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "frame.h"
#include "pool.h"
#include "replay.h"
#include "sendq.h"

#define CHUNK 64u /* small: frames of 12 bytes, five to a chunk, so chunks fill and move */
#define LIMIT (1u << 20)

typedef struct fx {
    pool_t chunks;
    sendq_t q;
    replay_t r;
} fx_t;

static int setup(void **state) {
    static fx_t f;
    memset(&f, 0, sizeof f);
    sendq_pool_init(&f.chunks, CHUNK);
    replay_init(&f.r);
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    replay_clear(&f->r, &f->chunks);
    sendq_clear(&f->q, &f->chunks);
    pool_destroy(&f->chunks);
    return 0;
}

/* A numbered frame whose payload is its number. */
static void queue(fx_t *f, uint32_t seq) {
    int err;
    uint8_t *p = frame_reserve(&f->q, &f->chunks, LIMIT, 0x0100, 8, &err);
    assert_non_null(p);
    memcpy(p, &seq, 4);
    memset(p + 4, 0, 4);
    replay_note_frame(&f->r, &f->q, p - FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + 8);
}

/* Sends everything queued, in pieces of `piece` bytes (a short write cuts frames). */
static void send_all(fx_t *f, uint32_t piece) {
    uint32_t len;
    while (sendq_peek(&f->q, &len)) replay_consume(&f->r, &f->q, &f->chunks, len < piece ? len : piece);
}

/* Reads the unsent frames in order: their numbers into seqs, how many returned. */
static int drain_numbers(fx_t *f, uint32_t *seqs, int cap) {
    int n = 0;
    uint32_t len;
    const uint8_t *p;
    uint8_t buf[4096];
    uint32_t have = 0;
    while ((p = sendq_peek(&f->q, &len))) {
        memcpy(buf + have, p, len);
        have += len;
        sendq_consume(&f->q, &f->chunks, len);
    }
    for (uint32_t off = 0; off < have && n < cap; n++) {
        uint16_t flen, op;
        frame_header_get(buf + off, &flen, &op);
        memcpy(&seqs[n], buf + off + FRAME_HEADER_BYTES, 4);
        if (op != 0x0100) seqs[n] = 1000000u + op; /* a frame outside the numbering */
        off += flen;
    }
    return n;
}

static void frames_are_kept_until_acknowledged_and_replayed_in_order(void **state) {
    fx_t *f = *state;
    for (uint32_t i = 1; i <= 23; i++) queue(f, i);
    send_all(f, 7); /* short writes: the head chunk is cut mid-frame on the way */
    assert_int_equal(f->r.queued, 23);
    assert_int_equal(f->r.unacked_bytes, 23 * 12);
    assert_int_equal(replay_ack(&f->r, &f->q, &f->chunks, 11), 0);
    assert_int_equal(f->r.unacked_bytes, 12 * 12);
    for (uint32_t i = 24; i <= 26; i++) queue(f, i); /* queued, never sent */
    replay_rewind(&f->r, &f->q, &f->chunks);
    uint32_t seqs[64];
    int n = drain_numbers(f, seqs, 64);
    assert_int_equal(n, 15);
    for (int i = 0; i < n; i++) assert_int_equal(seqs[i], 12 + i);
}

static void acks_past_the_sends_seen_count_and_past_the_queue_are_refused(void **state) {
    fx_t *f = *state;
    for (uint32_t i = 1; i <= 12; i++) queue(f, i);
    replay_consume(&f->r, &f->q, &f->chunks, 3 * 12 + 5); /* 3 frames and part of the 4th sent */
    assert_int_equal(replay_ack(&f->r, &f->q, &f->chunks, 13), -ERANGE);
    assert_int_equal(f->r.acked, 0);
    /* The client may hold frames whose send this side has not seen complete (IOCP). */
    assert_int_equal(replay_ack(&f->r, &f->q, &f->chunks, 8), 0);
    assert_int_equal(replay_ack(&f->r, &f->q, &f->chunks, 2), 0); /* older: nothing new */
    assert_int_equal(f->r.acked, 8);
    assert_int_equal(f->r.unacked_bytes, 4 * 12);
    /* A new connection: the unsent but acknowledged frames 4-8 are not sent again. */
    replay_rewind(&f->r, &f->q, &f->chunks);
    uint32_t seqs[16];
    int n = drain_numbers(f, seqs, 16);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) assert_int_equal(seqs[i], 9 + i);
}

static void everything_acknowledged_before_it_was_sent_leaves_nothing_to_send(void **state) {
    fx_t *f = *state;
    for (uint32_t i = 1; i <= 12; i++) queue(f, i);
    assert_int_equal(replay_ack(&f->r, &f->q, &f->chunks, 12), 0);
    replay_rewind(&f->r, &f->q, &f->chunks);
    assert_int_equal(f->q.bytes, 0);
    assert_null(f->q.head);
}

static void everything_acknowledged_keeps_no_chunk(void **state) {
    fx_t *f = *state;
    for (uint32_t i = 1; i <= 40; i++) queue(f, i);
    send_all(f, 1000);
    assert_non_null(f->r.kept_head);
    assert_int_equal(replay_ack(&f->r, &f->q, &f->chunks, 40), 0);
    assert_null(f->r.kept_head);
    assert_null(f->r.first);
    assert_int_equal(f->r.unacked_bytes, 0);
    queue(f, 41); /* numbering goes on */
    send_all(f, 1000);
    replay_rewind(&f->r, &f->q, &f->chunks);
    uint32_t seqs[4];
    assert_int_equal(drain_numbers(f, seqs, 4), 1);
    assert_int_equal(seqs[0], 41);
}

static void a_frame_pushed_in_front_is_not_numbered(void **state) {
    fx_t *f = *state;
    for (uint32_t i = 1; i <= 8; i++) queue(f, i);
    send_all(f, 1000);
    replay_rewind(&f->r, &f->q, &f->chunks);
    uint8_t *p = replay_push_front(&f->r, &f->q, &f->chunks, 0x0015, 8);
    assert_non_null(p);
    memset(p, 0, 8);
    send_all(f, 5); /* the resent frames go out again (and are kept again) */
    assert_int_equal(replay_ack(&f->r, &f->q, &f->chunks, 8), 0);
    assert_null(f->r.kept_head); /* the front frame was never kept */
    queue(f, 9);
    replay_rewind(&f->r, &f->q, &f->chunks);
    uint32_t seqs[4];
    assert_int_equal(drain_numbers(f, seqs, 4), 1);
    assert_int_equal(seqs[0], 9);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(frames_are_kept_until_acknowledged_and_replayed_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(acks_past_the_sends_seen_count_and_past_the_queue_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(everything_acknowledged_before_it_was_sent_leaves_nothing_to_send, setup, teardown),
        cmocka_unit_test_setup_teardown(everything_acknowledged_keeps_no_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(a_frame_pushed_in_front_is_not_numbered, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
