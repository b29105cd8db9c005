/* session: one client connection and its life, owned by exactly one worker.
 * Owns the preallocated session table (slots reused through a FIFO free list, ids that carry a
 * generation so a stale id never reaches a new session) and the session state machine: one
 * function per transition, drawn in docs/closing.md. It never touches another worker's
 * sessions; work from other threads arrives through the worker's queue. */
#ifndef GSKEL_SESSION_H
#define GSKEL_SESSION_H

#include <stdint.h>

#include "frame.h"
#include "io.h"
#include "reason.h"
#include "sendq.h"
#include "timer.h"
#include "token_bucket.h"

struct worker;

/* docs/closing.md draws these states and what each transition puts on the wire. */
typedef enum {
    SESSION_FREE,      /* slot unused */
    SESSION_OPEN,      /* connected, not logged in: skeleton ops only; login deadline */
    SESSION_LOGGED_IN, /* game ops allowed; idle deadline */
    SESSION_FLUSHING,  /* told to go (LOGOUT_OK / KICK queued): input dropped, output flushing
                          until the kernel has sent it and the peer acknowledged it */
    SESSION_GRACE,     /* notice delivered: waiting close_grace_ms for the client to close first */
    SESSION_CLOSING    /* io_close issued (FIN after the client's, or RST); frees on IO_CLOSED */
} session_state_t;

/* Id layout: 8-bit generation above a 24-bit global slot index. */
#define SESSION_INDEX_BITS 24u
#define SESSION_INDEX_MASK ((1u << SESSION_INDEX_BITS) - 1u)
#define SESSION_ID_NONE UINT32_MAX

typedef struct session {
    io_handle_t io; /* first: the backend hands this pointer back in completions */
    sendq_t sendq;
    frame_reader_t reader;
    timer_node_t timer;   /* the one deadline that matters in the current state */
    uint32_t id;
    uint32_t next_free;
    uint8_t state;        /* session_state_t */
    uint8_t close_reason; /* reason_t, set once by the transition that decides the end */
    uint8_t dirty;        /* queued in the worker's flush list */
    uint8_t abortive;     /* the close was an abort (RST) */
    uint8_t in_game;      /* the logic thread was told of the login: tell it of the end too */
    uint8_t peer_closed;  /* the client's FIN came while output was still owed */
    sock_ip_t peer;
    uint64_t bytes_in, bytes_out;
    uint64_t opened_ms;
    uint64_t last_recv_ms;      /* idle timeout: checked when the deadline fires, not per packet */
    union {
        uint64_t partial_since_ms;  /* OPEN, LOGGED_IN: a frame begun and unfinished since (0 = none) */
        uint64_t notice_deadline_ms; /* FLUSHING: stop waiting for the acknowledgement and reset */
    };
    token_bucket_t packets;     /* guard.max_packets_per_sec */
    token_bucket_t bytes;       /* guard.max_bytes_per_sec */
} session_t;

typedef struct session_table {
    session_t *slots;
    uint32_t base;        /* global index of slots[0] */
    uint32_t count;
    uint32_t fresh;       /* slots[fresh..count) never used: taken before reused ones */
    uint32_t free_head, free_tail; /* FIFO of released slots: reuse as late as possible */
    uint32_t active;
} session_table_t;

int session_table_init(session_table_t *t, uint32_t base, uint32_t count);
void session_table_destroy(session_table_t *t);
/* The live session with this id, or NULL (free slot, stale generation, other worker's id). */
session_t *session_table_find(session_table_t *t, uint32_t id);
/* Calls fn for every session not FREE (shutdown, admin listings). */
void session_table_each(session_table_t *t, void (*fn)(void *ctx, session_t *s), void *ctx);

/* Transitions. Each checks its from-state and is a no-op from any other. */
session_t *session_open(struct worker *w, sock_t fd, const sock_addr_t *peer); /* FREE -> OPEN; NULL if full */
int session_login(struct worker *w, session_t *s);                            /* OPEN -> LOGGED_IN */
/* OPEN|LOGGED_IN -> FLUSHING: the last frame is queued; stop dispatching, flush, wait for the ack. */
void session_notify(struct worker *w, session_t *s, reason_t why);
void session_grace(struct worker *w, session_t *s);                           /* FLUSHING -> GRACE */
/* The client closed first (end of stream): close at once, or (live -> FLUSHING) once the
 * output still owed has gone; no CLOSE_WAIT is left either way. */
void session_peer_closed(struct worker *w, session_t *s);
/* After a send completed: a session waiting to close behind its output closes now. */
void session_on_sent(struct worker *w, session_t *s);
void session_close(struct worker *w, session_t *s, reason_t why);             /* live -> CLOSING, normal close */
void session_abort(struct worker *w, session_t *s, reason_t why);             /* live -> CLOSING, RST */
void session_release(struct worker *w, session_t *s);                         /* CLOSING -> FREE, on IO_CLOSED */

/* Kick with notice: KICK {u16 reason, text} is queued, then session_notify. The notice is
 * delivered and acknowledged, the client gets close_grace_ms to close first, else RST. */
void session_kick(struct worker *w, session_t *s, reason_t why, const char *text);

/* The session's deadline fired (timer wheel callback): time out, poll the ack, or re-arm. */
void session_on_deadline(struct worker *w, session_t *s);

/* After a read: a frame left unfinished starts the slow-sender clock, a finished one stops it. */
void session_track_partial(struct worker *w, session_t *s);

static inline int session_is_live(const session_t *s) {
    return s->state >= SESSION_OPEN && s->state <= SESSION_GRACE;
}
/* "open", "logged_in", ... for listings and logs. */
const char *session_state_name(const session_t *s);

/* Frames from the client are dispatched only before the session was told to go. */
static inline int session_takes_input(const session_t *s) {
    return s->state == SESSION_OPEN || s->state == SESSION_LOGGED_IN;
}

/* Queues one frame for the next flush. A full queue aborts the session as slow_reader.
 * Returns 0, or -EPIPE if the session is (now) closing. */
int session_send(struct worker *w, session_t *s, uint16_t op, const void *payload, uint16_t len);
/* The same, building the payload in place: returns where to write len bytes, or NULL. */
uint8_t *session_send_reserve(struct worker *w, session_t *s, uint16_t op, uint16_t len);

#endif
