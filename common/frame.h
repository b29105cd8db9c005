/* frame: the wire codec of shared/DESIGN.md. Header: u16 len (whole frame, header included),
 * u16 op, little-endian; then len - 4 payload bytes.
 * frame_reader reassembles a byte stream into frames for every possible split: whole frames are
 * handed out straight from the caller's bytes (no copy); only a frame cut by the end of a read is
 * copied, into a buffer taken from a pool and returned as soon as the frame completes, so an idle
 * session holds no receive memory. It knows nothing of ops: unknown ops are dispatch's business. */
#ifndef GSKEL_FRAME_H
#define GSKEL_FRAME_H

#include <stdint.h>
#include <stddef.h>

#include "pool.h"
#include "sendq.h"

#define FRAME_HEADER_BYTES 4u
#define FRAME_MAX_BYTES 65535u

typedef struct frame {
    uint16_t op;
    uint16_t payload_len;
    const uint8_t *payload; /* valid only during the callback */
} frame_t;

/* Return 0 to go on, non-zero to stop feeding (the session is closing); that value is returned
 * by frame_reader_feed. */
typedef int (*frame_fn)(void *ctx, const frame_t *f);

typedef struct frame_reader {
    uint8_t *partial;  /* pool buffer while a frame body is cut across reads, else NULL */
    uint8_t hdr[FRAME_HEADER_BYTES];
    uint16_t have;     /* bytes of the current frame held (header included) */
    uint16_t need;     /* its length once the header is known, else 0 */
} frame_reader_t;

/* Frame lengths outside 4..max_frame_bytes. */
#define FRAME_EBADLEN (-1000)

/* Feeds n bytes. Calls fn for each complete frame in order. Returns 0 when all bytes were
 * consumed, FRAME_EBADLEN on a length outside 4..max_frame (nothing after it is delivered), or
 * fn's non-zero value. `bufs` holds objects of at least max_frame bytes. After a non-zero
 * return the reader is only fit for frame_reader_reset. An empty payload's pointer is non-NULL
 * but must not be read. */
int frame_reader_feed(frame_reader_t *r, pool_t *bufs, uint32_t max_frame,
                      const uint8_t *data, size_t n, frame_fn fn, void *ctx);

/* Returns any partial buffer to the pool (session end). */
void frame_reader_reset(frame_reader_t *r, pool_t *bufs);

/* 1 if the reader holds a started but incomplete frame (slow-sender guard). */
static inline int frame_reader_mid_frame(const frame_reader_t *r) { return r->have != 0; }

/* Appends one frame to q. Returns 0, or sendq_reserve's error. */
int frame_append(sendq_t *q, pool_t *chunks, uint32_t limit, uint16_t op,
                 const void *payload, uint16_t payload_len);

/* Reserves a frame with a payload of payload_len bytes and returns the payload to be filled in
 * place (saves a copy for replies built field by field), or NULL with *err. */
uint8_t *frame_reserve(sendq_t *q, pool_t *chunks, uint32_t limit, uint16_t op,
                       uint16_t payload_len, int *err);

/* Encodes/decodes a bare header. */
void frame_header_put(uint8_t out[FRAME_HEADER_BYTES], uint16_t len, uint16_t op);
void frame_header_get(const uint8_t in[FRAME_HEADER_BYTES], uint16_t *len, uint16_t *op);

#endif
