/* Session table and state transitions: see session.h. */
#include "session.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "bytes.h"
#include "log.h"
#include "protocol.h"

/* How often a notice's acknowledgement is polled (FLUSHING): a resolution, not a limit (the
 * limit is session.close_grace_ms). */
#define SESSION_ACK_POLL_MS 10u

int session_table_init(session_table_t *t, uint32_t base, uint32_t count) {
    memset(t, 0, sizeof *t);
    /* calloc: a page of slots costs memory once a slot on it is first used. Never-used slots are
     * taken before reused ones (oldest-first, so a stale id stays stale as long as possible), so
     * RSS grows with connections until every slot has been used once: max_sessions x
     * sizeof(session_t) at most, the preallocated table's size (nginx's connections array). */
    t->slots = gs_calloc(count, sizeof *t->slots);
    t->base = base;
    t->count = count;
    t->free_head = t->free_tail = SESSION_ID_NONE;
    return 0;
}

void session_table_destroy(session_table_t *t) {
    gs_free(t->slots);
    memset(t, 0, sizeof *t);
}

session_t *session_table_find(session_table_t *t, uint32_t id) {
    uint32_t index = (id & SESSION_INDEX_MASK) - t->base;
    if ((id & SESSION_INDEX_MASK) < t->base || index >= t->fresh) return NULL;
    session_t *s = &t->slots[index];
    return s->state != SESSION_FREE && s->id == id ? s : NULL;
}

void session_table_each(session_table_t *t, void (*fn)(void *ctx, session_t *s), void *ctx) {
    for (uint32_t i = 0; i < t->fresh; i++)
        if (t->slots[i].state != SESSION_FREE) fn(ctx, &t->slots[i]);
}

static session_t *table_take(session_table_t *t) {
    session_t *s;
    if (t->fresh < t->count) {
        s = &t->slots[t->fresh];
        s->id = t->base + t->fresh; /* generation 0 */
        t->fresh++;
    } else if (t->free_head != SESSION_ID_NONE) {
        s = &t->slots[t->free_head];
        t->free_head = s->next_free;
        if (t->free_head == SESSION_ID_NONE) t->free_tail = SESSION_ID_NONE;
    } else {
        return NULL;
    }
    t->active++;
    return s;
}

static void table_put(session_table_t *t, session_t *s) {
    uint32_t index = (uint32_t)(s - t->slots);
    uint32_t next_gen = ((s->id >> SESSION_INDEX_BITS) + 1u) & SESSION_GEN_MASK;
    uint32_t id = (next_gen << SESSION_INDEX_BITS) | (t->base + index);
    memset(s, 0, sizeof *s);
    s->id = id;
    s->state = SESSION_FREE;
    s->next_free = SESSION_ID_NONE;
    if (t->free_tail == SESSION_ID_NONE) t->free_head = index;
    else t->slots[t->free_tail].next_free = index;
    t->free_tail = index;
    t->active--;
}

static uint64_t now_ms(session_env_t *e) { return loop_clock_ms(e->clock); }

/* Bytes still to go out: queued, or in the send in flight. */
static int output_owed(const session_t *s) { return s->sendq.bytes || io_send_busy(&s->io); }

/* The deadline that matters in the session's state; 0 for none. */
static uint64_t state_deadline(session_env_t *e, const session_t *s) {
    const cfg_t *c = e->cfg;
    switch ((session_state_t)s->state) {
    case SESSION_PREAMBLE:
        return deadline_after(s->opened_ms, c->listen.proxy_header_timeout_ms);
    case SESSION_OPEN:
    case SESSION_LOGGED_IN: {
        uint64_t d = deadline_after(s->last_recv_ms, c->session.idle_timeout_ms);
        if (s->state == SESSION_OPEN) d = deadline_earliest(d, deadline_after(s->opened_ms, c->session.login_timeout_ms));
        if (s->partial_since_ms) d = deadline_earliest(d, deadline_after(s->partial_since_ms, c->guard.partial_frame_timeout_ms));
        return d;
    }
    case SESSION_FLUSHING: /* poll the acknowledgement, bounded like the grace that follows */
        return deadline_earliest(now_ms(e) + SESSION_ACK_POLL_MS, s->leave_ms);
    case SESSION_GRACE:
    case SESSION_DRAINING:
    case SESSION_DETACHED:
        return s->leave_ms;
    case SESSION_FREE:
    case SESSION_CLOSING:
    case SESSION_STATE_COUNT:
        break;
    }
    return 0;
}

static void arm_deadline(session_env_t *e, session_t *s) {
    uint64_t d = state_deadline(e, s);
    if (d) timer_arm(e->timers, &s->timer, d);
    else timer_cancel(e->timers, &s->timer);
}

/* The transitions the machine has (docs/closing.md): from-state x to-state. */
static const uint8_t allowed[SESSION_STATE_COUNT][SESSION_STATE_COUNT] = {
    [SESSION_FREE] = { [SESSION_PREAMBLE] = 1, [SESSION_OPEN] = 1 },
    [SESSION_PREAMBLE] = { [SESSION_OPEN] = 1, [SESSION_CLOSING] = 1 },
    [SESSION_OPEN] = { [SESSION_LOGGED_IN] = 1, [SESSION_FLUSHING] = 1, [SESSION_DRAINING] = 1, [SESSION_CLOSING] = 1 },
    [SESSION_LOGGED_IN] = { [SESSION_FLUSHING] = 1, [SESSION_DRAINING] = 1, [SESSION_CLOSING] = 1 },
    [SESSION_FLUSHING] = { [SESSION_GRACE] = 1, [SESSION_DRAINING] = 1, [SESSION_CLOSING] = 1 },
    [SESSION_GRACE] = { [SESSION_DRAINING] = 1, [SESSION_CLOSING] = 1 },
    [SESSION_DRAINING] = { [SESSION_CLOSING] = 1 },
    [SESSION_CLOSING] = { [SESSION_FREE] = 1, [SESSION_DETACHED] = 1 },
    [SESSION_DETACHED] = { [SESSION_LOGGED_IN] = 1, [SESSION_FREE] = 1 },
};

/* The one place a state is set, and its deadline armed. A transition the machine does not have
 * is a bug in the caller: debug builds stop on it; release builds refuse it (returns -EINVAL). */
static int enter(session_env_t *e, session_t *s, session_state_t to) {
    int ok = s->state < SESSION_STATE_COUNT && allowed[s->state][to];
    assert(ok && "session: transition the state machine does not have");
    if (!ok) return -EINVAL;
    s->state = (uint8_t)to;
    if (to != SESSION_FREE) arm_deadline(e, s);
    return 0;
}

session_t *session_open(session_env_t *e, sock_t fd, const sock_addr_t *peer, bool preamble) {
    session_t *s = table_take(e->table);
    if (!s) return NULL;
    s->next_free = SESSION_ID_NONE;
    s->opened_ms = s->last_recv_ms = now_ms(e);
    if (peer) sock_ip_pack(peer, &s->peer);
    token_bucket_init(&s->packets, e->packet_rate, s->opened_ms);
    token_bucket_init(&s->bytes, e->byte_rate, s->opened_ms);
    io_attach(e->loop, &s->io, fd, s->id);
    enter(e, s, preamble ? SESSION_PREAMBLE : SESSION_OPEN);
    return s;
}

void session_to_open(session_env_t *e, session_t *s) {
    if (s->state != SESSION_PREAMBLE) return;
    /* The login deadline counts from here: the preamble has its own. */
    s->opened_ms = s->last_recv_ms = now_ms(e);
    enter(e, s, SESSION_OPEN);
}

int session_to_logged_in(session_env_t *e, session_t *s) {
    if (s->state != SESSION_OPEN) return -EINVAL;
    return enter(e, s, SESSION_LOGGED_IN);
}

void session_to_flushing(session_env_t *e, session_t *s, reason_t why) {
    if (!session_takes_input(s)) return;
    s->close_reason = (uint8_t)why;
    /* A peer that never acknowledges (zero window, gone) must not hold the slot. */
    s->leave_ms = now_ms(e) + e->cfg->session.close_grace_ms;
    enter(e, s, SESSION_FLUSHING);
}

void session_to_grace(session_env_t *e, session_t *s) {
    if (s->state != SESSION_FLUSHING) return;
    s->leave_ms = now_ms(e) + e->cfg->session.close_grace_ms;
    enter(e, s, SESSION_GRACE);
}

/* Replies to the client's last frames (a request sent with its FIN) are still owed: they go out
 * first, then close() sends our FIN after them, bounded like a notice. A session already told to
 * go keeps its reason and its deadline. */
static void to_draining(session_env_t *e, session_t *s) {
    if (session_takes_input(s)) {
        s->close_reason = REASON_CLIENT_CLOSE;
        s->leave_ms = now_ms(e) + e->cfg->session.close_grace_ms;
    }
    enter(e, s, SESSION_DRAINING);
}

void session_peer_closed(session_env_t *e, session_t *s) {
    if (!session_is_live(s) || s->state == SESSION_DRAINING) return;
    if (output_owed(s)) to_draining(e, s);
    else session_close(e, s, REASON_CLIENT_CLOSE);
}

void session_on_sent(session_env_t *e, session_t *s) {
    if (s->state == SESSION_DRAINING && !output_owed(s)) session_close(e, s, REASON_CLIENT_CLOSE);
}

void session_kick(session_env_t *e, session_t *s, reason_t why, const char *text, size_t text_len) {
    if (!session_takes_input(s)) return;
    uint16_t len = proto_kick_text_len(text_len);
    uint8_t *p = session_send_reserve(e, s, OP_KICK, (uint16_t)(2 + len));
    if (!p) return; /* no room even for the notice: the session was reset as a slow reader */
    le_put_u16(p, (uint16_t)why);
    memcpy(p + 2, text, len);
    session_to_flushing(e, s, why);
}

/* Bytes of the notice still on their way: queued here, in flight, or unacknowledged in the
 * kernel. 0 means the client has it. */
static int notice_pending(session_t *s) {
    if (output_owed(s)) return 1;
    uint32_t unacked = 0;
    if (sock_unacked_bytes(s->io.fd, &unacked) < 0) return 0; /* no way to know: start the grace */
    return unacked != 0;
}

static int due(uint64_t now, uint64_t since, uint32_t ms) { return ms && now >= since + ms; }

void session_on_deadline(session_env_t *e, session_t *s) {
    uint64_t now = now_ms(e);
    const cfg_t *c = e->cfg;
    switch ((session_state_t)s->state) {
    case SESSION_PREAMBLE:
        session_abort(e, s, REASON_PROXY_TIMEOUT); /* a header dribbled, or none from a balancer */
        break;
    case SESSION_OPEN:
    case SESSION_LOGGED_IN:
        if (s->partial_since_ms && due(now, s->partial_since_ms, c->guard.partial_frame_timeout_ms))
            session_abort(e, s, REASON_SLOW_SENDER); /* dribbling a frame to hold a slot */
        else if (s->state == SESSION_OPEN && due(now, s->opened_ms, c->session.login_timeout_ms))
            session_abort(e, s, REASON_LOGIN_TIMEOUT); /* never logged in: slowloris or a stray port scan */
        else if (due(now, s->last_recv_ms, c->session.idle_timeout_ms))
            session_kick(e, s, REASON_IDLE_TIMEOUT, "idle timeout", strlen("idle timeout"));
        else
            arm_deadline(e, s); /* traffic since arming moved the idle deadline */
        break;
    case SESSION_FLUSHING:
        if (!notice_pending(s)) session_to_grace(e, s);
        else if (now >= s->leave_ms) session_abort(e, s, (reason_t)s->close_reason);
        else arm_deadline(e, s);
        break;
    case SESSION_GRACE:    /* the client did not close first */
    case SESSION_DRAINING: /* the client closed but does not take what it is owed */
        session_abort(e, s, (reason_t)s->close_reason);
        break;
    case SESSION_DETACHED: /* no RESUME within the window: the player has gone */
        session_end_detached(e, s, (reason_t)s->close_reason);
        break;
    case SESSION_FREE:
    case SESSION_CLOSING:
    case SESSION_STATE_COUNT:
        break;
    }
}

void session_track_partial(session_env_t *e, session_t *s) {
    if (!frame_reader_mid_frame(&s->reader)) {
        s->partial_since_ms = 0; /* the idle/login deadline armed stays; it re-arms when it fires */
        return;
    }
    if (s->partial_since_ms || !e->cfg->guard.partial_frame_timeout_ms) return;
    s->partial_since_ms = now_ms(e);
    uint64_t d = s->partial_since_ms + e->cfg->guard.partial_frame_timeout_ms;
    if (!timer_armed(&s->timer) || d < s->timer.expires_ms) timer_arm(e->timers, &s->timer, d);
}

void session_to_closing(session_env_t *e, session_t *s, reason_t why, io_close_mode_t mode) {
    if (!session_is_live(s)) return;
    /* A session told to go keeps the reason it was told for (logout, kick, shutdown). */
    if (session_takes_input(s) || s->close_reason == REASON_NONE) s->close_reason = (uint8_t)why;
    s->abortive = mode == IO_CLOSE_ABORT;
    enter(e, s, SESSION_CLOSING);
    /* The queue is dropped (never sent again: the session is no longer live) but its chunks go
     * back to the pool only at IO_CLOSED: a cancelled send may still be reading them, and a
     * reused chunk would put another session's bytes on this socket. */
    io_close(e->loop, &s->io, mode);
}

/* The frames kept for a replay, and a RESUME's socket still waiting, go with the session. */
static void resume_drop(session_env_t *e, session_t *s) {
    session_resume_t *r = s->resume;
    if (!r) return;
    replay_clear(&r->replay, e->send_chunks);
    if (r->pending_fd != SOCK_INVALID) {
        sock_set_abortive(r->pending_fd);
        sock_close(r->pending_fd);
    }
    gs_free(r);
    s->resume = NULL;
}

static void release(session_env_t *e, session_t *s) {
    e->hooks->ended(e->hooks_ctx, s);
    timer_cancel(e->timers, &s->timer);
    frame_reader_reset(&s->reader, e->frame_bufs);
    resume_drop(e, s);
    sendq_clear(&s->sendq, e->send_chunks);
    enter(e, s, SESSION_FREE);
    table_put(e->table, s);
}

/* A connection lost without a goodbye (reset, the client's FIN, a stalled reader) may come back;
 * a session told to go (logout, kick, shutdown) may not. */
static bool resumable(session_env_t *e, const session_t *s) {
    if (!s->resume) return false;
    if (s->resume->pending_fd != SOCK_INVALID) return true;
    reason_t r = (reason_t)s->close_reason;
    return e->cfg->session.resume_window_ms &&
           (r == REASON_IO_ERROR || r == REASON_CLIENT_CLOSE || r == REASON_SLOW_READER);
}

static int attach(session_env_t *e, session_t *s, sock_t fd, const sock_ip_t *peer, bool admitted, uint64_t received);

void session_to_free(session_env_t *e, session_t *s) {
    if (s->state == SESSION_DETACHED) {
        release(e, s);
        return;
    }
    if (s->state != SESSION_CLOSING) return;
    if (!resumable(e, s)) {
        release(e, s);
        return;
    }
    frame_reader_reset(&s->reader, e->frame_bufs); /* a frame cut by the drop is resent whole */
    s->leave_ms = now_ms(e) + e->cfg->session.resume_window_ms;
    enter(e, s, SESSION_DETACHED);
    e->hooks->detached(e->hooks_ctx, s);
    session_resume_t *r = s->resume;
    if (s->state == SESSION_DETACHED && r && r->pending_fd != SOCK_INVALID) {
        sock_t fd = r->pending_fd;
        r->pending_fd = SOCK_INVALID;
        if (attach(e, s, fd, &r->pending_peer, r->pending_admitted, r->pending_received) < 0) {
            sock_set_abortive(fd); /* checked when it was taken: cannot happen */
            sock_close(fd);
        }
    }
}

void session_end_detached(session_env_t *e, session_t *s, reason_t why) {
    if (s->state != SESSION_DETACHED) return;
    s->close_reason = (uint8_t)why;
    release(e, s);
}

int session_keep_frames(session_env_t *e, session_t *s, const uint8_t token[PROTO_RESUME_TOKEN_BYTES]) {
    (void)e;
    if (s->resume) return 0;
    session_resume_t *r = gs_calloc(1, sizeof *r);
    replay_init(&r->replay);
    memcpy(r->token, token, sizeof r->token);
    r->pending_fd = SOCK_INVALID;
    s->resume = r;
    return 0;
}

int session_ack(session_env_t *e, session_t *s, uint64_t count) {
    if (!s->resume) return -EINVAL;
    return replay_ack(&s->resume->replay, &s->sendq, e->send_chunks, count);
}

static int attach(session_env_t *e, session_t *s, sock_t fd, const sock_ip_t *peer, bool admitted, uint64_t received) {
    session_resume_t *r = s->resume;
    if (replay_ack(&r->replay, &s->sendq, e->send_chunks, received) < 0) return -ERANGE;
    replay_rewind(&r->replay, &s->sendq, e->send_chunks);
    uint8_t *p = replay_push_front(&r->replay, &s->sendq, e->send_chunks, OP_RESUME_OK, 8);
    if (p) le_put_u64(p, r->frames_in);
    io_attach(e->loop, &s->io, fd, s->id);
    s->peer = *peer;
    s->admitted = admitted;
    s->abortive = 0;
    s->close_reason = REASON_NONE;
    s->partial_since_ms = 0;
    s->last_recv_ms = now_ms(e);
    enter(e, s, SESSION_LOGGED_IN);
    if (e->cfg->socket.nodelay) sock_set_nodelay(fd, true);
    if (io_recv_start(e->loop, &s->io) < 0) {
        session_abort(e, s, REASON_IO_ERROR);
        return 0;
    }
    e->hooks->output(e->hooks_ctx, s);
    return 0;
}

int session_resume(session_env_t *e, session_t *s, sock_t fd, const sock_ip_t *peer, bool admitted, uint64_t received) {
    session_resume_t *r = s->resume;
    if (!r) return -EBUSY;
    if (s->state == SESSION_DETACHED) return attach(e, s, fd, peer, admitted, received);
    bool old_still_open = s->state == SESSION_LOGGED_IN ||
                          (s->state == SESSION_DRAINING && s->close_reason == REASON_CLIENT_CLOSE);
    if (!old_still_open && !(s->state == SESSION_CLOSING && resumable(e, s))) return -EBUSY;
    if (r->pending_fd != SOCK_INVALID) return -EBUSY; /* one RESUME at a time */
    if (received > r->replay.queued) return -ERANGE;
    r->pending_fd = fd;
    r->pending_peer = *peer;
    r->pending_admitted = admitted;
    r->pending_received = received;
    /* The old connection (a phone that changed networks, a half-open socket) is reset; the new
     * one is taken once its close has completed (session_to_free). */
    if (old_still_open) session_abort(e, s, REASON_IO_ERROR);
    return 0;
}

/* The frames owed to a resumable session outgrew session.resume_buffer_bytes: a detached one ends;
 * a connected one stops keeping frames and is told (KICK). Returns whether the frame may still be
 * queued (the session was already on its way out, and is no longer resumable). */
static bool resume_overflow(session_env_t *e, session_t *s) {
    if (s->state == SESSION_DETACHED) {
        session_end_detached(e, s, REASON_RESUME_OVERFLOW);
        return false;
    }
    resume_drop(e, s);
    if (!session_takes_input(s)) return true;
    static const char text[] = "too far behind to resume";
    session_kick(e, s, REASON_RESUME_OVERFLOW, text, sizeof text - 1);
    return false;
}

uint8_t *session_send_reserve(session_env_t *e, session_t *s, uint16_t op, uint16_t len) {
    if (!session_takes_output(s)) return NULL;
    uint32_t limit = e->cfg->session.send_queue_limit_bytes;
    if (s->resume) {
        uint64_t bytes = (uint64_t)FRAME_HEADER_BYTES + len;
        if (s->resume->replay.unacked_bytes + bytes > e->cfg->session.resume_buffer_bytes && !resume_overflow(e, s))
            return NULL;
        if (s->state == SESSION_DETACHED) limit = UINT32_MAX; /* bounded by the resume buffer */
    }
    int err = 0;
    uint8_t *p = frame_reserve(&s->sendq, e->send_chunks, limit, op, len, &err);
    if (p && s->resume) replay_note_frame(&s->resume->replay, &s->sendq, p - FRAME_HEADER_BYTES, (uint32_t)FRAME_HEADER_BYTES + len);
    if (!p && err == -ENOBUFS) {
        /* The peer stopped reading: buffering on its behalf would let one client hold the
         * server's memory, so it goes. */
        session_abort(e, s, REASON_SLOW_READER);
        return NULL;
    }
    if (!p) {
        /* A reply larger than a send chunk is a server bug, not the client's fault. */
        log_error("frame_too_large", "session=%u op=0x%04x payload_len=%u", s->id, op, len);
        return NULL;
    }
    e->hooks->output(e->hooks_ctx, s);
    return p;
}

int session_send(session_env_t *e, session_t *s, uint16_t op, const void *payload, uint16_t len) {
    uint8_t *p = session_send_reserve(e, s, op, len);
    if (!p) return -EPIPE;
    if (len) memcpy(p, payload, len);
    return 0;
}

const char *session_state_label(session_state_t st) {
    static const char *const names[SESSION_STATE_COUNT] = { "free", "preamble", "open", "logged_in", "flushing",
                                                            "grace", "draining", "closing", "detached" };
    return st < SESSION_STATE_COUNT ? names[st] : "unknown";
}

const char *session_state_name(const session_t *s) { return session_state_label((session_state_t)s->state); }

void session_describe(session_env_t *e, const session_t *s, session_record_t *out) {
    *out = (session_record_t){ .id = s->id, .peer = s->peer, .state = s->state, .age_ms = now_ms(e) - s->opened_ms,
                               .bytes_in = s->bytes_in, .bytes_out = s->bytes_out, .account = s->account };
}
