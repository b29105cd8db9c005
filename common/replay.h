/* replay: the frames a resumable session may have to send again, kept in its own send queue's
 * chunks. Frames are numbered from 1 in the order they are queued (the first one after LOGIN_OK);
 * the client acknowledges a count, and every frame after that count is kept, sent or not, until
 * it is acknowledged. Sent chunks are not given back to the pool while they hold a kept frame: they
 * move to `kept`, in order, and a replay puts them back in front of the queue. No copy is made:
 * the bytes stay where the queue wrote them (a frame never crosses a chunk). Single-threaded (the
 * owning worker). */
#ifndef GSKEL_REPLAY_H
#define GSKEL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "pool.h"
#include "sendq.h"

typedef struct replay {
    sendq_chunk_t *kept_head, *kept_tail; /* sent chunks still holding a kept frame, oldest first */
    sendq_chunk_t *first;   /* chunk of the oldest kept frame (in kept or in the queue); NULL: none */
    uint32_t first_off;     /* its offset there */
    bool first_in_kept;     /* first is in the kept list (else it is in the queue, at or after its head) */
    uint64_t acked;         /* frames the client has acknowledged */
    uint64_t queued;        /* frames numbered so far */
    uint64_t unacked_bytes; /* bytes of frames acked+1..queued */
} replay_t;

/* Numbering starts with the next frame queued. */
void replay_init(replay_t *r);
/* A frame of len bytes was just written at p, in q's tail chunk: it is numbered and kept. */
void replay_note_frame(replay_t *r, const sendq_t *q, const uint8_t *p, uint32_t len);
/* sendq_consume for a queue whose frames are kept: drained chunks that hold kept frames move to
 * the kept list instead of back to the pool. */
void replay_consume(replay_t *r, sendq_t *q, pool_t *chunks, uint32_t n);
/* The client has every frame up to `count`: those are dropped (a count at or below an earlier one
 * changes nothing); it may name frames whose send has not completed here yet. -ERANGE (nothing
 * changed) if count is above the frames queued so far. */
int replay_ack(replay_t *r, sendq_t *q, pool_t *chunks, uint64_t count);
/* After the connection was replaced (no send in flight): every kept frame becomes unsent again, in
 * front of q, and what the client acknowledged goes, so the next sends are frames acked+1.. */
void replay_rewind(replay_t *r, sendq_t *q, pool_t *chunks);
/* Puts a frame in front of everything queued, outside the numbering (RESUME_OK). The caller writes
 * the payload at the returned pointer; NULL if the frame does not fit a chunk. */
uint8_t *replay_push_front(replay_t *r, sendq_t *q, pool_t *chunks, uint16_t op, uint16_t payload_len);
/* Gives the kept chunks back (the session ended). The queue itself is the caller's to clear. */
void replay_clear(replay_t *r, pool_t *chunks);

#endif
