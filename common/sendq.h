/* sendq: a session's outbound bytes, bounded, in pooled chunks.
 * Frames are appended contiguously into the tail chunk, so one flush sends many frames in one
 * call (coalescing). The head chunk's unsent bytes stay put while a send is in flight; appends
 * never move them. An idle, drained queue holds no chunk. Single-threaded (the owning worker). */
#ifndef GSKEL_SENDQ_H
#define GSKEL_SENDQ_H

#include <stdint.h>

#include "pool.h"

typedef struct sendq_chunk {
    struct sendq_chunk *next;
    uint32_t head; /* first unsent byte */
    uint32_t tail; /* end of written bytes */
    uint8_t data[];
} sendq_chunk_t;

typedef struct sendq {
    sendq_chunk_t *head, *tail;
    uint32_t bytes; /* unsent bytes queued */
} sendq_t;

/* The per-worker chunk pool: objects of sizeof(sendq_chunk_t) + chunk_bytes. */
int sendq_pool_init(pool_t *chunks, uint32_t chunk_bytes);
static inline uint32_t sendq_chunk_capacity(const pool_t *chunks) {
    return (uint32_t)(chunks->obj_size - sizeof(sendq_chunk_t));
}

/* Reserves n contiguous bytes at the tail and returns them to be filled, or NULL with *err:
 * -ENOBUFS if q->bytes + n would pass limit (the caller kicks the slow reader), -EMSGSIZE if n
 * does not fit a chunk, -EINVAL if n is 0. */
uint8_t *sendq_reserve(sendq_t *q, pool_t *chunks, uint32_t limit, uint32_t n, int *err);

/* The next contiguous run of unsent bytes (inside the head chunk); NULL and *len 0 if empty. */
const uint8_t *sendq_peek(const sendq_t *q, uint32_t *len);

/* n bytes of the head have left (n <= what sendq_peek returned); drained chunks go back. */
void sendq_consume(sendq_t *q, pool_t *chunks, uint32_t n);
/* The same, each drained chunk handed to drained(ctx, c) instead (replay.h keeps some). */
void sendq_consume_each(sendq_t *q, uint32_t n, void (*drained)(void *ctx, sendq_chunk_t *c), void *ctx);

/* Drops everything (abortive close). */
void sendq_clear(sendq_t *q, pool_t *chunks);

#endif
