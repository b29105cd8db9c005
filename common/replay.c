/* Kept frames of a resumable session: see replay.h. */
#include "replay.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "frame.h"

void replay_init(replay_t *r) { memset(r, 0, sizeof *r); }

void replay_note_frame(replay_t *r, const sendq_t *q, const uint8_t *p, uint32_t len) {
    if (!r->first) {
        r->first = q->tail;
        r->first_off = (uint32_t)(p - q->tail->data);
        r->first_in_kept = false;
    }
    r->queued++;
    r->unacked_bytes += len;
}

static void keep_append(replay_t *r, sendq_chunk_t *c) {
    c->next = NULL;
    if (r->kept_tail) r->kept_tail->next = c;
    else r->kept_head = c;
    r->kept_tail = c;
}

typedef struct consume_ctx {
    replay_t *r;
    pool_t *chunks;
} consume_ctx_t;

/* Chunks before the oldest kept frame (a RESUME_OK, frames already acknowledged) go back. */
static void keep_or_put(void *ctx, sendq_chunk_t *c) {
    consume_ctx_t *x = ctx;
    if (c == x->r->first || x->r->first_in_kept) {
        keep_append(x->r, c);
        x->r->first_in_kept = true;
    } else {
        pool_put(x->chunks, c);
    }
}

void replay_consume(replay_t *r, sendq_t *q, pool_t *chunks, uint32_t n) {
    consume_ctx_t x = { r, chunks };
    sendq_consume_each(q, n, keep_or_put, &x);
}

/* A position in the kept frames: a chunk, an offset, and which list the chunk is in. */
typedef struct replay_pos {
    sendq_chunk_t *c;
    uint32_t off;
    bool in_kept;
} replay_pos_t;

/* Steps over one queued frame (sent or not: a client may have a frame before this side has
 * seen its send complete); its length in *len. -1 past the last frame. */
static int step_frame(const replay_t *r, const sendq_t *q, replay_pos_t *at, uint32_t *len) {
    while (at->c && at->off >= at->c->tail) {
        if (at->in_kept && at->c == r->kept_tail) *at = (replay_pos_t){ q->head, 0, false };
        else *at = (replay_pos_t){ at->c->next, 0, at->in_kept };
    }
    if (!at->c || at->off + FRAME_HEADER_BYTES > at->c->tail) return -1;
    uint32_t n = le_get_u16(at->c->data + at->off);
    if (n < FRAME_HEADER_BYTES || at->off + n > at->c->tail) return -1;
    at->off += n;
    *len = n;
    return 0;
}

int replay_ack(replay_t *r, sendq_t *q, pool_t *chunks, uint64_t count) {
    if (count <= r->acked) return 0; /* an older acknowledgement (resent after a RESUME): nothing new */
    if (count > r->queued) return -ERANGE;
    replay_pos_t at = { r->first, r->first_off, r->first_in_kept };
    uint64_t bytes = 0;
    for (uint64_t i = r->acked; i < count; i++) {
        uint32_t len;
        if (step_frame(r, q, &at, &len) < 0) return -ERANGE; /* cannot happen: count <= queued */
        bytes += len;
    }
    /* Kept chunks wholly behind the new position go back to the pool. */
    while (r->kept_head && (!at.in_kept || at.c != r->kept_head || at.off == r->kept_head->tail)) {
        sendq_chunk_t *c = r->kept_head;
        r->kept_head = c->next;
        if (r->kept_tail == c) r->kept_tail = NULL;
        pool_put(chunks, c);
        if (at.in_kept && at.c == c) at = r->kept_head ? (replay_pos_t){ r->kept_head, 0, true } : (replay_pos_t){ q->head, 0, false };
    }
    r->acked = count;
    r->unacked_bytes -= bytes;
    if (r->acked == r->queued) {
        r->first = NULL;
        r->first_in_kept = false;
        return 0;
    }
    r->first = at.c;
    r->first_off = at.off;
    r->first_in_kept = at.in_kept;
    return 0;
}

void replay_rewind(replay_t *r, sendq_t *q, pool_t *chunks) {
    if (r->first && r->first_in_kept) {
        for (sendq_chunk_t *c = r->kept_head; c; c = c->next) {
            c->head = c == r->first ? r->first_off : 0;
            q->bytes += c->tail - c->head;
        }
        if (q->head) {
            q->bytes += q->head->head; /* sent after the oldest kept frame: kept too */
            q->head->head = 0;
        }
        r->kept_tail->next = q->head;
        q->head = r->kept_head;
        if (!q->tail) q->tail = r->kept_tail;
        r->kept_head = r->kept_tail = NULL;
        r->first_in_kept = false;
        return;
    }
    /* The oldest kept frame is in the queue (or none is kept): what is before it was acknowledged,
     * sent or not, and goes; from it on everything is sent (again). No send is in flight now. */
    while (q->head && q->head != r->first) {
        sendq_chunk_t *c = q->head;
        q->bytes -= c->tail - c->head;
        q->head = c->next;
        if (q->tail == c) q->tail = NULL;
        pool_put(chunks, c);
    }
    if (q->head) {
        q->bytes = q->bytes - (q->head->tail - q->head->head) + (q->head->tail - r->first_off);
        q->head->head = r->first_off;
    }
}

uint8_t *replay_push_front(replay_t *r, sendq_t *q, pool_t *chunks, uint16_t op, uint16_t payload_len) {
    (void)r;
    uint32_t len = (uint32_t)FRAME_HEADER_BYTES + payload_len;
    if (len > sendq_chunk_capacity(chunks)) return NULL;
    sendq_chunk_t *c = pool_get(chunks);
    c->head = 0;
    c->tail = len;
    c->next = q->head;
    q->head = c;
    if (!q->tail) q->tail = c;
    q->bytes += len;
    frame_header_put(c->data, (uint16_t)len, op);
    return c->data + FRAME_HEADER_BYTES;
}

void replay_clear(replay_t *r, pool_t *chunks) {
    for (sendq_chunk_t *c = r->kept_head, *next; c; c = next) {
        next = c->next;
        pool_put(chunks, c);
    }
    replay_init(r);
}
