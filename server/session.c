/* Session table and state transitions: see session.h. */
#include "session.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "bytes.h"
#include "dispatch.h"
#include "log.h"
#include "logic.h"
#include "worker.h"

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
    uint32_t next_gen = ((s->id >> SESSION_INDEX_BITS) + 1u) & 0xffu;
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

/* The deadline of a session that is not leaving: login (OPEN) and idle, whichever comes first;
 * 0 if neither is configured. */
static uint64_t earliest(uint64_t a, uint64_t b) { return !a ? b : !b ? a : a < b ? a : b; }

static uint64_t active_deadline(const worker_t *w, const session_t *s) {
    const cfg_t *c = w->cfg;
    uint64_t d = 0;
    if (s->state == SESSION_OPEN && c->session.login_timeout_ms) d = s->opened_ms + c->session.login_timeout_ms;
    if (c->session.idle_timeout_ms) d = earliest(d, s->last_recv_ms + c->session.idle_timeout_ms);
    if (s->partial_since_ms && c->guard.partial_frame_timeout_ms)
        d = earliest(d, s->partial_since_ms + c->guard.partial_frame_timeout_ms);
    return d;
}

/* Bytes still to go out: queued, or in the send in flight. */
static int output_owed(const session_t *s) { return s->sendq.bytes || io_send_busy(&s->io); }

static void arm_active_deadline(worker_t *w, session_t *s) {
    uint64_t d = active_deadline(w, s);
    if (d) timer_arm(&w->timers, &s->timer, d);
    else timer_cancel(&w->timers, &s->timer);
}

session_t *session_open(worker_t *w, sock_t fd, const sock_addr_t *peer) {
    session_t *s = table_take(&w->sessions);
    if (!s) return NULL;
    s->state = SESSION_OPEN;
    s->next_free = SESSION_ID_NONE;
    s->opened_ms = s->last_recv_ms = worker_now_ms(w);
    if (peer) sock_ip_pack(peer, &s->peer);
    token_bucket_init(&s->packets, &w->packet_rate, s->opened_ms);
    token_bucket_init(&s->bytes, &w->byte_rate, s->opened_ms);
    io_attach(w->loop, &s->io, fd, s->id);
    arm_active_deadline(w, s);
    return s;
}

int session_login(worker_t *w, session_t *s) {
    if (s->state != SESSION_OPEN) return -EINVAL;
    s->state = SESSION_LOGGED_IN;
    arm_active_deadline(w, s);
    return 0;
}

void session_notify(worker_t *w, session_t *s, reason_t why) {
    if (!session_takes_input(s)) return;
    s->state = SESSION_FLUSHING;
    s->close_reason = (uint8_t)why;
    /* A peer that never acknowledges (zero window, gone) must not hold the slot: the wait for the
     * ack is bounded like the grace that follows it. */
    s->notice_deadline_ms = worker_now_ms(w) + w->cfg->session.close_grace_ms;
    timer_arm(&w->timers, &s->timer, worker_now_ms(w) + WORKER_POLL_MS);
}

void session_peer_closed(worker_t *w, session_t *s) {
    if (!session_is_live(s)) return;
    if (!output_owed(s)) {
        session_close(w, s, REASON_CLIENT_CLOSE);
        return;
    }
    /* Replies to the client's last frames (a request sent with its FIN) are still queued: they
     * go out first, then close() sends our FIN after them. Bounded like a notice. */
    s->peer_closed = 1;
    if (session_takes_input(s)) {
        s->state = SESSION_FLUSHING;
        s->close_reason = REASON_CLIENT_CLOSE;
        s->notice_deadline_ms = worker_now_ms(w) + w->cfg->session.close_grace_ms;
        timer_arm(&w->timers, &s->timer, s->notice_deadline_ms);
    }
}

void session_on_sent(worker_t *w, session_t *s) {
    if (s->peer_closed && !output_owed(s)) session_close(w, s, REASON_CLIENT_CLOSE);
}

void session_grace(worker_t *w, session_t *s) {
    if (s->state != SESSION_FLUSHING) return;
    s->state = SESSION_GRACE;
    timer_arm(&w->timers, &s->timer, worker_now_ms(w) + w->cfg->session.close_grace_ms);
}

void session_kick(worker_t *w, session_t *s, reason_t why, const char *text) {
    if (!session_takes_input(s)) return;
    size_t n = strlen(text);
    uint16_t len = (uint16_t)(n > PROTO_KICK_TEXT_MAX ? PROTO_KICK_TEXT_MAX : n);
    uint8_t *p = session_send_reserve(w, s, OP_KICK, (uint16_t)(2 + len));
    if (!p) return; /* no room even for the notice: the session was reset as a slow reader */
    le_put_u16(p, (uint16_t)why);
    memcpy(p + 2, text, len);
    session_notify(w, s, why);
}

/* Bytes of the notice still on their way: queued here, in flight, or unacknowledged in the
 * kernel. 0 means the client has it. */
static int notice_pending(worker_t *w, session_t *s) {
    if (output_owed(s)) return 1;
    uint32_t unacked = 0;
    if (sock_unacked_bytes(s->io.fd, &unacked) < 0) return 0; /* no way to know: start the grace */
    (void)w;
    return unacked != 0;
}

void session_on_deadline(worker_t *w, session_t *s) {
    uint64_t now = worker_now_ms(w);
    switch ((session_state_t)s->state) {
    case SESSION_OPEN:
    case SESSION_LOGGED_IN: {
        const cfg_t *c = w->cfg;
        if (s->partial_since_ms && c->guard.partial_frame_timeout_ms &&
            now >= s->partial_since_ms + c->guard.partial_frame_timeout_ms) {
            session_abort(w, s, REASON_SLOW_SENDER); /* dribbling a frame to hold a slot */
        } else if (s->state == SESSION_OPEN && c->session.login_timeout_ms && now >= s->opened_ms + c->session.login_timeout_ms) {
            session_abort(w, s, REASON_LOGIN_TIMEOUT); /* never logged in: slowloris or a stray port scan */
        } else if (c->session.idle_timeout_ms && now >= s->last_recv_ms + c->session.idle_timeout_ms) {
            session_kick(w, s, REASON_IDLE_TIMEOUT, "idle timeout");
        } else {
            arm_active_deadline(w, s); /* traffic since arming moved the idle deadline */
        }
        break;
    }
    case SESSION_FLUSHING:
        if (s->peer_closed && !output_owed(s)) session_close(w, s, REASON_CLIENT_CLOSE);
        else if (!s->peer_closed && !notice_pending(w, s)) session_grace(w, s);
        else if (now >= s->notice_deadline_ms) session_abort(w, s, (reason_t)s->close_reason);
        else timer_arm(&w->timers, &s->timer, now + WORKER_POLL_MS);
        break;
    case SESSION_GRACE:
        session_abort(w, s, (reason_t)s->close_reason); /* the client did not close first */
        break;
    case SESSION_FREE:
    case SESSION_CLOSING:
        break;
    }
}

void session_track_partial(worker_t *w, session_t *s) {
    if (!frame_reader_mid_frame(&s->reader)) {
        s->partial_since_ms = 0; /* the idle/login deadline armed stays; it re-arms when it fires */
        return;
    }
    if (s->partial_since_ms || !w->cfg->guard.partial_frame_timeout_ms) return;
    s->partial_since_ms = worker_now_ms(w);
    uint64_t d = s->partial_since_ms + w->cfg->guard.partial_frame_timeout_ms;
    if (!timer_armed(&s->timer) || d < s->timer.expires_ms) timer_arm(&w->timers, &s->timer, d);
}

static void begin_close(worker_t *w, session_t *s, reason_t why, io_close_mode_t mode) {
    if (!session_is_live(s)) return;
    /* A session told to go keeps the reason it was told for (logout, kick, shutdown). */
    if (session_takes_input(s) || s->close_reason == REASON_NONE) s->close_reason = (uint8_t)why;
    s->abortive = mode == IO_CLOSE_ABORT;
    s->state = SESSION_CLOSING;
    timer_cancel(&w->timers, &s->timer);
    /* The queue is dropped (never sent again: the session is no longer live) but its chunks go
     * back to the pool only at IO_CLOSED: a cancelled send may still be reading them, and a
     * reused chunk would put another session's bytes on this socket. */
    io_close(w->loop, &s->io, mode);
}

void session_close(worker_t *w, session_t *s, reason_t why) { begin_close(w, s, why, IO_CLOSE_NORMAL); }

void session_abort(worker_t *w, session_t *s, reason_t why) { begin_close(w, s, why, IO_CLOSE_ABORT); }

void session_release(worker_t *w, session_t *s) {
    if (s->state != SESSION_CLOSING) return;
    worker_count_disconnect(w, s);
    if (s->in_game) logic_post(w->logic, w, s->id, LOGIC_IN_LEAVE, 0, NULL, 0);
    stat_sub(&w->stats.sessions_active, 1);
    if (guard_release(w->guard, &s->peer, (reason_t)s->close_reason, worker_now_ms(w))) {
        char ip[64];
        log_warn("banned", "ip=%s seconds=%u kicks=%u window_s=%u", sock_ip_host_str(&s->peer, ip, sizeof ip),
                 w->cfg->guard.ban_seconds, w->cfg->guard.autoban_kicks, w->cfg->guard.autoban_window_s);
    }
    timer_cancel(&w->timers, &s->timer);
    frame_reader_reset(&s->reader, &w->frame_bufs);
    sendq_clear(&s->sendq, &w->send_chunks);
    table_put(&w->sessions, s);
}

uint8_t *session_send_reserve(worker_t *w, session_t *s, uint16_t op, uint16_t len) {
    if (!session_is_live(s)) return NULL;
    int err = 0;
    uint8_t *p = frame_reserve(&s->sendq, &w->send_chunks, w->cfg->session.send_queue_limit_bytes, op, len, &err);
    if (!p && err == -ENOBUFS) {
        /* The peer stopped reading: buffering on its behalf would let one client hold the
         * server's memory, so it goes. */
        session_abort(w, s, REASON_SLOW_READER);
        return NULL;
    }
    if (!p) {
        /* A reply larger than a send chunk is a server bug, not the client's fault. */
        log_error("frame_too_large", "session=%u op=0x%04x payload_len=%u", s->id, op, len);
        return NULL;
    }
    stat_add(&w->stats.frames_out, 1);
    worker_mark_dirty(w, s);
    return p;
}

int session_send(worker_t *w, session_t *s, uint16_t op, const void *payload, uint16_t len) {
    uint8_t *p = session_send_reserve(w, s, op, len);
    if (!p) return -EPIPE;
    if (len) memcpy(p, payload, len);
    return 0;
}

const char *session_state_name(const session_t *s) {
    static const char *const names[] = { "free", "open", "logged_in", "flushing", "grace", "closing" };
    return s->state < sizeof names / sizeof names[0] ? names[s->state] : "unknown";
}
