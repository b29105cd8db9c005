/* libFuzzer target for frame_reader: the stream is cut into pieces and fed; the frames, the
 * error and where it is reported must match a reference decoder run over the whole buffer.
 * First input byte: bits 0-2 pick max_frame, bits 3-4 the split pattern, bits 5-7 a seed.
 *   pattern 0: one piece; 1: one byte at a time; 2: pseudo-random pieces of 0..17 bytes;
 *   3: as 2, and the callback stops after frame seed+1.
 * Every piece is fed from its own exact-size heap copy so ASan sees reads past a piece. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "frame.h"
#include "pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STOP_RC 77

static const uint32_t g_max_frames[8] = { 4, 5, 8, 16, 64, 255, 1024, FRAME_MAX_BYTES };

typedef struct ref_frame {
    size_t start; /* header offset in the stream */
    uint16_t len, op;
} ref_frame_t;

typedef struct ref {
    ref_frame_t *frames;
    size_t count;
    bool bad;           /* a bad length follows the frames */
    size_t bad_hdr_end; /* offset just past the bad header */
    size_t leftover;    /* bytes of an incomplete last frame (no error) */
} ref_t;

/* The obvious decoder: the whole stream is in memory, so nothing is ever cut. */
static void ref_decode(const uint8_t *s, size_t n, uint32_t max, ref_t *r)
{
    size_t off = 0;
    r->frames = malloc((n / FRAME_HEADER_BYTES + 1) * sizeof(*r->frames));
    if (!r->frames)
        abort();
    while (n - off >= FRAME_HEADER_BYTES) {
        uint16_t len = le_get_u16(s + off);
        if (len < FRAME_HEADER_BYTES || len > max) {
            r->bad = true;
            r->bad_hdr_end = off + FRAME_HEADER_BYTES;
            return;
        }
        if (n - off < len)
            break;
        r->frames[r->count++] = (ref_frame_t){ off, len, le_get_u16(s + off + 2) };
        off += len;
    }
    r->leftover = n - off;
}

typedef struct run {
    const uint8_t *stream;
    const ref_t *ref;
    size_t delivered;
    size_t stop_after; /* 0: never */
    const uint8_t *piece;
    size_t piece_off, piece_len;
} run_t;

static int on_frame(void *ctx, const frame_t *f)
{
    run_t *r = ctx;
    if (r->delivered >= r->ref->count)
        abort();
    const ref_frame_t *e = &r->ref->frames[r->delivered];
    size_t body = e->len - FRAME_HEADER_BYTES;
    if (f->op != e->op || f->payload_len != body)
        abort();
    if (body && (!f->payload || memcmp(f->payload, r->stream + e->start + 4, body) != 0))
        abort();
    /* Zero copy exactly when the body lies whole in the piece being fed. */
    size_t b0 = e->start + FRAME_HEADER_BYTES;
    bool whole = b0 >= r->piece_off && b0 + body <= r->piece_off + r->piece_len;
    if (body && whole && f->payload != r->piece + (b0 - r->piece_off))
        abort();
    if (body && !whole) {
        uintptr_t p = (uintptr_t)f->payload, lo = (uintptr_t)r->piece;
        if (p >= lo && p < lo + r->piece_len)
            abort();
    }
    r->delivered++;
    return r->delivered == r->stop_after ? STOP_RC : 0;
}

static size_t next_piece(uint32_t *state, size_t prev)
{
    *state = *state * 1103515245u + 12345u;
    size_t len = (*state >> 16) % 18;
    return (len == 0 && prev == 0) ? 1 : len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t max = g_max_frames[data[0] & 7];
    unsigned pattern = (data[0] >> 3) & 3;
    unsigned seed = data[0] >> 5;
    const uint8_t *s = data + 1;
    size_t n = size - 1;

    ref_t ref = { 0 };
    ref_decode(s, n, max, &ref);

    pool_t bufs;
    if (pool_init(&bufs, max, 1) != 0)
        abort();
    frame_reader_t fr = { 0 };
    run_t run = { .stream = s, .ref = &ref, .stop_after = pattern == 3 ? seed + 1 : 0 };
    uint32_t lcg = seed * 2654435761u + 1;
    size_t off = 0, piece = 1;
    int rc = 0;
    while (off < n) {
        if (pattern == 0)
            piece = n;
        else if (pattern == 1)
            piece = 1;
        else
            piece = next_piece(&lcg, piece);
        if (piece > n - off)
            piece = n - off;
        uint8_t *copy = malloc(piece ? piece : 1);
        if (!copy)
            abort();
        memcpy(copy, s + off, piece);
        run.piece = copy;
        run.piece_off = off;
        run.piece_len = piece;
        rc = frame_reader_feed(&fr, &bufs, max, copy, piece, on_frame, &run);
        free(copy);
        if (rc == FRAME_EBADLEN) {
            /* Reported by the piece that completed the bad header, not later. */
            if (!ref.bad || ref.bad_hdr_end <= off || ref.bad_hdr_end > off + piece)
                abort();
            break;
        }
        if (rc == STOP_RC) {
            if (run.delivered != run.stop_after)
                abort();
            break;
        }
        if (rc != 0)
            abort();
        off += piece;
    }

    if (rc == 0) {
        if (ref.bad || run.delivered != ref.count)
            abort();
        if ((frame_reader_mid_frame(&fr) != 0) != (ref.leftover > 0))
            abort();
        /* A buffer is held only while body bytes of a cut frame are. */
        if (bufs.in_use != (ref.leftover > FRAME_HEADER_BYTES ? 1u : 0u))
            abort();
    } else if (rc == FRAME_EBADLEN) {
        if (run.delivered != ref.count || bufs.in_use != 0)
            abort();
    } else if (run.stop_after > ref.count) {
        abort();
    }

    frame_reader_reset(&fr, &bufs);
    if (bufs.in_use != 0 || frame_reader_mid_frame(&fr))
        abort();
    pool_destroy(&bufs);
    free(ref.frames);
    return 0;
}
