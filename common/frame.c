#include "frame.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

void frame_header_put(uint8_t out[FRAME_HEADER_BYTES], uint16_t len, uint16_t op)
{
    le_put_u16(out, len);
    le_put_u16(out + 2, op);
}

void frame_header_get(const uint8_t in[FRAME_HEADER_BYTES], uint16_t *len, uint16_t *op)
{
    *len = le_get_u16(in);
    *op = le_get_u16(in + 2);
}

static int frame_len_ok(uint16_t len, uint32_t max_frame)
{
    return len >= FRAME_HEADER_BYTES && len <= max_frame;
}

static void frame_reader_clear(frame_reader_t *r, pool_t *bufs)
{
    pool_put(bufs, r->partial);
    r->partial = NULL;
    r->have = 0;
    r->need = 0;
}

/* The header is known (r->need). Delivers the frame straight from data if its whole body is
 * there, else keeps what there is in a pool buffer. The buffer is taken only once a body byte
 * has to be kept, so a read ending right after a header can still be followed by zero copy. */
static int frame_body_start(frame_reader_t *r, pool_t *bufs, const uint8_t *data, size_t n,
                            size_t *off, frame_fn fn, void *ctx)
{
    size_t body = r->need - FRAME_HEADER_BYTES;
    size_t left = n - *off;
    if (left >= body) {
        frame_t f = { le_get_u16(r->hdr + 2), (uint16_t)body, data + *off };
        *off += body;
        r->have = 0;
        r->need = 0;
        return fn(ctx, &f);
    }
    r->have = FRAME_HEADER_BYTES;
    if (left > 0) {
        r->partial = pool_get(bufs);
        memcpy(r->partial, data + *off, left);
        r->have = (uint16_t)(r->have + left);
        *off = n;
    }
    return 0;
}

/* The header is complete in r->hdr: the length is checked before any body byte is awaited. */
static int frame_after_header(frame_reader_t *r, pool_t *bufs, uint32_t max_frame,
                              const uint8_t *data, size_t n, size_t *off, frame_fn fn, void *ctx)
{
    uint16_t len = le_get_u16(r->hdr);
    if (!frame_len_ok(len, max_frame)) {
        frame_reader_clear(r, bufs);
        return FRAME_EBADLEN;
    }
    r->need = len;
    return frame_body_start(r, bufs, data, n, off, fn, ctx);
}

int frame_reader_feed(frame_reader_t *r, pool_t *bufs, uint32_t max_frame,
                      const uint8_t *data, size_t n, frame_fn fn, void *ctx)
{
    size_t off = 0;
    int rc;
    while (off < n) {
        if (r->have == 0 && n - off >= FRAME_HEADER_BYTES) {
            /* Fast path: header in the caller's bytes. */
            memcpy(r->hdr, data + off, FRAME_HEADER_BYTES);
            off += FRAME_HEADER_BYTES;
            rc = frame_after_header(r, bufs, max_frame, data, n, &off, fn, ctx);
        } else if (r->have < FRAME_HEADER_BYTES) {
            size_t take = FRAME_HEADER_BYTES - r->have;
            if (take > n - off)
                take = n - off;
            memcpy(r->hdr + r->have, data + off, take);
            r->have = (uint16_t)(r->have + take);
            off += take;
            if (r->have < FRAME_HEADER_BYTES)
                return 0;
            rc = frame_after_header(r, bufs, max_frame, data, n, &off, fn, ctx);
        } else if (r->have == FRAME_HEADER_BYTES) {
            rc = frame_body_start(r, bufs, data, n, &off, fn, ctx);
        } else {
            size_t take = (size_t)(r->need - r->have);
            if (take > n - off)
                take = n - off;
            memcpy(r->partial + (r->have - FRAME_HEADER_BYTES), data + off, take);
            r->have = (uint16_t)(r->have + take);
            off += take;
            if (r->have < r->need)
                return 0;
            uint16_t len, op;
            frame_header_get(r->hdr, &len, &op);
            frame_t f = { op, (uint16_t)(len - FRAME_HEADER_BYTES), r->partial };
            rc = fn(ctx, &f);
            /* After the callback: the payload lives in the buffer until it returns. */
            frame_reader_clear(r, bufs);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

void frame_reader_reset(frame_reader_t *r, pool_t *bufs)
{
    frame_reader_clear(r, bufs);
}

uint8_t *frame_reserve(sendq_t *q, pool_t *chunks, uint32_t limit, uint16_t op,
                       uint16_t payload_len, int *err)
{
    if (payload_len > FRAME_MAX_BYTES - FRAME_HEADER_BYTES) {
        *err = -EMSGSIZE;
        return NULL;
    }
    uint16_t len = (uint16_t)(payload_len + FRAME_HEADER_BYTES);
    uint8_t *p = sendq_reserve(q, chunks, limit, len, err);
    if (!p)
        return NULL;
    frame_header_put(p, len, op);
    return p + FRAME_HEADER_BYTES;
}

int frame_append(sendq_t *q, pool_t *chunks, uint32_t limit, uint16_t op,
                 const void *payload, uint16_t payload_len)
{
    int err;
    uint8_t *p = frame_reserve(q, chunks, limit, op, payload_len, &err);
    if (!p)
        return err;
    if (payload_len)
        memcpy(p, payload, payload_len);
    return 0;
}
