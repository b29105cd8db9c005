#include "sendq.h"

#include <errno.h>

/* Slabs of about this many bytes: few enough mallocs when a worker warms up, small enough that
 * an idle worker does not sit on megabytes. Growth granularity, not a limit. */
#define SENDQ_SLAB_BYTES (256u * 1024u)

int sendq_pool_init(pool_t *chunks, uint32_t chunk_bytes)
{
    if (chunk_bytes == 0)
        return -EINVAL;
    size_t obj = sizeof(sendq_chunk_t) + chunk_bytes;
    size_t per_slab = SENDQ_SLAB_BYTES / obj;
    return pool_init(chunks, obj, per_slab ? per_slab : 1);
}

uint8_t *sendq_reserve(sendq_t *q, pool_t *chunks, uint32_t limit, uint32_t n, int *err)
{
    if (n == 0) {
        *err = -EINVAL;
        return NULL;
    }
    if ((uint64_t)q->bytes + n > limit) {
        *err = -ENOBUFS;
        return NULL;
    }
    uint32_t cap = sendq_chunk_capacity(chunks);
    if (n > cap) {
        *err = -EMSGSIZE;
        return NULL;
    }
    sendq_chunk_t *c = q->tail;
    /* Never compact or reuse the space before c->tail: a send may be in flight on it. Room left
     * at the end of a chunk too small for n is given up rather than split a frame. */
    if (!c || cap - c->tail < n) {
        c = pool_get(chunks);
        c->next = NULL;
        c->head = 0;
        c->tail = 0;
        if (q->tail)
            q->tail->next = c;
        else
            q->head = c;
        q->tail = c;
    }
    uint8_t *p = c->data + c->tail;
    c->tail += n;
    q->bytes += n;
    *err = 0;
    return p;
}

const uint8_t *sendq_peek(const sendq_t *q, uint32_t *len)
{
    const sendq_chunk_t *c = q->head;
    if (!c) {
        *len = 0;
        return NULL;
    }
    *len = c->tail - c->head;
    return c->data + c->head;
}

void sendq_consume_each(sendq_t *q, uint32_t n, void (*drained)(void *ctx, sendq_chunk_t *c), void *ctx)
{
    if (n > q->bytes)
        n = q->bytes;
    while (n > 0) {
        sendq_chunk_t *c = q->head;
        uint32_t avail = c->tail - c->head;
        uint32_t take = n < avail ? n : avail;
        c->head += take;
        q->bytes -= take;
        n -= take;
        if (c->head == c->tail) {
            q->head = c->next;
            if (q->tail == c)
                q->tail = NULL;
            drained(ctx, c);
        }
    }
}

static void chunk_back(void *chunks, sendq_chunk_t *c)
{
    pool_put(chunks, c);
}

void sendq_consume(sendq_t *q, pool_t *chunks, uint32_t n)
{
    /* A drained chunk goes back at once, even the last one: an idle queue holds nothing. */
    sendq_consume_each(q, n, chunk_back, chunks);
}

void sendq_clear(sendq_t *q, pool_t *chunks)
{
    sendq_chunk_t *c = q->head;
    while (c) {
        sendq_chunk_t *next = c->next;
        pool_put(chunks, c);
        c = next;
    }
    *q = (sendq_t){ 0 };
}
