/* session: one client connection and its life, owned by exactly one worker.
 * Owns the preallocated session table (slots reused through a FIFO free list, ids that carry a
 * generation so a stale id never reaches a new session) and the session state machine: one
 * function per transition, named by its target state, drawn in docs/closing.md. It sits below
 * the worker: everything it uses comes in through session_env_t, and what its owner must know
 * goes up through the env's hooks. It never calls the worker, dispatch or the logic thread. */
#ifndef GSKEL_SESSION_H
#define GSKEL_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "frame.h"
#include "io.h"
#include "loop_clock.h"
#include "pool.h"
#include "protocol.h"
#include "reason.h"
#include "replay.h"
#include "sendq.h"
#include "timer.h"
#include "token_bucket.h"

/* docs/closing.md draws these states and what each transition puts on the wire. */
typedef enum {
    SESSION_FREE,      /* slot unused */
    SESSION_PREAMBLE,  /* connected behind listen.proxy_protocol: the PROXY header (or the first
                          bytes of a direct client, to refuse a header from an untrusted source)
                          are read first; no frames yet; listen.proxy_header_timeout_ms */
    SESSION_OPEN,      /* connected, not logged in: skeleton ops only; login deadline */
    SESSION_LOGGED_IN, /* game ops allowed; idle deadline */
    SESSION_FLUSHING,  /* told to go (LOGOUT_OK / KICK queued): input dropped, output flushing
                          until the kernel has sent it and the peer acknowledged it */
    SESSION_GRACE,     /* notice delivered: waiting close_grace_ms for the client to close first */
    SESSION_DRAINING,  /* the client's FIN came while output was still owed: it goes out, then our
                          FIN follows the client's */
    SESSION_CLOSING,   /* io_close issued (FIN after the client's, or RST); frees on IO_CLOSED */
    SESSION_DETACHED,  /* a resumable session whose connection dropped: no socket; frames for it
                          are kept; waits session.resume_window_ms for a RESUME, else ends */
    SESSION_STATE_COUNT
} session_state_t;

/* Id layout: a generation above a 24-bit global slot index. */
#define SESSION_INDEX_BITS 24u
#define SESSION_INDEX_MASK ((1u << SESSION_INDEX_BITS) - 1u)
#define SESSION_GEN_MASK 0xffu
#define SESSION_ID_NONE UINT32_MAX

/* What a session that may be resumed carries besides (LOGIN asked for it): cold, allocated at
 * LOGIN, so sessions that never resume pay one pointer. */
typedef struct session_resume {
    replay_t replay;            /* frames since LOGIN_OK not yet acknowledged */
    uint8_t token[PROTO_RESUME_TOKEN_BYTES]; /* the secret RESUME must show */
    uint64_t frames_in;         /* client frames taken since LOGIN: RESUME_OK tells the client */
    sock_t pending_fd;          /* a RESUME's socket, waiting for the old one's IO_CLOSED */
    uint64_t pending_received;
    sock_ip_t pending_peer;
    uint8_t pending_admitted;
} session_resume_t;

typedef struct session {
    io_handle_t io; /* first: the backend hands this pointer back in completions */
    sendq_t sendq;
    frame_reader_t reader; /* PREAMBLE: reader.partial/have hold the bytes read so far (at most
                              the frame buffer pool's object size) */
    timer_node_t timer;   /* the one deadline that matters in the current state */
    uint32_t id;
    uint32_t next_free;
    uint8_t state;        /* session_state_t: set only by session.c's enter() */
    uint8_t close_reason; /* reason_t, set once by the transition that decides the end */
    uint8_t dirty;        /* the owner's: queued in its flush list */
    uint8_t abortive;     /* the close was an abort (RST) */
    uint8_t in_game;      /* the game was told of the login: tell it of the end too */
    uint8_t admitted;     /* the owner's: its guard counts this session against s->peer */
    uint8_t preamble;     /* the owner's: what PREAMBLE waits for (proxy_gate_mode_t) */
    sock_ip_t peer;
    uint64_t account;           /* from the LOGIN ticket; 0 without one (auth.mode "none") */
    session_resume_t *resume;   /* NULL unless LOGIN asked for resume and it is on */
    uint64_t bytes_in, bytes_out;
    uint64_t opened_ms;
    uint64_t last_recv_ms;      /* idle timeout: checked when the deadline fires, not per packet */
    union {
        uint64_t partial_since_ms; /* OPEN, LOGGED_IN: a frame begun and unfinished since (0 = none) */
        uint64_t leave_ms;         /* FLUSHING, GRACE, DRAINING: reset if still here by then;
                                      DETACHED: ends then */
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

/* What the session layer tells its owner. Called on the owner's thread, never re-entrantly from
 * inside another hook. */
typedef struct session_hooks {
    void (*output)(void *ctx, session_t *s); /* a frame was queued: flush it this turn */
    void (*ended)(void *ctx, session_t *s);  /* once, just before the slot is freed (IO_CLOSED) */
    void (*detached)(void *ctx, session_t *s); /* its connection is gone; the session waits for RESUME */
} session_hooks_t;

/* Everything the session layer uses, owned by the worker that owns the sessions. */
typedef struct session_env {
    io_loop_t *loop;
    timer_wheel_t *timers;
    pool_t *send_chunks;
    pool_t *frame_bufs;       /* partial frames cut across reads */
    loop_clock_t *clock;
    const cfg_t *cfg;         /* the config in force (replaced on reload) */
    const token_bucket_rate_t *packet_rate, *byte_rate;
    session_table_t *table;
    const session_hooks_t *hooks;
    void *hooks_ctx;
} session_env_t;

/* The session id space split evenly over `owners` (workers): owner i holds the global slots
 * [i * per, i * per + count), the last one the remainder. An id's slot says who owns it. */
typedef struct session_split {
    uint32_t owners, per, total;
} session_split_t;

static inline session_split_t session_split_make(uint32_t total, uint32_t owners) {
    return (session_split_t){ owners, total / owners, total };
}
static inline uint32_t session_split_base(const session_split_t *p, uint32_t owner) { return owner * p->per; }
static inline uint32_t session_split_count(const session_split_t *p, uint32_t owner) {
    return owner + 1 == p->owners ? p->total - p->per * owner : p->per;
}
/* The owner of an id, or UINT32_MAX if its slot is outside the table. */
static inline uint32_t session_split_owner(const session_split_t *p, uint32_t id) {
    uint32_t slot = id & SESSION_INDEX_MASK;
    if (slot >= p->total) return UINT32_MAX;
    uint32_t o = slot / p->per;
    return o < p->owners ? o : p->owners - 1;
}

int session_table_init(session_table_t *t, uint32_t base, uint32_t count);
void session_table_destroy(session_table_t *t);
/* The live session with this id, or NULL (free slot, stale generation, other worker's id). */
session_t *session_table_find(session_table_t *t, uint32_t id);
/* Calls fn for every session not FREE (shutdown, admin listings). */
void session_table_each(session_table_t *t, void (*fn)(void *ctx, session_t *s), void *ctx);

/* Transitions, named by their target. Each checks its from-state: from any state it does not
 * come from it is a no-op (debug builds assert on a transition the machine does not have). */
/* FREE -> OPEN (or PREAMBLE with preamble); NULL if the table is full. */
session_t *session_open(session_env_t *e, sock_t fd, const sock_addr_t *peer, bool preamble);
void session_to_open(session_env_t *e, session_t *s);                          /* PREAMBLE -> OPEN */
int session_to_logged_in(session_env_t *e, session_t *s);                     /* OPEN -> LOGGED_IN */
/* OPEN|LOGGED_IN -> FLUSHING: the last frame is queued; stop dispatching, flush, wait for the ack. */
void session_to_flushing(session_env_t *e, session_t *s, reason_t why);
void session_to_grace(session_env_t *e, session_t *s);                        /* FLUSHING -> GRACE */
void session_to_closing(session_env_t *e, session_t *s, reason_t why, io_close_mode_t mode); /* live -> CLOSING */
/* CLOSING -> FREE on IO_CLOSED; or -> DETACHED for a resumable session that dropped (and at once
 * -> LOGGED_IN if a RESUME was waiting for that). DETACHED -> FREE too. */
void session_to_free(session_env_t *e, session_t *s);
/* Ends a DETACHED session for good (kicked, taken over, shut down, window over). */
void session_end_detached(session_env_t *e, session_t *s, reason_t why);

/* Resume. Keeping frames starts at LOGIN_OK (queued just before): a token is drawn into
 * s->resume. 0, or -ENOMEM. */
int session_keep_frames(session_env_t *e, session_t *s, const uint8_t token[PROTO_RESUME_TOKEN_BYTES]);
/* The client has frames up to count: -ERANGE if that is not a count it can have. */
int session_ack(session_env_t *e, session_t *s, uint64_t count);
/* A RESUME for s on socket fd (admitted for peer by the caller's guard): DETACHED -> LOGGED_IN at
 * once (RESUME_OK, then every frame after `received`); LOGGED_IN (the old connection still open)
 * or CLOSING: the old socket is reset and fd taken when it has closed. -ERANGE: `received` is not
 * a count the client can have; -EBUSY: the session is on its way out (kicked, logging out). */
int session_resume(session_env_t *e, session_t *s, sock_t fd, const sock_ip_t *peer, bool admitted, uint64_t received);

/* Normal close (our FIN, after the client's) and abortive close (RST): session_to_closing. */
static inline void session_close(session_env_t *e, session_t *s, reason_t why) { session_to_closing(e, s, why, IO_CLOSE_NORMAL); }
static inline void session_abort(session_env_t *e, session_t *s, reason_t why) { session_to_closing(e, s, why, IO_CLOSE_ABORT); }

/* Kick with notice: KICK {u16 reason, text} is queued, then FLUSHING. The notice is delivered and
 * acknowledged, the client gets close_grace_ms to close first, else RST. The text is clamped to
 * PROTO_KICK_TEXT_MAX bytes. */
void session_kick(session_env_t *e, session_t *s, reason_t why, const char *text, size_t text_len);

/* Events from the owner's loop. */
/* The client closed first (end of stream): close at once, or (-> DRAINING) once the output still
 * owed has gone; no CLOSE_WAIT is left either way. */
void session_peer_closed(session_env_t *e, session_t *s);
/* After a send completed: a session waiting to close behind its output closes now. */
void session_on_sent(session_env_t *e, session_t *s);
/* The session's deadline fired (timer wheel callback): time out, poll the ack, or re-arm. */
void session_on_deadline(session_env_t *e, session_t *s);
/* After a read: a frame left unfinished starts the slow-sender clock, a finished one stops it. */
void session_track_partial(session_env_t *e, session_t *s);

/* Frames may be queued to it: live, or detached (kept for the replay). */
static inline int session_takes_output(const session_t *s) {
    return (s->state >= SESSION_PREAMBLE && s->state <= SESSION_DRAINING) || s->state == SESSION_DETACHED;
}
static inline int session_is_live(const session_t *s) {
    return s->state >= SESSION_PREAMBLE && s->state <= SESSION_DRAINING;
}
/* Frames from the client are dispatched only before the session was told to go. */
static inline int session_takes_input(const session_t *s) {
    return s->state == SESSION_OPEN || s->state == SESSION_LOGGED_IN;
}
/* "open", "logged_in", ... for listings and logs. */
const char *session_state_name(const session_t *s);

/* Queues one frame for the next flush. A full queue aborts the session as slow_reader.
 * Returns 0, or -EPIPE if the session is (now) closing. */
int session_send(session_env_t *e, session_t *s, uint16_t op, const void *payload, uint16_t len);
/* The same, building the payload in place: returns where to write len bytes, or NULL. */
uint8_t *session_send_reserve(session_env_t *e, session_t *s, uint16_t op, uint16_t len);

/* A plain description of a session, for listings (the admin endpoint formats it). */
typedef struct session_record {
    uint32_t id;
    sock_ip_t peer;
    uint8_t state;           /* session_state_t */
    uint64_t age_ms;
    uint64_t bytes_in, bytes_out;
    uint64_t account;        /* 0: none (auth.mode "none", or not logged in) */
} session_record_t;
void session_describe(session_env_t *e, const session_t *s, session_record_t *out);

/* Plain records of sessions, grown by whoever fills them (gs_realloc); freed with gs_free(v). */
typedef struct session_record_list {
    session_record_t *v;
    size_t n, cap;
} session_record_list_t;
const char *session_state_label(session_state_t st);

#endif
